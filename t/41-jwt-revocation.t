#!/usr/bin/perl

# Token revocation shared by every node: a token id (jti) recorded in Redis
# is refused on the next request by each gateway, checked in the same
# round trip as the limits; other tokens of the partner still pass.

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
plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my $t1 = Lg::Test->new();
my $rport = $t1->run_redis();
my $t2 = Lg::Test->new();
my $d = $t1->testdir();

system("node $OAUTH/mint.js genkeys --out $d/priv.jwks --public $d/pub.jwks"
       . " >/dev/null") == 0 or die "genkeys failed";

my $policy = JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    issuers => { corp => { iss => 'https://idp.test', audiences => ['api'],
                           algorithms => ['RS256'],
                           jwks_file => "$d/pub.jwks" } },
    partners => { acme => { scopes => ['tracking:read'],
        jwt => { issuer => 'corp', client_id => 'acme' },
        rate_limit => { rate => '1000/s', burst => 100 } } },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [{ id => 'get', method => 'GET', path => '/shipments/{id}',
                     scopes => ['tracking:read'], auth => ['bearer'] }] } },
});

for my $t ($t1, $t2) {
    $t->write_file('policy.json', $policy);
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone z:1m;\n"
            . "    logistics_redis 127.0.0.1:$rport timeout=200ms;"));
    $t->run_stub();
    $t->run();
}

sleep 0.5;

my @tok = map {
    my $c = qq({"iss":"https://idp.test","aud":"api","exp":"+600","client_id":"acme","scope":"tracking:read","jti":"tok-$_"});
    my $x = `node $OAUTH/mint.js --keys $d/priv.jwks --kid rsa-1 --alg RS256 --claims '$c'`;
    chomp $x;
    $x;
} (1, 2);

sub call {
    my ($t, $tok) = @_;
    return http_get('/v2/shipments/1', port => $t->port(0),
                    'Authorization' => "Bearer $tok");
}

is(call($t1, $tok[0])->{status}, 200, 'token 1 passes on node 1');
is(call($t2, $tok[0])->{status}, 200, 'token 1 passes on node 2');

my $cli = $ENV{LG_CLI} || "$FindBin::Bin/../build/logistics-policy";
my $out = `$cli revoke-token acme tok-1 --redis 127.0.0.1:$rport --ttl 600 2>&1`;
is($? >> 8, 0, 'logistics-policy revoke-token exits 0');
like($out, qr/SET 'lg:\{acme\}:jti:tok-1' 1 EX 600/,
     'and prints the redis-cli command');
my $ttl = $t1->redis_cli('TTL', 'lg:{acme}:jti:tok-1');
ok($ttl > 500 && $ttl <= 600, "the revocation expires ($ttl s)");

for my $t ($t1, $t2) {
    my $r = call($t, $tok[0]);
    is_problem($r, 401, 'invalid-token', 'revoked token refused');
    like(hdr($r, 'www-authenticate') // '',
         qr/error="invalid_token", error_description="token revoked"/,
         'RFC 6750 invalid_token, token revoked');
}
is(call($t1, $tok[1])->{status}, 200, 'another token of the partner passes');

$t1->redis_cli('DEL', 'lg:{acme}:jti:tok-1');
is(call($t2, $tok[0])->{status}, 200, 'un-revoked when the key is deleted');

$t2->finish();
$t1->done_testing();
