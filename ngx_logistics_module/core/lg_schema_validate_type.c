
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The sections of the validator that apply to one instance type:
 * numbers, strings (lengths, "pattern", "format"), arrays (sizes,
 * "uniqueItems", items, "contains") and objects (sizes, "required",
 * "dependentRequired", properties, "dependentSchemas",
 * "propertyNames").  lg_schema_validate.c calls them for an instance of
 * their type; each returns as a keyword does (lg_schema_validate_int.h).
 *
 * An object's members are looked up once each in the node's table of
 * names (lg_schema_keywords_done()): the same lookups answer "required",
 * "dependentRequired", "dependentSchemas" and "properties".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema_validate_int.h"
#include "lg_utf8.h"


/* members whose name lookup is kept for the "properties" pass */
#define LG_SCHEMA_MEMBER_CACHE  32


typedef struct {
    uint64_t                hash;
    size_t                  index;
    const lg_schema_tok_t  *tok;
} lg_schema_hashed_t;


/* what the lookups of an object's members found */
typedef struct {
    uint64_t               *seen;        /* a bit per name of the node */
    uint64_t                inl[LG_SCHEMA_NAMES_INLINE / 64];
    uint32_t                entry[LG_SCHEMA_MEMBER_CACHE];  /* + 1, or 0 */
} lg_schema_lookup_t;


static void lg_schema_num_print(char *buf, size_t size,
    const lg_schema_num_t *num);
static int lg_schema_match(lg_schema_ctx_t *ctx, const lg_schema_regex_t *re,
    const char *s, size_t len);
static int lg_schema_hashed_cmp(const void *a, const void *b);
static int lg_schema_unique(lg_schema_ctx_t *ctx, const lg_schema_tok_t *inst);
static int lg_schema_items(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_contains(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_lookup(const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_lookup_t *lk);
static int lg_schema_required(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_lookup_t *lk);
static int lg_schema_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev, const lg_schema_lookup_t *lk);
static int lg_schema_pattern_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_seg_t *iseg,
    const lg_schema_tok_t *key, int *matched);
static int lg_schema_property_names(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst);


/*
 * The match data and context are kept for the process, from malloc (not
 * the schema's arena: PCRE2 takes its backtracking frames through them).
 * Since PCRE2 10.41 the match data also keeps those frames, at least
 * 20 KB, so a match data per validation meant a malloc() and free() of
 * that much per request.  Validation runs in one thread (an nginx worker,
 * the CLI).  A match that hit a limit may have grown the frames up to
 * LG_SCHEMA_HEAP_LIMIT: that match data is dropped rather than kept.
 */

static pcre2_match_data     *lg_schema_match_data;
static pcre2_match_context  *lg_schema_match_context;


static void
lg_schema_num_print(char *buf, size_t size, const lg_schema_num_t *num)
{
    if (num->is_int) {
        snprintf(buf, size, "%lld", (long long) num->i);

    } else {
        snprintf(buf, size, "%.17g", num->d);
    }
}


/* 1 match, 0 no match, -1 the regex hit its limits (counts as failure) */

static int
lg_schema_match(lg_schema_ctx_t *ctx, const lg_schema_regex_t *re,
    const char *s, size_t len)
{
    int  rc;

    if (re->simple) {
        return lg_schema_simple_match(re, s, len);
    }

    if (lg_schema_match_context == NULL) {
        lg_schema_match_context = pcre2_match_context_create(NULL);

        if (lg_schema_match_context == NULL) {
            return -1;
        }

        pcre2_set_match_limit(lg_schema_match_context,
                              LG_SCHEMA_MATCH_LIMIT);
        pcre2_set_depth_limit(lg_schema_match_context,
                              LG_SCHEMA_DEPTH_LIMIT);
        pcre2_set_heap_limit(lg_schema_match_context, LG_SCHEMA_HEAP_LIMIT);
    }

    if (lg_schema_match_data == NULL) {
        lg_schema_match_data = pcre2_match_data_create(1, NULL);

        if (lg_schema_match_data == NULL) {
            return -1;
        }
    }

    /*
     * Instance strings and keys are valid UTF-8 (see lg_schema.h), so a
     * JIT-compiled pattern runs its machine code directly, without
     * pcre2_match()'s option checks and its UTF-8 pass over the subject:
     * a third of the matching time for the sample schemas' patterns.
     */

    if (re->jit) {
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR) s, len, 0, 0,
                             lg_schema_match_data, lg_schema_match_context);

    } else {
        rc = pcre2_match(re->code, (PCRE2_SPTR) s, len, 0, 0,
                         lg_schema_match_data, lg_schema_match_context);
    }

    if (rc >= 0) {
        return 1;
    }

    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }

    pcre2_match_data_free(lg_schema_match_data);
    lg_schema_match_data = NULL;

    return -1;
}


