
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: arbitrary bytes as a request body.  Exercises the body
 * parser (depth limit, duplicates, UTF-8) and the validator against two of
 * the sample policy's schemas (refs, patterns, formats as assertions,
 * uniqueItems, if/then): the only acceptable outcomes are a parse error,
 * valid, or invalid with at most max_errors well-formed errors.  The
 * gateway's call (lg_schema_validate_body(), tokens from our parser) is
 * held against lg_schema_validate() of the same document as jansson
 * parses it: same result, same errors in the same order.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema.h"


#define LG_FUZZ_MAX_ERRORS  8


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static lg_arena_t    lg_fuzz_arena;
static lg_schema_t  *lg_fuzz_schemas[2];


static void
lg_fuzz_init(void)
{
    size_t               i;
    lg_error_t           err;
    lg_schema_options_t  opts;

    static const char  *files[] = {
        "policies/schemas/shipment-create.v2.json",
        "policies/schemas/tracking-event.v2.json"
    };

    memset(&opts, 0, sizeof(opts));
    opts.format_assertion = 1;

    for (i = 0; i < 2; i++) {
        lg_fuzz_schemas[i] = lg_schema_compile_file(&lg_fuzz_arena, files[i],
                                                    &opts, &err);
        if (lg_fuzz_schemas[i] == NULL) {
            /* run from the repository root */
            fprintf(stderr, "%s\n", err.text);
            abort();
        }
    }
}


static void
lg_fuzz_check(int rc, const lg_schema_result_t *res)
{
    size_t  j;

    if (rc < -1 || rc > 1 || res->nerrors > LG_FUZZ_MAX_ERRORS
        || (rc == 1 && res->nerrors == 0) || (rc == 0 && res->nerrors))
    {
        abort();
    }

    for (j = 0; j < res->nerrors; j++) {
        if (res->errors[j].instance_location == NULL
            || res->errors[j].keyword_location[0] != '/'
            || res->errors[j].message[0] == '\0')
        {
            abort();
        }
    }
}


static void
lg_fuzz_same(int rc, const lg_schema_result_t *a, int rc2,
    const lg_schema_result_t *b)
{
    size_t  j;

    if (rc != rc2 || a->nerrors != b->nerrors) {
        abort();
    }

    for (j = 0; j < a->nerrors; j++) {
        if (strcmp(a->errors[j].instance_location,
                   b->errors[j].instance_location) != 0
            || strcmp(a->errors[j].keyword_location,
                      b->errors[j].keyword_location) != 0
            || strcmp(a->errors[j].message, b->errors[j].message) != 0)
        {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc, rc2;
    size_t               i;
    json_t              *json;
    lg_arena_t           arena;
    lg_error_t           err;
    json_error_t         jerr;
    lg_schema_result_t   res, res2;

    if (lg_fuzz_schemas[0] == NULL) {
        lg_fuzz_init();
    }

    /* jansson's reading of the bytes, where it has one */
    json = json_loadb((const char *) data, size,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL
                      | JSON_DECODE_ANY, &jerr);

    lg_arena_init(&arena);

    for (i = 0; i < 2; i++) {
        memset(&res, 0, sizeof(res));
        res.max_errors = LG_FUZZ_MAX_ERRORS;
        res.arena = &arena;

        rc = lg_schema_validate_body(lg_fuzz_schemas[i], (const char *) data,
                                     size, &res, &err);

        if (rc == LG_SCHEMA_BODY_MALFORMED) {
            if (strncmp(err.text, "line ", 5) != 0) {
                abort();
            }

            break;
        }

        lg_fuzz_check(rc, &res);

        if (json == NULL) {
            continue;
        }

        memset(&res2, 0, sizeof(res2));
        res2.max_errors = LG_FUZZ_MAX_ERRORS;
        res2.arena = &arena;

        rc2 = lg_schema_validate(lg_fuzz_schemas[i], json, &res2);

        lg_fuzz_same(rc, &res, rc2, &res2);
    }

    lg_arena_free(&arena);
    json_decref(json);

    return 0;
}
