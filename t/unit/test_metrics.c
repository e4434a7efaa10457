
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"
#include "fixture.h"

#include <jansson.h>

#include "lg_metrics.h"
#include "lg_metrics_int.h"


/* a SHA-256 in hex: 63 zeros and a digit */
#define lg_sha(d)                                                             \
    "00000000000000000000000000000000" "0000000000000000000000000000000" d


/*
 * Two versions of one policy: B drops partner beta and route
 * ship.create, adds partner gamma and route ship.get (a reload).
 */

static const char  *lg_policy_a =
    "{\"scopes\": {\"s\": \"\"},"
    " \"issuers\": {\"idp\": {\"iss\": \"https://idp.example\","
    "   \"audiences\": [\"gw\"], \"algorithms\": [\"HS256\"],"
    "   \"shared_secret_file\": \"secret\"}},"
    " \"partners\": {"
    "  \"acme\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k1\","
    "   \"sha256\": \"" lg_sha("1") "\"}]},"
    "  \"beta\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k1\","
    "   \"sha256\": \"" lg_sha("2") "\"}]}},"
    " \"apis\": {\"ship\": {\"versions\": {\"v1\": {\"upstream_prefix\": "
    "  \"/1\"}, \"v2\": {\"upstream_prefix\": \"/2\"}}, \"routes\": ["
    "  {\"id\": \"ship.list\", \"method\": \"GET\", \"path\": \"/s\","
    "   \"scopes\": [\"s\"]},"
    "  {\"id\": \"ship.create\", \"method\": \"POST\", \"path\": \"/s\","
    "   \"scopes\": [\"s\"], \"versions\": [\"v2\"]}]}}}";

static const char  *lg_policy_b =
    "{\"scopes\": {\"s\": \"\"},"
    " \"partners\": {"
    "  \"gamma\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k1\","
    "   \"sha256\": \"" lg_sha("3") "\"}]},"
    "  \"acme\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k1\","
    "   \"sha256\": \"" lg_sha("1") "\"}]}},"
    " \"apis\": {\"ship\": {\"versions\": {\"v1\": {\"upstream_prefix\": "
    "  \"/1\"}, \"v2\": {\"upstream_prefix\": \"/2\"}}, \"routes\": ["
    "  {\"id\": \"ship.get\", \"method\": \"GET\", \"path\": \"/s/{id}\","
    "   \"scopes\": [\"s\"], \"versions\": [\"v1\"]},"
    "  {\"id\": \"ship.list\", \"method\": \"GET\", \"path\": \"/s\","
    "   \"scopes\": [\"s\"]}]}}}";


/* the reasons ngx_http_logistics_deny() was given in the glue */

static const char  *lg_glue_words[] = {
    "allow", "options", "replayed", "duplicate-header", "body-not-allowed",
    "idempotency-store-full", "gateway-bypassed",
    "api-key-not-accepted", "bearer-not-accepted", "body-too-large",
    "body-unreadable", "certificate-mismatch", "expired-key",
    "idempotency-conflict", "idempotency-key-malformed",
    "idempotency-key-missing", "idempotency-mismatch",
    "idempotency-response-gone", "insufficient-scope", "internal-error",
    "invalid-body", "invalid-token", "key-not-yet-valid", "keys-unavailable",
    "malformed-body", "malformed-credentials", "method-not-allowed",
    "missing-credentials", "not-found", "rate-limited", "revoked-token",
    "route-not-allowed", "state-unavailable", "suspended-partner",
    "unknown-certificate", "unknown-issuer", "unknown-key",
    "unknown-partner", "unsupported-media-type", "version-required",
    "version-sunset", "concurrency-limited", "odoo-saturated",
    "odoo-unavailable", "degraded", NULL
};


static size_t
count_lines(const char *text, const char *prefix)
{
    size_t       n, len;
    const char  *p;

    n = 0;
    len = strlen(prefix);

    for (p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
        if (strncmp(p, prefix, len) == 0) {
            n++;
        }

        if (strchr(p, '\n') == NULL) {
            break;
        }
    }

    return n;
}


static char *
render(const lg_metrics_layout_t *l, const lg_metrics_scrape_t *s,
    lg_metrics_format_e format, size_t *len)
{
    char    *buf;
    size_t   bound;

    bound = format == LG_METRICS_JSON
            ? lg_metrics_json_bound(l, s->digest.len)
            : lg_metrics_render_bound(l, format, s->digest.len);

    buf = malloc(bound + 1);

    *len = format == LG_METRICS_JSON
           ? lg_metrics_json(l, s, buf, bound)
           : lg_metrics_render(l, s, format, buf, bound);

    if (*len > bound) {
        printf("# output %zu over its bound %zu\n", *len, bound);
        *len = bound;
    }

    buf[*len] = '\0';

    return buf;
}


