#!/usr/bin/perl

# Inbound webhooks (routes with "auth": ["webhook"]) signed by independent
# senders: the npm package standardwebhooks (Standard Webhooks v1) and
# Node's crypto (v1a ed25519, Stripe, GitHub) through t/oauth/webhook.js,
# and Perl's Digest::SHA for a carrier's own HMAC scheme.  Accepted
# deliveries reach Odoo with X-Logistics-Partner, X-Logistics-Auth:
# webhook and X-Logistics-Webhook-Id and without the signature headers;
# tampered bodies, wrong secrets, old and future timestamps, reordered
# and truncated signature lists, another partner's secret, duplicate
# headers, oversized bodies are refused; rotation with two secrets.
# Exactly once, in the zone and in Redis: a redelivery after Odoo
# answered gets the stored answer (Odoo sees it once), concurrent
# deliveries of one id reach Odoo once (409 + Retry-After for the
# others), the same id with another body is refused, a replay after the
# tolerance window is refused, and ids are kept twice the window.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(hmac_sha512);
use Time::HiRes qw(sleep time);

my $repo = Lg::Test::repo();

plan skip_all => 'node and t/oauth packages needed (make oauth-deps)'
    unless -d "$repo/t/oauth/node_modules/standardwebhooks"
        && system('node --version >/dev/null 2>&1') == 0;

my $t = Lg::Test->new();
my $d = $t->testdir();

sub random_secret {
    my $raw = join '', map { chr int rand 256 } 1 .. 32;
    return 'whsec_' . encode_base64($raw, '');
}

# secrets the senders hold; the policy names the files, never the values

my %secret = (
    'acme-old'  => random_secret(),
    'acme-new'  => random_secret(),
    'intruder'  => random_secret(),
    quick       => random_secret(),
    frozen      => random_secret(),
    tight       => random_secret(),
    stripe      => 'sk_stripe_test_' . join('', map { ('a' .. 'z')[rand 26] } 1 .. 24),
    github      => 'github shared secret ' . int(rand 1e9),
    ff          => 'fastfreight-carrier-secret-' . int(rand 1e9),
);

$t->write_file("secrets/$_.key", "$secret{$_}\n") for keys %secret;

system('node', "$repo/t/oauth/webhook.js", 'keypair', '--secret-path',
       "$d/secrets/edge.whsk", '--public-file', "$d/secrets/edge.whpk") == 0
    or die "keypair failed\n";

$t->write_file('schemas/tracking.json', JSON::PP->new->canonical->encode({
    type => 'object', required => ['shipment'],
    properties => { shipment => { type => 'string' },
                    status => { type => 'string' } },
}));

my $policy = {
    idempotency => { ttl => '1h', lock_ttl => '10s' },
    scopes => { 'tracking:write' => '' },
    partners => {
        acme => { scopes => ['tracking:write'],
                  webhook => { secret_files => ['secrets/acme-old.key',
                                                'secrets/acme-new.key'] } },
        edge => { scopes => ['tracking:write'],
                  webhook => { secret_files => ['secrets/edge.whpk'] } },
        'stripe-co' => { scopes => ['tracking:write'],
                         webhook => { scheme => 'stripe',
                                      secret_files => ['secrets/stripe.key'] } },
        gh => { scopes => ['tracking:write'],
                webhook => { scheme => 'github',
                             secret_files => ['secrets/github.key'] } },
        ff => { scopes => ['tracking:write'],
                webhook => { scheme => 'hmac',
                             signature_header => 'X-FF-Signature',
                             timestamp_header => 'X-FF-Timestamp',
                             prefix => 'sha512=', digest => 'sha512',
                             encoding => 'base64',
                             payload => '{timestamp}.{body}',
                             tolerance => '2m',
                             secret_files => ['secrets/ff.key'] } },
        quick => { scopes => ['tracking:write'],
                   webhook => { tolerance => '2s',
                                secret_files => ['secrets/quick.key'] } },
        frozen => { scopes => ['tracking:write'], suspended => JSON::PP::true,
                    webhook => { secret_files => ['secrets/frozen.key'] } },
        tight => { scopes => ['tracking:write'],
                   rate_limit => { rate => '1/h', burst => 1 },
                   webhook => { secret_files => ['secrets/tight.key'] } },
        keyonly => { scopes => ['tracking:write'],
                     api_keys => [{ id => 'k',
                                    sha256 => key_sha256('wh-keyonly') }] },
    },
    apis => { events => {
        # the stub's control headers pass the gateway's allow-list
        forward_headers => ['X-Stub-Status', 'X-Stub-Delay-Ms'],
        versions => { v1 => { upstream_prefix => '/odoo' } },
        routes => [
            { id => 'tracking', method => 'POST',
              path => '/webhooks/{partner}/tracking',
              scopes => ['tracking:write'], auth => ['webhook'],
              schema => 'schemas/tracking.json', max_body_size => '1k' },
            { id => 'raw', method => 'POST', path => '/webhooks/{partner}/raw',
              scopes => [], auth => ['webhook'] },
        ] } },
};

