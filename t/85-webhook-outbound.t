#!/usr/bin/perl

# Odoo's events to partners (logistics_webhook_outbound): Odoo posts
# .../<partner>/<event type>; the gateway signs the body with the
# partner's scheme and nginx's proxy delivers it over verified TLS to the
# URL the policy gives.  Stub partners (t/oauth/partner.js, HTTPS with a
# test CA) verify every signature with independent code: npm
# standardwebhooks for Standard Webhooks v1, Node's crypto for v1a
# (ed25519) and GitHub.  Odoo's retry with the same Idempotency-Key
# reaches the partner with the same webhook-id; the partner's status goes
# back to Odoo and $logistics_webhook_delivery says 2xx..5xx, timeout or
# error; an event without a subscription is refused before any
# connection, and nothing in Odoo's request can pick the target.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);

my $repo = Lg::Test::repo();

plan skip_all => 'node, openssl and t/oauth packages needed (make oauth-deps)'
    unless -d "$repo/t/oauth/node_modules/standardwebhooks"
        && system('node --version >/dev/null 2>&1') == 0
        && system('command -v openssl >/dev/null') == 0;

my $t = Lg::Test->new();
my $d = $t->testdir();

sub run { my $c = shift; system("$c >/dev/null 2>&1") == 0 or die "failed: $c" }

# a test CA and the partners' certificate

run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    . " -keyout $d/ca.key -out $d/ca.crt -days 2 -subj /CN=test-ca");
run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    . " -keyout $d/partner.key -out $d/partner.csr -subj /CN=hooks");
$t->write_file('partner.ext', "subjectAltName=DNS:hooks.acme.test,"
    . "DNS:hooks.edge.test,DNS:hooks.gh.test\n");
run("openssl x509 -req -in $d/partner.csr -CA $d/ca.crt -CAkey $d/ca.key"
    . " -CAcreateserial -out $d/partner.crt -days 2 -extfile $d/partner.ext");

# outbound secrets: what the gateway signs with, what the partners hold

sub random_secret {
    return 'whsec_' . encode_base64(join('', map { chr int rand 256 } 1 .. 32), '');
}

my $acme_old = random_secret();
my $acme_new = random_secret();
$t->write_file('secrets/acme-out-old.key', "$acme_old\n");
$t->write_file('secrets/acme-out-new.key', "$acme_new\n");
$t->write_file('secrets/acme-in.key', random_secret() . "\n");
$t->write_file('secrets/gh-out.key', 'github outbound secret ' . int(rand 1e9) . "\n");
run("node $repo/t/oauth/webhook.js keypair --secret-path $d/secrets/edge-out.whsk"
    . " --public-file $d/secrets/edge-out.whpk");

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    validation => { max_body_size => '4k' },
    scopes => {},
    partners => {
        acme => { scopes => [],
                  webhook => { secret_files => ['secrets/acme-in.key'] },
                  subscriptions => {
                      secret_files => ['secrets/acme-out-old.key',
                                       'secrets/acme-out-new.key'],
                      events => {
                          'order.confirmed' => 'https://hooks.acme.test/odoo/orders',
                          'picking.done' => 'https://hooks.acme.test/odoo/pickings?v=2',
                          'wrong.name' => 'https://wrong.acme.test/odoo/x',
                      } } },
        edge => { scopes => [],
                  subscriptions => {
                      secret_files => ['secrets/edge-out.whsk'],
                      events => { 'order.confirmed' => 'https://hooks.edge.test/in' } } },
        gh => { scopes => [],
                subscriptions => {
                    scheme => 'github', secret_files => ['secrets/gh-out.key'],
                    events => { 'picking.done' => 'https://hooks.gh.test/hooks' } } },
        inbound => { scopes => [],
                     webhook => { scheme => 'github',
                                  secret_files => ['secrets/inbound.key'] } },
    },
    apis => { events => { versions => { v1 => { upstream_prefix => '' } },
        routes => [{ id => 'in', method => 'POST', path => '/webhooks/{partner}',
                     scopes => [], auth => ['webhook'] }] } },
}));
$t->write_file('secrets/inbound.key', "inbound secret for a partner without subscriptions\n");

