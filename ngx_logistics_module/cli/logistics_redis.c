
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "logistics-policy suspend | reinstate | revoke-token": the security
 * team's switch for a partner (or one token) on every gateway node at
 * once, through the Redis keys the nodes check on every request
 * (lg:{partner}:suspended, lg:{partner}:jti:JTI).  "degrade" is the
 * operator's brownout switch (lg:brownout, which every node reads twice
 * a second).  It reaches Redis the way the gateway does: one node, a
 * Sentinel group or a Cluster, over TLS with the certificate and host
 * name checked unless told otherwise.
 */


#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_keys.h"
#include "lg_policy.h"
#include "logistics_cli.h"
#include "logistics_redis_conn.h"
#include "lg_protect.h"
#include "lg_redis_cluster.h"
#include "lg_redis_sentinel.h"
#include "lg_time.h"


/* a redirect chain longer than this is a cluster in trouble */
#define LG_CLI_MAX_REDIRECTS  5

#define LG_CLI_OPT_STR     0
#define LG_CLI_OPT_FLAG    1
#define LG_CLI_OPT_ONOFF   2
#define LG_CLI_OPT_INT     3


typedef struct {
    const char          *redis;             /* --redis */
    const char          *sentinel;          /* --sentinel NAME */
    const char          *sentinels;         /* --sentinels LIST */
    const char          *cluster;           /* --cluster LIST */
    const char          *user;
    const char          *password_file;
    const char          *sentinel_user;
    const char          *sentinel_password_file;
    const char          *ttl_text;
    int                  dry_run;           /* redis-cleanup */
    int                  db;
    int                  tls_flag;
    int                  tls_verify;        /* -1: not given (on) */
    const char          *tls_ca;
    const char          *tls_cert;
    const char          *tls_key;
    const char          *tls_server_name;

    long                 ttl;               /* seconds; 0: none */
    lg_cli_tls_t         tls;
    char                *password;          /* read from the files */
    char                *sentinel_password;
} lg_cli_redis_opts_t;


typedef struct {
    const char          *name;
    int                  type;
    size_t               offset;
} lg_cli_redis_option_t;


static const lg_cli_redis_option_t  lg_cli_redis_options[] = {

    { "--redis", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, redis) },
    { "--sentinel", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, sentinel) },
    { "--sentinels", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, sentinels) },
    { "--cluster", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, cluster) },
    { "--user", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, user) },
    { "--password-file", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, password_file) },
    { "--sentinel-user", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, sentinel_user) },
    { "--sentinel-password-file", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, sentinel_password_file) },
    { "--db", LG_CLI_OPT_INT, offsetof(lg_cli_redis_opts_t, db) },
    { "--ttl", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, ttl_text) },
    { "--dry-run", LG_CLI_OPT_FLAG, offsetof(lg_cli_redis_opts_t, dry_run) },
    { "--tls", LG_CLI_OPT_FLAG, offsetof(lg_cli_redis_opts_t, tls_flag) },
    { "--tls-ca", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, tls_ca) },
    { "--tls-cert", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, tls_cert) },
    { "--tls-key", LG_CLI_OPT_STR, offsetof(lg_cli_redis_opts_t, tls_key) },
    { "--tls-server-name", LG_CLI_OPT_STR,
      offsetof(lg_cli_redis_opts_t, tls_server_name) },
    { "--tls-verify", LG_CLI_OPT_ONOFF,
      offsetof(lg_cli_redis_opts_t, tls_verify) },

    { NULL, 0, 0 }
};


static int lg_cli_redis_parse(int argc, char **argv, int first,
    int allow_ttl, lg_cli_redis_opts_t *o);
static int lg_cli_redis_check(lg_cli_redis_opts_t *o, int allow_ttl);
static int lg_cli_redis_prepare(lg_cli_redis_opts_t *o);
static int lg_cli_cleanup_node(lg_cli_conn_t *c, const lg_policy_t *policy,
    int dry_run, size_t *found);
static int lg_cli_limit_key_departed(const lg_policy_t *policy,
    const char *key, size_t len);
static char *lg_cli_read_secret(const char *file);
static int lg_cli_partner_ok(const char *partner);
static int lg_cli_redis_key(lg_cli_redis_opts_t *o, const char *key,
    int set, const char *done);
static int lg_cli_redis_run(lg_cli_redis_opts_t *o, const char *key,
    int argc, const char **argv, const char *done);
static void lg_cli_redis_opts_free(lg_cli_redis_opts_t *o);
static lg_cli_conn_t *lg_cli_node_open(lg_cli_redis_opts_t *o,
    const lg_redis_addr_t *addr, const char *unix_path);
static int lg_cli_addr_list(const char *list, int default_port,
    lg_redis_addr_t *addrs, int max, const char *what);
static redisReply *lg_cli_single_command(lg_cli_redis_opts_t *o, int argc,
    const char **argv, const size_t *argvlen);
