
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_redis_int.h"
#include "ngx_http_logistics_metrics.h"


/*
 * One connection to one Redis node, on the nginx event loop: an nginx
 * peer connection (ngx_event_connect_peer, so the socket is registered
 * edge-triggered like any upstream's), TLS with nginx's own ngx_ssl_*
 * on it, commands formatted by hiredis into an output buffer, replies
 * parsed by hiredis's redisReader, and a FIFO of the ops whose replies
 * are awaited.  Redis answers in order, so the head of the FIFO owns
 * the next reply.
 *
 * States: DOWN (no socket), CONNECTING, HANDSHAKE (TLS), SETUP (AUTH,
 * SELECT, SCRIPT LOAD, ROLE: the first commands in the FIFO), READY.
 * One connect timeout covers connect, handshake and setup.  Once READY,
 * the same timer is a watchdog: the connection is failed only when the
 * oldest reply awaited is overdue by the command timeout and nothing at
 * all was read meanwhile, so one slow command fails no other call.
 *
 * Closing happens in one place (node_close): pending ops get their
 * done(NULL), the topology's "closed" hook decides what comes next.
 * Code that runs inside the node's read loop, or inside a caller's
 * request, never closes it directly: node_fail() marks it and the close
 * happens from the event loop.
 */

#define NGX_HTTP_LOGISTICS_REDIS_READ_SIZE     16384

/*
 * A reply's arrays may announce this many elements in all: hiredis 0.14
 * allocates an array's slots as soon as it reads the count, so a broken
 * or hostile server's "*999999999" would ask for 8 GB.  The largest
 * honest reply is CLUSTER SLOTS of a cluster cut into many ranges.
 */
#define NGX_HTTP_LOGISTICS_REDIS_MAX_ELEMENTS  (256 * 1024)

/* unparsed input kept at most: no reply of ours comes near it */
#define NGX_HTTP_LOGISTICS_REDIS_MAX_INPUT     (64 * 1024 * 1024)

/* an output buffer larger than this is freed once written */
#define NGX_HTTP_LOGISTICS_REDIS_KEEP_OUTPUT   (256 * 1024)


static void *ngx_http_logistics_redis_create_array(const redisReadTask *task,
    int elements);
static void ngx_http_logistics_redis_node_connected(
    ngx_http_logistics_redis_node_t *node);
