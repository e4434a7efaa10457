
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "pattern" and "patternProperties": ECMA-262 regular expressions as PCRE2
 * compiles them.  The dialects differ little for what schemas use; what
 * differs is translated here (options for "$", \u escapes and ASCII \d
 * and \w; the long Unicode General_Category names rewritten to the short
 * ones PCRE2 knows).  Patterns and their contexts live in the schema's
 * arena; JIT code, which does not, is freed by an arena cleanup.
 *
 * Most patterns of a contract are simple: anchored at both ends, a
 * sequence of ASCII classes or characters each repeated a fixed number
 * of times, but the last, which may be repeated within bounds
 * ("^[A-Z]{2}$", "^[a-z0-9][a-z0-9_-]{1,31}$", "^\+[1-9][0-9]{6,14}$").
 * Such a pattern splits a string one way only, so it is matched here in
 * one pass, no backtracking, at a fraction of a PCRE2 call; anything else
 * (groups, alternatives, negated classes, non-ASCII, Unicode escapes,
 * lazy or possessive quantifiers, a variable step before the last) goes
 * to PCRE2, which compiles every pattern anyway (its errors stay the
 * errors).
 */


#include <stdint.h>
#include <string.h>

#include "lg_schema_compile_int.h"


static void *lg_schema_pcre_malloc(size_t size, void *data);
static void lg_schema_pcre_free(void *p, void *data);
static const char *lg_schema_regex_names(lg_schema_compile_t *c,
    const char *src, size_t *len);
static void lg_schema_regex_free(void *data);
static int lg_schema_regex_simple(lg_schema_compile_t *c, const char *src,
    size_t len, lg_schema_regex_t *re);
static const char *lg_schema_simple_class(const char *p, const char *end,
    lg_schema_atom_t *a);
static const char *lg_schema_simple_escape(const char *p, const char *end,
    lg_schema_atom_t *a);
static const char *lg_schema_simple_repeat(const char *p, const char *end,
    lg_schema_atom_t *a);


#define lg_schema_atom_add(a, ch)   ((a)->set[ch] = 1)

#define lg_schema_atom_has(a, ch)   ((ch) < 0x80 && (a)->set[ch])


/* PCRE2 allocates from the arena, so compiled patterns need no cleanup */

int
lg_schema_regex_init(lg_schema_compile_t *c)
{
    c->gctx = pcre2_general_context_create(lg_schema_pcre_malloc,
                                           lg_schema_pcre_free, c->arena);
    if (c->gctx == NULL) {
        return -1;
    }

    c->cctx = pcre2_compile_context_create(c->gctx);

    return c->cctx == NULL ? -1 : 0;
}


static void *
lg_schema_pcre_malloc(size_t size, void *data)
{
    return lg_arena_alloc(data, size);
}


static void
lg_schema_pcre_free(void *p, void *data)
{
    /* released with the arena */
}


