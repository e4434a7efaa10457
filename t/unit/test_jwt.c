
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"
#include "test_jws_sign.h"

#include "lg_jwk.h"
#include "lg_jws.h"
#include "lg_jwt.h"


#define NOW  1767225600LL      /* 2026-01-01T00:00:00Z */


static EVP_PKEY      *rsa, *ec;
static lg_jwk_set_t  *keys;

static const char  *audiences[] = { "logistics-api", "other-api" };

static lg_jwt_rules_t  rules = {
    { 0, LG_JWS_ALG_BIT(LG_JWS_RS256) | LG_JWS_ALG_BIT(LG_JWS_ES256), 0 },
    "https://idp.example.com",
    audiences, 2,
    30,                         /* leeway */
    3600,                       /* max lifetime */
    "at+jwt",
    NULL,                       /* client_id */
    NULL                        /* scope, then scp */
};


/* an ES256 token from header and claims texts */

static char *
es(const char *header, const char *claims)
{
    return tj_token(LG_JWS_ES256, ec, NULL, 0, header, claims);
}


static lg_token_status_e
check(const lg_jwt_rules_t *r, const char *tok, lg_jwt_t *jwt)
{
    lg_jwt_t           local;
    lg_token_status_e  rc;

    if (jwt == NULL) {
        jwt = &local;
    }

    rc = lg_jwt_verify(r, keys, tok, strlen(tok), NOW, jwt);

    if (jwt == &local && rc == LG_TOKEN_OK) {
        lg_jwt_free(jwt);
    }

    return rc;
}


/* claims with one member replaced or removed ("name": NULL drops it) */

static char *
claims(const char *name, const char *value)
{
    size_t       i, n;
    char        *out;
    static const char  *base[][2] = {
        { "iss", "\"https://idp.example.com\"" },
        { "aud", "\"logistics-api\"" },
        { "exp", "1767226200" },            /* NOW + 600 */
        { "iat", "1767225540" },            /* NOW - 60 */
        { "nbf", "1767225540" },
        { "client_id", "\"acme\"" },
        { "sub", "\"svc-acme\"" },
        { "jti", "\"j-1\"" },
        { "scope", "\"shipments:write  tracking:read\"" },
        { NULL, NULL }
    };

    out = malloc(4096);
    n = 0;
    out[n++] = '{';

    for (i = 0; base[i][0] != NULL; i++) {
        if (name != NULL && strcmp(name, base[i][0]) == 0) {
            continue;
        }

        n += (size_t) snprintf(out + n, 4096 - n, "%s\"%s\":%s",
                               n > 1 ? "," : "", base[i][0], base[i][1]);
    }

    if (name != NULL && value != NULL) {
        n += (size_t) snprintf(out + n, 4096 - n, "%s\"%s\":%s",
                               n > 1 ? "," : "", name, value);
    }

    snprintf(out + n, 4096 - n, "}");

    return out;
}


static const char  *hdr = "{\"alg\":\"ES256\",\"kid\":\"ec\","
                          "\"typ\":\"at+jwt\"}";


static void
claim_case(const char *name, const char *value, lg_token_status_e want,
    const char *what)
{
    char  *c, *tok;

    c = claims(name, value);
    tok = es(hdr, c);
    is_int(check(&rules, tok, NULL), want, "%s", what);
    free(tok);
    free(c);
}


