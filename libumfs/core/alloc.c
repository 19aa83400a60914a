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
 * Neither bitmap is trusted when it hands out a bit: a damaged word that
 * calls a page or an inode in use free would give it a second owner. Each
 * 4 KiB of the page bitmap has a checksum (umfs_rules.h: umfs_bsum_*),
 * changed with every word in the same transaction and checked before bits
 * are taken from that page, unless they come from the word this process
 * took from last and that still holds what it left there: a check reads
 * 512 words (about 1,950 instructions), so checking every allocation
 * would cost a 4 KiB append 12-26% more instructions, this rule 3-6%
 * (docs/performance.md). A page that fails is refused for the mount:
 * allocation goes on elsewhere (EUCLEAN when only refused pages have
 * free bits), and the damage is logged once and recorded in the state page.
 * The inode bitmap needs no sum: a free inode is all zero (every free
 * zeroes it), so an inode it calls free that has a mode is refused the
 * same way.
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
#include <inttypes.h>
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "inode.h"
#include "journal.h"
#include "persist.h"
#include "prefault.h"
#include "report.h"

#define META_WINDOW 16ull       /* metadata pages populated together */
#define META_SCAN_WORDS 1024ull /* bitmap words searched down for one */

uint64_t umfs_bitmap_count(const uint64_t *map, uint64_t nbits)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < nbits / 64; w++)
		n += (uint64_t)__builtin_popcountll(map[w]);
	if (nbits % 64)
		n += (uint64_t)__builtin_popcountll(map[nbits / 64] & ((1ull << (nbits % 64)) - 1));
	return n;
}

void umfs_alloc_init_cursors(struct umfs_fs *fs)
{
	fs->page_cursor = 0;
	fs->ino_cursor = UMFS_ROOT_INO + 1;
	fs->meta_cursor = UINT64_MAX; /* the top of the zone */
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->bsum_seen); i++)
		fs->bsum_seen[i].word = UINT64_MAX;
}

void umfs_alloc_init(struct umfs_fs *fs)
{
	fs->free_pages = fs->data_pages - umfs_bitmap_count(fs->pbitmap, fs->data_pages);
	fs->free_inodes = fs->inode_count - umfs_bitmap_count(fs->ibitmap, fs->inode_count);
	umfs_alloc_init_cursors(fs);
}

/* The software backend's counts are exact for the pool; the module's are
 * this process's view of what the module owns. */
static bool alloc_counts_keepable(const struct umfs_fs *fs)
{
	return fs->be == &umfs_backend_soft && !fs->borrowed && !fs->pm.rdonly;
}

bool umfs_alloc_init_kept(struct umfs_fs *fs)
{
	const struct umfs_state_counts *k = umfs_state_counts_of(fs->state);

	if (fs->be != &umfs_backend_soft || !umfs_state_counts_ok(&fs->sb, fs->state, k)) {
		umfs_alloc_init(fs);
		return false;
	}
	umfs_alloc_init_cursors(fs);
	fs->free_pages = k->free_pages;
	fs->free_inodes = k->free_inodes;
	return true;
}

void umfs_alloc_keep(struct umfs_fs *fs)
{
	struct umfs_state_counts *k = umfs_state_counts_of(fs->state);

	if (!alloc_counts_keepable(fs))
		return;
	/* a crash that tears these words leaves a check that fails */
	k->free_pages = fs->free_pages;
	k->free_inodes = fs->free_inodes;
	k->check = umfs_state_counts_check(&fs->sb, fs->state, k);
	umfs_flush(k, sizeof(*k));
}

/* ------------------------------------------------------------------ */
/* Page-bitmap checksums                                                */
/* ------------------------------------------------------------------ */

static uint64_t *bsum_slot(const struct umfs_fs *fs, uint64_t w)
{
	return fs->bsum ? &fs->bsum[w / UMFS_BSUM_WORDS] : NULL;
}

