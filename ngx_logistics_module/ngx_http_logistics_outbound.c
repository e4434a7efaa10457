
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Odoo's events to partners.  Odoo posts an event to a location with
 * "logistics_webhook_outbound on" (on a listener only Odoo reaches),
 * naming the partner and the event type in the last two segments of the
 * path; the gateway signs the body with the partner's outbound scheme
 * and secrets, and nginx's own proxy delivers it to the URL the policy
 * gives for that partner and event type ("proxy_pass
 * $logistics_webhook_url;", TLS verification on).  Nothing in Odoo's
 * request picks the target: an event without a subscription is refused
 * before any connection is made, so the location is no open relay.
 *
 * The webhook id is Odoo's Idempotency-Key when it sends one, so a retry
 * of the same event reaches the partner with the same webhook-id (the
 * partner's own duplicate check); the timestamp is always now.  The
 * partner's answer goes back to Odoo as it is.
 */

static void ngx_http_logistics_outbound_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_outbound_sign(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_outbound_headers(ngx_http_request_t *r,
    lg_webhook_signed_t *sig);


ngx_int_t
ngx_http_logistics_subscription_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                             *p, *last, *type;
    size_t                              len;
    const char                         *key;
    const lg_partner_t                 *partner;
    lg_webhook_scheme_e                 scheme;
    ngx_http_logistics_main_conf_t     *lmcf;
    ngx_http_logistics_outbound_ctx_t  *out;

    out = &ctx->outbound;

    if (r->method != NGX_HTTP_POST) {
        (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_METHOD_NOT_ALLOWED,
                                         "method-not-allowed");
        ctx->answer.allow = LG_METHOD_POST;

        return NGX_HTTP_LOGISTICS_REFUSE;
    }

    /* ".../<partner>/<event type>", from nginx's normalised path */

    last = r->uri.data + r->uri.len;

    for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }

    type = p;

    if (p == r->uri.data || type == last) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_NO_SUBSCRIPTION,
                                         "no-subscription");
    }

    last = p - 1;

    for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    partner = lg_policy_subscriber(lmcf->policy, (const char *) p,
                                   last - p);

    if (partner == NULL) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_NO_SUBSCRIPTION,
                                         "no-subscription");
    }

    ctx->partner = partner;

    out->event = lg_policy_subscription(partner, (const char *) type,
                                        r->uri.data + r->uri.len - type);

    if (out->event == NULL) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_NO_SUBSCRIPTION,
                                         "no-subscription");
    }

    /* the event id: Odoo's Idempotency-Key, so its retries keep it */

    scheme = lg_webhook_scheme(partner->subscriptions->signer);

    if (ctx->in.idem_key != NULL) {

        if (lg_idem_key_parse((const char *) ctx->in.idem_key->value.data,
                              ctx->in.idem_key->value.len, &key, &len)
            != 0
            || !lg_webhook_id_valid(scheme, key, len))
        {
            return ngx_http_logistics_refuse(ctx, LG_PROBLEM_IDEM_KEY,
                                             "idempotency-key-malformed");
        }

        out->id.data = (u_char *) key;
        out->id.len = len;

        return NGX_OK;
    }

    out->id.data = ngx_pnalloc(r->pool, LG_WEBHOOK_GENERATED_ID_LEN + 1);
    if (out->id.data == NULL) {
        return NGX_ERROR;
    }

    if (lg_webhook_generate_id((char *) out->id.data,
                               LG_WEBHOOK_GENERATED_ID_LEN + 1)
        != 0)
    {
        return NGX_ERROR;
    }

    out->id.len = LG_WEBHOOK_GENERATED_ID_LEN;
    out->generated = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_logistics_sign_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t                           rc;
    ngx_http_logistics_main_conf_t     *lmcf;
    ngx_http_logistics_outbound_ctx_t  *out;

    out = &ctx->outbound;

    if (out->reading) {
        if (!out->done) {
            return NGX_AGAIN;
        }

        /* the body arrived */
        out->reading = 0;

        return ngx_http_logistics_outbound_sign(r, ctx);
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    out->reading = 1;

    rc = ngx_http_logistics_read_whole_body(r, lmcf->policy->max_body_size,
                                            ngx_http_logistics_outbound_read);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    out->reading = 0;
    out->done = 0;

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BAD_REQUEST,
                                     "body-unreadable");
}


