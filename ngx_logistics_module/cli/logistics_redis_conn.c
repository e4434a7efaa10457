
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "logistics_redis_conn.h"


#define LG_CLI_TIMEOUT_MS  2000


static int lg_cli_tcp_connect(const lg_redis_addr_t *addr, const char *name);
static int lg_cli_unix_connect(const char *path);
static void lg_cli_timeouts(int fd);
static int lg_cli_is_ip(const char *name);
static int lg_cli_tls_handshake(lg_cli_conn_t *c, lg_cli_tls_t *tls);
static void lg_cli_ssl_error(const char *name, const char *what);
static int lg_cli_write(lg_cli_conn_t *c, const char *buf, size_t len);
static int lg_cli_auth(lg_cli_conn_t *c, const char *user,
    const char *password);


int
lg_cli_tls_init(lg_cli_tls_t *tls)
{
    SSL_CTX  *ctx;

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        lg_cli_ssl_error("TLS", "SSL_CTX_new() failed");
        return -1;
    }

    tls->ctx = ctx;

    /* what Redis offers (1.2 and 1.3); never older */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

    if (tls->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

        if (tls->ca != NULL) {
            if (SSL_CTX_load_verify_locations(ctx, tls->ca, NULL) != 1) {
                lg_cli_ssl_error(tls->ca, "cannot load the CA certificates");
                return -1;
            }

        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            lg_cli_ssl_error("TLS", "cannot load the system's CAs");
            return -1;
        }

    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }

    if (tls->cert != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert) != 1) {
            lg_cli_ssl_error(tls->cert, "cannot load the certificate");
            return -1;
        }

        if (SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM)
            != 1)
        {
            lg_cli_ssl_error(tls->key, "cannot load the private key");
            return -1;
        }

        if (SSL_CTX_check_private_key(ctx) != 1) {
            lg_cli_ssl_error(tls->key, "the key does not match the "
                             "certificate");
            return -1;
        }
    }

    return 0;
}


void
lg_cli_tls_free(lg_cli_tls_t *tls)
{
    if (tls->ctx != NULL) {
        SSL_CTX_free(tls->ctx);
        tls->ctx = NULL;
    }
}


static void
lg_cli_ssl_error(const char *name, const char *what)
{
    char           buf[256];
    unsigned long  e;

    e = ERR_get_error();

    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "redis %s: %s (%s)\n", name, what, buf);

    } else {
        fprintf(stderr, "redis %s: %s\n", name, what);
    }

    ERR_clear_error();
}


lg_cli_conn_t *
lg_cli_conn_open(const lg_redis_addr_t *addr, const char *unix_path,
    lg_cli_tls_t *tls, const char *user, const char *password)
{
    lg_cli_conn_t  *c;

    /* a node that closes while we write must not kill the tool */
    signal(SIGPIPE, SIG_IGN);

    c = calloc(1, sizeof(lg_cli_conn_t));
    if (c == NULL) {
        fprintf(stderr, "out of memory\n");
        return NULL;
    }

    c->fd = -1;

    if (unix_path != NULL) {
        snprintf(c->name, sizeof(c->name), "unix:%s", unix_path);
        c->fd = lg_cli_unix_connect(unix_path);

    } else {
        c->addr = *addr;

        if (strchr(addr->host, ':') != NULL) {
            snprintf(c->name, sizeof(c->name), "[%s]:%d", addr->host,
                     addr->port);

        } else {
            snprintf(c->name, sizeof(c->name), "%s:%d", addr->host,
                     addr->port);
        }

        c->fd = lg_cli_tcp_connect(addr, c->name);
    }

    if (c->fd == -1) {
        lg_cli_conn_close(c);
        return NULL;
    }

    lg_cli_timeouts(c->fd);

    c->reader = redisReaderCreate();
    if (c->reader == NULL) {
        fprintf(stderr, "out of memory\n");
        lg_cli_conn_close(c);
        return NULL;
    }

    if (tls != NULL && tls->enabled && lg_cli_tls_handshake(c, tls) != 0) {
        lg_cli_conn_close(c);
        return NULL;
    }

    if (password != NULL && lg_cli_auth(c, user, password) != 0) {
        lg_cli_conn_close(c);
        return NULL;
    }

    return c;
}


