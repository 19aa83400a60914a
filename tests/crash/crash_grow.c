/* SPDX-License-Identifier: MIT */
/*
 * crash_grow.c - power cut at every fence of a pool's grow.
 *
 * A populated pool of OLD bytes, its file already extended to NEW (step
 * (a) of docs/format.md, "Growing a pool"), is grown by the core's
 * umfs_grow() while the persistence layer records every flushed line and
 * fence. For the image each fence leaves, and for images with a random
 * part of the lines flushed since the fence before:
 *   - fsck -n finds crash state only; the pool it repaired in private
 *     memory is OLD or NEW bytes, not GROWING, holds the namespace it held
 *     before the grow, and after a mount and unmount fsck finds nothing;
 *   - a mount of the image (which finishes a grow) does the same, and at
 *     NEW takes a file larger than the old pool's free space, read back
 *     byte for byte;
 *   - fsck -y leaves a pool that fsck -n finds clean.
 * The mount's finishing of an interrupted grow is then itself cut at each
 * of its fences, and checked the same way.
 *
 *   crash_grow [--break bits-first --expect-fail] [-v]
 *
 * --break bits-first changes the page bitmap before the superblock that
 * allows it (the order the design forbids): the checks must catch it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "crash_lib.h"
#include "check.h"
#include "umfs_grow.h"

#define OLD_SIZE (8ull << 20)
#define NEW_SIZE (16ull << 20)
#define BIG_FILE (8u << 20) /* more than the old pool has free */
#define SUBSETS 1

static struct {
	bool verbose, expect_fail, bits_first;
	unsigned long states, failed;
	uint64_t seed;
	struct dump ref; /* the namespace before the grow */
} t = { .seed = 0x9e0f };

static void fail(const char *what, const char *why)
{
	t.failed++;
	fprintf(stderr, "crash_grow: %s: %s\n", what, why);
}

/* The pool a check left in view: at the old size or the new, finished,
 * with the namespace it had. The fs is left mounted in *fsp. */
static int pool_sound(uint8_t *view, struct umfs_fs **fsp, char *why, size_t len)
{
	const struct umfs_superblock *sb = (const void *)view;
	struct dump d = { 0 };

	if (check_mount(view, NEW_SIZE, 0, fsp, why, len))
		return -1;
	if ((sb->pool_size != OLD_SIZE && sb->pool_size != NEW_SIZE) || umfs_sb_growing(sb)) {
		snprintf(why, len, "pool of %llu bytes%s", (unsigned long long)sb->pool_size,
			 umfs_sb_growing(sb) ? ", still growing" : "");
		return -1;
	}
	dump_take(*fsp, &d);
	if (!dump_equal(&d, &t.ref)) {
		dump_diff(&d, &t.ref, why, len);
		dump_free(&d);
		return -1;
	}
	dump_free(&d);
	return check_space(*fsp, why, len);
}

/* At the new size, a file larger than the old pool's free space fits and
 * reads back whole. */
static int fill_past_old(struct umfs_fs *fs, char *why, size_t len)
{
	static uint8_t buf[BIG_FILE], back[BIG_FILE];
	struct umfs_file *f;
	ssize_t n;

	fill_pattern(buf, sizeof(buf), 77);
	if (umfs_open(fs, "/big", O_CREAT | O_RDWR, 0644, &f)) {
		snprintf(why, len, "create /big failed");
		return -1;
	}
	n = umfs_pwrite(f, buf, sizeof(buf), 0);
	if (n == (ssize_t)sizeof(buf))
		n = umfs_pread(f, back, sizeof(back), 0);
	umfs_close(f);
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, back, sizeof(buf))) {
		snprintf(why, len, "a %u-byte file in the grown pool: %zd bytes, %s", BIG_FILE,
			 n, n < 0 ? strerror((int)-n) : "read back different");
		return -1;
	}
	return 0;
}

