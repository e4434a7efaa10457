
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"


static ngx_int_t ngx_http_logistics_allow_header(ngx_http_request_t *r,
    unsigned allow);
static ngx_int_t ngx_http_logistics_send_problem(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);
static ngx_int_t ngx_http_logistics_finish(ngx_http_request_t *r,
    ngx_int_t rc);


ngx_int_t
ngx_http_logistics_refuse(ngx_http_logistics_ctx_t *ctx,
    lg_problem_e problem, const char *reason)
{
    ngx_memzero(&ctx->answer, sizeof(ngx_http_logistics_answer_t));

    ctx->answer.problem = problem;
    ctx->answer.reason = reason;

    return NGX_HTTP_LOGISTICS_REFUSE;
}


static ngx_int_t
ngx_http_logistics_allow_header(ngx_http_request_t *r, unsigned allow)
{
    u_char     *p;
    size_t      len;
    unsigned    m;
    ngx_str_t   value;

    static const unsigned  order[] = {
        LG_METHOD_GET, LG_METHOD_HEAD, LG_METHOD_POST, LG_METHOD_PUT,
        LG_METHOD_PATCH, LG_METHOD_DELETE, LG_METHOD_OPTIONS
    };

    /* GET implies HEAD; the gateway answers OPTIONS on every known path */

    if (allow & LG_METHOD_GET) {
        allow |= LG_METHOD_HEAD;
    }

    allow |= LG_METHOD_OPTIONS;

    len = sizeof("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;

    for (m = 0; m < sizeof(order) / sizeof(order[0]); m++) {
        if (allow & order[m]) {
            if (p != value.data) {
                *p++ = ',';
                *p++ = ' ';
            }

            p = ngx_cpymem(p, lg_method_name(order[m]),
                           ngx_strlen(lg_method_name(order[m])));
        }
    }

    value.len = p - value.data;

    if (ngx_http_logistics_add_out_header(r, "Allow", &value) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Every rejection: the reason goes to the log and to $logistics_decision,
 * the partner gets the problem type's generic detail.
 */

ngx_int_t
ngx_http_logistics_deny(ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx)
{
    unsigned                        auth;
    ngx_str_t                       value;
    const char                     *reason;
    const lg_problem_type_t        *t;
    ngx_http_logistics_answer_t    *a;
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    a = &ctx->answer;
    reason = a->reason;

    ctx->decision.data = (u_char *) reason;
    ctx->decision.len = ngx_strlen(reason);

    t = lg_problem_type(a->problem);

    ngx_log_error(lcf->deny_log_level, r->connection->log, 0,
                  "logistics: %d %s, partner: \"%s\", key: \"%s\", "
                  "route: \"%s\", request id: \"%V\"",
                  t->status, reason,
                  ctx->partner ? ctx->partner->id.data : "",
                  ctx->key ? ctx->key->id.data : "",
                  ctx->route ? ctx->route->id.data : "",
                  &ctx->request_id);

    if (a->allow
        && ngx_http_logistics_allow_header(r, a->allow) != NGX_OK)
    {
        return ngx_http_logistics_finish(r, NGX_ERROR);
    }

    if (a->challenge.len) {
        r->headers_out.www_authenticate =
            ngx_http_logistics_add_out_header(r, "WWW-Authenticate",
                                              &a->challenge);

        if (r->headers_out.www_authenticate == NULL) {
            return ngx_http_logistics_finish(r, NGX_ERROR);
        }

    } else if (t->status == NGX_HTTP_UNAUTHORIZED) {
        /* one challenge per method the route accepts (RFC 9110) */

        auth = ctx->route ? ctx->route->auth : LG_AUTH_API_KEY;

        if (auth & LG_AUTH_BEARER) {
            ngx_str_set(&value, "Bearer realm=\"logistics\"");

            r->headers_out.www_authenticate =
                ngx_http_logistics_add_out_header(r, "WWW-Authenticate",
                                                  &value);
            if (r->headers_out.www_authenticate == NULL) {
                return ngx_http_logistics_finish(r, NGX_ERROR);
            }
        }

        if (auth == LG_AUTH_MTLS) {
            ngx_str_set(&a->detail, "A client certificate registered for a "
                        "partner is required.");
        }

        if (auth == LG_AUTH_WEBHOOK) {
            /* no registered scheme: the signature headers are the proof */
            ngx_str_set(&value, "Webhook realm=\"logistics\"");

            r->headers_out.www_authenticate =
                ngx_http_logistics_add_out_header(r, "WWW-Authenticate",
                                                  &value);
            if (r->headers_out.www_authenticate == NULL) {
                return ngx_http_logistics_finish(r, NGX_ERROR);
            }
        }

        if (auth & LG_AUTH_API_KEY) {
            ngx_str_set(&value, "ApiKey realm=\"logistics\"");

            r->headers_out.www_authenticate =
                ngx_http_logistics_add_out_header(r, "WWW-Authenticate",
                                                  &value);
            if (r->headers_out.www_authenticate == NULL) {
                return ngx_http_logistics_finish(r, NGX_ERROR);
            }
        }

        if (a->detail.len == 0 && (auth & LG_AUTH_BEARER)) {
            if (auth & LG_AUTH_API_KEY) {
                ngx_str_set(&a->detail,
                            "A valid API key or bearer token is required.");

            } else {
                ngx_str_set(&a->detail,
                            "A valid bearer token is required.");
            }
        }
    }

    if (a->retry_after > 0) {
        value.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (value.data == NULL) {
            return ngx_http_logistics_finish(r, NGX_ERROR);
        }

        value.len = ngx_sprintf(value.data, "%L", a->retry_after)
                    - value.data;

        if (ngx_http_logistics_add_out_header(r, "Retry-After", &value)
            == NULL)
        {
            return ngx_http_logistics_finish(r, NGX_ERROR);
        }
    }

    return ngx_http_logistics_send_problem(r, ctx);
}


/*
 * Sends an RFC 9457 problem from the access phase.  The response is
 * complete when this returns, so the phase handler answers NGX_DONE and
 * nginx's own (HTML) error page never runs.
 */

static ngx_int_t
ngx_http_logistics_send_problem(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    char                           *detail;
    lg_problem_e                    problem;
    ngx_http_logistics_answer_t    *a;
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_str_t                       value;
    ngx_chain_t                     out;
    const lg_problem_type_t        *t;
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    a = &ctx->answer;
    problem = a->problem;
    t = lg_problem_type(problem);

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return ngx_http_logistics_finish(r, rc);
    }

    detail = a->detail.len ? (char *) a->detail.data : NULL;

    len = lg_problem_render(NULL, 0, (char *) lcf->problem_type_base.data,
                            lcf->problem_type_base.len, problem, detail,
                            a->detail.len, (char *) ctx->request_id.data,
                            ctx->request_id.len, (char *) a->extra.data,
                            a->extra.len);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return ngx_http_logistics_finish(r, NGX_ERROR);
    }

    b->last += lg_problem_render((char *) b->pos, len + 1,
                                 (char *) lcf->problem_type_base.data,
                                 lcf->problem_type_base.len, problem, detail,
                                 a->detail.len,
                                 (char *) ctx->request_id.data,
                                 ctx->request_id.len,
                                 (char *) a->extra.data, a->extra.len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = t->status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/problem+json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ngx_str_set(&value, "no-store");

    if (ngx_http_logistics_add_out_header(r, "Cache-Control", &value)
        == NULL)
    {
        return ngx_http_logistics_finish(r, NGX_ERROR);
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return ngx_http_logistics_finish(r, rc);
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_logistics_finish(r, ngx_http_output_filter(r, &out));
}


ngx_int_t
ngx_http_logistics_send_options(ngx_http_request_t *r, unsigned allow)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return ngx_http_logistics_finish(r, rc);
    }

    if (ngx_http_logistics_allow_header(r, allow) != NGX_OK) {
        return ngx_http_logistics_finish(r, NGX_ERROR);
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_logistics_finish(r, ngx_http_send_header(r));
}


static ngx_int_t
ngx_http_logistics_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}
