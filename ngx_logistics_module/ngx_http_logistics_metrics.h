
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_METRICS_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_metrics.h"
#include "ngx_http_logistics_shm.h"


/*
 * Counting, for every glue file: a leaf.  Each worker owns one array of
 * counters in the logistics_metrics_zone (ngx_http_logistics_metrics.c
 * claims it when the worker starts) and adds to it with plain additions:
 * one writer per array, no lock, no atomic.  The scrape sums the arrays.
 *
 * A place that counts does it in one line with the helpers below; they
 * do nothing when no logistics_metrics_zone is configured.  Label
 * indexes come from the policy (partner, route + version, issuer, 0 = "-")
 * or from the enumerations of lg_metrics.h.
 */

typedef struct {
    const lg_metrics_layout_t    *layout;     /* this configuration's */
    uint64_t                     *values;     /* NULL: nothing counted */
    ngx_uint_t                    redis_state;  /* LG_CONN_* + 1; 0: none */
} ngx_http_logistics_metrics_t;


extern ngx_http_logistics_metrics_t  ngx_http_logistics_metrics;
extern ngx_module_t                  ngx_http_logistics_metrics_module;


#define ngx_http_logistics_count0(f)                                          \
    ngx_http_logistics_count_add(f, 1, 0, 0, 0, 0)
#define ngx_http_logistics_count1(f, a)                                       \
    ngx_http_logistics_count_add(f, 1, a, 0, 0, 0)
#define ngx_http_logistics_count2(f, a, b)                                    \
    ngx_http_logistics_count_add(f, 1, a, b, 0, 0)
#define ngx_http_logistics_count3(f, a, b, c)                                 \
    ngx_http_logistics_count_add(f, 1, a, b, c, 0)
#define ngx_http_logistics_count0_n(f, n)                                     \
    ngx_http_logistics_count_add(f, n, 0, 0, 0, 0)


/* adds n to the series of family f with the label indexes i0.. */

static ngx_inline void
ngx_http_logistics_count_add(lg_metric_e family, uint64_t n, size_t i0,
    size_t i1, size_t i2, size_t i3)
{
    ngx_http_logistics_metrics_t  *mx = &ngx_http_logistics_metrics;

    if (mx->values != NULL) {
        mx->values[lg_metrics_slot4(mx->layout, family, i0, i1, i2, i3)]
            += n;
    }
}


/* one observation (microseconds) of a histogram with one dimension */

static ngx_inline void
ngx_http_logistics_observe(lg_metric_e family, size_t i0, uint64_t usec)
{
    ngx_http_logistics_metrics_t  *mx = &ngx_http_logistics_metrics;

    if (mx->values != NULL) {
        lg_metrics_observe(mx->layout, mx->values, family,
                           lg_metrics_slot1(mx->layout, family, i0), usec);
    }
}


/* label indexes: 0 ("-") for none, an unknown one, or counting off */

static ngx_inline size_t
ngx_http_logistics_metrics_partner(const lg_partner_t *partner)
{
    ngx_http_logistics_metrics_t  *mx = &ngx_http_logistics_metrics;

    return mx->values ? lg_metrics_partner(mx->layout, partner) : 0;
}


static ngx_inline size_t
ngx_http_logistics_metrics_route(const lg_route_t *route,
    const lg_version_t *version)
{
    ngx_http_logistics_metrics_t  *mx = &ngx_http_logistics_metrics;

    return mx->values ? lg_metrics_route(mx->layout, route, version) : 0;
}


static ngx_inline size_t
ngx_http_logistics_metrics_issuer(const lg_issuer_t *issuer)
{
    ngx_http_logistics_metrics_t  *mx = &ngx_http_logistics_metrics;

    return mx->values ? lg_metrics_issuer(mx->layout, issuer) : 0;
}


/*
 * Bearer tokens, counted on the request's first pass through the step
 * (it runs again after waiting for a key set): a verified-token cache
 * lookup (LG_CACHE_RESULT_LAST: the cache is off), and whether the
 * token's kid was missing from its issuer's keys.
 */

#define ngx_http_logistics_metrics_token(c, iss, res)                        \
    ngx_http_logistics_metrics_bearer(LG_MF_TOKEN_CACHE_LOOKUPS, iss, res,    \
        (c)->auth.jwks.issuer == NULL && (res) != LG_CACHE_RESULT_LAST)

#define ngx_http_logistics_metrics_kid(c, iss, miss)                          \
    ngx_http_logistics_metrics_bearer(LG_MF_JWKS_KID_MISSES, iss, 0,          \
        (miss) && !(c)->auth.refetched)


static ngx_inline void
ngx_http_logistics_metrics_bearer(lg_metric_e family,
    const lg_issuer_t *issuer, size_t result, ngx_uint_t count)
{
    if (count) {
        ngx_http_logistics_count2(family,
                                  ngx_http_logistics_metrics_issuer(issuer),
                                  result);
    }
}


/*
 * A monotonic clock in microseconds for what is shorter than nginx's
 * millisecond time (a Redis round trip, a schema validation); 0 when
 * nothing is counted, so it costs nothing then.
 */
uint64_t ngx_http_logistics_metrics_clock(void);

/* a Redis reply came "sent" (ngx_http_logistics_metrics_clock()) */
static ngx_inline void
ngx_http_logistics_metrics_round_trip(uint64_t sent)
{
    if (sent != 0) {
        ngx_http_logistics_observe(LG_MF_REDIS_ROUND_TRIP, 0,
                                   ngx_http_logistics_metrics_clock() - sent);
    }
}


/* the worker's Redis connection is now in this state (LG_CONN_*) */
void ngx_http_logistics_metrics_redis_state(lg_conn_state_e state);

/* what one check of the limits said, per limit (zone: 1, Redis: 0) */
void ngx_http_logistics_metrics_limits(const lg_partner_t *partner,
    ngx_http_logistics_limit_t *limits, ngx_uint_t n, ngx_uint_t zone);

/*
 * How a JWKS fetch ended: usable keys, a body that was no key set, an
 * answer other than 200, or no answer (nginx's 502 or 504).
 */
void ngx_http_logistics_metrics_jwks(const lg_issuer_t *issuer,
    ngx_uint_t keys, size_t body_len, ngx_uint_t status);

/* a live record dropped from the full logistics_zone (its key says what) */
void ngx_http_logistics_metrics_evicted(const u_char *key, size_t len,
    ngx_uint_t doc);


#endif /* _NGX_HTTP_LOGISTICS_METRICS_H_INCLUDED_ */
