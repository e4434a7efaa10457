
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_trace.h"


static int lg_trace_hex(const char *s, size_t n, int *zero);


int
lg_traceparent_parse(const char *s, size_t len, lg_traceparent_t *tp)
{
    int  zero, version, flags;

    if (len < LG_TRACEPARENT_LEN) {
        return -1;
    }

    /* version: 2 hex; ff is forbidden */

    if (lg_trace_hex(s, 2, &zero) != 0
        || (s[0] == 'f' && s[1] == 'f'))
    {
        return -1;
    }

    version = (s[0] >= 'a' ? s[0] - 'a' + 10 : s[0] - '0') * 16
              + (s[1] >= 'a' ? s[1] - 'a' + 10 : s[1] - '0');

    /*
     * Version 00 is exactly 55 characters.  A later version may append
     * fields: what follows the flags must be the end or a dash.
     */

    if (version == 0 ? len != LG_TRACEPARENT_LEN
                     : (len > LG_TRACEPARENT_LEN
                        && s[LG_TRACEPARENT_LEN] != '-'))
    {
        return -1;
    }

    if (s[2] != '-' || s[35] != '-' || s[52] != '-') {
        return -1;
    }

    if (lg_trace_hex(s + 3, LG_TRACE_ID_LEN, &zero) != 0 || zero) {
        return -1;
    }

    if (lg_trace_hex(s + 36, LG_SPAN_ID_LEN, &zero) != 0 || zero) {
        return -1;
    }

    if (lg_trace_hex(s + 53, 2, &zero) != 0) {
        return -1;
    }

    flags = (s[53] >= 'a' ? s[53] - 'a' + 10 : s[53] - '0') * 16
            + (s[54] >= 'a' ? s[54] - 'a' + 10 : s[54] - '0');

    memcpy(tp->trace_id, s + 3, LG_TRACE_ID_LEN);
    memcpy(tp->parent_id, s + 36, LG_SPAN_ID_LEN);
    tp->flags = (unsigned) flags;

    return 0;
}


void
lg_traceparent_write(char *buf, const char *trace_id, const char *span_id,
    unsigned flags)
{
    static const char  hex[] = "0123456789abcdef";

    flags &= LG_TRACE_KNOWN_FLAGS;

    memcpy(buf, "00-", 3);
    memcpy(buf + 3, trace_id, LG_TRACE_ID_LEN);
    buf[35] = '-';
    memcpy(buf + 36, span_id, LG_SPAN_ID_LEN);
    buf[52] = '-';
    buf[53] = hex[flags >> 4];
    buf[54] = hex[flags & 0x0f];
}


void
lg_trace_id_hex(char *hex, const unsigned char *random, size_t len)
{
    size_t          i;
    unsigned char   any;

    static const char  digits[] = "0123456789abcdef";

    any = 0;

    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[random[i] >> 4];
        hex[2 * i + 1] = digits[random[i] & 0x0f];
        any |= random[i];
    }

    /* an all-zero id is invalid: 2^-64 odds at least, but be exact */

    if (any == 0 && len > 0) {
        hex[2 * len - 1] = '1';
    }
}


/* n lowercase hex digits; *zero: all of them are '0' */

static int
lg_trace_hex(const char *s, size_t n, int *zero)
{
    size_t  i;

    *zero = 1;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return -1;
        }

        if (s[i] != '0') {
            *zero = 0;
        }
    }

    return 0;
}
