
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Verifying what a webhook sender sent.  Everything here reads untrusted
 * bytes, so the order is: header presence, sizes and syntax (cheap, and
 * bounded by LG_WEBHOOK_MAX_HEADER and LG_WEBHOOK_MAX_SIGNATURES), then
 * the timestamp window, then at most one MAC per key and a constant-time
 * comparison per listed signature; ed25519 only when some v1a signature
 * and some whpk_ key are there to be checked.
 */


#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "lg_b64.h"
#include "lg_webhook_int.h"


/* the signatures a header lists, decoded ("sig" last: not zeroed) */
typedef struct {
    unsigned                ed25519;   /* bit per entry: a v1a one */
    size_t                  n;
    size_t                  malformed;
    size_t                  ned25519;  /* of them, v1a */
    size_t                  unchecked; /* other versions, v1a over the
                                          limit */
    lg_str_t                ts;        /* Stripe's t= */
    unsigned                has_ts:1;
    char                    why[96];   /* the first malformed entry */
    unsigned char           sig[LG_WEBHOOK_MAX_SIGNATURES]
                               [LG_WEBHOOK_MAX_MAC];
} lg_webhook_sigs_t;


static lg_webhook_status_e lg_webhook_refuse(lg_webhook_result_t *res,
    lg_webhook_status_e status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void lg_webhook_malformed(lg_webhook_sigs_t *sigs, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static lg_webhook_status_e lg_webhook_parse_standard(const lg_webhook_t *wh,
    const lg_str_t *value, lg_webhook_sigs_t *sigs,
    lg_webhook_result_t *res);
static lg_webhook_status_e lg_webhook_parse_stripe(const lg_webhook_t *wh,
    const lg_str_t *value, lg_webhook_sigs_t *sigs,
    lg_webhook_result_t *res);
static lg_webhook_status_e lg_webhook_parse_single(const lg_webhook_t *wh,
    const lg_str_t *value, lg_webhook_sigs_t *sigs,
    lg_webhook_result_t *res);
static lg_webhook_status_e lg_webhook_parse_timestamp(const lg_str_t *s,
    int64_t *ts, lg_webhook_result_t *res);
static int lg_webhook_decode(lg_webhook_encoding_e encoding, const char *s,
    size_t len, unsigned char *dst, size_t dst_len);
static int lg_webhook_ed25519_verify(const lg_webhook_key_t *key,
    const unsigned char *sig, const unsigned char *content, size_t len);
static int lg_webhook_digest_id(const unsigned char *body, size_t len,
    lg_webhook_result_t *res);
static lg_webhook_status_e lg_webhook_read_headers(const lg_webhook_t *wh,
    const lg_webhook_input_t *in, lg_webhook_result_t *res);
static lg_webhook_status_e lg_webhook_check_time(const lg_webhook_t *wh,
    const lg_webhook_input_t *in, const lg_webhook_sigs_t *sigs, int64_t now,
    lg_str_t *tstext, lg_webhook_result_t *res);
static int lg_webhook_match(const lg_webhook_t *wh,
    const lg_webhook_sigs_t *sigs, const lg_str_t *id, const lg_str_t *ts,
    const unsigned char *body, size_t len);


static lg_webhook_status_e
lg_webhook_refuse(lg_webhook_result_t *res, lg_webhook_status_e status,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, args);
    va_end(args);

    return status;
}


static void
lg_webhook_malformed(lg_webhook_sigs_t *sigs, const char *fmt, ...)
{
    va_list  args;

    if (sigs->malformed++ > 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(sigs->why, sizeof(sigs->why), fmt, args);
    va_end(args);
}


/* exactly dst_len bytes in the scheme's encoding, strictly */

static int
lg_webhook_decode(lg_webhook_encoding_e encoding, const char *s, size_t len,
    unsigned char *dst, size_t dst_len)
{
    size_t         n;
    unsigned char  buf[lg_b64_decoded_max(
                           lg_b64_encoded_len(LG_WEBHOOK_MAX_MAC))];

    /*
     * the length is that of the padded encoding, but the same number of
     * characters without padding decodes to up to two bytes more
     */

    if (encoding == LG_WEBHOOK_HEX) {
        return lg_webhook_hex_decode(s, len, dst, dst_len);
    }

    if (len != lg_b64_encoded_len(dst_len)
        || lg_b64_decode(s, len, buf, &n) != 0
        || n != dst_len)
    {
        return -1;
    }

    memcpy(dst, buf, n);

    return 0;
}


/*
 * "v1,<base64> v1a,<base64> v2,...": space-separated entries; versions
 * other than v1 and v1a are skipped (a sender may add newer ones), a v1
 * or v1a that does not decode is counted and skipped, so one bad entry
 * does not hide a good one.
 */

static lg_webhook_status_e
lg_webhook_parse_standard(const lg_webhook_t *wh, const lg_str_t *value,
    lg_webhook_sigs_t *sigs, lg_webhook_result_t *res)
{
    size_t       n, entry, vlen;
    const char  *p, *end, *tok, *comma;

    p = value->data;
    end = p + value->len;
    entry = 0;

    while (p < end) {
        if (*p == ' ') {
            p++;
            continue;
        }

        tok = p;

        while (p < end && *p != ' ') {
            p++;
        }

        if (++entry > LG_WEBHOOK_MAX_SIGNATURES) {
            return lg_webhook_refuse(res, LG_WEBHOOK_TOO_MANY_SIGNATURES,
                                     "more than %d entries in "
                                     "webhook-signature",
                                     LG_WEBHOOK_MAX_SIGNATURES);
        }

        comma = memchr(tok, ',', p - tok);

        if (comma == NULL) {
            lg_webhook_malformed(sigs, "entry %zu is not \"version,"
                                 "signature\"", entry);
            continue;
        }

        vlen = comma - tok;
        n = p - comma - 1;

        if (vlen == 2 && memcmp(tok, "v1", 2) == 0) {
            if (lg_webhook_decode(LG_WEBHOOK_BASE64, comma + 1, n,
                                  sigs->sig[sigs->n], 32)
                != 0)
            {
                lg_webhook_malformed(sigs, "entry %zu: v1 is not 32 bytes "
                                     "in canonical padded base64", entry);
                continue;
            }

            sigs->n++;

        } else if (vlen == 3 && memcmp(tok, "v1a", 3) == 0) {

            /*
             * an ed25519 check costs some 30 HMACs of a 1 KB body: a
             * rotation needs two signatures, a forger gets no more
             */

            if (sigs->ned25519 == LG_WEBHOOK_MAX_V1A) {
                sigs->unchecked++;
                continue;
            }

            if (lg_webhook_decode(LG_WEBHOOK_BASE64, comma + 1, n,
                                  sigs->sig[sigs->n], LG_WEBHOOK_ED25519_SIG)
                != 0)
            {
                lg_webhook_malformed(sigs, "entry %zu: v1a is not 64 bytes "
                                     "in canonical padded base64", entry);
                continue;
            }

            sigs->ed25519 |= 1u << sigs->n;
            sigs->ned25519++;
            sigs->n++;

        } else {
            sigs->unchecked++;
        }
    }

    if (entry == 0) {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                 "webhook-signature is empty");
    }

    return LG_WEBHOOK_OK;
}


/*
 * "t=<ts>,v1=<hex>,v1=<hex>,v0=<hex>": comma-separated key=value items,
 * one t, any number of v1 (several while Stripe rolls a secret); other
 * keys (v0, test-mode signatures) are skipped.
 */

static lg_webhook_status_e
lg_webhook_parse_stripe(const lg_webhook_t *wh, const lg_str_t *value,
    lg_webhook_sigs_t *sigs, lg_webhook_result_t *res)
{
    size_t       item;
    const char  *p, *end, *tok, *eq, *next;

    next = value->data;
    end = next + value->len;
    item = 0;

    while (next != NULL) {
        tok = next;
        p = memchr(tok, ',', end - tok);

        if (p == NULL) {
            p = end;
            next = NULL;

        } else {
            next = p + 1;
        }

        if (++item > 2 * LG_WEBHOOK_MAX_SIGNATURES) {
            return lg_webhook_refuse(res, LG_WEBHOOK_TOO_MANY_SIGNATURES,
                                     "more than %d items in Stripe-Signature",
                                     2 * LG_WEBHOOK_MAX_SIGNATURES);
        }

        eq = memchr(tok, '=', p - tok);

        if (eq == NULL || eq == tok) {
            return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                     "item %zu of Stripe-Signature is not "
                                     "key=value", item);
        }

        if (eq - tok == 1 && tok[0] == 't') {
            if (sigs->has_ts) {
                return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                         "Stripe-Signature has two t= "
                                         "items");
            }

            sigs->has_ts = 1;
            sigs->ts.data = eq + 1;
            sigs->ts.len = p - eq - 1;

        } else if (eq - tok == 2 && tok[0] == 'v' && tok[1] == '1') {
            if (sigs->n == LG_WEBHOOK_MAX_SIGNATURES) {
                return lg_webhook_refuse(res, LG_WEBHOOK_TOO_MANY_SIGNATURES,
                                         "more than %d v1= items in "
                                         "Stripe-Signature",
                                         LG_WEBHOOK_MAX_SIGNATURES);
            }

            if (lg_webhook_hex_decode(eq + 1, p - eq - 1,
                                      sigs->sig[sigs->n], wh->mac_len)
                != 0)
            {
                lg_webhook_malformed(sigs, "item %zu: v1 is not %zu hex "
                                     "digits", item, 2 * wh->mac_len);

            } else {
                sigs->n++;
            }

        } else {
            sigs->unchecked++;
        }
    }

    return LG_WEBHOOK_OK;
}


