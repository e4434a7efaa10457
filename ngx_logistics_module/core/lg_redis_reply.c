
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>
#include <strings.h>

#include "lg_redis_reply.h"


typedef struct {
    const char         *word;
    size_t              len;
    lg_redis_error_e    kind;
} lg_redis_error_word_t;


static int lg_redis_port(const char *s, size_t len);


/* Redis writes these words in upper case; so do we when matching */

static const lg_redis_error_word_t  lg_redis_error_words[] = {
    { "MOVED", 5, LG_REDIS_ERR_MOVED },
    { "ASK", 3, LG_REDIS_ERR_ASK },
    { "TRYAGAIN", 8, LG_REDIS_ERR_TRYAGAIN },
    { "CLUSTERDOWN", 11, LG_REDIS_ERR_CLUSTERDOWN },
    { "READONLY", 8, LG_REDIS_ERR_READONLY },
    { "MASTERDOWN", 10, LG_REDIS_ERR_MASTERDOWN },
    { "LOADING", 7, LG_REDIS_ERR_LOADING },
    { "NOSCRIPT", 8, LG_REDIS_ERR_NOSCRIPT },
    { NULL, 0, LG_REDIS_ERR_OTHER }
};


lg_redis_error_e
lg_redis_error_kind(const char *err, size_t len)
{
    size_t                        word;
    const lg_redis_error_word_t  *w;

    if (err == NULL) {
        return LG_REDIS_ERR_OTHER;
    }

    /* the first word ends at a space or at the end of the text */

    for (word = 0; word < len && err[word] != ' '; word++) {
        /* void */
    }

    for (w = lg_redis_error_words; w->word != NULL; w++) {
        if (w->len == word && memcmp(err, w->word, word) == 0) {
            return w->kind;
        }
    }

    return LG_REDIS_ERR_OTHER;
}


lg_redis_error_e
lg_redis_reply_error(const redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return LG_REDIS_ERR_OTHER;
    }

    return lg_redis_error_kind(reply->str, reply->len);
}


/* 1..65535 from 1 to 5 decimal digits, or -1 */

static int
lg_redis_port(const char *s, size_t len)
{
    int     port;
    size_t  i;

    if (len == 0 || len > 5) {
        return -1;
    }

    port = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        port = port * 10 + (s[i] - '0');
    }

    return (port >= 1 && port <= 65535) ? port : -1;
}


int
lg_redis_addr_set(lg_redis_addr_t *addr, const char *host, size_t len,
    long long port)
{
    size_t  i;

    if (host == NULL || len == 0 || len >= LG_REDIS_HOST_LEN
        || port < 1 || port > 65535)
    {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) host[i] <= ' ' || host[i] == 0x7f) {
            return -1;
        }
    }

    memcpy(addr->host, host, len);
    addr->host[len] = '\0';
    addr->port = (int) port;

    return 0;
}


int
lg_redis_addr_eq(const lg_redis_addr_t *a, const lg_redis_addr_t *b)
{
    /* host names are case-insensitive; IP literals are not affected */
    return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}


int
lg_redis_redirect_parse(const char *err, size_t len,
    const char *default_host, lg_redis_redirect_t *rd)
{
    int                port;
    size_t             i, slot_start, host_start, colon;
    unsigned           slot;
    lg_redis_error_e   kind;

    kind = lg_redis_error_kind(err, len);

    if (kind == LG_REDIS_ERR_MOVED) {
        i = 5;

    } else if (kind == LG_REDIS_ERR_ASK) {
        i = 3;

    } else {
        return -1;
    }

    if (i >= len || err[i] != ' ') {
        return -1;
    }

    /* the slot: 1 to 5 digits, below 16384 */

    slot_start = ++i;
    slot = 0;

    while (i < len && err[i] >= '0' && err[i] <= '9' && i - slot_start < 5) {
        slot = slot * 10 + (unsigned) (err[i] - '0');
        i++;
    }

    if (i == slot_start || slot >= 16384 || i >= len || err[i] != ' ') {
        return -1;
    }

    /* host:port up to the end; the port follows the last colon */

    host_start = ++i;
    colon = len;

    for ( /* void */ ; i < len; i++) {
        if (err[i] == ':') {
            colon = i;
        }
    }

    if (colon == len) {
        return -1;
    }

    port = lg_redis_port(err + colon + 1, len - colon - 1);
    if (port < 0) {
        return -1;
    }

    if (colon == host_start) {
        if (default_host == NULL
            || lg_redis_addr_set(&rd->addr, default_host,
                                 strlen(default_host), port)
               != 0)
        {
            return -1;
        }

    } else if (lg_redis_addr_set(&rd->addr, err + host_start,
                                 colon - host_start, port)
               != 0)
    {
        return -1;
    }

    rd->ask = (kind == LG_REDIS_ERR_ASK);
    rd->slot = slot;

    return 0;
}


int
lg_redis_addr_parse(const char *s, size_t len, int default_port,
    lg_redis_addr_t *addr)
{
    int          port;
    size_t       i, colons, last;
    const char  *close;

    if (s == NULL || len == 0) {
        return -1;
    }

    if (s[0] == '[') {
        close = memchr(s, ']', len);

        if (close == NULL || close == s + 1) {
            return -1;
        }

        i = close - s + 1;

        if (i == len) {
            port = default_port;

        } else if (s[i] == ':') {
            port = lg_redis_port(s + i + 1, len - i - 1);

        } else {
            return -1;
        }

        return lg_redis_addr_set(addr, s + 1, close - s - 1, port);
    }

    colons = 0;
    last = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == ':') {
            colons++;
            last = i;
        }
    }

    if (colons == 0) {
        return lg_redis_addr_set(addr, s, len, default_port);
    }

    if (colons > 1) {
        /* an IPv6 literal must be written in brackets to carry a port */
        return -1;
    }

    port = lg_redis_port(s + last + 1, len - last - 1);

    return lg_redis_addr_set(addr, s, last, port);
}


int
lg_redis_role(const redisReply *reply)
{
    const redisReply  *e;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        return -1;
    }

    e = reply->element[0];

    if (e == NULL || e->type != REDIS_REPLY_STRING) {
        return -1;
    }

    if (e->len == 6 && memcmp(e->str, "master", 6) == 0) {
        return LG_REDIS_ROLE_MASTER;
    }

    if (e->len == 5 && memcmp(e->str, "slave", 5) == 0) {
        return LG_REDIS_ROLE_REPLICA;
    }

    if (e->len == 8 && memcmp(e->str, "sentinel", 8) == 0) {
        return LG_REDIS_ROLE_SENTINEL;
    }

    return -1;
}
