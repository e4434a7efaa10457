
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Compiling a webhook scheme (what the policy compiler and the CLI call
 * once), collecting a request's scheme headers, the words of the
 * verdicts, and webhook ids.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "lg_b64.h"
#include "lg_webhook_int.h"


typedef struct {
    const char             *name;
    lg_webhook_part_e       type;
} lg_webhook_placeholder_t;


static int lg_webhook_keep(lg_webhook_t *wh, lg_str_t *dst, const char *s,
    size_t len);
static int lg_webhook_token(const char *s, size_t len);
static int lg_webhook_set_header(lg_webhook_t *wh, lg_webhook_header_e role,
    const lg_str_t *name, const char *what, lg_error_t *err);
static int lg_webhook_compile_payload(lg_webhook_t *wh, const lg_str_t *text,
    lg_error_t *err);
static int lg_webhook_add_part(lg_webhook_t *wh, lg_webhook_part_e type,
    const char *text, size_t len, lg_error_t *err);
static int lg_webhook_conf_scheme(lg_webhook_t *wh,
    const lg_webhook_conf_t *conf, lg_error_t *err);


static const char  *lg_webhook_scheme_names[LG_WEBHOOK_SCHEME_COUNT] = {
    "standard", "stripe", "github", "hmac"
};


static const char  *lg_webhook_words[LG_WEBHOOK_STATUS_COUNT] = {
    "ok",
    "webhook-signature-missing",
    "webhook-timestamp-missing",
    "webhook-id-missing",
    "webhook-header-duplicate",
    "webhook-header-too-long",
    "webhook-signature-malformed",
    "webhook-timestamp-malformed",
    "webhook-id-malformed",
    "webhook-too-many-signatures",
    "webhook-signature-unsupported",
    "webhook-signature-invalid",
    "webhook-timestamp-too-old",
    "webhook-timestamp-in-future",
    "webhook-internal-error"
};


static const lg_webhook_placeholder_t  lg_webhook_placeholders[] = {
    { "{id}", LG_WEBHOOK_PART_ID },
    { "{timestamp}", LG_WEBHOOK_PART_TIMESTAMP },
    { "{body}", LG_WEBHOOK_PART_BODY },
    { NULL, LG_WEBHOOK_PART_LITERAL }
};


int
lg_webhook_error(lg_error_t *err, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, args);
    va_end(args);

    return -1;
}


/* copies a string into the scheme's own storage */

static int
lg_webhook_keep(lg_webhook_t *wh, lg_str_t *dst, const char *s, size_t len)
{
    if (len > sizeof(wh->strings) - wh->used) {
        return -1;
    }

    if (len > 0) {
        memcpy(wh->strings + wh->used, s, len);
    }

    dst->data = wh->strings + wh->used;
    dst->len = len;
    wh->used += len;

    return 0;
}


/* an HTTP field name (RFC 9110 token) */

static int
lg_webhook_token(const char *s, size_t len)
{
    size_t  i;
    int     c;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (strchr("!#$%&'*+-.^_`|~", c) == NULL || c == '\0') {
            return 0;
        }
    }

    return 1;
}


static int
lg_webhook_set_header(lg_webhook_t *wh, lg_webhook_header_e role,
    const lg_str_t *name, const char *what, lg_error_t *err)
{
    if (name->len > LG_WEBHOOK_MAX_NAME
        || !lg_webhook_token(name->data, name->len))
    {
        return lg_webhook_error(err, "\"%s\" must be an HTTP header name of "
                                "1 to %d characters", what,
                                LG_WEBHOOK_MAX_NAME);
    }

    if (lg_webhook_keep(wh, &wh->header[role], name->data, name->len) != 0) {
        return lg_webhook_error(err, "header names too long");
    }

    return 0;
}


static int
lg_webhook_add_part(lg_webhook_t *wh, lg_webhook_part_e type,
    const char *text, size_t len, lg_error_t *err)
{
    lg_webhook_part_t  *part;

    if (wh->nparts == LG_WEBHOOK_MAX_PARTS) {
        return lg_webhook_error(err, "\"payload\" has more than %d parts",
                                LG_WEBHOOK_MAX_PARTS);
    }

    part = &wh->parts[wh->nparts++];
    part->type = type;
    part->text.data = NULL;
    part->text.len = 0;

    if (type == LG_WEBHOOK_PART_LITERAL
        && lg_webhook_keep(wh, &part->text, text, len) != 0)
    {
        return lg_webhook_error(err, "\"payload\" is too long");
    }

    return 0;
}


