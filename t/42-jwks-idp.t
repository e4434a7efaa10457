#!/usr/bin/perl

# Keys fetched from a real OAuth server: npm oidc-provider issues RFC 9068
# JWT access tokens (client credentials + resource indicator); the gateway
# fetches the JWKS through a subrequest to an internal location, shares it
# between workers, follows a key rotation, refetches on an unknown kid at
# most once per cooldown, and keeps serving with its keys when the IdP is
# down.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);

my $OAUTH = "$FindBin::Bin/oauth";
plan skip_all => 't/oauth/node_modules missing (npm ci --prefix t/oauth)'
    unless -d "$OAUTH/node_modules/oidc-provider";

my $t = Lg::Test->new();
my $d = $t->testdir();
my $idp_port = Lg::Test::free_port();
my $ISS = "http://127.0.0.1:$idp_port";
my $AUD = 'https://logistics-api';

$t->write_file('clients.json', encode_json([
    { client_id => 'acme', client_secret => 'acme-secret',
      scope => 'tracking:read shipments:write' },
]));

my $idp_pid;
sub start_idp {
    unlink "$d/idp.out";
    $idp_pid = fork() // die;
    if ($idp_pid == 0) {
        open STDOUT, '>', "$d/idp.out";
        open STDERR, '>>', "$d/idp.err";
        { exec 'node', "$OAUTH/idp.js", '--port', $idp_port, '--clients',
               "$d/clients.json", '--ttl', 300,
               (-f "$d/idp-keys.json" ? ('--keys', "$d/idp-keys.json") : ()),
               '--keys-out', "$d/idp-keys.json"; }
        POSIX::_exit(127);
    }
    my $end = time() + 20;
    while (time() < $end) {
        return 1 if ($t->read_file('idp.out') // '') =~ /^ready \d+/m;
        sleep 0.1;
    }
    die 'IdP did not start: ' . $t->read_file('idp.err');
}
sub stop_idp { kill 'TERM', $idp_pid; waitpid($idp_pid, 0); }
END { kill 'KILL', $idp_pid if $idp_pid }

start_idp();

sub idp {
    my ($method, $path, $body, %h) = @_;
    my $r = http_req($method, $path, port => $idp_port, body => $body,
                     headers => [ %h ]);
    return $r;
}

sub token {
    my $r = idp('POST', '/token',
        'grant_type=client_credentials&scope=tracking:read&resource='
        . 'https%3A%2F%2Flogistics-api',
        'Content-Type' => 'application/x-www-form-urlencoded',
        'Authorization' => 'Basic ' . encode_base64('acme:acme-secret', ''));
    return json_decode($r->{body})->{access_token};
}

sub jwks_fetches { json_decode(idp('GET', '/__admin/stats')->{body})->{jwks} }

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '', 'shipments:write' => '' },
    issuers => { idp => { iss => $ISS, audiences => [$AUD],
                          algorithms => ['RS256', 'ES256'], typ => 'at+jwt',
                          jwks_uri => '/_jwks/idp', jwks_refresh => '10m',
                          jwks_cooldown => '2s' } },
    partners => { acme => { scopes => ['tracking:read'],
                            jwt => { issuer => 'idp', client_id => 'acme' } } },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [{ id => 'get', method => 'GET', path => '/shipments/{id}',
                     scopes => ['tracking:read'], auth => ['bearer'] }] } },
}));

my $jwks_location = <<"EOF";
        location = /_jwks/idp {
            internal;
            proxy_pass http://127.0.0.1:$idp_port/jwks;
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
            subrequest_output_buffer_size 64k;
        }
EOF

# port 1 has a listening socket per worker (reuseport): the kernel spreads
# its connections over both workers, which port 0 leaves to chance
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone z:1m;\n"
        . "    log_format tc '\$logistics_request_id "
        . "\$logistics_token_cache';\n"
        . "    log_format tcpid '\$logistics_request_id \$pid "
        . "\$logistics_token_cache';\n" . <<"EOF",
    server {
        listen 127.0.0.1:%%PORT_1%% reuseport;
        access_log %%TESTDIR%%/tcpid.log tcpid;
        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
        }
$jwks_location
    }
EOF
    server_extra => "        access_log %%TESTDIR%%/tc.log tc;\n"
        . $jwks_location), workers => 2);
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub call {
    my ($tok, $rid, $port) = @_;
    return http_get('/v2/shipments/1', port => $port // $p,
                    'Authorization' => "Bearer $tok", 'Connection' => 'close',
                    ($rid ? ('X-Request-Id' => $rid) : ()));
}

sub cache_of {
    my ($rid) = @_;
    my $line = $t->wait_log_line('tc.log', qr/^\Q$rid\E /) // '';
    return (split / /, $line)[1] // '';
}

