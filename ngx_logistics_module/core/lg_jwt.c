
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lg_b64.h"
#include "lg_jwt.h"
#include "lg_time.h"


static int lg_jwt_date(json_t *claims, const char *name, int64_t *t);
static int lg_jwt_string(json_t *claims, const char *name, lg_str_t *s);
static lg_token_status_e lg_jwt_check_typ(const lg_jwt_rules_t *rules,
    json_t *header);
static lg_token_status_e lg_jwt_check_aud(const lg_jwt_rules_t *rules,
    json_t *claims);
static lg_token_status_e lg_jwt_scopes(const lg_jwt_rules_t *rules,
    json_t *claims, lg_jwt_t *jwt);
static lg_token_status_e lg_jwt_split_scopes(const char *s, size_t len,
    lg_jwt_t *jwt);
static lg_token_status_e lg_jwt_cnf(json_t *claims, lg_jwt_t *jwt);
static lg_token_status_e lg_jwt_check_claims(const lg_jwt_rules_t *rules,
    int64_t now, lg_jwt_t *jwt);
static int lg_jwt_field_ok(const lg_str_t *s, int space);
static int lg_jwt_digest_str(EVP_MD_CTX *md, const char *s);


lg_token_status_e
lg_jwt_verify(const lg_jwt_rules_t *rules, const lg_jwk_set_t *keys,
    const char *token, size_t len, int64_t now, lg_jwt_t *jwt)
{
    lg_jws_opts_t      opts;
    lg_token_status_e  rc;

    memset(jwt, 0, sizeof(lg_jwt_t));

    /* claims need a JSON payload whatever the caller's flags say */
    opts = rules->jws;
    opts.flags &= ~LG_JWS_RAW_PAYLOAD;

    rc = lg_jws_verify(&opts, keys, token, len, &jwt->jws);
    if (rc != LG_TOKEN_OK) {
        return rc;
    }

    rc = lg_jwt_check_claims(rules, now, jwt);
    if (rc != LG_TOKEN_OK) {
        lg_jwt_free(jwt);
    }

    return rc;
}


/* 1 with the date, 0 when absent, -1 when malformed */

static int
lg_jwt_date(json_t *claims, const char *name, int64_t *t)
{
    double   d;
    json_t  *v;

    v = json_object_get(claims, name);

    if (v == NULL) {
        *t = LG_TIME_UNSET;
        return 0;
    }

    if (json_is_integer(v)) {
        *t = (int64_t) json_integer_value(v);

    } else if (json_is_real(v)) {
        /* RFC 7519 2: NumericDate may have a fraction; NaN fails here */
        d = json_real_value(v);

        if (!(d >= 0 && d <= (double) LG_JWT_DATE_MAX)) {
            return -1;
        }

        *t = (int64_t) d;

    } else {
        return -1;
    }

    /* also keeps every sum and difference below far from overflow */
    if (*t < 0 || *t > LG_JWT_DATE_MAX) {
        return -1;
    }

    return 1;
}


static int
lg_jwt_string(json_t *claims, const char *name, lg_str_t *s)
{
    json_t  *v;

    v = json_object_get(claims, name);

    if (v == NULL) {
        s->data = NULL;
        s->len = 0;
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    s->data = json_string_value(v);
    s->len = json_string_length(v);

    return 1;
}


/*
 * RFC 9068 2.1 and RFC 7515 4.1.9: "at+jwt" or "application/at+jwt",
 * compared as media types are, without regard to case.
 */

static lg_token_status_e
lg_jwt_check_typ(const lg_jwt_rules_t *rules, json_t *header)
{
    size_t       len;
    json_t      *v;
    const char  *s;

    if (rules->typ == NULL) {
        return LG_TOKEN_OK;
    }

    v = json_object_get(header, "typ");

    if (!json_is_string(v)) {
        return LG_TOKEN_TYP;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > 12 && strncasecmp(s, "application/", 12) == 0) {
        s += 12;
        len -= 12;
    }

    if (len != strlen(rules->typ) || strncasecmp(s, rules->typ, len) != 0) {
        return LG_TOKEN_TYP;
    }

    return LG_TOKEN_OK;
}


static lg_token_status_e
lg_jwt_check_aud(const lg_jwt_rules_t *rules, json_t *claims)
{
    size_t       i, j, n, len;
    json_t      *aud, *v;
    const char  *s;

    if (rules->naudiences == 0) {
        return LG_TOKEN_OK;
    }

    aud = json_object_get(claims, "aud");

    if (aud == NULL) {
        return LG_TOKEN_AUDIENCE;
    }

    if (!json_is_string(aud) && !json_is_array(aud)) {
        return LG_TOKEN_BAD_CLAIM;
    }

    n = json_is_array(aud) ? json_array_size(aud) : 1;

    for (i = 0; i < n; i++) {
        v = json_is_array(aud) ? json_array_get(aud, i) : aud;

        if (!json_is_string(v)) {
            return LG_TOKEN_BAD_CLAIM;
        }

        s = json_string_value(v);
        len = json_string_length(v);

        for (j = 0; j < rules->naudiences; j++) {
            if (strlen(rules->audiences[j]) == len
                && memcmp(rules->audiences[j], s, len) == 0)
            {
                return LG_TOKEN_OK;
            }
        }
    }

    return LG_TOKEN_AUDIENCE;
}


static lg_token_status_e
lg_jwt_split_scopes(const char *s, size_t len, lg_jwt_t *jwt)
{
    size_t  i, start;

    start = 0;

    /* RFC 6749 3.3: scope tokens separated by spaces */
    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != ' ') {
            continue;
        }

        if (i > start) {
            if (jwt->nscopes == LG_JWT_SCOPES_MAX) {
                return LG_TOKEN_BAD_CLAIM;
            }

            jwt->scopes[jwt->nscopes].data = s + start;
            jwt->scopes[jwt->nscopes].len = i - start;

            if (!lg_jwt_field_ok(&jwt->scopes[jwt->nscopes], 0)) {
                return LG_TOKEN_BAD_CLAIM;
            }

            jwt->nscopes++;
        }

        start = i + 1;
    }

    return LG_TOKEN_OK;
}


