
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_IDEM_H_INCLUDED_
#define _LG_IDEM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * Idempotency-Key (IETF httpapi draft): the header's syntax, and the
 * records kept under a claimed key, in Redis or in the shared zone.  The
 * same bytes go to both stores, so a node that moves between them reads
 * what the other wrote.
 *
 *   lock   'L' fingerprint(32) lock id(16)
 *   done   'D' fingerprint(32) status(2) headers length(4) headers body
 *   gone   'H' ...as done, with no body: the response was too large
 *              to keep, a retry gets 410
 *
 * Integers are little-endian.  Headers are "Name: value\r\n" lines, the
 * Content-Type first when there is one.
 */

#define LG_IDEM_KEY_MAX     255
#define LG_IDEM_FP_LEN      32
#define LG_IDEM_LOCK_ID_LEN 16
#define LG_IDEM_LOCK_LEN    (1 + LG_IDEM_FP_LEN + LG_IDEM_LOCK_ID_LEN)
#define LG_IDEM_DONE_HDR    (1 + LG_IDEM_FP_LEN + 2 + 4)

#define LG_IDEM_LOCK        'L'
#define LG_IDEM_DONE        'D'
#define LG_IDEM_GONE        'H'


typedef struct {
    int             type;          /* LG_IDEM_LOCK, _DONE or _GONE */
    const uint8_t  *fingerprint;   /* LG_IDEM_FP_LEN bytes */
    unsigned        status;        /* done and gone */
    const char     *headers;
    size_t          headers_len;
    const char     *body;
    size_t          body_len;
} lg_idem_record_t;


/*
 * The key of an Idempotency-Key header value: a structured-field string
 * ("...", printable ASCII without quote or backslash) or a bare token,
 * 1..LG_IDEM_KEY_MAX bytes.  0 and the key (inside value), or -1.
 */
int lg_idem_key_parse(const char *value, size_t len, const char **key,
    size_t *key_len);

/* writes LG_IDEM_LOCK_LEN bytes */
void lg_idem_lock_encode(uint8_t *out, const uint8_t *fingerprint,
    const uint8_t *lock_id);

/* a done record (gone when "gone" is set: the body is left out) */
size_t lg_idem_done_size(int gone, size_t headers_len, size_t body_len);
size_t lg_idem_done_encode(uint8_t *out, int gone,
    const uint8_t *fingerprint, unsigned status, const char *headers,
    size_t headers_len, const char *body, size_t body_len);

/* 0, or -1 when the bytes are not a record */
int lg_idem_record_decode(const uint8_t *data, size_t len,
    lg_idem_record_t *rec);

/* the record belongs to a request with this fingerprint */
int lg_idem_record_matches(const lg_idem_record_t *rec,
    const uint8_t *fingerprint);

/*
 * The next "Name: value\r\n" line of a record's headers: 1 with name and
 * value set and *pos moved past the line, 0 at the end or at a line that
 * is not a header.
 */
int lg_idem_header_next(const char **pos, const char *end, const char **name,
    size_t *name_len, const char **value, size_t *value_len);


#endif /* _LG_IDEM_H_INCLUDED_ */
