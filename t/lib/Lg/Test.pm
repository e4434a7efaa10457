package Lg::Test;

# Small test harness for ngx_logistics_module, in the spirit of nginx-tests'
# Test::Nginx (own code).  One object per test file:
#
#   my $t = Lg::Test->new();                 # skip_all if nginx/module missing
#   $t->write_file('x.json', $text);
#   $t->write_config(<<'EOF');               # the body of http{}
#       server { listen 127.0.0.1:%%PORT_0%%; ... }
#   EOF
#   $t->run_stub();                          # node t/stub/odoo-stub.js
#   $t->run();                               # nginx -p TESTDIR -c nginx.conf
#   my $r = http_get('/v2/x', port => $t->port(0), 'X-API-Key' => 'k');
#   is($r->{status}, 200, ...);
#   $t->done_testing();                      # stop, check error.log, done
#
# Placeholders in config and written files: %%PORT_n%% (free loopback port
# n, n = 0..), %%STUB_PORT%%, %%TESTDIR%%, %%MODULE%%, %%REPO%%.
#
# Environment:
#   LG_MODULE            path of ngx_http_logistics_module.so
#   LG_NGINX             nginx binary (default /usr/sbin/nginx)
#   LG_NODE              node binary (default node)
#   LG_KEEP=1            keep the test directory (printed as a diag)
#   LG_NGINX_PREFIX_CMD  command put in front of nginx, e.g.
#                        "valgrind --error-exitcode=42 --leak-check=full
#                         --log-file=%%TESTDIR%%/valgrind.%p.log"
#                        (default with LG_VALGRIND: valgrind memcheck,
#                        exit code 42 on memory errors; definite leaks
#                        count when their stack is in the module, as
#                        nginx itself never frees its cycle pool at exit)
#   LG_VALGRIND=1        run nginx as "master_process off; daemon off;" in
#                        the background (fork/exec) so a prefix command
#                        sees the one process; implies longer timeouts.
#                        Reload tests skip themselves (no master).
#   LG_VALGRIND=master   the same with "master_process on; daemon off;"
#                        (valgrind follows the forked workers)
#   LG_TIMEOUT           seconds to wait for start/stop (default 10, 60
#                        with LG_VALGRIND)
#   LG_LSAN=1            with LG_PRELOAD: LeakSanitizer on, nginx pool
#                        allocations suppressed (module leaks count)
#   LG_PRELOAD           libraries to LD_PRELOAD into nginx only (ASan
#                        builds of the module: libasan.so libubsan.so)
#   LD_PRELOAD, ASAN_OPTIONS, UBSAN_OPTIONS are passed through unchanged.

use strict;
use warnings;

use Exporter qw(import);
use Cwd qw(abs_path);
use Digest::SHA ();
use Errno qw(EINTR);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_REUSEADDR);
use Time::HiRes qw(sleep time);
use Test::More ();

our @EXPORT = qw(http http_get http_req http_raw_conn read_response
    parse_response json_decode json_encode hdr echo_of is_problem
    allow_set key_sha256 %KEY);

# test keys of t/policies/gateway.json (see t/policies/README.md)
our %KEY = (
    acme1    => 'lg-test-acme-key-1',
    acme2    => 'lg-test-acme-key-2',
    reader   => 'lg-test-readonly-key',
    limited  => 'lg-test-limited-key',
    expired  => 'lg-test-timed-expired',
    future   => 'lg-test-timed-future',
    timed    => 'lg-test-timed-ok',
    nocred   => 'lg-test-nocred-key',
    frozen   => 'lg-test-suspended-key',
);

my $REPO = abs_path(dirname(__FILE__) . '/../../..');

my @LIVE;           # objects to clean up in END

sub repo { $REPO }

# what a policy's api_keys[].sha256 holds for an API key
sub key_sha256 { Digest::SHA::sha256_hex($_[0]) }

