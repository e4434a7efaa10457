
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The keys of a webhook scheme: reading secret files, turning whsec_,
 * whpk_, whsk_ and plain secrets into keyed OpenSSL objects once, fresh
 * keys for onboarding, and the MAC and signed-content helpers the
 * verifier and the signer share.  Secret bytes live in OpenSSL's keyed
 * contexts only; every copy made here is cleansed.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "lg_b64.h"
#include "lg_webhook_int.h"


static int lg_webhook_add_hmac(lg_webhook_t *wh, const unsigned char *key,
    size_t len, lg_error_t *err);
static int lg_webhook_add_standard(lg_webhook_t *wh,
    const unsigned char *data, size_t len, lg_error_t *err);
static int lg_webhook_add_ed25519(lg_webhook_t *wh, lg_webhook_key_e kind,
    const unsigned char *raw, size_t len, lg_error_t *err);
static const lg_str_t *lg_webhook_part_value(const lg_webhook_part_t *part,
    const lg_str_t *id, const lg_str_t *ts);


/* HMAC is fetched once per process; each key keys its own context */
static EVP_MAC  *lg_webhook_hmac;


static int
lg_webhook_add_hmac(lg_webhook_t *wh, const unsigned char *key, size_t len,
    lg_error_t *err)
{
    OSSL_PARAM         params[2];
    lg_webhook_key_t  *k;

    if (lg_webhook_hmac == NULL) {
        lg_webhook_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

        if (lg_webhook_hmac == NULL) {
            ERR_clear_error();
            return lg_webhook_error(err, "OpenSSL has no HMAC");
        }
    }

    k = &wh->keys[wh->nkeys];

    k->kind = LG_WEBHOOK_KEY_HMAC;
    k->mac = EVP_MAC_CTX_new(lg_webhook_hmac);

    if (k->mac == NULL) {
        ERR_clear_error();
        return lg_webhook_error(err, "out of memory");
    }

    params[0] = OSSL_PARAM_construct_utf8_string(
                    OSSL_MAC_PARAM_DIGEST,
                    wh->digest == LG_WEBHOOK_SHA512 ? "SHA512" : "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(k->mac, key, len, params) != 1) {
        ERR_clear_error();
        lg_webhook_key_free(k);
        return lg_webhook_error(err, "cannot set up HMAC");
    }

    wh->nkeys++;
    wh->nhmac++;

    return 0;
}


static int
lg_webhook_add_ed25519(lg_webhook_t *wh, lg_webhook_key_e kind,
    const unsigned char *raw, size_t len, lg_error_t *err)
{
    size_t             pub_len;
    unsigned char      pub[LG_WEBHOOK_ED25519_KEY];
    lg_webhook_key_t  *k;

    if (wh->nkeys - wh->nhmac == LG_WEBHOOK_MAX_ED25519) {
        return lg_webhook_error(err, "more than %d ed25519 keys (one "
                                "current, one being rotated)",
                                LG_WEBHOOK_MAX_ED25519);
    }

    k = &wh->keys[wh->nkeys];
    k->kind = kind;

    if (kind == LG_WEBHOOK_KEY_ED25519_PUBLIC) {
        if (len != LG_WEBHOOK_ED25519_KEY) {
            return lg_webhook_error(err, "a whpk_ key is 32 bytes in base64, "
                                    "not %zu", len);
        }

        k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
                                              len);

    } else {
        /* the 32-byte seed, or seed and public key as libsodium keeps it */

        if (len != LG_WEBHOOK_ED25519_KEY
            && len != 2 * LG_WEBHOOK_ED25519_KEY)
        {
            return lg_webhook_error(err, "a whsk_ key is a 32-byte seed (or "
                                    "seed and public key) in base64, not "
                                    "%zu bytes", len);
        }

        k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw,
                                               LG_WEBHOOK_ED25519_KEY);

        if (k->pkey != NULL && len == 2 * LG_WEBHOOK_ED25519_KEY) {
            pub_len = sizeof(pub);

            if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &pub_len) != 1
                || pub_len != sizeof(pub)
                || memcmp(pub, raw + LG_WEBHOOK_ED25519_KEY, sizeof(pub))
                   != 0)
            {
                ERR_clear_error();
                lg_webhook_key_free(k);
                return lg_webhook_error(err, "the whsk_ key's public half "
                                        "does not belong to its seed");
            }
        }
    }

    if (k->pkey == NULL) {
        ERR_clear_error();
        return lg_webhook_error(err, "not an ed25519 key");
    }

    wh->nkeys++;

    return 0;
}


