#!/usr/bin/perl

# Protect Odoo: the brownout switch.  One node: the logistics_brownout
# location sets the level in the zone (503 degraded with Retry-After the
# time left, critical requests never shed, the level ends with its ttl).
# Two nodes sharing Redis: "logistics-policy degrade" applies on both
# within a second, and "--level off" lifts it on both.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Lg::Test;
use Lg::Protect qw(%KEY $SLOW);

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my $cli = Lg::Test::repo() . '/build/logistics-policy';
plan skip_all => "$cli not built" unless -x $cli;

###############################################################################
# one node: the level lives in the zone

my $t = Lg::Test->new();
my $p = Lg::Protect->new($t);
$p->write_policy();
$p->write_config(workers => 2);
$t->run_stub();
$t->run();

my $admin = $t->port(1);

sub brownout {
    my ($method, $query, $tt) = @_;
    my $r = http_req($method, '/brownout' . ($query // ''),
                     port => ($tt // $t)->port(1));
    return ($r->{status}, eval { json_decode($r->{body}) } // {});
}

my ($code, $b) = brownout('GET');
is($code, 200, 'GET /brownout');
is_deeply($b, { level => 'off', expires => undef, retry_after => undef,
                source => 'zone' }, 'off, kept in the zone');

($code, $b) = brownout('POST', '?level=deferrable&ttl=3s');
is($code, 200, 'POST ?level=deferrable&ttl=3s');
is($b->{level}, 'deferrable', 'the level is set');
is($b->{retry_after}, 3, 'for 3 s');

my $r = $p->call('GET', '/v2/reports/daily', 'reporter');
is_problem($r, 503, 'degraded', 'a deferrable request is shed');
my $ra = hdr($r, 'retry-after') // 0;
ok($ra >= 2 && $ra <= 3, "Retry-After is the time left ($ra)");
is($t->decision_of(hdr($r, 'x-request-id'))->{decision}, 'degraded',
   '$logistics_decision degraded');
is($p->call('GET', '/v2/catalog/1', 'reporter')->{status}, 503,
   'a deferrable route of an API without a budget too');
is($p->call('GET', '/v2/shipments/1', 'other')->{status}, 200,
   'normal requests pass');
is($p->call('POST', '/v2/shipments', 'carrier')->{status}, 201,
   'critical requests pass');
is($p->status()->{brownout}{level}, 'deferrable', 'the status view shows it');

sleep 3.1;
is($p->call('GET', '/v2/reports/daily', 'reporter')->{status}, 200,
   'the level ended with its ttl');

# normal too, until lifted

($code, $b) = brownout('POST', '?level=normal');
is($b->{level}, 'normal', 'level normal without a ttl');
$r = $p->call('GET', '/v2/shipments/1', 'other');
is_problem($r, 503, 'degraded', 'a normal request is shed');
is(hdr($r, 'retry-after'), 2, 'Retry-After: the API\'s retry_after');
is($p->call('GET', '/v2/reports/daily', 'reporter')->{status}, 503,
   'deferrable too');
is($p->call('GET', '/v2/shipments/1/label', 'carrier')->{status}, 200,
   'critical requests still pass');
is($p->call('POST', '/v2/shipments', 'bulk')->{status}, 503,
   'a critical route of a partner whose ceiling is normal: shed');

($code, $b) = brownout('DELETE');
is($b->{level}, 'off', 'DELETE lifts it');
is($p->call('GET', '/v2/shipments/1', 'other')->{status}, 200,
   'normal requests pass again');

# what the switch refuses

($code) = brownout('POST', '?level=everything');
is($code, 400, 'an unknown level: 400');
($code) = brownout('POST', '?level=off&ttl=5m');
is($code, 400, 'off with a ttl: 400');
($code) = brownout('POST', '?level=normal&ttl=soon');
is($code, 400, 'a bad ttl: 400');
($code) = brownout('POST', '');
is($code, 400, 'no level: 400');
is($p->status()->{brownout}{level}, 'off', 'nothing changed');

like($t->read_file('error.log'),
     qr/\[notice\].*logistics: brownout level "deferrable" set through "\/brownout" with a ttl/,
     'each change is logged');

$t->finish();

###############################################################################
# two nodes sharing Redis: "logistics-policy degrade"

my $t1 = Lg::Test->new();
my $rport = $t1->run_redis();
my $t2 = Lg::Test->new();

for my $tt ($t1, $t2) {
    my $pp = Lg::Protect->new($tt);
    $pp->write_policy();
    $pp->write_config(http_extra => "    logistics_redis 127.0.0.1:$rport "
                                    . "timeout=200ms;");
    $tt->run_stub();
    $tt->run();
}

my $p1 = Lg::Protect->new($t1);
my $p2 = Lg::Protect->new($t2);

sub shed_on_both {
    my ($uri, $who) = @_;
    my @st = map { $_->call('GET', $uri, $who)->{status} } $p1, $p2;
    return $st[0] == 503 && $st[1] == 503;
}

sub served_on_both {
    my ($uri, $who) = @_;
    my @st = map { $_->call('GET', $uri, $who)->{status} } $p1, $p2;
    return $st[0] == 200 && $st[1] == 200;
}

ok(served_on_both('/v2/reports/daily', 'reporter'), 'both nodes serve');
is($p1->status()->{brownout}{source}, 'redis', 'the level comes from Redis');

my $t0 = time();
my $out = `$cli degrade --level deferrable --ttl 30s --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 0, 'logistics-policy degrade --level deferrable --ttl 30s')
    or diag $out;
like($out, qr/SET 'lg:brownout' 'deferrable \d+' PX 30000/,
     'it prints what it sets');
like($t1->redis_cli('GET', 'lg:brownout'), qr/^deferrable \d{13}$/,
     'lg:brownout holds the level and its expiry');

my $applied = $p1->wait_for(sub { shed_on_both('/v2/reports/daily',
                                               'reporter') }, 3);
my $dt = time() - $t0;
ok($applied, 'both nodes shed deferrable requests');
cmp_ok($dt, '<', 1.0 * $SLOW, sprintf('within a second (%.2fs)', $dt));

$r = $p2->call('GET', '/v2/reports/daily', 'reporter');
$ra = hdr($r, 'retry-after') // 0;
ok($ra >= 28 && $ra <= 30, "Retry-After is the time left ($ra)");
ok(served_on_both('/v2/shipments/1', 'other'), 'normal requests pass');

($code, $b) = brownout('POST', '?level=off', $t1);
is($code, 409, 'the node\'s own switch refuses: Redis decides');

$t0 = time();
$out = `$cli degrade --level off --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 0, 'logistics-policy degrade --level off') or diag $out;
$applied = $p1->wait_for(sub { served_on_both('/v2/reports/daily',
                                              'reporter') }, 3);
$dt = time() - $t0;
ok($applied, 'both nodes serve again');
cmp_ok($dt, '<', 1.0 * $SLOW, sprintf('within a second (%.2fs)', $dt));
is($t1->redis_cli('EXISTS', 'lg:brownout'), '0', 'the key is gone');

# a value the gateway cannot read changes nothing and is logged once

$out = `$cli degrade --level normal --redis 127.0.0.1:$rport 2>&1`;
ok($p1->wait_for(sub { shed_on_both('/v2/shipments/1', 'other') }, 3),
   'level normal, no ttl: normal requests shed on both');
$t1->redis_cli('SET', 'lg:brownout', 'everything 0');
sleep 1.2;
like($t1->read_file('error.log'),
     qr/\[error\].*Redis key "lg:brownout" does not hold/,
     'a malformed value is logged');
is(scalar(() = $t1->read_file('error.log') =~ /does not hold/g), 1, 'once');
ok(shed_on_both('/v2/shipments/1', 'other'), 'the last level stays');
$t1->redis_cli('DEL', 'lg:brownout');
ok($p1->wait_for(sub { served_on_both('/v2/shipments/1', 'other') }, 3),
   'the key deleted by hand: off');

# usage

$out = `$cli degrade --level sometimes --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 2, 'degrade with an unknown level: usage');
$out = `$cli degrade --level off --ttl 5m --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 2, 'off with a ttl: usage');
like($out, qr/--level off takes no --ttl/, 'and says why');
$out = `$cli degrade --level normal --ttl 5 --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 2, 'a ttl without unit: usage');
$out = `$cli degrade --level normal 2>&1`;
is($? >> 8, 2, 'no Redis option: usage');

$t2->finish();
$t1->finish();
done_testing();
