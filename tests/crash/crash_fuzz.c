/* SPDX-License-Identifier: MIT */
/*
 * crash_fuzz.c - fuzzing recovery: random bytes in U-Log pages and journal
 * slots.
 *
 * The base image is a pool caught in the middle of everything recovery
 * undoes: a valid two-page byte record with the write half done, a swap
 * record with the copy-on-write exchange done and its shadow orphan, and an
 * active journal transaction. Each round corrupts a few random bytes of the
 * U-Log pages, the journal slot, or the inodes' U-Log links, then:
 *   - mount (recovery) must succeed or refuse with an error, never crash;
 *   - fsck -y must then leave a pool that mounts and that fsck -n -f finds
 *     clean.
 * Rounds run in child processes, so a crash is reported with its round.
 *
 *   crash_fuzz [-r ROUNDS] [-s SEED] [-o ROUND (one round, in-process)] [-v]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "crash_lib.h"

#define POOL_SIZE (16ull << 20)

struct region {
	uint64_t off, len;
	const char *name;
};

static struct region regions[8];
static unsigned nregions;
static bool verbose;

static void add_region(uint64_t off, uint64_t len, const char *name)
{
	regions[nregions++] = (struct region){ off, len, name };
}

static int put(struct umfs_fs *fs, const char *path, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	struct umfs_file *f;
	int err;

	fill_pattern(buf, len, seed);
	err = umfs_open(fs, path, O_CREAT | O_RDWR, 0644, &f);
	if (!err) {
		err = umfs_pwrite(f, buf, len, 0) == (ssize_t)len ? 0 : -EIO;
		umfs_close(f);
	}
	free(buf);
	return err;
}

static uint64_t ino_of(struct umfs_fs *fs, const char *path)
{
	struct stat st;

	return umfs_stat(fs, path, &st, 0) ? 0 : (uint64_t)st.st_ino;
}

/* Builds the base image; returns it malloc'd. */
static uint8_t *make_base(void)
{
	char path[256];
	struct umfs_fs *fs;
	struct umfs_ulog *u;
	struct umfs_cow c;
	uint64_t a, b;
	uint8_t *img, *buf;
	int err;

	err = pool_create(path, sizeof(path), "fuzz", POOL_SIZE, 0);
	if (!err)
		err = umfs_mount(path, 0, &fs);
	if (!err)
		err = put(fs, "/a", 64 << 10, 1);
	if (!err)
		err = put(fs, "/b", 600 << 10, 2);
	if (!err)
		err = umfs_mkdir(fs, "/d", 0755);
	if (err) {
		fprintf(stderr, "fuzz: cannot build the pool: %s\n", strerror(-err));
		exit(2);
	}
	a = ino_of(fs, "/a");
	b = ino_of(fs, "/b");

	/* /a: a byte record of 6000 bytes, half of the new bytes written */
	if (umfs_ulog_get(fs, a, 6000, &u)) {
		fprintf(stderr, "fuzz: no U-Log\n");
		exit(2);
	}
	umfs_ulog_save_bytes(fs, u, a, 1000, 6000, umfs_inode(fs, a)->size);
	memset(fs->base + umfs_pt_offset(fs, umfs_inode(fs, a), 0, NULL) + 1000, 0xAB, 3000);
	add_region(umfs_inode(fs, a)->ulog, UMFS_PAGE_SIZE, "U-Log of /a");
	add_region(u->next, UMFS_PAGE_SIZE, "second U-Log page of /a");

	/* /b: a copy-on-write overwrite of 300 KiB, exchanged, not retired */
	buf = malloc(300 << 10);
	fill_pattern(buf, 300 << 10, 3);
	c = (struct umfs_cow){ .ino = b, .a = 5000, .b = 5000 + (300 << 10), .buf = buf,
			       .old_size = umfs_inode(fs, b)->size };
	if (umfs_cow_begin(fs, &c)) {
		fprintf(stderr, "fuzz: no copy-on-write\n");
		exit(2);
	}
	add_region(umfs_inode(fs, b)->ulog, UMFS_PAGE_SIZE, "U-Log of /b");
	add_region(umfs_ptr_off(fs, umfs_inode(fs, a)) + offsetof(struct umfs_inode, ulog), 8,
		   "ulog link of /a");
	add_region(umfs_ptr_off(fs, umfs_inode(fs, c.shadow)), sizeof(struct umfs_inode),
		   "shadow inode");

	/* an interrupted transaction: an inode and a bitmap word half changed */
	{
		struct umfs_inode *ind = umfs_inode(fs, ino_of(fs, "/d"));
		uint64_t *word = &fs->pbitmap[fs->data_pages / 128];

		umfs_meta_lock(fs);
		umfs_tx_begin(fs);
		umfs_tx_add(fs, ind, sizeof(*ind));
		ind->nlink = 77;
		ind->dir.nentries = 5;
		umfs_tx_add(fs, word, sizeof(*word));
		*word ^= 0x5a5a;
	}
	add_region(fs->sb.journal_off, fs->tx.used, "journal slot 0");
	img = malloc(POOL_SIZE);
	memcpy(img, fs->base, POOL_SIZE);
	/* leave the live pool alone: it is thrown away */
	umfs_tx_abort(fs);
	umfs_meta_unlock(fs);
	free(buf);
	unlink(path);
	return img;
}

