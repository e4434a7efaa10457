
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"
#include "lg_apikey.h"


/*
 * Step 5: Idempotency-Key (IETF httpapi draft).  A key is claimed
 * atomically with a lock record: in Redis by the limit script (SET NX PX
 * GET, in the round trip that also checks the limits, see
 * ngx_http_logistics_idem_with_limits()), or in the shared zone.  The
 * response of the request that holds the claim is captured on its way
 * out and stored in place of the lock; a retry with the same
 * key and the same request is answered from the stored response; a retry
 * while the first is in flight gets 409, the same key for a different
 * request 422.  A 5xx answer, an upstream timeout or a client that goes
 * away releases the claim, so the partner can retry for real.
 *
 * Records ('L' lock, 'D' done, 'H' done but too large to keep):
 *   type(1) fingerprint(32) lock id(16)                      -- 'L'
 *   type(1) fingerprint(32) status(2) headers len(4) headers body
 */

#define NGX_HTTP_LOGISTICS_IDEM_KEY_MAX  255
#define NGX_HTTP_LOGISTICS_LOCK_LEN      (1 + 32 + 16)
#define NGX_HTTP_LOGISTICS_DONE_HDR      (1 + 32 + 2 + 4)


static ngx_int_t ngx_http_logistics_idem_key(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *key);
static ngx_int_t ngx_http_logistics_idem_prepare(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *key);
static ngx_int_t ngx_http_logistics_idem_decide(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *rec);
static ngx_int_t ngx_http_logistics_idem_replay(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *rec);
static void ngx_http_logistics_idem_release(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_idem_store(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_idem_room(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, size_t n);
static void ngx_http_logistics_idem_cleanup(void *data);
static void ngx_http_logistics_idem_redis_swap(ngx_http_logistics_ctx_t *ctx,
    u_char *value, size_t len, const lg_str_t *px);
static ngx_int_t ngx_http_logistics_idem_fail(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


static const char  ngx_http_logistics_idem_swap_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end "
    "return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
    "return 0";


/* the key: a structured-field string ("...") or a bare token */

static ngx_int_t
ngx_http_logistics_idem_key(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *key)
{
    u_char      *p, *last;
    ngx_uint_t   i;

    ngx_str_null(key);

    if (ctx->in.idem_key == NULL) {
        return NGX_DECLINED;
    }

    p = ctx->in.idem_key->value.data;
    last = p + ctx->in.idem_key->value.len;

    if (last - p >= 2 && *p == '"' && last[-1] == '"') {
        p++;
        last--;

        for (i = 0; p + i < last; i++) {
            if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\') {
                return NGX_ERROR;
            }
        }

    } else {
        for (i = 0; p + i < last; i++) {
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
                  || (p[i] >= '0' && p[i] <= '9')
                  || ngx_strchr("-._~:+/=*!#$%&'^`|", p[i]) != NULL))
            {
                return NGX_ERROR;
            }
        }
    }

    if (last == p || last - p > NGX_HTTP_LOGISTICS_IDEM_KEY_MAX) {
        return NGX_ERROR;
    }

    key->data = p;
    key->len = last - p;

    return NGX_OK;
}


/*
 * With Redis, a request that will claim an Idempotency-Key has its limits
 * and revocation checked after its body, by the script that claims the
 * key: the claim needs the body's fingerprint, and one round trip for
 * both keeps an idempotent request at two (claim, store) instead of
 * three.  Keys that are missing or malformed are refused after the
 * limits, as on the usual path.
 */

ngx_uint_t
ngx_http_logistics_idem_with_limits(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    /* the key found here is kept for ngx_http_logistics_idem() */

    return lmcf->redis != NULL
           && ctx->route->idempotency != LG_IDEM_OFF
           && ngx_http_logistics_idem_key(r, ctx, &ctx->idem_token)
              == NGX_OK;
}


/*
 * NGX_OK: go on (the key is claimed, or idempotency does not apply);
 * NGX_DECLINED: the claim is prepared and goes to Redis with the limits;
 * anything else: the request was answered.
 */

