#!/usr/bin/perl

# Policy reload: a good policy takes effect on reload (key rotation), a bad
# one is refused with an [emerg] and the running policy keeps serving, all
# while requests keep flowing.  Also nginx -t and nginx -s reload output.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $t = Lg::Test->new();
$t->need_reload();
$t->allow_errors('emerg');      # the refused reloads log [emerg]

my $pol = $t->testdir . '/policy.json';
my $fix = Lg::Test->repo . '/t/policies';

sub use_policy {
    my ($name) = @_;
    $t->write_file('policy.json', $t->read_file("$fix/$name"));
}

my $A = 'lg-test-reload-a';
my $B = 'lg-test-reload-b';

use_policy('reload-a.json');
$t->write_config($t->gateway_http_body(policy => $pol));
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub call {
    my ($key) = @_;
    return http_get('/v2/shipments/42', port => $p, 'X-API-Key' => $key);
}

# background load: requests alternating both keys until told to stop;
# one line per request: "<key letter> <status> <upstream uri>"
sub start_load {
    my $stop = $t->testdir . '/load.stop';
    unlink $stop;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open my $out, '>', $t->testdir . '/load.log' or POSIX::_exit(1);
        $out->autoflush(1);
        my $end = time() + 60;
        my $i = 0;
        while (!-e $stop && time() < $end) {
            my ($l, $k) = $i++ % 2 ? ('b', $B) : ('a', $A);
            my $r = call($k);
            print $out "$l $r->{status} " . (echo_of($r)->{uri} // '-')
                . "\n";
            sleep 0.01;
        }
        close $out;
        POSIX::_exit(0);
    }
    return $pid;
}

sub stop_load {
    my ($pid) = @_;
    $t->write_file('load.stop', '');
    waitpid($pid, 0);
    return map { [ split / / ] } split /\n/, $t->read_file('load.log');
}

is(call($A)->{status}, 200, 'policy A: key A accepted');
is(call($B)->{status}, 401, 'policy A: key B unknown');
is(echo_of(call($A))->{uri}, '/odoo/a/shipments/42',
   'policy A: upstream prefix /odoo/a');

# keep-alive connection opened under policy A
my $ka = http_raw_conn($p);
my $x = $ka->request('GET', '/v2/shipments/1',
                     headers => ['X-API-Key' => $A]);
is($x && $x->{status}, 200, 'keep-alive connection works under policy A');

# good reload under load

my $load = start_load();
sleep 0.5;
use_policy('reload-b.json');
is($t->reload(), 1, 'reload with policy B succeeds');
sleep 0.5;
my @lines = stop_load($load);

ok(@lines > 10, 'background requests ran during the reload ('
   . scalar(@lines) . ')');
my @odd = grep { $_->[1] != 200 && $_->[1] != 401 } @lines;
is(scalar @odd, 0, 'every request during the reload got 200 or 401')
    or diag(join "\n", map { "@$_" } @odd[0 .. ($#odd > 9 ? 9 : $#odd)]);
my @mixed = grep { $_->[1] == 200
                   && $_->[2] ne ($_->[0] eq 'a' ? '/odoo/a/shipments/42'
                                                : '/odoo/b/shipments/42') }
    @lines;
is(scalar @mixed, 0,
   'each allowed request used one policy whole (key and prefix agree)');

is(call($B)->{status}, 200, 'after reload: key B accepted');
is(call($A)->{status}, 401, 'after reload: key A revoked');
is(echo_of(call($B))->{uri}, '/odoo/b/shipments/42',
   'after reload: new upstream prefix');

# bad reloads under load: refused, policy B keeps serving

for my $bad (['reload-bad-sha.json', qr/sha256/],
             ['reload-bad-field.json', qr/scoopes/],
             ['reload-bad-json.json', qr/: \S/])
{
    my ($name, $re) = @$bad;
    my $off = length $t->read_file('error.log');

    $load = start_load();
    sleep 0.3;
    use_policy($name);
    is($t->reload(), 0, "$name: reload refused");
    sleep 0.3;
    @lines = stop_load($load);

    my $new = substr($t->read_file('error.log'), $off);
    like($new, qr/\[emerg\].*policy\.json.*$re/,
         "$name: error.log has the [emerg] naming the file and problem");
    my @b = grep { $_->[0] eq 'b' } @lines;
    my @bok = grep { $_->[1] == 200 } @b;
    ok(@b > 0 && @bok == @b,
       "$name: key B served throughout (" . scalar(@bok) . '/'
       . scalar(@b) . ')');
    is(call($B)->{status}, 200, "$name: old policy still serves key B");
    is(call($A)->{status}, 401, "$name: key A still unknown");
}

# nginx -t and nginx -s reload with a bad policy

use_policy('reload-bad-sha.json');
my ($rc, $out) = $t->test_config();
isnt($rc, 0, 'nginx -t fails on a bad policy');
like($out, qr/\[emerg\]\ .*\Q$pol\E:
               \ \$\.partners\.rl\.api_keys\[0\]\.sha256:
               \ .+\ in\ \S+nginx\.conf:\d+/x,
     'nginx -t prints FILE: JSONPATH: reason in nginx.conf:LINE');

($rc, $out) = $t->signal_cmd('reload');
isnt($rc, 0, 'nginx -s reload refuses a bad policy');
like($out, qr/\[emerg\].*sha256/, 'nginx -s reload prints the emerg');
is(call($B)->{status}, 200, 'after the failed nginx -s reload: B served');

unlink $pol;
is($t->reload(), 0, 'reload with the policy file missing is refused');
is(call($B)->{status}, 200, 'missing policy file: old policy serves');

# back to a good policy

use_policy('reload-a.json');
($rc, $out) = $t->test_config();
is($rc, 0, 'nginx -t accepts policy A again');
is($t->reload(), 1, 'reload back to policy A succeeds');
is(call($A)->{status}, 200, 'policy A again: key A accepted');
is(call($B)->{status}, 401, 'policy A again: key B revoked');

# the keep-alive connection from before the reloads is still on the old
# worker, which finishes it gracefully
$x = $ka->request('GET', '/v2/shipments/1', headers => ['X-API-Key' => $A]);
ok(!$x || $x->{status} == 200,
   'old keep-alive connection answered or closed, never an error');
$ka->close();

$t->done_testing();
