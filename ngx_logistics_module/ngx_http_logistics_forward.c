
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
static ngx_uint_t ngx_http_logistics_webhook_header(
    ngx_http_logistics_ctx_t *ctx, ngx_table_elt_t *h);
static ngx_int_t ngx_http_logistics_traceparent_valid(ngx_str_t *value);


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


/* a webhook's signature headers: the proof stays with the gateway */

static ngx_uint_t
ngx_http_logistics_webhook_header(ngx_http_logistics_ctx_t *ctx,
    ngx_table_elt_t *h)
{
    int       role;
    lg_str_t  name;

    if (!ctx->auth.webhook) {
        return 0;
    }

    for (role = 0; role < LG_WEBHOOK_NHEADERS; role++) {
        name = lg_webhook_header_name(ctx->partner->webhook,
                                      (lg_webhook_header_e) role);

        if (name.len && name.len == h->key.len
            && ngx_strncasecmp(h->key.data, (u_char *) name.data, name.len)
               == 0)
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
    u_char            *p;
    u_char             random[24];
    ngx_str_t          method;
    ngx_uint_t         i, n, keep_tracestate;
    ngx_list_t         old, *headers;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h, *copy, *tracestate;
    const lg_partner_t  *partner;

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

    keep_tracestate = ctx->in.traceparent != NULL
                      && ngx_http_logistics_traceparent_valid(
                             &ctx->in.traceparent->value);
    tracestate = NULL;

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

        if (ngx_http_logistics_strip(&h[i])
            || ngx_http_logistics_webhook_header(ctx, &h[i]))
        {

            if (keep_tracestate && tracestate == NULL
                && h[i].key.len == sizeof("tracestate") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "tracestate",
                                   sizeof("tracestate") - 1) == 0)
            {
                tracestate = &h[i];
            }

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

    } else if (ctx->auth.webhook) {
        ngx_str_set(&method, "webhook");

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

    if (ctx->webhook.id.len
        && ngx_http_logistics_push(headers, "X-Logistics-Webhook-Id",
                                   "x-logistics-webhook-id",
                                   ctx->webhook.id.data, ctx->webhook.id.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* W3C Trace Context: continue the partner's trace or start one */

    if (keep_tracestate) {
        if (ngx_http_logistics_push(headers, "traceparent",
                                "traceparent",
                                    ctx->in.traceparent->value.data,
                                    ctx->in.traceparent->value.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (tracestate != NULL
            && ngx_http_logistics_push(headers, "tracestate",
                                "tracestate",
                                       tracestate->value.data,
                                       tracestate->value.len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        p = ngx_pnalloc(r->pool, 55);
        if (p == NULL
            || ngx_http_logistics_random(random, sizeof(random)) != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* an all-zero id is invalid; 2^-128 odds, but be exact */
        random[0] |= 0x01;
        random[16] |= 0x01;

        ngx_memcpy(p, "00-", 3);
        ngx_hex_dump(p + 3, random, 16);
        p[35] = '-';
        ngx_hex_dump(p + 36, random + 16, 8);
        ngx_memcpy(p + 52, "-01", 3);

        if (ngx_http_logistics_push(headers, "traceparent",
                                "traceparent", p, 55)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
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


/* "00-" 32 hex "-" 16 hex "-" 2 hex, ids not all zero (W3C) */

static ngx_int_t
ngx_http_logistics_traceparent_valid(ngx_str_t *value)
{
    u_char      c, *p;
    ngx_uint_t  i, trace_zero, parent_zero;

    p = value->data;

    if (value->len != 55 || p[0] != '0' || p[1] != '0' || p[2] != '-'
        || p[35] != '-' || p[52] != '-')
    {
        return 0;
    }

    trace_zero = 1;
    parent_zero = 1;

    for (i = 3; i < 55; i++) {
        if (i == 35 || i == 52) {
            continue;
        }

        c = p[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }

        if (c != '0') {
            if (i < 35) {
                trace_zero = 0;

            } else if (i < 52) {
                parent_zero = 0;
            }
        }
    }

    return !trace_zero && !parent_zero;
}
