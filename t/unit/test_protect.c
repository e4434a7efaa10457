
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "unit.h"
#include "fixture.h"

#include <jansson.h>

#include "lg_atomic.h"
#include "lg_protect.h"
#include "lg_policy_protect.h"
#include "lg_protect_status.h"


#define S  1000LL


/* the breaker settings most tests use: 50% of >= 20 in 10 x 1s */

static void
conf_breaker(lg_breaker_conf_t *c)
{
    lg_breaker_conf_default(c);

    c->cool_down_ms = 5 * S;
    c->half_open_probes = 1;
    c->open_critical = 2;
}


/* one request through the breaker: admit, then report "outcome" */

static lg_breaker_verdict_e
one(lg_breaker_t *b, const lg_breaker_conf_t *c, int critical, int64_t now,
    lg_breaker_outcome_e outcome, lg_breaker_transition_t *tr)
{
    int64_t                  retry;
    lg_breaker_ticket_t      t;
    lg_breaker_verdict_e     v;
    lg_breaker_transition_t  atr;

    v = lg_breaker_admit(b, c, critical, now, &t, &retry, &atr);

    if (v != LG_BREAKER_REFUSE) {
        lg_breaker_done(b, c, &t, outcome, now, tr);

    } else {
        tr->event = LG_BREAKER_EVENT_NONE;
    }

    return v;
}


static lg_breaker_state_e
state_of(const lg_breaker_t *b, const lg_breaker_conf_t *c, int64_t now)
{
    lg_breaker_snapshot_t  snap;

    lg_breaker_read(b, c, now, &snap);

    return snap.state;
}


static void
test_priority(void)
{
    lg_priority_e  p;

    ok(lg_priority_parse("critical", 8, &p) == 0
       && p == LG_PRIORITY_CRITICAL, "critical parses");
    ok(lg_priority_parse("normal", 6, &p) == 0 && p == LG_PRIORITY_NORMAL,
       "normal parses");
    ok(lg_priority_parse("deferrable", 10, &p) == 0
       && p == LG_PRIORITY_DEFERRABLE, "deferrable parses");
    ok(lg_priority_parse("Critical", 8, &p) != 0, "names are lowercase");
    ok(lg_priority_parse("critic", 6, &p) != 0, "no prefixes");
    ok(lg_priority_parse("normalx", 7, &p) != 0, "no trailing bytes");
    ok(lg_priority_parse("", 0, &p) != 0, "empty refused");
    is_str(lg_priority_name(LG_PRIORITY_DEFERRABLE), "deferrable",
           "name of deferrable");

    is_int(lg_priority_ceiling(LG_PRIORITY_CRITICAL, LG_PRIORITY_NORMAL),
           LG_PRIORITY_NORMAL,
           "ceiling normal: a critical route counts as normal");
    is_int(lg_priority_ceiling(LG_PRIORITY_DEFERRABLE, LG_PRIORITY_NORMAL),
           LG_PRIORITY_DEFERRABLE, "a ceiling never raises a class");
    is_int(lg_priority_ceiling(LG_PRIORITY_CRITICAL, LG_PRIORITY_CRITICAL),
           LG_PRIORITY_CRITICAL, "ceiling critical changes nothing");
    is_int(lg_priority_ceiling(LG_PRIORITY_NORMAL, LG_PRIORITY_DEFERRABLE),
           LG_PRIORITY_DEFERRABLE, "ceiling deferrable");
}


static void
test_budget_conf(void)
{
    lg_budget_conf_t  c;

    ok(lg_budget_conf_init(&c, 0, 0, -1) != NULL, "max_in_flight 0 refused");
    ok(lg_budget_conf_init(&c, 8, 9, -1) != NULL, "reserve above max refused");
    ok(lg_budget_conf_init(&c, 8, -1, -1) != NULL, "negative reserve refused");
    ok(lg_budget_conf_init(&c, 8, 2, 7) != NULL,
       "deferrable cap above max - reserve refused");
    ok(lg_budget_conf_init(&c, 8, 2, -1) == NULL
       && c.deferrable_cap == 6, "no cap: deferrable may hold max - reserve");
    ok(lg_budget_conf_init(&c, 8, 8, -1) == NULL && c.deferrable_cap == 0,
       "reserve = max: critical only");

    is_int(lg_budget_percent(8, 20, 1), 2, "20%% of 8 as a reserve: 2");
    is_int(lg_budget_percent(8, 50, 0), 4, "50%% of 8 as a cap: 4");
    is_int(lg_budget_percent(8, 30, 1), 3, "30%% of 8 rounds up to 3");
    is_int(lg_budget_percent(8, 30, 0), 2, "30%% of 8 rounds down to 2");
    is_int(lg_budget_percent(8, 0, 1), 0, "0%%");
    is_int(lg_budget_percent(8, 100, 0), 8, "100%%");
}


static int
fill(const lg_budget_conf_t *c, lg_budget_api_t *api, lg_budget_partner_t *p,
    int64_t pmax, lg_priority_e prio, lg_budget_ticket_t *t, int n,
    lg_budget_verdict_e *last)
{
    int  i;

    for (i = 0; i < n; i++) {
        *last = lg_budget_admit(c, api, p, pmax, prio, &t[i]);

        if (*last != LG_BUDGET_ADMITTED) {
            return i;
        }
    }

    return i;
}


