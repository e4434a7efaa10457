#!/usr/bin/perl

# Plain-C unit tests of the core (JSON Schema errors, references across
# files, formats, request bodies, hostile input), built by "make unit"; the
# binary speaks TAP itself, so prove reads its output directly.

use strict;
use warnings;
use FindBin;

my $dir = $ENV{LG_UNIT_DIR} || "$FindBin::Bin/../build/unit";
my $bin = "$dir/test_schema_errors";

unless (-x $bin) {
    print "1..1\nnot ok 1 - $bin is built (run make unit)\n";
    exit 1;
}

# a plain process: under ASan, leak checking is on
$ENV{ASAN_OPTIONS} =~ s/detect_leaks=0/detect_leaks=1/
    if defined $ENV{ASAN_OPTIONS};

exec $bin or die "exec $bin: $!";
