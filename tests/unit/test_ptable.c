/* SPDX-License-Identifier: MIT */
/*
 * test_ptable.c - per-file page tables.
 *
 * Every test keeps a model (file page -> pool offset) next to the tree and
 * checks after each step that the tree is well formed (entry bits, 2 MiB
 * alignment, no page referenced twice, every page allocated, no empty
 * table), that it maps exactly the model, that in->blocks counts exactly its
 * pages and that the pool's free count moved by the same amount.
 */
#include <errno.h>

#include "testutil.h"

#define MAXPG UMFS_MAX_FILE_PAGES
#define HPG UMFS_PAGES_PER_HUGE
#define GPG (1ull << 18) /* pages per GiB */
#define L3PG (UMFS_MAX_FILE_SIZE_L3 >> UMFS_PAGE_SHIFT) /* a level-3 tree's cover */

/* ------------------------------------------------------------------ */
/* Model: sorted (page, offset) pairs                                    */
/* ------------------------------------------------------------------ */

struct ment {
	uint64_t pg, off;
};

struct model {
	struct ment *e;
	size_t n, cap;
	bool sorted;
};

static int ment_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;

	return x->pg < y->pg ? -1 : x->pg > y->pg;
}

static void model_add(struct model *m, uint64_t pg, uint64_t off)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
		assert_non_null(m->e);
	}
	m->e[m->n++] = (struct ment){ pg, off };
	m->sorted = false;
}

static void model_sort(struct model *m)
{
	if (!m->sorted)
		qsort(m->e, m->n, sizeof(*m->e), ment_cmp);
	m->sorted = true;
}

/* Index of the first entry with page >= pg. */
static size_t model_lower(struct model *m, uint64_t pg)
{
	size_t lo = 0, hi;

	model_sort(m);
	hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].pg < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t model_find(struct model *m, uint64_t pg)
{
	size_t i = model_lower(m, pg);

	return i < m->n && m->e[i].pg == pg ? m->e[i].off : 0;
}

static void model_remove(struct model *m, uint64_t first, uint64_t last)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].pg < first || m->e[i].pg > last)
			m->e[k++] = m->e[i];
	m->n = k;
}

static void model_free(struct model *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Tree checker                                                         */
/* ------------------------------------------------------------------ */

struct walk {
	struct umfs_fs *fs;
	struct model *m;
	uint8_t *seen; /* one byte per data page */
	uint64_t pages, leaves;
	bool allow_empty;
};

static void walk_mark(struct walk *w, uint64_t page, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		assert_true(page + i < w->fs->data_pages);
		assert_int_equal(w->seen[page + i], 0);
		w->seen[page + i] = 1;
		assert_true(umfs_page_is_used(w->fs, page + i));
	}
	w->pages += n;
}

static void walk_leaf(struct walk *w, uint64_t pg, uint64_t off)
{
	assert_int_equal(model_find(w->m, pg), off);
	w->leaves++;
}

static void walk_table(struct walk *w, uint64_t off, unsigned level, uint64_t base);

/* The n entries of a table at level, mapping pages from base. */
static void walk_entries(struct walk *w, const uint64_t *t, unsigned n, unsigned level,
			 uint64_t base)
{
	struct umfs_fs *fs = w->fs;
	unsigned used = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t e = t[i], eoff = umfs_pte_off(fs, e);
		uint64_t cbase = base + ((uint64_t)i << ((level - 1) * UMFS_PT_SHIFT));

		if (!e)
			continue;
		used++;
		assert_true(umfs_off_is_page(fs, eoff));
		if (level == 1) {
			assert_int_equal(e, umfs_pte_make(fs, eoff, UMFS_PTE_LEAF4K_FLAGS));
			walk_mark(w, umfs_off_page(fs, eoff), 1);
			walk_leaf(w, cbase, eoff);
		} else if (level == 2 && (e & UMFS_PTE_PSE)) {
			assert_int_equal(e, umfs_pte_make(fs, eoff, UMFS_PTE_LEAF2M_FLAGS));
			assert_int_equal(eoff % UMFS_HUGE_SIZE, 0);
			walk_mark(w, umfs_off_page(fs, eoff), HPG);
			for (uint64_t k = 0; k < HPG; k++)
				walk_leaf(w, cbase + k, eoff + k * UMFS_PAGE_SIZE);
		} else {
			assert_int_equal(e, umfs_pte_make(fs, eoff, UMFS_PTE_TABLE_FLAGS));
			walk_table(w, eoff, level - 1, cbase);
		}
	}
	if (!w->allow_empty)
		assert_true(used > 0);
}

static void walk_table(struct walk *w, uint64_t off, unsigned level, uint64_t base)
{
	assert_true(umfs_off_is_page(w->fs, off));
	walk_mark(w, umfs_off_page(w->fs, off), 1);
	walk_entries(w, umfs_off_ptr(w->fs, off), UMFS_PT_ENTRIES, level, base);
}

