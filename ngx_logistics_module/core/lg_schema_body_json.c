
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The tape of a body and jansson values, both ways: jansson values built
 * from the parser's tokens (lg_schema_parse_body(), for the tests and the
 * fuzzer that holds the parser against jansson's), and tokens made from a
 * jansson value (lg_schema_validate() of an instance given as json_t: the
 * policy's tests, the conformance runner).
 */


#include <stdio.h>

#include "lg_schema_int.h"


static json_t *lg_body_json(const lg_schema_tok_t *t);
static int lg_body_tokens(lg_schema_body_t *body, const json_t *json);


json_t *
lg_schema_parse_body(const char *buf, size_t len, lg_error_t *err)
{
    json_t            *json;
    lg_schema_body_t  *body;

    body = lg_schema_body_create();
    if (body == NULL) {
        snprintf(err->text, sizeof(err->text),
                 "line 1, column 1: out of memory");
        return NULL;
    }

    json = NULL;

    if (lg_schema_body_parse(body, buf, len, err) == 0) {
        json = lg_body_json(body->toks);

        if (json == NULL) {
            snprintf(err->text, sizeof(err->text),
                     "line 1, column 1: out of memory");
        }
    }

    lg_schema_body_destroy(body);

    return json;
}


/* jansson values of a parsed body (lg_schema_parse_body()) */

static json_t *
lg_body_json(const lg_schema_tok_t *t)
{
    uint32_t                i;
    json_t                 *json, *v;
    const lg_schema_tok_t  *m;

    switch (t->type) {

    case JSON_OBJECT:
        json = json_object();
        m = lg_schema_tok_first(t);

        for (i = 0; json != NULL && i < t->len; i++) {
            v = lg_body_json(m + 1);

            if (v == NULL
                || json_object_setn_new_nocheck(json, m->v.str, m->len, v)
                   != 0)
            {
                json_decref(json);
                return NULL;
            }

            m = lg_schema_tok_next(m + 1);
        }

        return json;

    case JSON_ARRAY:
        json = json_array();
        m = lg_schema_tok_first(t);

        for (i = 0; json != NULL && i < t->len; i++) {
            if (json_array_append_new(json, lg_body_json(m)) != 0) {
                json_decref(json);
                return NULL;
            }

            m = lg_schema_tok_next(m);
        }

        return json;

    case JSON_STRING:
        return json_stringn_nocheck(t->v.str, t->len);

    case JSON_INTEGER:
        return json_integer(t->v.i);

    case JSON_REAL:
        return json_real(t->v.d);

    case JSON_TRUE:
        return json_true();

    case JSON_FALSE:
        return json_false();

    default:
        return json_null();
    }
}


/*
 * The tokens of a jansson value (lg_schema_validate()): strings and keys
 * are slices of the value, which must outlive the body.  Returns 0, or
 * -1 when out of memory.
 */

int
lg_schema_body_from_json(lg_schema_body_t *body, const json_t *json)
{
    body->ntoks = 0;

    return lg_body_tokens(body, json);
}


static int
lg_body_tokens(lg_schema_body_t *body, const json_t *json)
{
    size_t            at, i, n;
    void             *it;
    const char       *key;
    lg_schema_tok_t  *t;

    if (body->ntoks == body->cap && lg_schema_body_grow(body) != 0) {
        return -1;
    }

    at = body->ntoks++;
    t = &body->toks[at];
    t->type = (uint8_t) json_typeof(json);
    t->span = 1;

    switch (json_typeof(json)) {

    case JSON_OBJECT:
        n = 0;

        for (it = json_object_iter((json_t *) json);
             it != NULL;
             it = json_object_iter_next((json_t *) json, it))
        {
            if (body->ntoks == body->cap && lg_schema_body_grow(body) != 0) {
                return -1;
            }

            key = json_object_iter_key(it);

            t = &body->toks[body->ntoks++];
            t->type = JSON_STRING;
            t->v.str = key;
            t->len = (uint32_t) json_object_iter_key_len(it);
            t->hash = lg_schema_key_hash(key, t->len);
            t->span = 1;

            if (lg_body_tokens(body, json_object_iter_value(it)) != 0) {
                return -1;
            }

            n++;
        }

        break;

    case JSON_ARRAY:
        n = json_array_size(json);

        for (i = 0; i < n; i++) {
            if (lg_body_tokens(body, json_array_get(json, i)) != 0) {
                return -1;
            }
        }

        break;

    case JSON_STRING:
        t->v.str = json_string_value(json);
        n = json_string_length(json);
        break;

    case JSON_INTEGER:
        t->v.i = json_integer_value(json);
        n = 0;
        break;

    case JSON_REAL:
        t->v.d = json_real_value(json);
        n = 0;
        break;

    default:
        n = 0;
    }

    t = &body->toks[at];
    t->len = (uint32_t) n;
    t->span = (uint32_t) (body->ntoks - at);

    return 0;
}
