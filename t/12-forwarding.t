#!/usr/bin/perl

# Forwarding: what the upstream receives.  Credentials stripped, Odoo
# credential injected, X-Logistics-* set by the gateway only, request id
# and traceparent, URI rewrite with re-escaped parameters and query string.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();
$t->write_config($t->gateway_http_body(location_extra => <<'EOF'));
            proxy_set_header X-Seen-Authorization $http_authorization;
            proxy_set_header X-Seen-Api-Key $http_x_api_key;
EOF
$t->run_stub();
$t->run();

my $p = $t->port(0);
my $ODOO = 'odoo-secret-acme-0123';

sub get { my ($uri, %h) = @_; return http_get($uri, port => $p, %h) }

# normalise %xx to upper case hex for comparisons
sub uc_esc { my ($s) = @_; $s =~ s/(%[0-9a-fA-F]{2})/uc $1/ge; return $s }

# credentials

my $r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1});
my $e = echo_of($r);
is($r->{status}, 200, 'allowed call proxied');
is($e->{headers}{authorization}, "bearer $ODOO",
   'upstream Authorization is the partner Odoo credential');
ok(!exists $e->{headers}{'x-api-key'}, 'X-API-Key not forwarded');
unlike($e->{headers}{'x-seen-authorization'} // '', qr/lg-test/,
       '$http_authorization does not expose the API key');
ok(!exists $e->{headers}{'x-seen-api-key'},
   '$http_x_api_key is empty after the gateway');

$r = get('/v2/shipments/1', 'Authorization' => "ApiKey $KEY{acme1}");
$e = echo_of($r);
is($e->{headers}{authorization}, "bearer $ODOO",
   'ApiKey Authorization replaced by the Odoo credential');
unlike(join(' ', values %{ $e->{headers} }), qr/lg-test-acme-key/,
       'the API key appears in no upstream header');

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{nocred},
         'Authorization' => "ApiKey $KEY{nocred}");
$e = echo_of($r);
is($r->{status}, 200, 'partner without odoo_credential_file proxied');
ok(!exists $e->{headers}{authorization},
   'no Authorization upstream for a partner without Odoo credential');
ok(!exists $e->{headers}{'x-api-key'},
   'no X-API-Key upstream for a partner without Odoo credential');

# partner headers: only the gateway's

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'X-Logistics-Partner' => 'evil-corp',
         'X-Logistics-Route' => 'admin.all',
         'X-Logistics-Key-Id' => 'forged',
         'X-Logistics-Anything' => 'forged');
$e = echo_of($r);
is($e->{headers}{'x-logistics-partner'}, 'acme',
   'spoofed X-Logistics-Partner dropped, gateway value only');
is($e->{headers}{'x-logistics-route'}, 'shipments.get',
   'spoofed X-Logistics-Route dropped');
is($e->{headers}{'x-logistics-key-id'}, 'k1',
   'spoofed X-Logistics-Key-Id dropped');
is($e->{headers}{'x-logistics-api-version'}, 'v2',
   'X-Logistics-Api-Version added');
ok(!exists $e->{headers}{'x-logistics-anything'},
   'any other incoming X-Logistics-* header dropped');
is($e->{headers}{host}, 'odoo',
   'Host is the upstream\'s own name, not the partner\'s "localhost"');

# request id

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'X-Request-Id' => 'Abc.def_1:2-3');
is(hdr($r, 'x-request-id'), 'Abc.def_1:2-3', 'valid X-Request-Id kept');
is(echo_of($r)->{headers}{'x-request-id'}, 'Abc.def_1:2-3',
   'valid X-Request-Id forwarded unchanged');

my $long = 'r' x 128;
$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'X-Request-Id' => $long);
is(hdr($r, 'x-request-id'), $long, 'X-Request-Id of 128 chars kept');

for my $bad ('has space', 'r' x 129, 'semi;colon', "caf\xc3\xa9", '') {
    my $what = length $bad ? "invalid X-Request-Id '"
        . (length $bad > 20 ? 'r x ' . length $bad : $bad) . "'"
        : 'empty X-Request-Id';
    $r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
             'X-Request-Id' => $bad);
    my $id = hdr($r, 'x-request-id') // '';
    like($id, qr/^[0-9a-f]{32}$/, "$what replaced by 32 hex");
    is(echo_of($r)->{headers}{'x-request-id'}, $id,
       "$what: upstream gets the replacement");
}

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1});
my $id1 = hdr($r, 'x-request-id') // '';
like($id1, qr/^[0-9a-f]{32}$/, 'request id generated when absent');
is(echo_of($r)->{headers}{'x-request-id'}, $id1,
   'generated request id sent upstream');
my $id2 = hdr(get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1}),
              'x-request-id') // '';
