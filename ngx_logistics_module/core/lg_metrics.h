
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_METRICS_H_INCLUDED_
#define _LG_METRICS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_arena.h"
#include "lg_policy.h"
#include "lg_problem.h"


/*
 * The gateway's metrics, without nginx.
 *
 * Every label value comes from the compiled policy (partner, route and
 * API version ids, issuer names) or from a fixed enumeration of this
 * file (decision words, status classes, ...), so the set of series is
 * fixed when the policy loads: request input can only pick one of them,
 * and an unknown partner or an unmatched path counts under "-".
 *
 * A layout numbers every series and gives it a slot (histograms a run of
 * slots) in one array of uint64_t counters.  The glue keeps one such
 * array per worker process in shared memory, increments its own with
 * plain additions, and sums the arrays when it is scraped; the writers
 * below turn the summed array into the Prometheus text format 0.0.4,
 * OpenMetrics 1.0 or the JSON view of the status page.
 */


/*
 * What the gateway decided about a request: $logistics_decision, the
 * "decision" label, the JSON audit log.  "allow", "options" and
 * "replayed" answer the request; every other word is the reason of a
 * refusal.  New refusals get a word here, never a string literal in the
 * glue.
 */

typedef enum {
    LG_DECISION_ALLOW = 0,
    LG_DECISION_OPTIONS,
    LG_DECISION_REPLAYED,
    LG_DECISION_DUPLICATE_HEADER,
    LG_DECISION_VERSION_REQUIRED,
    LG_DECISION_NOT_FOUND,
    LG_DECISION_METHOD_NOT_ALLOWED,
    LG_DECISION_VERSION_SUNSET,
    LG_DECISION_MISSING_CREDENTIALS,
    LG_DECISION_MALFORMED_CREDENTIALS,
    LG_DECISION_API_KEY_NOT_ACCEPTED,
    LG_DECISION_BEARER_NOT_ACCEPTED,
    LG_DECISION_UNKNOWN_KEY,
    LG_DECISION_EXPIRED_KEY,
    LG_DECISION_KEY_NOT_YET_VALID,
    LG_DECISION_SUSPENDED_PARTNER,
    LG_DECISION_INVALID_TOKEN,
    LG_DECISION_UNKNOWN_ISSUER,
    LG_DECISION_REVOKED_TOKEN,
    LG_DECISION_CERTIFICATE_MISMATCH,
    LG_DECISION_UNKNOWN_CERTIFICATE,
    LG_DECISION_KEYS_UNAVAILABLE,
    LG_DECISION_UNKNOWN_PARTNER,
    LG_DECISION_ROUTE_NOT_ALLOWED,
    LG_DECISION_INSUFFICIENT_SCOPE,
    LG_DECISION_RATE_LIMITED,
    LG_DECISION_STATE_UNAVAILABLE,
    LG_DECISION_BODY_NOT_ALLOWED,
    LG_DECISION_UNSUPPORTED_MEDIA_TYPE,
    LG_DECISION_BODY_TOO_LARGE,
    LG_DECISION_BODY_UNREADABLE,
    LG_DECISION_MALFORMED_BODY,
    LG_DECISION_INVALID_BODY,
    LG_DECISION_IDEMPOTENCY_KEY_MISSING,
    LG_DECISION_IDEMPOTENCY_KEY_MALFORMED,
    LG_DECISION_IDEMPOTENCY_CONFLICT,
    LG_DECISION_IDEMPOTENCY_MISMATCH,
    LG_DECISION_IDEMPOTENCY_RESPONSE_GONE,
    LG_DECISION_IDEMPOTENCY_STORE_FULL,
    LG_DECISION_CONCURRENCY_LIMITED,
    LG_DECISION_ODOO_SATURATED,
    LG_DECISION_ODOO_UNAVAILABLE,
    LG_DECISION_DEGRADED,
    LG_DECISION_INTERNAL_ERROR,
    LG_DECISION_GATEWAY_BYPASSED,
    LG_DECISION_NONE,              /* "-": ended before a decision */
    LG_DECISION_LAST
} lg_decision_e;


typedef struct {
    lg_str_t          word;
    int               status;      /* the gateway's answer; 0: Odoo's */
    lg_problem_e      problem;     /* of a refusal; LG_PROBLEM_LAST: none */
    const char       *meaning;     /* one line, for the README */
} lg_decision_word_t;