static void
test_budget(void)
{
    int                   i, n, rc;
    lg_budget_api_t       api;
    lg_budget_conf_t      c;
    lg_budget_ticket_t    t[32], x;
    lg_budget_partner_t   p1, p2;
    lg_budget_verdict_e   last;
    lg_budget_snapshot_t  snap;

    memset(&api, 0, sizeof(api));
    memset(&p1, 0, sizeof(p1));
    memset(&p2, 0, sizeof(p2));

    (void) lg_budget_conf_init(&c, 8, 2, 4);

    /* the deferrable cap */

    n = fill(&c, &api, NULL, 0, LG_PRIORITY_DEFERRABLE, t, 10, &last);
    is_int(n, 4, "deferrable: 4 admitted (the cap)");
    is_int(last, LG_BUDGET_CLASS_FULL, "the 5th deferrable: class full");
    is_int(api.deferrable, 4, "deferrable counter at the cap");
    is_int(api.in_flight, 4, "total 4");

    /* normal traffic stops at max - reserve */

    n = fill(&c, &api, NULL, 0, LG_PRIORITY_NORMAL, t + 4, 10, &last);
    is_int(n, 2, "normal: 2 more admitted (up to max - reserve = 6)");
    is_int(last, LG_BUDGET_CLASS_FULL, "then class full");
    is_int(api.in_flight, 6, "total 6");

    /* the critical reserve holds */

    n = fill(&c, &api, NULL, 0, LG_PRIORITY_CRITICAL, t + 6, 10, &last);
    is_int(n, 2, "critical: the 2 reserved slots");
    is_int(last, LG_BUDGET_CLASS_FULL, "critical refused at max_in_flight");
    is_int(api.in_flight, 8, "total at max_in_flight");
    is_int(api.critical, 2, "critical counter 2");

    lg_budget_read(&api, &snap);
    ok(snap.in_flight == 8 && snap.critical == 2 && snap.deferrable == 4
       && snap.normal == 2,
       "snapshot: 8 = 2 critical + 2 normal + 4 deferrable");

    /* a deferrable refused by the total gives its deferrable unit back */

    rc = lg_budget_release(&t[4]);
    rc |= lg_budget_release(&t[5]);
    is_int(rc, 0, "two normal released");
    is_int(api.in_flight, 6, "total 6");

    rc = lg_budget_release(&t[0]);
    is_int(api.deferrable, 3, "one deferrable released: 3");

    (void) lg_budget_conf_init(&c, 8, 2, 6);
    ok(lg_budget_admit(&c, &api, NULL, 0, LG_PRIORITY_NORMAL, &t[4])
       == LG_BUDGET_ADMITTED, "a normal takes the last slot below "
       "max - reserve");
    is_int(lg_budget_admit(&c, &api, NULL, 0, LG_PRIORITY_DEFERRABLE, &x),
           LG_BUDGET_CLASS_FULL, "a deferrable under its cap but over the "
           "non-critical total is refused");
    is_int(api.deferrable, 3, "... and its deferrable unit was given back");
    is_int(api.in_flight, 6, "total unchanged");

    rc = 0;
    for (i = 1; i < 8; i++) {
        rc |= lg_budget_release(&t[i]);
    }
    is_int(rc, 0, "every ticket released");
    ok(api.in_flight == 0 && api.deferrable == 0 && api.critical == 0,
       "counters back to 0");

    /* critical traffic may use every slot; then nothing else enters */

    (void) lg_budget_conf_init(&c, 8, 2, 4);
    n = fill(&c, &api, NULL, 0, LG_PRIORITY_CRITICAL, t, 10, &last);
    is_int(n, 8, "critical alone: all 8 slots");
    is_int(lg_budget_admit(&c, &api, NULL, 0, LG_PRIORITY_NORMAL, &x),
           LG_BUDGET_CLASS_FULL, "normal refused while critical holds all");
    for (i = 0; i < 8; i++) {
        (void) lg_budget_release(&t[i]);
    }
    is_int(api.in_flight + api.critical, 0, "back to 0");

    /* per-partner caps; the refusal leaves the API counters alone */

    n = fill(&c, &api, &p1, 3, LG_PRIORITY_NORMAL, t, 10, &last);
    is_int(n, 3, "partner cap 3: 3 admitted");
    is_int(last, LG_BUDGET_PARTNER_FULL, "the 4th: partner full");
    is_int(api.in_flight, 3, "the refused one took no API slot");
    is_int(p1.in_flight, 3, "partner counter at its cap");

    n = fill(&c, &api, &p2, 5, LG_PRIORITY_NORMAL, t + 3, 10, &last);
    is_int(n, 3, "another partner is served");
    is_int(last, LG_BUDGET_CLASS_FULL, "until the class is full (6)");
    is_int(p2.in_flight, 3, "... and the class refusal gave p2's unit back");

    is_int(lg_budget_admit(&c, &api, &p1, 3, LG_PRIORITY_CRITICAL, &x),
           LG_BUDGET_PARTNER_FULL,
           "a partner over its cap hears 429 first, even for critical");

    for (i = 0; i < 6; i++) {
        (void) lg_budget_release(&t[i]);
    }
    ok(p1.in_flight == 0 && p2.in_flight == 0 && api.in_flight == 0,
       "partners and API back to 0");

    /* partner_max 0: counted, not capped */

    n = fill(&c, &api, &p1, 0, LG_PRIORITY_NORMAL, t, 10, &last);
    is_int(n, 6, "no partner cap: the class limit decides");
    is_int(p1.in_flight, 6, "but the partner's requests are counted");
    for (i = 0; i < 6; i++) {
        (void) lg_budget_release(&t[i]);
    }

    /* release is idempotent; a foreign double release is detected */

    ok(lg_budget_admit(&c, &api, &p1, 3, LG_PRIORITY_DEFERRABLE, &x)
       == LG_BUDGET_ADMITTED, "one deferrable");
    is_int(lg_budget_release(&x), 0, "released");
    is_int(lg_budget_release(&x), 0, "released again: no-op");
    ok(api.in_flight == 0 && api.deferrable == 0 && p1.in_flight == 0,
       "counted once");

    x.held = 1;
    x.partner = &p1;
    is_int(lg_budget_release(&x), -1,
           "a ticket that was never admitted finds counters at 0: -1");
    ok(api.in_flight == 0 && api.deferrable == 0 && p1.in_flight == 0,
       "no counter went below 0");
}


/*
 * Concurrent admit / release on one shared counter block, the way nginx
 * workers use a shared zone.  Each thread counts its own holders (after
 * admission, before release) in test-side counters, a subset of the
 * real holders at every instant, and checks the invariants on them; a
 * monitor thread samples the shared counters.
 */

#define MT_THREADS    6
#define MT_PARTNERS   4
#define MT_ROUNDS     20000
#define MT_MSEC       1000

typedef struct {
    lg_budget_conf_t     conf;
    int64_t              partner_max;
    lg_budget_api_t      api;
    lg_budget_partner_t  partner[MT_PARTNERS];

    int64_t              hold_total;
    int64_t              hold_noncritical;
    int64_t              hold_deferrable;
    int64_t              hold_partner[MT_PARTNERS];

    int64_t              violations;
    int64_t              release_errors;
    int64_t              admitted[3];
    int64_t              refused[3];
    int64_t              partner_full;
    int64_t              class_full;
    int64_t              samples;
    int64_t              running;
    int64_t              deadline;
    int64_t              rounds;
} mt_budget_t;


static int64_t
mt_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static uint64_t
mt_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;

    return *s;
}


static void
mt_bound(mt_budget_t *m, int64_t *counter, int64_t add, int64_t limit)
{
    if (__atomic_add_fetch(counter, add, __ATOMIC_SEQ_CST) > limit) {
        __atomic_add_fetch(&m->violations, 1, __ATOMIC_SEQ_CST);
    }
}


/* a short busy wait of up to n turns */

static void
mt_spin(uint64_t *seed, unsigned n)
{
    unsigned  j, spin;

    spin = (unsigned) (mt_rand(seed) % n);

    for (j = 0; j < spin; j++) {
        __asm__ __volatile__("" ::: "memory");
    }
}


static void *
mt_budget_worker(void *arg)
{
    int                  i, p;
    uint64_t             seed;
    lg_priority_e        prio;
    mt_budget_t         *m;
    lg_budget_ticket_t   t;
    lg_budget_verdict_e  v;

    m = arg;
    seed = (uint64_t) (uintptr_t) &t ^ 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < MT_ROUNDS || mt_now() < m->deadline; i++) {

        /*
         * Time outside a slot, and rarely a reschedule inside one: with
         * more threads than CPUs, threads parked while holding would keep
         * the total above the non-critical limit and starve those
         * classes; without contention no limit would ever be reached.
         */

        mt_spin(&seed, 200);

        if (mt_rand(&seed) % 64 == 0) {
            sched_yield();
        }

        prio = (lg_priority_e) (mt_rand(&seed) % 3);
        p = (int) (mt_rand(&seed) % MT_PARTNERS);

        v = lg_budget_admit(&m->conf, &m->api, &m->partner[p],
                            m->partner_max, prio, &t);

        if (v != LG_BUDGET_ADMITTED) {
            __atomic_add_fetch(&m->refused[prio], 1, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(v == LG_BUDGET_PARTNER_FULL
                               ? &m->partner_full : &m->class_full, 1,
                               __ATOMIC_SEQ_CST);
            continue;
        }

        __atomic_add_fetch(&m->admitted[prio], 1, __ATOMIC_SEQ_CST);

        mt_bound(m, &m->hold_total, 1, m->conf.max_in_flight);
        mt_bound(m, &m->hold_partner[p], 1, m->partner_max);

        if (prio != LG_PRIORITY_CRITICAL) {
            mt_bound(m, &m->hold_noncritical, 1,
                     m->conf.max_in_flight - m->conf.critical_reserve);
        }

        if (prio == LG_PRIORITY_DEFERRABLE) {
            mt_bound(m, &m->hold_deferrable, 1, m->conf.deferrable_cap);
        }

        mt_spin(&seed, 400);

        if (mt_rand(&seed) % 64 == 0) {
            sched_yield();
        }

        if (prio == LG_PRIORITY_DEFERRABLE) {
            __atomic_sub_fetch(&m->hold_deferrable, 1, __ATOMIC_SEQ_CST);
        }

        if (prio != LG_PRIORITY_CRITICAL) {
            __atomic_sub_fetch(&m->hold_noncritical, 1, __ATOMIC_SEQ_CST);
        }

        __atomic_sub_fetch(&m->hold_partner[p], 1, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&m->hold_total, 1, __ATOMIC_SEQ_CST);

        if (lg_budget_release(&t) != 0) {
            __atomic_add_fetch(&m->release_errors, 1, __ATOMIC_SEQ_CST);
        }
    }

    __atomic_add_fetch(&m->rounds, i, __ATOMIC_SEQ_CST);

    return NULL;
}


