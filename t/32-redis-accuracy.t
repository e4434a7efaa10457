#!/usr/bin/perl

# Accuracy of a shared limit: two gateway instances on one Redis, hammered
# at the same time by two wrk processes, admit no more than the limit plus
# the burst over the run, and no fewer than 99% of it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(time sleep);

plan skip_all => 'redis-server and wrk needed'
    unless system('command -v redis-server >/dev/null 2>&1 '
                  . '&& command -v wrk >/dev/null 2>&1') == 0;

# a rate measured over wall-clock time means nothing under valgrind
plan skip_all => 'accuracy is not measurable under valgrind'
    if $ENV{LG_VALGRIND};

my $KEY = 'acc-key';
my $sha = key_sha256($KEY);

my ($RATE, $BURST, $SECONDS) = (200, 20, 4);

my $policy = JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    partners => { acc => { scopes => ['tracking:read'],
        api_keys => [{ id => 'k', sha256 => $sha }],
        rate_limit => { rate => "$RATE/s", burst => $BURST } } },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [{ id => 'get', method => 'GET',
                     path => '/shipments/{id}', scopes => ['tracking:read'] }],
    } },
});

my $t1 = Lg::Test->new();
my $rport = $t1->run_redis();
my $t2 = Lg::Test->new();

for my $t ($t1, $t2) {
    $t->write_file('policy.json', $policy);
    # the upstream answers from memory: the gateways are what is measured
    $t->write_config(<<EOF, workers => 1);
    logistics_policy %%TESTDIR%%/policy.json;
    logistics_zone lgstate:1m;
    logistics_redis 127.0.0.1:$rport timeout=200ms;
    log_format st '\$status';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log %%TESTDIR%%/status.log st;
        location / {
            logistics_gateway on;
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log off;
        location / { return 200 "ok\\n"; }
    }
EOF
    $t->run();
}

sleep 0.5;

my $t0 = time();
my @pids;
for my $t ($t1, $t2) {
    my $pid = fork();
    if ($pid == 0) {
        open STDOUT, '>', $t->testdir() . '/wrk.out';
        open STDERR, '>&', \*STDOUT;
        { exec 'wrk', '-t1', '-c8', "-d${SECONDS}s", '-H', "X-API-Key: $KEY",
              'http://127.0.0.1:' . $t->port(0) . '/v2/shipments/1'; }
        POSIX::_exit(127);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
my $elapsed = time() - $t0;

my ($ok, $limited) = (0, 0);
for my $t ($t1, $t2) {
    $t->stop();
    for (split /\n/, $t->read_file('status.log')) {
        $ok++ if $_ eq '200';
        $limited++ if $_ eq '429';
    }
}

# the run lasted at most $elapsed seconds (process start included)
my $max = int($RATE * $elapsed) + $BURST + 1;
my $floor = int(0.99 * $RATE * $SECONDS);

cmp_ok($limited, '>', 0, "the limit was hit ($limited refused)");
cmp_ok($ok, '<=', $max,
       "admitted $ok <= rate x time + burst ($max) across two nodes");
cmp_ok($ok, '>=', $floor, "admitted $ok >= 99% of rate x time ($floor)");
diag(sprintf('%d admitted, %d refused in %.2fs; %.1f%% of %d/s',
             $ok, $limited, $elapsed, 100 * $ok / ($RATE * $SECONDS), $RATE));

$t1->finish();
$t2->done_testing();
