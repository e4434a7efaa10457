
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "lg_apikey.h"


static size_t lg_apikey_slot(const uint8_t *digest, size_t mask);
static void lg_sha256(const void *data, size_t len, uint8_t *digest);


/*
 * SHA256() in OpenSSL 3 fetches the algorithm from the provider and
 * allocates a context on every call, which shows in a profile of the hot
 * path.  The algorithm and one context are fetched once per process (an
 * nginx worker is single-threaded) and reused by every SHA-256 of the
 * hot path (API keys here, idempotency fingerprints in the glue).
 */

int
lg_sha256_parts(const lg_str_t *parts, size_t n, uint8_t digest[32])
{
    size_t              i;
    static EVP_MD      *md;
    static EVP_MD_CTX  *ctx;

    if (md == NULL) {
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
        ctx = EVP_MD_CTX_new();
    }

    if (md == NULL || ctx == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1) {
            return -1;
        }
    }

    return EVP_DigestFinal_ex(ctx, digest, NULL) == 1 ? 0 : -1;
}


/* a failure of the reused context falls back to the one-shot call */

static void
lg_sha256(const void *data, size_t len, uint8_t *digest)
{
    lg_str_t  part;

    part.data = data;
    part.len = len;

    if (lg_sha256_parts(&part, 1, digest) != 0) {
        SHA256(data, len, digest);
    }
}


/*
 * The table is indexed by the first bytes of the SHA-256 itself: the
 * digest is uniform, so it is its own hash, and a lookup costs one digest
 * and a probe or two whatever the number of partners.
 */

static size_t
lg_apikey_slot(const uint8_t *digest, size_t mask)
{
    uint64_t  h;

    memcpy(&h, digest, sizeof(h));

    return (size_t) h & mask;
}


int
lg_apikey_build(lg_policy_t *policy)
{
    size_t         i, j, size, slot;
    lg_api_key_t  *key;

    size = 16;

    while (size < policy->nkeys * 2) {
        size *= 2;
    }

    policy->keytab = lg_arena_calloc(&policy->arena, size,
                                     sizeof(lg_api_key_t *));
    if (policy->keytab == NULL) {
        return -1;
    }

    policy->keytab_mask = size - 1;

    for (i = 0; i < policy->npartners; i++) {
        for (j = 0; j < policy->partners[i].nkeys; j++) {
            key = &policy->partners[i].keys[j];
            slot = lg_apikey_slot(key->sha256, policy->keytab_mask);

            while (policy->keytab[slot] != NULL) {
                slot = (slot + 1) & policy->keytab_mask;
            }

            policy->keytab[slot] = key;
        }
    }

    return 0;
}


int
lg_apikey_well_formed(const char *key, size_t len)
{
    size_t  i;

    if (len == 0 || len > LG_APIKEY_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) key[i] < 0x21 || (unsigned char) key[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


lg_apikey_status_e
lg_apikey_lookup(const lg_policy_t *policy, const char *key, size_t len,
    int64_t now, const lg_api_key_t **found)
{
    size_t               slot;
    uint8_t              digest[SHA256_DIGEST_LENGTH];
    const lg_api_key_t  *k;

    *found = NULL;

    lg_sha256(key, len, digest);

    slot = lg_apikey_slot(digest, policy->keytab_mask);

    for ( ;; ) {
        k = policy->keytab[slot];

        if (k == NULL) {
            return LG_APIKEY_UNKNOWN;
        }

        /* constant time: timing tells nothing about how close a guess is */
        if (CRYPTO_memcmp(k->sha256, digest, SHA256_DIGEST_LENGTH) == 0) {
            break;
        }

        slot = (slot + 1) & policy->keytab_mask;
    }

    *found = k;

    if (k->partner->suspended) {
        return LG_APIKEY_SUSPENDED;
    }

    if (k->not_before != LG_TIME_UNSET && now < k->not_before) {
        return LG_APIKEY_NOT_YET_VALID;
    }

    if (k->expires != LG_TIME_UNSET && now >= k->expires) {
        return LG_APIKEY_EXPIRED;
    }

    if (k->partner->api_key_max_age != LG_TIME_UNSET
        && now >= k->created + k->partner->api_key_max_age / 1000)
    {
        return LG_APIKEY_EXPIRED;
    }

    return LG_APIKEY_OK;
}


int
lg_apikey_generate(char *buf, size_t size)
{
    size_t          i, n;
    uint32_t        acc;
    int             bits;
    unsigned char   raw[32];

    static const char  b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789-_";

    if (size < 48 || RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }

    memcpy(buf, "lgk_", 4);
    n = 4;
    acc = 0;
    bits = 0;

    for (i = 0; i < sizeof(raw); i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            buf[n++] = b64[(acc >> bits) & 0x3f];
        }
    }

    if (bits > 0) {
        buf[n++] = b64[(acc << (6 - bits)) & 0x3f];
    }

    buf[n] = '\0';

    OPENSSL_cleanse(raw, sizeof(raw));

    return 0;
}


void
lg_sha256_hex(const char *data, size_t len, char hex[65])
{
    size_t         i;
    unsigned char  digest[SHA256_DIGEST_LENGTH];

    static const char  digits[] = "0123456789abcdef";

    lg_sha256(data, len, digest);

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0xf];
    }

    hex[64] = '\0';
}
