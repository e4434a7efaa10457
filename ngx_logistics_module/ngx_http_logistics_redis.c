
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/evp.h>

#include "ngx_http_logistics_redis.h"


/*
 * One non-blocking Redis connection per worker, on the nginx event loop:
 * hiredis's async API with its event hooks pointed at an nginx connection
 * wrapping the socket (level-triggered, since hiredis reads one buffer
 * per call).  Commands of concurrent callers are pipelined on it.
 *
 * A caller never holds the connection: each call is a small malloc'd
 * "op" handed to hiredis, with its own timer.  Whichever comes first, the
 * reply or the timer, goes to the caller's handler; the other finds the
 * op detached.  A reply that arrives after its caller left (timeout,
 * cancelled) frees the op and touches nothing else.
 *
 * A call that times out detaches; it does not condemn the connection
 * while other calls may still be answered in time.  The connection is
 * dropped (failing every call on it at once) when a timed-out call was
 * the last one still in time and nothing has been read since it was
 * sent, or when nothing at all has been read for twice the timeout while
 * calls were waiting.
 */

#define NGX_HTTP_LOGISTICS_REDIS_DOWN        0
#define NGX_HTTP_LOGISTICS_REDIS_CONNECTING  1
#define NGX_HTTP_LOGISTICS_REDIS_READY       2

#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MIN  50
#define NGX_HTTP_LOGISTICS_REDIS_BACKOFF_MAX  500


struct ngx_http_logistics_redis_op_s {
    ngx_http_logistics_redis_handler_pt  handler;  /* NULL: detached */
    void                             *data;
    ngx_event_t                       timer;
    ngx_msec_t                        sent;
    unsigned                          live:1;   /* waiting, in time */
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

    ngx_uint_t                        setup;      /* replies to wait for */
    ngx_uint_t                        writing;    /* in the write handler */
    ngx_uint_t                        reading;    /* in the read handler */
    ngx_uint_t                        outage;     /* failing over now */
    ngx_uint_t                        live;       /* calls still in time */
    ngx_msec_t                        progress;   /* last reply, or when
                                                     calls started to
                                                     wait */
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
static void ngx_http_logistics_redis_recovered(void);
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
    u_char                           *p;
    ssize_t                           n;
    ngx_fd_t                          fd;
    ngx_str_t                        *value, s, file;
    ngx_file_info_t                   fi;
    ngx_url_t                         u;
    ngx_uint_t                        i;
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

            /* others reading it: judged with the policy's strictness */

            if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
                ngx_close_file(fd);
                ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                                   ngx_fd_info_n " \"%V\" failed", &file);
                return NGX_CONF_ERROR;
            }

            rcf->password_file = file;
            rcf->password_file_mode = ngx_file_access(&fi);

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

    *rcfp = rcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/* EVALSHA needs the script's SHA1; the connection loads the text */

