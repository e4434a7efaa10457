
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stddef.h>
#include <stdint.h>

#include "lg_atomic.h"
#include "lg_breaker.h"


/*
 * The state word, low bits first:
 *
 *    2 bits  state            lg_breaker_state_e
 *    6 bits  probes           probes inside Odoo (half-open)
 *    6 bits  critical         critical passes inside Odoo (open,
 *                             half-open)
 *   12 bits  generation       +1 at every transition but open ->
 *                             half-open (critical passes carry over)
 *   38 bits  since            clock of the last transition, modulo 2^38
 *                             ms (8.7 years; differences are taken
 *                             modulo 2^38 and read as signed)
 *
 * A window bucket word:
 *
 *   16 bits  failures
 *   16 bits  total            saturates at 65535 (per bucket)
 *   32 bits  number           now / bucket_ms, modulo 2^32
 *
 * A bucket whose total is 0 is empty whatever its number, so a zero
 * word is an empty bucket and a zero-filled breaker is closed and empty.
 */

#define LG_BRK_STATE(w)      ((uint32_t) ((w) & 0x3))
#define LG_BRK_PROBES(w)     ((uint32_t) (((w) >> 2) & 0x3f))
#define LG_BRK_CRITICAL(w)   ((uint32_t) (((w) >> 8) & 0x3f))
#define LG_BRK_GEN(w)        ((uint32_t) (((w) >> 14) & 0xfff))
#define LG_BRK_SINCE(w)      ((int64_t) ((w) >> 26))

#define LG_BRK_SINCE_BITS    38
#define LG_BRK_SINCE_MASK    ((INT64_C(1) << LG_BRK_SINCE_BITS) - 1)

#define LG_BRK_PROBE_ONE     (UINT64_C(1) << 2)
#define LG_BRK_CRITICAL_ONE  (UINT64_C(1) << 8)

#define LG_BKT_FAILURES(w)   ((uint32_t) ((w) & 0xffff))
#define LG_BKT_TOTAL(w)      ((uint32_t) (((w) >> 16) & 0xffff))
#define LG_BKT_NUMBER(w)     ((uint32_t) ((w) >> 32))
#define LG_BKT_FULL          0xffff

/* how far apart the workers' clocks may be: earlier means "just now" */
#define LG_BRK_SKEW_MS       60000

/* the longest a refused caller is told to wait while half-open */
#define LG_BRK_HALF_OPEN_RETRY_MS  1000


static uint64_t lg_breaker_word(uint32_t state, uint32_t probes,
    uint32_t critical, uint32_t generation, int64_t since);
static int64_t lg_breaker_elapsed(uint64_t w, int64_t now);
static void lg_breaker_record(lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int failure, int64_t now);
static void lg_breaker_window(const lg_breaker_t *b,
    const lg_breaker_conf_t *conf, int64_t now, uint32_t *failures,
    uint32_t *total);
static void lg_breaker_clear(lg_breaker_t *b);


static const char  *lg_breaker_state_names[] = {
    "closed", "open", "half-open"
};

static const char  *lg_breaker_event_names[] = {
    "none", "opened", "half-opened", "closed", "reopened", "probes-lost"
};


void
lg_breaker_conf_default(lg_breaker_conf_t *conf)
{
    conf->bucket_ms = 1000;
    conf->buckets = 10;
    conf->min_requests = 20;
    conf->failure_percent = 50;
    conf->cool_down_ms = 10000;
    conf->half_open_probes = 1;
    conf->open_critical = 2;
}


const char *
lg_breaker_conf_check(const lg_breaker_conf_t *conf)
{
    if (conf->bucket_ms < 10 || conf->bucket_ms > 3600000) {
        return "the bucket width must be between 10ms and 1h";
    }

    if (conf->buckets < 1 || conf->buckets > LG_BREAKER_BUCKETS_MAX) {
        return "the window must have between 1 and 60 buckets";
    }

    if (conf->min_requests < 1 || conf->min_requests > 1000000) {
        return "min_requests must be between 1 and 1000000";
    }

    if (conf->failure_percent < 1 || conf->failure_percent > 100) {
        return "the failure ratio must be between 1% and 100%";
    }

    if (conf->cool_down_ms < 1 || conf->cool_down_ms > 86400000) {
        return "the cool-down must be between 1ms and 24h";
    }

    if (conf->half_open_probes < 1
        || conf->half_open_probes > LG_BREAKER_SLOTS_MAX)
    {
        return "half-open probes must be between 1 and 63";
    }

    if (conf->open_critical > LG_BREAKER_SLOTS_MAX) {
        return "critical requests while open must be between 0 and 63";
    }

    return NULL;
}