int
lg_schema_regex(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *src, size_t len, lg_schema_regex_t *re)
{
    int                  rc;
    size_t               off;
    PCRE2_UCHAR          msg[256];
    lg_arena_cleanup_t  *cln;

    re->source = lg_arena_strndup(c->arena, src, len);
    if (re->source == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    /* as the messages and keyword locations quote it */
    re->source_len = strlen(re->source);

    src = lg_schema_regex_names(c, src, &len);
    if (src == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    /*
     * ECMA-262 as far as PCRE2 goes: UTF-8 subjects, "$" only at the very
     * end, \uXXXX escapes; \d and \w stay ASCII as in ECMA-262.
     */
    re->code = pcre2_compile((PCRE2_SPTR) src, len,
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY
                             | PCRE2_ALT_BSUX,
                             &rc, &off, c->cctx);

    if (re->code == NULL) {
        pcre2_get_error_message(rc, msg, sizeof(msg));
        return lg_schema_fail(c, info, kw, "invalid regular expression "
                              "\"%s\": %s at offset %zu", re->source,
                              (char *) msg, off);
    }

    /*
     * JIT: about four times faster on the sample schemas' patterns, and
     * still bounded by the match limit (the depth and heap limits do not
     * apply; the JIT stack does).  Its machine code lives outside the
     * arena, so the arena frees it.  Without JIT (not built in, or no
     * executable memory) pcre2_match() interprets, as before.
     */

    cln = lg_arena_cleanup_add(c->arena);
    if (cln == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    if (pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0) {
        cln->handler = lg_schema_regex_free;
        cln->data = re->code;
        re->jit = 1;
    }

    if (lg_schema_regex_simple(c, re->source, re->source_len, re) != 0) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    return 0;
}


/*
 * Sets re->simple and re->atoms when the pattern is simple (see above);
 * -1 only when out of memory.
 */

static int
lg_schema_regex_simple(lg_schema_compile_t *c, const char *src, size_t len,
    lg_schema_regex_t *re)
{
    uint32_t           i, n;
    const char        *p, *end;
    lg_schema_atom_t  *atoms, *a;

    if (len < 2 || src[0] != '^' || src[len - 1] != '$'
        || (len > 2 && src[len - 2] == '\\'))
    {
        return 0;
    }

    /* an atom takes at least one byte of the pattern */
    atoms = lg_arena_calloc(c->arena, len, sizeof(lg_schema_atom_t));
    if (atoms == NULL) {
        return -1;
    }

    n = 0;
    p = src + 1;
    end = src + len - 1;

    while (p < end) {
        a = &atoms[n++];

        if (*p == '[') {
            p = lg_schema_simple_class(p + 1, end, a);

        } else if (*p == '\\') {
            p = lg_schema_simple_escape(p + 1, end, a);

        } else if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f
                   || strchr(".^$|?*+()[]{}", *p) != NULL)
        {
            p = NULL;

        } else {
            lg_schema_atom_add(a, (unsigned char) *p);
            p++;
        }

        if (p == NULL) {
            return 0;
        }

        p = lg_schema_simple_repeat(p, end, a);
        if (p == NULL) {
            return 0;
        }
    }

    /* one way to split a string: only the last step may vary */
    for (i = 0; i + 1 < n; i++) {
        if (atoms[i].min != atoms[i].max) {
            return 0;
        }
    }

    re->atoms = atoms;
    re->natoms = n;
    re->simple = 1;

    return 0;
}


/* a class after its '[': ASCII characters, ranges, \d, \w; not negated */

static const char *
lg_schema_simple_class(const char *p, const char *end, lg_schema_atom_t *a)
{
    int               empty;
    unsigned char     lo, hi;
    lg_schema_atom_t  one;

    empty = 1;

    while (p < end && *p != ']') {
        if (empty && *p == '^') {
            return NULL;
        }

        empty = 0;

        if (*p == '\\') {
            memset(&one, 0, sizeof(lg_schema_atom_t));

            p = lg_schema_simple_escape(p + 1, end, &one);
            if (p == NULL) {
                return NULL;
            }

            for (lo = 0; lo < 0x80; lo++) {
                a->set[lo] |= one.set[lo];
            }

            if (p < end && *p == '-' && p + 1 < end && p[1] != ']') {
                /* a range from an escape: left to PCRE2 */
                return NULL;
            }

            continue;
        }

        lo = (unsigned char) *p;

        if (lo < 0x20 || lo >= 0x7f || lo == '[') {
            return NULL;
        }

        p++;
        hi = lo;

        if (p + 1 < end && *p == '-' && p[1] != ']') {
            hi = (unsigned char) p[1];

            if (hi < 0x20 || hi >= 0x7f || hi == '\\' || hi == '['
                || hi < lo)
            {
                return NULL;
            }

            p += 2;
        }

        for ( /* void */ ; lo <= hi; lo++) {
            lg_schema_atom_add(a, lo);
        }
    }

    if (p == end || empty) {
        return NULL;
    }

    return p + 1;
}


/* after a backslash: \d, \w, or an escaped ASCII punctuation character */

static const char *
lg_schema_simple_escape(const char *p, const char *end, lg_schema_atom_t *a)
{
    unsigned char  ch;

    if (p == end) {
        return NULL;
    }

    ch = (unsigned char) *p;

    if (ch == 'd' || ch == 'w') {
        for (ch = '0'; ch <= '9'; ch++) {
            lg_schema_atom_add(a, ch);
        }

        if (*p == 'w') {
            for (ch = 'a'; ch <= 'z'; ch++) {
                lg_schema_atom_add(a, ch);
                lg_schema_atom_add(a, ch - 'a' + 'A');
            }

            lg_schema_atom_add(a, '_');
        }

        return p + 1;
    }

    /* letters and digits escape to classes, assertions, references... */
    if (ch <= 0x20 || ch >= 0x7f || (ch >= '0' && ch <= '9')
        || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
    {
        return NULL;
    }

    lg_schema_atom_add(a, ch);

    return p + 1;
}


/* the quantifier after an atom, if any: greedy only */

static const char *
lg_schema_simple_repeat(const char *p, const char *end, lg_schema_atom_t *a)
{
    unsigned long  min, max;

    a->min = 1;
    a->max = 1;

    if (p == end) {
        return p;
    }

    switch (*p) {

    case '*':
        a->min = 0;
        a->max = UINT32_MAX;
        p++;
        break;

    case '+':
        a->max = UINT32_MAX;
        p++;
        break;

    case '?':
        a->min = 0;
        p++;
        break;

    case '{':
        p++;

        /* "{", "{,5}" (before PCRE2 10.43), "{x}" are literals to PCRE2 */
        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        for (min = 0; p < end && *p >= '0' && *p <= '9'; p++) {
            min = min * 10 + (*p - '0');

            if (min > 65535) {
                return NULL;
            }
        }

        max = min;

        if (p < end && *p == ',') {
            p++;
            max = UINT32_MAX;

            if (p < end && *p >= '0' && *p <= '9') {
                for (max = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                    max = max * 10 + (*p - '0');

                    if (max > 65535) {
                        return NULL;
                    }
                }
            }
        }

        /* "{5,2}" is an error, "{5" a literal: PCRE2 decides */
        if (p == end || *p != '}' || max < min) {
            return NULL;
        }

        a->min = (uint32_t) min;
        a->max = (uint32_t) max;
        p++;
        break;

    default:
        return p;
    }

    /* lazy and possessive forms, and a quantifier on a quantifier */
    if (p < end && (*p == '?' || *p == '+' || *p == '*' || *p == '{')) {
        return NULL;
    }

    return p;
}


/*
 * Every step but the last takes a fixed number of bytes, so the split is
 * the only one; any byte outside the ASCII sets (a multibyte character,
 * a control) fails the match, as it fails PCRE2's.
 */

int
lg_schema_simple_match(const lg_schema_regex_t *re, const char *s,
    size_t len)
{
    size_t                   p, k, end;
    uint32_t                 i;
    const unsigned char     *u;
    const lg_schema_atom_t  *a;

    u = (const unsigned char *) s;
    p = 0;

    for (i = 0; i < re->natoms; i++) {
        a = &re->atoms[i];

        if (i + 1 < re->natoms) {
            if (len - p < a->min) {
                return 0;
            }

            end = p + a->min;

        } else {
            if (len - p < a->min || len - p > a->max) {
                return 0;
            }

            end = len;
        }

        for (k = p; k < end; k++) {
            if (!lg_schema_atom_has(a, u[k])) {
                return 0;
            }
        }

        p = end;
    }

    return p == len;
}


/*
 * ECMA-262 names General_Category values in full as well (\p{Letter},
 * \p{General_Category=Uppercase_Letter}, \p{gc=Lu}); PCRE2 knows the
 * short names, scripts (\p{Script=Greek}) and binary properties, but not
 * those.  Returns the pattern with them rewritten to the short names (a
 * copy in the arena; never longer), or NULL when out of memory.
 */

static const char *
lg_schema_regex_names(lg_schema_compile_t *c, const char *src, size_t *len)
{
    char        *out, *o;
    size_t       i, j, k, n;
    const char  *name, *end;

    static const struct {
        const char  *name;
        const char  *alias;
    }  gc[] = {
        { "Other", "C" }, { "Control", "Cc" }, { "cntrl", "Cc" },
        { "Format", "Cf" }, { "Unassigned", "Cn" }, { "Private_Use", "Co" },
        { "Surrogate", "Cs" }, { "Letter", "L" }, { "Cased_Letter", "L&" },
        { "Lowercase_Letter", "Ll" }, { "Modifier_Letter", "Lm" },
        { "Other_Letter", "Lo" }, { "Titlecase_Letter", "Lt" },
        { "Uppercase_Letter", "Lu" }, { "Mark", "M" },
        { "Combining_Mark", "M" }, { "Spacing_Mark", "Mc" },
        { "Enclosing_Mark", "Me" }, { "Nonspacing_Mark", "Mn" },
        { "Number", "N" }, { "Decimal_Number", "Nd" }, { "digit", "Nd" },
        { "Letter_Number", "Nl" }, { "Other_Number", "No" },
        { "Punctuation", "P" }, { "punct", "P" },
        { "Connector_Punctuation", "Pc" }, { "Dash_Punctuation", "Pd" },
        { "Close_Punctuation", "Pe" }, { "Final_Punctuation", "Pf" },
        { "Initial_Punctuation", "Pi" }, { "Other_Punctuation", "Po" },
        { "Open_Punctuation", "Ps" }, { "Symbol", "S" },
        { "Currency_Symbol", "Sc" }, { "Modifier_Symbol", "Sk" },
        { "Math_Symbol", "Sm" }, { "Other_Symbol", "So" },
        { "Separator", "Z" }, { "Line_Separator", "Zl" },
        { "Paragraph_Separator", "Zp" }, { "Space_Separator", "Zs" }
    };

    static const char  *prefix[] = { "General_Category=", "gc=" };

    out = lg_arena_alloc(c->arena, *len + 1);
    if (out == NULL) {
        return NULL;
    }

    o = out;

    for (i = 0; i < *len; /* void */ ) {

        if (src[i] != '\\' || i + 1 == *len) {
            *o++ = src[i++];
            continue;
        }

        end = (i + 2 < *len && src[i + 2] == '{')
              ? memchr(src + i + 3, '}', *len - i - 3) : NULL;

        if ((src[i + 1] != 'p' && src[i + 1] != 'P') || end == NULL) {
            /* any other escape, the escaped character included */
            *o++ = src[i++];
            *o++ = src[i++];
            continue;
        }

        name = src + i + 3;
        n = end - name;

        for (j = 0; j < sizeof(prefix) / sizeof(prefix[0]); j++) {
            k = strlen(prefix[j]);

            if (n > k && memcmp(name, prefix[j], k) == 0) {
                name += k;
                n -= k;
                break;
            }
        }

        for (k = 0; k < sizeof(gc) / sizeof(gc[0]); k++) {
            if (strlen(gc[k].name) == n && memcmp(gc[k].name, name, n) == 0)
            {
                name = gc[k].alias;
                n = strlen(name);
                break;
            }
        }

        *o++ = '\\';
        *o++ = src[i + 1];
        *o++ = '{';
        memcpy(o, name, n);
        o += n;
        *o++ = '}';

        i = end - src + 1;
    }

    *o = '\0';
    *len = o - out;

    return out;
}


static void
lg_schema_regex_free(void *data)
{
    /* only the JIT code: the compiled pattern itself is in the arena */
    pcre2_code_free(data);
}
