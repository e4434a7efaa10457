
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The JSON Schema compiler.  Two passes over every document:
 *
 * 1. a walk over the subschemas (only where keywords hold schemas, so an
 *    "$id" inside "const" is data, not an identifier) that records each
 *    subschema's base URI, dialect and JSON path, and registers the
 *    resources ("$id"), anchors ("$anchor", "$dynamicAnchor", draft-07
 *    "#name" ids) of the document (lg_schema_ref.c);
 * 2. the compilation of each subschema into an lg_schema_node_t, keyword
 *    by keyword (lg_schema_keyword.c), driven by a work list rather than
 *    recursion, so "$ref" cycles and long chains of references cost no
 *    stack.
 *
 * References to other files load them (once, by real path) when they are
 * first met, and walk them before resolving.  Everything the compiled tree
 * keeps is copied into the arena; the parsed documents and the lookup
 * tables are released when compilation ends.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_schema_compile_int.h"
#include "lg_schema_uri.h"


static lg_schema_t *lg_schema_compile(lg_arena_t *arena, json_t *json,
    const char *file, int owned, const lg_schema_options_t *opts,
    lg_error_t *err);
static int lg_schema_queue_rest(lg_schema_compile_t *c);
static int lg_schema_dialect_of(lg_schema_compile_t *c,
    lg_schema_info_t *info, int *draft);
static int lg_schema_walk_child(lg_schema_compile_t *c, lg_schema_doc_t *doc,
    json_t *json, const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth, const char *kw, int form);
static int lg_schema_compile_node(lg_schema_compile_t *c,
    lg_schema_info_t *info);


/* keywords whose value is one schema, a map of schemas, or an array */
#define LG_FORM_ONE    0
#define LG_FORM_MAP    1
#define LG_FORM_ARRAY  2
#define LG_FORM_ITEMS  3     /* draft-07 "items": one or an array */
#define LG_FORM_DEPS   4     /* draft-07 "dependencies": map, some arrays */


typedef struct {
    const char  *kw;
    int          form;
    unsigned     dialects;   /* LG_SCHEMA_D* bits */
} lg_schema_applicator_t;


static const lg_schema_applicator_t  lg_schema_applicators[] = {
    { "$defs", LG_FORM_MAP, LG_SCHEMA_DALL },
    { "definitions", LG_FORM_MAP, LG_SCHEMA_D7 },
    { "properties", LG_FORM_MAP, LG_SCHEMA_DALL },
    { "patternProperties", LG_FORM_MAP, LG_SCHEMA_DALL },
    { "dependentSchemas", LG_FORM_MAP, LG_SCHEMA_D2020 },
    { "dependencies", LG_FORM_DEPS, LG_SCHEMA_D7 },
    { "prefixItems", LG_FORM_ARRAY, LG_SCHEMA_D2020 },
    { "allOf", LG_FORM_ARRAY, LG_SCHEMA_DALL },
    { "anyOf", LG_FORM_ARRAY, LG_SCHEMA_DALL },
    { "oneOf", LG_FORM_ARRAY, LG_SCHEMA_DALL },
    { "items", LG_FORM_ONE, LG_SCHEMA_D2020 },
    { "items", LG_FORM_ITEMS, LG_SCHEMA_D7 },
    { "additionalItems", LG_FORM_ONE, LG_SCHEMA_D7 },
    { "additionalProperties", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "unevaluatedItems", LG_FORM_ONE, LG_SCHEMA_D2020 },
    { "unevaluatedProperties", LG_FORM_ONE, LG_SCHEMA_D2020 },
    { "contains", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "propertyNames", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "not", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "if", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "then", LG_FORM_ONE, LG_SCHEMA_DALL },
    { "else", LG_FORM_ONE, LG_SCHEMA_DALL },
    { NULL, 0, 0 }
};


/* -------------------------------------------------------------------- */


static uint64_t
lg_schema_map_hash(const void *key, size_t len)
{
    size_t                i;
    uint64_t              h;
    const unsigned char  *p;

    p = key;
    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }

    return h;
}


