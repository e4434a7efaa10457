
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_ARENA_H_INCLUDED_
#define _LG_ARENA_H_INCLUDED_


#include <stddef.h>


/*
 * A bump allocator for everything a compiled policy owns.  The policy is
 * built once, read by every request and released as a whole (a pool
 * cleanup in nginx, exit in the CLI), so individual frees are never
 * needed and one lg_arena_free() returns all of it.  What lives outside
 * the arena (JIT-compiled regular expressions) registers a cleanup that
 * lg_arena_free() runs first.
 */

typedef struct lg_arena_block_s    lg_arena_block_t;
typedef struct lg_arena_cleanup_s  lg_arena_cleanup_t;

struct lg_arena_cleanup_s {
    void                (*handler)(void *data);
    void                 *data;
    lg_arena_cleanup_t   *next;
};

typedef struct {
    lg_arena_block_t     *head;
    lg_arena_cleanup_t   *cleanups;
} lg_arena_t;


typedef struct {
    const char        *data;
    size_t             len;
} lg_str_t;


/* or zero-filled memory, which is an empty arena too */
#define lg_arena_init(arena)                                                  \
    do { (arena)->head = NULL; (arena)->cleanups = NULL; } while (0)

void *lg_arena_alloc(lg_arena_t *arena, size_t size);
void *lg_arena_calloc(lg_arena_t *arena, size_t n, size_t size);
char *lg_arena_strndup(lg_arena_t *arena, const char *s, size_t len);
int lg_arena_str(lg_arena_t *arena, lg_str_t *dst, const char *s, size_t len);
lg_arena_cleanup_t *lg_arena_cleanup_add(lg_arena_t *arena);
void lg_arena_free(lg_arena_t *arena);


#endif /* _LG_ARENA_H_INCLUDED_ */
