
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Webhook signatures: known answers from the schemes' own documentation
 * (Standard Webhooks, GitHub) and from Node's crypto (Stripe, ed25519
 * v1a with the RFC 8032 test-1 key, a carrier's HMAC-SHA512), then
 * everything a hostile sender may try.
 */


#include "unit.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lg_webhook.h"


#define KAT_SECRET   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define KAT_ID       "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define KAT_TS       "1614265330"
#define KAT_NOW      1614265330
#define KAT_BODY     "{\"test\": 2432232314}"
#define KAT_V1       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define KAT_BODY_SHA256 \
    "sha256-ae858931f67887e8150d6f96c9fe03062c1df36b4464c4ddc8e002c084d5d198"

/* RFC 8032 section 7.1, test 1, as Standard Webhooks keys */
#define KAT_WHSK     "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define KAT_WHPK     "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define KAT_V1A      "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmA" \
                     "b2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw=="

#define STRIPE_SECRET "whsec_test_secret_for_stripe_style_0123"
#define STRIPE_V1    "2390fc5c772896d19183bbfe76970b2dd9caf0688298f702e926aa" \
                     "30a12da023"

#define GH_SECRET    "It's a Secret to Everybody"
#define GH_BODY      "Hello, World!"
#define GH_SIG       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c" \
                     "22c46f4379c8b043e17"
#define GH_BODY_SHA256 \
    "sha256-dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"

#define GEN_SECRET   "carrier-secret-0123456789"
#define GEN_SIG      "hmac-sha512=Ul/EKwzdlBi6z/NkPIU2ImSGyNwJR6VEe+D/KvkfWr" \
                     "9zNw3Y7Ib7E2h0Y64svCwIYrqPiFxjMrFIFaIGAvpk+g=="


static char  tmpdir[] = "/tmp/lg-webhook-XXXXXX";


static lg_str_t
str(const char *s)
{
    lg_str_t  v;

    v.data = s;
    v.len = (s != NULL) ? strlen(s) : 0;

    return v;
}


static lg_webhook_t *
make(lg_webhook_scheme_e scheme, lg_webhook_purpose_e purpose,
    const char *s1, const char *s2)
{
    lg_error_t          err;
    lg_webhook_t       *wh;
    lg_webhook_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.scheme = scheme;
    conf.purpose = purpose;

    wh = lg_webhook_create(&conf, &err);
    if (wh == NULL) {
        printf("# create: %s\n", err.text);
        return NULL;
    }

    if ((s1 != NULL
         && lg_webhook_add_secret(wh, (const unsigned char *) s1, strlen(s1),
                                  &err) != 0)
        || (s2 != NULL
            && lg_webhook_add_secret(wh, (const unsigned char *) s2,
                                     strlen(s2), &err) != 0))
    {
        printf("# secret: %s\n", err.text);
        lg_webhook_free(wh);
        return NULL;
    }

    return wh;
}


static lg_webhook_t *
make_generic(void)
{
    lg_error_t          err;
    lg_webhook_t       *wh;
    lg_webhook_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_HMAC;
    conf.signature_header = str("X-Carrier-Signature");
    conf.timestamp_header = str("X-Carrier-Timestamp");
    conf.prefix = str("hmac-sha512=");
    conf.payload = str("{timestamp}:{body}");
    conf.digest = LG_WEBHOOK_SHA512;
    conf.encoding = LG_WEBHOOK_BASE64;
    conf.tolerance = 60;

    wh = lg_webhook_create(&conf, &err);

    if (wh == NULL
        || lg_webhook_add_secret(wh, (const unsigned char *) GEN_SECRET,
                                 strlen(GEN_SECRET), &err) != 0)
    {
        printf("# generic: %s\n", err.text);
        lg_webhook_free(wh);
        return NULL;
    }

    return wh;
}


/* one request: up to three headers by name; NULL values are left out */

static lg_webhook_status_e
check(const lg_webhook_t *wh, const char *n1, const char *v1, const char *n2,
    const char *v2, const char *n3, const char *v3, const char *body,
    int64_t now, lg_webhook_result_t *res)
{
    lg_webhook_input_t   in;
    lg_webhook_status_e  rc;

    lg_webhook_input_init(&in);

    if (n1 != NULL && v1 != NULL) {
        lg_webhook_input_header(wh, &in, n1, strlen(n1), v1, strlen(v1));
    }

    if (n2 != NULL && v2 != NULL) {
        lg_webhook_input_header(wh, &in, n2, strlen(n2), v2, strlen(v2));
    }

    if (n3 != NULL && v3 != NULL) {
        lg_webhook_input_header(wh, &in, n3, strlen(n3), v3, strlen(v3));
    }

    rc = lg_webhook_verify(wh, &in, (const unsigned char *) body,
                           strlen(body), now, res);

    /* nothing may be left on the OpenSSL error queue for nginx */
    if (ERR_peek_error() != 0) {
        ok(0, "OpenSSL error queue is empty after verification");
        ERR_clear_error();
    }

    return rc;
}


static lg_webhook_status_e
std3(const lg_webhook_t *wh, const char *id, const char *ts, const char *sig,
    const char *body, int64_t now, lg_webhook_result_t *res)
{
    return check(wh, "webhook-id", id, "webhook-timestamp", ts,
                 "webhook-signature", sig, body, now, res);
}


static lg_webhook_status_e
std_sig(const lg_webhook_t *wh, const char *sig)
{
    lg_webhook_result_t  res;

    return std3(wh, KAT_ID, KAT_TS, sig, KAT_BODY, KAT_NOW, &res);
}


static void
write_file(const char *path, const char *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL) {
        printf("# cannot write %s\n", path);
        exit(1);
    }

    fwrite(data, 1, len, f);
    fclose(f);
}


