
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
    ngx_uint_t                  schema_errors; /* when validated */
    unsigned                    validated:1;   /* against a schema */
    unsigned                    reading:1;
    unsigned                    done:1;        /* read completely */
} ngx_http_logistics_body_ctx_t;


/*
 * The request body of a route with a JSON Schema (or an idempotency key,
 * whose fingerprint covers the body): read on the event loop, checked
 * for media type and size, parsed and validated.  413, 415, 400, 422.
 */
ngx_int_t ngx_http_logistics_body_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_BODY_H_INCLUDED_ */
