
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Request bodies the way the gateway validates them: one call,
 * lg_schema_validate_body(), over the parser's tokens instead of jansson
 * values.  Its results and errors must be those of lg_schema_validate()
 * on the jansson reading of the same text, its buffers must survive big
 * bodies followed by small ones, and what the tokens do differently
 * (duplicate keys of big objects, escaped strings in a shared copy,
 * member lookups by hash, equality of big objects) must stay right and
 * cheap.
 */


#include <stdint.h>
#include <time.h>

#include "unit.h"
#include "fixture.h"

#include "lg_schema.h"


#define MAX_ERRORS  8


static const char  *dir;


static lg_schema_t *
compile(lg_arena_t *arena, const char *name, const char *text)
{
    lg_error_t            err;
    lg_schema_options_t   opts;
    lg_schema_t          *s;

    memset(&opts, 0, sizeof(opts));
    opts.format_assertion = 1;

    s = lg_schema_compile_file(arena, lg_fixture_write(dir, name, text),
                               &opts, &err);
    if (s == NULL) {
        printf("# %s: %s\n", name, err.text);
    }

    return s;
}


/*
 * Validates "text" both ways and says whether they agree: same result,
 * same errors in the same order.  Returns the body's result.
 */

static int
both(const lg_schema_t *s, const char *text, lg_schema_result_t *res,
    lg_arena_t *arena, const char *name)
{
    int                  rc, rc2, same;
    size_t               i, len;
    json_t              *json;
    lg_error_t           err;
    json_error_t         jerr;
    lg_schema_result_t   res2;

    len = strlen(text);

    memset(res, 0, sizeof(lg_schema_result_t));
    res->max_errors = MAX_ERRORS;
    res->arena = arena;

    rc = lg_schema_validate_body(s, text, len, res, &err);

    json = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL
                                 | JSON_DECODE_ANY, &jerr);
    if (json == NULL) {
        ok(0, "%s: jansson reads it (%s)", name, jerr.text);
        return rc;
    }

    memset(&res2, 0, sizeof(res2));
    res2.max_errors = MAX_ERRORS;
    res2.arena = arena;

    rc2 = lg_schema_validate(s, json, &res2);
    json_decref(json);

    same = (rc == rc2 && res->nerrors == res2.nerrors);

    for (i = 0; same && i < res->nerrors; i++) {
        same = strcmp(res->errors[i].instance_location,
                      res2.errors[i].instance_location) == 0
               && strcmp(res->errors[i].keyword_location,
                         res2.errors[i].keyword_location) == 0
               && strcmp(res->errors[i].message, res2.errors[i].message)
                  == 0;
    }

    if (!ok(same, "%s: the body and the jansson value agree", name)) {
        printf("# body %d (%zu errors), jansson %d (%zu errors)\n", rc,
               res->nerrors, rc2, res2.nerrors);
    }

    return rc;
}


