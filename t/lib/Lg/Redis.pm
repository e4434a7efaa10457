package Lg::Redis;

# Real Redis topologies for tests, next to an Lg::Test object: every
# process runs in the test directory on free loopback ports and is killed
# when the test file ends.  Nothing here is a stand-in: the servers are
# Debian's redis-server and redis-sentinel.
#
#   my $t  = Lg::Test->new();
#   my $rs = Lg::Redis->new($t);
#
#   my $n  = $rs->server();                      # plain
#   $rs->cli($n, 'PING');                        # "PONG"
#
#   my $s  = $rs->server(tls => 1);              # TLS only (--port 0)
#   my $f  = $rs->tls_files();                   # {ca, wrong_ca, ...}
#
#   my $g  = $rs->sentinel_group();              # master, replica, 3 sentinels
#   my $dt = $rs->failover($g);                  # kill the master, wait
#
#   my $c  = $rs->cluster();                     # 3 masters, all slots
#   my $slot = $rs->keyslot($c, 'lg:{acme}:x');
#   $rs->migrate_start($c, $slot, $from, $to);   # -ASK from here on
#   $rs->migrate_keys($c, $slot, $from, $to);
#   $rs->migrate_finish($c, $slot, $from, $to);  # -MOVED from here on
#
# A node is a hash: { name, port, pid, tls, password, cluster, id, dir,
# log, args }; a port is always on 127.0.0.1.
#
# Environment: LG_REDIS_SERVER, LG_REDIS_SENTINEL, LG_REDIS_CLI (binaries,
# default from PATH).

use strict;
use warnings;

use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

use Lg::Test ();

my @LIVE;

sub new {
    my ($class, $t, %opt) = @_;

    my $self = bless {
        t        => $t,
        dir      => $t->testdir(),
        timeout  => $t->{timeout} // 10,
        nodes    => [],
        seq      => 0,
        server   => $ENV{LG_REDIS_SERVER} // 'redis-server',
        sentinel => $ENV{LG_REDIS_SENTINEL} // 'redis-sentinel',
        cli_bin  => $ENV{LG_REDIS_CLI} // 'redis-cli',
    }, $class;

    push @LIVE, $self;
    return $self;
}

# skip_all unless the binaries a test needs are installed
sub need {
    my ($class, @bins) = @_;
    for my $b (@bins) {
        Test::More::plan(skip_all => "$b not installed")
            unless system("command -v $b >/dev/null 2>&1") == 0;
    }
}

sub dir { $_[0]{dir} }

###############################################################################
# processes

# runs a command, returns (exit code, stdout+stderr)
sub run_cmd {
    my ($self, @cmd) = @_;
    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDERR, '>&', \*STDOUT;
        exec @cmd or do { print "exec $cmd[0]: $!\n"; POSIX::_exit(127) };
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $rc = $? == -1 ? 127 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
    return ($rc, $out);
}

sub spawn {
    my ($self, $node) = @_;
    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$node->{log}.out";
        open STDERR, '>&', \*STDOUT;
        exec @{ $node->{cmd} } or POSIX::_exit(127);
    }
    $node->{pid} = $pid;
    return $pid;
}

