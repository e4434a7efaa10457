package Lg::Protect;

# Helpers of the "protect Odoo" tests (t/8*-protect-*.t): a policy with an
# "odoo" section built as a Perl hash (each test changes what it needs),
# the gateway config with the status and brownout locations, requests
# left open on their own connections, and the stub Odoo's admin
# endpoints (t/stub/odoo-stub.js).
#
#   my $t = Lg::Test->new();
#   my $p = Lg::Protect->new($t);
#   $p->write_policy(sub { $_[0]{apis}{shipments}{odoo}{max_in_flight} = 4 });
#   $p->write_config(location_extra => 'proxy_read_timeout 1s;');
#   $t->run_stub(); $t->run();
#   my $s = $p->open_request('GET', '/v2/reports/daily', 'reporter');
#   $p->stub_wait(held => 1);
#   $p->status()->{apis}[0]{in_flight};              # 1
#
# Partners (keys: $Lg::Protect::KEY{name}): carrier (critical creates),
# bulk (max_in_flight 2, priority_ceiling normal), reporter (deferrable
# reports), other (normal reads).

use strict;
use warnings;

use Exporter qw(import);
use IO::Select;
use Time::HiRes qw(sleep time);

use Lg::Test;

our @EXPORT_OK = qw(%KEY $SLOW);

# wall-clock bounds of the tests are this many times longer when nginx
# runs under valgrind (LG_VALGRIND): it answers 10 to 50 times slower
our $SLOW = $ENV{LG_VALGRIND} ? 8 : 1;

our %KEY = (
    carrier  => 'lg-test-protect-carrier',
    bulk     => 'lg-test-protect-bulk',
    reporter => 'lg-test-protect-reporter',
    other    => 'lg-test-protect-other',
);

sub new {
    my ($class, $t) = @_;
    return bless { t => $t, conns => [] }, $class;
}

sub t { $_[0]{t} }

# the policy as a hash; "edit" changes it before it is written
sub policy {
    my ($self) = @_;

    my %partner = (scopes => ['shipments:write', 'tracking:read']);

    # the stub's control headers pass the gateway's header allow-list
    my @stub = ('X-Stub-Status', 'X-Stub-Delay-Ms', 'X-Stub-Chunked');

    return {
        scopes => { 'shipments:write' => 'w', 'tracking:read' => 'r' },
        partners => {
            map {
                my $name = $_;
                ($name => { %partner, api_keys => [{ id => "$name-1",
                    sha256 => Lg::Test::key_sha256($KEY{$name}) }] })
            } sort keys %KEY
        },
        apis => {
            shipments => {
                forward_headers => [@stub],
                odoo => {
                    max_in_flight => 8, critical_reserve => '25%',
                    deferrable_cap => '50%', retry_after => '2s',
                    breaker => { window => '2s', buckets => 4,
                                 min_requests => 6, failure_ratio => '50%',
                                 cool_down => '1s', half_open_probes => 1,
                                 open_critical => 1 },
                },
                versions => { v2 => { upstream_prefix => '/api/v2' } },
                routes => [
                    { id => 'shipments.create', method => 'POST',
                      path => '/shipments', scopes => ['shipments:write'],
                      priority => 'critical' },
                    { id => 'shipments.label', method => 'GET',
                      path => '/shipments/{id}/label',
                      scopes => ['tracking:read'], priority => 'critical' },
                    { id => 'shipments.get', method => 'GET',
                      path => '/shipments/{id}', scopes => ['tracking:read'] },
                    { id => 'reports.daily', method => 'GET',
                      path => '/reports/daily', scopes => ['tracking:read'],
                      priority => 'deferrable' },
                ],
            },
            catalog => {
                forward_headers => [@stub],
                versions => { v2 => { upstream_prefix => '/api/catalog' } },
                routes => [
                    { id => 'catalog.get', method => 'GET',
                      path => '/catalog/{id}', scopes => ['tracking:read'],
                      priority => 'deferrable' },
                ],
            },
        },
    };
}

sub write_policy {
    my ($self, $edit, $name) = @_;
    my $p = $self->policy();
    $p->{partners}{bulk}{max_in_flight} = 2;
    $p->{partners}{bulk}{priority_ceiling} = 'normal';
    $edit->($p) if $edit;
    $name //= 'protect.json';
    $self->{t}->write_file($name,
        JSON::PP->new->canonical->pretty->encode($p));
    return $self->{t}->testdir() . "/$name";
}

