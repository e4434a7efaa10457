
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Webhooks in the policy, both ways:
 *
 *   "partners": {"acme-carrier": {
 *       "webhook": {"scheme": "standard", "tolerance": "5m",
 *                   "secret_files": ["secrets/acme-wh-2026-11.key"]},
 *       "subscriptions": {"scheme": "standard",
 *                   "secret_files": ["secrets/acme-out.key"],
 *                   "events": {"order.confirmed":
 *                              "https://hooks.acme.example/odoo/orders"}}}}
 *
 * and routes with "auth": ["webhook"], whose path names the partner in a
 * {partner} segment: an HMAC says that the sender knew a secret, not
 * which partner it is, so the URL names the partner and only that
 * partner's secrets can verify.  Secrets come from files only, and one
 * secret serves one direction of one partner: a secret shared by two
 * partners would let one sign as the other.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lg_policy_int.h"
#include "lg_apikey.h"


#define LG_URL_MAX  2048


static int lg_webhook_conf(lg_compile_t *c, json_t *obj,
    lg_webhook_purpose_e purpose, lg_webhook_conf_t *conf);
static lg_webhook_t *lg_webhook_compile(lg_compile_t *c, json_t *obj,
    lg_webhook_purpose_e purpose);
static int lg_webhook_secrets(lg_compile_t *c, lg_webhook_t *wh,
    json_t *obj);
static int lg_webhook_secret_file(lg_compile_t *c, lg_webhook_t *wh,
    const char *rel);
static int lg_compile_events(lg_compile_t *c, json_t *events,
    lg_subscriptions_t *subs);
static const char *lg_url_check(const char *url, size_t len);
static int lg_url_hex(char ch);
static int lg_name_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int lg_event_cmp(const void *a, const void *b);
static int lg_partner_ptr_cmp(const void *a, const void *b);
static const lg_partner_t *lg_policy_webhook_partner(
    const lg_policy_t *policy, const char *id, size_t len);


static const char *const  lg_webhook_fields[] = {
    "scheme", "secret_files", "tolerance", "signature_header",
    "timestamp_header", "id_header", "prefix", "payload", "digest",
    "encoding", NULL
};

static const char *const  lg_webhook_required[] = { "secret_files", NULL };

static const char *const  lg_subscription_fields[] = {
    "scheme", "secret_files", "events", "signature_header",
    "timestamp_header", "id_header", "prefix", "payload", "digest",
    "encoding", NULL
};

static const char *const  lg_subscription_required[] = {
    "secret_files", "events", NULL
};


/* "webhook": how the partner signs what it sends to Odoo */

int
lg_compile_webhook(lg_compile_t *c, json_t *webhook, lg_partner_t *partner)
{
    if (lg_fields(c, webhook, lg_webhook_fields, lg_webhook_required) != 0) {
        return -1;
    }

    partner->webhook = lg_webhook_compile(c, webhook, LG_WEBHOOK_VERIFY);
    if (partner->webhook == NULL) {
        return -1;
    }

    return lg_webhook_secrets(c, partner->webhook, webhook);
}


/* "subscriptions": what Odoo's events for the partner are signed with */

