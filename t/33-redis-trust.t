#!/usr/bin/perl

# Failures never weaken a security decision (issue 12).  With Redis down,
# a partner suspension or a token revocation this node has seen is still
# refused (the local copy, with the lifetime Redis gave it), while rate
# limits fail open; revocation_fail_mode "closed" makes such requests 503
# instead.  One slow command (Redis stopped with SIGSTOP for less than a
# second) does not drop the connection for every request in flight.  A
# request refused by the limits costs Redis no more than an allowed one.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Digest::SHA qw(hmac_sha256);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(time sleep);

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my $SECRET = 'redis-trust-test-secret-0123456789abcdef-012345';
my %K = map { ($_ => "rt-$_-key") } qw(open gone slow limited);

sub policy {
    my (%o) = @_;
    return JSON::PP->new->canonical->encode({
        %o,
        issuers => { hs => { iss => 'https://hs.test', audiences => ['api'],
                             algorithms => ['HS256'],
                             shared_secret_file => 'secret.key' } },
        scopes => { 'r' => '' },
        partners => {
            (map { ($_ => { scopes => ['r'],
                            api_keys => [{ id => 'k',
                                           sha256 => key_sha256($K{$_}) }],
                            jwt => { issuer => 'hs', client_id => $_ } }) }
                 qw(open gone slow)),
            limited => { scopes => ['r'],
                         api_keys => [{ id => 'k',
                                        sha256 => key_sha256($K{limited}) }],
                         rate_limit => { rate => '1/h', burst => 1 } },
        },
        apis => { things => {
            versions => { v2 => { upstream_prefix => '' } },
            routes => [{ id => 'get', method => 'GET', path => '/things/{id}',
                         scopes => ['r'], auth => ['api_key', 'bearer'] }],
        } },
    });
}

sub token {
    my ($partner, $jti) = @_;
    my $h = encode_base64url('{"alg":"HS256","typ":"JWT"}');
    my $c = encode_base64url(JSON::PP->new->canonical->encode({
        iss => 'https://hs.test', aud => 'api', exp => time() + 3600,
        client_id => $partner, jti => $jti, scope => 'r' }));
    return "$h.$c." . encode_base64url(hmac_sha256("$h.$c", $SECRET));
}

sub gateway {
    my ($t, $timeout, %o) = @_;
    my $rport = $t->redis_port();
    $t->write_file('secret.key', $SECRET);
    chmod 0600, $t->testdir() . '/secret.key';
    $t->write_file('policy.json', policy(%o));
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone rtrust:1m;\n"
            . "    logistics_redis 127.0.0.1:$rport"
            . " connect_timeout=100ms timeout=$timeout;"));
    $t->run_stub();
    $t->run();
    return $t->port(0);
}

sub wait_ready {
    my ($t) = @_;
    my $end = time() + 5;
    while (time() < $end) {
        return 1 if $t->read_file('error.log') =~ /Redis .* ready/;
        sleep 0.05;
    }
    return 0;
}

my $t = Lg::Test->new();
$t->run_redis();
my $p = gateway($t, '200ms');
ok(wait_ready($t), 'connected to Redis');

sub get {
    my ($port, %h) = @_;
    return http_get('/v2/things/1', port => $port, %h);
}

# what Redis says is suspended or revoked, the node remembers

$t->redis_cli('SET', 'lg:{gone}:suspended', '1');
$t->redis_cli('SET', 'lg:{open}:jti:revoked-1', '1', 'EX', '3600');
$t->redis_cli('SET', 'lg:{open}:jti:short-1', '1', 'PX', '1500');

is(get($p, 'X-API-Key' => $K{gone})->{status}, 401,
   'suspended in Redis: 401');
is(get($p, Authorization => 'Bearer ' . token('open', 'revoked-1'))
       ->{status}, 401, 'revoked in Redis: 401');
is(get($p, Authorization => 'Bearer ' . token('open', 'short-1'))
       ->{status}, 401, 'revoked for 1.5s: 401');
is(get($p, 'X-API-Key' => $K{open})->{status}, 200, 'the others: 200');

$t->stop_redis();

my $r = get($p, 'X-API-Key' => $K{gone});
is_problem($r, 401, 'unauthorized',
           'Redis down: the suspension seen is still refused');
$r = get($p, Authorization => 'Bearer ' . token('open', 'revoked-1'));
is_problem($r, 401, 'invalid-token',
           'Redis down: the revoked token is still refused');
