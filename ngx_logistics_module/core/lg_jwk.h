
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_JWK_H_INCLUDED_
#define _LG_JWK_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "lg_json.h"


/*
 * JSON Web Keys (RFC 7517, 7518 section 6, 8037) turned into OpenSSL keys
 * once, when a key set is loaded: verifying a token then costs a lookup
 * by kid and one signature check, never a key parse.
 *
 * Accepted: RSA (2048 to 8192 bits, e >= 65537, no ROCA fingerprint), EC
 * on P-256, P-384 and P-521 (point checked on the curve), OKP Ed25519, and
 * oct shared secrets only when the caller allows them (an issuer with a
 * shared secret file).  Keys meant for something else ("use" other than
 * "sig", "key_ops" without "verify", an "alg" that is no JWS algorithm)
 * and unknown kty or crv values are skipped: a JWKS may carry them.
 * Malformed members and private members are errors.
 */


#define LG_JWK_MAX_KEYS      64
#define LG_JWK_MAX_KID       256
#define LG_JWK_RSA_MIN_BITS  2048
#define LG_JWK_RSA_MAX_BITS  8192
#define LG_JWK_OCT_MIN_LEN   32
#define LG_JWK_OCT_MAX_LEN   1024

/* lg_jwk_set_parse() flags */
#define LG_JWK_ALLOW_OCT     0x01


typedef enum {
    LG_JWS_ALG_UNSET = 0,
    LG_JWS_RS256,
    LG_JWS_RS384,
    LG_JWS_RS512,
    LG_JWS_PS256,
    LG_JWS_PS384,
    LG_JWS_PS512,
    LG_JWS_ES256,
    LG_JWS_ES384,
    LG_JWS_ES512,
    LG_JWS_EDDSA,
    LG_JWS_HS256,
    LG_JWS_HS384,
    LG_JWS_HS512,
    LG_JWS_ALG_COUNT
} lg_jws_alg_e;

#define LG_JWS_ALG_BIT(alg)  (1u << (alg))
#define LG_JWS_ALGS_ALL      (((1u << LG_JWS_ALG_COUNT) - 1) & ~1u)
#define LG_JWS_ALGS_HMAC     (LG_JWS_ALG_BIT(LG_JWS_HS256)                    \
                              | LG_JWS_ALG_BIT(LG_JWS_HS384)                  \
                              | LG_JWS_ALG_BIT(LG_JWS_HS512))


typedef enum {
    LG_JWK_KTY_NONE = 0,
    LG_JWK_RSA,
    LG_JWK_EC,
    LG_JWK_OKP,
    LG_JWK_OCT
} lg_jwk_kty_e;


typedef enum {
    LG_JWK_CRV_NONE = 0,
    LG_JWK_P256,
    LG_JWK_P384,
    LG_JWK_P521,
    LG_JWK_ED25519
} lg_jwk_crv_e;


typedef struct {
    char             *kid;          /* NUL-terminated; NULL when absent */
    size_t            kid_len;
    lg_jwk_kty_e      kty;
    lg_jwk_crv_e      crv;
    lg_jws_alg_e      alg;          /* the JWK's own "alg", or UNSET */
    unsigned          bits;         /* modulus, field or secret size */
    EVP_PKEY         *pkey;         /* RSA, EC, OKP */
    EVP_MAC_CTX      *hmac[3];      /* oct: keyed SHA-256/384/512 HMACs */
    size_t            secret_len;   /* oct */
    unsigned char     thumbprint[32];  /* SHA-256 of the public key (DER
                                          SubjectPublicKeyInfo), or of a
                                          label and the secret: the key
                                          itself, whatever its kid says */
} lg_jwk_t;


typedef struct {
    lg_jwk_t         *keys;
    size_t            nkeys;
    size_t            nskipped;     /* keys ignored as not for us */
} lg_jwk_set_t;


typedef enum {
    LG_JWK_FOUND = 0,
    LG_JWK_NOT_FOUND,               /* no key with that kid */
    LG_JWK_UNFIT,                   /* the kid exists, not for this alg */
    LG_JWK_AMBIGUOUS                /* several keys could verify it */
} lg_jwk_find_e;


/* "RS256" ... exactly as RFC 7518 spells them; UNSET when unknown */
lg_jws_alg_e lg_jws_alg_from_name(const char *name, size_t len);

/* the reverse; exported for the unit tests only */
const char *lg_jws_alg_name(lg_jws_alg_e alg);

/* digest name ("SHA256"...), NULL for EdDSA */
const char *lg_jws_alg_digest(lg_jws_alg_e alg);

/* digest or MAC length in bytes */
size_t lg_jws_alg_hash_len(lg_jws_alg_e alg);

/*
 * Whether "key" may verify "alg": key type, curve, own alg, secret size.
 * Exported for the unit tests only (lg_jwk_set_find() applies it).
 */
int lg_jwk_fits(const lg_jwk_t *key, lg_jws_alg_e alg);

/*
 * Parses {"keys": [...]}.  "name" prefixes error messages (a file name or
 * the JWKS URI); the set is allocated and freed with lg_jwk_set_free().
 */
lg_jwk_set_t *lg_jwk_set_parse(const char *name, const json_t *jwks,
    unsigned flags, lg_error_t *err);

/* the same from text, duplicate members rejected */
lg_jwk_set_t *lg_jwk_set_parse_buffer(const char *name, const char *buf,
    size_t len, unsigned flags, lg_error_t *err);

/* an empty set, for lg_jwk_set_add_secret() */
lg_jwk_set_t *lg_jwk_set_new(void);

/*
 * A shared secret read from a file for an HS* issuer: kid may be NULL,
 * alg UNSET (any HS* the secret is long enough for).  A set never mixes
 * secrets and public keys.
 */
int lg_jwk_set_add_secret(lg_jwk_set_t *set, const char *kid, size_t kid_len,
    lg_jws_alg_e alg, const unsigned char *secret, size_t len,
    lg_error_t *err);

void lg_jwk_set_free(lg_jwk_set_t *set);

/*
 * The key for a token: with a kid, the keys with that kid that fit alg
 * (keys without a kid are the fallback); without a kid, every key that
 * fits.  Exactly one must remain.
 */
lg_jwk_find_e lg_jwk_set_find(const lg_jwk_set_t *set, const char *kid,
    size_t kid_len, lg_jws_alg_e alg, const lg_jwk_t **key);


#endif /* _LG_JWK_H_INCLUDED_ */
