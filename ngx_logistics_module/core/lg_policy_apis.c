
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "apis": {"shipments": {"versions": {"v1": {...}, "v2": {...}},
 *                        "routes": [{"id", "method", "path", ...}]}}
 * in any policy file: versions with their upstream prefixes and
 * lifecycle, the routes (lg_policy_routes.c) of each API, and the router
 * built over all of them.
 */

#include <string.h>

#include "lg_policy_int.h"
#include "lg_router.h"


#define LG_MAX_VERSIONS     64


static int lg_compile_api(lg_compile_t *c, const char *name, json_t *api,
    lg_api_t *out);
static int lg_api_versions(lg_compile_t *c, json_t *versions,
    lg_api_t *out);
static int lg_api_successors(lg_compile_t *c, json_t *versions,
    lg_api_t *api);
static int lg_api_routes(lg_compile_t *c, json_t *routes, lg_api_t *api);
static int lg_compile_version(lg_compile_t *c, json_t *v, lg_version_t *out);
static int lg_compile_forward_headers(lg_compile_t *c, json_t *api,
    lg_api_t *out);
static int lg_compile_upstream_host(lg_compile_t *c, json_t *v,
    lg_version_t *out);
static void lg_point_at_route(lg_compile_t *c, size_t index);


static const char *const  lg_api_fields[] = {
    "versions", "routes", "forward_headers", "odoo", NULL
};

static const char *const  lg_api_required[] = { "versions", "routes", NULL };

static const char *const  lg_version_fields[] = {
    "upstream_prefix", "upstream_host", "deprecated", "sunset", "successor",
    NULL
};

static const char *const  lg_version_required[] = {
    "upstream_prefix", NULL
};


