#!/usr/bin/perl

# Lg::Redis's cluster checked with redis-cli alone: three masters made by
# "redis-cli --cluster create", partners' keys spread over them by their
# {partner} hash tag, and a slot moved by hand (CLUSTER SETSLOT +
# MIGRATE) so that the source answers -ASK while the slot migrates and
# every node answers -MOVED once it has moved.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;
use Time::HiRes qw(time);

Lg::Redis->need(qw(redis-server redis-cli));

my $t = Lg::Test->new(no_module => 1);
my $rs = Lg::Redis->new($t);

my $t0 = time();
my $c = $rs->cluster(masters => 3);
diag(sprintf 'cluster ready in %.2fs', time() - $t0) if $ENV{LG_VERBOSE};

is(scalar @{ $c->{nodes} }, 3, 'three nodes');
for my $n (@{ $c->{nodes} }) {
    my $ci = $rs->cluster_info($n);
    is($ci->{cluster_state}, 'ok', "$n->{name}: cluster_state ok");
    is($ci->{cluster_slots_assigned}, 16384, "$n->{name}: all slots");
    is($ci->{cluster_size}, 3, "$n->{name}: three masters");
}

# hash slots as the cluster computes them (the same known answers as
# t/unit/test_redis.c)

is($rs->keyslot($c, '123456789'), 0x31C3, 'CRC16 of 123456789: 0x31C3');
is($rs->keyslot($c, 'lg:{acme-carrier}:suspended'), 12225,
   'a gateway key: the slot of its {partner} tag');
is($rs->keyslot($c, 'lg:{acme-carrier}:jti:x'), 12225,
   '  every key of the partner in that slot');

# partners on different masters

my @partners = map { "p$_" } 1 .. 12;
my %owner = map { $_ => $rs->key_owner($c, "lg:{$_}:suspended") } @partners;
my %used = map { $_->{port} => 1 } values %owner;
is(scalar keys %used, 3, 'twelve partners spread over the three masters');

my ($pa) = grep { $owner{$_} == $c->{nodes}[0] } @partners;
my ($pb) = grep { $owner{$_} != $c->{nodes}[0] } @partners;
my $ka = "lg:{$pa}:suspended";
my $kb = "lg:{$pb}:suspended";
my $slot_b = $rs->keyslot($c, $kb);
my $nb = $owner{$pb};

is($rs->cli($c->{nodes}[0], 'SET', $ka, 1), 'OK',
   'a key of the first node: written there');
is($rs->cli($c->{nodes}[0], 'SET', $kb, 1),
   "MOVED $slot_b 127.0.0.1:$nb->{port}",
   'a key of another node: -MOVED slot host:port');
is($rs->cli($nb, 'SET', $kb, 1), 'OK', '  written on its node');
is($rs->cli($nb, 'GET', $kb), '1', '  read back');

# hand-made migration of $pb's slot from $nb to another node

my $from = $nb;
my $to = $rs->other_node($c, $from);
my $third = $rs->other_node($c, $from, $to);
my $kb2 = "lg:{$pb}:jti:second";
is($rs->cli($from, 'SET', $kb2, 2), 'OK', 'a second key in the slot');

$rs->migrate_start($c, $slot_b, $from, $to);
like($rs->cli($from, 'CLUSTER', 'NODES'),
     qr/\[$slot_b->-$to->{id}\]/, 'source: slot migrating');
like($rs->cli($to, 'CLUSTER', 'NODES'),
     qr/\[$slot_b-<-$from->{id}\]/, 'target: slot importing');

is($rs->migrate_keys($c, $slot_b, $from, $to, $kb), 1, 'one key migrated');

is($rs->cli($from, 'GET', $kb), "ASK $slot_b 127.0.0.1:$to->{port}",
   'source: -ASK for the key it gave away');
is($rs->cli($from, 'GET', $kb2), '2', 'source: still serves the other');
is($rs->cli($from, 'SET', "lg:{$pb}:new", 1),
   "ASK $slot_b 127.0.0.1:$to->{port}",
   'source: -ASK for a key it does not have');
is($rs->cli($to, 'GET', $kb), "MOVED $slot_b 127.0.0.1:$from->{port}",
   'target without ASKING: -MOVED back to the source');

my ($rc, $out) = $rs->run_cmd('sh', '-c',
    "printf 'ASKING\\nGET $kb\\n' | "
    . join(' ', map { "'$_'" } $rs->cli_cmd($to)));
is($out, "OK\n1\n", 'target after ASKING: serves the key');

is($rs->slot_owner($c, $slot_b, $third)->{port}, $from->{port},
   'the third node still sees the source as the owner');

$rs->migrate_finish($c, $slot_b, $from, $to);

is($rs->cli($to, 'GET', $kb2), '2', 'after the migration: target serves');
is($rs->cli($to, 'CLUSTER', 'COUNTKEYSINSLOT', $slot_b), 2,
   '  both keys');
is($rs->cli($from, 'CLUSTER', 'COUNTKEYSINSLOT', $slot_b), 0,
   '  none left on the source');
is($rs->cli($from, 'GET', $kb), "MOVED $slot_b 127.0.0.1:$to->{port}",
   'source: -MOVED to the target');
is($rs->cli($third, 'GET', $kb), "MOVED $slot_b 127.0.0.1:$to->{port}",
   'third node: -MOVED to the target');
for my $n (@{ $c->{nodes} }) {
    is($rs->slot_owner($c, $slot_b, $n)->{port}, $to->{port},
       "$n->{name} sees the target as the owner");
}

# a node killed: the others stay up for other slots' keys until the
# node timeout, and the helper's cleanup takes them all down at exit

$t->done_testing();