int
lg_compile_subscriptions(lg_compile_t *c, json_t *subscriptions,
    lg_partner_t *partner)
{
    size_t               saved;
    lg_webhook_scheme_e  scheme;
    lg_subscriptions_t  *subs;

    if (lg_fields(c, subscriptions, lg_subscription_fields,
                  lg_subscription_required)
        != 0)
    {
        return -1;
    }

    subs = lg_arena_calloc(&c->policy->arena, 1, sizeof(lg_subscriptions_t));
    if (subs == NULL) {
        return lg_fail(c, "out of memory");
    }

    /* the URLs first: they need no secret */

    saved = lg_json_path_key(&c->path, "events");

    if (lg_compile_events(c, json_object_get(subscriptions, "events"), subs)
        != 0)
    {
        return -1;
    }

    lg_json_path_pop(&c->path, saved);

    subs->signer = lg_webhook_compile(c, subscriptions, LG_WEBHOOK_SIGN);
    if (subs->signer == NULL) {
        return -1;
    }

    if (lg_webhook_secrets(c, subs->signer, subscriptions) != 0) {
        return -1;
    }

    /* a list of signatures carries every key; one signature, one key */

    scheme = lg_webhook_scheme(subs->signer);

    if ((scheme == LG_WEBHOOK_GITHUB || scheme == LG_WEBHOOK_HMAC)
        && lg_webhook_nsecrets(subs->signer) > 1)
    {
        lg_json_path_key(&c->path, "secret_files");
        return lg_fail(c, "the %s scheme sends one signature: list one "
                       "secret file", lg_webhook_scheme_name(scheme));
    }

    partner->subscriptions = subs;

    return 0;
}


/*
 * A route with "auth": ["webhook"] takes POSTs signed by the partner its
 * {partner} segment names, and is always idempotent: the event id (or the
 * digest of the body, when the signature does not cover an id) is the
 * idempotency key, so a redelivered event reaches Odoo once.
 */

int
lg_compile_webhook_route(lg_compile_t *c, json_t *r, lg_route_t *out)
{
    size_t  i, param;

    if (!(out->auth & LG_AUTH_WEBHOOK)) {
        return 0;
    }

    if (out->auth != LG_AUTH_WEBHOOK) {
        lg_json_path_key(&c->path, "auth");
        return lg_fail(c, "\"webhook\" cannot be combined with other "
                       "methods: the signature is the credential");
    }

    if (out->method != LG_METHOD_POST) {
        lg_json_path_key(&c->path, "method");
        return lg_fail(c, "a webhook route takes POST");
    }

    param = 0;

    for (i = 0; i < out->nsegments; i++) {
        if (!out->segments[i].param) {
            continue;
        }

        if (out->segments[i].text.len == sizeof("partner") - 1
            && memcmp(out->segments[i].text.data, "partner",
                      sizeof("partner") - 1)
               == 0)
        {
            break;
        }

        param++;
    }

    if (i == out->nsegments) {
        lg_json_path_key(&c->path, "path");
        return lg_fail(c, "a webhook route names its partner in a "
                       "{partner} segment (a signature cannot tell who "
                       "signed it)");
    }

    out->partner_param = param;

    if (json_object_get(r, "idempotency") != NULL
        && out->idempotency != LG_IDEM_REQUIRED)
    {
        lg_json_path_key(&c->path, "idempotency");
        return lg_fail(c, "a webhook route is always idempotent (the "
                       "event id is the key): \"required\" or nothing");
    }

    out->idempotency = LG_IDEM_REQUIRED;
    c->policy->webhook_routes++;

    return 0;
}


/*
 * Once every partner is known: the partners with webhooks sorted by id
 * for the lookups, and how long an event id is kept.  A delivery is
 * accepted while its timestamp is within the tolerance of the clock, on
 * either side, so a captured delivery can be replayed for up to twice
 * the tolerance: its id must be remembered at least that long.
 */

int
lg_finish_webhooks(lg_compile_t *c)
{
    int           n;
    char          buf[24];
    size_t        i, k;
    int64_t       ttl, tol;
    lg_policy_t  *p;

    p = c->policy;
    ttl = p->idem_ttl;
    k = 0;

    for (i = 0; i < p->npartners; i++) {
        if (p->partners[i].webhook != NULL
            || p->partners[i].subscriptions != NULL)
        {
            k++;
        }

        if (p->partners[i].webhook != NULL) {
            tol = lg_webhook_tolerance(p->partners[i].webhook);

            if (2 * tol * 1000 > ttl) {
                ttl = 2 * tol * 1000;
            }
        }
    }

    p->webhook_ttl = ttl;

    n = snprintf(buf, sizeof(buf), "%lld", (long long) ttl);

    if (lg_arena_str(&p->arena, &p->webhook_ttl_px, buf, (size_t) n) != 0) {
        return lg_fail(c, "out of memory");
    }

    if (k == 0) {
        return 0;
    }

    p->webhook_partners = lg_arena_calloc(&p->arena, k,
                                          sizeof(lg_partner_t *));
    if (p->webhook_partners == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < p->npartners; i++) {
        if (p->partners[i].webhook != NULL
            || p->partners[i].subscriptions != NULL)
        {
            p->webhook_partners[p->nwebhook_partners++] = &p->partners[i];
        }
    }

    qsort(p->webhook_partners, p->nwebhook_partners, sizeof(lg_partner_t *),
          lg_partner_ptr_cmp);

    return 0;
}