int
lg_schema_map_put(lg_schema_map_t *map, const void *key, size_t len,
    void *value)
{
    size_t            i, size;
    lg_schema_map_t   grown;

    if (map->n * 2 >= map->size) {
        size = map->size ? map->size * 2 : 64;

        grown.slots = calloc(size, sizeof(*map->slots));
        if (grown.slots == NULL) {
            return -1;
        }

        grown.size = size;
        grown.n = 0;

        for (i = 0; i < map->size; i++) {
            if (map->slots[i].key != NULL) {
                lg_schema_map_put(&grown, map->slots[i].key,
                                  map->slots[i].len, map->slots[i].value);
            }
        }

        free(map->slots);
        *map = grown;
    }

    i = lg_schema_map_hash(key, len) & (map->size - 1);

    while (map->slots[i].key != NULL) {
        if (map->slots[i].len == len
            && memcmp(map->slots[i].key, key, len) == 0)
        {
            map->slots[i].value = value;
            return 0;
        }

        i = (i + 1) & (map->size - 1);
    }

    map->slots[i].key = key;
    map->slots[i].len = len;
    map->slots[i].value = value;
    map->n++;

    return 0;
}


void *
lg_schema_map_get(lg_schema_map_t *map, const void *key, size_t len)
{
    size_t  i;

    if (map->size == 0) {
        return NULL;
    }

    i = lg_schema_map_hash(key, len) & (map->size - 1);

    while (map->slots[i].key != NULL) {
        if (map->slots[i].len == len
            && memcmp(map->slots[i].key, key, len) == 0)
        {
            return map->slots[i].value;
        }

        i = (i + 1) & (map->size - 1);
    }

    return NULL;
}


void
lg_schema_map_free(lg_schema_map_t *map)
{
    free(map->slots);
    map->slots = NULL;
    map->size = 0;
    map->n = 0;
}


/* -------------------------------------------------------------------- */


int
lg_schema_fail(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *fmt, ...)
{
    int              n;
    size_t           used;
    va_list          args;
    lg_json_path_t   path;

    lg_json_path_init(&path);

    if (info != NULL) {
        n = snprintf(path.data, sizeof(path.data), "%s", info->path);
        path.len = (n < 0 || (size_t) n >= sizeof(path.data))
                   ? sizeof(path.data) - 1 : (size_t) n;

        if (kw != NULL) {
            lg_json_path_key(&path, kw);
        }
    }

    lg_error_set(c->err, info != NULL ? info->doc->file : "schema",
                 &path, "%s", "");

    used = strlen(c->err->text);

    va_start(args, fmt);
    vsnprintf(c->err->text + used, sizeof(c->err->text) - used, fmt, args);
    va_end(args);

    return -1;
}


lg_schema_t *
lg_schema_compile_file(lg_arena_t *arena, const char *file,
    const lg_schema_options_t *opts, lg_error_t *err)
{
    json_t  *json;

    json = lg_json_load_file(file, LG_SCHEMA_MAX_FILE, LG_SCHEMA_JSON_FLAGS,
                             err);
    if (json == NULL) {
        return NULL;
    }

    return lg_schema_compile(arena, json, file, 1, opts, err);
}


lg_schema_t *
lg_schema_compile_json(lg_arena_t *arena, json_t *json, const char *file,
    const lg_schema_options_t *opts, lg_error_t *err)
{
    return lg_schema_compile(arena, json, file, 0, opts, err);
}


