
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "lg_ratelimit.h"


/* one limit a request must fit: its state key, rate and outcome */

typedef struct {
    ngx_str_t                     key;
    const char                   *name;       /* "partner" or "route" */
    const lg_rate_t              *rate;
    lg_rate_result_t              result;
} ngx_http_logistics_limit_t;


typedef struct ngx_http_logistics_shctx_s  ngx_http_logistics_shctx_t;

typedef struct {
    ngx_http_logistics_shctx_t   *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_logistics_zone_t;


ngx_shm_zone_t *ngx_http_logistics_zone_add(ngx_conf_t *cf, ngx_str_t *value);

/*
 * Checks every limit and commits the new states only if all of them
 * allow the request, atomically under the zone lock.  NGX_OK: allowed;
 * NGX_DECLINED: refused (see each result); NGX_ERROR: the zone is full.
 */
ngx_int_t ngx_http_logistics_zone_limit(ngx_shm_zone_t *shm_zone,
    ngx_http_logistics_limit_t *limits, ngx_uint_t n, int64_t now,
    ngx_log_t *log);


#endif /* _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_ */
