/* SPDX-License-Identifier: MIT */
/*
 * test_damage.c - a file whose page table is aimed at the wrong place.
 *
 * Every entry on the way to a file page, at every level, is set in turn to
 * each wrong thing a damaged or crafted pool can hold: an address past the
 * pool, at its last byte, at the superblock, the state page, the journal,
 * the inode zone, the page bitmap, the backup superblock, the data zone's
 * end; a form the level does not allow (a table where a leaf must be, a
 * 2 MiB leaf outside level 2 or running past the zone, stray flag bits).
 * Each time, reading, overwriting (strict and relaxed), appending,
 * punching, truncating and seeking the file must answer -EUCLEAN and
 * change nothing: after the entry is put back, every file reads as its
 * reference, the superblock pages are as they were, and a canary mapped
 * right after the pool is untouched.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "testutil.h"

#include "umfs.h"
#include "umfs_frontend.h"

#define NFILES 4
#define POOL_SIZE (64ull << 20)
#define HUGE_FILE (4ull << 20)
#define SPARSE_AT (1ull << 30) /* a tree of height 3 */

struct ref_file {
	const char *path;
	uint64_t off, len; /* the bytes written, the rest is a hole */
	uint8_t *bytes;
	struct umfs_file *f;
	uint64_t ino;
};

static struct test_pool the_pool;
static struct ref_file files[NFILES] = {
	{ .path = "/small", .off = 0, .len = 5 * UMFS_PAGE_SIZE + 100 },   /* inline table */
	{ .path = "/huge", .off = 0, .len = HUGE_FILE },                    /* 2 MiB leaves */
	{ .path = "/sparse", .off = SPARSE_AT, .len = 3 * UMFS_PAGE_SIZE }, /* height 3 */
	{ .path = "/medium", .off = 0, .len = 40 * UMFS_PAGE_SIZE + 7 },    /* height 1 */
};

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NFILES; i++) {
		if (files[i].f)
			umfs_close(files[i].f);
		files[i].f = NULL;
		free(files[i].bytes);
		files[i].bytes = NULL;
	}
	test_pool_reset(&the_pool);
	return 0;
}

static void files_make(struct umfs_fs *fs)
{
	for (int i = 0; i < NFILES; i++) {
		struct ref_file *r = &files[i];
		uint32_t gen;

		r->bytes = malloc(r->len);
		assert_non_null(r->bytes);
		test_fill(r->bytes, r->len, 17 + (uint64_t)i);
		assert_int_equal(umfs_open(fs, r->path, O_RDWR | O_CREAT, 0644, &r->f), 0);
		assert_int_equal(umfs_pwrite(r->f, r->bytes, r->len, (off_t)r->off), (ssize_t)r->len);
		umfs_file_id(r->f, &r->ino, &gen);
	}
	assert_int_equal(umfs_inode(fs, files[0].ino)->pt_height, UMFS_PT_INLINE);
	assert_int_equal(umfs_inode(fs, files[3].ino)->pt_height, 1);
	assert_int_equal(umfs_inode(fs, files[1].ino)->pt_height, 2);
	assert_int_equal(umfs_inode(fs, files[2].ino)->pt_height, 3);
}

/* Every file reads exactly as written, holes as zeros. */
static void files_check(void)
{
	for (int i = 0; i < NFILES; i++) {
		struct ref_file *r = &files[i];
		uint8_t *got = malloc(r->len);
		uint8_t head[64];

		assert_non_null(got);
		assert_int_equal(umfs_pread(r->f, got, r->len, (off_t)r->off), (ssize_t)r->len);
		assert_memory_equal(got, r->bytes, r->len);
		if (r->off) {
			memset(got, 1, sizeof(head));
			assert_int_equal(umfs_pread(r->f, head, sizeof(head), 4096), sizeof(head));
			memset(got, 0, sizeof(head));
			assert_memory_equal(head, got, sizeof(head));
		}
		free(got);
	}
}

