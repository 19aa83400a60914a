/* SPDX-License-Identifier: MIT */
/*
 * persist.h - the persistence layer's calls beyond umfs_tools.h's (persist.c,
 * pmap.c): mapping through a descriptor, non-temporal copies and stores.
 */
#ifndef UMFS_CORE_PERSIST_H
#define UMFS_CORE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct umfs_pmem;

/* Maps the pool through a duplicate of fd, which this process holds. */
int umfs_pmem_map_fd(int fd, bool rdonly, struct umfs_pmem *pm);
/* Reads the first len (<= UMFS_PAGE_SIZE) bytes of a pool file or device;
 * _fd: len bytes at off (off + len <= 1 GiB) of the one fd holds. */
int umfs_pmem_peek(const char *path, void *buf, size_t len);
int umfs_pmem_peek_fd(int fd, void *buf, size_t len, uint64_t off);
/* Whether pm is a file on a file system kept in memory (tmpfs, hugetlbfs,
 * ramfs), which offers neither DAX nor MAP_SYNC. */
bool umfs_pmem_on_memfs(const struct umfs_pmem *pm);
/* pmap.c: maps the pool file or device DAX fd (st: its fstat) whole, shared
 * and writable, into pm->base and pm->len; *is_pmem tells whether it is
 * persistent memory. */
int umfs_pmem_map_shared(int fd, const struct stat *st, struct umfs_pmem *pm, int *is_pmem);

/* Pool bytes the kernel wrote through the pool's descriptor (coldio.c):
 * durable as flushed bytes are, so only a test build's hook hears of them. */
void umfs_persist_written(const void *addr, size_t len);
/* Copies with non-temporal stores where that pays; flushed, not drained. */
void umfs_memcpy_nodrain(void *dst, const void *src, size_t len);
void umfs_memset_nodrain(void *dst, int c, size_t len);
/* One aligned 8-byte store that readers see whole, then flushed. */
void umfs_store64_nodrain(uint64_t *dst, uint64_t val);

#endif /* UMFS_CORE_PERSIST_H */