/* the scheme's settings, as lg_webhook_create() takes them */

static int
lg_webhook_conf(lg_compile_t *c, json_t *obj, lg_webhook_purpose_e purpose,
    lg_webhook_conf_t *conf)
{
    int       scheme;
    int64_t   tolerance;
    lg_str_t  s;

    memset(conf, 0, sizeof(lg_webhook_conf_t));

    conf->purpose = purpose;
    conf->scheme = LG_WEBHOOK_STANDARD;

    if (lg_get_string(c, obj, "scheme", 0, &s) != 0) {
        return -1;
    }

    if (s.data != NULL) {
        scheme = lg_webhook_scheme_parse(s.data, s.len);

        if (scheme < 0) {
            lg_json_path_key(&c->path, "scheme");
            return lg_fail(c, "must be \"standard\", \"stripe\", \"github\" "
                           "or \"hmac\"");
        }

        conf->scheme = (lg_webhook_scheme_e) scheme;
    }

    if (lg_get_string(c, obj, "signature_header", 0,
                      &conf->signature_header)
           != 0
        || lg_get_string(c, obj, "timestamp_header", 0,
                         &conf->timestamp_header)
           != 0
        || lg_get_string(c, obj, "id_header", 0, &conf->id_header) != 0
        || lg_get_string(c, obj, "prefix", 0, &conf->prefix) != 0
        || lg_get_string(c, obj, "payload", 0, &conf->payload) != 0
        || lg_get_string(c, obj, "digest", 0, &s) != 0)
    {
        return -1;
    }

    if (s.data != NULL) {
        if (strcmp(s.data, "sha256") == 0) {
            conf->digest = LG_WEBHOOK_SHA256;

        } else if (strcmp(s.data, "sha512") == 0) {
            conf->digest = LG_WEBHOOK_SHA512;

        } else {
            lg_json_path_key(&c->path, "digest");
            return lg_fail(c, "must be \"sha256\" or \"sha512\"");
        }
    }

    if (lg_get_string(c, obj, "encoding", 0, &s) != 0) {
        return -1;
    }

    if (s.data != NULL) {
        if (strcmp(s.data, "hex") == 0) {
            conf->encoding = LG_WEBHOOK_HEX;

        } else if (strcmp(s.data, "base64") == 0) {
            conf->encoding = LG_WEBHOOK_BASE64;

        } else {
            lg_json_path_key(&c->path, "encoding");
            return lg_fail(c, "must be \"hex\" or \"base64\"");
        }
    }

    if ((json_object_get(obj, "digest") != NULL
         || json_object_get(obj, "encoding") != NULL)
        && conf->scheme != LG_WEBHOOK_HMAC)
    {
        return lg_fail(c, "\"digest\" and \"encoding\" belong to the hmac "
                       "scheme");
    }

    tolerance = 0;

    if (lg_get_duration(c, obj, "tolerance", 1000,
                        (int64_t) LG_WEBHOOK_MAX_TOLERANCE * 1000,
                        " (whole seconds from \"1s\" to \"1d\", e.g. "
                        "\"5m\")", &tolerance)
        != 0)
    {
        return -1;
    }

    if (tolerance % 1000 != 0) {
        lg_json_path_key(&c->path, "tolerance");
        return lg_fail(c, "must be whole seconds (e.g. \"90s\", \"5m\")");
    }

    conf->tolerance = tolerance / 1000;

    return 0;
}


