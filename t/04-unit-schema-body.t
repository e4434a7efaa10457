#!/usr/bin/perl

# Plain-C unit tests of the core: test_schema_body (t/unit/test_schema_body.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_schema_body');
