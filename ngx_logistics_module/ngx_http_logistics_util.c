
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ngx_http_logistics_util.h"


/*
 * The cached time in microseconds (millisecond resolution): state with a
 * lifetime in the zone (limits, idempotency locks) must not be rounded
 * to whole seconds as ngx_time() would.
 */

int64_t
ngx_http_logistics_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000000 + (int64_t) tp->msec * 1000;
}


/*
 * Request and trace ids need unpredictable bytes on every request.  One
 * RAND_bytes() call per request costs more than the rest of the pipeline
 * (provider lookups, DRBG locking), so the worker draws them in blocks.
 * The block is tied to the pid that drew it: a forked process never
 * reuses its parent's bytes.
 */

ngx_int_t
ngx_http_logistics_random(u_char *buf, size_t len)
{
    static u_char      pool[4096];
    static size_t      left;
    static ngx_pid_t   owner;

    if (len > sizeof(pool)) {
        return RAND_bytes(buf, len) == 1 ? NGX_OK : NGX_ERROR;
    }

    if (owner != ngx_pid || left < len) {
        if (RAND_bytes(pool, sizeof(pool)) != 1) {
            return NGX_ERROR;
        }

        owner = ngx_pid;
        left = sizeof(pool);
    }

    ngx_memcpy(buf, pool + sizeof(pool) - left, len);

    /* bytes handed out are not kept around */
    ngx_memzero(pool + sizeof(pool) - left, len);
    left -= len;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_copy(ngx_pool_t *pool, ngx_str_t *dst,
    const lg_str_t *src)
{
    dst->len = 0;

    if (src->len == 0) {
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(pool, src->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->len = src->len;

    return NGX_OK;
}


ngx_table_elt_t *
ngx_http_logistics_add_out_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;
    h->lowcase_key = NULL;

    return h;
}


void
ngx_http_logistics_suspend(ngx_http_request_t *r)
{
    /* a client that goes away while we wait is noticed and finalised */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


void
ngx_http_logistics_resume(ngx_http_request_t *r)
{
    ngx_connection_t  *c;

    c = r->connection;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
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


/* the whole body in one buffer (memory, or nginx's temp file) */

ngx_int_t
ngx_http_logistics_body_bytes(ngx_http_request_t *r, u_char **data,
    size_t *len)
{
    u_char       *p;
    off_t         total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    total = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        *data = (u_char *) "";
        *len = 0;
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        /* the usual case, a body that fit client_body_buffer_size */
        *len = cl->buf->last - cl->buf->pos;
        *data = *len ? cl->buf->pos : (u_char *) "";
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            /* a chunked body ends on an empty buffer, pos NULL */
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        /* just written by nginx, so from the page cache */
        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    *len = p - *data;

    return NGX_OK;
}


/*
 * Reads a body a step needs whole (a webhook's signature, an event to
 * sign): NGX_AGAIN, the handler resumes the pipeline; or the status that
 * ended it, 413 (over "max" by Content-Length, or client_max_body_size)
 * or another special response (bad chunks, the client gone).
 */

ngx_int_t
ngx_http_logistics_read_whole_body(ngx_http_request_t *r, off_t max,
    ngx_http_client_body_handler_pt handler)
{
    ngx_int_t  rc;

    if (r->headers_in.content_length_n > max) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    rc = ngx_http_read_client_request_body(r, handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /*
     * Balances the reference the body reader took.  When the body was
     * all there, the reader has called the handler already and the
     * pipeline went on from there.
     */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_AGAIN;
}