static void *
mt_budget_monitor(void *arg)
{
    int           p;
    int64_t       v;
    mt_budget_t  *m;

    m = arg;

    while (__atomic_load_n(&m->running, __ATOMIC_ACQUIRE)) {
        v = lg_atomic_load(&m->api.in_flight);
        if (v < 0 || v > m->conf.max_in_flight) {
            __atomic_add_fetch(&m->violations, 1, __ATOMIC_SEQ_CST);
        }

        v = lg_atomic_load(&m->api.deferrable);
        if (v < 0 || v > m->conf.deferrable_cap) {
            __atomic_add_fetch(&m->violations, 1, __ATOMIC_SEQ_CST);
        }

        v = lg_atomic_load(&m->api.critical);
        if (v < 0 || v > m->conf.max_in_flight) {
            __atomic_add_fetch(&m->violations, 1, __ATOMIC_SEQ_CST);
        }

        for (p = 0; p < MT_PARTNERS; p++) {
            v = lg_atomic_load(&m->partner[p].in_flight);
            if (v < 0 || v > m->partner_max) {
                __atomic_add_fetch(&m->violations, 1, __ATOMIC_SEQ_CST);
            }
        }

        m->samples++;
        sched_yield();
    }

    return NULL;
}


static void
test_budget_threads(void)
{
    int           i, p;
    int64_t       total_admitted;
    pthread_t     th[MT_THREADS], mon;
    mt_budget_t  *m;

    m = calloc(1, sizeof(mt_budget_t));
    if (m == NULL) {
        ok(0, "calloc");
        return;
    }

    /*
     * 6 threads against a budget of 5 (2 reserved, 2 deferrable) and 4
     * partners of cap 2 (8 > 5): every limit is reached.
     */

    (void) lg_budget_conf_init(&m->conf, 5, 2, 2);
    m->partner_max = 2;
    m->running = 1;
    m->deadline = mt_now() + MT_MSEC;

    pthread_create(&mon, NULL, mt_budget_monitor, m);

    for (i = 0; i < MT_THREADS; i++) {
        pthread_create(&th[i], NULL, mt_budget_worker, m);
    }

    for (i = 0; i < MT_THREADS; i++) {
        pthread_join(th[i], NULL);
    }

    __atomic_store_n(&m->running, 0, __ATOMIC_RELEASE);
    pthread_join(mon, NULL);

    is_int(m->violations, 0, "threads: no limit was ever exceeded "
           "(test holders and sampled counters)");
    is_int(m->release_errors, 0, "threads: no release found a counter at 0");
    ok(m->samples > 0, "threads: the monitor sampled the counters");

    ok(m->api.in_flight == 0 && m->api.deferrable == 0
       && m->api.critical == 0, "threads: API counters back to 0");

    for (p = 0; p < MT_PARTNERS; p++) {
        if (m->partner[p].in_flight != 0) {
            break;
        }
    }
    ok(p == MT_PARTNERS, "threads: partner counters back to 0");

    total_admitted = m->admitted[0] + m->admitted[1] + m->admitted[2];
    is_int(total_admitted + m->refused[0] + m->refused[1] + m->refused[2],
           m->rounds, "threads: every round decided (%lld)",
           (long long) m->rounds);

    ok(m->admitted[0] > 0 && m->admitted[1] > 0 && m->admitted[2] > 0,
       "threads: every class was admitted (%lld/%lld/%lld)",
       (long long) m->admitted[0], (long long) m->admitted[1],
       (long long) m->admitted[2]);

    ok(m->refused[0] > 0 && m->refused[1] > 0 && m->refused[2] > 0,
       "threads: every class was refused (%lld/%lld/%lld)",
       (long long) m->refused[0], (long long) m->refused[1],
       (long long) m->refused[2]);
    ok(m->partner_full > 0 && m->class_full > 0,
       "threads: partner caps (%lld) and class limits (%lld) were reached",
       (long long) m->partner_full, (long long) m->class_full);

    free(m);
}


static void
test_breaker_conf(void)
{
    lg_breaker_conf_t  c;

    lg_breaker_conf_default(&c);
    ok(lg_breaker_conf_check(&c) == NULL, "defaults are valid");
    ok(c.buckets == 10 && c.bucket_ms == 1000 && c.min_requests == 20
       && c.failure_percent == 50, "defaults: 50%% of >= 20 in 10 x 1s");

    c.buckets = 0;
    ok(lg_breaker_conf_check(&c) != NULL, "0 buckets refused");
    c.buckets = LG_BREAKER_BUCKETS_MAX + 1;
    ok(lg_breaker_conf_check(&c) != NULL, "61 buckets refused");
    lg_breaker_conf_default(&c);
    c.failure_percent = 101;
    ok(lg_breaker_conf_check(&c) != NULL, "101%% refused");
    lg_breaker_conf_default(&c);
    c.half_open_probes = 0;
    ok(lg_breaker_conf_check(&c) != NULL, "0 probes refused");
    c.half_open_probes = 64;
    ok(lg_breaker_conf_check(&c) != NULL, "64 probes refused");
    lg_breaker_conf_default(&c);
    c.open_critical = 64;
    ok(lg_breaker_conf_check(&c) != NULL, "64 critical passes refused");
    lg_breaker_conf_default(&c);
    c.cool_down_ms = 0;
    ok(lg_breaker_conf_check(&c) != NULL, "no cool-down refused");
    lg_breaker_conf_default(&c);
    c.bucket_ms = 1;
    ok(lg_breaker_conf_check(&c) != NULL, "1ms buckets refused");

    is_int(lg_breaker_outcome(0), LG_BREAKER_CANCEL, "status 0: cancel");
    is_int(lg_breaker_outcome(200), LG_BREAKER_SUCCESS, "200: success");
    is_int(lg_breaker_outcome(404), LG_BREAKER_SUCCESS, "404: success");
    is_int(lg_breaker_outcome(429), LG_BREAKER_SUCCESS, "429: success");
    is_int(lg_breaker_outcome(500), LG_BREAKER_FAILURE, "500: failure");
    is_int(lg_breaker_outcome(502), LG_BREAKER_FAILURE,
           "502 (connection error): failure");
    is_int(lg_breaker_outcome(504), LG_BREAKER_FAILURE,
           "504 (timeout): failure");

    is_str(lg_breaker_state_name(LG_BREAKER_HALF_OPEN), "half-open",
           "state name");
    is_str(lg_breaker_event_name(LG_BREAKER_EVENT_PROBES_LOST),
           "probes-lost", "event name");
}


static void
test_breaker_window(void)
{
    int                      i;
    lg_breaker_t             b;
    lg_breaker_conf_t        c;
    lg_breaker_snapshot_t    snap;
    lg_breaker_transition_t  tr;

    conf_breaker(&c);

    /* below min_requests nothing opens, however bad */

    memset(&b, 0, sizeof(b));

    for (i = 0; i < 19; i++) {
        one(&b, &c, 0, 100, LG_BREAKER_FAILURE, &tr);
        if (tr.event != LG_BREAKER_EVENT_NONE) {
            break;
        }
    }
    is_int(i, 19, "19 failures out of 19: below min_requests, no event");
    is_int(state_of(&b, &c, 100), LG_BREAKER_CLOSED, "still closed");

    /* the ratio: 45%, 47.6%, then 50% opens */

    memset(&b, 0, sizeof(b));

    for (i = 0; i < 11; i++) {
        one(&b, &c, 0, 100 * i, LG_BREAKER_SUCCESS, &tr);
    }
    for (i = 0; i < 9; i++) {
        one(&b, &c, 0, 2000 + 100 * i, LG_BREAKER_FAILURE, &tr);
    }
    is_int(state_of(&b, &c, 3000), LG_BREAKER_CLOSED, "9 of 20: closed");

    one(&b, &c, 0, 3000, LG_BREAKER_FAILURE, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "10 of 21 (47.6%%): closed");

    one(&b, &c, 0, 3100, LG_BREAKER_FAILURE, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_OPENED, "11 of 22 (50%%): opened");
    ok(tr.failures == 11 && tr.total == 22,
       "the transition carries the window: 11 of 22");
    is_int(state_of(&b, &c, 3100), LG_BREAKER_OPEN, "state open");

    /* the window slides: failures 10 buckets old no longer count */

    memset(&b, 0, sizeof(b));

    for (i = 0; i < 15; i++) {
        one(&b, &c, 0, 500, LG_BREAKER_FAILURE, &tr);
    }

    lg_breaker_read(&b, &c, 9999, &snap);
    is_int(snap.total, 15, "at 9.999s the bucket of 0.5s is in the window");

    lg_breaker_read(&b, &c, 10000, &snap);
    is_int(snap.total, 0, "at 10s it has left the window");

    for (i = 0; i < 5; i++) {
        one(&b, &c, 0, 10000, LG_BREAKER_FAILURE, &tr);
    }
    is_int(tr.event, LG_BREAKER_EVENT_NONE,
           "15 old + 5 new failures: only 5 in the window, closed");
    lg_breaker_read(&b, &c, 10000, &snap);
    ok(snap.total == 5 && snap.failures == 5, "window: 5 of 5");

    /* a late report for a bucket whose slot holds a newer one is dropped */

    one(&b, &c, 0, 0, LG_BREAKER_FAILURE, &tr);
    lg_breaker_read(&b, &c, 10000, &snap);
    is_int(snap.total, 5, "a report 10s late does not land in a newer bucket");

    /* a cancel records nothing */

    one(&b, &c, 0, 10000, LG_BREAKER_CANCEL, &tr);
    lg_breaker_read(&b, &c, 10000, &snap);
    is_int(snap.total, 5, "cancel: not an outcome");

    /* a bucket saturates instead of wrapping */

    memset(&b, 0, sizeof(b));
    c.min_requests = 1000000;

    for (i = 0; i < 70000; i++) {
        one(&b, &c, 0, 0, LG_BREAKER_SUCCESS, &tr);
    }
    lg_breaker_read(&b, &c, 0, &snap);
    is_int(snap.total, 65535, "a bucket holds at most 65535 outcomes");
}


