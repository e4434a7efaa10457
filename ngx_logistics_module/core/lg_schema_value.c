
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * JSON values and numbers the way JSON Schema sees them: 1 and 1.0 are the
 * same number and 1.0 is an integer; equality is deep and mathematical;
 * hashes agree with that equality (so "uniqueItems" and "enum" can hash
 * instead of comparing every pair).  Schema values ("const", "enum") are
 * built from jansson when the schema compiles; instances are tokens of a
 * parsed body (lg_schema_int.h).
 */


#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lg_schema_int.h"


#define LG_HASH_NULL    0x9e3779b97f4a7c15ULL
#define LG_HASH_TRUE    0xc2b2ae3d27d4eb4fULL
#define LG_HASH_FALSE   0x165667b19e3779f9ULL
#define LG_HASH_ARRAY   0x27d4eb2f165667c5ULL
#define LG_HASH_OBJECT  0x85ebca77c2b2ae63ULL


static uint64_t lg_schema_mix(uint64_t h);
static uint64_t lg_schema_bytes_hash(const char *s, size_t len);
static uint64_t lg_schema_num_hash(const lg_schema_num_t *num);
static uint64_t lg_schema_value_hash(const lg_schema_value_t *v);
static double lg_schema_trunc(double d);
static double lg_schema_floor(double d);
static int lg_schema_real_to_int(double d, json_int_t *i);
static int lg_schema_cmp_int_real(json_int_t i, double d);
static const lg_schema_tok_t *lg_schema_tok_member(const lg_schema_tok_t *obj,
    const char *key, size_t len, uint32_t hash);
static int lg_schema_members_equal(const lg_schema_tok_t *a,
    const lg_schema_tok_t *b);
static int lg_schema_key_cmp(const void *x, const void *y);


static uint64_t
lg_schema_mix(uint64_t h)
{
    /* splitmix64 finaliser */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;

    return h;
}


static uint64_t
lg_schema_bytes_hash(const char *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 0x100000001b3ULL;
    }

    return lg_schema_mix(h);
}


/*
 * trunc() and floor() without libm (the core links none): a double of
 * magnitude 2^52 or more is already integral.
 */

static double
lg_schema_trunc(double d)
{
    if (!(fabs(d) < 4503599627370496.0)) {
        return d;
    }

    return (double) (long long) d;
}


static double
lg_schema_floor(double d)
{
    double  t;

    t = lg_schema_trunc(d);

    return t > d ? t - 1 : t;
}


/* an integral double inside the int64 range converts exactly */

