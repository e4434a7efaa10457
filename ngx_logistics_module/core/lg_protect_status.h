
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_PROTECT_STATUS_H_INCLUDED_
#define _LG_PROTECT_STATUS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_policy_protect.h"


/*
 * The JSON view of "protect Odoo" (the glue's logistics_odoo_status
 * location): the brownout level, each API's in-flight requests by class
 * against its budget, each partner's in-flight requests against its cap,
 * and each breaker's state, window and transitions.  The glue reads the
 * shared counters into this structure; writing the JSON is plain C.
 */

/* the breaker transitions counted, by lg_breaker_event_e (NONE unused) */
#define LG_PROTECT_EVENTS  (LG_BREAKER_EVENT_PROBES_LOST + 1)


typedef struct {
    const lg_policy_t            *policy;
    const lg_budget_snapshot_t   *apis;        /* by API index (those
                                                  with an odoo section) */
    const int64_t                *partners;    /* in flight, by partner
                                                  index */
    const lg_breaker_snapshot_t  *breakers;    /* by breaker index */
    const uint64_t               *transitions; /* LG_PROTECT_EVENTS per
                                                  breaker, in order */
    lg_brownout_t                 brownout;
    const char                   *brownout_source;  /* "zone", "redis" */
    int64_t                       now;         /* ms since the epoch */
    int64_t                       reclaimed;   /* slots taken back from
                                                  workers that died */
} lg_protect_status_t;


/*
 * Writes the view into buf and returns its length; like snprintf(), a
 * return of "size" or more means it was cut (call again with that many
 * bytes plus one).  buf is NUL-terminated when size > 0.
 */
size_t lg_protect_status_json(const lg_protect_status_t *st, char *buf,
    size_t size);

/* {"level":"normal","expires":1767225600000,"retry_after":840} */
size_t lg_brownout_json(const lg_brownout_t *b, const char *source,
    int64_t now, char *buf, size_t size);


#endif /* _LG_PROTECT_STATUS_H_INCLUDED_ */
