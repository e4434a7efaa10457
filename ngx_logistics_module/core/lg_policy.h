
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_POLICY_H_INCLUDED_
#define _LG_POLICY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_arena.h"
#include "lg_json.h"
#include "lg_jwt.h"
#include "lg_ratelimit.h"
#include "lg_schema.h"
#include "lg_time.h"


#define LG_METHOD_GET       0x01
#define LG_METHOD_POST      0x02
#define LG_METHOD_PUT       0x04
#define LG_METHOD_PATCH     0x08
#define LG_METHOD_DELETE    0x10
#define LG_METHOD_HEAD      0x20
#define LG_METHOD_OPTIONS   0x40

#define LG_AUTH_API_KEY     0x01
#define LG_AUTH_BEARER      0x02
#define LG_AUTH_MTLS        0x04

#define LG_IDEM_OFF         0
#define LG_IDEM_OPTIONAL    1
#define LG_IDEM_REQUIRED    2

#define LG_BODY_ALLOWED     0          /* a route's request body */
#define LG_BODY_NONE        1          /* refused: 400 */
#define LG_BODY_DROP        2          /* read and not forwarded */

#define LG_FAIL_OPEN        0
#define LG_FAIL_CLOSED      1

/* revocation and suspension checks when Redis cannot answer */
#define LG_REVOCATION_LOCAL   0        /* the copies this node has seen */
#define LG_REVOCATION_CLOSED  1        /* 503 */

#define LG_ROUTE_MAX_PARAMS     16
#define LG_ROUTE_MAX_SEGMENTS   32
#define LG_POLICY_MAX_FILE      (16 * 1024 * 1024)
#define LG_POLICY_MAX_INCLUDES  1024
#define LG_POLICY_MAX_WARNINGS  16


typedef struct lg_policy_s    lg_policy_t;
typedef struct lg_partner_s   lg_partner_t;
typedef struct lg_api_s       lg_api_t;
typedef struct lg_version_s   lg_version_t;
typedef struct lg_route_s     lg_route_t;
typedef struct lg_node_s      lg_node_t;
typedef struct lg_issuer_s    lg_issuer_t;
typedef struct lg_protect_conf_s  lg_protect_conf_t;


typedef struct {
    lg_str_t        id;
    uint8_t         sha256[32];
    int64_t         created;
    int64_t         not_before;
    int64_t         expires;
    lg_partner_t   *partner;
} lg_api_key_t;


struct lg_partner_s {
    lg_str_t        id;
    lg_str_t        name;
    unsigned        suspended:1;
    uint64_t       *scopes;            /* bitset over policy->scopes */
    uint64_t       *routes;            /* bitset over policy->routes;
                                          NULL: every route */
    lg_str_t        odoo_authorization; /* "bearer <Odoo key>"; len 0:
                                           none */
    int64_t         api_key_max_age;   /* msec; LG_TIME_UNSET: none */
    lg_api_key_t   *keys;
    size_t          nkeys;
    lg_rate_t      *rate;              /* per partner; NULL: none */
    lg_str_t        limit_key;         /* state of "rate": lg:{id}:rl */
    lg_str_t        suspended_key;     /* lg:{id}:suspended */
    lg_rate_t     **route_rates;       /* by route->index; NULL: none */
    lg_str_t       *route_limit_keys;  /* by route->index, beside
                                          route_rates */
    size_t          index;             /* in policy->partners */
};


/* which partner a client certificate belongs to */

typedef struct {
    uint8_t         sha256[32];        /* of the certificate (DER) */
    lg_partner_t   *partner;
} lg_cert_binding_t;


typedef struct {
    lg_str_t        subject;           /* RFC 2253, as $ssl_client_s_dn */
    lg_partner_t   *partner;
} lg_subject_binding_t;


/* which partner a token of an issuer belongs to, by its partner claim */

typedef struct {
    lg_str_t        claim;             /* e.g. the client_id value */
    lg_partner_t   *partner;
} lg_binding_t;


/*
 * A trusted token issuer: the claim rules of lg_jwt and the keys, from a
 * JWKS file and/or a shared secret read when the policy loads.
 */

struct lg_issuer_s {
    lg_str_t        name;              /* the policy's id for it */
    lg_str_t        iss;
    lg_jwt_rules_t  rules;
    lg_jwk_set_t   *keys;              /* owned; freed with the policy */
    lg_binding_t   *bindings;          /* sorted by claim */
    size_t          nbindings;
    size_t          index;             /* in policy->issuers */
    lg_str_t        jwks_uri;          /* internal location; len 0: none */
    int64_t         jwks_refresh;      /* msec, when no max-age is sent */
    int64_t         jwks_cooldown;     /* msec between unknown-kid fetches,
                                          and after a failed refresh */
    int64_t         jwks_max_stale;    /* msec a fetched key set is used
                                          without a successful refresh */
};


struct lg_version_s {
    lg_str_t        name;              /* "v2" */
    lg_api_t       *api;
    size_t          index;             /* in api->versions */
    lg_str_t        upstream_prefix;   /* "/api/v2", "" allowed */
    lg_str_t        upstream_host;     /* Host towards Odoo; len 0: the
                                          upstream's own name */
    int64_t         deprecated;        /* LG_TIME_UNSET: not deprecated */
    int64_t         sunset;            /* LG_TIME_UNSET: no sunset */
    lg_version_t   *successor;
};


