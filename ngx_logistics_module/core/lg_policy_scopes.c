
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "scopes": {"shipments:write": "Create shipments", ...}, in any policy
 * file.  Scopes are numbered as declared; routes and partners hold them
 * as bitsets over those numbers, and tokens' scope names are found by a
 * binary search over the names sorted once (policy->scope_order).
 */

#include <stdlib.h>
#include <string.h>

#include "lg_policy_int.h"


static int lg_scope_order_cmp(const void *a, const void *b);


int
lg_compile_scopes(lg_compile_t *c)
{
    size_t        i, n, saved, s;
    json_t       *scopes, *desc;
    lg_policy_t  *p;
    const char   *name;

    p = c->policy;
    n = lg_count(c, "scopes", 0);

    p->scopes = lg_arena_calloc(&p->arena, n + 1, sizeof(lg_str_t));
    if (p->scopes == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < c->ndocs; i++) {
        c->doc = &c->docs[i];
        lg_json_path_init(&c->path);

        scopes = json_object_get(c->doc->json, "scopes");
        if (scopes == NULL) {
            continue;
        }

        saved = lg_json_path_key(&c->path, "scopes");

        if (!json_is_object(scopes)) {
            return lg_fail(c, "must be an object of scope names and "
                           "descriptions");
        }

        json_object_foreach(scopes, name, desc) {
            s = lg_json_path_key(&c->path, name);

            if (!lg_match_name(name, strlen(name), LG_LOWER_DIGIT,
                               LG_LOWER_DIGIT "._:/-", 128))
            {
                return lg_fail(c, "invalid scope name (lowercase letters, "
                               "digits and . _ : / -)");
            }

            if (!json_is_string(desc)) {
                return lg_fail(c, "description must be a string");
            }

            if (json_object_get(c->scope_map, name) != NULL) {
                return lg_fail(c, "scope \"%s\" is defined twice", name);
            }

            if (json_object_set_new(c->scope_map, name,
                                    json_integer((json_int_t) p->nscopes))
                != 0
                || lg_arena_str(&p->arena, &p->scopes[p->nscopes], name,
                                strlen(name)) != 0)
            {
                return lg_fail(c, "out of memory");
            }

            p->nscopes++;
            lg_json_path_pop(&c->path, s);
        }

        lg_json_path_pop(&c->path, saved);
    }

    p->scope_words = (p->nscopes + 63) / 64;

    if (p->scope_words == 0) {
        p->scope_words = 1;
    }

    return 0;
}


/*
 * A list of declared scopes (a route's or a partner's "scopes") as a
 * bitset, and optionally as names (a route's, for insufficient_scope).
 */

int
lg_compile_scope_set(lg_compile_t *c, json_t *list, uint64_t **bits,
    lg_str_t **names, size_t *nnames)
{
    size_t        i, saved, idx;
    json_t       *item, *found;
    uint64_t     *set;
    lg_policy_t  *p;

    p = c->policy;

    if (!json_is_array(list)) {
        return lg_fail(c, "must be an array of scope names");
    }

    set = lg_arena_calloc(&p->arena, p->scope_words, sizeof(uint64_t));
    if (set == NULL) {
        return lg_fail(c, "out of memory");
    }

    if (names != NULL) {
        *names = lg_arena_calloc(&p->arena, json_array_size(list) + 1,
                                 sizeof(lg_str_t));
        if (*names == NULL) {
            return lg_fail(c, "out of memory");
        }

        *nnames = 0;
    }

    json_array_foreach(list, i, item) {
        saved = lg_json_path_index(&c->path, i);

        if (!json_is_string(item)) {
            return lg_fail(c, "must be a string");
        }

        found = json_object_get(c->scope_map, json_string_value(item));

        if (found == NULL) {
            return lg_fail(c, "unknown scope \"%s\" (not in $.scopes)",
                           json_string_value(item));
        }

        idx = (size_t) json_integer_value(found);

        if (set[idx / 64] & ((uint64_t) 1 << (idx % 64))) {
            return lg_fail(c, "scope \"%s\" is listed twice",
                           json_string_value(item));
        }

        set[idx / 64] |= (uint64_t) 1 << (idx % 64);

        if (names != NULL) {
            (*names)[(*nnames)++] = p->scopes[idx];
        }

        lg_json_path_pop(&c->path, saved);
    }

    *bits = set;

    return 0;
}


/* qsort() passes no context: the policy being sorted, for the comparator */

static const lg_policy_t  *lg_sort_policy;


static int
lg_scope_order_cmp(const void *a, const void *b)
{
    const lg_str_t  *x, *y;

    x = &lg_sort_policy->scopes[*(const size_t *) a];
    y = &lg_sort_policy->scopes[*(const size_t *) b];

    return strcmp(x->data, y->data);
}


/* the scope numbers in name order, for lg_policy_scope_index() */

int
lg_finish_scopes(lg_compile_t *c)
{
    size_t        i;
    lg_policy_t  *p;

    p = c->policy;

    p->scope_order = lg_arena_calloc(&p->arena, p->nscopes + 1,
                                     sizeof(size_t));
    if (p->scope_order == NULL) {
        return lg_fail(c, "out of memory");
    }

    for (i = 0; i < p->nscopes; i++) {
        p->scope_order[i] = i;
    }

    lg_sort_policy = p;
    qsort(p->scope_order, p->nscopes, sizeof(size_t), lg_scope_order_cmp);
    lg_sort_policy = NULL;

    return 0;
}
