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

done_testing();
