
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_brownout.h"
#include "lg_atomic.h"


/*
 * Step "protect", the last before "forward": a request takes a slot of
 * its API's in-flight budget (and of its partner's cap) only once it is
 * ready to go to Odoo, after its body was read (by the body step, or
 * here for routes without a schema), so a slow upload never holds an
 * Odoo slot and a refused or replayed request takes none.
 *
 * The slot is given back when Odoo's answer is done, however the
 * request ends.  The ticket lives in the data of a request pool cleanup:
 * the cleanup runs on every way a request ends (client gone, upstream
 * timeout, error pages, internal redirects, a closed connection), and an
 * internal redirect, which zeroes the request's module contexts, leaves
 * the pool cleanups alone, so the ticket is found there again.  The body
 * filter gives it back earlier, as soon as the last byte of the answer
 * passed (the pool may outlive it by a lingering close or a keep-alive
 * wait), and the breaker learns the outcome from the upstream's last
 * status ($upstream_status): 5xx, nginx's 502 and 504 are failures, no
 * status at all (the client left first) is no outcome.
 *
 * A worker that dies (a crash, SIGKILL) never releases what it held.
 * Each worker counts what it holds in a lease record of its own in the
 * zone; the worker that the master starts in its process slot next gives
 * the dead one's slots back.
 */

/* max_wait: how often a waiting critical request asks again */
#define NGX_HTTP_LOGISTICS_PROTECT_RETRY  10      /* ms */


typedef struct {
    lg_protect_ticket_t                 ticket;
    ngx_http_request_t                 *request;
    ngx_http_logistics_protect_conf_t  *pc;
    ngx_http_logistics_lease_t         *lease;     /* what it counted in */
    ngx_uint_t                          api;       /* index */
    ngx_uint_t                          partner;   /* index; or -1 */
    size_t                              breaker;   /* index; or none */
    unsigned                            held:1;
} ngx_http_logistics_protect_hold_t;


static ngx_int_t ngx_http_logistics_protect_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_logistics_protect_hold_t *ngx_http_logistics_protect_find(
    ngx_http_request_t *r);
static ngx_http_logistics_protect_hold_t *ngx_http_logistics_protect_hold(
    ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx,
    ngx_http_logistics_protect_conf_t *pc, ngx_uint_t api);
static ngx_int_t ngx_http_logistics_protect_refuse(
    ngx_http_logistics_ctx_t *ctx, lg_protect_verdict_e verdict,
    int64_t retry_after_ms, const lg_odoo_t *odoo);
static ngx_int_t ngx_http_logistics_protect_wait(ngx_http_request_t *r,
    ngx_http_logistics_protect_ctx_t *pr, const lg_odoo_t *odoo);
static void ngx_http_logistics_protect_wake(ngx_event_t *ev);
static ngx_int_t ngx_http_logistics_protect_read_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_protect_body_read(ngx_http_request_t *r);
static void ngx_http_logistics_protect_wait_cleanup(void *data);
static void ngx_http_logistics_protect_lease(
    ngx_http_logistics_protect_hold_t *hold, int64_t delta);
static void ngx_http_logistics_protect_cleanup(void *data);
static void ngx_http_logistics_protect_release(
    ngx_http_logistics_protect_hold_t *hold, ngx_log_t *log);
static void ngx_http_logistics_protect_transition(
    ngx_http_logistics_protect_conf_t *pc, size_t breaker,
    lg_breaker_transition_t *tr, ngx_log_t *log);


/* this worker's lease record (NULL in the master, or without a zone) */
static ngx_http_logistics_lease_t  *ngx_http_logistics_lease;


