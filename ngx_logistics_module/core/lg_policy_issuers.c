
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "issuers": {"corp-idp": {"iss": "https://idp.example.com",
 *     "audiences": ["logistics-api"], "algorithms": ["RS256", "ES256"],
 *     "leeway": "30s", "typ": "at+jwt", "partner_claim": "client_id",
 *     "jwks_file": "keys/corp.jwks"}}
 * in any policy file, and the partners' "jwt" bindings to them.  Keys
 * are parsed here, once, into EVP keys that every request reuses; the
 * arena frees them with the policy.
 */

#include <stdlib.h>
#include <string.h>

#include "lg_policy_int.h"


static int lg_issuer_member(lg_compile_t *c, const char *name, json_t *ij,
    size_t index);
static int lg_compile_issuer(lg_compile_t *c, const char *name, json_t *ij,
    lg_issuer_t *out);
static int lg_issuer_audiences(lg_compile_t *c, json_t *list,
    lg_issuer_t *out);
static int lg_issuer_algorithms(lg_compile_t *c, json_t *list,
    lg_issuer_t *out);
static int lg_issuer_rules(lg_compile_t *c, json_t *ij, lg_issuer_t *out);
static int lg_issuer_keys(lg_compile_t *c, json_t *ij, lg_issuer_t *out);
static int lg_issuer_jwks_file(lg_compile_t *c, const char *rel,
    lg_issuer_t *out);
static int lg_issuer_secret(lg_compile_t *c, const char *rel,
    lg_issuer_t *out);
static int lg_issuer_no_hmac(lg_compile_t *c);
static lg_arena_cleanup_t *lg_issuer_keys_cleanup(lg_compile_t *c);
static void lg_issuer_keys_free(void *data);


static const char *const  lg_issuer_fields[] = {
    "iss", "audiences", "algorithms", "leeway", "max_lifetime", "typ",
    "partner_claim", "scope_claim", "jwks_file", "jwks_uri", "jwks_refresh",
    "jwks_cooldown", "jwks_max_stale", "shared_secret_file",
    "max_token_size", NULL
};

static const char *const  lg_issuer_required[] = {
    "iss", "audiences", "algorithms", NULL
};

static const char *const  lg_binding_fields[] = {
    "issuer", "client_id", NULL
};


int
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


/* each issuer's bindings sorted by claim, for lg_issuer_partner() */

int
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

    return 0;
}


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

    p->issuers[index].index = index;

    if (lg_compile_issuer(c, name, ij, &p->issuers[index]) != 0) {
        return -1;
    }

    p->nissuers++;

    return 0;
}


