
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_handler.h"


/*
 * The access handler is the hub of the gateway: it runs the steps of a
 * table in order, each in its own file, and is the only place that
 * decides what happens next.  A step never calls another step.
 *
 * A step that waits (for the issuer's keys, for Redis, for the body)
 * returns NGX_AGAIN; the event it waits for runs the request's phases
 * again, this handler is called again and calls the same step, which
 * picks up where it left off.
 *
 * A refusal is answered at once, unless the refusing step is marked
 * NGX_HTTP_LOGISTICS_STEP_DEFERS and a later step is marked
 * NGX_HTTP_LOGISTICS_STEP_PRECEDES: then the refusal waits for that
 * step, the steps in between are skipped, and that step's own refusal,
 * if any, is answered instead.  With Redis, the limits run after the
 * body (so that one round trip carries the limits and the
 * Idempotency-Key claim), yet a refused body still counts against the
 * limits, and 429, 401 (revoked, suspended) and 503 take precedence over
 * the body's problem, as they do without Redis.  Refusals before the
 * body (401, 403, 404...) are answered at once, as without Redis.
 */

#define NGX_HTTP_LOGISTICS_STEP_DONE  ((ngx_uint_t) -1)


static ngx_uint_t ngx_http_logistics_precedes(
    const ngx_http_logistics_step_t *steps, ngx_uint_t from);


/* shared memory only: refuse as early as possible */

static const ngx_http_logistics_step_t  ngx_http_logistics_zone_steps[] = {
    { ngx_string("inspect"), ngx_http_logistics_inspect_step, 0 },
    { ngx_string("route"), ngx_http_logistics_route_step, 0 },
    { ngx_string("authenticate"), ngx_http_logistics_auth_step, 0 },
    { ngx_string("authorize"), ngx_http_logistics_authorize_step, 0 },
    { ngx_string("limits"), ngx_http_logistics_limits_step, 0 },
    { ngx_string("body"), ngx_http_logistics_body_step, 0 },
    { ngx_string("idempotency-key"), ngx_http_logistics_idem_prepare_step,
      0 },
    { ngx_string("idempotency"), ngx_http_logistics_idem_step, 0 },
    { ngx_string("protect"), ngx_http_logistics_protect_step, 0 },
    { ngx_string("forward"), ngx_http_logistics_forward_step, 0 },
    { ngx_null_string, NULL, 0 }
};


/* Redis: the limits carry the Idempotency-Key claim, after the body */

static const ngx_http_logistics_step_t  ngx_http_logistics_redis_steps[] = {
    { ngx_string("inspect"), ngx_http_logistics_inspect_step, 0 },
    { ngx_string("route"), ngx_http_logistics_route_step, 0 },
    { ngx_string("authenticate"), ngx_http_logistics_auth_step, 0 },
    { ngx_string("authorize"), ngx_http_logistics_authorize_step, 0 },
    { ngx_string("body"), ngx_http_logistics_body_step,
      NGX_HTTP_LOGISTICS_STEP_DEFERS },
    { ngx_string("idempotency-key"), ngx_http_logistics_idem_prepare_step,
      NGX_HTTP_LOGISTICS_STEP_DEFERS },
    { ngx_string("limits"), ngx_http_logistics_limits_step,
      NGX_HTTP_LOGISTICS_STEP_PRECEDES },
    { ngx_string("idempotency"), ngx_http_logistics_idem_step, 0 },
    { ngx_string("protect"), ngx_http_logistics_protect_step, 0 },
    { ngx_string("forward"), ngx_http_logistics_forward_step, 0 },
    { ngx_null_string, NULL, 0 }
};


const ngx_http_logistics_step_t *
ngx_http_logistics_steps(ngx_http_logistics_main_conf_t *lmcf)
{
    return lmcf->redis ? ngx_http_logistics_redis_steps
                       : ngx_http_logistics_zone_steps;
}


ngx_int_t
ngx_http_logistics_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    const ngx_http_logistics_step_t  *steps, *step;
    ngx_http_logistics_ctx_t         *ctx;
    ngx_http_logistics_loc_conf_t    *lcf;
    ngx_http_logistics_main_conf_t   *lmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (!lcf->enable) {

        if (ctx != NULL && ctx->entered && ctx->step == 0) {
            /*
             * A rewrite took the request out of a gateway location before
             * its access phase: it would reach an upstream unchecked.
             */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "logistics: a request left a gateway location "
                          "before the gateway ran (rewrite to \"%V\"): "
                          "refused", &r->uri);

            ctx->step = NGX_HTTP_LOGISTICS_STEP_DONE;

            if (ngx_http_logistics_request_id(r, ctx) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INTERNAL,
                                             "gateway-bypassed");
            return ngx_http_logistics_deny(r, ctx);
        }

        return NGX_DECLINED;
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_logistics_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_logistics_module);

    } else if (ctx->step == NGX_HTTP_LOGISTICS_STEP_DONE) {
        /* the pipeline ran already for this request */
        return NGX_DECLINED;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    steps = lmcf->steps;

    for ( ;; ) {
        step = &steps[ctx->step];

        if (step->handler == NULL) {
            break;
        }

        if (ctx->refused && !(step->flags & NGX_HTTP_LOGISTICS_STEP_PRECEDES))
        {
            ctx->step++;
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "logistics step \"%V\"", &step->name);

        rc = step->handler(r, ctx);

        switch (rc) {

        case NGX_OK:
            ctx->step++;
            continue;

        case NGX_AGAIN:
            return NGX_AGAIN;

        case NGX_DONE:
            /*
             * The step answered and finalised the request: a keep-alive
             * connection may have freed it already, ctx included.
             */
            return NGX_DONE;

        case NGX_HTTP_LOGISTICS_REFUSE:

            if (!ctx->refused
                && (step->flags & NGX_HTTP_LOGISTICS_STEP_DEFERS)
                && ngx_http_logistics_precedes(steps, ctx->step + 1))
            {
                /* it waits for the steps that take precedence */
                ctx->pending = ctx->answer;
                ctx->refused = 1;
                ngx_memzero(&ctx->answer,
                            sizeof(ngx_http_logistics_answer_t));

                ctx->step++;
                continue;
            }

            ctx->step = NGX_HTTP_LOGISTICS_STEP_DONE;
            return ngx_http_logistics_deny(r, ctx);

        default:
            /* even our own failures answer in problem+json */
            ctx->step = NGX_HTTP_LOGISTICS_STEP_DONE;
            (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INTERNAL,
                                             "internal-error");
            return ngx_http_logistics_deny(r, ctx);
        }
    }

    ctx->step = NGX_HTTP_LOGISTICS_STEP_DONE;

    if (ctx->refused) {
        /* no step overrode the refusal that waited */
        ctx->answer = ctx->pending;
        return ngx_http_logistics_deny(r, ctx);
    }

    ngx_str_set(&ctx->decision, "allow");
    ctx->allowed = 1;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_logistics_precedes(const ngx_http_logistics_step_t *steps,
    ngx_uint_t from)
{
    ngx_uint_t  i;

    for (i = from; steps[i].handler != NULL; i++) {
        if (steps[i].flags & NGX_HTTP_LOGISTICS_STEP_PRECEDES) {
            return 1;
        }
    }

    return 0;
}
