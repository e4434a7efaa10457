#!/usr/bin/perl

# Rate limits in the embedded state store (logistics_zone): GCRA per
# partner and per partner + route, all-or-nothing across limits, 429
# problem with Retry-After, RateLimit / RateLimit-Policy headers (and the
# legacy X-RateLimit-* when asked), counters shared by workers and kept
# across reloads, and the config error when no store is configured.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;

my $t = Lg::Test->new();

my %K = (burst => 'rl-burst-key', route => 'rl-route-key',
         both => 'rl-both-key', free => 'rl-free-key',
         multi => 'rl-multi-key');


my $policy = {
    scopes => { 'tracking:read' => '', 'shipments:write' => '' },
    partners => {
        burst => { scopes => ['tracking:read', 'shipments:write'],
                   api_keys => [{ id => 'k', sha256 => key_sha256($K{burst}) }],
                   rate_limit => { rate => '5/m', burst => 2 } },
        route => { scopes => ['tracking:read', 'shipments:write'],
                   api_keys => [{ id => 'k', sha256 => key_sha256($K{route}) }],
                   rate_limit => { rate => '1000/s', burst => 100,
                       routes => { 'shipments.get' => { rate => '1/m' } } } },
        both => { scopes => ['tracking:read', 'shipments:write'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{both}) }],
                  rate_limit => { rate => '2/m', burst => 1,
                      routes => { 'shipments.get' => { rate => '1/m' } } } },
        free => { scopes => ['tracking:read', 'shipments:write'],
                  api_keys => [{ id => 'k', sha256 => key_sha256($K{free}) }] },
        multi => { scopes => ['tracking:read'],
                   api_keys => [{ id => 'k', sha256 => key_sha256($K{multi}) }],
                   rate_limit => { rate => '1/h', burst => 9 } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'shipments.get', method => 'GET',
              path => '/shipments/{id}', scopes => ['tracking:read'] },
            { id => 'shipments.list', method => 'GET',
              path => '/shipments', scopes => ['tracking:read'] },
        ] } },
};

$t->write_file('policy.json', JSON::PP->new->canonical->encode($policy));

my $conf = $t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => '    logistics_zone lgstate:1m;',
    server_extra => <<'EOF');
        location /legacy/ {
            logistics_gateway on;
            logistics_ratelimit_legacy_headers on;
            rewrite ^/legacy(/.*)$ $1 break;
            proxy_pass http://odoo;
        }
EOF
$t->write_config($conf, workers => 2);
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub get {
    my ($uri, $key, %h) = @_;
    return http_get($uri, port => $p, 'X-API-Key' => $key, %h);
}

# partner limit 5/m, burst 2: three at once, then 429

$t->stub_reset();
my @st = map { get('/v2/shipments/1', $K{burst})->{status} } 1 .. 3;
is_deeply(\@st, [200, 200, 200], 'burst 2: three requests at once pass');

my $r = get('/v2/shipments/1', $K{burst}, 'X-Request-Id' => 'rl-429');
is_problem($r, 429, 'rate-limited', 'fourth request: 429 rate-limited');
my $ra = hdr($r, 'retry-after') // 0;
ok($ra >= 11 && $ra <= 12, "Retry-After is one interval (12s): $ra");
is($t->stub_count(), 3, 'the refused request did not reach the upstream');
is($t->decision_of('rl-429')->{decision}, 'rate-limited',
   '$logistics_decision is rate-limited');

$r = get('/v2/shipments/1', $K{free});
is($r->{status}, 200, 'a partner without limits is not limited');
ok(!defined hdr($r, 'ratelimit'), 'no RateLimit header without limits');

# headers

$r = get('/v2/shipments', $K{route});
is(hdr($r, 'ratelimit-policy'), '"partner";q=1000;w=1',
   'RateLimit-Policy names the partner limit');
like(hdr($r, 'ratelimit') // '', qr/^"partner";r=100;t=\d+$/,
   'RateLimit: remaining 100 of the burst');

# route limit 1/m on shipments.get only

$r = get('/v2/shipments/7', $K{route});
is($r->{status}, 200, 'route limit: first call passes');
is(hdr($r, 'ratelimit-policy'), '"partner";q=1000;w=1, "route";q=1;w=60',
   'RateLimit-Policy lists both limits');
like(hdr($r, 'ratelimit') // '', qr/^"partner";r=\d+;t=\d+, "route";r=0;t=60$/,
   'RateLimit: route limit has nothing left for 60s');

$r = get('/v2/shipments/8', $K{route});
is_problem($r, 429, 'rate-limited', 'route limit: second call refused');
ok((hdr($r, 'retry-after') // 0) >= 59, 'Retry-After about a minute');
is(get('/v2/shipments', $K{route})->{status}, 200,
   'another route of the same partner still passes');

# all or nothing: a refusal by one limit consumes none of the others

is(get('/v2/shipments/1', $K{both})->{status}, 200,
   'both limits: first call passes (partner 1 of 2, route 1 of 1)');
is(get('/v2/shipments/1', $K{both})->{status}, 429,
   'both limits: second call refused by the route limit');
is(get('/v2/shipments', $K{both})->{status}, 200,
   'the refused call used nothing of the partner limit');
is(get('/v2/shipments', $K{both})->{status}, 429,
   'now the partner limit is exhausted too');

# legacy headers

$r = get('/legacy/v2/shipments', $K{free});
ok(!defined hdr($r, 'x-ratelimit-limit'), 'no legacy headers without limits');
$r = get('/legacy/v2/shipments', $K{route});
is(hdr($r, 'x-ratelimit-limit'), '1000', 'X-RateLimit-Limit');
like(hdr($r, 'x-ratelimit-remaining') // '', qr/^\d+$/,
     'X-RateLimit-Remaining');
like(hdr($r, 'x-ratelimit-reset') // '', qr/^\d+$/, 'X-RateLimit-Reset');

# counters survive a reload

SKIP: {
    skip 'reload needs the master process', 1 unless $t->can_reload;
    $t->reload();
    is(get('/v2/shipments/1', $K{burst})->{status}, 429,
       'after a reload the exhausted limit is still exhausted');
}

# shared by both workers: 30 requests on fresh connections (the kernel
# spreads them over the two workers), exactly burst + 1 = 10 pass

my ($ok, $limited) = (0, 0);
for my $i (1 .. 30) {
    my $res = http_get('/v2/shipments', port => $p, 'X-API-Key' => $K{multi},
                       'Connection' => 'close');
    $ok++ if $res->{status} == 200;
    $limited++ if $res->{status} == 429;
}
is($ok, 10, 'two workers share one limit: exactly burst + 1 pass');
is($limited, 20, 'the other 20 get 429');

# a policy with limits needs a state store

my $t2 = Lg::Test->new();
$t2->write_file('policy.json', JSON::PP->new->encode($policy));
$t2->write_config($t2->gateway_http_body(policy => '%%TESTDIR%%/policy.json'));
my ($rc, $out) = $t2->test_config();
isnt($rc, 0, 'nginx -t fails for limits without logistics_zone');
like($out, qr/\[emerg\].*sets rate limits: add "logistics_zone name:size"/,
     'and says what to add');

$t->done_testing();
