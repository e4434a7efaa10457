
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_UNIT_TEST_JWS_SIGN_H_INCLUDED_
#define _LG_UNIT_TEST_JWS_SIGN_H_INCLUDED_


/*
 * A small independent JWS signer for the tests: fresh keys generated with
 * OpenSSL, tokens signed with EVP_DigestSign / EVP_Q_mac, public keys
 * written as JWKs.  Shared by test_jws.c and test_jwt.c; not part of the
 * core, which only ever verifies.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lg_b64.h"
#include "lg_jwk.h"


#define TJ_SIG_MAX  1100
#define TJ_FN       static __attribute__((unused))


/* RSA-PSS salt length used by tj_sign(); tests set it to forge bad ones */
static int  tj_pss_saltlen = RSA_PSS_SALTLEN_DIGEST;


TJ_FN EVP_PKEY *
tj_keygen(const char *type, const char *curve, size_t bits)
{
    EVP_PKEY  *pkey;

    if (strcmp(type, "RSA") == 0) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);

    } else if (strcmp(type, "EC") == 0) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

    } else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
    }

    if (pkey == NULL) {
        fprintf(stderr, "keygen %s failed\n", type);
        exit(2);
    }

    return pkey;
}


TJ_FN char *
tj_b64(const unsigned char *data, size_t len)
{
    char    *s;
    size_t   n;

    s = malloc(lg_b64url_encoded_len(len) + 1);
    n = lg_b64url_encode(data, len, s);
    s[n] = '\0';

    return s;
}


TJ_FN char *
tj_b64_bn(const BIGNUM *bn, int pad)
{
    int            len;
    char          *s;
    unsigned char  buf[1024];

    len = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    s = tj_b64(buf, (size_t) len);

    return s;
}


/* the public JWK of pkey as JSON text; "extra" members are appended */

TJ_FN char *
tj_jwk(EVP_PKEY *pkey, const char *kid, const char *extra)
{
    int            size;
    char          *a, *b, *out;
    size_t         len;
    BIGNUM        *x, *y;
    unsigned char  raw[64];
    char           curve[32];

    out = malloc(8192);
    a = NULL;
    b = NULL;
    x = NULL;
    y = NULL;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &y);
        a = tj_b64_bn(x, 0);
        b = tj_b64_bn(y, 0);
        snprintf(out, 8192, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\","
                 "\"e\":\"%s\"%s%s}", kid, a, b, extra ? "," : "",
                 extra ? extra : "");

    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                       curve, sizeof(curve), NULL);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        size = (EVP_PKEY_get_bits(pkey) + 7) / 8;
        a = tj_b64_bn(x, size);
        b = tj_b64_bn(y, size);
        snprintf(out, 8192, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\","
                 "\"x\":\"%s\",\"y\":\"%s\"%s%s}", kid,
                 strcmp(curve, "prime256v1") == 0 ? "P-256"
                 : strcmp(curve, "secp384r1") == 0 ? "P-384" : "P-521",
                 a, b, extra ? "," : "", extra ? extra : "");

    } else {
        len = sizeof(raw);
        EVP_PKEY_get_raw_public_key(pkey, raw, &len);
        a = tj_b64(raw, len);
        snprintf(out, 8192, "{\"kty\":\"OKP\",\"kid\":\"%s\","
                 "\"crv\":\"Ed25519\",\"x\":\"%s\"%s%s}", kid, a,
                 extra ? "," : "", extra ? extra : "");
    }

    free(a);
    free(b);
    BN_free(x);
    BN_free(y);

    return out;
}


/* signs "in" as alg would; returns the JOSE signature length */

TJ_FN size_t
tj_sign(lg_jws_alg_e alg, EVP_PKEY *pkey, const unsigned char *secret,
    size_t secret_len, const char *in, size_t in_len, unsigned char *out)
{
    int                   size;
    size_t                len;
    EVP_MD_CTX           *ctx;
    ECDSA_SIG            *ecsig;
    EVP_PKEY_CTX         *pctx;
    const BIGNUM         *r, *s;
    const char           *md;
    unsigned char         der[TJ_SIG_MAX];
    const unsigned char  *p;

    md = lg_jws_alg_digest(alg);

    if (alg >= LG_JWS_HS256) {
        len = 0;
        EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, secret, secret_len,
                  (const unsigned char *) in, in_len, out, TJ_SIG_MAX, &len);
        return len;
    }

    ctx = EVP_MD_CTX_new();
    pctx = NULL;

    if (EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) != 1) {
        fprintf(stderr, "sign init %s failed\n", lg_jws_alg_name(alg));
        exit(2);
    }

    if (alg >= LG_JWS_PS256 && alg <= LG_JWS_PS512) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, tj_pss_saltlen);
    }

    len = sizeof(der);

    if (EVP_DigestSign(ctx, der, &len, (const unsigned char *) in, in_len)
        != 1)
    {
        fprintf(stderr, "sign %s failed\n", lg_jws_alg_name(alg));
        exit(2);
    }

    EVP_MD_CTX_free(ctx);

    if (alg < LG_JWS_ES256 || alg > LG_JWS_ES512) {
        memcpy(out, der, len);
        return len;
    }

    /* DER to JOSE r || s */
    size = (EVP_PKEY_get_bits(pkey) + 7) / 8;
    p = der;
    ecsig = d2i_ECDSA_SIG(NULL, &p, (long) len);
    ECDSA_SIG_get0(ecsig, &r, &s);
    BN_bn2binpad(r, out, size);
    BN_bn2binpad(s, out + size, size);
    ECDSA_SIG_free(ecsig);

    return (size_t) size * 2;
}


/* header.payload.signature from JSON texts and raw signature bytes */

TJ_FN char *
tj_compact(const char *header, const char *payload, const unsigned char *sig,
    size_t sig_len)
{
    char    *h, *p, *s, *out;
    size_t   len;

    h = tj_b64((const unsigned char *) header, strlen(header));
    p = tj_b64((const unsigned char *) payload, strlen(payload));
    s = tj_b64(sig, sig_len);

    len = strlen(h) + strlen(p) + strlen(s) + 3;
    out = malloc(len);
    snprintf(out, len, "%s.%s.%s", h, p, s);

    free(h);
    free(p);
    free(s);

    return out;
}


/* a signed token */

TJ_FN char *
tj_token(lg_jws_alg_e alg, EVP_PKEY *pkey, const unsigned char *secret,
    size_t secret_len, const char *header, const char *payload)
{
    char           *h, *p, *in, *out;
    size_t          len, sig_len;
    unsigned char   sig[TJ_SIG_MAX];

    h = tj_b64((const unsigned char *) header, strlen(header));
    p = tj_b64((const unsigned char *) payload, strlen(payload));

    len = strlen(h) + strlen(p) + 2;
    in = malloc(len);
    snprintf(in, len, "%s.%s", h, p);

    sig_len = tj_sign(alg, pkey, secret, secret_len, in, strlen(in), sig);

    out = tj_compact(header, payload, sig, sig_len);

    free(h);
    free(p);
    free(in);

    return out;
}


/* the PEM text of a public key, for the HS256 key confusion attack */

TJ_FN char *
tj_pem(EVP_PKEY *pkey)
{
    BIO    *bio;
    char   *data, *out;
    long    len;

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    len = BIO_get_mem_data(bio, &data);

    out = malloc((size_t) len + 1);
    memcpy(out, data, (size_t) len);
    out[len] = '\0';

    BIO_free(bio);

    return out;
}


#endif /* _LG_UNIT_TEST_JWS_SIGN_H_INCLUDED_ */
