
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
    lg_route_match_t            match;         /* kept for "forward" */
    ngx_str_t                   successor;     /* Link target; len 0: none */
} ngx_http_logistics_route_ctx_t;


/* method + path template, API version; 404, 405, 410 */
ngx_int_t ngx_http_logistics_route_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_ROUTE_H_INCLUDED_ */
