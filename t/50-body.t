#!/usr/bin/perl

# Request bodies checked against the route's JSON Schema at the gateway:
# media type (415), size (413), syntax (400 with line and column), the
# contract (422 with errors as JSON Pointers, capped), hostile bodies, and
# a valid body reaching Odoo byte for byte (also from nginx's temp file).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(time);

my $t = Lg::Test->new();
my $KEY = 'body-key';
my $sha = key_sha256($KEY);

$t->write_file('schemas/order.json', JSON::PP->new->canonical->encode({
    '$schema' => 'https://json-schema.org/draft/2020-12/schema',
    type => 'object',
    required => ['ref', 'lines'],
    additionalProperties => JSON::PP::false,
    properties => {
        ref => { type => 'string', pattern => '^(a+)+$' },
        note => { type => 'string', maxLength => 20 },
        total => { type => 'number', minimum => 0 },
        lines => { type => 'array', minItems => 1,
                   items => { '$ref' => 'line.json' } },
    },
}));
$t->write_file('schemas/line.json', JSON::PP->new->canonical->encode({
    type => 'object', required => ['sku', 'qty'],
    properties => { sku => { type => 'string', minLength => 1 },
                    qty => { type => 'integer', minimum => 1 } },
}));
# five evaluations per level of nesting: a deep body outruns the
# validator's evaluation limit before the parser's nesting limit
$t->write_file('schemas/tree.json', JSON::PP->new->canonical->encode({
    '$defs' => { n => { allOf => [{ allOf => [{ allOf => [
        { items => { '$ref' => '#/$defs/n' } } ] }] }] } },
    '$ref' => '#/$defs/n',
}));
$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    validation => { max_errors => 3 },
    scopes => { 'orders:write' => '' },
    partners => { p => { scopes => ['orders:write'],
                         api_keys => [{ id => 'k', sha256 => $sha }] } },
    apis => { orders => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [
            { id => 'orders.create', method => 'POST', path => '/orders',
              scopes => ['orders:write'], schema => 'schemas/order.json',
              max_body_size => '256k' },
            { id => 'orders.raw', method => 'POST', path => '/raw',
              scopes => ['orders:write'] },
            { id => 'orders.tree', method => 'POST', path => '/tree',
              scopes => ['orders:write'], schema => 'schemas/tree.json' },
        ] } },
}));

$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    # nginx's own limit above the routes': the module answers 413 itself
    http_extra => "    client_max_body_size 8m;\n"
                . "    client_body_buffer_size 1k;"));
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub post {
    my ($body, %h) = @_;
    my $uri = delete $h{uri} // '/v2/orders';
    my $t0 = time();
    my %hdr = ('Content-Type' => 'application/json', %h);
    my $r = http_req('POST', $uri, port => $p, body => $body,
                     headers => [ 'X-API-Key' => $KEY, %hdr ]);
    $r->{elapsed} = time() - $t0;
    return $r;
}

my $good = '{"ref":"aaa","lines":[{"sku":"A-1","qty":2}],"total":1.0e1}';

$t->stub_reset();
my $r = post($good);
is($r->{status}, 201, 'valid body forwarded');
is(echo_of($r)->{body}, $good, 'Odoo received the body byte for byte');

my $big = '{"ref":"a","lines":[' . join(',', map { qq({"sku":"S$_","qty":1}) } 1 .. 300) . ']}';
cmp_ok(length $big, '>', 1024, 'a body larger than client_body_buffer_size');
$r = post($big);
is($r->{status}, 201, 'body buffered to a temp file is validated');
is(echo_of($r)->{body}, $big, 'and forwarded intact');

$r = post($good, 'Content-Type' => 'application/vnd.acme+json; charset=utf-8');
is($r->{status}, 201, '+json media type with parameters accepted');

