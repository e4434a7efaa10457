
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_KEYS_H_INCLUDED_
#define _LG_KEYS_H_INCLUDED_


#include <stddef.h>


/*
 * The names of a partner's state, in Redis and in the shared zone alike:
 *
 *     lg:{<partner>}:rl               the partner's rate limit
 *     lg:{<partner>}:rl:<route id>    one of its route limits
 *     lg:{<partner>}:suspended        its suspension
 *     lg:{<partner>}:jti:<jti>        a revoked token id
 *     lg:{<partner>}:idem:<key>       an idempotency record
 *     lg:{<partner>}:wh:<key>         a webhook's idempotency record, by
 *                                     its event id (or body digest)
 *
 * The braces are a Redis Cluster hash tag: Redis hashes only what lies
 * between the first '{' of a key and the first '}' after it, so all of a
 * partner's keys share one slot and one script may touch them together.
 * That holds because a partner id never contains '{' or '}' (the policy
 * compiler allows lowercase letters, digits and . _ - only), so the first
 * '}' is always the one closing the tag, whatever bytes the argument
 * holds.  The builder checks it anyway: partner ids typed on the CLI's
 * command line have not been through the compiler.
 *
 * A new kind of state is one more value here and one more row in the
 * table of lg_keys.c.
 */

typedef enum {
    LG_KEY_RATE = 0,            /* lg:{p}:rl */
    LG_KEY_ROUTE_RATE,          /* lg:{p}:rl:<route id> */
    LG_KEY_SUSPENDED,           /* lg:{p}:suspended */
    LG_KEY_JTI,                 /* lg:{p}:jti:<jti> */
    LG_KEY_IDEM,                /* lg:{p}:idem:<key> */
    LG_KEY_WEBHOOK              /* lg:{p}:wh:<key> */
} lg_key_e;


/*
 * The length of a key (no terminating NUL) for a partner id of
 * partner_len bytes and an argument of arg_len bytes (ignored by the
 * kinds without one); 0 for an unknown kind.
 */
size_t lg_key_len(lg_key_e kind, size_t partner_len, size_t arg_len);

/*
 * Writes the key into buf, and a NUL after it when buf has room for one.
 * Returns the key's length, or 0 when buf is shorter than lg_key_len(),
 * the kind is unknown, or the partner id is empty or holds '{' or '}'.
 */
size_t lg_key_build(char *buf, size_t size, lg_key_e kind,
    const char *partner, size_t partner_len, const char *arg,
    size_t arg_len);


#endif /* _LG_KEYS_H_INCLUDED_ */