struct lg_api_s {
    lg_str_t        name;
    lg_version_t   *versions;
    size_t          nversions;
    lg_str_t       *forward_headers;   /* lowercase names Odoo also gets */
    size_t          nforward_headers;
};


typedef struct {
    lg_str_t        text;              /* literal text or parameter name */
    unsigned        param:1;
} lg_segment_t;


struct lg_route_s {
    lg_str_t        id;
    size_t          index;             /* in policy->routes */
    lg_api_t       *api;
    unsigned        method;
    lg_str_t        path;              /* the template, "/shipments/{id}" */
    lg_segment_t   *segments;
    size_t          nsegments;
    size_t          nparams;
    uint64_t       *scopes;
    lg_str_t       *scope_list;        /* names, for insufficient_scope */
    size_t          nscope_list;
    unsigned        auth;
    uint64_t        versions;          /* bit i: api->versions[i] */
    lg_str_t       *schemas;           /* per api version; len 0: none */
    lg_schema_t   **compiled;          /* per api version; NULL: none */
    int64_t         max_body_size;     /* bytes */
    unsigned        idempotency;       /* LG_IDEM_* */
    unsigned        body;              /* LG_BODY_*; GET and DELETE:
                                          none unless the policy says */
};


typedef struct {
    lg_str_t        name;              /* "v2" */
    lg_node_t      *root;
} lg_router_version_t;


struct lg_policy_s {
    lg_arena_t            arena;
    lg_str_t              file;

    lg_str_t             *scopes;
    size_t                nscopes;
    size_t                scope_words;

    lg_partner_t         *partners;
    size_t                npartners;

    lg_api_t             *apis;
    size_t                napis;

    lg_route_t          **routes;
    size_t                nroutes;
    size_t                route_words;

    lg_api_key_t        **keytab;      /* open addressing by sha256 */
    size_t                keytab_mask;
    size_t                nkeys;

    lg_router_version_t  *router;
    size_t                nrouter;

    lg_issuer_t          *issuers;
    size_t                nissuers;

    lg_cert_binding_t    *certs;       /* sorted by sha256 */
    size_t                ncerts;
    lg_subject_binding_t *subjects;
    size_t                nsubjects;
    lg_subject_binding_t *sans;        /* "dns:", "uri:", "email:" and
                                          the subjectAltName */
    size_t                nsans;
    size_t               *scope_order;  /* scope indexes sorted by name */

    size_t                nfiles;      /* files read, for messages */
    char                  digest[65];  /* SHA-256 (hex) of the policy
                                          documents, canonical JSON */
    int                   fail_mode;   /* LG_FAIL_*: state store down,
                                          for rate limits */
    int                   revocation_fail_mode;  /* LG_REVOCATION_* */
    int                   format_assertion;
    int                   strict_schemas;
    size_t                max_errors;  /* validation errors reported */
    int64_t               max_body_size;
    int64_t               idem_ttl;    /* msec a response is replayed */
    int64_t               idem_lock;   /* msec a claim holds */
    lg_str_t              idem_ttl_px;   /* both in decimal, as Redis' */
    lg_str_t              idem_lock_px;  /* PX arguments take them */
    int64_t               idem_max_response;  /* bytes stored */
    int64_t               idem_store_size;    /* bytes of shared memory
                                                 for records, no Redis */
    int                   strict_secret_files;  /* a secret file others
                                                   can read is an error */
    lg_str_t              warnings[LG_POLICY_MAX_WARNINGS];
    size_t                nwarnings;   /* "file: json.path: reason", for
                                          nginx -t and the CLI to show */
    lg_protect_conf_t    *protect;     /* lg_policy_protect.h; NULL: no
                                          API protects its Odoo */
    unsigned              has_limits:1;
};


/*
 * Compiles a policy file (and the files it includes) into one read-only
 * structure.  On failure returns NULL and err holds
 * "file: json.path: reason"; what is allowed but unwise (a secret file
 * readable by others) is in policy->warnings.
 */
lg_policy_t *lg_policy_load(const char *file, lg_error_t *err);
void lg_policy_free(lg_policy_t *policy);

/* "GET", "POST", ... for LG_METHOD_*; "?" for anything else */
const char *lg_method_name(unsigned method);

/* whether the partner's "routes" (if any) list the route */
int lg_policy_route_allowed(const lg_partner_t *partner,
    const lg_route_t *route);

/* the index of a declared scope, or -1 */
long lg_policy_scope_index(const lg_policy_t *policy, const char *name,
    size_t len);

/*
 * The issuer a token claims to come from (read from its unverified
 * payload, only to choose rules and keys), or NULL.
 */
const lg_issuer_t *lg_policy_token_issuer(const lg_policy_t *policy,
    const char *token, size_t len);

const lg_partner_t *lg_issuer_partner(const lg_issuer_t *issuer,
    const char *claim, size_t len);

/* the partner of a client certificate, by fingerprint, then by subject */
const lg_partner_t *lg_policy_cert_partner(const lg_policy_t *policy,
    const uint8_t *sha256, const char *subject, size_t subject_len);

#define LG_SAN_DNS    1
#define LG_SAN_URI    2
#define LG_SAN_EMAIL  3

/*
 * The partner that lists this subjectAltName with its type ("dns:",
 * "uri:", "email:" in the policy): a URI SAN never matches a policy's DNS
 * name, even with the same text.  DNS names compare without case.
 */
const lg_partner_t *lg_policy_san_partner(const lg_policy_t *policy,
    int type, const char *san, size_t len);


#endif /* _LG_POLICY_H_INCLUDED_ */
