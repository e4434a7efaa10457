
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_PROBLEM_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_PROBLEM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * A refusal being prepared: a step that says no fills this in (through
 * ngx_http_logistics_refuse()) and returns NGX_HTTP_LOGISTICS_REFUSE; the
 * access handler decides when it is sent.
 */

typedef struct {
    lg_problem_e                problem;
    const char                 *reason;        /* $logistics_decision */
    ngx_str_t                   detail;        /* len 0: the default */
    ngx_str_t                   challenge;     /* WWW-Authenticate */
    ngx_str_t                   extra;         /* more problem members */
    int64_t                     retry_after;   /* seconds; 0: none */
    unsigned                    allow;         /* LG_METHOD_* for 405 */
} ngx_http_logistics_answer_t;


/* what a step returns when it refuses the request */
#define NGX_HTTP_LOGISTICS_REFUSE  NGX_DECLINED


/*
 * Starts the answer to a refused request (any earlier answer is
 * dropped); returns NGX_HTTP_LOGISTICS_REFUSE for the step to return.
 */
ngx_int_t ngx_http_logistics_refuse(ngx_http_logistics_ctx_t *ctx,
    lg_problem_e problem, const char *reason);

/*
 * Sends the answer as problem+json and logs the refusal.  The response is
 * complete when this returns NGX_DONE: the access phase ends there and
 * nginx's own (HTML) error page never runs.
 */
ngx_int_t ngx_http_logistics_deny(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/* 204 with Allow, for OPTIONS on a known path */
ngx_int_t ngx_http_logistics_send_options(ngx_http_request_t *r,
    unsigned allow);


#endif /* _NGX_HTTP_LOGISTICS_PROBLEM_H_INCLUDED_ */
