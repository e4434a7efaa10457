
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"
#include "test_jws_sign.h"

#include <openssl/err.h>

#include "lg_b64.h"
#include "lg_jwk.h"
#include "lg_jws.h"


/*
 * Wycheproof vectors whose expected result the core does not give, each
 * asserted to end with the status named here: "valid" ones refused for a
 * rule the project holds to, and two "invalid" ones that are identical to
 * a valid token in this copy of the data (checked below).
 */
typedef struct {
    const char         *comment;
    lg_token_status_e   status;
    const char         *why;
} wp_deviation_t;


static const wp_deviation_t  wp_deviations[] = {
    { "InvalidCharacterInsertedInHeader", LG_TOKEN_BAD_ENCODING,
      "strict base64url: a '?' is outside the alphabet (RFC 7515 2)" },
    { "InvalidCharacterInsertedInPayload", LG_TOKEN_BAD_ENCODING,
      "strict base64url: a '?' is outside the alphabet (RFC 7515 2)" },
    { "Figure20", LG_TOKEN_KEY_MISMATCH,
      "the JWK says PS256, the token PS384: a key that names its alg is "
      "used with that alg only (RFC 8725 3.1)" },
    { "Figure27", LG_TOKEN_KEY_UNKNOWN,
      "the JWK says alg \"ES521\", which is no JWS algorithm: skipped" },
    { "invalidBase64Padding", LG_TOKEN_OK,
      "byte for byte the ValidMac token: the padding was lost upstream" },
    { "invalidBase64PaddingInPayload", LG_TOKEN_OK,
      "byte for byte the ValidMac token: the padding was lost upstream" },
    { NULL, LG_TOKEN_OK, NULL }
};


typedef struct {
    int   valid;
    int   valid_ok;
    int   invalid;
    int   invalid_ok;
    int   by_design;
} wp_counts_t;


static lg_jws_opts_t  raw_opts = { 0, LG_JWS_ALGS_ALL, LG_JWS_RAW_PAYLOAD };
static lg_jws_opts_t  json_opts = { 0, LG_JWS_ALGS_ALL, 0 };


static lg_token_status_e
verify(const lg_jws_opts_t *opts, const lg_jwk_set_t *set, const char *tok)
{
    lg_jws_t           jws;
    lg_token_status_e  rc;

    rc = lg_jws_verify(opts, set, tok, strlen(tok), &jws);
    lg_jws_free(&jws);

    /* nothing may be left on the OpenSSL error queue for nginx */
    if (ERR_peek_error() != 0) {
        ok(0, "OpenSSL error queue is empty after verification");
        ERR_clear_error();
    }

    return rc;
}


static void
wp_run(const char *dir, const char *file, wp_counts_t *c)
{
    int                     accepted, valid;
    char                    path[4096];
    size_t                  i, j;
    json_t                 *root, *groups, *g, *k, *jwks, *tests, *t;
    lg_error_t              err;
    const char             *tok, *comment, *valid_mac;
    json_error_t            jerr;
    lg_jwk_set_t           *set;
    lg_token_status_e       rc;
    const wp_deviation_t   *d;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    valid_mac = NULL;

    root = json_load_file(path, 0, &jerr);
    if (!ok(root != NULL, "%s loads", path)) {
        printf("#   %s\n", jerr.text);
        return;
    }

    groups = json_object_get(root, "testGroups");

    json_array_foreach(groups, i, g) {
        k = json_object_get(g, "public");
        if (k == NULL) {
            /* oct keys are only given as "private": k is the secret */
            k = json_object_get(g, "private");
        }

        if (json_object_get(k, "keys") != NULL) {
            jwks = json_incref(k);

        } else {
            jwks = json_pack("{s:[O]}", "keys", k);
        }

        err.text[0] = '\0';
        set = lg_jwk_set_parse("wycheproof", jwks, LG_JWK_ALLOW_OCT, &err);
        json_decref(jwks);

        tests = json_object_get(g, "tests");

        json_array_foreach(tests, j, t) {
            tok = json_string_value(json_object_get(t, "jws"));
            comment = json_string_value(json_object_get(t, "comment"));
            valid = strcmp(json_string_value(json_object_get(t, "result")),
                           "valid") == 0;

            rc = LG_TOKEN_KEY_UNKNOWN;

            if (set != NULL && tok != NULL) {
                rc = verify(&raw_opts, set, tok);
            }

            accepted = (set != NULL && rc == LG_TOKEN_OK);

            if (strcmp(comment, "ValidMac") == 0) {
                valid_mac = tok;
            }

            for (d = wp_deviations; d->comment != NULL; d++) {
                if (strcmp(d->comment, comment) == 0) {
                    break;
                }
            }

            if (d->comment != NULL) {
                if (d->status == LG_TOKEN_OK) {
                    ok(valid_mac != NULL && strcmp(tok, valid_mac) == 0,
                       "%s is the ValidMac token", comment);
                }

                c->by_design++;
                is_int(rc, d->status, "%s tcId %lld %s: %s by design (%s)",
                       file,
                       json_integer_value(json_object_get(t, "tcId")),
                       comment, valid ? "refused" : "accepted", d->why);
                continue;
            }

            if (valid) {
                c->valid++;
                c->valid_ok += accepted;

            } else {
                c->invalid++;
                c->invalid_ok += !accepted;
            }

            if (!ok(accepted == valid, "%s tcId %lld %s %s: %s", file,
                    json_integer_value(json_object_get(t, "tcId")),
                    json_string_value(json_object_get(g, "comment")),
                    comment, valid ? "accepted" : "rejected"))
            {
                printf("#   status: %s; key set: %s\n",
                       lg_token_status_text(rc),
                       set ? "loaded" : err.text);
            }

            if (set == NULL) {
                printf("#   key set refused: %s\n", err.text);
            }

            if (strcmp(comment, "rejectsKeyWithRocaVulnerability") == 0) {
                like_str(err.text, "ROCA", "ROCA modulus named as such");
            }

            if (strcmp(comment, "rejects1024bitRsaKey") == 0) {
                like_str(err.text, "at least 2048", "1024-bit RSA refused");
            }

            if (strcmp(comment, "rejectsPublicExponent1") == 0) {
                like_str(err.text, "exponent", "e = 1 refused");
            }
        }

        lg_jwk_set_free(set);
    }

    json_decref(root);
}