# the http{} body: the gateway on /, the status view and the brownout
# switch on an admin port (PORT_1), $logistics_priority and
# $logistics_odoo_in_flight in the access log
sub http_body {
    my ($self, %opt) = @_;
    my $policy = $opt{policy} // '%%TESTDIR%%/protect.json';
    my $loc = $opt{location_extra} // '';
    my $srv = $opt{server_extra} // '';
    my $http = $opt{http_extra} // '';
    my $zone = $opt{zone} // 'logistics_zone lg:1m;';
    return <<"CONF";
    logistics_policy $policy;
    $zone
$http
    log_format lg '\$logistics_request_id \$status \$logistics_decision '
                  'p=\$logistics_partner r=\$logistics_route '
                  'c=\$logistics_priority n=\$logistics_odoo_in_flight '
                  'us=\$upstream_status';

    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log %%TESTDIR%%/lg.log lg;
$srv
        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
$loc
        }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;

        location /status { logistics_odoo_status; }
        location /brownout { logistics_brownout; }
    }
CONF
}

sub write_config {
    my ($self, %opt) = @_;
    my %conf;
    $conf{workers} = $opt{workers} if $opt{workers};
    $self->{t}->write_config($self->http_body(%opt), %conf);
}

# the JSON status view of a gateway (this one, or another Lg::Test)
sub status {
    my ($self, $t) = @_;
    $t //= $self->{t};
    my $r = http_get('/status', port => $t->port(1));
    return undef unless $r->{status} == 200;
    return json_decode($r->{body});
}

# requests in flight of API "shipments" (or of a partner)
sub in_flight {
    my ($self, $partner, $t) = @_;
    my $st = $self->status($t) or return -1;
    if (defined $partner) {
        my ($p) = grep { $_->{partner} eq $partner } @{ $st->{partners} };
        return $p ? $p->{in_flight} : -1;
    }
    my ($a) = grep { $_->{api} eq 'shipments' } @{ $st->{apis} };
    return $a ? $a->{in_flight} : -1;
}

# waits until $code returns true (5 s by default)
sub wait_for {
    my ($self, $code, $timeout) = @_;
    my $end = time() + ($timeout // 5);
    while (time() < $end) {
        return 1 if $code->();
        sleep 0.02;
    }
    return $code->() ? 1 : 0;
}

# a gateway request as a raw string
sub request_text {
    my ($self, $method, $uri, $who, %opt) = @_;
    my @h = ('X-API-Key' => $KEY{$who});
    push @h, @{ $opt{headers} } if $opt{headers};
    my $body = $opt{body};
    if ($method eq 'POST' && !defined $body) {
        $body = '{"ref":"x"}';
        push @h, 'Content-Type' => 'application/json';
    }
    return Lg::Test::build_request($method, $uri, headers => \@h,
                                   body => $body,
                                   keepalive => $opt{keepalive});
}

# sends a request on its own connection and leaves it open, unread
sub open_request {
    my ($self, $method, $uri, $who, %opt) = @_;
    my $s = Lg::Test::connect_to($opt{port} // $self->{t}->port(0))
        or die "connect: $!\n";
    Lg::Test::write_all($s, $self->request_text($method, $uri, $who, %opt))
        or die "write: $!\n";
    push @{ $self->{conns} }, $s;
    return $s;
}

# the response on an open connection (waits up to $timeout seconds)
sub finish_request {
    my ($self, $s, $timeout) = @_;
    my $res = Lg::Test::read_response($s, timeout => $timeout // 10);
    close $s;
    return $res // { status => 0, headers => {}, body => '' };
}

# one request, answered: a parsed response
sub call {
    my ($self, $method, $uri, $who, %opt) = @_;
    my $raw = Lg::Test::http($self->request_text($method, $uri, $who, %opt),
                             port => $opt{port} // $self->{t}->port(0),
                             timeout => $opt{timeout} // 10);
    return parse_response($raw, head => $method eq 'HEAD');
}

# stub Odoo admin
sub stub {
    my ($self, $method, $uri, $data) = @_;
    my $r = http_req($method, $uri, port => $self->{t}->stub_port(),
        headers => [ 'Content-Type' => 'application/json' ],
        body => defined $data ? json_encode($data) : undef);
    return eval { json_decode($r->{body}) } // {};
}

sub stub_rules {
    my ($self, @rules) = @_;
    return $self->stub('POST', '/__stub/config', { rules => \@rules });
}

sub stub_inflight { $_[0]->stub('GET', '/__stub/inflight') }

sub stub_release {
    my ($self, %opt) = @_;
    return $self->stub('POST', '/__stub/release', {%opt});
}

# GET /__stub/wait?held=N (or in_flight=N): 1 once reached
sub stub_wait {
    my ($self, %opt) = @_;
    my $q = join '&', map { "$_=$opt{$_}" } sort keys %opt;
    $q .= '&timeout_ms=5000' unless $opt{timeout_ms};
    my $r = $self->stub('GET', "/__stub/wait?$q");
    return $r->{ok} ? 1 : 0;
}

sub stub_reset { $_[0]->stub('POST', '/__stub/config/reset') }

1;
