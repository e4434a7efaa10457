
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_redis_cluster.h"


static int lg_redis_slots_add(lg_redis_slots_t *map,
    const lg_redis_addr_t *addr);
static int lg_redis_slots_master(const redisReply *info,
    const char *default_host, lg_redis_addr_t *addr);


/* CRC16-CCITT (polynomial 0x1021), one entry per value of the top byte */

static const uint16_t  lg_redis_crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0
};


uint16_t
lg_redis_crc16(const char *data, size_t len)
{
    size_t    i;
    uint16_t  crc;

    crc = 0;

    for (i = 0; i < len; i++) {
        crc = (uint16_t) (crc << 8)
              ^ lg_redis_crc16_table[((crc >> 8) ^ (unsigned char) data[i])
                                     & 0xff];
    }

    return crc;
}


unsigned
lg_redis_key_slot(const char *key, size_t len)
{
    const char  *open, *close;

    open = memchr(key, '{', len);

    if (open != NULL) {
        close = memchr(open + 1, '}', key + len - open - 1);

        /* "{}" is no tag: the whole key is hashed then */

        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = close - key;
        }
    }

    return lg_redis_crc16(key, len) & (LG_REDIS_SLOTS - 1);
}


void
lg_redis_slots_init(lg_redis_slots_t *map)
{
    map->nnodes = 0;
    map->nslots = 0;

    memset(map->owner, 0xff, sizeof(map->owner));
}


int
lg_redis_slots_find(const lg_redis_slots_t *map, const lg_redis_addr_t *addr)
{
    size_t  i;

    for (i = 0; i < map->nnodes; i++) {
        if (lg_redis_addr_eq(&map->nodes[i], addr)) {
            return (int) i;
        }
    }

    return -1;
}


static int
lg_redis_slots_add(lg_redis_slots_t *map, const lg_redis_addr_t *addr)
{
    int  n;

    n = lg_redis_slots_find(map, addr);

    if (n >= 0) {
        return n;
    }

    if (map->nnodes == LG_REDIS_MAX_MASTERS) {
        return -1;
    }

    map->nodes[map->nnodes] = *addr;

    return (int) map->nnodes++;
}


/*
 * The master of a range: 0 with addr set, 1 when the range has no
 * usable master now ("?" host, port 0), -1 when malformed.
 */

static int
lg_redis_slots_master(const redisReply *info, const char *default_host,
    lg_redis_addr_t *addr)
{
    const redisReply  *host, *port;

    if (info == NULL || info->type != REDIS_REPLY_ARRAY
        || info->elements < 2)
    {
        return -1;
    }

    host = info->element[0];
    port = info->element[1];

    if (host == NULL || port == NULL || port->type != REDIS_REPLY_INTEGER
        || port->integer < 0 || port->integer > 65535)
    {
        return -1;
    }

    if (port->integer == 0) {
        /* no port for this kind of client (plain vs TLS) */
        return 1;
    }

    if (host->type == REDIS_REPLY_NIL
        || (host->type == REDIS_REPLY_STRING && host->len == 0))
    {
        if (default_host == NULL) {
            return 1;
        }

        return lg_redis_addr_set(addr, default_host, strlen(default_host),
                                 port->integer);
    }

    if (host->type != REDIS_REPLY_STRING) {
        return -1;
    }

    if (host->len == 1 && host->str[0] == '?') {
        return 1;
    }

    return lg_redis_addr_set(addr, host->str, host->len, port->integer);
}


int
lg_redis_slots_parse(lg_redis_slots_t *map, const redisReply *reply,
    const char *default_host, const char **err)
{
    int                rc, node;
    size_t             i;
    long long          start, end, s;
    lg_redis_addr_t    addr;
    const redisReply  *range;

    lg_redis_slots_init(map);

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        *err = "CLUSTER SLOTS reply is not an array";
        goto failed;
    }

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];

        if (range == NULL || range->type != REDIS_REPLY_ARRAY
            || range->elements < 3
            || range->element[0]->type != REDIS_REPLY_INTEGER
            || range->element[1]->type != REDIS_REPLY_INTEGER)
        {
            *err = "slot range of the wrong shape";
            goto failed;
        }

        start = range->element[0]->integer;
        end = range->element[1]->integer;

        if (start < 0 || end >= LG_REDIS_SLOTS || start > end) {
            *err = "slot range out of 0..16383";
            goto failed;
        }

        rc = lg_redis_slots_master(range->element[2], default_host, &addr);

        if (rc < 0) {
            *err = "master entry of the wrong shape";
            goto failed;
        }

        if (rc == 1) {
            continue;
        }

        node = lg_redis_slots_add(map, &addr);

        if (node < 0) {
            *err = "too many masters";
            goto failed;
        }

        for (s = start; s <= end; s++) {
            if (map->owner[s] != LG_REDIS_NO_NODE) {
                *err = "overlapping slot ranges";
                goto failed;
            }

            map->owner[s] = (uint16_t) node;
        }

        map->nslots += (size_t) (end - start + 1);
    }

    return 0;

failed:

    lg_redis_slots_init(map);

    return -1;
}


int
lg_redis_slots_node(const lg_redis_slots_t *map, unsigned slot)
{
    if (slot >= LG_REDIS_SLOTS || map->owner[slot] == LG_REDIS_NO_NODE) {
        return -1;
    }

    return map->owner[slot];
}


int
lg_redis_slots_move(lg_redis_slots_t *map, unsigned slot,
    const lg_redis_addr_t *addr)
{
    int  node;

    if (slot >= LG_REDIS_SLOTS) {
        return -1;
    }

    node = lg_redis_slots_add(map, addr);

    if (node < 0) {
        return -1;
    }

    if (map->owner[slot] == LG_REDIS_NO_NODE) {
        map->nslots++;
    }

    map->owner[slot] = (uint16_t) node;

    return node;
}
