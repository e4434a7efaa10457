
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdio.h>
#include <string.h>

#include "lg_atomic.h"
#include "lg_protect.h"


/* expiries up to 2^62 ms fit the packed word next to the level */
#define LG_BROWNOUT_EXPIRES_MAX  ((INT64_C(1) << 62) - 1)

/* expiries in the Redis value: up to 15 digits (year 33658) */
#define LG_BROWNOUT_DIGITS_MAX   15


typedef struct {
    const char  *name;
    size_t       len;
} lg_protect_name_t;


static int lg_protect_lookup(const lg_protect_name_t *names, size_t n,
    const char *s, size_t len);


static const lg_protect_name_t  lg_priority_names[] = {
    { "deferrable", sizeof("deferrable") - 1 },
    { "normal", sizeof("normal") - 1 },
    { "critical", sizeof("critical") - 1 }
};

static const lg_protect_name_t  lg_brownout_level_names[] = {
    { "off", sizeof("off") - 1 },
    { "deferrable", sizeof("deferrable") - 1 },
    { "normal", sizeof("normal") - 1 }
};

static const char  *lg_protect_verdict_words[] = {
    "allow",
    "degraded",
    "odoo-unavailable",
    "concurrency-limited",
    "odoo-saturated"
};


int
lg_priority_parse(const char *s, size_t len, lg_priority_e *priority)
{
    int  i;

    i = lg_protect_lookup(lg_priority_names, 3, s, len);

    if (i < 0) {
        return -1;
    }

    *priority = (lg_priority_e) i;

    return 0;
}


const char *
lg_priority_name(lg_priority_e priority)
{
    if ((unsigned) priority > LG_PRIORITY_CRITICAL) {
        return "unknown";
    }

    return lg_priority_names[priority].name;
}


lg_priority_e
lg_priority_ceiling(lg_priority_e route, lg_priority_e ceiling)
{
    return route < ceiling ? route : ceiling;
}


int
lg_brownout_level_parse(const char *s, size_t len, lg_brownout_level_e *level)
{
    int  i;

    i = lg_protect_lookup(lg_brownout_level_names, 3, s, len);

    if (i < 0) {
        return -1;
    }

    *level = (lg_brownout_level_e) i;

    return 0;
}


const char *
lg_brownout_level_name(lg_brownout_level_e level)
{
    if ((unsigned) level > LG_BROWNOUT_NORMAL) {
        return "unknown";
    }

    return lg_brownout_level_names[level].name;
}


lg_brownout_level_e
lg_brownout_level(const lg_brownout_t *b, int64_t now)
{
    if (b->expires != 0 && now >= b->expires) {
        return LG_BROWNOUT_OFF;
    }

    return b->level;
}


int
lg_brownout_sheds(const lg_brownout_t *b, lg_priority_e priority,
    int64_t now, int64_t *retry_after_ms)
{
    lg_brownout_level_e  level;

    *retry_after_ms = 0;

    level = lg_brownout_level(b, now);

    /*
     * Ranks line up: level "deferrable" (1) sheds rank 0, level "normal"
     * (2) ranks 0 and 1; "critical" (2) is never below a level.
     */

    if ((int) priority >= (int) level) {
        return 0;
    }

    if (b->expires != 0) {
        *retry_after_ms = b->expires - now;
    }

    return 1;
}


uint64_t
lg_brownout_pack(const lg_brownout_t *b)
{
    int64_t  expires;

    expires = b->expires;

    if (expires < 0 || expires > LG_BROWNOUT_EXPIRES_MAX) {
        /* not a time a brownout can name: parsed values never are */
        expires = 0;
    }

    return (uint64_t) expires << 2 | ((uint64_t) b->level & 0x3);
}


void
lg_brownout_unpack(uint64_t word, lg_brownout_t *b)
{
    b->level = (lg_brownout_level_e) (word & 0x3);
    b->expires = (int64_t) (word >> 2);

    if (b->level > LG_BROWNOUT_NORMAL) {
        b->level = LG_BROWNOUT_OFF;
    }
}


void
lg_brownout_store(uint64_t *word, const lg_brownout_t *b)
{
    lg_atomic_store_word(word, lg_brownout_pack(b));
}


void
lg_brownout_load(const uint64_t *word, lg_brownout_t *b)
{
    lg_brownout_unpack(lg_atomic_load_word(word), b);
}


size_t
lg_brownout_encode(const lg_brownout_t *b, char *buf, size_t size)
{
    int  n;

    if ((unsigned) b->level > LG_BROWNOUT_NORMAL
        || b->expires < 0 || b->expires > LG_BROWNOUT_EXPIRES_MAX)
    {
        return 0;
    }

    n = snprintf(buf, size, "%s %lld", lg_brownout_level_name(b->level),
                 (long long) b->expires);

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    return n;
}