/*
 * "{timestamp}.{body}": literal printable text and the placeholders
 * {id}, {timestamp} and {body}, the body exactly once.
 */

static int
lg_webhook_compile_payload(lg_webhook_t *wh, const lg_str_t *text,
    lg_error_t *err)
{
    int                              c;
    size_t                           i, start, n, nbody;
    const lg_webhook_placeholder_t  *ph;

    if (text->len > LG_WEBHOOK_MAX_PAYLOAD) {
        return lg_webhook_error(err, "\"payload\" is longer than %d "
                                "characters", LG_WEBHOOK_MAX_PAYLOAD);
    }

    nbody = 0;
    start = 0;
    i = 0;

    while (i <= text->len) {
        if (i < text->len && text->data[i] != '{') {
            c = (unsigned char) text->data[i];

            if (c < 0x20 || c > 0x7e || c == '}') {
                return lg_webhook_error(err, "\"payload\" may hold printable "
                                        "text and {id}, {timestamp}, {body} "
                                        "only");
            }

            i++;
            continue;
        }

        if (i > start
            && lg_webhook_add_part(wh, LG_WEBHOOK_PART_LITERAL,
                                   text->data + start, i - start, err)
               != 0)
        {
            return -1;
        }

        if (i == text->len) {
            break;
        }

        for (ph = lg_webhook_placeholders; ph->name != NULL; ph++) {
            n = strlen(ph->name);

            if (text->len - i >= n
                && memcmp(text->data + i, ph->name, n) == 0)
            {
                break;
            }
        }

        if (ph->name == NULL) {
            return lg_webhook_error(err, "\"payload\": unknown placeholder; "
                                    "use {id}, {timestamp} or {body}");
        }

        if (lg_webhook_add_part(wh, ph->type, NULL, 0, err) != 0) {
            return -1;
        }

        nbody += (ph->type == LG_WEBHOOK_PART_BODY);
        i += strlen(ph->name);
        start = i;
    }

    if (nbody != 1) {
        return lg_webhook_error(err, "\"payload\" must contain {body} exactly "
                                "once");
    }

    return 0;
}