#if (NGX_SSL)
static void ngx_http_logistics_redis_node_tls(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_node_handshaked(ngx_connection_t *c);
static void ngx_http_logistics_redis_node_save_session(ngx_connection_t *c);
#endif
static void ngx_http_logistics_redis_node_ready(
    ngx_http_logistics_redis_node_t *node);
static const char *ngx_http_logistics_redis_node_write_error(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_node_read_handler(ngx_event_t *rev);
static void ngx_http_logistics_redis_node_write_handler(ngx_event_t *wev);
static void ngx_http_logistics_redis_node_read(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_node_dispatch(
    ngx_http_logistics_redis_node_t *node, redisReply *reply);
static void ngx_http_logistics_redis_node_timer(ngx_event_t *ev);
static void ngx_http_logistics_redis_node_fail_handler(ngx_event_t *ev);
static void ngx_http_logistics_redis_node_reconnect(ngx_event_t *ev);
static void ngx_http_logistics_redis_node_watch(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_setup_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);
static void ngx_http_logistics_redis_role_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);


static redisReplyObjectFunctions  ngx_http_logistics_redis_reader_fn;
static void *(*ngx_http_logistics_redis_default_array)(
    const redisReadTask *task, int elements);


ngx_http_logistics_redis_node_t *
ngx_http_logistics_redis_node_create(ngx_uint_t kind, ngx_log_t *log)
{
    redisReader                      *r;
    ngx_http_logistics_redis_node_t  *node;

    if (ngx_http_logistics_redis_default_array == NULL) {
        /* hiredis's own reply builders, with a guard on array counts */

        r = redisReaderCreate();
        if (r == NULL) {
            return NULL;
        }

        ngx_http_logistics_redis_reader_fn = *r->fn;
        ngx_http_logistics_redis_default_array = r->fn->createArray;
        ngx_http_logistics_redis_reader_fn.createArray =
                                        ngx_http_logistics_redis_create_array;
        redisReaderFree(r);
    }

    node = ngx_calloc(sizeof(ngx_http_logistics_redis_node_t), log);
    if (node == NULL) {
        return NULL;
    }

    node->kind = kind;
    node->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;
    node->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN;
    node->index = -1;

    ngx_queue_init(&node->fifo);

    node->timer.handler = ngx_http_logistics_redis_node_timer;
    node->timer.data = node;
    node->timer.log = log;
    node->timer.cancelable = 1;

    node->reconnect.handler = ngx_http_logistics_redis_node_reconnect;
    node->reconnect.data = node;
    node->reconnect.log = log;
    node->reconnect.cancelable = 1;

    node->fail.handler = ngx_http_logistics_redis_node_fail_handler;
    node->fail.data = node;
    node->fail.log = log;

    return node;
}


void
ngx_http_logistics_redis_node_free(ngx_http_logistics_redis_node_t *node)
{
    if (node->state != NGX_HTTP_LOGISTICS_REDIS_DOWN) {
        ngx_http_logistics_redis_node_close(node, NULL);
    }

    if (node->timer.timer_set) {
        ngx_del_timer(&node->timer);
    }

    if (node->reconnect.timer_set) {
        ngx_del_timer(&node->reconnect);
    }

    if (node->fail.posted) {
        ngx_delete_posted_event(&node->fail);
    }

    if (node->out_start != NULL) {
        ngx_free(node->out_start);
    }

#if (NGX_SSL)
    if (node->ssl_session != NULL) {
        ngx_ssl_free_session(node->ssl_session);
    }
#endif

    ngx_free(node);
}


/* a configured address: resolved when the configuration was read */

ngx_int_t
ngx_http_logistics_redis_node_address(ngx_http_logistics_redis_node_t *node,
    struct sockaddr *sa, socklen_t socklen, const ngx_str_t *tls_name)
{
    size_t                            len;
    u_char                            host[NGX_SOCKADDR_STRLEN];
    lg_redis_addr_t                   ident;
    const ngx_str_t                  *name;
    ngx_http_logistics_redis_conf_t  *rcf;

    rcf = ngx_http_logistics_redis.conf;

    len = ngx_sock_ntop(sa, socklen, host, NGX_SOCKADDR_STRLEN, 0);

    if (lg_redis_addr_set(&ident, (const char *) host, len,
                          sa->sa_family == AF_UNIX ? 1 : ngx_inet_get_port(sa))
        != 0)
    {
        return NGX_ERROR;
    }

    if (!lg_redis_addr_eq(&ident, &node->ident)) {
#if (NGX_SSL)
        if (node->ssl_session != NULL) {
            ngx_ssl_free_session(node->ssl_session);
            node->ssl_session = NULL;
        }
#endif
    }

    node->ident = ident;

    ngx_memcpy(&node->sockaddr, sa, socklen);
    node->socklen = socklen;

    node->name.data = node->name_data;
    node->name.len = ngx_sock_ntop(&node->sockaddr.sockaddr, socklen,
                                   node->name_data, NGX_SOCKADDR_STRLEN, 1);

    name = rcf->tls_server_name.len ? &rcf->tls_server_name : tls_name;

    if (name->len >= LG_REDIS_HOST_LEN) {
        return NGX_ERROR;
    }

    node->tls_name.data = node->tls_name_data;
    node->tls_name.len = name->len;
    ngx_memcpy(node->tls_name_data, name->data, name->len);
    node->tls_name_data[name->len] = '\0';

    return NGX_OK;
}


/*
 * An address Redis gave (a Sentinel's master, a cluster node): an IP
 * literal only.  Resolving a host name would block the worker, so a
 * name is refused (NGX_DECLINED) and the caller treats it as no node.
 */

ngx_int_t
ngx_http_logistics_redis_node_address_ip(
    ngx_http_logistics_redis_node_t *node, const lg_redis_addr_t *addr)
{
    size_t               len;
    in_addr_t            in;
    ngx_str_t            name;
    ngx_sockaddr_t       sa;
    socklen_t            socklen;

    len = ngx_strlen(addr->host);

    ngx_memzero(&sa, sizeof(ngx_sockaddr_t));

    in = ngx_inet_addr((u_char *) addr->host, len);

    if (in != INADDR_NONE) {
        sa.sockaddr_in.sin_family = AF_INET;
        sa.sockaddr_in.sin_addr.s_addr = in;
        socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr((u_char *) addr->host, len,
                              sa.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        sa.sockaddr_in6.sin6_family = AF_INET6;
        socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NGX_DECLINED;
    }

    ngx_inet_set_port(&sa.sockaddr, (in_port_t) addr->port);

    name.data = (u_char *) addr->host;
    name.len = len;

    return ngx_http_logistics_redis_node_address(node, &sa.sockaddr, socklen,
                                                 &name);
}


/*
 * Opens the connection and queues the setup commands; NGX_ERROR when
 * the connect failed at once (the "closed" hook has run then, and may
 * have freed nothing: nodes are freed only once retired).
 */

ngx_int_t
ngx_http_logistics_redis_node_connect(ngx_http_logistics_redis_node_t *node)
{
    ngx_int_t                    rc;
    ngx_connection_t            *c;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (node->state != NGX_HTTP_LOGISTICS_REDIS_DOWN || rs->exiting) {
        return NGX_OK;
    }

    if (node->reconnect.timer_set) {
        ngx_del_timer(&node->reconnect);
    }

    node->reader = redisReaderCreateWithFunctions(
                                        &ngx_http_logistics_redis_reader_fn);
    if (node->reader == NULL) {
        goto failed;
    }

    node->reader->privdata = node;

    ngx_memzero(&node->peer, sizeof(ngx_peer_connection_t));
    node->peer.sockaddr = &node->sockaddr.sockaddr;
    node->peer.socklen = node->socklen;
    node->peer.name = &node->name;
    node->peer.get = ngx_event_get_peer;
    node->peer.log = rs->log;
    node->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&node->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        /* ngx_event_connect_peer() said why */
        redisReaderFree(node->reader);
        node->reader = NULL;
        goto failed;
    }

    c = node->peer.connection;
    c->data = node;
    c->pool = NULL;
    c->read->handler = ngx_http_logistics_redis_node_read_handler;
    c->write->handler = ngx_http_logistics_redis_node_write_handler;

    /* errors of an established connection: logged by node_close */
    c->log_error = NGX_ERROR_INFO;

    node->connection = c;
    node->state = NGX_HTTP_LOGISTICS_REDIS_CONNECTING;
    node->failed = 0;
    node->fail_why = NULL;
    node->push_mode = 0;
    node->setup = 0;
    node->last_read = ngx_current_msec;

    node->setup_ops(node);

    ngx_add_timer(&node->timer, rs->conf->connect_timeout);

    if (node->kind == NGX_HTTP_LOGISTICS_REDIS_DATA) {
        ngx_http_logistics_redis_report_state();
    }

    if (rc == NGX_OK) {
        ngx_http_logistics_redis_node_connected(node);
    }

    return NGX_OK;

failed:

    node->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;
    ngx_http_logistics_count1(LG_MF_REDIS_ERRORS, LG_REDIS_FAULT_CONNECT);

    if (node->kind == NGX_HTTP_LOGISTICS_REDIS_DATA) {
        ngx_http_logistics_redis_report_state();
    }

    if (node->closed != NULL) {
        node->closed(node);
    }

    return NGX_ERROR;
}


static void
ngx_http_logistics_redis_node_connected(ngx_http_logistics_redis_node_t *node)
{
    int                          err;
    socklen_t                    len;
    ngx_connection_t            *c;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;
    c = node->connection;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, rs->log, err,
                      "logistics: Redis \"%V\": connect() failed",
                      &node->name);
        ngx_http_logistics_redis_node_close(node, NULL);
        return;
    }

#if (NGX_SSL)
    if (rs->conf->tls) {
        node->state = NGX_HTTP_LOGISTICS_REDIS_HANDSHAKE;
        ngx_http_logistics_redis_node_tls(node);
        return;
    }
#endif

    node->state = NGX_HTTP_LOGISTICS_REDIS_SETUP;
    ngx_http_logistics_redis_node_write(node);
}


