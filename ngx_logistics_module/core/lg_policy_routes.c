
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "routes" of an API: {"id": "shipments.create", "method": "POST",
 * "path": "/shipments", "scopes": ["shipments:write"], "versions": ["v2"],
 * "auth": ["api_key", "bearer"], "schema": "schemas/shipment.json",
 * "max_body_size": "64k", "idempotency": "required"}.  Path templates
 * are checked here, JSON Schemas compiled here, once.
 */

#include <stdlib.h>
#include <string.h>

#include "lg_policy_int.h"


static int lg_route_id(lg_compile_t *c, json_t *r, lg_route_t *out);
static int lg_route_versions(lg_compile_t *c, json_t *list, lg_api_t *api,
    lg_route_t *out);
static int lg_route_auth(lg_compile_t *c, json_t *list, lg_route_t *out);
static int lg_route_options(lg_compile_t *c, json_t *r, lg_route_t *out);
static int lg_compile_path(lg_compile_t *c, lg_route_t *route);
static int lg_compile_schemas(lg_compile_t *c, lg_route_t *route,
    json_t *schema);
static int lg_schema_files(lg_compile_t *c, lg_route_t *route,
    json_t *schema);


static const char *const  lg_route_fields[] = {
    "id", "method", "path", "scopes", "versions", "auth", "schema",
    "max_body_size", "idempotency", "body", "priority", "breaker_group",
    NULL
};

static const char *const  lg_route_required[] = {
    "id", "method", "path", "scopes", NULL
};


typedef struct {
    const char  *name;
    unsigned     value;
} lg_policy_word_t;


/* a route's "auth" */

static const lg_policy_word_t  lg_auth_methods[] = {
    { "api_key", LG_AUTH_API_KEY },
    { "bearer",  LG_AUTH_BEARER },
    { "mtls",    LG_AUTH_MTLS },
    { NULL, 0 }
};


/* a route's "idempotency" */

static const lg_policy_word_t  lg_idempotency_modes[] = {
    { "required", LG_IDEM_REQUIRED },
    { "optional", LG_IDEM_OPTIONAL },
    { "off",      LG_IDEM_OFF },
    { NULL, 0 }
};


/* a route's "body" */

static const lg_policy_word_t  lg_body_modes[] = {
    { "none", LG_BODY_NONE },
    { "drop", LG_BODY_DROP },
    { NULL, 0 }
};


