
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "lg_redis_script.h"


/* the GCRA step mirrors lg_rate_check(); keep the two in step */

const char  lg_redis_limit_script[] =
    "local nrev = tonumber(ARGV[1])\n"
    "local nlim = tonumber(ARGV[2])\n"
    "local vals = redis.call('MGET', unpack(KEYS, 1, nrev + nlim))\n"
    "for i = 1, nrev do\n"
    "  if vals[i] then return {-1, i} end\n"
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
