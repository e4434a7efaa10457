
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_WEBHOOK_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_WEBHOOK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


typedef struct {
    ngx_str_t                   id;            /* as the sender names it */
    ngx_str_t                   key;           /* the idempotency key: the
                                                  signed id, or the body's
                                                  digest; len 0: none */
    ngx_str_t                   body;          /* the bytes verified */
    unsigned                    id_signed:1;   /* else the key is the
                                                  body's digest */
    unsigned                    reading:1;
    unsigned                    done:1;        /* read completely */
} ngx_http_logistics_webhook_ctx_t;


/*
 * Routes with "auth": ["webhook"]: the body is read (at most the route's
 * max_body_size) and its signature checked with the secrets of the
 * partner the URL names (ngx_http_logistics_auth.c); only then is the
 * partner the caller.  401 invalid-signature or webhook-timestamp, 413.
 */
ngx_int_t ngx_http_logistics_webhook_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_WEBHOOK_H_INCLUDED_ */
