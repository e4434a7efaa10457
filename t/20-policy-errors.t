#!/usr/bin/perl

# Strict policy compilation: every malformed policy fails with
# "file: json.path: reason", identically in "logistics-policy check" and in
# "nginx -t" (at [emerg]), and a valid policy passes both.

use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;

my $repo = "$FindBin::Bin/..";
my $cli = $ENV{LG_CLI} || "$repo/build/logistics-policy";
my $module = $ENV{LG_MODULE} || "$repo/build/ngx_http_logistics_module.so";
my $nginx = $ENV{LG_NGINX} || '/usr/sbin/nginx';

plan skip_all => "$cli not built" unless -x $cli;
plan skip_all => "$module not built" unless -f $module;

my $dir = tempdir('lg-policy-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{LG_KEEP});

my $json = JSON::PP->new->canonical->pretty;

# the CLI is a plain process: under ASan, check it for leaks too (nginx
# itself leaves its cycle to the OS, so not for nginx -t)
my $cli_env = '';
$cli_env = 'ASAN_OPTIONS=' . ($ENV{ASAN_OPTIONS} =~ s/detect_leaks=0/detect_leaks=1/r)
    if defined $ENV{ASAN_OPTIONS};
my $hash = 'a' x 64;

sub base {
    return {
        scopes => { 'shipments:write' => 'w', 'tracking:read' => 'r' },
        partners => {
            acme => {
                scopes => ['shipments:write', 'tracking:read'],
                api_keys => [{ id => 'k1', sha256 => $hash }],
            },
        },
        apis => {
            shipments => {
                versions => {
                    v1 => { upstream_prefix => '/api/v1',
                            deprecated => '2026-06-01T00:00:00Z',
                            sunset => '2027-06-01T00:00:00Z',
                            successor => 'v2' },
                    v2 => { upstream_prefix => '/api/v2' },
                },
                routes => [
                    { id => 'create', method => 'POST', path => '/shipments',
                      scopes => ['shipments:write'] },
                    { id => 'get', method => 'GET',
                      path => '/shipments/{id}',
                      scopes => ['tracking:read'] },
                ],
            },
        },
    };
}

my $cur = $dir;

sub write_file {
    my ($name, $text) = @_;
    my $path = "$cur/$name";
    (my $d = $path) =~ s{/[^/]+$}{};
    make_path($d);
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
    return $path;
}

# Each case: name, a policy (hash after an edit, or raw text), the
# expected "json.path: reason" (a regex after the file name).

my @cases = (
    [ 'unknown top-level field', sub { $_[0]{partnerz} = {} },
      qr/\$\.partnerz: unknown field/ ],
    [ 'typo in a partner field', sub { $_[0]{partners}{acme}{scope} = [] },
      qr/\$\.partners\.acme\.scope: unknown field/ ],
    [ 'unknown field in a key',
      sub { $_[0]{partners}{acme}{api_keys}[0]{secret} = 'x' },
      qr/\$\.partners\.acme\.api_keys\[0\]\.secret: unknown field/ ],
    [ 'wrong type for scopes', sub { $_[0]{partners}{acme}{scopes} = 'x' },
      qr/\$\.partners\.acme\.scopes: must be an array of scope names/ ],
    [ 'wrong type for suspended',
      sub { $_[0]{partners}{acme}{suspended} = 'yes' },
      qr/\$\.partners\.acme\.suspended: must be true or false/ ],
    [ 'duplicate object key', \'{"scopes": {}, "partners": {"a": {}, "a": {}}, "apis": {}}',
      qr/\$\.partners\.a: duplicate object key/ ],
    [ 'JSON syntax error', \'{"scopes": {"a": "b",}}',
      qr/\$\.scopes(?:\.a)?: .*\(line 1, column \d+\)/ ],
    [ 'duplicate key id', sub {
          push @{$_[0]{partners}{acme}{api_keys}},
              { id => 'k1', sha256 => 'b' x 64 } },
      qr/\$\.partners\.acme\.api_keys\[1\]\.id: key id "k1" is used twice/ ],
    [ 'hash too short',
      sub { $_[0]{partners}{acme}{api_keys}[0]{sha256} = 'a' x 63 },
      qr/\$\.partners\.acme\.api_keys\[0\]\.sha256: must be 64 hex digits/ ],
    [ 'hash not hex',
      sub { $_[0]{partners}{acme}{api_keys}[0]{sha256} = 'g' x 64 },
      qr/\.sha256: must be 64 hex digits/ ],
    [ 'same hash for two partners', sub {
          $_[0]{partners}{other} = { scopes => [],
              api_keys => [{ id => 'x', sha256 => uc $hash }] } },
      qr/\$\.partners\.other\.api_keys\[0\]\.sha256: the same key hash is already used at .*\$\.partners\.acme\.api_keys\[0\]\.sha256/ ],
    [ 'impossible date', sub {
          $_[0]{partners}{acme}{api_keys}[0]{expires} = '2027-02-30T00:00:00Z' },
      qr/\.api_keys\[0\]\.expires: invalid date-time "2027-02-30T00:00:00Z"/ ],
    [ 'date without zone', sub {
          $_[0]{apis}{shipments}{versions}{v1}{sunset} = '2027-06-01' },
      qr/\$\.apis\.shipments\.versions\.v1\.sunset: invalid date-time/ ],
    [ 'bad duration', sub { $_[0]{partners}{acme}{api_key_max_age} = '10 days' },
      qr/\$\.partners\.acme\.api_key_max_age: invalid duration "10 days"/ ],
    [ 'max age without created', sub { $_[0]{partners}{acme}{api_key_max_age} = '90d' },
      qr/\$\.partners\.acme\.api_keys\[0\]: missing required field "created"/ ],
    [ 'expires before not_before', sub {
          $_[0]{partners}{acme}{api_keys}[0]{not_before} = '2027-01-01T00:00:00Z';
          $_[0]{partners}{acme}{api_keys}[0]{expires} = '2026-01-01T00:00:00Z' },
      qr/\.api_keys\[0\]\.expires: expires is not after not_before/ ],
    [ 'unknown scope on a partner',
      sub { push @{$_[0]{partners}{acme}{scopes}}, 'nope:read' },
      qr/\$\.partners\.acme\.scopes\[2\]: unknown scope "nope:read"/ ],
    [ 'unknown scope on a route',
      sub { $_[0]{apis}{shipments}{routes}[1]{scopes} = ['tracking:reed'] },
      qr/\$\.apis\.shipments\.routes\[1\]\.scopes\[0\]: unknown scope "tracking:reed"/ ],
    [ 'scope listed twice',
      sub { $_[0]{partners}{acme}{scopes} = ['tracking:read', 'tracking:read'] },
      qr/\.scopes\[1\]: scope "tracking:read" is listed twice/ ],
    [ 'invalid scope name', sub { $_[0]{scopes}{'Bad Scope'} = '' },
      qr/\$\.scopes\["Bad Scope"\]: invalid scope name/ ],
    [ 'unknown route referenced', sub { $_[0]{partners}{acme}{routes} = ['nope'] },
      qr/\$\.partners\.acme\.routes\[0\]: unknown route "nope"/ ],
    [ 'overlapping routes', sub {
          push @{$_[0]{apis}{shipments}{routes}}, { id => 'get2',
              method => 'GET', path => '/shipments/{ref}', scopes => [] } },
      qr/\$\.apis\.shipments\.routes\[2\]: route "get2" \(GET \/v\d\/shipments\/\{ref\}\) overlaps route "get" \(GET \/shipments\/\{id\}\)/ ],
    [ 'overlapping routes across APIs', sub {
          $_[0]{apis}{other} = { versions => { v2 => { upstream_prefix => '' } },
              routes => [{ id => 'o', method => 'POST', path => '/shipments',
                           scopes => [] }] } },
      qr/route "(o|create)" \(POST \/v2\/shipments\) overlaps route "(create|o)"/ ],
    [ 'duplicate route id', sub {
          $_[0]{apis}{shipments}{routes}[1]{id} = 'create' },
      qr/\$\.apis\.shipments\.routes\[1\]\.id: route id "create" is defined twice/ ],
    [ 'unknown method', sub { $_[0]{apis}{shipments}{routes}[0]{method} = 'FETCH' },
      qr/\.routes\[0\]\.method: method must be one of GET, POST, PUT, PATCH, DELETE/ ],
    [ 'path without leading slash', sub {
          $_[0]{apis}{shipments}{routes}[0]{path} = 'shipments' },
      qr/\.routes\[0\]\.path: must start with "\/"/ ],
    [ 'broken parameter', sub {
          $_[0]{apis}{shipments}{routes}[1]{path} = '/shipments/{id' },
      qr/\.routes\[1\]\.path: a parameter must fill its segment/ ],
    [ 'parameter used twice', sub {
          $_[0]{apis}{shipments}{routes}[1]{path} = '/s/{id}/x/{id}' },
      qr/\.routes\[1\]\.path: parameter "id" is used twice/ ],
    [ 'dot segment in a path', sub {
          $_[0]{apis}{shipments}{routes}[1]{path} = '/shipments/../admin' },
      qr/\.routes\[1\]\.path: dot segments are not allowed/ ],
    [ 'unknown version on a route', sub {
          $_[0]{apis}{shipments}{routes}[0]{versions} = ['v9'] },
      qr/\.routes\[0\]\.versions\[0\]: unknown version "v9" in API "shipments"/ ],
    [ 'unknown successor', sub {
          $_[0]{apis}{shipments}{versions}{v1}{successor} = 'v3' },
      qr/\$\.apis\.shipments\.versions\.v1\.successor: unknown version "v3"/ ],
    [ 'sunset before deprecation', sub {
          $_[0]{apis}{shipments}{versions}{v1}{sunset} = '2026-01-01T00:00:00Z' },
      qr/\.versions\.v1\.sunset: sunset is before the deprecation date/ ],
    [ 'invalid version name', sub {
          $_[0]{apis}{shipments}{versions}{'2'} = { upstream_prefix => '' } },
      qr/\$\.apis\.shipments\.versions\.2: invalid version name/ ],
    [ 'upstream prefix with trailing slash', sub {
          $_[0]{apis}{shipments}{versions}{v2}{upstream_prefix} = '/api/v2/' },
      qr/\.versions\.v2\.upstream_prefix: must be empty or start with "\/" and not end with "\/"/ ],
    [ 'route without scopes', sub {
          delete $_[0]{apis}{shipments}{routes}[0]{scopes} },
      qr/\$\.apis\.shipments\.routes\[0\]: missing required field "scopes"/ ],
    [ 'unknown auth method', sub {
          $_[0]{apis}{shipments}{routes}[0]{auth} = ['basic'] },
      qr/\.routes\[0\]\.auth\[0\]: unknown authentication method/ ],
    [ 'invalid partner id', sub {
          $_[0]{partners}{'Acme Carrier'} = delete $_[0]{partners}{acme} },
      qr/\$\.partners\["Acme Carrier"\]: invalid partner id/ ],
    [ 'missing credential file', sub {
          $_[0]{partners}{acme}{odoo_credential_file} = 'secrets/none.key' },
      qr/\$\.partners\.acme\.odoo_credential_file: cannot open ".*secrets\/none\.key": No such file/ ],
    [ 'empty credential file', sub {
          write_file('secrets/empty.key', "\n");
          $_[0]{partners}{acme}{odoo_credential_file} = 'secrets/empty.key' },
      qr/\.odoo_credential_file: "secrets\/empty\.key" is empty/ ],
    [ 'credential with a space', sub {
          write_file('secrets/two.key', "two words\n");
          $_[0]{partners}{acme}{odoo_credential_file} = 'secrets/two.key' },
      qr/\.odoo_credential_file: "secrets\/two\.key" must hold one token/ ],
    [ 'missing schema file', sub {
          $_[0]{apis}{shipments}{routes}[0]{schema} = 'schemas/none.json' },
      qr/\$\.apis\.shipments\.routes\[0\]\.schema: schema .*none\.json: cannot open/ ],
    [ 'schema that is not JSON', sub {
          write_file('schemas/broken.json', '{"type": "object",');
          $_[0]{apis}{shipments}{routes}[0]{schema} = 'schemas/broken.json' },
      qr/\.routes\[0\]\.schema: schema .*broken\.json: \$\.type: .*line 1/ ],
    [ 'schema for a version the route lacks', sub {
          write_file('schemas/ok.json', '{"type": "object"}');
          $_[0]{apis}{shipments}{routes}[0]{versions} = ['v2'];
          $_[0]{apis}{shipments}{routes}[0]{schema} = { v1 => 'schemas/ok.json' } },
      qr/\.routes\[0\]\.schema\.v1: route "create" has no version "v1"/ ],
    [ 'missing include', sub { $_[0]{include} = ['partners/none.json'] },
      qr/\$\.include\[0\]: file "partners\/none\.json" not found/ ],
    [ 'partner defined in two files', sub {
          write_file('partners/acme.json', encode_json({ partners => {
              acme => { scopes => [], api_keys => [] } } }));
          $_[0]{include} = ['partners/*.json'] },
      qr/\$\.partners\.acme: partner "acme" is defined twice/,
      'partners/acme.json' ],
    [ 'include in an included file', sub {
          write_file('partners/nested.json', encode_json({ include => [] }));
          $_[0]{include} = ['partners/nested.json'] },
      qr/\$\.include: unknown field/, 'partners/nested.json' ],
    [ 'invalid rate', sub {
          $_[0]{partners}{acme}{rate_limit} = { rate => '600/min' } },
      qr/\$\.partners\.acme\.rate_limit\.rate: invalid rate "600\/min"/ ],
    [ 'burst without rate', sub {
          $_[0]{partners}{acme}{rate_limit} = { burst => 5 } },
      qr/\$\.partners\.acme\.rate_limit: "burst" needs a "rate"/ ],
    [ 'negative burst', sub {
          $_[0]{partners}{acme}{rate_limit} = { rate => '5/s', burst => -1 } },
      qr/\.rate_limit\.burst: must be an integer from 0/ ],
    [ 'route limit for an unknown route', sub {
          $_[0]{partners}{acme}{rate_limit} = { routes => {
              'shipments.delete' => { rate => '1/s' } } } },
      qr/\.rate_limit\.routes\["shipments\.delete"\]: unknown route "shipments\.delete"/ ],
    [ 'unknown fail mode', sub { $_[0]{fail_mode} = 'ajar' },
      qr/\$\.fail_mode: must be "open" or "closed"/ ],
    [ 'partner bound to an unknown issuer', sub {
          $_[0]{partners}{acme}{jwt} = { issuer => 'nope', client_id => 'a' } },
      qr/\$\.partners\.acme\.jwt\.issuer: unknown issuer "nope"/ ],
    [ 'issuer without keys', sub {
          $_[0]{issuers} = { idp => { iss => 'https://i', audiences => ['a'],
                                      algorithms => ['RS256'] } } },
      qr/\$\.issuers\.idp: needs exactly one of "jwks_file", "jwks_uri" and "shared_secret_file"/ ],
    [ 'HS256 with public keys', sub {
          write_file('keys.jwks', '{"keys": []}');
          $_[0]{issuers} = { idp => { iss => 'https://i', audiences => ['a'],
              algorithms => ['RS256', 'HS256'], jwks_file => 'keys.jwks' } } },
      qr/\$\.issuers\.idp\.algorithms: HS256\/384\/512 need "shared_secret_file", never public keys/ ],
    [ 'alg none on the allow-list', sub {
          $_[0]{issuers} = { idp => { iss => 'https://i', audiences => ['a'],
              algorithms => ['none'], jwks_file => 'k.jwks' } } },
      qr/\$\.issuers\.idp\.algorithms\[0\]: unsupported algorithm "none"/ ],
    [ 'unknown auth method bearer typo', sub {
          $_[0]{apis}{shipments}{routes}[0]{auth} = ['beare'] },
      qr/\.routes\[0\]\.auth\[0\]: unknown authentication method/ ],
    [ 'malformed certificate fingerprint', sub {
          $_[0]{partners}{acme}{mtls} = { sha256 => ['AB:CD'] } },
      qr/\$\.partners\.acme\.mtls\.sha256\[0\]: must be a SHA-256 fingerprint/ ],
    [ 'issuer with a jwks_uri that is not a path', sub {
          $_[0]{issuers} = { idp => { iss => 'https://i', audiences => ['a'],
              algorithms => ['RS256'], jwks_uri => 'https://idp/jwks' } } },
      qr/\$\.issuers\.idp\.jwks_uri: must be the path of an internal location/ ],
    [ 'idempotency on a GET route', sub {
          $_[0]{apis}{shipments}{routes}[1]{idempotency} = 'required' },
      qr/\.routes\[1\]\.idempotency: GET is idempotent already/ ],
    [ 'unknown idempotency mode', sub {
          $_[0]{apis}{shipments}{routes}[0]{idempotency} = 'always' },
      qr/\.routes\[0\]\.idempotency: must be "required", "optional" or "off"/ ],
    [ 'bad idempotency ttl', sub { $_[0]{idempotency} = { ttl => 'forever' } },
      qr/\$\.idempotency\.ttl: invalid duration "forever"/ ],
    [ 'no routes at all', sub { delete $_[0]{apis} },
      qr/\$: the policy defines no routes/ ],

    # issue 12: what reaches Odoo, failures, secrets
    [ 'forward_headers naming a header the gateway sets', sub {
          $_[0]{apis}{shipments}{forward_headers} = ['X-Carrier', 'Authorization'] },
      qr/\$\.apis\.shipments\.forward_headers\[1\]: "Authorization" is set by the gateway itself or is hop-by-hop/ ],
    [ 'forward_headers naming an X-Logistics-* header', sub {
          $_[0]{apis}{shipments}{forward_headers} = ['X-Logistics-Partner'] },
      qr/\.forward_headers\[0\]: X-Logistics-\* headers are the gateway's own/ ],
    [ 'forward_headers with an underscore', sub {
          $_[0]{apis}{shipments}{forward_headers} = ['X_Odoo_Database'] },
      qr/\.forward_headers\[0\]: must be a header name \(letters, digits and -/ ],
    [ 'forward_headers twice the same', sub {
          $_[0]{apis}{shipments}{forward_headers} = ['X-Ref', 'x-ref'] },
      qr/\.forward_headers\[1\]: duplicate header name/ ],
    [ 'upstream_host that is no host', sub {
          $_[0]{apis}{shipments}{versions}{v2}{upstream_host} = 'odoo/db' },
      qr/\.versions\.v2\.upstream_host: must be a host name or address, with an optional :port/ ],
    [ 'upstream_host with a bad port', sub {
          $_[0]{apis}{shipments}{versions}{v2}{upstream_host} = 'odoo:99999' },
      qr/\.versions\.v2\.upstream_host: invalid port/ ],
    [ 'unknown body mode', sub {
          $_[0]{apis}{shipments}{routes}[1]{body} = 'sometimes' },
      qr/\.routes\[1\]\.body: must be "none" \(refused\) or "drop"/ ],
    [ 'body none on an idempotent route', sub {
          $_[0]{apis}{shipments}{routes}[0]{idempotency} = 'optional';
          $_[0]{apis}{shipments}{routes}[0]{body} = 'none' },
      qr/\.routes\[0\]\.body: a route with a schema or idempotency takes its body/ ],
    [ 'idempotency store too small', sub {
          $_[0]{idempotency} = { store_size => '16k' } },
      qr/\$\.idempotency\.store_size: invalid size "16k" \(32k to 64m/ ],
    [ 'jwks_max_stale under a second', sub {
          $_[0]{issuers} = { idp => { iss => 'https://i', audiences => ['a'],
              algorithms => ['RS256'], jwks_uri => '/_jwks/idp',
              jwks_max_stale => '500ms' } } },
      qr/\$\.issuers\.idp\.jwks_max_stale: invalid duration "500ms" \(at least 1s\)/ ],
    [ 'unknown revocation fail mode', sub {
          $_[0]{revocation_fail_mode} = 'open' },
      qr/\$\.revocation_fail_mode: must be "local" or "closed"/ ],
    [ 'strict_secret_files not a boolean', sub {
          $_[0]{strict_secret_files} = 'yes' },
      qr/\$\.strict_secret_files: must be true or false/ ],
    [ 'a secret file others can read, strict', sub {
          my $f = write_file('secrets/open.key', "odoo-key-123\n");
          chmod 0644, $f;
          $_[0]{strict_secret_files} = JSON::PP::true;
          $_[0]{partners}{acme}{odoo_credential_file} = 'secrets/open.key' },
      qr/\$\.partners\.acme\.odoo_credential_file: secret file "secrets\/open\.key" is readable by group or others \(mode 0644\): chmod 600 it/ ],
    [ 'a SAN without its type', sub {
          $_[0]{partners}{acme}{mtls} = { sans => ['spiffe://logistics/3pl'] } },
      qr/\$\.partners\.acme\.mtls\.sans\[0\]: must start with the SAN's type: "dns:", "uri:" or "email:"/ ],

    # protect Odoo: the APIs' odoo sections, priorities, partner caps
    [ 'typo in an odoo section', sub {
          $_[0]{apis}{shipments}{odoo} = { max_inflight => 8 } },
      qr/\$\.apis\.shipments\.odoo\.max_inflight: unknown field/ ],
    [ 'odoo section without max_in_flight', sub {
          $_[0]{apis}{shipments}{odoo} = { critical_reserve => '20%' } },
      qr/\$\.apis\.shipments\.odoo: missing required field "max_in_flight"/ ],
    [ 'odoo max_in_flight 0', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 0 } },
      qr/\.odoo\.max_in_flight: must be an integer from 1 to 1000000/ ],
    [ 'critical_reserve over 100%', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           critical_reserve => '120%' } },
      qr/\.odoo\.critical_reserve: invalid percentage "120%"/ ],
    [ 'critical_reserve in slots over the budget', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           critical_reserve => 9 } },
      qr/\.odoo\.critical_reserve: must be an integer from 0 to 8/ ],
    [ 'deferrable_cap above what non-critical traffic may hold', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
              critical_reserve => '50%', deferrable_cap => '75%' } },
      qr/\.odoo\.deferrable_cap: deferrable_cap must be between 0 and max_in_flight - critical_reserve \(here 6 of 8 slots\)/ ],
    [ 'max_wait too long', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           max_wait => '20s' } },
      qr/\.odoo\.max_wait: invalid duration "20s" \(e\.g\. "200ms", at most 10s\)/ ],
    [ 'retry_after under a second', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           retry_after => '500ms' } },
      qr/\.odoo\.retry_after: invalid duration "500ms"/ ],
    [ 'breaker neither object nor false', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           breaker => 'on' } },
      qr/\.odoo\.breaker: must be an object of breaker settings, or false/ ],
    [ 'typo in breaker settings', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           breaker => { cooldown => '5s' } } },
      qr/\.odoo\.breaker\.cooldown: unknown field/ ],
    [ 'breaker window not divisible into buckets', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
              breaker => { window => '10s', buckets => 3 } } },
      qr/\.odoo\.breaker\.window: 10000ms is not a whole number of milliseconds per bucket \(3 buckets\)/ ],
    [ 'breaker failure_ratio 0%', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
              breaker => { failure_ratio => '0%' } } },
      qr/\.odoo\.breaker\.failure_ratio: must be from 1% to 100%/ ],
    [ 'breaker failure_ratio as a number', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
              breaker => { failure_ratio => 0.5 } } },
      qr/\.odoo\.breaker\.failure_ratio: must be a percentage such as "50%"/ ],
    [ 'too many half-open probes', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
              breaker => { half_open_probes => 64 } } },
      qr/\.odoo\.breaker\.half_open_probes: must be an integer from 1 to 63/ ],
    [ 'unknown route priority', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8 };
          $_[0]{apis}{shipments}{routes}[0]{priority} = 'urgent' },
      qr/\$\.apis\.shipments\.routes\[0\]\.priority: must be "critical", "normal" or "deferrable"/ ],
    [ 'breaker_group without an odoo section', sub {
          $_[0]{apis}{other} = { versions => { v1 => { upstream_prefix => '' } },
              routes => [{ id => 'o', method => 'GET', path => '/o',
                           scopes => [], breaker_group => 'g' }] };
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8 } },
      qr/\$\.apis\.other\.routes\[0\]\.breaker_group: API "other" has no "odoo" section: there is no breaker to group/ ],
    [ 'breaker_group with the breaker off', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8,
                                           breaker => JSON::PP::false };
          $_[0]{apis}{shipments}{routes}[1]{breaker_group} = 'reads' },
      qr/\.routes\[1\]\.breaker_group: the breaker of API "shipments" is off/ ],
    [ 'bad breaker_group name', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8 };
          $_[0]{apis}{shipments}{routes}[1]{breaker_group} = 'Reads' },
      qr/\.routes\[1\]\.breaker_group: must be a group name/ ],
    [ 'partner max_in_flight as a string', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8 };
          $_[0]{partners}{acme}{max_in_flight} = '2' },
      qr/\$\.partners\.acme\.max_in_flight: must be an integer from 1 to 1000000/ ],
    [ 'unknown partner priority_ceiling', sub {
          $_[0]{apis}{shipments}{odoo} = { max_in_flight => 8 };
          $_[0]{partners}{acme}{priority_ceiling} = 'low' },
      qr/\$\.partners\.acme\.priority_ceiling: must be "critical", "normal" or "deferrable"/ ],
    [ 'a priority while no API protects Odoo', sub {
          $_[0]{apis}{shipments}{routes}[0]{priority} = 'critical' },
      qr/\$\.apis\.shipments\.routes\[0\]\.priority: no API has an "odoo" section, so this would apply to nothing/ ],
    [ 'a partner cap while no API protects Odoo', sub {
          $_[0]{partners}{acme}{max_in_flight} = 4 },
      qr/\$\.partners\.acme\.max_in_flight: no API has an "odoo" section, so this would apply to nothing/ ],
);

