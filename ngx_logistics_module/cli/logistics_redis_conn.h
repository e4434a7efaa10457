
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LOGISTICS_REDIS_CONN_H_INCLUDED_
#define _LOGISTICS_REDIS_CONN_H_INCLUDED_


#include <openssl/ssl.h>
#include <hiredis/hiredis.h>

#include "lg_redis_reply.h"


/*
 * One blocking connection of the policy CLI to a Redis node, plain or
 * TLS (OpenSSL), with hiredis only for what it is good at: formatting
 * commands (redisFormatCommandArgv) and reading replies (redisReader).
 * A command-line tool may block; the nginx workers never use this.
 */

typedef struct {
    int                 enabled;
    int                 verify;             /* certificate and host name */
    const char         *ca;                 /* NULL: the system's CAs */
    const char         *cert;
    const char         *key;
    const char         *server_name;        /* NULL: the address's host */
    SSL_CTX            *ctx;
} lg_cli_tls_t;


typedef struct {
    int                 fd;
    SSL                *ssl;
    redisReader        *reader;
    lg_redis_addr_t     addr;               /* host "" for a unix socket */
    char                name[LG_REDIS_HOST_LEN + 16];   /* for messages */
} lg_cli_conn_t;


/* the SSL_CTX of the options (CA, client certificate); 0 or -1 */
int lg_cli_tls_init(lg_cli_tls_t *tls);
void lg_cli_tls_free(lg_cli_tls_t *tls);

/*
 * Connects (2s timeouts), runs the TLS handshake with certificate and
 * host name checks when tls is enabled, then AUTH [user] password when
 * a password is given.  NULL after printing why on stderr.
 */
lg_cli_conn_t *lg_cli_conn_open(const lg_redis_addr_t *addr,
    const char *unix_path, lg_cli_tls_t *tls, const char *user,
    const char *password);

/* one command, its reply; NULL (and a message) when the link failed */
redisReply *lg_cli_conn_command(lg_cli_conn_t *c, int argc,
    const char **argv, const size_t *argvlen);

/* the same for a command of NUL-terminated words, up to 8 */
redisReply *lg_cli_conn_commandv(lg_cli_conn_t *c, const char *first,
    ...);

void lg_cli_conn_close(lg_cli_conn_t *c);


#endif /* _LOGISTICS_REDIS_CONN_H_INCLUDED_ */