/* "scope" as a string (RFC 9068), "scp" as a string or array (Okta, Entra) */

static lg_token_status_e
lg_jwt_scopes(const lg_jwt_rules_t *rules, json_t *claims, lg_jwt_t *jwt)
{
    size_t             i;
    json_t            *v, *s;
    lg_token_status_e  rc;

    if (rules->scope_claim != NULL) {
        v = json_object_get(claims, rules->scope_claim);

    } else {
        v = json_object_get(claims, "scope");

        if (v == NULL) {
            v = json_object_get(claims, "scp");
        }
    }

    if (v == NULL) {
        return LG_TOKEN_OK;
    }

    if (json_is_string(v)) {
        return lg_jwt_split_scopes(json_string_value(v),
                                   json_string_length(v), jwt);
    }

    if (!json_is_array(v)) {
        return LG_TOKEN_BAD_CLAIM;
    }

    json_array_foreach(v, i, s) {
        if (!json_is_string(s)) {
            return LG_TOKEN_BAD_CLAIM;
        }

        rc = lg_jwt_split_scopes(json_string_value(s), json_string_length(s),
                                 jwt);
        if (rc != LG_TOKEN_OK) {
            return rc;
        }
    }

    return LG_TOKEN_OK;
}


/*
 * RFC 8705 3.1: the SHA-256 of the client certificate.  Other
 * confirmation methods (DPoP "jkt", "jwk") cannot be checked here, and a
 * bound token used without its proof must not pass as a bearer token.
 */

static lg_token_status_e
lg_jwt_cnf(json_t *claims, lg_jwt_t *jwt)
{
    size_t   len;
    json_t  *cnf, *v;

    cnf = json_object_get(claims, "cnf");

    if (cnf == NULL) {
        return LG_TOKEN_OK;
    }

    if (!json_is_object(cnf)) {
        return LG_TOKEN_BAD_CLAIM;
    }

    v = json_object_get(cnf, "x5t#S256");

    if (!json_is_string(v) || json_string_length(v) != 43) {
        return LG_TOKEN_BAD_CLAIM;
    }

    if (lg_b64url_decode(json_string_value(v), 43, jwt->x5t_s256, &len) != 0
        || len != 32)
    {
        return LG_TOKEN_BAD_CLAIM;
    }

    jwt->cnf_x5t = 1;

    return LG_TOKEN_OK;
}


/* the claims part alone, on jwt->jws already verified */

