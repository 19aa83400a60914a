/* SPDX-License-Identifier: MIT */
/*
 * prefault.h - pool pages made present before the write path stores (prefault.c).
 */
#ifndef UMFS_CORE_PREFAULT_H
#define UMFS_CORE_PREFAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_pmem;

/* prefault.c: makes the pages of pool bytes [off, off + len) present in
 * this process before stores to them, many pages per system call, so that
 * they do not fault one by one. A hint: nothing depends on it. */
void umfs_pmem_prefault(struct umfs_pmem *pm, uint64_t off, uint64_t len);
/* Whether every page of [off, off + len) is known present in this process
 * (populated here or by coldio.c); and recording that it is. */
bool umfs_pmem_present(struct umfs_pmem *pm, uint64_t off, uint64_t len);
void umfs_pmem_present_mark(struct umfs_pmem *pm, uint64_t off, uint64_t len);
/* A table of this process's that a short process touches on a page or
 * two, and a walk of many names on all of them: *seen has a bit per page
 * stored on (at most 64 pages). Records bit; true exactly once, for the
 * store that makes the spread-th page, when the caller populates the rest
 * with one call rather than fault on each (umfs_mem_populate). */
static inline bool umfs_mem_spread(_Atomic uint64_t *seen, uint64_t bit, unsigned spread)
{
	uint64_t was, left;
	unsigned n = 0;

	if (atomic_load_explicit(seen, memory_order_relaxed) & bit)
		return false;
	was = atomic_fetch_or_explicit(seen, bit, memory_order_relaxed);
	if (was & bit)
		return false;
	/* Counted here: __builtin_popcountll calls libgcc's __popcountdi2
	 * (x86-64's baseline has no popcnt), a page of code of its own that
	 * every short process would fault in at its first close. */
	for (left = was | bit; left && n <= spread; n++)
		left &= left - 1;
	return n == spread;
}
/* Makes this process's memory [addr, addr + len), widened to whole pages,
 * present for stores in one call (a table it is about to fill): a hint
 * too. */
void umfs_mem_populate(void *addr, size_t len);
/* A private anonymous table of this process's, page-aligned, that a
 * child needs not inherit (hints it may rebuild): a fork gives the child
 * zeros, and leaves the parent's pages writable instead of copy-on-write,
 * where each store after every fork would be a page fault. A hint too. */
void umfs_mem_wipe_on_fork(void *addr, size_t len);
/* Forgets what was prefaulted (the map goes away). */
void umfs_pmem_prefault_end(struct umfs_pmem *pm);

#endif /* UMFS_CORE_PREFAULT_H */
