#!/usr/bin/perl

# Idempotency cannot replay the wrong answer (issue 12): the fingerprint
# covers the partner, the method, the rewritten upstream URI with its
# query string, the Content-Type and the body; records live in a store of
# their own, sized by the policy, that refuses new keys (503, Retry-After)
# when it is full instead of evicting a stored response or a lock.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;

my $t = Lg::Test->new();
my $KEY = 'idem-trust-key';

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    idempotency => { ttl => '1h', lock_ttl => '30s', store_size => '32k' },
    scopes => { 'w' => '' },
    partners => { p => { scopes => ['w'],
                         api_keys => [{ id => 'k',
                                        sha256 => key_sha256($KEY) }] } },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'labels', method => 'POST',
              path => '/shipments/{id}/labels', scopes => ['w'],
              idempotency => 'required' },
        ],
    } },
}));
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone idemtrust:1m;"));
$t->run_stub();
$t->run();

my $p = $t->port(0);

sub post {
    my ($uri, $key, $body, %h) = @_;
    return http_req('POST', $uri, port => $p, body => $body,
                    headers => [ 'X-API-Key' => $KEY,
                                 'Content-Type' => $h{ct}
                                     // 'application/json',
                                 'Idempotency-Key' => "\"$key\"" ]);
}

# the fingerprint

my $r = post('/v2/shipments/A/labels?format=pdf', 'fp-1', '{"n":1}');
is($r->{status}, 201, 'first request for shipment A');
my $count = $t->stub_count();

$r = post('/v2/shipments/A/labels?format=pdf', 'fp-1', '{"n":1}');
is(hdr($r, 'idempotent-replayed'), 'true', 'the same request: replayed');

$r = post('/v2/shipments/B/labels?format=pdf', 'fp-1', '{"n":1}');
is_problem($r, 422, 'idempotency-key-reused',
           'the same key for another path parameter: 422');

$r = post('/v2/shipments/A/labels?format=zpl', 'fp-1', '{"n":1}');
is_problem($r, 422, 'idempotency-key-reused',
           'the same key with another query string: 422');

$r = post('/v2/shipments/A/labels', 'fp-1', '{"n":1}');
is_problem($r, 422, 'idempotency-key-reused',
           'the same key without the query string: 422');

$r = post('/v2/shipments/A/labels?format=pdf', 'fp-1', '{"n":1}',
          ct => 'application/vnd.label+json');
is_problem($r, 422, 'idempotency-key-reused',
           'the same key with another Content-Type: 422');

is($t->stub_count(), $count, 'none of them reached Odoo');

# fill the store: new keys get 503 with Retry-After, nothing is evicted

my ($stored, $full, $n) = (0, undef, 0);
while (!$full && $n < 2000) {
    $n++;
    $r = post("/v2/shipments/S$n/labels", "fill-$n", "{\"n\":$n}");
    if ($r->{status} == 201) {
        $stored++;
    } else {
        $full = $r;
    }
}
ok($stored > 10, "the store took $stored records before it was full");
ok($full, 'a new key is refused once the store is full');
is_problem($full // {}, 503, 'unavailable', 'the full store: 503 problem');
is(hdr($full // {}, 'retry-after'), '30', 'Retry-After: the lock lifetime');
like($t->read_file('error.log'), qr/idempotency store .* is full/,
     'the error log says why');

$count = $t->stub_count();

$r = post('/v2/shipments/A/labels?format=pdf', 'fp-1', '{"n":1}');
is(hdr($r, 'idempotent-replayed'), 'true',
   'the earliest key is still replayed from the full store');
$r = post('/v2/shipments/S1/labels', 'fill-1', '{"n":1}');
is($r->{status}, 201, 'the first filler: its stored status');
is(hdr($r, 'idempotent-replayed'), 'true', 'the first filler: replayed');
my $mid = int($stored / 2) || 1;
$r = post("/v2/shipments/S$mid/labels", "fill-$mid", "{\"n\":$mid}");
is(hdr($r, 'idempotent-replayed'), 'true', 'a filler in the middle: replayed');
is($t->stub_count(), $count, 'no replay reached Odoo again');

$t->done_testing();
