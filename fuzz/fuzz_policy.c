
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: arbitrary bytes as a policy file.  Exercises the JSON
 * loader, the error locator and every check of the policy compiler; the
 * only acceptable outcomes are a compiled policy or an error message.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_policy.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE               *f;
    lg_error_t          err;
    lg_policy_t        *p;
    static char         path[64];

    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/tmp/lg-fuzz-policy-%d.json",
                 (int) getpid());
    }

    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }

    fwrite(data, 1, size, f);
    fclose(f);

    p = lg_policy_load(path, &err);

    if (p == NULL) {
        /* every error names the file */
        if (strncmp(err.text, path, strlen(path)) != 0) {
            abort();
        }

    } else {
        lg_policy_free(p);
    }

    return 0;
}
