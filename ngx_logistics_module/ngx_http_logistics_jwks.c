
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_jwks.h"
#include "ngx_http_logistics_shm.h"
#include "ngx_http_logistics_util.h"


/*
 * Issuer keys fetched from the IdP the nginx way: a subrequest to an
 * internal location of the configuration that proxies to the IdP's
 * jwks_uri, so TLS, timeouts and upstream choice are nginx's own.
 *
 * The fetched JWKS text lives in the logistics_zone, shared by all
 * workers, with its refresh state; each worker parses it into EVP keys
 * once per new version (keys cannot live in shared memory).  A refresh
 * happens when the document expires (Cache-Control max-age, else the
 * issuer's jwks_refresh) or when a token names an unknown kid, at most
 * once per jwks_cooldown; one request does the fetch and waits for it,
 * the others go on with the keys they have.  A failed fetch keeps the
 * last good key set (stale-if-error) for up to jwks_max_stale, and the
 * next attempt waits jwks_cooldown.
 */

typedef struct {
    lg_jwk_set_t                    *keys;
    int64_t                          version;
} ngx_http_logistics_jwks_local_t;


static ngx_http_logistics_jwks_local_t  *ngx_http_logistics_jwks_local;
static size_t                            ngx_http_logistics_jwks_nlocal;


static ngx_int_t ngx_http_logistics_jwks_local_init(
    const lg_policy_t *policy);
static ngx_int_t ngx_http_logistics_jwks_key(ngx_http_request_t *r,
    const lg_issuer_t *issuer, ngx_str_t *key);
static ngx_int_t ngx_http_logistics_jwks_fetch(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch, const lg_issuer_t *issuer);
static ngx_int_t ngx_http_logistics_jwks_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static int64_t ngx_http_logistics_jwks_max_age(ngx_http_request_t *sr);
static ngx_uint_t ngx_http_logistics_jwks_stale(const lg_issuer_t *issuer,
    int64_t version);


/* per worker, allocated on first use, for the policy's lifetime */

static ngx_int_t
ngx_http_logistics_jwks_local_init(const lg_policy_t *policy)
{
    if (ngx_http_logistics_jwks_local != NULL) {
        return NGX_OK;
    }

    ngx_http_logistics_jwks_local = ngx_calloc(
        policy->nissuers * sizeof(ngx_http_logistics_jwks_local_t),
        ngx_cycle->log);
    if (ngx_http_logistics_jwks_local == NULL) {
        return NGX_ERROR;
    }

    ngx_http_logistics_jwks_nlocal = policy->nissuers;

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_jwks_key(ngx_http_request_t *r, const lg_issuer_t *issuer,
    ngx_str_t *key)
{
    key->len = sizeof("jwks:") - 1 + issuer->name.len;
    key->data = ngx_pnalloc(r->pool, key->len);

    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(key->data, "jwks:%s", issuer->name.data);

    return NGX_OK;
}


/*
 * NGX_OK: *keys to verify with (possibly about to be refreshed by another
 * request); NGX_AGAIN: this request fetches and waits; NGX_DECLINED: no
 * key set yet and another request is fetching it; NGX_ERROR.
 */

ngx_int_t
ngx_http_logistics_jwks_keys(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch, const lg_issuer_t *issuer,
    ngx_uint_t unknown_kid, const lg_jwk_set_t **keys)
{
    int64_t                           version;
    ngx_str_t                         key, doc;
    ngx_uint_t                        claim;
    lg_error_t                        err;
    lg_jwk_set_t                     *set;
    const lg_policy_t                *policy;
    ngx_http_logistics_jwks_local_t  *local;
    ngx_http_logistics_main_conf_t   *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    if (ngx_http_logistics_jwks_local_init(policy) != NGX_OK) {
        return NGX_ERROR;
    }

    local = &ngx_http_logistics_jwks_local[issuer->index];

    if (ngx_http_logistics_jwks_key(r, issuer, &key) != NGX_OK
        || ngx_http_logistics_doc_check(lmcf->zone, &key,
                                        ngx_http_logistics_now() / 1000,
                                        issuer->jwks_cooldown, unknown_kid,
                                        &version, &claim)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (version != local->version) {

        if (ngx_http_logistics_doc_copy(lmcf->zone, &key, r->pool, &doc,
                                        &version)
            == NGX_OK)
        {
            set = lg_jwk_set_parse_buffer(issuer->name.data,
                                          (char *) doc.data, doc.len, 0,
                                          &err);

            if (set == NULL) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "logistics: JWKS of issuer \"%s\": %s",
                              issuer->name.data, err.text);

            } else {
                lg_jwk_set_free(local->keys);
                local->keys = set;
            }

            local->version = version;
        }
    }

    if (claim != NGX_HTTP_LOGISTICS_FETCH_NONE) {
        return ngx_http_logistics_jwks_fetch(r, fetch, issuer);
    }

    if (local->keys == NULL
        || ngx_http_logistics_jwks_stale(issuer, local->version))
    {
        return NGX_DECLINED;
    }

    *keys = local->keys;

    return NGX_OK;
}


