
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_WEBHOOK_H_INCLUDED_
#define _LG_WEBHOOK_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "lg_arena.h"
#include "lg_json.h"


/*
 * Webhook signatures: verification of what a partner sends, signing of
 * what the gateway sends to a partner.  Four schemes:
 *
 *   standard  Standard Webhooks 1.0: webhook-id, webhook-timestamp and
 *             webhook-signature, a space-separated list of "v1,<base64
 *             HMAC-SHA256>" (whsec_ secrets) and "v1a,<base64 ed25519>"
 *             (whpk_ public keys, whsk_ signing keys) over
 *             "id.timestamp.body";
 *   stripe    Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "t.body">,
 *             keyed with the whole secret string;
 *   github    X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>,
 *             the delivery id from X-GitHub-Delivery (configurable);
 *   hmac      a carrier's own: header, digest, encoding, prefix, optional
 *             timestamp and id headers and what the MAC covers.
 *
 * A compiled scheme (lg_webhook_t) holds up to LG_WEBHOOK_MAX_SECRETS
 * keys, any of which verifies (rotation).  The policy compiler fills an
 * lg_webhook_conf_t from the partner's JSON, calls lg_webhook_create()
 * and lg_webhook_add_secret_file() once per secret file, and frees the
 * result with lg_webhook_free() (an arena cleanup).  Per request nothing
 * is parsed but the headers, and the work is bounded: header lengths,
 * the number of signatures in a list and the number of keys are capped,
 * every comparison is CRYPTO_memcmp() and the MAC is computed once per
 * key over the raw body bytes.  ed25519 is the costly one: at most
 * LG_WEBHOOK_MAX_ED25519 public keys times LG_WEBHOOK_MAX_V1A signatures
 * are checked, enough for a rotation on both sides.
 */


#define LG_WEBHOOK_MAX_SECRETS     4
#define LG_WEBHOOK_MAX_SIGNATURES  8       /* entries in one header */
#define LG_WEBHOOK_MAX_ED25519     2       /* whpk_ or whsk_ keys */
#define LG_WEBHOOK_MAX_V1A         2       /* v1a entries checked */
#define LG_WEBHOOK_MAX_HEADER      4096    /* bytes of one header value */
#define LG_WEBHOOK_MAX_ID          255     /* bytes of a webhook id */
#define LG_WEBHOOK_MAX_NAME        64      /* bytes of a header name */
#define LG_WEBHOOK_MAX_PREFIX      32
#define LG_WEBHOOK_MAX_PAYLOAD     128     /* the hmac payload template */
#define LG_WEBHOOK_MAX_SECRET_FILE 4096
#define LG_WEBHOOK_MIN_SECRET      16      /* bytes of an HMAC key */
#define LG_WEBHOOK_MAX_SECRET      1024
#define LG_WEBHOOK_MIN_WHSEC       24      /* Standard Webhooks: 24 to */
#define LG_WEBHOOK_MAX_WHSEC       64      /* 64 random bytes */
#define LG_WEBHOOK_TOLERANCE       300     /* seconds, either direction */
#define LG_WEBHOOK_MAX_TOLERANCE   86400
#define LG_WEBHOOK_MAX_TS_DIGITS   12      /* unix seconds to year 33658 */
#define LG_WEBHOOK_REASON_MAX      160
#define LG_WEBHOOK_SIGNED_MAX      1536    /* lg_webhook_signed_t text */

/* "sha256-" and the hex SHA-256 of the body: the id when none is sent */
#define LG_WEBHOOK_DIGEST_ID_LEN   (7 + 64)

/* "msg_" and 22 base64url characters of 16 random bytes */
#define LG_WEBHOOK_GENERATED_ID_LEN  26


typedef enum {
    LG_WEBHOOK_STANDARD = 0,
    LG_WEBHOOK_STRIPE,
    LG_WEBHOOK_GITHUB,
    LG_WEBHOOK_HMAC,
    LG_WEBHOOK_SCHEME_COUNT
} lg_webhook_scheme_e;


typedef enum {
    LG_WEBHOOK_SHA256 = 0,
    LG_WEBHOOK_SHA512
} lg_webhook_digest_e;


typedef enum {
    LG_WEBHOOK_HEX = 0,
    LG_WEBHOOK_BASE64
} lg_webhook_encoding_e;


/* what the keys of a compiled scheme are for */
typedef enum {
    LG_WEBHOOK_VERIFY = 0,             /* inbound: partner -> gateway */
    LG_WEBHOOK_SIGN                    /* outbound: gateway -> partner */
} lg_webhook_purpose_e;


/* the headers a scheme reads, by role */
typedef enum {
    LG_WEBHOOK_H_SIGNATURE = 0,
    LG_WEBHOOK_H_TIMESTAMP,
    LG_WEBHOOK_H_ID,
    LG_WEBHOOK_NHEADERS
} lg_webhook_header_e;