static void
test_breaker_states(void)
{
    int64_t                  retry, t0;
    lg_breaker_t             b;
    lg_breaker_conf_t        c;
    lg_breaker_ticket_t      k1, k2, k3, p1, p2;
    lg_breaker_snapshot_t    snap;
    lg_breaker_transition_t  tr;

    conf_breaker(&c);
    memset(&b, 0, sizeof(b));

    is_int(lg_breaker_admit(&b, &c, 0, 0, &k1, &retry, &tr), LG_BREAKER_PASS,
           "a zero-filled breaker is closed: pass");
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "no event");
    lg_breaker_done(&b, &c, &k1, LG_BREAKER_SUCCESS, 0, &tr);

    /* closed -> open */

    t0 = 1000;
    while (state_of(&b, &c, t0) == LG_BREAKER_CLOSED) {
        one(&b, &c, 0, t0, LG_BREAKER_FAILURE, &tr);
    }
    is_int(tr.event, LG_BREAKER_EVENT_OPENED, "closed -> open: OPENED");

    /* open: non-critical refused with the cool-down left */

    is_int(lg_breaker_admit(&b, &c, 0, t0 + 1000, &k1, &retry, &tr),
           LG_BREAKER_REFUSE, "open: normal refused");
    is_int(retry, 4000, "retry after the 4s of cool-down left");
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "a refusal is no transition");

    /* open: critical up to open_critical */

    is_int(lg_breaker_admit(&b, &c, 1, t0 + 1000, &k1, &retry, &tr),
           LG_BREAKER_CRITICAL, "open: critical passes (1)");
    is_int(lg_breaker_admit(&b, &c, 1, t0 + 1000, &k2, &retry, &tr),
           LG_BREAKER_CRITICAL, "open: critical passes (2)");
    is_int(lg_breaker_admit(&b, &c, 1, t0 + 1000, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "open: the 3rd critical at once is refused");

    lg_breaker_done(&b, &c, &k2, LG_BREAKER_SUCCESS, t0 + 1500, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_NONE,
           "a critical pass succeeding does not close it");
    is_int(state_of(&b, &c, t0 + 1500), LG_BREAKER_OPEN, "still open");
    is_int(lg_breaker_admit(&b, &c, 1, t0 + 1500, &k2, &retry, &tr),
           LG_BREAKER_CRITICAL, "its slot is free again");

    /* a worker clock a little behind the transition: no time elapsed */

    is_int(lg_breaker_admit(&b, &c, 0, t0 - 20, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "clock 20ms behind: refused");
    is_int(retry, 5000, "retry after the whole cool-down, not more");

    /* open -> half-open after the cool-down; the caller is the probe */

    is_int(lg_breaker_admit(&b, &c, 0, t0 + 5000, &p1, &retry, &tr),
           LG_BREAKER_PROBE, "after the cool-down: a probe");
    is_int(tr.event, LG_BREAKER_EVENT_HALF_OPENED, "open -> half-open");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 5000, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "half-open: the probe slot is taken");
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "the transition came once");
    ok(retry > 0 && retry <= 1000, "half-open: retry within a second");

    lg_breaker_read(&b, &c, t0 + 5000, &snap);
    ok(snap.state == LG_BREAKER_HALF_OPEN && snap.probes == 1
       && snap.critical == 2, "half-open: 1 probe, 2 critical carried over");

    is_int(lg_breaker_admit(&b, &c, 1, t0 + 5000, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "critical passes still count: refused");
    lg_breaker_done(&b, &c, &k1, LG_BREAKER_SUCCESS, t0 + 5000, &tr);
    is_int(lg_breaker_admit(&b, &c, 1, t0 + 5000, &k1, &retry, &tr),
           LG_BREAKER_CRITICAL, "an open-time pass returned: critical passes");

    /* half-open -> open on a failed probe */

    lg_breaker_done(&b, &c, &p1, LG_BREAKER_FAILURE, t0 + 5200, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_REOPENED, "probe failed: re-opened");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 5200, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "open again");
    is_int(retry, 5000, "for a whole new cool-down");

    lg_breaker_read(&b, &c, t0 + 5200, &snap);
    is_int(snap.critical, 0, "a new generation: no slot counted");
    lg_breaker_done(&b, &c, &k1, LG_BREAKER_SUCCESS, t0 + 5300, &tr);
    lg_breaker_done(&b, &c, &k2, LG_BREAKER_FAILURE, t0 + 5300, &tr);
    lg_breaker_read(&b, &c, t0 + 5300, &snap);
    ok(snap.critical == 0 && snap.state == LG_BREAKER_OPEN
       && tr.event == LG_BREAKER_EVENT_NONE,
       "tickets of the old generation change nothing");

    /* half-open: a cancelled probe frees its slot without a decision */

    is_int(lg_breaker_admit(&b, &c, 0, t0 + 10200, &p1, &retry, &tr),
           LG_BREAKER_PROBE, "half-open again");
    lg_breaker_done(&b, &c, &p1, LG_BREAKER_CANCEL, t0 + 10300, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "cancelled probe: no event");
    is_int(state_of(&b, &c, t0 + 10300), LG_BREAKER_HALF_OPEN,
           "still half-open");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 10300, &p1, &retry, &tr),
           LG_BREAKER_PROBE, "the next request is the probe");
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "without a transition");

    /* probes that never report: after a cool-down they start over */

    is_int(lg_breaker_admit(&b, &c, 0, t0 + 15100, &k3, &retry, &tr),
           LG_BREAKER_REFUSE, "probe slot taken for 4.9s: refused");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 15200, &p2, &retry, &tr),
           LG_BREAKER_PROBE, "after 5s a new probe");
    is_int(tr.event, LG_BREAKER_EVENT_PROBES_LOST, "half-open: probes lost");

    lg_breaker_done(&b, &c, &p1, LG_BREAKER_SUCCESS, t0 + 15300, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_NONE,
           "the lost probe's late success decides nothing");
    is_int(state_of(&b, &c, t0 + 15300), LG_BREAKER_HALF_OPEN,
           "still half-open");

    /* half-open -> closed on a probe success; the window starts empty */

    lg_breaker_read(&b, &c, t0 + 15300, &snap);
    ok(snap.total > 0, "the window holds outcomes before closing (%u)",
       snap.total);

    lg_breaker_done(&b, &c, &p2, LG_BREAKER_SUCCESS, t0 + 15400, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_CLOSED, "probe succeeded: closed");
    lg_breaker_read(&b, &c, t0 + 15400, &snap);
    ok(snap.state == LG_BREAKER_CLOSED && snap.total == 0
       && snap.probes == 0 && snap.critical == 0,
       "closed with an empty window");

    one(&b, &c, 0, t0 + 15500, LG_BREAKER_FAILURE, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_NONE,
           "one failure after closing does not re-open it");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 15500, &k3, &retry, &tr),
           LG_BREAKER_PASS, "closed: pass");
    lg_breaker_done(&b, &c, &k3, LG_BREAKER_SUCCESS, t0 + 15500, &tr);

    /* with no critical passes configured, open refuses everything */

    c.open_critical = 0;
    memset(&b, 0, sizeof(b));
    while (state_of(&b, &c, 0) == LG_BREAKER_CLOSED) {
        one(&b, &c, 0, 0, LG_BREAKER_FAILURE, &tr);
    }
    is_int(lg_breaker_admit(&b, &c, 1, 10, &k1, &retry, &tr),
           LG_BREAKER_REFUSE, "open_critical 0: critical refused too");
}


