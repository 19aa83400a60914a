/* SPDX-License-Identifier: MIT */
/*
 * check_steps.c - the ordered table of fsck.umfs's check steps.
 *
 * Each step may rely on everything the steps before it checked and
 * repaired: the superblock gives the geometry every bounds check uses, the
 * journal rollback brings the metadata to its last committed state, the
 * inode step leaves only inodes whose fields are sane, the page-table step
 * leaves only trees whose entries are valid and whose pages have a single
 * owner, and so on. The first three steps are quick and run on every pool;
 * the rest run when the pool is not clean, when those found a problem, or
 * with -f. Allocation is rebuilt from what is reachable before the core
 * is asked to create directory entries (lost+found, rebuilt directories).
 *
 * The steps live in files by concern: check_super.c (superblock, state,
 * journal, mark clean), check_inode.c, check_ptable.c, check_dir.c,
 * check_link.c (connectivity, link counts), check_bitmap.c and
 * check_ns.c (namespace repairs through the core).
 */
#include "check.h"

const struct fsck_step fsck_steps[] = {
	{ "superblock", fsck_superblock, true },
	{ "state page", fsck_state, true },
	{ "journal", fsck_journal, true },
	{ "inodes", fsck_inodes, false },
	{ "page tables", fsck_page_tables, false },
	{ "directories", fsck_directories, false },
	{ "unreachable inodes", fsck_connectivity, false },
	{ "link counts", fsck_link_counts, false },
	{ "allocation bitmaps", fsck_bitmaps, false },
	{ "namespace repairs", fsck_namespace, false },
	{ "mark clean", fsck_mark_clean, false },
};

const size_t fsck_nsteps = UMFS_ARRAY_SIZE(fsck_steps);
