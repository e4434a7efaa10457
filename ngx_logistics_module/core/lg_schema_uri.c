
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_schema_uri.h"


typedef struct {
    const char  *scheme;
    size_t       scheme_len;
    const char  *auth;           /* NULL: no authority */
    size_t       auth_len;
    const char  *path;
    size_t       path_len;
    const char  *query;          /* NULL: no query */
    size_t       query_len;
    const char  *frag;           /* NULL: no fragment */
    size_t       frag_len;
} lg_uri_t;


static void lg_uri_parse(const char *s, lg_uri_t *u);
static size_t lg_uri_remove_dots(char *path, size_t len);
static int lg_uri_hex(int c);


static void
lg_uri_parse(const char *s, lg_uri_t *u)
{
    const char  *p, *end;

    memset(u, 0, sizeof(lg_uri_t));

    end = s + strlen(s);

    /* scheme */
    for (p = s; p < end; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (p > s && ((*p >= '0' && *p <= '9') || *p == '+'
                            || *p == '-' || *p == '.'))))
        {
            break;
        }
    }

    if (p > s && p < end && *p == ':') {
        u->scheme = s;
        u->scheme_len = (size_t) (p - s);
        s = p + 1;
    }

    p = strchr(s, '#');
    if (p != NULL) {
        u->frag = p + 1;
        u->frag_len = (size_t) (end - p - 1);
        end = p;
    }

    p = memchr(s, '?', (size_t) (end - s));
    if (p != NULL) {
        u->query = p + 1;
        u->query_len = (size_t) (end - p - 1);
        end = p;
    }

    if (end - s >= 2 && s[0] == '/' && s[1] == '/') {
        s += 2;
        p = memchr(s, '/', (size_t) (end - s));
        if (p == NULL) {
            p = end;
        }

        u->auth = s;
        u->auth_len = (size_t) (p - s);
        s = p;
    }

    u->path = s;
    u->path_len = (size_t) (end - s);
}


/* RFC 3986 5.2.4, in place */

static size_t
lg_uri_remove_dots(char *path, size_t len)
{
    size_t  in, out, seg;

    in = 0;
    out = 0;

    while (in < len) {

        if (len - in >= 3 && memcmp(path + in, "../", 3) == 0) {
            in += 3;

        } else if (len - in >= 2 && memcmp(path + in, "./", 2) == 0) {
            in += 2;

        } else if (len - in >= 3 && memcmp(path + in, "/./", 3) == 0) {
            in += 2;

        } else if (len - in == 2 && memcmp(path + in, "/.", 2) == 0) {
            path[in + 1] = '/';
            in += 1;

        } else if ((len - in >= 4 && memcmp(path + in, "/../", 4) == 0)
                   || (len - in == 3 && memcmp(path + in, "/..", 3) == 0))
        {
            if (len - in == 3) {
                /* a trailing "/.." becomes "/" */
                path[in + 2] = '/';
                in += 2;

            } else {
                in += 3;
            }

            while (out > 0 && path[out - 1] != '/') {
                out--;
            }

            if (out > 0) {
                out--;
            }

        } else if ((len - in == 1 && path[in] == '.')
                   || (len - in == 2 && memcmp(path + in, "..", 2) == 0))
        {
            in = len;

        } else {
            seg = in;

            if (path[seg] == '/') {
                seg++;
            }

            while (seg < len && path[seg] != '/') {
                seg++;
            }

            memmove(path + out, path + in, seg - in);
            out += seg - in;
            in = seg;
        }
    }

    return out;
}


