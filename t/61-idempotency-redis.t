#!/usr/bin/perl

# Idempotency-Key with Redis: the claim rides in the limit script's round
# trip (after the body, whose fingerprint it needs), so a new idempotent
# request costs two round trips (limits + claim, store) and a replay one.
# A request that the limits or a suspension refuse, or whose body is
# refused, leaves no claim behind, and a refused body still counts
# against the limits and yields to 429 the way it does on routes without
# idempotency.  Redis down: open passes without idempotency ("bypassed"),
# closed answers 503.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(sleep time);
use POSIX ();

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my %K = (fast => 'idr-fast-key', slow => 'idr-slow-key',
         picky => 'idr-picky-key');


my $t = Lg::Test->new();

$t->write_file('schemas/ship.json', JSON::PP->new->canonical->encode({
    type => 'object', required => ['ref'],
    properties => { ref => { type => 'string' } },
}));

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    idempotency => { ttl => '1h', lock_ttl => '10s' },
    scopes => { 'shipments:write' => '' },
    partners => {
        fast => { scopes => ['shipments:write'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{fast}) }],
                  rate_limit => { rate => '100000/s', burst => 1000 } },
        slow => { scopes => ['shipments:write'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{slow}) }],
                  rate_limit => { rate => '1/h', burst => 2 } },
        picky => { scopes => ['shipments:write'],
                   api_keys => [{ id => 'k', sha256 => key_sha256($K{picky}) }],
                   rate_limit => { rate => '1/h', burst => 2 } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'create', method => 'POST', path => '/shipments',
              scopes => ['shipments:write'], idempotency => 'required',
              schema => 'schemas/ship.json' },
        ] } },
}));

my $rport = $t->run_redis();

$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone z:1m;\n"
        . "    logistics_redis 127.0.0.1:$rport connect_timeout=100ms"
        . " timeout=100ms;\n"
        . "    log_format idem '\$logistics_request_id \$logistics_idempotency';",
    server_extra => <<'EOF'), workers => 2);
        access_log %%TESTDIR%%/idem.log idem;

        location /closed/ {
            logistics_gateway on;
            logistics_fail_mode closed;
            rewrite ^/closed(/.*)$ $1 break;
            proxy_pass http://odoo;
        }
EOF
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub wait_ready {
    my $end = time() + 5;
    while (time() < $end) {
        my @l = grep { /Redis .* ready/ } split /\n/, $t->read_file('error.log');
        return 1 if @l >= 2;
        sleep 0.05;
    }
    return 0;
}

ok(wait_ready(), 'both workers connected to Redis');

sub post {
    my ($who, $key, $body, %o) = @_;
    return http_req('POST', $o{uri} // '/v2/shipments', port => $p,
                    body => $body,
                    headers => [ 'X-API-Key' => $K{$who},
                                 'Content-Type' => 'application/json',
                                 (defined $key ? ('Idempotency-Key' => $key)
                                               : ()) ]);
}

sub state_of {
    my ($res) = @_;
    my $rid = hdr($res, 'x-request-id') // '';
    my $line = $t->wait_log_line('idem.log', qr/^\Q$rid\E /) // '';
    return (split / /, $line)[1] // '';
}

# the commands clients sent (not those scripts ran) while $code runs,
# as seen by MONITOR: [ "EVALSHA", "EVAL", ... ]
sub top_level_commands {
    my ($code) = @_;
    my $file = $t->testdir() . '/monitor.out';
    unlink $file;
    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', $file or POSIX::_exit(1);
        exec 'redis-cli', '-p', $rport, 'MONITOR' or POSIX::_exit(127);
    }
    my $end = time() + 5;
    sleep 0.05 until (-s $file // 0) > 0 || time() > $end;   # its "OK"
    $code->();
    sleep 0.3;                  # the stores go out after the responses
    kill 'TERM', $pid;
    waitpid($pid, 0);
    my @cmds;
    for (split /\n/, $t->read_file('monitor.out')) {
        push @cmds, uc $1 if /^\d+\.\d+ \[\d+ [\d.]+:\d+\] "(\w+)"/;
    }
    return \@cmds;
}

sub claimed { $t->redis_cli('EXISTS', "lg:{$_[0]}:idem:$_[1]") }

my $run = int(rand 1e9);

# round trips: limits and claim in one EVALSHA, the store in a plain SET
# PX (the lock, 10 s, cannot have expired: no compare-and-swap script)

my $n = 20;
my @st;
my $cmds = top_level_commands(sub {
    @st = map { post('fast', "rt-$run-$_", '{"ref":"r' . $_ . '"}')->{status} }
          1 .. $n;
});
is_deeply(\@st, [(201) x $n], "$n new idempotent requests forwarded");
is(scalar(@$cmds), 2 * $n, 'two Redis round trips per request')
    or diag("@$cmds");
is(scalar(grep { $_ eq 'EVALSHA' } @$cmds), $n,
   'one EVALSHA each: revocation, limits and claim');
is(scalar(grep { $_ eq 'SET' } @$cmds), $n,
   'one SET each: the store, without a script');
is(scalar(grep { $_ eq 'EVAL' } @$cmds), 0,
   'no EVAL: the limits call a loaded script by its SHA1');