/* Checks lookups of the model's pages and of holes next to them. */
static void check_lookups(struct umfs_fs *fs, struct umfs_inode *in, struct model *m)
{
	model_sort(m);
	for (size_t i = 0; i < m->n; i++) {
		uint64_t run, pg = m->e[i].pg;

		assert_int_equal(umfs_pt_offset(fs, in, pg, &run), m->e[i].off);
		assert_true(run >= 1 && pg + run <= MAXPG);
		for (uint64_t k = 1; k < run; k++)
			assert_int_equal(model_find(m, pg + k), m->e[i].off + k * UMFS_PAGE_SIZE);
		/* the page after a run must not simply continue it */
		if (pg + run < MAXPG && run < 64 && (pg & (UMFS_PT_ENTRIES - 1)) + run < UMFS_PT_ENTRIES)
			assert_true(model_find(m, pg + run) != m->e[i].off + run * UMFS_PAGE_SIZE);
		/* asked for fewer pages, a lookup stops its run there, and
		 * only there (a level-1 table's run; a huge leaf's is whole) */
		for (uint64_t want = 0; want <= 3; want++) {
			uint64_t off, part;

			assert_int_equal(umfs_pt_lookup_upto(fs, in, pg, want, &off, &part), 0);
			assert_int_equal(off, m->e[i].off);
			bool huge_rest = run == UMFS_PAGES_PER_HUGE - (pg & (UMFS_PAGES_PER_HUGE - 1)) &&
					 (off - (pg & (UMFS_PAGES_PER_HUGE - 1)) * UMFS_PAGE_SIZE) %
						 UMFS_HUGE_SIZE == 0;

			assert_true(part == UMFS_MIN(run, UMFS_MAX(want, 1)) ||
				    (huge_rest && part == run));
		}
		if (pg + 1 < MAXPG && !model_find(m, pg + 1)) {
			size_t j;

			assert_int_equal(umfs_pt_offset(fs, in, pg + 1, &run), 0);
			assert_true(run >= 1);
			j = model_lower(m, pg + 1);
			assert_true(j == m->n || m->e[j].pg >= pg + 1 + run);
		}
	}
}

/* Full check of a file against the model; returns the pages it owns. */
static void verify_ex(struct umfs_fs *fs, struct umfs_inode *in, struct model *m, bool allow_empty)
{
	struct walk w = { .fs = fs, .m = m, .allow_empty = allow_empty };

	w.seen = calloc(fs->data_pages, 1);
	assert_non_null(w.seen);
	assert_int_equal(in->csum, umfs_inode_csum(in));
	if (in->pt_height == UMFS_PT_INLINE) {
		/* no page of its own; its entries, past which nothing is mapped */
		assert_int_equal(in->pt_root, 0);
		walk_entries(&w, in->pt_inline, UMFS_PT_INLINE_ENTRIES, 1, 0);
	} else if (!in->pt_root) {
		assert_int_equal(in->pt_height, 0);
	} else if (in->pt_height == 0) {
		assert_true(umfs_off_is_page(fs, in->pt_root));
		walk_mark(&w, umfs_off_page(fs, in->pt_root), 1);
		walk_leaf(&w, 0, in->pt_root);
	} else {
		assert_true(in->pt_height <= UMFS_PT_MAX_HEIGHT);
		walk_table(&w, in->pt_root, in->pt_height, 0);
	}
	assert_int_equal(w.leaves, m->n);
	assert_int_equal(w.pages, in->blocks);
	free(w.seen);
	check_lookups(fs, in, m);
}

static void verify(struct umfs_fs *fs, struct umfs_inode *in, struct model *m)
{
	verify_ex(fs, in, m, false);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* The pool of the running test, static so that the teardown can remove it
 * even after a failed assertion jumped out of the test. */
static struct test_pool the_pool;

static int pool_teardown(void **state)
{
	test_pool_reset(&the_pool);
	return 0;
}

/* True when the model has no page in pg's 2 MiB region. */
static bool model_region_empty(struct model *m, uint64_t pg)
{
	uint64_t base = pg - pg % HPG;
	size_t i = model_lower(m, base);

	return i == m->n || m->e[i].pg >= base + HPG;
}

/* Maps pg in its own transaction and records it; returns pt_map's value. */
static int map1(struct umfs_fs *fs, struct umfs_inode *in, struct model *m, uint64_t pg,
		unsigned flags)
{
	uint64_t base = pg - pg % HPG, other = pg == base ? base + 1 : base;
	bool empty = model_region_empty(m, pg);
	uint64_t off;
	int r;

	test_tx_open(fs);
	r = umfs_pt_map(fs, in, pg, flags, &off);
	test_tx_close(fs);
	assert_true(r == 0 || r == 1);
	if (r == 0) {
		assert_int_equal(model_find(m, pg), off);
		return 0;
	}
	assert_int_equal(model_find(m, pg), 0);
	assert_int_equal(umfs_pt_offset(fs, in, pg, NULL), off);
	if (empty && umfs_pt_offset(fs, in, other, NULL)) {
		/* a 2 MiB leaf: the whole region came */
		assert_true(flags & UMFS_PTMAP_HUGE);
		off -= (pg - base) * UMFS_PAGE_SIZE;
		for (uint64_t k = 0; k < HPG; k++)
			model_add(m, base + k, off + k * UMFS_PAGE_SIZE);
	} else {
		model_add(m, pg, off);
	}
	return 1;
}

/* Mid-truncate the model still lists pages the tree has dropped: forget
 * those, which must all lie in [first, last]. */
static void model_sync(struct umfs_fs *fs, struct umfs_inode *in, struct model *m,
		       uint64_t first, uint64_t last)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (umfs_pt_offset(fs, in, m->e[i].pg, NULL) == m->e[i].off)
			m->e[k++] = m->e[i];
		else
			assert_true(m->e[i].pg >= first && m->e[i].pg <= last);
	}
	m->n = k;
}

