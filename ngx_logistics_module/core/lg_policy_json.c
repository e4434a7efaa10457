
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Reading policy fields.  Every reader checks the type and the value,
 * and on failure writes "file: json.path: reason" with the path of the
 * field (lg_fail()) and returns -1.  An absent optional field leaves the
 * output as the caller initialised it: the caller holds the default.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lg_policy_int.h"


static const char *lg_json_type_name(json_t *j);
static int lg_size_parse(const char *s, size_t len, int64_t *size);


int
lg_fail(lg_compile_t *c, const char *fmt, ...)
{
    int      n;
    size_t   used;
    va_list  args;

    n = snprintf(c->err->text, sizeof(c->err->text), "%s: %s: ",
                 c->doc != NULL ? c->doc->file : c->policy->file.data,
                 c->path.data);

    used = (n < 0) ? 0 : (size_t) n;

    if (used < sizeof(c->err->text)) {
        va_start(args, fmt);
        vsnprintf(c->err->text + used, sizeof(c->err->text) - used, fmt,
                  args);
        va_end(args);
    }

    return -1;
}


/* what is allowed but unwise: kept for nginx -t and the CLI to show */

void
lg_warn(lg_compile_t *c, const char *fmt, ...)
{
    int       n;
    char      text[512];
    size_t    used;
    va_list   args;
    lg_str_t *w;

    if (c->policy->nwarnings == LG_POLICY_MAX_WARNINGS) {
        return;
    }

    n = snprintf(text, sizeof(text), "%s: %s: ",
                 c->doc != NULL ? c->doc->file : c->policy->file.data,
                 c->path.data);

    used = (n < 0) ? 0 : (size_t) n;

    if (used < sizeof(text)) {
        va_start(args, fmt);
        vsnprintf(text + used, sizeof(text) - used, fmt, args);
        va_end(args);
    }

    w = &c->policy->warnings[c->policy->nwarnings];

    if (lg_arena_str(&c->policy->arena, w, text, strlen(text)) == 0) {
        c->policy->nwarnings++;
    }
}


static const char *
lg_json_type_name(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}


/* unknown fields are errors: a typo must never weaken a policy */

int
lg_fields(lg_compile_t *c, json_t *obj, const char *const *allowed,
    const char *const *required)
{
    size_t             saved;
    json_t            *value;
    const char        *key;
    const char *const *f;

    if (!json_is_object(obj)) {
        return lg_fail(c, "must be an object, not %s", lg_json_type_name(obj));
    }

    json_object_foreach(obj, key, value) {

        for (f = allowed; *f != NULL; f++) {
            if (strcmp(*f, key) == 0) {
                break;
            }
        }

        if (*f == NULL) {
            saved = lg_json_path_key(&c->path, key);
            lg_fail(c, "unknown field");
            lg_json_path_pop(&c->path, saved);
            return -1;
        }
    }

    for (f = required; f != NULL && *f != NULL; f++) {
        if (json_object_get(obj, *f) == NULL) {
            return lg_fail(c, "missing required field \"%s\"", *f);
        }
    }

    return 0;
}


/* a string without NUL, copied into the arena (NUL-terminated there) */

int
lg_get_string(lg_compile_t *c, json_t *obj, const char *key, int required,
    lg_str_t *out)
{
    int      rc;
    size_t   saved;
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        out->data = NULL;
        out->len = 0;
        return required ? lg_fail(c, "missing required field \"%s\"", key)
                        : 0;
    }

    saved = lg_json_path_key(&c->path, key);

    if (!json_is_string(v)) {
        rc = lg_fail(c, "must be a string, not %s", lg_json_type_name(v));

    } else if (memchr(json_string_value(v), '\0', json_string_length(v))
               != NULL)
    {
        rc = lg_fail(c, "must not contain NUL");

    } else {
        rc = lg_arena_str(&c->policy->arena, out, json_string_value(v),
                          json_string_length(v));
        if (rc != 0) {
            lg_fail(c, "out of memory");
        }
    }

    if (rc == 0) {
        lg_json_path_pop(&c->path, saved);
    }

    return rc;
}


int
lg_get_bool(lg_compile_t *c, json_t *obj, const char *key, int *out)
{
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_boolean(v)) {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "must be true or false");
    }

    *out = json_is_true(v);

    return 0;
}


