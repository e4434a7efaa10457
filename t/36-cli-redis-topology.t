#!/usr/bin/perl

# The policy CLI's Redis commands (suspend, reinstate, revoke-token)
# against Redis as it runs in production: TLS with the certificate and
# host name checked (right CA accepted; wrong CA, wrong name and missing
# client certificate refused), a Sentinel group (the master asked of the
# sentinels, confirmed with ROLE, followed across a failover) and a
# Cluster (-MOVED and -ASK followed, a hand-made slot migration).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;
use JSON::PP;

Lg::Redis->need(qw(redis-server redis-sentinel redis-cli openssl));

my $cli = $ENV{LG_CLI} || "$FindBin::Bin/../build/logistics-policy";
plan skip_all => "$cli not built (make cli)" unless -x $cli;

my $t = Lg::Test->new(no_module => 1);
my $rs = Lg::Redis->new($t);

# runs the CLI: (exit code, stdout + stderr)
sub run_cli { return $rs->run_cmd($cli, @_) }

###############################################################################
# TLS

my $f = $rs->tls_files();
my $tls = $rs->server(name => 'tls', tls => 1, password => 'pw-tls');
my $pwfile = $t->write_file('pw-tls', "pw-tls\n");
my @pw = ('--password-file', $pwfile);
my $at = "127.0.0.1:$tls->{port}";

my ($rc, $out) = run_cli('suspend', 'acme', '--redis', $at, '--tls',
                         '--tls-ca', $f->{ca}, @pw, '--ttl', 60);
is($rc, 0, 'TLS, right CA, IP address in the certificate: suspended')
    or diag $out;
like($out, qr/partner "acme" suspended on every gateway node/,
     '  says so');
is($rs->cli($tls, 'GET', 'lg:{acme}:suspended'), '1', '  key set');
cmp_ok($rs->cli($tls, 'TTL', 'lg:{acme}:suspended'), '>', 50, '  with its TTL');

($rc, $out) = run_cli('reinstate', 'acme', '--redis', "localhost:$tls->{port}",
                      '--tls-ca', $f->{ca}, @pw);
is($rc, 0, 'a DNS name in the certificate (--tls-ca alone means TLS)')
    or diag $out;
is($rs->cli($tls, 'EXISTS', 'lg:{acme}:suspended'), '0', '  key deleted');

($rc, $out) = run_cli('revoke-token', 'acme', 'jti-1', '--redis', $at,
                      '--tls', '--tls-ca', $f->{ca},
                      '--tls-server-name', 'redis.test', '--user', 'default',
                      @pw);
is($rc, 0, 'revoke-token, --tls-server-name redis.test, ACL user')
    or diag $out;
is($rs->cli($tls, 'EXISTS', 'lg:{acme}:jti:jti-1'), '1', '  token revoked');

($rc, $out) = run_cli('suspend', 'wrongca', '--redis', $at, '--tls',
                      '--tls-ca', $f->{wrong_ca}, @pw);
is($rc, 1, 'the wrong CA: refused');
like($out, qr/certificate[ ]not[ ]trusted[ ]for[ ]"127\.0\.0\.1":[ ]
               (?:self-signed[ ]certificate[ ]in[ ]certificate[ ]chain
               |unable[ ]to[ ]get[ ]local[ ]issuer[ ]certificate)/x,
     '  because the chain does not verify');
is($rs->cli($tls, 'EXISTS', 'lg:{wrongca}:suspended'), '0', '  nothing set');

($rc, $out) = run_cli('suspend', 'wrongname', '--redis', $at, '--tls',
                      '--tls-ca', $f->{ca}, '--tls-server-name', 'other.test',
                      @pw);
is($rc, 1, 'a name the certificate does not carry: refused');
like($out, qr/certificate not trusted for "other\.test": hostname mismatch/,
     '  hostname mismatch');

($rc, $out) = run_cli('suspend', 'sysca', '--redis', $at, '--tls', @pw);
is($rc, 1, 'no --tls-ca: the system CAs do not know the test CA');

($rc, $out) = run_cli('suspend', 'noverify', '--redis', $at, '--tls',
                      '--tls-ca', $f->{wrong_ca}, '--tls-verify', 'off', @pw);
