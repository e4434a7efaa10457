#!/usr/bin/perl

# The JSON audit log as shipped (lua-free-config/json-audit-log.conf):
# one valid JSON object per request with what people correlate on (trace
# id and span, partner, key id, route, version, decision, rate-limit
# remaining, idempotency outcome, schema error count, Odoo's status), and
# refusals also in denied.json.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(sleep);
use Lg::Test;

my $repo = Lg::Test::repo();
my $t = Lg::Test->new();
my $d = $t->testdir();

my $conf = $t->read_file("$repo/lua-free-config/json-audit-log.conf");
$conf =~ s/\@MODULE\@/%%MODULE%%/g;
$conf =~ s/\@RUNDIR\@\/logs\/error\.log/%%TESTDIR%%\/error.log/g;
$conf =~ s/\@RUNDIR\@\/nginx\.pid/%%TESTDIR%%\/nginx.pid/g;
$conf =~ s/\@RUNDIR\@/%%TESTDIR%%/g;
$conf =~ s/\@REPO\@/%%REPO%%/g;
$conf =~ s/127\.0\.0\.1:8080;/127.0.0.1:%%PORT_0%%;/;
$conf =~ s/127\.0\.0\.1:8069;/127.0.0.1:%%STUB_PORT%%;/;
$conf =~ s/worker_processes\s+auto;/worker_processes  1;/;
# lines at once, not every 5 s
$conf =~ s/\s+buffer=64k\s+flush=5s;/;/;

mkdir "$d/$_" for qw(logs tmp);
$t->write_file_expand('nginx.conf', $conf);
$t->{conf_body} = $conf;
$t->run_stub();
$t->run();

my $gw = $t->port(0);
my $ACME = 'lgk_demo_acme_0123456789abcdef0123456789abcdef';
my $TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

my $r1 = http_get('/v2/shipments/42', port => $gw, 'X-API-Key' => $ACME,
                  traceparent => "00-$TRACE-00f067aa0ba902b7-01");
my $r2 = http_req('POST', '/v2/shipments', port => $gw,
                  headers => [ 'X-API-Key' => $ACME,
                               'Content-Type' => 'application/json',
                               'Idempotency-Key' => '"audit-1"' ],
                  body => '{"reference": 5}');
my $r3 = http_get('/v2/shipments/42', port => $gw);
is("$r1->{status} $r2->{status} $r3->{status}", '200 422 401',
   'a 200, a 422 and a 401');

sub lines {
    my ($file) = @_;
    my @l;
    for (1 .. 50) {
        @l = grep { length } split /\n/, $t->read_file($file);
        last if @l >= 3 || ($file =~ /denied/ && @l >= 2);
        sleep 0.1;
    }
    return map { json_decode($_) } @l;
}

my @all = lines('logs/access.json');
is(scalar @all, 3, 'three lines of valid JSON in access.json');
my %by = map { ($_->{request_id} => $_) } @all;

my $a = $by{ hdr($r1, 'x-request-id') } // {};
is($a->{trace}{trace_id}, $TRACE, '200: the partner\'s trace id');
like($a->{trace}{span_id} // '', qr/^[0-9a-f]{16}$/, '200: the span id');
is($a->{trace}{traceparent}, "00-$TRACE-$a->{trace}{span_id}-01",
   '200: the traceparent Odoo got');
is($a->{gateway}{partner}, 'acme-carrier', '200: partner');
is($a->{gateway}{key_id}, '2026-11', '200: key id');
is($a->{gateway}{route}, 'shipments.get', '200: route');
is($a->{gateway}{api_version}, 'v2', '200: version');
is($a->{gateway}{decision}, 'allow', '200: decision');
like($a->{gateway}{ratelimit_remaining}, qr/^\d+$/,
     "200: rate-limit remaining ($a->{gateway}{ratelimit_remaining})");
is($a->{upstream}{status}, '200', '200: Odoo\'s status');

my $b = $by{ hdr($r2, 'x-request-id') } // {};
is($b->{gateway}{decision}, 'invalid-body', '422: decision');
like($b->{gateway}{schema_errors}, qr/^[1-9]\d*$/,
     "422: schema errors ($b->{gateway}{schema_errors})");
is($b->{gateway}{idempotency}, '', '422: the key was never claimed');
like($b->{trace}{trace_id} // '', qr/^[0-9a-f]{32}$/, '422: a trace id');

my $c = $by{ hdr($r3, 'x-request-id') } // {};
is($c->{gateway}{decision}, 'missing-credentials', '401: decision');
is($c->{gateway}{partner}, '', '401: no partner');

my @denied = lines('logs/denied.json');
is(join(' ', sort map { $_->{response}{status} } @denied), '401 422',
   'denied.json: the two refusals only');

$t->done_testing();
