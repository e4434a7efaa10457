
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_BUDGET_H_INCLUDED_
#define _LG_BUDGET_H_INCLUDED_


#include <stdint.h>


/*
 * The in-flight budget: how many requests may be inside Odoo at once.
 *
 * Counters are plain int64_t words in nginx shared memory, one small
 * block per API (upstream) and one word per partner, changed only with
 * atomic operations (lg_atomic.h): admission takes no lock, neither a
 * zone-wide one nor a per-block one.
 *
 * Each counter is taken with a CAS loop, "take one if below the limit",
 * so a counter never goes above its limit, not even for an instant (the
 * numbers shown in $logistics_odoo_in_flight and the status view never
 * exceed the budget).  A request takes up to three counters in a fixed
 * order (partner, deferrable, API total); when a later one is full the
 * earlier ones are given back.
 *
 * Invariants, at every instant, whatever the interleaving:
 *   I1  api->in_flight <= max_in_flight;
 *   I2  the non-critical requests holding a slot are at most
 *       max_in_flight - critical_reserve, so critical_reserve slots are
 *       always left for critical requests;
 *   I3  api->deferrable <= deferrable_cap;
 *   I4  partner->in_flight <= the partner's max_in_flight;
 *   I5  every counter is >= 0 and returns to 0 when every ticket is
 *       released.
 * I1, I3, I4 hold because a CAS only ever stores v + 1 after checking
 * v < limit.  I2: the last non-critical request to take its slot saw a
 * total that already counted every other holder (critical or not) and
 * found it below max_in_flight - critical_reserve.  The price of the
 * give-back on a later failure is a rare spurious refusal under
 * contention (a slot counted for a moment by a request that then gave it
 * back), never an admission over a limit.
 */

/* priority classes, in rank order (a ceiling is a minimum of ranks) */
typedef enum {
    LG_PRIORITY_DEFERRABLE = 0,
    LG_PRIORITY_NORMAL,
    LG_PRIORITY_CRITICAL
} lg_priority_e;


typedef struct {
    int64_t  max_in_flight;     /* every class together */
    int64_t  critical_reserve;  /* slots only critical requests may take */
    int64_t  deferrable_cap;    /* most slots deferrable requests may hold */
} lg_budget_conf_t;


/* per API, in shared memory, zero-filled at creation */
typedef struct {
    int64_t  in_flight;         /* every class: bounded by max_in_flight */
    int64_t  deferrable;        /* of which deferrable: bounded by the cap */
    int64_t  critical;          /* of which critical: for the status view */
} lg_budget_api_t;


/* per partner, in shared memory, zero-filled at creation */
typedef struct {
    int64_t  in_flight;
} lg_budget_partner_t;


typedef enum {
    LG_BUDGET_ADMITTED = 0,
    LG_BUDGET_PARTNER_FULL,     /* the partner holds its max_in_flight */
    LG_BUDGET_CLASS_FULL        /* no slot left for this class */
} lg_budget_verdict_e;


/* what one request took: kept in its context, given back once */
typedef struct {
    lg_budget_api_t      *api;
    lg_budget_partner_t  *partner;
    lg_priority_e         priority;
    unsigned              held:1;
} lg_budget_ticket_t;


/* what the status view shows */
typedef struct {
    int64_t  in_flight;
    int64_t  critical;
    int64_t  normal;
    int64_t  deferrable;
} lg_budget_snapshot_t;


/*
 * Checks and fills a budget.  deferrable_cap -1 means "no cap of its
 * own" (as much as non-critical traffic may hold).  Returns NULL or the
 * reason the numbers do not make a budget.
 */
const char *lg_budget_conf_init(lg_budget_conf_t *conf, int64_t max_in_flight,
    int64_t critical_reserve, int64_t deferrable_cap);

/* "20%" of max_in_flight in slots: a reserve rounds up, a cap down */
int64_t lg_budget_percent(int64_t max_in_flight, int64_t percent,
    int round_up);

/* the most slots a class may see taken in the API total and still enter */
int64_t lg_budget_class_limit(const lg_budget_conf_t *conf,
    lg_priority_e priority);

/*
 * Takes a slot for one request.  "partner" may be NULL (not counted);
 * partner_max 0 counts the partner's requests without a cap.  On
 * LG_BUDGET_ADMITTED the ticket holds the slot; otherwise nothing is
 * held and every counter is as before.
 */
lg_budget_verdict_e lg_budget_admit(const lg_budget_conf_t *conf,
    lg_budget_api_t *api, lg_budget_partner_t *partner, int64_t partner_max,
    lg_priority_e priority, lg_budget_ticket_t *ticket);

/*
 * Gives the slot back; a second call is a no-op, so every way a request
 * ends may call it.  Returns -1 if a counter was already 0 (a slot given
 * back twice by different tickets: a bug the glue logs at "alert"); the
 * counter is left at 0.
 */
int lg_budget_release(lg_budget_ticket_t *ticket);

void lg_budget_read(const lg_budget_api_t *api, lg_budget_snapshot_t *snap);

/*
 * Takes back "n" units that a process which died still held (its
 * tickets will never be released): subtracts them without going below
 * 0 and returns how many were subtracted.
 */
int64_t lg_budget_reclaim(int64_t *counter, int64_t n);


#endif /* _LG_BUDGET_H_INCLUDED_ */