ngx_int_t
ngx_http_logistics_protect_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    const lg_policy_t                  *policy;
    ngx_http_logistics_protect_conf_t  *pc;

    policy = lmcf->policy;

    if (policy->protect == NULL) {
        return NGX_OK;
    }

    if (lmcf->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "the policy \"%V\" protects Odoo (an API has an "
                      "\"odoo\" section): add \"logistics_zone name:size\" "
                      "to the http block to count requests in flight",
                      &lmcf->policy_file);
        return NGX_ERROR;
    }

    pc = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_protect_conf_t));
    if (pc == NULL) {
        return NGX_ERROR;
    }

    pc->zone = lmcf->zone;
    pc->policy = policy;
    pc->napis = policy->napis;
    pc->nentries = 3 * policy->napis + policy->npartners;

    pc->api = ngx_pcalloc(cf->pool,
                          (policy->napis + 1) * sizeof(lg_budget_api_t *));
    pc->partner = ngx_pcalloc(cf->pool, (policy->npartners + 1)
                                        * sizeof(lg_budget_partner_t *));
    pc->breaker = ngx_pcalloc(cf->pool,
                              (policy->protect->nbreakers + 1)
                              * sizeof(ngx_http_logistics_breaker_t *));

    if (pc->api == NULL || pc->partner == NULL || pc->breaker == NULL) {
        return NGX_ERROR;
    }

    lmcf->protect = pc;

    return ngx_http_logistics_zone_on_init(cf, lmcf->zone,
                                        ngx_http_logistics_protect_zone_init,
                                        pc);
}


/*
 * In the master, at every (re)load: the counters of the policy's APIs,
 * partners and breakers, by name, so that after a reload the new
 * workers count in the same counters as the old ones still finishing
 * their requests.
 */

static ngx_int_t
ngx_http_logistics_protect_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_logistics_protect_conf_t *pc = data;

    u_char                   name[128], *last;
    ngx_uint_t               i;
    const lg_policy_t       *policy;
    const lg_breaker_def_t  *def;

    policy = pc->policy;

    for (i = 0; i < policy->napis; i++) {
        if (policy->protect->odoo[i] == NULL) {
            continue;
        }

        last = ngx_snprintf(name, sizeof(name), "odoo:api:%s",
                            policy->apis[i].name.data);

        pc->api[i] = ngx_http_logistics_zone_block(shm_zone, name,
                                                   last - name,
                                                   sizeof(lg_budget_api_t));
        if (pc->api[i] == NULL) {
            goto full;
        }
    }

    for (i = 0; i < policy->npartners; i++) {
        last = ngx_snprintf(name, sizeof(name), "odoo:partner:%s",
                            policy->partners[i].id.data);

        pc->partner[i] = ngx_http_logistics_zone_block(shm_zone, name,
                                                   last - name,
                                                   sizeof(lg_budget_partner_t));
        if (pc->partner[i] == NULL) {
            goto full;
        }
    }

    for (i = 0; i < policy->protect->nbreakers; i++) {
        def = &policy->protect->breakers[i];

        pc->breaker[i] = ngx_http_logistics_zone_block(shm_zone,
                                  (u_char *) def->key.data, def->key.len,
                                  sizeof(ngx_http_logistics_breaker_t));
        if (pc->breaker[i] == NULL) {
            goto full;
        }
    }

    pc->brownout = ngx_http_logistics_zone_block(shm_zone,
                                                 (u_char *) "brownout",
                                                 sizeof("brownout") - 1,
                                                 sizeof(uint64_t));

    pc->leases = ngx_http_logistics_zone_block(shm_zone,
                                         (u_char *) "odoo:leases",
                                         sizeof("odoo:leases") - 1,
                                         sizeof(ngx_http_logistics_leases_t));

    if (pc->brownout == NULL || pc->leases == NULL) {
        goto full;
    }

    return NGX_OK;

full:

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "logistics_zone \"%V\" has no room left for the Odoo "
                  "in-flight counters: make it larger",
                  &shm_zone->shm.name);

    return NGX_ERROR;
}


/*
 * A worker starts in a process slot: if the worker before it in that
 * slot died holding slots, they come back now.  Then its own record.
 */

