
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_INT_H_INCLUDED_
#define _LG_SCHEMA_INT_H_INCLUDED_


/*
 * The compiled form shared by the compiler (lg_schema.c and the files
 * lg_schema_compile_int.h lists), the validator (lg_schema_validate.c)
 * and the value helpers (lg_schema_value.c).  Nothing here is public API.
 */


#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdint.h>
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


typedef struct lg_schema_node_s      lg_schema_node_t;
typedef struct lg_schema_value_s     lg_schema_value_t;
typedef struct lg_schema_resource_s  lg_schema_resource_t;


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
    lg_schema_value_t   *items;      /* array elements, object members */
    size_t               nitems;
    uint64_t             hash;
};


typedef struct {
    pcre2_code          *code;
    const char          *source;
    unsigned             jit:1;      /* JIT-compiled */
} lg_schema_regex_t;


typedef struct {
    const char          *name;
    size_t               len;
    const char          *kw_name;    /* name escaped for JSON Pointer */
    lg_schema_node_t    *node;
} lg_schema_prop_t;


typedef struct {
    lg_schema_regex_t    re;
    lg_schema_node_t    *node;
} lg_schema_pprop_t;


typedef struct {
    const char          *name;
    size_t               len;
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
    int                  format_assert;

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

    lg_schema_prop_t    *properties;     /* by length, then name */
    size_t               nproperties;
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
 * jansson's json_object_keylen_foreach() finds the iterator again from the
 * key three times per member; this walks the iterator itself ("it" is a
 * void *), a third of the calls per member of every instance object.
 */
#define lg_schema_object_foreach(object, it, key, len, value)                 \
    for (it = json_object_iter((json_t *) (object));                          \
         it != NULL                                                           \
         && ((key) = json_object_iter_key(it),                                \
             (len) = json_object_iter_key_len(it),                            \
             (value) = json_object_iter_value(it), 1);                        \
         it = json_object_iter_next((json_t *) (object), it))


/* lg_schema_value.c */
int lg_schema_value_from_json(lg_arena_t *arena, lg_schema_value_t *v,
    const json_t *json);
int lg_schema_value_equal(const lg_schema_value_t *v, const json_t *json);
int lg_schema_json_equal(const json_t *a, const json_t *b);
uint64_t lg_schema_json_hash(const json_t *json);
int lg_schema_num_get(const json_t *json, lg_schema_num_t *num);
int lg_schema_num_cmp(const lg_schema_num_t *a, const lg_schema_num_t *b);
int lg_schema_num_multiple(const lg_schema_num_t *x,
    const lg_schema_num_t *m);
int lg_schema_num_is_integer(const json_t *json);

/*
 * lg_schema_keyword.c: orders lg_schema_prop_t by name (bytes, then length);
 * "properties" are ordered by length first, for lg_schema_prop_find()
 */
int lg_schema_prop_cmp(const void *a, const void *b);
const lg_schema_prop_t *lg_schema_prop_find(const lg_schema_prop_t *props,
    size_t n, const char *name, size_t len);

/* lg_schema_format.c: 1 valid, 0 invalid, -1 unknown format */
int lg_schema_format_check(const char *format, const char *s, size_t len);


#endif /* _LG_SCHEMA_INT_H_INCLUDED_ */
