
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_VALIDATE_INT_H_INCLUDED_
#define _LG_SCHEMA_VALIDATE_INT_H_INCLUDED_


/*
 * The validator's own state, shared by its two files and nothing else:
 *
 *   lg_schema_validate.c       the walk: one node over one instance, its
 *                              references, the keywords of any instance,
 *                              the in-place applicators and the
 *                              unevaluated* keywords; errors and their
 *                              locations;
 *   lg_schema_validate_type.c  the sections of one instance type:
 *                              numbers, strings, arrays, objects.
 *
 * A section returns what a keyword does: 1 valid, 0 invalid (errors
 * recorded unless quiet), -1 evaluation cannot go on (out of memory, the
 * depth limit).  After 0 the node goes on with its next keyword unless
 * the evaluation is quiet or has recorded all the errors it may.
 */


#include "lg_schema_int.h"


#define LG_SCHEMA_EVAL_INLINE  4      /* 256 members without malloc */


typedef struct lg_schema_seg_s  lg_schema_seg_t;

/* a location (instance or keyword) as a list of segments on the stack */
struct lg_schema_seg_s {
    const lg_schema_seg_t  *prev;
    const char             *str;      /* NULL: an index */
    size_t                  len;      /* LG_SCHEMA_UNSET: strlen(str) */
    size_t                  index;
};


/* what in-place applicators evaluated: a bit per member or item */
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


#define lg_bit_set(ev, i)                                                     \
    ((ev)->bits[(i) >> 6] |= (uint64_t) 1 << ((i) & 63))

#define lg_bit_test(ev, i)                                                    \
    ((ev)->bits[(i) >> 6] & ((uint64_t) 1 << ((i) & 63)))


/*
 * Inside a section: the result of one keyword.  "valid" is the section's
 * result so far.
 */

#define lg_schema_check(rc)                                                   \
    do {                                                                      \
        if ((rc) < 0) {                                                       \
            return -1;                                                        \
        }                                                                     \
        if ((rc) == 0) {                                                      \
            valid = 0;                                                        \
            if (ctx->quiet || ctx->stop) {                                    \
                return 0;                                                     \
            }                                                                 \
        }                                                                     \
    } while (0)


/* lg_schema_validate.c */
int lg_schema_node_validate(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *parent);
int lg_schema_error(lg_schema_ctx_t *ctx, const char *kw,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
const char *lg_schema_quote(char *buf, size_t size, const char *s,
    size_t len);

/* lg_schema_validate_type.c */
int lg_schema_numbers(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst);
int lg_schema_strings(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst);
int lg_schema_arrays(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev);
int lg_schema_objects(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev);


/*
 * Applies "node" to "inst" with "kw" (and "name" or "index") appended to
 * the keyword path.  The instance path is the caller's business.  Inline:
 * it runs once per subschema application.
 */

static inline int
lg_schema_sub(lg_schema_ctx_t *ctx, const lg_schema_node_t *node,
    const lg_schema_tok_t *inst, lg_schema_eval_t *ev, const char *kw,
    const char *name, size_t name_len, size_t index)
{
    int                     rc;
    lg_schema_seg_t         k1, k2;
    const lg_schema_seg_t  *saved;

    saved = ctx->kpath;

    k1.prev = saved;
    k1.str = kw;
    k1.len = LG_SCHEMA_UNSET;
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


#endif /* _LG_SCHEMA_VALIDATE_INT_H_INCLUDED_ */
