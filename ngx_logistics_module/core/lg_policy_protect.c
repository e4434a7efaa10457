
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "Protect Odoo" (lg_policy_protect.h): an API's "odoo" section (the
 * in-flight budget, the bounded wait of critical routes, the circuit
 * breaker), the routes' "priority" and "breaker_group", the partners'
 * "max_in_flight" and "priority_ceiling".  A pass over the APIs and
 * partners once their own sections compiled: the routes and partners it
 * annotates exist by then, and their sections let these fields through.
 */

#include <stdio.h>
#include <string.h>

#include "lg_policy_int.h"
#include "lg_policy_protect.h"


static int lg_protect_apis(lg_compile_t *c, json_t *apis);
static int lg_protect_api(lg_compile_t *c, lg_api_t *api, json_t *aj);
static int lg_compile_odoo(lg_compile_t *c, json_t *oj, lg_odoo_t *odoo);
static int lg_compile_breaker(lg_compile_t *c, json_t *bj,
    lg_breaker_conf_t *conf);
static int lg_protect_share(lg_compile_t *c, json_t *obj, const char *key,
    int64_t max_in_flight, int round_up, int64_t *out);
static int lg_protect_percent(lg_compile_t *c, json_t *obj, const char *key,
    int64_t *out);
static int lg_protect_route(lg_compile_t *c, lg_api_t *api, lg_odoo_t *odoo,
    json_t *rj);
static int lg_protect_class(lg_compile_t *c, json_t *obj, const char *key,
    lg_priority_e *out);
static int lg_protect_partners(lg_compile_t *c, json_t *partners);
static int lg_protect_breakers(lg_compile_t *c, lg_api_t *api,
    lg_odoo_t *odoo, json_t *routes);
static int lg_protect_key(lg_compile_t *c, lg_breaker_def_t *def);
static int lg_protect_unused(lg_compile_t *c);


static const char *const  lg_odoo_fields[] = {
    "max_in_flight", "critical_reserve", "deferrable_cap", "max_wait",
    "retry_after", "breaker", NULL
};

static const char *const  lg_odoo_required[] = { "max_in_flight", NULL };

static const char *const  lg_breaker_fields[] = {
    "window", "buckets", "min_requests", "failure_ratio", "cool_down",
    "half_open_probes", "open_critical", NULL
};


int
lg_compile_protect(lg_compile_t *c)
{
    size_t              i;
    json_t             *apis;
    lg_policy_t        *p;
    lg_protect_conf_t  *pc;

    p = c->policy;

    pc = lg_arena_calloc(&p->arena, 1, sizeof(lg_protect_conf_t));

    if (pc == NULL) {
        return lg_fail(c, "out of memory");
    }

    pc->odoo = lg_arena_calloc(&p->arena, p->napis + 1, sizeof(lg_odoo_t *));
    pc->route_priority = lg_arena_calloc(&p->arena, p->nroutes + 1,
                                         sizeof(lg_priority_e));
    pc->route_breaker = lg_arena_calloc(&p->arena, p->nroutes + 1,
                                        sizeof(size_t));
    pc->partner_ceiling = lg_arena_calloc(&p->arena, p->npartners + 1,
                                          sizeof(lg_priority_e));
    pc->partner_max = lg_arena_calloc(&p->arena, p->npartners + 1,
                                      sizeof(int64_t));

    if (pc->odoo == NULL || pc->route_priority == NULL
        || pc->route_breaker == NULL || pc->partner_ceiling == NULL
        || pc->partner_max == NULL)
    {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < p->nroutes; i++) {
        pc->route_priority[i] = LG_PRIORITY_NORMAL;
        pc->route_breaker[i] = LG_PROTECT_NO_BREAKER;
    }

    for (i = 0; i < p->npartners; i++) {
        pc->partner_ceiling[i] = LG_PRIORITY_CRITICAL;
    }

    p->protect = pc;

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        apis = json_object_get(c->doc->json, "apis");

        if (apis != NULL && lg_protect_apis(c, apis) != 0) {
            return -1;
        }
    }

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        if (lg_protect_partners(c, json_object_get(c->doc->json, "partners"))
            != 0)
        {
            return -1;
        }
    }

    for (i = 0; i < p->napis; i++) {
        if (pc->odoo[i] != NULL) {
            return 0;
        }
    }

    /* nothing protects Odoo: settings that would apply to nothing */

    if (lg_protect_unused(c) != 0) {
        return -1;
    }

    p->protect = NULL;

    return 0;
}


