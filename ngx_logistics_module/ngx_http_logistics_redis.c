
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/evp.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_redis.h"
#include "lg_redis_script.h"


/*
 * One non-blocking Redis connection per worker, on the nginx event loop:
 * hiredis's async API with its event hooks pointed at an nginx connection
 * wrapping the socket (level-triggered, since hiredis reads one buffer
 * per call).  Commands of concurrent requests are pipelined on it.
 *
 * A request never holds the connection: it hands a small malloc'd "op" to
 * hiredis and arms its own timer.  Whichever comes first, the reply or the
 * timer, resumes the request; the other finds the op detached.  A reply
 * that arrives after its request ended (timeout, client gone) frees the
 * op and touches nothing else.
 */

#define NGX_HTTP_LOGISTICS_REDIS_DOWN        0
#define NGX_HTTP_LOGISTICS_REDIS_CONNECTING  1
#define NGX_HTTP_LOGISTICS_REDIS_READY       2

#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN  50
#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX  500


struct ngx_http_logistics_redis_op_s {
    ngx_http_request_t               *request;    /* NULL: detached */
};


typedef struct {
    ngx_http_logistics_redis_conf_t  *conf;
    redisAsyncContext                *ac;
    ngx_connection_t                 *conn;
    ngx_uint_t                        state;
    ngx_event_t                       reconnect;
    ngx_event_t                       connect_timer;
    ngx_msec_t                        backoff;
    ngx_log_t                        *log;

    ngx_uint_t                        writing;    /* in the write handler */
    ngx_uint_t                        reading;    /* in the read handler */
    ngx_uint_t                        outage;     /* failing over now */
    ngx_uint_t                        fallbacks;  /* in this outage */
    ngx_uint_t                        total_fallbacks;
} ngx_http_logistics_redis_t;


static ngx_http_logistics_redis_t  ngx_http_logistics_redis;


static void ngx_http_logistics_redis_connect(ngx_event_t *ev);
static void ngx_http_logistics_redis_drop(const char *why);
static void ngx_http_logistics_redis_schedule(void);
static void ngx_http_logistics_redis_gone(ngx_http_logistics_redis_t *rs);
static void ngx_http_logistics_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_logistics_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_logistics_redis_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_http_logistics_redis_setup_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_logistics_redis_read(ngx_event_t *ev);
static void ngx_http_logistics_redis_write(ngx_event_t *ev);
static void ngx_http_logistics_redis_add_read(void *data);
static void ngx_http_logistics_redis_del_read(void *data);
static void ngx_http_logistics_redis_add_write(void *data);
static void ngx_http_logistics_redis_del_write(void *data);
static void ngx_http_logistics_redis_cleanup(void *data);
static void ngx_http_logistics_redis_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_logistics_redis_timeout(ngx_event_t *ev);
static void ngx_http_logistics_redis_request_cleanup(void *data);
static void ngx_http_logistics_redis_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_redis_parse(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, redisReply *reply);
static void ngx_http_logistics_redis_recovered(void);
static ngx_int_t ngx_http_logistics_redis_issue(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, int argc,
    const char **argv, const size_t *argvlen);
static ngx_int_t ngx_http_logistics_redis_wait(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_http_logistics_redis_op_t *op,
    ngx_pool_cleanup_t *cln);
static void ngx_http_logistics_redis_forget(redisAsyncContext *ac,
    void *reply, void *privdata);


/*
 * logistics_redis 127.0.0.1:6379 | unix:/path
 *     [user=NAME] [password=SECRET | password_file=FILE] [db=N]
 *     [connect_timeout=50ms] [timeout=50ms];
 */

