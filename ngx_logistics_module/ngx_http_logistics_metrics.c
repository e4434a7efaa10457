
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <time.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_metrics.h"
#include "ngx_http_logistics_metrics_int.h"


/*
 * The gateway's metrics: a module of its own in the same shared object,
 * with its directives, its shared memory zone, its log-phase handler and
 * its content handler (the Prometheus endpoint and the status page).
 *
 *     logistics_metrics_zone metrics:4m [per_partner=off];   (http)
 *     location /metrics { logistics_metrics [zeros=off]; }
 *
 * The zone holds "generations", one per metrics layout (the numbering of
 * every series of a policy, lg_metrics_layout()).  A generation is a
 * copy of its layout, a base array and one array per process ("set"):
 * each worker claims a set when it starts and is its only writer, so the
 * hot path is values[slot]++ with no lock and no atomic; the scrape sums
 * the base and the sets under the zone's mutex.  A worker that exits
 * folds its set into the base; the set of one that crashed is folded by
 * whoever notices (a claim, a scrape).  Counters never go backwards.
 *
 * A reload with a policy of the same layout keeps the generation (the
 * old and the new workers write different sets of it).  A changed
 * layout gets a new generation; the old one is read, remapped by label
 * values, as long as old workers write to it, and then folded into the
 * new one for good.  A zone whose size changes is a new zone: its
 * counters start from zero (nginx reuses a zone only at the same size).
 */


#define NGX_HTTP_LOGISTICS_METRICS_FOLD  1000   /* ms, private arrays */




static void *ngx_http_logistics_metrics_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_logistics_metrics_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_logistics_metrics_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_logistics_metrics_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_logistics_metrics_location(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_logistics_metrics_postconfiguration(
    ngx_conf_t *cf);
static void ngx_http_logistics_metrics_layout_cleanup(void *data);
static ngx_int_t ngx_http_logistics_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_http_logistics_mgen_t *ngx_http_logistics_metrics_gen(
    ngx_http_logistics_mzone_t *mz, ngx_uint_t nsets, ngx_log_t *log);
static size_t ngx_http_logistics_metrics_gen_size(
    const lg_metrics_layout_t *layout, ngx_uint_t nsets);
static void ngx_http_logistics_metrics_gen_free(
    ngx_http_logistics_mzone_t *mz, ngx_http_logistics_mgen_t *gen);
static ngx_int_t ngx_http_logistics_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_http_logistics_metrics_exit_process(ngx_cycle_t *cycle);
static void ngx_http_logistics_metrics_fold_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_logistics_metrics_log(ngx_http_request_t *r);
static lg_decision_e ngx_http_logistics_metrics_decision(
    ngx_http_request_t *r, ngx_http_logistics_ctx_t *ctx);
static void ngx_http_logistics_metrics_auth(ngx_http_logistics_ctx_t *ctx,
    lg_decision_e decision);


static ngx_command_t  ngx_http_logistics_metrics_commands[] = {

    { ngx_string("logistics_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_logistics_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("logistics_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_logistics_metrics_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_logistics_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_logistics_metrics_postconfiguration, /* postconfiguration */

    ngx_http_logistics_metrics_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_logistics_metrics_create_loc_conf, /* create location conf */
    ngx_http_logistics_metrics_merge_loc_conf   /* merge location conf */
};


ngx_module_t  ngx_http_logistics_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_logistics_metrics_module_ctx, /* module context */
    ngx_http_logistics_metrics_commands,   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_logistics_metrics_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_logistics_metrics_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* what the counting helpers of every glue file use */
ngx_http_logistics_metrics_t  ngx_http_logistics_metrics;


/* this process: its generation, its set, or a private array */
static ngx_http_logistics_mzone_t  *ngx_http_logistics_metrics_mz;
static ngx_http_logistics_mset_t   *ngx_http_logistics_metrics_set;
static ngx_event_t                  ngx_http_logistics_metrics_folder;
static ngx_connection_t             ngx_http_logistics_metrics_dummy;
ngx_http_logistics_mbuf_t           ngx_http_logistics_metrics_bufs[2];


static void *
ngx_http_logistics_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_logistics_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->zone = NULL;
     *     mmcf->handler = 0;
     *     mmcf->layout = NULL;
     */

    mmcf->per_partner = NGX_CONF_UNSET;
    mmcf->cycle = cf->cycle;

    return mmcf;
}


static void *
ngx_http_logistics_metrics_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_logistics_metrics_loc_conf_t  *mlcf;

    mlcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_logistics_metrics_loc_conf_t));
    if (mlcf == NULL) {
        return NULL;
    }

    mlcf->zeros = NGX_CONF_UNSET;

    return mlcf;
}


