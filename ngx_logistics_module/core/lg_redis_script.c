
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_redis_script.h"


/*
 * The GCRA step mirrors lg_rate_check(); keep the two in step.  "tats"
 * holds the states this call has set, so a later request of the batch
 * sees an earlier one's count; "claims" the Idempotency-Keys it claimed;
 * both by key index, as a request names its keys.  A key index is
 * (hi - 48) * 64 + lo - 48 = hi * 64 + lo - 3120.
 *
 * What a request costs is Lua's bytecodes, its C calls (string.byte,
 * math.floor: each about as dear as ten bytecodes) and, above all, the
 * reply, which Redis converts element by element and table by table
 * (callgrind on redis-server: about 1,000 instructions per number, 2,500
 * more per nested table).  So a descriptor is decoded once per call into
 * "shapes" (a batch of one partner's requests repeats the same one), at
 * most two limits are unrolled, floor is left to the client, and the
 * reply is one flat array of a few numbers per request.  A descriptor
 * that claims names its own Idempotency-Key, so it is not kept: it is
 * decoded into "scratch" each time.  TIME only when a request has a
 * limit to check.
 */

const char  lg_redis_limit_script[] =
    "local n, nrates = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local px = ARGV[3]\n"
    "local RT, RU = {}, {}\n"
    "for i = 1, nrates do\n"
    "  RT[i] = tonumber(ARGV[2 + 2 * i])\n"
    "  RU[i] = tonumber(ARGV[3 + 2 * i])\n"
    "end\n"
    "local vals = redis.call('MGET', unpack(KEYS))\n"
    "local byte, now = string.byte, nil\n"
    "local tats, dirty, nd, claims, shapes, out, o = {}, {}, 0, {}, {}, {}, 0\n"
    "local scratch\n"
    "local a = 4 + 2 * nrates\n"
    "for r = 1, n do\n"
    "  local d = ARGV[a]\n"
    "  local q = shapes[d]\n"
    "  if not q then\n"
    "    local b = {byte(d, 1, -1)}\n"
    "    local nrev, nlim = b[1] - 48, b[2] - 48\n"
    "    if b[3] == 49 then\n"
    "      scratch = scratch or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}\n"
    "      q = scratch\n"
    "    else\n"
    "      q = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}\n"
    "      shapes[d] = q\n"
    "    end\n"
    "    q[1], q[2], q[3] = nrev, nlim, b[3] - 48\n"
    "    local p = 4 + nlim\n"
    "    for i = 1, nrev do\n"
    "      q[3 + i] = b[p] * 64 + b[p + 1] - 3120\n"
    "      p = p + 2\n"
    "    end\n"
    "    for j = 1, nlim do\n"
    "      local ri = b[3 + j] - 48\n"
    "      q[3 + 3 * j] = b[p] * 64 + b[p + 1] - 3120\n"
    "      q[4 + 3 * j], q[5 + 3 * j] = RT[ri], RU[ri]\n"
    "      p = p + 2\n"
    "    end\n"
    "    if q[3] == 1 then q[12] = b[p] * 64 + b[p + 1] - 3120 end\n"
    "  end\n"
    "  local nlim, claim, revoked = q[2], q[3], false\n"
    "  for i = 1, q[1] do\n"
    "    local ki = q[3 + i]\n"
    "    if vals[ki] then\n"
    "      out[o + 1], out[o + 2] = -1, i\n"
    "      out[o + 3] = redis.call('PTTL', KEYS[ki])\n"
    "      o, revoked = o + 3, true\n"
    "      break\n"
    "    end\n"
    "  end\n"
    "  if not revoked then\n"
    "    if nlim > 0 and not now then\n"
    "      local t = redis.call('TIME')\n"
    "      now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "    end\n"
    "    local ok, k1, n1, s1, k2, n2, s2 = 1\n"
    "    if nlim > 0 then\n"
    "      k1 = q[6]\n"
    "      local base = tats[k1] or tonumber(vals[k1]) or 0\n"
    "      if base < now then base = now end\n"
    "      if now < base - q[8] then\n"
    "        ok, s1 = 0, now - base\n"
    "      else\n"
    "        n1 = base + q[7]\n"
    "        s1 = n1 - now\n"
    "      end\n"
    "    end\n"
    "    if nlim > 1 then\n"
    "      k2 = q[9]\n"
    "      local base = tats[k2] or tonumber(vals[k2]) or 0\n"
    "      if base < now then base = now end\n"
    "      if now < base - q[11] then\n"
    "        ok, s2 = 0, now - base\n"
    "      else\n"
    "        n2 = base + q[10]\n"
    "        s2 = n2 - now\n"
    "      end\n"
    "    end\n"
    "    o = o + 1\n"
    "    out[o] = ok\n"
    "    if nlim > 0 then o = o + 1; out[o] = s1 end\n"
    "    if nlim > 1 then o = o + 1; out[o] = s2 end\n"
    "    if ok == 1 then\n"
    "      if k1 then\n"
    "        if not tats[k1] then nd = nd + 1; dirty[nd] = k1 end\n"
    "        tats[k1] = n1\n"
    "      end\n"
    "      if k2 then\n"
    "        if not tats[k2] then nd = nd + 1; dirty[nd] = k2 end\n"
    "        tats[k2] = n2\n"
    "      end\n"
    "      if claim == 1 then\n"
    "        local ki = q[12]\n"
    "        local rec = claims[ki] or vals[ki]\n"
    "        o = o + 1\n"
    "        if rec then\n"
    "          out[o] = rec\n"
    "        else\n"
    "          local lock = ARGV[a + 1]\n"
    "          redis.call('SET', KEYS[ki], lock, 'PX', px)\n"
    "          claims[ki] = lock\n"
    "          out[o] = 0\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  a = a + 1 + claim\n"
    "end\n"
    "if nd > 0 then\n"
    "  local m = {}\n"
    "  for i = 1, nd do\n"
    "    m[2 * i - 1] = KEYS[dirty[i]]\n"
    "    m[2 * i] = string.format('%d', tats[dirty[i]])\n"
    "  end\n"
    "  redis.call('MSET', unpack(m))\n"
    "end\n"
    "return out\n";


