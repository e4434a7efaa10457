
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_UNIT_H_INCLUDED_
#define _LG_UNIT_H_INCLUDED_


/*
 * A minimal TAP producer for the core's unit tests: each test binary
 * prints "ok N - name" lines and a plan, so prove runs them like any .t.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int  lg_unit_n;
static int  lg_unit_failed;


#define ok(cond, ...)                                                         \
    lg_unit_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                \
    do {                                                                      \
        long long  g_ = (long long) (got), w_ = (long long) (want);           \
        if (!ok(g_ == w_, __VA_ARGS__)) {                                     \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_);            \
        }                                                                     \
    } while (0)

#define is_str(got, want, ...)                                                \
    do {                                                                      \
        const char  *g_ = (got), *w_ = (want);                                \
        if (!ok(g_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__)) {            \
            printf("#   got: \"%s\"\n#   expected: \"%s\"\n",                 \
                   g_ ? g_ : "(null)", w_);                                   \
        }                                                                     \
    } while (0)

#define like_str(got, needle, ...)                                            \
    do {                                                                      \
        const char  *g_ = (got), *w_ = (needle);                              \
        if (!ok(g_ != NULL && strstr(g_, w_) != NULL, __VA_ARGS__)) {         \
            printf("#   got: \"%s\"\n#   expected to contain: \"%s\"\n",      \
                   g_ ? g_ : "(null)", w_);                                   \
        }                                                                     \
    } while (0)


static int
lg_unit_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

static int
lg_unit_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    lg_unit_n++;

    printf("%s %d - ", pass ? "ok" : "not ok", lg_unit_n);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    if (!pass) {
        lg_unit_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    return pass;
}


static int
lg_unit_done(void)
{
    printf("1..%d\n", lg_unit_n);

    return lg_unit_failed ? 1 : 0;
}


#endif /* _LG_UNIT_H_INCLUDED_ */