static char *
ngx_http_logistics_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_logistics_metrics_loc_conf_t *prev = parent;
    ngx_http_logistics_metrics_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->zeros, prev->zeros, 1);

    return NGX_CONF_OK;
}


/* logistics_metrics_zone NAME:SIZE [per_partner=on|off] */

static char *
ngx_http_logistics_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_logistics_metrics_main_conf_t *mmcf = conf;

    u_char                      *p;
    ssize_t                      size;
    ngx_str_t                   *value, name, s;
    ngx_uint_t                   i;
    ngx_http_logistics_mzone_t  *mz;

    if (mmcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected name:size",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "zone \"%V\" is too small",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "per_partner=on") == 0) {
            mmcf->per_partner = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "per_partner=off") == 0) {
            mmcf->per_partner = 0;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    mz = ngx_pcalloc(cf->pool, sizeof(ngx_http_logistics_mzone_t));
    if (mz == NULL) {
        return NGX_CONF_ERROR;
    }

    mz->mmcf = mmcf;

    mmcf->zone = ngx_shared_memory_add(cf, &name, size,
                                       &ngx_http_logistics_metrics_module);
    if (mmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mmcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate zone \"%V\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    mmcf->zone->init = ngx_http_logistics_metrics_init_zone;
    mmcf->zone->data = mz;

    return NGX_CONF_OK;
}


/* logistics_metrics [zeros=on|off]: this location serves the metrics */

static char *
ngx_http_logistics_metrics_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_logistics_metrics_loc_conf_t *mlcf = conf;

    ngx_str_t                               *value;
    ngx_http_core_loc_conf_t                *clcf;
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    if (mlcf->zeros != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    mlcf->zeros = 1;
    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "zeros=off") == 0) {
            mlcf->zeros = 0;

        } else if (ngx_strcmp(value[1].data, "zeros=on") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_logistics_metrics_handler;

    mmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_logistics_metrics_module);
    mmcf->handler = 1;

    return NGX_CONF_OK;
}


/*
 * The layout of the policy is built here, once per configuration, in the
 * master: the zone's init copies it into shared memory and every worker
 * numbers its series with the private copy it inherits.
 */

static ngx_int_t
ngx_http_logistics_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_time_t                              *tp;
    ngx_pool_cleanup_t                      *cln;
    ngx_http_handler_pt                     *h;
    lg_metrics_options_t                     opts;
    ngx_http_core_main_conf_t               *cmcf;
    ngx_http_logistics_main_conf_t          *lmcf;
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_logistics_metrics_module);
    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_logistics_module);

    mmcf->lmcf = lmcf;

    if (mmcf->zone == NULL) {
        if (mmcf->handler) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"logistics_metrics\" requires a "
                          "\"logistics_metrics_zone\" in the http block");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (lmcf->policy == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"logistics_metrics_zone\" requires a "
                      "\"logistics_policy\" in the http block");
        return NGX_ERROR;
    }

    ngx_conf_init_value(mmcf->per_partner, 1);

    opts.per_partner = mmcf->per_partner ? 1 : 0;

    mmcf->layout = lg_metrics_layout(lmcf->policy, &opts);

    if (mmcf->layout == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "the metrics of the policy \"%V\" do not fit in "
                      "memory", &lmcf->policy_file);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        lg_metrics_layout_free(mmcf->layout);
        mmcf->layout = NULL;
        return NGX_ERROR;
    }

    cln->handler = ngx_http_logistics_metrics_layout_cleanup;
    cln->data = mmcf->layout;

    tp = ngx_timeofday();
    mmcf->loaded = (int64_t) tp->sec * 1000000 + (int64_t) tp->msec * 1000;

    if (!lmcf->enabled) {
        /* nothing runs the gateway: nothing to count, only to show */
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_logistics_metrics_log;

    return NGX_OK;
}


