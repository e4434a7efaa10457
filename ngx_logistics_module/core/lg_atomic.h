
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_ATOMIC_H_INCLUDED_
#define _LG_ATOMIC_H_INCLUDED_


#include <stdint.h>


/*
 * Atomic operations on 64-bit words that live in nginx shared memory and
 * are touched by every worker process at once (the in-flight budget, the
 * circuit breaker, the brownout level).
 *
 * The core uses the GCC/Clang __atomic builtins directly rather than
 * taking nginx's ngx_atomic_fetch_add / ngx_atomic_cmp_set as function
 * pointers:
 *
 *   - on the platforms nginx runs on they are the same instructions
 *     (nginx's own ngx_atomic_* are __sync builtins or inline "lock
 *     xadd" / "lock cmpxchg"); atomicity across processes that map the
 *     same page is a property of the instruction, so the glue may read
 *     these words with ngx_atomic_* or plain loads and nothing breaks;
 *   - an inline builtin costs one instruction, a function pointer an
 *     indirect call per operation, which the hot path (two to four
 *     operations per request) need not pay;
 *   - the unit tests run the very same code under pthreads.
 *
 * The one thing that would break across processes is a lock hidden in
 * libatomic, which the compiler uses when a type is not lock-free: that
 * lock lives in one process's memory.  So the build fails unless 64-bit
 * atomics are lock-free (nginx's NGX_HAVE_ATOMIC_OPS=0 fallback would not
 * be atomic across workers either).
 *
 * Read-modify-write operations are sequentially consistent (on x86 a
 * locked instruction is a full barrier anyway); loads are acquire.
 */

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
               "64-bit atomics must be lock-free to work in shared memory");


static inline int64_t
lg_atomic_load(const int64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}


static inline uint64_t
lg_atomic_load_word(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}


static inline void
lg_atomic_store_word(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}


/* adds "add" and returns the value before */

static inline int64_t
lg_atomic_fetch_add(int64_t *p, int64_t add)
{
    return __atomic_fetch_add(p, add, __ATOMIC_SEQ_CST);
}


/*
 * Stores "desired" if *p still holds *expected and returns 1; otherwise
 * returns 0 with *expected set to what *p holds now, ready for the next
 * turn of a CAS loop.
 */

static inline int
lg_atomic_cas(int64_t *p, int64_t *expected, int64_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}


static inline int
lg_atomic_cas_word(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}


#endif /* _LG_ATOMIC_H_INCLUDED_ */
