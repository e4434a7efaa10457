#!/usr/bin/perl

# Redis behind Sentinel (issue 17): one master, one replica and three
# redis-sentinel processes (Lg::Redis), data and Sentinels with passwords
# of their own, and a dead address first in the gateway's Sentinel list.
# The master is killed (SIGKILL) while four clients keep sending
# requests: the gateway follows the new master within the time the
# Sentinels took to agree plus one second; no request waits longer than
# its timeout plus a margin; admitted requests exceed the limit by no
# more than the fail mode allows (open: the local zone's own limit;
# closed: nothing) plus what asynchronous replication may lose; the
# fallbacks are counted in the log; no descriptor leaks.  Then a
# Sentinel that names a replica: ROLE refuses it, the fail mode applies.

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

Lg::Redis->need(qw(redis-server redis-sentinel redis-cli));

my $t = Lg::Test->new();
my $rs = Lg::Redis->new($t);
my $stub = Lg::Topology::stub($t);

my $grp = $rs->sentinel_group(name => 'lgm', password => 'data-pw',
                              sentinel_password => 'sent-pw');
my $old = $grp->{master};
my $new = $grp->{replica};
my $dead = Lg::Test::free_port();
my $list = join ',', "127.0.0.1:$dead",
    map { "127.0.0.1:$_->{port}" } @{ $grp->{sentinels} };

my ($rc, $out) = example_check($t, 'redis-sentinel.conf',
    SENTINELS => join ',', map { "127.0.0.1:$_->{port}" }
                               @{ $grp->{sentinels} });
is($rc, 0, 'lua-free-config/redis-sentinel.conf passes nginx -t')
    or diag($out);

my $BURST = 29;
my %partners = (lo => { rate => '1/h', burst => $BURST },
                lc => { rate => '1/h', burst => $BURST },
                probe => {});
my $TIMEOUT = 0.1;

my $g = gateway($stub, partners => \%partners, workers => 2,
    redis => "sentinel=lgm sentinels=$list password=data-pw "
        . "sentinel_password=sent-pw connect_timeout=200ms timeout=100ms");

my $ready = qr/Redis master "lgm" at 127\.0\.0\.1:$old->{port} ready/;
ok(wait_log($g, qr/(?s)$ready.*$ready/, 10),
   'both workers found the master through the Sentinels');
like($g->read_file('error.log'),
     qr/Redis "127\.0\.0\.1:$dead": connect\(\) failed/,
     'the dead Sentinel first in the list was tried and left');
like($g->read_file('error.log'), qr/subscribed to \+switch-master/,
     'subscribed to +switch-master');

is(get($g, 'probe')->{status}, 200, 'a request');
$rs->cli($old, 'SET', 'lg:{probe}:suspended', '1');
is(get($g, 'probe')->{status}, 401, 'a suspension in the master: 401');
$rs->cli($old, 'DEL', 'lg:{probe}:suspended');
is(get($g, 'lo')->{status}, 200, 'a limited partner: 200');
is($rs->cli($old, 'EXISTS', 'lg:{lo}:rl'), '1', '  its state in the master');

my @w = workers($g);
my %fd = map { ($_ => fds($_)) } @w;

###############################################################################
# the master killed under load

my $off = length $g->read_file('error.log');
my $h = load($g, 6, [['lo', ''], ['lc', '/closed'], ['lo', ''],
                     ['lc', '/closed']], 4);
sleep 1;

my $killed = time();
my $took = $rs->failover($grp);
my $agreed = time();
diag(sprintf 'failover: the Sentinels agreed %.2fs after the kill', $took)
    if $ENV{LG_VERBOSE};

