
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

#include "ngx_http_logistics_ctx.h"
#include "lg_apikey.h"


/*
 * Step "authenticate": who is calling.  An API key (X-API-Key or
 * "Authorization: ApiKey"), an OAuth 2 bearer token (RFC 6750, RFC 9068;
 * ngx_http_logistics_bearer.c) or, on routes that accept it, a client
 * certificate registered for a partner.  Two different credentials in
 * one request are refused: which one would be authorised?  A webhook
 * route names its partner in its {partner} segment; the webhook step
 * checks the signature with that partner's secrets, and nothing else.
 */

static ngx_int_t ngx_http_logistics_apikey(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy,
    ngx_str_t *key);
static ngx_int_t ngx_http_logistics_mtls(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
static ngx_int_t ngx_http_logistics_webhook_sender(
    ngx_http_logistics_ctx_t *ctx, const lg_policy_t *policy);
#if (NGX_HTTP_SSL)
static const lg_partner_t *ngx_http_logistics_san_partner(
    ngx_http_request_t *r, const lg_policy_t *policy);
#endif


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
ngx_http_logistics_auth_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    unsigned                         auth;
    ngx_str_t                        key, token, header;
    const lg_policy_t               *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ctx->auth.jwks.waiting) {
        if (!ctx->auth.jwks.done) {
            return NGX_AGAIN;
        }

        /* the issuer's keys arrived (or not): authenticate again */
        ngx_http_logistics_jwks_finish(r, &ctx->auth.jwks);
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;
    auth = ctx->route->auth;

    if (auth == LG_AUTH_WEBHOOK) {
        return ngx_http_logistics_webhook_sender(ctx, policy);
    }

    ngx_http_logistics_scheme(r->headers_in.authorization, "Bearer ", 7,
                              &token);

    if (token.len) {
        if (!(auth & LG_AUTH_BEARER)) {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                             "bearer-not-accepted");
        }

        if (ctx->in.api_key != NULL) {
            /* two credentials: which one would we be authorising? */
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                             "malformed-credentials");
        }

        return ngx_http_logistics_bearer(r, ctx, &token);
    }

    ngx_http_logistics_scheme(r->headers_in.authorization, "ApiKey ", 7,
                              &header);

    if (ctx->in.api_key != NULL) {
        key = ctx->in.api_key->value;

        if (header.len
            && (header.len != key.len
                || ngx_strncmp(header.data, key.data, key.len) != 0))
        {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                             "malformed-credentials");
        }

    } else if (header.len) {
        key = header;

    } else if (auth & LG_AUTH_MTLS) {
        return ngx_http_logistics_mtls(r, ctx, policy);

    } else {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "missing-credentials");
    }

    if (!(auth & LG_AUTH_API_KEY)) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
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
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
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
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "unknown-key");

    case LG_APIKEY_NOT_YET_VALID:
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "key-not-yet-valid");

    case LG_APIKEY_EXPIRED:
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "expired-key");

    default: /* LG_APIKEY_SUSPENDED */
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "suspended-partner");
    }
}


/*
 * The partner a webhook URL names: only its secrets will be tried, so a
 * partner cannot sign as another, whatever it puts in the URL.  Other
 * credentials on the request (some carriers add their own) are not the
 * gateway's to check; they never reach Odoo.
 */

static ngx_int_t
ngx_http_logistics_webhook_sender(ngx_http_logistics_ctx_t *ctx,
    const lg_policy_t *policy)
{
    const lg_str_t  *name;

    name = &ctx->routing.match.params[ctx->route->partner_param];

    ctx->auth.webhook = 1;
    ctx->auth.sender = lg_policy_webhook_sender(policy, name->data,
                                                name->len);

    if (ctx->auth.sender == NULL) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_INVALID_SIGNATURE,
                                         "webhook-partner-unknown");
    }

    return NGX_OK;
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
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "missing-credentials");
    }

    rc = ngx_http_logistics_cert_sha256(r, digest);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "missing-credentials");
    }

    if (ngx_ssl_get_subject_dn(r->connection, r->pool, &dn) != NGX_OK) {
        return NGX_ERROR;
    }

    partner = lg_policy_cert_partner(policy, digest, (const char *) dn.data,
                                     dn.len);

    if (partner == NULL && policy->nsans) {
        partner = ngx_http_logistics_san_partner(r, policy);
    }

    if (partner == NULL) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "unknown-certificate");
    }

    ctx->partner = partner;
    ctx->scopes = partner->scopes;
    ctx->auth.mtls = 1;

    if (partner->suspended) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "suspended-partner");
    }

    return NGX_OK;

#else

    return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                     "missing-credentials");

#endif
}


#if (NGX_HTTP_SSL)

/*
 * The first DNS, URI or e-mail subjectAltName that names a partner, with
 * its type as the policy wrote it ("dns:", "uri:", "email:").
 */

static const lg_partner_t *
ngx_http_logistics_san_partner(ngx_http_request_t *r,
    const lg_policy_t *policy)
{
    int                   i, n, type;
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

        /* the type counts: a URI never matches a listed DNS name */

        switch (gn->type) {

        case GEN_DNS:
            v = gn->d.dNSName;
            type = LG_SAN_DNS;
            break;

        case GEN_URI:
            v = gn->d.uniformResourceIdentifier;
            type = LG_SAN_URI;
            break;

        case GEN_EMAIL:
            v = gn->d.rfc822Name;
            type = LG_SAN_EMAIL;
            break;

        default:
            v = NULL;
            type = 0;
        }

        if (v != NULL) {
            partner = lg_policy_san_partner(policy, type,
                                      (const char *) ASN1_STRING_get0_data(v),
                                      (size_t) ASN1_STRING_length(v));
        }
    }

    GENERAL_NAMES_free(names);

    return partner;
}

#endif
