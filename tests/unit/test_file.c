/* SPDX-License-Identifier: MIT */
/*
 * test_file.c - file data: read, write, truncate, fallocate, seek.
 *
 * The main test runs random operations against a file and a DRAM reference
 * of it. The file is sparse: operations land in a few 4 MiB windows spread
 * over the whole 256 TiB range (one straddles 512 GiB, where a tree grows
 * from 3 levels to 4; the last one ends at the maximum size), and
 * the reference holds only the windows; every other byte must read as zero.
 * Free pool pages are filled with garbage, and garbage is written past EOF
 * inside allocated pages, so any byte a zeroing rule forgets shows up.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "testutil.h"

#define MAXSZ UMFS_MAX_FILE_SIZE
#define PGSZ UMFS_PAGE_SIZE
#define HUGE UMFS_HUGE_SIZE
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? test_rand_next(s) % n : 0;
}

/* The pool of the running test, static so that the teardown can remove it
 * even after a failed assertion jumped out of the test. */
static struct test_pool the_pool;

static int pool_teardown(void **state)
{
	test_pool_reset(&the_pool);
	return 0;
}

/* Garbage in every free page: fresh pages must be zeroed by whoever needs it. */
static void poison_free_pages(struct umfs_fs *fs)
{
	for (uint64_t p = 0; p < fs->data_pages; p++)
		if (!umfs_page_is_used(fs, p))
			memset(umfs_page_ptr(fs, p), 0xEE, PGSZ);
}

/* Garbage past EOF in the allocated pages of [size, size + len). */
static void poison_past_eof(struct umfs_fs *fs, uint64_t ino, uint64_t len)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t a = in->size, b = UMFS_MIN(MAXSZ, a + len);

	while (a < b) {
		uint64_t run, pg = UMFS_PG(a), off = umfs_pt_offset(fs, in, pg, &run);
		uint64_t n = UMFS_MIN(b, (pg + run) * PGSZ) - a;

		if (off)
			memset((uint8_t *)umfs_off_ptr(fs, off) + a % PGSZ, 0xDD, n);
		a += n;
	}
}

static void write_all(struct umfs_fs *fs, uint64_t ino, const void *buf, size_t len, uint64_t off)
{
	assert_int_equal(umfs_file_write(fs, ino, buf, len, off), (ssize_t)len);
}

static void expect_zero(struct umfs_fs *fs, uint64_t ino, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(umfs_file_read(fs, ino, buf, len, off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i]) {
			print_error("byte %zu at %#llx is %#x\n", i, (unsigned long long)(off + i),
				    buf[i]);
			fail();
		}
	free(buf);
}

/* ------------------------------------------------------------------ */
/* The reference                                                        */
/* ------------------------------------------------------------------ */

#define NWIN 5
#define WIN_LEN (4 * MIB)
#define L3SZ UMFS_MAX_FILE_SIZE_L3 /* 512 GiB: what a level-3 tree covers */

static const uint64_t win_base[NWIN] = {
	0,
	2 * GIB - MIB - 777,      /* straddles a GiB boundary */
	37 * GIB + 5 * MIB + 100, /* unaligned, in a far level-2 table */
	L3SZ - 2 * MIB - 333,     /* straddles 512 GiB: level 3 to 4 */
	MAXSZ - WIN_LEN,          /* ends at the maximum size */
};

struct ref {
	uint64_t size;
	uint8_t *win[NWIN];
};

static void ref_init(struct ref *r)
{
	r->size = 0;
	for (int w = 0; w < NWIN; w++) {
		r->win[w] = calloc(1, WIN_LEN);
		assert_non_null(r->win[w]);
	}
}

static void ref_fini(struct ref *r)
{
	for (int w = 0; w < NWIN; w++)
		free(r->win[w]);
}

/* Applies fn to the parts of [a, b) that lie in windows. */
static void ref_zero(struct ref *r, uint64_t a, uint64_t b)
{
	for (int w = 0; w < NWIN; w++) {
		uint64_t lo = UMFS_MAX(a, win_base[w]), hi = UMFS_MIN(b, win_base[w] + WIN_LEN);

		if (lo < hi)
			memset(r->win[w] + (lo - win_base[w]), 0, hi - lo);
	}
}

/* The bytes a read of [off, off + len) must return. */
static size_t ref_read(const struct ref *r, uint8_t *out, uint64_t off, size_t len)
{
	size_t n = off >= r->size ? 0 : (size_t)UMFS_MIN(len, r->size - off);

	memset(out, 0, n);
	for (int w = 0; w < NWIN; w++) {
		uint64_t lo = UMFS_MAX(off, win_base[w]), hi = UMFS_MIN(off + n, win_base[w] + WIN_LEN);

		if (lo < hi)
			memcpy(out + (lo - off), r->win[w] + (lo - win_base[w]), hi - lo);
	}
	return n;
}

static void check_range(struct umfs_fs *fs, uint64_t ino, const struct ref *r, uint64_t off,
			size_t len)
{
	uint8_t *got = malloc(len + 1), *want = malloc(len + 1);
	size_t n;

	assert_non_null(got);
	assert_non_null(want);
	n = ref_read(r, want, off, len);
	assert_int_equal(umfs_file_read(fs, ino, got, len, off), (ssize_t)n);
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			print_error("offset %#llx: got %#x want %#x (size %#llx)\n",
				    (unsigned long long)(off + i), got[i], want[i],
				    (unsigned long long)r->size);
			fail();
		}
	free(got);
	free(want);
}

static void check_all(struct umfs_fs *fs, uint64_t ino, const struct ref *r, uint64_t *s)
{
	assert_int_equal(umfs_inode(fs, ino)->size, r->size);
	for (int w = 0; w < NWIN; w++)
		check_range(fs, ino, r, win_base[w], WIN_LEN);
	/* between the windows */
	for (int i = 0; i < 8; i++)
		check_range(fs, ino, r, rnd(s, MAXSZ), 64 << 10);
}

/* A random range in a window: lengths from a byte to a few MiB, often
 * crossing page and 2 MiB boundaries. */
static void pick_range(uint64_t *s, uint64_t *off, uint64_t *len)
{
	uint64_t base = win_base[rnd(s, NWIN)], a, n;

	switch (rnd(s, 4)) {
	case 0:
		n = 1 + rnd(s, 100);
		break;
	case 1:
		n = 1 + rnd(s, 3 * PGSZ);
		break;
	case 2:
		n = 1 + rnd(s, 3 * MIB);
		break;
	default: /* around a 2 MiB boundary */
		n = 1 + rnd(s, 64 << 10);
		break;
	}
	a = rnd(s, WIN_LEN);
	if (rnd(s, 3) == 0) {
		a &= ~(PGSZ - 1); /* page aligned, sometimes a region boundary */
		if (rnd(s, 2))
			a = ((base + a) & ~(HUGE - 1)) - base + (base % HUGE ? HUGE : 0);
	}
	a = UMFS_MIN(a, WIN_LEN - 1);
	n = UMFS_MIN(n, WIN_LEN - a);
	*off = base + a;
	*len = n;
}

static uint64_t pick_size(uint64_t *s, const struct ref *r)
{
	uint64_t base = win_base[rnd(s, NWIN)];

	switch (rnd(s, 6)) {
	case 0:
		return 0;
	case 1:
		return base;
	case 2:
		return UMFS_MIN(MAXSZ, base + WIN_LEN + rnd(s, GIB)); /* past the window */
	case 3:
		return r->size - UMFS_MIN(r->size, rnd(s, 3 * PGSZ));
	default:
		return base + rnd(s, WIN_LEN);
	}
}

/* ------------------------------------------------------------------ */
/* Random operations                                                    */
/* ------------------------------------------------------------------ */

