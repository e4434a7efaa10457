#!/usr/bin/perl

# Bodies are bounded while they are read (issue 12): a body larger than
# the route's max_body_size is refused with 413 as soon as the limit is
# passed, chunked or not, on a schema route, an idempotency route or a
# plain one; the rest is neither read into memory nor copied, and the
# worker's memory does not grow by the body's size.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $t = Lg::Test->new();
my $KEY = 'bounded-key';

$t->write_file('schemas/any.json', '{"type": "object"}');
$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'w' => '' },
    partners => { p => { scopes => ['w'],
                         api_keys => [{ id => 'k',
                                        sha256 => key_sha256($KEY) }] } },
    apis => { orders => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [
            { id => 'schema', method => 'POST', path => '/orders',
              scopes => ['w'], schema => 'schemas/any.json',
              max_body_size => '1m' },
            { id => 'idem', method => 'POST', path => '/bookings',
              scopes => ['w'], idempotency => 'optional',
              max_body_size => '1m' },
            { id => 'plain', method => 'POST', path => '/raw',
              scopes => ['w'], max_body_size => '1m' },
        ],
    } },
}));
$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => "    logistics_zone bounded:1m;\n"
                . "    client_max_body_size 100m;\n"
                . "    log_format len '\$logistics_request_id \$request_length';\n",
    server_extra => "        access_log %%TESTDIR%%/len.log len;\n"));
$t->run_stub();
$t->run();

my $p = $t->port(0);

sub worker_pid {
    my $master = $t->master_pid() or return undef;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        return $1 if $line =~ /^(\d+) \(.*?\) \S+ (\d+)/ && $2 == $master;
    }
    return undef;
}

sub hwm_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) {
        return $1 if /^VmHWM:\s+(\d+)\s+kB/;
    }
    return 0;
}

# sends the head, then the body as fast as the socket takes it, reading
# at the same time; returns (response, seconds until the status line,
# bytes of the body that went out)
sub send_big {
    my (%o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p") or die $!;
    $s->blocking(0);
    binmode $s;

    my $head = "POST $o{uri} HTTP/1.1\r\nHost: localhost\r\n"
             . "X-API-Key: $KEY\r\nContent-Type: application/json\r\n"
             . ($o{rid} ? "X-Request-Id: $o{rid}\r\n" : '')
             . ($o{idem} ? "Idempotency-Key: \"$o{idem}\"\r\n" : '')
             . ($o{chunked} ? "Transfer-Encoding: chunked\r\n"
                            : "Content-Length: $o{size}\r\n")
             . "\r\n";
    my $piece = '[' . ('1,' x 32767) . '1]';     # 64 KB of JSON-ish bytes
    my $out = $head;
    my $sent = 0;
    my $queued = 0;
    my ($reply, $first) = ('', undef);
    my $t0 = time();
    my $sel = IO::Select->new($s);
    local $SIG{PIPE} = 'IGNORE';

    while (time() - $t0 < 20) {
        if (!length $out && $queued < $o{size}) {
            my $n = $o{size} - $queued < length $piece
                  ? $o{size} - $queued : length $piece;
            $out = $o{chunked} ? sprintf("%x\r\n", $n)
                                 . substr($piece, 0, $n) . "\r\n"
                               : substr($piece, 0, $n);
            $queued += $n;
            $out .= "0\r\n\r\n" if $o{chunked} && $queued >= $o{size};
        }

        my ($r, $w) = IO::Select->select($sel, length $out ? $sel : undef,
                                         undef, 0.5);
        if ($r && @$r) {
            my $n = sysread($s, my $buf, 65536);
            last if !$n;
            $reply .= $buf;
            $first //= time() - $t0 if length $reply;
            my $res = parse_response($reply);
            last if $res->{status}
                 && length($res->{body}) >= (hdr($res, 'content-length')
                                              // 1e9);
        }
        if ($w && @$w && length $out) {
            my $n = syswrite($s, $out);
            last if !defined $n && !$!{EAGAIN};
            if ($n) {
                substr($out, 0, $n) = '';
                $sent += $n;
            }
        }
    }
    close $s;

    return (parse_response($reply), $first // 99, $sent);
}

my $MB = 1024 * 1024;

# warm up the worker, then take its high-water mark

my $r = http_req('POST', '/v2/raw', port => $p, body => '{"x":1}',
                 headers => [ 'X-API-Key' => $KEY ]);
is($r->{status}, 201, 'a small body passes');
my $pid = worker_pid();
ok($pid, 'the worker');
my $hwm0 = hwm_kb($pid);

for my $c ([ 'schema route', '/v2/orders', undef ],
           [ 'idempotency route', '/v2/bookings', 'big-1' ],
           [ 'plain route', '/v2/raw', undef ])
{
    my ($what, $uri, $idem) = @$c;
    (my $rid = "big-$what") =~ s/ /-/g;
    my ($res, $secs, $sent) = send_big(uri => $uri, size => 8 * $MB,
                                       chunked => 1, idem => $idem,
                                       rid => $rid);
    is_problem($res, 413, 'body-too-large', "8 MB chunked, $what: 413");
    cmp_ok($secs, '<', 0.5,
           sprintf('%s: refused in %.3fs', $what, $secs));

    # what the gateway read, not what the kernel buffered for it
    my ($read) = ($t->wait_log_line('len.log', qr/^\Q$rid\E /, 5) // '')
                 =~ / (\d+)$/;
    cmp_ok($read // 8 * $MB, '<', 2 * $MB,
           sprintf('%s: refused after reading %.1f MB of 8', $what,
                   ($read // 0) / $MB));
    is(lc(hdr($res, 'connection') // ''), 'close',
       "$what: the connection is not kept for the rest of the body");
}

my $grown = hwm_kb($pid) - $hwm0;
cmp_ok($grown, '<', 3 * 1024,
       "the worker's memory did not grow by the bodies ($grown kB)");

# with a Content-Length the answer comes before any of it is read

my ($res, $secs, $sent) = send_big(uri => '/v2/bookings', size => 8 * $MB,
                                   idem => 'big-2');
is_problem($res, 413, 'body-too-large',
           '8 MB with Content-Length on an idempotency route: 413');
cmp_ok($secs, '<', 0.5, sprintf('refused in %.3fs', $secs));

# exactly the limit passes, one byte more does not

my $exact = '"' . ('a' x ($MB - 2)) . '"';
$r = http_req('POST', '/v2/raw', port => $p, body => $exact,
              headers => [ 'X-API-Key' => $KEY ]);
is($r->{status}, 201, 'a body of exactly max_body_size passes');
is(length(echo_of($r)->{body} // ''), $MB, 'and reaches Odoo whole');

($res) = send_big(uri => '/v2/raw', size => $MB + 1, chunked => 1);
is_problem($res, 413, 'body-too-large', 'max_body_size + 1, chunked: 413');

$r = http_req('POST', '/v2/raw', port => $p, body => '{"after":1}',
              headers => [ 'X-API-Key' => $KEY ]);
is($r->{status}, 201, 'the worker serves the next request');

$t->done_testing();
