
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_ROUTE_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_ROUTE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


typedef struct {
    lg_route_match_t            match;
    ngx_str_t                   successor;     /* Link target; len 0: none */
    ngx_str_t                   upstream_path; /* unescaped, for r->uri */
    ngx_str_t                   upstream_uri;  /* escaped, with the query */
} ngx_http_logistics_route_ctx_t;


/*
 * Method + path template, API version; 404, 405, 410.  Also builds the
 * upstream URI, which the idempotency fingerprint covers and the forward
 * step installs.
 */
ngx_int_t ngx_http_logistics_route_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_ROUTE_H_INCLUDED_ */
