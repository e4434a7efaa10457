
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdint.h>

#include "unit.h"

#include "lg_ratelimit.h"


#define S  1000000LL


/* runs n requests at "now" and returns how many were allowed */

static int
burst_at(const lg_rate_t *rate, int64_t *tat, int64_t now, int n)
{
    int               i, allowed;
    lg_rate_result_t  res;

    allowed = 0;

    for (i = 0; i < n; i++) {
        lg_rate_check(rate, *tat, now, &res);

        if (res.allowed) {
            *tat = res.tat;
            allowed++;
        }
    }

    return allowed;
}


/*
 * Every step of lg_rate_check() over a sweep of states and instants,
 * turned into the one number the Redis script answers and back: the
 * outcome must come out the same.  Returns the steps that did not.
 */

static int
from_reset_sweep(const lg_rate_t *rate, int64_t now, int *refusals)
{
    int               bad;
    int64_t           tat, step, span;
    lg_rate_result_t  res, back;

    bad = 0;
    span = rate->interval + rate->tolerance;
    step = span / 97 + 1;

    for (tat = 0; tat <= now + 3 * span; tat += (tat < now ? now : step)) {
        lg_rate_check(rate, tat, now, &res);

        if (lg_rate_from_reset(rate, res.allowed ? res.reset : -res.reset,
                               &back)
            != 0
            || back.allowed != res.allowed
            || back.remaining != res.remaining
            || back.retry_after != res.retry_after
            || back.reset != res.reset)
        {
            bad++;
        }

        *refusals += !res.allowed;
    }

    return bad;
}


int
main(void)
{
    int               allowed, refusals;
    int64_t           tat, now, t;
    lg_rate_t         rate;
    lg_rate_result_t  res;

    ok(lg_rate_parse("600/m", 5, 50, &rate) == 0, "600/m parses");
    is_int(rate.interval, 100000, "600/m: one request per 100ms");
    is_int(rate.tolerance, 50 * 100000, "burst 50: tolerance 5s");
    is_int(lg_rate_window(&rate), 60, "window 60s");

    ok(lg_rate_parse("50/s", 4, 0, &rate) == 0 && rate.interval == 20000,
       "50/s");
    ok(lg_rate_parse("100000/d", 8, 0, &rate) == 0
       && rate.interval == 864000, "100000/d");
    ok(lg_rate_parse("1000/h", 6, 0, &rate) == 0, "1000/h");
    ok(lg_rate_parse("0/s", 3, 0, &rate) != 0, "zero rate refused");
    ok(lg_rate_parse("10/w", 4, 0, &rate) != 0, "unknown unit refused");
    ok(lg_rate_parse("10", 2, 0, &rate) != 0, "unit required");
    ok(lg_rate_parse("/s", 2, 0, &rate) != 0, "count required");
    ok(lg_rate_parse("10/s", 4, -1, &rate) != 0, "negative burst refused");
    ok(lg_rate_parse("2000000/s", 9, 0, &rate) != 0,
       "more than a million per second refused");
    ok(lg_rate_parse("10/ss", 5, 0, &rate) != 0, "trailing bytes refused");

    /* burst 0: exactly one at a time, then one per interval */

    lg_rate_parse("10/s", 4, 0, &rate);
    tat = 0;
    now = 1000 * S;

    is_int(burst_at(&rate, &tat, now, 5), 1, "burst 0: one request at once");

    lg_rate_check(&rate, tat, now, &res);
    ok(!res.allowed, "second request at the same instant is refused");
    is_int(res.retry_after, 100000, "retry after one interval (100ms)");

    lg_rate_check(&rate, tat, now + 99999, &res);
    ok(!res.allowed, "refused 1us before the interval ends");

    lg_rate_check(&rate, tat, now + 100000, &res);
    ok(res.allowed, "allowed once the interval has passed");

    /* burst 4: five at once, then the rate */

    lg_rate_parse("10/s", 4, 4, &rate);
    tat = 0;

    lg_rate_check(&rate, tat, now, &res);
    is_int(res.remaining, 4, "first request leaves 4");

    is_int(burst_at(&rate, &tat, now, 20), 5, "burst 4: five at once");

    /* over a long run the rate holds: limit + burst per window */

    lg_rate_parse("100/s", 5, 10, &rate);
    tat = 0;
    allowed = 0;

    for (t = 0; t < 10 * S; t += 1000) {       /* 1000 attempts per second */
        allowed += burst_at(&rate, &tat, now + t, 1);
    }

    ok(allowed >= 1000 && allowed <= 1000 + 10 + 1,
       "10s at 10x the rate admits 100/s + burst (%d)", allowed);

    /* idle time refills, but never beyond the burst */

    tat = 0;
    burst_at(&rate, &tat, now, 11);
    is_int(burst_at(&rate, &tat, now + 3600 * S, 100), 11,
           "after an hour idle: burst + 1 again, not more");

    /* reset and ttl */

    lg_rate_parse("1/m", 3, 0, &rate);
    tat = 0;
    lg_rate_check(&rate, tat, now, &res);
    is_int(res.reset, 60 * S, "reset: a full minute after one request");
    is_int(lg_rate_ttl(&res, now), 60 * S, "state kept for a minute");

    /* Redis's one number per limit, decoded (lg_redis_script.h) */

    refusals = 0;
    lg_rate_parse("1/m", 3, 0, &rate);
    is_int(from_reset_sweep(&rate, now, &refusals), 0,
           "1/m burst 0: every step decoded as it was taken");
    lg_rate_parse("10/s", 4, 5, &rate);
    is_int(from_reset_sweep(&rate, now, &refusals), 0,
           "10/s burst 5: every step decoded as it was taken");
    lg_rate_parse("1000000/s", 9, 1000000, &rate);
    is_int(from_reset_sweep(&rate, now, &refusals), 0,
           "1000000/s burst 1000000: every step decoded as it was taken");
    ok(refusals > 100, "the sweeps refused too (%d steps)", refusals);

    lg_rate_parse("10/s", 4, 5, &rate);
    ok(lg_rate_from_reset(&rate, 0, &res) != 0
       && lg_rate_from_reset(&rate, 99999, &res) != 0
       && lg_rate_from_reset(&rate, 600001, &res) != 0
       && lg_rate_from_reset(&rate, -500000, &res) != 0
       && lg_rate_from_reset(&rate, INT64_MIN, &res) != 0,
       "numbers no step gives are refused");

    return lg_unit_done();
}
