
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <errno.h>
#include <stdarg.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lg_policy.h"
#include "lg_router.h"
#include "lg_apikey.h"
#include "lg_b64.h"
#include "lg_keys.h"


#define LG_CREDENTIAL_MAX   4096
#define LG_MAX_VERSIONS     64


typedef struct lg_compile_s  lg_compile_t;

typedef int (*lg_member_pt)(lg_compile_t *c, const char *name, json_t *value,
    size_t index);


typedef struct {
    char            *file;           /* as written in messages */
    char            *dir;            /* for relative references */
    json_t          *json;
    int              root;
} lg_doc_t;


struct lg_compile_s {
    lg_policy_t     *policy;
    lg_error_t      *err;
    lg_doc_t        *docs;
    size_t           ndocs;
    lg_doc_t        *doc;            /* the document being compiled */
    lg_json_path_t   path;
    json_t          *scope_map;      /* name -> index */
    json_t          *route_map;      /* id -> index */
    json_t          *partner_map;    /* id -> 1 */
    json_t          *api_map;        /* name -> 1 */
    json_t          *hash_map;       /* hex sha256 -> "file: path" */
    json_t          *issuer_map;     /* name -> index */
    char            *root_dir;       /* schemas' $refs stay under it */
};


static int lg_fail(lg_compile_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int lg_fields(lg_compile_t *c, json_t *obj, const char *const *allowed,
    const char *const *required);
static int lg_get_string(lg_compile_t *c, json_t *obj, const char *key,
    int required, lg_str_t *out);
static int lg_get_time(lg_compile_t *c, json_t *obj, const char *key,
    int64_t *out);
static int lg_match_name(const char *s, size_t len, const char *first,
    const char *rest, size_t max);
static char *lg_resolve(lg_compile_t *c, const char *rel);
static int lg_add_doc(lg_compile_t *c, const char *file, int root);
static int lg_load_includes(lg_compile_t *c);
static int lg_compile_scopes(lg_compile_t *c);
static int lg_compile_apis(lg_compile_t *c);
static int lg_compile_api(lg_compile_t *c, const char *name, json_t *api,
    lg_api_t *out);
static int lg_compile_version(lg_compile_t *c, lg_api_t *api, json_t *v,
    lg_version_t *out);
static int lg_compile_route(lg_compile_t *c, lg_api_t *api, json_t *r,
    lg_route_t *out);
static int lg_compile_path(lg_compile_t *c, lg_route_t *route);
static int lg_compile_schemas(lg_compile_t *c, lg_route_t *route,
    json_t *schema);
static int lg_compile_scope_set(lg_compile_t *c, json_t *list,
    uint64_t **bits, lg_str_t **names, size_t *nnames);
static int lg_compile_partners(lg_compile_t *c);
static int lg_partner_member(lg_compile_t *c, const char *id, json_t *pj,
    size_t index);
static int lg_issuer_member(lg_compile_t *c, const char *name, json_t *ij,
    size_t index);
static int lg_each_member(lg_compile_t *c, const char *section,
    const char *what, json_t *map, lg_member_pt fn);
static int lg_compile_partner(lg_compile_t *c, const char *id, json_t *p,
    lg_partner_t *out);
static int lg_compile_key(lg_compile_t *c, lg_partner_t *partner, json_t *k,
    lg_api_key_t *out);
static int lg_read_credential(lg_compile_t *c, const char *rel,
    lg_str_t *out);
static int lg_compile_rate(lg_compile_t *c, json_t *obj,
    const char *const *fields, lg_rate_t **out);
static int lg_partner_key(lg_compile_t *c, const lg_partner_t *partner,
    lg_key_e kind, const char *route_id, lg_str_t *out);
static int lg_compile_limits(lg_compile_t *c, json_t *limit,
    lg_partner_t *partner);
static int lg_build_router(lg_compile_t *c);
static size_t lg_count(lg_compile_t *c, const char *key, int array_members);
static int lg_compile_fail_mode(lg_compile_t *c);
static int lg_compile_validation(lg_compile_t *c);
static int lg_compile_idempotency(lg_compile_t *c);
static int lg_idempotency_px(lg_compile_t *c);
static int lg_size_parse(const char *s, size_t len, int64_t *size);
static int lg_compile_issuers(lg_compile_t *c);
static int lg_compile_issuer(lg_compile_t *c, const char *name, json_t *ij,
    lg_issuer_t *out);
static int lg_compile_bindings(lg_compile_t *c, json_t *jwt,
    lg_partner_t *partner);
static int lg_read_file(lg_compile_t *c, const char *rel, size_t max,
    unsigned char **data, size_t *len);
static int lg_binding_cmp(const void *a, const void *b);
static int lg_finish_issuers(lg_compile_t *c);
static int lg_scope_order_cmp(const void *a, const void *b);
static int lg_compile_mtls(lg_compile_t *c, json_t *mtls,
    lg_partner_t *partner);
static int lg_cert_cmp(const void *a, const void *b);
static int lg_compile_names(lg_compile_t *c, json_t *list, const char *field,
    lg_subject_binding_t **names, size_t *nnames, lg_partner_t *partner);


static const char *const  lg_root_fields[] = {
    "$schema", "include", "fail_mode", "validation", "idempotency",
    "scopes", "issuers", "partners", "apis", NULL
};

static const char *const  lg_idempotency_fields[] = {
    "ttl", "lock_ttl", "max_response_size", NULL
};

static const char *const  lg_validation_fields[] = {
    "format_assertion", "strict_schemas", "max_errors", "max_body_size", NULL
};

static const char *const  lg_include_fields[] = {
    "$schema", "scopes", "issuers", "partners", "apis", NULL
};

static const char *const  lg_issuer_fields[] = {
    "iss", "audiences", "algorithms", "leeway", "max_lifetime", "typ",
    "partner_claim", "scope_claim", "jwks_file", "jwks_uri", "jwks_refresh",
    "jwks_cooldown", "shared_secret_file", "max_token_size", NULL
};

static const char *const  lg_issuer_required[] = {
    "iss", "audiences", "algorithms", NULL
};

static const char *const  lg_binding_fields[] = {
    "issuer", "client_id", NULL
};

static const char *const  lg_partner_fields[] = {
    "name", "suspended", "scopes", "routes", "api_keys",
    "odoo_credential_file", "api_key_max_age", "rate_limit", "jwt", "mtls",
    NULL
};

static const char *const  lg_mtls_fields[] = {
    "sha256", "subjects", "sans", NULL
};

static const char *const  lg_limit_fields[] = {
    "rate", "burst", "routes", NULL
};

static const char *const  lg_route_limit_fields[] = {
    "rate", "burst", NULL
};

static const char *const  lg_rate_required[] = { "rate", NULL };

static const char *const  lg_partner_required[] = {
    "scopes", NULL
};

static const char *const  lg_key_fields[] = {
    "id", "sha256", "created", "not_before", "expires", NULL
};

static const char *const  lg_key_required[] = { "id", "sha256", NULL };

static const char *const  lg_api_fields[] = { "versions", "routes", NULL };

static const char *const  lg_version_fields[] = {
    "upstream_prefix", "deprecated", "sunset", "successor", NULL
};

static const char *const  lg_version_required[] = {
    "upstream_prefix", NULL
};

static const char *const  lg_route_fields[] = {
    "id", "method", "path", "scopes", "versions", "auth", "schema",
    "max_body_size", "idempotency", NULL
};

static const char *const  lg_route_required[] = {
    "id", "method", "path", "scopes", NULL
};


static int
lg_fail(lg_compile_t *c, const char *fmt, ...)
{
    int      n;
    size_t   used;
    va_list  args;

    n = snprintf(c->err->text, sizeof(c->err->text), "%s: %s: ",
                 c->doc != NULL ? c->doc->file : c->policy->file.data,
                 c->path.data);

    used = (n < 0) ? 0 : (size_t) n;

    if (used < sizeof(c->err->text)) {
        va_start(args, fmt);
        vsnprintf(c->err->text + used, sizeof(c->err->text) - used, fmt,
                  args);
        va_end(args);
    }

    return -1;
}


static const char *
lg_json_type_name(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}


/* unknown fields are errors: a typo must never weaken a policy */

static int
lg_fields(lg_compile_t *c, json_t *obj, const char *const *allowed,
    const char *const *required)
{
    size_t             saved;
    json_t            *value;
    const char        *key;
    const char *const *f;

    if (!json_is_object(obj)) {
        return lg_fail(c, "must be an object, not %s", lg_json_type_name(obj));
    }

    json_object_foreach(obj, key, value) {

        for (f = allowed; *f != NULL; f++) {
            if (strcmp(*f, key) == 0) {
                break;
            }
        }

        if (*f == NULL) {
            saved = lg_json_path_key(&c->path, key);
            lg_fail(c, "unknown field");
            lg_json_path_pop(&c->path, saved);
            return -1;
        }
    }

    for (f = required; f != NULL && *f != NULL; f++) {
        if (json_object_get(obj, *f) == NULL) {
            return lg_fail(c, "missing required field \"%s\"", *f);
        }
    }

    return 0;
}


static int
lg_get_string(lg_compile_t *c, json_t *obj, const char *key, int required,
    lg_str_t *out)
{
    int      rc;
    size_t   saved;
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        out->data = NULL;
        out->len = 0;
        return required ? lg_fail(c, "missing required field \"%s\"", key)
                        : 0;
    }

    saved = lg_json_path_key(&c->path, key);

    if (!json_is_string(v)) {
        rc = lg_fail(c, "must be a string, not %s", lg_json_type_name(v));

    } else if (memchr(json_string_value(v), '\0', json_string_length(v))
               != NULL)
    {
        rc = lg_fail(c, "must not contain NUL");

    } else {
        rc = lg_arena_str(&c->policy->arena, out, json_string_value(v),
                          json_string_length(v));
        if (rc != 0) {
            lg_fail(c, "out of memory");
        }
    }

    if (rc == 0) {
        lg_json_path_pop(&c->path, saved);
    }

    return rc;
}


