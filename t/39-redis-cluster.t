#!/usr/bin/perl

# Redis Cluster (issue 17): three masters made by "redis-cli --cluster
# create" (Lg::Redis), the gateway given two of them as seeds.  Partners
# whose keys live on different masters get exact limits, each in its own
# node; then one partner's slot is migrated by hand while three clients
# keep calling (CLUSTER SETSLOT MIGRATING/IMPORTING, MIGRATE, SETSLOT
# NODE): a partner whose only key already moved is answered through
# -ASK (ASKING on the target), the limited partner's script gets
# -TRYAGAIN while its keys are split and is sent again within its
# deadline, and once the slot has moved -MOVED patches the map.  The
# limit stays exact through it (fail mode closed: nothing is admitted
# locally), no request waits longer than its timeout plus a margin, and
# no descriptor leaks.  Last, one master frozen (SIGSTOP) with limit calls
# to it in flight: another master's partner is still answered by its own
# master at once.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;
use Lg::Topology qw(gateway get workers fds wait_log load load_results
    example_check);
use Time::HiRes qw(time sleep);

Lg::Redis->need(qw(redis-server redis-cli));

# the slot of a key's {tag}, as Redis computes it (CRC16-XMODEM mod 16384)
sub slot_of {
    my $crc = 0;
    for my $b (unpack 'C*', $_[0]) {
        $crc ^= $b << 8;
        for (1 .. 8) {
            $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) : $crc << 1;
            $crc &= 0xffff;
        }
    }
    return $crc % 16384;
}

my $t = Lg::Test->new();
my $rs = Lg::Redis->new($t);
my $stub = Lg::Topology::stub($t);
my $c = $rs->cluster(masters => 3);
my @nodes = @{ $c->{nodes} };

is($rs->keyslot($c, 'lg:{pm}:rl'), slot_of('pm'),
   'this test computes slots as Redis does');

# one partner on each master, and two that share a slot

my %on;
for my $i (1 .. 64) {
    my $owner = $rs->slot_owner($c, slot_of("p$i"));
    $on{ $owner->{port} } //= "p$i";
    last if keys %on == 3;
}
my @spread = map { $on{ $_->{port} } } @nodes;
is(scalar(grep { defined } @spread), 3, "partners on each master: @spread");

my $slot = slot_of('pm');
my ($ps) = grep { slot_of($_) == $slot } map { "s$_" } 1 .. 200000;
ok(defined $ps, "partner $ps shares pm's slot $slot");

my ($rc, $out) = example_check($t, 'redis-cluster.conf',
    CLUSTER => join ',', map { "127.0.0.1:$_->{port}" } @nodes[0, 1]);
is($rc, 0, 'lua-free-config/redis-cluster.conf passes nginx -t')
    or diag($out);

my $BURST = 9;
my $MBURST = 29;
my %partners = ((map { ($_ => { rate => '1/h', burst => $BURST }) } @spread),
                pm => { rate => '1/h', burst => $MBURST },
                $ps => {});

my $g = gateway($stub, partners => \%partners, workers => 2,
    redis => "cluster=127.0.0.1:$nodes[0]{port},127.0.0.1:$nodes[1]{port} "
        . 'connect_timeout=300ms timeout=1s');

my $map = qr/Redis cluster: 3 masters serve 16384 of 16384 slots/;
ok(wait_log($g, qr/(?s)$map.*$map/, 10),
   'both workers have the slot map from a seed');
my $ready = qr/Redis cluster node 127\.0\.0\.1:\d+ ready/;
ok(wait_log($g, qr/(?s)(?:$ready.*){6}/, 10),
   'and a connection to each of the three masters');

###############################################################################
# limits of partners in different slots, on different masters

for my $p (@spread) {
    my @st = map { get($g, $p)->{status} } 1 .. $BURST + 3;
    my $ok = grep { $_ == 200 } @st;
    is($ok, $BURST + 1, "$p: exactly burst + 1 admitted across two workers");
    is($st[-1], 429, "$p: then 429");
    my $owner = $rs->slot_owner($c, slot_of($p));
    my @where = grep { $rs->cli($_, 'EXISTS', "lg:{$p}:rl") eq '1' } @nodes;
    is_deeply([map { $_->{port} } @where], [$owner->{port}],
              "$p: its state on its own master only");
}

my @w = workers($g);
my %fd = map { ($_ => fds($_)) } @w;

###############################################################################
# a slot migrated under load: -ASK, -TRYAGAIN, -MOVED

my $from = $rs->slot_owner($c, $slot);
my $to = $rs->other_node($c, $from);

$rs->cli($from, 'SET', "lg:{$ps}:suspended", '1');
is(get($g, $ps)->{status}, 401,
   "$ps suspended: 401 from the owner of slot ${slot}");