/* Every check of one crash image. */
static void check_image(const struct image *im, const char *what)
{
	char why[512];
	struct umfs_fs *fs;
	uint8_t *v;
	int code;

	t.states++;
	/* fsck -n: crash state only, and what it made of the pool is sound */
	v = image_view(im);
	if (check_crash_only(v, NEW_SIZE, why, sizeof(why)))
		fail(what, why);
	else if (pool_sound(v, &fs, why, sizeof(why)) ||
		 check_finish(fs, v, NEW_SIZE, why, sizeof(why)))
		fail(what, why);
	image_view_free(im, v);

	/* the mount finishes the grow by itself */
	v = image_view(im);
	if (pool_sound(v, &fs, why, sizeof(why)) ||
	    (((struct umfs_superblock *)v)->pool_size == NEW_SIZE &&
	     fill_past_old(fs, why, sizeof(why))) ||
	    check_finish(fs, v, NEW_SIZE, why, sizeof(why)))
		fail(what, why);
	image_view_free(im, v);

	/* fsck -y, then nothing left for fsck -n */
	v = image_view(im);
	code = check_repair(v, NEW_SIZE);
	if (code > FSCK_EXIT_CORRECTED) {
		snprintf(why, sizeof(why), "fsck -y exits %d", code);
		fail(what, why);
	} else if (check_crash_only(v, NEW_SIZE, why, sizeof(why)) ||
		   pool_sound(v, &fs, why, sizeof(why)) ||
		   check_finish(fs, v, NEW_SIZE, why, sizeof(why))) {
		fail(what, why);
	}
	image_view_free(im, v);
	if (t.verbose)
		fprintf(stderr, "crash_grow: %s checked\n", what);
}

/* The image at each fence of r (applied to im as it goes), and SUBSETS
 * images with a random part of the lines flushed since the fence before
 * (part: a scratch image of the same size). */
static void crash_everywhere(const struct recorder *r, struct image *im, struct image *part,
			     const char *phase)
{
	size_t since = 0, fence = 0;
	char what[96];

	snprintf(what, sizeof(what), "%s: before the first fence", phase);
	check_image(im, what);
	for (size_t e = 0; e < r->nev; e++) {
		if (r->ev[e].kind != REC_FENCE)
			continue;
		fence++;
		for (unsigned s = 0; s < SUBSETS && e > since; s++) {
			memcpy(part->cur, im->cur, im->len);
			for (size_t k = since; k < e; k++)
				if (xrand(&t.seed) % 2)
					rec_apply(r, k, part->cur);
			snprintf(what, sizeof(what), "%s: part of the lines before fence %zu, #%u",
				 phase, fence, s + 1);
			check_image(part, what);
		}
		for (size_t k = since; k < e; k++)
			rec_apply(r, k, im->cur);
		since = e + 1;
		snprintf(what, sizeof(what), "%s: fence %zu of %zu", phase, fence, r->nfences);
		check_image(im, what);
	}
}

/* A populated pool of OLD_SIZE bytes, in memory at NEW_SIZE (the tail
 * zero, as the extended file), and its namespace in t.ref. */
static uint8_t *make_pool(void)
{
	char path[256], why[256];
	struct umfs_file *f;
	struct umfs_fs *fs;
	uint8_t *img, buf[100000];
	int fd;

	if (pool_create(path, sizeof(path), "grow", OLD_SIZE, 0) ||
	    umfs_mount(path, 0, &fs) || umfs_mkdir(fs, "/d", 0755)) {
		fprintf(stderr, "crash_grow: cannot make the pool: %s\n", umfs_mount_error());
		exit(2);
	}
	for (int i = 0; i < 6; i++) {
		char name[32];

		snprintf(name, sizeof(name), i % 2 ? "/d/f%d" : "/f%d", i);
		fill_pattern(buf, sizeof(buf), (uint64_t)i);
		if (umfs_open(fs, name, O_CREAT | O_WRONLY, 0644, &f) ||
		    umfs_pwrite(f, buf, sizeof(buf) - (size_t)i * 777, 0) < 0 || umfs_close(f)) {
			fprintf(stderr, "crash_grow: cannot write %s\n", name);
			exit(2);
		}
	}
	umfs_unmount(fs);
	img = calloc(1, NEW_SIZE);
	fd = open(path, O_RDONLY);
	if (!img || fd < 0 || pread(fd, img, OLD_SIZE, 0) != (ssize_t)OLD_SIZE) {
		perror("crash_grow: reading the pool");
		exit(2);
	}
	close(fd);
	unlink(path);
	if (check_mount(img, NEW_SIZE, UMFS_MOUNT_RDONLY, &fs, why, sizeof(why))) {
		fprintf(stderr, "crash_grow: %s\n", why);
		exit(2);
	}
	dump_take(fs, &t.ref);
	umfs_unmount(fs);
	return img;
}