/* The wrong values of an entry at level (given the right one, e). */
static unsigned wrong_entries(const struct umfs_fs *fs, unsigned level, uint64_t e, uint64_t *out)
{
	const struct umfs_superblock *sb = &fs->sb;
	const uint64_t at[] = {
		fs->pm.len, fs->pm.len + UMFS_HUGE_SIZE, fs->pm.len - UMFS_PAGE_SIZE, 0,
		sb->state_off, sb->journal_off, sb->inode_off, sb->pbitmap_off, sb->ibitmap_off,
		fs->data_off + (fs->data_pages << UMFS_PAGE_SHIFT), fs->data_off - UMFS_PAGE_SIZE,
		1ull << 45,
	};
	uint64_t flags = level == 1 ? UMFS_PTE_LEAF4K_FLAGS :
			 (e & UMFS_PTE_PSE) ? UMFS_PTE_LEAF2M_FLAGS : UMFS_PTE_TABLE_FLAGS;
	uint64_t addr = e & UMFS_PTE_ADDR_MASK, last_huge;
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		out[n++] = ((at[i] + fs->phys_base) & (flags == UMFS_PTE_LEAF2M_FLAGS ?
						       UMFS_PTE_HUGE_ADDR_MASK : UMFS_PTE_ADDR_MASK)) |
			   flags;
	/* the right address in a form the level does not allow */
	out[n++] = addr | (level == 1 ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS);
	out[n++] = addr | (level == 2 ? UMFS_PTE_LEAF4K_FLAGS : UMFS_PTE_LEAF2M_FLAGS);
	out[n++] = addr | (flags & ~UMFS_PTE_PRESENT);
	out[n++] = e | (1ull << 8) | (1ull << 11); /* global and a free bit */
	out[n++] = e ^ UMFS_PTE_NX;
	out[n++] = addr | 0x7;
	/* a 2 MiB leaf starting in the zone's last 2 MiB that is not whole */
	last_huge = fs->data_off + ((fs->data_pages - 1) << UMFS_PAGE_SHIFT);
	out[n++] = ((last_huge + fs->phys_base) & UMFS_PTE_HUGE_ADDR_MASK) | UMFS_PTE_LEAF2M_FLAGS;
	/* a 2 MiB leaf whose address is not 2 MiB aligned */
	out[n++] = ((fs->data_off + UMFS_PAGE_SIZE + fs->phys_base) & UMFS_PTE_ADDR_MASK) |
		   UMFS_PTE_LEAF2M_FLAGS;
	return n;
}

/* Every call that reaches file page pg of r through the damage fails
 * with -EUCLEAN. */
static void expect_refused(struct umfs_fs *fs, struct ref_file *r, uint64_t pg)
{
	uint64_t pos = pg << UMFS_PAGE_SHIFT, off;
	uint8_t buf[3 * UMFS_PAGE_SIZE];
	const struct umfs_inode *in = umfs_inode(fs, r->ino);

	assert_int_equal(umfs_pt_lookup(fs, in, pg, &off, NULL), -EUCLEAN);
	test_fill(buf, sizeof(buf), pg);
	assert_int_equal(umfs_pread(r->f, buf, 100, (off_t)pos + 10), -EUCLEAN);
	fs->relaxed = false;
	assert_int_equal(umfs_pwrite(r->f, buf, 100, (off_t)pos + 10), -EUCLEAN);
	assert_int_equal(umfs_pwrite(r->f, buf, sizeof(buf), (off_t)pos), -EUCLEAN);
	fs->relaxed = true;
	assert_int_equal(umfs_pwrite(r->f, buf, 100, (off_t)pos + 10), -EUCLEAN);
	fs->relaxed = false;
	assert_int_equal(umfs_fallocate(r->f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)pos, UMFS_PAGE_SIZE),
			 -EUCLEAN);
	assert_int_equal(umfs_fallocate(r->f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)pos, UMFS_PAGE_SIZE),
			 -EUCLEAN);
	assert_int_equal(umfs_ftruncate(r->f, (off_t)pos), -EUCLEAN);
	assert_int_equal(umfs_lseek(r->f, (off_t)(r->off), SEEK_DATA) < 0 ||
				 umfs_lseek(r->f, (off_t)pos, SEEK_HOLE) < 0,
			 1);
}

/* Maps a canary page right after the pool's mapping, where a store
 * through an entry aimed just past the pool would land. */