static void
test_wycheproof(void)
{
    const char   *dir;
    wp_counts_t   c;

    dir = getenv("LG_WYCHEPROOF_DIR");
    if (dir == NULL) {
        dir = "t/data/wycheproof";
    }

    memset(&c, 0, sizeof(c));

    wp_run(dir, "json_web_signature_test.json", &c);
    wp_run(dir, "json_web_key_test.json", &c);

    printf("# wycheproof: valid accepted %d/%d, invalid rejected %d/%d, "
           "deviations (see wp_deviations) %d\n", c.valid_ok, c.valid,
           c.invalid_ok, c.invalid, c.by_design);

    is_int(c.valid_ok, c.valid, "every valid Wycheproof vector accepted");
    is_int(c.invalid_ok, c.invalid,
           "every invalid Wycheproof vector rejected");
    ok(c.valid + c.invalid + c.by_design == 401 + 26,
       "all 427 Wycheproof JOSE vectors ran");
}


static void
test_b64(void)
{
    int            i, n;
    char           enc[64];
    size_t         len, elen;
    unsigned char  src[32], dst[64];

    ok(lg_b64url_decode("", 0, dst, &len) == 0 && len == 0, "empty decodes");
    ok(lg_b64url_decode("Zm9v", 4, dst, &len) == 0 && len == 3
       && memcmp(dst, "foo", 3) == 0, "Zm9v is foo");
    ok(lg_b64url_decode("Zm8", 3, dst, &len) == 0 && len == 2, "Zm8: fo");
    ok(lg_b64url_decode("Zg", 2, dst, &len) == 0 && len == 1, "Zg: f");
    ok(lg_b64url_decode("Zh", 2, dst, &len) != 0, "Zh: unused bits set");
    ok(lg_b64url_decode("Zm9", 3, dst, &len) != 0, "Zm9: unused bits set");
    ok(lg_b64url_decode("Zg==", 4, dst, &len) != 0, "padding refused");
    ok(lg_b64url_decode("Z", 1, dst, &len) != 0, "1 mod 4 refused");
    ok(lg_b64url_decode("Zm 9v", 5, dst, &len) != 0, "space refused");
    ok(lg_b64url_decode("Zm9v\n", 5, dst, &len) != 0, "newline refused");
    ok(lg_b64url_decode("+/+/", 4, dst, &len) != 0, "+ and / refused");
    ok(lg_b64url_decode("-_-_", 4, dst, &len) == 0 && len == 3,
       "- and _ accepted");
    ok(lg_b64url_decode("Zm\0v", 4, dst, &len) != 0, "NUL refused");
    ok(lg_b64url_decode("Zm9v\xc3\xa9", 6, dst, &len) != 0,
       "non-ASCII refused");

    n = 0;

    for (i = 0; i < 32; i++) {
        src[i] = (unsigned char) (i * 37 + 11);
        elen = lg_b64url_encode(src, (size_t) i, enc);

        if (elen != lg_b64url_encoded_len((size_t) i)
            || lg_b64url_decode(enc, elen, dst, &len) != 0
            || len != (size_t) i || memcmp(src, dst, len) != 0)
        {
            n++;
        }
    }

    is_int(n, 0, "encode/decode round trip for lengths 0 to 31");
}


