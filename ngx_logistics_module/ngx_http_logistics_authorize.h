
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_AUTHORIZE_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_AUTHORIZE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * May this partner call this route: its route allow-list, then every
 * scope of the route among the request's effective scopes.  403.
 */
ngx_int_t ngx_http_logistics_authorize_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


#endif /* _NGX_HTTP_LOGISTICS_AUTHORIZE_H_INCLUDED_ */
