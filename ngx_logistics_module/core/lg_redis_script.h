
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_REDIS_SCRIPT_H_INCLUDED_
#define _LG_REDIS_SCRIPT_H_INCLUDED_


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
 *          status 1 allowed, 0 refused by a limit, or { -1, i } when
 *          revocation key i (1-based) exists; an allowed reply without
 *          the trailing record means the key is now claimed
 */

#define LG_REDIS_REVOKED   (-1)
#define LG_REDIS_REFUSED   0
#define LG_REDIS_ALLOWED   1


extern const char  lg_redis_limit_script[];


#endif /* _LG_REDIS_SCRIPT_H_INCLUDED_ */
