
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_POLICY_PROTECT_H_INCLUDED_
#define _LG_POLICY_PROTECT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_policy.h"
#include "lg_protect.h"


/*
 * "Protect Odoo" in a compiled policy (lg_policy_protect.c):
 *
 *   "apis": {"shipments": {"odoo": {"max_in_flight": 32,
 *       "critical_reserve": "20%", "deferrable_cap": "50%",
 *       "max_wait": "200ms", "retry_after": "1s",
 *       "breaker": {"window": "10s", "buckets": 10, "min_requests": 20,
 *                   "failure_ratio": "50%", "cool_down": "10s",
 *                   "half_open_probes": 1, "open_critical": 2}},
 *     "routes": [{..., "priority": "critical"},
 *                {..., "priority": "deferrable", "breaker_group": "reports"}]}}
 *   "partners": {"bulk": {..., "max_in_flight": 2,
 *                         "priority_ceiling": "normal"}}
 *
 * Every API with an "odoo" section has a budget; its breaker ("breaker":
 * false turns it off) is one per API version, plus one per breaker_group
 * its routes name.  policy->protect is NULL when no API has an "odoo"
 * section: then nothing is counted, shed or broken.
 */

#define LG_PROTECT_NO_BREAKER  ((size_t) -1)


/* an API's "odoo" section */

typedef struct {
    lg_budget_conf_t     budget;
    int64_t              max_wait;      /* ms a critical request may wait
                                           for a slot; 0: none */
    int64_t              retry_after;   /* s, when nothing better is known */
    lg_breaker_conf_t    breaker;
    unsigned             has_breaker:1;
    size_t               first_breaker; /* its versions' breakers start
                                           here in protect->breakers */
} lg_odoo_t;


/* one circuit breaker: an API version's or a route group's */

typedef struct {
    const lg_api_t      *api;
    const lg_odoo_t     *odoo;
    const lg_version_t  *version;       /* NULL: a group */
    lg_str_t             group;         /* the breaker_group; len 0: none */
    lg_str_t             key;           /* its state's name in the zone:
                                           "breaker:shipments:v:v2",
                                           "breaker:shipments:g:reports" */
} lg_breaker_def_t;


struct lg_protect_conf_s {
    lg_odoo_t          **odoo;          /* by API (api - policy->apis);
                                           NULL: no "odoo" section */
    lg_priority_e       *route_priority;   /* by route->index */
    size_t              *route_breaker;    /* by route->index: a group's
                                              breaker, or
                                              LG_PROTECT_NO_BREAKER */
    lg_priority_e       *partner_ceiling;  /* by partner->index */
    int64_t             *partner_max;      /* by partner->index; 0: no
                                              cap, only counted */
    lg_breaker_def_t    *breakers;
    size_t               nbreakers;
};


/* the API's "odoo" section, or NULL */
const lg_odoo_t *lg_protect_odoo(const lg_policy_t *policy,
    const lg_api_t *api);

/* the class a partner's call of a route counts in (ceiling applied) */
lg_priority_e lg_protect_priority(const lg_policy_t *policy,
    const lg_route_t *route, const lg_partner_t *partner);

/* the breaker of a route in a version, or LG_PROTECT_NO_BREAKER */
size_t lg_protect_breaker(const lg_policy_t *policy, const lg_route_t *route,
    const lg_version_t *version);


#endif /* _LG_POLICY_PROTECT_H_INCLUDED_ */
