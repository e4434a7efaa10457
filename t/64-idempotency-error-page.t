#!/usr/bin/perl

# An Idempotency-Key claim is released when Odoo fails, also when the
# location answers the failure with an error_page: the internal redirect
# to the error page zeroes the request's module contexts, and the claim
# must still be found and given back, so that the partner's retry with
# the same key reaches Odoo instead of hearing 409 until lock_ttl.  With
# the zone and with Redis.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(sleep time);

my $KEY = 'idem-key';

my $policy = JSON::PP->new->canonical->encode({
    idempotency => { ttl => '1h', lock_ttl => '30s' },
    scopes => { 'shipments:write' => '' },
    partners => { p => { scopes => ['shipments:write'],
                         api_keys => [{ id => 'k',
                                        sha256 => key_sha256($KEY) }] } },
    apis => { shipments => {
        versions => { v2 => { upstream_prefix => '/api/v2' } },
        routes => [
            { id => 'create', method => 'POST', path => '/shipments',
              scopes => ['shipments:write'], idempotency => 'required' },
        ] } },
});

sub gateway {
    my ($t, $extra) = @_;
    $t->write_file('policy.json', $policy);
    $t->write_file('html/odoo-down.json', '{"odoo":"down"}');
    $t->write_config($t->gateway_http_body(
        policy => '%%TESTDIR%%/policy.json',
        http_extra => "    logistics_zone z:4m;\n$extra",
        location_extra => <<'LOC',
            proxy_read_timeout 1s;
            error_page 502 504 /odoo-down.json;
LOC
        server_extra => <<'SRV'));
        location = /odoo-down.json {
            internal;
            root %%TESTDIR%%/html;
        }
SRV
    $t->run_stub();
    $t->run();
    return $t->port(0);
}

sub post {
    my ($port, $key) = @_;
    return http_req('POST', '/v2/shipments', port => $port,
                    body => '{"ref":"SO42"}',
                    headers => [ 'X-API-Key' => $KEY,
                                 'Content-Type' => 'application/json',
                                 'Idempotency-Key' => $key ]);
}

sub stub_rules {
    my ($t, @rules) = @_;
    http_req('POST', '/__stub/config', port => $t->stub_port(),
             headers => [ 'Content-Type' => 'application/json' ],
             body => json_encode({ rules => \@rules }));
}

sub suite {
    my ($t, $name) = @_;
    my $port = $t->port(0);

    # Odoo resets the connection: 502, answered by the error page

    stub_rules($t, { path_prefix => '/api/v2/', reset => JSON::PP::true });

    my $r = post($port, "\"$name-reset\"");
    is($r->{status}, 502, "$name: Odoo fails, the error page answers 502");
    is($r->{body}, '{"odoo":"down"}', "$name: with its body");

    stub_rules($t);

    $r = post($port, "\"$name-reset\"");
    is($r->{status}, 201, "$name: the retry with the same key reaches Odoo "
       . '(the claim was released)');
    ok(!defined hdr($r, 'idempotent-replayed'), "$name: not a replay");

    $r = post($port, "\"$name-reset\"");
    is(hdr($r, 'idempotent-replayed'), 'true',
       "$name: and its answer is what the next retry replays");

    # Odoo does not answer in time: 504, the same error page

    stub_rules($t, { path_prefix => '/api/v2/', delay_ms => 3000 });

    $r = post($port, "\"$name-timeout\"");
    is($r->{status}, 504, "$name: upstream timeout, the error page's 504");

    stub_rules($t);

    $r = post($port, "\"$name-timeout\"");
    is($r->{status}, 201, "$name: the retry after the timeout reaches Odoo");
}

my $t = Lg::Test->new();
gateway($t, '');
suite($t, 'zone');
$t->finish();

SKIP: {
    skip 'redis-server not installed', 7
        unless system('command -v redis-server >/dev/null 2>&1') == 0;

    my $t2 = Lg::Test->new();
    my $rport = $t2->run_redis();
    gateway($t2, "    logistics_redis 127.0.0.1:$rport timeout=200ms;");
    sleep 0.3;
    suite($t2, 'redis');
    $t2->finish();
}

done_testing();
