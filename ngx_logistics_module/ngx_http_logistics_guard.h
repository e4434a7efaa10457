
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_GUARD_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_GUARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * The gateway cannot be bypassed: "nginx -t" refuses a gateway location
 * whose access phase can be skipped (satisfy any, internal, an
 * error_page redirect into a location without the gateway), and two
 * phase handlers hold at run time what the configuration cannot show (a
 * rewrite that leaves a gateway location before its access phase, a
 * subrequest into one).
 */
ngx_int_t ngx_http_logistics_guard_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);


#endif /* _NGX_HTTP_LOGISTICS_GUARD_H_INCLUDED_ */
