#!/usr/bin/perl

# The metrics writer without nginx: "logistics-policy metrics-sample"
# renders what a gateway with a policy would serve, every series filled.
# The text format must pass promtool check metrics (parser and lint);
# OpenMetrics must pass Prometheus' own OpenMetrics parser (promtool's
# backfill reads it) and the rules of the specification promtool does
# not check; both must hold the same samples.  Then the cost of a scrape
# for 1,000 partners x 20 routes.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use Lg::Test;
use Lg::Prometheus;

plan skip_all => 'promtool not installed (Debian package prometheus)'
    unless Lg::Prometheus->available;

my $repo = Lg::Test::repo();
my $cli = $ENV{LG_CLI} // "$repo/build/logistics-policy";
plan skip_all => "CLI not built: $cli (run make)" unless -x $cli;

my $dir = tempdir('lg-metrics-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $policy = "$repo/t/policies/gateway.json";

my ($npartners) = `'$cli' check '$policy'` =~ /(\d+) partners/;

sub run_cli {
    my (@args) = @_;
    my $out = "$dir/out";
    my $err = "$dir/err";
    my $rc = system("'$cli' " . join(' ', map { "'$_'" } @args)
                    . " > '$out' 2> '$err'") >> 8;
    return ($rc, slurp($out), slurp($err));
}

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
}

# "name{labels}" => value, for the sample lines of an exposition
sub samples {
    my ($text) = @_;
    my %s;
    for my $l (split /\n/, $text) {
        next if $l =~ /^#/ || $l eq '';
        my ($k, $v) = $l =~ /^(\S+(?:\{.*\})?) (\S+)$/ or return undef;
        $s{$k} = $v;
    }
    return \%s;
}

