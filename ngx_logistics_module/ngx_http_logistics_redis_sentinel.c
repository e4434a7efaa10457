
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_redis_int.h"
#include "lg_redis_sentinel.h"


/*
 * Redis behind Sentinel, as Sentinel's client rules ask: three
 * connections per worker.
 *
 *   query       to one Sentinel: SENTINEL get-master-addr-by-name NAME,
 *               one question at a time; a Sentinel that fails or does
 *               not know the name is left for the next one in the list;
 *   subscriber  to one Sentinel (another one when there are several):
 *               SUBSCRIBE +switch-master, so a failover is heard of as
 *               soon as the Sentinels decide it; when it is lost, the
 *               next Sentinel is subscribed to and the master asked for
 *               again (a switch may have been missed meanwhile);
 *   master      to the address the Sentinels name, checked with ROLE
 *               before any call goes to it (a Sentinel's answer may be
 *               stale).
 *
 * The master is asked for again when its connection is lost or refused,
 * when it answers -READONLY or -MASTERDOWN (demoted), when ROLE says it
 * is not a master; a +switch-master message switches at once.  While no
 * master is ready, calls return NULL: the caller's fail mode applies, as
 * when a single Redis is down.  Addresses from Sentinel must be IP
 * literals: a worker never resolves names.
 */


static ngx_int_t ngx_http_logistics_redis_sentinel_use(
    ngx_http_logistics_redis_node_t *node, ngx_uint_t index);
static void ngx_http_logistics_redis_sentinel_ask(
    ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_sentinel_master_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);
static void ngx_http_logistics_redis_sentinel_set_master(
    ngx_http_logistics_redis_t *rs, const lg_redis_addr_t *addr);
