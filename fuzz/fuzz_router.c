
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: arbitrary request paths against the sample policy's
 * route trie, as the access handler sees them (version split, then
 * match).  A match must always point inside the input.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_policy.h"
#include "lg_router.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static lg_policy_t  *policy;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t             i;
    unsigned           method;
    lg_str_t           version, path;
    lg_error_t         err;
    const char        *file;
    lg_route_match_t   m;

    if (policy == NULL) {
        file = getenv("LG_FUZZ_POLICY");
        policy = lg_policy_load(file ? file : "policies/policy.json", &err);

        if (policy == NULL) {
            fprintf(stderr, "%s\n", err.text);
            abort();
        }
    }

    if (size < 1) {
        return 0;
    }

    method = 1u << (data[0] % 7);

    if (!lg_router_split_version((const char *) data + 1, size - 1, &version,
                                 &path))
    {
        version.data = "v2";
        version.len = 2;
        path.data = (const char *) data + 1;
        path.len = size - 1;
    }

    if (lg_router_match(policy, version.data, version.len, method, path.data,
                        path.len, &m)
        == LG_ROUTE_FOUND)
    {
        if (m.route == NULL || m.version == NULL) {
            abort();
        }

        for (i = 0; i < m.nparams; i++) {
            if (m.params[i].data < path.data
                || m.params[i].data + m.params[i].len > path.data + path.len
                || m.params[i].len == 0)
            {
                abort();
            }
        }
    }

    return 0;
}