static int
lg_schema_real_to_int(double d, json_int_t *i)
{
    if (!isfinite(d) || d != lg_schema_floor(d)
        || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
    {
        return 0;
    }

    *i = (json_int_t) d;

    return 1;
}


static uint64_t
lg_schema_num_hash(const lg_schema_num_t *num)
{
    double      d;
    uint64_t    bits;
    json_int_t  i;

    if (num->is_int) {
        return lg_schema_mix((uint64_t) num->i ^ 0x5555);
    }

    if (lg_schema_real_to_int(num->d, &i)) {
        return lg_schema_mix((uint64_t) i ^ 0x5555);
    }

    d = num->d;
    memcpy(&bits, &d, sizeof(bits));

    return lg_schema_mix(bits);
}


int
lg_schema_num_get(const json_t *json, lg_schema_num_t *num)
{
    if (json_is_integer(json)) {
        num->is_int = 1;
        num->i = json_integer_value(json);
        num->d = (double) num->i;
        return 0;
    }

    if (json_is_real(json)) {
        num->is_int = 0;
        num->d = json_real_value(json);
        num->i = 0;
        return 0;
    }

    return -1;
}


int
lg_schema_num_is_integer(const json_t *json)
{
    double  d;

    if (json_is_integer(json)) {
        return 1;
    }

    if (json_is_real(json)) {
        d = json_real_value(json);
        return isfinite(d) && d == lg_schema_floor(d);
    }

    return 0;
}


static int
lg_schema_cmp_int_real(json_int_t i, double d)
{
    double      t, frac;
    json_int_t  ti;

    if (d >= 9223372036854775808.0) {
        return -1;
    }

    if (d < -9223372036854775808.0) {
        return 1;
    }

    t = lg_schema_trunc(d);
    ti = (json_int_t) t;

    if (i != ti) {
        return i < ti ? -1 : 1;
    }

    frac = d - t;

    return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}


int
lg_schema_num_cmp(const lg_schema_num_t *a, const lg_schema_num_t *b)
{
    if (a->is_int && b->is_int) {
        return a->i < b->i ? -1 : (a->i > b->i ? 1 : 0);
    }

    if (a->is_int) {
        return lg_schema_cmp_int_real(a->i, b->d);
    }

    if (b->is_int) {
        return -lg_schema_cmp_int_real(b->i, a->d);
    }

    return a->d < b->d ? -1 : (a->d > b->d ? 1 : 0);
}


/*
 * Exact for integers; for reals the quotient must be integral within two
 * ulps, which accepts 0.0075 / 0.0001 (74.99999999999999) and rejects a
 * true remainder.  An infinite quotient is not a multiple.
 */

int
lg_schema_num_multiple(const lg_schema_num_t *x, const lg_schema_num_t *m)
{
    double      q, r;
    json_int_t  xi, mi;

    /* integers as they are; integral reals are converted below */
    xi = x->i;
    mi = m->i;

    if ((x->is_int || lg_schema_real_to_int(x->d, &xi))
        && (m->is_int || lg_schema_real_to_int(m->d, &mi)))
    {
        if (mi == 0) {
            return 0;
        }

        if (mi == -1) {
            return 1;
        }

        return xi % mi == 0;
    }

    q = x->d / m->d;

    if (!isfinite(q)) {
        return 0;
    }

    r = q - lg_schema_floor(q + 0.5);

    return fabs(r) <= 2 * DBL_EPSILON * fabs(q);
}


void
lg_schema_tok_num(const lg_schema_tok_t *t, lg_schema_num_t *num)
{
    if (t->type == JSON_INTEGER) {
        num->is_int = 1;
        num->i = t->v.i;
        num->d = (double) t->v.i;

    } else {
        num->is_int = 0;
        num->d = t->v.d;
        num->i = 0;
    }
}


int
lg_schema_tok_is_integer(const lg_schema_tok_t *t)
{
    if (t->type == JSON_INTEGER) {
        return 1;
    }

    if (t->type == JSON_REAL) {
        return isfinite(t->v.d) && t->v.d == lg_schema_floor(t->v.d);
    }

    return 0;
}


/* the hash of an instance value; lg_schema_value_hash() agrees with it */

uint64_t
lg_schema_tok_hash(const lg_schema_tok_t *t)
{
    uint32_t                i;
    uint64_t                h;
    lg_schema_num_t         num;
    const lg_schema_tok_t  *m;

    switch (t->type) {

    case JSON_NULL:
        return LG_HASH_NULL;

    case JSON_TRUE:
        return LG_HASH_TRUE;

    case JSON_FALSE:
        return LG_HASH_FALSE;

    case JSON_INTEGER:
    case JSON_REAL:
        lg_schema_tok_num(t, &num);
        return lg_schema_num_hash(&num);

    case JSON_STRING:
        return lg_schema_bytes_hash(t->v.str, t->len);

    case JSON_ARRAY:
        h = LG_HASH_ARRAY;

        for (i = 0, m = lg_schema_tok_first(t); i < t->len; i++) {
            h = lg_schema_mix(h ^ lg_schema_tok_hash(m));
            m = lg_schema_tok_next(m);
        }

        return h;

    default:
        /* order-independent: a sum of per-member hashes */
        h = LG_HASH_OBJECT;

        for (i = 0, m = lg_schema_tok_first(t); i < t->len; i++) {
            h += lg_schema_mix(lg_schema_bytes_hash(m->v.str, m->len)
                               ^ lg_schema_mix(lg_schema_tok_hash(m + 1)));
            m = lg_schema_tok_next(m + 1);
        }

        return h;
    }
}


static uint64_t
lg_schema_value_hash(const lg_schema_value_t *v)
{
    size_t    i;
    uint64_t  h;

    switch (v->type) {

    case JSON_NULL:
        return LG_HASH_NULL;

    case JSON_TRUE:
        return LG_HASH_TRUE;

    case JSON_FALSE:
        return LG_HASH_FALSE;

    case JSON_INTEGER:
    case JSON_REAL:
        return lg_schema_num_hash(&v->num);

    case JSON_STRING:
        return lg_schema_bytes_hash(v->str, v->len);

    case JSON_ARRAY:
        h = LG_HASH_ARRAY;

        for (i = 0; i < v->nitems; i++) {
            h = lg_schema_mix(h ^ v->items[i].hash);
        }

        return h;

    default:
        h = LG_HASH_OBJECT;

        for (i = 0; i < v->nitems; i++) {
            h += lg_schema_mix(lg_schema_bytes_hash(v->items[i].key,
                                                    v->items[i].key_len)
                               ^ lg_schema_mix(v->items[i].hash));
        }

        return h;
    }
}


/* the value of a member of an object token, or NULL */

static const lg_schema_tok_t *
lg_schema_tok_member(const lg_schema_tok_t *obj, const char *key, size_t len,
    uint32_t hash)
{
    uint32_t                i;
    const lg_schema_tok_t  *m;

    for (i = 0, m = lg_schema_tok_first(obj); i < obj->len; i++) {
        if (m->hash == hash && m->len == len
            && memcmp(m->v.str, key, len) == 0)
        {
            return m + 1;
        }

        m = lg_schema_tok_next(m + 1);
    }

    return NULL;
}


/* JSON Schema equality of two instance values ("uniqueItems") */

int
lg_schema_tok_equal(const lg_schema_tok_t *a, const lg_schema_tok_t *b)
{
    uint32_t                i;
    lg_schema_num_t         x, y;
    const lg_schema_tok_t  *m, *n;

    if ((a->type == JSON_INTEGER || a->type == JSON_REAL)
        && (b->type == JSON_INTEGER || b->type == JSON_REAL))
    {
        lg_schema_tok_num(a, &x);
        lg_schema_tok_num(b, &y);
        return lg_schema_num_cmp(&x, &y) == 0;
    }

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case JSON_STRING:
        return a->len == b->len && memcmp(a->v.str, b->v.str, a->len) == 0;

    case JSON_ARRAY:
        if (a->len != b->len) {
            return 0;
        }

        m = lg_schema_tok_first(a);
        n = lg_schema_tok_first(b);

        for (i = 0; i < a->len; i++) {
            if (!lg_schema_tok_equal(m, n)) {
                return 0;
            }

            m = lg_schema_tok_next(m);
            n = lg_schema_tok_next(n);
        }

        return 1;

    case JSON_OBJECT:
        if (a->len != b->len) {
            return 0;
        }

        return lg_schema_members_equal(a, b);

    default:
        /* null, true, false */
        return 1;
    }
}


