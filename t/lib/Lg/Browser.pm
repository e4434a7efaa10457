package Lg::Browser;

# Headless Chromium for tests: loads a URL, lets its scripts run for a
# budget of virtual time, and returns the DOM as serialized HTML, or
# writes a screenshot.  Every run gets a fresh profile directory and its
# own process group, which is killed if Chromium overruns its timeout.
#
#   plan skip_all => 'no chromium' unless Lg::Browser->available;
#   my $b = Lg::Browser->new();
#   my $dom = $b->dump_dom($url, budget => 5000);
#   $b->screenshot($url, "$dir/status.png", size => '1280,900');
#
# Environment: LG_CHROMIUM (the browser, default the first of chromium,
# chromium-browser on PATH).

use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h setsid);
use Time::HiRes qw(sleep time);

our @FLAGS = qw(--headless --no-sandbox --disable-gpu --disable-quic
    --no-first-run --disable-background-networking --disable-component-update
    --disable-sync --hide-scrollbars --mute-audio);

sub binary {
    return $ENV{LG_CHROMIUM} if $ENV{LG_CHROMIUM};
    for my $name (qw(chromium chromium-browser)) {
        for my $dir (split /:/, $ENV{PATH} // '/usr/bin') {
            return "$dir/$name" if -x "$dir/$name";
        }
    }
    return undef;
}

sub available { defined binary() }

sub new {
    my ($class, %opt) = @_;
    return bless {
        dir     => tempdir('lg-browser-XXXXXX', TMPDIR => 1,
                           CLEANUP => $ENV{LG_KEEP} ? 0 : 1),
        timeout => $opt{timeout} // 90,
        runs    => 0,
    }, $class;
}

# the DOM after "budget" ms of virtual time (default 5000)
sub dump_dom {
    my ($self, $url, %opt) = @_;
    my ($rc, $out, $err) = $self->run($url, '--dump-dom',
        '--virtual-time-budget=' . ($opt{budget} // 5000));
    die "chromium --dump-dom $url failed ($rc):\n$err\n" if $rc != 0;
    return $out;
}

# a PNG of the page after "budget" ms; returns the file's path
sub screenshot {
    my ($self, $url, $file, %opt) = @_;
    unlink $file;
    my ($rc, $out, $err) = $self->run($url, "--screenshot=$file",
        '--window-size=' . ($opt{size} // '1280,900'),
        '--virtual-time-budget=' . ($opt{budget} // 5000));
    die "chromium --screenshot $url failed ($rc):\n$err\n"
        if $rc != 0 || !-s $file;
    return $file;
}

# one Chromium process group: (exit code, stdout, stderr)
sub run {
    my ($self, $url, @args) = @_;

    my $n = ++$self->{runs};
    my $profile = "$self->{dir}/profile-$n";
    my $outf = "$self->{dir}/out-$n";
    my $errf = "$self->{dir}/err-$n";

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $outf;
        open STDERR, '>', $errf;
        exec binary(), @FLAGS, "--user-data-dir=$profile", @args, $url
            or POSIX::_exit(127);
    }

    my $end = time() + $self->{timeout};
    my $rc;

    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $rc = $? >> 8;
            last;
        }

        if (time() >= $end) {
            kill_group($pid);
            waitpid($pid, 0);
            $rc = -1;
            last;
        }

        sleep 0.1;
    }

    # helpers Chromium left behind in the group
    kill_group($pid);

    return ($rc, slurp($outf), slurp($errf) . ($rc == -1
        ? "\n(killed after $self->{timeout}s)" : ''));
}

# the processes of the group our child created (its renderer, zygote,
# GPU process), found by their group id in /proc
sub kill_group {
    my ($pgid) = @_;
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        close $fh;
        # pid (comm) state ppid pgrp ...; comm may hold spaces
        my ($pid, $pgrp) = $line =~ /^(\d+) \(.*\) \S+ \d+ (\d+) /s or next;
        push @pids, $pid if $pgrp == $pgid;
    }

    kill 'KILL', @pids if @pids;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    local $/;
    my $d = <$fh> // '';
    close $fh;
    return $d;
}

1;