/* the clock is kept modulo 2^38 ms in the state word */

static void
test_breaker_wrap(void)
{
    int64_t                  retry, t0;
    lg_breaker_t             b;
    lg_breaker_conf_t        c;
    lg_breaker_ticket_t      k;
    lg_breaker_transition_t  tr;

    conf_breaker(&c);
    memset(&b, 0, sizeof(b));

    t0 = (INT64_C(1) << 38) - 1000;

    while (state_of(&b, &c, t0) == LG_BREAKER_CLOSED) {
        one(&b, &c, 0, t0, LG_BREAKER_FAILURE, &tr);
    }

    is_int(lg_breaker_admit(&b, &c, 0, t0 + 4000, &k, &retry, &tr),
           LG_BREAKER_REFUSE, "across 2^38 ms: still open after 4s");
    is_int(retry, 1000, "1s left");
    is_int(lg_breaker_admit(&b, &c, 0, t0 + 5000, &k, &retry, &tr),
           LG_BREAKER_PROBE, "across 2^38 ms: half-open after 5s");

    /* a stamp far in the "future" (before a wrap) reads as long ago */

    memset(&b, 0, sizeof(b));
    while (state_of(&b, &c, 5000000) == LG_BREAKER_CLOSED) {
        one(&b, &c, 0, 5000000, LG_BREAKER_FAILURE, &tr);
    }
    is_int(lg_breaker_admit(&b, &c, 0, 1000, &k, &retry, &tr),
           LG_BREAKER_PROBE, "a transition stamp 83 min ahead is stale");
}


/*
 * Many threads drive one breaker at the same simulated instant, through
 * BT_CYCLES cycles of closed -> open -> half-open -> closed: each
 * transition is reported by exactly one caller, and the probe and
 * critical limits hold exactly.
 */

#define BT_THREADS  4
#define BT_CYCLES   1000
#define BT_ROUNDS   60
#define BT_PROBES   3
#define BT_CYCLE_MS 100000

typedef struct {
    lg_breaker_t         b;
    lg_breaker_conf_t    c;
    pthread_barrier_t    barrier;
    int64_t              events[6];
    int64_t              probes;
    int64_t              critical;
    int64_t              passes;
    int64_t              bad_cycles;
    int64_t              arrived;
    int64_t              go;
} bt_breaker_t;


/*
 * A spinning barrier: threads leave it together, already running, which
 * a sleeping barrier does not give (the first thread woken would finish
 * a phase before the others are scheduled).
 */

static void
bt_sync(bt_breaker_t *m, int64_t *round)
{
    unsigned  spins;

    (*round)++;

    if (__atomic_add_fetch(&m->arrived, 1, __ATOMIC_SEQ_CST)
        == *round * BT_THREADS)
    {
        __atomic_store_n(&m->go, *round, __ATOMIC_SEQ_CST);
        return;
    }

    for (spins = 0; __atomic_load_n(&m->go, __ATOMIC_ACQUIRE) < *round;
         spins++)
    {
        if (spins % 1024 == 1023) {
            sched_yield();
        }
    }
}


static void
bt_count(bt_breaker_t *m, const lg_breaker_transition_t *tr)
{
    __atomic_add_fetch(&m->events[tr->event], 1, __ATOMIC_SEQ_CST);
}


static void *
bt_worker(void *arg)
{
    int                      i, n, cycle;
    int64_t                  retry, t0, now, ev[6], probes, critical, round;
    bt_breaker_t            *m;
    lg_breaker_ticket_t      t, held[BT_ROUNDS];
    lg_breaker_verdict_e     v;
    lg_breaker_transition_t  tr;

    m = arg;
    round = 0;

    for (cycle = 0; cycle < BT_CYCLES; cycle++) {
        t0 = (int64_t) cycle * BT_CYCLE_MS;

        for (i = 0; i < 6; i++) {
            ev[i] = __atomic_load_n(&m->events[i], __ATOMIC_SEQ_CST);
        }

        probes = __atomic_load_n(&m->probes, __ATOMIC_SEQ_CST);
        critical = __atomic_load_n(&m->critical, __ATOMIC_SEQ_CST);

        bt_sync(m, &round);

        /* closed: every request fails */

        for (i = 0; i < BT_ROUNDS; i++) {
            v = lg_breaker_admit(&m->b, &m->c, 0, t0, &t, &retry, &tr);
            bt_count(m, &tr);

            if (v == LG_BREAKER_PASS) {
                __atomic_add_fetch(&m->passes, 1, __ATOMIC_SEQ_CST);
                lg_breaker_done(&m->b, &m->c, &t, LG_BREAKER_FAILURE, t0,
                                &tr);
                bt_count(m, &tr);
            }
        }

        bt_sync(m, &round);

        /* after the cool-down everyone asks, nobody reports */

        now = t0 + m->c.cool_down_ms;
        n = 0;

        for (i = 0; i < BT_ROUNDS; i++) {
            v = lg_breaker_admit(&m->b, &m->c, i % 2, now, &t, &retry, &tr);
            bt_count(m, &tr);

            if (v == LG_BREAKER_PROBE) {
                __atomic_add_fetch(&m->probes, 1, __ATOMIC_SEQ_CST);
                held[n++] = t;

            } else if (v == LG_BREAKER_CRITICAL) {
                __atomic_add_fetch(&m->critical, 1, __ATOMIC_SEQ_CST);
            }
        }

        bt_sync(m, &round);

        /* every probe succeeds at once */

        for (i = 0; i < n; i++) {
            lg_breaker_done(&m->b, &m->c, &held[i], LG_BREAKER_SUCCESS,
                            now + 1, &tr);
            bt_count(m, &tr);
        }

        bt_sync(m, &round);

        /* one thread checks the cycle: one of each event, exact limits */

        if (pthread_barrier_wait(&m->barrier)
            == PTHREAD_BARRIER_SERIAL_THREAD)
        {
            if (m->events[LG_BREAKER_EVENT_OPENED] != ev[1] + 1
                || m->events[LG_BREAKER_EVENT_HALF_OPENED] != ev[2] + 1
                || m->events[LG_BREAKER_EVENT_CLOSED] != ev[3] + 1
                || m->events[LG_BREAKER_EVENT_REOPENED] != ev[4]
                || m->events[LG_BREAKER_EVENT_PROBES_LOST] != ev[5]
                || m->probes != probes + BT_PROBES
                || m->critical != critical + (int64_t) m->c.open_critical
                || state_of(&m->b, &m->c, now + 1) != LG_BREAKER_CLOSED)
            {
                m->bad_cycles++;
            }
        }
    }

    return NULL;
}