static int
lg_compile_issuer(lg_compile_t *c, const char *name, json_t *ij,
    lg_issuer_t *out)
{
    size_t        saved;
    lg_policy_t  *p;

    p = c->policy;

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

    saved = lg_json_path_key(&c->path, "audiences");

    if (lg_issuer_audiences(c, json_object_get(ij, "audiences"), out) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    saved = lg_json_path_key(&c->path, "algorithms");

    if (lg_issuer_algorithms(c, json_object_get(ij, "algorithms"), out)
        != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    if (lg_issuer_rules(c, ij, out) != 0) {
        return -1;
    }

    return lg_issuer_keys(c, ij, out);
}


static int
lg_issuer_audiences(lg_compile_t *c, json_t *list, lg_issuer_t *out)
{
    size_t        i, s;
    json_t       *item;
    lg_policy_t  *p;
    const char  **auds;

    p = c->policy;

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

    return 0;
}


/* "algorithms": an allow-list; "none" can never be on it */

static int
lg_issuer_algorithms(lg_compile_t *c, json_t *list, lg_issuer_t *out)
{
    size_t         i, s;
    json_t        *item;
    unsigned       algs;
    lg_jws_alg_e   alg;

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

    out->rules.jws.algs = algs;

    return 0;
}


/* the optional claim rules */

static int
lg_issuer_rules(lg_compile_t *c, json_t *ij, lg_issuer_t *out)
{
    int64_t   leeway, lifetime, max_len;
    lg_str_t  str;

    leeway = 30 * 1000;
    lifetime = 0;

    if (lg_get_duration(c, ij, "leeway", 0, 3600 * 1000,
                        " (e.g. \"30s\", at most 1h)", &leeway)
        != 0
        || lg_get_duration(c, ij, "max_lifetime", 1000, INT64_MAX,
                           " (e.g. \"1h\")", &lifetime)
           != 0)
    {
        return -1;
    }

    out->rules.leeway = leeway / 1000;
    out->rules.max_lifetime = lifetime / 1000;

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

    max_len = LG_JWS_MAX_LEN;

    if (lg_get_integer(c, ij, "max_token_size", 256, 65536, &max_len) != 0) {
        return -1;
    }

    out->rules.jws.max_len = (size_t) max_len;

    return 0;
}


/*
 * Keys: a JWKS file, a JWKS fetched through an internal location
 * (jwks_uri), or a shared secret for HS* -- exactly one.  Public keys
 * never verify HS*, a shared secret verifies nothing else.
 */

static int
lg_issuer_keys(lg_compile_t *c, json_t *ij, lg_issuer_t *out)
{
    size_t    saved;
    unsigned  algs;
    lg_str_t  jwks_file, secret_file;

    algs = out->rules.jws.algs;

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
    out->jwks_max_stale = 86400 * 1000;

    /* past jwks_max_stale, keys the IdP no longer confirms are not used */

    if (lg_get_duration(c, ij, "jwks_refresh", 1000, INT64_MAX,
                        " (at least 1s)", &out->jwks_refresh)
        != 0
        || lg_get_duration(c, ij, "jwks_cooldown", 0, INT64_MAX, "",
                           &out->jwks_cooldown)
           != 0
        || lg_get_duration(c, ij, "jwks_max_stale", 1000, INT64_MAX,
                           " (at least 1s)", &out->jwks_max_stale)
           != 0)
    {
        return -1;
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
            return lg_issuer_no_hmac(c);
        }

        /* keys arrive at run time */
        return 0;
    }

    if (jwks_file.data != NULL) {

        if (algs & LG_JWS_ALGS_HMAC) {
            return lg_issuer_no_hmac(c);
        }

        saved = lg_json_path_key(&c->path, "jwks_file");

        if (lg_issuer_jwks_file(c, jwks_file.data, out) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);
        return 0;
    }

    if (algs & ~LG_JWS_ALGS_HMAC) {
        lg_json_path_key(&c->path, "algorithms");
        return lg_fail(c, "a shared secret only verifies HS256/384/512");
    }

    saved = lg_json_path_key(&c->path, "shared_secret_file");

    if (lg_issuer_secret(c, secret_file.data, out) != 0) {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


static int
lg_issuer_jwks_file(lg_compile_t *c, const char *rel, lg_issuer_t *out)
{
    char                *file;
    json_t              *v;
    lg_error_t           kerr;
    lg_arena_cleanup_t  *cln;

    cln = lg_issuer_keys_cleanup(c);
    if (cln == NULL) {
        return lg_fail(c, "out of memory");
    }

    file = lg_resolve(c, rel);
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

    cln->data = out->keys;

    if (out->keys->nkeys == 0) {
        return lg_fail(c, "the key set has no usable signing key");
    }

    return 0;
}


/* the file holds the secret itself; a trailing newline is not part of it */

static int
lg_issuer_secret(lg_compile_t *c, const char *rel, lg_issuer_t *out)
{
    int                  rc;
    size_t               len;
    lg_error_t           kerr;
    unsigned char       *secret;
    lg_arena_cleanup_t  *cln;

    cln = lg_issuer_keys_cleanup(c);
    if (cln == NULL) {
        return lg_fail(c, "out of memory");
    }

    len = 0;
    secret = NULL;

    if (lg_read_file(c, rel, LG_JWK_OCT_MAX_LEN + 2, &secret, &len) != 0) {
        return -1;
    }

    while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
        len--;
    }

    out->keys = lg_jwk_set_new();
    cln->data = out->keys;

    if (out->keys == NULL) {
        rc = lg_fail(c, "out of memory");

    } else if (lg_jwk_set_add_secret(out->keys, NULL, 0, LG_JWS_ALG_UNSET,
                                     secret, len, &kerr)
               != 0)
    {
        rc = lg_fail(c, "%s", kerr.text);

    } else {
        rc = 0;
    }

    memset(secret, 0, len);
    free(secret);

    return rc;
}


static int
lg_issuer_no_hmac(lg_compile_t *c)
{
    lg_json_path_key(&c->path, "algorithms");

    return lg_fail(c, "HS256/384/512 need \"shared_secret_file\", never "
                   "public keys");
}


/*
 * A key set lives outside the arena: a cleanup registered before the set
 * exists frees it with the policy, even when compiling it failed.
 */

static lg_arena_cleanup_t *
lg_issuer_keys_cleanup(lg_compile_t *c)
{
    lg_arena_cleanup_t  *cln;

    cln = lg_arena_cleanup_add(&c->policy->arena);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = lg_issuer_keys_free;
    cln->data = NULL;

    return cln;
}


static void
lg_issuer_keys_free(void *data)
{
    if (data != NULL) {
        lg_jwk_set_free(data);
    }
}


/*
 * "jwt": {"issuer": "corp-idp", "client_id": "acme"} (or an array of
 * them): tokens of that issuer whose partner claim has that value are
 * this partner's.
 */

int
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
