#!/usr/bin/perl

# Bearer tokens (issue 12): token fields are checked before they are used
# (printable ASCII, at most 256 bytes, else 401 invalid-token), and a
# cached verdict holds only under the rules and the very key it was
# reached with: a reload that changes the issuer's audiences, or that
# publishes another key under the same kid, sends the token back through
# verification.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;

my $OAUTH = Lg::Test::repo() . '/t/oauth';
plan skip_all => 't/oauth/node_modules missing (npm ci --prefix t/oauth)'
    unless -d "$OAUTH/node_modules/jose";

my $t = Lg::Test->new();
$t->need_reload();
my $d = $t->testdir();

for my $set (qw(a b)) {
    system("node $OAUTH/mint.js genkeys --out $d/priv-$set.jwks"
           . " --public $d/pub-$set.jwks >/dev/null") == 0
        or die "genkeys failed";
}

my $ISS = 'https://idp.test';

sub policy {
    my (@audiences) = @_;
    $t->write_file('policy.json', JSON::PP->new->canonical->encode({
        scopes => { 'r' => '' },
        issuers => { corp => { iss => $ISS, audiences => \@audiences,
                               algorithms => ['ES256'],
                               jwks_file => 'keys.jwks' } },
        partners => { acme => { scopes => ['r'],
                                jwt => { issuer => 'corp',
                                         client_id => 'acme' } } },
        apis => { things => {
            versions => { v2 => { upstream_prefix => '' } },
            routes => [{ id => 'get', method => 'GET',
                         path => '/things/{id}', scopes => ['r'],
                         auth => ['bearer'] }],
        } },
    }));
}

sub keys_from {
    my ($set) = @_;
    $t->write_file('keys.jwks', $t->read_file("pub-$set.jwks"));
}

# tokens: one per line of jobs, minted in one node start
my @jobs;
sub job {
    my ($set, %claims) = @_;
    push @jobs, [ $set, JSON::PP->new->canonical->encode({
        kid => 'ec256-1', alg => 'ES256',
        claims => { iss => $ISS, aud => 'api', exp => '+600',
                    client_id => 'acme', scope => 'r', %claims } }) ];
    return $#jobs;
}

my %J = (
    old_aud   => job('a', aud => 'old-api', jti => 'j-old-aud'),
    api       => job('a', jti => 'j-api'),
    other_key => job('b', jti => 'j-other-key'),
    crlf_jti  => job('a', jti => "j-1\r\nX-Injected: 1"),
    lf_sub    => job('a', sub => "svc\nacme"),
    ctl_part  => job('a', client_id => "ac\x01me"),
    long_jti  => job('a', jti => 'j' x 257),
    long_sub  => job('a', sub => 's' x 257),
    utf8_jti  => job('a', jti => "caf\x{e9}"),
    tab_scope => job('a', scope => "r\tw"),
    ok_256    => job('a', jti => 'j' x 256, sub => 'svc acme'),
);

my @tok;
for my $set (qw(a b)) {
    my @mine = grep { $jobs[$_][0] eq $set } 0 .. $#jobs;
    $t->write_file("jobs-$set.jsonl",
                   join('', map { "$jobs[$_][1]\n" } @mine));
    my @out = split /\n/, `node $OAUTH/mint.js batch --keys $d/priv-$set.jwks < $d/jobs-$set.jsonl`;
    @tok[@mine] = @out;
}
ok(!grep({ !defined || !/^[\w-]+\.[\w-]+\.[\w-]+$/ } @tok),
   'all tokens minted');

policy('api', 'old-api');
keys_from('a');
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    server_extra => "        access_log %%TESTDIR%%/cache.log cache;\n",
    http_extra => <<'EOF'));
    logistics_zone jwttrust:1m;
    log_format cache '$logistics_request_id $status $logistics_decision '
                     'cache=$logistics_token_cache';
EOF
$t->run_stub();
$t->run();

my $p = $t->port(0);
my $n = 0;

sub call {
    my ($i) = @_;
    my $rid = 'jt-' . ++$n;
    my $r = http_get('/v2/things/1', port => $p, 'X-Request-Id' => $rid,
                     'Authorization' => "Bearer $tok[$i]");
    my $line = $t->wait_log_line('cache.log', qr/^\Q$rid\E /) // '';
    my ($cache) = $line =~ /cache=(\S*)/;
    return ($r, $cache // '');
}

# fields checked before use

for my $k (qw(crlf_jti lf_sub ctl_part long_jti long_sub utf8_jti
              tab_scope))
{
    my ($r) = call($J{$k});
    is_problem($r, 401, 'invalid-token', "$k: 401 invalid-token");
    unlike($r->{raw}, qr/X-Injected/i, "$k: nothing of it in the response");
}
my ($r) = call($J{ok_256});
is($r->{status}, 200, 'jti of 256 bytes and a sub with a space: accepted');
is(echo_of($r)->{headers}{'x-logistics-token-id'}, 'j' x 256,
   'the checked jti is what Odoo gets');

# the cache under the rules it was filled with

my $cache;
($r, $cache) = call($J{old_aud});
is($r->{status}, 200, 'aud old-api accepted while the issuer lists it');
($r, $cache) = call($J{old_aud});
is($cache, 'hit', 'and cached');
($r, $cache) = call($J{api});
($r, $cache) = call($J{api});
is($cache, 'hit', 'aud api cached too');

policy('api');
ok($t->reload(), 'reload: the issuer drops the audience old-api');

($r, $cache) = call($J{old_aud});
is_problem($r, 401, 'invalid-token',
           'a cached token for a dropped audience: 401 after the reload');
($r, $cache) = call($J{api});
is($r->{status}, 200, 'a token the new rules accept: 200');
is($cache, 'miss', 'verified again under the new rules, not a cache hit');
($r, $cache) = call($J{api});
is($cache, 'hit', 'then cached under them');

keys_from('b');
ok($t->reload(), 'reload: another key published under the same kid');

($r, $cache) = call($J{api});
is_problem($r, 401, 'invalid-token',
           'a token of the old key under the same kid: 401, no cache hit');
($r, $cache) = call($J{other_key});
is($r->{status}, 200, 'the new key\'s token: 200');

$t->done_testing();