static lg_token_status_e
lg_jwt_check_claims(const lg_jwt_rules_t *rules, int64_t now, lg_jwt_t *jwt)
{
    int                rc_exp, rc_nbf, rc_iat;
    json_t            *claims;
    int64_t            start;
    const char        *name;
    lg_token_status_e  rc;

    claims = jwt->jws.payload;

    if (!json_is_object(claims)) {
        return LG_TOKEN_BAD_PAYLOAD;
    }

    rc = lg_jwt_check_typ(rules, jwt->jws.header);
    if (rc != LG_TOKEN_OK) {
        return rc;
    }

    switch (lg_jwt_string(claims, "iss", &jwt->iss)) {

    case 1:
        if (rules->iss != NULL
            && jwt->iss.len == strlen(rules->iss)
            && memcmp(jwt->iss.data, rules->iss, jwt->iss.len) == 0)
        {
            break;
        }

        return LG_TOKEN_ISSUER;

    case 0:
        return LG_TOKEN_ISSUER;

    default:
        return LG_TOKEN_BAD_CLAIM;
    }

    rc = lg_jwt_check_aud(rules, claims);
    if (rc != LG_TOKEN_OK) {
        return rc;
    }

    rc_exp = lg_jwt_date(claims, "exp", &jwt->exp);
    rc_nbf = lg_jwt_date(claims, "nbf", &jwt->nbf);
    rc_iat = lg_jwt_date(claims, "iat", &jwt->iat);

    if (rc_exp < 0 || rc_nbf < 0 || rc_iat < 0) {
        return LG_TOKEN_BAD_CLAIM;
    }

    if (rc_exp == 0) {
        return LG_TOKEN_EXP_MISSING;
    }

    /* RFC 7519 4.1.4: valid strictly before exp */
    if (now - rules->leeway >= jwt->exp) {
        return LG_TOKEN_EXPIRED;
    }

    if (rc_nbf && now + rules->leeway < jwt->nbf) {
        return LG_TOKEN_NOT_YET_VALID;
    }

    if (rc_iat && now + rules->leeway < jwt->iat) {
        return LG_TOKEN_ISSUED_IN_FUTURE;
    }

    if (rules->max_lifetime > 0) {
        /* from issue time, or what is left when the token does not say */
        start = rc_iat ? jwt->iat : (rc_nbf ? jwt->nbf : now);

        if (jwt->exp - start > rules->max_lifetime + rules->leeway) {
            return LG_TOKEN_LIFETIME;
        }
    }

    if (lg_jwt_string(claims, "sub", &jwt->sub) < 0
        || lg_jwt_string(claims, "jti", &jwt->jti) < 0)
    {
        return LG_TOKEN_BAD_CLAIM;
    }

    name = rules->partner_claim ? rules->partner_claim : "client_id";

    if (lg_jwt_string(claims, name, &jwt->partner) != 1
        || jwt->partner.len == 0)
    {
        return LG_TOKEN_PARTNER_MISSING;
    }

    /* checked before anything uses them: header values, logs, variables */

    if (!lg_jwt_field_ok(&jwt->sub, 1) || !lg_jwt_field_ok(&jwt->jti, 1)
        || !lg_jwt_field_ok(&jwt->partner, 1))
    {
        return LG_TOKEN_BAD_CLAIM;
    }

    rc = lg_jwt_scopes(rules, claims, jwt);
    if (rc != LG_TOKEN_OK) {
        return rc;
    }

    return lg_jwt_cnf(claims, jwt);
}


static int
lg_jwt_digest_str(EVP_MD_CTX *md, const char *s)
{
    uint64_t  len;

    /* length-prefixed, with NULL apart from "": no two lists collide */
    len = (s == NULL) ? UINT64_MAX : (uint64_t) strlen(s);

    if (EVP_DigestUpdate(md, &len, sizeof(len)) != 1) {
        return -1;
    }

    return (s == NULL || EVP_DigestUpdate(md, s, (size_t) len) == 1) ? 0 : -1;
}


int
lg_jwt_rules_digest(const lg_jwt_rules_t *rules, unsigned char *out)
{
    int           rc;
    size_t        i;
    int64_t       nums[6];
    unsigned int  len;
    EVP_MD_CTX   *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return -1;
    }

    nums[0] = (int64_t) rules->jws.max_len;
    nums[1] = (int64_t) rules->jws.algs;
    nums[2] = (int64_t) rules->jws.flags;
    nums[3] = rules->leeway;
    nums[4] = rules->max_lifetime;
    nums[5] = (int64_t) rules->naudiences;

    rc = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
         && EVP_DigestUpdate(md, nums, sizeof(nums)) == 1
         && lg_jwt_digest_str(md, rules->iss) == 0
         && lg_jwt_digest_str(md, rules->typ) == 0
         && lg_jwt_digest_str(md, rules->partner_claim) == 0
         && lg_jwt_digest_str(md, rules->scope_claim) == 0;

    for (i = 0; rc && i < rules->naudiences; i++) {
        rc = lg_jwt_digest_str(md, rules->audiences[i]) == 0;
    }

    rc = rc && EVP_DigestFinal_ex(md, out, &len) == 1;

    EVP_MD_CTX_free(md);

    return rc ? 0 : -1;
}


/* printable ASCII (with the space, when "space"), at most 256 bytes */

static int
lg_jwt_field_ok(const lg_str_t *s, int space)
{
    size_t               i;
    const unsigned char *p;

    if (s->len > LG_JWT_FIELD_MAX) {
        return 0;
    }

    p = (const unsigned char *) s->data;

    for (i = 0; i < s->len; i++) {
        if (p[i] > 0x7e || p[i] < (space ? 0x20 : 0x21)) {
            return 0;
        }
    }

    return 1;
}


void
lg_jwt_free(lg_jwt_t *jwt)
{
    lg_jws_free(&jwt->jws);

    jwt->nscopes = 0;
    jwt->partner.len = 0;
    jwt->sub.len = 0;
    jwt->jti.len = 0;
    jwt->iss.len = 0;
}


int
lg_jwt_has_scope(const lg_jwt_t *jwt, const char *scope, size_t len)
{
    size_t  i;

    for (i = 0; i < jwt->nscopes; i++) {
        if (jwt->scopes[i].len == len
            && memcmp(jwt->scopes[i].data, scope, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
lg_jwt_cnf_match(const lg_jwt_t *jwt, const unsigned char *sha256)
{
    if (!jwt->cnf_x5t) {
        return 1;
    }

    if (sha256 == NULL) {
        return 0;
    }

    return CRYPTO_memcmp(jwt->x5t_s256, sha256, 32) == 0;
}
