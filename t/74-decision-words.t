#!/usr/bin/perl

# Every decision a request can end with is counted under its own word:
# each word the glue passes to ngx_http_logistics_refuse() (or to the
# bearer step's refusal, or sets as the decision) has an entry in
# lg_decision_e, the list metrics-families prints.  A word missing there
# would be counted as "-" (and logged as an [alert], which fails any test
# that meets it); this finds it without having to meet it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;

my $repo = Lg::Test::repo();
my $cli = $ENV{LG_CLI} // "$repo/build/logistics-policy";

plan skip_all => "CLI not built: $cli (run make)" unless -x $cli;

my $table = `'$cli' metrics-families`;
is($?, 0, 'logistics-policy metrics-families');

my %words = map { $_ => 1 } $table =~ /^\| `([a-z-]+)` \| (?:\d+|-) \| /mg;
ok(keys %words >= 30, scalar(keys %words) . ' decision words in the table');

my %used;

for my $file (glob "$repo/ngx_logistics_module/ngx_http_logistics_*.c") {
    open my $fh, '<', $file or die "$file: $!\n";
    local $/;
    my $src = <$fh>;
    close $fh;

    (my $name = $file) =~ s{.*/}{};

    # refuse(ctx, LG_PROBLEM_X, "word"), token_rejected(r, ctx, "word", ..)
    while ($src =~ /_refuse\(\s*ctx,\s*LG_PROBLEM_\w+,\s*"([^"]+)"/g) {
        push @{ $used{$1} }, $name;
    }

    while ($src =~ /_token_rejected\(\s*r,\s*ctx,\s*"([^"]+)"/g) {
        push @{ $used{$1} }, $name;
    }

    while ($src =~ /ngx_str_set\(&ctx->decision,\s*"([^"]+)"\)/g) {
        push @{ $used{$1} }, $name;
    }
}

ok(keys %used >= 30, scalar(keys %used) . ' words used by the glue');

for my $w (sort keys %used) {
    ok($words{$w}, "\"$w\" (" . join(', ', @{ $used{$w} })
       . ') has its word in lg_decision_e');
}

done_testing();