$t->write_file('policy.json', JSON::PP->new->canonical->encode($policy));

sub gateway {
    my ($t, $extra, $no_stub) = @_;
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone z:4m;\n$extra\n"
            . "    log_format wh '\$logistics_request_id \$logistics_decision "
            . "\$logistics_partner \$logistics_webhook_id "
            . "\$logistics_idempotency';",
        server_extra => '        access_log %%TESTDIR%%/wh.log wh;'),
        workers => 2);
    $t->run_stub() unless $t->{stub_pid} || $no_stub;
    $t->run();
    return $t->port(0);
}

# the header lines an independent sender sends for a body

my $nbody = 0;

sub sign {
    my ($scheme, $files, $body, %opt) = @_;
    my $f = $t->write_file('body-' . ++$nbody, $body);
    my @cmd = ('node', "$repo/t/oauth/webhook.js", 'sign', $scheme,
               (map { ('--secret-file', "$d/secrets/$_") } @$files),
               (defined $opt{id} ? ('--id', $opt{id}) : ()),
               (defined $opt{ts} ? ('--timestamp', $opt{ts}) : ()), $f);
    open my $fh, '-|', @cmd or die "node: $!";
    my @h;
    while (my $l = <$fh>) {
        chomp $l;
        push @h, split /: /, $l, 2 if length $l;
    }
    close $fh;
    die "sign failed: @cmd\n" unless @h;
    return \@h;
}