sub new {
    my ($class, %opt) = @_;

    my $self = bless {
        no_module  => $opt{no_module} ? 1 : 0,
        nports     => $opt{ports} // 4,
        allow      => {},
        valgrind   => $ENV{LG_VALGRIND} ? 1 : 0,
        single     => ($ENV{LG_VALGRIND} // '') =~ /^(1|single|yes)$/ ? 1 : 0,
        done       => 0,
        stub_port  => $opt{stub_port},
    }, $class;

    $self->{timeout} = $ENV{LG_TIMEOUT} // ($self->{valgrind} ? 60 : 10);

    $self->{nginx} = $ENV{LG_NGINX} // '/usr/sbin/nginx';
    Test::More::plan(skip_all => "nginx not found at $self->{nginx}"
        . ' (set LG_NGINX)')
        unless -x $self->{nginx};

    $self->{module} = $ENV{LG_MODULE}
        // "$REPO/build/ngx_http_logistics_module.so";
    unless ($self->{no_module}) {
        Test::More::plan(skip_all => "module not built: $self->{module}"
            . ' missing (run make, or set LG_MODULE)')
            unless -f $self->{module};
        $self->{module} = abs_path($self->{module});
    }

    $self->{testdir} = tempdir('lg-test-XXXXXX', TMPDIR => 1,
                               CLEANUP => $ENV{LG_KEEP} ? 0 : 1);
    # workers run as an unprivileged user when the master is root
    chmod 0755, $self->{testdir};
    Test::More::diag("testdir: $self->{testdir}") if $ENV{LG_KEEP};

    $self->{ports} = [ map { free_port() } 1 .. $self->{nports} ];

    push @LIVE, $self;
    return $self;
}

sub testdir { $_[0]{testdir} }
sub module { $_[0]{module} }

sub port {
    my ($self, $n) = @_;
    $n //= 0;
    while ($n >= @{ $self->{ports} }) {
        push @{ $self->{ports} }, free_port();
    }
    return $self->{ports}[$n];
}

sub stub_port {
    my ($self) = @_;
    $self->{stub_port} //= free_port();
    return $self->{stub_port};
}

# errors the test expects in error.log: 'emerg', 'crit', 'alert'
sub allow_errors {
    my ($self, @levels) = @_;
    $self->{allow}{$_} = 1 for @levels;
    return $self;
}

sub free_port {
    my $s = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => 0,
        Proto     => 'tcp',
        Listen    => 1,
        ReuseAddr => 1,
    ) or die "cannot bind a free port: $!\n";
    my $port = $s->sockport();
    close $s;
    return $port;
}

sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%STUB_PORT%%/$self->stub_port()/ge;
    $text =~ s/%%TESTDIR%%/$self->{testdir}/g;
    $text =~ s/%%MODULE%%/$self->{module}/g;
    $text =~ s/%%REPO%%/$REPO/g;
    return $text;
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{testdir}/$name";
    make_path(dirname($path));
    open my $fh, '>:raw', $path or die "cannot write $path: $!\n";
    print $fh $content;
    close $fh or die "cannot close $path: $!\n";
    return $path;
}

sub write_file_expand {
    my ($self, $name, $content) = @_;
    return $self->write_file($name, $self->expand($content));
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{testdir}/$name";
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data // '';
}

