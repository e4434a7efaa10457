#!/usr/bin/perl

# The metrics of a running gateway, on the demo's own configuration
# (lua-free-config/gateway.conf with the sample policies, 2 workers):
#   - the endpoint: Prometheus text 0.0.4, OpenMetrics 1.0 by Accept, the
#     status page and its JSON view; promtool check metrics passes; not
#     reachable on the partners' port;
#   - a real prometheus scrapes it, and its HTTP API sees a 200, a 401, a
#     422 and a 429 counted under the right labels;
#   - both workers' requests are all counted;
#   - 10,000 requests with random unknown keys and paths add no series;
#   - reloads (same policy, changed policy) keep the counters;
#   - headless Chromium shows the numbers on the status page, and a
#     screenshot is kept in build/artifacts/.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use IO::Socket::INET;
use List::Util qw(sum0);
use Lg::Test;
use Lg::Prometheus;
use Lg::Browser;

my $repo = Lg::Test::repo();

my $t = Lg::Test->new(ports => 3);
my $d = $t->testdir();

# the demo's policies, copied: the reload test changes one
system('cp', '-r', "$repo/policies", "$d/policies") == 0
    or die "cp policies: $!\n";

# the demo configuration, with the test's directories and ports (and the
# worker's pid in a response header, to see both workers serve)
my $conf = $t->read_file("$repo/lua-free-config/gateway.conf");
$conf =~ s/\@MODULE\@/%%MODULE%%/g;
$conf =~ s/\@REPO\@\/policies/%%TESTDIR%%\/policies/g;
$conf =~ s/\@RUNDIR\@\/logs\/error\.log/%%TESTDIR%%\/error.log/g;
$conf =~ s/\@RUNDIR\@\/nginx\.pid/%%TESTDIR%%\/nginx.pid/g;
$conf =~ s/\@RUNDIR\@\/tmp/%%TESTDIR%%\/tmp/g;
$conf =~ s/\@RUNDIR\@\/logs/%%TESTDIR%%/g;
$conf =~ s/\@REPO\@/%%REPO%%/g;
$conf =~ s/127\.0\.0\.1:8080;/127.0.0.1:%%PORT_0%%;/;
$conf =~ s/127\.0\.0\.1:8069;/127.0.0.1:%%STUB_PORT%%;/;
$conf =~ s/127\.0\.0\.1:9145;/127.0.0.1:%%PORT_1%%;/;
$conf =~ s/worker_processes\s+1;/worker_processes  2;/;
$conf =~ s/error_log\s+(\S+)\s+notice;/error_log  $1  info;/;
$conf =~ s/(\n\s+logistics_gateway  on;\n)/$1            add_header  X-Worker  \$pid  always;\n/;

# a second view without the series that are 0, to see new ones appear
$conf =~ s/(        location \/metrics \{)/        location \/nonzero {\n            logistics_metrics  zeros=off;\n        }\n\n$1/;

like($conf, qr/logistics_metrics_zone/, 'the demo config has a metrics zone');
like($conf, qr/add_header  X-Worker/, 'the worker pid header is in');

mkdir "$d/tmp";
$t->write_file_expand("nginx.conf", $conf);
$t->{conf_body} = $conf;

$t->run_stub();
$t->run();

my $gw = $t->port(0);
my $mp = $t->port(1);

my $ACME = 'lgk_demo_acme_0123456789abcdef0123456789abcdef';
my $NORDIC = 'lgk_demo_nordic_0123456789abcdef0123456789abcd';

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or return '';
    local $/;
    my $s = <$fh> // '';
    close $fh;
    return $s;
}

