
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Request bodies, parsed for validation: a strict RFC 8259 parser that
 * writes a tape of tokens (lg_schema_int.h) in one pass over the buffer.
 *
 * Nothing is allocated per value: strings are slices of the body, or of
 * one copy of it for strings with escapes (unescaping never makes a
 * string longer, so a buffer of the body's size holds them all and never
 * moves); object keys carry their hash, so duplicates are found, and the
 * validator looks members up, without hashing a key twice.  The token
 * array, the copy and the duplicate table belong to an lg_schema_body_t
 * that keeps them for the next body.
 *
 * jansson's json_loadb() reads through a byte-at-a-time stream and
 * builds a hash table per object.  This parser accepts exactly what
 * json_loadb() accepts with JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
 * JSON_DECODE_ANY (fuzz/fuzz_json_body.c holds the two against each
 * other, through lg_schema_parse_body() in lg_schema_body_json.c),
 * except that
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

#include "lg_schema_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


/* 2^53: every integer up to it is exact in a double */
#define LG_BODY_EXACT_MAX   ((uint64_t) 1 << 53)

/* token counts and string lengths are 32-bit */
#define LG_BODY_MAX_LEN     ((size_t) INT32_MAX)

/* objects up to this many members look for duplicates by a linear scan */
#define LG_BODY_DUP_LINEAR  16

/* what lg_schema_validate_body() keeps between bodies */
#define LG_BODY_KEEP_TOKS   4096
#define LG_BODY_KEEP_BYTES  (64 * 1024)

#define lg_body_str(x)      #x
#define lg_body_xstr(x)     lg_body_str(x)


typedef struct {
    const unsigned char  *start;
    const unsigned char  *p;
    const unsigned char  *end;
    size_t                depth;
    lg_error_t           *err;
    lg_schema_body_t     *body;
    char                 *out;           /* free part of body->scratch */
    unsigned              escaped:1;     /* the last string had escapes */
} lg_body_parser_t;


static inline int lg_body_space(lg_body_parser_t *bp);
static inline const unsigned char *lg_body_plain_run(const unsigned char *p,
    const unsigned char *end);
static inline lg_schema_tok_t *lg_body_push(lg_body_parser_t *bp);
static int lg_body_value(lg_body_parser_t *bp);
static int lg_body_object(lg_body_parser_t *bp);
static int lg_body_array(lg_body_parser_t *bp);
static int lg_body_empty(lg_body_parser_t *bp, unsigned char close);
static inline int lg_body_next(lg_body_parser_t *bp, unsigned char close);
static int lg_body_duplicate(lg_body_parser_t *bp, size_t obj, size_t key,
    size_t n);
static int lg_body_dup_insert(lg_schema_body_t *body, size_t obj,
    size_t key);
static inline int lg_body_string(lg_body_parser_t *bp, const char **s,
    size_t *len);
static int lg_body_string_rest(lg_body_parser_t *bp,
    const unsigned char *p, const char **s, size_t *len);
static size_t lg_body_escape(const unsigned char *p,
    const unsigned char *end, char *out, size_t *outlen, const char **why);
static int lg_body_number(lg_body_parser_t *bp);
static int lg_body_literal(lg_body_parser_t *bp, const char *word,
    size_t len, int type);
static int lg_body_utf8(const unsigned char *p, const unsigned char *end);
static int lg_body_hex4(const unsigned char *p, uint32_t *cp);
static void lg_body_trim(lg_schema_body_t *body);
static int lg_body_error(lg_body_parser_t *bp, const unsigned char *at,
    const char *reason);


static lg_schema_body_t  *lg_body_kept;


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


int
lg_schema_validate_body(const lg_schema_t *schema, const char *buf,
    size_t len, lg_schema_result_t *result, lg_error_t *err)
{
    int  rc;

    if (lg_body_kept == NULL) {
        lg_body_kept = lg_schema_body_create();

        if (lg_body_kept == NULL) {
            snprintf(err->text, sizeof(err->text),
                     "line 1, column 1: out of memory");
            return LG_SCHEMA_BODY_MALFORMED;
        }
    }

    if (lg_schema_body_parse(lg_body_kept, buf, len, err) != 0) {
        rc = LG_SCHEMA_BODY_MALFORMED;

    } else {
        rc = lg_schema_body_validate(schema, lg_body_kept, result);
    }

    /* a big body's buffers are not kept for the small ones to come */
    lg_body_trim(lg_body_kept);

    return rc;
}


