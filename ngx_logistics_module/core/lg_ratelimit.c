
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdio.h>

#include "lg_ratelimit.h"


#define LG_USEC  1000000LL


int
lg_rate_parse(const char *s, size_t len, int64_t burst, lg_rate_t *rate)
{
    size_t   i;
    int64_t  n, period;

    n = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');

        if (n > 1000000000) {
            return -1;
        }
    }

    if (i == 0 || n == 0 || i + 2 != len || s[i] != '/') {
        return -1;
    }

    switch (s[i + 1]) {
    case 's': period = LG_USEC; break;
    case 'm': period = 60 * LG_USEC; break;
    case 'h': period = 3600 * LG_USEC; break;
    case 'd': period = 86400 * LG_USEC; break;
    default: return -1;
    }

    if (burst < 0 || burst > 1000000000) {
        return -1;
    }

    rate->count = n;
    rate->period = period;
    rate->burst = burst;
    rate->interval = period / n;

    if (rate->interval == 0) {
        /* more than a million per second: microseconds cannot say it */
        return -1;
    }

    rate->tolerance = rate->interval * burst;

    rate->interval_len = snprintf(rate->interval_text,
                                  sizeof(rate->interval_text), "%lld",
                                  (long long) rate->interval);
    rate->tolerance_len = snprintf(rate->tolerance_text,
                                   sizeof(rate->tolerance_text), "%lld",
                                   (long long) rate->tolerance);

    return 0;
}


void
lg_rate_check(const lg_rate_t *rate, int64_t tat, int64_t now,
    lg_rate_result_t *result)
{
    int64_t  base, next, allow_at;

    base = tat > now ? tat : now;
    next = base + rate->interval;

    /* the request fits if next - now <= T + tau */
    allow_at = next - rate->interval - rate->tolerance;

    if (now < allow_at) {
        result->allowed = 0;
        result->tat = tat;
        result->remaining = 0;
        result->retry_after = allow_at - now;
        result->reset = base - now;
        return;
    }

    result->allowed = 1;
    result->tat = next;
    result->retry_after = 0;
    result->remaining = (now + rate->interval + rate->tolerance - next)
                        / rate->interval;
    result->reset = next - now;
}


/*
 * lg_rate_check() with s = signed_reset: allowed, s = next - now, and
 * remaining = (now + T + tau - next) / T = (T + tau - s) / T, where
 * T <= s <= T + tau; refused, -s = base - now > tau, and retry_after =
 * allow_at - now = base - tau - now = -s - tau.
 */

int
lg_rate_from_reset(const lg_rate_t *rate, int64_t signed_reset,
    lg_rate_result_t *result)
{
    int64_t  s, interval, tolerance;

    s = signed_reset;
    interval = rate->interval;
    tolerance = rate->tolerance;

    result->tat = 0;

    if (s > 0) {
        if (s < interval || s > interval + tolerance) {
            return -1;
        }

        result->allowed = 1;
        result->remaining = (interval + tolerance - s) / interval;
        result->retry_after = 0;
        result->reset = s;
        return 0;
    }

    if (s >= -tolerance || s == INT64_MIN) {
        return -1;
    }

    result->allowed = 0;
    result->remaining = 0;
    result->retry_after = -s - tolerance;
    result->reset = -s;
    return 0;
}


int64_t
lg_rate_ttl(const lg_rate_result_t *result, int64_t now)
{
    return result->tat > now ? result->tat - now : 0;
}


int64_t
lg_rate_window(const lg_rate_t *rate)
{
    return rate->period / LG_USEC;
}