/* Truncates in as many transactions as it takes; returns the early stops. */
static unsigned truncate_all(struct umfs_fs *fs, struct umfs_inode *in, struct model *m,
			     uint64_t first)
{
	unsigned stops = 0;
	int r;

	test_tx_open(fs);
	while ((r = umfs_pt_truncate(fs, in, first)) == 1) {
		test_tx_close(fs);
		stops++;
		model_sync(fs, in, m, first, UINT64_MAX);
		verify_ex(fs, in, m, true); /* an emptied table may wait for the next call */
		test_tx_open(fs);
	}
	assert_int_equal(r, 0);
	test_tx_close(fs);
	model_remove(m, first, UINT64_MAX);
	return stops;
}

static unsigned punch_all(struct umfs_fs *fs, struct umfs_inode *in, struct model *m,
			  uint64_t first, uint64_t last)
{
	unsigned stops = 0;
	int r;

	test_tx_open(fs);
	while ((r = umfs_pt_punch(fs, in, first, last)) == 1) {
		test_tx_close(fs);
		stops++;
		model_sync(fs, in, m, first, last);
		verify_ex(fs, in, m, true);
		test_tx_open(fs);
	}
	assert_int_equal(r, 0);
	test_tx_close(fs);
	model_remove(m, first, last);
	return stops;
}

static void check_accounting(struct umfs_fs *fs, struct umfs_inode *in, uint64_t free0)
{
	assert_int_equal(free0 - fs->free_pages, in->blocks);
}