ngx_int_t
ngx_http_logistics_idem(ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_str_t                        key, existing;
    const lg_policy_t               *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ctx->route->idempotency == LG_IDEM_OFF) {
        return NGX_OK;
    }

    if (ctx->limits_deferred) {
        /* checked already by ngx_http_logistics_idem_with_limits() */
        key = ctx->idem_token;
        rc = NGX_OK;

    } else {
        rc = ngx_http_logistics_idem_key(r, ctx, &key);
    }

    if (rc == NGX_DECLINED) {
        if (ctx->route->idempotency == LG_IDEM_REQUIRED) {
            return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_IDEM_KEY,
                                           "idempotency-key-missing");
        }

        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_IDEM_KEY,
                                       "idempotency-key-malformed");
    }

    if (ngx_http_logistics_idem_prepare(r, ctx, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->limits_deferred) {
        return NGX_DECLINED;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    rc = ngx_http_logistics_zone_blob_claim(lmcf->zone, &ctx->idem_key,
                                            ctx->idem_lock.data,
                                            ctx->idem_lock.len,
                                            ngx_http_logistics_now(),
                                            ngx_http_logistics_now()
                                            + policy->idem_lock * 1000,
                                            r->pool, &existing,
                                            r->connection->log);

    if (rc == NGX_OK) {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_NEW;
        return NGX_OK;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_logistics_idem_decide(r, ctx, &existing);
    }

    return ngx_http_logistics_idem_fail(r, ctx);
}


/* the fingerprint, the state key, our lock record, the release on exit */

static ngx_int_t
ngx_http_logistics_idem_prepare(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *key)
{
    u_char              *p;
    lg_str_t             parts[7];
    ngx_pool_cleanup_t  *cln;

    /* method, operation, version and the exact body */

    parts[0].data = (const char *) r->method_name.data;
    parts[0].len = r->method_name.len;
    parts[1].data = "\n";
    parts[1].len = 1;
    parts[2] = ctx->route->id;
    parts[3] = parts[1];
    parts[4] = ctx->version->name;
    parts[5] = parts[1];
    parts[6].data = (const char *) ctx->body.data;
    parts[6].len = ctx->body.len;

    if (lg_sha256_parts(parts, 7, ctx->idem_fp) != 0) {
        return NGX_ERROR;
    }

    /* lg:{partner}:idem:<key>: a partner's keys are its own */

    ctx->idem_key.len = sizeof("lg:{}:idem:") - 1 + ctx->partner->id.len
                        + key->len;
    ctx->idem_key.data = ngx_pnalloc(r->pool, ctx->idem_key.len);

    p = ngx_pnalloc(r->pool, NGX_HTTP_LOGISTICS_LOCK_LEN);

    if (ctx->idem_key.data == NULL || p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->idem_key.data, "lg:{%s}:idem:%V", ctx->partner->id.data,
                key);

    ctx->idem_lock.data = p;
    ctx->idem_lock.len = NGX_HTTP_LOGISTICS_LOCK_LEN;

    *p++ = 'L';
    p = ngx_cpymem(p, ctx->idem_fp, 32);

    if (ngx_http_logistics_random(p, 16) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a claim this request holds is released if it ends without a store */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_logistics_idem_cleanup;
    cln->data = r;

    return NGX_OK;
}


/*
 * Back from the limit script, which allowed the request: claimed, or
 * someone's record.  When Redis failed the limits applied the fail mode
 * already; it was open, so the request passes without idempotency.
 */

ngx_int_t
ngx_http_logistics_idem_claimed(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    if (ctx->redis_rc == NGX_ERROR) {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_BYPASSED;
        return NGX_OK;
    }

    if (ctx->idem_existing.data == NULL) {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_NEW;
        return NGX_OK;
    }

    return ngx_http_logistics_idem_decide(r, ctx, &ctx->idem_existing);
}


/* the shared zone could not take the claim: the fail mode decides */

static ngx_int_t
ngx_http_logistics_idem_fail(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_uint_t                       mode;
    ngx_http_logistics_loc_conf_t   *lcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    mode = lcf->fail_mode;

    if (mode == NGX_CONF_UNSET_UINT) {
        mode = (ngx_uint_t) lmcf->policy->fail_mode;
    }

    if (mode == LG_FAIL_CLOSED) {
        ctx->retry_after = 1;
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_UNAVAILABLE,
                                       "state-unavailable");
    }

    /* fail open: the request goes through without idempotency */
    ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_BYPASSED;

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_idem_decide(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *rec)
{
    if (rec->len < 33 || ngx_memcmp(rec->data + 1, ctx->idem_fp, 32) != 0) {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_MISMATCH;
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_IDEM_MISMATCH,
                                       "idempotency-mismatch");
    }

    if (rec->data[0] == 'L') {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_CONFLICT;
        ctx->retry_after = 1;
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_IDEM_CONFLICT,
                                       "idempotency-conflict");
    }

    if (rec->data[0] == 'H') {
        ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_REPLAYED;
        return ngx_http_logistics_deny(r, ctx, LG_PROBLEM_IDEM_GONE,
                                       "idempotency-response-gone");
    }

    return ngx_http_logistics_idem_replay(r, ctx, rec);
}


