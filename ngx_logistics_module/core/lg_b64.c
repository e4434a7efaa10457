
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdint.h>

#include "lg_b64.h"


/* 0xff marks a byte outside the alphabet */
static const uint8_t  lg_b64url_dec[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff,   62, 0xff, 0xff,   /* - */
      52,   53,   54,   55,   56,   57,   58,   59,   /* 0-7 */
      60,   61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   /* 8-9 */
    0xff,    0,    1,    2,    3,    4,    5,    6,   /* A-G */
       7,    8,    9,   10,   11,   12,   13,   14,
      15,   16,   17,   18,   19,   20,   21,   22,
      23,   24,   25, 0xff, 0xff, 0xff, 0xff,   63,   /* _ */
    0xff,   26,   27,   28,   29,   30,   31,   32,   /* a-g */
      33,   34,   35,   36,   37,   38,   39,   40,
      41,   42,   43,   44,   45,   46,   47,   48,
      49,   50,   51, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};


static const char  lg_b64url_enc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
lg_b64url_valid_chars(const char *src, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (lg_b64url_dec[(unsigned char) src[i]] == 0xff) {
            return 0;
        }
    }

    return 1;
}


int
lg_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dst_len)
{
    size_t                i, n, rest;
    uint32_t              v, a, b, c, d;
    const unsigned char  *s;

    s = (const unsigned char *) src;
    rest = len % 4;

    /* one character carries 6 bits: not even one byte */
    if (rest == 1) {
        return -1;
    }

    n = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        a = lg_b64url_dec[s[i]];
        b = lg_b64url_dec[s[i + 1]];
        c = lg_b64url_dec[s[i + 2]];
        d = lg_b64url_dec[s[i + 3]];

        if ((a | b | c | d) & 0xc0) {
            return -1;
        }

        v = (a << 18) | (b << 12) | (c << 6) | d;

        dst[n++] = (unsigned char) (v >> 16);
        dst[n++] = (unsigned char) (v >> 8);
        dst[n++] = (unsigned char) v;
    }

    if (rest == 2) {
        a = lg_b64url_dec[s[i]];
        b = lg_b64url_dec[s[i + 1]];

        /* the low 4 bits of the last character are not part of the data */
        if (((a | b) & 0xc0) || (b & 0x0f)) {
            return -1;
        }

        dst[n++] = (unsigned char) ((a << 2) | (b >> 4));

    } else if (rest == 3) {
        a = lg_b64url_dec[s[i]];
        b = lg_b64url_dec[s[i + 1]];
        c = lg_b64url_dec[s[i + 2]];

        if (((a | b | c) & 0xc0) || (c & 0x03)) {
            return -1;
        }

        v = (a << 10) | (b << 4) | (c >> 2);

        dst[n++] = (unsigned char) (v >> 8);
        dst[n++] = (unsigned char) v;
    }

    *dst_len = n;

    return 0;
}


size_t
lg_b64url_encode(const unsigned char *src, size_t len, char *dst)
{
    size_t    i, n;
    uint32_t  v;

    n = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        v = ((uint32_t) src[i] << 16) | ((uint32_t) src[i + 1] << 8)
            | src[i + 2];

        dst[n++] = lg_b64url_enc[(v >> 18) & 0x3f];
        dst[n++] = lg_b64url_enc[(v >> 12) & 0x3f];
        dst[n++] = lg_b64url_enc[(v >> 6) & 0x3f];
        dst[n++] = lg_b64url_enc[v & 0x3f];
    }

    if (len - i == 1) {
        v = (uint32_t) src[i] << 16;

        dst[n++] = lg_b64url_enc[(v >> 18) & 0x3f];
        dst[n++] = lg_b64url_enc[(v >> 12) & 0x3f];

    } else if (len - i == 2) {
        v = ((uint32_t) src[i] << 16) | ((uint32_t) src[i + 1] << 8);

        dst[n++] = lg_b64url_enc[(v >> 18) & 0x3f];
        dst[n++] = lg_b64url_enc[(v >> 12) & 0x3f];
        dst[n++] = lg_b64url_enc[(v >> 6) & 0x3f];
    }

    return n;
}
