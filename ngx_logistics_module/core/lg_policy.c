
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The policy compiler's entry: reads the root file and the files it
 * includes, compiles each section of the policy (the table below) and
 * hands back one read-only structure.  Sections live in lg_policy_*.c
 * (see lg_policy_int.h).
 */

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "lg_policy_int.h"


static int lg_compile(lg_compile_t *c, const char *file);
static int lg_add_doc(lg_compile_t *c, const char *file, int root);
static int lg_load_includes(lg_compile_t *c);
static void lg_compile_release(lg_compile_t *c);
static int lg_policy_digest(lg_compile_t *c);


/*
 * The members of the root object, in the order they compile.  The root's
 * own settings come first, before any other file is read (a bad
 * "fail_mode" is reported before a missing include); then the sections
 * that may be spread over included files, each after the sections it
 * refers to: scopes before everything that lists scopes, issuers and
 * apis before the partners bound to them and limited on them.  "$schema"
 * is only allowed, for editors.  A row without a name is a pass over
 * members of other sections once they compiled ("protect" reads the
 * APIs' "odoo", the routes' "priority" and the partners' caps).
 */

static const lg_policy_section_t  lg_policy_sections[] = {
    { "$schema",     1, NULL,                   NULL },
    { "fail_mode",   0, lg_compile_fail_mode,   NULL },
    { "revocation_fail_mode", 0, lg_compile_revocation_fail_mode, NULL },
    { "strict_secret_files", 0, lg_compile_secret_files, NULL },
    { "validation",  0, lg_compile_validation,  NULL },
    { "idempotency", 0, lg_compile_idempotency, NULL },
    { "include",     0, lg_load_includes,       NULL },
    { "scopes",      1, lg_compile_scopes,      lg_finish_scopes },
    { "issuers",     1, lg_compile_issuers,     lg_finish_issuers },
    { "apis",        1, lg_compile_apis,        lg_finish_apis },
    { "partners",    1, lg_compile_partners,    lg_finish_partners },
    { NULL,          0, lg_compile_protect,     NULL },
};

#define LG_NSECTIONS                                                          \
    (sizeof(lg_policy_sections) / sizeof(lg_policy_sections[0]))


lg_policy_t *
lg_policy_load(const char *file, lg_error_t *err)
{
    int            rc;
    lg_policy_t   *p;
    lg_compile_t   c;

    memset(&c, 0, sizeof(lg_compile_t));

    p = calloc(1, sizeof(lg_policy_t));
    if (p == NULL) {
        lg_error_set(err, file, NULL, "out of memory");
        return NULL;
    }

    c.policy = p;
    c.err = err;
    lg_json_path_init(&c.path);

    if (lg_arena_str(&p->arena, &p->file, file, strlen(file)) != 0) {
        free(p);
        lg_error_set(err, file, NULL, "out of memory");
        return NULL;
    }

    rc = lg_compile(&c, file);

    lg_compile_release(&c);

    if (rc != 0) {
        lg_policy_free(p);
        return NULL;
    }

    return p;
}


/* what a section owns outside the arena is released by arena cleanups */

void
lg_policy_free(lg_policy_t *policy)
{
    if (policy == NULL) {
        return;
    }

    lg_arena_free(&policy->arena);
    free(policy);
}


static int
lg_compile(lg_compile_t *c, const char *file)
{
    size_t                      i;
    const lg_policy_section_t  *s;

    c->scope_map = json_object();
    c->route_map = json_object();
    c->partner_map = json_object();
    c->api_map = json_object();
    c->hash_map = json_object();
    c->issuer_map = json_object();

    if (c->scope_map == NULL || c->route_map == NULL
        || c->partner_map == NULL || c->api_map == NULL
        || c->hash_map == NULL || c->issuer_map == NULL)
    {
        lg_error_set(c->err, file, NULL, "out of memory");
        return -1;
    }

    if (lg_add_doc(c, file, 1) != 0) {
        return -1;
    }

    for (i = 0; i < LG_NSECTIONS; i++) {
        s = &lg_policy_sections[i];

        c->doc = &c->docs[0];
        lg_json_path_init(&c->path);

        if (s->compile != NULL && s->compile(c) != 0) {
            return -1;
        }
    }

    for (i = 0; i < LG_NSECTIONS; i++) {
        s = &lg_policy_sections[i];

        c->doc = &c->docs[0];
        lg_json_path_init(&c->path);

        if (s->finish != NULL && s->finish(c) != 0) {
            return -1;
        }
    }

    c->policy->nfiles = c->ndocs;

    return lg_policy_digest(c);
}


/*
 * What identifies a policy across nodes and reloads (the metrics'
 * logistics_policy_info): the SHA-256 of its documents in the order they
 * were read, each as canonical JSON (sorted keys, no spaces), so that
 * reformatting a file changes nothing and any change of content does.
 * Schemas and secret files are not in it.
 */

