#!/usr/bin/perl

# "logistics-policy webhook-sign | webhook-verify | webhook-keygen" against
# independent code: Node's crypto (Stripe, GitHub, ed25519 v1a) and the
# npm package standardwebhooks (v1), through t/oauth/webhook.js.  Both
# ways: what our CLI signs, they verify; what they sign, our CLI (the
# gateway's verifier) accepts, and refuses once anything is changed.

use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $repo = "$FindBin::Bin/..";
my $cli = $ENV{LG_CLI} || "$repo/build/logistics-policy";
my $node_js = "$repo/t/oauth/webhook.js";

plan skip_all => "$cli not built" unless -x $cli;

# a plain process: under ASan, check it for leaks too
$ENV{ASAN_OPTIONS} =~ s/detect_leaks=0/detect_leaks=1/
    if defined $ENV{ASAN_OPTIONS};

my $have_node = -d "$repo/t/oauth/node_modules/standardwebhooks"
    && system('node --version >/dev/null 2>&1') == 0;

my $d = tempdir('lg-webhook-cli-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub put {
    my ($name, $data) = @_;
    open my $fh, '>', "$d/$name" or die "$d/$name: $!";
    binmode $fh;
    print $fh $data;
    close $fh;
    return "$d/$name";
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub sh {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

sub cli { sh($cli, @_) }
sub js { sh('node', $node_js, @_) }

my $now = time();
my ($rc, $out);

# ---------------------------------------------------------- known answers

my $std_key = put('std.key', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
my $std_body = put('std.body', '{"test": 2432232314}');

($rc, $out) = cli('webhook-sign', '--scheme', 'standard', '--secret-file',
    $std_key, '--id', 'msg_p5jXN8AQM9LWM0D4loKWxJek', '--timestamp',
    '1614265330', $std_body);
is($rc, 0, 'standard: webhook-sign exits 0');
is($out, "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n"
    . "webhook-timestamp: 1614265330\n"
    . "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n",
    'standard: the specification\'s known answer, as header lines');

my $gh_key = put('gh.key', "It's a Secret to Everybody");
my $gh_body = put('gh.body', 'Hello, World!');

($rc, $out) = cli('webhook-sign', '--scheme', 'github', '--secret-file',
    $gh_key, '--id', '72d3162e-cc78-11e3-81ab-4c9367dc0958', $gh_body);
is($out, "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\n"
    . "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d"
    . "7586c22c46f4379c8b043e17\n", 'github: GitHub\'s documented answer');

($rc, $out) = cli('webhook-sign', '--scheme', 'github', '--secret-file',
    $gh_key, $gh_body);
like($out, qr/^X-GitHub-Delivery: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]/,
    'github: a random UUID delivery id when none is given');

($rc, $out) = cli('webhook-sign', '--secret-file', $std_key, $std_body);
like($out, qr/^webhook-id: msg_[A-Za-z0-9_-]{22}\nwebhook-timestamp: (\d+)\n/,
    'standard: a generated id and the current time');
my ($ts) = $out =~ /webhook-timestamp: (\d+)/;
ok(abs($ts - $now) < 60, 'standard: the timestamp is now');

SKIP: {
    skip 'npm ci --prefix t/oauth for the independent signers', 43
        unless $have_node;

    my $stripe_key = put('stripe.key',
        "whsec_test_secret_for_stripe_style_0123\n");

    # --------------------------------------- what they sign, we verify

    my ($jrc, $hdr) = js('sign', 'stripe', '--secret-file', $stripe_key,
        '--timestamp', '1614265330', $std_body);
    is($jrc, 0, 'node: signs Stripe-style');
    ($rc, $out) = cli('webhook-sign', '--scheme', 'stripe', '--secret-file',
        $stripe_key, '--timestamp', '1614265330', $std_body);
    is($out, $hdr, 'stripe: byte for byte what Node\'s crypto computes');

    my $h = put('js-std.h', (js('sign', 'standard', '--secret-file',
        $std_key, $std_body))[1]);
    like(slurp($h), qr/^webhook-signature: v1,/m,
        'standardwebhooks (npm) signed');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $h, $std_body);
    is($rc, 0, 'standard: the reference library\'s signature verifies');
    like($out, qr/^ok: id msg_\w+, replay key msg_\w+; verified with secret 1/,
        'standard: ok, the id is the replay key');

    my $tampered = put('tampered.body', '{"test": 2432232315}');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $h, $tampered);
    is($rc, 1, 'standard: tampered body refused');
    is($out, "refused (401 invalid-signature): webhook-signature-invalid: "
        . "no signature matched (1 v1 and 0 v1a against 1 HMAC and 0 "
        . "ed25519 keys; 0 malformed, 0 unchecked)\n",
        'standard: the reason, and nothing of the expected value');

    my $other_key = put('other.key',
        "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
    ($rc, $out) = cli('webhook-verify', '--secret-file', $other_key,
        '--headers', $h, $std_body);
    is($rc, 1, 'standard: wrong secret refused');

    # rotation: the sender signs with old and new, we hold either or both

    my $rot = put('js-rot.h', (js('sign', 'standard', '--secret-file',
        $other_key, '--secret-file', $std_key, $std_body))[1]);
    like(slurp($rot), qr/^webhook-signature: v1,\S+ v1,\S+$/m,
        'rotation: two signatures in one header');
    for my $keys ([$std_key], [$other_key], [$other_key, $std_key]) {
        ($rc, $out) = cli('webhook-verify',
            (map { ('--secret-file', $_) } @$keys), '--headers', $rot,
            $std_body);
        is($rc, 0, 'rotation: verifies with ' . scalar(@$keys)
            . ' secret(s)');
    }

    my ($sig) = slurp($rot) =~ /^webhook-signature: (.*)$/m;
    my ($s1, $s2) = split / /, $sig;
    my $base = slurp($rot) =~ s/^webhook-signature: .*\n//mr;
    my $reordered = put('reordered.h', "${base}webhook-signature: $s2 $s1\n");
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $reordered, $std_body);
    is($rc, 0, 'rotation: reordered list verifies');

    my $truncated = put('truncated.h', "${base}webhook-signature: $s1\n");
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $truncated, $std_body);
    is($rc, 1, 'truncated list: only the other key\'s signature, refused');
    my $cut = put('cut.h', "${base}webhook-signature: "
        . substr($s2, 0, 30) . "\n");
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $cut, $std_body);
    like($out,
        qr/^refused \(401 invalid-signature\): webhook-signature-malformed/,
        'truncated signature: malformed');

    # the window, both ways (--now moves our clock, not the sender's)

    my $old = put('js-old.h', (js('sign', 'standard', '--secret-file',
        $std_key, '--timestamp', $now - 301, $std_body))[1]);
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $old, '--now', $now, $std_body);
    like($out, qr/^refused\ \(401\ webhook-timestamp\):
                   \ webhook-timestamp-too-old:\ the\ timestamp\ is\ 301\ s/x,
        'standard: 301 s old refused as webhook-timestamp');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $old, '--now', $now - 1, $std_body);
    is($rc, 0, 'standard: 300 s old accepted');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $old, '--now', $now - 602, $std_body);
    like($out, qr/webhook-timestamp-in-future: the timestamp is 301 s ahead/,
        'standard: 301 s ahead refused');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $std_key,
        '--headers', $old, '--now', $now, '--tolerance', 400, $std_body);
    is($rc, 0, 'standard: --tolerance 400 accepts 301 s');

    # Stripe and GitHub by Node's crypto

    $h = put('js-stripe.h', (js('sign', 'stripe', '--secret-file',
        $stripe_key, $std_body))[1]);
    ($rc, $out) = cli('webhook-verify', '--scheme', 'stripe',
        '--secret-file', $stripe_key, '--headers', $h, $std_body);
    is($rc, 0, 'stripe: Node\'s signature verifies');
    like($out, qr/replay\ key\ sha256-ae858931f67887e8150d6f96c9fe03062c1d
                   f36b4464c4ddc8e002c084d5d198\ \(the\ id\ is\ not\ signed/x,
        'stripe: no id, so the body\'s digest is the replay key');
    ($rc, $out) = cli('webhook-verify', '--scheme', 'stripe',
        '--secret-file', $stripe_key, '--headers', $h, $tampered);
    is($rc, 1, 'stripe: tampered body refused');

    my $stripe_old = put('stripe-old.key',
        "whsec_previous_stripe_secret_0000\n");
    $h = put('js-stripe2.h', (js('sign', 'stripe', '--secret-file',
        $stripe_old, '--secret-file', $stripe_key, $std_body))[1]);
    like(slurp($h),
        qr/^Stripe-Signature: t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/m,
        'stripe: a rolled secret sends two v1');
    ($rc, $out) = cli('webhook-verify', '--scheme', 'stripe',
        '--secret-file', $stripe_key, '--headers', $h, $std_body);
    is($rc, 0, 'stripe: the second v1 verifies');

    $h = put('js-gh.h', (js('sign', 'github', '--secret-file', $gh_key,
        '--id', 'delivery-1', $gh_body))[1]);
    ($rc, $out) = cli('webhook-verify', '--scheme', 'github',
        '--secret-file', $gh_key, '--headers', $h, $gh_body);
    is($rc, 0, 'github: Node\'s signature verifies');
    like($out, qr/^ok: id delivery-1, replay key sha256-dffd6021bb2b/,
        'github: the delivery id is reported, the body digest is the key');
    ($rc, $out) = cli('webhook-verify', '--scheme', 'github',
        '--secret-file', $gh_key, '--headers', $h, $std_body);
    is($rc, 1, 'github: another body refused');
    my $no_id = put('gh-noid.h', slurp($h) =~ s/^X-GitHub-Delivery.*\n//mr);
    ($rc, $out) = cli('webhook-verify', '--scheme', 'github',
        '--secret-file', $gh_key, '--headers', $no_id, $gh_body);
    like($out, qr/webhook-id-missing: no X-GitHub-Delivery header/,
        'github: no delivery id refused');

    # ed25519 v1a: a key pair made by Node

    my ($sk, $pk) = ("$d/js.sk", "$d/js.pk");
    ($jrc) = js('keypair', '--secret-path', $sk, '--public-file', $pk);
    is($jrc, 0, 'node: an ed25519 pair');
    $h = put('js-v1a.h', (js('sign', 'v1a', '--secret-file', $sk,
        $std_body))[1]);
    ($rc, $out) = cli('webhook-verify', '--secret-file', $pk, '--headers',
        $h, $std_body);
    is($rc, 0, 'v1a: Node\'s ed25519 signature verifies with the whpk_');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $pk, '--headers',
        $h, $tampered);
    is($rc, 1, 'v1a: tampered body refused');
    ($rc, $out) = cli('webhook-verify', '--secret-file', $sk, '--headers',
        $h, $std_body);
    is($rc, 2, 'v1a: the whsk_ is refused on the verifying side');
    like($out, qr/whsk_ signing key stays with the sender/, '... and why');

    # ------------------------------------------ what we sign, they verify

    $h = put('cli-std.h', (cli('webhook-sign', '--secret-file', $std_key,
        $std_body))[1]);
    ($jrc, $out) = js('verify', 'standard', '--secret-file', $std_key,
        '--headers', $h, $std_body);
    is($out, "ok\n", 'standardwebhooks (npm) verifies our signature');

    $h = put('cli-rot.h', (cli('webhook-sign', '--secret-file', $other_key,
        '--secret-file', $std_key, $std_body))[1]);
    for my $key ($other_key, $std_key) {
        ($jrc, $out) = js('verify', 'standard', '--secret-file', $key,
            '--headers', $h, $std_body);
        is($out, "ok\n", 'standardwebhooks verifies our rotation header '
            . 'with either secret');
    }

    my $utf8 = put('utf8.body', "{\"city\":\"K\xc3\xb8benhavn\",\"n\":1}\n");
    $h = put('cli-utf8.h', (cli('webhook-sign', '--secret-file', $std_key,
        $utf8))[1]);
    ($jrc, $out) = js('verify', 'standard', '--secret-file', $std_key,
        '--headers', $h, $utf8);
    is($out, "ok\n", 'standardwebhooks: a UTF-8 body with a newline');

    $h = put('cli-stripe.h', (cli('webhook-sign', '--scheme', 'stripe',
        '--secret-file', $stripe_key, $std_body))[1]);
    ($jrc, $out) = js('verify', 'stripe', '--secret-file', $stripe_key,
        '--headers', $h, $std_body);
    is($out, "ok\n", 'Node verifies our Stripe-Signature');

    my $binary = put('binary.body', join('', map { chr } 0 .. 255) x 4);
    $h = put('cli-gh.h', (cli('webhook-sign', '--scheme', 'github',
        '--secret-file', $gh_key, $binary))[1]);
    ($jrc, $out) = js('verify', 'github', '--secret-file', $gh_key,
        '--headers', $h, $binary);
    is($out, "ok\n", 'Node verifies our X-Hub-Signature-256 over a binary '
        . 'body');

    my ($csk, $cpk) = ("$d/cli.sk", "$d/cli.pk");
    ($rc, $out) = cli('webhook-keygen', '--ed25519', '--secret-file', $csk,
        '--public-file', $cpk);
    is($rc, 0, 'keygen: an ed25519 pair');
    $h = put('cli-v1a.h', (cli('webhook-sign', '--secret-file', $csk,
        $binary))[1]);
    like(slurp($h), qr/^webhook-signature: v1a,\S{88}$/m, 'v1a: signed');
    ($jrc, $out) = js('verify', 'v1a', '--secret-file', $cpk, '--headers',
        $h, $binary);
    is($out, "ok\n", 'Node verifies our v1a with the keygen\'s whpk_');

    my $ksec = "$d/keygen.key";
    ($rc, $out) = cli('webhook-keygen', '--secret-file', $ksec);
    $h = put('cli-kg.h', (cli('webhook-sign', '--secret-file', $ksec,
        $std_body))[1]);
    ($jrc, $out) = js('verify', 'standard', '--secret-file', $ksec,
        '--headers', $h, $std_body);
    is($out, "ok\n", 'keygen: the whsec_ works with standardwebhooks');
}