static int
lg_schema_hashed_cmp(const void *a, const void *b)
{
    const lg_schema_hashed_t  *x, *y;

    x = a;
    y = b;

    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }

    return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}


/*
 * uniqueItems in O(n log n): sort by a hash that agrees with JSON Schema
 * equality, compare only within runs of equal hashes.  Returns 1 unique,
 * 0 with a duplicate (recorded), -1 out of memory.
 */

static int
lg_schema_unique(lg_schema_ctx_t *ctx, const lg_schema_tok_t *inst)
{
    size_t                  n, i, j, a, b;
    lg_schema_hashed_t     *h;
    const lg_schema_tok_t  *m;

    n = inst->len;

    if (n < 2) {
        return 1;
    }

    h = malloc(n * sizeof(lg_schema_hashed_t));
    if (h == NULL) {
        return -1;
    }

    for (i = 0, m = lg_schema_tok_first(inst); i < n; i++) {
        h[i].hash = lg_schema_tok_hash(m);
        h[i].index = i;
        h[i].tok = m;
        m = lg_schema_tok_next(m);
    }

    qsort(h, n, sizeof(lg_schema_hashed_t), lg_schema_hashed_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && h[j].hash == h[i].hash; j++) {
            /* void */
        }

        for (a = i; a < j; a++) {
            for (b = a + 1; b < j; b++) {
                if (lg_schema_tok_equal(h[a].tok, h[b].tok)) {
                    a = h[a].index;
                    b = h[b].index;
                    free(h);

                    return lg_schema_error(ctx, "uniqueItems",
                                           "items %zu and %zu are equal "
                                           "(items must be unique)",
                                           a < b ? a : b, a < b ? b : a);
                }
            }
        }
    }

    free(h);

    return 1;
}


int
lg_schema_numbers(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst)
{
    int              valid, rc;
    char             num_buf[40];
    lg_schema_num_t  num;

    valid = 1;

    lg_schema_tok_num(inst, &num);

    if ((node->num_flags & LG_SCHEMA_F_MINIMUM)
        && lg_schema_num_cmp(&num, &node->minimum) < 0)
    {
        lg_schema_num_print(num_buf, sizeof(num_buf), &node->minimum);
        rc = lg_schema_error(ctx, "minimum", "must be >= %s", num_buf);
        lg_schema_check(rc);
    }

    if ((node->num_flags & LG_SCHEMA_F_MAXIMUM)
        && lg_schema_num_cmp(&num, &node->maximum) > 0)
    {
        lg_schema_num_print(num_buf, sizeof(num_buf), &node->maximum);
        rc = lg_schema_error(ctx, "maximum", "must be <= %s", num_buf);
        lg_schema_check(rc);
    }

    if ((node->num_flags & LG_SCHEMA_F_XMINIMUM)
        && lg_schema_num_cmp(&num, &node->xminimum) <= 0)
    {
        lg_schema_num_print(num_buf, sizeof(num_buf), &node->xminimum);
        rc = lg_schema_error(ctx, "exclusiveMinimum", "must be > %s",
                             num_buf);
        lg_schema_check(rc);
    }

    if ((node->num_flags & LG_SCHEMA_F_XMAXIMUM)
        && lg_schema_num_cmp(&num, &node->xmaximum) >= 0)
    {
        lg_schema_num_print(num_buf, sizeof(num_buf), &node->xmaximum);
        rc = lg_schema_error(ctx, "exclusiveMaximum", "must be < %s",
                             num_buf);
        lg_schema_check(rc);
    }

    if ((node->num_flags & LG_SCHEMA_F_MULTIPLE)
        && !lg_schema_num_multiple(&num, &node->multiple_of))
    {
        lg_schema_num_print(num_buf, sizeof(num_buf), &node->multiple_of);
        rc = lg_schema_error(ctx, "multipleOf", "must be a multiple of %s",
                             num_buf);
        lg_schema_check(rc);
    }

    return valid;
}