static void
test_standard_known_answer(void)
{
    lg_error_t            err;
    lg_webhook_t         *wh, *sw;
    lg_webhook_result_t   res;
    lg_webhook_signed_t   out;

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN, KAT_SECRET, NULL);
    ok(sw != NULL, "standard: whsec_ secret accepted for signing");

    ok(lg_webhook_sign(sw, KAT_ID, strlen(KAT_ID), KAT_NOW,
                       (const unsigned char *) KAT_BODY, strlen(KAT_BODY),
                       &out, &err) == 0, "standard: signs");
    is_int(out.nheaders, 3, "standard: three header lines");
    ok(out.name[0].len == 10 && memcmp(out.name[0].data, "webhook-id", 10)
       == 0 && out.value[0].len == strlen(KAT_ID)
       && memcmp(out.value[0].data, KAT_ID, out.value[0].len) == 0,
       "standard: webhook-id first");
    ok(out.value[1].len == 10 && memcmp(out.value[1].data, KAT_TS, 10) == 0,
       "standard: webhook-timestamp in seconds");
    ok(out.value[2].len == strlen(KAT_V1)
       && memcmp(out.value[2].data, KAT_V1, strlen(KAT_V1)) == 0,
       "standard: the specification's known signature");

    lg_webhook_free(sw);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_SECRET, NULL);

    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_OK, "standard: known answer verifies");
    ok(res.id.len == strlen(KAT_ID)
       && memcmp(res.id.data, KAT_ID, res.id.len) == 0,
       "standard: the webhook id is returned");
    ok(res.key.data == res.id.data && res.key.len == res.id.len
       && res.id_signed, "standard: the signed id is the idempotency key");
    is_int(res.timestamp, KAT_NOW, "standard: the timestamp is returned");
    is_int(res.secret, 0, "standard: verified by secret 0");

    /* the tolerance, both ways, to the second */

    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW + 300, &res),
           LG_WEBHOOK_OK, "standard: 300 s old is within the tolerance");
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW + 301, &res),
           LG_WEBHOOK_TIMESTAMP_TOO_OLD, "standard: 301 s old is too old");
    like_str(res.reason, "301 s old", "standard: the age is in the reason");
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW - 300, &res),
           LG_WEBHOOK_OK, "standard: 300 s ahead is within the tolerance");
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW - 301, &res),
           LG_WEBHOOK_TIMESTAMP_IN_FUTURE, "standard: 301 s ahead refused");
    is_int(lg_webhook_status_problem(LG_WEBHOOK_TIMESTAMP_IN_FUTURE),
           LG_WEBHOOK_PROBLEM_TIMESTAMP, "a timestamp refusal is the "
           "webhook-timestamp problem");

    /* anything changed */

    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, "{\"test\": 2432232315}",
                KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "standard: tampered body refused");
    ok(strstr(res.reason, "g0hM9SsE") == NULL
       && strstr(res.reason, "=") == NULL,
       "standard: the reason says nothing about the expected value");
    is_int(lg_webhook_status_problem(LG_WEBHOOK_BAD_SIGNATURE),
           LG_WEBHOOK_PROBLEM_SIGNATURE, "a bad signature is the "
           "invalid-signature problem");
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY " ", KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "standard: one more body byte refused");
    is_int(std3(wh, "msg_p5jXN8AQM9LWM0D4loKWxJeK", KAT_TS, KAT_V1, KAT_BODY,
                KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "standard: another id refused");
    is_int(std3(wh, KAT_ID, "1614265331", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "standard: another timestamp refused");

    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
              "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==", NULL);
    ok(wh != NULL, "standard: a padded 25-byte secret accepted");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
              "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBx==", NULL);
    ok(wh == NULL, "standard: non-canonical base64 secret refused");

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
              "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL);
    is_int(std_sig(wh, KAT_V1), LG_WEBHOOK_BAD_SIGNATURE,
           "standard: wrong secret refused");
    lg_webhook_free(wh);
}