/* the word of a decision ("-" for values out of range) */
const lg_decision_word_t *lg_decision(lg_decision_e decision);

/* the decision of a word, or LG_DECISION_LAST when it is none */
lg_decision_e lg_decision_parse(const char *word, size_t len);


/* the other fixed enumerations a label can take */

typedef enum {
    LG_STATUS_2XX = 0,
    LG_STATUS_3XX,
    LG_STATUS_4XX,
    LG_STATUS_5XX,
    LG_STATUS_OTHER,               /* no response, 1xx, nonsense */
    LG_STATUS_LAST
} lg_status_class_e;

typedef enum {
    LG_AUTH_METHOD_NONE = 0,       /* nothing usable was sent */
    LG_AUTH_METHOD_API_KEY,
    LG_AUTH_METHOD_BEARER,
    LG_AUTH_METHOD_MTLS,
    LG_AUTH_METHOD_LAST
} lg_auth_method_e;

typedef enum {
    LG_AUTH_SUCCESS = 0,
    LG_AUTH_FAILURE,
    LG_AUTH_RESULT_LAST
} lg_auth_result_e;

typedef enum {
    LG_LIMIT_PARTNER = 0,          /* the partner's own limit */
    LG_LIMIT_ROUTE,                /* its limit on one route */
    LG_LIMIT_LAST
} lg_limit_kind_e;

typedef enum {
    LG_BACKEND_ZONE = 0,           /* nginx shared memory */
    LG_BACKEND_REDIS,
    LG_BACKEND_LAST
} lg_backend_e;

typedef enum {
    LG_RATE_ALLOWED = 0,
    LG_RATE_LIMITED,
    LG_RATE_OUTCOME_LAST
} lg_rate_outcome_e;

typedef enum {
    LG_REDIS_CMD_LIMIT = 0,        /* the limit script of a request */
    LG_REDIS_CMD_STORE,            /* writes nobody waits for */
    LG_REDIS_CMD_SETUP,            /* AUTH, SELECT, SCRIPT LOAD */
    LG_REDIS_CMD_POLL,             /* the brownout level, each second */
    LG_REDIS_CMD_LAST
} lg_redis_command_e;

typedef enum {
    LG_REDIS_FAULT_CONNECT = 0,      /* a connection attempt failed */
    LG_REDIS_FAULT_IO,               /* an established connection broke */
    LG_REDIS_FAULT_REPLY,            /* Redis answered with an error */
    LG_REDIS_FAULT_LAST
} lg_redis_fault_e;

typedef enum {
    LG_FAIL_MODE_OPEN = 0,         /* local limits in the zone */
    LG_FAIL_MODE_CLOSED,           /* 503 */
    LG_FAIL_MODE_LAST
} lg_fail_mode_e;

typedef enum {
    LG_CONN_CONNECTED = 0,
    LG_CONN_CONNECTING,
    LG_CONN_DOWN,
    LG_CONN_LAST
} lg_conn_state_e;

typedef enum {
    LG_JWKS_OK = 0,
    LG_JWKS_HTTP_ERROR,            /* the IdP answered, not with 200 */
    LG_JWKS_INVALID,               /* 200, but not a usable key set */
    LG_JWKS_FAILED,                /* no answer: connect, timeout */
    LG_JWKS_OUTCOME_LAST
} lg_jwks_outcome_e;

typedef enum {
    LG_CACHE_HIT = 0,
    LG_CACHE_MISS,
    LG_CACHE_RESULT_LAST
} lg_cache_result_e;

/* the values of $logistics_idempotency */
typedef enum {
    LG_IDEM_OUT_NEW = 0,
    LG_IDEM_OUT_REPLAYED,
    LG_IDEM_OUT_CONFLICT,
    LG_IDEM_OUT_MISMATCH,
    LG_IDEM_OUT_BYPASSED,
    LG_IDEM_OUTCOME_LAST
} lg_idem_outcome_e;

typedef enum {
    LG_ZONE_USED = 0,
    LG_ZONE_FREE,
    LG_ZONE_STATE_LAST
} lg_zone_state_e;

typedef enum {
    LG_EVICT_RATE_LIMIT = 0,
    LG_EVICT_TOKEN,
    LG_EVICT_JWKS,
    LG_EVICT_IDEMPOTENCY,
    LG_EVICT_LAST
} lg_eviction_e;

/* the class of an upstream status: 200..299 -> LG_STATUS_2XX, ... */
lg_status_class_e lg_metrics_status_class(unsigned status);


