/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - the page bitmap and the inode bitmap.
 *
 * Both are bitmaps of 64-bit words on the pool, changed only inside
 * transactions (each touched word is snapshotted), so allocation is atomic
 * with the structure that uses the page. Bits past the end of each zone are
 * set at format time, so scans need no bounds special cases. DRAM keeps only
 * counts and next-fit cursors, rebuilt at mount.
 *
 * Data is allocated upwards from the data cursor, so that files stay
 * contiguous. Pages the library writes through its mapping as soon as it
 * has them (page tables, directory, symlink and U-Log pages) are taken
 * downwards from the top of the zone instead, where they lie together: on a
 * pool of 4 KiB pages a process's first store to a page it has not mapped
 * costs 12-15 us in the VM of docs/performance.md whether the page faults
 * or was populated alone, and about 4 us when it was populated with its
 * neighbours in one call. So a metadata page that is not present yet is
 * populated together with the META_WINDOW - 1 pages below it, the next
 * ones the downward cursor will take. Among data pages, the neighbours
 * would be written through the descriptor and never touched.
 */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"

#define META_WINDOW 16ull       /* metadata pages populated together */
#define META_SCAN_WORDS 1024ull /* bitmap words searched down for one */

static uint64_t count_free(const uint64_t *bm, uint64_t nbits)
{
	uint64_t used = 0, words = nbits / 64;

	for (uint64_t w = 0; w < words; w++)
		used += (uint64_t)__builtin_popcountll(bm[w]);
	for (uint64_t b = words * 64; b < nbits; b++)
		used += (bm[b / 64] >> (b % 64)) & 1;
	return nbits - used;
}

void umfs_alloc_init(struct umfs_fs *fs)
{
	fs->free_pages = count_free(fs->pbitmap, fs->data_pages);
	fs->free_inodes = count_free(fs->ibitmap, fs->inode_count);
	fs->page_cursor = 0;
	fs->ino_cursor = UMFS_ROOT_INO + 1;
	fs->meta_cursor = UINT64_MAX; /* the top of the zone */
}

