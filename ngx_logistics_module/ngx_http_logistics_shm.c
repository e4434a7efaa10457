
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_shm.h"
#include "ngx_http_logistics_util.h"
#include "ngx_http_logistics_metrics.h"


/*
 * The embedded state store: a shared memory zone laid out like
 * limit_req's (slab pool, rbtree by key hash, LRU queue).  A node holds
 * one GCRA state (the TAT, in microseconds), or points to a document or
 * a record, and the instant after which it means nothing and can go.
 * The zone survives reloads.
 *
 * logistics_zone holds what may be lost under pressure (counters, cached
 * tokens, fetched key sets): when it is full, the coldest entries are
 * evicted.  Idempotency records live in a zone of their own that never
 * evicts a record or lock before it expires: a stored response dropped
 * early would let a retry book the shipment twice.
 *
 * Beside the tree, a list of permanent blocks: state that must never be
 * evicted (counters of requests in flight, circuit breakers) and that
 * workers of every configuration generation share by name.
 */

#define NGX_HTTP_LOGISTICS_EVICT_MAX   8       /* live entries per alloc */
#define NGX_HTTP_LOGISTICS_SWEEP_MAX   4096    /* entries looked at */

typedef struct ngx_http_logistics_block_s  ngx_http_logistics_block_t;

struct ngx_http_logistics_block_s {
    ngx_http_logistics_block_t   *next;
    uint32_t                      hash;
    u_short                       len;
    size_t                        size;
    u_char                       *data;      /* size bytes, 8-aligned */
    u_char                        name[1];
};

struct ngx_http_logistics_shctx_s {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;
    ngx_http_logistics_block_t   *blocks;     /* permanent, by name */
};


typedef struct {
    u_char                        color;
    u_char                        doc;        /* value points to a doc */
    u_short                       len;
    u_char                        kept;       /* a flag that stands for a
                                                 security decision: never
                                                 evicted for room */
    ngx_queue_t                   queue;
    int64_t                       value;
    int64_t                       expires;
    u_char                        data[1];
} ngx_http_logistics_node_t;


static ngx_shm_zone_t *ngx_http_logistics_zone_create(ngx_conf_t *cf,
    ngx_str_t *name, ssize_t size, ngx_uint_t keep_live);
static ngx_int_t ngx_http_logistics_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_logistics_node_free(ngx_http_logistics_zone_t *zone,
    ngx_http_logistics_node_t *ln);
static void *ngx_http_logistics_zone_alloc(ngx_http_logistics_zone_t *zone,
    size_t size, int64_t now);
static void ngx_http_logistics_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_rbtree_node_t *ngx_http_logistics_zone_find(
    ngx_http_logistics_zone_t *zone, ngx_str_t *key, uint32_t hash);
static void ngx_http_logistics_zone_expire(ngx_http_logistics_zone_t *zone,
    int64_t now, ngx_uint_t force);
static ngx_int_t ngx_http_logistics_zone_store(
    ngx_http_logistics_zone_t *zone, ngx_str_t *key, uint32_t hash,
    int64_t value, int64_t expires, int64_t now, ngx_log_t *log);
static ngx_int_t ngx_http_logistics_blob_put_locked(
    ngx_http_logistics_zone_t *zone, ngx_str_t *key, u_char *data,
    size_t len, int64_t expires, int64_t now, ngx_log_t *log);
static u_char *ngx_http_logistics_blob_locked(
    ngx_http_logistics_zone_t *zone, ngx_str_t *key, int64_t now,
    size_t *len);


ngx_shm_zone_t *
ngx_http_logistics_zone_add(ngx_conf_t *cf, ngx_str_t *value)
{
    u_char     *p;
    ssize_t     size;
    ngx_str_t   name, s;

    p = (u_char *) ngx_strchr(value->data, ':');

    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected name:size", value);
        return NULL;
    }

    name.data = value->data;
    name.len = p - value->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\"", value);
        return NULL;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", value);
        return NULL;
    }

    return ngx_http_logistics_zone_create(cf, &name, size, 0);
}