static lg_cli_conn_t *lg_cli_sentinel_master(lg_cli_redis_opts_t *o);
static redisReply *lg_cli_sentinel_command(lg_cli_redis_opts_t *o,
    int argc, const char **argv, const size_t *argvlen);
static redisReply *lg_cli_cluster_command(lg_cli_redis_opts_t *o,
    const char *key, int argc, const char **argv, const size_t *argvlen);


void
lg_cli_redis_usage(FILE *out)
{
    fprintf(out,
        "Redis options of suspend, reinstate, revoke-token, degrade and\n"
        "redis-cleanup, one of:\n"
        "        --redis HOST:PORT | --redis unix:PATH      one node\n"
        "        --sentinel NAME --sentinels HOST:PORT,...  the master of\n"
        "              a Sentinel group (default port 26379)\n"
        "        --cluster HOST:PORT,...                    any nodes of a\n"
        "              Redis Cluster; -MOVED and -ASK are followed\n"
        "    and [--user NAME] [--password-file FILE] [--db N]\n"
        "        [--sentinel-user NAME] [--sentinel-password-file FILE]\n"
        "        [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]\n"
        "        [--tls-server-name NAME] [--tls-verify on|off]\n"
        "    Any --tls-* option means --tls.  The certificate is checked\n"
        "    against --tls-ca (else the system's CAs) and against\n"
        "    --tls-server-name, else the host of each address (a DNS name\n"
        "    or an IP address entry); --tls-verify off skips both checks.\n"
        "    Sentinels are reached with the same TLS options.\n");
}


static int
lg_cli_redis_parse(int argc, char **argv, int first, int allow_ttl,
    lg_cli_redis_opts_t *o)
{
    int                           i;
    char                         *end;
    long                          n;
    const lg_cli_redis_option_t  *opt;

    o->tls_verify = -1;

    for (i = first; i < argc; i++) {

        for (opt = lg_cli_redis_options; opt->name != NULL; opt++) {
            if (strcmp(argv[i], opt->name) == 0) {
                break;
            }
        }

        if (opt->name == NULL) {
            fprintf(stderr, "unknown option \"%s\"\n", argv[i]);
            return 2;
        }

        if (opt->type == LG_CLI_OPT_FLAG) {
            *(int *) ((char *) o + opt->offset) = 1;
            continue;
        }

        if (i + 1 == argc) {
            fprintf(stderr, "%s needs a value\n", opt->name);
            return 2;
        }

        i++;

        switch (opt->type) {

        case LG_CLI_OPT_STR:
            *(const char **) ((char *) o + opt->offset) = argv[i];
            break;

        case LG_CLI_OPT_ONOFF:
            if (strcmp(argv[i], "on") != 0 && strcmp(argv[i], "off") != 0) {
                fprintf(stderr, "%s takes on or off\n", opt->name);
                return 2;
            }

            *(int *) ((char *) o + opt->offset) = (argv[i][1] == 'n');
            break;

        default: /* LG_CLI_OPT_INT */
            errno = 0;
            n = strtol(argv[i], &end, 10);

            if (errno != 0 || *end != '\0' || end == argv[i] || n < 0
                || n > 1000)
            {
                fprintf(stderr, "%s takes a number from 0 to 1000\n",
                        opt->name);
                return 2;
            }

            *(int *) ((char *) o + opt->offset) = (int) n;
            break;
        }
    }

    return lg_cli_redis_check(o, allow_ttl);
}


static int
lg_cli_redis_check(lg_cli_redis_opts_t *o, int allow_ttl)
{
    char  *end;
    int    modes;

    modes = (o->redis != NULL) + (o->sentinel != NULL || o->sentinels != NULL)
            + (o->cluster != NULL);

    if (modes != 1) {
        fprintf(stderr, "give one of --redis, --sentinel with --sentinels, "
                "or --cluster\n");
        return 2;
    }

    if ((o->sentinel == NULL) != (o->sentinels == NULL)) {
        fprintf(stderr, "--sentinel NAME and --sentinels HOST:PORT,... go "
                "together\n");
        return 2;
    }

    if (o->cluster != NULL && o->db != 0) {
        fprintf(stderr, "a Redis Cluster has database 0 only: no --db\n");
        return 2;
    }

    if (o->dry_run && allow_ttl != 2) {
        fprintf(stderr, "--dry-run is for redis-cleanup\n");
        return 2;
    }

    if (o->ttl_text != NULL) {
        if (allow_ttl != 1) {
            fprintf(stderr, "--ttl is for suspend and revoke-token\n");
            return 2;
        }

        errno = 0;
        o->ttl = strtol(o->ttl_text, &end, 10);

        if (errno != 0 || *end != '\0' || o->ttl <= 0) {
            fprintf(stderr, "--ttl takes a number of seconds\n");
            return 2;
        }
    }

    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "--tls-cert and --tls-key go together\n");
        return 2;
    }

    if (o->user != NULL && o->password_file == NULL) {
        fprintf(stderr, "--user needs --password-file\n");
        return 2;
    }

    if (o->sentinel_user != NULL && o->sentinel_password_file == NULL) {
        fprintf(stderr, "--sentinel-user needs --sentinel-password-file\n");
        return 2;
    }

    /* a --tls-* option alone must never leave the link in plain text */

    o->tls.enabled = o->tls_flag || o->tls_ca != NULL || o->tls_cert != NULL
                     || o->tls_server_name != NULL || o->tls_verify != -1;
    o->tls.verify = (o->tls_verify != 0);
    o->tls.ca = o->tls_ca;
    o->tls.cert = o->tls_cert;
    o->tls.key = o->tls_key;
    o->tls.server_name = o->tls_server_name;

    if (o->tls.enabled && o->redis != NULL
        && strncmp(o->redis, "unix:", 5) == 0)
    {
        fprintf(stderr, "TLS is for TCP addresses, not unix sockets\n");
        return 2;
    }

    return 0;
}


