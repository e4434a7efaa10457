
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "logistics-policy webhook-sign | webhook-verify | webhook-keygen": the
 * security team's tools for onboarding a partner that sends or receives
 * signed webhooks.  They use the core the gateway uses (lg_webhook), so a
 * header printed by webhook-sign is what a partner must send, and
 * webhook-verify gives the verdict the gateway would give.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "logistics_cli.h"
#include "lg_webhook.h"


/* a webhook body, a stored request's headers: far below this */
#define LG_CLI_WEBHOOK_MAX_FILE  (64 * 1024 * 1024)


typedef struct {
    lg_webhook_conf_t   conf;
    const char         *secret_files[LG_WEBHOOK_MAX_SECRETS];
    int                 nsecret_files;
    const char         *id;
    const char         *headers;
    const char         *body;
    const char         *public_file;
    int64_t             timestamp;     /* -1: now */
    int64_t             now;           /* -1: now */
    unsigned            ed25519:1;
} lg_cli_webhook_opts_t;


static int lg_cli_webhook_options(int argc, char **argv,
    lg_cli_webhook_opts_t *o, const char *allowed);
static int lg_cli_webhook_seconds(const char *what, const char *s,
    int64_t *v);
static lg_webhook_t *lg_cli_webhook_compile(lg_cli_webhook_opts_t *o,
    lg_webhook_purpose_e purpose);
static char *lg_cli_webhook_read(const char *file, size_t *len);
static int lg_cli_webhook_uuid(char *buf, size_t size);
static int lg_cli_webhook_write_key(const char *path, const char *key);


static int
lg_cli_webhook_seconds(const char *what, const char *s, int64_t *v)
{
    size_t  i, n;

    n = strlen(s);

    if (n == 0 || n > LG_WEBHOOK_MAX_TS_DIGITS) {
        fprintf(stderr, "%s: unix seconds, 1 to %d digits\n", what,
                LG_WEBHOOK_MAX_TS_DIGITS);
        return -1;
    }

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            fprintf(stderr, "%s: unix seconds, digits only\n", what);
            return -1;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return 0;
}


/*
 * The options of the three commands; "allowed" lists the letters of the
 * groups a command takes: s(ign), v(erify), k(eygen), h(mac scheme).
 */