static void
ngx_http_logistics_metrics_layout_cleanup(void *data)
{
    lg_metrics_layout_free(data);
}


/* runs in the master, for the first start and for every reload */

static ngx_int_t
ngx_http_logistics_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_logistics_mzone_t  *omz = data;

    size_t                                   len;
    ngx_int_t                                workers;
    ngx_uint_t                               nsets;
    ngx_core_conf_t                         *ccf;
    ngx_http_logistics_mgen_t               *gen;
    ngx_http_logistics_mzone_t              *mz;
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    mz = shm_zone->data;
    mmcf = mz->mmcf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(mmcf->cycle->conf_ctx,
                                           ngx_core_module);

    workers = ccf->worker_processes > 0 ? ccf->worker_processes : 1;

    /*
     * A set for each worker, as many again for the workers of the
     * previous configuration still finishing their requests after a
     * reload, and two spare; past that, workers count privately and fold
     * into the base every second.
     */
    nsets = 2 * (ngx_uint_t) workers + 2;

    if (omz != NULL) {
        mz->sh = omz->sh;
        mz->shpool = omz->shpool;

    } else {
        mz->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            mz->sh = mz->shpool->data;

        } else {
            mz->sh = ngx_slab_calloc(mz->shpool,
                                     sizeof(ngx_http_logistics_mshctx_t));
            if (mz->sh == NULL) {
                return NGX_ERROR;
            }

            mz->shpool->data = mz->sh;

            len = sizeof(" in logistics_metrics_zone \"\"")
                  + shm_zone->shm.name.len;

            mz->shpool->log_ctx = ngx_slab_alloc(mz->shpool, len);
            if (mz->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(mz->shpool->log_ctx,
                        " in logistics_metrics_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            mz->shpool->log_nomem = 0;
        }
    }

    ngx_shmtx_lock(&mz->shpool->mutex);

    /* a generation of the same layout is kept, with its counters */

    for (gen = mz->sh->gens; gen != NULL; gen = gen->next) {
        if (gen->nsets >= nsets
            && lg_metrics_layout_equal(gen->layout, mmcf->layout))
        {
            break;
        }
    }

    if (gen == NULL) {
        gen = ngx_http_logistics_metrics_gen(mz, nsets, shm_zone->shm.log);

        if (gen == NULL) {
            ngx_shmtx_unlock(&mz->shpool->mutex);

            len = ngx_http_logistics_metrics_gen_size(mmcf->layout, nsets);

            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "logistics_metrics_zone \"%V\" is too small: the "
                          "counters of the policy \"%V\" for %i workers "
                          "take %uzk; give it at least %uzk, so that a "
                          "reload with a changed policy fits beside them",
                          &shm_zone->shm.name, &mmcf->lmcf->policy_file,
                          workers, len / 1024 + 1,
                          2 * (len / 1024 + 1) + 64);
            return NGX_ERROR;
        }
    }

    mz->gen = gen;

    mz->sh->loaded = mmcf->loaded;
    ngx_memcpy(mz->sh->digest, mmcf->lmcf->policy->digest, 64);

    if (omz != NULL) {
        gen->base[lg_metrics_slot0(mmcf->layout, LG_MF_POLICY_RELOADS)]++;
    }

    ngx_shmtx_unlock(&mz->shpool->mutex);

    return NGX_OK;
}


/* bytes a generation takes in the zone, slab rounding included */

static size_t
ngx_http_logistics_metrics_gen_size(const lg_metrics_layout_t *layout,
    ngx_uint_t nsets)
{
    size_t  arrays;

    arrays = ngx_align(lg_metrics_nslots(layout) * sizeof(uint64_t),
                       ngx_pagesize);

    return ngx_align(sizeof(ngx_http_logistics_mgen_t)
                     + nsets * sizeof(ngx_http_logistics_mset_t),
                     ngx_pagesize)
           + ngx_align(lg_metrics_layout_size(layout), ngx_pagesize)
           + (nsets + 1) * arrays;
}