typedef enum {
    LG_WEBHOOK_OK = 0,
    LG_WEBHOOK_MISSING_SIGNATURE,
    LG_WEBHOOK_MISSING_TIMESTAMP,
    LG_WEBHOOK_MISSING_ID,
    LG_WEBHOOK_DUPLICATE_HEADER,
    LG_WEBHOOK_HEADER_TOO_LONG,
    LG_WEBHOOK_MALFORMED_SIGNATURE,
    LG_WEBHOOK_MALFORMED_TIMESTAMP,
    LG_WEBHOOK_MALFORMED_ID,
    LG_WEBHOOK_TOO_MANY_SIGNATURES,
    LG_WEBHOOK_UNSUPPORTED_SIGNATURE,  /* no entry a key could check */
    LG_WEBHOOK_BAD_SIGNATURE,
    LG_WEBHOOK_TIMESTAMP_TOO_OLD,
    LG_WEBHOOK_TIMESTAMP_IN_FUTURE,
    LG_WEBHOOK_INTERNAL,               /* out of memory, OpenSSL failed */
    LG_WEBHOOK_STATUS_COUNT
} lg_webhook_status_e;


/* which problem a refusal answers with */
typedef enum {
    LG_WEBHOOK_PROBLEM_NONE = 0,
    LG_WEBHOOK_PROBLEM_SIGNATURE,      /* 401 invalid-signature */
    LG_WEBHOOK_PROBLEM_TIMESTAMP,      /* 401 webhook-timestamp */
    LG_WEBHOOK_PROBLEM_INTERNAL        /* 500 */
} lg_webhook_problem_e;


/*
 * A partner's scheme as the policy states it.  Strings need not be
 * NUL-terminated and are copied by lg_webhook_create(); a member left
 * zero takes the scheme's default:
 *
 *   signature_header  hmac only (required there)
 *   timestamp_header  hmac only; none: no timestamp, no tolerance
 *   id_header         github: "X-GitHub-Delivery"; stripe, hmac: none,
 *                     and then the id is "sha256-" + hex SHA-256 of the
 *                     body; standard: always "webhook-id"
 *   prefix            hmac only, e.g. "sha256="
 *   payload           hmac only: what the MAC covers, "{body}" by default;
 *                     literal text and {id}, {timestamp}, {body} (once),
 *                     e.g. "{timestamp}.{body}"
 *   digest, encoding  hmac only: sha256 / sha512, hex / base64
 *   tolerance         seconds, 1 to LG_WEBHOOK_MAX_TOLERANCE; 0:
 *                     LG_WEBHOOK_TOLERANCE
 */
typedef struct {
    lg_webhook_scheme_e     scheme;
    lg_webhook_purpose_e    purpose;
    lg_str_t                signature_header;
    lg_str_t                timestamp_header;
    lg_str_t                id_header;
    lg_str_t                prefix;
    lg_str_t                payload;
    lg_webhook_digest_e     digest;
    lg_webhook_encoding_e   encoding;
    int64_t                 tolerance;
} lg_webhook_conf_t;


typedef struct lg_webhook_s  lg_webhook_t;


/*
 * The scheme's header values of one request, collected by
 * lg_webhook_input_header() from every header the request carries: a
 * second header of a role is remembered, and refused by the verifier.
 */
typedef struct {
    lg_str_t                value[LG_WEBHOOK_NHEADERS];
    unsigned                present;       /* bit per role */
    unsigned                duplicate;     /* bit per role */
} lg_webhook_input_t;


/*
 * "id" is the event id as the sender names it (for the log and for
 * X-Logistics-Webhook-Id).  "key" is what replays are refused by, the
 * idempotency key: the id itself when the signature covers it
 * (standard; hmac with {id}), otherwise "sha256-" + the hex SHA-256 of
 * the body, because an id the MAC does not cover (X-GitHub-Delivery, a
 * carrier's own id header) can be changed by whoever replays a captured
 * request.  A sender's honest retry has the same body, so it is still
 * recognised.
 */
typedef struct {
    lg_str_t                id;        /* len 0: none was sent */
    lg_str_t                key;       /* set with LG_WEBHOOK_OK */
    int64_t                 timestamp; /* seconds; -1: none */
    int                     secret;    /* index of the key that verified;
                                          -1: none */
    unsigned                id_signed:1;
    char                    digest_id[LG_WEBHOOK_DIGEST_ID_LEN + 1];
    char                    reason[LG_WEBHOOK_REASON_MAX];
} lg_webhook_result_t;


/* the header lines a sender sends, in order, all held in "buf" */
typedef struct {
    lg_str_t                name[LG_WEBHOOK_NHEADERS];
    lg_str_t                value[LG_WEBHOOK_NHEADERS];
    size_t                  nheaders;
    char                    buf[LG_WEBHOOK_SIGNED_MAX];
} lg_webhook_signed_t;