static void
test_words(void)
{
    size_t                     i, j;
    const lg_decision_word_t  *d, *e;

    for (i = 0; i < LG_DECISION_LAST; i++) {
        d = lg_decision((lg_decision_e) i);

        if (!ok(d->word.len == strlen(d->word.data)
                && lg_decision_parse(d->word.data, d->word.len) == i,
                "decision %zu \"%s\" parses back", i, d->word.data))
        {
            continue;
        }

        for (j = 0; j < i; j++) {
            e = lg_decision((lg_decision_e) j);

            if (strcmp(d->word.data, e->word.data) == 0) {
                ok(0, "decision word \"%s\" is unique", d->word.data);
            }
        }
    }

    /* a refusal answers with its problem type, and only a refusal */

    for (i = 0, j = 0; i < LG_DECISION_LAST; i++) {
        d = lg_decision((lg_decision_e) i);

        if (d->problem == LG_PROBLEM_LAST
            ? d->status >= 400
            : lg_problem_type(d->problem)->status != d->status)
        {
            ok(0, "decision \"%s\": status %d and its problem type agree",
               d->word.data, d->status);
            j++;
        }
    }

    is_int(j, 0, "every refusal's status is its problem type's");
    is_int(lg_decision(LG_DECISION_REVOKED_TOKEN)->problem,
           LG_PROBLEM_INVALID_TOKEN, "revoked-token: invalid-token problem");
    is_int(lg_decision(LG_DECISION_ALLOW)->problem, LG_PROBLEM_LAST,
           "allow: no problem");

    for (i = 0; lg_glue_words[i] != NULL; i++) {
        ok(lg_decision_parse(lg_glue_words[i], strlen(lg_glue_words[i]))
           != LG_DECISION_LAST, "glue reason \"%s\" is a decision word",
           lg_glue_words[i]);
    }

    is_int(lg_decision_parse("rate", 4), LG_DECISION_LAST,
           "a prefix of a word is no word");
    is_int(lg_decision_parse("Allow", 5), LG_DECISION_LAST,
           "words are case-sensitive");
    is_str(lg_decision(LG_DECISION_LAST + 3)->word.data, "-",
           "an out-of-range decision is \"-\"");

    is_int(lg_decision(LG_DECISION_RATE_LIMITED)->status, 429,
           "rate-limited answers 429");
    is_int(lg_decision(LG_DECISION_INVALID_BODY)->status, 422,
           "invalid-body answers 422");
    is_int(lg_decision(LG_DECISION_UNKNOWN_KEY)->status, 401,
           "unknown-key answers 401");
    is_int(lg_decision(LG_DECISION_ALLOW)->status, 0,
           "allow: Odoo answers");

    is_int(lg_metrics_status_class(200), LG_STATUS_2XX, "200 is 2xx");
    is_int(lg_metrics_status_class(299), LG_STATUS_2XX, "299 is 2xx");
    is_int(lg_metrics_status_class(302), LG_STATUS_3XX, "302 is 3xx");
    is_int(lg_metrics_status_class(422), LG_STATUS_4XX, "422 is 4xx");
    is_int(lg_metrics_status_class(599), LG_STATUS_5XX, "599 is 5xx");
    is_int(lg_metrics_status_class(0), LG_STATUS_OTHER, "no status: other");
    is_int(lg_metrics_status_class(101), LG_STATUS_OTHER, "101: other");
    is_int(lg_metrics_status_class(600), LG_STATUS_OTHER, "600: other");
}


static void
test_table(void)
{
    size_t                      i, k, len;
    const char                 *name, *sample;
    const lg_metric_family_t   *f;

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        name = f->name;
        sample = lg_metric_sample_name((lg_metric_e) i);
        len = strlen(name);

        ok(strncmp(name, "logistics_", 10) == 0 && f->help[0] != '\0'
           && strchr(f->help, '\n') == NULL,
           "%s: one prefix, one line of help", name);

        if (f->type == LG_METRIC_COUNTER) {
            ok(strncmp(sample, name, len) == 0
               && strcmp(sample + len, "_total") == 0
               && (len < 6 || strcmp(name + len - 6, "_total") != 0),
               "%s: counter samples end in _total", name);

        } else if (f->type == LG_METRIC_INFO) {
            ok(strncmp(sample, name, len) == 0
               && strcmp(sample + len, "_info") == 0,
               "%s: info sample ends in _info", name);

        } else {
            is_str(sample, name, "%s: sample named as its family", name);
        }

        if (f->unit != NULL) {
            ok(len > strlen(f->unit)
               && strcmp(name + len - strlen(f->unit), f->unit) == 0
               && name[len - strlen(f->unit) - 1] == '_',
               "%s: unit %s is the name's suffix", name, f->unit);
        }

        if (f->type == LG_METRIC_HISTOGRAM) {
            ok(f->buckets != NULL && f->unit != NULL
               && strcmp(f->unit, "seconds") == 0,
               "%s: histogram in seconds", name);

            for (k = 1; f->buckets != NULL && k < f->buckets->n; k++) {
                if (f->buckets->bound[k] <= f->buckets->bound[k - 1]) {
                    ok(0, "%s: buckets ascend", name);
                }
            }
        }

        ok(f->ndims <= LG_METRICS_MAX_DIMS, "%s: dimensions fit", name);
    }

    f = lg_metric_family(LG_MF_REQUEST_DURATION);
    is_int(f->buckets->bound[0], 5000, "ERP buckets start at 5 ms");
    is_int(f->buckets->bound[f->buckets->n - 1], 30000000,
           "ERP buckets end at 30 s");
    is_str(f->buckets->le[7], "1.0", "le texts are canonical (1.0)");

    ok(lg_metric_family(LG_MF_LAST) == NULL, "no family past the table");
}