is($rc, 0, '--tls-verify off: the wrong CA is accepted') or diag $out;
is($rs->cli($tls, 'EXISTS', 'lg:{noverify}:suspended'), '1', '  key set');

($rc, $out) = run_cli('suspend', 'plain', '--redis', $at, @pw);
is($rc, 1, 'plain text to a TLS port: fails');
is($rs->cli($tls, 'EXISTS', 'lg:{plain}:suspended'), '0', '  nothing set');

($rc, $out) = run_cli('suspend', 'badpw', '--redis', $at, '--tls-ca',
                      $f->{ca}, '--password-file',
                      $t->write_file('pw-bad', 'nope'));
is($rc, 1, 'a wrong password: fails');
like($out, qr/AUTH failed: WRONGPASS/, '  AUTH failed');

my $wrong = $rs->server(name => 'wrongname', tls => 1, cert => 'wrong_name');
($rc, $out) = run_cli('suspend', 'x', '--redis', "127.0.0.1:$wrong->{port}",
                      '--tls-ca', $f->{ca});
is($rc, 1, 'a server whose certificate names wrong.test: refused');
like($out, qr/certificate not trusted for "127\.0\.0\.1": IP address mismatch/,
     '  IP address mismatch');
($rc, $out) = run_cli('suspend', 'x', '--redis', "127.0.0.1:$wrong->{port}",
                      '--tls-ca', $f->{ca}, '--tls-server-name', 'wrong.test');
is($rc, 0, '  accepted when wrong.test is the name asked for') or diag $out;

my $mtls = $rs->server(name => 'mtls', tls => 1, tls_auth_clients => 'yes');
($rc, $out) = run_cli('suspend', 'm', '--redis', "127.0.0.1:$mtls->{port}",
                      '--tls-ca', $f->{ca});
is($rc, 1, 'client certificate required: refused without one');
($rc, $out) = run_cli('suspend', 'm', '--redis', "127.0.0.1:$mtls->{port}",
                      '--tls-ca', $f->{ca}, '--tls-cert', $f->{client_crt},
                      '--tls-key', $f->{client_key});
is($rc, 0, '  accepted with --tls-cert/--tls-key') or diag $out;
is($rs->cli($mtls, 'EXISTS', 'lg:{m}:suspended'), '1', '  key set');

# option errors: usage (2), nothing sent