static bool bit_get(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

/* When the bitmaps are the backend's alone (the kernel module's,
 * docs/kmod.md), a path that reaches this allocator is a bug, refused
 * rather than left to race the backend's allocations. */
static int alloc_owner_check(const struct umfs_fs *fs)
{
	return fs->be->core_allocates ? 0 : -EPERM;
}

/* Snapshots the word holding bit i, then sets or clears the bit. */
static int bit_put(struct umfs_fs *fs, uint64_t *bm, uint64_t i, bool on)
{
	uint64_t *w = &bm[i / 64];
	int err = alloc_owner_check(fs);

	if (!err)
		err = umfs_tx_add(fs, w, sizeof(*w));
	if (err)
		return err;
	if (on)
		*w |= 1ull << (i % 64);
	else
		*w &= ~(1ull << (i % 64));
	return 0;
}

/* First clear bit at or after start (wrapping once), or UINT64_MAX. */
static uint64_t find_clear(const uint64_t *bm, uint64_t nbits, uint64_t start)
{
	uint64_t words = UMFS_DIV_ROUND_UP(nbits, 64);
	uint64_t w0 = start < nbits ? start / 64 : 0;

	for (uint64_t k = 0; k <= words; k++) {
		uint64_t w = (w0 + k) % words;
		uint64_t free_bits = ~bm[w];

		if (k == 0 && start < nbits)
			free_bits &= ~0ull << (start % 64);
		if (free_bits) {
			uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(free_bits);
			if (i < nbits)
				return i;
		}
	}
	return UINT64_MAX;
}

bool umfs_page_is_used(const struct umfs_fs *fs, uint64_t page)
{
	return page >= fs->data_pages || bit_get(fs->pbitmap, page);
}

/* Marks up to want free pages from start used, stopping at a used page or
 * the end of the zone; *n says how many. Returns the error that stopped it
 * before (a full journal), else 0. */
static int pages_take(struct umfs_fs *fs, uint64_t start, uint64_t want, uint64_t *n)
{
	int err = 0;

	*n = 0;
	while (*n < want && start + *n < fs->data_pages && !bit_get(fs->pbitmap, start + *n) &&
	       (err = bit_put(fs, fs->pbitmap, start + *n, true)) == 0)
		(*n)++;
	fs->free_pages -= *n;
	fs->tx.pages_delta -= (int64_t)*n;
	return err;
}

int umfs_page_alloc_run(struct umfs_fs *fs, uint64_t goal, uint64_t want, uint64_t *first,
			uint64_t *got)
{
	uint64_t start, n;

	if (fs->free_pages == 0 || want == 0)
		return -ENOSPC;
	if (goal < fs->data_pages && !bit_get(fs->pbitmap, goal))
		start = goal;
	else
		start = find_clear(fs->pbitmap, fs->data_pages, fs->page_cursor);
	if (start == UINT64_MAX)
		return -ENOSPC;
	pages_take(fs, start, want, &n);
	if (n == 0)
		return -ENOSPC; /* journal full before the first bit */
	fs->page_cursor = start + n;
	*first = start;
	*got = n;
	return 0;
}

int umfs_page_alloc(struct umfs_fs *fs, uint64_t goal, uint64_t *page)
{
	uint64_t got;

	return umfs_page_alloc_run(fs, goal, 1, page, &got);
}

/* Highest clear bit at or below start, searching at most `words` words
 * down, or UINT64_MAX. */
static uint64_t find_clear_down(const uint64_t *bm, uint64_t start, uint64_t words)
{
	uint64_t w = start / 64;
	uint64_t free_bits = ~bm[w] & (~0ull >> (63 - start % 64));

	for (uint64_t k = 1;; k++) {
		if (free_bits)
			return w * 64 + 63 - (uint64_t)__builtin_clzll(free_bits);
		if (k == words || w == 0)
			return UINT64_MAX;
		free_bits = ~bm[--w];
	}
}

/* The page the next metadata allocation takes: the highest free one at or
 * below the cursor, or UINT64_MAX when none is near. */
static uint64_t meta_next(const struct umfs_fs *fs)
{
	uint64_t top = UMFS_MIN(fs->meta_cursor, fs->data_pages - 1);

	return fs->free_pages ? find_clear_down(fs->pbitmap, top, META_SCAN_WORDS) : UINT64_MAX;
}

int umfs_page_alloc_meta(struct umfs_fs *fs, uint64_t *page)
{
	uint64_t p = meta_next(fs), n;
	int err;

	if (p == UINT64_MAX) {
		/* nothing free near the cursor: the data allocator searches
		 * the whole zone, and the next search starts at the top again */
		fs->meta_cursor = UINT64_MAX;
		err = umfs_page_alloc(fs, fs->page_cursor, &p);
	} else {
		err = pages_take(fs, p, 1, &n); /* p is free: n is 1 unless err */
		if (!err)
			fs->meta_cursor = p;
	}
	if (err)
		return err;
	if (fs->be->prefaults && !umfs_pmem_present(&fs->pm, umfs_page_off(fs, p), UMFS_PAGE_SIZE)) {
		uint64_t low = p >= META_WINDOW - 1 ? p - (META_WINDOW - 1) : 0;

		umfs_pmem_prefault(&fs->pm, umfs_page_off(fs, low), (p - low + 1) << UMFS_PAGE_SHIFT);
	}
	*page = p;
	return 0;
}

void umfs_page_alloc_presave(struct umfs_fs *fs, uint64_t goal, uint64_t count, bool meta)
{
	if (goal < fs->data_pages && count) {
		uint64_t last = UMFS_MIN(goal + count, fs->data_pages) - 1;

		umfs_tx_save(fs, &fs->pbitmap[goal / 64], (last / 64 - goal / 64 + 1) * sizeof(uint64_t));
	}
	if (meta) {
		uint64_t p = meta_next(fs);

		if (p != UINT64_MAX)
			umfs_tx_save(fs, &fs->pbitmap[p / 64], sizeof(uint64_t));
	}
}

/* 2 MiB groups are 8 whole bitmap words: data_off is 2 MiB aligned. */
int umfs_page_alloc_huge(struct umfs_fs *fs, uint64_t *first)
{
	uint64_t groups = fs->data_pages / UMFS_PAGES_PER_HUGE;
	uint64_t g0 = (fs->page_cursor / UMFS_PAGES_PER_HUGE) % (groups ? groups : 1);
	const size_t words = UMFS_PAGES_PER_HUGE / 64;
	int err = alloc_owner_check(fs);

	if (err)
		return err;
	if (fs->free_pages < UMFS_PAGES_PER_HUGE)
		return -ENOSPC;
	for (uint64_t k = 0; k < groups; k++) {
		uint64_t g = (g0 + k) % groups;
		uint64_t *w = &fs->pbitmap[g * words];
		bool empty = true;

		for (size_t i = 0; i < words && empty; i++)
			empty = w[i] == 0;
		if (!empty)
			continue;
		err = umfs_tx_add(fs, w, words * sizeof(*w));
		if (err)
			return err;
		for (size_t i = 0; i < words; i++)
			w[i] = ~0ull;
		fs->free_pages -= UMFS_PAGES_PER_HUGE;
		fs->tx.pages_delta -= UMFS_PAGES_PER_HUGE;
		*first = g * UMFS_PAGES_PER_HUGE;
		fs->page_cursor = *first + UMFS_PAGES_PER_HUGE;
		return 0;
	}
	return -ENOSPC;
}

int umfs_page_free(struct umfs_fs *fs, uint64_t first, uint64_t count)
{
	struct umfs_tx *tx = &fs->tx;
	int err = alloc_owner_check(fs);

	if (!tx->active)
		return -EINVAL;
	if (err)
		return err;
	if (first >= fs->data_pages || count > fs->data_pages - first)
		return -EUCLEAN;
	/* commit snapshots each bitmap word the run touches: one record each */
	tx->frees_cost += (size_t)(count / 64 + 2) * UMFS_ALIGN_UP(sizeof(struct umfs_jrec) + 8, 8);
	/* Extend the previous run when contiguous: truncates free in order. */
	if (tx->nfrees && tx->frees[2 * tx->nfrees - 2] + tx->frees[2 * tx->nfrees - 1] == first) {
		tx->frees[2 * tx->nfrees - 1] += count;
		return 0;
	}
	if (tx->nfrees == tx->cap_frees) {
		size_t cap = tx->cap_frees ? tx->cap_frees * 2 : 32;
		uint64_t *f = realloc(tx->frees, cap * 2 * sizeof(*f));

		if (!f)
			return -ENOMEM;
		tx->frees = f;
		tx->cap_frees = cap;
	}
	tx->frees[2 * tx->nfrees] = first;
	tx->frees[2 * tx->nfrees + 1] = count;
	tx->nfrees++;
	return 0;
}

/* Clears bits [first, first+count), snapshotting each word once. */
static int clear_run(struct umfs_fs *fs, uint64_t first, uint64_t count)
{
	uint64_t end = first + count;

	while (first < end) {
		uint64_t *w = &fs->pbitmap[first / 64];
		uint64_t lo = first % 64, n = UMFS_MIN(64 - lo, end - first);
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << lo;
		int err;

		if ((*w & mask) != mask)
			return -EUCLEAN; /* freeing a free page: the tree is damaged */
		err = umfs_tx_add(fs, w, sizeof(*w));
		if (err)
			return err;
		*w &= ~mask;
		first += n;
	}
	return 0;
}

int umfs_page_free_apply(struct umfs_fs *fs)
{
	struct umfs_tx *tx = &fs->tx;

	for (size_t i = 0; i < tx->nfrees; i++) {
		uint64_t first = tx->frees[2 * i], count = tx->frees[2 * i + 1];
		int err = clear_run(fs, first, count);

		if (err)
			return err;
		fs->free_pages += count;
		tx->pages_delta += (int64_t)count;
		if (first < fs->page_cursor)
			fs->page_cursor = first; /* reuse low pages first: less spread */
		/* and metadata pages freed above the metadata cursor: this
		 * process has them mapped already */
		if (fs->meta_cursor != UINT64_MAX && first + count - 1 > fs->meta_cursor)
			fs->meta_cursor = first + count - 1;
	}
	tx->nfrees = 0;
	return 0;
}

bool umfs_ino_is_used(const struct umfs_fs *fs, uint64_t ino)
{
	return ino >= fs->inode_count || bit_get(fs->ibitmap, ino);
}

int umfs_ino_reserve(struct umfs_fs *fs, uint64_t *ino)
{
	uint64_t i;
	int err;

	if (fs->free_inodes == 0)
		return -ENOSPC;
	i = find_clear(fs->ibitmap, fs->inode_count, fs->ino_cursor);
	if (i == UINT64_MAX || i <= UMFS_ROOT_INO)
		return -ENOSPC;
	err = alloc_owner_check(fs);
	if (!err)
		err = umfs_tx_save(fs, &fs->ibitmap[i / 64], sizeof(uint64_t));
	if (!err)
		err = umfs_tx_save(fs, umfs_inode(fs, i), sizeof(struct umfs_inode));
	if (!err)
		*ino = i;
	return err;
}

int umfs_ino_take(struct umfs_fs *fs, uint64_t ino)
{
	int err = bit_put(fs, fs->ibitmap, ino, true); /* seals the reserve's records */

	if (err)
		return err;
	fs->free_inodes--;
	fs->tx.inodes_delta--;
	fs->ino_cursor = ino + 1;
	return 0;
}

int umfs_ino_alloc(struct umfs_fs *fs, uint64_t *ino)
{
	uint64_t i;
	int err = umfs_ino_reserve(fs, &i);

	if (!err)
		err = umfs_ino_take(fs, i);
	if (!err)
		*ino = i;
	return err;
}

int umfs_ino_free_save(struct umfs_fs *fs, uint64_t ino)
{
	if (alloc_owner_check(fs) || ino <= UMFS_ROOT_INO || ino >= fs->inode_count)
		return 0; /* nothing to save here: umfs_ino_free judges */
	return umfs_tx_save(fs, &fs->ibitmap[ino / 64], sizeof(uint64_t));
}

int umfs_ino_free(struct umfs_fs *fs, uint64_t ino)
{
	int err;

	if (ino <= UMFS_ROOT_INO || ino >= fs->inode_count || !bit_get(fs->ibitmap, ino))
		return -EUCLEAN;
	err = bit_put(fs, fs->ibitmap, ino, false);
	if (err)
		return err;
	fs->free_inodes++;
	fs->tx.inodes_delta++;
	if (ino < fs->ino_cursor)
		fs->ino_cursor = ino;
	return 0;
}