/* a compiled scheme with the secrets of its "secret_files" */

static lg_webhook_t *
lg_webhook_compile(lg_compile_t *c, json_t *obj,
    lg_webhook_purpose_e purpose)
{
    lg_error_t           err;
    lg_webhook_t        *wh;
    lg_webhook_conf_t    conf;
    lg_arena_cleanup_t  *cln;

    if (lg_webhook_conf(c, obj, purpose, &conf) != 0) {
        return NULL;
    }

    /* the cleanup first: it must exist before the keys do */

    cln = lg_arena_cleanup_add(&c->policy->arena);
    if (cln == NULL) {
        lg_fail(c, "out of memory");
        return NULL;
    }

    wh = lg_webhook_create(&conf, &err);

    if (wh == NULL) {
        lg_fail(c, "%s", err.text);
        return NULL;
    }

    cln->handler = lg_webhook_cleanup;
    cln->data = wh;

    return wh;
}


/*
 * "secret_files": 1 to LG_WEBHOOK_MAX_SECRETS files, relative to the file
 * naming them (rotation: any of them verifies; every one signs where the
 * scheme lists signatures).
 */

static int
lg_webhook_secrets(lg_compile_t *c, lg_webhook_t *wh, json_t *obj)
{
    size_t   i, s, saved;
    json_t  *list, *item;

    list = json_object_get(obj, "secret_files");
    saved = lg_json_path_key(&c->path, "secret_files");

    if (!json_is_array(list) || json_array_size(list) == 0
        || json_array_size(list) > LG_WEBHOOK_MAX_SECRETS)
    {
        return lg_fail(c, "must be an array of 1 to %d file names (secrets "
                       "are never written into the policy)",
                       LG_WEBHOOK_MAX_SECRETS);
    }

    json_array_foreach(list, i, item) {
        s = lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) == 0) {
            return lg_fail(c, "must be a file name");
        }

        if (lg_webhook_secret_file(c, wh, json_string_value(item)) != 0) {
            return -1;
        }

        lg_json_path_pop(&c->path, s);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * One secret file: the secret exactly as it is written, one trailing
 * newline aside.  The same secret anywhere else in the policy is refused:
 * a secret shared by two partners would let either sign as the other,
 * and one shared by both directions would let a partner's copy of an
 * event be sent back to Odoo as if the partner had signed it.
 */

static int
lg_webhook_secret_file(lg_compile_t *c, lg_webhook_t *wh, const char *rel)
{
    int             rc;
    char            key[3 + 65], where[LG_ERROR_MAX];
    size_t          len;
    json_t         *seen;
    lg_error_t      err;
    unsigned char  *data;

    if (lg_read_file(c, rel, LG_WEBHOOK_MAX_SECRET_FILE, &data, &len) != 0) {
        return -1;
    }

    if (len > 0 && data[len - 1] == '\n') {
        len--;

        if (len > 0 && data[len - 1] == '\r') {
            len--;
        }
    }

    if (len == 0) {
        free(data);
        return lg_fail(c, "\"%s\" is empty", rel);
    }

    /* only the digest is kept, to find the same secret elsewhere */

    memcpy(key, "wh:", 3);
    lg_sha256_hex((const char *) data, len, key + 3);

    rc = lg_webhook_add_secret(wh, data, len, &err);

    OPENSSL_cleanse(data, len);
    free(data);

    if (rc != 0) {
        return lg_fail(c, "\"%s\": %s", rel, err.text);
    }

    seen = json_object_get(c->hash_map, key);

    if (seen != NULL) {
        return lg_fail(c, "the same secret is already used at %s",
                       json_string_value(seen));
    }

    snprintf(where, sizeof(where), "%s: %s", c->doc->file, c->path.data);

    if (json_object_set_new(c->hash_map, key, json_string(where)) != 0) {
        return lg_fail(c, "out of memory");
    }

    return 0;
}


