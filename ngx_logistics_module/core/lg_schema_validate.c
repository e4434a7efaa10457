
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The validator: one walk of the compiled tree over the instance.
 *
 * Locations are kept as linked lists of segments on the C stack and only
 * turned into JSON Pointers when an error is recorded.  Subschemas whose
 * failure is not an error by itself (anyOf, oneOf, not, if, contains) run
 * "quiet": nothing is recorded and the first failure ends them.
 *
 * unevaluatedProperties / unevaluatedItems need the annotations of every
 * subschema applied to the same instance: a bitmap over the object's
 * members (in iteration order) or the array's items is passed down to
 * in-place applicators, and only when some schema up the path asked for
 * it, so schemas without "unevaluated*" pay nothing.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema_int.h"
#include "lg_utf8.h"


#define LG_SCHEMA_EVAL_INLINE  4      /* 256 members without malloc */


typedef struct lg_schema_seg_s  lg_schema_seg_t;

struct lg_schema_seg_s {
    const lg_schema_seg_t  *prev;
    const char             *str;      /* NULL: an index */
    size_t                  len;
    size_t                  index;
};


typedef struct {
    size_t                  n;
    uint64_t               *bits;
    uint64_t                inl[LG_SCHEMA_EVAL_INLINE];
} lg_schema_eval_t;


typedef struct {
    const lg_schema_t      *schema;
    lg_schema_result_t     *result;
    int                     quiet;
    int                     stop;
    int                     oom;
    size_t                  depth;
    const lg_schema_seg_t  *kpath;
    const lg_schema_seg_t  *ipath;
    size_t                  nscope;
    const lg_schema_resource_t  *scope[LG_SCHEMA_MAX_EVAL_DEPTH];
} lg_schema_ctx_t;


static lg_schema_ctx_t  *lg_schema_ctx;


static int lg_schema_node_validate(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const json_t *inst, lg_schema_eval_t *ev);
static int lg_schema_eval_init(lg_schema_eval_t *ev, size_t n);
static void lg_schema_eval_free(lg_schema_eval_t *ev);
static void lg_schema_eval_merge(lg_schema_eval_t *dst,
    const lg_schema_eval_t *src);
static char *lg_schema_pointer(lg_schema_ctx_t *ctx,
    const lg_schema_seg_t *seg);
