
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_redis_int.h"


/*
 * Redis Cluster: the slot map from CLUSTER SLOTS (asked of a seed node
 * first, of any connected node later), one connection per master per
 * worker, made as soon as the map names it, and every call routed by the
 * slot of its hash key (a request's keys share the {partner} tag, so
 * they share a slot).
 *
 * While the topology moves, replies say so, and the call is sent again
 * within its original deadline:
 *
 *   -MOVED      the slot has a new owner: the map is patched at once, a
 *               refresh asked for, the command sent to the new owner;
 *   -ASK        the slot is migrating and the key is on the target:
 *               ASKING and the command go to the target, once;
 *   -TRYAGAIN   a multi-key command while the slot migrates (some of
 *               its keys moved, others not): sent again after 2, 4, 8,
 *               16, 32, 32... ms, as long as the deadline allows;
 *   -CLUSTERDOWN, -READONLY, a lost master: the call fails (the
 *               caller's fail mode), the map is refreshed.
 *
 * At most NGX_HTTP_LOGISTICS_REDIS_MAX_HOPS redirections per attempt.
 * A refresh is one CLUSTER SLOTS at a time, at most one per 100 ms.
 * Addresses in the map must be IP literals: a worker resolves no names.
 */

#define NGX_HTTP_LOGISTICS_REDIS_REFRESH_MIN    100
#define NGX_HTTP_LOGISTICS_REDIS_REFRESH_RETRY  500
#define NGX_HTTP_LOGISTICS_REDIS_TRYAGAIN_MAX   32


static ngx_http_logistics_redis_node_t *ngx_http_logistics_redis_cluster_node(
    ngx_http_logistics_redis_t *rs, const lg_redis_addr_t *addr);