isnt($id2, $id1, 'generated request ids differ');

$r = get('/v2/shipments/1', 'X-Request-Id' => 'denied-id-1');
is(hdr($r, 'x-request-id'), 'denied-id-1',
   'denied response carries the incoming X-Request-Id');

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'X-Stub-Status' => '500', 'X-Request-Id' => 'up-500');
is($r->{status}, 500, 'upstream status passed through');
is(hdr($r, 'x-request-id'), 'up-500',
   'upstream response also carries X-Request-Id');

# traceparent

my $tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1}, 'traceparent' => $tp);
is(echo_of($r)->{headers}{traceparent}, $tp,
   'valid traceparent passed through unchanged');

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1});
like(echo_of($r)->{headers}{traceparent} // '',
     qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'traceparent started when absent');

for my $bad ('garbage',
             '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
             '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
             '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
             '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
             'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
{
    $r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
             'traceparent' => $bad);
    my $got = echo_of($r)->{headers}{traceparent} // '';
    like($got, qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
         "invalid traceparent '$bad' replaced by a new one");
    unlike($got, qr/^00-0{32}-/, "new traceparent for '$bad' is not zero");
}

# several copies of an id header are ambiguous: a new trace, a new id

my $tp2 = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'traceparent' => $tp, 'Traceparent' => $tp2,
         'tracestate' => 'vendor=1');
my $seen = echo_of($r)->{headers};
my $got = ref $seen->{traceparent} ? join(',', @{ $seen->{traceparent} })
                                   : $seen->{traceparent} // '';
like($got, qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
     'two traceparent headers: exactly one new traceparent upstream');
ok($got ne $tp && $got ne $tp2,
   'two traceparent headers: neither is continued');
ok(!exists $seen->{tracestate}, 'two traceparent headers: tracestate dropped');

$r = get('/v2/shipments/1', 'X-API-Key' => $KEY{acme1},
         'X-Request-Id' => 'dup-a', 'x-request-id' => 'dup-b');
like(hdr($r, 'x-request-id') // '', qr/^[0-9a-f]{32}$/,
     'two X-Request-Id headers: a generated id is used');
is(echo_of($r)->{headers}{'x-request-id'}, hdr($r, 'x-request-id'),
   'two X-Request-Id headers: upstream gets the same generated id');

# URI rewrite

$r = get('/v2/shipments?page=2&q=a%20b&x=%2F', 'X-API-Key' => $KEY{acme1},
         'X-Request-Id' => 'fw-query-1');
is(echo_of($r)->{uri}, '/api/v2/shipments?page=2&q=a%20b&x=%2F',
   'query string kept byte for byte');
my $d = $t->decision_of('fw-query-1');
is($d && $d->{u}, '/api/v2/shipments?page=2&q=a%20b&x=%2F',
   '$logistics_upstream_uri includes the query string');

$r = get('/v2/shipments/1?', 'X-API-Key' => $KEY{acme1});
like(echo_of($r)->{uri}, qr{^/api/v2/shipments/1\??$},
     'empty query string does not break the rewrite');

my @params = (
    [ 'a%20b',        'a%20b',        'space' ],
    [ '%3Fx',         '%3Fx',         'question mark' ],
    [ '%23frag',      '%23frag',      'hash' ],
    [ 'caf%C3%A9',    'caf%C3%A9',    'UTF-8' ],
    [ 'a%25b',        'a%25b',        'percent' ],
    [ 'SHP-2026.001', 'SHP-2026.001', 'plain id' ],
);
for my $c (@params) {
    my ($in, $out, $what) = @$c;
    $r = get("/v2/shipments/$in", 'X-API-Key' => $KEY{acme1});
    is($r->{status}, 200, "id with $what proxied");
    is(uc_esc(echo_of($r)->{uri} // ''), uc_esc("/api/v2/shipments/$out"),
       "id with $what re-escaped on the way out");
}

$r = get('/v2/shipments/a%20b/label?x=1', 'X-API-Key' => $KEY{acme1});
is(uc_esc(echo_of($r)->{uri} // ''), '/api/v2/shipments/a%20b/label?x=1',
   'escaped parameter in a nested route plus query string');

# body

my $body = '{"reference":"SO-1","parcels":[{"weight_kg":1.5}]}';
$r = http_req('POST', '/v2/shipments', port => $p, body => $body,
              headers => ['X-API-Key' => $KEY{acme1},
                          'Content-Type' => 'application/json']);
is($r->{status}, 201, 'POST create proxied (stub answers 201)');
$e = echo_of($r);
is($e->{method}, 'POST', 'upstream gets POST');
is($e->{uri}, '/api/v2/shipments', 'POST rewritten');
is($e->{body}, $body, 'request body forwarded unchanged');

$t->done_testing();
