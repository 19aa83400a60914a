/* SPDX-License-Identifier: MIT */
/*
 * ptable.h - per-file page tables (ptable.c).
 */
#ifndef UMFS_CORE_PTABLE_H
#define UMFS_CORE_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umfs_format.h"

struct umfs_fs;

/* File page index of a byte offset */
#define UMFS_PG(off) ((uint64_t)(off) >> UMFS_PAGE_SHIFT)
/* The format's largest file in pages; a pool's own is umfs_fs_max_pages. */
#define UMFS_MAX_FILE_PAGES (UMFS_MAX_FILE_SIZE >> UMFS_PAGE_SHIFT)

/* The pool offset of file page pg in *off, 0 for a hole. When run is
 * non-NULL it gets a number of pages from pg on that are contiguous in the
 * pool and inside the data zone (at least 1; may be less than the longest
 * run, which keeps small reads cheap; for a hole, the number of hole pages
 * that follow, at least 1). Every entry on the way is decoded by the
 * format's rule (umfs_pte_decode): a root, table or leaf that does not
 * name what its level allows inside the data zone gives -EUCLEAN, and no
 * offset. On a shared mount a reader may also see that while a writer
 * changes the tree: it retries before it believes it. */
int umfs_pt_lookup(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
		   uint64_t *off, uint64_t *run);
/* The same, looking at no more entries of a table than a run of want pages
 * needs: a read of one page does not scan the entries after it. */
int umfs_pt_lookup_upto(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			uint64_t want, uint64_t *off, uint64_t *run);
/* The same as one value, for tests and tools that treat damage as a hole:
 * the offset, or 0 for a hole or damage. */
static inline uint64_t umfs_pt_offset(const struct umfs_fs *fs, const struct umfs_inode *in,
				      uint64_t pg, uint64_t *run)
{
	uint64_t off;

	return umfs_pt_lookup(fs, in, pg, &off, run) ? 0 : off;
}

/* 0 when every entry on the way to pages [first, last] decodes, else
 * -EUCLEAN: for a change that must not stop half way on damage. */
int umfs_pt_check_range(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last);
/* As umfs_pt_check_range, and every table and leaf page on the way is
 * marked used in the page bitmap: for a change that frees them. */
int umfs_pt_check_owned(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last);

#define UMFS_PTMAP_HUGE 0x1u /* may map a whole 2 MiB leaf if the region is empty */
#define UMFS_PTMAP_ZERO 0x2u /* zero freshly allocated data pages */
#define UMFS_PTMAP_META 0x4u /* the page is metadata: umfs_page_alloc_meta */
/* In tx. Makes file page pg present, growing the tree as needed. Returns 1
 * when the page was freshly allocated, 0 when it existed, or -errno. With
 * UMFS_PTMAP_HUGE, a fresh 2 MiB leaf maps all 512 pages of its region. On
 * an error the tree is unchanged, except that it may have grown taller. */
int umfs_pt_map(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned flags,
		uint64_t *off);
/* In tx. Saves what mapping the holes of pages [first, last] most likely
 * changes (the inode, the table entries, the bitmap words its pages come
 * from) and seals it all with one fence, so that umfs_pt_map's own saves
 * of these ranges cost none. A change it did not foresee is saved and
 * sealed where it happens, as without it. */
void umfs_pt_map_presave(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			 uint64_t last);
/* In tx. Unmaps and frees every page with index >= first_pg, last pages
 * first, until the transaction has less than UMFS_TX_SLACK bytes left.
 * Returns 1 when it stopped early (commit, begin, call again), 0 when done. */
int umfs_pt_truncate(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first_pg);
/* In tx. Frees the pages in [first, last] (punch hole); same return rule. */
int umfs_pt_punch(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last);
/* First present page >= pg, or UINT64_MAX; UMFS_PT_DAMAGED when a
 * damaged entry comes first (both scans). */
#define UMFS_PT_DAMAGED (UINT64_MAX - 1)
uint64_t umfs_pt_next_data(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg);
/* First hole page >= pg (umfs_fs_max_pages if none). */
uint64_t umfs_pt_next_hole(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg);
#define UMFS_TX_SLACK 4096

/* ptable.c. The entry slot of file page pg in the table of `level` (1: the
 * 4 KiB leaves, 2: the 2 MiB entries), or NULL when that table does not
 * exist or the path leaves the data zone: safe on a damaged tree. */
uint64_t *umfs_pt_slot_find(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			    unsigned level);
/* ptable.c. In tx. The slot of pg at `level`, creating what is missing:
 * the tree grows, empty tables are added, and a 2 MiB leaf on the way to a
 * level-1 slot is split into a table of 4 KiB leaves. */
int umfs_pt_slot_make(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned level,
		      uint64_t **slot);

#endif /* UMFS_CORE_PTABLE_H */
