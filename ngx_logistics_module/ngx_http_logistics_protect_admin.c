
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_protect.h"
#include "ngx_http_logistics_brownout.h"
#include "ngx_http_logistics_util.h"
#include "lg_time.h"


/*
 * Two locations for operators, meant for an internal listener (as the
 * metrics are):
 *
 *   logistics_odoo_status;   GET: JSON of the brownout, each API's
 *                            requests in flight by class, each partner's,
 *                            each circuit breaker (lg_protect_status.h)
 *   logistics_brownout;      GET: the brownout level;
 *                            POST ?level=deferrable|normal|off[&ttl=15m]
 *                            or DELETE (off): sets it for this node, when
 *                            it has no Redis (with Redis, the level of
 *                            every node is lg:brownout, set with
 *                            "logistics-policy degrade")
 */

static ngx_int_t ngx_http_logistics_odoo_status_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_brownout_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_brownout_change(ngx_http_request_t *r,
    ngx_http_logistics_main_conf_t *lmcf);
static ngx_int_t ngx_http_logistics_brownout_show(ngx_http_request_t *r,
    ngx_http_logistics_main_conf_t *lmcf, ngx_uint_t status);
static ngx_int_t ngx_http_logistics_admin_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);
static ngx_int_t ngx_http_logistics_admin_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);


char *
ngx_http_logistics_odoo_status_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_logistics_odoo_status_handler;

    return NGX_CONF_OK;
}


char *
ngx_http_logistics_brownout_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_logistics_brownout_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_logistics_odoo_status_handler(ngx_http_request_t *r)
{
    u_char                          *body;
    size_t                           len;
    ngx_int_t                        rc;
    lg_protect_status_t              st;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf == NULL || lmcf->protect == NULL) {
        return ngx_http_logistics_admin_error(r, NGX_HTTP_NOT_FOUND,
                   "no API of the policy protects Odoo (no \"odoo\" section)");
    }

    ngx_memzero(&st, sizeof(lg_protect_status_t));

    if (ngx_http_logistics_protect_read(r->pool, lmcf->protect, &st)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st.brownout_source = ngx_http_logistics_brownout_source(lmcf);
    st.now = ngx_http_logistics_wall_ms();

    len = lg_protect_status_json(&st, NULL, 0);

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = lg_protect_status_json(&st, (char *) body, len + 1);

    return ngx_http_logistics_admin_send(r, NGX_HTTP_OK, body, len);
}


static ngx_int_t
ngx_http_logistics_brownout_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_logistics_main_conf_t  *lmcf;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_logistics_module);

    if (lmcf == NULL || lmcf->protect == NULL) {
        return ngx_http_logistics_admin_error(r, NGX_HTTP_NOT_FOUND,
                   "no API of the policy protects Odoo (no \"odoo\" section)");
    }

    if (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) {
        return ngx_http_logistics_brownout_show(r, lmcf, NGX_HTTP_OK);
    }

    if (r->method & (NGX_HTTP_POST | NGX_HTTP_PUT | NGX_HTTP_DELETE)) {
        return ngx_http_logistics_brownout_change(r, lmcf);
    }

    return NGX_HTTP_NOT_ALLOWED;
}


static ngx_int_t
ngx_http_logistics_brownout_change(ngx_http_request_t *r,
    ngx_http_logistics_main_conf_t *lmcf)
{
    int64_t        ttl;
    ngx_str_t      level, ttl_text;
    lg_brownout_t  b;

    if (lmcf->redis != NULL) {
        /*
         * Every node copies lg:brownout from Redis twice a second: a
         * level set here would be undone at the next copy, on this node
         * only.
         */
        return ngx_http_logistics_admin_error(r, NGX_HTTP_CONFLICT,
                   "this gateway takes the brownout from Redis: set it on "
                   "every node with \"logistics-policy degrade --level "
                   "LEVEL [--ttl T] --redis ...\"");
    }

    if (r->method == NGX_HTTP_DELETE) {
        ngx_str_set(&level, "off");

    } else if (ngx_http_arg(r, (u_char *) "level", 5, &level) != NGX_OK) {
        return ngx_http_logistics_admin_error(r, NGX_HTTP_BAD_REQUEST,
                   "give ?level=deferrable, ?level=normal or ?level=off "
                   "(and optionally &ttl=15m)");
    }

    if (lg_brownout_level_parse((const char *) level.data, level.len,
                                &b.level)
        != 0)
    {
        return ngx_http_logistics_admin_error(r, NGX_HTTP_BAD_REQUEST,
                   "level must be deferrable, normal or off");
    }

    b.expires = 0;

    if (ngx_http_arg(r, (u_char *) "ttl", 3, &ttl_text) == NGX_OK) {

        if (b.level == LG_BROWNOUT_OFF) {
            return ngx_http_logistics_admin_error(r, NGX_HTTP_BAD_REQUEST,
                       "level off takes no ttl");
        }

        if (lg_duration_parse((const char *) ttl_text.data, ttl_text.len,
                              &ttl)
            != 0
            || ttl < 1000 || ttl > 7 * 86400 * 1000)
        {
            return ngx_http_logistics_admin_error(r, NGX_HTTP_BAD_REQUEST,
                       "ttl must be a duration from 1s to 7d (e.g. 15m)");
        }

        b.expires = ngx_http_logistics_wall_ms() + ttl;
    }

    ngx_http_logistics_brownout_set(lmcf->protect, &b);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "logistics: brownout level \"%s\" set through \"%V\"%s",
                  lg_brownout_level_name(b.level), &r->uri,
                  b.expires ? " with a ttl" : "");

    return ngx_http_logistics_brownout_show(r, lmcf, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_logistics_brownout_show(ngx_http_request_t *r,
    ngx_http_logistics_main_conf_t *lmcf, ngx_uint_t status)
{
    u_char         *body;
    size_t          len;
    int64_t         now;
    const char     *source;
    lg_brownout_t   b;

    ngx_http_logistics_brownout_get(lmcf->protect, &b);

    now = ngx_http_logistics_wall_ms();
    source = ngx_http_logistics_brownout_source(lmcf);

    len = lg_brownout_json(&b, source, now, NULL, 0);

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = lg_brownout_json(&b, source, now, (char *) body, len + 1);

    return ngx_http_logistics_admin_send(r, status, body, len);
}


/* {"error":"..."}: the texts are constants without quotes to escape */

static ngx_int_t
ngx_http_logistics_admin_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *text)
{
    u_char  *body;
    size_t   len;

    len = sizeof("{\"error\":\"\"}\n") - 1 + ngx_strlen(text);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_sprintf(body, "{\"error\":\"%s\"}\n", text);

    return ngx_http_logistics_admin_send(r, status, body, len);
}


static ngx_int_t
ngx_http_logistics_admin_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_str_t     value;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ngx_str_set(&value, "no-store");

    if (ngx_http_logistics_add_out_header(r, "Cache-Control", &value)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
