
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_B64_H_INCLUDED_
#define _LG_B64_H_INCLUDED_


#include <stddef.h>


/*
 * base64url without padding (RFC 4648 section 5, RFC 7515 section 2).
 * Decoding is strict: only the 64 alphabet characters, no "=", no
 * whitespace, a length that is not 1 modulo 4, and zero unused bits in the
 * last character, so that every byte string has exactly one accepted
 * encoding and a token cannot be altered without changing its bytes.
 */

/* upper bounds of the output sizes */
#define lg_b64url_decoded_max(len)  ((len) / 4 * 3 + 2)
#define lg_b64url_encoded_len(len)  ((len) / 3 * 4 + ((len) % 3 * 4 + 2) / 3)


/* returns 0 and the decoded length, or -1 on any non-canonical input */
int lg_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dst_len);

/*
 * Test-only exports: the unit tests sign tokens with the encoder, the
 * JWS fuzz target checks the decoder against the alphabet test.
 */

/* 1 when every byte is in the base64url alphabet */
int lg_b64url_valid_chars(const char *src, size_t len);

/* writes lg_b64url_encoded_len(len) bytes, no NUL; returns that length */
size_t lg_b64url_encode(const unsigned char *src, size_t len, char *dst);


/*
 * Standard base64 (RFC 4648 section 4) with padding, as webhook senders
 * write signatures and keys.  Decoding is strict in the same way: only
 * the padding the encoder writes, zero unused bits, nothing else.
 */

#define lg_b64_decoded_max(len)  ((len) / 4 * 3)
#define lg_b64_encoded_len(len)  (((len) + 2) / 3 * 4)

int lg_b64_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dst_len);

/* writes lg_b64_encoded_len(len) bytes, no NUL; returns that length */
size_t lg_b64_encode(const unsigned char *src, size_t len, char *dst);


#endif /* _LG_B64_H_INCLUDED_ */