# a key only the new master has: a 401 means the gateway reads there
$rs->cli($new, 'SET', 'lg:{probe}:suspended', '1');
my $followed;
while (time() < $agreed + 3) {
    if (get($g, 'probe')->{status} == 401) {
        $followed = time() - $killed;
        last;
    }
    sleep 0.02;
}
ok(defined $followed, 'the gateway follows the new master');
cmp_ok($followed // 99, '<=', $took + 1,
       sprintf('  within the Sentinels\' %.2fs plus one second (%.2fs)',
               $took, $followed // 99));
$rs->cli($new, 'DEL', 'lg:{probe}:suspended');

my @res = load_results($h);
my @lo = grep { $_->{partner} eq 'lo' } @res;
my @lc = grep { $_->{partner} eq 'lc' } @res;
my $max = 0;
$max < $_->{elapsed} and $max = $_->{elapsed} for @res;
ok(@res > 100, scalar(@res) . ' requests under load');

my %st;
$st{"$_->{partner}:$_->{status}"}++ for @res;
diag(join ' ', map { "$_=$st{$_}" } sort keys %st) if $ENV{LG_VERBOSE};

is_deeply([grep { $_->{status} != 200 && $_->{status} != 429 } @lo], [],
          'fail open: every answer 200 or 429');
is_deeply([grep { $_->{status} !~ /^(200|429|503)$/ } @lc], [],
          'fail closed: every answer 200, 429 or 503');
ok(($st{'lc:503'} // 0) > 0,
   'fail closed: 503 while no master was known (' . ($st{'lc:503'} // 0)
   . ')');

# one limit of burst+1 in Redis; fail open adds the zone's own burst+1;
# a write the old master acknowledged in its last instant may not have
# reached the replica (asynchronous replication): 2 allowed for it
my $lo_ok = grep { $_->{status} == 200 } @lo;
my $lc_ok = grep { $_->{status} == 200 } @lc;
cmp_ok($lo_ok + 1, '<=', 2 * ($BURST + 1) + 2,
       "fail open: admitted $lo_ok (+1 before) <= 2 x (burst + 1) + 2");
cmp_ok($lc_ok + 0, '<=', ($BURST + 1) + 2,
       "fail closed: admitted $lc_ok <= burst + 1 + 2");
cmp_ok($lo_ok + 1, '>=', $BURST + 1, '  and the limit was reached');

cmp_ok($max, '<', $TIMEOUT + 0.7,
       sprintf('no request waited longer than the timeout + margin '
               . '(max %.3fs)', $max));

my $log = substr($g->read_file('error.log'), $off);
like($log, qr/\+switch-master: master "lgm" is now 127\.0\.0\.1:$new->{port}/,
     '+switch-master heard');
like($log, qr/Redis master "lgm" at 127\.0\.0\.1:$new->{port} ready/,
     'connected to the new master');
like($log, qr/Redis "sentinel=lgm" unavailable \([^)]+\): failing/,
     'the outage is logged');
my @n = $log =~ /answers again after (\d+) fallbacks/g;
my $n = 0;
$n += $_ for @n;
ok($n > 0, "and its end, with the fallbacks counted ($n)");

is_deeply([workers($g)], \@w, 'the same workers');
for my $pid (@w) {
    cmp_ok(fds($pid), '<=', $fd{$pid},
           "worker $pid: no descriptor leaked ($fd{$pid} before, "
           . fds($pid) . ' after)');
    is(Lg::Topology::sockets_to($pid, $old->{port}), 0,
       "worker $pid: nothing left connected to the old master");
}

$g->finish();

###############################################################################
# a Sentinel that names a replica (stale, or broken): ROLE says so, the
# node is refused, the fail mode applies, and the Sentinels are asked
# again

my $replica = $rs->server(name => 'rep', password => 'data-pw',
                          replicaof => $grp->{master});
my $reply = "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($replica->{port})
    . "\r\n$replica->{port}\r\n";
my @fake = map { $rs->fake(name => "stale$_", reply => $reply) } 1 .. 2;

$g = gateway($stub, partners => \%partners,
    redis => 'sentinel=lgm sentinels='
        . join(',', map { "127.0.0.1:$_->{port}" } @fake)
        . ' password=data-pw connect_timeout=200ms timeout=100ms');

ok(wait_log($g, qr/Redis "127\.0\.0\.1:$replica->{port}" is not a master \(ROLE: replica\)/, 5),
   'a replica named as the master: refused after ROLE');
ok(wait_log($g, qr/(?s)(is not a master.*){2}/, 3),
   '  asked again, refused again');
unlike($g->read_file('error.log'), qr/Redis master "lgm" at .* ready/,
       '  never used');
my $r = get($g, 'probe');
is($r->{status}, 200, '  fail open');
cmp_ok($r->{elapsed}, '<', 0.8, sprintf('  at once (%.3fs)', $r->{elapsed}));
is(get($g, 'lc', '/closed')->{status}, 503, '  fail closed: 503');
$g->finish();

# a Sentinel that names its master by host name: a worker never resolves
# a name (it would block), so there is no master, and the fail mode

my $host = 'redis.invalid';
my $named = "*2\r\n\$" . length($host) . "\r\n$host\r\n\$4\r\n6379\r\n";
@fake = map { $rs->fake(name => "named$_", reply => $named) } 1 .. 2;
$g = gateway($stub, partners => \%partners,
    redis => 'sentinel=lgm sentinels='
        . join(',', map { "127.0.0.1:$_->{port}" } @fake)
        . ' connect_timeout=200ms timeout=100ms');
ok(wait_log($g, qr/master "lgm" named "redis\.invalid": not an IP address/,
            5), 'a master named by host name: not resolved, no master');
$r = get($g, 'probe');
is($r->{status}, 200, '  fail open');
cmp_ok($r->{elapsed}, '<', 0.8, sprintf('  at once (%.3fs)', $r->{elapsed}));
$g->finish();

$t->done_testing();