int
lg_redis_batch_reply(const redisReply *reply, size_t n,
    const unsigned char *shapes, size_t *first, lg_redis_limit_reply_t *out)
{
    size_t        r, k, nlimits;
    redisReply  **e;

    memset(out, 0, sizeof(lg_redis_limit_reply_t));

    if (reply->type == REDIS_REPLY_ERROR) {
        out->error = reply->str;
        out->error_len = reply->len;
        return LG_REDIS_REPLY_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    /*
     * Where each request's elements begin: its status says how many
     * follow, so the layout is known before any request is answered, and
     * a reply that does not add up fails them all alike.
     */

    e = reply->element;
    k = 0;

    for (r = 0; r < n; r++) {
        if (k >= reply->elements || e[k]->type != REDIS_REPLY_INTEGER) {
            return LG_REDIS_REPLY_UNEXPECTED;
        }

        first[r] = k;
        nlimits = LG_REDIS_SHAPE_LIMITS(shapes[r]);

        switch (e[k]->integer) {

        case LG_REDIS_REVOKED:
            k += 3;
            break;

        case LG_REDIS_ALLOWED:
            k += 1 + nlimits + LG_REDIS_SHAPE_CLAIM(shapes[r]);
            break;

        case LG_REDIS_REFUSED:
            k += 1 + nlimits;
            break;

        default:
            return LG_REDIS_REPLY_UNEXPECTED;
        }
    }

    if (k != reply->elements) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    return LG_REDIS_REPLY_OK;
}


int
lg_redis_limit_reply(const redisReply *reply, size_t first, size_t nlimits,
    const lg_rate_t *const *rates, int claim, lg_rate_result_t *results,
    lg_redis_limit_reply_t *out)
{
    size_t        i, n, refused;
    redisReply  **e;

    memset(out, 0, sizeof(lg_redis_limit_reply_t));

    if (reply->type != REDIS_REPLY_ARRAY || first >= reply->elements) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    e = reply->element + first;
    n = reply->elements - first;

    if (e[0]->type != REDIS_REPLY_INTEGER) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    out->status = (int) e[0]->integer;

    if (out->status == LG_REDIS_REVOKED) {
        /* -1 i pttl: revocation key i exists, for pttl ms more */

        if (n < 3 || e[1]->type != REDIS_REPLY_INTEGER || e[1]->integer < 1
            || e[2]->type != REDIS_REPLY_INTEGER || e[2]->integer < -2)
        {
            return LG_REDIS_REPLY_UNEXPECTED;
        }

        out->revoked = (size_t) e[1]->integer;

        /* -2: it expired between MGET and PTTL; a moment is as good */
        out->revoked_ttl = (e[2]->integer == -2) ? 1 : e[2]->integer;

        return LG_REDIS_REPLY_OK;
    }

    if (out->status != LG_REDIS_ALLOWED && out->status != LG_REDIS_REFUSED) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    if (n < 1 + nlimits) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    /*
     * Per limit one number: the microseconds until it is full again,
     * negated when it refused (lg_redis_script.h); lg_rate_from_reset()
     * turns it back into the step's outcome with the rate the client
     * knows.  A number no GCRA step gives is no answer of ours.
     */

    refused = 0;

    for (i = 0; i < nlimits; i++) {
        if (e[1 + i]->type != REDIS_REPLY_INTEGER
            || lg_rate_from_reset(rates[i], e[1 + i]->integer, &results[i])
               != 0)
        {
            return LG_REDIS_REPLY_UNEXPECTED;
        }

        refused += !results[i].allowed;
    }

    /* the status is the limits' verdict, or the reply is not ours */

    if ((out->status == LG_REDIS_ALLOWED) != (refused == 0)) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    if (out->status != LG_REDIS_ALLOWED || !claim) {
        return LG_REDIS_REPLY_OK;
    }

    /* the claim: the record the key already held, or 0: it is ours now */

    if (n < 2 + nlimits) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    e += 1 + nlimits;

    if (e[0]->type == REDIS_REPLY_STRING) {
        out->record = e[0]->str;
        out->record_len = e[0]->len;
        return LG_REDIS_REPLY_OK;
    }

    if (e[0]->type != REDIS_REPLY_INTEGER || e[0]->integer != 0) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    return LG_REDIS_REPLY_OK;
}


int
lg_redis_noscript(const char *error, size_t len)
{
    return len >= 8 && memcmp(error, "NOSCRIPT", 8) == 0;
}
