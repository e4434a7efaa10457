
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ngx_http_logistics_module.h"
#include "lg_apikey.h"


/*
 * Step 2 (who is calling) and the scope part of step 3: API keys and
 * OAuth 2 bearer tokens (RFC 6750, RFC 9068), with certificate-bound
 * tokens (RFC 8705) when the client presented a certificate.
 */

static ngx_int_t ngx_http_logistics_apikey(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_str_t *key);
static ngx_int_t ngx_http_logistics_bearer(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_str_t *token);
static ngx_int_t ngx_http_logistics_token_rejected(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const char *reason, const char *why);
static ngx_int_t ngx_http_logistics_cert_sha256(ngx_http_request_t *r,
    u_char *digest);
static ngx_int_t ngx_http_logistics_mtls(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
#if (NGX_HTTP_SSL)
static const lg_partner_t *ngx_http_logistics_san_partner(
    ngx_http_request_t *r, const lg_policy_t *policy);
#endif
static ngx_int_t ngx_http_logistics_copy(ngx_http_request_t *r,
    ngx_str_t *dst, const lg_str_t *src);


/* "Scheme credentials": the credentials, or len 0 */

static void
ngx_http_logistics_scheme(ngx_table_elt_t *h, const char *scheme,
    size_t len, ngx_str_t *out)
{
    u_char  *p, *last;

    out->len = 0;

    if (h == NULL) {
        return;
    }

    p = h->value.data;
    last = p + h->value.len;

    if ((size_t) (last - p) <= len
        || ngx_strncasecmp(p, (u_char *) scheme, len) != 0)
    {
        return;
    }

    for (p += len; p < last && *p == ' '; p++) { /* void */ }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    out->data = p;
    out->len = last - p;
}


ngx_int_t
ngx_http_logistics_authenticate(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy)
{
    unsigned    auth;
    ngx_str_t   key, token, header;

    auth = ctx->route->auth;

    ngx_http_logistics_scheme(r->headers_in.authorization, "Bearer ", 7,
                              &token);

    if (token.len) {
        if (!(auth & LG_AUTH_BEARER)) {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                           "bearer-not-accepted");
        }

        if (ctx->in.api_key != NULL) {
            /* two credentials: which one would we be authorising? */
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                           "malformed-credentials");
        }

        return ngx_http_logistics_bearer(r, ctx, policy, &token);
    }

    ngx_http_logistics_scheme(r->headers_in.authorization, "ApiKey ", 7,
                              &header);

    if (ctx->in.api_key != NULL) {

        if (ctx->in.api_key_conflict) {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                           "malformed-credentials");
        }

        key = ctx->in.api_key->value;

        if (header.len
            && (header.len != key.len
                || ngx_strncmp(header.data, key.data, key.len) != 0))
        {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                           "malformed-credentials");
        }

    } else if (header.len) {
        key = header;

    } else if (auth & LG_AUTH_MTLS) {
        return ngx_http_logistics_mtls(r, ctx, policy);

    } else {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "missing-credentials");
    }

    if (!(auth & LG_AUTH_API_KEY)) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "api-key-not-accepted");
    }

    return ngx_http_logistics_apikey(r, ctx, policy, &key);
}


static ngx_int_t
ngx_http_logistics_apikey(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_str_t *key)
{
    lg_apikey_status_e   status;
    const lg_api_key_t  *found;

    if (!lg_apikey_well_formed((const char *) key->data, key->len)) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "malformed-credentials");
    }

    status = lg_apikey_lookup(policy, (const char *) key->data, key->len,
                              (int64_t) ngx_time(), &found);

    if (found != NULL) {
        ctx->key = found;
        ctx->partner = found->partner;
        ctx->scopes = found->partner->scopes;
    }

    switch (status) {

    case LG_APIKEY_OK:
        return NGX_OK;

    case LG_APIKEY_UNKNOWN:
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "unknown-key");

    case LG_APIKEY_NOT_YET_VALID:
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "key-not-yet-valid");

    case LG_APIKEY_EXPIRED:
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "expired-key");

    default: /* LG_APIKEY_SUSPENDED */
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "suspended-partner");
    }
}


/*
 * What a verified token says, whether it was just verified or found in the
 * verified-token cache.  Strings live in the request pool.
 */

typedef struct {
    const lg_issuer_t   *issuer;
    int64_t              exp;
    int                  alg;
    ngx_str_t            kid;
    ngx_str_t            partner;
    ngx_str_t            scopes;       /* space-separated */
    ngx_str_t            jti;
    ngx_str_t            sub;
    unsigned             cnf:1;
    u_char               x5t[32];
} ngx_http_logistics_claims_t;