char *
ngx_http_logistics_redis_directive(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t **rcfp)
{
    u_char                           *p, hex[41];
    size_t                            len;
    ssize_t                           n;
    ngx_fd_t                          fd;
    ngx_str_t                        *value, s, file;
    ngx_url_t                         u;
    ngx_uint_t                        i;
    unsigned int                      mdlen;
    unsigned char                     md[EVP_MAX_MD_SIZE];
    ngx_http_logistics_redis_conf_t  *rcf;

    if (*rcfp != NULL) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    rcf->db = 0;
    rcf->connect_timeout = 50;
    rcf->timeout = 50;

    value = cf->args->elts;
    rcf->address = value[1];

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        rcf->host.len = value[1].len - 5;
        rcf->host.data = ngx_pnalloc(cf->pool, rcf->host.len + 1);
        if (rcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rcf->host.data, value[1].data + 5, rcf->host.len + 1);
        rcf->port = 0;

    } else {
        /* a host name is resolved here, once: never in a worker */

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[1];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid Redis address \"%V\"%s%s",
                               &value[1], u.err ? ": " : "",
                               u.err ? u.err : "");
            return NGX_CONF_ERROR;
        }

        rcf->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        rcf->host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                      u.addrs[0].socklen, rcf->host.data,
                                      NGX_SOCKADDR_STRLEN, 0);
        rcf->host.data[rcf->host.len] = '\0';

        if (rcf->host.data[0] == '[') {
            /* hiredis wants IPv6 literals without brackets */
            ngx_memmove(rcf->host.data, rcf->host.data + 1,
                        rcf->host.len - 2);
            rcf->host.len -= 2;
            rcf->host.data[rcf->host.len] = '\0';
        }

        rcf->port = u.port;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            rcf->user.data = value[i].data + 5;
            rcf->user.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            rcf->password.data = value[i].data + 9;
            rcf->password.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {
            file.data = value[i].data + 14;
            file.len = value[i].len - 14;

            if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
            if (fd == NGX_INVALID_FILE) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                                   ngx_open_file_n " \"%V\" failed", &file);
                return NGX_CONF_ERROR;
            }

            p = ngx_pnalloc(cf->pool, 1024);
            if (p == NULL) {
                ngx_close_file(fd);
                return NGX_CONF_ERROR;
            }

            n = ngx_read_fd(fd, p, 1024);
            ngx_close_file(fd);

            while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) {
                n--;
            }

            if (n <= 0 || n >= 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "Redis password file \"%V\" is empty "
                                   "or too long", &file);
                return NGX_CONF_ERROR;
            }

            rcf->password.data = p;
            rcf->password.len = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rcf->db = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (rcf->db == NGX_ERROR || rcf->db > 1000) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            s.data = value[i].data + 16;
            s.len = value[i].len - 16;

            rcf->connect_timeout = ngx_parse_time(&s, 0);
            if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->connect_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            rcf->timeout = ngx_parse_time(&s, 0);
            if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (rcf->user.len && rcf->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis \"user=\" needs \"password=\" or "
                           "\"password_file=\"");
        return NGX_CONF_ERROR;
    }

    /* EVALSHA needs the script's SHA1 */

    len = ngx_strlen(lg_redis_limit_script);

    if (EVP_Digest(lg_redis_limit_script, len, md, &mdlen, EVP_sha1(), NULL)
        != 1)
    {
        return NGX_CONF_ERROR;
    }

    ngx_hex_dump(hex, md, mdlen);
    ngx_memcpy(rcf->script_sha, hex, 40);
    rcf->script_sha[40] = '\0';

    *rcfp = rcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_logistics_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_logistics_redis_conf_t *rcf)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    ngx_memzero(rs, sizeof(ngx_http_logistics_redis_t));

    rs->conf = rcf;
    rs->log = cycle->log;
    rs->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;
    rs->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN;

    rs->reconnect.handler = ngx_http_logistics_redis_connect;
    rs->reconnect.log = cycle->log;
    rs->reconnect.data = rs;
    rs->reconnect.cancelable = 1;

    rs->connect_timer.handler = ngx_http_logistics_redis_connect_timeout;
    rs->connect_timer.log = cycle->log;
    rs->connect_timer.data = rs;
    rs->connect_timer.cancelable = 1;

    /* the cached clock is the master's: timers must start from now */
    ngx_time_update();

    ngx_http_logistics_redis_connect(&rs->reconnect);

    return NGX_OK;
}