# full nginx.conf around the http{} body the test supplies
sub config_text {
    my ($self, $http_body, %opt) = @_;
    my $d = $self->{testdir};
    my $errlog = $opt{error_log} // "$d/error.log";

    my $conf = '';
    $conf .= "load_module $self->{module};\n\n" unless $self->{no_module};
    if ($self->{single}) {
        $conf .= "master_process off;\ndaemon off;\n";
    } elsif ($self->{valgrind}) {
        $conf .= "master_process on;\ndaemon off;\nworker_processes "
            . ($opt{workers} // 1) . ";\n";
    } else {
        $conf .= "daemon on;\nworker_processes "
            . ($opt{workers} // 1) . ";\n";
    }
    $conf .= "pid $d/nginx.pid;\n";
    $conf .= "error_log $errlog info;\n";
    $conf .= "user root;\n" if $opt{user_root} && $> == 0;
    $conf .= $opt{main} // '';
    $conf .= "\nevents {\n    worker_connections 1024;\n}\n\n";
    $conf .= "http {\n";
    $conf .= "    client_body_temp_path $d/client_body_temp;\n";
    $conf .= "    proxy_temp_path $d/proxy_temp;\n";
    $conf .= "    fastcgi_temp_path $d/fastcgi_temp;\n";
    $conf .= "    uwsgi_temp_path $d/uwsgi_temp;\n";
    $conf .= "    scgi_temp_path $d/scgi_temp;\n";
    $conf .= "    access_log $d/access.log;\n\n";
    $conf .= $http_body;
    $conf .= "\n}\n";

    return $self->expand($conf);
}

sub write_config {
    my ($self, $http_body, %opt) = @_;
    my $name = $opt{name} // 'nginx.conf';
    $self->{conf_body} = $http_body if $name eq 'nginx.conf';
    return $self->write_file($name, $self->config_text($http_body, %opt));
}

my $VALGRIND_CMD = 'valgrind -q --error-exitcode=42 --leak-check=full'
    . ' --errors-for-leak-kinds=none --show-leak-kinds=definite'
    . ' --num-callers=30 --log-file=%%TESTDIR%%/valgrind.%p.log';

sub prefix_cmd {
    my ($self) = @_;
    my $p = $ENV{LG_NGINX_PREFIX_CMD}
        // ($self->{valgrind} ? $VALGRIND_CMD : '');
    $p = $self->expand($p);
    return grep { length } split /\s+/, $p;
}

sub nginx_cmd {
    my ($self, @args) = @_;
    return ($self->prefix_cmd(), $self->{nginx},
            '-p', "$self->{testdir}/", '-c', 'nginx.conf', @args);
}

# runs an nginx command, returns (exit code, stdout+stderr)
sub run_capture {
    my $self = shift;
    my (@cmd) = @_;
    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        $self->nginx_child_env();
        open STDERR, '>&', \*STDOUT;
        exec @cmd or do { print "exec $cmd[0]: $!\n"; POSIX::_exit(127) };
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $rc = $? == -1 ? 127 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
    return ($rc, $out);
}

# nginx -t; returns (exit code, output)
sub test_config {
    my ($self, %opt) = @_;
    my @cmd = ($self->prefix_cmd(), $self->{nginx},
               '-p', "$self->{testdir}/", '-c', $opt{conf} // 'nginx.conf',
               '-t');
    return $self->run_capture(@cmd);
}
{ no warnings "once"; *nginx_test_config = \&test_config; }

# starts nginx; when it cannot start, the test file ends with a failed
# "nginx starts" test and the reason (instead of a TAP file with no plan)
sub run {
    my ($self) = @_;
    my $ok = eval { $self->start(); 1 };
    return $self if $ok;
    my $err = $@;
    Test::More::fail('nginx starts');
    Test::More::diag($err);
    $self->{done} = 1;
    eval { $self->stop(); $self->stop_stub(); };
    Test::More::done_testing();
    exit 1;
}

sub start {
    my ($self) = @_;
    die "nginx already running\n" if $self->{running};

    my $d = $self->{testdir};
    mkdir "$d/$_" for qw(client_body_temp proxy_temp fastcgi_temp
                         uwsgi_temp scgi_temp);
    unlink "$d/nginx.pid";

    my @cmd = $self->nginx_cmd();

    if ($self->{valgrind}) {
        # nginx stays the process started here (fg_pid, which reload()
        # signals), also with a configuration the test wrote whole, such
        # as the demo's, which says nothing about daemon
        push @cmd, '-g', 'daemon off;'
            unless $self->read_file('nginx.conf') =~ /^\s*daemon\s/m;

        my $pid = fork();
        die "fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', "$d/nginx.stderr";
            open STDERR, '>>', "$d/nginx.stderr";
            $self->nginx_child_env();
            exec @cmd or POSIX::_exit(127);
        }
        $self->{fg_pid} = $pid;

    } else {
        my ($rc, $out) = $self->run_capture(@cmd);
        $self->append_file('nginx.stderr', $out);
        if ($rc != 0) {
            Test::More::BAIL_OUT("nginx failed to start (exit $rc): $out")
                if $self->{bail_on_start};
            die "nginx failed to start (exit $rc): $out\n";
        }
    }

    $self->{running} = 1;
    $self->wait_pid_file();

    for my $port ($self->listen_ports()) {
        $self->wait_port($port)
            or die "nginx does not accept on port $port\n"
                 . $self->read_file('error.log');
    }

    return $self;
}

# in a forked child about to exec nginx: LG_PRELOAD (space separated
# libraries, e.g. libasan + libubsan for an instrumented module) becomes
# LD_PRELOAD for nginx only, not for perl or node
# ASan: without ASAN_OPTIONS, leak checks are off (nginx never frees its
# pools at exit), unless LG_LSAN=1: then leaks count except those from
# nginx's own pool allocator (ngx_alloc/ngx_memalign), via suppressions
sub nginx_child_env {
    my ($self) = @_;
    return unless $ENV{LG_PRELOAD};
    $ENV{LD_PRELOAD} = join ' ', grep { length }
        split(/\s+/, $ENV{LG_PRELOAD}), $ENV{LD_PRELOAD} // '';
    if ($ENV{LG_LSAN}) {
        my $supp = "$self->{testdir}/lsan.supp";
        if (open my $fh, '>', $supp) {
            print $fh "leak:ngx_alloc\nleak:ngx_memalign\nleak:ngx_calloc\n";
            close $fh;
        }
        $ENV{LSAN_OPTIONS} //= "suppressions=$supp:print_suppressions=0";
        $ENV{ASAN_OPTIONS} //= 'detect_leaks=1:abort_on_error=0';
    } else {
        $ENV{ASAN_OPTIONS} //= 'detect_leaks=0:abort_on_error=0';
    }
}

sub append_file {
    my ($self, $name, $text) = @_;
    return unless defined $text && length $text;
    open my $fh, '>>:raw', "$self->{testdir}/$name" or return;
    print $fh $text;
    close $fh;
}

sub listen_ports {
    my ($self) = @_;
    my $body = $self->{conf_body} // '';
    my %p;
    while ($body =~ /listen\s+127\.0\.0\.1:%%PORT_(\d+)%%/g) {
        $p{ $self->port($1) } = 1;
    }
    return sort keys %p;
}

sub master_pid {
    my ($self) = @_;
    return $self->{fg_pid} if $self->{fg_pid};
    my $pid = $self->read_file('nginx.pid');
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub wait_pid_file {
    my ($self) = @_;
    my $end = time() + $self->{timeout};
    while (time() < $end) {
        my $pid = $self->read_file('nginx.pid');
        return 1 if $pid =~ /^\d+\s*$/;
        if ($self->{fg_pid}
            && waitpid($self->{fg_pid}, WNOHANG) == $self->{fg_pid})
        {
            $self->{fg_pid} = undef;
            $self->{running} = 0;
            die "nginx exited at start: " . $self->read_file('nginx.stderr')
                . $self->read_file('error.log') . "\n";
        }
        sleep 0.05;
    }
    die "no nginx pid file after $self->{timeout}s\n";
}

sub wait_port {
    my ($self, $port, $timeout) = @_;
    my $end = time() + ($timeout // $self->{timeout});
    while (time() < $end) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) {
            close $s;
            return 1;
        }
        sleep 0.05;
    }
    return 0;
}

# sends HUP to the master; waits until the new configuration is in use
# (new worker started) or refused (an [emerg] logged).
# returns 1 when reloaded, 0 when the reload failed.
sub reload {
    my ($self) = @_;
    my $pid = $self->master_pid() or die "no master pid\n";
    my $off = -s "$self->{testdir}/error.log" // 0;

    kill 'HUP', $pid or die "kill HUP $pid: $!\n";

    my $end = time() + $self->{timeout};
    while (time() < $end) {
        my $log = substr($self->read_file('error.log'), $off);
        if ($log =~ /reconfiguring/) {
            return 0 if $log =~ /\[emerg\]/;
            if ($self->{single}) {
                # single process: no worker start; give it a moment
                sleep 1;
                return 1;
            }
            # old workers close their listening sockets when they log
            # "gracefully shutting down": only then are new connections
            # sure to reach the new configuration
            if ($log =~ /start worker process/
                && $log =~ /gracefully shutting down/)
            {
                sleep 0.1;
                return 1;
            }
        }
        sleep 0.05;
    }
    die "reload did not finish in $self->{timeout}s\n";
}

# reload works only with a master process: with "master_process off" the
# listening sockets keep the old configuration
sub can_reload { return !$_[0]{single} }

# skip_all for test files that are about reloads
sub need_reload {
    my ($self) = @_;
    Test::More::plan(skip_all => 'reload needs a master process;'
        . ' LG_VALGRIND=1 runs master_process off (LG_VALGRIND=master'
        . ' keeps the master)')
        unless $self->can_reload();
}

# "nginx -s SIGNAL" as an operator would run it; returns (rc, output)
sub signal_cmd {
    my ($self, $sig) = @_;
    return $self->run_capture($self->nginx_cmd('-s', $sig));
}

sub stop {
    my ($self) = @_;
    return $self unless $self->{running};

    my $pid = $self->master_pid();
    $self->{running} = 0;
    return $self unless $pid;

    my $fg = $self->{fg_pid};
    my $gone = sub {
        if ($fg) {
            return 1 if defined $self->{fg_status};
            if (waitpid($fg, WNOHANG) == $fg) {
                $self->{fg_status} = $?;
                return 1;
            }
            return 0;
        }
        return !kill(0, $pid);
    };

    kill 'QUIT', $pid;

    my $end = time() + $self->{timeout};
    until ($gone->() || time() > $end) {
        sleep 0.05;
    }

    unless ($gone->()) {
        Test::More::diag("nginx $pid did not quit, sending TERM");
        kill 'TERM', $pid;
        $end = time() + 5;
        sleep 0.05 until $gone->() || time() > $end;
        unless ($gone->()) {
            kill 'KILL', $pid;
            if ($fg) {
                waitpid($fg, 0);
                $self->{fg_status} = $?;
            }
        }
    }

    if ($fg) {
        my $st = $self->{fg_status} // 0;
        $self->{fg_exit} = $st & 127 ? 128 + ($st & 127) : $st >> 8;
        $self->{fg_pid} = undef;
        $self->{fg_status} = undef;
    }

    return $self;
}

# stub Odoo upstream
sub run_stub {
    my ($self) = @_;
    my $port = $self->stub_port();
    my $node = $ENV{LG_NODE} // 'node';
    my $out = "$self->{testdir}/stub.out";
    unlink $out;

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>>', "$self->{testdir}/stub.err";
        exec $node, "$REPO/t/stub/odoo-stub.js", $port or POSIX::_exit(127);
    }
    $self->{stub_pid} = $pid;

    my $end = time() + $self->{timeout};
    while (time() < $end) {
        return $port if $self->read_file('stub.out') =~ /^ready \d+/m;
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{stub_pid} = undef;
            die "stub exited: " . $self->read_file('stub.err') . "\n";
        }
        sleep 0.05;
    }
    die "stub not ready after $self->{timeout}s\n";
}

