
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_logistics_ctx.h"
#include "ngx_http_logistics_guard.h"


/*
 * The gateway runs in the access phase, and nginx skips that phase in
 * more ways than one: "satisfy any" lets any other access module grant
 * the request; subrequests (auth_request, mirror, SSI, addition) never
 * run it; an "internal" location is only reached by internal redirects
 * and subrequests; an error_page redirect can carry a request into a
 * location without the gateway.  What the configuration shows is refused
 * by "nginx -t" here; what only shows at run time is held by two phase
 * handlers: a request that enters a gateway location is marked in the
 * rewrite phase, so a rewrite that takes it to another location before
 * its access phase is refused there, and a gateway location's content is
 * reached only by a request the pipeline allowed.
 */

typedef struct {
    ngx_http_core_loc_conf_t       *clcf;
    void                          **loc_conf;    /* the modules' */
} ngx_http_logistics_loc_t;


typedef struct {
    ngx_conf_t                     *cf;
    ngx_http_core_srv_conf_t       *cscf;
    ngx_array_t                     locations;   /* every location */
    ngx_array_t                     statics;     /* prefix and exact */
    ngx_array_t                     regexes;
} ngx_http_logistics_walk_t;


static ngx_int_t ngx_http_logistics_guard_server(ngx_conf_t *cf,
    ngx_http_core_srv_conf_t *cscf);
static ngx_int_t ngx_http_logistics_guard_collect(
    ngx_http_logistics_walk_t *w, ngx_http_core_loc_conf_t *clcf,
    void **loc_conf);
static ngx_int_t ngx_http_logistics_guard_tree(ngx_http_logistics_walk_t *w,
    ngx_http_location_tree_node_t *node);
static ngx_int_t ngx_http_logistics_guard_check(ngx_http_logistics_walk_t *w,
    ngx_http_core_loc_conf_t *clcf);
static ngx_uint_t ngx_http_logistics_guard_on(void **loc_conf);
static ngx_uint_t ngx_http_logistics_guard_try_files(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *clcf);
static ngx_http_core_loc_conf_t *ngx_http_logistics_guard_target(
    ngx_http_logistics_walk_t *w, ngx_str_t *uri);
static ngx_int_t ngx_http_logistics_guard_rewrite(ngx_http_request_t *r);
static ngx_int_t ngx_http_logistics_guard_content(ngx_http_request_t *r);