# ----------------------------------------------- stored request, errors

my $req = put('request.h', "POST /v2/webhooks/tracking HTTP/1.1\r\n"
    . "Host: gateway.example.com\r\n"
    . "Content-Type: application/json\r\n"
    . "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\r\n"
    . "webhook-timestamp: 1614265330\r\n"
    . "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n"
    . "\r\n");
($rc, $out) = cli('webhook-verify', '--secret-file', $std_key, '--headers',
    $req, '--now', '1614265330', $std_body);
is($rc, 0, 'a stored request head (request line, CRLF) verifies');
($rc, $out) = cli('webhook-verify', '--secret-file', $std_key, '--headers',
    $req, $std_body);
like($out, qr/^refused \(401 webhook-timestamp\): webhook-timestamp-too-old/,
    'without --now the clock is now: too old');

my $dup = put('dup.h',
    slurp($req) =~ s/\r\n\r\n$/\r\nWebhook-Id: msg_2\r\n\r\n/r);
($rc, $out) = cli('webhook-verify', '--secret-file', $std_key, '--headers',
    $dup, '--now', '1614265330', $std_body);
like($out, qr/webhook-header-duplicate: more than one webhook-id header/,
    'a second webhook-id refused');

($rc, $out) = cli('webhook-verify', '--secret-file', put('empty.key', ''),
    '--headers', $req, $std_body);