# three stub partners, each with the key it verifies with

my %stub;

sub start_partner {
    my ($name, $scheme, $secret_file) = @_;
    my ($port, $admin) = (Lg::Test::free_port(), Lg::Test::free_port());
    my $out = "$d/partner-$name.out";
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>>', "$d/partner-$name.err";
        exec 'node', "$repo/t/oauth/partner.js", '--port', $port,
            '--admin-port', $admin, '--cert', "$d/partner.crt",
            '--key', "$d/partner.key", '--scheme', $scheme,
            '--secret-file', $secret_file or POSIX::_exit(127);
    }
    my $end = time() + 10;
    until ($t->read_file($out) =~ /^ready /m) {
        die "partner $name did not start: " . $t->read_file("partner-$name.err")
            if time() > $end || waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    $stub{$name} = { pid => $pid, port => $port, admin => $admin };
}

start_partner('acme', 'standard', "$d/secrets/acme-out-new.key");
start_partner('edge', 'v1a', "$d/secrets/edge-out.whpk");
start_partner('gh', 'github', "$d/secrets/gh-out.key");

END { kill 'TERM', $_->{pid} for values %stub; waitpid($_->{pid}, 0) for values %stub; }

sub deliveries {
    my ($name) = @_;
    my $r = http_get('/deliveries', port => $stub{$name}{admin});
    return json_decode($r->{body});
}

sub partner_config {
    my ($name, $conf) = @_;
    http_req('POST', '/config', port => $stub{$name}{admin},
             body => json_encode($conf));
}

sub partner_reset {
    http_req('POST', '/reset', port => $stub{$_}{admin}) for keys %stub;
}

# a partner slower than proxy_read_timeout is a timeout; under valgrind
# the first TLS handshake alone takes about a second
my $read_timeout = $ENV{LG_VALGRIND} ? 4 : 1;

$t->write_config(<<"CONF");
    logistics_policy %%TESTDIR%%/policy.json;
    logistics_zone z:1m;

    log_format out '\$logistics_request_id \$status \$logistics_decision '
                   'p=\$logistics_partner e=\$logistics_webhook_event '
                   'i=\$logistics_webhook_id o=\$logistics_webhook_delivery '
                   'a=\$upstream_addr';

    upstream hooks.acme.test { server 127.0.0.1:$stub{acme}{port}; }
    upstream hooks.edge.test { server 127.0.0.1:$stub{edge}{port}; }
    upstream hooks.gh.test { server 127.0.0.1:$stub{gh}{port}; }
    upstream wrong.acme.test { server 127.0.0.1:$stub{acme}{port}; }

    # a listener only Odoo reaches
    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log %%TESTDIR%%/out.log out;
        client_max_body_size 1m;

        location /events/ {
            logistics_webhook_outbound on;
            proxy_pass \$logistics_webhook_url;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %%TESTDIR%%/ca.crt;
            proxy_ssl_server_name on;
            proxy_read_timeout ${read_timeout}s;
        }
    }
CONF

$t->run();
my $p = $t->port(1);

sub event {
    my ($path, $body, @h) = @_;
    return http_req('POST', $path, port => $p, body => $body,
                    headers => [ 'Content-Type' => 'application/json', @h ]);
}

