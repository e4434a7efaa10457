
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "lg_b64.h"
#include "lg_jws.h"


/* the longest coordinate: P-521, 66 bytes */
#define LG_JWS_EC_MAX      66
#define LG_JWS_DER_MAX     (3 + 2 * (2 + 1 + LG_JWS_EC_MAX))


static lg_token_status_e lg_jws_check_header(const lg_jws_opts_t *opts,
    json_t *header, lg_jws_alg_e *alg, const char **kid, size_t *kid_len);
static lg_token_status_e lg_jws_check_signature(lg_jws_alg_e alg,
    const lg_jwk_t *key, const unsigned char *input, size_t input_len,
    const unsigned char *sig, size_t sig_len);
static int lg_jws_hmac(lg_jws_alg_e alg, const lg_jwk_t *key,
    const unsigned char *input, size_t input_len, const unsigned char *sig,
    size_t sig_len);
static int lg_jws_pkey_verify(EVP_PKEY *pkey, const char *digest,
    const OSSL_PARAM *params, const unsigned char *input, size_t input_len,
    const unsigned char *sig, size_t sig_len);
static size_t lg_jws_ecdsa_der(const unsigned char *sig, size_t size,
    const unsigned char *order, unsigned char *der);
static int lg_jws_in_range(const unsigned char *v, const unsigned char *order,
    size_t size);
static size_t lg_jws_der_int(const unsigned char *v, size_t size,
    unsigned char *der);


static const char  *lg_token_texts[LG_TOKEN_STATUS_COUNT] = {
    "valid token",
    "malformed token",
    "token too large",
    "invalid base64url encoding",
    "invalid token header",
    "unsigned token",
    "unsupported algorithm",
    "algorithm not allowed",
    "unsupported critical header",
    "key reference in token header",
    "unknown signing key",
    "ambiguous signing key",
    "signing key does not fit the algorithm",
    "invalid signature",
    "invalid token payload",
    "invalid claim",
    "wrong token type",
    "issuer not accepted",
    "audience not accepted",
    "expiry missing",
    "token expired",
    "token not yet valid",
    "token issued in the future",
    "token lifetime too long",
    "partner claim missing",
    "internal error"
};


/* header members that name a key elsewhere (RFC 7515 4.1.2 to 4.1.6) */
static const char  *lg_jws_key_refs[] = { "jku", "jwk", "x5u", "x5c", NULL };


/* group orders, big-endian, at the coordinate size of each curve */

static const unsigned char  lg_jws_p256_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
    0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
};

static const unsigned char  lg_jws_p384_order[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a,
    0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73
};

static const unsigned char  lg_jws_p521_order[66] = {
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f,
    0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09,
    0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
    0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38,
    0x64, 0x09
};


const char *
lg_token_status_text(lg_token_status_e status)
{
    if ((unsigned) status >= LG_TOKEN_STATUS_COUNT) {
        return "invalid token";
    }

    return lg_token_texts[status];
}


