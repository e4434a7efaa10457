#!/usr/bin/perl

# HTTP edge cases through the gateway: path tricks, odd request forms,
# malformed and oversized headers.  nginx's own 400/414/494 answers are
# fine; the gateway must never crash, never route outside the policy,
# and the next request must still work.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();
$t->write_config($t->gateway_http_body());
$t->run_stub();
$t->run();

my $p = $t->port(0);
my $K = "X-API-Key: $KEY{acme1}\r\n";

sub raw {
    my ($req) = @_;
    return parse_response(http($req, port => $p));
}

# GET <target> with the acme key, exact bytes; extra header lines optional
sub get_raw {
    my ($target, $extra) = @_;
    return raw("GET $target HTTP/1.1\r\nHost: x\r\n$K" . ($extra // '')
               . "Connection: close\r\n\r\n");
}

sub still_works {
    my ($what) = @_;
    my $r = http_get('/v2/shipments/1', port => $p, 'X-API-Key' => $KEY{acme1});
    is($r->{status}, 200, "after $what: the next request still works");
}

# path tricks

my $r = get_raw("//v2//shipments");
is($r->{status}, 200, '//v2//shipments: merged slashes, routed');
is(echo_of($r)->{uri}, '/api/v2/shipments', '//v2//shipments rewritten');

$r = get_raw("/v2/../v1/shipments/1");
is($r->{status}, 200, '/v2/../v1/shipments/1 resolved by nginx');
is(echo_of($r)->{uri}, '/api/v1/shipments/1',
   '/v2/../v1/shipments/1 goes to v1 (the normalised path)');
ok(defined hdr($r, 'deprecation'),
   '/v2/../v1/... gets the v1 deprecation headers');

$r = get_raw("/v2/./shipments/./1");
is(echo_of($r)->{uri}, '/api/v2/shipments/1', '/./ segments removed');

$t->stub_reset();

$r = get_raw("/v2/shipments/%2e%2e");
is_problem($r, 404, 'not-found', '/v2/shipments/%2e%2e is /v2/: 404');

$r = get_raw("/v2/shipments/%2e%2e/%2e%2e/%2e%2e/etc/passwd");
ok($r->{status} == 400 || $r->{status} == 404,
   'encoded dot-dot climbing out of the root: 400 or 404')
    or diag("status $r->{status}");

$r = get_raw("/v2/shipments/..%2f..%2fadmin");
ok($r->{status} == 400 || $r->{status} == 404,
   '..%2f..%2fadmin: 400 or 404, never proxied')
    or diag("status $r->{status}");

$r = get_raw("/v2/shipments/a%2Fb");
is_problem($r, 404, 'not-found',
           'encoded slash in an id decodes to /a/b: no route, 404');

$r = get_raw("/../v2/shipments");
is($r->{status}, 400, '/../v2/shipments: nginx 400');

$r = get_raw("/v2/shipments/a%00b");
is($r->{status}, 400, 'encoded NUL in the path: nginx 400');

is($t->stub_count(), 0, 'none of the path tricks reached the upstream');
still_works('path tricks');

my $id = 'a' x 8000;
$r = get_raw("/v2/shipments/$id?q=1");
is($r->{status}, 200, 'path of ~8 KB is routed');
is(echo_of($r)->{uri}, "/api/v2/shipments/$id?q=1",
   'path of ~8 KB rewritten in full with its query');

$id = 'b' x 20000;
$r = get_raw("/v2/shipments/$id");
ok($r->{status} == 414 || $r->{status} == 400,
   'path of 20 KB: nginx 414/400') or diag("status $r->{status}");
still_works('a 20 KB path');

$id = join '', map { sprintf '%%%02X', $_ } 0x80 .. 0xff;
$r = get_raw("/v2/shipments/$id");
is($r->{status}, 200, 'id of escaped high bytes routed');
is(uc(echo_of($r)->{uri} // ''), uc "/api/v2/shipments/$id",
   'high bytes re-escaped on the way out');

$r = get_raw("/v2/shipments/\xc3\xa9t\xc3\xa9");
is($r->{status}, 200, 'raw UTF-8 bytes in the path routed');
is(uc(echo_of($r)->{uri} // ''), '/API/V2/SHIPMENTS/%C3%A9T%C3%A9',
   'raw UTF-8 bytes escaped for the upstream');

# odd request forms

$r = get_raw("http://localhost/v2/shipments/1");
is(echo_of($r)->{uri}, '/api/v2/shipments/1', 'absolute-form request target');

$r = raw("GET /v2/shipments/1 HTTP/1.0\r\n$K\r\n");
is($r->{status}, 200, 'HTTP/1.0 request without Host');

$r = raw("GET /v2/shipments/1 HTTP/1.1\nHost: x\n${K}Connection: close\n\n"
         =~ s/\r\n/\n/gr);
is($r->{status}, 200, 'bare LF line endings');

my $raw = http("GET /v2/shipments/1\r\n", port => $p);
unlike($raw, qr/^HTTP\/1\.1 200/,
       'HTTP/0.9 request is not proxied without a key');
still_works('an HTTP/0.9 request');

$r = raw("POST /v2/shipments HTTP/1.1\r\nHost: x\r\n$K"
         . "Transfer-Encoding: chunked\r\n"
         . "Content-Type: application/json\r\nConnection: close\r\n\r\n"
         . "5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n");
is($r->{status}, 201, 'chunked request body proxied');
is(echo_of($r)->{body}, '{"a":1}', 'chunked body arrives whole upstream');

$r = raw("POST /v2/shipments HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
         . "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
is($r->{status}, 401, 'Expect: 100-continue without a key: 401');

$raw = http("\x00\x01\x02 garbage\r\n\r\n", port => $p);
like($raw, qr/^HTTP\/1\.1 400/, 'binary garbage request: 400');

$raw = http("GET /v2/shipments/1 HTTP/1.1\r\nHost: x\r\nX-API-Ke", port => $p,
            timeout => 1, shutdown => 1);
unlike($raw, qr/^HTTP\/1\.1 [23]\d\d/,
       'request truncated mid-header: never proxied');
still_works('a truncated request');

# malformed and oversized headers

my @bad_headers = (
    [ 'header name with a space', "X Bad: 1\r\n" ],
    [ 'header line without colon', "NoColonHere\r\n" ],
    [ 'NUL in a header value', "X-Thing: a\x00b\r\n" ],
    [ 'NUL in the API key', "X-API-Key: lg-test\x00acme\r\n" ],
    [ 'header of 10 KB', 'X-Big: ' . ('z' x 10240) . "\r\n" ],
    [ 'API key of 9 KB', 'X-API-Key: ' . ('k' x 9216) . "\r\n" ],
    [ 'Authorization of 9 KB',
      'Authorization: ApiKey ' . ('k' x 9216) . "\r\n" ],
    [ '300 headers', join('', map { "X-H$_: v\r\n" } 1 .. 300) ],
    [ 'folded header line', "X-Fold: a\r\n b\r\n" ],
    [ 'empty header name', ": nothing\r\n" ],
    [ 'duplicate Host', "Host: y\r\n" ],
    [ 'CR inside a value', "X-CR: a\rb\r\n" ],
    [ 'high bytes in a header name', "X-\xff\xfe: v\r\n" ],
    [ 'API-Version with odd bytes', "API-Version: v\xff\r\n" ],
    [ 'API-Version empty', "API-Version: \r\n" ],
    [ 'X-Request-Id of 4 KB', 'X-Request-Id: ' . ('i' x 4096) . "\r\n" ],
    [ 'traceparent of 4 KB', 'traceparent: 00-' . ('a' x 4096) . "\r\n" ],
);

for my $c (@bad_headers) {
    my ($what, $h) = @$c;
    $raw = http("GET /v2/shipments/1 HTTP/1.1\r\nHost: x\r\n$K$h"
                . "Connection: close\r\n\r\n", port => $p);
    $r = parse_response($raw);
    ok($r->{status} =~ /^(200|400|401|494)$/,
       "$what: answered with 200/400/401/494 (got $r->{status})");
    if ($r->{status} == 200) {
        is(echo_of($r)->{headers}{'x-logistics-partner'}, 'acme',
           "$what: when proxied, partner header is the gateway's");
    }
    still_works($what);
}

$r = raw("GET /v2/shipments/1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: "
         . ('i' x 4096) . "\r\n${K}Connection: close\r\n\r\n");
like(hdr($r, 'x-request-id') // '', qr/^[0-9a-f]{32}$/,
     'oversized X-Request-Id replaced by a generated one');

$t->done_testing();
