#!/usr/bin/perl

# Configuration that would bypass the gateway is refused (issue 12):
# "nginx -t" fails for a gateway location under which the access phase
# can be skipped (satisfy any, internal, an error_page redirect into a
# location without the gateway); at run time a subrequest into a gateway
# location, or a rewrite that leaves one before its access phase, never
# reaches Odoo unchecked.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $t = Lg::Test->new();

sub conf_with {
    my ($gateway_extra, $server_extra) = @_;
    return $t->gateway_http_body(location_extra => $gateway_extra,
                                 server_extra => $server_extra // '');
}

my @refused = (
    [ 'satisfy any', "            satisfy any;\n            allow all;\n",
      '', qr/"satisfy any"/ ],
    [ 'satisfy any with auth_basic',
      "            satisfy any;\n            auth_basic x;\n"
      . "            auth_basic_user_file %%TESTDIR%%/htpasswd;\n",
      '', qr/"satisfy any"/ ],
    [ 'internal', "            internal;\n", '', qr/"internal"/ ],
    [ 'error_page into a named location without the gateway',
      "            error_page 502 = \@plain;\n",
      "        location \@plain { proxy_pass http://odoo; }\n",
      qr/error_page \.\.\. \@plain/ ],
    [ 'error_page into a prefix location without the gateway',
      "            error_page 404 /plain/fallback;\n", '',
      qr{error_page \.\.\. /plain/fallback} ],
    [ 'error_page into a regex location without the gateway',
      "            error_page 404 /v2/fallback.json;\n",
      "        location ~ \\.json\$ { proxy_pass http://odoo; }\n",
      qr{error_page \.\.\. /v2/fallback\.json} ],
    [ 'error_page into a static location with try_files',
      "            error_page 502 /down/x;\n",
      "        location /down/ { root %%TESTDIR%%; try_files \$uri \@plain; }\n"
      . "        location \@plain { proxy_pass http://odoo; }\n",
      qr{error_page \.\.\. /down/x} ],
    [ 'error_page with a variable target',
      "            error_page 404 /plain/\$uri;\n", '', qr/error_page/ ],
);

$t->write_file('htpasswd', "u:{PLAIN}p\n");

for my $c (@refused) {
    my ($what, $loc, $srv, $re) = @$c;
    $t->write_config(conf_with($loc, $srv));
    my ($rc, $out) = $t->test_config();
    isnt($rc, 0, "nginx -t fails: $what");
    like($out, qr/\[emerg\].*$re/, "$what: the message names it");
}

my @accepted = (
    [ 'satisfy all (the default)', "            satisfy all;\n", '' ],
    [ 'error_page to the client', "            error_page 404 https://example.com/;\n", '' ],
    [ 'error_page into a named gateway location',
      "            error_page 502 = \@gw;\n",
      "        location \@gw { logistics_gateway on; proxy_pass http://odoo; }\n" ],
    [ 'rewrite ... break', "            rewrite ^/x(/.*)\$ \$1 break;\n", '' ],
    [ 'error_page into a static page',
      "            error_page 502 504 /odoo-down.json;\n",
      "        location = /odoo-down.json { internal; root %%TESTDIR%%; }\n" ],
    [ 'error_page into a named location that returns',
      "            error_page 502 = \@down;\n",
      "        location \@down { return 503 '{\"odoo\":\"down\"}'; }\n" ],
);

for my $c (@accepted) {
    my ($what, $loc, $srv) = @$c;
    $t->write_config(conf_with($loc, $srv));
    my ($rc, $out) = $t->test_config();
    is($rc, 0, "nginx -t passes: $what") or diag($out);
}

# a Redis password file others can read: a warning, an error with the
# policy's strict_secret_files (issue 12)

$t->write_file('redis.pass', "s3cret\n");
chmod 0644, $t->testdir() . '/redis.pass';
for my $strict (0, 1) {
    $t->write_file('redis-policy.json', '{' . ($strict
        ? '"strict_secret_files": true, ' : '')
        . '"scopes": {"r": ""}, "partners": {"p": {"scopes": ["r"],'
        . ' "api_keys": []}}, "apis": {"a": {"versions": {"v2":'
        . ' {"upstream_prefix": ""}}, "routes": [{"id": "g",'
        . ' "method": "GET", "path": "/x", "scopes": ["r"]}]}}}');
    my $policy = '%%TESTDIR%%/redis-policy.json';
    $t->write_config($t->gateway_http_body(policy => $policy,
        http_extra => "    logistics_zone z:1m;\n"
            . "    logistics_redis 127.0.0.1:1"
            . " password_file=%%TESTDIR%%/redis.pass;"));
    my ($rc, $out) = $t->test_config();
    if ($strict) {
        isnt($rc, 0, 'strict_secret_files: a readable Redis password_file '
             . 'fails nginx -t');
        like($out, qr/\[emerg\].*password_file .*readable by group or others/,
             'strict_secret_files: the message says why');
    } else {
        is($rc, 0, 'a readable Redis password_file: nginx -t passes')
            or diag($out);
        like($out, qr/\[warn\].*password_file .*readable by group or others/,
             'and warns');
        unlike($out, qr/s3cret/, 'without quoting it');
    }
}

# at run time: a subrequest into a gateway location, a rewrite out of one

$t->write_config($t->gateway_http_body(server_extra => <<'EOF'));
        location /check/ {
            auth_request /v2/shipments/1;
            proxy_pass http://odoo/plain-after-check/;
        }

        location /v9/ {
            logistics_gateway on;
            rewrite ^/v9/(.*)$ /plain/$1 last;
            proxy_pass http://odoo;
        }
EOF
$t->run_stub();
$t->run();
$t->allow_errors('crit');

my $p = $t->port(0);
my $before = $t->stub_count();

my $r = http_get('/check/x', port => $p);
is($r->{status}, 403,
   'auth_request into a gateway location: the subrequest is refused');
$r = http_get('/v9/shipments/1', port => $p);
is_problem($r, 500, 'internal-error',
           'a rewrite out of a gateway location before it ran: refused');
is($t->stub_count(), $before, 'neither reached Odoo');
like($t->read_file('error.log'), qr/subrequest .* gateway location/,
     'the error log says why (subrequest)');
like($t->read_file('error.log'), qr/left a gateway location/,
     'the error log says why (rewrite)');

$r = http_get('/v2/shipments/1', port => $p, 'X-API-Key' => $KEY{acme1});
is($r->{status}, 200, 'the gateway itself still works');

$t->done_testing();