static void op_write(struct umfs_fs *fs, uint64_t ino, struct ref *r, uint64_t *s,
		     uint8_t *buf)
{
	uint64_t off, len;
	int w;

	pick_range(s, &off, &len);
	test_fill(buf, len, test_rand_next(s));
	write_all(fs, ino, buf, len, off);
	for (w = 0; off < win_base[w] || off >= win_base[w] + WIN_LEN; w++)
		;
	memcpy(r->win[w] + (off - win_base[w]), buf, len);
	r->size = UMFS_MAX(r->size, off + len);
}

static void op_truncate(struct umfs_fs *fs, uint64_t ino, struct ref *r, uint64_t *s)
{
	uint64_t size = pick_size(s, r);

	assert_int_equal(umfs_file_truncate(fs, ino, size), 0);
	if (size < r->size)
		ref_zero(r, size, MAXSZ);
	r->size = size;
}

static void op_fallocate(struct umfs_fs *fs, uint64_t ino, struct ref *r, uint64_t *s)
{
	static const int modes[] = {
		0,
		FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	int mode = modes[rnd(s, UMFS_ARRAY_SIZE(modes))];
	uint64_t off, len;

	pick_range(s, &off, &len);
	if (rnd(s, 3) == 0) { /* from just past EOF: EOF moves over a cut page's tail */
		uint64_t past = r->size + rnd(s, 3 * PGSZ);

		for (int w = 0; w < NWIN; w++) /* inside a window, so the pool cannot fill */
			if (past >= win_base[w] && past + len <= win_base[w] + WIN_LEN)
				off = past;
	}
	assert_int_equal(umfs_file_fallocate(fs, ino, mode, off, len), 0);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		ref_zero(r, off, off + len);
	if (!(mode & FALLOC_FL_KEEP_SIZE))
		r->size = UMFS_MAX(r->size, off + len);
}

static void random_ops(uint64_t seed, int nops)
{
	struct test_pool *tp = &the_pool;
	struct ref r;
	uint64_t s = seed, ino, free0;
	uint8_t *buf = malloc(WIN_LEN);

	assert_non_null(buf);
	assert_int_equal(test_pool_make(tp, "frand", 160 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	free0 = tp->fs->free_pages;
	poison_free_pages(tp->fs);
	ref_init(&r);
	for (int i = 0; i < nops; i++) {
		uint64_t off, len;

		switch (rnd(&s, 10)) {
		case 0:
		case 1:
		case 2:
		case 3:
			op_write(tp->fs, ino, &r, &s, buf);
			break;
		case 4:
		case 5:
			op_truncate(tp->fs, ino, &r, &s);
			break;
		case 6:
		case 7:
			op_fallocate(tp->fs, ino, &r, &s);
			break;
		case 8:
			poison_past_eof(tp->fs, ino, rnd(&s, 2) ? PGSZ : 3 * MIB);
			break;
		default:
			pick_range(&s, &off, &len);
			check_range(tp->fs, ino, &r, off, len + rnd(&s, 64 << 10));
			break;
		}
		assert_int_equal(umfs_inode(tp->fs, ino)->size, r.size);
		assert_int_equal(umfs_inode(tp->fs, ino)->flags, 0);
		pick_range(&s, &off, &len);
		check_range(tp->fs, ino, &r, off, len);
		if (i % 25 == 24)
			check_all(tp->fs, ino, &r, &s);
		if (i % 60 == 59) {
			assert_int_equal(test_pool_remount(tp), 0);
			poison_free_pages(tp->fs);
			check_all(tp->fs, ino, &r, &s);
		}
	}
	check_all(tp->fs, ino, &r, &s);
	/* every page comes back */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 0), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->blocks, 0);
	assert_int_equal(tp->fs->free_pages, free0);
	ref_fini(&r);
	free(buf);
	pool_teardown(NULL);
}

static void random_against_reference(void **state)
{
	static const uint64_t seeds[] = { 1, 0x5eed, 20240607, 77 };

	for (size_t i = 0; i < UMFS_ARRAY_SIZE(seeds); i++) {
		setenv("UMFS_CONSISTENCY", i % 2 ? "relaxed" : "strict", 1);
		random_ops(seeds[i], 250);
	}
	unsetenv("UMFS_CONSISTENCY");
}

/* ------------------------------------------------------------------ */
/* Directed tests                                                       */
/* ------------------------------------------------------------------ */

static void zeroing_rules(void **state)
{
	struct test_pool *tp = &the_pool;
	uint8_t buf[3 * PGSZ], out[3 * PGSZ];
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "fzero", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	poison_free_pages(tp->fs);
	memset(buf, 0xFF, sizeof(buf));

	/* truncate down leaves garbage in the last page; growing zeroes it */
	write_all(tp->fs, ino, buf, 2 * PGSZ, 0);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 100), 0);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 2 * PGSZ), 0);
	expect_zero(tp->fs, ino, 100, 2 * PGSZ - 100);
	/* a write past EOF zeroes the gap, a fresh page zeroes what it does not write */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 100), 0);
	poison_past_eof(tp->fs, ino, PGSZ);
	write_all(tp->fs, ino, buf, 10, 3 * PGSZ + 50);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, 3 * PGSZ + 60);
	expect_zero(tp->fs, ino, 100, 3 * PGSZ - 50);
	/* a fresh page inside EOF (hole filling) */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, MIB), 0);
	write_all(tp->fs, ino, buf, 10, 300000);
	expect_zero(tp->fs, ino, 300000 - 300000 % PGSZ, 300000 % PGSZ);
	expect_zero(tp->fs, ino, 300010, PGSZ);
	/* fallocate beyond EOF, garbage there, then extend over it */
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, FALLOC_FL_KEEP_SIZE, MIB, 3 * MIB), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, MIB);
	poison_past_eof(tp->fs, ino, 3 * MIB);
	write_all(tp->fs, ino, buf, 1, 2 * MIB + 3);
	expect_zero(tp->fs, ino, MIB, MIB + 3);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, 2 * MIB, 2 * MIB), 0);
	expect_zero(tp->fs, ino, 2 * MIB + 4, 2 * MIB - 4);
	/* a punch zeroes partial pages and leaves whole ones as holes */
	write_all(tp->fs, ino, buf, sizeof(buf), 8 * PGSZ + 7);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     8 * PGSZ + 10, 2 * PGSZ), 0);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 8 * PGSZ + 7),
			 (ssize_t)sizeof(out));
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], i >= 3 && i < 3 + 2 * PGSZ ? 0 : 0xFF);
	assert_int_equal(umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), 9, NULL), 0);
	pool_teardown(NULL);
}

/* Every mode of fallocate that moves EOF over the tail of a page a
 * truncate cut must zero that tail, also when its range starts past EOF. */
static void zeroing_on_every_eof_move(void **state)
{
	static const int modes[] = { 0, FALLOC_FL_ZERO_RANGE };
	static const char *const consistency[] = { "strict", "relaxed" };
	struct test_pool *tp = &the_pool;
	uint8_t buf[0xb008 - 0x9e4a];
	uint64_t ino;

	memset(buf, 0xa1, sizeof(buf));
	for (size_t c = 0; c < UMFS_ARRAY_SIZE(consistency); c++) {
		setenv("UMFS_CONSISTENCY", consistency[c], 1);
		assert_int_equal(test_pool_make(tp, "feof", 32 << 20, 0), 0);
		for (size_t m = 0; m < UMFS_ARRAY_SIZE(modes); m++) {
			ino = test_inode_make(tp->fs, S_IFREG | 0644);
			write_all(tp->fs, ino, buf, sizeof(buf), 0x9e4a);
			assert_int_equal(umfs_file_truncate(tp->fs, ino, 0x98d2), 0);
			assert_int_equal(umfs_file_fallocate(tp->fs, ino, modes[m], 0x15b83, 0x72f7), 0);
			assert_int_equal(umfs_inode(tp->fs, ino)->size, 0x15b83 + 0x72f7);
			expect_zero(tp->fs, ino, 0x98d2, 0x15b83 + 0x72f7 - 0x98d2);
		}
		pool_teardown(NULL);
	}
	unsetenv("UMFS_CONSISTENCY");
}

