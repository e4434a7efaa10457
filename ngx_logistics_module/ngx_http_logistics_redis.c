
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_redis_int.h"
#include "ngx_http_logistics_metrics.h"


/*
 * The transport's API (call, cancel, send, flush, fallback), the routing
 * of a call to a node, and what a reply means before its caller sees it:
 * cluster redirections are followed, a flushed script cache is loaded
 * again, a demoted master is given up, all within the call's deadline.
 * The connections themselves are _redis_node.c's; which nodes exist is
 * the topology's: one server (here), Sentinel, Cluster.
 *
 * A caller never holds a connection: it holds an op, which it may
 * cancel.  Its handler is called once (reply, timeout, failure), never
 * from inside call(): always from the event loop.
 */


static ngx_http_logistics_redis_node_t *ngx_http_logistics_redis_route(
    ngx_http_logistics_redis_t *rs, const u_char *key, size_t len,
    unsigned *slot);
static ngx_http_logistics_redis_op_t *ngx_http_logistics_redis_queue(
    const u_char *hash_key, size_t hash_len, int argc, const char **argv,
    const size_t *argvlen, ngx_msec_t deadline, ngx_log_t *log);
static void ngx_http_logistics_redis_single_ready(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_single_closed(
    ngx_http_logistics_redis_node_t *node);


ngx_http_logistics_redis_t  ngx_http_logistics_redis;


ngx_int_t
ngx_http_logistics_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_redis_conf_t *rcf)
{
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_host_t  *h;
    ngx_http_logistics_redis_node_t  *node;

    rs = &ngx_http_logistics_redis;

    ngx_memzero(rs, sizeof(ngx_http_logistics_redis_t));

    rs->conf = rcf;
    rs->log = cycle->log;

    ngx_queue_init(&rs->waiting);
    ngx_queue_init(&rs->nodes);

    ngx_http_logistics_metrics_redis_state(LG_CONN_DOWN);

    /* the cached clock is the master's: timers must start from now */
    ngx_time_update();

    switch (rcf->topology) {

    case NGX_HTTP_LOGISTICS_REDIS_SENTINEL:
        return ngx_http_logistics_redis_sentinel_init(rs);

    case NGX_HTTP_LOGISTICS_REDIS_CLUSTER:
        return ngx_http_logistics_redis_cluster_init(rs);

    default: /* NGX_HTTP_LOGISTICS_REDIS_SINGLE */
        break;
    }

    node = ngx_http_logistics_redis_node_create(NGX_HTTP_LOGISTICS_REDIS_DATA,
                                                rs->log);
    if (node == NULL) {
        return NGX_ERROR;
    }

    h = rcf->hosts.elts;

    if (ngx_http_logistics_redis_node_address(node, h[0].addr.sockaddr,
                                              h[0].addr.socklen, &h[0].host)
        != NGX_OK)
    {
        ngx_http_logistics_redis_node_free(node);
        return NGX_ERROR;
    }

    node->setup_ops = ngx_http_logistics_redis_node_data_setup;
    node->ready = ngx_http_logistics_redis_single_ready;
    node->closed = ngx_http_logistics_redis_single_closed;

    rs->master = node;

    (void) ngx_http_logistics_redis_node_connect(node);

    return NGX_OK;
}


void
ngx_http_logistics_redis_exit_process(void)
{
    ngx_queue_t                    *q;
    ngx_http_logistics_redis_t     *rs;
    ngx_http_logistics_redis_op_t  *op;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL) {
        return;
    }

    /* nobody is called back from here on: the worker is leaving */
    rs->exiting = 1;

    while (!ngx_queue_empty(&rs->waiting)) {
        q = ngx_queue_head(&rs->waiting);
        op = ngx_queue_data(q, ngx_http_logistics_redis_op_t, queue);
        ngx_http_logistics_redis_op_free(op);
    }

    switch (rs->conf->topology) {

    case NGX_HTTP_LOGISTICS_REDIS_SENTINEL:
        ngx_http_logistics_redis_sentinel_exit(rs);
        break;

    case NGX_HTTP_LOGISTICS_REDIS_CLUSTER:
        ngx_http_logistics_redis_cluster_exit(rs);
        break;

    default:
        if (rs->master != NULL) {
            ngx_http_logistics_redis_node_free(rs->master);
            rs->master = NULL;
        }

        break;
    }

    rs->conf = NULL;
}


