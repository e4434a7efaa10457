#!/usr/bin/perl

# A short libFuzzer run of every fuzz target (built by "make fuzz-build"),
# seeded with fuzz/corpus: catches crashes in the parsers on every
# "make test".  "make fuzz" runs them longer.

use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $repo = "$FindBin::Bin/..";
my $dir = $ENV{LG_FUZZ_DIR} || "$repo/build/fuzz";
my $seconds = $ENV{LG_FUZZ_SECONDS} || 5;

my @targets = sort glob("$repo/fuzz/fuzz_*.c");
plan skip_all => 'no fuzz targets' unless @targets;

for my $src (@targets) {
    my ($name) = $src =~ m{/(fuzz_\w+)\.c$};
    my $bin = "$dir/$name";
    (my $seed = $name) =~ s/^fuzz_//;

    ok(-x $bin, "$name is built") or next;

    my $corpus = tempdir("lg-$name-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    system("cp $repo/fuzz/corpus/$seed/* $corpus/ 2>/dev/null");

    my $out = `cd $repo && $bin -max_total_time=$seconds $corpus 2>&1`;
    my $rc = $? >> 8;

    is($rc, 0, "$name ran ${seconds}s without a crash")
        or diag join "\n", grep { /ERROR|SUMMARY|==\d+==/ } split /\n/, $out;
    like($out, qr/Done \d+ runs/, "$name executed inputs");
}

done_testing();
