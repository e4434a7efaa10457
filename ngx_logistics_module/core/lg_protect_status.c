
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lg_json.h"
#include "lg_protect_status.h"


/* an appender with snprintf()'s contract: counts what does not fit */

typedef struct {
    char    *buf;
    size_t   size;
    size_t   n;
} lg_out_t;


static void lg_out_fmt(lg_out_t *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void lg_out_str(lg_out_t *o, const char *s, size_t len);
static void lg_out_brownout(lg_out_t *o, const lg_brownout_t *b,
    const char *source, int64_t now);
static void lg_out_apis(lg_out_t *o, const lg_protect_status_t *st);
static void lg_out_partners(lg_out_t *o, const lg_protect_status_t *st);
static void lg_out_breakers(lg_out_t *o, const lg_protect_status_t *st);


size_t
lg_protect_status_json(const lg_protect_status_t *st, char *buf,
    size_t size)
{
    lg_out_t  o;

    o.buf = buf;
    o.size = size;
    o.n = 0;

    if (size > 0) {
        buf[0] = '\0';
    }

    lg_out_fmt(&o, "{\"brownout\":");
    lg_out_brownout(&o, &st->brownout, st->brownout_source, st->now);
    lg_out_fmt(&o, ",\"apis\":");
    lg_out_apis(&o, st);
    lg_out_fmt(&o, ",\"partners\":");
    lg_out_partners(&o, st);
    lg_out_fmt(&o, ",\"breakers\":");
    lg_out_breakers(&o, st);
    lg_out_fmt(&o, ",\"reclaimed\":%lld}\n", (long long) st->reclaimed);

    return o.n;
}


size_t
lg_brownout_json(const lg_brownout_t *b, const char *source, int64_t now,
    char *buf, size_t size)
{
    lg_out_t  o;

    o.buf = buf;
    o.size = size;
    o.n = 0;

    if (size > 0) {
        buf[0] = '\0';
    }

    lg_out_brownout(&o, b, source, now);
    lg_out_fmt(&o, "\n");

    return o.n;
}


/*
 * "expires" is when it ends (ms since the epoch), null when only an
 * operator ends it; "retry_after" the seconds a shed request is told.
 */

static void
lg_out_brownout(lg_out_t *o, const lg_brownout_t *b, const char *source,
    int64_t now)
{
    lg_brownout_level_e  level;

    level = lg_brownout_level(b, now);

    lg_out_fmt(o, "{\"level\":\"%s\"", lg_brownout_level_name(level));

    if (level != LG_BROWNOUT_OFF && b->expires != 0) {
        lg_out_fmt(o, ",\"expires\":%lld,\"retry_after\":%lld",
                   (long long) b->expires,
                   (long long) ((b->expires - now + 999) / 1000));

    } else {
        lg_out_fmt(o, ",\"expires\":null,\"retry_after\":null");
    }

    lg_out_fmt(o, ",\"source\":\"%s\"}", source);
}


static void
lg_out_apis(lg_out_t *o, const lg_protect_status_t *st)
{
    size_t                       i, n;
    const lg_api_t              *api;
    const lg_odoo_t             *odoo;
    const lg_policy_t           *p;
    const lg_budget_snapshot_t  *s;

    p = st->policy;

    lg_out_fmt(o, "[");

    for (i = 0, n = 0; i < p->napis; i++) {
        api = &p->apis[i];
        odoo = lg_protect_odoo(p, api);

        if (odoo == NULL) {
            continue;
        }

        s = &st->apis[i];

        lg_out_fmt(o, "%s{\"api\":", n++ ? "," : "");
        lg_out_str(o, api->name.data, api->name.len);
        lg_out_fmt(o, ",\"max_in_flight\":%lld,\"critical_reserve\":%lld,"
                   "\"deferrable_cap\":%lld,\"in_flight\":%lld,"
                   "\"critical\":%lld,\"normal\":%lld,\"deferrable\":%lld}",
                   (long long) odoo->budget.max_in_flight,
                   (long long) odoo->budget.critical_reserve,
                   (long long) odoo->budget.deferrable_cap,
                   (long long) s->in_flight, (long long) s->critical,
                   (long long) s->normal, (long long) s->deferrable);
    }

    lg_out_fmt(o, "]");
}


static void
lg_out_partners(lg_out_t *o, const lg_protect_status_t *st)
{
    size_t               i;
    const lg_policy_t   *p;
    const lg_partner_t  *partner;

    p = st->policy;

    lg_out_fmt(o, "[");

    for (i = 0; i < p->npartners; i++) {
        partner = &p->partners[i];

        lg_out_fmt(o, "%s{\"partner\":", i ? "," : "");
        lg_out_str(o, partner->id.data, partner->id.len);
        lg_out_fmt(o, ",\"in_flight\":%lld", (long long) st->partners[i]);

        if (p->protect->partner_max[i] > 0) {
            lg_out_fmt(o, ",\"max_in_flight\":%lld",
                       (long long) p->protect->partner_max[i]);

        } else {
            lg_out_fmt(o, ",\"max_in_flight\":null");
        }

        lg_out_fmt(o, ",\"priority_ceiling\":\"%s\"}",
                   lg_priority_name(p->protect->partner_ceiling[i]));
    }

    lg_out_fmt(o, "]");
}


static void
lg_out_breakers(lg_out_t *o, const lg_protect_status_t *st)
{
    size_t                        i, e;
    const uint64_t               *tr;
    const lg_breaker_def_t       *def;
    const lg_protect_conf_t      *pc;
    const lg_breaker_snapshot_t  *s;

    pc = st->policy->protect;

    lg_out_fmt(o, "[");

    for (i = 0; i < pc->nbreakers; i++) {
        def = &pc->breakers[i];
        s = &st->breakers[i];
        tr = &st->transitions[i * LG_PROTECT_EVENTS];

        lg_out_fmt(o, "%s{\"api\":", i ? "," : "");
        lg_out_str(o, def->api->name.data, def->api->name.len);

        if (def->version != NULL) {
            lg_out_fmt(o, ",\"version\":");
            lg_out_str(o, def->version->name.data, def->version->name.len);

        } else {
            lg_out_fmt(o, ",\"group\":");
            lg_out_str(o, def->group.data, def->group.len);
        }

        lg_out_fmt(o, ",\"state\":\"%s\",\"failures\":%u,\"requests\":%u,"
                   "\"probes\":%u,\"critical\":%u,\"transitions\":{",
                   lg_breaker_state_name(s->state), s->failures, s->total,
                   s->probes, s->critical);

        for (e = LG_BREAKER_EVENT_OPENED; e < LG_PROTECT_EVENTS; e++) {
            lg_out_fmt(o, "%s\"%s\":%llu",
                       e == LG_BREAKER_EVENT_OPENED ? "" : ",",
                       lg_breaker_event_name((lg_breaker_event_e) e),
                       (unsigned long long) tr[e]);
        }

        lg_out_fmt(o, "}}");
    }

    lg_out_fmt(o, "]");
}


static void
lg_out_fmt(lg_out_t *o, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  args;

    room = o->n < o->size ? o->size - o->n : 0;

    va_start(args, fmt);
    n = vsnprintf(room ? o->buf + o->n : NULL, room, fmt, args);
    va_end(args);

    if (n > 0) {
        o->n += (size_t) n;
    }
}


static void
lg_out_str(lg_out_t *o, const char *s, size_t len)
{
    size_t  room;

    room = o->n < o->size ? o->size - o->n : 0;

    o->n += lg_json_escape(room ? o->buf + o->n : NULL, room, s, len);
}
