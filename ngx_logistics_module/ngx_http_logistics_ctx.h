
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_CTX_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_CTX_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_util.h"
#include "ngx_http_logistics_problem.h"
#include "ngx_http_logistics_shm.h"
#include "ngx_http_logistics_inspect.h"
#include "ngx_http_logistics_route.h"
#include "ngx_http_logistics_auth.h"
#include "ngx_http_logistics_authorize.h"
#include "ngx_http_logistics_ratelimit.h"
#include "ngx_http_logistics_body.h"
#include "ngx_http_logistics_idem.h"
#include "ngx_http_logistics_forward.h"
#include "ngx_http_logistics_trace.h"
#include "ngx_http_logistics_protect.h"


/*
 * The request context: what the request turned out to be (read by every
 * later step, the filters, the variables and the log), the answer being
 * prepared, and one member per step holding that step's own state.  A
 * step writes its own member and the shared part; it may read another
 * step's member, never call that step.
 */

struct ngx_http_logistics_ctx_s {
    ngx_uint_t                        step;      /* the next one to run */

    /* what the request is, as far as the steps found out */
    ngx_str_t                         request_id;
    ngx_str_t                         decision;  /* "allow" or the reason */
    const lg_route_t                 *route;
    const lg_version_t               *version;
    const lg_partner_t               *partner;
    const lg_api_key_t               *key;
    const uint64_t                   *scopes;    /* effective, bitset */

    ngx_http_logistics_answer_t       answer;    /* a refusal */
    ngx_http_logistics_answer_t       pending;   /* one that waits */
    unsigned                          refused:1; /* "pending" is set */
    unsigned                          entered:1; /* a gateway location's
                                                    rewrite phase ran */
    unsigned                          allowed:1; /* the pipeline said so */

    /* each step's own state */
    ngx_http_logistics_inspect_t      in;
    ngx_http_logistics_route_ctx_t    routing;
    ngx_http_logistics_auth_ctx_t     auth;
    ngx_http_logistics_limits_ctx_t   limits;
    ngx_http_logistics_body_ctx_t     body;
    ngx_http_logistics_idem_ctx_t     idem;
    ngx_http_logistics_protect_ctx_t  protect;
    ngx_http_logistics_forward_ctx_t  forward;
    ngx_http_logistics_trace_t        trace;    /* W3C, once asked for */
};


#endif /* _NGX_HTTP_LOGISTICS_CTX_H_INCLUDED_ */