/*
 * Label dimensions.  ROUTE is one dimension with two labels, route and
 * version: only the versions a route exists in get series.
 */

typedef enum {
    LG_DIM_PARTNER = 0,
    LG_DIM_ROUTE,
    LG_DIM_ISSUER,
    LG_DIM_DECISION,
    LG_DIM_STATUS_CLASS,
    LG_DIM_AUTH_METHOD,
    LG_DIM_AUTH_RESULT,
    LG_DIM_LIMIT,
    LG_DIM_BACKEND,
    LG_DIM_RATE_OUTCOME,
    LG_DIM_REDIS_COMMAND,
    LG_DIM_REDIS_ERROR,
    LG_DIM_FAIL_MODE,
    LG_DIM_CONN_STATE,
    LG_DIM_JWKS_OUTCOME,
    LG_DIM_CACHE_RESULT,
    LG_DIM_IDEM_OUTCOME,
    LG_DIM_ZONE_STATE,
    LG_DIM_EVICTION,
    LG_DIM_LAST
} lg_metrics_dim_e;

#define LG_METRICS_MAX_DIMS  4


/* the metric families, in exposition order */

typedef enum {
    LG_MF_REQUESTS = 0,
    LG_MF_PARTNER_REQUESTS,
    LG_MF_UPSTREAM_RESPONSES,
    LG_MF_REQUEST_DURATION,
    LG_MF_PARTNER_REQUEST_DURATION,
    LG_MF_UPSTREAM_DURATION,
    LG_MF_AUTHENTICATIONS,
    LG_MF_RATE_LIMIT_DECISIONS,
    LG_MF_REDIS_COMMANDS,
    LG_MF_REDIS_ERRORS,
    LG_MF_REDIS_TIMEOUTS,
    LG_MF_REDIS_RECONNECTS,
    LG_MF_REDIS_FALLBACKS,
    LG_MF_REDIS_ROUND_TRIP,
    LG_MF_REDIS_CONNECTIONS,
    LG_MF_JWKS_FETCHES,
    LG_MF_JWKS_KEY_SET_AGE,
    LG_MF_JWKS_KID_MISSES,
    LG_MF_TOKEN_CACHE_LOOKUPS,
    LG_MF_IDEMPOTENCY_REQUESTS,
    LG_MF_IDEMPOTENCY_STORED_BYTES,
    LG_MF_SCHEMA_FAILURES,
    LG_MF_SCHEMA_DURATION,
    LG_MF_ZONE_BYTES,
    LG_MF_ZONE_EVICTIONS,
    LG_MF_POLICY_INFO,
    LG_MF_POLICY_LOADED,
    LG_MF_POLICY_RELOADS,
    LG_MF_LAST
} lg_metric_e;


typedef enum {
    LG_METRIC_COUNTER = 0,
    LG_METRIC_GAUGE,
    LG_METRIC_HISTOGRAM,
    LG_METRIC_INFO
} lg_metric_type_e;


/* where a family's values come from */

typedef enum {
    /* per-worker slots, summed at scrape time; kept across reloads */
    LG_SOURCE_WORKER = 0,
    /* per-worker state (a gauge): summed, but gone with its worker */
    LG_SOURCE_WORKER_STATE,
    /* set by the scraper just before it renders (lg_metrics_set()) */
    LG_SOURCE_SCRAPE
} lg_metric_source_e;


typedef struct {
    size_t            n;           /* finite buckets; +Inf is implied */
    const uint64_t   *bound;       /* microseconds, ascending */
    const char      **le;          /* their canonical "le" texts */
} lg_metric_buckets_t;


typedef struct {
    const char                 *name;    /* family name: no _total */
    lg_metric_type_e            type;
    lg_metric_source_e          source;
    const char                 *unit;    /* "seconds", "bytes" or NULL */
    const char                 *help;
    size_t                      ndims;
    lg_metrics_dim_e            dims[LG_METRICS_MAX_DIMS];
    const lg_metric_buckets_t  *buckets; /* histograms */
} lg_metric_family_t;


/*
 * The family table, the single list of what the gateway exposes (the
 * README's Metrics section is checked against it), and the names of a
 * dimension's labels ("route", "version").
 */
const lg_metric_family_t *lg_metric_family(lg_metric_e family);
const char *lg_metrics_dim_label(lg_metrics_dim_e dim, size_t i);
size_t lg_metrics_dim_labels(lg_metrics_dim_e dim);

