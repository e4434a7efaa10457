
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_metrics.h"
#include "lg_apikey.h"
#include "lg_keys.h"


/*
 * Steps "idempotency" (Idempotency-Key, IETF httpapi draft).  A key is
 * claimed atomically with a lock record: in Redis by the limit script
 * (SET NX PX GET, in the round trip that also checks the limits), or in
 * the shared zone.  The response of the request that holds the claim is
 * captured on its way out and stored in place of the lock; a retry with
 * the same key and the same request is answered from the stored
 * response; a retry while the first is in flight gets 409, the same key
 * for a different request 422.  A 5xx answer, an upstream timeout or a
 * client that goes away releases the claim, so the partner can retry for
 * real.  The records' format is lg_idem.h's.
 *
 * A verified webhook needs no header: its event id (or its body's digest,
 * ngx_http_logistics_webhook.c) is the key, under lg:{partner}:wh:, kept
 * for the policy's webhook_ttl, so a redelivered event reaches Odoo once.
 */

/*
 * A claim's cleanup keeps the context itself: an internal redirect (an
 * error_page for Odoo's 502) zeroes r->ctx, and the claim must still be
 * released.
 */
typedef struct {
    ngx_http_request_t             *request;
    ngx_http_logistics_ctx_t       *ctx;
} ngx_http_logistics_idem_cleanup_t;


