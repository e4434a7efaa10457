
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
 *    "#name" ids) of the document;
 * 2. the compilation of each subschema into an lg_schema_node_t, driven by
 *    a work list rather than recursion, so "$ref" cycles and long chains
 *    of references cost no stack.
 *
 * References to other files load them (once, by real path) when they are
 * first met, and walk them before resolving.  Everything the compiled tree
 * keeps is copied into the arena; the parsed documents and the lookup
 * tables are released when compilation ends.
 */


#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lg_schema_int.h"
#include "lg_schema_uri.h"


#define LG_SCHEMA_2020_URI  "https://json-schema.org/draft/2020-12/schema"
#define LG_SCHEMA_7_URI     "http://json-schema.org/draft-07/schema"


typedef struct lg_schema_doc_s      lg_schema_doc_t;
typedef struct lg_schema_info_s     lg_schema_info_t;
typedef struct lg_schema_anchor_e_s lg_schema_anchor_e_t;


/* an open-addressing table: byte-string keys, pointer values */
typedef struct {
    struct {
        const void  *key;
        size_t       len;
        void        *value;
    }               *slots;
    size_t           size;
    size_t           n;
} lg_schema_map_t;


struct lg_schema_doc_s {
    const char          *file;       /* as named, for messages */
    const char          *uri;        /* file:///real/path */
    json_t              *json;
    int                  owned;
    lg_schema_doc_t     *next;
};


/* what pass 1 knows about one subschema */
struct lg_schema_info_s {
    json_t                *json;
    lg_schema_doc_t       *doc;
    const char            *base;
    const char            *path;
    int                    draft;
    lg_schema_resource_t  *resource;
    lg_schema_node_t      *node;
    lg_schema_info_t      *next_pending;
    unsigned               queued:1;
};


struct lg_schema_anchor_e_s {
    lg_schema_info_t      *info;
    const char            *name;
    unsigned               dynamic:1;
    lg_schema_anchor_e_t  *next;
};


typedef struct {
    lg_arena_t                 *arena;
    lg_error_t                 *err;
    const lg_schema_options_t  *opts;
    char                        base_dir[PATH_MAX];
    lg_schema_map_t             resources;   /* URI -> info */
    lg_schema_map_t             anchors;     /* URI#name -> anchor */
    lg_schema_map_t             infos;       /* json_t * -> info */
    lg_schema_map_t             docs;        /* real path -> doc */
    lg_schema_doc_t            *doc_list;
    lg_schema_anchor_e_t       *anchor_list;
    lg_schema_info_t           *pending;
    lg_schema_info_t           *pending_last;
    pcre2_general_context      *gctx;
    pcre2_compile_context      *cctx;
    int                         format_assertion;
} lg_schema_compile_t;


static int lg_schema_map_put(lg_schema_map_t *map, const void *key,
    size_t len, void *value);
static void *lg_schema_map_get(lg_schema_map_t *map, const void *key,
    size_t len);
