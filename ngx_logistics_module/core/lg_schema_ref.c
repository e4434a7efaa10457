
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Identifiers and references.
 *
 * Pass 1 (the walk, lg_schema.c) calls lg_schema_identify() on every
 * subschema: "$id" sets the base URI of what it contains and starts a
 * resource, "$anchor" / "$dynamicAnchor" (draft-07: "$id": "#name") name
 * it.  Pass 2 compiles "$ref" and "$dynamicRef" by resolving them against
 * that base: to a resource of this or an already loaded document, an
 * anchor, a JSON Pointer, or another file, loaded then (once, by real
 * path, never from outside the base directory or over the network).
 * When everything is compiled, each resource gets its "$dynamicAnchor"
 * table (the validator's dynamic scope looks there) and the compiled tree
 * is checked for loops of in-place applicators.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_schema_compile_int.h"
#include "lg_schema_uri.h"


#define LG_SCHEMA_LOOP_NEW     0
#define LG_SCHEMA_LOOP_OPEN    1
#define LG_SCHEMA_LOOP_CLOSED  2


static int lg_schema_id(lg_schema_compile_t *c, lg_schema_info_t *info,
    int draft, int depth, const char **base,
    lg_schema_resource_t **resource);
static int lg_schema_add_anchor(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *base, const char *name,
    int dynamic);
static int lg_schema_anchor_name_ok(const char *s);
static lg_schema_doc_t *lg_schema_load_doc(lg_schema_compile_t *c,
    const char *path, lg_schema_info_t *from, const char *ref);
static lg_schema_info_t *lg_schema_resolve(lg_schema_compile_t *c,
    lg_schema_info_t *from, const char *kw, const char *ref,
    lg_schema_anchor_e_t **anchor);
static lg_schema_info_t *lg_schema_pointer(lg_schema_compile_t *c,
    lg_schema_info_t *root, lg_schema_info_t *from, const char *kw,
    const char *pointer);
static int lg_schema_loop_walk(lg_schema_compile_t *c, lg_schema_map_t *nodes,
    lg_schema_node_t *node, size_t depth);


/*
 * The identifiers of an object subschema, before the walk goes into it:
 * *base and *resource are what its subschemas inherit, and info->base and
 * info->resource are set.
 */

int
lg_schema_identify(lg_schema_compile_t *c, lg_schema_info_t *info,
    int draft, int depth, const char **base, lg_schema_resource_t **resource)
{
    json_t      *json, *v;
    const char  *s;

    json = info->json;

    if (lg_schema_id(c, info, draft, depth, base, resource) != 0) {
        return -1;
    }

    info->base = *base;
    info->resource = *resource;

    if (draft == LG_SCHEMA_DRAFT2020) {
        v = json_object_get(json, "$anchor");

        if (v != NULL) {
            s = json_string_value(v);

            if (s == NULL || !lg_schema_anchor_name_ok(s)) {
                return lg_schema_fail(c, info, "$anchor",
                                      "must be a plain name");
            }

            if (lg_schema_add_anchor(c, info, *base, s, 0) != 0) {
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

            if (lg_schema_add_anchor(c, info, *base, s, 1) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/* "$id": a new base URI and resource, or (draft-07 "#name") an anchor */

static int
lg_schema_id(lg_schema_compile_t *c, lg_schema_info_t *info, int draft,
    int depth, const char **base, lg_schema_resource_t **resource)
{
    char        *id;
    json_t      *json, *v;
    const char  *s, *fragment;

    json = info->json;

    v = json_object_get(json, "$id");

    if (v == NULL
        || (draft == LG_SCHEMA_DRAFT7 && json_object_get(json, "$ref") != NULL))
    {
        /* draft-07: "$ref" makes its siblings, "$id" too, ignored */
        return 0;
    }

    s = json_string_value(v);

    if (s == NULL) {
        return lg_schema_fail(c, info, "$id", "must be a string");
    }

    if (draft == LG_SCHEMA_DRAFT7 && s[0] == '#') {
        /* a draft-07 plain-name fragment id is an anchor */
        if (s[1] == '\0') {
            return 0;
        }

        info->base = *base;
        info->resource = *resource;

        return lg_schema_add_anchor(c, info, *base, s + 1, 0);
    }

    id = lg_schema_uri_resolve(c->arena, *base, s);
    if (id == NULL) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    id = lg_schema_uri_split(c->arena, id, &fragment);
    if (id == NULL) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    if (fragment != NULL && fragment[0] != '\0') {

        if (draft != LG_SCHEMA_DRAFT7) {
            return lg_schema_fail(c, info, "$id", "must not have a fragment "
                                  "(use $anchor)");
        }

        if (!lg_schema_anchor_name_ok(fragment)) {
            return lg_schema_fail(c, info, "$id", "fragment must be a plain "
                                  "name");
        }
    }

    if (depth > 0) {
        *resource = lg_arena_calloc(c->arena, 1,
                                    sizeof(lg_schema_resource_t));
        if (*resource == NULL) {
            return lg_schema_fail(c, info, NULL, "out of memory");
        }
    }

    /* at a document root, the document's resource is renamed */
    (*resource)->uri = id;
    *base = id;

    if (lg_schema_map_get(&c->resources, id, strlen(id)) != NULL) {
        return lg_schema_fail(c, info, "$id", "\"%s\" identifies two schemas",
                              id);
    }

    if (lg_schema_map_put(&c->resources, id, strlen(id), info) != 0) {
        return lg_schema_fail(c, info, NULL, "out of memory");
    }

    if (fragment == NULL || fragment[0] == '\0') {
        return 0;
    }

    /* draft-07 "uri#name": a resource and an anchor in it */
    info->base = *base;
    info->resource = *resource;

    return lg_schema_add_anchor(c, info, *base, fragment, 0);
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


/* "$ref" and "$dynamicRef" (the latter in 2020-12 only) */

int
lg_schema_kw_ref(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data)
{
    const char            *s;
    lg_schema_info_t      *target;
    lg_schema_anchor_e_t  *anchor;

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


/*
 * Builds each resource's "$dynamicAnchor" table, once every node is
 * compiled.
 */

int
lg_schema_dynamic_anchors(lg_schema_compile_t *c)
{
    size_t                 n;
    lg_schema_resource_t  *res;
    lg_schema_anchor_e_t  *a, *b;

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


/*
 * A loop of in-place applicators ($ref, allOf, anyOf, oneOf, not, if,
 * then, else, dependentSchemas) never steps into the instance, so it
 * would recurse to the evaluation depth limit on every request: it is
 * refused when the policy loads.  A $dynamicRef that really is dynamic
 * is left out (its target depends on the scope at run time); a chain of
 * in-place applicators deeper than the evaluation limit is refused too.
 */

int
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