static void
ngx_http_logistics_redis_single_ready(ngx_http_logistics_redis_node_t *node)
{
    ngx_log_error(NGX_LOG_INFO, ngx_http_logistics_redis.log, 0,
                  "logistics: Redis \"%V\" ready",
                  &ngx_http_logistics_redis.conf->address);
}


static void
ngx_http_logistics_redis_single_closed(ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_node_schedule(node);
}


/* the node a key's command goes to: the one server, the master, the slot's */

static ngx_http_logistics_redis_node_t *
ngx_http_logistics_redis_route(ngx_http_logistics_redis_t *rs,
    const u_char *key, size_t len, unsigned *slot)
{
    *slot = 0;

    if (rs->conf->topology != NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
        return rs->master;
    }

    if (key == NULL) {
        return NULL;
    }

    *slot = lg_redis_key_slot((const char *) key, len);

    return ngx_http_logistics_redis_cluster_route(rs, *slot);
}


static ngx_http_logistics_redis_op_t *
ngx_http_logistics_redis_queue(const u_char *hash_key, size_t hash_len,
    int argc, const char **argv, const size_t *argvlen, ngx_msec_t deadline,
    ngx_log_t *log)
{
    unsigned                          slot;
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_op_t    *op;
    ngx_http_logistics_redis_node_t  *node;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL || rs->exiting) {
        return NULL;
    }

    node = ngx_http_logistics_redis_route(rs, hash_key, hash_len, &slot);

    if (!ngx_http_logistics_redis_node_usable(node)) {
        return NULL;
    }

    op = ngx_http_logistics_redis_op_create(argc, argv, argvlen, log);
    if (op == NULL) {
        return NULL;
    }

    op->done = ngx_http_logistics_redis_call_done;
    op->slot = slot;
    op->sent_us = ngx_http_logistics_metrics_clock();
    op->deadline = deadline;

    if (ngx_http_logistics_redis_node_send(node, op) != NGX_OK) {
        ngx_http_logistics_redis_op_free(op);
        return NULL;
    }

    return op;
}


ngx_http_logistics_redis_op_t *
ngx_http_logistics_redis_call(const u_char *hash_key, size_t hash_len,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_logistics_redis_handler_pt handler, void *data, ngx_log_t *log)
{
    if (ngx_http_logistics_redis.conf == NULL) {
        return NULL;
    }

    return ngx_http_logistics_redis_call_until(hash_key, hash_len, argc,
                                argv, argvlen, handler, data,
                                ngx_current_msec
                                + ngx_http_logistics_redis.conf->timeout,
                                log);
}


ngx_http_logistics_redis_op_t *
ngx_http_logistics_redis_call_until(const u_char *hash_key, size_t hash_len,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_logistics_redis_handler_pt handler, void *data,
    ngx_msec_t deadline, ngx_log_t *log)
{
    ngx_msec_int_t                  left;
    ngx_http_logistics_redis_op_t  *op;

    if (ngx_http_logistics_redis.conf == NULL) {
        return NULL;
    }

    left = (ngx_msec_int_t) (deadline - ngx_current_msec);

    if (left < 1) {
        left = 1;
        deadline = ngx_current_msec + 1;
    }

    op = ngx_http_logistics_redis_queue(hash_key, hash_len, argc, argv,
                                        argvlen, deadline, log);
    if (op == NULL) {
        return NULL;
    }

    op->handler = handler;
    op->data = data;

    ngx_add_timer(&op->timer, (ngx_msec_t) left);

    return op;
}


void
ngx_http_logistics_redis_cancel(ngx_http_logistics_redis_op_t *op)
{
    op->handler = NULL;

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (!op->queued) {
        /* waiting to be sent again: nobody else holds it */
        ngx_http_logistics_redis_op_free(op);
    }

    /* else its node's FIFO still holds it: its reply (or the close) frees it */
}


/*
 * A command nobody waits for (storing a response, releasing a claim):
 * queued like a call; its reply is dropped, errors logged.
 */

