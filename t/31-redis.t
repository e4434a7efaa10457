#!/usr/bin/perl

# Shared state in a real redis-server: limits that hold across two gateway
# instances, partner suspension recorded in Redis, and every failure mode
# for real -- Redis killed, frozen with SIGSTOP, restarted, wrong password
# -- with fail open (local limits) and fail closed (503).  No request may
# wait longer than the command timeout plus a margin, no worker may die,
# no file descriptor may leak.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my %K = (limited => 'rd-limited-key', open => 'rd-open-key');


my $policy = JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    partners => {
        limited => { scopes => ['tracking:read'],
                     api_keys => [{ id => 'k', sha256 => key_sha256($K{limited}) }],
                     rate_limit => { rate => '1/h', burst => 9 } },
        open => { scopes => ['tracking:read'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{open}) }],
                  rate_limit => { rate => '100000/s', burst => 1000 } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [{ id => 'shipments.get', method => 'GET',
                     path => '/shipments/{id}', scopes => ['tracking:read'] }],
    } },
});

my $t = Lg::Test->new();
my $rport = $t->run_redis();

sub gateway {
    my ($t, %o) = @_;
    $t->write_file('policy.json', $policy);
    my $pw = defined $o{password} ? " password=$o{password}" : '';
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone lgstate:1m;\n"
            . "    logistics_redis 127.0.0.1:$rport$pw"
            . " connect_timeout=100ms timeout=100ms;",
        server_extra => <<'EOF'), workers => 2);
        location /closed/ {
            logistics_gateway on;
            logistics_fail_mode closed;
            rewrite ^/closed(/.*)$ $1 break;
            proxy_pass http://odoo;
        }
EOF
    $t->run_stub();
    $t->run();
    return $t->port(0);
}

my $p = gateway($t);

sub get {
    my ($port, $uri, $key) = @_;
    my $t0 = time();
    my $r = http_get($uri, port => $port,
                     defined $key ? ('X-API-Key' => $key) : (),
                     'Connection' => 'close');
    $r->{elapsed} = time() - $t0;
    return $r;
}

sub workers {
    my ($t) = @_;
    my $master = $t->master_pid() or return ();
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        # any child of the master (under valgrind it is not called nginx)
        push @w, $1 if $line =~ /^(\d+) \(.*?\) \S+ (\d+)/ && $2 == $master;
    }
    return sort @w;
}

sub fds { my $pid = shift; my @f = glob "/proc/$pid/fd/*"; scalar @f }

# wait until both workers are connected (their log says "ready")
sub wait_ready {
    my ($t, $n) = @_;
    my $end = time() + 5;
    while (time() < $end) {
        my @l = grep { /Redis .* ready/ } split /\n/, $t->read_file('error.log');
        return 1 if @l >= $n;
        sleep 0.05;
    }
    return 0;
}

ok(wait_ready($t, 2), 'both workers connected to Redis');

# refusals before the limits are answered at once, with no Redis trip:
# the limits step only runs for a known partner on a known route

my $cmds = $t->redis_cli('INFO', 'stats') =~ /total_commands_processed:(\d+)/
    ? $1 : -1;
is_problem(get($p, '/v2/shipments/1', undef), 401, 'unauthorized',
           'Redis configured: no key is 401');
is_problem(get($p, '/v2/shipments/1', 'rd-unknown-key'), 401,
           'unauthorized', 'an unknown key is 401');
is_problem(get($p, '/v2/nothing/1', $K{open}), 404, 'not-found',
           'an unknown path is 404');
my $after = $t->redis_cli('INFO', 'stats') =~ /total_commands_processed:(\d+)/
    ? $1 : -1;
is($after - $cmds, 1, 'the three refusals cost Redis nothing '
   . '(the one command counted is this INFO)');

# limits live in Redis

my $r;

my @rs = map { get($p, '/v2/shipments/1', $K{limited}) } 1 .. 10;
is_deeply([map { $_->{status} } @rs], [(200) x 10],
          'burst 9: ten requests pass');

