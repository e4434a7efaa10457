
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Writing the headers a webhook sender sends: for the policy CLI
 * (onboarding a carrier, reproducing a delivery) and for the gateway's
 * outbound events to partners.
 */


#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "lg_b64.h"
#include "lg_webhook_int.h"


typedef struct {
    lg_webhook_signed_t    *out;
    size_t                  used;
    int                     overflow;
} lg_webhook_writer_t;


static char *lg_webhook_put(lg_webhook_writer_t *w, const char *s,
    size_t len);
static void lg_webhook_add_header(lg_webhook_writer_t *w, const lg_str_t *name,
    const char *start);
static int lg_webhook_put_mac(lg_webhook_writer_t *w, const lg_webhook_t *wh,
    const lg_webhook_key_t *key, const lg_str_t *id, const lg_str_t *ts,
    const unsigned char *body, size_t len);
static int lg_webhook_put_ed25519(lg_webhook_writer_t *w,
    const lg_webhook_t *wh, const lg_webhook_key_t *key, const lg_str_t *id,
    const lg_str_t *ts, const unsigned char *body, size_t len);


/* appends to the output text; returns where it went, NULL when full */

static char *
lg_webhook_put(lg_webhook_writer_t *w, const char *s, size_t len)
{
    char  *p;

    if (w->overflow || len > sizeof(w->out->buf) - w->used) {
        w->overflow = 1;
        return NULL;
    }

    p = w->out->buf + w->used;
    memcpy(p, s, len);
    w->used += len;

    return p;
}


/*
 * The header's value is what was written since "start"; its name is
 * copied too, so the result outlives the scheme.
 */

static void
lg_webhook_add_header(lg_webhook_writer_t *w, const lg_str_t *name,
    const char *start)
{
    const char           *p;
    lg_webhook_signed_t  *out;

    out = w->out;

    if (w->overflow || start == NULL) {
        w->overflow = 1;
        return;
    }

    out->value[out->nheaders].data = start;
    out->value[out->nheaders].len = (w->out->buf + w->used) - start;

    p = lg_webhook_put(w, name->data, name->len);
    if (p == NULL) {
        return;
    }

    out->name[out->nheaders].data = p;
    out->name[out->nheaders].len = name->len;
    out->nheaders++;
}


static int
lg_webhook_put_mac(lg_webhook_writer_t *w, const lg_webhook_t *wh,
    const lg_webhook_key_t *key, const lg_str_t *id, const lg_str_t *ts,
    const unsigned char *body, size_t len)
{
    size_t         n;
    char           text[2 * LG_WEBHOOK_MAX_MAC];
    unsigned char  mac[LG_WEBHOOK_MAX_MAC];

    if (lg_webhook_mac(wh, key, id, ts, body, len, mac) != 0) {
        return -1;
    }

    if (wh->encoding == LG_WEBHOOK_HEX) {
        lg_webhook_hex_encode(mac, wh->mac_len, text);
        n = 2 * wh->mac_len;

    } else {
        n = lg_b64_encode(mac, wh->mac_len, text);
    }

    (void) lg_webhook_put(w, text, n);

    OPENSSL_cleanse(mac, sizeof(mac));

    return 0;
}


static int
lg_webhook_put_ed25519(lg_webhook_writer_t *w, const lg_webhook_t *wh,
    const lg_webhook_key_t *key, const lg_str_t *id, const lg_str_t *ts,
    const unsigned char *body, size_t len)
{
    int             ok;
    char            text[lg_b64_encoded_len(LG_WEBHOOK_ED25519_SIG)];
    size_t          content_len, sig_len;
    EVP_MD_CTX     *ctx;
    unsigned char  *content, sig[LG_WEBHOOK_ED25519_SIG];

    content = lg_webhook_content(wh, id, ts, body, len, &content_len);
    if (content == NULL) {
        return -1;
    }

    ctx = EVP_MD_CTX_new();
    sig_len = sizeof(sig);

    ok = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1
         && EVP_DigestSign(ctx, sig, &sig_len, content, content_len) == 1
         && sig_len == sizeof(sig);

    EVP_MD_CTX_free(ctx);
    free(content);

    if (!ok) {
        ERR_clear_error();
        return -1;
    }

    (void) lg_webhook_put(w, text, lg_b64_encode(sig, sig_len, text));

    return 0;
}


