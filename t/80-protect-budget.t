#!/usr/bin/perl

# Protect Odoo: the in-flight budget shared by all workers.  A budget of
# 8 with 25% reserved for critical traffic and a deferrable cap of 50%:
# 64 concurrent deferrable clients never put more than 4 requests inside
# the stub Odoo while critical requests keep succeeding; a partner over
# its own cap gets 429 while others are served; critical routes wait up
# to max_wait for a slot, on timers, without blocking the worker; the
# status view, $logistics_priority and $logistics_odoo_in_flight; an
# Idempotency-Key refused by the budget is not kept.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);
use Lg::Test;
use Lg::Protect qw(%KEY $SLOW);

my $t = Lg::Test->new();
my $p = Lg::Protect->new($t);

$p->write_policy(sub {
    my ($pol) = @_;
    $pol->{apis}{shipments}{odoo}{max_wait} = '300ms';
    $pol->{apis}{shipments}{routes}[0]{idempotency} = 'optional';
});
$p->write_config(workers => 2);
$t->run_stub();
$t->run();

my $admin = $t->port(1);

sub shipments { my $st = $p->status(); ($st->{apis}[0], $st) }

# a request is answered at once (no hold) and counted out again

my $r = $p->call('GET', '/v2/shipments/1', 'other');
is($r->{status}, 200, 'a normal read passes');
my ($api, $st) = shipments();
is($api->{in_flight}, 0, 'status view: nothing in flight afterwards');
is_deeply([ @$api{qw(max_in_flight critical_reserve deferrable_cap)} ],
          [8, 2, 4], 'status view: 8 slots, 2 reserved (25%), cap 4 (50%)');
like($t->wait_log_line('lg.log', qr/^\Q@{[hdr($r, 'x-request-id')]}\E /),
     qr/ c=normal n=1 us=200$/,
     '$logistics_priority normal, $logistics_odoo_in_flight 1 (itself)');

###############################################################################
# 64 concurrent deferrable clients against a cap of 4

$p->stub_rules({ path_prefix => '/api/v2/reports/', hold => JSON::PP::true },
               { path_prefix => '/api/v2/shipments/h',
                 hold => JSON::PP::true });

my @def = map { $p->open_request('GET', '/v2/reports/daily', 'reporter') }
          1 .. 64;

ok($p->stub_wait(held => 4), 'four deferrable requests reach Odoo');