sub stop_stub {
    my ($self) = @_;
    my $pid = $self->{stub_pid} or return;
    kill 'TERM', $pid;
    my $end = time() + 5;
    while (time() < $end) {
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    if (kill 0, $pid) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    $self->{stub_pid} = undef;
}

sub stub_count {
    my ($self) = @_;
    my $r = http_get('/__stub/stats', port => $self->stub_port());
    my $j = eval { json_decode($r->{body}) } || {};
    return $j->{count};
}

sub stub_reset {
    my ($self) = @_;
    http_req('POST', '/__stub/reset', port => $self->stub_port());
}

# access log lines (optionally only those matching a regex)
sub access_log_lines {
    my ($self, $file, $re) = @_;
    my @l = split /\n/, $self->read_file($file // 'access.log');
    return defined $re ? grep { $_ =~ $re } @l : @l;
}

# waits until a line matching $re appears in a log (access logs are
# written when the request ends, a hair after the response is sent)
sub wait_log_line {
    my ($self, $file, $re, $timeout) = @_;
    my $end = time() + ($timeout // 3);
    while (1) {
        my @m = $self->access_log_lines($file, $re);
        return $m[-1] if @m;
        return undef if time() > $end;
        sleep 0.05;
    }
}

# findings in the logs that fail a test file
sub log_problems {
    my ($self) = @_;
    my @bad;
    my $d = $self->{testdir};

    my @files = ('error.log', 'nginx.stderr', 'stub.err');
    opendir(my $dh, $d);
    push @files, grep { /^(valgrind|asan|ubsan|lsan)\b/ } readdir $dh
        if $dh;

    for my $f (@files) {
        my $text = $self->read_file($f);
        next unless length $text;
        if ($f =~ /^valgrind/) {
            push @bad, map { "$f: $_" } valgrind_findings($text);
            next;
        }
        for my $line (split /\n/, $text) {
            for my $lvl (qw(alert crit emerg)) {
                if ($line =~ /\[$lvl\]/ && !$self->{allow}{$lvl}) {
                    push @bad, "$f: $line";
                }
            }
            if ($line =~ /ERROR: AddressSanitizer|runtime error:
                          |LeakSanitizer|ERROR: UndefinedBehaviorSanitizer
                          |ERROR SUMMARY: [1-9]|definitely\ lost:\ [1-9]
                          |signal \d+ \(core dumped\)|exited on signal/x)
            {
                push @bad, "$f: $line";
            }
        }
    }

    return @bad;
}

# stops nginx and the stub, then one test on the logs; for a second
# instance in the same test file
###############################################################################
# a real redis-server of the test's own, on a free loopback port

# run_redis(password => P, port => N): starts (or restarts on the same
# port) redis-server in the test directory; returns its port
sub run_redis {
    my ($self, %opt) = @_;
    my $bin = $ENV{LG_REDIS_SERVER} // 'redis-server';
    my $port = $opt{port} // $self->{redis_port} // free_port();
    my $d = $self->{testdir};

    my @args = ('--port', $port, '--bind', '127.0.0.1', '--save', '',
                '--appendonly', 'no', '--daemonize', 'no',
                '--dir', $d, '--logfile', "$d/redis.log");
    push @args, '--requirepass', $opt{password} if defined $opt{password};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$d/redis.out";
        open STDERR, '>&', \*STDOUT;
        exec $bin, @args or POSIX::_exit(127);
    }

    $self->{redis_pid} = $pid;
    $self->{redis_port} = $port;
    $self->{redis_password} = $opt{password};

    my $end = time() + $self->{timeout};
    while (time() < $end) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return $port if $s;
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{redis_pid} = undef;
            die "redis-server exited: " . $self->read_file('redis.log');
        }
        sleep 0.05;
    }
    die "redis-server not ready after $self->{timeout}s\n";
}