#if (NGX_SSL)

static void
ngx_http_logistics_redis_node_tls(ngx_http_logistics_redis_node_t *node)
{
    char                             *name;
    ngx_int_t                         rc;
    ngx_uint_t                        ip;
    ngx_connection_t                 *c;
    X509_VERIFY_PARAM                *param;
    ngx_http_logistics_redis_conf_t  *rcf;
    u_char                            addr[16];

    rcf = ngx_http_logistics_redis.conf;
    c = node->connection;

    /* ngx_ssl_create_connection() allocates from the connection's pool */

    c->pool = ngx_create_pool(512, ngx_http_logistics_redis.log);
    if (c->pool == NULL) {
        ngx_http_logistics_redis_node_close(node, "out of memory");
        return;
    }

    if (ngx_ssl_create_connection(rcf->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        ngx_http_logistics_redis_node_close(node, "TLS setup failed");
        return;
    }

    /* the output buffer may grow, and move, while a write is retried */
    SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    name = (char *) node->tls_name_data;

    ip = (ngx_inet_addr(node->tls_name.data, node->tls_name.len)
          != INADDR_NONE);
#if (NGX_HAVE_INET6)
    ip = ip || (ngx_inet6_addr(node->tls_name.data, node->tls_name.len, addr)
                == NGX_OK);
#endif
    (void) addr;

    if (!ip && SSL_set_tlsext_host_name(c->ssl->connection, name) != 1) {
        ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                      "logistics: Redis \"%V\": SNI \"%s\" refused",
                      &node->name, name);
    }

    if (rcf->tls_verify) {
        /*
         * The name goes into the verification itself: nginx 1.22's own
         * host check knows DNS names only, and Sentinel and Cluster hand
         * out IP addresses.
         */

        param = SSL_get0_param(c->ssl->connection);

        if (ip) {
            rc = X509_VERIFY_PARAM_set1_ip_asc(param, name);

        } else {
            X509_VERIFY_PARAM_set_hostflags(param,
                                       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            rc = X509_VERIFY_PARAM_set1_host(param, name, 0);
        }

        if (rc != 1) {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "logistics: Redis \"%V\": cannot check the "
                          "certificate against \"%s\"", &node->name, name);
            ngx_http_logistics_redis_node_close(node, NULL);
            return;
        }
    }

    if (node->ssl_session != NULL
        && ngx_ssl_set_session(c, node->ssl_session) != NGX_OK)
    {
        ngx_http_logistics_redis_node_close(node, "TLS session not set");
        return;
    }

    c->ssl->save_session = ngx_http_logistics_redis_node_save_session;
    c->ssl->handler = ngx_http_logistics_redis_node_handshaked;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_http_logistics_redis_node_handshaked(c);
}


