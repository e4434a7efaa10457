
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "lg_redis_script.h"


/* mirrors lg_rate_check(); keep the two in step */

const char  lg_redis_limit_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local nrev = tonumber(ARGV[1])\n"
    "local vals = redis.call('MGET', unpack(KEYS))\n"
    "for i = 1, nrev do\n"
    "  if vals[i] then return {-1, i} end\n"
    "end\n"
    "local out = {1}\n"
    "local tats = {}\n"
    "for i = nrev + 1, #KEYS do\n"
    "  local j = i - nrev\n"
    "  local T = tonumber(ARGV[2 * j])\n"
    "  local tau = tonumber(ARGV[2 * j + 1])\n"
    "  local tat = tonumber(vals[i]) or 0\n"
    "  local base = math.max(tat, now)\n"
    "  local nxt = base + T\n"
    "  local allow_at = nxt - T - tau\n"
    "  if now < allow_at then\n"
    "    out[1] = 0\n"
    "    out[#out + 1] = 0\n"
    "    out[#out + 1] = allow_at - now\n"
    "    out[#out + 1] = base - now\n"
    "  else\n"
    "    tats[i] = nxt\n"
    "    out[#out + 1] = math.floor((now + T + tau - nxt) / T)\n"
    "    out[#out + 1] = 0\n"
    "    out[#out + 1] = nxt - now\n"
    "  end\n"
    "end\n"
    "if out[1] == 1 then\n"
    "  for i = nrev + 1, #KEYS do\n"
    "    local ttl = math.ceil((tats[i] - now) / 1000)\n"
    "    if ttl < 1 then ttl = 1 end\n"
    "    redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', ttl)\n"
    "  end\n"
    "end\n"
    "return out\n";
