#!/usr/bin/perl

# A full logistics_zone never turns a limit off (issue 12): when the zone
# cannot hold a limit's state, the request is counted after evicting what
# may be lost, or refused with 503; it never passes uncounted.  Here the
# zone is filled with verified-token cache entries (another slab size
# class than a limit's state, so one eviction frees no page for it).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);

my $t = Lg::Test->new();
my $KEY = 'zone-full-limited';

# a route limit's state with a long partner id and route id takes a
# 512-byte slab chunk, a size class nothing else in the zone uses
my $LIM = 'lim' . ('l' x 61);
my $ROUTE = 'get.' . ('r' x 124);
my $SECRET = 'zone-full-test-secret-0123456789abcdef-0123456789';

$t->write_file('secret.key', $SECRET);
chmod 0600, $t->testdir() . '/secret.key';
$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    issuers => { hs => { iss => 'https://hs.test', audiences => ['api'],
                         algorithms => ['HS256'],
                         shared_secret_file => 'secret.key' } },
    scopes => { 'r' => '' },
    partners => {
        tok => { scopes => ['r'], api_keys => [],
                 jwt => { issuer => 'hs', client_id => 'tok' } },
        $LIM => { scopes => ['r'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($KEY) }],
                  rate_limit => { routes => { $ROUTE => {
                      rate => '1/h' } } } },
    },
    apis => { things => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [{ id => $ROUTE, method => 'GET', path => '/things/{id}',
                     scopes => ['r'], auth => ['api_key', 'bearer'] }],
    } },
}));
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone tiny:32k;"));
$t->run_stub();
$t->run();

# a zone that cannot make room logs an [alert], as limit_req does
$t->allow_errors('alert');

my $p = $t->port(0);

sub token {
    my ($jti) = @_;
    my $h = encode_base64url('{"alg":"HS256","typ":"JWT"}');
    my $c = encode_base64url(JSON::PP->new->canonical->encode({
        iss => 'https://hs.test', aud => 'api', exp => time() + 3600,
        iat => time(), client_id => 'tok', jti => $jti,
        scope => join(' ', 'r', map { "extra-$_-" . ('s' x 90) } 1 .. 16) }));
    return "$h.$c." . encode_base64url(hmac_sha256("$h.$c", $SECRET));
}

my $ok = 0;
for my $i (1 .. 300) {
    my $r = http_get("/v2/things/$i", port => $p,
                     'Authorization' => 'Bearer ' . token("jti-$i"));
    $ok++ if $r->{status} == 200;
}
is($ok, 300, 'three hundred tokens verified (the cache fills the zone)');

my $r1 = http_get('/v2/things/1', port => $p, 'X-API-Key' => $KEY);
my $r2 = http_get('/v2/things/2', port => $p, 'X-API-Key' => $KEY);
my $r3 = http_get('/v2/things/3', port => $p, 'X-API-Key' => $KEY);

ok($r1->{status} == 200 || $r1->{status} == 503,
   "1/h: the first request is counted or refused ($r1->{status})");
isnt($r2->{status}, 200,
     "1/h: the second never passes uncounted ($r2->{status})");
isnt($r3->{status}, 200,
     "1/h: nor the third ($r3->{status})");
for my $r (grep { $_->{status} == 503 } $r1, $r2, $r3) {
    is_problem($r, 503, 'unavailable', 'a limit the zone cannot hold: 503');
}

$t->done_testing();