static void
test_valid(void)
{
    char               *c, *tok;
    lg_jwt_t            jwt;
    lg_token_status_e   rc;

    c = claims(NULL, NULL);
    tok = es(hdr, c);
    rc = check(&rules, tok, &jwt);
    is_int(rc, LG_TOKEN_OK, "a good access token verifies");

    if (rc == LG_TOKEN_OK) {
        ok(jwt.partner.len == 4 && memcmp(jwt.partner.data, "acme", 4) == 0,
           "partner from client_id");
        ok(jwt.sub.len == 8 && memcmp(jwt.sub.data, "svc-acme", 8) == 0,
           "sub");
        ok(jwt.jti.len == 3 && memcmp(jwt.jti.data, "j-1", 3) == 0, "jti");
        is_int(jwt.exp, NOW + 600, "exp");
        is_int(jwt.iat, NOW - 60, "iat");
        is_int(jwt.nscopes, 2, "two scopes, double space ignored");
        ok(lg_jwt_has_scope(&jwt, "tracking:read", 13), "has tracking:read");
        ok(!lg_jwt_has_scope(&jwt, "tracking", 8), "no prefix match");
        ok(!jwt.cnf_x5t && lg_jwt_cnf_match(&jwt, NULL),
           "not certificate-bound");
        lg_jwt_free(&jwt);
    }

    free(tok);
    free(c);
}