/* "<prefix><encoded MAC>": GitHub's "sha256=<hex>", a carrier's own */

static lg_webhook_status_e
lg_webhook_parse_single(const lg_webhook_t *wh, const lg_str_t *value,
    lg_webhook_sigs_t *sigs, lg_webhook_result_t *res)
{
    const char  *name;

    name = wh->header[LG_WEBHOOK_H_SIGNATURE].data;

    if (value->len < wh->prefix.len
        || memcmp(value->data, wh->prefix.data, wh->prefix.len) != 0)
    {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                 "%.*s does not start with \"%.*s\"",
                                 (int) wh->header[LG_WEBHOOK_H_SIGNATURE].len,
                                 name, (int) wh->prefix.len,
                                 wh->prefix.data);
    }

    if (lg_webhook_decode(wh->encoding, value->data + wh->prefix.len,
                          value->len - wh->prefix.len, sigs->sig[0],
                          wh->mac_len)
        != 0)
    {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                 "%.*s is not %zu bytes in %s",
                                 (int) wh->header[LG_WEBHOOK_H_SIGNATURE].len,
                                 name, wh->mac_len,
                                 wh->encoding == LG_WEBHOOK_HEX
                                 ? "hex" : "canonical padded base64");
    }

    sigs->n = 1;

    return LG_WEBHOOK_OK;
}