lg_breaker_verdict_e
lg_breaker_admit(lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int critical, int64_t now, lg_breaker_ticket_t *ticket,
    int64_t *retry_after_ms, lg_breaker_transition_t *tr)
{
    int64_t   elapsed;
    uint32_t  gen;
    uint64_t  w, nw;

    tr->event = LG_BREAKER_EVENT_NONE;
    tr->failures = 0;
    tr->total = 0;

    *retry_after_ms = 0;
    elapsed = 0;

    w = lg_atomic_load_word(&b->state);

    for ( ;; ) {
        gen = LG_BRK_GEN(w);

        switch (LG_BRK_STATE(w)) {

        case LG_BREAKER_CLOSED:
            ticket->kind = LG_BREAKER_PASS;
            ticket->generation = gen;
            return LG_BREAKER_PASS;

        case LG_BREAKER_OPEN:
            elapsed = lg_breaker_elapsed(w, now);

            if (elapsed >= conf->cool_down_ms) {

                /* this request is the first probe */

                nw = lg_breaker_word(LG_BREAKER_HALF_OPEN, 1,
                                     LG_BRK_CRITICAL(w), gen, now);

                if (!lg_atomic_cas_word(&b->state, &w, nw)) {
                    continue;
                }

                tr->event = LG_BREAKER_EVENT_HALF_OPENED;
                ticket->kind = LG_BREAKER_PROBE;
                ticket->generation = gen;
                return LG_BREAKER_PROBE;
            }

            break;

        default: /* LG_BREAKER_HALF_OPEN */

            if (LG_BRK_PROBES(w) < conf->half_open_probes) {
                if (!lg_atomic_cas_word(&b->state, &w, w + LG_BRK_PROBE_ONE))
                {
                    continue;
                }

                ticket->kind = LG_BREAKER_PROBE;
                ticket->generation = gen;
                return LG_BREAKER_PROBE;
            }

            elapsed = lg_breaker_elapsed(w, now);

            if (elapsed >= conf->cool_down_ms) {

                /*
                 * Every probe slot has been taken for a whole cool-down:
                 * their requests are lost (a dead worker); start over in
                 * a new generation so their tickets count for nothing.
                 */

                nw = lg_breaker_word(LG_BREAKER_HALF_OPEN, 1, 0,
                                     gen + 1, now);

                if (!lg_atomic_cas_word(&b->state, &w, nw)) {
                    continue;
                }

                tr->event = LG_BREAKER_EVENT_PROBES_LOST;
                ticket->kind = LG_BREAKER_PROBE;
                ticket->generation = LG_BRK_GEN(nw);
                return LG_BREAKER_PROBE;
            }

            break;
        }

        /* open, or half-open with every probe slot taken */

        if (critical && LG_BRK_CRITICAL(w) < conf->open_critical) {
            if (!lg_atomic_cas_word(&b->state, &w, w + LG_BRK_CRITICAL_ONE))
            {
                continue;
            }

            ticket->kind = LG_BREAKER_CRITICAL;
            ticket->generation = gen;
            return LG_BREAKER_CRITICAL;
        }

        *retry_after_ms = conf->cool_down_ms - elapsed;

        if (LG_BRK_STATE(w) == LG_BREAKER_HALF_OPEN
            && *retry_after_ms > LG_BRK_HALF_OPEN_RETRY_MS)
        {
            /* a probe usually answers well before the cool-down ends */
            *retry_after_ms = LG_BRK_HALF_OPEN_RETRY_MS;
        }

        return LG_BREAKER_REFUSE;
    }
}