ngx_int_t
ngx_http_logistics_protect_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_main_conf_t *lmcf)
{
    size_t                              size;
    int64_t                             slots, n;
    ngx_uint_t                          i;
    ngx_http_logistics_lease_t         *old, *lease;
    ngx_http_logistics_leases_t        *leases;
    ngx_http_logistics_protect_conf_t  *pc;

    pc = lmcf->protect;

    if (pc == NULL) {
        return NGX_OK;
    }

    leases = pc->leases;
    old = leases->slot[ngx_process_slot];
    slots = 0;

    /*
     * A slot is given to a new process only once the old one was reaped;
     * without a master (a reload in place) the record is our own, and
     * its requests are still running: it is left alone.
     */

    if (old != NULL && old->pid != ngx_pid) {

        for (i = 0; i < old->n; i++) {
            if (old->entry[i].counter == NULL || old->entry[i].held <= 0) {
                continue;
            }

            n = lg_budget_reclaim(old->entry[i].counter, old->entry[i].held);

            /* the first of an API's three counters is its total */

            if (i < 3 * pc->napis && i % 3 == 0) {
                slots += n;
            }
        }

        ngx_http_logistics_zone_free(pc->zone, old);
        leases->slot[ngx_process_slot] = NULL;

        if (slots) {
            (void) lg_atomic_fetch_add(&leases->reclaimed, slots);

            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "logistics: %L Odoo slots held by worker process "
                          "%P, which exited without giving them back, are "
                          "free again", slots, old->pid);
        }
    }

    size = sizeof(ngx_http_logistics_lease_t)
           + pc->nentries * sizeof(ngx_http_logistics_lease_entry_t);

    lease = ngx_http_logistics_zone_calloc(pc->zone, size);

    if (lease == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "logistics_zone \"%V\" has no room for this worker's "
                      "lease record: its Odoo slots would not come back "
                      "if it died", &pc->zone->shm.name);
        return NGX_OK;
    }

    lease->pid = ngx_pid;
    lease->n = pc->nentries;

    for (i = 0; i < pc->napis; i++) {
        if (pc->api[i] != NULL) {
            lease->entry[3 * i].counter = &pc->api[i]->in_flight;
            lease->entry[3 * i + 1].counter = &pc->api[i]->deferrable;
            lease->entry[3 * i + 2].counter = &pc->api[i]->critical;
        }
    }

    for (i = 0; i < pc->policy->npartners; i++) {
        lease->entry[3 * pc->napis + i].counter = &pc->partner[i]->in_flight;
    }

    leases->slot[ngx_process_slot] = lease;
    ngx_http_logistics_lease = lease;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_protect_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int64_t                             retry_after;
    ngx_int_t                           rc;
    ngx_uint_t                          api;
    lg_brownout_t                       brownout;
    const lg_odoo_t                    *odoo;
    const lg_policy_t                  *policy;
    lg_protect_request_t                req;
    lg_protect_verdict_e                verdict;
    lg_breaker_transition_t             tr;
    ngx_http_logistics_protect_ctx_t   *pr;
    ngx_http_logistics_protect_hold_t  *hold;
    ngx_http_logistics_protect_conf_t  *pc;
    ngx_http_logistics_main_conf_t     *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    pc = lmcf->protect;

    if (pc == NULL) {
        return NGX_OK;
    }

    pr = &ctx->protect;

    if (pr->waiting) {
        return NGX_AGAIN;
    }

    if (pr->reading) {
        if (!pr->body_done) {
            return NGX_AGAIN;
        }

        pr->reading = 0;
    }

    policy = pc->policy;

    if (!pr->classified) {
        pr->priority = lg_protect_priority(policy, ctx->route, ctx->partner);
        pr->classified = 1;
    }

    if (pr->hold == NULL && r->internal) {
        hold = ngx_http_logistics_protect_find(r);

        if (hold != NULL) {
            /*
             * Redirected back into the gateway (error_page, X-Accel):
             * the request went through this step before the redirect
             * zeroed its context, and never takes a second slot.
             */
            pr->hold = hold;
            return NGX_OK;
        }
    }

    api = ctx->route->api - policy->apis;
    odoo = policy->protect->odoo[api];

    /*
     * The brownout first, for every route of a protected policy: it is
     * one word to read and holds nothing, so a shed request costs no
     * body read and no slot.
     */

    if (lg_atomic_load_word(pc->brownout) != 0) {
        /* the word is 0 when off: most requests stop at the load */

        ngx_http_logistics_brownout_get(pc, &brownout);

        if (lg_brownout_sheds(&brownout, pr->priority,
                              ngx_http_logistics_wall_ms(), &retry_after))
        {
            return ngx_http_logistics_protect_refuse(ctx,
                                                     LG_PROTECT_DEGRADED,
                                                     retry_after, odoo);
        }
    }

    if (odoo == NULL) {
        /* an API without a budget: only the brownout applies */
        return NGX_OK;
    }

    if (r->request_body == NULL
        && (r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        /* the upload first: a slow client must not hold an Odoo slot */
        return ngx_http_logistics_protect_read_body(r, ctx);
    }

    hold = pr->hold;

    if (hold == NULL) {
        hold = ngx_http_logistics_protect_hold(r, ctx, pc, api);
        if (hold == NULL) {
            return NGX_ERROR;
        }

        pr->hold = hold;
    }

    req.priority = pr->priority;
    req.brownout = NULL;            /* asked above */
    req.wall_ms = 0;
    req.breaker = hold->breaker != LG_PROTECT_NO_BREAKER
                  ? &pc->breaker[hold->breaker]->breaker : NULL;
    req.breaker_conf = &odoo->breaker;
    req.now_ms = (int64_t) ngx_current_msec;
    req.budget_conf = &odoo->budget;
    req.api = pc->api[api];
    req.partner = NULL;
    req.partner_max = 0;

    if (hold->partner != (ngx_uint_t) -1) {
        req.partner = pc->partner[hold->partner];
        req.partner_max = policy->protect->partner_max[hold->partner];
    }

    verdict = lg_protect_admit(&req, &hold->ticket, &retry_after, &tr);

    ngx_http_logistics_protect_transition(pc, hold->breaker, &tr,
                                          r->connection->log);

    pr->in_flight = lg_atomic_load(&req.api->in_flight);
    pr->counted = 1;

    if (verdict == LG_PROTECT_ADMITTED) {
        hold->held = 1;
        ngx_http_logistics_protect_lease(hold, 1);

        return NGX_OK;
    }

    if (verdict == LG_PROTECT_SATURATED
        && pr->priority == LG_PRIORITY_CRITICAL
        && odoo->max_wait > 0)
    {
        rc = ngx_http_logistics_protect_wait(r, pr, odoo);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_logistics_protect_refuse(ctx, verdict, retry_after, odoo);
}


/* the request's ticket, in the data of its pool cleanup */

static ngx_http_logistics_protect_hold_t *
ngx_http_logistics_protect_hold(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_http_logistics_protect_conf_t *pc,
    ngx_uint_t api)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_logistics_protect_hold_t  *hold;

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_logistics_protect_hold_t));
    if (cln == NULL) {
        return NULL;
    }

    hold = cln->data;
    ngx_memzero(hold, sizeof(ngx_http_logistics_protect_hold_t));

    hold->request = r;
    hold->pc = pc;
    hold->api = api;
    hold->partner = ctx->partner != NULL ? ctx->partner->index
                                         : (ngx_uint_t) -1;
    hold->breaker = lg_protect_breaker(pc->policy, ctx->route, ctx->version);

    cln->handler = ngx_http_logistics_protect_cleanup;

    return hold;
}


