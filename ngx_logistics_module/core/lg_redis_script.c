
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_redis_script.h"


/*
 * The GCRA step mirrors lg_rate_check(); keep the two in step.  "tats"
 * holds the states this call has set, so a later request of the batch
 * sees an earlier one's count; "claims" the Idempotency-Keys it claimed.
 */

const char  lg_redis_limit_script[] =
    "local n = tonumber(ARGV[1])\n"
    "local vals = redis.call('MGET', unpack(KEYS))\n"
    "local now, tats, dirty, claims, out = nil, {}, {}, {}, {}\n"
    "local k, a = 0, 2\n"
    "for r = 1, n do\n"
    "  local nrev = tonumber(ARGV[a])\n"
    "  local nlim = tonumber(ARGV[a + 1])\n"
    "  local claim = tonumber(ARGV[a + 2])\n"
    "  a = a + 3\n"
    "  local res = nil\n"
    "  for i = 1, nrev do\n"
    "    if not res and vals[k + i] then\n"
    "      res = {-1, i, redis.call('PTTL', KEYS[k + i])}\n"
    "    end\n"
    "  end\n"
    "  if not res then\n"
    "    res = {1}\n"
    "    local nxts = {}\n"
    "    if nlim > 0 and not now then\n"
    "      local t = redis.call('TIME')\n"
    "      now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "    end\n"
    "    for j = 1, nlim do\n"
    "      local key = KEYS[k + nrev + j]\n"
    "      local T = tonumber(ARGV[a + 2 * j - 2])\n"
    "      local tau = tonumber(ARGV[a + 2 * j - 1])\n"
    "      local tat = tats[key] or tonumber(vals[k + nrev + j]) or 0\n"
    "      local base = math.max(tat, now)\n"
    "      local nxt = base + T\n"
    "      local allow_at = nxt - T - tau\n"
    "      if now < allow_at then\n"
    "        res[1] = 0\n"
    "        res[#res + 1] = 0\n"
    "        res[#res + 1] = allow_at - now\n"
    "        res[#res + 1] = base - now\n"
    "      else\n"
    "        nxts[j] = nxt\n"
    "        res[#res + 1] = math.floor((now + T + tau - nxt) / T)\n"
    "        res[#res + 1] = 0\n"
    "        res[#res + 1] = nxt - now\n"
    "      end\n"
    "    end\n"
    "    if res[1] == 1 then\n"
    "      for j = 1, nlim do\n"
    "        local key = KEYS[k + nrev + j]\n"
    "        if not tats[key] then dirty[#dirty + 1] = key end\n"
    "        tats[key] = nxts[j]\n"
    "      end\n"
    "      if claim == 1 then\n"
    "        local ik = k + nrev + nlim + 1\n"
    "        local rec = claims[KEYS[ik]] or vals[ik]\n"
    "        if rec then\n"
    "          res[#res + 1] = rec\n"
    "        else\n"
    "          local lock = ARGV[a + 2 * nlim]\n"
    "          redis.call('SET', KEYS[ik], lock, 'PX',\n"
    "                     ARGV[a + 2 * nlim + 1])\n"
    "          claims[KEYS[ik]] = lock\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  a = a + 2 * nlim + 2 * claim\n"
    "  k = k + nrev + nlim + claim\n"
    "  out[r] = res\n"
    "end\n"
    "if #dirty > 0 then\n"
    "  local m = {}\n"
    "  for i = 1, #dirty do\n"
    "    m[2 * i - 1] = dirty[i]\n"
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
