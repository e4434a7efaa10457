
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_INT_H_INCLUDED_
#define _LG_SCHEMA_INT_H_INCLUDED_


/*
 * The compiled form shared by the compiler (lg_schema.c and the files
 * lg_schema_compile_int.h lists), the validator (lg_schema_validate.c and
 * lg_schema_validate_type.c), the request body parser (lg_schema_body.c)
 * and the value helpers (lg_schema_value.c).  Nothing here is public API.
 */


#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdint.h>
#include <string.h>
#include <pcre2.h>

#include "lg_schema.h"


#define LG_SCHEMA_DRAFT7         7
#define LG_SCHEMA_DRAFT2020      2020

/* "type" bits */
#define LG_SCHEMA_T_NULL         0x01
#define LG_SCHEMA_T_BOOLEAN      0x02
#define LG_SCHEMA_T_OBJECT       0x04
#define LG_SCHEMA_T_ARRAY        0x08
#define LG_SCHEMA_T_NUMBER       0x10
#define LG_SCHEMA_T_STRING       0x20
#define LG_SCHEMA_T_INTEGER      0x40

/* numeric keywords present */
#define LG_SCHEMA_F_MULTIPLE     0x01
#define LG_SCHEMA_F_MINIMUM      0x02
#define LG_SCHEMA_F_MAXIMUM      0x04
#define LG_SCHEMA_F_XMINIMUM     0x08
#define LG_SCHEMA_F_XMAXIMUM     0x10

#define LG_SCHEMA_UNSET          ((size_t) -1)


/* what a node has keywords for: the validator's sections */
#define LG_SCHEMA_S_REFS         0x01
#define LG_SCHEMA_S_ANY          0x02    /* type, enum, const */
#define LG_SCHEMA_S_NUMBER       0x04
#define LG_SCHEMA_S_STRING       0x08
#define LG_SCHEMA_S_ARRAY        0x10
#define LG_SCHEMA_S_OBJECT       0x20
#define LG_SCHEMA_S_APPLICATORS  0x40
#define LG_SCHEMA_S_UNEVALUATED  0x80

/* sections that apply subschemas to the instance itself */
#define LG_SCHEMA_S_NESTED       (LG_SCHEMA_S_REFS | LG_SCHEMA_S_APPLICATORS)

/* a node looking up more member names than this uses a heap bitmap */
#define LG_SCHEMA_NAMES_INLINE   256


typedef int (*lg_schema_format_pt)(const char *s, size_t len);

typedef struct lg_schema_node_s      lg_schema_node_t;
typedef struct lg_schema_value_s     lg_schema_value_t;
typedef struct lg_schema_resource_s  lg_schema_resource_t;
typedef struct lg_schema_tok_s       lg_schema_tok_t;


/*
 * A parsed instance is a flat array of tokens in document order (a
 * "tape"): an array is its token followed by its items, an object its
 * token followed by key, value, key, value...  Each value knows how many
 * tokens it spans, so a reader steps over a member without looking into
 * it.  Strings are slices of the body (or, when they had escapes, of the
 * body's unescaped copy); nothing is allocated per value.
 */

struct lg_schema_tok_s {
    union {
        const char      *str;        /* strings and keys: the bytes */
        json_int_t       i;
        double           d;
    } v;
    uint32_t             len;        /* strings: bytes; arrays, objects:
                                        items, members */
    uint32_t             span;       /* tokens of the value, itself too */
    uint32_t             hash;       /* keys: lg_schema_key_hash() */
    uint8_t              type;       /* JSON_OBJECT ... JSON_NULL */
};


/* a parsed request body (lg_schema_body.c) */
struct lg_schema_body_s {
    lg_schema_tok_t     *toks;
    size_t               ntoks;
    size_t               cap;
    char                *scratch;    /* unescaped strings */
    size_t               scratch_size;
    uint32_t            *dups;       /* keys of big objects: duplicates */
    size_t               ndups;
    size_t               dups_size;
};


#define lg_schema_tok_first(t)   ((t) + 1)
#define lg_schema_tok_next(t)    ((t) + (t)->span)


/* a JSON number kept exactly as parsed: an integer or a double */
typedef struct {
    int                  is_int;
    json_int_t           i;
    double               d;
} lg_schema_num_t;


/* a JSON value owned by the arena ("const", "enum") */
struct lg_schema_value_s {
    int                  type;       /* JSON_OBJECT ... JSON_NULL */
    lg_schema_num_t      num;
    const char          *str;        /* string value, or member key */
    size_t               len;
    const char          *key;        /* for object members */
    size_t               key_len;
    uint32_t             key_hash;
    lg_schema_value_t   *items;      /* array elements, object members */
    size_t               nitems;
    uint64_t             hash;
};