for my $bad (
    [ 'no address', [] ],
    [ 'two topologies', [ '--redis', $at, '--cluster', $at ] ],
    [ '--sentinel without --sentinels', [ '--sentinel', 'x' ] ],
    [ '--tls-cert without --tls-key',
      [ '--redis', $at, '--tls-cert', $f->{client_crt} ] ],
    [ '--tls-verify maybe', [ '--redis', $at, '--tls-verify', 'maybe' ] ],
    [ '--db on a cluster', [ '--cluster', $at, '--db', 1 ] ],
    [ '--user without a password', [ '--redis', $at, '--user', 'u' ] ],
    [ 'an unknown option', [ '--redis', $at, '--tls-insecure' ] ],
    [ 'TLS on a unix socket', [ '--redis', 'unix:/x', '--tls' ] ],
    [ '--ttl for reinstate', [ '--redis', $at, '--ttl', 5 ], 'reinstate' ],
) {
    my ($name, $args, $cmd) = @$bad;
    ($rc, $out) = run_cli($cmd // 'suspend', 'p', @$args);
    is($rc, 2, "usage: $name");
}

###############################################################################
# Sentinel

my $g = $rs->sentinel_group(name => 'lgmaster');
my @sen = ('--sentinel', 'lgmaster', '--sentinels',
           join ',', map { "127.0.0.1:$_->{port}" } @{ $g->{sentinels} });
my $m1 = $g->{master};

($rc, $out) = run_cli('suspend', 'acme', @sen);
is($rc, 0, 'Sentinel: suspended') or diag $out;
like($out, qr/master of "lgmaster" is 127\.0\.0\.1:$m1->{port}\n/,
     '  on the master the first sentinel named');
is($rs->cli($m1, 'GET', 'lg:{acme}:suspended'), '1', '  key on the master');

my $dead = Lg::Test::free_port();
($rc, $out) = run_cli('revoke-token', 'acme', 'j2', '--sentinel', 'lgmaster',
                      '--sentinels', "127.0.0.1:$dead,"
                      . "127.0.0.1:$g->{sentinels}[2]{port}");
is($rc, 0, 'the first sentinel down: the next one answers') or diag $out;
is($rs->cli($m1, 'EXISTS', 'lg:{acme}:jti:j2'), '1', '  key on the master');

($rc, $out) = run_cli('suspend', 'acme', '--sentinel', 'nosuch',
                      '--sentinels', "127.0.0.1:$g->{sentinels}[0]{port}");
is($rc, 1, 'an unknown group: fails');
like($out, qr/does not know a master named "nosuch"/, '  says why');

# a "sentinel" that names the replica: ROLE says it is no master
my $liar = $rs->fake(name => 'liar', reply =>
    "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($g->{replica}{port})
    . "\r\n$g->{replica}{port}\r\n");
($rc, $out) = run_cli('suspend', 'liar', '--sentinel', 'lgmaster',
                      '--sentinels', "127.0.0.1:$liar->{port},"
                      . "127.0.0.1:$g->{sentinels}[1]{port}");
is($rc, 0, 'a sentinel naming a replica is passed over') or diag $out;
like($out, qr/127\.0\.0\.1:$g->{replica}{port}: not a master/,
     '  ROLE showed the replica');
is($rs->cli($m1, 'EXISTS', 'lg:{liar}:suspended'), '1',
   '  written on the real master');

my $took = $rs->failover($g);
my $m2 = $g->{master};
isnt($m2->{port}, $m1->{port}, sprintf('failover done (%.2fs)', $took));

($rc, $out) = run_cli('reinstate', 'acme', @sen);
is($rc, 0, 'after the failover: reinstated') or diag $out;
like($out, qr/master of "lgmaster" is 127\.0\.0\.1:$m2->{port}\n/,
     '  on the new master');
is($rs->cli($m2, 'EXISTS', 'lg:{acme}:suspended'), '0',
   '  key deleted there');

###############################################################################
# Cluster

my $c = $rs->cluster(masters => 3);
my $seed = $c->{nodes}[0];
my @seed = ('--cluster', "127.0.0.1:$seed->{port}");

my @partners = map { "c$_" } 1 .. 12;
my %owner = map { $_ => $rs->key_owner($c, "lg:{$_}:suspended") } @partners;
my ($local) = grep { $owner{$_} == $seed } @partners;
my ($remote) = grep { $owner{$_} != $seed } @partners;
my $slot = $rs->keyslot($c, "lg:{$remote}:suspended");
my $rnode = $owner{$remote};

($rc, $out) = run_cli('suspend', $local, @seed);
is($rc, 0, 'Cluster: a partner of the seed node') or diag $out;
unlike($out, qr/following/, '  no redirect');
like($out, qr/served by 127\.0\.0\.1:$seed->{port}/, '  served by the seed');

($rc, $out) = run_cli('suspend', $remote, @seed);
is($rc, 0, 'a partner of another node') or diag $out;
like($out, qr/-MOVED $slot, following to 127\.0\.0\.1:$rnode->{port}/,
     '  -MOVED followed, with the slot the CLI computed');
is($rs->cli($rnode, 'GET', "lg:{$remote}:suspended"), '1',
   '  key on the node that serves its slot');

($rc, $out) = run_cli('reinstate', $remote, '--cluster',
                      "127.0.0.1:$dead,127.0.0.1:$seed->{port}");
is($rc, 0, 'the first seed down: the next one is used') or diag $out;
is($rs->cli($rnode, 'EXISTS', "lg:{$remote}:suspended"), '0', '  key deleted');

# the slot migrates from its node to another

my $to = $rs->other_node($c, $rnode);
my $kept = "lg:{$remote}:jti:kept";
is($rs->cli($rnode, 'SET', $kept, 1), 'OK',
   'a key of the slot before the move');
$rs->migrate_start($c, $slot, $rnode, $to);

($rc, $out) = run_cli('suspend', $remote, '--cluster',
                      "127.0.0.1:$rnode->{port}");
is($rc, 0, 'slot migrating: suspended') or diag $out;
like($out, qr/-ASK $slot, following to 127\.0\.0\.1:$to->{port}/,
     '  -ASK followed to the target');
is($rs->cli($to, 'CLUSTER', 'COUNTKEYSINSLOT', $slot), 1,
   '  the new key was written on the target (ASKING)');
is($rs->cli($rnode, 'GET', $kept), '1', '  the old key stays on the source');

($rc, $out) = run_cli('revoke-token', $remote, 'kept', @seed);
is($rc, 0, 'a key still on the source: no -ASK') or diag $out;
like($out, qr/-MOVED $slot, following to 127\.0\.0\.1:$rnode->{port}/,
     '  -MOVED from the seed to the source');
unlike($out, qr/-ASK/, '  and served there');

$rs->migrate_finish($c, $slot, $rnode, $to);

($rc, $out) = run_cli('reinstate', $remote, '--cluster',
                      "127.0.0.1:$rnode->{port}");
is($rc, 0, 'slot moved: reinstated') or diag $out;
like($out, qr/-MOVED $slot, following to 127\.0\.0\.1:$to->{port}/,
     '  -MOVED from the old owner to the new');
is($rs->cli($to, 'EXISTS', "lg:{$remote}:suspended"), '0',
   '  key deleted on the new owner');
is($rs->cli($to, 'EXISTS', $kept), '1', '  the migrated key is there');

# redis-cleanup walks every master: limit states of the partners the
# policy has stay, the others go, wherever their slots live

my @kept = @partners[0 .. 5];
my @left = @partners[6 .. 11];
for my $p (@partners) {
    my $node = $rs->key_owner($c, "lg:{$p}:rl");
    $rs->cli($node, 'SET', "lg:{$p}:rl", '1');
}
$t->write_file('cleanup-policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    partners => { map { $_ => {
        scopes => ['tracking:read'],
        api_keys => [{ id => 'k', sha256 => Lg::Test::key_sha256("k-$_") }],
        rate_limit => { rate => '10/s' } } } @kept },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [{ id => 'get', method => 'GET', path => '/shipments/{id}',
                     scopes => ['tracking:read'] }] } },
}));
my %nodes_of = map { $rs->key_owner($c, "lg:{$_}:rl")->{port} => 1 } @left;
($rc, $out) = run_cli('redis-cleanup', $t->testdir() . '/cleanup-policy.json',
                      @seed);
