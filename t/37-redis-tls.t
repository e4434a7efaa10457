#!/usr/bin/perl

# Redis over TLS (issue 17), against TLS-only redis-servers with a CA made
# by openssl (Lg::Redis): the right CA works, by IP address and by name;
# a wrong CA, a certificate for another name or IP, a server that wants a
# client certificate we do not have, and plain TCP to a TLS port are all
# refused, the fail mode applies, and error.log says why.  Limits and
# suspensions go through TLS; a Redis restart reconnects without leaking
# descriptors.  Also the transport's defences against a broken server
# (an array of a billion elements announced) and every directive error
# that must fail nginx -t with a clear message.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use Lg::Redis;
use Lg::Topology qw(gateway get workers fds wait_log);
use Time::HiRes qw(time sleep);

Lg::Redis->need(qw(redis-server redis-cli openssl));

my $t = Lg::Test->new();
my $rs = Lg::Redis->new($t);
my $stub = Lg::Topology::stub($t);
my $f = $rs->tls_files();

my $good = $rs->server(name => 'tls', tls => 1);
my $wrong_name = $rs->server(name => 'wn', tls => 1, cert => 'wrong_name');
my $mtls = $rs->server(name => 'mtls', tls => 1, tls_auth_clients => 'yes',
                       password => 'pw-9');
my $plain = $rs->server(name => 'plain');

my %partners = (a => { rate => '1/h', burst => 2 }, s => {});

sub tls_gateway {
    my ($node, $args, %o) = @_;
    return gateway($stub, partners => \%partners, workers => $o{workers},
        redis => "127.0.0.1:$node->{port} connect_timeout=300ms "
            . "timeout=300ms $args");
}

sub ready { wait_log($_[0], qr/Redis "[^"]+" ready/, 5) }

###############################################################################
# the right CA, by IP address (the certificate holds IP:127.0.0.1)

my $g = tls_gateway($good, "tls tls_ca=$f->{ca}", workers => 2);
ok(ready($g), 'TLS with the right CA: ready');

my @st = map { get($g, 'a')->{status} } 1 .. 4;
is_deeply(\@st, [200, 200, 200, 429], 'burst 2: three pass, the 4th 429');
is($rs->cli($good, 'EXISTS', 'lg:{a}:rl'), '1',
   'the limit state is in the TLS Redis');

$rs->cli($good, 'SET', 'lg:{s}:suspended', '1');
is(get($g, 's')->{status}, 401, 'a suspension set in the TLS Redis: 401');
$rs->cli($good, 'DEL', 'lg:{s}:suspended');
is(get($g, 's')->{status}, 200, 'lifted: 200');

my $clients = $rs->cli($good, 'CLIENT', 'LIST');
my @conns = $clients =~ /cmd=evalsha/g;
ok(@conns >= 1, 'the gateway\'s connections run EVALSHA over TLS');

# a restart: reconnected, no descriptor leaked

my @w = workers($g);
my %fd = map { ($_ => fds($_)) } @w;

$rs->stop($good);
my $r = get($g, 's');
is($r->{status}, 200, 'TLS Redis down: fail open');
cmp_ok($r->{elapsed}, '<', 0.8, sprintf('  at once (%.3fs)', $r->{elapsed}));
is(get($g, 's', '/closed')->{status}, 503, '  fail closed: 503');

my $off = length $g->read_file('error.log');
$rs->restart($good);
ok(wait_log($g, qr/Redis "[^"]+" ready/, 3, $off),
   'restarted: the TLS connection is made again');
$rs->cli($good, 'SET', 'lg:{s}:suspended', '1');
my $seen = 0;
for (1 .. 20) {
    last if ($seen = get($g, 's')->{status} == 401);
    sleep 0.1;
}
ok($seen, 'and Redis decides again');
$rs->cli($good, 'DEL', 'lg:{s}:suspended');

is_deeply([workers($g)], \@w, 'the same workers');
for my $pid (@w) {
    cmp_ok(fds($pid), '<=', $fd{$pid},
           "worker $pid: no descriptor leaked ($fd{$pid} before, "
           . fds($pid) . ' after)');
}

$g->finish();

###############################################################################
# by name: tls_server_name checked against the certificate's DNS names

$g = tls_gateway($good, "tls tls_ca=$f->{ca} tls_server_name=redis.test");
ok(ready($g), 'tls_server_name=redis.test: ready');
is(get($g, 'a')->{status}, 200, '  the limits run there');
is($rs->cli($good, 'EXISTS', 'lg:{a}:rl'), '1', '  in that Redis');
$g->finish();

###############################################################################
# refusals: the fail mode applies, the log says why

sub refused {
    my ($node, $args, $why_re, $name, $crit) = @_;
    my $g = tls_gateway($node, $args);
    $g->allow_errors('crit') if $crit;
    ok(wait_log($g, $why_re, 5), "$name: refused, the log says why")
        or diag($g->read_file('error.log'));
    unlike($g->read_file('error.log'), qr/Redis "[^"]+" ready/,
           "$name: never ready");
    my $r = get($g, 's');
    is($r->{status}, 200, "$name: fail open");
    cmp_ok($r->{elapsed}, '<', 0.8,
           sprintf("$name: no wait (%.3fs)", $r->{elapsed}));
    is(get($g, 's', '/closed')->{status}, 503, "$name: fail closed 503");
    $g->finish();
}