static void
test_claims(void)
{
    char            *c, *tok;
    lg_jwt_t         jwt;
    lg_jwt_rules_t   r;
    unsigned char    thumb[32];

    claim_case("iss", "\"https://evil.example.com\"", LG_TOKEN_ISSUER,
               "wrong iss");
    claim_case("iss", "\"https://idp.example.com/\"", LG_TOKEN_ISSUER,
               "iss with a trailing slash");
    claim_case("iss", NULL, LG_TOKEN_ISSUER, "iss missing");
    claim_case("iss", "[\"https://idp.example.com\"]", LG_TOKEN_BAD_CLAIM,
               "iss not a string");

    claim_case("aud", "\"billing-api\"", LG_TOKEN_AUDIENCE, "wrong aud");
    claim_case("aud", "[\"billing-api\",\"other-api\"]", LG_TOKEN_OK,
               "aud array with an accepted audience");
    claim_case("aud", "[\"billing-api\"]", LG_TOKEN_AUDIENCE,
               "aud array without one");
    claim_case("aud", "[]", LG_TOKEN_AUDIENCE, "empty aud array");
    claim_case("aud", NULL, LG_TOKEN_AUDIENCE, "aud missing");
    claim_case("aud", "1", LG_TOKEN_BAD_CLAIM, "aud a number");
    claim_case("aud", "[\"logistics-api\",1]", LG_TOKEN_OK,
               "accepted before a bad member");
    claim_case("aud", "[1,\"logistics-api\"]", LG_TOKEN_BAD_CLAIM,
               "aud array with a number");
    claim_case("aud", "\"LOGISTICS-API\"", LG_TOKEN_AUDIENCE,
               "aud is case-sensitive");

    claim_case("exp", NULL, LG_TOKEN_EXP_MISSING, "exp missing");
    claim_case("exp", "\"1767226200\"", LG_TOKEN_BAD_CLAIM, "exp a string");
    claim_case("exp", "1767225569", LG_TOKEN_EXPIRED,
               "expired 31 s ago (leeway 30 s)");
    claim_case("exp", "1767225570", LG_TOKEN_EXPIRED,
               "expired exactly at the leeway");
    claim_case("exp", "1767225571", LG_TOKEN_OK, "expired within leeway");
    claim_case("exp", "1767226200.75", LG_TOKEN_OK, "fractional exp");
    claim_case("exp", "1e300", LG_TOKEN_BAD_CLAIM, "absurd exp");
    claim_case("exp", "-1", LG_TOKEN_BAD_CLAIM, "negative exp");
    claim_case("exp", "true", LG_TOKEN_BAD_CLAIM, "boolean exp");

    claim_case("nbf", "1767225631", LG_TOKEN_NOT_YET_VALID,
               "nbf 31 s ahead");
    claim_case("nbf", "1767225629", LG_TOKEN_OK, "nbf within leeway");
    claim_case("nbf", NULL, LG_TOKEN_OK, "nbf optional");
    claim_case("nbf", "null", LG_TOKEN_BAD_CLAIM, "nbf null");

    claim_case("iat", "1767225700", LG_TOKEN_ISSUED_IN_FUTURE,
               "iat 100 s ahead");
    claim_case("iat", NULL, LG_TOKEN_OK, "iat optional");

    /* lifetime cap 3600 s (+ leeway) */
    c = claims("iat", "1767222000");
    tok = es(hdr, c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_LIFETIME,
           "exp - iat = 4200 s over a 3600 s cap");
    r = rules;
    r.max_lifetime = 0;
    is_int(check(&r, tok, NULL), LG_TOKEN_OK, "no cap, no complaint");
    free(tok);
    free(c);

    c = strdup("{\"iss\":\"https://idp.example.com\",\"aud\":\"logistics-api\","
               "\"exp\":1767236400,\"client_id\":\"acme\"}");
    tok = es(hdr, c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_LIFETIME,
           "without iat, 3 h left is over the cap");
    free(tok);
    free(c);

    claim_case("client_id", NULL, LG_TOKEN_PARTNER_MISSING,
               "partner claim missing");
    claim_case("client_id", "\"\"", LG_TOKEN_PARTNER_MISSING,
               "partner claim empty");
    claim_case("client_id", "7", LG_TOKEN_PARTNER_MISSING,
               "partner claim not a string");
    claim_case("sub", "7", LG_TOKEN_BAD_CLAIM, "sub not a string");
    claim_case("jti", "{}", LG_TOKEN_BAD_CLAIM, "jti not a string");

    /* partner from azp, scopes from scp */
    r = rules;
    r.partner_claim = "azp";
    r.scope_claim = "scp";
    c = claims("scp", "[\"a:read\",\"b:write\",\"c\"]");
    c[strlen(c) - 1] = '\0';
    strcat(c, ",\"azp\":\"globex\"}");
    tok = es(hdr, c);
    is_int(check(&r, tok, &jwt), LG_TOKEN_OK, "azp and scp array");
    ok(jwt.partner.len == 6 && memcmp(jwt.partner.data, "globex", 6) == 0,
       "partner from azp");
    ok(jwt.nscopes == 3 && lg_jwt_has_scope(&jwt, "b:write", 7)
       && !lg_jwt_has_scope(&jwt, "shipments:write", 15),
       "scopes from scp only");
    lg_jwt_free(&jwt);
    free(tok);
    free(c);

    c = claims("scope", NULL);
    c[strlen(c) - 1] = '\0';
    strcat(c, ",\"scp\":\"x y\"}");
    tok = es(hdr, c);
    is_int(check(&rules, tok, &jwt), LG_TOKEN_OK, "scp string");
    is_int(jwt.nscopes, 2, "scp split on spaces when scope is absent");
    lg_jwt_free(&jwt);
    free(tok);
    free(c);

    claim_case("scope", "[\"a\",2]", LG_TOKEN_BAD_CLAIM, "scope array of junk");
    claim_case("scope", "7", LG_TOKEN_BAD_CLAIM, "scope a number");
    claim_case("scope", "\"\"", LG_TOKEN_OK, "empty scope");

    {
        char   many[8192];
        size_t n, i;

        n = (size_t) snprintf(many, sizeof(many), "\"");
        for (i = 0; i < LG_JWT_SCOPES_MAX + 1; i++) {
            n += (size_t) snprintf(many + n, sizeof(many) - n, "s%zu ", i);
        }
        snprintf(many + n, sizeof(many) - n, "\"");
        claim_case("scope", many, LG_TOKEN_BAD_CLAIM, "too many scopes");
    }

    /* certificate-bound tokens */
    memset(thumb, 0x5a, sizeof(thumb));
    {
        char  *b, value[128];

        b = tj_b64(thumb, 32);
        snprintf(value, sizeof(value), "{\"x5t#S256\":\"%s\"}", b);
        free(b);

        c = claims("cnf", value);
        tok = es(hdr, c);
        is_int(check(&rules, tok, &jwt), LG_TOKEN_OK, "cnf x5t#S256");
        ok(jwt.cnf_x5t && lg_jwt_cnf_match(&jwt, thumb),
           "bound to the presenting certificate");
        thumb[0] ^= 1;
        ok(!lg_jwt_cnf_match(&jwt, thumb), "another certificate refused");
        ok(!lg_jwt_cnf_match(&jwt, NULL), "no certificate refused");
        lg_jwt_free(&jwt);
        free(tok);
        free(c);
    }

    claim_case("cnf", "{\"x5t#S256\":\"short\"}", LG_TOKEN_BAD_CLAIM,
               "cnf thumbprint of the wrong size");
    claim_case("cnf", "{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
               "\"}", LG_TOKEN_BAD_CLAIM, "DPoP-bound token refused");
    claim_case("cnf", "\"x\"", LG_TOKEN_BAD_CLAIM, "cnf not an object");
}