static ngx_int_t ngx_http_logistics_idem_decide(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *data);
static ngx_int_t ngx_http_logistics_idem_replay(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_idem_record_t *rec);
static ngx_int_t ngx_http_logistics_idem_zone_claim(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_idem_release(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_idem_store(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_idem_room(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, size_t n);
static void ngx_http_logistics_idem_cleanup(void *data);
static void ngx_http_logistics_idem_redis_swap(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, u_char *value, size_t len,
    const lg_str_t *px);


static const char  ngx_http_logistics_idem_swap_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end "
    "return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
    "return 0";


/*
 * The swap script is loaded on every Redis connection with the limit
 * script and called by its SHA1: EVAL would send its text and make Redis
 * hash it on every store and release.  After a SCRIPT FLUSH the
 * transport loads it again and resends the command (NOSCRIPT).
 */

ngx_int_t
ngx_http_logistics_idem_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    if (lmcf->redis == NULL) {
        return NGX_OK;
    }

    lmcf->idem_sha = ngx_http_logistics_redis_script(cf, lmcf->redis,
                                          ngx_http_logistics_idem_swap_script);

    return (lmcf->idem_sha != NULL) ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_logistics_idem_prepare_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                             *p;
    size_t                              len;
    lg_key_e                            kind;
    lg_str_t                            parts[9];
    ngx_str_t                          *body;
    const char                         *key;
    ngx_table_elt_t                    *h, *ct;
    ngx_pool_cleanup_t                 *cln;
    ngx_http_logistics_idem_ctx_t      *idem;
    ngx_http_logistics_idem_cleanup_t  *ic;

    idem = &ctx->idem;
    h = ctx->in.idem_key;
    kind = LG_KEY_IDEM;
    body = &ctx->body.bytes;

    if (ctx->route->idempotency == LG_IDEM_OFF) {
        return NGX_OK;
    }

    if (ctx->webhook.key.len) {
        key = (const char *) ctx->webhook.key.data;
        len = ctx->webhook.key.len;
        kind = LG_KEY_WEBHOOK;

        /* a key that is the body's digest stands for the body: no rehash */
        body = ctx->webhook.id_signed ? &ctx->webhook.body
                                      : &ctx->webhook.key;

    } else if (h == NULL) {
        if (ctx->route->idempotency == LG_IDEM_REQUIRED) {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_KEY,
                                             "idempotency-key-missing");
        }

        return NGX_OK;

    } else if (lg_idem_key_parse((const char *) h->value.data, h->value.len,
                                 &key, &len)
               != 0)
    {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_KEY,
                                         "idempotency-key-malformed");
    }

    /*
     * The fingerprint: who, what and to which resource, and the exact
     * representation.  The upstream URI carries the version, the path
     * parameters and the query string, so the same key for another
     * resource or query is another request.
     */

    ct = r->headers_in.content_type;

    parts[0] = ctx->partner->id;
    parts[1].data = "\n";
    parts[1].len = 1;
    parts[2].data = (const char *) r->method_name.data;
    parts[2].len = r->method_name.len;
    parts[3] = parts[1];
    parts[4].data = (const char *) ctx->routing.upstream_uri.data;
    parts[4].len = ctx->routing.upstream_uri.len;
    parts[5] = parts[1];
    parts[6].data = ct ? (const char *) ct->value.data : "";
    parts[6].len = ct ? ct->value.len : 0;
    parts[7] = parts[1];
    parts[8].data = (const char *) body->data;
    parts[8].len = body->len;

    if (lg_sha256_parts(parts, 9, idem->fp) != 0) {
        return NGX_ERROR;
    }

    /* lg:{partner}:idem:<key>: a partner's keys are its own */

    idem->key.len = lg_key_len(kind, ctx->partner->id.len, len);
    idem->key.data = ngx_pnalloc(r->pool, idem->key.len);

    idem->lock.data = ngx_pnalloc(r->pool, LG_IDEM_LOCK_LEN);
    p = ngx_pnalloc(r->pool, LG_IDEM_LOCK_ID_LEN);

    if (idem->key.data == NULL || idem->lock.data == NULL || p == NULL) {
        return NGX_ERROR;
    }

    if (lg_key_build((char *) idem->key.data, idem->key.len, kind,
                     ctx->partner->id.data, ctx->partner->id.len, key, len)
        == 0)
    {
        return NGX_ERROR;
    }

    if (ngx_http_logistics_random(p, LG_IDEM_LOCK_ID_LEN) != NGX_OK) {
        return NGX_ERROR;
    }

    lg_idem_lock_encode(idem->lock.data, idem->fp, p);
    idem->lock.len = LG_IDEM_LOCK_LEN;

    /* a claim this request holds is released if it ends without a store */

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_logistics_idem_cleanup_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ic = cln->data;
    ic->request = r;
    ic->ctx = ctx;

    cln->handler = ngx_http_logistics_idem_cleanup;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_idem_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ctx->idem.lock.len == 0) {
        /* no key, or idempotency does not apply */
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf->redis == NULL) {
        return ngx_http_logistics_idem_zone_claim(r, ctx);
    }

    /* the claim went to Redis with the limits */

    switch (ctx->limits.claim) {

    case NGX_HTTP_LOGISTICS_CLAIM_TAKEN:
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_NEW;
        return NGX_OK;

    case NGX_HTTP_LOGISTICS_CLAIM_FOUND:
        return ngx_http_logistics_idem_decide(r, ctx, &ctx->limits.record);

    default:
        /*
         * Redis failed: the limits applied the fail mode already, and it
         * was open, so the request passes without idempotency.
         */
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_BYPASSED;
        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_logistics_idem_zone_claim(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    int64_t                          now, lock;
    ngx_int_t                        rc;
    ngx_str_t                        existing;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    now = ngx_http_logistics_now();
    lock = lmcf->policy->idem_lock;

    rc = ngx_http_logistics_zone_blob_claim(lmcf->idem_zone, &ctx->idem.key,
                                            ctx->idem.lock.data,
                                            ctx->idem.lock.len, now,
                                            now + lock * 1000, r->pool,
                                            &existing, r->connection->log);

    if (rc == NGX_OK) {
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_NEW;
        return NGX_OK;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_logistics_idem_decide(r, ctx, &existing);
    }

    if (rc != NGX_BUSY) {
        return NGX_ERROR;
    }

    /*
     * The store is full of live records and locks, none of which may go
     * before its time: a new claim waits.  Forwarding without the claim
     * would let a retry run twice; evicting a record would replay nothing.
     */

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "logistics: idempotency store \"%V\" is full: "
                  "new keys refused until records expire "
                  "(idempotency.store_size)", &lmcf->idem_zone->shm.name);

    (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAVAILABLE,
                                     "idempotency-store-full");
    ngx_str_set(&ctx->answer.detail, "The gateway cannot take a new "
                "Idempotency-Key right now; retry after the number of "
                "seconds in Retry-After.");
    ctx->answer.retry_after = (lock + 999) / 1000;

    return NGX_HTTP_LOGISTICS_REFUSE;
}


static ngx_int_t
ngx_http_logistics_idem_decide(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *data)
{
    lg_idem_record_t  rec;

    if (lg_idem_record_decode(data->data, data->len, &rec) != 0
        || !lg_idem_record_matches(&rec, ctx->idem.fp))
    {
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_MISMATCH;
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_MISMATCH,
                                         "idempotency-mismatch");
    }

    if (rec.type == LG_IDEM_LOCK) {
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_CONFLICT;

        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_CONFLICT,
                                         "idempotency-conflict");
        ctx->answer.retry_after = 1;

        return NGX_HTTP_LOGISTICS_REFUSE;
    }

    if (rec.type == LG_IDEM_GONE) {
        ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_REPLAYED;
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_GONE,
                                         "idempotency-response-gone");
    }

    return ngx_http_logistics_idem_replay(r, ctx, &rec);
}