# (the server sends its CA along: "self-signed certificate in chain")
refused($good, "tls tls_ca=$f->{wrong_ca}",
        qr/certificate refused \(expected "127\.0\.0\.1"\): (unable to get local issuer certificate|self-signed certificate in certificate chain)/,
        'a wrong CA');
refused($wrong_name, "tls tls_ca=$f->{ca}",
        qr/certificate refused \(expected "127\.0\.0\.1"\): IP address mismatch/,
        'a certificate for another IP');
refused($wrong_name, "tls tls_ca=$f->{ca} tls_server_name=redis.test",
        qr/certificate refused \(expected "redis\.test"\): hostname mismatch/,
        'a certificate for another name');
refused($good, "tls",
        qr/certificate refused .*: (unable to get local issuer|self-signed certificate in certificate chain)/,
        'tls without tls_ca: the system store, which lacks the test CA');

# With TLS 1.3 the server refuses the missing client certificate after
# the client's side of the handshake, with alert 116 ("certificate
# required"), which nginx 1.22's SSL_read() error handling logs at crit
# (its list of expected alerts predates TLS 1.3): allowed here.
refused($mtls, "tls tls_ca=$f->{ca} password=pw-9",
        qr/Redis "127\.0\.0\.1:\d+": (TLS handshake failed|connection closed by the server|read failed)/,
        'no client certificate for a server that wants one', 'crit');
refused($good, "",
        qr/Redis "127\.0\.0\.1:\d+": (connect, TLS handshake or setup timed out|connection closed by the server|read failed)/,
        'plain TCP to a TLS port');
refused($plain, "tls tls_ca=$f->{ca}",
        qr/Redis "127\.0\.0\.1:\d+": (TLS handshake failed|connect, TLS handshake or setup timed out)/,
        'TLS to a plain port');

###############################################################################
# tls_verify=off accepts any certificate; a client certificate and a
# password over TLS

$g = tls_gateway($wrong_name, "tls tls_ca=$f->{wrong_ca} tls_verify=off");
ok(ready($g), 'tls_verify=off: a certificate from no known CA is taken');
$g->finish();

$g = tls_gateway($mtls, "tls tls_ca=$f->{ca} tls_cert=$f->{client_crt} "
                 . "tls_key=$f->{client_key} password=pw-9");
ok(ready($g), 'client certificate and password: ready');
is(get($g, 'a')->{status}, 200, '  the limits run there');
is($rs->cli($mtls, 'EXISTS', 'lg:{a}:rl'), '1', '  in that Redis');
$g->finish();

###############################################################################
# a broken or hostile server: an array of 999999999 elements announced
# (hiredis 0.14 would allocate 8 GB for its slots at once)