/* a password file's first line; NULL after a message */

static char *
lg_cli_read_secret(const char *file)
{
    char    buf[1024], *s;
    size_t  n;
    FILE   *f;

    f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        return NULL;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n == 0 || n == sizeof(buf) - 1) {
        fprintf(stderr, "%s: empty or too long for a password\n", file);
        memset(buf, 0, sizeof(buf));
        return NULL;
    }

    buf[n] = '\0';
    s = strdup(buf);
    memset(buf, 0, sizeof(buf));

    if (s == NULL) {
        fprintf(stderr, "out of memory\n");
    }

    return s;
}


static void
lg_cli_redis_opts_free(lg_cli_redis_opts_t *o)
{
    if (o->password != NULL) {
        memset(o->password, 0, strlen(o->password));
        free(o->password);
    }

    if (o->sentinel_password != NULL) {
        memset(o->sentinel_password, 0, strlen(o->sentinel_password));
        free(o->sentinel_password);
    }

    lg_cli_tls_free(&o->tls);
}


static int
lg_cli_partner_ok(const char *partner)
{
    return strlen(partner) > 0 && strlen(partner) <= 64
           && strpbrk(partner, "{}: \t\r\n") == NULL;
}


/* a data node: connected, authenticated, in the right database */

static lg_cli_conn_t *
lg_cli_node_open(lg_cli_redis_opts_t *o, const lg_redis_addr_t *addr,
    const char *unix_path)
{
    char            db[16];
    redisReply     *reply;
    lg_cli_conn_t  *c;

    c = lg_cli_conn_open(addr, unix_path, &o->tls, o->user, o->password);
    if (c == NULL) {
        return NULL;
    }

    if (o->db == 0) {
        return c;
    }

    snprintf(db, sizeof(db), "%d", o->db);

    reply = lg_cli_conn_commandv(c, "SELECT", db, NULL);

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: SELECT %s failed%s%s\n", c->name, db,
                reply != NULL ? ": " : "", reply != NULL ? reply->str : "");
        freeReplyObject(reply);
        lg_cli_conn_close(c);
        return NULL;
    }

    freeReplyObject(reply);

    return c;
}


/* "HOST:PORT,HOST:PORT" into addrs; the count, or -1 after a message */

static int
lg_cli_addr_list(const char *list, int default_port, lg_redis_addr_t *addrs,
    int max, const char *what)
{
    int          n;
    size_t       len;
    const char  *p, *comma;

    n = 0;
    p = list;

    for ( ;; ) {
        comma = strchr(p, ',');
        len = (comma != NULL) ? (size_t) (comma - p) : strlen(p);

        if (n == max
            || lg_redis_addr_parse(p, len, default_port, &addrs[n]) != 0)
        {
            fprintf(stderr, "%s: invalid address \"%.*s\" (HOST:PORT, "
                    "[IPv6]:PORT; at most %d)\n", what, (int) len, p, max);
            return -1;
        }

        n++;

        if (comma == NULL) {
            return n;
        }

        p = comma + 1;
    }
}


static redisReply *
lg_cli_single_command(lg_cli_redis_opts_t *o, int argc, const char **argv,
    const size_t *argvlen)
{
    redisReply       *reply;
    lg_cli_conn_t    *c;
    lg_redis_addr_t   addr;

    if (strncmp(o->redis, "unix:", 5) == 0) {
        c = lg_cli_node_open(o, NULL, o->redis + 5);

    } else if (lg_cli_addr_list(o->redis, 6379, &addr, 1, "--redis") == 1) {
        c = lg_cli_node_open(o, &addr, NULL);

    } else {
        return NULL;
    }

    if (c == NULL) {
        return NULL;
    }

    reply = lg_cli_conn_command(c, argc, argv, argvlen);

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: %s\n", c->name, reply->str);
        freeReplyObject(reply);
        reply = NULL;
    }

    lg_cli_conn_close(c);

    return reply;
}


