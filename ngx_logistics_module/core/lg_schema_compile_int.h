
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_COMPILE_INT_H_INCLUDED_
#define _LG_SCHEMA_COMPILE_INT_H_INCLUDED_


/*
 * The compiler's own state, shared by its files and by nothing else:
 *
 *   lg_schema.c          the driver: documents, the walk over subschemas
 *                        (pass 1), the work list of nodes (pass 2);
 *   lg_schema_keyword.c  the keyword table and what each keyword compiles
 *                        into;
 *   lg_schema_ref.c      identifiers and references: "$id" base URIs,
 *                        anchors, "$ref" / "$dynamicRef" resolution,
 *                        other files, the reference-loop check;
 *   lg_schema_regex.c    ECMA-262 patterns compiled by PCRE2.
 */


#include <limits.h>

#include "lg_schema_int.h"


#define LG_SCHEMA_2020_URI  "https://json-schema.org/draft/2020-12/schema"
#define LG_SCHEMA_7_URI     "http://json-schema.org/draft-07/schema"

/* the dialects a keyword belongs to, as bits */
#define LG_SCHEMA_D2020     0x01
#define LG_SCHEMA_D7        0x02
#define LG_SCHEMA_DALL      (LG_SCHEMA_D2020 | LG_SCHEMA_D7)

#define lg_schema_dialect(draft)                                              \
    ((draft) == LG_SCHEMA_DRAFT2020 ? LG_SCHEMA_D2020 : LG_SCHEMA_D7)


typedef struct lg_schema_doc_s      lg_schema_doc_t;
typedef struct lg_schema_info_s     lg_schema_info_t;
typedef struct lg_schema_anchor_e_s lg_schema_anchor_e_t;


/* an open-addressing table: byte-string keys, pointer values */
typedef struct {
    struct {
        const void  *key;
        size_t       len;
        void        *value;
    }               *slots;
    size_t           size;
    size_t           n;
} lg_schema_map_t;


struct lg_schema_doc_s {
    const char          *file;       /* as named, for messages */
    const char          *uri;        /* file:///real/path */
    json_t              *json;
    int                  owned;
    lg_schema_doc_t     *next;
};


/* what pass 1 knows about one subschema */
struct lg_schema_info_s {
    json_t                *json;
    lg_schema_doc_t       *doc;
    const char            *base;
    const char            *path;
    int                    draft;
    lg_schema_resource_t  *resource;
    lg_schema_node_t      *node;
    lg_schema_info_t      *next_pending;
};


struct lg_schema_anchor_e_s {
    lg_schema_info_t      *info;
    const char            *name;
    unsigned               dynamic:1;
    lg_schema_anchor_e_t  *next;
};


typedef struct {
    lg_arena_t                 *arena;
    lg_error_t                 *err;
    const lg_schema_options_t  *opts;
    char                        base_dir[PATH_MAX];
    lg_schema_map_t             resources;   /* URI -> info */
    lg_schema_map_t             anchors;     /* URI#name -> anchor */
    lg_schema_map_t             infos;       /* json_t * -> info */
    lg_schema_map_t             docs;        /* real path -> doc */
    lg_schema_doc_t            *doc_list;
    lg_schema_anchor_e_t       *anchor_list;
    lg_schema_info_t           *pending;     /* nodes to compile */
    pcre2_general_context      *gctx;
    pcre2_compile_context      *cctx;
    int                         format_assertion;
} lg_schema_compile_t;


/*
 * A keyword and what it compiles into, in the manner of ngx_command_t:
 * "offset" (and "data", an offset or a flag, as the function needs) say
 * where in lg_schema_node_t the value goes, so one function serves all
 * keywords of a shape (sizes, numbers, single subschemas, lists).
 */

typedef int (*lg_schema_keyword_pt)(lg_schema_compile_t *c,
    lg_schema_info_t *info, lg_schema_node_t *node, const char *kw,
    json_t *v, size_t offset, size_t data);

typedef struct {
    const char            *name;
    unsigned               dialects;     /* LG_SCHEMA_D* bits */
    lg_schema_keyword_pt   compile;
    size_t                 offset;
    size_t                 data;
} lg_schema_keyword_t;


/* lg_schema.c */
int lg_schema_map_put(lg_schema_map_t *map, const void *key, size_t len,
    void *value);
void *lg_schema_map_get(lg_schema_map_t *map, const void *key, size_t len);
void lg_schema_map_free(lg_schema_map_t *map);
int lg_schema_fail(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
lg_schema_doc_t *lg_schema_add_doc(lg_schema_compile_t *c, json_t *json,
    const char *file, const char *real, int owned);
int lg_schema_walk(lg_schema_compile_t *c, lg_schema_doc_t *doc,
    json_t *json, const char *base, lg_json_path_t *path, int draft,
    lg_schema_resource_t *resource, int depth);
lg_schema_node_t *lg_schema_node(lg_schema_compile_t *c,
    lg_schema_info_t *info);
lg_schema_node_t *lg_schema_child(lg_schema_compile_t *c,
    lg_schema_info_t *info, const char *kw, json_t *json);

#define lg_schema_map_put_ptr(map, p, v)                                      \
    lg_schema_map_put(map, p, sizeof(void *), v)

#define lg_schema_map_get_ptr(map, p)                                         \
    lg_schema_map_get(map, &(p), sizeof(void *))

/* lg_schema_keyword.c */
int lg_schema_keyword(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v);
int lg_schema_keywords_done(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node);

/* lg_schema_ref.c */
int lg_schema_identify(lg_schema_compile_t *c, lg_schema_info_t *info,
    int draft, int depth, const char **base, lg_schema_resource_t **resource);
int lg_schema_kw_ref(lg_schema_compile_t *c, lg_schema_info_t *info,
    lg_schema_node_t *node, const char *kw, json_t *v, size_t offset,
    size_t data);
int lg_schema_dynamic_anchors(lg_schema_compile_t *c);
int lg_schema_loops(lg_schema_compile_t *c);

/* lg_schema_regex.c */
int lg_schema_regex_init(lg_schema_compile_t *c);
int lg_schema_regex(lg_schema_compile_t *c, lg_schema_info_t *info,
    const char *kw, const char *src, size_t len, lg_schema_regex_t *re);


#endif /* _LG_SCHEMA_COMPILE_INT_H_INCLUDED_ */