/* lengths, "pattern" and "format" on the slice itself, never a copy */

int
lg_schema_strings(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst)
{
    int          valid, rc;
    char         buf[128];
    size_t       len, count;
    const char  *s;

    valid = 1;

    s = inst->v.str;
    len = inst->len;

    if (node->min_length > 0 || node->max_length != LG_SCHEMA_UNSET) {
        /*
         * A string of len bytes has between len / 4 (rounded up) and len
         * code points: they are counted only if that is not enough to
         * decide both bounds.
         */
        count = len;

        if ((len + 3) / 4 < node->min_length || len > node->max_length) {
            count = lg_utf8_length(s, len);
        }

        if (count < node->min_length) {
            rc = lg_schema_error(ctx, "minLength", "must be at least %zu "
                                 "characters long", node->min_length);
            lg_schema_check(rc);
        }

        if (node->max_length != LG_SCHEMA_UNSET && count > node->max_length)
        {
            rc = lg_schema_error(ctx, "maxLength", "must be at most %zu "
                                 "characters long", node->max_length);
            lg_schema_check(rc);
        }
    }

    if (node->pattern != NULL) {
        rc = lg_schema_match(ctx, node->pattern, s, len);

        if (rc == 0) {
            rc = lg_schema_error(ctx, "pattern", "must match the pattern %s",
                                 lg_schema_quote(buf, sizeof(buf),
                                                 node->pattern->source,
                                                 node->pattern->source_len));

        } else if (rc < 0) {
            rc = lg_schema_error(ctx, "pattern", "is too costly to match "
                                 "against the pattern");
        }

        lg_schema_check(rc);
    }

    if (node->format_check != NULL && node->format_check(s, len) == 0) {
        rc = lg_schema_error(ctx, "format", "must be a valid %s",
                             node->format);
        lg_schema_check(rc);
    }

    return valid;
}