my $tok = token();
ok($tok, 'the IdP issued an access token');
my ($h) = split /\./, $tok;
like(MIME::Base64::decode_base64url($h), qr/"typ":"at\+jwt"/,
     'it is an RFC 9068 at+jwt');

idp('POST', '/__admin/stats/reset');

is(call($tok)->{status}, 200, 'first call: keys fetched, token accepted');

# The worker that did not verify it takes the cached token too, from its
# very first request: it copies the key set from the zone to check the
# kid (it used to call that a miss and verify again).
for my $i (1 .. 30) {
    call($tok, "rp-$i", $t->port(1));
}
my %first;
for my $i (1 .. 30) {
    my $line = $t->wait_log_line('tcpid.log', qr/^rp-$i /) // '';
    my (undef, $pid, $cache) = split / /, $line;
    $first{$pid} //= $cache if defined $pid;
}
SKIP: {
    skip 'the kernel gave every connection to one worker', 1
        if keys %first < 2;
    is_deeply([sort values %first], ['hit', 'hit'],
              "each worker's first request with a cached token is a hit");
}
is(echo_of(call($tok))->{headers}{'x-logistics-partner'}, 'acme',
   'the partner comes from the client_id claim');
my @s = map { call($tok)->{status} } 1 .. 10;
is_deeply(\@s, [(200) x 10], 'ten more calls over both workers');
is(jwks_fetches(), 1, 'one JWKS fetch served both workers');

my $tokc = token();
call($tokc, 'tc-1');
is(cache_of('tc-1'), 'miss', 'a new token is verified ($logistics_token_cache miss)');
call($tokc, 'tc-2');
is(cache_of('tc-2'), 'hit', 'the same token again comes from the cache (hit)');

# rotation: a token signed by a new key is followed by one refetch

sleep 2.1;    # the cooldown counts from the last fetch of any kind
idp('POST', '/__admin/rotate');
my $tok2 = token();
isnt((split /\./, $tok2)[0], (split /\./, $tok)[0], 'the IdP signs with a new kid');
is(call($tok2)->{status}, 200, 'the gateway follows the rotation');
is(jwks_fetches(), 2, 'by fetching the JWKS once more');
is(call($tok)->{status}, 200, 'the old key is still published and trusted');

# junk kids cannot hammer the IdP: at most one refetch per cooldown

my $priv = json_decode(idp('GET', '/__admin/keys')->{body})->{keys};
$t->write_file('idp-priv.json', encode_json({ keys => $priv }));
my $kid = $priv->[0]{kid};
my @junk;
for my $i (1 .. 20) {
    my $c = encode_json({ iss => $ISS, aud => $AUD, exp => '+300',
                          client_id => 'acme', scope => 'tracking:read' });
    my $x = `node $OAUTH/mint.js --keys $d/idp-priv.json --kid $kid --alg RS256 --header '{"kid":"junk-$i"}' --claims '$c' 2>/dev/null`;
    chomp $x;
    push @junk, $x;
}
sleep 2.1;    # past the cooldown of the rotation's refetch
idp('POST', '/__admin/stats/reset');
my @js = map { call($_)->{status} } @junk;
is_deeply([grep { $_ != 401 } @js], [], '20 tokens with unknown kids: 401');
cmp_ok(jwks_fetches(), '<=', 1, 'and at most one JWKS fetch (cooldown)');

# a refresh that drops a kid invalidates the tokens it signed, cached or not

call($tok, 'tc-old');
is(cache_of('tc-old'), 'hit', 'the old-key token is cached');
idp('POST', '/__admin/drop?kid=' . (json_decode(MIME::Base64::decode_base64url($h))->{kid}));
sleep 2.1;
call($junk[1]);          # an unknown kid past the cooldown: refetch
is(call($tok, 'tc-dropped')->{status}, 401,
   'its kid dropped from the JWKS: the cached token is refused');
is(call($tok2)->{status}, 200, 'tokens of the remaining key still pass');

# the IdP goes away: the gateway keeps serving with its keys

stop_idp();
@s = map { call($tok2)->{status} } 1 .. 5;
is_deeply(\@s, [(200) x 5], 'IdP down: tokens still verified with cached keys');
sleep 2.1;
is(call($junk[0])->{status}, 401,
   'IdP down: an unknown kid triggers a refetch that fails, and a 401');
is(call($tok2)->{status}, 200, 'after the failed refetch the old keys still work');

like($t->read_file('error.log'), qr/JWKS of issuer "idp" .* failed with status \d+; keeping the last good key set/,
     'a failed refetch is logged, the last good keys kept')
    or diag 'no failed fetch in the log (within the cooldown?)';

$t->done_testing();