/* issue 12: what a token says is checked before anything uses it */

static void
test_fields(void)
{
    char  v[600];

    claim_case("jti", "\"j-1\\r\\nX-Injected: 1\"", LG_TOKEN_BAD_CLAIM,
               "jti with CR LF");
    claim_case("sub", "\"svc\\nacme\"", LG_TOKEN_BAD_CLAIM, "sub with LF");
    claim_case("sub", "\"svc\\u0000acme\"", LG_TOKEN_BAD_PAYLOAD,
               "sub with NUL (the payload parser refuses it first)");
    claim_case("client_id", "\"ac\\tme\"", LG_TOKEN_BAD_CLAIM,
               "partner claim with a tab");
    claim_case("jti", "\"caf\\u00e9\"", LG_TOKEN_BAD_CLAIM,
               "jti with a non-ASCII character");
    claim_case("jti", "\"j\\u007f\"", LG_TOKEN_BAD_CLAIM, "jti with DEL");
    claim_case("sub", "\"svc acme\"", LG_TOKEN_OK, "sub with a space");
    claim_case("scope", "\"a:read\\tb:write\"", LG_TOKEN_BAD_CLAIM,
               "scope with a tab");
    claim_case("scope", "\"a:read\\r\\nb\"", LG_TOKEN_BAD_CLAIM,
               "scope with CR LF");
    claim_case("scope", "\"a:read b\\\"c\"", LG_TOKEN_OK,
               "a quote in a scope is printable (escaped where it is used)");

    v[0] = '"';
    memset(v + 1, 'j', 256);
    v[257] = '"';
    v[258] = '\0';
    claim_case("jti", v, LG_TOKEN_OK, "jti of 256 bytes");

    v[257] = 'j';
    v[258] = '"';
    v[259] = '\0';
    claim_case("jti", v, LG_TOKEN_BAD_CLAIM, "jti of 257 bytes");
    claim_case("sub", v, LG_TOKEN_BAD_CLAIM, "sub of 257 bytes");
    claim_case("client_id", v, LG_TOKEN_BAD_CLAIM, "partner of 257 bytes");
    claim_case("scope", v, LG_TOKEN_BAD_CLAIM, "a scope of 257 bytes");
}


/*
 * issue 12: what the verified-token cache compares, the issuer's rules
 * and the key itself
 */