static void large_writes_and_huge_leaves(void **state)
{
	struct test_pool *tp = &the_pool;
	size_t len = 40 * MIB;
	uint8_t *buf = malloc(len), *out = malloc(len);
	struct umfs_inode *in;
	uint64_t ino, run, free0;

	assert_non_null(buf);
	assert_non_null(out);
	assert_int_equal(test_pool_make(tp, "flarge", 256 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	in = umfs_inode(tp->fs, ino);
	free0 = tp->fs->free_pages;

	/* a write covering whole regions gets 2 MiB leaves */
	test_fill(buf, len, 1);
	write_all(tp->fs, ino, buf, len, 0);
	assert_int_equal(umfs_pt_offset(tp->fs, in, 0, &run) % HUGE, 0);
	assert_int_equal(run, UMFS_PAGES_PER_HUGE);
	assert_int_equal(in->blocks, 20 * UMFS_PAGES_PER_HUGE + 1);
	/* a file of 2 MiB or more gets them even for a small write that
	 * fills a region from its first page on (an append, a copy) */
	write_all(tp->fs, ino, buf, 10, 100 * MIB + 5);
	assert_int_equal(umfs_pt_offset(tp->fs, in, UMFS_PG(100 * MIB), &run) % HUGE, 0);
	assert_int_equal(run, UMFS_PAGES_PER_HUGE);
	/* not one that begins inside an empty region (a write into a sparse
	 * file's hole): a 4 KiB page, the rest of the region left a hole */
	write_all(tp->fs, ino, buf, 10, 110 * MIB + 2 * PGSZ + 5);
	assert_int_equal(umfs_pt_offset(tp->fs, in, UMFS_PG(110 * MIB), &run), 0);
	assert_int_not_equal(umfs_pt_offset(tp->fs, in, UMFS_PG(110 * MIB) + 2, &run), 0);
	assert_int_equal(umfs_pt_offset(tp->fs, in, UMFS_PG(110 * MIB) + 3, &run), 0);
	expect_zero(tp->fs, ino, 40 * MIB, 60 * MIB + 5);
	expect_zero(tp->fs, ino, 100 * MIB + 10 + 5, 10 * MIB + 2 * PGSZ - 10);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, len), 0);

	/* leave one 4 KiB page per region: the next write maps thousands of
	 * 4 KiB pages, over many transactions */
	for (uint64_t r = 0; r < 20; r++)
		assert_int_equal(umfs_file_fallocate(tp->fs, ino,
						     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						     r * HUGE + PGSZ, HUGE - PGSZ), 0);
	assert_int_equal(in->blocks, 20 * 2 + 1);
	test_fill(buf, len, 2);
	write_all(tp->fs, ino, buf, len, 0);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, len, 0), (ssize_t)len);
	assert_memory_equal(out, buf, len);
	assert_int_equal(free0 - tp->fs->free_pages, in->blocks);

	/* unaligned, far away, partly past EOF, read back after a remount */
	test_fill(buf, len, 3);
	write_all(tp->fs, ino, buf, len, GIB + 12345);
	write_all(tp->fs, ino, buf, len - 1000, 7 * MIB + 1);
	assert_int_equal(test_pool_remount(tp), 0);
	in = umfs_inode(tp->fs, ino);
	assert_int_equal(in->size, GIB + 12345 + len);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, len, GIB + 12345), (ssize_t)len);
	assert_memory_equal(out, buf, len);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, len - 1000, 7 * MIB + 1),
			 (ssize_t)(len - 1000));
	assert_memory_equal(out, buf, len - 1000);
	free0 = tp->fs->free_pages + in->blocks;
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 0), 0);
	assert_int_equal(tp->fs->free_pages, free0);
	free(buf);
	free(out);
	pool_teardown(NULL);
}

static void efbig(void **state)
{
	struct test_pool *tp = &the_pool;
	uint8_t buf[100], out[100];
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "fbig", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	test_fill(buf, sizeof(buf), 9);
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 1, MAXSZ), -EFBIG);
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 1, UINT64_MAX), -EFBIG);
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 0, MAXSZ), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, 0);
	/* a write reaching past the limit is cut at it */
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 100, MAXSZ - 10), 10);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, MAXSZ);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 100, MAXSZ - 10), 10);
	assert_memory_equal(out, buf, 10);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 100, MAXSZ), 0);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, MAXSZ + 1), -EFBIG);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, MAXSZ), 0);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, MAXSZ - PGSZ, 2 * PGSZ), -EFBIG);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, FALLOC_FL_KEEP_SIZE, MAXSZ, 1), -EFBIG);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, MAXSZ - PGSZ, PGSZ), 0);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 0), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->blocks, 0);
	pool_teardown(NULL);
}

static void enospc_short_writes(void **state)
{
	struct test_pool *tp = &the_pool;
	size_t len = 16 * MIB;
	uint8_t *buf = malloc(len), *out = malloc(len), *more = malloc(len);
	uint64_t ino, size;
	ssize_t n;

	assert_non_null(buf);
	assert_non_null(out);
	assert_non_null(more);
	assert_int_equal(test_pool_make(tp, "fnospc", 8 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	test_fill(buf, len, 4);
	test_fill(more, len, 5);

	/* a write larger than the pool stops short, on a page boundary */
	n = umfs_file_write(tp->fs, ino, buf, len, 0);
	assert_true(n > 0 && (size_t)n < len);
	assert_int_equal(n % PGSZ, 0);
	size = (uint64_t)n;
	assert_int_equal(umfs_inode(tp->fs, ino)->size, size);
	assert_true(tp->fs->free_pages < 4);

	/* nothing more fits: errors change nothing */
	assert_int_equal(umfs_file_write(tp->fs, ino, more, PGSZ, size), -ENOSPC);
	assert_int_equal(umfs_file_write(tp->fs, ino, more, 10, size + 5 * MIB), -ENOSPC);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, size, MIB), -ENOSPC);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, size);
	/* an overwrite running into the full pool writes what it can */
	assert_int_equal(umfs_file_write(tp->fs, ino, more, 5000, size - 100), 100);
	memcpy(buf + size - 100, more, 100);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, size);

	assert_int_equal(test_pool_remount(tp), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, size);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, len, 0), (ssize_t)size);
	assert_memory_equal(out, buf, size);

	/* space freed by a truncate is usable again */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, size / 2), 0);
	n = umfs_file_write(tp->fs, ino, more, len, size / 2);
	assert_true(n >= (ssize_t)(size / 2 - 2 * PGSZ) && (size_t)n < len);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, len, 0), (ssize_t)(size / 2 + n));
	assert_memory_equal(out, buf, size / 2);
	assert_memory_equal(out + size / 2, more, n);
	free(buf);
	free(out);
	free(more);
	pool_teardown(NULL);
}

