package Lg::Unit;

# Runs one plain-C unit test binary of the core (built by "make unit",
# or LG_UNIT_DIR for sanitizer builds).  The binary speaks TAP itself,
# so the .t wrapper simply becomes it.

use strict;
use warnings;

use Exporter qw(import);
use File::Basename qw(dirname);
use Cwd qw(abs_path);

our @EXPORT = qw(run_unit);

sub run_unit {
    my ($name) = @_;
    my $repo = abs_path(dirname(__FILE__) . '/../../..');
    my $dir = $ENV{LG_UNIT_DIR} || "$repo/build/unit";
    my $bin = "$dir/$name";

    unless (-x $bin) {
        print "1..1\nnot ok 1 - $bin is built (run make unit)\n";
        exit 1;
    }

    # a plain process: under ASan, leak checking is on
    $ENV{ASAN_OPTIONS} =~ s/detect_leaks=0/detect_leaks=1/
        if defined $ENV{ASAN_OPTIONS};

    chdir $repo;
    exec $bin or die "exec $bin: $!";
}

1;