ngx_int_t
ngx_http_logistics_redis_send(const u_char *hash_key, size_t hash_len,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_msec_t                      deadline;
    ngx_http_logistics_redis_op_t  *op;

    if (ngx_http_logistics_redis.conf == NULL) {
        return NGX_ERROR;
    }

    deadline = ngx_current_msec + ngx_http_logistics_redis.conf->timeout;

    op = ngx_http_logistics_redis_queue(hash_key, hash_len, argc, argv,
                                        argvlen, deadline,
                                        ngx_http_logistics_redis.log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    ngx_http_logistics_count1(LG_MF_REDIS_COMMANDS, LG_REDIS_CMD_STORE);

    return NGX_OK;
}


/*
 * Writes what is queued now rather than at the end of the event loop
 * iteration.  A stored response (or a released claim) must reach Redis
 * before the partner sees the response it belongs to: a partner that
 * retries at once, through another worker or node, would otherwise find
 * the claim still in place and get 409 instead of the replay.
 *
 * Only the socket write happens here: a write error closes the
 * connection from the event loop, not from inside this request's
 * filters.
 */

void
ngx_http_logistics_redis_flush(void)
{
    ngx_queue_t                      *q;
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_node_t  *node;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL) {
        return;
    }

    if (rs->conf->topology != NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
        if (rs->master != NULL) {
            ngx_http_logistics_redis_node_write(rs->master);
        }

        return;
    }

    for (q = ngx_queue_head(&rs->nodes);
         q != ngx_queue_sentinel(&rs->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);

        if (node->out_pos != node->out_last) {
            ngx_http_logistics_redis_node_write(node);
        }
    }
}


/*
 * The reply to a call or a send, before its caller sees it.  Error
 * replies that are about the topology rather than the command are
 * handled here; the caller gets either a reply, or NULL and why.
 */

void
ngx_http_logistics_redis_call_done(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply)
{
    const char                  *why;
    ngx_uint_t                   topology;
    lg_redis_error_e             kind;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (reply == NULL) {
        ngx_http_logistics_redis_op_finish(op, NULL, "connection closed");
        return;
    }

    ngx_http_logistics_metrics_round_trip(op->sent_us);

    if (reply->type != REDIS_REPLY_ERROR) {
        ngx_http_logistics_redis_recovered();
        ngx_http_logistics_redis_op_finish(op, reply, NULL);
        return;
    }

    ngx_http_logistics_count1(LG_MF_REDIS_ERRORS, LG_REDIS_FAULT_REPLY);

    topology = rs->conf->topology;
    kind = lg_redis_reply_error(reply);

    switch (kind) {

    case LG_REDIS_ERR_MOVED:
    case LG_REDIS_ERR_ASK:
        if (topology != NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
            break;
        }

        if (ngx_http_logistics_redis_cluster_redirect(rs, node, op, reply,
                                                      &why)
            == NGX_OK)
        {
            return;
        }

        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "logistics: Redis \"%V\" replied %*s: %s",
                      &node->name, (size_t) reply->len, reply->str, why);

        ngx_http_logistics_redis_op_finish(op, NULL, why);
        return;

    case LG_REDIS_ERR_TRYAGAIN:
        if (topology != NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
            break;
        }

        if (ngx_http_logistics_redis_cluster_tryagain(rs, op) == NGX_OK) {
            return;
        }

        ngx_http_logistics_redis_op_finish(op, NULL,
                                           "slot migrating (TRYAGAIN)");
        return;

    case LG_REDIS_ERR_CLUSTERDOWN:
        if (topology != NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
            break;
        }

        ngx_http_logistics_redis_cluster_refresh(rs);
        ngx_http_logistics_redis_op_finish(op, NULL, "cluster down");
        return;

    case LG_REDIS_ERR_READONLY:
    case LG_REDIS_ERR_MASTERDOWN:
        why = (kind == LG_REDIS_ERR_READONLY) ? "master demoted (READONLY)"
                                              : "master down (MASTERDOWN)";

        if (topology == NGX_HTTP_LOGISTICS_REDIS_SENTINEL
            && node == rs->master)
        {
            ngx_http_logistics_redis_sentinel_demoted(rs, node, why);
            ngx_http_logistics_redis_op_finish(op, NULL, why);
            return;
        }

        if (topology == NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
            ngx_http_logistics_redis_cluster_refresh(rs);
            ngx_http_logistics_redis_op_finish(op, NULL, why);
            return;
        }

        break;

    case LG_REDIS_ERR_LOADING:
        ngx_http_logistics_redis_op_finish(op, NULL,
                                           "Redis is loading its data");
        return;

    case LG_REDIS_ERR_NOSCRIPT:
        /*
         * Someone flushed the script cache: load the scripts again and
         * send the command behind them, on the same connection, within
         * the call's deadline.
         */

        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "logistics: Redis \"%V\": script cache flushed, "
                      "loading the scripts again", &node->name);

        if (ngx_http_logistics_redis_node_usable(node)
            && op->hops < NGX_HTTP_LOGISTICS_REDIS_MAX_HOPS
            && (ngx_msec_int_t) (op->deadline - ngx_current_msec) > 0
            && ngx_http_logistics_redis_node_scripts(node, 0) == NGX_OK)
        {
            op->hops++;

            if (ngx_http_logistics_redis_node_send(node, op) == NGX_OK) {
                return;
            }
        }

        ngx_http_logistics_redis_op_finish(op, NULL,
                                           "script not loaded (NOSCRIPT)");
        return;

    default:
        break;
    }

    /* the command's own error: the caller decides */

    ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                  "logistics: Redis \"%V\" replied %*s", &node->name,
                  (size_t) reply->len, reply->str);

    ngx_http_logistics_redis_op_finish(op, reply, NULL);
}


