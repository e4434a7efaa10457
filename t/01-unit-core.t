#!/usr/bin/perl

# Plain-C unit tests of the core: test_core (t/unit/test_core.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_core');
