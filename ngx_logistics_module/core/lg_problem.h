
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_PROBLEM_H_INCLUDED_
#define _LG_PROBLEM_H_INCLUDED_


#include <stddef.h>

#include "lg_schema.h"


/* every way the gateway can say no (RFC 9457 problem types) */

typedef enum {
    LG_PROBLEM_VERSION_REQUIRED = 0,
    LG_PROBLEM_BAD_REQUEST,
    LG_PROBLEM_AMBIGUOUS,
    LG_PROBLEM_BODY_NOT_ALLOWED,
    LG_PROBLEM_MALFORMED_BODY,
    LG_PROBLEM_IDEM_KEY,
    LG_PROBLEM_UNAUTHORIZED,
    LG_PROBLEM_INVALID_TOKEN,
    LG_PROBLEM_INSUFFICIENT_SCOPE,
    LG_PROBLEM_UNKNOWN_PARTNER,
    LG_PROBLEM_ROUTE_NOT_ALLOWED,
    LG_PROBLEM_NOT_FOUND,
    LG_PROBLEM_METHOD_NOT_ALLOWED,
    LG_PROBLEM_IDEM_CONFLICT,
    LG_PROBLEM_VERSION_SUNSET,
    LG_PROBLEM_IDEM_GONE,
    LG_PROBLEM_BODY_TOO_LARGE,
    LG_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    LG_PROBLEM_INVALID_BODY,
    LG_PROBLEM_IDEM_MISMATCH,
    LG_PROBLEM_RATE_LIMITED,
    LG_PROBLEM_INTERNAL,
    LG_PROBLEM_UNAVAILABLE,
    LG_PROBLEM_CONCURRENCY_LIMITED,
    LG_PROBLEM_ODOO_SATURATED,
    LG_PROBLEM_ODOO_UNAVAILABLE,
    LG_PROBLEM_DEGRADED,
    LG_PROBLEM_LAST
} lg_problem_e;


typedef struct {
    int          status;
    const char  *slug;         /* appended to the type base */
    const char  *title;        /* the same for every occurrence */
    const char  *detail;       /* default detail */
} lg_problem_type_t;


const lg_problem_type_t *lg_problem_type(lg_problem_e problem);

/*
 * Writes {"type","title","status","detail","request_id"} into buf and
 * returns the length it needs (call with size 0 to measure).  "detail"
 * NULL uses the default.
 */
size_t lg_problem_render(char *buf, size_t size, const char *type_base,
    size_t type_base_len, lg_problem_e problem, const char *detail,
    size_t detail_len, const char *request_id, size_t request_id_len,
    const char *extra, size_t extra_len);

/*
 * ,"errors":[{"instanceLocation","keywordLocation","message"}...] for a
 * validation problem (the "extra" of lg_problem_render()); returns the
 * length it needs (size 0 to measure).
 */
size_t lg_problem_errors(char *buf, size_t size,
    const lg_schema_error_t *errors, size_t n);


#endif /* _LG_PROBLEM_H_INCLUDED_ */
