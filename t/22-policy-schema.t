#!/usr/bin/perl

# The JSON Schema of the policy format (policies/policy.schema.json, for
# editors) agrees with the compiler: every sample policy is valid against
# it, checked with the gateway's own validator, and a typo is not.

use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $repo = "$FindBin::Bin/..";
my $cli = $ENV{LG_CLI} || "$repo/build/logistics-policy";
plan skip_all => "$cli not built" unless -x $cli;

my $schema = "$repo/policies/policy.schema.json";
my @files = (glob("$repo/policies/policy.json"),
             glob("$repo/policies/partners/*.json"),
             glob("$repo/bench/policy*.json"));

for my $f (@files) {
    my $out = `$cli validate --schema $schema $f 2>&1`;
    is($? >> 8, 0, "$f is valid against the policy schema") or diag $out;
    my $chk = `$cli check $f 2>&1`;
    is($? >> 8, 0, "$f compiles") or diag $chk
        unless $f =~ m{/partners/};
}

my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/typo.json" or die;
print $fh '{"scopes": {}, "partnerz": {}, "apis": {}}';
close $fh;
my $out = `$cli validate --schema $schema $dir/typo.json 2>&1`;
is($? >> 8, 1, 'a typo in a field name is invalid against the schema');
like($out, qr/invalid .*typo\.json/, 'and reported as such');

# the webhook sections: a typo and a plain-http subscription are invalid

for my $case (
    [ 'secret_file', '{"webhook": {"secret_file": ["a.key"]}}' ],
    [ 'http URL', '{"subscriptions": {"secret_files": ["a.key"],'
                  . ' "events": {"order.confirmed": "http://h.example/x"}}}' ],
    [ 'webhook and api_key', undef ],
) {
    my ($what, $partner) = @$case;
    my $text = defined $partner
        ? '{"scopes": {}, "partners": {"p": ' . ($partner =~ s/^\{/{"scopes": [], /r)
          . '}, "apis": {}}'
        : '{"scopes": {}, "apis": {"a": {"versions": {"v1": {"upstream_prefix": ""}},'
          . ' "routes": [{"id": "r", "method": "POST", "path": "/h/{partner}",'
          . ' "scopes": [], "auth": ["webhook", "sso"]}]}}}';
    open my $w, '>', "$dir/wh.json" or die;
    print $w $text;
    close $w;
    $out = `$cli validate --schema $schema $dir/wh.json 2>&1`;
    is($? >> 8, 1, "webhooks: $what is invalid against the schema") or diag $out;
}

my $ok = '{"scopes": {}, "partners": {"p": {"scopes": [], "webhook": {"scheme":'
    . ' "hmac", "signature_header": "X-Sig", "timestamp_header": "X-Ts",'
    . ' "payload": "{timestamp}.{body}", "digest": "sha512", "encoding": "base64",'
    . ' "tolerance": "2m", "secret_files": ["a.key"]}, "subscriptions": {'
    . '"secret_files": ["b.key"], "events": {"picking.done":'
    . ' "https://h.example:8443/x?y=1"}}}}, "apis": {}}';
open my $w, '>', "$dir/wh-ok.json" or die;
print $w $ok;
close $w;
$out = `$cli validate --schema $schema $dir/wh-ok.json 2>&1`;
is($? >> 8, 0, 'webhooks: a carrier HMAC and a subscription are valid') or diag $out;

done_testing();
