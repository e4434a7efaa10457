
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target for the Redis topology parsers (the limit script's
 * reply has its own target, fuzz_redis_reply).  The input is a RESP
 * stream, read by hiredis's redisReader exactly as the transport reads a
 * connection; every reply it yields goes through every parser: the slot
 * map of CLUSTER SLOTS, -MOVED / -ASK, the error classes, ROLE, and
 * Sentinel's master address and +switch-master messages.  The raw bytes
 * also go to the text parsers directly, since most random inputs are no
 * RESP at all.  Besides crashes, the target aborts when a parser accepts
 * something that breaks what its callers rely on: a slot owner outside
 * the node list, a port out of 1..65535, a host that is not a clean
 * NUL-terminated string, a redirect that does not read back the same.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lg_redis_cluster.h"
#include "lg_redis_reply.h"
#include "lg_redis_sentinel.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static lg_redis_slots_t  fz_map;


static void
fz_check_addr(const lg_redis_addr_t *a)
{
    size_t  i, len;

    len = strnlen(a->host, LG_REDIS_HOST_LEN);

    if (len == 0 || len == LG_REDIS_HOST_LEN || a->port < 1
        || a->port > 65535)
    {
        abort();
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) a->host[i] <= ' ') {
            abort();
        }
    }
}


static void
fz_check_map(int rc)
{
    size_t    i, served;
    uint16_t  n;

    if (rc != 0) {
        if (fz_map.nnodes != 0 || fz_map.nslots != 0
            || lg_redis_slots_node(&fz_map, 0) != -1)
        {
            abort();
        }

        return;
    }

    if (fz_map.nnodes > LG_REDIS_MAX_MASTERS) {
        abort();
    }

    for (i = 0; i < fz_map.nnodes; i++) {
        fz_check_addr(&fz_map.nodes[i]);
    }

    served = 0;

    for (i = 0; i < LG_REDIS_SLOTS; i++) {
        n = fz_map.owner[i];

        if (n == LG_REDIS_NO_NODE) {
            continue;
        }

        if (n >= fz_map.nnodes) {
            abort();
        }

        served++;
    }

    if (served != fz_map.nslots) {
        abort();
    }
}


static void
fz_text(const char *s, size_t len)
{
    int                   n;
    char                  again[LG_REDIS_HOST_LEN + 32];
    unsigned              slot;
    lg_redis_addr_t       a;
    lg_redis_redirect_t   rd, rd2;
    lg_redis_error_e      kind;

    kind = lg_redis_error_kind(s, len);

    if (lg_redis_redirect_parse(s, len, "10.0.0.9", &rd) == 0) {
        if ((kind != LG_REDIS_ERR_MOVED && kind != LG_REDIS_ERR_ASK)
            || rd.ask != (kind == LG_REDIS_ERR_ASK) || rd.slot >= 16384)
        {
            abort();
        }

        fz_check_addr(&rd.addr);

        /* what was read writes back to text that reads the same */

        n = snprintf(again, sizeof(again), "%s %u %s:%d",
                     rd.ask ? "ASK" : "MOVED", rd.slot, rd.addr.host,
                     rd.addr.port);

        if (n < 0 || (size_t) n >= sizeof(again)
            || lg_redis_redirect_parse(again, n, NULL, &rd2) != 0
            || rd2.ask != rd.ask || rd2.slot != rd.slot
            || !lg_redis_addr_eq(&rd.addr, &rd2.addr))
        {
            abort();
        }
    }

    if (lg_redis_addr_parse(s, len, 6379, &a) == 0) {
        fz_check_addr(&a);
    }

    n = lg_redis_sentinel_switch_payload(s, len, "lgmaster", 8, &a);

    if (n == 1) {
        fz_check_addr(&a);

    } else if (n != 0 && n != -1) {
        abort();
    }

    slot = lg_redis_key_slot(s, len);

    if (slot >= LG_REDIS_SLOTS) {
        abort();
    }
}


static void
fz_reply(const redisReply *r)
{
    int               rc;
    const char       *err;
    lg_redis_addr_t   a;

    rc = lg_redis_slots_parse(&fz_map, r, "10.0.0.9", &err);
    fz_check_map(rc);

    if (rc == 0 && fz_map.nnodes > 0) {
        /* a redirect to a node of the map keeps it sound */
        if (lg_redis_slots_move(&fz_map, (unsigned) r->elements % 16384,
                                &fz_map.nodes[0])
            != 0)
        {
            abort();
        }

        fz_check_map(0);
    }

    rc = lg_redis_sentinel_master(r, &a);

    if (rc == LG_REDIS_SENTINEL_KNOWN) {
        fz_check_addr(&a);

    } else if (rc != LG_REDIS_SENTINEL_UNKNOWN && rc != LG_REDIS_SENTINEL_BAD)
    {
        abort();
    }

    rc = lg_redis_sentinel_switch(r, "lgmaster", 8, &a);

    if (rc == 1) {
        fz_check_addr(&a);

    } else if (rc != 0 && rc != -1) {
        abort();
    }

    rc = lg_redis_role(r);

    if (rc != -1 && rc != LG_REDIS_ROLE_MASTER && rc != LG_REDIS_ROLE_REPLICA
        && rc != LG_REDIS_ROLE_SENTINEL)
    {
        abort();
    }

    if (r->type == REDIS_REPLY_ERROR && lg_redis_reply_error(r)
        != lg_redis_error_kind(r->str, r->len))
    {
        abort();
    }

    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS
        || r->type == REDIS_REPLY_STRING)
    {
        fz_text(r->str, r->len);
    }
}


/*
 * hiredis 0.14 allocates an array's element vector as soon as it reads
 * the count, so "*999999999" asks for gigabytes: a Redis server never
 * sends that, and libFuzzer would report it as out of memory.  Inputs
 * with a count of more than six digits after any '*' skip the reader.
 */

static int
fz_huge_array(const uint8_t *data, size_t size)
{
    size_t  i, digits;

    for (i = 0; i < size; i++) {
        if (data[i] != '*') {
            continue;
        }

        if (i + 1 < size && (data[i + 1] == '-' || data[i + 1] == '+')) {
            i++;
        }

        for (digits = 0;
             i + 1 < size && data[i + 1] >= '0' && data[i + 1] <= '9';
             i++)
        {
            digits++;
        }

        if (digits > 6) {
            return 1;
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           n;
    void         *reply;
    redisReader  *rd;

    fz_text((const char *) data, size);

    if (fz_huge_array(data, size)) {
        return 0;
    }

    rd = redisReaderCreate();
    if (rd == NULL) {
        return 0;
    }

    if (redisReaderFeed(rd, (const char *) data, size) == REDIS_OK) {

        for (n = 0; n < 64; n++) {
            reply = NULL;

            if (redisReaderGetReply(rd, &reply) != REDIS_OK
                || reply == NULL)
            {
                break;
            }

            fz_reply(reply);
            freeReplyObject(reply);
        }
    }

    redisReaderFree(rd);

    return 0;
}