static void ngx_http_logistics_redis_sentinel_connect_master(
    ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_sentinel_setup(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_subscribe(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_subscribed(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply);
static void ngx_http_logistics_redis_sentinel_push(
    ngx_http_logistics_redis_node_t *node, redisReply *reply);
static void ngx_http_logistics_redis_sentinel_query_ready(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_query_closed(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_subscriber_ready(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_subscriber_closed(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_master_ready(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_master_closed(
    ngx_http_logistics_redis_node_t *node);
static void ngx_http_logistics_redis_sentinel_master_reconnect(
    ngx_event_t *ev);


ngx_int_t
ngx_http_logistics_redis_sentinel_init(ngx_http_logistics_redis_t *rs)
{
    ngx_http_logistics_redis_node_t  *q, *s, *m;

    q = ngx_http_logistics_redis_node_create(
                             NGX_HTTP_LOGISTICS_REDIS_SENTINEL_Q, rs->log);
    s = ngx_http_logistics_redis_node_create(
                             NGX_HTTP_LOGISTICS_REDIS_SENTINEL_S, rs->log);
    m = ngx_http_logistics_redis_node_create(NGX_HTTP_LOGISTICS_REDIS_DATA,
                                             rs->log);

    if (q == NULL || s == NULL || m == NULL) {
        return NGX_ERROR;
    }

    q->setup_ops = ngx_http_logistics_redis_sentinel_setup;
    q->ready = ngx_http_logistics_redis_sentinel_query_ready;
    q->closed = ngx_http_logistics_redis_sentinel_query_closed;

    s->setup_ops = ngx_http_logistics_redis_sentinel_subscribe;
    s->ready = ngx_http_logistics_redis_sentinel_subscriber_ready;
    s->closed = ngx_http_logistics_redis_sentinel_subscriber_closed;
    s->push = ngx_http_logistics_redis_sentinel_push;

    m->check_role = 1;
    m->setup_ops = ngx_http_logistics_redis_node_data_setup;
    m->ready = ngx_http_logistics_redis_sentinel_master_ready;
    m->closed = ngx_http_logistics_redis_sentinel_master_closed;
    m->reconnect_handler = ngx_http_logistics_redis_sentinel_master_reconnect;

    rs->query = q;
    rs->subscriber = s;
    rs->master = m;

    /* asked and listened to on different Sentinels, when there are two */
    rs->query_index = 0;
    rs->subscriber_index = 1 % rs->conf->hosts.nelts;
    rs->ask_wanted = 1;

    if (ngx_http_logistics_redis_sentinel_use(q, rs->query_index) != NGX_OK
        || ngx_http_logistics_redis_sentinel_use(s, rs->subscriber_index)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_http_logistics_redis_node_connect(q);
    (void) ngx_http_logistics_redis_node_connect(s);

    return NGX_OK;
}


void
ngx_http_logistics_redis_sentinel_exit(ngx_http_logistics_redis_t *rs)
{
    if (rs->query != NULL) {
        ngx_http_logistics_redis_node_free(rs->query);
        rs->query = NULL;
    }

    if (rs->subscriber != NULL) {
        ngx_http_logistics_redis_node_free(rs->subscriber);
        rs->subscriber = NULL;
    }

    if (rs->master != NULL) {
        ngx_http_logistics_redis_node_free(rs->master);
        rs->master = NULL;
    }
}


static ngx_int_t
ngx_http_logistics_redis_sentinel_use(ngx_http_logistics_redis_node_t *node,
    ngx_uint_t index)
{
    ngx_http_logistics_redis_host_t  *h;

    h = ngx_http_logistics_redis.conf->hosts.elts;

    return ngx_http_logistics_redis_node_address(node, h[index].addr.sockaddr,
                                                 h[index].addr.socklen,
                                                 &h[index].host);
}


/* Sentinels may want a password of their own (requirepass, ACL) */

static void
ngx_http_logistics_redis_sentinel_setup(ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_conf_t  *rcf;

    rcf = ngx_http_logistics_redis.conf;

    if (ngx_http_logistics_redis_node_auth(node, &rcf->sentinel_user,
                                           &rcf->sentinel_password)
        == NGX_OK
        && node->setup == 0)
    {
        (void) ngx_http_logistics_redis_node_ping(node);
    }
}


static void
ngx_http_logistics_redis_sentinel_subscribe(
    ngx_http_logistics_redis_node_t *node)
{
    const char                       *argv[2];
    size_t                            argvlen[2];
    ngx_http_logistics_redis_conf_t  *rcf;

    rcf = ngx_http_logistics_redis.conf;

    if (ngx_http_logistics_redis_node_auth(node, &rcf->sentinel_user,
                                           &rcf->sentinel_password)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = LG_REDIS_SENTINEL_CHANNEL;
    argvlen[1] = sizeof(LG_REDIS_SENTINEL_CHANNEL) - 1;

    (void) ngx_http_logistics_redis_node_internal(node, 2, argv, argvlen,
                               ngx_http_logistics_redis_sentinel_subscribed,
                               "SUBSCRIBE", 1);
}


/* the confirmation of SUBSCRIBE; from here on, messages only */

static void
ngx_http_logistics_redis_sentinel_subscribed(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply)
{
    ngx_http_logistics_redis_op_free(op);

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis sentinel \"%V\": SUBSCRIBE failed: "
                      "%*s", &node->name, (size_t) reply->len, reply->str);
        ngx_http_logistics_redis_node_fail(node, NULL);
        return;
    }

    node->push_mode = 1;

    ngx_http_logistics_redis_node_setup_ok(node);
}


static void
ngx_http_logistics_redis_sentinel_push(ngx_http_logistics_redis_node_t *node,
    redisReply *reply)
{
    int                               rc;
    lg_redis_addr_t                   addr;
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_conf_t  *rcf;

    rs = &ngx_http_logistics_redis;
    rcf = rs->conf;

    rc = lg_redis_sentinel_switch(reply, (const char *) rcf->master_name.data,
                                  rcf->master_name.len, &addr);

    if (rc == 0) {
        return;
    }

    if (rc < 0) {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "logistics: Redis sentinel \"%V\": malformed "
                      "+switch-master message", &node->name);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                  "logistics: Redis sentinel \"%V\": +switch-master: "
                  "master \"%V\" is now %s:%d", &node->name,
                  &rcf->master_name, addr.host, addr.port);

    rs->ask_wanted = 0;

    ngx_http_logistics_redis_sentinel_set_master(rs, &addr);
}


static void
ngx_http_logistics_redis_sentinel_ask(ngx_http_logistics_redis_t *rs)
{
    const char                       *argv[3];
    size_t                            argvlen[3];
    ngx_http_logistics_redis_node_t  *q;

    rs->ask_wanted = 1;

    if (rs->asking || rs->exiting) {
        return;
    }

    q = rs->query;

    if (!ngx_http_logistics_redis_node_usable(q)) {
        /* its readiness asks */

        if (q->state == NGX_HTTP_LOGISTICS_REDIS_DOWN) {
            ngx_http_logistics_redis_node_schedule(q);
        }

        return;
    }

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = sizeof("get-master-addr-by-name") - 1;
    argv[2] = (const char *) rs->conf->master_name.data;
    argvlen[2] = rs->conf->master_name.len;

    if (ngx_http_logistics_redis_node_internal(q, 3, argv, argvlen,
                             ngx_http_logistics_redis_sentinel_master_reply,
                             "SENTINEL get-master-addr-by-name", 0)
        != NGX_OK)
    {
        ngx_http_logistics_redis_node_fail(q, "out of memory");
        return;
    }

    rs->asking = 1;
}


static void
ngx_http_logistics_redis_sentinel_master_reply(
    ngx_http_logistics_redis_node_t *node, ngx_http_logistics_redis_op_t *op,
    redisReply *reply)
{
    int                          rc;
    lg_redis_addr_t              addr;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    ngx_http_logistics_redis_op_free(op);
    rs->asking = 0;

    if (reply == NULL) {
        /* the next Sentinel is asked once connected */
        return;
    }

    rc = lg_redis_sentinel_master(reply, &addr);

    if (rc == LG_REDIS_SENTINEL_KNOWN) {
        rs->ask_wanted = 0;
        ngx_http_logistics_redis_sentinel_set_master(rs, &addr);
        return;
    }

    if (rc == LG_REDIS_SENTINEL_UNKNOWN) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis sentinel \"%V\" knows no master "
                      "\"%V\"", &node->name, &rs->conf->master_name);

    } else {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis sentinel \"%V\": unexpected reply "
                      "to SENTINEL get-master-addr-by-name%s%*s",
                      &node->name,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      (size_t) (reply->type == REDIS_REPLY_ERROR
                                ? reply->len : 0),
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
    }

    /* the next Sentinel of the list is asked */
    ngx_http_logistics_redis_node_fail(node, "asking the next Sentinel");
}


static void
ngx_http_logistics_redis_sentinel_set_master(ngx_http_logistics_redis_t *rs,
    const lg_redis_addr_t *addr)
{
    ngx_http_logistics_redis_node_t  *m;

    m = rs->master;

    if (rs->master_known && lg_redis_addr_eq(&rs->master_addr, addr)
        && lg_redis_addr_eq(&m->ident, addr)
        && m->state != NGX_HTTP_LOGISTICS_REDIS_DOWN && !m->failed)
    {
        /* connected, or connecting, to it already */
        return;
    }

    rs->master_addr = *addr;
    rs->master_known = 1;

    if (m->state != NGX_HTTP_LOGISTICS_REDIS_DOWN) {
        /* its "closed" hook connects to the new address at once */
        ngx_http_logistics_redis_node_fail(m, "the master moved");
        return;
    }

    ngx_http_logistics_redis_sentinel_connect_master(rs);
}


static void
ngx_http_logistics_redis_sentinel_connect_master(ngx_http_logistics_redis_t *rs)
{
    ngx_int_t                         rc;
    ngx_http_logistics_redis_node_t  *m;

    m = rs->master;

    rc = ngx_http_logistics_redis_node_address_ip(m, &rs->master_addr);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis master \"%V\" named \"%s\": not an "
                      "IP address (a worker resolves no names): no master",
                      &rs->conf->master_name, rs->master_addr.host);
        rs->master_known = 0;
        ngx_http_logistics_redis_node_schedule(m);
        return;
    }

    (void) ngx_http_logistics_redis_node_connect(m);
}


/* -READONLY, -MASTERDOWN: the node we took for the master is not one */

void
ngx_http_logistics_redis_sentinel_demoted(ngx_http_logistics_redis_t *rs,
    ngx_http_logistics_redis_node_t *node, const char *why)
{
    ngx_http_logistics_redis_node_fail(node, why);
}


static void
ngx_http_logistics_redis_sentinel_query_ready(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->ask_wanted) {
        ngx_http_logistics_redis_sentinel_ask(rs);
    }
}


static void
ngx_http_logistics_redis_sentinel_query_closed(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->exiting) {
        return;
    }

    rs->query_index = (rs->query_index + 1) % rs->conf->hosts.nelts;

    if (ngx_http_logistics_redis_sentinel_use(node, rs->query_index)
        == NGX_OK)
    {
        ngx_http_logistics_redis_node_schedule(node);
    }
}


static void
ngx_http_logistics_redis_sentinel_subscriber_ready(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                  "logistics: Redis sentinel \"%V\": subscribed to "
                  "+switch-master", &node->name);

    if (node->was_ready) {
        /* a switch may have been missed while nobody listened */
        ngx_http_logistics_redis_sentinel_ask(rs);
    }
}