static int
lg_protect_apis(lg_compile_t *c, json_t *apis)
{
    size_t        i, saved, s;
    json_t       *aj;
    lg_policy_t  *p;
    const char   *name;

    p = c->policy;
    saved = lg_json_path_key(&c->path, "apis");

    /* the apis section checked the shape and the names already */

    json_object_foreach(apis, name, aj) {
        s = lg_json_path_key(&c->path, name);

        for (i = 0; i < p->napis; i++) {
            if (strcmp(p->apis[i].name.data, name) == 0) {
                break;
            }
        }

        if (i == p->napis) {
            return lg_fail(c, "API \"%s\" was not compiled", name);
        }

        if (lg_protect_api(c, &p->apis[i], aj) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


static int
lg_protect_api(lg_compile_t *c, lg_api_t *api, json_t *aj)
{
    size_t        i, s, saved;
    json_t       *oj, *routes, *rj;
    lg_odoo_t    *odoo;
    lg_policy_t  *p;

    p = c->policy;
    odoo = NULL;

    oj = json_object_get(aj, "odoo");

    if (oj != NULL) {
        odoo = lg_arena_calloc(&p->arena, 1, sizeof(lg_odoo_t));
        if (odoo == NULL) {
            return lg_fail(c, "out of memory");
        }

        saved = lg_json_path_key(&c->path, "odoo");

        if (lg_compile_odoo(c, oj, odoo) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, saved);

        p->protect->odoo[api - p->apis] = odoo;
    }

    routes = json_object_get(aj, "routes");
    saved = lg_json_path_key(&c->path, "routes");

    json_array_foreach(routes, i, rj) {
        s = lg_json_path_index(&c->path, i);

        if (lg_protect_route(c, api, odoo, rj) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, s);
    }

    if (odoo != NULL && odoo->has_breaker
        && lg_protect_breakers(c, api, odoo, routes) != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * "odoo": {"max_in_flight": 32, "critical_reserve": "20%",
 *          "deferrable_cap": "50%", "max_wait": "200ms",
 *          "retry_after": "1s", "breaker": {...} | false}
 */

static int
lg_compile_odoo(lg_compile_t *c, json_t *oj, lg_odoo_t *odoo)
{
    int64_t      max, reserve, cap, retry;
    json_t      *bj;
    const char  *why, *field;

    if (lg_fields(c, oj, lg_odoo_fields, lg_odoo_required) != 0
        || lg_get_integer(c, oj, "max_in_flight", 1, 1000000, &max) != 0)
    {
        return -1;
    }

    reserve = 0;
    cap = -1;

    if (lg_protect_share(c, oj, "critical_reserve", max, 1, &reserve) != 0
        || lg_protect_share(c, oj, "deferrable_cap", max, 0, &cap) != 0)
    {
        return -1;
    }

    why = lg_budget_conf_init(&odoo->budget, max, reserve, cap);

    if (why != NULL) {
        /* the message names the field: "deferrable_cap must be ..." */
        field = strncmp(why, "deferrable_cap", 14) == 0 ? "deferrable_cap"
                                                       : "critical_reserve";
        lg_json_path_key(&c->path, field);
        return lg_fail(c, "%s (here %lld of %lld slots)", why,
                       (long long) (field[0] == 'd' ? cap : reserve),
                       (long long) max);
    }

    retry = 1000;

    if (lg_get_duration(c, oj, "max_wait", 1, 10000,
                        " (e.g. \"200ms\", at most 10s)", &odoo->max_wait)
        != 0
        || lg_get_duration(c, oj, "retry_after", 1000, 3600000,
                           " (e.g. \"1s\", from 1s to 1h)", &retry)
           != 0)
    {
        return -1;
    }

    /* Retry-After counts whole seconds: round up */
    odoo->retry_after = (retry + 999) / 1000;

    lg_breaker_conf_default(&odoo->breaker);
    odoo->has_breaker = 1;

    bj = json_object_get(oj, "breaker");

    if (bj == NULL) {
        return 0;
    }

    /* the caller pops the path */
    lg_json_path_key(&c->path, "breaker");

    if (json_is_false(bj)) {
        odoo->has_breaker = 0;
        return 0;
    }

    if (!json_is_object(bj)) {
        return lg_fail(c, "must be an object of breaker settings, or false");
    }

    return lg_compile_breaker(c, bj, &odoo->breaker);
}


/*
 * "breaker": {"window": "10s", "buckets": 10, "min_requests": 20,
 *             "failure_ratio": "50%", "cool_down": "10s",
 *             "half_open_probes": 1, "open_critical": 2}
 */

static int
lg_compile_breaker(lg_compile_t *c, json_t *bj, lg_breaker_conf_t *conf)
{
    int64_t      window, buckets, min, percent, cool_down, probes, critical;
    const char  *why;

    if (lg_fields(c, bj, lg_breaker_fields, NULL) != 0) {
        return -1;
    }

    window = conf->bucket_ms * conf->buckets;
    buckets = conf->buckets;
    min = conf->min_requests;
    percent = conf->failure_percent;
    cool_down = conf->cool_down_ms;
    probes = conf->half_open_probes;
    critical = conf->open_critical;

    if (lg_get_duration(c, bj, "window", 10, 86400000,
                        " (e.g. \"10s\")", &window)
        != 0
        || lg_get_integer(c, bj, "buckets", 1, LG_BREAKER_BUCKETS_MAX,
                          &buckets)
           != 0
        || lg_get_integer(c, bj, "min_requests", 1, 1000000, &min) != 0
        || lg_protect_percent(c, bj, "failure_ratio", &percent) != 0
        || lg_get_duration(c, bj, "cool_down", 1, 86400000,
                           " (e.g. \"10s\")", &cool_down)
           != 0
        || lg_get_integer(c, bj, "half_open_probes", 1,
                          LG_BREAKER_SLOTS_MAX, &probes)
           != 0
        || lg_get_integer(c, bj, "open_critical", 0, LG_BREAKER_SLOTS_MAX,
                          &critical)
           != 0)
    {
        return -1;
    }

    if (window % buckets != 0) {
        lg_json_path_key(&c->path, "window");
        return lg_fail(c, "%lldms is not a whole number of milliseconds "
                       "per bucket (%lld buckets)", (long long) window,
                       (long long) buckets);
    }

    if (percent < 1) {
        lg_json_path_key(&c->path, "failure_ratio");
        return lg_fail(c, "must be from 1%% to 100%%");
    }

    conf->bucket_ms = window / buckets;
    conf->buckets = (uint32_t) buckets;
    conf->min_requests = (uint32_t) min;
    conf->failure_percent = (uint32_t) percent;
    conf->cool_down_ms = cool_down;
    conf->half_open_probes = (uint32_t) probes;
    conf->open_critical = (uint32_t) critical;

    why = lg_breaker_conf_check(conf);

    if (why != NULL) {
        lg_json_path_key(&c->path, "window");
        return lg_fail(c, "%s", why);
    }

    return 0;
}


/*
 * A share of max_in_flight: a number of slots, or "20%" of them (a
 * reserve rounds up, a cap down, so neither is ever zero by rounding
 * when the percentage is not).  Absent: *out is left as it is.
 */

static int
lg_protect_share(lg_compile_t *c, json_t *obj, const char *key,
    int64_t max_in_flight, int round_up, int64_t *out)
{
    json_t   *v;
    int64_t   percent;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (json_is_integer(v)) {
        return lg_get_integer(c, obj, key, 0, max_in_flight, out);
    }

    if (lg_protect_percent(c, obj, key, &percent) != 0) {
        return -1;
    }

    *out = lg_budget_percent(max_in_flight, percent, round_up);

    return 0;
}


/* "50%": an integer percentage from 0 to 100 */

static int
lg_protect_percent(lg_compile_t *c, json_t *obj, const char *key,
    int64_t *out)
{
    size_t       i, len;
    json_t      *v;
    int64_t      n;
    const char  *s;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_string(v)) {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "must be a percentage such as \"50%%\"%s",
                       strcmp(key, "failure_ratio") == 0
                       ? "" : " or a number of slots");
    }

    s = json_string_value(v);
    len = json_string_length(v);
    n = 0;

    for (i = 0; i + 1 < len && i < 3 && s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');
    }

    if (i == 0 || i + 1 != len || s[i] != '%' || n > 100
        || (i > 1 && s[0] == '0'))
    {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "invalid percentage \"%s\" (from \"0%%\" to "
                       "\"100%%\")", s);
    }

    *out = n;

    return 0;
}


/* a route's "priority" and "breaker_group" */

static int
lg_protect_route(lg_compile_t *c, lg_api_t *api, lg_odoo_t *odoo, json_t *rj)
{
    size_t        index, saved;
    json_t       *found, *group;
    lg_policy_t  *p;

    p = c->policy;

    found = json_object_get(c->route_map,
                            json_string_value(json_object_get(rj, "id")));
    if (found == NULL) {
        return lg_fail(c, "route was not compiled");
    }

    index = (size_t) json_integer_value(found);

    if (lg_protect_class(c, rj, "priority", &p->protect->route_priority[index])
        != 0)
    {
        return -1;
    }

    group = json_object_get(rj, "breaker_group");

    if (group == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, "breaker_group");

    if (!json_is_string(group)
        || !lg_match_name(json_string_value(group),
                          json_string_length(group), LG_LOWER_DIGIT,
                          LG_LOWER_DIGIT "_-", 64))
    {
        return lg_fail(c, "must be a group name (lowercase letters, digits, "
                       "_ and -, at most 64)");
    }

    if (odoo == NULL) {
        return lg_fail(c, "API \"%s\" has no \"odoo\" section: there is no "
                       "breaker to group", api->name.data);
    }

    if (!odoo->has_breaker) {
        return lg_fail(c, "the breaker of API \"%s\" is off",
                       api->name.data);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/* "critical", "normal" or "deferrable" */

static int
lg_protect_class(lg_compile_t *c, json_t *obj, const char *key,
    lg_priority_e *out)
{
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_string(v)
        || lg_priority_parse(json_string_value(v), json_string_length(v),
                             out)
           != 0)
    {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "must be \"critical\", \"normal\" or "
                       "\"deferrable\"");
    }

    return 0;
}


/* the partners' "max_in_flight" and "priority_ceiling" */

static int
lg_protect_partners(lg_compile_t *c, json_t *partners)
{
    size_t              index, saved, s;
    json_t             *pj, *found;
    const char         *id;
    lg_protect_conf_t  *pc;

    if (partners == NULL) {
        return 0;
    }

    pc = c->policy->protect;
    saved = lg_json_path_key(&c->path, "partners");

    json_object_foreach(partners, id, pj) {
        s = lg_json_path_key(&c->path, id);

        found = json_object_get(c->partner_map, id);
        if (found == NULL) {
            return lg_fail(c, "partner was not compiled");
        }

        index = (size_t) json_integer_value(found);

        if (lg_get_integer(c, pj, "max_in_flight", 1, 1000000,
                           &pc->partner_max[index])
            != 0
            || lg_protect_class(c, pj, "priority_ceiling",
                                &pc->partner_ceiling[index])
               != 0)
        {
            return -1;
        }

        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * The breakers of an API: one per version, then one per breaker_group in
 * the order the routes first name them.
 */

static int
lg_protect_breakers(lg_compile_t *c, lg_api_t *api, lg_odoo_t *odoo,
    json_t *routes)
{
    size_t              i, j, n, index;
    json_t             *rj, *group;
    const char         *name;
    lg_policy_t        *p;
    lg_breaker_def_t   *defs, *def;
    lg_protect_conf_t  *pc;

    p = c->policy;
    pc = p->protect;

    n = pc->nbreakers + api->nversions + json_array_size(routes);

    /* configuration time: grow by copying inside the arena */

    defs = lg_arena_calloc(&p->arena, n, sizeof(lg_breaker_def_t));
    if (defs == NULL) {
        return lg_fail(c, "out of memory");
    }

    if (pc->nbreakers) {
        memcpy(defs, pc->breakers, pc->nbreakers * sizeof(lg_breaker_def_t));
    }

    pc->breakers = defs;
    odoo->first_breaker = pc->nbreakers;

    for (i = 0; i < api->nversions; i++) {
        def = &defs[pc->nbreakers];
        def->api = api;
        def->odoo = odoo;
        def->version = &api->versions[i];

        if (lg_protect_key(c, def) != 0) {
            return -1;
        }

        pc->nbreakers++;
    }

    json_array_foreach(routes, i, rj) {
        group = json_object_get(rj, "breaker_group");

        if (group == NULL) {
            continue;
        }

        name = json_string_value(group);

        for (j = odoo->first_breaker + api->nversions; j < pc->nbreakers; j++)
        {
            if (strcmp(defs[j].group.data, name) == 0) {
                break;
            }
        }

        if (j == pc->nbreakers) {
            def = &defs[pc->nbreakers];
            def->api = api;
            def->odoo = odoo;

            if (lg_arena_str(&p->arena, &def->group, name, strlen(name)) != 0
                || lg_protect_key(c, def) != 0)
            {
                return lg_fail(c, "out of memory");
            }

            pc->nbreakers++;
        }

        index = (size_t) json_integer_value(
                    json_object_get(c->route_map,
                        json_string_value(json_object_get(rj, "id"))));

        pc->route_breaker[index] = j;
    }

    return 0;
}


/* the name of a breaker's state in the zone */

static int
lg_protect_key(lg_compile_t *c, lg_breaker_def_t *def)
{
    char  buf[256];
    int   n;

    if (def->version != NULL) {
        n = snprintf(buf, sizeof(buf), "breaker:%s:v:%s", def->api->name.data,
                     def->version->name.data);

    } else {
        n = snprintf(buf, sizeof(buf), "breaker:%s:g:%s", def->api->name.data,
                     def->group.data);
    }

    if (n < 0 || (size_t) n >= sizeof(buf)
        || lg_arena_str(&c->policy->arena, &def->key, buf, (size_t) n) != 0)
    {
        return lg_fail(c, "out of memory");
    }

    return 0;
}


/*
 * No API has an "odoo" section: a priority, a ceiling or an in-flight cap
 * would apply to nothing, and a setting that silently does nothing is a
 * weaker policy than its author meant.  The first one is the error.
 */

static int
lg_protect_unused(lg_compile_t *c)
{
    size_t       i, j;
    json_t      *apis, *aj, *rj, *partners, *pj;
    const char  *name, *id;

    static const char  *why = "no API has an \"odoo\" section, so this "
                              "would apply to nothing";

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        apis = json_object_get(c->doc->json, "apis");

        json_object_foreach(apis, name, aj) {
            json_array_foreach(json_object_get(aj, "routes"), j, rj) {
                if (json_object_get(rj, "priority") != NULL) {
                    lg_json_path_key(&c->path, "apis");
                    lg_json_path_key(&c->path, name);
                    lg_json_path_key(&c->path, "routes");
                    lg_json_path_index(&c->path, j);
                    lg_json_path_key(&c->path, "priority");
                    return lg_fail(c, "%s", why);
                }
            }
        }

        partners = json_object_get(c->doc->json, "partners");

        json_object_foreach(partners, id, pj) {
            if (json_object_get(pj, "max_in_flight") != NULL
                || json_object_get(pj, "priority_ceiling") != NULL)
            {
                lg_json_path_key(&c->path, "partners");
                lg_json_path_key(&c->path, id);
                lg_json_path_key(&c->path,
                                 json_object_get(pj, "max_in_flight") != NULL
                                 ? "max_in_flight" : "priority_ceiling");
                return lg_fail(c, "%s", why);
            }
        }
    }

    return 0;
}


const lg_odoo_t *
lg_protect_odoo(const lg_policy_t *policy, const lg_api_t *api)
{
    if (policy->protect == NULL) {
        return NULL;
    }

    return policy->protect->odoo[api - policy->apis];
}


lg_priority_e
lg_protect_priority(const lg_policy_t *policy, const lg_route_t *route,
    const lg_partner_t *partner)
{
    lg_priority_e  priority;

    priority = policy->protect->route_priority[route->index];

    if (partner == NULL) {
        return priority;
    }

    return lg_priority_ceiling(priority,
                               policy->protect->partner_ceiling[
                                                           partner->index]);
}


size_t
lg_protect_breaker(const lg_policy_t *policy, const lg_route_t *route,
    const lg_version_t *version)
{
    size_t            b;
    const lg_odoo_t  *odoo;

    odoo = lg_protect_odoo(policy, route->api);

    if (odoo == NULL || !odoo->has_breaker) {
        return LG_PROTECT_NO_BREAKER;
    }

    b = policy->protect->route_breaker[route->index];

    if (b != LG_PROTECT_NO_BREAKER) {
        return b;
    }

    return odoo->first_breaker + version->index;
}
