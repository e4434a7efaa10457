
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
#include "ngx_http_logistics_body.h"
#include "ngx_http_logistics_guard.h"
#include "ngx_http_logistics_forward.h"
#include "ngx_http_logistics_filter.h"
#include "ngx_http_logistics_idem.h"
#include "ngx_http_logistics_jwks.h"
#include "ngx_http_logistics_protect.h"
#include "ngx_http_logistics_brownout.h"
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
static ngx_int_t ngx_http_logistics_host_variables(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);
static ngx_int_t ngx_http_logistics_idem_zone(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);
static ngx_int_t ngx_http_logistics_issuer_rules(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf);


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

    { ngx_string("logistics_trace_context"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_logistics_loc_conf_t, trace_context),
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

    { ngx_string("logistics_odoo_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_logistics_odoo_status_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("logistics_brownout"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_logistics_brownout_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

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
    lcf->trace_context = NGX_CONF_UNSET;
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
    ngx_conf_merge_value(conf->trace_context, prev->trace_context, 1);
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
    size_t               i;
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

    for (i = 0; i < lmcf->policy->nwarnings; i++) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "%s",
                           lmcf->policy->warnings[i].data);
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

    if (ngx_http_logistics_protect_init_process(cycle, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (lmcf->redis == NULL) {
        return NGX_OK;
    }

    if (ngx_http_logistics_redis_init_process(cycle, lmcf->redis) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_logistics_brownout_init_process(cycle, lmcf);
}


static void
ngx_http_logistics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_logistics_brownout_exit_process();
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
    ngx_uint_t                       level;
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

    if (lmcf->redis != NULL && lmcf->redis->password_file.len
        && (lmcf->redis->password_file_mode & 077))
    {
        /* the policy's secret files are judged the same way */
        level = lmcf->policy->strict_secret_files ? NGX_LOG_EMERG
                                                  : NGX_LOG_WARN;

        ngx_log_error(level, cf->log, 0,
                      "Redis password_file \"%V\" is readable by group or "
                      "others (mode %04uo): chmod 600 it",
                      &lmcf->redis->password_file,
                      lmcf->redis->password_file_mode);

        if (level == NGX_LOG_EMERG) {
            return NGX_ERROR;
        }
    }

    if (lmcf->redis != NULL && lmcf->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"logistics_redis\" needs a \"logistics_zone "
                      "name:size\" in the http block: it keeps the "
                      "suspensions and revocations Redis reported, for "
                      "when Redis cannot answer");
        return NGX_ERROR;
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

    if (ngx_http_logistics_limits_init(cf, lmcf) != NGX_OK
        || ngx_http_logistics_idem_zone(cf, lmcf) != NGX_OK
        || ngx_http_logistics_idem_init(cf, lmcf) != NGX_OK
        || ngx_http_logistics_issuer_rules(cf, lmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_logistics_protect_init(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    lmcf->steps = ngx_http_logistics_steps(lmcf);

    if (ngx_http_logistics_host_variables(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_logistics_access_handler;

    if (ngx_http_logistics_guard_init(cf, lmcf) != NGX_OK
        || ngx_http_logistics_forward_init(cf) != NGX_OK
        || ngx_http_logistics_body_filter_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_logistics_filter_init(cf);
}


/*
 * The forward step rewrites what $host and $http_host say, and
 * $logistics_upstream_host falls back to $proxy_host.
 */

static ngx_int_t
ngx_http_logistics_host_variables(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    ngx_str_t  name;

    ngx_str_set(&name, "host");

    lmcf->host_index = ngx_http_get_variable_index(cf, &name);
    if (lmcf->host_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_str_set(&name, "http_host");

    lmcf->http_host_index = ngx_http_get_variable_index(cf, &name);
    if (lmcf->http_host_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* $logistics_upstream_host falls back to it */
    ngx_str_set(&name, "proxy_host");

    lmcf->proxy_host_index = ngx_http_get_variable_index(cf, &name);
    if (lmcf->proxy_host_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Without Redis, idempotency records and locks live in a shared zone of
 * their own, sized by the policy (idempotency.store_size): counters and
 * cached tokens evicted under pressure never take a record with them,
 * and a full store refuses new claims instead of evicting live ones.
 */

static ngx_int_t
ngx_http_logistics_idem_zone(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    size_t              i;
    ngx_str_t           name;
    const lg_policy_t  *policy;

    policy = lmcf->policy;

    if (lmcf->redis != NULL) {
        return NGX_OK;
    }

    for (i = 0; i < policy->nroutes; i++) {
        if (policy->routes[i]->idempotency != LG_IDEM_OFF) {
            break;
        }
    }

    if (i == policy->nroutes) {
        return NGX_OK;
    }

    if (lmcf->zone != NULL) {
        name.len = lmcf->zone->shm.name.len + sizeof("_idempotency") - 1;
        name.data = ngx_pnalloc(cf->pool, name.len);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(name.data, "%V_idempotency", &lmcf->zone->shm.name);

    } else {
        ngx_str_set(&name, "logistics_idempotency");
    }

    lmcf->idem_zone = ngx_http_logistics_zone_add_kept(cf, &name,
                                              (size_t) policy->idem_store_size);

    return lmcf->idem_zone ? NGX_OK : NGX_ERROR;
}


/* the verified-token cache compares these on every hit */

static ngx_int_t
ngx_http_logistics_issuer_rules(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    size_t              i;
    const lg_policy_t  *policy;

    policy = lmcf->policy;

    lmcf->issuer_rules = ngx_pcalloc(cf->pool,
                              (policy->nissuers ? policy->nissuers : 1)
                              * sizeof(ngx_http_logistics_issuer_rules_t));
    if (lmcf->issuer_rules == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < policy->nissuers; i++) {
        if (lg_jwt_rules_digest(&policy->issuers[i].rules,
                                lmcf->issuer_rules[i].digest)
            != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "logistics: cannot digest the rules of issuer "
                          "\"%s\"", policy->issuers[i].name.data);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