sub out_line {
    my ($rid) = @_;
    my $l = $t->wait_log_line('out.log', qr/^\Q$rid\E /) // '';
    my @f = split / /, $l;
    my %v = (status => $f[1] // '', decision => $f[2] // '');
    for (@f[3 .. $#f]) { $v{$1} = $2 if /^(\w)=(.*)$/ }
    return \%v;
}

# signed, delivered, verified by the reference library

my $body = '{"order":"SO42","state":"sale"}';
my $r = event('/events/acme/order.confirmed', $body,
              'Idempotency-Key' => '"evt-SO42-1"', 'X-Request-Id' => 'out-1',
              'Authorization' => 'Bearer odoo-internal-token',
              'Cookie' => 'session_id=odoo', 'X-Odoo-Database' => 'prod');
is($r->{status}, 200, "the partner's status goes back to Odoo");
is(hdr($r, 'x-logistics-webhook-id'), 'evt-SO42-1', 'Odoo is told the webhook id');
my $got = deliveries('acme');
is(scalar @$got, 1, 'one delivery');
my $dl = $got->[0];
ok($dl->{verified}, 'verified by npm standardwebhooks') or diag $dl->{reason};
is($dl->{headers}{'webhook-id'}, 'evt-SO42-1', 'webhook-id is Odoo\'s Idempotency-Key');
ok(abs($dl->{headers}{'webhook-timestamp'} - time()) < 10, 'webhook-timestamp is now');
my @sigs = split / /, $dl->{headers}{'webhook-signature'};
is(scalar @sigs, 2, 'signed with both outbound secrets (rotation)');
is($dl->{path}, '/odoo/orders', 'at the URL of the policy');
is($dl->{body}, $body, 'the body byte for byte');
is($dl->{headers}{host}, 'hooks.acme.test', 'Host is the URL\'s');
is($dl->{headers}{'content-type'}, 'application/json', 'the media type is kept');
my @leaked = grep { exists $dl->{headers}{$_} }
    qw(authorization cookie x-odoo-database idempotency-key x-request-id);
is("@leaked", '', "nothing of Odoo's own headers reaches the partner");
my $o = out_line('out-1');
is($o->{o}, '2xx', '$logistics_webhook_delivery 2xx');
is($o->{e}, 'order.confirmed', '$logistics_webhook_event');
is($o->{p}, 'acme', '$logistics_partner');
is($o->{i}, 'evt-SO42-1', '$logistics_webhook_id');

# Odoo retries: the same webhook-id

partner_config('acme', { status => 503 });
$r = event('/events/acme/order.confirmed', $body,
           'Idempotency-Key' => '"evt-SO42-2"', 'X-Request-Id' => 'out-503');
is($r->{status}, 503, "the partner's 503 goes back to Odoo");
is(out_line('out-503')->{o}, '5xx', 'delivery 5xx');
partner_config('acme', { status => 202 });
$r = event('/events/acme/order.confirmed', $body,
           'Idempotency-Key' => '"evt-SO42-2"');
is($r->{status}, 202, 'the retry is delivered');
$got = deliveries('acme');
is($got->[-1]{headers}{'webhook-id'}, $got->[-2]{headers}{'webhook-id'},
   'the partner sees the same webhook-id on the retry');
ok($got->[-1]{verified} && $got->[-2]{verified}, 'both verified');

# no Idempotency-Key: a new id, which Odoo can retry with

partner_config('acme', { status => 404 });
$r = event('/events/acme/picking.done', '{"picking":"WH/OUT/7"}', 'X-Request-Id' => 'out-404');
is($r->{status}, 404, "the partner's 404 goes back");
is(out_line('out-404')->{o}, '4xx', 'delivery 4xx');
my $gen = hdr($r, 'x-logistics-webhook-id') // '';
like($gen, qr/^msg_[A-Za-z0-9_-]{22}$/, 'a generated id when Odoo sends none');
$got = deliveries('acme');
is($got->[-1]{headers}{'webhook-id'}, $gen, 'the one the partner got');
is($got->[-1]{path}, '/odoo/pickings?v=2', 'the query of the policy\'s URL');
partner_config('acme', { status => 200 });
event('/events/acme/picking.done', '{"picking":"WH/OUT/7"}', 'Idempotency-Key' => $gen);
is(deliveries('acme')->[-1]{headers}{'webhook-id'}, $gen, 'and Odoo retries with it');

# timeouts and failed connections

partner_config('acme', { status => 200, delay_ms => $read_timeout * 1000 + 1500 });
$r = http_req('POST', '/events/acme/order.confirmed', port => $p, body => $body,
             timeout => 30, headers => [ 'Content-Type' => 'application/json',
                                         'X-Request-Id' => 'out-slow' ]);
is($r->{status}, 504, 'a partner slower than proxy_read_timeout: 504');
is(out_line('out-slow')->{o}, 'timeout', 'delivery timeout');
partner_config('acme', { status => 200, delay_ms => 0 });

my $before = scalar @{ deliveries('acme') };
$r = event('/events/acme/wrong.name', $body, 'X-Request-Id' => 'out-tls');
is($r->{status}, 502, 'a certificate for another name: 502 (TLS verification is on)');
is(out_line('out-tls')->{o}, 'error', 'delivery error');
is(scalar @{ deliveries('acme') }, $before, 'and nothing was delivered');

# a chunked body from Odoo is signed and sent as it arrived

my $chunked = '{"order":"SO43","lines":[' . join(',', ('[1,2,3]') x 40) . ']}';
$r = http("POST /events/acme/order.confirmed HTTP/1.1\r\nHost: odoo\r\n"
    . "Connection: close\r\nContent-Type: application/json\r\n"
    . "Idempotency-Key: evt-chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) }
                   unpack('(A100)*', $chunked))
    . "0\r\n\r\n", port => $p);
is(parse_response($r)->{status}, 200, 'a chunked event: delivered');
$dl = deliveries('acme')->[-1];
is($dl->{body}, $chunked, 'the partner got the whole body');
ok($dl->{verified} && $dl->{headers}{'webhook-id'} eq 'evt-chunked',
   'signed over it') or diag $dl->{reason};

# ed25519 and GitHub

$r = event('/events/edge/order.confirmed', $body, 'Idempotency-Key' => 'evt-edge-1');
is($r->{status}, 200, 'v1a: delivered');
$dl = deliveries('edge')->[-1];
ok($dl->{verified}, 'v1a (ed25519) verified by Node crypto') or diag $dl->{reason};
like($dl->{headers}{'webhook-signature'}, qr/^v1a,/, 'a v1a signature');

$r = event('/events/gh/picking.done', $body);
is($r->{status}, 200, 'github: delivered');
$dl = deliveries('gh')->[-1];
ok($dl->{verified}, 'X-Hub-Signature-256 verified by Node crypto') or diag $dl->{reason};
is($dl->{path}, '/hooks', 'at the URL of the policy');

# no subscription: refused before any connection

partner_reset();
my $n = 0;
for my $path ('/events/acme/order.cancelled', '/events/nobody/order.confirmed',
              '/events/inbound/picking.done', '/events/gh/order.confirmed',
              '/events/acme/', '/events/order.confirmed',
              '/events/acme/order.confirmed/x')
{
    $n++;
    $r = event($path, $body, 'X-Request-Id' => "none-$n");
    is_problem($r, 404, 'no-subscription', "$path: 404 no-subscription");
    my $l = out_line("none-$n");
    is($l->{a}, '-', "$path: no upstream connection");
}
is(scalar(@{ deliveries('acme') }) + scalar(@{ deliveries('gh') }), 0,
   'no partner got anything');

# nothing in the request picks the target

$r = http(Lg::Test::build_request('POST',
    'http://evil.example/events/acme/order.confirmed?url=https://evil.example/x',
    body => $body,
    headers => [ 'Host' => 'evil.example', 'X-Forwarded-Host' => 'evil.example',
                 'Content-Type' => 'application/json' ]), port => $p);
is(parse_response($r)->{status}, 200, 'an absolute URI and a foreign Host: delivered');
$dl = deliveries('acme')->[-1];
is($dl->{path}, '/odoo/orders', 'to the policy\'s URL, without Odoo\'s query');
is($dl->{headers}{host}, 'hooks.acme.test', 'with the policy\'s host');

# refusals

$r = http_req('GET', '/events/acme/order.confirmed', port => $p);
is_problem($r, 405, 'method-not-allowed', 'GET: 405');
like(hdr($r, 'allow') // '', qr/POST/, 'Allow: POST');
$r = event('/events/acme/order.confirmed', $body, 'Idempotency-Key' => 'two.parts');
is_problem($r, 400, 'idempotency-key', 'a key Standard Webhooks cannot sign as an id: 400');
$before = scalar @{ deliveries('acme') };
$r = event('/events/acme/order.confirmed', '{"x":"' . ('y' x 5000) . '"}');
is_problem($r, 413, 'body-too-large', 'over validation.max_body_size: 413');
is(scalar @{ deliveries('acme') }, $before, 'nothing delivered');

$t->done_testing();