int
lg_webhook_sign(const lg_webhook_t *wh, const char *id, size_t id_len,
    int64_t timestamp, const unsigned char *body, size_t len,
    lg_webhook_signed_t *out, lg_error_t *err)
{
    int                      n;
    char                     tsbuf[24], *start;
    size_t                   i, nsigned;
    lg_str_t                 idstr, ts;
    lg_webhook_writer_t      w;
    const lg_webhook_key_t  *key;

    memset(out, 0, sizeof(lg_webhook_signed_t));

    w.out = out;
    w.used = 0;
    w.overflow = 0;

    idstr.data = "";
    idstr.len = 0;

    if (id != NULL) {
        if (wh->header[LG_WEBHOOK_H_ID].len == 0) {
            snprintf(err->text, sizeof(err->text), "the %s scheme sends no "
                     "id", lg_webhook_scheme_name(wh->scheme));
            return -1;
        }

        if (!lg_webhook_id_valid(wh->scheme, id, id_len)) {
            snprintf(err->text, sizeof(err->text), "an id is 1 to %d "
                     "visible characters without '\"' or '\\'%s",
                     LG_WEBHOOK_MAX_ID,
                     wh->scheme == LG_WEBHOOK_STANDARD ? " or '.'" : "");
            return -1;
        }

        idstr.data = id;
        idstr.len = id_len;

    } else if (wh->id_signed) {
        snprintf(err->text, sizeof(err->text), "the %s scheme signs an id: "
                 "give one", lg_webhook_scheme_name(wh->scheme));
        return -1;
    }

    ts.data = "";
    ts.len = 0;

    if (wh->tolerance > 0) {
        n = snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long) timestamp);

        if (timestamp < 0 || n > LG_WEBHOOK_MAX_TS_DIGITS) {
            snprintf(err->text, sizeof(err->text), "a timestamp is 0 to %d "
                     "digits of unix seconds", LG_WEBHOOK_MAX_TS_DIGITS);
            return -1;
        }

        ts.data = tsbuf;
        ts.len = n;
    }

    if (idstr.len) {
        start = lg_webhook_put(&w, idstr.data, idstr.len);
        lg_webhook_add_header(&w, &wh->header[LG_WEBHOOK_H_ID], start);
    }

    if (wh->header[LG_WEBHOOK_H_TIMESTAMP].len) {
        start = lg_webhook_put(&w, ts.data, ts.len);
        lg_webhook_add_header(&w, &wh->header[LG_WEBHOOK_H_TIMESTAMP],
                              start);
    }

    /* the signature header: every key of a list, the first otherwise */

    start = NULL;
    nsigned = 0;

    if (wh->list == LG_WEBHOOK_LIST_STRIPE) {
        start = lg_webhook_put(&w, "t=", 2);
        (void) lg_webhook_put(&w, ts.data, ts.len);

    } else if (wh->list == LG_WEBHOOK_LIST_SINGLE) {
        start = lg_webhook_put(&w, wh->prefix.data, wh->prefix.len);
    }

    for (i = 0; i < wh->nkeys; i++) {
        key = &wh->keys[i];

        if (key->kind == LG_WEBHOOK_KEY_ED25519_PUBLIC
            || (key->kind == LG_WEBHOOK_KEY_ED25519_PRIVATE
                && wh->list != LG_WEBHOOK_LIST_STANDARD))
        {
            continue;
        }

        if (wh->list == LG_WEBHOOK_LIST_STANDARD) {
            if (nsigned == 0) {
                start = out->buf + w.used;

            } else {
                (void) lg_webhook_put(&w, " ", 1);
            }

            if (key->kind == LG_WEBHOOK_KEY_HMAC) {
                (void) lg_webhook_put(&w, "v1,", 3);

            } else {
                (void) lg_webhook_put(&w, "v1a,", 4);
            }

        } else if (wh->list == LG_WEBHOOK_LIST_STRIPE) {
            (void) lg_webhook_put(&w, ",v1=", 4);
        }

        if ((key->kind == LG_WEBHOOK_KEY_HMAC
             ? lg_webhook_put_mac(&w, wh, key, &idstr, &ts, body, len)
             : lg_webhook_put_ed25519(&w, wh, key, &idstr, &ts, body, len))
            != 0)
        {
            snprintf(err->text, sizeof(err->text), "signing failed");
            return -1;
        }

        nsigned++;

        if (wh->list == LG_WEBHOOK_LIST_SINGLE) {
            break;
        }
    }

    if (nsigned == 0) {
        snprintf(err->text, sizeof(err->text), "no key here signs (a whpk_ "
                 "key only verifies)");
        return -1;
    }

    lg_webhook_add_header(&w, &wh->header[LG_WEBHOOK_H_SIGNATURE], start);

    if (w.overflow) {
        snprintf(err->text, sizeof(err->text), "the headers are longer "
                 "than %d bytes", LG_WEBHOOK_SIGNED_MAX);
        return -1;
    }

    return 0;
}
