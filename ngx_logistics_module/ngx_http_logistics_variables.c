
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_variables.h"


typedef enum {
    NGX_HTTP_LOGISTICS_VAR_PARTNER = 0,
    NGX_HTTP_LOGISTICS_VAR_KEY_ID,
    NGX_HTTP_LOGISTICS_VAR_ROUTE,
    NGX_HTTP_LOGISTICS_VAR_API_VERSION,
    NGX_HTTP_LOGISTICS_VAR_DECISION,
    NGX_HTTP_LOGISTICS_VAR_REQUEST_ID,
    NGX_HTTP_LOGISTICS_VAR_UPSTREAM_URI,
    NGX_HTTP_LOGISTICS_VAR_TOKEN_JTI,
    NGX_HTTP_LOGISTICS_VAR_TOKEN_SUB,
    NGX_HTTP_LOGISTICS_VAR_SCOPES,
    NGX_HTTP_LOGISTICS_VAR_TOKEN_CACHE,
    NGX_HTTP_LOGISTICS_VAR_IDEMPOTENCY,
    NGX_HTTP_LOGISTICS_VAR_WEBHOOK_ID,
    NGX_HTTP_LOGISTICS_VAR_WEBHOOK_EVENT,
    NGX_HTTP_LOGISTICS_VAR_WEBHOOK_URL,
    NGX_HTTP_LOGISTICS_VAR_WEBHOOK_DELIVERY
} ngx_http_logistics_var_e;


static ngx_int_t ngx_http_logistics_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_logistics_scopes_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value);


static ngx_http_variable_t  ngx_http_logistics_vars[] = {

    { ngx_string("logistics_partner"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_PARTNER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_key_id"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_KEY_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_route"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_ROUTE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_api_version"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_API_VERSION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_decision"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_DECISION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_request_id"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_REQUEST_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_upstream_uri"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_UPSTREAM_URI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_token_jti"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_TOKEN_JTI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_token_sub"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_TOKEN_SUB, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_scopes"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_SCOPES, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_token_cache"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_TOKEN_CACHE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_idempotency"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_IDEMPOTENCY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_webhook_id"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_WEBHOOK_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_webhook_event"), NULL,
      ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_WEBHOOK_EVENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_webhook_url"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_WEBHOOK_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_webhook_delivery"), NULL,
      ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_WEBHOOK_DELIVERY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_logistics_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_logistics_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                  value;
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_logistics_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_str_null(&value);

    switch ((ngx_http_logistics_var_e) data) {

    case NGX_HTTP_LOGISTICS_VAR_PARTNER:
        if (ctx->partner) {
            value.data = (u_char *) ctx->partner->id.data;
            value.len = ctx->partner->id.len;
        }
        break;

    case NGX_HTTP_LOGISTICS_VAR_KEY_ID:
        if (ctx->key) {
            value.data = (u_char *) ctx->key->id.data;
            value.len = ctx->key->id.len;
        }
        break;

    case NGX_HTTP_LOGISTICS_VAR_ROUTE:
        if (ctx->route) {
            value.data = (u_char *) ctx->route->id.data;
            value.len = ctx->route->id.len;
        }
        break;

    case NGX_HTTP_LOGISTICS_VAR_API_VERSION:
        if (ctx->version) {
            value.data = (u_char *) ctx->version->name.data;
            value.len = ctx->version->name.len;
        }
        break;

    case NGX_HTTP_LOGISTICS_VAR_DECISION:
        value = ctx->decision;
        break;

    case NGX_HTTP_LOGISTICS_VAR_REQUEST_ID:
        value = ctx->request_id;
        break;

    case NGX_HTTP_LOGISTICS_VAR_UPSTREAM_URI:
        value = ctx->forward.upstream_uri;
        break;

    case NGX_HTTP_LOGISTICS_VAR_TOKEN_JTI:
        value = ctx->auth.token_jti;
        break;

    case NGX_HTTP_LOGISTICS_VAR_TOKEN_SUB:
        value = ctx->auth.token_sub;
        break;

    case NGX_HTTP_LOGISTICS_VAR_IDEMPOTENCY:
        ngx_http_logistics_idem_value(ctx, &value);
        break;

    case NGX_HTTP_LOGISTICS_VAR_WEBHOOK_ID:
        value = ctx->webhook.id.len ? ctx->webhook.id : ctx->outbound.id;
        break;

    case NGX_HTTP_LOGISTICS_VAR_WEBHOOK_EVENT:
        if (ctx->outbound.event) {
            value.data = (u_char *) ctx->outbound.event->type.data;
            value.len = ctx->outbound.event->type.len;
        }
        break;

    /* proxy_pass's target: only once the event is signed */

    case NGX_HTTP_LOGISTICS_VAR_WEBHOOK_URL:
        if (ctx->outbound.sent) {
            value.data = (u_char *) ctx->outbound.event->url.data;
            value.len = ctx->outbound.event->url.len;
        }
        break;

    case NGX_HTTP_LOGISTICS_VAR_WEBHOOK_DELIVERY:
        ngx_http_logistics_delivery_outcome(r, ctx, &value);
        break;

    case NGX_HTTP_LOGISTICS_VAR_TOKEN_CACHE:
        if (ctx->auth.bearer) {
            if (ctx->auth.token_cached) {
                ngx_str_set(&value, "hit");

            } else {
                ngx_str_set(&value, "miss");
            }
        }

        break;

    case NGX_HTTP_LOGISTICS_VAR_SCOPES:
        if (ngx_http_logistics_scopes_value(r, ctx, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        break;
    }

    if (value.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = value.data;

    return NGX_OK;
}


/* $logistics_scopes: the effective scopes, space-separated */

static ngx_int_t
ngx_http_logistics_scopes_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value)
{
    u_char                          *p;
    size_t                           i, len;
    const lg_policy_t               *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    ngx_str_null(value);

    if (ctx->scopes == NULL) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    len = 0;

    for (i = 0; i < policy->nscopes; i++) {
        if (ctx->scopes[i / 64] & ((uint64_t) 1 << (i % 64))) {
            len += policy->scopes[i].len + 1;
        }
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value->data = p;

    for (i = 0; i < policy->nscopes; i++) {
        if (ctx->scopes[i / 64] & ((uint64_t) 1 << (i % 64))) {
            if (p != value->data) {
                *p++ = ' ';
            }

            p = ngx_cpymem(p, policy->scopes[i].data, policy->scopes[i].len);
        }
    }

    value->len = p - value->data;

    return NGX_OK;
}