static int lg_schema_error(lg_schema_ctx_t *ctx, const char *kw,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static const char *lg_schema_quote(char *buf, size_t size, const char *s,
    size_t len);
static void lg_schema_num_print(char *buf, size_t size,
    const lg_schema_num_t *num);
static int lg_schema_match(lg_schema_ctx_t *ctx, const lg_schema_regex_t *re,
    const char *s, size_t len);
static int lg_schema_sub(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev, const char *kw,
    const char *name, size_t name_len, size_t index);
static int lg_schema_unique(lg_schema_ctx_t *ctx, const json_t *inst);


static const char  *lg_schema_type_names[] = {
    "null", "boolean", "object", "array", "number", "string", "integer",
    NULL
};


#define lg_bit_set(ev, i)                                                     \
    ((ev)->bits[(i) >> 6] |= (uint64_t) 1 << ((i) & 63))

#define lg_bit_test(ev, i)                                                    \
    ((ev)->bits[(i) >> 6] & ((uint64_t) 1 << ((i) & 63)))


int
lg_schema_validate(const lg_schema_t *schema, const json_t *instance,
    lg_schema_result_t *result)
{
    int               rc;
    lg_schema_ctx_t  *ctx;

    /*
     * The context is kept for the process, like the match data below:
     * validation runs in one thread and never inside itself.  Its scope
     * stack (8 KB) is filled as it grows: only the head is reset.
     */

    if (lg_schema_ctx == NULL) {
        lg_schema_ctx = malloc(sizeof(lg_schema_ctx_t));
        if (lg_schema_ctx == NULL) {
            return -1;
        }
    }

    ctx = lg_schema_ctx;
    memset(ctx, 0, offsetof(lg_schema_ctx_t, scope));

    ctx->schema = schema;
    ctx->result = result;

    /* the errors array comes from the arena with the first error */
    result->nerrors = 0;
    result->errors = NULL;

    rc = lg_schema_node_validate(ctx, schema->root, instance, NULL);

    if (ctx->oom) {
        rc = -1;
    }

    return rc < 0 ? -1 : (rc ? 0 : 1);
}


static int
lg_schema_eval_init(lg_schema_eval_t *ev, size_t n)
{
    size_t  words;

    ev->n = n;
    words = (n + 63) / 64;

    if (words <= LG_SCHEMA_EVAL_INLINE) {
        ev->bits = ev->inl;
        memset(ev->inl, 0, sizeof(ev->inl));
        return 0;
    }

    ev->bits = calloc(words, sizeof(uint64_t));

    return ev->bits == NULL ? -1 : 0;
}


static void
lg_schema_eval_free(lg_schema_eval_t *ev)
{
    if (ev->bits != NULL && ev->bits != ev->inl) {
        free(ev->bits);
    }

    ev->bits = NULL;
}


static void
lg_schema_eval_merge(lg_schema_eval_t *dst, const lg_schema_eval_t *src)
{
    size_t  i;

    for (i = 0; i < (dst->n + 63) / 64; i++) {
        dst->bits[i] |= src->bits[i];
    }
}


/* the JSON Pointer of a segment list, allocated from the result arena */

static char *
lg_schema_pointer(lg_schema_ctx_t *ctx, const lg_schema_seg_t *seg)
{
    char                   *buf, *p, num[24];
    size_t                  len, i, n;
    const lg_schema_seg_t  *s;

    len = 0;

    for (s = seg; s != NULL; s = s->prev) {
        len++;

        if (s->str == NULL) {
            len += (size_t) snprintf(num, sizeof(num), "%zu", s->index);
            continue;
        }

        for (i = 0; i < s->len; i++) {
            len += (s->str[i] == '~' || s->str[i] == '/') ? 2 : 1;
        }
    }

    buf = lg_arena_alloc(ctx->result->arena, len + 1);
    if (buf == NULL) {
        return NULL;
    }

    p = buf + len;
    *p = '\0';

    for (s = seg; s != NULL; s = s->prev) {
        if (s->str == NULL) {
            n = (size_t) snprintf(num, sizeof(num), "%zu", s->index);
            p -= n;
            memcpy(p, num, n);

        } else {
            for (i = s->len; i > 0; i--) {
                if (s->str[i - 1] == '~') {
                    *--p = '0';
                    *--p = '~';

                } else if (s->str[i - 1] == '/') {
                    *--p = '1';
                    *--p = '~';

                } else {
                    *--p = s->str[i - 1];
                }
            }
        }

        *--p = '/';
    }

    return buf;
}


/*
 * Records an error at the current locations (plus "kw" on the keyword
 * path).  Returns 0, the result of the failed keyword, so callers can
 * "return lg_schema_error(...)".
 */

static int
lg_schema_error(lg_schema_ctx_t *ctx, const char *kw, const char *fmt, ...)
{
    char                msg[512];
    va_list             args;
    lg_schema_seg_t     seg;
    lg_schema_error_t  *e;
    lg_schema_result_t *r;

    if (ctx->quiet) {
        return 0;
    }

    r = ctx->result;

    if (r->nerrors >= r->max_errors) {
        ctx->stop = 1;
        return 0;
    }

    if (r->errors == NULL) {
        r->errors = lg_arena_calloc(r->arena, r->max_errors,
                                    sizeof(lg_schema_error_t));
        if (r->errors == NULL) {
            ctx->oom = 1;
            ctx->stop = 1;
            return 0;
        }
    }

    e = &r->errors[r->nerrors];

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    if (kw != NULL) {
        seg.prev = ctx->kpath;
        seg.str = kw;
        seg.len = strlen(kw);
        ctx->kpath = &seg;
    }

    e->instance_location = lg_schema_pointer(ctx, ctx->ipath);
    e->keyword_location = lg_schema_pointer(ctx, ctx->kpath);
    e->message = lg_arena_strndup(r->arena, msg, strlen(msg));

    if (kw != NULL) {
        ctx->kpath = seg.prev;
    }

    if (e->instance_location != NULL && e->keyword_location != NULL
        && e->message != NULL)
    {
        r->nerrors++;
    }

    if (r->nerrors >= r->max_errors) {
        ctx->stop = 1;
    }

    return 0;
}


/* a property name for a message: escaped, quoted, at most 64 bytes */

static const char *
lg_schema_quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t  n;

    n = len;

    if (n > 64) {
        n = 64;

        /* never cut a UTF-8 sequence */
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    lg_json_escape(buf, size, s, n);

    if (n < len && strlen(buf) + 4 < size) {
        strcat(buf, "...");
    }

    return buf;
}


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


/*
 * Applies "node" to "inst" with "kw" (and "name" or "index") appended to
 * the keyword path.  The instance path is the caller's business.
 */

static int
lg_schema_sub(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev, const char *kw,
    const char *name, size_t name_len, size_t index)
{
    int                     rc;
    lg_schema_seg_t         k1, k2;
    const lg_schema_seg_t  *saved;

    saved = ctx->kpath;

    k1.prev = saved;
    k1.str = kw;
    k1.len = strlen(kw);
    ctx->kpath = &k1;

    if (name != NULL) {
        k2.prev = &k1;
        k2.str = name;
        k2.len = name_len;
        ctx->kpath = &k2;

    } else if (index != LG_SCHEMA_UNSET) {
        k2.prev = &k1;
        k2.str = NULL;
        k2.index = index;
        ctx->kpath = &k2;
    }

    rc = lg_schema_node_validate(ctx, node, inst, ev);

    ctx->kpath = saved;

    return rc;
}


/*
 * Applies a subschema whose annotations count only if it matches (anyOf,
 * oneOf, if): they are collected apart and merged into "ev" on a match.
 */

static int
lg_schema_branch(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *ev, const char *kw, size_t index)
{
    int               rc;
    lg_schema_eval_t  tmp;

    if (ev == NULL) {
        return lg_schema_sub(ctx, node, inst, NULL, kw, NULL, 0, index);
    }

    if (lg_schema_eval_init(&tmp, ev->n) != 0) {
        return -1;
    }

    rc = lg_schema_sub(ctx, node, inst, &tmp, kw, NULL, 0, index);

    if (rc > 0) {
        lg_schema_eval_merge(ev, &tmp);
    }

    lg_schema_eval_free(&tmp);

    return rc;
}


typedef struct {
    uint64_t   hash;
    size_t     index;
} lg_schema_hashed_t;


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


#define lg_schema_check(rc)                                                   \
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


static int
lg_schema_node_validate(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const json_t *inst, lg_schema_eval_t *parent)
{
    int                          valid, rc, pushed, matched, is_obj, is_arr;
    char                         buf[128], num_buf[40];
    size_t                       i, j, n, count, len, nmatched;
    void                        *it;
    json_t                      *v, *key_json;
    unsigned                     type;
    const char                  *key, *s;
    lg_schema_num_t              num;
    lg_schema_seg_t              iseg;
    lg_schema_eval_t             local, *ev;
    const lg_schema_seg_t       *saved_ipath;
    const lg_schema_node_t      *target;
    const lg_schema_prop_t      *p;
    const lg_schema_resource_t  *res;

    if (node->boolean == 1) {
        return 1;
    }

    if (node->boolean == 0) {
        return lg_schema_error(ctx, NULL, "no value is allowed here");
    }

    if (ctx->depth >= LG_SCHEMA_MAX_EVAL_DEPTH) {
        /* the one error worth reporting, even from inside anyOf */
        rc = ctx->quiet;
        ctx->quiet = 0;
        ctx->result->nerrors = 0;
        lg_schema_error(ctx, NULL, "schema evaluation is nested deeper "
                        "than %d levels: the value is nested too deeply "
                        "for this schema", LG_SCHEMA_MAX_EVAL_DEPTH);
        ctx->quiet = rc;
        return -1;
    }

    ctx->depth++;

    valid = 1;
    ev = NULL;
    local.bits = NULL;
    saved_ipath = ctx->ipath;

    is_obj = json_is_object(inst);
    is_arr = json_is_array(inst);
    n = is_obj ? json_object_size(inst) : (is_arr ? json_array_size(inst)
                                                  : 0);

    /* the dynamic scope: resources entered on the way here */
    pushed = 0;

    if (node->resource != NULL
        && (ctx->nscope == 0 || ctx->scope[ctx->nscope - 1] != node->resource))
    {
        ctx->scope[ctx->nscope++] = node->resource;
        pushed = 1;
    }

    if ((is_obj && node->unevaluated_properties != NULL)
        || (is_arr && node->unevaluated_items != NULL))
    {
        if (lg_schema_eval_init(&local, n) != 0) {
            valid = -1;
            goto done;
        }

        ev = &local;

    } else if (is_obj || is_arr) {
        ev = parent;
    }

    /* references */

    if (node->ref != NULL) {
        rc = lg_schema_sub(ctx, node->ref, inst, ev, "$ref", NULL, 0,
                           LG_SCHEMA_UNSET);
        lg_schema_check(rc);
    }

    if (node->dynamic_ref != NULL) {
        target = node->dynamic_ref;

        if (node->dynamic_name != NULL) {
            /* the outermost resource with that $dynamicAnchor wins */
            for (i = 0; i < ctx->nscope; i++) {
                res = ctx->scope[i];

                for (j = 0; j < res->ndynamic; j++) {
                    if (strcmp(res->dynamic[j].name, node->dynamic_name)
                        == 0)
                    {
                        target = res->dynamic[j].node;
                        break;
                    }
                }

                if (j < res->ndynamic) {
                    break;
                }
            }
        }

        rc = lg_schema_sub(ctx, target, inst, ev, "$dynamicRef", NULL, 0,
                           LG_SCHEMA_UNSET);
        lg_schema_check(rc);
    }

    /* any instance */

    if (node->types != 0) {
        switch (json_typeof(inst)) {
        case JSON_NULL:
            type = LG_SCHEMA_T_NULL;
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            type = LG_SCHEMA_T_BOOLEAN;
            break;
        case JSON_OBJECT:
            type = LG_SCHEMA_T_OBJECT;
            break;
        case JSON_ARRAY:
            type = LG_SCHEMA_T_ARRAY;
            break;
        case JSON_STRING:
            type = LG_SCHEMA_T_STRING;
            break;
        default:
            type = LG_SCHEMA_T_NUMBER;

            if (lg_schema_num_is_integer(inst)) {
                type |= LG_SCHEMA_T_INTEGER;
            }
        }

        if ((node->types & type) == 0) {
            buf[0] = '\0';

            for (i = 0; lg_schema_type_names[i] != NULL; i++) {
                if (node->types & (1u << i)) {
                    if (buf[0] != '\0') {
                        strcat(buf, " or ");
                    }

                    strcat(buf, lg_schema_type_names[i]);
                }
            }

            rc = lg_schema_error(ctx, "type", "must be of type %s", buf);
            lg_schema_check(rc);
        }
    }

    if (node->has_enum) {
        uint64_t  h;

        h = lg_schema_json_hash(inst);

        for (i = 0; i < node->nenum; i++) {
            if (node->enum_values[i].hash == h
                && lg_schema_value_equal(&node->enum_values[i], inst))
            {
                break;
            }
        }

        if (i == node->nenum) {
            rc = lg_schema_error(ctx, "enum", "must be one of the allowed "
                                 "values");
            lg_schema_check(rc);
        }
    }

    if (node->has_const && !lg_schema_value_equal(&node->const_value, inst)) {
        rc = lg_schema_error(ctx, "const", "must be equal to the constant");
        lg_schema_check(rc);
    }

    /* numbers */

    if (node->num_flags && json_is_number(inst)) {
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
            lg_schema_num_print(num_buf, sizeof(num_buf),
                                &node->multiple_of);
            rc = lg_schema_error(ctx, "multipleOf", "must be a multiple of "
                                 "%s", num_buf);
            lg_schema_check(rc);
        }
    }

    /* strings */

    if (json_is_string(inst)) {
        s = json_string_value(inst);
        len = json_string_length(inst);

        if (node->min_length > 0 || node->max_length != LG_SCHEMA_UNSET) {
            /*
             * A string of len bytes has between len / 4 (rounded up) and
             * len code points: they are counted only if that is not
             * enough to decide both bounds.
             */
            count = len;

            if ((len + 3) / 4 < node->min_length || len > node->max_length) {
                count = lg_utf8_length(s, len);
            }

            if (count < node->min_length) {
                rc = lg_schema_error(ctx, "minLength", "must be at least "
                                     "%zu characters long",
                                     node->min_length);
                lg_schema_check(rc);
            }

            if (node->max_length != LG_SCHEMA_UNSET
                && count > node->max_length)
            {
                rc = lg_schema_error(ctx, "maxLength", "must be at most "
                                     "%zu characters long",
                                     node->max_length);
                lg_schema_check(rc);
            }
        }

        if (node->pattern != NULL) {
            rc = lg_schema_match(ctx, node->pattern, s, len);

            if (rc == 0) {
                rc = lg_schema_error(ctx, "pattern", "must match the "
                                     "pattern %s",
                                     lg_schema_quote(buf, sizeof(buf),
                                         node->pattern->source,
                                         strlen(node->pattern->source)));

            } else if (rc < 0) {
                rc = lg_schema_error(ctx, "pattern", "is too costly to "
                                     "match against the pattern");

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
    }

    /* arrays */

    if (is_arr) {
        if (n < node->min_items) {
            rc = lg_schema_error(ctx, "minItems", "must have at least %zu "
                                 "items", node->min_items);
            lg_schema_check(rc);
        }

        if (node->max_items != LG_SCHEMA_UNSET && n > node->max_items) {
            rc = lg_schema_error(ctx, "maxItems", "must have at most %zu "
                                 "items", node->max_items);
            lg_schema_check(rc);
        }

        if (node->unique_items) {
            rc = lg_schema_unique(ctx, inst);
            lg_schema_check(rc);
        }

        iseg.prev = saved_ipath;
        iseg.str = NULL;

        for (i = 0; i < n && i < node->nprefix_items; i++) {
            iseg.index = i;
            ctx->ipath = &iseg;

            rc = lg_schema_sub(ctx, node->prefix_items[i],
                               json_array_get(inst, i), NULL,
                               node->prefix_kw, NULL, 0, i);
            ctx->ipath = saved_ipath;
            lg_schema_check(rc);

            if (ev != NULL) {
                lg_bit_set(ev, i);
            }
        }

        if (node->items != NULL) {
            for (i = node->nprefix_items; i < n; i++) {
                iseg.index = i;
                ctx->ipath = &iseg;

                if (node->items->boolean == 0) {
                    rc = lg_schema_error(ctx, node->items_kw, "item %zu is "
                                         "not allowed", i);

                } else {
                    rc = lg_schema_sub(ctx, node->items,
                                       json_array_get(inst, i), NULL,
                                       node->items_kw, NULL, 0,
                                       LG_SCHEMA_UNSET);
                }

                ctx->ipath = saved_ipath;
                lg_schema_check(rc);

                if (ev != NULL) {
                    lg_bit_set(ev, i);
                }
            }
        }

        if (node->contains != NULL) {
            count = 0;
            ctx->quiet++;

            for (i = 0; i < n; i++) {
                rc = lg_schema_sub(ctx, node->contains,
                                   json_array_get(inst, i), NULL, "contains",
                                   NULL, 0, LG_SCHEMA_UNSET);
                if (rc < 0) {
                    ctx->quiet--;
                    valid = -1;
                    goto done;
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
                                     "must contain at least %zu matching "
                                     "item%s", node->min_contains,
                                     node->min_contains == 1 ? "" : "s");
                lg_schema_check(rc);
            }

            if (node->max_contains != LG_SCHEMA_UNSET
                && count > node->max_contains)
            {
                rc = lg_schema_error(ctx, "maxContains", "must contain at "
                                     "most %zu matching items",
                                     node->max_contains);
                lg_schema_check(rc);
            }
        }
    }

    /* objects */

    if (is_obj) {
        if (n < node->min_properties) {
            rc = lg_schema_error(ctx, "minProperties", "must have at least "
                                 "%zu properties", node->min_properties);
            lg_schema_check(rc);
        }

        if (node->max_properties != LG_SCHEMA_UNSET
            && n > node->max_properties)
        {
            rc = lg_schema_error(ctx, "maxProperties", "must have at most "
                                 "%zu properties", node->max_properties);
            lg_schema_check(rc);
        }

        for (i = 0; i < node->nrequired; i++) {
            p = &node->required[i];

            if (json_object_getn(inst, p->name, p->len) == NULL) {
                rc = lg_schema_error(ctx, "required", "missing required "
                                     "property %s",
                                     lg_schema_quote(buf, sizeof(buf),
                                                     p->name, p->len));
                lg_schema_check(rc);
            }
        }

        for (i = 0; i < node->ndependent_required; i++) {
            const lg_schema_dep_t  *d;

            d = &node->dependent_required[i];

            if (json_object_getn(inst, d->name, d->len) == NULL) {
                continue;
            }

            for (j = 0; j < d->nrequired; j++) {
                p = &d->required[j];

                if (json_object_getn(inst, p->name, p->len) == NULL) {
                    lg_schema_seg_t  k;

                    k.prev = ctx->kpath;
                    k.str = node->dep_required_kw;
                    k.len = strlen(k.str);
                    ctx->kpath = &k;

                    rc = lg_schema_error(ctx, NULL, "missing property %s "
                                         "(required when %.*s is present)",
                                         lg_schema_quote(buf, sizeof(buf),
                                                         p->name, p->len),
                                         (int) d->len, d->name);
                    ctx->kpath = k.prev;
                    lg_schema_check(rc);
                }
            }
        }

        if (node->nproperties > 0 || node->npattern_properties > 0
            || node->additional_properties != NULL)
        {
            i = 0;

            lg_schema_object_foreach(inst, it, key, len, v) {
                matched = 0;

                iseg.prev = saved_ipath;
                iseg.str = key;
                iseg.len = len;

                if (node->nproperties > 0) {
                    p = lg_schema_prop_find(node->properties,
                                            node->nproperties, key, len);

                    if (p != NULL) {
                        matched = 1;
                        ctx->ipath = &iseg;
                        rc = lg_schema_sub(ctx, p->node, v, NULL,
                                           "properties", p->name, p->len,
                                           LG_SCHEMA_UNSET);
                        ctx->ipath = saved_ipath;
                        lg_schema_check(rc);
                    }
                }

                for (j = 0; j < node->npattern_properties; j++) {
                    const lg_schema_pprop_t  *pp;

                    pp = &node->pattern_properties[j];

                    rc = lg_schema_match(ctx, &pp->re, key, len);

                    if (rc < 0) {
                        ctx->ipath = &iseg;
                        rc = lg_schema_error(ctx, "patternProperties",
                                             "is too costly to match "
                                             "against %s",
                                             lg_schema_quote(buf,
                                                 sizeof(buf),
                                                 pp->re.source,
                                                 strlen(pp->re.source)));
                        ctx->ipath = saved_ipath;
                        lg_schema_check(rc);
                        continue;
                    }

                    if (rc == 0) {
                        continue;
                    }

                    matched = 1;
                    ctx->ipath = &iseg;
                    rc = lg_schema_sub(ctx, pp->node, v, NULL,
                                       "patternProperties", pp->re.source,
                                       strlen(pp->re.source),
                                       LG_SCHEMA_UNSET);
                    ctx->ipath = saved_ipath;
                    lg_schema_check(rc);
                }

                if (!matched && node->additional_properties != NULL) {
                    matched = 1;
                    ctx->ipath = &iseg;

                    if (node->additional_properties->boolean == 0) {
                        rc = lg_schema_error(ctx, "additionalProperties",
                                             "property %s is not allowed",
                                             lg_schema_quote(buf,
                                                 sizeof(buf), key, len));

                    } else {
                        rc = lg_schema_sub(ctx, node->additional_properties,
                                           v, NULL, "additionalProperties",
                                           NULL, 0, LG_SCHEMA_UNSET);
                    }

                    ctx->ipath = saved_ipath;
                    lg_schema_check(rc);
                }

                if (matched && ev != NULL) {
                    lg_bit_set(ev, i);
                }

                i++;
            }
        }

        for (i = 0; i < node->ndependent_schemas; i++) {
            p = &node->dependent_schemas[i];

            if (json_object_getn(inst, p->name, p->len) != NULL) {
                rc = lg_schema_sub(ctx, p->node, inst, ev,
                                   node->dep_schemas_kw, p->name, p->len,
                                   LG_SCHEMA_UNSET);
                lg_schema_check(rc);
            }
        }

        if (node->property_names != NULL) {
            lg_schema_object_foreach(inst, it, key, len, v) {
                key_json = json_stringn_nocheck(key, len);
                if (key_json == NULL) {
                    valid = -1;
                    goto done;
                }

                iseg.prev = saved_ipath;
                iseg.str = key;
                iseg.len = len;
                ctx->ipath = &iseg;

                rc = lg_schema_sub(ctx, node->property_names, key_json, NULL,
                                   "propertyNames", NULL, 0,
                                   LG_SCHEMA_UNSET);
                ctx->ipath = saved_ipath;
                json_decref(key_json);
                lg_schema_check(rc);
            }
        }
    }

    /* in-place applicators */

    for (i = 0; i < node->nall_of; i++) {
        rc = lg_schema_sub(ctx, node->all_of[i], inst, ev, "allOf", NULL, 0,
                           i);
        lg_schema_check(rc);
    }

    if (node->nany_of > 0) {
        nmatched = 0;
        ctx->quiet++;

        for (i = 0; i < node->nany_of; i++) {
            rc = lg_schema_branch(ctx, node->any_of[i], inst, ev, "anyOf",
                                  i);

            if (rc < 0) {
                ctx->quiet--;
                valid = -1;
                goto done;
            }

            if (rc > 0) {
                nmatched++;

                if (ev == NULL) {
                    /* no annotations wanted: the first match decides */
                    break;
                }
            }
        }

        ctx->quiet--;

        if (nmatched == 0) {
            rc = lg_schema_error(ctx, "anyOf", "must match at least one of "
                                 "the %zu schemas in anyOf", node->nany_of);
            lg_schema_check(rc);
        }
    }

    if (node->none_of > 0) {
        nmatched = 0;
        count = 0;
        ctx->quiet++;

        for (i = 0; i < node->none_of && nmatched < 2; i++) {
            rc = lg_schema_branch(ctx, node->one_of[i], inst, ev, "oneOf",
                                  i);

            if (rc < 0) {
                ctx->quiet--;
                valid = -1;
                goto done;
            }

            if (rc > 0) {
                if (nmatched == 0) {
                    count = i;
                }

                nmatched++;
            }
        }

        ctx->quiet--;

        if (nmatched == 0) {
            rc = lg_schema_error(ctx, "oneOf", "must match exactly one of "
                                 "the %zu schemas in oneOf (matches none)",
                                 node->none_of);
            lg_schema_check(rc);

        } else if (nmatched > 1) {
            rc = lg_schema_error(ctx, "oneOf", "must match exactly one of "
                                 "the schemas in oneOf (matches %zu and %zu)",
                                 count, i - 1);
            lg_schema_check(rc);
        }
    }

    if (node->not != NULL) {
        ctx->quiet++;
        rc = lg_schema_sub(ctx, node->not, inst, NULL, "not", NULL, 0,
                           LG_SCHEMA_UNSET);
        ctx->quiet--;

        if (rc < 0) {
            valid = -1;
            goto done;
        }

        if (rc > 0) {
            rc = lg_schema_error(ctx, "not", "must not match the schema in "
                                 "not");
            lg_schema_check(rc);
        }
    }

    if (node->if_ != NULL && (node->then_ != NULL || node->else_ != NULL
                              || ev != NULL))
    {
        ctx->quiet++;
        rc = lg_schema_branch(ctx, node->if_, inst, ev, "if",
                              LG_SCHEMA_UNSET);
        ctx->quiet--;

        if (rc < 0) {
            valid = -1;
            goto done;
        }

        if (rc > 0 && node->then_ != NULL) {
            rc = lg_schema_sub(ctx, node->then_, inst, ev, "then", NULL, 0,
                               LG_SCHEMA_UNSET);
            lg_schema_check(rc);

        } else if (rc == 0 && node->else_ != NULL) {
            rc = lg_schema_sub(ctx, node->else_, inst, ev, "else", NULL, 0,
                               LG_SCHEMA_UNSET);
            lg_schema_check(rc);
        }
    }

    /* last: what nothing else evaluated */

    if (is_arr && node->unevaluated_items != NULL) {
        iseg.prev = saved_ipath;
        iseg.str = NULL;

        for (i = 0; i < n; i++) {
            if (lg_bit_test(ev, i)) {
                continue;
            }

            iseg.index = i;
            ctx->ipath = &iseg;

            if (node->unevaluated_items->boolean == 0) {
                rc = lg_schema_error(ctx, "unevaluatedItems", "item %zu is "
                                     "not allowed", i);

            } else {
                rc = lg_schema_sub(ctx, node->unevaluated_items,
                                   json_array_get(inst, i), NULL,
                                   "unevaluatedItems", NULL, 0,
                                   LG_SCHEMA_UNSET);
            }

            ctx->ipath = saved_ipath;
            lg_schema_check(rc);
        }
    }

    if (is_obj && node->unevaluated_properties != NULL) {
        i = 0;

        lg_schema_object_foreach(inst, it, key, len, v) {
            if (lg_bit_test(ev, i)) {
                i++;
                continue;
            }

            iseg.prev = saved_ipath;
            iseg.str = key;
            iseg.len = len;
            ctx->ipath = &iseg;

            if (node->unevaluated_properties->boolean == 0) {
                rc = lg_schema_error(ctx, "unevaluatedProperties",
                                     "property %s is not allowed",
                                     lg_schema_quote(buf, sizeof(buf), key,
                                                     len));

            } else {
                rc = lg_schema_sub(ctx, node->unevaluated_properties, v,
                                   NULL, "unevaluatedProperties", NULL, 0,
                                   LG_SCHEMA_UNSET);
            }

            ctx->ipath = saved_ipath;
            i++;
            lg_schema_check(rc);
        }
    }

done:

    ctx->ipath = saved_ipath;

    if (ev == &local) {
        if (valid == 1 && parent != NULL) {
            /* everything was evaluated here */
            for (i = 0; i < n; i++) {
                lg_bit_set(parent, i);
            }
        }

        lg_schema_eval_free(&local);
    }

    if (pushed) {
        ctx->nscope--;
    }

    ctx->depth--;

    return valid;
}