static void
ngx_http_logistics_redis_node_handshaked(ngx_connection_t *c)
{
    long                              rc;
    X509                             *cert;
    ngx_http_logistics_redis_node_t  *node;
    ngx_http_logistics_redis_conf_t  *rcf;

    node = c->data;
    rcf = ngx_http_logistics_redis.conf;

    if (!c->ssl->handshaked) {
        ngx_http_logistics_redis_node_close(node, "TLS handshake failed");
        return;
    }

    if (rcf->tls_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                          "logistics: Redis \"%V\": certificate refused "
                          "(expected \"%V\"): %s (%l)", &node->name,
                          &node->tls_name, X509_verify_cert_error_string(rc),
                          rc);
            ngx_http_logistics_redis_node_close(node, NULL);
            return;
        }

        cert = SSL_get_peer_certificate(c->ssl->connection);

        if (cert == NULL) {
            ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                          "logistics: Redis \"%V\": no certificate "
                          "presented", &node->name);
            ngx_http_logistics_redis_node_close(node, NULL);
            return;
        }

        X509_free(cert);
    }

    c->read->handler = ngx_http_logistics_redis_node_read_handler;
    c->write->handler = ngx_http_logistics_redis_node_write_handler;

    node->state = NGX_HTTP_LOGISTICS_REDIS_SETUP;

    ngx_http_logistics_redis_node_write(node);
}


/* a new session (TLS 1.3 sends it after the handshake) for the next time */

static void
ngx_http_logistics_redis_node_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t                *session;
    ngx_http_logistics_redis_node_t  *node;

    node = c->data;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (node->ssl_session != NULL) {
        ngx_ssl_free_session(node->ssl_session);
    }

    node->ssl_session = session;
}

#endif


static void
ngx_http_logistics_redis_node_ready(ngx_http_logistics_redis_node_t *node)
{
    if (node->timer.timer_set) {
        ngx_del_timer(&node->timer);
    }

    node->state = NGX_HTTP_LOGISTICS_REDIS_READY;
    node->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN;
    node->last_read = ngx_current_msec;

    ngx_http_logistics_redis_node_watch(node);

    if (node->kind == NGX_HTTP_LOGISTICS_REDIS_DATA) {
        ngx_http_logistics_redis_report_state();
    }

    if (node->ready != NULL) {
        node->ready(node);
    }

    node->was_ready = 1;
}


/*
 * The one way a connection ends.  Inside the node's own read loop the
 * close is only noted; the loop closes once the reply being handled is
 * done with.
 */

void
ngx_http_logistics_redis_node_close(ngx_http_logistics_redis_node_t *node,
    const char *why)
{
    ngx_pool_t                     *pool;
    ngx_queue_t                     gone, *q;
    ngx_connection_t               *c;
    ngx_http_logistics_redis_op_t  *op;

    if (node->reading) {
        if (!node->failed) {
            node->failed = 1;
            node->fail_why = why;
        }

        return;
    }

    if (node->timer.timer_set) {
        ngx_del_timer(&node->timer);
    }

    if (node->fail.posted) {
        ngx_delete_posted_event(&node->fail);
    }

    if (why != NULL && node->state != NGX_HTTP_LOGISTICS_REDIS_DOWN) {
        ngx_log_error(NGX_LOG_WARN, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis \"%V\": %s%s", &node->name, why,
                      node->retired ? "" : ", reconnecting");
    }

    if (node->state != NGX_HTTP_LOGISTICS_REDIS_DOWN && !node->retired) {
        /* an established connection lost, or one that never got there */
        ngx_http_logistics_count1(LG_MF_REDIS_ERRORS,
                                  node->state == NGX_HTTP_LOGISTICS_REDIS_READY
                                  ? LG_REDIS_FAULT_IO : LG_REDIS_FAULT_CONNECT);
    }

    c = node->connection;

    if (c != NULL) {
#if (NGX_SSL)
        if (c->ssl != NULL) {
            /* nothing to wait for: the connection is dropped */
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        pool = c->pool;
        ngx_close_connection(c);

        if (pool != NULL) {
            ngx_destroy_pool(pool);
        }

        node->connection = NULL;
    }

    if (node->reader != NULL) {
        redisReaderFree(node->reader);
        node->reader = NULL;
    }

    node->out_pos = node->out_start;
    node->out_last = node->out_start;

    node->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;
    node->failed = 0;
    node->fail_why = NULL;
    node->push_mode = 0;
    node->setup = 0;

    if (node->kind == NGX_HTTP_LOGISTICS_REDIS_DATA) {
        ngx_http_logistics_redis_report_state();
    }

    /*
     * What was pending fails; the FIFO is emptied first, so that a
     * handler calling back into the transport finds the node down.
     */

    ngx_queue_init(&gone);

    while (!ngx_queue_empty(&node->fifo)) {
        q = ngx_queue_head(&node->fifo);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&gone, q);
    }

    node->pending = 0;

    while (!ngx_queue_empty(&gone)) {
        q = ngx_queue_head(&gone);
        ngx_queue_remove(q);

        op = ngx_queue_data(q, ngx_http_logistics_redis_op_t, queue);
        op->queued = 0;
        op->done(node, op, NULL);
    }

    if (node->closed != NULL) {
        node->closed(node);
    }
}


