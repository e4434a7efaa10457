#!/usr/bin/perl

# Concurrency sanity: 200 mixed requests interleaved over 4 keep-alive
# connections and 2 workers, plus pipelining; every answer belongs to its
# request, denials never reach the upstream.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use POSIX ();

my $t = Lg::Test->new();
$t->write_config($t->gateway_http_body(), workers => 2);
$t->run_stub();
$t->run();
my $p = $t->port(0);

# kinds of request, cycled: [method, uri, headers, expected status]
my @kinds = (
    [ 'GET', '/v2/shipments/ID', [ 'X-API-Key' => $KEY{acme1} ], 200 ],
    [ 'GET', '/v2/shipments/ID', [], 401 ],
    [ 'GET', '/v1/shipments/ID', [ 'Authorization' => "ApiKey $KEY{acme2}" ],
      200 ],
    [ 'GET', '/v2/nothing/ID', [ 'X-API-Key' => $KEY{acme1} ], 404 ],
    [ 'POST', '/v2/shipments?ref=ID', [ 'X-API-Key' => $KEY{reader} ], 403 ],
    [ 'OPTIONS', '/v2/shipments', [], 204 ],
    [ 'POST', '/v2/shipments?ref=ID', [ 'X-API-Key' => $KEY{acme1} ], 201 ],
);

$t->stub_reset();

my @conns = map { http_raw_conn($p) } 1 .. 4;
ok((grep { defined } @conns) == 4, 'four keep-alive connections open');

my ($n, $good, $proxied) = (0, 0, 0);
my @bad;
for my $i (1 .. 200) {
    my $k = $kinds[ $i % @kinds ];
    my ($m, $uri, $h, $want) = @$k;
    my $id = "c$i";
    (my $u = $uri) =~ s/ID/$id/;
    my $c = $conns[ $i % 4 ];
    my $r = $c->request($m, $u, headers => [ @$h, 'X-Request-Id' => $id ],
                        $m eq 'POST' ? (body => '{}') : ());
    $n++;
    unless ($r) {
        push @bad, "$id $m $u: no response";
        $conns[ $i % 4 ] = http_raw_conn($p);
        next;
    }
    my $ok = $r->{status} == $want
        && (hdr($r, 'x-request-id') // '') eq $id;
    if ($want == 200 || $want == 201) {
        $proxied++;
        my $e = echo_of($r);
        $ok &&= ($e->{headers}{'x-request-id'} // '') eq $id;
        $ok &&= index($e->{uri} // '', $id) >= 0;
    }
    if ($ok) {
        $good++;
    } else {
        push @bad, "$id $m $u: status $r->{status}, want $want";
    }
}
$_ && $_->close() for @conns;

is($n, 200, '200 requests sent');
is($good, 200, 'every response matches its request (status, request id, '
   . 'upstream echo)') or diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
is($t->stub_count(), $proxied,
   "only the $proxied allowed requests reached the upstream");

# pipelining: 20 requests in one write

my $c = http_raw_conn($p);
my $req = '';
for my $i (1 .. 20) {
    my $key = $i % 2 ? "X-API-Key: $KEY{acme1}\r\n" : '';
    $req .= "GET /v2/shipments/p$i HTTP/1.1\r\nHost: x\r\n${key}"
        . "X-Request-Id: p$i\r\n\r\n";
}
Lg::Test::write_all($c->{s}, $req);
my @st;
for my $i (1 .. 20) {
    my $r = read_response($c->{s}, buffer => $c->{buf});
    push @st, $r ? $r->{status} . ':' . (hdr($r, 'x-request-id') // '-')
                 : 'none';
}
$c->close();
my @want = map { ($_ % 2 ? 200 : 401) . ":p$_" } 1 .. 20;
is("@st", "@want", '20 pipelined requests answered in order');

# parallel clients in separate processes

my @pids;
for my $w (1 .. 4) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $fails = 0;
        for my $i (1 .. 25) {
            my $r = http_get("/v2/shipments/w$w-$i", port => $p,
                             'X-API-Key' => $KEY{acme2});
            $fails++ unless $r->{status} == 200
                && echo_of($r)->{uri} eq "/api/v2/shipments/w$w-$i";
        }
        POSIX::_exit($fails > 255 ? 255 : $fails);
    }
    push @pids, $pid;
}
my $fails = 0;
for (@pids) { waitpid($_, 0); $fails += $? >> 8; }
is($fails, 0, '4 parallel clients x 25 new connections: all proxied right');

$t->done_testing();
