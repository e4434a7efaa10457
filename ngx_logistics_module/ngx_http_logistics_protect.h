
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_PROTECT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_PROTECT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "lg_policy_protect.h"
#include "lg_protect_status.h"


/*
 * "Protect Odoo": the shared state (in the logistics_zone, found by name
 * so workers of every configuration generation count in the same
 * counters), the step that takes a slot just before the request is
 * forwarded, and the release of that slot however the request ends.
 */


/* a circuit breaker's shared state: the core's, and its transitions */
typedef struct {
    lg_breaker_t                    breaker;
    int64_t                         events[LG_PROTECT_EVENTS];
} ngx_http_logistics_breaker_t;


/*
 * What each worker process holds, so that a worker that dies (a crash,
 * SIGKILL) does not keep its slots for ever: the worker that takes its
 * process slot next gives them back.
 */
typedef struct {
    int64_t                        *counter;
    int64_t                         held;
} ngx_http_logistics_lease_entry_t;

typedef struct {
    ngx_pid_t                       pid;
    ngx_uint_t                      n;
    ngx_http_logistics_lease_entry_t  entry[1];
} ngx_http_logistics_lease_t;

typedef struct {
    int64_t                         reclaimed;   /* slots taken back */
    ngx_http_logistics_lease_t     *slot[NGX_MAX_PROCESSES];
} ngx_http_logistics_leases_t;


/* the configuration's view of the shared state (filled in the master) */
struct ngx_http_logistics_protect_conf_s {
    ngx_shm_zone_t                 *zone;
    const lg_policy_t              *policy;
    lg_budget_api_t               **api;         /* by API index */
    lg_budget_partner_t           **partner;     /* by partner index */
    ngx_http_logistics_breaker_t  **breaker;     /* by breaker index */
    uint64_t                       *brownout;    /* lg_brownout_pack() */
    ngx_http_logistics_leases_t    *leases;
    ngx_uint_t                      napis;
    ngx_uint_t                      nentries;    /* 3 per API, 1 per
                                                    partner */
};


/* the step's own part of the request context */
typedef struct {
    lg_priority_e                   priority;
    int64_t                         in_flight;   /* the API's, seen when
                                                    admitted or refused */
    ngx_msec_t                      wait_start;
    ngx_event_t                    *wait;        /* max_wait's timer */
    void                           *hold;        /* the slot it holds */
    unsigned                        classified:1;
    unsigned                        counted:1;   /* in_flight is set */
    unsigned                        waiting:1;
    unsigned                        reading:1;   /* the body, first */
    unsigned                        body_done:1;
} ngx_http_logistics_protect_ctx_t;


/*
 * Brownout, circuit breaker, partner cap and in-flight budget, in that
 * order; 503 degraded / odoo-unavailable / odoo-saturated, 429
 * concurrency-limited, with Retry-After.  Critical routes may wait up
 * to the API's max_wait for a slot, on a timer.
 */
ngx_int_t ngx_http_logistics_protect_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* on the way out: the slot is given back once Odoo's answer is done */
void ngx_http_logistics_protect_header(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
void ngx_http_logistics_protect_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_chain_t *in);

/* $logistics_priority, $logistics_odoo_in_flight */
ngx_int_t ngx_http_logistics_protect_priority_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value);
ngx_int_t ngx_http_logistics_protect_in_flight_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value);

/* configuration time: the shared state of the policy's APIs */
ngx_int_t ngx_http_logistics_protect_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);

/* a worker starts: what a dead predecessor held is given back */
ngx_int_t ngx_http_logistics_protect_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_main_conf_t *lmcf);

/* the status view's numbers, read now */
ngx_int_t ngx_http_logistics_protect_read(ngx_pool_t *pool,
    ngx_http_logistics_protect_conf_t *pc, lg_protect_status_t *st);

/*
 * Locations (ngx_http_logistics_protect_admin.c): "logistics_odoo_status"
 * answers the JSON view; "logistics_brownout" shows the brownout level
 * and, on one node without Redis, sets it (POST ?level=...&ttl=...).
 */
char *ngx_http_logistics_odoo_status_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_logistics_brownout_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_LOGISTICS_PROTECT_H_INCLUDED_ */
