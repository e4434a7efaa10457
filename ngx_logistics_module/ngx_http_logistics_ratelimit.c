
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * Step 4 of the pipeline.  NGX_OK: within limits (or none apply);
 * NGX_DECLINED: refused by a limit, ctx->retry_after is set; NGX_ABORT:
 * the partner is suspended in Redis; NGX_BUSY: the state store is down
 * and the fail mode is closed; NGX_AGAIN: waiting for Redis; NGX_ERROR:
 * the shared memory zone failed.
 */

ngx_int_t
ngx_http_logistics_rate_limit(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t                        rc;
    const lg_str_t                  *key;
    const lg_rate_t                 *route_rate;
    const lg_partner_t              *partner;
    ngx_http_logistics_main_conf_t  *lmcf;

    partner = ctx->partner;
    route_rate = NULL;

    if (partner->route_rates != NULL) {
        route_rate = partner->route_rates[ctx->route->index];
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (partner->rate) {
        ctx->limits[ctx->nlimits].key.data =
                                         (u_char *) partner->limit_key.data;
        ctx->limits[ctx->nlimits].key.len = partner->limit_key.len;
        ctx->limits[ctx->nlimits].name = "partner";
        ctx->limits[ctx->nlimits].rate = partner->rate;
        ctx->nlimits++;
    }

    if (route_rate) {
        key = &partner->route_limit_keys[ctx->route->index];
        ctx->limits[ctx->nlimits].key.data = (u_char *) key->data;
        ctx->limits[ctx->nlimits].key.len = key->len;
        ctx->limits[ctx->nlimits].name = "route";
        ctx->limits[ctx->nlimits].rate = route_rate;
        ctx->nlimits++;
    }

    if (lmcf->redis != NULL) {
        /* every request: the limits and the suspension check together */

        rc = ngx_http_logistics_redis_limit(r);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->redis_rc = NGX_ERROR;
        ngx_str_set(&ctx->redis_error, "not connected");

        return ngx_http_logistics_rate_finish(r, ctx);
    }

    if (ctx->nlimits == 0) {
        return NGX_OK;
    }

    ctx->redis_rc = NGX_DONE;      /* no Redis: the zone decides */

    return ngx_http_logistics_rate_finish(r, ctx);
}


/* turns the state store's answer into the step's result */

ngx_int_t
ngx_http_logistics_rate_finish(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int64_t                          wait;
    ngx_int_t                        rc;
    ngx_uint_t                       i, mode;
    ngx_http_logistics_loc_conf_t   *lcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    rc = ctx->redis_rc;

    if (rc == NGX_ERROR) {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
        lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

        mode = lcf->fail_mode;

        if (mode == NGX_CONF_UNSET_UINT) {
            mode = (ngx_uint_t) lmcf->policy->fail_mode;
        }

        ngx_http_logistics_redis_fallback(r->connection->log,
                                          (char *) ctx->redis_error.data,
                                          mode == LG_FAIL_CLOSED);

        if (mode == LG_FAIL_CLOSED) {
            ctx->nlimits = 0;
            ctx->retry_after = 1;
            return NGX_BUSY;
        }

        /* fail open: the same limits, counted on this node only */
        rc = NGX_DONE;
    }

    if (rc == NGX_DONE) {
        if (ctx->nlimits == 0) {
            return NGX_OK;
        }

        lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

        rc = ngx_http_logistics_zone_limit(lmcf->zone, ctx->limits,
                                           ctx->nlimits,
                                           ngx_http_logistics_now(),
                                           r->connection->log);
    }

    if (rc == NGX_DECLINED) {
        wait = 0;

        for (i = 0; i < ctx->nlimits; i++) {
            if (ctx->limits[i].result.retry_after > wait) {
                wait = ctx->limits[i].result.retry_after;
            }
        }

        /* Retry-After is in whole seconds: round up, never 0 */
        ctx->retry_after = (wait + 999999) / 1000000;

        if (ctx->retry_after == 0) {
            ctx->retry_after = 1;
        }
    }

    return rc;
}


/*
 * IETF httpapi RateLimit headers (draft-ietf-httpapi-ratelimit-headers):
 *   RateLimit-Policy: "partner";q=600;w=60, "route";q=10;w=1
 *   RateLimit: "partner";r=42;t=6, "route";r=4;t=1
 * and, when asked for, the legacy X-RateLimit-* trio for the most
 * restrictive limit.
 */

ngx_int_t
ngx_http_logistics_rate_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                         *p, *q;
    size_t                          len;
    int64_t                         reset;
    ngx_str_t                       value;
    ngx_uint_t                      i, tight;
    ngx_http_logistics_limit_t     *l;
    ngx_http_logistics_loc_conf_t  *lcf;

    len = ctx->nlimits
          * (sizeof("\"partner\";q=;w=, ") - 1 + 2 * NGX_INT64_LEN);

    p = ngx_pnalloc(r->pool, 2 * len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    q = p + len;
    value.data = p;
    tight = 0;

    for (i = 0; i < ctx->nlimits; i++) {
        l = &ctx->limits[i];

        p = ngx_sprintf(p, "%s\"%s\";q=%L;w=%L", i ? ", " : "", l->name,
                        l->rate->count, lg_rate_window(l->rate));

        if (l->result.remaining < ctx->limits[tight].result.remaining) {
            tight = i;
        }
    }

    value.len = p - value.data;

    if (ngx_http_logistics_add_out_header(r, "RateLimit-Policy", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    value.data = q;

    for (i = 0; i < ctx->nlimits; i++) {
        l = &ctx->limits[i];
        reset = (l->result.reset + 999999) / 1000000;

        q = ngx_sprintf(q, "%s\"%s\";r=%L;t=%L", i ? ", " : "", l->name,
                        l->result.remaining, reset);
    }

    value.len = q - value.data;

    if (ngx_http_logistics_add_out_header(r, "RateLimit", &value) == NULL) {
        return NGX_ERROR;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (!lcf->legacy_headers) {
        return NGX_OK;
    }

    l = &ctx->limits[tight];

    p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%L", l->rate->count) - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Limit", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    p += value.len;
    value.data = p;
    value.len = ngx_sprintf(p, "%L", l->result.remaining) - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Remaining", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    p += value.len;
    value.data = p;
    value.len = ngx_sprintf(p, "%L", (l->result.reset + 999999) / 1000000)
                - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Reset", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
