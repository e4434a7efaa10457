
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Request bodies, parsed for validation: a strict RFC 8259 parser that
 * builds jansson values in one pass over the buffer.
 *
 * jansson's own json_loadb() reads through a byte-at-a-time stream and a
 * token buffer; on the development machine it took 24 us for the 2 KB
 * sample shipment, of which building the values is about 4 us.  This
 * parser accepts exactly what json_loadb() accepts with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY
 * (fuzz/fuzz_json_body.c holds the two against each other), except that
 *
 *   - nesting is limited to LG_SCHEMA_MAX_BODY_DEPTH (jansson: 2048, and
 *     the validator recurses along it), and
 *   - an integer beyond 64 bits becomes a real instead of an error.
 *
 * Reals go through strtod(), which assumes the C locale: nginx never
 * calls setlocale().
 */


#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema.h"


#define LG_BODY_SCRATCH  256

/* 2^53: every integer up to it is exact in a double */
#define LG_BODY_EXACT_MAX  ((uint64_t) 1 << 53)

#define lg_body_str(x)   #x
#define lg_body_xstr(x)  lg_body_str(x)


typedef struct {
    const unsigned char  *start;
    const unsigned char  *p;
    const unsigned char  *end;
    size_t                depth;
    lg_error_t           *err;

    /*
     * Unescaped strings, used as a stack: an object's key stays on it
     * while its value is parsed.  It starts in "small" and moves to the
     * heap when it has to grow.
     */
    char                 *scratch;
    size_t                size;
    size_t                used;
    char                  small[LG_BODY_SCRATCH];

    unsigned              escaped:1;     /* the last string had escapes */
} lg_body_parser_t;


static inline int lg_body_space(lg_body_parser_t *bp);
static json_t *lg_body_value(lg_body_parser_t *bp);
static json_t *lg_body_object(lg_body_parser_t *bp);
static json_t *lg_body_array(lg_body_parser_t *bp);
static int lg_body_empty(lg_body_parser_t *bp, unsigned char close);
static int lg_body_next(lg_body_parser_t *bp, unsigned char close);
static int lg_body_string(lg_body_parser_t *bp, const char **s,
    size_t *len);
static size_t lg_body_escape(const unsigned char *p,
    const unsigned char *end, char *out, size_t *outlen, const char **why);
static json_t *lg_body_number(lg_body_parser_t *bp);
static json_t *lg_body_real(lg_body_parser_t *bp,
    const unsigned char *start, double real);
static json_t *lg_body_literal(lg_body_parser_t *bp, const char *word,
    size_t len, json_t *value);
static int lg_body_utf8(const unsigned char *p, const unsigned char *end);
static int lg_body_hex4(const unsigned char *p, uint32_t *cp);
static char *lg_body_reserve(lg_body_parser_t *bp, size_t len);
static int lg_body_error(lg_body_parser_t *bp, const unsigned char *at,
    const char *reason);


json_t *
lg_schema_parse_body(const char *buf, size_t len, lg_error_t *err)
{
    json_t            *json;
    lg_body_parser_t   bp;

    bp.start = (const unsigned char *) buf;
    bp.p = bp.start;
    bp.end = bp.p + len;
    bp.depth = 0;
    bp.err = err;
    bp.scratch = bp.small;
    bp.size = sizeof(bp.small);
    bp.used = 0;
    bp.escaped = 0;

    json = lg_body_value(&bp);

    /* only whitespace may follow */

    if (json != NULL && lg_body_space(&bp) == 0) {
        json_decref(json);
        json = NULL;
        (void) lg_body_error(&bp, bp.p, "end of file expected");
    }

    if (bp.scratch != bp.small) {
        free(bp.scratch);
    }

    return json;
}


/*
 * Byte classes for the two scanners that see every byte: whitespace
 * between tokens, and string bytes that need no attention (printable
 * ASCII other than the quote and the backslash).  Lines are not counted
 * on the way: an error finds its line from the start of the input.
 */

static const unsigned char  lg_body_ws[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1
};

