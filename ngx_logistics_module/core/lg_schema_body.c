
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Request bodies, parsed for validation.  jansson does the work; around it
 * a linear pre-scan refuses deep nesting before any tree is built (jansson
 * would allow 2048 levels, and the validator recurses along them), and
 * integers beyond 64 bits are kept as reals rather than refused.
 */


#include <stdio.h>
#include <string.h>

#include "lg_schema.h"


static int lg_schema_body_depth(const char *buf, size_t len, size_t *at);
static void lg_schema_body_position(const char *buf, size_t at, int *line,
    int *column);


json_t *
lg_schema_parse_body(const char *buf, size_t len, lg_error_t *err)
{
    int           line, column;
    size_t        at, flags;
    json_t       *json;
    json_error_t  jerr;

    if (lg_schema_body_depth(buf, len, &at) != 0) {
        lg_schema_body_position(buf, at, &line, &column);
        snprintf(err->text, sizeof(err->text), "line %d, column %d: nesting "
                 "deeper than %d levels", line, column,
                 LG_SCHEMA_MAX_BODY_DEPTH);
        return NULL;
    }

    flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;

    json = json_loadb(buf, len, flags, &jerr);

    if (json == NULL && strcmp(jerr.text, "too big integer") == 0) {
        json = json_loadb(buf, len, flags | JSON_DECODE_INT_AS_REAL, &jerr);
    }

    if (json == NULL) {
        snprintf(err->text, sizeof(err->text), "line %d, column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        return NULL;
    }

    return json;
}


static int
lg_schema_body_depth(const char *buf, size_t len, size_t *at)
{
    size_t  i, depth;

    depth = 0;

    for (i = 0; i < len; i++) {

        switch (buf[i]) {

        case '"':
            /* skip the string; an unterminated one is jansson's to report */
            for (i++; i < len && buf[i] != '"'; i++) {
                if (buf[i] == '\\') {
                    i++;
                }
            }

            break;

        case '[':
        case '{':
            if (++depth > LG_SCHEMA_MAX_BODY_DEPTH) {
                *at = i;
                return -1;
            }

            break;

        case ']':
        case '}':
            if (depth > 0) {
                depth--;
            }

            break;

        default:
            break;
        }
    }

    return 0;
}


static void
lg_schema_body_position(const char *buf, size_t at, int *line, int *column)
{
    size_t  i;

    *line = 1;
    *column = 1;

    for (i = 0; i < at; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *column = 1;

        } else if (((unsigned char) buf[i] & 0xc0) != 0x80) {
            (*column)++;
        }
    }
}
