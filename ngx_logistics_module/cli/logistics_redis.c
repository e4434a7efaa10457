
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "logistics-policy suspend | reinstate": the security team's switch for a
 * partner on every gateway node at once, through the Redis key the nodes
 * check on every request (lg:{partner}:suspended).  A plain blocking
 * client is right here: this is a command-line tool, not a worker.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "logistics_cli.h"


static redisContext *lg_cli_redis_connect(const char *addr,
    const char *password_file, int db);


static redisContext *
lg_cli_redis_connect(const char *addr, const char *password_file, int db)
{
    int             port;
    char            host[256], password[1024], *colon;
    size_t          n;
    FILE           *f;
    redisReply     *reply;
    redisContext   *c;
    struct timeval  tv = { 2, 0 };

    if (strncmp(addr, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        snprintf(host, sizeof(host), "%s", addr);
        colon = strrchr(host, ':');
        port = 6379;

        if (colon != NULL) {
            *colon = '\0';
            port = atoi(colon + 1);
        }

        c = redisConnectWithTimeout(host, port, tv);
    }

    if (c == NULL || c->err) {
        fprintf(stderr, "redis %s: %s\n", addr,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }

    if (password_file != NULL) {
        f = fopen(password_file, "r");
        if (f == NULL) {
            fprintf(stderr, "%s: %s\n", password_file, strerror(errno));
            redisFree(c);
            return NULL;
        }

        n = fread(password, 1, sizeof(password) - 1, f);
        fclose(f);

        while (n > 0 && (password[n - 1] == '\n' || password[n - 1] == '\r')) {
            n--;
        }

        password[n] = '\0';

        reply = redisCommand(c, "AUTH %s", password);
        memset(password, 0, sizeof(password));

        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "redis %s: AUTH failed: %s\n", addr,
                    reply ? reply->str : c->errstr);
            freeReplyObject(reply);
            redisFree(c);
            return NULL;
        }

        freeReplyObject(reply);
    }

    if (db != 0) {
        reply = redisCommand(c, "SELECT %d", db);

        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "redis %s: SELECT failed\n", addr);
            freeReplyObject(reply);
            redisFree(c);
            return NULL;
        }

        freeReplyObject(reply);
    }

    return c;
}


typedef struct {
    const char    *addr;
    const char    *password_file;
    int            db;
    long           ttl;            /* seconds; 0: none */
} lg_cli_redis_opts_t;


/* --redis ADDR [--password-file F] [--db N] [--ttl S] from argv[first] */

static int
lg_cli_redis_options(int argc, char **argv, int first, int allow_ttl,
    lg_cli_redis_opts_t *o)
{
    int  i;

    for (i = first; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc) {
            o->addr = argv[++i];

        } else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            o->password_file = argv[++i];

        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            o->db = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc
                   && allow_ttl)
        {
            o->ttl = strtol(argv[++i], NULL, 10);

            if (o->ttl <= 0) {
                fprintf(stderr, "--ttl takes a number of seconds\n");
                return 2;
            }

        } else {
            return 2;
        }
    }

    return o->addr == NULL ? 2 : 0;
}


static int
lg_cli_partner_ok(const char *partner)
{
    return strlen(partner) > 0 && strlen(partner) <= 64
           && strpbrk(partner, "{}: \t\r\n") == NULL;
}


/* SET key 1 [EX ttl] or DEL key, printing the redis-cli equivalent */

static int
lg_cli_redis_key(lg_cli_redis_opts_t *o, const char *key, int set,
    const char *done)
{
    int            rc;
    redisReply    *reply;
    redisContext  *c;

    if (set && o->ttl) {
        printf("redis-cli -h ... SET '%s' 1 EX %ld\n", key, o->ttl);

    } else if (set) {
        printf("redis-cli -h ... SET '%s' 1\n", key);

    } else {
        printf("redis-cli -h ... DEL '%s'\n", key);
    }

    c = lg_cli_redis_connect(o->addr, o->password_file, o->db);
    if (c == NULL) {
        return 1;
    }

    if (set && o->ttl) {
        reply = redisCommand(c, "SET %s 1 EX %ld", key, o->ttl);

    } else if (set) {
        reply = redisCommand(c, "SET %s 1", key);

    } else {
        reply = redisCommand(c, "DEL %s", key);
    }

    rc = 0;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: %s\n", o->addr,
                reply ? reply->str : c->errstr);
        rc = 1;

    } else {
        printf("%s\n", done);
    }

    freeReplyObject(reply);
    redisFree(c);

    return rc;
}


/*
 * revoke-token PARTNER JTI --redis ADDR [--ttl SECONDS]: every node refuses
 * that token on its next request.  The TTL should outlive the token; a
 * day is longer than any access token lifetime a gateway should accept.
 */

int
lg_cli_revoke_token(int argc, char **argv)
{
    char                  key[1024], done[1200];
    lg_cli_redis_opts_t   o = { NULL, NULL, 0, 86400 };

    if (argc < 2 || lg_cli_redis_options(argc, argv, 2, 1, &o) != 0
        || !lg_cli_partner_ok(argv[0])
        || strlen(argv[1]) == 0 || strlen(argv[1]) > 512)
    {
        return 2;
    }

    snprintf(key, sizeof(key), "lg:{%s}:jti:%s", argv[0], argv[1]);
    snprintf(done, sizeof(done), "token \"%s\" of partner \"%s\" revoked on "
             "every gateway node for %lds", argv[1], argv[0], o.ttl);

    return lg_cli_redis_key(&o, key, 1, done);
}


int
lg_cli_suspend(int argc, char **argv, int suspend)
{
    char                  key[256], done[256];
    lg_cli_redis_opts_t   o = { NULL, NULL, 0, 0 };

    if (argc < 1 || lg_cli_redis_options(argc, argv, 1, suspend, &o) != 0
        || !lg_cli_partner_ok(argv[0]))
    {
        return 2;
    }

    snprintf(key, sizeof(key), "lg:{%s}:suspended", argv[0]);
    snprintf(done, sizeof(done), "partner \"%s\" %s on every gateway node",
             argv[0], suspend ? "suspended" : "reinstated");

    return lg_cli_redis_key(&o, key, suspend, done);
}
