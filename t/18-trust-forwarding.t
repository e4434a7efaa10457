#!/usr/bin/perl

# What reaches Odoo (issue 12): headers from an allow-list only, the Host
# and X-Forwarded-* from the policy and the connection, bodies only where
# the route takes one, ambiguous requests refused, and the header values
# the gateway builds escaped.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;

my $t = Lg::Test->new();
my $KEY = 'trust-fwd-key';
my $READER = 'trust-fwd-reader';

$t->write_file('schemas/any.json', '{"type": "object"}');
$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'w' => '', 'r' => '' },
    partners => {
        acme => { scopes => ['w', 'r'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($KEY) }] },
        reader => { scopes => ['r'],
                    api_keys => [{ id => 'k',
                                   sha256 => key_sha256($READER) }] },
    },
    apis => {
        shipments => {
            forward_headers => ['X-Carrier-Ref', 'Content-Encoding'],
            versions => {
                v1 => { upstream_prefix => '/api/v1',
                        deprecated => '2020-01-01T00:00:00Z',
                        successor => 'v2' },
                v2 => { upstream_prefix => '/api/v2',
                        upstream_host => 'odoo-v2.internal:8069' },
            },
            routes => [
                { id => 'get', method => 'GET', path => '/shipments/{id}',
                  scopes => ['r'] },
                { id => 'create', method => 'POST', path => '/shipments',
                  scopes => ['w'], schema => 'schemas/any.json' },
                { id => 'upload', method => 'POST', path => '/uploads',
                  scopes => ['w'] },
                { id => 'purge', method => 'DELETE', path => '/shipments/{id}',
                  scopes => ['w'] },
                { id => 'ping', method => 'GET', path => '/ping',
                  scopes => ['r'], body => 'drop' },
                { id => 'note', method => 'POST', path => '/notes',
                  scopes => ['w'], body => 'none' },
                { id => 'book', method => 'POST', path => '/bookings',
                  scopes => ['w'], idempotency => 'optional' },
            ],
        },
        tracking => {
            versions => { v2 => { upstream_prefix => '/t' } },
            routes => [
                { id => 'events', method => 'POST', path => '/events',
                  scopes => ['w'] },
            ],
        },
    },
}));