/* the cache record: this header, then the strings back to back */

typedef struct {
    int64_t              exp;
    int32_t              alg;
    int32_t              cnf;
    u_char               x5t[32];
    uint16_t             len[6];       /* issuer kid partner scopes jti sub */
} ngx_http_logistics_record_t;


static ngx_int_t ngx_http_logistics_accept(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_http_logistics_claims_t *cl);
static ngx_int_t ngx_http_logistics_claims(ngx_http_request_t *r,
    const lg_issuer_t *issuer, lg_jwt_t *jwt,
    ngx_http_logistics_claims_t *cl);
static ngx_int_t ngx_http_logistics_cache_key(ngx_http_request_t *r,
    ngx_str_t *token, ngx_str_t *key);
static void ngx_http_logistics_cache_put(ngx_http_request_t *r,
    ngx_str_t *key, ngx_http_logistics_claims_t *cl);
static ngx_int_t ngx_http_logistics_cache_get(ngx_http_request_t *r,
    const lg_policy_t *policy, ngx_str_t *key,
    ngx_http_logistics_claims_t *cl);


/*
 * A bearer token: the issuer's rules and keys decide (signature pinned to
 * the key type and the issuer's algorithm list, iss, aud, exp, nbf, iat,
 * typ); the partner claim names the partner; the partner's own scopes cap
 * what the token can grant.  A token verified once is remembered in the
 * shared zone until it expires, so repeat calls skip the signature.
 */

