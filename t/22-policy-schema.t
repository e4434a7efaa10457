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

# the protect-Odoo fields: every one of them, then typos

my $prot = <<'JSON';
{"scopes": {"r": ""},
 "partners": {"p": {"scopes": ["r"], "api_keys": [],
                    "max_in_flight": 2, "priority_ceiling": "normal"}},
 "apis": {"a": {
   "odoo": {"max_in_flight": 8, "critical_reserve": "25%",
            "deferrable_cap": 4, "max_wait": "200ms", "retry_after": "2s",
            "breaker": {"window": "10s", "buckets": 10, "min_requests": 20,
                        "failure_ratio": "50%", "cool_down": "10s",
                        "half_open_probes": 1, "open_critical": 2}},
   "versions": {"v1": {"upstream_prefix": ""}},
   "routes": [{"id": "x", "method": "GET", "path": "/x", "scopes": [],
               "priority": "deferrable", "breaker_group": "reports"}]}}}
JSON

my %bad = (
    'odoo typo' => [ '"max_wait"', '"max_wiat"' ],
    'unknown priority' => [ '"deferrable", "breaker_group"',
                            '"later", "breaker_group"' ],
    'percentage over 100' => [ '"25%"', '"125%"' ],
    'breaker as a string' => [ '"breaker": {', '"breaker": "on", "x": {' ],
    'bad ceiling' => [ '"normal"}', '"low"}' ],
);

open $fh, '>', "$dir/protect.json" or die;
print $fh $prot;
close $fh;
$out = `$cli validate --schema $schema $dir/protect.json 2>&1`;
is($? >> 8, 0, 'a policy with every protect field is valid') or diag $out;

open $fh, '>', "$dir/off.json" or die;
print $fh $prot =~ s/"breaker": \{.*?\}\}/"breaker": false}/sr;
close $fh;
$out = `$cli validate --schema $schema $dir/off.json 2>&1`;
is($? >> 8, 0, '"breaker": false is valid') or diag $out;

for my $name (sort keys %bad) {
    my ($from, $to) = @{ $bad{$name} };
    (my $text = $prot) =~ s/\Q$from\E/$to/;
    isnt($text, $prot, "$name: edited");
    open $fh, '>', "$dir/bad.json" or die;
    print $fh $text;
    close $fh;
    $out = `$cli validate --schema $schema $dir/bad.json 2>&1`;
    is($? >> 8, 1, "$name: invalid against the schema");
}

done_testing();