lg_token_status_e
lg_jws_verify(const lg_jws_opts_t *opts, const lg_jwk_set_t *keys,
    const char *token, size_t len, lg_jws_t *jws)
{
    size_t              i, max, dots, dot1, dot2, hlen, plen, slen;
    size_t              hdr_len, pay_len, sig_len, kid_len;
    json_t             *header, *payload;
    const char         *kid;
    unsigned char      *buf, *pay, *hdr, *sig;
    lg_jws_alg_e        alg;
    const lg_jwk_t     *key;
    lg_token_status_e   rc;

    memset(jws, 0, sizeof(lg_jws_t));

    max = opts->max_len ? opts->max_len : LG_JWS_MAX_LEN;

    if (len > max) {
        return LG_TOKEN_TOO_LARGE;
    }

    dots = 0;
    dot1 = 0;
    dot2 = 0;

    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (++dots == 1) {
                dot1 = i;

            } else {
                dot2 = i;
            }
        }
    }

    /* the JSON serialization, nested or JWE forms: not an access token */
    if (dots != 2) {
        return LG_TOKEN_MALFORMED;
    }

    hlen = dot1;
    plen = dot2 - dot1 - 1;
    slen = len - dot2 - 1;

    /* an empty signature is left to the header and signature checks */
    if (hlen == 0) {
        return LG_TOKEN_MALFORMED;
    }

    buf = malloc(lg_b64url_decoded_max(plen) + lg_b64url_decoded_max(hlen)
                 + lg_b64url_decoded_max(slen));
    if (buf == NULL) {
        return LG_TOKEN_INTERNAL;
    }

    /* the payload first: jws->raw owns the whole buffer */
    pay = buf;

    if (lg_b64url_decode(token + dot1 + 1, plen, pay, &pay_len) != 0) {
        free(buf);
        return LG_TOKEN_BAD_ENCODING;
    }

    hdr = pay + lg_b64url_decoded_max(plen);

    if (lg_b64url_decode(token, hlen, hdr, &hdr_len) != 0) {
        free(buf);
        return LG_TOKEN_BAD_ENCODING;
    }

    sig = hdr + lg_b64url_decoded_max(hlen);

    if (lg_b64url_decode(token + dot2 + 1, slen, sig, &sig_len) != 0) {
        free(buf);
        return LG_TOKEN_BAD_ENCODING;
    }

    header = json_loadb((const char *) hdr, hdr_len, JSON_REJECT_DUPLICATES,
                        NULL);

    if (!json_is_object(header)) {
        json_decref(header);
        free(buf);
        return LG_TOKEN_BAD_HEADER;
    }

    rc = lg_jws_check_header(opts, header, &alg, &kid, &kid_len);
    if (rc != LG_TOKEN_OK) {
        goto failed;
    }

    key = NULL;

    switch (lg_jwk_set_find(keys, kid, kid_len, alg, &key)) {

    case LG_JWK_FOUND:
        break;

    case LG_JWK_NOT_FOUND:
        rc = LG_TOKEN_KEY_UNKNOWN;
        goto failed;

    case LG_JWK_AMBIGUOUS:
        rc = LG_TOKEN_KEY_AMBIGUOUS;
        goto failed;

    default:
        rc = LG_TOKEN_KEY_MISMATCH;
        goto failed;
    }

    /* the signing input is the ASCII of the first two segments */
    rc = lg_jws_check_signature(alg, key, (const unsigned char *) token, dot2,
                                sig, sig_len);
    if (rc != LG_TOKEN_OK) {
        goto failed;
    }

    /* the payload is parsed only once it is known to be the issuer's */
    payload = NULL;

    if (!(opts->flags & LG_JWS_RAW_PAYLOAD)) {
        payload = json_loadb((const char *) pay, pay_len,
                             JSON_REJECT_DUPLICATES, NULL);

        if (!json_is_object(payload)) {
            json_decref(payload);
            rc = LG_TOKEN_BAD_PAYLOAD;
            goto failed;
        }
    }

    jws->alg = alg;
    jws->key = key;
    jws->header = header;
    jws->payload = payload;
    jws->raw = pay;
    jws->raw_len = pay_len;

    return LG_TOKEN_OK;

failed:

    json_decref(header);
    free(buf);

    return rc;
}


