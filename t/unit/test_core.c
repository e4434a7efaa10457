
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"
#include "fixture.h"

#include "lg_apikey.h"
#include "lg_json.h"
#include "lg_policy.h"
#include "lg_problem.h"
#include "lg_time.h"


static void
test_time(void)
{
    char     buf[64];
    int64_t  t, ms;

    ok(lg_time_parse_rfc3339("1970-01-01T00:00:00Z", 20, &t) == 0 && t == 0,
       "epoch");
    ok(lg_time_parse_rfc3339("2027-01-01T00:00:00Z", 20, &t) == 0
       && t == 1798761600, "2027-01-01");
    ok(lg_time_parse_rfc3339("2024-02-29T12:30:15Z", 20, &t) == 0
       && t == 1709209815, "leap day");
    ok(lg_time_parse_rfc3339("2027-01-01T02:00:00+02:00", 25, &t) == 0
       && t == 1798761600, "offset east");
    ok(lg_time_parse_rfc3339("2026-12-31T19:00:00-05:00", 25, &t) == 0
       && t == 1798761600, "offset west");
    ok(lg_time_parse_rfc3339("2027-01-01T00:00:00.123Z", 24, &t) == 0
       && t == 1798761600, "fraction is dropped");
    ok(lg_time_parse_rfc3339("2023-02-29T00:00:00Z", 20, &t) != 0,
       "no Feb 29 in 2023");
    ok(lg_time_parse_rfc3339("2027-13-01T00:00:00Z", 20, &t) != 0,
       "month 13");
    ok(lg_time_parse_rfc3339("2027-01-01 00:00:00Z", 20, &t) != 0,
       "space instead of T");
    ok(lg_time_parse_rfc3339("2027-01-01T00:00:00", 19, &t) != 0,
       "no zone");
    ok(lg_time_parse_rfc3339("2027-01-01", 10, &t) != 0, "date only");
    ok(lg_time_parse_rfc3339("2027-01-01T24:00:00Z", 20, &t) != 0,
       "hour 24");
    ok(lg_time_parse_rfc3339("2027-01-01T00:00:00Zjunk", 24, &t) != 0,
       "trailing bytes");
    ok(lg_time_parse_rfc3339("2027-01-01T00:00:00.Z", 21, &t) != 0,
       "empty fraction");

    ok(lg_duration_parse("30s", 3, &ms) == 0 && ms == 30000, "30s");
    ok(lg_duration_parse("500ms", 5, &ms) == 0 && ms == 500, "500ms");
    ok(lg_duration_parse("15m", 3, &ms) == 0 && ms == 900000, "15m");
    ok(lg_duration_parse("24h", 3, &ms) == 0 && ms == 86400000, "24h");
    ok(lg_duration_parse("90d", 3, &ms) == 0 && ms == 7776000000LL, "90d");
    ok(lg_duration_parse("10", 2, &ms) != 0, "unit required");
    ok(lg_duration_parse("s", 1, &ms) != 0, "number required");
    ok(lg_duration_parse("5w", 2, &ms) != 0, "unknown unit");
    ok(lg_duration_parse("-5s", 3, &ms) != 0, "negative");
    ok(lg_duration_parse("99999999999s", 12, &ms) != 0, "absurdly long");

    lg_time_format_imf(1798761600, buf, sizeof(buf));
    is_str(buf, "Fri, 01 Jan 2027 00:00:00 GMT", "IMF-fixdate");
    lg_time_format_imf(784111777, buf, sizeof(buf));
    is_str(buf, "Sun, 06 Nov 1994 08:49:37 GMT", "RFC 9110's example date");
}


static void
test_json(void)
{
    char             buf[64];
    const char      *text;
    lg_error_t       err;
    lg_json_path_t   path;

    lg_json_path_init(&path);
    lg_json_path_key(&path, "partners");
    lg_json_path_key(&path, "acme-carrier");
    lg_json_path_key(&path, "api_keys");
    lg_json_path_index(&path, 3);
    is_str(path.data, "$.partners.acme-carrier.api_keys[3]", "path syntax");

    lg_json_path_init(&path);
    lg_json_path_key(&path, "scopes");
    lg_json_path_key(&path, "tracking:read");
    is_str(path.data, "$.scopes[\"tracking:read\"]", "odd keys are quoted");

    text = "{\"a\": {\"b\": [1, 2, {\"c\": 1, \"c\": 2}]}}";
    ok(lg_json_load_buffer("f.json", text, strlen(text), 0, &err) == NULL,
       "duplicate keys are rejected");
    like_str(err.text, "f.json: $.a.b[2].c: duplicate object key",
             "duplicate key error names its path");

    text = "{\"a\": [1, 2,, 3]}";
    ok(lg_json_load_buffer("f.json", text, strlen(text), 0, &err) == NULL,
       "syntax error is rejected");
    like_str(err.text, "f.json: $.a[2]: ", "syntax error names its path");
    like_str(err.text, "line 1", "syntax error has a line");

    lg_json_escape(buf, sizeof(buf), "a\"b\\c\n\001", 7);
    is_str(buf, "\"a\\\"b\\\\c\\n\\u0001\"", "JSON escaping");

    /* a literal that does not fit: whole escapes only, nothing unwritten */
    memset(buf, 'X', sizeof(buf));
    is_int(lg_json_escape(buf, 8, "ab\001c", 4), 11, "the size it needs");
    is_str(buf, "\"ab", "truncated before the escape that does not fit");

    ok(lg_json_load_file("/nonexistent/x.json", 1024, 0, &err) == NULL,
       "missing file");
    like_str(err.text, "/nonexistent/x.json: cannot open",
             "missing file message");
}


