#!/usr/bin/perl

# OAuth 2 bearer tokens at the gateway: tokens from an independent signer
# (npm jose, t/oauth/mint.js) for every algorithm, verified against the
# issuer's JWKS file or shared secret; partner mapping, effective scopes,
# RFC 6750 errors, token variables, and the attack catalogue of issue 3.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;

my $OAUTH = "$FindBin::Bin/oauth";
plan skip_all => 't/oauth/node_modules missing (npm ci --prefix t/oauth)'
    unless -d "$OAUTH/node_modules/jose";

my $t = Lg::Test->new();
my $d = $t->testdir();

system("node $OAUTH/mint.js genkeys --out $d/priv.jwks --public $d/pub.jwks"
       . " --secret $d/hs.secret >/dev/null") == 0 or die "genkeys failed";
system("node $OAUTH/mint.js genkeys --out $d/evil.jwks --public $d/evil.pub"
       . " >/dev/null") == 0 or die "genkeys failed";

my $ISS = 'https://idp.test';
my $AUD = 'logistics-api';

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '', 'shipments:write' => '' },
    issuers => {
        corp => { iss => $ISS, audiences => [$AUD, 'other-api'],
                  algorithms => [qw(RS256 RS384 RS512 PS256 PS384 PS512
                                    ES256 ES384 ES512 EdDSA)],
                  typ => 'at+jwt', leeway => '5s', max_lifetime => '1h',
                  jwks_file => 'pub.jwks' },
        hs => { iss => 'https://hs.test', audiences => [$AUD],
                algorithms => [qw(HS256 HS384 HS512)],
                shared_secret_file => 'hs.secret' },
    },
    partners => {
        acme => { scopes => ['tracking:read', 'shipments:write'],
                  jwt => [{ issuer => 'corp', client_id => 'acme' },
                          { issuer => 'hs', client_id => 'acme' }] },
        reader => { scopes => ['tracking:read'],
                    jwt => { issuer => 'corp', client_id => 'reader' } },
        frozen => { scopes => ['tracking:read'], suspended => JSON::PP::true,
                    jwt => { issuer => 'corp', client_id => 'frozen' } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'shipments.get', method => 'GET', path => '/shipments/{id}',
              scopes => ['tracking:read'], auth => ['api_key', 'bearer'] },
            { id => 'shipments.create', method => 'POST', path => '/shipments',
              scopes => ['shipments:write'], auth => ['bearer'] },
            { id => 'shipments.list', method => 'GET', path => '/shipments',
              scopes => [], auth => ['api_key'] },
        ] } },
}));

$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    # room for the oversized token: the module's 8 KB cap must be what
    # refuses it, not nginx's header buffers
    http_extra => <<'EOF',
    large_client_header_buffers 4 32k;
    log_format jwt '$logistics_request_id jti=$logistics_token_jti '
                   'sub=$logistics_token_sub scopes="$logistics_scopes"';
EOF
    server_extra => '        access_log %%TESTDIR%%/jwt.log jwt;'));
$t->run_stub();
$t->run();
my $p = $t->port(0);