static lg_jwk_set_t *
parse(const char *text, unsigned flags, lg_error_t *err)
{
    err->text[0] = '\0';

    return lg_jwk_set_parse_buffer("jwks", text, strlen(text), flags, err);
}


static char *
jwks1(const char *jwk)
{
    static char  buf[16384];

    snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", jwk);

    return buf;
}


static void
test_jwk(EVP_PKEY *rsa, EVP_PKEY *ec)
{
    char           *jwk, *p, text[16384];
    lg_error_t      err;
    EVP_PKEY       *small;
    lg_jwk_set_t   *set;
    const lg_jwk_t *key;

    jwk = tj_jwk(rsa, "r1", "\"use\":\"sig\",\"alg\":\"RS256\"");
    set = parse(jwks1(jwk), 0, &err);
    ok(set != NULL && set->nkeys == 1, "RSA JWK loads");
    if (set != NULL) {
        is_int(set->keys[0].kty, LG_JWK_RSA, "kty RSA");
        is_int(set->keys[0].bits, 2048, "2048 bits");
        is_str(set->keys[0].kid, "r1", "kid kept");
        is_int(set->keys[0].alg, LG_JWS_RS256, "alg kept");
        ok(lg_jwk_fits(&set->keys[0], LG_JWS_RS256), "fits RS256");
        ok(!lg_jwk_fits(&set->keys[0], LG_JWS_PS256),
           "a key that says RS256 does not fit PS256");
        ok(!lg_jwk_fits(&set->keys[0], LG_JWS_HS256), "nor HS256");
    }
    lg_jwk_set_free(set);
    free(jwk);

    small = tj_keygen("RSA", NULL, 1024);
    jwk = tj_jwk(small, "small", NULL);
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "1024-bit RSA refused");
    like_str(err.text, "jwks: $.keys[0].n: RSA modulus of 1024 bits",
             "message names the member and the size");
    free(jwk);
    EVP_PKEY_free(small);

    set = parse("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
                0, &err);
    ok(set == NULL, "tiny modulus refused");

    /* e = 3 on the 2048-bit modulus */
    jwk = tj_jwk(rsa, "e3", NULL);
    p = strstr(jwk, "\"e\":\"AQAB\"");
    memcpy(p, "\"e\":\"Aw\"  ", 10);
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "e = 3 refused");
    like_str(err.text, "$.keys[0].e: RSA public exponent", "e named");
    free(jwk);

    jwk = tj_jwk(rsa, "d", "\"d\":\"AQAB\"");
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "RSA private member refused");
    like_str(err.text, "$.keys[0].d: private key member", "d named");
    free(jwk);

    jwk = tj_jwk(rsa, "n", NULL);
    p = strstr(jwk, "\"n\":\"");
    p[5] = '+';
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "non-base64url n refused");
    like_str(err.text, "$.keys[0].n: is not canonical base64url", "n named");
    free(jwk);

    jwk = tj_jwk(ec, "e1", "\"alg\":\"ES256\"");
    set = parse(jwks1(jwk), 0, &err);
    ok(set != NULL && set->nkeys == 1 && set->keys[0].crv == LG_JWK_P256,
       "EC P-256 JWK loads");
    lg_jwk_set_free(set);
    free(jwk);

    jwk = tj_jwk(ec, "e1", "\"alg\":\"ES384\"");
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "ES384 on a P-256 key refused");
    like_str(err.text, "ES384 does not fit curve P-256", "mismatch named");
    free(jwk);

    /* a point off the curve: flip a bit of y */
    jwk = tj_jwk(ec, "e1", NULL);
    p = strstr(jwk, "\"y\":\"") + 5;
    p[3] = (p[3] == 'A') ? 'B' : 'A';
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "point off the curve refused");
    like_str(err.text, "not on curve P-256", "off-curve named");
    free(jwk);

    jwk = tj_jwk(ec, "e1", NULL);
    p = strstr(jwk, "\"x\":\"") + 5;
    memmove(p, p + 4, strlen(p + 4) + 1);
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "short x refused");
    like_str(err.text, "$.keys[0].x: must be 32 bytes", "x size named");
    free(jwk);

    jwk = tj_jwk(ec, "e1", "\"d\":\"AAAA\"");
    set = parse(jwks1(jwk), 0, &err);
    ok(set == NULL, "EC private key refused");
    free(jwk);

    /* skipped, not errors */
    snprintf(text, sizeof(text), "{\"keys\":["
             "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"x\",\"y\":\"y\"},"
             "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"},"
             "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AAAA\"},"
             "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"],\"n\":\"\"},"
             "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\",\"n\":\"\"},"
             "{\"kty\":\"oct\",\"k\":\"AAAA\"},"
             "{\"kty\":\"foo\"}]}");
    set = parse(text, 0, &err);
    ok(set != NULL && set->nkeys == 0 && set->nskipped == 8,
       "keys for other uses, curves and types are skipped");
    if (set == NULL) {
        printf("#   %s\n", err.text);
    }
    lg_jwk_set_free(set);

    jwk = tj_jwk(ec, "ops", "\"key_ops\":[\"sign\",\"verify\"]");
    set = parse(jwks1(jwk), 0, &err);
    ok(set != NULL && set->nkeys == 1, "key_ops with verify kept");
    lg_jwk_set_free(set);
    free(jwk);

    set = parse("{\"keys\":[{\"kty\":\"EC\",\"key_ops\":\"verify\"}]}", 0,
                &err);
    ok(set == NULL, "key_ops not an array refused");

    set = parse("{\"keys\":[{\"n\":\"AQAB\"}]}", 0, &err);
    ok(set == NULL, "kty missing refused");
    like_str(err.text, "$.keys[0].kty: is required", "kty named");

    set = parse("{\"keys\":[{\"kty\":7}]}", 0, &err);
    ok(set == NULL, "kty not a string refused");

    set = parse("{\"keys\":{}}", 0, &err);
    ok(set == NULL, "keys not an array refused");

    set = parse("[]", 0, &err);
    ok(set == NULL, "a JWKS that is no object refused");

    set = parse("{\"keys\":[], \"keys\":[]}", 0, &err);
    ok(set == NULL, "duplicate members refused");

    set = parse("{\"keys\":[1]}", 0, &err);
    ok(set == NULL, "a key that is no object refused");

    set = parse("{\"keys\":[]}", 0, &err);
    ok(set != NULL && set->nkeys == 0, "an empty set is a set");
    lg_jwk_set_free(set);

    /* shared secrets */
    snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\","
             "\"k\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}]}");
    set = parse(text, 0, &err);
    ok(set != NULL && set->nkeys == 0, "oct skipped unless allowed");
    lg_jwk_set_free(set);

    set = parse(text, LG_JWK_ALLOW_OCT, &err);
    ok(set != NULL && set->nkeys == 1, "oct loads when allowed");
    if (set != NULL) {
        ok(lg_jwk_fits(&set->keys[0], LG_JWS_HS256), "32 bytes fit HS256");
        ok(!lg_jwk_fits(&set->keys[0], LG_JWS_HS384), "but not HS384");
        ok(!lg_jwk_fits(&set->keys[0], LG_JWS_RS256), "nor RS256");
    }
    lg_jwk_set_free(set);

    set = parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"}"
                "]}", LG_JWK_ALLOW_OCT, &err);
    ok(set == NULL, "16-byte secret refused");

    jwk = tj_jwk(ec, "e1", NULL);
    snprintf(text, sizeof(text), "{\"keys\":[%s,{\"kty\":\"oct\",\"k\":"
             "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}]}", jwk);
    set = parse(text, LG_JWK_ALLOW_OCT, &err);
    ok(set == NULL, "secrets and public keys never share a set");
    like_str(err.text, "mixes shared secrets and public keys", "said so");
    free(jwk);

    set = lg_jwk_set_new();
    ok(lg_jwk_set_add_secret(set, NULL, 0, LG_JWS_ALG_UNSET,
                             (const unsigned char *) "short", 5, &err) != 0,
       "short file secret refused");
    ok(lg_jwk_set_add_secret(set, "k", 1, LG_JWS_HS512,
                             (const unsigned char *)
                             "0123456789abcdef0123456789abcdef", 32, &err)
       != 0, "a secret shorter than the HS512 output refused");
    ok(lg_jwk_set_add_secret(set, "k", 1, LG_JWS_ALG_UNSET,
                             (const unsigned char *)
                             "0123456789abcdef0123456789abcdef", 32, &err)
       == 0, "file secret added");
    key = NULL;
    ok(lg_jwk_set_find(set, "k", 1, LG_JWS_HS256, &key) == LG_JWK_FOUND
       && key == &set->keys[0], "found by kid");
    ok(lg_jwk_set_find(set, NULL, 0, LG_JWS_HS256, &key) == LG_JWK_FOUND,
       "found without kid");
    is_int(lg_jwk_set_find(set, "x", 1, LG_JWS_HS256, &key),
           LG_JWK_NOT_FOUND, "unknown kid");
    is_int(lg_jwk_set_find(set, "k", 1, LG_JWS_ES256, &key), LG_JWK_UNFIT,
           "kid of another key type");
    lg_jwk_set_free(set);

    jwk = tj_jwk(ec, "dup", NULL);
    snprintf(text, sizeof(text), "{\"keys\":[%s,%s]}", jwk, jwk);
    set = parse(text, 0, &err);
    ok(set != NULL && set->nkeys == 2, "duplicate kid loads");
    is_int(lg_jwk_set_find(set, "dup", 3, LG_JWS_ES256, &key),
           LG_JWK_AMBIGUOUS, "but a token naming it is ambiguous");
    is_int(lg_jwk_set_find(set, NULL, 0, LG_JWS_ES256, &key),
           LG_JWK_AMBIGUOUS, "so is one without kid");
    lg_jwk_set_free(set);
    free(jwk);

    is_int(lg_jws_alg_from_name("RS256", 5), LG_JWS_RS256, "RS256 known");
    is_int(lg_jws_alg_from_name("rs256", 5), LG_JWS_ALG_UNSET,
           "alg names are case-sensitive");
    is_int(lg_jws_alg_from_name("none", 4), LG_JWS_ALG_UNSET, "none unknown");
    is_str(lg_jws_alg_name(LG_JWS_EDDSA), "EdDSA", "EdDSA spelled");
}


