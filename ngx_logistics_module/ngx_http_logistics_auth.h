
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_AUTH_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_AUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_jwks.h"


typedef struct {
    ngx_str_t                   token_jti;     /* a bearer token's ids */
    ngx_str_t                   token_sub;
    unsigned                    bearer:1;
    unsigned                    token_cached:1;
    unsigned                    mtls:1;
    unsigned                    refetched:1;   /* keys fetched once for
                                                  an unknown kid */
    unsigned                    webhook:1;     /* a webhook route */
    const lg_partner_t         *sender;        /* the partner its URL
                                                  names, not verified */
    ngx_http_logistics_jwks_fetch_t  jwks;     /* while waiting for keys */
} ngx_http_logistics_auth_ctx_t;


/*
 * Who is calling: an API key, a bearer token (may wait for the issuer's
 * keys) or a client certificate.  Sets ctx->partner, ctx->key and
 * ctx->scopes.  On webhook routes only the partner the URL names, whose
 * signature the webhook step checks.  401.
 */
ngx_int_t ngx_http_logistics_auth_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


/* the step's own parts, in ngx_http_logistics_bearer.c */

ngx_int_t ngx_http_logistics_bearer(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *token);


#endif /* _NGX_HTTP_LOGISTICS_AUTH_H_INCLUDED_ */
