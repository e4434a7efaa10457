
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "lg_router.h"


/*
 * One trie per version name, one level per path segment.  Literal
 * children are kept sorted for binary search; a node has at most one
 * parameter child.  Matching tries the literal child first and falls back
 * to the parameter child, so "/shipments/pending" beats
 * "/shipments/{id}"; each trie node is visited at most once per lookup,
 * so the cost is bounded by the policy, not by the request.
 */

typedef struct {
    lg_str_t        segment;
    lg_node_t      *node;
} lg_edge_t;


typedef struct {
    unsigned        method;
    lg_route_t     *route;
    lg_version_t   *version;
} lg_endpoint_t;


struct lg_node_s {
    lg_edge_t      *literals;
    size_t          nliterals;
    size_t          literals_cap;
    lg_node_t      *param;
    lg_endpoint_t  *endpoints;
    size_t          nendpoints;
    unsigned        methods;
};


typedef struct {
    const char     *seg[LG_ROUTE_MAX_SEGMENTS + 1];
    size_t          len[LG_ROUTE_MAX_SEGMENTS + 1];
    size_t          n;
} lg_split_t;


static int lg_segment_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static lg_node_t *lg_node_literal(const lg_node_t *node, const char *s,
    size_t len);
static lg_node_t *lg_node_add_literal(lg_arena_t *arena, lg_node_t *node,
    const lg_str_t *segment);
static const lg_node_t *lg_router_walk(const lg_node_t *node,
    const lg_split_t *split, size_t depth, unsigned method,
    const lg_node_t **path_only, const char **params, size_t *lens,
    size_t nparams, const char **found_params, size_t *found_lens);


static int
lg_segment_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  rc;

    rc = memcmp(a, b, alen < blen ? alen : blen);

    if (rc != 0) {
        return rc;
    }

    return (alen > blen) - (alen < blen);
}