static int
lg_webhook_add_standard(lg_webhook_t *wh, const unsigned char *data,
    size_t len, lg_error_t *err)
{
    int                rc;
    size_t             n, plen;
    const char        *s;
    unsigned char      raw[lg_b64_decoded_max(LG_WEBHOOK_MAX_SECRET_FILE)];
    lg_webhook_key_e   kind;

    s = (const char *) data;

    if (len > 6 && memcmp(s, "whsec_", 6) == 0) {
        kind = LG_WEBHOOK_KEY_HMAC;
        plen = 6;

    } else if (len > 5 && memcmp(s, "whpk_", 5) == 0) {
        kind = LG_WEBHOOK_KEY_ED25519_PUBLIC;
        plen = 5;

    } else if (len > 5 && memcmp(s, "whsk_", 5) == 0) {
        kind = LG_WEBHOOK_KEY_ED25519_PRIVATE;
        plen = 5;

    } else {
        return lg_webhook_error(err, "a Standard Webhooks secret is "
                                "\"whsec_\", \"whpk_\" or \"whsk_\" and "
                                "base64");
    }

    if (kind == LG_WEBHOOK_KEY_ED25519_PUBLIC
        && wh->purpose == LG_WEBHOOK_SIGN)
    {
        return lg_webhook_error(err, "a whpk_ public key cannot sign; the "
                                "signing key is whsk_");
    }

    if (kind == LG_WEBHOOK_KEY_ED25519_PRIVATE
        && wh->purpose == LG_WEBHOOK_VERIFY)
    {
        return lg_webhook_error(err, "a whsk_ signing key stays with the "
                                "sender; verifying takes its whpk_ public "
                                "key");
    }

    if (len - plen > LG_WEBHOOK_MAX_SECRET_FILE
        || lg_b64_decode(s + plen, len - plen, raw, &n) != 0)
    {
        return lg_webhook_error(err, "the key after \"%.*s\" is not "
                                "canonical padded base64", (int) plen, s);
    }

    if (kind == LG_WEBHOOK_KEY_HMAC) {
        if (n < LG_WEBHOOK_MIN_WHSEC || n > LG_WEBHOOK_MAX_WHSEC) {
            rc = lg_webhook_error(err, "a whsec_ secret is %d to %d bytes, "
                                  "not %zu", LG_WEBHOOK_MIN_WHSEC,
                                  LG_WEBHOOK_MAX_WHSEC, n);

        } else {
            rc = lg_webhook_add_hmac(wh, raw, n, err);
        }

    } else {
        rc = lg_webhook_add_ed25519(wh, kind, raw, n, err);
    }

    OPENSSL_cleanse(raw, sizeof(raw));

    return rc;
}


int
lg_webhook_add_secret(lg_webhook_t *wh, const unsigned char *data,
    size_t len, lg_error_t *err)
{
    if (wh->nkeys == LG_WEBHOOK_MAX_SECRETS) {
        return lg_webhook_error(err, "more than %d secrets",
                                LG_WEBHOOK_MAX_SECRETS);
    }

    if (len == 0) {
        return lg_webhook_error(err, "the secret is empty");
    }

    if (wh->scheme == LG_WEBHOOK_STANDARD) {
        return lg_webhook_add_standard(wh, data, len, err);
    }

    /* Stripe, GitHub and carriers key the HMAC with the string itself */

    if (len < LG_WEBHOOK_MIN_SECRET || len > LG_WEBHOOK_MAX_SECRET) {
        return lg_webhook_error(err, "the secret must be %d to %d bytes, not "
                                "%zu", LG_WEBHOOK_MIN_SECRET,
                                LG_WEBHOOK_MAX_SECRET, len);
    }

    return lg_webhook_add_hmac(wh, data, len, err);
}


