/* SPDX-License-Identifier: MIT */
/*
 * crash_workloads.c - the scripted workloads of the crash-state harness.
 * Each step (an API call, or a few that belong together) is bracketed by
 * step_begin()/step_end(), which record the events before and after it and
 * dump the namespace once it returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_test.h"

/* ------------------------------------------------------------------ */
/* Recording helpers for workloads                                      */
/* ------------------------------------------------------------------ */

static void die_call(struct run *r, const char *what, long got, long want)
{
	fprintf(stderr, "crash: %s: workload call %s returned %ld, wanted %ld\n", r->wl->name,
		what, got, want);
	r->broken = true;
}

#define CALL(r, expr, want)                                                      \
	do {                                                                     \
		long got_ = (long)(expr);                                        \
		if (got_ != (long)(want))                                        \
			die_call(r, #expr, got_, (long)(want));                  \
	} while (0)

void dump_push(struct run *r)
{
	struct dump d;
	int err = dump_take(r->fs, &d);

	if (err) {
		fprintf(stderr, "crash: %s: dump failed: %s\n", r->wl->name, strerror(-err));
		r->broken = true;
	}
	if (r->ndumps == r->cap_dumps) {
		r->cap_dumps = r->cap_dumps ? 2 * r->cap_dumps : 64;
		r->dumps = realloc(r->dumps, r->cap_dumps * sizeof(*r->dumps));
	}
	r->dumps[r->ndumps++] = d;
}

static void step_begin(struct run *r, const char *fmt, ...)
{
	struct step *s;
	va_list ap;

	if (r->nsteps == r->cap_steps) {
		r->cap_steps = r->cap_steps ? 2 * r->cap_steps : 64;
		r->steps = realloc(r->steps, r->cap_steps * sizeof(*r->steps));
	}
	s = &r->steps[r->nsteps++];
	memset(s, 0, sizeof(*s));
	va_start(ap, fmt);
	vsnprintf(s->desc, sizeof(s->desc), fmt, ap);
	va_end(ap);
	s->before = r->ndumps - 1;
	s->begin = r->rec.nev;
	r->cur = s;
}

static void step_end(struct run *r)
{
	r->cur->end = r->rec.nev;
	dump_push(r);
	r->cur->after = r->ndumps - 1;
	r->cur = NULL;
}

/* Whole content of a file through the API. */
static uint8_t *read_all(struct run *r, const char *path, size_t *len)
{
	struct umfs_file *f;
	struct stat st;
	uint8_t *buf;

	if (umfs_open(r->fs, path, O_RDONLY, 0, &f))
		return NULL;
	umfs_fstat(f, &st);
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	if (umfs_pread(f, buf, *len, 0) != (ssize_t)*len)
		r->broken = true;
	umfs_close(f);
	return buf;
}

static void put_file(struct run *r, const char *path, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len + 1);
	struct umfs_file *f;

	fill_pattern(buf, len, seed);
	CALL(r, umfs_open(r->fs, path, O_CREAT | O_TRUNC | O_WRONLY, 0644, &f), 0);
	if (!r->broken) {
		CALL(r, umfs_pwrite(f, buf, len, 0), len);
		umfs_close(f);
	}
	free(buf);
}

static void open_file(struct run *r, int slot, const char *path, int flags)
{
	CALL(r, umfs_open(r->fs, path, flags, 0644, &r->f[slot]), 0);
}

static void close_file(struct run *r, int slot)
{
	CALL(r, umfs_close(r->f[slot]), 0);
	r->f[slot] = NULL;
}

/* A recorded pwrite of pattern bytes. */
static void st_pwrite(struct run *r, int slot, const char *path, uint64_t off, size_t len,
		      uint64_t seed, ssize_t want)
{
	uint8_t *buf = malloc(len + 1);

	fill_pattern(buf, len, seed);
	step_begin(r, "pwrite(%s, %zu bytes at %" PRIu64 ")", path, len, off);
	CALL(r, umfs_pwrite(r->f[slot], buf, len, (off_t)off), want);
	step_end(r);
	free(buf);
}