/*
 * Two objects of as many members: every member of one is in the other,
 * equal.  Keys are unique in each (the parser refuses duplicates), so
 * with more than a few members both key lists are sorted and walked side
 * by side, and two big hostile objects cost n log n, not n^2.
 */

#define LG_SCHEMA_MEMBERS_SCAN  16

static int
lg_schema_members_equal(const lg_schema_tok_t *a, const lg_schema_tok_t *b)
{
    int                      eq;
    uint32_t                 i;
    const lg_schema_tok_t  **ka, **kb, *m, *v;

    if (a->len > LG_SCHEMA_MEMBERS_SCAN) {
        ka = malloc(2 * a->len * sizeof(lg_schema_tok_t *));

        if (ka != NULL) {
            kb = ka + a->len;

            for (i = 0, m = lg_schema_tok_first(a); i < a->len; i++) {
                ka[i] = m;
                m = lg_schema_tok_next(m + 1);
            }

            for (i = 0, m = lg_schema_tok_first(b); i < b->len; i++) {
                kb[i] = m;
                m = lg_schema_tok_next(m + 1);
            }

            qsort(ka, a->len, sizeof(lg_schema_tok_t *), lg_schema_key_cmp);
            qsort(kb, b->len, sizeof(lg_schema_tok_t *), lg_schema_key_cmp);

            eq = 1;

            for (i = 0; eq && i < a->len; i++) {
                eq = lg_schema_key_cmp(&ka[i], &kb[i]) == 0
                     && lg_schema_tok_equal(ka[i] + 1, kb[i] + 1);
            }

            free(ka);

            return eq;
        }

        /* out of memory: the scan is slower, but as right */
    }

    for (i = 0, m = lg_schema_tok_first(a); i < a->len; i++) {
        v = lg_schema_tok_member(b, m->v.str, m->len, m->hash);

        if (v == NULL || !lg_schema_tok_equal(m + 1, v)) {
            return 0;
        }

        m = lg_schema_tok_next(m + 1);
    }

    return 1;
}


