
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_logistics_module.h"


static ngx_int_t ngx_http_logistics_pipeline(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
static ngx_int_t ngx_http_logistics_scan_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_request_id(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_version(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_str_t *version, lg_str_t *path,
    u_char *buf);
static unsigned ngx_http_logistics_method(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_successor(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    unsigned method, lg_str_t *path);
static ngx_int_t ngx_http_logistics_after_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_logistics_limits_verdict(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_logistics_read_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_after_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_forward_now(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#define ngx_http_logistics_header_is(h, name)                                 \
    ((h)->key.len == sizeof(name) - 1                                         \
     && ngx_strncasecmp((h)->key.data, (u_char *) name, sizeof(name) - 1)     \
        == 0)


ngx_int_t
ngx_http_logistics_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_logistics_ctx_t        *ctx;
    ngx_http_logistics_loc_conf_t   *lcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (!lcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx != NULL) {

        if (ctx->waiting) {
            return NGX_AGAIN;
        }

        if (ctx->jwks_wait) {
            if (!ctx->jwks_done) {
                return NGX_AGAIN;
            }

            /* the keys arrived (or not): authenticate again */

            lmcf = ngx_http_get_module_main_conf(r,
                                                 ngx_http_logistics_module);

            ngx_http_logistics_jwks_finish(r, ctx);

            rc = ngx_http_logistics_after_route(r, ctx, lmcf->policy);

            if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR || rc == NGX_ERROR) {
                return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INTERNAL,
                                               "internal-error");
            }

            return rc;
        }

        if (ctx->body_done) {
            /* the body arrived: check it, then forward */

            ctx->body_done = 0;

            rc = ngx_http_logistics_body_check(r, ctx);

            if (rc == NGX_OK) {
                rc = ngx_http_logistics_after_body(r, ctx);
            }

            if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR || rc == NGX_ERROR) {
                return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INTERNAL,
                                               "internal-error");
            }

            return rc;
        }

        if (!ctx->resumed) {
            /* the pipeline ran already for this request */
            return NGX_DECLINED;
        }

        /* back from Redis: finish step 4, then go on */

        ctx->resumed = 0;

        rc = ngx_http_logistics_after_limits(r, ctx,
                                 ngx_http_logistics_rate_finish(r, ctx));

        if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR || rc == NGX_ERROR) {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INTERNAL,
                                           "internal-error");
        }

        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_logistics_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_logistics_module);

    rc = ngx_http_logistics_pipeline(r, ctx, lmcf->policy);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR || rc == NGX_ERROR) {
        /* even our own failures answer in problem+json */
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INTERNAL,
                                       "internal-error");
    }

    return rc;
}


static ngx_int_t
ngx_http_logistics_pipeline(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy)
{
    u_char             *vbuf;
    unsigned            method;
    ngx_int_t           rc;
    lg_str_t            version, path;
    lg_route_match_t    match;
    lg_route_status_e   status;

    if (ngx_http_logistics_scan_headers(r, ctx) != NGX_OK
        || ngx_http_logistics_request_id(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* 1. route */

    vbuf = ngx_pnalloc(r->pool, 8);
    if (vbuf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_logistics_version(r, ctx, &version, &path, vbuf);

    if (rc != NGX_OK) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_VERSION_REQUIRED,
                                       "version-required");
    }

    method = ngx_http_logistics_method(r);

    status = lg_router_match(policy, version.data, version.len, method,
                             path.data, path.len, &match);

    if (status == LG_ROUTE_NOT_FOUND) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_NOT_FOUND,
                                       "not-found");
    }

    if (status == LG_ROUTE_NO_METHOD) {

        if (method == LG_METHOD_OPTIONS) {
            ngx_str_set(&ctx->decision, "options");
            return ngx_http_logistics_send_options(r, match.allow);
        }

        if (ngx_http_logistics_allow_header(r, match.allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_METHOD_NOT_ALLOWED,
                                       "method-not-allowed");
    }

    ctx->route = match.route;
    ctx->version = match.version;

    if (match.version->successor != NULL
        && ngx_http_logistics_successor(r, ctx, policy, method, &path)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (match.version->sunset != LG_TIME_UNSET
        && (int64_t) ngx_time() >= match.version->sunset)
    {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_VERSION_SUNSET,
                                       "version-sunset");
    }

    ctx->match = match;

    return ngx_http_logistics_after_route(r, ctx, policy);
}


/* steps 2 on; also where a request resumes after waiting for keys */

ngx_int_t
ngx_http_logistics_after_route(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy)
{
    ngx_int_t  rc;

    /* 2. authenticate (may wait for the issuer's keys) */

    rc = ngx_http_logistics_authenticate(r, ctx, policy);
    if (rc != NGX_OK) {
        return rc;
    }

    /* 3. authorize */

    if (!lg_policy_route_allowed(ctx->partner, ctx->route)) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_ROUTE_NOT_ALLOWED,
                                       "route-not-allowed");
    }

    if (!ngx_http_logistics_scopes_allowed(policy, ctx, ctx->route)) {
        return ngx_http_logistics_insufficient_scope(r, ctx, policy);
    }

    /* 4. rate limits and revocation (may wait for Redis) */

    if (ngx_http_logistics_idem_with_limits(r, ctx)) {
        /* Redis: they go with the idempotency claim, after the body */
        ctx->limits_deferred = 1;
        return ngx_http_logistics_read_body(r, ctx);
    }

    return ngx_http_logistics_limits(r, ctx);
}