/*
 * The master of the group, as Sentinel's client rules ask: the first
 * Sentinel that answers names it, and ROLE on that node confirms it (a
 * Sentinel may still name a master that was just demoted).
 */

static lg_cli_conn_t *
lg_cli_sentinel_master(lg_cli_redis_opts_t *o)
{
    int               i, n, rc, role;
    redisReply       *reply;
    lg_cli_conn_t    *s, *c;
    lg_redis_addr_t   sentinels[16], master;

    n = lg_cli_addr_list(o->sentinels, 26379, sentinels, 16, "--sentinels");

    for (i = 0; i < n; i++) {
        s = lg_cli_conn_open(&sentinels[i], NULL, &o->tls, o->sentinel_user,
                             o->sentinel_password);
        if (s == NULL) {
            continue;
        }

        reply = lg_cli_conn_commandv(s, "SENTINEL", "get-master-addr-by-name",
                                     o->sentinel, NULL);

        rc = lg_redis_sentinel_master(reply, &master);

        if (rc == LG_REDIS_SENTINEL_UNKNOWN) {
            fprintf(stderr, "sentinel %s does not know a master named "
                    "\"%s\"\n", s->name, o->sentinel);

        } else if (rc != LG_REDIS_SENTINEL_KNOWN) {
            fprintf(stderr, "sentinel %s: unexpected reply%s%s\n", s->name,
                    (reply != NULL && reply->type == REDIS_REPLY_ERROR)
                    ? ": " : "",
                    (reply != NULL && reply->type == REDIS_REPLY_ERROR)
                    ? reply->str : "");
        }

        freeReplyObject(reply);

        if (rc != LG_REDIS_SENTINEL_KNOWN) {
            lg_cli_conn_close(s);
            continue;
        }

        printf("sentinel %s: master of \"%s\" is %s:%d\n", s->name,
               o->sentinel, master.host, master.port);

        lg_cli_conn_close(s);

        c = lg_cli_node_open(o, &master, NULL);
        if (c == NULL) {
            continue;
        }

        reply = lg_cli_conn_commandv(c, "ROLE", NULL);
        role = lg_redis_role(reply);
        freeReplyObject(reply);

        if (role == LG_REDIS_ROLE_MASTER) {
            return c;
        }

        fprintf(stderr, "redis %s: not a master (a failover under way?)\n",
                c->name);
        lg_cli_conn_close(c);
    }

    fprintf(stderr, "no Sentinel of \"%s\" named a working master of "
            "\"%s\"\n", o->sentinels, o->sentinel);

    return NULL;
}


static redisReply *
lg_cli_sentinel_command(lg_cli_redis_opts_t *o, int argc, const char **argv,
    const size_t *argvlen)
{
    int                attempt;
    redisReply        *reply;
    lg_cli_conn_t     *c;
    lg_redis_error_e   kind;

    /* a master demoted between ROLE and the command: ask again, once */

    for (attempt = 0; attempt < 2; attempt++) {
        c = lg_cli_sentinel_master(o);
        if (c == NULL) {
            return NULL;
        }

        reply = lg_cli_conn_command(c, argc, argv, argvlen);

        if (reply == NULL) {
            lg_cli_conn_close(c);
            return NULL;
        }

        kind = lg_redis_reply_error(reply);

        if (reply->type != REDIS_REPLY_ERROR) {
            lg_cli_conn_close(c);
            return reply;
        }

        fprintf(stderr, "redis %s: %s\n", c->name, reply->str);
        freeReplyObject(reply);
        lg_cli_conn_close(c);

        if (kind != LG_REDIS_ERR_READONLY && kind != LG_REDIS_ERR_MASTERDOWN)
        {
            return NULL;
        }

        usleep(500 * 1000);
    }

    return NULL;
}


/*
 * A one-key command on a Redis Cluster: sent to the first seed that
 * answers; a -MOVED is followed to the slot's master, an -ASK (slot
 * being migrated) with ASKING on the target.  A redirect for a slot
 * other than the key's means our hash and the cluster's disagree: no
 * command is sent anywhere then.
 */

