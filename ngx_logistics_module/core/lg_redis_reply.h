
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_REDIS_REPLY_H_INCLUDED_
#define _LG_REDIS_REPLY_H_INCLUDED_


#include <stddef.h>

#include <hiredis/hiredis.h>


/*
 * What a Redis client must understand of the replies of a topology that
 * moves: which node to talk to, and what an error reply asks the client
 * to do.  Plain functions over hiredis's redisReply (as its redisReader
 * builds them) and over error texts (hiredis keeps them without the
 * leading '-'), shared by the module's transport and the policy CLI.
 */

/* host names are at most 253 bytes; IPv6 literals far less */
#define LG_REDIS_HOST_LEN  256


typedef struct {
    char                host[LG_REDIS_HOST_LEN];    /* NUL-terminated */
    int                 port;                       /* 1..65535 */
} lg_redis_addr_t;


/*
 * The error replies a client acts on, by their first word.  What the
 * caller is expected to do:
 *
 *   MOVED        the slot lives on another node for good: refresh the
 *                slot map and send the command there;
 *   ASK          the slot is being migrated and this key is already on
 *                the target: send ASKING then the command to the target,
 *                once, without touching the slot map;
 *   TRYAGAIN     a multi-key command during a slot migration: retry
 *                later (or fail the request);
 *   CLUSTERDOWN  the cluster cannot serve the slot now: fail the request
 *                and refresh the slot map;
 *   READONLY     a replica answered a write: the node we think is the
 *                master was demoted (failover): find the master again;
 *   MASTERDOWN   a replica whose master link is down: find the master
 *                again;
 *   LOADING      the server is loading its data set: fail the request,
 *                keep the connection;
 *   NOSCRIPT     the script cache was flushed: load the script again.
 *
 * Any other error is the command's own: give it to the caller.
 */

typedef enum {
    LG_REDIS_ERR_OTHER = 0,
    LG_REDIS_ERR_MOVED,
    LG_REDIS_ERR_ASK,
    LG_REDIS_ERR_TRYAGAIN,
    LG_REDIS_ERR_CLUSTERDOWN,
    LG_REDIS_ERR_READONLY,
    LG_REDIS_ERR_MASTERDOWN,
    LG_REDIS_ERR_LOADING,
    LG_REDIS_ERR_NOSCRIPT
} lg_redis_error_e;


typedef struct {
    int                 ask;        /* 1: -ASK, 0: -MOVED */
    unsigned            slot;       /* 0..16383 */
    lg_redis_addr_t     addr;
} lg_redis_redirect_t;


#define LG_REDIS_ROLE_MASTER    1
#define LG_REDIS_ROLE_REPLICA   2
#define LG_REDIS_ROLE_SENTINEL  3


/* the class of an error reply's text ("MOVED 3999 10.0.0.2:6379") */
lg_redis_error_e lg_redis_error_kind(const char *err, size_t len);

/* the class of a reply: LG_REDIS_ERR_OTHER unless it is an error reply */
lg_redis_error_e lg_redis_reply_error(const redisReply *reply);

/*
 * Parses "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>".  An
 * empty host (Redis 7 with an unknown endpoint) means "the host that sent
 * the redirect": default_host is copied there.  IPv6 hosts come without
 * brackets; the port follows the last colon.  0 or -1 if malformed.
 */
int lg_redis_redirect_parse(const char *err, size_t len,
    const char *default_host, lg_redis_redirect_t *rd);

/*
 * "host:port", "host", "[v6]:port" or "[v6]" as a user writes it in a
 * configuration or on a command line; default_port when none is given.
 * 0 or -1 if malformed.
 */
int lg_redis_addr_parse(const char *s, size_t len, int default_port,
    lg_redis_addr_t *addr);

/*
 * Copies a host and port into addr after the checks every host taken
 * from a reply gets: 1..255 bytes, no NUL, space or control byte, port
 * 1..65535.  0 or -1.
 */
int lg_redis_addr_set(lg_redis_addr_t *addr, const char *host,
    size_t len, long long port);

/* 1 if a and b name the same host and port */
int lg_redis_addr_eq(const lg_redis_addr_t *a, const lg_redis_addr_t *b);

/*
 * The reply to ROLE: LG_REDIS_ROLE_MASTER, _REPLICA or _SENTINEL, or -1.
 * Sentinel's client rules ask for it on every connection to a master
 * that Sentinel named: a stale answer may point at a demoted node.
 */
int lg_redis_role(const redisReply *reply);


#endif /* _LG_REDIS_REPLY_H_INCLUDED_ */