/* a new generation for this configuration's layout, under the mutex */

static ngx_http_logistics_mgen_t *
ngx_http_logistics_metrics_gen(ngx_http_logistics_mzone_t *mz,
    ngx_uint_t nsets, ngx_log_t *log)
{
    void                        *copy;
    size_t                       size, bytes;
    ngx_uint_t                   i;
    ngx_http_logistics_mgen_t   *gen;
    const lg_metrics_layout_t   *layout;

    layout = mz->mmcf->layout;
    size = lg_metrics_layout_size(layout);
    bytes = lg_metrics_nslots(layout) * sizeof(uint64_t);

    gen = ngx_slab_calloc_locked(mz->shpool,
                                 sizeof(ngx_http_logistics_mgen_t)
                                 + nsets * sizeof(ngx_http_logistics_mset_t));
    if (gen == NULL) {
        return NULL;
    }

    gen->sets = (ngx_http_logistics_mset_t *) (gen + 1);
    gen->nsets = nsets;
    gen->nslots = lg_metrics_nslots(layout);

    copy = ngx_slab_alloc_locked(mz->shpool, size);
    gen->base = ngx_slab_calloc_locked(mz->shpool, bytes);

    if (copy == NULL || gen->base == NULL) {
        goto failed;
    }

    ngx_memcpy(copy, layout, size);

    gen->layout = lg_metrics_layout_check(copy, size);

    if (gen->layout == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "the metrics layout copied into the zone is invalid");
        ngx_slab_free_locked(mz->shpool, copy);
        goto failed;
    }

    for (i = 0; i < nsets; i++) {
        gen->sets[i].values = ngx_slab_calloc_locked(mz->shpool, bytes);
        if (gen->sets[i].values == NULL) {
            goto failed;
        }
    }

    gen->id = ++mz->sh->next_id;
    gen->next = mz->sh->gens;
    mz->sh->gens = gen;

    return gen;

failed:

    ngx_http_logistics_metrics_gen_free(mz, gen);

    return NULL;
}


static void
ngx_http_logistics_metrics_gen_free(ngx_http_logistics_mzone_t *mz,
    ngx_http_logistics_mgen_t *gen)
{
    ngx_uint_t  i;

    for (i = 0; i < gen->nsets; i++) {
        if (gen->sets[i].values != NULL) {
            ngx_slab_free_locked(mz->shpool, gen->sets[i].values);
        }
    }

    if (gen->layout != NULL) {
        ngx_slab_free_locked(mz->shpool, (void *) gen->layout);
    }

    if (gen->base != NULL) {
        ngx_slab_free_locked(mz->shpool, gen->base);
    }

    ngx_slab_free_locked(mz->shpool, gen);
}


/*
 * A worker claims a set of its configuration's generation: a free one,
 * or the one of a worker that died without folding it.  With none left
 * it counts in a private array folded into the base every second.
 */