# a valid policy passes both checks

my $good = write_file('good/policy.json', $json->encode(base()));
my $out = `$cli check $good 2>&1`;
is($?, 0, 'valid policy: check exits 0');
like($out, qr/^\Q$good\E: ok \(1 files, 2 scopes, 1 partners, 1 keys, 1 APIs, 2 versions, 2 routes\)$/,
    'valid policy: check prints a summary');

my ($rc, $text) = nginx_t($good);
is($rc, 0, 'valid policy: nginx -t succeeds') or diag $text;

# a protected policy needs the zone for its counters

my $prot = base();
$prot->{apis}{shipments}{odoo} = { max_in_flight => 8,
                                   critical_reserve => '25%' };
$prot->{apis}{shipments}{routes}[0]{priority} = 'critical';
$prot->{partners}{acme}{max_in_flight} = 2;
my $protected = write_file('protected/policy.json', $json->encode($prot));
$out = `$cli check $protected 2>&1`;
is($?, 0, 'a policy with an odoo section passes check') or diag $out;
($rc, $text) = nginx_t($protected);
isnt($rc, 0, 'nginx -t without logistics_zone fails');
like($text, qr/\[emerg\].*protects Odoo .*add "logistics_zone name:size"/,
     'and asks for the zone');
($rc, $text) = nginx_t($protected, 'logistics_zone z:1m;');
is($rc, 0, 'with the zone it passes') or diag $text;

