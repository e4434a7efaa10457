
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Step "route": which operation of which API version the request is.
 * The version comes from the first path segment ("/v2/...") or the
 * API-Version header; the router matches method and path against the
 * policy's templates.  Unknown paths get 404, known paths with another
 * method 405 with Allow (or 204 for OPTIONS), versions past their sunset
 * 410.  Deprecated versions get a Link to the successor on the way out.
 */

static ngx_int_t ngx_http_logistics_version(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_str_t *version, lg_str_t *path,
    u_char *buf);
static unsigned ngx_http_logistics_method(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_successor(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    unsigned method, lg_str_t *path);


ngx_int_t
ngx_http_logistics_route_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                          *vbuf;
    unsigned                         method;
    lg_str_t                         version, path;
    lg_route_match_t                *match;
    lg_route_status_e                status;
    const lg_policy_t               *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;
    match = &ctx->routing.match;

    vbuf = ngx_pnalloc(r->pool, 8);
    if (vbuf == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_logistics_version(r, ctx, &version, &path, vbuf) != NGX_OK) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_VERSION_REQUIRED,
                                         "version-required");
    }

    method = ngx_http_logistics_method(r);

    status = lg_router_match(policy, version.data, version.len, method,
                             path.data, path.len, match);

    if (status == LG_ROUTE_NOT_FOUND) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_NOT_FOUND,
                                         "not-found");
    }

    if (status == LG_ROUTE_NO_METHOD) {

        if (method == LG_METHOD_OPTIONS) {
            ngx_str_set(&ctx->decision, "options");
            return ngx_http_logistics_send_options(r, match->allow);
        }

        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_METHOD_NOT_ALLOWED,
                                         "method-not-allowed");
        ctx->answer.allow = match->allow;

        return NGX_HTTP_LOGISTICS_REFUSE;
    }

    ctx->route = match->route;
    ctx->version = match->version;

    if (match->version->successor != NULL
        && ngx_http_logistics_successor(r, ctx, policy, method, &path)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (match->version->sunset != LG_TIME_UNSET
        && (int64_t) ngx_time() >= match->version->sunset)
    {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_VERSION_SUNSET,
                                         "version-sunset");
    }

    return NGX_OK;
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

    ctx->routing.successor.data = p;

    *p++ = '/';
    p = ngx_cpymem(p, succ->name.data, succ->name.len);

    if (path != NULL) {
        p = (u_char *) ngx_escape_uri(p, (u_char *) path->data, path->len,
                                      NGX_ESCAPE_URI);

    } else {
        *p++ = '/';
    }

    ctx->routing.successor.len = p - ctx->routing.successor.data;

    return NGX_OK;
}
