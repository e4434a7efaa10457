
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lg_json.h"


#define LG_JSON_LOCATE_DEPTH  64


typedef struct {
    int          object;
    const char  *key;
    size_t       key_len;
    size_t       index;
} lg_json_frame_t;


static void lg_json_path_append(lg_json_path_t *path, const char *key,
    size_t len);
static int lg_json_is_plain_key(const char *key, size_t len);
static void lg_json_locate(const char *text, size_t len, size_t offset,
    lg_json_path_t *path);


void
lg_json_path_init(lg_json_path_t *path)
{
    path->data[0] = '$';
    path->data[1] = '\0';
    path->len = 1;
}


static int
lg_json_is_plain_key(const char *key, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = key[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static void
lg_json_path_append(lg_json_path_t *path, const char *key, size_t len)
{
    size_t  room, n;

    room = sizeof(path->data) - path->len;

    if (lg_json_is_plain_key(key, len)) {
        n = (size_t) snprintf(path->data + path->len, room, ".%.*s",
                              (int) len, key);

    } else {
        if (room < 4) {
            return;
        }

        path->data[path->len] = '[';
        n = 1 + lg_json_escape(path->data + path->len + 1, room - 2, key,
                               len);

        if (n + 1 < room) {
            path->data[path->len + n] = ']';
            path->data[path->len + n + 1] = '\0';
        }

        n++;
    }

    if (n >= room) {
        /* truncated: keep what fits, the start of a path is what helps */
        path->len = sizeof(path->data) - 1;
        path->data[path->len] = '\0';
        return;
    }

    path->len += n;
}


size_t
lg_json_path_key(lg_json_path_t *path, const char *key)
{
    size_t  saved;

    saved = path->len;
    lg_json_path_append(path, key, strlen(key));

    return saved;
}


size_t
lg_json_path_index(lg_json_path_t *path, size_t index)
{
    size_t  saved, room, n;

    saved = path->len;
    room = sizeof(path->data) - path->len;

    n = (size_t) snprintf(path->data + path->len, room, "[%zu]", index);

    if (n < room) {
        path->len += n;
    }

    return saved;
}


void
lg_json_path_pop(lg_json_path_t *path, size_t len)
{
    path->len = len;
    path->data[len] = '\0';
}


int
lg_error_set(lg_error_t *err, const char *file, const lg_json_path_t *path,
    const char *fmt, ...)
{
    int      n;
    size_t   used;
    va_list  args;

    if (path != NULL) {
        n = snprintf(err->text, sizeof(err->text), "%s: %s: ", file,
                     path->data);

    } else {
        n = snprintf(err->text, sizeof(err->text), "%s: ", file);
    }

    used = (n < 0) ? 0 : (size_t) n;

    if (used < sizeof(err->text)) {
        va_start(args, fmt);
        vsnprintf(err->text + used, sizeof(err->text) - used, fmt, args);
        va_end(args);
    }

    return -1;
}


json_t *
lg_json_load_file(const char *file, size_t max_size, size_t flags,
    lg_error_t *err)
{
    FILE         *f;
    char         *buf;
    size_t        n;
    json_t       *json;
    struct stat   st;

    f = fopen(file, "rb");
    if (f == NULL) {
        lg_error_set(err, file, NULL, "cannot open: %s", strerror(errno));
        return NULL;
    }

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        lg_error_set(err, file, NULL, "not a regular file");
        return NULL;
    }

    if ((size_t) st.st_size > max_size) {
        fclose(f);
        lg_error_set(err, file, NULL, "file is larger than %zu bytes",
                     max_size);
        return NULL;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        lg_error_set(err, file, NULL, "out of memory");
        return NULL;
    }

    n = fread(buf, 1, (size_t) st.st_size, f);
    fclose(f);

    if (n != (size_t) st.st_size) {
        free(buf);
        lg_error_set(err, file, NULL, "short read");
        return NULL;
    }

    json = lg_json_load_buffer(file, buf, n, flags, err);

    free(buf);

    return json;
}


json_t *
lg_json_load_buffer(const char *file, const char *buf, size_t len,
    size_t flags, lg_error_t *err)
{
    char            *near;
    json_t          *json;
    json_error_t     jerr;
    lg_json_path_t   path;

    json = json_loadb(buf, len, JSON_REJECT_DUPLICATES | flags, &jerr);

    if (json == NULL) {
        /*
         * jansson quotes the text around the error ("... near 'xyz'"): a
         * secret file named where JSON was expected would have its first
         * token printed on the terminal and in the log.  The reason and
         * the position say enough.
         */
        near = strstr(jerr.text, " near ");
        if (near != NULL) {
            *near = '\0';
        }

        /* the position is just past the offending token */
        lg_json_locate(buf, len, jerr.position > 0 ? jerr.position - 1 : 0,
                       &path);
        lg_error_set(err, file, &path, "%s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
        return NULL;
    }

    return json;
}


/*
 * jansson reports a byte offset for syntax errors and duplicate keys but
 * not where in the document that is.  A security team fixing a policy
 * wants "$.partners.acme: duplicate object key", so walk the text up to
 * the offset with a small scanner that only tracks containers, keys and
 * array indexes.
 */

static void
lg_json_locate(const char *text, size_t len, size_t offset,
    lg_json_path_t *path)
{
    int               expect_key;
    size_t            i, depth, k;
    const char       *start;
    lg_json_frame_t   frames[LG_JSON_LOCATE_DEPTH];

    lg_json_path_init(path);

    depth = 0;
    expect_key = 0;

    if (offset > len) {
        offset = len;
    }

    for (i = 0; i < offset; i++) {

        switch (text[i]) {

        case '{':
        case '[':
            if (depth < LG_JSON_LOCATE_DEPTH) {
                frames[depth].object = (text[i] == '{');
                frames[depth].key = NULL;
                frames[depth].key_len = 0;
                frames[depth].index = 0;
            }

            depth++;
            expect_key = (text[i] == '{');
            break;

        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }

            expect_key = 0;
            break;

        case ',':
            if (depth > 0 && depth <= LG_JSON_LOCATE_DEPTH) {
                if (frames[depth - 1].object) {
                    expect_key = 1;

                } else {
                    frames[depth - 1].index++;
                }
            }

            break;

        case ':':
            expect_key = 0;
            break;

        case '"':
            start = &text[i + 1];

            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\') {
                    i++;
                }
            }

            if (expect_key && depth > 0 && depth <= LG_JSON_LOCATE_DEPTH) {
                frames[depth - 1].key = start;
                frames[depth - 1].key_len = (size_t) (&text[i < len ? i : len]
                                                      - start);
            }

            break;

        default:
            break;
        }
    }

    for (k = 0; k < depth && k < LG_JSON_LOCATE_DEPTH; k++) {

        if (frames[k].object) {
            if (frames[k].key != NULL) {
                lg_json_path_append(path, frames[k].key, frames[k].key_len);
            }

        } else {
            lg_json_path_index(path, frames[k].index);
        }
    }
}


