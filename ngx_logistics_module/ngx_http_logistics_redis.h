
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
 * The Redis transport: non-blocking connections on the nginx event loop,
 * one per Redis node per worker, to one server, to the master a group of
 * Sentinels names, or to every master of a Redis Cluster, over TCP or
 * TLS.  It sends arguments and hands each reply to the handler of the
 * call; it knows nothing of requests, limits or keys, except that a
 * call's hash key (the request's "{partner}" key) picks the cluster node.
 *
 * Calls queued during one event-loop iteration leave in one write per
 * node at the end of it (a posted event), so a caller that batches work
 * (e.g. the limit checks ready in one iteration) only has to make its
 * calls from an event posted in that iteration, one call per cluster
 * slot: the keys of one command must share a slot (lg_redis_key_slot()).
 */

#define NGX_HTTP_LOGISTICS_REDIS_MAX_SCRIPTS  4

#define NGX_HTTP_LOGISTICS_REDIS_SINGLE    0
#define NGX_HTTP_LOGISTICS_REDIS_SENTINEL  1
#define NGX_HTTP_LOGISTICS_REDIS_CLUSTER   2


typedef struct {
    const char               *text;
    u_char                    sha[41];      /* what EVALSHA takes */
} ngx_http_logistics_redis_script_t;


/* "batches=": limit calls a worker keeps in flight per slot, at most */
#define NGX_HTTP_LOGISTICS_REDIS_BATCHES_MAX  64


/* an address of the configuration, resolved when it is read */

typedef struct {
    ngx_str_t                 name;         /* "host:port" as written */
    ngx_str_t                 host;         /* the TLS name by default */
    ngx_addr_t                addr;
} ngx_http_logistics_redis_host_t;


typedef struct {
    ngx_uint_t                topology;     /* NGX_HTTP_LOGISTICS_REDIS_* */
    ngx_str_t                 address;      /* as written, for messages */

    /* the server; the Sentinels; the cluster's seed nodes */
    ngx_array_t               hosts;        /* redis_host_t */
    ngx_str_t                 master_name;  /* sentinel=NAME */

    ngx_str_t                 user;
    ngx_str_t                 password;
    ngx_str_t                 password_file;      /* for the mode check */
    ngx_uint_t                password_file_mode;
    ngx_int_t                 db;
    ngx_msec_t                connect_timeout;
    ngx_msec_t                timeout;
    ngx_uint_t                batches;      /* limit calls per slot */

    ngx_str_t                 sentinel_user;
    ngx_str_t                 sentinel_password;

    ngx_flag_t                tls;
    ngx_flag_t                tls_verify;
    ngx_str_t                 tls_ca;
    ngx_str_t                 tls_cert;
    ngx_str_t                 tls_key;
    ngx_str_t                 tls_server_name;
#if (NGX_SSL)
    ngx_ssl_t                *ssl;
#endif

    /* loaded on every new data connection, before any call goes out */
    ngx_http_logistics_redis_script_t  scripts[
                                       NGX_HTTP_LOGISTICS_REDIS_MAX_SCRIPTS];
    ngx_uint_t                nscripts;
} ngx_http_logistics_redis_conf_t;


typedef struct ngx_http_logistics_redis_op_s  ngx_http_logistics_redis_op_t;

/*
 * The reply to a call, or NULL and why there is none ("timed out",
 * "connection closed", "slot migrating", ...).  Called once per call,
 * unless it was cancelled, and never from inside call() itself.
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
 * Queues a command on the node that serves hash_key (a key of the
 * command: every key of one command must share its cluster slot) and
 * calls handler(data, reply) when its reply comes, or handler(data,
 * NULL, why) when none will come within the configured timeout, counted
 * from now whatever redirections happen meanwhile.  NULL: Redis is not
 * usable right now (no connection to that node, no master known, out of
 * memory); nothing will be called, the caller applies its fail mode.
 */
ngx_http_logistics_redis_op_t *ngx_http_logistics_redis_call(
    const u_char *hash_key, size_t hash_len, int argc, const char **argv,
    const size_t *argvlen, ngx_http_logistics_redis_handler_pt handler,
    void *data, ngx_log_t *log);

/*
 * The same with the deadline given (ngx_current_msec based): for callers
 * that held a request back before calling, so that the wait and the call
 * together stay within the timeout.  A deadline already past or less
 * than 1 ms away still gives the call 1 ms.
 */
ngx_http_logistics_redis_op_t *ngx_http_logistics_redis_call_until(
    const u_char *hash_key, size_t hash_len, int argc, const char **argv,
    const size_t *argvlen, ngx_http_logistics_redis_handler_pt handler,
    void *data, ngx_msec_t deadline, ngx_log_t *log);

/* the handler of a call is not called any more (its caller is gone) */
void ngx_http_logistics_redis_cancel(ngx_http_logistics_redis_op_t *op);

/* a command nobody waits for; its reply is dropped (errors logged) */
ngx_int_t ngx_http_logistics_redis_send(const u_char *hash_key,
    size_t hash_len, int argc, const char **argv, const size_t *argvlen);

/* writes the queued commands now, not at the end of the iteration */
void ngx_http_logistics_redis_flush(void);

/* a fallback to the fail mode happened: count it, log once per outage */
void ngx_http_logistics_redis_fallback(ngx_log_t *log, const char *why,
    ngx_uint_t closed);


#endif /* _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_ */