is(get($g, 'pm', '/closed')->{status}, 200, 'pm: 200');

my $off = length $g->read_file('error.log');
my $h = load($g, 3, [['pm', '/closed']], 3);
sleep 0.5;

$rs->migrate_start($c, $slot, $from, $to);
$rs->migrate_keys($c, $slot, $from, $to, "lg:{$ps}:suspended");
like($rs->cli($from, 'EXISTS', "lg:{$ps}:suspended"), qr/^ASK $slot /,
   "${ps}'s key moved to the target: the source answers -ASK for it");
my $r = get($g, $ps);
is($r->{status}, 401, "$ps: still 401, answered by the target after -ASK");

# pm's script now gets -TRYAGAIN: its limit key is still on the source,
# its suspension key (absent) counts as moved; a call is sent again every
# few ms and answered once the slot has moved, within its deadline
my $probe = load($g, 0.01, [['pm', '/closed']], 1);
sleep 0.3;
$rs->migrate_finish($c, $slot, $from, $to);
my $moved_at = time();
my ($p) = load_results($probe);
like($p->{status}, qr/^(200|429)$/,
     "a call made while pm's keys were split: answered by Redis "
     . "($p->{status})");
cmp_ok($p->{elapsed}, '>=', 0.25,
       sprintf('  after the slot moved (held %.3fs by -TRYAGAIN)',
               $p->{elapsed}));

$r = get($g, 'pm', '/closed');
like($r->{status}, qr/^(200|429)$/,
     "pm right after the move: $r->{status}, from Redis (-MOVED followed)");
is(get($g, $ps)->{status}, 401, "$ps: 401 from the new owner");

my @res = load_results($h);
ok(@res > 50, scalar(@res) . ' requests for pm under load');
my %st;
$st{ $_->{status} }++ for @res;
diag(join ' ', map { "$_=$st{$_}" } sort keys %st) if $ENV{LG_VERBOSE};

my $admitted = 1 + ($r->{status} == 200 ? 1 : 0)
    + ($p->{status} == 200 ? 1 : 0) + grep { $_->{status} == 200 } @res;
is($admitted, $MBURST + 1,
   "pm: exactly burst + 1 admitted through the migration ($admitted)");
is_deeply([grep { $_->{status} !~ /^(200|429|503)$/ } @res], [],
          'every answer 200, 429 or 503 (fail closed)');
my @after = grep { $_->{time} > $moved_at + 0.2 } @res;
is_deeply([grep { $_->{status} == 503 } @after], [],
          'once moved, no request fails');
my $max = 0;
$max < $_->{elapsed} and $max = $_->{elapsed} for @res;
cmp_ok($max, '<', 1 + 0.7,
       sprintf('no request waited longer than the timeout + margin '
               . '(max %.3fs)', $max));

is($rs->cli($to, 'EXISTS', 'lg:{pm}:rl'), '1', 'pm\'s state on the target');
like($rs->cli($from, 'EXISTS', 'lg:{pm}:rl'), qr/^MOVED $slot /,
     '  the source answers -MOVED for it');

my $log = substr($g->read_file('error.log'), $off);
like($log, qr/slot $slot moved to 127\.0\.0\.1:$to->{port} \(MOVED\)/,
     'the map patched by -MOVED');
unlike($log, qr/CROSSSLOT/, 'no command crossed slots');

###############################################################################
# no descriptor leaked: one connection per master per worker

is_deeply([workers($g)], \@w, 'the same workers');
for my $pid (@w) {
    cmp_ok(fds($pid), '<=', $fd{$pid},
           "worker $pid: no descriptor leaked ($fd{$pid} before, "
           . fds($pid) . ' after)');
    is(Lg::Topology::sockets_to($pid, map { $_->{port} } @nodes), 3,
       "worker $pid: one connection to each master");
}

###############################################################################
# a master that hangs holds back only its own slots: a worker whose limit
# call to it is in flight still sends the other masters' calls at once
# (group commit waits per slot, not per worker)

my $F = $ENV{LG_VALGRIND} ? 3 : 1;
my $hung = $rs->slot_owner($c, slot_of($spread[0]));
kill 'STOP', $hung->{pid};
my $hold = load($g, 2.5 * $F, [[$spread[0]]], 4);
sleep 0.3 * $F;

for my $i (1 .. 4) {
    my $q = get($g, $spread[1]);
    is($q->{status}, 429,
       "$spread[1] while $spread[0]'s master hangs ($i): 429 from its own "
       . 'master, not a local fallback');
    cmp_ok($q->{elapsed}, '<', 0.5 * $F,
           sprintf('  answered without waiting for the hung call (%.3fs)',
                   $q->{elapsed}));
}

load_results($hold);
kill 'CONT', $hung->{pid};

$g->finish();
$t->done_testing();