static void
test_layout(const lg_policy_t *p)
{
    size_t                  i, j, k, d, n, total, slot, idx[4], dsize[4];
    size_t                  nslots, family_end;
    uint8_t                *seen;
    lg_metrics_layout_t    *l, *off;
    lg_metrics_options_t    opts;
    const lg_mfam_t        *mf;
    const lg_version_t     *v1, *v2;
    const lg_route_t       *list, *create;
    const lg_metric_family_t  *f;

    (void) mf;

    opts.per_partner = 1;
    l = lg_metrics_layout(p, &opts);

    if (!ok(l != NULL, "layout of policy A")) {
        return;
    }

    is_int(lg_metrics_dim_size(l, LG_DIM_PARTNER), 3, "partners: -, 2");
    is_int(lg_metrics_dim_size(l, LG_DIM_ROUTE), 4,
           "route x version: -, list v1, list v2, create v2");
    is_int(lg_metrics_dim_size(l, LG_DIM_ISSUER), 2, "issuers: -, idp");
    is_int(lg_metrics_dim_size(l, LG_DIM_DECISION), LG_DECISION_LAST,
           "every decision word");
    is_int(lg_metrics_dim_size(l, LG_DIM_STATUS_CLASS), LG_STATUS_LAST,
           "every status class");

    is_str(lg_metrics_dim_value(l, LG_DIM_PARTNER, 0, 0).data, "-",
           "partner 0 is -");
    is_str(lg_metrics_dim_value(l, LG_DIM_PARTNER, 1, 0).data, "acme",
           "partner 1 is acme");
    is_str(lg_metrics_dim_value(l, LG_DIM_ROUTE, 3, 0).data, "ship.create",
           "route 3 is ship.create");
    is_str(lg_metrics_dim_value(l, LG_DIM_ROUTE, 3, 1).data, "v2",
           "route 3 is in v2");
    ok(lg_metrics_dim_value(l, LG_DIM_PARTNER, 3, 0).data == NULL,
       "no partner 3");

    list = p->routes[0];
    create = p->routes[1];
    v1 = &p->apis[0].versions[0];
    v2 = &p->apis[0].versions[1];

    is_str(list->id.data, "ship.list", "fixture: route 0");
    is_str(v2->name.data, "v2", "fixture: version 1 is v2");

    is_int(lg_metrics_route(l, list, v1), 1, "list v1 -> 1");
    is_int(lg_metrics_route(l, list, v2), 2, "list v2 -> 2");
    is_int(lg_metrics_route(l, create, v2), 3, "create v2 -> 3");
    is_int(lg_metrics_route(l, create, v1), 0,
           "create does not exist in v1 -> -");
    is_int(lg_metrics_route(l, NULL, v1), 0, "no route -> -");
    is_int(lg_metrics_route(l, list, NULL), 0, "no version -> -");

    is_int(lg_metrics_partner(l, &p->partners[0]), 1, "acme -> 1");
    is_int(lg_metrics_partner(l, &p->partners[1]), 2, "beta -> 2");
    is_int(lg_metrics_partner(l, NULL), 0, "no partner -> -");
    is_int(lg_metrics_issuer(l, &p->issuers[0]), 1, "idp -> 1");
    is_int(lg_metrics_issuer(l, NULL), 0, "no issuer -> -");

    /* the series are laid out one after the other, without gaps */

    total = 0;

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        n = 1;

        for (k = 0; k < f->ndims; k++) {
            n *= lg_metrics_dim_size(l, f->dims[k]);
        }

        is_int(lg_metrics_nseries(l, (lg_metric_e) i), n,
               "%s: series = product of its dimensions", f->name);

        is_int(lg_metrics_slot0(l, (lg_metric_e) i), total,
               "%s starts where the one before ends", f->name);

        total += n * lg_metric_width((lg_metric_e) i);
    }

    nslots = lg_metrics_nslots(l);
    is_int(nslots, total, "slots: every family's series");

    /* every index tuple of every family has a slot of its own */

    seen = calloc(nslots, 1);
    n = 0;

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        family_end = lg_metrics_slot0(l, (lg_metric_e) i)
                     + lg_metrics_nseries(l, (lg_metric_e) i)
                       * lg_metric_width((lg_metric_e) i);

        for (k = 0; k < 4; k++) {
            idx[k] = 0;
            dsize[k] = k < f->ndims ? lg_metrics_dim_size(l, f->dims[k]) : 1;
        }

        for (j = 0; j < lg_metrics_nseries(l, (lg_metric_e) i); j++) {
            slot = lg_metrics_slot(l, (lg_metric_e) i, idx);

            for (k = 0; k < lg_metric_width((lg_metric_e) i); k++) {
                if (slot + k >= family_end || seen[slot + k]) {
                    n++;
                }

                seen[slot + k] = 1;
            }

            for (d = 4; d-- > 0; /* void */) {
                if (++idx[d] < dsize[d]) {
                    break;
                }

                idx[d] = 0;
            }
        }
    }

    is_int(n, 0, "no slot is shared or outside its family");

    for (i = 0, n = 0; i < nslots; i++) {
        n += seen[i];
    }

    is_int(n, nslots, "every slot belongs to a series");
    free(seen);

    /* indexes out of range fall back to "-", never outside the family */

    is_int(lg_metrics_slot2(l, LG_MF_REQUESTS, 99, LG_DECISION_NOT_FOUND),
           lg_metrics_slot2(l, LG_MF_REQUESTS, 0, LG_DECISION_NOT_FOUND),
           "an unknown route index counts under route -");
    is_int(lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1, 1000),
           lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1, 0),
           "a decision out of range stays in the family");

    /* per-partner labels off: one partner, "-" */

    opts.per_partner = 0;
    off = lg_metrics_layout(p, &opts);

    if (ok(off != NULL, "layout without per-partner labels")) {
        is_int(lg_metrics_dim_size(off, LG_DIM_PARTNER), 1,
               "partner dimension is just -");
        is_int(lg_metrics_partner(off, &p->partners[0]), 0,
               "acme counts under -");
        ok(lg_metrics_nslots(off) < nslots, "fewer slots");
        ok(!lg_metrics_layout_equal(l, off), "the layouts differ");
        lg_metrics_layout_free(off);
    }

    lg_metrics_layout_free(l);
}