#define LG_BODY_PLAIN_8(c)                                                    \
    [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1,                           \
    [c + 4] = 1, [c + 5] = 1, [c + 6] = 1, [c + 7] = 1

static const unsigned char  lg_body_plain[256] = {
    [0x20] = 1, [0x21] = 1, /* '"' */   [0x23] = 1,
    [0x24] = 1, [0x25] = 1, [0x26] = 1, [0x27] = 1,
    LG_BODY_PLAIN_8(0x28), LG_BODY_PLAIN_8(0x30), LG_BODY_PLAIN_8(0x38),
    LG_BODY_PLAIN_8(0x40), LG_BODY_PLAIN_8(0x48), LG_BODY_PLAIN_8(0x50),
    [0x58] = 1, [0x59] = 1, [0x5a] = 1, [0x5b] = 1,
    /* '\\' */   [0x5d] = 1, [0x5e] = 1, [0x5f] = 1,
    LG_BODY_PLAIN_8(0x60), LG_BODY_PLAIN_8(0x68), LG_BODY_PLAIN_8(0x70),
    LG_BODY_PLAIN_8(0x78)
};


/* the powers of ten that are exact in a double */

static const double  lg_body_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/* skips whitespace; 0 at a token, -1 at the end of the input */

static inline int
lg_body_space(lg_body_parser_t *bp)
{
    const unsigned char  *p;

    for (p = bp->p; p < bp->end && lg_body_ws[*p]; p++) {
        /* void */
    }

    bp->p = p;

    return (p < bp->end) ? 0 : -1;
}


static json_t *
lg_body_value(lg_body_parser_t *bp)
{
    size_t       len, used;
    json_t      *json;
    const char  *s;

    if (lg_body_space(bp) != 0) {
        (void) lg_body_error(bp, bp->p, "unexpected end of input");
        return NULL;
    }

    switch (*bp->p) {

    case '{':
    case '[':
        if (++bp->depth > LG_SCHEMA_MAX_BODY_DEPTH) {
            (void) lg_body_error(bp, bp->p, "nesting deeper than "
                                 lg_body_xstr(LG_SCHEMA_MAX_BODY_DEPTH)
                                 " levels");
            return NULL;
        }

        json = (*bp->p == '{') ? lg_body_object(bp) : lg_body_array(bp);
        bp->depth--;

        return json;

    case '"':
        used = bp->used;

        if (lg_body_string(bp, &s, &len) != 0) {
            return NULL;
        }

        json = json_stringn_nocheck(s, len);
        bp->used = used;

        if (json == NULL) {
            (void) lg_body_error(bp, bp->p, "out of memory");
        }

        return json;

    case 't':
        return lg_body_literal(bp, "true", 4, json_true());

    case 'f':
        return lg_body_literal(bp, "false", 5, json_false());

    case 'n':
        return lg_body_literal(bp, "null", 4, json_null());

    default:
        if (*bp->p == '-' || (*bp->p >= '0' && *bp->p <= '9')) {
            return lg_body_number(bp);
        }

        (void) lg_body_error(bp, bp->p, "invalid token");
        return NULL;
    }
}


static json_t *
lg_body_object(lg_body_parser_t *bp)
{
    size_t                len, key, size;
    json_t               *obj, *value;
    unsigned              escaped;
    const char           *s;
    const unsigned char  *at;

    obj = json_object();
    if (obj == NULL) {
        (void) lg_body_error(bp, bp->p, "out of memory");
        return NULL;
    }

    if (lg_body_empty(bp, '}')) {
        return obj;
    }

    for ( ;; ) {
        if (lg_body_space(bp) != 0 || *bp->p != '"') {
            (void) lg_body_error(bp, bp->p, "string or '}' expected");
            goto failed;
        }

        at = bp->p;
        key = bp->used;

        if (lg_body_string(bp, &s, &len) != 0) {
            goto failed;
        }

        escaped = bp->escaped;

        /* only "\u0000" makes a NUL: raw control bytes are refused */

        if (escaped && memchr(s, '\0', len) != NULL) {
            (void) lg_body_error(bp, at,
                                 "NUL byte in object key not supported");
            goto failed;
        }

        if (lg_body_space(bp) != 0 || *bp->p != ':') {
            (void) lg_body_error(bp, bp->p, "':' expected");
            goto failed;
        }

        bp->p++;

        /*
         * An escaped key stays on the scratch stack, which may move while
         * the value is parsed; any other key is the input itself.
         */

        value = lg_body_value(bp);
        if (value == NULL) {
            goto failed;
        }

        if (escaped) {
            s = bp->scratch + key;
        }

        /*
         * A duplicate key replaces the value and leaves the size as it
         * was: one hash lookup per key instead of a get and a set.
         */

        size = json_object_size(obj);

        if (json_object_setn_new_nocheck(obj, s, len, value) != 0) {
            (void) lg_body_error(bp, bp->p, "out of memory");
            goto failed;
        }

        if (json_object_size(obj) == size) {
            /* reported where the key is, which may be lines back */
            (void) lg_body_error(bp, at, "duplicate object key");
            goto failed;
        }

        bp->used = key;

        switch (lg_body_next(bp, '}')) {
        case 1:
            return obj;
        case -1:
            goto failed;
        }
    }

failed:

    json_decref(obj);

    return NULL;
}


static json_t *
lg_body_array(lg_body_parser_t *bp)
{
    json_t  *arr, *value;

    arr = json_array();
    if (arr == NULL) {
        (void) lg_body_error(bp, bp->p, "out of memory");
        return NULL;
    }

    if (lg_body_empty(bp, ']')) {
        return arr;
    }

    for ( ;; ) {
        value = lg_body_value(bp);
        if (value == NULL) {
            goto failed;
        }

        if (json_array_append_new(arr, value) != 0) {
            (void) lg_body_error(bp, bp->p, "out of memory");
            goto failed;
        }

        switch (lg_body_next(bp, ']')) {
        case 1:
            return arr;
        case -1:
            goto failed;
        }
    }

failed:

    json_decref(arr);

    return NULL;
}


/* past the opening bracket: 1 when the container closes right away */

static int
lg_body_empty(lg_body_parser_t *bp, unsigned char close)
{
    bp->p++;

    if (lg_body_space(bp) == 0 && *bp->p == close) {
        bp->p++;
        return 1;
    }

    return 0;
}


/* after a member: 1 the container closes, 0 a ',' (another comes), -1 */

static int
lg_body_next(lg_body_parser_t *bp, unsigned char close)
{
    if (lg_body_space(bp) == 0) {

        if (*bp->p == close) {
            bp->p++;
            return 1;
        }

        if (*bp->p == ',') {
            bp->p++;
            return 0;
        }
    }

    return lg_body_error(bp, bp->p, close == '}' ? "',' or '}' expected"
                                                 : "',' or ']' expected");
}


/*
 * The string at bp->p ('"'): *s and *len are its bytes, unescaped.  When
 * it has escapes they are pushed on the scratch stack with a NUL after
 * them; otherwise they are the input itself.
 */

static int
lg_body_string(lg_body_parser_t *bp, const char **s, size_t *len)
{
    int                   n;
    char                 *out;
    size_t                outlen, used;
    const char           *why;
    const unsigned char  *p, *q, *start;

    start = bp->p + 1;

    /* the common case first: no escapes, ASCII or valid UTF-8 */

    p = start;

    for ( ;; ) {
        while (p < bp->end && lg_body_plain[*p]) {
            p++;
        }

        if (p == bp->end || *p == '"' || *p == '\\') {
            break;
        }

        if (*p < 0x20) {
            return lg_body_error(bp, p, "control character in a string");
        }

        n = lg_body_utf8(p, bp->end);

        if (n < 0) {
            return lg_body_error(bp, p, "invalid UTF-8");
        }

        p += n;
    }

    if (p == bp->end) {
        return lg_body_error(bp, bp->p, "unterminated string");
    }

    bp->escaped = (*p == '\\');

    if (*p == '"') {
        *s = (const char *) start;
        *len = p - start;
        bp->p = p + 1;
        return 0;
    }

    /* on the scratch stack: unescaping never makes a string longer */

    for (q = p; q < bp->end && *q != '"'; q++) {
        if (*q == '\\' && bp->end - q > 1) {
            q++;
        }
    }

    out = lg_body_reserve(bp, q - start);
    if (out == NULL) {
        return lg_body_error(bp, p, "out of memory");
    }

    memcpy(out, start, p - start);
    outlen = p - start;

    n = lg_body_escape(p, bp->end, out, &outlen, &why);

    if (why != NULL) {
        return lg_body_error(bp, p + n, why);
    }

    p += n;

    used = bp->used;
    out[outlen] = '\0';
    bp->used += outlen + 1;

    *s = bp->scratch + used;
    *len = outlen;
    bp->p = p + 1;

    return 0;
}


/*
 * Unescapes from the first backslash at "p" to the closing quote into
 * out + *outlen.  Returns how many input bytes it consumed (up to the
 * quote); *why is NULL, or the reason the input at p + that count is
 * invalid.
 */

static size_t
lg_body_escape(const unsigned char *p, const unsigned char *end, char *out,
    size_t *outlen, const char **why)
{
    int                   n;
    char                 *o;
    uint32_t              cp, lo;
    const unsigned char  *q;

    o = out + *outlen;
    *why = NULL;

    for (q = p; q < end && *q != '"'; /* void */ ) {

        if (*q < 0x20) {
            *why = "control character in a string";
            return q - p;
        }

        if (*q >= 0x80) {
            n = lg_body_utf8(q, end);

            if (n < 0) {
                *why = "invalid UTF-8";
                return q - p;
            }

            memcpy(o, q, n);
            o += n;
            q += n;
            continue;
        }

        if (*q != '\\') {
            *o++ = (char) *q++;
            continue;
        }

        if (end - q < 2) {
            break;
        }

        switch (q[1]) {
        case '"':  *o++ = '"';  q += 2; continue;
        case '\\': *o++ = '\\'; q += 2; continue;
        case '/':  *o++ = '/';  q += 2; continue;
        case 'b':  *o++ = '\b'; q += 2; continue;
        case 'f':  *o++ = '\f'; q += 2; continue;
        case 'n':  *o++ = '\n'; q += 2; continue;
        case 'r':  *o++ = '\r'; q += 2; continue;
        case 't':  *o++ = '\t'; q += 2; continue;
        case 'u':  break;
        default:
            *why = "invalid escape";
            return q - p;
        }

        if (end - q < 6 || lg_body_hex4(q + 2, &cp) != 0) {
            *why = "invalid \\u escape";
            return q - p;
        }

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            *why = "invalid Unicode escape: lone low surrogate";
            return q - p;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - q < 12 || q[6] != '\\' || q[7] != 'u'
                || lg_body_hex4(q + 8, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
            {
                *why = "invalid Unicode escape: lone high surrogate";
                return q - p;
            }

            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            q += 6;
        }

        q += 6;

        /* UTF-8, never longer than the escape it replaces */

        if (cp < 0x80) {
            *o++ = (char) cp;

        } else if (cp < 0x800) {
            *o++ = (char) (0xc0 | (cp >> 6));
            *o++ = (char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *o++ = (char) (0xe0 | (cp >> 12));
            *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char) (0x80 | (cp & 0x3f));

        } else {
            *o++ = (char) (0xf0 | (cp >> 18));
            *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
            *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char) (0x80 | (cp & 0x3f));
        }
    }

    if (q >= end || *q != '"') {
        *why = "unterminated string";
        return q - p;
    }

    *outlen = o - out;

    return q - p;
}