static void
test_problem(void)
{
    char    buf[512];
    size_t  n, m;

    n = lg_problem_render(NULL, 0, "urn:x:", 6, LG_PROBLEM_UNAUTHORIZED,
                          NULL, 0, "rid\"1", 5, NULL, 0);
    m = lg_problem_render(buf, sizeof(buf), "urn:x:", 6,
                          LG_PROBLEM_UNAUTHORIZED, NULL, 0, "rid\"1", 5,
                          NULL, 0);
    buf[m] = '\0';

    is_int(n, m, "measuring and writing agree");
    is_str(buf, "{\"type\":\"urn:x:unauthorized\",\"title\":\"Authentication "
           "required\",\"status\":401,\"detail\":\"A valid API key is "
           "required.\",\"request_id\":\"rid\\\"1\"}\n", "problem body");

    is_int(lg_problem_type(LG_PROBLEM_METHOD_NOT_ALLOWED)->status, 405,
           "405 type");
    is_int(lg_problem_type(LG_PROBLEM_VERSION_SUNSET)->status, 410,
           "410 type");
    is_int(lg_problem_type((lg_problem_e) 999)->status, 500,
           "unknown problem is 500");
}


static void
test_apikey(void)
{
    char                 key[64], key2[64], hex[65], text[2048];
    char                 h2[65], h3[65], h4[65], h5[65];
    const char          *dir, *file;
    lg_error_t           err;
    lg_policy_t         *p;
    const lg_api_key_t  *k;

    ok(lg_apikey_generate(key, sizeof(key)) == 0, "generate a key");
    is_int(strlen(key), 47, "lgk_ + 43 base64url characters");
    ok(strncmp(key, "lgk_", 4) == 0, "key prefix");
    ok(lg_apikey_generate(key2, sizeof(key2)) == 0 && strcmp(key, key2) != 0,
       "two keys differ");
    ok(lg_apikey_generate(key2, 10) != 0, "small buffer refused");

    lg_sha256_hex("abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223"
                "b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc");

    ok(lg_apikey_well_formed("abc", 3), "plain key");
    ok(!lg_apikey_well_formed("a b", 3), "space refused");
    ok(!lg_apikey_well_formed("a\x80", 2), "8-bit byte refused");
    ok(!lg_apikey_well_formed("", 0), "empty refused");

    dir = lg_fixture_dir();

    lg_sha256_hex("good", 4, hex);
    lg_sha256_hex("expired", 7, h2);
    lg_sha256_hex("future", 6, h3);
    lg_sha256_hex("suspended", 9, h4);
    lg_sha256_hex("old", 3, h5);
    snprintf(text, sizeof(text),
        "{\"scopes\": {\"s\": \"\"},"
        " \"partners\": {"
        "  \"a\": {\"scopes\": [\"s\"], \"api_keys\": ["
        "    {\"id\": \"k1\", \"sha256\": \"%s\"},"
        "    {\"id\": \"k2\", \"sha256\": \"%s\", "
        "     \"expires\": \"2020-01-01T00:00:00Z\"},"
        "    {\"id\": \"k3\", \"sha256\": \"%s\", "
        "     \"not_before\": \"2099-01-01T00:00:00Z\"}]},"
        "  \"b\": {\"scopes\": [], \"suspended\": true, \"api_keys\": ["
        "    {\"id\": \"k1\", \"sha256\": \"%s\"}]},"
        "  \"c\": {\"scopes\": [], \"api_key_max_age\": \"1d\", "
        "   \"api_keys\": [{\"id\": \"old\", \"sha256\": \"%s\", "
        "     \"created\": \"2020-01-01T00:00:00Z\"}]}},"
        " \"apis\": {\"x\": {\"versions\": {\"v1\": {\"upstream_prefix\": "
        "  \"\"}}, \"routes\": [{\"id\": \"r\", \"method\": \"GET\", "
        "  \"path\": \"/r\", \"scopes\": [\"s\"]}]}}}",
        hex, h2, h3, h4, h5);

    file = lg_fixture_write(dir, "keys.json", text);
    p = lg_policy_load(file, &err);

    if (!ok(p != NULL, "key policy compiles")) {
        printf("# %s\n", err.text);
        lg_fixture_cleanup(dir);
        return;
    }

    is_int(lg_apikey_lookup(p, "good", 4, 1800000000, &k), LG_APIKEY_OK,
           "known key");
    ok(k != NULL && strcmp(k->partner->id.data, "a") == 0
       && strcmp(k->id.data, "k1") == 0, "found partner a, key k1");

    is_int(lg_apikey_lookup(p, "bad", 3, 1800000000, &k), LG_APIKEY_UNKNOWN,
           "unknown key");
    ok(k == NULL, "unknown key finds nothing");

    is_int(lg_apikey_lookup(p, "goo", 3, 1800000000, &k), LG_APIKEY_UNKNOWN,
           "a prefix of a key is unknown");

    is_int(lg_apikey_lookup(p, "expired", 7, 1800000000, &k),
           LG_APIKEY_EXPIRED, "expired key");
    ok(k != NULL && strcmp(k->id.data, "k2") == 0, "expired key is k2");
    is_int(lg_apikey_lookup(p, "future", 6, 1800000000, &k),
           LG_APIKEY_NOT_YET_VALID, "key before not_before");
    is_int(lg_apikey_lookup(p, "future", 6, 4200000000LL, &k),
           LG_APIKEY_OK, "key after not_before");
    is_int(lg_apikey_lookup(p, "suspended", 9, 1800000000, &k),
           LG_APIKEY_SUSPENDED, "suspended partner");
    is_int(lg_apikey_lookup(p, "old", 3, 1577836800 + 3600, &k),
           LG_APIKEY_OK, "young key within api_key_max_age");
    is_int(lg_apikey_lookup(p, "old", 3, 1577836800 + 86400, &k),
           LG_APIKEY_EXPIRED, "key older than api_key_max_age");

    ok(p->nkeys == 5, "five keys in the table");
    ok(p->keytab_mask + 1 >= 2 * p->nkeys, "table at most half full");

    lg_policy_free(p);
    lg_fixture_cleanup(dir);
}


