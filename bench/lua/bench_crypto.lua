-- bench/lua/bench_crypto.lua: HMAC and base64 for wrk scripts that sign
-- each request (webhook scenarios), through LuaJIT's FFI and the OpenSSL
-- libcrypto that wrk itself links, so a signature costs wrk about a
-- microsecond instead of a pure-Lua SHA-256.
--
--   local c = require("bench_crypto")   -- bench/run sets package.path
--   c.hmac_sha256(key, msg)    raw 32-byte MAC
--   c.hmac_sha512(key, msg)    raw 64-byte MAC
--   c.b64encode(s), c.b64decode(s), c.hex(s)
--
-- bench/run --selftest checks these against the known answers of the
-- Standard Webhooks and GitHub documentation.

local ffi = require("ffi")

ffi.cdef[[
typedef struct evp_md_st bench_evp_md;
const bench_evp_md *EVP_sha256(void);
const bench_evp_md *EVP_sha512(void);
unsigned char *HMAC(const bench_evp_md *md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *out,
                    unsigned int *out_len);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n);
]]

local C = ffi.C
local out = ffi.new("unsigned char[64]")
local out_len = ffi.new("unsigned int[1]")

local M = {}

local function hmac(md, key, msg)
    if C.HMAC(md, key, #key, msg, #msg, out, out_len) == nil then
        error("bench_crypto: HMAC failed")
    end
    return ffi.string(out, out_len[0])
end

function M.hmac_sha256(key, msg)
    return hmac(C.EVP_sha256(), key, msg)
end

function M.hmac_sha512(key, msg)
    return hmac(C.EVP_sha512(), key, msg)
end

function M.b64encode(s)
    local buf = ffi.new("unsigned char[?]", 4 * math.ceil(#s / 3) + 1)
    return ffi.string(buf, C.EVP_EncodeBlock(buf, s, #s))
end

function M.b64decode(s)
    local buf = ffi.new("unsigned char[?]", #s + 1)
    local n = C.EVP_DecodeBlock(buf, s, #s)
    if n < 0 then
        error("bench_crypto: invalid base64")
    end
    -- EVP_DecodeBlock counts the padding as zero bytes
    local _, pad = s:gsub("=", "")
    return ffi.string(buf, n - pad)
end

function M.hex(s)
    return (s:gsub(".", function(ch)
        return string.format("%02x", string.byte(ch))
    end))
end

return M