# The OpenMetrics 1.0 rules the parsers do not enforce: metadata order,
# names and suffixes per type, units as name suffixes, families not
# interleaved, histograms cumulative with +Inf equal to _count, canonical
# "le", # EOF last.  Returns the list of problems.
sub om_problems {
    my ($text) = @_;
    my (@bad, %seen, $fam, $type, %meta);
    my @lines = split /\n/, $text, -1;

    if (@lines >= 2 && $lines[-2] eq '# EOF' && $lines[-1] eq '') {
        splice @lines, -2;
    } else {
        push @bad, 'does not end with "# EOF\n"';
        pop @lines if @lines && $lines[-1] eq '';
    }

    my (%cum, %count);

    for my $l (@lines) {
        if ($l =~ /^# (TYPE|UNIT|HELP) (\S+) ?(.*)$/) {
            my ($what, $name, $arg) = ($1, $2, $3);
            if ($what eq 'TYPE') {
                push @bad, "family $name twice (interleaved)"
                    if $seen{$name}++;
                ($fam, $type) = ($name, $arg);
                %meta = (TYPE => 1);
                push @bad, "$name: counter family named _total"
                    if $type eq 'counter' && $name =~ /_total$/;
            } else {
                push @bad, "$what $name outside its family"
                    unless defined $fam && $name eq $fam;
                push @bad, "$name: $what after HELP" if $meta{HELP};
                $meta{$what} = 1;
                push @bad, "$name: unit $arg is not the name's suffix"
                    if $what eq 'UNIT' && $name !~ /_\Q$arg\E$/;
                push @bad, "$name: HELP with an unescaped double quote"
                    if $what eq 'HELP' && $arg =~ /(?<!\\)"/;
            }
            next;
        }

        push @bad, "comment line: $l" if $l =~ /^#/;
        my ($name, $labels, $value) = $l =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)
            (?:\{(.*)\})?\ (\S+)$/x
            or do { push @bad, "bad sample line: $l"; next };

        push @bad, "sample $name before any TYPE" unless defined $fam;
        next unless defined $fam;

        my %ok = (
            counter   => ["${fam}_total"],
            gauge     => [$fam],
            info      => ["${fam}_info"],
            histogram => ["${fam}_bucket", "${fam}_count", "${fam}_sum"],
        );
        push @bad, "$name is not a sample name of $type $fam"
            unless grep { $_ eq $name } @{ $ok{$type} // [] };

        push @bad, "$name: info value $value is not 1"
            if $type eq 'info' && $value ne '1';

        if ($type eq 'histogram') {
            (my $series = $labels // '') =~ s/,?le="[^"]*"//;
            if ($name =~ /_bucket$/) {
                my ($le) = ($labels // '') =~ /le="([^"]*)"/;
                push @bad, "$name: le \"$le\" not canonical"
                    unless $le eq '+Inf' || $le =~ /^\d+\.\d+$|^\d+e[+-]\d+$/;
                push @bad, "$name\{$labels}: buckets not cumulative"
                    if defined $cum{"$fam$series"}
                       && $value < $cum{"$fam$series"};
                $cum{"$fam$series"} = $value;
                $count{"$fam$series"} = $value if $le eq '+Inf';
            } elsif ($name =~ /_count$/) {
                push @bad, "$name\{$series}: _count $value != +Inf bucket"
                    unless defined $count{"$fam$series"}
                           && $count{"$fam$series"} == $value;
            }
        }
    }

    return @bad;
}

###############################################################################

my ($rc, $prom, $err) = run_cli('metrics-sample', $policy);
is($rc, 0, 'metrics-sample renders the text format') or diag $err;
like($prom, qr/^logistics_requests_total\{route="shipments\.create",
    version="v2",decision="rate-limited"\}[ ]\d+$/mx,
    'a request series of the test policy');

my ($prc, $pout) = Lg::Prometheus->check_metrics($prom);
is($prc, 0, 'promtool check metrics: text format parses and lints clean')
    or diag $pout;

# promtool must catch a broken exposition, or the check above is empty
($prc, $pout) = Lg::Prometheus->check_metrics(
    "# HELP x_y a counter\n# TYPE x_y counter\nx_y 1\n");
isnt($prc, 0, 'promtool check metrics flags a counter without _total');

my $om;
($rc, $om, $err) = run_cli('metrics-sample', $policy, '--format',
                           'openmetrics');
is($rc, 0, 'metrics-sample renders OpenMetrics') or diag $err;

my @bad = om_problems($om);
is(scalar @bad, 0, 'OpenMetrics: the rules of the specification hold')
    or diag join "\n", @bad[0 .. ($#bad > 20 ? 20 : $#bad)];

ok(scalar(om_problems("# TYPE a counter\na 1\n")) >= 2,
   'the OpenMetrics check flags a missing _total and # EOF');

# Prometheus' OpenMetrics parser, through promtool's backfill (it wants
# a timestamp on every sample)
(my $stamped = $om) =~ s/^([^#\n][^\n]*)$/$1 1700000000/mg;
spew("$dir/om.txt", $stamped);
my $promtool = Lg::Prometheus::promtool();
my $backfill = "'$promtool' tsdb create-blocks-from openmetrics";
my $out = `$backfill '$dir/om.txt' '$dir/tsdb' 2>&1`;
is($? >> 8, 0, 'OpenMetrics parsed by Prometheus\' parser (promtool)')
    or diag $out;
my ($nseries) = $out =~ /\s1ms\s+\d+\s+\d+\s+(\d+)/;     # NUM SERIES

(my $no_eof = $stamped) =~ s/^# EOF\n//m;
spew("$dir/om-bad.txt", $no_eof);
$out = `$backfill '$dir/om-bad.txt' '$dir/tsdb2' 2>&1`;
isnt($? >> 8, 0, 'that parser refuses OpenMetrics without # EOF');

my $ps = samples($prom);
my $os = samples($om);
ok($ps && $os, 'both expositions are sample lines and comments');
is_deeply([sort keys %$os], [sort keys %$ps],
          'both formats expose the same samples');
is(scalar(grep { $ps->{$_} ne $os->{$_} } keys %$ps), 0,
   'with the same values');
is($nseries, scalar(keys %$ps), 'Prometheus stored every sample')
    if defined $nseries;

# TYPE lines of the text format name the samples; OpenMetrics the family
like($prom, qr/^# TYPE logistics_requests_total counter$/m,
     'text format: TYPE of the _total series');
like($om, qr/^# TYPE logistics_requests counter$/m,
     'OpenMetrics: TYPE of the family');
like($om, qr/^# TYPE logistics_policy info$/m, 'OpenMetrics: info type');
my $digest = sha256_hex(slurp($policy));
like($prom, qr/^logistics_policy_info\{digest="\Q$digest\E"\} 1$/m,
     'policy_info carries the digest of the policy file');

# labels only from the policy and the enumerations

my %labels;
for my $k (keys %$ps) {
    my ($l) = $k =~ /\{(.*)\}/ or next;
    while ($l =~ /(\w+)="((?:[^"\\]|\\.)*)"/g) {
        $labels{$1}{$2} = 1;
    }
}
is(scalar(keys %{ $labels{partner} }), $npartners + 1,
   "partner label: the policy's $npartners partners and -");
ok($labels{partner}{'-'} && $labels{partner}{acme}
   && $labels{partner}{frozen}, 'partners of included files too');
ok($labels{route}{'-'} && $labels{route}{'shipments.create'},
   'route label: the routes and -');
is_deeply([sort keys %{ $labels{status_class} }],
          [qw(2xx 3xx 4xx 5xx other)], 'status classes');
ok($labels{decision}{'unknown-key'} && $labels{decision}{'allow'}
   && $labels{decision}{'-'}, 'decision words');

# per-partner labels off

my $nop;
($rc, $nop) = run_cli('metrics-sample', $policy, '--no-partner');
my $nops = samples($nop);
my %np;
for my $k (keys %$nops) {
    $np{$1} = 1 while $k =~ /partner="([^"]*)"/g;
}
is_deeply([keys %np], ['-'], 'per-partner off: every partner label is -');
ok(keys(%$nops) < keys(%$ps), 'and fewer series');
($prc, $pout) = Lg::Prometheus->check_metrics($nop);
is($prc, 0, 'per-partner off passes promtool') or diag $pout;

# zeros and skip-zero

my $zero;
($rc, $zero) = run_cli('metrics-sample', $policy, '--zero');
my $zs = samples($zero);
is(scalar(grep { /_total\{|_total$/ && $zs->{$_} ne '0' } keys %$zs), 0,
   '--zero: every counter at 0');
is(scalar(keys %$zs), scalar(keys %$ps),
   'a gateway that served nothing exposes every series already');

my $skip;
($rc, $skip) = run_cli('metrics-sample', $policy, '--zero', '--skip-zero');
my $ss = samples($skip);
is(scalar(grep { /_total/ } keys %$ss), 0,
   '--skip-zero: counters at 0 left out');
($prc, $pout) = Lg::Prometheus->check_metrics($skip);
is($prc, 0, 'skip-zero output passes promtool') or diag $pout;

# the JSON view

my $json;
($rc, $json) = run_cli('metrics-sample', $policy, '--format', 'json');
my $j = eval { json_decode($json) };
ok($j, 'JSON view parses') or diag $@;
is(scalar @{ $j->{partners} }, $npartners + 1, 'JSON: - and every partner');
my ($acme) = grep { $_->{id} eq 'acme' } @{ $j->{partners} };
my $want = 0;
$want += $ps->{$_}
    for grep { /^logistics_partner_requests_total\{partner="acme"/ } keys %$ps;
is($acme->{requests}, $want, 'JSON: acme\'s requests are the sum of its '
   . 'partner_requests series');

# the family table (for the README) against what is exposed

my $table;
($rc, $table) = run_cli('metrics-families');
is($rc, 0, 'metrics-families');
my %fam = map { $_ => 1 } $table =~ /^\| `(logistics_\w+)` \|/mg;
my %exposed;
for my $k (keys %$ps) {
    (my $n = $k) =~ s/\{.*//;
    $n =~ s/_(bucket|count|sum)$// unless $n =~ /_total$/;
    $exposed{$n} = 1;
}
is_deeply([sort keys %fam], [sort keys %exposed],
          'the Markdown table lists exactly the exposed families');
like($table, qr/^\| `rate-limited` \| 429 \|/m, 'and the decision words');

# 1,000 partners x 20 routes

my @p = map {
    sprintf('"carrier-%04d": {"scopes": ["s:rw"], "api_keys": [{"id": "k1", '
            . '"sha256": "%s"}], "rate_limit": {"rate": "600/m", "burst": 50}}',
            $_, sha256_hex("key-$_"))
} 1 .. 1000;
my @r = map {
    sprintf('{"id": "op.r%02d", "method": "POST", "path": "/things%02d/{id}",'
            . ' "scopes": ["s:rw"]}', $_, $_)
} 1 .. 20;
spew("$dir/big.json", '{"scopes": {"s:rw": "all"}, "partners": {'
     . join(",\n", @p) . '}, "apis": {"things": {"versions": {"v1": '
     . '{"upstream_prefix": "/api/v1"}}, "routes": [' . join(",\n", @r)
     . ']}}}');

my $big;
($rc, $big, $err) = run_cli('metrics-sample', "$dir/big.json");
is($rc, 0, '1,000 x 20 renders') or diag $err;
($prc, $pout) = Lg::Prometheus->check_metrics($big);
is($prc, 0, '1,000 x 20 passes promtool') or diag substr($pout, 0, 2000);
my $lines = () = $big =~ /^logistics_/mg;
note("1,000 x 20: $lines samples, " . length($big) . " bytes");

for my $format (qw(prometheus openmetrics json)) {
    ($rc, undef, $err) = run_cli('metrics-sample', "$dir/big.json",
                                 '--format', $format, '--time', 5);
    my ($ms) = $err =~ /render ([\d.]+) ms/;
    ok(defined $ms, "$format: render time measured") or diag $err;
    next unless defined $ms;
    note("1,000 partners x 20 routes, $format: $ms ms CPU per rendering");

    SKIP: {
        skip 'sanitizer or valgrind build: not timed', 1
            if $ENV{LG_CLI} || $ENV{LG_VALGRIND};
        cmp_ok($ms, '<', 50, "$format: a scrape of 1,000 x 20 takes under "
               . '50 ms of CPU');
    }
}

done_testing();
