#!/usr/bin/perl

# The harness pieces the gateway's metrics tests use, proven on static
# files served by a tiny local server (Lg::Static):
#   - Lg::Prometheus: a real prometheus server scrapes the text format
#     and OpenMetrics renderings of a policy (metrics-sample) and its
#     HTTP API sees the same values as the files;
#   - Lg::Browser: headless Chromium loads the status page, which polls
#     a JSON view (three snapshots of metrics-sample's, growing), and the
#     DOM holds the numbers the page must compute; a screenshot is kept
#     in build/artifacts/.
# Also: the page compiled into the module (status/embed.sh) is the HTML
# file byte for byte, and it loads nothing from outside.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use List::Util qw(sum0);
use Lg::Test;
use Lg::Static;
use Lg::Prometheus;
use Lg::Browser;

my $repo = Lg::Test::repo();
my $cli = $ENV{LG_CLI} // "$repo/build/logistics-policy";
my $unit = $ENV{LG_UNIT_DIR} // "$repo/build/unit";
my $html_file = "$repo/ngx_logistics_module/status/status.html";
my $policy = "$repo/t/policies/gateway.json";

plan skip_all => "CLI not built: $cli (run make)" unless -x $cli;

my $dir = tempdir('lg-harness-XXXXXX', TMPDIR => 1,
                  CLEANUP => $ENV{LG_KEEP} ? 0 : 1);

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or return '';
    local $/;
    my $d = <$fh> // '';
    close $fh;
    return $d;
}

sub spew {
    my ($f, $d) = @_;
    open my $fh, '>:raw', $f or die "$f: $!\n";
    print $fh $d;
    close $fh;
    return $f;
}

sub cli {
    my $out = `'$cli' @_`;
    die "logistics-policy @_ failed\n" if $?;
    return $out;
}

###############################################################################
# the page as the module holds it

my $html = slurp($html_file);

SKIP: {
    skip "$unit/page_dump not built (make unit)", 1 unless -x "$unit/page_dump";
    my $embedded = `'$unit/page_dump'`;
    ok($embedded eq $html,
       'the C string in the module is status.html byte for byte');
}

