/* SPDX-License-Identifier: MIT */
/*
 * fuzz_target.h - the one entry point shared by the libFuzzer harness
 * (fsck_fuzz.c) and the corpus replay test (fuzz_replay.c).
 *
 * An input is a list of patches applied to a small populated template
 * pool, so that mutations land on metadata rather than on file data:
 *
 *   byte 0          flags (FZ_*)
 *   then records    kind, off[3] (little-endian), len, len bytes of data
 *
 * The kind picks a region (superblock, state and journal, inodes, live
 * inodes, bitmaps, page-table pages, directory pages, anywhere, the backup
 * superblock) and the offset is reduced into it; five kinds build
 * structured values instead: a checksummed journal record, a page-table
 * entry with valid flags pointing at a chosen page, an inode root pointing
 * at a chosen page, a well-formed directory entry naming a chosen inode
 * (hard links to directories, loops, duplicates), an inode put on the
 * orphan list (and, optionally, its name removed). The engine then runs in check mode, then in repair
 * mode on a fresh copy; a repair that claims success must leave a pool a
 * second full check finds clean. Any violation aborts (a fuzzer crash).
 */
#ifndef UMFS_FUZZ_TARGET_H
#define UMFS_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define FZ_RESEAL 0x01u       /* recompute the checksum of patched inodes */
#define FZ_SB_RESUM 0x02u     /* recompute the primary superblock's checksum */
#define FZ_SB_BACKUP 0x04u    /* then copy the primary over the backup */
#define FZ_DIRTY 0x08u        /* mark the state page dirty */
#define FZ_NOFORCE 0x10u      /* first runs without -f */
#define FZ_CORE_WALK 0x20u    /* after a clean repair, walk the pool with the core */

enum fz_kind {
	FZK_SB,
	FZK_STATE_JOURNAL,
	FZK_INODES,
	FZK_LIVE_INODE,
	FZK_BITMAPS,
	FZK_TABLE_PAGE,
	FZK_DIR_PAGE,
	FZK_ANYWHERE,
	FZK_BACKUP_SB,
	FZK_JOURNAL_REC,
	FZK_PTE,
	FZK_INODE_ROOT,
	FZK_DENTRY,
	FZK_ORPHAN,
	FZK_COUNT
};

/* Runs one input; aborts on a violated property. Returns 0. */
int fsck_fuzz_one(const uint8_t *data, size_t size);

/* Messages of each run to stderr (replay -v). */
extern int fsck_fuzz_verbose;

#endif