lg_schema_body_t *
lg_schema_body_create(void)
{
    return calloc(1, sizeof(lg_schema_body_t));
}


void
lg_schema_body_destroy(lg_schema_body_t *body)
{
    if (body == NULL) {
        return;
    }

    free(body->toks);
    free(body->scratch);
    free(body->dups);
    free(body);
}


static void
lg_body_trim(lg_schema_body_t *body)
{
    if (body->cap > LG_BODY_KEEP_TOKS) {
        free(body->toks);
        body->toks = NULL;
        body->cap = 0;
        body->ntoks = 0;
    }

    if (body->scratch_size > LG_BODY_KEEP_BYTES) {
        free(body->scratch);
        body->scratch = NULL;
        body->scratch_size = 0;
    }

    if (body->dups_size * 2 * sizeof(uint32_t) > LG_BODY_KEEP_BYTES) {
        free(body->dups);
        body->dups = NULL;
        body->dups_size = 0;
        body->ndups = 0;
    }
}


int
lg_schema_body_validate(const lg_schema_t *schema,
    const lg_schema_body_t *body, lg_schema_result_t *result)
{
    if (body->ntoks == 0) {
        return -1;
    }

    return lg_schema_validate_tok(schema, body->toks, result);
}


int
lg_schema_body_parse(lg_schema_body_t *body, const char *buf, size_t len,
    lg_error_t *err)
{
    lg_body_parser_t  bp;

    bp.start = (const unsigned char *) buf;
    bp.p = bp.start;
    bp.end = bp.p + len;
    bp.depth = 0;
    bp.err = err;
    bp.body = body;
    bp.out = NULL;
    bp.escaped = 0;

    body->ntoks = 0;

    if (body->ndups > 0) {
        memset(body->dups, 0, body->dups_size * 2 * sizeof(uint32_t));
        body->ndups = 0;
    }

    if (len > LG_BODY_MAX_LEN) {
        return lg_body_error(&bp, bp.p, "body too large");
    }

    if (lg_body_value(&bp) != 0) {
        body->ntoks = 0;
        return -1;
    }

    /* only whitespace may follow */

    if (lg_body_space(&bp) == 0) {
        body->ntoks = 0;
        return lg_body_error(&bp, bp.p, "end of file expected");
    }

    return 0;
}


/*
 * Skips whitespace; 0 at a token, -1 at the end of the input.  Runs are
 * short: a space, or a newline and some indentation.  Where a word is
 * little-endian, the indentation after a newline is counted eight bytes
 * at once.  (16 bytes at a time with SSE2 measured slower here.)
 */

#if defined(__GNUC__) && defined(__BYTE_ORDER__)                             \
    && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LG_BODY_SPACES_BY_WORD  1
#endif

static inline int
lg_body_space(lg_body_parser_t *bp)
{
    const unsigned char  *p, *end;
#if (LG_BODY_SPACES_BY_WORD)
    uint64_t              w;
#endif

    p = bp->p;
    end = bp->end;

    while (p < end && lg_body_ws[*p]) {

#if (LG_BODY_SPACES_BY_WORD)
        if (*p == '\n') {
            p++;

            /* indentation: the first byte that is not a space ends it */
            while (end - p >= 8) {
                memcpy(&w, p, 8);
                w ^= 0x2020202020202020ULL;

                if (w != 0) {
                    p += __builtin_ctzll(w) >> 3;
                    break;
                }

                p += 8;
            }

            continue;
        }
#endif

        p++;
    }

    bp->p = p;

    return (p < end) ? 0 : -1;
}


/*
 * The end of the run of plain string bytes at p: the first quote,
 * backslash, control or non-ASCII byte, or the end.  With SSE2, 16 bytes
 * at a time: as signed bytes, controls and non-ASCII are both below 0x20.
 */

static inline const unsigned char *
lg_body_plain_run(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    int      mask;
    __m128i  v, m;

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));

        mask = _mm_movemask_epi8(m);

        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }

        p += 16;
    }

#endif

    while (p < end && lg_body_plain[*p]) {
        p++;
    }

    return p;
}


/* a new token at the end of the tape; pointers to others may move */

