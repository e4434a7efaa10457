#!/usr/bin/perl

# Plain-C unit tests of the webhook signatures: test_webhook
# (t/unit/test_webhook.c).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Unit;

run_unit('test_webhook');
