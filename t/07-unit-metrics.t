#!/usr/bin/perl

# Plain-C unit tests of the metrics core: test_metrics
# (t/unit/test_metrics.c): decision words, family table, layout, the
# Prometheus / OpenMetrics / JSON writers, Accept negotiation, remapping.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_metrics');