void
ngx_http_logistics_redis_fallback(ngx_log_t *log, const char *why,
    ngx_uint_t closed)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    rs->fallbacks++;
    rs->total_fallbacks++;
    ngx_http_logistics_count1(LG_MF_REDIS_FALLBACKS,
                              closed ? LG_FAIL_MODE_CLOSED : LG_FAIL_MODE_OPEN);

    if (rs->outage || rs->conf == NULL) {
        return;
    }

    rs->outage = 1;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "logistics: Redis \"%V\" unavailable (%s): failing %s "
                  "until it answers again", &rs->conf->address, why,
                  closed ? "closed (503)" : "open (local limits)");
}


void
ngx_http_logistics_redis_recovered(void)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (!rs->outage) {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                  "logistics: Redis \"%V\" answers again after %ui "
                  "fallbacks", &rs->conf->address, rs->fallbacks);

    rs->outage = 0;
    rs->fallbacks = 0;
}


/*
 * The metrics' connection gauge is one state per worker: the worst of
 * its data connections (the master, or every cluster master), so a
 * cluster with one master unreachable shows "down".  Sentinel
 * connections are not counted: without a master they change nothing.
 */

void
ngx_http_logistics_redis_report_state(void)
{
    ngx_uint_t                        seen;
    ngx_queue_t                      *q;
    lg_conn_state_e                   state, s;
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_node_t  *node;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL) {
        return;
    }

    state = LG_CONN_CONNECTED;
    seen = 0;
    node = rs->master;
    q = NULL;

    if (rs->conf->topology == NGX_HTTP_LOGISTICS_REDIS_CLUSTER) {
        q = ngx_queue_head(&rs->nodes);
        node = NULL;
    }

    for ( ;; ) {
        if (q != NULL) {
            if (q == ngx_queue_sentinel(&rs->nodes)) {
                break;
            }

            node = ngx_queue_data(q, ngx_http_logistics_redis_node_t, link);
            q = ngx_queue_next(q);

            if (node->retired) {
                continue;
            }

        } else if (node == NULL) {
            break;
        }

        s = (node->state == NGX_HTTP_LOGISTICS_REDIS_READY) ? LG_CONN_CONNECTED
            : (node->state == NGX_HTTP_LOGISTICS_REDIS_DOWN) ? LG_CONN_DOWN
            : LG_CONN_CONNECTING;

        /* the enumeration runs from the best state to the worst */
        if (s > state) {
            state = s;
        }

        seen = 1;

        if (q == NULL) {
            break;
        }
    }

    ngx_http_logistics_metrics_redis_state(seen ? state : LG_CONN_DOWN);
}
