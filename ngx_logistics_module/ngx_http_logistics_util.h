
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_UTIL_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_UTIL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_arena.h"


/*
 * Small helpers shared by several glue files.  A leaf: it knows nothing
 * of the pipeline, its steps or the request context.
 */

#define ngx_http_logistics_header_is(h, name)                                 \
    ((h)->key.len == sizeof(name) - 1                                         \
     && ngx_strncasecmp((h)->key.data, (u_char *) name, sizeof(name) - 1)     \
        == 0)


/* the cached time in microseconds (millisecond resolution) */
int64_t ngx_http_logistics_now(void);

/* unpredictable bytes, drawn from OpenSSL in blocks */
ngx_int_t ngx_http_logistics_random(u_char *buf, size_t len);

/* a copy of a core string in the pool; len 0 copies nothing */
ngx_int_t ngx_http_logistics_copy(ngx_pool_t *pool, ngx_str_t *dst,
    const lg_str_t *src);

/* a response header with a constant name */
ngx_table_elt_t *ngx_http_logistics_add_out_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);

/*
 * Waiting on the event loop (Redis, a timer): the request is left alone
 * until resumed, except that a client who goes away is noticed.
 */
void ngx_http_logistics_suspend(ngx_http_request_t *r);

/* runs the request's phases again, from where it waits */
void ngx_http_logistics_resume(ngx_http_request_t *r);

/*
 * The request body, once read, in one buffer: nginx's own when it fit
 * client_body_buffer_size, else a copy (from its temp file too).
 */
ngx_int_t ngx_http_logistics_read_whole_body(ngx_http_request_t *r, off_t max,
    ngx_http_client_body_handler_pt handler);
ngx_int_t ngx_http_logistics_body_bytes(ngx_http_request_t *r, u_char **data,
    size_t *len);

/* SHA-256 of the client certificate (DER): NGX_DECLINED when none */
ngx_int_t ngx_http_logistics_cert_sha256(ngx_http_request_t *r,
    u_char *digest);


#endif /* _NGX_HTTP_LOGISTICS_UTIL_H_INCLUDED_ */
