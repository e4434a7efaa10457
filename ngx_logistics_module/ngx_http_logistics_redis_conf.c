
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_logistics_redis_int.h"


/*
 * logistics_redis ADDRESS | sentinel=NAME sentinels=H:P,... | cluster=H:P,...
 *     [user=NAME] [password=SECRET | password_file=FILE] [db=N]
 *     [connect_timeout=50ms] [timeout=50ms] [batches=1]
 *     [sentinel_user=NAME] [sentinel_password=S | sentinel_password_file=F]
 *     [tls] [tls_ca=FILE] [tls_cert=FILE tls_key=FILE]
 *     [tls_server_name=NAME] [tls_verify=on|off];
 *
 * Every host is resolved here, once, in the master: a worker never calls
 * the resolver.  The TLS context is built here too, as proxy_ssl does.
 */

#define NGX_HTTP_LOGISTICS_REDIS_PORT           6379
#define NGX_HTTP_LOGISTICS_REDIS_SENTINEL_PORT  26379
#define NGX_HTTP_LOGISTICS_REDIS_SECRET_MAX     1024
#define NGX_HTTP_LOGISTICS_REDIS_VERIFY_DEPTH   4


typedef char *(*ngx_http_logistics_redis_opt_pt)(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);


typedef struct {
    ngx_str_t                         name;     /* "user=" */
    ngx_http_logistics_redis_opt_pt   set;
    size_t                            offset;
} ngx_http_logistics_redis_opt_t;