static ngx_int_t
ngx_http_logistics_metrics_init_process(ngx_cycle_t *cycle)
{
    uint64_t                                *values;
    ngx_uint_t                               i;
    ngx_http_logistics_mgen_t               *gen;
    ngx_http_logistics_mzone_t              *mz;
    ngx_http_logistics_metrics_t            *mx;
    ngx_http_logistics_metrics_main_conf_t  *mmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                           ngx_http_logistics_metrics_module);

    if (mmcf == NULL || mmcf->zone == NULL
        || mmcf->lmcf == NULL || !mmcf->lmcf->enabled)
    {
        return NGX_OK;
    }

    mz = mmcf->zone->data;
    gen = mz->gen;
    mx = &ngx_http_logistics_metrics;
    values = NULL;

    ngx_shmtx_lock(&mz->shpool->mutex);

    ngx_http_logistics_metrics_reap(mz);

    for (i = 0; i < gen->nsets; i++) {
        if (gen->sets[i].pid == 0) {
            gen->sets[i].pid = ngx_pid;
            ngx_memzero(gen->sets[i].values, gen->nslots * sizeof(uint64_t));
            ngx_http_logistics_metrics_set = &gen->sets[i];
            values = gen->sets[i].values;
            break;
        }
    }

    if (mz->sh->current == NULL || mz->sh->current->id < gen->id) {
        mz->sh->current = gen;
    }

    ngx_shmtx_unlock(&mz->shpool->mutex);

    if (values == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "logistics: no free counter set in "
                      "logistics_metrics_zone \"%V\": this worker's counts "
                      "reach the scrape up to a second late",
                      &mmcf->zone->shm.name);

        values = ngx_calloc(gen->nslots * sizeof(uint64_t), cycle->log);
        if (values == NULL) {
            return NGX_ERROR;
        }

        ngx_http_logistics_metrics_dummy.fd = (ngx_socket_t) -1;
        ngx_http_logistics_metrics_folder.data =
                                        &ngx_http_logistics_metrics_dummy;
        ngx_http_logistics_metrics_folder.handler =
                                        ngx_http_logistics_metrics_fold_timer;
        ngx_http_logistics_metrics_folder.log = cycle->log;
        ngx_http_logistics_metrics_folder.cancelable = 1;

        ngx_add_timer(&ngx_http_logistics_metrics_folder,
                      NGX_HTTP_LOGISTICS_METRICS_FOLD);
    }

    ngx_http_logistics_metrics_mz = mz;

    mx->layout = mmcf->layout;
    mx->values = values;

    if (mx->redis_state) {
        /* the Redis connection was started before the counters */
        ngx_http_logistics_metrics_redis_state(mx->redis_state - 1);
    }

    return NGX_OK;
}


static void
ngx_http_logistics_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    uint64_t                      *values;
    ngx_http_logistics_mgen_t     *gen;
    ngx_http_logistics_mzone_t    *mz;
    ngx_http_logistics_mset_t     *set;
    ngx_http_logistics_metrics_t  *mx;

    mz = ngx_http_logistics_metrics_mz;
    mx = &ngx_http_logistics_metrics;

    for (i = 0; i < 2; i++) {
        ngx_free(ngx_http_logistics_metrics_bufs[i].data);
        ngx_memzero(&ngx_http_logistics_metrics_bufs[i],
                    sizeof(ngx_http_logistics_mbuf_t));
    }

    if (mz == NULL) {
        return;
    }

    values = mx->values;
    set = ngx_http_logistics_metrics_set;
    gen = mz->gen;

    /* from now on nothing is counted: the set may go to another worker */
    mx->values = NULL;
    ngx_http_logistics_metrics_mz = NULL;
    ngx_http_logistics_metrics_set = NULL;

    if (ngx_http_logistics_metrics_folder.timer_set) {
        ngx_del_timer(&ngx_http_logistics_metrics_folder);
    }

    ngx_shmtx_lock(&mz->shpool->mutex);

    /* its counters stay; its state gauges (Redis connections) go */
    lg_metrics_add(gen->layout, gen->base, values, LG_METRICS_ADD_KEPT);

    if (set != NULL) {
        ngx_memzero(set->values, gen->nslots * sizeof(uint64_t));
        set->pid = 0;
    }

    ngx_http_logistics_metrics_retire(mz, cycle->log);

    ngx_shmtx_unlock(&mz->shpool->mutex);

    if (set == NULL) {
        ngx_free(values);
    }
}


static void
ngx_http_logistics_metrics_fold_timer(ngx_event_t *ev)
{
    ngx_http_logistics_mzone_t    *mz;
    ngx_http_logistics_metrics_t  *mx;

    mz = ngx_http_logistics_metrics_mz;
    mx = &ngx_http_logistics_metrics;

    if (mz == NULL || mx->values == NULL) {
        return;
    }

    ngx_shmtx_lock(&mz->shpool->mutex);

    lg_metrics_add(mz->gen->layout, mz->gen->base, mx->values,
                   LG_METRICS_ADD_KEPT);

    ngx_shmtx_unlock(&mz->shpool->mutex);

    ngx_memzero(mx->values, mz->gen->nslots * sizeof(uint64_t));

    /* the state gauges were not folded: keep the Redis state */
    if (mx->redis_state) {
        ngx_http_logistics_metrics_redis_state(mx->redis_state - 1);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_LOGISTICS_METRICS_FOLD);
    }
}


