/* SPDX-License-Identifier: MIT */
/*
 * cow.h - copy-on-write replacement of a file's pages (cow.c).
 */
#ifndef UMFS_CORE_COW_H
#define UMFS_CORE_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;
struct umfs_ulog;

/*
 * Copy-on-write replacement of bytes [a, b) of a file (strict mode, large
 * overwrites): the pages [PG(a), PG(b - 1)] are built anew in an orphan
 * inode, then exchanged with the file's under a U-Log swap record. On
 * success the record is still valid: the caller publishes the new size,
 * retires the record (umfs_ulog_retire + fence), then calls umfs_cow_end()
 * to free the old pages. On failure the file is as it was.
 */
struct umfs_cow {
	uint64_t ino;
	uint64_t a, b;          /* the bytes replaced */
	const uint8_t *buf;     /* their new content; NULL: zeros */
	bool holes;             /* pages replaced whole become holes (punch) */
	uint64_t old_size;      /* restored if the write is rolled back */
	/* set by umfs_cow_begin() */
	uint64_t pa, pb, shadow;
	struct umfs_ulog *u;
};
int umfs_cow_begin(struct umfs_fs *fs, struct umfs_cow *c);
void umfs_cow_end(struct umfs_fs *fs, struct umfs_cow *c);

#endif /* UMFS_CORE_COW_H */
