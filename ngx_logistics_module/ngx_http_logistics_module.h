
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_policy.h"
#include "lg_problem.h"
#include "lg_router.h"
#include "ngx_http_logistics_redis.h"


/*
 * What every glue file shares: the configuration and the name of the
 * request context.  The context itself, with one member per pipeline
 * step, is in ngx_http_logistics_ctx.h; the steps, in the order the
 * access handler runs them, are listed in ngx_http_logistics_handler.c.
 */

typedef struct ngx_http_logistics_ctx_s  ngx_http_logistics_ctx_t;
typedef struct ngx_http_logistics_step_s  ngx_http_logistics_step_t;
typedef struct ngx_http_logistics_protect_conf_s
    ngx_http_logistics_protect_conf_t;


/* what a cached token's verdict depends on, per issuer */

typedef struct {
    u_char                      digest[32];    /* lg_jwt_rules_digest() */
} ngx_http_logistics_issuer_rules_t;


typedef struct {
    lg_policy_t                *policy;
    ngx_str_t                   policy_file;
    ngx_flag_t                  enabled;       /* some location is on */
    ngx_shm_zone_t             *zone;          /* logistics_zone */
    ngx_shm_zone_t             *idem_zone;     /* idempotency records,
                                                  without Redis */
    ngx_http_logistics_redis_conf_t  *redis;   /* logistics_redis */
    const u_char               *limit_sha;     /* the limit script's */
    const u_char               *idem_sha;      /* the idempotency swap */
    const ngx_http_logistics_step_t  *steps;   /* the pipeline's order */
    ngx_int_t                   host_index;    /* $host, $http_host: the */
    ngx_int_t                   http_host_index;  /* forward step's */
    ngx_int_t                   proxy_host_index;
    ngx_http_logistics_issuer_rules_t  *issuer_rules;  /* by issuer index */
    ngx_http_logistics_protect_conf_t  *protect;  /* NULL: no API protects
                                                    its Odoo */
} ngx_http_logistics_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  deny_log_level;
    ngx_str_t                   problem_type_base;
    ngx_uint_t                  fail_mode;     /* LG_FAIL_*; unset: policy */
    ngx_flag_t                  legacy_headers;
    ngx_flag_t                  token_cache;
    ngx_flag_t                  trace_context; /* W3C headers are ours */
    ngx_flag_t                  webhook_outbound;  /* Odoo's events */
} ngx_http_logistics_loc_conf_t;


extern ngx_module_t  ngx_http_logistics_module;


#endif /* _NGX_HTTP_LOGISTICS_MODULE_H_INCLUDED_ */
