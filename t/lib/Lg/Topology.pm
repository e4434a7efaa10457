package Lg::Topology;

# What the Redis topology tests (t/37, t/38, t/39) share: a gateway in
# front of a shared stub Odoo with a Redis directive of the test's
# choosing, a policy of API-key partners with or without limits, timed
# requests, the workers of an nginx and their descriptors, error.log
# waits, and concurrent load from forked clients.
#
#   my $stub = Lg::Topology::stub($t);               # one stub Odoo
#   my $g = Lg::Topology::gateway($stub,
#       redis => '127.0.0.1:6379 tls tls_ca=/x/ca.crt',
#       partners => { a => { rate => '1/h', burst => 4 }, b => {} });
#   my $r = Lg::Topology::get($g, 'a');              # {status, elapsed}
#   my $r = Lg::Topology::get($g, 'a', '/closed');   # fail mode closed
#
# Partner "x" has the API key "topo-x-key".  The gateway's location / is
# fail open, /closed/ fail closed.

use strict;
use warnings;

use Exporter qw(import);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use JSON::PP;

use Lg::Test ();

our @EXPORT_OK = qw(stub gateway get key_of workers fds wait_log load
    load_results example_check);

sub key_of { "topo-$_[0]-key" }

# a test object whose only job is the stub Odoo every gateway shares
sub stub {
    my ($t) = @_;
    $t->run_stub();
    return $t->stub_port();
}

sub policy {
    my (%partners) = @_;
    my %p;
    for my $id (sort keys %partners) {
        my $o = $partners{$id} // {};
        $p{$id} = {
            scopes => ['r'],
            api_keys => [{ id => 'k',
                           sha256 => Lg::Test::key_sha256(key_of($id)) }],
        };
        $p{$id}{rate_limit} = { rate => $o->{rate}, burst => $o->{burst} }
            if $o->{rate};
    }
    return JSON::PP->new->canonical->encode({
        scopes => { r => '' },
        partners => \%p,
        apis => { things => {
            versions => { v2 => { upstream_prefix => '' } },
            routes => [{ id => 'get', method => 'GET',
                         path => '/things/{id}', scopes => ['r'] }],
        } },
    });
}

# gateway($stub_port, redis => 'ARGS', partners => {...}, workers => N,
#         check => 1): a started gateway (an Lg::Test), or with check =>
#         1 the (exit code, output) of nginx -t for that configuration
sub gateway {
    my ($stub, %o) = @_;
    my $t = Lg::Test->new(stub_port => $stub);
    $t->write_file('policy.json', policy(%{ $o{partners} // { a => {} } }));
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone topo:1m;\n"
            . "    logistics_redis $o{redis};",
        server_extra => <<'EOF'), workers => $o{workers} // 1);
        location /closed/ {
            logistics_gateway on;
            logistics_fail_mode closed;
            rewrite ^/closed(/.*)$ $1 break;
            proxy_pass http://odoo;
        }
EOF
    if ($o{check}) {
        my @r = $t->test_config();
        $t->{done} = 1;
        return @r;
    }
    $t->run();
    return $t;
}

# example_check($t, 'redis-cluster.conf', CLUSTER => 'h:p,...'): nginx -t
# of a lua-free-config/ example with its placeholders filled in; returns
# (exit code, output)
sub example_check {
    my ($t, $name, %subst) = @_;
    my $dir = $t->testdir();
    mkdir "$dir/example";
    mkdir "$dir/example/$_" for qw(logs tmp);
    my $text = $t->read_file(Lg::Test::repo() . "/lua-free-config/$name");
    %subst = (REPO => Lg::Test::repo(), RUNDIR => "$dir/example",
              MODULE => $t->module(), %subst);
    $text =~ s/\@(\w+)\@/exists $subst{$1} ? $subst{$1} : "\@$1\@"/ge;
    $t->write_file("example/$name", $text);
    return $t->test_config(conf => "example/$name");
}

# get($t, $partner, $prefix): one request; {status, elapsed, ...}
sub get {
    my ($t, $partner, $prefix) = @_;
    my $t0 = time();
    my $r = Lg::Test::http_get(($prefix // '') . '/v2/things/1',
                               port => $t->port(0),
                               'X-API-Key' => key_of($partner),
                               'Connection' => 'close');
    $r->{elapsed} = time() - $t0;
    $r->{status} //= 0;
    return $r;
}

sub workers {
    my ($t) = @_;
    my $master = $t->master_pid() or return ();
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        push @w, $1 if $line =~ /^(\d+) \(.*?\) \S+ (\d+)/ && $2 == $master;
    }
    return sort @w;
}

sub fds { my @f = glob "/proc/$_[0]/fd/*"; scalar @f }

# the sockets of a process connected to one of the ports (from
# /proc/net/tcp: its socket inodes matched with the process's fds)
sub sockets_to {
    my ($pid, @ports) = @_;
    my %want = map { (sprintf('%04X', $_) => 1) } @ports;
    my %inode;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my @c = split;
            next unless @c > 9 && $c[2] =~ /:([0-9A-F]{4})$/;
            $inode{ $c[9] } = 1 if $want{$1} && $c[3] eq '01';
        }
    }
    my $n = 0;
    for my $fd (glob "/proc/$pid/fd/*") {
        my $l = readlink($fd) // next;
        $n++ if $l =~ /^socket:\[(\d+)\]$/ && $inode{$1};
    }
    return $n;
}

# wait_log($t, qr/.../, $seconds, $from): 1 when error.log (from byte
# $from on) matches within $seconds
sub wait_log {
    my ($t, $re, $secs, $from) = @_;
    my $end = time() + ($secs // 5);
    while (time() < $end) {
        return 1 if substr($t->read_file('error.log'), $from // 0) =~ $re;
        sleep 0.05;
    }
    return 0;
}

# load($t, $seconds, [[$partner, $prefix], ...], $clients): forks
# $clients processes that send sequential requests, round robin over
# the list, for $seconds; each writes "time status elapsed partner
# prefix" lines to a file.  Returns a handle for load_results().
my $LOADS = 0;

sub load {
    my ($t, $secs, $what, $clients) = @_;
    my @pids;
    my $dir = $t->testdir();
    my $n = ++$LOADS;
    for my $c (1 .. $clients // 4) {
        my $file = "$dir/load-$n-$c.out";
        my $pid = fork();
        die "fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            open my $out, '>', $file or POSIX::_exit(1);
            select((select($out), $| = 1)[0]);
            my $end = time() + $secs;
            my $i = $c;
            while (time() < $end) {
                my ($p, $prefix) = @{ $what->[$i++ % @$what] };
                my $r = eval { get($t, $p, $prefix) }
                    // { status => 0, elapsed => 0 };
                printf $out "%.3f %d %.3f %s %s\n", time(), $r->{status},
                    $r->{elapsed}, $p, $prefix // '-';
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, [$pid, $file];
    }
    return \@pids;
}

# waits for the clients; returns a list of {time, status, elapsed,
# partner, prefix}
sub load_results {
    my ($h) = @_;
    my @r;
    for my $c (@$h) {
        waitpid($c->[0], 0);
        open my $fh, '<', $c->[1] or next;
        while (<$fh>) {
            my ($time, $status, $elapsed, $p, $prefix) = split;
            push @r, { time => $time, status => $status,
                       elapsed => $elapsed, partner => $p,
                       prefix => $prefix eq '-' ? '' : $prefix };
        }
    }
    return @r;
}

1;
