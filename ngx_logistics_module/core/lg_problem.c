
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdio.h>
#include <string.h>

#include "lg_json.h"
#include "lg_problem.h"


/*
 * Titles and details say what the partner can do about it and nothing an
 * attacker could use: an unknown key and an expired key read the same.
 */

static const lg_problem_type_t  lg_problems[LG_PROBLEM_LAST] = {
    { 400, "version-required", "API version required",
      "Call a versioned path such as /v2/... or send an API-Version "
      "header." },
    { 400, "bad-request", "Bad request",
      "The request could not be understood." },
    { 400, "ambiguous-request", "Ambiguous request",
      "The request repeats a header that must appear at most once "
      "(Content-Type, Idempotency-Key, API-Version, Authorization, "
      "X-API-Key)." },
    { 400, "body-not-allowed", "Request body not allowed",
      "This operation takes no request body." },
    { 400, "malformed-body", "Malformed JSON body",
      "The request body is not well-formed JSON." },
    { 400, "idempotency-key", "Idempotency-Key missing or malformed",
      "This operation needs an Idempotency-Key header: 1 to 255 printable "
      "characters, as a token or a quoted string." },
    { 401, "unauthorized", "Authentication required",
      "A valid API key is required." },
    { 401, "invalid-token", "Invalid access token",
      "The access token is not valid." },
    { 403, "insufficient-scope", "Insufficient scope",
      "The credentials do not grant the scopes this operation requires." },
    { 403, "unknown-partner", "Unknown partner",
      "The access token is valid but names no partner of this gateway." },
    { 403, "route-not-allowed", "Operation not allowed",
      "This partner is not allowed to call this operation." },
    { 404, "not-found", "Not found",
      "No API operation matches this path." },
    { 405, "method-not-allowed", "Method not allowed",
      "This path does not accept this method; see the Allow header." },
    { 409, "idempotency-conflict", "Request already in progress",
      "A request with this Idempotency-Key is still being processed; retry "
      "after the number of seconds in Retry-After." },
    { 410, "version-sunset", "API version retired",
      "This API version has passed its sunset date; see the Link header "
      "for its successor." },
    { 410, "idempotency-response-gone", "Response not available",
      "The request with this Idempotency-Key was processed, but its "
      "response was too large to keep for replay." },
    { 413, "body-too-large", "Request body too large",
      "The request body is larger than this operation accepts." },
    { 415, "unsupported-media-type", "Unsupported media type",
      "This operation takes application/json (or a +json type) in "
      "UTF-8, without Content-Encoding." },
    { 422, "invalid-body", "Request body does not match the contract",
      "The request body does not match the JSON Schema of this operation "
      "and version; see errors." },
    { 422, "idempotency-key-reused", "Idempotency-Key reused",
      "This Idempotency-Key was used for a different request (method, "
      "resource, query, media type or body)." },
    { 429, "rate-limited", "Too many requests",
      "The rate limit for this partner or operation is exhausted; retry "
      "after the number of seconds in Retry-After." },
    { 500, "internal-error", "Internal error",
      "The gateway could not process the request." },
    { 503, "unavailable", "Service unavailable",
      "The gateway cannot check its limits right now; retry after the "
      "number of seconds in Retry-After." },
    { 429, "concurrency-limited", "Too many requests in progress",
      "This partner has as many requests in progress as it may; retry "
      "after the number of seconds in Retry-After." },
    { 503, "odoo-saturated", "Backend saturated",
      "The backend is serving as many requests as it can; retry after "
      "the number of seconds in Retry-After." },
    { 503, "odoo-unavailable", "Backend unavailable",
      "The backend is failing; requests are held back until it recovers. "
      "Retry after the number of seconds in Retry-After." },
    { 503, "degraded", "Service degraded",
      "This kind of request is paused for now to keep essential traffic "
      "flowing; retry after the number of seconds in Retry-After." },
};


const lg_problem_type_t *
lg_problem_type(lg_problem_e problem)
{
    if ((unsigned) problem >= LG_PROBLEM_LAST) {
        problem = LG_PROBLEM_INTERNAL;
    }

    return &lg_problems[problem];
}


size_t
lg_problem_render(char *buf, size_t size, const char *type_base,
    size_t type_base_len, lg_problem_e problem, const char *detail,
    size_t detail_len, const char *request_id, size_t request_id_len,
    const char *extra, size_t extra_len)
{
    char                      type[512], status[16];
    size_t                    n, room;
    const lg_problem_type_t  *t;

    t = lg_problem_type(problem);

    if (detail == NULL) {
        detail = t->detail;
        detail_len = strlen(detail);
    }

    snprintf(type, sizeof(type), "%.*s%s", (int) type_base_len, type_base,
             t->slug);
    snprintf(status, sizeof(status), "%d", t->status);

    n = 0;

#define lg_room()  (n < size ? size - n : 0)
#define lg_put(s, l)                                                          \
    do {                                                                      \
        if (n + (l) <= size) {                                                \
            memcpy(buf + n, (s), (l));                                        \
        }                                                                     \
        n += (l);                                                             \
    } while (0)

    lg_put("{\"type\":", 8);
    room = lg_room();
    n += lg_json_escape(room ? buf + n : NULL, room, type, strlen(type));

    lg_put(",\"title\":", 9);
    room = lg_room();
    n += lg_json_escape(room ? buf + n : NULL, room, t->title,
                        strlen(t->title));

    lg_put(",\"status\":", 10);
    lg_put(status, strlen(status));

    lg_put(",\"detail\":", 10);
    room = lg_room();
    n += lg_json_escape(room ? buf + n : NULL, room, detail, detail_len);

    lg_put(",\"request_id\":", 14);
    room = lg_room();
    n += lg_json_escape(room ? buf + n : NULL, room, request_id,
                        request_id_len);

    if (extra_len) {
        lg_put(extra, extra_len);
    }

    lg_put("}\n", 2);

#undef lg_put
#undef lg_room

    return n;
}


size_t
lg_problem_errors(char *buf, size_t size, const lg_schema_error_t *errors,
    size_t n)
{
    size_t       i, k, len;
    const char  *v;

    static const char  *names[] = {
        "{\"instanceLocation\":", ",\"keywordLocation\":", ",\"message\":"
    };

    len = 0;

#define lg_add(s, l)                                                          \
    do {                                                                      \
        if (len + (l) <= size) {                                              \
            memcpy(buf + len, (s), (l));                                      \
        }                                                                     \
        len += (l);                                                           \
    } while (0)

    lg_add(",\"errors\":[", 11);

    for (i = 0; i < n; i++) {
        if (i > 0) {
            lg_add(",", 1);
        }

        for (k = 0; k < 3; k++) {
            v = (k == 0) ? errors[i].instance_location
                : (k == 1) ? errors[i].keyword_location
                           : errors[i].message;

            if (v == NULL) {
                v = "";
            }

            lg_add(names[k], strlen(names[k]));
            len += lg_json_escape(len < size ? buf + len : NULL,
                                  len < size ? size - len : 0, v, strlen(v));
        }

        lg_add("}", 1);
    }

    lg_add("]", 1);

#undef lg_add

    return len;
}