/*
 * Step 4, also after the body when ctx->limits_deferred: there the limit
 * script also claims the Idempotency-Key of a body that passed, and a
 * refused body (ctx->body_refused) is answered only now, so the answers
 * take the same precedence as on the usual path (revoked, 429, 503, then
 * the body's problem) and every request counts against the limits.
 */

ngx_int_t
ngx_http_logistics_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_logistics_rate_limit(r, ctx);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_logistics_after_limits(r, ctx, rc);
}


static ngx_int_t
ngx_http_logistics_after_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc)
{
    rc = ngx_http_logistics_limits_verdict(r, ctx, rc);

    if (rc != NGX_OK) {
        return rc;
    }

    if (!ctx->limits_deferred) {
        return ngx_http_logistics_read_body(r, ctx);
    }

    if (ctx->body_refused) {
        return ngx_http_logistics_deny(r, ctx, ctx->body_problem,
                                       ctx->body_reason);
    }

    rc = ngx_http_logistics_idem_claimed(r, ctx);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_logistics_forward_now(r, ctx);
}


/* the answer for a request the limits or revocation refuse, or NGX_OK */

static ngx_int_t
ngx_http_logistics_limits_verdict(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc)
{
    switch (rc) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_RATE_LIMITED,
                                       "rate-limited");

    case NGX_ABORT:
        ctx->nlimits = 0;

        if (ctx->revoked_token) {
            ngx_str_set(&ctx->challenge, "Bearer realm=\"logistics\", "
                        "error=\"invalid_token\", "
                        "error_description=\"token revoked\"");
            ngx_str_set(&ctx->detail, "token revoked");

            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INVALID_TOKEN,
                                           "revoked-token");
        }

        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "suspended-partner");

    case NGX_BUSY:
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAVAILABLE,
                                       "state-unavailable");

    default:
        /* the shared memory zone is full: counted as a store failure */
        ctx->nlimits = 0;
        ctx->redis_rc = NGX_ERROR;
        ngx_str_set(&ctx->redis_error, "zone full");

        rc = ngx_http_logistics_rate_finish(r, ctx);

        if (rc == NGX_BUSY) {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAVAILABLE,
                                           "state-unavailable");
        }
    }

    return NGX_OK;
}


/* 6. body: read and validated before anything reaches Odoo */

static ngx_int_t
ngx_http_logistics_read_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_logistics_body(r, ctx);

    if (rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_logistics_after_body(r, ctx);
}


/* 5. the Idempotency-Key (it needs the body's bytes), then forward */

static ngx_int_t
ngx_http_logistics_after_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_logistics_idem(r, ctx);

    if (rc == NGX_DECLINED) {
        return ngx_http_logistics_limits(r, ctx);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_logistics_forward_now(r, ctx);
}


/* 7. forward */

static ngx_int_t
ngx_http_logistics_forward_now(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    if (ngx_http_logistics_forward(r, ctx, &ctx->match) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&ctx->decision, "allow");

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_scan_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (ngx_http_logistics_header_is(&h[i], "X-API-Key")) {

            /* the same key twice is fine; two different keys are not */
            if (ctx->in.api_key != NULL
                && (ctx->in.api_key->value.len != h[i].value.len
                    || ngx_strncmp(ctx->in.api_key->value.data,
                                   h[i].value.data, h[i].value.len)
                       != 0))
            {
                ctx->in.api_key_conflict = 1;
            }

            ctx->in.api_key = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "API-Version")) {
            ctx->in.api_version = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "X-Request-Id")) {
            ctx->in.request_id = &h[i];
            ctx->in.request_ids += ctx->in.request_ids < 2;

        } else if (ngx_http_logistics_header_is(&h[i], "Idempotency-Key")) {
            ctx->in.idem_key = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "traceparent")) {
            ctx->in.traceparent = &h[i];
            ctx->in.traceparents += ctx->in.traceparents < 2;
        }
    }

    /*
     * Several copies of an id header are ambiguous: W3C Trace Context
     * says to restart the trace, and a fresh request id is the same idea.
     */

    if (ctx->in.request_ids > 1) {
        ctx->in.request_id = NULL;
    }

    if (ctx->in.traceparents > 1) {
        ctx->in.traceparent = NULL;
    }

    return NGX_OK;
}


/*
 * A partner's X-Request-Id is kept when it is a plausible id, so both
 * sides can quote the same id to support; anything else (too long, odd
 * bytes that would end up in logs) is replaced by a random one.
 */