static redisReply *
lg_cli_cluster_command(lg_cli_redis_opts_t *o, const char *key, int argc,
    const char **argv, const size_t *argvlen)
{
    int                   i, n, hops, asking;
    unsigned              slot;
    redisReply           *reply, *ok;
    lg_cli_conn_t        *c;
    lg_redis_addr_t       seeds[16];
    lg_redis_redirect_t   rd;

    slot = lg_redis_key_slot(key, strlen(key));

    n = lg_cli_addr_list(o->cluster, 6379, seeds, 16, "--cluster");

    c = NULL;

    for (i = 0; i < n && c == NULL; i++) {
        c = lg_cli_node_open(o, &seeds[i], NULL);
    }

    if (c == NULL) {
        return NULL;
    }

    asking = 0;

    for (hops = 0; hops <= LG_CLI_MAX_REDIRECTS; hops++) {

        if (asking) {
            ok = lg_cli_conn_commandv(c, "ASKING", NULL);

            if (ok == NULL || ok->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "redis %s: ASKING failed%s%s\n", c->name,
                        ok != NULL ? ": " : "", ok != NULL ? ok->str : "");
                freeReplyObject(ok);
                break;
            }

            freeReplyObject(ok);
        }

        reply = lg_cli_conn_command(c, argc, argv, argvlen);
        if (reply == NULL) {
            break;
        }

        if (reply->type != REDIS_REPLY_ERROR
            || (lg_redis_reply_error(reply) != LG_REDIS_ERR_MOVED
                && lg_redis_reply_error(reply) != LG_REDIS_ERR_ASK))
        {
            if (reply->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "redis %s: %s\n", c->name, reply->str);
                freeReplyObject(reply);
                reply = NULL;

            } else {
                printf("slot %u served by %s\n", slot, c->name);
            }

            lg_cli_conn_close(c);
            return reply;
        }

        if (lg_redis_redirect_parse(reply->str, reply->len, c->addr.host,
                                    &rd)
            != 0)
        {
            fprintf(stderr, "redis %s: malformed redirect: %s\n", c->name,
                    reply->str);
            freeReplyObject(reply);
            break;
        }

        if (rd.slot != slot) {
            fprintf(stderr, "redis %s: redirect for slot %u, but \"%s\" "
                    "hashes to slot %u\n", c->name, rd.slot, key, slot);
            freeReplyObject(reply);
            break;
        }

        printf("redis %s: -%s %u, following to %s:%d\n", c->name,
               rd.ask ? "ASK" : "MOVED", rd.slot, rd.addr.host, rd.addr.port);

        freeReplyObject(reply);
        lg_cli_conn_close(c);

        c = lg_cli_node_open(o, &rd.addr, NULL);
        if (c == NULL) {
            return NULL;
        }

        asking = rd.ask;
    }

    if (hops > LG_CLI_MAX_REDIRECTS) {
        fprintf(stderr, "more than %d redirects for slot %u: the cluster is "
                "moving it around\n", LG_CLI_MAX_REDIRECTS, slot);
    }

    lg_cli_conn_close(c);

    return NULL;
}


/* the passwords read from their files, the TLS context: 0, or 1 */

static int
lg_cli_redis_prepare(lg_cli_redis_opts_t *o)
{
    if (o->password_file != NULL) {
        o->password = lg_cli_read_secret(o->password_file);
        if (o->password == NULL) {
            return 1;
        }
    }

    if (o->sentinel_password_file != NULL) {
        o->sentinel_password = lg_cli_read_secret(o->sentinel_password_file);
        if (o->sentinel_password == NULL) {
            return 1;
        }
    }

    if (o->tls.enabled && lg_cli_tls_init(&o->tls) != 0) {
        return 1;
    }

    return 0;
}


/* SET key 1 [EX ttl] or DEL key, printing the redis-cli equivalent */

static int
lg_cli_redis_key(lg_cli_redis_opts_t *o, const char *key, int set,
    const char *done)
{
    int          argc;
    char         ttl[32];
    const char  *argv[5];

    if (set && o->ttl) {
        printf("redis-cli -h ... SET '%s' 1 EX %ld\n", key, o->ttl);

    } else if (set) {
        printf("redis-cli -h ... SET '%s' 1\n", key);

    } else {
        printf("redis-cli -h ... DEL '%s'\n", key);
    }

    fflush(stdout);

    argc = 0;
    argv[argc++] = set ? "SET" : "DEL";
    argv[argc++] = key;

    if (set) {
        argv[argc++] = "1";
    }

    if (set && o->ttl) {
        snprintf(ttl, sizeof(ttl), "%ld", o->ttl);
        argv[argc++] = "EX";
        argv[argc++] = ttl;
    }

    return lg_cli_redis_run(o, key, argc, argv, done);
}


/* one command on the key's node, however Redis is reached */

static int
lg_cli_redis_run(lg_cli_redis_opts_t *o, const char *key, int argc,
    const char **argv, const char *done)
{
    int          i;
    size_t       argvlen[8];
    redisReply  *reply;

    if (lg_cli_redis_prepare(o) != 0) {
        return 1;
    }

    for (i = 0; i < argc && i < 8; i++) {
        argvlen[i] = strlen(argv[i]);
    }

    if (o->cluster != NULL) {
        reply = lg_cli_cluster_command(o, key, argc, argv, argvlen);

    } else if (o->sentinel != NULL) {
        reply = lg_cli_sentinel_command(o, argc, argv, argvlen);

    } else {
        reply = lg_cli_single_command(o, argc, argv, argvlen);
    }

    if (reply == NULL) {
        return 1;
    }

    freeReplyObject(reply);

    printf("%s\n", done);

    return 0;
}