typedef struct {
    lg_jws_alg_e   alg;
    EVP_PKEY      *pkey;
    const char    *kid;
} own_case_t;


/* forged and malformed signatures: none, key confusion, out-of-range values */

static void
test_own_forgeries(lg_jwk_set_t *set, lg_jwk_set_t *hset, EVP_PKEY *rsa,
    EVP_PKEY *ec256, const unsigned char *secret, const char *payload)
{
    int             i;
    char           *tok, *pem, *p, hdr[512];
    size_t          len;
    lg_jws_opts_t   opts;
    unsigned char   sig[TJ_SIG_MAX], zero[132];

    /* alg none in any case, with and without a signature */
    {
        static const char  *nones[] = { "none", "None", "NONE", "nOnE" };

        for (i = 0; i < 4; i++) {
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"rsa\"}",
                     nones[i]);
            tok = tj_compact(hdr, payload, (const unsigned char *) "", 0);
            is_int(verify(&json_opts, set, tok), LG_TOKEN_ALG_NONE,
                   "alg %s refused", nones[i]);
            free(tok);

            tok = tj_compact(hdr, payload, (const unsigned char *) "x", 1);
            is_int(verify(&json_opts, set, tok), LG_TOKEN_ALG_NONE,
                   "alg %s with a signature refused", nones[i]);
            free(tok);
        }
    }

    /* HS256 keyed with the RSA public key PEM (key confusion) */
    pem = tj_pem(rsa);
    tok = tj_token(LG_JWS_HS256, NULL, (unsigned char *) pem, strlen(pem),
                   "{\"alg\":\"HS256\",\"kid\":\"rsa\"}", payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_KEY_MISMATCH,
           "HS256 MACed with the RSA PEM refused (key type)");
    opts = json_opts;
    opts.algs = LG_JWS_ALG_BIT(LG_JWS_RS256);
    is_int(verify(&opts, set, tok), LG_TOKEN_ALG_FORBIDDEN,
           "and by an RS256-only allow-list");
    free(tok);
    free(pem);

    /* ES256 with r = s = 0, r = n, s = n, wrong lengths */
    memset(zero, 0, sizeof(zero));
    tok = tj_compact("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload, zero,
                     64);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_SIGNATURE,
           "ES256 r = s = 0 refused");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload);
    p = strrchr(tok, '.') + 1;
    len = 0;
    lg_b64url_decode(p, strlen(p), sig, &len);

    {
        static const unsigned char  n256[32] = {
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
            0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
        };
        unsigned char  forged[66];
        char          *t2;

        memcpy(forged, n256, 32);
        memcpy(forged + 32, sig + 32, 32);
        t2 = tj_compact("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload,
                        forged, 64);
        is_int(verify(&json_opts, set, t2), LG_TOKEN_BAD_SIGNATURE,
               "ES256 r = n refused");
        free(t2);

        memcpy(forged, sig, 32);
        memcpy(forged + 32, n256, 32);
        t2 = tj_compact("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload,
                        forged, 64);
        is_int(verify(&json_opts, set, t2), LG_TOKEN_BAD_SIGNATURE,
               "ES256 s = n refused");
        free(t2);

        forged[0] = 0;
        memcpy(forged + 1, sig, 64);
        t2 = tj_compact("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload,
                        forged, 65);
        is_int(verify(&json_opts, set, t2), LG_TOKEN_BAD_SIGNATURE,
               "ES256 65-byte signature refused");
        free(t2);
    }

    free(tok);

    /* RSA signature with a leading zero byte */
    tok = tj_token(LG_JWS_RS256, rsa, NULL, 0,
                   "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", payload);
    p = strrchr(tok, '.') + 1;
    lg_b64url_decode(p, strlen(p), sig + 1, &len);
    sig[0] = 0;
    free(tok);
    tok = tj_compact("{\"alg\":\"RS256\",\"kid\":\"rsa\"}", payload, sig,
                     len + 1);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_SIGNATURE,
           "RSA signature longer than the modulus refused");
    free(tok);

    /* RS256 signature presented as PS256 */
    tok = tj_compact("{\"alg\":\"PS256\",\"kid\":\"rsa\"}", payload, sig + 1,
                     len);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_SIGNATURE,
           "PKCS#1 v1.5 signature under PS256 refused");
    free(tok);

    /* PSS with a salt that is not the hash length */
    tj_pss_saltlen = 0;
    tok = tj_token(LG_JWS_PS256, rsa, NULL, 0,
                   "{\"alg\":\"PS256\",\"kid\":\"rsa\"}", payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_SIGNATURE,
           "PS256 with an empty salt refused");
    free(tok);
    tj_pss_saltlen = RSA_PSS_SALTLEN_DIGEST;

    /* HMAC truncated */
    tok = tj_token(LG_JWS_HS256, NULL, secret, 64,
                   "{\"alg\":\"HS256\",\"kid\":\"hs\"}", payload);
    tok[strlen(tok) - 3] = '\0';
    is_int(verify(&json_opts, hset, tok), LG_TOKEN_BAD_SIGNATURE,
           "truncated HMAC refused");
    free(tok);
}


