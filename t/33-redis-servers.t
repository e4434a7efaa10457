#!/usr/bin/perl

# Lg::Redis, the servers the topology tests run against, checked with
# redis-cli alone: a plain redis-server, and a TLS-only one with a CA,
# a server certificate, a wrong CA, a certificate for a wrong name and a
# client certificate, all made by openssl in the test directory.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;

Lg::Redis->need(qw(redis-server redis-cli openssl));

my $t = Lg::Test->new(no_module => 1);
my $rs = Lg::Redis->new($t);

# plain

my $plain = $rs->server(name => 'plain');
like($plain->{port}, qr/^\d+$/, 'plain server on a free port');
is($rs->cli($plain, 'SET', 'lg:{p}:x', 'v'), 'OK', 'plain: SET');
is($rs->cli($plain, 'GET', 'lg:{p}:x'), 'v', 'plain: GET');
is($rs->info($plain, 'server')->{tcp_port}, $plain->{port},
   'plain: INFO names the port');

my $pw = $rs->server(name => 'pw', password => 's3cret');
is($rs->cli($pw, 'PING'), 'PONG', 'password: redis-cli with -a');
my ($rc, $out) = $rs->run_cmd('redis-cli', '-p', $pw->{port}, 'SET', 'a', 1);
like($out, qr/NOAUTH/, 'password: refused without it');

# TLS

my $f = $rs->tls_files();
ok(-s $f->{$_}, "$_ made") for qw(ca server_crt server_key wrong_name_crt
    wrong_name_key wrong_ca client_crt client_key);

($rc, $out) = $rs->run_cmd('openssl', 'x509', '-in', $f->{server_crt},
                           '-noout', '-ext', 'subjectAltName');
like($out, qr/DNS:redis\.test.*IP Address:127\.0\.0\.1/s,
     'server certificate: redis.test and 127.0.0.1');
($rc, $out) = $rs->run_cmd('openssl', 'verify', '-CAfile', $f->{ca},
                           $f->{server_crt});
is($rc, 0, 'server certificate verifies against the CA');
($rc, $out) = $rs->run_cmd('openssl', 'verify', '-CAfile', $f->{wrong_ca},
                           $f->{server_crt});
isnt($rc, 0, 'and not against the wrong CA');
($rc, $out) = $rs->run_cmd('openssl', 'x509', '-in', $f->{wrong_name_crt},
                           '-noout', '-ext', 'subjectAltName');
like($out, qr/DNS:wrong\.test/, 'wrong-name certificate: wrong.test');
unlike($out, qr/redis\.test|127\.0\.0\.1/, '  and nothing else');
($rc, $out) = $rs->run_cmd('openssl', 'verify', '-CAfile', $f->{ca},
                           $f->{wrong_name_crt});
is($rc, 0, '  issued by the right CA');

my $tls = $rs->server(name => 'tls', tls => 1);
is($rs->cli($tls, 'PING'), 'PONG', 'TLS: PING with the CA');
is($rs->cli($tls, 'SET', 'lg:{t}:x', 'v'), 'OK', 'TLS: SET');
is($rs->cli($tls, 'CONFIG', 'GET', 'port'), "port\n0",
   'TLS only: no plain port');
is($rs->cli($tls, 'CONFIG', 'GET', 'tls-port'), "tls-port\n$tls->{port}",
   '  the TLS port');

($rc, $out) = $rs->run_cmd('redis-cli', '-p', $tls->{port}, 'PING');
unlike($out, qr/PONG/, 'TLS: a plain client gets nothing');

($rc, $out) = $rs->run_cmd('redis-cli', '-p', $tls->{port}, '--tls',
                           '--cacert', $f->{wrong_ca}, 'PING');
unlike($out, qr/PONG/, 'TLS: the wrong CA is refused');
like($out, qr/certificate verify failed|SSL/i, '  as a certificate error');

($rc, $out) = $rs->run_cmd('redis-cli', '-p', $tls->{port}, '--tls',
                           '--cacert', $f->{ca}, 'PING');
is($out, "PONG\n", 'TLS: no client certificate needed by default');

my $mtls = $rs->server(name => 'mtls', tls => 1, tls_auth_clients => 'yes');
is($rs->cli($mtls, 'PING'), 'PONG',
   'client certificates required: ok with one');
($rc, $out) = $rs->run_cmd('redis-cli', '-p', $mtls->{port}, '--tls',
                           '--cacert', $f->{ca}, 'PING');
unlike($out, qr/PONG/, '  refused without');

my $wrong = $rs->server(name => 'wrongname', tls => 1, cert => 'wrong_name');
($rc, $out) = $rs->run_cmd('openssl', 's_client', '-connect',
    "127.0.0.1:$wrong->{port}", '-CAfile', $f->{ca}, '-verify_hostname',
    'redis.test', '-verify_return_error', '-brief');
like($out, qr/hostname mismatch|verify error/i,
     'wrong-name server: a client checking redis.test refuses it');
($rc, $out) = $rs->run_cmd('openssl', 's_client', '-connect',
    "127.0.0.1:$tls->{port}", '-CAfile', $f->{ca}, '-verify_hostname',
    'redis.test', '-verify_return_error', '-brief');
like($out, qr/Verification: OK/, 'the right server passes the same check');

# stop and restart on the same port

$rs->stop($plain);
($rc, $out) = $rs->run_cmd('redis-cli', '-p', $plain->{port}, 'PING');
unlike($out, qr/PONG/, 'stopped');
$rs->restart($plain);
is($rs->cli($plain, 'PING'), 'PONG', 'restarted on the same port');

$t->done_testing();