static void
test_cache_identity(void)
{
    char             *j1, *j2, text[8192];
    EVP_PKEY         *other;
    lg_error_t        err;
    lg_jwk_set_t     *a, *b, *c;
    unsigned char     d0[32], d1[32];
    lg_jwt_rules_t    r;
    const lg_jwk_t   *ka, *kb, *kc;
    static const char *one[] = { "logistics-api" };

    other = tj_keygen("EC", "P-256", 0);
    j1 = tj_jwk(ec, "ec", "\"use\":\"sig\"");
    j2 = tj_jwk(other, "ec", "\"use\":\"sig\"");

    snprintf(text, sizeof(text), "{\"keys\":[%s]}", j1);
    a = lg_jwk_set_parse_buffer("a", text, strlen(text), 0, &err);
    b = lg_jwk_set_parse_buffer("b", text, strlen(text), 0, &err);
    snprintf(text, sizeof(text), "{\"keys\":[%s]}", j2);
    c = lg_jwk_set_parse_buffer("c", text, strlen(text), 0, &err);

    if (ok(a && b && c, "three key sets")
        && lg_jwk_set_find(a, "ec", 2, LG_JWS_ES256, &ka) == LG_JWK_FOUND
        && lg_jwk_set_find(b, "ec", 2, LG_JWS_ES256, &kb) == LG_JWK_FOUND
        && lg_jwk_set_find(c, "ec", 2, LG_JWS_ES256, &kc) == LG_JWK_FOUND)
    {
        ok(memcmp(ka->thumbprint, kb->thumbprint, 32) == 0,
           "the same key parsed twice: the same thumbprint");
        ok(memcmp(ka->thumbprint, kc->thumbprint, 32) != 0,
           "another key under the same kid: another thumbprint");
    }

    lg_jwk_set_free(a);
    lg_jwk_set_free(b);
    lg_jwk_set_free(c);
    EVP_PKEY_free(other);
    free(j1);
    free(j2);

    is_int(lg_jwt_rules_digest(&rules, d0), 0, "rules digest");
    r = rules;
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) == 0, "the same rules: the same digest");

    r = rules;
    r.naudiences = 1;
    r.audiences = one;
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "one audience less: another digest");

    r = rules;
    r.jws.algs |= LG_JWS_ALG_BIT(LG_JWS_PS256);
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "another algorithm: another digest");

    r = rules;
    r.typ = NULL;
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "typ dropped: another digest");

    r = rules;
    r.max_lifetime = 7200;
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "another lifetime: another digest");

    r = rules;
    r.iss = "https://idp.example.com/v2";
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "another iss: another digest");

    r = rules;
    r.partner_claim = "azp";
    lg_jwt_rules_digest(&r, d1);
    ok(memcmp(d0, d1, 32) != 0, "another partner claim: another digest");
}


static void
test_typ(void)
{
    char            *c, *tok;
    lg_jwt_rules_t   r;
    size_t           i;
    static const struct {
        const char         *typ;
        lg_token_status_e   rc;
    } t[] = {
        { "\"at+jwt\"", LG_TOKEN_OK },
        { "\"AT+JWT\"", LG_TOKEN_OK },
        { "\"application/at+jwt\"", LG_TOKEN_OK },
        { "\"Application/At+JWT\"", LG_TOKEN_OK },
        { "\"JWT\"", LG_TOKEN_TYP },
        { "\"application/jwt\"", LG_TOKEN_TYP },
        { "\"at+jwt \"", LG_TOKEN_TYP },
        { "\"application/\"", LG_TOKEN_TYP },
        { NULL, LG_TOKEN_TYP }
    };
    char  h[256];

    c = claims(NULL, NULL);

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (t[i].typ) {
            snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"ec\","
                     "\"typ\":%s}", t[i].typ);

        } else {
            snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"ec\"}");
        }

        tok = es(h, c);
        is_int(check(&rules, tok, NULL), t[i].rc, "typ %s",
               t[i].typ ? t[i].typ : "missing");

        if (t[i].typ == NULL) {
            r = rules;
            r.typ = NULL;
            is_int(check(&r, tok, NULL), LG_TOKEN_OK,
                   "typ missing is fine when not required");
        }

        free(tok);
    }

    free(c);
}


/* the attack catalogue of issue 3, through the entry point nginx calls */

