
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_FORWARD_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_FORWARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


typedef struct {
    ngx_str_t                   upstream_uri;  /* escaped, with args */
    ngx_str_t                   server;        /* the partner's Host name,
                                                  given back on the way
                                                  out */
    unsigned                    installed:1;
} ngx_http_logistics_forward_ctx_t;


/*
 * The last step: the upstream URI and Host from the policy, and the
 * request headers rebuilt for Odoo from an allow-list.  nginx's own
 * proxy_pass does the rest.
 */
ngx_int_t ngx_http_logistics_forward_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* configuration time: the names of the headers the step sets */
ngx_int_t ngx_http_logistics_forward_init(ngx_conf_t *cf);

/* on the way out: the partner's own Host name again, for redirects */
void ngx_http_logistics_forward_restore(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_FORWARD_H_INCLUDED_ */