/* asks for a close from the event loop (see node_close) */

void
ngx_http_logistics_redis_node_fail(ngx_http_logistics_redis_node_t *node,
    const char *why)
{
    if (node->state == NGX_HTTP_LOGISTICS_REDIS_DOWN) {
        return;
    }

    if (!node->failed) {
        node->failed = 1;
        node->fail_why = why;
    }

    if (!node->reading && !node->fail.posted) {
        ngx_post_event(&node->fail, &ngx_posted_events);
    }
}


static void
ngx_http_logistics_redis_node_fail_handler(ngx_event_t *ev)
{
    ngx_http_logistics_redis_node_t  *node = ev->data;

    if (node->failed) {
        ngx_http_logistics_redis_node_close(node, node->fail_why);
    }
}


/* a reconnect after the backoff, which doubles up to 500 ms */

void
ngx_http_logistics_redis_node_schedule(ngx_http_logistics_redis_node_t *node)
{
    if (ngx_exiting || ngx_http_logistics_redis.exiting
        || node->reconnect.timer_set)
    {
        return;
    }

    ngx_add_timer(&node->reconnect, node->backoff);
    ngx_http_logistics_count0(LG_MF_REDIS_RECONNECTS);

    node->backoff *= 2;

    if (node->backoff > NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX) {
        node->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX;
    }
}


static void
ngx_http_logistics_redis_node_reconnect(ngx_event_t *ev)
{
    ngx_http_logistics_redis_node_t  *node = ev->data;

    if (node->reconnect_handler != NULL) {
        node->reconnect_handler(ev);
        return;
    }

    (void) ngx_http_logistics_redis_node_connect(node);
}


ngx_uint_t
ngx_http_logistics_redis_node_usable(ngx_http_logistics_redis_node_t *node)
{
    return node != NULL
           && node->state == NGX_HTTP_LOGISTICS_REDIS_READY
           && !node->failed;
}


/*
 * Queues an op's command.  It leaves at the end of this event-loop
 * iteration, with everything else queued on the node meanwhile, in one
 * write (a posted event): one send() per node and iteration.
 */

ngx_int_t
ngx_http_logistics_redis_node_send(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op)
{
    size_t             used, size;
    u_char            *p;
    ngx_connection_t  *c;

    if ((size_t) (node->out_end - node->out_last) < op->len) {
        used = node->out_last - node->out_pos;

        if (node->out_pos != node->out_start
            && (size_t) (node->out_end - node->out_start) >= used + op->len)
        {
            ngx_memmove(node->out_start, node->out_pos, used);

        } else {
            size = ngx_max(4096, 2 * (node->out_end - node->out_start));
            size = ngx_max(size, used + op->len);

            p = ngx_alloc(size, ngx_http_logistics_redis.log);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (used) {
                ngx_memcpy(p, node->out_pos, used);
            }

            if (node->out_start != NULL) {
                ngx_free(node->out_start);
            }

            node->out_start = p;
            node->out_end = p + size;
        }

        node->out_pos = node->out_start;
        node->out_last = node->out_start + used;
    }

    node->out_last = ngx_cpymem(node->out_last, op->cmd, op->len);

    ngx_queue_insert_tail(&node->fifo, &op->queue);
    op->queued = 1;
    op->sent = ngx_current_msec;
    node->pending++;

    c = node->connection;

    if (node->state >= NGX_HTTP_LOGISTICS_REDIS_SETUP && c != NULL
        && !c->write->posted)
    {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    if (node->state == NGX_HTTP_LOGISTICS_REDIS_READY
        && !node->timer.timer_set)
    {
        ngx_http_logistics_redis_node_watch(node);
    }

    return NGX_OK;
}


/* writes what is queued, as far as the socket takes it */

void
ngx_http_logistics_redis_node_write(ngx_http_logistics_redis_node_t *node)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = node->connection;

    if (c == NULL || node->state < NGX_HTTP_LOGISTICS_REDIS_SETUP
        || node->failed)
    {
        return;
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    while (node->out_pos < node->out_last) {
        n = c->send(c, node->out_pos, node->out_last - node->out_pos);

        if (n == NGX_ERROR) {
            ngx_http_logistics_redis_node_fail(node,
                              ngx_http_logistics_redis_node_write_error(node));
            return;
        }

        if (n == NGX_AGAIN || n == 0) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_http_logistics_redis_node_fail(node,
                                                   "write event failed");
            }

            return;
        }

        node->out_pos += n;
    }

    if (node->out_end - node->out_start
        > NGX_HTTP_LOGISTICS_REDIS_KEEP_OUTPUT)
    {
        /* a large stored response went out: do not keep its room */
        ngx_free(node->out_start);
        node->out_start = NULL;
        node->out_end = NULL;
    }

    node->out_pos = node->out_start;
    node->out_last = node->out_start;
}