static void fallocate_errors(void **state)
{
	static const struct {
		int mode;
		uint64_t off, len;
		int err;
	} cases[] = {
		{ 0, 0, 0, -EINVAL },
		{ 0, (uint64_t)-1, 10, -EINVAL },
		{ 0, 0, (uint64_t)-5, -EINVAL },
		{ FALLOC_FL_PUNCH_HOLE, 0, 10, -EOPNOTSUPP },
		{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10, -EOPNOTSUPP },
		{ FALLOC_FL_COLLAPSE_RANGE, 0, PGSZ, -EOPNOTSUPP },
		{ FALLOC_FL_INSERT_RANGE, 0, PGSZ, -EOPNOTSUPP },
		{ FALLOC_FL_UNSHARE_RANGE, 0, PGSZ, -EOPNOTSUPP },
		{ FALLOC_FL_NO_HIDE_STALE | FALLOC_FL_KEEP_SIZE, 0, PGSZ, -EOPNOTSUPP },
		{ 0x400, 0, PGSZ, -EOPNOTSUPP },
	};
	struct test_pool *tp = &the_pool;
	uint8_t buf[PGSZ], out[PGSZ];
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "ffalloc", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	test_fill(buf, sizeof(buf), 6);
	write_all(tp->fs, ino, buf, sizeof(buf), 0);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(cases); i++)
		assert_int_equal(umfs_file_fallocate(tp->fs, ino, cases[i].mode, cases[i].off,
						     cases[i].len), cases[i].err);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, sizeof(buf));
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_memory_equal(out, buf, sizeof(buf));
	pool_teardown(NULL);
}

/* A pool made without INCOMPAT_LEVEL4 keeps files below 512 GiB. */
static void efbig_without_level4(void **state)
{
	const struct umfs_format_opts opts = { .label = "test", .no_level4 = true };
	struct test_pool *tp = &the_pool;
	uint8_t buf[100];
	uint64_t ino;

	assert_int_equal(test_pool_make_opts(tp, "fbig3", 32 << 20, &opts), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	test_fill(buf, sizeof(buf), 3);
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 1, L3SZ), -EFBIG);
	assert_int_equal(umfs_file_write(tp->fs, ino, buf, 100, L3SZ - 10), 10);
	assert_int_equal(umfs_inode(tp->fs, ino)->size, L3SZ);
	assert_int_equal(umfs_inode(tp->fs, ino)->pt_height, 3);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, L3SZ + 1), -EFBIG);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, L3SZ - PGSZ, 2 * PGSZ), -EFBIG);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 0), 0);
	assert_int_equal(umfs_inode(tp->fs, ino)->blocks, 0);
	pool_teardown(NULL);
}

/* Past 512 GiB on a small pool: data at 2 TiB and across 512 GiB reads
 * back, the holes between read as zeros and are skipped by SEEK_DATA,
 * and truncates shrink the tree from 4 levels to 3 and to nothing. */
static void files_past_512gib(void **state)
{
	struct test_pool *tp = &the_pool;
	uint8_t buf[3 * PGSZ], out[3 * PGSZ];
	const uint64_t far = 2048 * GIB + 12345, cross = L3SZ - PGSZ - 100;
	struct umfs_inode *in;
	uint64_t ino, blocks;
	off_t pos;

	assert_int_equal(test_pool_make(tp, "fpast", 64 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	in = umfs_inode(tp->fs, ino);
	test_fill(buf, sizeof(buf), 35);
	write_all(tp->fs, ino, buf, 100, 0);
	write_all(tp->fs, ino, buf, sizeof(buf), cross);
	assert_int_equal(in->pt_height, 4);
	write_all(tp->fs, ino, buf, sizeof(buf), far);
	assert_int_equal(in->size, far + sizeof(buf));
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), far), sizeof(out));
	assert_memory_equal(out, buf, sizeof(out));
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), cross), sizeof(out));
	assert_memory_equal(out, buf, sizeof(out));
	expect_zero(tp->fs, ino, L3SZ + 4 * PGSZ, 64 << 10);
	expect_zero(tp->fs, ino, far - (64 << 10), (64 << 10) - 12345 % PGSZ);
	assert_true(in->blocks < 1100); /* sparse: leaves and a few tables */

	/* data starts at the page, or the 2 MiB leaf, that holds it */
	pos = umfs_file_seek(tp->fs, ino, PGSZ, SEEK_DATA);
	assert_true(pos <= (off_t)cross && pos > (off_t)(cross - HUGE));
	pos = umfs_file_seek(tp->fs, ino, L3SZ + 2 * HUGE, SEEK_DATA);
	assert_true(pos <= (off_t)far && pos > (off_t)(far - HUGE));
	pos = umfs_file_seek(tp->fs, ino, far, SEEK_HOLE);
	assert_true(pos >= (off_t)(far + sizeof(buf)) && pos <= (off_t)(far + HUGE + sizeof(buf)));
	assert_int_equal(umfs_file_seek(tp->fs, ino, L3SZ + 2 * HUGE, SEEK_HOLE), L3SZ + 2 * HUGE);

	/* still 4 levels while a page past 512 GiB is left */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, L3SZ + 1), 0);
	assert_int_equal(in->pt_height, 4);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, PGSZ, cross), PGSZ);
	assert_memory_equal(out, buf, PGSZ);
	blocks = in->blocks;
	/* nothing past 512 GiB: back to 3 levels, the top table freed */
	assert_int_equal(umfs_file_truncate(tp->fs, ino, L3SZ), 0);
	assert_int_equal(in->pt_height, 3);
	assert_true(in->blocks < blocks);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 100, 0), 100);
	assert_memory_equal(out, buf, 100);
	assert_int_equal(test_pool_remount(tp), 0);
	in = umfs_inode(tp->fs, ino);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 0), 0);
	assert_int_equal(in->pt_height, 0);
	assert_int_equal(in->blocks, 0);
	pool_teardown(NULL);
}

static void seek_data_hole(void **state)
{
	struct test_pool *tp = &the_pool;
	uint8_t buf[2 * PGSZ];
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "fseek", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	memset(buf, 0x11, sizeof(buf));
	/* empty file: everything is past EOF */
	assert_int_equal(umfs_file_seek(tp->fs, ino, 0, SEEK_DATA), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 0, SEEK_HOLE), -ENXIO);

	/* data in pages 0-1 and 10, holes elsewhere, EOF at 100 KiB */
	write_all(tp->fs, ino, buf, 2 * PGSZ, 0);
	write_all(tp->fs, ino, buf, 10, 10 * PGSZ + 5);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 100 << 10), 0);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 0, SEEK_DATA), 0);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 5, SEEK_DATA), 5);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 0, SEEK_HOLE), 2 * PGSZ);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 2 * PGSZ + 1, SEEK_HOLE), 2 * PGSZ + 1);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 2 * PGSZ, SEEK_DATA), 10 * PGSZ);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 10 * PGSZ + 7, SEEK_DATA), 10 * PGSZ + 7);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 10 * PGSZ, SEEK_HOLE), 11 * PGSZ);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 11 * PGSZ, SEEK_DATA), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, (100 << 10) - 1, SEEK_HOLE), (100 << 10) - 1);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 100 << 10, SEEK_HOLE), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 100 << 10, SEEK_DATA), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, -1, SEEK_DATA), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, -1, SEEK_HOLE), -ENXIO);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 0, SEEK_SET), -EINVAL);

	/* pages past EOF are not data; data up to EOF ends in the virtual hole */
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, FALLOC_FL_KEEP_SIZE, 200 << 10, PGSZ), 0);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 11 * PGSZ, SEEK_DATA), -ENXIO);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 10 * PGSZ + 15), 0);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 10 * PGSZ, SEEK_HOLE), 10 * PGSZ + 15);

	/* a 2 MiB leaf and a far page in a tall tree */
	write_all(tp->fs, ino, buf, 1, 37 * GIB);
	assert_int_equal(umfs_file_truncate(tp->fs, ino, 4 * MIB), 0);
	assert_int_equal(umfs_file_fallocate(tp->fs, ino, 0, 2 * MIB, 2 * MIB), 0);
	write_all(tp->fs, ino, buf, 1, 37 * GIB);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 11 * PGSZ, SEEK_DATA), 2 * MIB);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 2 * MIB + 5, SEEK_HOLE), 4 * MIB);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 4 * MIB, SEEK_DATA), 37 * GIB);
	assert_int_equal(umfs_file_seek(tp->fs, ino, 37 * GIB, SEEK_HOLE), 37 * GIB + 1);
	pool_teardown(NULL);
}

