
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_JSON_H_INCLUDED_
#define _LG_JSON_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


#define LG_JSON_PATH_MAX   512
#define LG_ERROR_MAX       1024


/*
 * Where in a JSON document the compiler is, written the way error messages
 * show it: $.partners.acme.api_keys[0].sha256.  Keys that are not plain
 * identifiers are quoted: $.scopes["tracking:read"].
 */

typedef struct {
    char    data[LG_JSON_PATH_MAX];
    size_t  len;
} lg_json_path_t;


typedef struct {
    char    text[LG_ERROR_MAX];
} lg_error_t;


void lg_json_path_init(lg_json_path_t *path);
size_t lg_json_path_key(lg_json_path_t *path, const char *key);
size_t lg_json_path_index(lg_json_path_t *path, size_t index);
void lg_json_path_pop(lg_json_path_t *path, size_t len);

int lg_error_set(lg_error_t *err, const char *file, const lg_json_path_t *path,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/*
 * reads and parses a whole file of at most "max_size" bytes, rejecting
 * duplicate keys; "flags" are further jansson decoding flags
 */
json_t *lg_json_load_file(const char *file, size_t max_size, size_t flags,
    lg_error_t *err);

/* parses a buffer; the path of a syntax error is located in the text */
json_t *lg_json_load_buffer(const char *file, const char *buf, size_t len,
    size_t flags, lg_error_t *err);


/*
 * appends a JSON string literal (with quotes) to buf; returns bytes needed.
 * When it does not fit, buf holds the longest prefix of whole characters
 * (escapes included) that does, terminated.
 */
size_t lg_json_escape(char *buf, size_t size, const char *s, size_t len);


#endif /* _LG_JSON_H_INCLUDED_ */