static ngx_int_t
ngx_http_logistics_bearer(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_str_t *token)
{
    lg_jwt_t                         jwt;
    ngx_int_t                        rc;
    ngx_str_t                        key;
    lg_token_status_e                status;
    const lg_issuer_t               *issuer;
    const lg_jwk_set_t              *keys;
    ngx_http_logistics_claims_t      cl;
    ngx_http_logistics_loc_conf_t   *lcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    ctx->bearer = 1;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    ngx_str_null(&key);

    if (lcf->token_cache && lmcf->zone != NULL) {
        if (ngx_http_logistics_cache_key(r, token, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_logistics_cache_get(r, policy, &key, &cl);

        if (rc == NGX_OK) {
            ctx->token_cached = 1;
            return ngx_http_logistics_accept(r, ctx, policy, &cl);
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    issuer = lg_policy_token_issuer(policy, (const char *) token->data,
                                    token->len);

    if (issuer == NULL) {
        return ngx_http_logistics_token_rejected(r, ctx, "unknown-issuer",
                                                 "unknown issuer");
    }

    keys = issuer->keys;

    if (issuer->jwks_uri.len) {
        rc = ngx_http_logistics_jwks_keys(r, ctx, issuer, 0, &keys);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return rc;
        }

        if (rc == NGX_DECLINED) {
            /* the first key set of this issuer is on its way */
            ctx->retry_after = 1;
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAVAILABLE,
                                           "keys-unavailable");
        }
    }

    status = lg_jwt_verify(&issuer->rules, keys, (const char *) token->data,
                           token->len, (int64_t) ngx_time(), &jwt);

    if (status == LG_TOKEN_KEY_UNKNOWN && issuer->jwks_uri.len
        && !ctx->jwks_refetched)
    {
        /* perhaps the IdP rotated: refetch, within the cooldown */

        ctx->jwks_refetched = 1;

        rc = ngx_http_logistics_jwks_keys(r, ctx, issuer, 1, &keys);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return rc;
        }
    }

    if (status != LG_TOKEN_OK) {
        return ngx_http_logistics_token_rejected(r, ctx, "invalid-token",
                                         lg_token_status_text(status));
    }

    rc = ngx_http_logistics_claims(r, issuer, &jwt, &cl);

    lg_jwt_free(&jwt);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (key.len) {
        ngx_http_logistics_cache_put(r, &key, &cl);
    }

    return ngx_http_logistics_accept(r, ctx, policy, &cl);
}


static ngx_int_t
ngx_http_logistics_claims(ngx_http_request_t *r, const lg_issuer_t *issuer,
    lg_jwt_t *jwt, ngx_http_logistics_claims_t *cl)
{
    u_char    *p;
    size_t     i, len;
    lg_str_t   kid;

    ngx_memzero(cl, sizeof(ngx_http_logistics_claims_t));

    cl->issuer = issuer;
    cl->exp = jwt->exp;
    cl->alg = jwt->jws.alg;
    cl->cnf = jwt->cnf_x5t;
    ngx_memcpy(cl->x5t, jwt->x5t_s256, 32);

    kid.data = jwt->jws.key && jwt->jws.key->kid ? jwt->jws.key->kid : "";
    kid.len = jwt->jws.key && jwt->jws.key->kid ? jwt->jws.key->kid_len : 0;

    if (ngx_http_logistics_copy(r, &cl->kid, &kid) != NGX_OK
        || ngx_http_logistics_copy(r, &cl->partner, &jwt->partner) != NGX_OK
        || ngx_http_logistics_copy(r, &cl->jti, &jwt->jti) != NGX_OK
        || ngx_http_logistics_copy(r, &cl->sub, &jwt->sub) != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = 0;

    for (i = 0; i < jwt->nscopes; i++) {
        len += jwt->scopes[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cl->scopes.data = p;

    for (i = 0; i < jwt->nscopes; i++) {
        if (i > 0) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, jwt->scopes[i].data, jwt->scopes[i].len);
    }

    cl->scopes.len = p - cl->scopes.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_accept(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_http_logistics_claims_t *cl)
{
    long                 idx;
    u_char               digest[32], *p, *last, *sp;
    size_t               i, words;
    uint64_t            *scopes;
    ngx_int_t            cert;
    const lg_partner_t  *partner;

    /* RFC 8705: a certificate-bound token needs that very certificate */

    if (cl->cnf) {
        cert = ngx_http_logistics_cert_sha256(r, digest);

        if (cert == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (cert != NGX_OK || CRYPTO_memcmp(digest, cl->x5t, 32) != 0) {
            return ngx_http_logistics_token_rejected(r, ctx,
                                         "certificate-mismatch",
                                         "certificate binding does not "
                                         "match");
        }
    }

    ctx->token_jti = cl->jti;
    ctx->token_sub = cl->sub;

    partner = lg_issuer_partner(cl->issuer, (const char *) cl->partner.data,
                                cl->partner.len);

    if (partner == NULL) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNKNOWN_PARTNER,
                                       "unknown-partner");
    }

    ctx->partner = partner;

    /* effective scopes: granted by the token and allowed to the partner */

    words = policy->scope_words;

    scopes = ngx_pcalloc(r->pool, words * sizeof(uint64_t));
    if (scopes == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = cl->scopes.data;
    last = p + cl->scopes.len;

    while (p < last) {
        sp = ngx_strlchr(p, last, ' ');

        if (sp == NULL) {
            sp = last;
        }

        idx = lg_policy_scope_index(policy, (const char *) p, sp - p);

        if (idx >= 0) {
            scopes[idx / 64] |= (uint64_t) 1 << (idx % 64);
        }

        p = sp + 1;
    }

    for (i = 0; i < words; i++) {
        scopes[i] &= partner->scopes[i];
    }

    ctx->scopes = scopes;

    if (partner->suspended) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "suspended-partner");
    }

    return NGX_OK;
}


/* "t:" and the SHA-256 of the token: the token itself is never stored */

static ngx_int_t
ngx_http_logistics_cache_key(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *key)
{
    key->data = ngx_pnalloc(r->pool, 2 + 64 + 1);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->data[0] = 't';
    key->data[1] = ':';
    lg_sha256_hex((const char *) token->data, token->len,
                  (char *) key->data + 2);
    key->len = 2 + 64;

    return NGX_OK;
}


static void
ngx_http_logistics_cache_put(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_logistics_claims_t *cl)
{
    u_char                          *buf, *p;
    size_t                           i, len;
    ngx_str_t                       *s[6], name;
    ngx_http_logistics_record_t      rec;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    name.data = (u_char *) cl->issuer->name.data;
    name.len = cl->issuer->name.len;

    s[0] = &name;
    s[1] = &cl->kid;
    s[2] = &cl->partner;
    s[3] = &cl->scopes;
    s[4] = &cl->jti;
    s[5] = &cl->sub;

    ngx_memzero(&rec, sizeof(ngx_http_logistics_record_t));
    rec.exp = cl->exp;
    rec.alg = cl->alg;
    rec.cnf = cl->cnf;
    ngx_memcpy(rec.x5t, cl->x5t, 32);

    len = sizeof(ngx_http_logistics_record_t);

    for (i = 0; i < 6; i++) {
        if (s[i]->len > 4096) {
            return;
        }

        rec.len[i] = (uint16_t) s[i]->len;
        len += s[i]->len;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return;
    }

    p = ngx_cpymem(buf, &rec, sizeof(ngx_http_logistics_record_t));

    for (i = 0; i < 6; i++) {
        if (s[i]->len) {
            p = ngx_cpymem(p, s[i]->data, s[i]->len);
        }
    }

    /* a full zone just means no caching for this token */
    (void) ngx_http_logistics_zone_blob_put(lmcf->zone, key, buf, len,
                                            cl->exp * 1000000,
                                            r->connection->log);
}


/*
 * A cached token is good while it has not expired and the key that
 * verified it is still one of its issuer's keys: a JWKS refresh (or a
 * reload) that drops a kid invalidates every token that kid signed.
 */

static ngx_int_t
ngx_http_logistics_cache_get(ngx_http_request_t *r, const lg_policy_t *policy,
    ngx_str_t *key, ngx_http_logistics_claims_t *cl)
{
    u_char                          *p;
    size_t                           i;
    ngx_int_t                        rc;
    ngx_str_t                        blob, *s[6], name;
    const lg_jwk_t                  *jwk;
    const lg_jwk_set_t              *keys;
    ngx_http_logistics_record_t      rec;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    rc = ngx_http_logistics_zone_blob_get(lmcf->zone, key,
                                          (int64_t) ngx_time() * 1000000,
                                          r->pool, &blob);
    if (rc != NGX_OK) {
        return rc;
    }

    if (blob.len < sizeof(ngx_http_logistics_record_t)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(&rec, blob.data, sizeof(ngx_http_logistics_record_t));

    ngx_memzero(cl, sizeof(ngx_http_logistics_claims_t));

    s[0] = &name;
    s[1] = &cl->kid;
    s[2] = &cl->partner;
    s[3] = &cl->scopes;
    s[4] = &cl->jti;
    s[5] = &cl->sub;

    p = blob.data + sizeof(ngx_http_logistics_record_t);

    for (i = 0; i < 6; i++) {
        if (p + rec.len[i] > blob.data + blob.len) {
            return NGX_DECLINED;
        }

        s[i]->data = p;
        s[i]->len = rec.len[i];
        p += rec.len[i];
    }

    if ((int64_t) ngx_time() >= rec.exp) {
        return NGX_DECLINED;
    }

    cl->issuer = NULL;

    for (i = 0; i < policy->nissuers; i++) {
        if (policy->issuers[i].name.len == name.len
            && ngx_strncmp(policy->issuers[i].name.data, name.data,
                           name.len)
               == 0)
        {
            cl->issuer = &policy->issuers[i];
            break;
        }
    }

    if (cl->issuer == NULL) {
        return NGX_DECLINED;
    }

    keys = cl->issuer->jwks_uri.len
           ? ngx_http_logistics_jwks_current(r, cl->issuer)
           : cl->issuer->keys;

    if (keys == NULL
        || lg_jwk_set_find(keys, cl->kid.len ? (char *) cl->kid.data : NULL,
                           cl->kid.len, (lg_jws_alg_e) rec.alg, &jwk)
           != LG_JWK_FOUND)
    {
        return NGX_DECLINED;
    }

    cl->exp = rec.exp;
    cl->alg = rec.alg;
    cl->cnf = rec.cnf ? 1 : 0;
    ngx_memcpy(cl->x5t, rec.x5t, 32);

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_token_rejected(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const char *reason, const char *why)
{
    u_char  *p;
    size_t   len;

    /* RFC 6750: error="invalid_token"; the description has no secrets */

    len = sizeof("Bearer realm=\"logistics\", error=\"invalid_token\", "
                 "error_description=\"\"") - 1 + ngx_strlen(why);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->challenge.data = p;
    ctx->challenge.len = ngx_sprintf(p, "Bearer realm=\"logistics\", "
                                     "error=\"invalid_token\", "
                                     "error_description=\"%s\"", why)
                         - p;

    ctx->detail.data = (u_char *) why;
    ctx->detail.len = ngx_strlen(why);

    return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INVALID_TOKEN, reason);
}


/*
 * A partner identified by its client certificate: nginx verified the
 * chain (ssl_verify_client); the policy lists the certificate's SHA-256
 * fingerprint or its subject DN.
 */

static ngx_int_t
ngx_http_logistics_mtls(ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx,
    const lg_policy_t *policy)
{
#if (NGX_HTTP_SSL)
    u_char               digest[32];
    ngx_int_t            rc;
    ngx_str_t            dn;
    const lg_partner_t  *partner;

    if (r->connection->ssl == NULL
        || SSL_get_verify_result(r->connection->ssl->connection) != X509_V_OK)
    {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "missing-credentials");
    }

    rc = ngx_http_logistics_cert_sha256(r, digest);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "missing-credentials");
    }

    if (ngx_ssl_get_subject_dn(r->connection, r->pool, &dn) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    partner = lg_policy_cert_partner(policy, digest, (const char *) dn.data,
                                     dn.len);

    if (partner == NULL && policy->nsans) {
        partner = ngx_http_logistics_san_partner(r, policy);
    }

    if (partner == NULL) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "unknown-certificate");
    }

    ctx->partner = partner;
    ctx->scopes = partner->scopes;
    ctx->mtls = 1;

    if (partner->suspended) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                       "suspended-partner");
    }

    return NGX_OK;