static void
test_observe(const lg_policy_t *p)
{
    size_t                  slot, nb, n;
    lg_metrics_request_t    req;
    uint64_t               *v;
    lg_metrics_layout_t    *l;
    lg_metrics_options_t    opts;
    const lg_metric_buckets_t  *b;

    opts.per_partner = 1;
    l = lg_metrics_layout(p, &opts);
    v = calloc(lg_metrics_nslots(l), sizeof(uint64_t));
    b = lg_metric_family(LG_MF_REQUEST_DURATION)->buckets;
    nb = b->n;

    is_int(lg_metric_bucket(b, 0), 0, "0 us: first bucket");
    is_int(lg_metric_bucket(b, 5000), 0, "5 ms: le=0.005 (inclusive)");
    is_int(lg_metric_bucket(b, 5001), 1, "5.001 ms: le=0.01");
    is_int(lg_metric_bucket(b, 30000000), nb - 1, "30 s: le=30.0");
    is_int(lg_metric_bucket(b, 30000001), nb, "past 30 s: +Inf");

    slot = lg_metrics_slot1(l, LG_MF_REQUEST_DURATION, 2);

    lg_metrics_observe(l, v, LG_MF_REQUEST_DURATION, slot, 5000);
    lg_metrics_observe(l, v, LG_MF_REQUEST_DURATION, slot, 120000);
    lg_metrics_observe(l, v, LG_MF_REQUEST_DURATION, slot, 45000000);

    is_int(v[slot], 1, "bucket 0 holds one");
    is_int(v[slot + 5], 1, "120 ms in le=0.25");
    is_int(v[slot + nb], 1, "45 s in +Inf");
    is_int(v[slot + nb + 1], 45125000, "sum in microseconds");
    is_int(v[slot - 1], 0, "the series before is untouched");
    is_int(v[slot + nb + 2], 0, "the series after is untouched");

    lg_metrics_observe(l, v, LG_MF_REQUESTS, 0, 5000);
    is_int(v[0], 0, "observe on a counter family does nothing");

    /* a forwarded request of acme on list v2, and a 404 of nobody */

    memset(v, 0, lg_metrics_nslots(l) * sizeof(uint64_t));
    memset(&req, 0, sizeof(req));

    req.partner = lg_metrics_partner(l, &p->partners[0]);
    req.route = lg_metrics_route(l, p->routes[0], &p->apis[0].versions[1]);
    req.decision = LG_DECISION_ALLOW;
    req.upstream_status = 503;
    req.duration = 120000;
    req.upstream_time = 100000;
    req.idempotency = LG_IDEM_OUT_NEW;

    lg_metrics_count_request(l, v, &req);

    memset(&req, 0, sizeof(req));
    req.decision = LG_DECISION_NOT_FOUND;
    req.duration = 300;
    req.idempotency = LG_IDEM_OUTCOME_LAST;

    lg_metrics_count_request(l, v, &req);

    is_int(v[lg_metrics_slot2(l, LG_MF_REQUESTS, 2, LG_DECISION_ALLOW)], 1,
           "request counted by route and decision");
    is_int(v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1,
                              LG_DECISION_ALLOW)], 1,
           "and by partner");
    is_int(v[lg_metrics_slot3(l, LG_MF_UPSTREAM_RESPONSES, 1, 2,
                              LG_STATUS_5XX)], 1,
           "Odoo's 503 as 5xx of acme on list v2");
    slot = lg_metrics_slot1(l, LG_MF_UPSTREAM_DURATION, 2);
    is_int(v[slot + 4], 1, "Odoo's 100 ms in le=0.1");
    slot = lg_metrics_slot1(l, LG_MF_PARTNER_REQUEST_DURATION, 1);
    is_int(v[slot + 5], 1, "acme's 120 ms in le=0.25");
    is_int(v[lg_metrics_slot2(l, LG_MF_IDEMPOTENCY_REQUESTS, 1,
                              LG_IDEM_OUT_NEW)], 1, "idempotency: new");
    is_int(v[lg_metrics_slot2(l, LG_MF_REQUESTS, 0, LG_DECISION_NOT_FOUND)],
           1, "the 404 under route -");
    is_int(v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 0,
                              LG_DECISION_NOT_FOUND)], 1,
           "and partner -");
    slot = lg_metrics_slot1(l, LG_MF_REQUEST_DURATION, 0);
    is_int(v[slot], 1, "its 0.3 ms in the first bucket");

    for (slot = 0, n = 0; slot < lg_metrics_nslots(l); slot++) {
        n += v[slot] != 0;
    }

    /* 2 counters, 2 histograms (bucket and sum each), Odoo's status, its
       histogram and the idempotency outcome; then 2 counters and 2
       histograms for the 404 */

    is_int(n, 10 + 6, "nothing else was touched (16 slots)");

    free(v);
    lg_metrics_layout_free(l);
}