int
lg_schema_arrays(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  n;

    valid = 1;
    n = inst->len;

    if (n < node->min_items) {
        rc = lg_schema_error(ctx, "minItems", "must have at least %zu items",
                             node->min_items);
        lg_schema_check(rc);
    }

    if (node->max_items != LG_SCHEMA_UNSET && n > node->max_items) {
        rc = lg_schema_error(ctx, "maxItems", "must have at most %zu items",
                             node->max_items);
        lg_schema_check(rc);
    }

    if (node->unique_items) {
        rc = lg_schema_unique(ctx, inst);
        lg_schema_check(rc);
    }

    if (node->nprefix_items > 0 || node->items != NULL) {
        rc = lg_schema_items(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    if (node->contains != NULL) {
        rc = lg_schema_contains(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    return valid;
}


/* "prefixItems" and "items" (draft-07: array "items", "additionalItems") */

static int
lg_schema_items(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int                     valid, rc;
    size_t                  i, n;
    lg_schema_seg_t         iseg;
    const lg_schema_tok_t  *m;
    const lg_schema_seg_t  *saved_ipath;

    valid = 1;
    n = inst->len;
    m = lg_schema_tok_first(inst);
    saved_ipath = ctx->ipath;

    iseg.prev = saved_ipath;
    iseg.str = NULL;

    for (i = 0; i < n && i < node->nprefix_items; i++) {
        iseg.index = i;
        ctx->ipath = &iseg;

        rc = lg_schema_sub(ctx, node->prefix_items[i], m, NULL,
                           node->prefix_kw, NULL, 0, i);
        ctx->ipath = saved_ipath;
        lg_schema_check(rc);

        if (ev != NULL) {
            lg_bit_set(ev, i);
        }

        m = lg_schema_tok_next(m);
    }

    if (node->items == NULL) {
        return valid;
    }

    for ( /* void */ ; i < n; i++) {
        iseg.index = i;
        ctx->ipath = &iseg;

        if (node->items->boolean == 0) {
            rc = lg_schema_error(ctx, node->items_kw, "item %zu is not "
                                 "allowed", i);

        } else {
            rc = lg_schema_sub(ctx, node->items, m, NULL, node->items_kw,
                               NULL, 0, LG_SCHEMA_UNSET);
        }

        ctx->ipath = saved_ipath;
        lg_schema_check(rc);

        if (ev != NULL) {
            lg_bit_set(ev, i);
        }

        m = lg_schema_tok_next(m);
    }

    return valid;
}


static int
lg_schema_contains(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int                     valid, rc;
    size_t                  i, n, count;
    const lg_schema_tok_t  *m;

    valid = 1;
    n = inst->len;
    count = 0;

    ctx->quiet++;

    for (i = 0, m = lg_schema_tok_first(inst); i < n; i++) {
        rc = lg_schema_sub(ctx, node->contains, m, NULL, "contains", NULL, 0,
                           LG_SCHEMA_UNSET);
        if (rc < 0) {
            ctx->quiet--;
            return -1;
        }

        if (rc) {
            count++;

            if (ev != NULL) {
                lg_bit_set(ev, i);

            } else if (count >= node->min_contains
                       && node->max_contains == LG_SCHEMA_UNSET)
            {
                break;
            }
        }

        m = lg_schema_tok_next(m);
    }

    ctx->quiet--;

    if (count < node->min_contains) {
        rc = lg_schema_error(ctx, node->min_contains == 1
                             ? "contains" : "minContains",
                             "must contain at least %zu matching item%s",
                             node->min_contains,
                             node->min_contains == 1 ? "" : "s");
        lg_schema_check(rc);
    }

    if (node->max_contains != LG_SCHEMA_UNSET && count > node->max_contains)
    {
        rc = lg_schema_error(ctx, "maxContains", "must contain at most %zu "
                             "matching items", node->max_contains);
        lg_schema_check(rc);
    }

    return valid;
}


/* the entry + 1 of a member's key in the node's names, 0 if none */

static inline uint32_t
lg_schema_name_find(const lg_schema_node_t *node, const lg_schema_tok_t *key)
{
    uint32_t                 i, e;
    const lg_schema_name_t  *n;

    for (i = key->hash & node->name_mask;
         (e = node->name_slots[i]) != 0;
         i = (i + 1) & node->name_mask)
    {
        n = &node->names[e - 1];

        if (n->hash == key->hash && n->len == key->len
            && lg_schema_str_eq(n->name, key->v.str, key->len))
        {
            return e;
        }
    }

    return 0;
}


/* lg_schema_check() in a section that frees what it holds at "done" */

#define lg_schema_check_done(rc)                                              \
    do {                                                                      \
        if ((rc) < 0) {                                                       \
            valid = -1;                                                       \
            goto done;                                                        \
        }                                                                     \
        if ((rc) == 0) {                                                      \
            valid = 0;                                                        \
            if (ctx->quiet || ctx->stop) {                                    \
                goto done;                                                    \
            }                                                                 \
        }                                                                     \
    } while (0)


#define lg_schema_seen(lk, e)                                                 \
    ((lk)->seen[(e) >> 6] & ((uint64_t) 1 << ((e) & 63)))


int
lg_schema_objects(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int                      valid, rc;
    size_t                   i, n;
    lg_schema_lookup_t       lookup, *lk;
    const lg_schema_prop_t  *p;

    valid = 1;
    n = inst->len;
    lk = NULL;

    if (n < node->min_properties) {
        rc = lg_schema_error(ctx, "minProperties", "must have at least %zu "
                             "properties", node->min_properties);
        lg_schema_check(rc);
    }

    if (node->max_properties != LG_SCHEMA_UNSET && n > node->max_properties)
    {
        rc = lg_schema_error(ctx, "maxProperties", "must have at most %zu "
                             "properties", node->max_properties);
        lg_schema_check(rc);
    }

    if (node->nrequired > 0 || node->ndependent_required > 0
        || node->ndependent_schemas > 0)
    {
        /* one pass over the members answers all three */
        if (lg_schema_lookup(node, inst, &lookup) != 0) {
            return -1;
        }

        lk = &lookup;

        rc = lg_schema_required(ctx, node, lk);
        lg_schema_check_done(rc);
    }

    if (node->nproperties > 0 || node->npattern_properties > 0
        || node->additional_properties != NULL)
    {
        rc = lg_schema_properties(ctx, node, inst, ev, lk);
        lg_schema_check_done(rc);
    }

    for (i = 0; i < node->ndependent_schemas; i++) {
        p = &node->dependent_schemas[i];

        if (lg_schema_seen(lk, p->entry)) {
            rc = lg_schema_sub(ctx, p->node, inst, ev, node->dep_schemas_kw,
                               p->name, p->len, LG_SCHEMA_UNSET);
            lg_schema_check_done(rc);
        }
    }

    if (node->property_names != NULL) {
        rc = lg_schema_property_names(ctx, node, inst);
        lg_schema_check_done(rc);
    }

done:

    if (lk != NULL && lk->seen != lk->inl) {
        free(lk->seen);
    }

    return valid;
}


/*
 * Looks every member up once in the node's names: the names seen, and
 * the entries of the first members for the "properties" pass.
 */

static int
lg_schema_lookup(const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_lookup_t *lk)
{
    size_t                  words;
    uint32_t                i, e;
    const lg_schema_tok_t  *k;

    words = (node->nnames + 63) / 64;

    if (words <= sizeof(lk->inl) / sizeof(lk->inl[0])) {
        lk->seen = lk->inl;

    } else {
        lk->seen = malloc(words * sizeof(uint64_t));
        if (lk->seen == NULL) {
            return -1;
        }
    }

    memset(lk->seen, 0, words * sizeof(uint64_t));

    for (i = 0, k = lg_schema_tok_first(inst); i < inst->len; i++) {
        e = lg_schema_name_find(node, k);

        if (i < LG_SCHEMA_MEMBER_CACHE) {
            lk->entry[i] = e;
        }

        if (e != 0) {
            e--;
            lk->seen[e >> 6] |= (uint64_t) 1 << (e & 63);
        }

        k = lg_schema_tok_next(k + 1);
    }

    return 0;
}


/* "required" and "dependentRequired" (draft-07: array "dependencies") */

static int
lg_schema_required(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_lookup_t *lk)
{
    int                      valid, rc;
    char                     buf[128];
    size_t                   i, j;
    lg_schema_seg_t          k;
    const lg_schema_dep_t   *d;
    const lg_schema_prop_t  *p;

    valid = 1;

    for (i = 0; i < node->nrequired; i++) {
        p = &node->required[i];

        if (!lg_schema_seen(lk, p->entry)) {
            rc = lg_schema_error(ctx, "required", "missing required "
                                 "property %s",
                                 lg_schema_quote(buf, sizeof(buf), p->name,
                                                 p->len));
            lg_schema_check(rc);
        }
    }

    for (i = 0; i < node->ndependent_required; i++) {
        d = &node->dependent_required[i];

        if (!lg_schema_seen(lk, d->entry)) {
            continue;
        }

        for (j = 0; j < d->nrequired; j++) {
            p = &d->required[j];

            if (lg_schema_seen(lk, p->entry)) {
                continue;
            }

            k.prev = ctx->kpath;
            k.str = node->dep_required_kw;
            k.len = LG_SCHEMA_UNSET;
            ctx->kpath = &k;

            rc = lg_schema_error(ctx, NULL, "missing property %s (required "
                                 "when %.*s is present)",
                                 lg_schema_quote(buf, sizeof(buf), p->name,
                                                 p->len),
                                 (int) d->len, d->name);
            ctx->kpath = k.prev;
            lg_schema_check(rc);
        }
    }

    return valid;
}


/*
 * "properties", "patternProperties" and "additionalProperties", member by
 * member
 */

static int
lg_schema_properties(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev,
    const lg_schema_lookup_t *lk)
{
    int                      valid, rc, matched;
    char                     buf[128];
    uint32_t                 i, e;
    lg_schema_seg_t          iseg;
    const lg_schema_tok_t   *k;
    const lg_schema_seg_t   *saved_ipath;
    const lg_schema_prop_t  *p;

    valid = 1;
    saved_ipath = ctx->ipath;

    iseg.prev = saved_ipath;

    for (i = 0, k = lg_schema_tok_first(inst);
         i < inst->len;
         i++, k = lg_schema_tok_next(k + 1))
    {
        matched = 0;

        iseg.str = k->v.str;
        iseg.len = k->len;

        if (node->nproperties > 0) {
            e = (lk != NULL && i < LG_SCHEMA_MEMBER_CACHE)
                ? lk->entry[i] : lg_schema_name_find(node, k);

            p = (e != 0) ? node->names[e - 1].property : NULL;

            if (p != NULL) {
                matched = 1;
                ctx->ipath = &iseg;
                rc = lg_schema_sub(ctx, p->node, k + 1, NULL, "properties",
                                   p->name, p->len, LG_SCHEMA_UNSET);
                ctx->ipath = saved_ipath;
                lg_schema_check(rc);
            }
        }

        if (node->npattern_properties > 0) {
            rc = lg_schema_pattern_properties(ctx, node, &iseg, k, &matched);
            lg_schema_check(rc);
        }

        if (!matched && node->additional_properties != NULL) {
            matched = 1;
            ctx->ipath = &iseg;

            if (node->additional_properties->boolean == 0) {
                rc = lg_schema_error(ctx, "additionalProperties",
                                     "property %s is not allowed",
                                     lg_schema_quote(buf, sizeof(buf),
                                                     k->v.str, k->len));

            } else {
                rc = lg_schema_sub(ctx, node->additional_properties, k + 1,
                                   NULL, "additionalProperties", NULL, 0,
                                   LG_SCHEMA_UNSET);
            }

            ctx->ipath = saved_ipath;
            lg_schema_check(rc);
        }

        if (matched && ev != NULL) {
            lg_bit_set(ev, i);
        }
    }

    return valid;
}


/* one member against every "patternProperties" entry */

static int
lg_schema_pattern_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_seg_t *iseg,
    const lg_schema_tok_t *key, int *matched)
{
    int                       valid, rc;
    char                      buf[128];
    size_t                    j;
    const lg_schema_seg_t    *saved_ipath;
    const lg_schema_pprop_t  *pp;

    valid = 1;
    saved_ipath = ctx->ipath;

    for (j = 0; j < node->npattern_properties; j++) {
        pp = &node->pattern_properties[j];

        rc = lg_schema_match(ctx, &pp->re, key->v.str, key->len);

        if (rc < 0) {
            ctx->ipath = iseg;
            rc = lg_schema_error(ctx, "patternProperties", "is too costly "
                                 "to match against %s",
                                 lg_schema_quote(buf, sizeof(buf),
                                                 pp->re.source,
                                                 pp->re.source_len));
            ctx->ipath = saved_ipath;
            lg_schema_check(rc);
            continue;
        }

        if (rc == 0) {
            continue;
        }

        *matched = 1;
        ctx->ipath = iseg;
        rc = lg_schema_sub(ctx, pp->node, key + 1, NULL, "patternProperties",
                           pp->re.source, pp->re.source_len,
                           LG_SCHEMA_UNSET);
        ctx->ipath = saved_ipath;
        lg_schema_check(rc);
    }

    return valid;
}


/* each member name as a string instance: its key token is one */

static int
lg_schema_property_names(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst)
{
    int                     valid, rc;
    uint32_t                i;
    lg_schema_seg_t         iseg;
    const lg_schema_tok_t  *k;
    const lg_schema_seg_t  *saved_ipath;

    valid = 1;
    saved_ipath = ctx->ipath;

    iseg.prev = saved_ipath;

    for (i = 0, k = lg_schema_tok_first(inst);
         i < inst->len;
         i++, k = lg_schema_tok_next(k + 1))
    {
        iseg.str = k->v.str;
        iseg.len = k->len;
        ctx->ipath = &iseg;

        rc = lg_schema_sub(ctx, node->property_names, k, NULL,
                           "propertyNames", NULL, 0, LG_SCHEMA_UNSET);
        ctx->ipath = saved_ipath;
        lg_schema_check(rc);
    }

    return valid;
}
