
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_SCHEMA_H_INCLUDED_
#define _LG_SCHEMA_H_INCLUDED_


/*
 * JSON Schema (draft 2020-12, and draft-07 when "$schema" says so) on
 * jansson.
 *
 * A schema file is compiled once, at configuration time, into a read-only
 * tree that lives entirely in the caller's arena (regular expressions
 * included: PCRE2 allocates from the arena too), so lg_arena_free()
 * releases everything and no other cleanup is needed.  "$ref"s to other
 * files are resolved by relative URI against the referring file and must
 * stay under the base directory (the root file's directory unless
 * opts->base_dir says otherwise); http(s) references are refused.
 *
 * Validation walks the compiled tree.  It never blocks, allocates its
 * errors from result->arena (the request pool's arena in nginx), stops
 * after result->max_errors errors, and is bounded: recursion is capped at
 * LG_SCHEMA_MAX_EVAL_DEPTH, every regular expression runs under the
 * PCRE2 match limit (and the depth limit, or the JIT stack when the
 * pattern is JIT-compiled) but simple ones, matched in one linear pass
 * without PCRE2 (lg_schema_regex.c), "uniqueItems" hashes instead of
 * comparing pairs.  A compiled schema may be used by any number of
 * validations (it is never written to after compilation).  Instance
 * strings must be valid UTF-8, as the body parser and jansson's decoders
 * and checked constructors guarantee: patterns rely on it.
 *
 * Request bodies are not turned into jansson values: the body parser
 * (lg_schema_body.c) writes a flat array of tokens whose strings are
 * slices of the body, and the validator walks that.  jansson stays for
 * schema documents (and for instances given as json_t, which are
 * converted to tokens first).
 */


#include <stddef.h>
#include <jansson.h>

#include "lg_arena.h"
#include "lg_json.h"


/* request bodies: deeper nesting is a syntax error of the body */
#define LG_SCHEMA_MAX_BODY_DEPTH   256
/* evaluation: nested subschema applications (a $ref loop ends here) */
#define LG_SCHEMA_MAX_EVAL_DEPTH   1024
/* schema documents: nesting of subschemas in one file */
#define LG_SCHEMA_MAX_SCHEMA_DEPTH 256
/* schema files are small; a bigger one is a mistake */
#define LG_SCHEMA_MAX_FILE         (4 * 1024 * 1024)

/* a schema file may be "true" alone, and "const" may hold "\u0000" */
#define LG_SCHEMA_JSON_FLAGS       (JSON_DECODE_ANY | JSON_ALLOW_NUL)
/* PCRE2 limits for "pattern" / "patternProperties" on hostile input */
#define LG_SCHEMA_MATCH_LIMIT      200000
#define LG_SCHEMA_DEPTH_LIMIT      2000
#define LG_SCHEMA_HEAP_LIMIT       8192        /* KiB */


typedef struct lg_schema_s       lg_schema_t;
typedef struct lg_schema_body_s  lg_schema_body_t;


typedef struct {
    /* "format" asserts (date-time, date, time, email, hostname, ipv4,
       ipv6, uri, uri-reference, uuid, duration, ...) instead of being an
       annotation */
    int          format_assertion;
    /* reject keywords this validator does not know (typos such as
       "requried" would otherwise silently weaken a contract); the usual
       annotations (title, description, default, examples, ...) and "x-"
       extensions are always allowed */
    int          strict;
    /* directory that cross-file references must stay under; NULL: the
       directory of the root file */
    const char  *base_dir;
} lg_schema_options_t;


typedef struct {
    char        *instance_location;   /* JSON Pointer into the instance */
    char        *keyword_location;    /* evaluation path, JSON Pointer */
    char        *message;
} lg_schema_error_t;


/*
 * The caller sets max_errors and arena (and zeroes the rest); validation
 * fills errors[0 .. nerrors - 1], allocated from the arena.  max_errors 0
 * means "valid or not" only: the first failure ends validation and no
 * error is recorded.
 */
typedef struct {
    lg_schema_error_t  *errors;
    size_t              nerrors;
    size_t              max_errors;
    lg_arena_t         *arena;
} lg_schema_result_t;


/* compiles a schema file; NULL and "file: json.path: reason" on error */
lg_schema_t *lg_schema_compile_file(lg_arena_t *arena, const char *file,
    const lg_schema_options_t *opts, lg_error_t *err);

/*
 * compiles an already parsed schema; "file" names it in errors and is the
 * base for relative references to other files (it need not exist when no
 * such reference is made).  The caller keeps ownership of "json".
 */
lg_schema_t *lg_schema_compile_json(lg_arena_t *arena, json_t *json,
    const char *file, const lg_schema_options_t *opts, lg_error_t *err);

/* lg_schema_validate_body(): the body is not JSON, err->text says why */
#define LG_SCHEMA_BODY_MALFORMED  2


/*
 * The gateway's call: parses a request body and validates it.  Returns 0
 * valid, 1 invalid (errors recorded), LG_SCHEMA_BODY_MALFORMED (err->text
 * is "line L, column C: reason", as lg_schema_parse_body() says it), -1
 * internal error (as lg_schema_validate()).  The tokens live in buffers
 * the process keeps from one body to the next (up to a bound), so a body
 * costs no allocation but its errors (from result->arena).  Not
 * reentrant: one thread, like the validation itself.
 */
int lg_schema_validate_body(const lg_schema_t *schema, const char *buf,
    size_t len, lg_schema_result_t *result, lg_error_t *err);

/*
 * 0 valid, 1 invalid (errors recorded), -1 internal error (out of memory,
 * or the recursion limit: errors[0] then says which, when max_errors > 0)
 */
int lg_schema_validate(const lg_schema_t *schema, const json_t *instance,
    lg_schema_result_t *result);

/*
 * The two steps of lg_schema_validate_body() apart (the CLI times them):
 * a body object keeps its buffers across lg_schema_body_parse() calls;
 * lg_schema_body_parse() returns 0, or -1 with err->text set; the parsed
 * body refers to "buf", which must outlive its validation.
 */
lg_schema_body_t *lg_schema_body_create(void);
int lg_schema_body_parse(lg_schema_body_t *body, const char *buf, size_t len,
    lg_error_t *err);
int lg_schema_body_validate(const lg_schema_t *schema,
    const lg_schema_body_t *body, lg_schema_result_t *result);
void lg_schema_body_destroy(lg_schema_body_t *body);

/*
 * parses a request body (RFC 8259, our parser, lg_schema_body.c): any
 * JSON value, duplicate keys rejected, "\u0000" allowed in strings (not
 * in keys), invalid UTF-8 rejected, nesting limited to
 * LG_SCHEMA_MAX_BODY_DEPTH, integers too big for 64 bits kept as reals.
 * This is the parser of lg_schema_validate_body(), with jansson values
 * built from its tokens (for tests and the fuzzer that holds the parser
 * against jansson's).  On error NULL and err->text is "line L, column C:
 * reason".  The caller json_decref()s the result.
 */
json_t *lg_schema_parse_body(const char *buf, size_t len, lg_error_t *err);


#endif /* _LG_SCHEMA_H_INCLUDED_ */
