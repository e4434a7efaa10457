
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_logistics_ctx.h"
#include "lg_apikey.h"


/*
 * Part of step "authenticate": OAuth 2 bearer tokens (RFC 6750, RFC 9068)
 * verified against the issuer's keys, with certificate-bound tokens
 * (RFC 8705) when the client presented a certificate, and the verified-
 * token cache in the shared zone.
 */

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
    u_char               thumbprint[32];  /* of the key that verified it */
} ngx_http_logistics_claims_t;


/*
 * The cache record: this header, then the strings back to back.  A hit
 * counts only while the issuer's rules and the very key (its thumbprint,
 * not just its kid) are the ones the token was verified under.
 */

#define NGX_HTTP_LOGISTICS_RECORD_FORMAT  0x4c470002

typedef struct {
    uint32_t             format;
    int32_t              alg;
    int64_t              exp;
    int32_t              cnf;
    u_char               x5t[32];
    u_char               rules[32];    /* lg_jwt_rules_digest() */
    u_char               thumbprint[32];
    uint16_t             len[6];       /* issuer kid partner scopes jti sub */
} ngx_http_logistics_record_t;


static ngx_int_t ngx_http_logistics_token_rejected(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const char *reason, const char *why);
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

ngx_int_t
ngx_http_logistics_bearer(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *token)
{
    lg_jwt_t                         jwt;
    ngx_int_t                        rc;
    ngx_str_t                        key;
    lg_token_status_e                status;
    const lg_policy_t               *policy;
    const lg_issuer_t               *issuer;
    const lg_jwk_set_t              *keys;
    ngx_http_logistics_claims_t      cl;
    ngx_http_logistics_loc_conf_t   *lcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    ctx->auth.bearer = 1;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    ngx_str_null(&key);

    if (lcf->token_cache && lmcf->zone != NULL) {
        if (ngx_http_logistics_cache_key(r, token, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_logistics_cache_get(r, policy, &key, &cl);

        if (rc == NGX_OK) {
            ctx->auth.token_cached = 1;
            return ngx_http_logistics_accept(r, ctx, policy, &cl);
        }

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
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
        rc = ngx_http_logistics_jwks_keys(r, &ctx->auth.jwks, issuer, 0, &keys);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return rc;
        }

        if (rc == NGX_DECLINED) {
            /* the first key set of this issuer is on its way */
            (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAVAILABLE,
                                             "keys-unavailable");
            ctx->answer.retry_after = 1;

            return NGX_HTTP_LOGISTICS_REFUSE;
        }
    }

    status = lg_jwt_verify(&issuer->rules, keys, (const char *) token->data,
                           token->len, (int64_t) ngx_time(), &jwt);

    if (status == LG_TOKEN_KEY_UNKNOWN && issuer->jwks_uri.len
        && !ctx->auth.refetched)
    {
        /* perhaps the IdP rotated: refetch, within the cooldown */

        ctx->auth.refetched = 1;

        rc = ngx_http_logistics_jwks_keys(r, &ctx->auth.jwks, issuer, 1, &keys);

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
        return NGX_ERROR;
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

    if (jwt->jws.key != NULL) {
        ngx_memcpy(cl->thumbprint, jwt->jws.key->thumbprint, 32);
    }

    kid.data = jwt->jws.key && jwt->jws.key->kid ? jwt->jws.key->kid : "";
    kid.len = jwt->jws.key && jwt->jws.key->kid ? jwt->jws.key->kid_len : 0;

    if (ngx_http_logistics_copy(r->pool, &cl->kid, &kid) != NGX_OK
        || ngx_http_logistics_copy(r->pool, &cl->partner, &jwt->partner)
           != NGX_OK
        || ngx_http_logistics_copy(r->pool, &cl->jti, &jwt->jti) != NGX_OK
        || ngx_http_logistics_copy(r->pool, &cl->sub, &jwt->sub) != NGX_OK)
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
            return NGX_ERROR;
        }

        if (cert != NGX_OK || CRYPTO_memcmp(digest, cl->x5t, 32) != 0) {
            return ngx_http_logistics_token_rejected(r, ctx,
                                         "certificate-mismatch",
                                         "certificate binding does not "
                                         "match");
        }
    }

    ctx->auth.token_jti = cl->jti;
    ctx->auth.token_sub = cl->sub;

    partner = lg_issuer_partner(cl->issuer, (const char *) cl->partner.data,
                                cl->partner.len);

    if (partner == NULL) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNKNOWN_PARTNER,
                                         "unknown-partner");
    }

    ctx->partner = partner;

    /* effective scopes: granted by the token and allowed to the partner */

    words = policy->scope_words;

    scopes = ngx_pcalloc(r->pool, words * sizeof(uint64_t));
    if (scopes == NULL) {
        return NGX_ERROR;
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
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
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
    rec.format = NGX_HTTP_LOGISTICS_RECORD_FORMAT;
    rec.exp = cl->exp;
    rec.alg = cl->alg;
    rec.cnf = cl->cnf;
    ngx_memcpy(rec.x5t, cl->x5t, 32);
    ngx_memcpy(rec.rules, lmcf->issuer_rules[cl->issuer->index].digest, 32);
    ngx_memcpy(rec.thumbprint, cl->thumbprint, 32);

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
 * A cached token is good while it has not expired, its issuer's rules are
 * the ones it was verified under, and the key that verified it (by
 * thumbprint, not just kid) is still one of the issuer's keys: a JWKS
 * refresh or a reload that drops or replaces a key, or changes the
 * audiences, algorithms, typ, lifetime or iss, invalidates it.
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

    if (rec.format != NGX_HTTP_LOGISTICS_RECORD_FORMAT) {
        return NGX_DECLINED;
    }

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

    /* verified under other rules (a reload changed them): verify again */

    if (ngx_memcmp(rec.rules, lmcf->issuer_rules[cl->issuer->index].digest,
                   32)
        != 0)
    {
        return NGX_DECLINED;
    }

    keys = cl->issuer->jwks_uri.len
           ? ngx_http_logistics_jwks_current(r, cl->issuer)
           : cl->issuer->keys;

    if (keys == NULL
        || lg_jwk_set_find(keys, cl->kid.len ? (char *) cl->kid.data : NULL,
                           cl->kid.len, (lg_jws_alg_e) rec.alg, &jwk)
           != LG_JWK_FOUND
        || CRYPTO_memcmp(jwk->thumbprint, rec.thumbprint, 32) != 0)
    {
        /* another key under the same kid is not the key that verified it */
        return NGX_DECLINED;
    }

    cl->exp = rec.exp;
    cl->alg = rec.alg;
    cl->cnf = rec.cnf ? 1 : 0;
    ngx_memcpy(cl->x5t, rec.x5t, 32);

    return NGX_OK;
}


/*
 * RFC 6750: error="invalid_token" with a description that gives no
 * secrets away; "why" is one of the gateway's own fixed texts, never
 * something taken from the token.
 */

static ngx_int_t
ngx_http_logistics_token_rejected(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const char *reason, const char *why)
{
    ngx_http_logistics_answer_t  *a;

    (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INVALID_TOKEN, reason);

    a = &ctx->answer;

    a->challenge.len = sizeof("Bearer realm=\"logistics\", "
                              "error=\"invalid_token\", "
                              "error_description=\"\"") - 1
                       + ngx_strlen(why);
    a->challenge.data = ngx_pnalloc(r->pool, a->challenge.len);
    if (a->challenge.data == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(a->challenge.data, "Bearer realm=\"logistics\", "
                       "error=\"invalid_token\", "
                       "error_description=\"%s\"", why);

    a->detail.data = (u_char *) why;
    a->detail.len = ngx_strlen(why);

    return NGX_HTTP_LOGISTICS_REFUSE;
}
