
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stddef.h>
#include <stdint.h>

#include "lg_atomic.h"
#include "lg_budget.h"


#define LG_BUDGET_MAX  1000000


static int lg_budget_take(int64_t *counter, int64_t limit);
static int lg_budget_give(int64_t *counter);


const char *
lg_budget_conf_init(lg_budget_conf_t *conf, int64_t max_in_flight,
    int64_t critical_reserve, int64_t deferrable_cap)
{
    if (max_in_flight < 1 || max_in_flight > LG_BUDGET_MAX) {
        return "max_in_flight must be between 1 and 1000000";
    }

    if (critical_reserve < 0 || critical_reserve > max_in_flight) {
        return "critical_reserve must be between 0 and max_in_flight";
    }

    if (deferrable_cap == -1) {
        deferrable_cap = max_in_flight - critical_reserve;

    } else if (deferrable_cap < 0
               || deferrable_cap > max_in_flight - critical_reserve)
    {
        /*
         * a cap above what non-critical traffic may hold would not be
         * the cap in force: say so rather than let the reader guess
         */
        return "deferrable_cap must be between 0 and "
               "max_in_flight - critical_reserve";
    }

    conf->max_in_flight = max_in_flight;
    conf->critical_reserve = critical_reserve;
    conf->deferrable_cap = deferrable_cap;

    return NULL;
}


int64_t
lg_budget_percent(int64_t max_in_flight, int64_t percent, int round_up)
{
    int64_t  n;

    if (percent <= 0) {
        return 0;
    }

    if (percent >= 100) {
        return max_in_flight;
    }

    n = max_in_flight * percent;

    return round_up ? (n + 99) / 100 : n / 100;
}


int64_t
lg_budget_class_limit(const lg_budget_conf_t *conf, lg_priority_e priority)
{
    if (priority == LG_PRIORITY_CRITICAL) {
        return conf->max_in_flight;
    }

    return conf->max_in_flight - conf->critical_reserve;
}


lg_budget_verdict_e
lg_budget_admit(const lg_budget_conf_t *conf, lg_budget_api_t *api,
    lg_budget_partner_t *partner, int64_t partner_max,
    lg_priority_e priority, lg_budget_ticket_t *ticket)
{
    ticket->api = api;
    ticket->partner = NULL;
    ticket->priority = priority;
    ticket->held = 0;

    /*
     * The partner first: a partner over its own cap hears 429 (its own
     * doing) even when the budget is full too.
     */

    if (partner != NULL) {
        if (!lg_budget_take(&partner->in_flight,
                            partner_max > 0 ? partner_max : INT64_MAX))
        {
            return LG_BUDGET_PARTNER_FULL;
        }

        ticket->partner = partner;
    }

    if (priority == LG_PRIORITY_DEFERRABLE
        && !lg_budget_take(&api->deferrable, conf->deferrable_cap))
    {
        goto full;
    }

    /* the total last: once it is taken nothing is given back */

    if (!lg_budget_take(&api->in_flight,
                        lg_budget_class_limit(conf, priority)))
    {
        if (priority == LG_PRIORITY_DEFERRABLE) {
            (void) lg_budget_give(&api->deferrable);
        }

        goto full;
    }

    if (priority == LG_PRIORITY_CRITICAL) {
        (void) lg_atomic_fetch_add(&api->critical, 1);
    }

    ticket->held = 1;

    return LG_BUDGET_ADMITTED;

full:

    if (ticket->partner != NULL) {
        (void) lg_budget_give(&ticket->partner->in_flight);
        ticket->partner = NULL;
    }

    return LG_BUDGET_CLASS_FULL;
}


int
lg_budget_release(lg_budget_ticket_t *ticket)
{
    int               rc;
    lg_budget_api_t  *api;

    if (!ticket->held) {
        return 0;
    }

    ticket->held = 0;
    api = ticket->api;
    rc = 0;

    /* the reverse order of admission: the total frees the slot first */

    if (ticket->priority == LG_PRIORITY_CRITICAL) {
        rc |= lg_budget_give(&api->critical);
    }

    rc |= lg_budget_give(&api->in_flight);

    if (ticket->priority == LG_PRIORITY_DEFERRABLE) {
        rc |= lg_budget_give(&api->deferrable);
    }

    if (ticket->partner != NULL) {
        rc |= lg_budget_give(&ticket->partner->in_flight);
        ticket->partner = NULL;
    }

    return rc;
}


void
lg_budget_read(const lg_budget_api_t *api, lg_budget_snapshot_t *snap)
{
    snap->in_flight = lg_atomic_load(&api->in_flight);
    snap->critical = lg_atomic_load(&api->critical);
    snap->deferrable = lg_atomic_load(&api->deferrable);

    /*
     * Three loads are not one snapshot: a request between its total and
     * its class counter can make the difference briefly off by one.
     */

    snap->normal = snap->in_flight - snap->critical - snap->deferrable;

    if (snap->normal < 0) {
        snap->normal = 0;
    }
}


int64_t
lg_budget_reclaim(int64_t *counter, int64_t n)
{
    int64_t  v, take;

    if (n <= 0) {
        return 0;
    }

    v = lg_atomic_load(counter);

    for ( ;; ) {
        take = v < n ? v : n;

        if (take <= 0) {
            return 0;
        }

        if (lg_atomic_cas(counter, &v, v - take)) {
            return take;
        }
    }
}


/* takes one unit if the counter is below "limit"; never goes above it */

static int
lg_budget_take(int64_t *counter, int64_t limit)
{
    int64_t  v;

    v = lg_atomic_load(counter);

    for ( ;; ) {
        if (v >= limit) {
            return 0;
        }

        if (lg_atomic_cas(counter, &v, v + 1)) {
            return 1;
        }

        /* another worker got there first: v holds its value, try again */
    }
}


/* gives one unit back; a counter at 0 stays at 0 and -1 says so */

static int
lg_budget_give(int64_t *counter)
{
    int64_t  v;

    v = lg_atomic_load(counter);

    for ( ;; ) {
        if (v <= 0) {
            return -1;
        }

        if (lg_atomic_cas(counter, &v, v - 1)) {
            return 0;
        }
    }
}
