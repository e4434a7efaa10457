
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
 * The node's keywords are checked in sections, in a fixed order:
 * references, the keywords of any instance (type, enum, const), the
 * section of the instance's type (lg_schema_validate_type.c), the
 * in-place applicators, and the unevaluated* keywords last.
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

#include "lg_schema_validate_int.h"


static lg_schema_ctx_t  *lg_schema_ctx;


static int lg_schema_leaf(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst);
static int lg_schema_eval_init(lg_schema_eval_t *ev, size_t n);
static void lg_schema_eval_free(lg_schema_eval_t *ev);
static void lg_schema_eval_merge(lg_schema_eval_t *dst,
    const lg_schema_eval_t *src);
static char *lg_schema_pointer(lg_schema_ctx_t *ctx,
    const lg_schema_seg_t *seg);
static int lg_schema_branch(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev, const char *kw, size_t index);
static int lg_schema_too_deep(lg_schema_ctx_t *ctx);
static int lg_schema_refs(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev);
static int lg_schema_any(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst);
static int lg_schema_applicators(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_any_of(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_one_of(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_if(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev);
static int lg_schema_unevaluated_items(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);
static int lg_schema_unevaluated_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev);


static const char  *lg_schema_type_names[] = {
    "null", "boolean", "object", "array", "number", "string", "integer",
    NULL
};


/* the "type" bits of a token (reals: "integer" too when integral) */
static const unsigned  lg_schema_tok_types[] = {
    [JSON_OBJECT] = LG_SCHEMA_T_OBJECT,
    [JSON_ARRAY] = LG_SCHEMA_T_ARRAY,
    [JSON_STRING] = LG_SCHEMA_T_STRING,
    [JSON_INTEGER] = LG_SCHEMA_T_NUMBER | LG_SCHEMA_T_INTEGER,
    [JSON_REAL] = LG_SCHEMA_T_NUMBER,
    [JSON_TRUE] = LG_SCHEMA_T_BOOLEAN,
    [JSON_FALSE] = LG_SCHEMA_T_BOOLEAN,
    [JSON_NULL] = LG_SCHEMA_T_NULL
};


/* a jansson instance is converted to tokens first (tests, conformance) */

int
lg_schema_validate(const lg_schema_t *schema, const json_t *instance,
    lg_schema_result_t *result)
{
    int                rc;
    lg_schema_body_t  *body;

    result->nerrors = 0;
    result->errors = NULL;

    body = lg_schema_body_create();
    if (body == NULL) {
        return -1;
    }

    rc = -1;

    if (lg_schema_body_from_json(body, instance) == 0) {
        rc = lg_schema_body_validate(schema, body, result);
    }

    lg_schema_body_destroy(body);

    return rc;
}


int
lg_schema_validate_tok(const lg_schema_t *schema,
    const lg_schema_tok_t *instance, lg_schema_result_t *result)
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


/* a keyword segment's length is needed only for an error */
#define lg_schema_seg_len(s)                                                  \
    ((s)->len == LG_SCHEMA_UNSET ? strlen((s)->str) : (s)->len)


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

        n = lg_schema_seg_len(s);

        for (i = 0; i < n; i++) {
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
            for (i = lg_schema_seg_len(s); i > 0; i--) {
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

int
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
        seg.len = LG_SCHEMA_UNSET;
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

const char *
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


/*
 * Applies a subschema whose annotations count only if it matches (anyOf,
 * oneOf, if): they are collected apart and merged into "ev" on a match.
 */

static int
lg_schema_branch(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev, const char *kw,
    size_t index)
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


/* in lg_schema_node_validate(): the result of a section */

#define lg_schema_section(call)                                               \
    do {                                                                      \
        rc = (call);                                                          \
        if (rc < 0) {                                                         \
            valid = -1;                                                       \
            goto done;                                                        \
        }                                                                     \
        if (rc == 0) {                                                        \
            valid = 0;                                                        \
            if (ctx->quiet || ctx->stop) {                                    \
                goto done;                                                    \
            }                                                                 \
        }                                                                     \
    } while (0)


int
lg_schema_node_validate(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *parent)
{
    int                     valid, rc, pushed, is_obj, is_arr;
    size_t                  i, n;
    unsigned                sections;
    lg_schema_eval_t        local, *ev;
    const lg_schema_seg_t  *saved_ipath;

    if (node->boolean != -1) {
        return node->boolean
               ? 1 : lg_schema_error(ctx, NULL, "no value is allowed here");
    }

    if (ctx->depth >= LG_SCHEMA_MAX_EVAL_DEPTH) {
        return lg_schema_too_deep(ctx);
    }

    sections = node->sections;

    if (!(sections & LG_SCHEMA_S_NESTED)
        && inst->type != JSON_OBJECT && inst->type != JSON_ARRAY)
    {
        return lg_schema_leaf(ctx, node, inst);
    }

    ctx->depth++;

    valid = 1;
    ev = NULL;
    local.bits = NULL;
    saved_ipath = ctx->ipath;

    is_obj = (inst->type == JSON_OBJECT);
    is_arr = (inst->type == JSON_ARRAY);
    n = (is_obj || is_arr) ? inst->len : 0;

    /* the dynamic scope: resources entered on the way here */
    pushed = 0;

    if (node->resource != NULL
        && (ctx->nscope == 0 || ctx->scope[ctx->nscope - 1] != node->resource))
    {
        ctx->scope[ctx->nscope++] = node->resource;
        pushed = 1;
    }

    if ((sections & LG_SCHEMA_S_UNEVALUATED)
        && ((is_obj && node->unevaluated_properties != NULL)
            || (is_arr && node->unevaluated_items != NULL)))
    {
        if (lg_schema_eval_init(&local, n) != 0) {
            valid = -1;
            goto done;
        }

        ev = &local;

    } else if (is_obj || is_arr) {
        ev = parent;
    }

    /* a section runs only when the node has one of its keywords */

    if (sections & LG_SCHEMA_S_REFS) {
        lg_schema_section(lg_schema_refs(ctx, node, inst, ev));
    }

    if (sections & LG_SCHEMA_S_ANY) {
        lg_schema_section(lg_schema_any(ctx, node, inst));
    }

    switch (inst->type) {

    case JSON_INTEGER:
    case JSON_REAL:
        if (sections & LG_SCHEMA_S_NUMBER) {
            lg_schema_section(lg_schema_numbers(ctx, node, inst));
        }

        break;

    case JSON_STRING:
        if (sections & LG_SCHEMA_S_STRING) {
            lg_schema_section(lg_schema_strings(ctx, node, inst));
        }

        break;

    case JSON_ARRAY:
        if (sections & LG_SCHEMA_S_ARRAY) {
            lg_schema_section(lg_schema_arrays(ctx, node, inst, ev));
        }

        break;

    case JSON_OBJECT:
        if (sections & LG_SCHEMA_S_OBJECT) {
            lg_schema_section(lg_schema_objects(ctx, node, inst, ev));
        }

        break;
    }

    if (sections & LG_SCHEMA_S_APPLICATORS) {
        lg_schema_section(lg_schema_applicators(ctx, node, inst, ev));
    }

    /* last: what nothing else evaluated */

    if (!(sections & LG_SCHEMA_S_UNEVALUATED)) {
        goto done;
    }

    if (is_arr && node->unevaluated_items != NULL) {
        lg_schema_section(lg_schema_unevaluated_items(ctx, node, inst, ev));
    }

    if (is_obj && node->unevaluated_properties != NULL) {
        lg_schema_section(lg_schema_unevaluated_properties(ctx, node, inst,
                                                           ev));
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


/*
 * A node that applies no subschema to a scalar: its keywords of any
 * instance and of the scalar's type, with nothing to scope or collect.
 */

static int
lg_schema_leaf(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst)
{
    int       valid, rc;
    unsigned  sections;

    valid = 1;
    sections = node->sections;

    if (sections & LG_SCHEMA_S_ANY) {
        rc = lg_schema_any(ctx, node, inst);
        lg_schema_check(rc);
    }

    if (inst->type == JSON_STRING) {
        if (sections & LG_SCHEMA_S_STRING) {
            rc = lg_schema_strings(ctx, node, inst);
            lg_schema_check(rc);
        }

    } else if (inst->type == JSON_INTEGER || inst->type == JSON_REAL) {
        if (sections & LG_SCHEMA_S_NUMBER) {
            rc = lg_schema_numbers(ctx, node, inst);
            lg_schema_check(rc);
        }
    }

    return valid;
}


/* the one error worth reporting, even from inside anyOf */

static int
lg_schema_too_deep(lg_schema_ctx_t *ctx)
{
    int  quiet;

    quiet = ctx->quiet;
    ctx->quiet = 0;
    ctx->result->nerrors = 0;
    lg_schema_error(ctx, NULL, "schema evaluation is nested deeper than %d "
                    "levels: the value is nested too deeply for this schema",
                    LG_SCHEMA_MAX_EVAL_DEPTH);
    ctx->quiet = quiet;

    return -1;
}


/* "$ref" and "$dynamicRef" */

static int
lg_schema_refs(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int                          valid, rc;
    size_t                       i, j;
    const lg_schema_node_t      *target;
    const lg_schema_resource_t  *res;

    valid = 1;

    if (node->ref != NULL) {
        rc = lg_schema_sub(ctx, node->ref, inst, ev, "$ref", NULL, 0,
                           LG_SCHEMA_UNSET);
        lg_schema_check(rc);
    }

    if (node->dynamic_ref == NULL) {
        return valid;
    }

    target = node->dynamic_ref;

    if (node->dynamic_name != NULL) {
        /* the outermost resource with that $dynamicAnchor wins */
        for (i = 0; i < ctx->nscope; i++) {
            res = ctx->scope[i];

            for (j = 0; j < res->ndynamic; j++) {
                if (strcmp(res->dynamic[j].name, node->dynamic_name) == 0) {
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

    return valid;
}


/* "type", "enum", "const" */

static int
lg_schema_any(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst)
{
    int       valid, rc;
    char      buf[128];
    size_t    i;
    uint64_t  h;
    unsigned  type;

    valid = 1;

    if (node->types != 0) {
        type = lg_schema_tok_types[inst->type];

        if (inst->type == JSON_REAL && lg_schema_tok_is_integer(inst)) {
            type |= LG_SCHEMA_T_INTEGER;
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
        /*
         * Scalars are compared outright (a type and a length settle most
         * of them); arrays and objects by their hash first.
         */

        if (inst->type == JSON_ARRAY || inst->type == JSON_OBJECT) {
            h = lg_schema_tok_hash(inst);

            for (i = 0; i < node->nenum; i++) {
                if (node->enum_values[i].hash == h
                    && lg_schema_value_equal(&node->enum_values[i], inst))
                {
                    break;
                }
            }

        } else {
            for (i = 0; i < node->nenum; i++) {
                if (lg_schema_value_equal(&node->enum_values[i], inst)) {
                    break;
                }
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

    return valid;
}


/* allOf, anyOf, oneOf, not, if / then / else */

static int
lg_schema_applicators(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  i;

    valid = 1;

    for (i = 0; i < node->nall_of; i++) {
        rc = lg_schema_sub(ctx, node->all_of[i], inst, ev, "allOf", NULL, 0,
                           i);
        lg_schema_check(rc);
    }

    if (node->nany_of > 0) {
        rc = lg_schema_any_of(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    if (node->none_of > 0) {
        rc = lg_schema_one_of(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    if (node->not != NULL) {
        ctx->quiet++;
        rc = lg_schema_sub(ctx, node->not, inst, NULL, "not", NULL, 0,
                           LG_SCHEMA_UNSET);
        ctx->quiet--;

        if (rc < 0) {
            return -1;
        }

        if (rc > 0) {
            rc = lg_schema_error(ctx, "not", "must not match the schema in "
                                 "not");
            lg_schema_check(rc);
        }
    }

    if (node->if_ != NULL
        && (node->then_ != NULL || node->else_ != NULL || ev != NULL))
    {
        rc = lg_schema_if(ctx, node, inst, ev);
        lg_schema_check(rc);
    }

    return valid;
}


static int
lg_schema_any_of(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  i, nmatched;

    valid = 1;
    nmatched = 0;
    ctx->quiet++;

    for (i = 0; i < node->nany_of; i++) {
        rc = lg_schema_branch(ctx, node->any_of[i], inst, ev, "anyOf", i);

        if (rc < 0) {
            ctx->quiet--;
            return -1;
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
        rc = lg_schema_error(ctx, "anyOf", "must match at least one of the "
                             "%zu schemas in anyOf", node->nany_of);
        lg_schema_check(rc);
    }

    return valid;
}


static int
lg_schema_one_of(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int     valid, rc;
    size_t  i, nmatched, first;

    valid = 1;
    nmatched = 0;
    first = 0;
    ctx->quiet++;

    for (i = 0; i < node->none_of && nmatched < 2; i++) {
        rc = lg_schema_branch(ctx, node->one_of[i], inst, ev, "oneOf", i);

        if (rc < 0) {
            ctx->quiet--;
            return -1;
        }

        if (rc > 0) {
            if (nmatched == 0) {
                first = i;
            }

            nmatched++;
        }
    }

    ctx->quiet--;

    if (nmatched == 0) {
        rc = lg_schema_error(ctx, "oneOf", "must match exactly one of the "
                             "%zu schemas in oneOf (matches none)",
                             node->none_of);
        lg_schema_check(rc);

    } else if (nmatched > 1) {
        rc = lg_schema_error(ctx, "oneOf", "must match exactly one of the "
                             "schemas in oneOf (matches %zu and %zu)",
                             first, i - 1);
        lg_schema_check(rc);
    }

    return valid;
}


static int
lg_schema_if(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev)
{
    int  valid, rc;

    valid = 1;

    ctx->quiet++;
    rc = lg_schema_branch(ctx, node->if_, inst, ev, "if", LG_SCHEMA_UNSET);
    ctx->quiet--;

    if (rc < 0) {
        return -1;
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

    return valid;
}


static int
lg_schema_unevaluated_items(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev)
{
    int                     valid, rc;
    size_t                  i;
    lg_schema_seg_t         iseg;
    const lg_schema_tok_t  *m;
    const lg_schema_seg_t  *saved_ipath;

    valid = 1;
    saved_ipath = ctx->ipath;

    iseg.prev = saved_ipath;
    iseg.str = NULL;

    for (i = 0, m = lg_schema_tok_first(inst);
         i < inst->len;
         i++, m = lg_schema_tok_next(m))
    {
        if (lg_bit_test(ev, i)) {
            continue;
        }

        iseg.index = i;
        ctx->ipath = &iseg;

        if (node->unevaluated_items->boolean == 0) {
            rc = lg_schema_error(ctx, "unevaluatedItems", "item %zu is not "
                                 "allowed", i);

        } else {
            rc = lg_schema_sub(ctx, node->unevaluated_items, m, NULL,
                               "unevaluatedItems", NULL, 0, LG_SCHEMA_UNSET);
        }

        ctx->ipath = saved_ipath;
        lg_schema_check(rc);
    }

    return valid;
}


static int
lg_schema_unevaluated_properties(lg_schema_ctx_t *ctx,
    const lg_schema_node_t *node, const lg_schema_tok_t *inst,
    lg_schema_eval_t *ev)
{
    int                     valid, rc;
    char                    buf[128];
    size_t                  i;
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
        if (lg_bit_test(ev, i)) {
            continue;
        }

        iseg.str = k->v.str;
        iseg.len = k->len;
        ctx->ipath = &iseg;

        if (node->unevaluated_properties->boolean == 0) {
            rc = lg_schema_error(ctx, "unevaluatedProperties", "property %s "
                                 "is not allowed",
                                 lg_schema_quote(buf, sizeof(buf), k->v.str,
                                                 k->len));

        } else {
            rc = lg_schema_sub(ctx, node->unevaluated_properties, k + 1,
                               NULL, "unevaluatedProperties", NULL, 0,
                               LG_SCHEMA_UNSET);
        }

        ctx->ipath = saved_ipath;
        lg_schema_check(rc);
    }

    return valid;
}
