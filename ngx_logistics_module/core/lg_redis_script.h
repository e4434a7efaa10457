
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
 * connection and called by its SHA1, that checks in one round trip the
 * requests a worker has ready in one event-loop iteration (a batch).
 * For each request, in order, it
 *
 *   1. refuses if any of its revocation keys exists (a suspended
 *      partner, a revoked token id),
 *   2. applies the GCRA step of lg_ratelimit.c to every limit key, and
 *      counts the request only if all of them allow it, and
 *   3. when the request carries an Idempotency-Key and was allowed,
 *      claims that key (SET PX) with the request's lock record, unless
 *      it holds a record already.
 *
 * The requests of a batch see each other's counts (sequential GCRA on
 * the states read once), and the script runs atomically, so a batch is
 * exact against other batches and other gateway nodes.  Redis work per
 * call: one MGET of every key, one TIME, one MSET of the changed limit
 * states, one SET per new claim.  Limit states are written without a
 * lifetime: their number is bounded by the policy, and a state in the
 * past counts as none; `logistics-policy redis-cleanup` removes those of
 * partners and routes that left the policy.  Revocation keys keep the
 * lifetime their writer gave them, claims the lock's.
 *
 * Nothing is written for a refused request, so it leaves no claim
 * behind.  All keys of one call must share a cluster slot: a batch is
 * made of requests whose {partner} tags share one.
 *
 * It uses Redis's clock (TIME), so gateway nodes with skewed clocks still
 * share one limit.  Lua numbers are doubles: microsecond timestamps stay
 * exact below 2^53 (the year 2255).
 *
 *   KEYS: every key of the batch's requests, each once: a batch of one
 *         partner's requests names its limit and revocation keys once
 *   ARGV: number of requests, number of rates, a claim's lifetime (ms),
 *         per rate its interval (us) and tolerance (us), then per
 *         request a descriptor and, for a claim, the lock record.  A
 *         descriptor is one string of bytes: '0' + the number of
 *         revocation keys, '0' + the number of limit keys, '0' + 1 if
 *         it claims an idempotency key else '0', per limit key '0' +
 *         its rate (1-based), then per key (revocation keys, limit
 *         keys, idempotency key) its index in KEYS (1-based) as two
 *         bytes '0' + index / 64, '0' + index % 64.
 *         Few arguments per request, because Redis makes an object of
 *         each argument and Lua a string, and that, more than the GCRA
 *         arithmetic, is what a request costs the script.
 *   reply: one flat array, a few numbers per request, in order
 *          (lg_redis_batch_reply() finds where each begins,
 *          lg_redis_limit_reply() decodes it):
 *            -1 i pttl        revocation key i (1-based) exists, with
 *                             its remaining lifetime in ms (-1: none),
 *                             so that gateways keep a local copy for as
 *                             long as Redis would refuse;
 *            1|0 s... [c]     allowed (1) or refused (0), then per limit
 *                             s = the microseconds until that limit is
 *                             full again (reset), negated if it refused;
 *                             remaining and retry_after follow from s
 *                             and the rate, which the client knows
 *                             (lg_rate_from_reset()).  An
 *                             allowed request that claims ends with c:
 *                             0 (the key is ours now) or the record the
 *                             key already held.
 *          Nested tables and three numbers per limit cost Redis more
 *          than the GCRA step itself (lg_redis_script.c).
 */

/* a request's shape in a call: how many limits, and whether it claims */
#define LG_REDIS_SHAPE(nlimits, claim)  ((unsigned char) ((nlimits) << 1  \
                                                          | ((claim) != 0)))
#define LG_REDIS_SHAPE_LIMITS(shape)    ((size_t) ((shape) >> 1))
#define LG_REDIS_SHAPE_CLAIM(shape)     ((size_t) ((shape) & 1))

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
 * Checks the script's whole reply for a batch of "n" requests of these
 * shapes and sets first[r] to where request r's elements begin:
 * LG_REDIS_REPLY_OK when they add up to the reply; else ERROR (its text
 * in "out") or UNEXPECTED, which fail every request of the batch.
 */
int lg_redis_batch_reply(const redisReply *reply, size_t n,
    const unsigned char *shapes, size_t *first, lg_redis_limit_reply_t *out);

/*
 * Decodes a request's elements from index "first" of the batch's reply,
 * for a request with "nlimits" limit keys of these rates and, when
 * "claim" is set, an idempotency claim.  Each limit's outcome goes to
 * results[i] (allowed, remaining, retry_after, reset); strings in "out"
 * point into the reply.
 */
int lg_redis_limit_reply(const redisReply *reply, size_t first,
    size_t nlimits, const lg_rate_t *const *rates, int claim,
    lg_rate_result_t *results, lg_redis_limit_reply_t *out);

/* the error reply says the server forgot our scripts (SCRIPT FLUSH) */
int lg_redis_noscript(const char *error, size_t len);


#endif /* _LG_REDIS_SCRIPT_H_INCLUDED_ */