/*
 * revoke-token PARTNER JTI REDIS-OPTIONS [--ttl SECONDS]: every node
 * refuses that token on its next request.  The TTL should outlive the
 * token; a day is longer than any access token lifetime a gateway should
 * accept.
 */

int
lg_cli_revoke_token(int argc, char **argv)
{
    int                   rc;
    char                  key[1024], done[1200];
    lg_cli_redis_opts_t   o;

    memset(&o, 0, sizeof(o));
    o.ttl = 86400;

    if (argc < 2 || !lg_cli_partner_ok(argv[0])
        || strlen(argv[1]) == 0 || strlen(argv[1]) > 512
        || lg_cli_redis_parse(argc, argv, 2, 1, &o) != 0)
    {
        return 2;
    }

    if (lg_key_build(key, sizeof(key), LG_KEY_JTI, argv[0], strlen(argv[0]),
                     argv[1], strlen(argv[1]))
        == 0)
    {
        lg_cli_redis_opts_free(&o);
        return 2;
    }

    snprintf(done, sizeof(done), "token \"%s\" of partner \"%s\" revoked on "
             "every gateway node for %lds", argv[1], argv[0], o.ttl);

    rc = lg_cli_redis_key(&o, key, 1, done);
    lg_cli_redis_opts_free(&o);

    return rc;
}


int
lg_cli_suspend(int argc, char **argv, int suspend)
{
    int                   rc;
    char                  key[256], done[256];
    lg_cli_redis_opts_t   o;

    memset(&o, 0, sizeof(o));

    if (argc < 1 || !lg_cli_partner_ok(argv[0])
        || lg_cli_redis_parse(argc, argv, 1, suspend, &o) != 0)
    {
        return 2;
    }

    if (lg_key_build(key, sizeof(key), LG_KEY_SUSPENDED, argv[0],
                     strlen(argv[0]), NULL, 0)
        == 0)
    {
        lg_cli_redis_opts_free(&o);
        return 2;
    }

    snprintf(done, sizeof(done), "partner \"%s\" %s on every gateway node",
             argv[0], suspend ? "suspended" : "reinstated");

    rc = lg_cli_redis_key(&o, key, suspend, done);
    lg_cli_redis_opts_free(&o);

    return rc;
}


/*
 * degrade --level deferrable|normal|off [--ttl 15m] REDIS-OPTIONS: every
 * gateway node sheds that class (503 degraded) within a second, until
 * the ttl runs out or "--level off".  The value carries its own expiry
 * (lg_protect.h), and PX lets Redis drop it on time as well.
 */

int
lg_cli_degrade(int argc, char **argv)
{
    int                   i, n, rc;
    char                  value[LG_BROWNOUT_ENCODED_MAX], px[32];
    char                  done[256], **rest;
    int64_t               ttl, now;
    const char           *level_text, *ttl_text, *cmd[5];
    struct timespec       ts;
    lg_brownout_t         b;
    lg_cli_redis_opts_t   o;

    memset(&o, 0, sizeof(o));

    level_text = NULL;
    ttl_text = NULL;

    /* --level and --ttl are ours, the rest are Redis options */

    rest = calloc((size_t) argc + 1, sizeof(char *));
    if (rest == NULL) {
        return 1;
    }

    n = 0;

    for (i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "--level") == 0 || strcmp(argv[i], "--ttl") == 0)
            && i + 1 < argc)
        {
            if (argv[i][2] == 'l') {
                level_text = argv[++i];

            } else {
                ttl_text = argv[++i];
            }

            continue;
        }

        rest[n++] = argv[i];
    }

    rc = 2;

    if (level_text == NULL
        || lg_brownout_level_parse(level_text, strlen(level_text), &b.level)
           != 0)
    {
        fprintf(stderr, "degrade needs --level deferrable, normal or off\n");
        goto done;
    }

    ttl = 0;

    if (ttl_text != NULL) {
        if (b.level == LG_BROWNOUT_OFF) {
            fprintf(stderr, "--level off takes no --ttl\n");
            goto done;
        }

        if (lg_duration_parse(ttl_text, strlen(ttl_text), &ttl) != 0
            || ttl < 1000 || ttl > 7 * 86400 * 1000)
        {
            fprintf(stderr, "--ttl takes a duration from 1s to 7d, such as "
                    "15m or 2h\n");
            goto done;
        }
    }

    if (lg_cli_redis_parse(n, rest, 0, 0, &o) != 0) {
        goto done;
    }

    if (b.level == LG_BROWNOUT_OFF) {
        printf("redis-cli -h ... DEL '%s'\n", LG_BROWNOUT_REDIS_KEY);
        fflush(stdout);

        cmd[0] = "DEL";
        cmd[1] = LG_BROWNOUT_REDIS_KEY;

        rc = lg_cli_redis_run(&o, LG_BROWNOUT_REDIS_KEY, 2, cmd,
                              "brownout lifted on every gateway node "
                              "(within a second)");
        goto done;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    b.expires = ttl ? now + ttl : 0;

    if (lg_brownout_encode(&b, value, sizeof(value)) == 0) {
        rc = 1;
        goto done;
    }

    cmd[0] = "SET";
    cmd[1] = LG_BROWNOUT_REDIS_KEY;
    cmd[2] = value;

    if (ttl) {
        snprintf(px, sizeof(px), "%lld", (long long) ttl);
        cmd[3] = "PX";
        cmd[4] = px;

        printf("redis-cli -h ... SET '%s' '%s' PX %s\n",
               LG_BROWNOUT_REDIS_KEY, value, px);

        snprintf(done, sizeof(done), "brownout level \"%s\" on every gateway "
                 "node within a second, for %s", level_text, ttl_text);

    } else {
        printf("redis-cli -h ... SET '%s' '%s'\n", LG_BROWNOUT_REDIS_KEY,
               value);

        snprintf(done, sizeof(done), "brownout level \"%s\" on every gateway "
                 "node within a second, until \"--level off\"", level_text);
    }

    fflush(stdout);

    rc = lg_cli_redis_run(&o, LG_BROWNOUT_REDIS_KEY, ttl ? 5 : 3, cmd, done);

done:

    lg_cli_redis_opts_free(&o);
    free(rest);

    return rc;
}


