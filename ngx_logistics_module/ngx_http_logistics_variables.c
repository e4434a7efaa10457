
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
    NGX_HTTP_LOGISTICS_VAR_UPSTREAM_HOST,
    NGX_HTTP_LOGISTICS_VAR_TRACE_ID,
    NGX_HTTP_LOGISTICS_VAR_SPAN_ID,
    NGX_HTTP_LOGISTICS_VAR_TRACEPARENT,
    NGX_HTTP_LOGISTICS_VAR_RATELIMIT_REMAINING,
    NGX_HTTP_LOGISTICS_VAR_SCHEMA_ERRORS,
    NGX_HTTP_LOGISTICS_VAR_PRIORITY,
    NGX_HTTP_LOGISTICS_VAR_ODOO_IN_FLIGHT
} ngx_http_logistics_var_e;


static ngx_int_t ngx_http_logistics_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_logistics_scopes_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value);
static ngx_int_t ngx_http_logistics_upstream_host(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_logistics_audit_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_http_logistics_var_e var,
    ngx_str_t *value);


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

    { ngx_string("logistics_upstream_host"), NULL,
      ngx_http_logistics_upstream_host,
      NGX_HTTP_LOGISTICS_VAR_UPSTREAM_HOST, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_trace_id"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_TRACE_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_span_id"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_SPAN_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_traceparent"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_TRACEPARENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_ratelimit_remaining"), NULL,
      ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_RATELIMIT_REMAINING, NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("logistics_schema_errors"), NULL,
      ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_SCHEMA_ERRORS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_priority"), NULL, ngx_http_logistics_variable,
      NGX_HTTP_LOGISTICS_VAR_PRIORITY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("logistics_odoo_in_flight"), NULL,
      ngx_http_logistics_variable, NGX_HTTP_LOGISTICS_VAR_ODOO_IN_FLIGHT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

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

    case NGX_HTTP_LOGISTICS_VAR_UPSTREAM_HOST:
        /* ngx_http_logistics_upstream_host() */
        break;

    case NGX_HTTP_LOGISTICS_VAR_PRIORITY:
        if (ngx_http_logistics_protect_priority_value(r, ctx, &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_LOGISTICS_VAR_ODOO_IN_FLIGHT:
        if (ngx_http_logistics_protect_in_flight_value(r, ctx, &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        break;

    default:
        if (ngx_http_logistics_audit_value(r, ctx,
                                           (ngx_http_logistics_var_e) data,
                                           &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
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


/*
 * $logistics_upstream_host, for "proxy_set_header Host": the version's
 * upstream_host, else the upstream's own name ($proxy_host, known once
 * proxy_pass runs).  Never the partner's Host.
 */

static ngx_int_t
ngx_http_logistics_upstream_host(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_variable_value_t       *proxy_host;
    ngx_http_logistics_ctx_t        *ctx;
    ngx_http_logistics_main_conf_t  *lmcf;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_logistics_module);

    if (ctx != NULL && ctx->version != NULL
        && ctx->version->upstream_host.len)
    {
        v->len = ctx->version->upstream_host.len;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        v->data = (u_char *) ctx->version->upstream_host.data;

        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    proxy_host = ngx_http_get_flushed_variable(r, lmcf->proxy_host_index);

    if (proxy_host == NULL) {
        return NGX_ERROR;
    }

    *v = *proxy_host;

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


/*
 * What the audit log correlates on: the W3C trace id, the gateway's span
 * id and the traceparent sent to Odoo (the same for a refused request:
 * the trace its log line belongs to), the fewest requests left under the
 * partner's limits, and the JSON Schema errors of the body.
 */

static ngx_int_t
ngx_http_logistics_audit_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_http_logistics_var_e var,
    ngx_str_t *value)
{
    u_char                           *p;
    int64_t                           remaining;
    ngx_uint_t                        i;
    ngx_http_logistics_limits_ctx_t  *lm;

    ngx_str_null(value);

    switch (var) {

    case NGX_HTTP_LOGISTICS_VAR_TRACE_ID:
    case NGX_HTTP_LOGISTICS_VAR_SPAN_ID:
    case NGX_HTTP_LOGISTICS_VAR_TRACEPARENT:

        if (ctx->request_id.len == 0) {
            /* the pipeline did not start: no trace either */
            return NGX_OK;
        }

        if (ngx_http_logistics_trace_init(r, &ctx->trace, ctx->in.traceparent,
                                          &r->headers_in.headers)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (var == NGX_HTTP_LOGISTICS_VAR_TRACE_ID) {
            value->data = ctx->trace.trace_id;
            value->len = LG_TRACE_ID_LEN;

        } else if (var == NGX_HTTP_LOGISTICS_VAR_SPAN_ID) {
            value->data = ctx->trace.span_id;
            value->len = LG_SPAN_ID_LEN;

        } else {
            value->data = ctx->trace.traceparent;
            value->len = LG_TRACEPARENT_LEN;
        }

        return NGX_OK;

    case NGX_HTTP_LOGISTICS_VAR_RATELIMIT_REMAINING:
        lm = &ctx->limits;

        if (lm->nlimits == 0) {
            return NGX_OK;
        }

        remaining = lm->limits[0].result.remaining;

        for (i = 1; i < lm->nlimits; i++) {
            remaining = ngx_min(remaining, lm->limits[i].result.remaining);
        }

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value->data = p;
        value->len = ngx_sprintf(p, "%L", remaining) - p;

        return NGX_OK;

    case NGX_HTTP_LOGISTICS_VAR_SCHEMA_ERRORS:

        if (!ctx->body.validated) {
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value->data = p;
        value->len = ngx_sprintf(p, "%ui", ctx->body.schema_errors) - p;

        return NGX_OK;

    default:
        return NGX_OK;
    }
}