/*
 * A server that refuses the TLS client (TLS 1.3: "certificate required")
 * sends its alert after the client considers the handshake done, so the
 * first command's write can meet the reset before any read saw the alert.
 * The alert is still in the socket's receive queue: one read lets OpenSSL
 * decode it and nginx log it, so the log says why and not just "write
 * failed".  Only while setting up: a ready connection's reader does that.
 */

static const char *
ngx_http_logistics_redis_node_write_error(
    ngx_http_logistics_redis_node_t *node)
{
    u_char             buf[64];
    ngx_connection_t  *c;

    c = node->connection;

    if (node->state != NGX_HTTP_LOGISTICS_REDIS_SETUP
#if (NGX_SSL)
        || c->ssl == NULL
#endif
        )
    {
        return "write failed";
    }

    c->read->ready = 1;

    switch (c->recv(c, buf, sizeof(buf))) {

    case 0:
        return "connection closed by the server";

    case NGX_ERROR:
        /* nginx logged OpenSSL's reason, the server's alert */
        return "read failed";

    default:
        return "write failed";
    }
}


static void
ngx_http_logistics_redis_node_read_handler(ngx_event_t *rev)
{
    ngx_connection_t                 *c;
    ngx_http_logistics_redis_node_t  *node;

    c = rev->data;
    node = c->data;

    if (node->state == NGX_HTTP_LOGISTICS_REDIS_CONNECTING) {
        ngx_http_logistics_redis_node_connected(node);
        return;
    }

    ngx_http_logistics_redis_node_read(node);
}


static void
ngx_http_logistics_redis_node_write_handler(ngx_event_t *wev)
{
    ngx_connection_t                 *c;
    ngx_http_logistics_redis_node_t  *node;

    c = wev->data;
    node = c->data;

    if (node->state == NGX_HTTP_LOGISTICS_REDIS_CONNECTING) {
        ngx_http_logistics_redis_node_connected(node);
        return;
    }

    ngx_http_logistics_redis_node_write(node);
}


/*
 * Reads until the socket is drained (the events are edge-triggered) and
 * hands each complete reply to the op at the head of the FIFO.
 */

static void
ngx_http_logistics_redis_node_read(ngx_http_logistics_redis_node_t *node)
{
    ssize_t            n;
    void              *reply;
    ngx_event_t       *rev;
    redisReader       *reader;
    ngx_connection_t  *c;
    u_char             buf[NGX_HTTP_LOGISTICS_REDIS_READ_SIZE];

    c = node->connection;
    rev = c->read;
    reader = node->reader;

    node->reading = 1;

    while (!node->failed) {

        n = c->recv(c, buf, NGX_HTTP_LOGISTICS_REDIS_READ_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            node->failed = 1;
            node->fail_why = "connection closed by the server";
            break;
        }

        if (n == NGX_ERROR) {
            node->failed = 1;
            node->fail_why = "read failed";
            break;
        }

        node->last_read = ngx_current_msec;

        if (redisReaderFeed(reader, (const char *) buf, n) != REDIS_OK
            || reader->len - reader->pos
               > NGX_HTTP_LOGISTICS_REDIS_MAX_INPUT)
        {
            node->failed = 1;
            node->fail_why = "reply too large";
            break;
        }

        for ( ;; ) {
            if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
                node->failed = 1;

                if (node->fail_why == NULL) {
                    /* the reader is freed with the connection: copied */
                    ngx_cpystrn((u_char *) node->errstr,
                                (u_char *) reader->errstr,
                                sizeof(node->errstr));
                    node->fail_why = node->errstr;
                }

                break;
            }

            if (reply == NULL) {
                break;
            }

            ngx_http_logistics_redis_node_dispatch(node, reply);

            freeReplyObject(reply);

            if (node->failed) {
                break;
            }
        }

        if (!rev->ready) {
            break;
        }
    }

    node->reading = 0;

    if (node->failed) {
        ngx_http_logistics_redis_node_close(node, node->fail_why);
        return;
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_logistics_redis_node_close(node, "read event failed");
    }
}


static void
ngx_http_logistics_redis_node_dispatch(ngx_http_logistics_redis_node_t *node,
    redisReply *reply)
{
    ngx_queue_t                    *q;
    ngx_http_logistics_redis_op_t  *op;

    if (ngx_queue_empty(&node->fifo)) {
        if (node->push_mode && node->push != NULL) {
            node->push(node, reply);
            return;
        }

        node->failed = 1;
        node->fail_why = "a reply to no command";
        return;
    }

    q = ngx_queue_head(&node->fifo);
    ngx_queue_remove(q);
    node->pending--;

    op = ngx_queue_data(q, ngx_http_logistics_redis_op_t, queue);
    op->queued = 0;

    op->done(node, op, reply);
}