int
lg_get_integer(lg_compile_t *c, json_t *obj, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_integer(v) || json_integer_value(v) < min
        || json_integer_value(v) > max)
    {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "must be an integer from %lld to %lld",
                       (long long) min, (long long) max);
    }

    *out = (int64_t) json_integer_value(v);

    return 0;
}


/* an RFC 3339 date-time, in msec; absent: LG_TIME_UNSET */

int
lg_get_time(lg_compile_t *c, json_t *obj, const char *key, int64_t *out)
{
    size_t    saved;
    lg_str_t  s;

    *out = LG_TIME_UNSET;

    if (lg_get_string(c, obj, key, 0, &s) != 0) {
        return -1;
    }

    if (s.data == NULL) {
        return 0;
    }

    saved = lg_json_path_key(&c->path, key);

    if (lg_time_parse_rfc3339(s.data, s.len, out) != 0) {
        return lg_fail(c, "invalid date-time \"%s\" (RFC 3339, e.g. "
                       "\"2027-01-01T00:00:00Z\")", s.data);
    }

    lg_json_path_pop(&c->path, saved);

    return 0;
}


/*
 * "500ms", "30s", "15m", "24h", "7d" from min to max msec; "hint" follows
 * the message, e.g. " (e.g. \"30s\")"
 */

int
lg_get_duration(lg_compile_t *c, json_t *obj, const char *key, int64_t min,
    int64_t max, const char *hint, int64_t *out)
{
    int64_t   ms;
    lg_str_t  s;

    if (lg_get_string(c, obj, key, 0, &s) != 0) {
        return -1;
    }

    if (s.data == NULL) {
        return 0;
    }

    if (lg_duration_parse(s.data, s.len, &ms) != 0 || ms < min || ms > max) {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "invalid duration \"%s\"%s", s.data, hint);
    }

    *out = ms;

    return 0;
}


/* "512", "64k", "1m": bytes, at most 64m */

int
lg_get_size(lg_compile_t *c, json_t *obj, const char *key, const char *hint,
    int64_t *out)
{
    lg_str_t  s;

    if (lg_get_string(c, obj, key, 0, &s) != 0) {
        return -1;
    }

    if (s.data != NULL && lg_size_parse(s.data, s.len, out) != 0) {
        lg_json_path_key(&c->path, key);
        return lg_fail(c, "invalid size \"%s\"%s", s.data, hint);
    }

    return 0;
}


static int
lg_size_parse(const char *s, size_t len, int64_t *size)
{
    size_t   i;
    int64_t  v, unit;

    v = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');

        if (v > 64 * 1024 * 1024) {
            return -1;
        }
    }

    if (i == 0) {
        return -1;
    }

    unit = 1;

    if (i + 1 == len && (s[i] == 'k' || s[i] == 'K')) {
        unit = 1024;

    } else if (i + 1 == len && (s[i] == 'm' || s[i] == 'M')) {
        unit = 1024 * 1024;

    } else if (i != len) {
        return -1;
    }

    v *= unit;

    if (v == 0 || v > 64 * 1024 * 1024) {
        return -1;
    }

    *size = v;

    return 0;
}


/* s must match [first][rest]{0,max-1} */

int
lg_match_name(const char *s, size_t len, const char *first, const char *rest,
    size_t max)
{
    size_t  i;

    if (len == 0 || len > max || strchr(first, s[0]) == NULL) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (s[i] == '\0' || strchr(rest, s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/*
 * 64 hex digits (either case) into 32 bytes.  Case is folded by setting
 * bit 0x20, as the hash fields always have been read.
 */

int
lg_sha256_from_hex(const char *hex, uint8_t *sha256)
{
    int     k, digit[2];
    char    ch;
    size_t  i;

    for (i = 0; i < 32; i++) {

        for (k = 0; k < 2; k++) {
            ch = (char) (hex[2 * i + k] | 0x20);

            if (ch >= '0' && ch <= '9') {
                digit[k] = ch - '0';

            } else if (ch >= 'a' && ch <= 'f') {
                digit[k] = ch - 'a' + 10;

            } else {
                return -1;
            }
        }

        sha256[i] = (uint8_t) (digit[0] << 4 | digit[1]);
    }

    return 0;
}
