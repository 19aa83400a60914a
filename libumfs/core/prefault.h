/* SPDX-License-Identifier: MIT */
/*
 * prefault.h - pool pages made present before the write path stores (prefault.c).
 */
#ifndef UMFS_CORE_PREFAULT_H
#define UMFS_CORE_PREFAULT_H

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
