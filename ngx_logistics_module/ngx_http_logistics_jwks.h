
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_JWKS_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_JWKS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "lg_policy.h"


/* a JWKS fetch a request started and waits for */

typedef struct {
    const lg_issuer_t          *issuer;
    ngx_str_t                   body;
    ngx_uint_t                  status;
    int64_t                     max_age;      /* seconds; -1: not sent */
    unsigned                    waiting:1;
    unsigned                    done:1;
} ngx_http_logistics_jwks_fetch_t;


/*
 * NGX_OK: *keys to verify with (possibly about to be refreshed by another
 * request); NGX_AGAIN: this request fetches and waits ("fetch" tells when
 * it is done, then ngx_http_logistics_jwks_finish()); NGX_DECLINED: no
 * key set yet and another request is fetching it; NGX_ERROR.
 */
ngx_int_t ngx_http_logistics_jwks_keys(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch, const lg_issuer_t *issuer,
    ngx_uint_t unknown_kid, const lg_jwk_set_t **keys);

/* stores what the fetch brought for every worker, or keeps the old set */
void ngx_http_logistics_jwks_finish(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch);

/* the issuer's current key set, without fetching anything */
const lg_jwk_set_t *ngx_http_logistics_jwks_current(ngx_http_request_t *r,
    const lg_issuer_t *issuer);

void ngx_http_logistics_jwks_exit(void);


#endif /* _NGX_HTTP_LOGISTICS_JWKS_H_INCLUDED_ */
