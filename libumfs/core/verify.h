/* SPDX-License-Identifier: MIT */
/*
 * verify.h - the serving path's checks of inodes and entries (verify.c).
 */
#ifndef UMFS_CORE_VERIFY_H
#define UMFS_CORE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;

/* 0 when inode ino may be handed to a caller: in use, a known file type,
 * its identity checksum, and the ranges the core relies on. -EUCLEAN
 * (logged once) when it is damaged. locked: the caller holds meta_lock
 * (without it, a failure is checked again under it: a transaction of
 * another process may have been half done). */
int umfs_inode_verify(struct umfs_fs *fs, uint64_t ino, bool locked);
/* meta_lock held. The same for the inode that entry name of directory dir
 * names (type: the entry's DT_* type; ".." for dir's parent): -EUCLEAN
 * also when the entry names no inode in use, says another type, or names
 * a directory whose ".." is not dir (a directory has one name). */
int umfs_dentry_verify(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		       uint64_t ino, unsigned char type);

/* verify.c. Reports, once, that inode ino's page table is damaged, and
 * returns -EUCLEAN: for a caller whose -EUCLEAN from the table is final. */
int umfs_file_damaged(struct umfs_fs *fs, uint64_t ino);

#endif /* UMFS_CORE_VERIFY_H */
