
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_REDIS_INT_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_REDIS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "ngx_http_logistics_redis.h"
#include "lg_redis_reply.h"
#include "lg_redis_cluster.h"


/*
 * Inside the Redis transport.  Four files share this header:
 *
 *   _redis_conf.c      the directive, TLS context, scripts
 *   _redis_node.c      one connection to one node: connect, TLS, setup
 *                      commands, output buffer, reply reader, FIFO of
 *                      ops, timers, close
 *   _redis.c           the API the steps use, routing, what a reply
 *                      means (redirections, NOSCRIPT, READONLY), one
 *                      server
 *   _redis_sentinel.c  the master a group of Sentinels names
 *   _redis_cluster.c   the slot map and a node per master
 *
 * An op is one command in flight.  It sits in the FIFO of the node it
 * was written to until that node's reply for it comes, whatever its
 * caller does meanwhile: a caller that times out or leaves only
 * detaches (handler = NULL), so the FIFO keeps matching replies to
 * commands, and a reply that comes late is read and dropped.
 */


/* node states */
#define NGX_HTTP_LOGISTICS_REDIS_DOWN        0
#define NGX_HTTP_LOGISTICS_REDIS_CONNECTING  1
#define NGX_HTTP_LOGISTICS_REDIS_HANDSHAKE   2
#define NGX_HTTP_LOGISTICS_REDIS_SETUP       3
#define NGX_HTTP_LOGISTICS_REDIS_READY       4

/* what a node is for */
#define NGX_HTTP_LOGISTICS_REDIS_DATA        0   /* takes calls */
#define NGX_HTTP_LOGISTICS_REDIS_SENTINEL_Q  1   /* asked for the master */
#define NGX_HTTP_LOGISTICS_REDIS_SENTINEL_S  2   /* subscribed */

#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN  50
#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX  500

/* redirections one attempt may follow (-MOVED, -ASK) */
#define NGX_HTTP_LOGISTICS_REDIS_MAX_HOPS     2


typedef struct ngx_http_logistics_redis_node_s  ngx_http_logistics_redis_node_t;

/*
 * What to do with the reply to an op, or with its loss (reply NULL: the
 * connection closed).  It owns the op: frees it or sends it again.
 */
typedef void (*ngx_http_logistics_redis_done_pt)(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);

typedef void (*ngx_http_logistics_redis_node_pt)(
    ngx_http_logistics_redis_node_t *node);

typedef void (*ngx_http_logistics_redis_push_pt)(
    ngx_http_logistics_redis_node_t *node, redisReply *reply);


struct ngx_http_logistics_redis_op_s {
    ngx_queue_t                          queue;     /* FIFO, or waiting */
    ngx_http_logistics_redis_done_pt     done;
    ngx_http_logistics_redis_handler_pt  handler;   /* NULL: detached */
    void                                *data;
    const char                          *what;      /* internal ops */

    char                                *cmd;       /* as sent, for */
    size_t                               len;       /* a resend */

    ngx_event_t                          timer;     /* the deadline */
    ngx_event_t                          retry;     /* -TRYAGAIN */
    ngx_msec_t                           deadline;
    ngx_msec_t                           sent;
    uint64_t                             sent_us;   /* metrics */

    unsigned                             slot:16;
    unsigned                             hops:2;
    unsigned                             tries:4;
    unsigned                             setup:1;   /* before READY */
    unsigned                             queued:1;  /* in a FIFO */
    unsigned                             waiting:1; /* on a retry */
};


struct ngx_http_logistics_redis_node_s {
    ngx_uint_t                        kind;
    ngx_uint_t                        state;

    /* where: the address, its text, the name its certificate must show */
    ngx_sockaddr_t                    sockaddr;
    socklen_t                         socklen;
    ngx_str_t                         name;
    u_char                            name_data[NGX_SOCKADDR_STRLEN];
    lg_redis_addr_t                   ident;    /* as Redis names it */
    ngx_str_t                         tls_name;
    u_char                            tls_name_data[LG_REDIS_HOST_LEN];

    ngx_peer_connection_t             peer;
    ngx_connection_t                 *connection;
    redisReader                      *reader;

    /* commands formatted, not yet written */
    u_char                           *out_start;
    u_char                           *out_pos;
    u_char                           *out_last;
    u_char                           *out_end;

    ngx_queue_t                       fifo;     /* ops, oldest first */
    ngx_uint_t                        pending;  /* in the FIFO */
    ngx_uint_t                        setup;    /* setup replies awaited */
    ngx_uint_t                        elements; /* of the reply read now */

    ngx_event_t                       timer;    /* connect, then watchdog */
    ngx_event_t                       reconnect;
    ngx_event_t                       fail;     /* a close asked for */
    ngx_msec_t                        backoff;
    ngx_msec_t                        last_read;
    const char                       *fail_why;
    char                              errstr[128];

#if (NGX_SSL)
    ngx_ssl_session_t                *ssl_session;
#endif

    /* the topology's part */
    ngx_http_logistics_redis_node_pt  setup_ops;    /* queue AUTH, ... */
    ngx_http_logistics_redis_node_pt  ready;
    ngx_http_logistics_redis_node_pt  closed;
    ngx_event_handler_pt              reconnect_handler;
    ngx_http_logistics_redis_push_pt  push;
    ngx_queue_t                       link;     /* cluster: every node */
    ngx_int_t                         index;    /* in the slot map, or -1 */

    unsigned                          reading:1;
    unsigned                          failed:1;
    unsigned                          push_mode:1;
    unsigned                          retired:1;
    unsigned                          check_role:1;
    unsigned                          was_ready:1;
};


/* the worker's state: one topology */

