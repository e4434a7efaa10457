
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "partners": {"acme-carrier": {...}} in any policy file: scopes, the
 * routes a partner may call, API keys (hashes only), rate limits, the
 * Odoo credential bound to it, and the client certificates (mtls) that
 * identify it.  Its token bindings ("jwt") are the issuers' business
 * (lg_policy_issuers.c).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lg_policy_int.h"
#include "lg_apikey.h"
#include "lg_keys.h"


#define LG_CREDENTIAL_MAX   4096


typedef int (*lg_partner_part_pt)(lg_compile_t *c, json_t *v,
    lg_partner_t *partner);


static int lg_partner_member(lg_compile_t *c, const char *id, json_t *pj,
    size_t index);
static int lg_compile_partner(lg_compile_t *c, const char *id, json_t *pj,
    lg_partner_t *out);
static int lg_partner_part(lg_compile_t *c, json_t *pj, const char *field,
    lg_partner_part_pt compile, lg_partner_t *partner);
static int lg_partner_routes(lg_compile_t *c, json_t *list,
    lg_partner_t *out);
static int lg_partner_credential(lg_compile_t *c, json_t *pj,
    lg_partner_t *out);
static int lg_partner_keys(lg_compile_t *c, json_t *pj, lg_partner_t *out);
static int lg_compile_key(lg_compile_t *c, lg_partner_t *partner, json_t *k,
    lg_api_key_t *out);
static int lg_partner_key(lg_compile_t *c, const lg_partner_t *partner,
    lg_key_e kind, const char *route_id, lg_str_t *out);
static int lg_compile_limits(lg_compile_t *c, json_t *limit,
    lg_partner_t *partner);
static int lg_compile_rate(lg_compile_t *c, json_t *obj, lg_rate_t **out);
static int lg_read_credential(lg_compile_t *c, const char *rel,
    lg_str_t *out);
static int lg_compile_mtls(lg_compile_t *c, json_t *mtls,
    lg_partner_t *partner);
static int lg_mtls_fingerprints(lg_compile_t *c, json_t *list,
    lg_partner_t *partner);
static int lg_compile_names(lg_compile_t *c, json_t *list, const char *field,
    lg_subject_binding_t **names, size_t *nnames, lg_partner_t *partner);


static const char *const  lg_partner_fields[] = {
    "name", "suspended", "scopes", "routes", "api_keys",
    "odoo_credential_file", "api_key_max_age", "rate_limit", "jwt", "mtls",
    "max_in_flight", "priority_ceiling", NULL
};

static const char *const  lg_partner_required[] = {
    "scopes", NULL
};

static const char *const  lg_key_fields[] = {
    "id", "sha256", "created", "not_before", "expires", NULL
};

static const char *const  lg_key_required[] = { "id", "sha256", NULL };

static const char *const  lg_limit_fields[] = {
    "rate", "burst", "routes", NULL
};

static const char *const  lg_route_limit_fields[] = {
    "rate", "burst", NULL
};

static const char *const  lg_rate_required[] = { "rate", NULL };

static const char *const  lg_mtls_fields[] = {
    "sha256", "subjects", "sans", NULL
};


int
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


/* the lookup tables over every partner: certificates and API keys */