# like nginx's include, a wildcard may match nothing (no such folder yet)
my $p = base();
$p->{include} = ['partners.d/*.json'];
my $empty = write_file('empty-include/policy.json', $json->encode($p));
$out = `$cli check $empty 2>&1`;
is($?, 0, 'an include wildcard that matches nothing is accepted') or diag $out;

my $n = 0;

for my $case (@cases) {
    my ($name, $edit, $expect, $in) = @$case;
    $n++;

    my $sub = "case$n";
    my $text;

    if (ref $edit eq 'SCALAR') {
        $text = $$edit;
    } else {
        $cur = "$dir/$sub";
        my $p = base();
        $edit->($p);
        $text = $json->encode($p);
    }

    $cur = $dir;
    my $file = write_file("$sub/policy.json", $text);
    my $where = $in ? "$dir/$sub/$in" : $file;

    my $msg = `$cli_env $cli check $file 2>&1`;
    my $exit = $? >> 8;
    chomp $msg;

    is($exit, 1, "$name: check exits 1");
    like($msg, qr/^\Q$where\E: (?:\$[^ ]*?)?(?:: )?$expect/, "$name: check says file: json.path: reason")
        or diag $msg;

    my ($nrc, $nout) = nginx_t($file);
    isnt($nrc, 0, "$name: nginx -t fails");
    unlike("$msg\n$nout", qr/AddressSanitizer|LeakSanitizer|runtime error:/,
        "$name: no sanitizer report");
    like($nout, qr/\[emerg\] \d+#\d+: \Q$where\E: (?:\$[^ ]*?)?(?:: )?$expect.* in \S+\.conf:\d+/,
        "$name: nginx -t reports it at [emerg]") or diag $nout;
}