is($rc, 0, 'redis-cleanup on a cluster') or diag $out;
like($out, qr/^6 limit states .* deleted$/m, '  six states deleted')
    or diag $out;
is(scalar(grep { $rs->cli($rs->key_owner($c, "lg:{$_}:rl"), 'EXISTS',
                          "lg:{$_}:rl") eq '0' } @left), 6,
   '  those of the departed partners, on ' . scalar(keys %nodes_of)
   . ' masters');
is(scalar(grep { $rs->cli($rs->key_owner($c, "lg:{$_}:rl"), 'EXISTS',
                          "lg:{$_}:rl") eq '1' } @kept), 6,
   '  those of the current partners stay');

# redirects that a client must not follow

my $lying = $rs->fake(name => 'wrongslot',
                      reply => "-MOVED 1 127.0.0.1:$seed->{port}\r\n");
($rc, $out) = run_cli('suspend', $remote, '--cluster',
                      "127.0.0.1:$lying->{port}");
is($rc, 1, 'a redirect for another slot: refused');
like($out, qr/redirect for slot 1, but "lg:\{$remote\}:suspended" hashes to/,
     '  the slots disagree');
like($out, qr/hashes to slot $slot\n/, '  the key\'s slot named');

my $loop = $rs->fake(name => 'loop',
    reply => sub { "-MOVED $slot 127.0.0.1:$_[0]\r\n" });
($rc, $out) = run_cli('suspend', $remote, '--cluster',
                      "127.0.0.1:$loop->{port}");
is($rc, 1, 'a redirect loop: given up');
like($out, qr/more than 5 redirects/, '  after 5 redirects');

$t->done_testing();