static void reads(void **state)
{
	struct test_pool *tp = &the_pool;
	uint8_t buf[3 * PGSZ], out[4 * PGSZ];
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "fread", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0), 0);
	test_fill(buf, sizeof(buf), 8);
	write_all(tp->fs, ino, buf, sizeof(buf), PGSZ + 1);
	/* a hole before the data, EOF in the last page */
	memset(out, 0x77, sizeof(out));
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out) + 0, 0), (ssize_t)sizeof(out));
	for (size_t i = 0; i < PGSZ + 1; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + PGSZ + 1, buf, sizeof(out) - PGSZ - 1);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), PGSZ + 1 + 100),
			 (ssize_t)(sizeof(buf) - 100));
	assert_memory_equal(out, buf + 100, sizeof(buf) - 100);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 0, 0), 0);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 10, 4 * PGSZ + 1), 0);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, 10, UINT64_MAX), 0);
	pool_teardown(NULL);
}

/* Flushes and fences of a write, recorded through the persist hook. */
struct pev {
	const uint8_t *addr; /* NULL: a fence */
	size_t len;
};
static struct pev pevs[1 << 16];
static size_t npev;

static void rec_flush(void *arg, const void *addr, size_t len)
{
	if (npev < UMFS_ARRAY_SIZE(pevs))
		pevs[npev++] = (struct pev){ addr, len };
}

static void rec_drain(void *arg)
{
	if (npev < UMFS_ARRAY_SIZE(pevs))
		pevs[npev++] = (struct pev){ NULL, 0 };
}

/* An append is all or nothing: its data is flushed and fenced before the
 * one 8-byte store that publishes the size, and that store is fenced too. */
static void append_orders_data_before_size(void **state)
{
	static const struct umfs_persist_hook hook = { rec_flush, rec_drain, NULL };
	struct test_pool *tp = &the_pool;
	uint8_t buf[3 * PGSZ];
	struct umfs_inode *in;
	size_t last_data = 0, size_store = 0, fence = 0;
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, "forder", 32 << 20, 0), 0);
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	in = umfs_inode(tp->fs, ino);
	test_fill(buf, sizeof(buf), 12);
	write_all(tp->fs, ino, buf, 1000, 0);

	npev = 0;
	umfs_persist_hook_set(&hook);
	write_all(tp->fs, ino, buf, sizeof(buf), 1000);
	umfs_persist_hook_set(NULL);
	assert_true(npev < UMFS_ARRAY_SIZE(pevs));

	for (size_t i = 0; i < npev; i++) {
		const uint8_t *a = pevs[i].addr;

		if (!a)
			continue;
		for (uint64_t pg = 0; pg < 4; pg++) {
			const uint8_t *p = umfs_off_ptr(tp->fs, umfs_pt_offset(tp->fs, in, pg, NULL));

			if (a < p + PGSZ && a + pevs[i].len > p)
				last_data = i;
		}
		/* the flush that writes the size back (with the times, its line) */
		if (a == (const uint8_t *)&in->size && pevs[i].len >= sizeof(in->size) && !size_store)
			size_store = i;
	}
	assert_true(last_data > 0);
	assert_true(size_store > last_data);
	for (size_t i = last_data; i < size_store; i++)
		if (!pevs[i].addr)
			fence = i;
	assert_true(fence > last_data);
	assert_null(pevs[npev - 1].addr); /* durable on return */
	assert_int_equal(in->size, 1000 + sizeof(buf));
	pool_teardown(NULL);
}

/* A 32 MiB pool file on 4 KiB pages (the test is skipped elsewhere)
 * holding one file of ref's len bytes, remounted so that nothing of it is
 * mapped: the file's inode. */
static uint64_t cold_file_make(struct test_pool *tp, const char *name, uint8_t *ref, size_t len,
			       uint64_t seed, long page)
{
	struct stat st;
	struct statfs sf;
	uint64_t ino;

	assert_int_equal(test_pool_make(tp, name, 32 << 20, 0), 0);
	if (statfs(tp->path, &sf) || sf.f_type != TMPFS_MAGIC || stat(tp->path, &st) ||
	    st.st_blksize != page || !tp->fs->cold) {
		pool_teardown(NULL);
		skip(); /* the rules are for pool files on pages of that size */
	}
	ino = test_inode_make(tp->fs, S_IFREG | 0644);
	test_fill(ref, len, seed);
	write_all(tp->fs, ino, ref, len, 0);
	assert_int_equal(test_pool_remount(tp), 0); /* nothing mapped any more */
	return ino;
}

/* The core's populates, counted through its table of kernel calls. */
static __typeof__(madvise) *real_madvise;
static unsigned populated_pages, populated_chunks;

static int count_madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_POPULATE_WRITE)
		++*(len == HUGE ? &populated_chunks : &populated_pages);
	return real_madvise(addr, len, advice);
}

/* On 4 KiB pages a strict overwrite of a page the process has not mapped
 * populates that page for its undo copy; about fifteen of those in one
 * 2 MiB chunk populate the chunk whole, after which its overwrites
 * populate nothing. The bytes stay the writes' either way. */
static void strict_overwrites_populate_their_chunk(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[4 * MIB], out[4 * MIB];
	uint64_t ino, chunk, pages[512], n = 0, s = 42;
	unsigned before = 0;

	setenv("UMFS_CONSISTENCY", "strict", 1);
	ino = cold_file_make(tp, "fcold", ref, sizeof(ref), 21, PGSZ);
	tp->fs->page_swap = false; /* the rule is the undo copy's */

	/* the file pages that lie in the pool chunk of file page 600 */
	chunk = umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), 600, NULL) / HUGE;
	for (uint64_t pg = 0; pg < sizeof(ref) / PGSZ; pg++)
		if (umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), pg, NULL) / HUGE == chunk)
			pages[n++] = pg;
	assert_true(n > 256);
	for (uint64_t i = n - 1; i > 0; i--) { /* in random order */
		uint64_t j = rnd(&s, i + 1), t = pages[i];

		pages[i] = pages[j];
		pages[j] = t;
	}

	real_madvise = umfs_os.madvise;
	umfs_os.madvise = count_madvise;
	populated_pages = populated_chunks = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t b[PGSZ];

		test_fill(b, sizeof(b), 100 + i);
		write_all(tp->fs, ino, b, sizeof(b), pages[i] * PGSZ);
		memcpy(ref + pages[i] * PGSZ, b, sizeof(b));
		if (i == 19) {
			assert_int_equal(populated_chunks, 1);
			assert_in_range(populated_pages, 10, 19);
			before = populated_pages;
		}
	}
	umfs_os.madvise = real_madvise;
	assert_int_equal(populated_chunks, 1);
	assert_int_equal(populated_pages, before);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_memory_equal(out, ref, sizeof(out));
	pool_teardown(NULL);
}

/* Chunk populates (in the read-only view for reads, in the mapping for
 * writes) and the kernel's copies through the pool's descriptor, counted
 * through the core's table of kernel calls. */
static __typeof__(pread) *real_pread;
static __typeof__(pwrite) *real_pwrite;
static uintptr_t chunks_populated[64]; /* their addresses, in order */
static unsigned chunk_populates, pool_copies;
static int populate_advice;

static int count_chunk_madvise(void *addr, size_t len, int advice)
{
	if (advice == populate_advice && len == HUGE) {
		for (unsigned i = 0; i < chunk_populates; i++)
			assert_true(chunks_populated[i] != (uintptr_t)addr); /* once a chunk */
		assert_true(chunk_populates < 64);
		chunks_populated[chunk_populates++] = (uintptr_t)addr;
	}
	return real_madvise(addr, len, advice);
}

static ssize_t count_pread(int fd, void *buf, size_t len, off_t off)
{
	pool_copies++;
	return real_pread(fd, buf, len, off);
}