static void lg_schema_map_free(lg_schema_map_t *map);
static void *lg_schema_pcre_malloc(size_t size, void *data);
static void lg_schema_pcre_free(void *p, void *data);
static int lg_schema_fail(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static lg_schema_t *lg_schema_compile(lg_arena_t *arena, json_t *json,
    const char *file, int owned, const lg_schema_options_t *opts,
    lg_error_t *err);
static lg_schema_doc_t *lg_schema_add_doc(lg_schema_compile_t *c,
    json_t *json, const char *file, const char *real, int owned);
static lg_schema_doc_t *lg_schema_load_doc(lg_schema_compile_t *c,
    const char *path, lg_schema_info_t *from, const char *ref);
static int lg_schema_walk(lg_schema_compile_t *c, lg_schema_doc_t *doc,
    json_t *json, const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth);
static int lg_schema_walk_child(lg_schema_compile_t *c, lg_schema_doc_t *doc,
    json_t *json, const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth, const char *kw, int form);
static int lg_schema_add_anchor(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *base, const char *name,
    int dynamic);
static lg_schema_info_t *lg_schema_resolve(lg_schema_compile_t *c,
    lg_schema_info_t *from, const char *kw, const char *ref,
    lg_schema_anchor_e_t **anchor);
static lg_schema_info_t *lg_schema_pointer(lg_schema_compile_t *c,
    lg_schema_info_t *root, lg_schema_info_t *from, const char *kw,
    const char *pointer);
static lg_schema_node_t *lg_schema_node(lg_schema_compile_t *c,
    lg_schema_info_t *info);
static lg_schema_node_t *lg_schema_child(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *json);
static int lg_schema_compile_node(lg_schema_compile_t *c,
    lg_schema_info_t *info);
static int lg_schema_keyword(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v);
static int lg_schema_size(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, size_t *out);
static int lg_schema_number(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, lg_schema_num_t *out);
static int lg_schema_schema_array(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *v,
    lg_schema_node_t ***out, size_t *n);
static int lg_schema_string_list(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *v,
    lg_schema_prop_t **out, size_t *n);
static int lg_schema_prop_len_cmp(const void *a, const void *b);
static int lg_schema_props(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, int (*cmp)(const void *, const void *),
    lg_schema_prop_t **out, size_t *n);
static int lg_schema_regex(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *src, size_t len, lg_schema_regex_t *re);
static const char *lg_schema_regex_names(lg_schema_compile_t *c,
    const char *src, size_t *len);
static void lg_schema_regex_free(void *data);
static int lg_schema_known(const char *kw, int draft);
static int lg_schema_loops(lg_schema_compile_t *c);
static int lg_schema_loop_walk(lg_schema_compile_t *c, lg_schema_map_t *nodes,
    lg_schema_node_t *node, size_t depth);
static int lg_schema_dynamic(lg_schema_compile_t *c);


/* keywords whose value is one schema, a map of schemas, or an array */
#define LG_FORM_ONE    0
#define LG_FORM_MAP    1
#define LG_FORM_ARRAY  2
#define LG_FORM_ITEMS  3     /* draft-07 "items": one or an array */
#define LG_FORM_DEPS   4     /* draft-07 "dependencies": map, some arrays */


typedef struct {
    const char  *kw;
    int          form;
    int          drafts;     /* 1: 2020-12, 2: draft-07, 3: both */
} lg_schema_applicator_t;


static const lg_schema_applicator_t  lg_schema_applicators[] = {
    { "$defs", LG_FORM_MAP, 3 },
    { "definitions", LG_FORM_MAP, 2 },
    { "properties", LG_FORM_MAP, 3 },
    { "patternProperties", LG_FORM_MAP, 3 },
    { "dependentSchemas", LG_FORM_MAP, 1 },
    { "dependencies", LG_FORM_DEPS, 2 },
    { "prefixItems", LG_FORM_ARRAY, 1 },
    { "allOf", LG_FORM_ARRAY, 3 },
    { "anyOf", LG_FORM_ARRAY, 3 },
    { "oneOf", LG_FORM_ARRAY, 3 },
    { "items", LG_FORM_ONE, 1 },
    { "items", LG_FORM_ITEMS, 2 },
    { "additionalItems", LG_FORM_ONE, 2 },
    { "additionalProperties", LG_FORM_ONE, 3 },
    { "unevaluatedItems", LG_FORM_ONE, 1 },
    { "unevaluatedProperties", LG_FORM_ONE, 1 },
    { "contains", LG_FORM_ONE, 3 },
    { "propertyNames", LG_FORM_ONE, 3 },
    { "not", LG_FORM_ONE, 3 },
    { "if", LG_FORM_ONE, 3 },
    { "then", LG_FORM_ONE, 3 },
    { "else", LG_FORM_ONE, 3 },
    { NULL, 0, 0 }
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


static int
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


static void *
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


static void
lg_schema_map_free(lg_schema_map_t *map)
{
    free(map->slots);
    map->slots = NULL;
    map->size = 0;
    map->n = 0;
}


#define lg_schema_map_put_ptr(map, p, v)                                      \
    lg_schema_map_put(map, p, sizeof(void *), v)

#define lg_schema_map_get_ptr(map, p)                                         \
    lg_schema_map_get(map, &(p), sizeof(void *))


/* -------------------------------------------------------------------- */


/* PCRE2 allocates from the arena, so compiled patterns need no cleanup */

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


static int
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

    c.gctx = pcre2_general_context_create(lg_schema_pcre_malloc,
                                          lg_schema_pcre_free, arena);
    if (c.gctx == NULL) {
        lg_error_set(err, file, NULL, "out of memory");
        goto done;
    }

    c.cctx = pcre2_compile_context_create(c.gctx);
    schema = lg_arena_calloc(arena, 1, sizeof(lg_schema_t));

    if (c.cctx == NULL || schema == NULL) {
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
            if (lg_schema_dynamic(&c) != 0) {
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
 * Queues every subschema the walk found that is not compiled yet (so a
 * broken schema in an unused "$defs" entry fails at load time too), and
 * builds each resource's "$dynamicAnchor" table.  Returns with new work
 * queued, or 0 when all is done.
 */

static int
lg_schema_dynamic(lg_schema_compile_t *c)
{
    size_t                 i, n;
    lg_schema_info_t      *info;
    lg_schema_resource_t  *res;
    lg_schema_anchor_e_t  *a, *b;

    for (i = 0; i < c->infos.size; i++) {
        info = c->infos.slots[i].value;

        if (info != NULL && info->node == NULL) {
            if (lg_schema_node(c, info) == NULL) {
                return -1;
            }
        }
    }

    if (c->pending != NULL) {
        return 0;
    }

    for (a = c->anchor_list; a != NULL; a = a->next) {
        if (!a->dynamic) {
            continue;
        }

        res = a->info->resource;

        if (res->dynamic == NULL) {
            n = 0;

            for (b = c->anchor_list; b != NULL; b = b->next) {
                if (b->dynamic && b->info->resource == res) {
                    n++;
                }
            }

            res->dynamic = lg_arena_calloc(c->arena, n,
                                           sizeof(lg_schema_anchor_t));
            if (res->dynamic == NULL) {
                return lg_schema_fail(c, NULL, NULL, "out of memory");
            }
        }

        res->dynamic[res->ndynamic].name = a->name;
        res->dynamic[res->ndynamic].node = a->info->node;
        res->ndynamic++;
    }

    return 0;
}


static lg_schema_doc_t *
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


static lg_schema_doc_t *
lg_schema_load_doc(lg_schema_compile_t *c, const char *path,
    lg_schema_info_t *from, const char *ref)
{
    size_t            n;
    json_t           *json;
    lg_error_t        err;
    lg_schema_doc_t  *doc;
    char              real[PATH_MAX];

    if (realpath(path, real) == NULL) {
        lg_schema_fail(c, from, "$ref", "cannot resolve \"%s\": %s: %s",
                       ref, path, strerror(errno));
        return NULL;
    }

    doc = lg_schema_map_get(&c->docs, real, strlen(real));
    if (doc != NULL) {
        return doc;
    }

    n = strlen(c->base_dir);

    if (strncmp(real, c->base_dir, n) != 0
        || (real[n] != '/' && !(n == 1 && c->base_dir[0] == '/')))
    {
        lg_schema_fail(c, from, "$ref", "\"%s\" is outside of %s", ref,
                       c->base_dir);
        return NULL;
    }

    json = lg_json_load_file(real, LG_SCHEMA_MAX_FILE, LG_SCHEMA_JSON_FLAGS,
                             &err);
    if (json == NULL) {
        lg_schema_fail(c, from, "$ref", "cannot load \"%s\": %s", ref,
                       err.text);
        return NULL;
    }

    return lg_schema_add_doc(c, json, real, real, 1);
}


static int
lg_schema_add_anchor(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *base, const char *name, int dynamic)
{
    char                  *key;
    size_t                 n;
    lg_schema_anchor_e_t  *a, *old;

    n = strlen(base) + strlen(name) + 2;

    key = lg_arena_alloc(c->arena, n);
    a = lg_arena_calloc(c->arena, 1, sizeof(lg_schema_anchor_e_t));

    if (key == NULL || a == NULL) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    snprintf(key, n, "%s#%s", base, name);

    old = lg_schema_map_get(&c->anchors, key, strlen(key));

    if (old != NULL && old->info != info) {
        return lg_schema_fail(c, info, dynamic ? "$dynamicAnchor" : "$anchor",
                              "anchor \"%s\" is defined twice", name);
    }

    if (old != NULL) {
        /* $anchor and $dynamicAnchor of one name in one schema */
        old->dynamic |= dynamic;
        return 0;
    }

    a->info = info;
    a->name = lg_arena_strndup(c->arena, name, strlen(name));
    a->dynamic = dynamic;
    a->next = c->anchor_list;
    c->anchor_list = a;

    if (a->name == NULL
        || lg_schema_map_put(&c->anchors, key, strlen(key), a) != 0)
    {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    return 0;
}


static int
lg_schema_anchor_name_ok(const char *s)
{
    /* XML NCName, ASCII subset: a letter or '_', then [A-Za-z0-9._-] */
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    {
        return 0;
    }

    for (s++; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'
              || *s == '.'))
        {
            return 0;
        }
    }

    return 1;
}


static int
lg_schema_walk(lg_schema_compile_t *c, lg_schema_doc_t *doc, json_t *json,
    const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth)
{
    char                          *id;
    json_t                        *v;
    const char                    *s, *fragment;
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
        v = json_object_get(json, "$schema");

        if (v != NULL && (depth == 0 || json_object_get(json, "$id") != NULL))
        {
            s = json_string_value(v);

            if (s == NULL) {
                return lg_schema_fail(c, info, "$schema",
                                      "must be a string");
            }

            if (strncmp(s, LG_SCHEMA_2020_URI, strlen(LG_SCHEMA_2020_URI))
                == 0 && (s[strlen(LG_SCHEMA_2020_URI)] == '\0'
                         || strcmp(s + strlen(LG_SCHEMA_2020_URI), "#")
                            == 0))
            {
                draft = LG_SCHEMA_DRAFT2020;

            } else if (strncmp(s, LG_SCHEMA_7_URI, strlen(LG_SCHEMA_7_URI))
                       == 0 && (s[strlen(LG_SCHEMA_7_URI)] == '\0'
                                || strcmp(s + strlen(LG_SCHEMA_7_URI), "#")
                                   == 0))
            {
                draft = LG_SCHEMA_DRAFT7;

            } else {
                return lg_schema_fail(c, info, "$schema",
                                      "unsupported dialect \"%s\" (use "
                                      LG_SCHEMA_2020_URI " or "
                                      LG_SCHEMA_7_URI "#)", s);
            }
        }

        v = json_object_get(json, "$id");

        if (v != NULL
            && !(draft == LG_SCHEMA_DRAFT7
                 && json_object_get(json, "$ref") != NULL))
        {
            s = json_string_value(v);

            if (s == NULL) {
                return lg_schema_fail(c, info, "$id", "must be a string");
            }

            if (draft == LG_SCHEMA_DRAFT7 && s[0] == '#') {
                /* a draft-07 plain-name fragment id is an anchor */
                if (s[1] != '\0') {
                    info->base = base;
                    info->resource = resource;

                    if (lg_schema_add_anchor(c, info, base, s + 1, 0) != 0) {
                        return -1;
                    }
                }

            } else {
                id = lg_schema_uri_resolve(c->arena, base, s);
                if (id == NULL) {
                    return lg_schema_fail(c, info, NULL, "out of memory");
                }

                id = lg_schema_uri_split(c->arena, id, &fragment);
                if (id == NULL) {
                    return lg_schema_fail(c, info, NULL, "out of memory");
                }

                if (fragment != NULL && fragment[0] != '\0') {

                    if (draft != LG_SCHEMA_DRAFT7) {
                        return lg_schema_fail(c, info, "$id",
                                              "must not have a fragment "
                                              "(use $anchor)");
                    }

                    if (!lg_schema_anchor_name_ok(fragment)) {
                        return lg_schema_fail(c, info, "$id",
                                              "fragment must be a plain "
                                              "name");
                    }
                }

                if (depth > 0) {
                    resource = lg_arena_calloc(c->arena, 1,
                                               sizeof(lg_schema_resource_t));
                    if (resource == NULL) {
                        return lg_schema_fail(c, info, NULL,
                                              "out of memory");
                    }
                }

                resource->uri = id;
                base = id;

                if (lg_schema_map_get(&c->resources, id, strlen(id))
                    != NULL)
                {
                    return lg_schema_fail(c, info, "$id",
                                          "\"%s\" identifies two schemas",
                                          id);
                }

                if (lg_schema_map_put(&c->resources, id, strlen(id), info)
                    != 0)
                {
                    return lg_schema_fail(c, info, NULL, "out of memory");
                }

                if (fragment != NULL && fragment[0] != '\0') {
                    /* draft-07 "uri#name": a resource and an anchor in it */
                    info->base = base;
                    info->resource = resource;

                    if (lg_schema_add_anchor(c, info, base, fragment, 0)
                        != 0)
                    {
                        return -1;
                    }
                }
            }
        }

        info->base = base;
        info->resource = resource;

        if (draft == LG_SCHEMA_DRAFT2020) {
            v = json_object_get(json, "$anchor");

            if (v != NULL) {
                s = json_string_value(v);

                if (s == NULL || !lg_schema_anchor_name_ok(s)) {
                    return lg_schema_fail(c, info, "$anchor",
                                          "must be a plain name");
                }

                if (lg_schema_add_anchor(c, info, base, s, 0) != 0) {
                    return -1;
                }
            }

            v = json_object_get(json, "$dynamicAnchor");

            if (v != NULL) {
                s = json_string_value(v);

                if (s == NULL || !lg_schema_anchor_name_ok(s)) {
                    return lg_schema_fail(c, info, "$dynamicAnchor",
                                          "must be a plain name");
                }

                if (lg_schema_add_anchor(c, info, base, s, 1) != 0) {
                    return -1;
                }
            }
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
        if (!(a->drafts & (draft == LG_SCHEMA_DRAFT2020 ? 1 : 2))) {
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


static lg_schema_info_t *
lg_schema_resolve(lg_schema_compile_t *c, lg_schema_info_t *from,
    const char *kw, const char *ref, lg_schema_anchor_e_t **anchor)
{
    char                  *abs, *uri, *key, *path;
    size_t                 n;
    const char            *frag;
    lg_schema_doc_t       *doc;
    lg_schema_info_t      *root;
    lg_schema_anchor_e_t  *a;

    *anchor = NULL;

    abs = lg_schema_uri_resolve(c->arena, from->base, ref);
    if (abs == NULL) {
        lg_schema_fail(c, from, kw, "out of memory");
        return NULL;
    }

    uri = lg_schema_uri_split(c->arena, abs, &frag);
    if (uri == NULL) {
        lg_schema_fail(c, from, kw, "out of memory");
        return NULL;
    }

    root = lg_schema_map_get(&c->resources, uri, strlen(uri));

    if (root == NULL && !lg_schema_uri_absolute(ref)
        && strcmp(from->base, from->doc->uri) != 0)
    {
        /*
         * A schema with a non-file "$id" (a URN, say) still refers to
         * its neighbours by file name: try the document's own location.
         */
        abs = lg_schema_uri_resolve(c->arena, from->doc->uri, ref);
        if (abs == NULL) {
            lg_schema_fail(c, from, kw, "out of memory");
            return NULL;
        }

        abs = lg_schema_uri_split(c->arena, abs, &frag);
        if (abs == NULL) {
            lg_schema_fail(c, from, kw, "out of memory");
            return NULL;
        }

        root = lg_schema_map_get(&c->resources, abs, strlen(abs));

        if (root == NULL) {
            path = lg_schema_uri_to_path(c->arena, abs);

            if (path != NULL && access(path, F_OK) == 0) {
                uri = abs;
            }
        }

        if (root != NULL) {
            uri = abs;
        }
    }

    if (root == NULL) {
        path = lg_schema_uri_to_path(c->arena, uri);

        if (path != NULL) {
            doc = lg_schema_load_doc(c, path, from, ref);
            if (doc == NULL) {
                return NULL;
            }

            root = lg_schema_map_get_ptr(&c->infos, doc->json);

        } else if (lg_schema_uri_scheme_is(uri, "http")
                   || lg_schema_uri_scheme_is(uri, "https"))
        {
            lg_schema_fail(c, from, kw, "remote reference \"%s\" is not "
                           "allowed (schemas are loaded from files only)",
                           ref);
            return NULL;

        } else {
            lg_schema_fail(c, from, kw, "cannot resolve \"%s\"", ref);
            return NULL;
        }

        if (root == NULL) {
            lg_schema_fail(c, from, kw, "cannot resolve \"%s\"", ref);
            return NULL;
        }
    }

    if (frag == NULL || frag[0] == '\0') {
        return root;
    }

    if (frag[0] == '/') {
        return lg_schema_pointer(c, root, from, kw, frag);
    }

    n = strlen(uri) + strlen(frag) + 2;

    key = lg_arena_alloc(c->arena, n);
    if (key == NULL) {
        lg_schema_fail(c, from, kw, "out of memory");
        return NULL;
    }

    snprintf(key, n, "%s#%s", uri, frag);
    n = lg_schema_uri_decode(key, strlen(key));

    a = lg_schema_map_get(&c->anchors, key, n);

    if (a == NULL) {
        lg_schema_fail(c, from, kw, "cannot resolve \"%s\": no anchor "
                       "\"%s\"", ref, frag);
        return NULL;
    }

    *anchor = a;

    return a->info;
}


/* a JSON Pointer fragment, percent-decoded, from a resource's root */

static lg_schema_info_t *
lg_schema_pointer(lg_schema_compile_t *c, lg_schema_info_t *root,
    lg_schema_info_t *from, const char *kw, const char *pointer)
{
    char              *p, *seg, *end, *w, *q;
    size_t             len, index;
    json_t            *json;
    lg_json_path_t     path;
    lg_schema_info_t  *info;

    len = strlen(pointer);

    p = lg_arena_strndup(c->arena, pointer, len);
    if (p == NULL) {
        lg_schema_fail(c, from, kw, "out of memory");
        return NULL;
    }

    len = lg_schema_uri_decode(p, len);
    end = p + len;
    json = root->json;

    lg_json_path_init(&path);
    snprintf(path.data, sizeof(path.data), "%s", root->path);
    path.len = strlen(path.data);

    for (seg = p + 1; seg <= end; seg = q + 1) {
        q = memchr(seg, '/', (size_t) (end - seg));
        if (q == NULL) {
            q = end;
        }

        /* unescape ~1 and ~0 in place */
        for (w = seg, p = seg; p < q; p++) {
            if (p[0] == '~' && p + 1 < q && (p[1] == '0' || p[1] == '1')) {
                *w++ = p[1] == '0' ? '~' : '/';
                p++;

            } else {
                *w++ = *p;
            }
        }

        if (json_is_object(json)) {
            json = json_object_getn(json, seg, (size_t) (w - seg));

            if (json != NULL) {
                *w = '\0';
                lg_json_path_key(&path, seg);
            }

        } else if (json_is_array(json) && w > seg
                   && strspn(seg, "0123456789") >= (size_t) (w - seg)
                   && (w - seg == 1 || seg[0] != '0'))
        {
            *w = '\0';
            index = strtoul(seg, NULL, 10);
            json = json_array_get(json, index);
            lg_json_path_index(&path, index);

        } else {
            json = NULL;
        }

        if (json == NULL) {
            lg_schema_fail(c, from, kw, "cannot resolve \"#%s\": no such "
                           "location", pointer);
            return NULL;
        }

        if (q == end) {
            break;
        }
    }

    info = lg_schema_map_get_ptr(&c->infos, json);
    if (info != NULL) {
        return info;
    }

    /* somewhere the walk did not go (an unknown keyword): a schema still */
    if (lg_schema_walk(c, root->doc, json, root->base, &path, root->draft,
                       root->resource, 1)
        != 0)
    {
        return NULL;
    }

    return lg_schema_map_get_ptr(&c->infos, json);
}


/* -------------------------------------------------------------------- */


static lg_schema_node_t *
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


static lg_schema_node_t *
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


/*
 * A loop of in-place applicators ($ref, allOf, anyOf, oneOf, not, if,
 * then, else, dependentSchemas) never steps into the instance, so it
 * would recurse to the evaluation depth limit on every request: it is
 * refused when the policy loads.  A $dynamicRef that really is dynamic
 * is left out (its target depends on the scope at run time); a chain of
 * in-place applicators deeper than the evaluation limit is refused too.
 */

#define LG_SCHEMA_LOOP_NEW     0
#define LG_SCHEMA_LOOP_OPEN    1
#define LG_SCHEMA_LOOP_CLOSED  2

static int
lg_schema_loops(lg_schema_compile_t *c)
{
    int                rc;
    size_t             i;
    lg_schema_map_t    nodes;
    lg_schema_info_t  *info;

    memset(&nodes, 0, sizeof(lg_schema_map_t));
    rc = 0;

    /* node -> info, for the message */

    for (i = 0; i < c->infos.size; i++) {
        info = c->infos.slots[i].value;

        if (info != NULL && info->node != NULL
            && lg_schema_map_put_ptr(&nodes, &info->node, info) != 0)
        {
            rc = lg_schema_fail(c, info, NULL, "out of memory");
            goto done;
        }
    }

    for (i = 0; i < c->infos.size; i++) {
        info = c->infos.slots[i].value;

        if (info != NULL && info->node != NULL) {
            rc = lg_schema_loop_walk(c, &nodes, info->node, 0);

            if (rc != 0) {
                goto done;
            }
        }
    }

done:

    lg_schema_map_free(&nodes);

    return rc;
}


static int
lg_schema_loop_walk(lg_schema_compile_t *c, lg_schema_map_t *nodes,
    lg_schema_node_t *node, size_t depth)
{
    size_t             i, j;
    lg_schema_info_t  *info;

    /* the in-place applicators: lists, and single schemas as lists of 1 */

    struct {
        lg_schema_node_t  **nodes;
        size_t              n;
    }  next[] = {
        { &node->ref, node->ref != NULL },
        { &node->dynamic_ref,
          node->dynamic_ref != NULL && node->dynamic_name == NULL },
        { &node->not, node->not != NULL },
        { &node->if_, node->if_ != NULL },
        { &node->then_, node->then_ != NULL },
        { &node->else_, node->else_ != NULL },
        { node->all_of, node->nall_of },
        { node->any_of, node->nany_of },
        { node->one_of, node->none_of }
    };

    if (node->loop_state == LG_SCHEMA_LOOP_CLOSED) {
        return 0;
    }

    if (node->loop_state == LG_SCHEMA_LOOP_OPEN
        || depth >= LG_SCHEMA_MAX_EVAL_DEPTH)
    {
        info = lg_schema_map_get_ptr(nodes, node);

        return lg_schema_fail(c, info, NULL,
                              node->loop_state == LG_SCHEMA_LOOP_OPEN
                              ? "reference loop: this schema applies to "
                                "itself through $ref or in-place "
                                "applicators without descending into the "
                                "instance"
                              : "in-place applicators ($ref, allOf, ...) "
                                "nested deeper than %d",
                              LG_SCHEMA_MAX_EVAL_DEPTH);
    }

    node->loop_state = LG_SCHEMA_LOOP_OPEN;

    for (i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
        for (j = 0; j < next[i].n; j++) {
            if (lg_schema_loop_walk(c, nodes, next[i].nodes[j], depth + 1)
                != 0)
            {
                return -1;
            }
        }
    }

    for (i = 0; i < node->ndependent_schemas; i++) {
        if (lg_schema_loop_walk(c, nodes, node->dependent_schemas[i].node,
                                depth + 1)
            != 0)
        {
            return -1;
        }
    }

    node->loop_state = LG_SCHEMA_LOOP_CLOSED;

    return 0;
}


static int
lg_schema_known(const char *kw, int draft)
{
    size_t  i;

    for (i = 0; lg_schema_annotations[i] != NULL; i++) {
        if (strcmp(kw, lg_schema_annotations[i]) == 0) {
            return 1;
        }
    }

    return strncmp(kw, "x-", 2) == 0;
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
        return lg_schema_keyword(c, info, node, "$ref", v);
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

    return 0;
}


static int
lg_schema_keyword(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v)
{
    int                    draft7;
    size_t                 i, n, t;
    json_t                *e;
    const char            *s, *key;
    lg_schema_info_t      *target;
    lg_schema_anchor_e_t  *anchor;

    draft7 = (info->draft == LG_SCHEMA_DRAFT7);

    if (strcmp(kw, "$ref") == 0 || strcmp(kw, "$dynamicRef") == 0) {
        if (draft7 && kw[1] == 'd') {
            goto unknown;
        }

        s = json_string_value(v);
        if (s == NULL) {
            return lg_schema_fail(c, info, kw, "must be a string");
        }

        target = lg_schema_resolve(c, info, kw, s, &anchor);
        if (target == NULL) {
            return -1;
        }

        if (kw[1] == 'r') {
            node->ref = lg_schema_node(c, target);
            return node->ref == NULL ? -1 : 0;
        }

        node->dynamic_ref = lg_schema_node(c, target);

        if (anchor != NULL && anchor->dynamic) {
            node->dynamic_name = anchor->name;
        }

        return node->dynamic_ref == NULL ? -1 : 0;
    }

    if (strcmp(kw, "type") == 0) {
        n = json_is_array(v) ? json_array_size(v) : 1;

        if (json_is_array(v) && n == 0) {
            return lg_schema_fail(c, info, kw, "must not be empty");
        }

        for (i = 0; i < n; i++) {
            e = json_is_array(v) ? json_array_get(v, i) : v;
            s = json_string_value(e);

            if (s == NULL) {
                return lg_schema_fail(c, info, kw, "must be a type name or "
                                      "an array of them");
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

    if (strcmp(kw, "enum") == 0) {
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

    if (strcmp(kw, "const") == 0) {
        node->has_const = 1;

        if (lg_schema_value_from_json(c->arena, &node->const_value, v) != 0) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        return 0;
    }

    if (strcmp(kw, "multipleOf") == 0) {
        if (lg_schema_number(c, info, kw, v, &node->multiple_of) != 0) {
            return -1;
        }

        if (node->multiple_of.is_int ? node->multiple_of.i <= 0
                                     : !(node->multiple_of.d > 0))
        {
            return lg_schema_fail(c, info, kw, "must be greater than 0");
        }

        node->num_flags |= LG_SCHEMA_F_MULTIPLE;
        return 0;
    }

    if (strcmp(kw, "minimum") == 0) {
        node->num_flags |= LG_SCHEMA_F_MINIMUM;
        return lg_schema_number(c, info, kw, v, &node->minimum);
    }

    if (strcmp(kw, "maximum") == 0) {
        node->num_flags |= LG_SCHEMA_F_MAXIMUM;
        return lg_schema_number(c, info, kw, v, &node->maximum);
    }

    if (strcmp(kw, "exclusiveMinimum") == 0) {
        node->num_flags |= LG_SCHEMA_F_XMINIMUM;
        return lg_schema_number(c, info, kw, v, &node->xminimum);
    }

    if (strcmp(kw, "exclusiveMaximum") == 0) {
        node->num_flags |= LG_SCHEMA_F_XMAXIMUM;
        return lg_schema_number(c, info, kw, v, &node->xmaximum);
    }

    if (strcmp(kw, "minLength") == 0) {
        return lg_schema_size(c, info, kw, v, &node->min_length);
    }

    if (strcmp(kw, "maxLength") == 0) {
        return lg_schema_size(c, info, kw, v, &node->max_length);
    }

    if (strcmp(kw, "minItems") == 0) {
        return lg_schema_size(c, info, kw, v, &node->min_items);
    }

    if (strcmp(kw, "maxItems") == 0) {
        return lg_schema_size(c, info, kw, v, &node->max_items);
    }

    if (strcmp(kw, "minProperties") == 0) {
        return lg_schema_size(c, info, kw, v, &node->min_properties);
    }

    if (strcmp(kw, "maxProperties") == 0) {
        return lg_schema_size(c, info, kw, v, &node->max_properties);
    }

    if (!draft7 && strcmp(kw, "minContains") == 0) {
        return lg_schema_size(c, info, kw, v, &node->min_contains);
    }

    if (!draft7 && strcmp(kw, "maxContains") == 0) {
        return lg_schema_size(c, info, kw, v, &node->max_contains);
    }

    if (strcmp(kw, "pattern") == 0) {
        if (!json_is_string(v)) {
            return lg_schema_fail(c, info, kw, "must be a string");
        }

        node->pattern = lg_arena_calloc(c->arena, 1,
                                        sizeof(lg_schema_regex_t));
        if (node->pattern == NULL) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        return lg_schema_regex(c, info, kw, json_string_value(v),
                               json_string_length(v), node->pattern);
    }

    if (strcmp(kw, "format") == 0) {
        if (!json_is_string(v)) {
            return lg_schema_fail(c, info, kw, "must be a string");
        }

        node->format = lg_arena_strndup(c->arena, json_string_value(v),
                                        json_string_length(v));
        if (node->format == NULL) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        node->format_assert = c->format_assertion
                              && lg_schema_format_check(node->format, "", 0)
                                 != -1;
        return 0;
    }

    if (strcmp(kw, "uniqueItems") == 0) {
        if (!json_is_boolean(v)) {
            return lg_schema_fail(c, info, kw, "must be a boolean");
        }

        node->unique_items = json_is_true(v);
        return 0;
    }

    if (strcmp(kw, "required") == 0) {
        return lg_schema_string_list(c, info, kw, v, &node->required,
                                     &node->nrequired);
    }

    if ((!draft7 && strcmp(kw, "dependentRequired") == 0)
        || (draft7 && strcmp(kw, "dependencies") == 0))
    {
        if (!json_is_object(v)) {
            return lg_schema_fail(c, info, kw, "must be an object");
        }

        node->dependent_required = lg_arena_calloc(c->arena,
                                                   json_object_size(v) + 1,
                                                   sizeof(lg_schema_dep_t));
        if (node->dependent_required == NULL) {
            return lg_schema_fail(c, info, kw, "out of memory");
        }

        node->dep_required_kw = draft7 ? "dependencies"
                                       : "dependentRequired";
        node->dep_schemas_kw = "dependencies";

        json_object_foreach(v, key, e) {
            lg_schema_dep_t  *d;

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

        if (!draft7) {
            return 0;
        }

        /* draft-07 "dependencies": the schema-valued members */
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
            lg_schema_prop_t  *p;

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

    if (!draft7 && strcmp(kw, "dependentSchemas") == 0) {
        node->dep_schemas_kw = "dependentSchemas";
        return lg_schema_props(c, info, kw, v, lg_schema_prop_cmp,
                               &node->dependent_schemas,
                               &node->ndependent_schemas);
    }

    if (strcmp(kw, "properties") == 0) {
        return lg_schema_props(c, info, kw, v, lg_schema_prop_len_cmp,
                               &node->properties,
                               &node->nproperties);
    }

    if (strcmp(kw, "patternProperties") == 0) {
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
            lg_schema_pprop_t  *pp;

            pp = &node->pattern_properties[node->npattern_properties++];

            if (lg_schema_regex(c, info, kw, key, strlen(key), &pp->re) != 0)
            {
                return -1;
            }

            pp->node = lg_schema_child(c, info, kw, e);
            if (pp->node == NULL) {
                return -1;
            }
        }

        return 0;
    }

    if (strcmp(kw, "allOf") == 0) {
        return lg_schema_schema_array(c, info, kw, v, &node->all_of,
                                      &node->nall_of);
    }

    if (strcmp(kw, "anyOf") == 0) {
        return lg_schema_schema_array(c, info, kw, v, &node->any_of,
                                      &node->nany_of);
    }

    if (strcmp(kw, "oneOf") == 0) {
        return lg_schema_schema_array(c, info, kw, v, &node->one_of,
                                      &node->none_of);
    }

    if (!draft7 && strcmp(kw, "prefixItems") == 0) {
        node->prefix_kw = "prefixItems";
        return lg_schema_schema_array(c, info, kw, v, &node->prefix_items,
                                      &node->nprefix_items);
    }

    if (strcmp(kw, "items") == 0) {
        if (draft7 && json_is_array(v)) {
            node->prefix_kw = "items";
            return lg_schema_schema_array(c, info, kw, v,
                                          &node->prefix_items,
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

    if (draft7 && strcmp(kw, "additionalItems") == 0) {
        if (json_is_array(json_object_get(info->json, "items"))) {
            node->items_kw = "additionalItems";
            node->items = lg_schema_child(c, info, kw, v);
            return node->items == NULL ? -1 : 0;
        }

        return 0;
    }

    if (strcmp(kw, "contains") == 0) {
        node->contains = lg_schema_child(c, info, kw, v);
        return node->contains == NULL ? -1 : 0;
    }

    if (strcmp(kw, "additionalProperties") == 0) {
        node->additional_properties = lg_schema_child(c, info, kw, v);
        return node->additional_properties == NULL ? -1 : 0;
    }

    if (strcmp(kw, "propertyNames") == 0) {
        node->property_names = lg_schema_child(c, info, kw, v);
        return node->property_names == NULL ? -1 : 0;
    }

    if (!draft7 && strcmp(kw, "unevaluatedItems") == 0) {
        node->unevaluated_items = lg_schema_child(c, info, kw, v);
        return node->unevaluated_items == NULL ? -1 : 0;
    }

    if (!draft7 && strcmp(kw, "unevaluatedProperties") == 0) {
        node->unevaluated_properties = lg_schema_child(c, info, kw, v);
        return node->unevaluated_properties == NULL ? -1 : 0;
    }

    if (strcmp(kw, "not") == 0) {
        node->not = lg_schema_child(c, info, kw, v);
        return node->not == NULL ? -1 : 0;
    }

    if (strcmp(kw, "if") == 0) {
        node->if_ = lg_schema_child(c, info, kw, v);
        return node->if_ == NULL ? -1 : 0;
    }

    if (strcmp(kw, "then") == 0) {
        node->then_ = lg_schema_child(c, info, kw, v);
        return node->then_ == NULL ? -1 : 0;
    }

    if (strcmp(kw, "else") == 0) {
        node->else_ = lg_schema_child(c, info, kw, v);
        return node->else_ == NULL ? -1 : 0;
    }

unknown:

    if (c->opts->strict && !lg_schema_known(kw, info->draft)) {
        return lg_schema_fail(c, info, kw, "unknown keyword");
    }

    return 0;
}


static int
lg_schema_size(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, size_t *out)
{
    double  d;

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
lg_schema_number(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, json_t *v, lg_schema_num_t *out)
{
    if (lg_schema_num_get(v, out) != 0) {
        return lg_schema_fail(c, info, kw, "must be a number");
    }

    return 0;
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


int
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


/*
 * "properties" are looked up once per member of every instance object:
 * ordered by length first, most probes of the search are an integer
 * comparison, and the bytes are compared only between equal lengths.
 */

static int
lg_schema_prop_len_cmp(const void *a, const void *b)
{
    const lg_schema_prop_t  *x, *y;

    x = a;
    y = b;

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    return memcmp(x->name, y->name, x->len);
}


const lg_schema_prop_t *
lg_schema_prop_find(const lg_schema_prop_t *props, size_t n,
    const char *name, size_t len)
{
    int                      rc;
    size_t                   lo, hi, mid;
    const lg_schema_prop_t  *p;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        p = &props[mid];

        if (p->len != len) {
            rc = (len < p->len) ? -1 : 1;

        } else {
            rc = memcmp(name, p->name, len);
        }

        if (rc == 0) {
            return p;
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
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

    qsort(*out, *n, sizeof(lg_schema_prop_t), cmp);

    return 0;
}


static int
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
