
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_BODY_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


typedef struct {
    ngx_str_t                   bytes;         /* the body, once read */
    lg_arena_t                  arena;         /* validation errors */
    off_t                       received;      /* counted while read */
    unsigned                    reading:1;
    unsigned                    done:1;        /* read completely */
    unsigned                    in_call:1;     /* inside the reader's
                                                  first call */
    unsigned                    too_large:1;   /* cut off while read */
    unsigned                    drop:1;        /* read, not forwarded */
} ngx_http_logistics_body_ctx_t;


/*
 * The request body: refused (400) or dropped where the route takes none;
 * elsewhere read on the event loop, bounded while it is read (413 as soon
 * as it passes max_body_size), checked for media type, parsed and
 * validated on routes with a JSON Schema.  413, 415, 400, 422.
 */
ngx_int_t ngx_http_logistics_body_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* the request body filter that counts the bytes as they arrive */
ngx_int_t ngx_http_logistics_body_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_LOGISTICS_BODY_H_INCLUDED_ */