static void
test_breaker_threads(void)
{
    int            i;
    pthread_t      th[BT_THREADS];
    bt_breaker_t  *m;

    m = calloc(1, sizeof(bt_breaker_t));
    if (m == NULL) {
        ok(0, "calloc");
        return;
    }

    conf_breaker(&m->c);
    m->c.half_open_probes = BT_PROBES;
    m->c.open_critical = 2;

    pthread_barrier_init(&m->barrier, NULL, BT_THREADS);

    for (i = 0; i < BT_THREADS; i++) {
        pthread_create(&th[i], NULL, bt_worker, m);
    }

    for (i = 0; i < BT_THREADS; i++) {
        pthread_join(th[i], NULL);
    }

    pthread_barrier_destroy(&m->barrier);

    is_int(m->bad_cycles, 0, "threads: every one of %d cycles had one "
           "transition of each kind and exact probe / critical counts",
           BT_CYCLES);
    is_int(m->events[LG_BREAKER_EVENT_OPENED], BT_CYCLES,
           "threads: OPENED reported once a cycle");
    is_int(m->events[LG_BREAKER_EVENT_HALF_OPENED], BT_CYCLES,
           "threads: HALF_OPENED reported once a cycle");
    is_int(m->events[LG_BREAKER_EVENT_CLOSED], BT_CYCLES,
           "threads: CLOSED reported once a cycle");
    is_int(m->probes, (int64_t) BT_CYCLES * BT_PROBES,
           "threads: exactly the probe limit admitted each cycle");
    is_int(m->critical, (int64_t) BT_CYCLES * m->c.open_critical,
           "threads: exactly open_critical critical passes each cycle");
    ok(m->events[LG_BREAKER_EVENT_REOPENED] == 0
       && m->events[LG_BREAKER_EVENT_PROBES_LOST] == 0,
       "threads: no other transition");
    ok(m->passes >= (int64_t) BT_CYCLES * m->c.min_requests,
       "threads: each cycle opened after the window judged (%lld passes)",
       (long long) m->passes);

    free(m);
}


static void
test_brownout(void)
{
    char                 buf[LG_BROWNOUT_ENCODED_MAX];
    size_t               n;
    int64_t              retry;
    uint64_t             word;
    lg_brownout_t        b, d;
    lg_brownout_level_e  level;

    ok(lg_brownout_level_parse("off", 3, &level) == 0
       && level == LG_BROWNOUT_OFF, "off parses");
    ok(lg_brownout_level_parse("deferrable", 10, &level) == 0
       && level == LG_BROWNOUT_DEFERRABLE, "deferrable parses");
    ok(lg_brownout_level_parse("normal", 6, &level) == 0
       && level == LG_BROWNOUT_NORMAL, "normal parses");
    ok(lg_brownout_level_parse("critical", 8, &level) != 0,
       "critical is no brownout level");

    b.level = LG_BROWNOUT_DEFERRABLE;
    b.expires = 1000000;

    ok(lg_brownout_sheds(&b, LG_PRIORITY_DEFERRABLE, 400000, &retry)
       && retry == 600000, "deferrable level sheds deferrable, 600s left");
    ok(!lg_brownout_sheds(&b, LG_PRIORITY_NORMAL, 400000, &retry),
       "deferrable level lets normal through");
    ok(!lg_brownout_sheds(&b, LG_PRIORITY_CRITICAL, 400000, &retry),
       "deferrable level lets critical through");
    ok(!lg_brownout_sheds(&b, LG_PRIORITY_DEFERRABLE, 1000000, &retry),
       "expired at its expiry");
    is_int(lg_brownout_level(&b, 1000000), LG_BROWNOUT_OFF,
           "the level in force after expiry: off");

    b.level = LG_BROWNOUT_NORMAL;
    b.expires = 0;
    ok(lg_brownout_sheds(&b, LG_PRIORITY_NORMAL, 5, &retry) && retry == 0,
       "normal level sheds normal; no expiry: no estimate");
    ok(lg_brownout_sheds(&b, LG_PRIORITY_DEFERRABLE, 5, &retry),
       "normal level sheds deferrable");
    ok(!lg_brownout_sheds(&b, LG_PRIORITY_CRITICAL, 5, &retry),
       "critical is never shed");
    is_int(lg_brownout_level(&b, INT64_MAX), LG_BROWNOUT_NORMAL,
           "no expiry: until lifted");

    b.level = LG_BROWNOUT_OFF;
    ok(!lg_brownout_sheds(&b, LG_PRIORITY_DEFERRABLE, 5, &retry),
       "off sheds nothing");

    /* the shared-memory word */

    b.level = LG_BROWNOUT_DEFERRABLE;
    b.expires = 1767225600000LL;
    lg_brownout_store(&word, &b);
    lg_brownout_load(&word, &d);
    ok(d.level == b.level && d.expires == b.expires,
       "one word round-trips level and expiry");
    word = 0;
    lg_brownout_load(&word, &d);
    ok(d.level == LG_BROWNOUT_OFF && d.expires == 0, "a zero word is off");
    lg_brownout_unpack(3, &d);
    is_int(d.level, LG_BROWNOUT_OFF, "an impossible level reads as off");

    /* Redis */

    n = lg_brownout_encode(&b, buf, sizeof(buf));
    is_str(buf, "deferrable 1767225600000", "encoded value");
    is_int(n, 24, "its length");
    ok(lg_brownout_decode(buf, n, &d) == 0 && d.level == b.level
       && d.expires == b.expires, "decodes back");
    is_int(lg_brownout_encode(&b, buf, 10), 0, "too small a buffer: 0");

    ok(lg_brownout_decode("normal 0", 8, &d) == 0
       && d.level == LG_BROWNOUT_NORMAL && d.expires == 0,
       "normal without expiry");
    ok(lg_brownout_decode("off 0", 5, &d) == 0 && d.level == LG_BROWNOUT_OFF,
       "off");

    ok(lg_brownout_decode("", 0, &d) != 0, "empty refused");
    ok(lg_brownout_decode("normal", 6, &d) != 0, "no expiry refused");
    ok(lg_brownout_decode("normal ", 7, &d) != 0, "empty expiry refused");
    ok(lg_brownout_decode("normal  5", 9, &d) != 0, "two spaces refused");
    ok(lg_brownout_decode("normal 05", 9, &d) != 0, "leading zero refused");
    ok(lg_brownout_decode("normal 5x", 9, &d) != 0, "non-digit refused");
    ok(lg_brownout_decode("normal -5", 9, &d) != 0, "negative refused");
    ok(lg_brownout_decode("normal 1234567890123456", 23, &d) != 0,
       "16 digits refused");
    ok(lg_brownout_decode("critical 5", 10, &d) != 0, "unknown level refused");

    b.expires = 0;
    is_int(lg_brownout_px(&b, 100), 0, "no expiry: no PX");
    b.expires = 900000;
    is_int(lg_brownout_px(&b, 0), 900000, "PX: 15 minutes left");
    is_int(lg_brownout_px(&b, 900000), -1, "expired: -1");
}


