#!/usr/bin/perl

# Protect Odoo: the circuit breaker.  The stub Odoo fails on demand; the
# breaker of API shipments v2 (a window of 2 s in 4 buckets, at least 6
# requests, 50% failures, a cool-down of 1 s, one probe, one critical
# request at a time while open) opens, sheds normal and deferrable
# traffic with 503 odoo-unavailable and Retry-After without touching
# Odoo, lets critical requests through one at a time, probes after the
# cool-down, re-opens when the probe fails and closes when Odoo is back.
# Every transition is logged once and counted in the status view; a
# route group has a breaker of its own.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Lg::Test;
use Lg::Protect qw(%KEY);

my $t = Lg::Test->new();
my $p = Lg::Protect->new($t);

$p->write_policy(sub {
    $_[0]{apis}{shipments}{routes}[3]{breaker_group} = 'reports';
});
$p->write_config(workers => 2);
$t->run_stub();
$t->run();

sub breaker {
    my ($which) = @_;
    my ($b) = grep { ($_->{version} // $_->{group}) eq ($which // 'v2') }
              @{ $p->status()->{breakers} };
    return $b;
}

sub odoo_total { $p->stub_inflight()->{total} }

sub log_count {
    my ($re) = @_;
    return scalar grep { /$re/ } split /\n/, $t->read_file('error.log');
}

sub fail_odoo {
    $p->stub_rules({ path_prefix => '/api/v2/', status => 503 },
                   { path_prefix => '/api/v2/shipments/h',
                     hold => JSON::PP::true });
}

sub heal_odoo {
    $p->stub_rules({ path_prefix => '/api/v2/shipments/h',
                     hold => JSON::PP::true });
}

# a healthy Odoo

my $b = breaker();
is($b->{state}, 'closed', 'the breaker starts closed');
is($p->call('GET', '/v2/shipments/1', 'other')->{status}, 200, 'a read');

# Odoo fails: six failures in the window open it

fail_odoo();

my @st = map { $p->call('GET', "/v2/shipments/$_", 'other')->{status} }
         1 .. 6;
is_deeply(\@st, [(503) x 6], 'six requests reach the failing Odoo (503)');
ok($p->wait_for(sub { breaker()->{state} eq 'open' }), 'the breaker opens');
is(log_count(qr/\[warn\].*circuit breaker "shipments\/v2" opened: \d+ of the last \d+ requests to Odoo failed/),
   1, 'logged once');

# open: normal and deferrable requests are shed without touching Odoo

my $before = odoo_total();
my $r = $p->call('GET', '/v2/shipments/7', 'other');
is_problem($r, 503, 'odoo-unavailable', 'a normal request while open');
my $ra = hdr($r, 'retry-after');
ok(defined $ra && $ra >= 1 && $ra <= 1, "Retry-After is the cool-down left "
   . "(${\($ra // '-')})");
is($t->decision_of(hdr($r, 'x-request-id'))->{decision}, 'odoo-unavailable',
   '$logistics_decision odoo-unavailable');
is($p->call('GET', '/v2/catalog/1', 'reporter')->{status}, 200,
   'an API without a budget is not concerned');
$r = $p->call('GET', '/v2/shipments/8', 'bulk');
is($r->{status}, 503, 'another partner\'s normal request: shed too');
is(odoo_total(), $before + 1, 'Odoo saw none of them (only the catalog)');

# critical requests go through, one at a time (open_critical 1)

my $hold = $p->open_request('GET', '/v2/shipments/h1/label', 'carrier');
ok($p->stub_wait(held => 1), 'a critical request is let through while open');
$r = $p->call('GET', '/v2/shipments/9/label', 'carrier');
is_problem($r, 503, 'odoo-unavailable',
           'a second critical request while the first is inside Odoo');
$p->stub_release();
$r = $p->finish_request($hold);
is(echo_of($r)->{uri}, '/api/v2/shipments/h1/label',
   'the critical request got Odoo\'s answer');
is(breaker()->{state}, 'open',
   'its success does not close the breaker (only probes do)');

# the cool-down ends; the probe fails: open again

sleep 1.1;
$r = $p->call('GET', '/v2/shipments/10', 'other');
is($r->{status}, 503, 'the probe reaches the failing Odoo');
ok(!defined hdr($r, 'content-type')
   || hdr($r, 'content-type') !~ /problem/, 'Odoo\'s answer, not a refusal');
ok($p->wait_for(sub { breaker()->{state} eq 'open' }), 'open again');
is(log_count(qr/circuit breaker "shipments\/v2" half-opened: the cool-down is over/),
   1, 'the half-open move was logged once');
is(log_count(qr/circuit breaker "shipments\/v2" reopened: a probe failed/),
   1, 'the failed probe was logged once');

# Odoo recovers: the next probe closes it

heal_odoo();
sleep 1.1;
$before = odoo_total();
my @probe = map { $p->call('GET', "/v2/shipments/p$_", 'other')->{status} }
            1 .. 3;
is_deeply(\@probe, [200, 200, 200], 'after the cool-down: the probe and '
          . 'what follows pass');
is(breaker()->{state}, 'closed', 'the breaker closed');
is(log_count(qr/circuit breaker "shipments\/v2" closed: a probe succeeded/),
   1, 'closing was logged once');
is(odoo_total(), $before + 3, 'Odoo saw them');

$b = breaker();
is_deeply($b->{transitions}, { opened => 1, 'half-opened' => 2,
                               closed => 1, reopened => 1,
                               'probes-lost' => 0 },
          'status view: every transition counted once');
is($b->{failures}, 0, 'a closed breaker starts with a clean window');

# a probe held inside Odoo: the others wait for its verdict

fail_odoo();
@st = map { $p->call('GET', "/v2/shipments/$_", 'other')->{status} } 1 .. 6;
ok($p->wait_for(sub { breaker()->{state} eq 'open' }), 'opened again');
heal_odoo();
sleep 1.1;
my $probe = $p->open_request('GET', '/v2/shipments/h-probe', 'other');
ok($p->stub_wait(held => 1), 'the probe is inside Odoo');
is(breaker()->{state}, 'half-open', 'half-open while it is');
is($p->call('GET', '/v2/shipments/q', 'other')->{status}, 503,
   'a second normal request is no probe: shed');
$p->stub_release();
is($p->finish_request($probe)->{status}, 200, 'the probe succeeds');
ok($p->wait_for(sub { breaker()->{state} eq 'closed' }), 'closed');
is($p->in_flight(), 0, 'nothing left in flight');

# a route group has its own breaker

$p->stub_rules({ path_prefix => '/api/v2/reports/', status => 500 });
@st = map { $p->call('GET', '/v2/reports/daily', 'reporter')->{status} }
      1 .. 6;
is_deeply(\@st, [(500) x 6], 'the reports fail');
ok($p->wait_for(sub { breaker('reports')->{state} eq 'open' }),
   'the breaker of group "reports" opens');
is(log_count(qr/circuit breaker "shipments\/reports" opened/), 1,
   'logged under its group');
is_problem($p->call('GET', '/v2/reports/daily', 'reporter'), 503,
           'odoo-unavailable', 'reports are shed');
is(breaker()->{state}, 'closed', 'the version\'s breaker stays closed');
is($p->call('GET', '/v2/shipments/1', 'other')->{status}, 200,
   'and other routes are served');

$t->finish();
done_testing();
