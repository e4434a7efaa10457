#!/usr/bin/perl

# Routing: versions from the path or API-Version, route matching, 404, 405
# with Allow, 410 after sunset, deprecation headers, HEAD and OPTIONS.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();
$t->write_config($t->gateway_http_body() . <<'EOF');

    # gateway switched on for the whole server, off again in one location;
    # a mirror subrequest into a location without the gateway (an internal
    # gateway location would fail nginx -t: subrequests skip the gateway)
    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log %%TESTDIR%%/lg.log lg;
        logistics_gateway on;

        location / {
            mirror /__mirror;
            proxy_pass http://odoo;
        }

        location = /__mirror {
            internal;
            logistics_gateway off;
            proxy_pass http://odoo/mirror-hit;
        }

        location /health {
            logistics_gateway off;
            return 200 "up\n";
        }
    }
EOF
$t->run_stub();
$t->run();

my $p = $t->port(0);
my @ACME = ('X-API-Key' => $KEY{acme1});

sub get { my ($uri, %h) = @_; return http_get($uri, port => $p, %h) }

sub req {
    my ($m, $uri, @h) = @_;
    return http_req($m, $uri, port => $p, headers => [@h]);
}

# allowed call, rewritten for v2

my $r = get('/v2/shipments/123', @ACME, 'X-Request-Id' => 'rt-allow-1');
is($r->{status}, 200, 'GET /v2/shipments/123 with a valid key is proxied');
my $e = echo_of($r);
is($e->{uri}, '/api/v2/shipments/123',
   'upstream gets upstream_prefix + route path');
is($e->{headers}{'x-logistics-route'}, 'shipments.get',
   'upstream told the route id');
is($e->{headers}{'x-logistics-api-version'}, 'v2',
   'upstream told the API version');
ok(!defined hdr($r, 'deprecation'), 'current version has no Deprecation');

my $d = $t->decision_of('rt-allow-1');
is($d && $d->{decision}, 'allow', '$logistics_decision is allow');
is($d && $d->{r}, 'shipments.get', '$logistics_route is the route id');
is($d && $d->{v}, 'v2', '$logistics_api_version is v2');
is($d && $d->{u}, '/api/v2/shipments/123',
   '$logistics_upstream_uri is the rewritten URI');

$r = get('/v2/shipments', @ACME);
is(echo_of($r)->{uri}, '/api/v2/shipments',
   'collection route /v2/shipments rewritten');
is(echo_of($r)->{headers}{'x-logistics-route'}, 'shipments.list',
   'collection route is shipments.list');

$r = get('/v2/shipments/active', @ACME);
is(echo_of($r)->{headers}{'x-logistics-route'}, 'shipments.active',
   'literal segment /shipments/active wins over /shipments/{id}');

$r = get('/v2/shipments/77/label', @ACME);
is($r->{status}, 200, 'nested route /shipments/{id}/label allowed');
is(echo_of($r)->{uri}, '/api/v2/shipments/77/label',
   'nested route rewritten with its parameter');

$r = req('PUT', '/v2/shipments/5/cancel', @ACME);
is($r->{status}, 200, 'PUT route allowed');
is(echo_of($r)->{method}, 'PUT', 'upstream gets the PUT');

# 404

is_problem(get('/v2/nothing', @ACME), 404, 'not-found',
           'unknown path in a known version is 404 not-found');
is_problem(get('/v2/nothing'), 404, 'not-found',
           'unknown path without a key is 404, not 401 (route before auth)');
is_problem(get('/v9/shipments/1', @ACME), 404, 'not-found',
           'unknown version /v9 is 404 not-found');
is_problem(get('/v1/shipments/1/label', @ACME), 404, 'not-found',
           'route limited to v2 is 404 under v1');
is_problem(get('/v2/shipments/1/label/extra', @ACME), 404, 'not-found',
           'extra trailing segment does not match a route');

# version from API-Version

is_problem(get('/shipments/1', @ACME), 400, 'version-required',
           'no /vN prefix and no API-Version is 400 version-required');

$r = get('/shipments/1', @ACME, 'API-Version' => 'v2');
is($r->{status}, 200, 'API-Version: v2 routes an unprefixed path');
is(echo_of($r)->{uri}, '/api/v2/shipments/1',
   'API-Version: v2 rewrites to /api/v2');

$r = get('/shipments/1', @ACME, 'API-Version' => '2');
is(echo_of($r)->{uri}, '/api/v2/shipments/1', 'API-Version: 2 also works');

is_problem(get('/shipments/1', @ACME, 'API-Version' => 'v9'), 404,
           'not-found', 'API-Version of an unknown version is 404');

$r = get('/v2/shipments/1', @ACME, 'API-Version' => 'v1');
is(echo_of($r)->{uri}, '/api/v2/shipments/1',
   'path prefix wins over the API-Version header');
ok(!defined hdr($r, 'deprecation'),
   'path prefix v2 wins: no Deprecation from header v1');

# deprecated and sunset versions

