
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_RATELIMIT_H_INCLUDED_
#define _LG_RATELIMIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * Rate limits use GCRA (the generic cell rate algorithm): one number per
 * limit, the theoretical arrival time (TAT) of the next request.  It is
 * exact, needs no background refill, and the same arithmetic runs in the
 * shared-memory backend (this file) and in Redis (a server-side script),
 * so a node that falls back from Redis to shared memory keeps the same
 * limits.  All times are microseconds.
 */

typedef struct {
    int64_t   count;         /* requests ... */
    int64_t   period;        /* ... per this many microseconds */
    int64_t   burst;         /* extra requests allowed at once */
    int64_t   interval;      /* emission interval T = period / count */
    int64_t   tolerance;     /* tau = T * burst */

    /* T and tau in decimal, as the Redis script takes them */
    char      interval_text[24];
    char      tolerance_text[24];
    size_t    interval_len;
    size_t    tolerance_len;
} lg_rate_t;


typedef struct {
    int       allowed;
    int64_t   tat;           /* new TAT to store when allowed */
    int64_t   remaining;     /* requests still allowed right now */
    int64_t   retry_after;   /* microseconds, when refused */
    int64_t   reset;         /* microseconds until the limit is full */
} lg_rate_result_t;


/* "600/m", "50/s", "1000/h", "100000/d" */
int lg_rate_parse(const char *s, size_t len, int64_t burst, lg_rate_t *rate);

/*
 * One GCRA step: "tat" is the stored value (0 when none), "now" the
 * current time.  Nothing is stored here: the caller commits result->tat
 * only if every limit of the request allowed it.
 */
void lg_rate_check(const lg_rate_t *rate, int64_t tat, int64_t now,
    lg_rate_result_t *result);

/*
 * The other end of the Redis script's answer for one limit
 * (lg_redis_script.h): "signed_reset" is result->reset of the step the
 * script took, negated when it refused.  Fills what lg_rate_check()
 * would have (all but tat); -1 when no GCRA step can give that number.
 */
int lg_rate_from_reset(const lg_rate_t *rate, int64_t signed_reset,
    lg_rate_result_t *result);

/*
 * How long a stored TAT must be kept (after that it equals "absent").
 * Exported for the unit tests only: the zone keeps a state until its
 * TAT; Redis keeps limit states without a lifetime.
 */
int64_t lg_rate_ttl(const lg_rate_result_t *result, int64_t now);

/* seconds for RateLimit-Policy "w" */
int64_t lg_rate_window(const lg_rate_t *rate);


#endif /* _LG_RATELIMIT_H_INCLUDED_ */