/*
 * Keys the IdP has not confirmed for jwks_max_stale (a refresh failing
 * for a day, by default) are not used any more: a key the IdP withdrew
 * while it was unreachable must not verify tokens forever.
 */

static ngx_uint_t
ngx_http_logistics_jwks_stale(const lg_issuer_t *issuer, int64_t version)
{
    return version != 0
           && ngx_http_logistics_now() / 1000 - version
              > issuer->jwks_max_stale;
}


static ngx_int_t
ngx_http_logistics_jwks_fetch(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch, const lg_issuer_t *issuer)
{
    ngx_str_t                    uri;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_logistics_jwks_done;
    ps->data = fetch;

    uri.data = (u_char *) issuer->jwks_uri.data;
    uri.len = issuer->jwks_uri.len;

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED
                            |NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * The gateway's own request, not the partner's: no header, cookie,
     * token or Content-Length of the request that triggered it reaches
     * the IdP, and a fake body keeps it from ever reading the partner's.
     */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    fetch->issuer = issuer;
    fetch->waiting = 1;
    fetch->done = 0;
    ngx_str_null(&fetch->body);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "logistics JWKS fetch \"%V\"", &uri);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_logistics_jwks_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_logistics_jwks_fetch_t  *fetch = data;

    ngx_buf_t  *b;

    fetch->done = 1;
    fetch->status = sr->headers_out.status;
    fetch->max_age = ngx_http_logistics_jwks_max_age(sr);

    if (rc == NGX_OK && sr->headers_out.status == NGX_HTTP_OK
        && sr->out != NULL && sr->out->buf != NULL)
    {
        b = sr->out->buf;

        fetch->body.len = b->last - b->pos;
        fetch->body.data = ngx_pnalloc(sr->main->pool, fetch->body.len + 1);
        if (fetch->body.data == NULL) {
            fetch->body.len = 0;
            return rc;
        }

        ngx_memcpy(fetch->body.data, b->pos, fetch->body.len);
    }

    return rc;
}


/* Cache-Control: max-age=N of the IdP's answer, -1 when absent */

static int64_t
ngx_http_logistics_jwks_max_age(ngx_http_request_t *sr)
{
    u_char            *p, *last;
    ngx_uint_t         i;
    ngx_int_t          n;
    ngx_table_elt_t  **h;

    h = sr->headers_out.cache_control.elts;

    for (i = 0; h && i < sr->headers_out.cache_control.nelts; i++) {
        p = h[i]->value.data;
        last = p + h[i]->value.len;

        p = ngx_strlcasestrn(p, last, (u_char *) "max-age=", 8 - 1);
        if (p == NULL) {
            continue;
        }

        p += 8;

        for (n = 0; p < last && *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');

            if (n > 86400 * 365) {
                break;
            }
        }

        return n;
    }

    return -1;
}


/*
 * Back in the main request after the fetch: store a good key set for
 * every worker (its lifetime: max-age clamped to 60s..24h, else the
 * issuer's jwks_refresh), or keep the old one.
 */

