
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include <openssl/crypto.h>

#include "lg_idem.h"


static void lg_idem_put16(uint8_t *p, unsigned v);
static void lg_idem_put32(uint8_t *p, uint32_t v);


int
lg_idem_key_parse(const char *value, size_t len, const char **key,
    size_t *key_len)
{
    size_t         i;
    unsigned char  c;
    const char    *p, *last;

    p = value;
    last = value + len;

    if (len >= 2 && p[0] == '"' && last[-1] == '"') {
        p++;
        last--;

        for (i = 0; p + i < last; i++) {
            c = (unsigned char) p[i];

            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                return -1;
            }
        }

    } else {
        for (i = 0; p + i < last; i++) {
            c = (unsigned char) p[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9')
                  || (c != '\0' && strchr("-._~:+/=*!#$%&'^`|", c) != NULL)))
            {
                return -1;
            }
        }
    }

    if (last == p || (size_t) (last - p) > LG_IDEM_KEY_MAX) {
        return -1;
    }

    *key = p;
    *key_len = last - p;

    return 0;
}


void
lg_idem_lock_encode(uint8_t *out, const uint8_t *fingerprint,
    const uint8_t *lock_id)
{
    out[0] = LG_IDEM_LOCK;
    memcpy(out + 1, fingerprint, LG_IDEM_FP_LEN);
    memcpy(out + 1 + LG_IDEM_FP_LEN, lock_id, LG_IDEM_LOCK_ID_LEN);
}


size_t
lg_idem_done_size(int gone, size_t headers_len, size_t body_len)
{
    return LG_IDEM_DONE_HDR + headers_len + (gone ? 0 : body_len);
}


size_t
lg_idem_done_encode(uint8_t *out, int gone, const uint8_t *fingerprint,
    unsigned status, const char *headers, size_t headers_len,
    const char *body, size_t body_len)
{
    uint8_t  *p;

    p = out;
    *p++ = gone ? LG_IDEM_GONE : LG_IDEM_DONE;
    memcpy(p, fingerprint, LG_IDEM_FP_LEN);
    p += LG_IDEM_FP_LEN;

    lg_idem_put16(p, status);
    lg_idem_put32(p + 2, (uint32_t) headers_len);
    p += 6;

    if (headers_len) {
        memcpy(p, headers, headers_len);
        p += headers_len;
    }

    if (!gone && body_len) {
        memcpy(p, body, body_len);
        p += body_len;
    }

    return p - out;
}


int
lg_idem_record_decode(const uint8_t *data, size_t len, lg_idem_record_t *rec)
{
    uint32_t  hlen;

    memset(rec, 0, sizeof(lg_idem_record_t));

    if (len < 1 + LG_IDEM_FP_LEN) {
        return -1;
    }

    rec->type = data[0];
    rec->fingerprint = data + 1;

    switch (rec->type) {

    case LG_IDEM_LOCK:
        return len == LG_IDEM_LOCK_LEN ? 0 : -1;

    case LG_IDEM_DONE:
    case LG_IDEM_GONE:
        break;

    default:
        return -1;
    }

    if (len < LG_IDEM_DONE_HDR) {
        return -1;
    }

    data += 1 + LG_IDEM_FP_LEN;
    len -= 1 + LG_IDEM_FP_LEN;

    rec->status = data[0] | (unsigned) data[1] << 8;
    hlen = data[2] | (uint32_t) data[3] << 8 | (uint32_t) data[4] << 16
           | (uint32_t) data[5] << 24;

    data += 6;
    len -= 6;

    if (hlen > len || rec->status < 100 || rec->status > 999) {
        return -1;
    }

    rec->headers = (const char *) data;
    rec->headers_len = hlen;
    rec->body = (const char *) data + hlen;
    rec->body_len = len - hlen;

    if (rec->type == LG_IDEM_GONE && rec->body_len) {
        return -1;
    }

    return 0;
}


int
lg_idem_record_matches(const lg_idem_record_t *rec,
    const uint8_t *fingerprint)
{
    return CRYPTO_memcmp(rec->fingerprint, fingerprint, LG_IDEM_FP_LEN) == 0;
}


int
lg_idem_header_next(const char **pos, const char *end, const char **name,
    size_t *name_len, const char **value, size_t *value_len)
{
    const char  *p, *colon, *eol;

    p = *pos;

    eol = memchr(p, '\n', end - p);
    if (eol == NULL) {
        return 0;
    }

    colon = memchr(p, ':', eol - p);

    /* "N: v\r\n": a name, a colon, a space, the value, CR LF */

    if (colon == NULL || colon == p || eol - colon < 3 || colon[1] != ' '
        || eol[-1] != '\r')
    {
        return 0;
    }

    *name = p;
    *name_len = colon - p;
    *value = colon + 2;
    *value_len = (eol - 1) - (colon + 2);
    *pos = eol + 1;

    return 1;
}


static void
lg_idem_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}


static void
lg_idem_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}
