
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
static u_char *ngx_http_logistics_escape_path(u_char *dst, u_char *src,
    size_t len);
static ngx_int_t ngx_http_logistics_upstream_uri(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


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

    return ngx_http_logistics_upstream_uri(r, ctx);
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
    lg_route_match_t     match;
    const lg_version_t  *succ;

    succ = ctx->version->successor;

    if (lg_router_match(policy, succ->name.data, succ->name.len, method,
                        path->data, path->len, &match)
        != LG_ROUTE_FOUND)
    {
        path = NULL;
    }

    /* every byte of the path may need 3 when escaped */
    len = 1 + succ->name.len + (path ? 3 * path->len : 1);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->routing.successor.data = p;

    *p++ = '/';
    p = ngx_cpymem(p, succ->name.data, succ->name.len);

    if (path != NULL) {
        p = ngx_http_logistics_escape_path(p, (u_char *) path->data,
                                           path->len);

    } else {
        *p++ = '/';
    }

    ctx->routing.successor.len = p - ctx->routing.successor.data;

    return NGX_OK;
}


/*
 * The path goes into a header the gateway builds ("Link: <...>"): only
 * unreserved characters, "/" between segments, ":" and "@" stay as they
 * are; everything else is percent-encoded, so a crafted path cannot end
 * the target early and add parameters or another link.
 */

static u_char *
ngx_http_logistics_escape_path(u_char *dst, u_char *src, size_t len)
{
    u_char  c, *last;

    static const u_char  hex[] = "0123456789ABCDEF";

    for (last = src + len; src < last; src++) {
        c = *src;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '/' || c == ':' || c == '@')
        {
            *dst++ = c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0x0f];
    }

    return dst;
}


/*
 * The upstream URI is built from what was matched, never copied from the
 * request line: the version's upstream prefix, the template's literal
 * segments and the decoded parameter values.  It is built here, once:
 * the idempotency fingerprint covers it, and the forward step installs it
 * in r->uri (unescaped; quoted_uri makes proxy_pass without a URI part
 * escape it, exactly as after a rewrite).  upstream_uri is what
 * proxy_pass will send, escaped, with the query string.
 */

static ngx_int_t
ngx_http_logistics_upstream_uri(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char              *p;
    size_t               len, i, param;
    uintptr_t            escape;
    ngx_str_t           *path, *uri;
    lg_route_match_t    *match;
    const lg_route_t    *route;
    const lg_segment_t  *seg;
    const lg_version_t  *v;

    match = &ctx->routing.match;
    route = match->route;
    v = match->version;
    path = &ctx->routing.upstream_path;
    uri = &ctx->routing.upstream_uri;

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

    path->data = p;
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

    path->len = p - path->data;

    escape = 2 * ngx_escape_uri(NULL, path->data, path->len, NGX_ESCAPE_URI);

    if (escape == 0 && r->args.len == 0) {
        *uri = *path;
        return NGX_OK;
    }

    len = path->len + escape + (r->args.len ? 1 + r->args.len : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    uri->data = p;

    if (escape) {
        p = (u_char *) ngx_escape_uri(p, path->data, path->len,
                                      NGX_ESCAPE_URI);

    } else {
        p = ngx_cpymem(p, path->data, path->len);
    }

    if (r->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }

    uri->len = p - uri->data;

    return NGX_OK;
}
