
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The state key builder (lg_keys): the exact names, the lengths callers
 * size their buffers with, the refusals, the Redis Cluster hash-tag
 * property, and that the compiled policy carries the same names.
 */

#include "unit.h"
#include "fixture.h"

#include "lg_keys.h"
#include "lg_policy.h"


#define NKINDS  6


/*
 * The part of a key Redis Cluster hashes (the cluster specification's
 * HASH_SLOT rule): between the first '{' and the first '}' after it, if
 * that is not empty; else the whole key.
 */

static void
hash_tag(const char *key, size_t len, const char **tag, size_t *tag_len)
{
    size_t  open, close;

    for (open = 0; open < len && key[open] != '{'; open++) {
        /* void */
    }

    for (close = open + 1; close < len && key[close] != '}'; close++) {
        /* void */
    }

    if (open >= len || close >= len || close == open + 1) {
        *tag = key;
        *tag_len = len;
        return;
    }

    *tag = key + open + 1;
    *tag_len = close - open - 1;
}


static void
test_names(void)
{
    char    buf[128];
    size_t  n;

    n = lg_key_build(buf, sizeof(buf), LG_KEY_RATE, "acme", 4, NULL, 0);
    is_str(buf, "lg:{acme}:rl", "partner limit");
    is_int(n, strlen("lg:{acme}:rl"), "its length");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_ROUTE_RATE, "acme", 4,
                     "shipments.create", 16);
    is_str(buf, "lg:{acme}:rl:shipments.create", "route limit");
    is_int(n, strlen(buf), "its length");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_SUSPENDED, "acme", 4, NULL, 0);
    is_str(buf, "lg:{acme}:suspended", "suspension");
    is_int(n, strlen(buf), "its length");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_JTI, "acme", 4, "tok-1", 5);
    is_str(buf, "lg:{acme}:jti:tok-1", "revoked token id");
    is_int(n, strlen(buf), "its length");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_IDEM, "p", 1, "abc", 3);
    is_str(buf, "lg:{p}:idem:abc", "idempotency record");
    is_int(n, strlen(buf), "its length");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_WEBHOOK, "acme", 4,
                     "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 31);
    is_str(buf, "lg:{acme}:wh:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
           "webhook event id");
    is_int(n, strlen(buf), "its length");

    /* the argument is bytes, not a C string */

    n = lg_key_build(buf, sizeof(buf), LG_KEY_IDEM, "p", 1, "a\0b", 3);
    ok(n == strlen("lg:{p}:idem:") + 3
       && memcmp(buf, "lg:{p}:idem:a\0b", n) == 0,
       "an argument with a NUL is copied whole");

    n = lg_key_build(buf, sizeof(buf), LG_KEY_JTI, "acme", 4, "", 0);
    is_str(buf, "lg:{acme}:jti:", "an empty argument keeps its colon");

    /* kinds without an argument ignore one */

    n = lg_key_build(buf, sizeof(buf), LG_KEY_RATE, "acme", 4, "x", 1);
    is_str(buf, "lg:{acme}:rl", "the partner limit takes no argument");
}


static void
test_lengths(void)
{
    int     kind;
    char    buf[64];
    size_t  len, n;

    for (kind = 0; kind < NKINDS; kind++) {
        len = lg_key_len((lg_key_e) kind, 7, 5);

        memset(buf, 'X', sizeof(buf));
        n = lg_key_build(buf, len, (lg_key_e) kind, "partner", 7, "abcde",
                         5);
        ok(n == len && n > 0 && buf[len] == 'X',
           "kind %d: an exact buffer takes the key and nothing more", kind);

        n = lg_key_build(buf, len + 1, (lg_key_e) kind, "partner", 7,
                         "abcde", 5);
        ok(n == len && buf[len] == '\0' && strlen(buf) == len,
           "kind %d: one more byte holds a NUL", kind);

        memset(buf, 'X', sizeof(buf));
        n = lg_key_build(buf, len - 1, (lg_key_e) kind, "partner", 7,
                         "abcde", 5);
        ok(n == 0 && buf[0] == 'X',
           "kind %d: a buffer one byte short is refused untouched", kind);
    }

    is_int(lg_key_len(LG_KEY_RATE, 4, 100), strlen("lg:{acme}:rl"),
           "length: no argument counted for the partner limit");
    is_int(lg_key_len(LG_KEY_ROUTE_RATE, 4, 3), strlen("lg:{acme}:rl:abc"),
           "length: route limit");
    is_int(lg_key_len((lg_key_e) NKINDS, 4, 3), 0, "length: unknown kind");
    is_int(lg_key_build(buf, sizeof(buf), (lg_key_e) NKINDS, "acme", 4,
                        NULL, 0),
           0, "build: unknown kind");
}