static lg_token_status_e
lg_jws_check_header(const lg_jws_opts_t *opts, json_t *header,
    lg_jws_alg_e *alg, const char **kid, size_t *kid_len)
{
    int          i;
    size_t       len, n;
    json_t      *v, *name;
    const char  *s;

    v = json_object_get(header, "alg");

    if (!json_is_string(v)) {
        return LG_TOKEN_BAD_HEADER;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    /* RFC 8725 3.1: never "none", whatever the case */
    if (len == 4 && strncasecmp(s, "none", 4) == 0) {
        return LG_TOKEN_ALG_NONE;
    }

    *alg = lg_jws_alg_from_name(s, len);

    if (*alg == LG_JWS_ALG_UNSET) {
        return LG_TOKEN_ALG_UNKNOWN;
    }

    if (!(opts->algs & LG_JWS_ALG_BIT(*alg))) {
        return LG_TOKEN_ALG_FORBIDDEN;
    }

    /*
     * A token may not say where its key is: the issuer's key set is the
     * only source, so such a header is an attack or a misconfigured
     * signer, and either way the token is refused.
     */
    for (i = 0; lg_jws_key_refs[i] != NULL; i++) {
        if (json_object_get(header, lg_jws_key_refs[i]) != NULL) {
            return LG_TOKEN_KEY_REFERENCE;
        }
    }

    v = json_object_get(header, "crit");

    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            return LG_TOKEN_BAD_HEADER;
        }

        json_array_foreach(v, n, name) {
            if (!json_is_string(name)) {
                return LG_TOKEN_BAD_HEADER;
            }
        }

        /* no extension is understood here, so any critical one rejects */
        return LG_TOKEN_CRIT;
    }

    /* RFC 7797: an unencoded payload is not a JWT */
    v = json_object_get(header, "b64");

    if (v != NULL && !json_is_true(v)) {
        return LG_TOKEN_BAD_HEADER;
    }

    v = json_object_get(header, "typ");

    if (v != NULL && !json_is_string(v)) {
        return LG_TOKEN_BAD_HEADER;
    }

    v = json_object_get(header, "cty");

    if (v != NULL && !json_is_string(v)) {
        return LG_TOKEN_BAD_HEADER;
    }

    v = json_object_get(header, "kid");

    if (v == NULL) {
        *kid = NULL;
        *kid_len = 0;
        return LG_TOKEN_OK;
    }

    if (!json_is_string(v)) {
        return LG_TOKEN_BAD_HEADER;
    }

    *kid = json_string_value(v);
    *kid_len = json_string_length(v);

    return LG_TOKEN_OK;
}


static lg_token_status_e
lg_jws_check_signature(lg_jws_alg_e alg, const lg_jwk_t *key,
    const unsigned char *input, size_t input_len, const unsigned char *sig,
    size_t sig_len)
{
    int                   ok;
    size_t                size, der_len;
    OSSL_PARAM            params[4];
    const char           *digest;
    unsigned char         der[LG_JWS_DER_MAX];
    const unsigned char  *order;

    digest = lg_jws_alg_digest(alg);

    switch (key->kty) {

    case LG_JWK_OCT:
        ok = lg_jws_hmac(alg, key, input, input_len, sig, sig_len);
        break;

    case LG_JWK_RSA:
        /* exactly the modulus size: no leading zeros stripped or added */
        if (sig_len != (size_t) EVP_PKEY_get_size(key->pkey)) {
            ok = 0;
            break;
        }

        if (alg >= LG_JWS_PS256 && alg <= LG_JWS_PS512) {
            /* RFC 7518 3.5: MGF1 with the same hash, salt = hash size */
            params[0] = OSSL_PARAM_construct_utf8_string(
                            OSSL_SIGNATURE_PARAM_PAD_MODE,
                            (char *) OSSL_PKEY_RSA_PAD_MODE_PSS, 0);
            params[1] = OSSL_PARAM_construct_utf8_string(
                            OSSL_SIGNATURE_PARAM_MGF1_DIGEST,
                            (char *) digest, 0);
            params[2] = OSSL_PARAM_construct_utf8_string(
                            OSSL_SIGNATURE_PARAM_PSS_SALTLEN,
                            (char *) OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST, 0);
            params[3] = OSSL_PARAM_construct_end();

        } else {
            params[0] = OSSL_PARAM_construct_utf8_string(
                            OSSL_SIGNATURE_PARAM_PAD_MODE,
                            (char *) OSSL_PKEY_RSA_PAD_MODE_PKCSV15, 0);
            params[1] = OSSL_PARAM_construct_end();
        }

        ok = lg_jws_pkey_verify(key->pkey, digest, params, input, input_len,
                                sig, sig_len);
        break;

    case LG_JWK_EC:
        switch (key->crv) {
        case LG_JWK_P256:
            size = 32;
            order = lg_jws_p256_order;
            break;
        case LG_JWK_P384:
            size = 48;
            order = lg_jws_p384_order;
            break;
        default:
            size = 66;
            order = lg_jws_p521_order;
            break;
        }

        /* RFC 7518 3.4: r || s, each exactly the coordinate size */
        if (sig_len != 2 * size) {
            ok = 0;
            break;
        }

        der_len = lg_jws_ecdsa_der(sig, size, order, der);

        ok = der_len != 0
             && lg_jws_pkey_verify(key->pkey, digest, NULL, input,
                                   input_len, der, der_len);
        break;

    case LG_JWK_OKP:
        ok = sig_len == 64
             && lg_jws_pkey_verify(key->pkey, NULL, NULL, input, input_len,
                                   sig, sig_len);
        break;

    default:
        ok = 0;
        break;
    }

    return ok ? LG_TOKEN_OK : LG_TOKEN_BAD_SIGNATURE;
}


