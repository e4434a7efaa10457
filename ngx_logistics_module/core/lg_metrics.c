
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "lg_metrics.h"
#include "lg_metrics_int.h"


#define lg_s(text)  { text, sizeof(text) - 1 }


/*
 * The decision words.  The order is the enum's; a refusal names the
 * problem type it answers with (what ngx_http_logistics_deny() is given
 * today beside the word) and its status, which is that type's.
 */

static const lg_decision_word_t  lg_decisions[LG_DECISION_LAST] = {
    { lg_s("allow"), 0, LG_PROBLEM_LAST,
      "forwarded to Odoo" },
    { lg_s("options"), 204, LG_PROBLEM_LAST,
      "OPTIONS on a known path, answered with Allow" },
    { lg_s("replayed"), 0, LG_PROBLEM_LAST,
      "the stored response of an earlier request with the same "
      "Idempotency-Key" },
    { lg_s("duplicate-header"), 400, LG_PROBLEM_AMBIGUOUS,
      "a header that must appear once came twice" },
    { lg_s("version-required"), 400, LG_PROBLEM_VERSION_REQUIRED,
      "no /vN/ prefix and no valid API-Version header" },
    { lg_s("not-found"), 404, LG_PROBLEM_NOT_FOUND,
      "no route for the path in this version" },
    { lg_s("method-not-allowed"), 405, LG_PROBLEM_METHOD_NOT_ALLOWED,
      "known path, other method" },
    { lg_s("version-sunset"), 410, LG_PROBLEM_VERSION_SUNSET,
      "the version is past its sunset" },
    { lg_s("missing-credentials"), 401, LG_PROBLEM_UNAUTHORIZED,
      "no credentials were sent" },
    { lg_s("malformed-credentials"), 401, LG_PROBLEM_UNAUTHORIZED,
      "credentials that cannot be read (two differing keys, bad syntax)" },
    { lg_s("api-key-not-accepted"), 401, LG_PROBLEM_UNAUTHORIZED,
      "an API key on a route that does not take API keys" },
    { lg_s("bearer-not-accepted"), 401, LG_PROBLEM_UNAUTHORIZED,
      "a bearer token on a route that does not take tokens" },
    { lg_s("unknown-key"), 401, LG_PROBLEM_UNAUTHORIZED,
      "no partner has this API key" },
    { lg_s("expired-key"), 401, LG_PROBLEM_UNAUTHORIZED,
      "the API key has expired" },
    { lg_s("key-not-yet-valid"), 401, LG_PROBLEM_UNAUTHORIZED,
      "the API key is not valid yet" },
    { lg_s("suspended-partner"), 401, LG_PROBLEM_UNAUTHORIZED,
      "the partner is suspended" },
    { lg_s("invalid-token"), 401, LG_PROBLEM_INVALID_TOKEN,
      "the bearer token failed verification" },
    { lg_s("unknown-issuer"), 401, LG_PROBLEM_INVALID_TOKEN,
      "the token's issuer is not trusted" },
    { lg_s("revoked-token"), 401, LG_PROBLEM_INVALID_TOKEN,
      "the token's jti was revoked" },
    { lg_s("certificate-mismatch"), 401, LG_PROBLEM_INVALID_TOKEN,
      "the token is bound to another client certificate" },
    { lg_s("unknown-certificate"), 401, LG_PROBLEM_UNAUTHORIZED,
      "the client certificate belongs to no partner" },
    { lg_s("keys-unavailable"), 503, LG_PROBLEM_UNAVAILABLE,
      "the issuer's first key set is still being fetched" },
    { lg_s("unknown-partner"), 403, LG_PROBLEM_UNKNOWN_PARTNER,
      "a valid token whose partner claim names no partner" },
    { lg_s("route-not-allowed"), 403, LG_PROBLEM_ROUTE_NOT_ALLOWED,
      "the route is not in the partner's routes list" },
    { lg_s("insufficient-scope"), 403, LG_PROBLEM_INSUFFICIENT_SCOPE,
      "the caller lacks a scope" },
    { lg_s("rate-limited"), 429, LG_PROBLEM_RATE_LIMITED,
      "a partner or route limit is exhausted" },
    { lg_s("state-unavailable"), 503, LG_PROBLEM_UNAVAILABLE,
      "Redis cannot answer and the fail mode is closed" },
    { lg_s("body-not-allowed"), 400, LG_PROBLEM_BODY_NOT_ALLOWED,
      "a body on a route that takes none" },
    { lg_s("unsupported-media-type"), 415, LG_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
      "a schema route called without a JSON body" },
    { lg_s("body-too-large"), 413, LG_PROBLEM_BODY_TOO_LARGE,
      "the body is over max_body_size" },
    { lg_s("body-unreadable"), 400, LG_PROBLEM_BAD_REQUEST,
      "nginx could not read the body (bad chunks)" },
    { lg_s("malformed-body"), 400, LG_PROBLEM_MALFORMED_BODY,
      "the body is not well-formed JSON" },
    { lg_s("invalid-body"), 422, LG_PROBLEM_INVALID_BODY,
      "the body breaks the route's JSON Schema" },
    { lg_s("idempotency-key-missing"), 400, LG_PROBLEM_IDEM_KEY,
      "the route requires an Idempotency-Key" },
    { lg_s("idempotency-key-malformed"), 400, LG_PROBLEM_IDEM_KEY,
      "the Idempotency-Key is not valid" },
    { lg_s("idempotency-conflict"), 409, LG_PROBLEM_IDEM_CONFLICT,
      "a request with the same key is in flight" },
    { lg_s("idempotency-mismatch"), 422, LG_PROBLEM_IDEM_MISMATCH,
      "the key was used for a different request" },
    { lg_s("idempotency-response-gone"), 410, LG_PROBLEM_IDEM_GONE,
      "the original response was too large to keep" },
    { lg_s("idempotency-store-full"), 503, LG_PROBLEM_UNAVAILABLE,
      "the idempotency zone is full of live records" },
    { lg_s("concurrency-limited"), 429, LG_PROBLEM_CONCURRENCY_LIMITED,
      "the partner holds its max_in_flight requests inside Odoo" },
    { lg_s("odoo-saturated"), 503, LG_PROBLEM_ODOO_SATURATED,
      "no Odoo slot is free for the request's priority class" },
    { lg_s("odoo-unavailable"), 503, LG_PROBLEM_ODOO_UNAVAILABLE,
      "the circuit breaker in front of Odoo is open" },
    { lg_s("degraded"), 503, LG_PROBLEM_DEGRADED,
      "the brownout sheds the request's priority class" },
    { lg_s("internal-error"), 500, LG_PROBLEM_INTERNAL,
      "the gateway failed" },
    { lg_s("gateway-bypassed"), 500, LG_PROBLEM_INTERNAL,
      "a request that skipped the access phase reached a gateway "
      "location's content" },
    { lg_s("webhook-signature-missing"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook without its signature header" },
    { lg_s("webhook-timestamp-missing"), 401, LG_PROBLEM_WEBHOOK_TIMESTAMP,
      "a webhook without the timestamp its scheme signs" },
    { lg_s("webhook-id-missing"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook without the id its scheme signs" },
    { lg_s("webhook-header-duplicate"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook header sent twice" },
    { lg_s("webhook-header-too-long"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook header over 4 KB" },
    { lg_s("webhook-signature-malformed"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook signature that cannot be read" },
    { lg_s("webhook-timestamp-malformed"), 401, LG_PROBLEM_WEBHOOK_TIMESTAMP,
      "a webhook timestamp that is not unix seconds" },
    { lg_s("webhook-id-malformed"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook id that is not 1 to 255 visible characters" },
    { lg_s("webhook-too-many-signatures"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "more than 8 signatures in one header" },
    { lg_s("webhook-signature-unsupported"), 401,
      LG_PROBLEM_INVALID_SIGNATURE,
      "no signature of a kind the partner's keys can check" },
    { lg_s("webhook-signature-invalid"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "no signature matches the body with the partner's secrets" },
    { lg_s("webhook-timestamp-too-old"), 401, LG_PROBLEM_WEBHOOK_TIMESTAMP,
      "a webhook signed longer ago than the tolerance" },
    { lg_s("webhook-timestamp-in-future"), 401, LG_PROBLEM_WEBHOOK_TIMESTAMP,
      "a webhook signed further ahead than the tolerance" },
    { lg_s("webhook-internal-error"), 500, LG_PROBLEM_INTERNAL,
      "the gateway failed to check a webhook signature" },
    { lg_s("webhook-partner-unknown"), 401, LG_PROBLEM_INVALID_SIGNATURE,
      "a webhook URL naming no partner that sends webhooks" },
    { lg_s("no-subscription"), 404, LG_PROBLEM_NO_SUBSCRIPTION,
      "an event from Odoo for a partner or event type without a "
      "subscription" },
    { lg_s("-"), 0, LG_PROBLEM_LAST,
      "the request ended before a decision (client gone while waiting)" },
};


static const char *const  lg_status_words[] = {
    "2xx", "3xx", "4xx", "5xx", "other"
};

static const char *const  lg_auth_method_words[] = {
    "none", "api_key", "bearer", "mtls", "webhook"
};

static const char *const  lg_auth_result_words[] = {
    "success", "failure"
};

static const char *const  lg_limit_words[] = { "partner", "route" };

static const char *const  lg_backend_words[] = { "zone", "redis" };

static const char *const  lg_rate_words[] = { "allowed", "limited" };

static const char *const  lg_redis_command_words[] = {
    "limit", "store", "setup", "poll"
};

static const char *const  lg_redis_error_words[] = {
    "connect", "io", "reply"
};

static const char *const  lg_fail_mode_words[] = { "open", "closed" };

static const char *const  lg_conn_words[] = {
    "connected", "connecting", "down"
};

static const char *const  lg_jwks_words[] = {
    "ok", "http-error", "invalid", "failed"
};

static const char *const  lg_cache_words[] = { "hit", "miss" };

static const char *const  lg_idem_words[] = {
    "new", "replayed", "conflict", "mismatch", "bypassed"
};

static const char *const  lg_zone_words[] = { "used", "free" };

static const char *const  lg_evict_words[] = {
    "rate-limit", "token", "jwks", "idempotency"
};


/* a dimension: its label names and, for enumerations, the words */

typedef struct {
    const char           *label[2];
    const char *const    *words;     /* NULL: from the policy */
    size_t                nwords;
} lg_metrics_dim_t;


#define lg_enum(label, words)                                                 \
    { { label, NULL }, words, sizeof(words) / sizeof(words[0]) }

static const lg_metrics_dim_t  lg_dims[LG_DIM_LAST] = {
    { { "partner", NULL }, NULL, 0 },
    { { "route", "version" }, NULL, 0 },
    { { "issuer", NULL }, NULL, 0 },
    { { "decision", NULL }, NULL, LG_DECISION_LAST },
    lg_enum("status_class", lg_status_words),
    lg_enum("method", lg_auth_method_words),
    lg_enum("result", lg_auth_result_words),
    lg_enum("limit", lg_limit_words),
    lg_enum("backend", lg_backend_words),
    lg_enum("outcome", lg_rate_words),
    lg_enum("command", lg_redis_command_words),
    lg_enum("kind", lg_redis_error_words),
    lg_enum("mode", lg_fail_mode_words),
    lg_enum("state", lg_conn_words),
    lg_enum("outcome", lg_jwks_words),
    lg_enum("result", lg_cache_words),
    lg_enum("outcome", lg_idem_words),
    lg_enum("state", lg_zone_words),
    lg_enum("kind", lg_evict_words),
};


/*
 * Latency buckets.  Odoo answers a read in tens of milliseconds and a
 * batch import in tens of seconds, so the request buckets span 5 ms to
 * 30 s; Redis round trips and schema validation are micro- to
 * milliseconds.  The "le" texts are OpenMetrics' canonical renderings,
 * used in both formats so a series keeps its labels whichever format a
 * scraper negotiates.
 */

static const uint64_t  lg_erp_bound[] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000, 30000000
};

static const char  *lg_erp_le[] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5",
    "5.0", "10.0", "30.0"
};

static const lg_metric_buckets_t  lg_erp_buckets = {
    sizeof(lg_erp_bound) / sizeof(lg_erp_bound[0]), lg_erp_bound, lg_erp_le
};

static const uint64_t  lg_fast_bound[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000
};

static const char  *lg_fast_le[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1"
};

static const lg_metric_buckets_t  lg_fast_buckets = {
    sizeof(lg_fast_bound) / sizeof(lg_fast_bound[0]), lg_fast_bound,
    lg_fast_le
};


#define C  LG_METRIC_COUNTER
#define G  LG_METRIC_GAUGE
#define H  LG_METRIC_HISTOGRAM
#define I  LG_METRIC_INFO
#define W  LG_SOURCE_WORKER
#define WS LG_SOURCE_WORKER_STATE
#define S  LG_SOURCE_SCRAPE

/*
 * Every family the gateway exposes.  Requests are counted in three
 * families rather than one with partner, route, version and decision
 * together: that product is partners x routes x ~40 words (800,000
 * series for 1,000 partners and 20 routes), while route x decision,
 * partner x decision and partner x route x status class answer the same
 * questions (who fails, where, and whether it is the partner or Odoo)
 * at a tenth of the size.
 */

static const lg_metric_family_t  lg_families[LG_MF_LAST] = {

    { "logistics_requests", C, W, NULL,
      "Requests the gateway decided, by route, API version and decision "
      "(allow, options, replayed or the reason of a refusal).",
      2, { LG_DIM_ROUTE, LG_DIM_DECISION }, NULL },

    { "logistics_partner_requests", C, W, NULL,
      "Requests by partner and decision (partner - until a partner is "
      "known).",
      2, { LG_DIM_PARTNER, LG_DIM_DECISION }, NULL },

    { "logistics_upstream_responses", C, W, NULL,
      "Responses of Odoo to forwarded requests, by partner, route, API "
      "version and status class.",
      3, { LG_DIM_PARTNER, LG_DIM_ROUTE, LG_DIM_STATUS_CLASS }, NULL },

    { "logistics_request_duration_seconds", H, W, "seconds",
      "Time from the first byte of a request to the last byte of its "
      "response, by route and API version.",
      1, { LG_DIM_ROUTE }, &lg_erp_buckets },

    { "logistics_partner_request_duration_seconds", H, W, "seconds",
      "Request duration by partner: the latency a partner sees.",
      1, { LG_DIM_PARTNER }, &lg_erp_buckets },

    { "logistics_upstream_duration_seconds", H, W, "seconds",
      "Time Odoo took to answer forwarded requests, by route and API "
      "version.",
      1, { LG_DIM_ROUTE }, &lg_erp_buckets },

    { "logistics_authentications", C, W, NULL,
      "Authentication attempts by method and result.",
      2, { LG_DIM_AUTH_METHOD, LG_DIM_AUTH_RESULT }, NULL },

    { "logistics_rate_limit_decisions", C, W, NULL,
      "Rate-limit checks by partner, limit (the partner's own or its "
      "limit on a route), backend and outcome.",
      4, { LG_DIM_PARTNER, LG_DIM_LIMIT, LG_DIM_BACKEND,
           LG_DIM_RATE_OUTCOME }, NULL },

    { "logistics_redis_commands", C, W, NULL,
      "Commands sent to Redis, by kind.",
      1, { LG_DIM_REDIS_COMMAND }, NULL },

    { "logistics_redis_errors", C, W, NULL,
      "Redis failures by kind: connect, io (a connection broke), reply "
      "(an error answer).",
      1, { LG_DIM_REDIS_ERROR }, NULL },

    { "logistics_redis_timeouts", C, W, NULL,
      "Redis commands that got no answer within the timeout.",
      0, { 0 }, NULL },

    { "logistics_redis_reconnects", C, W, NULL,
      "Attempts to connect to Redis again after a failure.",
      0, { 0 }, NULL },

    { "logistics_redis_fallbacks", C, W, NULL,
      "Requests decided by the fail mode because Redis could not answer: "
      "open (local limits) or closed (503).",
      1, { LG_DIM_FAIL_MODE }, NULL },

    { "logistics_redis_round_trip_seconds", H, W, "seconds",
      "Round-trip time of Redis commands.",
      0, { 0 }, &lg_fast_buckets },

    { "logistics_redis_connections", G, WS, NULL,
      "Redis connections of the worker processes, by state (each worker: "
      "the worst of its data connections).",
      1, { LG_DIM_CONN_STATE }, NULL },

    { "logistics_jwks_fetches", C, W, NULL,
      "Key set (JWKS) fetches by issuer and outcome.",
      2, { LG_DIM_ISSUER, LG_DIM_JWKS_OUTCOME }, NULL },

    { "logistics_jwks_key_set_age_seconds", G, S, "seconds",
      "Age of the key set each issuer's tokens are verified with (NaN: "
      "none yet).",
      1, { LG_DIM_ISSUER }, NULL },

    { "logistics_jwks_kid_misses", C, W, NULL,
      "Tokens whose key id was not in their issuer's key set.",
      1, { LG_DIM_ISSUER }, NULL },

    { "logistics_token_cache_lookups", C, W, NULL,
      "Verified-token cache lookups by issuer and result.",
      2, { LG_DIM_ISSUER, LG_DIM_CACHE_RESULT }, NULL },

    { "logistics_idempotency_requests", C, W, NULL,
      "Requests with an Idempotency-Key by partner and outcome.",
      2, { LG_DIM_PARTNER, LG_DIM_IDEM_OUTCOME }, NULL },

    { "logistics_idempotency_stored_bytes", C, W, "bytes",
      "Bytes of responses stored for idempotent replay.",
      0, { 0 }, NULL },

    { "logistics_schema_validation_failures", C, W, NULL,
      "Request bodies that broke their JSON Schema, by route and API "
      "version.",
      1, { LG_DIM_ROUTE }, NULL },

    { "logistics_schema_validation_duration_seconds", H, W, "seconds",
      "Time spent validating request bodies, by route and API version.",
      1, { LG_DIM_ROUTE }, &lg_fast_buckets },

    { "logistics_zone_bytes", G, S, "bytes",
      "Bytes of the logistics_zone shared memory, used and free.",
      1, { LG_DIM_ZONE_STATE }, NULL },

    { "logistics_zone_evictions", C, W, NULL,
      "Records dropped from the full zone to make room, by kind.",
      1, { LG_DIM_EVICTION }, NULL },

    { "logistics_policy", I, S, NULL,
      "The policy in use, by digest.",
      0, { 0 }, NULL },

    { "logistics_policy_load_timestamp_seconds", G, S, "seconds",
      "When the policy in use was loaded, in seconds since the epoch.",
      0, { 0 }, NULL },

    { "logistics_policy_reloads", C, W, NULL,
      "Policy loads since the metrics zone was created.",
      0, { 0 }, NULL },
};

#undef C
#undef G
#undef H
#undef I
#undef W
#undef WS
#undef S


static const char *const  lg_sample_names[LG_MF_LAST] = {
    "logistics_requests_total",
    "logistics_partner_requests_total",
    "logistics_upstream_responses_total",
    "logistics_request_duration_seconds",
    "logistics_partner_request_duration_seconds",
    "logistics_upstream_duration_seconds",
    "logistics_authentications_total",
    "logistics_rate_limit_decisions_total",
    "logistics_redis_commands_total",
    "logistics_redis_errors_total",
    "logistics_redis_timeouts_total",
    "logistics_redis_reconnects_total",
    "logistics_redis_fallbacks_total",
    "logistics_redis_round_trip_seconds",
    "logistics_redis_connections",
    "logistics_jwks_fetches_total",
    "logistics_jwks_key_set_age_seconds",
    "logistics_jwks_kid_misses_total",
    "logistics_token_cache_lookups_total",
    "logistics_idempotency_requests_total",
    "logistics_idempotency_stored_bytes_total",
    "logistics_schema_validation_failures_total",
    "logistics_schema_validation_duration_seconds",
    "logistics_zone_bytes",
    "logistics_zone_evictions_total",
    "logistics_policy_info",
    "logistics_policy_load_timestamp_seconds",
    "logistics_policy_reloads_total",
};


/* a growing block; offsets stay valid across realloc() */

typedef struct {
    char                 *data;
    size_t                len;
    size_t                cap;
    int                   failed;
} lg_mbuf_t;


static uint32_t lg_mbuf_alloc(lg_mbuf_t *b, size_t size);
static uint32_t lg_mbuf_value(lg_mbuf_t *b, lg_metrics_dim_e dim,
    const char *raw0, const char *raw1);
static size_t lg_metrics_escape(char *dst, const char *src, size_t len);


const lg_decision_word_t *
lg_decision(lg_decision_e decision)
{
    if ((unsigned) decision >= LG_DECISION_LAST) {
        decision = LG_DECISION_NONE;
    }

    return &lg_decisions[decision];
}


lg_decision_e
lg_decision_parse(const char *word, size_t len)
{
    size_t  i;

    for (i = 0; i < LG_DECISION_LAST; i++) {
        if (lg_decisions[i].word.len == len
            && memcmp(lg_decisions[i].word.data, word, len) == 0)
        {
            return (lg_decision_e) i;
        }
    }

    return LG_DECISION_LAST;
}


lg_status_class_e
lg_metrics_status_class(unsigned status)
{
    if (status >= 200 && status < 600) {
        return (lg_status_class_e) (status / 100 - 2);
    }

    return LG_STATUS_OTHER;
}


const lg_metric_family_t *
lg_metric_family(lg_metric_e family)
{
    if ((unsigned) family >= LG_MF_LAST) {
        return NULL;
    }

    return &lg_families[family];
}


const char *
lg_metric_sample_name(lg_metric_e family)
{
    if ((unsigned) family >= LG_MF_LAST) {
        return NULL;
    }

    return lg_sample_names[family];
}


size_t
lg_metrics_dim_labels(lg_metrics_dim_e dim)
{
    if ((unsigned) dim >= LG_DIM_LAST) {
        return 0;
    }

    return lg_dims[dim].label[1] != NULL ? 2 : 1;
}


const char *
lg_metrics_dim_label(lg_metrics_dim_e dim, size_t i)
{
    if ((unsigned) dim >= LG_DIM_LAST || i > 1) {
        return NULL;
    }

    return lg_dims[dim].label[i];
}


size_t
lg_metric_width(lg_metric_e family)
{
    const lg_metric_family_t  *f;

    f = lg_metric_family(family);

    if (f == NULL) {
        return 0;
    }

    /* buckets, +Inf, the sum in microseconds */
    return f->type == LG_METRIC_HISTOGRAM ? f->buckets->n + 2 : 1;
}


/*
 * The layout of a policy: the values of each dimension, then each family
 * as the product of its dimensions, in table order, one slot per series
 * (a run of slots for a histogram).
 */

lg_metrics_layout_t *
lg_metrics_layout(const lg_policy_t *policy,
    const lg_metrics_options_t *options)
{
    size_t                 i, j, k, n, nseries;
    uint32_t               off, name;
    uint64_t               slots, bit;
    lg_mbuf_t              b;
    lg_mdim_t             *d;
    lg_mfam_t             *mf;
    lg_route_t            *route;
    lg_metrics_layout_t   *l;
    const lg_metric_family_t  *f;

    memset(&b, 0, sizeof(b));

    if (lg_mbuf_alloc(&b, sizeof(lg_metrics_layout_t)) != 0) {
        free(b.data);
        return NULL;
    }

#define lg_layout()  ((lg_metrics_layout_t *) b.data)

    lg_layout()->magic = LG_METRICS_MAGIC;
    lg_layout()->nfamilies = LG_MF_LAST;
    lg_layout()->ndims = LG_DIM_LAST;

    if (options != NULL && options->per_partner) {
        lg_layout()->flags |= LG_METRICS_PER_PARTNER;
    }

    /* the first series of each route: "-", then route x its versions */

    lg_layout()->nroutes = (uint32_t) policy->nroutes;
    off = lg_mbuf_alloc(&b, policy->nroutes * sizeof(uint32_t));
    lg_layout()->route_base = off;

    n = 1;

    for (i = 0; i < policy->nroutes && !b.failed; i++) {
        ((uint32_t *) (b.data + off))[i] = (uint32_t) n;
        n += (size_t) __builtin_popcountll(policy->routes[i]->versions);
    }

    for (i = 0; i < LG_DIM_LAST && !b.failed; i++) {

        switch (i) {

        case LG_DIM_PARTNER:
            n = (lg_layout()->flags & LG_METRICS_PER_PARTNER)
                ? policy->npartners + 1 : 1;
            break;

        case LG_DIM_ROUTE:
            n = 1;
            for (j = 0; j < policy->nroutes; j++) {
                n += (size_t) __builtin_popcountll(
                                                policy->routes[j]->versions);
            }
            break;

        case LG_DIM_ISSUER:
            n = policy->nissuers + 1;
            break;

        default:
            n = lg_dims[i].nwords;
        }

        off = lg_mbuf_alloc(&b, n * sizeof(uint32_t));

        if (b.failed) {
            break;
        }

        d = &lg_layout()->dims[i];
        d->n = (uint32_t) n;
        d->nlabels = lg_dims[i].label[1] != NULL ? 2 : 1;
        d->values = off;

#define lg_put(k, r0, r1)                                                     \
        do {                                                                  \
            uint32_t  v_ = lg_mbuf_value(&b, (lg_metrics_dim_e) i, r0, r1);   \
            if (!b.failed) {                                                  \
                ((uint32_t *) (b.data + off))[k] = v_;                        \
            }                                                                 \
        } while (0)

        switch (i) {

        case LG_DIM_PARTNER:
            lg_put(0, "-", NULL);
            for (j = 1; j < n; j++) {
                lg_put(j, policy->partners[j - 1].id.data, NULL);
            }
            break;

        case LG_DIM_ROUTE:
            lg_put(0, "-", "-");
            k = 1;
            for (j = 0; j < policy->nroutes; j++) {
                route = policy->routes[j];
                for (bit = 0; bit < route->api->nversions && bit < 64; bit++)
                {
                    if (route->versions & ((uint64_t) 1 << bit)) {
                        lg_put(k, route->id.data,
                               route->api->versions[bit].name.data);
                        k++;
                    }
                }
            }
            break;

        case LG_DIM_ISSUER:
            lg_put(0, "-", NULL);
            for (j = 1; j < n; j++) {
                lg_put(j, policy->issuers[j - 1].name.data, NULL);
            }
            break;

        case LG_DIM_DECISION:
            for (j = 0; j < n; j++) {
                lg_put(j, lg_decisions[j].word.data, NULL);
            }
            break;

        default:
            for (j = 0; j < n; j++) {
                lg_put(j, lg_dims[i].words[j], NULL);
            }
        }

#undef lg_put
    }

    /* the families */

    slots = 0;

    for (i = 0; i < LG_MF_LAST && !b.failed; i++) {
        f = &lg_families[i];

        n = strlen(f->name);
        name = lg_mbuf_alloc(&b, n + 1);

        if (b.failed) {
            break;
        }

        memcpy(b.data + name, f->name, n + 1);

        mf = &lg_layout()->families[i];
        mf->name = name;
        mf->type = f->type;
        mf->source = f->source;
        mf->ndims = 0;
        mf->width = (uint32_t) lg_metric_width((lg_metric_e) i);

        nseries = 1;

        for (j = 0; j < f->ndims; j++) {
            mf->dims[mf->ndims++] = f->dims[j];
            nseries *= lg_layout()->dims[f->dims[j]].n;
        }

        mf->nseries = (uint32_t) nseries;
        mf->base = slots;

        slots += (uint64_t) nseries * mf->width;

        if (nseries > UINT32_MAX || slots > (UINT32_MAX / 2)) {
            b.failed = 1;
        }
    }

#undef lg_layout

    if (b.failed || b.len > UINT32_MAX) {
        free(b.data);
        return NULL;
    }

    l = (lg_metrics_layout_t *) b.data;
    l->nslots = slots;
    l->size = (uint32_t) b.len;

    return l;
}


void
lg_metrics_layout_free(lg_metrics_layout_t *layout)
{
    free(layout);
}


size_t
lg_metrics_layout_size(const lg_metrics_layout_t *layout)
{
    return layout->size;
}


int
lg_metrics_layout_equal(const lg_metrics_layout_t *a,
    const lg_metrics_layout_t *b)
{
    return a->size == b->size && memcmp(a, b, a->size) == 0;
}


/*
 * Everything a reader relies on is checked: a block from another build
 * of the module (other families, other dimensions) or a damaged one is
 * refused rather than read out of bounds.
 */

const lg_metrics_layout_t *
lg_metrics_layout_check(const void *block, size_t size)
{
    size_t                      i, j, k, nseries, len;
    uint64_t                    end;
    const char                 *p;
    const uint32_t             *values, *bases;
    const lg_mdim_t            *d;
    const lg_mfam_t            *mf;
    const lg_mvalue_t          *v;
    const lg_metrics_layout_t  *l;

    l = block;

    if (size < sizeof(lg_metrics_layout_t)
        || ((uintptr_t) block & 7) != 0
        || l->magic != LG_METRICS_MAGIC
        || l->size < sizeof(lg_metrics_layout_t) || l->size > size
        || l->nfamilies != LG_MF_LAST || l->ndims != LG_DIM_LAST)
    {
        return NULL;
    }

    size = l->size;

    if (l->route_base % 4 != 0
        || (uint64_t) l->route_base + (uint64_t) l->nroutes * 4 > size)
    {
        return NULL;
    }

    bases = (const uint32_t *) lg_metrics_at(l, l->route_base);

    for (i = 0; i < LG_DIM_LAST; i++) {
        d = &l->dims[i];

        /* an enumeration has exactly its words: the writers rely on it */

        if (d->n == 0 || d->nlabels != lg_metrics_dim_labels(i)
            || (lg_dims[i].nwords != 0 && d->n != lg_dims[i].nwords)
            || d->values % 4 != 0
            || (uint64_t) d->values + (uint64_t) d->n * 4 > size)
        {
            return NULL;
        }

        values = (const uint32_t *) lg_metrics_at(l, d->values);

        for (j = 0; j < d->n; j++) {
            if (values[j] % 4 != 0
                || (uint64_t) values[j] + sizeof(lg_mvalue_t) > size)
            {
                return NULL;
            }

            v = (const lg_mvalue_t *) lg_metrics_at(l, values[j]);

            end = (uint64_t) values[j] + sizeof(lg_mvalue_t)
                  + (uint64_t) v->frag_len + 1 + v->raw_len[0] + 1
                  + (d->nlabels == 2 ? (uint64_t) v->raw_len[1] + 1 : 0);

            if (end > size) {
                return NULL;
            }

            p = lg_metrics_frag(v);

            if (p[v->frag_len] != '\0'
                || lg_metrics_raw(v, 0)[v->raw_len[0]] != '\0'
                || (d->nlabels == 2
                    && lg_metrics_raw(v, 1)[v->raw_len[1]] != '\0'))
            {
                return NULL;
            }

            /* and its words are this build's: the JSON view's bound */

            if (lg_dims[i].nwords != 0) {
                p = (i == LG_DIM_DECISION) ? lg_decisions[j].word.data
                                           : lg_dims[i].words[j];

                if (v->raw_len[0] != strlen(p)
                    || memcmp(lg_metrics_raw(v, 0), p, v->raw_len[0]) != 0)
                {
                    return NULL;
                }
            }
        }
    }

    for (i = 0; i < l->nroutes; i++) {
        if (bases[i] == 0 || bases[i] > l->dims[LG_DIM_ROUTE].n) {
            return NULL;
        }
    }

    /* the families follow each other from slot 0 to the last */

    end = 0;

    for (i = 0; i < LG_MF_LAST; i++) {
        mf = &l->families[i];

        if (mf->name >= size || mf->type != lg_families[i].type
            || mf->source != lg_families[i].source
            || mf->width != lg_metric_width(i)
            || mf->ndims != lg_families[i].ndims)
        {
            return NULL;
        }

        len = strnlen(lg_metrics_at(l, mf->name), size - mf->name);

        if (len == size - mf->name
            || strcmp(lg_metrics_at(l, mf->name), lg_families[i].name) != 0)
        {
            return NULL;
        }

        nseries = 1;

        for (k = 0; k < mf->ndims; k++) {
            if (mf->dims[k] != (uint32_t) lg_families[i].dims[k]) {
                return NULL;
            }

            nseries *= l->dims[mf->dims[k]].n;

            if (nseries > UINT32_MAX) {
                return NULL;
            }
        }

        if (nseries != mf->nseries || mf->base != end) {
            return NULL;
        }

        end += (uint64_t) mf->nseries * mf->width;

        if (end > UINT32_MAX / 2) {
            return NULL;
        }
    }

    if (end != l->nslots) {
        return NULL;
    }

    return l;
}


size_t
lg_metrics_nslots(const lg_metrics_layout_t *layout)
{
    return (size_t) layout->nslots;
}


size_t
lg_metrics_nseries(const lg_metrics_layout_t *layout, lg_metric_e family)
{
    if ((unsigned) family >= LG_MF_LAST) {
        return 0;
    }

    return layout->families[family].nseries;
}


size_t
lg_metrics_dim_size(const lg_metrics_layout_t *layout, lg_metrics_dim_e dim)
{
    if ((unsigned) dim >= LG_DIM_LAST) {
        return 0;
    }

    return layout->dims[dim].n;
}


lg_str_t
lg_metrics_dim_value(const lg_metrics_layout_t *layout, lg_metrics_dim_e dim,
    size_t i, size_t label)
{
    lg_str_t            s;
    const lg_mvalue_t  *v;

    s.data = NULL;
    s.len = 0;

    if ((unsigned) dim >= LG_DIM_LAST || i >= layout->dims[dim].n
        || label >= layout->dims[dim].nlabels)
    {
        return s;
    }

    v = lg_metrics_value(layout, dim, i);

    s.data = lg_metrics_raw(v, label);
    s.len = v->raw_len[label];

    return s;
}


size_t
lg_metrics_partner(const lg_metrics_layout_t *layout,
    const lg_partner_t *partner)
{
    size_t  i;

    if (partner == NULL || !(layout->flags & LG_METRICS_PER_PARTNER)) {
        return 0;
    }

    i = partner->index + 1;

    return i < layout->dims[LG_DIM_PARTNER].n ? i : 0;
}


size_t
lg_metrics_route(const lg_metrics_layout_t *layout, const lg_route_t *route,
    const lg_version_t *version)
{
    size_t           i;
    uint64_t         below;
    const uint32_t  *bases;

    if (route == NULL || version == NULL || version->api != route->api
        || route->index >= layout->nroutes || version->index >= 64
        || !(route->versions & ((uint64_t) 1 << version->index)))
    {
        return 0;
    }

    bases = (const uint32_t *) lg_metrics_at(layout, layout->route_base);
    below = route->versions & (((uint64_t) 1 << version->index) - 1);

    i = bases[route->index] + (size_t) __builtin_popcountll(below);

    return i < layout->dims[LG_DIM_ROUTE].n ? i : 0;
}


size_t
lg_metrics_issuer(const lg_metrics_layout_t *layout,
    const lg_issuer_t *issuer)
{
    size_t  i;

    if (issuer == NULL) {
        return 0;
    }

    i = issuer->index + 1;

    return i < layout->dims[LG_DIM_ISSUER].n ? i : 0;
}


size_t
lg_metrics_slot(const lg_metrics_layout_t *layout, lg_metric_e family,
    const size_t *index)
{
    size_t            k, i, series;
    const lg_mfam_t  *mf;

    if ((unsigned) family >= LG_MF_LAST) {
        return 0;
    }

    mf = &layout->families[family];
    series = 0;

    for (k = 0; k < mf->ndims; k++) {
        i = index[k];

        if (i >= layout->dims[mf->dims[k]].n) {
            i = 0;
        }

        series = series * layout->dims[mf->dims[k]].n + i;
    }

    return (size_t) mf->base + series * mf->width;
}


size_t
lg_metrics_slot4(const lg_metrics_layout_t *layout, lg_metric_e family,
    size_t i0, size_t i1, size_t i2, size_t i3)
{
    size_t            k, i, n, series;
    const lg_mfam_t  *mf;
    size_t            index[LG_METRICS_MAX_DIMS];

    /* lg_metrics_slot() without the caller's array: counted per request */

    if ((unsigned) family >= LG_MF_LAST) {
        return 0;
    }

    index[0] = i0;
    index[1] = i1;
    index[2] = i2;
    index[3] = i3;

    mf = &layout->families[family];
    series = 0;

    for (k = 0; k < mf->ndims; k++) {
        n = layout->dims[mf->dims[k]].n;
        i = index[k] < n ? index[k] : 0;
        series = series * n + i;
    }

    return (size_t) mf->base + series * mf->width;
}


size_t
lg_metric_bucket(const lg_metric_buckets_t *buckets, uint64_t usec)
{
    size_t  lo, hi, mid;

    /* the first bound >= usec: "le" is inclusive */

    lo = 0;
    hi = buckets->n;

    while (lo < hi) {
        mid = (lo + hi) / 2;

        if (buckets->bound[mid] < usec) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


void
lg_metrics_observe(const lg_metrics_layout_t *layout, uint64_t *values,
    lg_metric_e family, size_t slot, uint64_t usec)
{
    const lg_metric_family_t  *f;

    f = lg_metric_family(family);

    if (f == NULL || f->type != LG_METRIC_HISTOGRAM
        || slot + f->buckets->n + 2 > layout->nslots)
    {
        return;
    }

    values[slot + lg_metric_bucket(f->buckets, usec)]++;
    values[slot + f->buckets->n + 1] += usec;
}


/*
 * Once per request, so the slots are computed here directly rather than
 * through lg_metrics_slot(), and the duration's bucket is looked up once
 * for both duration histograms (they share their buckets).
 */

#define lg_metrics_index(l, dim, i)                                          \
    ((i) < (l)->dims[dim].n ? (i) : 0)

void
lg_metrics_count_request(const lg_metrics_layout_t *layout, uint64_t *values,
    const lg_metrics_request_t *req)
{
    size_t            partner, route, decision, nbuckets, bucket, slot;
    const lg_mfam_t  *f;

    f = layout->families;

    partner = lg_metrics_index(layout, LG_DIM_PARTNER, req->partner);
    route = lg_metrics_index(layout, LG_DIM_ROUTE, req->route);
    decision = (unsigned) req->decision < LG_DECISION_LAST
               ? (size_t) req->decision : LG_DECISION_NONE;

    values[f[LG_MF_REQUESTS].base
           + route * LG_DECISION_LAST + decision]++;
    values[f[LG_MF_PARTNER_REQUESTS].base
           + partner * LG_DECISION_LAST + decision]++;

    nbuckets = lg_erp_buckets.n;
    bucket = lg_metric_bucket(&lg_erp_buckets, req->duration);

    slot = f[LG_MF_REQUEST_DURATION].base
           + route * f[LG_MF_REQUEST_DURATION].width;
    values[slot + bucket]++;
    values[slot + nbuckets + 1] += req->duration;

    slot = f[LG_MF_PARTNER_REQUEST_DURATION].base
           + partner * f[LG_MF_PARTNER_REQUEST_DURATION].width;
    values[slot + bucket]++;
    values[slot + nbuckets + 1] += req->duration;

    if (req->upstream_status != 0) {
        values[f[LG_MF_UPSTREAM_RESPONSES].base
               + (partner * layout->dims[LG_DIM_ROUTE].n + route)
                 * LG_STATUS_LAST
               + lg_metrics_status_class(req->upstream_status)]++;

        slot = f[LG_MF_UPSTREAM_DURATION].base
               + route * f[LG_MF_UPSTREAM_DURATION].width;
        values[slot + lg_metric_bucket(&lg_erp_buckets, req->upstream_time)]
            ++;
        values[slot + nbuckets + 1] += req->upstream_time;
    }

    if ((unsigned) req->idempotency < LG_IDEM_OUTCOME_LAST) {
        values[f[LG_MF_IDEMPOTENCY_REQUESTS].base
               + partner * LG_IDEM_OUTCOME_LAST + req->idempotency]++;
    }
}


void
lg_metrics_set(const lg_metrics_layout_t *layout, uint64_t *values,
    size_t slot, int64_t value)
{
    if (slot < layout->nslots) {
        values[slot] = (uint64_t) value;
    }
}


static uint32_t
lg_mbuf_alloc(lg_mbuf_t *b, size_t size)
{
    char    *p;
    size_t   off, need;

    if (b->failed) {
        return 0;
    }

    off = (b->len + 7) & ~(size_t) 7;
    need = off + size;

    if (need > UINT32_MAX) {
        b->failed = 1;
        return 0;
    }

    if (need > b->cap) {
        b->cap = b->cap ? b->cap : 4096;

        while (b->cap < need) {
            b->cap *= 2;
        }

        p = realloc(b->data, b->cap);
        if (p == NULL) {
            b->failed = 1;
            return 0;
        }

        b->data = p;
    }

    memset(b->data + b->len, 0, need - b->len);
    b->len = need;

    return (uint32_t) off;
}


/* a value record: the label text for the exposition, the raw values */

static uint32_t
lg_mbuf_value(lg_mbuf_t *b, lg_metrics_dim_e dim, const char *raw0,
    const char *raw1)
{
    char         *p;
    size_t        len0, len1, frag, n;
    uint32_t      off;
    lg_mvalue_t  *v;

    len0 = strlen(raw0);
    len1 = raw1 != NULL ? strlen(raw1) : 0;

    /* label="value" escaped: each byte at most 2 */
    frag = strlen(lg_dims[dim].label[0]) + 3 + 2 * len0;

    if (raw1 != NULL) {
        frag += 1 + strlen(lg_dims[dim].label[1]) + 3 + 2 * len1;
    }

    off = lg_mbuf_alloc(b, sizeof(lg_mvalue_t) + frag + 1 + len0 + 1
                           + len1 + 1);
    if (b->failed) {
        return 0;
    }

    v = (lg_mvalue_t *) (b->data + off);
    p = (char *) (v + 1);

    n = strlen(lg_dims[dim].label[0]);
    memcpy(p, lg_dims[dim].label[0], n);
    p += n;
    *p++ = '=';
    *p++ = '"';
    p += lg_metrics_escape(p, raw0, len0);
    *p++ = '"';

    if (raw1 != NULL) {
        *p++ = ',';
        n = strlen(lg_dims[dim].label[1]);
        memcpy(p, lg_dims[dim].label[1], n);
        p += n;
        *p++ = '=';
        *p++ = '"';
        p += lg_metrics_escape(p, raw1, len1);
        *p++ = '"';
    }

    v->frag_len = (uint32_t) (p - (char *) (v + 1));
    *p++ = '\0';

    memcpy(p, raw0, len0 + 1);
    v->raw_len[0] = (uint32_t) len0;
    p += len0 + 1;

    if (raw1 != NULL) {
        memcpy(p, raw1, len1 + 1);
        v->raw_len[1] = (uint32_t) len1;
    }

    return off;
}


/*
 * A label value in both formats: backslash, double quote and line feed
 * get a backslash; everything else is UTF-8 as it is (policy ids went
 * through the JSON parser, so they are valid UTF-8).
 */

static size_t
lg_metrics_escape(char *dst, const char *src, size_t len)
{
    char    *p;
    size_t   i;

    p = dst;

    for (i = 0; i < len; i++) {
        switch (src[i]) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = src[i];
        }
    }

    return p - dst;
}