/* the policy digest: the content of every document, not its layout */

#define DIGEST_API                                                            \
    "\"apis\": {\"x\": {\"versions\": {\"v1\": {\"upstream_prefix\": "       \
    "\"\"}}, \"routes\": [{\"id\": \"r\", \"method\": \"GET\", "             \
    "\"path\": \"/r\", \"scopes\": []}]}}"

static void
test_digest(void)
{
    char          first[65];
    size_t        i;
    const char   *file;
    lg_error_t    err;
    lg_policy_t  *p;
    char          dir[] = "/tmp/lg-unit-digest-XXXXXX";

    static const char  *root[] = {
        "{\"include\": [\"more.json\"], \"scopes\": {\"s\": \"x\"}}",
        "{\n  \"scopes\": {\"s\": \"x\"},\n  \"include\": [\"more.json\"]\n}",
        "{\"include\": [\"more.json\"], \"scopes\": {\"s\": \"y\"}}",
        "{\"include\": [\"more.json\"], \"scopes\": {\"s\": \"x\"}}",
    };

    static const char  *more[] = {
        "{\"partners\": {\"a\": {\"scopes\": [\"s\"], \"api_keys\": []}}, "
        DIGEST_API "}",
        "{\"partners\": {\"a\": {\"api_keys\": [], \"scopes\": [\"s\"]}}, "
        DIGEST_API "}",
        "{\"partners\": {\"a\": {\"scopes\": [\"s\"], \"api_keys\": []}}, "
        DIGEST_API "}",
        "{\"partners\": {\"b\": {\"scopes\": [\"s\"], \"api_keys\": []}}, "
        DIGEST_API "}",
    };

    static const char  *what[] = {
        "", "reformatted, members reordered", "a description changed",
        "an included file changed"
    };

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }

    first[0] = '\0';

    for (i = 0; i < 4; i++) {
        (void) lg_fixture_write(dir, "more.json", more[i]);
        file = lg_fixture_write(dir, "root.json", root[i]);

        p = lg_policy_load(file, &err);

        if (!ok(p != NULL, "digest policy %zu compiles", i)) {
            printf("# %s\n", err.text);
            break;
        }

        if (i == 0) {
            ok(strlen(p->digest) == 64
               && strspn(p->digest, "0123456789abcdef") == 64,
               "the digest is 64 hex digits");
            memcpy(first, p->digest, 65);

        } else if (i == 1) {
            is_str(p->digest, first, "same digest: %s", what[i]);

        } else {
            ok(strcmp(p->digest, first) != 0, "new digest: %s", what[i]);
        }

        lg_policy_free(p);
    }

    lg_fixture_cleanup(dir);
}


int
main(void)
{
    test_time();
    test_json();
    test_problem();
    test_apikey();
    test_digest();

    return lg_unit_done();
}
