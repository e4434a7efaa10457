
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Step "inspect": one pass over the request headers finds the ones the
 * later steps read, and the request gets its id (the partner's, when it
 * is a plausible one, else a fresh random one).  A header the pipeline
 * decides on must come once: with two Content-Type, Idempotency-Key,
 * API-Version, Authorization or X-API-Key headers, Odoo and the gateway
 * could each read another one, so the request is refused, not resolved.
 */

static void ngx_http_logistics_scan_headers(ngx_http_request_t *r,
    ngx_http_logistics_inspect_t *in);


ngx_int_t
ngx_http_logistics_inspect_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_scan_headers(r, &ctx->in);

    if (ngx_http_logistics_request_id(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->in.repeated) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_AMBIGUOUS,
                                         "duplicate-header");
    }

    return NGX_OK;
}


static void
ngx_http_logistics_scan_headers(ngx_http_request_t *r,
    ngx_http_logistics_inspect_t *in)
{
    ngx_uint_t        i, content_types, authorizations;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    content_types = 0;
    authorizations = 0;
    in->scanned = 1;

    part = &r->headers_in.headers.part;
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

        if (ngx_http_logistics_header_is(&h[i], "X-API-Key")) {
            in->repeated |= (in->api_key != NULL);
            in->api_key = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "API-Version")) {
            in->repeated |= (in->api_version != NULL);
            in->api_version = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "Content-Type")) {
            in->repeated |= (content_types++ > 0);

        } else if (ngx_http_logistics_header_is(&h[i], "Authorization")) {
            /* nginx itself refuses this one today; be sure anyway */
            in->repeated |= (authorizations++ > 0);

        } else if (ngx_http_logistics_header_is(&h[i], "X-Request-Id")) {
            in->request_id = &h[i];
            in->request_ids += in->request_ids < 2;

        } else if (ngx_http_logistics_header_is(&h[i], "Idempotency-Key")) {
            in->repeated |= (in->idem_key != NULL);
            in->idem_key = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "Content-Encoding"))
        {
            in->content_encoding = &h[i];

        } else if (ngx_http_logistics_header_is(&h[i], "traceparent")) {
            in->traceparent = &h[i];
            in->traceparents += in->traceparents < 2;
        }
    }

    /*
     * Several copies of an id header are ambiguous: W3C Trace Context
     * says to restart the trace, and a fresh request id is the same idea.
     */

    if (in->request_ids > 1) {
        in->request_id = NULL;
    }

    if (in->traceparents > 1) {
        in->traceparent = NULL;
    }
}


/*
 * A partner's X-Request-Id is kept when it is a plausible id, so both
 * sides can quote the same id to support; anything else (too long, odd
 * bytes that would end up in logs) is replaced by a random one.
 */

ngx_int_t
ngx_http_logistics_request_id(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char           *p;
    ngx_uint_t        i;
    ngx_str_t        *in;
    u_char            random[16];

    if (!ctx->in.scanned) {
        /* outside the pipeline: the headers were not looked at yet */
        ngx_http_logistics_scan_headers(r, &ctx->in);
    }

    if (ctx->in.request_id != NULL) {
        in = &ctx->in.request_id->value;

        if (in->len > 0 && in->len <= NGX_HTTP_LOGISTICS_REQUEST_ID_MAX) {

            for (i = 0; i < in->len; i++) {
                p = &in->data[i];

                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
                      || *p == '.' || *p == ':'))
                {
                    break;
                }
            }

            if (i == in->len) {
                ctx->request_id = *in;
                return NGX_OK;
            }
        }
    }

    p = ngx_pnalloc(r->pool, 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_logistics_random(random, sizeof(random)) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ngx_hex_dump(p, random, sizeof(random));

    ctx->request_id.data = p;
    ctx->request_id.len = 32;

    return NGX_OK;
}