static void
test_attacks(void)
{
    int             i;
    char           *c, *tok, *pem, *p, big[LG_JWS_MAX_LEN + 64];
    lg_jwt_rules_t  r;
    unsigned char   zero[64];
    EVP_PKEY       *other;

    c = claims(NULL, NULL);

    {
        static const char  *nones[] = { "none", "None", "NONE" };

        for (i = 0; i < 3; i++) {
            snprintf(big, sizeof(big), "{\"alg\":\"%s\",\"kid\":\"ec\","
                     "\"typ\":\"at+jwt\"}", nones[i]);
            tok = tj_compact(big, c, (const unsigned char *) "", 0);
            is_int(check(&rules, tok, NULL), LG_TOKEN_ALG_NONE,
                   "attack: alg %s", nones[i]);
            free(tok);
        }
    }

    /* HS256 MACed with the RSA public key PEM, even with HS256 allowed */
    pem = tj_pem(rsa);
    tok = tj_token(LG_JWS_HS256, NULL, (unsigned char *) pem, strlen(pem),
                   "{\"alg\":\"HS256\",\"kid\":\"rsa\",\"typ\":\"at+jwt\"}",
                   c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_ALG_FORBIDDEN,
           "attack: HS256 with the RSA PEM (allow-list)");
    r = rules;
    r.jws.algs |= LG_JWS_ALGS_HMAC;
    is_int(check(&r, tok, NULL), LG_TOKEN_KEY_MISMATCH,
           "attack: HS256 with the RSA PEM (key type)");
    free(tok);
    free(pem);

    memset(zero, 0, sizeof(zero));
    tok = tj_compact(hdr, c, zero, 64);
    is_int(check(&rules, tok, NULL), LG_TOKEN_BAD_SIGNATURE,
           "attack: ES256 r = s = 0");
    free(tok);

    tok = es(hdr, c);
    p = strrchr(tok, '.') + 1;
    *p = '\0';
    is_int(check(&rules, tok, NULL), LG_TOKEN_BAD_SIGNATURE,
           "attack: stripped signature");
    free(tok);

    /* tampered payload: another partner, signature of the original */
    tok = es(hdr, c);
    {
        char  *c2, *t2, *s1, *s2;

        c2 = claims("client_id", "\"root\"");
        t2 = es(hdr, c2);
        s1 = strrchr(tok, '.');
        s2 = strrchr(t2, '.');
        snprintf(big, sizeof(big), "%.*s%s", (int) (s2 - t2), t2, s1);
        is_int(check(&rules, big, NULL), LG_TOKEN_BAD_SIGNATURE,
               "attack: tampered payload");
        free(c2);
        free(t2);
    }
    free(tok);

    tok = es("{\"alg\":\"ES256\",\"kid\":\"rotated\",\"typ\":\"at+jwt\"}", c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_KEY_UNKNOWN,
           "attack: unknown kid");
    free(tok);

    tok = es("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"at+jwt\","
             "\"crit\":[\"http://evil.example/x\"],"
             "\"http://evil.example/x\":1}", c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_CRIT, "attack: unknown crit");
    free(tok);

    /* keys pointed at by the token, signed with the attacker's key */
    other = tj_keygen("EC", "P-256", 0);
    {
        static const char  *refs[] = {
            "\"jku\":\"https://evil.example/jwks.json\"",
            "\"x5u\":\"https://evil.example/cert.pem\"",
            ("\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\","
             "\"y\":\"AA\"}")
        };

        for (i = 0; i < 3; i++) {
            snprintf(big, sizeof(big), "{\"alg\":\"ES256\",\"kid\":\"ec\","
                     "\"typ\":\"at+jwt\",%s}", refs[i]);
            tok = tj_token(LG_JWS_ES256, other, NULL, 0, big, c);
            is_int(check(&rules, tok, NULL), LG_TOKEN_KEY_REFERENCE,
                   "attack: %.3s header", refs[i] + 1);
            free(tok);
        }
    }
    EVP_PKEY_free(other);

    tok = es(hdr, c);
    memset(big, 'A', sizeof(big));
    memcpy(big, tok, strlen(tok));
    big[LG_JWS_MAX_LEN + 1] = '\0';
    is_int(check(&rules, big, NULL), LG_TOKEN_TOO_LARGE,
           "attack: oversized token");

    snprintf(big, sizeof(big), "%s", tok);
    p = strchr(big, '.');
    memmove(p + 1, p, strlen(p) + 1);
    *p = '=';
    is_int(check(&rules, big, NULL), LG_TOKEN_BAD_ENCODING,
           "attack: padded (non-canonical) base64url");

    snprintf(big, sizeof(big), "%s", tok);
    p = strchr(big, '.');
    p[1] = '+';
    is_int(check(&rules, big, NULL), LG_TOKEN_BAD_ENCODING,
           "attack: base64 (not url) alphabet");

    snprintf(big, sizeof(big), "%s.%s", tok, strrchr(tok, '.') + 1);
    is_int(check(&rules, big, NULL), LG_TOKEN_MALFORMED,
           "attack: extra segment");
    free(tok);

    tok = tj_token(LG_JWS_ES256, ec, NULL, 0, "{alg:ES256}", c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_BAD_HEADER,
           "attack: non-JSON header");
    free(tok);

    tok = es(hdr, "iss=https://idp.example.com");
    is_int(check(&rules, tok, NULL), LG_TOKEN_BAD_PAYLOAD,
           "attack: non-JSON payload");
    free(tok);

    r = rules;
    r.jws.flags = LG_JWS_RAW_PAYLOAD;
    tok = es(hdr, "\"just a string\"");
    is_int(check(&r, tok, NULL), LG_TOKEN_BAD_PAYLOAD,
           "claims need a JSON object whatever the JWS flags");
    free(tok);

    claim_case("exp", "1767225000", LG_TOKEN_EXPIRED, "attack: expired");
    claim_case("nbf", "1767229200", LG_TOKEN_NOT_YET_VALID,
               "attack: not yet valid");
    claim_case("iss", "\"https://idp.example.com.evil.example\"",
               LG_TOKEN_ISSUER, "attack: wrong iss");
    claim_case("aud", "\"logistics-api-staging\"", LG_TOKEN_AUDIENCE,
               "attack: wrong aud");
    claim_case("exp", "1767312000", LG_TOKEN_LIFETIME,
               "attack: lifetime too long");

    tok = es("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}", c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_TYP,
           "attack: ID token (typ JWT) as access token");
    free(tok);

    /* an RSA token is fine too, and the texts leak nothing */
    tok = tj_token(LG_JWS_RS256, rsa, NULL, 0,
                   "{\"alg\":\"RS256\",\"kid\":\"rsa\",\"typ\":\"at+jwt\"}",
                   c);
    is_int(check(&rules, tok, NULL), LG_TOKEN_OK, "RS256 access token");
    free(tok);

    for (i = 1; i < LG_TOKEN_STATUS_COUNT; i++) {
        p = (char *) lg_token_status_text((lg_token_status_e) i);
        if (strlen(p) > 48 || strchr(p, '%') != NULL) {
            break;
        }
    }
    is_int(i, LG_TOKEN_STATUS_COUNT, "reason texts are short and fixed");

    free(c);
}


int
main(void)
{
    char        *jr, *je, text[8192];
    lg_error_t   err;

    rsa = tj_keygen("RSA", NULL, 2048);
    ec = tj_keygen("EC", "P-256", 0);

    jr = tj_jwk(rsa, "rsa", "\"use\":\"sig\",\"alg\":\"RS256\"");
    je = tj_jwk(ec, "ec", "\"use\":\"sig\",\"alg\":\"ES256\"");
    snprintf(text, sizeof(text), "{\"keys\":[%s,%s]}", jr, je);

    keys = lg_jwk_set_parse_buffer("jwks", text, strlen(text), 0, &err);
    if (!ok(keys != NULL, "key set loads")) {
        printf("#   %s\n", err.text);
        return lg_unit_done();
    }

    test_valid();
    test_claims();
    test_fields();
    test_cache_identity();
    test_typ();
    test_attacks();

    lg_jwk_set_free(keys);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    free(jr);
    free(je);

    return lg_unit_done();
}