static void
test_standard_lists(void)
{
    int                  i;
    char                 big[LG_WEBHOOK_MAX_HEADER + 2], many[4096];
    lg_error_t           err;
    lg_webhook_t        *wh, *old, *sw;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

    static const char  *other =
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_SECRET, NULL);

    is_int(std_sig(wh, "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= "
                   KAT_V1), LG_WEBHOOK_OK,
           "list: the second of two signatures verifies");
    is_int(std_sig(wh, KAT_V1 " v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/"
                   "pI4="), LG_WEBHOOK_OK,
           "list: reordered, the first verifies");
    is_int(std_sig(wh, "v2,whatever-comes-next " KAT_V1), LG_WEBHOOK_OK,
           "list: unknown versions are skipped");
    is_int(std_sig(wh, "v1,!!!! " KAT_V1), LG_WEBHOOK_OK,
           "list: a malformed entry does not hide a good one");
    is_int(std_sig(wh, "  " KAT_V1 "  "), LG_WEBHOOK_OK,
           "list: extra spaces between entries are separators");
    is_int(std_sig(wh, other), LG_WEBHOOK_BAD_SIGNATURE,
           "list: only another key's signature: refused");

    /* truncated */

    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O"),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "list: truncated base64");
    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJE"),
           LG_WEBHOOK_MALFORMED_SIGNATURE,
           "list: a signature of 24 bytes is malformed");
    is_int(std_sig(wh, "v1,"), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "list: v1 with nothing after the comma");
    is_int(std_sig(wh, "v1"), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "list: an entry without a comma");
    is_int(std_sig(wh, ""), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "list: an empty header");
    is_int(std_sig(wh, "   "), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "list: spaces only");

    /* non-canonical base64 */

    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF="),
           LG_WEBHOOK_MALFORMED_SIGNATURE,
           "base64: non-zero unused bits refused");
    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "base64: missing padding refused");
    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=="),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "base64: extra padding refused");
    is_int(std_sig(wh, "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE="),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "base64: url alphabet refused");
    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSy\tZlE3uFJELVlNIOLJ1OE="),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "base64: a tab inside refused");
    is_int(std_sig(wh, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOL=1OE="),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "base64: '=' inside refused");
    is_int(std_sig(wh, "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
           LG_WEBHOOK_UNSUPPORTED_SIGNATURE,
           "versions are case-sensitive: V1 is unknown");
    is_int(std_sig(wh, "v2,abc v3,def"), LG_WEBHOOK_UNSUPPORTED_SIGNATURE,
           "list: only unknown versions");

    /* bounded: 8 entries, no more */

    many[0] = '\0';

    for (i = 0; i < LG_WEBHOOK_MAX_SIGNATURES - 1; i++) {
        strcat(many, other);
        strcat(many, " ");
    }

    strcat(many, KAT_V1);
    is_int(std_sig(wh, many), LG_WEBHOOK_OK,
           "list: the last of 8 signatures verifies");

    strcat(many, " ");
    strcat(many, other);
    is_int(std_sig(wh, many), LG_WEBHOOK_TOO_MANY_SIGNATURES,
           "list: 9 signatures refused before any MAC");

    many[0] = '\0';

    for (i = 0; i < 800; i++) {
        strcat(many, "v1,x ");
    }

    is_int(std_sig(wh, many), LG_WEBHOOK_TOO_MANY_SIGNATURES,
           "list: 800 signatures in 4000 bytes refused");

    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "v1,", 3);
    is_int(std_sig(wh, big), LG_WEBHOOK_HEADER_TOO_LONG,
           "a 4097-byte header refused");

    lg_webhook_free(wh);

    /* rotation: two secrets, either verifies; the signer sends both */

    old = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
               "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL);
    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
              "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", KAT_SECRET);
    is_int(lg_webhook_nsecrets(wh), 2, "rotation: two secrets");

    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_OK, "rotation: the new secret verifies");
    is_int(res.secret, 1, "rotation: ... as secret 1");

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN,
              "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", KAT_SECRET);
    ok(lg_webhook_sign(sw, KAT_ID, strlen(KAT_ID), KAT_NOW,
                       (const unsigned char *) KAT_BODY, strlen(KAT_BODY),
                       &out, &err) == 0, "rotation: signs with both");
    ok(out.value[2].len == 2 * strlen(KAT_V1) + 1
       && out.value[2].data[strlen(KAT_V1)] == ' '
       && memcmp(out.value[2].data + strlen(KAT_V1) + 1, KAT_V1,
                 strlen(KAT_V1)) == 0,
       "rotation: two space-separated signatures, the new one second");

    memcpy(many, out.value[2].data, strlen(KAT_V1));
    many[strlen(KAT_V1)] = '\0';

    is_int(std3(old, KAT_ID, KAT_TS, many, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_OK, "rotation: the old secret's signature verifies "
           "with the old secret alone");
    is_int(std3(wh, KAT_ID, KAT_TS, many, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_OK, "rotation: ... and with both");
    is_int(res.secret, 0, "rotation: ... as secret 0");

    lg_webhook_free(sw);
    lg_webhook_free(old);
    lg_webhook_free(wh);
}


static void
test_standard_ed25519(void)
{
    lg_error_t           err;
    lg_webhook_t        *wh, *sw;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_WHPK, NULL);
    ok(wh != NULL, "v1a: whpk_ key accepted for verifying");

    is_int(std_sig(wh, KAT_V1A), LG_WEBHOOK_OK,
           "v1a: Node's ed25519 signature verifies");
    is_int(std_sig(wh, KAT_V1 " " KAT_V1A), LG_WEBHOOK_OK,
           "v1a: beside a v1 no HMAC key checks");
    is_int(std_sig(wh, KAT_V1), LG_WEBHOOK_UNSUPPORTED_SIGNATURE,
           "v1a: a v1 alone cannot be checked with a public key");
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1A, "{\"test\": 2432232315}",
                KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "v1a: tampered body refused");
    is_int(std_sig(wh, "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoV"
                   "mAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAg=="),
           LG_WEBHOOK_BAD_SIGNATURE, "v1a: flipped signature bit refused");
    is_int(std_sig(wh, "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoV"),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "v1a: truncated signature");
    is_int(std_sig(wh, "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoV"
                   "mAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAwAA"),
           LG_WEBHOOK_MALFORMED_SIGNATURE,
           "v1a: 88 characters without padding (66 bytes) refused");
    lg_webhook_free(wh);

    /* HMAC and ed25519 keys of one partner */

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
              "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", KAT_WHPK);
    is_int(std3(wh, KAT_ID, KAT_TS, KAT_V1 " " KAT_V1A, KAT_BODY, KAT_NOW,
                &res),
           LG_WEBHOOK_OK, "mixed keys: the v1a verifies after the v1 fails");
    is_int(res.secret, 1, "mixed keys: ... by key 1, the whpk_");
    lg_webhook_free(wh);

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN, KAT_WHSK, NULL);
    ok(sw != NULL, "v1a: whsk_ key accepted for signing");
    ok(lg_webhook_sign(sw, KAT_ID, strlen(KAT_ID), KAT_NOW,
                       (const unsigned char *) KAT_BODY, strlen(KAT_BODY),
                       &out, &err) == 0
       && out.value[2].len == strlen(KAT_V1A)
       && memcmp(out.value[2].data, KAT_V1A, strlen(KAT_V1A)) == 0,
       "v1a: signing reproduces Node's signature (ed25519 is "
       "deterministic)");
    lg_webhook_free(sw);

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN, KAT_SECRET, KAT_WHSK);
    ok(lg_webhook_sign(sw, KAT_ID, strlen(KAT_ID), KAT_NOW,
                       (const unsigned char *) KAT_BODY, strlen(KAT_BODY),
                       &out, &err) == 0
       && out.value[2].len == strlen(KAT_V1 " " KAT_V1A)
       && memcmp(out.value[2].data, KAT_V1 " " KAT_V1A,
                 out.value[2].len) == 0,
       "v1a: a signer with both keys sends v1 and v1a");
    lg_webhook_free(sw);

    /* the 64-byte libsodium form: seed and public key */

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN,
              "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9V"
              "L/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==", NULL);
    ok(sw != NULL, "v1a: whsk_ seed + public key accepted");
    lg_webhook_free(sw);

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN,
              "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9V"
              "L/tPJZAc6DuFy89qmIyWvAhpo9wdRGw==", NULL);
    ok(sw == NULL, "v1a: whsk_ with a foreign public half refused");

    /* bounded: 2 keys, 2 signatures checked, whatever is sent */

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_WHPK, KAT_WHPK);
    ok(lg_webhook_add_secret(wh, (const unsigned char *) KAT_WHPK,
                             strlen(KAT_WHPK), &err) != 0
       && strstr(err.text, "more than 2 ed25519 keys") != NULL,
       "v1a: a third ed25519 key refused");
    is_int(std3(wh, KAT_ID, KAT_TS,
                KAT_V1A " " KAT_V1A " " KAT_V1A " " KAT_V1A " " KAT_V1A
                " " KAT_V1A " " KAT_V1A " " KAT_V1A, "tampered", KAT_NOW,
                &res),
           LG_WEBHOOK_BAD_SIGNATURE, "v1a: 8 signatures, refused");
    like_str(res.reason, "2 v1a against 0 HMAC and 2 ed25519 keys",
             "v1a: only 2 of them checked, against the 2 keys");
    like_str(res.reason, "6 unchecked", "v1a: 6 left unchecked");
    is_int(std_sig(wh, "v1a,AAAA v1a,AAAA " KAT_V1A),
           LG_WEBHOOK_OK, "v1a: malformed entries do not use the limit up");
    is_int(std_sig(wh, "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHo"
                   "VmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAg== "
                   "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmA"
                   "b2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAg== " KAT_V1A),
           LG_WEBHOOK_BAD_SIGNATURE, "v1a: a third good one is not checked");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_WHPK, KAT_SECRET);
    is_int(std_sig(wh, "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHo"
                   "VmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAg== "
                   "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmA"
                   "b2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAg== " KAT_V1A " "
                   KAT_V1),
           LG_WEBHOOK_OK, "v1a: past the v1a limit a v1 is still checked");
    lg_webhook_free(wh);
}