ngx_int_t
ngx_http_logistics_guard_init(ngx_conf_t *cf,
    ngx_http_logistics_main_conf_t *lmcf)
{
    ngx_uint_t                  s;
    ngx_http_handler_pt        *h;
    ngx_http_core_srv_conf_t  **cscfp;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        if (ngx_http_logistics_guard_server(cf, cscfp[s]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* the last handler added to a phase runs first: before "rewrite" */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_logistics_guard_rewrite;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_logistics_guard_content;

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_guard_server(ngx_conf_t *cf,
    ngx_http_core_srv_conf_t *cscf)
{
    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t   *clcf, **named;
    ngx_http_logistics_loc_t   *loc;
    ngx_http_logistics_walk_t   w;

    w.cf = cf;
    w.cscf = cscf;

    if (ngx_array_init(&w.locations, cf->temp_pool, 16,
                       sizeof(ngx_http_logistics_loc_t))
        != NGX_OK
        || ngx_array_init(&w.statics, cf->temp_pool, 16, sizeof(void *))
           != NGX_OK
        || ngx_array_init(&w.regexes, cf->temp_pool, 4, sizeof(void *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the server's own configuration has no loc_conf pointer of its own */

    clcf = cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    if (ngx_http_logistics_guard_collect(&w, clcf, cscf->ctx->loc_conf)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (named = cscf->named_locations; named && *named; named++) {
        if (ngx_http_logistics_guard_collect(&w, *named, (*named)->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    loc = w.locations.elts;

    for (i = 0; i < w.locations.nelts; i++) {
        if (ngx_http_logistics_guard_on(loc[i].loc_conf)
            && ngx_http_logistics_guard_check(&w, loc[i].clcf) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a location, its limit_except block, and every location inside it */

static ngx_int_t
ngx_http_logistics_guard_collect(ngx_http_logistics_walk_t *w,
    ngx_http_core_loc_conf_t *clcf, void **loc_conf)
{
    ngx_http_core_loc_conf_t  **p;
    ngx_http_logistics_loc_t   *l;

    l = ngx_array_push(&w->locations);
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->clcf = clcf;
    l->loc_conf = loc_conf;

    if (clcf->limit_except_loc_conf != NULL) {
        l = ngx_array_push(&w->locations);
        if (l == NULL) {
            return NGX_ERROR;
        }

        l->loc_conf = clcf->limit_except_loc_conf;
        l->clcf = l->loc_conf[ngx_http_core_module.ctx_index];
    }

    if (ngx_http_logistics_guard_tree(w, clcf->static_locations) != NGX_OK) {
        return NGX_ERROR;
    }

#if (NGX_PCRE)
    {
    ngx_http_core_loc_conf_t  **rx;

    for (rx = clcf->regex_locations; rx && *rx; rx++) {
        p = ngx_array_push(&w->regexes);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = *rx;

        if (ngx_http_logistics_guard_collect(w, *rx, (*rx)->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }
    }
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_logistics_guard_tree(ngx_http_logistics_walk_t *w,
    ngx_http_location_tree_node_t *node)
{
    ngx_http_core_loc_conf_t  **p;

    if (node == NULL) {
        return NGX_OK;
    }

    if (node->exact != NULL) {
        p = ngx_array_push(&w->statics);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = node->exact;

        if (ngx_http_logistics_guard_collect(w, node->exact,
                                             node->exact->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (node->inclusive != NULL) {
        p = ngx_array_push(&w->statics);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = node->inclusive;

        if (ngx_http_logistics_guard_collect(w, node->inclusive,
                                             node->inclusive->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_logistics_guard_tree(w, node->left) != NGX_OK
        || ngx_http_logistics_guard_tree(w, node->right) != NGX_OK
        || ngx_http_logistics_guard_tree(w, node->tree) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_logistics_guard_on(void **loc_conf)
{
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = loc_conf[ngx_http_logistics_module.ctx_index];

    return lcf->enable == 1;
}


/*
 * Whether a location has try_files, whose fallback may be a location
 * that proxies.  nginx 1.22 keeps try_files in a module of its own
 * (ngx_http_try_files_module) whose configuration is private; it is
 * found by name, and its first member is the try_files array (NULL when
 * unset).  Without that module, "yes": the caller then refuses.
 */

static ngx_uint_t
ngx_http_logistics_guard_try_files(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *clcf)
{
    void        **conf;
    ngx_uint_t    i;
    ngx_module_t *m;

    for (i = 0; cf->cycle->modules[i] != NULL; i++) {
        m = cf->cycle->modules[i];

        if (m->type == NGX_HTTP_MODULE
            && ngx_strcmp(m->name, "ngx_http_try_files_module") == 0)
        {
            conf = clcf->loc_conf[m->ctx_index];
            return conf == NULL || *conf != NULL;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_logistics_guard_check(ngx_http_logistics_walk_t *w,
    ngx_http_core_loc_conf_t *clcf)
{
    ngx_str_t                  *target;
    ngx_uint_t                  i;
    ngx_http_err_page_t        *err;
    ngx_http_core_loc_conf_t   *to, **named;

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "\"logistics_gateway\" location \"%V\" has "
                      "\"satisfy any\": another access module could let "
                      "requests through without the gateway",
                      &clcf->name);
        return NGX_ERROR;
    }

    if (clcf->internal) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "\"logistics_gateway\" location \"%V\" is "
                      "\"internal\": it is reached by internal redirects "
                      "and subrequests, and subrequests skip the gateway",
                      &clcf->name);
        return NGX_ERROR;
    }

    if (clcf->error_pages == NULL) {
        return NGX_OK;
    }

    err = clcf->error_pages->elts;

    for (i = 0; i < clcf->error_pages->nelts; i++) {
        target = &err[i].value.value;

        if (target->len == 0
            || (target->data[0] != '/' && target->data[0] != '@'))
        {
            /* a redirect to the client: it comes back through the door */
            continue;
        }

        to = NULL;

        if (target->data[0] == '@') {
            for (named = w->cscf->named_locations; named && *named;
                 named++)
            {
                if ((*named)->name.len == target->len
                    && ngx_strncmp((*named)->name.data, target->data,
                                   target->len)
                       == 0)
                {
                    to = *named;
                    break;
                }
            }

        } else if (err[i].value.lengths == NULL) {
            to = ngx_http_logistics_guard_target(w, target);
        }

        if (to != NULL && to->handler == NULL
            && !ngx_http_logistics_guard_try_files(w->cf, to))
        {
            /*
             * a location without a content handler of its own (no
             * proxy_pass or other *_pass) and without try_files serves a
             * file or a "return": an error page, which reaches nothing
             */
            continue;
        }

        if (to == NULL || !ngx_http_logistics_guard_on(to->loc_conf)) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "\"logistics_gateway\" location \"%V\" has "
                          "\"error_page ... %V\", which redirects into a "
                          "location that proxies without the gateway (or "
                          "one that cannot be told at start)",
                          &clcf->name, target);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The location a URI lands in, as nginx would pick it: an exact match,
 * else a "^~" prefix, else the first regex that matches, else the
 * longest prefix.
 */

static ngx_http_core_loc_conf_t *
ngx_http_logistics_guard_target(ngx_http_logistics_walk_t *w, ngx_str_t *uri)
{
    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t  **loc, *best;

    best = NULL;
    loc = w->statics.elts;

    for (i = 0; i < w->statics.nelts; i++) {

        if (loc[i]->exact_match) {
            if (loc[i]->name.len == uri->len
                && ngx_strncmp(loc[i]->name.data, uri->data, uri->len) == 0)
            {
                return loc[i];
            }

            continue;
        }

        if (loc[i]->name.len <= uri->len
            && ngx_strncmp(loc[i]->name.data, uri->data, loc[i]->name.len)
               == 0
            && (best == NULL || loc[i]->name.len > best->name.len))
        {
            best = loc[i];
        }
    }

    if (best != NULL && best->noregex) {
        return best;
    }

#if (NGX_PCRE)

    loc = w->regexes.elts;

    for (i = 0; i < w->regexes.nelts; i++) {
        if (ngx_regex_exec(loc[i]->regex->regex, uri, NULL, 0) >= 0) {
            return loc[i];
        }
    }

#endif

    return best;
}


/* rewrite phase: the request entered a gateway location */

static ngx_int_t
ngx_http_logistics_guard_rewrite(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t       *ctx;
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (!lcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_logistics_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_logistics_module);
    }

    ctx->entered = 1;

    return NGX_DECLINED;
}


/*
 * Precontent phase: in a gateway location, only a request the pipeline
 * allowed reaches proxy_pass.  A subrequest never ran the access phase.
 */

static ngx_int_t
ngx_http_logistics_guard_content(ngx_http_request_t *r)
{
    ngx_http_logistics_ctx_t       *ctx;
    ngx_http_logistics_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_logistics_module);

    if (!lcf->enable) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "logistics: a subrequest to \"%V\" reached a gateway "
                      "location, where it would skip the gateway: refused",
                      &r->uri);
        return NGX_HTTP_FORBIDDEN;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_logistics_module);

    if (ctx != NULL && ctx->allowed) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "logistics: a request reached the content of a gateway "
                  "location without the gateway's decision: refused");

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_logistics_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_logistics_module);
    }

    ctx->step = (ngx_uint_t) -1;

    if (ngx_http_logistics_request_id(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_logistics_refuse(ctx, LG_PROBLEM_INTERNAL,
                                     "gateway-bypassed");

    return ngx_http_logistics_deny(r, ctx);
}