static lg_schema_t *
lg_schema_compile(lg_arena_t *arena, json_t *json, const char *file,
    int owned, const lg_schema_options_t *opts, lg_error_t *err)
{
    int                   rc;
    char                  abs[PATH_MAX], *slash;
    lg_schema_t          *schema;
    lg_schema_doc_t      *doc, *next;
    lg_schema_info_t     *info;
    lg_schema_compile_t   c;
    lg_schema_options_t   defaults;

    static const lg_schema_options_t  zero;

    memset(&c, 0, sizeof(lg_schema_compile_t));

    if (opts == NULL) {
        defaults = zero;
        opts = &defaults;
    }

    c.arena = arena;
    c.err = err;
    c.opts = opts;
    c.format_assertion = opts->format_assertion;

    schema = NULL;
    rc = -1;

    /* the file's absolute path (the file itself may not exist) */
    if (realpath(file, abs) == NULL) {
        if (file[0] == '/') {
            snprintf(abs, sizeof(abs), "%s", file);

        } else if (getcwd(abs, sizeof(abs)) != NULL) {
            snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s",
                     file);

        } else {
            snprintf(abs, sizeof(abs), "/%s", file);
        }
    }

    if (opts->base_dir != NULL) {
        if (realpath(opts->base_dir, c.base_dir) == NULL) {
            lg_error_set(err, opts->base_dir, NULL, "cannot resolve: %s",
                         strerror(errno));
            goto done;
        }

    } else {
        snprintf(c.base_dir, sizeof(c.base_dir), "%s", abs);
        slash = strrchr(c.base_dir, '/');

        if (slash != NULL) {
            slash[slash == c.base_dir ? 1 : 0] = '\0';
        }
    }

    schema = lg_arena_calloc(arena, 1, sizeof(lg_schema_t));

    if (lg_schema_regex_init(&c) != 0 || schema == NULL) {
        lg_error_set(err, file, NULL, "out of memory");
        goto done;
    }

    schema->format_assertion = opts->format_assertion;
    doc = lg_schema_add_doc(&c, json, file, abs, owned);
    owned = 0;

    if (doc == NULL) {
        goto done;
    }

    info = lg_schema_map_get_ptr(&c.infos, doc->json);
    if (info == NULL) {
        goto done;
    }

    schema->root = lg_schema_node(&c, info);
    if (schema->root == NULL) {
        goto done;
    }

    /* compile every subschema reached so far, and what they reference */
    while (c.pending != NULL) {
        info = c.pending;
        c.pending = info->next_pending;

        if (lg_schema_compile_node(&c, info) != 0) {
            goto done;
        }

        if (c.pending == NULL) {
            if (lg_schema_queue_rest(&c) != 0) {
                goto done;
            }

            if (c.pending == NULL && lg_schema_dynamic_anchors(&c) != 0) {
                goto done;
            }
        }
    }

    if (lg_schema_loops(&c) != 0) {
        goto done;
    }

    rc = 0;

done:

    if (owned) {
        json_decref(json);
    }

    for (doc = c.doc_list; doc != NULL; doc = next) {
        next = doc->next;

        if (doc->owned) {
            json_decref(doc->json);
        }
    }

    lg_schema_map_free(&c.resources);
    lg_schema_map_free(&c.anchors);
    lg_schema_map_free(&c.infos);
    lg_schema_map_free(&c.docs);

    return rc == 0 ? schema : NULL;
}


/*
 * Queues every subschema the walk found that is not compiled yet, so a
 * broken schema in an unused "$defs" entry fails at load time too.
 */

static int
lg_schema_queue_rest(lg_schema_compile_t *c)
{
    size_t             i;
    lg_schema_info_t  *info;

    for (i = 0; i < c->infos.size; i++) {
        info = c->infos.slots[i].value;

        if (info != NULL && info->node == NULL) {
            if (lg_schema_node(c, info) == NULL) {
                return -1;
            }
        }
    }

    return 0;
}


lg_schema_doc_t *
lg_schema_add_doc(lg_schema_compile_t *c, json_t *json, const char *file,
    const char *real, int owned)
{
    char                  *key;
    lg_json_path_t         path;
    lg_schema_doc_t       *doc;
    lg_schema_resource_t  *res;

    doc = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_doc_t));
    key = lg_arena_strndup(c->arena, real, strlen(real));

    if (doc == NULL || key == NULL) {
        if (owned) {
            json_decref(json);
        }

        lg_error_set(c->err, file, NULL, "out of memory");
        return NULL;
    }

    doc->file = lg_arena_strndup(c->arena, file, strlen(file));
    doc->uri = lg_schema_uri_from_path(c->arena, real);
    doc->json = json;
    doc->owned = owned;
    doc->next = c->doc_list;
    c->doc_list = doc;

    res = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_resource_t));

    if (doc->file == NULL || doc->uri == NULL || res == NULL
        || lg_schema_map_put(&c->docs, key, strlen(key), doc) != 0)
    {
        lg_error_set(c->err, file, NULL, "out of memory");
        return NULL;
    }

    res->uri = doc->uri;

    lg_json_path_init(&path);

    if (lg_schema_walk(c, doc, json, doc->uri, &path, LG_SCHEMA_DRAFT2020,
                       res, 0)
        != 0)
    {
        return NULL;
    }

    return doc;
}