/* The design's steps in the wrong order: the bitmap made for the new size
 * under the old superblock, then the new superblocks, never GROWING. */
static int grow_bits_first(struct umfs_pmem *pm, uint64_t size)
{
	struct umfs_superblock sb;

	memcpy(&sb, pm->base, sizeof(sb));
	umfs_grow_sb_begin(&sb, size);
	return umfs_grow_finish(pm, &sb);
}

/* Records a grow's (or a mount's) run on a copy of img (flushes and fences), in *r. */
static void record(struct recorder *r, const uint8_t *img, bool mount)
{
	uint8_t *run = malloc(NEW_SIZE);
	struct umfs_pmem pm = { .len = NEW_SIZE, .media = UMFS_MEDIA_SHM, .fd = -1 };
	struct umfs_fs *fs;
	const char *why = "";
	int err;

	memcpy(run, img, NEW_SIZE);
	pm.base = run;
	rec_init(r, run, NEW_SIZE);
	rec_start(r);
	if (mount) {
		err = umfs_fs_bind(&pm, 0, &fs);
		if (!err)
			err = umfs_unmount(fs);
		why = umfs_mount_error();
	} else {
		err = t.bits_first ? grow_bits_first(&pm, NEW_SIZE) : umfs_grow(&pm, NEW_SIZE, &why);
	}
	rec_stop();
	if (err) {
		fprintf(stderr, "crash_grow: the %s failed: %s (%s)\n", mount ? "mount" : "grow",
			strerror(-err), why);
		exit(2);
	}
	/* r keeps the bytes of each line it recorded */
	free(run);
	r->base = NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "break", required_argument, NULL, 'b' },
					      { "expect-fail", no_argument, NULL, 'x' },
					      { "verbose", no_argument, NULL, 'v' },
					      { 0, 0, 0, 0 } };
	struct recorder r, rm;
	struct image im, part;
	double t0 = now_sec();
	uint8_t *img;
	size_t commit = 0;
	int c;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'b' && !strcmp(optarg, "bits-first"))
			t.bits_first = true;
		else if (c == 'x')
			t.expect_fail = true;
		else if (c == 'v')
			t.verbose = true;
		else
			return 2;
	}
	img = make_pool();
	record(&r, img, false);
	if (image_init(&im, img, NEW_SIZE) || image_init(&part, img, NEW_SIZE)) {
		perror("crash_grow: image");
		return 2;
	}
	crash_everywhere(&r, &im, &part, "grow");

	/* the mount's finishing, cut: from the image just after the commit
	 * (the fourth fence: new backup, then primary, each flushed and synced) */
	if (!t.bits_first) {
		image_free(&im);
		image_init(&im, img, NEW_SIZE);
		for (size_t e = 0, fences = 0; e < r.nev && fences < 4; e++) {
			fences += r.ev[e].kind == REC_FENCE;
			rec_apply(&r, e, im.cur);
			commit = e;
		}
		if (!umfs_sb_growing((const void *)im.cur)) {
			fprintf(stderr, "crash_grow: the fourth fence (event %zu) is not the commit\n",
				commit);
			return 1;
		}
		record(&rm, im.cur, true);
		crash_everywhere(&rm, &im, &part, "mount finishing the grow");
		rec_free(&rm);
	}
	rec_free(&r);
	image_free(&im);
	image_free(&part);
	free(img);
	dump_free(&t.ref);
	printf("crash_grow: %lu crash states checked, %lu failed (%.1f s)\n", t.states, t.failed,
	       now_sec() - t0);
	if (t.expect_fail)
		return t.failed ? 0 : 1;
	return t.failed ? 1 : 0;
}