/* the sets of workers that died without folding them; under the mutex */

void
ngx_http_logistics_metrics_reap(ngx_http_logistics_mzone_t *mz)
{
    ngx_uint_t                  i;
    ngx_http_logistics_mset_t  *set;
    ngx_http_logistics_mgen_t  *gen;

    for (gen = mz->sh->gens; gen != NULL; gen = gen->next) {
        for (i = 0; i < gen->nsets; i++) {
            set = &gen->sets[i];

            if (set->pid == 0 || set->pid == ngx_pid
                || kill(set->pid, 0) == 0 || ngx_errno != NGX_ESRCH)
            {
                continue;
            }

            lg_metrics_add(gen->layout, gen->base, set->values,
                           LG_METRICS_ADD_KEPT);
            ngx_memzero(set->values, gen->nslots * sizeof(uint64_t));
            set->pid = 0;
        }
    }
}


/*
 * Generations older than the newest one in use, no longer written by any
 * worker: their counts go into the newest one for good (remapped by
 * label values) and their memory is freed.  Under the mutex.
 */

void
ngx_http_logistics_metrics_retire(ngx_http_logistics_mzone_t *mz,
    ngx_log_t *log)
{
    ngx_uint_t                   i;
    ngx_http_logistics_mgen_t   *gen, **prev, *cur;

    cur = mz->sh->current;

    if (cur == NULL) {
        return;
    }

    prev = &mz->sh->gens;

    while (*prev != NULL) {
        gen = *prev;

        if (gen->id >= cur->id || gen == mz->gen) {
            prev = &gen->next;
            continue;
        }

        for (i = 0; i < gen->nsets; i++) {
            if (gen->sets[i].pid != 0) {
                break;
            }
        }

        if (i < gen->nsets) {
            prev = &gen->next;
            continue;
        }

        if (lg_metrics_remap(gen->layout, gen->base, cur->layout, cur->base,
                             LG_METRICS_ADD_KEPT)
            == (size_t) -1)
        {
            /* out of memory: try again another time */
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "logistics: could not fold old metrics yet");
            return;
        }

        *prev = gen->next;
        ngx_http_logistics_metrics_gen_free(mz, gen);
    }
}


/*
 * The log phase: everything a finished request adds, in one place
 * (requests by route and by partner with the decision, both durations,
 * Odoo's status class, the idempotency outcome, the authentication).
 */

static ngx_int_t
ngx_http_logistics_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t                    i;
    ngx_msec_t                    ms;
    ngx_time_t                   *tp;
    lg_decision_e                 decision;
    lg_metrics_request_t          req;
    ngx_http_logistics_ctx_t     *ctx;
    ngx_http_upstream_state_t    *state;
    ngx_http_logistics_metrics_t *mx;

    mx = &ngx_http_logistics_metrics;

    if (mx->values == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx == NULL) {
        /* not a gateway location, or the pipeline never ran */
        return NGX_OK;
    }

    decision = ngx_http_logistics_metrics_decision(r, ctx);

    req.partner = lg_metrics_partner(mx->layout, ctx->partner);
    req.route = lg_metrics_route(mx->layout, ctx->route, ctx->version);
    req.decision = decision;

    tp = ngx_timeofday();
    ms = (ngx_msec_t) ((tp->sec - r->start_sec) * 1000
                       + (tp->msec - r->start_msec));
    req.duration = (uint64_t) ms * 1000;

    req.upstream_status = 0;
    req.upstream_time = 0;

    if (decision == LG_DECISION_ALLOW && r->upstream_states != NULL) {
        state = r->upstream_states->elts;

        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].peer == NULL) {
                continue;
            }

            req.upstream_status = state[i].status;

            if (state[i].response_time != (ngx_msec_t) -1) {
                req.upstream_time += (uint64_t) state[i].response_time
                                     * 1000;
            }
        }
    }

    switch (ctx->idem.state) {

    case NGX_HTTP_LOGISTICS_IDEM_NONE:
        req.idempotency = LG_IDEM_OUTCOME_LAST;
        break;

    case NGX_HTTP_LOGISTICS_IDEM_REPLAYED:
        req.idempotency = LG_IDEM_OUT_REPLAYED;
        break;

    case NGX_HTTP_LOGISTICS_IDEM_CONFLICT:
        req.idempotency = LG_IDEM_OUT_CONFLICT;
        break;

    case NGX_HTTP_LOGISTICS_IDEM_MISMATCH:
        req.idempotency = LG_IDEM_OUT_MISMATCH;
        break;

    case NGX_HTTP_LOGISTICS_IDEM_BYPASSED:
        req.idempotency = LG_IDEM_OUT_BYPASSED;
        break;

    default:
        /* claimed: forwarded, and then stored or released */
        req.idempotency = LG_IDEM_OUT_NEW;
    }

    lg_metrics_count_request(mx->layout, mx->values, &req);

    ngx_http_logistics_metrics_auth(ctx, decision);

    return NGX_OK;
}