sub post {
    my ($p, $partner, $body, $hdrs, %opt) = @_;
    my $route = $opt{route} // 'tracking';
    return http_req('POST', "/v1/webhooks/$partner/$route", port => $p,
        body => $body,
        headers => [ 'Content-Type' => 'application/json', @$hdrs,
                     @{ $opt{extra} // [] } ]);
}

sub hget {
    my ($h, $name) = @_;
    for (my $i = 0; $i < @$h; $i += 2) {
        return $h->[$i + 1] if lc $h->[$i] eq lc $name;
    }
    return undef;
}

sub hset {
    my ($h, $name, $value) = @_;
    my @c = @$h;
    for (my $i = 0; $i < @c; $i += 2) {
        $c[$i + 1] = $value if lc $c[$i] eq lc $name;
    }
    return \@c;
}

sub line_of {
    my ($t, $rid) = @_;
    my $l = $t->wait_log_line('wh.log', qr/^\Q$rid\E /) // '';
    my @f = split / /, $l;
    return { decision => $f[1] // '', partner => $f[2] // '',
             id => $f[3] // '', idem => $f[4] // '' };
}

my $uid = 0;
sub body_of { return '{"shipment":"SO' . ++$uid . '-' . int(rand 1e9) . '","status":"delivered"}' }


# exactly once: the same checks in the zone and in Redis

sub once {
    my ($t, $p, $name) = @_;

    $t->stub_reset();
    my $body = body_of();
    my $h = sign('standard', ['acme-new.key'], $body);
    my $id = hget($h, 'webhook-id');

    my $first = post($p, 'acme', $body, [@$h, 'X-Request-Id' => "$name-first"]);
    is($first->{status}, 201, "$name: a delivery signed by standardwebhooks reaches Odoo");
    my $l = line_of($t, "$name-first");
    is($l->{idem}, 'new', "$name: its id is claimed");
    is($l->{id}, $id, "$name: \$logistics_webhook_id is the webhook-id");

    my $again = post($p, 'acme', $body, [@$h, 'X-Request-Id' => "$name-again"]);
    is($again->{status}, 201, "$name: a redelivery gets Odoo's status");
    is($again->{body}, $first->{body}, "$name: and Odoo's body, byte for byte");
    is(hdr($again, 'idempotent-replayed'), 'true', "$name: marked as replayed");
    is(line_of($t, "$name-again")->{decision}, 'replayed', "$name: decision replayed");
    is($t->stub_count(), 1, "$name: Odoo saw the event once");

    # the sender signs the same event again (a new timestamp): still once
    my $h2 = sign('standard', ['acme-old.key'], $body, id => $id,
                  ts => int(time()) - 30);
    my $r = post($p, 'acme', $body, $h2);
    is(hdr($r, 'idempotent-replayed'), 'true',
       "$name: re-signed with the other secret, a minute later: replayed");
    is($t->stub_count(), 1, "$name: Odoo still saw it once");

    # the same id for another body
    my $h3 = sign('standard', ['acme-new.key'], body_of(), id => $id);
    $r = post($p, 'acme', body_of(), $h3);
    is($r->{status}, 401, "$name: a signature over another body does not verify");
    my $other = body_of();
    $h3 = sign('standard', ['acme-new.key'], $other, id => $id);
    $r = post($p, 'acme', $other, $h3);
    is_problem($r, 422, 'idempotency-key-reused',
               "$name: the same id with another body: 422");
    is($t->stub_count(), 1, "$name: which never reaches Odoo");

    # concurrent deliveries of one id: Odoo sees one

    $t->stub_reset();
    $body = body_of();
    $h = sign('standard', ['acme-new.key'], $body);
    my @socks = grep { defined } map { Lg::Test::connect_to($p) } 1 .. 10;
    for my $c (@socks) {
        Lg::Test::write_all($c, Lg::Test::build_request('POST',
            '/v1/webhooks/acme/tracking', body => $body,
            headers => [ 'Content-Type' => 'application/json', @$h,
                         'X-Stub-Delay-Ms' => 600 ]));
    }
    my (%st, $retry);
    for my $c (@socks) {
        my $res = Lg::Test::read_response($c);
        $st{$res ? $res->{status} : 0}++;
        $retry //= hdr($res, 'retry-after') if $res && $res->{status} == 409;
        close $c;
    }
    is(scalar @socks, 10, "$name: 10 concurrent deliveries");
    is($t->stub_count(), 1, "$name: Odoo saw one of them");
    is($st{201}, 1, "$name: one got Odoo's answer");
    is($st{409}, 9, "$name: the others 409 while it was in flight");
    ok(defined $retry && $retry >= 1, "$name: with Retry-After");
    $r = post($p, 'acme', $body, $h);
    is(hdr($r, 'idempotent-replayed'), 'true', "$name: then it is replayed");

    # a 5xx from Odoo lets the sender's retry through

    $t->stub_reset();
    $body = body_of();
    $h = sign('standard', ['acme-new.key'], $body);
    $r = post($p, 'acme', $body, $h, extra => ['X-Stub-Status' => 503]);
    is($r->{status}, 503, "$name: Odoo fails");
    $r = post($p, 'acme', $body, $h);
    is($r->{status}, 201, "$name: the redelivery reaches Odoo");
    is($t->stub_count(), 2, "$name: twice, as it should");

    # a replay within the window is answered from the record; after the
    # window, the timestamp refuses it

    $t->stub_reset();
    $body = body_of();
    $h = sign('standard', ['quick.key'], $body);
    is(post($p, 'quick', $body, $h)->{status}, 201,
       "$name: 2s tolerance: delivered");
    $r = post($p, 'quick', $body, $h);
    is(hdr($r, 'idempotent-replayed'), 'true', "$name: replay within the window");
    sleep 3.2;
    $r = post($p, 'quick', $body, [@$h, 'X-Request-Id' => "$name-late"]);
    is_problem($r, 401, 'webhook-timestamp', "$name: replay after the window");
    is(line_of($t, "$name-late")->{decision}, 'webhook-timestamp-too-old',
       "$name: decision webhook-timestamp-too-old");
    is($t->stub_count(), 1, "$name: Odoo saw it once");

    return $id;
}


###############################################################################

my $p = gateway($t, '');

# accepted, and what Odoo sees

my $body = body_of();
my $h = sign('standard', ['acme-new.key'], $body);
my $r = post($p, 'acme', $body, [@$h, 'X-Logistics-Partner' => 'edge',
                                 'X-Request-Id' => 'accepted-1']);
is($r->{status}, 201, 'standard v1 by npm standardwebhooks: accepted');
my $e = echo_of($r);
my $eh = $e->{headers} // {};
is($eh->{'x-logistics-partner'}, 'acme', 'Odoo: X-Logistics-Partner is the verified partner');
is($eh->{'x-logistics-auth'}, 'webhook', 'Odoo: X-Logistics-Auth: webhook');
is($eh->{'x-logistics-webhook-id'}, hget($h, 'webhook-id'), 'Odoo: X-Logistics-Webhook-Id');
ok(!exists $eh->{'webhook-signature'} && !exists $eh->{'webhook-id'}
   && !exists $eh->{'webhook-timestamp'}, 'Odoo: no signature headers');
is($e->{body}, $body, 'Odoo: the body byte for byte');
is($e->{uri}, '/odoo/webhooks/acme/tracking', 'Odoo: the route\'s upstream path');
my $all = $r->{body};
ok(index($all, $secret{'acme-new'}) < 0 && index($all, 'whsec_') < 0,
   'Odoo: never the secret');
is(line_of($t, 'accepted-1')->{partner}, 'acme', '$logistics_partner acme');

# refused

$r = post($p, 'acme', $body =~ s/delivered/returned/r, $h);
is_problem($r, 401, 'invalid-signature', 'tampered body: 401 invalid-signature');
like(hdr($r, 'www-authenticate') // '', qr/^Webhook realm="logistics"/,
     '401 carries a WWW-Authenticate challenge');
unlike($r->{body}, qr/v1,|whsec|expected/, 'the answer says nothing of the expected value');

$body = body_of();
$h = sign('standard', ['intruder.key'], $body);
$r = post($p, 'acme', $body, [@$h, 'X-Request-Id' => 'wrong-secret']);
is_problem($r, 401, 'invalid-signature', 'wrong secret: 401');
my $l = line_of($t, 'wrong-secret');
is($l->{decision}, 'webhook-signature-invalid', 'decision webhook-signature-invalid');
is($l->{partner}, '-', 'a refused webhook names no partner as the caller');
like($t->read_file('error.log'),
     qr/webhook for partner "acme" refused, webhook-signature-invalid: no signature matched/,
     'the reason is in the error log');

$body = body_of();
$h = sign('standard', ['acme-new.key'], $body, ts => int(time()) - 400);
$r = post($p, 'acme', $body, [@$h, 'X-Request-Id' => 'old']);
is_problem($r, 401, 'webhook-timestamp', 'timestamp 400s old: 401 webhook-timestamp');
is(line_of($t, 'old')->{decision}, 'webhook-timestamp-too-old', 'decision too old');

$h = sign('standard', ['acme-new.key'], $body, ts => int(time()) + 400);
$r = post($p, 'acme', $body, [@$h, 'X-Request-Id' => 'future']);
is_problem($r, 401, 'webhook-timestamp', 'timestamp 400s ahead: 401 webhook-timestamp');
is(line_of($t, 'future')->{decision}, 'webhook-timestamp-in-future', 'decision in future');

$h = sign('standard', ['acme-new.key'], $body, ts => int(time()) - 240);
is(post($p, 'acme', $body, $h)->{status}, 201, 'timestamp 4 minutes old: accepted');

# signature lists: order does not matter, truncation does

$body = body_of();
$h = sign('standard', ['intruder.key', 'acme-old.key'], $body);
my ($bad, $good) = split / /, hget($h, 'webhook-signature');
is(post($p, 'acme', $body, $h)->{status}, 201,
   'a list with a foreign signature first: accepted');

$body = body_of();
$h = sign('standard', ['acme-old.key', 'intruder.key'], $body);
my @sigs = split / /, hget($h, 'webhook-signature');
is(post($p, 'acme', $body, hset($h, 'webhook-signature', join ' ', reverse @sigs))->{status},
   201, 'the same list reordered: accepted');

$body = body_of();
$h = sign('standard', ['acme-old.key'], $body);
my $sig = hget($h, 'webhook-signature');
$r = post($p, 'acme', $body, [@{ hset($h, 'webhook-signature', substr($sig, 0, -4)) },
                              'X-Request-Id' => 'truncated']);
is_problem($r, 401, 'invalid-signature', 'a truncated signature: 401');
is(line_of($t, 'truncated')->{decision}, 'webhook-signature-malformed',
   'decision webhook-signature-malformed');
$r = post($p, 'acme', $body, hset($h, 'webhook-signature', "$bad"));
is($r->{status}, 401, 'the list cut down to the foreign entry: 401');
$r = post($p, 'acme', $body, hset($h, 'webhook-signature', ''));
is($r->{status}, 401, 'an empty list: 401');
$r = post($p, 'acme', $body, [@$h, 'webhook-signature' => $sig, 'X-Request-Id' => 'dup']);
is($r->{status}, 401, 'the signature header twice: 401');
is(line_of($t, 'dup')->{decision}, 'webhook-header-duplicate', 'decision webhook-header-duplicate');
$r = post($p, 'acme', $body, [ 'webhook-id' => hget($h, 'webhook-id'),
                               'webhook-timestamp' => hget($h, 'webhook-timestamp') ]);
is_problem($r, 401, 'invalid-signature', 'no signature at all: 401');

# rotation: each of two secrets verifies; both signatures together too

for my $k ('acme-old.key', 'acme-new.key') {
    $body = body_of();
    is(post($p, 'acme', $body, sign('standard', [$k], $body))->{status}, 201,
       "rotation: signed with $k: accepted");
}
$body = body_of();
is(post($p, 'acme', $body, sign('standard', ['acme-new.key', 'acme-old.key'], $body))->{status},
   201, 'rotation: signed with both: accepted');

# a partner cannot use another partner's secret, whatever the URL says

$body = body_of();
$h = sign('standard', ['acme-new.key'], $body);
$r = post($p, 'quick', $body, $h);
is_problem($r, 401, 'invalid-signature', "acme's signature on quick's URL: 401");
$r = post($p, 'keyonly', $body, [@$h, 'X-Request-Id' => 'nowebhook']);
is_problem($r, 401, 'invalid-signature', 'a partner without a webhook: 401');
is(line_of($t, 'nowebhook')->{decision}, 'webhook-partner-unknown',
   'decision webhook-partner-unknown');
$r = post($p, 'nobody', $body, $h);
is($r->{status}, 401, 'an unknown partner: 401');
$r = post($p, 'acme', $body, [@$h, 'X-API-Key' => 'wh-keyonly']);
is($r->{status}, 201, 'an API key beside the signature changes nothing');
is(echo_of($r)->{headers}{'x-api-key'}, undef, 'and does not reach Odoo');

# ed25519 (v1a)

$body = body_of();
$h = sign('v1a', ['edge.whsk'], $body);
like(hget($h, 'webhook-signature'), qr/^v1a,/, 'v1a signature by Node crypto');
$r = post($p, 'edge', $body, $h);
is($r->{status}, 201, 'ed25519 v1a: accepted');
is(echo_of($r)->{headers}{'x-logistics-partner'}, 'edge', 'as partner edge');
$r = post($p, 'edge', $body =~ s/SO/XX/r, $h);
is($r->{status}, 401, 'ed25519 v1a, tampered body: 401');

# Stripe, GitHub, a carrier's HMAC

$body = body_of();
$h = sign('stripe', ['stripe.key'], $body);
is(post($p, 'stripe-co', $body, $h)->{status}, 201, 'Stripe-Signature by Node crypto: accepted');
is(post($p, 'stripe-co', $body =~ s/SO/S0/r, $h)->{status}, 401, 'Stripe, tampered: 401');

$t->stub_reset();
$body = body_of();
$h = sign('github', ['github.key'], $body, id => 'delivery-1');
$r = post($p, 'gh', $body, $h);
is($r->{status}, 201, 'X-Hub-Signature-256 by Node crypto: accepted');
is(echo_of($r)->{headers}{'x-logistics-webhook-id'}, 'delivery-1',
   'GitHub: X-Logistics-Webhook-Id is the delivery id');
$r = post($p, 'gh', $body, hset($h, 'X-GitHub-Delivery', 'delivery-2'));
is(hdr($r, 'idempotent-replayed'), 'true',
   'GitHub: the delivery id is not signed, the body is the key: replayed');
is($t->stub_count(), 1, 'GitHub: Odoo saw it once');

$body = body_of();
my $ts = int(time());
my $ffsig = 'sha512=' . encode_base64(hmac_sha512("$ts.$body", $secret{ff}), '');
$r = post($p, 'ff', $body, [ 'X-FF-Signature' => $ffsig, 'X-FF-Timestamp' => $ts ]);
is($r->{status}, 201, "a carrier's HMAC-SHA512 (Perl Digest::SHA): accepted");
ok(!exists echo_of($r)->{headers}{'x-ff-signature'}
   && !exists echo_of($r)->{headers}{'x-ff-timestamp'},
   "the carrier's signature headers do not reach Odoo");
$r = post($p, 'ff', $body, [ 'X-FF-Signature' => $ffsig, 'X-FF-Timestamp' => $ts + 1 ]);
is($r->{status}, 401, 'the carrier HMAC with another timestamp: 401');

# the body: size first, the contract after the signature

my $big = '{"shipment":"' . ('x' x 1100) . '"}';
$h = sign('standard', ['acme-new.key'], $big);
$r = post($p, 'acme', $big, [@$h, 'X-Request-Id' => 'big']);
is_problem($r, 413, 'body-too-large', 'over max_body_size: 413');
is(line_of($t, 'big')->{decision}, 'body-too-large', 'before the signature is checked');

my $raw = Lg::Test::http(
    "POST /v1/webhooks/acme/tracking HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    . join('', map { "$_: " . hget($h, $_) . "\r\n" } qw(webhook-id webhook-timestamp webhook-signature))
    . "\r\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $big, $big), port => $p);
is(parse_response($raw)->{status}, 413, 'a chunked body over max_body_size: 413')
    or diag $raw;

$body = '{"status":"delivered"}';
$h = sign('standard', ['acme-new.key'], $body);
$r = post($p, 'acme', $body, $h);
is_problem($r, 422, 'invalid-body', 'a signed body that breaks the schema: 422');
$r = post($p, 'acme', $body, sign('standard', ['intruder.key'], $body));
is_problem($r, 401, 'invalid-signature', 'a forged body that breaks the schema: 401 first');
$body = 'not json at all';
$r = post($p, 'acme', $body, sign('standard', ['acme-new.key'], $body), route => 'raw');
is($r->{status}, 201, 'a route without a schema takes any signed body');

# suspended, and limits that forgeries cannot use up

$body = body_of();
$r = post($p, 'frozen', $body, [@{ sign('standard', ['frozen.key'], $body) },
                                'X-Request-Id' => 'frozen']);
is_problem($r, 401, 'unauthorized', 'a suspended partner: 401');
is(line_of($t, 'frozen')->{decision}, 'suspended-partner', 'decision suspended-partner');

for (1 .. 5) {
    $body = body_of();
    post($p, 'tight', $body, sign('standard', ['intruder.key'], $body));
}
$body = body_of();
is(post($p, 'tight', $body, sign('standard', ['tight.key'], $body))->{status}, 201,
   'five forgeries in tight\'s name did not use up its limit');
$body = body_of();
is(post($p, 'tight', $body, sign('standard', ['tight.key'], $body))->{status}, 201,
   'its burst takes a second delivery');
$body = body_of();
is(post($p, 'tight', $body, sign('standard', ['tight.key'], $body))->{status}, 429,
   'and its limit applies to the third');

once($t, $p, 'zone');

$t->finish();


# Redis: exactly once across two gateways, ids kept twice the window

SKIP: {
    skip 'redis-server not installed', 1
        unless system('command -v redis-server >/dev/null 2>&1') == 0;

    my $t1 = Lg::Test->new();
    $t1->write_file("secrets/$_.key", "$secret{$_}\n") for keys %secret;
    $t1->write_file('secrets/edge.whpk', $t->read_file("$d/secrets/edge.whpk"));
    $t1->write_file('schemas/tracking.json', $t->read_file("$d/schemas/tracking.json"));
    $t1->write_file('policy.json', JSON::PP->new->canonical->encode($policy));
    $d = $t1->testdir();
    my $rport = $t1->run_redis();
    my $timeout = $ENV{LG_VALGRIND} ? '2s' : '200ms';
    my $redis = "    logistics_redis 127.0.0.1:$rport timeout=$timeout;";
    my $p1 = gateway($t1, $redis);
    sleep 0.5;
    $t = $t1;
    my $id = once($t1, $p1, 'redis');

    my $ttl = $t1->redis_cli('PTTL', "lg:{acme}:wh:$id");
    ok($ttl > 3500 * 1000 && $ttl <= 3600 * 1000,
       "redis: lg:{acme}:wh:<id> kept for the idempotency ttl ($ttl ms)");
    my @keys = grep { /:wh:/ } split /\n/, $t1->redis_cli('KEYS', 'lg:{quick}:*');
    ok(@keys, 'redis: the quick partner\'s id is there');

    my $t2 = Lg::Test->new();
    $t2->write_file("secrets/$_.key", "$secret{$_}\n") for keys %secret;
    $t2->write_file('secrets/edge.whpk', $t1->read_file("$d/secrets/edge.whpk"));
    $t2->write_file('schemas/tracking.json', $t1->read_file("$d/schemas/tracking.json"));
    $t2->write_file('policy.json', JSON::PP->new->canonical->encode($policy));
    $t2->{stub_port} = $t1->stub_port();
    my $p2 = gateway($t2, $redis, 'no stub: the first one\'s');
    sleep 0.5;

    $t1->stub_reset();
    $body = body_of();
    $h = sign('standard', ['acme-new.key'], $body);
    my $a = post($p1, 'acme', $body, $h);
    my $b = post($p2, 'acme', $body, $h);
    is($a->{status}, 201, 'redis: gateway 1 delivers');
    is(hdr($b, 'idempotent-replayed'), 'true', 'redis: gateway 2 replays the redelivery');
    is($t1->stub_count(), 1, 'redis: Odoo saw it once');

    $t2->finish();
    $t1->finish();
}

# a policy whose tolerance is longer than the idempotency ttl keeps ids
# twice the tolerance

SKIP: {
    skip 'redis-server not installed', 1
        unless system('command -v redis-server >/dev/null 2>&1') == 0;

    my $t3 = Lg::Test->new();
    $t3->write_file('secrets/acme.key', "$secret{'acme-new'}\n");
    $t3->write_file('policy.json', JSON::PP->new->canonical->encode({
        idempotency => { ttl => '10s' },
        scopes => {},
        partners => { acme => { scopes => [],
            webhook => { tolerance => '10m', secret_files => ['secrets/acme.key'] } } },
        apis => { events => { versions => { v1 => { upstream_prefix => '' } },
            routes => [{ id => 'raw', method => 'POST',
                         path => '/webhooks/{partner}/raw', scopes => [],
                         auth => ['webhook'] }] } },
    }));
    $d = $t3->testdir();
    my $rport = $t3->run_redis();
    my $p3 = gateway($t3, "    logistics_redis 127.0.0.1:$rport;");
    sleep 0.5;
    $t = $t3;
    $body = body_of();
    $h = sign('standard', ['acme.key'], $body);
    is(post($p3, 'acme', $body, $h, route => 'raw')->{status}, 201,
       'tolerance 10m, ttl 10s: delivered');
    my $id = hget($h, 'webhook-id');
    my $ttl = $t3->redis_cli('PTTL', "lg:{acme}:wh:$id");
    ok($ttl > 1190 * 1000 && $ttl <= 1200 * 1000,
       "the id is kept twice the tolerance, 20 minutes ($ttl ms)");
    $t3->finish();
}

done_testing();