/* A recorded pwrite in relaxed mode: the harness accepts any byte mix. */
static void st_pwrite_mix(struct run *r, int slot, const char *path, uint64_t off, size_t len,
			  uint64_t seed)
{
	uint8_t *buf = malloc(len + 1), *old;
	size_t old_len, new_len;
	struct step *s;

	fill_pattern(buf, len, seed);
	old = read_all(r, path, &old_len);
	step_begin(r, "relaxed pwrite(%s, %zu bytes at %" PRIu64 ")", path, len, off);
	CALL(r, umfs_pwrite(r->f[slot], buf, len, (off_t)off), len);
	s = r->cur;
	step_end(r);
	s->mix = true;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->old = old;
	s->old_len = old_len;
	s->new = read_all(r, path, &new_len);
	s->new_len = new_len;
	free(buf);
}

static void st_close(struct run *r, int slot, const char *desc)
{
	step_begin(r, "%s", desc);
	CALL(r, umfs_close(r->f[slot]), 0);
	r->f[slot] = NULL;
	step_end(r);
}

#define STEP(r, desc, expr, want)                \
	do {                                     \
		step_begin(r, "%s", desc);       \
		CALL(r, expr, want);             \
		step_end(r);                     \
	} while (0)

/* ------------------------------------------------------------------ */
/* Workloads                                                            */
/* ------------------------------------------------------------------ */

static void setup_overwrite(struct run *r)
{
	uint8_t buf[4096];

	put_file(r, "/a", 64 * KiB, 1);
	put_file(r, "/sparse", 4096, 2);
	open_file(r, 0, "/sparse", O_WRONLY);
	fill_pattern(buf, sizeof(buf), 3);
	CALL(r, umfs_pwrite(r->f[0], buf, sizeof(buf), 60 * KiB), sizeof(buf));
	close_file(r, 0);
}

static void body_overwrite(struct run *r)
{
	open_file(r, 0, "/a", O_RDWR);
	open_file(r, 1, "/sparse", O_RDWR);
	st_pwrite(r, 0, "/a", 10, 100, 10, 100);
	st_pwrite(r, 0, "/a", 8192, 4096, 11, 4096);
	st_pwrite(r, 0, "/a", 12000, 5000, 12, 5000);
	st_pwrite(r, 0, "/a", 30000, 20000, 13, 20000);
	st_pwrite(r, 0, "/a", 64 * KiB - 1000, 3000, 14, 3000);
	st_pwrite(r, 1, "/sparse", 10000, 10000, 15, 10000);
	st_pwrite(r, 1, "/sparse", 4000, 300, 16, 300);
	st_close(r, 0, "close(/a)");
	st_close(r, 1, "close(/sparse)");
}

static void setup_cow(struct run *r)
{
	uint8_t buf[8192];

	put_file(r, "/b", 400 * KiB, 20);
	put_file(r, "/s", 8192, 21);
	open_file(r, 0, "/s", O_WRONLY);
	fill_pattern(buf, sizeof(buf), 22);
	CALL(r, umfs_pwrite(r->f[0], buf, sizeof(buf), 200 * KiB), sizeof(buf));
	CALL(r, umfs_ftruncate(r->f[0], 300 * KiB), 0);
	close_file(r, 0);
	/* one page, sized 100 KiB: a tree of height 0 */
	put_file(r, "/one", 4096, 27);
	CALL(r, umfs_truncate(r->fs, "/one", 100 * KiB), 0);
}

static void body_cow(struct run *r)
{
	open_file(r, 0, "/b", O_RDWR);
	open_file(r, 1, "/s", O_RDWR);
	st_pwrite(r, 0, "/b", 5000, 100 * KiB, 23, 100 * KiB);
	st_pwrite(r, 0, "/b", 0, 400 * KiB, 24, 400 * KiB);
	st_pwrite(r, 0, "/b", 300 * KiB, 200 * KiB, 25, 200 * KiB);
	st_pwrite(r, 1, "/s", 4000, 250 * KiB, 26, 250 * KiB);
	open_file(r, 2, "/one", O_RDWR);
	st_pwrite(r, 2, "/one", 100, 80 * KiB, 28, 80 * KiB);
	st_close(r, 2, "close(/one)");
	st_close(r, 0, "close(/b)");
	st_close(r, 1, "close(/s)");
}

static void setup_huge(struct run *r)
{
	put_file(r, "/h", 6 * MiB, 30);
}