static int
lg_webhook_conf_scheme(lg_webhook_t *wh, const lg_webhook_conf_t *conf,
    lg_error_t *err)
{
    size_t    i;
    int       has_id, has_ts;
    lg_str_t  name, text;

    if (conf->scheme != LG_WEBHOOK_HMAC
        && (conf->signature_header.len || conf->timestamp_header.len
            || conf->prefix.len || conf->payload.len))
    {
        return lg_webhook_error(err, "\"signature_header\", "
                                "\"timestamp_header\", \"prefix\" and "
                                "\"payload\" belong to the hmac scheme");
    }

    switch (conf->scheme) {

    case LG_WEBHOOK_STANDARD:
        if (conf->id_header.len) {
            return lg_webhook_error(err, "the standard scheme's id is always "
                                    "webhook-id");
        }

        name.data = "webhook-signature";
        name.len = sizeof("webhook-signature") - 1;
        (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_SIGNATURE, &name, "",
                                     err);
        name.data = "webhook-timestamp";
        name.len = sizeof("webhook-timestamp") - 1;
        (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_TIMESTAMP, &name, "",
                                     err);
        name.data = "webhook-id";
        name.len = sizeof("webhook-id") - 1;
        (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_ID, &name, "", err);

        wh->list = LG_WEBHOOK_LIST_STANDARD;
        wh->encoding = LG_WEBHOOK_BASE64;
        text.data = "{id}.{timestamp}.{body}";
        text.len = sizeof("{id}.{timestamp}.{body}") - 1;
        break;

    case LG_WEBHOOK_STRIPE:
        name.data = "Stripe-Signature";
        name.len = sizeof("Stripe-Signature") - 1;
        (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_SIGNATURE, &name, "",
                                     err);

        wh->list = LG_WEBHOOK_LIST_STRIPE;
        text.data = "{timestamp}.{body}";
        text.len = sizeof("{timestamp}.{body}") - 1;
        break;

    case LG_WEBHOOK_GITHUB:
        name.data = "X-Hub-Signature-256";
        name.len = sizeof("X-Hub-Signature-256") - 1;
        (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_SIGNATURE, &name, "",
                                     err);

        if (conf->id_header.len == 0) {
            name.data = "X-GitHub-Delivery";
            name.len = sizeof("X-GitHub-Delivery") - 1;
            (void) lg_webhook_set_header(wh, LG_WEBHOOK_H_ID, &name, "", err);
        }

        (void) lg_webhook_keep(wh, &wh->prefix, "sha256=", 7);
        wh->list = LG_WEBHOOK_LIST_SINGLE;
        text.data = "{body}";
        text.len = sizeof("{body}") - 1;
        break;

    case LG_WEBHOOK_HMAC:
        if (conf->signature_header.len == 0) {
            return lg_webhook_error(err, "the hmac scheme needs "
                                    "\"signature_header\"");
        }

        if (lg_webhook_set_header(wh, LG_WEBHOOK_H_SIGNATURE,
                                  &conf->signature_header,
                                  "signature_header", err)
            != 0)
        {
            return -1;
        }

        if (conf->timestamp_header.len
            && lg_webhook_set_header(wh, LG_WEBHOOK_H_TIMESTAMP,
                                     &conf->timestamp_header,
                                     "timestamp_header", err)
               != 0)
        {
            return -1;
        }

        if (conf->prefix.len > LG_WEBHOOK_MAX_PREFIX) {
            return lg_webhook_error(err, "\"prefix\" is longer than %d "
                                    "characters", LG_WEBHOOK_MAX_PREFIX);
        }

        for (i = 0; i < conf->prefix.len; i++) {
            if (conf->prefix.data[i] <= 0x20 || conf->prefix.data[i] > 0x7e) {
                return lg_webhook_error(err, "\"prefix\" must be visible "
                                        "ASCII without spaces");
            }
        }

        (void) lg_webhook_keep(wh, &wh->prefix, conf->prefix.data,
                               conf->prefix.len);

        if (conf->digest != LG_WEBHOOK_SHA256
            && conf->digest != LG_WEBHOOK_SHA512)
        {
            return lg_webhook_error(err, "\"digest\" is sha256 or sha512");
        }

        if (conf->encoding != LG_WEBHOOK_HEX
            && conf->encoding != LG_WEBHOOK_BASE64)
        {
            return lg_webhook_error(err, "\"encoding\" is hex or base64");
        }

        wh->digest = conf->digest;
        wh->encoding = conf->encoding;
        wh->list = LG_WEBHOOK_LIST_SINGLE;

        if (conf->payload.len) {
            text = conf->payload;

        } else {
            text.data = "{body}";
            text.len = sizeof("{body}") - 1;
        }

        break;

    default:
        return lg_webhook_error(err, "unknown scheme");
    }

    if (conf->id_header.len
        && lg_webhook_set_header(wh, LG_WEBHOOK_H_ID, &conf->id_header,
                                 "id_header", err)
           != 0)
    {
        return -1;
    }

    if (lg_webhook_compile_payload(wh, &text, err) != 0) {
        return -1;
    }

    has_id = 0;
    has_ts = 0;

    for (i = 0; i < wh->nparts; i++) {
        has_id |= (wh->parts[i].type == LG_WEBHOOK_PART_ID);
        has_ts |= (wh->parts[i].type == LG_WEBHOOK_PART_TIMESTAMP);
    }

    if (has_id && wh->header[LG_WEBHOOK_H_ID].len == 0) {
        return lg_webhook_error(err, "\"payload\" signs {id}: it needs "
                                "\"id_header\"");
    }

    if (has_ts && conf->scheme == LG_WEBHOOK_HMAC
        && wh->header[LG_WEBHOOK_H_TIMESTAMP].len == 0)
    {
        return lg_webhook_error(err, "\"payload\" signs {timestamp}: it "
                                "needs \"timestamp_header\"");
    }

    /* a timestamp nobody signed would be checked for nothing */

    if (!has_ts && wh->header[LG_WEBHOOK_H_TIMESTAMP].len) {
        return lg_webhook_error(err, "\"timestamp_header\" needs {timestamp} "
                                "in \"payload\", or anyone could change it");
    }

    wh->id_signed = has_id;

    if (has_ts) {
        if (conf->tolerance == 0) {
            wh->tolerance = LG_WEBHOOK_TOLERANCE;

        } else if (conf->tolerance < 1
                   || conf->tolerance > LG_WEBHOOK_MAX_TOLERANCE)
        {
            return lg_webhook_error(err, "\"tolerance\" must be 1s to %ds",
                                    LG_WEBHOOK_MAX_TOLERANCE);

        } else {
            wh->tolerance = conf->tolerance;
        }

    } else if (conf->tolerance != 0) {
        return lg_webhook_error(err, "\"tolerance\" needs a signed timestamp, "
                                "which the %s scheme has not",
                                lg_webhook_scheme_names[conf->scheme]);
    }

    wh->mac_len = (wh->digest == LG_WEBHOOK_SHA512) ? 64 : 32;

    return 0;
}