is(get($p, 'X-API-Key' => $K{open})->{status}, 200,
   'Redis down: other requests fail open');
is(get($p, Authorization => 'Bearer ' . token('open', 'fresh-1'))->{status},
   200, 'Redis down: a token never seen revoked fails open');
sleep 1.6;
is(get($p, Authorization => 'Bearer ' . token('open', 'short-1'))->{status},
   200, 'the local copy ends with the lifetime Redis gave the key');

$t->finish();

# revocation_fail_mode closed: 503 for whatever needs the check

my $t2 = Lg::Test->new();
$t2->run_redis();
my $p2 = gateway($t2, '200ms', revocation_fail_mode => 'closed');
ok(wait_ready($t2), 'second gateway connected');
is(get($p2, 'X-API-Key' => $K{open})->{status}, 200, 'closed: 200 with Redis');
$t2->stop_redis();
$r = get($p2, 'X-API-Key' => $K{open});
is_problem($r, 503, 'unavailable',
           'revocation_fail_mode closed, Redis down: 503 (the limits\' '
           . 'fail mode is open)');
ok((hdr($r, 'retry-after') // '') =~ /^\d+$/, 'with Retry-After');
$t2->finish();

# one slow command does not drop the connection for every request in
# flight: A's call times out while Redis is stopped, B's is answered by
# Redis once it resumes, within B's own timeout

my $t3 = Lg::Test->new();
$t3->run_redis();
my $p3 = gateway($t3, '600ms');
ok(wait_ready($t3), 'third gateway connected');
is(get($p3, 'X-API-Key' => $K{open})->{status}, 200, 'warm');

# only Redis knows that "slow" is suspended: a 401 comes from Redis
$t3->redis_cli('SET', 'lg:{slow}:suspended', '1');

sub start_req {
    my ($key) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p3") or die $!;
    print $s "GET /v2/things/1 HTTP/1.1\r\nHost: localhost\r\n"
           . "X-API-Key: $key\r\nConnection: close\r\n\r\n";
    return $s;
}

sub finish_req {
    my ($s) = @_;
    local $/;
    my $raw = <$s> // '';
    close $s;
    return parse_response($raw);
}

my $off = length $t3->read_file('error.log');
kill 'STOP', $t3->redis_pid();
my $t0 = time();
my $a = start_req($K{open});
sleep 0.25;
my $b = start_req($K{slow});
sleep(0.75 - (time() - $t0));
kill 'CONT', $t3->redis_pid();
my $ra = finish_req($a);
my $rb = finish_req($b);
my $spent = time() - $t0;

is($ra->{status}, 200, 'A: its call timed out, it failed open');
is($rb->{status}, 401,
   'B: answered by Redis after the stall (partner suspended there)');
unlike(substr($t3->read_file('error.log'), $off),
       qr/reconnecting/, 'the connection was not dropped');
cmp_ok($spent, '<', 2, sprintf('both answered in %.2fs', $spent));
is(get($p3, 'X-API-Key' => $K{open})->{status}, 200,
   'and it serves the next request at once');
$t3->redis_cli('DEL', 'lg:{slow}:suspended');

# a refused request costs Redis no more than an allowed one

sub calls {
    my %c;
    for (split /\r?\n/, $t3->redis_cli('INFO', 'commandstats')) {
        $c{$1} = $2 if /^cmdstat_(\w+):calls=(\d+)/;
    }
    my $n = 0;
    $n += $c{$_} for grep { !/^(info|config)$/ } keys %c;
    return ($n, $c{set} // 0);
}

$t3->redis_cli('CONFIG', 'RESETSTAT');
my @st = map { get($p3, 'X-API-Key' => $K{limited})->{status} } 1 .. 2;
my ($allowed, $allowed_sets) = calls();
is_deeply(\@st, [200, 200], 'burst 1: two allowed');

$t3->redis_cli('CONFIG', 'RESETSTAT');
@st = map { get($p3, 'X-API-Key' => $K{limited})->{status} } 1 .. 2;
my ($refused, $refused_sets) = calls();
is_deeply(\@st, [429, 429], 'then two refused');
cmp_ok($refused, '<=', $allowed,
       "Redis commands for two refused ($refused) <= two allowed ($allowed)");
is($refused_sets, 0, 'a refused request writes nothing to Redis');

$t3->done_testing();
