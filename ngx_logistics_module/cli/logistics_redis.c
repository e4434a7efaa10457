
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


/*
 * revoke-token PARTNER JTI --redis ADDR [--ttl SECONDS]: every node refuses
 * that token on its next request.  The TTL should outlive the token; a
 * day is longer than any access token lifetime a gateway should accept.
 */

int
lg_cli_revoke_token(int argc, char **argv)
{
    int            i, db, rc;
    long           ttl;
    char           key[1024];
    redisReply    *reply;
    redisContext  *c;
    const char    *partner, *jti, *addr, *password_file;

    if (argc < 2) {
        return 2;
    }

    partner = argv[0];
    jti = argv[1];
    addr = NULL;
    password_file = NULL;
    db = 0;
    ttl = 86400;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc) {
            addr = argv[++i];

        } else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            password_file = argv[++i];

        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
            ttl = strtol(argv[++i], NULL, 10);

            if (ttl <= 0) {
                fprintf(stderr, "--ttl takes a number of seconds\n");
                return 2;
            }

        } else {
            return 2;
        }
    }

    if (addr == NULL || strlen(partner) == 0 || strlen(partner) > 64
        || strpbrk(partner, "{}: \t\r\n") != NULL
        || strlen(jti) == 0 || strlen(jti) > 512)
    {
        return 2;
    }

    snprintf(key, sizeof(key), "lg:{%s}:jti:%s", partner, jti);

    printf("redis-cli -h ... SET '%s' 1 EX %ld\n", key, ttl);

    c = lg_cli_redis_connect(addr, password_file, db);
    if (c == NULL) {
        return 1;
    }

    reply = redisCommand(c, "SET %s 1 EX %ld", key, ttl);
    rc = 0;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: %s\n", addr,
                reply ? reply->str : c->errstr);
        rc = 1;

    } else {
        printf("token \"%s\" of partner \"%s\" revoked on every gateway "
               "node for %lds\n", jti, partner, ttl);
    }

    freeReplyObject(reply);
    redisFree(c);

    return rc;
}


int
lg_cli_suspend(int argc, char **argv, int suspend)
{
    int            i, db, rc;
    long           ttl;
    char           key[256];
    redisReply    *reply;
    redisContext  *c;
    const char    *partner, *addr, *password_file;

    if (argc < 1) {
        return 2;
    }

    partner = argv[0];
    addr = NULL;
    password_file = NULL;
    db = 0;
    ttl = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc) {
            addr = argv[++i];

        } else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            password_file = argv[++i];

        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc
                   && suspend)
        {
            ttl = strtol(argv[++i], NULL, 10);

            if (ttl <= 0) {
                fprintf(stderr, "--ttl takes a number of seconds\n");
                return 2;
            }

        } else {
            return 2;
        }
    }

    if (addr == NULL || strlen(partner) == 0 || strlen(partner) > 64
        || strpbrk(partner, "{}: \t\r\n") != NULL)
    {
        return 2;
    }

    snprintf(key, sizeof(key), "lg:{%s}:suspended", partner);

    /* say what is done, so it can be done by hand with redis-cli too */

    if (suspend && ttl) {
        printf("redis-cli -h ... SET '%s' 1 EX %ld\n", key, ttl);

    } else if (suspend) {
        printf("redis-cli -h ... SET '%s' 1\n", key);

    } else {
        printf("redis-cli -h ... DEL '%s'\n", key);
    }

    c = lg_cli_redis_connect(addr, password_file, db);
    if (c == NULL) {
        return 1;
    }

    if (suspend && ttl) {
        reply = redisCommand(c, "SET %s 1 EX %ld", key, ttl);

    } else if (suspend) {
        reply = redisCommand(c, "SET %s 1", key);

    } else {
        reply = redisCommand(c, "DEL %s", key);
    }

    rc = 0;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis %s: %s\n", addr,
                reply ? reply->str : c->errstr);
        rc = 1;

    } else {
        printf("partner \"%s\" %s on every gateway node\n", partner,
               suspend ? "suspended" : "reinstated");
    }

    freeReplyObject(reply);
    redisFree(c);

    return rc;
}
