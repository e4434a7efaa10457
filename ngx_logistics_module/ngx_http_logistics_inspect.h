
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_INSPECT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_INSPECT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


#define NGX_HTTP_LOGISTICS_REQUEST_ID_MAX  128


/* the request headers the pipeline reads, found in one pass */

typedef struct {
    ngx_table_elt_t            *api_key;
    ngx_table_elt_t            *api_version;
    ngx_table_elt_t            *request_id;
    ngx_table_elt_t            *traceparent;
    ngx_table_elt_t            *idem_key;
    ngx_table_elt_t            *content_encoding;
    unsigned                    scanned:1;
    unsigned                    repeated:1;    /* a header that must be
                                                  unique came twice */
    unsigned                    request_ids:2; /* seen, saturating */
    unsigned                    traceparents:2;
} ngx_http_logistics_inspect_t;


/*
 * The first step: those headers, and the request id.  400 when a header
 * the pipeline decides on is repeated.
 */
ngx_int_t ngx_http_logistics_inspect_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/*
 * The request id alone, for a refusal made outside the pipeline (the
 * guards against a bypassed gateway): the partner's when plausible.
 */
ngx_int_t ngx_http_logistics_request_id(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_INSPECT_H_INCLUDED_ */