sub redis_port { $_[0]{redis_port} }
sub redis_pid { $_[0]{redis_pid} }

# one redis-cli command; returns its output without the final newline
sub redis_cli {
    my ($self, @cmd) = @_;
    my @auth = defined $self->{redis_password}
        ? ('--no-auth-warning', '-a', $self->{redis_password}) : ();
    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec 'redis-cli', '-p', $self->{redis_port}, @auth, @cmd
            or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\n\z//;
    return $out;
}

# stop_redis(): SIGKILL, the way a crash looks to clients
sub stop_redis {
    my ($self) = @_;
    my $pid = $self->{redis_pid} or return;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    $self->{redis_pid} = undef;
}

sub finish {
    my ($self) = @_;
    $self->stop();
    $self->stop_stub();
    $self->stop_redis();
    $self->{done} = 1;

    my @bad = $self->log_problems();
    Test::More::ok(!@bad, 'error.log has no alert/crit/unexpected emerg'
        . ' and no sanitizer or valgrind report')
        or Test::More::diag(join "\n", @bad[0 .. ($#bad > 30 ? 30 : $#bad)]);

    if (defined $self->{fg_exit} && $self->prefix_cmd()) {
        Test::More::is($self->{fg_exit}, 0,
            'nginx under the prefix command exited cleanly');
    }
}

# valgrind log records that matter: memory errors anywhere, definite
# leaks allocated from the module (ngx_http_logistics_*, lg_*)
sub valgrind_findings {
    my ($text) = @_;
    my @found;
    my @rec = split /^==\d+==\s*\n/m, $text;
    for my $r (@rec) {
        next unless $r =~ /\S/;
        my ($first) = $r =~ /^==\d+==\s*(\S.*)$/m;
        next unless defined $first;
        if ($first =~ /definitely lost|indirectly lost|possibly lost/) {
            next unless $first =~ /definitely/;
            next unless $r =~ /logistics|\blg_\w+/;
        } elsif ($first =~ /^(HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY:\s*0
                             |For lists|Rerun with|All heap blocks)/x)
        {
            next;
        }
        push @found, $first;
    }
    return @found;
}

sub done_testing {
    my ($self) = @_;
    $self->finish();
    Test::More::done_testing();
}

END {
    my $rc = $?;
    for my $t (@LIVE) {
        next if $t->{done};
        eval { $t->stop(); $t->stop_stub(); $t->stop_redis(); };
        my @bad = eval { $t->log_problems() };
        if (@bad) {
            Test::More::diag("error.log findings:\n" . join "\n", @bad);
        }
    }
    $? = $rc;
}

###############################################################################
# gateway helpers

# the usual http{} body: gateway on / in front of the stub, with the
# module variables in an access log (lg.log, request id first)
sub gateway_http_body {
    my ($self, %opt) = @_;
    my $policy = $opt{policy} // '%%REPO%%/t/policies/gateway.json';
    my $extra = $opt{http_extra} // '';
    my $loc = $opt{location_extra} // '';
    my $srv = $opt{server_extra} // '';
    return <<"CONF";
    logistics_policy $policy;
$extra
    log_format lg '\$logistics_request_id \$status \$logistics_decision '
                  'p=\$logistics_partner k=\$logistics_key_id '
                  'r=\$logistics_route v=\$logistics_api_version '
                  'u=\$logistics_upstream_uri';

    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log %%TESTDIR%%/lg.log lg;
$srv
        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
            proxy_set_header Host \$logistics_upstream_host;
$loc
        }

        location /plain/ {
            proxy_pass http://odoo;
        }
    }
CONF
}

# the lg.log line of a request (by its request id), parsed:
# { id, status, decision, p, k, r, v, u } or undef
sub decision_of {
    my ($self, $rid) = @_;
    return undef unless defined $rid && length $rid;
    my $line = $self->wait_log_line('lg.log', qr/^\Q$rid\E /);
    return undef unless defined $line;
    my @f = split / /, $line;
    my %d = (id => $f[0], status => $f[1], decision => $f[2]);
    for (@f[3 .. $#f]) {
        $d{$1} = $2 if /^(\w)=(.*)$/;
    }
    return \%d;
}

# the upstream's echo of a proxied response, {} if not an echo
sub echo_of {
    my ($res) = @_;
    my $j = eval { json_decode($res->{body}) };
    return {} unless ref $j eq 'HASH' && ref $j->{result} eq 'HASH';
    return $j->{result}{echo} // {};
}

# set of methods in an Allow header: "GET, HEAD" -> "GET,HEAD" (sorted)
sub allow_set {
    my ($v) = @_;
    return join ',', sort grep { length } split /\s*,\s*/, $v // '';
}

# asserts a problem+json response, as one subtest
sub is_problem {
    my ($res, $status, $slug, $name, %opt) = @_;
    my $base = $opt{base} // 'urn:logistics-gateway:problem:';
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::subtest($name => sub {
        Test::More::is($res->{status}, $status, "status $status");
        Test::More::like(hdr($res, 'content-type') // '',
            qr{^application/problem\+json\b}, 'problem+json content type');
        Test::More::like(hdr($res, 'cache-control') // '', qr/no-store/,
            'Cache-Control: no-store');
        my $rid = hdr($res, 'x-request-id');
        Test::More::ok(defined $rid && length $rid,
            'X-Request-Id on the response');
        if ($opt{head}) {
            Test::More::is($res->{body}, '', 'no body for HEAD');
            return;
        }
        my $j = eval { json_decode($res->{body}) };
        unless (ref $j eq 'HASH') {
            Test::More::fail('body is a JSON object');
            Test::More::diag($res->{raw});
            return;
        }
        Test::More::is($j->{type}, "$base$slug", "type is $base$slug");
        Test::More::is($j->{status}, $status, 'status member');
        Test::More::ok(defined $j->{title} && !ref $j->{title}
            && length $j->{title}, 'title present');
        Test::More::ok(defined $j->{detail} && !ref $j->{detail}
            && length $j->{detail}, 'detail present');
        Test::More::is($j->{request_id}, $rid,
            'request_id member equals X-Request-Id');
        Test::More::is($j->{detail}, $opt{detail}, 'detail text')
            if defined $opt{detail};
    });
}

###############################################################################
# HTTP client

sub json_decode {
    my ($text) = @_;
    return JSON::PP->new->utf8->allow_nonref->decode($text);
}

sub json_encode {
    my ($data) = @_;
    return JSON::PP->new->utf8->canonical->encode($data);
}

# first value of a header of a parsed response (lowercase name), or undef
sub hdr {
    my ($res, $name) = @_;
    my $v = $res->{headers}{ lc $name };
    return $v ? $v->[0] : undef;
}

sub connect_to {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 5)
        or return undef;
    binmode $s;
    $s->autoflush(1);
    return $s;
}

# sends exact bytes, reads until close (or timeout); returns the raw reply
sub http {
    my ($request, %opt) = @_;
    my $port = $opt{port} or die "http(): port required\n";
    my $timeout = $opt{timeout} // 10;

    my $s = connect_to($port) or return '';
    write_all($s, $request) or return '';
    shutdown($s, 1) if $opt{shutdown};

    my $reply = '';
    my $sel = IO::Select->new($s);
    my $end = time() + $timeout;
    while (time() < $end) {
        my @r = $sel->can_read($end - time());
        last unless @r;
        my $n = sysread($s, my $buf, 65536);
        next if !defined $n && $! == EINTR;
        last unless $n;
        $reply .= $buf;
    }
    close $s;
    return $reply;
}

sub write_all {
    my ($s, $data) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $! == EINTR;
            return 0;
        }
        $off += $n;
    }
    return 1;
}

