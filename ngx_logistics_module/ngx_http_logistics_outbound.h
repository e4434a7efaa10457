
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_OUTBOUND_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_OUTBOUND_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


typedef struct {
    const lg_event_t           *event;         /* the subscription */
    ngx_str_t                   id;            /* webhook-id sent */
    unsigned                    generated:1;   /* Odoo sent no key */
    unsigned                    reading:1;
    unsigned                    done:1;        /* the body is read */
    unsigned                    sent:1;        /* signed, on its way */
} ngx_http_logistics_outbound_ctx_t;


/*
 * Locations with logistics_webhook_outbound: Odoo posts an event to
 * .../<partner>/<event type>.  Step "subscription": the partner's
 * subscription to that event type (404 no-subscription without one),
 * and the event id (Odoo's Idempotency-Key, or a new one).  405, 400.
 */
ngx_int_t ngx_http_logistics_subscription_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/*
 * Step "sign": the body read and signed with the partner's scheme; the
 * request headers become the body's media type and the signature's;
 * proxy_pass $logistics_webhook_url sends it.  413.
 */
ngx_int_t ngx_http_logistics_sign_step(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);

/*
 * $logistics_webhook_delivery: how the partner took a signed event:
 * "2xx", "3xx", "4xx", "5xx" (its status class), "timeout" (no answer in
 * time), "error" (no connection, TLS refused, connection broken); len 0
 * when nothing was sent.
 */
void ngx_http_logistics_delivery_outcome(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx, ngx_str_t *value);


#endif /* _NGX_HTTP_LOGISTICS_OUTBOUND_H_INCLUDED_ */