void
lg_breaker_done(lg_breaker_t *b, const lg_breaker_conf_t *conf,
    const lg_breaker_ticket_t *ticket, lg_breaker_outcome_e outcome,
    int64_t now, lg_breaker_transition_t *tr)
{
    uint32_t  gen, failures, total;
    uint64_t  w, nw;

    tr->event = LG_BREAKER_EVENT_NONE;
    tr->failures = 0;
    tr->total = 0;

    if (outcome != LG_BREAKER_CANCEL) {
        lg_breaker_record(b, conf, outcome == LG_BREAKER_FAILURE, now);
    }

    w = lg_atomic_load_word(&b->state);

    switch (ticket->kind) {

    case LG_BREAKER_PROBE:

        for ( ;; ) {
            gen = LG_BRK_GEN(w);

            if (LG_BRK_STATE(w) != LG_BREAKER_HALF_OPEN
                || gen != ticket->generation)
            {
                /* another probe decided already, or a lost one returned */
                return;
            }

            if (outcome == LG_BREAKER_SUCCESS) {
                nw = lg_breaker_word(LG_BREAKER_CLOSED, 0, 0, gen + 1, now);

            } else if (outcome == LG_BREAKER_FAILURE) {
                nw = lg_breaker_word(LG_BREAKER_OPEN, 0, 0, gen + 1, now);

            } else {
                if (LG_BRK_PROBES(w) == 0) {
                    return;
                }

                nw = w - LG_BRK_PROBE_ONE;
            }

            if (lg_atomic_cas_word(&b->state, &w, nw)) {
                break;
            }
        }

        if (outcome == LG_BREAKER_SUCCESS) {

            /*
             * A closed breaker judges only what happened since: the
             * failures that opened it must not open it again at once.
             */

            lg_breaker_clear(b);
            tr->event = LG_BREAKER_EVENT_CLOSED;

        } else if (outcome == LG_BREAKER_FAILURE) {
            tr->event = LG_BREAKER_EVENT_REOPENED;
        }

        return;

    case LG_BREAKER_CRITICAL:

        /*
         * A critical pass frees its slot; its outcome is in the window
         * but decides nothing: only probes move an open breaker.
         */

        for ( ;; ) {
            if (LG_BRK_STATE(w) == LG_BREAKER_CLOSED
                || LG_BRK_GEN(w) != ticket->generation
                || LG_BRK_CRITICAL(w) == 0)
            {
                return;
            }

            if (lg_atomic_cas_word(&b->state, &w, w - LG_BRK_CRITICAL_ONE)) {
                return;
            }
        }

    default: /* LG_BREAKER_PASS */

        if (outcome != LG_BREAKER_FAILURE) {
            return;
        }

        for ( ;; ) {
            if (LG_BRK_STATE(w) != LG_BREAKER_CLOSED) {
                return;
            }

            lg_breaker_window(b, conf, now, &failures, &total);

            if (total < conf->min_requests
                || (uint64_t) failures * 100
                   < (uint64_t) conf->failure_percent * total)
            {
                return;
            }

            nw = lg_breaker_word(LG_BREAKER_OPEN, 0, 0, LG_BRK_GEN(w) + 1,
                                 now);

            if (lg_atomic_cas_word(&b->state, &w, nw)) {
                tr->event = LG_BREAKER_EVENT_OPENED;
                tr->failures = failures;
                tr->total = total;
                return;
            }

            /* someone else moved it: look again */
        }
    }
}


lg_breaker_outcome_e
lg_breaker_outcome(unsigned status)
{
    if (status == 0) {
        return LG_BREAKER_CANCEL;
    }

    /*
     * nginx records an upstream timeout as 504 and a refused or broken
     * connection as 502 in $upstream_status, so ">= 500" covers them.
     */

    return status >= 500 ? LG_BREAKER_FAILURE : LG_BREAKER_SUCCESS;
}


void
lg_breaker_read(const lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int64_t now, lg_breaker_snapshot_t *snap)
{
    uint64_t  w;

    w = lg_atomic_load_word(&b->state);

    snap->state = (lg_breaker_state_e) LG_BRK_STATE(w);
    snap->probes = LG_BRK_PROBES(w);
    snap->critical = LG_BRK_CRITICAL(w);
    snap->generation = LG_BRK_GEN(w);
    snap->since_ms = LG_BRK_SINCE(w);

    lg_breaker_window(b, conf, now, &snap->failures, &snap->total);
}