/* Word w holds what this process left there when it last took from it. */
static bool bsum_seen_same(const struct umfs_fs *fs, uint64_t w)
{
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->bsum_seen); i++)
		if (fs->bsum_seen[i].word == w)
			return fs->bsum_seen[i].val == fs->pbitmap[w];
	return false;
}

static void bsum_seen_note(struct umfs_fs *fs, uint64_t w)
{
	size_t i = 0;

	while (i < UMFS_ARRAY_SIZE(fs->bsum_seen) && fs->bsum_seen[i].word != w)
		i++;
	if (i == UMFS_ARRAY_SIZE(fs->bsum_seen))
		i = fs->bsum_next_seen++ % UMFS_ARRAY_SIZE(fs->bsum_seen);
	fs->bsum_seen[i].word = w;
	fs->bsum_seen[i].val = fs->pbitmap[w];
}

static bool bsum_refused(const struct umfs_fs *fs, uint64_t bp)
{
	for (unsigned i = 0; i < fs->bsum_nrefused; i++)
		if (fs->bsum_refused[i] == bp)
			return true;
	return false;
}

/* Bitmap page bp failed its checksum: said once, recorded, remembered. */
static void bsum_refuse(struct umfs_fs *fs, uint64_t bp)
{
	uint64_t first = bp * UMFS_BSUM_WORDS * 64;

	umfs_damage_report(fs, UMFS_DAMAGE_PBITMAP | bp, 0,
			   "page bitmap: checksum of its page %" PRIu64 " (data pages %" PRIu64
			   "-%" PRIu64 ") does not match: no page is allocated from it "
			   "(run fsck.umfs)",
			   bp, first, UMFS_MIN(first + UMFS_BSUM_WORDS * 64, fs->data_pages) - 1);
	if (fs->bsum_nrefused < UMFS_BSUM_REFUSED)
		fs->bsum_refused[fs->bsum_nrefused++] = bp;
}

/* Whether free bits of word w may be taken. *checked: the bitmap page
 * last checked by the caller's search, whose words need no second check
 * while it holds the lock. */
static bool bsum_take_ok(struct umfs_fs *fs, uint64_t w, uint64_t *checked)
{
	uint64_t bp = w / UMFS_BSUM_WORDS;

	if (!fs->bsum || bp == *checked || bsum_seen_same(fs, w))
		return true;
	if (bsum_refused(fs, bp))
		return false;
	if (umfs_bsum_of(fs->pbitmap, fs->pbitmap_words, bp) != fs->bsum[bp]) {
		bsum_refuse(fs, bp);
		return false;
	}
	*checked = bp;
	return true;
}

/* Saves (unsealed) the checksums of page-bitmap words [w0, w1]. */
static int bsum_save(struct umfs_fs *fs, uint64_t w0, uint64_t w1)
{
	int err = 0;

	for (uint64_t bp = w0 / UMFS_BSUM_WORDS; fs->bsum && !err && bp <= w1 / UMFS_BSUM_WORDS; bp++)
		err = umfs_tx_save(fs, &fs->bsum[bp], sizeof(uint64_t));
	return err;
}

