
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: the request body parser (lg_schema_body.c) against
 * jansson's json_loadb() with the flags it stands in for.  Both must
 * accept and refuse the same inputs and build equal values, except for
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

    if (ours != NULL && theirs != NULL && !json_equal(ours, theirs)) {
        abort();
    }

    json_decref(ours);
    json_decref(theirs);

    return 0;
}