static void
test_render(const lg_policy_t *p)
{
    char                   *text, *small, *om;
    size_t                  len, len2, i, lines, series, nb;
    uint64_t               *v;
    lg_metrics_layout_t    *l;
    lg_metrics_scrape_t     s;
    lg_metrics_options_t    opts;
    const lg_metric_family_t  *f;

    opts.per_partner = 1;
    l = lg_metrics_layout(p, &opts);
    v = calloc(lg_metrics_nslots(l), sizeof(uint64_t));

    v[lg_metrics_slot2(l, LG_MF_REQUESTS, 3, LG_DECISION_RATE_LIMITED)] = 3;
    v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1, LG_DECISION_ALLOW)] =
        18446744073709551615ULL;
    v[lg_metrics_slot3(l, LG_MF_UPSTREAM_RESPONSES, 2, 1, LG_STATUS_5XX)] = 7;
    v[lg_metrics_slot1(l, LG_MF_REDIS_CONNECTIONS, LG_CONN_CONNECTED)] = 2;
    lg_metrics_observe(l, v, LG_MF_REQUEST_DURATION,
                       lg_metrics_slot1(l, LG_MF_REQUEST_DURATION, 1), 7000);
    lg_metrics_observe(l, v, LG_MF_REQUEST_DURATION,
                       lg_metrics_slot1(l, LG_MF_REQUEST_DURATION, 1), 1500000);
    lg_metrics_set(l, v, lg_metrics_slot1(l, LG_MF_JWKS_KEY_SET_AGE, 1),
                   90500000);
    lg_metrics_set(l, v, lg_metrics_slot1(l, LG_MF_JWKS_KEY_SET_AGE, 0),
                   LG_METRICS_NAN);
    lg_metrics_set(l, v, lg_metrics_slot1(l, LG_MF_ZONE_BYTES, LG_ZONE_FREE),
                   1048576);
    lg_metrics_set(l, v, lg_metrics_slot0(l, LG_MF_POLICY_LOADED),
                   1700000000250000LL);

    memset(&s, 0, sizeof(s));
    s.values = v;
    s.digest.data = "ab\"c\\d\ne";
    s.digest.len = 8;
    s.now = 1700000001500LL;

    text = render(l, &s, LG_METRICS_PROMETHEUS, &len);

    like_str(text, "\nlogistics_requests_total{route=\"ship.create\","
             "version=\"v2\",decision=\"rate-limited\"} 3\n",
             "a counter line with route, version and decision");
    like_str(text, "\nlogistics_partner_requests_total{partner=\"acme\","
             "decision=\"allow\"} 18446744073709551615\n",
             "the largest counter value in full");
    like_str(text, "\nlogistics_upstream_responses_total{partner=\"beta\","
             "route=\"ship.list\",version=\"v1\",status_class=\"5xx\"} 7\n",
             "partner, route, version and status class");
    like_str(text, "\nlogistics_request_duration_seconds_bucket{"
             "route=\"ship.list\",version=\"v1\",le=\"0.005\"} 0\n"
             "logistics_request_duration_seconds_bucket{route=\"ship.list\","
             "version=\"v1\",le=\"0.01\"} 1\n",
             "buckets are cumulative, le canonical");
    like_str(text, "le=\"+Inf\"} 2\nlogistics_request_duration_seconds_count{"
             "route=\"ship.list\",version=\"v1\"} 2\n"
             "logistics_request_duration_seconds_sum{route=\"ship.list\","
             "version=\"v1\"} 1.507\n",
             "+Inf, count and sum in seconds");
    like_str(text, "\nlogistics_redis_connections{state=\"connected\"} 2\n",
             "per-worker gauge summed");
    like_str(text, "\nlogistics_jwks_key_set_age_seconds{issuer=\"idp\"} "
             "90.5\n", "scrape gauge in seconds");
    like_str(text, "\nlogistics_jwks_key_set_age_seconds{issuer=\"-\"} NaN\n",
             "a key set never fetched: NaN");
    like_str(text, "\nlogistics_zone_bytes{state=\"free\"} 1048576\n",
             "bytes as they are");
    like_str(text, "\nlogistics_policy_load_timestamp_seconds "
             "1700000000.25\n", "a timestamp in seconds");
    like_str(text, "\nlogistics_policy_info{digest=\"ab\\\"c\\\\d\\ne\"} 1\n",
             "the digest label escaped");
    like_str(text, "# HELP logistics_requests_total Requests",
             "text format: HELP names the samples");
    like_str(text, "\n# TYPE logistics_requests_total counter\n",
             "text format: a counter's TYPE names its _total");
    like_str(text, "\n# TYPE logistics_policy_info gauge\n",
             "text format: info is a gauge");
    ok(strstr(text, "# UNIT") == NULL && strstr(text, "# EOF") == NULL,
       "text format: no UNIT, no EOF");
    ok(len > 0 && text[len - 1] == '\n', "ends with a line feed");
    is_int(count_lines(text, "# TYPE "), LG_MF_LAST, "one TYPE per family");
    is_int(count_lines(text, "# HELP "), LG_MF_LAST, "one HELP per family");

    /* every series is there, the zeros too */

    series = 0;

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        nb = f->type == LG_METRIC_HISTOGRAM ? f->buckets->n + 3 : 1;
        series += lg_metrics_nseries(l, (lg_metric_e) i) * nb;
    }

    lines = count_lines(text, "logistics_");
    is_int(lines, series, "one line per sample (%zu)", series);

    /* cut short: the same length is reported, the prefix is the same */

    small = malloc(100);
    len2 = lg_metrics_render(l, &s, LG_METRICS_PROMETHEUS, small, 100);
    is_int(len2, len, "a small buffer still reports the full length");
    ok(memcmp(small, text, 100) == 0, "and holds its beginning");
    free(small);

    is_int(lg_metrics_render(l, &s, LG_METRICS_PROMETHEUS, NULL, 0), len,
           "measuring with no buffer");

    /* OpenMetrics */

    om = render(l, &s, LG_METRICS_OPENMETRICS, &len2);

    like_str(om, "# TYPE logistics_requests counter\n# HELP "
             "logistics_requests Requests",
             "OpenMetrics: TYPE then HELP, family name without _total");
    like_str(om, "\nlogistics_requests_total{route=\"ship.create\","
             "version=\"v2\",decision=\"rate-limited\"} 3\n",
             "OpenMetrics: the same series");
    like_str(om, "# TYPE logistics_request_duration_seconds histogram\n"
             "# UNIT logistics_request_duration_seconds seconds\n",
             "OpenMetrics: UNIT after TYPE");
    like_str(om, "# TYPE logistics_idempotency_stored_bytes counter\n"
             "# UNIT logistics_idempotency_stored_bytes bytes\n",
             "OpenMetrics: a counter in bytes");
    like_str(om, "# TYPE logistics_policy info\n",
             "OpenMetrics: an info family");
    ok(len2 > 6 && strcmp(om + len2 - 6, "# EOF\n") == 0,
       "OpenMetrics ends with # EOF");
    is_int(count_lines(om, "# EOF"), 1, "one EOF");
    for (i = 0, lines = 0; i < LG_MF_LAST; i++) {
        lines += lg_metric_family((lg_metric_e) i)->unit != NULL;
    }

    ok(lines >= 9, "fixture: families with units (%zu)", lines);
    is_int(count_lines(om, "# UNIT "), lines, "a UNIT line per unit family");
    is_int(count_lines(om, "logistics_"), series,
           "OpenMetrics: the same samples");

    free(om);

    /* leaving zeros out */

    s.skip_zero = 1;
    free(text);
    text = render(l, &s, LG_METRICS_PROMETHEUS, &len);

    lines = count_lines(text, "logistics_requests_total");
    is_int(lines, 1, "skip_zero: one request series left");
    is_int(count_lines(text, "logistics_request_duration_seconds_bucket"),
           13, "skip_zero: the observed histogram series stays whole");
    ok(strstr(text, "logistics_zone_bytes{state=\"used\"} 0\n") != NULL,
       "skip_zero keeps gauges at 0");
    is_int(count_lines(text, "# TYPE "), LG_MF_LAST,
           "skip_zero keeps every family's TYPE");

    /* the bound holds for the largest values */

    for (i = 0; i < lg_metrics_nslots(l); i++) {
        v[i] = 18446744073709551615ULL;
    }

    s.skip_zero = 0;
    len = lg_metrics_render(l, &s, LG_METRICS_OPENMETRICS, NULL, 0);
    ok(len <= lg_metrics_render_bound(l, LG_METRICS_OPENMETRICS, 8),
       "OpenMetrics bound holds with every slot at its maximum");
    len = lg_metrics_render(l, &s, LG_METRICS_PROMETHEUS, NULL, 0);
    ok(len <= lg_metrics_render_bound(l, LG_METRICS_PROMETHEUS, 8),
       "text bound holds with every slot at its maximum");
    len = lg_metrics_json(l, &s, NULL, 0);
    ok(len <= lg_metrics_json_bound(l, 8),
       "JSON bound holds with every slot at its maximum");

    free(text);
    free(v);
    lg_metrics_layout_free(l);
}


