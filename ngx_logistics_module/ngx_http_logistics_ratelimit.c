
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_metrics.h"
#include "lg_keys.h"
#include "lg_redis_cluster.h"
#include "lg_redis_script.h"


/*
 * Step "limits".  Every limit that applies to the request (the partner's,
 * the partner's on this route) is checked and, only if all of them allow
 * it, counted: in the shared zone, or in Redis shared by every gateway
 * node.  With Redis the same round trip asks whether the partner is
 * suspended or the token revoked, and claims the Idempotency-Key when the
 * idempotency step prepared a claim (that is why, with Redis, the limits
 * run after the body: the claim needs the body's fingerprint).
 *
 * With Redis the checks are batched: the requests of a worker that reach
 * this step in one event-loop iteration share one script call per
 * cluster slot (lg_redis_script.h), sent from an event posted by the
 * first of them, which nginx runs after the iteration's I/O events: no
 * timer, so a lone request is not delayed.  While "batches=" calls to a
 * slot are in flight (1 by default) that slot's next batch waits for one
 * of them to return (group commit; per slot, so a hung cluster master
 * holds back only its own slots): under load the batches grow to what
 * arrived during a round trip, and Redis runs fewer, larger scripts.  The
 * wait counts against the request's timeout: the call that ends it is
 * given what is left of the oldest member's.
 *
 * When Redis cannot answer, a suspension or revocation this node has seen
 * (kept in the zone with the lifetime Redis gave it) is still refused;
 * the policy's revocation_fail_mode may make every such request 503
 * instead.  Then the limits' fail mode decides: open, the same limits in
 * this node's zone; closed, 503.  Fail-open never lets a revoked token or
 * a suspended partner in.
 */

static ngx_int_t ngx_http_logistics_limits_one_slot(ngx_conf_t *cf,
    const lg_policy_t *policy);
