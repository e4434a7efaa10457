
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_metrics.h"
#include "ngx_http_logistics_metrics_int.h"


static uint64_t *ngx_http_logistics_metrics_sum(ngx_http_request_t *r,
    ngx_http_logistics_mzone_t *mz);
static void ngx_http_logistics_metrics_gauges(ngx_http_request_t *r,
    ngx_http_logistics_mzone_t *mz, uint64_t *values);
static ngx_int_t ngx_http_logistics_metrics_send(ngx_http_request_t *r,
    const char *type, u_char *data, size_t len, ngx_uint_t page);
static void *ngx_http_logistics_metrics_buffer(ngx_http_request_t *r,
    ngx_uint_t which, size_t size);
static void ngx_http_logistics_metrics_release(void *data);


/*
 * The endpoint: the Prometheus text format 0.0.4 or OpenMetrics 1.0 as
 * Accept asks, and under .../status the status page (a browser) or its
 * JSON view (the page's own polls).
 */

ngx_int_t
ngx_http_logistics_metrics_handler(ngx_http_request_t *r)
{
    u_char                                  *buf;
    size_t                                   size, len;
    ngx_int_t                                rc;
    ngx_uint_t                               i, status_page;
    ngx_str_t                                accept;
    uint64_t                                *values;
    ngx_time_t                              *tp;
    ngx_list_part_t                         *part;
    ngx_table_elt_t                         *h;
    lg_metrics_scrape_t                      scrape;
    lg_metrics_format_e                      format;
    const char                              *type;
    ngx_http_logistics_mzone_t              *mz;
    ngx_http_logistics_metrics_loc_conf_t   *mlcf;
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_logistics_metrics_module);
    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_metrics_module);
    mz = mmcf->zone->data;

    ngx_str_null(&accept);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (ngx_http_logistics_header_is(&h[i], "Accept")) {
            accept = h[i].value;
            break;
        }
    }

    format = lg_metrics_negotiate((const char *) accept.data, accept.len);

    status_page = r->uri.len >= sizeof("/status") - 1
                  && ngx_strncmp(r->uri.data + r->uri.len
                                 - (sizeof("/status") - 1),
                                 "/status", sizeof("/status") - 1) == 0;

    if (status_page && format != LG_METRICS_JSON) {
        format = LG_METRICS_HTML;
    }

    if (format == LG_METRICS_HTML) {
        return ngx_http_logistics_metrics_send(r, "text/html; charset=utf-8",
                                               (u_char *) lg_metrics_page,
                                               lg_metrics_page_len, 1);
    }

    values = ngx_http_logistics_metrics_sum(r, mz);
    if (values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_logistics_metrics_gauges(r, mz, values);

    tp = ngx_timeofday();

    ngx_memzero(&scrape, sizeof(lg_metrics_scrape_t));
    scrape.values = values;
    scrape.digest.data = (const char *) mz->sh->digest;
    scrape.digest.len = 64;
    scrape.now = (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
    scrape.skip_zero = mlcf->zeros ? 0 : 1;
    scrape.redis = mmcf->lmcf->redis != NULL;

    if (format == LG_METRICS_JSON) {
        size = lg_metrics_json_bound(mmcf->layout, scrape.digest.len);
        type = "application/json";

    } else {
        size = lg_metrics_render_bound(mmcf->layout, format,
                                       scrape.digest.len);
        type = format == LG_METRICS_OPENMETRICS
               ? LG_METRICS_OPENMETRICS_TYPE : LG_METRICS_PROMETHEUS_TYPE;
    }

    /* pages of the bound never written are never touched */
    buf = ngx_http_logistics_metrics_buffer(r, NGX_HTTP_LOGISTICS_MBUF_TEXT,
                                            size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (format == LG_METRICS_JSON) {
        len = lg_metrics_json(mmcf->layout, &scrape, (char *) buf, size);

    } else {
        len = lg_metrics_render(mmcf->layout, &scrape, format, (char *) buf,
                                size);
    }

    if (len > size) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "logistics: metrics exposition of %uz bytes over its "
                      "bound of %uz", len, size);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_logistics_metrics_send(r, type, buf, len, 0);
}


/*
 * Every generation's base and sets, remapped into this configuration's
 * layout (the same numbering, unless a reload changed the policy).
 */

static uint64_t *
ngx_http_logistics_metrics_sum(ngx_http_request_t *r,
    ngx_http_logistics_mzone_t *mz)
{
    uint64_t                   *sum, *tmp;
    ngx_uint_t                  i;
    ngx_http_logistics_mgen_t  *gen, *own;

    own = mz->gen;

    sum = ngx_http_logistics_metrics_buffer(r, NGX_HTTP_LOGISTICS_MBUF_SUM,
                                            own->nslots * sizeof(uint64_t));
    if (sum == NULL) {
        return NULL;
    }

    ngx_memzero(sum, own->nslots * sizeof(uint64_t));

    ngx_shmtx_lock(&mz->shpool->mutex);

    ngx_http_logistics_metrics_reap(mz);
    ngx_http_logistics_metrics_retire(mz, r->connection->log);

    for (gen = mz->sh->gens; gen != NULL; gen = gen->next) {

        if (gen == own) {
            lg_metrics_add(own->layout, sum, gen->base, LG_METRICS_ADD_ALL);

            for (i = 0; i < gen->nsets; i++) {
                if (gen->sets[i].pid != 0) {
                    lg_metrics_add(own->layout, sum, gen->sets[i].values,
                                   LG_METRICS_ADD_ALL);
                }
            }

            continue;
        }

        tmp = ngx_alloc(gen->nslots * sizeof(uint64_t), r->connection->log);
        if (tmp == NULL) {
            ngx_shmtx_unlock(&mz->shpool->mutex);
            return NULL;
        }

        ngx_memcpy(tmp, gen->base, gen->nslots * sizeof(uint64_t));

        for (i = 0; i < gen->nsets; i++) {
            if (gen->sets[i].pid != 0) {
                lg_metrics_add(gen->layout, tmp, gen->sets[i].values,
                               LG_METRICS_ADD_ALL);
            }
        }

        (void) lg_metrics_remap(gen->layout, tmp, own->layout, sum,
                                LG_METRICS_ADD_ALL);

        ngx_free(tmp);
    }

    ngx_shmtx_unlock(&mz->shpool->mutex);

    return sum;
}


/* the gauges read when scraped: key-set ages, the zone, the policy */

static void
ngx_http_logistics_metrics_gauges(ngx_http_request_t *r,
    ngx_http_logistics_mzone_t *mz, uint64_t *values)
{
    size_t                           i, j, n, slot;
    int64_t                          now, age, stored;
    lg_str_t                         name;
    ngx_str_t                        key;
    ngx_slab_pool_t                 *sp;
    const lg_issuer_t               *issuer;
    const lg_metrics_layout_t       *layout;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = mz->mmcf->lmcf;
    layout = mz->mmcf->layout;

    now = ngx_http_logistics_now();

    n = lg_metrics_dim_size(layout, LG_DIM_ISSUER);

    for (i = 0; i < n; i++) {
        slot = lg_metrics_slot1(layout, LG_MF_JWKS_KEY_SET_AGE, i);
        name = lg_metrics_dim_value(layout, LG_DIM_ISSUER, i, 0);
        issuer = NULL;

        for (j = 0; i > 0 && j < lmcf->policy->nissuers; j++) {
            if (lmcf->policy->issuers[j].name.len == name.len
                && ngx_strncmp(lmcf->policy->issuers[j].name.data,
                               name.data, name.len) == 0)
            {
                issuer = &lmcf->policy->issuers[j];
                break;
            }
        }

        age = LG_METRICS_NAN;

        if (issuer != NULL && issuer->jwks_uri.len == 0) {
            /* keys from a file or a secret: read with the policy */
            age = now - mz->sh->loaded;

        } else if (issuer != NULL && lmcf->zone != NULL) {
            key.len = sizeof("jwks:") - 1 + issuer->name.len;
            key.data = ngx_pnalloc(r->pool, key.len);

            if (key.data != NULL) {
                ngx_sprintf(key.data, "jwks:%s", issuer->name.data);

                if (ngx_http_logistics_doc_stored(lmcf->zone, &key, &stored)
                    == NGX_OK)
                {
                    age = now - stored * 1000;
                }
            }
        }

        lg_metrics_set(layout, values, slot, age == LG_METRICS_NAN
                                             ? age : ngx_max(age, 0));
    }

    if (lmcf->zone != NULL) {
        sp = (ngx_slab_pool_t *) lmcf->zone->shm.addr;

        ngx_shmtx_lock(&sp->mutex);
        n = sp->pfree * ngx_pagesize;
        ngx_shmtx_unlock(&sp->mutex);

        lg_metrics_set(layout, values,
                       lg_metrics_slot1(layout, LG_MF_ZONE_BYTES,
                                        LG_ZONE_FREE),
                       (int64_t) n);
        lg_metrics_set(layout, values,
                       lg_metrics_slot1(layout, LG_MF_ZONE_BYTES,
                                        LG_ZONE_USED),
                       (int64_t) (lmcf->zone->shm.size - n));
    }

    lg_metrics_set(layout, values,
                   lg_metrics_slot0(layout, LG_MF_POLICY_LOADED),
                   mz->sh->loaded);
}


static ngx_int_t
ngx_http_logistics_metrics_send(ngx_http_request_t *r, const char *type,
    u_char *data, size_t len, ngx_uint_t page)
{
    ngx_int_t     rc;
    ngx_str_t     value;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ngx_str_set(&value, "no-store");

    if (ngx_http_logistics_add_out_header(r, "Cache-Control", &value)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "Accept");

    if (ngx_http_logistics_add_out_header(r, "Vary", &value) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (page) {
        /* the page's own inline script and style, and its polls: no more */
        ngx_str_set(&value, "default-src 'none'; script-src 'unsafe-inline'; "
                    "style-src 'unsafe-inline'; connect-src 'self'");

        if (ngx_http_logistics_add_out_header(r, "Content-Security-Policy",
                                              &value)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the worker's buffer, or one of the request's while a scrape sends it */

static void *
ngx_http_logistics_metrics_buffer(ngx_http_request_t *r, ngx_uint_t which,
    size_t size)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_logistics_mbuf_t  *b;

    b = &ngx_http_logistics_metrics_bufs[which];

    if (b->busy) {
        return ngx_palloc(r->pool, size);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    if (b->size < size) {
        ngx_free(b->data);

        b->size = 0;
        b->data = ngx_alloc(size, r->connection->log);
        if (b->data == NULL) {
            return NULL;
        }

        b->size = size;
    }

    b->busy = 1;

    cln->handler = ngx_http_logistics_metrics_release;
    cln->data = b;

    return b->data;
}


static void
ngx_http_logistics_metrics_release(void *data)
{
    ngx_http_logistics_mbuf_t  *b = data;

    b->busy = 0;
}