cmp_ok(scalar @cases, '>=', 20, 'at least 20 distinct malformed policies');

# a secret file others can read: a warning, not an error, without
# strict_secret_files (issue 12)

{
    $cur = "$dir/warn";
    my $f = write_file('secrets/odoo.key', "odoo-key-456\n");
    chmod 0640, $f;
    my $p = base();
    $p->{partners}{acme}{odoo_credential_file} = 'secrets/odoo.key';
    $cur = $dir;
    my $file = write_file('warn/policy.json', $json->encode($p));

    my $msg = `$cli_env $cli check $file 2>&1`;
    is($? >> 8, 0, 'a group-readable secret file: check still passes');
    like($msg, qr/warning: \Q$file\E: \$\.partners\.acme\.odoo_credential_file: secret file "secrets\/odoo\.key" is readable by group or others \(mode 0640\)/,
         'and warns about it');

    my ($nrc, $nout) = nginx_t($file);
    is($nrc, 0, 'nginx -t passes') or diag $nout;
    like($nout, qr/\[warn\] .*secret file "secrets\/odoo\.key" is readable by group or others/,
         'nginx -t warns at [warn]');

    chmod 0600, $f;
    $msg = `$cli_env $cli check $file 2>&1`;
    unlike($msg, qr/warning/, 'mode 0600: no warning');
}