static int
lg_jws_hmac(lg_jws_alg_e alg, const lg_jwk_t *key,
    const unsigned char *input, size_t input_len, const unsigned char *sig,
    size_t sig_len)
{
    int             ok;
    size_t          len, mac_len;
    EVP_MAC_CTX    *ctx;
    unsigned char   mac[EVP_MAX_MD_SIZE];

    len = lg_jws_alg_hash_len(alg);

    /* a truncated MAC would be easier to forge */
    if (sig_len != len) {
        return 0;
    }

    /* the keyed context is copied: the key schedule is not redone */
    ctx = EVP_MAC_CTX_dup(key->hmac[alg - LG_JWS_HS256]);
    if (ctx == NULL) {
        ERR_clear_error();
        return 0;
    }

    ok = EVP_MAC_update(ctx, input, input_len) == 1
         && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1
         && mac_len == len
         && CRYPTO_memcmp(mac, sig, len) == 0;

    EVP_MAC_CTX_free(ctx);
    OPENSSL_cleanse(mac, sizeof(mac));

    if (!ok) {
        ERR_clear_error();
    }

    return ok;
}


static int
lg_jws_pkey_verify(EVP_PKEY *pkey, const char *digest,
    const OSSL_PARAM *params, const unsigned char *input, size_t input_len,
    const unsigned char *sig, size_t sig_len)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return 0;
    }

    ok = EVP_DigestVerifyInit_ex(ctx, NULL, digest, NULL, NULL, pkey,
                                 params) == 1
         && EVP_DigestVerify(ctx, sig, sig_len, input, input_len) == 1;

    EVP_MD_CTX_free(ctx);

    /* a failed check leaves reasons on the queue: not for nginx's TLS */
    if (!ok) {
        ERR_clear_error();
    }

    return ok;
}


/* 1 when 0 < v < order, both big-endian of "size" bytes */

static int
lg_jws_in_range(const unsigned char *v, const unsigned char *order,
    size_t size)
{
    size_t  i;

    for (i = 0; i < size; i++) {
        if (v[i] != 0) {
            break;
        }
    }

    if (i == size) {
        return 0;
    }

    return memcmp(v, order, size) < 0;
}


static size_t
lg_jws_der_int(const unsigned char *v, size_t size, unsigned char *der)
{
    size_t  n;

    while (size > 1 && *v == 0) {
        v++;
        size--;
    }

    n = 0;
    der[n++] = 0x02;

    if (*v & 0x80) {
        der[n++] = (unsigned char) (size + 1);
        der[n++] = 0x00;

    } else {
        der[n++] = (unsigned char) size;
    }

    memcpy(der + n, v, size);

    return n + size;
}


/*
 * JOSE carries ECDSA as raw r || s, OpenSSL verifies DER.  r and s are
 * checked to lie in [1, n - 1] first: zero values and values past the
 * order are what signature forgery tricks are made of (CVE-2022-21449).
 */

static size_t
lg_jws_ecdsa_der(const unsigned char *sig, size_t size,
    const unsigned char *order, unsigned char *der)
{
    size_t         n, len;
    unsigned char  ints[2 * (3 + LG_JWS_EC_MAX)];

    if (!lg_jws_in_range(sig, order, size)
        || !lg_jws_in_range(sig + size, order, size))
    {
        return 0;
    }

    len = lg_jws_der_int(sig, size, ints);
    len += lg_jws_der_int(sig + size, size, ints + len);

    n = 0;
    der[n++] = 0x30;

    if (len > 127) {
        der[n++] = 0x81;
    }

    der[n++] = (unsigned char) len;

    memcpy(der + n, ints, len);

    return n + len;
}


void
lg_jws_free(lg_jws_t *jws)
{
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->raw);

    memset(jws, 0, sizeof(lg_jws_t));
}