static void
test_protect(void)
{
    int                      i;
    int64_t                  retry;
    lg_brownout_t            brown;
    lg_breaker_t             b;
    lg_breaker_conf_t        bc;
    lg_budget_api_t          api;
    lg_budget_conf_t         uc;
    lg_protect_ticket_t      t[8], x;
    lg_budget_partner_t      p;
    lg_protect_request_t     req;
    lg_breaker_snapshot_t    snap;
    lg_protect_verdict_e     v;
    lg_breaker_transition_t  tr;

    memset(&b, 0, sizeof(b));
    memset(&api, 0, sizeof(api));
    memset(&p, 0, sizeof(p));
    memset(&req, 0, sizeof(req));

    conf_breaker(&bc);
    (void) lg_budget_conf_init(&uc, 4, 1, 2);

    brown.level = LG_BROWNOUT_DEFERRABLE;
    brown.expires = 60000;

    req.brownout = &brown;
    req.wall_ms = 30000;
    req.breaker = &b;
    req.breaker_conf = &bc;
    req.budget_conf = &uc;
    req.api = &api;
    req.partner = &p;
    req.partner_max = 2;

    req.priority = LG_PRIORITY_DEFERRABLE;
    v = lg_protect_admit(&req, &x, &retry, &tr);
    is_int(v, LG_PROTECT_DEGRADED, "brownout: deferrable degraded");
    is_int(retry, 30000, "retry after the 30s the brownout has left");
    ok(api.in_flight == 0 && p.in_flight == 0, "a degraded one holds nothing");
    is_str(lg_protect_verdict_word(v), "degraded", "decision word");
    is_int(lg_protect_verdict_status(v), 503, "503");

    req.priority = LG_PRIORITY_NORMAL;
    is_int(lg_protect_admit(&req, &t[0], &retry, &tr), LG_PROTECT_ADMITTED,
           "normal admitted");
    is_int(lg_protect_admit(&req, &t[1], &retry, &tr), LG_PROTECT_ADMITTED,
           "second normal admitted");
    v = lg_protect_admit(&req, &x, &retry, &tr);
    is_int(v, LG_PROTECT_CONCURRENCY_LIMITED,
           "partner cap 2: the third is 429");
    is_str(lg_protect_verdict_word(v), "concurrency-limited", "decision word");
    is_int(lg_protect_verdict_status(v), 429, "429");

    req.partner = NULL;
    is_int(lg_protect_admit(&req, &t[2], &retry, &tr), LG_PROTECT_ADMITTED,
           "without the partner: admitted (3 of max - reserve 3)");
    v = lg_protect_admit(&req, &x, &retry, &tr);
    is_int(v, LG_PROTECT_SATURATED, "then saturated");
    is_int(retry, 0, "saturated: no estimate, the gateway's default");
    is_str(lg_protect_verdict_word(v), "odoo-saturated", "decision word");

    req.priority = LG_PRIORITY_CRITICAL;
    is_int(lg_protect_admit(&req, &t[3], &retry, &tr), LG_PROTECT_ADMITTED,
           "critical takes the reserved slot");

    for (i = 0; i < 4; i++) {
        is_int(lg_protect_release(&t[i], LG_BREAKER_SUCCESS, 100, &tr), 0,
               "release %d", i);
    }
    is_int(lg_protect_release(&t[0], LG_BREAKER_SUCCESS, 100, &tr), 0,
           "a second release is a no-op");
    ok(api.in_flight == 0 && api.critical == 0 && p.in_flight == 0,
       "every counter back to 0");
    lg_breaker_read(&b, &bc, 100, &snap);
    is_int(snap.total, 4, "the breaker saw 4 outcomes (not 5)");

    /* open the breaker through releases */

    req.partner = &p;
    req.priority = LG_PRIORITY_NORMAL;
    req.partner_max = 0;

    for (i = 0; i < 40 && tr.event != LG_BREAKER_EVENT_OPENED; i++) {
        if (lg_protect_admit(&req, &x, &retry, &tr) == LG_PROTECT_ADMITTED) {
            lg_protect_release(&x, LG_BREAKER_FAILURE, 200, &tr);
        }
    }
    is_int(tr.event, LG_BREAKER_EVENT_OPENED,
           "failures reported at release open the breaker");

    req.now_ms = 1200;
    v = lg_protect_admit(&req, &x, &retry, &tr);
    is_int(v, LG_PROTECT_UNAVAILABLE, "open: normal unavailable");
    is_int(retry, 4000, "retry after the cool-down left");
    is_str(lg_protect_verdict_word(v), "odoo-unavailable", "decision word");
    is_int(api.in_flight, 0, "refused by the breaker: no slot taken");

    /* the half-open probe is cancelled when the budget refuses */

    req.now_ms = 200 + bc.cool_down_ms;
    req.partner_max = 1;
    p.in_flight = 1;    /* the partner already holds its one slot */

    v = lg_protect_admit(&req, &x, &retry, &tr);
    is_int(v, LG_PROTECT_CONCURRENCY_LIMITED,
           "probe refused by the partner cap");
    is_int(tr.event, LG_BREAKER_EVENT_HALF_OPENED,
           "the half-open move is still reported");
    lg_breaker_read(&b, &bc, req.now_ms, &snap);
    ok(snap.state == LG_BREAKER_HALF_OPEN && snap.probes == 0,
       "the probe slot was given back");

    p.in_flight = 0;
    is_int(lg_protect_admit(&req, &x, &retry, &tr), LG_PROTECT_ADMITTED,
           "the next request is the probe");
    is_int(tr.event, LG_BREAKER_EVENT_NONE, "no second half-open event");
    lg_protect_release(&x, LG_BREAKER_SUCCESS, req.now_ms + 10, &tr);
    is_int(tr.event, LG_BREAKER_EVENT_CLOSED, "probe success closes it");
    ok(api.in_flight == 0 && p.in_flight == 0, "counters back to 0");

    /* no breaker, no budget: everything passes but the brownout */

    memset(&req, 0, sizeof(req));
    req.priority = LG_PRIORITY_DEFERRABLE;
    is_int(lg_protect_admit(&req, &x, &retry, &tr), LG_PROTECT_ADMITTED,
           "nothing configured: admitted");
    is_int(lg_protect_release(&x, LG_BREAKER_SUCCESS, 0, &tr), 0,
           "and released");
}


/* what a worker that died held is taken back, never below 0 */

static void
test_budget_reclaim(void)
{
    int64_t  counter;

    counter = 5;
    is_int(lg_budget_reclaim(&counter, 3), 3, "reclaim 3 of 5");
    is_int(counter, 2, "2 left");
    is_int(lg_budget_reclaim(&counter, 4), 2, "reclaim 4 of 2 takes 2");
    is_int(counter, 0, "the counter stops at 0");
    is_int(lg_budget_reclaim(&counter, 1), 0, "nothing left to take");
    is_int(lg_budget_reclaim(&counter, 0), 0, "reclaim 0");
    is_int(lg_budget_reclaim(&counter, -2), 0, "a negative count is none");
    is_int(counter, 0, "still 0");
}


/* a policy that protects one of its two APIs */

static const char  lg_protect_policy[] =
    "{\"scopes\": {\"r\": \"\"},\n"
    " \"partners\": {\n"
    "   \"bulk\": {\"scopes\": [\"r\"], \"api_keys\": [],\n"
    "            \"mtls\": {\"subjects\": [\"CN=bulk\"]},\n"
    "            \"max_in_flight\": 2, \"priority_ceiling\": \"normal\"},\n"
    "   \"carrier\": {\"scopes\": [\"r\"], \"api_keys\": [],\n"
    "               \"mtls\": {\"subjects\": [\"CN=carrier\"]}}},\n"
    " \"apis\": {\n"
    "   \"shipments\": {\n"
    "     \"odoo\": {\"max_in_flight\": 8, \"critical_reserve\": \"25%\",\n"
    "              \"deferrable_cap\": \"50%\", \"max_wait\": \"300ms\",\n"
    "              \"retry_after\": \"1500ms\",\n"
    "              \"breaker\": {\"window\": \"2s\", \"buckets\": 4}},\n"
    "     \"versions\": {\"v1\": {\"upstream_prefix\": \"\"},\n"
    "                  \"v2\": {\"upstream_prefix\": \"\"}},\n"
    "     \"routes\": [\n"
    "       {\"id\": \"create\", \"method\": \"POST\", \"path\": \"/s\",\n"
    "        \"scopes\": [], \"priority\": \"critical\"},\n"
    "       {\"id\": \"get\", \"method\": \"GET\", \"path\": \"/s/{id}\",\n"
    "        \"scopes\": []},\n"
    "       {\"id\": \"report\", \"method\": \"GET\", \"path\": \"/r\",\n"
    "        \"scopes\": [], \"priority\": \"deferrable\",\n"
    "        \"breaker_group\": \"reports\"}]},\n"
    "   \"catalog\": {\n"
    "     \"versions\": {\"v1\": {\"upstream_prefix\": \"\"}},\n"
    "     \"routes\": [{\"id\": \"cat\", \"method\": \"GET\",\n"
    "                 \"path\": \"/c\", \"scopes\": []}]}}}\n";


static const lg_route_t *
route_of(const lg_policy_t *p, const char *id)
{
    size_t  i;

    for (i = 0; i < p->nroutes; i++) {
        if (strcmp(p->routes[i]->id.data, id) == 0) {
            return p->routes[i];
        }
    }

    return NULL;
}


static const lg_partner_t *
partner_of(const lg_policy_t *p, const char *id)
{
    size_t  i;

    for (i = 0; i < p->npartners; i++) {
        if (strcmp(p->partners[i].id.data, id) == 0) {
            return &p->partners[i];
        }
    }

    return NULL;
}


/* the compiled policy: budgets, classes, ceilings, breakers */

