
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Step "authorize".  The effective scopes (ctx->scopes) are what the
 * credential grants within what the partner is allowed: all of the
 * partner's scopes for an API key or a certificate, the token's scopes
 * capped by the partner's for a bearer token.
 */

static ngx_int_t ngx_http_logistics_scopes_allowed(const lg_policy_t *policy,
    ngx_http_logistics_ctx_t *ctx, const lg_route_t *route);
static ngx_int_t ngx_http_logistics_insufficient_scope(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


ngx_int_t
ngx_http_logistics_authorize_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (!lg_policy_route_allowed(ctx->partner, ctx->route)) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_ROUTE_NOT_ALLOWED,
                                         "route-not-allowed");
    }

    if (!ngx_http_logistics_scopes_allowed(lmcf->policy, ctx, ctx->route)) {
        return ngx_http_logistics_insufficient_scope(r, ctx);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_scopes_allowed(const lg_policy_t *policy,
    ngx_http_logistics_ctx_t *ctx, const lg_route_t *route)
{
    size_t  i;

    for (i = 0; i < policy->scope_words; i++) {
        if (route->scopes[i] & ~ctx->scopes[i]) {
            return 0;
        }
    }

    return 1;
}


/* RFC 6750 insufficient_scope, naming every scope the route needs */

static ngx_int_t
ngx_http_logistics_insufficient_scope(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                       *p, *c, *last;
    size_t                        len, i;
    const char                   *scheme;
    const lg_route_t             *route;
    ngx_http_logistics_answer_t  *a;

    route = ctx->route;
    scheme = ctx->auth.bearer ? "Bearer" : "ApiKey";

    (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INSUFFICIENT_SCOPE,
                                     "insufficient-scope");
    a = &ctx->answer;

    len = sizeof("ApiKey realm=\"logistics\", error=\"insufficient_scope\", "
                 "scope=\"\"");

    /* a quoted-string: '"' and '\\' would take two bytes each */

    for (i = 0; i < route->nscope_list; i++) {
        len += 2 * route->scope_list[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    a->challenge.data = p;
    p = ngx_sprintf(p, "%s realm=\"logistics\", error=\"insufficient_scope\","
                    " scope=\"", scheme);

    for (i = 0; i < route->nscope_list; i++) {
        if (i > 0) {
            *p++ = ' ';
        }

        c = (u_char *) route->scope_list[i].data;
        last = c + route->scope_list[i].len;

        /* RFC 6750 scope-token characters only; quoted as the header needs */

        for ( /* void */ ; c < last; c++) {
            if (*c <= 0x20 || *c >= 0x7f) {
                continue;
            }

            if (*c == '"' || *c == '\\') {
                *p++ = '\\';
            }

            *p++ = *c;
        }
    }

    *p++ = '"';
    a->challenge.len = p - a->challenge.data;

    return NGX_HTTP_LOGISTICS_REFUSE;
}