static void
test_refusals(void)
{
    char  buf[64];

    is_int(lg_key_build(buf, sizeof(buf), LG_KEY_RATE, "", 0, NULL, 0), 0,
           "an empty partner id is refused");
    is_int(lg_key_build(buf, sizeof(buf), LG_KEY_RATE, "a{b", 3, NULL, 0),
           0, "a partner id with '{' is refused");
    is_int(lg_key_build(buf, sizeof(buf), LG_KEY_SUSPENDED, "a}b", 3, NULL,
                        0),
           0, "a partner id with '}' is refused");
}


/*
 * Every key of a partner hashes on the partner id alone, whatever the
 * argument holds: braces, colons, a NUL.
 */

static void
test_hash_tag(void)
{
    int          kind, a, good;
    char         buf[256];
    size_t       n, tag_len;
    const char  *tag;

    static const char  *partners[] = {
        "acme", "acme-carrier", "x", "dhl.express_2", NULL
    };

    static const struct {
        const char  *data;
        size_t       len;
    } args[] = {
        { "shipments.create", 16 },
        { "}", 1 },
        { "{other}", 7 },
        { "}{", 2 },
        { "a:b:{c}", 7 },
        { "n\0ul}", 5 },
        { "", 0 },
    };

    const char **p;

    for (p = partners; *p != NULL; p++) {
        good = 1;

        for (kind = 0; kind < NKINDS; kind++) {
            for (a = 0; a < (int) (sizeof(args) / sizeof(args[0])); a++) {
                n = lg_key_build(buf, sizeof(buf), (lg_key_e) kind, *p,
                                 strlen(*p), args[a].data, args[a].len);

                hash_tag(buf, n, &tag, &tag_len);

                if (n == 0 || tag_len != strlen(*p)
                    || memcmp(tag, *p, tag_len) != 0)
                {
                    printf("# kind %d, argument %d: tag \"%.*s\"\n", kind, a,
                           (int) tag_len, tag);
                    good = 0;
                }
            }
        }

        ok(good, "every key of \"%s\" carries the tag {%s}", *p, *p);
    }

    /* the check can fail: an id with a brace would move the tag */

    hash_tag("lg:{a}b}:rl", 11, &tag, &tag_len);
    ok(tag_len == 1 && tag[0] == 'a',
       "hash_tag() stops at the first '}' (why ids never hold one)");
}


/* the compiled policy names its state with the same builder */

static void
test_policy_keys(void)
{
    char          want[128];
    const char   *dir, *file;
    lg_error_t    err;
    lg_policy_t  *p;
    lg_partner_t *acme;

    dir = lg_fixture_dir();

    file = lg_fixture_write(dir, "policy.json",
        "{\"scopes\": {\"s\": \"d\"},"
        " \"partners\": {\"acme-carrier\": {\"scopes\": [\"s\"],"
        "   \"api_keys\": [{\"id\": \"k\", \"sha256\": \""
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}],"
        "   \"rate_limit\": {\"rate\": \"10/s\","
        "     \"routes\": {\"get.one\": {\"rate\": \"1/s\"}}}}},"
        " \"apis\": {\"a\": {"
        "   \"versions\": {\"v1\": {\"upstream_prefix\": \"\"}},"
        "   \"routes\": [{\"id\": \"get.one\", \"method\": \"GET\","
        "     \"path\": \"/x\", \"scopes\": [\"s\"]}]}}}");

    p = lg_policy_load(file, &err);
    ok(p != NULL, "policy loads");

    if (p == NULL) {
        printf("# %s\n", err.text);
        lg_fixture_cleanup(dir);
        return;
    }

    acme = &p->partners[0];

    lg_key_build(want, sizeof(want), LG_KEY_RATE, "acme-carrier", 12, NULL,
                 0);
    ok(acme->limit_key.len == strlen(want)
       && strcmp(acme->limit_key.data, want) == 0,
       "limit_key is %s", want);

    lg_key_build(want, sizeof(want), LG_KEY_SUSPENDED, "acme-carrier", 12,
                 NULL, 0);
    ok(acme->suspended_key.len == strlen(want)
       && strcmp(acme->suspended_key.data, want) == 0,
       "suspended_key is %s", want);

    lg_key_build(want, sizeof(want), LG_KEY_ROUTE_RATE, "acme-carrier", 12,
                 "get.one", 7);
    ok(acme->route_limit_keys != NULL
       && acme->route_limit_keys[0].len == strlen(want)
       && strcmp(acme->route_limit_keys[0].data, want) == 0,
       "route_limit_keys[get.one] is %s", want);

    is_str(want, "lg:{acme-carrier}:rl:get.one", "(that is the documented "
           "layout)");

    lg_policy_free(p);
    lg_fixture_cleanup(dir);
}


int
main(void)
{
    test_names();
    test_lengths();
    test_refusals();
    test_hash_tag();
    test_policy_keys();

    return lg_unit_done();
}
