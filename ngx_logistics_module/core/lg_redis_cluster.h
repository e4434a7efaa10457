
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_REDIS_CLUSTER_H_INCLUDED_
#define _LG_REDIS_CLUSTER_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_redis_reply.h"


/*
 * Redis Cluster routing, as its specification defines it: a key belongs
 * to hash slot CRC16(key) mod 16384 (CRC16-CCITT, polynomial 0x1021,
 * initial value 0, as XMODEM), where only the "hash tag" is hashed when
 * the key has one: the bytes between the first '{' and the first '}'
 * after it, if there is at least one.  Gateway keys carry a {partner}
 * tag, so every key of one request lands in one slot.
 *
 * The slot map says which master serves each slot.  It is built from a
 * CLUSTER SLOTS reply (master addresses only: the gateway writes) and
 * patched by -MOVED redirects between two refreshes.
 */

#define LG_REDIS_SLOTS          16384

/* masters of one cluster; Redis advises against more than 1000 nodes */
#define LG_REDIS_MAX_MASTERS    256

#define LG_REDIS_NO_NODE        0xffff


typedef struct {
    size_t              nnodes;
    size_t              nslots;             /* slots that have a master */
    lg_redis_addr_t     nodes[LG_REDIS_MAX_MASTERS];
    uint16_t            owner[LG_REDIS_SLOTS];  /* index in nodes[] */
} lg_redis_slots_t;


uint16_t lg_redis_crc16(const char *data, size_t len);

/* the hash slot of a key, its hash tag considered */
unsigned lg_redis_key_slot(const char *key, size_t len);

/* an empty map: no node, no slot served */
void lg_redis_slots_init(lg_redis_slots_t *map);

/*
 * Builds the map from a CLUSTER SLOTS reply:
 *
 *   [ [start, end, [host, port, id?, metadata?], replicas...], ... ]
 *
 * A null or empty host is the host the reply came from (default_host);
 * "?" (a node whose host name is not known yet) and port 0 leave that
 * range without a master, so its keys fail until the next refresh,
 * rather than go to a guessed node.  The map is left empty and -1
 * returned (with *err saying why) when the reply is malformed: ranges
 * out of 0..16383 or overlapping, a master entry of the wrong shape,
 * more masters than LG_REDIS_MAX_MASTERS.
 */
int lg_redis_slots_parse(lg_redis_slots_t *map, const redisReply *reply,
    const char *default_host, const char **err);

/* the index in map->nodes of the master of a slot, or -1 */
int lg_redis_slots_node(const lg_redis_slots_t *map, unsigned slot);

/*
 * A -MOVED redirect: the slot now belongs to addr (added to the nodes if
 * new).  Returns the node index, or -1 when the map has no room for
 * another master (refresh it from CLUSTER SLOTS instead).
 */
int lg_redis_slots_move(lg_redis_slots_t *map, unsigned slot,
    const lg_redis_addr_t *addr);

/* the index of a node in the map, or -1 */
int lg_redis_slots_find(const lg_redis_slots_t *map,
    const lg_redis_addr_t *addr);


#endif /* _LG_REDIS_CLUSTER_H_INCLUDED_ */
