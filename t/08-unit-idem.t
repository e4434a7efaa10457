#!/usr/bin/perl

# Plain-C unit tests of the core: the Idempotency-Key records and the
# limit script's reply (t/unit/test_idem.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_idem');
