
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target for the webhook header parsers.  The first byte picks
 * the scheme (its low two bits) and how the headers are read (bit 2):
 *
 *   clear  "Name: value" lines through lg_webhook_input_parse(), as the
 *          CLI reads a stored request;
 *   set    each line split at its first ':' and offered raw to
 *          lg_webhook_input_header(), as the gateway offers nginx's
 *          headers, so values may hold any byte.
 *
 * The headers end at the first empty line; the body is the rest.  Each
 * scheme has keys only the seeds below were signed with, so a verdict of
 * LG_WEBHOOK_OK for any other body, id or timestamp is a forgery and
 * aborts.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_b64.h"
#include "lg_webhook.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_NOW   1614265330
#define FZ_TS    "1614265330"
#define FZ_ID    "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define FZ_BODY  "{\"test\": 2432232314}"


typedef struct {
    lg_webhook_t  *wh;
    const char    *body;       /* the only body signed for it */
    const char    *ts;         /* NULL: none signed */
    const char    *id;         /* NULL: the id is not signed */
} fz_scheme_t;


static fz_scheme_t  fz_schemes[4];


static lg_webhook_t *
fz_make(lg_webhook_conf_t *conf, const char *s1, const char *s2)
{
    lg_error_t     err;
    lg_webhook_t  *wh;

    wh = lg_webhook_create(conf, &err);

    if (wh == NULL
        || lg_webhook_add_secret(wh, (const unsigned char *) s1, strlen(s1),
                                 &err) != 0
        || (s2 != NULL
            && lg_webhook_add_secret(wh, (const unsigned char *) s2,
                                     strlen(s2), &err) != 0))
    {
        fprintf(stderr, "fuzz_webhook setup: %s\n", err.text);
        abort();
    }

    return wh;
}


static void
fz_init(void)
{
    lg_webhook_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_STANDARD;
    fz_schemes[0].wh = fz_make(&conf,
                               "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                               "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHU"
                               "Ro=");
    fz_schemes[0].body = FZ_BODY;
    fz_schemes[0].ts = FZ_TS;
    fz_schemes[0].id = FZ_ID;

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_STRIPE;
    fz_schemes[1].wh = fz_make(&conf,
                               "whsec_test_secret_for_stripe_style_0123",
                               NULL);
    fz_schemes[1].body = FZ_BODY;
    fz_schemes[1].ts = FZ_TS;

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_GITHUB;
    fz_schemes[2].wh = fz_make(&conf, "It's a Secret to Everybody", NULL);
    fz_schemes[2].body = "Hello, World!";

    memset(&conf, 0, sizeof(conf));
    conf.scheme = LG_WEBHOOK_HMAC;
    conf.signature_header.data = "X-Carrier-Signature";
    conf.signature_header.len = sizeof("X-Carrier-Signature") - 1;
    conf.timestamp_header.data = "X-Carrier-Timestamp";
    conf.timestamp_header.len = sizeof("X-Carrier-Timestamp") - 1;
    conf.prefix.data = "hmac-sha512=";
    conf.prefix.len = sizeof("hmac-sha512=") - 1;
    conf.payload.data = "{timestamp}:{body}";
    conf.payload.len = sizeof("{timestamp}:{body}") - 1;
    conf.digest = LG_WEBHOOK_SHA512;
    conf.encoding = LG_WEBHOOK_BASE64;
    fz_schemes[3].wh = fz_make(&conf, "carrier-secret-0123456789", NULL);
    fz_schemes[3].body = FZ_BODY;
    fz_schemes[3].ts = FZ_TS;
}


/* the headers of the raw mode: "name:value" per line, nothing trimmed */

static void
fz_raw_headers(const lg_webhook_t *wh, lg_webhook_input_t *in,
    const char *text, size_t len)
{
    const char  *p, *end, *eol, *colon;

    p = text;
    end = text + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        colon = memchr(p, ':', eol - p);

        if (colon != NULL) {
            (void) lg_webhook_input_header(wh, in, p, colon - p, colon + 1,
                                           eol - colon - 1);
        }

        p = (eol == end) ? end : eol + 1;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                hlen, blen;
    const char           *text, *sep, *body;
    lg_error_t            err;
    fz_scheme_t          *s;
    lg_webhook_input_t    in;
    lg_webhook_result_t   res;
    lg_webhook_status_e   rc;

    if (fz_schemes[0].wh == NULL) {
        fz_init();
    }

    if (size < 1) {
        return 0;
    }

    s = &fz_schemes[data[0] & 3];
    text = (const char *) data + 1;
    size--;

    hlen = size;
    body = "";
    blen = 0;

    for (sep = text; sep + 1 < text + size; sep++) {
        if (sep[0] == '\n' && sep[1] == '\n') {
            hlen = sep - text + 1;
            body = sep + 2;
            blen = size - hlen - 1;
            break;
        }
    }

    lg_webhook_input_init(&in);

    if (data[0] & 4) {
        fz_raw_headers(s->wh, &in, text, hlen);

    } else if (lg_webhook_input_parse(s->wh, &in, text, hlen, &err) != 0) {
        if (strlen(err.text) == 0) {
            abort();
        }

        return 0;
    }

    rc = lg_webhook_verify(s->wh, &in, (const unsigned char *) body, blen,
                           FZ_NOW, &res);

    if ((unsigned) rc >= LG_WEBHOOK_STATUS_COUNT
        || strnlen(res.reason, sizeof(res.reason)) == sizeof(res.reason))
    {
        abort();
    }

    (void) lg_webhook_status_word(rc);
    (void) lg_webhook_status_problem(rc);

    if (rc != LG_WEBHOOK_OK) {
        return 0;
    }

    /* only what the seeds signed may verify */

    if (blen != strlen(s->body) || memcmp(body, s->body, blen) != 0) {
        fprintf(stderr, "forgery: another body verified\n");
        abort();
    }

    if (s->ts != NULL && res.timestamp != FZ_NOW) {
        fprintf(stderr, "forgery: another timestamp verified\n");
        abort();
    }

    if (s->id != NULL
        && (res.id.len != strlen(s->id)
            || memcmp(res.id.data, s->id, res.id.len) != 0
            || res.key.data != res.id.data))
    {
        fprintf(stderr, "forgery: another id verified\n");
        abort();
    }

    if (res.key.len == 0 || res.key.len > LG_WEBHOOK_MAX_ID + 16) {
        abort();
    }

    return 0;
}
