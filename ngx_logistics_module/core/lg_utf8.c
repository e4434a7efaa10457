
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "lg_utf8.h"


size_t
lg_utf8_length(const char *s, size_t len)
{
    size_t          i, n, need;
    uint32_t        cp, min;
    unsigned char   c;

    n = 0;
    i = 0;

    while (i < len) {
        c = (unsigned char) s[i];

        if (c < 0x80) {
            /* the common case: runs of ASCII */
            i++;
            n++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
            min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;

        } else {
            return (size_t) -1;
        }

        if (len - i <= need) {
            return (size_t) -1;
        }

        for (i++; need > 0; need--, i++) {
            c = (unsigned char) s[i];

            if ((c & 0xc0) != 0x80) {
                return (size_t) -1;
            }

            cp = (cp << 6) | (c & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return (size_t) -1;
        }

        n++;
    }

    return n;
}

