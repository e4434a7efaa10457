
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_JWT_H_INCLUDED_
#define _LG_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_arena.h"
#include "lg_jws.h"


/*
 * JWT access token claims (RFC 7519, RFC 9068, RFC 8705) checked on a
 * verified JWS against one issuer's rules.  The clock is a parameter, in
 * seconds since the epoch, so the checks are pure and testable.
 */


#define LG_JWT_SCOPES_MAX      128

/*
 * jti, sub, the partner claim and each scope end up in headers to Odoo,
 * variables and logs: printable ASCII only (scopes without spaces), at
 * most this long.
 */
#define LG_JWT_FIELD_MAX       256

/* NumericDate values outside 1970 .. 9999 are malformed */
#define LG_JWT_DATE_MAX        253402300799LL


typedef struct {
    lg_jws_opts_t       jws;            /* size cap, algorithm allow-list */
    const char         *iss;            /* exact match, required */
    const char * const *audiences;      /* one must be in "aud" */
    size_t              naudiences;     /* 0: "aud" is not checked */
    int64_t             leeway;         /* seconds, for exp, nbf, iat */
    int64_t             max_lifetime;   /* seconds, 0: no cap */
    const char         *typ;            /* e.g. "at+jwt"; NULL: any */
    const char         *partner_claim;  /* NULL: "client_id" */
    const char         *scope_claim;    /* NULL: "scope", then "scp" */
} lg_jwt_rules_t;


/* strings point into jws.header / jws.payload: valid until lg_jwt_free() */
typedef struct {
    lg_jws_t            jws;
    lg_str_t            iss;
    lg_str_t            sub;            /* len 0 when absent */
    lg_str_t            jti;
    lg_str_t            partner;
    int64_t             exp;
    int64_t             nbf;            /* LG_TIME_UNSET when absent */
    int64_t             iat;
    size_t              nscopes;
    lg_str_t            scopes[LG_JWT_SCOPES_MAX];
    unsigned            cnf_x5t:1;      /* certificate-bound (RFC 8705) */
    unsigned char       x5t_s256[32];
} lg_jwt_t;


/*
 * Signature, header and claims in one call.  On LG_TOKEN_OK the caller
 * owns "jwt" until lg_jwt_free(); on failure nothing is left to free.
 */
lg_token_status_e lg_jwt_verify(const lg_jwt_rules_t *rules,
    const lg_jwk_set_t *keys, const char *token, size_t len, int64_t now,
    lg_jwt_t *jwt);

void lg_jwt_free(lg_jwt_t *jwt);

/*
 * SHA-256 over every rule a token is verified under (iss, audiences,
 * algorithms, size cap, leeway, max_lifetime, typ, partner and scope
 * claims): a cached verdict holds only while this is unchanged.
 */
int lg_jwt_rules_digest(const lg_jwt_rules_t *rules, unsigned char *out);


/*
 * Test-only exports (t/unit/test_jwt.c, fuzz/fuzz_jws.c): the gateway
 * checks scopes as bitsets over the policy's scopes and compares the
 * certificate binding in the glue, where the certificate is.
 */

/* 1 when the token grants "scope" */
int lg_jwt_has_scope(const lg_jwt_t *jwt, const char *scope, size_t len);

/*
 * RFC 8705: 1 when the token is not certificate-bound or when "sha256"
 * (of the client certificate's DER, NULL without a certificate) matches.
 */
int lg_jwt_cnf_match(const lg_jwt_t *jwt, const unsigned char *sha256);


#endif /* _LG_JWT_H_INCLUDED_ */