size_t umfs_page_free_cost(uint64_t first, uint64_t count)
{
	uint64_t w0 = first / 64, w1 = (first + count - 1) / 64;
	uint64_t records = (w1 - w0 + 1) + (w1 / UMFS_BSUM_WORDS - w0 / UMFS_BSUM_WORDS + 1);

	return (size_t)records * UMFS_ALIGN_UP(sizeof(struct umfs_jrec) + sizeof(uint64_t), 8);
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

/* Sets word w of bm to val: the word and, in the page bitmap, its page's
 * checksum (unless save_sum is false: saved already in this transaction)
 * are snapshotted first, and change together. */
static int word_put(struct umfs_fs *fs, uint64_t *bm, uint64_t w, uint64_t val, bool save_sum)
{
	uint64_t *sum = bm == fs->pbitmap ? bsum_slot(fs, w) : NULL;
	int err = alloc_owner_check(fs);

	if (!err)
		err = umfs_tx_save(fs, &bm[w], sizeof(*bm));
	if (!err && sum && save_sum)
		err = umfs_tx_save(fs, sum, sizeof(*sum));
	if (err)
		return err;
	umfs_tx_seal(fs);
	if (sum)
		*sum += umfs_bsum_delta(w, bm[w], val);
	bm[w] = val;
	return 0;
}

/* Sets or clears bit i. */
static int bit_put(struct umfs_fs *fs, uint64_t *bm, uint64_t i, bool on)
{
	uint64_t bit = 1ull << (i % 64);

	return word_put(fs, bm, i / 64, on ? bm[i / 64] | bit : bm[i / 64] & ~bit, true);
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

/* Marks up to want free pages from start used, stopping at a used page,
 * the end of the zone or a bitmap page that fails its checksum; *n says
 * how many. Returns the error that stopped it before (a full journal),
 * else 0. */
static int pages_take(struct umfs_fs *fs, uint64_t start, uint64_t want, uint64_t *n)
{
	uint64_t checked = UINT64_MAX, i;
	int err = 0;

	for (*n = 0; *n < want; (*n)++) {
		i = start + *n;
		if (i >= fs->data_pages || bit_get(fs->pbitmap, i))
			break;
		if ((*n == 0 || i % 64 == 0) && !bsum_take_ok(fs, i / 64, &checked))
			break;
		err = bit_put(fs, fs->pbitmap, i, true);
		if (err)
			break;
		if (fs->bsum)
			bsum_seen_note(fs, i / 64);
	}
	fs->free_pages -= *n;
	fs->tx.pages_delta -= (int64_t)*n;
	return err;
}

/* The first free page at or after the bitmap page that follows the one
 * holding page, wrapping once, or UINT64_MAX. */
static uint64_t find_clear_past(const struct umfs_fs *fs, uint64_t page)
{
	uint64_t next = (page / 64 / UMFS_BSUM_WORDS + 1) * UMFS_BSUM_WORDS * 64;

	return find_clear(fs->pbitmap, fs->data_pages, next < fs->data_pages ? next : 0);
}

int umfs_page_alloc_run(struct umfs_fs *fs, uint64_t goal, uint64_t want, uint64_t *first,
			uint64_t *got)
{
	uint64_t start, n = 0, pages = UMFS_DIV_ROUND_UP(fs->pbitmap_words, UMFS_BSUM_WORDS);
	bool refused = false;
	int err = 0;

	if (fs->free_pages == 0 || want == 0)
		return -ENOSPC;
	if (goal < fs->data_pages && !bit_get(fs->pbitmap, goal))
		start = goal;
	else
		start = find_clear(fs->pbitmap, fs->data_pages, fs->page_cursor);
	/* a bitmap page that fails its checksum sends the search on to the
	 * next; when only such pages have free bits, the pool is not full
	 * but its free space cannot be trusted: EUCLEAN, not ENOSPC */
	for (uint64_t k = 0; start != UINT64_MAX && k <= pages; k++) {
		err = pages_take(fs, start, want, &n);
		if (n || err)
			break; /* err: the journal is full before the first bit */
		refused = true;
		start = find_clear_past(fs, start);
	}
	if (n == 0)
		return err || !refused ? -ENOSPC : -EUCLEAN;
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

	if (p != UINT64_MAX) {
		/* p is free: n is 1 unless err, or its bitmap page is refused */
		err = pages_take(fs, p, 1, &n);
		if (!err && n)
			fs->meta_cursor = p;
		else if (!err)
			p = UINT64_MAX;
	}
	if (p == UINT64_MAX) {
		/* nothing free near the cursor: the data allocator searches
		 * the whole zone, and the next search starts at the top again */
		fs->meta_cursor = UINT64_MAX;
		err = umfs_page_alloc(fs, fs->page_cursor, &p);
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
		bsum_save(fs, goal / 64, last / 64);
	}
	if (meta) {
		uint64_t p = meta_next(fs);

		if (p != UINT64_MAX) {
			umfs_tx_save(fs, &fs->pbitmap[p / 64], sizeof(uint64_t));
			bsum_save(fs, p / 64, p / 64);
		}
	}
}

/* 2 MiB groups are 8 whole bitmap words: data_off is 2 MiB aligned. */
int umfs_page_alloc_huge(struct umfs_fs *fs, uint64_t *first)
{
	uint64_t groups = fs->data_pages / UMFS_PAGES_PER_HUGE;
	uint64_t g0 = (fs->page_cursor / UMFS_PAGES_PER_HUGE) % (groups ? groups : 1);
	const size_t words = UMFS_PAGES_PER_HUGE / 64;
	uint64_t checked = UINT64_MAX;
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
		if (!empty || !bsum_take_ok(fs, g * words, &checked))
			continue;
		err = umfs_tx_save(fs, w, words * sizeof(*w));
		if (!err)
			err = bsum_save(fs, g * words, g * words);
		if (err)
			return err;
		umfs_tx_seal(fs);
		for (size_t i = 0; i < words; i++) {
			if (fs->bsum)
				*bsum_slot(fs, g * words + i) += umfs_bsum_delta(g * words + i, 0, ~0ull);
			w[i] = ~0ull;
		}
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
	/* commit snapshots each bitmap word and checksum the run touches */
	tx->frees_cost += umfs_page_free_cost(first, count);
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

/* Clears bits [first, first+count), snapshotting each word, and each
 * checksum, once: the records umfs_page_free_cost counts. */
static int clear_run(struct umfs_fs *fs, uint64_t first, uint64_t count)
{
	uint64_t end = first + count, sum_saved = UINT64_MAX;

	while (first < end) {
		uint64_t w = first / 64, word = fs->pbitmap[w];
		uint64_t lo = first % 64, n = UMFS_MIN(64 - lo, end - first);
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << lo;
		int err;

		if ((word & mask) != mask)
			return -EUCLEAN; /* freeing a free page: the tree is damaged */
		err = word_put(fs, fs->pbitmap, w, word & ~mask, w / UMFS_BSUM_WORDS != sum_saved);
		if (err)
			return err;
		sum_saved = w / UMFS_BSUM_WORDS;
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

/* An inode the bitmap calls free, with a mode: it is in use and lost its
 * bit. Said once and recorded; never handed out. */
static void ino_refuse(struct umfs_fs *fs, uint64_t ino)
{
	umfs_damage_report(fs, UMFS_DAMAGE_IBITMAP | ino, 0,
			   "inode bitmap: inode %" PRIu64 " is marked free but in use (mode 0%o): "
			   "not reused (run fsck.umfs)",
			   ino, umfs_inode(fs, ino)->mode);
}

/* The first free inode from the cursor on (wrapping once) whose inode is
 * all free too, or UINT64_MAX. */
static uint64_t ino_find(struct umfs_fs *fs)
{
	uint64_t i = find_clear(fs->ibitmap, fs->inode_count, fs->ino_cursor), first = i;

	while (i != UINT64_MAX && i > UMFS_ROOT_INO && umfs_inode(fs, i)->mode != 0) {
		ino_refuse(fs, i);
		i = find_clear(fs->ibitmap, fs->inode_count, i + 1);
		if (i == first)
			return UINT64_MAX; /* around once */
	}
	return i > UMFS_ROOT_INO ? i : UINT64_MAX;
}

int umfs_ino_reserve(struct umfs_fs *fs, uint64_t *ino)
{
	uint64_t i;
	int err;

	if (fs->free_inodes == 0)
		return -ENOSPC;
	i = ino_find(fs);
	if (i == UINT64_MAX)
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
