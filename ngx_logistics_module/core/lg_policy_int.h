
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_POLICY_INT_H_INCLUDED_
#define _LG_POLICY_INT_H_INCLUDED_


/*
 * The policy compiler's shared state, for its files only; lg_policy.h is
 * the public API.  One file per section of the policy:
 *
 *   lg_policy.c           loading, "include", the section table,
 *                         lg_policy_load() and lg_policy_free()
 *   lg_policy_json.c      reading fields: messages, types, names, sizes,
 *                         durations, dates
 *   lg_policy_root.c      "fail_mode", "revocation_fail_mode",
 *                         "strict_secret_files", "validation",
 *                         "idempotency"
 *   lg_policy_scopes.c    "scopes" and scope lists
 *   lg_policy_apis.c      "apis": versions, the router
 *   lg_policy_routes.c    the routes of an API: paths, credentials,
 *                         idempotency, body sizes, schemas
 *   lg_policy_partners.c  "partners": keys, limits, credentials, mtls
 *   lg_policy_issuers.c   "issuers" and partners' "jwt" bindings
 *   lg_policy_protect.c   "protect Odoo": the APIs' "odoo", the routes'
 *                         "priority" and "breaker_group", the partners'
 *                         "max_in_flight" and "priority_ceiling"
 *   lg_policy_lookup.c    what requests look up in a compiled policy
 *
 * A new section is a new file with its compile function (and a finish
 * function if it sorts or indexes once everything is known), and one row
 * in lg_policy_sections[] (lg_policy.c).  Memory a section owns outside
 * the arena (keys, handles) is released by an arena cleanup, so
 * lg_policy_free() needs no change.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "lg_policy.h"


#define LG_LOWER_DIGIT  "abcdefghijklmnopqrstuvwxyz0123456789"
#define LG_ALNUM        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                        "0123456789"


typedef struct lg_compile_s  lg_compile_t;

typedef int (*lg_section_pt)(lg_compile_t *c);
typedef int (*lg_member_pt)(lg_compile_t *c, const char *name, json_t *value,
    size_t index);


typedef struct {
    char            *file;           /* as written in messages */
    char            *dir;            /* for relative references */
    json_t          *json;
    int              root;
} lg_doc_t;


struct lg_compile_s {
    lg_policy_t     *policy;
    lg_error_t      *err;
    lg_doc_t        *docs;           /* [0] is the root file */
    size_t           ndocs;
    lg_doc_t        *doc;            /* the document being compiled */
    lg_json_path_t   path;           /* where in it, for messages */
    json_t          *scope_map;      /* name -> index */
    json_t          *route_map;      /* id -> index */
    json_t          *partner_map;    /* id -> index */
    json_t          *api_map;        /* name -> true */
    json_t          *hash_map;       /* hex sha256 -> "file: path" */
    json_t          *issuer_map;     /* name -> index */
    char            *root_dir;       /* schemas' $refs stay under it */
};


/*
 * A member of the root object.  Sections compile in table order, each
 * starting at the root document with the path "$"; every finish function
 * runs after every section compiled.
 */

typedef struct {
    const char      *name;           /* NULL: a pass, no member */
    unsigned         included:1;     /* may appear in included files too */
    lg_section_pt    compile;        /* NULL: allowed and ignored */
    lg_section_pt    finish;         /* NULL: nothing to finish */
} lg_policy_section_t;


/* lg_policy.c: files and documents */

char *lg_resolve(lg_compile_t *c, const char *rel);
int lg_read_file(lg_compile_t *c, const char *rel, size_t max,
    unsigned char **data, size_t *len);
int lg_secret_mode(lg_compile_t *c, const char *rel, const struct stat *st);
size_t lg_count(lg_compile_t *c, const char *key, int array_members);
int lg_each_member(lg_compile_t *c, const char *section, const char *what,
    json_t *map, lg_member_pt fn);

/* lg_policy_json.c: reading fields; each fails with lg_fail() */

int lg_fail(lg_compile_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void lg_warn(lg_compile_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int lg_fields(lg_compile_t *c, json_t *obj, const char *const *allowed,
    const char *const *required);
int lg_get_string(lg_compile_t *c, json_t *obj, const char *key,
    int required, lg_str_t *out);
int lg_get_bool(lg_compile_t *c, json_t *obj, const char *key, int *out);
int lg_get_integer(lg_compile_t *c, json_t *obj, const char *key,
    int64_t min, int64_t max, int64_t *out);
int lg_get_time(lg_compile_t *c, json_t *obj, const char *key,
    int64_t *out);
int lg_get_duration(lg_compile_t *c, json_t *obj, const char *key,
    int64_t min, int64_t max, const char *hint, int64_t *out);
int lg_get_size(lg_compile_t *c, json_t *obj, const char *key,
    const char *hint, int64_t *out);
int lg_match_name(const char *s, size_t len, const char *first,
    const char *rest, size_t max);
int lg_sha256_from_hex(const char *hex, uint8_t *sha256);

/* sections (lg_policy_<section>.c) */

int lg_compile_fail_mode(lg_compile_t *c);
int lg_compile_revocation_fail_mode(lg_compile_t *c);
int lg_compile_secret_files(lg_compile_t *c);
int lg_compile_validation(lg_compile_t *c);
int lg_compile_idempotency(lg_compile_t *c);
int lg_compile_scopes(lg_compile_t *c);
int lg_finish_scopes(lg_compile_t *c);
int lg_compile_issuers(lg_compile_t *c);
int lg_finish_issuers(lg_compile_t *c);
int lg_compile_apis(lg_compile_t *c);
int lg_finish_apis(lg_compile_t *c);
int lg_compile_partners(lg_compile_t *c);
int lg_finish_partners(lg_compile_t *c);
int lg_compile_protect(lg_compile_t *c);

/* used by sections other than their own */

int lg_compile_route(lg_compile_t *c, lg_api_t *api, json_t *r,
    lg_route_t *out);
int lg_compile_scope_set(lg_compile_t *c, json_t *list, uint64_t **bits,
    lg_str_t **names, size_t *nnames);
int lg_compile_bindings(lg_compile_t *c, json_t *jwt,
    lg_partner_t *partner);
unsigned lg_method_parse(const char *name, size_t len);

/* lg_policy_lookup.c: the orders compiled tables are sorted in */

int lg_cert_cmp(const void *a, const void *b);

/* LG_SAN_* of a policy's "dns:", "uri:", "email:" entry; 0: none */
int lg_san_type(const char *s, size_t len);
int lg_binding_cmp(const void *a, const void *b);


#endif /* _LG_POLICY_INT_H_INCLUDED_ */