/*
 * "events": {"order.confirmed": "https://hooks.acme.example/odoo/orders"}:
 * the URL each event type goes to, checked here so that nginx's proxy
 * never gets to parse anything the policy did not vouch for.
 */

static int
lg_compile_events(lg_compile_t *c, json_t *events, lg_subscriptions_t *subs)
{
    size_t        s, n;
    json_t       *v;
    lg_event_t   *e;
    const char   *type, *why;
    lg_policy_t  *p;

    p = c->policy;

    if (!json_is_object(events) || json_object_size(events) == 0) {
        return lg_fail(c, "must be an object of event types and URLs");
    }

    subs->events = lg_arena_calloc(&p->arena, json_object_size(events),
                                   sizeof(lg_event_t));
    if (subs->events == NULL) {
        return lg_fail(c, "out of memory");
    }

    n = 0;

    json_object_foreach(events, type, v) {
        s = lg_json_path_key(&c->path, type);
        e = &subs->events[n];

        if (!lg_match_name(type, strlen(type), LG_LOWER_DIGIT,
                           LG_LOWER_DIGIT "._-", 64))
        {
            return lg_fail(c, "invalid event type (lowercase letters, "
                           "digits and . _ -, at most 64)");
        }

        if (!json_is_string(v)) {
            return lg_fail(c, "must be the URL the partner takes the "
                           "event at");
        }

        why = lg_url_check(json_string_value(v), json_string_length(v));

        if (why != NULL) {
            return lg_fail(c, "%s", why);
        }

        if (lg_arena_str(&p->arena, &e->type, type, strlen(type)) != 0
            || lg_arena_str(&p->arena, &e->url, json_string_value(v),
                            json_string_length(v))
               != 0)
        {
            return lg_fail(c, "out of memory");
        }

        n++;
        lg_json_path_pop(&c->path, s);
    }

    subs->nevents = n;

    qsort(subs->events, n, sizeof(lg_event_t), lg_event_cmp);

    return 0;
}


/*
 * "https://host[:port]/path[?query]": TLS always (the body and its
 * signature are the partner's business only), no user information, no
 * fragment, a path (without one nginx's proxy would send Odoo's own
 * request path), and only the characters RFC 3986 allows, escapes
 * well-formed.  NULL when the URL is fine, else what is wrong.
 */

static const char *
lg_url_check(const char *url, size_t len)
{
    int          colon, bracket;
    size_t       i, port;
    const char  *p, *end, *host, *path;

    if (len > LG_URL_MAX) {
        return "the URL is longer than 2048 characters";
    }

    if (len < sizeof("https://") - 1
        || memcmp(url, "https://", sizeof("https://") - 1) != 0)
    {
        return "must be an https:// URL (events are never sent in clear)";
    }

    host = url + sizeof("https://") - 1;
    end = url + len;

    path = memchr(host, '/', end - host);

    if (path == NULL || path == host) {
        return "must be https://host[:port]/path: the host and a path";
    }

    /* the authority: a lowercase name, an IPv4 or a [IPv6] address */

    colon = 0;
    bracket = 0;
    port = 0;

    for (p = host; p < path; p++) {

        if (*p == '[' && p == host) {
            bracket = 1;
            continue;
        }

        if (bracket == 1) {
            if (*p == ']' && p - host > 2) {
                bracket = 2;
                continue;
            }

            if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')
                || *p == ':' || *p == '.')
            {
                continue;
            }

            return "an IPv6 address is lowercase hex digits, : and . in "
                   "brackets";
        }

        if (*p == ':' && !colon) {
            if (p == host) {
                return "must be https://host[:port]/path: the host is "
                       "empty";
            }

            colon = 1;

            if (p + 1 == path) {
                return "an empty port";
            }

            continue;
        }

        if (colon) {
            if (*p < '0' || *p > '9') {
                return "the port must be a number";
            }

            port = port * 10 + (*p - '0');

            if (port > 65535) {
                return "the port must be 1 to 65535";
            }

            continue;
        }

        if (bracket == 2) {
            return "only a port may follow an IPv6 address";
        }

        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
            || *p == '.' || *p == '-')
        {
            continue;
        }

        if (*p == '@') {
            return "no user information in the URL (secrets go in "
                   "secret_files)";
        }

        return "the host must be a lowercase name or an IP address";
    }

    if (bracket == 1) {
        return "an IPv6 address needs its closing bracket";
    }

    if (colon && port == 0) {
        return "the port must be 1 to 65535";
    }

    /* path and query: RFC 3986 characters, escapes of two hex digits */

    for (i = (size_t) (path - url); i < len; i++) {

        if (url[i] == '%') {
            if (i + 2 >= len || !lg_url_hex(url[i + 1])
                || !lg_url_hex(url[i + 2]))
            {
                return "a % in the URL must start an escape (%XX)";
            }

            i += 2;
            continue;
        }

        if (url[i] == '#') {
            return "no fragment (#...) in the URL";
        }

        if ((url[i] >= 'a' && url[i] <= 'z')
            || (url[i] >= 'A' && url[i] <= 'Z')
            || (url[i] >= '0' && url[i] <= '9')
            || strchr("-._~!$&'()*+,;=:@/?", url[i]) != NULL)
        {
            continue;
        }

        return "the URL holds a character that must be escaped";
    }

    return NULL;
}


