
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
 * (hi - 48) * 64 + lo - 48 = hi * 64 + lo - 3120.  Per request the loop
 * makes one table, its reply: Lua's tables and Redis's objects, not the
 * arithmetic, are what a request costs, and at most two limits apply
 * (k1, n1 and k2, n2 are their keys and new states).
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
    "local byte, floor, now = string.byte, math.floor, nil\n"
    "local tats, dirty, nd, claims, out = {}, {}, 0, {}, {}\n"
    "local a = 4 + 2 * nrates\n"
    "for r = 1, n do\n"
    "  local d = ARGV[a]\n"
    "  local nrev, nlim, claim = byte(d, 1, 3)\n"
    "  nrev, nlim, claim = nrev - 48, nlim - 48, claim - 48\n"
    "  local p = 4 + nlim\n"
    "  local res = nil\n"
    "  for i = 1, nrev do\n"
    "    local hi, lo = byte(d, p, p + 1)\n"
    "    local ki = hi * 64 + lo - 3120\n"
    "    p = p + 2\n"
    "    if not res and vals[ki] then\n"
    "      res = {-1, i, redis.call('PTTL', KEYS[ki])}\n"
    "    end\n"
    "  end\n"
    "  if not res then\n"
    "    res = {1}\n"
    "    local k1, k2, n1, n2\n"
    "    if nlim > 0 and not now then\n"
    "      local t = redis.call('TIME')\n"
    "      now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "    end\n"
    "    for j = 1, nlim do\n"
    "      local hi, lo = byte(d, p, p + 1)\n"
    "      local ki = hi * 64 + lo - 3120\n"
    "      p = p + 2\n"
    "      local ri = byte(d, 3 + j) - 48\n"
    "      local T, tau = RT[ri], RU[ri]\n"
    "      local tat = tats[ki] or tonumber(vals[ki]) or 0\n"
    "      local base = now\n"
    "      if tat > now then base = tat end\n"
    "      local nxt = base + T\n"
    "      local allow_at = nxt - T - tau\n"
    "      if now < allow_at then\n"
    "        res[1] = 0\n"
    "        res[3 * j - 1] = 0\n"
    "        res[3 * j] = allow_at - now\n"
    "        res[3 * j + 1] = base - now\n"
    "      else\n"
    "        res[3 * j - 1] = floor((now + T + tau - nxt) / T)\n"
    "        res[3 * j] = 0\n"
    "        res[3 * j + 1] = nxt - now\n"
    "      end\n"
    "      if j == 1 then k1, n1 = ki, nxt else k2, n2 = ki, nxt end\n"
    "    end\n"
    "    if res[1] == 1 then\n"
    "      if k1 then\n"
    "        if not tats[k1] then nd = nd + 1; dirty[nd] = k1 end\n"
    "        tats[k1] = n1\n"
    "      end\n"
    "      if k2 then\n"
    "        if not tats[k2] then nd = nd + 1; dirty[nd] = k2 end\n"
    "        tats[k2] = n2\n"
    "      end\n"
    "      if claim == 1 then\n"
    "        local hi, lo = byte(d, p, p + 1)\n"
    "        local ki = hi * 64 + lo - 3120\n"
    "        local rec = claims[ki] or vals[ki]\n"
    "        if rec then\n"
    "          res[3 * nlim + 2] = rec\n"
    "        else\n"
    "          local lock = ARGV[a + 1]\n"
    "          redis.call('SET', KEYS[ki], lock, 'PX', px)\n"
    "          claims[ki] = lock\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  a = a + 1 + claim\n"
    "  out[r] = res\n"
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
    lg_redis_limit_reply_t *out)
{
    memset(out, 0, sizeof(lg_redis_limit_reply_t));

    if (reply->type == REDIS_REPLY_ERROR) {
        out->error = reply->str;
        out->error_len = reply->len;
        return LG_REDIS_REPLY_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    return LG_REDIS_REPLY_OK;
}


int
lg_redis_limit_reply(const redisReply *reply, size_t nlimits, int claim,
    lg_rate_result_t *results, lg_redis_limit_reply_t *out)
{
    size_t        i, n;
    redisReply  **e;

    memset(out, 0, sizeof(lg_redis_limit_reply_t));

    if (reply->type == REDIS_REPLY_ERROR) {
        out->error = reply->str;
        out->error_len = reply->len;
        return LG_REDIS_REPLY_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    e = reply->element;

    if (e[0]->type != REDIS_REPLY_INTEGER) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    out->status = (int) e[0]->integer;

    if (out->status == LG_REDIS_REVOKED) {
        /* { -1, i, pttl }: revocation key i exists, for pttl ms more */

        if (reply->elements != 3 || e[1]->type != REDIS_REPLY_INTEGER
            || e[1]->integer < 1 || e[2]->type != REDIS_REPLY_INTEGER
            || e[2]->integer < -2)
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

    n = 1 + 3 * nlimits;

    if (reply->elements == n + 1 && claim && out->status == LG_REDIS_ALLOWED
        && e[n]->type == REDIS_REPLY_STRING)
    {
        /* the Idempotency-Key was taken before: that record */
        out->record = e[n]->str;
        out->record_len = e[n]->len;

    } else if (reply->elements != n) {
        return LG_REDIS_REPLY_UNEXPECTED;
    }

    for (i = 1; i < n; i++) {
        if (e[i]->type != REDIS_REPLY_INTEGER) {
            return LG_REDIS_REPLY_UNEXPECTED;
        }
    }

    for (i = 0; i < nlimits; i++) {
        results[i].remaining = e[1 + 3 * i]->integer;
        results[i].retry_after = e[2 + 3 * i]->integer;
        results[i].reset = e[3 + 3 * i]->integer;
        results[i].allowed = (e[2 + 3 * i]->integer == 0);
    }

    return LG_REDIS_REPLY_OK;
}


int
lg_redis_noscript(const char *error, size_t len)
{
    return len >= 8 && memcmp(error, "NOSCRIPT", 8) == 0;
}
