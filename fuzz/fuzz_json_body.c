
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: the request body parser (lg_schema_body.c) against
 * jansson's json_loadb() with the flags it stands in for.  Both must
 * accept and refuse the same inputs and build equal values (ours: the
 * parser's tokens turned into jansson values by lg_schema_parse_body(),
 * strings, numbers, keys and their order), except for
 * the documented differences: nesting beyond LG_SCHEMA_MAX_BODY_DEPTH
 * (ours refuses earlier), integers beyond 64 bits (ours keeps them as
 * reals, jansson refuses the document), and a raw NUL byte outside
 * strings, which jansson takes for the end of the input after a number
 * ("0\0" is 0 to it) and ours refuses like any other stray byte.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * json_equal() ignores the order of members; the validator reports errors
 * in member order, so the order must be jansson's (the document's) too
 */

static int
lg_fuzz_same_order(json_t *a, json_t *b)
{
    size_t   i;
    void    *x, *y;

    if (json_is_array(a)) {
        for (i = 0; i < json_array_size(a); i++) {
            if (!lg_fuzz_same_order(json_array_get(a, i),
                                    json_array_get(b, i)))
            {
                return 0;
            }
        }

        return 1;
    }

    if (!json_is_object(a)) {
        return 1;
    }

    for (x = json_object_iter(a), y = json_object_iter(b);
         x != NULL && y != NULL;
         x = json_object_iter_next(a, x), y = json_object_iter_next(b, y))
    {
        if (json_object_iter_key_len(x) != json_object_iter_key_len(y)
            || memcmp(json_object_iter_key(x), json_object_iter_key(y),
                      json_object_iter_key_len(x)) != 0
            || !lg_fuzz_same_order(json_object_iter_value(x),
                                   json_object_iter_value(y)))
        {
            return 0;
        }
    }

    return x == NULL && y == NULL;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t        *ours, *theirs;
    lg_error_t     err;
    json_error_t   jerr;

    ours = lg_schema_parse_body((const char *) data, size, &err);

    theirs = json_loadb((const char *) data, size,
                        JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL
                        | JSON_DECODE_ANY, &jerr);

    if (ours == NULL && strncmp(err.text, "line ", 5) != 0) {
        abort();
    }

    if (ours != NULL && theirs == NULL
        && strncmp(jerr.text, "too big", 7) != 0
        && strcmp(jerr.text, "maximum parsing depth reached") != 0)
    {
        abort();
    }

    if (ours == NULL && theirs != NULL
        && strstr(err.text, "nesting deeper than") == NULL
        && memchr(data, '\0', size) == NULL)
    {
        abort();
    }

    if (ours != NULL && theirs != NULL
        && (!json_equal(ours, theirs) || !lg_fuzz_same_order(ours, theirs)))
    {
        abort();
    }

    json_decref(ours);
    json_decref(theirs);

    return 0;
}