/*
 * Unix seconds: digits only, no sign, no leading zero, at most 12 digits,
 * so the signed text and the number checked are one and the same.
 */

static lg_webhook_status_e
lg_webhook_parse_timestamp(const lg_str_t *s, int64_t *ts,
    lg_webhook_result_t *res)
{
    size_t   i;
    int64_t  v;

    if (s->len == 0) {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_TIMESTAMP,
                                 "the timestamp is empty");
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_TIMESTAMP,
                                     "the timestamp is not unix seconds "
                                     "in digits");
        }
    }

    if (s->len > 1 && s->data[0] == '0') {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_TIMESTAMP,
                                 "the timestamp has a leading zero");
    }

    if (s->len > LG_WEBHOOK_MAX_TS_DIGITS) {
        return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_TIMESTAMP,
                                 "the timestamp has more than %d digits",
                                 LG_WEBHOOK_MAX_TS_DIGITS);
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        v = v * 10 + (s->data[i] - '0');
    }

    *ts = v;

    return LG_WEBHOOK_OK;
}


static int
lg_webhook_ed25519_verify(const lg_webhook_key_t *key,
    const unsigned char *sig, const unsigned char *content, size_t len)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1
         && EVP_DigestVerify(ctx, sig, LG_WEBHOOK_ED25519_SIG, content, len)
            == 1;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return ok;
}


