#!/usr/bin/perl

# Idempotency-Key on POST /v2/shipments, in the shared memory zone and in
# a real Redis shared by two gateways: first call, replay (byte for byte,
# Idempotent-Replayed: true), in-flight conflict (409), reuse with another
# body (422), missing or malformed key (400), 5xx and client aborts
# releasing the key, 100 concurrent requests reaching Odoo once, responses
# too large to keep (410 on retry), and replays surviving a reload (zone)
# and a restart (Redis).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(sleep time);

my $KEY = 'idem-key';
my $sha = key_sha256($KEY);

my $policy = JSON::PP->new->canonical->encode({
    idempotency => { ttl => '1h', lock_ttl => '10s',
                     max_response_size => '16k' },
    scopes => { 'shipments:write' => '' },
    partners => { p => { scopes => ['shipments:write'],
                         api_keys => [{ id => 'k', sha256 => $sha }] } },
    apis => { shipments => {
        # the stub's own steering headers reach it
        forward_headers => ['X-Stub-Status', 'X-Stub-Delay-Ms',
                            'X-Stub-Chunked'],
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'create', method => 'POST', path => '/shipments',
              scopes => ['shipments:write'], idempotency => 'required' },
            { id => 'note', method => 'POST', path => '/notes',
              scopes => ['shipments:write'], idempotency => 'optional' },
        ] } },
});

sub gateway {
    my ($t, $extra) = @_;
    $t->write_file('policy.json', $policy);
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone z:4m;\n$extra\n"
            . "    log_format idem '\$logistics_request_id \$logistics_idempotency';",
        server_extra => '        access_log %%TESTDIR%%/idem.log idem;'),
        workers => 2);
    $t->run_stub() unless $t->{stub_pid};
    $t->run();
    return $t->port(0);
}

sub post {
    my ($p, $key, $body, %h) = @_;
    return http_req('POST', delete $h{uri} // '/v2/shipments', port => $p,
                    body => $body,
                    headers => [ 'X-API-Key' => $KEY,
                                 'Content-Type' => 'application/json',
                                 (defined $key ? ('Idempotency-Key' => $key) : ()),
                                 %h ]);
}

sub state_of {
    my ($t, $rid) = @_;
    my $line = $t->wait_log_line('idem.log', qr/^\Q$rid\E /) // '';
    return (split / /, $line)[1] // '';
}

# the same checks for both backends

