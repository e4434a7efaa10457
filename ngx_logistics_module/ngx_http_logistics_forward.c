
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


static ngx_int_t ngx_http_logistics_rewrite_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_uint_t ngx_http_logistics_allowed(ngx_table_elt_t *h,
    const lg_api_t *api);
static ngx_int_t ngx_http_logistics_gateway_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_list_t *headers);
static ngx_int_t ngx_http_logistics_host(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_list_t *headers);
static ngx_table_elt_t *ngx_http_logistics_push(ngx_list_t *headers,
    ngx_uint_t name, u_char *value, size_t len);
static ngx_uint_t ngx_http_logistics_webhook_header(
    ngx_http_logistics_ctx_t *ctx, ngx_table_elt_t *h);


/*
 * What Odoo may get from the partner, beyond the gateway's own headers
 * and what the API's forward_headers add: the representation of the body
 * and content negotiation.  Lowercase, as h->lowcase_key.  Content-Length
 * and Transfer-Encoding are proxy_pass's own; everything else (cookies,
 * X-Forwarded-*, Forwarded, X-Real-IP, X-Original-URL, method overrides,
 * X-Odoo-*, names with "_") is dropped.
 */

static ngx_str_t  ngx_http_logistics_allow_list[] = {
    ngx_string("content-type"),
    ngx_string("accept"),
    ngx_string("accept-language"),
    ngx_string("accept-encoding"),
    ngx_string("user-agent"),
    ngx_string("if-match"),
    ngx_string("if-none-match"),
    ngx_null_string
};


/*
 * The headers the gateway sets, with the hash of their lowercase names
 * computed once (proxy_pass looks them up by it): by index.
 */

#define NGX_HTTP_LOGISTICS_H_PARTNER       0
#define NGX_HTTP_LOGISTICS_H_AUTH          1
#define NGX_HTTP_LOGISTICS_H_ROUTE         2
#define NGX_HTTP_LOGISTICS_H_VERSION       3
#define NGX_HTTP_LOGISTICS_H_REQUEST_ID    4
#define NGX_HTTP_LOGISTICS_H_KEY_ID        5
#define NGX_HTTP_LOGISTICS_H_TOKEN_ID      6
#define NGX_HTTP_LOGISTICS_H_FORWARDED     7
#define NGX_HTTP_LOGISTICS_H_PROTO         8
#define NGX_HTTP_LOGISTICS_H_HOST          9
#define NGX_HTTP_LOGISTICS_H_FORWARDED_HOST  10
#define NGX_HTTP_LOGISTICS_H_AUTHORIZATION   11
#define NGX_HTTP_LOGISTICS_H_WEBHOOK_ID      12

typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   lowcase;
    ngx_uint_t                  hash;
} ngx_http_logistics_name_t;


static ngx_http_logistics_name_t  ngx_http_logistics_names[] = {
    { ngx_string("X-Logistics-Partner"), ngx_string("x-logistics-partner"),
      0 },
    { ngx_string("X-Logistics-Auth"), ngx_string("x-logistics-auth"), 0 },
    { ngx_string("X-Logistics-Route"), ngx_string("x-logistics-route"), 0 },
    { ngx_string("X-Logistics-Api-Version"),
      ngx_string("x-logistics-api-version"), 0 },
    { ngx_string("X-Request-Id"), ngx_string("x-request-id"), 0 },
    { ngx_string("X-Logistics-Key-Id"), ngx_string("x-logistics-key-id"),
      0 },
    { ngx_string("X-Logistics-Token-Id"), ngx_string("x-logistics-token-id"),
      0 },
    { ngx_string("X-Forwarded-For"), ngx_string("x-forwarded-for"), 0 },
    { ngx_string("X-Forwarded-Proto"), ngx_string("x-forwarded-proto"), 0 },
    { ngx_string("Host"), ngx_string("host"), 0 },
    { ngx_string("X-Forwarded-Host"), ngx_string("x-forwarded-host"), 0 },
    { ngx_string("Authorization"), ngx_string("authorization"), 0 },
    { ngx_string("X-Logistics-Webhook-Id"),
      ngx_string("x-logistics-webhook-id"), 0 },
    { ngx_null_string, ngx_null_string, 0 }
};


ngx_int_t
ngx_http_logistics_forward_init(ngx_conf_t *cf)
{
    ngx_http_logistics_name_t  *n;

    for (n = ngx_http_logistics_names; n->key.len; n++) {
        n->hash = ngx_hash_key(n->lowcase.data, n->lowcase.len);
    }

    return NGX_OK;
}