static ngx_http_logistics_redis_node_t *ngx_http_logistics_redis_cluster_new(
    ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_cluster_seed(
    ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_cluster_refresh_handler(ngx_event_t *ev);
static void ngx_http_logistics_redis_cluster_slots_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);
static ngx_uint_t ngx_http_logistics_redis_cluster_same(
    const lg_redis_slots_t *a, const lg_redis_slots_t *b);
static void ngx_http_logistics_redis_cluster_apply(
    ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_cluster_retire(
    ngx_http_logistics_redis_t *rs, ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_cluster_ready(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_cluster_closed(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_cluster_retry(ngx_event_t *ev);


ngx_int_t
ngx_http_logistics_redis_cluster_init(ngx_http_logistics_redis_t *rs)
{
    rs->slots = ngx_alloc(sizeof(lg_redis_slots_t), rs->log);
    rs->spare = ngx_alloc(sizeof(lg_redis_slots_t), rs->log);

    if (rs->slots == NULL || rs->spare == NULL) {
        return NGX_ERROR;
    }

    lg_redis_slots_init(rs->slots);
    lg_redis_slots_init(rs->spare);

    rs->refresh.handler = ngx_http_logistics_redis_cluster_refresh_handler;
    rs->refresh.data = rs;
    rs->refresh.log = rs->log;
    rs->refresh.cancelable = 1;

    ngx_http_logistics_redis_cluster_refresh(rs);

    return NGX_OK;
}


void
ngx_http_logistics_redis_cluster_exit(ngx_http_logistics_redis_t *rs)
{
    ngx_queue_t                      *q;
    ngx_http_logistics_redis_node_t  *node;

    if (rs->refresh.timer_set) {
        ngx_del_timer(&rs->refresh);
    }

    while (!ngx_queue_empty(&rs->nodes)) {
        q = ngx_queue_head(&rs->nodes);
        ngx_queue_remove(q);

        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);
        ngx_http_logistics_redis_node_free(node);
    }

    if (rs->slots != NULL) {
        ngx_free(rs->slots);
        rs->slots = NULL;
    }

    if (rs->spare != NULL) {
        ngx_free(rs->spare);
        rs->spare = NULL;
    }
}


ngx_http_logistics_redis_node_t *
ngx_http_logistics_redis_cluster_route(ngx_http_logistics_redis_t *rs,
    unsigned slot)
{
    uint16_t  owner;

    owner = rs->slots->owner[slot];

    if (owner == LG_REDIS_NO_NODE) {
        return NULL;
    }

    return rs->by_index[owner];
}


/* the node of an address Redis gave, made (not connected) if new */

static ngx_http_logistics_redis_node_t *
ngx_http_logistics_redis_cluster_node(ngx_http_logistics_redis_t *rs,
    const lg_redis_addr_t *addr)
{
    ngx_queue_t                      *q;
    ngx_http_logistics_redis_node_t  *node;

    for (q = ngx_queue_head(&rs->nodes);
         q != ngx_queue_sentinel(&rs->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);

        if (lg_redis_addr_eq(&node->ident, addr)) {
            return node;
        }
    }

    node = ngx_http_logistics_redis_cluster_new(rs);
    if (node == NULL) {
        return NULL;
    }

    if (ngx_http_logistics_redis_node_address_ip(node, addr) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis cluster node \"%s:%d\": not an IP "
                      "address (a worker resolves no names)",
                      addr->host, addr->port);
        ngx_queue_remove(&node->link);
        ngx_http_logistics_redis_node_free(node);
        return NULL;
    }

    return node;
}


static ngx_http_logistics_redis_node_t *
ngx_http_logistics_redis_cluster_new(ngx_http_logistics_redis_t *rs)
{
    ngx_http_logistics_redis_node_t  *node;

    node = ngx_http_logistics_redis_node_create(NGX_HTTP_LOGISTICS_REDIS_DATA,
                                                rs->log);
    if (node == NULL) {
        return NULL;
    }

    node->setup_ops = ngx_http_logistics_redis_node_data_setup;
    node->ready = ngx_http_logistics_redis_cluster_ready;
    node->closed = ngx_http_logistics_redis_cluster_closed;

    ngx_queue_insert_tail(&rs->nodes, &node->link);

    return node;
}


/* nobody to ask for the map: the next seed node of the configuration */

static void
ngx_http_logistics_redis_cluster_seed(ngx_http_logistics_redis_t *rs)
{
    size_t                            len;
    u_char                            text[NGX_SOCKADDR_STRLEN];
    ngx_uint_t                        i, n;
    lg_redis_addr_t                   ident;
    ngx_queue_t                      *q;
    ngx_http_logistics_redis_host_t  *h;
    ngx_http_logistics_redis_node_t  *node, *found;

    n = rs->conf->hosts.nelts;

    for (i = 0; i < n; i++) {
        h = rs->conf->hosts.elts;
        h = &h[rs->seed_index++ % n];

        len = ngx_sock_ntop(h->addr.sockaddr, h->addr.socklen, text,
                            NGX_SOCKADDR_STRLEN, 0);

        if (lg_redis_addr_set(&ident, (const char *) text, len,
                              ngx_inet_get_port(h->addr.sockaddr))
            != 0)
        {
            continue;
        }

        found = NULL;

        for (q = ngx_queue_head(&rs->nodes);
             q != ngx_queue_sentinel(&rs->nodes);
             q = ngx_queue_next(q))
        {
            node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);

            if (lg_redis_addr_eq(&node->ident, &ident)) {
                found = node;
                break;
            }
        }

        node = found;

        if (node == NULL) {
            node = ngx_http_logistics_redis_cluster_new(rs);
            if (node == NULL) {
                return;
            }

            if (ngx_http_logistics_redis_node_address(node,
                                                  h->addr.sockaddr,
                                                  h->addr.socklen, &h->host)
                != NGX_OK)
            {
                ngx_queue_remove(&node->link);
                ngx_http_logistics_redis_node_free(node);
                continue;
            }
        }

        if (node->state != NGX_HTTP_LOGISTICS_REDIS_DOWN) {
            /* on its way: its readiness asks for the map */
            return;
        }

        if (!node->reconnect.timer_set
            && ngx_http_logistics_redis_node_connect(node) == NGX_OK)
        {
            return;
        }
    }
}


void
ngx_http_logistics_redis_cluster_refresh(ngx_http_logistics_redis_t *rs)
{
    ngx_msec_int_t                    elapsed;
    ngx_queue_t                      *q;
    const char                       *argv[2];
    size_t                            argvlen[2];
    ngx_http_logistics_redis_node_t  *node, *any, *master;

    rs->refresh_wanted = 1;

    if (rs->refreshing || rs->exiting) {
        return;
    }

    elapsed = (ngx_msec_int_t) (ngx_current_msec - rs->last_refresh);

    if (rs->last_refresh != 0
        && elapsed < NGX_HTTP_LOGISTICS_REDIS_REFRESH_MIN)
    {
        if (!rs->refresh.timer_set) {
            ngx_add_timer(&rs->refresh,
                          NGX_HTTP_LOGISTICS_REDIS_REFRESH_MIN - elapsed);
        }

        return;
    }

    /* a master of the map if one is connected, else any node */

    any = NULL;
    master = NULL;

    for (q = ngx_queue_head(&rs->nodes);
         q != ngx_queue_sentinel(&rs->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);

        if (!ngx_http_logistics_redis_node_usable(node) || node->retired) {
            continue;
        }

        if (node->index >= 0) {
            master = node;
            break;
        }

        if (any == NULL) {
            any = node;
        }
    }

    node = master ? master : any;

    if (node == NULL) {
        ngx_http_logistics_redis_cluster_seed(rs);

        if (!rs->refresh.timer_set) {
            ngx_add_timer(&rs->refresh,
                          NGX_HTTP_LOGISTICS_REDIS_REFRESH_RETRY);
        }

        return;
    }

    argv[0] = "CLUSTER";
    argvlen[0] = 7;
    argv[1] = "SLOTS";
    argvlen[1] = 5;

    if (ngx_http_logistics_redis_node_internal(node, 2, argv, argvlen,
                              ngx_http_logistics_redis_cluster_slots_reply,
                              "CLUSTER SLOTS", 0)
        != NGX_OK)
    {
        if (!rs->refresh.timer_set) {
            ngx_add_timer(&rs->refresh,
                          NGX_HTTP_LOGISTICS_REDIS_REFRESH_RETRY);
        }

        return;
    }

    rs->refreshing = 1;
}


static void
ngx_http_logistics_redis_cluster_refresh_handler(ngx_event_t *ev)
{
    ngx_http_logistics_redis_t  *rs = ev->data;

    if (rs->refresh_wanted) {
        ngx_http_logistics_redis_cluster_refresh(rs);
    }
}


static void
ngx_http_logistics_redis_cluster_slots_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply)
{
    ngx_uint_t                   changed;
    const char                  *err;
    lg_redis_slots_t            *map;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    ngx_http_logistics_redis_op_free(op);

    rs->refreshing = 0;
    rs->last_refresh = ngx_current_msec;

    if (reply == NULL) {
        goto retry;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis cluster node \"%V\": CLUSTER SLOTS "
                      "failed: %*s", &node->name, (size_t) reply->len,
                      reply->str);
        goto retry;
    }

    if (lg_redis_slots_parse(rs->spare, reply, node->ident.host, &err) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis cluster node \"%V\": CLUSTER SLOTS: "
                      "%s", &node->name, err);
        goto retry;
    }

    changed = !ngx_http_logistics_redis_cluster_same(rs->slots, rs->spare);

    map = rs->slots;
    rs->slots = rs->spare;
    rs->spare = map;

    rs->refresh_wanted = 0;

    if (changed) {
        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "logistics: Redis cluster: %uz masters serve %uz of "
                      "%d slots (CLUSTER SLOTS from \"%V\")",
                      rs->slots->nnodes, rs->slots->nslots, LG_REDIS_SLOTS,
                      &node->name);
    }

    ngx_http_logistics_redis_cluster_apply(rs);

    return;