/*
 * Compiles a scheme with no keys yet.  On failure returns NULL and
 * err->text holds the reason alone (the caller adds file and JSON path).
 */
lg_webhook_t *lg_webhook_create(const lg_webhook_conf_t *conf,
    lg_error_t *err);

/*
 * Adds one key: the secret string exactly as a secret file holds it
 * (lg_webhook_add_secret_file() drops one trailing newline first).
 * standard: "whsec_<base64>" (HMAC), "whpk_<base64>" (verify) or
 * "whsk_<base64>" (sign); the others: the whole string keys the HMAC.
 */
int lg_webhook_add_secret(lg_webhook_t *wh, const unsigned char *data,
    size_t len, lg_error_t *err);

/* reads a regular file of at most LG_WEBHOOK_MAX_SECRET_FILE bytes */
int lg_webhook_add_secret_file(lg_webhook_t *wh, const char *path,
    lg_error_t *err);

size_t lg_webhook_nsecrets(const lg_webhook_t *wh);

/* zeroes and frees the keys; NULL is harmless */
void lg_webhook_free(lg_webhook_t *wh);

/* for lg_arena_cleanup_add(): data is the lg_webhook_t */
void lg_webhook_cleanup(void *data);

/* the name of the header of a role; len 0: the scheme has none */
lg_str_t lg_webhook_header_name(const lg_webhook_t *wh,
    lg_webhook_header_e role);

lg_webhook_scheme_e lg_webhook_scheme(const lg_webhook_t *wh);

int64_t lg_webhook_tolerance(const lg_webhook_t *wh);

/* "standard", "stripe", "github", "hmac" and back; -1: unknown */
const char *lg_webhook_scheme_name(lg_webhook_scheme_e scheme);
int lg_webhook_scheme_parse(const char *name, size_t len);

void lg_webhook_input_init(lg_webhook_input_t *in);

/*
 * Offers one request header; the scheme keeps it when its name (case
 * insensitive) is one of its headers.  The value is referenced, not
 * copied.  Returns the role, or -1 for a header the scheme ignores.
 */
int lg_webhook_input_header(const lg_webhook_t *wh, lg_webhook_input_t *in,
    const char *name, size_t name_len, const char *value, size_t value_len);

/*
 * Reads "Name: value" lines (a stored request's headers; an HTTP request
 * line first is skipped; CRLF or LF) into "in", whose values then point
 * into "text".  Returns 0, or -1 with err->text naming the line.
 */
int lg_webhook_input_parse(const lg_webhook_t *wh, lg_webhook_input_t *in,
    const char *text, size_t len, lg_error_t *err);

/*
 * Verifies one request at "now" (seconds) over the raw body bytes.  The
 * result carries the webhook id (also on most refusals, for the log; it
 * is authentic only with LG_WEBHOOK_OK), the timestamp and a reason for
 * the log that says what was wrong with what was sent and never anything
 * about the expected values.
 */
lg_webhook_status_e lg_webhook_verify(const lg_webhook_t *wh,
    const lg_webhook_input_t *in, const unsigned char *body, size_t len,
    int64_t now, lg_webhook_result_t *res);

/*
 * Signs a body as the scheme's sender does, with every key of a list
 * scheme (standard, stripe: rotation) and with the first key otherwise.
 * "id" may be NULL for schemes without one (then the standard scheme
 * refuses).  Returns 0, or -1 with err->text.
 */
int lg_webhook_sign(const lg_webhook_t *wh, const char *id, size_t id_len,
    int64_t timestamp, const unsigned char *body, size_t len,
    lg_webhook_signed_t *out, lg_error_t *err);

/* "msg_" + 22 random base64url characters and a NUL; 0 or -1 */
int lg_webhook_generate_id(char *buf, size_t size);

/*
 * Fresh keys for onboarding and rotation: "whsec_" + base64 of 32 random
 * bytes (fits every HMAC scheme), or an ed25519 pair as "whsk_" (the
 * 32-byte seed) and "whpk_" (the public key).  NUL-terminated; buffers
 * of at least LG_WEBHOOK_KEYGEN_MAX bytes.  0, or -1.
 */
#define LG_WEBHOOK_KEYGEN_MAX  64
int lg_webhook_generate_secret(char *buf, size_t size);
int lg_webhook_generate_keypair(char *sk, char *pk, size_t size);

/* a webhook id: 1 to 255 visible ASCII bytes, no '"' or '\' */
int lg_webhook_id_valid(lg_webhook_scheme_e scheme, const char *id,
    size_t len);

/* a short fixed word for logs and $logistics_decision */
const char *lg_webhook_status_word(lg_webhook_status_e status);

lg_webhook_problem_e lg_webhook_status_problem(lg_webhook_status_e status);


#endif /* _LG_WEBHOOK_H_INCLUDED_ */