static void
test_own_key_selection(lg_jwk_set_t *set, EVP_PKEY *rsa, EVP_PKEY *ec256,
    EVP_PKEY *ed, const char *payload)
{
    char    *tok;
    size_t   len;

    /* key selection */
    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"nope\"}", payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_KEY_UNKNOWN,
           "unknown kid refused");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec384\"}", payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_KEY_MISMATCH,
           "ES256 naming a P-384 key refused");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0, "{\"alg\":\"ES256\"}",
                   payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_OK,
           "no kid: the one key that fits is used");
    free(tok);

    tok = tj_token(LG_JWS_RS256, rsa, NULL, 0,
                   "{\"alg\":\"RS256\",\"kid\":7}", payload);
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_HEADER,
           "kid not a string refused");
    free(tok);

    tok = tj_token(LG_JWS_EDDSA, ed, NULL, 0,
                   "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", payload);
    len = strlen(tok);
    tok[len - 2] = '\0';
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_SIGNATURE,
           "short EdDSA signature refused");
    free(tok);
}


static void
test_own_headers(lg_jwk_set_t *set, EVP_PKEY *ec256, const char *payload)
{
    int    i;
    char  *tok;

    /* headers */
    {
        static const struct {
            const char         *hdr;
            lg_token_status_e   rc;
            const char         *name;
        } h[] = {
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"crit\":[\"exp\"],"
              "\"exp\":1}", LG_TOKEN_CRIT, "unknown crit name" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"crit\":[]}",
              LG_TOKEN_BAD_HEADER, "empty crit" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"crit\":\"b64\"}",
              LG_TOKEN_BAD_HEADER, "crit not an array" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"b64\":false}",
              LG_TOKEN_BAD_HEADER, "b64 false" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\","
              "\"jku\":\"https://evil.example/jwks\"}",
              LG_TOKEN_KEY_REFERENCE, "jku" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\","
              "\"x5u\":\"https://evil.example/cert\"}",
              LG_TOKEN_KEY_REFERENCE, "x5u" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"jwk\":{\"kty\":\"EC\"}}",
              LG_TOKEN_KEY_REFERENCE, "embedded jwk" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"x5c\":[\"MIIB\"]}",
              LG_TOKEN_KEY_REFERENCE, "x5c" },
            { "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"ec256\"}",
              LG_TOKEN_BAD_HEADER, "duplicate alg" },
            { "{\"kid\":\"ec256\"}", LG_TOKEN_BAD_HEADER, "alg missing" },
            { "{\"alg\":null,\"kid\":\"ec256\"}", LG_TOKEN_BAD_HEADER,
              "alg null" },
            { "{\"alg\":\"ES256K\",\"kid\":\"ec256\"}", LG_TOKEN_ALG_UNKNOWN,
              "unknown alg" },
            { "{\"alg\":\"es256\",\"kid\":\"ec256\"}", LG_TOKEN_ALG_UNKNOWN,
              "lower-case alg" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\",\"typ\":1}",
              LG_TOKEN_BAD_HEADER, "typ not a string" },
            { "[\"alg\",\"ES256\"]", LG_TOKEN_BAD_HEADER, "header array" },
            { "not json", LG_TOKEN_BAD_HEADER, "header not JSON" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec256\"} x", LG_TOKEN_BAD_HEADER,
              "header with trailing bytes" },
            { "{\"alg\":\"ES256\",\"kid\":\"ec\\u0000256\"}",
              LG_TOKEN_BAD_HEADER, "NUL in header string" },
        };

        for (i = 0; i < (int) (sizeof(h) / sizeof(h[0])); i++) {
            tok = tj_token(LG_JWS_ES256, ec256, NULL, 0, h[i].hdr, payload);
            is_int(verify(&json_opts, set, tok), h[i].rc, "header: %s",
                   h[i].name);
            free(tok);
        }
    }
}