size_t
lg_json_escape(char *buf, size_t size, const char *s, size_t len)
{
    size_t          i, n, w;
    unsigned char   c;
    char            esc[8];
    const char     *add;
    size_t          add_len;

    static const char  hex[] = "0123456789abcdef";

    n = 0;
    w = 0;

    /*
     * n counts what the whole literal needs, w what is written: once a
     * piece does not fit nothing more is, so that a truncated literal is
     * a prefix of whole pieces, terminated right after it (not at
     * size - 1, past bytes never written).
     */

#define lg_json_put(p, l)                                                     \
    do {                                                                      \
        if (w == n && n + (l) < size) {                                       \
            memcpy(buf + n, (p), (l));                                        \
            w += (l);                                                         \
        }                                                                     \
        n += (l);                                                             \
    } while (0)

    lg_json_put("\"", 1);

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        switch (c) {
        case '"':  add = "\\\""; add_len = 2; break;
        case '\\': add = "\\\\"; add_len = 2; break;
        case '\n': add = "\\n"; add_len = 2; break;
        case '\r': add = "\\r"; add_len = 2; break;
        case '\t': add = "\\t"; add_len = 2; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                add = esc;
                add_len = 6;

            } else {
                add = (const char *) &s[i];
                add_len = 1;
            }
        }

        lg_json_put(add, add_len);
    }

    lg_json_put("\"", 1);

#undef lg_json_put

    if (size > 0) {
        buf[w] = '\0';
    }

    return n;
}