/*
 * redis-cleanup POLICY REDIS-OPTIONS [--dry-run]: limit states are
 * written without a lifetime (their number is bounded by the policy), so
 * the states of partners and routes that left the policy, or lost their
 * limit, stay until removed.  This walks every data node with SCAN (never
 * KEYS: it does not block Redis) for lg:{*}:rl* and deletes each limit
 * state that POLICY does not have; with --dry-run it only lists them.
 * A worker never does this: SCAN over a shared Redis is an operator's
 * job, run after the reload that removed the partners or routes.
 */

int
lg_cli_redis_cleanup(int argc, char **argv)
{
    int                   i, n, rc;
    size_t                found;
    const char           *err;
    redisReply           *reply;
    lg_error_t            perr;
    lg_policy_t          *policy;
    lg_cli_conn_t        *c;
    lg_redis_addr_t       addr, seeds[16];
    lg_redis_slots_t     *map;
    lg_cli_redis_opts_t   o;

    memset(&o, 0, sizeof(o));

    if (argc < 1 || lg_cli_redis_parse(argc, argv, 1, 2, &o) != 0) {
        return 2;
    }

    policy = lg_policy_load(argv[0], &perr);

    if (policy == NULL) {
        fprintf(stderr, "%s\n", perr.text);
        lg_cli_redis_opts_free(&o);
        return 2;
    }

    rc = 1;
    found = 0;
    map = NULL;

    if (lg_cli_redis_prepare(&o) != 0) {
        goto done;
    }

    if (o.sentinel != NULL) {
        c = lg_cli_sentinel_master(&o);
        rc = (c != NULL) ? lg_cli_cleanup_node(c, policy, o.dry_run, &found)
                         : 1;
        lg_cli_conn_close(c);

    } else if (o.redis != NULL) {
        if (strncmp(o.redis, "unix:", 5) == 0) {
            c = lg_cli_node_open(&o, NULL, o.redis + 5);

        } else if (lg_cli_addr_list(o.redis, 6379, &addr, 1, "--redis") == 1)
        {
            c = lg_cli_node_open(&o, &addr, NULL);

        } else {
            c = NULL;
        }

        rc = (c != NULL) ? lg_cli_cleanup_node(c, policy, o.dry_run, &found)
                         : 1;
        lg_cli_conn_close(c);

    } else {
        /* a cluster: every master that CLUSTER SLOTS names */

        n = lg_cli_addr_list(o.cluster, 6379, seeds, 16, "--cluster");
        c = NULL;

        for (i = 0; i < n && c == NULL; i++) {
            c = lg_cli_node_open(&o, &seeds[i], NULL);
        }

        if (c == NULL) {
            goto done;
        }

        map = malloc(sizeof(lg_redis_slots_t));
        reply = (map != NULL) ? lg_cli_conn_commandv(c, "CLUSTER", "SLOTS",
                                                     NULL)
                              : NULL;

        if (reply == NULL
            || lg_redis_slots_parse(map, reply, c->addr.host, &err) != 0)
        {
            fprintf(stderr, "redis %s: no usable CLUSTER SLOTS reply\n",
                    c->name);
            freeReplyObject(reply);
            lg_cli_conn_close(c);
            goto done;
        }

        freeReplyObject(reply);
        lg_cli_conn_close(c);

        rc = 0;

        for (i = 0; i < (int) map->nnodes; i++) {
            c = lg_cli_node_open(&o, &map->nodes[i], NULL);

            if (c == NULL
                || lg_cli_cleanup_node(c, policy, o.dry_run, &found) != 0)
            {
                rc = 1;
            }

            lg_cli_conn_close(c);
        }
    }

    if (rc == 0) {
        printf("%zu limit state%s of departed partners or routes %s\n",
               found, found == 1 ? "" : "s",
               o.dry_run ? "found (dry run: nothing deleted)" : "deleted");
    }

done:

    free(map);
    lg_policy_free(policy);
    lg_cli_redis_opts_free(&o);

    return rc;
}