lg_webhook_t *
lg_webhook_create(const lg_webhook_conf_t *conf, lg_error_t *err)
{
    lg_webhook_t  *wh;

    if ((unsigned) conf->scheme >= LG_WEBHOOK_SCHEME_COUNT) {
        lg_webhook_error(err, "unknown scheme");
        return NULL;
    }

    if (conf->purpose != LG_WEBHOOK_VERIFY
        && conf->purpose != LG_WEBHOOK_SIGN)
    {
        lg_webhook_error(err, "unknown purpose");
        return NULL;
    }

    wh = calloc(1, sizeof(lg_webhook_t));
    if (wh == NULL) {
        lg_webhook_error(err, "out of memory");
        return NULL;
    }

    wh->scheme = conf->scheme;
    wh->purpose = conf->purpose;
    wh->digest = LG_WEBHOOK_SHA256;
    wh->encoding = LG_WEBHOOK_HEX;

    if (lg_webhook_conf_scheme(wh, conf, err) != 0) {
        free(wh);
        return NULL;
    }

    return wh;
}


void
lg_webhook_free(lg_webhook_t *wh)
{
    size_t  i;

    if (wh == NULL) {
        return;
    }

    for (i = 0; i < wh->nkeys; i++) {
        lg_webhook_key_free(&wh->keys[i]);
    }

    OPENSSL_cleanse(wh, sizeof(lg_webhook_t));
    free(wh);
}


void
lg_webhook_cleanup(void *data)
{
    lg_webhook_free(data);
}


lg_str_t
lg_webhook_header_name(const lg_webhook_t *wh, lg_webhook_header_e role)
{
    lg_str_t  none = { NULL, 0 };

    if ((unsigned) role >= LG_WEBHOOK_NHEADERS) {
        return none;
    }

    return wh->header[role];
}


lg_webhook_scheme_e
lg_webhook_scheme(const lg_webhook_t *wh)
{
    return wh->scheme;
}


int64_t
lg_webhook_tolerance(const lg_webhook_t *wh)
{
    return wh->tolerance;
}


const char *
lg_webhook_scheme_name(lg_webhook_scheme_e scheme)
{
    if ((unsigned) scheme >= LG_WEBHOOK_SCHEME_COUNT) {
        return "unknown";
    }

    return lg_webhook_scheme_names[scheme];
}


