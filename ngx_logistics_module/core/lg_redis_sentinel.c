
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_redis_sentinel.h"


static int lg_redis_str_is(const redisReply *r, const char *s, size_t len);
static long long lg_redis_digits(const char *s, size_t len);


static int
lg_redis_str_is(const redisReply *r, const char *s, size_t len)
{
    return r != NULL && r->type == REDIS_REPLY_STRING && r->len == len
           && memcmp(r->str, s, len) == 0;
}


/* a decimal number of 1 to 5 digits, or -1 */

static long long
lg_redis_digits(const char *s, size_t len)
{
    size_t     i;
    long long  n;

    if (len == 0 || len > 5) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');
    }

    return n;
}


int
lg_redis_sentinel_master(const redisReply *reply, lg_redis_addr_t *addr)
{
    long long          n;
    const redisReply  *host, *port;

    if (reply == NULL) {
        return LG_REDIS_SENTINEL_BAD;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        return LG_REDIS_SENTINEL_UNKNOWN;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        return LG_REDIS_SENTINEL_BAD;
    }

    host = reply->element[0];
    port = reply->element[1];

    if (host == NULL || port == NULL || host->type != REDIS_REPLY_STRING) {
        return LG_REDIS_SENTINEL_BAD;
    }

    /* Sentinel sends the port as a bulk string; a number is as good */

    if (port->type == REDIS_REPLY_STRING) {
        n = lg_redis_digits(port->str, port->len);

    } else if (port->type == REDIS_REPLY_INTEGER) {
        n = port->integer;

    } else {
        return LG_REDIS_SENTINEL_BAD;
    }

    if (lg_redis_addr_set(addr, host->str, host->len, n) != 0) {
        return LG_REDIS_SENTINEL_BAD;
    }

    return LG_REDIS_SENTINEL_KNOWN;
}


int
lg_redis_sentinel_switch(const redisReply *reply, const char *name,
    size_t name_len, lg_redis_addr_t *addr)
{
    size_t             channel;
    const redisReply  *payload;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1)
    {
        return -1;
    }

    if (lg_redis_str_is(reply->element[0], "message", 7)) {
        if (reply->elements != 3) {
            return -1;
        }

        channel = 1;

    } else if (lg_redis_str_is(reply->element[0], "pmessage", 8)) {
        if (reply->elements != 4) {
            return -1;
        }

        channel = 2;

    } else {
        /* "subscribe", "psubscribe", "pong": not news */
        return 0;
    }

    if (!lg_redis_str_is(reply->element[channel], LG_REDIS_SENTINEL_CHANNEL,
                         sizeof(LG_REDIS_SENTINEL_CHANNEL) - 1))
    {
        return 0;
    }

    payload = reply->element[channel + 1];

    if (payload == NULL || payload->type != REDIS_REPLY_STRING) {
        return -1;
    }

    return lg_redis_sentinel_switch_payload(payload->str, payload->len,
                                            name, name_len, addr);
}


int
lg_redis_sentinel_switch_payload(const char *msg, size_t len,
    const char *name, size_t name_len, lg_redis_addr_t *addr)
{
    size_t       i, n, start[5], end[5];
    long long    port;
    const char  *p;

    /* five words separated by single spaces */

    n = 0;
    i = 0;

    while (n < 5) {
        start[n] = i;

        p = memchr(msg + i, ' ', len - i);
        end[n] = (p == NULL) ? len : (size_t) (p - msg);

        if (end[n] == start[n]) {
            return -1;
        }

        n++;

        if (p == NULL) {
            break;
        }

        i = end[n - 1] + 1;
    }

    if (n != 5 || end[4] != len) {
        return -1;
    }

    if (lg_redis_digits(msg + start[2], end[2] - start[2]) < 0) {
        return -1;
    }

    port = lg_redis_digits(msg + start[4], end[4] - start[4]);

    if (port < 1 || port > 65535) {
        return -1;
    }

    if (end[0] - start[0] != name_len
        || memcmp(msg + start[0], name, name_len) != 0)
    {
        /* another master group watched by the same Sentinels */
        return 0;
    }

    if (lg_redis_addr_set(addr, msg + start[3], end[3] - start[3], port)
        != 0)
    {
        return -1;
    }

    return 1;
}