static ngx_int_t
ngx_http_logistics_request_id(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char           *p;
    ngx_uint_t        i;
    ngx_str_t        *in;
    u_char            random[16];

    if (ctx->in.request_id != NULL) {
        in = &ctx->in.request_id->value;

        if (in->len > 0 && in->len <= NGX_HTTP_LOGISTICS_REQUEST_ID_MAX) {

            for (i = 0; i < in->len; i++) {
                p = &in->data[i];

                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
                      || *p == '.' || *p == ':'))
                {
                    break;
                }
            }

            if (i == in->len) {
                ctx->request_id = *in;
                return NGX_OK;
            }
        }
    }

    p = ngx_pnalloc(r->pool, 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_logistics_random(random, sizeof(random)) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_hex_dump(p, random, sizeof(random));

    ctx->request_id.data = p;
    ctx->request_id.len = 32;

    return NGX_OK;
}


/*
 * Request and trace ids need unpredictable bytes on every request.  One
 * RAND_bytes() call per request costs more than the rest of the pipeline
 * (provider lookups, DRBG locking), so the worker draws them in blocks.
 * The block is tied to the pid that drew it: a forked process never
 * reuses its parent's bytes.
 */

ngx_int_t
ngx_http_logistics_random(u_char *buf, size_t len)
{
    static u_char      pool[4096];
    static size_t      left;
    static ngx_pid_t   owner;

    if (len > sizeof(pool)) {
        return RAND_bytes(buf, len) == 1 ? NGX_OK : NGX_ERROR;
    }

    if (owner != ngx_pid || left < len) {
        if (RAND_bytes(pool, sizeof(pool)) != 1) {
            return NGX_ERROR;
        }

        owner = ngx_pid;
        left = sizeof(pool);
    }

    ngx_memcpy(buf, pool + sizeof(pool) - left, len);

    /* bytes handed out are not kept around */
    ngx_memzero(pool + sizeof(pool) - left, len);
    left -= len;

    return NGX_OK;
}


/*
 * The cached time in microseconds (millisecond resolution): state with a
 * lifetime in the zone (limits, idempotency locks) must not be rounded
 * to whole seconds as ngx_time() would.
 */

int64_t
ngx_http_logistics_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000000 + (int64_t) tp->msec * 1000;
}


/*
 * The version is the first path segment ("/v2/...") or, for unversioned
 * paths, the API-Version header ("v2" or "2").  The path wins when both
 * are present: it is what the partner's logs and caches show.
 */

static ngx_int_t
ngx_http_logistics_version(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_str_t *version, lg_str_t *path,
    u_char *buf)
{
    size_t      i;
    ngx_str_t  *h;

    if (lg_router_split_version((const char *) r->uri.data, r->uri.len,
                                version, path))
    {
        return NGX_OK;
    }

    if (ctx->in.api_version == NULL) {
        return NGX_DECLINED;
    }

    h = &ctx->in.api_version->value;
    i = (h->len > 0 && (h->data[0] == 'v' || h->data[0] == 'V')) ? 1 : 0;

    if (h->len - i < 1 || h->len - i > 4 || h->data[i] == '0') {
        return NGX_DECLINED;
    }

    buf[0] = 'v';

    for (version->len = 1; i < h->len; i++) {
        if (h->data[i] < '0' || h->data[i] > '9') {
            return NGX_DECLINED;
        }

        buf[version->len++] = h->data[i];
    }

    version->data = (const char *) buf;
    path->data = (const char *) r->uri.data;
    path->len = r->uri.len;

    return NGX_OK;
}


static unsigned
ngx_http_logistics_method(ngx_http_request_t *r)
{
    switch (r->method) {
    case NGX_HTTP_GET:      return LG_METHOD_GET;
    case NGX_HTTP_HEAD:     return LG_METHOD_HEAD;
    case NGX_HTTP_POST:     return LG_METHOD_POST;
    case NGX_HTTP_PUT:      return LG_METHOD_PUT;
    case NGX_HTTP_PATCH:    return LG_METHOD_PATCH;
    case NGX_HTTP_DELETE:   return LG_METHOD_DELETE;
    case NGX_HTTP_OPTIONS:  return LG_METHOD_OPTIONS;
    default:                return 0;
    }
}


/*
 * Link: rel="successor-version" points at the same operation in the
 * successor version when it exists there, else at the successor's root.
 */

static ngx_int_t
ngx_http_logistics_successor(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    unsigned method, lg_str_t *path)
{
    u_char              *p;
    size_t               len;
    uintptr_t            escape;
    lg_route_match_t     match;
    const lg_version_t  *succ;

    succ = ctx->version->successor;

    if (lg_router_match(policy, succ->name.data, succ->name.len, method,
                        path->data, path->len, &match)
        != LG_ROUTE_FOUND)
    {
        path = NULL;
    }

    escape = path ? ngx_escape_uri(NULL, (u_char *) path->data, path->len,
                                   NGX_ESCAPE_URI)
                  : 0;

    len = 1 + succ->name.len + (path ? path->len + 2 * escape : 1);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->successor.data = p;

    *p++ = '/';
    p = ngx_cpymem(p, succ->name.data, succ->name.len);

    if (path != NULL) {
        p = (u_char *) ngx_escape_uri(p, (u_char *) path->data, path->len,
                                      NGX_ESCAPE_URI);

    } else {
        *p++ = '/';
    }

    ctx->successor.len = p - ctx->successor.data;

    return NGX_OK;
}


