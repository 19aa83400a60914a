/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - the page and inode bitmaps (alloc.c); umfs_tools.h has the
 * calls the tools make.
 */
#ifndef UMFS_CORE_ALLOC_H
#define UMFS_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;

/* Journal bytes that freeing count pages from first takes at commit: a
 * record for each bitmap word and each checksum the run changes. */
size_t umfs_page_free_cost(uint64_t first, uint64_t count);
/* In tx. Allocates one page, preferring goal (a page number) and then the
 * pages after it, so that sequential data stays contiguous. */
int umfs_page_alloc(struct umfs_fs *fs, uint64_t goal, uint64_t *page);
/* In tx. Allocates up to want contiguous pages starting at or after goal;
 * *got is at least 1 on success. */
int umfs_page_alloc_run(struct umfs_fs *fs, uint64_t goal, uint64_t want, uint64_t *first,
			uint64_t *got);
/* In tx. Allocates one page the library is about to write through its
 * mapping (a page-table, directory, symlink or U-Log page), present in this
 * process (alloc.c says where such pages come from, and why). */
int umfs_page_alloc_meta(struct umfs_fs *fs, uint64_t *page);
/* In tx. Saves, without sealing, the bitmap words that allocating count
 * data pages from goal, and a metadata page if meta, would change. */
void umfs_page_alloc_presave(struct umfs_fs *fs, uint64_t goal, uint64_t count, bool meta);
/* In tx. Allocates 512 contiguous pages, 2 MiB aligned in the pool. -ENOSPC if none. */
int umfs_page_alloc_huge(struct umfs_fs *fs, uint64_t *first);
/* In tx. Frees count pages from first; takes effect at commit, so that a
 * page freed by a transaction is never reused by the same transaction. */
int umfs_page_free(struct umfs_fs *fs, uint64_t first, uint64_t count);
/* Applies pending frees (called by commit). */
int umfs_page_free_apply(struct umfs_fs *fs);
bool umfs_page_is_used(const struct umfs_fs *fs, uint64_t page);

/* Resets the next-fit cursors and what this process remembers of the
 * bitmap, keeping the counts. */
void umfs_alloc_init_cursors(struct umfs_fs *fs);
/* At mount: the free counts a clean unmount kept in the state page when
 * they still hold (true), else counted from the bitmaps. */
bool umfs_alloc_init_kept(struct umfs_fs *fs);
/* At a clean unmount, before the state says clean: keeps this mount's
 * counts (flushed, not drained) for the next mount, when they are exact. */
void umfs_alloc_keep(struct umfs_fs *fs);

int umfs_ino_alloc(struct umfs_fs *fs, uint64_t *ino); /* in tx */
/* In tx: picks a free inode and saves (unsealed) it and its bitmap word;
 * nothing changes until umfs_ino_take, which marks it used (and seals). */
int umfs_ino_reserve(struct umfs_fs *fs, uint64_t *ino);
int umfs_ino_take(struct umfs_fs *fs, uint64_t ino);
int umfs_ino_free(struct umfs_fs *fs, uint64_t ino);   /* in tx */
/* Saves (unsealed) the bitmap word umfs_ino_free would change (in tx): for
 * a caller that may free ino later in the tx, so that the record shares
 * an earlier fence. */
int umfs_ino_free_save(struct umfs_fs *fs, uint64_t ino);
bool umfs_ino_is_used(const struct umfs_fs *fs, uint64_t ino);

#endif /* UMFS_CORE_ALLOC_H */