/*
 * The decision word of the request as a label.  Every word a step can
 * end a request with has its entry in lg_decision_e: one without is a
 * bug, reported loudly (and counted under "-").
 */

static lg_decision_e
ngx_http_logistics_metrics_decision(ngx_http_request_t *r,
    ngx_http_logistics_ctx_t *ctx)
{
    lg_decision_e  d;

    if (ctx->decision.len == 0) {
        return LG_DECISION_NONE;
    }

    d = lg_decision_parse((const char *) ctx->decision.data,
                          ctx->decision.len);

    if (d == LG_DECISION_LAST) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "logistics: decision \"%V\" has no word in "
                      "lg_decision_e; counted as \"-\"", &ctx->decision);
        return LG_DECISION_NONE;
    }

    return d;
}


/*
 * Authentications, from what the request ended with: a request that got
 * past routing either authenticated (a partner is known and the decision
 * is not an authentication failure) or failed to, by the method it
 * tried.
 */

static void
ngx_http_logistics_metrics_auth(ngx_http_logistics_ctx_t *ctx,
    lg_decision_e decision)
{
    lg_auth_method_e  method;
    lg_auth_result_e  result;

    switch (decision) {

    case LG_DECISION_OPTIONS:
    case LG_DECISION_VERSION_REQUIRED:
    case LG_DECISION_NOT_FOUND:
    case LG_DECISION_METHOD_NOT_ALLOWED:
    case LG_DECISION_VERSION_SUNSET:
    case LG_DECISION_INTERNAL_ERROR:
        return;

    case LG_DECISION_MISSING_CREDENTIALS:
    case LG_DECISION_MALFORMED_CREDENTIALS:
    case LG_DECISION_API_KEY_NOT_ACCEPTED:
    case LG_DECISION_BEARER_NOT_ACCEPTED:
    case LG_DECISION_UNKNOWN_KEY:
    case LG_DECISION_EXPIRED_KEY:
    case LG_DECISION_KEY_NOT_YET_VALID:
    case LG_DECISION_SUSPENDED_PARTNER:
    case LG_DECISION_INVALID_TOKEN:
    case LG_DECISION_UNKNOWN_ISSUER:
    case LG_DECISION_REVOKED_TOKEN:
    case LG_DECISION_CERTIFICATE_MISMATCH:
    case LG_DECISION_UNKNOWN_CERTIFICATE:
    case LG_DECISION_KEYS_UNAVAILABLE:
    case LG_DECISION_UNKNOWN_PARTNER:
        result = LG_AUTH_FAILURE;
        break;

    default:
        if (ctx->partner == NULL) {
            /* ended while authenticating (the client left) */
            return;
        }

        result = LG_AUTH_SUCCESS;
    }

    if (ctx->auth.bearer) {
        method = LG_AUTH_METHOD_BEARER;

    } else if (ctx->auth.mtls) {
        method = LG_AUTH_METHOD_MTLS;

    } else if (ctx->auth.webhook
               || (ctx->route != NULL && ctx->route->auth == LG_AUTH_WEBHOOK))
    {
        method = LG_AUTH_METHOD_WEBHOOK;

    } else if (ctx->key != NULL || ctx->in.api_key != NULL
               || decision == LG_DECISION_API_KEY_NOT_ACCEPTED
               || decision == LG_DECISION_MALFORMED_CREDENTIALS
               || decision == LG_DECISION_UNKNOWN_KEY)
    {
        method = LG_AUTH_METHOD_API_KEY;

    } else {
        method = LG_AUTH_METHOD_NONE;
    }

    ngx_http_logistics_count2(LG_MF_AUTHENTICATIONS, method, result);
}


