
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_filter.h"


static ngx_int_t ngx_http_logistics_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_logistics_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_logistics_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_logistics_body_filter;

    return NGX_OK;
}


/*
 * On the way out: the request id on every gateway response, and the
 * RFC 9745 / RFC 8594 deprecation headers for deprecated versions.
 */

static ngx_int_t
ngx_http_logistics_header_filter(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_str_t                  value;
    ngx_uint_t                 i;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    const lg_version_t        *v;
    ngx_http_logistics_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (r->header_only) {
        /* no body will follow: an Odoo slot is free now */
        ngx_http_logistics_protect_header(r, ctx);
    }

    if (ctx == NULL) {
        if (r->internal) {
            /* an error page: the request's context went with a redirect */
            ngx_http_logistics_idem_redirected(r);
        }

        return ngx_http_next_header_filter(r);
    }

    /* redirects and the log see the partner's own Host name again */
    ngx_http_logistics_forward_restore(r, ctx);

    part = &r->headers_out.headers.part;
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

        if (h[i].hash != 0
            && h[i].key.len == sizeof("X-Request-Id") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Request-Id",
                               sizeof("X-Request-Id") - 1) == 0)
        {
            h[i].hash = 0;
        }
    }

    if (ctx->request_id.len
        && ngx_http_logistics_add_out_header(r, "X-Request-Id",
                                             &ctx->request_id)
           == NULL)
    {
        return NGX_ERROR;
    }

    if (ctx->limits.nlimits
        && ngx_http_logistics_limits_headers(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->idem.state == NGX_HTTP_LOGISTICS_IDEM_NEW) {
        /* Odoo's answer to a claimed key: keep it, or release the key */
        ngx_http_logistics_idem_header(r, ctx);
    }

    v = ctx->version;

    if (v == NULL) {
        return ngx_http_next_header_filter(r);
    }

    if (v->deprecated != LG_TIME_UNSET) {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "@%L", v->deprecated) - p;

        if (ngx_http_logistics_add_out_header(r, "Deprecation", &value)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    if (v->sunset != LG_TIME_UNSET) {
        p = ngx_pnalloc(r->pool, LG_IMF_FIXDATE_LEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = lg_time_format_imf(v->sunset, (char *) p,
                                       LG_IMF_FIXDATE_LEN + 1);

        if (ngx_http_logistics_add_out_header(r, "Sunset", &value) == NULL) {
            return NGX_ERROR;
        }
    }

    if (ctx->routing.successor.len) {
        p = ngx_pnalloc(r->pool, ctx->routing.successor.len
                                 + sizeof("<>; rel=\"successor-version\"") - 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "<%V>; rel=\"successor-version\"",
                                &ctx->routing.successor)
                    - p;

        if (ngx_http_logistics_add_out_header(r, "Link", &value) == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/*
 * A copy of the response of a claimed Idempotency-Key; the Odoo slot of
 * the request once its answer is complete.
 */

static ngx_int_t
ngx_http_logistics_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_logistics_ctx_t  *ctx;

    if (r == r->main && in != NULL) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

        if (ctx != NULL
            && ctx->idem.state == NGX_HTTP_LOGISTICS_IDEM_CAPTURE)
        {
            ngx_http_logistics_idem_body(r, ctx, in);
        }

        ngx_http_logistics_protect_body(r, ctx, in);
    }

    return ngx_http_next_body_filter(r, in);
}