/*
 * The ticket of a request whose context is gone (an internal redirect
 * zeroes r->ctx): the pool cleanups are kept.  A handful of entries.
 */

static ngx_http_logistics_protect_hold_t *
ngx_http_logistics_protect_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_logistics_protect_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_logistics_protect_refuse(ngx_http_logistics_ctx_t *ctx,
    lg_protect_verdict_e verdict, int64_t retry_after_ms,
    const lg_odoo_t *odoo)
{
    lg_problem_e  problem;

    switch (verdict) {

    case LG_PROTECT_DEGRADED:
        problem = LG_PROBLEM_DEGRADED;
        break;

    case LG_PROTECT_UNAVAILABLE:
        problem = LG_PROBLEM_ODOO_UNAVAILABLE;
        break;

    case LG_PROTECT_CONCURRENCY_LIMITED:
        problem = LG_PROBLEM_CONCURRENCY_LIMITED;
        break;

    default: /* LG_PROTECT_SATURATED */
        problem = LG_PROBLEM_ODOO_SATURATED;
        break;
    }

    (void) ngx_http_logistics_refuse(ctx, problem,
                                     lg_protect_verdict_word(verdict));

    /*
     * The time left of a brownout or of the breaker's cool-down when it
     * is known, else the API's retry_after: whole seconds, rounded up.
     */

    if (retry_after_ms > 0) {
        ctx->answer.retry_after = (retry_after_ms + 999) / 1000;

    } else {
        ctx->answer.retry_after = odoo != NULL ? odoo->retry_after : 1;
    }

    return NGX_HTTP_LOGISTICS_REFUSE;
}