sub build_request {
    my ($method, $uri, %opt) = @_;
    my $body = $opt{body};
    my $hdrs = $opt{headers} // [];
    my $req = "$method $uri HTTP/1.1\r\n";
    my $has_host = 0;
    for (my $i = 0; $i < @$hdrs; $i += 2) {
        $has_host = 1 if lc $hdrs->[$i] eq 'host';
        $req .= "$hdrs->[$i]: $hdrs->[$i + 1]\r\n";
    }
    $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
        . substr($req, length("$method $uri HTTP/1.1\r\n"))
        unless $has_host;
    $req .= "Connection: close\r\n" unless $opt{keepalive};
    $req .= 'Content-Length: ' . length($body) . "\r\n"
        if defined $body;
    $req .= "\r\n";
    $req .= $body if defined $body;
    return $req;
}

# http_get($uri, port => P, Header => value, ...) -> parsed response
sub http_get {
    my ($uri, %h) = @_;
    my $port = delete $h{port};
    my @hdrs = map { ($_, $h{$_}) } sort keys %h;
    return http_req('GET', $uri, port => $port, headers => \@hdrs);
}

# http_req(METHOD, URI, port => P, headers => [name, value, ...] or {..},
#          body => BYTES) -> parsed response
sub http_req {
    my ($method, $uri, %opt) = @_;
    my $h = $opt{headers} // [];
    $h = [ map { ($_, $h->{$_}) } sort keys %$h ] if ref $h eq 'HASH';
    my $raw = http(build_request($method, $uri, headers => $h,
                                 body => $opt{body}),
                   port => $opt{port}, timeout => $opt{timeout});
    return parse_response($raw, head => $method eq 'HEAD');
}