/*
 * Pass 1 over one subschema and, through the keywords that hold schemas,
 * over its subschemas: the info every later step needs.
 */

int
lg_schema_walk(lg_schema_compile_t *c, lg_schema_doc_t *doc, json_t *json,
    const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth)
{
    json_t                        *v;
    lg_schema_info_t              *info;
    const lg_schema_applicator_t  *a;

    info = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_info_t));
    if (info == NULL) {
        return lg_schema_fail(c, NULL, NULL, "out of memory");
    }

    info->json = json;
    info->doc = doc;
    info->path = lg_arena_strndup(c->arena, path->data, path->len);

    if (info->path == NULL) {
        return lg_schema_fail(c, NULL, NULL, "out of memory");
    }

    if (depth > LG_SCHEMA_MAX_SCHEMA_DEPTH) {
        return lg_schema_fail(c, info, NULL, "schema nested deeper than %d",
                              LG_SCHEMA_MAX_SCHEMA_DEPTH);
    }

    if (!json_is_object(json) && !json_is_boolean(json)) {
        return lg_schema_fail(c, info, NULL,
                              "a schema must be an object or a boolean");
    }

    if (json_is_object(json)) {

        /* the dialect: at a document root or a resource root */
        if ((depth == 0 || json_object_get(json, "$id") != NULL)
            && lg_schema_dialect_of(c, info, &draft) != 0)
        {
            return -1;
        }

        if (lg_schema_identify(c, info, draft, depth, &base, &resource) != 0)
        {
            return -1;
        }
    }

    info->base = base;
    info->resource = resource;
    info->draft = draft;

    if (depth == 0) {
        /* the document is also known by its file URI */
        if (lg_schema_map_get(&c->resources, doc->uri, strlen(doc->uri))
            == NULL
            && lg_schema_map_put(&c->resources, doc->uri, strlen(doc->uri),
                                 info)
               != 0)
        {
            return lg_schema_fail(c, info, NULL, "out of memory");
        }
    }

    if (lg_schema_map_put_ptr(&c->infos, &info->json, info) != 0) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    if (!json_is_object(json)) {
        return 0;
    }

    for (a = lg_schema_applicators; a->kw != NULL; a++) {
        if (!(a->dialects & lg_schema_dialect(draft))) {
            continue;
        }

        v = json_object_get(json, a->kw);

        if (v != NULL
            && lg_schema_walk_child(c, doc, v, base, path, draft, resource,
                                    depth, a->kw, a->form)
               != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* "$schema": the dialect of a document or resource */

static int
lg_schema_dialect_of(lg_schema_compile_t *c, lg_schema_info_t *info,
    int *draft)
{
    json_t      *v;
    const char  *s;

    v = json_object_get(info->json, "$schema");

    if (v == NULL) {
        return 0;
    }

    s = json_string_value(v);

    if (s == NULL) {
        return lg_schema_fail(c, info, "$schema", "must be a string");
    }

    if (strncmp(s, LG_SCHEMA_2020_URI, strlen(LG_SCHEMA_2020_URI)) == 0
        && (s[strlen(LG_SCHEMA_2020_URI)] == '\0'
            || strcmp(s + strlen(LG_SCHEMA_2020_URI), "#") == 0))
    {
        *draft = LG_SCHEMA_DRAFT2020;
        return 0;
    }

    if (strncmp(s, LG_SCHEMA_7_URI, strlen(LG_SCHEMA_7_URI)) == 0
        && (s[strlen(LG_SCHEMA_7_URI)] == '\0'
            || strcmp(s + strlen(LG_SCHEMA_7_URI), "#") == 0))
    {
        *draft = LG_SCHEMA_DRAFT7;
        return 0;
    }

    return lg_schema_fail(c, info, "$schema", "unsupported dialect \"%s\" "
                          "(use " LG_SCHEMA_2020_URI " or " LG_SCHEMA_7_URI
                          "#)", s);
}


static int
lg_schema_walk_child(lg_schema_compile_t *c, lg_schema_doc_t *doc,
    json_t *json, const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth, const char *kw, int form)
{
    int          rc;
    size_t       saved, saved2, i;
    json_t      *v;
    const char  *key;

    saved = lg_json_path_key(path, kw);
    rc = 0;

    if (form == LG_FORM_ITEMS) {
        form = json_is_array(json) ? LG_FORM_ARRAY : LG_FORM_ONE;
    }

    switch (form) {

    case LG_FORM_ONE:
        rc = lg_schema_walk(c, doc, json, base, path, draft, resource,
                            depth + 1);
        break;

    case LG_FORM_MAP:
    case LG_FORM_DEPS:
        if (!json_is_object(json)) {
            lg_json_path_pop(path, saved);
            return 0;   /* the compiler reports it */
        }

        json_object_foreach(json, key, v) {
            if (form == LG_FORM_DEPS && json_is_array(v)) {
                continue;
            }

            saved2 = lg_json_path_key(path, key);
            rc = lg_schema_walk(c, doc, v, base, path, draft, resource,
                                depth + 1);
            lg_json_path_pop(path, saved2);

            if (rc != 0) {
                break;
            }
        }

        break;

    case LG_FORM_ARRAY:
        if (!json_is_array(json)) {
            break;
        }

        for (i = 0; i < json_array_size(json); i++) {
            saved2 = lg_json_path_index(path, i);
            rc = lg_schema_walk(c, doc, json_array_get(json, i), base, path,
                                draft, resource, depth + 1);
            lg_json_path_pop(path, saved2);

            if (rc != 0) {
                break;
            }
        }

        break;
    }

    lg_json_path_pop(path, saved);

    return rc;
}


/* -------------------------------------------------------------------- */


lg_schema_node_t *
lg_schema_node(lg_schema_compile_t *c, lg_schema_info_t *info)
{
    if (info->node != NULL) {
        return info->node;
    }

    info->node = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_node_t));
    if (info->node == NULL) {
        lg_schema_fail(c, info, NULL, "out of memory");
        return NULL;
    }

    info->next_pending = c->pending;
    c->pending = info;

    return info->node;
}