static void
ngx_http_logistics_outbound_read(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->outbound.done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_logistics_outbound_sign(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                             *data;
    size_t                              len;
    lg_error_t                          err;
    lg_webhook_signed_t                *sig;
    ngx_http_logistics_main_conf_t     *lmcf;
    ngx_http_logistics_outbound_ctx_t  *out;

    out = &ctx->outbound;
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (ngx_http_logistics_body_bytes(r, &data, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    if ((int64_t) len > lmcf->policy->max_body_size) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    /* the header lines point into it: it lives as long as the request */

    sig = ngx_palloc(r->pool, sizeof(lg_webhook_signed_t));
    if (sig == NULL) {
        return NGX_ERROR;
    }

    if (lg_webhook_sign(ctx->partner->subscriptions->signer,
                        (const char *) out->id.data, out->id.len,
                        (int64_t) ngx_time(), data, len, sig, &err)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: cannot sign the event \"%s\" for partner "
                      "\"%s\": %s", out->event->type.data,
                      ctx->partner->id.data, err.text);
        return NGX_ERROR;
    }

    if (ngx_http_logistics_outbound_headers(r, sig) != NGX_OK) {
        return NGX_ERROR;
    }

    out->sent = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "logistics event \"%s\" for \"%s\" to \"%s\"",
                   out->event->type.data, ctx->partner->id.data,
                   out->event->url.data);

    return NGX_OK;
}


/*
 * The partner gets the body's media type and the signature, nothing of
 * what Odoo said to the gateway (its credentials, cookies, the
 * Idempotency-Key, internal addresses): the headers are rebuilt, not
 * filtered.  proxy_pass adds Host (the URL's), Content-Length and
 * Connection.
 */

static ngx_int_t
ngx_http_logistics_outbound_headers(ngx_http_request_t *r,
    lg_webhook_signed_t *sig)
{
    size_t            i;
    ngx_table_elt_t  *h, *type;

    type = r->headers_in.content_type;

    if (ngx_list_init(&r->headers_in.headers, r->pool, sig->nheaders + 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_in.authorization = NULL;

    if (type != NULL) {
        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = *type;
        r->headers_in.content_type = h;
    }

    for (i = 0; i < sig->nheaders; i++) {
        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->key.data = (u_char *) sig->name[i].data;
        h->key.len = sig->name[i].len;
        h->value.data = (u_char *) sig->value[i].data;
        h->value.len = sig->value[i].len;

        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, h->key.len);
    }

    return NGX_OK;
}


void
ngx_http_logistics_delivery_outcome(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value)
{
    ngx_http_upstream_t  *u;

    static ngx_str_t  classes[] = {
        ngx_string("2xx"),
        ngx_string("3xx"),
        ngx_string("4xx"),
        ngx_string("5xx"),
    };

    ngx_str_null(value);

    u = r->upstream;

    if (!ctx->outbound.sent || u == NULL) {
        return;
    }

    /* the partner answered: its status, whatever came after */

    if (u->headers_in.status_n >= 200 && u->headers_in.status_n < 600) {
        *value = classes[u->headers_in.status_n / 100 - 2];
        return;
    }

    /* no answer: nginx's own 504 is a timeout, the rest an error */

    if (u->state != NULL && u->state->status == NGX_HTTP_GATEWAY_TIME_OUT) {
        ngx_str_set(value, "timeout");
        return;
    }

    ngx_str_set(value, "error");
}