$t->write_config(<<'EOF');
    logistics_policy %%TESTDIR%%/policy.json;
    logistics_zone trustfwd:1m;
    underscores_in_headers on;

    log_format hosts '$logistics_request_id host=$host';

    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name gw.example;
        access_log %%TESTDIR%%/hosts.log hosts;

        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
            proxy_set_header Host $logistics_upstream_host;
            proxy_set_header X-Seen-Cookie $http_cookie;
            proxy_set_header X-Seen-Referer $http_referer;
            proxy_set_header X-Seen-Http-Host $http_host;
            proxy_set_header X-Seen-Odoo-Db $http_x_odoo_database;
        }

        # a legacy configuration that still says $host and
        # $proxy_add_x_forwarded_for
        location /legacy/ {
            logistics_gateway on;
            rewrite ^/legacy(/.*)$ $1 break;
            proxy_pass http://odoo;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }
EOF
$t->run_stub();
$t->run();

my $p = $t->port(0);

sub req {
    my ($method, $uri, $hdrs, $body) = @_;
    return http_req($method, $uri, port => $p, body => $body,
                    headers => [ 'X-API-Key' => $KEY, @{ $hdrs // [] } ]);
}

# allow-list

my $r = req('GET', '/v2/shipments/1', [
    'Cookie' => 'session_id=abc; frontend_lang=en',
    'Sec-Fetch-Site' => 'cross-site',
    'Sec-Fetch-Mode' => 'cors',
    'X-Forwarded-Host' => 'evil.example',
    'X-Forwarded-For' => '6.6.6.6',
    'X-Forwarded-Proto' => 'gopher',
    'Forwarded' => 'for=6.6.6.6;host=evil.example',
    'X-Real-IP' => '6.6.6.6',
    'X-Original-URL' => '/web/database/manager',
    'X-Rewrite-URL' => '/web/database/manager',
    'X-HTTP-Method-Override' => 'DELETE',
    'X-Odoo-Database' => 'other_company',
    'X-Odoo-Anything' => 'x',
    'X_Odoo_Database' => 'other_company',
    'Referer' => 'https://evil.example/',
    'Via' => '1.1 evil',
    'Range' => 'bytes=0-10',
    'If-Modified-Since' => 'Thu, 01 Jan 2026 00:00:00 GMT',
    'X-Custom' => 'anything',
    'Accept' => 'application/json',
    'Accept-Language' => 'nl-BE',
    'Accept-Encoding' => 'identity',
    'User-Agent' => 'carrier-client/1.0',
    'If-None-Match' => '"v1"',
    'If-Match' => '"v2"',
    'X-Carrier-Ref' => 'CR-1',
]);
my $e = echo_of($r);
my $h = $e->{headers} // {};
is($r->{status}, 200, 'allow-list: request forwarded');

for my $name (qw(cookie sec-fetch-site sec-fetch-mode forwarded x-real-ip
                 x-original-url x-rewrite-url x-http-method-override
                 x-odoo-database x-odoo-anything x_odoo_database referer
                 via range if-modified-since x-custom x-api-key))
{
    ok(!exists $h->{$name}, "allow-list: $name does not reach Odoo");
}

for my $c (['accept', 'application/json'], ['accept-language', 'nl-BE'],
           ['accept-encoding', 'identity'],
           ['user-agent', 'carrier-client/1.0'], ['if-none-match', '"v1"'],
           ['if-match', '"v2"'], ['x-carrier-ref', 'CR-1'])
{
    is($h->{ $c->[0] }, $c->[1], "allow-list: $c->[0] forwarded");
}

ok(!exists $h->{'x-seen-cookie'}, 'allow-list: $http_cookie is empty');
ok(!exists $h->{'x-seen-referer'}, 'allow-list: $http_referer is empty');
ok(!exists $h->{'x-seen-odoo-db'},
   'allow-list: $http_x_odoo_database is empty');
is($h->{'x-forwarded-for'}, '127.0.0.1',
   'X-Forwarded-For is the connection\'s address, not the partner\'s');
is($h->{'x-forwarded-proto'}, 'http', 'X-Forwarded-Proto from the connection');

# Content-Encoding only where the API's forward_headers allow it

$r = req('POST', '/v2/uploads', [ 'Content-Type' => 'text/plain',
                                  'Content-Encoding' => 'x-test' ], 'abc');
is(echo_of($r)->{headers}{'content-encoding'}, 'x-test',
   'Content-Encoding forwarded where forward_headers lists it');
is(echo_of($r)->{headers}{'content-type'}, 'text/plain',
   'Content-Type forwarded');
$r = req('POST', '/v2/events', [ 'Content-Type' => 'text/plain',
                                 'Content-Encoding' => 'x-test' ], 'abc');
is($r->{status}, 201, 'an API without forward_headers: forwarded');
ok(!exists echo_of($r)->{headers}{'content-encoding'},
   'Content-Encoding dropped where the API does not allow it');

# Host and X-Forwarded-Host: from the policy

$r = req('GET', '/v2/shipments/1', [ 'Host' => 'evil-db.example' ]);
$h = echo_of($r)->{headers} // {};
is($h->{host}, 'odoo-v2.internal:8069', 'Host is the version\'s upstream_host');
is($h->{'x-forwarded-host'}, 'odoo-v2.internal:8069',
   'X-Forwarded-Host is the upstream_host too');
is($h->{'x-seen-http-host'}, 'odoo-v2.internal:8069',
   '$http_host is no longer the partner\'s');

$r = req('GET', '/v1/shipments/1',
         [ 'Host' => 'evil-db.example', 'X-Request-Id' => 'host-v1' ]);
$h = echo_of($r)->{headers} // {};
is($h->{host}, 'odoo', 'without upstream_host: the upstream\'s own name');
ok(!exists $h->{'x-forwarded-host'},
   'without upstream_host: no X-Forwarded-Host at all');
ok(!exists $h->{'x-seen-http-host'},
   'without upstream_host: $http_host is empty');
like($t->wait_log_line('hosts.log', qr/^host-v1 /) // '',
     qr/host=evil-db\.example$/,
     'the log still sees the partner\'s Host after the response');

$r = req('GET', '/legacy/v2/shipments/1', [ 'Host' => 'evil-db.example',
                                            'X-Forwarded-For' => '6.6.6.6' ]);
$h = echo_of($r)->{headers} // {};
is($h->{host}, 'odoo-v2.internal:8069',
   'proxy_set_header Host $host: the upstream_host, not the partner\'s');
is($h->{'x-forwarded-for'}, '127.0.0.1',
   '$proxy_add_x_forwarded_for: no address the partner claimed');

$r = req('GET', '/legacy/v1/shipments/1', [ 'Host' => 'evil-db.example' ]);
is(echo_of($r)->{headers}{host}, 'gw.example',
   'proxy_set_header Host $host without upstream_host: the server\'s name');

# bodies only where the route takes one

my $before = $t->stub_count();
$r = req('GET', '/v2/shipments/1', [ 'Content-Type' => 'application/json' ],
         '{"delete":"everything"}');
is_problem($r, 400, 'body-not-allowed', 'a body on GET: 400');
$r = req('DELETE', '/v2/shipments/1', [], 'x=1');
is_problem($r, 400, 'body-not-allowed', 'a body on DELETE: 400');
$r = req('POST', '/v2/notes', [ 'Content-Type' => 'text/plain' ], 'hello');
is_problem($r, 400, 'body-not-allowed', 'a body where the route says none');
is($t->stub_count(), $before, 'none of them reached Odoo');

$r = req('GET', '/v2/shipments/1', [ 'Content-Length' => '0' ]);
is($r->{status}, 200, 'GET with Content-Length: 0 is fine');
$r = req('DELETE', '/v2/shipments/1');
is($r->{status}, 200, 'DELETE without a body is fine');
$r = req('POST', '/v2/notes');
is($r->{status}, 201, 'POST without a body where the route says none');

$r = req('GET', '/v2/ping', [ 'Content-Type' => 'text/plain' ], 'drop me');
$e = echo_of($r);
is($r->{status}, 200, 'body "drop": forwarded');
is($e->{body}, '', 'body "drop": Odoo gets no body');
ok(!exists $e->{headers}{'content-length'}
   || $e->{headers}{'content-length'} eq '0',
   'body "drop": and no Content-Length announcing one');

# ambiguity is refused, not resolved

my @dups = (
    [ 'two Content-Type', 'POST', '/v2/shipments',
      [ 'Content-Type' => 'application/json', 'Content-Type' => 'text/xml' ],
      '{}' ],
    [ 'two Idempotency-Key', 'POST', '/v2/bookings',
      [ 'Content-Type' => 'application/json', 'Idempotency-Key' => '"a"',
        'Idempotency-Key' => '"b"' ], '{}' ],
    [ 'two API-Version', 'GET', '/shipments/1',
      [ 'API-Version' => '2', 'API-Version' => '1' ] ],
    [ 'two X-API-Key', 'GET', '/v2/shipments/1', [ 'X-API-Key' => $KEY ] ],
);
$before = $t->stub_count();
for my $c (@dups) {
    my ($what, $method, $uri, $hdrs, $body) = @$c;
    $r = req($method, $uri, $hdrs, $body);
    is_problem($r, 400, 'ambiguous-request', "$what: 400 problem");
}
$r = req('GET', '/v2/shipments/1',
         [ 'Authorization' => "ApiKey $KEY", 'Authorization' => 'Bearer x' ]);
is($r->{status}, 400, 'two Authorization: 400 (nginx refuses it first)');
is($t->stub_count(), $before, 'no ambiguous request reached Odoo');

# a JSON body in another charset, or encoded, cannot be validated

for my $ct ('application/json; charset=iso-8859-1',
            'application/json;charset="latin1"',
            'application/json; foo=bar; charset=utf-16')
{
    $r = req('POST', '/v2/shipments', [ 'Content-Type' => $ct ], '{}');
    is_problem($r, 415, 'unsupported-media-type', "$ct: 415");
}
for my $ct ('application/json; charset=utf-8',
            'application/json; charset="UTF-8"', 'application/json')
{
    $r = req('POST', '/v2/shipments', [ 'Content-Type' => $ct ], '{}');
    is($r->{status}, 201, "$ct: accepted");
}
$r = req('POST', '/v2/shipments', [ 'Content-Type' => 'application/json',
                                    'Content-Encoding' => 'gzip' ], '{}');
is_problem($r, 415, 'unsupported-media-type',
           'an encoded body on a schema route: 415');

# header values the gateway builds are escaped per component

$r = req('GET', '/v1/shipments/a%3E%3B%20rel=%22preload%22%2C%3Cx%3E');
my $link = hdr($r, 'link') // '';
like($link, qr/^<[^<>"\s,;]*>; rel="successor-version"$/,
     "Link: one target, one rel ($link)");
is(($link =~ tr/<>//), 2, 'Link: no other link smuggled in');
like($link, qr{^</v2/shipments/a%3E%3B%20rel%3D%22preload%22%2C%3Cx%3E>},
     'Link: the path parameter percent-encoded');

$r = http_req('POST', '/v2/uploads', port => $p,
              headers => [ 'X-API-Key' => $READER ], body => 'x');
is(hdr($r, 'www-authenticate'),
   'ApiKey realm="logistics", error="insufficient_scope", scope="w"',
   'insufficient_scope challenge: one quoted scope list');

$t->done_testing();
