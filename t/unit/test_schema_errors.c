
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * JSON Schema: what the gateway shows to people.  Error locations and
 * messages, the max_errors cap, compile errors ("file: json.path:
 * reason"), references across files, format assertions, the body parser,
 * and hostile inputs that must stay cheap.
 */


#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "unit.h"
#include "fixture.h"

#include "lg_schema.h"


static const char  *dir;


static lg_schema_t *
compile(lg_arena_t *arena, const char *name, const char *text, int format,
    lg_error_t *err)
{
    const char           *file;
    lg_schema_options_t   opts;

    memset(&opts, 0, sizeof(opts));
    opts.format_assertion = format;

    file = lg_fixture_write(dir, name, text);

    return lg_schema_compile_file(arena, file, &opts, err);
}


static int
validate(const lg_schema_t *schema, const char *text, size_t max_errors,
    lg_arena_t *arena, lg_schema_result_t *res)
{
    int          rc;
    json_t      *inst;
    lg_error_t   err;

    inst = lg_schema_parse_body(text, strlen(text), &err);
    if (inst == NULL) {
        printf("# body: %s\n", err.text);
        return -2;
    }

    memset(res, 0, sizeof(lg_schema_result_t));
    res->max_errors = max_errors;
    res->arena = arena;

    rc = lg_schema_validate(schema, inst, res);

    json_decref(inst);

    return rc;
}


static void
test_locations(void)
{
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *s;
    lg_schema_result_t   res;

    s = compile(&arena, "loc.json",
        "{\"type\": \"object\", \"required\": [\"parcels\", \"ref\"],\n"
        " \"properties\": {\n"
        "  \"ref\": {\"type\": \"string\", \"maxLength\": 3},\n"
        "  \"parcels\": {\"type\": \"array\", \"items\": "
        "{\"$ref\": \"#/$defs/parcel\"}}},\n"
        " \"additionalProperties\": false,\n"
        " \"$defs\": {\"parcel\": {\"properties\": {\"weight\": "
        "{\"type\": \"number\", \"minimum\": 0}}}}}", 0, &err);

    if (!ok(s != NULL, "schema with $defs compiles")) {
        printf("# %s\n", err.text);
        return;
    }

    is_int(validate(s, "{\"ref\": \"abc\", \"parcels\": [{\"weight\": 1}]}",
                    10, &rarena, &res), 0, "valid document");
    is_int(res.nerrors, 0, "no errors");

    is_int(validate(s, "{\"ref\": \"abcd\", \"parcels\": [{\"weight\": 1}, "
                    "{\"weight\": -1}], \"x/y\": 1}", 10, &rarena, &res), 1,
           "invalid document");
    is_int(res.nerrors, 3, "three errors");

    if (res.nerrors == 3) {
        is_str(res.errors[0].instance_location, "/ref", "maxLength at /ref");
        is_str(res.errors[0].keyword_location, "/properties/ref/maxLength",
               "maxLength keyword location");
        is_str(res.errors[0].message, "must be at most 3 characters long",
               "maxLength message");
        is_str(res.errors[1].instance_location, "/parcels/1/weight",
               "minimum at /parcels/1/weight");
        is_str(res.errors[1].keyword_location,
               "/properties/parcels/items/$ref/properties/weight/minimum",
               "minimum: evaluation path through $ref");
        is_str(res.errors[1].message, "must be >= 0", "minimum message");
        is_str(res.errors[2].instance_location, "/x~1y",
               "additional property, pointer-escaped");
        is_str(res.errors[2].keyword_location, "/additionalProperties",
               "additionalProperties keyword location");
        is_str(res.errors[2].message, "property \"x/y\" is not allowed",
               "additionalProperties message");
    }

    is_int(validate(s, "{}", 10, &rarena, &res), 1, "empty object invalid");
    is_int(res.nerrors, 2, "two missing properties");

    if (res.nerrors == 2) {
        is_str(res.errors[0].instance_location, "", "required at the root");
        is_str(res.errors[0].keyword_location, "/required",
               "required keyword location");
        is_str(res.errors[0].message, "missing required property "
               "\"parcels\"", "required message");
    }

    /* the cap */
    is_int(validate(s, "{\"ref\": 1, \"parcels\": [{\"weight\": -1}, "
                    "{\"weight\": -2}, {\"weight\": -3}], \"a\": 1, "
                    "\"b\": 2}", 2, &rarena, &res), 1, "many errors");
    is_int(res.nerrors, 2, "max_errors 2 keeps two");

    is_int(validate(s, "{\"ref\": 1}", 0, &rarena, &res), 1,
           "max_errors 0: a verdict only");
    is_int(res.nerrors, 0, "max_errors 0 records nothing");

    is_int(validate(s, "[]", 5, &rarena, &res), 1, "array instead of object");
    if (res.nerrors >= 1) {
        is_str(res.errors[0].message, "must be of type object",
               "type message");
    }

    lg_arena_free(&rarena);
    lg_arena_free(&arena);

    /* messages of the combinators */
    s = compile(&arena, "comb.json",
        "{\"properties\": {\"a\": {\"anyOf\": [{\"type\": \"string\"}, "
        "{\"type\": \"null\"}]}, \"b\": {\"oneOf\": [{\"minimum\": 0}, "
        "{\"maximum\": 10}]}, \"c\": {\"not\": {\"const\": 1}}, "
        "\"d\": {\"enum\": [\"x\"]}, \"e\": {\"uniqueItems\": true}, "
        "\"f\": {\"pattern\": \"^[0-9]+$\"}}}", 0, &err);

    if (!ok(s != NULL, "combinator schema compiles")) {
        printf("# %s\n", err.text);
        return;
    }

    is_int(validate(s, "{\"a\": 1, \"b\": 5, \"c\": 1.0, \"d\": \"y\", "
                    "\"e\": [1, 2, 1], \"f\": \"12a\"}", 10, &rarena, &res),
           1, "every property fails");

    if (ok(res.nerrors == 6, "six errors")) {
        like_str(res.errors[0].message, "at least one", "anyOf message");
        is_str(res.errors[0].keyword_location, "/properties/a/anyOf",
               "anyOf location");
        like_str(res.errors[1].message, "exactly one", "oneOf message");
        like_str(res.errors[2].message, "must not match", "not message");
        like_str(res.errors[3].message, "allowed values", "enum message");
        like_str(res.errors[4].message, "items 0 and 2 are equal",
                 "uniqueItems message");
        like_str(res.errors[5].message, "^[0-9]+$", "pattern message");
    }

    lg_arena_free(&rarena);
    lg_arena_free(&arena);
}


static void
test_compile_errors(void)
{
    size_t       i;
    lg_arena_t   arena = { NULL };
    lg_error_t   err;
    lg_schema_t *s;

    static const struct {
        const char  *text;
        const char  *error;
    } bad[] = {
        { "{\"type\": \"strin\"}", "$.type: unknown type \"strin\"" },
        { "{\"type\": 5}", "$.type: must be a type name" },
        { "{\"properties\": {\"a\": {\"minimum\": \"1\"}}}",
          "$.properties.a.minimum: must be a number" },
        { "{\"minLength\": -1}", "$.minLength: must be a non-negative" },
        { "{\"maxItems\": 1.5}", "$.maxItems: must be a non-negative" },
        { "{\"multipleOf\": 0}", "$.multipleOf: must be greater than 0" },
        { "{\"pattern\": \"([a-z\"}", "$.pattern: invalid regular "
          "expression" },
        { "{\"patternProperties\": {\"(\": {}}}",
          "$.patternProperties: invalid regular expression" },
        { "{\"required\": [\"a\", \"a\"]}", "$.required: \"a\" is listed "
          "twice" },
        { "{\"required\": \"a\"}", "$.required: must be an array" },
        { "{\"allOf\": []}", "$.allOf: must be a non-empty array" },
        { "{\"items\": 3}", "$.items: a schema must be an object or a "
          "boolean" },
        { "{\"$defs\": {\"a\": {\"not\": []}}}",
          "$[\"$defs\"].a.not: a schema must be" },
        { "{\"$ref\": \"#/$defs/missing\"}", "$[\"$ref\"]: cannot resolve "
          "\"#/$defs/missing\"" },
        { "{\"$ref\": \"#nowhere\"}", "no anchor \"nowhere\"" },
        { "{\"$ref\": \"https://example.com/s.json\"}",
          "remote reference \"https://example.com/s.json\" is not allowed" },
        { "{\"$ref\": \"http://example.com/s.json#/a\"}",
          "remote reference" },
        { "{\"$ref\": \"missing.json\"}", "cannot resolve \"missing.json\"" },
        { "{\"$ref\": \"../../etc/passwd\"}", "is outside of" },
        { "{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}",
          "$[\"$schema\"]: unsupported dialect" },
        { "{\"$defs\": {\"a\": {\"$anchor\": \"x\"}, \"b\": "
          "{\"$anchor\": \"x\"}}}", "anchor \"x\" is defined twice" },
        { "{\"$id\": \"urn:a#frag\"}", "$[\"$id\"]: must not have a "
          "fragment" },
        { "{\"$schema\": \"http://json-schema.org/draft-07/schema#\", "
          "\"$id\": \"urn:a#/x\"}", "$[\"$id\"]: fragment must be a plain "
          "name" },
        { "[]", "a schema must be an object or a boolean" },
        { "{\"a\": 1, \"a\": 2}", "duplicate object key" },
        { "{\"type\": \"string\"", "" },
        { NULL, NULL }
    };

    for (i = 0; bad[i].text != NULL; i++) {
        s = compile(&arena, "bad.json", bad[i].text, 0, &err);

        if (ok(s == NULL, "rejected: %s", bad[i].text)) {
            like_str(err.text, bad[i].error, "error says %s", bad[i].error);
            like_str(err.text, "/bad.json: ", "error names the file");
        }

        lg_arena_free(&arena);
    }

    /* strict mode: a typo is not silently ignored */
    {
        lg_schema_options_t  opts;
        const char          *file;

        memset(&opts, 0, sizeof(opts));
        file = lg_fixture_write(dir, "typo.json",
                                "{\"requried\": [\"a\"], \"title\": \"t\", "
                                "\"x-owner\": \"ops\"}");

        s = lg_schema_compile_file(&arena, file, &opts, &err);
        ok(s != NULL, "unknown keyword ignored by default");
        lg_arena_free(&arena);

        opts.strict = 1;
        s = lg_schema_compile_file(&arena, file, &opts, &err);
        if (ok(s == NULL, "strict: unknown keyword rejected")) {
            like_str(err.text, "$.requried: unknown keyword",
                     "strict error names the keyword");
        }

        lg_arena_free(&arena);
    }
}


static void
test_files(void)
{
    char                 sub[4200];
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *s;
    lg_schema_result_t   res;

    snprintf(sub, sizeof(sub), "%s/common", dir);
    mkdir(sub, 0700);

    lg_fixture_write(sub, "address.json",
        "{\"$id\": \"urn:test:address\", \"type\": \"object\",\n"
        " \"required\": [\"country\"],\n"
        " \"properties\": {\"country\": {\"$ref\": \"types.json#/$defs/cc\"},"
        "  \"next\": {\"$ref\": \"#\"}}}");
    lg_fixture_write(sub, "types.json",
        "{\"$defs\": {\"cc\": {\"type\": \"string\", \"pattern\": "
        "\"^[A-Z]{2}$\"}, \"back\": {\"$ref\": \"../order.json\"}},\n"
        " \"$ref\": \"#/$defs/cc\"}");
    lg_fixture_write(dir, "order.json",
        "{\"type\": \"object\", \"properties\": {\n"
        "  \"to\": {\"$ref\": \"common/address.json\"},\n"
        "  \"cc\": {\"$ref\": \"common/types.json\"},\n"
        "  \"again\": {\"$ref\": \"common/types.json#/$defs/back\"}}}");

    s = lg_schema_compile_file(&arena,
                               lg_fixture_write(dir, "order.json",
        "{\"type\": \"object\", \"properties\": {\n"
        "  \"to\": {\"$ref\": \"common/address.json\"},\n"
        "  \"cc\": {\"$ref\": \"common/types.json\"},\n"
        "  \"again\": {\"$ref\": \"common/types.json#/$defs/back\"}}}"),
                               NULL, &err);

    if (!ok(s != NULL, "cross-file references (with a cycle) compile")) {
        printf("# %s\n", err.text);
        return;
    }

    is_int(validate(s, "{\"to\": {\"country\": \"FR\", \"next\": "
                    "{\"country\": \"DE\"}}, \"cc\": \"IT\", \"again\": "
                    "{\"cc\": \"ES\"}}", 5, &rarena, &res), 0,
           "valid across three files");

    is_int(validate(s, "{\"to\": {\"country\": \"FR\", \"next\": "
                    "{\"country\": \"de\"}}}", 5, &rarena, &res), 1,
           "invalid deep in another file");

    if (res.nerrors == 1) {
        is_str(res.errors[0].instance_location, "/to/next/country",
               "instance location across files");
        is_str(res.errors[0].keyword_location,
               "/properties/to/$ref/properties/next/$ref/properties/"
               "country/$ref/pattern", "keyword location across files");
    }

    is_int(validate(s, "{\"again\": {\"cc\": \"x\"}}", 5, &rarena, &res), 1,
           "the cycle back to the root file validates");

    lg_arena_free(&rarena);
    lg_arena_free(&arena);

    /* a file outside the base directory is refused */
    {
        lg_schema_options_t  opts;

        memset(&opts, 0, sizeof(opts));
        opts.base_dir = sub;

        s = lg_schema_compile_file(&arena,
                                   lg_fixture_write(sub, "escape.json",
                                       "{\"$ref\": \"../order.json\"}"),
                                   &opts, &err);

        if (ok(s == NULL, "reference outside base_dir refused")) {
            like_str(err.text, "is outside of", "says why");
        }

        lg_arena_free(&arena);
    }

    /* the sample policies' schemas */
    {
        static const char  *files[] = {
            "policies/schemas/shipment-create.v1.json",
            "policies/schemas/shipment-create.v2.json",
            "policies/schemas/inventory-adjustment.v2.json",
            "policies/schemas/tracking-event.v2.json",
            NULL
        };
        size_t  i;

        for (i = 0; files[i] != NULL; i++) {
            s = lg_schema_compile_file(&arena, files[i], NULL, &err);

            if (!ok(s != NULL, "%s compiles", files[i])) {
                printf("# %s\n", err.text);
            }

            lg_arena_free(&arena);
        }
    }
}


static void
test_formats(void)
{
    size_t               i;
    char                 text[512];
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *s, *plain;
    lg_schema_result_t   res;

    static const struct {
        const char  *format;
        const char  *good;
        const char  *bad;
    } formats[] = {
        { "date-time", "2026-03-01T10:20:30.5+01:00", "2026-03-01 10:20:30Z" },
        { "date-time", "1998-12-31T23:59:60Z", "2026-02-29T00:00:00Z" },
        { "date", "2024-02-29", "2023-02-29" },
        { "time", "08:30:00Z", "08:30:00" },
        { "email", "ops@example.com", "ops@@example.com" },
        { "email", "a.b+c@[192.0.2.1]", ".ab@example.com" },
        { "hostname", "api.example.com", "-api.example.com" },
        { "ipv4", "192.0.2.10", "192.0.2.010" },
        { "ipv6", "2001:db8::1", "2001:db8:::1" },
        { "uri", "https://example.com/a?b#c", "/relative/only" },
        { "uri", "urn:isbn:0451450523", "http://exa mple.com" },
        { "uri-reference", "../a%20b", "a b" },
        { "uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380",
          "2eb8aa08-aa98-11ea-b4aa-73b441d1638" },
        { "duration", "P1Y2M3DT4H5M6S", "P1Y2M3DT" },
        { "duration", "P4W", "PT" },
        { "json-pointer", "/a~1b/0", "/a~2" },
        { NULL, NULL, NULL }
    };

    for (i = 0; formats[i].format != NULL; i++) {
        snprintf(text, sizeof(text), "{\"format\": \"%s\"}",
                 formats[i].format);

        s = compile(&arena, "fmt.json", text, 1, &err);
        plain = compile(&arena, "fmt.json", text, 0, &err);

        if (!ok(s != NULL && plain != NULL, "format %s compiles",
                formats[i].format))
        {
            lg_arena_free(&arena);
            continue;
        }

        snprintf(text, sizeof(text), "\"%s\"", formats[i].good);
        is_int(validate(s, text, 1, &rarena, &res), 0, "%s: %s is valid",
               formats[i].format, formats[i].good);

        snprintf(text, sizeof(text), "\"%s\"", formats[i].bad);
        is_int(validate(s, text, 1, &rarena, &res), 1, "%s: %s is invalid",
               formats[i].format, formats[i].bad);

        if (res.nerrors == 1) {
            like_str(res.errors[0].message, formats[i].format,
                     "message names the format");
        }

        is_int(validate(plain, text, 1, &rarena, &res), 0,
               "%s: only an annotation by default", formats[i].format);

        lg_arena_free(&arena);
    }

    s = compile(&arena, "fmt.json", "{\"format\": \"x-custom\"}", 1, &err);
    is_int(s != NULL ? validate(s, "\"anything\"", 1, &rarena, &res) : -1, 0,
           "an unknown format asserts nothing");
    is_int(s != NULL ? validate(s, "12", 1, &rarena, &res) : -1, 0,
           "formats ignore non-strings");

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


static void
test_body(void)
{
    char        *buf;
    size_t       i, n;
    json_t      *json;
    lg_error_t   err;

    json = lg_schema_parse_body("{\"a\": \"x\\u0000y\"}", 17, &err);
    if (ok(json != NULL, "\\u0000 in strings is allowed")) {
        is_int(json_string_length(json_object_get(json, "a")), 3,
               "the NUL is kept");
        json_decref(json);
    }

    json = lg_schema_parse_body("{\"a\": 1,\n \"a\": 2}", 18, &err);
    ok(json == NULL, "duplicate keys are rejected");
    like_str(err.text, "line 2, column", "error has line and column");
    like_str(err.text, "duplicate", "error says duplicate");

    json = lg_schema_parse_body("{\"a\": 1,\n \"a\": [\n2,\n3]}", 23, &err);
    ok(json == NULL, "a duplicate key with a value over several lines");
    like_str(err.text, "line 2, column 2: duplicate",
             "is reported where the key is");

    json = lg_schema_parse_body("\"\xc3\x28\"", 4, &err);
    ok(json == NULL, "invalid UTF-8 is rejected");
    like_str(err.text, "line 1, column", "with a position");

    json = lg_schema_parse_body("\"\\ud800\"", 8, &err);
    ok(json == NULL, "a lone surrogate escape is rejected");

    json = lg_schema_parse_body("42", 2, &err);
    ok(json != NULL && json_is_integer(json), "any JSON value is a body");
    json_decref(json);

    json = lg_schema_parse_body("{} x", 4, &err);
    ok(json == NULL, "trailing garbage is rejected");

    json = lg_schema_parse_body("123456789012345678901234567890", 30, &err);
    if (ok(json != NULL, "a huge integer is kept (as a real)")) {
        ok(json_is_real(json), "as a real");
        json_decref(json);
    }

    json = lg_schema_parse_body("[1, 123456789012345678901, "
                                "-9223372036854775808]", 48, &err);
    if (ok(json != NULL, "a huge integer among others")) {
        ok(json_is_integer(json_array_get(json, 0)),
           "only the huge one becomes a real");
        ok(json_is_real(json_array_get(json, 1)), "the huge one is a real");
        ok(json_is_integer(json_array_get(json, 2))
           && json_integer_value(json_array_get(json, 2)) == INT64_MIN,
           "INT64_MIN is still an integer");
        json_decref(json);
    }

    json = lg_schema_parse_body("0\0", 2, &err);
    ok(json == NULL, "a NUL byte after a value is refused (jansson: 0)");

    json = lg_schema_parse_body("[01]", 4, &err);
    ok(json == NULL, "leading zeros are refused");
    like_str(err.text, "line 1, column 2", "at the number");

    json = lg_schema_parse_body("{\"e\\u0301\": \"\\ud83d\\ude00\\n\"}", 29,
                                &err);
    if (ok(json != NULL, "escapes in keys and values")) {
        is_str(json_string_value(json_object_get(json, "e\xcc\x81")),
               "\xf0\x9f\x98\x80\n", "a surrogate pair is one code point");
        json_decref(json);
    }

    json = lg_schema_parse_body("\"\\ude00\"", 8, &err);
    ok(json == NULL, "a lone low surrogate escape is rejected");

    json = lg_schema_parse_body("\"\xed\xa0\x80\"", 5, &err);
    ok(json == NULL, "a UTF-8 encoded surrogate is rejected");

    json = lg_schema_parse_body("\"\xc0\xaf\"", 4, &err);
    ok(json == NULL, "an overlong UTF-8 form is rejected");

    json = lg_schema_parse_body("{\"a\\u0000\": 1}", 15, &err);
    ok(json == NULL, "a NUL in a key is refused (jansson cannot keep it)");

    json = lg_schema_parse_body("{\"a\": [1,\n  2,\n  ]}", 19, &err);
    ok(json == NULL, "a trailing comma is refused");
    like_str(err.text, "line 3, column 3", "where it ends");

    /*
     * Long keys (past the parser's 256-byte scratch) stay intact while a
     * longer value with escapes makes the scratch move.
     */
    buf = malloc(4096);
    n = 0;
    buf[n++] = '{';
    buf[n++] = '"';
    for (i = 0; i < 300; i++) {
        buf[n++] = 'k';
    }
    n += sprintf(buf + n, "\\t\": {\"");
    for (i = 0; i < 1000; i++) {
        buf[n++] = 'j';
    }
    n += sprintf(buf + n, "\": \"");
    for (i = 0; i < 2000; i++) {
        buf[n++] = 'v';
    }
    n += sprintf(buf + n, "\\n\"}}");

    json = lg_schema_parse_body(buf, n, &err);
    if (ok(json != NULL, "long keys and values with escapes")) {
        const char  *key;
        json_t      *inner;

        key = json_object_iter_key(json_object_iter(json));
        is_int(strlen(key), 301, "the outer key survives the inner parse");
        is_int(key[300], '\t', "with its escape");
        inner = json_object_iter_value(json_object_iter(json));
        key = json_object_iter_key(json_object_iter(inner));
        is_int(strlen(key), 1000, "the inner key");
        is_int(json_string_length(json_object_iter_value(
                   json_object_iter(inner))), 2001, "the value");
        json_decref(json);
    }

    free(buf);

    json = lg_schema_parse_body("1e400", 5, &err);
    ok(json == NULL, "a real beyond double range is rejected");
    like_str(err.text, "line 1", "with a position");

    /*
     * Reals take a fast path when their digits and power of ten are
     * exact in a double, strtod() otherwise: both must give strtod()'s
     * value to the bit.
     */
    {
        static const char  *reals[] = {
            "0.1", "1.5", "-2.75", "12.99", "0.3", "-0.0", "1e22",
            "1e-22", "4.35", "9007199254740993.5", "1e23", "2.5e-23",
            "123456789012345.678", "0.000001", "17976931348623157e292",
            "4.9e-324", "2.2250738585072014e-308", "1.00000000000000011",
            "5e-1", "1E+2", NULL
        };

        double       want, got;
        const char  **r;

        for (r = reals; *r != NULL; r++) {
            json = lg_schema_parse_body(*r, strlen(*r), &err);
            want = strtod(*r, NULL);
            got = json_is_real(json) ? json_real_value(json) : 1e300;

            if (!ok(memcmp(&want, &got, sizeof(double)) == 0,
                    "a real is strtod()'s value to the bit"))
            {
                printf("# %s: %.17g, strtod(): %.17g\n", *r, got, want);
            }

            json_decref(json);
        }
    }

    /* 100k-deep nesting */
    n = 200000;
    buf = malloc(n);
    for (i = 0; i < n / 2; i++) {
        buf[i] = '[';
        buf[n - 1 - i] = ']';
    }

    json = lg_schema_parse_body(buf, n, &err);
    ok(json == NULL, "100k-deep nesting is rejected");
    like_str(err.text, "nesting deeper than", "says why");
    like_str(err.text, "line 1, column 257", "where");

    json = lg_schema_parse_body(buf + n / 2 - 100, 200, &err);
    ok(json != NULL, "100 levels are fine");
    json_decref(json);

    free(buf);
}


static void
test_hostile(void)
{
    char                *buf;
    size_t               i, n;
    clock_t              t0;
    double               secs;
    json_t              *inst;
    lg_arena_t           arena = { NULL }, rarena = { NULL };
    lg_error_t           err;
    lg_schema_t         *s;
    lg_schema_result_t   res;

    /* catastrophic backtracking is bounded by the PCRE2 limits */
    s = compile(&arena, "redos.json", "{\"pattern\": \"^(a+)+$\"}", 0, &err);
    if (!ok(s != NULL, "^(a+)+$ compiles")) {
        return;
    }

    n = 4096;
    buf = malloc(n + 3);
    buf[0] = '"';
    memset(buf + 1, 'a', n - 1);
    buf[n - 1] = '!';
    buf[n] = '"';
    buf[n + 1] = '\0';

    t0 = clock();
    is_int(validate(s, buf, 1, &rarena, &res), 1, "a...a! fails ^(a+)+$");
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    ok(secs < 2.0, "in bounded time (%.3fs)", secs);

    buf[n - 1] = 'a';
    is_int(validate(s, buf, 1, &rarena, &res), 0, "a...a matches ^(a+)+$");

    free(buf);
    lg_arena_free(&arena);

    /* nested alternation, the classic killer */
    s = compile(&arena, "redos2.json",
                "{\"pattern\": \"^(([a-z])+.)+[A-Z]([a-z])+$\"}", 0, &err);
    t0 = clock();
    validate(s, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"", 1, &rarena, &res);
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    ok(secs < 2.0, "nested quantifiers bounded (%.3fs)", secs);
    lg_arena_free(&arena);

    /* a reference loop that consumes no input is refused at load time */
    s = compile(&arena, "loop.json",
                "{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": "
                "{\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}", 0,
                &err);
    ok(s == NULL, "a $ref loop is refused");
    like_str(err.text, "reference loop", "as a reference loop");
    lg_arena_free(&arena);

    s = compile(&arena, "loop2.json",
                "{\"anyOf\": [{\"type\": \"string\"}, {\"not\": "
                "{\"allOf\": [{\"$ref\": \"#\"}]}}]}", 0, &err);
    ok(s == NULL, "so is a loop through anyOf, not and allOf");
    like_str(err.text, "loop2.json: $", "with where it closes");
    lg_arena_free(&arena);

    s = compile(&arena, "dag.json",
                "{\"$defs\": {\"int\": {\"type\": \"integer\"}}, "
                "\"allOf\": [{\"$ref\": \"#/$defs/int\"}, "
                "{\"$ref\": \"#/$defs/int\"}], "
                "\"items\": {\"$ref\": \"#\"}}", 0, &err);
    ok(s != NULL, "two paths to one schema, and recursion into items, "
       "are no loop");
    lg_arena_free(&arena);

    /*
     * A legitimate recursion still stops at the evaluation limit: five
     * evaluations per level of a 250-deep array pass 1024.
     */
    s = compile(&arena, "deep.json",
                "{\"$defs\": {\"n\": {\"allOf\": [{\"allOf\": [{\"allOf\": "
                "[{\"items\": {\"$ref\": \"#/$defs/n\"}}]}]}]}}, "
                "\"$ref\": \"#/$defs/n\"}", 0, &err);
    if (ok(s != NULL, "a deep recursive schema compiles")) {
        buf = malloc(501);
        for (i = 0; i < 250; i++) {
            buf[i] = '[';
            buf[499 - i] = ']';
        }
        buf[500] = '\0';

        is_int(validate(s, buf, 5, &rarena, &res), -1,
               "and stops at the evaluation limit");
        if (res.nerrors == 1) {
            like_str(res.errors[0].message, "nested deeper",
                     "with a clear message");
        }

        free(buf);
    }

    lg_arena_free(&arena);

    /* uniqueItems over 100k items stays fast */
    s = compile(&arena, "uniq.json", "{\"uniqueItems\": true}", 0, &err);
    inst = json_array();
    for (i = 0; i < 100000; i++) {
        json_array_append_new(inst, json_integer((json_int_t) i));
    }

    memset(&res, 0, sizeof(res));
    res.max_errors = 1;
    res.arena = &rarena;

    t0 = clock();
    is_int(lg_schema_validate(s, inst, &res), 0, "100k distinct items");
    json_array_append_new(inst, json_real(77777.0));
    is_int(lg_schema_validate(s, inst, &res), 1, "one duplicate (as 1.0)");
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    ok(secs < 2.0, "uniqueItems is n log n (%.3fs)", secs);

    json_decref(inst);
    lg_arena_free(&arena);

    /* deep but legal nesting against a recursive schema */
    s = compile(&arena, "deep.json",
                "{\"type\": [\"array\", \"integer\"], \"items\": "
                "{\"$ref\": \"#\"}, \"unevaluatedItems\": false}", 0, &err);
    n = 2 * 250 + 1;
    buf = malloc(n + 1);
    for (i = 0; i < 250; i++) {
        buf[i] = '[';
        buf[n - 1 - i] = ']';
    }
    buf[250] = '1';
    buf[n] = '\0';

    is_int(validate(s, buf, 1, &rarena, &res), 0,
           "250 levels through a recursive schema");
    free(buf);

    lg_arena_free(&arena);
    lg_arena_free(&rarena);
}


int
main(void)
{
    dir = lg_fixture_dir();

    test_locations();
    test_compile_errors();
    test_files();
    test_formats();
    test_body();
    test_hostile();

    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