uint64_t
ngx_http_logistics_metrics_clock(void)
{
    struct timespec  ts;

    if (ngx_http_logistics_metrics.values == NULL) {
        return 0;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/* a gauge per worker: 1 in the state its connection is in, 0 elsewhere */

void
ngx_http_logistics_metrics_redis_state(lg_conn_state_e state)
{
    size_t                         s;
    ngx_uint_t                     i;
    ngx_http_logistics_metrics_t  *mx;

    mx = &ngx_http_logistics_metrics;
    mx->redis_state = state + 1;

    if (mx->values == NULL) {
        return;
    }

    for (i = 0; i < LG_CONN_LAST; i++) {
        s = lg_metrics_slot1(mx->layout, LG_MF_REDIS_CONNECTIONS, i);
        mx->values[s] = (i == (ngx_uint_t) state);
    }
}


void
ngx_http_logistics_metrics_limits(const lg_partner_t *partner,
    ngx_http_logistics_limit_t *limits, ngx_uint_t n, ngx_uint_t zone)
{
    size_t      p;
    ngx_uint_t  i;

    if (ngx_http_logistics_metrics.values == NULL) {
        return;
    }

    p = ngx_http_logistics_metrics_partner(partner);

    for (i = 0; i < n; i++) {
        ngx_http_logistics_count_add(LG_MF_RATE_LIMIT_DECISIONS, 1, p,
                                     limits[i].name[0] == 'r'
                                     ? LG_LIMIT_ROUTE : LG_LIMIT_PARTNER,
                                     zone ? LG_BACKEND_ZONE
                                          : LG_BACKEND_REDIS,
                                     limits[i].result.allowed
                                     ? LG_RATE_ALLOWED : LG_RATE_LIMITED);
    }
}


void
ngx_http_logistics_metrics_jwks(const lg_issuer_t *issuer, ngx_uint_t keys,
    size_t body_len, ngx_uint_t status)
{
    lg_jwks_outcome_e  outcome;

    if (keys) {
        outcome = LG_JWKS_OK;

    } else if (body_len) {
        outcome = LG_JWKS_INVALID;

    } else if (status == 0 || status == NGX_HTTP_BAD_GATEWAY
               || status == NGX_HTTP_GATEWAY_TIME_OUT)
    {
        /* nginx's own answers when the IdP could not be reached */
        outcome = LG_JWKS_FAILED;

    } else {
        outcome = LG_JWKS_HTTP_ERROR;
    }

    ngx_http_logistics_count2(LG_MF_JWKS_FETCHES,
                              ngx_http_logistics_metrics_issuer(issuer),
                              outcome);
}


/* the kinds of record in the zone, told apart by their keys */

void
ngx_http_logistics_metrics_evicted(const u_char *key, size_t len,
    ngx_uint_t doc)
{
    lg_eviction_e  kind;

    if (!doc) {
        kind = LG_EVICT_RATE_LIMIT;

    } else if (len >= 2 && key[0] == 't' && key[1] == ':') {
        kind = LG_EVICT_TOKEN;

    } else if (len >= 5 && ngx_strncmp(key, "jwks:", 5) == 0) {
        kind = LG_EVICT_JWKS;

    } else {
        kind = LG_EVICT_IDEMPOTENCY;
    }

    ngx_http_logistics_count1(LG_MF_ZONE_EVICTIONS, kind);
}