/* the array-count guard (see NGX_HTTP_LOGISTICS_REDIS_MAX_ELEMENTS) */

static void *
ngx_http_logistics_redis_create_array(const redisReadTask *task,
    int elements)
{
    ngx_http_logistics_redis_node_t  *node;

    node = task->privdata;

    if (task->parent == NULL) {
        node->elements = 0;
    }

    if (elements < 0
        || (size_t) elements
           > NGX_HTTP_LOGISTICS_REDIS_MAX_ELEMENTS - node->elements)
    {
        /* hiredis turns NULL into an error of the reader */
        node->fail_why = "a reply announced too many array elements";
        return NULL;
    }

    node->elements += elements;

    return ngx_http_logistics_redis_default_array(task, elements);
}


static void
ngx_http_logistics_redis_node_timer(ngx_event_t *ev)
{
    ngx_http_logistics_redis_node_t  *node = ev->data;

    ngx_msec_t                        t, base;
    ngx_http_logistics_redis_op_t    *op;

    if (node->state != NGX_HTTP_LOGISTICS_REDIS_READY) {
        ngx_http_logistics_redis_node_close(node,
                                  "connect, TLS handshake or setup timed out");
        return;
    }

    if (ngx_queue_empty(&node->fifo)) {
        return;
    }

    /*
     * The watchdog: the oldest reply awaited is overdue once its command
     * is older than the timeout; the connection is given up only when
     * it has been overdue for another timeout and nothing at all was
     * read meanwhile.  A slow command alone fails nothing but itself.
     */

    t = ngx_http_logistics_redis.conf->timeout;
    op = ngx_queue_data(ngx_queue_head(&node->fifo),
                        ngx_http_logistics_redis_op_t, queue);

    base = op->sent + t;

    if ((ngx_msec_int_t) (node->last_read - base) > 0) {
        base = node->last_read;
    }

    if ((ngx_msec_int_t) (ngx_current_msec - base) >= (ngx_msec_int_t) t) {
        ngx_http_logistics_redis_node_close(node,
                                 "no reply for twice the command timeout");
        return;
    }

    ngx_add_timer(&node->timer, base + t - ngx_current_msec);
}


static void
ngx_http_logistics_redis_node_watch(ngx_http_logistics_redis_node_t *node)
{
    ngx_msec_t                      t;
    ngx_http_logistics_redis_op_t  *op;

    if (ngx_queue_empty(&node->fifo) || node->timer.timer_set) {
        return;
    }

    t = ngx_http_logistics_redis.conf->timeout;
    op = ngx_queue_data(ngx_queue_head(&node->fifo),
                        ngx_http_logistics_redis_op_t, queue);

    t = op->sent + 2 * t - ngx_current_msec;

    if ((ngx_msec_int_t) t <= 0) {
        t = 1;
    }

    ngx_add_timer(&node->timer, t);
}


/* an internal command: setup, ASKING, SCRIPT LOAD, a Sentinel query */

