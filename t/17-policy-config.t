#!/usr/bin/perl

# Configuration time: nginx -t on bad policies and bad directives gives
# "[emerg] FILE: JSONPATH: reason in nginx.conf:LINE"; Odoo credential
# files are never a way to inject headers.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();
my $d = $t->testdir;
my $n = 0;
my $last_body;

my $SHA = 'db4334bdcfa97cf08c1bf4b68d6b5ee5fcf2b3c72b08df10a03c4095c35a5452';
my $APIS = '"apis": {"s": {"versions": {"v2": {"upstream_prefix": "/api/v2"}},'
    . ' "routes": [{"id": "s.get", "method": "GET", "path": "/s/{id}",'
    . ' "scopes": ["tracking:read"]}]}}';

sub partner {
    my ($id, %o) = @_;
    my $keys = $o{keys} // qq([{"id": "k1", "sha256": "$SHA"}]);
    my $extra = $o{extra} // '';
    return qq("$id": {"scopes": ["tracking:read"], "api_keys": $keys$extra});
}

sub policy {
    my (%o) = @_;
    my $partners = $o{partners} // partner('p');
    my $top = $o{top} // '';
    return qq({$top"scopes": {"tracking:read": "Read"},
 "partners": {$partners},
 $APIS}
);
}

# writes conf + policy, runs nginx -t; returns (rc, output)
sub check {
    my (%o) = @_;
    $n++;
    $t->write_file("p$n/policy.json", $o{policy}) if defined $o{policy};
    $t->write_file("p$n/$_", $o{files}{$_}) for keys %{ $o{files} // {} };
    my $body = $o{conf} // <<"EOF";
    logistics_policy $d/p$n/policy.json;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            logistics_gateway on;
            proxy_pass http://127.0.0.1:%%STUB_PORT%%;
        }
    }
EOF
    $last_body = $body;
    $t->write_config($body, name => "c$n.conf",
                     error_log => "$d/c$n-error.log");
    return $t->test_config(conf => "c$n.conf");
}

my ($rc, $out) = check(policy => policy());
is($rc, 0, 'nginx -t accepts a minimal valid policy') or diag($out);

# bad policies: FILE: JSONPATH: reason in nginx.conf:LINE

my @bad = (
    [ 'bad sha256', policy(partners => partner('p',
        keys => '[{"id": "k1", "sha256": "xyz"}]')),
      qr/\$\.partners\.p\.api_keys\[0\]\.sha256: / ],
    [ 'unknown top-level member', policy(top => '"partnerz": {}, '),
      qr/\$\.partnerz: / ],
    [ 'unknown partner member (typo)', policy(partners => partner('p',
        extra => ', "suspend": true')),
      qr/\$\.partners\.p\.suspend: / ],
    [ 'invalid expires date', policy(partners => partner('p',
        keys => qq([{"id": "k1", "sha256": "$SHA", "expires": "2026-13-45"}]))),
      qr/\$\.partners\.p\.api_keys\[0\]\.expires: / ],
    [ 'partner id needing brackets', policy(partners => partner('acme.x',
        keys => '[{"id": "k1", "sha256": "short"}]')),
      qr/\$\.partners\["acme\.x"\]/ ],
    [ 'missing odoo_credential_file', policy(partners => partner('p',
        extra => ', "odoo_credential_file": "secrets/none.key"')),
      qr/\$\.partners\.p\.odoo_credential_file: / ],
    [ 'not JSON at all', "partners: yes\n", qr/policy\.json: / ],
    [ 'empty file', '', qr/policy\.json: / ],
);

for my $c (@bad) {
    my ($what, $text, $re) = @$c;
    ($rc, $out) = check(policy => $text);
    isnt($rc, 0, "nginx -t rejects: $what");
    like($out, qr/\[emerg\] .*\Q$d\E\/p$n\/policy\.json: .*in \S+c$n\.conf:\d+/,
         "$what: [emerg] FILE: ... in nginx.conf:LINE");
    like($out, $re, "$what: names the JSON path");
}

# duplicate ids across included files
($rc, $out) = check(
    policy => policy(top => '"include": ["more/*.json"], '),
    files => { 'more/a.json' => '{"partners": {' . partner('p') . '}}' });
isnt($rc, 0, 'nginx -t rejects a partner defined in two files');
like($out, qr/\[emerg\].*\bp\b/, 'duplicate partner error names it');

($rc, $out) = check(policy => policy(top => '"include": ["more/*.json"], '),
                    files => { 'more/README' => "no policies here\n" });
is($rc, 0, 'include glob matching no file is fine (as nginx include)')
    or diag($out);

($rc, $out) = check(
    policy => policy(top => '"include": ["more/*.json"], '),
    files => { 'more/a.json' => '{"include": ["x.json"]}' });
isnt($rc, 0, 'nginx -t rejects include inside an included file');

# bad directives

($rc, $out) = check(conf => "    logistics_policy $d/nope.json;\n");
isnt($rc, 0, 'nginx -t rejects a missing policy file');
like($out, qr/\[emerg\].*nope\.json/, 'missing policy file named');

$t->write_file('ok/policy.json', policy());
my %directive = (
    'logistics_policy inside server{}' =>
        "    server { logistics_policy $d/ok/policy.json; }\n",
    'logistics_gateway with a bad value' =>
        "    logistics_policy $d/ok/policy.json;\n"
        . "    server { location / { logistics_gateway maybe; } }\n",
    'logistics_deny_log_level with a bad value' =>
        "    logistics_policy $d/ok/policy.json;\n"
        . "    server { logistics_deny_log_level debugging; }\n",
    'logistics_policy twice' =>
        "    logistics_policy $d/ok/policy.json;\n"
        . "    logistics_policy $d/ok/policy.json;\n",
);
for my $what (sort keys %directive) {
    ($rc, $out) = check(conf => $directive{$what});
    isnt($rc, 0, "nginx -t rejects $what");
    like($out, qr/\[emerg\]/, "$what: [emerg] printed");
}

# credential files: a trailing newline is no part of the secret, and a
# CR/LF inside may never become an extra upstream header

$t->run_stub();
my $p = $t->port(0);
my $KEYN = 'lg-test-acme-key-1';

for my $c (['trailing newline', "odoo-secret-nl\n"],
           ['trailing CRLF', "odoo-secret-nl\r\n"],
           ['inner CRLF', "odoo-secret-nl\r\nX-Evil: injected"])
{
    my ($what, $secret) = @$c;
    ($rc, $out) = check(
        policy => policy(partners => partner('p',
            extra => ', "odoo_credential_file": "odoo.key"')),
        files => { 'odoo.key' => $secret });

    if ($rc != 0) {
        like($out, qr/\[emerg\].*odoo/,
             "credential file with $what: rejected at config time");
        next;
    }

    $t->write_config($last_body);
    $t->run();
    my $r = http_get('/v2/s/1', port => $p, 'X-API-Key' => $KEYN);
    my $e = echo_of($r);
    is($e->{headers}{authorization}, 'bearer odoo-secret-nl',
       "credential file with $what: sent without CR/LF");
    ok(!exists $e->{headers}{'x-evil'},
       "credential file with $what: no header injected");
    $t->stop();
}

$t->done_testing();