sub suite {
    my ($t, $p, $name) = @_;
    my $n = 0;
    my $k = sub { "$name-" . (++$n) . "-" . int(rand 1e9) };

    my $r = post($p, undef, '{"a":1}');
    is_problem($r, 400, 'idempotency-key', "$name: missing key: 400");
    $r = post($p, 'two words', '{"a":1}');
    is($r->{status}, 400, "$name: malformed key: 400");
    $r = post($p, 'x' x 300, '{"a":1}');
    is($r->{status}, 400, "$name: key over 255 characters: 400");
    is(post($p, undef, '{"a":1}', uri => '/v2/notes')->{status}, 201,
       "$name: optional route without a key: forwarded");

    # first call, replay

    $t->stub_reset();
    my $key = $k->();
    my $first = post($p, qq("$key"), '{"ref":"A-1"}', 'X-Request-Id' => "$name-first");
    is($first->{status}, 201, "$name: first call forwarded (sf-string key)");
    is(state_of($t, "$name-first"), 'new', "$name: \$logistics_idempotency new");

    my $again = post($p, qq("$key"), '{"ref":"A-1"}', 'X-Request-Id' => "$name-again");
    is($again->{status}, 201, "$name: retry answered with the stored status");
    is($again->{body}, $first->{body}, "$name: stored body, byte for byte");
    is(hdr($again, 'idempotent-replayed'), 'true', "$name: Idempotent-Replayed: true");
    is(hdr($again, 'content-type'), hdr($first, 'content-type'),
       "$name: stored Content-Type");
    is(state_of($t, "$name-again"), 'replayed', "$name: \$logistics_idempotency replayed");
    is($t->stub_count(), 1, "$name: Odoo saw the request once");

    $r = post($p, qq("$key"), '{"ref":"A-2"}');
    is_problem($r, 422, 'idempotency-key-reused', "$name: same key, other body: 422");

    # in flight: 409, then the replay

    $key = $k->();
    my $s = Lg::Test::connect_to($p);
    Lg::Test::write_all($s, Lg::Test::build_request('POST', '/v2/shipments',
        headers => [ 'X-API-Key' => $KEY, 'Content-Type' => 'application/json',
                     'Idempotency-Key' => $key, 'X-Stub-Delay-Ms' => 1000 ],
        body => '{"slow":1}'));
    sleep 0.3;
    $r = post($p, $key, '{"slow":1}');
    is_problem($r, 409, 'idempotency-conflict', "$name: in flight: 409");
    ok(hdr($r, 'retry-after'), "$name: 409 carries Retry-After");
    my $slow = Lg::Test::read_response($s);
    is($slow->{status}, 201, "$name: the first one completes");
    $r = post($p, $key, '{"slow":1}');
    is(hdr($r, 'idempotent-replayed'), 'true', "$name: then retries are replays");

    # a 5xx releases the key

    $t->stub_reset();
    $key = $k->();
    $r = post($p, $key, '{"x":5}', 'X-Stub-Status' => 500);
    is($r->{status}, 500, "$name: Odoo answers 500");
    $r = post($p, $key, '{"x":5}');
    is($r->{status}, 201, "$name: after a 5xx the retry reaches Odoo");
    is($t->stub_count(), 2, "$name: twice, as it should");

    # a client that goes away releases the key

    $key = $k->();
    $s = Lg::Test::connect_to($p);
    Lg::Test::write_all($s, Lg::Test::build_request('POST', '/v2/shipments',
        headers => [ 'X-API-Key' => $KEY, 'Content-Type' => 'application/json',
                     'Idempotency-Key' => $key, 'X-Stub-Delay-Ms' => 800 ],
        body => '{"gone":1}'));
    sleep 0.2;
    close $s;
    sleep 1.2;
    $r = post($p, $key, '{"gone":1}');
    is($r->{status}, 201, "$name: after a client abort the key is usable again");
    ok(!hdr($r, 'idempotent-replayed'), "$name: and that call was not a replay");

    # 100 concurrent requests, one key: Odoo sees one

    $t->stub_reset();
    $key = $k->();
    my @socks;
    for (1 .. 100) {
        my $c = Lg::Test::connect_to($p) or next;
        push @socks, $c;
    }
    for my $c (@socks) {
        Lg::Test::write_all($c, Lg::Test::build_request('POST', '/v2/shipments',
            headers => [ 'X-API-Key' => $KEY, 'Content-Type' => 'application/json',
                         'Idempotency-Key' => $key, 'X-Stub-Delay-Ms' => 300 ],
            body => '{"burst":1}'));
    }
    my %st;
    for my $c (@socks) {
        my $res = Lg::Test::read_response($c);
        $st{$res ? $res->{status} : 0}++;
        close $c;
    }
    is(scalar @socks, 100, "$name: 100 connections");
    is($t->stub_count(), 1, "$name: 100 concurrent requests, Odoo saw one");
    is(($st{201} // 0) + ($st{409} // 0), 100,
       "$name: the others got 409 or the replay ("
       . join(', ', map { "$_: $st{$_}" } sort keys %st) . ')');

    # a response too large to keep: retries get 410

    $key = $k->();
    my $big = '{"pad":"' . ('x' x 20000) . '"}';
    $r = post($p, $key, $big);
    is($r->{status}, 201, "$name: large response delivered");
    $r = post($p, $key, $big);
    is_problem($r, 410, 'idempotency-response-gone',
               "$name: too large to keep: the retry gets 410");

    # a response that fits is replayed byte for byte, whatever its bytes

    $key = $k->();
    my $bin = '{"blob":"' . join('', map { chr(0x20 + ($_ * 7) % 90) } 1 .. 5000) . '"}';
    $first = post($p, $key, $bin);
    $again = post($p, $key, $bin);
    is($again->{body}, $first->{body}, "$name: 5 KB response replayed identically");

    # a chunked response from Odoo is replayed with the same bytes

    $key = $k->();
    $first = post($p, $key, '{"chunked":1}', 'X-Stub-Chunked' => 1);
    like($first->{raw} // '', qr/transfer-encoding: chunked/i,
         "$name: Odoo's answer reached the partner chunked");
    $again = post($p, $key, '{"chunked":1}');
    is($again->{body}, $first->{body}, "$name: chunked response replayed identically");
    is(hdr($again, 'idempotent-replayed'), 'true', "$name: as a replay");

    # larger than the capture's first 4 KB, with no Content-Length: it grows
    $key = $k->();
    my $ten = '{"pad":"' . ('y' x 10000) . '"}';
    $first = post($p, $key, $ten, 'X-Stub-Chunked' => 1);
    $again = post($p, $key, $ten);
    ok(length($first->{body}) > 8192 && !hdr($first, 'content-length'),
       "$name: a chunked response over 8 KB");
    is($again->{body}, $first->{body},
       "$name: replayed identically (the capture buffer grew)");

    return $key;
}

# shared memory

my $t = Lg::Test->new();
my $p = gateway($t, '');
suite($t, $p, 'shm');

SKIP: {
    skip 'reload needs the master process', 1 unless $t->can_reload;
    my $rk = 'reload-' . int(rand 1e9);
    is(post($p, $rk, '{"reload":1}')->{status}, 201, 'shm: stored before a reload');
    $t->reload();
    my $r = post($p, $rk, '{"reload":1}');
    is(hdr($r, 'idempotent-replayed'), 'true', 'shm: replay survives a reload');
}

$t->finish();

# Redis, two gateways

SKIP: {
    skip 'redis-server not installed', 1
        unless system('command -v redis-server >/dev/null 2>&1') == 0;

    my $t1 = Lg::Test->new();
    my $rport = $t1->run_redis();
    # valgrind makes a burst of 100 requests outlast a 200ms Redis reply,
    # and a timed-out claim fails open (bypassed): give it the time, and
    # the connection's setup too (a worker not ready yet fails open)
    my $timeout = $ENV{LG_VALGRIND} ? '2s' : '200ms';
    my $redis = "    logistics_redis 127.0.0.1:$rport timeout=$timeout"
              . " connect_timeout=$timeout;";
    # both workers' Redis connections, not a fixed time that valgrind on
    # a busy machine overruns (before them, a claim fails open)
    my $ready = sub {
        my ($t, $before) = @_;
        my $end = time() + 20;
        sleep 0.05 while time() < $end
            && (() = $t->read_file('error.log') =~ /Redis .* ready/g)
               < $before + 2;
    };

    my $p1 = gateway($t1, $redis);
    $ready->($t1, 0);
    my $key = suite($t1, $p1, 'redis');

    my $t2 = Lg::Test->new();
    my $p2 = gateway($t2, $redis);
    $ready->($t2, 0);

    my $k2 = "cross-" . int(rand 1e9);
    my $a = post($p1, $k2, '{"node":1}');
    my $b = post($p2, $k2, '{"node":1}');
    is($a->{status}, 201, 'redis: node 1 forwards');
    is(hdr($b, 'idempotent-replayed'), 'true', 'redis: node 2 replays it');
    is($b->{body}, $a->{body}, 'redis: the same bytes');

    my @keys = grep { /idem/ } split /\n/, $t1->redis_cli('KEYS', 'lg:*');
    ok((grep { /^lg:\{p\}:idem:/ } @keys), 'redis: keys are lg:{partner}:idem:<key>');
    my $ttl = $t1->redis_cli('PTTL', "lg:{p}:idem:$k2");
    ok($ttl > 3500 * 1000 && $ttl <= 3600 * 1000, "redis: stored for the ttl ($ttl ms)");

    my $before = () = $t2->read_file('error.log') =~ /Redis .* ready/g;
    $t2->stop();
    $t2->run();
    $ready->($t2, $before);
    my $c = post($p2, $k2, '{"node":1}');
    is(hdr($c, 'idempotent-replayed'), 'true', 'redis: replay survives a restart');

    $t2->finish();
    $t1->finish();
}

done_testing();
