
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_protect.h"
#include "ngx_http_logistics_brownout.h"
#include "ngx_http_logistics_util.h"
#include "ngx_http_logistics_metrics.h"


/*
 * The brownout: an operator sheds a priority class on every node at
 * once.  Requests read one word of the zone (lg_brownout_pack()).  With
 * Redis, the word is a copy of lg:brownout that every worker refreshes
 * on a timer: a GET every NGX_HTTP_LOGISTICS_BROWNOUT_POLL ms, so a
 * "logistics-policy degrade" reaches every node within a second.  When
 * Redis does not answer, the last copy stays (it ends at its own expiry);
 * a missing key is "off".
 */

typedef struct {
    ngx_event_t                          timer;
    ngx_http_logistics_redis_op_t       *op;       /* a GET in flight */
    ngx_http_logistics_protect_conf_t   *pc;
    ngx_uint_t                           bad;      /* malformed values
                                                      seen (logged once) */
} ngx_http_logistics_brownout_poll_t;


static void ngx_http_logistics_brownout_tick(ngx_event_t *ev);
static void ngx_http_logistics_brownout_reply(void *data, redisReply *reply,
    const char *error);


static ngx_http_logistics_brownout_poll_t  *ngx_http_logistics_poll;


void
ngx_http_logistics_brownout_get(ngx_http_logistics_protect_conf_t *pc,
    lg_brownout_t *b)
{
    if (pc == NULL || pc->brownout == NULL) {
        b->level = LG_BROWNOUT_OFF;
        b->expires = 0;
        return;
    }

    lg_brownout_load(pc->brownout, b);
}


void
ngx_http_logistics_brownout_set(ngx_http_logistics_protect_conf_t *pc,
    const lg_brownout_t *b)
{
    if (pc != NULL && pc->brownout != NULL) {
        lg_brownout_store(pc->brownout, b);
    }
}


const char *
ngx_http_logistics_brownout_source(ngx_http_logistics_main_conf_t *lmcf)
{
    return lmcf->redis != NULL ? "redis" : "zone";
}


int64_t
ngx_http_logistics_wall_ms(void)
{
    return ngx_http_logistics_now() / 1000;
}


ngx_int_t
ngx_http_logistics_brownout_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_main_conf_t *lmcf)
{
    ngx_http_logistics_brownout_poll_t  *poll;

    if (lmcf->protect == NULL || lmcf->redis == NULL) {
        return NGX_OK;
    }

    poll = ngx_pcalloc(cycle->pool,
                       sizeof(ngx_http_logistics_brownout_poll_t));
    if (poll == NULL) {
        return NGX_ERROR;
    }

    poll->pc = lmcf->protect;
    poll->timer.handler = ngx_http_logistics_brownout_tick;
    poll->timer.data = poll;
    poll->timer.log = cycle->log;

    /* a worker that shuts down does not wait for the next poll */
    poll->timer.cancelable = 1;

    ngx_http_logistics_poll = poll;

    /* the first read at once, as the Redis connection comes up */
    ngx_add_timer(&poll->timer, 1);

    return NGX_OK;
}


void
ngx_http_logistics_brownout_exit_process(void)
{
    ngx_http_logistics_brownout_poll_t  *poll;

    poll = ngx_http_logistics_poll;

    if (poll == NULL) {
        return;
    }

    if (poll->op != NULL) {
        ngx_http_logistics_redis_cancel(poll->op);
        poll->op = NULL;
    }

    if (poll->timer.timer_set) {
        ngx_del_timer(&poll->timer);
    }

    ngx_http_logistics_poll = NULL;
}


static void
ngx_http_logistics_brownout_tick(ngx_event_t *ev)
{
    ngx_http_logistics_brownout_poll_t  *poll = ev->data;

    static const char    *argv[] = { "GET", LG_BROWNOUT_REDIS_KEY };
    static const size_t   argvlen[] = {
        sizeof("GET") - 1, sizeof(LG_BROWNOUT_REDIS_KEY) - 1
    };

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (poll->op == NULL) {
        /* NULL: Redis is down right now; the next tick tries again */
        /* one key, no hash tag: a cluster routes it by the whole name */
        poll->op = ngx_http_logistics_redis_call(
                                (const u_char *) LG_BROWNOUT_REDIS_KEY,
                                sizeof(LG_BROWNOUT_REDIS_KEY) - 1, 2, argv,
                                argvlen, ngx_http_logistics_brownout_reply,
                                poll, ev->log);

        if (poll->op != NULL) {
            ngx_http_logistics_count1(LG_MF_REDIS_COMMANDS, LG_REDIS_CMD_POLL);
        }
    }

    ngx_add_timer(ev, NGX_HTTP_LOGISTICS_BROWNOUT_POLL);
}


static void
ngx_http_logistics_brownout_reply(void *data, redisReply *reply,
    const char *error)
{
    ngx_http_logistics_brownout_poll_t  *poll = data;

    lg_brownout_t  b, now;

    poll->op = NULL;

    if (reply == NULL) {
        /* the transport logs outages; the copy in the zone stays */
        return;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        b.level = LG_BROWNOUT_OFF;
        b.expires = 0;

    } else if (reply->type != REDIS_REPLY_STRING
               || lg_brownout_decode(reply->str, reply->len, &b) != 0)
    {
        if (poll->bad++ == 0) {
            ngx_log_error(NGX_LOG_ERR, poll->timer.log, 0,
                          "logistics: Redis key \"" LG_BROWNOUT_REDIS_KEY
                          "\" does not hold \"<level> <expires ms>\" "
                          "(set it with \"logistics-policy degrade\"); "
                          "the brownout stays as it was");
        }

        return;

    } else {
        poll->bad = 0;
    }

    ngx_http_logistics_brownout_get(poll->pc, &now);

    if (now.level != b.level || now.expires != b.expires) {
        ngx_log_error(NGX_LOG_NOTICE, poll->timer.log, 0,
                      "logistics: brownout level \"%s\" from Redis%s",
                      lg_brownout_level_name(b.level),
                      b.expires ? " (until its expiry)" : "");

        ngx_http_logistics_brownout_set(poll->pc, &b);
    }
}