static inline lg_schema_tok_t *
lg_body_push(lg_body_parser_t *bp)
{
    lg_schema_body_t  *body;

    body = bp->body;

    if (body->ntoks == body->cap && lg_schema_body_grow(body) != 0) {
        (void) lg_body_error(bp, bp->p, "out of memory");
        return NULL;
    }

    return &body->toks[body->ntoks++];
}


int
lg_schema_body_grow(lg_schema_body_t *body)
{
    size_t            cap;
    lg_schema_tok_t  *toks;

    cap = body->cap ? body->cap * 2 : 256;

    toks = realloc(body->toks, cap * sizeof(lg_schema_tok_t));
    if (toks == NULL) {
        return -1;
    }

    body->toks = toks;
    body->cap = cap;

    return 0;
}


static int
lg_body_value(lg_body_parser_t *bp)
{
    int               rc;
    size_t            len;
    const char       *s;
    lg_schema_tok_t  *t;

    if (lg_body_space(bp) != 0) {
        return lg_body_error(bp, bp->p, "unexpected end of input");
    }

    switch (*bp->p) {

    case '{':
    case '[':
        if (++bp->depth > LG_SCHEMA_MAX_BODY_DEPTH) {
            return lg_body_error(bp, bp->p, "nesting deeper than "
                                 lg_body_xstr(LG_SCHEMA_MAX_BODY_DEPTH)
                                 " levels");
        }

        rc = (*bp->p == '{') ? lg_body_object(bp) : lg_body_array(bp);
        bp->depth--;

        return rc;

    case '"':
        if (lg_body_string(bp, &s, &len) != 0) {
            return -1;
        }

        t = lg_body_push(bp);
        if (t == NULL) {
            return -1;
        }

        t->type = JSON_STRING;
        t->v.str = s;
        t->len = (uint32_t) len;
        t->span = 1;

        return 0;

    case 't':
        return lg_body_literal(bp, "true", 4, JSON_TRUE);

    case 'f':
        return lg_body_literal(bp, "false", 5, JSON_FALSE);

    case 'n':
        return lg_body_literal(bp, "null", 4, JSON_NULL);

    default:
        if (*bp->p == '-' || (*bp->p >= '0' && *bp->p <= '9')) {
            return lg_body_number(bp);
        }

        return lg_body_error(bp, bp->p, "invalid token");
    }
}


static int
lg_body_object(lg_body_parser_t *bp)
{
    size_t                len, obj, key, n;
    const char           *s;
    lg_schema_tok_t      *t;
    const unsigned char  *at;

    t = lg_body_push(bp);
    if (t == NULL) {
        return -1;
    }

    obj = bp->body->ntoks - 1;
    t->type = JSON_OBJECT;
    n = 0;

    if (lg_body_empty(bp, '}')) {
        goto done;
    }

    for ( ;; ) {
        if (lg_body_space(bp) != 0 || *bp->p != '"') {
            return lg_body_error(bp, bp->p, "string or '}' expected");
        }

        at = bp->p;

        if (lg_body_string(bp, &s, &len) != 0) {
            return -1;
        }

        /* only "\u0000" makes a NUL: raw control bytes are refused */

        if (bp->escaped && memchr(s, '\0', len) != NULL) {
            return lg_body_error(bp, at,
                                 "NUL byte in object key not supported");
        }

        if (lg_body_space(bp) != 0 || *bp->p != ':') {
            return lg_body_error(bp, bp->p, "':' expected");
        }

        bp->p++;

        t = lg_body_push(bp);
        if (t == NULL) {
            return -1;
        }

        key = bp->body->ntoks - 1;
        t->type = JSON_STRING;
        t->v.str = s;
        t->len = (uint32_t) len;
        t->hash = lg_schema_key_hash(s, len);
        t->span = 1;

        if (lg_body_value(bp) != 0) {
            return -1;
        }

        /* as jansson: after the value, reported where the key is */

        switch (lg_body_duplicate(bp, obj, key, n)) {
        case 1:
            return lg_body_error(bp, at, "duplicate object key");
        case -1:
            return lg_body_error(bp, bp->p, "out of memory");
        }

        n++;

        switch (lg_body_next(bp, '}')) {
        case 1:
            goto done;
        case -1:
            return -1;
        }
    }

done:

    t = &bp->body->toks[obj];
    t->len = (uint32_t) n;
    t->span = (uint32_t) (bp->body->ntoks - obj);

    return 0;
}


