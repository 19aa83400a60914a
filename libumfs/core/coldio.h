/* SPDX-License-Identifier: MIT */
/*
 * coldio.h - moving file data between the caller and the pool without
 * mapping pool pages this process has not touched (coldio.c).
 */
#ifndef UMFS_COLDIO_H
#define UMFS_COLDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;
struct umfs_out;

/* At mount: decides how this process reaches the pool's data pages. A
 * failure only leaves every access to the mapping. */
void umfs_coldio_open(struct umfs_fs *fs);
void umfs_coldio_close(struct umfs_fs *fs);
/* In a child after fork: the kernel does not copy the page tables of a
 * shared file mapping, so every chunk is cold again. */
void umfs_coldio_forked(struct umfs_fs *fs);

/* Copies the pool bytes [off, off + len) to dst; out: dst is a program's
 * memory (umfs_pread_out), and the copy stops at its first byte that
 * cannot be stored. Returns the bytes stored (len unless it stopped). */
size_t umfs_media_read(struct umfs_fs *fs, void *dst, uint64_t off, size_t len,
		       const struct umfs_out *out);
/* Maps the pool pages of [off, off + len) before the caller loads and
 * stores them through the mapping (a strict overwrite's undo copy): pages
 * absent here count towards populating their chunk whole, as system calls
 * on a cold chunk do. */
void umfs_media_prefault(struct umfs_fs *fs, uint64_t off, size_t len);
/* Writes src (NULL: zeros) to the pool bytes [off, off + len): durable
 * after the next umfs_drain(), as umfs_memcpy_nodrain() leaves them.
 * fresh: the pages were allocated for this write (past the old end of the
 * file, a copy-on-write shadow), so this is likely their only write. */
void umfs_media_write(struct umfs_fs *fs, uint64_t off, const void *src, size_t len, bool fresh);
/* Zeroes the pool bytes [off, off + len) of data pages just allocated:
 * durable after the next umfs_drain(). On a pool of 4 KiB pages, as an
 * overwrite by umfs_media_write (the descriptor for chunks this process
 * has not warmed: a first touch of each page in the VM of
 * docs/performance.md costs more than zeroing it); on 2 MiB pages, through
 * the mapping, where the descriptor's copy is the slower. */
void umfs_media_zero(struct umfs_fs *fs, uint64_t off, size_t len);

#endif /* UMFS_COLDIO_H */