void
ngx_http_logistics_jwks_finish(ngx_http_request_t *r,
    ngx_http_logistics_jwks_fetch_t *fetch)
{
    int64_t                          now, ttl;
    ngx_str_t                        key;
    lg_error_t                       err;
    lg_jwk_set_t                    *set;
    const lg_issuer_t               *issuer;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    issuer = fetch->issuer;
    now = ngx_http_logistics_now() / 1000;

    fetch->waiting = 0;
    fetch->done = 0;

    if (ngx_http_logistics_jwks_key(r, issuer, &key) != NGX_OK) {
        return;
    }

    set = NULL;

    if (fetch->body.len) {
        set = lg_jwk_set_parse_buffer(issuer->name.data,
                                      (char *) fetch->body.data,
                                      fetch->body.len, 0, &err);
        if (set == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "logistics: JWKS of issuer \"%s\" from \"%s\" "
                          "refused: %s; keeping the last good key set",
                          issuer->name.data, issuer->jwks_uri.data,
                          err.text);
        }

    } else {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: JWKS of issuer \"%s\" from \"%s\" "
                      "failed with status %ui; keeping the last good key "
                      "set", issuer->name.data, issuer->jwks_uri.data,
                      fetch->status);
    }

    if (set == NULL) {
        (void) ngx_http_logistics_doc_store(lmcf->zone, &key, NULL, now, 0,
                                            r->connection->log);
        return;
    }

    /* only checked here; every worker parses its own copy */
    lg_jwk_set_free(set);

    ttl = issuer->jwks_refresh;

    if (fetch->max_age >= 0) {
        ttl = fetch->max_age * 1000;
        ttl = ngx_max(ttl, 60 * 1000);
        ttl = ngx_min(ttl, 86400 * 1000);
    }

    (void) ngx_http_logistics_doc_store(lmcf->zone, &key, &fetch->body,
                                        now, now + ttl, r->connection->log);
}


/*
 * The issuer's current key set, without fetching anything: brought up to
 * the version in the zone first, so that a key another worker saw dropped
 * is dropped here too (the verified-token cache relies on it).
 */

const lg_jwk_set_t *
ngx_http_logistics_jwks_current(ngx_http_request_t *r,
    const lg_issuer_t *issuer)
{
    int64_t                           version;
    ngx_str_t                         key, doc;
    lg_error_t                        err;
    lg_jwk_set_t                     *set;
    ngx_http_logistics_jwks_local_t  *local;
    ngx_http_logistics_main_conf_t   *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    /*
     * a worker that has not verified a token of its own yet still takes
     * the tokens another worker cached: the keys come from the zone
     */

    if (ngx_http_logistics_jwks_local_init(lmcf->policy) != NGX_OK
        || issuer->index >= ngx_http_logistics_jwks_nlocal)
    {
        return NULL;
    }

    local = &ngx_http_logistics_jwks_local[issuer->index];

    if (ngx_http_logistics_jwks_key(r, issuer, &key) != NGX_OK
        || ngx_http_logistics_doc_version(lmcf->zone, &key, &version)
           != NGX_OK)
    {
        return NULL;
    }

    if (version != local->version
        && ngx_http_logistics_doc_copy(lmcf->zone, &key, r->pool, &doc,
                                       &version)
           == NGX_OK)
    {
        set = lg_jwk_set_parse_buffer(issuer->name.data, (char *) doc.data,
                                      doc.len, 0, &err);
        if (set != NULL) {
            lg_jwk_set_free(local->keys);
            local->keys = set;
        }

        local->version = version;
    }

    if (ngx_http_logistics_jwks_stale(issuer, local->version)) {
        return NULL;
    }

    return local->keys;
}


void
ngx_http_logistics_jwks_exit(void)
{
    size_t  i;

    for (i = 0; i < ngx_http_logistics_jwks_nlocal; i++) {
        lg_jwk_set_free(ngx_http_logistics_jwks_local[i].keys);
    }

    ngx_free(ngx_http_logistics_jwks_local);
    ngx_http_logistics_jwks_local = NULL;
    ngx_http_logistics_jwks_nlocal = 0;
}
