
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>


/*
 * The Redis transport: one non-blocking connection per worker on the
 * event loop.  It sends arguments and hands each reply to the handler of
 * the call; it knows nothing of requests, limits or keys.
 */

#define NGX_HTTP_LOGISTICS_REDIS_MAX_SCRIPTS  4


typedef struct {
    const char               *text;
    u_char                    sha[41];      /* what EVALSHA takes */
} ngx_http_logistics_redis_script_t;


typedef struct {
    ngx_str_t                 address;      /* as written, for messages */
    ngx_str_t                 host;         /* IP or unix socket path */
    ngx_int_t                 port;         /* 0: unix socket */
    ngx_str_t                 user;
    ngx_str_t                 password;
    ngx_str_t                 password_file;   /* for the mode check */
    ngx_uint_t                password_file_mode;
    ngx_int_t                 db;
    ngx_msec_t                connect_timeout;
    ngx_msec_t                timeout;

    /* loaded on every new connection, before any call goes out */
    ngx_http_logistics_redis_script_t  scripts[
                                       NGX_HTTP_LOGISTICS_REDIS_MAX_SCRIPTS];
    ngx_uint_t                nscripts;
} ngx_http_logistics_redis_conf_t;


typedef struct ngx_http_logistics_redis_op_s  ngx_http_logistics_redis_op_t;

/*
 * The reply to a call, or NULL and why there is none ("timed out",
 * "connection closed").  Called once per call, unless it was cancelled.
 */
typedef void (*ngx_http_logistics_redis_handler_pt)(void *data,
    redisReply *reply, const char *error);


char *ngx_http_logistics_redis_directive(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t **rcfp);

/* a script every connection loads; its SHA1 for EVALSHA */
const u_char *ngx_http_logistics_redis_script(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, const char *text);

ngx_int_t ngx_http_logistics_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_redis_conf_t *rcf);
void ngx_http_logistics_redis_exit_process(void);

/*
 * Queues a command and calls handler(data, reply) when its reply comes,
 * or handler(data, NULL, why) when none will come within the configured
 * timeout.  NULL: Redis is not usable right now (not connected, or out
 * of memory); nothing will be called.
 */
ngx_http_logistics_redis_op_t *ngx_http_logistics_redis_call(int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_logistics_redis_handler_pt handler, void *data, ngx_log_t *log);

/* the handler of a call is not called any more (its caller is gone) */
void ngx_http_logistics_redis_cancel(ngx_http_logistics_redis_op_t *op);

/* a command nobody waits for; its reply is dropped (errors logged) */
ngx_int_t ngx_http_logistics_redis_send(int argc, const char **argv,
    const size_t *argvlen);

/* writes the queued commands now, not at the end of the iteration */
void ngx_http_logistics_redis_flush(void);

/* a fallback to the fail mode happened: count it, log once per outage */
void ngx_http_logistics_redis_fallback(ngx_log_t *log, const char *why,
    ngx_uint_t closed);


#endif /* _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_ */