/* payloads, then the compact framing around them */

static void
test_own_payloads(lg_jwk_set_t *set, EVP_PKEY *ec256, const char *payload)
{
    char           *tok, big[LG_JWS_MAX_LEN + 16];
    size_t          n;
    lg_jws_opts_t   opts;

    /* payloads */
    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", "foo");
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_PAYLOAD,
           "non-JSON payload refused for a JWT");
    is_int(verify(&raw_opts, set, tok), LG_TOKEN_OK,
           "but fine as a raw JWS payload");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", "[1,2]");
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_PAYLOAD,
           "array payload refused");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}",
                   "{\"a\":1,\"a\":2}");
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_PAYLOAD,
           "duplicate claims refused");
    free(tok);

    /* framing */
    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload);
    n = strlen(tok);

    snprintf(big, sizeof(big), "%s.", tok);
    is_int(verify(&json_opts, set, big), LG_TOKEN_MALFORMED,
           "extra empty segment refused");
    snprintf(big, sizeof(big), "%s.e30", tok);
    is_int(verify(&json_opts, set, big), LG_TOKEN_MALFORMED,
           "extra segment refused (JWE-like)");
    snprintf(big, sizeof(big), "%.*s", (int) (strrchr(tok, '.') - tok), tok);
    is_int(verify(&json_opts, set, big), LG_TOKEN_MALFORMED,
           "two segments refused");
    is_int(verify(&json_opts, set, ""), LG_TOKEN_MALFORMED, "empty refused");
    snprintf(big, sizeof(big), " %s", tok);
    is_int(verify(&json_opts, set, big), LG_TOKEN_BAD_ENCODING,
           "leading space refused");
    snprintf(big, sizeof(big), "%s=", tok);
    is_int(verify(&json_opts, set, big), LG_TOKEN_BAD_ENCODING,
           "padding refused");
    memset(big, 'A', sizeof(big));
    memcpy(big, tok, n);
    big[LG_JWS_MAX_LEN + 1] = '\0';
    is_int(verify(&json_opts, set, big), LG_TOKEN_TOO_LARGE,
           "token over 8 KB refused");

    opts = json_opts;
    opts.max_len = n - 1;
    is_int(verify(&opts, set, tok), LG_TOKEN_TOO_LARGE,
           "configured size cap honoured");
    opts.max_len = n;
    is_int(verify(&opts, set, tok), LG_TOKEN_OK, "exactly at the cap passes");
    free(tok);
}


