
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_metrics.h"


/*
 * Step "body".  A body where the route takes none (GET, HEAD, DELETE, or
 * "body": "none") is refused, or read and dropped ("drop").  Every other
 * body is read here on the event loop (nginx's own request body reader)
 * and counted by a request body filter as it arrives, so it is cut off
 * as soon as it passes the route's max_body_size.  On a route with a JSON
 * Schema it is also checked for media type, charset and encoding, parsed
 * strictly (duplicate keys, invalid UTF-8, deep nesting are refused) and
 * validated against the schema compiled when the policy loaded.  The body
 * itself is never modified: Odoo gets the bytes the partner sent.
 */

static ngx_int_t ngx_http_logistics_media_type_ok(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_charset_ok(u_char *p, u_char *last);
static ngx_int_t ngx_http_logistics_body_start(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_body_too_large(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_request_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static ngx_int_t ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_invalid(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_schema_result_t *res);
static void ngx_http_logistics_body_cleanup(void *data);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


static const lg_schema_t *
ngx_http_logistics_body_schema(ngx_http_logistics_ctx_t *ctx)
{
    return ctx->route->compiled[ctx->version->index];
}


/*
 * application/json or application/<anything>+json, in UTF-8 (RFC 8259
 * 8.1: a charset parameter, if any, says utf-8), and not encoded: the
 * validator reads the bytes Odoo will get.
 */

static ngx_int_t
ngx_http_logistics_media_type_ok(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char      *p, *last, *semi, *end;
    size_t       len;
    ngx_str_t   *ce;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    if (ctx->in.content_encoding != NULL) {
        ce = &ctx->in.content_encoding->value;

        if (ce->len != sizeof("identity") - 1
            || ngx_strncasecmp(ce->data, (u_char *) "identity", ce->len)
               != 0)
        {
            return 0;
        }
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;
    last = end;

    semi = ngx_strlchr(p, last, ';');
    if (semi != NULL) {
        last = semi;

        if (!ngx_http_logistics_charset_ok(semi, end)) {
            return 0;
        }
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


/* the parameters from the first ";": a charset must be utf-8 */

static ngx_int_t
ngx_http_logistics_charset_ok(u_char *p, u_char *last)
{
    u_char  *name, *value, *end;

    while (p < last) {
        p++;                                   /* the ";" */

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        end = ngx_strlchr(p, last, ';');
        if (end == NULL) {
            end = last;
        }

        name = p;
        value = ngx_strlchr(p, end, '=');

        if (value != NULL && value - name == sizeof("charset") - 1
            && ngx_strncasecmp(name, (u_char *) "charset",
                               sizeof("charset") - 1) == 0)
        {
            value++;

            while (end > value && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            if (end - value >= 2 && value[0] == '"' && end[-1] == '"') {
                value++;
                end--;
            }

            if (end - value != sizeof("utf-8") - 1
                || ngx_strncasecmp(value, (u_char *) "utf-8",
                                   sizeof("utf-8") - 1) != 0)
            {
                return 0;
            }
        }

        p = ngx_strlchr(p, last, ';');
        if (p == NULL) {
            break;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_logistics_body_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_uint_t         has_body;
    const lg_route_t  *route;

    if (ctx->body.reading) {
        if (!ctx->body.done) {
            return NGX_AGAIN;
        }

        /* the body arrived, or was cut off */
        ctx->body.reading = 0;

        if (ctx->body.too_large) {
            return ngx_http_logistics_body_too_large(r, ctx);
        }

        return ngx_http_logistics_body_check(r, ctx);
    }

    route = ctx->route;
    has_body = r->headers_in.content_length_n > 0 || r->headers_in.chunked;

    if (route->body != LG_BODY_ALLOWED) {

        if (!has_body) {
            return NGX_OK;
        }

        if (route->body == LG_BODY_NONE) {
            /* the rest of the body is never read: no keep-alive */
            r->keepalive = 0;
            r->lingering_close = 1;

            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_NOT_ALLOWED,
                                             "body-not-allowed");
        }

        /* LG_BODY_DROP: read, bounded as any body, and not forwarded */
        ctx->body.drop = 1;

        return ngx_http_logistics_body_start(r, ctx);
    }

    if (ngx_http_logistics_body_schema(ctx) != NULL) {

        if (!ngx_http_logistics_media_type_ok(r, ctx)) {
            return ngx_http_logistics_refuse(ctx,
                                         LG_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                                         "unsupported-media-type");
        }

    } else if (!has_body) {
        /* nothing to read; an Idempotency-Key covers the empty body */
        return NGX_OK;
    }

    return ngx_http_logistics_body_start(r, ctx);
}


/*
 * Every body the gateway lets through is read here, on the event loop,
 * and counted by the request body filter below as it arrives: the
 * request is refused as soon as it passes the route's max_body_size,
 * chunked or not, before the rest is read or stored.
 */

static ngx_int_t
ngx_http_logistics_body_start(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (r->headers_in.content_length_n > ctx->route->max_body_size) {
        /* Content-Length says so: not a byte of it is read */
        r->keepalive = 0;
        r->lingering_close = 1;

        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    ctx->body.reading = 1;
    ctx->body.in_call = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_logistics_body_read);

    ctx->body.in_call = 0;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* nginx gave up reading: over a limit, bad chunks, timed out */
        ctx->body.reading = 0;
        ctx->body.done = 0;

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return ngx_http_logistics_body_too_large(r, ctx);
        }

        r->keepalive = 0;

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


static ngx_int_t
ngx_http_logistics_body_too_large(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    /* what is left of the body is never read as a next request */
    r->keepalive = 0;
    r->lingering_close = 1;

    return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                     "body-too-large");
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


ngx_int_t
ngx_http_logistics_body_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_logistics_request_body_filter;

    return NGX_OK;
}


/*
 * Counts what arrives before it is stored.  Past max_body_size the
 * reading stops: inside the body step's own call to the reader, the
 * reader returns 413 to it; later, on a read event, the reader is left
 * with an error it does not act on, and the pipeline is resumed to answer
 * with the problem (the reader would send nginx's own HTML page).
 */

static ngx_int_t
ngx_http_logistics_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_chain_t               *cl;
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx == NULL || !ctx->body.reading) {
        return ngx_http_next_request_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        ctx->body.received += ngx_buf_size(cl->buf);
    }

    if (ctx->body.received <= ctx->route->max_body_size) {
        return ngx_http_next_request_body_filter(r, in);
    }

    ctx->body.too_large = 1;

    if (ctx->body.in_call) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    ctx->body.done = 1;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_post_event(r->connection->write, &ngx_posted_events);

    return NGX_ERROR;
}


/* after the body arrived: size, syntax, contract */

static ngx_int_t
ngx_http_logistics_body_check(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int                              rc;
    u_char                          *data;
    size_t                           len;
    uint64_t                         start;
    lg_error_t                       err;
    ngx_pool_cleanup_t              *cln;
    lg_schema_result_t               res;
    const lg_policy_t               *policy;
    ngx_http_logistics_answer_t     *a;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ctx->body.drop) {
        /* read to the end, so the connection stays usable; Odoo gets none */
        if (r->request_body != NULL) {
            r->request_body->bufs = NULL;
        }

        r->headers_in.content_length_n = -1;
        r->headers_in.content_length = NULL;
        r->headers_in.chunked = 0;

        return NGX_OK;
    }

    if (ngx_http_logistics_body_bytes(r, &data, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    if ((int64_t) len > ctx->route->max_body_size) {
        return ngx_http_logistics_body_too_large(r, ctx);
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

    start = ngx_http_logistics_metrics_clock();

    rc = lg_schema_validate_body(ngx_http_logistics_body_schema(ctx),
                                 (const char *) data, len, &res, &err);

    ngx_http_logistics_observe(LG_MF_SCHEMA_DURATION,
                               ngx_http_logistics_metrics_route(ctx->route,
                                                                ctx->version),
                               ngx_http_logistics_metrics_clock() - start);

    ctx->body.validated = (rc != LG_SCHEMA_BODY_MALFORMED);
    ctx->body.schema_errors = res.nerrors;

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

    ngx_http_logistics_count1(LG_MF_SCHEMA_FAILURES,
                   ngx_http_logistics_metrics_route(ctx->route, ctx->version));

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
