
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Step "body": the request body of a route with a JSON Schema.  The body is
 * read on the event loop (nginx's own request body reader), checked for
 * media type and size, parsed strictly (duplicate keys, invalid UTF-8,
 * deep nesting are refused) and validated against the schema compiled
 * when the policy loaded.  The body itself is never modified: Odoo gets
 * the bytes the partner sent.
 */

static ngx_int_t ngx_http_logistics_media_type_ok(ngx_http_request_t *r);
static void ngx_http_logistics_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
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


ngx_int_t
ngx_http_logistics_body_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->body.reading) {
        if (!ctx->body.done) {
            return NGX_AGAIN;
        }

        /* the body arrived */
        ctx->body.reading = 0;

        return ngx_http_logistics_body_check(r, ctx);
    }

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
        return ngx_http_logistics_refuse(ctx,
                                         LG_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                                         "unsupported-media-type");
    }

    if (r->headers_in.content_length_n > ctx->route->max_body_size) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

read:

    ctx->body.reading = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_logistics_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* nginx gave up reading: over client_max_body_size, bad chunks */
        ctx->body.reading = 0;
        ctx->body.done = 0;

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                             "body-too-large");
        }

        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BAD_REQUEST,
                                         "body-unreadable");
    }

    /*
     * Balances the reference the body reader took.  When the body was
     * all there, the reader has called ngx_http_logistics_body_read()
     * already and the pipeline went on from there.
     */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_AGAIN;
}


static void
ngx_http_logistics_body_read(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->body.done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* after the body arrived: size, syntax, contract */

static ngx_int_t
ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int                              rc;
    u_char                          *data;
    size_t                           len;
    lg_error_t                       err;
    ngx_pool_cleanup_t              *cln;
    lg_schema_result_t               res;
    const lg_policy_t               *policy;
    ngx_http_logistics_answer_t     *a;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ngx_http_logistics_body_bytes(r, &data, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    if ((int64_t) len > ctx->route->max_body_size) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    ctx->body.bytes.data = data;
    ctx->body.bytes.len = len;

    if (ngx_http_logistics_body_schema(ctx) == NULL) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_logistics_body_cleanup;
    cln->data = ctx;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    ngx_memzero(&res, sizeof(lg_schema_result_t));
    res.max_errors = policy->max_errors;
    res.arena = &ctx->body.arena;

    /* tokens over the bytes as they are: no tree, no copy of the body */

    rc = lg_schema_validate_body(ngx_http_logistics_body_schema(ctx),
                                 (const char *) data, len, &res, &err);

    if (rc == LG_SCHEMA_BODY_MALFORMED) {
        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_MALFORMED_BODY,
                                         "malformed-body");

        a = &ctx->answer;
        a->detail.len = ngx_strlen(err.text);
        a->detail.data = ngx_pnalloc(r->pool, a->detail.len);
        if (a->detail.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(a->detail.data, err.text, a->detail.len);

        return NGX_HTTP_LOGISTICS_REFUSE;
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
        return NGX_ERROR;
    }

    return ngx_http_logistics_invalid(r, ctx, &res);
}


static ngx_int_t
ngx_http_logistics_invalid(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_schema_result_t *res)
{
    size_t                        len;
    ngx_http_logistics_answer_t  *a;

    (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INVALID_BODY,
                                     "invalid-body");
    a = &ctx->answer;

    len = lg_problem_errors(NULL, 0, res->errors, res->nerrors);

    a->extra.data = ngx_pnalloc(r->pool, len + 1);
    if (a->extra.data == NULL) {
        return NGX_ERROR;
    }

    a->extra.len = lg_problem_errors((char *) a->extra.data, len + 1,
                                     res->errors, res->nerrors);

    return NGX_HTTP_LOGISTICS_REFUSE;
}


static void
ngx_http_logistics_body_cleanup(void *data)
{
    ngx_http_logistics_ctx_t  *ctx = data;

    lg_arena_free(&ctx->body.arena);
}