static void
test_results(void)
{
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_schema_t         *s;
    lg_error_t           err;
    lg_schema_result_t   res;

    s = compile(&arena, "order.json",
        "{\"type\": \"object\",\n"
        " \"required\": [\"id\", \"lines\", \"currency\"],\n"
        " \"additionalProperties\": false,\n"
        " \"dependentRequired\": {\"discount\": [\"coupon\"]},\n"
        " \"properties\": {\n"
        "   \"id\": {\"type\": \"string\", \"pattern\": \"^O-[0-9]{4}$\"},\n"
        "   \"currency\": {\"enum\": [\"EUR\", \"USD\", 1, [1, 2],\n"
        "                          {\"a\": 1, \"b\": [true, null]}]},\n"
        "   \"discount\": {\"type\": \"number\", \"maximum\": 50},\n"
        "   \"coupon\": {\"const\": 10},\n"
        "   \"when\": {\"type\": \"string\", \"format\": \"date\"},\n"
        "   \"tags\": {\"propertyNames\": {\"maxLength\": 3},\n"
        "              \"additionalProperties\": {\"type\": \"integer\"}},\n"
        "   \"lines\": {\"type\": \"array\", \"minItems\": 1,\n"
        "             \"uniqueItems\": true,\n"
        "             \"items\": {\"type\": \"object\",\n"
        "                        \"required\": [\"sku\"],\n"
        "                        \"unevaluatedProperties\": false,\n"
        "                        \"properties\": {\"sku\": true}}}}}");
    if (!ok(s != NULL, "the order schema compiles")) {
        return;
    }

    is_int(both(s, "{\"id\": \"O-0001\", \"currency\": \"EUR\", "
                "\"lines\": [{\"sku\": \"a\"}]}", &res, &rarena,
                "valid"), 0, "a valid order");

    is_int(both(s, "{\"id\": \"X\", \"currency\": \"GBP\", \"lines\": [], "
                "\"discount\": 60, \"x\": 1, \"tags\": {\"long\": 1.5}, "
                "\"when\": \"2026-02-30\"}", &res, &rarena,
                "many errors"), 1, "an order with many errors");
    is_int(res.nerrors, 8, "stops at max_errors");
    if (res.nerrors >= 3) {
        is_str(res.errors[0].keyword_location, "/dependentRequired",
               "dependentRequired, answered by the same lookups");
        is_str(res.errors[1].instance_location, "/id",
               "then the members in document order");
        is_str(res.errors[2].keyword_location, "/properties/currency/enum",
               "enum");
    }

    is_int(both(s, "{\"id\": \"O-0001\", \"currency\": 1.0, "
                "\"lines\": [{\"sku\": 1}, {\"sku\": 1.0}]}", &res,
                &rarena, "1 and 1.0"), 1,
           "1.0 is the enum's 1, and the items 1 and 1.0 are equal");
    if (res.nerrors == 1) {
        is_str(res.errors[0].keyword_location,
               "/properties/lines/uniqueItems", "as uniqueItems says");
    }

    is_int(both(s, "{\"id\": \"O-0001\", \"currency\": {\"b\": [true, null], "
                "\"a\": 1.0}, \"lines\": [{\"sku\": 2, \"z\": 0}]}", &res,
                &rarena, "object enum"), 1,
           "an object equals the enum's whatever its member order");
    if (res.nerrors == 1) {
        is_str(res.errors[0].keyword_location,
               "/properties/lines/items/unevaluatedProperties",
               "and unevaluated members are found");
    }

    is_int(both(s, "{\"id\": \"O-0001\", \"currency\": [1, 2], "
                "\"lines\": [1], \"discount\": 5, \"coupon\": 10.0}", &res,
                &rarena, "array enum"), 1, "an array in the enum");

    is_int(lg_schema_validate_body(s, "{\"id\": 1,}", 10, &res, &err),
           LG_SCHEMA_BODY_MALFORMED, "a syntax error is a malformed body");
    is_str(err.text, "line 1, column 10: string or '}' expected",
           "said as lg_schema_parse_body() says it");

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


/* keys with escapes are unescaped into one copy of the body */

static void
test_escapes(void)
{
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_schema_t         *s;
    lg_schema_result_t   res;

    static const char    body[] =
        "{\"a\\u00e9\": \"x\\ty\", \"plain\": \"p\", "
        "\"\\u0062\": [\"\\ud83d\\ude00\", \"\\\"q\\\"\"], "
        "\"\\u00e9t\\u00e9\": \"\\u0000\"}";

    s = compile(&arena, "esc.json",
        "{\"properties\": {\n"
        "   \"a\\u00e9\": {\"const\": \"x\\ty\"},\n"
        "   \"b\": {\"prefixItems\": [{\"minLength\": 2},\n"
        "                         {\"const\": \"\\\"q\\\"\"}]},\n"
        "   \"\\u00e9t\\u00e9\": {\"maxLength\": 0}},\n"
        " \"required\": [\"plain\", \"b\", \"\\u00e9t\\u00e9\"]}");
    if (!ok(s != NULL, "the escapes schema compiles")) {
        return;
    }

    is_int(both(s, body, &res, &rarena, "escapes"), 1,
           "escaped keys are found, escaped values compared");
    if (ok(res.nerrors == 2, "two errors")) {
        is_str(res.errors[0].instance_location, "/b/0",
               "a surrogate pair is one character");
        is_str(res.errors[1].instance_location, "/\xc3\xa9t\xc3\xa9",
               "a NUL is a character too, in an escaped key's member");
    }

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


/*
 * A member name quoted in a message is cut to fit: the message is made
 * of whole escapes, the same on every path (it once ended in bytes of
 * the stack the escaping never wrote).
 */

static void
test_long_names(void)
{
    char                 body[256], want[256];
    size_t               i, n, w;
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_schema_t         *s;
    lg_schema_result_t   res;

    s = compile(&arena, "closed.json", "{\"additionalProperties\": false}");
    if (!ok(s != NULL, "the closed schema compiles")) {
        return;
    }

    n = sprintf(body, "{\"trac");
    w = sprintf(want, "property \"trac");

    for (i = 0; i < 42; i++) {
        body[n++] = 0x7f;
    }

    sprintf(body + n, "king_number\": 1}");

    /* 20 escapes of 6 bytes fill the 128-byte quote after "trac */
    for (i = 0; i < 20; i++) {
        w += sprintf(want + w, "\\u007f");
    }

    sprintf(want + w, " is not allowed");

    is_int(both(s, body, &res, &rarena, "long name"), 1,
           "a long name with escapes");
    if (res.nerrors == 1) {
        is_str(res.errors[0].message, want, "is quoted in whole escapes");
    }

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


/* an object of n members "k0".."k<n-1>", plus "dup" twice when asked */

static char *
big_object(size_t n, int dup, size_t *len)
{
    char    *buf;
    size_t   i, p;

    buf = malloc(n * 24 + 64);
    p = 0;
    buf[p++] = '{';

    for (i = 0; i < n; i++) {
        p += sprintf(buf + p, "%s\"k%zu\": %zu", i ? ", " : "", i, i);

        if (dup && i == n / 2) {
            p += sprintf(buf + p, ", \"dup\": 0");
        }
    }

    if (dup) {
        p += sprintf(buf + p, ", \"dup\": 1");
    }

    buf[p++] = '}';
    buf[p] = '\0';
    *len = p;

    return buf;
}


static void
test_big_objects(void)
{
    char                *buf;
    size_t               len, n;
    clock_t              t0;
    double               secs;
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *s;
    lg_schema_result_t   res;

    s = compile(&arena, "big.json",
        "{\"type\": [\"object\", \"array\"],\n"
        " \"required\": [\"k3\", \"k19999\", \"missing\"],\n"
        " \"properties\": {\"k100\": {\"maximum\": 99}},\n"
        " \"additionalProperties\": {\"type\": \"integer\"},\n"
        " \"uniqueItems\": true}");
    if (!ok(s != NULL, "the big-object schema compiles")) {
        return;
    }

    /* the duplicate-key table: found across its growth */
    for (n = 8; n <= 20000; n *= 5) {
        buf = big_object(n, 1, &len);

        memset(&res, 0, sizeof(res));
        res.max_errors = MAX_ERRORS;
        res.arena = &rarena;

        is_int(lg_schema_validate_body(s, buf, len, &res, &err),
               LG_SCHEMA_BODY_MALFORMED,
               "a duplicate key in an object of %zu members", n);
        like_str(err.text, "duplicate object key", "is refused");
        free(buf);
    }

    buf = big_object(20000, 0, &len);
    is_int(both(s, buf, &res, &rarena, "20000 members"), 1,
           "20000 distinct members");
    if (ok(res.nerrors == 2, "two errors")) {
        is_str(res.errors[0].message,
               "missing required property \"missing\"",
               "the one required member that is not there");
        is_str(res.errors[1].instance_location, "/k100",
               "and a member looked up past the first ones");
    }

    free(buf);

    /* a small body after a big one: the kept buffers are right */
    is_int(both(s, "{\"k3\": 1, \"k19999\": 2, \"missing\": 3}", &res,
                &rarena, "small after big"), 0, "a small body after it");

    /* two equal 20000-member objects in an array: n log n, not n^2 */
    buf = malloc(2 * 20000 * 24 + 64);
    len = 0;
    buf[len++] = '[';

    for (n = 0; n < 2; n++) {
        size_t  i;

        buf[len++] = n ? ',' : ' ';
        buf[len++] = '{';

        for (i = 0; i < 20000; i++) {
            /* the second object lists its members backwards */
            len += sprintf(buf + len, "%s\"k%zu\": 1", i ? ", " : "",
                           n ? 19999 - i : i);
        }

        buf[len++] = '}';
    }

    buf[len++] = ']';

    memset(&res, 0, sizeof(res));
    res.max_errors = 1;
    res.arena = &rarena;

    t0 = clock();
    is_int(lg_schema_validate_body(s, buf, len, &res, &err), 1,
           "two equal big objects are not unique items");
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    ok(secs < 2.0, "and comparing them is cheap (%.3fs)", secs);

    free(buf);

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


/* more names than the validator's bitmap on the stack holds */

static void
test_many_names(void)
{
    char                *text, *body;
    size_t               i, n, b;
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_schema_t         *s;
    lg_schema_result_t   res;

    text = malloc(300 * 16 + 64);
    body = malloc(300 * 16 + 64);

    n = sprintf(text, "{\"required\": [");
    b = sprintf(body, "{");

    for (i = 0; i < 300; i++) {
        n += sprintf(text + n, "%s\"r%zu\"", i ? ", " : "", i);

        if (i != 150) {
            b += sprintf(body + b, "%s\"r%zu\": 0", b > 1 ? ", " : "", i);
        }
    }

    sprintf(text + n, "]}");
    sprintf(body + b, "}");

    s = compile(&arena, "names.json", text);

    if (ok(s != NULL, "300 required names compile")) {
        is_int(both(s, body, &res, &rarena, "300 names"), 1,
               "299 of 300 required members");
        if (res.nerrors == 1) {
            is_str(res.errors[0].message,
                   "missing required property \"r150\"",
                   "the missing one is found");
        }
    }

    free(text);
    free(body);

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


/*
 * Patterns simple enough to be matched without PCRE2 must match as PCRE2
 * does: each is held against the same pattern in a group, which PCRE2
 * always matches, over random strings of the characters they care about.
 */

static void
test_simple_patterns(void)
{
    int                  a, b;
    char                 text[256], body[128];
    size_t               i, j, k, n, bad;
    uint32_t             seed;
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *fast, *slow;
    lg_schema_result_t   res;

    static const char  *patterns[] = {
        "^[A-Z]{2}$", "^[a-z0-9][a-z0-9_-]{1,31}$",
        "^\\\\+[1-9][0-9]{6,14}$", "^[A-Za-z0-9][A-Za-z0-9._/:#-]*$",
        "^[A-Za-z0-9 -]+$", "^\\\\d{3}\\\\w?$", "^a-b$", "^[-a]*$",
        "^x{0}y$", "^$", "^[.]\\\\.$", "^ab?$", "^[a-c]{2,}$",
        "^Z{1,3}$", "^[\\\\w.]{0,2}$", "^[+-]?[0-9]+$", "^a{,2}$",
        "^a{2$", "^[a-]{2}$", NULL
    };

    /* what the strings are made of: ASCII, a UTF-8 letter, a control */
    static const char  *pieces[] = {
        "a", "b", "c", "x", "y", "z", "A", "Z", "0", "1", "9", "_", "-",
        ".", " ", "+", "#", "/", ":", "\xc3\xa9", "\\u0001", "\\\\",
        "{", "}", ",", "2"
    };

    seed = 12345;
    bad = 0;
    n = 0;

    for (i = 0; patterns[i] != NULL; i++) {
        snprintf(text, sizeof(text), "{\"pattern\": \"%s\"}", patterns[i]);
        fast = compile(&arena, "fast.json", text);

        /* "^x$" as "^(?:x)$": a group, so never the simple matcher */
        k = strlen(patterns[i]);
        snprintf(text, sizeof(text), "{\"pattern\": \"^(?:%.*s)$\"}",
                 (int) k - 2, patterns[i] + 1);
        slow = compile(&arena, "slow.json", text);

        if (fast == NULL || slow == NULL) {
            bad++;
            continue;
        }

        for (j = 0; j < 400; j++) {
            k = 0;
            body[k++] = '"';

            /* lengths 0 .. 19, more of them short */
            seed = seed * 1103515245 + 12345;
            n = (seed >> 16) % 20;
            n = (j < 200) ? n % 5 : n;

            while (n-- > 0 && k < sizeof(body) - 8) {
                seed = seed * 1103515245 + 12345;
                k += sprintf(body + k, "%s",
                             pieces[(seed >> 16)
                                    % (sizeof(pieces) / sizeof(pieces[0]))]);
            }

            body[k++] = '"';
            body[k] = '\0';

            memset(&res, 0, sizeof(res));
            res.max_errors = 1;
            res.arena = &rarena;

            a = lg_schema_validate_body(fast, body, k, &res, &err);
            b = lg_schema_validate_body(slow, body, k, &res, &err);

            if (a != b) {
                printf("# %s on %s: %d, PCRE2: %d\n", patterns[i], body, a,
                       b);
                bad++;
            }
        }

        lg_arena_free(&rarena);
    }

    is_int(bad, 0, "simple patterns match as PCRE2 matches");

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


int
main(void)
{
    dir = lg_fixture_dir();

    test_results();
    test_escapes();
    test_long_names();
    test_big_objects();
    test_many_names();
    test_simple_patterns();

    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