static uint8_t *canary_map(struct umfs_fs *fs)
{
	uint8_t *want = fs->base + fs->pm.len;
	uint8_t *c = mmap(want, UMFS_HUGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (c == MAP_FAILED)
		return NULL; /* taken: the process keeps its own memory there */
	memset(c, 0xc5, UMFS_HUGE_SIZE);
	return c;
}

static void damaged_entries_are_refused(void **state)
{
	struct umfs_fs *fs;
	uint8_t sb0[UMFS_PAGE_SIZE], sb1[UMFS_PAGE_SIZE], *canary;
	unsigned cases = 0;

	(void)state;
	assert_int_equal(test_pool_make(&the_pool, "damage", POOL_SIZE, 0), 0);
	fs = the_pool.fs;
	files_make(fs);
	canary = canary_map(fs);
	memcpy(sb0, fs->base, UMFS_PAGE_SIZE);
	memcpy(sb1, fs->base + fs->pm.len - UMFS_PAGE_SIZE, UMFS_PAGE_SIZE);

	for (int i = 0; i < NFILES; i++) {
		struct ref_file *r = &files[i];
		const struct umfs_inode *in = umfs_inode(fs, r->ino);
		uint64_t pg = (r->off >> UMFS_PAGE_SHIFT) + 1;

		for (unsigned level = umfs_pt_top_level(in->pt_height); level >= 1; level--) {
			uint64_t *slot = umfs_pt_slot_find(fs, in, pg, level), e, wrong[32];
			unsigned n;

			if (!slot)
				break; /* below a 2 MiB leaf */
			e = *slot;
			n = wrong_entries(fs, level, e, wrong);
			for (unsigned k = 0; k < n; k++) {
				uint64_t off;

				*slot = wrong[k];
				if (umfs_pte_decode(&fs->geom, level, wrong[k], &off) != UMFS_PTE_BAD)
					fail_msg("entry %#llx at level %u decodes", (unsigned long long)wrong[k], level);
				expect_refused(fs, r, pg);
				*slot = e;
				files_check();
				cases++;
			}
		}
	}
	assert_true(cases > 50);
	assert_memory_equal(fs->base, sb0, UMFS_PAGE_SIZE);
	assert_memory_equal(fs->base + fs->pm.len - UMFS_PAGE_SIZE, sb1, UMFS_PAGE_SIZE);
	if (canary) {
		for (size_t i = 0; i < UMFS_HUGE_SIZE; i++)
			if (canary[i] != 0xc5)
				fail_msg("byte %zu after the pool was written", i);
		munmap(canary, UMFS_HUGE_SIZE);
	}
	/* the damage was logged once per file, not at every call */
	assert_true(umfs_damage_known(fs, files[0].ino, UMFS_DAMAGE_TREESIG));
}

/* A run of contiguous leaves never reaches past the data zone, whatever
 * the entries after the zone's last page say. */
static void runs_stop_at_the_zone_end(void **state)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	uint64_t ino, off, run, *t, last;
	uint32_t gen;
	uint8_t buf[UMFS_PAGE_SIZE] = { 7 };

	(void)state;
	assert_int_equal(test_pool_make(&the_pool, "damage-run", POOL_SIZE, 0), 0);
	fs = the_pool.fs;
	assert_int_equal(umfs_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f), 0);
	assert_int_equal(umfs_pwrite(f, buf, sizeof(buf), 4 * UMFS_PAGE_SIZE), sizeof(buf));
	umfs_file_id(f, &ino, &gen);
	t = umfs_pt_slot_find(fs, umfs_inode(fs, ino), 0, 1);
	assert_non_null(t);
	/* leaves 0..3 aimed at the zone's last page and the three after it */
	last = fs->data_off + ((fs->data_pages - 1) << UMFS_PAGE_SHIFT);
	for (int i = 0; i < 4; i++)
		t[i] = umfs_pte_make(fs, last + (uint64_t)i * UMFS_PAGE_SIZE,
				     UMFS_PTE_LEAF4K_FLAGS);
	assert_int_equal(umfs_pt_lookup(fs, umfs_inode(fs, ino), 0, &off, &run), 0);
	assert_int_equal(off, last);
	assert_int_equal(run, 1);
	assert_int_equal(umfs_pt_lookup(fs, umfs_inode(fs, ino), 1, &off, &run), -EUCLEAN);
	assert_int_equal(umfs_pread(f, buf, 2 * UMFS_PAGE_SIZE, 0), -EUCLEAN);
	memset(t, 0, 4 * sizeof(*t));
	umfs_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(damaged_entries_are_refused, teardown),
		cmocka_unit_test_teardown(runs_stop_at_the_zone_end, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
