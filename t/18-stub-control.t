#!/usr/bin/perl

# The stub Odoo's admin endpoints (t/stub/odoo-stub.js): per-path latency
# and errors, requests held open until released, and the in-flight
# counters the "protect Odoo" tests assert on.  The requests go straight
# to the stub, then through a plain nginx proxy (no module) to show that
# client aborts and upstream timeouts are counted out.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);
use Lg::Test;

my $t = Lg::Test->new(no_module => 1);
$t->run_stub();
my $port = $t->stub_port();

sub get { http_get($_[0], port => $port, @_[1 .. $#_]) }

sub post_json {
    my ($uri, $data) = @_;
    return http_req('POST', $uri, port => $port,
        headers => [ 'Content-Type' => 'application/json' ],
        body => ref $data ? json_encode($data) : $data);
}

sub inflight { json_decode(get('/__stub/inflight')->{body}) }

sub config { post_json('/__stub/config', { rules => [@_] }) }

# sends a request on its own connection and returns the socket unread
sub send_open {
    my ($uri) = @_;
    my $s = Lg::Test::connect_to($port) or die "connect: $!\n";
    Lg::Test::write_all($s, Lg::Test::build_request('GET', $uri))
        or die "write: $!\n";
    return $s;
}

# sockets among @s that have something to read within $timeout seconds
sub readable {
    my ($timeout, @s) = @_;
    my $sel = IO::Select->new(@s);
    return $sel->can_read($timeout);
}

sub wait_until {
    my ($what, $timeout) = @_;
    my $end = time() + ($timeout // 5);
    while (time() < $end) {
        return 1 if $what->();
        sleep 0.02;
    }
    return 0;
}


# the original behaviour is untouched

my $r = get('/api/v2/x', 'X-Stub-Status' => '418');
is($r->{status}, 418, 'X-Stub-Status still sets the status');
is(echo_of($r)->{uri}, '/api/v2/x', 'and the body is the echo');
is(json_decode(get('/__stub/stats')->{body})->{count}, 1,
   '/__stub/stats counts it');
is(get('/__stub/stats?x=1')->{status}, 200,
   'a query on /__stub/stats makes an ordinary request, as before');
is(json_decode(get('/__stub/stats')->{body})->{count}, 2, 'counted');
is(post_json('/__stub/reset', '')->{body}, '{"count":0}',
   '/__stub/reset answers as before');

# rules are checked

$r = config({ path_prefix => '/api/', dealy_ms => 5 });
is($r->{status}, 400, 'a misspelt rule field is refused');
like(json_decode($r->{body})->{error}, qr/unknown field "dealy_ms"/,
     'and named');
is(config({ delay_ms => 5 })->{status}, 400, 'path_prefix is required');
is(config({ path_prefix => '/a', error_rate => 2 })->{status}, 400,
   'error_rate above 1 refused');
is(config({ path_prefix => '/a', status => 99 })->{status}, 400,
   'status below 100 refused');
is(post_json('/__stub/config', { rule => [] })->{status}, 400,
   'only "rules" at the top');
is(post_json('/__stub/config', '{')->{status}, 400, 'broken JSON refused');

$r = config({ path_prefix => '/err/', status => 502 });
is_deeply(json_decode($r->{body})->{rules},
    [ { path_prefix => '/err/', hold => JSON::PP::false(),
        reset => JSON::PP::false(), status => 502, error_rate => 1 } ],
    'a status alone means every matching request fails');
is_deeply(json_decode(get('/__stub/config')->{body}),
    json_decode($r->{body}), 'GET /__stub/config shows the rules');

# latency per prefix

config({ path_prefix => '/slow/', delay_ms => 400 },
       { path_prefix => '/slow/fast/', delay_ms => 0 });

my $t0 = time();
$r = get('/slow/x');
my $slow = time() - $t0;
is($r->{status}, 200, 'slow prefix answers 200');
cmp_ok($slow, '>=', 0.39, 'after its delay_ms (' . sprintf('%.3f', $slow)
       . 's)');

$t0 = time();
get('/slow/fast/x');
my $fast = time() - $t0;
cmp_ok($fast, '<', $slow, 'the longest matching prefix decides ('
       . sprintf('%.3f', $fast) . 's)');

$t0 = time();
get('/slow/y', 'X-Stub-Delay-Ms' => '0');
cmp_ok(time() - $t0, '<', $slow, 'X-Stub-Delay-Ms wins over the rule');

# errors, spread evenly

config({ path_prefix => '/api/', status => 503, error_rate => 0.5 },
       { path_prefix => '/api/v2/' });

my @st = map { get("/api/v2/s/$_")->{status} } 1 .. 6;
is("@st", '200 503 200 503 200 503', 'error_rate 0.5: every 2nd fails');

$r = get('/api/v1/s');
is($r->{status}, 200, 'the 7th (another path, same rule) succeeds');
$r = get('/api/v1/s');
is($r->{status}, 503, 'the 8th fails');
my $j = json_decode($r->{body});
is($j->{error}{code}, 503, 'an Odoo-shaped JSON-RPC error');
is($j->{error}{data}{echo}{uri}, '/api/v1/s', 'carrying the echo');

is(get('/api/v1/s', 'X-Stub-Status' => '200')->{status}, 200,
   'X-Stub-Status wins over a failing rule');

my $in = inflight();
is($in->{prefixes}{'/api/'}{total}, 9, '/api/ counted 9 requests');
is($in->{prefixes}{'/api/'}{errors}, 4, '4 of them errors');
is($in->{prefixes}{'/api/v2/'}{total}, 6,
   'a counting-only rule counts its own prefix');
is($in->{prefixes}{'/api/v2/'}{errors}, 3, 'and its errors');

config({ path_prefix => '/api/', error_rate => 0.25, status => 500 });
@st = map { get('/api/x')->{status} } 1 .. 8;
is("@st", '200 200 200 500 200 200 200 500', 'error_rate 0.25');

config({ path_prefix => '/api/', reset => JSON::PP::true() });
$r = get('/api/x');
is($r->{status}, 0, 'reset: the connection closes without an answer');

# held requests and the in-flight counters

post_json('/__stub/config/reset', '');
$in = inflight();
is($in->{in_flight}, 0, 'after config/reset: nothing in flight');
is($in->{max_in_flight}, 0, 'maximum 0');
is_deeply($in->{prefixes}, {}, 'no prefixes');

config({ path_prefix => '/held/', hold => JSON::PP::true() },
       { path_prefix => '/held/a/' });

my @ready;
my @s = map { send_open("/held/a/$_") } 1 .. 3;
push @s, send_open('/held/b/1');

$r = get('/__stub/wait?held=4&timeout_ms=5000');
is($r->{status}, 200, 'wait: 4 requests held');
$j = json_decode($r->{body});
ok($j->{ok}, 'wait says ok');

$in = inflight();
is($in->{in_flight}, 4, 'in_flight 4');
is($in->{held}, 4, 'held 4');
is($in->{max_in_flight}, 4, 'max_in_flight 4');
is($in->{prefixes}{'/held/'}{in_flight}, 4, '/held/: 4 in flight');
is($in->{prefixes}{'/held/a/'}{in_flight}, 3, '/held/a/: 3 in flight');
is($in->{prefixes}{'/held/a/'}{held}, 3, '/held/a/: 3 held');
@ready = readable(0.3, @s);
is(scalar @ready, 0, 'nobody has an answer yet');

$r = post_json('/__stub/release', { path_prefix => '/held/b/' });
is_deeply(json_decode($r->{body}), { released => 1, held => 3 },
   'release by prefix: 1 released, 3 held');
@ready = readable(5, @s);
is(scalar @ready, 1, 'one answer arrived');
ok(@ready && $ready[0] == $s[3], 'the released one');
$r = read_response($s[3]);
is($r->{status}, 200, 'answered 200 after its release');
is(echo_of($r)->{uri}, '/held/b/1', 'with its echo');
close $s[3];

ok(wait_until(sub { inflight()->{in_flight} == 3 }), 'in_flight back to 3');

$r = post_json('/__stub/release', { count => 1 });
is_deeply(json_decode($r->{body}), { released => 1, held => 2 },
   'release count 1');
@ready = readable(5, @s[0 .. 2]);
is(scalar @ready, 1, 'exactly one more answer');

# a client that goes away while held leaves the counters

my ($gone) = grep { my $x = $_; !grep { $_ == $x } @ready } @s[0 .. 2];
close $gone;
ok(wait_until(sub { my $i = inflight(); $i->{held} == 1
                    && $i->{in_flight} == 1 }),
   'a held client that closes is no longer held nor in flight');

$r = get('/__stub/wait?held=2&timeout_ms=200');
is($r->{status}, 504, 'wait times out with 504');
ok(!json_decode($r->{body})->{ok}, 'ok false');

$r = post_json('/__stub/release', '');
is_deeply(json_decode($r->{body}), { released => 1, held => 0 },
   'release with no body: all the rest');
ok(wait_until(sub { inflight()->{in_flight} == 0 }), 'nothing in flight');

$in = inflight();
is($in->{max_in_flight}, 4, 'the maximum stays 4');
is($in->{prefixes}{'/held/a/'}{max_in_flight}, 3, '/held/a/ maximum 3');

$r = post_json('/__stub/inflight/reset', '');
$j = json_decode($r->{body});
is($j->{max_in_flight}, 0, 'inflight/reset: maximum back to 0');
is($j->{total}, 0, 'total 0');
is($j->{prefixes}{'/held/'}{max_in_flight}, 0, 'per prefix too');

# config/reset lets held requests go

my $h = send_open('/held/z');
is(get('/__stub/wait?held=1')->{status}, 200, 'one more held');
post_json('/__stub/config/reset', '');
@ready = readable(5, $h);
is(scalar @ready, 1, 'config/reset answered it');
is(read_response($h)->{status}, 200, 'with 200');
is(get('/held/q')->{status}, 200, 'and no rule holds anything now');

# control requests are not counted

post_json('/__stub/inflight/reset', '');
get('/__stub/inflight') for 1 .. 3;
is(inflight()->{total}, 0, 'control requests are not Odoo requests');

# with nginx in between, the counters see what nginx does to Odoo: a
# client that gives up and an upstream timeout both close the upstream
# connection, and the stub counts the request out

$t->write_config(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            proxy_pass http://127.0.0.1:%%STUB_PORT%%;
            proxy_read_timeout 30s;
        }
        location /timeout/ {
            proxy_pass http://127.0.0.1:%%STUB_PORT%%;
            proxy_read_timeout 300ms;
        }
    }
EOF
$t->run();

config({ path_prefix => '/', hold => JSON::PP::true() });
post_json('/__stub/inflight/reset', '');

my @c = map {
    my $s = Lg::Test::connect_to($t->port(0)) or die "connect: $!\n";
    Lg::Test::write_all($s, Lg::Test::build_request('GET', "/api/$_"));
    $s;
} 1 .. 3;

is(get('/__stub/wait?held=3')->{status}, 200, 'through nginx: 3 held');
close $_ for @c;
ok(wait_until(sub { inflight()->{in_flight} == 0 }),
   'clients gone: nginx closed the upstream, the stub counts 0');
is(inflight()->{max_in_flight}, 3, 'after a maximum of 3');

$r = http_get('/timeout/x', port => $t->port(0));
is($r->{status}, 504, 'an upstream timeout: 504 from nginx');
ok(wait_until(sub { inflight()->{in_flight} == 0 }),
   'and the timed-out request is no longer in flight');

$t->done_testing();
