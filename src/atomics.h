/* SPDX-License-Identifier: MIT */
/*
 * Ordered access to shared memory, named for what each access promises.
 *
 * Shared fields are plain fixed-width integers accessed only through these
 * wrappers (the GCC __atomic builtins), never `volatile` and never `_Atomic`
 * struct members (the library's own words that threads share, such as a
 * handle's poisoned flag, use them too): the layout stays a plain C struct that every process
 * (and every language) agrees on.  Every such access is 4 or 8 bytes,
 * naturally aligned and, as asserted below, always lock-free: a libatomic
 * lock would live in one process's memory and order nothing across two.
 */
#ifndef SHMQ_ATOMICS_H
#define SHMQ_ATOMICS_H

#include <stdint.h>

_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0),
	       "32-bit shared-memory atomics must be lock-free");
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
	       "64-bit shared-memory atomics must be lock-free");

#define shmq_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define shmq_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define shmq_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define shmq_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/*
 * Compare-and-swap, sequentially consistent: 1 if *p held @expect and now
 * holds @desired.  Owner words and slots are claimed with it, so that a
 * claim, and the wakes that follow it, are ordered with every other.
 */
#define shmq_cas(p, expect, desired) __extension__ ({			\
	__typeof__(*(p)) shmq_cas_e_ = (expect);			\
	__atomic_compare_exchange_n((p), &shmq_cas_e_, (desired), 0,	\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })
/* Add @v with release: what came before is visible to whoever sees it. */
#define shmq_fetch_add_release(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELEASE)
/* Exchange, relaxed: the old value (process-private flags). */
#define shmq_exchange_relaxed(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
#define shmq_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
/* Set or clear bits of a word, relaxed: the old value (a waiter's own bit). */
#define shmq_fetch_or_relaxed(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define shmq_fetch_and_relaxed(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELAXED)
/* Set bits with release: what came before is visible to whoever sees them. */
#define shmq_fetch_or_release(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELEASE)
/* Take a word, acquiring what was released before it was stored. */
#define shmq_exchange_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
/* Add, sequentially consistent: ordered with every other such access. */
#define shmq_fetch_add_seq_cst(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
/*
 * Fences for a seqlock: a writer's release fence orders its odd version
 * before the payload it writes next; a reader's acquire fence orders the
 * payload it read before the version it reads again.
 */
#define shmq_fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#define shmq_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
/* A full barrier: orders an earlier store before a later load. */
#define shmq_smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline void shmq_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* SHMQ_ATOMICS_H */
