#!/usr/bin/perl

# Plain-C unit tests of the core: test_redis (t/unit/test_redis.c): hash
# slots, the cluster slot map, -MOVED / -ASK, error classes, Sentinel.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_redis');
