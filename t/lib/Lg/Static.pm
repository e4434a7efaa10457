package Lg::Static;

# A tiny HTTP server for tests, in a forked perl child on a free loopback
# port: each path answers a file (read at every request, so a test can
# change it between requests) with a content type, chosen by the
# request's Accept header when a path has several variants.  Every
# request is logged (method, path, Accept) for the test to look at.
#
#   my $s = Lg::Static->new(routes => {
#       '/status'  => [ { accept => qr{application/json},
#                         type => 'application/json', file => $json },
#                       { type => 'text/html', file => $html } ],
#       '/metrics' => { type => 'text/plain; version=0.0.4',
#                       file => $metrics },
#   });
#   $s->port; $s->url('/status'); $s->requests; $s->stop;

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use POSIX qw(:sys_wait_h);
use File::Temp qw(tempfile);
use Time::HiRes qw(time);

sub new {
    my ($class, %opt) = @_;

    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => 0,
        Proto     => 'tcp',
        Listen    => 64,
        ReuseAddr => 1,
    ) or die "Lg::Static: cannot listen: $!\n";

    my (undef, $log) = tempfile('lg-static-XXXXXX', TMPDIR => 1,
                                UNLINK => 1);

    my $self = bless {
        routes => $opt{routes} // {},
        port   => $listen->sockport(),
        log    => $log,
        owner  => $$,
    }, $class;

    my $pid = fork();
    die "Lg::Static: fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        eval { $self->serve($listen) };
        POSIX::_exit(0);
    }

    close $listen;
    $self->{pid} = $pid;

    return $self;
}

sub port { $_[0]{port} }

sub url {
    my ($self, $path) = @_;
    return "http://127.0.0.1:$self->{port}" . ($path // '/');
}

# [{ method, path, accept }] in arrival order
sub requests {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return [];
    my @r;
    while (my $l = <$fh>) {
        chomp $l;
        my ($m, $p, $a) = split /\t/, $l, 3;
        push @r, { method => $m, path => $p, accept => $a // '' };
    }
    close $fh;
    return \@r;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    return unless $$ == $self->{owner};
    kill 'TERM', $pid;
    my $end = time() + 5;
    while (time() < $end) {
        return if waitpid($pid, WNOHANG) == $pid;
        select(undef, undef, undef, 0.05);
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop() }

# the child: one request per connection, then close
sub serve {
    my ($self, $listen) = @_;

    while (1) {
        my $c = $listen->accept() or next;
        eval { $self->answer($c) };
        close $c;
    }
}

sub answer {
    my ($self, $c) = @_;

    my $buf = '';
    my $sel = IO::Select->new($c);
    my $end = time() + 10;

    while (index($buf, "\r\n\r\n") < 0) {
        return unless $sel->can_read($end - time());
        my $n = sysread($c, my $chunk, 65536);
        return unless $n;
        $buf .= $chunk;
    }

    my ($head) = split /\r\n\r\n/, $buf, 2;
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $target) = $line =~ m{^(\S+)\s+(\S+)\s+HTTP/} or return;
    my %h;
    for (@lines) {
        my ($n, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $n} = $v;
    }

    (my $path = $target) =~ s/\?.*//s;
    my $accept = $h{accept} // '';

    if (open my $lf, '>>', $self->{log}) {
        print $lf "$method\t$path\t$accept\n";
        close $lf;
    }

    my $route = $self->{routes}{$path};
    my @variants = !defined $route ? () : ref $route eq 'ARRAY'
        ? @$route : ($route);
    my ($v) = grep { !$_->{accept} || $accept =~ $_->{accept} } @variants;

    my ($status, $type, $body) = (404, 'text/plain', "not found\n");

    if ($v && $v->{files}) {
        my $i = $self->{served}{$v}++;
        $v = { %$v, file => $v->{files}[$i < @{ $v->{files} } ? $i : -1] };
    }

    if ($v) {
        if (open my $fh, '<:raw', $v->{file}) {
            local $/;
            $body = <$fh> // '';
            close $fh;
            ($status, $type) = (200, $v->{type});
        } else {
            ($status, $body) = (500, "cannot read $v->{file}\n");
        }
    }

    my $reason = { 200 => 'OK', 404 => 'Not Found',
                   500 => 'Internal Server Error' }->{$status};

    my $out = "HTTP/1.1 $status $reason\r\n"
        . "Content-Type: $type\r\n"
        . 'Content-Length: ' . length($body) . "\r\n"
        . "Cache-Control: no-store\r\n"
        . "Connection: close\r\n\r\n"
        . ($method eq 'HEAD' ? '' : $body);

    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $out) {
        my $n = syswrite($c, $out, length($out) - $off, $off);
        last unless $n;
        $off += $n;
    }
}

1;