static int
lg_cli_webhook_options(int argc, char **argv, lg_cli_webhook_opts_t *o,
    const char *allowed)
{
    int          i, scheme;
    char        *end;
    long         tol;
    const char  *a, *v;

    memset(o, 0, sizeof(lg_cli_webhook_opts_t));
    o->conf.scheme = LG_WEBHOOK_STANDARD;
    o->timestamp = -1;
    o->now = -1;

#define lg_cli_str(dst)  (dst).data = v; (dst).len = strlen(v)

    for (i = 0; i < argc; i++) {
        a = argv[i];
        v = (i + 1 < argc) ? argv[i + 1] : NULL;

        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->body != NULL) {
                fprintf(stderr, "one body file only\n");
                return 2;
            }

            o->body = a;
            continue;
        }

        if (strcmp(a, "--ed25519") == 0 && strchr(allowed, 'k')) {
            o->ed25519 = 1;
            continue;
        }

        if (v == NULL) {
            fprintf(stderr, "%s needs a value\n", a);
            return 2;
        }

        i++;

        if (strcmp(a, "--scheme") == 0 && strchr(allowed, 'h')) {
            scheme = lg_webhook_scheme_parse(v, strlen(v));

            if (scheme < 0) {
                fprintf(stderr, "--scheme is standard, stripe, github or "
                        "hmac\n");
                return 2;
            }

            o->conf.scheme = (lg_webhook_scheme_e) scheme;

        } else if (strcmp(a, "--secret-file") == 0) {
            if (o->nsecret_files == LG_WEBHOOK_MAX_SECRETS) {
                fprintf(stderr, "at most %d --secret-file\n",
                        LG_WEBHOOK_MAX_SECRETS);
                return 2;
            }

            o->secret_files[o->nsecret_files++] = v;

        } else if (strcmp(a, "--public-file") == 0 && strchr(allowed, 'k')) {
            o->public_file = v;

        } else if (strcmp(a, "--id") == 0 && strchr(allowed, 's')) {
            o->id = v;

        } else if (strcmp(a, "--timestamp") == 0 && strchr(allowed, 's')) {
            if (lg_cli_webhook_seconds("--timestamp", v, &o->timestamp)
                != 0)
            {
                return 2;
            }

        } else if (strcmp(a, "--headers") == 0 && strchr(allowed, 'v')) {
            o->headers = v;

        } else if (strcmp(a, "--now") == 0 && strchr(allowed, 'v')) {
            if (lg_cli_webhook_seconds("--now", v, &o->now) != 0) {
                return 2;
            }

        } else if (strcmp(a, "--tolerance") == 0 && strchr(allowed, 'h')) {
            tol = strtol(v, &end, 10);

            if (*end != '\0' || tol < 1 || tol > LG_WEBHOOK_MAX_TOLERANCE) {
                fprintf(stderr, "--tolerance: 1 to %d seconds\n",
                        LG_WEBHOOK_MAX_TOLERANCE);
                return 2;
            }

            o->conf.tolerance = tol;

        } else if (strcmp(a, "--id-header") == 0 && strchr(allowed, 'h')) {
            lg_cli_str(o->conf.id_header);

        } else if (strcmp(a, "--signature-header") == 0
                   && strchr(allowed, 'h'))
        {
            lg_cli_str(o->conf.signature_header);

        } else if (strcmp(a, "--timestamp-header") == 0
                   && strchr(allowed, 'h'))
        {
            lg_cli_str(o->conf.timestamp_header);

        } else if (strcmp(a, "--prefix") == 0 && strchr(allowed, 'h')) {
            lg_cli_str(o->conf.prefix);

        } else if (strcmp(a, "--payload") == 0 && strchr(allowed, 'h')) {
            lg_cli_str(o->conf.payload);

        } else if (strcmp(a, "--digest") == 0 && strchr(allowed, 'h')) {
            if (strcmp(v, "sha256") == 0) {
                o->conf.digest = LG_WEBHOOK_SHA256;

            } else if (strcmp(v, "sha512") == 0) {
                o->conf.digest = LG_WEBHOOK_SHA512;

            } else {
                fprintf(stderr, "--digest is sha256 or sha512\n");
                return 2;
            }

        } else if (strcmp(a, "--encoding") == 0 && strchr(allowed, 'h')) {
            if (strcmp(v, "hex") == 0) {
                o->conf.encoding = LG_WEBHOOK_HEX;

            } else if (strcmp(v, "base64") == 0) {
                o->conf.encoding = LG_WEBHOOK_BASE64;

            } else {
                fprintf(stderr, "--encoding is hex or base64\n");
                return 2;
            }

        } else {
            fprintf(stderr, "unknown option %s (logistics-policy --help)\n",
                    a);
            return 2;
        }
    }

#undef lg_cli_str

    if (o->nsecret_files == 0) {
        fprintf(stderr, "--secret-file is required\n");
        return 2;
    }

    return 0;
}


static lg_webhook_t *
lg_cli_webhook_compile(lg_cli_webhook_opts_t *o, lg_webhook_purpose_e purpose)
{
    int            i;
    lg_error_t     err;
    lg_webhook_t  *wh;

    o->conf.purpose = purpose;

    wh = lg_webhook_create(&o->conf, &err);
    if (wh == NULL) {
        fprintf(stderr, "%s\n", err.text);
        return NULL;
    }

    for (i = 0; i < o->nsecret_files; i++) {
        if (lg_webhook_add_secret_file(wh, o->secret_files[i], &err) != 0) {
            fprintf(stderr, "%s\n", err.text);
            lg_webhook_free(wh);
            return NULL;
        }
    }

    return wh;
}


/* a whole file, or standard input for "-" */

static char *
lg_cli_webhook_read(const char *file, size_t *len)
{
    FILE    *f;
    char    *buf, *p;
    size_t   n, size;

    f = (strcmp(file, "-") == 0) ? stdin : fopen(file, "rb");
    if (f == NULL) {
        return NULL;
    }

    size = 65536;
    n = 0;
    buf = malloc(size);

    while (buf != NULL) {
        n += fread(buf + n, 1, size - n, f);

        if (n < size) {
            break;
        }

        if (size >= LG_CLI_WEBHOOK_MAX_FILE) {
            free(buf);
            buf = NULL;
            break;
        }

        size *= 2;
        p = realloc(buf, size);

        if (p == NULL) {
            free(buf);
        }

        buf = p;
    }

    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }

    if (f != stdin) {
        fclose(f);
    }

    *len = n;

    return buf;
}


