#!/usr/bin/perl

# "logistics-policy validate": the gateway's JSON Schema validator on the
# command line, for security teams testing contracts in their own CI.
# One line per instance, exit 0 all valid, 1 any invalid, 2 unusable.

use strict;
use warnings;
use FindBin;
use Test::More;

my $repo = "$FindBin::Bin/..";
my $cli = $ENV{LG_CLI} || "$repo/build/logistics-policy";

plan skip_all => "$cli not built" unless -x $cli;

# a plain process: under ASan, check it for leaks too
$ENV{ASAN_OPTIONS} =~ s/detect_leaks=0/detect_leaks=1/
    if defined $ENV{ASAN_OPTIONS};

chdir $repo or die "chdir $repo: $!";

my $ship = 'policies/schemas/shipment-create.v2.json';
my $s = 't/schemas';

sub run {
    my @args = @_;
    my $out = `$cli validate @args 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out);

($rc, $out) = run('--schema', $ship, "$s/shipment-valid.json");
is($rc, 0, 'a realistic shipment is valid');
is($out, "valid $s/shipment-valid.json\n", 'one line: valid PATH');

($rc, $out) = run('--schema', $ship, "$s/shipment-bad-weight.json");
is($rc, 1, 'a negative weight is invalid');
is($out, "invalid $s/shipment-bad-weight.json: /parcels/1/weight/value: "
    . "must be > 0\n", 'first error with its instance location');

($rc, $out) = run('--schema', $ship, "$s/shipment-no-consignee.json");
is($rc, 1, 'a missing consignee is invalid');
like($out, qr{^invalid \S+: \(root\): missing required property "consignee"$},
    'missing property reported at the root');

($rc, $out) = run('--schema', $ship, "$s/shipment-valid.json",
    "$s/shipment-bad-weight.json", "$s/shipment-no-consignee.json");
is($rc, 1, 'any invalid instance: exit 1');
is(scalar(() = $out =~ /^(?:valid|invalid) /mg), 3, 'one line per instance');

($rc, $out) = run('--schema', $ship, "$s/shipment-bad-date.json");
is($rc, 0, 'format is an annotation by default');
($rc, $out) = run('--schema', $ship, '--format-assertion',
    "$s/shipment-bad-date.json");
is($rc, 1, '--format-assertion makes it an assertion');
like($out, qr{/service/pickup_date: must be a valid date}, 'format message');

($rc, $out) = run('--schema', $ship, "$s/shipment-duplicate-key.json");
is($rc, 2, 'a duplicate key makes the instance unusable');
like($out, qr{line 1, column \d+: duplicate object key}, 'with a position');

($rc, $out) = run('--schema', $ship, "$s/no-such-file.json");
is($rc, 2, 'a missing instance file: exit 2');

# references across files, unevaluatedProperties
($rc, $out) = run('--schema', "$s/order.json", "$s/order-valid.json");
is($rc, 0, 'cross-file $ref: valid');
($rc, $out) = run('--schema', "$s/order.json", "$s/order-bad-qty.json");
is($rc, 1, 'cross-file $ref: invalid');
like($out, qr{/lines/0/qty: must be >= 1}, 'error inside the other file');
($rc, $out) = run('--schema', "$s/order.json", "$s/order-extra.json");
like($out, qr{/note: property "note" is not allowed},
    'unevaluatedProperties: false');

# draft-07 by $schema
($rc, $out) = run('--schema', "$s/legacy.draft7.json",
    "$s/legacy-valid.json");
is($rc, 0, 'draft-07 tuple: valid');
($rc, $out) = run('--schema', "$s/legacy.draft7.json",
    "$s/legacy-extra.json");
is($rc, 1, 'draft-07 additionalItems: false');
like($out, qr{legacy-extra.json: /2: item 2 is not allowed},
    'at the extra item');

# unusable schemas
($rc, $out) = run('--schema', "$s/remote-ref.json", "$s/order-valid.json");
is($rc, 2, 'remote $ref: exit 2');
like($out, qr{remote-ref.json: \$\.properties\.a\["\$ref"\]: remote reference},
    'file: json.path: reason');
($rc, $out) = run('--schema', "$s/bad-type.json", "$s/order-valid.json");
is($rc, 2, 'bad schema: exit 2');
like($out, qr{bad-type.json: \$\.properties\.a\.type: unknown type "strng"},
    'names the path of the mistake');

# usage
($rc, $out) = run("$s/order-valid.json");
is($rc, 2, 'no --schema: usage, exit 2');
($rc, $out) = run('--schema', $ship);
is($rc, 2, 'no instance: usage, exit 2');

# the other subcommands are still there
$out = `$cli --help 2>&1`;
like($out, qr/check FILE/, 'check is still documented');
like($out, qr/validate --schema/, 'validate is documented');

# --time: the cost of each step, on stderr; stdout and the exit status
# stay what they are without it
{
    my $cmd = "$cli validate --schema $ship --time 50 $s/shipment-valid.json";
    my $out = `$cmd $s/shipment-bad-weight.json 2>/dev/null`;
    is($? >> 8, 1, '--time keeps the exit status');
    is(scalar(() = $out =~ /^(?:valid|invalid) /mg), 2,
       '--time keeps stdout to one line per instance');
    my $err = `$cmd 2>&1 >/dev/null`;
    my $want = qr{^time \Q$s/shipment-valid.json\E: \d+ bytes, parse }
        . qr{\d+\.\d\d us, validate \d+\.\d\d us \(mean of 50 runs\)\n};
    like($err, qr/$want/,
         '--time prints the mean parse and validation time per instance');
    ($rc, $out) = run('--schema', $ship, '--time', '0',
                      "$s/shipment-valid.json");
    is($rc, 2, '--time 0 is a usage error');
}

done_testing();