const u_char *
ngx_http_logistics_redis_script(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, const char *text)
{
    unsigned int                        mdlen;
    unsigned char                       md[EVP_MAX_MD_SIZE];
    ngx_uint_t                          i;
    ngx_http_logistics_redis_script_t  *sc;

    for (i = 0; i < rcf->nscripts; i++) {
        if (rcf->scripts[i].text == text) {
            return rcf->scripts[i].sha;
        }
    }

    if (rcf->nscripts == NGX_HTTP_LOGISTICS_REDIS_MAX_SCRIPTS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "too many Redis scripts");
        return NULL;
    }

    sc = &rcf->scripts[rcf->nscripts];

    if (EVP_Digest(text, ngx_strlen(text), md, &mdlen, EVP_sha1(), NULL)
        != 1)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "EVP_Digest() failed");
        return NULL;
    }

    ngx_hex_dump(sc->sha, md, mdlen);
    sc->sha[40] = '\0';
    sc->text = text;

    rcf->nscripts++;

    return sc->sha;
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
    ngx_uint_t                        i;
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
     * command queued behind them runs authenticated, in the right
     * database, with the scripts known; queueing them also makes hiredis
     * ask for the write event that completes the connect.  The
     * connection is ready when every one of them has answered.
     */

    rs->setup = 0;

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
        rs->setup++;
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rcf->db) - db;

        redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                              (void *) "SELECT", 2, argv, argvlen);
        rs->setup++;
    }

    for (i = 0; i < rcf->nscripts; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = rcf->scripts[i].text;
        argvlen[2] = ngx_strlen(rcf->scripts[i].text);

        redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                              (void *) "SCRIPT LOAD", 3, argv, argvlen);
        rs->setup++;
    }

    if (rs->setup == 0) {
        /* nothing to set up: the connect itself is all there is */
        argv[0] = "PING";
        argvlen[0] = 4;

        redisAsyncCommandArgv(ac, ngx_http_logistics_redis_setup_reply,
                              (void *) "PING", 1, argv, argvlen);
        rs->setup++;
    }

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

    rs->live = 0;

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
    rs->live = 0;

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

    if (--rs->setup == 0) {
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


/*
 * Queues a call.  The op is malloc'd, not taken from a caller's pool: its
 * reply may arrive after the caller is gone.
 */

ngx_http_logistics_redis_op_t *
ngx_http_logistics_redis_call(int argc, const char **argv,
    const size_t *argvlen, ngx_http_logistics_redis_handler_pt handler,
    void *data, ngx_log_t *log)
{
    ngx_http_logistics_redis_t     *rs;
    ngx_http_logistics_redis_op_t  *op;

    rs = &ngx_http_logistics_redis;

    if (rs->conf == NULL || rs->state != NGX_HTTP_LOGISTICS_REDIS_READY
        || rs->ac == NULL)
    {
        return NULL;
    }

    op = ngx_calloc(sizeof(ngx_http_logistics_redis_op_t), log);
    if (op == NULL) {
        return NULL;
    }

    op->handler = handler;
    op->data = data;

    if (redisAsyncCommandArgv(rs->ac, ngx_http_logistics_redis_reply, op,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(op);
        return NULL;
    }

    op->timer.handler = ngx_http_logistics_redis_timeout;
    op->timer.data = op;
    op->timer.log = log;

    ngx_add_timer(&op->timer, rs->conf->timeout);

    op->sent = ngx_current_msec;
    op->live = 1;

    if (rs->live++ == 0) {
        rs->progress = ngx_current_msec;
    }

    return op;
}


void
ngx_http_logistics_redis_cancel(ngx_http_logistics_redis_op_t *op)
{
    /* hiredis still holds the op: its reply (or the close) frees it */

    op->handler = NULL;

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->live) {
        op->live = 0;
        ngx_http_logistics_redis.live--;
    }
}


static void
ngx_http_logistics_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_logistics_redis_op_t  *op = privdata;

    void                                *data;
    redisReply                          *rr;
    ngx_uint_t                           noscript;
    ngx_http_logistics_redis_handler_pt  handler;

    rr = reply;
    handler = op->handler;
    data = op->data;

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->live && ngx_http_logistics_redis.live > 0) {
        ngx_http_logistics_redis.live--;
    }

    if (rr != NULL) {
        ngx_http_logistics_redis.progress = ngx_current_msec;
    }

    ngx_free(op);

    noscript = 0;

    if (rr != NULL) {
        if (rr->type != REDIS_REPLY_ERROR) {
            ngx_http_logistics_redis_recovered();

        } else {
            ngx_log_error(NGX_LOG_ERR, ngx_http_logistics_redis.log, 0,
                          "logistics: Redis replied %*s", (size_t) rr->len,
                          rr->str);

            noscript = (rr->len >= 8
                        && ngx_strncmp(rr->str, "NOSCRIPT", 8) == 0);
        }
    }

    if (handler != NULL) {
        handler(data, rr, rr ? NULL : "connection closed");
    }

    if (noscript) {
        /* someone flushed the script cache: reconnect, which reloads it */
        ngx_http_logistics_redis_drop("script cache flushed");
    }
}


static void
ngx_http_logistics_redis_timeout(ngx_event_t *ev)
{
    void                                *data;
    ngx_msec_t                           sent;
    ngx_http_logistics_redis_t          *rs;
    ngx_http_logistics_redis_op_t       *op;
    ngx_http_logistics_redis_handler_pt  handler;

    rs = &ngx_http_logistics_redis;
    op = ev->data;
    handler = op->handler;
    data = op->data;
    sent = op->sent;

    /* the op stays with hiredis until its reply or the connection's end */
    op->handler = NULL;

    if (op->live) {
        op->live = 0;
        rs->live--;
    }

    if (handler != NULL) {
        handler(data, NULL, "timed out");
    }

    if (rs->ac == NULL) {
        return;
    }

    /*
     * One slow command must not fail every call in flight: the connection
     * goes only when no call on it can still be answered in time and
     * nothing was read since this one was sent (the server is not
     * answering), or when nothing was read for twice the timeout while
     * calls kept coming (a server frozen under steady traffic).  Dropping
     * then fails the queued calls at once, and the reconnect backoff
     * keeps new calls from waiting on a frozen server.
     */

    if (rs->live == 0
        && (ngx_msec_int_t) (rs->progress - sent) <= 0)
    {
        ngx_http_logistics_redis_drop("command timed out");
        return;
    }

    if ((ngx_msec_int_t) (ngx_current_msec - rs->progress)
        >= (ngx_msec_int_t) (2 * rs->conf->timeout))
    {
        ngx_http_logistics_redis_drop("no reply for twice the timeout");
    }
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
