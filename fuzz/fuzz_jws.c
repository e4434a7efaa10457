
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target for the token path.  The first byte picks the input:
 *
 *   'K'  a JWKS document for the key set parser (shared secrets allowed);
 *   'B'  base64url: a decoded string must encode back to the same bytes;
 *   else a token, verified as a raw JWS and as an access token against a
 *        fixed key set (RSA, EC P-256/384/521, Ed25519) and a shared
 *        secret.  Only tokens signed by those keys (the seeds below) may
 *        verify: anything else that passes is a forgery and aborts.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_b64.h"
#include "lg_jwk.h"
#include "lg_jws.h"
#include "lg_jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* generated once with fresh keys; the private halves were discarded */
static const char  *fz_jwks =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"n\":\"1c7gzPdc4NbPzSH6yYIFzirwOZ3"
    "Ml1Xj2tISgNXOFxEf3FPofl-x7Ql1I8vd0ahRV_mg9KnDtAgCJf8-U2haVtta66v7MvT"
    "HbguVBD6lY4-NlX1vuR1dEeZ8FuYxzm3AgEibaGrubWR9LOcGHAUO7WPEc2rtb1Xnozw"
    "oEL5cZ81fzh-YHgbj2dnwfRsJ6ncWt7G8Uxt71f4DRL6bZz8cOW7iO3vayJlkfzwBvPO"
    "BxyF8dcJ2-4d6MvglVkbKv2Zsy73lusoE5VcqwkkmpNi3Bw4D8EuJN4-moRlrlsejG6L"
    "XgfCRsgTevEt_9n74XePkYNPQONtBEarrHxuZaazokQ\",\"e\":\"AQAB\",\"use\""
    ":\"sig\"},"
    "{\"kty\":\"EC\",\"kid\":\"ec256\",\"crv\":\"P-256\",\"x\":\"35vNKhAT"
    "OKngf0Md_1dQYwO2oHdrfoT-6fRBIs2mSYA\",\"y\":\"B_j-LI9zyfw2z6pxRu1Zzf"
    "Y7acEnnXL_aHgfJGiHN5A\",\"use\":\"sig\"},"
    "{\"kty\":\"EC\",\"kid\":\"ec384\",\"crv\":\"P-384\",\"x\":\"1yhnXgvq"
    "orIFQ841740ezV1PS8Xs4ot9gXE21mQSN-r4BTkQ0f1jDMjvhnGWAO1p\",\"y\":\"t"
    "3unH6R_Fi8aFWCBgK7bYF5tam1jA1PBwQgAw1UuqlKWQNLDVcOSY9ZLS1OPkn7V\",\""
    "use\":\"sig\"},"
    "{\"kty\":\"EC\",\"kid\":\"ec521\",\"crv\":\"P-521\",\"x\":\"AcO2z190"
    "ZQaKspGLkItsxjFwm6V7IgQ641tXJR4dsY3A3nhTVjshe2Sh8aYWT2wLwTlPET-zV89Q"
    "z8gNYv8t8Njf\",\"y\":\"ANs1ckvdgyhEY535NNXpEtgP6C0_ZfsEecEdiZmbOeN--"
    "EYyzoq_f2F9_c0woAl4bMeL_hogeDfPLXI74ndeK5h3\",\"use\":\"sig\"},"
    "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"3f0g_83r"
    "OKV6NMQ79pkx5meCTWpi3h5yoI_GxpSQ8es\",\"use\":\"sig\"}"
    "]}";