int
lg_brownout_decode(const char *s, size_t len, lg_brownout_t *b)
{
    size_t               i, sp, digits;
    int64_t              expires;
    lg_brownout_level_e  level;

    for (sp = 0; sp < len && s[sp] != ' '; sp++) { /* void */ }

    if (sp == len || lg_brownout_level_parse(s, sp, &level) != 0) {
        return -1;
    }

    digits = len - sp - 1;

    if (digits == 0 || digits > LG_BROWNOUT_DIGITS_MAX
        || (digits > 1 && s[sp + 1] == '0'))
    {
        return -1;
    }

    expires = 0;

    for (i = sp + 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        expires = expires * 10 + (s[i] - '0');
    }

    b->level = level;
    b->expires = expires;

    return 0;
}


int64_t
lg_brownout_px(const lg_brownout_t *b, int64_t now)
{
    if (b->expires == 0) {
        return 0;
    }

    if (b->expires <= now) {
        return -1;
    }

    return b->expires - now;
}


lg_protect_verdict_e
lg_protect_admit(const lg_protect_request_t *req, lg_protect_ticket_t *ticket,
    int64_t *retry_after_ms, lg_breaker_transition_t *tr)
{
    lg_breaker_verdict_e  bv;
    lg_budget_verdict_e   uv;

    *retry_after_ms = 0;

    tr->event = LG_BREAKER_EVENT_NONE;
    tr->failures = 0;
    tr->total = 0;

    ticket->budget.held = 0;
    ticket->breaker = NULL;
    ticket->breaker_conf = NULL;
    ticket->breaker_held = 0;

    /* the brownout costs nothing to ask and holds nothing */

    if (req->brownout != NULL
        && lg_brownout_sheds(req->brownout, req->priority, req->wall_ms,
                             retry_after_ms))
    {
        return LG_PROTECT_DEGRADED;
    }

    if (req->breaker != NULL) {
        bv = lg_breaker_admit(req->breaker, req->breaker_conf,
                              req->priority == LG_PRIORITY_CRITICAL,
                              req->now_ms, &ticket->breaker_ticket,
                              retry_after_ms, tr);

        if (bv == LG_BREAKER_REFUSE) {
            return LG_PROTECT_UNAVAILABLE;
        }

        ticket->breaker = req->breaker;
        ticket->breaker_conf = req->breaker_conf;
        ticket->breaker_held = 1;
    }

    if (req->budget_conf == NULL) {
        return LG_PROTECT_ADMITTED;
    }

    uv = lg_budget_admit(req->budget_conf, req->api, req->partner,
                         req->partner_max, req->priority, &ticket->budget);

    if (uv == LG_BUDGET_ADMITTED) {
        return LG_PROTECT_ADMITTED;
    }

    if (ticket->breaker_held) {
        /*
         * A probe or a critical pass that never reaches Odoo gives its
         * breaker slot back without an outcome.  Cancelling a slot makes
         * no transition, so *tr (which may hold the half-open move this
         * admission made) stays as it is.
         */

        lg_breaker_transition_t  none;

        lg_breaker_done(ticket->breaker, ticket->breaker_conf,
                        &ticket->breaker_ticket, LG_BREAKER_CANCEL,
                        req->now_ms, &none);

        ticket->breaker_held = 0;
    }

    return uv == LG_BUDGET_PARTNER_FULL ? LG_PROTECT_CONCURRENCY_LIMITED
                                        : LG_PROTECT_SATURATED;
}


int
lg_protect_release(lg_protect_ticket_t *ticket, lg_breaker_outcome_e outcome,
    int64_t now_ms, lg_breaker_transition_t *tr)
{
    int  rc;

    tr->event = LG_BREAKER_EVENT_NONE;
    tr->failures = 0;
    tr->total = 0;

    /* the slot first: the breaker's bookkeeping needs no Odoo slot */

    rc = lg_budget_release(&ticket->budget);

    if (ticket->breaker_held) {
        ticket->breaker_held = 0;

        lg_breaker_done(ticket->breaker, ticket->breaker_conf,
                        &ticket->breaker_ticket, outcome, now_ms, tr);
    }

    return rc;
}


const char *
lg_protect_verdict_word(lg_protect_verdict_e verdict)
{
    if ((unsigned) verdict > LG_PROTECT_SATURATED) {
        return "unknown";
    }

    return lg_protect_verdict_words[verdict];
}


int
lg_protect_verdict_status(lg_protect_verdict_e verdict)
{
    switch (verdict) {

    case LG_PROTECT_ADMITTED:
        return 0;

    case LG_PROTECT_CONCURRENCY_LIMITED:
        return 429;

    default:
        return 503;
    }
}


static int
lg_protect_lookup(const lg_protect_name_t *names, size_t n, const char *s,
    size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (names[i].len == len && memcmp(names[i].name, s, len) == 0) {
            return (int) i;
        }
    }

    return -1;
}