/* the stored response, as it was, with Idempotent-Replayed: true */

static ngx_int_t
ngx_http_logistics_idem_replay(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *rec)
{
    u_char            *p, *last, *colon, *eol;
    uint16_t           status;
    uint32_t           hlen;
    ngx_int_t          rc;
    ngx_str_t          name, value;
    ngx_buf_t         *b;
    ngx_chain_t        out;
    ngx_table_elt_t   *h;

    if (rec->len < NGX_HTTP_LOGISTICS_DONE_HDR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(&status, rec->data + 33, 2);
    ngx_memcpy(&hlen, rec->data + 35, 4);

    p = rec->data + NGX_HTTP_LOGISTICS_DONE_HDR;
    last = rec->data + rec->len;

    if ((size_t) (last - p) < hlen) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_REPLAYED;
    ngx_str_set(&ctx->decision, "replayed");

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = status;

    /* "Name: value\r\n" lines; Content-Type is the first one */

    while (hlen > 0) {
        eol = ngx_strlchr(p, p + hlen, '\n');
        colon = ngx_strlchr(p, p + hlen, ':');

        if (eol == NULL || colon == NULL || colon > eol) {
            break;
        }

        name.data = p;
        name.len = colon - p;
        value.data = colon + 2;
        value.len = eol - 1 - value.data;

        if (name.len == sizeof("Content-Type") - 1
            && ngx_strncasecmp(name.data, (u_char *) "Content-Type",
                               name.len) == 0)
        {
            r->headers_out.content_type = value;
            r->headers_out.content_type_len = value.len;

        } else {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h->hash = 1;
            h->key = name;
            h->value = value;
            h->lowcase_key = NULL;
        }

        hlen -= eol + 1 - p;
        p = eol + 1;
    }

    p = rec->data + NGX_HTTP_LOGISTICS_DONE_HDR;
    ngx_memcpy(&hlen, rec->data + 35, 4);
    p += hlen;

    ngx_str_set(&value, "true");

    if (ngx_http_logistics_add_out_header(r, "Idempotent-Replayed", &value)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_length_n = last - p;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || last == p) {
        ngx_http_finalize_request(r, rc == NGX_OK && last == p
                                     ? ngx_http_send_special(r, NGX_HTTP_LAST)
                                     : rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    b->pos = p;
    b->last = last;
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
 * out) releases the claim so the partner can retry; any other status
 * starts the capture.
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

    if (r->headers_out.status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_logistics_idem_release(r, ctx);
        return;
    }

    ctx->idem_status = r->headers_out.status;

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

    ctx->idem_headers.data = p;

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

    ctx->idem_headers.len = p - ctx->idem_headers.data;
    ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_CAPTURE;
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

    b = ctx->idem_body;

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
        b->last = ngx_cpymem(b->last, ctx->idem_body->pos, used);

        /* a large block goes back to malloc() now */
        (void) ngx_pfree(r->pool, ctx->idem_body->start);
    }

    ctx->idem_body = b;

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

        if (!ctx->idem_oversize && !ngx_buf_special(b)) {
            n = (size_t) ngx_buf_size(b);

            rc = ngx_http_logistics_idem_room(r, ctx, n);

            if (rc == NGX_ERROR) {
                ngx_http_logistics_idem_release(r, ctx);
                return;
            }

            if (rc == NGX_DECLINED) {
                /* too large to keep: the status and headers are kept */
                ctx->idem_oversize = 1;

            } else if (ngx_buf_in_memory(b)) {
                ctx->idem_body->last = ngx_cpymem(ctx->idem_body->last,
                                                  b->pos, n);

            } else if (b->in_file) {
                got = ngx_read_file(b->file, ctx->idem_body->last, n,
                                    b->file_pos);
                if (got != (ssize_t) n) {
                    ctx->idem_oversize = 1;

                } else {
                    ctx->idem_body->last += n;
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
    u_char                          *rec, *p;
    size_t                           len, body;
    uint16_t                         status;
    uint32_t                         hlen;
    ngx_str_t                        expect;
    const lg_policy_t               *policy;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);
    policy = lmcf->policy;

    body = (ctx->idem_oversize || ctx->idem_body == NULL)
           ? 0 : (size_t) (ctx->idem_body->last - ctx->idem_body->pos);

    len = NGX_HTTP_LOGISTICS_DONE_HDR + ctx->idem_headers.len + body;

    rec = ngx_pnalloc(r->pool, len);
    if (rec == NULL) {
        ngx_http_logistics_idem_release(r, ctx);
        return;
    }

    status = (uint16_t) ctx->idem_status;
    hlen = (uint32_t) ctx->idem_headers.len;

    p = rec;
    *p++ = ctx->idem_oversize ? 'H' : 'D';
    p = ngx_cpymem(p, ctx->idem_fp, 32);
    p = ngx_cpymem(p, &status, 2);
    p = ngx_cpymem(p, &hlen, 4);
    p = ngx_cpymem(p, ctx->idem_headers.data, ctx->idem_headers.len);

    if (body) {
        p = ngx_cpymem(p, ctx->idem_body->pos, body);
    }

    ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_STORED;

    if (lmcf->redis != NULL) {
        ngx_http_logistics_idem_redis_swap(ctx, rec, len,
                                           &policy->idem_ttl_px);
        return;
    }

    expect = ctx->idem_lock;

    (void) ngx_http_logistics_zone_blob_swap(lmcf->zone, &ctx->idem_key,
                                 &expect, rec, len,
                                 ngx_http_logistics_now()
                                 + policy->idem_ttl * 1000,
                                 r->connection->log);
}


/* give the key back: only while it still holds our own lock */

static void
ngx_http_logistics_idem_release(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    static const lg_str_t  zero = { "0", 1 };   /* unused by a delete */

    if (ctx->idem_state != NGX_HTTP_LOGISTICS_IDEM_NEW
        && ctx->idem_state != NGX_HTTP_LOGISTICS_IDEM_CAPTURE)
    {
        return;
    }

    ctx->idem_state = NGX_HTTP_LOGISTICS_IDEM_RELEASED;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf->redis != NULL) {
        ngx_http_logistics_idem_redis_swap(ctx, (u_char *) "", 0, &zero);
        return;
    }

    (void) ngx_http_logistics_zone_blob_swap(lmcf->zone, &ctx->idem_key,
                                             &ctx->idem_lock, NULL, 0, 0,
                                             r->connection->log);
}


/*
 * Replaces our claim with "value" for "px" ms, or deletes it when "value"
 * is empty, only while the key still holds our own lock.  Nobody waits
 * for the reply: if it is lost, the claim expires with its lock TTL.
 */

static void
ngx_http_logistics_idem_redis_swap(ngx_http_logistics_ctx_t *ctx,
    u_char *value, size_t len, const lg_str_t *px)
{
    const char  *argv[7];
    size_t       argvlen[7];

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_logistics_idem_swap_script;
    argvlen[1] = sizeof(ngx_http_logistics_idem_swap_script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) ctx->idem_key.data;
    argvlen[3] = ctx->idem_key.len;
    argv[4] = (char *) ctx->idem_lock.data;
    argvlen[4] = ctx->idem_lock.len;
    argv[5] = (char *) value;
    argvlen[5] = len;
    argv[6] = px->data;
    argvlen[6] = px->len;

    if (ngx_http_logistics_redis_send(7, argv, argvlen) == NGX_OK) {
        /* before the partner can see the response and retry */
        ngx_http_logistics_redis_flush();
    }
}


/* the request ends: a claim neither stored nor released is released */

static void
ngx_http_logistics_idem_cleanup(void *data)
{
    ngx_http_request_t  *r = data;

    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx != NULL) {
        ngx_http_logistics_idem_release(r, ctx);
    }
}


ngx_int_t
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

    *v = names[ctx->idem_state];

    return NGX_OK;
}
