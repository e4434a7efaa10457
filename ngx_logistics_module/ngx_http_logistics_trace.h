
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_TRACE_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_TRACE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_trace.h"


/*
 * W3C Trace Context for the request: the trace it belongs to (the
 * partner's, when it sent a valid traceparent, else a new one) and the
 * gateway's own span, which is the parent Odoo sees.  A leaf: the forward
 * step and the variables call it, it knows no step.
 */

typedef struct {
    u_char                      trace_id[LG_TRACE_ID_LEN];
    u_char                      span_id[LG_SPAN_ID_LEN];    /* ours */
    u_char                      parent_id[LG_SPAN_ID_LEN];  /* the caller's */
    u_char                      traceparent[LG_TRACEPARENT_LEN];  /* sent */
    ngx_str_t                   tracestate;    /* the caller's, combined */
    unsigned                    flags:8;
    unsigned                    ready:1;
    unsigned                    continued:1;   /* the caller's trace */
} ngx_http_logistics_trace_t;


/*
 * Fills "tr" once per request: "traceparent" is the request's one valid
 * traceparent header (NULL: none, or several), "headers" the list its
 * tracestate headers are in.
 */
ngx_int_t ngx_http_logistics_trace_init(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_table_elt_t *traceparent,
    ngx_list_t *headers);

/*
 * The trace headers of the request rebuilt for Odoo.  "on": traceparent
 * with the gateway's span as parent, and the caller's tracestate as it
 * was.  Off (another module, such as nginx's OpenTelemetry module, owns
 * trace context): the request's own traceparent and tracestate headers
 * from "old", untouched.
 */
ngx_int_t ngx_http_logistics_trace_headers(ngx_http_request_t *r,
    ngx_http_logistics_trace_t *tr, ngx_uint_t on, ngx_list_t *old,
    ngx_list_t *headers);


#endif /* _NGX_HTTP_LOGISTICS_TRACE_H_INCLUDED_ */