# parses one raw response:
# { status, reason, proto, headers => { lcname => [values] }, body, raw }
# status is 0 when nothing came back
sub parse_response {
    my ($raw, %opt) = @_;
    my $res = { status => 0, headers => {}, body => '', raw => $raw // '' };
    return $res unless defined $raw && length $raw;

    my $sep = index($raw, "\r\n\r\n");
    my ($head, $body) = $sep < 0 ? ($raw, '')
        : (substr($raw, 0, $sep), substr($raw, $sep + 4));

    # skip interim 1xx responses (100 Continue before the final one)
    while ($head =~ m{^HTTP/\d\.\d\s+1\d\d\b} && length $body) {
        $sep = index($body, "\r\n\r\n");
        last if $sep < 0;
        ($head, $body) = (substr($body, 0, $sep), substr($body, $sep + 4));
    }

    my @lines = split /\r\n/, $head;
    my $sl = shift @lines // '';
    if ($sl =~ m{^(HTTP/\d\.\d)\s+(\d{3})\s*(.*)$}) {
        @$res{qw(proto status reason)} = ($1, $2 + 0, $3);
    }
    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{ $res->{headers}{ lc $n } }, $v;
    }

    my $te = hdr($res, 'transfer-encoding') // '';
    if (!$opt{head} && $te =~ /chunked/i) {
        $body = dechunk($body);
    }
    $res->{body} = $opt{head} ? '' : $body;
    return $res;
}

