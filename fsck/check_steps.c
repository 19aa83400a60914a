/* SPDX-License-Identifier: MIT */
/*
 * check_steps.c - the ordered table of fsck.umfs's check steps.
 *
 * Each step may rely on everything the steps before it checked and
 * repaired: the superblock gives the geometry every bounds check uses, the
 * journal rollback brings the metadata to its last committed state (which
 * the page bitmap's checksums are then checked against), the inode step
 * leaves only inodes whose fields are sane, the page-table step leaves
 * only trees whose entries are valid and whose pages have a single owner,
 * and so on. The first four steps are quick and run on every pool (they
 * read the superblocks, the state page, the journal and the page bitmap);
 * the rest run when the pool is not clean, when those found a problem
 * (damage the serving path refused is on record in the state page, or a
 * bitmap page fails its checksum), or with -f. Allocation is rebuilt from
 * what is reachable before the core is asked to create directory entries
 * (lost+found, rebuilt directories).
 *
 * The steps live in files by concern: check_super.c (superblock, state,
 * journal, mark clean), check_inode.c, check_trees.c, check_dir.c,
 * check_link.c (connectivity, link counts), check_bitmap.c (the bitmaps
 * and their checksums) and check_ns.c (namespace repairs through the core).
 */
#include "check.h"

const struct fsck_step fsck_steps[] = {
	{ .name = "superblock", .run = fsck_superblock, .quick = true },
	{ .name = "state page", .run = fsck_state, .quick = true },
	{ .name = "journal", .run = fsck_journal, .quick = true },
	{ .name = "bitmap checksums", .run = fsck_bitmap_sums, .quick = true },
	{ .name = "inodes", .run = fsck_inodes, .quick = false },
	{ .name = "page tables", .run = fsck_page_tables, .quick = false },
	{ .name = "directories", .run = fsck_directories, .quick = false },
	{ .name = "unreachable inodes", .run = fsck_connectivity, .quick = false },
	{ .name = "link counts", .run = fsck_link_counts, .quick = false },
	{ .name = "allocation bitmaps", .run = fsck_bitmaps, .quick = false },
	{ .name = "namespace repairs", .run = fsck_namespace, .quick = false },
	{ .name = "mark clean", .run = fsck_mark_clean, .quick = false },
};

const size_t fsck_nsteps = UMFS_ARRAY_SIZE(fsck_steps);