int
lg_webhook_scheme_parse(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < LG_WEBHOOK_SCHEME_COUNT; i++) {
        if (strlen(lg_webhook_scheme_names[i]) == len
            && memcmp(lg_webhook_scheme_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
lg_webhook_status_word(lg_webhook_status_e status)
{
    if ((unsigned) status >= LG_WEBHOOK_STATUS_COUNT) {
        return "webhook-internal-error";
    }

    return lg_webhook_words[status];
}


lg_webhook_problem_e
lg_webhook_status_problem(lg_webhook_status_e status)
{
    switch (status) {

    case LG_WEBHOOK_OK:
        return LG_WEBHOOK_PROBLEM_NONE;

    case LG_WEBHOOK_MISSING_TIMESTAMP:
    case LG_WEBHOOK_MALFORMED_TIMESTAMP:
    case LG_WEBHOOK_TIMESTAMP_TOO_OLD:
    case LG_WEBHOOK_TIMESTAMP_IN_FUTURE:
        return LG_WEBHOOK_PROBLEM_TIMESTAMP;

    case LG_WEBHOOK_INTERNAL:
        return LG_WEBHOOK_PROBLEM_INTERNAL;

    default:
        return LG_WEBHOOK_PROBLEM_SIGNATURE;
    }
}


void
lg_webhook_input_init(lg_webhook_input_t *in)
{
    memset(in, 0, sizeof(lg_webhook_input_t));
}


int
lg_webhook_input_header(const lg_webhook_t *wh, lg_webhook_input_t *in,
    const char *name, size_t name_len, const char *value, size_t value_len)
{
    int  i;

    for (i = 0; i < LG_WEBHOOK_NHEADERS; i++) {
        if (wh->header[i].len != name_len
            || strncasecmp(wh->header[i].data, name, name_len) != 0)
        {
            continue;
        }

        if (in->present & (1u << i)) {
            in->duplicate |= 1u << i;
            return i;
        }

        in->present |= 1u << i;
        in->value[i].data = value;
        in->value[i].len = value_len;

        return i;
    }

    return -1;
}


int
lg_webhook_input_parse(const lg_webhook_t *wh, lg_webhook_input_t *in,
    const char *text, size_t len, lg_error_t *err)
{
    size_t       line, n, name_len;
    const char  *p, *end, *eol, *colon, *v, *ve;

    p = text;
    end = text + len;

    for (line = 1; p < end; line++) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        n = eol - p;

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        /* an empty line ends the headers, as in a request */
        if (n == 0) {
            break;
        }

        colon = memchr(p, ':', n);

        /* "POST /hooks/carrier HTTP/1.1" first: a stored request */

        if (line == 1 && n > 9 && p[0] >= 'A' && p[0] <= 'Z'
            && memchr(p, ' ', n) != NULL
            && (colon == NULL || colon > (const char *) memchr(p, ' ', n))
            && (memcmp(p + n - 9, " HTTP/1.1", 9) == 0
                || memcmp(p + n - 9, " HTTP/1.0", 9) == 0))
        {
            p = (eol == end) ? end : eol + 1;
            continue;
        }

        if (p[0] == ' ' || p[0] == '\t') {
            return lg_webhook_error(err, "line %zu: folded header lines are "
                                    "not accepted", line);
        }

        if (colon == NULL) {
            return lg_webhook_error(err, "line %zu: not \"Name: value\"",
                                    line);
        }

        name_len = colon - p;

        if (!lg_webhook_token(p, name_len)) {
            return lg_webhook_error(err, "line %zu: not a header name", line);
        }

        v = colon + 1;
        ve = p + n;

        while (v < ve && (*v == ' ' || *v == '\t')) {
            v++;
        }

        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        (void) lg_webhook_input_header(wh, in, p, name_len, v, ve - v);

        p = (eol == end) ? end : eol + 1;
    }

    return 0;
}


int
lg_webhook_id_valid(lg_webhook_scheme_e scheme, const char *id, size_t len)
{
    size_t  i;
    int     c;

    if (len == 0 || len > LG_WEBHOOK_MAX_ID) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) id[i];

        if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\') {
            return 0;
        }

        /*
         * Standard Webhooks signs "id.timestamp.body": with no "." in the
         * id and digits only in the timestamp, one signed text has one
         * reading, so no other id, timestamp and body share its signature
         */

        if (c == '.' && scheme == LG_WEBHOOK_STANDARD) {
            return 0;
        }
    }

    return 1;
}


int
lg_webhook_generate_id(char *buf, size_t size)
{
    unsigned char  raw[16];

    if (size < LG_WEBHOOK_GENERATED_ID_LEN + 1
        || RAND_bytes(raw, sizeof(raw)) != 1)
    {
        ERR_clear_error();
        return -1;
    }

    memcpy(buf, "msg_", 4);
    buf[4 + lg_b64url_encode(raw, sizeof(raw), buf + 4)] = '\0';

    return 0;
}
