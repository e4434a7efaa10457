
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_VARIABLES_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_VARIABLES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* $logistics_partner, $logistics_decision, ... for log_format and maps */
ngx_int_t ngx_http_logistics_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_LOGISTICS_VARIABLES_H_INCLUDED_ */