$r = post($good, 'Content-Type' => 'text/plain');
is_problem($r, 415, 'unsupported-media-type', 'text/plain: 415');
$r = http_req('POST', '/v2/orders', port => $p, body => $good,
              headers => [ 'X-API-Key' => $KEY ]);
is($r->{status}, 415, 'no Content-Type: 415');

$r = post('{"ref":"a","lines":[{"sku":"x","qty":1}],"note":"' . ('x' x 300000) . '"}');
is_problem($r, 413, 'body-too-large', 'over the route max_body_size: 413');

$r = post('x' x (2 * 1024 * 1024));
is_problem($r, 413, 'body-too-large', 'a 2 MB body: 413 before it is read');
cmp_ok($r->{elapsed}, '<', 2, 'answered without reading 2 MB');

$r = post('{"ref":"a","lines":[1,]}');
is_problem($r, 400, 'malformed-body', 'malformed JSON: 400');
like(json_decode($r->{body})->{detail}, qr/^line 1, column \d+: /,
     '400 detail gives line and column');

$r = post('{"ref":"a","ref":"b","lines":[{"sku":"x","qty":1}]}');
is($r->{status}, 400, 'duplicate keys: 400');

$r = post(qq({"ref":"a","lines":[{"sku":"\xff\xfe","qty":1}]}));
is($r->{status}, 400, 'invalid UTF-8: 400');

$r = post(('[' x 100000) . (']' x 100000), 'Content-Type' => 'application/json');
is($r->{status}, 400, '100k-deep nesting: 400');
cmp_ok($r->{elapsed}, '<', 2, 'deep nesting answered quickly');

$r = post(('[' x 10) . (']' x 10), uri => '/v2/tree');
is($r->{status}, 201, 'a recursive contract takes a 10-deep body');
$r = post(('[' x 250) . (']' x 250), uri => '/v2/tree');
is_problem($r, 422, 'invalid-body',
           'a body too deep for the contract to evaluate: 422, not 500');
like(eval { json_decode($r->{body})->{errors}[0]{message} } // '',
     qr/nested deeper than/, 'the error says why');

$r = post('{"ref":"a","lines":[{"sku":"x","qty":1}],"total":1e400}');
is($r->{status}, 400, 'a number beyond double range: 400');

$r = post('{"ref":"a","lines":[{"sku":"x","qty":1}],"total":123456789012345678901234567890}');
is($r->{status}, 201, 'a huge integer is just a big number');

$r = post('{"ref":"' . ('a' x 5000) . '!","lines":[{"sku":"x","qty":1}]}');
is($r->{status}, 422, 'catastrophic regex input: a clear 422');
cmp_ok($r->{elapsed}, '<', 2, 'in bounded time');

# the contract

$r = post('{"ref":"aa","lines":[{"sku":"","qty":0}],"extra":1,"total":-1}');
is_problem($r, 422, 'invalid-body', 'schema failure: 422');
my $errs = json_decode($r->{body})->{errors};
is(scalar @$errs, 3, 'errors capped at validation.max_errors (3)');
ok((grep { defined $_->{instanceLocation} && defined $_->{keywordLocation}
           && defined $_->{message} } @$errs) == 3,
   'each error has instanceLocation, keywordLocation and message');

$r = post('{"ref":"aa","lines":[{"sku":"A","qty":0}]}');
$errs = json_decode($r->{body})->{errors};
is($errs->[0]{instanceLocation}, '/lines/0/qty', 'instanceLocation is a JSON Pointer');
like($errs->[0]{keywordLocation}, qr{^/properties/lines/items/\$ref/properties/qty/minimum$},
     'keywordLocation follows the evaluation path across files');
is($t->stub_count(), 5,
   'no refused body reached the upstream (five good ones did)');

# a route without a schema takes any body

$r = post('not json at all', uri => '/v2/raw', 'Content-Type' => 'text/plain');
is($r->{status}, 201, 'route without a schema: body not inspected');

$t->done_testing();
