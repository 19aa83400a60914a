/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_interrupt.c - a repair cut short must leave a pool that a
 * second repair brings to clean.
 *
 * fsck's repairs are plain stores, each persisted, not transactions; what
 * makes them safe is that the pool says dirty from the first change on and
 * that every step re-derives what it checks from the pool. This test
 * damages a populated pool in several ways, counts the flushes of a full
 * fsck -y, then for a spread of cut points k replays the repair and keeps
 * the image as it stood at the k-th flush (a crash there). That image must
 * say dirty if anything was changed, and fsck -y on it followed by a full
 * fsck -n must find it clean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsck_testlib.h"

static struct {
	uint8_t *base, *snap;
	size_t len;
	unsigned long flushes, cut;
	bool taken;
} H;

static void hook_flush(void *arg, const void *addr, size_t len)
{
	(void)arg;
	(void)addr;
	(void)len;
	if (++H.flushes == H.cut && !H.taken) {
		memcpy(H.snap, H.base, H.len);
		H.taken = true;
	}
}

static void hook_drain(void *arg)
{
	(void)arg;
}

static int run_to(uint8_t *base, enum fsck_mode mode, struct fsck_summary *sum, FILE *out)
{
	struct umfs_pmem pm = { .base = base, .len = H.len, .media = UMFS_MEDIA_SHM, .fd = -1 };
	struct fsck_opts opts = { .mode = mode, .force = true, .name = "cut", .out = out };

	return fsck_check(&pm, &opts, sum);
}

static int run(uint8_t *base, enum fsck_mode mode, struct fsck_summary *sum)
{
	return run_to(base, mode, sum, getenv("FT_VERBOSE") ? stdout : NULL);
}

/* Several kinds of damage at once, so that the repair spans every step. */
static void damage(const char *path)
{
	struct ft_map m;
	uint64_t f2 = ft_ino_of(path, "/dir1/f2"), f3 = ft_ino_of(path, "/dir1/f3");
	uint64_t split = ft_ino_of(path, "/split"), sub = ft_ino_of(path, "/dir1/sub");
	uint64_t dir1 = ft_ino_of(path, "/dir1");
	struct umfs_inode *in;
	struct umfs_dirblock_hdr *h;
	struct umfs_bucket *b;

	if (ft_map_open(path, &m))
		abort();
	ft_inode(&m, f2)->nlink = 9;
	/* f3 freed behind its name's back */
	memset(ft_inode(&m, f3), 0, sizeof(struct umfs_inode));
	ft_ibitmap(&m)[f3 / 64] &= ~(1ull << (f3 % 64));
	/* /dir1/sub loses its name: a subtree for lost+found */
	h = (struct umfs_dirblock_hdr *)(m.base + ft_page_off(&m, ft_inode(&m, dir1), 0));
	for (unsigned s = 1; s < UMFS_DIR_SLOTS_PER_BLOCK; s++) {
		struct umfs_dentry *e = (struct umfs_dentry *)((uint8_t *)h + s * UMFS_DIR_SLOT_SIZE);

		if (((h->used[s / 64] >> (s % 64)) & 1) && e->ino == sub && e->name_len == 3) {
			e->ino = 0; /* now a dangling entry, and sub unreachable */
			break;
		}
	}
	/* the index of /split damaged: laid out again through the core */
	in = ft_inode(&m, split);
	b = (struct umfs_bucket *)(m.base + ft_page_off(&m, in, UMFS_DIR_BUCKET_PAGE0 + 1));
	b->ent[0] ^= 4;
	/* leaked pages */
	ft_pbitmap(&m)[(m.sb.data_pages - 200) / 64] |= 0xff;
	ft_state(&m)->state = UMFS_STATE_DIRTY;
	ft_map_close(&m);
}