/* one step of a simple pattern: a set of ASCII bytes, repeated */
typedef struct {
    uint8_t              set[128];   /* 1: the byte is in the set */
    uint32_t             min;
    uint32_t             max;        /* UINT32_MAX: unbounded */
} lg_schema_atom_t;


typedef struct {
    pcre2_code          *code;
    const char          *source;
    size_t               source_len;
    lg_schema_atom_t    *atoms;      /* a simple pattern (see regex.c) */
    uint32_t             natoms;
    unsigned             jit:1;      /* JIT-compiled */
    unsigned             simple:1;   /* matched by lg_schema_simple_match */
} lg_schema_regex_t;


/* a member name and, for "properties" / "dependentSchemas", its schema */
typedef struct {
    const char          *name;
    size_t               len;
    lg_schema_node_t    *node;
    uint32_t             entry;      /* in the node's names */
} lg_schema_prop_t;


/*
 * Every member name a node looks up in an instance object ("properties",
 * "required", "dependentRequired", "dependentSchemas"), once, in a hash
 * table: one lookup per member answers all of them.
 */
typedef struct {
    const char          *name;
    size_t               len;
    uint32_t             hash;
    lg_schema_prop_t    *property;   /* its "properties" entry, or NULL */
} lg_schema_name_t;


typedef struct {
    lg_schema_regex_t    re;
    lg_schema_node_t    *node;
} lg_schema_pprop_t;


typedef struct {
    const char          *name;
    size_t               len;
    uint32_t             entry;      /* in the node's names */
    lg_schema_prop_t    *required;   /* node unused */
    size_t               nrequired;
} lg_schema_dep_t;


typedef struct {
    const char          *name;
    lg_schema_node_t    *node;
} lg_schema_anchor_t;


struct lg_schema_resource_s {
    const char          *uri;
    lg_schema_anchor_t  *dynamic;    /* $dynamicAnchor: name -> node */
    size_t               ndynamic;
};


struct lg_schema_node_s {
    int                  boolean;    /* -1: an object schema, else 0/1 */
    int                  draft;
    unsigned             sections;   /* LG_SCHEMA_S_* */
    lg_schema_resource_t *resource;

    lg_schema_node_t    *ref;
    lg_schema_node_t    *dynamic_ref;
    const char          *dynamic_name;   /* NULL: acts as $ref */

    unsigned             types;
    unsigned             num_flags;
    unsigned             unique_items:1;
    unsigned             has_const:1;
    unsigned             has_enum:1;

    lg_schema_value_t    const_value;
    lg_schema_value_t   *enum_values;
    size_t               nenum;

    lg_schema_num_t      multiple_of;
    lg_schema_num_t      minimum;
    lg_schema_num_t      maximum;
    lg_schema_num_t      xminimum;
    lg_schema_num_t      xmaximum;

    size_t               min_length;
    size_t               max_length;
    lg_schema_regex_t   *pattern;
    const char          *format;
    lg_schema_format_pt  format_check;   /* NULL: an annotation */

    lg_schema_node_t   **prefix_items;
    size_t               nprefix_items;
    const char          *prefix_kw;      /* "prefixItems" or "items" */
    lg_schema_node_t    *items;
    const char          *items_kw;       /* "items" or "additionalItems" */
    lg_schema_node_t    *contains;
    size_t               min_contains;
    size_t               max_contains;
    size_t               min_items;
    size_t               max_items;
    lg_schema_node_t    *unevaluated_items;

    lg_schema_prop_t    *properties;
    size_t               nproperties;
    lg_schema_name_t    *names;
    size_t               nnames;
    uint32_t            *name_slots;     /* entry + 1; 0: empty */
    uint32_t             name_mask;
    lg_schema_pprop_t   *pattern_properties;
    size_t               npattern_properties;
    lg_schema_node_t    *additional_properties;
    lg_schema_node_t    *property_names;
    lg_schema_node_t    *unevaluated_properties;
    lg_schema_prop_t    *required;
    size_t               nrequired;
    lg_schema_dep_t     *dependent_required;
    size_t               ndependent_required;
    const char          *dep_required_kw;
    lg_schema_prop_t    *dependent_schemas;  /* sorted by name */
    size_t               ndependent_schemas;
    const char          *dep_schemas_kw;
    size_t               min_properties;
    size_t               max_properties;

