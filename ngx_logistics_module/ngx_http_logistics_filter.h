
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_FILTER_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_FILTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * On the way out: the request id, rate-limit and deprecation headers,
 * and the copy of a response an Idempotency-Key will replay.
 */
ngx_int_t ngx_http_logistics_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_LOGISTICS_FILTER_H_INCLUDED_ */
