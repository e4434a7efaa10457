#!/usr/bin/perl

# The JWKS fetch is the gateway's request, not the partner's (issue 12):
# the subrequest carries no header, cookie, token or Content-Length of
# the request that triggered it; a failed scheduled refresh waits
# jwks_cooldown before the IdP is asked again; keys the IdP has not
# confirmed for jwks_max_stale are no longer used.  The IdP here is a
# second nginx server serving a JWKS file, so its access log shows what
# the gateway sent.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Lg::Test;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $OAUTH = Lg::Test::repo() . '/t/oauth';
plan skip_all => 't/oauth/node_modules missing (npm ci --prefix t/oauth)'
    unless -d "$OAUTH/node_modules/jose";

my $t = Lg::Test->new();
my $d = $t->testdir();
my $ISS = 'https://idp.test';

system("node $OAUTH/mint.js genkeys --out $d/priv.jwks"
       . " --public $d/pub.jwks >/dev/null") == 0 or die 'genkeys failed';
$t->write_file('jobs.jsonl', JSON::PP->new->canonical->encode({
    kid => 'ec256-1', alg => 'ES256',
    claims => { iss => $ISS, aud => 'api', exp => '+600',
                client_id => 'acme', scope => 'w' } }) . "\n");
my $TOKEN = `node $OAUTH/mint.js batch --keys $d/priv.jwks < $d/jobs.jsonl`;
chomp $TOKEN;
like($TOKEN, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'a token');

$t->write_file('policy.json', JSON::PP->new->canonical->encode({
    scopes => { 'w' => '' },
    issuers => { corp => { iss => $ISS, audiences => ['api'],
                           algorithms => ['ES256'],
                           jwks_uri => '/_jwks/corp', jwks_refresh => '1s',
                           jwks_cooldown => '5s',
                           jwks_max_stale => '12s' } },
    partners => { acme => { scopes => ['w'],
                            jwt => { issuer => 'corp',
                                     client_id => 'acme' } } },
    apis => { things => {
        versions => { v2 => { upstream_prefix => '' } },
        routes => [
            { id => 'get', method => 'GET', path => '/things/{id}',
              scopes => ['w'], auth => ['bearer'] },
            { id => 'create', method => 'POST', path => '/things',
              scopes => ['w'], auth => ['bearer'] },
        ],
    } },
}));
$t->write_file('idp.jwks', $t->read_file('pub.jwks'));

$t->write_config($t->gateway_http_body(
    policy => '%%TESTDIR%%/policy.json',
    http_extra => <<'EOF',
    logistics_zone jwkstrust:1m;
    logistics_token_cache off;
    subrequest_output_buffer_size 64k;

    log_format idp '$request_method cookie=[$http_cookie] '
                   'auth=[$http_authorization] custom=[$http_x_custom] '
                   'cl=[$http_content_length] ct=[$http_content_type] '
                   'fwd=[$http_x_forwarded_for]';

    server {
        listen 127.0.0.1:%%PORT_1%%;
        access_log %%TESTDIR%%/idp.log idp;

        location = /idp/jwks {
            alias %%TESTDIR%%/idp.jwks;
        }
    }
EOF
    server_extra => <<'EOF'));
        location /_jwks/corp {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_1%%/idp/jwks;
            proxy_read_timeout 2s;
        }
EOF
$t->run_stub();
$t->run();

my $p = $t->port(0);

sub idp_hits { return scalar $t->access_log_lines('idp.log') }

sub get {
    return http_get('/v2/things/1', port => $p,
                    'Authorization' => "Bearer $TOKEN");
}

# the first fetch, triggered by a POST full of the partner's things

my $r = http_req('POST', '/v2/things', port => $p, timeout => 5,
                 headers => [ 'Authorization' => "Bearer $TOKEN",
                              'Cookie' => 'session_id=partner-secret',
                              'X-Custom' => 'partner-header',
                              'X-Forwarded-For' => '6.6.6.6',
                              'Content-Type' => 'application/json' ],
                 body => '{"ship":"me"}');
is($r->{status}, 201, 'the request that fetched the keys went through');

# the keys were fetched (and stored) a little before this instant (more
# under valgrind): the steps below leave room for that on both sides
my $t0 = time();

my ($line) = $t->access_log_lines('idp.log');
$line //= '';
like($line, qr/^GET /, 'the IdP got a GET');
like($line, qr/cookie=\[-?\]/, 'no cookie of the partner\'s');
like($line, qr/auth=\[-?\]/, 'no token of the partner\'s');
like($line, qr/custom=\[-?\]/, 'no header of the partner\'s');
like($line, qr/cl=\[-?\]/, 'no Content-Length of the partner\'s body');
like($line, qr/ct=\[-?\]/, 'no Content-Type of the partner\'s body');
unlike($line, qr/6\.6\.6\.6/, 'no X-Forwarded-For of the partner\'s');
is(idp_hits(), 1, 'one fetch');

# the IdP fails: the last good keys serve, one attempt per cooldown

unlink "$d/idp.jwks";

my @codes;
while (time() - $t0 < 5.5) {
    push @codes, get()->{status};
    sleep 0.1;
}
is_deeply([grep { $_ != 200 } @codes], [],
          scalar(@codes) . ' requests while the IdP fails: the last good '
          . 'keys serve them');
is(idp_hits(), 2, 'one failed refresh in 5.5s (refresh 1s, cooldown 5s), '
   . 'not one per request');

# past jwks_max_stale the keys are no longer used

sleep(12.5 - (time() - $t0)) if time() - $t0 < 12.5;
$r = get();
is_problem($r, 503, 'unavailable',
           'keys unconfirmed for more than jwks_max_stale: not used');

# the IdP is back: after the cooldown the keys are fetched again

$t->write_file('idp.jwks', $t->read_file('pub.jwks'));
sleep(17.8 - (time() - $t0)) if time() - $t0 < 17.8;
$r = get();
is($r->{status}, 200, 'the IdP answers again: fresh keys, 200');

$t->done_testing();