static int
lg_cli_tcp_connect(const lg_redis_addr_t *addr, const char *name)
{
    int              fd, rc, flags, soerr, err;
    char             port[8];
    socklen_t        len;
    struct pollfd    pfd;
    struct addrinfo  hints, *res, *ai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    snprintf(port, sizeof(port), "%d", addr->port);

    rc = getaddrinfo(addr->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "redis %s: %s\n", name, gai_strerror(rc));
        return -1;
    }

    fd = -1;
    err = EADDRNOTAVAIL;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd == -1) {
            err = errno;
            continue;
        }

        /* connect without blocking, so the timeout is ours */

        flags = fcntl(fd, F_GETFL);
        (void) fcntl(fd, F_SETFL, flags | O_NONBLOCK);

        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);

        if (rc == -1 && errno == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;

            rc = poll(&pfd, 1, LG_CLI_TIMEOUT_MS);

            if (rc == 1) {
                len = sizeof(soerr);

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0
                    && soerr == 0)
                {
                    rc = 0;

                } else {
                    errno = soerr;
                    rc = -1;
                }

            } else {
                errno = (rc == 0) ? ETIMEDOUT : errno;
                rc = -1;
            }
        }

        if (rc == 0) {
            (void) fcntl(fd, F_SETFL, flags);
            break;
        }

        err = errno;
        close(fd);
        fd = -1;
    }

    freeaddrinfo(res);

    if (fd == -1) {
        /* the last address's error: "localhost" may try ::1 first */
        fprintf(stderr, "redis %s: connect: %s\n", name, strerror(err));
        return -1;
    }

    rc = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &rc, sizeof(rc));

    return fd;
}


static int
lg_cli_unix_connect(const char *path)
{
    int                 fd;
    struct sockaddr_un  sun;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "redis unix:%s: path too long\n", path);
        return -1;
    }

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path));

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fprintf(stderr, "redis unix:%s: socket: %s\n", path, strerror(errno));
        return -1;
    }

    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == -1) {
        fprintf(stderr, "redis unix:%s: connect: %s\n", path,
                strerror(errno));
        close(fd);
        return -1;
    }

    return fd;
}


/* reads and writes give up after the same 2s as the connect */

static void
lg_cli_timeouts(int fd)
{
    struct timeval  tv;

    tv.tv_sec = LG_CLI_TIMEOUT_MS / 1000;
    tv.tv_usec = (LG_CLI_TIMEOUT_MS % 1000) * 1000;

    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}


static int
lg_cli_is_ip(const char *name)
{
    unsigned char  buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1
           || inet_pton(AF_INET6, name, buf) == 1;
}


/*
 * The name checked in the certificate is tls_server_name, or else the
 * host of the address: a DNS name in subjectAltName, or an IP address
 * entry when the host is an IP literal.  SNI carries names only (RFC
 * 6066 has no IP literals).
 */

static int
lg_cli_tls_handshake(lg_cli_conn_t *c, lg_cli_tls_t *tls)
{
    int                  ip;
    long                 vr;
    const char          *name;
    X509_VERIFY_PARAM   *param;

    if (c->addr.host[0] == '\0' && tls->server_name == NULL && tls->verify)
    {
        fprintf(stderr, "redis %s: TLS on a unix socket needs "
                "--tls-server-name to check the certificate\n", c->name);
        return -1;
    }

    c->ssl = SSL_new(tls->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        lg_cli_ssl_error(c->name, "cannot create the TLS connection");
        return -1;
    }

    name = (tls->server_name != NULL) ? tls->server_name : c->addr.host;
    ip = lg_cli_is_ip(name);

    if (!ip && name[0] != '\0'
        && SSL_set_tlsext_host_name(c->ssl, name) != 1)
    {
        lg_cli_ssl_error(c->name, "cannot set the server name");
        return -1;
    }

    if (tls->verify) {
        param = SSL_get0_param(c->ssl);

        if (ip) {
            if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
                lg_cli_ssl_error(c->name, "cannot check the IP address");
                return -1;
            }

        } else {
            X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

            if (SSL_set1_host(c->ssl, name) != 1) {
                lg_cli_ssl_error(c->name, "cannot check the host name");
                return -1;
            }
        }
    }

    if (SSL_connect(c->ssl) != 1) {
        vr = SSL_get_verify_result(c->ssl);

        if (vr != X509_V_OK) {
            fprintf(stderr, "redis %s: TLS handshake failed: certificate "
                    "not trusted for \"%s\": %s\n", c->name, name,
                    X509_verify_cert_error_string(vr));
            ERR_clear_error();

        } else {
            lg_cli_ssl_error(c->name, "TLS handshake failed");
        }

        return -1;
    }

    return 0;
}