my @refs = $html =~ m{((?:src|href)\s*=|url\(|\@import|https?://[^"\s]*)}gi;
is_deeply([grep { $_ ne 'http://www.w3.org/2000/svg' } @refs], [],
          'the page loads nothing from outside (no src, href, url(), '
          . '@import; the SVG namespace aside)');
unlike($html, qr/<link\b|<iframe\b|<img\b|font-face/i,
       'no link, iframe, img or web font');

###############################################################################
# the files

my $prom = cli('metrics-sample', $policy);
my $om = cli('metrics-sample', $policy, '--format', 'openmetrics');

# the page's policy: three partners, two token issuers (key-set ages)
spew("$dir/secret", 'x' x 48);
my $page_policy = spew("$dir/page-policy.json", <<'EOF');
{"scopes": {"s": "all"},
 "issuers": {
   "corp": {"iss": "https://idp.example", "audiences": ["gw"],
            "algorithms": ["HS256"], "shared_secret_file": "secret"},
   "legacy": {"iss": "https://legacy.example", "audiences": ["gw"],
              "algorithms": ["HS256"], "shared_secret_file": "secret"}},
 "partners": {
   "acme": {"scopes": ["s"], "jwt": {"issuer": "corp", "client_id": "acme"}},
   "beta": {"scopes": ["s"], "jwt": {"issuer": "corp", "client_id": "beta"}},
   "gamma": {"scopes": ["s"], "jwt": {"issuer": "legacy",
                                      "client_id": "gamma"}}},
 "apis": {"shipments": {
   "versions": {"v1": {"upstream_prefix": "/1"},
                "v2": {"upstream_prefix": "/2"}},
   "routes": [
     {"id": "shipments.create", "method": "POST", "path": "/shipments",
      "scopes": ["s"], "auth": ["bearer"]},
     {"id": "shipments.get", "method": "GET", "path": "/shipments/{id}",
      "scopes": ["s"], "auth": ["bearer"], "versions": ["v2"]}]}}}
EOF
my $json0 = cli('metrics-sample', $page_policy, '--format', 'json');

spew("$dir/metrics.txt", $prom);
spew("$dir/metrics.om", $om);

# three snapshots of the JSON view: acme gets 100, then 200 more allowed
# requests, those 200 in the 25-50 ms bucket

my @snap;
for my $k (0 .. 2) {
    my $j = json_decode($json0);
    my ($acme) = grep { $_->{id} eq 'acme' } @{ $j->{partners} };
    $acme->{requests} += (0, 100, 300)[$k];
    $acme->{decisions}{allow} += (0, 100, 300)[$k];
    $acme->{duration}{counts}[3] += 200 if $k == 2;
    $j->{time} += 2 * $k;
    push @snap, $j;
    spew("$dir/status-$k.json", json_encode($j));
}

my $srv = Lg::Static->new(routes => {
    '/metrics-text' => { type => 'text/plain; version=0.0.4; charset=utf-8',
                         file => "$dir/metrics.txt" },
    '/metrics-om'   => { type => 'application/openmetrics-text; '
                                 . 'version=1.0.0; charset=utf-8',
                         file => "$dir/metrics.om" },
    '/status'       => [
        { accept => qr{application/json}, type => 'application/json',
          files => [ map { "$dir/status-$_.json" } 0 .. 2 ] },
        { type => 'text/html; charset=utf-8', file => $html_file },
    ],
});

my $r = http_get('/metrics-om', port => $srv->port);
is($r->{status}, 200, 'the static server answers');
like(hdr($r, 'content-type'), qr{^application/openmetrics-text},
     'with the content type of the path');
is(http_get('/nothing', port => $srv->port)->{status}, 404,
   'and 404 elsewhere');

###############################################################################
# Prometheus

# "name{labels}" => value
my %want;
for my $l (split /\n/, $prom) {
    next if $l =~ /^#/;
    my ($k, $v) = $l =~ /^(\S+) (\S+)$/ or next;
    $want{$k} = $v;
}

SKIP: {
    skip 'prometheus not installed (Debian package prometheus)', 13
        unless Lg::Prometheus->available;

    my $p = Lg::Prometheus->new(targets => [
        { job => 'text', target => '127.0.0.1:' . $srv->port,
          path => '/metrics-text' },
        { job => 'om', target => '127.0.0.1:' . $srv->port,
          path => '/metrics-om' },
    ]);

    for my $job (qw(text om)) {
        my $t = $p->wait_up($job);
        is($t && $t->{health}, 'up', "$job: scraped") or diag explain $t;
    }

    my @scrapes = grep { $_->{path} =~ /^\/metrics-(text|om)$/
                         && $_->{accept} =~ /\S/ } @{ $srv->requests };
    ok(@scrapes >= 2, 'the server saw the scrapes');
    like($scrapes[0]{accept} // '', qr{^application/openmetrics-text},
         'Prometheus asks for OpenMetrics first');
    note("Prometheus' Accept: " . ($scrapes[0]{accept} // ''));

    my $key = 'logistics_requests_total{route="shipments.create",'
              . 'version="v2",decision="rate-limited"}';
    for my $job (qw(text om)) {
        (my $q = $key) =~ s/\{/{job="$job",/;
        is($p->value($q), $want{$key}, "$job: a counter as in the file");
    }

    my $n = grep { /^logistics_/ } keys %want;
    for my $job (qw(text om)) {
        is($p->value("count({job=\"$job\",__name__=~\"logistics_.+\"})"), $n,
           "$job: every sample of the file is a series ($n)");
    }

    $key = 'logistics_request_duration_seconds_bucket{route="-",version="-",'
           . 'le="+Inf"}';
    (my $q = $key) =~ s/\{/{job="om",/;
    is($p->value($q), $want{$key}, 'om: a histogram bucket, le as written');

    like($p->value('logistics_policy_info{job="om"}'), qr/^1$/,
         'om: the info series');
    ok(defined $p->value('logistics_jwks_key_set_age_seconds{job="text",'
                         . 'issuer="-"}'),
       'a NaN gauge is stored too');

    # the counter grows in the file: the next scrapes see it

    my $k2 = 'logistics_policy_reloads_total';
    (my $grown = $prom) =~ s/^\Q$k2\E \d+$/$k2 1234567/m;
    spew("$dir/metrics.txt", $grown);
    my $v = $p->wait_for("${k2}{job=\"text\"}",
                         sub { defined $_[0] && $_[0] == 1234567 });
    is($v, 1234567, 'a later scrape sees the new value');

    is($p->value('up{job="om"}'), 1, 'up{job="om"} is 1');

    $p->stop();
}

###############################################################################
# the status page in Chromium

# what the page must compute, computed here again
sub p95 {
    my ($counts, $bounds) = @_;
    my $total = sum0(@$counts);
    return undef if $total == 0;
    my $target = 0.95 * $total;
    my $cum = 0;
    for my $i (0 .. $#$counts) {
        if ($cum + $counts->[$i] >= $target && $counts->[$i] > 0) {
            return 'inf' if $i > $#$bounds;
            my $lo = $i == 0 ? 0 : $bounds->[$i - 1];
            return $lo + ($bounds->[$i] - $lo) * ($target - $cum)
                         / $counts->[$i];
        }
        $cum += $counts->[$i];
    }
    return undef;
}

sub seconds {
    my ($s) = @_;
    return '-' unless defined $s;
    return int($s * 1000 + 0.5) . ' ms' if $s < 1;
    return (int($s * 10 + 0.5) / 10) . ' s' if $s < 120;
    return int($s / 60 + 0.5) . ' min' if $s < 7200;
    return int($s / 3600 + 0.5) . ' h';
}

sub p95text {
    my ($counts, $bounds) = @_;
    my $v = p95($counts, $bounds);
    return '> ' . seconds($bounds->[-1]) if defined $v && $v eq 'inf';
    return seconds($v);
}

sub cell {
    my ($row, $k) = @_;
    my ($v) = $row =~ m{<td data-k="$k">([^<]*)</td>} or return undef;
    $v =~ s/&gt;/>/g;
    return $v;
}

SKIP: {
    skip 'chromium not installed (Debian package chromium)', 14
        unless Lg::Browser->available;

    my $browser = Lg::Browser->new();
    my $url = $srv->url('/status');
    my $dom = $browser->dump_dom($url, budget => 6000);

    my ($polls) = $dom =~ /<body[^>]* data-polls="(\d+)"/;
    ok(defined $polls && $polls >= 3, 'the page polled the JSON view '
       . 'at least 3 times (' . ($polls // 'none') . ')');

    my @json_reqs = grep { $_->{path} eq '/status'
                           && $_->{accept} =~ m{application/json} }
        @{ $srv->requests };
    ok(@json_reqs >= 3, 'its polls asked for application/json');

    my $last = $snap[-1];
    my %st = %{ $last->{decisions} };
    my ($ok_rows, $rows) = (0, 0);
    my @why;

    for my $p (@{ $last->{partners} }) {
        next if $p->{requests} == 0 && $p->{id} ne '-';
        $rows++;
        my ($row) = $dom =~ m{<tr data-partner="\Q$p->{id}\E">(.*?)</tr>}s
            or do { push @why, "$p->{id}: no row"; next };

        my $refused = sum0(map { $p->{decisions}{$_} }
                           grep { ($st{$_} // 0) >= 400 }
                           keys %{ $p->{decisions} });
        my %exp = (
            requests     => $p->{requests},
            refused      => $refused,
            rate_limited => $p->{decisions}{'rate-limited'} // 0,
        );

        # p95 of the last minute when it moved, else of all time
        my ($q) = grep { $_->{id} eq $p->{id} } @{ $snap[0]{partners} };
        my @d = map { $p->{duration}{counts}[$_] - $q->{duration}{counts}[$_] }
            0 .. $#{ $p->{duration}{counts} };
        @d = @{ $p->{duration}{counts} } unless sum0(@d);
        $exp{p95} = p95text(\@d, $last->{buckets});

        my $good = 1;
        for my $k (sort keys %exp) {
            my $got = cell($row, $k);
            next if defined $got && $got eq $exp{$k};
            push @why, "$p->{id} $k: got " . ($got // 'none')
                . ", want $exp{$k}";
            $good = 0;
        }

        # the 5 most frequent reasons, the others counted in "+N more"
        my @reasons = sort { $p->{decisions}{$b} <=> $p->{decisions}{$a} }
            grep { ($st{$_} // 0) >= 400 && $p->{decisions}{$_} }
            keys %{ $p->{decisions} };
        my @shown = $row =~ /class="badge[^"]*" data-reason="([^"]+)"/g;
        my ($more) = $row =~ /data-more="(\d+)"/;
        my @top = @reasons[0 .. ($#reasons < 4 ? $#reasons : 4)];
        if ("@shown" ne "@top"
            || ($more // 0) != (@reasons > 5 ? @reasons - 5 : 0))
        {
            push @why, "$p->{id}: badges @shown +" . ($more // 0)
                . ", want @top +" . (@reasons > 5 ? @reasons - 5 : 0);
            $good = 0;
        }

        $good = 0 unless $row =~ /<svg class="trend"[^>]* data-points="\d+"/;
        $ok_rows += $good;
    }

    is($rows, 4, 'partner rows: -, acme, beta, gamma');
    is($ok_rows, $rows, 'every partner row shows its requests, refusals, '
       . '429s, p95, reasons and a trend') or diag join "\n", @why;

    # acme: 300 more requests over 2 or 3 polls, 2 s apart (virtual time)
    my ($acme) = $dom =~ m{<tr data-partner="acme">(.*?)</tr>}s;
    my $rate = cell($acme // '', 'rate');
    ok(defined $rate && $rate =~ /^[\d.]+$/ && $rate >= 40 && $rate <= 80,
       'acme: 50 to 75 requests/s over the last polls ('
       . ($rate // 'none') . ')');
    is(cell($acme // '', 'p95'), '49 ms',
       'acme: p95 of the last minute, from the new observations only');
    my ($pts) = ($acme // '') =~ /data-points="(\d+)"/;
    ok(defined $pts && $pts >= 2, 'acme: a trend of several points');
    my ($line) = ($acme // '') =~ /<polyline points="([^"]+)"/;
    my @ys = map { (split /,/)[1] } split / /, $line // '';
    ok(@ys >= 2 && (grep { $_ != $ys[0] } @ys),
       'acme: the trend line moves');

    my $redis = $last->{redis};
    my $state = !$redis->{configured} ? 'not used'
        : ($redis->{connections}{down} == 0
           && $redis->{connections}{connecting} == 0) ? 'connected'
        : $redis->{connections}{connected} == 0
          ? ($redis->{connections}{down} > 0 ? 'down' : 'connecting')
        : 'partial';
    like($dom, qr{<b id="redis-state"[^>]*>\Q$state\E</b>},
         "Redis state: $state");

    my $ages = 0;
    for my $i (@{ $last->{jwks} }) {
        my ($row) = $dom =~ m{<tr data-issuer="\Q$i->{issuer}\E">(.*?)</tr>}s;
        my $want = defined $i->{key_set_age} ? seconds($i->{key_set_age})
                                             : 'none yet';
        $ages++ if defined $row && (cell($row, 'age') // '') eq $want;
    }
    is(scalar @{ $last->{jwks} }, 2, 'the policy\'s two issuers');
    my $legacy = '<tr data-issuer="legacy"><td data-k="issuer">legacy</td>'
                 . '<td data-k="age">2 min</td>';
    like($dom, qr/\Q$legacy\E/, 'a key set 123 s old: 2 min');
    is($ages, scalar @{ $last->{jwks} }, 'key-set age of every issuer');

    my $total = sum0(map { $_->{requests} } @{ $last->{partners} });
    like($dom, qr{<b id="total">$total</b>}, 'total requests');
    unlike($dom, qr{<div id="error" style="display: block}, 'no error shown');

    # the screenshot, kept for people (and the README)
    my $art = "$repo/build/artifacts";
    make_path($art);
    my $png = $browser->screenshot($url, "$art/status-page-static.png",
                             size => '1280,900');
    my $head = substr(slurp($png), 0, 24);
    my ($w, $h) = unpack('NN', substr($head, 16, 8));
    is(substr($head, 0, 8), "\x89PNG\r\n\x1a\n", 'a PNG screenshot');
    is("$w x $h", '1280 x 900', "of the window size ($png)");
}

$srv->stop();

done_testing();