sub read_text {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# waits until a node answers PING; dies with its log otherwise
sub wait_ready {
    my ($self, $node) = @_;
    my $end = time() + $self->{timeout};
    while (time() < $end) {
        my ($rc, $out) = $self->run_cmd($self->cli_cmd($node, 'PING'));
        return $node if $rc == 0 && $out =~ /^PONG/;
        if (waitpid($node->{pid}, WNOHANG) == $node->{pid}) {
            $node->{pid} = undef;
            die "$node->{name} exited at start:\n" . tail($node) . "\n";
        }
        sleep 0.03;
    }
    die "$node->{name} not ready after $self->{timeout}s:\n"
        . tail($node) . "\n";
}

sub tail {
    my ($node) = @_;
    my @l = split /\n/, read_text($node->{log}) . read_text("$node->{log}.out");
    return join "\n", @l[($#l > 15 ? $#l - 15 : 0) .. $#l];
}

# stop($node): SIGKILL, the way a crash looks to clients
sub stop {
    my ($self, $node) = @_;
    my $pid = $node->{pid} or return;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    $node->{pid} = undef;
}

# starts a stopped node again, same port and arguments
sub restart {
    my ($self, $node) = @_;
    die "$node->{name} is running\n" if $node->{pid};
    $self->spawn($node);
    return $self->wait_ready($node);
}

sub stop_all {
    my ($self) = @_;
    $self->stop($_) for reverse @{ $self->{nodes} };
}

END {
    my $rc = $?;
    for my $rs (@LIVE) {
        eval { $rs->stop_all() };
    }
    $? = $rc;
}

###############################################################################
# one redis-server

# server(%opt): starts a redis-server and returns its node once it answers.
#   name => 'r1'             log and directory names
#   password => P            requirepass (and masterauth for replicas)
#   tls => 1                 TLS only: --port 0 --tls-port PORT
#   cert => 'server'         or 'wrong_name': the certificate it shows
#   tls_auth_clients => 'no' or 'optional' / 'yes' (client certificates)
#   replicaof => $node       a replica of that node
#   cluster => 1             cluster-enabled, with its own bus port
#   args => [...]            more redis-server arguments
sub server {
    my ($self, %opt) = @_;
    my $name = $opt{name} // 'r' . ++$self->{seq};
    my $port = Lg::Test::free_port();
    my $ndir = "$self->{dir}/redis-$name";
    make_path($ndir);

    # replicas sync at once (the default waits 5s for more replicas)
    my @args = ('--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                '--daemonize', 'no', '--dir', $ndir,
                '--logfile', "$self->{dir}/redis-$name.log",
                '--repl-diskless-sync-delay', 0);

    if ($opt{tls}) {
        my $f = $self->tls_files();
        my $cert = $opt{cert} // 'server';
        die "no certificate \"$cert\"\n" unless $f->{"${cert}_crt"};
        push @args, '--port', 0, '--tls-port', $port,
            '--tls-cert-file', $f->{"${cert}_crt"},
            '--tls-key-file', $f->{"${cert}_key"},
            '--tls-ca-cert-file', $f->{ca},
            '--tls-auth-clients', $opt{tls_auth_clients} // 'no';
        push @args, '--tls-replication', 'yes' if $opt{replicaof};
        push @args, '--tls-cluster', 'yes' if $opt{cluster};
    } else {
        push @args, '--port', $port;
    }

    if (defined $opt{password}) {
        push @args, '--requirepass', $opt{password},
            '--masterauth', $opt{password};
    }

    if ($opt{replicaof}) {
        push @args, '--replicaof', '127.0.0.1', $opt{replicaof}{port};
    }

    my $bus;
    if ($opt{cluster}) {
        $bus = Lg::Test::free_port();
        push @args, '--cluster-enabled', 'yes',
            '--cluster-config-file', "$ndir/nodes.conf",
            '--cluster-port', $bus,
            '--cluster-node-timeout', $opt{node_timeout} // 5000;
    }

    push @args, @{ $opt{args} // [] };

    my $node = {
        name     => $name,
        port     => $port,
        bus      => $bus,
        tls      => $opt{tls} ? 1 : 0,
        password => $opt{password},
        cluster  => $opt{cluster} ? 1 : 0,
        dir      => $ndir,
        log      => "$self->{dir}/redis-$name.log",
        cmd      => [ $self->{server}, @args ],
    };

    push @{ $self->{nodes} }, $node;
    $self->spawn($node);
    return $self->wait_ready($node);
}

# the redis-cli arguments that reach a node (TLS with the test CA and the
# client certificate, password), then @cmd
sub cli_cmd {
    my ($self, $node, @cmd) = @_;
    my @a = ($self->{cli_bin}, '-h', '127.0.0.1', '-p', $node->{port});
    if ($node->{tls}) {
        my $f = $self->tls_files();
        push @a, '--tls', '--cacert', $f->{ca}, '--cert', $f->{client_crt},
            '--key', $f->{client_key};
    }
    push @a, '--no-auth-warning', '-a', $node->{password}
        if defined $node->{password};
    return (@a, @cmd);
}

# one redis-cli command against a node; its output without the final
# newlines (errors included, as redis-cli prints them: "MOVED 1 h:p")
sub cli {
    my ($self, $node, @cmd) = @_;
    my ($rc, $out) = $self->run_cmd($self->cli_cmd($node, @cmd));
    $out =~ s/\n+\z//;
    return $out;
}

# INFO SECTION as a hash
sub info {
    my ($self, $node, $section) = @_;
    my %h;
    for (split /\r?\n/, $self->cli($node, 'INFO', $section // 'default')) {
        $h{$1} = $2 if /^([\w-]+):(.*?)\s*$/;
    }
    return \%h;
}

# a reply printed as one element per line (redis-cli without a tty) of
# alternating names and values, as a hash
sub pairs {
    my ($text) = @_;
    my @l = split /\n/, $text;
    my %h;
    while (@l >= 2) {
        my ($k, $v) = splice(@l, 0, 2);
        $h{$k} = $v;
    }
    return \%h;
}

sub wait_until {
    my ($self, $what, $cond, $timeout) = @_;
    my $end = time() + ($timeout // $self->{timeout});
    while (time() < $end) {
        return 1 if $cond->();
        sleep 0.05;
    }
    die "timed out waiting for $what\n";
}

# fake(reply => BYTES, name => N): a server that is no Redis: it answers
# every command it reads on a connection with the same canned bytes (a
# sub gets the node's port and returns them).  For what real servers do
# not do on demand: a Sentinel naming a replica, a redirect loop.
sub fake {
    my ($self, %opt) = @_;
    my $name = $opt{name} // 'fake' . ++$self->{seq};
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Listen => 16,
                                       ReuseAddr => 1, Proto => 'tcp')
        or die "fake $name: $!\n";
    my $port = $listen->sockport();
    my $reply = ref $opt{reply} eq 'CODE' ? $opt{reply}->($port)
        : $opt{reply};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        local $SIG{PIPE} = 'IGNORE';
        while (my $c = $listen->accept()) {
            my $buf = '';
            while (sysread($c, $buf, 4096, length $buf)) {
                # one reply per complete command line read
                while ($buf =~ s/^\*\d+\r\n(?:\$\d+\r\n[^\r]*\r\n)+//) {
                    syswrite($c, $reply);
                }
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $listen;

    my $node = { name => $name, port => $port, pid => $pid, tls => 0,
                 fake => 1, log => "$self->{dir}/redis-$name.log" };
    push @{ $self->{nodes} }, $node;
    return $node;
}

###############################################################################
# TLS material, made by openssl in the test directory once per test file:
#   ca, ca_key                 the CA the servers and clients trust
#   server_crt, server_key     DNS:redis.test, DNS:localhost, IP:127.0.0.1
#   wrong_name_crt, _key       signed by that CA for DNS:wrong.test only
#   wrong_ca, wrong_ca_key     another CA, unrelated to the servers
#   client_crt, client_key     a client certificate from the CA
# Keys are EC P-256: fast to make.

sub tls_files {
    my ($self) = @_;
    return $self->{tls} if $self->{tls};

    my $d = "$self->{dir}/tls";
    make_path($d);

    my $ossl = sub {
        my ($rc, $out) = $self->run_cmd('openssl', @_);
        die "openssl @_[0 .. 1]: $out\n" if $rc != 0;
    };

    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
              '-nodes');

    for my $ca (qw(ca wrong-ca)) {
        $ossl->('req', '-x509', @ec, '-keyout', "$d/$ca.key",
                '-out', "$d/$ca.crt", '-days', 2, '-subj', "/CN=lg test $ca",
                '-addext', 'basicConstraints=critical,CA:TRUE',
                '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    }

    my %leaf = (
        server       => [ 'redis.test', 'serverAuth',
                          'DNS:redis.test,DNS:localhost,IP:127.0.0.1' ],
        'wrong-name' => [ 'wrong.test', 'serverAuth', 'DNS:wrong.test' ],
        client       => [ 'lg-gateway', 'clientAuth', undef ],
    );

    for my $name (sort keys %leaf) {
        my ($cn, $usage, $san) = @{ $leaf{$name} };
        my $ext = "$d/$name.ext";
        open my $fh, '>', $ext or die "$ext: $!\n";
        print $fh "basicConstraints=CA:FALSE\n"
            . "keyUsage=critical,digitalSignature\n"
            . "extendedKeyUsage=$usage\n";
        print $fh "subjectAltName=$san\n" if $san;
        close $fh;

        $ossl->('req', '-new', @ec, '-keyout', "$d/$name.key",
                '-out', "$d/$name.csr", '-subj', "/CN=$cn");
        $ossl->('x509', '-req', '-in', "$d/$name.csr", '-CA', "$d/ca.crt",
                '-CAkey', "$d/ca.key", '-set_serial',
                int(rand(1 << 30)) + 1, '-days', 2, '-extfile', $ext,
                '-out', "$d/$name.crt");
    }

    # redis-server reads them as whatever user it runs as
    chmod 0644, glob("$d/*");

    return $self->{tls} = {
        dir            => $d,
        ca             => "$d/ca.crt",
        ca_key         => "$d/ca.key",
        server_crt     => "$d/server.crt",
        server_key     => "$d/server.key",
        wrong_name_crt => "$d/wrong-name.crt",
        wrong_name_key => "$d/wrong-name.key",
        wrong_ca       => "$d/wrong-ca.crt",
        wrong_ca_key   => "$d/wrong-ca.key",
        client_crt     => "$d/client.crt",
        client_key     => "$d/client.key",
    };
}

###############################################################################
# Sentinel: one master, one replica, three sentinels (quorum 2)

# sentinel_group(%opt) -> { name, master, replica, sentinels => [...] }
#   name => 'lgmaster', down_after => 500 (ms), failover_timeout => 2000,
#   password => P (data nodes), sentinel_password => P (the sentinels)
# Returns once every sentinel knows the replica and the two other
# sentinels, so a failover can start as soon as the master dies.
# Sentinel's internal periods (INFO, hello messages, reconnection) are
# shortened with SENTINEL DEBUG (Redis 7): production values would make
# a test wait 10 to 15 seconds for things a client does not see.
sub sentinel_group {
    my ($self, %opt) = @_;
    my $name = $opt{name} // 'lgmaster';
    my $down = $opt{down_after} // 500;
    my $fto = $opt{failover_timeout} // 2000;
    my $n = $opt{sentinels} // 3;
    my $quorum = $opt{quorum} // 2;

    my $master = $self->server(name => "$name-a", password => $opt{password});
    my $replica = $self->server(name => "$name-b", password => $opt{password},
                                replicaof => $master);

    $self->wait_until("$replica->{name} in sync", sub {
        ($self->info($replica, 'replication')->{master_link_status} // '')
            eq 'up';
    });

    my @sentinels;
    for my $i (1 .. $n) {
        my $sname = "$name-sentinel$i";
        my $port = Lg::Test::free_port();
        my $sdir = "$self->{dir}/redis-$sname";
        make_path($sdir);
        my $conf = "$sdir/sentinel.conf";
        open my $fh, '>', $conf or die "$conf: $!\n";
        print $fh <<"EOF";
port $port
bind 127.0.0.1
daemonize no
dir $sdir
logfile $self->{dir}/redis-$sname.log
sentinel resolve-hostnames no
sentinel monitor $name 127.0.0.1 $master->{port} $quorum
sentinel down-after-milliseconds $name $down
sentinel failover-timeout $name $fto
sentinel parallel-syncs $name 1
EOF
        print $fh "sentinel auth-pass $name $opt{password}\n"
            if defined $opt{password};
        if (defined $opt{sentinel_password}) {
            print $fh "requirepass $opt{sentinel_password}\n"
                . "sentinel sentinel-pass $opt{sentinel_password}\n";
        }
        close $fh;

        my $node = {
            name     => $sname,
            port     => $port,
            tls      => 0,
            password => $opt{sentinel_password},
            sentinel => 1,
            dir      => $sdir,
            log      => "$self->{dir}/redis-$sname.log",
            cmd      => [ $self->{sentinel}, $conf ],
        };
        push @{ $self->{nodes} }, $node;
        $self->spawn($node);
        push @sentinels, $node;
    }

    for my $s (@sentinels) {
        $self->wait_ready($s);

        # Sentinel's own periods, made short so that a test does not
        # wait 10s for an INFO or 15s for a reconnection; a late timer
        # on a busy machine must not put it in TILT mode for 30s
        $self->ok_reply($s, 'SENTINEL', 'DEBUG',
                        'info-period', $opt{info_period} // 250,
                        'publish-period', 250,
                        'ask-period', 250,
                        'min-link-reconnect-period', 250,
                        'tilt-trigger', 5000,
                        'tilt-period', 3000);
    }

    my $group = {
        name      => $name,
        master    => $master,
        replica   => $replica,
        sentinels => \@sentinels,
        down_after       => $down,
        failover_timeout => $fto,
    };

    $self->wait_until('sentinels that know each other and the replica',
        sub {
            for my $s (@sentinels) {
                my $m = $self->sentinel_master($s, $name);
                return 0 unless ($m->{'num-slaves'} // 0) == 1
                    && ($m->{'num-other-sentinels'} // 0) == $n - 1;
            }
            return 1;
        }, $self->{timeout} + 10);

    return $group;
}

# SENTINEL MASTER NAME of one sentinel, as a hash
sub sentinel_master {
    my ($self, $sentinel, $name) = @_;
    return pairs($self->cli($sentinel, 'SENTINEL', 'MASTER', $name));
}

# the master's port as one sentinel tells it, or undef
sub sentinel_master_port {
    my ($self, $sentinel, $name) = @_;
    my @l = split /\n/, $self->cli($sentinel, 'SENTINEL',
                                   'get-master-addr-by-name', $name);
    return @l == 2 && $l[1] =~ /^\d+$/ ? $l[1] : undef;
}

# failover($group, timeout => S): kills the master (SIGKILL) and waits
# until every sentinel names the replica as the master and the replica
# says it is one.  Returns the seconds that took; the group's master is
# the promoted node from then on, the killed one is old_master.
sub failover {
    my ($self, $group, %opt) = @_;
    my $old = $group->{master};
    my $new = $group->{replica} or die "no replica to promote\n";

    my $start = time();
    $self->stop($old);

    my $ok = eval {
        $self->wait_until('the failover', sub {
            for my $s (@{ $group->{sentinels} }) {
                my $p = $self->sentinel_master_port($s, $group->{name});
                return 0 unless defined $p && $p == $new->{port};
            }
            return ($self->info($new, 'replication')->{role} // '')
                eq 'master';
        }, $opt{timeout} // 30);
        1;
    };

    die "$@" . join("\n", map { tail($_) } @{ $group->{sentinels} }) . "\n"
        unless $ok;

    $group->{old_master} = $old;
    $group->{master} = $new;
    $group->{replica} = undef;

    return time() - $start;
}

###############################################################################
# Cluster

# cluster(%opt) -> { nodes => [...], by_id => {...} }: masters => 3
# cluster-enabled redis-servers joined by "redis-cli --cluster create",
# returned once every node sees all 16384 slots served.
sub cluster {
    my ($self, %opt) = @_;
    my $n = $opt{masters} // 3;
    my $prefix = $opt{name} // 'node';

    my @nodes = map {
        $self->server(name => "$prefix$_", cluster => 1,
                      password => $opt{password}, tls => $opt{tls},
                      node_timeout => $opt{node_timeout})
    } 1 .. $n;

    my ($rc, $out) = $self->run_cmd($self->cli_cmd($nodes[0]),
        '--cluster', 'create', (map { "127.0.0.1:$_->{port}" } @nodes),
        '--cluster-yes');
    die "redis-cli --cluster create failed ($rc):\n$out\n" if $rc != 0;

    my $c = { nodes => \@nodes, by_id => {} };

    for my $node (@nodes) {
        $node->{id} = $self->cli($node, 'CLUSTER', 'MYID');
        die "no id for $node->{name}\n" unless $node->{id} =~ /^[0-9a-f]{40}$/;
        $c->{by_id}{ $node->{id} } = $node;
    }

    $self->wait_until('the cluster to be ok on every node', sub {
        for my $node (@nodes) {
            my $ci = $self->cluster_info($node);
            return 0 unless ($ci->{cluster_state} // '') eq 'ok'
                && ($ci->{cluster_slots_ok} // 0) == 16384
                && ($ci->{cluster_known_nodes} // 0) == $n;
        }
        return 1;
    });

    return $c;
}

sub cluster_info {
    my ($self, $node) = @_;
    my %h;
    for (split /\r?\n/, $self->cli($node, 'CLUSTER', 'INFO')) {
        $h{$1} = $2 if /^(\w+):(.*?)\s*$/;
    }
    return \%h;
}

sub keyslot {
    my ($self, $c, $key) = @_;
    my $s = $self->cli($c->{nodes}[0], 'CLUSTER', 'KEYSLOT', $key);
    die "CLUSTER KEYSLOT $key: $s\n" unless $s =~ /^\d+$/;
    return $s;
}

# the node that serves a slot, as $asked (default: the first node) sees it
sub slot_owner {
    my ($self, $c, $slot, $asked) = @_;
    $asked //= $c->{nodes}[0];
    for my $line (split /\n/, $self->cli($asked, 'CLUSTER', 'NODES')) {
        my ($id, undef, $flags, undef, undef, undef, undef, undef, @slots)
            = split / /, $line;
        next unless defined $flags && $flags =~ /master/;
        for my $r (@slots) {
            next if $r =~ /^\[/;            # [slot->-id] migration marks
            my ($a, $b) = split /-/, $r;
            $b //= $a;
            return $c->{by_id}{$id} if $slot >= $a && $slot <= $b;
        }
    }
    return undef;
}

# the node serving a key
sub key_owner {
    my ($self, $c, $key) = @_;
    return $self->slot_owner($c, $self->keyslot($c, $key));
}

# a node other than those given
sub other_node {
    my ($self, $c, @not) = @_;
    my %skip = map { $_->{port} => 1 } @not;
    my @n = grep { !$skip{ $_->{port} } } @{ $c->{nodes} };
    return $n[0];
}

# first step of a hand-made slot migration: the target imports, the
# source migrates.  From here on the source answers -ASK for keys of the
# slot it no longer holds.
sub migrate_start {
    my ($self, $c, $slot, $from, $to) = @_;
    $self->ok_reply($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING',
                    $from->{id});
    $self->ok_reply($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING',
                    $to->{id});
}

# moves keys of the slot from source to target with MIGRATE: the keys
# given, or all the source still holds
sub migrate_keys {
    my ($self, $c, $slot, $from, $to, @keys) = @_;
    my @auth = defined $to->{password} ? ('AUTH', $to->{password}) : ();
    my $given = @keys ? 1 : 0;
    my $moved = 0;
    while (1) {
        my @batch = $given ? splice(@keys, 0, 100)
            : grep { length } split /\n/,
                $self->cli($from, 'CLUSTER', 'GETKEYSINSLOT', $slot, 100);
        last unless @batch;
        my $r = $self->cli($from, 'MIGRATE', '127.0.0.1', $to->{port}, '',
                           0, 5000, @auth, 'KEYS', @batch);
        die "MIGRATE of slot $slot: $r\n" unless $r =~ /^(OK|NOKEY)$/;
        $moved += @batch;
    }
    return $moved;
}

# last step: the remaining keys move, then every master is told the new
# owner, so any node answers -MOVED for the slot at once
sub migrate_finish {
    my ($self, $c, $slot, $from, $to) = @_;
    $self->migrate_keys($c, $slot, $from, $to);
    $self->ok_reply($to, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $to->{id});
    $self->ok_reply($from, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $to->{id});
    for my $node (@{ $c->{nodes} }) {
        next if $node == $to || $node == $from;
        $self->ok_reply($node, 'CLUSTER', 'SETSLOT', $slot, 'NODE',
                        $to->{id});
    }
}

sub ok_reply {
    my ($self, $node, @cmd) = @_;
    my $r = $self->cli($node, @cmd);
    die "@cmd on $node->{name}: $r\n" unless $r eq 'OK';
    return $r;
}

1;
