/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_random.c - random byte corruption of a populated pool.
 *
 * Each round starts from the same populated pool, flips random bytes in the
 * metadata area, in page-table pages and in directory pages, then:
 *   fsck -n   must not crash and must exit 0 or 4, leaving the pool as it was;
 *   fsck -y   must exit 0, 1 or 4;
 *   fsck -n   (full) must exit 0 whenever -y said it corrected everything,
 *   and the core must then be able to walk and read the whole tree.
 * Usage: test_fsck_random [rounds [seed]] (defaults: 150 rounds, seed 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsck_testlib.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static int failures;

#define FAIL(...)                                            \
	do {                                                 \
		fprintf(stderr, "FAIL: " __VA_ARGS__);       \
		fputc('\n', stderr);                         \
		failures++;                                  \
	} while (0)

/* After a clean check, the core must be able to use the pool. */
static void core_walk(const char *path, unsigned round)
{
	struct umfs_fs *fs;
	unsigned visited = 0;
	int err = umfs_mount(path, 0, &fs), errors;

	if (err) {
		FAIL("round %u: mount after repair: %s", round, strerror(-err));
		return;
	}
	errors = ft_walk_tree(fs, "/", 0, &visited, 0);
	if (errors)
		FAIL("round %u: the core met %d errors walking the repaired tree", round, errors);
	/* And change it: create, write, remove. */
	err = umfs_mkdir(fs, "/after-fsck", 0755);
	if (err && err != -ENOSPC && err != -EEXIST)
		FAIL("round %u: mkdir after repair: %s", round, strerror(-err));
	umfs_unmount(fs);
}

static void corrupt(uint8_t *base, const struct umfs_superblock *sb, const uint64_t *meta,
		    size_t nmeta, size_t ntables, unsigned flips)
{
	for (unsigned i = 0; i < flips; i++) {
		uint64_t r = rnd(), where = r % 100, off;

		if (where < 55 || nmeta == 0) {
			/* the metadata area: superblock to the end of the bitmaps */
			off = rnd() % sb->data_off;
		} else if (where < 75 && ntables) {
			off = meta[rnd() % ntables] + rnd() % UMFS_PAGE_SIZE;
		} else if (where < 97 && nmeta > ntables) {
			off = meta[ntables + rnd() % (nmeta - ntables)] + rnd() % UMFS_PAGE_SIZE;
		} else {
			off = sb->backup_sb_off + rnd() % 512;
		}
		/* Mostly single bit flips, sometimes a whole random byte. */
		if (rnd() % 4)
			base[off] ^= (uint8_t)(1u << (rnd() % 8));
		else
			base[off] = (uint8_t)rnd();
	}
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 150;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	unsigned counts[3][9] = { { 0 } };
	struct ft_map m;
	char path[256];
	const char *what;
	uint8_t *pristine;
	uint64_t *meta;
	size_t nmeta, ntables;
	int err;

	rng_state = seed * 0x9E3779B97F4A7C15ull | 1;
	ft_pool_path(path, sizeof(path), "random");
	err = ft_pool_format(path, FT_POOL_SIZE, 0);
	if (!err)
		err = ft_pool_populate(path, &what);
	if (err) {
		fprintf(stderr, "cannot make the pool: %s\n", strerror(-err));
		unlink(path);
		return 1;
	}
	if (ft_map_open(path, &m))
		return 1;
	pristine = malloc(m.pm.len);
	memcpy(pristine, m.base, m.pm.len);
	meta = ft_meta_pages(&m, &nmeta, &ntables);
	ft_map_close(&m);
	printf("pool %s: %zu metadata pages (%zu tables)\n", path, nmeta, ntables);

	for (unsigned round = 0; round < rounds; round++) {
		struct fsck_summary s1, s2, s3;
		unsigned flips = 1 + (unsigned)(rnd() % (round % 4 == 3 ? 64 : 12));
		int c1, c2, c3;
		char *text = NULL;
		bool force = round % 5 != 0;
		uint8_t *before;

		if (ft_map_open(path, &m))
			return 1;
		memcpy(m.base, pristine, m.pm.len);
		/* Without -f, a pool marked dirty (as by a crash) is checked fully. */
		if (!force)
			ft_state(&m)->state = UMFS_STATE_DIRTY;
		corrupt(m.base, &m.sb, meta, nmeta, ntables, flips);
		before = malloc(m.pm.len);
		memcpy(before, m.base, m.pm.len);
		ft_map_close(&m);

		c1 = ft_fsck(path, FSCK_MODE_CHECK, force, NULL, &s1);
		if (c1 != FSCK_EXIT_OK && c1 != FSCK_EXIT_UNCORRECTED)
			FAIL("round %u: fsck -n exited %d", round, c1);
		if (ft_map_open(path, &m))
			return 1;
		if (memcmp(m.base, before, m.pm.len))
			FAIL("round %u: fsck -n changed the pool", round);
		ft_map_close(&m);
		free(before);

		c2 = ft_fsck(path, FSCK_MODE_REPAIR, force, &text, &s2);
		if (c2 != FSCK_EXIT_OK && c2 != FSCK_EXIT_CORRECTED && c2 != FSCK_EXIT_UNCORRECTED)
			FAIL("round %u: fsck -y exited %d", round, c2);
		if (c1 == FSCK_EXIT_OK && c2 != FSCK_EXIT_OK)
			FAIL("round %u: fsck -n found nothing but fsck -y exited %d", round, c2);
		if (c2 == FSCK_EXIT_OK || c2 == FSCK_EXIT_CORRECTED) {
			char *t3 = NULL;

			c3 = ft_fsck(path, FSCK_MODE_CHECK, true, &t3, &s3);
			if (c3 != FSCK_EXIT_OK) {
				FAIL("round %u: fsck -n after fsck -y exited %d", round, c3);
				fprintf(stderr, "--- fsck -y said:\n%s--- then fsck -n said:\n%s", text, t3);
			} else {
				core_walk(path, round);
			}
			free(t3);
		}
		if (getenv("FT_VERBOSE"))
			printf("round %u: %u flips: -n %d (%lu), -y %d (%lu/%lu)\n%s", round, flips, c1,
			       s1.problems, c2, s2.fixed, s2.problems, text);
		free(text);
		counts[0][c1]++;
		counts[1][c2]++;
		if (failures > 20)
			break;
	}
	printf("%u rounds: fsck -n: %u clean, %u with problems; fsck -y: %u clean, %u corrected, "
	       "%u uncorrected; %d failures\n",
	       rounds, counts[0][0], counts[0][4], counts[1][0], counts[1][1], counts[1][4], failures);
	free(pristine);
	free(meta);
	unlink(path);
	return failures ? 1 : 0;
}
