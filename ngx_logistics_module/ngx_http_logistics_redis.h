
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_str_t                 address;      /* as written, for messages */
    ngx_str_t                 host;         /* IP or unix socket path */
    ngx_int_t                 port;         /* 0: unix socket */
    ngx_str_t                 user;
    ngx_str_t                 password;
    ngx_int_t                 db;
    ngx_msec_t                connect_timeout;
    ngx_msec_t                timeout;
    u_char                    script_sha[41];
} ngx_http_logistics_redis_conf_t;


typedef struct ngx_http_logistics_redis_op_s  ngx_http_logistics_redis_op_t;


char *ngx_http_logistics_redis_directive(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t **rcfp);
ngx_int_t ngx_http_logistics_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_redis_conf_t *rcf);
void ngx_http_logistics_redis_exit_process(void);

/*
 * Sends the limit script for a request: its revocation keys, its limits
 * and, when ctx->idem_lock is set, its Idempotency-Key claim.  NGX_AGAIN:
 * the request waits and its phases run again with ctx->redis_rc set;
 * NGX_ERROR: Redis is not usable right now, apply the fail mode without
 * waiting.
 */
ngx_int_t ngx_http_logistics_redis_limit(ngx_http_request_t *r);

/* a command nobody waits for */
ngx_int_t ngx_http_logistics_redis_send(int argc, const char **argv,
    const size_t *argvlen);

/* writes the queued commands now, not at the end of the iteration */
void ngx_http_logistics_redis_flush(void);

/* a fallback to the fail mode happened: count it, log once per outage */
void ngx_http_logistics_redis_fallback(ngx_log_t *log, const char *why,
    ngx_uint_t closed);


#endif /* _NGX_HTTP_LOGISTICS_REDIS_H_INCLUDED_ */
