
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_JWS_H_INCLUDED_
#define _LG_JWS_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>

#include "lg_jwk.h"


/*
 * Compact JWS verification (RFC 7515, RFC 8725): exactly three strict
 * base64url segments, a JSON object header without duplicate members, an
 * algorithm from the caller's allow-list that also fits the key chosen by
 * kid from the caller's key set, then one signature check.  Keys named by
 * the token itself (jku, jwk, x5u, x5c) are refused, never fetched;
 * "none" in any spelling, unknown "crit" names and "b64": false too.
 */


#define LG_JWS_MAX_LEN      8192

/* lg_jws_opts_t flags */
#define LG_JWS_RAW_PAYLOAD  0x01        /* payload need not be JSON */


/*
 * Why a token was refused, for both the JWS and the claims layer.  The
 * texts are short and fixed: they go to logs and problem details and never
 * carry token or key material.
 */
typedef enum {
    LG_TOKEN_OK = 0,
    LG_TOKEN_MALFORMED,
    LG_TOKEN_TOO_LARGE,
    LG_TOKEN_BAD_ENCODING,
    LG_TOKEN_BAD_HEADER,
    LG_TOKEN_ALG_NONE,
    LG_TOKEN_ALG_UNKNOWN,
    LG_TOKEN_ALG_FORBIDDEN,
    LG_TOKEN_CRIT,
    LG_TOKEN_KEY_REFERENCE,
    LG_TOKEN_KEY_UNKNOWN,
    LG_TOKEN_KEY_AMBIGUOUS,
    LG_TOKEN_KEY_MISMATCH,
    LG_TOKEN_BAD_SIGNATURE,
    LG_TOKEN_BAD_PAYLOAD,
    LG_TOKEN_BAD_CLAIM,
    LG_TOKEN_TYP,
    LG_TOKEN_ISSUER,
    LG_TOKEN_AUDIENCE,
    LG_TOKEN_EXP_MISSING,
    LG_TOKEN_EXPIRED,
    LG_TOKEN_NOT_YET_VALID,
    LG_TOKEN_ISSUED_IN_FUTURE,
    LG_TOKEN_LIFETIME,
    LG_TOKEN_PARTNER_MISSING,
    LG_TOKEN_INTERNAL,
    LG_TOKEN_STATUS_COUNT
} lg_token_status_e;


typedef struct {
    size_t             max_len;     /* 0: LG_JWS_MAX_LEN */
    unsigned           algs;        /* LG_JWS_ALG_BIT() allow-list */
    unsigned           flags;
} lg_jws_opts_t;


typedef struct {
    lg_jws_alg_e       alg;
    const lg_jwk_t    *key;         /* the key that verified it */
    json_t            *header;
    json_t            *payload;     /* NULL with LG_JWS_RAW_PAYLOAD */
    unsigned char     *raw;         /* decoded payload */
    size_t             raw_len;
} lg_jws_t;


const char *lg_token_status_text(lg_token_status_e status);

/*
 * On LG_TOKEN_OK "jws" holds the decoded token until lg_jws_free(); on
 * any other status there is nothing to free (lg_jws_free() is harmless).
 */
lg_token_status_e lg_jws_verify(const lg_jws_opts_t *opts,
    const lg_jwk_set_t *keys, const char *token, size_t len, lg_jws_t *jws);

void lg_jws_free(lg_jws_t *jws);


#endif /* _LG_JWS_H_INCLUDED_ */