/*
 * A body no step read (the route has no schema) is read before the
 * request takes a slot; proxy_pass then sends what was read, as it does
 * with proxy_request_buffering on (the default).
 */

static ngx_int_t
ngx_http_logistics_protect_read_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->protect.reading = 1;

    rc = ngx_http_read_client_request_body(r,
                                      ngx_http_logistics_protect_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* nginx gave up reading: over client_max_body_size, bad chunks */
        ctx->protect.reading = 0;

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                             "body-too-large");
        }

        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BAD_REQUEST,
                                         "body-unreadable");
    }

    /*
     * Balances the reference the body reader took; a body that was all
     * there was handed to ngx_http_logistics_protect_body_read() already
     * and the pipeline went on from there.
     */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_AGAIN;
}


static void
ngx_http_logistics_protect_body_read(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->protect.body_done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * max_wait: a critical request that found no slot asks again every
 * NGX_HTTP_LOGISTICS_PROTECT_RETRY ms on a timer (the worker goes on
 * serving others) until it gets one or max_wait has passed.
 * NGX_DECLINED: the wait is over, refuse.
 */

static ngx_int_t
ngx_http_logistics_protect_wait(ngx_http_request_t *r,
    ngx_http_logistics_protect_ctx_t *pr, const lg_odoo_t *odoo)
{
    ngx_msec_t           waited, left;
    ngx_pool_cleanup_t  *cln;

    if (pr->wait == NULL) {
        pr->wait = ngx_pcalloc(r->pool, sizeof(ngx_event_t));
        cln = ngx_pool_cleanup_add(r->pool, 0);

        if (pr->wait == NULL || cln == NULL) {
            return NGX_ERROR;
        }

        pr->wait->handler = ngx_http_logistics_protect_wake;
        pr->wait->data = r;
        pr->wait->log = r->connection->log;
        pr->wait_start = ngx_current_msec;

        /* a request that ends while it waits takes its timer along */
        cln->handler = ngx_http_logistics_protect_wait_cleanup;
        cln->data = pr->wait;
    }

    waited = ngx_current_msec - pr->wait_start;

    if (waited >= (ngx_msec_t) odoo->max_wait) {
        return NGX_DECLINED;
    }

    left = (ngx_msec_t) odoo->max_wait - waited;

    ngx_add_timer(pr->wait, ngx_min(left, NGX_HTTP_LOGISTICS_PROTECT_RETRY));

    pr->waiting = 1;
    ngx_http_logistics_suspend(r);

    return NGX_AGAIN;
}


static void
ngx_http_logistics_protect_wake(ngx_event_t *ev)
{
    ngx_http_request_t  *r = ev->data;

    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->protect.waiting = 0;

    ngx_http_logistics_resume(r);
}


static void
ngx_http_logistics_protect_wait_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


/* what this worker holds, for its successor should it die */

static void
ngx_http_logistics_protect_lease(ngx_http_logistics_protect_hold_t *hold,
    int64_t delta)
{
    ngx_uint_t                   base;
    ngx_http_logistics_lease_t  *lease;

    if (delta > 0) {
        hold->lease = ngx_http_logistics_lease;
    }

    lease = hold->lease;

    if (lease == NULL) {
        return;
    }

    /* only this process writes its record: plain additions */

    base = 3 * hold->api;

    lease->entry[base].held += delta;

    if (hold->ticket.budget.priority == LG_PRIORITY_DEFERRABLE) {
        lease->entry[base + 1].held += delta;

    } else if (hold->ticket.budget.priority == LG_PRIORITY_CRITICAL) {
        lease->entry[base + 2].held += delta;
    }

    if (hold->ticket.budget.partner != NULL) {
        lease->entry[3 * hold->pc->napis + hold->partner].held += delta;
    }
}


void
ngx_http_logistics_protect_header(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_protect_hold_t  *hold;

    /* a response without a body (HEAD, 204, 304) is done with its header */

    if (!r->header_only) {
        return;
    }

    hold = (ctx != NULL) ? ctx->protect.hold : NULL;

    if (hold == NULL && r->internal) {
        hold = ngx_http_logistics_protect_find(r);
    }

    if (hold != NULL) {
        ngx_http_logistics_protect_release(hold, r->connection->log);
    }
}


void
ngx_http_logistics_protect_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_chain_t                        *cl;
    ngx_http_logistics_protect_hold_t  *hold;

    for (cl = in; cl != NULL; cl = cl->next) {
        if (cl->buf->last_buf) {
            break;
        }
    }

    if (cl == NULL) {
        return;
    }

    /* the answer is complete: Odoo is done with this request */

    hold = (ctx != NULL) ? ctx->protect.hold : NULL;

    if (hold == NULL && (ctx == NULL || r->internal)) {
        hold = ngx_http_logistics_protect_find(r);
    }

    if (hold != NULL) {
        ngx_http_logistics_protect_release(hold, r->connection->log);
    }
}