void
ngx_http_logistics_redis_exit_process(void)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL) {
        return;
    }

    if (rs->reconnect.timer_set) {
        ngx_del_timer(&rs->reconnect);
    }

    ngx_http_logistics_redis_drop(NULL);
    rs->conf = NULL;
}


static void
ngx_http_logistics_redis_connect(ngx_event_t *ev)
{
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_conf_t  *rcf;
    redisAsyncContext                *ac;
    ngx_connection_t                 *c;
    const char                       *argv[3];
    size_t                            argvlen[3];
    int                               argc;
    u_char                            db[NGX_INT_T_LEN];

    rs = &ngx_http_logistics_redis;
    rcf = rs->conf;

    if (rcf == NULL || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (rcf->port) {
        ac = redisAsyncConnect((char *) rcf->host.data, (int) rcf->port);

    } else {
        ac = redisAsyncConnectUnix((char *) rcf->host.data);
    }

    if (ac == NULL || ac->err) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis \"%V\": %s", &rcf->address,
                      ac ? ac->errstr : "out of memory");

        if (ac != NULL) {
            redisAsyncFree(ac);
        }

        ngx_http_logistics_redis_schedule();
        return;
    }

    c = ngx_get_connection(ac->c.fd, rs->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_logistics_redis_schedule();
        return;
    }

    c->data = ac;
    c->read->handler = ngx_http_logistics_redis_read;
    c->write->handler = ngx_http_logistics_redis_write;
    c->read->log = rs->log;
    c->write->log = rs->log;

    rs->ac = ac;
    rs->conn = c;
    rs->state = NGX_HTTP_LOGISTICS_REDIS_CONNECTING;

    ac->data = rs;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_logistics_redis_add_read;
    ac->ev.delRead = ngx_http_logistics_redis_del_read;
    ac->ev.addWrite = ngx_http_logistics_redis_add_write;
    ac->ev.delWrite = ngx_http_logistics_redis_del_write;
    ac->ev.cleanup = ngx_http_logistics_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_logistics_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_logistics_redis_on_disconnect);

    /*
     * AUTH, SELECT and SCRIPT LOAD go first in the pipeline, so every
     * request command queued behind them runs authenticated, in the
     * right database, with the script known; queueing them also makes
     * hiredis ask for the write event that completes the connect.
     */

    if (rcf->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (rcf->user.len) {
            argv[argc] = (char *) rcf->user.data;
            argvlen[argc++] = rcf->user.len;
        }

        argv[argc] = (char *) rcf->password.data;
        argvlen[argc++] = rcf->password.len;

        redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                              (void *) "AUTH", argc, argv, argvlen);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rcf->db) - db;

        redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                              (void *) "SELECT", 2, argv, argvlen);
    }

    argv[0] = "SCRIPT";
    argvlen[0] = 6;
    argv[1] = "LOAD";
    argvlen[1] = 4;
    argv[2] = lg_redis_limit_script;
    argvlen[2] = ngx_strlen(lg_redis_limit_script);

    redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                          (void *) "SCRIPT LOAD", 3, argv, argvlen);

    ngx_add_timer(&rs->connect_timer, rcf->connect_timeout);
}


/* closes the connection now: every pending request resumes as failed */

static void
ngx_http_logistics_redis_drop(const char *why)
{
    redisAsyncContext           *ac;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    ac = rs->ac;

    if (ac == NULL) {
        return;
    }

    if (why != NULL) {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "logistics: Redis \"%V\": %s, reconnecting",
                      &rs->conf->address, why);
    }

    /* first: requests resumed by redisAsyncFree must see "down" */
    rs->ac = NULL;
    rs->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;
    ac->onDisconnect = NULL;

    redisAsyncFree(ac);

    ngx_http_logistics_redis_schedule();
}


