/* SPDX-License-Identifier: MIT */
/*
 * inode.h - inodes: create, free, reclaim, stat, the orphan list (inode.c);
 * umfs_tools.h has the calls the tools make.
 */
#ifndef UMFS_CORE_INODE_H
#define UMFS_CORE_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs.h"

static inline struct umfs_inode *umfs_inode(const struct umfs_fs *fs, uint64_t ino)
{
	return &fs->inodes[ino];
}
/* The clock as of the kernel's last tick (a few ms behind, no finer): a
 * fifth of the fine clock's cost where reading the TSC is dear (7 against
 * 36 ns, docs/performance.md). Enough to ask whether a time is a day old. */
int64_t umfs_now_coarse_ns(void);
/* True when ino is in range, allocated and has a mode. */
bool umfs_inode_live(const struct umfs_fs *fs, uint64_t ino);

/* In tx. Allocates and initialises an inode (directories get an empty
 * index with parent as ".."). */
/* umfs_inode_create of an inode named name in directory parent (in tx):
 * the records of the inode, its bitmap word and the directory's change
 * share one fence. */
int umfs_inode_create_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			    uint64_t parent, const char *name, size_t len, uint64_t *inop);
int umfs_inode_create(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		      uint64_t parent, uint64_t *ino);
/* Puts an inode with nlink 0 on the orphan list (in tx). */
int umfs_inode_orphan(struct umfs_fs *fs, uint64_t ino);
/* Frees an orphan's pages, U-Log and inode, in as many transactions as it
 * takes. Takes meta_lock itself; the caller must not hold it. gen is the
 * generation the caller saw when it chose to reclaim (under meta_lock):
 * nothing is done once the inode was freed or reused meanwhile. Safe to
 * repeat after a crash (the orphan list remembers). */
int umfs_inode_reclaim(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* Under meta_lock: whether ino is still live with generation gen. */
bool umfs_inode_reclaim_due(const struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* In tx: frees an unnamed, unheld inode that owns no pages; -EAGAIN when it
 * owns pages (orphan it and reclaim it after the transaction). */
int umfs_inode_free_unused(struct umfs_fs *fs, uint64_t ino);
void umfs_inode_stat(const struct umfs_fs *fs, uint64_t ino, struct stat *st);
/* A DT_* value (S_IFMT >> 12) of a file type the format knows: FIFO 1,
 * CHR 2, DIR 4, BLK 6, REG 8, LNK 10, SOCK 12. */
static inline bool umfs_dtype_known(unsigned type)
{
	return type < 16 && (0x1556u >> type & 1);
}

#endif /* UMFS_CORE_INODE_H */