static char *ngx_http_logistics_redis_set_str(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_file(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_secret(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_msec(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_db(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_batches(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_flag(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_sentinels(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_set_cluster(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field);
static char *ngx_http_logistics_redis_hosts(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *list,
    in_port_t default_port);
static char *ngx_http_logistics_redis_host(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *text,
    in_port_t default_port, ngx_uint_t unix_ok);
static char *ngx_http_logistics_redis_check(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf);
static char *ngx_http_logistics_redis_tls(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf);


#define ngx_http_logistics_redis_opt(name, set, field)                        \
    { ngx_string(name), set,                                                  \
      offsetof(ngx_http_logistics_redis_conf_t, field) }

static ngx_http_logistics_redis_opt_t  ngx_http_logistics_redis_opts[] = {
    ngx_http_logistics_redis_opt("sentinel=",
                                 ngx_http_logistics_redis_set_str,
                                 master_name),
    ngx_http_logistics_redis_opt("sentinels=",
                                 ngx_http_logistics_redis_set_sentinels,
                                 hosts),
    ngx_http_logistics_redis_opt("cluster=",
                                 ngx_http_logistics_redis_set_cluster,
                                 hosts),
    ngx_http_logistics_redis_opt("user=",
                                 ngx_http_logistics_redis_set_str, user),
    ngx_http_logistics_redis_opt("password=",
                                 ngx_http_logistics_redis_set_str, password),
    ngx_http_logistics_redis_opt("password_file=",
                                 ngx_http_logistics_redis_set_secret,
                                 password),
    ngx_http_logistics_redis_opt("db=",
                                 ngx_http_logistics_redis_set_db, db),
    ngx_http_logistics_redis_opt("connect_timeout=",
                                 ngx_http_logistics_redis_set_msec,
                                 connect_timeout),
    ngx_http_logistics_redis_opt("timeout=",
                                 ngx_http_logistics_redis_set_msec, timeout),
    ngx_http_logistics_redis_opt("batches=",
                                 ngx_http_logistics_redis_set_batches,
                                 batches),
    ngx_http_logistics_redis_opt("sentinel_user=",
                                 ngx_http_logistics_redis_set_str,
                                 sentinel_user),
    ngx_http_logistics_redis_opt("sentinel_password=",
                                 ngx_http_logistics_redis_set_str,
                                 sentinel_password),
    ngx_http_logistics_redis_opt("sentinel_password_file=",
                                 ngx_http_logistics_redis_set_secret,
                                 sentinel_password),
    ngx_http_logistics_redis_opt("tls",
                                 ngx_http_logistics_redis_set_flag, tls),
    ngx_http_logistics_redis_opt("tls_ca=",
                                 ngx_http_logistics_redis_set_file, tls_ca),
    ngx_http_logistics_redis_opt("tls_cert=",
                                 ngx_http_logistics_redis_set_file,
                                 tls_cert),
    ngx_http_logistics_redis_opt("tls_key=",
                                 ngx_http_logistics_redis_set_file, tls_key),
    ngx_http_logistics_redis_opt("tls_server_name=",
                                 ngx_http_logistics_redis_set_str,
                                 tls_server_name),
    ngx_http_logistics_redis_opt("tls_verify=",
                                 ngx_http_logistics_redis_set_flag,
                                 tls_verify),
    { ngx_null_string, NULL, 0 }
};


char *
ngx_http_logistics_redis_directive(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t **rcfp)
{
    char                             *rv;
    ngx_str_t                        *value, arg;
    ngx_uint_t                        i;
    ngx_http_logistics_redis_opt_t   *opt;
    ngx_http_logistics_redis_conf_t  *rcf;

    if (*rcfp != NULL) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&rcf->hosts, cf->pool, 3,
                       sizeof(ngx_http_logistics_redis_host_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    rcf->topology = NGX_CONF_UNSET_UINT;
    rcf->db = NGX_CONF_UNSET;
    rcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    rcf->timeout = NGX_CONF_UNSET_MSEC;
    rcf->batches = NGX_CONF_UNSET_UINT;
    rcf->tls = NGX_CONF_UNSET;
    rcf->tls_verify = NGX_CONF_UNSET;

    value = cf->args->elts;
    rcf->address = value[1];

    for (i = 1; i < cf->args->nelts; i++) {

        for (opt = ngx_http_logistics_redis_opts; opt->set != NULL; opt++) {

            if (opt->name.data[opt->name.len - 1] == '=') {
                if (value[i].len < opt->name.len
                    || ngx_strncmp(value[i].data, opt->name.data,
                                   opt->name.len)
                       != 0)
                {
                    continue;
                }

            } else if (value[i].len != opt->name.len
                       || ngx_strncmp(value[i].data, opt->name.data,
                                      opt->name.len)
                          != 0)
            {
                continue;
            }

            arg.data = value[i].data + opt->name.len;
            arg.len = value[i].len - opt->name.len;

            rv = opt->set(cf, rcf, &arg, (char *) rcf + opt->offset);
            if (rv == NGX_CONF_OK) {
                break;
            }

            if (rv != NGX_CONF_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" %s", &value[i], rv);
            }

            return NGX_CONF_ERROR;
        }

        if (opt->set != NULL) {
            continue;
        }

        if (i == 1 && ngx_strlchr(value[i].data,
                                  value[i].data + value[i].len, '=')
                      == NULL)
        {
            /* one server: host:port, IP:port or unix:/path */

            rcf->topology = NGX_HTTP_LOGISTICS_REDIS_SINGLE;

            rv = ngx_http_logistics_redis_host(cf, rcf, &value[i],
                                               NGX_HTTP_LOGISTICS_REDIS_PORT,
                                               1);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_logistics_redis_check(cf, rcf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (rcf->tls) {
        rv = ngx_http_logistics_redis_tls(cf, rcf);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    *rcfp = rcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_set_str(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    ngx_str_t  *s = field;

    if (s->data != NULL) {
        return "is duplicate";
    }

    if (value->len == 0) {
        return "is empty";
    }

    *s = *value;

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_set_file(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    char       *rv;
    ngx_str_t  *s = field;

    rv = ngx_http_logistics_redis_set_str(cf, rcf, value, field);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* relative to the configuration prefix, NUL-terminated for OpenSSL */

    if (ngx_conf_full_name(cf->cycle, s, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a password read from a file here, once: secrets stay out of nginx.conf */

static char *
ngx_http_logistics_redis_set_secret(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    u_char           *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *s = field, file;
    ngx_file_info_t   fi;

    if (s->data != NULL) {
        return "is duplicate (password given twice)";
    }

    if (value->len == 0) {
        return "is empty";
    }

    file = *value;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &file);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_HTTP_LOGISTICS_REDIS_SECRET_MAX);
    if (p == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, p, NGX_HTTP_LOGISTICS_REDIS_SECRET_MAX);
    ngx_close_file(fd);

    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) {
        n--;
    }

    if (n <= 0 || n >= NGX_HTTP_LOGISTICS_REDIS_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis password file \"%V\" is empty or too long",
                           &file);
        return NGX_CONF_ERROR;
    }

    s->data = p;
    s->len = n;

    if (s == &rcf->password) {
        /* who else may read it is judged with the policy's strictness */
        rcf->password_file = file;
        rcf->password_file_mode = ngx_file_access(&fi);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_set_msec(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    ngx_msec_t  *ms = field;

    if (*ms != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    *ms = ngx_parse_time(value, 0);

    if (*ms == (ngx_msec_t) NGX_ERROR || *ms == 0 || *ms > 60000) {
        return "is not a time from 1ms to 60s";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_set_db(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    if (rcf->db != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    rcf->db = ngx_atoi(value->data, value->len);

    if (rcf->db == NGX_ERROR || rcf->db > 1000) {
        return "is not a database number";
    }

    return NGX_CONF_OK;
}


/*
 * "batches=N": how many limit-check calls a worker keeps in flight to one
 * cluster slot (to the server without a cluster).  The requests of that
 * slot that reach the limits while N calls are out wait for one to
 * return and leave together: the batches grow with the load and Redis
 * runs fewer, larger scripts.  0: no such wait, each event-loop
 * iteration sends what it has.
 */

static char *
ngx_http_logistics_redis_set_batches(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    ngx_int_t  n;

    if (rcf->batches != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    n = ngx_atoi(value->data, value->len);

    if (n == NGX_ERROR || n > NGX_HTTP_LOGISTICS_REDIS_BATCHES_MAX) {
        return "is not a number of calls from 0 to 64";
    }

    rcf->batches = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


/* "tls" alone turns TLS on; "tls_verify=on|off" */

static char *
ngx_http_logistics_redis_set_flag(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    ngx_flag_t  *flag = field;

    if (*flag != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    if (flag == &rcf->tls) {
        *flag = 1;
        return NGX_CONF_OK;
    }

    if (value->len == 2 && ngx_strncmp(value->data, "on", 2) == 0) {
        *flag = 1;

    } else if (value->len == 3 && ngx_strncmp(value->data, "off", 3) == 0) {
        *flag = 0;

    } else {
        return "must be \"on\" or \"off\"";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_set_sentinels(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    if (rcf->topology != NGX_CONF_UNSET_UINT) {
        return "cannot be combined with another server or cluster";
    }

    rcf->topology = NGX_HTTP_LOGISTICS_REDIS_SENTINEL;

    return ngx_http_logistics_redis_hosts(cf, rcf, value,
                                     NGX_HTTP_LOGISTICS_REDIS_SENTINEL_PORT);
}


static char *
ngx_http_logistics_redis_set_cluster(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *value, void *field)
{
    if (rcf->topology != NGX_CONF_UNSET_UINT) {
        return "cannot be combined with another server or Sentinel";
    }

    rcf->topology = NGX_HTTP_LOGISTICS_REDIS_CLUSTER;

    return ngx_http_logistics_redis_hosts(cf, rcf, value,
                                          NGX_HTTP_LOGISTICS_REDIS_PORT);
}


static char *
ngx_http_logistics_redis_hosts(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *list,
    in_port_t default_port)
{
    char       *rv;
    u_char     *p, *last, *comma;
    ngx_str_t   one;

    if (list->len == 0) {
        return "needs at least one host:port";
    }

    p = list->data;
    last = list->data + list->len;

    while (p <= last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        one.data = p;
        one.len = comma - p;

        if (one.len == 0) {
            return "has an empty host";
        }

        rv = ngx_http_logistics_redis_host(cf, rcf, &one, default_port, 0);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        p = comma + 1;
    }

    return NGX_CONF_OK;
}


/* resolves one host now, in the master; keeps its first address */

static char *
ngx_http_logistics_redis_host(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf, ngx_str_t *text,
    in_port_t default_port, ngx_uint_t unix_ok)
{
    ngx_url_t                         u;
    ngx_http_logistics_redis_host_t  *h;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *text;
    u.default_port = default_port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Redis address \"%V\"%s%s", text,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (u.addrs[0].sockaddr->sa_family == AF_UNIX && !unix_ok) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis address \"%V\": a unix socket cannot be a "
                           "Sentinel or a cluster node", text);
        return NGX_CONF_ERROR;
    }

    h = ngx_array_push(&rcf->hosts);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    h->name = *text;
    h->addr = u.addrs[0];
    h->host = u.host;

    if (h->host.len > 2 && h->host.data[0] == '[') {
        /* an IPv6 literal: the name a certificate holds has no brackets */
        h->host.data++;
        h->host.len -= 2;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_check(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf)
{
    ngx_uint_t                        i;
    ngx_http_logistics_redis_host_t  *h;

    if ((rcf->topology == NGX_HTTP_LOGISTICS_REDIS_SENTINEL)
        != (rcf->master_name.len != 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "logistics_redis: \"sentinel=\" (the master's "
                           "name) and \"sentinels=\" (where to ask) go "
                           "together");
        return NGX_CONF_ERROR;
    }

    if (rcf->topology == NGX_CONF_UNSET_UINT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "logistics_redis needs an address, "
                           "\"sentinel=\" with \"sentinels=\", "
                           "or \"cluster=\"");
        return NGX_CONF_ERROR;
    }

    if (rcf->topology != NGX_HTTP_LOGISTICS_REDIS_SENTINEL
        && (rcf->sentinel_user.len || rcf->sentinel_password.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "logistics_redis: \"sentinel_user=\" and "
                           "\"sentinel_password=\" need \"sentinel=\"");
        return NGX_CONF_ERROR;
    }

    if (rcf->user.len && rcf->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis \"user=\" needs \"password=\" or "
                           "\"password_file=\"");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinel_user.len && rcf->sentinel_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis \"sentinel_user=\" needs "
                           "\"sentinel_password=\" or "
                           "\"sentinel_password_file=\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(rcf->db, 0);
    ngx_conf_init_msec_value(rcf->connect_timeout, 50);
    ngx_conf_init_msec_value(rcf->timeout, 50);
    ngx_conf_init_uint_value(rcf->batches, 1);

    if (rcf->topology == NGX_HTTP_LOGISTICS_REDIS_CLUSTER && rcf->db != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis Cluster has database 0 only: "
                           "remove \"db=%i\"", rcf->db);
        return NGX_CONF_ERROR;
    }

    if (rcf->tls == NGX_CONF_UNSET) {
        if (rcf->tls_ca.len || rcf->tls_cert.len || rcf->tls_key.len
            || rcf->tls_server_name.len || rcf->tls_verify != NGX_CONF_UNSET)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "logistics_redis: the \"tls_*=\" options "
                               "need \"tls\"");
            return NGX_CONF_ERROR;
        }

        rcf->tls = 0;
        rcf->tls_verify = 0;

        return NGX_CONF_OK;
    }

#if !(NGX_SSL)

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "logistics_redis \"tls\" needs nginx built with "
                       "OpenSSL");
    return NGX_CONF_ERROR;

#else

    ngx_conf_init_value(rcf->tls_verify, 1);

    if ((rcf->tls_cert.len == 0) != (rcf->tls_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "logistics_redis: \"tls_cert=\" and "
                           "\"tls_key=\" go together");
        return NGX_CONF_ERROR;
    }

    if (rcf->tls_verify && rcf->tls_server_name.len == 0) {
        h = rcf->hosts.elts;

        for (i = 0; i < rcf->hosts.nelts; i++) {
            if (h[i].addr.sockaddr->sa_family == AF_UNIX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "logistics_redis: TLS over \"%V\" needs "
                                   "\"tls_server_name=\" (the name the "
                                   "certificate holds) or "
                                   "\"tls_verify=off\"", &h[i].name);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (rcf->tls_server_name.len >= LG_REDIS_HOST_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "logistics_redis: \"tls_server_name=\" is too "
                           "long");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#endif
}


/*
 * One TLS context for every connection of the transport, built as
 * proxy_ssl builds its own: TLS 1.2 and 1.3, the client certificate, the
 * CA (or the system's store), a client session cache for resumption.
 * The certificate is checked after the handshake (chain and name), so a
 * refusal says why in the error log.
 */

static char *
ngx_http_logistics_redis_tls(ngx_conf_t *cf,
    ngx_http_logistics_redis_conf_t *rcf)
{
#if (NGX_SSL)
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    static ngx_str_t  ciphers = ngx_string("DEFAULT");

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (ngx_ssl_ciphers(cf, ssl, &ciphers, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (rcf->tls_cert.len
        && ngx_ssl_certificate(cf, ssl, &rcf->tls_cert, &rcf->tls_key, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (rcf->tls_verify) {
        if (ngx_ssl_trusted_certificate(cf, ssl, &rcf->tls_ca,
                                        NGX_HTTP_LOGISTICS_REDIS_VERIFY_DEPTH)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        if (rcf->tls_ca.len == 0
            && SSL_CTX_set_default_verify_paths(ssl->ctx) != 1)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "logistics_redis: the system's CA store cannot "
                          "be read (SSL_CTX_set_default_verify_paths() "
                          "failed)");
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_ssl_client_session_cache(cf, ssl, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    rcf->ssl = ssl;
#endif

    return NGX_CONF_OK;
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
