
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
 *      revoked token id), and
 *   2. applies the GCRA step of lg_ratelimit.c to every limit key, and
 *      stores the new states only if all of them allow the request.
 *
 * All keys are read with one MGET: a partner's keys share the {partner}
 * hash tag, so this also holds on Redis Cluster.
 *
 * It uses Redis's clock (TIME), so gateway nodes with skewed clocks still
 * share one limit.  Lua numbers are doubles: microsecond timestamps stay
 * exact below 2^53 (the year 2255).
 *
 *   KEYS: revocation keys..., limit keys...
 *   ARGV: number of revocation keys, then per limit key
 *         interval (us), tolerance (us)
 *   reply: { status, per limit: remaining, retry_after (us), reset (us) }
 *          status 1 allowed, 0 refused by a limit, or { -1, i } when
 *          revocation key i (1-based) exists
 */

#define LG_REDIS_REVOKED   (-1)
#define LG_REDIS_REFUSED   0
#define LG_REDIS_ALLOWED   1


extern const char  lg_redis_limit_script[];


#endif /* _LG_REDIS_SCRIPT_H_INCLUDED_ */
