
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
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema_validate_int.h"
#include "lg_utf8.h"


typedef struct {
    uint64_t   hash;
    size_t     index;
} lg_schema_hashed_t;


static void lg_schema_num_print(char *buf, size_t size,
    const lg_schema_num_t *num);
static int lg_schema_match(lg_schema_ctx_t *ctx, const lg_schema_regex_t *re,
    const char *s, size_t len);
static int lg_schema_hashed_cmp(const void *a, const void *b);
static int lg_schema_unique(lg_schema_ctx_t *ctx, const json_t *inst);
static int lg_schema_items(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev);
static int lg_schema_contains(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const json_t *inst, lg_schema_eval_t *ev);
static int lg_schema_required(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const json_t *inst);
static int lg_schema_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const json_t *inst, lg_schema_eval_t *ev);
static int lg_schema_pattern_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_seg_t *iseg,
    const char *key, size_t len, const json_t *v, int *matched);
static int lg_schema_property_names(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const json_t *inst);


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
lg_schema_unique(lg_schema_ctx_t *ctx, const json_t *inst)
{
    size_t               n, i, j, a, b;
    lg_schema_hashed_t  *h;

    n = json_array_size(inst);

    if (n < 2) {
        return 1;
    }

    h = malloc(n * sizeof(lg_schema_hashed_t));
    if (h == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        h[i].hash = lg_schema_json_hash(json_array_get(inst, i));
        h[i].index = i;
    }

    qsort(h, n, sizeof(lg_schema_hashed_t), lg_schema_hashed_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && h[j].hash == h[i].hash; j++) {
            /* void */
        }

        for (a = i; a < j; a++) {
            for (b = a + 1; b < j; b++) {
                if (lg_schema_json_equal(json_array_get(inst, h[a].index),
                                         json_array_get(inst, h[b].index)))
                {
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
    const json_t *inst)
{
    int              valid, rc;
    char             num_buf[40];
    lg_schema_num_t  num;

    valid = 1;

    lg_schema_num_get(inst, &num);

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


int
lg_schema_strings(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst)
{
    int          valid, rc;
    char         buf[128];
    size_t       len, count;
    const char  *s;

    valid = 1;

    s = json_string_value(inst);
    len = json_string_length(inst);

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
                                     strlen(node->pattern->source)));

        } else if (rc < 0) {
            rc = lg_schema_error(ctx, "pattern", "is too costly to match "
                                 "against the pattern");
        }

        lg_schema_check(rc);
    }

    if (node->format_assert && ctx->schema->format_assertion
        && lg_schema_format_check(node->format, s, len) == 0)
    {
        rc = lg_schema_error(ctx, "format", "must be a valid %s",
                             node->format);
        lg_schema_check(rc);
    }

    return valid;
}


