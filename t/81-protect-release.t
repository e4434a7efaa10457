#!/usr/bin/perl

# Protect Odoo: an Odoo slot comes back however the request ends.  Each
# case holds requests inside the stub Odoo, ends them one way or another,
# and checks that the API's in-flight count (the status view) returns to
# 0 and that the circuit breaker learnt the right outcome: client aborts
# at every stage (uploading, waiting inside Odoo, reading the answer,
# with and without proxy_ignore_client_abort), upstream timeouts and
# resets, error pages (a static page, a named location), HEAD, 204,
# keep-alive, a mirror subrequest, a reload, and a worker
# killed while it holds slots.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Lg::Test;
use Lg::Protect qw(%KEY);

my $t = Lg::Test->new();
my $p = Lg::Protect->new($t);

# a breaker that never opens here, but counts what it learns
$p->write_policy(sub {
    $_[0]{apis}{shipments}{odoo}{breaker} = {
        window => '60s', buckets => 60, min_requests => 1000 };
});

my $gateway = <<'LOC';
            logistics_gateway on;
            proxy_pass http://odoo;
LOC

$p->write_config(
    location_extra => <<'LOC',
            error_page 502 504 =503 /odoo-down.json;
LOC
    server_extra => <<'SRV',
        location = /odoo-down.json {
            internal;
            default_type application/json;
            return 503 '{"odoo":"down"}';
        }

        location /mirrored/ {
            rewrite ^/mirrored(/.*)$ $1 break;
            logistics_gateway on;
            mirror /mirror;
            proxy_pass http://odoo;
        }

        location = /mirror {
            internal;
            proxy_pass http://odoo/api/v2/mirror;
        }
SRV
    http_extra => <<"HTTP");
    server {
        listen 127.0.0.1:%%PORT_2%%;
        location / {
$gateway            proxy_read_timeout 1s;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        location / {
$gateway            proxy_ignore_client_abort on;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_4%%;
        location / {
$gateway            proxy_intercept_errors on;
            error_page 502 = \@fallback;
        }
        location \@fallback {
            default_type application/json;
            return 200 '{"fallback":true}';
        }
    }
HTTP
$t->run_stub();
$t->run();

sub breaker { $p->status()->{breakers}[0] }

sub zero {
    my ($what) = @_;
    ok($p->wait_for(sub { $p->in_flight() == 0 }),
       "$what: in flight back to 0")
        or diag explain $p->status()->{apis};
}

sub held {
    my ($n, $what) = @_;
    ok($p->stub_wait(held => $n) && $p->in_flight() == $n,
       "$what: $n held inside Odoo, $n in flight");
}

$p->stub_rules({ path_prefix => '/api/v2/shipments/h',
                 hold => JSON::PP::true });

###############################################################################
# the client leaves while Odoo works on its request

my $b0 = breaker();
my $s = $p->open_request('GET', '/v2/shipments/h1', 'other');
held(1, 'abort inside Odoo');
close $s;
zero('client gone while Odoo works');
ok($p->wait_for(sub { $p->stub_inflight()->{in_flight} == 0 }),
   'nginx closed the upstream connection');
is(breaker()->{requests}, $b0->{requests},
   'no outcome for the breaker (the client left first)');

# with proxy_ignore_client_abort the slot stays as long as Odoo works

$s = $p->open_request('GET', '/v2/shipments/h2', 'other', port => $t->port(3));
held(1, 'proxy_ignore_client_abort on');
close $s;
sleep 0.3;
is($p->in_flight(), 1, 'client gone, Odoo still working: the slot is kept');
$p->stub_release();
zero('Odoo answered the abandoned request');
is(breaker()->{requests}, $b0->{requests} + 1,
   'its answer counted for the breaker');

# the client leaves while the answer streams back

$s = $p->open_request('GET', '/v2/shipments/c1', 'other',
                      headers => [ 'X-Stub-Chunked' => '1',
                                   'X-Stub-Delay-Ms' => '200' ]);
sleep 0.1;
close $s;
zero('client gone before the answer');

$s = $p->open_request('GET', '/v2/shipments/c2', 'other',
                      headers => [ 'X-Stub-Chunked' => '1' ]);
my $got = '';
IO::Select->new($s)->can_read(2) and sysread($s, $got, 20);
close $s;
like($got, qr/^HTTP\/1\.1 200/, 'the answer had started');
zero('client gone while reading the answer');

# the client leaves while still sending its body: no slot was taken

$b0 = breaker();
my $total = $p->stub_inflight()->{total};
$s = Lg::Test::connect_to($t->port(0));
Lg::Test::write_all($s, "POST /v2/shipments HTTP/1.1\r\nHost: x\r\n"
    . "X-API-Key: $KEY{carrier}\r\nContent-Type: application/json\r\n"
    . "Content-Length: 100\r\n\r\n{\"ref\":");
sleep 0.2;
is($p->in_flight(), 0, 'a body still on its way holds no slot');
close $s;
sleep 0.2;
is($p->in_flight(), 0, 'client gone during the upload: still 0');
is($p->stub_inflight()->{total}, $total, 'and Odoo never saw it');

###############################################################################
# Odoo fails

$b0 = breaker();
my $t0 = time();
my $r = $p->call('GET', '/v2/shipments/h3', 'other', port => $t->port(2));
is($r->{status}, 504, 'upstream timeout: 504');
cmp_ok(time() - $t0, '>=', 0.9, 'after proxy_read_timeout');
zero('upstream timeout');
is(breaker()->{failures}, $b0->{failures} + 1,
   'the breaker counted a failure');
$p->stub_release();

$p->stub_rules({ path_prefix => '/api/v2/shipments/h',
                 hold => JSON::PP::true },
               { path_prefix => '/api/v2/shipments/x',
                 reset => JSON::PP::true });

$b0 = breaker();
$r = $p->call('GET', '/v2/shipments/x1', 'other');
is($r->{status}, 503, 'connection reset, error_page to a static page: 503');
is($r->{body}, '{"odoo":"down"}', 'the error page\'s body');
zero('error page after an internal redirect');
is(breaker()->{failures}, $b0->{failures} + 1,
   'the redirected request still told the breaker (502)');

$b0 = breaker();
$r = $p->call('GET', '/v2/shipments/x2', 'other', port => $t->port(4));
is($r->{status}, 200, 'error_page to a named location (nginx -t refuses '
   . 'one that proxies without the gateway)');
is($r->{body}, '{"fallback":true}', 'the fallback answered');
zero('named location');

###############################################################################
# requests that end with their header, keep-alive, subrequests

$r = $p->call('HEAD', '/v2/shipments/1', 'other');
is($r->{status}, 200, 'HEAD');
zero('HEAD');

$r = $p->call('GET', '/v2/shipments/2', 'other',
              headers => [ 'X-Stub-Status' => '204' ]);
is($r->{status}, 204, '204 from Odoo');
zero('204');

my $c = http_raw_conn($t->port(0));
my @st;
for my $i (1 .. 3) {
    my $res = $c->request('GET', "/v2/shipments/k$i",
                          headers => [ 'X-API-Key' => $KEY{other} ]);
    push @st, $res ? $res->{status} : 0;
    push @st, $p->in_flight();
}
is_deeply(\@st, [200, 0, 200, 0, 200, 0],
          'keep-alive: each request gives its slot back');
$c->close();

$total = $p->stub_inflight()->{total};
$r = $p->call('GET', '/mirrored/v2/shipments/m1', 'other');
is($r->{status}, 200, 'a request with a mirror subrequest');
ok($p->wait_for(sub { $p->stub_inflight()->{total} >= $total + 2 }),
   'Odoo saw both the request and its mirror');
zero('mirror subrequest (it takes no slot of its own)');

###############################################################################
# a worker dies holding slots: the next one gives them back

my @held;

SKIP: {
    skip 'a killed worker needs a master process', 11
        unless $t->can_reload();

    @held = map { $p->open_request('GET', "/v2/shipments/h$_", 'other') }
            4 .. 6;
    held(3, 'before the crash');
    is($p->in_flight('other'), 3, 'the partner holds 3');

    my $master = $t->master_pid();
    my @workers = split ' ', `pgrep -P $master`;
    is(scalar @workers, 1, 'one worker');
    kill 'KILL', @workers;
    ok($p->wait_for(sub {
           my @now = split ' ', `pgrep -P $master`;
           @now == 1 && $now[0] != $workers[0] }),
       'the master started another');
    zero('a worker killed with 3 slots');
    is($p->in_flight('other'), 0, 'the partner\'s count too');
    is($p->status()->{reclaimed}, 3, 'status view: 3 slots reclaimed');
    $p->finish_request($_) for @held;
    $p->stub_release();

    my $log = $t->read_file('error.log');
    like($log, qr/\[warn\].*logistics: 3 Odoo slots held by worker process \d+, which exited without giving them back, are free again/,
         'the new worker says so');

    # nginx says "[alert] ... exited on signal 9" for the worker we killed
    ok($log =~ /exited on signal 9/, 'nginx saw the worker die');
    $t->write_file('error.log',
                   join '', grep { !/exited on signal 9/ } split /^/, $log);

    is($p->call('GET', '/v2/shipments/after', 'other')->{status}, 200,
       'the new worker serves');
    zero('after the crash');
}

###############################################################################
# a reload: old and new workers count in the same counters

SKIP: {
    skip 'reload needs a master process', 6 unless $t->can_reload();

    @held = map { $p->open_request('GET', "/v2/shipments/h$_", 'other') }
            10, 11;
    held(2, 'before the reload');

    $p->write_policy(sub {
        $_[0]{apis}{shipments}{odoo}{max_in_flight} = 3;
        $_[0]{apis}{shipments}{odoo}{breaker} = JSON::PP::false;
    });
    ok($t->reload(), 'reload with a budget of 3');

    my $st = $p->status();
    is_deeply([ @{ $st->{apis}[0] }{qw(max_in_flight in_flight)} ], [3, 2],
              'the new worker sees the 2 requests the old one holds');
    is($p->call('GET', '/v2/shipments/n1', 'other')->{status}, 503,
       'so a normal request finds no slot (3 - 1 reserved, 2 taken)');
    is($p->call('POST', '/v2/shipments', 'carrier')->{status}, 201,
       'a critical one takes the reserved slot');

    $p->stub_release();
    $p->finish_request($_) for @held;
    zero('the old worker\'s requests answered');
}

$t->finish();
done_testing();