static void
test_own(EVP_PKEY *rsa, EVP_PKEY *ec256, EVP_PKEY *ec384, EVP_PKEY *ec521,
    EVP_PKEY *ed)
{
    int                 i;
    char               *tok, *jr, *j2, *j3, *j5, *je, *p;
    char                text[32768], hdr[512];
    lg_jws_t            jws;
    lg_error_t          err;
    lg_jwk_set_t       *set, *hset;
    lg_jws_opts_t       opts;
    lg_token_status_e   rc;
    static const unsigned char  secret[] =
        "a shared secret that is long enough for HS512, 64 bytes at least!";
    static const char  *payload = "{\"sub\":\"x\"}";

    own_case_t  cases[] = {
        { LG_JWS_RS256, rsa, "rsa" }, { LG_JWS_RS384, rsa, "rsa" },
        { LG_JWS_RS512, rsa, "rsa" }, { LG_JWS_PS256, rsa, "rsa" },
        { LG_JWS_PS384, rsa, "rsa" }, { LG_JWS_PS512, rsa, "rsa" },
        { LG_JWS_ES256, ec256, "ec256" }, { LG_JWS_ES384, ec384, "ec384" },
        { LG_JWS_ES512, ec521, "ec521" }, { LG_JWS_EDDSA, ed, "ed" },
        { LG_JWS_HS256, NULL, "hs" }, { LG_JWS_HS384, NULL, "hs" },
        { LG_JWS_HS512, NULL, "hs" }
    };

    jr = tj_jwk(rsa, "rsa", NULL);
    j2 = tj_jwk(ec256, "ec256", "\"use\":\"sig\"");
    j3 = tj_jwk(ec384, "ec384", NULL);
    j5 = tj_jwk(ec521, "ec521", NULL);
    je = tj_jwk(ed, "ed", "\"alg\":\"EdDSA\"");
    snprintf(text, sizeof(text), "{\"keys\":[%s,%s,%s,%s,%s]}",
             jr, j2, j3, j5, je);

    set = parse(text, 0, &err);
    if (!ok(set != NULL && set->nkeys == 5, "own key set loads")) {
        printf("#   %s\n", err.text);
        exit(1);
    }

    hset = lg_jwk_set_new();
    lg_jwk_set_add_secret(hset, "hs", 2, LG_JWS_ALG_UNSET, secret, 64, &err);

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                 lg_jws_alg_name(cases[i].alg), cases[i].kid);
        tok = tj_token(cases[i].alg, cases[i].pkey, secret, 64, hdr, payload);

        rc = lg_jws_verify(&json_opts, cases[i].pkey ? set : hset, tok,
                           strlen(tok), &jws);
        is_int(rc, LG_TOKEN_OK, "%s token verifies",
               lg_jws_alg_name(cases[i].alg));

        if (rc == LG_TOKEN_OK) {
            ok(jws.alg == cases[i].alg && strcmp(jws.key->kid, cases[i].kid)
               == 0 && json_is_object(jws.payload), "%s: alg, key, claims",
               lg_jws_alg_name(cases[i].alg));
        }

        lg_jws_free(&jws);

        opts = json_opts;
        opts.algs = LG_JWS_ALGS_ALL & ~LG_JWS_ALG_BIT(cases[i].alg);
        is_int(verify(&opts, cases[i].pkey ? set : hset, tok),
               LG_TOKEN_ALG_FORBIDDEN, "%s outside the allow-list refused",
               lg_jws_alg_name(cases[i].alg));

        /* tampered payload, same signature */
        p = strchr(tok, '.') + 1;
        p[1] ^= 1;
        rc = verify(&json_opts, cases[i].pkey ? set : hset, tok);
        ok(rc == LG_TOKEN_BAD_SIGNATURE || rc == LG_TOKEN_BAD_ENCODING,
           "%s tampered payload refused", lg_jws_alg_name(cases[i].alg));
        p[1] ^= 1;

        /* stripped signature */
        p = strrchr(tok, '.') + 1;
        *p = '\0';
        is_int(verify(&json_opts, cases[i].pkey ? set : hset, tok),
               LG_TOKEN_BAD_SIGNATURE, "%s stripped signature refused",
               lg_jws_alg_name(cases[i].alg));

        free(tok);
    }

    test_own_forgeries(set, hset, rsa, ec256, secret, payload);
    test_own_key_selection(set, rsa, ec256, ed, payload);
    test_own_headers(set, ec256, payload);
    test_own_payloads(set, ec256, payload);

    for (i = 0; i < LG_TOKEN_STATUS_COUNT; i++) {
        if (lg_token_status_text((lg_token_status_e) i) == NULL) {
            break;
        }
    }
    is_int(i, LG_TOKEN_STATUS_COUNT, "every status has a text");

    lg_jwk_set_free(set);
    lg_jwk_set_free(hset);
    free(jr);
    free(j2);
    free(j3);
    free(j5);
    free(je);
}