int
lg_compile_apis(lg_compile_t *c)
{
    size_t        i, n, saved, s;
    json_t       *apis, *api;
    lg_policy_t  *p;
    const char   *name;

    p = c->policy;

    n = lg_count(c, "apis", 0);

    p->apis = lg_arena_calloc(&p->arena, n + 1, sizeof(lg_api_t));
    p->routes = lg_arena_calloc(&p->arena, lg_count(c, "apis", 1) + 1,
                                sizeof(lg_route_t *));

    if (p->apis == NULL || p->routes == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        apis = json_object_get(c->doc->json, "apis");
        if (apis == NULL) {
            continue;
        }

        saved = lg_json_path_key(&c->path, "apis");

        if (!json_is_object(apis)) {
            return lg_fail(c, "must be an object of API names");
        }

        json_object_foreach(apis, name, api) {
            s = lg_json_path_key(&c->path, name);

            if (json_object_get(c->api_map, name) != NULL) {
                return lg_fail(c, "API \"%s\" is defined twice", name);
            }

            if (json_object_set_new(c->api_map, name, json_true()) != 0) {
                return lg_fail(c, "out of memory");
            }

            if (lg_compile_api(c, name, api, &p->apis[p->napis]) != 0) {
                return -1;
            }

            p->napis++;
            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    p->route_words = (p->nroutes + 63) / 64;

    if (p->route_words == 0) {
        p->route_words = 1;
    }

    return 0;
}


static int
lg_compile_api(lg_compile_t *c, const char *name, json_t *api, lg_api_t *out)
{
    size_t        saved;
    json_t       *versions;
    lg_policy_t  *p;

    p = c->policy;

    if (!lg_match_name(name, strlen(name), LG_LOWER_DIGIT,
                       LG_LOWER_DIGIT "_-", 64))
    {
        return lg_fail(c, "invalid API name (lowercase letters, digits, "
                       "_ and -)");
    }

    if (lg_fields(c, api, lg_api_fields, lg_api_required) != 0) {
        return -1;
    }

    if (lg_arena_str(&p->arena, &out->name, name, strlen(name)) != 0) {
        return lg_fail(c, "out of memory");
    }

    if (lg_compile_forward_headers(c, api, out) != 0) {
        return -1;
    }

    versions = json_object_get(api, "versions");
    saved = lg_json_path_key(&c->path, "versions");

    if (lg_api_versions(c, versions, out) != 0
        || lg_api_successors(c, versions, out) != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    saved = lg_json_path_key(&c->path, "routes");

    if (lg_api_routes(c, json_object_get(api, "routes"), out) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


static int
lg_api_versions(lg_compile_t *c, json_t *versions, lg_api_t *out)
{
    size_t         s;
    json_t        *v;
    lg_policy_t   *p;
    const char    *vname;
    lg_version_t  *ver;

    p = c->policy;

    if (!json_is_object(versions) || json_object_size(versions) == 0) {
        return lg_fail(c, "must be a non-empty object of versions");
    }

    if (json_object_size(versions) > LG_MAX_VERSIONS) {
        return lg_fail(c, "more than %d versions", LG_MAX_VERSIONS);
    }

    out->versions = lg_arena_calloc(&p->arena, json_object_size(versions),
                                    sizeof(lg_version_t));
    if (out->versions == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_object_foreach(versions, vname, v) {
        s = lg_json_path_key(&c->path, vname);

        if (vname[0] != 'v'
            || !lg_match_name(vname + 1, strlen(vname + 1), "123456789",
                              "0123456789", 4))
        {
            return lg_fail(c, "invalid version name (v1, v2, ...)");
        }

        ver = &out->versions[out->nversions];
        ver->api = out;
        ver->index = out->nversions;

        if (lg_arena_str(&p->arena, &ver->name, vname, strlen(vname)) != 0) {
            return lg_fail(c, "out of memory");
        }

        if (lg_compile_version(c, v, ver) != 0) {
            return -1;
        }

        out->nversions++;
        lg_json_path_pop(&c->path, s);
    }

    return 0;
}


/* successors are resolved once every version of the API is known */

static int
lg_api_successors(lg_compile_t *c, json_t *versions, lg_api_t *api)
{
    size_t         i, j, s;
    json_t        *v, *succ;
    const char    *vname;
    lg_version_t  *ver;

    ver = NULL;

    json_object_foreach(versions, vname, v) {
        succ = json_object_get(v, "successor");
        if (succ == NULL) {
            continue;
        }

        s = lg_json_path_key(&c->path, vname);
        lg_json_path_key(&c->path, "successor");

        for (i = 0; i < api->nversions; i++) {
            if (strcmp(api->versions[i].name.data, vname) == 0) {
                ver = &api->versions[i];
            }
        }

        for (j = 0; j < api->nversions; j++) {
            if (strcmp(api->versions[j].name.data, json_string_value(succ))
                == 0)
            {
                break;
            }
        }

        if (j == api->nversions) {
            return lg_fail(c, "unknown version \"%s\" in API \"%s\"",
                           json_string_value(succ), api->name.data);
        }

        if (&api->versions[j] == ver) {
            return lg_fail(c, "a version cannot succeed itself");
        }

        ver->successor = &api->versions[j];
        lg_json_path_pop(&c->path, s);
    }

    return 0;
}


static int
lg_api_routes(lg_compile_t *c, json_t *routes, lg_api_t *api)
{
    size_t        i, s;
    json_t       *r;
    lg_route_t   *route;
    lg_policy_t  *p;

    p = c->policy;

    if (!json_is_array(routes) || json_array_size(routes) == 0) {
        return lg_fail(c, "must be a non-empty array of routes");
    }

    json_array_foreach(routes, i, r) {
        s = lg_json_path_index(&c->path, i);

        route = lg_arena_calloc(&p->arena, 1, sizeof(lg_route_t));
        if (route == NULL) {
            return lg_fail(c, "out of memory");
        }

        route->index = p->nroutes;
        route->api = api;

        if (lg_compile_route(c, api, r, route) != 0) {
            return -1;
        }

        p->routes[p->nroutes++] = route;
        lg_json_path_pop(&c->path, s);
    }

    return 0;
}


static int
lg_compile_version(lg_compile_t *c, json_t *v, lg_version_t *out)
{
    size_t       i, saved;
    lg_str_t     prefix, succ;
    const char  *safe;

    if (lg_fields(c, v, lg_version_fields, lg_version_required) != 0) {
        return -1;
    }

    if (lg_get_string(c, v, "upstream_prefix", 1, &prefix) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "upstream_prefix");

    if (prefix.len > 0
        && (prefix.data[0] != '/' || prefix.data[prefix.len - 1] == '/'))
    {
        return lg_fail(c, "must be empty or start with \"/\" and not end "
                       "with \"/\"");
    }

    safe = LG_ALNUM "/._~-";

    for (i = 0; i < prefix.len; i++) {
        if (strchr(safe, prefix.data[i]) == NULL) {
            return lg_fail(c, "invalid character '%c' (letters, digits and "
                           "/ . _ ~ -)", prefix.data[i]);
        }

        if (prefix.data[i] == '/' && i + 1 < prefix.len
            && prefix.data[i + 1] == '/')
        {
            return lg_fail(c, "empty path segment");
        }
    }

    lg_json_path_pop(&c->path, saved);

    out->upstream_prefix = prefix;

    if (lg_compile_upstream_host(c, v, out) != 0) {
        return -1;
    }

    if (lg_get_time(c, v, "deprecated", &out->deprecated) != 0
        || lg_get_time(c, v, "sunset", &out->sunset) != 0)
    {
        return -1;
    }

    if (out->deprecated != LG_TIME_UNSET && out->sunset != LG_TIME_UNSET
        && out->sunset < out->deprecated)
    {
        lg_json_path_key(&c->path, "sunset");
        return lg_fail(c, "sunset is before the deprecation date");
    }

    /* checked here, resolved by lg_api_successors() */

    return lg_get_string(c, v, "successor", 0, &succ);
}


/*
 * "upstream_host": the Host Odoo sees for this version (Odoo picks its
 * database from it), host or host:port.  Never the partner's Host.
 */

static int
lg_compile_upstream_host(lg_compile_t *c, json_t *v, lg_version_t *out)
{
    size_t       i, saved, port;
    lg_str_t     host;
    const char  *colon;

    if (lg_get_string(c, v, "upstream_host", 0, &host) != 0) {
        return -1;
    }

    if (host.data == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, "upstream_host");

    colon = memchr(host.data, ':', host.len);
    i = colon ? (size_t) (colon - host.data) : host.len;

    if (i == 0 || i > 253
        || !lg_match_name(host.data, i, LG_ALNUM, LG_ALNUM ".-", 253)
        || host.data[i - 1] == '.' || host.data[i - 1] == '-')
    {
        return lg_fail(c, "must be a host name or address, with an "
                       "optional :port");
    }

    if (colon != NULL) {
        port = 0;

        if (host.len - i < 2 || host.len - i > 6) {
            return lg_fail(c, "invalid port");
        }

        for (i++; i < host.len; i++) {
            if (host.data[i] < '0' || host.data[i] > '9') {
                return lg_fail(c, "invalid port");
            }

            port = port * 10 + (host.data[i] - '0');
        }

        if (port == 0 || port > 65535) {
            return lg_fail(c, "invalid port");
        }
    }

    lg_json_path_pop(&c->path, saved);

    out->upstream_host = host;

    return 0;
}


/*
 * "forward_headers": request headers Odoo also gets from the partner,
 * beyond the gateway's fixed allow-list.  Names the gateway sets itself,
 * hop-by-hop headers and names with "_" cannot be listed: the gateway's
 * own must never come from the partner.
 */

static int
lg_compile_forward_headers(lg_compile_t *c, json_t *api, lg_api_t *out)
{
    char        *lower;
    size_t       i, j, n, saved, s;
    json_t      *list, *h;
    const char  *name;

    static const char *const  owned[] = {
        "authorization", "x-api-key", "host", "x-forwarded-for",
        "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip",
        "x-request-id", "traceparent", "tracestate", "content-length",
        "transfer-encoding", "connection", "keep-alive", "te", "upgrade",
        "expect", "trailer", "proxy-authorization", "proxy-connection",
        "idempotency-key", "api-version", NULL
    };

    list = json_object_get(api, "forward_headers");

    if (list == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, "forward_headers");

    if (!json_is_array(list) || json_array_size(list) > 32) {
        return lg_fail(c, "must be an array of at most 32 header names");
    }

    n = json_array_size(list);

    out->forward_headers = lg_arena_calloc(&c->policy->arena, n ? n : 1,
                                           sizeof(lg_str_t));
    if (out->forward_headers == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_array_foreach(list, i, h) {
        s = lg_json_path_index(&c->path, i);

        if (!json_is_string(h)
            || !lg_match_name(json_string_value(h), json_string_length(h),
                              LG_ALNUM, LG_ALNUM "-", 64))
        {
            return lg_fail(c, "must be a header name (letters, digits and "
                           "-, up to 64)");
        }

        name = json_string_value(h);

        lower = lg_arena_alloc(&c->policy->arena, json_string_length(h) + 1);
        if (lower == NULL) {
            return lg_fail(c, "out of memory");
        }

        for (j = 0; j <= json_string_length(h); j++) {
            lower[j] = (name[j] >= 'A' && name[j] <= 'Z')
                       ? name[j] - 'A' + 'a' : name[j];
        }

        for (j = 0; owned[j] != NULL; j++) {
            if (strcmp(owned[j], lower) == 0) {
                return lg_fail(c, "\"%s\" is set by the gateway itself or "
                               "is hop-by-hop; it cannot be forwarded", name);
            }
        }

        if (strncmp(lower, "x-logistics-", 12) == 0) {
            return lg_fail(c, "X-Logistics-* headers are the gateway's own");
        }

        for (j = 0; j < out->nforward_headers; j++) {
            if (strcmp(out->forward_headers[j].data, lower) == 0) {
                return lg_fail(c, "duplicate header name");
            }
        }

        out->forward_headers[out->nforward_headers].data = lower;
        out->forward_headers[out->nforward_headers].len =
                                                     json_string_length(h);
        out->nforward_headers++;

        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* the router over every version of every route, once all are known */

int
lg_finish_apis(lg_compile_t *c)
{
    size_t         i, j;
    lg_route_t    *route, *conflict;
    lg_policy_t   *p;
    lg_version_t  *v;

    p = c->policy;

    if (p->nroutes == 0) {
        return lg_fail(c, "the policy defines no routes (\"apis\" is missing "
                       "or empty)");
    }

    for (i = 0; i < p->nroutes; i++) {
        route = p->routes[i];

        for (j = 0; j < route->api->nversions; j++) {
            if (!(route->versions & ((uint64_t) 1 << j))) {
                continue;
            }

            v = &route->api->versions[j];

            if (lg_router_add(p, v, route, &conflict) == 0) {
                continue;
            }

            if (conflict == NULL) {
                return lg_fail(c, "out of memory");
            }

            lg_point_at_route(c, route->index);

            return lg_fail(c, "route \"%s\" (%s /%s%s) overlaps route "
                           "\"%s\" (%s %s)", route->id.data,
                           lg_method_name(route->method), v->name.data,
                           route->path.data, conflict->id.data,
                           lg_method_name(conflict->method),
                           conflict->path.data);
        }
    }

    return 0;
}


/* the message of an overlap points at the route that came second */

static void
lg_point_at_route(lg_compile_t *c, size_t index)
{
    size_t       k, n, seen;
    json_t      *apis, *api, *routes, *r;
    const char  *name;

    seen = 0;

    for (k = 0; k < c->ndocs; k++) {
        apis = json_object_get(c->docs[k].json, "apis");

        json_object_foreach(apis, name, api) {
            routes = json_object_get(api, "routes");

            json_array_foreach(routes, n, r) {
                if (seen++ == index) {
                    c->doc = &c->docs[k];
                    lg_json_path_init(&c->path);
                    lg_json_path_key(&c->path, "apis");
                    lg_json_path_key(&c->path, name);
                    lg_json_path_key(&c->path, "routes");
                    lg_json_path_index(&c->path, n);
                }
            }
        }
    }
}
