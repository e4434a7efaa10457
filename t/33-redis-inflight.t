#!/usr/bin/perl

# Group commit of the limit checks (logistics_redis batches=N, 1 by
# default): while N limit calls of a worker are in flight, the requests
# that reach the limits wait for one to return and leave together in the
# next call.  What that must not cost:
#   - a lone request is not delayed (it goes at once);
#   - a request that waited behind a call that hangs still gets its
#     answer within its own timeout, not that timeout plus the wait;
#   - batches=0 sends every event-loop iteration's requests at once;
#   - batches= outside 0..64 fails nginx -t with the reason.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

# valgrind makes every step slower: the same story with more room
my $F = $ENV{LG_VALGRIND} ? 6 : 1;

my $KEY = 'rif-key';

my $t = Lg::Test->new();
my $rport = $t->run_redis();

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    partners => {
        p => { scopes => ['tracking:read'],
               api_keys => [{ id => 'k', sha256 => key_sha256($KEY) }],
               rate_limit => { rate => '100000/s', burst => 1000 } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [{ id => 'shipments.get', method => 'GET',
                     path => '/shipments/{id}',
                     scopes => ['tracking:read'] }],
    } },
}));

my $timeout_ms = 400 * $F;

sub start_gateway {
    my ($batches) = @_;
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone lgstate:1m;\n"
            . "    logistics_redis 127.0.0.1:$rport connect_timeout=500ms"
            . " timeout=${timeout_ms}ms"
            . (defined $batches ? " batches=$batches" : '') . ";"),
        workers => 1);
    $t->run();
    my $end = time() + 10;
    sleep 0.05 while time() < $end
        && $t->read_file('error.log') !~ /Redis .* ready/;
}

$t->run_stub();
start_gateway(undef);
my $port = $t->port(0);

sub evalsha_calls {
    my $s = $t->redis_cli('INFO', 'commandstats');
    return $s =~ /cmdstat_evalsha:calls=(\d+)/ ? $1 : 0;
}

sub conn {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or die "connect: $!";
    $s->autoflush(1);
    return $s;
}

sub send_req {
    my ($s, $i) = @_;
    syswrite($s, "GET /v2/shipments/$i HTTP/1.1\r\nHost: localhost\r\n"
                 . "X-API-Key: $KEY\r\nConnection: close\r\n\r\n");
}

# the status of a response on $s, and when it was complete
sub read_status {
    my ($s) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time() + 10 * $F;
    while (time() < $end && $sel->can_read($end - time())) {
        my $n = sysread($s, my $chunk, 65536);
        last unless $n;
        $buf .= $chunk;
    }
    close $s;
    return ($buf =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0, time());
}

# 1. a lone request goes at once: one call, answered well within the
#    timeout (it waits for no window)

{
    my $before = evalsha_calls();
    my $t0 = time();
    my $r = http_get('/v2/shipments/1', port => $port, 'X-API-Key' => $KEY);
    my $took = time() - $t0;
    is($r->{status}, 200, 'a lone request passes');
    is(evalsha_calls() - $before, 1, 'in one script call of its own');
    cmp_ok($took, '<', 0.2 * $F, sprintf('without waiting (%.3fs)', $took));
}

# 2. requests behind a call in flight wait for it and go together:
#    Redis frozen, one request sent (its call is out), then ten more;
#    Redis thawed: eleven answers from two calls

{
    my $first = conn();
    my @more = map { conn() } 1 .. 10;
    sleep 0.2;
    my $before = evalsha_calls();

    kill 'STOP', $t->redis_pid();
    send_req($first, 0);
    sleep 0.1 * $F;
    send_req($more[$_], $_ + 1) for 0 .. 9;
    sleep 0.1 * $F;
    kill 'CONT', $t->redis_pid();

    my @st = map { (read_status($_))[0] } $first, @more;
    is_deeply(\@st, [(200) x 11], 'all eleven are answered')
        or diag("@st");
    is(evalsha_calls() - $before, 2,
       'in two script calls: the first, and the ten that waited for it');
}

# 3. a call that hangs: the requests behind it keep their own deadline.
#    Redis frozen for good; A's call times out at A + timeout; B, sent
#    half a timeout later, waits for A's call and then its own, and is
#    answered (fail open, the zone's limits) by B + timeout, not by
#    B + 1.5 timeouts

{
    my $a = conn();
    my $b = conn();
    sleep 0.2;

    kill 'STOP', $t->redis_pid();
    my $ta = time();
    send_req($a, 1);
    sleep $timeout_ms / 2000;
    my $tb = time();
    send_req($b, 2);

    my ($sa, $da) = read_status($a);
    my ($sb, $db) = read_status($b);
    kill 'CONT', $t->redis_pid();

    is($sa, 200, 'A: Redis hangs, fail open: 200');
    is($sb, 200, 'B, behind A\'s call: fail open too');
    my $wa = $da - $ta;
    my $wb = $db - $tb;
    cmp_ok($wa, '<', $timeout_ms / 1000 + 0.15 * $F,
           sprintf('A waited at most its timeout (%.3fs)', $wa));
    cmp_ok($wb, '<', $timeout_ms / 1000 + 0.15 * $F,
           sprintf('B waited at most its own timeout, not A\'s plus its'
                   . ' own (%.3fs)', $wb));
    like($t->read_file('error.log'), qr/timed out/,
         'the log says the calls timed out');
}

sleep 0.5;
my $before = evalsha_calls();
my $r = http_get('/v2/shipments/1', port => $port, 'X-API-Key' => $KEY);
is($r->{status}, 200, 'Redis thawed: the worker serves on');
cmp_ok(evalsha_calls() - $before, '>=', 1, '  through Redis again');

# 4. batches=0: no waiting behind a call in flight; each iteration's
#    requests leave at once (Redis frozen: two requests, two calls)

$t->stop();
start_gateway(0);

{
    my $x = conn();
    my $y = conn();
    sleep 0.2;
    my $before = evalsha_calls();
    kill 'STOP', $t->redis_pid();
    send_req($x, 1);
    sleep 0.1 * $F;
    send_req($y, 2);
    sleep 0.1 * $F;
    kill 'CONT', $t->redis_pid();
    my @st = map { (read_status($_))[0] } $x, $y;
    is_deeply(\@st, [200, 200], 'batches=0: both answered');
    is(evalsha_calls() - $before, 2,
       'and the second did not wait for the first call: two calls');
}

$t->stop();

# 5. nginx -t refuses what is not a number of calls

for my $bad ('65', '-1', 'x', '') {
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone lgstate:1m;\n"
            . "    logistics_redis 127.0.0.1:$rport batches=$bad;"));
    my ($rc, $out) = $t->test_config();
    isnt($rc, 0, "nginx -t fails: batches=$bad");
    like($out, qr/batches=\Q$bad\E.*(is not a number of calls from 0 to 64|is empty)/,
         "  batches=$bad: the message says why") or diag($out);
}

$t->done_testing();