/* one node's keys: 0, or 1 after a message */

static int
lg_cli_cleanup_node(lg_cli_conn_t *c, const lg_policy_t *policy,
    int dry_run, size_t *found)
{
    char         cursor[32];
    size_t       i, len;
    redisReply  *reply, *keys, *del, *key;
    const char  *argv[2];
    size_t       argvlen[2];

    strcpy(cursor, "0");

    do {
        reply = lg_cli_conn_commandv(c, "SCAN", cursor, "MATCH",
                                     "lg:{*}:rl*", "COUNT", "1000", NULL);

        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
            || reply->elements != 2
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len >= sizeof(cursor)
            || reply->element[1]->type != REDIS_REPLY_ARRAY)
        {
            fprintf(stderr, "redis %s: unexpected SCAN reply%s%s\n",
                    c->name,
                    (reply != NULL && reply->type == REDIS_REPLY_ERROR)
                    ? ": " : "",
                    (reply != NULL && reply->type == REDIS_REPLY_ERROR)
                    ? reply->str : "");
            freeReplyObject(reply);
            return 1;
        }

        len = reply->element[0]->len;
        memcpy(cursor, reply->element[0]->str, len);
        cursor[len] = '\0';

        keys = reply->element[1];

        for (i = 0; i < keys->elements; i++) {
            key = keys->element[i];

            if (key->type != REDIS_REPLY_STRING
                || !lg_cli_limit_key_departed(policy, key->str, key->len))
            {
                continue;
            }

            (*found)++;

            if (dry_run) {
                printf("departed %s: %.*s\n", c->name, (int) key->len,
                       key->str);
                continue;
            }

            argv[0] = "DEL";
            argvlen[0] = 3;
            argv[1] = key->str;
            argvlen[1] = key->len;

            del = lg_cli_conn_command(c, 2, argv, argvlen);

            if (del == NULL || del->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "redis %s: DEL %.*s failed%s%s\n", c->name,
                        (int) key->len, key->str,
                        del != NULL ? ": " : "", del != NULL ? del->str : "");
                freeReplyObject(del);
                freeReplyObject(reply);
                return 1;
            }

            freeReplyObject(del);

            printf("deleted %s: %.*s\n", c->name, (int) key->len, key->str);
        }

        freeReplyObject(reply);

    } while (strcmp(cursor, "0") != 0);

    return 0;
}


/*
 * A limit state (lg:{partner}:rl or lg:{partner}:rl:route, lg_keys.h)
 * that the policy does not have: its partner left, or has no such limit
 * any more.  Keys of any other shape are never ours to delete.
 */

static int
lg_cli_limit_key_departed(const lg_policy_t *policy, const char *key,
    size_t len)
{
    size_t               i, j, plen;
    const char          *p, *close;
    const lg_partner_t  *partner;

    if (len < sizeof("lg:{x}:rl") - 1 || memcmp(key, "lg:{", 4) != 0) {
        return 0;
    }

    p = key + 4;
    close = memchr(p, '}', len - 4);

    if (close == NULL || close == p) {
        return 0;
    }

    plen = close - p;

    /* "}:rl", then the end or ":" and a route id */

    if ((size_t) (key + len - close) < 4 || memcmp(close, "}:rl", 4) != 0
        || ((size_t) (key + len - close) > 4
            && ((size_t) (key + len - close) == 5 || close[4] != ':')))
    {
        return 0;
    }

    for (i = 0; i < policy->npartners; i++) {
        partner = &policy->partners[i];

        if (partner->id.len != plen || memcmp(partner->id.data, p, plen) != 0)
        {
            continue;
        }

        if (partner->rate && partner->limit_key.len == len
            && memcmp(partner->limit_key.data, key, len) == 0)
        {
            return 0;
        }

        for (j = 0; partner->route_rates != NULL && j < policy->nroutes; j++)
        {
            if (partner->route_rates[j] != NULL
                && partner->route_limit_keys[j].len == len
                && memcmp(partner->route_limit_keys[j].data, key, len) == 0)
            {
                return 0;
            }
        }

        return 1;
    }

    return 1;
}