static ngx_int_t ngx_http_logistics_revocation_keys(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_limits_queue(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_limits_flush(ngx_event_t *ev);
static u_char *ngx_http_logistics_limits_key(u_char *d, ngx_str_t *key,
    ngx_uint_t *i);
static void ngx_http_logistics_limits_returned(
    ngx_http_logistics_limits_call_t *call);
static void ngx_http_logistics_limits_send(ngx_queue_t *q);
static void ngx_http_logistics_limits_reply(void *data, redisReply *reply,
    const char *error);
static void ngx_http_logistics_limits_answer(
    ngx_http_logistics_limits_ctx_t *lm, redisReply *reply, size_t first,
    const char *error);
static ngx_int_t ngx_http_logistics_limits_decode(ngx_http_request_t *r,
    ngx_http_logistics_limits_ctx_t *lm, redisReply *reply, size_t first);
static void ngx_http_logistics_limits_cleanup(void *data);
static ngx_int_t ngx_http_logistics_limits_finish(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_limits_verdict(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc);


/*
 * One script call carries the limit checks of up to BATCH_MAX requests
 * (and BATCH_BYTES of arguments); a larger batch makes several calls.
 * A request carries at most 2 revocation keys, 2 limit keys and 1
 * idempotency key, a descriptor and a lock, and brings at most 2 rates
 * (an interval and a tolerance each) to the call's rate table.
 */

#define NGX_HTTP_LOGISTICS_BATCH_MAX     64
#define NGX_HTTP_LOGISTICS_BATCH_BYTES   (64 * 1024)
#define NGX_HTTP_LOGISTICS_BATCH_ARGC    (6 + 11 * NGX_HTTP_LOGISTICS_BATCH_MAX)


/*
 * A call in flight.  It is the transport's "data", not any request's: a
 * request that ends while the call is out only clears its member slot,
 * and the last one to leave cancels the call.
 */

struct ngx_http_logistics_limits_call_s {
    ngx_http_logistics_redis_op_t    *op;
    ngx_uint_t                        slot;     /* of every member */
    ngx_uint_t                        n;
    ngx_uint_t                        live;
    unsigned                          replying:1;
    ngx_http_logistics_limits_ctx_t  *members[NGX_HTTP_LOGISTICS_BATCH_MAX];

    /* each member's layout in the reply, kept for members that left */
    u_char                            shapes[NGX_HTTP_LOGISTICS_BATCH_MAX];
    size_t                            first[NGX_HTTP_LOGISTICS_BATCH_MAX];
};


/* the worker's next batch: the requests ready in this iteration */
static ngx_queue_t   ngx_http_logistics_limits_batch;
static ngx_event_t   ngx_http_logistics_limits_batch_event;

/*
 * The call's keys by hash (open addressing, twice the most keys a call
 * has): slot value k > 0 is argv[3 + k - 1], the call's key k.
 */

#define NGX_HTTP_LOGISTICS_BATCH_KEYS    (5 * NGX_HTTP_LOGISTICS_BATCH_MAX)
#define NGX_HTTP_LOGISTICS_KEY_SLOTS     1024

#if (NGX_HTTP_LOGISTICS_KEY_SLOTS < 2 * NGX_HTTP_LOGISTICS_BATCH_KEYS)
#error the key table must stay at most half full
#endif

/* 3 counts, 2 rates, 5 keys of 2 bytes */
#define NGX_HTTP_LOGISTICS_DESC_MAX      15

static uint16_t      ngx_http_logistics_limits_key_slots[
                                            NGX_HTTP_LOGISTICS_KEY_SLOTS];

/*
 * The worker's limit calls in flight per cluster slot (slot 0 without a
 * cluster), against "batches=": a master that hangs holds back the
 * calls of its own slots only.
 */
static uint8_t       ngx_http_logistics_limits_in_flight[LG_REDIS_SLOTS];

#if (NGX_HTTP_LOGISTICS_REDIS_BATCHES_MAX > 255)
#error the in-flight counts are bytes
#endif

static const char   *ngx_http_logistics_limits_argv[
                                             NGX_HTTP_LOGISTICS_BATCH_ARGC];
static size_t        ngx_http_logistics_limits_argvlen[
                                             NGX_HTTP_LOGISTICS_BATCH_ARGC];


ngx_int_t
ngx_http_logistics_limits_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    if (lmcf->redis == NULL) {
        return NGX_OK;
    }

    lmcf->limit_sha = ngx_http_logistics_redis_script(cf, lmcf->redis,
                                                      lg_redis_limit_script);

    if (lmcf->limit_sha == NULL) {
        return NGX_ERROR;
    }

    if (lmcf->redis->topology == NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
        return ngx_http_logistics_limits_one_slot(cf, lmcf->policy);
    }

    return NGX_OK;
}


/*
 * Redis Cluster runs a script only when all its keys share a slot.  A
 * request's keys all carry its partner's {tag} (lg_keys builds them so,
 * the idempotency and token keys included); this holds the stored ones
 * to it when the policy loads, rather than with CROSSSLOT errors later.
 */

static ngx_int_t
ngx_http_logistics_limits_one_slot(ngx_conf_t *cf, const lg_policy_t *policy)
{
    size_t               i, j;
    unsigned             slot;
    const lg_str_t      *key;
    const lg_partner_t  *p;

    for (i = 0; i < policy->npartners; i++) {
        p = &policy->partners[i];
        slot = lg_redis_key_slot(p->suspended_key.data, p->suspended_key.len);

        for (j = 0; j <= policy->nroutes; j++) {
            if (j == policy->nroutes) {
                key = p->rate ? &p->limit_key : NULL;

            } else {
                key = (p->route_rates != NULL && p->route_rates[j] != NULL)
                      ? &p->route_limit_keys[j] : NULL;
            }

            if (key != NULL
                && lg_redis_key_slot(key->data, key->len) != slot)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "partner \"%s\": the Redis key \"%s\" "
                                   "is not in the cluster slot of \"%s\"",
                                   p->id.data, key->data,
                                   p->suspended_key.data);
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_limits_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    const lg_str_t                   *key;
    const lg_rate_t                  *route_rate;
    const lg_partner_t               *partner;
    ngx_http_logistics_limit_t       *l;
    ngx_http_logistics_limits_ctx_t  *lm;
    ngx_http_logistics_main_conf_t   *lmcf;

    lm = &ctx->limits;

    if (lm->waiting) {
        return NGX_AGAIN;
    }

    if (lm->replied) {
        /* back from Redis */
        lm->replied = 0;

        return ngx_http_logistics_limits_verdict(r, ctx,
                                   ngx_http_logistics_limits_finish(r, ctx));
    }

    partner = ctx->partner;
    route_rate = NULL;

    if (partner->route_rates != NULL) {
        route_rate = partner->route_rates[ctx->route->index];
    }

    if (partner->rate) {
        l = &lm->limits[lm->nlimits++];
        l->key.data = (u_char *) partner->limit_key.data;
        l->key.len = partner->limit_key.len;
        l->name = "partner";
        l->rate = partner->rate;
    }

    if (route_rate) {
        key = &partner->route_limit_keys[ctx->route->index];

        l = &lm->limits[lm->nlimits++];
        l->key.data = (u_char *) key->data;
        l->key.len = key->len;
        l->name = "route";
        l->rate = route_rate;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf->redis != NULL) {
        /* every request: the limits and the suspension check together */

        if (ngx_http_logistics_revocation_keys(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_logistics_limits_queue(r, ctx) == NGX_OK) {
            lm->waiting = 1;
            ngx_http_logistics_suspend(r);
            return NGX_AGAIN;
        }

        lm->rc = NGX_ERROR;
        lm->error = "out of memory";

    } else if (lm->nlimits == 0) {
        return NGX_OK;

    } else {
        lm->rc = NGX_DONE;      /* no Redis: the zone decides */
    }

    return ngx_http_logistics_limits_verdict(r, ctx,
                                   ngx_http_logistics_limits_finish(r, ctx));
}


/* lg:{partner}:suspended and, for a token with an id, lg:{partner}:jti:id */

static ngx_int_t
ngx_http_logistics_revocation_keys(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                           *p;
    size_t                            len;
    ngx_str_t                        *jti;
    ngx_http_logistics_limits_ctx_t  *lm;

    lm = &ctx->limits;
    jti = &ctx->auth.token_jti;

    lm->rev[0].data = (u_char *) ctx->partner->suspended_key.data;
    lm->rev[0].len = ctx->partner->suspended_key.len;
    lm->nrev = 1;

    if (jti->len == 0) {
        return NGX_OK;
    }

    len = lg_key_len(LG_KEY_JTI, ctx->partner->id.len, jti->len);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    lm->rev[1].data = p;
    lm->rev[1].len = lg_key_build((char *) p, len, LG_KEY_JTI,
                                  ctx->partner->id.data, ctx->partner->id.len,
                                  (const char *) jti->data, jti->len);
    if (lm->rev[1].len == 0) {
        return NGX_ERROR;
    }

    lm->nrev = 2;

    return NGX_OK;
}


/*
 * The request joins the worker's next batch; the batch leaves from an
 * event posted now, which runs after the I/O events of this iteration
 * (so every request that gets here meanwhile rides along) and before
 * the transport writes: a lone request waits for nothing.
 */

static ngx_int_t
ngx_http_logistics_limits_queue(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_event_t                      *ev;
    ngx_pool_cleanup_t               *cln;
    ngx_http_logistics_limits_ctx_t  *lm;
    ngx_http_logistics_main_conf_t   *lmcf;

    lm = &ctx->limits;
    ev = &ngx_http_logistics_limits_batch_event;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (ev->handler == NULL) {
        ngx_queue_init(&ngx_http_logistics_limits_batch);
        ev->handler = ngx_http_logistics_limits_flush;
        ev->log = ngx_cycle->log;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    lm->request = r;
    lm->queued = 1;
    lm->deadline = ngx_current_msec + lmcf->redis->timeout;

    /* every key of a request carries its partner's {tag}, so one slot */
    lm->slot = (lmcf->redis->topology == NGX_HTTP_LOGISTICS_REDIS_CLUSTER)
               ? lg_redis_key_slot((char *) lm->rev[0].data, lm->rev[0].len)
               : 0;

    ngx_queue_insert_tail(&ngx_http_logistics_limits_batch, &lm->queue);

    if (ctx->idem.lock.len) {
        lm->claim = NGX_HTTP_LOGISTICS_CLAIM_SENT;
        ctx->idem.claim_sent = ngx_current_msec;
    }

    /* a request that ends while it waits leaves the reply nothing */
    cln->handler = ngx_http_logistics_limits_cleanup;
    cln->data = lm;

    if (!ev->posted) {
        ngx_post_event(ev, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_http_logistics_limits_flush(ngx_event_t *ev)
{
    ngx_uint_t                        batches;
    ngx_queue_t                      *q, *prev, *queue;
    ngx_http_logistics_limits_ctx_t  *lm;
    ngx_http_logistics_main_conf_t   *lmcf;

    queue = &ngx_http_logistics_limits_batch;

    if (ngx_queue_empty(queue)) {
        return;
    }

    q = ngx_queue_head(queue);
    lm = ngx_queue_data(q, ngx_http_logistics_limits_ctx_t, queue);
    lmcf = ngx_http_get_module_main_conf(lm->request,
                                         ngx_http_logistics_module);
    batches = lmcf->redis->batches;

    /*
     * Oldest first, one call per slot that may send; a request whose slot
     * has its calls out stays, and a call's reply posts this event again.
     * A call takes only its own slot's requests, so the one before it in
     * the queue (one that stays, or the head) is still there after it.
     */

    while (q != ngx_queue_sentinel(queue)) {
        lm = ngx_queue_data(q, ngx_http_logistics_limits_ctx_t, queue);

        if (batches
            && ngx_http_logistics_limits_in_flight[lm->slot] >= batches)
        {
            q = ngx_queue_next(q);
            continue;
        }

        prev = ngx_queue_prev(q);
        ngx_http_logistics_limits_send(q);
        q = ngx_queue_next(prev);
    }
}


/*
 * The index in KEYS of one of the call's keys, added at argv[*i] when new:
 * written at d as two bytes, '0' + index / 64 and '0' + index % 64.
 */

static u_char *
ngx_http_logistics_limits_key(u_char *d, ngx_str_t *key, ngx_uint_t *i)
{
    ngx_uint_t   h, k;
    const char **argv;
    size_t      *argvlen;

    argv = ngx_http_logistics_limits_argv;
    argvlen = ngx_http_logistics_limits_argvlen;

    h = ngx_hash_key(key->data, key->len) & (NGX_HTTP_LOGISTICS_KEY_SLOTS - 1);

    for ( ;; ) {
        k = ngx_http_logistics_limits_key_slots[h];

        if (k == 0) {
            argv[*i] = (char *) key->data;
            argvlen[*i] = key->len;
            k = *i - 2;
            (*i)++;
            ngx_http_logistics_limits_key_slots[h] = (uint16_t) k;
            break;
        }

        if (argvlen[2 + k] == key->len
            && ngx_memcmp(argv[2 + k], key->data, key->len) == 0)
        {
            break;
        }

        h = (h + 1) & (NGX_HTTP_LOGISTICS_KEY_SLOTS - 1);
    }

    *d++ = (u_char) ('0' + k / 64);
    *d++ = (u_char) ('0' + k % 64);

    return d;
}


/* a call is back (or given up): the batch that waited for it may go */

static void
ngx_http_logistics_limits_returned(ngx_http_logistics_limits_call_t *call)
{
    ngx_event_t  *ev;

    ngx_http_logistics_limits_in_flight[call->slot]--;

    ev = &ngx_http_logistics_limits_batch_event;

    if (!ngx_queue_empty(&ngx_http_logistics_limits_batch) && !ev->posted) {
        ngx_post_event(ev, &ngx_posted_events);
    }
}


/*
 * One script call for the waiting request at q and the later ones that
 * fit with it: the same cluster slot (a request's keys all carry its
 * partner's {tag}), up to BATCH_MAX requests and BATCH_BYTES.
 *
 * EVALSHA sha nkeys (revocation-keys limit-keys [idem-key])...
 *         n nrates lock-px (T tau)... (descriptor [lock])...
 */

static void
ngx_http_logistics_limits_send(ngx_queue_t *q)
{
    size_t                             bytes, size;
    u_char                            *p;
    ngx_uint_t                         i, j, m, claim;
    ngx_queue_t                       *next;
    const char                       **argv;
    size_t                            *argvlen;
    ngx_http_logistics_ctx_t          *ctx;
    ngx_http_logistics_limits_ctx_t   *lm;
    ngx_http_logistics_limits_call_t  *call;
    ngx_http_logistics_main_conf_t    *lmcf;

    u_char                            *d;
    ngx_uint_t                         r, nrates;

    static u_char           nkeys[NGX_INT_T_LEN], count[NGX_INT_T_LEN],
                            rate_count[NGX_INT_T_LEN];
    static u_char           desc[NGX_HTTP_LOGISTICS_BATCH_MAX][
                                 NGX_HTTP_LOGISTICS_DESC_MAX];
    static size_t           desc_len[NGX_HTTP_LOGISTICS_BATCH_MAX];
    static const lg_rate_t *rates[2 * NGX_HTTP_LOGISTICS_BATCH_MAX];

    lm = ngx_queue_data(q, ngx_http_logistics_limits_ctx_t, queue);
    lmcf = ngx_http_get_module_main_conf(lm->request,
                                         ngx_http_logistics_module);

    call = ngx_alloc(sizeof(ngx_http_logistics_limits_call_t),
                     ngx_cycle->log);

    if (call == NULL) {
        /* no memory for a call: the oldest request fails alone */
        ngx_queue_remove(q);
        lm->queued = 0;
        ngx_http_logistics_limits_answer(lm, NULL, 0, "out of memory");
        return;
    }

    call->op = NULL;
    call->slot = lm->slot;
    call->n = 0;
    call->replying = 0;
    bytes = 0;

    for ( /* void */ ;
         q != ngx_queue_sentinel(&ngx_http_logistics_limits_batch);
         q = next)
    {
        next = ngx_queue_next(q);
        lm = ngx_queue_data(q, ngx_http_logistics_limits_ctx_t, queue);

        if (lm->slot != call->slot) {
            continue;
        }

        ctx = ngx_http_get_module_ctx(lm->request, ngx_http_logistics_module);

        size = 64 + lm->rev[0].len + lm->rev[1].len + ctx->idem.key.len
               + ctx->idem.lock.len;

        for (j = 0; j < lm->nlimits; j++) {
            size += lm->limits[j].key.len;
        }

        if (call->n > 0 && bytes + size > NGX_HTTP_LOGISTICS_BATCH_BYTES) {
            break;
        }

        bytes += size;

        ngx_queue_remove(q);
        lm->queued = 0;
        lm->call = call;
        lm->index = call->n;
        call->members[call->n++] = lm;

        if (call->n == NGX_HTTP_LOGISTICS_BATCH_MAX) {
            break;
        }
    }

    call->live = call->n;

    argv = ngx_http_logistics_limits_argv;
    argvlen = ngx_http_logistics_limits_argvlen;

    argv[0] = "EVALSHA";
    argvlen[0] = 7;
    argv[1] = (char *) lmcf->limit_sha;
    argvlen[1] = 40;
    argv[2] = (char *) nkeys;
    i = 3;

    /*
     * The keys, each once (a batch of one partner's requests names its
     * keys once); each request's keys and rates by their index in the
     * call's tables.
     */

    nrates = 0;
    ngx_memzero(ngx_http_logistics_limits_key_slots,
                sizeof(ngx_http_logistics_limits_key_slots));

    for (m = 0; m < call->n; m++) {
        lm = call->members[m];
        ctx = ngx_http_get_module_ctx(lm->request, ngx_http_logistics_module);
        claim = (lm->claim == NGX_HTTP_LOGISTICS_CLAIM_SENT);
        call->shapes[m] = LG_REDIS_SHAPE(lm->nlimits, claim);
        d = desc[m];

        *d++ = (u_char) ('0' + lm->nrev);
        *d++ = (u_char) ('0' + lm->nlimits);
        *d++ = (u_char) ('0' + claim);

        for (j = 0; j < lm->nlimits; j++) {
            for (r = 0; r < nrates; r++) {
                if (rates[r] == lm->limits[j].rate) {
                    break;
                }
            }

            if (r == nrates) {
                rates[nrates++] = lm->limits[j].rate;
            }

            *d++ = (u_char) ('0' + 1 + r);
        }

        for (j = 0; j < lm->nrev; j++) {
            d = ngx_http_logistics_limits_key(d, &lm->rev[j], &i);
        }

        for (j = 0; j < lm->nlimits; j++) {
            d = ngx_http_logistics_limits_key(d, &lm->limits[j].key, &i);
        }

        if (claim) {
            d = ngx_http_logistics_limits_key(d, &ctx->idem.key, &i);
        }

        desc_len[m] = d - desc[m];
    }

    p = ngx_sprintf(nkeys, "%ui", i - 3);
    argvlen[2] = p - nkeys;

    p = ngx_sprintf(count, "%ui", call->n);
    argv[i] = (char *) count;
    argvlen[i++] = p - count;

    p = ngx_sprintf(rate_count, "%ui", nrates);
    argv[i] = (char *) rate_count;
    argvlen[i++] = p - rate_count;

    argv[i] = lmcf->policy->idem_lock_px.data;
    argvlen[i++] = lmcf->policy->idem_lock_px.len;

    for (r = 0; r < nrates; r++) {
        argv[i] = rates[r]->interval_text;
        argvlen[i++] = rates[r]->interval_len;
        argv[i] = rates[r]->tolerance_text;
        argvlen[i++] = rates[r]->tolerance_len;
    }

    for (m = 0; m < call->n; m++) {
        lm = call->members[m];

        argv[i] = (char *) desc[m];
        argvlen[i++] = desc_len[m];

        if (lm->claim == NGX_HTTP_LOGISTICS_CLAIM_SENT) {
            ctx = ngx_http_get_module_ctx(lm->request,
                                          ngx_http_logistics_module);
            argv[i] = (char *) ctx->idem.lock.data;
            argvlen[i++] = ctx->idem.lock.len;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "logistics limits: one call, %ui requests, %ui keys",
                   call->n, i - 3);

    /* every key of the call carries a {tag} of this slot */
    lm = call->members[0];

    call->op = ngx_http_logistics_redis_call_until(lm->rev[0].data,
                                             lm->rev[0].len, (int) i,
                                             argv, argvlen,
                                             ngx_http_logistics_limits_reply,
                                             call, lm->deadline,
                                             ngx_cycle->log);
    if (call->op != NULL) {
        ngx_http_logistics_limits_in_flight[call->slot]++;
        ngx_http_logistics_count1(LG_MF_REDIS_COMMANDS, LG_REDIS_CMD_LIMIT);
        return;
    }

    /* Redis is not usable now: every request applies its fail mode */

    ngx_http_logistics_limits_reply(call, NULL, "not connected");
}


static void
ngx_http_logistics_limits_reply(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_logistics_limits_call_t  *call = data;

    ngx_uint_t                        i;
    lg_redis_limit_reply_t            out;
    ngx_http_logistics_limits_ctx_t  *lm;

    if (call->op != NULL) {
        call->op = NULL;
        ngx_http_logistics_limits_returned(call);
    }

    call->replying = 1;

    if (reply != NULL) {
        switch (lg_redis_batch_reply(reply, call->n, call->shapes,
                                     call->first, &out))
        {

        case LG_REDIS_REPLY_OK:
            break;

        case LG_REDIS_REPLY_ERROR:
            error = "error reply";
            reply = NULL;
            break;

        default:
            error = "unexpected reply";
            reply = NULL;
            break;
        }
    }

    /*
     * Each request is let go before it resumes, so that a request which
     * ends meanwhile finds nothing of this call to touch.
     */

    for (i = 0; i < call->n; i++) {
        lm = call->members[i];

        if (lm == NULL) {
            continue;
        }

        call->members[i] = NULL;
        lm->call = NULL;

        ngx_http_logistics_limits_answer(lm, reply,
                                         reply != NULL ? call->first[i] : 0,
                                         error);
    }

    ngx_free(call);
}


/* one request's part of the reply (or the call's failure): it resumes */

static void
ngx_http_logistics_limits_answer(ngx_http_logistics_limits_ctx_t *lm,
    redisReply *reply, size_t first, const char *error)
{
    ngx_http_request_t  *r;

    r = lm->request;

    lm->waiting = 0;
    lm->replied = 1;

    if (reply == NULL) {
        lm->rc = NGX_ERROR;
        lm->error = error;

    } else {
        lm->rc = ngx_http_logistics_limits_decode(r, lm, reply, first);
    }

    ngx_http_logistics_resume(r);
}


static ngx_int_t
ngx_http_logistics_limits_decode(ngx_http_request_t *r,
    ngx_http_logistics_limits_ctx_t *lm, redisReply *reply, size_t first)
{
    ngx_int_t                rc;
    ngx_uint_t               i;
    const lg_rate_t         *rates[2];
    lg_rate_result_t         results[2];
    lg_redis_limit_reply_t   out;

    for (i = 0; i < lm->nlimits; i++) {
        rates[i] = lm->limits[i].rate;
    }

    rc = lg_redis_limit_reply(reply, first, lm->nlimits, rates,
                              lm->claim == NGX_HTTP_LOGISTICS_CLAIM_SENT,
                              results, &out);

    if (rc == LG_REDIS_REPLY_ERROR) {
        lm->error = "error reply";
        return NGX_ERROR;
    }

    if (rc != LG_REDIS_REPLY_OK) {
        lm->error = "unexpected reply";
        return NGX_ERROR;
    }

    if (out.status == LG_REDIS_REVOKED) {
        /* which revocation key: 1 the partner's, 2 the token's */

        if (out.revoked > lm->nrev) {
            lm->error = "unexpected reply";
            return NGX_ERROR;
        }

        lm->revoked_token = (out.revoked == 2);
        lm->revoked_ttl = out.revoked_ttl;

        return NGX_ABORT;
    }

    for (i = 0; i < lm->nlimits; i++) {
        lm->limits[i].result = results[i];
    }

    if (out.status != LG_REDIS_ALLOWED) {
        return NGX_DECLINED;
    }

    if (out.record != NULL) {
        lm->record.data = ngx_pnalloc(r->pool, out.record_len);
        if (lm->record.data == NULL) {
            lm->error = "out of memory";
            return NGX_ERROR;
        }

        ngx_memcpy(lm->record.data, out.record, out.record_len);
        lm->record.len = out.record_len;
        lm->claim = NGX_HTTP_LOGISTICS_CLAIM_FOUND;

    } else if (lm->claim == NGX_HTTP_LOGISTICS_CLAIM_SENT) {
        lm->claim = NGX_HTTP_LOGISTICS_CLAIM_TAKEN;
    }

    return NGX_OK;
}


static void
ngx_http_logistics_limits_cleanup(void *data)
{
    ngx_http_logistics_limits_ctx_t  *lm = data;

    ngx_http_logistics_limits_call_t  *call;

    if (lm->queued) {
        ngx_queue_remove(&lm->queue);
        lm->queued = 0;
        return;
    }

    call = lm->call;

    if (call == NULL) {
        return;
    }

    lm->call = NULL;
    call->members[lm->index] = NULL;

    if (--call->live > 0 || call->replying) {
        return;
    }

    /* nobody waits for this call any more: its reply goes nowhere */

    if (call->op != NULL) {
        ngx_http_logistics_redis_cancel(call->op);
        ngx_http_logistics_limits_returned(call);
    }

    ngx_free(call);
}


/*
 * Turns the state store's answer into the step's: NGX_OK within limits
 * (or none apply); NGX_DECLINED refused by a limit; NGX_ABORT the partner
 * is suspended or the token revoked; NGX_BUSY the store is down and the
 * fail mode is closed; NGX_ERROR the shared memory zone failed.
 */

static ngx_int_t
ngx_http_logistics_limits_finish(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int64_t                           wait, now, expires;
    ngx_int_t                         rc;
    ngx_uint_t                        i, mode, found;
    ngx_http_logistics_limits_ctx_t  *lm;
    ngx_http_logistics_loc_conf_t    *lcf;
    ngx_http_logistics_main_conf_t   *lmcf;

    lm = &ctx->limits;
    rc = lm->rc;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf->redis != NULL) {
        now = ngx_http_logistics_now();

        switch (rc) {

        case NGX_ABORT:
            /* remembered, for as long as Redis would refuse it */
            expires = lm->revoked_ttl < 0 ? 0 : now + lm->revoked_ttl * 1000;

            (void) ngx_http_logistics_zone_flag_set(lmcf->zone,
                                     &lm->rev[lm->revoked_token ? 1 : 0],
                                     expires, now, r->connection->log);
            return NGX_ABORT;

        case NGX_OK:
        case NGX_DECLINED:
            /* Redis says neither is revoked now: forget any copy */
            ngx_http_logistics_zone_flag_clear(lmcf->zone, lm->rev, lm->nrev);
            break;

        case NGX_ERROR:
            found = ngx_http_logistics_zone_flag_find(lmcf->zone, lm->rev,
                                                      lm->nrev, now);
            if (found) {
                lm->revoked_token = (found == 2);
                lm->nlimits = 0;

                if (ctx->idem.lock.len) {
                    lm->claim = NGX_HTTP_LOGISTICS_CLAIM_FAILED;
                }

                return NGX_ABORT;
            }

            if (lmcf->policy->revocation_fail_mode == LG_REVOCATION_CLOSED) {
                ngx_http_logistics_redis_fallback(r->connection->log,
                                                  lm->error, 1);
                lm->nlimits = 0;

                if (ctx->idem.lock.len) {
                    lm->claim = NGX_HTTP_LOGISTICS_CLAIM_FAILED;
                }

                return NGX_BUSY;
            }

            break;
        }
    }

    if (rc == NGX_ERROR) {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

        mode = lcf->fail_mode;

        if (mode == NGX_CONF_UNSET_UINT) {
            mode = (ngx_uint_t) lmcf->policy->fail_mode;
        }

        ngx_http_logistics_redis_fallback(r->connection->log, lm->error,
                                          mode == LG_FAIL_CLOSED);

        if (ctx->idem.lock.len) {
            /* the claim went with the limits: no idempotency this time */
            lm->claim = NGX_HTTP_LOGISTICS_CLAIM_FAILED;
        }

        if (mode == LG_FAIL_CLOSED) {
            lm->nlimits = 0;
            return NGX_BUSY;
        }

        /* fail open: the same limits, counted on this node only */
        rc = NGX_DONE;
    }

    if (rc == NGX_DONE) {
        if (lm->nlimits == 0) {
            return NGX_OK;
        }

        rc = ngx_http_logistics_zone_limit(lmcf->zone, lm->limits,
                                           lm->nlimits,
                                           ngx_http_logistics_now(),
                                           r->connection->log);
    }

    if (rc == NGX_DECLINED) {
        wait = 0;

        for (i = 0; i < lm->nlimits; i++) {
            if (lm->limits[i].result.retry_after > wait) {
                wait = lm->limits[i].result.retry_after;
            }
        }

        /* Retry-After is in whole seconds: round up, never 0 */
        lm->retry_after = ngx_max((wait + 999999) / 1000000, 1);
    }

    return rc;
}


/* the step's answer for what the limits and revocation said */

static ngx_int_t
ngx_http_logistics_limits_verdict(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_logistics_answer_t      *a;
    ngx_http_logistics_limits_ctx_t  *lm;

    lm = &ctx->limits;
    a = &ctx->answer;

    ngx_http_logistics_metrics_limits(ctx->partner, lm->limits,
                    (rc == NGX_OK || rc == NGX_DECLINED) ? lm->nlimits : 0,
                    lm->rc == NGX_DONE || lm->rc == NGX_ERROR);

    switch (rc) {

    case NGX_OK:
        return NGX_OK;

    case NGX_DECLINED:
        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_RATE_LIMITED,
                                         "rate-limited");
        a->retry_after = lm->retry_after;

        return NGX_HTTP_LOGISTICS_REFUSE;

    case NGX_ABORT:
        lm->nlimits = 0;

        if (!lm->revoked_token) {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                             "suspended-partner");
        }

        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INVALID_TOKEN,
                                         "revoked-token");

        ngx_str_set(&a->challenge, "Bearer realm=\"logistics\", "
                    "error=\"invalid_token\", "
                    "error_description=\"token revoked\"");
        ngx_str_set(&a->detail, "token revoked");

        return NGX_HTTP_LOGISTICS_REFUSE;

    case NGX_BUSY:
        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAVAILABLE,
                                         "state-unavailable");
        a->retry_after = 1;

        return NGX_HTTP_LOGISTICS_REFUSE;

    default:
        /*
         * The shared memory zone could not hold a limit's state: nothing
         * was counted, so the request cannot pass as if it had been.
         * Failing open means "the same limits in this zone", which is
         * what just failed: 503, whatever the fail mode.
         */
        lm->nlimits = 0;

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: logistics_zone full, the limits of "
                      "partner \"%s\" cannot be counted: 503",
                      ctx->partner->id.data);

        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAVAILABLE,
                                         "state-unavailable");
        a->retry_after = 1;

        return NGX_HTTP_LOGISTICS_REFUSE;
    }
}


/*
 * IETF httpapi RateLimit headers (draft-ietf-httpapi-ratelimit-headers):
 *   RateLimit-Policy: "partner";q=600;w=60, "route";q=10;w=1
 *   RateLimit: "partner";r=42;t=6, "route";r=4;t=1
 * and, when asked for, the legacy X-RateLimit-* trio for the most
 * restrictive limit.
 */

ngx_int_t
ngx_http_logistics_limits_headers(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                           *p, *q;
    size_t                            len;
    int64_t                           reset;
    ngx_str_t                         value;
    ngx_uint_t                        i, tight;
    ngx_http_logistics_limit_t       *l;
    ngx_http_logistics_loc_conf_t    *lcf;
    ngx_http_logistics_limits_ctx_t  *lm;

    lm = &ctx->limits;

    len = lm->nlimits
          * (sizeof("\"partner\";q=;w=, ") - 1 + 2 * NGX_INT64_LEN);

    p = ngx_pnalloc(r->pool, 2 * len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    q = p + len;
    value.data = p;
    tight = 0;

    for (i = 0; i < lm->nlimits; i++) {
        l = &lm->limits[i];

        p = ngx_sprintf(p, "%s\"%s\";q=%L;w=%L", i ? ", " : "", l->name,
                        l->rate->count, lg_rate_window(l->rate));

        if (l->result.remaining < lm->limits[tight].result.remaining) {
            tight = i;
        }
    }

    value.len = p - value.data;

    if (ngx_http_logistics_add_out_header(r, "RateLimit-Policy", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    value.data = q;

    for (i = 0; i < lm->nlimits; i++) {
        l = &lm->limits[i];
        reset = (l->result.reset + 999999) / 1000000;

        q = ngx_sprintf(q, "%s\"%s\";r=%L;t=%L", i ? ", " : "", l->name,
                        l->result.remaining, reset);
    }

    value.len = q - value.data;

    if (ngx_http_logistics_add_out_header(r, "RateLimit", &value) == NULL) {
        return NGX_ERROR;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (!lcf->legacy_headers) {
        return NGX_OK;
    }

    l = &lm->limits[tight];

    p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%L", l->rate->count) - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Limit", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    p += value.len;
    value.data = p;
    value.len = ngx_sprintf(p, "%L", l->result.remaining) - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Remaining", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    p += value.len;
    value.data = p;
    value.len = ngx_sprintf(p, "%L", (l->result.reset + 999999) / 1000000)
                - p;

    if (ngx_http_logistics_add_out_header(r, "X-RateLimit-Reset", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