int
lg_schema_arrays(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  n;

    valid = 1;
    n = json_array_size(inst);

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

    rc = lg_schema_items(ctx, node, inst, ev);
    lg_schema_check(rc);

    if (node->contains != NULL) {
        rc = lg_schema_contains(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    return valid;
}


/* "prefixItems" and "items" (draft-07: array "items", "additionalItems") */

static int
lg_schema_items(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev)
{
    int                     valid, rc;
    size_t                  i, n;
    lg_schema_seg_t         iseg;
    const lg_schema_seg_t  *saved_ipath;

    valid = 1;
    n = json_array_size(inst);
    saved_ipath = ctx->ipath;

    iseg.prev = saved_ipath;
    iseg.str = NULL;

    for (i = 0; i < n && i < node->nprefix_items; i++) {
        iseg.index = i;
        ctx->ipath = &iseg;

        rc = lg_schema_sub(ctx, node->prefix_items[i],
                           json_array_get(inst, i), NULL, node->prefix_kw,
                           NULL, 0, i);
        ctx->ipath = saved_ipath;
        lg_schema_check(rc);

        if (ev != NULL) {
            lg_bit_set(ev, i);
        }
    }

    if (node->items == NULL) {
        return valid;
    }

    for (i = node->nprefix_items; i < n; i++) {
        iseg.index = i;
        ctx->ipath = &iseg;

        if (node->items->boolean == 0) {
            rc = lg_schema_error(ctx, node->items_kw, "item %zu is not "
                                 "allowed", i);

        } else {
            rc = lg_schema_sub(ctx, node->items, json_array_get(inst, i),
                               NULL, node->items_kw, NULL, 0,
                               LG_SCHEMA_UNSET);
        }

        ctx->ipath = saved_ipath;
        lg_schema_check(rc);

        if (ev != NULL) {
            lg_bit_set(ev, i);
        }
    }

    return valid;
}


static int
lg_schema_contains(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  i, n, count;

    valid = 1;
    n = json_array_size(inst);
    count = 0;

    ctx->quiet++;

    for (i = 0; i < n; i++) {
        rc = lg_schema_sub(ctx, node->contains, json_array_get(inst, i),
                           NULL, "contains", NULL, 0, LG_SCHEMA_UNSET);
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


int
lg_schema_objects(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev)
{
    int                      valid, rc;
    size_t                   i, n;
    const lg_schema_prop_t  *p;

    valid = 1;
    n = json_object_size(inst);

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

    rc = lg_schema_required(ctx, node, inst);
    lg_schema_check(rc);

    if (node->nproperties > 0 || node->npattern_properties > 0
        || node->additional_properties != NULL)
    {
        rc = lg_schema_properties(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    for (i = 0; i < node->ndependent_schemas; i++) {
        p = &node->dependent_schemas[i];

        if (json_object_getn(inst, p->name, p->len) != NULL) {
            rc = lg_schema_sub(ctx, p->node, inst, ev, node->dep_schemas_kw,
                               p->name, p->len, LG_SCHEMA_UNSET);
            lg_schema_check(rc);
        }
    }

    if (node->property_names != NULL) {
        rc = lg_schema_property_names(ctx, node, inst);
        lg_schema_check(rc);
    }

    return valid;
}


/* "required" and "dependentRequired" (draft-07: array "dependencies") */

static int
lg_schema_required(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst)
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

        if (json_object_getn(inst, p->name, p->len) == NULL) {
            rc = lg_schema_error(ctx, "required", "missing required "
                                 "property %s",
                                 lg_schema_quote(buf, sizeof(buf), p->name,
                                                 p->len));
            lg_schema_check(rc);
        }
    }

    for (i = 0; i < node->ndependent_required; i++) {
        d = &node->dependent_required[i];

        if (json_object_getn(inst, d->name, d->len) == NULL) {
            continue;
        }

        for (j = 0; j < d->nrequired; j++) {
            p = &d->required[j];

            if (json_object_getn(inst, p->name, p->len) != NULL) {
                continue;
            }

            k.prev = ctx->kpath;
            k.str = node->dep_required_kw;
            k.len = strlen(k.str);
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
    const json_t *inst, lg_schema_eval_t *ev)
{
    int                      valid, rc, matched;
    char                     buf[128];
    void                    *it;
    size_t                   i, len;
    json_t                  *v;
    const char              *key;
    lg_schema_seg_t          iseg;
    const lg_schema_seg_t   *saved_ipath;
    const lg_schema_prop_t  *p;

    valid = 1;
    saved_ipath = ctx->ipath;
    i = 0;

    lg_schema_object_foreach(inst, it, key, len, v) {
        matched = 0;

        iseg.prev = saved_ipath;
        iseg.str = key;
        iseg.len = len;

        if (node->nproperties > 0) {
            p = lg_schema_prop_find(node->properties, node->nproperties, key,
                                    len);

            if (p != NULL) {
                matched = 1;
                ctx->ipath = &iseg;
                rc = lg_schema_sub(ctx, p->node, v, NULL, "properties",
                                   p->name, p->len, LG_SCHEMA_UNSET);
                ctx->ipath = saved_ipath;
                lg_schema_check(rc);
            }
        }

        if (node->npattern_properties > 0) {
            rc = lg_schema_pattern_properties(ctx, node, &iseg, key, len, v,
                                              &matched);
            lg_schema_check(rc);
        }

        if (!matched && node->additional_properties != NULL) {
            matched = 1;
            ctx->ipath = &iseg;

            if (node->additional_properties->boolean == 0) {
                rc = lg_schema_error(ctx, "additionalProperties",
                                     "property %s is not allowed",
                                     lg_schema_quote(buf, sizeof(buf), key,
                                                     len));

            } else {
                rc = lg_schema_sub(ctx, node->additional_properties, v,
                                   NULL, "additionalProperties", NULL, 0,
                                   LG_SCHEMA_UNSET);
            }

            ctx->ipath = saved_ipath;
            lg_schema_check(rc);
        }

        if (matched && ev != NULL) {
            lg_bit_set(ev, i);
        }

        i++;
    }

    return valid;
}


/* one member against every "patternProperties" entry */

static int
lg_schema_pattern_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_seg_t *iseg,
    const char *key, size_t len, const json_t *v, int *matched)
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

        rc = lg_schema_match(ctx, &pp->re, key, len);

        if (rc < 0) {
            ctx->ipath = iseg;
            rc = lg_schema_error(ctx, "patternProperties", "is too costly "
                                 "to match against %s",
                                 lg_schema_quote(buf, sizeof(buf),
                                                 pp->re.source,
                                                 strlen(pp->re.source)));
            ctx->ipath = saved_ipath;
            lg_schema_check(rc);
            continue;
        }

        if (rc == 0) {
            continue;
        }

        *matched = 1;
        ctx->ipath = iseg;
        rc = lg_schema_sub(ctx, pp->node, v, NULL, "patternProperties",
                           pp->re.source, strlen(pp->re.source),
                           LG_SCHEMA_UNSET);
        ctx->ipath = saved_ipath;
        lg_schema_check(rc);
    }

    return valid;
}


/* each member name as a string instance */

static int
lg_schema_property_names(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst)
{
    int                     valid, rc;
    void                   *it;
    size_t                  len;
    json_t                 *key_json;
    const char             *key;
    lg_schema_seg_t         iseg;
    const lg_schema_seg_t  *saved_ipath;

    valid = 1;
    saved_ipath = ctx->ipath;

    for (it = json_object_iter((json_t *) inst);
         it != NULL;
         it = json_object_iter_next((json_t *) inst, it))
    {
        key = json_object_iter_key(it);
        len = json_object_iter_key_len(it);

        key_json = json_stringn_nocheck(key, len);
        if (key_json == NULL) {
            return -1;
        }

        iseg.prev = saved_ipath;
        iseg.str = key;
        iseg.len = len;
        ctx->ipath = &iseg;

        rc = lg_schema_sub(ctx, node->property_names, key_json, NULL,
                           "propertyNames", NULL, 0, LG_SCHEMA_UNSET);
        ctx->ipath = saved_ipath;
        json_decref(key_json);
        lg_schema_check(rc);
    }

    return valid;
}