const char *
lg_breaker_state_name(lg_breaker_state_e state)
{
    if ((unsigned) state > LG_BREAKER_HALF_OPEN) {
        return "unknown";
    }

    return lg_breaker_state_names[state];
}


const char *
lg_breaker_event_name(lg_breaker_event_e event)
{
    if ((unsigned) event > LG_BREAKER_EVENT_PROBES_LOST) {
        return "unknown";
    }

    return lg_breaker_event_names[event];
}


static uint64_t
lg_breaker_word(uint32_t state, uint32_t probes, uint32_t critical,
    uint32_t generation, int64_t since)
{
    return (uint64_t) state
           | (uint64_t) (probes & 0x3f) << 2
           | (uint64_t) (critical & 0x3f) << 8
           | (uint64_t) (generation & 0xfff) << 14
           | (uint64_t) (since & LG_BRK_SINCE_MASK) << 26;
}


/* milliseconds since the last transition; never negative */

static int64_t
lg_breaker_elapsed(uint64_t w, int64_t now)
{
    int64_t  d;

    d = (now - LG_BRK_SINCE(w)) & LG_BRK_SINCE_MASK;

    if (d >= (INT64_C(1) << (LG_BRK_SINCE_BITS - 1))) {
        d -= INT64_C(1) << LG_BRK_SINCE_BITS;
    }

    if (d >= 0) {
        return d;
    }

    if (d > -LG_BRK_SKEW_MS) {
        /* a worker whose cached clock is a little behind */
        return 0;
    }

    /* a stamp from before the wrap: long ago */
    return INT64_MAX / 2;
}


static void
lg_breaker_record(lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int failure, int64_t now)
{
    int64_t    n;
    int32_t    age;
    uint32_t   number, total, failures;
    uint64_t   w, nw, *bucket;

    /* the clock starts at 0; a negative time would index before bucket 0 */
    n = (now > 0 ? now : 0) / conf->bucket_ms;
    number = (uint32_t) n;
    bucket = &b->bucket[n % conf->buckets];

    w = lg_atomic_load_word(bucket);

    for ( ;; ) {
        total = LG_BKT_TOTAL(w);
        failures = LG_BKT_FAILURES(w);

        age = (int32_t) (number - LG_BKT_NUMBER(w));

        if (total != 0 && age < 0) {
            /* the slot already holds a later bucket: too late to count */
            return;
        }

        if (total == 0 || age > 0) {
            /* the slot held an older bucket: it starts over */
            total = 0;
            failures = 0;
        }

        if (total == LG_BKT_FULL) {
            return;
        }

        total++;
        failures += failure ? 1 : 0;

        nw = (uint64_t) number << 32 | (uint64_t) total << 16 | failures;

        if (lg_atomic_cas_word(bucket, &w, nw)) {
            return;
        }
    }
}


static void
lg_breaker_window(const lg_breaker_t *b, const lg_breaker_conf_t *conf,
    int64_t now, uint32_t *failures, uint32_t *total)
{
    int32_t   age;
    uint32_t  i, number;
    uint64_t  w;

    number = (uint32_t) ((now > 0 ? now : 0) / conf->bucket_ms);

    *failures = 0;
    *total = 0;

    for (i = 0; i < conf->buckets; i++) {
        w = lg_atomic_load_word(&b->bucket[i]);

        if (LG_BKT_TOTAL(w) == 0) {
            continue;
        }

        age = (int32_t) (number - LG_BKT_NUMBER(w));

        /* -1: a bucket of a worker whose clock is a little ahead */

        if (age >= -1 && age < (int32_t) conf->buckets) {
            *failures += LG_BKT_FAILURES(w);
            *total += LG_BKT_TOTAL(w);
        }
    }
}


static void
lg_breaker_clear(lg_breaker_t *b)
{
    uint32_t  i;

    /*
     * Not one atomic step with the transition: an outcome recorded in
     * between may be lost, which a sample of the last seconds can bear.
     */

    for (i = 0; i < LG_BREAKER_BUCKETS_MAX; i++) {
        lg_atomic_store_word(&b->bucket[i], 0);
    }
}