static void
ngx_http_logistics_redis_schedule(void)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL || rs->reconnect.timer_set || ngx_exiting) {
        return;
    }

    ngx_add_timer(&rs->reconnect, rs->backoff);

    rs->backoff *= 2;

    if (rs->backoff > NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX) {
        rs->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX;
    }
}


static void
ngx_http_logistics_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_logistics_redis_drop("connect or setup timed out");
}


static void
ngx_http_logistics_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_logistics_redis_t  *rs;

    rs = ac->data;

    if (status == REDIS_OK) {
        return;
    }

    /* hiredis frees the context after this callback */

    ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                  "logistics: Redis \"%V\": connect failed: %s",
                  &rs->conf->address, ac->errstr);

    ngx_http_logistics_redis_gone(rs);
}


static void
ngx_http_logistics_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_logistics_redis_t  *rs;

    rs = ac->data;

    ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                  "logistics: Redis \"%V\": connection lost: %s",
                  &rs->conf->address,
                  ac->errstr[0] ? ac->errstr : "closed by the server");

    ngx_http_logistics_redis_gone(rs);
}


/* hiredis freed (or is about to free) the context: forget it, retry later */

static void
ngx_http_logistics_redis_gone(ngx_http_logistics_redis_t *rs)
{
    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    rs->ac = NULL;
    rs->state = NGX_HTTP_LOGISTICS_REDIS_DOWN;

    ngx_http_logistics_redis_schedule();
}


static void
ngx_http_logistics_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                  *rr = reply;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rr == NULL || ac != rs->ac) {
        return;
    }

    if (rr->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "logistics: Redis \"%V\": %s failed: %*s",
                      &rs->conf->address, (char *) privdata,
                      (size_t) rr->len, rr->str);

        /* not from inside a hiredis callback: let the timer do it */
        if (rs->connect_timer.timer_set) {
            ngx_del_timer(&rs->connect_timer);
        }

        ngx_add_timer(&rs->connect_timer, 1);
        return;
    }

    if (ngx_strcmp(privdata, "SCRIPT LOAD") == 0) {
        if (rs->connect_timer.timer_set) {
            ngx_del_timer(&rs->connect_timer);
        }

        rs->state = NGX_HTTP_LOGISTICS_REDIS_READY;
        rs->backoff = NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN;

        ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                      "logistics: Redis \"%V\" ready", &rs->conf->address);
    }
}


static void
ngx_http_logistics_redis_read(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    ngx_http_logistics_redis.reading = 1;
    redisAsyncHandleRead(c->data);
    ngx_http_logistics_redis.reading = 0;
}


static void
ngx_http_logistics_redis_write(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;
    c = ev->data;

    rs->writing = 1;
    redisAsyncHandleWrite(c->data);
    rs->writing = 0;
}


static void
ngx_http_logistics_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_logistics_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


/*
 * Commands are written at the end of the current event loop iteration (a
 * posted event), so every command queued in one iteration goes out in one
 * write() and no epoll_ctl() is spent per batch.  Only when the socket
 * buffer is full, i.e. hiredis asks again from inside the write handler,
 * is the write event registered with the kernel.
 */