/* the stored response, as it was, with Idempotent-Replayed: true */

static ngx_int_t
ngx_http_logistics_idem_replay(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_idem_record_t *rec)
{
    size_t            nlen, vlen;
    ngx_int_t         rc;
    ngx_str_t         value;
    ngx_buf_t        *b;
    const char       *pos, *end, *name, *val;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_REPLAYED;
    ngx_str_set(&ctx->decision, "replayed");

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    r->headers_out.status = rec->status;

    pos = rec->headers;
    end = rec->headers + rec->headers_len;

    while (lg_idem_header_next(&pos, end, &name, &nlen, &val, &vlen)) {

        if (nlen == sizeof("Content-Type") - 1
            && ngx_strncasecmp((u_char *) name, (u_char *) "Content-Type",
                               nlen) == 0)
        {
            r->headers_out.content_type.data = (u_char *) val;
            r->headers_out.content_type.len = vlen;
            r->headers_out.content_type_len = vlen;
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) name;
        h->key.len = nlen;
        h->value.data = (u_char *) val;
        h->value.len = vlen;
        h->lowcase_key = NULL;
    }

    ngx_str_set(&value, "true");

    if (ngx_http_logistics_add_out_header(r, "Idempotent-Replayed", &value)
        == NULL)
    {
        return NGX_ERROR;
    }

    r->headers_out.content_length_n = rec->body_len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only
        || rec->body_len == 0)
    {
        ngx_http_finalize_request(r, rc == NGX_OK && rec->body_len == 0
                                     ? ngx_http_send_special(r, NGX_HTTP_LAST)
                                     : rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    b->pos = (u_char *) rec->body;
    b->last = (u_char *) rec->body + rec->body_len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


/*
 * On the way out (header filter): a 5xx (Odoo failed, the upstream timed
 * out) releases the claim so the partner can retry, and so does a
 * refusal of the gateway's own after the claim (the Odoo budget's 429
 * or 503: Odoo never saw the request); any other status starts the
 * capture.
 */

void
ngx_http_logistics_idem_header(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  kept[] = {
        ngx_string("Location"),
        ngx_string("Content-Location"),
        ngx_string("ETag"),
        ngx_string("Last-Modified"),
        ngx_string("Cache-Control"),
        ngx_null_string
    };

    if (r->headers_out.status >= NGX_HTTP_INTERNAL_SERVER_ERROR
        || ctx->answer.reason != NULL)
    {
        ngx_http_logistics_idem_release(r, ctx);
        return;
    }

    ctx->idem.status = r->headers_out.status;

    len = 0;

    if (r->headers_out.content_type.len) {
        len += sizeof("Content-Type: \r\n") - 1
               + r->headers_out.content_type.len;
    }

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            len += h[i].key.len + h[i].value.len + 4;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        ngx_http_logistics_idem_release(r, ctx);
        return;
    }

    ctx->idem.headers.data = p;

    if (r->headers_out.content_type.len) {
        p = ngx_sprintf(p, "Content-Type: %V\r\n",
                        &r->headers_out.content_type);
    }

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0) {
                continue;
            }

            for (k = 0; kept[k].len; k++) {
                if (h[i].key.len == kept[k].len
                    && ngx_strncasecmp(h[i].key.data, kept[k].data,
                                       kept[k].len) == 0)
                {
                    p = ngx_sprintf(p, "%V: %V\r\n", &h[i].key, &h[i].value);
                    break;
                }
            }
        }
    }

    ctx->idem.headers.len = p - ctx->idem.headers.data;
    ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_CAPTURE;
}


/* the body filter: a copy of the response, up to max_response_size */

/*
 * Room for n more bytes of the captured response: NGX_OK, NGX_DECLINED
 * when it would pass max_response_size, NGX_ERROR.  The buffer starts at
 * the response's Content-Length (or what has arrived) and doubles as
 * needed: a fixed max_response_size buffer (64 KB by default) per request
 * made malloc() grow and trim the heap on every idempotent request.
 */

