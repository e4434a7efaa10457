#!/usr/bin/perl

# Plain-C unit tests of the core: test_protect (t/unit/test_protect.c):
# priority classes, the in-flight budget (with a multi-threaded run on
# one shared counter block), the circuit breaker on a simulated clock,
# the brownout level and its Redis encoding, a reclaim of what a dead
# process held, and a protected policy compiled (budgets, classes,
# ceilings, breakers per version and group) with its JSON status view.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_protect');
