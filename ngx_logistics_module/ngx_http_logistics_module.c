
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "ngx_http_logistics_module.h"
#include "ngx_http_logistics_handler.h"
#include "ngx_http_logistics_filter.h"
#include "ngx_http_logistics_jwks.h"
#include "ngx_http_logistics_ratelimit.h"
#include "ngx_http_logistics_shm.h"
#include "ngx_http_logistics_variables.h"


static void *ngx_http_logistics_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_logistics_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_logistics_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_logistics_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_logistics_gateway_post(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_logistics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_logistics_redis_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_logistics_init_process(ngx_cycle_t *cycle);
static void ngx_http_logistics_exit_process(ngx_cycle_t *cycle);
static void ngx_http_logistics_policy_cleanup(void *data);
static ngx_int_t ngx_http_logistics_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_logistics_postconfiguration(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_logistics_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_logistics_fail_modes[] = {
    { ngx_string("open"), LG_FAIL_OPEN },
    { ngx_string("closed"), LG_FAIL_CLOSED },
    { ngx_null_string, 0 }
};


static ngx_conf_post_t  ngx_http_logistics_gateway_post_handler = {
    ngx_http_logistics_gateway_post
};


static ngx_command_t  ngx_http_logistics_commands[] = {

    { ngx_string("logistics_policy"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_logistics_policy,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("logistics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_logistics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("logistics_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_logistics_redis_cmd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("logistics_fail_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, fail_mode),
      &ngx_http_logistics_fail_modes },

    { ngx_string("logistics_ratelimit_legacy_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, legacy_headers),
      NULL },

    { ngx_string("logistics_token_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, token_cache),
      NULL },

    { ngx_string("logistics_gateway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, enable),
      &ngx_http_logistics_gateway_post_handler },

    { ngx_string("logistics_webhook_outbound"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, webhook_outbound),
      &ngx_http_logistics_gateway_post_handler },

    { ngx_string("logistics_deny_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, deny_log_level),
      &ngx_http_logistics_log_levels },

    { ngx_string("logistics_problem_type_base"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, problem_type_base),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_logistics_module_ctx = {
    ngx_http_logistics_preconfiguration,   /* preconfiguration */
    ngx_http_logistics_postconfiguration,  /* postconfiguration */

    ngx_http_logistics_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_logistics_create_loc_conf,    /* create location configuration */
    ngx_http_logistics_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_logistics_module = {
    NGX_MODULE_V1,
    &ngx_http_logistics_module_ctx,        /* module context */
    ngx_http_logistics_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_logistics_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_logistics_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_logistics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->policy = NULL;
     *     lmcf->policy_file = { 0, NULL };
     *     lmcf->enabled = 0;
     */

    return lmcf;
}


static void *
ngx_http_logistics_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->problem_type_base = { 0, NULL };
     */

    lcf->enable = NGX_CONF_UNSET;
    lcf->deny_log_level = NGX_CONF_UNSET_UINT;
    lcf->fail_mode = NGX_CONF_UNSET_UINT;
    lcf->legacy_headers = NGX_CONF_UNSET;
    lcf->token_cache = NGX_CONF_UNSET;
    lcf->webhook_outbound = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_logistics_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_logistics_loc_conf_t *prev = parent;
    ngx_http_logistics_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->deny_log_level, prev->deny_log_level,
                              NGX_LOG_INFO);
    ngx_conf_merge_str_value(conf->problem_type_base,
                             prev->problem_type_base,
                             "urn:logistics-gateway:problem:");
    ngx_conf_merge_uint_value(conf->fail_mode, prev->fail_mode,
                              NGX_CONF_UNSET_UINT);
    ngx_conf_merge_value(conf->legacy_headers, prev->legacy_headers, 0);
    ngx_conf_merge_value(conf->token_cache, prev->token_cache, 1);
    ngx_conf_merge_value(conf->webhook_outbound, prev->webhook_outbound, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_gateway_post(ngx_conf_t *cf, void *post, void *data)
{
    ngx_flag_t                      *fp = data;
    ngx_http_logistics_main_conf_t  *lmcf;

    if (*fp) {
        lmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_logistics_module);
        lmcf->enabled = 1;
    }

    return NGX_CONF_OK;
}


/*
 * The policy is compiled here, once, while nginx reads its configuration:
 * a bad policy fails "nginx -t" and a reload with a bad policy keeps the
 * old cycle (and so the old policy) serving.
 */

static char *
ngx_http_logistics_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_logistics_main_conf_t *lmcf = conf;

    u_char              *file;
    ngx_str_t           *value, name;
    lg_error_t           err;
    ngx_pool_cleanup_t  *cln;

    if (lmcf->policy != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    file = ngx_pnalloc(cf->pool, name.len + 1);
    if (file == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(file, name.data, name.len);
    file[name.len] = '\0';

    lmcf->policy = lg_policy_load((char *) file, &err);

    if (lmcf->policy == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err.text);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        lg_policy_free(lmcf->policy);
        lmcf->policy = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_logistics_policy_cleanup;
    cln->data = lmcf->policy;

    lmcf->policy_file.data = file;
    lmcf->policy_file.len = name.len;

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_logistics_main_conf_t *lmcf = conf;

    ngx_str_t  *value;

    if (lmcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lmcf->zone = ngx_http_logistics_zone_add(cf, &value[1]);
    if (lmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_logistics_redis_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_logistics_main_conf_t *lmcf = conf;

    return ngx_http_logistics_redis_directive(cf, &lmcf->redis);
}


/* the Redis connection is opened in each worker, never in the master */

static ngx_int_t
ngx_http_logistics_init_process(ngx_cycle_t *cycle)
{
    ngx_http_logistics_main_conf_t  *lmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_logistics_module);

    if (lmcf == NULL || !lmcf->enabled) {
        return NGX_OK;
    }

#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD)
    /*
     * glibc hands the top of the heap back to the kernel whenever more
     * than 128 KB of it is free, and a worker's heap swings by about that
     * much between one burst of requests and the next (request pools,
     * proxy buffers, the Redis client's buffers): profiles showed a brk()
     * shrink and regrow every ten requests, each followed by page faults.
     * Keeping up to 8 MB of free heap per worker ends the ping-pong.
     */
    (void) mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif

    if (lmcf->redis == NULL) {
        return NGX_OK;
    }

    return ngx_http_logistics_redis_init_process(cycle, lmcf->redis);
}


static void
ngx_http_logistics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_logistics_redis_exit_process();
    ngx_http_logistics_jwks_exit();
}


static void
ngx_http_logistics_policy_cleanup(void *data)
{
    lg_policy_free(data);
}


static ngx_int_t
ngx_http_logistics_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_logistics_add_variables(cf);
}


static ngx_int_t
ngx_http_logistics_postconfiguration(ngx_conf_t *cf)
{
    size_t                           i;
    ngx_http_handler_pt             *h;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_logistics_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_logistics_module);

    if (!lmcf->enabled) {
        /* an unused module costs nothing */
        return NGX_OK;
    }

    if (lmcf->policy == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"logistics_gateway on\" requires a "
                      "\"logistics_policy\" in the http block");
        return NGX_ERROR;
    }

    for (i = 0; i < lmcf->policy->nissuers; i++) {
        if (lmcf->policy->issuers[i].jwks_uri.len && lmcf->zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "issuer \"%s\" of the policy \"%V\" fetches its "
                          "keys (jwks_uri): add \"logistics_zone name:size\" "
                          "to the http block to share them",
                          lmcf->policy->issuers[i].name.data,
                          &lmcf->policy_file);
            return NGX_ERROR;
        }
    }

    if (lmcf->policy->has_limits && lmcf->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "the policy \"%V\" sets rate limits: add "
                      "\"logistics_zone name:size\" to the http block",
                      &lmcf->policy_file);
        return NGX_ERROR;
    }

    if (lmcf->policy->webhook_routes && lmcf->zone == NULL
        && lmcf->redis == NULL)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "the policy \"%V\" receives webhooks, which reach "
                      "Odoo once by their event ids: add \"logistics_zone "
                      "name:size\" (or \"logistics_redis\") to the http "
                      "block", &lmcf->policy_file);
        return NGX_ERROR;
    }

    if (ngx_http_logistics_limits_init(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    lmcf->steps = ngx_http_logistics_steps(lmcf);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_logistics_access_handler;

    return ngx_http_logistics_filter_init(cf);
}
