/* SPDX-License-Identifier: MIT */
/*
 * grow.c - growing a pool in place, and finishing a grow that a crash cut
 * short. What changes on the media is include/umfs_grow.h's; the steps and
 * why every state between two fences is sound, docs/format.md.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "fs.h"
#include "umfs_tools.h"
#include "umfs_grow.h"

/* Writes sb at off and makes it durable before anything that follows. */
static int sb_put(struct umfs_pmem *pm, uint64_t off, const struct umfs_superblock *sb)
{
	memcpy(pm->base + off, sb, sizeof(*sb));
	umfs_persist(pm->base + off, sizeof(*sb));
	return umfs_pmem_sync(pm);
}

/* Rewrites the backup at off with sb a cache line at a time, each made
 * durable before the next, in the order umfs_grow_backup_stale expects. */
static int sb_put_lines(struct umfs_pmem *pm, uint64_t off, const struct umfs_superblock *sb)
{
	for (size_t n = 0; n < UMFS_GROW_SB_LINES; n++) {
		size_t at = (UMFS_GROW_SB_FIRST_LINE + n) % UMFS_GROW_SB_LINES * UMFS_CACHELINE;

		if (memcmp(pm->base + off + at, (const uint8_t *)sb + at, UMFS_CACHELINE)) {
			memcpy(pm->base + off + at, (const uint8_t *)sb + at, UMFS_CACHELINE);
			umfs_persist(pm->base + off + at, UMFS_CACHELINE);
		}
	}
	return umfs_pmem_sync(pm);
}

int umfs_grow_finish(struct umfs_pmem *pm, struct umfs_superblock *sb)
{
	uint64_t *bm = (uint64_t *)(pm->base + sb->pbitmap_off);
	uint64_t *sums = sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS
				 ? (uint64_t *)(pm->base + sb->bsum_off) : NULL;
	struct umfs_grow_span s = umfs_grow_bitmap(sb, bm, sums);
	int err;

	umfs_flush(bm + s.word, (s.word_end - s.word) * sizeof(*bm));
	if (sums)
		umfs_flush(sums + s.sum, (s.sum_end - s.sum) * sizeof(*sums));
	umfs_drain();
	err = umfs_pmem_sync(pm);
	umfs_grow_sb_end(sb);
	/* primary first: until the backup follows, it still says GROWING,
	 * which every mount rewrites (umfs_grow_backup_stale) */
	if (!err)
		err = sb_put(pm, 0, sb);
	if (!err)
		err = sb_put_lines(pm, sb->backup_sb_off, sb);
	return err;
}

/* The bitmap page where the grow starts holds pages in use: its sum must
 * hold before step (d) recomputes it, or the grow would hide damage. */
static bool start_sum_ok(const struct umfs_pmem *pm, const struct umfs_superblock *sb)
{
	const uint64_t *bm = (const uint64_t *)(pm->base + sb->pbitmap_off);
	const uint64_t *sums = (const uint64_t *)(pm->base + sb->bsum_off);
	uint64_t i = sb->data_pages / 64 / UMFS_BSUM_WORDS;

	if (!(sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS) ||
	    i >= umfs_bsum_count(sb->data_pages))
		return true;
	return sums[i] == umfs_bsum_of(bm, umfs_pbitmap_words(sb->data_pages), i);
}

int umfs_grow(struct umfs_pmem *pm, uint64_t size, const char **why)
{
	struct umfs_superblock sb;
	int err;

	memcpy(&sb, pm->base, sizeof(sb));
	err = umfs_sb_check(&sb, pm->len, pm->rdonly, why);
	if (err)
		return err;
	if (umfs_sb_growing(&sb)) {
		*why = "an interrupted grow is unfinished (fsck.umfs or a mount finishes it)";
		return -EUCLEAN;
	}
	if (size % UMFS_PAGE_SIZE || size <= sb.pool_size || size > pm->len) {
		*why = "the new size is not a page multiple larger than the pool, within the file";
		return -EINVAL;
	}
	if (size > umfs_sb_grow_limit(&sb)) {
		*why = "the page bitmap has no room for that many pages";
		return -EFBIG;
	}
	if (!start_sum_ok(pm, &sb)) {
		*why = "page bitmap checksum mismatch (run fsck.umfs)";
		return -EUCLEAN;
	}
	umfs_grow_sb_begin(&sb, size);
	/* (b) the new backup, past the old pool; (c) the primary: the commit */
	err = sb_put(pm, sb.backup_sb_off, &sb);
	if (!err)
		err = sb_put(pm, 0, &sb);
	if (!err)
		err = umfs_grow_finish(pm, &sb);
	if (err)
		*why = "writing the pool failed";
	return err;
}

/* A primary torn while a grow wrote it: the backup in the map's last page,
 * GROWING, stands for it (the grow wrote it first). */
static bool backup_takes_over(const struct umfs_pmem *pm, struct umfs_superblock *sb)
{
	uint64_t last = UMFS_ALIGN_DOWN(pm->len, UMFS_PAGE_SIZE) - UMFS_PAGE_SIZE;
	struct umfs_superblock b;
	const char *why;

	if (pm->len < 2 * UMFS_PAGE_SIZE)
		return false;
	memcpy(&b, pm->base + last, sizeof(b));
	if (umfs_sb_check(&b, pm->len, pm->rdonly, &why) || !umfs_sb_growing(&b) ||
	    b.backup_sb_off != last)
		return false;
	*sb = b;
	return true;
}

int umfs_grow_resume(struct umfs_pmem *pm, bool exclusive, int err,
		     struct umfs_superblock *sb, const char **why)
{
	const struct umfs_superblock *backup;

	if (umfs_backend_of(pm) == &umfs_backend_kmod) /* it refuses GROWING itself */
		return err;
	if (err == -EUCLEAN && backup_takes_over(pm, sb))
		err = 0;
	if (err)
		return err;
	if (!umfs_sb_growing(sb)) {
		backup = (const void *)(pm->base + sb->backup_sb_off);
		if (!pm->rdonly && umfs_grow_backup_stale(sb, backup) &&
		    sb_put_lines(pm, sb->backup_sb_off, sb)) {
			*why = "rewriting a backup superblock a grow left failed";
			return -EIO;
		}
		return 0;
	}
	if (pm->rdonly) {
		*why = "an interrupted grow is unfinished: mount it read-write once, or run fsck.umfs";
		return -EUCLEAN;
	}
	/* step (d) must not run under a user of the pool's pages */
	if (!exclusive && umfs_pmem_lock(pm, true)) {
		*why = "an interrupted grow is unfinished and another process uses the pool: "
		       "mount it alone once, or run fsck.umfs";
		return -EBUSY;
	}
	err = umfs_grow_finish(pm, sb);
	if (!exclusive && !err)
		err = umfs_pmem_lock(pm, false);
	if (err)
		*why = "finishing an interrupted grow failed";
	return err;
}