static ngx_int_t
ngx_http_logistics_idem_room(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, size_t n)
{
    size_t                           used, size, max;
    ngx_buf_t                       *b;
    ngx_http_logistics_main_conf_t  *lmcf;

    b = ctx->idem.captured;

    if (b != NULL && (size_t) (b->end - b->last) >= n) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    max = (size_t) lmcf->policy->idem_max_response;
    used = b ? (size_t) (b->last - b->pos) : 0;

    if (n > max - used) {
        return NGX_DECLINED;
    }

    if (b == NULL && r->headers_out.content_length_n >= (off_t) n
        && r->headers_out.content_length_n <= (off_t) max)
    {
        size = (size_t) r->headers_out.content_length_n;

    } else {
        size = b ? 2 * (size_t) (b->end - b->start) : 4096;
        size = ngx_max(size, used + n);
        size = ngx_min(size, max);
    }

    b = ngx_create_temp_buf(r->pool, ngx_max(size, 1));
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (used) {
        b->last = ngx_cpymem(b->last, ctx->idem.captured->pos, used);

        /* a large block goes back to malloc() now */
        (void) ngx_pfree(r->pool, ctx->idem.captured->start);
    }

    ctx->idem.captured = b;

    return NGX_OK;
}


void
ngx_http_logistics_idem_body(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_chain_t *in)
{
    size_t        n;
    ssize_t       got;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!ctx->idem.oversize && !ngx_buf_special(b)) {
            n = (size_t) ngx_buf_size(b);

            rc = ngx_http_logistics_idem_room(r, ctx, n);

            if (rc == NGX_ERROR) {
                ngx_http_logistics_idem_release(r, ctx);
                return;
            }

            if (rc == NGX_DECLINED) {
                /* too large to keep: the status and headers are kept */
                ctx->idem.oversize = 1;

            } else if (ngx_buf_in_memory(b)) {
                ctx->idem.captured->last = ngx_cpymem(ctx->idem.captured->last,
                                                  b->pos, n);

            } else if (b->in_file) {
                got = ngx_read_file(b->file, ctx->idem.captured->last, n,
                                    b->file_pos);
                if (got != (ssize_t) n) {
                    ctx->idem.oversize = 1;

                } else {
                    ctx->idem.captured->last += n;
                }
            }
        }

        if (b->last_buf) {
            ngx_http_logistics_idem_store(r, ctx);
            return;
        }
    }
}


static void
ngx_http_logistics_idem_store(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                          *rec;
    size_t                           len, body;
    ngx_str_t                        expect;
    const lg_policy_t               *policy;
    ngx_http_logistics_idem_ctx_t   *idem;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;
    idem = &ctx->idem;

    body = (idem->oversize || idem->captured == NULL)
           ? 0 : (size_t) (idem->captured->last - idem->captured->pos);

    len = lg_idem_done_size(idem->oversize, idem->headers.len, body);

    rec = ngx_pnalloc(r->pool, len);
    if (rec == NULL) {
        ngx_http_logistics_idem_release(r, ctx);
        return;
    }

    (void) lg_idem_done_encode(rec, idem->oversize, idem->fp, idem->status,
                               (const char *) idem->headers.data,
                               idem->headers.len,
                               body ? (const char *) idem->captured->pos
                                    : NULL,
                               body);

    idem->state = NGX_HTTP_LOGISTICS_IDEM_STORED;
    ngx_http_logistics_count0_n(LG_MF_IDEMPOTENCY_STORED_BYTES, len);

    /* a webhook's id outlives every replay its signature allows */

    if (lmcf->redis != NULL) {
        ngx_http_logistics_idem_redis_swap(r, ctx, rec, len,
                                           ctx->webhook.key.len
                                           ? &policy->webhook_ttl_px
                                           : &policy->idem_ttl_px);
        return;
    }

    expect = idem->lock;

    if (ngx_http_logistics_zone_blob_swap(lmcf->idem_zone, &idem->key,
                                 &expect, rec, len,
                                 ngx_http_logistics_now()
                                 + (ctx->webhook.key.len ? policy->webhook_ttl
                                                         : policy->idem_ttl)
                                   * 1000,
                                 r->connection->log)
        == NGX_DECLINED)
    {
        /* full, or the lock expired: a retry runs again, never twice */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "logistics: response to Idempotency-Key \"%V\" not "
                      "stored (store full or lock expired)", &idem->key);
    }
}


/* give the key back: only while it still holds our own lock */

