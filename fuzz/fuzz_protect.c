
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: the input is a breaker and budget configuration
 * followed by a program of admissions, releases, clock steps and
 * brownout values.  One thread runs it, so the counters must equal, at
 * every step, what the tickets held say they should; a wrong count or a
 * limit exceeded aborts.  A brownout value that decodes must encode back
 * to the same bytes.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_protect.h"


#define FZ_TICKETS   64
#define FZ_PARTNERS  2


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
} fz_input_t;


typedef struct {
    lg_protect_ticket_t  ticket;
    lg_priority_e        priority;
    int                  partner;
    int                  verdict;        /* lg_breaker_verdict_e */
    int                  used;
} fz_slot_t;


static unsigned
fz_byte(fz_input_t *in)
{
    return in->p < in->end ? *in->p++ : 0;
}


static void
fz_fail(const char *what)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}


static void
fz_check(const lg_budget_conf_t *uc, const lg_budget_api_t *api,
    const lg_budget_partner_t *partner, int64_t partner_max,
    lg_breaker_t *b, const lg_breaker_conf_t *bc, int64_t now,
    const fz_slot_t *slot)
{
    int                    i;
    int64_t                n, crit, def, noncrit, per[FZ_PARTNERS];
    uint32_t               probes, critical;
    lg_breaker_snapshot_t  snap;

    n = crit = def = noncrit = 0;
    per[0] = per[1] = 0;
    probes = critical = 0;

    lg_breaker_read(b, bc, now, &snap);

    for (i = 0; i < FZ_TICKETS; i++) {
        if (!slot[i].used) {
            continue;
        }

        n++;
        per[slot[i].partner]++;
        crit += slot[i].priority == LG_PRIORITY_CRITICAL;
        def += slot[i].priority == LG_PRIORITY_DEFERRABLE;
        noncrit += slot[i].priority != LG_PRIORITY_CRITICAL;

        if (slot[i].ticket.breaker_ticket.generation != snap.generation) {
            continue;
        }

        if (slot[i].verdict == LG_BREAKER_PROBE
            && snap.state == LG_BREAKER_HALF_OPEN)
        {
            probes++;
        }

        if (slot[i].verdict == LG_BREAKER_CRITICAL
            && snap.state != LG_BREAKER_CLOSED)
        {
            critical++;
        }
    }

    if (api->in_flight != n || api->critical != crit
        || api->deferrable != def)
    {
        fz_fail("API counters differ from the tickets held");
    }

    for (i = 0; i < FZ_PARTNERS; i++) {
        if (partner[i].in_flight != per[i]) {
            fz_fail("partner counter differs from the tickets held");
        }

        if (partner_max > 0 && per[i] > partner_max) {
            fz_fail("partner cap exceeded");
        }
    }

    if (n > uc->max_in_flight
        || noncrit > uc->max_in_flight - uc->critical_reserve
        || def > uc->deferrable_cap)
    {
        fz_fail("budget limit exceeded");
    }

    if (snap.probes != probes || snap.critical != critical) {
        fz_fail("breaker slots differ from the tickets of this generation");
    }

    if (snap.probes > bc->half_open_probes
        || snap.critical > bc->open_critical)
    {
        fz_fail("breaker slot limit exceeded");
    }

    if (snap.state == LG_BREAKER_CLOSED
        && (snap.probes != 0 || snap.critical != 0))
    {
        fz_fail("closed breaker with slots taken");
    }
}