/* GitHub's delivery ids are random UUIDs */

static int
lg_cli_webhook_uuid(char *buf, size_t size)
{
    unsigned char  r[16];

    if (size < 37 || RAND_bytes(r, sizeof(r)) != 1) {
        return -1;
    }

    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;

    snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);

    return 0;
}


int
lg_cli_webhook_sign(int argc, char **argv)
{
    int                     rc;
    char                   *body, idbuf[64];
    size_t                  i, len;
    int64_t                 ts;
    const char             *id;
    lg_error_t              err;
    lg_webhook_t           *wh;
    lg_webhook_signed_t     out;
    lg_cli_webhook_opts_t   o;

    rc = lg_cli_webhook_options(argc, argv, &o, "sh");
    if (rc != 0) {
        return rc;
    }

    if (o.body == NULL) {
        fprintf(stderr, "webhook-sign needs a BODY_FILE\n");
        return 2;
    }

    wh = lg_cli_webhook_compile(&o, LG_WEBHOOK_SIGN);
    if (wh == NULL) {
        return 2;
    }

    id = o.id;

    if (id == NULL && lg_webhook_header_name(wh, LG_WEBHOOK_H_ID).len) {
        /* a sender always sends an id: make one up as theirs look */

        rc = (lg_webhook_scheme(wh) == LG_WEBHOOK_STANDARD)
             ? lg_webhook_generate_id(idbuf, sizeof(idbuf))
             : lg_cli_webhook_uuid(idbuf, sizeof(idbuf));

        if (rc != 0) {
            fprintf(stderr, "cannot generate an id\n");
            lg_webhook_free(wh);
            return 1;
        }

        id = idbuf;
    }

    ts = (o.timestamp >= 0) ? o.timestamp : (int64_t) time(NULL);

    body = lg_cli_webhook_read(o.body, &len);
    if (body == NULL) {
        fprintf(stderr, "%s: cannot read (at most %d bytes)\n", o.body,
                LG_CLI_WEBHOOK_MAX_FILE);
        lg_webhook_free(wh);
        return 2;
    }

    rc = lg_webhook_sign(wh, id, id ? strlen(id) : 0, ts,
                         (const unsigned char *) body, len, &out, &err);

    free(body);
    lg_webhook_free(wh);

    if (rc != 0) {
        fprintf(stderr, "%s\n", err.text);
        return 2;
    }

    for (i = 0; i < out.nheaders; i++) {
        printf("%.*s: %.*s\n", (int) out.name[i].len, out.name[i].data,
               (int) out.value[i].len, out.value[i].data);
    }

    return 0;
}


