
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_REDIS_SCRIPT_H_INCLUDED_
#define _LG_REDIS_SCRIPT_H_INCLUDED_


#include <stddef.h>

#include <hiredis/hiredis.h>

#include "lg_ratelimit.h"


/*
 * The Redis side of the hot path: one server-side script, loaded once per
 * connection and called by its SHA1, that in one round trip
 *
 *   1. refuses if any revocation key exists (a suspended partner, a
 *      revoked token id),
 *   2. applies the GCRA step of lg_ratelimit.c to every limit key, and
 *      stores the new states only if all of them allow the request, and
 *   3. when the request carries an Idempotency-Key and was allowed,
 *      claims that key (SET NX PX GET) with the request's lock record.
 *
 * Nothing is written unless the request is allowed, so a refused request
 * leaves no claim behind.  All keys share the {partner} hash tag, so the
 * script also runs on Redis Cluster.
 *
 * It uses Redis's clock (TIME), so gateway nodes with skewed clocks still
 * share one limit.  Lua numbers are doubles: microsecond timestamps stay
 * exact below 2^53 (the year 2255).
 *
 *   KEYS: revocation keys..., limit keys..., [idempotency key]
 *   ARGV: number of revocation keys, number of limit keys, then per
 *         limit key interval (us), tolerance (us), then for the
 *         idempotency key the lock record and its lifetime (ms)
 *   reply: { status, per limit: remaining, retry_after (us), reset (us),
 *            [the record already under the idempotency key] }
 *          status 1 allowed, 0 refused by a limit, or { -1, i, pttl }
 *          when revocation key i (1-based) exists, with its remaining
 *          lifetime in ms (-1: none), so that gateways keep a local copy
 *          for as long as Redis would refuse; an allowed reply without
 *          the trailing record means the key is now claimed
 */

#define LG_REDIS_REVOKED   (-1)
#define LG_REDIS_REFUSED   0
#define LG_REDIS_ALLOWED   1


/* what lg_redis_limit_reply() found */

typedef struct {
    int             status;        /* LG_REDIS_ALLOWED, _REFUSED, _REVOKED */
    size_t          revoked;       /* which revocation key (1-based) */
    int64_t         revoked_ttl;   /* its remaining ms; -1: no expiry */
    const char     *record;        /* the idempotency key's record, or
                                      NULL: the key is ours now */
    size_t          record_len;
    const char     *error;         /* an error reply's text */
    size_t          error_len;
} lg_redis_limit_reply_t;


#define LG_REDIS_REPLY_OK           0
#define LG_REDIS_REPLY_ERROR        1    /* Redis answered an error */
#define LG_REDIS_REPLY_UNEXPECTED   2    /* not what the script returns */


extern const char  lg_redis_limit_script[];


/*
 * Decodes the script's reply for a call with "nlimits" limit keys and,
 * when "claim" is set, an idempotency claim.  Each limit's outcome goes
 * to results[i] (allowed, remaining, retry_after, reset); strings in
 * "out" point into the reply.
 */
int lg_redis_limit_reply(const redisReply *reply, size_t nlimits, int claim,
    lg_rate_result_t *results, lg_redis_limit_reply_t *out);

/* the error reply says the server forgot our scripts (SCRIPT FLUSH) */
int lg_redis_noscript(const char *error, size_t len);


#endif /* _LG_REDIS_SCRIPT_H_INCLUDED_ */
