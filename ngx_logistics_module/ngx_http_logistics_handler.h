
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _NGX_HTTP_LOGISTICS_HANDLER_H_INCLUDED_
#define _NGX_HTTP_LOGISTICS_HANDLER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_module.h"


/*
 * A step of the pipeline returns NGX_OK (go on with the next step),
 * NGX_AGAIN (it waits on an event and runs again when the request is
 * resumed), NGX_HTTP_LOGISTICS_REFUSE (ctx->answer says why), NGX_DONE
 * (it answered the request itself) or NGX_ERROR.
 */

typedef ngx_int_t (*ngx_http_logistics_step_pt)(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx);


/* a refusal by an earlier step waits for this step, which may override */
#define NGX_HTTP_LOGISTICS_STEP_PRECEDES  0x01


struct ngx_http_logistics_step_s {
    ngx_str_t                       name;
    ngx_http_logistics_step_pt      handler;
    ngx_uint_t                      flags;
};


/* the order of the steps for this configuration (shared memory or Redis) */
const ngx_http_logistics_step_t *ngx_http_logistics_steps(
    ngx_http_logistics_main_conf_t *lmcf);

ngx_int_t ngx_http_logistics_access_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_LOGISTICS_HANDLER_H_INCLUDED_ */