is($rc, 2, 'an empty secret file: exit 2');
like($out, qr/empty\.key": is empty|empty\.key" is empty/,
    'an empty secret file: said so');

($rc, $out) = cli('webhook-verify', '--secret-file',
    put('huge.key', 'k' x 5000), '--headers', $req, $std_body);
like($out, qr/larger than 4096 bytes/, 'a huge secret file refused');

($rc, $out) = cli('webhook-verify', '--secret-file', put('short.key', 'abc'),
    '--scheme', 'github', '--headers', $req, $std_body);
like($out, qr/16 to 1024 bytes, not 3/, 'a 3-byte HMAC secret refused');

($rc, $out) = cli('webhook-sign', '--scheme', 'stripe', '--secret-file',
    $std_key, '--id', 'x', $std_body);
is($rc, 2, 'stripe: --id refused');
like($out, qr/stripe scheme sends no id/, '... because Stripe sends none');

($rc, $out) = cli('webhook-sign', '--secret-file', $std_key, '--timestamp',
    '-5', $std_body);
like($out, qr/--timestamp: unix seconds/, 'a negative --timestamp refused');

($rc, $out) = cli('webhook-verify', '--secret-file', $std_key, $std_body);
is($rc, 2, 'webhook-verify without --headers: exit 2');