int
lg_webhook_add_secret_file(lg_webhook_t *wh, const char *path,
    lg_error_t *err)
{
    int            rc;
    FILE          *f;
    size_t         n;
    struct stat    st;
    char           reason[sizeof(err->text)];
    unsigned char  buf[LG_WEBHOOK_MAX_SECRET_FILE + 1];

    f = fopen(path, "rb");

    if (f == NULL) {
        return lg_webhook_error(err, "cannot open \"%s\": %s", path,
                                strerror(errno));
    }

    /* never read a device, a FIFO or a directory */

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lg_webhook_error(err, "\"%s\" is not a regular file", path);
    }

    if (st.st_size > LG_WEBHOOK_MAX_SECRET_FILE) {
        fclose(f);
        return lg_webhook_error(err, "\"%s\" is larger than %d bytes", path,
                                LG_WEBHOOK_MAX_SECRET_FILE);
    }

    /* the file may have grown since fstat(): read one byte more */

    n = fread(buf, 1, sizeof(buf), f);
    rc = ferror(f);
    fclose(f);

    if (rc) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return lg_webhook_error(err, "cannot read \"%s\"", path);
    }

    if (n > LG_WEBHOOK_MAX_SECRET_FILE) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return lg_webhook_error(err, "\"%s\" is larger than %d bytes", path,
                                LG_WEBHOOK_MAX_SECRET_FILE);
    }

    /* one trailing newline is the editor's, not the secret's */

    if (n > 0 && buf[n - 1] == '\n') {
        n--;

        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }

    if (n == 0) {
        return lg_webhook_error(err, "\"%s\" is empty", path);
    }

    rc = lg_webhook_add_secret(wh, buf, n, err);

    OPENSSL_cleanse(buf, sizeof(buf));

    if (rc != 0) {
        /* the reason alone names no file */
        memcpy(reason, err->text, sizeof(reason));
        (void) lg_webhook_error(err, "\"%s\": %s", path, reason);
    }

    return rc;
}


size_t
lg_webhook_nsecrets(const lg_webhook_t *wh)
{
    return wh->nkeys;
}


void
lg_webhook_key_free(lg_webhook_key_t *key)
{
    EVP_MAC_CTX_free(key->mac);
    EVP_PKEY_free(key->pkey);

    key->mac = NULL;
    key->pkey = NULL;
}


int
lg_webhook_generate_secret(char *buf, size_t size)
{
    unsigned char  raw[32];

    if (size < LG_WEBHOOK_KEYGEN_MAX || RAND_bytes(raw, sizeof(raw)) != 1) {
        ERR_clear_error();
        return -1;
    }

    memcpy(buf, "whsec_", 6);
    buf[6 + lg_b64_encode(raw, sizeof(raw), buf + 6)] = '\0';

    OPENSSL_cleanse(raw, sizeof(raw));

    return 0;
}


int
lg_webhook_generate_keypair(char *sk, char *pk, size_t size)
{
    int             rc;
    size_t          n;
    EVP_PKEY       *pkey;
    EVP_PKEY_CTX   *ctx;
    unsigned char   raw[LG_WEBHOOK_ED25519_KEY];

    if (size < LG_WEBHOOK_KEYGEN_MAX) {
        return -1;
    }

    pkey = NULL;
    rc = -1;

    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1
        || EVP_PKEY_keygen(ctx, &pkey) != 1)
    {
        goto done;
    }

    n = sizeof(raw);

    if (EVP_PKEY_get_raw_private_key(pkey, raw, &n) != 1 || n != sizeof(raw))
    {
        goto done;
    }

    memcpy(sk, "whsk_", 5);
    sk[5 + lg_b64_encode(raw, n, sk + 5)] = '\0';

    n = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1 || n != sizeof(raw)) {
        OPENSSL_cleanse(sk, size);
        goto done;
    }

    memcpy(pk, "whpk_", 5);
    pk[5 + lg_b64_encode(raw, n, pk + 5)] = '\0';

    rc = 0;