static void
test_json(const lg_policy_t *p)
{
    char                   *text;
    size_t                  len;
    uint64_t               *v;
    json_t                 *j, *x;
    json_error_t            jerr;
    lg_metrics_layout_t    *l;
    lg_metrics_scrape_t     s;
    lg_metrics_options_t    opts;

    opts.per_partner = 1;
    l = lg_metrics_layout(p, &opts);
    v = calloc(lg_metrics_nslots(l), sizeof(uint64_t));

    v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1, LG_DECISION_ALLOW)] = 40;
    v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 1,
                       LG_DECISION_RATE_LIMITED)] = 2;
    v[lg_metrics_slot2(l, LG_MF_PARTNER_REQUESTS, 0,
                       LG_DECISION_UNKNOWN_KEY)] = 9;
    v[lg_metrics_slot2(l, LG_MF_REQUESTS, 3, LG_DECISION_INVALID_BODY)] = 5;
    v[lg_metrics_slot3(l, LG_MF_UPSTREAM_RESPONSES, 1, 3, LG_STATUS_2XX)] =
        30;
    v[lg_metrics_slot3(l, LG_MF_UPSTREAM_RESPONSES, 1, 1, LG_STATUS_5XX)] =
        10;
    v[lg_metrics_slot4(l, LG_MF_RATE_LIMIT_DECISIONS, 1, LG_LIMIT_ROUTE,
                       LG_BACKEND_REDIS, LG_RATE_LIMITED)] = 2;
    v[lg_metrics_slot1(l, LG_MF_REDIS_CONNECTIONS, LG_CONN_DOWN)] = 1;
    v[lg_metrics_slot2(l, LG_MF_IDEMPOTENCY_REQUESTS, 1,
                       LG_IDEM_OUT_REPLAYED)] = 4;
    lg_metrics_observe(l, v, LG_MF_PARTNER_REQUEST_DURATION,
                       lg_metrics_slot1(l, LG_MF_PARTNER_REQUEST_DURATION, 1),
                       80000);
    lg_metrics_set(l, v, lg_metrics_slot1(l, LG_MF_JWKS_KEY_SET_AGE, 1),
                   LG_METRICS_NAN);
    lg_metrics_set(l, v, lg_metrics_slot1(l, LG_MF_ZONE_BYTES, LG_ZONE_USED),
                   4096);

    memset(&s, 0, sizeof(s));
    s.values = v;
    s.digest.data = "d1";
    s.digest.len = 2;
    s.now = 1700000001500LL;
    s.redis = 1;

    text = render(l, &s, LG_METRICS_JSON, &len);
    j = json_loadb(text, len, 0, &jerr);

    if (!ok(j != NULL, "the JSON view parses")) {
        printf("# %s at %d\n# %s\n", jerr.text, jerr.position, text);
        free(text);
        free(v);
        lg_metrics_layout_free(l);
        return;
    }

    ok(json_real_value(json_object_get(j, "time")) == 1700000001.5,
       "time in seconds");
    is_str(json_string_value(json_object_get(json_object_get(j, "policy"),
                                             "digest")), "d1", "digest");
    is_int(json_array_size(json_object_get(j, "partners")), 3,
           "three partner entries (- included)");

    x = json_array_get(json_object_get(j, "partners"), 1);
    is_str(json_string_value(json_object_get(x, "id")), "acme", "acme");
    is_int(json_integer_value(json_object_get(x, "requests")), 42,
           "acme: 42 requests");
    is_int(json_integer_value(json_object_get(json_object_get(x, "decisions"),
                                              "rate-limited")), 2,
           "acme: 2 rate-limited");
    ok(json_object_get(json_object_get(x, "decisions"), "not-found") == NULL,
       "zero decisions are left out");
    is_int(json_integer_value(json_object_get(json_object_get(x, "upstream"),
                                              "2xx")), 30,
           "acme: 30 2xx over all routes");
    is_int(json_integer_value(json_object_get(x, "rate_limited")), 2,
           "acme: 2 limit refusals");
    is_int(json_integer_value(json_array_get(json_object_get(
               json_object_get(x, "duration"), "counts"), 4)), 1,
           "acme: 80 ms in the 0.1 bucket");
    is_int(json_integer_value(json_object_get(json_object_get(x,
               "idempotency"), "replayed")), 4, "acme: 4 replayed");

    x = json_array_get(json_object_get(j, "partners"), 0);
    is_str(json_string_value(json_object_get(x, "id")), "-", "partner -");
    is_int(json_integer_value(json_object_get(json_object_get(x, "decisions"),
                                              "unknown-key")), 9,
           "-: 9 unknown keys");

    x = json_array_get(json_object_get(j, "routes"), 3);
    is_str(json_string_value(json_object_get(x, "route")), "ship.create",
           "route 3");
    is_str(json_string_value(json_object_get(x, "version")), "v2",
           "route 3 version");
    is_int(json_integer_value(json_object_get(json_object_get(x, "decisions"),
                                              "invalid-body")), 5,
           "ship.create: 5 invalid bodies");
    is_int(json_integer_value(json_object_get(json_object_get(x, "upstream"),
                                              "2xx")), 30,
           "ship.create: 30 2xx over all partners");

    is_int(json_integer_value(json_object_get(json_object_get(j, "decisions"),
                                              "rate-limited")), 429,
           "decision statuses for the page");
    is_int(json_array_size(json_object_get(j, "buckets")), 12,
           "12 bucket bounds");

    x = json_object_get(j, "redis");
    ok(json_is_true(json_object_get(x, "configured")), "redis configured");
    is_int(json_integer_value(json_object_get(json_object_get(x,
               "connections"), "down")), 1, "one connection down");

    x = json_array_get(json_object_get(j, "jwks"), 0);
    is_str(json_string_value(json_object_get(x, "issuer")), "idp",
           "the issuer (- is not listed)");
    is_int(json_array_size(json_object_get(j, "jwks")), 1, "one issuer");
    ok(json_is_null(json_object_get(x, "key_set_age")),
       "no key set yet: null");

    x = json_object_get(j, "zone");
    is_int(json_integer_value(json_object_get(x, "used")), 4096, "zone used");
    is_int(json_integer_value(json_object_get(json_object_get(j,
               "idempotency"), "replayed")), 4, "idempotency totals");

    json_decref(j);
    free(text);
    free(v);
    lg_metrics_layout_free(l);
}