static void
fz_brownout(fz_input_t *in)
{
    char           buf[LG_BROWNOUT_ENCODED_MAX];
    size_t         len, n;
    lg_brownout_t  b;

    len = fz_byte(in) % 32;

    if ((size_t) (in->end - in->p) < len) {
        len = in->end - in->p;
    }

    if (lg_brownout_decode((const char *) in->p, len, &b) == 0) {
        n = lg_brownout_encode(&b, buf, sizeof(buf));

        if (n != len || memcmp(buf, in->p, len) != 0) {
            fz_fail("a decoded brownout does not encode back the same");
        }
    }

    in->p += len;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      i, k;
    int64_t                  now, retry, partner_max, max, reserve, cap;
    unsigned                 op;
    fz_slot_t                slot[FZ_TICKETS];
    fz_input_t               in;
    lg_breaker_t             b;
    lg_budget_api_t          api;
    lg_budget_conf_t         uc;
    lg_breaker_conf_t        bc;
    lg_budget_partner_t      partner[FZ_PARTNERS];
    lg_protect_request_t     req;
    lg_protect_verdict_e     v;
    lg_breaker_transition_t  tr;

    in.p = data;
    in.end = data + size;

    /* the configuration, always valid */

    bc.bucket_ms = 10 + fz_byte(&in) * 10;
    bc.buckets = 1 + fz_byte(&in) % LG_BREAKER_BUCKETS_MAX;
    bc.min_requests = 1 + fz_byte(&in) % 40;
    bc.failure_percent = 1 + fz_byte(&in) % 100;
    bc.cool_down_ms = 1 + fz_byte(&in) * 40;
    bc.half_open_probes = 1 + fz_byte(&in) % 4;
    bc.open_critical = fz_byte(&in) % 4;

    if (lg_breaker_conf_check(&bc) != NULL) {
        fz_fail("generated breaker settings refused");
    }

    max = 1 + fz_byte(&in) % 16;
    reserve = fz_byte(&in) % (max + 1);
    cap = fz_byte(&in) % (max - reserve + 2) - 1;

    if (lg_budget_conf_init(&uc, max, reserve, cap) != NULL) {
        fz_fail("generated budget refused");
    }

    partner_max = fz_byte(&in) % 6;

    memset(&b, 0, sizeof(b));
    memset(&api, 0, sizeof(api));
    memset(partner, 0, sizeof(partner));
    memset(slot, 0, sizeof(slot));
    memset(&req, 0, sizeof(req));

    now = (int64_t) fz_byte(&in) << 30;

    req.breaker = &b;
    req.breaker_conf = &bc;
    req.budget_conf = &uc;
    req.api = &api;
    req.partner_max = partner_max;

    while (in.p < in.end) {
        op = fz_byte(&in);

        switch (op % 5) {

        case 0:
        case 1:
            for (i = 0; i < FZ_TICKETS && slot[i].used; i++) { /* void */ }

            if (i == FZ_TICKETS) {
                break;
            }

            req.priority = (lg_priority_e) (fz_byte(&in) % 3);
            k = fz_byte(&in) % FZ_PARTNERS;
            req.partner = &partner[k];
            req.now_ms = now;

            v = lg_protect_admit(&req, &slot[i].ticket, &retry, &tr);

            if (v == LG_PROTECT_ADMITTED) {
                slot[i].used = 1;
                slot[i].partner = k;
                slot[i].priority = req.priority;
                slot[i].verdict = slot[i].ticket.breaker_ticket.kind;

            } else if (retry < 0) {
                fz_fail("negative retry-after");
            }

            break;

        case 2:
            i = fz_byte(&in) % FZ_TICKETS;

            if (!slot[i].used) {
                break;
            }

            if (lg_protect_release(&slot[i].ticket,
                                   (lg_breaker_outcome_e) (fz_byte(&in) % 3),
                                   now, &tr)
                != 0)
            {
                fz_fail("release found a counter at 0");
            }

            slot[i].used = 0;
            break;

        case 3:
            /* mostly forward; now and then a worker a little behind */
            k = fz_byte(&in);
            now += (k & 0x80) ? -(int64_t) (k & 0x7f) : (int64_t) k * 53;
            break;

        default:
            fz_brownout(&in);
            continue;
        }

        fz_check(&uc, &api, partner, partner_max, &b, &bc, now, slot);
    }

    for (i = 0; i < FZ_TICKETS; i++) {
        if (slot[i].used) {
            (void) lg_protect_release(&slot[i].ticket, LG_BREAKER_CANCEL,
                                      now, &tr);
            slot[i].used = 0;
        }
    }

    if (api.in_flight != 0 || api.critical != 0 || api.deferrable != 0
        || partner[0].in_flight != 0 || partner[1].in_flight != 0)
    {
        fz_fail("counters not back to 0 after every release");
    }

    fz_check(&uc, &api, partner, partner_max, &b, &bc, now, slot);

    return 0;
}