static void body_huge(struct run *r)
{
	open_file(r, 0, "/h", O_RDWR);
	st_pwrite(r, 0, "/h", 2 * MiB + 100, 300, 31, 300);
	st_pwrite(r, 0, "/h", 2 * MiB + 50000, 100 * KiB, 32, 100 * KiB);
	st_pwrite(r, 0, "/h", 4 * MiB, 2 * MiB, 33, 2 * MiB);
	st_pwrite(r, 0, "/h", 1 * MiB + 7, 3 * MiB, 34, 3 * MiB);
	STEP(r, "punch(/h, 64 KiB in a 2 MiB leaf)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)(4 * MiB + 10000), 64 * KiB), 0);
	STEP(r, "punch(/h, a whole 2 MiB region)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * MiB), 0);
	st_close(r, 0, "close(/h)");
}

static void body_append(struct run *r)
{
	uint8_t *buf = malloc(300 * KiB);

	fill_pattern(buf, 300 * KiB, 40);
	STEP(r, "create(/c)", umfs_open(r->fs, "/c", O_CREAT | O_RDWR | O_APPEND, 0644, &r->f[0]),
	     0);
	STEP(r, "append 1 byte", umfs_write(r->f[0], buf, 1), 1);
	STEP(r, "append 4095 bytes", umfs_write(r->f[0], buf + 1, 4095), 4095);
	STEP(r, "append 10000 bytes", umfs_write(r->f[0], buf + 7, 10000), 10000);
	STEP(r, "append 300 KiB", umfs_write(r->f[0], buf, 300 * KiB), 300 * KiB);
	open_file(r, 1, "/c", O_WRONLY);
	st_pwrite(r, 1, "/c", 330 * KiB, 5000, 41, 5000); /* past EOF: a gap of zeros */
	st_close(r, 0, "close(/c)");
	st_close(r, 1, "close(/c) last");
	free(buf);
}

static void setup_trunc(struct run *r)
{
	put_file(r, "/t", 200 * KiB, 50);
	put_file(r, "/z", 300 * KiB, 51);
}

static void body_trunc(struct run *r)
{
	open_file(r, 0, "/t", O_RDWR);
	open_file(r, 1, "/z", O_RDWR);
	STEP(r, "truncate(/t, 100000)", umfs_truncate(r->fs, "/t", 100000), 0);
	STEP(r, "ftruncate(/t, 150000)", umfs_ftruncate(r->f[0], 150000), 0);
	STEP(r, "ftruncate(/t, 0)", umfs_ftruncate(r->f[0], 0), 0);
	STEP(r, "ftruncate(/t, 50000)", umfs_ftruncate(r->f[0], 50000), 0);
	STEP(r, "fallocate(/z, grow to 400 KiB)", umfs_fallocate(r->f[1], 0, 0, 400 * KiB), 0);
	STEP(r, "fallocate(/z, keep size, past EOF)",
	     umfs_fallocate(r->f[1], FALLOC_FL_KEEP_SIZE, 400 * KiB, 100 * KiB), 0);
	STEP(r, "punch(/z, 1000 at 5000)",
	     umfs_fallocate(r->f[1], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, 1000), 0);
	STEP(r, "punch(/z, 200 KiB at 10000)",
	     umfs_fallocate(r->f[1], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000, 200 * KiB),
	     0);
	STEP(r, "zero range(/z, 3000 at 50000)",
	     umfs_fallocate(r->f[1], FALLOC_FL_ZERO_RANGE, 50000, 3000), 0);
	STEP(r, "zero range(/z, 100 KiB at 350 KiB, grows)",
	     umfs_fallocate(r->f[1], FALLOC_FL_ZERO_RANGE, 350 * KiB, 100 * KiB), 0);
	/* EOF moves over the tail a truncate cut: it must read as zeros */
	st_pwrite(r, 0, "/t", 0x9e4a, 0xb008 - 0x9e4a, 0xa1, 0xb008 - 0x9e4a);
	STEP(r, "ftruncate(/t, 0x98d2)", umfs_ftruncate(r->f[0], 0x98d2), 0);
	STEP(r, "zero range(/t, 0x72f7 at 0x15b83, grows from past EOF)",
	     umfs_fallocate(r->f[0], FALLOC_FL_ZERO_RANGE, 0x15b83, 0x72f7), 0);
	STEP(r, "ftruncate(/t, 0x9000)", umfs_ftruncate(r->f[0], 0x9000), 0);
	STEP(r, "zero range(/t, keep size, 0x3000 at 0x8800)",
	     umfs_fallocate(r->f[0], FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0x8800, 0x3000),
	     0);
	STEP(r, "fallocate(/t, 0x100 at 0xa000, grows from past EOF)",
	     umfs_fallocate(r->f[0], 0, 0xa000, 0x100), 0);
	st_close(r, 0, "close(/t)");
	st_close(r, 1, "close(/z)");
}

static void setup_names(struct run *r)
{
	CALL(r, umfs_mkdir(r->fs, "/d1", 0755), 0);
	put_file(r, "/d1/f", 5000, 60);
	put_file(r, "/x", 3000, 61);
	put_file(r, "/y", 2000, 62);
}

static void body_names(struct run *r)
{
	uint8_t buf[100];

	fill_pattern(buf, sizeof(buf), 63);
	STEP(r, "create(/new)", umfs_open(r->fs, "/new", O_CREAT | O_RDWR, 0640, &r->f[0]), 0);
	st_pwrite(r, 0, "/new", 0, 100, 64, 100);
	STEP(r, "rename(/x, /y) over a file", umfs_rename(r->fs, "/x", "/y", 0), 0);
	STEP(r, "rename(/d1, /d2) a directory", umfs_rename(r->fs, "/d1", "/d2", 0), 0);
	STEP(r, "mkdir(/d3)", umfs_mkdir(r->fs, "/d3", 0755), 0);
	STEP(r, "rename(/d2, /d3) over an empty directory", umfs_rename(r->fs, "/d2", "/d3", 0), 0);
	STEP(r, "mkdir(/e)", umfs_mkdir(r->fs, "/e", 0700), 0);
	STEP(r, "rmdir(/e)", umfs_rmdir(r->fs, "/e"), 0);
	STEP(r, "link(/y, /d3/ylink)", umfs_link(r->fs, "/y", "/d3/ylink"), 0);
	STEP(r, "symlink(/sl)", umfs_symlink(r->fs, "some/target/path", "/sl"), 0);
	STEP(r, "rename(/d3/ylink, /d3/f) over a file", umfs_rename(r->fs, "/d3/ylink", "/d3/f", 0),
	     0);
	STEP(r, "exchange(/y, /sl)", umfs_rename(r->fs, "/y", "/sl", RENAME_EXCHANGE), 0);
	STEP(r, "chmod(/d3/f)", umfs_chmod(r->fs, "/d3/f", 0600, 0), 0);
	STEP(r, "unlink(/new) while open", umfs_unlink(r->fs, "/new"), 0);
	st_pwrite(r, 0, "/new", 50, 100, 65, 100);
	st_close(r, 0, "close(/new): the orphan goes");
	STEP(r, "unlink(/d3/f)", umfs_unlink(r->fs, "/d3/f"), 0);
}

static void make_names(struct run *r, const char *dir, unsigned from, unsigned to)
{
	char path[128];

	for (unsigned i = from; i < to && !r->broken; i++) {
		struct umfs_file *f;

		snprintf(path, sizeof(path), "%s/entry-%05u", dir, i);
		CALL(r, umfs_open(r->fs, path, O_CREAT | O_WRONLY, 0644, &f), 0);
		if (!r->broken)
			umfs_close(f);
	}
}

static void st_create(struct run *r, const char *dir, unsigned i)
{
	struct umfs_file *f = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/entry-%05u", dir, i);
	step_begin(r, "create(%s)", path);
	CALL(r, umfs_open(r->fs, path, O_CREAT | O_WRONLY, 0644, &f), 0);
	if (f)
		umfs_close(f);
	step_end(r);
}

static void setup_dirgrow(struct run *r)
{
	CALL(r, umfs_mkdir(r->fs, "/big", 0755), 0);
	make_names(r, "/big", 0, 120);
}

static void body_dirgrow(struct run *r)
{
	for (unsigned i = 120; i < 136 && !r->broken; i++)
		st_create(r, "/big", i);
	STEP(r, "rename(/big/entry-00003, /big/renamed)",
	     umfs_rename(r->fs, "/big/entry-00003", "/big/renamed", 0), 0);
	STEP(r, "unlink(/big/entry-00130)", umfs_unlink(r->fs, "/big/entry-00130"), 0);
	STEP(r, "rename(/big/entry-00131, /top) across directories",
	     umfs_rename(r->fs, "/big/entry-00131", "/top", 0), 0);
}

static void setup_split(struct run *r)
{
	CALL(r, umfs_mkdir(r->fs, "/big", 0755), 0);
	make_names(r, "/big", 0, 505);
}

static void body_split(struct run *r)
{
	for (unsigned i = 505; i < 516 && !r->broken; i++)
		st_create(r, "/big", i);
	STEP(r, "unlink(/big/entry-00007)", umfs_unlink(r->fs, "/big/entry-00007"), 0);
}

static void setup_relaxed(struct run *r)
{
	put_file(r, "/r", 200 * KiB, 70);
}

static void body_relaxed(struct run *r)
{
	open_file(r, 0, "/r", O_RDWR);
	st_pwrite_mix(r, 0, "/r", 100, 3000, 71);
	st_pwrite_mix(r, 0, "/r", 5000, 100 * KiB, 72);
	st_pwrite_mix(r, 0, "/r", 190 * KiB, 20 * KiB, 73);
	st_pwrite(r, 0, "/r", 210 * KiB, 50 * KiB, 74, 50 * KiB); /* an append stays atomic */
	STEP(r, "rename(/r, /r2)", umfs_rename(r->fs, "/r", "/r2", 0), 0);
	st_close(r, 0, "close(/r2)");
}

/* A full pool: no page for a U-Log or a copy, the journal takes the undo. */
static void setup_fallback(struct run *r)
{
	uint8_t *buf = calloc(1, 64 * KiB);
	ssize_t n;

	open_file(r, 0, "/fill", O_CREAT | O_RDWR);
	do {
		n = umfs_write(r->f[0], buf, 64 * KiB);
	} while (n == (ssize_t)(64 * KiB));
	for (int i = 0; i < 64; i++) /* the last pages, one by one */
		umfs_write(r->f[0], buf, 4096);
	free(buf);
}

static void body_fallback(struct run *r)
{
	struct statvfs sv;

	umfs_statfs(r->fs, &sv);
	if (sv.f_bfree != 0)
		fprintf(stderr, "crash: fallback: %lu pages still free\n",
			(unsigned long)sv.f_bfree);
	st_pwrite(r, 0, "/fill", 100, 3000, 80, 3000);
	st_pwrite(r, 0, "/fill", 20000, 40 * KiB, 81, 40 * KiB);
	st_pwrite(r, 0, "/fill", 200000, 64000, 82, 64000); /* too large for a U-Log */
	{
		struct stat st;

		umfs_fstat(r->f[0], &st);
		/* across EOF: the overwrite, then no page for the rest: a short write */
		st_pwrite(r, 0, "/fill", (uint64_t)st.st_size - 3000, 6000, 83, 3000);
	}
	STEP(r, "punch(/fill, 5000 at 100000)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100000, 5000), 0);
	st_close(r, 0, "close(/fill)");
}

/* Large copy-on-write overwrites and punches over 2 MiB leaves and 4 KiB
 * tables; run with a small journal so that preparation, exchange and their
 * rollback take many transactions. */
static void setup_bigcow(struct run *r)
{
	put_file(r, "/g", 12 * MiB, 90);
	open_file(r, 0, "/g", O_RDWR);
	/* regions 2 and 3 become 4 KiB tables, region 5 a hole */
	CALL(r, umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(4 * MiB + 4096), 4096), 0);
	CALL(r, umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(6 * MiB + 8192), 3 * 4096), 0);
	CALL(r, umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(10 * MiB), 2 * MiB), 0);
}

