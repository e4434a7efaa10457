
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_RATELIMIT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_RATELIMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_shm.h"


typedef struct ngx_http_logistics_limits_call_s
    ngx_http_logistics_limits_call_t;


/* the Idempotency-Key claim that rode along with the limit check */
#define NGX_HTTP_LOGISTICS_CLAIM_NONE     0
#define NGX_HTTP_LOGISTICS_CLAIM_SENT     1   /* waiting for the reply */
#define NGX_HTTP_LOGISTICS_CLAIM_TAKEN    2   /* the key is ours now */
#define NGX_HTTP_LOGISTICS_CLAIM_FOUND    3   /* someone's record: below */
#define NGX_HTTP_LOGISTICS_CLAIM_FAILED   4   /* Redis failed, fail open */


typedef struct {
    ngx_http_logistics_limit_t         limits[2];
    ngx_uint_t                         nlimits;

    /* the revocation keys: the partner's suspension, the token's id */
    ngx_str_t                          rev[2];
    ngx_uint_t                         nrev;

    /* the state store's answer */
    ngx_int_t                          rc;
    int64_t                            revoked_ttl; /* ms; -1: no expiry */
    const char                        *error;       /* why Redis failed */
    int64_t                            retry_after; /* s, when refused */
    ngx_str_t                          record;      /* CLAIM_FOUND */

    /* waiting: in the worker's next batch, or in a call in flight */
    ngx_http_request_t                *request;
    ngx_queue_t                        queue;       /* in the next batch */
    ngx_http_logistics_limits_call_t  *call;        /* in flight */
    ngx_uint_t                         index;       /* in that call */
    ngx_msec_t                         deadline;    /* set when queued */
    ngx_uint_t                         slot;        /* cluster; else 0 */

    unsigned                           claim:3;
    unsigned                           queued:1;
    unsigned                           waiting:1;
    unsigned                           replied:1;
    unsigned                           revoked_token:1;
} ngx_http_logistics_limits_ctx_t;


/*
 * Rate limits per partner and per partner + route, with the revocation
 * and suspension checks that share their Redis round trip (and, when the
 * idempotency step prepared one, the Idempotency-Key claim).  What Redis
 * says is suspended or revoked is kept in the zone, so it is still
 * refused while Redis cannot answer.  429, 401, 503.
 */
ngx_int_t ngx_http_logistics_limits_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* RateLimit-Policy, RateLimit (and X-RateLimit-*) on the response */
ngx_int_t ngx_http_logistics_limits_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* configuration time: the Redis script */
ngx_int_t ngx_http_logistics_limits_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);


#endif /* _NGX_HTTP_LOGISTICS_RATELIMIT_H_INCLUDED_ */