static int
lg_webhook_digest_id(const unsigned char *body, size_t len,
    lg_webhook_result_t *res)
{
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(body, len, md, &md_len, EVP_sha256(), NULL) != 1) {
        ERR_clear_error();
        return -1;
    }

    memcpy(res->digest_id, "sha256-", 7);
    lg_webhook_hex_encode(md, md_len, res->digest_id + 7);
    res->digest_id[7 + 2 * md_len] = '\0';

    res->key.data = res->digest_id;
    res->key.len = 7 + 2 * md_len;

    return 0;
}


/* presence, duplicates and sizes of the scheme's headers, and the id */

static lg_webhook_status_e
lg_webhook_read_headers(const lg_webhook_t *wh, const lg_webhook_input_t *in,
    lg_webhook_result_t *res)
{
    size_t           i;
    const lg_str_t  *name, *id;

    for (i = 0; i < LG_WEBHOOK_NHEADERS; i++) {
        name = &wh->header[i];

        if (name->len == 0) {
            continue;
        }

        if (in->duplicate & (1u << i)) {
            return lg_webhook_refuse(res, LG_WEBHOOK_DUPLICATE_HEADER,
                                     "more than one %.*s header",
                                     (int) name->len, name->data);
        }

        if ((in->present & (1u << i))
            && in->value[i].len > LG_WEBHOOK_MAX_HEADER)
        {
            return lg_webhook_refuse(res, LG_WEBHOOK_HEADER_TOO_LONG,
                                     "%.*s is longer than %d bytes",
                                     (int) name->len, name->data,
                                     LG_WEBHOOK_MAX_HEADER);
        }
    }

    name = &wh->header[LG_WEBHOOK_H_ID];

    if (name->len) {
        if (!(in->present & (1u << LG_WEBHOOK_H_ID))) {
            return lg_webhook_refuse(res, LG_WEBHOOK_MISSING_ID,
                                     "no %.*s header", (int) name->len,
                                     name->data);
        }

        id = &in->value[LG_WEBHOOK_H_ID];

        if (!lg_webhook_id_valid(wh->scheme, id->data, id->len)) {
            return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_ID,
                                     "%.*s is not 1 to %d visible "
                                     "characters%s", (int) name->len,
                                     name->data, LG_WEBHOOK_MAX_ID,
                                     wh->scheme == LG_WEBHOOK_STANDARD
                                     ? " without \".\"" : "");
        }

        res->id = *id;
    }

    name = &wh->header[LG_WEBHOOK_H_SIGNATURE];

    if (!(in->present & (1u << LG_WEBHOOK_H_SIGNATURE))) {
        return lg_webhook_refuse(res, LG_WEBHOOK_MISSING_SIGNATURE,
                                 "no %.*s header", (int) name->len,
                                 name->data);
    }

    return LG_WEBHOOK_OK;
}


/* the timestamp, from its header or Stripe's t=, within the tolerance */

