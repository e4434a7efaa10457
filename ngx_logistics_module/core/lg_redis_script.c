
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_redis_script.h"


/* the GCRA step mirrors lg_rate_check(); keep the two in step */

const char  lg_redis_limit_script[] =
    "local nrev = tonumber(ARGV[1])\n"
    "local nlim = tonumber(ARGV[2])\n"
    "local vals = redis.call('MGET', unpack(KEYS, 1, nrev + nlim))\n"
    "for i = 1, nrev do\n"
    "  if vals[i] then return {-1, i, redis.call('PTTL', KEYS[i])} end\n"
    "end\n"
    "local out = {1}\n"
    "if nlim > 0 then\n"
    "  local t = redis.call('TIME')\n"
    "  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "  local tats = {}\n"
    "  for j = 1, nlim do\n"
    "    local T = tonumber(ARGV[1 + 2 * j])\n"
    "    local tau = tonumber(ARGV[2 + 2 * j])\n"
    "    local tat = tonumber(vals[nrev + j]) or 0\n"
    "    local base = math.max(tat, now)\n"
    "    local nxt = base + T\n"
    "    local allow_at = nxt - T - tau\n"
    "    if now < allow_at then\n"
    "      out[1] = 0\n"
    "      out[#out + 1] = 0\n"
    "      out[#out + 1] = allow_at - now\n"
    "      out[#out + 1] = base - now\n"
    "    else\n"
    "      tats[j] = nxt\n"
    "      out[#out + 1] = math.floor((now + T + tau - nxt) / T)\n"
    "      out[#out + 1] = 0\n"
    "      out[#out + 1] = nxt - now\n"
    "    end\n"
    "  end\n"
    "  if out[1] == 0 then return out end\n"
    "  for j = 1, nlim do\n"
    "    local ttl = math.ceil((tats[j] - now) / 1000)\n"
    "    if ttl < 1 then ttl = 1 end\n"
    "    redis.call('SET', KEYS[nrev + j], string.format('%d', tats[j]),\n"
    "               'PX', ttl)\n"
    "  end\n"
    "end\n"
    "if #KEYS > nrev + nlim then\n"
    "  local rec = redis.call('SET', KEYS[#KEYS], ARGV[3 + 2 * nlim], 'NX',\n"
    "                         'PX', ARGV[4 + 2 * nlim], 'GET')\n"
    "  if rec then out[#out + 1] = rec end\n"
    "end\n"
    "return out\n";


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