retry:

    if (!rs->refresh.timer_set) {
        ngx_add_timer(&rs->refresh, NGX_HTTP_LOGISTICS_REDIS_REFRESH_RETRY);
    }
}


static ngx_uint_t
ngx_http_logistics_redis_cluster_same(const lg_redis_slots_t *a,
    const lg_redis_slots_t *b)
{
    size_t  i;

    if (a->nnodes != b->nnodes || a->nslots != b->nslots) {
        return 0;
    }

    for (i = 0; i < a->nnodes; i++) {
        if (!lg_redis_addr_eq(&a->nodes[i], &b->nodes[i])) {
            return 0;
        }
    }

    return ngx_memcmp(a->owner, b->owner, sizeof(a->owner)) == 0;
}


/*
 * A new map: a node per master, connected; nodes that are no master
 * any more are retired (closed once their connection is done with).
 */

static void
ngx_http_logistics_redis_cluster_apply(ngx_http_logistics_redis_t *rs)
{
    size_t                            i;
    ngx_queue_t                      *q, *next;
    ngx_http_logistics_redis_node_t  *node;

    for (q = ngx_queue_head(&rs->nodes);
         q != ngx_queue_sentinel(&rs->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);
        node->index = -1;
    }

    ngx_memzero(rs->by_index, sizeof(rs->by_index));

    for (i = 0; i < rs->slots->nnodes; i++) {
        node = ngx_http_logistics_redis_cluster_node(rs,
                                                     &rs->slots->nodes[i]);
        if (node == NULL) {
            /* its slots fail until a map names it by its address */
            continue;
        }

        rs->by_index[i] = node;
        node->index = i;
        node->retired = 0;
    }

    for (q = ngx_queue_head(&rs->nodes);
         q != ngx_queue_sentinel(&rs->nodes);
         q = next)
    {
        next = ngx_queue_next(q);
        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);

        if (node->index < 0) {
            ngx_http_logistics_redis_cluster_retire(rs, node);
            continue;
        }

        if (node->state == NGX_HTTP_LOGISTICS_REDIS_DOWN
            && !node->reconnect.timer_set)
        {
            (void) ngx_http_logistics_redis_node_connect(node);
        }
    }
}