ngx_shm_zone_t *
ngx_http_logistics_zone_add_kept(ngx_conf_t *cf, ngx_str_t *name,
    size_t size)
{
    size = ngx_max(size, 8 * ngx_pagesize);

    return ngx_http_logistics_zone_create(cf, name, (ssize_t) size, 1);
}


static ngx_shm_zone_t *
ngx_http_logistics_zone_create(ngx_conf_t *cf, ngx_str_t *name,
    ssize_t size, ngx_uint_t keep_live)
{
    ngx_shm_zone_t             *shm_zone;
    ngx_http_logistics_zone_t  *zone;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->keep_live = keep_live;

    shm_zone = ngx_shared_memory_add(cf, name, size,
                                     &ngx_http_logistics_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", name);
        return NULL;
    }

    if (ngx_array_init(&zone->inits, cf->pool, 2,
                       2 * sizeof(void *))
        != NGX_OK)
    {
        return NULL;
    }

    shm_zone->init = ngx_http_logistics_zone_init;
    shm_zone->data = zone;

    return shm_zone;
}


ngx_int_t
ngx_http_logistics_zone_on_init(ngx_conf_t *cf, ngx_shm_zone_t *shm_zone,
    ngx_http_logistics_zone_init_pt handler, void *data)
{
    void                       **h;
    ngx_http_logistics_zone_t   *zone;

    zone = shm_zone->data;

    h = ngx_array_push(&zone->inits);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h[0] = (void *) handler;
    h[1] = data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_zone_ready(ngx_shm_zone_t *shm_zone)
{
    void                            **h;
    ngx_uint_t                        i;
    ngx_http_logistics_zone_t        *zone;
    ngx_http_logistics_zone_init_pt   handler;

    zone = shm_zone->data;
    h = zone->inits.elts;

    for (i = 0; i < zone->inits.nelts; i++) {
        handler = (ngx_http_logistics_zone_init_pt) h[2 * i];

        if (handler(shm_zone, h[2 * i + 1]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_logistics_zone_t  *ozone = data;

    size_t                      len;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* a reload: keep every counter */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return ngx_http_logistics_zone_ready(shm_zone);
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return ngx_http_logistics_zone_ready(shm_zone);
    }

    zone->sh = ngx_slab_alloc(zone->shpool,
                              sizeof(ngx_http_logistics_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_logistics_rbtree_insert);
    ngx_queue_init(&zone->sh->queue);
    zone->sh->blocks = NULL;

    len = sizeof(" in logistics_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in logistics_zone \"%V\"%Z",
                &shm_zone->shm.name);

    zone->shpool->log_nomem = 0;

    return ngx_http_logistics_zone_ready(shm_zone);
}


void *
ngx_http_logistics_zone_block(ngx_shm_zone_t *shm_zone, const u_char *name,
    size_t len, size_t size)
{
    u_char                      *p;
    uint32_t                     hash;
    ngx_http_logistics_block_t  *b;
    ngx_http_logistics_zone_t   *zone;

    zone = shm_zone->data;
    hash = ngx_crc32_short((u_char *) name, len);

    if (len > 65535) {
        return NULL;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (b = zone->sh->blocks; b != NULL; b = b->next) {
        if (b->hash == hash && b->len == len
            && ngx_memcmp(b->name, name, len) == 0)
        {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return b->size == size ? b->data : NULL;
        }
    }

    p = ngx_slab_calloc_locked(zone->shpool,
                               sizeof(ngx_http_logistics_block_t) + len + 8
                               + size);
    if (p == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NULL;
    }

    b = (ngx_http_logistics_block_t *) p;
    b->hash = hash;
    b->len = (u_short) len;
    b->size = size;
    ngx_memcpy(b->name, name, len);
    b->data = ngx_align_ptr(b->name + len, 8);

    b->next = zone->sh->blocks;
    zone->sh->blocks = b;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return b->data;
}


void *
ngx_http_logistics_zone_calloc(ngx_shm_zone_t *shm_zone, size_t size)
{
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    return ngx_slab_calloc(zone->shpool, size);
}


void
ngx_http_logistics_zone_free(ngx_shm_zone_t *shm_zone, void *p)
{
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_slab_free(zone->shpool, p);
}


static void
ngx_http_logistics_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_logistics_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            n = (ngx_http_logistics_node_t *) &node->color;
            t = (ngx_http_logistics_node_t *) &temp->color;

            p = (ngx_memn2cmp(n->data, t->data, n->len, t->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_rbtree_node_t *
ngx_http_logistics_zone_find(ngx_http_logistics_zone_t *zone, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                   rc;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_logistics_node_t  *n;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_logistics_node_t *) &node->color;
        rc = ngx_memn2cmp(key->data, n->data, key->len, (size_t) n->len);

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Drops states that no longer matter from the cold end of the LRU queue:
 * at most two per call normally (cheap, amortised), or one live state when
 * "force" is set because the zone is full.  A zone that keeps its live
 * entries is swept for expired ones instead.
 */

static void
ngx_http_logistics_zone_expire(ngx_http_logistics_zone_t *zone, int64_t now,
    ngx_uint_t force)
{
    ngx_uint_t                  n, steps, expired;
    ngx_queue_t                *q, *prev;
    ngx_http_logistics_node_t  *ln;

    if (force && zone->keep_live) {

        q = ngx_queue_last(&zone->sh->queue);

        for (n = 0;
             n < NGX_HTTP_LOGISTICS_SWEEP_MAX
             && q != ngx_queue_sentinel(&zone->sh->queue);
             n++)
        {
            prev = ngx_queue_prev(q);
            ln = ngx_queue_data(q, ngx_http_logistics_node_t, queue);

            if (ln->expires != 0 && ln->expires <= now) {
                ngx_http_logistics_node_free(zone, ln);
            }

            q = prev;
        }

        return;
    }

    for (n = 0, steps = 0; n < 3 && steps < 16; steps++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        ln = ngx_queue_data(q, ngx_http_logistics_node_t, queue);

        expired = (ln->expires != 0 && ln->expires <= now);

        if (ln->kept && !expired) {
            if (!force) {
                return;
            }

            /* a flag is never evicted for room: to the warm end with it */
            ngx_queue_remove(q);
            ngx_queue_insert_head(&zone->sh->queue, q);
            continue;
        }

        if (!expired && (!force || zone->keep_live)) {
            return;
        }

        if (force && (ln->expires == 0 || ln->expires > now)) {
            ngx_http_logistics_metrics_evicted(ln->data, ln->len, ln->doc);
        }

        force = 0;
        n++;

        ngx_http_logistics_node_free(zone, ln);
    }
}


static void
ngx_http_logistics_node_free(ngx_http_logistics_zone_t *zone,
    ngx_http_logistics_node_t *ln)
{
    ngx_rbtree_node_t  *node;

    ngx_queue_remove(&ln->queue);

    node = (ngx_rbtree_node_t *)
               ((u_char *) ln - offsetof(ngx_rbtree_node_t, color));

    if (ln->doc && ln->value) {
        ngx_slab_free_locked(zone->shpool, (void *) (uintptr_t) ln->value);
    }

    ngx_rbtree_delete(&zone->sh->rbtree, node);
    ngx_slab_free_locked(zone->shpool, node);
}


/*
 * An allocation under the lock.  When the zone is full, the coldest
 * entries make room (several, as a freed chunk of another size class
 * frees no page), or, in a zone that keeps its live entries, the expired
 * ones only.
 */

static void *
ngx_http_logistics_zone_alloc(ngx_http_logistics_zone_t *zone, size_t size,
    int64_t now)
{
    void        *p;
    ngx_uint_t   n;

    p = ngx_slab_alloc_locked(zone->shpool, size);

    if (p != NULL) {
        return p;
    }

    if (zone->keep_live) {
        ngx_http_logistics_zone_expire(zone, now, 1);
        return ngx_slab_alloc_locked(zone->shpool, size);
    }

    for (n = 0; n < NGX_HTTP_LOGISTICS_EVICT_MAX; n++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            break;
        }

        ngx_http_logistics_zone_expire(zone, now, 1);

        p = ngx_slab_alloc_locked(zone->shpool, size);
        if (p != NULL) {
            return p;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_logistics_zone_store(ngx_http_logistics_zone_t *zone,
    ngx_str_t *key, uint32_t hash, int64_t value, int64_t expires,
    int64_t now, ngx_log_t *log)
{
    size_t                      size;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;

    node = ngx_http_logistics_zone_find(zone, key, hash);

    if (node != NULL) {
        ln = (ngx_http_logistics_node_t *) &node->color;
        ln->value = value;
        ln->expires = expires;

        ngx_queue_remove(&ln->queue);
        ngx_queue_insert_head(&zone->sh->queue, &ln->queue);

        return NGX_OK;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_logistics_node_t, data)
           + key->len;

    node = ngx_http_logistics_zone_alloc(zone, size, now);

    if (node == NULL) {
        if (!zone->keep_live) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "could not allocate node%s", zone->shpool->log_ctx);
        }

        return NGX_ERROR;
    }

    node->key = hash;

    ln = (ngx_http_logistics_node_t *) &node->color;
    ln->doc = 0;
    ln->kept = 0;
    ln->len = (u_short) key->len;
    ln->value = value;
    ln->expires = expires;
    ngx_memcpy(ln->data, key->data, key->len);

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_insert_head(&zone->sh->queue, &ln->queue);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_zone_limit(ngx_shm_zone_t *shm_zone,
    ngx_http_logistics_limit_t *limits, ngx_uint_t n, int64_t now,
    ngx_log_t *log)
{
    int64_t                     tat;
    uint32_t                    hash[2];
    ngx_int_t                   rc;
    ngx_uint_t                  i, allowed;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    if (n > 2) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        hash[i] = ngx_crc32_short(limits[i].key.data, limits[i].key.len);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_logistics_zone_expire(zone, now, 0);

    allowed = 1;

    for (i = 0; i < n; i++) {
        node = ngx_http_logistics_zone_find(zone, &limits[i].key, hash[i]);
        tat = 0;

        if (node != NULL) {
            ln = (ngx_http_logistics_node_t *) &node->color;

            if (ln->expires == 0 || ln->expires > now) {
                tat = ln->value;
            }
        }

        lg_rate_check(limits[i].rate, tat, now, &limits[i].result);

        if (!limits[i].result.allowed) {
            allowed = 0;
        }
    }

    rc = allowed ? NGX_OK : NGX_DECLINED;

    /* all or nothing: a refused request consumes no limit */

    for (i = 0; allowed && i < n; i++) {
        if (ngx_http_logistics_zone_store(zone, &limits[i].key, hash[i],
                                          limits[i].result.tat,
                                          limits[i].result.tat, now, log)
            != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* the document node of "key", created empty when missing; under the lock */

static ngx_http_logistics_doc_t *
ngx_http_logistics_doc_get(ngx_http_logistics_zone_t *zone, ngx_str_t *key,
    ngx_uint_t create, ngx_log_t *log)
{
    uint32_t                    hash;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_doc_t   *doc;
    ngx_http_logistics_node_t  *ln;

    hash = ngx_crc32_short(key->data, key->len);

    node = ngx_http_logistics_zone_find(zone, key, hash);

    if (node == NULL) {
        if (!create
            || ngx_http_logistics_zone_store(zone, key, hash, 0, 0, 0, log)
               != NGX_OK)
        {
            return NULL;
        }

        node = ngx_http_logistics_zone_find(zone, key, hash);
        if (node == NULL) {
            return NULL;
        }
    }

    ln = (ngx_http_logistics_node_t *) &node->color;
    ln->doc = 1;

    if (ln->value == 0) {
        if (!create) {
            return NULL;
        }

        doc = ngx_http_logistics_zone_alloc(zone,
                                            sizeof(ngx_http_logistics_doc_t),
                                            0);
        if (doc == NULL) {
            return NULL;
        }

        ngx_memzero(doc, sizeof(ngx_http_logistics_doc_t));

        /* the node may have been evicted by that allocation */
        node = ngx_http_logistics_zone_find(zone, key, hash);
        if (node == NULL) {
            ngx_slab_free_locked(zone->shpool, doc);
            return NULL;
        }

        ln = (ngx_http_logistics_node_t *) &node->color;

        ln->value = (int64_t) (uintptr_t) doc;
    }

    /* documents are never cold: keep them at the head of the LRU */
    ngx_queue_remove(&ln->queue);
    ngx_queue_insert_head(&zone->sh->queue, &ln->queue);

    return (ngx_http_logistics_doc_t *) (uintptr_t) ln->value;
}


ngx_int_t
ngx_http_logistics_doc_check(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    int64_t now, int64_t cooldown, ngx_uint_t unknown_kid, int64_t *version,
    ngx_uint_t *claim)
{
    ngx_http_logistics_doc_t   *doc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;
    *claim = NGX_HTTP_LOGISTICS_FETCH_NONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    doc = ngx_http_logistics_doc_get(zone, key, 1, shm_zone->shm.log);

    if (doc == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    *version = doc->version;

    /* a fetch that has not finished in 30s is considered lost */

    if (doc->fetching == 0 || now - doc->fetching > 30000) {

        if (doc->version == 0) {
            /* the very first key set: every request may try */
            *claim = NGX_HTTP_LOGISTICS_FETCH_DUE;

        } else if (now - doc->attempted < cooldown) {
            /*
             * Within the cooldown of the last fetch, whether it was a
             * scheduled refresh that failed or a hunt for an unknown kid:
             * an IdP that is down is not asked on every request.
             */

        } else if (now >= doc->expires) {
            *claim = NGX_HTTP_LOGISTICS_FETCH_DUE;

        } else if (unknown_kid) {
            *claim = NGX_HTTP_LOGISTICS_FETCH_UNKNOWN;
        }

        if (*claim) {
            doc->fetching = now;
            doc->attempted = now;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_doc_version(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    int64_t *version)
{
    ngx_http_logistics_doc_t   *doc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    doc = ngx_http_logistics_doc_get(zone, key, 0, shm_zone->shm.log);
    *version = doc ? doc->version : 0;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_doc_stored(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    int64_t *stored)
{
    ngx_int_t                   rc;
    ngx_http_logistics_doc_t   *doc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    doc = ngx_http_logistics_doc_get(zone, key, 0, shm_zone->shm.log);

    rc = NGX_DECLINED;

    if (doc != NULL && doc->version != 0) {
        *stored = doc->stored;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_logistics_doc_copy(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    ngx_pool_t *pool, ngx_str_t *data, int64_t *version)
{
    ngx_http_logistics_doc_t   *doc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    doc = ngx_http_logistics_doc_get(zone, key, 0, shm_zone->shm.log);

    if (doc == NULL || doc->version == 0) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    data->data = ngx_pnalloc(pool, doc->len + 1);
    if (data->data == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(data->data, doc->data, doc->len);
    data->len = doc->len;
    *version = doc->version;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_doc_store(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    ngx_str_t *data, int64_t now, int64_t expires, ngx_log_t *log)
{
    uint32_t                    hash;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_doc_t   *doc, *fresh;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    doc = ngx_http_logistics_doc_get(zone, key, 1, log);

    if (doc == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    doc->fetching = 0;

    if (data == NULL) {
        /* stale-if-error: the last good document stays */
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_OK;
    }

    fresh = ngx_http_logistics_zone_alloc(zone,
                                          sizeof(ngx_http_logistics_doc_t)
                                          + data->len, 0);
    if (fresh == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "could not allocate %uz bytes%s", data->len,
                      zone->shpool->log_ctx);
        return NGX_ERROR;
    }

    hash = ngx_crc32_short(key->data, key->len);
    node = ngx_http_logistics_zone_find(zone, key, hash);

    if (node == NULL) {
        /* evicted to make room for the new text: nothing to replace */
        ngx_slab_free_locked(zone->shpool, fresh);
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    ln = (ngx_http_logistics_node_t *) &node->color;
    doc = (ngx_http_logistics_doc_t *) (uintptr_t) ln->value;

    *fresh = *doc;

    /*
     * Versions only grow, even when the document was evicted and created
     * again: a worker that parsed version N must never take a newer text
     * that also says N for the one it has.
     */
    fresh->version = ngx_max(doc->version + 1, now);
    fresh->expires = expires;
    fresh->stored = now;
    fresh->len = data->len;
    ngx_memcpy(fresh->data, data->data, data->len);

    ln->value = (int64_t) (uintptr_t) fresh;

    ngx_slab_free_locked(zone->shpool, doc);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_zone_blob_put(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    u_char *data, size_t len, int64_t expires, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = ngx_http_logistics_blob_put_locked(zone, key, data, len, expires, 0,
                                            log);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_http_logistics_blob_put_locked(ngx_http_logistics_zone_t *zone,
    ngx_str_t *key, u_char *data, size_t len, int64_t expires, int64_t now,
    ngx_log_t *log)
{
    u_char                     *blob;
    uint32_t                    hash;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;

    hash = ngx_crc32_short(key->data, key->len);

    /* the old record stays until the new one has its place */

    blob = ngx_http_logistics_zone_alloc(zone, len + sizeof(size_t), now);

    if (blob == NULL) {
        return NGX_DECLINED;
    }

    ngx_memcpy(blob, &len, sizeof(size_t));
    ngx_memcpy(blob + sizeof(size_t), data, len);

    node = ngx_http_logistics_zone_find(zone, key, hash);

    if (node != NULL) {
        ln = (ngx_http_logistics_node_t *) &node->color;

        if (ln->doc && ln->value) {
            ngx_slab_free_locked(zone->shpool,
                                 (void *) (uintptr_t) ln->value);
        }

        ln->value = 0;
    }

    if (ngx_http_logistics_zone_store(zone, key, hash,
                                      (int64_t) (uintptr_t) blob, expires,
                                      now, log)
        != NGX_OK)
    {
        ngx_slab_free_locked(zone->shpool, blob);
        return NGX_DECLINED;
    }

    node = ngx_http_logistics_zone_find(zone, key, hash);
    ln = (ngx_http_logistics_node_t *) &node->color;
    ln->doc = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_zone_blob_get(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    int64_t now, ngx_pool_t *pool, ngx_str_t *out)
{
    u_char                     *blob;
    size_t                      len;
    uint32_t                    hash;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;
    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_http_logistics_zone_find(zone, key, hash);

    if (node == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    ln = (ngx_http_logistics_node_t *) &node->color;

    if (!ln->doc || ln->value == 0 || (ln->expires && ln->expires <= now)) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    blob = (u_char *) (uintptr_t) ln->value;
    ngx_memcpy(&len, blob, sizeof(size_t));

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, blob + sizeof(size_t), len);
    out->len = len;

    ngx_queue_remove(&ln->queue);
    ngx_queue_insert_head(&zone->sh->queue, &ln->queue);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


/* the unexpired blob of "key", under the lock; NULL when none */

static u_char *
ngx_http_logistics_blob_locked(ngx_http_logistics_zone_t *zone,
    ngx_str_t *key, int64_t now, size_t *len)
{
    u_char                     *blob;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;

    node = ngx_http_logistics_zone_find(zone, key,
                                        ngx_crc32_short(key->data, key->len));
    if (node == NULL) {
        return NULL;
    }

    ln = (ngx_http_logistics_node_t *) &node->color;

    if (!ln->doc || ln->value == 0 || (ln->expires && ln->expires <= now)) {
        return NULL;
    }

    blob = (u_char *) (uintptr_t) ln->value;
    ngx_memcpy(len, blob, sizeof(size_t));

    return blob + sizeof(size_t);
}


ngx_int_t
ngx_http_logistics_zone_blob_claim(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    u_char *data, size_t len, int64_t now, int64_t expires, ngx_pool_t *pool,
    ngx_str_t *out, ngx_log_t *log)
{
    u_char                     *old;
    size_t                      olen;
    ngx_int_t                   rc;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    old = ngx_http_logistics_blob_locked(zone, key, now, &olen);

    if (old != NULL) {
        out->data = ngx_pnalloc(pool, olen);

        if (out->data == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }

        ngx_memcpy(out->data, old, olen);
        out->len = olen;

        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    rc = ngx_http_logistics_blob_put_locked(zone, key, data, len, expires,
                                            now, log);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    /* full: nothing live was evicted for it */
    return rc == NGX_OK ? NGX_OK : NGX_BUSY;
}


ngx_int_t
ngx_http_logistics_zone_blob_swap(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    ngx_str_t *expect, u_char *data, size_t len, int64_t expires,
    ngx_log_t *log)
{
    u_char                     *old;
    size_t                      olen;
    ngx_int_t                   rc;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    old = ngx_http_logistics_blob_locked(zone, key, 0, &olen);

    if (old == NULL || olen != expect->len
        || ngx_memcmp(old, expect->data, olen) != 0)
    {
        /* not ours any more (expired and claimed again): leave it */
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (data != NULL) {
        /* when it does not fit, our lock stays: never a key unguarded */
        rc = ngx_http_logistics_blob_put_locked(zone, key, data, len,
                                                expires,
                                                ngx_http_logistics_now(),
                                                log);

    } else {
        node = ngx_http_logistics_zone_find(zone, key,
                                        ngx_crc32_short(key->data, key->len));
        ln = (ngx_http_logistics_node_t *) &node->color;

        ngx_slab_free_locked(zone->shpool, (void *) (uintptr_t) ln->value);
        ln->value = 0;
        ln->expires = 1;       /* gone: the next expiry pass drops it */
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/*
 * Flags: a partner's suspension or a token's revocation that Redis
 * reported, kept with the lifetime Redis gave it (0: until cleared) and
 * never evicted for room, so that a node still refuses them while Redis
 * cannot answer.
 */

ngx_int_t
ngx_http_logistics_zone_flag_set(ngx_shm_zone_t *shm_zone, ngx_str_t *key,
    int64_t expires, int64_t now, ngx_log_t *log)
{
    uint32_t                    hash;
    ngx_int_t                   rc;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;
    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&zone->shpool->mutex);

    rc = ngx_http_logistics_zone_store(zone, key, hash, 1, expires, now, log);

    if (rc == NGX_OK) {
        node = ngx_http_logistics_zone_find(zone, key, hash);
        ln = (ngx_http_logistics_node_t *) &node->color;
        ln->kept = 1;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


ngx_uint_t
ngx_http_logistics_zone_flag_find(ngx_shm_zone_t *shm_zone, ngx_str_t *keys,
    ngx_uint_t n, int64_t now)
{
    ngx_uint_t                  i, found;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;
    found = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < n && found == 0; i++) {
        node = ngx_http_logistics_zone_find(zone, &keys[i],
                                 ngx_crc32_short(keys[i].data, keys[i].len));
        if (node == NULL) {
            continue;
        }

        ln = (ngx_http_logistics_node_t *) &node->color;

        if (ln->kept && (ln->expires == 0 || ln->expires > now)) {
            found = i + 1;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


void
ngx_http_logistics_zone_flag_clear(ngx_shm_zone_t *shm_zone, ngx_str_t *keys,
    ngx_uint_t n)
{
    ngx_uint_t                  i;
    ngx_rbtree_node_t          *node;
    ngx_http_logistics_node_t  *ln;
    ngx_http_logistics_zone_t  *zone;

    zone = shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < n; i++) {
        node = ngx_http_logistics_zone_find(zone, &keys[i],
                                 ngx_crc32_short(keys[i].data, keys[i].len));
        if (node == NULL) {
            continue;
        }

        ln = (ngx_http_logistics_node_t *) &node->color;

        if (ln->kept) {
            ngx_http_logistics_node_free(zone, ln);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}