int
lg_cli_webhook_verify(int argc, char **argv)
{
    int                     rc;
    char                   *body, *headers;
    size_t                  len, hlen;
    int64_t                 now;
    lg_error_t              err;
    lg_webhook_t           *wh;
    lg_webhook_input_t      in;
    lg_webhook_result_t     res;
    lg_webhook_status_e     status;
    lg_cli_webhook_opts_t   o;

    static const char  *problems[] = {
        "", "401 invalid-signature", "401 webhook-timestamp", "500"
    };

    rc = lg_cli_webhook_options(argc, argv, &o, "vh");
    if (rc != 0) {
        return rc;
    }

    if (o.body == NULL || o.headers == NULL) {
        fprintf(stderr, "webhook-verify needs --headers FILE and a "
                "BODY_FILE\n");
        return 2;
    }

    if (strcmp(o.body, "-") == 0 && strcmp(o.headers, "-") == 0) {
        fprintf(stderr, "standard input can be the headers or the body, not "
                "both\n");
        return 2;
    }

    wh = lg_cli_webhook_compile(&o, LG_WEBHOOK_VERIFY);
    if (wh == NULL) {
        return 2;
    }

    headers = lg_cli_webhook_read(o.headers, &hlen);
    body = lg_cli_webhook_read(o.body, &len);

    if (headers == NULL || body == NULL) {
        fprintf(stderr, "%s: cannot read (at most %d bytes)\n",
                headers == NULL ? o.headers : o.body,
                LG_CLI_WEBHOOK_MAX_FILE);
        free(headers);
        free(body);
        lg_webhook_free(wh);
        return 2;
    }

    lg_webhook_input_init(&in);

    if (lg_webhook_input_parse(wh, &in, headers, hlen, &err) != 0) {
        fprintf(stderr, "%s: %s\n", o.headers, err.text);
        free(headers);
        free(body);
        lg_webhook_free(wh);
        return 2;
    }

    now = (o.now >= 0) ? o.now : (int64_t) time(NULL);

    status = lg_webhook_verify(wh, &in, (const unsigned char *) body, len, now,
                               &res);

    if (status == LG_WEBHOOK_OK) {
        printf("ok: id %.*s, replay key %.*s%s; %s\n", (int) res.id.len,
               res.id.data, (int) res.key.len, res.key.data,
               res.id_signed ? "" : " (the id is not signed: the body's "
                                    "digest is the key)",
               res.reason);
        rc = 0;

    } else {
        printf("refused (%s): %s: %s\n",
               problems[lg_webhook_status_problem(status)],
               lg_webhook_status_word(status), res.reason);
        rc = 1;
    }

    free(headers);
    free(body);
    lg_webhook_free(wh);

    return rc;
}


/* a new key file: never over an existing one, readable by its owner */

static int
lg_cli_webhook_write_key(const char *path, const char *key)
{
    int      fd;
    size_t   n;
    ssize_t  w;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    if (fd == -1) {
        fprintf(stderr, "%s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (a key file is never overwritten)" : "");
        return -1;
    }

    n = strlen(key);
    w = write(fd, key, n);

    if (w != (ssize_t) n || write(fd, "\n", 1) != 1 || close(fd) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        (void) unlink(path);
        return -1;
    }

    return 0;
}


int
lg_cli_webhook_keygen(int argc, char **argv)
{
    int                     rc;
    char                    secret[LG_WEBHOOK_KEYGEN_MAX];
    char                    pk[LG_WEBHOOK_KEYGEN_MAX];
    lg_cli_webhook_opts_t   o;

    rc = lg_cli_webhook_options(argc, argv, &o, "k");
    if (rc != 0) {
        return rc;
    }

    if (o.nsecret_files != 1 || o.body != NULL
        || (o.ed25519 && o.public_file == NULL)
        || (!o.ed25519 && o.public_file != NULL))
    {
        fprintf(stderr, "webhook-keygen --secret-file F [--ed25519 "
                "--public-file P]\n");
        return 2;
    }

    if (o.ed25519) {
        rc = lg_webhook_generate_keypair(secret, pk, sizeof(secret));

    } else {
        rc = lg_webhook_generate_secret(secret, sizeof(secret));
    }

    if (rc != 0) {
        fprintf(stderr, "cannot generate a key\n");
        return 1;
    }

    rc = lg_cli_webhook_write_key(o.secret_files[0], secret);
    memset(secret, 0, sizeof(secret));

    if (rc != 0) {
        return 1;
    }

    if (!o.ed25519) {
        printf("wrote a whsec_ secret (32 random bytes) to %s (mode 0600).\n"
               "It fits every scheme: standard (as whsec_), stripe, github "
               "and hmac\n(the whole string keys the HMAC).  Give it to the "
               "partner over a secure\nchannel and name the file in the "
               "policy:\n\n    \"secret_files\": [\"%s\"]\n",
               o.secret_files[0], o.secret_files[0]);
        return 0;
    }

    if (lg_cli_webhook_write_key(o.public_file, pk) != 0) {
        (void) unlink(o.secret_files[0]);
        return 1;
    }

    printf("wrote an ed25519 signing key (whsk_) to %s (mode 0600) and its\n"
           "public key to %s:\n\n    %s\n\nThe signing key stays with the "
           "sender; whoever verifies gets the\npublic key.\n",
           o.secret_files[0], o.public_file, pk);

    return 0;
}