($rc, $out) = cli('webhook-sign', '--secret-file', $std_key, '--bogus', 'x',
    $std_body);
like($out, qr/unknown option --bogus/, 'unknown option named');

($rc, $out) = cli('webhook-sign', '--scheme', 'hmac', '--secret-file',
    $gh_key, '--signature-header', 'X-Carrier-Signature', '--prefix',
    'sha256=', '--payload', '{timestamp}.{body}', $gh_body);
like($out, qr/needs "timestamp_header"/,
    'hmac: a signed timestamp needs its header');

($rc, $out) = cli('webhook-sign', '--scheme', 'hmac', '--secret-file',
    $gh_key, '--signature-header', 'X-Carrier-Signature', '--prefix',
    'sha256=', '--timestamp-header', 'X-Carrier-Timestamp', '--payload',
    '{timestamp}.{body}', '--digest', 'sha512', '--encoding', 'base64',
    '--timestamp', '1700000000', $gh_body);
is($rc, 0, 'hmac: a carrier\'s own scheme signs');
like($out, qr/^X-Carrier-Timestamp:\ 1700000000\n
               X-Carrier-Signature:\ sha256=\S{86}==\n$/x,
    'hmac: the timestamp and a base64 SHA-512 with the prefix');
my $hm = put('hmac.h', $out);
($rc, $out) = cli('webhook-verify', '--scheme', 'hmac', '--secret-file',
    $gh_key, '--signature-header', 'X-Carrier-Signature', '--prefix',
    'sha256=', '--timestamp-header', 'X-Carrier-Timestamp', '--payload',
    '{timestamp}.{body}', '--digest', 'sha512', '--encoding', 'base64',
    '--headers', $hm, '--now', '1700000010', $gh_body);
is($rc, 0, 'hmac: ... and verifies');

# keygen never overwrites, and keeps secrets to their owner

my $kf = "$d/fresh.key";
($rc, $out) = cli('webhook-keygen', '--secret-file', $kf);
is($rc, 0, 'keygen: writes a secret');
like(slurp($kf), qr/^whsec_[A-Za-z0-9+\/]{43}=\n$/,
    'keygen: whsec_ and 32 bytes of base64, one newline');
is((stat $kf)[2] & 0777, 0600, 'keygen: mode 0600');
my ($fresh) = slurp($kf) =~ /^(\S+)/;
ok(index($out, $fresh) < 0, 'keygen: the secret is not printed');
my $before = slurp($kf);
($rc, $out) = cli('webhook-keygen', '--secret-file', $kf);
is($rc, 1, 'keygen: an existing file is an error');
is(slurp($kf), $before, 'keygen: ... and left as it was');

done_testing();