#else

    return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAUTHORIZED,
                                   "missing-credentials");

#endif
}


#if (NGX_HTTP_SSL)

/* the first DNS, URI or e-mail subjectAltName that names a partner */

static const lg_partner_t *
ngx_http_logistics_san_partner(ngx_http_request_t *r,
    const lg_policy_t *policy)
{
    int                   i, n;
    X509                 *cert;
    GENERAL_NAME         *gn;
    ASN1_STRING          *v;
    GENERAL_NAMES        *names;
    const lg_partner_t   *partner;

    cert = SSL_get_peer_certificate(r->connection->ssl->connection);
    if (cert == NULL) {
        return NULL;
    }

    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    X509_free(cert);

    if (names == NULL) {
        return NULL;
    }

    partner = NULL;
    n = sk_GENERAL_NAME_num(names);

    for (i = 0; i < n && partner == NULL; i++) {
        gn = sk_GENERAL_NAME_value(names, i);

        switch (gn->type) {
        case GEN_DNS:   v = gn->d.dNSName; break;
        case GEN_URI:   v = gn->d.uniformResourceIdentifier; break;
        case GEN_EMAIL: v = gn->d.rfc822Name; break;
        default:        v = NULL;
        }

        if (v != NULL) {
            partner = lg_policy_san_partner(policy,
                                      (const char *) ASN1_STRING_get0_data(v),
                                      (size_t) ASN1_STRING_length(v));
        }
    }

    GENERAL_NAMES_free(names);

    return partner;
}