static const char  *fz_tokens[] = {
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYSIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJod"
    "HRwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4cCI"
    "6MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaWVud"
    "F9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwiY25"
    "mIjp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV"
    "2xwYVdsbyJ9fQ.hgcW9-xIzns0-InzKwG9i8TLJrRLP5QF4nzwN-RBoinj2K_9OaaGdBCN"
    "fJUNbY69JbHE4yIZd5qDhfNi-TVlC7xsP8VFoZSI6_z8A0HhXXke351ASSoazu1YIxWuxI"
    "VlCZCHe8EwScRr4prHzwBR0yZb3PrVwkcJ1ZvclntYfV1TihHD072BQblds7l3PkXILiHJ"
    "h7sYmVNL8Wsjqxb5ydrh5Ew9Plb8hiCaclepYMAfokbSi3SgKmS9jyLs_EUTI1w9ii9KW2"
    "wLQPqwpKIY-NsOLMNw1Fyl5S2Yxy3yQcY3OWjpyiJmCahNqbcNETFMmFo2tdSlU-rMG4kX"
    "PBsiBQ",
    "eyJhbGciOiJQUzM4NCIsImtpZCI6InJzYSIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJod"
    "HRwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4cCI"
    "6MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaWVud"
    "F9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwiY25"
    "mIjp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV"
    "2xwYVdsbyJ9fQ.fEIizBlK8xJPZJ9DV3zWJIahNpifOJtZa7isRVSWqggmehNuBpWVCW33"
    "29hpeg1TmAWd1IoFTiyrSe3XiZyF_3UO889s6udoN1vL9daONfMfuK7VPl0lEsIVmdo5rU"
    "XndQ0ABPBR2MyZjvOwf7hEyZFs1N0W3N7uXoQRYItQ6sMZxTldWfewgVfaKIr4ju1pA9XY"
    "VJIVloVUervQUOIkZNfXEgaxZaS7dgNOau7J7-3JgXKbujE__9ALg7k97_3VL1FPFDtnl8"
    "ZOoNCBGZndXpPSooETFEO-vJfcuMhNh-vpFldG6o53N_TGaV4Eg8qepxkIZHEKjZ9cHqLw"
    "ff8Vsw",
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMjU2IiwidHlwIjoiYXQrand0In0.eyJpc3MiOi"
    "JodHRwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4"
    "cCI6MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaW"
    "VudF9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwi"
    "Y25mIjp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbH"
    "BhV2xwYVdsbyJ9fQ.AZ0kX-XcjXaRCg899liEjJQFQwuZa93BUpGr5Ln8F8_TYfrfU5mP7"
    "eADvSjCvlvOEbGTVT9czfFvjick1l0ppQ",
    "eyJhbGciOiJFUzM4NCIsImtpZCI6ImVjMzg0IiwidHlwIjoiYXQrand0In0.eyJpc3MiOi"
    "JodHRwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4"
    "cCI6MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaW"
    "VudF9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwi"
    "Y25mIjp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbH"
    "BhV2xwYVdsbyJ9fQ.5oC38ZlBFkeOVontaL7AkTsEAs8Tbl2dUCnQLVyDGMtXMMFvsFLL8"
    "vB5hPHUmNfSOKoP3r9-1kJnyLpxlT39xx5QPpUZmiblvy_gUBv07wbC5wBTTKvoy7xg2yh"
    "Kvbpy",
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImVjNTIxIiwidHlwIjoiYXQrand0In0.eyJpc3MiOi"
    "JodHRwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4"
    "cCI6MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaW"
    "VudF9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwi"
    "Y25mIjp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbH"
    "BhV2xwYVdsbyJ9fQ.AWYHasbx1dtRKfhPM-1yqw8qA8blDox4izyiKdWnoHi8lmX_-n5Kb"
    "C2DjhhKEhd6k8PBMdRglpV_03fPG1SkZSEzABh435fYtcEDTDoNi4o6G8_-uz7G-bQ5TyS"
    "X11Eqoy336rhMHE8o6Fmy5kkT7nZFrhIo4YRJR7tOwbBl-Jnj4Er_",
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodH"
    "RwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4cCI6"
    "MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaWVudF"
    "9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwiY25m"
    "Ijp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2"
    "xwYVdsbyJ9fQ.xkVMvHXSLCljJ-XEqc8ZuYrVG91CvpopB4nEvMlQUnZMTytoM3aZOjCTY"
    "xCMLVDJhmHLq98w4-pEih6dpESmCg",
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodH"
    "RwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4cCI6"
    "MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaWVudF"
    "9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwiY25m"
    "Ijp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2"
    "xwYVdsbyJ9fQ.F4XwVSfvGxwR5InxmDA6VYlGHqlXwbCtNkMmegLe5Xs",
    "eyJhbGciOiJIUzUxMiIsImtpZCI6ImhzIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodH"
    "RwczovL2lkcC5leGFtcGxlLmNvbSIsImF1ZCI6WyJsb2dpc3RpY3MtYXBpIl0sImV4cCI6"
    "MTc2NzIyNjIwMCwiaWF0IjoxNzY3MjI1NTQwLCJuYmYiOjE3NjcyMjU1NDAsImNsaWVudF"
    "9pZCI6ImFjbWUiLCJzdWIiOiJzdmMiLCJqdGkiOiJqMSIsInNjb3BlIjoiYSBiIiwiY25m"
    "Ijp7Ing1dCNTMjU2IjoiV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2xwYVdscGFXbHBhV2"
    "xwYVdsbyJ9fQ.pT7gIa6svDtGResS2UYRJ2AikzsjhhgFgeChmS9HST453T4XRky5Fkv2t"
    "xlzfXzVFgLqWml8lNPMX46RTr9i5w",
    NULL
};


static const unsigned char  fz_secret[] =
    "fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-0123";

static const char  *fz_audiences[] = { "logistics-api" };

static lg_jwt_rules_t  fz_rules = {
    { 0, LG_JWS_ALGS_ALL, 0 },
    "https://idp.example.com",
    fz_audiences, 1,
    30, 0, "at+jwt", NULL, NULL
};

static lg_jwk_set_t  *fz_keys;
static lg_jwk_set_t  *fz_hmac;