static void
ngx_http_logistics_idem_release(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    static const lg_str_t  zero = { "0", 1 };   /* unused by a delete */

    if (ctx->idem.state != NGX_HTTP_LOGISTICS_IDEM_NEW
        && ctx->idem.state != NGX_HTTP_LOGISTICS_IDEM_CAPTURE)
    {
        return;
    }

    ctx->idem.state = NGX_HTTP_LOGISTICS_IDEM_RELEASED;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf->redis != NULL) {
        ngx_http_logistics_idem_redis_swap(r, ctx, (u_char *) "", 0, &zero);
        return;
    }

    (void) ngx_http_logistics_zone_blob_swap(lmcf->idem_zone, &ctx->idem.key,
                                             &ctx->idem.lock, NULL, 0, 0,
                                             r->connection->log);
}


/*
 * Replaces our claim with "value" for "px" ms, or deletes it when "value"
 * is empty, only while the key still holds our own lock.  Nobody waits
 * for the reply: if it is lost, the claim expires with its lock TTL.
 *
 * While the lock cannot have expired yet, nothing but our own store or
 * release replaces it (a claim is only set on a key that holds nothing),
 * so a plain SET PX or DEL does what the compare-and-swap script would,
 * without a script run for Redis: the lock was set after claim_sent, and
 * a margin of LOCK_MARGIN covers what the two clocks may disagree on.
 * Past that, the script compares first.
 */

#define NGX_HTTP_LOGISTICS_LOCK_MARGIN  1000

static void
ngx_http_logistics_idem_redis_swap(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, u_char *value, size_t len,
    const lg_str_t *px)
{
    int                              argc;
    const char                      *argv[7];
    size_t                           argvlen[7];
    ngx_msec_int_t                   held;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    held = (ngx_msec_int_t) (ngx_current_msec - ctx->idem.claim_sent);

    if (held >= 0
        && held + NGX_HTTP_LOGISTICS_LOCK_MARGIN < lmcf->policy->idem_lock)
    {
        if (len == 0) {
            argv[0] = "DEL";
            argvlen[0] = 3;
            argc = 2;

        } else {
            argv[0] = "SET";
            argvlen[0] = 3;
            argv[2] = (char *) value;
            argvlen[2] = len;
            argv[3] = "PX";
            argvlen[3] = 2;
            argv[4] = px->data;
            argvlen[4] = px->len;
            argc = 5;
        }

        argv[1] = (char *) ctx->idem.key.data;
        argvlen[1] = ctx->idem.key.len;

    } else {
        argv[0] = "EVALSHA";
        argvlen[0] = 7;
        argv[1] = (char *) lmcf->idem_sha;
        argvlen[1] = 40;
        argv[2] = "1";
        argvlen[2] = 1;
        argv[3] = (char *) ctx->idem.key.data;
        argvlen[3] = ctx->idem.key.len;
        argv[4] = (char *) ctx->idem.lock.data;
        argvlen[4] = ctx->idem.lock.len;
        argv[5] = (char *) value;
        argvlen[5] = len;
        argv[6] = px->data;
        argvlen[6] = px->len;
        argc = 7;
    }

    if (ngx_http_logistics_redis_send(ctx->idem.key.data, ctx->idem.key.len,
                                      argc, argv, argvlen)
        == NGX_OK)
    {
        /* before the partner can see the response and retry */
        ngx_http_logistics_redis_flush();
    }
}


/*
 * The header of an error page after an internal redirect (error_page
 * for Odoo's 502 or 504): the request's context is gone from r->ctx, the
 * claim is found through its cleanup.  A 5xx releases it now, before the
 * partner can see the answer and retry; anything else is released when
 * the request ends (an error page is not Odoo's answer to keep).
 */

void
ngx_http_logistics_idem_redirected(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_logistics_idem_cleanup_t  *ic;

    if (r->headers_out.status < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        return;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_logistics_idem_cleanup) {
            ic = cln->data;
            ngx_http_logistics_idem_release(r, ic->ctx);
            return;
        }
    }
}


/* the request ends: a claim neither stored nor released is released */

static void
ngx_http_logistics_idem_cleanup(void *data)
{
    ngx_http_logistics_idem_cleanup_t  *ic = data;

    ngx_http_logistics_idem_release(ic->request, ic->ctx);
}


void
ngx_http_logistics_idem_value(ngx_http_logistics_ctx_t *ctx, ngx_str_t *v)
{
    static ngx_str_t  names[] = {
        ngx_null_string,           /* NONE */
        ngx_string("new"),         /* NEW */
        ngx_string("new"),         /* CAPTURE */
        ngx_string("new"),         /* STORED */
        ngx_string("new"),         /* RELEASED */
        ngx_string("replayed"),
        ngx_string("conflict"),
        ngx_string("mismatch"),
        ngx_string("bypassed")
    };

    *v = names[ctx->idem.state];
}
