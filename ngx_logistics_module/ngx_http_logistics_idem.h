
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_IDEM_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_IDEM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "lg_idem.h"


/* where a request stands with its Idempotency-Key */
#define NGX_HTTP_LOGISTICS_IDEM_NONE       0
#define NGX_HTTP_LOGISTICS_IDEM_NEW        1   /* claimed, forwarded */
#define NGX_HTTP_LOGISTICS_IDEM_CAPTURE    2   /* copying the response */
#define NGX_HTTP_LOGISTICS_IDEM_STORED     3
#define NGX_HTTP_LOGISTICS_IDEM_RELEASED   4
#define NGX_HTTP_LOGISTICS_IDEM_REPLAYED   5
#define NGX_HTTP_LOGISTICS_IDEM_CONFLICT   6
#define NGX_HTTP_LOGISTICS_IDEM_MISMATCH   7
#define NGX_HTTP_LOGISTICS_IDEM_BYPASSED   8


typedef struct {
    ngx_uint_t                  state;
    ngx_str_t                   key;           /* lg:{partner}:idem:... */
    ngx_str_t                   lock;          /* our lock record; len 0:
                                                  no claim prepared */
    u_char                      fp[LG_IDEM_FP_LEN];
    ngx_msec_t                  claim_sent;    /* before Redis set it */

    /* the response of a claimed key, on its way out */
    ngx_uint_t                  status;
    ngx_str_t                   headers;
    ngx_buf_t                  *captured;
    unsigned                    oversize:1;
} ngx_http_logistics_idem_ctx_t;


/*
 * The Idempotency-Key header: 400 when it is required and missing or
 * malformed; otherwise the fingerprint of the request and the lock record
 * that claims the key (with Redis, the limits step sends the claim).
 */
/* configuration time: with Redis, the script that stores and releases */
ngx_int_t ngx_http_logistics_idem_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);

ngx_int_t ngx_http_logistics_idem_prepare_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/*
 * The claim's outcome: claimed (go on), or someone's record: 409 while
 * in flight, 422 for another request, the stored response replayed, 410
 * when it was too large to keep.
 */
ngx_int_t ngx_http_logistics_idem_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* on the way out: the response of a claimed key is kept, or released */
void ngx_http_logistics_idem_header(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
void ngx_http_logistics_idem_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_chain_t *in);

/* an error page after an internal redirect: a 5xx releases the claim */
void ngx_http_logistics_idem_redirected(ngx_http_request_t *r);

/* $logistics_idempotency */
void ngx_http_logistics_idem_value(ngx_http_logistics_ctx_t *ctx,
    ngx_str_t *v);


#endif /* _NGX_HTTP_LOGISTICS_IDEM_H_INCLUDED_ */