static void
test_negotiate(void)
{
    const char  *a;

    a = "application/openmetrics-text;version=1.0.0,application/"
        "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
        "q=0.5,*/*;q=0.1";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_OPENMETRICS,
           "Prometheus' Accept gets OpenMetrics");

    a = "*/*";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_PROMETHEUS,
           "curl gets the text format");
    is_int(lg_metrics_negotiate("", 0), LG_METRICS_PROMETHEUS,
           "no Accept: the text format");

    a = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
        "image/webp,*/*;q=0.8";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_HTML,
           "a browser gets the page");

    a = "application/json";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_JSON,
           "the page's fetch gets JSON");

    a = "application/openmetrics-text; version=0.0.1";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_PROMETHEUS,
           "an OpenMetrics version we do not write: text");

    a = "text/plain;version=0.0.4;q=0.5,application/openmetrics-text;q=0.4";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_PROMETHEUS,
           "q decides");

    a = "application/openmetrics-text;q=0.5, text/plain;q=0.5";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_OPENMETRICS,
           "a tie goes to OpenMetrics");

    a = "text/html;q=0, application/json;q=0.2";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_JSON,
           "q=0 excludes");

    a = "APPLICATION/OPENMETRICS-TEXT";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_OPENMETRICS,
           "media types are case-insensitive");

    a = "application/openmetrics-text;q=abc";
    is_int(lg_metrics_negotiate(a, strlen(a)), LG_METRICS_PROMETHEUS,
           "a bad q counts as 0");
}