static int
lg_policy_digest(lg_compile_t *c)
{
    int           ok;
    char         *text;
    size_t        i;
    unsigned int  len;
    EVP_MD_CTX   *md;
    uint8_t       digest[32];

    static const char  hex[] = "0123456789abcdef";

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return lg_fail(c, "out of memory");
    }

    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);

    for (i = 0; ok && i < c->ndocs; i++) {
        text = json_dumps(c->docs[i].json, JSON_COMPACT | JSON_SORT_KEYS
                                           | JSON_ENCODE_ANY);
        if (text == NULL) {
            ok = 0;
            break;
        }

        /* the NUL separates one document from the next */
        ok = EVP_DigestUpdate(md, text, strlen(text) + 1);
        free(text);
    }

    ok = ok && EVP_DigestFinal_ex(md, digest, &len);

    EVP_MD_CTX_free(md);

    if (!ok) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < 32; i++) {
        c->policy->digest[2 * i] = hex[digest[i] >> 4];
        c->policy->digest[2 * i + 1] = hex[digest[i] & 0x0f];
    }

    c->policy->digest[64] = '\0';

    return 0;
}


static void
lg_compile_release(lg_compile_t *c)
{
    size_t  i;

    for (i = 0; i < c->ndocs; i++) {
        json_decref(c->docs[i].json);
        free(c->docs[i].file);
        free(c->docs[i].dir);
    }

    free(c->docs);
    json_decref(c->scope_map);
    json_decref(c->route_map);
    json_decref(c->partner_map);
    json_decref(c->api_map);
    json_decref(c->hash_map);
    json_decref(c->issuer_map);
}


/* reads a policy file; its members must be sections it may hold */

static int
lg_add_doc(lg_compile_t *c, const char *file, int root)
{
    char        *slash;
    size_t       i, n;
    lg_doc_t    *d, *docs;
    const char  *allowed[LG_NSECTIONS + 1];

    docs = realloc(c->docs, (c->ndocs + 1) * sizeof(lg_doc_t));
    if (docs == NULL) {
        return lg_fail(c, "out of memory");
    }

    c->docs = docs;
    d = &c->docs[c->ndocs];

    memset(d, 0, sizeof(lg_doc_t));

    d->root = root;
    d->file = strdup(file);
    d->dir = strdup(file);

    if (d->file == NULL || d->dir == NULL) {
        free(d->file);
        free(d->dir);
        return lg_fail(c, "out of memory");
    }

    slash = strrchr(d->dir, '/');

    if (slash == NULL) {
        strcpy(d->dir, ".");

    } else if (slash == d->dir) {
        d->dir[1] = '\0';

    } else {
        *slash = '\0';
    }

    c->ndocs++;

    d->json = lg_json_load_file(file, LG_POLICY_MAX_FILE, 0, c->err);
    if (d->json == NULL) {
        return -1;
    }

    c->doc = d;
    lg_json_path_init(&c->path);

    n = 0;

    for (i = 0; i < LG_NSECTIONS; i++) {
        if (lg_policy_sections[i].name != NULL
            && (root || lg_policy_sections[i].included))
        {
            allowed[n++] = lg_policy_sections[i].name;
        }
    }

    allowed[n] = NULL;

    return lg_fields(c, d->json, allowed, NULL);
}


/*
 * "include" lets a security team keep one file per partner (or per API):
 * entries are paths or glob patterns relative to the root policy file.
 * A pattern with wildcards may match nothing (an empty partners/ folder);
 * a plain path must exist.  A file included twice is an error, not a
 * silent merge, because the second copy would redefine every entry.
 */

static int
lg_load_includes(lg_compile_t *c)
{
    int          rc;
    char        *pattern, real[PATH_MAX];
    size_t       i, j, k;
    json_t      *list, *item;
    glob_t       g;
    lg_doc_t    *root;
    const char  *s;

    root = &c->docs[0];
    list = json_object_get(root->json, "include");

    if (list == NULL) {
        return 0;
    }

    lg_json_path_key(&c->path, "include");

    if (!json_is_array(list)) {
        return lg_fail(c, "must be an array of file names");
    }

    json_array_foreach(list, i, item) {
        c->doc = root;
        lg_json_path_init(&c->path);
        lg_json_path_key(&c->path, "include");
        lg_json_path_index(&c->path, i);

        if (!json_is_string(item) || json_string_length(item) == 0) {
            return lg_fail(c, "must be a non-empty string");
        }

        s = json_string_value(item);

        pattern = lg_resolve(c, s);
        if (pattern == NULL) {
            return lg_fail(c, "out of memory");
        }

        /* like nginx's own include: a wildcard may match nothing */
        rc = glob(pattern, 0, NULL, &g);
        free(pattern);

        if (rc == GLOB_NOMATCH) {
            globfree(&g);

            if (strpbrk(s, "*?[") != NULL) {
                continue;
            }

            return lg_fail(c, "file \"%s\" not found", s);
        }

        if (rc != 0) {
            globfree(&g);
            return lg_fail(c, "cannot read \"%s\"", s);
        }

        for (j = 0; j < g.gl_pathc; j++) {

            if (c->ndocs >= LG_POLICY_MAX_INCLUDES) {
                globfree(&g);
                return lg_fail(c, "more than %d included files",
                               LG_POLICY_MAX_INCLUDES);
            }

            if (realpath(g.gl_pathv[j], real) == NULL) {
                globfree(&g);
                return lg_fail(c, "cannot resolve \"%s\": %s", s,
                               strerror(errno));
            }

            for (k = 0; k < c->ndocs; k++) {
                char  other[PATH_MAX];

                if (realpath(c->docs[k].file, other) != NULL
                    && strcmp(other, real) == 0)
                {
                    globfree(&g);
                    return lg_fail(c, "\"%s\" is included twice", real);
                }
            }

            if (lg_add_doc(c, g.gl_pathv[j], 0) != 0) {
                globfree(&g);
                return -1;
            }

            /* lg_add_doc() may have moved the documents */
            root = &c->docs[0];
        }

        globfree(&g);
    }

    return 0;
}


