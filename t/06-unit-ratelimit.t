#!/usr/bin/perl

# Plain-C unit tests of the core: test_ratelimit (t/unit/test_ratelimit.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_ratelimit');