static int
lg_body_array(lg_body_parser_t *bp)
{
    size_t            arr, n;
    lg_schema_tok_t  *t;

    t = lg_body_push(bp);
    if (t == NULL) {
        return -1;
    }

    arr = bp->body->ntoks - 1;
    t->type = JSON_ARRAY;
    n = 0;

    if (lg_body_empty(bp, ']')) {
        goto done;
    }

    for ( ;; ) {
        if (lg_body_value(bp) != 0) {
            return -1;
        }

        n++;

        switch (lg_body_next(bp, ']')) {
        case 1:
            goto done;
        case -1:
            return -1;
        }
    }

done:

    t = &bp->body->toks[arr];
    t->len = (uint32_t) n;
    t->span = (uint32_t) (bp->body->ntoks - arr);

    return 0;
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

static inline int
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
 * 1 when the key token "key" is already a key of the object token "obj",
 * whose first n members come before it; 0 not; -1 out of memory.  Small
 * objects compare with their earlier keys (their hashes, mostly); from
 * LG_BODY_DUP_LINEAR members on, an object's keys go to the body's hash
 * table of (object, key), so a hostile object costs linear time.
 */

static int
lg_body_duplicate(lg_body_parser_t *bp, size_t obj, size_t key, size_t n)
{
    size_t                  i, j;
    lg_schema_tok_t        *toks;
    const lg_schema_tok_t  *k, *o;

    toks = bp->body->toks;
    k = &toks[key];

    if (n < LG_BODY_DUP_LINEAR) {
        for (i = obj + 1, j = 0; j < n; j++) {
            o = &toks[i];

            if (o->hash == k->hash && o->len == k->len
                && lg_schema_str_eq(o->v.str, k->v.str, k->len))
            {
                return 1;
            }

            i += 1 + toks[i + 1].span;
        }

        return 0;
    }

    if (n == LG_BODY_DUP_LINEAR) {
        for (i = obj + 1, j = 0; j < n; j++) {
            if (lg_body_dup_insert(bp->body, obj, i) < 0) {
                return -1;
            }

            i += 1 + toks[i + 1].span;
        }
    }

    return lg_body_dup_insert(bp->body, obj, key);
}


/* 1 the object has that key already, 0 inserted, -1 out of memory */

static int
lg_body_dup_insert(lg_schema_body_t *body, size_t obj, size_t key)
{
    size_t                  i, size, mask;
    uint32_t               *dups, *slot;
    const lg_schema_tok_t  *k, *o;

    if ((body->ndups + 1) * 2 > body->dups_size) {
        size = body->dups_size ? body->dups_size * 2 : 1024;

        dups = calloc(size, 2 * sizeof(uint32_t));
        if (dups == NULL) {
            return -1;
        }

        /* rehash: the entries are (object + 1, key) pairs */

        for (i = 0; i < body->dups_size; i++) {
            if (body->dups[2 * i] == 0) {
                continue;
            }

            k = &body->toks[body->dups[2 * i + 1]];
            slot = &dups[2 * ((k->hash ^ (body->dups[2 * i] * 0x9e3779b1u))
                              & (size - 1))];

            while (slot[0] != 0) {
                slot += 2;

                if (slot == dups + 2 * size) {
                    slot = dups;
                }
            }

            slot[0] = body->dups[2 * i];
            slot[1] = body->dups[2 * i + 1];
        }

        free(body->dups);
        body->dups = dups;
        body->dups_size = size;
    }

    k = &body->toks[key];
    mask = body->dups_size - 1;
    i = (k->hash ^ ((uint32_t) (obj + 1) * 0x9e3779b1u)) & mask;

    while (body->dups[2 * i] != 0) {
        o = &body->toks[body->dups[2 * i + 1]];

        if (body->dups[2 * i] == obj + 1 && o->hash == k->hash
            && o->len == k->len && memcmp(o->v.str, k->v.str, k->len) == 0)
        {
            return 1;
        }

        i = (i + 1) & mask;
    }

    body->dups[2 * i] = (uint32_t) (obj + 1);
    body->dups[2 * i + 1] = (uint32_t) key;
    body->ndups++;

    return 0;
}


/*
 * The string at bp->p ('"'): *s and *len are its bytes, unescaped.  When
 * it has escapes they are unescaped into the body's scratch copy;
 * otherwise they are the input itself.  The common case, plain ASCII up
 * to the quote, is inline.
 */

static inline int
lg_body_string(lg_body_parser_t *bp, const char **s, size_t *len)
{
    const unsigned char  *p, *start;

    start = bp->p + 1;
    p = lg_body_plain_run(start, bp->end);

    if (p < bp->end && *p == '"') {
        *s = (const char *) start;
        *len = p - start;
        bp->p = p + 1;
        bp->escaped = 0;
        return 0;
    }

    return lg_body_string_rest(bp, p, s, len);
}


/* the rest of a string from p: non-ASCII, escapes, errors */

static int
lg_body_string_rest(lg_body_parser_t *bp, const unsigned char *p,
    const char **s, size_t *len)
{
    int                   n;
    size_t                outlen, size;
    const char           *why;
    lg_schema_body_t     *body;
    const unsigned char  *start;

    start = bp->p + 1;

    for ( ;; ) {
        p = lg_body_plain_run(p, bp->end);

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

    /*
     * The first string with escapes makes room for all of them: their
     * unescaped bytes together are never more than the input's.
     */

    if (bp->out == NULL) {
        body = bp->body;
        size = bp->end - bp->start;

        if (body->scratch_size < size) {
            free(body->scratch);
            body->scratch_size = 0;

            body->scratch = malloc(size);
            if (body->scratch == NULL) {
                return lg_body_error(bp, p, "out of memory");
            }

            body->scratch_size = size;
        }

        bp->out = body->scratch;
    }

    memcpy(bp->out, start, p - start);
    outlen = p - start;

    n = lg_body_escape(p, bp->end, bp->out, &outlen, &why);

    if (why != NULL) {
        return lg_body_error(bp, p + n, why);
    }

    *s = bp->out;
    *len = outlen;
    bp->out += outlen;
    bp->p = p + n + 1;

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

static int
lg_body_number(lg_body_parser_t *bp)
{
    int                   neg, integer, exact, exp10, e, x;
    char                  buf[64], *text, *last;
    size_t                len;
    double                real;
    uint64_t              u, m;
    lg_schema_tok_t      *t;
    const unsigned char  *p, *start;

    start = bp->p;
    p = start;
    neg = (*p == '-');
    p += neg;

    if (p == bp->end || *p < '0' || *p > '9') {
        return lg_body_error(bp, start, "invalid number");
    }

    integer = 1;
    u = 0;

    if (*p == '0') {
        p++;

        if (p < bp->end && *p >= '0' && *p <= '9') {
            return lg_body_error(bp, start, "invalid number: leading zero");
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
            return lg_body_error(bp, start, "invalid number");
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
            return lg_body_error(bp, start, "invalid number");
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
        t = lg_body_push(bp);
        if (t == NULL) {
            return -1;
        }

        t->type = JSON_INTEGER;
        t->v.i = neg ? (json_int_t) (0 - u) : (json_int_t) u;
        t->span = 1;

        return 0;
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

        real = neg ? -real : real;
        goto done;
    }

    /* strtod() needs a terminated copy */

    len = p - start;
    text = (len < sizeof(buf)) ? buf : malloc(len + 1);

    if (text == NULL) {
        return lg_body_error(bp, start, "out of memory");
    }

    memcpy(text, start, len);
    text[len] = '\0';

    errno = 0;
    real = strtod(text, &last);

    if (text != buf) {
        free(text);
    }

    if (errno == ERANGE && (real == HUGE_VAL || real == -HUGE_VAL)) {
        return lg_body_error(bp, start, "real number overflow");
    }

done:

    t = lg_body_push(bp);
    if (t == NULL) {
        return -1;
    }

    t->type = JSON_REAL;
    t->v.d = real;
    t->span = 1;

    return 0;
}




static int
lg_body_literal(lg_body_parser_t *bp, const char *word, size_t len, int type)
{
    lg_schema_tok_t  *t;

    if ((size_t) (bp->end - bp->p) < len || memcmp(bp->p, word, len) != 0) {
        return lg_body_error(bp, bp->p, "invalid token");
    }

    bp->p += len;

    t = lg_body_push(bp);
    if (t == NULL) {
        return -1;
    }

    t->type = (uint8_t) type;
    t->span = 1;

    return 0;
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