# an error about a file that fails to parse never quotes its content: a
# secret file named where JSON was expected must not reach the terminal

for my $c (['include', sub { $_[0]{include} = ['secrets/token.key'] }],
           ['jwks_file', sub {
                $_[0]{issuers} = { idp => { iss => 'https://i',
                    audiences => ['a'], algorithms => ['RS256'],
                    jwks_file => 'secrets/token.key' } } }],
           ['schema', sub {
                $_[0]{apis}{shipments}{routes}[0]{schema} =
                    'secrets/token.key' }])
{
    my ($what, $edit) = @$c;
    $cur = "$dir/quote-$what";
    write_file('secrets/token.key', "s3cr3tT0ken-do-not-print\n");
    my $p = base();
    $edit->($p);
    $cur = $dir;
    my $file = write_file("quote-$what/policy.json", $json->encode($p));

    my $msg = `$cli_env $cli check $file 2>&1`;
    isnt($? >> 8, 0, "a secret file as $what: refused");
    like($msg, qr/token\.key/, "$what: the message names the file");
    unlike($msg, qr/s3cr3t|T0ken|do-not/, "$what: the CLI quotes none of it");
    my ($nrc, $nout) = nginx_t($file);
    unlike($nout, qr/s3cr3t|T0ken|do-not/, "$what: nginx -t quotes none of it");
}

done_testing();


sub nginx_t {
    my ($policy, $extra) = @_;
    $extra //= '';

    my $conf = write_file("nginx-$$.conf", <<EOF);
load_module $module;
error_log stderr;
pid $dir/nginx.pid;
events { }
http {
    logistics_policy $policy;
    $extra
    server {
        listen 127.0.0.1:1;
        location / { logistics_gateway on; proxy_pass http://127.0.0.1:2; }
    }
}
EOF

    # sanitizer builds: the runtime must be preloaded into nginx only
    local $ENV{LD_PRELOAD} = join ' ', grep { length }
        split(/\s+/, $ENV{LG_PRELOAD} // ''), $ENV{LD_PRELOAD} // '';

    my $out = `$nginx -p $dir -c $conf -t 2>&1`;
    return ($? >> 8, $out);
}