/* the series name of a sample: "logistics_requests_total" etc. */
const char *lg_metric_sample_name(lg_metric_e family);


/*
 * A layout is one relocatable block (offsets, no pointers), so the glue
 * can copy it into shared memory next to the counter arrays and any
 * process, of any configuration generation, can read it there.
 */

typedef struct lg_metrics_layout_s  lg_metrics_layout_t;

typedef struct {
    unsigned          per_partner:1;    /* 0: every partner label is "-" */
} lg_metrics_options_t;


/* malloc()ed; NULL when out of memory or the policy is too big (> 4 GB) */
lg_metrics_layout_t *lg_metrics_layout(const lg_policy_t *policy,
    const lg_metrics_options_t *options);
void lg_metrics_layout_free(lg_metrics_layout_t *layout);

/* the block's size in bytes (to copy it) */
size_t lg_metrics_layout_size(const lg_metrics_layout_t *layout);

/*
 * A copy of a block read back (from shared memory written by another
 * generation): checks its structure and returns it, or NULL.
 */
const lg_metrics_layout_t *lg_metrics_layout_check(const void *block,
    size_t size);

/* 1 when two layouts number the same series the same way */
int lg_metrics_layout_equal(const lg_metrics_layout_t *a,
    const lg_metrics_layout_t *b);

/* slots of one counter array */
size_t lg_metrics_nslots(const lg_metrics_layout_t *layout);

/* series of a family (a histogram series spans several slots) */
size_t lg_metrics_nseries(const lg_metrics_layout_t *layout,
    lg_metric_e family);

/* values one dimension has in this layout */
size_t lg_metrics_dim_size(const lg_metrics_layout_t *layout,
    lg_metrics_dim_e dim);

/* label value "label" (0, or 1 for "version") of entry i of a dimension */
lg_str_t lg_metrics_dim_value(const lg_metrics_layout_t *layout,
    lg_metrics_dim_e dim, size_t i, size_t label);


/*
 * Indexes into the policy dimensions: 0 is "-" (no partner, no route,
 * an unknown one, or per-partner labels switched off).
 */
size_t lg_metrics_partner(const lg_metrics_layout_t *layout,
    const lg_partner_t *partner);
size_t lg_metrics_route(const lg_metrics_layout_t *layout,
    const lg_route_t *route, const lg_version_t *version);
size_t lg_metrics_issuer(const lg_metrics_layout_t *layout,
    const lg_issuer_t *issuer);

/*
 * The first slot of a series: "index" holds one index per dimension of
 * the family, in the table's order.  An index out of its dimension's
 * range is taken as 0, so a stale value cannot write outside the array.
 */
size_t lg_metrics_slot(const lg_metrics_layout_t *layout, lg_metric_e family,
    const size_t *index);

/* shorthands for families of up to 4 dimensions */
size_t lg_metrics_slot4(const lg_metrics_layout_t *layout, lg_metric_e family,
    size_t i0, size_t i1, size_t i2, size_t i3);

#define lg_metrics_slot0(l, f)                                                \
    lg_metrics_slot4(l, f, 0, 0, 0, 0)
#define lg_metrics_slot1(l, f, a)                                             \
    lg_metrics_slot4(l, f, a, 0, 0, 0)
#define lg_metrics_slot2(l, f, a, b)                                          \
    lg_metrics_slot4(l, f, a, b, 0, 0)
#define lg_metrics_slot3(l, f, a, b, c)                                       \
    lg_metrics_slot4(l, f, a, b, c, 0)


/*
 * One observation of a histogram series starting at "slot": the bucket
 * of "usec" and the sum.  Buckets are stored per bucket (not
 * cumulative), so one observation touches two slots.
 */
void lg_metrics_observe(const lg_metrics_layout_t *layout, uint64_t *values,
    lg_metric_e family, size_t slot, uint64_t usec);

/* the bucket an observation falls into (n for +Inf) */
size_t lg_metric_bucket(const lg_metric_buckets_t *buckets, uint64_t usec);

/* slots one series of a family takes */
size_t lg_metric_width(lg_metric_e family);


/*
 * What the log phase knows about a finished request, counted in one
 * call: requests by route and by partner with the decision, both
 * durations, Odoo's status class and the idempotency outcome.
 */