static void
ngx_http_logistics_redis_sentinel_subscriber_closed(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->exiting) {
        return;
    }

    /* the subscription itself was ready once: the next one asks */
    node->was_ready = 1;

    rs->subscriber_index = (rs->subscriber_index + 1)
                           % rs->conf->hosts.nelts;

    if (ngx_http_logistics_redis_sentinel_use(node, rs->subscriber_index)
        == NGX_OK)
    {
        ngx_http_logistics_redis_node_schedule(node);
    }
}


static void
ngx_http_logistics_redis_sentinel_master_ready(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_log_error(NGX_LOG_INFO, ngx_http_logistics_redis.log, 0,
                  "logistics: Redis master \"%V\" at %V ready",
                  &ngx_http_logistics_redis.conf->master_name, &node->name);
}


static void
ngx_http_logistics_redis_sentinel_master_closed(
    ngx_http_logistics_redis_node_t *node)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->exiting) {
        return;
    }

    if (rs->master_known && !lg_redis_addr_eq(&node->ident, &rs->master_addr))
    {
        /* a switch: the new master at once */
        ngx_http_logistics_redis_sentinel_connect_master(rs);
        return;
    }

    /* lost, refused or not a master: the Sentinels are asked again */
    ngx_http_logistics_redis_node_schedule(node);
}


static void
ngx_http_logistics_redis_sentinel_master_reconnect(ngx_event_t *ev)
{
    ngx_http_logistics_redis_sentinel_ask(&ngx_http_logistics_redis);
}