static int
lg_cli_auth(lg_cli_conn_t *c, const char *user, const char *password)
{
    int          rc;
    redisReply  *reply;

    if (user != NULL) {
        reply = lg_cli_conn_commandv(c, "AUTH", user, password, NULL);

    } else {
        reply = lg_cli_conn_commandv(c, "AUTH", password, NULL);
    }

    if (reply == NULL) {
        return -1;
    }

    rc = 0;

    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: AUTH failed: %s\n", c->name, reply->str);
        rc = -1;
    }

    freeReplyObject(reply);

    return rc;
}


static int
lg_cli_write(lg_cli_conn_t *c, const char *buf, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        if (c->ssl != NULL) {
            n = SSL_write(c->ssl, buf, (int) len);

        } else {
            n = send(c->fd, buf, len, MSG_NOSIGNAL);
        }

        if (n <= 0) {
            if (c->ssl == NULL && n == -1 && errno == EINTR) {
                continue;
            }

            fprintf(stderr, "redis %s: write failed: %s\n", c->name,
                    c->ssl != NULL ? "TLS error" : strerror(errno));
            ERR_clear_error();
            return -1;
        }

        buf += n;
        len -= (size_t) n;
    }

    return 0;
}


redisReply *
lg_cli_conn_command(lg_cli_conn_t *c, int argc, const char **argv,
    const size_t *argvlen)
{
    int       len;
    char     *cmd, buf[16384];
    void     *reply;
    ssize_t   n;

    len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        fprintf(stderr, "out of memory\n");
        return NULL;
    }

    if (lg_cli_write(c, cmd, (size_t) len) != 0) {
        redisFreeCommand(cmd);
        return NULL;
    }

    redisFreeCommand(cmd);

    for ( ;; ) {
        reply = NULL;

        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            fprintf(stderr, "redis %s: protocol error: %s\n", c->name,
                    c->reader->errstr);
            return NULL;
        }

        if (reply != NULL) {
            return reply;
        }

        if (c->ssl != NULL) {
            n = SSL_read(c->ssl, buf, sizeof(buf));

        } else {
            n = read(c->fd, buf, sizeof(buf));
        }

        if (n <= 0) {
            if (c->ssl == NULL && n == -1 && errno == EINTR) {
                continue;
            }

            fprintf(stderr, "redis %s: %s\n", c->name,
                    n == 0 ? "connection closed by the server"
                    : (errno == EAGAIN || errno == EWOULDBLOCK)
                      ? "no reply within 2s" : "read failed");
            ERR_clear_error();
            return NULL;
        }

        if (redisReaderFeed(c->reader, buf, (size_t) n) != REDIS_OK) {
            fprintf(stderr, "redis %s: out of memory\n", c->name);
            return NULL;
        }
    }
}


redisReply *
lg_cli_conn_commandv(lg_cli_conn_t *c, const char *first, ...)
{
    int          argc;
    size_t       argvlen[8];
    va_list      args;
    const char  *argv[8], *s;

    argc = 0;

    va_start(args, first);

    for (s = first; s != NULL && argc < 8; s = va_arg(args, const char *)) {
        argv[argc] = s;
        argvlen[argc++] = strlen(s);
    }

    va_end(args);

    return lg_cli_conn_command(c, argc, argv, argvlen);
}


void
lg_cli_conn_close(lg_cli_conn_t *c)
{
    if (c == NULL) {
        return;
    }

    if (c->ssl != NULL) {
        (void) SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }

    if (c->fd != -1) {
        close(c->fd);
    }

    if (c->reader != NULL) {
        redisReaderFree(c->reader);
    }

    free(c);
}