/* the request ends, whatever the way */

static void
ngx_http_logistics_protect_cleanup(void *data)
{
    ngx_http_logistics_protect_hold_t  *hold = data;

    ngx_http_logistics_protect_release(hold, hold->request->connection->log);
}


static void
ngx_http_logistics_protect_release(ngx_http_logistics_protect_hold_t *hold,
    ngx_log_t *log)
{
    ngx_uint_t                  status;
    ngx_array_t                *states;
    lg_breaker_transition_t     tr;
    ngx_http_upstream_state_t  *state;

    if (!hold->held) {
        return;
    }

    hold->held = 0;

    /* Odoo's answer to the last attempt; 0: none came (client gone) */

    status = 0;
    states = hold->request->upstream_states;

    if (states != NULL && states->nelts > 0) {
        state = states->elts;
        status = state[states->nelts - 1].status;
    }

    ngx_http_logistics_protect_lease(hold, -1);

    if (lg_protect_release(&hold->ticket, lg_breaker_outcome(status),
                           (int64_t) ngx_current_msec, &tr)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "logistics: an Odoo slot of API \"%s\" was given "
                      "back twice",
                      hold->pc->policy->apis[hold->api].name.data);
    }

    ngx_http_logistics_protect_transition(hold->pc, hold->breaker, &tr, log);
}


/* every transition of a breaker is logged and counted once */