static void
ngx_http_logistics_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (!ngx_http_logistics_redis.writing) {
        if (!c->write->posted) {
            ngx_post_event(c->write, &ngx_posted_events);
        }

        return;
    }

    if (!c->write->active) {
        ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_logistics_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis is about to close the socket: release the nginx connection */

static void
ngx_http_logistics_redis_cleanup(void *data)
{
    ngx_connection_t            *c = data;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    if (rs->conn == c) {
        rs->conn = NULL;
    }
}


ngx_int_t
ngx_http_logistics_redis_limit(ngx_http_request_t *r)
{
    size_t                            n, i, j, nrev, claim;
    const char                      **argv;
    size_t                           *argvlen;
    u_char                           *p;
    const lg_policy_t                *policy;
    ngx_http_logistics_ctx_t         *ctx;
    ngx_http_logistics_redis_t       *rs;
    ngx_http_logistics_redis_conf_t  *rcf;
    ngx_http_logistics_main_conf_t   *lmcf;

    rs = &ngx_http_logistics_redis;
    rcf = rs->conf;

    if (rcf == NULL || rs->state != NGX_HTTP_LOGISTICS_REDIS_READY
        || rs->ac == NULL)
    {
        return NGX_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    /*
     * EVALSHA sha nkeys revocation-keys... limit-keys... [idem-key]
     *         nrev nlimits (T tau)... [lock px]
     * Revocation keys: the partner's suspension and, for a bearer token
     * with an id, that token's revocation.  The idempotency claim rides
     * along when the request has one prepared (lg_redis_script.h).
     */

    nrev = ctx->token_jti.len ? 2 : 1;
    claim = ctx->idem_lock.len ? 1 : 0;
    n = 3 + nrev + ctx->nlimits + 2 + 2 * ctx->nlimits + 3 * claim;

    argv = ngx_palloc(r->pool, n * sizeof(char *));
    argvlen = ngx_palloc(r->pool, n * sizeof(size_t));
    p = ngx_pnalloc(r->pool, sizeof("lg:{}:jti:") - 1
                             + ctx->partner->id.len + ctx->token_jti.len
                             + NGX_INT_T_LEN);

    if (argv == NULL || argvlen == NULL || p == NULL) {
        return NGX_ERROR;
    }

    i = 0;
    argv[i] = "EVALSHA";
    argvlen[i++] = 7;
    argv[i] = (char *) rcf->script_sha;
    argvlen[i++] = 40;

    argv[i] = (char *) p;
    argvlen[i++] = ngx_sprintf(p, "%ui", nrev + ctx->nlimits + claim) - p;
    p += argvlen[i - 1];

    argv[i] = ctx->partner->suspended_key.data;
    argvlen[i++] = ctx->partner->suspended_key.len;

    if (ctx->token_jti.len) {
        argv[i] = (char *) p;
        argvlen[i++] = ngx_sprintf(p, "lg:{%s}:jti:%V",
                                   ctx->partner->id.data, &ctx->token_jti)
                       - p;
        p += argvlen[i - 1];
    }

    for (j = 0; j < ctx->nlimits; j++) {
        argv[i] = (char *) ctx->limits[j].key.data;
        argvlen[i++] = ctx->limits[j].key.len;
    }

    if (claim) {
        argv[i] = (char *) ctx->idem_key.data;
        argvlen[i++] = ctx->idem_key.len;
    }

    argv[i] = nrev == 2 ? "2" : "1";
    argvlen[i++] = 1;
    argv[i] = ctx->nlimits == 2 ? "2" : (ctx->nlimits ? "1" : "0");
    argvlen[i++] = 1;

    for (j = 0; j < ctx->nlimits; j++) {
        argv[i] = ctx->limits[j].rate->interval_text;
        argvlen[i++] = ctx->limits[j].rate->interval_len;
        argv[i] = ctx->limits[j].rate->tolerance_text;
        argvlen[i++] = ctx->limits[j].rate->tolerance_len;
    }

    if (claim) {
        lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
        policy = lmcf->policy;

        argv[i] = (char *) ctx->idem_lock.data;
        argvlen[i++] = ctx->idem_lock.len;

        argv[i] = policy->idem_lock_px.data;
        argvlen[i++] = policy->idem_lock_px.len;
    }

    return ngx_http_logistics_redis_issue(r, ctx, (int) i, argv, argvlen);
}


/*
 * Queues a command the request waits for.  The op is malloc'd, not taken
 * from the request pool: its reply may arrive after the request is gone.
 */

static ngx_int_t
ngx_http_logistics_redis_issue(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_logistics_redis_op_t  *op;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    op = ngx_alloc(sizeof(ngx_http_logistics_redis_op_t), r->connection->log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->request = r;

    if (redisAsyncCommandArgv(ngx_http_logistics_redis.ac,
                              ngx_http_logistics_redis_reply, op,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(op);
        return NGX_ERROR;
    }

    return ngx_http_logistics_redis_wait(r, ctx, op, cln);
}


/* the request waits for op: its timer, its cleanup, its event handlers */

static ngx_int_t
ngx_http_logistics_redis_wait(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_http_logistics_redis_op_t *op,
    ngx_pool_cleanup_t *cln)
{
    ctx->op = op;
    ctx->waiting = 1;

    cln->handler = ngx_http_logistics_redis_request_cleanup;
    cln->data = r;

    ctx->redis_timer.handler = ngx_http_logistics_redis_timeout;
    ctx->redis_timer.data = r;
    ctx->redis_timer.log = r->connection->log;

    ngx_add_timer(&ctx->redis_timer, ngx_http_logistics_redis.conf->timeout);

    /* a client that goes away while we wait is noticed and finalised */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_AGAIN;
}


static void
ngx_http_logistics_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_logistics_redis_op_t  *op = privdata;

    ngx_http_request_t        *r;
    ngx_http_logistics_ctx_t  *ctx;

    r = op->request;
    ngx_free(op);

    if (r == NULL) {
        /* the request timed out or ended: nothing of it is left to touch */
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->op = NULL;

    if (ctx->redis_timer.timer_set) {
        ngx_del_timer(&ctx->redis_timer);
    }

    if (reply == NULL) {
        ctx->redis_rc = NGX_ERROR;
        ngx_str_set(&ctx->redis_error, "connection closed");

    } else {
        ctx->redis_rc = ngx_http_logistics_redis_parse(r, ctx, reply);
    }

    if (ctx->redis_rc != NGX_ERROR) {
        ngx_http_logistics_redis_recovered();
    }

    ngx_http_logistics_redis_resume(r);
}


static void
ngx_http_logistics_redis_timeout(ngx_event_t *ev)
{
    ngx_http_request_t              *r;
    ngx_http_logistics_ctx_t        *ctx;

    r = ev->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx->op != NULL) {
        ctx->op->request = NULL;
        ctx->op = NULL;
    }

    ctx->redis_rc = NGX_ERROR;
    ngx_str_set(&ctx->redis_error, "timed out");

    ngx_http_logistics_redis_resume(r);

    /*
     * A server that does not answer within the timeout is treated as
     * gone: dropping the connection fails every request queued behind
     * this one now instead of one timeout each, and the reconnect
     * backoff keeps later requests from waiting on a frozen server.
     */

    ngx_http_logistics_redis_drop("command timed out");
}


static void
ngx_http_logistics_redis_request_cleanup(void *data)
{
    ngx_http_request_t  *r = data;

    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx == NULL) {
        return;
    }

    if (ctx->op != NULL) {
        ctx->op->request = NULL;
        ctx->op = NULL;
    }

    if (ctx->redis_timer.timer_set) {
        ngx_del_timer(&ctx->redis_timer);
    }
}


static void
ngx_http_logistics_redis_resume(ngx_http_request_t *r)
{
    ngx_connection_t          *c;
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->waiting = 0;
    ctx->resumed = 1;

    c = r->connection;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_logistics_redis_parse(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, redisReply *reply)
{
    size_t        i, n;
    redisReply  **e;

    if (reply->type == REDIS_REPLY_ERROR) {
        ctx->redis_error.data = (u_char *) "error reply";
        ctx->redis_error.len = sizeof("error reply") - 1;

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: Redis replied %*s", (size_t) reply->len,
                      reply->str);

        if (reply->len >= 8 && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
        {
            /* someone flushed the script cache: reload it */
            ngx_http_logistics_redis_drop("script cache flushed");
        }

        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        goto invalid;
    }

    e = reply->element;
    n = 1 + 3 * ctx->nlimits;

    for (i = 0; i < reply->elements && i < n; i++) {
        if (e[i]->type != REDIS_REPLY_INTEGER) {
            goto invalid;
        }
    }

    if (e[0]->integer == LG_REDIS_REVOKED) {
        /* which revocation key: 1 the partner's, 2 the token's */
        ctx->revoked_token = (reply->elements > 1
                              && e[1]->type == REDIS_REPLY_INTEGER
                              && e[1]->integer == 2);
        return NGX_ABORT;
    }

    if (reply->elements == n + 1 && ctx->idem_lock.len
        && e[0]->integer == LG_REDIS_ALLOWED
        && e[n]->type == REDIS_REPLY_STRING)
    {
        /* the Idempotency-Key was taken before: keep that record */

        ctx->idem_existing.data = ngx_pnalloc(r->pool, e[n]->len);
        if (ctx->idem_existing.data == NULL) {
            goto invalid;
        }

        ngx_memcpy(ctx->idem_existing.data, e[n]->str, e[n]->len);
        ctx->idem_existing.len = e[n]->len;

    } else if (reply->elements != n) {
        goto invalid;
    }

    for (i = 0; i < ctx->nlimits; i++) {
        ctx->limits[i].result.remaining = e[1 + 3 * i]->integer;
        ctx->limits[i].result.retry_after = e[2 + 3 * i]->integer;
        ctx->limits[i].result.reset = e[3 + 3 * i]->integer;
        ctx->limits[i].result.allowed = (e[2 + 3 * i]->integer == 0);
    }

    return e[0]->integer == LG_REDIS_ALLOWED ? NGX_OK : NGX_DECLINED;

invalid:

    ngx_str_set(&ctx->redis_error, "unexpected reply");

    return NGX_ERROR;
}


void
ngx_http_logistics_redis_fallback(ngx_log_t *log, const char *why,
    ngx_uint_t closed)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    rs->fallbacks++;
    rs->total_fallbacks++;

    if (rs->outage || rs->conf == NULL) {
        return;
    }

    rs->outage = 1;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "logistics: Redis \"%V\" unavailable (%s): failing %s "
                  "until it answers again", &rs->conf->address, why,
                  closed ? "closed (503)" : "open (local limits)");
}


static void
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
 * A command nobody waits for (storing a response, releasing a claim):
 * queued on the connection; its reply is dropped.
 */

ngx_int_t
ngx_http_logistics_redis_send(int argc, const char **argv,
    const size_t *argvlen)
{
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL || rs->state != NGX_HTTP_LOGISTICS_REDIS_READY
        || rs->ac == NULL)
    {
        return NGX_ERROR;
    }

    if (redisAsyncCommandArgv(rs->ac, ngx_http_logistics_redis_forget, NULL,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Writes what is queued now rather than at the end of the event loop
 * iteration.  A stored response (or a released claim) must reach Redis
 * before the partner sees the response it belongs to: a partner that
 * retries at once, through another worker or node, would otherwise find
 * the claim still in place and get 409 instead of the replay.
 *
 * Only the socket write happens here (redisBufferWrite()): a write error
 * is left in the context for the posted write event, whose
 * redisAsyncHandleWrite() then disconnects and fails the waiting requests
 * from the event loop, not from inside this request's filters.
 */

void
ngx_http_logistics_redis_flush(void)
{
    int                          done;
    ngx_http_logistics_redis_t  *rs;

    rs = &ngx_http_logistics_redis;

    if (rs->state != NGX_HTTP_LOGISTICS_REDIS_READY || rs->ac == NULL
        || rs->reading || rs->writing)
    {
        return;
    }

    (void) redisBufferWrite(&rs->ac->c, &done);
}


static void
ngx_http_logistics_redis_forget(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply  *rr = reply;

    if (rr != NULL && rr->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                      "logistics: Redis replied %*s", (size_t) rr->len,
                      rr->str);
    }
}