/* The end of a test: the file emptied gives back every page it took. */
static void empty_and_finish(struct umfs_fs *fs, struct umfs_inode *in, struct model *m,
			     uint64_t free0)
{
	truncate_all(fs, in, m, 0);
	assert_int_equal(fs->free_pages, free0);
	model_free(m);
	pool_teardown(NULL);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return test_rand_next(s) % n;
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

static void heights_grow_and_keep_mappings(void **state)
{
	static const struct {
		uint64_t pg;
		unsigned height;
	} steps[] = {
		{ 0, 0 }, { 1, UMFS_PT_INLINE }, { 16, UMFS_PT_INLINE }, { 17, 1 }, { 511, 1 }, { 512, 2 }, { 700, 2 }, { GPG - 1, 2 },
		{ GPG, 3 }, { 37 * GPG + 12345, 3 }, { L3PG - 1, 3 }, { L3PG, 4 },
		{ MAXPG - 1, 4 }, { MAXPG - 513, 4 },
	};
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, off, run, ino;

	assert_int_equal(test_pool_make(tp, "pth", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	in = umfs_inode(tp->fs, ino);
	free0 = tp->fs->free_pages;
	assert_int_equal(umfs_pt_offset(tp->fs, in, 0, &run), 0);
	assert_int_equal(run, MAXPG);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(steps); i++) {
		assert_int_equal(map1(tp->fs, in, &m, steps[i].pg, 0), 1);
		assert_int_equal(in->pt_height, steps[i].height);
		verify(tp->fs, in, &m);
		check_accounting(tp->fs, in, free0);
		/* mapping a present page changes nothing */
		assert_int_equal(map1(tp->fs, in, &m, steps[i].pg, 0), 0);
	}
	/* the top of the file: beyond it nothing can be mapped */
	test_tx_open(tp->fs);
	assert_int_equal(umfs_pt_map(tp->fs, in, MAXPG, 0, &off), -EFBIG);
	test_tx_close(tp->fs);
	assert_int_equal(umfs_pt_offset(tp->fs, in, MAXPG - 2, &run), 0);
	assert_int_equal(run, 1);

	assert_int_equal(test_pool_remount(tp), 0);
	in = umfs_inode(tp->fs, ino);
	verify(tp->fs, in, &m);

	free0 = tp->fs->free_pages + in->blocks;
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(in->pt_height, 0);
	assert_int_equal(in->blocks, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	verify(tp->fs, in, &m);
	model_free(&m);
	pool_teardown(NULL);
}

static void sequential_pages_are_contiguous(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t run, off, free0;

	assert_int_equal(test_pool_make(tp, "ptseq", 32 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	test_tx_open(tp->fs);
	for (uint64_t pg = 0; pg < 1500; pg++) {
		assert_int_equal(umfs_pt_map(tp->fs, in, pg, 0, &off), 1);
		model_add(&m, pg, off);
	}
	test_tx_close(tp->fs);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	/* a read of many pages needs few lookups */
	assert_true(umfs_pt_offset(tp->fs, in, 2, &run) != 0);
	assert_true(run >= 32);
	assert_true(umfs_pt_offset(tp->fs, in, 1030, &run) != 0);
	assert_true(run >= 32);
	empty_and_finish(tp->fs, in, &m, free0);
}

/* After umfs_pt_map_presave, mapping the pages it was told of writes no
 * more undo records (so takes no more fences): not for a new file growing
 * its first table, nor for a file with one, nor across a table's end into
 * a new level, and the tree is as umfs_pt_map alone makes it. */
static void presave_covers_the_mapping(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t off, free0, used;
	static const uint64_t steps[][2] = { { 0, 2 }, { 3, 3 }, { 4, 40 }, { 500, 530 } };

	assert_int_equal(test_pool_make(tp, "ptpresave", 32 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		test_tx_open(tp->fs);
		umfs_pt_map_presave(tp->fs, in, steps[i][0], steps[i][1]);
		assert_false(tp->fs->tx.unsealed);
		used = tp->fs->tx.used;
		for (uint64_t pg = steps[i][0]; pg <= steps[i][1]; pg++) {
			assert_int_equal(umfs_pt_map(tp->fs, in, pg, 0, &off), 1);
			model_add(&m, pg, off);
		}
		assert_int_equal(tp->fs->tx.used, used);
		test_tx_close(tp->fs);
		verify(tp->fs, in, &m);
		check_accounting(tp->fs, in, free0);
	}
	empty_and_finish(tp->fs, in, &m, free0);
}

static void huge_leaves(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, run, off, pg = 5 * HPG + 7;
	uint8_t *p;

	assert_int_equal(test_pool_make(tp, "pthuge", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;

	/* an empty file grows straight to height 2 and gets a whole leaf */
	assert_int_equal(map1(tp->fs, in, &m, pg, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(in->pt_height, 2);
	assert_int_equal(m.n, HPG);
	assert_int_equal(in->blocks, 1 + HPG);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 5 * HPG, &run) % UMFS_HUGE_SIZE, 0);
	assert_int_equal(run, HPG);
	assert_int_equal(umfs_pt_offset(tp->fs, in, pg, &run) % UMFS_HUGE_SIZE, 7 * UMFS_PAGE_SIZE);
	assert_int_equal(run, HPG - 7);
	assert_int_equal(map1(tp->fs, in, &m, 5 * HPG + 300, UMFS_PTMAP_HUGE), 0);
	verify(tp->fs, in, &m);

	/* a region holding 4 KiB pages never gets a leaf */
	assert_int_equal(map1(tp->fs, in, &m, 3, 0), 1);
	assert_int_equal(map1(tp->fs, in, &m, 10, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 11, NULL), 0);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 0, NULL), 0);
	/* an empty region beside them does */
	assert_int_equal(map1(tp->fs, in, &m, 2 * HPG, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 3 * HPG - 1, NULL),
			 umfs_pt_offset(tp->fs, in, 2 * HPG, NULL) + (HPG - 1) * UMFS_PAGE_SIZE);
	/* and one in the second GiB grows the tree to height 3 */
	assert_int_equal(map1(tp->fs, in, &m, GPG + 3 * HPG + 1, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(in->pt_height, 3);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);

	/* ZERO clears a whole fresh leaf: dirty one, free it, map again */
	p = umfs_off_ptr(tp->fs, umfs_pt_offset(tp->fs, in, 2 * HPG, NULL));
	memset(p, 0xA5, UMFS_HUGE_SIZE);
	punch_all(tp->fs, in, &m, 2 * HPG, 3 * HPG - 1);
	verify(tp->fs, in, &m);
	test_tx_open(tp->fs);
	assert_int_equal(umfs_pt_map(tp->fs, in, 2 * HPG + 9, UMFS_PTMAP_HUGE | UMFS_PTMAP_ZERO,
				     &off), 1);
	test_tx_close(tp->fs);
	p = umfs_off_ptr(tp->fs, off - 9 * UMFS_PAGE_SIZE);
	for (size_t i = 0; i < UMFS_HUGE_SIZE; i++)
		assert_int_equal(p[i], 0);
	for (uint64_t k = 0; k < HPG; k++)
		model_add(&m, 2 * HPG + k, off + (k - 9) * UMFS_PAGE_SIZE);
	verify(tp->fs, in, &m);

	/* a small tree keeps region 0 in 4 KiB pages */
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	assert_int_equal(map1(tp->fs, in, &m, 0, 0), 1);
	assert_int_equal(in->pt_height, 0);
	assert_int_equal(map1(tp->fs, in, &m, 5, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 6, NULL), 0);
	assert_int_equal(map1(tp->fs, in, &m, 600, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(in->pt_height, 2);
	assert_true(umfs_pt_offset(tp->fs, in, 513, NULL) != 0);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);

	empty_and_finish(tp->fs, in, &m, free0);
}

static void split_huge_leaf_on_truncate(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, base = 3 * HPG, lead, off;
	uint8_t *p;

	assert_int_equal(test_pool_make(tp, "ptsplit", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	assert_int_equal(map1(tp->fs, in, &m, base, UMFS_PTMAP_HUGE), 1);
	lead = umfs_pt_offset(tp->fs, in, base, NULL);
	p = umfs_off_ptr(tp->fs, lead);
	for (uint64_t k = 0; k < HPG; k++)
		memset(p + k * UMFS_PAGE_SIZE, (int)(k & 0xff), UMFS_PAGE_SIZE);

	/* cut the leaf at 300: pages 0..299 stay where they are */
	truncate_all(tp->fs, in, &m, base + 300);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	assert_int_equal(in->blocks, 1 + 1 + 300); /* level 2, level 1, data */
	for (uint64_t k = 0; k < 300; k++) {
		off = umfs_pt_offset(tp->fs, in, base + k, NULL);
		assert_int_equal(off, lead + k * UMFS_PAGE_SIZE);
		assert_int_equal(*(uint8_t *)umfs_off_ptr(tp->fs, off + 100), k & 0xff);
	}
	/* and again inside what is now a level-1 table, then on a boundary */
	truncate_all(tp->fs, in, &m, base + 1);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	truncate_all(tp->fs, in, &m, base);
	verify(tp->fs, in, &m);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(tp->fs->free_pages, free0);

	/* cutting at the leaf's first page frees it whole */
	assert_int_equal(map1(tp->fs, in, &m, base + 4, UMFS_PTMAP_HUGE), 1);
	assert_int_equal(map1(tp->fs, in, &m, 1, 0), 1);
	truncate_all(tp->fs, in, &m, base);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	/* only page 1 is left: the tree shrinks back to an inline table */
	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	assert_int_equal(in->blocks, 1);
	empty_and_finish(tp->fs, in, &m, free0);
}

/* A regular file of 2 to 17 pages keeps its entries in the inode: no
 * table page. Each transition keeps every mapping and blocks exact: one
 * page -> inline, inline -> a table page at page 17, a truncate back under
 * 17 pages -> inline again, to one page -> height 0, to none -> empty;
 * a hole punched inline frees its pages. A symlink takes a table page. */
static void inline_table_transitions(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in, *ln;
	uint64_t free0;

	assert_int_equal(test_pool_make(tp, "ptinl", 32 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	ln = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFLNK | 0777));
	free0 = tp->fs->free_pages;
	assert_int_equal(map1(tp->fs, in, &m, 0, 0), 1);
	assert_int_equal(in->pt_height, 0);
	for (uint64_t pg = 1; pg < UMFS_PT_INLINE_ENTRIES; pg++) {
		assert_int_equal(map1(tp->fs, in, &m, pg, 0), 1);
		assert_int_equal(in->pt_height, UMFS_PT_INLINE);
		assert_int_equal(in->blocks, pg + 1);
		verify(tp->fs, in, &m);
	}
	/* past the inline entries nothing is mapped, and a lookup says so */
	assert_int_equal(umfs_pt_offset(tp->fs, in, UMFS_PT_INLINE_ENTRIES, NULL), 0);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, UMFS_PT_INLINE_ENTRIES), UMFS_PT_NONE);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, 3), UMFS_PT_INLINE_ENTRIES);
	assert_int_equal(map1(tp->fs, in, &m, UMFS_PT_INLINE_ENTRIES, 0), 1);
	assert_int_equal(in->pt_height, 1);
	assert_int_equal(in->blocks, UMFS_PT_INLINE_ENTRIES + 2);
	assert_true(test_all_zero(in->pt_inline, sizeof(in->pt_inline)));
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	truncate_all(tp->fs, in, &m, 9);
	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	assert_int_equal(in->blocks, 9);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	punch_all(tp->fs, in, &m, 3, 5);
	assert_int_equal(in->blocks, 6);
	verify(tp->fs, in, &m);
	truncate_all(tp->fs, in, &m, 1);
	assert_int_equal(in->pt_height, 0);
	assert_true(test_all_zero(in->pt_inline, sizeof(in->pt_inline)));
	verify(tp->fs, in, &m);
	/* a sparse file: its first page inline at index 7 */
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(map1(tp->fs, in, &m, 7, 0), 1);
	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	assert_int_equal(in->blocks, 1);
	verify(tp->fs, in, &m);
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(in->pt_height, 0);
	assert_int_equal(in->pt_root, 0);
	check_accounting(tp->fs, in, free0);
	model_free(&m);

	/* only a regular file's inode has room: a symlink takes a table */
	assert_int_equal(map1(tp->fs, ln, &m, 0, 0), 1);
	assert_int_equal(map1(tp->fs, ln, &m, 1, 0), 1);
	assert_int_equal(ln->pt_height, 1);
	verify(tp->fs, ln, &m);
	truncate_all(tp->fs, ln, &m, 0);
	model_free(&m);
	pool_teardown(NULL);
}

/* A file with 4 KiB pages at random places of every height, dense runs and
 * 2 MiB leaves. */
static void build_mixed(struct umfs_fs *fs, struct umfs_inode *in, struct model *m, uint64_t seed)
{
	uint64_t s = seed, off;

	for (int i = 0; i < 150; i++) {
		uint64_t pg;

		switch (rnd(&s, 5)) {
		case 0:
			pg = rnd(&s, 4 * HPG);
			break;
		case 4: /* either side of the level-4 boundary */
			pg = L3PG - GPG + rnd(&s, 2 * GPG);
			break;
		case 1:
			pg = rnd(&s, 2 * GPG);
			break;
		case 2:
			pg = MAXPG - 1 - rnd(&s, 3 * GPG);
			break;
		default:
			pg = rnd(&s, MAXPG);
			break;
		}
		map1(fs, in, m, pg, 0);
	}
	for (int i = 0; i < 6; i++)
		map1(fs, in, m, rnd(&s, 3 * GPG) | 17, UMFS_PTMAP_HUGE);
	map1(fs, in, m, MAXPG - HPG, UMFS_PTMAP_HUGE);
	/* a dense run across a GiB boundary */
	test_tx_open(fs);
	for (uint64_t pg = GPG - 700; pg < GPG + 700; pg++)
		if (umfs_pt_map(fs, in, pg, 0, &off) == 1)
			model_add(m, pg, off);
	test_tx_close(fs);
}

/* 3 levels to 4 and back: the old root becomes entry 0 of the level-4
 * table; a truncate or punch that leaves nothing past 512 GiB frees that
 * table and makes entry 0 the root again. A pool without INCOMPAT_LEVEL4
 * stops at 3 levels. */
static void level4_grow_and_shrink(void **state)
{
	const struct umfs_format_opts no4 = { .label = "test", .no_level4 = true };
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, root3, off;

	assert_int_equal(test_pool_make(tp, "ptl4", 32 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	map1(tp->fs, in, &m, 5, 0);
	map1(tp->fs, in, &m, L3PG - 1, 0);
	assert_int_equal(in->pt_height, 3);
	root3 = in->pt_root;
	map1(tp->fs, in, &m, 8 * L3PG + 3, 0); /* 4 TiB */
	assert_int_equal(in->pt_height, 4);
	assert_int_equal(umfs_pte_off(tp->fs, ((uint64_t *)umfs_off_ptr(tp->fs, in->pt_root))[0]),
			 root3);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, L3PG), 8 * L3PG + 3);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, 8 * L3PG + 3), 8 * L3PG + 4);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, 8 * L3PG + 4), UINT64_MAX);

	/* a punch of everything past 512 GiB: back to 3 levels */
	punch_all(tp->fs, in, &m, L3PG, MAXPG - 1);
	assert_int_equal(in->pt_height, 3);
	assert_int_equal(in->pt_root, root3);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	/* grow again and truncate across 512 GiB */
	map1(tp->fs, in, &m, L3PG, 0);
	assert_int_equal(in->pt_height, 4);
	truncate_all(tp->fs, in, &m, L3PG);
	assert_int_equal(in->pt_height, 3);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	/* a file only past 512 GiB goes from 4 levels to none */
	truncate_all(tp->fs, in, &m, 0);
	map1(tp->fs, in, &m, 100 * L3PG, 0);
	assert_int_equal(in->pt_height, 4);
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(in->pt_height, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	model_free(&m);
	pool_teardown(NULL);

	assert_int_equal(test_pool_make_opts(tp, "ptl3", 32 << 20, &no4), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	test_tx_open(tp->fs);
	assert_int_equal(umfs_pt_map(tp->fs, in, L3PG - 1, 0, &off), 1);
	assert_int_equal(umfs_pt_map(tp->fs, in, L3PG, 0, &off), -EFBIG);
	test_tx_close(tp->fs);
	assert_int_equal(in->pt_height, 3);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, L3PG), L3PG);
	pool_teardown(NULL);
}

static void truncate_at_many_points(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, s = 42;

	assert_int_equal(test_pool_make(tp, "pttrunc", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	build_mixed(tp->fs, in, &m, 1);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);

	for (uint64_t at = MAXPG; at > 0;) {
		uint64_t step = rnd(&s, 3);

		/* jump down to just inside the next mapped page, or on a boundary */
		if (m.n == 0)
			break;
		model_sort(&m);
		at = UMFS_MIN(at - 1, m.e[m.n - 1].pg);
		if (step == 0)
			at -= at % HPG; /* a region boundary */
		else if (step == 1 && at > 0)
			at -= rnd(&s, UMFS_MIN(at, 300)); /* may cut a 2 MiB leaf */
		truncate_all(tp->fs, in, &m, at);
		verify(tp->fs, in, &m);
		check_accounting(tp->fs, in, free0);
		if (rnd(&s, 8) == 0) {
			uint64_t ino = (uint64_t)(in - umfs_inode(tp->fs, 0));

			assert_int_equal(test_pool_remount(tp), 0);
			in = umfs_inode(tp->fs, ino);
			free0 = tp->fs->free_pages + in->blocks;
			verify(tp->fs, in, &m);
		}
	}
	truncate_all(tp->fs, in, &m, 0);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	model_free(&m);
	pool_teardown(NULL);
}

static void punch_holes(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, s = 7;

	assert_int_equal(test_pool_make(tp, "ptpunch", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	build_mixed(tp->fs, in, &m, 2);
	for (int i = 0; i < 120 && m.n; i++) {
		uint64_t a, b;

		model_sort(&m);
		a = m.e[rnd(&s, m.n)].pg;
		switch (rnd(&s, 4)) {
		case 0: /* one page, maybe inside a 2 MiB leaf */
			b = a;
			break;
		case 1: /* a short range */
			a -= UMFS_MIN(a, rnd(&s, 600));
			b = a + rnd(&s, 1200);
			break;
		case 2: /* a whole region */
			a -= a % HPG;
			b = a + HPG - 1;
			break;
		default: /* a long one */
			b = a + rnd(&s, 4 * GPG);
			break;
		}
		b = UMFS_MIN(b, MAXPG - 1);
		punch_all(tp->fs, in, &m, a, b);
		verify(tp->fs, in, &m);
		check_accounting(tp->fs, in, free0);
		/* something to punch again */
		if (rnd(&s, 3) == 0)
			map1(tp->fs, in, &m, rnd(&s, 4 * GPG), rnd(&s, 2) ? UMFS_PTMAP_HUGE : 0);
	}
	/* punching everything empties the tree */
	punch_all(tp->fs, in, &m, 0, MAXPG - 1);
	verify(tp->fs, in, &m);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	/* a punch of nothing, and of the only page of a height-0 file */
	punch_all(tp->fs, in, &m, 5, 9);
	assert_int_equal(map1(tp->fs, in, &m, 0, 0), 1);
	punch_all(tp->fs, in, &m, 1, MAXPG - 1);
	assert_int_equal(in->blocks, 1);
	punch_all(tp->fs, in, &m, 0, 0);
	verify(tp->fs, in, &m);
	assert_int_equal(tp->fs->free_pages, free0);
	model_free(&m);
	pool_teardown(NULL);
}

static uint64_t model_next_data(struct model *m, uint64_t pg)
{
	size_t i = model_lower(m, pg);

	return i < m->n ? m->e[i].pg : UINT64_MAX;
}

static uint64_t model_next_hole(struct model *m, uint64_t pg)
{
	size_t i = model_lower(m, pg);

	for (; pg < MAXPG && i < m->n && m->e[i].pg == pg; i++)
		pg++;
	return pg;
}

static void next_data_and_hole(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t s = 99;

	assert_int_equal(test_pool_make(tp, "ptnext", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	/* empty file */
	assert_int_equal(umfs_pt_next_data(tp->fs, in, 0), UINT64_MAX);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, 0), 0);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, MAXPG), MAXPG);
	/* height 0 */
	map1(tp->fs, in, &m, 0, 0);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, 0), 0);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, 1), UINT64_MAX);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, 0), 1);
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, 7), 7);

	build_mixed(tp->fs, in, &m, 3);
	/* a file that ends with its last page mapped has no hole before the top */
	map1(tp->fs, in, &m, MAXPG - 1, 0);
	for (int i = 0; i < 3000; i++) {
		uint64_t pg;

		model_sort(&m);
		if (i % 2 == 0) {
			pg = m.e[rnd(&s, m.n)].pg + rnd(&s, 3) - 1;
			pg = UMFS_MIN(pg, MAXPG - 1);
		} else {
			pg = rnd(&s, MAXPG);
		}
		assert_int_equal(umfs_pt_next_data(tp->fs, in, pg), model_next_data(&m, pg));
		assert_int_equal(umfs_pt_next_hole(tp->fs, in, pg), model_next_hole(&m, pg));
	}
	assert_int_equal(umfs_pt_next_hole(tp->fs, in, MAXPG - 1), MAXPG);
	assert_int_equal(umfs_pt_next_data(tp->fs, in, MAXPG), UINT64_MAX);
	model_free(&m);
	pool_teardown(NULL);
}