static ssize_t count_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	pool_copies++;
	return real_pwrite(fd, buf, len, off);
}

/* Counts populates with advice, and the pool copies, from now on. */
static void chunk_counters_on(int advice)
{
	real_madvise = umfs_os.madvise;
	real_pread = umfs_os.pread;
	real_pwrite = umfs_os.pwrite;
	umfs_os.madvise = count_chunk_madvise;
	umfs_os.pread = count_pread;
	umfs_os.pwrite = count_pwrite;
	populate_advice = advice;
	chunk_populates = pool_copies = 0;
}

/* Puts back what a counter replaced (strict_overwrites_populate_their_chunk
 * replaces madvise alone). */
static void chunk_counters_off(void)
{
	if (real_madvise)
		umfs_os.madvise = real_madvise;
	if (real_pread)
		umfs_os.pread = real_pread;
	if (real_pwrite)
		umfs_os.pwrite = real_pwrite;
}

/* A test that fails with its counters on would leave them to the next,
 * whose first populate then fails inside the core, its locks held: the
 * teardown puts the kernel's calls back. */
static int counters_teardown(void **state)
{
	chunk_counters_off();
	return pool_teardown(state);
}

/* The pool pages the kernel's copies wrote (a bit each), and how many of
 * them it wrote again; the reads it copied. */
static uint64_t pages_written[4096];
static unsigned pages_again, pool_reads;

static ssize_t count_page_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	for (uint64_t pg = (uint64_t)off / PGSZ; len && pg <= ((uint64_t)off + len - 1) / PGSZ; pg++) {
		assert_true(pg / 64 < UMFS_ARRAY_SIZE(pages_written));
		if (pages_written[pg / 64] & (1ull << (pg % 64)))
			pages_again++;
		pages_written[pg / 64] |= 1ull << (pg % 64);
	}
	return count_pwrite(fd, buf, len, off);
}

static ssize_t count_pool_pread(int fd, void *buf, size_t len, off_t off)
{
	pool_reads++;
	return count_pread(fd, buf, len, off);
}

/* A copy-on-write overwrite builds its shadow through the media layer: on
 * a pool the process has not mapped, the old bytes around the new ones are
 * read through the pool's descriptor, and each page of the shadow is
 * written there once, the new bytes and the old (or a hole's zeros) around
 * them together; over free pages full of garbage, the file reads as the
 * writes left it, before and after a remount. */
static void cow_shadows_fill_through_the_media_layer(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[56 * PGSZ], out[56 * PGSZ], b[48 * PGSZ];
	static const struct {
		uint64_t a, b;    /* the bytes written */
		bool data;        /* old bytes at its edges, else holes */
	} writes[] = {
		{ 10 * PGSZ + 1000, 40 * PGSZ + 500, true },
		{ 4 * PGSZ + 100, 51 * PGSZ + 3000, false },
	};
	uint64_t cow0 = umfs_test_count[UMFS_TEST_COW], ino, garbage[PGSZ / 8];
	int fd;

	setenv("UMFS_CONSISTENCY", "strict", 1);
	ino = cold_file_make(tp, "fcowfill", ref, sizeof(ref), 31, PGSZ);
	for (uint64_t pg = 4; pg <= 51; pg += 47) {
		assert_int_equal(umfs_file_fallocate(tp->fs, ino,
						     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						     pg * PGSZ, PGSZ), 0);
		memset(ref + pg * PGSZ, 0, PGSZ);
	}
	/* garbage in the free pages, through the descriptor: nothing mapped */
	memset(garbage, 0xEE, sizeof(garbage));
	fd = open(tp->path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (uint64_t p = 0; p < tp->fs->data_pages; p++)
		if (!umfs_page_is_used(tp->fs, p))
			assert_int_equal(pwrite(fd, garbage, PGSZ,
						(off_t)umfs_page_off(tp->fs, p)), PGSZ);
	close(fd);

	chunk_counters_on(MADV_POPULATE_WRITE);
	umfs_os.pwrite = count_page_pwrite;
	umfs_os.pread = count_pool_pread;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(writes); i++) {
		uint64_t n = writes[i].b - writes[i].a;

		assert_true(n > tp->fs->ulog_max && n <= sizeof(b));
		memset(pages_written, 0, sizeof(pages_written));
		pages_again = pool_reads = 0;
		test_fill(b, n, 200 + i);
		write_all(tp->fs, ino, b, n, writes[i].a);
		memcpy(ref + writes[i].a, b, n);
		assert_int_equal(umfs_test_count[UMFS_TEST_COW] - cow0, i + 1);
		assert_int_equal(pages_again, 0);
		/* two old pages; one the process has mapped meanwhile (the
		 * allocator maps a window beside the table pages it takes)
		 * is read there */
		if (writes[i].data)
			assert_in_range(pool_reads, 1, 2);
		else
			assert_int_equal(pool_reads, 0);
		assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0),
				 (ssize_t)sizeof(out));
		assert_memory_equal(out, ref, sizeof(out));
	}
	chunk_counters_off();
	assert_true(pool_copies > 0);
	assert_int_equal(test_pool_remount(tp), 0);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_memory_equal(out, ref, sizeof(out));
	pool_teardown(NULL);
}

/* A tmpfs mounted huge=always for a test's pool (root only). */
#define HUGE_DIR_TEMPLATE "/tmp/umfs-test-huge-XXXXXX"
static char huge_dir[sizeof(HUGE_DIR_TEMPLATE)];
static bool huge_mounted;
static char *huge_saved_test_dir; /* UMFS_TEST_DIR before, or NULL */

static int huge_teardown(void **state)
{
	counters_teardown(state);
	if (huge_mounted) {
		if (huge_saved_test_dir)
			setenv("UMFS_TEST_DIR", huge_saved_test_dir, 1);
		else
			unsetenv("UMFS_TEST_DIR");
		free(huge_saved_test_dir);
		huge_saved_test_dir = NULL;
		umount(huge_dir);
	}
	huge_mounted = false;
	rmdir(huge_dir);
	return 0;
}

/* cold_file_make in a pool on 2 MiB pages, or a skip where none can be
 * had; the teardown puts UMFS_TEST_DIR back, a skip being a long jump. */
static uint64_t cold_file_make_huge(struct test_pool *tp, const char *name, uint8_t *ref,
				    size_t len, uint64_t seed)
{
	const char *was = getenv("UMFS_TEST_DIR");

	memcpy(huge_dir, HUGE_DIR_TEMPLATE, sizeof(huge_dir)); /* a test before took the last */
	if (!mkdtemp(huge_dir))
		skip();
	if (mount("umfs-test", huge_dir, "tmpfs", 0, "huge=always,size=40m,mode=700"))
		skip(); /* not root */
	huge_mounted = true;
	huge_saved_test_dir = was ? strdup(was) : NULL;
	setenv("UMFS_TEST_DIR", huge_dir, 1);
	return cold_file_make(tp, name, ref, len, seed, HUGE);
}

/* A process reading a file in large calls, or overwriting it in place
 * (relaxed), moves the bytes of chunks it has not mapped through the
 * pool's descriptor: one pass, or three, maps nothing (a stream such as
 * cp or dd), and a process that keeps coming back to the same chunks maps
 * each once, by the fourth pass, then moves their bytes with no system
 * call. On 2 MiB pages too, for calls of 512 KiB or more: mapping a chunk
 * there is one translation, but the first touch of each 4 KiB of it
 * still costs. The bytes are the file's throughout. */