/*
 * RFC 8259 numbers.  Integers that fit 64 bits are integers, larger ones
 * and everything with a fraction or exponent are reals (strtod, so the
 * value is the nearest double); a real beyond the double range is an
 * error, as in jansson.
 */

static json_t *
lg_body_number(lg_body_parser_t *bp)
{
    int                   neg, integer, exact, exp10, e, x;
    char                  buf[64], *text, *last;
    size_t                len;
    double                real;
    json_t               *json;
    uint64_t              u, m;
    const unsigned char  *p, *start;

    start = bp->p;
    p = start;
    neg = (*p == '-');
    p += neg;

    if (p == bp->end || *p < '0' || *p > '9') {
        (void) lg_body_error(bp, start, "invalid number");
        return NULL;
    }

    integer = 1;
    u = 0;

    if (*p == '0') {
        p++;

        if (p < bp->end && *p >= '0' && *p <= '9') {
            (void) lg_body_error(bp, start, "invalid number: leading zero");
            return NULL;
        }

    } else {
        for ( /* void */ ; p < bp->end && *p >= '0' && *p <= '9'; p++) {
            if (u > (UINT64_MAX - 9) / 10) {
                integer = 0;        /* beyond 64 bits: a real */
            }

            u = u * 10 + (*p - '0');
        }
    }

    /*
     * For reals, the digits go on into "m" as long as it stays exact in a
     * double; "exp10" is the power of ten it is to be scaled by.
     */

    exact = integer && u <= LG_BODY_EXACT_MAX;
    m = u;
    exp10 = 0;

    if (p < bp->end && *p == '.') {
        integer = 0;
        p++;

        if (p == bp->end || *p < '0' || *p > '9') {
            (void) lg_body_error(bp, start, "invalid number");
            return NULL;
        }

        for ( /* void */ ; p < bp->end && *p >= '0' && *p <= '9'; p++) {
            if (m > (LG_BODY_EXACT_MAX - 9) / 10) {
                exact = 0;
                continue;
            }

            m = m * 10 + (*p - '0');
            exp10--;
        }
    }

    if (p < bp->end && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;

        e = 1;

        if (p < bp->end && (*p == '+' || *p == '-')) {
            e = (*p == '-') ? -1 : 1;
            p++;
        }

        if (p == bp->end || *p < '0' || *p > '9') {
            (void) lg_body_error(bp, start, "invalid number");
            return NULL;
        }

        x = 0;

        for ( /* void */ ; p < bp->end && *p >= '0' && *p <= '9'; p++) {
            if (x < 10000) {
                x = x * 10 + (*p - '0');
            }
        }

        exp10 += e * x;
    }

    bp->p = p;

    if (integer
        && (neg ? u <= (uint64_t) INT64_MAX + 1 : u <= (uint64_t) INT64_MAX))
    {
        json = json_integer(neg ? (json_int_t) (0 - u) : (json_int_t) u);

        if (json == NULL) {
            (void) lg_body_error(bp, start, "out of memory");
        }

        return json;
    }

    /*
     * Clinger's fast path: an exact significand scaled by an exact power
     * of ten is one correctly rounded operation, the value strtod() would
     * give.  Everything else, a few percent of real-world reals, goes to
     * strtod().
     */

    if (exact && exp10 >= -22 && exp10 <= 22) {
        real = (double) m;
        real = (exp10 < 0) ? real / lg_body_pow10[-exp10]
                           : real * lg_body_pow10[exp10];

        return lg_body_real(bp, start, neg ? -real : real);
    }

    /* strtod() needs a terminated copy */

    len = p - start;
    text = (len < sizeof(buf)) ? buf : malloc(len + 1);

    if (text == NULL) {
        (void) lg_body_error(bp, start, "out of memory");
        return NULL;
    }

    memcpy(text, start, len);
    text[len] = '\0';

    errno = 0;
    real = strtod(text, &last);

    if (text != buf) {
        free(text);
    }

    if (errno == ERANGE && (real == HUGE_VAL || real == -HUGE_VAL)) {
        (void) lg_body_error(bp, start, "real number overflow");
        return NULL;
    }

    return lg_body_real(bp, start, real);
}


