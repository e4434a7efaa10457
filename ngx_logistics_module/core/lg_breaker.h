
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_BREAKER_H_INCLUDED_
#define _LG_BREAKER_H_INCLUDED_


#include <stdint.h>


/*
 * The circuit breaker in front of one API version (or route group).
 *
 *   closed     every request goes through; outcomes fill a sliding
 *              window of "buckets" buckets of bucket_ms each.  When the
 *              window holds at least min_requests outcomes and failures
 *              are at least failure_percent of them, it opens.
 *   open       non-critical requests are refused; critical ones go
 *              through while fewer than open_critical of them are inside
 *              Odoo.  After cool_down_ms the next request turns it
 *              half-open and is the first probe.
 *   half-open  up to half_open_probes requests (any class) are probes;
 *              critical ones beyond them go through up to open_critical
 *              as when open; the rest are refused.  The first probe that
 *              succeeds closes it (and empties the window), the first that
 *              fails re-opens it for another cool-down.  If the probes do
 *              not report back within cool_down_ms (a worker died with
 *              one), the probe slots start over.
 *
 * Shared memory, no lock: the state is one 64-bit word changed by CAS
 * (state, probes and critical passes inside, a generation and the time
 * of the last transition), each window bucket another word (bucket
 * number, outcomes, failures).  A lock would be simpler to write but a
 * worker that dies holding a spinlock in a shared zone stops every other
 * worker for good (nginx only frees the slab mutexes of a dead worker),
 * and every request ends with a breaker update.  With CAS, exactly one
 * caller wins each transition, and that caller gets it back in an
 * lg_breaker_transition_t to log and count once.
 *
 * Tickets carry the generation they were issued in; a transition starts
 * a new generation and resets the slot counts, so a ticket lost with a
 * dead worker holds its slot only until the next transition, and a late
 * report from an older generation changes no state.
 *
 * The clock is a parameter, in milliseconds from 0 up, the same clock
 * for every caller (nginx: ngx_current_msec, CLOCK_MONOTONIC, shared by
 * the workers).  Callers may be a few milliseconds apart; a time slightly
 * before the last transition counts as "no time elapsed".
 */

#define LG_BREAKER_BUCKETS_MAX  60
#define LG_BREAKER_SLOTS_MAX    63


typedef struct {
    int64_t   bucket_ms;          /* width of a window bucket: 1000 */
    uint32_t  buckets;            /* buckets in the window: 10 */
    uint32_t  min_requests;       /* outcomes needed to judge: 20 */
    uint32_t  failure_percent;    /* opens at this failure share: 50 */
    int64_t   cool_down_ms;       /* open this long, then probe: 30000 */
    uint32_t  half_open_probes;   /* probes at once: 1 */
    uint32_t  open_critical;      /* critical requests at once while
                                     open or half-open: 2 */
} lg_breaker_conf_t;


/* in shared memory, zero-filled at creation (zero is "closed") */
typedef struct {
    uint64_t  state;
    uint64_t  bucket[LG_BREAKER_BUCKETS_MAX];
} lg_breaker_t;


typedef enum {
    LG_BREAKER_CLOSED = 0,
    LG_BREAKER_OPEN,
    LG_BREAKER_HALF_OPEN
} lg_breaker_state_e;


typedef enum {
    LG_BREAKER_PASS = 0,          /* closed: forward */
    LG_BREAKER_PROBE,             /* half-open: forward as a probe */
    LG_BREAKER_CRITICAL,          /* open: a critical request let through */
    LG_BREAKER_REFUSE             /* 503 odoo-unavailable */
} lg_breaker_verdict_e;


typedef enum {
    LG_BREAKER_SUCCESS = 0,       /* Odoo answered (1xx-4xx) */
    LG_BREAKER_FAILURE,           /* 5xx, timeout, connection error */
    LG_BREAKER_CANCEL             /* no answer to judge (client left) */
} lg_breaker_outcome_e;


typedef enum {
    LG_BREAKER_EVENT_NONE = 0,
    LG_BREAKER_EVENT_OPENED,      /* closed -> open: failure share */
    LG_BREAKER_EVENT_HALF_OPENED, /* open -> half-open: cool-down over */
    LG_BREAKER_EVENT_CLOSED,      /* half-open -> closed: probe succeeded */
    LG_BREAKER_EVENT_REOPENED,    /* half-open -> open: probe failed */
    LG_BREAKER_EVENT_PROBES_LOST  /* half-open -> half-open: probes never
                                     reported within cool_down_ms */
} lg_breaker_event_e;


/* a transition this call made (and no other call will report) */
typedef struct {
    lg_breaker_event_e  event;
    uint32_t            failures;  /* the window that opened it */
    uint32_t            total;
} lg_breaker_transition_t;


typedef struct {
    uint32_t  kind;               /* lg_breaker_verdict_e of admission */
    uint32_t  generation;
} lg_breaker_ticket_t;


typedef struct {
    lg_breaker_state_e  state;
    uint32_t            probes;
    uint32_t            critical;
    uint32_t            generation;
    int64_t             since_ms; /* time of the last transition, in the
                                     38 low bits of the clock */
    uint32_t            failures; /* in the window */
    uint32_t            total;
} lg_breaker_snapshot_t;


/* NULL or the reason the settings do not make a breaker */
const char *lg_breaker_conf_check(const lg_breaker_conf_t *conf);

/* the defaults listed in lg_breaker_conf_t */
void lg_breaker_conf_default(lg_breaker_conf_t *conf);

/*
 * Decides one request.  On anything but LG_BREAKER_REFUSE the ticket
 * must later go to lg_breaker_done() exactly once; on LG_BREAKER_REFUSE
 * *retry_after_ms says when to come back.  tr->event is
 * LG_BREAKER_EVENT_NONE unless this call moved the breaker.
 */
lg_breaker_verdict_e lg_breaker_admit(lg_breaker_t *b,
    const lg_breaker_conf_t *conf, int critical, int64_t now,
    lg_breaker_ticket_t *ticket, int64_t *retry_after_ms,
    lg_breaker_transition_t *tr);

/* reports how an admitted request ended */
void lg_breaker_done(lg_breaker_t *b, const lg_breaker_conf_t *conf,
    const lg_breaker_ticket_t *ticket, lg_breaker_outcome_e outcome,
    int64_t now, lg_breaker_transition_t *tr);

/* an upstream status as an outcome: 0 (no answer) is a cancel */
lg_breaker_outcome_e lg_breaker_outcome(unsigned status);

void lg_breaker_read(const lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int64_t now, lg_breaker_snapshot_t *snap);

const char *lg_breaker_state_name(lg_breaker_state_e state);
const char *lg_breaker_event_name(lg_breaker_event_e event);


#endif /* _LG_BREAKER_H_INCLUDED_ */
