/* SPDX-License-Identifier: MIT */
/*
 * cpuflush.h - the CPU's part of persistence, below persist.c: write back
 * cache lines, fence, copy and fill so that a following drain makes the
 * bytes durable, and say whether a mapping is persistent memory.
 *
 * Two implementations, one linked into each target:
 *   cpuflush_pmem.c  libpmem's routines: the tools, umfs-fuse and the C
 *                    API (libumfs-api.so);
 *   cpuflush_isa.c   the instructions chosen once, at the first call, as
 *                    libpmem chooses them: libumfs.so, which every preloaded
 *                    process loads, and which must not bring libpmem's
 *                    device libraries (libndctl, libdaxctl, libudev, ...)
 *                    into processes that may never touch a pool.
 * Both honour libpmem's variables: PMEM_IS_PMEM_FORCE, and for the second
 * PMEM_NO_CLWB, PMEM_NO_CLFLUSHOPT, PMEM_NO_MOVNT, PMEM_MOVNT_THRESHOLD.
 */
#ifndef UMFS_CPUFLUSH_H
#define UMFS_CPUFLUSH_H

#include <stddef.h>

/* Writes back the cache lines of [addr, addr + len); durable after a drain. */
void umfs_cpu_flush(const void *addr, size_t len);
/* Waits for every write-back and non-temporal store issued before. */
void umfs_cpu_drain(void);
/* memcpy and memset (no overlap) whose bytes are durable after a drain. */
void umfs_cpu_memcpy_nodrain(void *dst, const void *src, size_t len);
void umfs_cpu_memset_nodrain(void *dst, int c, size_t len);
/* Whether [addr, addr + len), mapped by UMFS itself, is persistent memory
 * needing no msync: only when PMEM_IS_PMEM_FORCE=1 says so (a MAP_SYNC or
 * device DAX mapping pmap.c tells itself). */
int umfs_cpu_is_pmem(const void *addr, size_t len);

#endif /* UMFS_CPUFLUSH_H */