# the script answers each limit with one number (lg_redis_script.h); the
# gateway derives what the headers say from it and the rate: the same
# figures as the zone's arithmetic (t/30)
my @hd = map { hdr($_, 'ratelimit') // '' } @rs;
is_deeply([map { /"partner";r=(\d+);/ ? $1 : 'none' } @hd],
          [reverse 0 .. 9], 'RateLimit remaining counts 9 down to 0');
my @reset = map { /;t=(\d+)$/ ? $1 : 0 } @hd;
ok(!grep({ $reset[$_] < 3600 * $_ || $reset[$_] > 3600 * ($_ + 1) } 0 .. 9),
   'and its reset grows by the interval, one hour per request: '
   . "@reset[0, 9]");
$r = get($p, '/v2/shipments/1', $K{limited});
is($r->{status}, 429, 'the eleventh is refused');
my $retry = hdr($r, 'retry-after') // '';
ok($retry =~ /^\d+$/ && $retry > 3590 && $retry <= 3600,
   "refused until one interval has passed: Retry-After $retry");
like(hdr($r, 'ratelimit') // '', qr/^"partner";r=0;t=(3599\d|36000)$/,
     'RateLimit: none left, full again in ten hours');
is($t->redis_cli('EXISTS', 'lg:{limited}:rl'), '1',
   'the limit state is the Redis key lg:{limited}:rl');
# limit states are bounded by the policy: written without a lifetime
# (issue 13), removed by `logistics-policy redis-cleanup` when their
# partner or route leaves
is($t->redis_cli('PTTL', 'lg:{limited}:rl'), '-1',
   'the limit state has no lifetime (PTTL -1)');

# a second gateway instance shares them

my $t2 = Lg::Test->new();
my $p2 = gateway($t2);
ok(wait_ready($t2, 2), 'second instance connected');
is(get($p2, '/v2/shipments/1', $K{limited})->{status}, 429,
   'the second instance sees the limit exhausted on the first');

# suspension recorded in Redis, checked in the same round trip

is(get($p, '/v2/shipments/1', $K{open})->{status}, 200, 'partner allowed');
$t->redis_cli('SET', 'lg:{open}:suspended', '1', 'EX', '60');
$r = get($p, '/v2/shipments/1', $K{open});
is_problem($r, 401, 'unauthorized', 'suspended in Redis: 401 on node 1');
is(get($p2, '/v2/shipments/1', $K{open})->{status}, 401,
   'and on node 2');
$t->redis_cli('DEL', 'lg:{open}:suspended');
is(get($p, '/v2/shipments/1', $K{open})->{status}, 200,
   'reinstated when the key is deleted');

# the same through the policy CLI
my $cli = $ENV{LG_CLI} || "$FindBin::Bin/../build/logistics-policy";
my $out = `$cli suspend open --redis 127.0.0.1:$rport --ttl 60 2>&1`;
is($? >> 8, 0, 'logistics-policy suspend exits 0');
like($out, qr/SET 'lg:\{open\}:suspended' 1 EX 60/,
     'and prints the equivalent redis-cli command');
is(get($p2, '/v2/shipments/1', $K{open})->{status}, 401,
   'suspended by the CLI: 401');
$out = `$cli reinstate open --redis 127.0.0.1:$rport 2>&1`;
is($? >> 8, 0, 'logistics-policy reinstate exits 0');
is(get($p2, '/v2/shipments/1', $K{open})->{status}, 200,
   'reinstated by the CLI: 200');

$t2->finish();

# Redis killed: connection refused, fail open keeps local limits

my @w = workers($t);
is(scalar @w, 2, 'two workers');
my %fd_before = map { ($_ => fds($_)) } @w;

$t->stop_redis();

my $max = 0;
my @codes;
for (1 .. 20) {
    my $res = get($p, '/v2/shipments/1', $K{open});
    push @codes, $res->{status};
    $max = $res->{elapsed} if $res->{elapsed} > $max;
}
is_deeply([grep { $_ != 200 } @codes], [],
          'Redis down, fail open: requests pass on local limits');
cmp_ok($max, '<', 0.6, "no request waited more than timeout + margin"
       . sprintf(' (max %.3fs)', $max));

$r = get($p, '/closed/v2/shipments/1', $K{open});
is_problem($r, 503, 'unavailable', 'fail closed location: 503');
ok((hdr($r, 'retry-after') // '') =~ /^\d+$/, '503 carries Retry-After');

# local limits still apply while failing open: the zone has no state for
# "limited" yet, so it admits burst + 1 and then refuses
my $ok = grep { $_ == 200 }
         map { get($p, '/v2/shipments/1', $K{limited})->{status} } 1 .. 25;
ok($ok >= 10 && $ok <= 20,
   "fail open uses the same limit locally ($ok of 25 passed)");

# Redis restarted: reconnects by itself within a second

$t->run_redis(port => $rport);
sleep 1.0;
is(get($p, '/v2/shipments/1', $K{open})->{status}, 200,
   'after a restart requests pass');
$t->redis_cli('SET', 'lg:{open}:suspended', '1');
is(get($p, '/v2/shipments/1', $K{open})->{status}, 401,
   'within a second of the restart Redis decides again');
$t->redis_cli('DEL', 'lg:{open}:suspended');

# the node keeps a copy of a suspension it saw (issue 12) until Redis says
# it is lifted: one answer from Redis per worker clears it
for (1 .. 4) {
    get($p, '/v2/shipments/1', $K{open});
}
is(get($p, '/v2/shipments/1', $K{open})->{status}, 200,
   'reinstated in Redis: 200, and the local copy is gone');

my $log = $t->read_file('error.log');
my @outages = $log =~ /Redis "[^"]+" unavailable/g;
ok(@outages >= 1 && @outages <= 4,
   'each worker logged the outage once, not per request ('
   . scalar(@outages) . ' lines for ' . (20 + 1 + 25) . ' fallbacks)');
like($log, qr/Redis "[^"]+" answers again after \d+ fallbacks/,
     'the recovery is logged with the count');

# Redis frozen: replies never come, each request waits at most the timeout

kill 'STOP', $t->redis_pid();
$max = 0;
@codes = ();
for (1 .. 8) {
    my $res = get($p, '/v2/shipments/1', $K{open});
    push @codes, $res->{status};
    $max = $res->{elapsed} if $res->{elapsed} > $max;
}
is_deeply([grep { $_ != 200 } @codes], [], 'frozen Redis, fail open: 200s');
cmp_ok($max, '<', 0.6, sprintf('frozen Redis: max wait %.3fs', $max));
$r = get($p, '/closed/v2/shipments/1', $K{open});
is($r->{status}, 503, 'frozen Redis, fail closed: 503');
kill 'CONT', $t->redis_pid();
sleep 1.0;
$t->redis_cli('SET', 'lg:{open}:suspended', '1');
is(get($p, '/v2/shipments/1', $K{open})->{status}, 401,
   'thawed: Redis decides again within a second');
$t->redis_cli('DEL', 'lg:{open}:suspended');

# no worker died, no descriptor leaked

is_deeply([workers($t)], \@w, 'the same two workers are alive');
for my $pid (@w) {
    cmp_ok(fds($pid), '<=', $fd_before{$pid} + 1,
           "worker $pid: no file descriptor leak"
           . " ($fd_before{$pid} before, " . fds($pid) . ' after)');
}

$t->finish();

# wrong password: AUTH fails, the fail mode applies, the log says why

my $t3 = Lg::Test->new();
$t3->run_redis(password => 's3cret');
$rport = $t3->redis_port();
my $p3 = gateway($t3, password => 'wrong');
sleep 0.5;
$r = get($p3, '/v2/shipments/1', $K{open});
is($r->{status}, 200, 'AUTH failure, fail open: request passes');
$r = get($p3, '/closed/v2/shipments/1', $K{open});
is($r->{status}, 503, 'AUTH failure, fail closed: 503');
like($t3->read_file('error.log'), qr/AUTH failed: .*(WRONGPASS|invalid)/i,
     'the error log says AUTH failed');
$t3->stop();   # its redis-server stays up for the next instance

my $t4 = Lg::Test->new();
$t4->{redis_port} = $rport;
$t4->{redis_password} = 's3cret';
my $p4 = gateway($t4, password => 's3cret');
ok(wait_ready($t4, 2), 'right password: connected');
$t3->redis_cli('SET', 'lg:{open}:suspended', '1');
is(get($p4, '/v2/shipments/1', $K{open})->{status}, 401,
   'authenticated connection reads Redis');

$t3->finish();
$t4->finish();

# one slow command does not drop the connection for every request in
# flight (issue 12): A's call times out while Redis is stopped (SIGSTOP);
# B, sent 0.25s later, is answered by Redis once it resumes, within its
# own timeout; the connection is never dropped

my $t5 = Lg::Test->new();
$rport = $t5->run_redis();
$t5->write_file('policy.json', $policy);
$t5->write_config($t5->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone lgslow:1m;\n"
        . "    logistics_redis 127.0.0.1:$rport connect_timeout=100ms"
        . " timeout=600ms;"));