static lg_webhook_status_e
lg_webhook_check_time(const lg_webhook_t *wh, const lg_webhook_input_t *in,
    const lg_webhook_sigs_t *sigs, int64_t now, lg_str_t *tstext,
    lg_webhook_result_t *res)
{
    int64_t               ts;
    const lg_str_t       *name;
    lg_webhook_status_e   status;

    name = &wh->header[LG_WEBHOOK_H_TIMESTAMP];
    ts = 0;

    if (wh->list == LG_WEBHOOK_LIST_STRIPE) {
        if (!sigs->has_ts) {
            return lg_webhook_refuse(res, LG_WEBHOOK_MISSING_TIMESTAMP,
                                     "Stripe-Signature has no t= item");
        }

        *tstext = sigs->ts;

    } else if (!(in->present & (1u << LG_WEBHOOK_H_TIMESTAMP))) {
        return lg_webhook_refuse(res, LG_WEBHOOK_MISSING_TIMESTAMP,
                                 "no %.*s header", (int) name->len,
                                 name->data);

    } else {
        *tstext = in->value[LG_WEBHOOK_H_TIMESTAMP];
    }

    status = lg_webhook_parse_timestamp(tstext, &ts, res);
    if (status != LG_WEBHOOK_OK) {
        return status;
    }

    res->timestamp = ts;

    if (now - ts > wh->tolerance) {
        return lg_webhook_refuse(res, LG_WEBHOOK_TIMESTAMP_TOO_OLD,
                                 "the timestamp is %lld s old, tolerance "
                                 "%lld s", (long long) (now - ts),
                                 (long long) wh->tolerance);
    }

    if (ts - now > wh->tolerance) {
        return lg_webhook_refuse(res, LG_WEBHOOK_TIMESTAMP_IN_FUTURE,
                                 "the timestamp is %lld s ahead, tolerance "
                                 "%lld s", (long long) (ts - now),
                                 (long long) wh->tolerance);
    }

    return LG_WEBHOOK_OK;
}


/*
 * One MAC per HMAC key, compared with every listed HMAC signature; then,
 * only if none matched, every v1a signature with every ed25519 key.
 * Returns the index of the key that verified, -1 for none, -2 when
 * OpenSSL or malloc() failed.
 */

