
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "lg_ratelimit.h"


/* one limit a request must fit: its state key, rate and outcome */

typedef struct {
    ngx_str_t                     key;
    const char                   *name;       /* "partner" or "route" */
    const lg_rate_t              *rate;
    lg_rate_result_t              result;
} ngx_http_logistics_limit_t;


typedef struct ngx_http_logistics_shctx_s  ngx_http_logistics_shctx_t;

/* run once the zone is ready, at every (re)load, in the master */
typedef ngx_int_t (*ngx_http_logistics_zone_init_pt)(ngx_shm_zone_t *shm_zone,
    void *data);

typedef struct {
    ngx_http_logistics_shctx_t   *sh;
    ngx_slab_pool_t              *shpool;
    ngx_uint_t                    keep_live;  /* never evict what has not
                                                 expired */
    ngx_array_t                   inits;      /* of init handlers */
} ngx_http_logistics_zone_t;


/* logistics_zone NAME:SIZE: counters and caches, evicted when full */
ngx_shm_zone_t *ngx_http_logistics_zone_add(ngx_conf_t *cf, ngx_str_t *value);

/*
 * A zone of records that must outlive pressure (idempotency records and
 * locks): when it is full, only expired records make room.
 */
ngx_shm_zone_t *ngx_http_logistics_zone_add_kept(ngx_conf_t *cf,
    ngx_str_t *name, size_t size);

/*
 * Checks every limit and commits the new states only if all of them
 * allow the request, atomically under the zone lock.  NGX_OK: allowed;
 * NGX_DECLINED: refused (see each result); NGX_ERROR: the zone is full
 * (nothing was counted: the caller must not let the request through as
 * if it had been).
 */
ngx_int_t ngx_http_logistics_zone_limit(ngx_shm_zone_t *shm_zone,
    ngx_http_logistics_limit_t *limits, ngx_uint_t n, int64_t now,
    ngx_log_t *log);


/*
 * Someone else's part of the zone is set up when the zone is ready: for
 * a new zone and for one kept across a reload alike, in the master,
 * before any worker of the new configuration runs.  A handler that fails
 * fails the (re)load.
 */
ngx_int_t ngx_http_logistics_zone_on_init(ngx_conf_t *cf,
    ngx_shm_zone_t *shm_zone, ngx_http_logistics_zone_init_pt handler,
    void *data);

/*
 * A block of "size" bytes that lives as long as the zone, across
 * reloads, never evicted nor freed (in-flight counters, circuit
 * breakers, the brownout level): the block of that name, created
 * zero-filled the first time.  NULL when the zone is full, or when a
 * block of that name has another size.  Takes the zone lock.
 */
void *ngx_http_logistics_zone_block(ngx_shm_zone_t *shm_zone,
    const u_char *name, size_t len, size_t size);

/* memory of the zone for its owner's records (freed with _free) */
void *ngx_http_logistics_zone_calloc(ngx_shm_zone_t *shm_zone, size_t size);
void ngx_http_logistics_zone_free(ngx_shm_zone_t *shm_zone, void *p);


/*
 * A document shared by the workers (an issuer's JWKS), with the state of
 * its refresh.  Times in milliseconds.
 */

typedef struct {
    int64_t                       version;    /* 0: never fetched; grows
                                                 even across eviction */
    int64_t                       expires;    /* refresh after this */
    int64_t                       fetching;   /* a fetch started; 0: none */
    int64_t                       attempted;  /* last fetch started */
    int64_t                       stored;     /* this version came */
    size_t                        len;
    u_char                        data[1];
} ngx_http_logistics_doc_t;


#define NGX_HTTP_LOGISTICS_FETCH_NONE      0
#define NGX_HTTP_LOGISTICS_FETCH_DUE       1   /* expired or missing */
#define NGX_HTTP_LOGISTICS_FETCH_UNKNOWN   2   /* an unknown key id */

/*
 * Reads the document's version and decides whether this caller fetches
 * it now ("claim"): when it is missing, or when it is expired or a key id
 * is unknown and the last fetch is older than the cooldown, and no other
 * fetch is running.  The version is the time it was stored (ms), or more.
 */
ngx_int_t ngx_http_logistics_doc_check(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, int64_t now, int64_t cooldown, ngx_uint_t unknown_kid,
    int64_t *version, ngx_uint_t *claim);

/* the document's version, 0 when there is none */
ngx_int_t ngx_http_logistics_doc_version(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, int64_t *version);

/* when the document's current version was stored; NGX_DECLINED: none */
ngx_int_t ngx_http_logistics_doc_stored(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, int64_t *stored);

/* a copy of the document into the pool */
ngx_int_t ngx_http_logistics_doc_copy(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, ngx_pool_t *pool, ngx_str_t *data, int64_t *version);

/* stores a fetched document (data NULL: the fetch failed, keep the old) */
ngx_int_t ngx_http_logistics_doc_store(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, ngx_str_t *data, int64_t now, int64_t expires,
    ngx_log_t *log);


/* small records with an expiry (verified tokens); times in microseconds */
ngx_int_t ngx_http_logistics_zone_blob_put(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, u_char *data, size_t len, int64_t expires,
    ngx_log_t *log);
ngx_int_t ngx_http_logistics_zone_blob_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, int64_t now, ngx_pool_t *pool, ngx_str_t *out);


/*
 * Idempotency records: claim stores "data" unless an unexpired record is
 * there (then NGX_DECLINED and a copy in "out"), NGX_BUSY when the zone
 * has no room (nothing is evicted for it); swap replaces the record only
 * while it still equals "expect" (data NULL: deletes it), and keeps the
 * old one when the new one does not fit.
 */
ngx_int_t ngx_http_logistics_zone_blob_claim(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, u_char *data, size_t len, int64_t now, int64_t expires,
    ngx_pool_t *pool, ngx_str_t *out, ngx_log_t *log);
ngx_int_t ngx_http_logistics_zone_blob_swap(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, ngx_str_t *expect, u_char *data, size_t len,
    int64_t expires, ngx_log_t *log);


/*
 * Suspensions and revocations Redis reported, kept for when it cannot
 * answer: set until "expires" (us, 0: until cleared), never evicted for
 * room; find returns the index + 1 of the first key flagged, or 0.
 */
ngx_int_t ngx_http_logistics_zone_flag_set(ngx_shm_zone_t *shm_zone,
    ngx_str_t *key, int64_t expires, int64_t now, ngx_log_t *log);
ngx_uint_t ngx_http_logistics_zone_flag_find(ngx_shm_zone_t *shm_zone,
    ngx_str_t *keys, ngx_uint_t n, int64_t now);
void ngx_http_logistics_zone_flag_clear(ngx_shm_zone_t *shm_zone,
    ngx_str_t *keys, ngx_uint_t n);


#endif /* _NGX_HTTP_LOGISTICS_SHM_H_INCLUDED_ */
