#!/usr/bin/perl

# The harness itself, with a plain nginx (no module) in front of the stub
# Odoo: runs even before the module is built.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new(no_module => 1);

$t->write_config(<<'EOF');
    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            proxy_pass http://odoo;
            proxy_set_header Host $host;
            add_header X-Conf one always;
        }
    }
EOF

my ($rc, $out) = $t->test_config();
is($rc, 0, 'nginx -t accepts the generated config');
like($out, qr/syntax is ok/, 'nginx -t prints its verdict');

$t->run_stub();
$t->run();

my $p = $t->port(0);

my $r = http_get('/api/x?a=1', port => $p, 'X-Foo' => 'bar');
is($r->{status}, 200, 'GET through nginx to the stub gives 200');
is(hdr($r, 'content-type'), 'application/json', 'stub answers JSON');
is(hdr($r, 'x-conf'), 'one', 'response headers are parsed');
my $j = json_decode($r->{body});
is($j->{jsonrpc}, '2.0', 'stub body is an Odoo-shaped JSON-RPC envelope');
is($j->{result}{echo}{uri}, '/api/x?a=1', 'stub echoes the upstream URI');
is($j->{result}{echo}{method}, 'GET', 'stub echoes the method');
is($j->{result}{echo}{headers}{'x-foo'}, 'bar',
   'stub echoes request headers, lowercased');

$r = http_req('POST', '/p', port => $p, body => '{"a":1}',
              headers => ['Content-Type' => 'application/json']);
is($r->{status}, 201, 'POST to the stub gives 201');
is(json_decode($r->{body})->{result}{echo}{body}, '{"a":1}',
   'stub echoes the request body');

$r = http_get('/s', port => $p, 'X-Stub-Status' => '503');
is($r->{status}, 503, 'X-Stub-Status sets the stub status');

$r = http_get('/d', port => $p, 'X-Stub-Delay-Ms' => '300');
is($r->{status}, 200, 'X-Stub-Delay-Ms delays but answers');

$r = http_req('HEAD', '/h', port => $p);
is($r->{status}, 200, 'HEAD answered');
is($r->{body}, '', 'HEAD has no body');

my $raw = http("GET /raw HTTP/1.0\r\nX-Odd: a\tb\r\n\r\n", port => $p);
like($raw, qr{^HTTP/1\.1 200 }, 'raw http() sends exact bytes, gets reply');

is($t->stub_count(), 6, 'stub counts proxied requests');
$t->stub_reset();
is($t->stub_count(), 0, 'stub count resets');

my $c = http_raw_conn($p);
my $ok = 0;
for my $i (1 .. 20) {
    my $x = $c->request('GET', "/ka/$i");
    $ok++ if $x && $x->{status} == 200
        && json_decode($x->{body})->{result}{echo}{uri} eq "/ka/$i";
}
$c->close();
is($ok, 20, 'keep-alive connection carries 20 requests in order');

$r = http_get('/x', port => $p);
is($r->{status}, 200, 'plain request works after keep-alive run');

# reload with a changed config
SKIP: {
skip 'no reload without a master process', 2 unless $t->can_reload();
$t->write_config(<<'EOF');
    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            proxy_pass http://odoo;
            add_header X-Conf two always;
        }
    }
EOF
is($t->reload(), 1, 'reload with a good config succeeds');
is(hdr(http_get('/', port => $p), 'x-conf'), 'two',
   'reloaded config is in use');
}

# a bad config checked with nginx -t only, in its own file
$t->write_config("    bogus_directive on;\n", name => 'bad.conf',
                 error_log => $t->testdir . '/bad-error.log');
($rc, $out) = $t->test_config(conf => 'bad.conf');
isnt($rc, 0, 'nginx -t rejects an unknown directive');
like($out, qr/\[emerg\] .*unknown directive "bogus_directive"/,
     'nginx -t output shows the emerg');

my @bad = $t->log_problems();
is(scalar @bad, 0, 'log check finds nothing in a clean run');
$t->append_file('error.log', "2026/01/01 00:00:00 [alert] 1#1: fake\n");
@bad = $t->log_problems();
is(scalar @bad, 1, 'log check spots an [alert] line');
# remove the fake line again
my $log = $t->read_file('error.log');
$log =~ s/^.*\[alert\] 1#1: fake\n//m;
$t->write_file('error.log', $log);

$t->done_testing();