static void
test_standard_headers(void)
{
    int                  i;
    char                 id[300];
    lg_webhook_t        *wh;
    lg_webhook_input_t   in;
    lg_webhook_result_t  res;

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_SECRET, NULL);

    is_int(std3(wh, NULL, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MISSING_ID, "missing webhook-id");
    is_int(std3(wh, KAT_ID, NULL, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MISSING_TIMESTAMP, "missing webhook-timestamp");
    is_int(std3(wh, KAT_ID, KAT_TS, NULL, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MISSING_SIGNATURE, "missing webhook-signature");
    like_str(res.reason, "webhook-signature", "the reason names the header");

    /* header names are case-insensitive; a second one is refused */

    is_int(check(wh, "Webhook-ID", KAT_ID, "WEBHOOK-TIMESTAMP", KAT_TS,
                 "Webhook-Signature", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_OK, "header names in any case");
    is_int(check(wh, "webhook-id", KAT_ID, "webhook-timestamp", KAT_TS,
                 "webhook-id", "msg_other", KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_DUPLICATE_HEADER, "two webhook-id headers refused");

    lg_webhook_input_init(&in);
    lg_webhook_input_header(wh, &in, "webhook-id", 10, KAT_ID,
                            strlen(KAT_ID));
    lg_webhook_input_header(wh, &in, "webhook-timestamp", 17, KAT_TS, 10);
    lg_webhook_input_header(wh, &in, "webhook-signature", 17, KAT_V1,
                            strlen(KAT_V1));
    is_int(lg_webhook_input_header(wh, &in, "X-Other", 7, "x", 1), -1,
           "other headers are ignored");
    lg_webhook_input_header(wh, &in, "webhook-signature", 17, KAT_V1,
                            strlen(KAT_V1));
    is_int(lg_webhook_verify(wh, &in, (const unsigned char *) KAT_BODY,
                             strlen(KAT_BODY), KAT_NOW, &res),
           LG_WEBHOOK_DUPLICATE_HEADER,
           "two identical webhook-signature headers refused");

    /* timestamps */

    is_int(std3(wh, KAT_ID, "+1614265330", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "timestamp with '+' refused");
    is_int(std3(wh, KAT_ID, "-1614265330", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "negative timestamp refused");
    is_int(std3(wh, KAT_ID, "01614265330", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "leading zero refused");
    like_str(res.reason, "leading zero", "... and said so");
    is_int(std3(wh, KAT_ID, "1614265330.0", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "fractional timestamp refused");
    is_int(std3(wh, KAT_ID, "1614265330 ", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "trailing space refused");
    is_int(std3(wh, KAT_ID, "", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "empty timestamp refused");
    is_int(std3(wh, KAT_ID, "0x603828f2", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "hex timestamp refused");
    is_int(std3(wh, KAT_ID, "99999999999999999999", KAT_V1, KAT_BODY,
                KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "20-digit timestamp refused");
    is_int(std3(wh, KAT_ID, "9223372036854775808", KAT_V1, KAT_BODY,
                KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "2^63 refused, no overflow");
    is_int(std3(wh, KAT_ID, "999999999999", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_TIMESTAMP_IN_FUTURE, "12 digits: far in the future");
    is_int(std3(wh, KAT_ID, "0", KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_TIMESTAMP_TOO_OLD, "0: too old");
    is_int(std3(wh, KAT_ID, "1614265330", KAT_V1, KAT_BODY, INT64_MAX / 2,
                &res),
           LG_WEBHOOK_TIMESTAMP_TOO_OLD, "a clock far ahead: too old");

    /* ids */

    is_int(std3(wh, "", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "empty id refused");
    is_int(std3(wh, "msg 1", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "id with a space refused");
    is_int(std3(wh, "msg.1", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "id with a '.' refused (standard)");
    is_int(std3(wh, "msg\"1", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "id with a quote refused");
    is_int(std3(wh, "msg\x01", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "id with a control byte refused");
    is_int(std3(wh, "msg\xc3\xa9", KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "id with UTF-8 refused");

    for (i = 0; i < 256; i++) {
        id[i] = 'a';
    }

    id[256] = '\0';
    is_int(std3(wh, id, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_MALFORMED_ID, "256-byte id refused");
    id[255] = '\0';
    is_int(std3(wh, id, KAT_TS, KAT_V1, KAT_BODY, KAT_NOW, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "255-byte id accepted (then checked)");

    lg_webhook_free(wh);
}


static void
test_stripe(void)
{
    int                  i;
    char                 hdr[2048];
    lg_error_t           err;
    lg_webhook_t        *wh, *sw;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

#define STRIPE(v, body, now)                                                  \
    check(wh, "Stripe-Signature", v, NULL, NULL, NULL, NULL, body, now, &res)

    sw = make(LG_WEBHOOK_STRIPE, LG_WEBHOOK_SIGN, STRIPE_SECRET, NULL);
    ok(lg_webhook_sign(sw, NULL, 0, KAT_NOW, (const unsigned char *) KAT_BODY,
                       strlen(KAT_BODY), &out, &err) == 0,
       "stripe: signs");
    is_int(out.nheaders, 1, "stripe: one header line");
    ok(out.name[0].len == 16
       && memcmp(out.name[0].data, "Stripe-Signature", 16) == 0
       && out.value[0].len == strlen("t=" KAT_TS ",v1=" STRIPE_V1)
       && memcmp(out.value[0].data, "t=" KAT_TS ",v1=" STRIPE_V1,
                 out.value[0].len) == 0,
       "stripe: Node's HMAC of \"t.body\" keyed with the whole string");
    ok(lg_webhook_sign(sw, "evt_1", 5, KAT_NOW,
                       (const unsigned char *) KAT_BODY, strlen(KAT_BODY),
                       &out, &err) != 0, "stripe: sends no id header");
    lg_webhook_free(sw);

    wh = make(LG_WEBHOOK_STRIPE, LG_WEBHOOK_VERIFY, STRIPE_SECRET, NULL);

    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_OK, "stripe: known answer verifies");
    is_str(res.key.data, KAT_BODY_SHA256,
           "stripe: no id header, so the key is the body's SHA-256");
    ok(!res.id_signed && res.id.data == res.key.data,
       "stripe: ... which is also the id");
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY "x", KAT_NOW),
           LG_WEBHOOK_BAD_SIGNATURE, "stripe: tampered body");
    is_int(STRIPE("t=1614265331,v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_BAD_SIGNATURE, "stripe: another t");
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY, KAT_NOW + 301),
           LG_WEBHOOK_TIMESTAMP_TOO_OLD, "stripe: too old");
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY, KAT_NOW - 301),
           LG_WEBHOOK_TIMESTAMP_IN_FUTURE, "stripe: in the future");
    is_int(STRIPE("v1=" STRIPE_V1 ",t=" KAT_TS, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_OK, "stripe: items in any order");
    is_int(STRIPE("t=" KAT_TS ",v1=00" STRIPE_V1 ",v1=" STRIPE_V1 ",v0=ab",
                  KAT_BODY, KAT_NOW),
           LG_WEBHOOK_OK, "stripe: several v1 and a v0: any v1 verifies");
    is_int(STRIPE("t=" KAT_TS ",v1=2390FC5C772896D19183BBFE76970B2DD9CAF068"
                  "8298F702E926AA30A12DA023", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_OK, "stripe: uppercase hex is the same MAC");
    is_int(STRIPE("v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MISSING_TIMESTAMP, "stripe: no t=");
    is_int(STRIPE("t=" KAT_TS ",t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY,
                  KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: two t=");
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1 ",", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: trailing comma");
    is_int(STRIPE("t=" KAT_TS ",," "v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: empty item");
    is_int(STRIPE("t=" KAT_TS ", v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_UNSUPPORTED_SIGNATURE,
           "stripe: \" v1\" is another key, so no v1 is left");
    is_int(STRIPE("t=" KAT_TS ",v1", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: item without '='");
    is_int(STRIPE("t=" KAT_TS ",=abc", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: item without a key");
    is_int(STRIPE("t=" KAT_TS ",v1=" "2390fc5c772896d19183bbfe76970b2dd9caf"
                  "0688298f702e926aa30a12da02", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: 63 hex digits");
    is_int(STRIPE("t=" KAT_TS ",v1=" "2390fc5c772896d19183bbfe76970b2dd9caf"
                  "0688298f702e926aa30a12da02g", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: a non-hex digit");
    is_int(STRIPE("t=+1614265330,v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "stripe: t with a sign");
    is_int(STRIPE("t=,v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_TIMESTAMP, "stripe: empty t");
    is_int(STRIPE("", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "stripe: empty header");

    strcpy(hdr, "t=" KAT_TS);

    for (i = 0; i < LG_WEBHOOK_MAX_SIGNATURES + 1; i++) {
        strcat(hdr, ",v1=" STRIPE_V1);
    }

    is_int(STRIPE(hdr, KAT_BODY, KAT_NOW), LG_WEBHOOK_TOO_MANY_SIGNATURES,
           "stripe: 9 v1= refused");

    strcpy(hdr, "t=" KAT_TS ",v1=" STRIPE_V1);

    for (i = 0; i < 2 * LG_WEBHOOK_MAX_SIGNATURES; i++) {
        strcat(hdr, ",v0=ab");
    }

    is_int(STRIPE(hdr, KAT_BODY, KAT_NOW), LG_WEBHOOK_TOO_MANY_SIGNATURES,
           "stripe: 18 items refused");

    lg_webhook_free(wh);

    /* rotation */

    wh = make(LG_WEBHOOK_STRIPE, LG_WEBHOOK_VERIFY,
              "whsec_the_previous_secret_0000000", STRIPE_SECRET);
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_OK, "stripe rotation: the second secret verifies");
    is_int(res.secret, 1, "stripe rotation: ... as secret 1");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STRIPE, LG_WEBHOOK_VERIFY,
              "whsec_the_previous_secret_0000000", NULL);
    is_int(STRIPE("t=" KAT_TS ",v1=" STRIPE_V1, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_BAD_SIGNATURE, "stripe: wrong secret");
    lg_webhook_free(wh);

#undef STRIPE
}


static void
test_github(void)
{
    lg_error_t           err;
    lg_webhook_t        *wh, *sw;
    lg_webhook_conf_t    conf;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

#define GH(v, id, body)                                                       \
    check(wh, "X-Hub-Signature-256", v, "X-GitHub-Delivery", id, NULL, NULL, \
          body, 0, &res)

    sw = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_SIGN, GH_SECRET, NULL);
    ok(lg_webhook_sign(sw, NULL, 0, 0, (const unsigned char *) GH_BODY,
                       strlen(GH_BODY), &out, &err) == 0
       && out.nheaders == 1
       && out.value[0].len == strlen(GH_SIG)
       && memcmp(out.value[0].data, GH_SIG, strlen(GH_SIG)) == 0,
       "github: GitHub's documented signature");
    ok(lg_webhook_sign(sw, "72d3162e-cc78-11e3-81ab-4c9367dc0958", 36, 0,
                       (const unsigned char *) GH_BODY, strlen(GH_BODY),
                       &out, &err) == 0
       && out.nheaders == 2
       && out.name[0].len == 17
       && memcmp(out.name[0].data, "X-GitHub-Delivery", 17) == 0,
       "github: with an id, X-GitHub-Delivery too");
    lg_webhook_free(sw);

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, GH_SECRET, NULL);

    is_int(GH(GH_SIG, "72d3162e-cc78-11e3-81ab-4c9367dc0958", GH_BODY),
           LG_WEBHOOK_OK, "github: known answer verifies");
    ok(res.id.len == 36 && memcmp(res.id.data, "72d3162e", 8) == 0,
       "github: the delivery id is the id");
    is_str(res.key.data, GH_BODY_SHA256,
           "github: the unsigned delivery id is not the key: the body is");
    is_int(res.timestamp, -1, "github: no timestamp");
    is_int(check(wh, "X-Hub-Signature-256", GH_SIG, "X-GitHub-Delivery",
                 "d1", NULL, NULL, GH_BODY, INT64_MAX / 4, &res),
           LG_WEBHOOK_OK, "github: no tolerance applies");
    is_int(GH(GH_SIG, NULL, GH_BODY), LG_WEBHOOK_MISSING_ID,
           "github: no X-GitHub-Delivery");
    is_int(GH(GH_SIG, "d1", "Hello, World?"), LG_WEBHOOK_BAD_SIGNATURE,
           "github: tampered body");
    is_int(GH("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e"
              "17", "d1", GH_BODY),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "github: no sha256= prefix");
    is_int(GH("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c"
              "8b043e17", "d1", GH_BODY),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "github: sha1=");
    is_int(GH("SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f437"
              "9c8b043e17", "d1", GH_BODY),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "github: the prefix is exact");
    is_int(GH(GH_SIG "0", "d1", GH_BODY), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "github: 65 hex digits");
    is_int(GH(GH_SIG " ", "d1", GH_BODY), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "github: a trailing space");
    is_int(GH("sha256=", "d1", GH_BODY), LG_WEBHOOK_MALFORMED_SIGNATURE,
           "github: prefix only");
    is_int(GH(GH_SIG, "d 1", GH_BODY), LG_WEBHOOK_MALFORMED_ID,
           "github: a delivery id with a space");
    is_int(GH(GH_SIG, "d.1", GH_BODY), LG_WEBHOOK_OK,
           "github: a '.' in an id is fine where the id is not signed");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY,
              "It's a Secret to Everyone", NULL);
    is_int(GH(GH_SIG, "d1", GH_BODY), LG_WEBHOOK_BAD_SIGNATURE,
           "github: wrong secret");
    lg_webhook_free(wh);

    /* another delivery header */

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_GITHUB;
    conf.id_header = str("X-Carrier-Delivery");
    wh = lg_webhook_create(&conf, &err);
    ok(wh != NULL, "github: id_header configurable");
    (void) lg_webhook_add_secret(wh, (const unsigned char *) GH_SECRET,
                                 strlen(GH_SECRET), &err);
    is_int(GH(GH_SIG, "d1", GH_BODY), LG_WEBHOOK_MISSING_ID,
           "github: X-GitHub-Delivery no longer counts");
    is_int(check(wh, "X-Hub-Signature-256", GH_SIG, "x-carrier-delivery",
                 "c-1", NULL, NULL, GH_BODY, 0, &res),
           LG_WEBHOOK_OK, "github: the configured header is the id");
    lg_webhook_free(wh);

#undef GH
}


static void
test_generic(void)
{
    lg_error_t           err;
    lg_webhook_t        *wh;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

#define GEN(v, ts, body, now)                                                 \
    check(wh, "X-Carrier-Signature", v, "X-Carrier-Timestamp", ts, NULL,     \
          NULL, body, now, &res)

    wh = make_generic();
    ok(wh != NULL, "hmac: sha512, base64, prefix, timestamp compiled");

    is_int(GEN(GEN_SIG, KAT_TS, KAT_BODY, KAT_NOW), LG_WEBHOOK_OK,
           "hmac: Node's HMAC-SHA512 of \"ts:body\" verifies");
    is_str(res.key.data, KAT_BODY_SHA256, "hmac: no id: the body's key");
    is_int(GEN(GEN_SIG, KAT_TS, KAT_BODY, KAT_NOW + 61),
           LG_WEBHOOK_TIMESTAMP_TOO_OLD, "hmac: its own 60 s tolerance");
    is_int(GEN(GEN_SIG, "1614265331", KAT_BODY, KAT_NOW),
           LG_WEBHOOK_BAD_SIGNATURE, "hmac: the timestamp is signed");
    is_int(GEN(GEN_SIG, NULL, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MISSING_TIMESTAMP, "hmac: timestamp header missing");
    is_int(GEN(GEN_SIG + 12, KAT_TS, KAT_BODY, KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "hmac: prefix missing");
    is_int(GEN("hmac-sha512=Ul/EKwzdlBi6z/NkPIU2ImSGyNwJR6VEe+D/KvkfWr9zNw3Y"
               "7Ib7E2h0Y64svCwIYrqPiFxjMrFIFaIGAvpk+g", KAT_TS, KAT_BODY,
               KAT_NOW),
           LG_WEBHOOK_MALFORMED_SIGNATURE, "hmac: base64 without padding");

    ok(lg_webhook_sign(wh, NULL, 0, KAT_NOW, (const unsigned char *) KAT_BODY,
                       strlen(KAT_BODY), &out, &err) == 0
       && out.nheaders == 2
       && out.value[1].len == strlen(GEN_SIG)
       && memcmp(out.value[1].data, GEN_SIG, strlen(GEN_SIG)) == 0,
       "hmac: signing reproduces it");
    lg_webhook_free(wh);

#undef GEN
}


static void
conf_error(lg_webhook_conf_t *conf, const char *want, const char *name)
{
    lg_error_t     err;
    lg_webhook_t  *wh;

    err.text[0] = '\0';
    wh = lg_webhook_create(conf, &err);
    ok(wh == NULL, "conf refused: %s", name);
    like_str(err.text, want, "conf reason: %s", name);
    lg_webhook_free(wh);
}


static void
test_conf(void)
{
    lg_webhook_conf_t  conf, hmac;

    memset(&hmac, 0, sizeof(hmac));
    hmac.scheme = LG_WEBHOOK_HMAC;
    hmac.signature_header = str("X-Sig");

    conf = hmac;
    conf.signature_header = str("");
    conf_error(&conf, "needs \"signature_header\"", "hmac without header");

    conf = hmac;
    conf.signature_header = str("X Sig");
    conf_error(&conf, "HTTP header name", "a space in a header name");

    conf = hmac;
    conf.signature_header = str("X-Sig:");
    conf_error(&conf, "HTTP header name", "a colon in a header name");

    conf = hmac;
    conf.payload = str("{timestamp}.{id}");
    conf_error(&conf, "{body} exactly once", "payload without {body}");

    conf = hmac;
    conf.payload = str("{body}{body}");
    conf_error(&conf, "{body} exactly once", "payload with {body} twice");

    conf = hmac;
    conf.payload = str("{nonce}.{body}");
    conf_error(&conf, "unknown placeholder", "unknown placeholder");

    conf = hmac;
    conf.payload = str("{body");
    conf_error(&conf, "unknown placeholder", "unclosed placeholder");

    conf = hmac;
    conf.payload = str("{timestamp}.{body}");
    conf_error(&conf, "needs \"timestamp_header\"", "{timestamp} unsent");

    conf = hmac;
    conf.payload = str("{id}.{body}");
    conf_error(&conf, "needs \"id_header\"", "{id} unsent");

    conf = hmac;
    conf.timestamp_header = str("X-Ts");
    conf_error(&conf, "anyone could change it", "unsigned timestamp");

    conf = hmac;
    conf.prefix = str("sha256 =");
    conf_error(&conf, "\"prefix\"", "a space in the prefix");

    conf = hmac;
    conf.digest = (lg_webhook_digest_e) 7;
    conf_error(&conf, "\"digest\"", "unknown digest");

    conf = hmac;
    conf.tolerance = 300;
    conf_error(&conf, "needs a signed timestamp", "tolerance, no timestamp");

    conf = hmac;
    conf.timestamp_header = str("X-Ts");
    conf.payload = str("{timestamp}.{body}");
    conf.tolerance = 86401;
    conf_error(&conf, "\"tolerance\"", "tolerance over a day");

    conf = hmac;
    conf.timestamp_header = str("X-Ts");
    conf.payload = str("{timestamp}.{body}");
    conf.tolerance = -5;
    conf_error(&conf, "\"tolerance\"", "negative tolerance");

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_STANDARD;
    conf.id_header = str("X-Id");
    conf_error(&conf, "always webhook-id", "standard with id_header");

    conf.id_header = str("");
    conf.signature_header = str("X-Sig");
    conf_error(&conf, "belong to the hmac scheme", "standard with a header");

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_GITHUB;
    conf.tolerance = 300;
    conf_error(&conf, "github scheme has not", "github with tolerance");

    memset(&conf, 0, sizeof(conf));
    conf.scheme = (lg_webhook_scheme_e) 9;
    conf_error(&conf, "unknown scheme", "unknown scheme");

    is_int(lg_webhook_scheme_parse("github", 6), LG_WEBHOOK_GITHUB,
           "scheme names parse");
    is_int(lg_webhook_scheme_parse("Github", 6), -1,
           "scheme names are exact");
}


static void
secret_error(lg_webhook_scheme_e scheme, lg_webhook_purpose_e purpose,
    const char *secret, size_t len, const char *want, const char *name)
{
    lg_error_t     err;
    lg_webhook_t  *wh;

    wh = make(scheme, purpose, NULL, NULL);
    err.text[0] = '\0';
    ok(lg_webhook_add_secret(wh, (const unsigned char *) secret, len, &err)
       != 0, "secret refused: %s", name);
    like_str(err.text, want, "secret reason: %s", name);
    is_int(lg_webhook_nsecrets(wh), 0, "secret not kept: %s", name);
    lg_webhook_free(wh);
}


static int
file_secret(lg_webhook_t *wh, const char *name, const char *data, size_t len,
    lg_error_t *err)
{
    char  path[256];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    write_file(path, data, len);

    return lg_webhook_add_secret_file(wh, path, err);
}


static void
test_secrets(void)
{
    int                  i;
    char                 path[256], *huge;
    lg_error_t           err;
    lg_webhook_t        *wh;
    lg_webhook_result_t  res;

    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
                 "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32, "\"whsec_\"",
                 "standard without a prefix");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, "whsec_", 6,
                 "\"whsec_\"", "whsec_ alone");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
                 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", 37,
                 "canonical padded base64", "whsec_ of 31 characters");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
                 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 39,
                 "canonical padded base64", "whsec_ with a newline inside");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
                 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZI", 30, "24 to 64 bytes",
                 "whsec_ of 18 bytes");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_WHSK,
                 strlen(KAT_WHSK), "stays with the sender",
                 "whsk_ for verifying");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN, KAT_WHPK,
                 strlen(KAT_WHPK), "cannot sign", "whpk_ for signing");
    secret_error(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY,
                 "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH", 45,
                 "32 bytes", "whpk_ of 24 bytes");
    secret_error(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, "short", 5,
                 "16 to 1024 bytes", "a 5-byte HMAC secret");
    secret_error(LG_WEBHOOK_STRIPE, LG_WEBHOOK_VERIFY, "", 0, "empty",
                 "an empty secret");

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_SECRET, KAT_WHPK);
    (void) lg_webhook_add_secret(wh, (const unsigned char *) KAT_SECRET,
                                 strlen(KAT_SECRET), &err);
    (void) lg_webhook_add_secret(wh, (const unsigned char *) KAT_SECRET,
                                 strlen(KAT_SECRET), &err);
    ok(lg_webhook_add_secret(wh, (const unsigned char *) KAT_SECRET,
                             strlen(KAT_SECRET), &err) != 0
       && strstr(err.text, "more than 4") != NULL,
       "a fifth secret refused");
    lg_webhook_free(wh);

    /* files: exactly the string, one trailing newline ignored */

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, NULL, NULL);
    ok(file_secret(wh, "gh-lf", GH_SECRET "\n", strlen(GH_SECRET) + 1, &err)
       == 0, "file: secret with a trailing newline");
    is_int(check(wh, "X-Hub-Signature-256", GH_SIG, "X-GitHub-Delivery",
                 "d1", NULL, NULL, GH_BODY, 0, &res),
           LG_WEBHOOK_OK, "file: ... the newline is not part of it");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, NULL, NULL);
    ok(file_secret(wh, "gh-crlf", GH_SECRET "\r\n", strlen(GH_SECRET) + 2,
                   &err) == 0, "file: secret with CRLF");
    is_int(check(wh, "X-Hub-Signature-256", GH_SIG, "X-GitHub-Delivery",
                 "d1", NULL, NULL, GH_BODY, 0, &res),
           LG_WEBHOOK_OK, "file: ... CRLF is not part of it");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, NULL, NULL);
    ok(file_secret(wh, "gh-2lf", GH_SECRET "\n\n", strlen(GH_SECRET) + 2,
                   &err) == 0, "file: secret with two newlines");
    is_int(check(wh, "X-Hub-Signature-256", GH_SIG, "X-GitHub-Delivery",
                 "d1", NULL, NULL, GH_BODY, 0, &res),
           LG_WEBHOOK_BAD_SIGNATURE, "file: ... only one is dropped");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_GITHUB, LG_WEBHOOK_VERIFY, NULL, NULL);
    ok(file_secret(wh, "gh-nolf", GH_SECRET, strlen(GH_SECRET), &err) == 0,
       "file: secret without a newline");

    ok(file_secret(wh, "empty", "", 0, &err) != 0
       && strstr(err.text, "is empty") != NULL,
       "file: an empty file refused");
    like_str(err.text, "/empty\"", "file: the reason names the file");
    ok(file_secret(wh, "newline", "\n", 1, &err) != 0
       && strstr(err.text, "is empty") != NULL,
       "file: a newline alone is empty");

    huge = malloc(LG_WEBHOOK_MAX_SECRET_FILE + 100);
    memset(huge, 'k', LG_WEBHOOK_MAX_SECRET_FILE + 100);
    ok(file_secret(wh, "huge", huge, LG_WEBHOOK_MAX_SECRET_FILE + 100, &err)
       != 0 && strstr(err.text, "larger than 4096") != NULL,
       "file: a huge file refused");
    ok(file_secret(wh, "long", huge, LG_WEBHOOK_MAX_SECRET + 1, &err) != 0
       && strstr(err.text, "16 to 1024 bytes") != NULL,
       "file: a 1025-byte secret refused");
    free(huge);

    ok(lg_webhook_add_secret_file(wh, tmpdir, &err) != 0
       && strstr(err.text, "not a regular file") != NULL,
       "file: a directory refused");
    ok(lg_webhook_add_secret_file(wh, "/dev/zero", &err) != 0
       && strstr(err.text, "not a regular file") != NULL,
       "file: /dev/zero refused without reading it");
    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    ok(lg_webhook_add_secret_file(wh, path, &err) != 0
       && strstr(err.text, "cannot open") != NULL,
       "file: a missing file refused");
    is_int(lg_webhook_nsecrets(wh), 1, "file: only the good one kept");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, NULL, NULL);
    ok(file_secret(wh, "whsec", KAT_SECRET "\n", strlen(KAT_SECRET) + 1, &err)
       == 0, "file: whsec_ with a newline");
    is_int(std_sig(wh, KAT_V1), LG_WEBHOOK_OK, "file: ... verifies");
    lg_webhook_free(wh);

    lg_webhook_free(NULL);
    ok(1, "lg_webhook_free(NULL) is harmless");

    for (i = 0; i < LG_WEBHOOK_STATUS_COUNT; i++) {
        if (strncmp(lg_webhook_status_word((lg_webhook_status_e) i),
                    i ? "webhook-" : "ok", 2) != 0)
        {
            break;
        }
    }

    is_int(i, LG_WEBHOOK_STATUS_COUNT, "every status has its word");
}


static void
test_parse(void)
{
    lg_error_t           err;
    lg_webhook_t        *wh;
    lg_webhook_input_t   in;
    lg_webhook_result_t  res;

    static const char  request[] =
        "POST /v2/webhooks/tracking HTTP/1.1\r\n"
        "Host: gateway.example.com\r\n"
        "webhook-id: " KAT_ID "\r\n"
        "Webhook-Timestamp:   " KAT_TS "  \r\n"
        "webhook-signature:" KAT_V1 "\r\n"
        "\r\n"
        "webhook-id: ignored after the empty line\r\n";

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_SECRET, NULL);

    lg_webhook_input_init(&in);
    ok(lg_webhook_input_parse(wh, &in, request, sizeof(request) - 1, &err)
       == 0, "parse: a stored request's headers");
    is_int(lg_webhook_verify(wh, &in, (const unsigned char *) KAT_BODY,
                             strlen(KAT_BODY), KAT_NOW, &res),
           LG_WEBHOOK_OK, "parse: ... verify as the gateway would");

    lg_webhook_input_init(&in);
    ok(lg_webhook_input_parse(wh, &in, "webhook-id: a\n webhook-x: b\n", 28,
                              &err) != 0
       && strstr(err.text, "line 2: folded") != NULL,
       "parse: folded lines refused");

    lg_webhook_input_init(&in);
    ok(lg_webhook_input_parse(wh, &in, "webhook-id a\n", 13, &err) != 0
       && strstr(err.text, "line 1") != NULL,
       "parse: a line without a colon refused");

    lg_webhook_input_init(&in);
    ok(lg_webhook_input_parse(wh, &in, "webhook id: a\n", 14, &err) != 0,
       "parse: a name with a space refused");

    lg_webhook_input_init(&in);
    ok(lg_webhook_input_parse(wh, &in, "webhook-id: a\nwebhook-id: b", 27,
                              &err) == 0
       && in.duplicate != 0, "parse: a second webhook-id is remembered");

    lg_webhook_free(wh);
}


static void
test_keygen(void)
{
    char                 sk[LG_WEBHOOK_KEYGEN_MAX], pk[LG_WEBHOOK_KEYGEN_MAX];
    char                 secret[LG_WEBHOOK_KEYGEN_MAX], id[32], sig[512];
    lg_error_t           err;
    lg_webhook_t        *sw, *wh;
    lg_webhook_result_t  res;
    lg_webhook_signed_t  out;

    ok(lg_webhook_generate_id(id, sizeof(id)) == 0
       && strlen(id) == LG_WEBHOOK_GENERATED_ID_LEN
       && strncmp(id, "msg_", 4) == 0
       && lg_webhook_id_valid(LG_WEBHOOK_STANDARD, id, strlen(id)),
       "keygen: a generated id is a valid standard id");

    ok(lg_webhook_generate_secret(secret, sizeof(secret)) == 0
       && strlen(secret) == 6 + 44, "keygen: whsec_ of 32 bytes");
    ok(lg_webhook_generate_keypair(sk, pk, sizeof(sk)) == 0
       && strncmp(sk, "whsk_", 5) == 0 && strncmp(pk, "whpk_", 5) == 0,
       "keygen: an ed25519 pair");

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_SIGN, secret, sk);
    ok(sw != NULL && lg_webhook_sign(sw, id, strlen(id), KAT_NOW,
                                     (const unsigned char *) KAT_BODY,
                                     strlen(KAT_BODY), &out, &err) == 0,
       "keygen: the fresh keys sign");
    snprintf(sig, sizeof(sig), "%.*s", (int) out.value[2].len,
             out.value[2].data);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, pk, NULL);
    is_int(std3(wh, id, KAT_TS, sig, KAT_BODY, KAT_NOW, &res), LG_WEBHOOK_OK,
           "keygen: the public key verifies the v1a");
    lg_webhook_free(wh);

    wh = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, secret, NULL);
    is_int(std3(wh, id, KAT_TS, sig, KAT_BODY, KAT_NOW, &res), LG_WEBHOOK_OK,
           "keygen: the secret verifies the v1");
    lg_webhook_free(wh);

    ok(lg_webhook_sign(sw, "msg.1", 5, KAT_NOW, (const unsigned char *) "", 0,
                       &out, &err) != 0, "sign: a standard id with '.'");
    ok(lg_webhook_sign(sw, NULL, 0, KAT_NOW, (const unsigned char *) "", 0,
                       &out, &err) != 0, "sign: standard needs an id");
    ok(lg_webhook_sign(sw, "m1", 2, -1, (const unsigned char *) "", 0,
                       &out, &err) != 0, "sign: a negative timestamp");
    ok(lg_webhook_sign(sw, "m1", 2, 1000000000000LL,
                       (const unsigned char *) "", 0, &out, &err) != 0,
       "sign: a 13-digit timestamp");
    ok(lg_webhook_sign(sw, "m1", 2, 0, (const unsigned char *) "", 0,
                       &out, &err) == 0, "sign: an empty body");
    lg_webhook_free(sw);

    sw = make(LG_WEBHOOK_STANDARD, LG_WEBHOOK_VERIFY, KAT_WHPK, NULL);
    ok(lg_webhook_sign(sw, "m1", 2, 0, (const unsigned char *) "", 0,
                       &out, &err) != 0
       && strstr(err.text, "no key here signs") != NULL,
       "sign: a public key alone cannot sign");
    lg_webhook_free(sw);
}


int
main(void)
{
    char  cmd[64];

    if (mkdtemp(tmpdir) == NULL) {
        printf("1..0 # SKIP cannot create a temporary directory\n");
        return 0;
    }

    test_standard_known_answer();
    test_standard_lists();
    test_standard_ed25519();
    test_standard_headers();
    test_stripe();
    test_github();
    test_generic();
    test_conf();
    test_secrets();
    test_parse();
    test_keygen();

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    (void) system(cmd);

    return lg_unit_done();
}