int main(int argc, char **argv)
{
	unsigned points = argc > 1 ? (unsigned)atoi(argv[1]) : 0; /* 0: every flush */
	struct umfs_persist_hook hook = { .flush = hook_flush, .drain = hook_drain };
	struct fsck_summary sum;
	struct ft_map m;
	char path[256];
	const char *what;
	uint8_t *damaged, *work;
	unsigned long total;
	int failures = 0, code, err;

	ft_pool_path(path, sizeof(path), "interrupt");
	err = ft_pool_format(path, FT_POOL_SIZE, 0);
	if (!err)
		err = ft_pool_populate(path, &what);
	if (err) {
		fprintf(stderr, "cannot make the pool: %s\n", strerror(-err));
		return 1;
	}
	damage(path);
	if (ft_map_open(path, &m))
		return 1;
	H.len = m.pm.len;
	damaged = malloc(H.len);
	work = mmap(NULL, H.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	H.snap = malloc(H.len);
	memcpy(damaged, m.base, H.len);
	ft_map_close(&m);
	unlink(path);

	/* The full repair, counting its flushes. */
	memcpy(work, damaged, H.len);
	H.base = work;
	H.cut = 0;
	umfs_persist_hook_set(&hook);
	code = run(work, FSCK_MODE_REPAIR, &sum);
	umfs_persist_hook_set(NULL);
	total = H.flushes;
	printf("full repair: exit %d, %lu problems, %lu flushes\n", code, sum.problems, total);
	if (code != FSCK_EXIT_CORRECTED || run(work, FSCK_MODE_CHECK, &sum) != FSCK_EXIT_OK) {
		fprintf(stderr, "FAIL: the uninterrupted repair did not succeed\n");
		return 1;
	}

	if (points == 0 || points > total)
		points = (unsigned)total; /* every flush */
	for (unsigned p = 0; p < points; p++) {
		unsigned long cut = 1 + (unsigned long)p * (total - 1) / (points > 1 ? points - 1 : 1);

		if (getenv("FT_CUT"))
			cut = strtoul(getenv("FT_CUT"), NULL, 0); /* one point, to debug */
		const struct umfs_state *st;

		memcpy(work, damaged, H.len);
		H.flushes = 0;
		H.cut = cut;
		H.taken = false;
		umfs_persist_hook_set(&hook);
		run(work, FSCK_MODE_REPAIR, &sum);
		umfs_persist_hook_set(NULL);
		if (!H.taken)
			continue;
		/* The crash image: what had reached the pool by the cut. */
		memcpy(work, H.snap, H.len);
		st = (const struct umfs_state *)(work + ((struct umfs_superblock *)work)->state_off);
		/* Only marking the pool clean, the last flushes, may leave it clean. */
		if (st->state != UMFS_STATE_DIRTY && cut + 3 < total) {
			fprintf(stderr, "FAIL: cut at flush %lu: the state page says %llu, not dirty\n",
				cut, (unsigned long long)st->state);
			failures++;
		}
		code = run(work, FSCK_MODE_REPAIR, &sum);
		if (code != FSCK_EXIT_OK && code != FSCK_EXIT_CORRECTED) {
			fprintf(stderr, "FAIL: cut at flush %lu: fsck -y exited %d\n", cut, code);
			failures++;
			continue;
		}
		{
			char *text = NULL;
			size_t tlen = 0;
			FILE *out = open_memstream(&text, &tlen);

			/* check mode repairs the buffer it is given: one run only */
			code = run_to(work, FSCK_MODE_CHECK, &sum, out);
			fclose(out);
			if (code != FSCK_EXIT_OK) {
				fprintf(stderr, "FAIL: cut at flush %lu: fsck -n after -y exited %d%s%s",
					cut, code, failures < 3 ? ":\n" : "\n", failures < 3 ? text : "");
				failures++;
			}
			free(text);
		}
	}
	printf("%u cut points over %lu flushes: %d failures\n", points, total, failures);
	free(damaged);
	free(H.snap);
	munmap(work, H.len);
	return failures ? 1 : 0;
}
