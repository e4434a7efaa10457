#!/usr/bin/perl

# Lg::Redis's Sentinel group checked with redis-cli alone: one master,
# one replica and three redis-sentinel processes that agree on the
# master; the master killed, the replica promoted within the Sentinel
# timeouts, +switch-master published with the new address, and the old
# master, back on its port, turned into a replica of the new one.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;
use POSIX ();
use Time::HiRes qw(time sleep);

Lg::Redis->need(qw(redis-server redis-sentinel redis-cli));

my $t = Lg::Test->new(no_module => 1);
my $rs = Lg::Redis->new($t);

my $t0 = time();
my $g = $rs->sentinel_group(name => 'lgmaster');
my $setup = time() - $t0;
diag(sprintf 'sentinel group ready in %.2fs', $setup) if $ENV{LG_VERBOSE};

my ($m, $r) = ($g->{master}, $g->{replica});
is(scalar @{ $g->{sentinels} }, 3, 'three sentinels');

for my $s (@{ $g->{sentinels} }) {
    is($rs->sentinel_master_port($s, 'lgmaster'), $m->{port},
       "$s->{name} names the master");
}

my $sm = $rs->sentinel_master($g->{sentinels}[0], 'lgmaster');
is($sm->{'down-after-milliseconds'}, 500, 'down-after-milliseconds 500');
is($sm->{'failover-timeout'}, 2000, 'failover-timeout 2000');
is($sm->{quorum}, 2, 'quorum 2');

is($rs->cli($g->{sentinels}[0], 'SENTINEL', 'get-master-addr-by-name',
            'nosuch'), '', 'an unknown group: a null reply');

is($rs->info($m, 'replication')->{role}, 'master', 'master is a master');
is($rs->info($r, 'replication')->{role}, 'slave', 'replica is a replica');
is($rs->cli($m, 'SET', 'lg:{acme}:suspended', '1'), 'OK', 'write on master');
is($rs->cli($m, 'WAIT', 1, 2000), '1', 'replicated to one replica');
# WAIT counts the replica's acknowledgement; under a sanitizer build's
# load its GET has been seen to answer before the write is visible, so
# the read is retried for a moment rather than taken once
sub replica_get {
    my ($node, $key) = @_;
    my $v = '';
    for (1 .. 40) {
        $v = $rs->cli($node, 'GET', $key) // '';
        last if $v eq '1';
        select(undef, undef, undef, 0.05);
    }
    return $v;
}

is(replica_get($r, 'lg:{acme}:suspended'), '1', 'read on the replica');
like($rs->cli($r, 'SET', 'x', '1'), qr/^READONLY /,
     'the replica refuses writes: -READONLY');

# a subscriber on one sentinel, as the gateway will have

my $sub_out = "$t->{testdir}/switch-master.out";
my $sub = fork();
die "fork: $!" unless defined $sub;
if ($sub == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $sub_out;
    open STDERR, '>&', \*STDOUT;
    exec $rs->cli_cmd($g->{sentinels}[1], 'SUBSCRIBE', '+switch-master')
        or POSIX::_exit(127);
}
$rs->wait_until('the subscription', sub {
    Lg::Redis::read_text($sub_out) =~ /^\+switch-master$/m });

my $took = $rs->failover($g);
my $limit = (500 + 2000) / 1000 + 5;
cmp_ok($took, '<', $limit,
       sprintf('failover within down-after + failover-timeout + 5s '
               . '(%.2fs)', $took));
diag(sprintf 'failover took %.2fs', $took) if $ENV{LG_VERBOSE};

is($g->{master}, $r, 'the replica is the master now');
is($rs->info($r, 'replication')->{role}, 'master', '  and says so');
is(replica_get($r, 'lg:{acme}:suspended'), '1',
   '  with the data written before the failover');
is($rs->cli($r, 'SET', 'lg:{acme}:after', '1'), 'OK', '  taking writes');

for my $s (@{ $g->{sentinels} }) {
    is($rs->sentinel_master_port($s, 'lgmaster'), $r->{port},
       "$s->{name} names the new master");
}

$rs->wait_until('+switch-master on the subscriber', sub {
    Lg::Redis::read_text($sub_out) =~ /^lgmaster /m }, 5);
kill 'TERM', $sub;
waitpid($sub, 0);

my @msg = split /\n/, Lg::Redis::read_text($sub_out);
my ($payload) = grep { /^lgmaster / } @msg;
is($payload, "lgmaster 127.0.0.1 $m->{port} 127.0.0.1 $r->{port}",
   '+switch-master: NAME OLD-HOST OLD-PORT NEW-HOST NEW-PORT');

# the old master comes back: the sentinels demote it

$rs->restart($m);
$rs->wait_until('the old master to become a replica', sub {
    ($rs->info($m, 'replication')->{role} // '') eq 'slave' }, 20);
pass('the old master, restarted, is a replica now');
like($rs->cli($m, 'SET', 'y', '1'), qr/^READONLY /,
     '  and answers -READONLY to writes');
$rs->wait_until('the old master in sync', sub {
    ($rs->info($m, 'replication')->{master_link_status} // '') eq 'up' }, 20);
is($rs->cli($m, 'GET', 'lg:{acme}:after'), '1',
   '  replicating from the new master');

$t->done_testing();
