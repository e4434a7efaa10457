#!/usr/bin/perl

# Plain-C unit tests of the core: test_trace (t/unit/test_trace.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_trace');