typedef struct {
    size_t             partner;     /* lg_metrics_partner() */
    size_t             route;       /* lg_metrics_route() */
    lg_decision_e      decision;
    unsigned           upstream_status;  /* 0: not forwarded */
    uint64_t           duration;    /* usec, first byte to last */
    uint64_t           upstream_time;    /* usec, Odoo's share */
    lg_idem_outcome_e  idempotency; /* LG_IDEM_OUTCOME_LAST: no key */
} lg_metrics_request_t;

void lg_metrics_count_request(const lg_metrics_layout_t *layout,
    uint64_t *values, const lg_metrics_request_t *req);


/*
 * Scrape-time gauges are stored as int64_t in their slot, in the unit of
 * the family (seconds as microseconds); LG_METRICS_NAN renders as NaN
 * ("never": a key set never fetched).
 */
#define LG_METRICS_NAN  INT64_MIN

void lg_metrics_set(const lg_metrics_layout_t *layout, uint64_t *values,
    size_t slot, int64_t value);


/*
 * Combining arrays.  "what": LG_METRICS_ADD_ALL takes every per-worker
 * slot (summing the live workers at scrape time); LG_METRICS_ADD_KEPT
 * only counters and histograms (folding the array of a worker that
 * exited into a base array: its state gauges go with it).  Slots of
 * scrape-time gauges are never added.
 */
#define LG_METRICS_ADD_ALL   0
#define LG_METRICS_ADD_KEPT  1

void lg_metrics_add(const lg_metrics_layout_t *layout, uint64_t *dst,
    const uint64_t *src, unsigned what);

/*
 * Adds an array of layout "from" into an array of layout "to", series
 * matched by family name and label values (a policy reload that added a
 * partner or removed a route keeps every other series' counts).  Series
 * "to" does not have are dropped.  Returns the number of series carried.
 */
size_t lg_metrics_remap(const lg_metrics_layout_t *from, const uint64_t *src,
    const lg_metrics_layout_t *to, uint64_t *dst, unsigned what);


/* exposition */

typedef enum {
    LG_METRICS_PROMETHEUS = 0,     /* text/plain; version=0.0.4 */
    LG_METRICS_OPENMETRICS,        /* application/openmetrics-text 1.0.0 */
    LG_METRICS_JSON,               /* the status page's view */
    LG_METRICS_HTML                /* the status page */
} lg_metrics_format_e;

#define LG_METRICS_PROMETHEUS_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define LG_METRICS_OPENMETRICS_TYPE                                           \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"


typedef struct {
    const uint64_t   *values;      /* summed, scrape gauges set */
    lg_str_t          digest;      /* the policy's, for policy_info */
    int64_t           now;         /* msec since the epoch (JSON) */
    unsigned          skip_zero:1; /* leave out series that are 0 */
    unsigned          redis:1;     /* Redis is configured (JSON) */
} lg_metrics_scrape_t;


/*
 * What an Accept header asks for: the highest q among
 * application/openmetrics-text (version 1.0.0 or none), text/plain (or
 * the text and any-type wildcards), application/json and text/html, a
 * tie going to the earlier in that order; the text format when none is
 * named.  So Prometheus gets OpenMetrics, curl the text format, a
 * browser the page and the page's own fetch() the JSON view.
 */
lg_metrics_format_e lg_metrics_negotiate(const char *accept, size_t len);

/*
 * Writes the exposition into buf and returns its length; like
 * snprintf(), a return above "size" means it was cut (call again with
 * lg_metrics_render_bound() bytes).
 */
size_t lg_metrics_render(const lg_metrics_layout_t *layout,
    const lg_metrics_scrape_t *scrape, lg_metrics_format_e format,
    char *buf, size_t size);

/* bytes an exposition of this layout can take at most (digest included) */
size_t lg_metrics_render_bound(const lg_metrics_layout_t *layout,
    lg_metrics_format_e format, size_t digest_len);

/*
 * The JSON view of the status page (same snprintf() convention):
 * per partner and per route their requests by decision and the latency
 * buckets, Redis, key sets, the zone and the policy.
 */
size_t lg_metrics_json(const lg_metrics_layout_t *layout,
    const lg_metrics_scrape_t *scrape, char *buf, size_t size);
size_t lg_metrics_json_bound(const lg_metrics_layout_t *layout,
    size_t digest_len);


/* the status page (generated from status/status.html into the module) */
extern const char    lg_metrics_page[];
extern const size_t  lg_metrics_page_len;


#endif /* _LG_METRICS_H_INCLUDED_ */