static int
lg_url_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')
           || (ch >= 'A' && ch <= 'F');
}


/* bytes, then length: the order strcmp() gives names without a NUL */

static int
lg_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  cmp;

    cmp = memcmp(a, b, alen < blen ? alen : blen);

    if (cmp != 0 || alen == blen) {
        return cmp;
    }

    return alen < blen ? -1 : 1;
}


static int
lg_event_cmp(const void *a, const void *b)
{
    const lg_event_t  *x = a, *y = b;

    return strcmp(x->type.data, y->type.data);
}


static int
lg_partner_ptr_cmp(const void *a, const void *b)
{
    const lg_partner_t  *x = *(const lg_partner_t **) a;
    const lg_partner_t  *y = *(const lg_partner_t **) b;

    return strcmp(x->id.data, y->id.data);
}


/* requests: a partner by the id a URL names (untrusted bytes) */

static const lg_partner_t *
lg_policy_webhook_partner(const lg_policy_t *policy, const char *id,
    size_t len)
{
    int                  cmp;
    size_t               lo, hi, mid;
    const lg_partner_t  *partner;

    lo = 0;
    hi = policy->nwebhook_partners;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        partner = policy->webhook_partners[mid];

        cmp = lg_name_cmp(partner->id.data, partner->id.len, id, len);

        if (cmp == 0) {
            return partner;
        }

        if (cmp < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


const lg_partner_t *
lg_policy_webhook_sender(const lg_policy_t *policy, const char *id,
    size_t len)
{
    const lg_partner_t  *partner;

    partner = lg_policy_webhook_partner(policy, id, len);

    return (partner != NULL && partner->webhook != NULL) ? partner : NULL;
}


const lg_partner_t *
lg_policy_subscriber(const lg_policy_t *policy, const char *id, size_t len)
{
    const lg_partner_t  *partner;

    partner = lg_policy_webhook_partner(policy, id, len);

    return (partner != NULL && partner->subscriptions != NULL) ? partner
                                                                : NULL;
}


const lg_event_t *
lg_policy_subscription(const lg_partner_t *partner, const char *type,
    size_t len)
{
    int                  cmp;
    size_t               lo, hi, mid;
    const lg_event_t    *e;
    lg_subscriptions_t  *subs;

    subs = partner->subscriptions;

    if (subs == NULL) {
        return NULL;
    }

    lo = 0;
    hi = subs->nevents;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        e = &subs->events[mid];

        cmp = lg_name_cmp(e->type.data, e->type.len, type, len);

        if (cmp == 0) {
            return e;
        }

        if (cmp < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}