static void large_calls_map_chunks(bool overwrite, bool huge)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[8 * MIB], out[8 * MIB];
	const char *name = overwrite ? "fover" : "fread";
	uint64_t ino, in_chunk[64] = { 0 };
	unsigned big = 0, pass;

	if (overwrite)
		setenv("UMFS_CONSISTENCY", "relaxed", 1);
	ino = huge ? cold_file_make_huge(tp, name, ref, sizeof(ref), 33)
		   : cold_file_make(tp, name, ref, sizeof(ref), 33, PGSZ);
	for (uint64_t pg = 0; pg < sizeof(ref) / PGSZ; pg++)
		in_chunk[umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), pg, NULL) / HUGE] += PGSZ;
	for (unsigned i = 0; i < 64; i++)
		big += in_chunk[i] >= 1 * MIB;
	assert_true(big >= 3);

	chunk_counters_on(overwrite ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	for (pass = 1; pass <= 6; pass++) {
		pool_copies = 0;
		memset(out, 0, sizeof(out));
		for (uint64_t off = 0; off < sizeof(out); off += MIB) {
			if (overwrite) {
				test_fill(ref + off, MIB, 100 * pass + off / MIB);
				write_all(tp->fs, ino, ref + off, MIB, off);
			} else {
				assert_int_equal(umfs_file_read(tp->fs, ino, out + off, MIB, off),
						 (ssize_t)MIB);
			}
		}
		if (pass <= 3) {
			assert_int_equal(chunk_populates, 0);
			assert_true(pool_copies >= 8); /* every call through the kernel */
		}
		if (pass == 6) /* nothing left to map; the big chunks take no call */
			assert_true(pool_copies <= 2 * (8 - big));
		if (!overwrite)
			assert_memory_equal(out, ref, sizeof(out));
	}
	chunk_counters_off();
	assert_true(chunk_populates >= big);
	assert_int_equal(umfs_file_read(tp->fs, ino, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_memory_equal(out, ref, sizeof(out));
	pool_teardown(NULL);
}

static void large_reads_map_chunks_they_come_back_to(void **state)
{
	large_calls_map_chunks(false, false);
}

static void large_overwrites_map_chunks_they_come_back_to(void **state)
{
	large_calls_map_chunks(true, false);
}

static void large_reads_on_huge_pages_map_chunks_they_come_back_to(void **state)
{
	large_calls_map_chunks(false, true);
}

/* On 2 MiB pages a read that moves 64 KiB or more of a chunk in a run
 * shorter than 512 KiB populates the chunk at once (one translation:
 * cheaper than the kernel's copies of a chunk in such calls), and moves
 * its bytes with no system call; smaller reads still count towards it,
 * through the pool's descriptor. The bytes are the file's throughout. */
static void mid_reads_map_huge_chunks_at_once(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[8 * MIB], out[8 * MIB];
	const uint64_t call = 256 * 1024;
	uint64_t ino, big_parts[64], nbig = 0, small_parts = 0;

	ino = cold_file_make_huge(tp, "fmid", ref, sizeof(ref), 55);
	/* each call's part in each chunk: 64 KiB or more, or less */
	for (uint64_t off = 0; off < sizeof(ref); off += call) {
		uint64_t part[64] = { 0 };

		for (uint64_t pg = off / PGSZ; pg < (off + call) / PGSZ; pg++)
			part[umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), pg, NULL) / HUGE] += PGSZ;
		for (unsigned c = 0; c < 64; c++) {
			bool seen = false;

			if (!part[c])
				continue;
			for (uint64_t i = 0; i < nbig; i++)
				seen |= big_parts[i] == c;
			if (part[c] < 64 * 1024)
				small_parts++;
			else if (!seen)
				big_parts[nbig++] = c;
		}
	}
	assert_true(nbig >= 3);

	chunk_counters_on(MADV_POPULATE_READ);
	/* 4 KiB reads, 2 in each MiB: through the kernel, nothing mapped */
	for (uint64_t off = 0; off < sizeof(ref); off += 512 * 1024)
		assert_int_equal(umfs_file_read(tp->fs, ino, out + off, PGSZ, off), (ssize_t)PGSZ);
	assert_int_equal(chunk_populates, 0);
	assert_int_equal(pool_copies, sizeof(ref) / (512 * 1024));
	/* 256 KiB reads: each chunk such a read moves 64 KiB or more of is
	 * populated by the first one, and only the small parts take a call */
	pool_copies = 0;
	memset(out, 0, sizeof(out));
	for (uint64_t off = 0; off < sizeof(out); off += call)
		assert_int_equal(umfs_file_read(tp->fs, ino, out + off, call, off), (ssize_t)call);
	chunk_counters_off();
	assert_int_equal(chunk_populates, nbig);
	for (uint64_t i = 0; i < nbig; i++) {
		bool populated = false;

		for (unsigned j = 0; j < chunk_populates; j++)
			populated |= chunks_populated[j] ==
				     (uintptr_t)(tp->fs->base + big_parts[i] * HUGE);
		assert_true(populated);
	}
	assert_true(pool_copies <= small_parts);
	assert_memory_equal(out, ref, sizeof(out));
}

/* On 2 MiB pages reads of less than 64 KiB of a chunk go through the
 * pool's descriptor until the chunk has taken sixteen: the sixteenth
 * populates it and moves its bytes with no system call, as every later
 * one does. The bytes are the file's throughout. */
static void small_reads_map_huge_chunks_by_the_sixteenth(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[8 * MIB], out[8 * MIB];
	unsigned reads[64] = { 0 }, want_populates = 0, want_copies = 0;
	uint64_t ino;

	ino = cold_file_make_huge(tp, "fsmall", ref, sizeof(ref), 77);
	for (uint64_t off = 0; off < sizeof(ref); off += 64 * 1024)
		reads[umfs_pt_offset(tp->fs, umfs_inode(tp->fs, ino), off / PGSZ, NULL) / HUGE]++;
	for (unsigned c = 0; c < 64; c++) {
		want_populates += reads[c] >= 16;
		want_copies += UMFS_MIN(reads[c], 15u);
	}
	assert_true(want_populates >= 2);

	chunk_counters_on(MADV_POPULATE_READ);
	for (uint64_t off = 0; off < sizeof(ref); off += 64 * 1024)
		assert_int_equal(umfs_file_read(tp->fs, ino, out + off, PGSZ, off), (ssize_t)PGSZ);
	chunk_counters_off();
	assert_int_equal(chunk_populates, want_populates);
	assert_int_equal(pool_copies, want_copies);
	for (uint64_t off = 0; off < sizeof(ref); off += 64 * 1024)
		assert_memory_equal(out + off, ref + off, PGSZ);
}

/* Free pages of the pool, as statfs counts them. */
static uint64_t free_pages(struct umfs_fs *fs)
{
	struct statvfs sv;

	assert_int_equal(umfs_statfs(fs, &sv), 0);
	return sv.f_bfree;
}

/* Whole-page strict overwrites take the U-Log's spare page (a PAGE record),
 * every other overwrite keeps the undo path; the bytes always match a DRAM
 * reference, and closing and unlinking the file gives back every page. */