#endif


/* SHA-256 of the client certificate (DER): NGX_DECLINED when none */

static ngx_int_t
ngx_http_logistics_cert_sha256(ngx_http_request_t *r, u_char *digest)
{
#if (NGX_HTTP_SSL)
    int            len;
    unsigned int   dlen;
    X509          *cert;
    u_char        *der, *p;

    if (r->connection->ssl == NULL) {
        return NGX_DECLINED;
    }

    cert = SSL_get_peer_certificate(r->connection->ssl->connection);
    if (cert == NULL) {
        return NGX_DECLINED;
    }

    len = i2d_X509(cert, NULL);

    if (len <= 0) {
        X509_free(cert);
        return NGX_ERROR;
    }

    der = ngx_pnalloc(r->pool, len);
    if (der == NULL) {
        X509_free(cert);
        return NGX_ERROR;
    }

    p = der;
    i2d_X509(cert, &p);
    X509_free(cert);

    if (EVP_Digest(der, len, digest, &dlen, EVP_sha256(), NULL) != 1) {
        return NGX_ERROR;
    }

    return NGX_OK;

#else

    return NGX_DECLINED;

#endif
}


static ngx_int_t
ngx_http_logistics_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const lg_str_t *src)
{
    dst->len = 0;

    if (src->len == 0) {
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(r->pool, src->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->len = src->len;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_scopes_allowed(const lg_policy_t *policy,
    ngx_http_logistics_ctx_t *ctx, const lg_route_t *route)
{
    size_t  i;

    for (i = 0; i < policy->scope_words; i++) {
        if (route->scopes[i] & ~ctx->scopes[i]) {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_logistics_insufficient_scope(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy)
{
    u_char            *p;
    size_t             len, i;
    const char        *scheme;
    const lg_route_t  *route;

    route = ctx->route;
    scheme = ctx->bearer ? "Bearer" : "ApiKey";

    len = sizeof("ApiKey realm=\"logistics\", error=\"insufficient_scope\", "
                 "scope=\"\"");

    for (i = 0; i < route->nscope_list; i++) {
        len += route->scope_list[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->challenge.data = p;
    p = ngx_sprintf(p, "%s realm=\"logistics\", error=\"insufficient_scope\","
                    " scope=\"", scheme);

    for (i = 0; i < route->nscope_list; i++) {
        if (i > 0) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, route->scope_list[i].data, route->scope_list[i].len);
    }

    *p++ = '"';
    ctx->challenge.len = p - ctx->challenge.data;

    (void) policy;

    return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_INSUFFICIENT_SCOPE,
                                   "insufficient-scope");
}