    lg_schema_node_t   **all_of;
    size_t               nall_of;
    lg_schema_node_t   **any_of;
    size_t               nany_of;
    lg_schema_node_t   **one_of;
    size_t               none_of;
    lg_schema_node_t    *not;
    lg_schema_node_t    *if_;
    lg_schema_node_t    *then_;
    lg_schema_node_t    *else_;

    unsigned             loop_state:2;   /* compilation only */
};


struct lg_schema_s {
    lg_schema_node_t    *root;
    int                  format_assertion;
};


/*
 * The hash of an object key, computed by the body parser for every key
 * and by the compiler for every name a schema looks up.  Keys are short:
 * a key of up to 8 bytes is read as two overlapping words (never a byte
 * loop), a longer one 8 bytes at a time.
 */

static inline uint32_t
lg_schema_key_hash(const char *s, size_t len)
{
    uint32_t  a, b;
    uint64_t  h, w;

    h = 0x9e3779b97f4a7c15ULL ^ len;

    if (len >= 8) {
        for ( /* void */ ; len > 8; s += 8, len -= 8) {
            memcpy(&w, s, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdULL;
            h ^= h >> 32;
        }

        /* the last 8 bytes, overlapping the previous word */
        memcpy(&w, s + len - 8, 8);

    } else if (len >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        w = ((uint64_t) a << 32) | b;

    } else if (len > 0) {
        w = ((uint64_t) (unsigned char) s[0] << 16)
            | ((uint64_t) (unsigned char) s[len >> 1] << 8)
            | (unsigned char) s[len - 1];

    } else {
        w = 0;
    }

    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 32;

    return (uint32_t) h;
}


/*
 * Whether two strings of "len" bytes are the same (keys whose hashes
 * agreed, enum strings of the same length): they are short, so two
 * overlapping words from each end decide most without a memcmp() call.
 */

static inline int
lg_schema_str_eq(const char *a, const char *b, size_t len)
{
    uint32_t  x32, y32, u32, v32;
    uint64_t  x, y, u, v;

    if (len >= 8) {
        if (len > 16) {
            return memcmp(a, b, len) == 0;
        }

        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + len - 8, 8);
        memcpy(&v, b + len - 8, 8);

        return ((x ^ y) | (u ^ v)) == 0;
    }

    if (len >= 4) {
        memcpy(&x32, a, 4);
        memcpy(&y32, b, 4);
        memcpy(&u32, a + len - 4, 4);
        memcpy(&v32, b + len - 4, 4);

        return ((x32 ^ y32) | (u32 ^ v32)) == 0;
    }

    return len == 0
           || (a[0] == b[0] && a[len >> 1] == b[len >> 1]
               && a[len - 1] == b[len - 1]);
}


/* lg_schema_value.c */
int lg_schema_value_from_json(lg_arena_t *arena, lg_schema_value_t *v,
    const json_t *json);
int lg_schema_value_equal(const lg_schema_value_t *v,
    const lg_schema_tok_t *t);
int lg_schema_tok_equal(const lg_schema_tok_t *a, const lg_schema_tok_t *b);
uint64_t lg_schema_tok_hash(const lg_schema_tok_t *t);
void lg_schema_tok_num(const lg_schema_tok_t *t, lg_schema_num_t *num);
int lg_schema_tok_is_integer(const lg_schema_tok_t *t);
int lg_schema_num_get(const json_t *json, lg_schema_num_t *num);
int lg_schema_num_cmp(const lg_schema_num_t *a, const lg_schema_num_t *b);
int lg_schema_num_multiple(const lg_schema_num_t *x,
    const lg_schema_num_t *m);
int lg_schema_num_is_integer(const json_t *json);

/* lg_schema_validate.c: lg_schema_validate() on a parsed instance */
int lg_schema_validate_tok(const lg_schema_t *schema,
    const lg_schema_tok_t *instance, lg_schema_result_t *result);

/* lg_schema_body.c: room for one more token; 0, or -1 out of memory */
int lg_schema_body_grow(lg_schema_body_t *body);

/* lg_schema_body_json.c: a body of the tokens of a jansson value */
int lg_schema_body_from_json(lg_schema_body_t *body, const json_t *json);

/* lg_schema_regex.c: 1 a simple pattern matches, 0 not */
int lg_schema_simple_match(const lg_schema_regex_t *re, const char *s,
    size_t len);

/* lg_schema_format.c: the check of a format, NULL if it is unknown */
lg_schema_format_pt lg_schema_format_find(const char *format);


#endif /* _LG_SCHEMA_INT_H_INCLUDED_ */