$t5->run_stub();
$t5->run();
my $p5 = $t5->port(0);
ok(wait_ready($t5, 1), 'slow-command gateway connected');
is(get($p5, '/v2/shipments/1', $K{open})->{status}, 200, 'warm');

# only Redis knows that "open" is suspended: a 401 comes from Redis
$t5->redis_cli('SET', 'lg:{open}:suspended', '1');

sub start_req {
    my ($key) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p5") or die $!;
    print $s "GET /v2/shipments/1 HTTP/1.1\r\nHost: localhost\r\n"
           . "X-API-Key: $key\r\nConnection: close\r\n\r\n";
    return $s;
}

sub finish_req {
    my ($s) = @_;
    local $/;
    my $raw = <$s> // '';
    close $s;
    return $raw =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
}

my @w5 = workers($t5);
my $off = length $t5->read_file('error.log');
kill 'STOP', $t5->redis_pid();
my $t0 = time();
# C leaves while its call waits: its reply, when it comes, must touch
# nothing of the request (ASan and valgrind runs check it)
my $rc = start_req($K{open});
my $ra = start_req($K{limited});
sleep 0.1;
close $rc;
sleep 0.15;
my $rb = start_req($K{open});
sleep(0.75 - (time() - $t0));
kill 'CONT', $t5->redis_pid();
my $sa = finish_req($ra);
my $sb = finish_req($rb);
my $spent = time() - $t0;

is($sa, 200, 'A: its call timed out, it failed open');
is($sb, 401, 'B: answered by Redis after the stall (suspended there)');
unlike(substr($t5->read_file('error.log'), $off), qr/reconnecting/,
       'the connection was not dropped');
cmp_ok($spent, '<', 2, sprintf('both answered in %.2fs', $spent));
is(get($p5, '/v2/shipments/1', $K{open})->{status}, 401,
   'and the next request is answered by Redis at once');
is_deeply([workers($t5)], \@w5,
          'the reply for the request that left was dropped harmlessly');
$t5->redis_cli('DEL', 'lg:{open}:suspended');

$t5->done_testing();