static void
test_remap(const lg_policy_t *pa, const lg_policy_t *pb)
{
    char                   *copy;
    size_t                  n, size, slot;
    uint64_t               *va, *vb, *w1, *w2, *sum;
    lg_metrics_layout_t    *a, *b;
    lg_metrics_options_t    opts;
    const lg_metrics_layout_t  *c;

    opts.per_partner = 1;
    a = lg_metrics_layout(pa, &opts);
    b = lg_metrics_layout(pb, &opts);

    va = calloc(lg_metrics_nslots(a), sizeof(uint64_t));
    vb = calloc(lg_metrics_nslots(b), sizeof(uint64_t));

    /* acme (in both), beta (gone), ship.list v2 (in both), create (gone) */

    va[lg_metrics_slot2(a, LG_MF_PARTNER_REQUESTS, 1, LG_DECISION_ALLOW)] =
        11;
    va[lg_metrics_slot2(a, LG_MF_PARTNER_REQUESTS, 2, LG_DECISION_ALLOW)] =
        22;
    va[lg_metrics_slot3(a, LG_MF_UPSTREAM_RESPONSES, 1, 2, LG_STATUS_2XX)] =
        33;
    va[lg_metrics_slot3(a, LG_MF_UPSTREAM_RESPONSES, 1, 3, LG_STATUS_2XX)] =
        44;
    lg_metrics_observe(a, va, LG_MF_REQUEST_DURATION,
                       lg_metrics_slot1(a, LG_MF_REQUEST_DURATION, 2), 7000);
    va[lg_metrics_slot1(a, LG_MF_REDIS_CONNECTIONS, LG_CONN_CONNECTED)] = 1;
    va[lg_metrics_slot0(a, LG_MF_POLICY_RELOADS)] = 5;
    lg_metrics_set(a, va, lg_metrics_slot1(a, LG_MF_ZONE_BYTES, 0), 77);

    n = lg_metrics_remap(a, va, b, vb, LG_METRICS_ADD_KEPT);
    ok(n > 0 && n != (size_t) -1, "remap carried %zu series", n);

    /* in B: partners -, acme, gamma (sorted as the policy lists them) */

    slot = lg_metrics_slot2(b, LG_MF_PARTNER_REQUESTS,
                            lg_metrics_partner(b, &pb->partners[1]),
                            LG_DECISION_ALLOW);
    is_str(pb->partners[1].id.data, "acme", "fixture: B's partner 1");
    is_int(vb[slot], 11, "acme's count carried to its new index");

    slot = lg_metrics_slot2(b, LG_MF_PARTNER_REQUESTS,
                            lg_metrics_partner(b, &pb->partners[0]),
                            LG_DECISION_ALLOW);
    is_int(vb[slot], 0, "gamma starts at 0 (beta's count is not its)");

    slot = lg_metrics_slot3(b, LG_MF_UPSTREAM_RESPONSES,
                            lg_metrics_partner(b, &pb->partners[1]),
                            lg_metrics_route(b, pb->routes[1],
                                             &pb->apis[0].versions[1]),
                            LG_STATUS_2XX);
    is_int(vb[slot], 33, "acme on ship.list v2 carried");

    slot = lg_metrics_slot1(b, LG_MF_REQUEST_DURATION,
                            lg_metrics_route(b, pb->routes[1],
                                             &pb->apis[0].versions[1]));
    is_int(vb[slot + 1], 1, "a histogram carried bucket by bucket");
    is_int(vb[slot + lg_metric_width(LG_MF_REQUEST_DURATION) - 1], 7000,
           "with its sum");

    is_int(vb[lg_metrics_slot1(b, LG_MF_REDIS_CONNECTIONS,
                               LG_CONN_CONNECTED)], 0,
           "kept: a worker's state gauge is not carried");
    is_int(vb[lg_metrics_slot0(b, LG_MF_POLICY_RELOADS)], 5,
           "the reload counter carried");
    is_int(vb[lg_metrics_slot1(b, LG_MF_ZONE_BYTES, 0)], 0,
           "scrape gauges are never carried");

    n = 0;

    for (slot = 0; slot < lg_metrics_nslots(b); slot++) {
        n += vb[slot];
    }

    is_int(n, 11 + 33 + 1 + 7000 + 5,
           "nothing else arrived (beta and ship.create dropped)");

    /* all: state gauges too */

    memset(vb, 0, lg_metrics_nslots(b) * sizeof(uint64_t));
    (void) lg_metrics_remap(a, va, b, vb, LG_METRICS_ADD_ALL);
    is_int(vb[lg_metrics_slot1(b, LG_MF_REDIS_CONNECTIONS,
                               LG_CONN_CONNECTED)], 1,
           "all: state gauges carried");

    /* same layout: a plain sum */

    w1 = calloc(lg_metrics_nslots(a), sizeof(uint64_t));
    w2 = calloc(lg_metrics_nslots(a), sizeof(uint64_t));
    sum = calloc(lg_metrics_nslots(a), sizeof(uint64_t));

    w1[lg_metrics_slot2(a, LG_MF_REQUESTS, 1, LG_DECISION_ALLOW)] = 3;
    w2[lg_metrics_slot2(a, LG_MF_REQUESTS, 1, LG_DECISION_ALLOW)] = 4;
    w1[lg_metrics_slot1(a, LG_MF_REDIS_CONNECTIONS, LG_CONN_CONNECTED)] = 1;
    w2[lg_metrics_slot1(a, LG_MF_REDIS_CONNECTIONS, LG_CONN_CONNECTED)] = 1;
    w1[lg_metrics_slot1(a, LG_MF_ZONE_BYTES, 0)] = 9;

    lg_metrics_add(a, sum, w1, LG_METRICS_ADD_ALL);
    lg_metrics_add(a, sum, w2, LG_METRICS_ADD_ALL);

    is_int(sum[lg_metrics_slot2(a, LG_MF_REQUESTS, 1, LG_DECISION_ALLOW)], 7,
           "two workers' counters summed");
    is_int(sum[lg_metrics_slot1(a, LG_MF_REDIS_CONNECTIONS,
                                LG_CONN_CONNECTED)], 2,
           "two workers connected");
    is_int(sum[lg_metrics_slot1(a, LG_MF_ZONE_BYTES, 0)], 0,
           "scrape gauges are not summed");

    memset(sum, 0, lg_metrics_nslots(a) * sizeof(uint64_t));
    n = lg_metrics_remap(a, w1, a, sum, LG_METRICS_ADD_KEPT);
    is_int(sum[lg_metrics_slot2(a, LG_MF_REQUESTS, 1, LG_DECISION_ALLOW)], 3,
           "remap onto the same layout adds");
    is_int(sum[lg_metrics_slot1(a, LG_MF_REDIS_CONNECTIONS,
                                LG_CONN_CONNECTED)], 0,
           "kept: without the state gauge");

    /* a copy of the block, as read back from shared memory */

    size = lg_metrics_layout_size(a);
    copy = malloc(size);       /* malloc() aligns for any type */
    memcpy(copy, a, size);

    c = lg_metrics_layout_check(copy, size);
    ok(c != NULL && lg_metrics_layout_equal(c, a), "a copy checks and equals");
    ok(c != NULL && lg_metrics_slot2(c, LG_MF_REQUESTS, 1, 0)
                    == lg_metrics_slot2(a, LG_MF_REQUESTS, 1, 0),
       "and numbers series the same way");
    ok(lg_metrics_layout_check(copy, size - 1) == NULL,
       "a truncated block is refused");
    ok(lg_metrics_layout_check(copy + 0, 16) == NULL,
       "a header-sized piece is refused");

    copy[0] ^= 1;
    ok(lg_metrics_layout_check(copy, size) == NULL, "a bad magic is refused");
    copy[0] ^= 1;

    ((lg_metrics_layout_t *) copy)->nslots += 1000000;
    ok(lg_metrics_layout_check(copy, size) == NULL,
       "slots beyond the last family are refused");
    ((lg_metrics_layout_t *) copy)->nslots -= 1000000;

    ((lg_metrics_layout_t *) copy)->dims[LG_DIM_STATUS_CLASS].n = 2;
    ok(lg_metrics_layout_check(copy, size) == NULL,
       "an enumeration of another size is refused");
    ((lg_metrics_layout_t *) copy)->dims[LG_DIM_STATUS_CLASS].n =
        LG_STATUS_LAST;
    ok(lg_metrics_layout_check(copy, size) != NULL, "restored, it checks");

    /* the first value offset of the partner dimension, pointed away */
    ((uint32_t *) (copy + ((lg_mdim_t *) (copy + offsetof(
        lg_metrics_layout_t, dims)))[LG_DIM_PARTNER].values))[0] = size + 64;
    ok(lg_metrics_layout_check(copy, size) == NULL,
       "a value outside the block is refused");

    free(copy);
    free(w1);
    free(w2);
    free(sum);
    free(va);
    free(vb);
    lg_metrics_layout_free(a);
    lg_metrics_layout_free(b);
}


int
main(void)
{
    const char   *dir, *fa, *fb;
    lg_error_t    err;
    lg_policy_t  *pa, *pb;

    test_words();
    test_table();
    test_negotiate();

    dir = lg_fixture_dir();
    lg_fixture_write(dir, "secret",
                     "0123456789abcdef0123456789abcdef0123456789abcdef");
    fa = strdup(lg_fixture_write(dir, "a.json", lg_policy_a));
    fb = strdup(lg_fixture_write(dir, "b.json", lg_policy_b));

    pa = lg_policy_load(fa, &err);
    if (!ok(pa != NULL, "policy A compiles")) {
        printf("# %s\n", err.text);
        lg_fixture_cleanup(dir);
        return lg_unit_done();
    }

    pb = lg_policy_load(fb, &err);
    if (!ok(pb != NULL, "policy B compiles")) {
        printf("# %s\n", err.text);
        lg_fixture_cleanup(dir);
        return lg_unit_done();
    }

    test_layout(pa);
    test_observe(pa);
    test_render(pa);
    test_json(pa);
    test_remap(pa, pb);

    lg_policy_free(pa);
    lg_policy_free(pb);
    free((void *) fa);
    free((void *) fb);
    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