sub metrics {
    my ($path, %h) = @_;
    return http_get($path // '/metrics', port => $mp, %h);
}

# "name{labels}" => value of a text exposition
sub samples {
    my ($text) = @_;
    my %s;
    for (split /\n/, $text) {
        next if /^#/;
        $s{$1} = $2 if /^(\S+) (\S+)$/;
    }
    return \%s;
}

sub value {
    my ($key) = @_;
    return samples(metrics()->{body})->{$key} // 0;
}

sub shipment_body {
    return slurp("$repo/demo/shipment-v2.json");
}

###############################################################################
# the endpoint

my $r = metrics('/metrics');
is($r->{status}, 200, 'GET /metrics');
like(hdr($r, 'content-type'), qr{^text/plain; version=0\.0\.4},
     'the text format 0.0.4 without an Accept');
is(hdr($r, 'vary'), 'Accept', 'Vary: Accept');
is(hdr($r, 'cache-control'), 'no-store', 'Cache-Control: no-store');

$r = metrics('/metrics', Accept => 'application/openmetrics-text;'
             . 'version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1');
like(hdr($r, 'content-type'), qr{^application/openmetrics-text; version=1\.0\.0},
     'OpenMetrics when Accept prefers it');
like($r->{body}, qr/\n# EOF\n\z/, 'the OpenMetrics exposition ends in # EOF');

$r = metrics('/metrics/status', Accept => 'text/html');
like(hdr($r, 'content-type'), qr{^text/html}, 'the status page');
like(hdr($r, 'content-security-policy') // '', qr/default-src 'none'/,
     'with a strict Content-Security-Policy');
like($r->{body}, qr/<title>Logistics gateway status<\/title>/, 'its HTML');

$r = metrics('/metrics/status', Accept => 'application/json');
like(hdr($r, 'content-type'), qr{^application/json}, 'the JSON view');
my $j = eval { json_decode($r->{body}) };
ok($j && ref $j->{partners} eq 'ARRAY', 'JSON with partners');

is(metrics('/metrics', 'X-HTTP-Method-Override' => 'x')->{status}, 200,
   'GET only, headers do not matter');
is(http_req('POST', '/metrics', port => $mp, body => 'x')->{status}, 405,
   'POST: 405');

$r = http_get('/metrics', port => $gw, 'X-API-Key' => $ACME);
like(hdr($r, 'content-type') // '', qr{^application/problem\+json},
     "partners' port: /metrics is the gateway's problem ($r->{status})");
unlike($r->{body}, qr/logistics_requests_total/, 'and no metrics there');
$r = http_get('/metrics/status', port => $gw, Accept => 'text/html');
unlike($r->{body}, qr/<html/, 'nor the status page');

###############################################################################
# traffic: a 200, a 401, a 422, 429s

$r = http_get('/v2/shipments/42', port => $gw, 'X-API-Key' => $ACME);
is($r->{status}, 200, 'acme: 200');
$r = http_get('/v2/shipments/42', port => $gw);
is($r->{status}, 401, 'no key: 401');
$r = http_req('POST', '/v2/shipments', port => $gw,
              headers => [ 'X-API-Key' => $ACME,
                           'Content-Type' => 'application/json' ],
              body => '{"reference": 5}');
is($r->{status}, 422, 'acme, a body against the schema: 422');
$r = http_req('POST', '/v2/shipments', port => $gw,
              headers => [ 'X-API-Key' => $ACME,
                           'Content-Type' => 'application/json' ],
              body => shipment_body());
is($r->{status}, 201, 'acme, a good shipment: 201');

my %st;
for (1 .. 20) {
    $r = http_get('/v2/shipments/42/tracking', port => $gw,
                  'X-API-Key' => $NORDIC);
    $st{$r->{status}}++;
}
ok(($st{429} // 0) >= 5 && ($st{200} // 0) >= 10,
   "nordic-3pl over its limit: 200s then 429s ("
   . join(', ', map { "$_ x $st{$_}" } sort keys %st) . ')');

my $text = metrics()->{body};
my $s = samples($text);

my %want = (
    'logistics_requests_total{route="shipments.get",version="v2",'
    . 'decision="allow"}' => 1,
    'logistics_requests_total{route="shipments.get",version="v2",'
    . 'decision="missing-credentials"}' => 1,
    'logistics_requests_total{route="shipments.create",version="v2",'
    . 'decision="invalid-body"}' => 1,
    'logistics_requests_total{route="shipments.tracking.list",version="v2",'
    . 'decision="rate-limited"}' => $st{429},
    'logistics_partner_requests_total{partner="acme-carrier",'
    . 'decision="allow"}' => 2,
    'logistics_partner_requests_total{partner="-",'
    . 'decision="missing-credentials"}' => 1,
    'logistics_partner_requests_total{partner="nordic-3pl",'
    . 'decision="rate-limited"}' => $st{429},
    'logistics_upstream_responses_total{partner="acme-carrier",'
    . 'route="shipments.create",version="v2",status_class="2xx"}' => 1,
    'logistics_rate_limit_decisions_total{partner="nordic-3pl",'
    . 'limit="partner",backend="zone",outcome="limited"}' => $st{429},
    'logistics_schema_validation_failures_total{'
    . 'route="shipments.create",version="v2"}' => 1,
    'logistics_authentications_total{method="none",result="failure"}' => 1,
    'logistics_idempotency_requests_total{partner="acme-carrier",'
    . 'outcome="new"}' => 0,
);

for my $k (sort keys %want) {
    is($s->{$k}, $want{$k}, "scraped: $k");
}

is($s->{'logistics_schema_validation_duration_seconds_count{'
       . 'route="shipments.create",version="v2"}'}, 2,
   'both validated bodies timed');
ok(($s->{'logistics_request_duration_seconds_count{route="shipments.get",'
         . 'version="v2"}'} // 0) == 2, 'request durations observed');
ok(($s->{'logistics_upstream_duration_seconds_count{route="shipments.get",'
         . 'version="v2"}'} // 0) == 1, 'Odoo durations of forwarded ones');
is($s->{'logistics_jwks_key_set_age_seconds{issuer="-"}'}, 'NaN',
   'no issuer: NaN');
ok(($s->{'logistics_zone_bytes{state="used"}'} // 0) > 0
   && ($s->{'logistics_zone_bytes{state="free"}'} // 0) > 0,
   'the zone\'s bytes used and free');
my ($digest) = $text =~ /^logistics_policy_info\{digest="([0-9a-f]{64})"\} 1$/m;
ok(defined $digest, 'logistics_policy_info with the policy digest');
is($s->{logistics_policy_reloads_total}, 0, 'no reload yet');

SKIP: {
    skip 'promtool not installed (Debian package prometheus)', 2
        unless Lg::Prometheus->available;
    my ($rc, $out) = Lg::Prometheus->check_metrics($text);
    is($rc, 0, 'promtool check metrics: the text format passes')
        or diag $out;
    ($rc, $out) = Lg::Prometheus->check_metrics(
        metrics('/nonzero')->{body});
    is($rc, 0, 'promtool check metrics: zeros=off too') or diag $out;
}

###############################################################################
# a real prometheus

SKIP: {
    skip 'prometheus not installed (Debian package prometheus)', 7
        unless Lg::Prometheus->available;

    my $p = Lg::Prometheus->new(targets => [
        { job => 'gw', target => "127.0.0.1:$mp", path => '/metrics' },
    ]);

    my $tg = $p->wait_up('gw');
    is($tg && $tg->{health}, 'up', 'prometheus scrapes the gateway')
        or diag explain $tg;

    my %q = (
        'logistics_requests_total{job="gw",route="shipments.get",'
        . 'version="v2",decision="allow"}' => 1,
        'logistics_requests_total{job="gw",route="shipments.get",'
        . 'version="v2",decision="missing-credentials"}' => 1,
        'logistics_requests_total{job="gw",route="shipments.create",'
        . 'version="v2",decision="invalid-body"}' => 1,
        'logistics_partner_requests_total{job="gw",partner="nordic-3pl",'
        . 'decision="rate-limited"}' => $st{429},
        'sum(logistics_partner_requests_total{job="gw",'
        . 'decision=~"allow|missing-credentials|invalid-body|rate-limited"})'
        => 4 + 20,
    );

    for my $e (sort keys %q) {
        my $v = $p->wait_for($e, sub { defined $_[0] && $_[0] == $q{$e} });
        is($v, $q{$e}, "prometheus: $e");
    }

    like($p->value('logistics_policy_info{job="gw"}') // '', qr/^1$/,
         'prometheus: the policy info series');

    $p->stop();
}

###############################################################################
# two workers: every request counted once

# acme's requests, whatever the decision (its limit allows 600/m + 50)
sub acme_requests {
    my $v = samples(metrics()->{body});
    return sum0(map { $v->{$_} }
                grep { /^logistics_partner_requests_total\{partner="acme-carrier",/ }
                keys %$v);
}

my $before = acme_requests();
my %pids;
my $n = 0;
my @socks;

# many connections at once, so both workers take some
for my $round (1 .. 10) {
    @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw,
                              Proto => 'tcp') or die "connect: $!\n"
    } 1 .. 10;

    for my $sk (@socks) {
        print $sk "GET /v2/shipments/$round HTTP/1.1\r\nHost: x\r\n"
            . "X-API-Key: $ACME\r\nConnection: close\r\n\r\n";
    }

    for my $sk (@socks) {
        local $/;
        my $resp = <$sk> // '';
        $n++ if $resp =~ m{^HTTP/1\.1 (?:200|429) };
        $pids{$1}++ if $resp =~ /^X-Worker: (\d+)\r$/mi;
        close $sk;
    }
}

is($n, 100, '100 requests answered (200, or 429 past the limit)');
ok(keys %pids >= 2, 'by both workers (' . join(', ', map { "$_: $pids{$_}" }
                                          sort keys %pids) . ')');
is(acme_requests() - $before, 100, 'all 100 counted, once each');

###############################################################################
# 10,000 requests with random unknown keys and paths: no new series

# the kinds of answer they get, once each first: their series exist
http_get('/v2/shipments/1', port => $gw, 'X-API-Key' => 'lgk_unknown');
http_get('/v2/nowhere/1', port => $gw, 'X-API-Key' => $ACME);
http_get('/v9/shipments/1', port => $gw, 'X-API-Key' => $ACME);
http_get('/nowhere', port => $gw, 'X-API-Key' => 'x');

sub series {
    my %set = map { /^(\S+) / ? ($1 => 1) : () }
              grep { !/^#/ } split /\n/, metrics('/nonzero')->{body};
    return \%set;
}

my $s0 = series();
my $v0 = samples(metrics()->{body});

srand(14);
my @alnum = ('a' .. 'z', 'A' .. 'Z', 0 .. 9, '-', '_');
sub junk { join '', map { $alnum[int rand @alnum] } 1 .. $_[0] }

my @junk;
my $sent = 0;
my $answered = 0;

for my $c (1 .. 20) {
    my $req = '';
    for my $i (1 .. 500) {
        my $key = 'lgk_' . junk(20 + int rand 40);
        my $path = ('/v2/shipments/' . junk(8),
                    '/v2/' . junk(10) . '/' . junk(5),
                    '/v' . int(rand 100) . '/' . junk(12),
                    '/' . junk(16))[int rand 4];
        push @junk, $key, $path if @junk < 40;
        $req .= "GET $path HTTP/1.1\r\nHost: x\r\nX-API-Key: $key\r\n"
              . ($i == 500 ? "Connection: close\r\n" : '') . "\r\n";
        $sent++;
    }

    my $sk = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw,
                                   Proto => 'tcp') or die "connect: $!\n";
    print $sk $req;
    local $/;
    my $resp = <$sk> // '';
    close $sk;
    $answered += () = $resp =~ m{^HTTP/1\.1 (?:401|404|400) }mg;
}

is($sent, 10000, '10,000 junk requests sent');
is($answered, 10000, 'all answered 401, 404 or 400');

my $s1 = series();
is_deeply([sort grep { !$s0->{$_} } keys %$s1], [],
          'no series appeared (zeros=off view)');
is(scalar keys %$s1, scalar keys %$s0, 'as many series as before');

my $all = metrics()->{body};
my $leak = grep { index($all, $_) >= 0 } @junk;
is($leak, 0, 'no key or path of theirs is in the exposition');

my $v1 = samples($all);
my $grown = sum0(map { $v1->{$_} - ($v0->{$_} // 0) }
                 grep { /^logistics_requests_total\{route="-"/
                        || /^logistics_requests_total\{.*decision="unknown-key"/ }
                 keys %$v1);
is($grown, 10000, 'and all 10,000 counted, under "-" or unknown-key');

###############################################################################
# reloads keep the counters

my $key = 'logistics_partner_requests_total{partner="acme-carrier",'
          . 'decision="allow"}';
my $c0 = value($key);
ok($c0 >= 2, "acme's allowed requests before the reloads: $c0");

ok($t->reload(), 'reload, same policy');
is(value($key), $c0, 'the count survived the reload');
is(value('logistics_policy_reloads_total'), 1, 'one reload counted');

http_get('/v2/shipments/7', port => $gw, 'X-API-Key' => $ACME);
is(value($key), $c0 + 1, 'and it goes on counting');

# a changed policy: a new partner and its series, the old counts remapped

my $pfile = "$d/policies/partners/nordic-3pl.json";
my $pj = json_decode(slurp($pfile));
$pj->{partners}{'baltic-freight'} = {
    name => 'Baltic Freight', scopes => ['tracking:read'],
    api_keys => [ { id => 'b1', sha256 => key_sha256('lgk_test_baltic') } ],
};
open my $fh, '>', $pfile or die "$pfile: $!\n";
print $fh json_encode($pj);
close $fh;

ok($t->reload(), 'reload, a partner added to the policy');

$r = http_get('/v2/shipments/8/tracking', port => $gw,
              'X-API-Key' => 'lgk_test_baltic');
is($r->{status}, 200, 'the new partner is served');

my $after = samples(metrics()->{body});
is($after->{$key}, $c0 + 1, 'acme\'s count carried into the new layout');
is($after->{'logistics_partner_requests_total{partner="baltic-freight",'
            . 'decision="allow"}'}, 1, 'the new partner has its series');
is($after->{logistics_policy_reloads_total}, 2, 'two reloads counted');
my ($d2) = metrics()->{body}
    =~ /^logistics_policy_info\{digest="([0-9a-f]{64})"\} 1$/m;
ok(defined $d2 && $d2 ne $digest, 'a new policy digest');

###############################################################################
# the status page in a real browser

SKIP: {
    skip 'chromium not installed (Debian package chromium)', 9
        unless Lg::Browser->available;

    my $json = json_decode(metrics('/metrics/status',
                                   Accept => 'application/json')->{body});
    my %status = %{ $json->{decisions} };

    my $browser = Lg::Browser->new();
    my $url = "http://127.0.0.1:$mp/metrics/status";
    my $dom = $browser->dump_dom($url, budget => 5000);

    my ($polls) = $dom =~ /<body[^>]* data-polls="(\d+)"/;
    ok(defined $polls && $polls >= 2, 'the page polled the JSON view ('
       . ($polls // 'never') . ')');
    unlike($dom, qr{<div id="error" style="display: block}, 'no error shown');

    sub cell {
        my ($row, $k) = @_;
        my ($v) = ($row // '') =~ m{<td data-k="$k">([^<]*)</td>};
        return $v;
    }

    for my $id ('acme-carrier', 'nordic-3pl') {
        my ($p) = grep { $_->{id} eq $id } @{ $json->{partners} };
        my ($row) = $dom =~ m{<tr data-partner="\Q$id\E">(.*?)</tr>}s;
        my $refused = sum0(map { $p->{decisions}{$_} }
                           grep { ($status{$_} // 0) >= 400 }
                           keys %{ $p->{decisions} });
        is(cell($row, 'requests'), $p->{requests},
           "$id: $p->{requests} requests shown");
        is(cell($row, 'refused'), $refused, "$id: $refused refused shown");
        is(cell($row, 'rate_limited'), $p->{decisions}{'rate-limited'} // 0,
           "$id: its 429s shown");
    }

    my $total = sum0(map { $_->{requests} } @{ $json->{partners} });
    like($dom, qr{<b id="total">$total</b>}, "total requests: $total");

    my $art = "$repo/build/artifacts";
    make_path($art);
    my $png = $browser->screenshot($url, "$art/status-page.png",
                                   size => '1280,900', budget => 5000);
    my $head = substr(slurp($png), 0, 24);
    is(substr($head, 0, 8), "\x89PNG\r\n\x1a\n",
       "a screenshot of the status page ($png)");
}

###############################################################################
# per_partner=off: every partner under "-", no partner ids in the labels

my $cur = $t->read_file('nginx.conf');
$cur =~ s/logistics_metrics_zone\s+metrics:4m;/logistics_metrics_zone  metrics:4m  per_partner=off;/
    or die "no metrics zone in nginx.conf\n";
$t->write_file('nginx.conf', $cur);

my $dash = 'logistics_partner_requests_total{partner="-",decision="allow"}';
my $dash0 = value($dash);
ok($t->reload(), 'reload with per_partner=off');

is(http_get('/v2/shipments/9', port => $gw, 'X-API-Key' => $ACME)->{status},
   200, 'acme is served');
my $text2 = metrics()->{body};
is(samples($text2)->{$dash}, $dash0 + 1, 'and counted under partner="-"');
my @ids = $text2 =~ /partner="([^"-][^"]*)"/g;
is(scalar @ids, 0, 'no partner id in any label');
like($text2, qr/^logistics_requests_total\{route="shipments.get",version="v2",decision="allow"\} \d+$/m,
     'routes keep their labels');

$t->done_testing();
