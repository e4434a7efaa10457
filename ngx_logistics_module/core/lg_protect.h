
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_PROTECT_H_INCLUDED_
#define _LG_PROTECT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_budget.h"
#include "lg_breaker.h"


/*
 * "Protect Odoo": the priority class of a request, the brownout level,
 * and one admission that asks, in order, the brownout, the circuit
 * breaker (lg_breaker.h) and the in-flight budget (lg_budget.h), and
 * gives back what it took when a later one refuses.
 */


/* "critical", "normal", "deferrable" */
int lg_priority_parse(const char *s, size_t len, lg_priority_e *priority);
const char *lg_priority_name(lg_priority_e priority);

/* a partner's ceiling: its critical routes count as normal, etc. */
lg_priority_e lg_priority_ceiling(lg_priority_e route, lg_priority_e ceiling);


/*
 * The brownout: an operator sheds a class on every node at once.  The
 * level names the highest class shed: "deferrable" sheds deferrable
 * requests, "normal" sheds normal and deferrable ones; critical
 * requests are never shed.  It ends at "expires" (ms since the epoch,
 * the wall clock, since nodes share it) or, with expires 0, when lifted.
 */

typedef enum {
    LG_BROWNOUT_OFF = 0,
    LG_BROWNOUT_DEFERRABLE,
    LG_BROWNOUT_NORMAL
} lg_brownout_level_e;


typedef struct {
    lg_brownout_level_e  level;
    int64_t              expires;
} lg_brownout_t;


/* "off", "deferrable", "normal" */
int lg_brownout_level_parse(const char *s, size_t len,
    lg_brownout_level_e *level);
const char *lg_brownout_level_name(lg_brownout_level_e level);

/* the level in force at "now" (off once expired) */
lg_brownout_level_e lg_brownout_level(const lg_brownout_t *b, int64_t now);

/*
 * 1 if the brownout refuses a request of this class at "now", with
 * *retry_after_ms the time left (0 when it has no expiry).
 */
int lg_brownout_sheds(const lg_brownout_t *b, lg_priority_e priority,
    int64_t now, int64_t *retry_after_ms);

/*
 * In shared memory (one node, or a node's copy of the Redis value) the
 * brownout is one 64-bit word: level in the 2 low bits, expiry above, so
 * workers read and write it whole with one atomic operation.
 */
uint64_t lg_brownout_pack(const lg_brownout_t *b);
void lg_brownout_unpack(uint64_t word, lg_brownout_t *b);
void lg_brownout_store(uint64_t *word, const lg_brownout_t *b);
void lg_brownout_load(const uint64_t *word, lg_brownout_t *b);

/*
 * In Redis: one key for the whole cluster of gateways,
 *
 *   SET lg:brownout "<level> <expires>" [PX <ms left>]   (or DEL to lift)
 *
 * e.g. "deferrable 1767225600000".  The value carries the expiry so a
 * reader computes Retry-After without a PTTL; PX lets Redis drop it on
 * time even if no gateway is running.  A missing key is "off".
 */

#define LG_BROWNOUT_REDIS_KEY      "lg:brownout"
#define LG_BROWNOUT_ENCODED_MAX    32

/* writes the value (NUL-terminated); returns its length, 0 if too small */
size_t lg_brownout_encode(const lg_brownout_t *b, char *buf, size_t size);

/* parses a value; -1 on anything but the exact form encode writes */
int lg_brownout_decode(const char *s, size_t len, lg_brownout_t *b);

/*
 * The PX argument for SET: ms left (>= 1), 0 for no PX (no expiry), -1
 * when it has already expired (then DEL, or nothing, is the command).
 */
int64_t lg_brownout_px(const lg_brownout_t *b, int64_t now);


/* one request's admission */

typedef struct {
    lg_priority_e             priority;      /* after the ceiling */

    const lg_brownout_t      *brownout;      /* NULL: none */
    int64_t                   wall_ms;       /* ms since the epoch */

    lg_breaker_t             *breaker;       /* NULL: no breaker */
    const lg_breaker_conf_t  *breaker_conf;
    int64_t                   now_ms;        /* the breaker's clock */

    const lg_budget_conf_t   *budget_conf;   /* NULL: no budget */
    lg_budget_api_t          *api;
    lg_budget_partner_t      *partner;       /* NULL: not counted */
    int64_t                   partner_max;   /* 0: no cap */
} lg_protect_request_t;


typedef enum {
    LG_PROTECT_ADMITTED = 0,
    LG_PROTECT_DEGRADED,             /* 503 degraded (brownout) */
    LG_PROTECT_UNAVAILABLE,          /* 503 odoo-unavailable (breaker) */
    LG_PROTECT_CONCURRENCY_LIMITED,  /* 429 concurrency-limited */
    LG_PROTECT_SATURATED             /* 503 odoo-saturated */
} lg_protect_verdict_e;


typedef struct {
    lg_budget_ticket_t        budget;
    lg_breaker_ticket_t       breaker_ticket;
    lg_breaker_t             *breaker;
    const lg_breaker_conf_t  *breaker_conf;
    unsigned                  breaker_held:1;
} lg_protect_ticket_t;


/*
 * Decides one request.  LG_PROTECT_ADMITTED leaves the ticket holding a
 * budget slot and a breaker ticket, to be given to lg_protect_release()
 * when the upstream is done; any refusal holds nothing.
 * *retry_after_ms: time left of a brownout or a breaker's cool-down, 0
 * when the gateway has no estimate (it then uses its configured
 * default).  *tr: a breaker transition this call made, to log and count.
 */
lg_protect_verdict_e lg_protect_admit(const lg_protect_request_t *req,
    lg_protect_ticket_t *ticket, int64_t *retry_after_ms,
    lg_breaker_transition_t *tr);

/*
 * Gives everything back and tells the breaker how the request ended.
 * Safe to call again (then a no-op); returns -1 when the budget found a
 * counter already at 0.
 */
int lg_protect_release(lg_protect_ticket_t *ticket,
    lg_breaker_outcome_e outcome, int64_t now_ms,
    lg_breaker_transition_t *tr);

/* "allow", "degraded", "odoo-unavailable", ... (the decision words) */
const char *lg_protect_verdict_word(lg_protect_verdict_e verdict);

/* 503, 429, or 0 for LG_PROTECT_ADMITTED */
int lg_protect_verdict_status(lg_protect_verdict_e verdict);


#endif /* _LG_PROTECT_H_INCLUDED_ */