int
lg_finish_partners(lg_compile_t *c)
{
    lg_policy_t  *p;

    p = c->policy;

    if (p->ncerts) {
        qsort(p->certs, p->ncerts, sizeof(lg_cert_binding_t), lg_cert_cmp);
    }

    if (lg_apikey_build(p) != 0) {
        return lg_fail(c, "out of memory");
    }

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


/*
 * Partner ids name the partner's state keys (lg_keys.h), so they must
 * stay within lowercase letters, digits and . _ -: never a brace.
 */

static int
lg_compile_partner(lg_compile_t *c, const char *id, json_t *pj,
    lg_partner_t *out)
{
    int           suspended;
    size_t        saved;
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

    suspended = 0;

    if (lg_get_string(c, pj, "name", 0, &out->name) != 0
        || lg_get_bool(c, pj, "suspended", &suspended) != 0)
    {
        return -1;
    }

    out->suspended = suspended;

    saved = lg_json_path_key(&c->path, "scopes");

    if (lg_compile_scope_set(c, json_object_get(pj, "scopes"), &out->scopes,
                             NULL, NULL)
        != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    out->api_key_max_age = LG_TIME_UNSET;

    /* in this order: of several mistakes, the first is reported */

    if (lg_partner_routes(c, json_object_get(pj, "routes"), out) != 0
        || lg_partner_key(c, out, LG_KEY_SUSPENDED, NULL,
                          &out->suspended_key)
           != 0
        || lg_get_duration(c, pj, "api_key_max_age", 1, INT64_MAX,
                           " (e.g. \"90d\", \"12h\", \"30m\", \"45s\", "
                           "\"500ms\")", &out->api_key_max_age)
           != 0
        || lg_partner_part(c, pj, "rate_limit", lg_compile_limits, out) != 0
        || lg_partner_credential(c, pj, out) != 0
        || lg_partner_part(c, pj, "jwt", lg_compile_bindings, out) != 0
        || lg_partner_part(c, pj, "mtls", lg_compile_mtls, out) != 0)
    {
        return -1;
    }

    return lg_partner_keys(c, pj, out);
}


/* an optional member of a partner, compiled by "compile" */

static int
lg_partner_part(lg_compile_t *c, json_t *pj, const char *field,
    lg_partner_part_pt compile, lg_partner_t *partner)
{
    size_t   saved;
    json_t  *v;

    v = json_object_get(pj, field);

    if (v == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, field);

    if (compile(c, v, partner) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* "routes": the only routes the partner may call; absent: all */

static int
lg_partner_routes(lg_compile_t *c, json_t *list, lg_partner_t *out)
{
    size_t        i, s, saved, idx;
    json_t       *item, *found;
    lg_policy_t  *p;

    if (list == NULL) {
        return 0;
    }

    p = c->policy;
    saved = lg_json_path_key(&c->path, "routes");

    if (!json_is_array(list)) {
        return lg_fail(c, "must be an array of route ids");
    }

    out->routes = lg_arena_calloc(&p->arena, p->route_words,
                                  sizeof(uint64_t));
    if (out->routes == NULL) {
        return lg_fail(c, "out of memory");
    }

    json_array_foreach(list, i, item) {
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

    return 0;
}


/* "odoo_credential_file" */

static int
lg_partner_credential(lg_compile_t *c, json_t *pj, lg_partner_t *out)
{
    size_t    saved;
    lg_str_t  file;

    if (lg_get_string(c, pj, "odoo_credential_file", 0, &file) != 0) {
        return -1;
    }

    if (file.data == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, "odoo_credential_file");

    if (lg_read_credential(c, file.data, &out->odoo_authorization) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * "api_keys": several per partner make rotation a matter of adding the
 * new key, handing it over, then removing the old one.  A partner with
 * tokens or certificates may have none.
 */

static int
lg_partner_keys(lg_compile_t *c, json_t *pj, lg_partner_t *out)
{
    size_t        i, j, s, saved;
    json_t       *v, *item;
    lg_policy_t  *p;

    p = c->policy;
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
    char       hex[65], where[LG_ERROR_MAX];
    size_t     i, saved;
    json_t    *seen;
    lg_str_t   sha;

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
        lg_json_path_key(&c->path, "id");
        return lg_fail(c, "invalid key id (letters, digits and . _ -, at "
                       "most 64)");
    }

    if (lg_get_string(c, k, "sha256", 1, &sha) != 0) {
        return -1;
    }

    saved = lg_json_path_key(&c->path, "sha256");

    if (sha.len != 64 || lg_sha256_from_hex(sha.data, out->sha256) != 0) {
        return lg_fail(c, "must be 64 hex digits (the SHA-256 of the key, "
                       "never the key itself)");
    }

    /* the same key twice, anywhere in the policy, is refused */

    for (i = 0; i < 64; i++) {
        hex[i] = (char) (sha.data[i] | 0x20);
    }

    hex[64] = '\0';

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
        lg_json_path_key(&c->path, "expires");
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
 * A partner's state key (lg_keys.h), built here once, not per request.
 * The builder cannot refuse: the id was checked by lg_compile_partner().
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
        if (lg_compile_rate(c, limit, &partner->rate) != 0
            || lg_partner_key(c, partner, LG_KEY_RATE, NULL,
                              &partner->limit_key)
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
            || lg_compile_rate(c, r, &partner->route_rates[idx]) != 0
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


/* "rate" and "burst" of a partner or route limit */

static int
lg_compile_rate(lg_compile_t *c, json_t *obj, lg_rate_t **out)
{
    int64_t   burst;
    lg_str_t  rate;

    if (lg_get_string(c, obj, "rate", 1, &rate) != 0) {
        return -1;
    }

    burst = 0;

    if (lg_get_integer(c, obj, "burst", 0, 1000000000, &burst) != 0) {
        return -1;
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

    if (lg_secret_mode(c, rel, &st) != 0) {
        fclose(f);
        return -1;
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


/*
 * "mtls": {"sha256": ["<64 hex>", ...], "subjects": ["CN=edi,O=Acme"],
 *          "sans": ["dns:edi.acme.example"]}: a client certificate that nginx
 * verified (ssl_verify_client) and whose SHA-256 fingerprint, subject DN
 * or subjectAltName is listed identifies the partner.
 */

static int
lg_compile_mtls(lg_compile_t *c, json_t *mtls, lg_partner_t *partner)
{
    lg_policy_t  *p;

    p = c->policy;

    if (lg_fields(c, mtls, lg_mtls_fields, NULL) != 0
        || lg_mtls_fingerprints(c, json_object_get(mtls, "sha256"), partner)
           != 0
        || lg_compile_names(c, json_object_get(mtls, "subjects"), "subjects",
                            &p->subjects, &p->nsubjects, partner)
           != 0
        || lg_compile_names(c, json_object_get(mtls, "sans"), "sans",
                            &p->sans, &p->nsans, partner)
           != 0)
    {
        return -1;
    }

    if (json_object_size(mtls) == 0) {
        return lg_fail(c, "needs \"sha256\" or \"subjects\"");
    }

    return 0;
}


/* "sha256": "ab:cd:..." (openssl x509 -fingerprint) or plain hex */

static int
lg_mtls_fingerprints(lg_compile_t *c, json_t *list, lg_partner_t *partner)
{
    char                hex[64];
    size_t              i, j, k, n, s, s2;
    json_t             *item;
    const char         *v;
    lg_policy_t        *p;
    lg_cert_binding_t  *cb;

    if (list == NULL) {
        return 0;
    }

    p = c->policy;
    s = lg_json_path_key(&c->path, "sha256");

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return lg_fail(c, "must be a non-empty array of fingerprints");
    }

    /* config time: grow by copying inside the arena */

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
        s2 = lg_json_path_index(&c->path, i);

        if (!json_is_string(item)) {
            return lg_fail(c, "must be a string");
        }

        v = json_string_value(item);
        n = 0;

        for (j = 0; v[j] != '\0' && n <= 64; j++) {
            if (v[j] != ':') {
                hex[n < 64 ? n : 63] = v[j];
                n++;
            }
        }

        if (n != 64 || lg_sha256_from_hex(hex, cb[p->ncerts].sha256) != 0) {
            return lg_fail(c, "must be a SHA-256 fingerprint (64 hex "
                           "digits, colons allowed)");
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

    return 0;
}


/* "subjects" (DNs) and "sans" (subjectAltName values) of "mtls" */

static int
lg_compile_names(lg_compile_t *c, json_t *list, const char *field,
    lg_subject_binding_t **names, size_t *nnames, lg_partner_t *partner)
{
    size_t                 i, k, s, s2;
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
        s2 = lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) < 3) {
            return lg_fail(c, "must be a name such as \"%s\"",
                           field[0] == 's' && field[1] == 'u'
                           ? "CN=edi.acme.example,O=Acme"
                           : "dns:edi.acme.example");
        }

        /* a subjectAltName is matched with its type: say which */

        if (field[0] == 's' && field[1] == 'a'
            && lg_san_type(json_string_value(item), json_string_length(item))
               == 0)
        {
            return lg_fail(c, "must start with the SAN's type: \"dns:\", "
                           "\"uri:\" or \"email:\" (e.g. "
                           "\"uri:spiffe://logistics/3pl\")");
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