typedef struct {
    ngx_http_logistics_redis_conf_t  *conf;
    ngx_log_t                        *log;

    /* one server, or the master Sentinel names */
    ngx_http_logistics_redis_node_t  *master;

    /* Sentinel */
    ngx_http_logistics_redis_node_t  *query;
    ngx_http_logistics_redis_node_t  *subscriber;
    ngx_uint_t                        query_index;
    ngx_uint_t                        subscriber_index;
    lg_redis_addr_t                   master_addr;     /* to connect to */
    unsigned                          master_known:1;
    unsigned                          ask_wanted:1;
    unsigned                          asking:1;

    /* Cluster */
    lg_redis_slots_t                 *slots;
    lg_redis_slots_t                 *spare;
    ngx_http_logistics_redis_node_t  *by_index[LG_REDIS_MAX_MASTERS];
    ngx_queue_t                       nodes;
    ngx_uint_t                        seed_index;
    ngx_event_t                       refresh;
    ngx_msec_t                        last_refresh;
    unsigned                          refresh_wanted:1;
    unsigned                          refreshing:1;

    /* ops waiting to be sent again (-TRYAGAIN) */
    ngx_queue_t                       waiting;

    ngx_uint_t                        outage;     /* failing over now */
    ngx_uint_t                        fallbacks;  /* in this outage */
    ngx_uint_t                        total_fallbacks;
    unsigned                          exiting:1;
} ngx_http_logistics_redis_t;


extern ngx_http_logistics_redis_t  ngx_http_logistics_redis;


/* _redis_node.c */
ngx_http_logistics_redis_node_t *ngx_http_logistics_redis_node_create(
    ngx_uint_t kind, ngx_log_t *log);
void ngx_http_logistics_redis_node_free(
    ngx_http_logistics_redis_node_t *node);
ngx_int_t ngx_http_logistics_redis_node_address(
    ngx_http_logistics_redis_node_t *node, struct sockaddr *sa,
    socklen_t socklen, const ngx_str_t *tls_name);
ngx_int_t ngx_http_logistics_redis_node_address_ip(
    ngx_http_logistics_redis_node_t *node, const lg_redis_addr_t *addr);
ngx_int_t ngx_http_logistics_redis_node_connect(
    ngx_http_logistics_redis_node_t *node);
void ngx_http_logistics_redis_node_close(
    ngx_http_logistics_redis_node_t *node, const char *why);
void ngx_http_logistics_redis_node_fail(ngx_http_logistics_redis_node_t *node,
    const char *why);
void ngx_http_logistics_redis_node_schedule(
    ngx_http_logistics_redis_node_t *node);
ngx_uint_t ngx_http_logistics_redis_node_usable(
    ngx_http_logistics_redis_node_t *node);
void ngx_http_logistics_redis_report_state(void);
ngx_int_t ngx_http_logistics_redis_node_send(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op);
void ngx_http_logistics_redis_node_write(
    ngx_http_logistics_redis_node_t *node);
ngx_int_t ngx_http_logistics_redis_node_internal(
    ngx_http_logistics_redis_node_t *node, int argc, const char **argv,
    const size_t *argvlen, ngx_http_logistics_redis_done_pt done,
    const char *what, ngx_uint_t setup);
ngx_int_t ngx_http_logistics_redis_node_auth(
    ngx_http_logistics_redis_node_t *node, ngx_str_t *user,
    ngx_str_t *password);
ngx_int_t ngx_http_logistics_redis_node_scripts(
    ngx_http_logistics_redis_node_t *node, ngx_uint_t setup);
void ngx_http_logistics_redis_node_data_setup(
    ngx_http_logistics_redis_node_t *node);
ngx_int_t ngx_http_logistics_redis_node_ping(
    ngx_http_logistics_redis_node_t *node);
void ngx_http_logistics_redis_node_setup_ok(
    ngx_http_logistics_redis_node_t *node);
void ngx_http_logistics_redis_drop_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);

ngx_http_logistics_redis_op_t *ngx_http_logistics_redis_op_create(int argc,
    const char **argv, const size_t *argvlen, ngx_log_t *log);
void ngx_http_logistics_redis_op_free(ngx_http_logistics_redis_op_t *op);
void ngx_http_logistics_redis_op_finish(ngx_http_logistics_redis_op_t *op,
    redisReply *reply, const char *why);

/* _redis.c */
void ngx_http_logistics_redis_call_done(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply);
void ngx_http_logistics_redis_recovered(void);

/* _redis_sentinel.c */
ngx_int_t ngx_http_logistics_redis_sentinel_init(
    ngx_http_logistics_redis_t *rs);
void ngx_http_logistics_redis_sentinel_demoted(
    ngx_http_logistics_redis_t *rs, ngx_http_logistics_redis_node_t *node,
    const char *why);
void ngx_http_logistics_redis_sentinel_exit(ngx_http_logistics_redis_t *rs);

/* _redis_cluster.c */
ngx_int_t ngx_http_logistics_redis_cluster_init(
    ngx_http_logistics_redis_t *rs);
ngx_http_logistics_redis_node_t *ngx_http_logistics_redis_cluster_route(
    ngx_http_logistics_redis_t *rs, unsigned slot);
ngx_int_t ngx_http_logistics_redis_cluster_redirect(
    ngx_http_logistics_redis_t *rs, ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply,
    const char **why);
ngx_int_t ngx_http_logistics_redis_cluster_tryagain(
    ngx_http_logistics_redis_t *rs, ngx_http_logistics_redis_op_t *op);
void ngx_http_logistics_redis_cluster_refresh(ngx_http_logistics_redis_t *rs);
void ngx_http_logistics_redis_cluster_exit(ngx_http_logistics_redis_t *rs);


#endif /* _NGX_HTTP_LOGISTICS_REDIS_INT_H_INCLUDED_ */
