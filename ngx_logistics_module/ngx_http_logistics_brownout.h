
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_BROWNOUT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_BROWNOUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "lg_protect.h"


/*
 * The brownout level, one word in the logistics_zone that every request
 * of a protected API reads.  One node: an operator sets it through the
 * logistics_brownout location.  Several nodes: it lives in Redis
 * (lg:brownout, "logistics-policy degrade"), and every worker copies it
 * into the zone twice a second, so a change reaches every gateway within
 * a second.
 */

#define NGX_HTTP_LOGISTICS_BROWNOUT_POLL  500      /* ms */


/* the level in the zone (off when the state has no zone) */
void ngx_http_logistics_brownout_get(ngx_http_logistics_protect_conf_t *pc,
    lg_brownout_t *b);
void ngx_http_logistics_brownout_set(ngx_http_logistics_protect_conf_t *pc,
    const lg_brownout_t *b);

/* where the level comes from: "redis" or "zone" */
const char *ngx_http_logistics_brownout_source(
    ngx_http_logistics_main_conf_t *lmcf);

/* the wall clock in ms since the epoch (brownouts end at such times) */
int64_t ngx_http_logistics_wall_ms(void);

/* a worker starts and stops: with Redis, the level is read on a timer */
ngx_int_t ngx_http_logistics_brownout_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_main_conf_t *lmcf);
void ngx_http_logistics_brownout_exit_process(void);


#endif /* _NGX_HTTP_LOGISTICS_BROWNOUT_H_INCLUDED_ */
