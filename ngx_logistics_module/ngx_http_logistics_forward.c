
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


static ngx_int_t ngx_http_logistics_rewrite_uri(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_route_match_t *match);
static ngx_int_t ngx_http_logistics_rewrite_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_push(ngx_list_t *headers, const char *key,
    const char *lowcase, u_char *value, size_t len);
static ngx_uint_t ngx_http_logistics_strip(ngx_table_elt_t *h);


/*
 * Step "forward": what Odoo receives is built from what the gateway
 * decided, never copied from the request: the URI from the matched route
 * and the version's upstream prefix, the headers rebuilt without the
 * partner's credentials and with the gateway's own.
 */

ngx_int_t
ngx_http_logistics_forward_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    if (ngx_http_logistics_rewrite_uri(r, ctx, &ctx->routing.match)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_logistics_rewrite_headers(r, ctx);
}


/*
 * The upstream URI is built from what was matched, never copied from the
 * request line: the version's upstream prefix, the template's literal
 * segments and the decoded parameter values.  r->uri holds it unescaped
 * and quoted_uri makes proxy_pass (without a URI part) escape it, exactly
 * as after a rewrite.
 */

static ngx_int_t
ngx_http_logistics_rewrite_uri(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_route_match_t *match)
{
    u_char              *p;
    size_t               len, i, param;
    uintptr_t            escape;
    const lg_route_t    *route;
    const lg_segment_t  *seg;
    const lg_version_t  *v;

    route = match->route;
    v = match->version;

    len = v->upstream_prefix.len;
    param = 0;

    for (i = 0; i < route->nsegments; i++) {
        seg = &route->segments[i];
        len += 1 + (seg->param ? match->params[param++].len : seg->text.len);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    r->uri.data = p;
    p = ngx_cpymem(p, v->upstream_prefix.data, v->upstream_prefix.len);
    param = 0;

    for (i = 0; i < route->nsegments; i++) {
        seg = &route->segments[i];
        *p++ = '/';

        if (seg->param) {
            p = ngx_cpymem(p, match->params[param].data,
                           match->params[param].len);
            param++;

        } else {
            p = ngx_cpymem(p, seg->text.data, seg->text.len);
        }
    }

    r->uri.len = p - r->uri.data;
    r->valid_unparsed_uri = 0;
    r->quoted_uri = 1;

    /* $logistics_upstream_uri: what proxy_pass will send */

    escape = 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len,
                                NGX_ESCAPE_URI);
    len = r->uri.len + escape + (r->args.len ? 1 + r->args.len : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->forward.upstream_uri.data = p;

    if (escape) {
        p = (u_char *) ngx_escape_uri(p, r->uri.data, r->uri.len,
                                      NGX_ESCAPE_URI);

    } else {
        p = ngx_cpymem(p, r->uri.data, r->uri.len);
    }

    if (r->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }

    ctx->forward.upstream_uri.len = p - ctx->forward.upstream_uri.data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "logistics route \"%s\" upstream uri \"%V\"",
                   route->id.data, &ctx->forward.upstream_uri);

    return NGX_OK;
}


/* headers a partner must never be able to send to Odoo */

static ngx_uint_t
ngx_http_logistics_strip(ngx_table_elt_t *h)
{
    static ngx_str_t  names[] = {
        ngx_string("authorization"),
        ngx_string("x-api-key"),
        ngx_string("x-request-id"),
        ngx_string("traceparent"),
        ngx_string("tracestate"),
        ngx_null_string
    };

    ngx_str_t  *n;

    if (h->key.len >= sizeof("x-logistics-") - 1
        && ngx_strncasecmp(h->key.data, (u_char *) "x-logistics-",
                           sizeof("x-logistics-") - 1) == 0)
    {
        return 1;
    }

    for (n = names; n->len; n++) {
        if (h->key.len == n->len
            && ngx_strncasecmp(h->key.data, n->data, n->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The request headers are rebuilt rather than patched: whatever
 * proxy_pass_request_headers or proxy_set_header say, the credential the
 * partner presented and any spoofed X-Logistics-* header cannot reach
 * Odoo, because they are no longer in the request.
 */

static ngx_int_t
ngx_http_logistics_rewrite_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_str_t          method;
    ngx_uint_t         i, n;
    ngx_list_t         old, *headers;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h, *copy;
    const lg_partner_t  *partner;

    ngx_http_logistics_loc_conf_t  *lcf;

    partner = ctx->partner;

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    /* the old list stays in the pool; iterate it from a copy */

    old = r->headers_in.headers;
    headers = &r->headers_in.headers;

    if (ngx_list_init(headers, r->pool, n + 8, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &old.part;
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

        if (ngx_http_logistics_strip(&h[i])) {
            continue;
        }

        copy = ngx_list_push(headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    r->headers_in.authorization = NULL;

    if (ctx->auth.bearer) {
        ngx_str_set(&method, "bearer");

    } else if (ctx->auth.mtls) {
        ngx_str_set(&method, "mtls");

    } else {
        ngx_str_set(&method, "api_key");
    }

    if (ngx_http_logistics_push(headers, "X-Logistics-Partner",
                                "x-logistics-partner",
                                (u_char *) partner->id.data, partner->id.len)
        != NGX_OK
        || ngx_http_logistics_push(headers, "X-Logistics-Auth",
                                   "x-logistics-auth", method.data,
                                   method.len)
           != NGX_OK
        || ngx_http_logistics_push(headers, "X-Logistics-Route",
                                   "x-logistics-route",
                                   (u_char *) ctx->route->id.data,
                                   ctx->route->id.len)
           != NGX_OK
        || ngx_http_logistics_push(headers, "X-Logistics-Api-Version",
                                   "x-logistics-api-version",
                                   (u_char *) ctx->version->name.data,
                                   ctx->version->name.len)
           != NGX_OK
        || ngx_http_logistics_push(headers, "X-Request-Id",
                                   "x-request-id",
                                   ctx->request_id.data, ctx->request_id.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* which credential: the API key's id, or the token's id */

    if (ctx->key != NULL
        && ngx_http_logistics_push(headers, "X-Logistics-Key-Id",
                                   "x-logistics-key-id",
                                   (u_char *) ctx->key->id.data,
                                   ctx->key->id.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->auth.token_jti.len
        && ngx_http_logistics_push(headers, "X-Logistics-Token-Id",
                                   "x-logistics-token-id",
                                   ctx->auth.token_jti.data,
                                   ctx->auth.token_jti.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* W3C Trace Context: the gateway's span continues the trace */

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (ngx_http_logistics_trace_init(r, &ctx->trace, ctx->in.traceparent,
                                      &old)
        != NGX_OK
        || ngx_http_logistics_trace_headers(r, &ctx->trace,
                                            lcf->trace_context, &old,
                                            headers)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (partner->odoo_authorization.len) {
        /* built at policy load: the header value is shared, not copied */
        if (ngx_http_logistics_push(headers, "Authorization",
                                "authorization",
                                (u_char *) partner->odoo_authorization.data,
                                partner->odoo_authorization.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_push(ngx_list_t *headers, const char *key,
    const char *lowcase, u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;
    h->lowcase_key = (u_char *) lowcase;
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);

    return NGX_OK;
}
