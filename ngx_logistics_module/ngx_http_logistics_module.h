
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_policy.h"
#include "ngx_http_logistics_shm.h"
#include "ngx_http_logistics_redis.h"
#include "lg_problem.h"
#include "lg_router.h"


#define NGX_HTTP_LOGISTICS_REQUEST_ID_MAX  128

/* where a request stands with its Idempotency-Key */
#define NGX_HTTP_LOGISTICS_IDEM_NONE       0
#define NGX_HTTP_LOGISTICS_IDEM_NEW        1   /* claimed, forwarded */
#define NGX_HTTP_LOGISTICS_IDEM_CAPTURE    2   /* copying the response */
#define NGX_HTTP_LOGISTICS_IDEM_STORED     3
#define NGX_HTTP_LOGISTICS_IDEM_RELEASED   4
#define NGX_HTTP_LOGISTICS_IDEM_REPLAYED   5
#define NGX_HTTP_LOGISTICS_IDEM_CONFLICT   6
#define NGX_HTTP_LOGISTICS_IDEM_MISMATCH   7
#define NGX_HTTP_LOGISTICS_IDEM_BYPASSED   8


typedef struct {
    lg_policy_t                *policy;
    ngx_str_t                   policy_file;
    ngx_flag_t                  enabled;       /* some location is on */
    ngx_shm_zone_t             *zone;          /* logistics_zone */
    ngx_http_logistics_redis_conf_t  *redis;   /* logistics_redis */
} ngx_http_logistics_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  deny_log_level;
    ngx_str_t                   problem_type_base;
    ngx_uint_t                  fail_mode;     /* LG_FAIL_*; unset: policy */
    ngx_flag_t                  legacy_headers;
    ngx_flag_t                  token_cache;
} ngx_http_logistics_loc_conf_t;


/* the request headers the pipeline reads, found in one pass */

typedef struct {
    ngx_table_elt_t            *api_key;
    ngx_table_elt_t            *api_version;
    ngx_table_elt_t            *request_id;
    ngx_table_elt_t            *traceparent;
    ngx_table_elt_t            *idem_key;
    unsigned                    api_key_conflict:1;  /* two that differ */
    unsigned                    request_ids:2;       /* seen, saturating */
    unsigned                    traceparents:2;
} ngx_http_logistics_headers_t;


typedef struct {
    ngx_str_t                   request_id;
    ngx_str_t                   decision;      /* "allow" or the reason */
    ngx_str_t                   upstream_uri;  /* escaped, with args */
    ngx_str_t                   successor;     /* Link target */

    const lg_partner_t         *partner;
    const lg_api_key_t         *key;
    const lg_route_t           *route;
    const lg_version_t         *version;

    ngx_http_logistics_headers_t  in;

    const uint64_t             *scopes;        /* effective, bitset */
    ngx_str_t                   token_jti;
    ngx_str_t                   token_sub;
    ngx_str_t                   challenge;     /* WWW-Authenticate */
    ngx_str_t                   detail;        /* problem detail */
    unsigned                    bearer:1;
    unsigned                    token_cached:1;
    unsigned                    mtls:1;

    ngx_http_logistics_limit_t  limits[2];
    ngx_uint_t                  nlimits;
    int64_t                     retry_after;   /* seconds, 429 and 503 */

    /* waiting for Redis: the match is kept for the forward step */
    lg_route_match_t            match;
    ngx_http_logistics_redis_op_t  *op;
    ngx_event_t                 redis_timer;
    ngx_int_t                   redis_rc;
    ngx_str_t                   redis_error;
    unsigned                    waiting:1;
    unsigned                    resumed:1;
    unsigned                    revoked_token:1;
    unsigned                    body_done:1;

    /*
     * Limits checked after the body, with the idempotency claim (see
     * ngx_http_logistics_idem_with_limits()); a body refused meanwhile
     * is answered once the limits have spoken.
     */
    unsigned                    limits_deferred:1;
    unsigned                    body_refused:1;
    lg_problem_e                body_problem;
    const char                 *body_reason;

    /* a JWKS fetch this request waits for */
    const lg_issuer_t          *jwks_issuer;
    ngx_str_t                   jwks_body;
    ngx_uint_t                  jwks_status;
    int64_t                     jwks_max_age;
    unsigned                    jwks_wait:1;
    unsigned                    jwks_done:1;
    unsigned                    jwks_refetched:1;

    /* request body validation */
    ngx_str_t                   body;          /* the bytes, once read */
    lg_arena_t                  arena;         /* validation errors */

    /* Idempotency-Key */
    ngx_uint_t                  idem_state;
    ngx_str_t                   idem_token;    /* the header's key */
    ngx_str_t                   idem_key;      /* lg:{partner}:idem:... */
    ngx_str_t                   idem_lock;     /* our lock record */
    ngx_str_t                   idem_existing; /* someone's record */
    ngx_str_t                   idem_headers;  /* captured */
    ngx_buf_t                  *idem_body;     /* captured */
    ngx_uint_t                  idem_status;
    u_char                      idem_fp[32];
    unsigned                    idem_oversize:1;
    ngx_str_t                   extra;         /* problem members */
} ngx_http_logistics_ctx_t;


ngx_int_t ngx_http_logistics_access_handler(ngx_http_request_t *r);
int64_t ngx_http_logistics_now(void);

ngx_int_t ngx_http_logistics_authenticate(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
ngx_int_t ngx_http_logistics_scopes_allowed(const lg_policy_t *policy,
    ngx_http_logistics_ctx_t *ctx, const lg_route_t *route);
ngx_int_t ngx_http_logistics_insufficient_scope(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);

ngx_int_t ngx_http_logistics_jwks_keys(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_issuer_t *issuer,
    ngx_uint_t unknown_kid, const lg_jwk_set_t **keys);
void ngx_http_logistics_jwks_finish(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
void ngx_http_logistics_jwks_exit(void);
const lg_jwk_set_t *ngx_http_logistics_jwks_current(ngx_http_request_t *r,
    const lg_issuer_t *issuer);
ngx_int_t ngx_http_logistics_after_route(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
ngx_int_t ngx_http_logistics_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

ngx_int_t ngx_http_logistics_idem(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
ngx_uint_t ngx_http_logistics_idem_with_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
ngx_int_t ngx_http_logistics_idem_claimed(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
void ngx_http_logistics_idem_header(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
void ngx_http_logistics_idem_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_chain_t *in);
ngx_int_t ngx_http_logistics_idem_value(ngx_http_logistics_ctx_t *ctx,
    ngx_str_t *v);

ngx_int_t ngx_http_logistics_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
ngx_int_t ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

ngx_int_t ngx_http_logistics_forward(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_route_match_t *match);

ngx_int_t ngx_http_logistics_deny(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_problem_e problem, const char *reason);
ngx_int_t ngx_http_logistics_send_problem(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_problem_e problem);
ngx_int_t ngx_http_logistics_send_options(ngx_http_request_t *r,
    unsigned allow);
ngx_table_elt_t *ngx_http_logistics_add_out_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
ngx_int_t ngx_http_logistics_allow_header(ngx_http_request_t *r,
    unsigned allow);

ngx_int_t ngx_http_logistics_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_logistics_random(u_char *buf, size_t len);

ngx_int_t ngx_http_logistics_rate_limit(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
ngx_int_t ngx_http_logistics_rate_finish(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
ngx_int_t ngx_http_logistics_rate_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


extern ngx_module_t  ngx_http_logistics_module;


#endif /* _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_ */