static json_t *
lg_body_real(lg_body_parser_t *bp, const unsigned char *start, double real)
{
    json_t  *json;

    json = json_real(real);

    if (json == NULL) {
        (void) lg_body_error(bp, start, "out of memory");
    }

    return json;
}


static json_t *
lg_body_literal(lg_body_parser_t *bp, const char *word, size_t len,
    json_t *value)
{
    if ((size_t) (bp->end - bp->p) < len || memcmp(bp->p, word, len) != 0) {
        (void) lg_body_error(bp, bp->p, "invalid token");
        return NULL;
    }

    bp->p += len;

    return value;
}


/* the length of the UTF-8 sequence at p (RFC 3629), or -1 */

static int
lg_body_utf8(const unsigned char *p, const unsigned char *end)
{
    int       i, n;
    uint32_t  cp, min;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;
        cp = *p & 0x1f;
        min = 0x80;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;
        cp = *p & 0x0f;
        min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;
        cp = *p & 0x07;
        min = 0x10000;

    } else {
        return -1;
    }

    if (end - p < n) {
        return -1;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return -1;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return -1;
    }

    return n;
}


static int
lg_body_hex4(const unsigned char *p, uint32_t *cp)
{
    int  i;

    *cp = 0;

    for (i = 0; i < 4; i++) {
        *cp <<= 4;

        if (p[i] >= '0' && p[i] <= '9') {
            *cp |= p[i] - '0';

        } else if (p[i] >= 'a' && p[i] <= 'f') {
            *cp |= p[i] - 'a' + 10;

        } else if (p[i] >= 'A' && p[i] <= 'F') {
            *cp |= p[i] - 'A' + 10;

        } else {
            return -1;
        }
    }

    return 0;
}


/* room for len bytes and a NUL on top of the scratch stack */

static char *
lg_body_reserve(lg_body_parser_t *bp, size_t len)
{
    char    *p;
    size_t   size;

    if (bp->size - bp->used > len) {
        return bp->scratch + bp->used;
    }

    size = bp->size;

    while (size - bp->used <= len) {
        size *= 2;
    }

    p = malloc(size);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, bp->scratch, bp->used);

    if (bp->scratch != bp->small) {
        free(bp->scratch);
    }

    bp->scratch = p;
    bp->size = size;

    return p + bp->used;
}


/* "line L, column C: reason", C counted in code points; returns -1 */

static int
lg_body_error(lg_body_parser_t *bp, const unsigned char *at,
    const char *reason)
{
    size_t                line, column;
    const unsigned char  *p, *line_start;

    line = 1;
    line_start = bp->start;

    for (p = bp->start; p < at; p++) {
        if (*p == '\n') {
            line++;
            line_start = p + 1;
        }
    }

    column = 1;

    for (p = line_start; p < at; p++) {
        if ((*p & 0xc0) != 0x80) {
            column++;
        }
    }

    snprintf(bp->err->text, sizeof(bp->err->text),
             "line %zu, column %zu: %s", line, column, reason);

    return -1;
}