static int
lg_webhook_match(const lg_webhook_t *wh, const lg_webhook_sigs_t *sigs,
    const lg_str_t *id, const lg_str_t *ts, const unsigned char *body,
    size_t len)
{
    int             rc, found;
    size_t          i, j, content_len;
    unsigned char  *content, mac[LG_WEBHOOK_MAX_MAC];

    found = -1;

    for (i = 0; sigs->n > sigs->ned25519 && i < wh->nkeys && found < 0; i++)
    {
        if (wh->keys[i].kind != LG_WEBHOOK_KEY_HMAC) {
            continue;
        }

        if (lg_webhook_mac(wh, &wh->keys[i], id, ts, body, len, mac) != 0) {
            return -2;
        }

        for (j = 0; j < sigs->n; j++) {
            if (!((sigs->ed25519 >> j) & 1)
                && CRYPTO_memcmp(mac, sigs->sig[j], wh->mac_len) == 0)
            {
                found = (int) i;
                break;
            }
        }
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    if (found >= 0 || sigs->ned25519 == 0 || wh->nkeys == wh->nhmac) {
        return found;
    }

    content = lg_webhook_content(wh, id, ts, body, len, &content_len);
    if (content == NULL) {
        return -2;
    }

    for (i = 0; i < wh->nkeys && found < 0; i++) {
        if (wh->keys[i].kind == LG_WEBHOOK_KEY_HMAC) {
            continue;
        }

        for (j = 0; j < sigs->n; j++) {
            if (!((sigs->ed25519 >> j) & 1)) {
                continue;
            }

            rc = lg_webhook_ed25519_verify(&wh->keys[i], sigs->sig[j],
                                           content, content_len);

            if (rc < 0) {
                found = -2;
                break;
            }

            if (rc == 1) {
                found = (int) i;
                break;
            }
        }
    }

    free(content);

    return found;
}


lg_webhook_status_e
lg_webhook_verify(const lg_webhook_t *wh, const lg_webhook_input_t *in,
    const unsigned char *body, size_t len, int64_t now,
    lg_webhook_result_t *res)
{
    size_t               nhmac_sigs, ned_keys;
    lg_str_t             tstext, none;
    const lg_str_t      *id, *sig;
    lg_webhook_sigs_t    sigs;
    lg_webhook_status_e  status;

    memset(res, 0, sizeof(lg_webhook_result_t));
    res->timestamp = -1;
    res->secret = -1;

    status = lg_webhook_read_headers(wh, in, res);
    if (status != LG_WEBHOOK_OK) {
        return status;
    }

    none.data = "";
    none.len = 0;

    id = wh->header[LG_WEBHOOK_H_ID].len ? &in->value[LG_WEBHOOK_H_ID] : &none;
    sig = &in->value[LG_WEBHOOK_H_SIGNATURE];

    memset(&sigs, 0, offsetof(lg_webhook_sigs_t, sig));

    switch (wh->list) {

    case LG_WEBHOOK_LIST_STANDARD:
        status = lg_webhook_parse_standard(wh, sig, &sigs, res);
        break;

    case LG_WEBHOOK_LIST_STRIPE:
        status = lg_webhook_parse_stripe(wh, sig, &sigs, res);
        break;

    default:
        status = lg_webhook_parse_single(wh, sig, &sigs, res);
        break;
    }

    if (status != LG_WEBHOOK_OK) {
        return status;
    }

    tstext = none;

    if (wh->tolerance > 0) {
        status = lg_webhook_check_time(wh, in, &sigs, now, &tstext, res);
        if (status != LG_WEBHOOK_OK) {
            return status;
        }
    }

    nhmac_sigs = sigs.n - sigs.ned25519;
    ned_keys = wh->nkeys - wh->nhmac;

    if ((nhmac_sigs == 0 || wh->nhmac == 0)
        && (sigs.ned25519 == 0 || ned_keys == 0))
    {
        if (sigs.malformed > 0) {
            return lg_webhook_refuse(res, LG_WEBHOOK_MALFORMED_SIGNATURE,
                                     "%s", sigs.why);
        }

        return lg_webhook_refuse(res, LG_WEBHOOK_UNSUPPORTED_SIGNATURE,
                                 "no signature a key here checks (%zu v1, "
                                 "%zu v1a, %zu unchecked; %zu HMAC and %zu "
                                 "ed25519 keys)", nhmac_sigs, sigs.ned25519,
                                 sigs.unchecked, wh->nhmac, ned_keys);
    }

    res->secret = lg_webhook_match(wh, &sigs, id, &tstext, body, len);

    if (res->secret == -2) {
        res->secret = -1;
        return lg_webhook_refuse(res, LG_WEBHOOK_INTERNAL, "OpenSSL or "
                                 "memory failed");
    }

    if (res->secret < 0) {
        return lg_webhook_refuse(res, LG_WEBHOOK_BAD_SIGNATURE,
                                 "no signature matched (%zu v1 and %zu "
                                 "v1a against %zu HMAC and %zu ed25519 "
                                 "keys; %zu malformed, %zu unchecked)",
                                 nhmac_sigs, sigs.ned25519, wh->nhmac,
                                 ned_keys, sigs.malformed, sigs.unchecked);
    }

    res->id_signed = wh->id_signed;

    if (wh->id_signed) {
        res->key = *id;

    } else if (lg_webhook_digest_id(body, len, res) != 0) {
        return lg_webhook_refuse(res, LG_WEBHOOK_INTERNAL, "SHA-256 failed");
    }

    if (res->id.len == 0) {
        res->id = res->key;
    }

    snprintf(res->reason, sizeof(res->reason), "verified with secret %d "
             "of %zu", res->secret + 1, wh->nkeys);

    return LG_WEBHOOK_OK;
}
