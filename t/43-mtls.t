#!/usr/bin/perl

# Partners identified by client certificates (nginx verifies the chain,
# the policy lists the fingerprint or the subject), and certificate-bound
# access tokens (RFC 8705 cnf.x5t#S256).  Certificates are made by the test
# with the openssl CLI; requests go through curl.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Digest::SHA qw(sha256);

plan skip_all => 'openssl and curl needed'
    unless system('command -v openssl >/dev/null && command -v curl >/dev/null') == 0;

my $OAUTH = "$FindBin::Bin/oauth";
my $t = Lg::Test->new();
my $d = $t->testdir();

sub run { my $c = shift; system("$c >/dev/null 2>&1") == 0 or die "failed: $c" }

run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    . " -keyout $d/ca.key -out $d/ca.crt -days 2 -subj /CN=test-ca");
run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    . " -keyout $d/server.key -out $d/server.crt -days 2 -subj /CN=localhost");
my %ext = (
    spiffe => 'URI:spiffe://logistics/3pl,DNS:wms.3pl.example',
    # the names a policy lists, but each with another type
    mixed => 'email:mixed@partner.example,DNS:mixed.partner.example',
    dnsname => 'DNS:Depot.Partner.Example',
);
for my $who (qw(acme edi stranger spiffe mixed dnsname)) {
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        . " -keyout $d/$who.key -out $d/$who.csr -subj /O=Test/CN=$who.partner");
    $t->write_file("$who.ext", 'subjectAltName='
        . ($ext{$who} // "DNS:$who.partner") . "\n");
    run("openssl x509 -req -in $d/$who.csr -CA $d/ca.crt -CAkey $d/ca.key"
        . " -CAcreateserial -out $d/$who.crt -days 2 -extfile $d/$who.ext");
}

sub der_sha256 {
    my $who = shift;
    my $der = `openssl x509 -in $d/$who.crt -outform DER`;
    return sha256($der);
}
my $fp = join ':', map { sprintf '%02X', $_ } unpack 'C*', der_sha256('acme');

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'tracking:read' => '' },
    issuers => { idp => { iss => 'https://idp.test', audiences => ['api'],
                          algorithms => ['ES256'], jwks_file => 'pub.jwks' } },
    partners => {
        acme => { scopes => ['tracking:read'], mtls => { sha256 => [$fp] },
                  jwt => { issuer => 'idp', client_id => 'acme' } },
        edi => { scopes => ['tracking:read'],
                 mtls => { subjects => ['CN=edi.partner,O=Test'] } },
        tpl => { scopes => ['tracking:read'],
                 mtls => { sans => ['uri:spiffe://logistics/3pl'] } },
        mix => { scopes => ['tracking:read'],
                 mtls => { sans => ['uri:mixed@partner.example',
                                    'email:mixed.partner.example'] } },
        depot => { scopes => ['tracking:read'],
                   mtls => { sans => ['dns:depot.partner.example'] } },
    },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [{ id => 'get', method => 'GET', path => '/shipments/{id}',
                     scopes => ['tracking:read'],
                     auth => ['mtls', 'bearer'] }] } },
}));

my $have_jose = -d "$OAUTH/node_modules/jose";
if ($have_jose) {
    run("node $OAUTH/mint.js genkeys --out $d/priv.jwks --public $d/pub.jwks");
} else {
    $t->write_file('pub.jwks', '{"keys":[{"kty":"EC","crv":"P-256","kid":"x",'
        . '"x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",'
        . '"y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}');
}

$t->write_config(<<'EOF');
    logistics_policy %%TESTDIR%%/policy.json;
    upstream odoo { server 127.0.0.1:%%STUB_PORT%%; }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate %%TESTDIR%%/server.crt;
        ssl_certificate_key %%TESTDIR%%/server.key;
        ssl_client_certificate %%TESTDIR%%/ca.crt;
        ssl_verify_client optional;
        location / {
            logistics_gateway on;
            proxy_pass http://odoo;
        }
    }
EOF
$t->run_stub();
$t->run();
my $p = $t->port(0);

sub curl {
    my ($who, @h) = @_;
    my $cert = $who ? "--cert $d/$who.crt --key $d/$who.key" : '';
    my $hdr = join ' ', map { "-H '$_'" } @h;
    my $out = `curl -sk $cert $hdr -w '\\n%{http_code}' https://127.0.0.1:$p/v2/shipments/1`;
    my ($body, $code) = $out =~ /\A(.*)\n(\d+)\z/s;
    return ($code // 0, $body // '');
}

my ($code, $body) = curl('acme');
is($code, 200, 'a registered certificate (by fingerprint) is a partner');
my $e = eval { json_decode($body)->{result}{echo} } // {};
is($e->{headers}{'x-logistics-partner'}, 'acme', 'upstream sees the partner');
is($e->{headers}{'x-logistics-auth'}, 'mtls', 'and how it authenticated');

($code, $body) = curl('edi');
is($code, 200, 'a certificate registered by its subject DN is a partner');

($code, $body) = curl('spiffe');
is($code, 200, 'a certificate registered by a subjectAltName URI is a partner');
$e = eval { json_decode($body)->{result}{echo} } // {};
is($e->{headers}{'x-logistics-partner'}, 'tpl', 'the partner of that SAN');

($code) = curl('stranger');
is($code, 401, 'a valid certificate that is not registered: 401');

# issue 12: a subjectAltName matches only with the type the policy says

($code) = curl('mixed');
is($code, 401, 'the names of a partner, each under another SAN type: 401');

($code, $body) = curl('dnsname');
is($code, 200, 'a dns: SAN matches without regard to case');
$e = eval { json_decode($body)->{result}{echo} } // {};
is($e->{headers}{'x-logistics-partner'}, 'depot', 'the partner of that SAN');

($code) = curl(undef);
is($code, 401, 'no certificate and no token: 401');

SKIP: {
    skip 'npm ci --prefix t/oauth for tokens', 4 unless $have_jose;

    my $x5t = encode_base64url(der_sha256('acme'));
    my $claims = encode_json({ iss => 'https://idp.test', aud => 'api',
                               exp => '+300', client_id => 'acme',
                               scope => 'tracking:read',
                               cnf => { 'x5t#S256' => $x5t } });
    my $tok = `node $OAUTH/mint.js --keys $d/priv.jwks --kid ec256-1 --alg ES256 --claims '$claims'`;
    chomp $tok;

    ($code) = curl('acme', "Authorization: Bearer $tok");
    is($code, 200, 'certificate-bound token with its certificate: 200');

    ($code, $body) = curl('edi', "Authorization: Bearer $tok");
    is($code, 401, 'the same token with another certificate: 401');
    like($body, qr/certificate binding does not match/, 'and says why');

    ($code) = curl(undef, "Authorization: Bearer $tok");
    is($code, 401, 'the same token without a certificate: 401');
}

$t->done_testing();
