
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The keywords: a table of name, dialects and the function that compiles
 * the keyword's value into the node (in the manner of ngx_command_t, with
 * the node field's offset for keywords of one shape).  Keywords a dialect
 * does not have, and annotations, are not in it: they compile to nothing,
 * and "strict" refuses those that are not known annotations.
 */


#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema_compile_int.h"


#define lg_schema_field(node, offset, type)                                   \
    ((type *) ((char *) (node) + (offset)))


static int lg_schema_kw_type(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
static int lg_schema_kw_enum(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
static int lg_schema_kw_const(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
static int lg_schema_kw_multiple_of(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_number(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_size(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
static int lg_schema_kw_pattern(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_format(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_unique_items(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_required(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_dependent_required(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_dependencies(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_dependent_schemas(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_properties(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_pattern_properties(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_schema_list(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_items(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
static int lg_schema_kw_additional_items(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_kw_schema(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);
static int lg_schema_dep_required(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, int draft7);
static int lg_schema_schema_array(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *v,
    lg_schema_node_t ***out, size_t *n);
static int lg_schema_string_list(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *v,
    lg_schema_prop_t **out, size_t *n);
static int lg_schema_prop_cmp(const void *a, const void *b);
static int lg_schema_props(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, int (*cmp)(const void *, const void *),
    lg_schema_prop_t **out, size_t *n);
static int lg_schema_known(const char *kw);
static int lg_schema_names(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node);
static uint32_t lg_schema_name_add(lg_schema_node_t *node, const char *name,
    size_t len);


#define lg_schema_off(field)  offsetof(lg_schema_node_t, field)


static const lg_schema_keyword_t  lg_schema_keywords[] = {

    { "$ref", LG_SCHEMA_DALL, lg_schema_kw_ref, 0, 0 },
    { "$dynamicRef", LG_SCHEMA_D2020, lg_schema_kw_ref, 0, 0 },

    /* any instance */
    { "type", LG_SCHEMA_DALL, lg_schema_kw_type, 0, 0 },
    { "enum", LG_SCHEMA_DALL, lg_schema_kw_enum, 0, 0 },
    { "const", LG_SCHEMA_DALL, lg_schema_kw_const, 0, 0 },

    /* numbers */
    { "multipleOf", LG_SCHEMA_DALL, lg_schema_kw_multiple_of, 0, 0 },
    { "minimum", LG_SCHEMA_DALL, lg_schema_kw_number,
      lg_schema_off(minimum), LG_SCHEMA_F_MINIMUM },
    { "maximum", LG_SCHEMA_DALL, lg_schema_kw_number,
      lg_schema_off(maximum), LG_SCHEMA_F_MAXIMUM },
    { "exclusiveMinimum", LG_SCHEMA_DALL, lg_schema_kw_number,
      lg_schema_off(xminimum), LG_SCHEMA_F_XMINIMUM },
    { "exclusiveMaximum", LG_SCHEMA_DALL, lg_schema_kw_number,
      lg_schema_off(xmaximum), LG_SCHEMA_F_XMAXIMUM },

    /* strings */
    { "minLength", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(min_length), 0 },
    { "maxLength", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(max_length), 0 },
    { "pattern", LG_SCHEMA_DALL, lg_schema_kw_pattern, 0, 0 },
    { "format", LG_SCHEMA_DALL, lg_schema_kw_format, 0, 0 },

    /* arrays */
    { "minItems", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(min_items), 0 },
    { "maxItems", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(max_items), 0 },
    { "uniqueItems", LG_SCHEMA_DALL, lg_schema_kw_unique_items, 0, 0 },
    { "prefixItems", LG_SCHEMA_D2020, lg_schema_kw_schema_list,
      lg_schema_off(prefix_items), lg_schema_off(nprefix_items) },
    { "items", LG_SCHEMA_DALL, lg_schema_kw_items, 0, 0 },
    { "additionalItems", LG_SCHEMA_D7, lg_schema_kw_additional_items, 0, 0 },
    { "contains", LG_SCHEMA_DALL, lg_schema_kw_schema,
      lg_schema_off(contains), 0 },
    { "minContains", LG_SCHEMA_D2020, lg_schema_kw_size,
      lg_schema_off(min_contains), 0 },
    { "maxContains", LG_SCHEMA_D2020, lg_schema_kw_size,
      lg_schema_off(max_contains), 0 },
    { "unevaluatedItems", LG_SCHEMA_D2020, lg_schema_kw_schema,
      lg_schema_off(unevaluated_items), 0 },

    /* objects */
    { "minProperties", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(min_properties), 0 },
    { "maxProperties", LG_SCHEMA_DALL, lg_schema_kw_size,
      lg_schema_off(max_properties), 0 },
    { "required", LG_SCHEMA_DALL, lg_schema_kw_required, 0, 0 },
    { "dependentRequired", LG_SCHEMA_D2020,
      lg_schema_kw_dependent_required, 0, 0 },
    { "dependencies", LG_SCHEMA_D7, lg_schema_kw_dependencies, 0, 0 },
    { "dependentSchemas", LG_SCHEMA_D2020, lg_schema_kw_dependent_schemas,
      0, 0 },
    { "properties", LG_SCHEMA_DALL, lg_schema_kw_properties, 0, 0 },
    { "patternProperties", LG_SCHEMA_DALL, lg_schema_kw_pattern_properties,
      0, 0 },
    { "additionalProperties", LG_SCHEMA_DALL, lg_schema_kw_schema,
      lg_schema_off(additional_properties), 0 },
    { "propertyNames", LG_SCHEMA_DALL, lg_schema_kw_schema,
      lg_schema_off(property_names), 0 },
    { "unevaluatedProperties", LG_SCHEMA_D2020, lg_schema_kw_schema,
      lg_schema_off(unevaluated_properties), 0 },

    /* in-place applicators */
    { "allOf", LG_SCHEMA_DALL, lg_schema_kw_schema_list,
      lg_schema_off(all_of), lg_schema_off(nall_of) },
    { "anyOf", LG_SCHEMA_DALL, lg_schema_kw_schema_list,
      lg_schema_off(any_of), lg_schema_off(nany_of) },
    { "oneOf", LG_SCHEMA_DALL, lg_schema_kw_schema_list,
      lg_schema_off(one_of), lg_schema_off(none_of) },
    { "not", LG_SCHEMA_DALL, lg_schema_kw_schema, lg_schema_off(not), 0 },
    { "if", LG_SCHEMA_DALL, lg_schema_kw_schema, lg_schema_off(if_), 0 },
    { "then", LG_SCHEMA_DALL, lg_schema_kw_schema, lg_schema_off(then_), 0 },
    { "else", LG_SCHEMA_DALL, lg_schema_kw_schema, lg_schema_off(else_), 0 },

    { NULL, 0, NULL, 0, 0 }
};


/* in the order of the LG_SCHEMA_T_* bits */
static const char  *lg_schema_types[] = {
    "null", "boolean", "object", "array", "number", "string", "integer",
    NULL
};


/* annotations and keywords that need no compiled form */
static const char  *lg_schema_annotations[] = {
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment",
    "$vocabulary", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentMediaType", "contentEncoding", "contentSchema", NULL
};


int
lg_schema_keyword(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v)
{
    unsigned                    dialect;
    const lg_schema_keyword_t  *k;

    dialect = lg_schema_dialect(info->draft);

    for (k = lg_schema_keywords; k->name != NULL; k++) {
        if ((k->dialects & dialect) && strcmp(k->name, kw) == 0) {
            return k->compile(c, info, node, kw, v, k->offset, k->data);
        }
    }

    if (c->opts->strict && !lg_schema_known(kw)) {
        return lg_schema_fail(c, info, kw, "unknown keyword");
    }

    return 0;
}


static int
lg_schema_known(const char *kw)
{
    size_t  i;

    for (i = 0; lg_schema_annotations[i] != NULL; i++) {
        if (strcmp(kw, lg_schema_annotations[i]) == 0) {
            return 1;
        }
    }

    return strncmp(kw, "x-", 2) == 0;
}


/*
 * After the last keyword of a node: the sections the validator has to
 * run for it, and the table of the member names it looks up.
 */

int
lg_schema_keywords_done(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node)
{
    unsigned  s;

    s = 0;

    if (node->ref != NULL || node->dynamic_ref != NULL) {
        s |= LG_SCHEMA_S_REFS;
    }

    if (node->types != 0 || node->has_enum || node->has_const) {
        s |= LG_SCHEMA_S_ANY;
    }

    if (node->num_flags != 0) {
        s |= LG_SCHEMA_S_NUMBER;
    }

    if (node->min_length > 0 || node->max_length != LG_SCHEMA_UNSET
        || node->pattern != NULL || node->format_check != NULL)
    {
        s |= LG_SCHEMA_S_STRING;
    }

    if (node->min_items > 0 || node->max_items != LG_SCHEMA_UNSET
        || node->unique_items || node->nprefix_items > 0
        || node->items != NULL || node->contains != NULL
        || node->unevaluated_items != NULL)
    {
        s |= LG_SCHEMA_S_ARRAY;
    }

    if (node->min_properties > 0 || node->max_properties != LG_SCHEMA_UNSET
        || node->nrequired > 0 || node->ndependent_required > 0
        || node->nproperties > 0 || node->npattern_properties > 0
        || node->additional_properties != NULL
        || node->ndependent_schemas > 0 || node->property_names != NULL
        || node->unevaluated_properties != NULL)
    {
        s |= LG_SCHEMA_S_OBJECT;
    }

    if (node->nall_of > 0 || node->nany_of > 0 || node->none_of > 0
        || node->not != NULL || node->if_ != NULL)
    {
        s |= LG_SCHEMA_S_APPLICATORS;
    }

    if (node->unevaluated_items != NULL
        || node->unevaluated_properties != NULL)
    {
        s |= LG_SCHEMA_S_UNEVALUATED;
    }

    node->sections = s;

    return lg_schema_names(c, info, node);
}


/*
 * The names of "properties", "required", "dependentRequired" and
 * "dependentSchemas" in one open-addressing table (at most half full),
 * each name once: the validator hashes a member's key once (the parser
 * did) and finds what every one of those keywords says about it.
 */

static int
lg_schema_names(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node)
{
    size_t            i, j, max, size;
    lg_schema_dep_t  *d;

    max = node->nproperties + node->nrequired + node->ndependent_schemas;

    for (i = 0; i < node->ndependent_required; i++) {
        max += 1 + node->dependent_required[i].nrequired;
    }

    if (max == 0) {
        return 0;
    }

    for (size = 8; size < 2 * max; size *= 2) {
        /* void */
    }

    node->names = lg_arena_calloc(c->arena, max, sizeof(lg_schema_name_t));
    node->name_slots = lg_arena_calloc(c->arena, size, sizeof(uint32_t));

    if (node->names == NULL || node->name_slots == NULL) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    node->name_mask = (uint32_t) (size - 1);

    for (i = 0; i < node->nproperties; i++) {
        node->properties[i].entry = lg_schema_name_add(node,
                                                   node->properties[i].name,
                                                   node->properties[i].len);
        node->names[node->properties[i].entry].property =
                                                       &node->properties[i];
    }

    for (i = 0; i < node->nrequired; i++) {
        node->required[i].entry = lg_schema_name_add(node,
                                                     node->required[i].name,
                                                     node->required[i].len);
    }

    for (i = 0; i < node->ndependent_required; i++) {
        d = &node->dependent_required[i];
        d->entry = lg_schema_name_add(node, d->name, d->len);

        for (j = 0; j < d->nrequired; j++) {
            d->required[j].entry = lg_schema_name_add(node,
                                                      d->required[j].name,
                                                      d->required[j].len);
        }
    }

    for (i = 0; i < node->ndependent_schemas; i++) {
        node->dependent_schemas[i].entry = lg_schema_name_add(node,
                                          node->dependent_schemas[i].name,
                                          node->dependent_schemas[i].len);
    }

    return 0;
}


/* the entry of a name, added if it is new (the table has room) */

static uint32_t
lg_schema_name_add(lg_schema_node_t *node, const char *name, size_t len)
{
    uint32_t           i, hash, e;
    lg_schema_name_t  *n;

    hash = lg_schema_key_hash(name, len);

    for (i = hash & node->name_mask;
         node->name_slots[i] != 0;
         i = (i + 1) & node->name_mask)
    {
        e = node->name_slots[i] - 1;
        n = &node->names[e];

        if (n->hash == hash && n->len == len
            && memcmp(n->name, name, len) == 0)
        {
            return e;
        }
    }

    e = (uint32_t) node->nnames++;
    n = &node->names[e];
    n->name = name;
    n->len = len;
    n->hash = hash;
    node->name_slots[i] = e + 1;

    return e;
}


static int
lg_schema_kw_type(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    size_t       i, n, t;
    json_t      *e;
    const char  *s;

    n = json_is_array(v) ? json_array_size(v) : 1;

    if (json_is_array(v) && n == 0) {
        return lg_schema_fail(c, info, kw, "must not be empty");
    }

    for (i = 0; i < n; i++) {
        e = json_is_array(v) ? json_array_get(v, i) : v;
        s = json_string_value(e);

        if (s == NULL) {
            return lg_schema_fail(c, info, kw, "must be a type name or an "
                                  "array of them");
        }

        for (t = 0; lg_schema_types[t] != NULL; t++) {
            if (strcmp(lg_schema_types[t], s) == 0) {
                break;
            }
        }

        if (lg_schema_types[t] == NULL) {
            return lg_schema_fail(c, info, kw, "unknown type \"%s\"", s);
        }

        node->types |= 1u << t;
    }

    return 0;
}


static int
lg_schema_kw_enum(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    size_t  i;

    if (!json_is_array(v)) {
        return lg_schema_fail(c, info, kw, "must be an array");
    }

    node->has_enum = 1;
    node->nenum = json_array_size(v);
    node->enum_values = lg_arena_calloc(c->arena, node->nenum + 1,
                                        sizeof(lg_schema_value_t));
    if (node->enum_values == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    for (i = 0; i < node->nenum; i++) {
        if (lg_schema_value_from_json(c->arena, &node->enum_values[i],
                                      json_array_get(v, i))
            != 0)
        {
            return lg_schema_fail(c, info, kw, "out of memory");
        }
    }

    return 0;
}


static int
lg_schema_kw_const(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    node->has_const = 1;

    if (lg_schema_value_from_json(c->arena, &node->const_value, v) != 0) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    return 0;
}


static int
lg_schema_kw_multiple_of(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (lg_schema_num_get(v, &node->multiple_of) != 0) {
        return lg_schema_fail(c, info, kw, "must be a number");
    }

    if (node->multiple_of.is_int ? node->multiple_of.i <= 0
                                 : !(node->multiple_of.d > 0))
    {
        return lg_schema_fail(c, info, kw, "must be greater than 0");
    }

    node->num_flags |= LG_SCHEMA_F_MULTIPLE;

    return 0;
}


/* minimum, maximum, exclusiveMinimum, exclusiveMaximum: "data" the flag */

static int
lg_schema_kw_number(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    node->num_flags |= (unsigned) data;

    if (lg_schema_num_get(v, lg_schema_field(node, offset, lg_schema_num_t))
        != 0)
    {
        return lg_schema_fail(c, info, kw, "must be a number");
    }

    return 0;
}


/* a non-negative integer (1.0 is one): min/max Length, Items, ... */

static int
lg_schema_kw_size(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    double   d;
    size_t  *out;

    out = lg_schema_field(node, offset, size_t);

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (size_t) json_integer_value(v);
        return 0;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);

        if (d >= 0 && lg_schema_num_is_integer(v)) {
            *out = d >= 1.8e19 ? LG_SCHEMA_UNSET - 1 : (size_t) d;
            return 0;
        }
    }

    return lg_schema_fail(c, info, kw, "must be a non-negative integer");
}


static int
lg_schema_kw_pattern(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (!json_is_string(v)) {
        return lg_schema_fail(c, info, kw, "must be a string");
    }

    node->pattern = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_regex_t));
    if (node->pattern == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    return lg_schema_regex(c, info, kw, json_string_value(v),
                           json_string_length(v), node->pattern);
}


static int
lg_schema_kw_format(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (!json_is_string(v)) {
        return lg_schema_fail(c, info, kw, "must be a string");
    }

    node->format = lg_arena_strndup(c->arena, json_string_value(v),
                                    json_string_length(v));
    if (node->format == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    /* an unknown format stays an annotation */
    node->format_check = c->format_assertion
                         ? lg_schema_format_find(node->format) : NULL;

    return 0;
}


static int
lg_schema_kw_unique_items(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (!json_is_boolean(v)) {
        return lg_schema_fail(c, info, kw, "must be a boolean");
    }

    node->unique_items = json_is_true(v);

    return 0;
}


static int
lg_schema_kw_required(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    return lg_schema_string_list(c, info, kw, v, &node->required,
                                 &node->nrequired);
}


static int
lg_schema_kw_dependent_required(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data)
{
    return lg_schema_dep_required(c, info, node, kw, v, 0);
}


/*
 * draft-07 "dependencies": its array members are "dependentRequired", its
 * schema members "dependentSchemas" of 2020-12
 */

static int
lg_schema_kw_dependencies(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    size_t             n;
    json_t            *e;
    const char        *key;
    lg_schema_prop_t  *p;

    if (lg_schema_dep_required(c, info, node, kw, v, 1) != 0) {
        return -1;
    }

    n = 0;

    json_object_foreach(v, key, e) {
        if (!json_is_array(e)) {
            n++;
        }
    }

    node->dependent_schemas = lg_arena_calloc(c->arena, n + 1,
                                              sizeof(lg_schema_prop_t));
    if (node->dependent_schemas == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    json_object_foreach(v, key, e) {
        if (json_is_array(e)) {
            continue;
        }

        p = &node->dependent_schemas[node->ndependent_schemas++];
        p->len = strlen(key);
        p->name = lg_arena_strndup(c->arena, key, p->len);
        p->node = lg_schema_child(c, info, kw, e);

        if (p->name == NULL || p->node == NULL) {
            return -1;
        }
    }

    return 0;
}


static int
lg_schema_dep_required(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, int draft7)
{
    json_t           *e;
    const char       *key;
    lg_schema_dep_t  *d;

    if (!json_is_object(v)) {
        return lg_schema_fail(c, info, kw, "must be an object");
    }

    node->dependent_required = lg_arena_calloc(c->arena,
                                               json_object_size(v) + 1,
                                               sizeof(lg_schema_dep_t));
    if (node->dependent_required == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    node->dep_required_kw = draft7 ? "dependencies" : "dependentRequired";
    node->dep_schemas_kw = "dependencies";

    json_object_foreach(v, key, e) {
        if (draft7 && !json_is_array(e)) {
            continue;
        }

        d = &node->dependent_required[node->ndependent_required++];
        d->name = lg_arena_strndup(c->arena, key, strlen(key));
        d->len = strlen(key);

        if (d->name == NULL) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        if (lg_schema_string_list(c, info, kw, e, &d->required,
                                  &d->nrequired)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
lg_schema_kw_dependent_schemas(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data)
{
    node->dep_schemas_kw = "dependentSchemas";

    return lg_schema_props(c, info, kw, v, lg_schema_prop_cmp,
                           &node->dependent_schemas,
                           &node->ndependent_schemas);
}


static int
lg_schema_kw_properties(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    return lg_schema_props(c, info, kw, v, NULL, &node->properties,
                           &node->nproperties);
}


static int
lg_schema_kw_pattern_properties(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data)
{
    json_t             *e;
    const char         *key;
    lg_schema_pprop_t  *pp;

    if (!json_is_object(v)) {
        return lg_schema_fail(c, info, kw, "must be an object");
    }

    node->pattern_properties = lg_arena_calloc(c->arena,
                                               json_object_size(v) + 1,
                                               sizeof(lg_schema_pprop_t));
    if (node->pattern_properties == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    json_object_foreach(v, key, e) {
        pp = &node->pattern_properties[node->npattern_properties++];

        if (lg_schema_regex(c, info, kw, key, strlen(key), &pp->re) != 0) {
            return -1;
        }

        pp->node = lg_schema_child(c, info, kw, e);
        if (pp->node == NULL) {
            return -1;
        }
    }

    return 0;
}


/*
 * allOf, anyOf, oneOf, prefixItems: a non-empty array of schemas, at
 * "offset", its length at "data"
 */

static int
lg_schema_kw_schema_list(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (offset == offsetof(lg_schema_node_t, prefix_items)) {
        node->prefix_kw = "prefixItems";
    }

    return lg_schema_schema_array(c, info, kw, v,
                                  lg_schema_field(node, offset,
                                                  lg_schema_node_t **),
                                  lg_schema_field(node, data, size_t));
}


static int
lg_schema_kw_items(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (info->draft == LG_SCHEMA_DRAFT7 && json_is_array(v)) {
        /* draft-07 array "items" is 2020-12 "prefixItems" */
        node->prefix_kw = "items";
        return lg_schema_schema_array(c, info, kw, v, &node->prefix_items,
                                      &node->nprefix_items);
    }

    if (node->items != NULL) {
        /* draft-07: "additionalItems" came first; array "items" wins */
        return 0;
    }

    node->items_kw = "items";
    node->items = lg_schema_child(c, info, kw, v);

    return node->items == NULL ? -1 : 0;
}


static int
lg_schema_kw_additional_items(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    if (!json_is_array(json_object_get(info->json, "items"))) {
        return 0;
    }

    node->items_kw = "additionalItems";
    node->items = lg_schema_child(c, info, kw, v);

    return node->items == NULL ? -1 : 0;
}


/* one subschema at "offset" */

static int
lg_schema_kw_schema(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    lg_schema_node_t  **out;

    out = lg_schema_field(node, offset, lg_schema_node_t *);
    *out = lg_schema_child(c, info, kw, v);

    return *out == NULL ? -1 : 0;
}


static int
lg_schema_schema_array(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, lg_schema_node_t ***out, size_t *n)
{
    size_t  i;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        return lg_schema_fail(c, info, kw, "must be a non-empty array of "
                              "schemas");
    }

    *n = json_array_size(v);
    *out = lg_arena_calloc(c->arena, *n, sizeof(lg_schema_node_t *));

    if (*out == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    for (i = 0; i < *n; i++) {
        (*out)[i] = lg_schema_child(c, info, kw, json_array_get(v, i));
        if ((*out)[i] == NULL) {
            return -1;
        }
    }

    return 0;
}


static int
lg_schema_string_list(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, lg_schema_prop_t **out, size_t *n)
{
    size_t             i, j;
    json_t            *e;
    lg_schema_prop_t  *p;

    if (!json_is_array(v)) {
        return lg_schema_fail(c, info, kw, "must be an array of strings");
    }

    *n = json_array_size(v);
    *out = lg_arena_calloc(c->arena, *n + 1, sizeof(lg_schema_prop_t));

    if (*out == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    for (i = 0; i < *n; i++) {
        e = json_array_get(v, i);

        if (!json_is_string(e)) {
            return lg_schema_fail(c, info, kw, "must be an array of "
                                  "strings");
        }

        p = &(*out)[i];
        p->len = json_string_length(e);
        p->name = lg_arena_strndup(c->arena, json_string_value(e), p->len);

        if (p->name == NULL) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        for (j = 0; j < i; j++) {
            if ((*out)[j].len == p->len
                && memcmp((*out)[j].name, p->name, p->len) == 0)
            {
                return lg_schema_fail(c, info, kw, "\"%s\" is listed twice",
                                      p->name);
            }
        }
    }

    return 0;
}


static int
lg_schema_prop_cmp(const void *a, const void *b)
{
    int                      rc;
    const lg_schema_prop_t  *x, *y;

    x = a;
    y = b;

    rc = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);

    if (rc != 0) {
        return rc;
    }

    return x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
}


static int
lg_schema_props(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, int (*cmp)(const void *, const void *),
    lg_schema_prop_t **out, size_t *n)
{
    size_t             len;
    json_t            *e;
    const char        *key;
    lg_schema_prop_t  *p;

    if (!json_is_object(v)) {
        return lg_schema_fail(c, info, kw, "must be an object");
    }

    *out = lg_arena_calloc(c->arena, json_object_size(v) + 1,
                           sizeof(lg_schema_prop_t));
    if (*out == NULL) {
        return lg_schema_fail(c, info, kw, "out of memory");
    }

    *n = 0;

    json_object_keylen_foreach(v, key, len, e) {
        p = &(*out)[(*n)++];
        p->len = len;
        p->name = lg_arena_strndup(c->arena, key, len);
        p->node = lg_schema_child(c, info, kw, e);

        if (p->name == NULL || p->node == NULL) {
            return p->name == NULL
                   ? lg_schema_fail(c, info, kw, "out of memory") : -1;
        }
    }

    if (cmp != NULL) {
        qsort(*out, *n, sizeof(lg_schema_prop_t), cmp);
    }

    return 0;
}