sub dechunk {
    my ($data) = @_;
    my $out = '';
    while ($data =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr($data, 0, $n);
        substr($data, 0, $n + 2) = '';
    }
    return $out;
}

# keep-alive client: my $c = http_raw_conn($port); $c->request(...)
sub http_raw_conn {
    my ($port) = @_;
    my $s = connect_to($port) or return undef;
    return Lg::Test::Conn->new($s);
}

# reads exactly one response from a socket; honours Content-Length,
# chunked, HEAD and bodiless statuses.  returns parsed response or undef
sub read_response {
    my ($s, %opt) = @_;
    my $timeout = $opt{timeout} // 10;
    my $buf = ref $opt{buffer} ? $opt{buffer} : \(my $tmp = '');
    my $end = time() + $timeout;
    my $sel = IO::Select->new($s);

    my $fill = sub {
        my @r = $sel->can_read($end - time());
        return 0 unless @r;
        my $n = sysread($s, my $chunk, 65536);
        return 0 unless $n;
        $$buf .= $chunk;
        return 1;
    };

    while (index($$buf, "\r\n\r\n") < 0) {
        $fill->() or return undef;
    }
    my $hend = index($$buf, "\r\n\r\n") + 4;
    my $head = substr($$buf, 0, $hend);
    my $res = parse_response($head);

    my $st = $res->{status};
    my $len;
    if ($opt{head} || $st == 204 || $st == 304 || ($st >= 100 && $st < 200)) {
        $len = 0;
    } elsif ((hdr($res, 'transfer-encoding') // '') =~ /chunked/i) {
        while ($$buf !~ /\r\n0[^\r\n]*\r\n\r\n/s) {
            $fill->() or last;
        }
        my $i = $$buf =~ /\r\n0[^\r\n]*\r\n\r\n/sg ? pos($$buf) : length $$buf;
        $res->{body} = dechunk(substr($$buf, $hend, $i - $hend));
        $res->{raw} = substr($$buf, 0, $i);
        substr($$buf, 0, $i) = '';
        return $res;
    } elsif (defined(my $cl = hdr($res, 'content-length'))) {
        $len = $cl;
    } else {
        1 while $fill->();
        $len = length($$buf) - $hend;
    }

    while (length($$buf) < $hend + $len) {
        $fill->() or last;
    }
    $res->{body} = substr($$buf, $hend, $len);
    $res->{raw} = substr($$buf, 0, $hend + $len);
    substr($$buf, 0, $hend + $len) = '';
    return $res;
}


package Lg::Test::Conn;

sub new {
    my ($class, $s) = @_;
    my $buf = '';
    return bless { s => $s, buf => \$buf }, $class;
}

# $c->request(METHOD, URI, headers => [..], body => ..) -> parsed response
sub request {
    my ($self, $method, $uri, %opt) = @_;
    my $req = Lg::Test::build_request($method, $uri, %opt, keepalive => 1);
    Lg::Test::write_all($self->{s}, $req) or return undef;
    return Lg::Test::read_response($self->{s}, head => $method eq 'HEAD',
                                   buffer => $self->{buf});
}

sub close { close $_[0]{s} }

1;