char *
lg_schema_uri_resolve(lg_arena_t *arena, const char *base, const char *ref)
{
    char      *buf, *p, *path;
    size_t     size, n;
    lg_uri_t   b, r, t;

    lg_uri_parse(base, &b);
    lg_uri_parse(ref, &r);

    size = strlen(base) + strlen(ref) + 8;

    path = lg_arena_alloc(arena, size);
    if (path == NULL) {
        return NULL;
    }

    t = r;

    if (r.scheme != NULL) {
        memcpy(path, r.path, r.path_len);
        t.path_len = lg_uri_remove_dots(path, r.path_len);

    } else {
        t.scheme = b.scheme;
        t.scheme_len = b.scheme_len;

        if (r.auth != NULL) {
            memcpy(path, r.path, r.path_len);
            t.path_len = lg_uri_remove_dots(path, r.path_len);

        } else {
            t.auth = b.auth;
            t.auth_len = b.auth_len;

            if (r.path_len == 0) {
                memcpy(path, b.path, b.path_len);
                t.path_len = b.path_len;

                if (r.query == NULL) {
                    t.query = b.query;
                    t.query_len = b.query_len;
                }

            } else if (r.path[0] == '/') {
                memcpy(path, r.path, r.path_len);
                t.path_len = lg_uri_remove_dots(path, r.path_len);

            } else {
                /* merge: the base path up to its last '/' */
                n = 0;

                if (b.auth != NULL && b.path_len == 0) {
                    path[n++] = '/';

                } else {
                    for (n = b.path_len; n > 0; n--) {
                        if (b.path[n - 1] == '/') {
                            break;
                        }
                    }

                    memcpy(path, b.path, n);
                }

                memcpy(path + n, r.path, r.path_len);
                t.path_len = lg_uri_remove_dots(path, n + r.path_len);
            }
        }
    }

    t.path = path;

    buf = lg_arena_alloc(arena, size + t.path_len);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;

    if (t.scheme != NULL) {
        memcpy(p, t.scheme, t.scheme_len);
        p += t.scheme_len;
        *p++ = ':';
    }

    if (t.auth != NULL) {
        *p++ = '/';
        *p++ = '/';
        memcpy(p, t.auth, t.auth_len);
        p += t.auth_len;
    }

    memcpy(p, t.path, t.path_len);
    p += t.path_len;

    if (t.query != NULL) {
        *p++ = '?';
        memcpy(p, t.query, t.query_len);
        p += t.query_len;
    }

    if (t.frag != NULL) {
        *p++ = '#';
        memcpy(p, t.frag, t.frag_len);
        p += t.frag_len;
    }

    *p = '\0';

    return buf;
}


char *
lg_schema_uri_split(lg_arena_t *arena, const char *uri, const char **frag)
{
    char  *s, *hash;

    s = lg_arena_strndup(arena, uri, strlen(uri));
    if (s == NULL) {
        return NULL;
    }

    hash = strchr(s, '#');

    if (hash != NULL) {
        *hash = '\0';
        *frag = hash + 1;

    } else {
        *frag = NULL;
    }

    return s;
}


int
lg_schema_uri_absolute(const char *uri)
{
    lg_uri_t  u;

    lg_uri_parse(uri, &u);

    return u.scheme != NULL;
}


int
lg_schema_uri_scheme_is(const char *uri, const char *scheme)
{
    size_t  n;

    n = strlen(scheme);

    return strncasecmp(uri, scheme, n) == 0 && uri[n] == ':';
}


char *
lg_schema_uri_from_path(lg_arena_t *arena, const char *path)
{
    char           *uri, *p;
    size_t          len;
    unsigned char   c;

    static const char  hex[] = "0123456789ABCDEF";

    len = strlen(path);

    uri = lg_arena_alloc(arena, 8 + len * 3 + 1);
    if (uri == NULL) {
        return NULL;
    }

    memcpy(uri, "file://", 7);
    p = uri + 7;

    for ( /* void */ ; *path != '\0'; path++) {
        c = (unsigned char) *path;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || strchr("/-._~!$&'()*+,;=:@", c))
        {
            *p++ = (char) c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    *p = '\0';

    return uri;
}


char *
lg_schema_uri_to_path(lg_arena_t *arena, const char *uri)
{
    char      *path;
    size_t     n;
    lg_uri_t   u;

    if (!lg_schema_uri_scheme_is(uri, "file")) {
        return NULL;
    }

    lg_uri_parse(uri, &u);

    if (u.auth != NULL && u.auth_len != 0
        && !(u.auth_len == 9 && strncmp(u.auth, "localhost", 9) == 0))
    {
        return NULL;
    }

    path = lg_arena_strndup(arena, u.path, u.path_len);
    if (path == NULL) {
        return NULL;
    }

    n = lg_schema_uri_decode(path, u.path_len);

    if (memchr(path, '\0', n) != NULL) {
        return NULL;
    }

    return path;
}


static int
lg_uri_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


size_t
lg_schema_uri_decode(char *s, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len
            && (hi = lg_uri_hex(s[i + 1])) >= 0
            && (lo = lg_uri_hex(s[i + 2])) >= 0)
        {
            s[n++] = (char) (hi * 16 + lo);
            i += 2;

        } else {
            s[n++] = s[i];
        }
    }

    s[n] = '\0';

    return n;
}
