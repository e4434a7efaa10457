
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * Step 6: the request body of a route with a JSON Schema.  The body is
 * read on the event loop (nginx's own request body reader), checked for
 * media type and size, parsed strictly (duplicate keys, invalid UTF-8,
 * deep nesting are refused) and validated against the schema compiled
 * when the policy loaded.  The body itself is never modified: Odoo gets
 * the bytes the partner sent.
 */

static ngx_int_t ngx_http_logistics_media_type_ok(ngx_http_request_t *r);
static void ngx_http_logistics_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_body_bytes(ngx_http_request_t *r,
    u_char **data, size_t *len);
static ngx_int_t ngx_http_logistics_body_refuse(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_problem_e problem, const char *reason);
static ngx_int_t ngx_http_logistics_invalid(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_schema_result_t *res);
static void ngx_http_logistics_body_cleanup(void *data);


static const lg_schema_t *
ngx_http_logistics_body_schema(ngx_http_logistics_ctx_t *ctx)
{
    return ctx->route->compiled[ctx->version->index];
}


/* application/json or application/<anything>+json, any parameters */

static ngx_int_t
ngx_http_logistics_media_type_ok(ngx_http_request_t *r)
{
    u_char  *p, *last, *semi;
    size_t   len;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    p = r->headers_in.content_type->value.data;
    last = p + r->headers_in.content_type->value.len;

    semi = ngx_strlchr(p, last, ';');
    if (semi != NULL) {
        last = semi;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    len = last - p;

    if (len == sizeof("application/json") - 1
        && ngx_strncasecmp(p, (u_char *) "application/json", len) == 0)
    {
        return 1;
    }

    return len > sizeof("application/+json") - 1
           && ngx_strncasecmp(p, (u_char *) "application/", 12) == 0
           && ngx_strncasecmp(last - 5, (u_char *) "+json", 5) == 0
           && ngx_strlchr(p + 12, last - 5, '/') == NULL;
}


/*
 * NGX_OK: nothing to check, forward now; NGX_AGAIN: the body is being read
 * and the phases resume when it is complete; anything else: the request
 * was answered.
 */

ngx_int_t
ngx_http_logistics_body(ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_http_logistics_body_schema(ctx) == NULL) {

        if (ctx->route->idempotency == LG_IDEM_OFF
            || ctx->in.idem_key == NULL)
        {
            return NGX_OK;
        }

        /* the idempotency fingerprint needs the body, not its schema */
        goto read;
    }

    if (!ngx_http_logistics_media_type_ok(r)) {
        return ngx_http_logistics_body_refuse(r, ctx,
                                              LG_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                                              "unsupported-media-type");
    }

    if (r->headers_in.content_length_n > ctx->route->max_body_size) {
        return ngx_http_logistics_body_refuse(r, ctx,
                                              LG_PROBLEM_BODY_TOO_LARGE,
                                              "body-too-large");
    }

read:

    rc = ngx_http_read_client_request_body(r, ngx_http_logistics_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* nginx gave up reading: over client_max_body_size, bad chunks */
        ctx->body_done = 0;

        return ngx_http_logistics_body_refuse(r, ctx,
                                  rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                                  ? LG_PROBLEM_BODY_TOO_LARGE
                                  : LG_PROBLEM_BAD_REQUEST,
                                  rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                                  ? "body-too-large" : "body-unreadable");
    }

    /* balances the reference the body reader took */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_AGAIN;
}


static void
ngx_http_logistics_body_read(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->body_done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* the whole body in one buffer (memory, or nginx's temp file) */

static ngx_int_t
ngx_http_logistics_body_bytes(ngx_http_request_t *r, u_char **data,
    size_t *len)
{
    u_char       *p;
    off_t         total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    total = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        *data = (u_char *) "";
        *len = 0;
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        /* the usual case, a body that fit client_body_buffer_size */
        *data = cl->buf->pos;
        *len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        /* just written by nginx, so from the page cache */
        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    *len = p - *data;

    return NGX_OK;
}


/* after the body arrived: size, syntax, contract */

ngx_int_t
ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int                         rc;
    u_char                     *data;
    size_t                      len;
    lg_error_t                  err;
    ngx_pool_cleanup_t         *cln;
    lg_schema_result_t          res;
    const lg_policy_t          *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ngx_http_logistics_body_bytes(r, &data, &len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if ((int64_t) len > ctx->route->max_body_size) {
        return ngx_http_logistics_body_refuse(r, ctx,
                                              LG_PROBLEM_BODY_TOO_LARGE,
                                              "body-too-large");
    }

    ctx->body.data = data;
    ctx->body.len = len;

    if (ngx_http_logistics_body_schema(ctx) == NULL) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_logistics_body_cleanup;
    cln->data = ctx;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    ngx_memzero(&res, sizeof(lg_schema_result_t));
    res.max_errors = policy->max_errors;
    res.arena = &ctx->arena;

    /*
     * Parsed into tokens that point into the body (no jansson values, no
     * allocation per value) and validated; the errors are copies in
     * ctx->arena.
     */

    rc = lg_schema_validate_body(ngx_http_logistics_body_schema(ctx),
                                 (char *) data, len, &res, &err);

    if (rc == LG_SCHEMA_BODY_MALFORMED) {
        ctx->detail.len = ngx_strlen(err.text);
        ctx->detail.data = ngx_pnalloc(r->pool, ctx->detail.len);
        if (ctx->detail.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(ctx->detail.data, err.text, ctx->detail.len);

        return ngx_http_logistics_body_refuse(r, ctx,
                                              LG_PROBLEM_MALFORMED_BODY,
                                              "malformed-body");
    }

    if (rc == 0) {
        return NGX_OK;
    }

    /*
     * A failure with an error is a body too deeply nested for the
     * contract to be evaluated (schemas whose references loop are refused
     * at load): the partner's to fix, a 422 that says so.  Without one it
     * is memory.
     */

    if (rc < 0 && res.nerrors == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_logistics_invalid(r, ctx, &res);
}


static ngx_int_t
ngx_http_logistics_invalid(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_schema_result_t *res)
{
    size_t  len;

    len = lg_problem_errors(NULL, 0, res->errors, res->nerrors);

    ctx->extra.data = ngx_pnalloc(r->pool, len + 1);
    if (ctx->extra.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->extra.len = lg_problem_errors((char *) ctx->extra.data, len + 1,
                                       res->errors, res->nerrors);

    return ngx_http_logistics_body_refuse(r, ctx, LG_PROBLEM_INVALID_BODY,
                                          "invalid-body");
}


/*
 * Answers a body that cannot go to Odoo, unless the limits are still to
 * be checked (they go with the idempotency claim): then they run first
 * and the answer waits for them.
 */

static ngx_int_t
ngx_http_logistics_body_refuse(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_problem_e problem, const char *reason)
{
    if (!ctx->limits_deferred) {
        return ngx_http_logistics_deny(r, ctx, problem, reason);
    }

    ctx->body_refused = 1;
    ctx->body_problem = problem;
    ctx->body_reason = reason;

    return ngx_http_logistics_limits(r, ctx);
}


static void
ngx_http_logistics_body_cleanup(void *data)
{
    ngx_http_logistics_ctx_t  *ctx = data;

    /* the parsed body is gone already (kept buffers, reused) */

    lg_arena_free(&ctx->arena);
}