static lg_node_t *
lg_node_literal(const lg_node_t *node, const char *s, size_t len)
{
    int     rc;
    size_t  lo, hi, mid;

    lo = 0;
    hi = node->nliterals;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = lg_segment_cmp(node->literals[mid].segment.data,
                            node->literals[mid].segment.len, s, len);

        if (rc == 0) {
            return node->literals[mid].node;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


static lg_node_t *
lg_node_add_literal(lg_arena_t *arena, lg_node_t *node,
    const lg_str_t *segment)
{
    size_t      i;
    lg_edge_t  *edges;
    lg_node_t  *child;

    child = lg_node_literal(node, segment->data, segment->len);
    if (child != NULL) {
        return child;
    }

    child = lg_arena_calloc(arena, 1, sizeof(lg_node_t));
    if (child == NULL) {
        return NULL;
    }

    if (node->nliterals == node->literals_cap) {
        /* config time only: the old array stays in the arena */
        node->literals_cap = node->literals_cap ? node->literals_cap * 2 : 4;

        edges = lg_arena_calloc(arena, node->literals_cap, sizeof(lg_edge_t));
        if (edges == NULL) {
            return NULL;
        }

        if (node->nliterals) {
            memcpy(edges, node->literals, node->nliterals * sizeof(lg_edge_t));
        }

        node->literals = edges;
    }

    for (i = node->nliterals; i > 0; i--) {
        if (lg_segment_cmp(node->literals[i - 1].segment.data,
                           node->literals[i - 1].segment.len,
                           segment->data, segment->len) < 0)
        {
            break;
        }

        node->literals[i] = node->literals[i - 1];
    }

    node->literals[i].segment = *segment;
    node->literals[i].node = child;
    node->nliterals++;

    return child;
}


int
lg_router_add(lg_policy_t *policy, lg_version_t *v, lg_route_t *route,
    lg_route_t **conflict)
{
    size_t                i;
    lg_node_t            *node;
    lg_endpoint_t        *ep;
    lg_router_version_t  *rv, *grown;

    *conflict = NULL;
    rv = NULL;

    for (i = 0; i < policy->nrouter; i++) {
        if (policy->router[i].name.len == v->name.len
            && memcmp(policy->router[i].name.data, v->name.data, v->name.len)
               == 0)
        {
            rv = &policy->router[i];
            break;
        }
    }

    if (rv == NULL) {
        grown = lg_arena_calloc(&policy->arena, policy->nrouter + 1,
                                sizeof(lg_router_version_t));
        if (grown == NULL) {
            return -1;
        }

        if (policy->nrouter) {
            memcpy(grown, policy->router,
                   policy->nrouter * sizeof(lg_router_version_t));
        }

        policy->router = grown;
        rv = &policy->router[policy->nrouter++];
        rv->name = v->name;

        rv->root = lg_arena_calloc(&policy->arena, 1, sizeof(lg_node_t));
        if (rv->root == NULL) {
            return -1;
        }
    }

    node = rv->root;

    for (i = 0; i < route->nsegments; i++) {

        if (route->segments[i].param) {
            if (node->param == NULL) {
                node->param = lg_arena_calloc(&policy->arena, 1,
                                              sizeof(lg_node_t));
                if (node->param == NULL) {
                    return -1;
                }
            }

            node = node->param;

        } else {
            node = lg_node_add_literal(&policy->arena, node,
                                       &route->segments[i].text);
            if (node == NULL) {
                return -1;
            }
        }
    }

    for (i = 0; i < node->nendpoints; i++) {
        if (node->endpoints[i].method == route->method) {
            *conflict = node->endpoints[i].route;
            return -1;
        }
    }

    ep = lg_arena_calloc(&policy->arena, node->nendpoints + 1,
                         sizeof(lg_endpoint_t));
    if (ep == NULL) {
        return -1;
    }

    if (node->nendpoints) {
        memcpy(ep, node->endpoints, node->nendpoints * sizeof(lg_endpoint_t));
    }

    ep[node->nendpoints].method = route->method;
    ep[node->nendpoints].route = route;
    ep[node->nendpoints].version = v;

    node->endpoints = ep;
    node->nendpoints++;
    node->methods |= route->method;

    return 0;
}


int
lg_router_split_version(const char *uri, size_t len, lg_str_t *version,
    lg_str_t *rest)
{
    size_t  i;

    if (len < 3 || uri[0] != '/' || uri[1] != 'v'
        || uri[2] < '1' || uri[2] > '9')
    {
        return 0;
    }

    for (i = 3; i < len && uri[i] != '/'; i++) {
        if (uri[i] < '0' || uri[i] > '9' || i > 6) {
            return 0;
        }
    }

    version->data = uri + 1;
    version->len = i - 1;
    rest->data = uri + i;
    rest->len = len - i;

    return 1;
}


static const lg_node_t *
lg_router_walk(const lg_node_t *node, const lg_split_t *split, size_t depth,
    unsigned method, const lg_node_t **path_only, const char **params,
    size_t *lens, size_t nparams, const char **found_params,
    size_t *found_lens)
{
    const lg_node_t  *child, *hit;

    if (depth == split->n) {

        if (node->nendpoints == 0) {
            return NULL;
        }

        if (node->methods & method) {
            memcpy(found_params, params, nparams * sizeof(const char *));
            memcpy(found_lens, lens, nparams * sizeof(size_t));
            return node;
        }

        if (*path_only == NULL) {
            *path_only = node;
        }

        return NULL;
    }

    child = lg_node_literal(node, split->seg[depth], split->len[depth]);

    if (child != NULL) {
        hit = lg_router_walk(child, split, depth + 1, method, path_only,
                             params, lens, nparams, found_params, found_lens);
        if (hit != NULL) {
            return hit;
        }
    }

    if (node->param != NULL && nparams < LG_ROUTE_MAX_PARAMS) {
        params[nparams] = split->seg[depth];
        lens[nparams] = split->len[depth];

        return lg_router_walk(node->param, split, depth + 1, method,
                              path_only, params, lens, nparams + 1,
                              found_params, found_lens);
    }

    return NULL;
}


lg_route_status_e
lg_router_match(const lg_policy_t *policy, const char *version,
    size_t version_len, unsigned method, const char *path, size_t len,
    lg_route_match_t *match)
{
    size_t                      i, start, nparams;
    size_t                      lens[LG_ROUTE_MAX_PARAMS];
    size_t                      found_lens[LG_ROUTE_MAX_PARAMS];
    unsigned                    lookup;
    lg_split_t                  split;
    const char                 *params[LG_ROUTE_MAX_PARAMS];
    const char                 *found_params[LG_ROUTE_MAX_PARAMS];
    const lg_node_t            *hit, *path_only;
    const lg_router_version_t  *rv;

    memset(match, 0, sizeof(lg_route_match_t));

    rv = NULL;

    for (i = 0; i < policy->nrouter; i++) {
        if (policy->router[i].name.len == version_len
            && memcmp(policy->router[i].name.data, version, version_len) == 0)
        {
            rv = &policy->router[i];
            break;
        }
    }

    if (rv == NULL || len < 2 || path[0] != '/') {
        return LG_ROUTE_NOT_FOUND;
    }

    /* split; empty segments ("//", a trailing "/") never match */

    split.n = 0;
    i = 1;

    while (i <= len) {
        start = i;

        while (i < len && path[i] != '/') {
            i++;
        }

        if (i == start || split.n == LG_ROUTE_MAX_SEGMENTS) {
            return LG_ROUTE_NOT_FOUND;
        }

        split.seg[split.n] = path + start;
        split.len[split.n] = i - start;
        split.n++;
        i++;
    }

    /* HEAD is served by GET routes; OPTIONS only needs the path */

    lookup = method == LG_METHOD_HEAD ? LG_METHOD_GET : method;

    path_only = NULL;
    nparams = 0;

    hit = lg_router_walk(rv->root, &split, 0, lookup, &path_only, params,
                         lens, 0, found_params, found_lens);

    if (hit == NULL) {
        if (path_only == NULL) {
            return LG_ROUTE_NOT_FOUND;
        }

        match->allow = path_only->methods;

        return LG_ROUTE_NO_METHOD;
    }

    for (i = 0; i < hit->nendpoints; i++) {
        if (hit->endpoints[i].method == lookup) {
            match->route = hit->endpoints[i].route;
            match->version = hit->endpoints[i].version;
            break;
        }
    }

    match->allow = hit->methods;
    nparams = match->route->nparams;
    match->nparams = nparams;

    for (i = 0; i < nparams; i++) {
        match->params[i].data = found_params[i];
        match->params[i].len = found_lens[i];
    }

    return LG_ROUTE_FOUND;
}
