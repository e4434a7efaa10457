package Lg::Prometheus;

# A real Prometheus server for tests: started on a free loopback port
# with its own configuration and storage in a temporary directory,
# scraping the given targets at a short interval, and queried over its
# HTTP API.
#
#   plan skip_all => 'no prometheus' unless Lg::Prometheus->available;
#   my $p = Lg::Prometheus->new(targets => [
#       { job => 'gw', target => "127.0.0.1:$port", path => '/metrics' },
#   ]);
#   $p->wait_up('gw');                       # a successful scrape
#   my $v = $p->value('sum(logistics_requests_total)');
#   $p->wait_for('logistics_requests_total{decision="allow"}',
#                sub { $_[0] >= 1 });
#   $p->stop;
#
# Environment: LG_PROMETHEUS (the server binary, default
# /usr/bin/prometheus), LG_PROMTOOL (default /usr/bin/promtool).

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

use Lg::Test ();

sub binary { $ENV{LG_PROMETHEUS} // '/usr/bin/prometheus' }
sub promtool { $ENV{LG_PROMTOOL} // '/usr/bin/promtool' }
sub available { -x binary() && -x promtool() }

# promtool check metrics on a text exposition: (exit code, output)
sub check_metrics {
    my ($class, $text) = @_;
    my $dir = tempdir('lg-promtool-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $file = "$dir/metrics.txt";
    open my $fh, '>:raw', $file or die "$file: $!\n";
    print $fh $text;
    close $fh;
    my $cmd = promtool() . " check metrics < '$file' 2>&1";
    my $out = `$cmd`;
    return ($? >> 8, $out);
}

sub new {
    my ($class, %opt) = @_;

    my $self = bless {
        dir      => tempdir('lg-prometheus-XXXXXX', TMPDIR => 1,
                            CLEANUP => $ENV{LG_KEEP} ? 0 : 1),
        port     => Lg::Test::free_port(),
        interval => $opt{interval} // '1s',
        timeout  => $opt{timeout} // 30,
        owner    => $$,
    }, $class;

    $self->write_config($opt{targets} // []);
    $self->start();

    return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

sub write_config {
    my ($self, $targets) = @_;

    my $y = "global:\n"
        . "  scrape_interval: $self->{interval}\n"
        . "  scrape_timeout: $self->{interval}\n"
        . "  evaluation_interval: $self->{interval}\n"
        . "scrape_configs:\n";

    for my $t (@$targets) {
        $y .= "  - job_name: '$t->{job}'\n"
            . "    metrics_path: '" . ($t->{path} // '/metrics') . "'\n"
            . "    static_configs:\n"
            . "      - targets: ['$t->{target}']\n";
    }

    open my $fh, '>', "$self->{dir}/prometheus.yml"
        or die "prometheus.yml: $!\n";
    print $fh $y;
    close $fh;
}

sub start {
    my ($self) = @_;

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$self->{dir}/prometheus.log";
        open STDERR, '>&', \*STDOUT;
        exec binary(),
            "--config.file=$self->{dir}/prometheus.yml",
            "--storage.tsdb.path=$self->{dir}/data",
            "--web.listen-address=127.0.0.1:$self->{port}",
            '--storage.tsdb.retention.time=1h',
            '--log.level=warn'
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    my $end = time() + $self->{timeout};

    while (time() < $end) {
        my $r = Lg::Test::http_get('/-/ready', port => $self->{port},
                                   timeout => 2);
        return if $r->{status} == 200;

        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            die "prometheus exited:\n" . $self->log() . "\n";
        }

        sleep 0.2;
    }

    die "prometheus not ready after $self->{timeout}s:\n" . $self->log()
        . "\n";
}

sub log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/prometheus.log" or return '';
    local $/;
    my $l = <$fh> // '';
    close $fh;
    return $l;
}

# GET /api/v1/PATH?ARGS -> decoded "data" (dies on an API error)
sub api {
    my ($self, $path, %args) = @_;

    my $q = join '&', map { "$_=" . uri_escape($args{$_}) } sort keys %args;
    my $r = Lg::Test::http_get("/api/v1/$path" . ($q ne '' ? "?$q" : ''),
                               port => $self->{port});

    die "prometheus API $path: no answer\n" unless $r->{status};

    my $j = eval { JSON::PP::decode_json($r->{body}) }
        or die "prometheus API $path: $r->{status} $r->{body}\n";

    die "prometheus API $path: $j->{error}\n"
        unless ($j->{status} // '') eq 'success';

    return $j->{data};
}

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# an instant query: [ { metric => {labels}, value => NUMBER } ]
sub query {
    my ($self, $expr) = @_;
    my $d = $self->api('query', query => $expr);
    return [ map { { metric => $_->{metric}, value => $_->{value}[1] + 0 } }
             @{ $d->{result} // [] } ];
}

# the value of a query that gives one series (undef: none)
sub value {
    my ($self, $expr) = @_;
    my $r = $self->query($expr);
    return @$r ? $r->[0]{value} : undef;
}

# polls a query until check(value, result) holds; returns the last value
sub wait_for {
    my ($self, $expr, $check, $timeout) = @_;
    my $end = time() + ($timeout // $self->{timeout});
    my ($v, $r);

    while (1) {
        $r = $self->query($expr);
        $v = @$r ? $r->[0]{value} : undef;
        return $v if $check->($v, $r);
        last if time() >= $end;
        sleep 0.5;
    }

    return $v;
}

# the scrape targets: [ { job, health, lastError, scrapeUrl, labels } ]
sub targets {
    my ($self) = @_;
    my $d = $self->api('targets');
    return [ map { { job => $_->{labels}{job}, health => $_->{health},
                     lastError => $_->{lastError}, scrapeUrl => $_->{scrapeUrl},
                     labels => $_->{labels} } }
             @{ $d->{activeTargets} // [] } ];
}

# waits until the job's target was scraped successfully; returns its
# target entry (health "up"), or the last one seen
sub wait_up {
    my ($self, $job, $timeout) = @_;
    my $end = time() + ($timeout // $self->{timeout});
    my $last;

    while (1) {
        ($last) = grep { $_->{job} eq $job } @{ $self->targets() };
        return $last if $last && $last->{health} eq 'up';
        last if time() >= $end;
        sleep 0.5;
    }

    return $last;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    return unless $$ == $self->{owner};

    kill 'TERM', $pid;
    my $end = time() + 15;
    while (time() < $end) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.1;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop() }

1;