lg_schema_node_t *
lg_schema_child(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *json)
{
    lg_schema_info_t  *child;

    child = lg_schema_map_get_ptr(&c->infos, json);

    if (child == NULL) {
        lg_schema_fail(c, info, kw, "must be a schema (an object or a "
                       "boolean)");
        return NULL;
    }

    return lg_schema_node(c, child);
}


static int
lg_schema_compile_node(lg_schema_compile_t *c, lg_schema_info_t *info)
{
    json_t            *v;
    const char        *kw;
    lg_schema_node_t  *node;

    node = info->node;

    node->draft = info->draft;
    node->resource = info->resource;
    node->min_length = 0;
    node->max_length = LG_SCHEMA_UNSET;
    node->min_items = 0;
    node->max_items = LG_SCHEMA_UNSET;
    node->min_contains = 1;
    node->max_contains = LG_SCHEMA_UNSET;
    node->min_properties = 0;
    node->max_properties = LG_SCHEMA_UNSET;

    if (json_is_boolean(info->json)) {
        node->boolean = json_is_true(info->json);
        return 0;
    }

    node->boolean = -1;

    if (info->draft == LG_SCHEMA_DRAFT7
        && (v = json_object_get(info->json, "$ref")) != NULL)
    {
        /* draft-07: "$ref" makes its siblings ignored */
        if (lg_schema_keyword(c, info, node, "$ref", v) != 0) {
            return -1;
        }

        return lg_schema_keywords_done(c, info, node);
    }

    json_object_foreach(info->json, kw, v) {
        if (lg_schema_keyword(c, info, node, kw, v) != 0) {
            return -1;
        }
    }

    if (node->contains == NULL) {
        node->min_contains = 1;
        node->max_contains = LG_SCHEMA_UNSET;
    }

    if (node->draft == LG_SCHEMA_DRAFT7 && node->prefix_items == NULL
        && node->items != NULL && strcmp(node->items_kw, "additionalItems")
                                  == 0)
    {
        /* "additionalItems" without array "items" does nothing */
        node->items = NULL;
    }

    if (node->draft == LG_SCHEMA_DRAFT7 && node->prefix_items != NULL
        && node->items != NULL && strcmp(node->items_kw, "items") == 0)
    {
        node->items = NULL;
    }

    return lg_schema_keywords_done(c, info, node);
}
