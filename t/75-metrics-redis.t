#!/usr/bin/perl

# The counters of the steps, not only of finished requests: Redis
# (commands by kind, round trips, the connection's state, errors,
# reconnects, fail-open decisions when it is gone), rate-limit outcomes
# by backend, bearer tokens (the verified-token cache, authentications by
# method) and the idempotency outcome and stored bytes.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use JSON::PP;
use Time::HiRes qw(time sleep);
use Lg::Test;

plan skip_all => 'redis-server not installed'
    unless system('command -v redis-server >/dev/null 2>&1') == 0;

my %K = (limited => 'mr-limited-key', open => 'mr-open-key');
my $SECRET = 'metrics-test-shared-secret-0123456789abcdef';

my $policy = JSON::PP->new->canonical->encode({
    scopes => { 's' => '' },
    issuers => { idp => { iss => 'https://idp.test', audiences => ['gw'],
                          algorithms => ['HS256'],
                          shared_secret_file => 'secret' } },
    partners => {
        limited => { scopes => ['s'],
                     api_keys => [{ id => 'k', sha256 => key_sha256($K{limited}) }],
                     rate_limit => { rate => '1/h', burst => 2 } },
        open => { scopes => ['s'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{open}) }],
                  jwt => { issuer => 'idp', client_id => 'open' },
                  rate_limit => { rate => '100000/s', burst => 1000 } },
    },
    idempotency => { ttl => '1h', lock_ttl => '10s' },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'shipments.get', method => 'GET', path => '/shipments/{id}',
              scopes => ['s'], auth => ['api_key', 'bearer'] },
            { id => 'shipments.create', method => 'POST',
              path => '/shipments', scopes => ['s'],
              idempotency => 'optional' },
        ],
    } },
});

my $t = Lg::Test->new();
my $rport = $t->run_redis();

$t->write_file('policy.json', $policy);
$t->write_file('secret', $SECRET);
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone lgstate:1m;\n"
        . "    logistics_metrics_zone metrics:1m;\n"
        . "    logistics_redis 127.0.0.1:$rport"
        . " connect_timeout=100ms timeout=200ms;\n"
        . "    server {\n"
        . "        listen 127.0.0.1:%%PORT_1%%;\n"
        . "        location /metrics { logistics_metrics; }\n"
        . "    }"));
$t->run_stub();
$t->run();

my $p = $t->port(0);

