
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_WEBHOOK_INT_H_INCLUDED_
#define _LG_WEBHOOK_INT_H_INCLUDED_


/*
 * What lg_webhook.c (compiling a scheme), lg_webhook_key.c (its keys),
 * lg_webhook_verify.c (reading what a sender sent) and lg_webhook_sign.c
 * (writing what a sender sends) share.
 */


#include <openssl/evp.h>

#include "lg_webhook.h"


#define LG_WEBHOOK_MAX_PARTS    9
#define LG_WEBHOOK_MAX_MAC      64      /* SHA-512 */
#define LG_WEBHOOK_ED25519_SIG  64
#define LG_WEBHOOK_ED25519_KEY  32
#define LG_WEBHOOK_STRINGS      512     /* names, prefix, literals */


typedef enum {
    LG_WEBHOOK_KEY_HMAC = 0,
    LG_WEBHOOK_KEY_ED25519_PUBLIC,     /* whpk_: verifies v1a */
    LG_WEBHOOK_KEY_ED25519_PRIVATE     /* whsk_: signs v1a */
} lg_webhook_key_e;


typedef struct {
    lg_webhook_key_e        kind;
    EVP_MAC_CTX            *mac;       /* keyed once; dup'ed per use */
    EVP_PKEY               *pkey;
} lg_webhook_key_t;


/* one piece of the signed content */
typedef enum {
    LG_WEBHOOK_PART_LITERAL = 0,
    LG_WEBHOOK_PART_ID,
    LG_WEBHOOK_PART_TIMESTAMP,
    LG_WEBHOOK_PART_BODY
} lg_webhook_part_e;


typedef struct {
    lg_webhook_part_e       type;
    lg_str_t                text;      /* LG_WEBHOOK_PART_LITERAL */
} lg_webhook_part_t;


/* how the signature header lists its signatures */
typedef enum {
    LG_WEBHOOK_LIST_STANDARD = 0,      /* "v1,<b64> v1a,<b64> ..." */
    LG_WEBHOOK_LIST_STRIPE,            /* "t=<ts>,v1=<hex>,v1=<hex>" */
    LG_WEBHOOK_LIST_SINGLE             /* "<prefix><encoded MAC>" */
} lg_webhook_list_e;


struct lg_webhook_s {
    lg_webhook_scheme_e     scheme;
    lg_webhook_purpose_e    purpose;
    lg_webhook_list_e       list;
    lg_str_t                header[LG_WEBHOOK_NHEADERS];
    lg_str_t                prefix;
    lg_webhook_part_t       parts[LG_WEBHOOK_MAX_PARTS];
    size_t                  nparts;
    unsigned                id_signed:1;   /* the MAC covers the id */
    lg_webhook_digest_e     digest;
    lg_webhook_encoding_e   encoding;
    size_t                  mac_len;
    int64_t                 tolerance;     /* 0: no timestamp */
    lg_webhook_key_t        keys[LG_WEBHOOK_MAX_SECRETS];
    size_t                  nkeys;
    size_t                  nhmac;         /* of the keys, HMAC ones */
    size_t                  used;
    char                    strings[LG_WEBHOOK_STRINGS];
};


/* err->text from a format; returns -1 */
int lg_webhook_error(lg_error_t *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void lg_webhook_key_free(lg_webhook_key_t *key);

/*
 * The MAC of the signed content with one HMAC key.  "ts" is the decimal
 * text of the timestamp as it is signed.
 */
int lg_webhook_mac(const lg_webhook_t *wh, const lg_webhook_key_t *key,
    const lg_str_t *id, const lg_str_t *ts, const unsigned char *body,
    size_t len, unsigned char *mac);

/* the signed content in one malloc()ed buffer, for ed25519 */
unsigned char *lg_webhook_content(const lg_webhook_t *wh, const lg_str_t *id,
    const lg_str_t *ts, const unsigned char *body, size_t len,
    size_t *content_len);

/* lowercase hex; dst holds 2 * len bytes */
void lg_webhook_hex_encode(const unsigned char *src, size_t len, char *dst);

/* either case; 0, or -1 unless exactly 2 * dst_len hex digits */
int lg_webhook_hex_decode(const char *src, size_t len, unsigned char *dst,
    size_t dst_len);


#endif /* _LG_WEBHOOK_INT_H_INCLUDED_ */