/* a file named in the policy, relative to the file naming it */

char *
lg_resolve(lg_compile_t *c, const char *rel)
{
    size_t   n;
    char    *p;

    if (rel[0] == '/') {
        return strdup(rel);
    }

    n = strlen(c->doc->dir) + 1 + strlen(rel) + 1;

    p = malloc(n);
    if (p == NULL) {
        return NULL;
    }

    snprintf(p, n, "%s/%s", c->doc->dir, rel);

    return p;
}


/*
 * Secret files (Odoo credentials, shared secrets) readable by the group
 * or by others: a warning, or an error with strict_secret_files.  The
 * message names the file, never what is in it.
 */

int
lg_secret_mode(lg_compile_t *c, const char *rel, const struct stat *st)
{
    if (!(st->st_mode & (S_IRWXG | S_IRWXO))) {
        return 0;
    }

    if (c->policy->strict_secret_files) {
        return lg_fail(c, "secret file \"%s\" is readable by group or "
                       "others (mode %04o): chmod 600 it", rel,
                       (unsigned) (st->st_mode & 07777));
    }

    lg_warn(c, "secret file \"%s\" is readable by group or others "
            "(mode %04o): chmod 600 it", rel,
            (unsigned) (st->st_mode & 07777));

    return 0;
}


/*
 * A whole regular file of at most "max" bytes, malloc()ed: a secret (a
 * shared secret file), so its mode is checked too.
 */

int
lg_read_file(lg_compile_t *c, const char *rel, size_t max,
    unsigned char **data, size_t *len)
{
    FILE         *f;
    char         *file;
    size_t        n;
    struct stat   st;

    file = lg_resolve(c, rel);
    if (file == NULL) {
        return lg_fail(c, "out of memory");
    }

    f = fopen(file, "rb");

    if (f == NULL) {
        lg_fail(c, "cannot open \"%s\": %s", file, strerror(errno));
        free(file);
        return -1;
    }

    free(file);

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (size_t) st.st_size > max)
    {
        fclose(f);
        return lg_fail(c, "\"%s\" is not a regular file of at most %zu "
                       "bytes", rel, max);
    }

    if (lg_secret_mode(c, rel, &st) != 0) {
        fclose(f);
        return -1;
    }

    *data = malloc((size_t) st.st_size + 1);
    if (*data == NULL) {
        fclose(f);
        return lg_fail(c, "out of memory");
    }

    n = fread(*data, 1, (size_t) st.st_size, f);
    fclose(f);

    *len = n;

    return 0;
}


/*
 * How many members "key" has across all documents (array_members: how
 * many routes its APIs have), to size a section's table once.
 */

size_t
lg_count(lg_compile_t *c, const char *key, int array_members)
{
    size_t       i, n;
    json_t      *v, *api, *routes;
    const char  *name;

    n = 0;

    for (i = 0; i < c->ndocs; i++) {
        v = json_object_get(c->docs[i].json, key);

        if (!json_is_object(v)) {
            continue;
        }

        if (!array_members) {
            n += json_object_size(v);
            continue;
        }

        json_object_foreach(v, name, api) {
            routes = json_object_get(api, "routes");

            if (json_is_array(routes)) {
                n += json_array_size(routes);
            }
        }
    }

    return n;
}


/*
 * Every member of a section ("partners", "issuers") across the policy
 * files, each name defined once; "fn" compiles member number "index".
 */

int
lg_each_member(lg_compile_t *c, const char *section, const char *what,
    json_t *map, lg_member_pt fn)
{
    size_t       i, saved, s, index;
    json_t      *obj, *v;
    const char  *name;

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        obj = json_object_get(c->doc->json, section);
        if (obj == NULL) {
            continue;
        }

        saved = lg_json_path_key(&c->path, section);

        if (!json_is_object(obj)) {
            return lg_fail(c, "must be an object of %s names", what);
        }

        json_object_foreach(obj, name, v) {
            s = lg_json_path_key(&c->path, name);

            if (json_object_get(map, name) != NULL) {
                return lg_fail(c, "%s \"%s\" is defined twice", what, name);
            }

            index = json_object_size(map);

            if (json_object_set_new(map, name, json_integer((json_int_t) index))
                != 0)
            {
                return lg_fail(c, "out of memory");
            }

            if (fn(c, name, v, index) != 0) {
                return -1;
            }

            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    return 0;
}
