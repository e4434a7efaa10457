
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
 */


#include <string.h>

#include "lg_schema_compile_int.h"


static void *lg_schema_pcre_malloc(size_t size, void *data);
static void lg_schema_pcre_free(void *p, void *data);
static const char *lg_schema_regex_names(lg_schema_compile_t *c,
    const char *src, size_t *len);
static void lg_schema_regex_free(void *data);


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

    return 0;
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