# mint all tokens with one node start
my @jobs;
sub job { push @jobs, JSON::PP->new->canonical->encode({ @_ }); return $#jobs }

my %good = (acme => 'acme', scope => 'tracking:read shipments:write');
sub claims { return { iss => $ISS, aud => $AUD, exp => '+300',
                      client_id => 'acme', sub => 'acme-svc',
                      scope => 'tracking:read shipments:write', @_ } }

my %kid = (RS256 => 'rsa-1', RS384 => 'rsa-1', RS512 => 'rsa-1',
           PS256 => 'rsa-1', PS384 => 'rsa-1', PS512 => 'rsa-1',
           ES256 => 'ec256-1', ES384 => 'ec384-1', ES512 => 'ec521-1',
           EdDSA => 'ed-1');
my %ok_job = map { ($_ => job(kid => $kid{$_}, alg => $_, claims => claims())) }
             sort keys %kid;
my %hs_job = map { ($_ => job(kid => 'hs-1', alg => $_,
                       claims => claims(iss => 'https://hs.test'))) }
             qw(HS256 HS384 HS512);

# with two issuers the token's "iss" picks the rules: a token whose issuer
# cannot be read or is not trusted is refused as unknown-issuer
my %bad = (
    'alg none'            => [ 'invalid-token', kid => 'rsa-1', alg => 'none', attack => 'none', claims => claims() ],
    'alg None'            => [ 'invalid-token', kid => 'rsa-1', alg => 'None', attack => 'none', claims => claims() ],
    'alg NONE'            => [ 'invalid-token', kid => 'rsa-1', alg => 'NONE', attack => 'none', claims => claims() ],
    'HS256 with the RSA public key PEM' =>
                             [ 'invalid-token', kid => 'rsa-1', alg => 'HS256', attack => 'hs-with-public', claims => claims() ],
    'ES256 r = s = 0'     => [ 'invalid-token', kid => 'ec256-1', alg => 'ES256', attack => 'ecdsa-zero', claims => claims() ],
    'stripped signature'  => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', attack => 'strip-signature', claims => claims() ],
    'two segments'        => [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', attack => 'drop-signature-segment', claims => claims() ],
    'extra segment'       => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', attack => 'extra-segment', claims => claims() ],
    'tampered payload'    => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', attack => 'tamper-payload', claims => claims() ],
    'flipped signature bit' => [ 'invalid-token', kid => 'ec256-1', alg => 'ES256', attack => 'flip-signature', claims => claims() ],
    'non-canonical base64url signature' =>
                             [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', attack => 'noncanonical-signature', claims => claims() ],
    'non-canonical base64url payload' =>
                             [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', attack => 'noncanonical-payload', claims => claims() ],
    'padded base64'       => [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', attack => 'padded', claims => claims() ],
    'expired'             => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(exp => '-60', iat => '-600') ],
    'not yet valid'       => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(nbf => '+600') ],
    'issued in the future'=> [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(iat => '+600', exp => '+900') ],
    'lifetime over the cap' => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(exp => '+7300') ],
    'no exp'              => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(exp => undef) ],
    'wrong iss'           => [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', claims => claims(iss => 'https://evil.test') ],
    'wrong aud'           => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', claims => claims(aud => 'someone-else') ],
    'wrong typ'           => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', header => { typ => 'JWT' }, claims => claims() ],
    'unknown kid'         => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', header => { kid => 'nope' }, claims => claims() ],
    'unknown crit'        => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', header => { crit => ['x-unknown'], 'x-unknown' => 1 }, claims => claims() ],
    'jku elsewhere'       => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', header => { jku => 'https://evil.test/jwks' }, claims => claims() ],
    'x5u elsewhere'       => [ 'invalid-token', kid => 'rsa-1', alg => 'RS256', header => { x5u => 'https://evil.test/cert' }, claims => claims() ],
    'alg of another key type' =>
                             [ 'invalid-token', kid => 'ec256-1', alg => 'ES256', header => { alg => 'RS256' }, claims => claims() ],
    'ES384 token on the P-256 key' =>
                             [ 'invalid-token', kid => 'ec384-1', alg => 'ES384', header => { kid => 'ec256-1' }, claims => claims() ],
    'oversized token'     => [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', claims => claims(pad => 'x' x 9000) ],
    'non-JSON payload'    => [ 'unknown-issuer', kid => 'rsa-1', alg => 'RS256', payload_raw => 'not json', claims => {} ],
    'unknown client_id'   => [ 'unknown-partner', kid => 'rsa-1', alg => 'RS256', claims => claims(client_id => 'ghost') ],
    'suspended partner'   => [ 'suspended-partner', kid => 'rsa-1', alg => 'RS256', claims => claims(client_id => 'frozen') ],
);
my %bad_job = map { my ($why, @j) = @{ $bad{$_} }; ($_ => job(@j)) } sort keys %bad;

# signed with an attacker's key that the token itself carries (jwk header)
my $evil = scalar @jobs;
my $scope_job = job(kid => 'rsa-1', alg => 'RS256',
                    claims => claims(client_id => 'reader',
                                     scope => 'tracking:read shipments:write'));
my $scp_job = job(kid => 'rsa-1', alg => 'RS256',
                  claims => claims(scope => undef,
                                   scp => ['tracking:read', 'shipments:write']));
my $noscope_job = job(kid => 'rsa-1', alg => 'RS256',
                      claims => claims(scope => 'tracking:read'));

open my $in, '>', "$d/jobs.jsonl" or die;
print $in "$_\n" for @jobs;
close $in;
my @tok = split /\n/, `node $OAUTH/mint.js batch --keys $d/priv.jwks < $d/jobs.jsonl`;
is(scalar @tok, scalar @jobs, 'minted every token') or BAIL_OUT('mint failed');

my $evil_tok = `node $OAUTH/mint.js --keys $d/evil.jwks --kid rsa-1 --alg RS256 --embed-jwk --claims '{"iss":"$ISS","aud":"$AUD","exp":"+300","client_id":"acme","scope":"tracking:read"}'`;
chomp $evil_tok;

sub call {
    my ($token, %o) = @_;
    return http_req($o{method} // 'GET', $o{uri} // '/v2/shipments/7',
                    port => $p,
                    headers => [ 'Authorization' => "Bearer $token",
                                 ($o{rid} ? ('X-Request-Id' => $o{rid}) : ()) ]);
}

# every algorithm

for my $alg (sort keys %ok_job) {
    my $r = call($tok[$ok_job{$alg}]);
    is($r->{status}, 200, "$alg token from jose accepted");
}
for my $alg (sort keys %hs_job) {
    my $r = call($tok[$hs_job{$alg}]);
    is($r->{status}, 200, "$alg token with the issuer's shared secret accepted");
}

my $r = call($tok[$ok_job{RS256}], rid => 'jwt-ok');
my $e = echo_of($r);
is($e->{headers}{'x-logistics-partner'}, 'acme', 'upstream sees the partner');
ok(!exists $e->{headers}{authorization}, 'the bearer token is not forwarded');
my $line = $t->wait_log_line('jwt.log', qr/^jwt-ok /) // '';
like($line, qr/jti=[0-9a-f-]{36} /, '$logistics_token_jti');
like($line, qr/sub=acme-svc /, '$logistics_token_sub');
like($line, qr/scopes="shipments:write tracking:read"|scopes="tracking:read shipments:write"/,
     '$logistics_scopes');

# the attack catalogue

for my $name (sort keys %bad) {
    my $why = $bad{$name}[0];
    $r = call($tok[$bad_job{$name}], rid => "bad-$bad_job{$name}");
    my $status = $why eq 'unknown-partner' ? 403 : 401;
    is($r->{status}, $status, "$name: $status");
    is(($t->decision_of("bad-$bad_job{$name}") // {})->{decision}, $why,
       "$name: decision $why");
    if ($why eq 'invalid-token' || $why eq 'unknown-issuer') {
        like(hdr($r, 'www-authenticate') // '',
             qr/^Bearer realm="logistics", error="invalid_token"/,
             "$name: WWW-Authenticate error=\"invalid_token\"");
        is(json_decode($r->{body})->{type},
           'urn:logistics-gateway:problem:invalid-token',
           "$name: problem type invalid-token");
    }
}

$r = call($evil_tok);
is($r->{status}, 401, 'token carrying its own jwk: 401');

# scopes: the token's, capped by the partner's

$r = call($tok[$scope_job], method => 'POST', uri => '/v2/shipments');
is($r->{status}, 403, 'token scope the partner lacks grants nothing: 403');
like(hdr($r, 'www-authenticate') // '',
     qr/^Bearer realm="logistics", error="insufficient_scope", scope="shipments:write"$/,
     'RFC 6750 insufficient_scope challenge');

$r = call($tok[$noscope_job], method => 'POST', uri => '/v2/shipments');
is($r->{status}, 403, 'token without the route scope: 403');

$r = call($tok[$scp_job], method => 'POST', uri => '/v2/shipments');
is($r->{status}, 201, 'scopes from an scp array are understood');

# which credentials a route accepts

$r = call($tok[$ok_job{RS256}], uri => '/v2/shipments');
is($r->{status}, 401, 'bearer on an API-key-only route: 401');
is(($t->decision_of(hdr($r, 'x-request-id')) // {})->{decision} // '',
   'bearer-not-accepted', 'decision bearer-not-accepted');

$r = http_req('POST', '/v2/shipments', port => $p);
is($r->{status}, 401, 'no credentials on a bearer route: 401');
my @challenges = @{ $r->{headers}{'www-authenticate'} // [] };
is_deeply(\@challenges, ['Bearer realm="logistics"'],
          'bearer-only route challenges with Bearer only');

$r = http_req('GET', '/v2/shipments/1', port => $p);
@challenges = sort @{ $r->{headers}{'www-authenticate'} // [] };
is_deeply(\@challenges, ['ApiKey realm="logistics"', 'Bearer realm="logistics"'],
          'a route taking both offers both challenges');
like(json_decode($r->{body})->{detail}, qr/API key or bearer token/,
     'and says so in the detail');

$t->done_testing();
