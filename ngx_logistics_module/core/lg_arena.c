
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lg_arena.h"


#define LG_ARENA_BLOCK_SIZE  16384
#define LG_ARENA_ALIGN       16


struct lg_arena_block_s {
    lg_arena_block_t  *next;
    size_t             size;
    size_t             used;
    /* payload follows, aligned */
};


#define lg_arena_header_size                                                  \
    ((sizeof(lg_arena_block_t) + LG_ARENA_ALIGN - 1) & ~(LG_ARENA_ALIGN - 1))


void *
lg_arena_alloc(lg_arena_t *arena, size_t size)
{
    size_t             bsize;
    uint8_t          *p;
    lg_arena_block_t  *b;

    size = (size + LG_ARENA_ALIGN - 1) & ~((size_t) LG_ARENA_ALIGN - 1);

    if (size == 0) {
        size = LG_ARENA_ALIGN;
    }

    b = arena->head;

    if (b == NULL || b->size - b->used < size) {
        bsize = size > LG_ARENA_BLOCK_SIZE ? size : LG_ARENA_BLOCK_SIZE;

        b = malloc(lg_arena_header_size + bsize);
        if (b == NULL) {
            return NULL;
        }

        b->size = bsize;
        b->used = 0;

        if (arena->head != NULL && size > LG_ARENA_BLOCK_SIZE) {
            /* keep filling the current block; park the big one behind it */
            b->next = arena->head->next;
            arena->head->next = b;

        } else {
            b->next = arena->head;
            arena->head = b;
        }
    }

    p = (uint8_t *) b + lg_arena_header_size + b->used;
    b->used += size;

    memset(p, 0, size);

    return p;
}


void *
lg_arena_calloc(lg_arena_t *arena, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }

    return lg_arena_alloc(arena, n * size);
}


char *
lg_arena_strndup(lg_arena_t *arena, const char *s, size_t len)
{
    char  *p;

    p = lg_arena_alloc(arena, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


int
lg_arena_str(lg_arena_t *arena, lg_str_t *dst, const char *s, size_t len)
{
    dst->data = lg_arena_strndup(arena, s, len);
    dst->len = len;

    return dst->data == NULL ? -1 : 0;
}


/* a cleanup with no handler yet: the caller sets it once it owns data */

lg_arena_cleanup_t *
lg_arena_cleanup_add(lg_arena_t *arena)
{
    lg_arena_cleanup_t  *cln;

    cln = lg_arena_alloc(arena, sizeof(lg_arena_cleanup_t));
    if (cln == NULL) {
        return NULL;
    }

    cln->next = arena->cleanups;
    arena->cleanups = cln;

    return cln;
}


void
lg_arena_free(lg_arena_t *arena)
{
    lg_arena_block_t    *b, *next;
    lg_arena_cleanup_t  *cln;

    /* the records live in the blocks: all run before any block goes */

    for (cln = arena->cleanups; cln != NULL; cln = cln->next) {
        if (cln->handler != NULL) {
            cln->handler(cln->data);
        }
    }

    arena->cleanups = NULL;

    for (b = arena->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    arena->head = NULL;
}
