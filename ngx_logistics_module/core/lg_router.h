
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_ROUTER_H_INCLUDED_
#define _LG_ROUTER_H_INCLUDED_


#include "lg_policy.h"


typedef enum {
    LG_ROUTE_FOUND = 0,
    LG_ROUTE_NOT_FOUND,          /* no such path in that version: 404 */
    LG_ROUTE_NO_METHOD           /* path known, method not: 405 */
} lg_route_status_e;


typedef struct {
    lg_route_t     *route;
    lg_version_t   *version;
    unsigned        allow;       /* methods the path accepts */
    size_t          nparams;
    lg_str_t        params[LG_ROUTE_MAX_PARAMS];   /* in template order */
} lg_route_match_t;


/*
 * Adds route under version v.  Fails with *conflict set when a route of
 * the same method and shape already lives there (a policy error), or with
 * *conflict NULL when memory runs out.
 */
int lg_router_add(lg_policy_t *policy, lg_version_t *v, lg_route_t *route,
    lg_route_t **conflict);

/*
 * Splits "/v2/shipments/1" into version "v2" and path "/shipments/1".
 * Returns 0 when the first segment is not a version.
 */
int lg_router_split_version(const char *uri, size_t len, lg_str_t *version,
    lg_str_t *rest);

/* matches a decoded, normalised path ("/shipments/42") */
lg_route_status_e lg_router_match(const lg_policy_t *policy,
    const char *version, size_t version_len, unsigned method,
    const char *path, size_t len, lg_route_match_t *match);


#endif /* _LG_ROUTER_H_INCLUDED_ */