static void body_bigcow(struct run *r)
{
	st_pwrite(r, 0, "/g", 1 * MiB + 333, 9 * MiB, 91, 9 * MiB);
	STEP(r, "punch(/g, 5 MiB)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)(3 * MiB + 5), 5 * MiB), 0);
	st_pwrite(r, 0, "/g", 11 * MiB, 2 * MiB, 92, 2 * MiB);
	st_close(r, 0, "close(/g)");
}

/* Whole-page overwrites that swap in the U-Log's spare page, next to
 * everything that may meet a swap record still unretired: another swap,
 * runs of swaps on one page and on several, an append, a byte record, a
 * zero range, a truncate and a punch of the swapped page, an unlink while
 * open, the close that frees the chain and its spare. */
static void setup_pageswap(struct run *r)
{
	put_file(r, "/p", 64 * KiB, 100);
	put_file(r, "/q", 4096, 101); /* height 0: the inode names the page */
}

static void body_pageswap(struct run *r)
{
	open_file(r, 0, "/p", O_RDWR);
	open_file(r, 1, "/q", O_RDWR);
	st_pwrite(r, 0, "/p", 8192, 4096, 102, 4096);
	st_pwrite(r, 0, "/p", 8192, 4096, 103, 4096);  /* the page just swapped in */
	st_pwrite(r, 0, "/p", 0, 4096, 104, 4096);
	st_pwrite(r, 0, "/p", 60 * KiB, 4096, 105, 4096); /* the last page */
	st_pwrite(r, 0, "/p", 8192, 4096, 114, 4096);
	st_pwrite(r, 0, "/p", 8192, 4096, 115, 4096);
	st_pwrite(r, 0, "/p", 12288, 4096, 116, 4096);
	st_pwrite(r, 0, "/p", 8192, 4096, 117, 4096);
	st_pwrite(r, 0, "/p", 64 * KiB, 4096, 118, 4096); /* an append */
	st_pwrite(r, 0, "/p", 0, 4096, 119, 4096);
	st_pwrite(r, 0, "/p", 4096, 100, 106, 100);   /* a byte record replaces it */
	st_pwrite(r, 0, "/p", 12288, 4096, 107, 4096);
	st_pwrite(r, 1, "/q", 0, 4096, 108, 4096);   /* the undo path */
	STEP(r, "ftruncate(/p, 40 KiB)", umfs_ftruncate(r->f[0], 40 * KiB), 0);
	st_pwrite(r, 0, "/p", 36 * KiB, 4096, 109, 4096);
	STEP(r, "punch(/p, 4 KiB at 36 KiB)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 36 * KiB, 4096), 0);
	st_pwrite(r, 0, "/p", 36 * KiB, 4096, 110, 4096); /* a hole: the undo path */
	STEP(r, "ftruncate(/p, 64 KiB)", umfs_ftruncate(r->f[0], 64 * KiB), 0);
	st_pwrite(r, 0, "/p", 16384, 4096, 111, 4096);
	st_close(r, 0, "close(/p)");
	open_file(r, 0, "/p", O_RDWR);
	st_pwrite(r, 0, "/p", 20480, 4096, 112, 4096);
	STEP(r, "zero range(/p, 4 KiB at 20 KiB)",
	     umfs_fallocate(r->f[0], FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 20480, 4096), 0);
	st_pwrite(r, 0, "/p", 20480, 4096, 122, 4096);
	STEP(r, "unlink(/p)", umfs_unlink(r->fs, "/p"), 0);
	st_pwrite(r, 0, "/p", 24576, 4096, 113, 4096);
	st_close(r, 0, "close(unlinked /p)");
	st_close(r, 1, "close(/q)");
}

/* A full pool: no page for a U-Log or its spare, the journal takes it. */
static void body_pageswap_full(struct run *r)
{
	st_pwrite(r, 0, "/fill", 8192, 4096, 120, 4096);
	st_pwrite(r, 0, "/fill", 65536, 4096, 121, 4096);
	st_close(r, 0, "close(/fill)");
}

static const char *random_files[] = { "/f0", "/f1", "/d/f2" };

static void setup_random(struct run *r)
{
	CALL(r, umfs_mkdir(r->fs, "/d", 0755), 0);
	for (int i = 0; i < 3; i++)
		open_file(r, i, random_files[i], O_CREAT | O_RDWR);
}

/* A random mix of everything, on a few files and names. */
static void body_random(struct run *r)
{
	const char **files = random_files;
	static const char *names[] = { "/n0", "/n1", "/d/n2", "/d/e/n3" };
	uint64_t rnd = r->wl->seed * 0x9E3779B97F4A7C15ull | 1;
	unsigned nops = r->full ? 60 : 24;
	char desc[96];

	for (unsigned op = 0; op < nops && !r->broken; op++) {
		unsigned what = (unsigned)(xrand(&rnd) % 16), i = (unsigned)(xrand(&rnd) % 3);
		struct stat st;
		uint64_t size, off, len;
		static const uint64_t lens[] = { 100, 5000, 40000, 300000, 2500000 };

		umfs_fstat(r->f[i], &st);
		size = (uint64_t)st.st_size;
		len = 1 + xrand(&rnd) % lens[xrand(&rnd) % UMFS_ARRAY_SIZE(lens)];
		off = xrand(&rnd) % (size + 1 + len / 2);
		if (what < 7) {
			st_pwrite(r, (int)i, files[i], off, (size_t)len, xrand(&rnd), (ssize_t)len);
		} else if (what == 7) {
			snprintf(desc, sizeof(desc), "ftruncate(%s, %" PRIu64 ")", files[i], off);
			STEP(r, desc, umfs_ftruncate(r->f[i], (off_t)off), 0);
		} else if (what == 8 || what == 9) {
			static const int modes[] = {
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
				FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, FALLOC_FL_KEEP_SIZE,
			};
			int mode = modes[xrand(&rnd) % UMFS_ARRAY_SIZE(modes)];

			snprintf(desc, sizeof(desc), "fallocate(%s, mode %#x, %" PRIu64 " at %" PRIu64 ")",
				 files[i], mode, len, off);
			STEP(r, desc, umfs_fallocate(r->f[i], mode, (off_t)off, (off_t)len), 0);
		} else {
			const char *a = names[xrand(&rnd) % 4], *b = names[xrand(&rnd) % 4];
			struct stat sa, sb;
			bool ha = !umfs_stat(r->fs, a, &sa, AT_SYMLINK_NOFOLLOW);
			bool hb = !umfs_stat(r->fs, b, &sb, AT_SYMLINK_NOFOLLOW);
			bool de = !umfs_stat(r->fs, "/d/e", &sb, 0);

			if (!strncmp(a, "/d/e/", 5) && !de) {
				STEP(r, "mkdir(/d/e)", umfs_mkdir(r->fs, "/d/e", 0755), 0);
			} else if (!ha) {
				struct umfs_file *f = NULL;

				snprintf(desc, sizeof(desc), "create(%s)", a);
				step_begin(r, "%s", desc);
				CALL(r, umfs_open(r->fs, a, O_CREAT | O_WRONLY, 0600, &f), 0);
				if (f)
					umfs_close(f);
				step_end(r);
			} else if (what < 12 && a != b && (!strncmp(b, "/d/e/", 5) ? de : true)) {
				snprintf(desc, sizeof(desc), "rename(%s, %s)", a, b);
				STEP(r, desc, umfs_rename(r->fs, a, b, 0), 0);
			} else if (what < 14 && !hb && (!strncmp(b, "/d/e/", 5) ? de : true)) {
				snprintf(desc, sizeof(desc), "link(%s, %s)", a, b);
				STEP(r, desc, umfs_link(r->fs, a, b), 0);
			} else {
				snprintf(desc, sizeof(desc), "unlink(%s)", a);
				STEP(r, desc, umfs_unlink(r->fs, a), 0);
			}
		}
	}
	for (int i = 0; i < 3; i++)
		st_close(r, i, "close");
}

/* Inline tables: every transition of a small file's tree. */
static void setup_inline(struct run *r)
{
	put_file(r, "/i", 4096, 70);
	put_file(r, "/g", 16 * 4096 - 10, 71);
}

static void body_inline(struct run *r)
{
	open_file(r, 0, "/i", O_RDWR);
	open_file(r, 1, "/g", O_RDWR);
	st_pwrite(r, 0, "/i", 4096, 100, 72, 100);             /* one page -> inline */
	st_pwrite(r, 0, "/i", 3 * 4096 + 5, 12 * 4096, 73, 12 * 4096); /* stays inline */
	st_pwrite(r, 0, "/i", 17 * 4096, 5000, 74, 5000);      /* inline -> table page */
	STEP(r, "ftruncate(/i, 9 pages): table -> inline", umfs_ftruncate(r->f[0], 9 * 4096 - 1), 0);
	STEP(r, "punch(/i, pages 3-5)",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * 4096,
			    3 * 4096), 0);
	STEP(r, "ftruncate(/i, 100): inline -> one page", umfs_ftruncate(r->f[0], 100), 0);
	STEP(r, "ftruncate(/i, 0)", umfs_ftruncate(r->f[0], 0), 0);
	st_pwrite(r, 0, "/i", 7 * 4096 + 1, 300, 75, 300);    /* empty -> sparse inline */
	st_pwrite(r, 1, "/g", 100, 3 * 4096, 76, 3 * 4096);   /* copy-on-write inline */
	st_pwrite(r, 1, "/g", 10 * 4096 + 7, 10 * 4096, 77, 10 * 4096); /* ... past entry 16 */
	st_close(r, 1, "close(/g)");
	st_close(r, 0, "close(/i)");
	STEP(r, "unlink(/i)", umfs_unlink(r->fs, "/i"), 0);
}

/* Level-4 tables: a file grows from 3 levels to 4 and shrinks back, by a
 * truncate and by a punch, at every fence of each. */
#define GiB (1024 * MiB)
#define L3 UMFS_MAX_FILE_SIZE_L3 /* 512 GiB: a full level-3 tree */

static void setup_level4(struct run *r)
{
	put_file(r, "/t", 8192, 80);
}

static void body_level4(struct run *r)
{
	open_file(r, 0, "/t", O_RDWR);
	st_pwrite(r, 0, "/t", L3 - 4096, 100, 81, 100);       /* 1 -> 3 levels */
	st_pwrite(r, 0, "/t", 600 * GiB + 5, 5000, 82, 5000); /* 3 -> 4 */
	st_pwrite(r, 0, "/t", 2048 * GiB, 4096, 83, 4096);    /* a second level-3 table */
	STEP(r, "ftruncate(/t, 601 GiB): stays at 4", umfs_ftruncate(r->f[0], (off_t)(601 * GiB)), 0);
	STEP(r, "ftruncate(/t, 512 GiB): 4 -> 3", umfs_ftruncate(r->f[0], (off_t)L3), 0);
	st_pwrite(r, 0, "/t", 1024 * GiB + 3, 300, 84, 300);  /* 3 -> 4 again */
	STEP(r, "punch(/t, past 512 GiB): 4 -> 3",
	     umfs_fallocate(r->f[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)L3,
			    (off_t)(L3 + 4096)), 0);
	STEP(r, "ftruncate(/t, 0)", umfs_ftruncate(r->f[0], 0), 0);
	st_pwrite(r, 0, "/t", 3072 * GiB, 4096, 85, 4096);    /* empty -> 4 levels */
	st_close(r, 0, "close(/t)");
	STEP(r, "unlink(/t)", umfs_unlink(r->fs, "/t"), 0);
}

#define WL(n, size, fl, su, bo) \
	.name = n, .pool_size = (size), .flags = (fl), .setup = su, .body = bo

const struct workload crash_workloads[] = {
	{ WL("overwrite", 16 * MiB, 0, setup_overwrite, body_overwrite) },
	{ WL("cow", 16 * MiB, 0, setup_cow, body_cow) },
	{ WL("huge", 32 * MiB, 0, setup_huge, body_huge) },
	{ WL("append", 16 * MiB, 0, NULL, body_append) },
	{ WL("trunc", 16 * MiB, 0, setup_trunc, body_trunc) },
	{ WL("names", 16 * MiB, 0, setup_names, body_names) },
	{ WL("dirgrow", 16 * MiB, 0, setup_dirgrow, body_dirgrow) },
	{ WL("split", 16 * MiB, 0, setup_split, body_split) },
	{ WL("relaxed", 16 * MiB, UMFS_MOUNT_RELAXED, setup_relaxed, body_relaxed) },
	{ WL("fallback", 8 * MiB, 0, setup_fallback, body_fallback) },
	{ WL("bigcow", 32 * MiB, 0, setup_bigcow, body_bigcow), .jslot = 24 * KiB },
	{ WL("pageswap", 16 * MiB, 0, setup_pageswap, body_pageswap) },
	{ WL("pageswap-full", 8 * MiB, 0, setup_fallback, body_pageswap_full) },
	{ WL("inline", 16 * MiB, 0, setup_inline, body_inline) },
	{ WL("level4", 32 * MiB, 0, setup_level4, body_level4) },
	{ WL("random", 32 * MiB, 0, setup_random, body_random), .seed = 1 },
	{ WL("random-smalljournal", 64 * MiB, 0, setup_random, body_random), .seed = 2,
	  .jslot = 24 * KiB },
};

const size_t crash_nworkloads = UMFS_ARRAY_SIZE(crash_workloads);