static void page_swaps_match_reference(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t ref[3 * MIB], out[3 * MIB], b[16384];
	uint64_t s = 7, size = sizeof(ref), swaps = 0, undos = 0, free0;
	uint64_t swap0 = umfs_test_count[UMFS_TEST_PAGE_SWAP];
	uint64_t undo0 = umfs_test_count[UMFS_TEST_UNDO_BYTES];
	struct umfs_file *f;
	struct stat st;

	(void)state;
	setenv("UMFS_CONSISTENCY", "strict", 1);
	assert_int_equal(test_pool_make(tp, "fswap", 64 << 20, 0), 0);
	assert_true(tp->fs->page_swap);
	free0 = free_pages(tp->fs);
	assert_int_equal(umfs_open(tp->fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	assert_int_equal(umfs_fstat(f, &st), 0);
	test_fill(ref, sizeof(ref), 1);
	/* region 0 a 2 MiB leaf (split by the first swap in it), region 1 pages */
	assert_int_equal(umfs_pwrite(f, ref, sizeof(ref), 0), (ssize_t)sizeof(ref));
	for (unsigned op = 0; op < 3000; op++) {
		unsigned what = (unsigned)rnd(&s, 20);
		uint64_t off, len, pg;

		if (what < 12) { /* a whole page */
			pg = rnd(&s, sizeof(ref) / PGSZ);
			off = pg * PGSZ;
			len = PGSZ;
			if (off + len <= size &&
			    umfs_pt_offset(tp->fs, umfs_inode(tp->fs, st.st_ino), pg, NULL))
				swaps++;
			else if (off < size)
				undos++;
		} else if (what < 17) { /* unaligned, or several pages */
			len = 1 + rnd(&s, sizeof(b));
			off = rnd(&s, sizeof(ref) - len);
			if (off < size)
				undos++;
		} else { /* shrink (freeing swapped pages) or grow (a hole) */
			uint64_t n = MIB + rnd(&s, 2 * MIB);

			assert_int_equal(umfs_ftruncate(f, (off_t)n), 0);
			if (n < size)
				memset(ref + n, 0, size - n);
			size = n;
			continue;
		}
		test_fill(b, len, 1000 + op);
		assert_int_equal(umfs_pwrite(f, b, len, (off_t)off), (ssize_t)len);
		memcpy(ref + off, b, len);
		size = UMFS_MAX(size, off + len);
		if (op % 100 == 0) {
			assert_int_equal(umfs_pread(f, out, size, 0), (ssize_t)size);
			assert_memory_equal(out, ref, size);
		}
	}
	assert_int_equal(umfs_pread(f, out, size, 0), (ssize_t)size);
	assert_memory_equal(out, ref, size);
	print_message("page swaps %" PRIu64 ", other overwrites %" PRIu64 "\n", swaps, undos);
	assert_true(swaps > 500);
	assert_int_equal(umfs_test_count[UMFS_TEST_PAGE_SWAP] - swap0, swaps);
	/* undos counts writes below EOF that may also take the journal or
	 * copy-on-write: never fewer byte records than that is wrong */
	assert_true(umfs_test_count[UMFS_TEST_UNDO_BYTES] - undo0 <= undos);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(test_pool_remount(tp), 0);
	assert_int_equal(umfs_open(tp->fs, "/f", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_pread(f, out, size, 0), (ssize_t)size);
	assert_memory_equal(out, ref, size);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_unlink(tp->fs, "/f"), 0);
	assert_int_equal(free_pages(tp->fs), free0); /* the spare went with the chain */
	pool_teardown(NULL);
}

/* Where a swap cannot be had, the undo path takes the write: relaxed mode
 * (in place), a one-page file (the inode names its page), a hole, a page
 * straddling EOF, and a full pool (no page for the chain or its spare). */
static void page_swap_fallbacks(void **state)
{
	struct test_pool *tp = &the_pool;
	static uint8_t b[PGSZ], out[PGSZ], big[64 * 1024];
	uint64_t swap0 = umfs_test_count[UMFS_TEST_PAGE_SWAP];
	struct umfs_file *f, *g;
	ssize_t n;

	(void)state;
	setenv("UMFS_CONSISTENCY", "strict", 1);
	assert_int_equal(test_pool_make(tp, "fswapfb", 16 << 20, 0), 0);
	assert_int_equal(umfs_open(tp->fs, "/one", O_CREAT | O_RDWR, 0644, &f), 0);
	test_fill(b, sizeof(b), 1);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 0), (ssize_t)PGSZ);
	test_fill(b, sizeof(b), 2);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 0), (ssize_t)PGSZ); /* height 0 */
	assert_int_equal(umfs_pread(f, out, PGSZ, 0), (ssize_t)PGSZ);
	assert_memory_equal(out, b, PGSZ);
	assert_int_equal(umfs_ftruncate(f, 6 * PGSZ), 0);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 3 * PGSZ), (ssize_t)PGSZ); /* a hole */
	assert_int_equal(umfs_ftruncate(f, 5 * PGSZ + 10), 0);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 5 * PGSZ), (ssize_t)PGSZ); /* across EOF */
	assert_int_equal(umfs_test_count[UMFS_TEST_PAGE_SWAP], swap0);
	assert_int_equal(umfs_close(f), 0);

	/* a full pool: the spare cannot be had, the write still goes in */
	assert_int_equal(umfs_open(tp->fs, "/full", O_CREAT | O_RDWR, 0644, &f), 0);
	assert_int_equal(umfs_pwrite(f, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_open(tp->fs, "/fill", O_CREAT | O_RDWR, 0644, &g), 0);
	do
		n = umfs_write(g, big, sizeof(big));
	while (n == (ssize_t)sizeof(big));
	while (umfs_write(g, big, PGSZ) == (ssize_t)PGSZ)
		;
	assert_int_equal(free_pages(tp->fs), 0);
	assert_int_equal(umfs_open(tp->fs, "/full", O_RDWR, 0, &f), 0);
	test_fill(b, sizeof(b), 3);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 2 * PGSZ), (ssize_t)PGSZ);
	assert_int_equal(umfs_pread(f, out, PGSZ, 2 * PGSZ), (ssize_t)PGSZ);
	assert_memory_equal(out, b, PGSZ);
	assert_int_equal(umfs_test_count[UMFS_TEST_PAGE_SWAP], swap0);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_close(g), 0);
	assert_int_equal(umfs_unmount(tp->fs), 0);
	tp->fs = NULL;

	/* relaxed mode overwrites in place */
	assert_int_equal(umfs_mount(tp->path, UMFS_MOUNT_RELAXED, &tp->fs), 0);
	assert_int_equal(umfs_open(tp->fs, "/full", O_RDWR, 0, &f), 0);
	assert_int_equal(umfs_pwrite(f, b, PGSZ, 4 * PGSZ), (ssize_t)PGSZ);
	assert_int_equal(umfs_test_count[UMFS_TEST_PAGE_SWAP], swap0);
	assert_int_equal(umfs_close(f), 0);
	pool_teardown(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(reads, pool_teardown),
		cmocka_unit_test_teardown(zeroing_rules, pool_teardown),
		cmocka_unit_test_teardown(zeroing_on_every_eof_move, pool_teardown),
		cmocka_unit_test_teardown(large_writes_and_huge_leaves, pool_teardown),
		cmocka_unit_test_teardown(efbig, pool_teardown),
		cmocka_unit_test_teardown(efbig_without_level4, pool_teardown),
		cmocka_unit_test_teardown(files_past_512gib, pool_teardown),
		cmocka_unit_test_teardown(enospc_short_writes, pool_teardown),
		cmocka_unit_test_teardown(fallocate_errors, pool_teardown),
		cmocka_unit_test_teardown(seek_data_hole, pool_teardown),
		cmocka_unit_test_teardown(append_orders_data_before_size, pool_teardown),
		cmocka_unit_test_teardown(strict_overwrites_populate_their_chunk, counters_teardown),
		cmocka_unit_test_teardown(large_reads_map_chunks_they_come_back_to, counters_teardown),
		cmocka_unit_test_teardown(large_overwrites_map_chunks_they_come_back_to, counters_teardown),
		cmocka_unit_test_teardown(cow_shadows_fill_through_the_media_layer, counters_teardown),
		cmocka_unit_test_teardown(large_reads_on_huge_pages_map_chunks_they_come_back_to,
					  huge_teardown),
		cmocka_unit_test_teardown(mid_reads_map_huge_chunks_at_once, huge_teardown),
		cmocka_unit_test_teardown(small_reads_map_huge_chunks_by_the_sixteenth, huge_teardown),
		cmocka_unit_test_teardown(random_against_reference, pool_teardown),
		cmocka_unit_test_teardown(page_swaps_match_reference, pool_teardown),
		cmocka_unit_test_teardown(page_swap_fallbacks, pool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
