
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


/*
 * Step "webhook": a webhook is authenticated by a signature over its raw
 * body, so on webhook routes the body is read here, before anything else
 * looks at it: its size checked against the route's max_body_size (from
 * Content-Length before reading, and after), then the scheme's headers
 * and the exact bytes received verified with the secrets of the partner
 * the URL names.  Only a verified webhook makes that partner the caller;
 * the later steps (scopes, limits, the JSON Schema, the idempotency
 * claim under the event id) see it as they see a partner with an API
 * key.  The limits come after this step, so forged deliveries naming a
 * partner cannot use up that partner's limits.
 */

static void ngx_http_logistics_webhook_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_webhook_verify(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_webhook_refused(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_webhook_status_e status,
    lg_webhook_result_t *res);


ngx_int_t
ngx_http_logistics_webhook_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    ngx_int_t                          rc;
    ngx_http_logistics_webhook_ctx_t  *wh;

    if (!ctx->auth.webhook) {
        return NGX_OK;
    }

    wh = &ctx->webhook;

    if (wh->reading) {
        if (!wh->done) {
            return NGX_AGAIN;
        }

        /* the body arrived */
        wh->reading = 0;

        return ngx_http_logistics_webhook_verify(r, ctx);
    }

    /* nothing over the limit is read, let alone hashed */

    wh->reading = 1;

    rc = ngx_http_logistics_read_whole_body(r, ctx->route->max_body_size,
                                            ngx_http_logistics_webhook_read);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    wh->reading = 0;
    wh->done = 0;

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BAD_REQUEST,
                                     "body-unreadable");
}


static void
ngx_http_logistics_webhook_read(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    ctx->webhook.done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_logistics_webhook_verify(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    u_char                            *data;
    size_t                             len;
    ngx_uint_t                         i;
    ngx_list_part_t                   *part;
    ngx_table_elt_t                   *h;
    lg_webhook_input_t                 in;
    lg_webhook_status_e                status;
    lg_webhook_result_t                res;
    const lg_partner_t                *sender;
    ngx_http_logistics_webhook_ctx_t  *wh;

    wh = &ctx->webhook;
    sender = ctx->auth.sender;

    if (ngx_http_logistics_body_bytes(r, &data, &len) != NGX_OK) {
        return NGX_ERROR;
    }

    if ((int64_t) len > ctx->route->max_body_size) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_BODY_TOO_LARGE,
                                         "body-too-large");
    }

    /* the scheme's headers; a second one of a role is refused */

    lg_webhook_input_init(&in);

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

        (void) lg_webhook_input_header(sender->webhook, &in,
                                       (const char *) h[i].key.data,
                                       h[i].key.len,
                                       (const char *) h[i].value.data,
                                       h[i].value.len);
    }

    status = lg_webhook_verify(sender->webhook, &in, data, len,
                               (int64_t) ngx_time(), &res);

    if (status != LG_WEBHOOK_OK) {
        return ngx_http_logistics_webhook_refused(r, ctx, status, &res);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "logistics webhook of \"%s\": %s",
                   sender->id.data, res.reason);

    /* res holds its key (a body digest) itself: copies outlive it */

    if (ngx_http_logistics_copy(r->pool, &wh->id, &res.id) != NGX_OK
        || ngx_http_logistics_copy(r->pool, &wh->key, &res.key) != NGX_OK)
    {
        return NGX_ERROR;
    }

    wh->body.data = data;
    wh->body.len = len;
    wh->id_signed = res.id_signed;

    ctx->partner = sender;
    ctx->scopes = sender->scopes;

    if (sender->suspended) {
        return ngx_http_logistics_refuse(ctx, LG_PROBLEM_UNAUTHORIZED,
                                         "suspended-partner");
    }

    return NGX_OK;
}


/*
 * The refusal's word goes to $logistics_decision; the reason, which says
 * what was wrong with what was sent and never what was expected, to the
 * error log.  The partner is not the caller: nothing proved it.
 */

static ngx_int_t
ngx_http_logistics_webhook_refused(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, lg_webhook_status_e status,
    lg_webhook_result_t *res)
{
    lg_problem_e                    problem;
    const char                     *word;
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);
    word = lg_webhook_status_word(status);

    ngx_log_error(lcf->deny_log_level, r->connection->log, 0,
                  "logistics: webhook for partner \"%s\" refused, %s: %s, "
                  "request id: \"%V\"", ctx->auth.sender->id.data, word,
                  res->reason, &ctx->request_id);

    switch (lg_webhook_status_problem(status)) {

    case LG_WEBHOOK_PROBLEM_TIMESTAMP:
        problem = LG_PROBLEM_WEBHOOK_TIMESTAMP;
        break;

    case LG_WEBHOOK_PROBLEM_SIGNATURE:
        problem = LG_PROBLEM_INVALID_SIGNATURE;
        break;

    default:
        problem = LG_PROBLEM_INTERNAL;
    }

    return ngx_http_logistics_refuse(ctx, problem, word);
}