static int
lg_get_time(lg_compile_t *c, json_t *obj, const char *key, int64_t *out)
{
    size_t    saved;
    lg_str_t  s;

    *out = LG_TIME_UNSET;

    if (lg_get_string(c, obj, key, 0, &s) != 0) {
        return -1;
    }

    if (s.data == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, key);

    if (lg_time_parse_rfc3339(s.data, s.len, out) != 0) {
        return lg_fail(c, "invalid date-time \"%s\" (RFC 3339, e.g. "
                       "\"2027-01-01T00:00:00Z\")", s.data);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* s must match [first][rest]{0,max-1} */

static int
lg_match_name(const char *s, size_t len, const char *first, const char *rest,
    size_t max)
{
    size_t  i;

    if (len == 0 || len > max || strchr(first, s[0]) == NULL) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (s[i] == '\0' || strchr(rest, s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


#define LG_LOWER_DIGIT  "abcdefghijklmnopqrstuvwxyz0123456789"
#define LG_ALNUM        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                        "0123456789"


static char *
lg_resolve(lg_compile_t *c, const char *rel)
{
    size_t   n;
    char    *p;

    if (rel[0] == '/') {
        return strdup(rel);
    }

    n = strlen(c->doc->dir) + 1 + strlen(rel) + 1;

    p = malloc(n);
    if (p == NULL) {
        return NULL;
    }

    snprintf(p, n, "%s/%s", c->doc->dir, rel);

    return p;
}


static int
lg_add_doc(lg_compile_t *c, const char *file, int root)
{
    char       *slash;
    lg_doc_t   *d, *docs;

    docs = realloc(c->docs, (c->ndocs + 1) * sizeof(lg_doc_t));
    if (docs == NULL) {
        return lg_fail(c, "out of memory");
    }

    c->docs = docs;
    d = &c->docs[c->ndocs];

    memset(d, 0, sizeof(lg_doc_t));

    d->root = root;
    d->file = strdup(file);
    d->dir = strdup(file);

    if (d->file == NULL || d->dir == NULL) {
        free(d->file);
        free(d->dir);
        return lg_fail(c, "out of memory");
    }

    slash = strrchr(d->dir, '/');

    if (slash == NULL) {
        strcpy(d->dir, ".");

    } else if (slash == d->dir) {
        d->dir[1] = '\0';

    } else {
        *slash = '\0';
    }

    c->ndocs++;

    d->json = lg_json_load_file(file, LG_POLICY_MAX_FILE, 0, c->err);
    if (d->json == NULL) {
        return -1;
    }

    c->doc = d;
    lg_json_path_init(&c->path);

    return lg_fields(c, d->json, root ? lg_root_fields : lg_include_fields,
                     NULL);
}


/*
 * "include" lets a security team keep one file per partner (or per API):
 * entries are paths or glob patterns relative to the root policy file.
 * A pattern with wildcards may match nothing (an empty partners/ folder);
 * a plain path must exist.  A file included twice is an error, not a
 * silent merge, because the second copy would redefine every entry.
 */

static int
lg_load_includes(lg_compile_t *c)
{
    int          rc;
    char        *pattern, real[PATH_MAX];
    size_t       i, j, k, saved;
    json_t      *list, *item;
    glob_t       g;
    lg_doc_t    *root;
    const char  *s;

    root = &c->docs[0];
    list = json_object_get(root->json, "include");

    if (list == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, "include");

    if (!json_is_array(list)) {
        return lg_fail(c, "must be an array of file names");
    }

    json_array_foreach(list, i, item) {
        c->doc = root;
        lg_json_path_init(&c->path);
        lg_json_path_key(&c->path, "include");
        lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) == 0) {
            return lg_fail(c, "must be a non-empty string");
        }

        s = json_string_value(item);

        pattern = lg_resolve(c, s);
        if (pattern == NULL) {
            return lg_fail(c, "out of memory");
        }

        /* like nginx's own include: a wildcard may match nothing */
        rc = glob(pattern, 0, NULL, &g);
        free(pattern);

        if (rc == GLOB_NOMATCH) {
            globfree(&g);

            if (strpbrk(s, "*?[") != NULL) {
                continue;
            }

            return lg_fail(c, "file \"%s\" not found", s);
        }

        if (rc != 0) {
            globfree(&g);
            return lg_fail(c, "cannot read \"%s\"", s);
        }

        for (j = 0; j < g.gl_pathc; j++) {

            if (c->ndocs >= LG_POLICY_MAX_INCLUDES) {
                globfree(&g);
                return lg_fail(c, "more than %d included files",
                               LG_POLICY_MAX_INCLUDES);
            }

            if (realpath(g.gl_pathv[j], real) == NULL) {
                globfree(&g);
                return lg_fail(c, "cannot resolve \"%s\": %s", s,
                               strerror(errno));
            }

            for (k = 0; k < c->ndocs; k++) {
                char  other[PATH_MAX];

                if (realpath(c->docs[k].file, other) != NULL
                    && strcmp(other, real) == 0)
                {
                    globfree(&g);
                    return lg_fail(c, "\"%s\" is included twice", real);
                }
            }

            if (lg_add_doc(c, g.gl_pathv[j], 0) != 0) {
                globfree(&g);
                return -1;
            }

            root = &c->docs[0];
        }

        globfree(&g);
    }

    (void) saved;

    return 0;
}


/*
 * What the gateway does when the shared state store (Redis) cannot be
 * reached: "open" keeps limiting in local shared memory, "closed" refuses
 * with 503.  A location can override it (logistics_fail_mode).
 */

static int
lg_compile_fail_mode(lg_compile_t *c)
{
    lg_str_t  mode;

    c->policy->fail_mode = LG_FAIL_OPEN;

    if (lg_get_string(c, c->docs[0].json, "fail_mode", 0, &mode) != 0) {
        return -1;
    }

    if (mode.data == NULL || strcmp(mode.data, "open") == 0) {
        return 0;
    }

    if (strcmp(mode.data, "closed") == 0) {
        c->policy->fail_mode = LG_FAIL_CLOSED;
        return 0;
    }

    lg_json_path_key(&c->path, "fail_mode");

    return lg_fail(c, "must be \"open\" or \"closed\"");
}


/* how many members "key" has across all documents */

static size_t
lg_count(lg_compile_t *c, const char *key, int array_members)
{
    size_t   i, n;
    json_t  *v, *api, *routes;
    const char  *name;

    n = 0;

    for (i = 0; i < c->ndocs; i++) {
        v = json_object_get(c->docs[i].json, key);

        if (!json_is_object(v)) {
            continue;
        }

        if (!array_members) {
            n += json_object_size(v);
            continue;
        }

        json_object_foreach(v, name, api) {
            routes = json_object_get(api, "routes");

            if (json_is_array(routes)) {
                n += json_array_size(routes);
            }
        }
    }

    return n;
}


static int
lg_compile_scopes(lg_compile_t *c)
{
    size_t        i, n, saved;
    json_t       *scopes, *desc;
    lg_policy_t  *p;
    const char   *name;

    p = c->policy;
    n = lg_count(c, "scopes", 0);

    p->scopes = lg_arena_calloc(&p->arena, n + 1, sizeof(lg_str_t));
    if (p->scopes == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        scopes = json_object_get(c->doc->json, "scopes");
        if (scopes == NULL) {
            continue;
        }

        saved = lg_json_path_key(&c->path, "scopes");

        if (!json_is_object(scopes)) {
            return lg_fail(c, "must be an object of scope names and "
                           "descriptions");
        }

        json_object_foreach(scopes, name, desc) {
            lg_json_path_key(&c->path, name);

            if (!lg_match_name(name, strlen(name), LG_LOWER_DIGIT,
                               LG_LOWER_DIGIT "._:/-", 128))
            {
                return lg_fail(c, "invalid scope name (lowercase letters, "
                               "digits and . _ : / -)");
            }

            if (!json_is_string(desc)) {
                return lg_fail(c, "description must be a string");
            }

            if (json_object_get(c->scope_map, name) != NULL) {
                return lg_fail(c, "scope \"%s\" is defined twice", name);
            }

            if (json_object_set_new(c->scope_map, name,
                                    json_integer((json_int_t) p->nscopes))
                != 0
                || lg_arena_str(&p->arena, &p->scopes[p->nscopes], name,
                                strlen(name)) != 0)
            {
                return lg_fail(c, "out of memory");
            }

            p->nscopes++;
            lg_json_path_pop(&c->path, saved + strlen(".scopes"));
        }
    }

    p->scope_words = (p->nscopes + 63) / 64;

    if (p->scope_words == 0) {
        p->scope_words = 1;
    }

    return 0;
}


static int
lg_compile_scope_set(lg_compile_t *c, json_t *list, uint64_t **bits,
    lg_str_t **names, size_t *nnames)
{
    size_t        i, saved, idx;
    json_t       *item, *found;
    uint64_t     *set;
    lg_policy_t  *p;

    p = c->policy;

    if (!json_is_array(list)) {
        return lg_fail(c, "must be an array of scope names");
    }

    set = lg_arena_calloc(&p->arena, p->scope_words, sizeof(uint64_t));
    if (set == NULL) {
        return lg_fail(c, "out of memory");
    }

    if (names != NULL) {
        *names = lg_arena_calloc(&p->arena, json_array_size(list) + 1,
                                 sizeof(lg_str_t));
        if (*names == NULL) {
            return lg_fail(c, "out of memory");
        }

        *nnames = 0;
    }

    json_array_foreach(list, i, item) {
        saved = lg_json_path_index(&c->path, i);

        if (!json_is_string(item)) {
            return lg_fail(c, "must be a string");
        }

        found = json_object_get(c->scope_map, json_string_value(item));

        if (found == NULL) {
            return lg_fail(c, "unknown scope \"%s\" (not in $.scopes)",
                           json_string_value(item));
        }

        idx = (size_t) json_integer_value(found);

        if (set[idx / 64] & ((uint64_t) 1 << (idx % 64))) {
            return lg_fail(c, "scope \"%s\" is listed twice",
                           json_string_value(item));
        }

        set[idx / 64] |= (uint64_t) 1 << (idx % 64);

        if (names != NULL) {
            (*names)[(*nnames)++] = p->scopes[idx];
        }

        lg_json_path_pop(&c->path, saved);
    }

    *bits = set;

    return 0;
}


static int
lg_compile_apis(lg_compile_t *c)
{
    size_t        i, n, saved;
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
            size_t  s;

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
    size_t         i, j, saved, s;
    json_t        *versions, *v, *routes, *r;
    lg_route_t    *route;
    lg_policy_t   *p;
    const char    *vname;
    lg_version_t  *ver;

    p = c->policy;
    ver = NULL;

    if (!lg_match_name(name, strlen(name), LG_LOWER_DIGIT,
                       LG_LOWER_DIGIT "_-", 64))
    {
        return lg_fail(c, "invalid API name (lowercase letters, digits, "
                       "_ and -)");
    }

    if (lg_fields(c, api, lg_api_fields, lg_api_fields) != 0) {
        return -1;
    }

    if (lg_arena_str(&p->arena, &out->name, name, strlen(name)) != 0) {
        return lg_fail(c, "out of memory");
    }

    versions = json_object_get(api, "versions");
    saved = lg_json_path_key(&c->path, "versions");

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

        if (lg_compile_version(c, out, v, ver) != 0) {
            return -1;
        }

        out->nversions++;
        lg_json_path_pop(&c->path, s);
    }

    /* successors are resolved once every version of the API is known */

    json_object_foreach(versions, vname, v) {
        json_t  *succ;

        succ = json_object_get(v, "successor");
        if (succ == NULL) {
            continue;
        }

        s = lg_json_path_key(&c->path, vname);
        lg_json_path_key(&c->path, "successor");

        for (i = 0; i < out->nversions; i++) {
            if (strcmp(out->versions[i].name.data, vname) == 0) {
                ver = &out->versions[i];
            }
        }

        for (j = 0; j < out->nversions; j++) {
            if (strcmp(out->versions[j].name.data, json_string_value(succ))
                == 0)
            {
                break;
            }
        }

        if (j == out->nversions) {
            return lg_fail(c, "unknown version \"%s\" in API \"%s\"",
                           json_string_value(succ), name);
        }

        if (&out->versions[j] == ver) {
            return lg_fail(c, "a version cannot succeed itself");
        }

        ver->successor = &out->versions[j];
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    routes = json_object_get(api, "routes");
    saved = lg_json_path_key(&c->path, "routes");

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
        route->api = out;

        if (lg_compile_route(c, out, r, route) != 0) {
            return -1;
        }

        p->routes[p->nroutes++] = route;
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


static int
lg_compile_version(lg_compile_t *c, lg_api_t *api, json_t *v,
    lg_version_t *out)
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

    if (lg_get_time(c, v, "deprecated", &out->deprecated) != 0
        || lg_get_time(c, v, "sunset", &out->sunset) != 0)
    {
        return -1;
    }

    if (out->deprecated != LG_TIME_UNSET && out->sunset != LG_TIME_UNSET
        && out->sunset < out->deprecated)
    {
        saved = lg_json_path_key(&c->path, "sunset");
        return lg_fail(c, "sunset is before the deprecation date");
    }

    if (lg_get_string(c, v, "successor", 0, &succ) != 0) {
        return -1;
    }

    (void) api;

    return 0;
}


static int
lg_compile_route(lg_compile_t *c, lg_api_t *api, json_t *r, lg_route_t *out)
{
    size_t         i, j, saved;
    json_t        *list, *item, *found;
    lg_str_t       method;
    lg_policy_t   *p;

    p = c->policy;

    if (lg_fields(c, r, lg_route_fields, lg_route_required) != 0) {
        return -1;
    }

    if (lg_get_string(c, r, "id", 1, &out->id) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "id");

    if (!lg_match_name(out->id.data, out->id.len, LG_ALNUM,
                       LG_ALNUM "._:-", 128))
    {
        return lg_fail(c, "invalid route id (letters, digits and . _ : -)");
    }

    found = json_object_get(c->route_map, out->id.data);

    if (found != NULL) {
        return lg_fail(c, "route id \"%s\" is defined twice", out->id.data);
    }

    if (json_object_set_new(c->route_map, out->id.data,
                            json_integer((json_int_t) out->index))
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    lg_json_path_pop(&c->path, saved);

    if (lg_get_string(c, r, "method", 1, &method) != 0) {
        return -1;
    }

    out->method = lg_method_parse(method.data, method.len);

    if (out->method == 0 || out->method == LG_METHOD_HEAD
        || out->method == LG_METHOD_OPTIONS)
    {
        saved = lg_json_path_key(&c->path, "method");
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

    /* versions: default every version of the API */

    list = json_object_get(r, "versions");

    if (list == NULL) {
        for (i = 0; i < api->nversions; i++) {
            out->versions |= (uint64_t) 1 << i;
        }

    } else {
        saved = lg_json_path_key(&c->path, "versions");

        if (!json_is_array(list) || json_array_size(list) == 0) {
            return lg_fail(c, "must be a non-empty array of version names");
        }

        json_array_foreach(list, i, item) {
            size_t  s;

            s = lg_json_path_index(&c->path, i);

            if (!json_is_string(item)) {
                return lg_fail(c, "must be a string");
            }

            for (j = 0; j < api->nversions; j++) {
                if (strcmp(api->versions[j].name.data,
                           json_string_value(item)) == 0)
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
    }

    /* auth: default API keys */

    list = json_object_get(r, "auth");

    if (list == NULL) {
        out->auth = LG_AUTH_API_KEY;

    } else {
        saved = lg_json_path_key(&c->path, "auth");

        if (!json_is_array(list) || json_array_size(list) == 0) {
            return lg_fail(c, "must be a non-empty array of methods "
                           "(\"api_key\")");
        }

        json_array_foreach(list, i, item) {
            size_t    s;
            unsigned  m;

            s = lg_json_path_index(&c->path, i);

            m = 0;

            if (json_is_string(item)) {
                if (strcmp(json_string_value(item), "api_key") == 0) {
                    m = LG_AUTH_API_KEY;

                } else if (strcmp(json_string_value(item), "bearer") == 0) {
                    m = LG_AUTH_BEARER;

                } else if (strcmp(json_string_value(item), "mtls") == 0) {
                    m = LG_AUTH_MTLS;
                }
            }

            if (m == 0) {
                return lg_fail(c, "unknown authentication method (supported:"
                               " \"api_key\", \"bearer\", \"mtls\")");
            }

            if (out->auth & m) {
                return lg_fail(c, "\"%s\" is listed twice",
                               json_string_value(item));
            }

            out->auth |= m;
            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    out->max_body_size = p->max_body_size;

    if (lg_get_string(c, r, "idempotency", 0, &method) != 0) {
        return -1;
    }

    if (method.data != NULL) {
        if (strcmp(method.data, "required") == 0) {
            out->idempotency = LG_IDEM_REQUIRED;

        } else if (strcmp(method.data, "optional") == 0) {
            out->idempotency = LG_IDEM_OPTIONAL;

        } else if (strcmp(method.data, "off") != 0) {
            lg_json_path_key(&c->path, "idempotency");
            return lg_fail(c, "must be \"required\", \"optional\" or "
                           "\"off\"");
        }

        if (out->idempotency != LG_IDEM_OFF
            && out->method == LG_METHOD_GET)
        {
            lg_json_path_key(&c->path, "idempotency");
            return lg_fail(c, "GET is idempotent already");
        }
    }

    if (lg_get_string(c, r, "max_body_size", 0, &method) != 0) {
        return -1;
    }

    if (method.data != NULL
        && lg_size_parse(method.data, method.len, &out->max_body_size) != 0)
    {
        lg_json_path_key(&c->path, "max_body_size");
        return lg_fail(c, "invalid size \"%s\" (e.g. \"64k\", \"1m\", at "
                       "most 64m)", method.data);
    }

    out->schemas = lg_arena_calloc(&p->arena, api->nversions,
                                   sizeof(lg_str_t));
    out->compiled = lg_arena_calloc(&p->arena, api->nversions,
                                    sizeof(lg_schema_t *));
    if (out->schemas == NULL || out->compiled == NULL) {
        return lg_fail(c, "out of memory");
    }

    list = json_object_get(r, "schema");

    if (list != NULL) {
        saved = lg_json_path_key(&c->path, "schema");

        if (lg_compile_schemas(c, out, list) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    return 0;
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


static int
lg_compile_schemas(lg_compile_t *c, lg_route_t *route, json_t *schema)
{
    char        *file;
    size_t       i, s;
    json_t      *doc, *v;
    lg_api_t    *api;
    lg_error_t   jerr;
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

    } else if (json_is_object(schema)) {
        json_object_foreach(schema, vname, v) {
            s = lg_json_path_key(&c->path, vname);

            for (i = 0; i < api->nversions; i++) {
                if (strcmp(api->versions[i].name.data, vname) == 0) {
                    break;
                }
            }

            if (i == api->nversions
                || !(route->versions & ((uint64_t) 1 << i)))
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

    } else {
        return lg_fail(c, "must be a file name or an object of version "
                       "names and file names");
    }

    /*
     * Compiled now, once: a bad schema fails "nginx -t" like any other
     * policy error, and requests only walk the compiled form.
     */

    for (i = 0; i < api->nversions; i++) {
        lg_schema_options_t  opts;

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

    (void) doc;

    return 0;
}


static int
lg_partner_member(lg_compile_t *c, const char *id, json_t *pj, size_t index)
{
    lg_policy_t  *p;

    p = c->policy;
    p->partners[index].index = index;

    if (lg_compile_partner(c, id, pj, &p->partners[index]) != 0) {
        return -1;
    }

    p->npartners++;

    return 0;
}


static int
lg_compile_partners(lg_compile_t *c)
{
    lg_policy_t  *p;

    p = c->policy;

    p->partners = lg_arena_calloc(&p->arena, lg_count(c, "partners", 0) + 1,
                                  sizeof(lg_partner_t));
    if (p->partners == NULL) {
        return lg_fail(c, "out of memory");
    }

    return lg_each_member(c, "partners", "partner", c->partner_map,
                          lg_partner_member);
}


/*
 * Every member of a section ("partners", "issuers") across the policy
 * files, each name defined once; "fn" compiles member number "index".
 */

static int
lg_each_member(lg_compile_t *c, const char *section, const char *what,
    json_t *map, lg_member_pt fn)
{
    size_t       i, saved, s, index;
    json_t      *obj, *v;
    const char  *name;

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        obj = json_object_get(c->doc->json, section);
        if (obj == NULL) {
            continue;
        }

        saved = lg_json_path_key(&c->path, section);

        if (!json_is_object(obj)) {
            return lg_fail(c, "must be an object of %s names", what);
        }

        json_object_foreach(obj, name, v) {
            s = lg_json_path_key(&c->path, name);

            if (json_object_get(map, name) != NULL) {
                return lg_fail(c, "%s \"%s\" is defined twice", what, name);
            }

            index = json_object_size(map);

            if (json_object_set_new(map, name, json_integer((json_int_t) index))
                != 0)
            {
                return lg_fail(c, "out of memory");
            }

            if (fn(c, name, v, index) != 0) {
                return -1;
            }

            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    return 0;
}


static int
lg_compile_partner(lg_compile_t *c, const char *id, json_t *pj,
    lg_partner_t *out)
{
    size_t        i, j, saved, s, idx;
    json_t       *v, *item, *found;
    lg_str_t      file;
    lg_policy_t  *p;

    p = c->policy;

    if (!lg_match_name(id, strlen(id), LG_LOWER_DIGIT,
                       LG_LOWER_DIGIT "._-", 64))
    {
        return lg_fail(c, "invalid partner id (lowercase letters, digits "
                       "and . _ -, at most 64)");
    }

    if (lg_fields(c, pj, lg_partner_fields, lg_partner_required) != 0) {
        return -1;
    }

    if (lg_arena_str(&p->arena, &out->id, id, strlen(id)) != 0) {
        return lg_fail(c, "out of memory");
    }

    if (lg_get_string(c, pj, "name", 0, &out->name) != 0) {
        return -1;
    }

    v = json_object_get(pj, "suspended");

    if (v != NULL) {
        if (!json_is_boolean(v)) {
            saved = lg_json_path_key(&c->path, "suspended");
            return lg_fail(c, "must be true or false");
        }

        out->suspended = json_is_true(v);
    }

    saved = lg_json_path_key(&c->path, "scopes");

    if (lg_compile_scope_set(c, json_object_get(pj, "scopes"), &out->scopes,
                             NULL, NULL)
        != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    v = json_object_get(pj, "routes");

    if (v != NULL) {
        saved = lg_json_path_key(&c->path, "routes");

        if (!json_is_array(v)) {
            return lg_fail(c, "must be an array of route ids");
        }

        out->routes = lg_arena_calloc(&p->arena, p->route_words,
                                      sizeof(uint64_t));
        if (out->routes == NULL) {
            return lg_fail(c, "out of memory");
        }

        json_array_foreach(v, i, item) {
            s = lg_json_path_index(&c->path, i);

            if (!json_is_string(item)) {
                return lg_fail(c, "must be a route id");
            }

            found = json_object_get(c->route_map, json_string_value(item));

            if (found == NULL) {
                return lg_fail(c, "unknown route \"%s\"",
                               json_string_value(item));
            }

            idx = (size_t) json_integer_value(found);

            if (out->routes[idx / 64] & ((uint64_t) 1 << (idx % 64))) {
                return lg_fail(c, "route \"%s\" is listed twice",
                               json_string_value(item));
            }

            out->routes[idx / 64] |= (uint64_t) 1 << (idx % 64);
            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    out->api_key_max_age = LG_TIME_UNSET;

    if (lg_partner_key(c, out, LG_KEY_SUSPENDED, NULL, &out->suspended_key) != 0)
    {
        return -1;
    }

    if (lg_get_string(c, pj, "api_key_max_age", 0, &file) != 0) {
        return -1;
    }

    if (file.data != NULL) {
        saved = lg_json_path_key(&c->path, "api_key_max_age");

        if (lg_duration_parse(file.data, file.len, &out->api_key_max_age)
            != 0 || out->api_key_max_age == 0)
        {
            return lg_fail(c, "invalid duration \"%s\" (e.g. \"90d\", "
                           "\"12h\", \"30m\", \"45s\", \"500ms\")",
                           file.data);
        }

        lg_json_path_pop(&c->path, saved);
    }

    v = json_object_get(pj, "rate_limit");

    if (v != NULL) {
        saved = lg_json_path_key(&c->path, "rate_limit");

        if (lg_compile_limits(c, v, out) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    if (lg_get_string(c, pj, "odoo_credential_file", 0, &file) != 0) {
        return -1;
    }

    if (file.data != NULL) {
        saved = lg_json_path_key(&c->path, "odoo_credential_file");

        if (lg_read_credential(c, file.data, &out->odoo_authorization) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    v = json_object_get(pj, "jwt");

    if (v != NULL) {
        saved = lg_json_path_key(&c->path, "jwt");

        if (lg_compile_bindings(c, v, out) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    v = json_object_get(pj, "mtls");

    if (v != NULL) {
        saved = lg_json_path_key(&c->path, "mtls");

        if (lg_compile_mtls(c, v, out) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
    }

    v = json_object_get(pj, "api_keys");

    if (v == NULL) {
        if (json_object_get(pj, "jwt") == NULL
            && json_object_get(pj, "mtls") == NULL)
        {
            return lg_fail(c, "missing required field \"api_keys\" (or "
                           "\"jwt\" or \"mtls\"): the partner has no way "
                           "to authenticate");
        }

        v = json_array();
        json_object_set_new(pj, "api_keys", v);
    }

    saved = lg_json_path_key(&c->path, "api_keys");

    if (!json_is_array(v)) {
        return lg_fail(c, "must be an array of keys");
    }

    out->keys = lg_arena_calloc(&p->arena, json_array_size(v) + 1,
                                sizeof(lg_api_key_t));
    if (out->keys == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_array_foreach(v, i, item) {
        s = lg_json_path_index(&c->path, i);

        if (lg_compile_key(c, out, item, &out->keys[i]) != 0) {
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(out->keys[j].id.data, out->keys[i].id.data) == 0) {
                lg_json_path_key(&c->path, "id");
                return lg_fail(c, "key id \"%s\" is used twice",
                               out->keys[i].id.data);
            }
        }

        out->nkeys++;
        p->nkeys++;
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


static int
lg_compile_key(lg_compile_t *c, lg_partner_t *partner, json_t *k,
    lg_api_key_t *out)
{
    int          hi, lo;
    char         hex[65], where[LG_ERROR_MAX];
    size_t       i, saved;
    json_t      *seen;
    lg_str_t     sha;

    if (lg_fields(c, k, lg_key_fields, lg_key_required) != 0) {
        return -1;
    }

    out->partner = partner;

    if (lg_get_string(c, k, "id", 1, &out->id) != 0) {
        return -1;
    }

    if (!lg_match_name(out->id.data, out->id.len, LG_ALNUM "._-",
                       LG_ALNUM "._-", 64))
    {
        saved = lg_json_path_key(&c->path, "id");
        return lg_fail(c, "invalid key id (letters, digits and . _ -, at "
                       "most 64)");
    }

    if (lg_get_string(c, k, "sha256", 1, &sha) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "sha256");

    if (sha.len != 64) {
        return lg_fail(c, "must be 64 hex digits (the SHA-256 of the key, "
                       "never the key itself)");
    }

    for (i = 0; i < 64; i++) {
        hex[i] = (char) (sha.data[i] | 0x20);

        if (!((hex[i] >= '0' && hex[i] <= '9')
              || (hex[i] >= 'a' && hex[i] <= 'f')))
        {
            return lg_fail(c, "must be 64 hex digits (the SHA-256 of the "
                           "key, never the key itself)");
        }
    }

    hex[64] = '\0';

    for (i = 0; i < 32; i++) {
        hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
        lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0'
                                   : hex[2 * i + 1] - 'a' + 10;
        out->sha256[i] = (uint8_t) (hi << 4 | lo);
    }

    seen = json_object_get(c->hash_map, hex);

    if (seen != NULL) {
        return lg_fail(c, "the same key hash is already used at %s",
                       json_string_value(seen));
    }

    snprintf(where, sizeof(where), "%s: %s", c->doc->file, c->path.data);

    if (json_object_set_new(c->hash_map, hex, json_string(where)) != 0) {
        return lg_fail(c, "out of memory");
    }

    lg_json_path_pop(&c->path, saved);

    if (lg_get_time(c, k, "created", &out->created) != 0
        || lg_get_time(c, k, "not_before", &out->not_before) != 0
        || lg_get_time(c, k, "expires", &out->expires) != 0)
    {
        return -1;
    }

    if (out->expires != LG_TIME_UNSET && out->not_before != LG_TIME_UNSET
        && out->expires <= out->not_before)
    {
        saved = lg_json_path_key(&c->path, "expires");
        return lg_fail(c, "expires is not after not_before");
    }

    if (partner->api_key_max_age != LG_TIME_UNSET
        && out->created == LG_TIME_UNSET)
    {
        return lg_fail(c, "missing required field \"created\" (the partner "
                       "sets api_key_max_age)");
    }

    return 0;
}


/*
 * A partner's state keys (lg_keys.h), built here once, not per request.
 */

static int
lg_partner_key(lg_compile_t *c, const lg_partner_t *partner, lg_key_e kind,
    const char *route_id, lg_str_t *out)
{
    char    *buf;
    size_t   len, id_len;

    id_len = (route_id != NULL) ? strlen(route_id) : 0;
    len = lg_key_len(kind, partner->id.len, id_len);

    buf = lg_arena_alloc(&c->policy->arena, len + 1);
    if (buf == NULL) {
        return lg_fail(c, "out of memory");
    }

    out->data = buf;
    out->len = lg_key_build(buf, len + 1, kind, partner->id.data,
                            partner->id.len, route_id, id_len);

    return 0;
}


/*
 * "rate_limit": {"rate": "600/m", "burst": 50,
 *                "routes": {"shipments.create": {"rate": "10/s"}}}
 * The partner limit and each route limit are separate GCRA limits; a
 * request must fit all that apply to it.
 */

static int
lg_compile_limits(lg_compile_t *c, json_t *limit, lg_partner_t *partner)
{
    size_t        saved, s, idx;
    json_t       *routes, *r, *found;
    lg_policy_t  *p;
    const char   *id;

    p = c->policy;

    if (lg_fields(c, limit, lg_limit_fields, NULL) != 0) {
        return -1;
    }

    if (json_object_get(limit, "rate") != NULL) {
        if (lg_compile_rate(c, limit, lg_limit_fields, &partner->rate) != 0
            || lg_partner_key(c, partner, LG_KEY_RATE, NULL, &partner->limit_key)
               != 0)
        {
            return -1;
        }

    } else if (json_object_get(limit, "burst") != NULL) {
        return lg_fail(c, "\"burst\" needs a \"rate\"");
    }

    routes = json_object_get(limit, "routes");

    if (routes == NULL) {
        if (partner->rate == NULL) {
            return lg_fail(c, "needs a \"rate\" or \"routes\"");
        }

        p->has_limits = 1;
        return 0;
    }

    saved = lg_json_path_key(&c->path, "routes");

    if (!json_is_object(routes) || json_object_size(routes) == 0) {
        return lg_fail(c, "must be an object of route ids and limits");
    }

    partner->route_rates = lg_arena_calloc(&p->arena, p->nroutes + 1,
                                           sizeof(lg_rate_t *));
    partner->route_limit_keys = lg_arena_calloc(&p->arena, p->nroutes + 1,
                                                sizeof(lg_str_t));

    if (partner->route_rates == NULL || partner->route_limit_keys == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_object_foreach(routes, id, r) {
        s = lg_json_path_key(&c->path, id);

        found = json_object_get(c->route_map, id);
        if (found == NULL) {
            return lg_fail(c, "unknown route \"%s\"", id);
        }

        idx = (size_t) json_integer_value(found);

        if (lg_fields(c, r, lg_route_limit_fields, lg_rate_required) != 0
            || lg_compile_rate(c, r, lg_route_limit_fields,
                               &partner->route_rates[idx])
               != 0
            || lg_partner_key(c, partner, LG_KEY_ROUTE_RATE, id,
                              &partner->route_limit_keys[idx])
               != 0)
        {
            return -1;
        }

        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);
    p->has_limits = 1;

    return 0;
}


static int
lg_compile_rate(lg_compile_t *c, json_t *obj, const char *const *fields,
    lg_rate_t **out)
{
    json_t    *b;
    int64_t    burst;
    lg_str_t   rate;

    (void) fields;

    if (lg_get_string(c, obj, "rate", 1, &rate) != 0) {
        return -1;
    }

    burst = 0;
    b = json_object_get(obj, "burst");

    if (b != NULL) {
        if (!json_is_integer(b) || json_integer_value(b) < 0
            || json_integer_value(b) > 1000000000)
        {
            lg_json_path_key(&c->path, "burst");
            return lg_fail(c, "must be an integer from 0 to 1000000000");
        }

        burst = (int64_t) json_integer_value(b);
    }

    *out = lg_arena_calloc(&c->policy->arena, 1, sizeof(lg_rate_t));
    if (*out == NULL) {
        return lg_fail(c, "out of memory");
    }

    if (lg_rate_parse(rate.data, rate.len, burst, *out) != 0) {
        lg_json_path_key(&c->path, "rate");
        return lg_fail(c, "invalid rate \"%s\" (e.g. \"50/s\", \"600/m\", "
                       "\"1000/h\", \"100000/d\"; at most 1000000/s)",
                       rate.data);
    }

    return 0;
}


/*
 * The Odoo API key of the service account bound to a partner, kept as the
 * whole Authorization value sent upstream.  Read and built once here,
 * never per request; the file holds one token on one line.
 */

#define LG_BEARER  "bearer "

static int
lg_read_credential(lg_compile_t *c, const char *rel, lg_str_t *out)
{
    FILE         *f;
    char         *file, buf[sizeof(LG_BEARER) - 1 + LG_CREDENTIAL_MAX + 2];
    char         *token;
    size_t        n, i;
    struct stat   st;

    file = lg_resolve(c, rel);
    if (file == NULL) {
        return lg_fail(c, "out of memory");
    }

    f = fopen(file, "rb");

    if (f == NULL) {
        lg_fail(c, "cannot open \"%s\": %s", file, strerror(errno));
        free(file);
        return -1;
    }

    free(file);

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lg_fail(c, "\"%s\" is not a regular file", rel);
    }

    token = buf + sizeof(LG_BEARER) - 1;

    n = fread(token, 1, LG_CREDENTIAL_MAX + 2, f);
    fclose(f);

    if (n > 0 && token[n - 1] == '\n') {
        n--;
    }

    if (n > 0 && token[n - 1] == '\r') {
        n--;
    }

    if (n == 0) {
        return lg_fail(c, "\"%s\" is empty", rel);
    }

    if (n > LG_CREDENTIAL_MAX) {
        return lg_fail(c, "\"%s\" is longer than %d bytes", rel,
                       LG_CREDENTIAL_MAX);
    }

    for (i = 0; i < n; i++) {
        if (token[i] < 0x21 || token[i] > 0x7e) {
            return lg_fail(c, "\"%s\" must hold one token of printable "
                           "ASCII on one line", rel);
        }
    }

    memcpy(buf, LG_BEARER, sizeof(LG_BEARER) - 1);

    if (lg_arena_str(&c->policy->arena, out, buf,
                     sizeof(LG_BEARER) - 1 + n)
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    return 0;
}


static int
lg_build_router(lg_compile_t *c)
{
    size_t         i, j, k, ndocs_route;
    lg_route_t    *route, *conflict;
    lg_policy_t   *p;
    lg_version_t  *v;

    p = c->policy;

    for (i = 0; i < p->nroutes; i++) {
        route = p->routes[i];

        for (j = 0; j < route->api->nversions; j++) {
            if (!(route->versions & ((uint64_t) 1 << j))) {
                continue;
            }

            v = &route->api->versions[j];

            if (lg_router_add(p, v, route, &conflict) != 0) {

                if (conflict == NULL) {
                    return lg_fail(c, "out of memory");
                }

                /* point at the route that came second */

                ndocs_route = 0;

                for (k = 0; k < c->ndocs; k++) {
                    json_t      *apis, *api, *routes, *r;
                    size_t       n;
                    const char  *name;

                    apis = json_object_get(c->docs[k].json, "apis");

                    json_object_foreach(apis, name, api) {
                        routes = json_object_get(api, "routes");

                        json_array_foreach(routes, n, r) {
                            if (ndocs_route++ == route->index) {
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

                return lg_fail(c, "route \"%s\" (%s /%s%s) overlaps route "
                               "\"%s\" (%s %s)", route->id.data,
                               lg_method_name(route->method), v->name.data,
                               route->path.data, conflict->id.data,
                               lg_method_name(conflict->method),
                               conflict->path.data);
            }
        }
    }

    return 0;
}


lg_policy_t *
lg_policy_load(const char *file, lg_error_t *err)
{
    int            rc;
    size_t         i;
    lg_policy_t   *p;
    lg_compile_t   c;

    memset(&c, 0, sizeof(lg_compile_t));

    p = calloc(1, sizeof(lg_policy_t));
    if (p == NULL) {
        lg_error_set(err, file, NULL, "out of memory");
        return NULL;
    }

    c.policy = p;
    c.err = err;
    lg_json_path_init(&c.path);

    if (lg_arena_str(&p->arena, &p->file, file, strlen(file)) != 0) {
        free(p);
        lg_error_set(err, file, NULL, "out of memory");
        return NULL;
    }

    c.scope_map = json_object();
    c.route_map = json_object();
    c.partner_map = json_object();
    c.api_map = json_object();
    c.hash_map = json_object();
    c.issuer_map = json_object();

    rc = -1;

    if (c.scope_map == NULL || c.route_map == NULL || c.partner_map == NULL
        || c.api_map == NULL || c.hash_map == NULL)
    {
        lg_error_set(err, file, NULL, "out of memory");
        goto done;
    }

    if (lg_add_doc(&c, file, 1) != 0
        || lg_compile_fail_mode(&c) != 0
        || lg_compile_validation(&c) != 0
        || lg_compile_idempotency(&c) != 0
        || lg_load_includes(&c) != 0
        || lg_compile_scopes(&c) != 0
        || lg_compile_issuers(&c) != 0
        || lg_compile_apis(&c) != 0
        || lg_compile_partners(&c) != 0
        || lg_finish_issuers(&c) != 0)
    {
        goto done;
    }

    c.doc = &c.docs[0];
    lg_json_path_init(&c.path);

    if (p->nroutes == 0) {
        lg_fail(&c, "the policy defines no routes (\"apis\" is missing or "
                "empty)");
        goto done;
    }

    if (lg_build_router(&c) != 0) {
        goto done;
    }

    c.doc = &c.docs[0];
    lg_json_path_init(&c.path);

    if (lg_apikey_build(p) != 0) {
        lg_fail(&c, "out of memory");
        goto done;
    }

    p->nfiles = c.ndocs;
    rc = 0;

done:

    for (i = 0; i < c.ndocs; i++) {
        json_decref(c.docs[i].json);
        free(c.docs[i].file);
        free(c.docs[i].dir);
    }

    free(c.docs);
    json_decref(c.scope_map);
    json_decref(c.route_map);
    json_decref(c.partner_map);
    json_decref(c.api_map);
    json_decref(c.hash_map);
    json_decref(c.issuer_map);

    if (rc != 0) {
        lg_policy_free(p);
        return NULL;
    }

    return p;
}


void
lg_policy_free(lg_policy_t *policy)
{
    size_t  i;

    if (policy == NULL) {
        return;
    }

    for (i = 0; i < policy->nissuers; i++) {
        lg_jwk_set_free(policy->issuers[i].keys);
    }

    lg_arena_free(&policy->arena);
    free(policy);
}


static const struct {
    const char  *name;
    unsigned     method;
} lg_methods[] = {
    { "GET", LG_METHOD_GET },
    { "HEAD", LG_METHOD_HEAD },
    { "POST", LG_METHOD_POST },
    { "PUT", LG_METHOD_PUT },
    { "PATCH", LG_METHOD_PATCH },
    { "DELETE", LG_METHOD_DELETE },
    { "OPTIONS", LG_METHOD_OPTIONS },
};


const char *
lg_method_name(unsigned method)
{
    size_t  i;

    for (i = 0; i < sizeof(lg_methods) / sizeof(lg_methods[0]); i++) {
        if (lg_methods[i].method == method) {
            return lg_methods[i].name;
        }
    }

    return "?";
}


unsigned
lg_method_parse(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(lg_methods) / sizeof(lg_methods[0]); i++) {
        if (strlen(lg_methods[i].name) == len
            && memcmp(lg_methods[i].name, name, len) == 0)
        {
            return lg_methods[i].method;
        }
    }

    return 0;
}


int
lg_policy_scopes_allowed(const lg_policy_t *policy,
    const lg_partner_t *partner, const lg_route_t *route)
{
    size_t  i;

    for (i = 0; i < policy->scope_words; i++) {
        if (route->scopes[i] & ~partner->scopes[i]) {
            return 0;
        }
    }

    return 1;
}


int
lg_policy_route_allowed(const lg_partner_t *partner, const lg_route_t *route)
{
    if (partner->routes == NULL) {
        return 1;
    }

    return (partner->routes[route->index / 64]
            & ((uint64_t) 1 << (route->index % 64))) != 0;
}



/*
 * "issuers": {"corp-idp": {"iss": "https://idp.example.com",
 *     "audiences": ["logistics-api"], "algorithms": ["RS256", "ES256"],
 *     "leeway": "30s", "typ": "at+jwt", "partner_claim": "client_id",
 *     "jwks_file": "keys/corp.jwks"}}
 * Keys are parsed here, once, into EVP keys that every request reuses.
 */

static int
lg_issuer_member(lg_compile_t *c, const char *name, json_t *ij, size_t index)
{
    lg_policy_t  *p;

    p = c->policy;

    if (!lg_match_name(name, strlen(name), LG_LOWER_DIGIT,
                       LG_LOWER_DIGIT "._-", 64))
    {
        return lg_fail(c, "invalid issuer name (lowercase letters, digits "
                       "and . _ -)");
    }

    /* counted before compiling: lg_policy_free() frees its keys */
    p->issuers[index].index = index;
    p->nissuers++;

    return lg_compile_issuer(c, name, ij, &p->issuers[index]);
}


static int
lg_compile_issuers(lg_compile_t *c)
{
    lg_policy_t  *p;

    p = c->policy;

    p->issuers = lg_arena_calloc(&p->arena, lg_count(c, "issuers", 0) + 1,
                                 sizeof(lg_issuer_t));
    if (p->issuers == NULL) {
        return lg_fail(c, "out of memory");
    }

    return lg_each_member(c, "issuers", "issuer", c->issuer_map,
                          lg_issuer_member);
}


static int
lg_compile_issuer(lg_compile_t *c, const char *name, json_t *ij,
    lg_issuer_t *out)
{
    char           *file;
    size_t          i, saved, s, len;
    json_t         *list, *item, *v;
    int64_t         ms;
    unsigned        algs;
    lg_str_t        str, jwks_file, secret_file;
    lg_error_t      kerr;
    lg_policy_t    *p;
    lg_jws_alg_e    alg;
    unsigned char  *secret;
    const char    **auds;

    p = c->policy;
    len = 0;
    secret = NULL;

    if (lg_fields(c, ij, lg_issuer_fields, lg_issuer_required) != 0) {
        return -1;
    }

    if (lg_arena_str(&p->arena, &out->name, name, strlen(name)) != 0) {
        return lg_fail(c, "out of memory");
    }

    if (lg_get_string(c, ij, "iss", 1, &out->iss) != 0) {
        return -1;
    }

    if (out->iss.len == 0) {
        lg_json_path_key(&c->path, "iss");
        return lg_fail(c, "must not be empty");
    }

    out->rules.iss = out->iss.data;

    /* audiences */

    list = json_object_get(ij, "audiences");
    saved = lg_json_path_key(&c->path, "audiences");

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of audiences");
    }

    auds = lg_arena_calloc(&p->arena, json_array_size(list),
                           sizeof(char *));
    if (auds == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_array_foreach(list, i, item) {
        s = lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) == 0) {
            return lg_fail(c, "must be a non-empty string");
        }

        auds[i] = lg_arena_strndup(&p->arena, json_string_value(item),
                                   json_string_length(item));
        if (auds[i] == NULL) {
            return lg_fail(c, "out of memory");
        }

        lg_json_path_pop(&c->path, s);
    }

    out->rules.audiences = auds;
    out->rules.naudiences = json_array_size(list);
    lg_json_path_pop(&c->path, saved);

    /* algorithms: an allow-list; "none" can never be on it */

    list = json_object_get(ij, "algorithms");
    saved = lg_json_path_key(&c->path, "algorithms");

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of JWS algorithms");
    }

    algs = 0;

    json_array_foreach(list, i, item) {
        s = lg_json_path_index(&c->path, i);

        if (!json_is_string(item)) {
            return lg_fail(c, "must be a string");
        }

        alg = lg_jws_alg_from_name(json_string_value(item),
                                   json_string_length(item));

        if (alg == LG_JWS_ALG_UNSET) {
            return lg_fail(c, "unsupported algorithm \"%s\" (RS256/384/512, "
                           "PS256/384/512, ES256/384/512, EdDSA, "
                           "HS256/384/512)", json_string_value(item));
        }

        if (algs & LG_JWS_ALG_BIT(alg)) {
            return lg_fail(c, "\"%s\" is listed twice",
                           json_string_value(item));
        }

        algs |= LG_JWS_ALG_BIT(alg);
        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    out->rules.jws.algs = algs;

    /* optional rules */

    out->rules.leeway = 30;

    if (lg_get_string(c, ij, "leeway", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL) {
        if (lg_duration_parse(str.data, str.len, &ms) != 0
            || ms > 3600 * 1000)
        {
            lg_json_path_key(&c->path, "leeway");
            return lg_fail(c, "invalid duration \"%s\" (e.g. \"30s\", at "
                           "most 1h)", str.data);
        }

        out->rules.leeway = ms / 1000;
    }

    if (lg_get_string(c, ij, "max_lifetime", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL) {
        if (lg_duration_parse(str.data, str.len, &ms) != 0 || ms < 1000) {
            lg_json_path_key(&c->path, "max_lifetime");
            return lg_fail(c, "invalid duration \"%s\" (e.g. \"1h\")",
                           str.data);
        }

        out->rules.max_lifetime = ms / 1000;
    }

    if (lg_get_string(c, ij, "typ", 0, &str) != 0) {
        return -1;
    }

    out->rules.typ = str.data;

    if (lg_get_string(c, ij, "partner_claim", 0, &str) != 0) {
        return -1;
    }

    out->rules.partner_claim = str.data ? str.data : "client_id";

    if (lg_get_string(c, ij, "scope_claim", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL && strcmp(str.data, "scope") != 0
        && strcmp(str.data, "scp") != 0)
    {
        lg_json_path_key(&c->path, "scope_claim");
        return lg_fail(c, "must be \"scope\" or \"scp\"");
    }

    out->rules.scope_claim = str.data;

    v = json_object_get(ij, "max_token_size");
    out->rules.jws.max_len = LG_JWS_MAX_LEN;

    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 256
            || json_integer_value(v) > 65536)
        {
            lg_json_path_key(&c->path, "max_token_size");
            return lg_fail(c, "must be an integer from 256 to 65536");
        }

        out->rules.jws.max_len = (size_t) json_integer_value(v);
    }

    /*
     * keys: a JWKS file, a JWKS fetched through an internal location
     * (jwks_uri), or a shared secret for HS* -- exactly one
     */

    if (lg_get_string(c, ij, "jwks_file", 0, &jwks_file) != 0
        || lg_get_string(c, ij, "jwks_uri", 0, &out->jwks_uri) != 0
        || lg_get_string(c, ij, "shared_secret_file", 0, &secret_file) != 0)
    {
        return -1;
    }

    if ((jwks_file.data != NULL) + (out->jwks_uri.data != NULL)
        + (secret_file.data != NULL) != 1)
    {
        return lg_fail(c, "needs exactly one of \"jwks_file\", "
                       "\"jwks_uri\" and \"shared_secret_file\"");
    }

    out->jwks_refresh = 600 * 1000;
    out->jwks_cooldown = 30 * 1000;

    if (lg_get_string(c, ij, "jwks_refresh", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL
        && (lg_duration_parse(str.data, str.len, &out->jwks_refresh) != 0
            || out->jwks_refresh < 1000))
    {
        lg_json_path_key(&c->path, "jwks_refresh");
        return lg_fail(c, "invalid duration \"%s\" (at least 1s)", str.data);
    }

    if (lg_get_string(c, ij, "jwks_cooldown", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL
        && lg_duration_parse(str.data, str.len, &out->jwks_cooldown) != 0)
    {
        lg_json_path_key(&c->path, "jwks_cooldown");
        return lg_fail(c, "invalid duration \"%s\"", str.data);
    }

    if (out->jwks_uri.data != NULL) {

        if (out->jwks_uri.len < 2 || out->jwks_uri.data[0] != '/'
            || strpbrk(out->jwks_uri.data, " ?#\t") != NULL)
        {
            lg_json_path_key(&c->path, "jwks_uri");
            return lg_fail(c, "must be the path of an internal location of "
                           "the nginx config (e.g. \"/_jwks/corp\") that "
                           "proxies to the IdP's jwks_uri");
        }

        if (algs & LG_JWS_ALGS_HMAC) {
            lg_json_path_key(&c->path, "algorithms");
            return lg_fail(c, "HS256/384/512 need \"shared_secret_file\", "
                           "never public keys");
        }

        /* keys arrive at run time */
        return 0;
    }

    if (jwks_file.data != NULL) {

        if (algs & LG_JWS_ALGS_HMAC) {
            lg_json_path_key(&c->path, "algorithms");
            return lg_fail(c, "HS256/384/512 need \"shared_secret_file\", "
                           "never public keys");
        }

        saved = lg_json_path_key(&c->path, "jwks_file");

        file = lg_resolve(c, jwks_file.data);
        if (file == NULL) {
            return lg_fail(c, "out of memory");
        }

        v = lg_json_load_file(file, 1024 * 1024, 0, &kerr);

        if (v == NULL) {
            free(file);
            return lg_fail(c, "%s", kerr.text);
        }

        out->keys = lg_jwk_set_parse(file, v, 0, &kerr);
        json_decref(v);
        free(file);

        if (out->keys == NULL) {
            return lg_fail(c, "%s", kerr.text);
        }

        if (out->keys->nkeys == 0) {
            return lg_fail(c, "the key set has no usable signing key");
        }

        lg_json_path_pop(&c->path, saved);

    } else {
        if (algs & ~LG_JWS_ALGS_HMAC) {
            lg_json_path_key(&c->path, "algorithms");
            return lg_fail(c, "a shared secret only verifies HS256/384/512");
        }

        saved = lg_json_path_key(&c->path, "shared_secret_file");

        if (lg_read_file(c, secret_file.data, LG_JWK_OCT_MAX_LEN + 2,
                         &secret, &len)
            != 0)
        {
            return -1;
        }

        while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
        {
            len--;
        }

        out->keys = lg_jwk_set_new();

        if (out->keys == NULL
            || lg_jwk_set_add_secret(out->keys, NULL, 0, LG_JWS_ALG_UNSET,
                                     secret, len, &kerr)
               != 0)
        {
            memset(secret, 0, len);
            free(secret);
            return lg_fail(c, "%s", out->keys ? kerr.text : "out of memory");
        }

        memset(secret, 0, len);
        free(secret);

        lg_json_path_pop(&c->path, saved);
    }

    return 0;
}


static int
lg_read_file(lg_compile_t *c, const char *rel, size_t max,
    unsigned char **data, size_t *len)
{
    FILE         *f;
    char         *file;
    size_t        n;
    struct stat   st;

    file = lg_resolve(c, rel);
    if (file == NULL) {
        return lg_fail(c, "out of memory");
    }

    f = fopen(file, "rb");

    if (f == NULL) {
        lg_fail(c, "cannot open \"%s\": %s", file, strerror(errno));
        free(file);
        return -1;
    }

    free(file);

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (size_t) st.st_size > max)
    {
        fclose(f);
        return lg_fail(c, "\"%s\" is not a regular file of at most %zu "
                       "bytes", rel, max);
    }

    *data = malloc((size_t) st.st_size + 1);
    if (*data == NULL) {
        fclose(f);
        return lg_fail(c, "out of memory");
    }

    n = fread(*data, 1, (size_t) st.st_size, f);
    fclose(f);

    *len = n;

    return 0;
}


/*
 * "jwt": {"issuer": "corp-idp", "client_id": "acme"} (or an array of
 * them): tokens of that issuer whose partner claim has that value are
 * this partner's.
 */

static int
lg_compile_bindings(lg_compile_t *c, json_t *jwt, lg_partner_t *partner)
{
    size_t         i, n, s;
    json_t        *item, *found, *one;
    lg_str_t       issuer, claim;
    lg_policy_t   *p;
    lg_issuer_t   *is;
    lg_binding_t  *b;

    p = c->policy;
    one = NULL;

    if (json_is_object(jwt)) {
        one = json_array();
        if (one == NULL || json_array_append(one, jwt) != 0) {
            json_decref(one);
            return lg_fail(c, "out of memory");
        }

        jwt = one;

    } else if (!json_is_array(jwt) || json_array_size(jwt) == 0) {
        return lg_fail(c, "must be an object {\"issuer\", \"client_id\"} "
                       "or a non-empty array of them");
    }

    json_array_foreach(jwt, i, item) {
        s = (one == NULL) ? lg_json_path_index(&c->path, i) : c->path.len;

        if (lg_fields(c, item, lg_binding_fields, lg_binding_fields) != 0
            || lg_get_string(c, item, "issuer", 1, &issuer) != 0
            || lg_get_string(c, item, "client_id", 1, &claim) != 0)
        {
            json_decref(one);
            return -1;
        }

        found = json_object_get(c->issuer_map, issuer.data);

        if (found == NULL) {
            lg_json_path_key(&c->path, "issuer");
            json_decref(one);
            return lg_fail(c, "unknown issuer \"%s\" (not in $.issuers)",
                           issuer.data);
        }

        if (claim.len == 0) {
            lg_json_path_key(&c->path, "client_id");
            json_decref(one);
            return lg_fail(c, "must not be empty");
        }

        is = &p->issuers[json_integer_value(found)];

        for (n = 0; n < is->nbindings; n++) {
            if (is->bindings[n].claim.len == claim.len
                && memcmp(is->bindings[n].claim.data, claim.data, claim.len)
                   == 0)
            {
                lg_json_path_key(&c->path, "client_id");
                json_decref(one);
                return lg_fail(c, "\"%s\" of issuer \"%s\" already belongs "
                               "to partner \"%s\"", claim.data, issuer.data,
                               is->bindings[n].partner->id.data);
            }
        }

        /* config time: grow by copying inside the arena */

        b = lg_arena_calloc(&p->arena, is->nbindings + 1,
                            sizeof(lg_binding_t));
        if (b == NULL) {
            json_decref(one);
            return lg_fail(c, "out of memory");
        }

        if (is->nbindings) {
            memcpy(b, is->bindings, is->nbindings * sizeof(lg_binding_t));
        }

        b[is->nbindings].claim = claim;
        b[is->nbindings].partner = partner;
        is->bindings = b;
        is->nbindings++;

        lg_json_path_pop(&c->path, s);
    }

    json_decref(one);

    return 0;
}


/*
 * "mtls": {"sha256": ["<64 hex>", ...], "subjects": ["CN=edi,O=Acme"]}:
 * a client certificate that nginx verified (ssl_verify_client) and whose
 * SHA-256 fingerprint or subject DN is listed identifies the partner.
 */

static int
lg_compile_mtls(lg_compile_t *c, json_t *mtls, lg_partner_t *partner)
{
    int                    hi, lo;
    char                   hex[64];
    size_t                 i, j, k, n, s;
    json_t                *list, *item;
    const char            *v;
    lg_policy_t           *p;
    lg_cert_binding_t     *cb;

    p = c->policy;

    if (lg_fields(c, mtls, lg_mtls_fields, NULL) != 0) {
        return -1;
    }

    list = json_object_get(mtls, "sha256");

    if (list != NULL) {
        s = lg_json_path_key(&c->path, "sha256");

        if (!json_is_array(list) || json_array_size(list) == 0) {
            return lg_fail(c, "must be a non-empty array of fingerprints");
        }

        cb = lg_arena_calloc(&p->arena, p->ncerts + json_array_size(list),
                             sizeof(lg_cert_binding_t));
        if (cb == NULL) {
            return lg_fail(c, "out of memory");
        }

        if (p->ncerts) {
            memcpy(cb, p->certs, p->ncerts * sizeof(lg_cert_binding_t));
        }

        p->certs = cb;

        json_array_foreach(list, i, item) {
            size_t  s2;

            s2 = lg_json_path_index(&c->path, i);

            if (!json_is_string(item)) {
                return lg_fail(c, "must be a string");
            }

            /* "ab:cd:..." (openssl x509 -fingerprint) or plain hex */

            v = json_string_value(item);
            n = 0;

            for (j = 0; v[j] != '\0' && n <= 64; j++) {
                if (v[j] == ':') {
                    continue;
                }

                hex[n < 64 ? n : 63] = (char) (v[j] | 0x20);
                n++;
            }

            for (k = 0; k < n && k < 64; k++) {
                if (!((hex[k] >= '0' && hex[k] <= '9')
                      || (hex[k] >= 'a' && hex[k] <= 'f')))
                {
                    n = 0;
                }
            }

            if (n != 64) {
                return lg_fail(c, "must be a SHA-256 fingerprint (64 hex "
                               "digits, colons allowed)");
            }

            for (k = 0; k < 32; k++) {
                hi = hex[2 * k] <= '9' ? hex[2 * k] - '0'
                                       : hex[2 * k] - 'a' + 10;
                lo = hex[2 * k + 1] <= '9' ? hex[2 * k + 1] - '0'
                                           : hex[2 * k + 1] - 'a' + 10;
                cb[p->ncerts].sha256[k] = (uint8_t) (hi << 4 | lo);
            }

            for (k = 0; k < p->ncerts; k++) {
                if (memcmp(cb[k].sha256, cb[p->ncerts].sha256, 32) == 0) {
                    return lg_fail(c, "certificate already belongs to "
                                   "partner \"%s\"", cb[k].partner->id.data);
                }
            }

            cb[p->ncerts].partner = partner;
            p->ncerts++;

            lg_json_path_pop(&c->path, s2);
        }

        lg_json_path_pop(&c->path, s);
    }

    if (lg_compile_names(c, json_object_get(mtls, "subjects"), "subjects",
                         &p->subjects, &p->nsubjects, partner) != 0
        || lg_compile_names(c, json_object_get(mtls, "sans"), "sans",
                            &p->sans, &p->nsans, partner) != 0)
    {
        return -1;
    }

    if (json_object_size(mtls) == 0) {
        return lg_fail(c, "needs \"sha256\" or \"subjects\"");
    }

    return 0;
}


/* "subjects" (DNs) and "sans" (subjectAltName values) of "mtls" */

static int
lg_compile_names(lg_compile_t *c, json_t *list, const char *field,
    lg_subject_binding_t **names, size_t *nnames, lg_partner_t *partner)
{
    size_t                 i, k, s;
    json_t                *item;
    lg_policy_t           *p;
    lg_subject_binding_t  *sb;

    if (list == NULL) {
        return 0;
    }

    p = c->policy;
    s = lg_json_path_key(&c->path, field);

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of strings");
    }

    sb = lg_arena_calloc(&p->arena, *nnames + json_array_size(list),
                         sizeof(lg_subject_binding_t));
    if (sb == NULL) {
        return lg_fail(c, "out of memory");
    }

    if (*nnames) {
        memcpy(sb, *names, *nnames * sizeof(lg_subject_binding_t));
    }

    *names = sb;

    json_array_foreach(list, i, item) {
        size_t  s2;

        s2 = lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) < 3) {
            return lg_fail(c, "must be a name such as \"%s\"",
                           field[0] == 's' && field[1] == 'u'
                           ? "CN=edi.acme.example,O=Acme"
                           : "edi.acme.example");
        }

        for (k = 0; k < *nnames; k++) {
            if (strcmp(sb[k].subject.data, json_string_value(item)) == 0) {
                return lg_fail(c, "\"%s\" already belongs to partner "
                               "\"%s\"", json_string_value(item),
                               sb[k].partner->id.data);
            }
        }

        if (lg_arena_str(&p->arena, &sb[*nnames].subject,
                         json_string_value(item), json_string_length(item))
            != 0)
        {
            return lg_fail(c, "out of memory");
        }

        sb[*nnames].partner = partner;
        (*nnames)++;

        lg_json_path_pop(&c->path, s2);
    }

    lg_json_path_pop(&c->path, s);

    return 0;
}


const lg_partner_t *
lg_policy_san_partner(const lg_policy_t *policy, const char *san, size_t len)
{
    size_t  i;

    for (i = 0; i < policy->nsans; i++) {
        if (policy->sans[i].subject.len == len
            && memcmp(policy->sans[i].subject.data, san, len) == 0)
        {
            return policy->sans[i].partner;
        }
    }

    return NULL;
}


static int
lg_cert_cmp(const void *a, const void *b)
{
    const lg_cert_binding_t  *x = a, *y = b;

    return memcmp(x->sha256, y->sha256, 32);
}


const lg_partner_t *
lg_policy_cert_partner(const lg_policy_t *policy, const uint8_t *sha256,
    const char *subject, size_t subject_len)
{
    size_t                    i;
    lg_cert_binding_t         key;
    const lg_cert_binding_t  *found;

    if (sha256 != NULL && policy->ncerts) {
        memcpy(key.sha256, sha256, 32);

        found = bsearch(&key, policy->certs, policy->ncerts,
                        sizeof(lg_cert_binding_t), lg_cert_cmp);
        if (found != NULL) {
            return found->partner;
        }
    }

    for (i = 0; subject != NULL && i < policy->nsubjects; i++) {
        if (policy->subjects[i].subject.len == subject_len
            && memcmp(policy->subjects[i].subject.data, subject, subject_len)
               == 0)
        {
            return policy->subjects[i].partner;
        }
    }

    return NULL;
}


static int
lg_binding_cmp(const void *a, const void *b)
{
    const lg_binding_t  *x = a, *y = b;
    int                  rc;

    rc = memcmp(x->claim.data, y->claim.data,
                x->claim.len < y->claim.len ? x->claim.len : y->claim.len);

    if (rc != 0) {
        return rc;
    }

    return (x->claim.len > y->claim.len) - (x->claim.len < y->claim.len);
}


static const lg_policy_t  *lg_sort_policy;


static int
lg_scope_order_cmp(const void *a, const void *b)
{
    const lg_str_t  *x, *y;

    x = &lg_sort_policy->scopes[*(const size_t *) a];
    y = &lg_sort_policy->scopes[*(const size_t *) b];

    return strcmp(x->data, y->data);
}


/* lookup structures built once everything is known */

static int
lg_finish_issuers(lg_compile_t *c)
{
    size_t        i;
    lg_policy_t  *p;

    p = c->policy;

    for (i = 0; i < p->nissuers; i++) {
        if (p->issuers[i].nbindings) {
            qsort(p->issuers[i].bindings, p->issuers[i].nbindings,
                  sizeof(lg_binding_t), lg_binding_cmp);
        }
    }

    if (p->ncerts) {
        qsort(p->certs, p->ncerts, sizeof(lg_cert_binding_t), lg_cert_cmp);
    }

    p->scope_order = lg_arena_calloc(&p->arena, p->nscopes + 1,
                                     sizeof(size_t));
    if (p->scope_order == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < p->nscopes; i++) {
        p->scope_order[i] = i;
    }

    lg_sort_policy = p;
    qsort(p->scope_order, p->nscopes, sizeof(size_t), lg_scope_order_cmp);
    lg_sort_policy = NULL;

    return 0;
}


long
lg_policy_scope_index(const lg_policy_t *policy, const char *name,
    size_t len)
{
    int              rc;
    size_t           lo, hi, mid;
    const lg_str_t  *s;

    lo = 0;
    hi = policy->nscopes;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        s = &policy->scopes[policy->scope_order[mid]];

        rc = strncmp(s->data, name, len);

        if (rc == 0) {
            rc = (s->len > len) - (s->len < len);
        }

        if (rc == 0) {
            return (long) policy->scope_order[mid];
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return -1;
}


const lg_partner_t *
lg_issuer_partner(const lg_issuer_t *issuer, const char *claim, size_t len)
{
    lg_binding_t        key;
    const lg_binding_t  *b;

    key.claim.data = claim;
    key.claim.len = len;

    b = bsearch(&key, issuer->bindings, issuer->nbindings,
                sizeof(lg_binding_t), lg_binding_cmp);

    return b ? b->partner : NULL;
}


/*
 * Which issuer's rules and keys to verify a token with.  With one issuer
 * there is nothing to choose (its rules still check "iss").  With several,
 * the payload's "iss" is read before verification -- only to pick, never
 * to trust: the chosen issuer's own rules check it again.
 */

const lg_issuer_t *
lg_policy_token_issuer(const lg_policy_t *policy, const char *token,
    size_t len)
{
    size_t          i, n, start, end;
    json_t         *payload, *iss;
    unsigned char  *raw;
    const lg_issuer_t  *found;

    if (policy->nissuers <= 1) {
        return policy->nissuers ? &policy->issuers[0] : NULL;
    }

    for (start = 0; start < len && token[start] != '.'; start++) {
        /* void */
    }

    start++;

    for (end = start; end < len && token[end] != '.'; end++) {
        /* void */
    }

    if (start >= len || end >= len || end - start > LG_JWS_MAX_LEN) {
        return NULL;
    }

    raw = malloc(end - start + 4);
    if (raw == NULL) {
        return NULL;
    }

    if (lg_b64url_decode(token + start, end - start, raw, &n) != 0) {
        free(raw);
        return NULL;
    }

    payload = json_loadb((char *) raw, n, 0, NULL);
    free(raw);

    iss = json_object_get(payload, "iss");
    found = NULL;

    for (i = 0; json_is_string(iss) && i < policy->nissuers; i++) {
        if (policy->issuers[i].iss.len == json_string_length(iss)
            && memcmp(policy->issuers[i].iss.data, json_string_value(iss),
                      json_string_length(iss))
               == 0)
        {
            found = &policy->issuers[i];
            break;
        }
    }

    json_decref(payload);

    return found;
}


/*
 * "validation": {"format_assertion": false, "strict_schemas": true,
 *                "max_errors": 10, "max_body_size": "1m"}
 */

static int
lg_compile_validation(lg_compile_t *c)
{
    json_t       *v, *x;
    lg_str_t      size;
    lg_policy_t  *p;

    p = c->policy;

    p->format_assertion = 0;
    p->strict_schemas = 1;
    p->max_errors = 10;
    p->max_body_size = 1024 * 1024;

    c->root_dir = c->docs[0].dir;

    v = json_object_get(c->docs[0].json, "validation");
    if (v == NULL) {
        return 0;
    }

    lg_json_path_key(&c->path, "validation");

    if (lg_fields(c, v, lg_validation_fields, NULL) != 0) {
        return -1;
    }

    x = json_object_get(v, "format_assertion");

    if (x != NULL) {
        if (!json_is_boolean(x)) {
            lg_json_path_key(&c->path, "format_assertion");
            return lg_fail(c, "must be true or false");
        }

        p->format_assertion = json_is_true(x);
    }

    x = json_object_get(v, "strict_schemas");

    if (x != NULL) {
        if (!json_is_boolean(x)) {
            lg_json_path_key(&c->path, "strict_schemas");
            return lg_fail(c, "must be true or false");
        }

        p->strict_schemas = json_is_true(x);
    }

    x = json_object_get(v, "max_errors");

    if (x != NULL) {
        if (!json_is_integer(x) || json_integer_value(x) < 1
            || json_integer_value(x) > 100)
        {
            lg_json_path_key(&c->path, "max_errors");
            return lg_fail(c, "must be an integer from 1 to 100");
        }

        p->max_errors = (size_t) json_integer_value(x);
    }

    if (lg_get_string(c, v, "max_body_size", 0, &size) != 0) {
        return -1;
    }

    if (size.data != NULL
        && lg_size_parse(size.data, size.len, &p->max_body_size) != 0)
    {
        lg_json_path_key(&c->path, "max_body_size");
        return lg_fail(c, "invalid size \"%s\" (e.g. \"64k\", \"1m\", at "
                       "most 64m)", size.data);
    }

    lg_json_path_init(&c->path);

    return 0;
}


/* "512", "64k", "1m": bytes, at most 64m */

static int
lg_size_parse(const char *s, size_t len, int64_t *size)
{
    size_t   i;
    int64_t  v, unit;

    v = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');

        if (v > 64 * 1024 * 1024) {
            return -1;
        }
    }

    if (i == 0) {
        return -1;
    }

    unit = 1;

    if (i + 1 == len && (s[i] == 'k' || s[i] == 'K')) {
        unit = 1024;

    } else if (i + 1 == len && (s[i] == 'm' || s[i] == 'M')) {
        unit = 1024 * 1024;

    } else if (i != len) {
        return -1;
    }

    v *= unit;

    if (v == 0 || v > 64 * 1024 * 1024) {
        return -1;
    }

    *size = v;

    return 0;
}


/*
 * "idempotency": {"ttl": "24h", "lock_ttl": "60s",
 *                 "max_response_size": "64k"}
 */

static int
lg_compile_idempotency(lg_compile_t *c)
{
    json_t       *v;
    lg_str_t      str;
    lg_policy_t  *p;

    p = c->policy;

    p->idem_ttl = 86400 * 1000;
    p->idem_lock = 60 * 1000;
    p->idem_max_response = 64 * 1024;

    v = json_object_get(c->docs[0].json, "idempotency");
    if (v == NULL) {
        return lg_idempotency_px(c);
    }

    lg_json_path_key(&c->path, "idempotency");

    if (lg_fields(c, v, lg_idempotency_fields, NULL) != 0) {
        return -1;
    }

    if (lg_get_string(c, v, "ttl", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL
        && (lg_duration_parse(str.data, str.len, &p->idem_ttl) != 0
            || p->idem_ttl < 1000))
    {
        lg_json_path_key(&c->path, "ttl");
        return lg_fail(c, "invalid duration \"%s\" (e.g. \"24h\")",
                       str.data);
    }

    if (lg_get_string(c, v, "lock_ttl", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL
        && (lg_duration_parse(str.data, str.len, &p->idem_lock) != 0
            || p->idem_lock < 100))
    {
        lg_json_path_key(&c->path, "lock_ttl");
        return lg_fail(c, "invalid duration \"%s\" (e.g. \"60s\")",
                       str.data);
    }

    if (lg_get_string(c, v, "max_response_size", 0, &str) != 0) {
        return -1;
    }

    if (str.data != NULL
        && lg_size_parse(str.data, str.len, &p->idem_max_response) != 0)
    {
        lg_json_path_key(&c->path, "max_response_size");
        return lg_fail(c, "invalid size \"%s\" (e.g. \"64k\")", str.data);
    }

    lg_json_path_init(&c->path);

    return lg_idempotency_px(c);
}


/* the lock and response lifetimes as the Redis commands take them */

static int
lg_idempotency_px(lg_compile_t *c)
{
    char  buf[24];
    int   n;

    n = snprintf(buf, sizeof(buf), "%lld", (long long) c->policy->idem_ttl);

    if (lg_arena_str(&c->policy->arena, &c->policy->idem_ttl_px, buf,
                     (size_t) n)
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    n = snprintf(buf, sizeof(buf), "%lld", (long long) c->policy->idem_lock);

    if (lg_arena_str(&c->policy->arena, &c->policy->idem_lock_px, buf,
                     (size_t) n)
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    return 0;
}
