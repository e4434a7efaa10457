
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Runs JSON Schema Test Suite files (github.com/json-schema-org/
 * JSON-Schema-Test-Suite, tests/draft2020-12 and tests/draft7) through
 * the gateway's validator:
 *
 *     build/conformance [--draft7] FILE...
 *
 * Each file is an array of groups {description, schema, tests: [{
 * description, data, valid}]}.  A group whose schema does not compile
 * is counted apart, with the reason: remote references (http) are
 * refused by design and the suite's remote tests are left aside.  With
 * --draft7, schemas without "$schema" are read as draft-07, the draft of
 * their directory.  Prints one line per failed test and a summary; exits
 * 0 when every compiled test passed.
 */


#include <stdio.h>
#include <string.h>

#include "lg_schema.h"


typedef struct {
    size_t  passed;
    size_t  failed;
    size_t  skipped;         /* tests of groups that did not compile */
} lg_conf_count_t;


static void lg_conf_file(const char *file, int draft7,
    lg_conf_count_t *total);


int
main(int argc, char **argv)
{
    int              i, draft7;
    lg_conf_count_t  total;

    memset(&total, 0, sizeof(total));
    draft7 = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--draft7") == 0) {
            draft7 = 1;
            continue;
        }

        lg_conf_file(argv[i], draft7, &total);
    }

    printf("total: %zu passed, %zu failed, %zu in groups not compiled\n",
           total.passed, total.failed, total.skipped);

    return total.failed == 0 ? 0 : 1;
}


static void
lg_conf_file(const char *file, int draft7, lg_conf_count_t *total)
{
    int                   rc;
    size_t                g, t;
    json_t               *doc, *group, *schema, *tests, *test;
    lg_arena_t            arena, rarena;
    lg_error_t            err;
    json_error_t          jerr;
    lg_schema_t          *s;
    lg_conf_count_t       count;
    lg_schema_result_t    res;
    lg_schema_options_t   opts;

    memset(&count, 0, sizeof(count));
    memset(&opts, 0, sizeof(opts));

    doc = json_load_file(file, JSON_ALLOW_NUL, &jerr);
    if (!json_is_array(doc)) {
        printf("%s: cannot read: %s\n", file, jerr.text);
        total->failed++;
        json_decref(doc);
        return;
    }

    json_array_foreach(doc, g, group) {
        schema = json_object_get(group, "schema");
        tests = json_object_get(group, "tests");

        if (draft7 && json_is_object(schema)
            && json_object_get(schema, "$schema") == NULL)
        {
            json_object_set_new(schema, "$schema",
                json_string("http://json-schema.org/draft-07/schema#"));
        }

        lg_arena_init(&arena);

        s = lg_schema_compile_json(&arena, schema, file, &opts, &err);

        if (s == NULL) {
            printf("%s: \"%s\": not compiled: %s\n", file,
                   json_string_value(json_object_get(group, "description")),
                   err.text);
            count.skipped += json_array_size(tests);
            lg_arena_free(&arena);
            continue;
        }

        json_array_foreach(tests, t, test) {
            lg_arena_init(&rarena);
            memset(&res, 0, sizeof(res));
            res.max_errors = 1;
            res.arena = &rarena;

            rc = lg_schema_validate(s, json_object_get(test, "data"), &res);

            if (rc >= 0
                && (rc == 0) == json_is_true(json_object_get(test, "valid")))
            {
                count.passed++;

            } else {
                count.failed++;
                printf("%s: \"%s\" / \"%s\": expected %s, got %s\n", file,
                       json_string_value(json_object_get(group,
                                                         "description")),
                       json_string_value(json_object_get(test,
                                                         "description")),
                       json_is_true(json_object_get(test, "valid"))
                       ? "valid" : "invalid",
                       rc < 0 ? "an error" : (rc == 0 ? "valid" : "invalid"));
            }

            lg_arena_free(&rarena);
        }

        lg_arena_free(&arena);
    }

    printf("%s: %zu passed, %zu failed, %zu not compiled\n", file,
           count.passed, count.failed, count.skipped);

    total->passed += count.passed;
    total->failed += count.failed;
    total->skipped += count.skipped;

    json_decref(doc);
}
