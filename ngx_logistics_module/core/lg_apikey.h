
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_APIKEY_H_INCLUDED_
#define _LG_APIKEY_H_INCLUDED_


#include "lg_policy.h"


#define LG_APIKEY_MAX_LEN  256


typedef enum {
    LG_APIKEY_OK = 0,
    LG_APIKEY_UNKNOWN,
    LG_APIKEY_NOT_YET_VALID,
    LG_APIKEY_EXPIRED,
    LG_APIKEY_SUSPENDED
} lg_apikey_status_e;


/* builds the hash table of every key of every partner (policy load) */
int lg_apikey_build(lg_policy_t *policy);

/*
 * Finds the key whose SHA-256 is the digest of "key" and checks its
 * validity window at "now" (seconds).  *found is set whenever the key is
 * known, even when it is refused, so the reason can be logged.
 */
lg_apikey_status_e lg_apikey_lookup(const lg_policy_t *policy,
    const char *key, size_t len, int64_t now, const lg_api_key_t **found);

/* a key is printable ASCII without spaces, at most LG_APIKEY_MAX_LEN */
int lg_apikey_well_formed(const char *key, size_t len);

/* "lgk_" + 43 base64url characters of 32 random bytes; buf >= 48 */
int lg_apikey_generate(char *buf, size_t size);

void lg_sha256_hex(const char *data, size_t len, char hex[65]);

/* SHA-256 of the concatenated parts; 0, or -1 when OpenSSL failed */
int lg_sha256_parts(const lg_str_t *parts, size_t n, uint8_t digest[32]);


#endif /* _LG_APIKEY_H_INCLUDED_ */