sub samples {
    my $r = http_get('/metrics', port => $t->port(1));
    my %s;
    for (split /\n/, $r->{body}) {
        $s{$1} = $2 if /^([^#]\S*) (\S+)$/;
    }
    return \%s;
}

sub wait_metric {
    my ($key, $want) = @_;
    my $end = time() + 10;
    my $v;
    while (time() < $end) {
        $v = samples()->{$key} // 0;
        return $v if $v == $want;
        sleep 0.1;
    }
    return $v;
}

sub get {
    my ($key, %h) = @_;
    return http_get('/v2/shipments/1', port => $p,
                    defined $key ? ('X-API-Key' => $key) : (), %h);
}

sub token {
    my ($sub) = @_;
    my $h = encode_base64url('{"alg":"HS256","typ":"JWT"}');
    my $now = time();
    my $c = encode_base64url(encode_json({
        iss => 'https://idp.test', aud => 'gw', client_id => 'open',
        sub => $sub, scope => 's', iat => int($now),
        exp => int($now) + 600 }));
    return "$h.$c." . encode_base64url(hmac_sha256("$h.$c", $SECRET));
}

is(wait_metric('logistics_redis_connections{state="connected"}', 1), 1,
   'the worker\'s connection to Redis: connected');

my $s = samples();
ok(($s->{'logistics_redis_commands_total{command="setup"}'} // 0) >= 1,
   'setup commands counted (SCRIPT LOAD)');

# limits in Redis: 3 allowed (burst 2), then 429

my @st = map { get($K{limited})->{status} } 1 .. 5;
is("@st", '200 200 200 429 429', 'the limited partner: 3 then 429');

$s = samples();
is($s->{'logistics_redis_commands_total{command="limit"}'}, 5,
   'one limit command per request');
is($s->{'logistics_redis_round_trip_seconds_count'}, 5,
   'five round trips timed');
is($s->{'logistics_rate_limit_decisions_total{partner="limited",'
        . 'limit="partner",backend="redis",outcome="allowed"}'}, 3,
   'Redis allowed 3');
is($s->{'logistics_rate_limit_decisions_total{partner="limited",'
        . 'limit="partner",backend="redis",outcome="limited"}'}, 2,
   'Redis limited 2');
is($s->{'logistics_redis_errors_total{kind="reply"}'}, 0, 'no error reply');

# bearer tokens: the cache misses once, then hits

my $tok = token('alice');
is(get(undef, Authorization => "Bearer $tok")->{status}, 200, 'a token');
is(get(undef, Authorization => "Bearer $tok")->{status}, 200, 'again');
$s = samples();
is($s->{'logistics_token_cache_lookups_total{issuer="idp",result="miss"}'},
   1, 'token cache: one miss');
is($s->{'logistics_token_cache_lookups_total{issuer="idp",result="hit"}'},
   1, 'token cache: one hit');
is($s->{'logistics_authentications_total{method="bearer",result="success"}'},
   2, 'two bearer authentications');
is($s->{'logistics_authentications_total{method="api_key",result="success"}'},
   5, 'five API key authentications (a 429 is authenticated)');

# idempotency: a new key stored, then replayed

my @h = ('X-API-Key' => $K{open}, 'Content-Type' => 'application/json',
         'Idempotency-Key' => '"metrics-1"');
my $r1 = http_req('POST', '/v2/shipments', port => $p, headers => [@h],
                  body => '{"a":1}');
my $r2 = http_req('POST', '/v2/shipments', port => $p, headers => [@h],
                  body => '{"a":1}');
is("$r1->{status} " . (hdr($r2, 'idempotent-replayed') // ''), '201 true',
   'an idempotent POST, then its replay');
$s = samples();
is($s->{'logistics_idempotency_requests_total{partner="open",'
        . 'outcome="new"}'}, 1, 'idempotency: new');
is($s->{'logistics_idempotency_requests_total{partner="open",'
        . 'outcome="replayed"}'}, 1, 'idempotency: replayed');
ok(($s->{logistics_idempotency_stored_bytes_total} // 0) > 100,
   'the stored response\'s bytes ('
   . ($s->{logistics_idempotency_stored_bytes_total} // 0) . ')');
ok(($s->{'logistics_redis_commands_total{command="store"}'} // 0) >= 1,
   'storing it: a command nobody waits for');
is($s->{'logistics_partner_requests_total{partner="open",'
        . 'decision="replayed"}'}, 1, 'the replay\'s decision word');

# Redis gone: fail open, counted

$t->stop_redis();

my @open = map { get($K{open})->{status} } 1 .. 3;
is("@open", '200 200 200', 'Redis gone: fail open');

$s = samples();
is($s->{'logistics_redis_fallbacks_total{mode="open"}'}, 3,
   'three fail-open decisions');
is($s->{'logistics_rate_limit_decisions_total{partner="open",'
        . 'limit="partner",backend="zone",outcome="allowed"}'}, 3,
   'decided on the zone\'s local limits');
is($s->{'logistics_redis_connections{state="connected"}'}, 0,
   'no connection connected');
ok(($s->{'logistics_redis_errors_total{kind="io"}'} // 0)
   + ($s->{'logistics_redis_errors_total{kind="connect"}'} // 0) >= 1,
   'the lost connection counted as an error');
ok(($s->{logistics_redis_reconnects_total} // 0) >= 1, 'reconnects counted');

$t->run_redis(port => $rport);
is(wait_metric('logistics_redis_connections{state="connected"}', 1), 1,
   'connected again after Redis came back');

$t->stop_redis();
$t->done_testing();