my $r;
$cmds = top_level_commands(sub {
    $r = post('fast', "rt-$run-1", '{"ref":"r1"}');
});
is(hdr($r, 'idempotent-replayed'), 'true', 'a retry replays');
is_deeply($cmds, ['EVALSHA'], 'a replay costs one round trip');

# SCRIPT FLUSH: the scripts are loaded again (NOSCRIPT), and the limits,
# the claim and the store all go through

$t->redis_cli('SCRIPT', 'FLUSH');
is(post('fast', "flushed-$run", '{"ref":"f"}')->{status}, 201,
   'after SCRIPT FLUSH a new idempotent request is forwarded');
sleep 0.3;
$r = post('fast', "flushed-$run", '{"ref":"f"}');
is(hdr($r, 'idempotent-replayed'), 'true',
   'and its response was stored: the retry replays');

# a retry sent the moment the response arrives finds the response stored:
# the store reaches Redis before the partner sees the response

my %again;
for my $i (1 .. 40) {
    my $first = post('fast', "quick-$run-$i", '{"ref":"q"}');
    my $retry = post('fast', "quick-$run-$i", '{"ref":"q"}');
    $again{ hdr($retry, 'idempotent-replayed') ? 'replay'
            : $retry->{status} }++;
}
is_deeply(\%again, { replay => 40 },
          'immediate retries are replays, never 409 ('
          . join(', ', map { "$_: $again{$_}" } sort keys %again) . ')');

# a refused request leaves no claim

my @codes;
for my $i (1 .. 4) {
    my $res = post('slow', "slow-$run-$i", '{"ref":"x"}');
    push @codes, $res->{status};
    if ($res->{status} == 429) {
        like(hdr($res, 'retry-after') // '', qr/^\d+$/, '429 has Retry-After');
        is_problem($res, 429, 'rate-limited', 'over the limit: 429');
        is(claimed('slow', "slow-$run-$i"), '0',
           'the refused request claimed nothing');
    }
}
is_deeply(\@codes, [201, 201, 201, 429], 'burst 2: three pass, one 429');
is(claimed('slow', "slow-$run-1"), '1', 'an admitted request stored its key');

$t->redis_cli('SET', 'lg:{fast}:suspended', '1', 'EX', '60');
$r = post('fast', "susp-$run", '{"ref":"s"}');
is_problem($r, 401, 'unauthorized', 'suspended partner: 401');
is(claimed('fast', "susp-$run"), '0', 'the suspended request claimed nothing');
$t->redis_cli('DEL', 'lg:{fast}:suspended');
is(post('fast', "susp-$run", '{"ref":"s"}')->{status}, 201,
   'reinstated: the same key is usable');

# a refused body counts against the limits, and 429 comes first

$r = post('picky', "picky-$run-1", '{"ref":1}');
is_problem($r, 422, 'invalid-body', 'schema failure: 422');
like(hdr($r, 'ratelimit') // '', qr/"partner";r=\d+/,
     'the 422 went through the limits (RateLimit header)');
is(post('picky', "picky-$run-2", '{"ref":')->{status}, 400,
   'malformed JSON: 400');
is(post('picky', "picky-$run-3", '{"ref":2}')->{status}, 422,
   'another schema failure: 422');
$r = post('picky', "picky-$run-4", '{"ref":3}');
is_problem($r, 429, 'rate-limited',
           'the limit spent by refused bodies: 429 before the body check');
$r = post('picky', "picky-$run-5", '{"ref":"ok"}');
is($r->{status}, 429, 'a valid body is refused as well');
is(join('', map { claimed('picky', "picky-$run-$_") } 1 .. 5), '00000',
   'no claims from refused bodies or refused requests');

# missing and malformed keys take the usual path (limits first)

$r = post('fast', undef, '{"ref":"m"}');
is_problem($r, 400, 'idempotency-key', 'missing key: 400');
like(hdr($r, 'ratelimit') // '', qr/"partner"/, 'after the limits');
$r = post('fast', "bad key", '{"ref":"m"}');
is_problem($r, 400, 'idempotency-key', 'malformed key: 400');

# Redis down: the fail mode decides

$t->stop_redis();

$r = post('fast', "down-$run", '{"ref":"d"}');
is($r->{status}, 201, 'Redis down, fail open: the request passes');
is(state_of($r), 'bypassed', '$logistics_idempotency is bypassed');

$r = post('fast', "down-$run", '{"ref":"d"}', uri => '/closed/v2/shipments');
is_problem($r, 503, 'unavailable', 'Redis down, fail closed: 503');
like(hdr($r, 'retry-after') // '', qr/^\d+$/, '503 has Retry-After');

$r = post('picky', "down-$run", '{"ref":5}', uri => '/closed/v2/shipments');
is($r->{status}, 503, 'fail closed answers 503 before the body check');

$t->run_redis();
ok(wait_ready(), 'Redis back');
my $end = time() + 3;
my $k = "back-$run";
do { $r = post('fast', $k, '{"ref":"b"}'); sleep 0.1 if $r->{status} != 201 }
    while ($r->{status} != 201 || state_of($r) ne 'new') && time() < $end;
is(state_of($r), 'new', 'Redis back: idempotency again');

$t->finish();

done_testing();