/* key tokens by hash, length, bytes */

static int
lg_schema_key_cmp(const void *x, const void *y)
{
    const lg_schema_tok_t  *a, *b;

    a = *(const lg_schema_tok_t **) x;
    b = *(const lg_schema_tok_t **) y;

    if (a->hash != b->hash) {
        return a->hash < b->hash ? -1 : 1;
    }

    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }

    return memcmp(a->v.str, b->v.str, a->len);
}


int
lg_schema_value_from_json(lg_arena_t *arena, lg_schema_value_t *v,
    const json_t *json)
{
    size_t       i, n, key_len;
    json_t      *m;
    const char  *key;

    memset(v, 0, sizeof(lg_schema_value_t));

    v->type = json_typeof(json);

    switch (v->type) {

    case JSON_INTEGER:
    case JSON_REAL:
        lg_schema_num_get(json, &v->num);
        break;

    case JSON_STRING:
        v->len = json_string_length(json);
        v->str = lg_arena_strndup(arena, json_string_value(json), v->len);
        if (v->str == NULL) {
            return -1;
        }

        break;

    case JSON_ARRAY:
        v->nitems = json_array_size(json);
        v->items = lg_arena_calloc(arena, v->nitems + 1,
                                   sizeof(lg_schema_value_t));
        if (v->items == NULL) {
            return -1;
        }

        for (i = 0; i < v->nitems; i++) {
            if (lg_schema_value_from_json(arena, &v->items[i],
                                          json_array_get(json, i))
                != 0)
            {
                return -1;
            }
        }

        break;

    case JSON_OBJECT:
        v->nitems = json_object_size(json);
        v->items = lg_arena_calloc(arena, v->nitems + 1,
                                   sizeof(lg_schema_value_t));
        if (v->items == NULL) {
            return -1;
        }

        n = 0;

        json_object_keylen_foreach((json_t *) json, key, key_len, m) {
            if (lg_schema_value_from_json(arena, &v->items[n], m) != 0) {
                return -1;
            }

            v->items[n].key = lg_arena_strndup(arena, key, key_len);
            v->items[n].key_len = key_len;
            v->items[n].key_hash = lg_schema_key_hash(key, key_len);

            if (v->items[n].key == NULL) {
                return -1;
            }

            n++;
        }

        break;

    default:
        break;
    }

    v->hash = lg_schema_value_hash(v);

    return 0;
}


/* JSON Schema equality of a schema value and an instance value */

int
lg_schema_value_equal(const lg_schema_value_t *v, const lg_schema_tok_t *t)
{
    size_t                  i;
    lg_schema_num_t         num;
    const lg_schema_tok_t  *m;

    if (t->type == JSON_INTEGER || t->type == JSON_REAL) {
        if (v->type != JSON_INTEGER && v->type != JSON_REAL) {
            return 0;
        }

        lg_schema_tok_num(t, &num);

        return lg_schema_num_cmp(&v->num, &num) == 0;
    }

    if (t->type != v->type) {
        return 0;
    }

    switch (v->type) {

    case JSON_STRING:
        return t->len == v->len && lg_schema_str_eq(t->v.str, v->str, v->len);

    case JSON_ARRAY:
        if (t->len != v->nitems) {
            return 0;
        }

        m = lg_schema_tok_first(t);

        for (i = 0; i < v->nitems; i++) {
            if (!lg_schema_value_equal(&v->items[i], m)) {
                return 0;
            }

            m = lg_schema_tok_next(m);
        }

        return 1;

    case JSON_OBJECT:
        if (t->len != v->nitems) {
            return 0;
        }

        for (i = 0; i < v->nitems; i++) {
            m = lg_schema_tok_member(t, v->items[i].key, v->items[i].key_len,
                                     v->items[i].key_hash);

            if (m == NULL || !lg_schema_value_equal(&v->items[i], m)) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}