my $fake = $rs->fake(name => 'huge', reply => "*999999999\r\n");
$g = gateway($stub, partners => \%partners,
             redis => "127.0.0.1:$fake->{port} connect_timeout=300ms "
                 . "timeout=300ms");
ok(wait_log($g, qr/a reply announced too many array elements/, 5),
   'an array of a billion elements: refused, logged');
@w = workers($g);
$r = get($g, 's');
is($r->{status}, 200, '  the fail mode applies');
is_deeply([workers($g)], \@w, '  the worker is alive');
open my $st, '<', "/proc/$w[0]/status";
my ($rss) = join('', <$st>) =~ /VmRSS:\s+(\d+)/;
cmp_ok($rss, '<', 200 * 1024, "  and did not grow ($rss kB resident)");
$g->finish();

###############################################################################
# directive errors: nginx -t fails and says what is wrong

sub conf_error {
    my ($args, $re, $name) = @_;
    my ($rc, $out) = gateway($stub, redis => $args, check => 1);
    isnt($rc, 0, "nginx -t fails: $name");
    like($out, $re, "  $name: the message says why") or diag($out);
}

my $p = $good->{port};
conf_error("127.0.0.1:$p tls_ca=$f->{ca}",
           qr/the "tls_\*=" options need "tls"/, 'tls_ca without tls');
conf_error("127.0.0.1:$p tls tls_cert=$f->{client_crt}",
           qr/"tls_cert=" and "tls_key=" go together/, 'a cert without key');
conf_error("127.0.0.1:$p tls tls_verify=maybe",
           qr/"tls_verify=maybe" must be "on" or "off"/, 'tls_verify=maybe');
conf_error("127.0.0.1:$p tls tls_ca=/nonexistent/ca.pem",
           qr/nonexistent\/ca\.pem/, 'a CA file that does not exist');
conf_error("127.0.0.1:$p tls tls_cert=/nonexistent/c.pem "
           . "tls_key=/nonexistent/k.pem",
           qr/nonexistent\/c\.pem/, 'a client certificate that does not exist');
conf_error("127.0.0.1:$p tlsx", qr/invalid parameter "tlsx"/,
           'an unknown option');
conf_error("127.0.0.1:$p timeout=0", qr/"timeout=0" is not a time/,
           'timeout=0');
conf_error("sentinel=m", qr/"sentinel=" \(the master's name\) and "sentinels="/,
           'sentinel= without sentinels=');
conf_error("sentinels=127.0.0.1:26379", qr/"sentinel=" \(the master's name\)/,
           'sentinels= without sentinel=');
conf_error("127.0.0.1:$p sentinel=m sentinels=127.0.0.1:26379",
           qr/cannot be combined/, 'an address and Sentinels');
conf_error("cluster=127.0.0.1:7000 db=2",
           qr/Redis Cluster has database 0 only/, 'cluster with db=2');
conf_error("cluster=127.0.0.1:7000,", qr/has an empty host/,
           'a host list with an empty entry');
conf_error("cluster=no-such-host.invalid:7000",
           qr/invalid Redis address "no-such-host\.invalid:7000"/,
           'a host that does not resolve');
conf_error("127.0.0.1:$p sentinel_password=x",
           qr/"sentinel_user=" and "sentinel_password=" need "sentinel="/,
           'a Sentinel password without Sentinel');
conf_error("unix:/tmp/redis.sock tls",
           qr/TLS over "unix:\/tmp\/redis\.sock" needs "tls_server_name="/,
           'TLS over a unix socket without a name to check');
conf_error("127.0.0.1:$p password=a password_file=/etc/hostname",
           qr/password given twice/, 'two passwords');
conf_error("127.0.0.1:$p user=u", qr/"user=" needs "password="/,
           'a user without a password');

my ($rc, $out) = gateway($stub, check => 1,
    redis => "127.0.0.1:$p tls tls_ca=$f->{ca} tls_cert=$f->{client_crt} "
        . "tls_key=$f->{client_key} tls_server_name=redis.test "
        . "tls_verify=on");
is($rc, 0, 'every TLS option together: nginx -t passes') or diag($out);

$t->done_testing();
