
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * What a request looks up in a compiled policy: method names, whether a
 * partner may call a route, scope numbers by name, the issuer of a token,
 * the partner of a token claim, of a client certificate or of a
 * subjectAltName.  Read-only: workers share the policy.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lg_policy_int.h"
#include "lg_b64.h"


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
lg_policy_route_allowed(const lg_partner_t *partner, const lg_route_t *route)
{
    if (partner->routes == NULL) {
        return 1;
    }

    return (partner->routes[route->index / 64]
            & ((uint64_t) 1 << (route->index % 64))) != 0;
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
    size_t              i, n, start, end;
    json_t             *payload, *iss;
    unsigned char      *raw;
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


const lg_partner_t *
lg_issuer_partner(const lg_issuer_t *issuer, const char *claim, size_t len)
{
    lg_binding_t         key;
    const lg_binding_t  *b;

    key.claim.data = claim;
    key.claim.len = len;

    b = bsearch(&key, issuer->bindings, issuer->nbindings,
                sizeof(lg_binding_t), lg_binding_cmp);

    return b ? b->partner : NULL;
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


/* LG_SAN_* of "dns:...", "uri:...", "email:..." with a value; 0: none */

int
lg_san_type(const char *s, size_t len)
{
    if (len > 4 && strncmp(s, "dns:", 4) == 0) {
        return LG_SAN_DNS;
    }

    if (len > 4 && strncmp(s, "uri:", 4) == 0) {
        return LG_SAN_URI;
    }

    if (len > 6 && strncmp(s, "email:", 6) == 0) {
        return LG_SAN_EMAIL;
    }

    return 0;
}


const lg_partner_t *
lg_policy_san_partner(const lg_policy_t *policy, int type, const char *san,
    size_t len)
{
    size_t       i, skip;
    const char  *v;

    for (i = 0; i < policy->nsans; i++) {
        v = policy->sans[i].subject.data;

        if (lg_san_type(v, policy->sans[i].subject.len) != type) {
            continue;
        }

        skip = (type == LG_SAN_EMAIL) ? 6 : 4;

        if (policy->sans[i].subject.len - skip != len) {
            continue;
        }

        if (type == LG_SAN_DNS ? strncasecmp(v + skip, san, len) == 0
                               : memcmp(v + skip, san, len) == 0)
        {
            return policy->sans[i].partner;
        }
    }

    return NULL;
}


/* certificate bindings by fingerprint (sorted by lg_finish_partners()) */

int
lg_cert_cmp(const void *a, const void *b)
{
    const lg_cert_binding_t  *x = a, *y = b;

    return memcmp(x->sha256, y->sha256, 32);
}


/* token bindings by claim value (sorted by lg_finish_issuers()) */

int
lg_binding_cmp(const void *a, const void *b)
{
    int                  rc;
    const lg_binding_t  *x = a, *y = b;

    rc = memcmp(x->claim.data, y->claim.data,
                x->claim.len < y->claim.len ? x->claim.len : y->claim.len);

    if (rc != 0) {
        return rc;
    }

    return (x->claim.len > y->claim.len) - (x->claim.len < y->claim.len);
}