struct outcome {
	unsigned mounted, refused, repaired, failed;
};

/* One round; returns false on a failure worth reporting. */
static bool round_run(const struct image *im, uint64_t seed, struct outcome *o)
{
	uint64_t rnd = seed * 0x9E3779B97F4A7C15ull | 1;
	uint8_t *v = image_view(im);
	unsigned n = 1 + (unsigned)(xrand(&rnd) % 12);
	struct umfs_fs *fs;
	char why[512];
	struct dump d;
	bool ok = true;
	int code;

	for (unsigned i = 0; i < n; i++) {
		const struct region *r = &regions[xrand(&rnd) % nregions];
		/* headers and record lines first: that is where the decisions are */
		uint64_t span = (xrand(&rnd) & 1) && r->len > 128 ? 128 : r->len;
		uint64_t at = r->off + xrand(&rnd) % span;

		v[at] = (uint8_t)xrand(&rnd);
		if (verbose)
			fprintf(stderr, "  round %llu: byte %llu of %s\n", (unsigned long long)seed,
				(unsigned long long)(at - r->off), r->name);
	}
	if (check_mount(v, im->len, 0, &fs, why, sizeof(why)) == 0) {
		o->mounted++;
		if (dump_take(fs, &d) == 0)
			dump_free(&d);
		umfs_unmount(fs);
	} else {
		o->refused++;
	}
	code = check_repair(v, im->len);
	if (code >= FSCK_EXIT_OPERATIONAL) {
		snprintf(why, sizeof(why), "fsck -y exit %d", code);
		ok = false;
	} else if (check_mount(v, im->len, 0, &fs, why, sizeof(why))) {
		ok = false;
	} else if (check_finish(fs, v, im->len, why, sizeof(why))) {
		ok = false;
	}
	if (ok) {
		o->repaired++;
	} else {
		o->failed++;
		fprintf(stderr, "FAIL: fuzz round %llu: after repair: %s\n",
			(unsigned long long)seed, why);
	}
	image_view_free(im, v);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned rounds = 400, batch = 50;
	uint64_t seed = 1;
	struct outcome total = { 0 };
	struct image im;
	uint8_t *base;
	double t0 = now_sec();
	int c;

	long one = -1;

	while ((c = getopt(argc, argv, "r:s:o:v")) != -1) {
		if (c == 'o')
			one = strtol(optarg, NULL, 0);
		else if (c == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (c == 'v')
			verbose = true;
		else {
			fputs("usage: crash_fuzz [-r rounds] [-s seed] [-o round] [-v]\n", stderr);
			return 2;
		}
	}
	base = make_base();
	if (image_init(&im, base, POOL_SIZE)) {
		fprintf(stderr, "fuzz: no image\n");
		return 2;
	}
	free(base);
	/* the base image itself recovers and checks clean */
	{
		uint8_t *v = image_view(&im);
		struct umfs_fs *fs;
		char why[512];

		if (check_mount(v, POOL_SIZE, 0, &fs, why, sizeof(why)) ||
		    check_finish(fs, v, POOL_SIZE, why, sizeof(why))) {
			fprintf(stderr, "FAIL: fuzz: the uncorrupted image: %s\n", why);
			return 1;
		}
		image_view_free(&im, v);
	}
	if (one >= 0) { /* one round, in this process (debugging) */
		struct outcome o = { 0 };

		verbose = true;
		return round_run(&im, (uint64_t)one, &o) ? 0 : 1;
	}
	for (unsigned first = 0; first < rounds; first += batch) {
		int fds[2], status;
		pid_t pid;

		if (pipe(fds) < 0)
			return 2;
		pid = fork();
		if (pid == 0) {
			struct outcome o = { 0 };

			close(fds[0]);
			for (unsigned i = first; i < first + batch && i < rounds; i++)
				round_run(&im, seed + i, &o);
			if (write(fds[1], &o, sizeof(o)) != sizeof(o))
				_exit(3);
			_exit(0);
		}
		close(fds[1]);
		{
			struct outcome o;

			if (read(fds[0], &o, sizeof(o)) == sizeof(o)) {
				total.mounted += o.mounted;
				total.refused += o.refused;
				total.repaired += o.repaired;
				total.failed += o.failed;
			}
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status)) {
			fprintf(stderr, "FAIL: fuzz: rounds %u.. crashed: signal %d (seed %llu)\n",
				first, WTERMSIG(status), (unsigned long long)(seed + first));
			total.failed += batch;
		}
	}
	image_free(&im);
	printf("fuzz: %u rounds in %.1f s: recovery mounted %u, refused %u; after fsck -y: "
	       "%u clean, %u failed\n",
	       rounds, now_sec() - t0, total.mounted, total.refused, total.repaired, total.failed);
	return total.failed ? 1 : 0;
}
