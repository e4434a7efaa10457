#!/usr/bin/perl

# Problem responses: every gateway denial is RFC 9457 problem+json with
# type/title/status/detail/request_id, Cache-Control no-store, a correct
# Content-Length, no HTML, no secrets; logistics_problem_type_base.

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

my %MEMBERS = map { $_ => 1 } qw(type title status detail request_id);

my @denials = (
    [ 'GET', '/shipments/1', [], 400, 'version-required' ],
    [ 'GET', '/v2/shipments/1', [], 401, 'unauthorized' ],
    [ 'POST', '/v2/shipments', [ 'X-API-Key' => $KEY{reader} ], 403,
      'insufficient-scope' ],
    [ 'GET', '/v2/shipments', [ 'X-API-Key' => $KEY{limited} ], 403,
      'route-not-allowed' ],
    [ 'GET', '/v2/nope', [], 404, 'not-found' ],
    [ 'PATCH', '/v2/shipments/1', [], 405, 'method-not-allowed' ],
    [ 'GET', '/v3/shipments/1', [], 410, 'version-sunset' ],
);

my %titles;
for my $c (@denials) {
    my ($m, $uri, $h, $status, $slug) = @$c;
    my $r = http_req($m, $uri, port => $p, headers => $h);
    is_problem($r, $status, $slug, "$m $uri: $status $slug problem");

    my $j = eval { json_decode($r->{body}) } || {};
    my @extra = grep { !$MEMBERS{$_} } sort keys %$j;
    is_deeply(\@extra, [], "$m $uri: no members beyond the documented five");
    is(hdr($r, 'content-length'), length $r->{body},
       "$m $uri: Content-Length matches the body");
    $titles{$slug} = $j->{title};
}

isnt($titles{'insufficient-scope'}, $titles{'not-found'},
     'titles differ per problem type');

my $r = http_req('HEAD', '/v2/shipments/1', port => $p);
is_problem($r, 401, 'unauthorized', 'HEAD denial: problem headers, no body',
           head => 1);

# a problem on a keep-alive connection leaves it usable
my $c = http_raw_conn($p);
my @st;
for my $i (1 .. 3) {
    my $x = $c->request('GET', '/v2/shipments/1');
    push @st, $x ? $x->{status} : 0;
    $x = $c->request('GET', '/v2/shipments/1',
                     headers => ['X-API-Key' => $KEY{acme1}]);
    push @st, $x ? $x->{status} : 0;
}
$c->close();
is("@st", '401 200 401 200 401 200',
   'denials and allowed calls alternate on one keep-alive connection');

# a denied request with a body: the body is discarded, connection reusable
$c = http_raw_conn($p);
my $x = $c->request('POST', '/v2/shipments', body => '{"a":"' . 'x' x 5000
                    . '"}', headers => ['Content-Type' => 'application/json']);
is($x && $x->{status}, 401, 'POST with a body and no key: 401');
$x = $c->request('GET', '/v2/shipments/1',
                 headers => ['X-API-Key' => $KEY{acme1}]);
is($x && $x->{status}, 200,
   'next request on the same connection after a denied body works');
$c->close();

# the problem body never echoes what the client sent
$r = http_req('GET', '/v2/shipments/1', port => $p,
              headers => ['X-API-Key' => 'lg-test-secret-in-body']);
unlike($r->{body}, qr/lg-test-secret-in-body/,
       'problem body does not echo the presented key');

$r = http_get('/v2/%3Cscript%3E', port => $p);
unlike($r->{body}, qr/<script>/, 'problem body does not echo the path');

# logistics_problem_type_base: a second nginx, same stub

my $t2 = Lg::Test->new(stub_port => $t->stub_port());
$t2->write_config($t2->gateway_http_body(
    http_extra => '    logistics_problem_type_base'
        . ' "https://errors.example.com/problems/";'));
$t2->run();

$r = http_get('/v2/nope', port => $t2->port(0));
is_problem($r, 404, 'not-found', 'problem type uses the configured base',
           base => 'https://errors.example.com/problems/');
$r = http_get('/v2/shipments/1', port => $t2->port(0));
is_problem($r, 401, 'unauthorized', 'configured base for 401 as well',
           base => 'https://errors.example.com/problems/');

$t2->finish();
$t->done_testing();