static void
ngx_http_logistics_redis_cluster_retire(ngx_http_logistics_redis_t *rs,
    ngx_http_logistics_redis_node_t *node)
{
    node->retired = 1;

    if (node->state == NGX_HTTP_LOGISTICS_REDIS_DOWN) {
        ngx_queue_remove(&node->link);
        ngx_http_logistics_redis_node_free(node);
        return;
    }

    /* freed by its "closed" hook, after its own read loop if in one */
    ngx_http_logistics_redis_node_fail(node,
                                       "not a master of the cluster now");
}


static void
ngx_http_logistics_redis_cluster_ready(ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                  "logistics: Redis cluster node %V ready", &node->name);

    if (rs->refresh_wanted) {
        ngx_http_logistics_redis_cluster_refresh(rs);
    }
}


static void
ngx_http_logistics_redis_cluster_closed(ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->exiting) {
        return;
    }

    if (node->retired) {
        ngx_queue_remove(&node->link);
        ngx_http_logistics_redis_node_free(node);
        return;
    }

    if (node->index >= 0) {
        /* a master lost: reconnect, and learn whether a replica took over */
        ngx_http_logistics_redis_node_schedule(node);
        ngx_http_logistics_redis_cluster_refresh(rs);
    }

    /* else a seed or an -ASK target: retired with the next map */
}


/*
 * -MOVED and -ASK.  NGX_OK: the op is on its way to the node named; else
 * *why says why the call fails.
 */