static void
test_unused_bits(EVP_PKEY *ec256)
{
    char           *tok, *p, *q;
    lg_error_t      err;
    lg_jwk_set_t   *set;
    char           *jwk;

    jwk = tj_jwk(ec256, "ec256", NULL);
    set = parse(jwks1(jwk), 0, &err);

    /* payload "{}" encodes as "e30": the last char's 2 spare bits are 0 */
    tok = tj_token(LG_JWS_ES256, ec256, NULL, 0,
                   "{\"alg\":\"ES256\",\"kid\":\"ec256\"}", "{}");
    p = strchr(tok, '.') + 1;
    q = strchr(p, '.');
    ok(q - p == 3 && memcmp(p, "e30", 3) == 0, "payload is e30");
    is_int(verify(&json_opts, set, tok), LG_TOKEN_OK, "e30 verifies");
    p[2] = '1';
    is_int(verify(&json_opts, set, tok), LG_TOKEN_BAD_ENCODING,
           "e31 (same bytes, spare bits set) refused");

    free(tok);
    free(jwk);
    lg_jwk_set_free(set);
}


int
main(void)
{
    EVP_PKEY  *rsa, *ec256, *ec384, *ec521, *ed;

    test_b64();
    test_wycheproof();

    rsa = tj_keygen("RSA", NULL, 2048);
    ec256 = tj_keygen("EC", "P-256", 0);
    ec384 = tj_keygen("EC", "P-384", 0);
    ec521 = tj_keygen("EC", "P-521", 0);
    ed = tj_keygen("ED25519", NULL, 0);

    test_jwk(rsa, ec256);
    test_own(rsa, ec256, ec384, ec521, ed);
    test_unused_bits(ec256);

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec256);
    EVP_PKEY_free(ec384);
    EVP_PKEY_free(ec521);
    EVP_PKEY_free(ed);

    return lg_unit_done();
}
