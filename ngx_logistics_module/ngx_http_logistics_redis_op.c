
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_redis_int.h"
#include "ngx_http_logistics_metrics.h"


/*
 * An op is one command and the caller waiting for its reply (or nobody,
 * for a store): created formatted, queued on a node, finished once.
 */

static void ngx_http_logistics_redis_op_timeout(ngx_event_t *ev);


/*
 * An op is malloc'd, not taken from a caller's pool: its reply may come
 * after the caller is gone.  Its events log to the cycle's log for the
 * same reason.
 */

ngx_http_logistics_redis_op_t *
ngx_http_logistics_redis_op_create(int argc, const char **argv,
    const size_t *argvlen, ngx_log_t *log)
{
    int                             len;
    sds                             cmd;
    ngx_http_logistics_redis_op_t  *op;

    op = ngx_calloc(sizeof(ngx_http_logistics_redis_op_t), log);
    if (op == NULL) {
        return NULL;
    }

    /*
     * hiredis's sds formatter: the plain redisFormatCommandArgv() of
     * hiredis 0.14 builds every "$<len>" with sprintf(), about 1,600
     * instructions more for the limit call (callgrind, bench/run)
     */
    len = redisFormatSdsCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "logistics: Redis command not formatted");
        ngx_free(op);
        return NULL;
    }

    op->cmd = cmd;
    op->len = len;

    op->timer.handler = ngx_http_logistics_redis_op_timeout;
    op->timer.data = op;
    op->timer.log = ngx_http_logistics_redis.log;

    op->retry.data = op;
    op->retry.log = ngx_http_logistics_redis.log;

    return op;
}


void
ngx_http_logistics_redis_op_free(ngx_http_logistics_redis_op_t *op)
{
    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->retry.timer_set) {
        ngx_del_timer(&op->retry);
    }

    if (op->waiting) {
        ngx_queue_remove(&op->queue);
        op->waiting = 0;
    }

    redisFreeSdsCommand(op->cmd);
    ngx_free(op);
}


/* the op's end: freed first, then its caller (if any) gets the answer */

void
ngx_http_logistics_redis_op_finish(ngx_http_logistics_redis_op_t *op,
    redisReply *reply, const char *why)
{
    void                                *data;
    ngx_http_logistics_redis_handler_pt  handler;

    handler = op->handler;
    data = op->data;

    ngx_http_logistics_redis_op_free(op);

    if (handler != NULL && !ngx_http_logistics_redis.exiting) {
        handler(data, reply, why);
    }
}


/*
 * The caller's deadline: it gets "timed out" now; the op stays in its
 * node's FIFO (detached) until its reply comes, which is then dropped.
 */

static void
ngx_http_logistics_redis_op_timeout(ngx_event_t *ev)
{
    void                                *data;
    ngx_http_logistics_redis_op_t       *op;
    ngx_http_logistics_redis_handler_pt  handler;

    op = ev->data;
    handler = op->handler;
    data = op->data;

    op->handler = NULL;

    if (!op->queued) {
        /* waiting to be sent again: nothing will come for it */
        ngx_http_logistics_redis_op_free(op);
    }

    if (handler != NULL) {
        ngx_http_logistics_count0(LG_MF_REDIS_TIMEOUTS);
        handler(data, NULL, "timed out");
    }
}