ngx_int_t
ngx_http_logistics_redis_cluster_redirect(ngx_http_logistics_redis_t *rs,
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply, const char **why)
{
    int                               idx;
    uint16_t                          old;
    const char                       *argv[1];
    size_t                            argvlen[1];
    lg_redis_redirect_t               rd;
    ngx_http_logistics_redis_node_t  *target;

    if (lg_redis_redirect_parse(reply->str, reply->len, node->ident.host, &rd)
        != 0)
    {
        *why = "malformed redirection";
        return NGX_DECLINED;
    }

    if (rd.slot != op->slot) {
        *why = "redirection for another slot";
        return NGX_DECLINED;
    }

    if (op->hops >= NGX_HTTP_LOGISTICS_REDIS_MAX_HOPS) {
        *why = "too many redirections";
        return NGX_DECLINED;
    }

    if ((ngx_msec_int_t) (op->deadline - ngx_current_msec) <= 0) {
        *why = "timed out";
        return NGX_DECLINED;
    }

    if (rd.ask) {
        target = ngx_http_logistics_redis_cluster_node(rs, &rd.addr);

    } else {
        old = rs->slots->owner[rd.slot];

        idx = lg_redis_slots_move(rs->slots, rd.slot, &rd.addr);

        ngx_http_logistics_redis_cluster_refresh(rs);

        if (idx < 0) {
            *why = "slot moved to a node beyond the map";
            return NGX_DECLINED;
        }

        target = rs->by_index[idx];

        if (target == NULL) {
            target = ngx_http_logistics_redis_cluster_node(rs, &rd.addr);

            if (target != NULL) {
                rs->by_index[idx] = target;
                target->index = idx;
                target->retired = 0;
            }
        }

        if (old != (uint16_t) idx && target != NULL) {
            ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                          "logistics: Redis cluster: slot %ui moved to %V "
                          "(MOVED)", (ngx_uint_t) rd.slot, &target->name);
        }
    }

    if (target == NULL) {
        *why = "redirected to an unusable address";
        return NGX_DECLINED;
    }

    if (target->state == NGX_HTTP_LOGISTICS_REDIS_DOWN
        && !target->reconnect.timer_set)
    {
        (void) ngx_http_logistics_redis_node_connect(target);
    }

    if (target->state == NGX_HTTP_LOGISTICS_REDIS_DOWN || target->failed) {
        *why = "redirected to a node not connected";
        return NGX_DECLINED;
    }

    op->hops++;

    if (rd.ask) {
        argv[0] = "ASKING";
        argvlen[0] = 6;

        if (ngx_http_logistics_redis_node_internal(target, 1, argv, argvlen,
                                         ngx_http_logistics_redis_drop_reply,
                                         "ASKING", 0)
            != NGX_OK)
        {
            *why = "out of memory";
            return NGX_DECLINED;
        }
    }

    if (ngx_http_logistics_redis_node_send(target, op) != NGX_OK) {
        *why = "out of memory";
        return NGX_DECLINED;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, rs->log, 0,
                   "logistics: Redis cluster: slot %ui %s to %V (hop %ui)",
                   (ngx_uint_t) rd.slot, rd.ask ? "asked" : "moved",
                   &target->name, (ngx_uint_t) op->hops);

    return NGX_OK;
}


/*
 * -TRYAGAIN: the slot is migrating and only some of the command's keys
 * have moved; nothing was written.  The command is sent again after a
 * short wait (2, 4, 8, 16, then every 32 ms) while the deadline allows.
 */

ngx_int_t
ngx_http_logistics_redis_cluster_tryagain(ngx_http_logistics_redis_t *rs,
    ngx_http_logistics_redis_op_t *op)
{
    ngx_msec_t  delay;

    delay = (ngx_msec_t) 2 << ngx_min(op->tries, 4);
    delay = ngx_min(delay, NGX_HTTP_LOGISTICS_REDIS_TRYAGAIN_MAX);

    if ((ngx_msec_int_t) (op->deadline - ngx_current_msec - delay) <= 0) {
        return NGX_DECLINED;
    }

    if (op->tries < 15) {
        op->tries++;
    }

    op->hops = 0;

    op->retry.handler = ngx_http_logistics_redis_cluster_retry;

    ngx_queue_insert_tail(&rs->waiting, &op->queue);
    op->waiting = 1;

    ngx_add_timer(&op->retry, delay);

    return NGX_OK;
}


static void
ngx_http_logistics_redis_cluster_retry(ngx_event_t *ev)
{
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_op_t    *op;
    ngx_http_logistics_redis_node_t  *node;

    rs = &ngx_http_logistics_redis;
    op = ev->data;

    ngx_queue_remove(&op->queue);
    op->waiting = 0;

    node = ngx_http_logistics_redis_cluster_route(rs, op->slot);

    if (!ngx_http_logistics_redis_node_usable(node)
        || ngx_http_logistics_redis_node_send(node, op) != NGX_OK)
    {
        ngx_http_logistics_redis_op_finish(op, NULL,
                                           "slot migrating (TRYAGAIN)");
    }
}
