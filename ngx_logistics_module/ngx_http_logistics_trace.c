
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_trace.h"
#include "ngx_http_logistics_util.h"


static ngx_int_t ngx_http_logistics_trace_state(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_list_t *headers);
static ngx_int_t ngx_http_logistics_trace_push(ngx_list_t *headers,
    ngx_table_elt_t *h, const char *key, u_char *value, size_t len);


/*
 * W3C Trace Context: a valid traceparent is continued (its trace id and
 * flags kept, the sampled and random flags included) with a new parent
 * id, the gateway's span; its tracestate goes on unchanged.  None, or an
 * invalid one (version ff, all-zero ids, upper case, ...), starts a new
 * trace with random ids, and its tracestate is dropped with it.
 */

ngx_int_t
ngx_http_logistics_trace_init(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_table_elt_t *traceparent,
    ngx_list_t *headers)
{
    u_char            random[LG_TRACE_ID_LEN / 2 + LG_SPAN_ID_LEN / 2];
    lg_traceparent_t  tp;

    if (tr->ready) {
        return NGX_OK;
    }

    if (ngx_http_logistics_random(random, sizeof(random)) != NGX_OK) {
        return NGX_ERROR;
    }

    lg_trace_id_hex((char *) tr->span_id, random + LG_TRACE_ID_LEN / 2,
                    LG_SPAN_ID_LEN / 2);

    if (traceparent != NULL
        && lg_traceparent_parse((const char *) traceparent->value.data,
                                traceparent->value.len, &tp)
           == 0)
    {
        ngx_memcpy(tr->trace_id, tp.trace_id, LG_TRACE_ID_LEN);
        ngx_memcpy(tr->parent_id, tp.parent_id, LG_SPAN_ID_LEN);
        tr->flags = tp.flags & LG_TRACE_KNOWN_FLAGS;
        tr->continued = 1;

        if (ngx_http_logistics_trace_state(r, tr, headers) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        /* our ids are random: Level 2's random flag says so */
        lg_trace_id_hex((char *) tr->trace_id, random, LG_TRACE_ID_LEN / 2);
        tr->flags = LG_TRACE_SAMPLED | LG_TRACE_RANDOM;
    }

    lg_traceparent_write((char *) tr->traceparent, (char *) tr->trace_id,
                         (char *) tr->span_id, tr->flags);

    tr->ready = 1;

    return NGX_OK;
}


/*
 * Several tracestate headers are one list (RFC 9110 field lines):
 * combined in their order, each value as it came.
 */

static ngx_int_t
ngx_http_logistics_trace_state(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_list_t *headers)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i, pass;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = 0;
    p = NULL;

    for (pass = 0; pass < 2; pass++) {

        part = &headers->part;
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

            if (!ngx_http_logistics_header_is(&h[i], "tracestate")
                || h[i].value.len == 0)
            {
                continue;
            }

            if (pass == 0) {
                len += h[i].value.len + 1;
                continue;
            }

            if (p != tr->tracestate.data) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
        }

        if (pass == 0) {
            if (len == 0) {
                return NGX_OK;
            }

            tr->tracestate.data = ngx_pnalloc(r->pool, len);
            if (tr->tracestate.data == NULL) {
                return NGX_ERROR;
            }

            p = tr->tracestate.data;
        }
    }

    tr->tracestate.len = p - tr->tracestate.data;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_trace_headers(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_uint_t on, ngx_list_t *old,
    ngx_list_t *headers)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (on) {
        if (ngx_http_logistics_trace_push(headers, NULL, "traceparent",
                                          tr->traceparent,
                                          LG_TRACEPARENT_LEN)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (tr->tracestate.len
            && ngx_http_logistics_trace_push(headers, NULL, "tracestate",
                                             tr->tracestate.data,
                                             tr->tracestate.len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    /* off: what the request carries (perhaps set by another module) */

    part = &old->part;
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

        if ((ngx_http_logistics_header_is(&h[i], "traceparent")
             || ngx_http_logistics_header_is(&h[i], "tracestate"))
            && ngx_http_logistics_trace_push(headers, &h[i], NULL, NULL, 0)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a copy of "h", or a new header "key: value" */

static ngx_int_t
ngx_http_logistics_trace_push(ngx_list_t *headers, ngx_table_elt_t *h,
    const char *key, u_char *value, size_t len)
{
    ngx_table_elt_t  *copy;

    copy = ngx_list_push(headers);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    if (h != NULL) {
        *copy = *h;
        return NGX_OK;
    }

    /* "traceparent" and "tracestate" are lowercase already */

    ngx_memzero(copy, sizeof(ngx_table_elt_t));
    copy->key.data = (u_char *) key;
    copy->key.len = ngx_strlen(key);
    copy->lowcase_key = (u_char *) key;
    copy->hash = ngx_hash_key(copy->lowcase_key, copy->key.len);
    copy->value.data = value;
    copy->value.len = len;

    return NGX_OK;
}