/*
 * Step "forward": what Odoo receives is built from what the gateway
 * decided, never copied from the request: the URI the route step built
 * from the matched route and the version's upstream prefix, the Host from
 * the policy, the headers rebuilt from an allow-list and the gateway's
 * own.
 */

ngx_int_t
ngx_http_logistics_forward_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    r->uri = ctx->routing.upstream_path;
    r->valid_unparsed_uri = 0;
    r->quoted_uri = 1;

    /* $logistics_upstream_uri: what proxy_pass will send */
    ctx->forward.upstream_uri = ctx->routing.upstream_uri;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "logistics route \"%s\" upstream uri \"%V\"",
                   ctx->route->id.data, &ctx->forward.upstream_uri);

    return ngx_http_logistics_rewrite_headers(r, ctx);
}


static ngx_uint_t
ngx_http_logistics_allowed(ngx_table_elt_t *h, const lg_api_t *api)
{
    size_t      i;
    ngx_str_t  *n;

    for (n = ngx_http_logistics_allow_list; n->len; n++) {
        if (h->key.len == n->len
            && ngx_strncmp(h->lowcase_key, n->data, n->len) == 0)
        {
            return 1;
        }
    }

    for (i = 0; i < api->nforward_headers; i++) {
        if (h->key.len == api->forward_headers[i].len
            && ngx_strncmp(h->lowcase_key, api->forward_headers[i].data,
                           h->key.len)
               == 0)
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
 * proxy_pass_request_headers says, a header the partner sent reaches Odoo
 * only when the allow-list names it, and the credential the partner
 * presented and any spoofed gateway header are no longer in the request.
 * The pointers nginx keeps to headers it knows ($http_referer,
 * $http_cookie, $proxy_add_x_forwarded_for read them) follow.
 */

static ngx_int_t
ngx_http_logistics_rewrite_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_uint_t                      i, n;
    ngx_list_t                      old, *headers;
    ngx_list_part_t                *part;
    ngx_table_elt_t                *h, *copy;
    const lg_api_t                 *api;
    const lg_partner_t             *partner;
    ngx_http_logistics_loc_conf_t  *lcf;

    api = ctx->route->api;
    partner = ctx->partner;

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    /* the old list stays in the pool; iterate it from a copy */

    old = r->headers_in.headers;
    headers = &r->headers_in.headers;

    if (ngx_list_init(headers, r->pool, n + 12, sizeof(ngx_table_elt_t))
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

        /* a webhook's signature stays here, even if the API lists it */
        if (ngx_http_logistics_allowed(&h[i], api)
            && !ngx_http_logistics_webhook_header(ctx, &h[i]))
        {
            copy = ngx_list_push(headers);
            if (copy == NULL) {
                return NGX_ERROR;
            }

            *copy = h[i];
        }
    }

    r->headers_in.authorization = NULL;
    r->headers_in.referer = NULL;
    r->headers_in.via = NULL;
    r->headers_in.cookies.nelts = 0;

#if (NGX_HTTP_X_FORWARDED_FOR)
    /* $proxy_add_x_forwarded_for: the client's address only */
    r->headers_in.x_forwarded_for.nelts = 0;
#endif

#if (NGX_HTTP_REALIP)
    r->headers_in.x_real_ip = NULL;
#endif

#if (NGX_HTTP_DAV)
    r->headers_in.depth = NULL;
    r->headers_in.destination = NULL;
    r->headers_in.overwrite = NULL;
    r->headers_in.date = NULL;
#endif

    /* W3C Trace Context: the gateway's span continues the trace */

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (ngx_http_logistics_gateway_headers(r, ctx, headers) != NGX_OK
        || ngx_http_logistics_trace_init(r, &ctx->trace, ctx->in.traceparent,
                                         &old)
           != NGX_OK
        || ngx_http_logistics_trace_headers(r, &ctx->trace,
                                            lcf->trace_context, &old,
                                            headers)
           != NGX_OK
        || ngx_http_logistics_host(r, ctx, headers) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (partner->odoo_authorization.len) {
        /* built at policy load: the header value is shared, not copied */
        if (ngx_http_logistics_push(headers,
                                    NGX_HTTP_LOGISTICS_H_AUTHORIZATION,
                                    (u_char *) partner->odoo_authorization.data,
                                    partner->odoo_authorization.len)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* who called, how, which operation: the gateway's word for it */

static ngx_int_t
ngx_http_logistics_gateway_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_list_t *headers)
{
    ngx_str_t            method;
    const lg_partner_t  *partner;

    partner = ctx->partner;

    if (ctx->auth.bearer) {
        ngx_str_set(&method, "bearer");

    } else if (ctx->auth.mtls) {
        ngx_str_set(&method, "mtls");

    } else if (ctx->auth.webhook) {
        ngx_str_set(&method, "webhook");

    } else {
        ngx_str_set(&method, "api_key");
    }

    if (ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_PARTNER,
                                (u_char *) partner->id.data, partner->id.len)
        == NULL
        || ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_AUTH,
                                   method.data, method.len)
           == NULL
        || ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_ROUTE,
                                   (u_char *) ctx->route->id.data,
                                   ctx->route->id.len)
           == NULL
        || ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_VERSION,
                                   (u_char *) ctx->version->name.data,
                                   ctx->version->name.len)
           == NULL
        || ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_REQUEST_ID,
                                   ctx->request_id.data, ctx->request_id.len)
           == NULL)
    {
        return NGX_ERROR;
    }

    /* which credential: the API key's id, or the token's id */

    if (ctx->key != NULL
        && ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_KEY_ID,
                                   (u_char *) ctx->key->id.data,
                                   ctx->key->id.len)
           == NULL)
    {
        return NGX_ERROR;
    }

    if (ctx->auth.token_jti.len
        && ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_TOKEN_ID,
                                   ctx->auth.token_jti.data,
                                   ctx->auth.token_jti.len)
           == NULL)
    {
        return NGX_ERROR;
    }

    /* the event id a signature vouched for (1 to 255 visible bytes) */

    if (ctx->webhook.id.len
        && ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_WEBHOOK_ID,
                                   ctx->webhook.id.data, ctx->webhook.id.len)
           == NULL)
    {
        return NGX_ERROR;
    }

    /* the connection as the gateway saw it, never the partner's story */

    if (ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_FORWARDED,
                                r->connection->addr_text.data,
                                r->connection->addr_text.len)
        == NULL)
    {
        return NGX_ERROR;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl != NULL) {
        if (ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_PROTO,
                                    (u_char *) "https", 5)
            == NULL)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }
#endif

    if (ngx_http_logistics_push(headers, NGX_HTTP_LOGISTICS_H_PROTO,
                                (u_char *) "http", 4)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Odoo picks its database from the Host name (dbfilter) and, behind a
 * proxy, from X-Forwarded-Host: both come from the version's
 * upstream_host, never from the partner.  Without one, proxy_pass sends
 * the upstream's own name and no X-Forwarded-Host is sent.  $host and
 * $http_host follow, as $uri follows the rewritten URI, so that a
 * "proxy_set_header Host $host" cannot bring the partner's name back; the
 * response filter gives $host back for redirects and the log.
 */

static ngx_int_t
ngx_http_logistics_host(ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx,
    ngx_list_t *headers)
{
    ngx_str_t                        host;
    ngx_http_variable_value_t       *v;
    ngx_http_logistics_main_conf_t  *lmcf;

    host.data = (u_char *) ctx->version->upstream_host.data;
    host.len = ctx->version->upstream_host.len;

    ctx->forward.server = r->headers_in.server;
    ctx->forward.installed = 1;

    r->headers_in.server = host;
    r->headers_in.host = NULL;

    if (host.len) {
        r->headers_in.host = ngx_http_logistics_push(headers,
                                                  NGX_HTTP_LOGISTICS_H_HOST,
                                                  host.data, host.len);

        if (r->headers_in.host == NULL
            || ngx_http_logistics_push(headers,
                                       NGX_HTTP_LOGISTICS_H_FORWARDED_HOST,
                                       host.data, host.len)
               == NULL)
        {
            return NGX_ERROR;
        }
    }

    /* a value computed before the rewrite must not be reused */

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    v = &r->variables[lmcf->host_index];
    v->valid = 0;
    v->not_found = 0;

    v = &r->variables[lmcf->http_host_index];
    v->valid = 0;
    v->not_found = 0;

    return NGX_OK;
}


void
ngx_http_logistics_forward_restore(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_variable_value_t       *v;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (!ctx->forward.installed) {
        return;
    }

    ctx->forward.installed = 0;
    r->headers_in.server = ctx->forward.server;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    v = &r->variables[lmcf->host_index];
    v->valid = 0;
    v->not_found = 0;
}


static ngx_table_elt_t *
ngx_http_logistics_push(ngx_list_t *headers, ngx_uint_t name, u_char *value,
    size_t len)
{
    ngx_table_elt_t            *h;
    ngx_http_logistics_name_t  *n;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NULL;
    }

    n = &ngx_http_logistics_names[name];

    h->key = n->key;
    h->value.data = value;
    h->value.len = len;
    h->lowcase_key = n->lowcase.data;
    h->hash = n->hash;

    return h;
}