/* Thousands of pages: the truncate must stop and resume across transactions,
 * leaving a valid tree at every stop. */
static void long_truncate_spans_transactions(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, off, pg = 0, s = 5;
	unsigned stops;

	assert_int_equal(test_pool_make(tp, "ptlong", 128 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	while (pg < 24000) {
		test_tx_open(tp->fs);
		while (pg < 24000 && umfs_tx_room(tp->fs) >= UMFS_TX_SLACK) {
			assert_int_equal(umfs_pt_map(tp->fs, in, pg, 0, &off), 1);
			model_add(&m, pg, off);
			/* mostly contiguous, with some gaps */
			pg += rnd(&s, 3) ? 1 : 2;
		}
		test_tx_close(tp->fs);
	}
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);

	stops = truncate_all(tp->fs, in, &m, 7777);
	assert_true(stops >= 1);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	stops = truncate_all(tp->fs, in, &m, 0);
	verify(tp->fs, in, &m);
	assert_int_equal(tp->fs->free_pages, free0);

	/* a huge punch of many 2 MiB leaves is split likewise */
	for (uint64_t r = 0; r < 20; r++)
		map1(tp->fs, in, &m, r * HPG, UMFS_PTMAP_HUGE);
	for (uint64_t r = 0; r < 20; r++)
		punch_all(tp->fs, in, &m, r * HPG + 1, r * HPG + 1); /* split each one */
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	stops = punch_all(tp->fs, in, &m, 0, MAXPG - 1);
	verify(tp->fs, in, &m);
	assert_int_equal(tp->fs->free_pages, free0);
	model_free(&m);
	pool_teardown(NULL);
}

/* With the slot nearly full, a truncate stops before overrunning it, and the
 * commit (which applies the frees) still fits. */
static void truncate_stops_when_journal_is_low(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, off;
	uint8_t *scratch;
	unsigned stops = 0;
	int r;

	assert_int_equal(test_pool_make(tp, "ptlow", 32 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	/* every other page of three level-1 tables: hundreds of separate runs */
	test_tx_open(tp->fs);
	for (uint64_t pg = 0; pg < 3 * UMFS_PT_ENTRIES; pg += 2) {
		assert_int_equal(umfs_pt_map(tp->fs, in, pg, 0, &off), 1);
		model_add(&m, pg, off);
	}
	test_tx_close(tp->fs);

	test_tx_open(tp->fs);
	/* use up the slot but for the slack and a few KiB (distinct ranges: the
	 * journal skips repeated ones) */
	for (size_t i = 0; umfs_tx_room(tp->fs) > UMFS_TX_SLACK + 6000; i++) {
		scratch = umfs_off_ptr(tp->fs, m.e[i / 4].off);
		assert_int_equal(umfs_tx_add(tp->fs, scratch + (i % 4) * 1024, 1000), 0);
	}
	while ((r = umfs_pt_truncate(tp->fs, in, 0)) == 1) {
		assert_true(umfs_tx_room(tp->fs) >= UMFS_TX_SLACK);
		test_tx_close(tp->fs);
		stops++;
		model_sync(tp->fs, in, &m, 0, UINT64_MAX);
		verify_ex(tp->fs, in, &m, true);
		check_accounting(tp->fs, in, free0);
		test_tx_open(tp->fs);
	}
	assert_int_equal(r, 0);
	test_tx_close(tp->fs);
	assert_true(stops >= 1);
	model_remove(&m, 0, UINT64_MAX);
	verify(tp->fs, in, &m);
	assert_int_equal(tp->fs->free_pages, free0);
	model_free(&m);
	pool_teardown(NULL);
}

/* Aborted transactions leave the tree, its pages and the data as they were. */
static void abort_restores_tree(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, blocks, off, lead;
	uint8_t *p;

	assert_int_equal(test_pool_make(tp, "ptabort", 64 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	assert_int_equal(map1(tp->fs, in, &m, 0, 0), 1);
	assert_int_equal(map1(tp->fs, in, &m, HPG, UMFS_PTMAP_HUGE), 1);
	lead = umfs_pt_offset(tp->fs, in, HPG, NULL);
	p = umfs_off_ptr(tp->fs, lead);
	test_fill(p, UMFS_HUGE_SIZE, 11);
	blocks = in->blocks;

	/* mapping that grows the tree, then abort */
	test_tx_open(tp->fs);
	assert_int_equal(umfs_pt_map(tp->fs, in, 3 * GPG, 0, &off), 1);
	assert_int_equal(umfs_pt_map(tp->fs, in, 7, 0, &off), 1);
	umfs_tx_abort(tp->fs);
	umfs_meta_unlock(tp->fs);
	assert_int_equal(in->pt_height, 2);
	assert_int_equal(in->blocks, blocks);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);

	/* a punch that splits the leaf (its last page turns into a table) */
	test_tx_open(tp->fs);
	assert_int_equal(umfs_pt_punch(tp->fs, in, HPG + 100, HPG + 200), 0);
	assert_true(in->blocks < blocks);
	umfs_tx_abort(tp->fs);
	umfs_meta_unlock(tp->fs);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	{
		uint8_t *want = malloc(UMFS_HUGE_SIZE);

		assert_non_null(want);
		test_fill(want, UMFS_HUGE_SIZE, 11);
		assert_memory_equal(p, want, UMFS_HUGE_SIZE);
		free(want);
	}
	empty_and_finish(tp->fs, in, &m, free0);
}

/* A full pool: 2 MiB requests fall back to 4 KiB pages, then -ENOSPC leaves
 * the tree valid and committable. */
static void full_pool(void **state)
{
	struct test_pool *tp = &the_pool;
	struct model m = { 0 };
	struct umfs_inode *in;
	uint64_t free0, off, pg = 0;
	int r = 0;

	assert_int_equal(test_pool_make(tp, "ptfull", 8 << 20, 0), 0);
	in = umfs_inode(tp->fs, test_inode_make(tp->fs, S_IFREG | 0644));
	free0 = tp->fs->free_pages;
	while (r >= 0) {
		test_tx_open(tp->fs);
		while (umfs_tx_room(tp->fs) >= UMFS_TX_SLACK) {
			/* a 2 MiB leaf in most regions, 4 KiB pages in some */
			uint64_t region = pg / HPG;
			unsigned flags = region % 3 ? UMFS_PTMAP_HUGE : 0;

			bool empty = model_region_empty(&m, pg);

			r = umfs_pt_map(tp->fs, in, pg, flags, &off);
			if (r < 0)
				break;
			assert_int_equal(r, 1);
			if (flags && empty &&
			    umfs_pt_offset(tp->fs, in, pg % HPG ? region * HPG : pg + 1, NULL)) {
				for (uint64_t k = 0; k < HPG; k++)
					model_add(&m, region * HPG + k,
						  off + (k - pg % HPG) * UMFS_PAGE_SIZE);
				pg = (region + 1) * HPG + 3;
			} else {
				model_add(&m, pg, off);
				pg += pg % HPG < 100 ? 1 : HPG - 100;
			}
		}
		test_tx_close(tp->fs);
	}
	assert_int_equal(r, -ENOSPC);
	verify(tp->fs, in, &m);
	check_accounting(tp->fs, in, free0);
	assert_true(tp->fs->free_pages < 4);
	assert_int_equal(test_pool_remount(tp), 0);
	in = umfs_inode(tp->fs, (uint64_t)(in - umfs_inode(tp->fs, 0)));
	verify(tp->fs, in, &m);
	/* freeing needs no allocation, even when cutting a 2 MiB leaf */
	truncate_all(tp->fs, in, &m, HPG + 5);
	verify(tp->fs, in, &m);
	empty_and_finish(tp->fs, in, &m, free0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(heights_grow_and_keep_mappings, pool_teardown),
		cmocka_unit_test_teardown(sequential_pages_are_contiguous, pool_teardown),
		cmocka_unit_test_teardown(presave_covers_the_mapping, pool_teardown),
		cmocka_unit_test_teardown(huge_leaves, pool_teardown),
		cmocka_unit_test_teardown(split_huge_leaf_on_truncate, pool_teardown),
		cmocka_unit_test_teardown(inline_table_transitions, pool_teardown),
		cmocka_unit_test_teardown(level4_grow_and_shrink, pool_teardown),
		cmocka_unit_test_teardown(truncate_at_many_points, pool_teardown),
		cmocka_unit_test_teardown(punch_holes, pool_teardown),
		cmocka_unit_test_teardown(next_data_and_hole, pool_teardown),
		cmocka_unit_test_teardown(long_truncate_spans_transactions, pool_teardown),
		cmocka_unit_test_teardown(truncate_stops_when_journal_is_low, pool_teardown),
		cmocka_unit_test_teardown(abort_restores_tree, pool_teardown),
		cmocka_unit_test_teardown(full_pool, pool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
