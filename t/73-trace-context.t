#!/usr/bin/perl

# W3C Trace Context (Level 2) through the gateway: a valid traceparent is
# continued with the gateway's own span as the parent Odoo sees (trace id
# and flags kept, unknown flags dropped), tracestate goes on unchanged
# (several headers combined), a missing or invalid one starts a new trace
# (sampled and random flags), and later versions are read as version 00.
# The ids are in variables for the audit log, also for refused requests.
# "logistics_trace_context off" leaves both headers alone, for nginx's
# OpenTelemetry module (otel_trace_context) to own them.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();

$t->write_config(<<'EOF');
    logistics_policy %%REPO%%/t/policies/gateway.json;

    log_format trace '$logistics_request_id $status '
                     'trace=$logistics_trace_id span=$logistics_span_id '
                     'tp=$logistics_traceparent';

    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log %%TESTDIR%%/trace.log trace;

        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log %%TESTDIR%%/trace.log trace;

        location / {
            logistics_gateway on;
            logistics_trace_context off;
            proxy_pass http://odoo;
        }
    }
EOF
$t->run_stub();
$t->run();

my $TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
my $PARENT = '00f067aa0ba902b7';

sub get {
    my ($port, %h) = @_;
    return http_get('/v2/shipments/1', port => $t->port($port),
                    'X-API-Key' => $KEY{acme1}, %h);
}

sub sent {
    my ($r) = @_;
    return echo_of($r)->{headers} // {};
}

sub log_of {
    my ($r) = @_;
    my $rid = hdr($r, 'x-request-id') // '';
    my $line = $t->wait_log_line('trace.log', qr/^\Q$rid\E /) // '';
    my %f = $line =~ /(\w+)=(\S+)/g;
    return \%f;
}

# continued

for my $flags (qw(00 01 02 03)) {
    my $r = get(0, traceparent => "00-$TRACE-$PARENT-$flags");
    my $tp = sent($r)->{traceparent} // '';
    my ($trace, $span, $f) =
        $tp =~ /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
    is($trace, $TRACE, "flags $flags: the trace id goes on");
    ok(defined $span && $span ne $PARENT && $span ne '0' x 16,
       "flags $flags: a new parent id, the gateway's span");
    is($f, $flags, "flags $flags: kept");

    my $l = log_of($r);
    is($l->{tp}, $tp, "flags $flags: \$logistics_traceparent is what Odoo got");
    is($l->{trace}, $TRACE, "flags $flags: \$logistics_trace_id");
    is($l->{span}, $span, "flags $flags: \$logistics_span_id is that parent");
}

my $r = get(0, traceparent => "00-$TRACE-$PARENT-ff");
like(sent($r)->{traceparent} // '', qr/^00-$TRACE-[0-9a-f]{16}-03$/,
     'unknown flags dropped, sampled and random kept');

my @spans = map { (sent(get(0, traceparent => "00-$TRACE-$PARENT-01"))
                   ->{traceparent} // '') =~ /-([0-9a-f]{16})-/ } 1 .. 5;
my %uniq = map { $_ => 1 } @spans;
is(scalar keys %uniq, 5, 'a new span id for every request');

# tracestate

$r = get(0, traceparent => "00-$TRACE-$PARENT-01",
         tracestate => 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
is(sent($r)->{tracestate}, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
   'tracestate unchanged');

$r = http_req('GET', '/v2/shipments/1', port => $t->port(0),
              headers => [ 'X-API-Key' => $KEY{acme1},
                           traceparent => "00-$TRACE-$PARENT-01",
                           tracestate => 'rojo=00f067aa0ba902b7',
                           TraceState => 'congo=t61r' ]);
is(sent($r)->{tracestate}, 'rojo=00f067aa0ba902b7,congo=t61r',
   'two tracestate headers: combined in their order, as one header');

$r = get(0, traceparent => "00-00000000000000000000000000000000-$PARENT-01",
         tracestate => 'rojo=1');
ok(!exists sent($r)->{tracestate}, 'a restarted trace drops tracestate');

# later versions: read as 00, sent as 00

$r = get(0, traceparent => "01-$TRACE-$PARENT-01");
like(sent($r)->{traceparent} // '', qr/^00-$TRACE-[0-9a-f]{16}-01$/,
     'version 01 continued, as version 00');

$r = get(0, traceparent => "cc-$TRACE-$PARENT-01-what-the-future-holds");
like(sent($r)->{traceparent} // '', qr/^00-$TRACE-[0-9a-f]{16}-01$/,
     'version cc with more fields continued, as version 00');

# restarts

for my $bad ("ff-$TRACE-$PARENT-01",
             "00-$TRACE-$PARENT-01-extra",
             "cc-$TRACE-$PARENT-01x",
             "00-" . uc($TRACE) . "-$PARENT-01",
             "00-$TRACE-0000000000000000-01",
             "00-$TRACE-$PARENT")
{
    $r = get(0, traceparent => $bad);
    my $tp = sent($r)->{traceparent} // '';
    like($tp, qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/,
         "'$bad': a new trace, sampled and random");
    unlike($tp, qr/\Q$TRACE\E/, "'$bad': not the old trace id");
}

# refused requests belong to a trace too

$r = http_get('/v2/shipments/1', port => $t->port(0),
              traceparent => "00-$TRACE-$PARENT-01");
is($r->{status}, 401, 'a request without a key is refused');
my $l = log_of($r);
is($l->{trace}, $TRACE, 'its log line holds the caller\'s trace id');
like($l->{span} // '', qr/^[0-9a-f]{16}$/, 'and the gateway\'s span id');

$r = http_get('/v2/shipments/1', port => $t->port(0));
like(log_of($r)->{trace} // '', qr/^[0-9a-f]{32}$/,
     'a refused request without a traceparent gets a new trace id');

# off: another module owns the headers (nginx's OpenTelemetry module)

$r = get(1, traceparent => "00-$TRACE-$PARENT-01",
         tracestate => 'rojo=00f067aa0ba902b7');
is(sent($r)->{traceparent}, "00-$TRACE-$PARENT-01",
   'off: traceparent goes to Odoo untouched');
is(sent($r)->{tracestate}, 'rojo=00f067aa0ba902b7',
   'off: tracestate goes to Odoo untouched');

$r = get(1);
ok(!exists sent($r)->{traceparent}, 'off: no traceparent is made up');
is($r->{status}, 200, 'off: the request is served');

$t->done_testing();
