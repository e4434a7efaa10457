
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_URI_H_INCLUDED_
#define _LG_SCHEMA_URI_H_INCLUDED_


/*
 * RFC 3986 reference resolution for "$id" and "$ref", and the small
 * helpers around it (file URIs, fragments, JSON Pointer segments).
 * Results are allocated from the arena.
 */


#include <stddef.h>

#include "lg_arena.h"


/* the absolute URI of "ref" against the absolute "base" */
char *lg_schema_uri_resolve(lg_arena_t *arena, const char *base,
    const char *ref);

/* splits off "#fragment": returns the URI without it, *frag points after
   '#' (into the arena copy) or is NULL */
char *lg_schema_uri_split(lg_arena_t *arena, const char *uri,
    const char **frag);

/* 1 if "uri" has a scheme */
int lg_schema_uri_absolute(const char *uri);

/* the scheme as a lowercase comparison: 1 if uri starts with "scheme:" */
int lg_schema_uri_scheme_is(const char *uri, const char *scheme);

/* "file://" + absolute path, percent-encoding what a URI cannot hold */
char *lg_schema_uri_from_path(lg_arena_t *arena, const char *path);

/* the local path of a file: URI (percent-decoded), NULL if not one */
char *lg_schema_uri_to_path(lg_arena_t *arena, const char *uri);

/* percent-decodes in place, returns the new length (bytes may be NUL) */
size_t lg_schema_uri_decode(char *s, size_t len);


#endif /* _LG_SCHEMA_URI_H_INCLUDED_ */