done:

    OPENSSL_cleanse(raw, sizeof(raw));
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


/* the value a part contributes to the signed content */

static const lg_str_t *
lg_webhook_part_value(const lg_webhook_part_t *part, const lg_str_t *id,
    const lg_str_t *ts)
{
    switch (part->type) {

    case LG_WEBHOOK_PART_ID:
        return id;

    case LG_WEBHOOK_PART_TIMESTAMP:
        return ts;

    default:
        return &part->text;
    }
}


int
lg_webhook_mac(const lg_webhook_t *wh, const lg_webhook_key_t *key,
    const lg_str_t *id, const lg_str_t *ts, const unsigned char *body,
    size_t len, unsigned char *mac)
{
    int              ok;
    size_t           i, mac_len;
    EVP_MAC_CTX     *ctx;
    const lg_str_t  *v;

    ctx = EVP_MAC_CTX_dup(key->mac);
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    ok = 1;

    for (i = 0; ok && i < wh->nparts; i++) {
        if (wh->parts[i].type == LG_WEBHOOK_PART_BODY) {
            ok = EVP_MAC_update(ctx, body, len) == 1;
            continue;
        }

        v = lg_webhook_part_value(&wh->parts[i], id, ts);

        ok = EVP_MAC_update(ctx, (const unsigned char *) v->data, v->len)
             == 1;
    }

    ok = ok && EVP_MAC_final(ctx, mac, &mac_len, LG_WEBHOOK_MAX_MAC) == 1
         && mac_len == wh->mac_len;

    EVP_MAC_CTX_free(ctx);

    if (!ok) {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


unsigned char *
lg_webhook_content(const lg_webhook_t *wh, const lg_str_t *id,
    const lg_str_t *ts, const unsigned char *body, size_t len,
    size_t *content_len)
{
    size_t           i, total;
    unsigned char   *buf, *p;
    const lg_str_t  *v;

    total = len;

    for (i = 0; i < wh->nparts; i++) {
        if (wh->parts[i].type != LG_WEBHOOK_PART_BODY) {
            /* each part is bounded by the header limits: no overflow */
            total += lg_webhook_part_value(&wh->parts[i], id, ts)->len;
        }
    }

    if (total < len) {
        return NULL;
    }

    buf = malloc(total ? total : 1);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;

    for (i = 0; i < wh->nparts; i++) {
        if (wh->parts[i].type == LG_WEBHOOK_PART_BODY) {
            if (len) {
                memcpy(p, body, len);
                p += len;
            }

            continue;
        }

        v = lg_webhook_part_value(&wh->parts[i], id, ts);

        if (v->len) {
            memcpy(p, v->data, v->len);
            p += v->len;
        }
    }

    *content_len = total;

    return buf;
}


void
lg_webhook_hex_encode(const unsigned char *src, size_t len, char *dst)
{
    size_t             i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        dst[2 * i] = hex[src[i] >> 4];
        dst[2 * i + 1] = hex[src[i] & 0x0f];
    }
}


int
lg_webhook_hex_decode(const char *src, size_t len, unsigned char *dst,
    size_t dst_len)
{
    int     c, v, hi;
    size_t  i;

    if (len != 2 * dst_len) {
        return -1;
    }

    hi = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;

        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;

        } else {
            return -1;
        }

        if (i % 2 == 0) {
            hi = v;

        } else {
            dst[i / 2] = (unsigned char) (hi << 4 | v);
        }
    }

    return 0;
}