static void
test_policy(const lg_policy_t *p)
{
    size_t             i, b;
    const lg_api_t    *shipments, *catalog;
    const lg_odoo_t   *odoo;
    const lg_route_t  *create, *get, *report;

    shipments = catalog = NULL;

    for (i = 0; i < p->napis; i++) {
        if (strcmp(p->apis[i].name.data, "shipments") == 0) {
            shipments = &p->apis[i];

        } else {
            catalog = &p->apis[i];
        }
    }

    odoo = lg_protect_odoo(p, shipments);

    if (!ok(odoo != NULL, "shipments has an odoo section")) {
        return;
    }

    is_int(odoo->budget.max_in_flight, 8, "max_in_flight 8");
    is_int(odoo->budget.critical_reserve, 2, "25%% of 8: 2 reserved");
    is_int(odoo->budget.deferrable_cap, 4, "50%% of 8: a cap of 4");
    is_int(odoo->max_wait, 300, "max_wait 300ms");
    is_int(odoo->retry_after, 2, "retry_after 1500ms: 2 s, rounded up");
    ok(odoo->has_breaker, "the breaker is on by default");
    is_int(odoo->breaker.bucket_ms, 500, "a window of 2s in 4 buckets");
    is_int(odoo->breaker.min_requests, 20, "other settings: the defaults");
    ok(lg_protect_odoo(p, catalog) == NULL, "catalog has none");

    create = route_of(p, "create");
    get = route_of(p, "get");
    report = route_of(p, "report");

    is_int(lg_protect_priority(p, create, partner_of(p, "carrier")),
           LG_PRIORITY_CRITICAL, "create is critical");
    is_int(lg_protect_priority(p, create, partner_of(p, "bulk")),
           LG_PRIORITY_NORMAL, "for bulk (ceiling normal) it is normal");
    is_int(lg_protect_priority(p, report, partner_of(p, "bulk")),
           LG_PRIORITY_DEFERRABLE, "a ceiling never raises a class");
    is_int(lg_protect_priority(p, get, NULL), LG_PRIORITY_NORMAL,
           "the default class is normal");
    is_int(p->protect->partner_max[partner_of(p, "bulk")->index], 2,
           "bulk's max_in_flight");
    is_int(p->protect->partner_max[partner_of(p, "carrier")->index], 0,
           "carrier: counted, no cap");

    is_int(p->protect->nbreakers, 3, "a breaker per version and one group");
    b = lg_protect_breaker(p, get, &shipments->versions[1]);
    is_str(p->protect->breakers[b].key.data, "breaker:shipments:v:v2",
           "get in v2: the v2 breaker");
    b = lg_protect_breaker(p, get, &shipments->versions[0]);
    is_str(p->protect->breakers[b].key.data, "breaker:shipments:v:v1",
           "get in v1: the v1 breaker");
    b = lg_protect_breaker(p, report, &shipments->versions[1]);
    is_str(p->protect->breakers[b].key.data, "breaker:shipments:g:reports",
           "report: its group's breaker in every version");
    is_int(lg_protect_breaker(p, route_of(p, "cat"), &catalog->versions[0]),
           LG_PROTECT_NO_BREAKER, "catalog: no breaker");
}


/* the status view: valid JSON with the numbers, cut like snprintf() */

static void
test_status(const lg_policy_t *p)
{
    char                   full[8192], cut[8192];
    size_t                 i, len, n, bad, apii;
    json_t                *j, *v;
    int64_t                partners[2];
    uint64_t               tr[3 * LG_PROTECT_EVENTS];
    json_error_t           jerr;
    lg_budget_snapshot_t   apis[2];
    lg_breaker_snapshot_t  brk[3];
    lg_protect_status_t    st;

    memset(&st, 0, sizeof(st));
    memset(apis, 0, sizeof(apis));
    memset(brk, 0, sizeof(brk));
    memset(tr, 0, sizeof(tr));

    apii = strcmp(p->apis[0].name.data, "shipments") == 0 ? 0 : 1;

    apis[apii].in_flight = 5;
    apis[apii].critical = 1;
    apis[apii].normal = 2;
    apis[apii].deferrable = 2;
    partners[0] = 2;
    partners[1] = 3;
    brk[1].state = LG_BREAKER_OPEN;
    brk[1].failures = 12;
    brk[1].total = 20;
    tr[1 * LG_PROTECT_EVENTS + LG_BREAKER_EVENT_OPENED] = 3;

    st.policy = p;
    st.apis = apis;
    st.partners = partners;
    st.breakers = brk;
    st.transitions = tr;
    st.brownout.level = LG_BROWNOUT_DEFERRABLE;
    st.brownout.expires = 1000000 + 90500;
    st.brownout_source = "zone";
    st.now = 1000000;
    st.reclaimed = 7;

    len = lg_protect_status_json(&st, full, sizeof(full));
    ok(len < sizeof(full), "the view fits (%zu bytes)", len);

    j = json_loads(full, 0, &jerr);

    if (!ok(j != NULL, "the view is JSON")) {
        printf("# %s: %s\n", jerr.text, full);
        return;
    }

    v = json_object_get(j, "brownout");
    is_str(json_string_value(json_object_get(v, "level")), "deferrable",
           "brownout level");
    is_int(json_integer_value(json_object_get(v, "retry_after")), 91,
           "brownout: 90.5 s left, Retry-After 91");

    v = json_array_get(json_object_get(j, "apis"), 0);
    is_int(json_array_size(json_object_get(j, "apis")), 1,
           "one API with a budget");
    is_int(json_integer_value(json_object_get(v, "in_flight")), 5,
           "in flight");
    is_int(json_integer_value(json_object_get(v, "deferrable_cap")), 4,
           "its cap");

    v = json_object_get(j, "partners");
    is_int(json_array_size(v), 2, "every partner");

    for (i = 0; i < 2; i++) {
        if (strcmp(json_string_value(json_object_get(json_array_get(v, i),
                                                     "partner")), "bulk")
            == 0)
        {
            is_int(json_integer_value(json_object_get(json_array_get(v, i),
                                                      "max_in_flight")), 2,
                   "bulk's cap");
        }
    }

    v = json_array_get(json_object_get(j, "breakers"), 1);
    is_str(json_string_value(json_object_get(v, "state")), "open",
           "breaker 1 open");
    is_int(json_integer_value(json_object_get(json_object_get(v,
                                                "transitions"), "opened")),
           3, "its transitions");
    is_str(json_string_value(json_object_get(json_array_get(
               json_object_get(j, "breakers"), 2), "group")), "reports",
           "the group's breaker");
    is_int(json_integer_value(json_object_get(j, "reclaimed")), 7,
           "reclaimed slots");

    json_decref(j);

    /* every shorter buffer: the same length back, a terminated prefix */

    bad = 0;

    for (i = 0; i <= len; i++) {
        memset(cut, 'x', sizeof(cut));
        n = lg_protect_status_json(&st, cut, i);

        if (n != len
            || (i > 0 && (strlen(cut) >= i
                          || strncmp(cut, full, strlen(cut)) != 0)))
        {
            bad++;
        }
    }

    is_int(bad, 0, "cut at every size: snprintf()'s contract");
    is_int(lg_protect_status_json(&st, NULL, 0), len, "measured with NULL");

    /* an expired brownout shows as off */

    st.now = st.brownout.expires;
    (void) lg_protect_status_json(&st, full, sizeof(full));
    like_str(full, "{\"brownout\":{\"level\":\"off\",\"expires\":null",
             "an expired brownout is off");
}


int
main(void)
{
    const char   *dir, *file;
    lg_error_t    err;
    lg_policy_t  *p;

    test_priority();
    test_budget_conf();
    test_budget();
    test_budget_threads();
    test_budget_reclaim();
    test_breaker_conf();
    test_breaker_window();
    test_breaker_states();
    test_breaker_wrap();
    test_breaker_threads();
    test_brownout();
    test_protect();

    dir = lg_fixture_dir();
    file = lg_fixture_write(dir, "protect.json", lg_protect_policy);

    p = lg_policy_load(file, &err);

    if (ok(p != NULL && p->protect != NULL, "a protected policy compiles")) {
        test_policy(p);
        test_status(p);
        lg_policy_free(p);

    } else {
        printf("# %s\n", err.text);
    }

    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