int
lg_compile_route(lg_compile_t *c, lg_api_t *api, json_t *r, lg_route_t *out)
{
    size_t        saved;
    json_t       *schema;
    lg_str_t      method;
    lg_policy_t  *p;

    p = c->policy;

    if (lg_fields(c, r, lg_route_fields, lg_route_required) != 0
        || lg_route_id(c, r, out) != 0
        || lg_get_string(c, r, "method", 1, &method) != 0)
    {
        return -1;
    }

    out->method = lg_method_parse(method.data, method.len);

    if (out->method == 0 || out->method == LG_METHOD_HEAD
        || out->method == LG_METHOD_OPTIONS)
    {
        lg_json_path_key(&c->path, "method");
        return lg_fail(c, "method must be one of GET, POST, PUT, PATCH, "
                       "DELETE (HEAD follows GET, OPTIONS is answered by "
                       "the gateway)");
    }

    if (lg_get_string(c, r, "path", 1, &out->path) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "path");

    if (lg_compile_path(c, out) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    saved = lg_json_path_key(&c->path, "scopes");

    if (lg_compile_scope_set(c, json_object_get(r, "scopes"), &out->scopes,
                             &out->scope_list, &out->nscope_list)
        != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    if (lg_route_versions(c, json_object_get(r, "versions"), api, out) != 0
        || lg_route_auth(c, json_object_get(r, "auth"), out) != 0
        || lg_route_options(c, r, out) != 0)
    {
        return -1;
    }

    out->schemas = lg_arena_calloc(&p->arena, api->nversions,
                                   sizeof(lg_str_t));
    out->compiled = lg_arena_calloc(&p->arena, api->nversions,
                                    sizeof(lg_schema_t *));
    if (out->schemas == NULL || out->compiled == NULL) {
        return lg_fail(c, "out of memory");
    }

    schema = json_object_get(r, "schema");

    if (schema != NULL) {
        saved = lg_json_path_key(&c->path, "schema");

        if (lg_compile_schemas(c, out, schema) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    return 0;
}


/* route ids are unique across APIs: partners and limits name them */

static int
lg_route_id(lg_compile_t *c, json_t *r, lg_route_t *out)
{
    size_t  saved;

    if (lg_get_string(c, r, "id", 1, &out->id) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "id");

    if (!lg_match_name(out->id.data, out->id.len, LG_ALNUM,
                       LG_ALNUM "._:-", 128))
    {
        return lg_fail(c, "invalid route id (letters, digits and . _ : -)");
    }

    if (json_object_get(c->route_map, out->id.data) != NULL) {
        return lg_fail(c, "route id \"%s\" is defined twice", out->id.data);
    }

    if (json_object_set_new(c->route_map, out->id.data,
                            json_integer((json_int_t) out->index))
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* "versions": default every version of the API */

static int
lg_route_versions(lg_compile_t *c, json_t *list, lg_api_t *api,
    lg_route_t *out)
{
    size_t   i, j, s, saved;
    json_t  *item;

    if (list == NULL) {
        for (i = 0; i < api->nversions; i++) {
            out->versions |= (uint64_t) 1 << i;
        }

        return 0;
    }

    saved = lg_json_path_key(&c->path, "versions");

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of version names");
    }

    json_array_foreach(list, i, item) {
        s = lg_json_path_index(&c->path, i);

        if (!json_is_string(item)) {
            return lg_fail(c, "must be a string");
        }

        for (j = 0; j < api->nversions; j++) {
            if (strcmp(api->versions[j].name.data, json_string_value(item))
                == 0)
            {
                break;
            }
        }

        if (j == api->nversions) {
            return lg_fail(c, "unknown version \"%s\" in API \"%s\"",
                           json_string_value(item), api->name.data);
        }

        if (out->versions & ((uint64_t) 1 << j)) {
            return lg_fail(c, "version \"%s\" is listed twice",
                           json_string_value(item));
        }

        out->versions |= (uint64_t) 1 << j;
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* "auth": default API keys */

static int
lg_route_auth(lg_compile_t *c, json_t *list, lg_route_t *out)
{
    size_t                   i, s, saved;
    json_t                  *item;
    const lg_policy_word_t  *m;

    if (list == NULL) {
        out->auth = LG_AUTH_API_KEY;
        return 0;
    }

    saved = lg_json_path_key(&c->path, "auth");

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of methods "
                       "(\"api_key\")");
    }

    json_array_foreach(list, i, item) {
        s = lg_json_path_index(&c->path, i);

        for (m = lg_auth_methods; m->name != NULL; m++) {
            if (json_is_string(item)
                && strcmp(json_string_value(item), m->name) == 0)
            {
                break;
            }
        }

        if (m->name == NULL) {
            return lg_fail(c, "unknown authentication method (supported:"
                           " \"api_key\", \"bearer\", \"mtls\")");
        }

        if (out->auth & m->value) {
            return lg_fail(c, "\"%s\" is listed twice",
                           json_string_value(item));
        }

        out->auth |= m->value;
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * "idempotency" (default off), "body" (default: none for GET and DELETE,
 * allowed otherwise) and "max_body_size" (default: the root's)
 */

static int
lg_route_options(lg_compile_t *c, json_t *r, lg_route_t *out)
{
    size_t                   saved;
    lg_str_t                 mode;
    const lg_policy_word_t  *m;

    out->max_body_size = c->policy->max_body_size;

    if (lg_get_string(c, r, "idempotency", 0, &mode) != 0) {
        return -1;
    }

    if (mode.data != NULL) {
        for (m = lg_idempotency_modes; m->name != NULL; m++) {
            if (strcmp(mode.data, m->name) == 0) {
                break;
            }
        }

        if (m->name == NULL) {
            lg_json_path_key(&c->path, "idempotency");
            return lg_fail(c, "must be \"required\", \"optional\" or "
                           "\"off\"");
        }

        out->idempotency = m->value;

        if (out->idempotency != LG_IDEM_OFF
            && out->method == LG_METHOD_GET)
        {
            lg_json_path_key(&c->path, "idempotency");
            return lg_fail(c, "GET is idempotent already");
        }
    }

    /* a body on GET (HEAD follows) or DELETE never reaches Odoo unseen */

    out->body = ((out->method == LG_METHOD_GET
                  || out->method == LG_METHOD_DELETE)
                 && json_object_get(r, "schema") == NULL)
                ? LG_BODY_NONE : LG_BODY_ALLOWED;

    if (lg_get_string(c, r, "body", 0, &mode) != 0) {
        return -1;
    }

    if (mode.data != NULL) {
        for (m = lg_body_modes; m->name != NULL; m++) {
            if (strcmp(mode.data, m->name) == 0) {
                break;
            }
        }

        saved = lg_json_path_key(&c->path, "body");

        if (m->name == NULL) {
            return lg_fail(c, "must be \"none\" (refused) or \"drop\" "
                           "(not forwarded)");
        }

        if (out->idempotency != LG_IDEM_OFF
            || json_object_get(r, "schema") != NULL)
        {
            return lg_fail(c, "a route with a schema or idempotency takes "
                           "its body");
        }

        lg_json_path_pop(&c->path, saved);
        out->body = m->value;
    }

    return lg_get_size(c, r, "max_body_size",
                       " (e.g. \"64k\", \"1m\", at most 64m)",
                       &out->max_body_size);
}


/*
 * Path templates: "/shipments/{id}/events".  Literal segments use the
 * unreserved characters of RFC 3986 so that what the policy says and what
 * nginx decodes from the request line compare byte for byte.
 */

static int
lg_compile_path(lg_compile_t *c, lg_route_t *route)
{
    size_t         i, j, start, n, len;
    const char    *s;
    lg_policy_t   *p;
    lg_segment_t  *seg;

    p = c->policy;
    s = route->path.data;
    len = route->path.len;

    if (len < 2 || s[0] != '/') {
        return lg_fail(c, "must start with \"/\" and name at least one "
                       "segment");
    }

    if (s[len - 1] == '/') {
        return lg_fail(c, "must not end with \"/\"");
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '/') {
            n++;
        }
    }

    if (n > LG_ROUTE_MAX_SEGMENTS) {
        return lg_fail(c, "more than %d segments", LG_ROUTE_MAX_SEGMENTS);
    }

    route->segments = lg_arena_calloc(&p->arena, n, sizeof(lg_segment_t));
    if (route->segments == NULL) {
        return lg_fail(c, "out of memory");
    }

    i = 1;

    while (i <= len) {
        start = i;

        while (i < len && s[i] != '/') {
            i++;
        }

        if (i == start) {
            return lg_fail(c, "empty segment");
        }

        seg = &route->segments[route->nsegments++];

        if (s[start] == '{') {

            if (s[i - 1] != '}' || i - start < 3) {
                return lg_fail(c, "a parameter must fill its segment: "
                               "\"{name}\"");
            }

            if (!lg_match_name(s + start + 1, i - start - 2,
                               "abcdefghijklmnopqrstuvwxyz_",
                               "abcdefghijklmnopqrstuvwxyz0123456789_", 64))
            {
                return lg_fail(c, "invalid parameter name \"%.*s\"",
                               (int) (i - start), s + start);
            }

            seg->param = 1;
            seg->text.data = s + start + 1;
            seg->text.len = i - start - 2;

            for (j = 0; j + 1 < route->nsegments; j++) {
                if (route->segments[j].param
                    && route->segments[j].text.len == seg->text.len
                    && memcmp(route->segments[j].text.data, seg->text.data,
                              seg->text.len) == 0)
                {
                    return lg_fail(c, "parameter \"%.*s\" is used twice",
                                   (int) seg->text.len, seg->text.data);
                }
            }

            if (++route->nparams > LG_ROUTE_MAX_PARAMS) {
                return lg_fail(c, "more than %d parameters",
                               LG_ROUTE_MAX_PARAMS);
            }

        } else {
            for (j = start; j < i; j++) {
                if (strchr(LG_ALNUM "._~-", s[j]) == NULL) {
                    return lg_fail(c, "invalid character '%c' in path "
                                   "(letters, digits, . _ ~ - and "
                                   "{param} segments)", s[j]);
                }
            }

            if ((i - start == 1 && s[start] == '.')
                || (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
            {
                return lg_fail(c, "dot segments are not allowed");
            }

            seg->text.data = s + start;
            seg->text.len = i - start;
        }

        i++;
    }

    return 0;
}


/*
 * "schema": one file for every version of the route, or an object of
 * version names and files.  Compiled now, once: a bad schema fails
 * "nginx -t" like any other policy error, and requests only walk the
 * compiled form.
 */

static int
lg_compile_schemas(lg_compile_t *c, lg_route_t *route, json_t *schema)
{
    char                 *file;
    size_t                i;
    lg_error_t            jerr;
    lg_schema_options_t   opts;

    if (lg_schema_files(c, route, schema) != 0) {
        return -1;
    }

    for (i = 0; i < route->api->nversions; i++) {

        if (route->schemas[i].len == 0) {
            continue;
        }

        if (memchr(route->schemas[i].data, '\0', route->schemas[i].len)
            != NULL)
        {
            return lg_fail(c, "must not contain NUL");
        }

        file = lg_resolve(c, route->schemas[i].data);
        if (file == NULL) {
            return lg_fail(c, "out of memory");
        }

        memset(&opts, 0, sizeof(lg_schema_options_t));
        opts.format_assertion = c->policy->format_assertion;
        opts.strict = c->policy->strict_schemas;
        opts.base_dir = c->root_dir;

        route->compiled[i] = lg_schema_compile_file(&c->policy->arena, file,
                                                    &opts, &jerr);
        free(file);

        if (route->compiled[i] == NULL) {
            return lg_fail(c, "schema %s", jerr.text);
        }
    }

    return 0;
}


/* the file name of each version's schema into route->schemas */

static int
lg_schema_files(lg_compile_t *c, lg_route_t *route, json_t *schema)
{
    size_t       i, s;
    json_t      *v;
    lg_api_t    *api;
    const char  *vname;

    api = route->api;

    if (json_is_string(schema)) {
        for (i = 0; i < api->nversions; i++) {
            if (route->versions & ((uint64_t) 1 << i)) {
                if (lg_arena_str(&c->policy->arena, &route->schemas[i],
                                 json_string_value(schema),
                                 json_string_length(schema))
                    != 0)
                {
                    return lg_fail(c, "out of memory");
                }
            }
        }

        return 0;
    }

    if (!json_is_object(schema)) {
        return lg_fail(c, "must be a file name or an object of version "
                       "names and file names");
    }

    json_object_foreach(schema, vname, v) {
        s = lg_json_path_key(&c->path, vname);

        for (i = 0; i < api->nversions; i++) {
            if (strcmp(api->versions[i].name.data, vname) == 0) {
                break;
            }
        }

        if (i == api->nversions || !(route->versions & ((uint64_t) 1 << i)))
        {
            return lg_fail(c, "route \"%s\" has no version \"%s\"",
                           route->id.data, vname);
        }

        if (!json_is_string(v)) {
            return lg_fail(c, "must be a file name");
        }

        if (lg_arena_str(&c->policy->arena, &route->schemas[i],
                         json_string_value(v), json_string_length(v))
            != 0)
        {
            return lg_fail(c, "out of memory");
        }

        lg_json_path_pop(&c->path, s);
    }

    return 0;
}