static void
ngx_http_logistics_protect_transition(ngx_http_logistics_protect_conf_t *pc,
    size_t breaker, lg_breaker_transition_t *tr, ngx_log_t *log)
{
    const char              *what;
    const lg_str_t          *scope;
    const lg_breaker_def_t  *def;

    if (tr->event == LG_BREAKER_EVENT_NONE
        || breaker == LG_PROTECT_NO_BREAKER
        || (unsigned) tr->event >= LG_PROTECT_EVENTS)
    {
        return;
    }

    (void) lg_atomic_fetch_add(&pc->breaker[breaker]->events[tr->event], 1);

    def = &pc->policy->protect->breakers[breaker];
    scope = def->version != NULL ? &def->version->name : &def->group;

    switch (tr->event) {

    case LG_BREAKER_EVENT_OPENED:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "logistics: circuit breaker \"%s/%s\" opened: %uD of "
                      "the last %uD requests to Odoo failed",
                      def->api->name.data, scope->data, tr->failures,
                      tr->total);
        return;

    case LG_BREAKER_EVENT_HALF_OPENED:
        what = "half-opened: the cool-down is over, probing Odoo";
        break;

    case LG_BREAKER_EVENT_CLOSED:
        what = "closed: a probe succeeded, Odoo is back";
        break;

    case LG_BREAKER_EVENT_REOPENED:
        what = "reopened: a probe failed";
        break;

    default: /* LG_BREAKER_EVENT_PROBES_LOST */
        what = "half-opened again: the probes never reported back";
        break;
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "logistics: circuit breaker \"%s/%s\" %s",
                  def->api->name.data, scope->data, what);
}


ngx_int_t
ngx_http_logistics_protect_priority_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value)
{
    const char  *name;

    if (!ctx->protect.classified) {
        ngx_str_null(value);
        return NGX_OK;
    }

    name = lg_priority_name(ctx->protect.priority);

    value->data = (u_char *) name;
    value->len = ngx_strlen(name);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_protect_in_flight_value(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value)
{
    if (!ctx->protect.counted) {
        ngx_str_null(value);
        return NGX_OK;
    }

    value->data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    value->len = ngx_sprintf(value->data, "%L", ctx->protect.in_flight)
                 - value->data;

    return NGX_OK;
}


/* the status view's numbers, read now (each counter atomically) */

ngx_int_t
ngx_http_logistics_protect_read(ngx_pool_t *pool,
    ngx_http_logistics_protect_conf_t *pc, lg_protect_status_t *st)
{
    size_t                  i, e, nb;
    int64_t                *partners;
    uint64_t               *transitions;
    const lg_policy_t      *policy;
    lg_budget_snapshot_t   *apis;
    lg_breaker_snapshot_t  *breakers;

    policy = pc->policy;
    nb = policy->protect->nbreakers;

    apis = ngx_pcalloc(pool, (policy->napis + 1)
                             * sizeof(lg_budget_snapshot_t));
    partners = ngx_pcalloc(pool, (policy->npartners + 1) * sizeof(int64_t));
    breakers = ngx_pcalloc(pool, (nb + 1) * sizeof(lg_breaker_snapshot_t));
    transitions = ngx_pcalloc(pool, (nb + 1) * LG_PROTECT_EVENTS
                                    * sizeof(uint64_t));

    if (apis == NULL || partners == NULL || breakers == NULL
        || transitions == NULL)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < policy->napis; i++) {
        if (pc->api[i] != NULL) {
            lg_budget_read(pc->api[i], &apis[i]);
        }
    }

    for (i = 0; i < policy->npartners; i++) {
        partners[i] = lg_atomic_load(&pc->partner[i]->in_flight);
    }

    for (i = 0; i < nb; i++) {
        lg_breaker_read(&pc->breaker[i]->breaker,
                        &policy->protect->breakers[i].odoo->breaker,
                        (int64_t) ngx_current_msec, &breakers[i]);

        for (e = 0; e < LG_PROTECT_EVENTS; e++) {
            transitions[i * LG_PROTECT_EVENTS + e] = (uint64_t)
                              lg_atomic_load(&pc->breaker[i]->events[e]);
        }
    }

    st->policy = policy;
    st->apis = apis;
    st->partners = partners;
    st->breakers = breakers;
    st->transitions = transitions;
    st->reclaimed = lg_atomic_load(&pc->leases->reclaimed);

    ngx_http_logistics_brownout_get(pc, &st->brownout);

    return NGX_OK;
}