# the other 60 are refused at once, without waiting for a slot
my (%status, %retry);
my $sel = IO::Select->new(@def);
my $end = time() + 10;
my %answered;
while (scalar(grep { !/problem/ } keys %answered) < 60 && time() < $end) {
    for my $s ($sel->can_read(0.5)) {
        my $res = Lg::Test::read_response($s, timeout => 2);
        $sel->remove($s);
        $answered{$s} = 1;
        $status{$res ? $res->{status} : 0}++;
        $retry{hdr($res, 'retry-after') // '-'}++ if $res;
        if ($res && $res->{status} == 503 && !$answered{problem}++) {
            is_problem($res, 503, 'odoo-saturated',
                       'a deferrable request over the cap');
        }
    }
}
is($status{503} // 0, 60, '60 of 64 deferrable clients get 503 at once');
is_deeply(\%retry, { 2 => 60 }, 'each with Retry-After: 2 (retry_after)');

my $in = $p->stub_inflight();
is($in->{prefixes}{'/api/v2/reports/'}{max_in_flight}, 4,
   'Odoo never saw more than the deferrable cap (4) at once');

($api) = shipments();
is_deeply([ @$api{qw(in_flight deferrable normal critical)} ], [4, 4, 0, 0],
          'status view: 4 in flight, all deferrable');

# normal traffic takes what non-critical traffic may hold (8 - 2 = 6)

my @norm = map { $p->open_request('GET', "/v2/shipments/h$_", 'other') }
           1 .. 3;
ok($p->stub_wait(held => 6), 'two normal requests join them');
my ($third) = IO::Select->new(@norm)->can_read(3);
$r = $third ? Lg::Test::read_response($third, timeout => 2) : undef;
is($r && $r->{status}, 503, 'the third normal request: 503 (reserve kept)');
@norm = grep { !$third || $_ != $third } @norm;

# critical traffic keeps succeeding on the reserved slots

my @crit = map { $p->call('POST', '/v2/shipments', 'carrier')->{status} }
           1 .. 5;
is_deeply(\@crit, [(201) x 5], 'critical requests keep succeeding');

($api, $st) = shipments();
is_deeply([ @$api{qw(in_flight deferrable normal critical)} ], [6, 4, 2, 0],
          'status view: 6 in flight (4 deferrable, 2 normal)');
my ($rep) = grep { $_->{partner} eq 'reporter' } @{ $st->{partners} };
is($rep->{in_flight}, 4, 'status view: reporter holds 4');

# everything released: every slot comes back

$p->stub_release();
my @ok = map { $p->finish_request($_)->{status} } @def, @norm;
is(scalar(grep { $_ == 200 } @ok), 6, 'the six held requests are answered');
ok($p->wait_for(sub { $p->in_flight() == 0 }), 'in flight back to 0');
is($p->in_flight('reporter'), 0, 'reporter back to 0');

###############################################################################
# under churn: 64 connections of wrk, Odoo slow, while critical requests
# go on; the stub's maximum shows what Odoo saw at once

$p->stub_reset();
$p->stub_rules({ path_prefix => '/api/v2/reports/', delay_ms => 40 });
$p->stub('POST', '/__stub/inflight/reset');

my $lua = $t->write_file('wrk.lua', <<"LUA");
wrk.headers["X-API-Key"] = "$KEY{reporter}"
LUA
my $wrk_out = $t->testdir() . '/wrk.out';
my $pid = fork();
die "fork: $!\n" unless defined $pid;
if ($pid == 0) {
    open STDOUT, '>', $wrk_out;
    open STDERR, '>&', \*STDOUT;
    exec 'wrk', '-t', '2', '-c', '64', '-d', '3s', '-s', $lua,
        'http://127.0.0.1:' . $t->port(0) . '/v2/reports/daily'
        or POSIX::_exit(127);
}

sleep 0.5;
my ($n, $good) = (0, 0);
my $stop = time() + 2;
while (time() < $stop) {
    $n++;
    $good++ if $p->call('POST', '/v2/shipments', 'carrier')->{status} == 201;
}
waitpid($pid, 0);
my $wrk = $t->read_file('wrk.out');
my ($total) = $wrk =~ /(\d+) requests in/;
my ($non2xx) = $wrk =~ /Non-2xx or 3xx responses: (\d+)/;
$non2xx //= 0;

cmp_ok($total // 0, '>', 100, "wrk sent requests (${\($total // 0)})")
    or diag $wrk;
cmp_ok($total - $non2xx, '>', 0, 'some deferrable requests were served');
cmp_ok($non2xx, '>', 0, 'and many refused (64 clients, a cap of 4)');
is($good, $n, "all $n critical requests succeeded meanwhile");
$in = $p->stub_inflight();
cmp_ok($in->{prefixes}{'/api/v2/reports/'}{max_in_flight}, '<=', 4,
       'Odoo never saw more than 4 deferrable requests at once '
       . "(max $in->{prefixes}{'/api/v2/reports/'}{max_in_flight})");
ok($p->wait_for(sub { $p->in_flight() == 0 }), 'in flight back to 0');

###############################################################################
# a partner over its own cap: 429 while others are served

$p->stub_reset();
$p->stub_rules({ path_prefix => '/api/v2/shipments/b',
                 hold => JSON::PP::true });

my @bulk = map { $p->open_request('GET', "/v2/shipments/b$_", 'bulk') } 1, 2;
ok($p->stub_wait(held => 2), 'bulk holds its two slots (max_in_flight 2)');

$r = $p->call('GET', '/v2/shipments/b3', 'bulk');
is_problem($r, 429, 'concurrency-limited', 'bulk\'s third request');
is(hdr($r, 'retry-after'), 2, 'with Retry-After');
is($t->decision_of(hdr($r, 'x-request-id'))->{decision},
   'concurrency-limited', '$logistics_decision concurrency-limited');

is($p->call('GET', '/v2/shipments/o1', 'other')->{status}, 200,
   'another partner is served meanwhile');
is($p->call('POST', '/v2/shipments', 'carrier')->{status}, 201,
   'and a critical request too');
is($p->in_flight('bulk'), 2, 'status view: bulk holds 2');

# a refusal after the Idempotency-Key claim is not what a retry replays

my @idem = (headers => [ 'Idempotency-Key' => '"bulk-order-1"' ]);
$r = $p->call('POST', '/v2/shipments', 'bulk', @idem);
is($r->{status}, 429, 'an idempotent POST of bulk over its cap: 429');
like($t->wait_log_line('lg.log',
                       qr/^\Q@{[hdr($r, 'x-request-id')]}\E /),
     qr/ c=normal /, 'its critical route counts as normal (ceiling)');

$p->stub_release();
$p->finish_request($_) for @bulk;
ok($p->wait_for(sub { $p->in_flight('bulk') == 0 }), 'bulk back to 0');

$r = $p->call('POST', '/v2/shipments', 'bulk', @idem);
is($r->{status}, 201, 'the retry with the same key reaches Odoo');
ok(!defined hdr($r, 'idempotent-replayed'), 'not a replay of the 429');

###############################################################################
# max_wait: a critical request waits for a slot, on a timer

$p->stub_reset();
$p->stub_rules({ path_prefix => '/api/v2/shipments/h',
                 hold => JSON::PP::true });

# the normal ones first: a non-critical request enters only while the
# total (critical ones included) is below 8 - 2
my @fill = map { $p->open_request('GET', "/v2/shipments/h$_", 'other') }
           1 .. 6;
ok($p->stub_wait(held => 6), 'six normal requests hold their share');
push @fill, map { $p->open_request('GET', "/v2/shipments/h$_/label",
                                   'carrier') } 7, 8;
ok($p->stub_wait(held => 8), 'the whole budget is held (6 + 2 critical)');
is($p->in_flight(), 8, 'status view: 8 in flight');

my $t0 = time();
$r = $p->call('GET', '/v2/shipments/x/label', 'carrier');
my $waited = time() - $t0;
is_problem($r, 503, 'odoo-saturated', 'a critical request finds no slot');
cmp_ok($waited, '>=', 0.28, sprintf('after waiting max_wait (%.3fs)',
                                    $waited));

# it waits on a timer: the worker answers others meanwhile

my $w = $p->open_request('GET', '/v2/shipments/y/label', 'carrier');
sleep 0.05;
$t0 = time();
my $quick = http_get('/status', port => $admin);
cmp_ok(time() - $t0, '<', 0.2 * $SLOW,
       'the status view answers while it waits');
$p->stub_release(count => 1);
$r = $p->finish_request($w);
is($r->{status}, 200, 'a slot freed within max_wait: the waiting critical '
   . 'request gets it');

# a client that leaves while it waits takes nothing with it

push @fill, $p->open_request('GET', '/v2/shipments/h9/label', 'carrier');
ok($p->stub_wait(held => 8), 'the budget is full again');
my $gone = $p->open_request('GET', '/v2/shipments/z/label', 'carrier');
sleep 0.1;
close $gone;
sleep 0.4;
is($p->in_flight(), 8, 'a client gone while waiting changed nothing');

$p->stub_release();
$p->finish_request($_) for @fill;
ok($p->wait_for(sub { $p->in_flight() == 0 }), 'in flight back to 0');

# normal requests never wait

$p->stub_rules({ path_prefix => '/api/v2/shipments/h',
                 hold => JSON::PP::true });
@fill = map { $p->open_request('GET', "/v2/shipments/h$_", 'other') } 1 .. 6;
ok($p->stub_wait(held => 6), 'non-critical share full');
$t0 = time();
$r = $p->call('GET', '/v2/shipments/n', 'other');
is($r->{status}, 503, 'a normal request is refused');
cmp_ok(time() - $t0, '<', 0.25 * $SLOW,
       'at once (max_wait is for critical routes)');
$p->stub_release();
$p->finish_request($_) for @fill;
ok($p->wait_for(sub { $p->in_flight() == 0 }), 'in flight back to 0');

# the log names every decision

my @log = $t->access_log_lines('lg.log');
ok((grep { / 503 odoo-saturated .* c=deferrable n=\d+ us=-$/ } @log),
   'access log: odoo-saturated, deferrable, never forwarded');
ok((grep { / 201 allow p=carrier r=shipments.create c=critical n=\d+ /
         } @log), 'access log: a critical create');

$t->finish();
done_testing();