static void
fz_init(void)
{
    lg_error_t  err;

    fz_keys = lg_jwk_set_parse_buffer("fuzz", fz_jwks, strlen(fz_jwks), 0,
                                      &err);
    fz_hmac = lg_jwk_set_new();

    if (fz_keys == NULL || fz_keys->nkeys != 5 || fz_hmac == NULL
        || lg_jwk_set_add_secret(fz_hmac, "hs", 2, LG_JWS_ALG_UNSET,
                                 fz_secret, 64, &err) != 0)
    {
        fprintf(stderr, "fuzz key set: %s\n", err.text);
        abort();
    }
}


static int
fz_is_seed(const char *token, size_t len)
{
    size_t  i;

    for (i = 0; fz_tokens[i] != NULL; i++) {
        if (strlen(fz_tokens[i]) == len
            && memcmp(fz_tokens[i], token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
fz_token(const char *token, size_t len)
{
    int                i;
    lg_jws_t           jws;
    lg_jwt_t           jwt;
    lg_jws_opts_t      opts;
    lg_jwk_set_t      *set;
    lg_token_status_e  rc;

    for (i = 0; i < 2; i++) {
        set = i ? fz_hmac : fz_keys;

        opts.max_len = 0;
        opts.algs = LG_JWS_ALGS_ALL;
        opts.flags = LG_JWS_RAW_PAYLOAD;

        rc = lg_jws_verify(&opts, set, token, len, &jws);

        if (rc == LG_TOKEN_OK) {
            if (!fz_is_seed(token, len) || jws.key == NULL) {
                abort();
            }

            lg_jws_free(&jws);
        }

        /* any time: the seeds expire, claims are still parsed */
        rc = lg_jwt_verify(&fz_rules, set, token, len, 1767225600, &jwt);

        if (rc == LG_TOKEN_OK) {
            if (!fz_is_seed(token, len) || jwt.partner.len == 0
                || jwt.nscopes > LG_JWT_SCOPES_MAX)
            {
                abort();
            }

            (void) lg_jwt_has_scope(&jwt, "a", 1);
            (void) lg_jwt_cnf_match(&jwt, NULL);
            lg_jwt_free(&jwt);
        }

        if (lg_token_status_text(rc) == NULL) {
            abort();
        }
    }
}


static void
fz_jwks_doc(const char *text, size_t len)
{
    size_t             i;
    lg_error_t         err;
    lg_jwk_set_t      *set;
    const lg_jwk_t    *key;
    lg_token_status_e  rc;
    lg_jws_t           jws;
    lg_jws_opts_t      opts;

    err.text[0] = '\0';

    set = lg_jwk_set_parse_buffer("fuzz", text, len, LG_JWK_ALLOW_OCT, &err);

    if (set == NULL) {
        if (err.text[0] == '\0') {
            abort();
        }

        return;
    }

    for (i = 0; i < set->nkeys; i++) {
        key = NULL;
        (void) lg_jwk_set_find(set, set->keys[i].kid, set->keys[i].kid_len,
                               set->keys[i].alg ? set->keys[i].alg
                                                : LG_JWS_ES256, &key);
    }

    opts.max_len = 0;
    opts.algs = LG_JWS_ALGS_ALL;
    opts.flags = LG_JWS_RAW_PAYLOAD;

    for (i = 0; fz_tokens[i] != NULL; i++) {
        rc = lg_jws_verify(&opts, set, fz_tokens[i], strlen(fz_tokens[i]),
                           &jws);
        if (rc == LG_TOKEN_OK) {
            lg_jws_free(&jws);
        }
    }

    lg_jwk_set_free(set);
}


static void
fz_b64(const char *text, size_t len)
{
    char           *enc;
    size_t          n, m;
    unsigned char  *dec;

    dec = malloc(lg_b64url_decoded_max(len));
    if (dec == NULL) {
        return;
    }

    if (lg_b64url_decode(text, len, dec, &n) == 0) {
        enc = malloc(lg_b64url_encoded_len(n) + 1);

        if (enc != NULL) {
            m = lg_b64url_encode(dec, n, enc);

            /* one encoding per byte string: decoding is canonical */
            if (m != len || memcmp(enc, text, len) != 0) {
                abort();
            }

            free(enc);
        }

    } else if (len % 4 != 1 && lg_b64url_valid_chars(text, len)) {
        /* only spare bits can then be wrong: the last char's */
        if (len % 4 == 0) {
            abort();
        }
    }

    free(dec);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_keys == NULL) {
        fz_init();
    }

    if (size == 0) {
        return 0;
    }

    switch (data[0]) {

    case 'K':
        fz_jwks_doc((const char *) data + 1, size - 1);
        break;

    case 'B':
        fz_b64((const char *) data + 1, size - 1);
        break;

    default:
        fz_token((const char *) data + 1, size - 1);
        break;
    }

    return 0;
}
