#!/usr/bin/perl

# A JWKS entry that is evicted from a full logistics_zone and created
# again never goes back to an older version number (issue 12): a worker
# that parsed the first key set must take the new one, not keep the old
# keys because the new text came back under the same version.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);

my $OAUTH = Lg::Test::repo() . '/t/oauth';
plan skip_all => 't/oauth/node_modules missing (npm ci --prefix t/oauth)'
    unless -d "$OAUTH/node_modules/jose";

my $t = Lg::Test->new();
my $d = $t->testdir();
my $ISS = 'https://idp.test';
my $SECRET = 'jwks-evicted-test-secret-0123456789abcdef-0123456';

# two key sets with the same kid: the IdP rotates behind the gateway
my %tok;
for my $set (qw(a b)) {
    system("node $OAUTH/mint.js genkeys --out $d/priv-$set.jwks"
           . " --public $d/pub-$set.jwks >/dev/null") == 0
        or die 'genkeys failed';
    $t->write_file("job-$set.jsonl", JSON::PP->new->canonical->encode({
        kid => 'ec256-1', alg => 'ES256',
        claims => { iss => $ISS, aud => 'api', exp => '+600',
                    client_id => 'acme', scope => 'r' } }) . "\n");
    $tok{$set} = `node $OAUTH/mint.js batch --keys $d/priv-$set.jwks < $d/job-$set.jsonl`;
    chomp $tok{$set};
}

$t->write_file('hs.key', $SECRET);
chmod 0600, "$d/hs.key";
$t->write_file('idp.jwks', $t->read_file('pub-a.jwks'));
$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'r' => '' },
    issuers => {
        corp => { iss => $ISS, audiences => ['api'], algorithms => ['ES256'],
                  jwks_uri => '/_jwks/corp', jwks_refresh => '1h',
                  jwks_cooldown => '1s' },
        hs => { iss => 'https://hs.test', audiences => ['api'],
                algorithms => ['HS256'], shared_secret_file => 'hs.key' },
    },
    partners => {
        acme => { scopes => ['r'],
                  jwt => { issuer => 'corp', client_id => 'acme' } },
        filler => { scopes => ['r'],
                    jwt => { issuer => 'hs', client_id => 'filler' } },
    },
    apis => { things => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [{ id => 'get', method => 'GET', path => '/things/{id}',
                     scopes => ['r'], auth => ['bearer'] }],
    } },
}));

$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => <<'EOF',
    logistics_zone tinyjwks:32k;
    subrequest_output_buffer_size 64k;

    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log %%TESTDIR%%/idp.log;

        location = /idp/jwks {
            alias %%TESTDIR%%/idp.jwks;
        }
    }
EOF
    server_extra => <<'EOF'));
        location /_jwks/corp {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_1%%/idp/jwks;
        }
EOF
$t->run_stub();
$t->run();

# a full zone may log that it could not make room
$t->allow_errors('alert');

my $p = $t->port(0);

sub call {
    my ($token) = @_;
    return http_get('/v2/things/1', port => $p,
                    'Authorization' => "Bearer $token");
}

sub filler {
    my ($jti) = @_;
    my $h = encode_base64url('{"alg":"HS256","typ":"JWT"}');
    my $c = encode_base64url(JSON::PP->new->canonical->encode({
        iss => 'https://hs.test', aud => 'api', exp => time() + 3600,
        client_id => 'filler', jti => $jti,
        scope => join(' ', 'r', map { "extra-$_-" . ('s' x 90) } 1 .. 16) }));
    return "$h.$c." . encode_base64url(hmac_sha256("$h.$c", $SECRET));
}

is(call($tok{a})->{status}, 200, 'the first key set is fetched and used');
is(scalar $t->access_log_lines('idp.log'), 1, 'one fetch');

# cached tokens fill the zone: the key set's entry, untouched since, is
# the coldest and goes first
my $ok = grep { call(filler("f-$_"))->{status} == 200 } 1 .. 300;
is($ok, 300, 'three hundred other tokens fill the zone');

# the IdP rotates; the next token needs the entry again
$t->write_file('idp.jwks', $t->read_file('pub-b.jwks'));

my $r = call($tok{b});
is(scalar $t->access_log_lines('idp.log'), 2,
   'the evicted key set was fetched again');
is($r->{status}, 200,
   'and the new text was taken: a newer version, never the old number');
is(call($tok{a})->{status}, 401, 'the old key is gone with it');

$t->done_testing();
