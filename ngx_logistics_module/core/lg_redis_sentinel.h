
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_REDIS_SENTINEL_H_INCLUDED_
#define _LG_REDIS_SENTINEL_H_INCLUDED_


#include <stddef.h>

#include "lg_redis_reply.h"


/*
 * Redis Sentinel, as a client sees it: ask any Sentinel for the master of
 * a named group (SENTINEL get-master-addr-by-name NAME), connect there,
 * check with ROLE that it is a master (lg_redis_role()), and stay
 * subscribed to "+switch-master" on a Sentinel to hear of a failover as
 * soon as it is decided.
 */

#define LG_REDIS_SENTINEL_CHANNEL  "+switch-master"

#define LG_REDIS_SENTINEL_KNOWN     0
#define LG_REDIS_SENTINEL_UNKNOWN   1
#define LG_REDIS_SENTINEL_BAD     (-1)


/*
 * The reply to SENTINEL get-master-addr-by-name: [host, port] gives
 * LG_REDIS_SENTINEL_KNOWN and addr; a null reply (the Sentinel does not
 * monitor that name) gives LG_REDIS_SENTINEL_UNKNOWN; an error reply or
 * anything else LG_REDIS_SENTINEL_BAD.
 */
int lg_redis_sentinel_master(const redisReply *reply, lg_redis_addr_t *addr);

/*
 * A message of a subscription to "+switch-master": for
 *
 *   ["message", "+switch-master", "NAME OLD-HOST OLD-PORT NEW-HOST NEW-PORT"]
 *
 * (or the "pmessage" form of a pattern subscription) about the master
 * group name, 1 and addr set to the new master.  0 for every other
 * message (subscribe confirmations, other channels, other groups), -1
 * when the message is malformed.
 */
int lg_redis_sentinel_switch(const redisReply *reply, const char *name,
    size_t name_len, lg_redis_addr_t *addr);

/* the payload of a +switch-master message alone: 1, 0 or -1 as above */
int lg_redis_sentinel_switch_payload(const char *msg, size_t len,
    const char *name, size_t name_len, lg_redis_addr_t *addr);


#endif /* _LG_REDIS_SENTINEL_H_INCLUDED_ */