ngx_int_t
ngx_http_logistics_redis_node_internal(ngx_http_logistics_redis_node_t *node,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_logistics_redis_done_pt done, const char *what,
    ngx_uint_t setup)
{
    ngx_http_logistics_redis_op_t  *op;

    op = ngx_http_logistics_redis_op_create(argc, argv, argvlen,
                                            ngx_http_logistics_redis.log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->done = done;
    op->what = what;
    op->setup = setup;

    if (ngx_http_logistics_redis_node_send(node, op) != NGX_OK) {
        ngx_http_logistics_redis_op_free(op);
        return NGX_ERROR;
    }

    if (setup) {
        node->setup++;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_redis_node_auth(ngx_http_logistics_redis_node_t *node,
    ngx_str_t *user, ngx_str_t *password)
{
    int          argc;
    const char  *argv[3];
    size_t       argvlen[3];

    if (password->len == 0) {
        return NGX_OK;
    }

    argc = 0;
    argv[argc] = "AUTH";
    argvlen[argc++] = 4;

    if (user->len) {
        argv[argc] = (const char *) user->data;
        argvlen[argc++] = user->len;
    }

    argv[argc] = (const char *) password->data;
    argvlen[argc++] = password->len;

    return ngx_http_logistics_redis_node_internal(node, argc, argv, argvlen,
                                        ngx_http_logistics_redis_setup_reply,
                                        "AUTH", 1);
}


/* the scripts, on a new connection or after the cache was flushed */

ngx_int_t
ngx_http_logistics_redis_node_scripts(ngx_http_logistics_redis_node_t *node,
    ngx_uint_t setup)
{
    ngx_uint_t                        i;
    const char                       *argv[3];
    size_t                            argvlen[3];
    ngx_http_logistics_redis_conf_t  *rcf;

    rcf = ngx_http_logistics_redis.conf;

    for (i = 0; i < rcf->nscripts; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = rcf->scripts[i].text;
        argvlen[2] = ngx_strlen(rcf->scripts[i].text);

        if (ngx_http_logistics_redis_node_internal(node, 3, argv, argvlen,
                                 setup ? ngx_http_logistics_redis_setup_reply
                                       : ngx_http_logistics_redis_drop_reply,
                                 "SCRIPT LOAD", setup)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A data node's first commands: AUTH, SELECT, SCRIPT LOAD, and ROLE for
 * a master Sentinel named (its answer may be stale: the node may have
 * been demoted since).  Every command queued behind them runs
 * authenticated, in the right database, with the scripts known.
 */

void
ngx_http_logistics_redis_node_data_setup(ngx_http_logistics_redis_node_t *node)
{
    ngx_int_t                         rc;
    u_char                            db[NGX_INT_T_LEN];
    const char                       *argv[2];
    size_t                            argvlen[2];
    ngx_http_logistics_redis_conf_t  *rcf;

    rcf = ngx_http_logistics_redis.conf;

    rc = ngx_http_logistics_redis_node_auth(node, &rcf->user,
                                            &rcf->password);

    if (rc == NGX_OK && rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rcf->db) - db;

        rc = ngx_http_logistics_redis_node_internal(node, 2, argv, argvlen,
                                        ngx_http_logistics_redis_setup_reply,
                                        "SELECT", 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_logistics_redis_node_scripts(node, 1);
    }

    if (rc == NGX_OK && node->check_role) {
        argv[0] = "ROLE";
        argvlen[0] = 4;

        rc = ngx_http_logistics_redis_node_internal(node, 1, argv, argvlen,
                                         ngx_http_logistics_redis_role_reply,
                                         "ROLE", 1);
    }

    if (rc == NGX_OK && node->setup == 0) {
        rc = ngx_http_logistics_redis_node_ping(node);
    }

    if (rc != NGX_OK) {
        /* the connect timer closes the connection */
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis \"%V\": setup commands not queued "
                      "(out of memory)", &node->name);
    }
}


/* nothing to set up: the first reply tells the server is there */

ngx_int_t
ngx_http_logistics_redis_node_ping(ngx_http_logistics_redis_node_t *node)
{
    const char  *argv[1];
    size_t       argvlen[1];

    argv[0] = "PING";
    argvlen[0] = 4;

    return ngx_http_logistics_redis_node_internal(node, 1, argv, argvlen,
                                        ngx_http_logistics_redis_setup_reply,
                                        "PING", 1);
}


void
ngx_http_logistics_redis_node_setup_ok(ngx_http_logistics_redis_node_t *node)
{
    if (node->setup > 0 && --node->setup == 0
        && node->state == NGX_HTTP_LOGISTICS_REDIS_SETUP)
    {
        ngx_http_logistics_redis_node_ready(node);
    }
}


static void
ngx_http_logistics_redis_setup_reply(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply)
{
    const char  *what;

    what = op->what;
    ngx_http_logistics_redis_op_free(op);

    if (reply == NULL) {
        return;
    }

    /* counted when answered: the first ones go out before the counters */
    ngx_http_logistics_count1(LG_MF_REDIS_COMMANDS, LG_REDIS_CMD_SETUP);

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_logistics_count1(LG_MF_REDIS_ERRORS, LG_REDIS_FAULT_REPLY);
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis \"%V\": %s failed: %*s",
                      &node->name, what, (size_t) reply->len, reply->str);
        ngx_http_logistics_redis_node_fail(node, NULL);
        return;
    }

    ngx_http_logistics_redis_node_setup_ok(node);
}


static void
ngx_http_logistics_redis_role_reply(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply)
{
    int  role;

    ngx_http_logistics_redis_op_free(op);

    if (reply == NULL) {
        return;
    }

    ngx_http_logistics_count1(LG_MF_REDIS_COMMANDS, LG_REDIS_CMD_SETUP);

    role = lg_redis_role(reply);

    if (role != LG_REDIS_ROLE_MASTER) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis \"%V\" is not a master (ROLE: %s): "
                      "asking the Sentinels again", &node->name,
                      role == LG_REDIS_ROLE_REPLICA ? "replica"
                      : role == LG_REDIS_ROLE_SENTINEL ? "sentinel"
                      : "unexpected reply");
        ngx_http_logistics_redis_node_fail(node, NULL);
        return;
    }

    ngx_http_logistics_redis_node_setup_ok(node);
}


/* the reply nobody waits for (ASKING, SCRIPT LOAD again): errors logged */

void
ngx_http_logistics_redis_drop_reply(ngx_http_logistics_redis_node_t *node,
    ngx_http_logistics_redis_op_t *op, redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        ngx_http_logistics_count1(LG_MF_REDIS_ERRORS, LG_REDIS_FAULT_REPLY);
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis \"%V\": %s failed: %*s",
                      &node->name, op->what, (size_t) reply->len,
                      reply->str);
    }

    ngx_http_logistics_redis_op_free(op);
}