$r = get('/v1/shipments/7', @ACME);
is($r->{status}, 200, 'deprecated v1 still served');
is(echo_of($r)->{uri}, '/api/v1/shipments/7', 'v1 rewritten to /api/v1');
is(hdr($r, 'deprecation'), '@1577836800',
   'Deprecation: @<unix time of deprecated>');
is(hdr($r, 'sunset'), 'Thu, 01 Jan 2099 00:00:00 GMT',
   'Sunset as IMF-fixdate');
is(hdr($r, 'link'), '</v2/shipments/7>; rel="successor-version"',
   'Link to the successor version of the same path');

$r = get('/shipments/8', @ACME, 'API-Version' => 'v1');
is(echo_of($r)->{uri}, '/api/v1/shipments/8', 'API-Version: v1 routes to v1');
is(hdr($r, 'link'), '</v2/shipments/8>; rel="successor-version"',
   'Link successor-version also when the version came from the header');

is_problem(get('/v3/shipments/1', @ACME), 410, 'version-sunset',
           'version past its sunset is 410 version-sunset');
is_problem(get('/v3/shipments/1'), 410, 'version-sunset',
           'sunset version is 410 even without a key (before auth)');

# 405

$r = req('POST', '/v2/shipments/1', @ACME);
is_problem($r, 405, 'method-not-allowed',
           'POST on a GET-only path is 405 method-not-allowed');
is(allow_set(hdr($r, 'allow')), 'GET,HEAD,OPTIONS',
   'Allow lists GET, HEAD (implied) and OPTIONS');

$r = req('DELETE', '/v2/shipments');
is_problem($r, 405, 'method-not-allowed',
           'DELETE without a key is 405 (route before auth)');
is(allow_set(hdr($r, 'allow')), 'GET,HEAD,OPTIONS,POST',
   'Allow for /v2/shipments has GET, HEAD, OPTIONS, POST');

$r = req('POST', '/v1/shipments', @ACME);
is_problem($r, 405, 'method-not-allowed',
           'POST /v1/shipments is 405: create exists in v2 only');
is(allow_set(hdr($r, 'allow')), 'GET,HEAD,OPTIONS',
   'Allow for /v1/shipments has no POST');

# HEAD

$t->stub_reset();
$r = http_req('HEAD', '/v2/shipments/1', port => $p, headers => [@ACME]);
is($r->{status}, 200, 'HEAD with a key is routed like GET and allowed');
is($r->{body}, '', 'HEAD response has no body');
is($t->stub_count(), 1, 'HEAD reached the upstream');

$r = http_req('HEAD', '/v2/shipments/1', port => $p);
is($r->{status}, 401, 'HEAD without a key is 401 (auth required)');
is($r->{body}, '', 'HEAD 401 has no body');

# OPTIONS

$t->stub_reset();
$r = req('OPTIONS', '/v2/shipments');
is($r->{status}, 204, 'OPTIONS on a known path is 204 without a key');
is(allow_set(hdr($r, 'allow')), 'GET,HEAD,OPTIONS,POST',
   'OPTIONS Allow lists the methods of the path');
ok(defined hdr($r, 'x-request-id'), 'OPTIONS response has X-Request-Id');
is($r->{body}, '', 'OPTIONS 204 has no body');

$r = req('OPTIONS', '/v2/shipments/9/cancel');
is(allow_set(hdr($r, 'allow')), 'OPTIONS,PUT',
   'OPTIONS Allow for a PUT-only path is PUT, OPTIONS');

is_problem(req('OPTIONS', '/v2/nothing'), 404, 'not-found',
           'OPTIONS on an unknown path is 404');
is($t->stub_count(), 0, 'OPTIONS never reaches the upstream');

# gateway off

$r = get('/plain/x', 'X-Logistics-Partner' => 'spoof');
is($r->{status}, 200, 'location without logistics_gateway is a plain proxy');
is(echo_of($r)->{uri}, '/plain/x', 'plain location URI untouched');
is(echo_of($r)->{headers}{'x-logistics-partner'}, 'spoof',
   'plain location leaves headers alone');
my ($pl) = $t->wait_log_line('lg.log', qr{^- 200 - p=- k=- r=- v=- u=-$});
ok(defined $pl, 'module variables are empty ("-") outside the gateway');

# server-level gateway, location-level off, mirror subrequest

my $p1 = $t->port(1);
$r = http_get('/health', port => $p1);
is($r->{status}, 200,
   'logistics_gateway off in a location of a gateway server: no key needed');
is($r->{body}, "up\n", 'the off location serves its own content');

is_problem(http_get('/v2/shipments/1', port => $p1), 401, 'unauthorized',
           'logistics_gateway on at server level applies to locations');

$t->stub_reset();
$r = http_get('/v2/shipments/3', port => $p1, @ACME);
is($r->{status}, 200, 'allowed call on the server-level gateway');
is(echo_of($r)->{uri}, '/api/v2/shipments/3',
   'server-level gateway rewrites the URI');
my $end = time() + 3;
select undef, undef, undef, 0.05 while $t->stub_count() < 2 && time() < $end;
is($t->stub_count(), 2,
   'mirror subrequest reached the upstream (its location has no gateway)');

$t->done_testing();
