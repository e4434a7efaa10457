
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_METRICS_INT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_METRICS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "lg_metrics.h"


/*
 * What the metrics module (its zone, its counting) and its endpoint
 * (ngx_http_logistics_metrics_endpoint.c) share; see the comment at the
 * top of ngx_http_logistics_metrics.c.
 */

typedef struct {
    ngx_pid_t                        pid;      /* 0: free */
    uint64_t                        *values;
} ngx_http_logistics_mset_t;


typedef struct ngx_http_logistics_mgen_s  ngx_http_logistics_mgen_t;

struct ngx_http_logistics_mgen_s {
    ngx_http_logistics_mgen_t       *next;
    ngx_uint_t                       id;
    const lg_metrics_layout_t       *layout;   /* the copy in the zone */
    size_t                           nslots;
    uint64_t                        *base;     /* folded counts */
    ngx_uint_t                       nsets;
    ngx_http_logistics_mset_t       *sets;
};


typedef struct {
    ngx_http_logistics_mgen_t       *gens;     /* newest first */
    ngx_http_logistics_mgen_t       *current;  /* newest a worker uses */
    ngx_uint_t                       next_id;
    int64_t                          loaded;   /* usec, the policy's */
    u_char                           digest[64];
} ngx_http_logistics_mshctx_t;


typedef struct ngx_http_logistics_metrics_main_conf_s
    ngx_http_logistics_metrics_main_conf_t;

typedef struct {
    ngx_http_logistics_mshctx_t             *sh;
    ngx_slab_pool_t                         *shpool;
    ngx_http_logistics_mgen_t               *gen;     /* this cycle's */
    ngx_http_logistics_metrics_main_conf_t  *mmcf;
} ngx_http_logistics_mzone_t;


struct ngx_http_logistics_metrics_main_conf_s {
    ngx_shm_zone_t                  *zone;
    ngx_flag_t                       per_partner;
    ngx_flag_t                       handler;  /* some location serves */
    lg_metrics_layout_t             *layout;
    int64_t                          loaded;   /* usec */
    ngx_cycle_t                     *cycle;
    ngx_http_logistics_main_conf_t  *lmcf;
};


typedef struct {
    ngx_flag_t                       zeros;
} ngx_http_logistics_metrics_loc_conf_t;


/*
 * A worker's scrape buffers (the summed counters, the text), kept from
 * one scrape to the next: a fresh multi-megabyte allocation per scrape
 * costs more in page faults than the rendering itself.
 */

typedef struct {
    u_char                          *data;
    size_t                           size;
    ngx_uint_t                       busy;     /* a scrape is sending it */
} ngx_http_logistics_mbuf_t;

#define NGX_HTTP_LOGISTICS_MBUF_SUM   0
#define NGX_HTTP_LOGISTICS_MBUF_TEXT  1


extern ngx_http_logistics_mbuf_t  ngx_http_logistics_metrics_bufs[2];


void ngx_http_logistics_metrics_reap(ngx_http_logistics_mzone_t *mz);
void ngx_http_logistics_metrics_retire(ngx_http_logistics_mzone_t *mz,
    ngx_log_t *log);
ngx_int_t ngx_http_logistics_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_LOGISTICS_METRICS_INT_H_INCLUDED_ */
