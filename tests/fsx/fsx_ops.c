/* SPDX-License-Identifier: MIT */
/*
 * fsx_ops.c - the operations. Each picks its arguments, records itself in
 * the history, makes the call, checks the return value and errno against
 * what Linux documents, and applies itself to the model; op_run then
 * checks the size and the bytes around what changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fsx.h"

#define PG_DOWN(x) ((x) & ~(FSX_PAGE - 1))
#define PG_UP(x) (((x) + FSX_PAGE - 1) & ~(FSX_PAGE - 1))
#define ULL(x) ((unsigned long long)(x))

enum op {
	OP_READ, OP_PREAD, OP_READV, OP_WRITE, OP_PWRITE, OP_PWRITE_GAP, OP_WRITEV,
	OP_FTRUNCATE, OP_TRUNC_DOWN_UP, OP_TRUNCATE_PATH,
	OP_FALLOC, OP_FALLOC_KEEP, OP_PUNCH, OP_ZERO, OP_ZERO_KEEP, OP_COLLAPSE, OP_INSERT,
	OP_COPY_SELF, OP_COPY_SRC, OP_SRC_REWRITE,
	OP_MAP_READ, OP_MAP_WRITE, OP_MAP_TAIL, OP_MAP_HOLD, OP_MSYNC,
	OP_FSYNC, OP_REOPEN, OP_LSEEK, OP_BAD_CALL,
	OP_COUNT
};

static const struct {
	const char *name;
	unsigned weight;
	bool mmap;		/* needs --mmap */
} ops[OP_COUNT] = {
	[OP_READ] = { "read", 6 },
	[OP_PREAD] = { "pread", 8 },
	[OP_READV] = { "readv", 3 },
	[OP_WRITE] = { "write", 6 },
	[OP_PWRITE] = { "pwrite", 10 },
	[OP_PWRITE_GAP] = { "pwrite past EOF", 5 },
	[OP_WRITEV] = { "writev", 3 },
	[OP_FTRUNCATE] = { "ftruncate", 5 },
	[OP_TRUNC_DOWN_UP] = { "ftruncate down then up", 4 },
	[OP_TRUNCATE_PATH] = { "truncate", 2 },
	[OP_FALLOC] = { "fallocate 0", 3 },
	[OP_FALLOC_KEEP] = { "fallocate KEEP_SIZE", 3 },
	[OP_PUNCH] = { "fallocate PUNCH_HOLE", 4 },
	[OP_ZERO] = { "fallocate ZERO_RANGE", 4 },
	[OP_ZERO_KEEP] = { "fallocate ZERO_RANGE|KEEP_SIZE", 3 },
	[OP_COLLAPSE] = { "fallocate COLLAPSE_RANGE", 1 },
	[OP_INSERT] = { "fallocate INSERT_RANGE", 1 },
	[OP_COPY_SELF] = { "copy_file_range within", 4 },
	[OP_COPY_SRC] = { "copy_file_range from the second file", 3 },
	[OP_SRC_REWRITE] = { "second file rewritten", 1 },
	[OP_MAP_READ] = { "mmap read", 5, true },
	[OP_MAP_WRITE] = { "mmap store", 5, true },
	[OP_MAP_TAIL] = { "mmap store past EOF, then extend", 3, true },
	[OP_MAP_HOLD] = { "mapping held or dropped", 2, true },
	[OP_MSYNC] = { "msync", 2, true },
	[OP_FSYNC] = { "fsync", 2 },
	[OP_REOPEN] = { "close and reopen", 2 },
	[OP_LSEEK] = { "lseek", 2 },
	[OP_BAD_CALL] = { "a call that must fail", 2 },
};

/* what the operation changed, checked by op_run */
static uint64_t touch_a, touch_b;

static void touched(uint64_t a, uint64_t b)
{
	touch_a = MIN(touch_a, a);
	touch_b = MAX(touch_b, b);
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */
/* ------------------------------------------------------------------ */

/* Mostly small, sometimes large enough to cross 2 MiB regions. */
static uint64_t pick_len(struct fsx *f, uint64_t limit)
{
	uint64_t r = rnd_below(f, 100), n;

	if (r < 50)
		n = 1 + rnd_below(f, 2 * FSX_PAGE);
	else if (r < 85)
		n = 1 + rnd_below(f, 64 << 10);
	else if (r < 97)
		n = 1 + rnd_below(f, MAX(f->max / 4, 1));
	else
		n = 1 + rnd_below(f, f->max);
	if (rnd_below(f, 8) == 0)
		n = PG_UP(n); /* whole pages now and then */
	return MIN(n, limit);
}

/* An offset in [0, f->max): near EOF, near page and 2 MiB boundaries, or
 * anywhere. */
static uint64_t pick_off(struct fsx *f)
{
	uint64_t r = rnd_below(f, 100), off, around;

	if (r < 35) {
		off = rnd_below(f, f->max);
	} else if (r < 65) {
		around = f->m.size;
		off = around + rnd_below(f, 16 << 10);
		off = off > (8 << 10) ? off - (8 << 10) : 0;
	} else if (r < 78) {
		off = PG_DOWN(rnd_below(f, f->max));
	} else if (r < 88 && f->max > FSX_HUGE) {
		around = (1 + rnd_below(f, f->max / FSX_HUGE)) * FSX_HUGE;
		off = around + rnd_below(f, 16 << 10);
		off = off > (8 << 10) ? off - (8 << 10) : 0;
	} else {
		off = rnd_below(f, MAX(f->m.size, 1));
	}
	return MIN(off, f->max - 1);
}

/* A range [off, off + n) inside [0, f->max). */
static void pick_range(struct fsx *f, uint64_t *off, uint64_t *n)
{
	*off = pick_off(f);
	*n = pick_len(f, f->max - *off);
}

/* ------------------------------------------------------------------ */
/* Data                                                                 */
/* ------------------------------------------------------------------ */

/* Puts the descriptor's offset at off through lseek. */
static void seek_to(struct fsx *f, uint64_t off)
{
	off_t r = lseek(f->fd, (off_t)off, SEEK_SET);

	expect_ret(f, "lseek", (long)r, errno, (long)off, 0);
	f->pos = off;
}

/* read/pread/readv of a range, compared with the model */
static void do_read(struct fsx *f, enum op kind)
{
	uint64_t off, n, want;
	ssize_t r;

	pick_range(f, &off, &n);
	if (kind != OP_PREAD) {
		if (rnd_below(f, 2) || f->pos >= f->max)
			seek_to(f, off);
		off = f->pos;
		n = MIN(n, f->max - off);
	}
	want = model_readable(&f->m, off, n);
	history_add(f, "%s 0x%llx len 0x%llx (size 0x%llx)", ops[kind].name, ULL(off), ULL(n),
		    ULL(f->m.size));
	memset(f->buf, 0xee, n);
	if (kind == OP_PREAD) {
		r = pread(f->fd, f->buf, n, (off_t)off);
	} else if (kind == OP_READ) {
		r = read(f->fd, f->buf, n);
	} else {
		uint64_t cut = rnd_below(f, n + 1);
		struct iovec iov[2] = { { f->buf, cut }, { f->buf + cut, n - cut } };

		r = readv(f->fd, iov, 2);
	}
	expect_ret(f, ops[kind].name, (long)r, errno, (long)want, 0);
	check_bytes(f, ops[kind].name, f->buf, off, want);
	if (kind != OP_PREAD)
		f->pos += want;
}

static void do_write(struct fsx *f, enum op kind)
{
	uint64_t off, n;
	ssize_t r;

	pick_range(f, &off, &n);
	if (kind == OP_PWRITE_GAP) {
		off = MIN(f->m.size + 1 + rnd_below(f, 3 * FSX_PAGE), f->max - 1);
		n = MIN(n, f->max - off);
	}
	if (kind == OP_WRITE || kind == OP_WRITEV) {
		if (rnd_below(f, 2) || f->pos >= f->max)
			seek_to(f, off);
		off = f->pos;
		n = MIN(n, f->max - off);
	}
	rnd_fill(f, f->buf, n);
	history_add(f, "%s 0x%llx len 0x%llx (size 0x%llx)", ops[kind].name, ULL(off), ULL(n),
		    ULL(f->m.size));
	if (kind == OP_WRITE) {
		r = write(f->fd, f->buf, n);
	} else if (kind == OP_WRITEV) {
		uint64_t a = rnd_below(f, n + 1), b = a + rnd_below(f, n - a + 1);
		struct iovec iov[3] = { { f->buf, a }, { f->buf + a, b - a }, { f->buf + b, n - b } };

		r = writev(f->fd, iov, 3);
	} else {
		r = pwrite(f->fd, f->buf, n, (off_t)off);
	}
	expect_ret(f, ops[kind].name, (long)r, errno, (long)n, 0);
	touched(MIN(off, f->m.size), off + n);
	model_write(&f->m, off, f->buf, n);
	if (kind == OP_WRITE || kind == OP_WRITEV)
		f->pos += n;
}

/* ------------------------------------------------------------------ */
/* Size and space                                                       */
/* ------------------------------------------------------------------ */

static void truncate_to(struct fsx *f, uint64_t size, bool by_path)
{
	int r;

	history_amend(" %s 0x%llx", by_path ? "truncate" : "ftruncate", ULL(size));
	r = by_path ? truncate(f->path, (off_t)size) : ftruncate(f->fd, (off_t)size);
	expect_ret(f, by_path ? "truncate" : "ftruncate", r, errno, 0, 0);
	touched(MIN(size, f->m.size), MAX(size, f->m.size));
	model_truncate(&f->m, size);
}

static void do_truncate(struct fsx *f, enum op kind)
{
	uint64_t size = rnd_below(f, 4) ? pick_off(f) : rnd_below(f, f->max + 1);

	history_add(f, "%s (size 0x%llx):", ops[kind].name, ULL(f->m.size));
	if (kind != OP_TRUNC_DOWN_UP) {
		truncate_to(f, size, kind == OP_TRUNCATE_PATH);
		return;
	}
	/* down into the middle of a page, then up past where it was */
	size = f->m.size ? rnd_below(f, f->m.size) : 0;
	if (size % FSX_PAGE == 0 && size + 1 < f->m.size)
		size += 1 + rnd_below(f, MIN(FSX_PAGE - 1, f->m.size - size - 1));
	truncate_to(f, size, false);
	check_size(f);
	check_range(f, PG_DOWN(size), size);
	size = MIN(f->max, size + 1 + rnd_below(f, rnd_below(f, 4) ? 3 * FSX_PAGE : f->max));
	truncate_to(f, size, rnd_below(f, 4) == 0);
}

static int falloc(struct fsx *f, int mode, uint64_t off, uint64_t len)
{
	return fallocate(f->fd, mode, (off_t)off, (off_t)len);
}

static void do_fallocate(struct fsx *f, enum op kind)
{
	static const int modes[OP_COUNT] = {
		[OP_FALLOC] = 0,
		[OP_FALLOC_KEEP] = FALLOC_FL_KEEP_SIZE,
		[OP_PUNCH] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		[OP_ZERO] = FALLOC_FL_ZERO_RANGE,
		[OP_ZERO_KEEP] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	int mode = modes[kind], r;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	uint64_t off, n, end;

	pick_range(f, &off, &n);
	end = off + n;
	history_add(f, "%s 0x%llx len 0x%llx (size 0x%llx)", ops[kind].name, ULL(off), ULL(n),
		    ULL(f->m.size));
	r = falloc(f, mode, off, n);
	if ((mode & FALLOC_FL_ZERO_RANGE) && (f->refuse & REFUSE_ZERO)) {
		/* the file system says it cannot: so be it, and the model's zero
		 * range is still checked, as a punch and an extension */
		expect_ret(f, ops[kind].name, r, errno, -1, EOPNOTSUPP);
		history_amend(" = EOPNOTSUPP; punch, then fallocate 0 if it grows");
		r = falloc(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n);
		if (!r && !keep && end > f->m.size)
			r = falloc(f, 0, off, n);
	}
	expect_ret(f, ops[kind].name, r, errno, 0, 0);
	switch (kind) {
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
		touched(MIN(off, f->m.size), MIN(end, f->m.size));
		if (!keep) {
			touched(f->m.size, end);
			model_extend(&f->m, end);
		}
		break;
	case OP_PUNCH:
		touched(off, end);
		model_punch(&f->m, off, end);
		break;
	default:
		touched(MIN(off, f->m.size), end);
		model_zero(&f->m, off, end, keep);
		break;
	}
}

/* Neither tmpfs nor UMFS shifts ranges: the answer must be EOPNOTSUPP. */
static void do_shift(struct fsx *f, enum op kind)
{
	int mode = kind == OP_COLLAPSE ? FALLOC_FL_COLLAPSE_RANGE : FALLOC_FL_INSERT_RANGE;
	bool refused = f->refuse & (kind == OP_COLLAPSE ? REFUSE_COLLAPSE : REFUSE_INSERT);
	uint64_t off = PG_DOWN(rnd_below(f, MAX(f->m.size / 2, 1))), n = FSX_PAGE;
	int r;

	history_add(f, "%s 0x%llx len 0x%llx (size 0x%llx)", ops[kind].name, ULL(off), ULL(n),
		    ULL(f->m.size));
	r = falloc(f, mode, off, n);
	if (!refused)
		fsx_fail(f, -1, "%s is not modelled: run with --refuse collapse,insert", ops[kind].name);
	expect_ret(f, ops[kind].name, r, errno, -1, EOPNOTSUPP);
}

/* ------------------------------------------------------------------ */
/* Copies                                                               */
/* ------------------------------------------------------------------ */

static void copy_expect(struct fsx *f, const char *what, int in, struct model *from,
			uint64_t soff, uint64_t doff, uint64_t n)
{
	uint64_t want = model_readable(from, soff, n);
	loff_t si = (loff_t)soff, di = (loff_t)doff;
	ssize_t r;

	history_add(f, "%s 0x%llx -> 0x%llx len 0x%llx (size 0x%llx)", what, ULL(soff),
		    ULL(doff), ULL(n), ULL(f->m.size));
	r = copy_file_range(in, &si, f->fd, &di, n, 0);
	expect_ret(f, what, (long)r, errno, (long)want, 0);
	if ((uint64_t)si != soff + want || (uint64_t)di != doff + want)
		fsx_fail(f, -1, "%s moved the offsets to 0x%llx and 0x%llx", what, ULL(si), ULL(di));
	if (want) {
		touched(MIN(doff, f->m.size), doff + want);
		model_copy(&f->m, from, soff, doff, want);
	}
}

static void do_copy(struct fsx *f, enum op kind)
{
	uint64_t soff, doff, n, count, tries;

	if (kind == OP_COPY_SRC) {
		soff = rnd_below(f, f->src.size + FSX_PAGE);
		pick_range(f, &doff, &n);
		copy_expect(f, ops[kind].name, f->src_fd, &f->src, soff, doff, n);
		return;
	}
	/* Linux cuts the count at the source's EOF, then refuses ranges that
	 * overlap (EINVAL, an operation of its own) */
	for (tries = 0; tries < 8; tries++) {
		soff = rnd_below(f, f->m.size + FSX_PAGE);
		pick_range(f, &doff, &n);
		count = model_readable(&f->m, soff, n);
		if (!(doff < soff + count && soff < doff + count))
			break;
	}
	if (tries < 8)
		copy_expect(f, ops[kind].name, f->fd, &f->m, soff, doff, n);
}

/* The second file gets new contents and size. */
static void do_src_rewrite(struct fsx *f)
{
	uint64_t size = rnd_below(f, f->max / 2 + 1);

	history_add(f, "%s: size 0x%llx", ops[OP_SRC_REWRITE].name, ULL(size));
	rnd_fill(f, f->src.data, size);
	if (pwrite(f->src_fd, f->src.data, size, 0) != (ssize_t)size ||
	    ftruncate(f->src_fd, (off_t)size) != 0)
		fsx_fail(f, -1, "rewriting the second file: %s", strerror(errno));
	memset(f->src.data + size, 0, f->src.cap - size);
	f->src.size = size;
	check_src(f);
}

/* ------------------------------------------------------------------ */
/* Mappings                                                             */
/* ------------------------------------------------------------------ */

void hold_drop(struct fsx *f)
{
	if (!f->hold)
		return;
	if (munmap(f->hold, f->hold_len) != 0)
		fsx_fail(f, -1, "munmap of the held mapping: %s", strerror(errno));
	f->hold = NULL;
	f->hold_len = 0;
}

/* A mapping that shows [0, *len): the held one, or a fresh one of the
 * whole file (rounded up to pages). NULL when the file is empty. */
static uint8_t *map_get(struct fsx *f, uint64_t *len, bool *fresh)
{
	uint64_t want = PG_UP(f->m.size);
	uint8_t *p;

	*fresh = false;
	if (want == 0)
		return NULL;
	if (f->hold && rnd_below(f, 4)) {
		*len = MIN(f->hold_len, want);
		history_amend(" (held mapping of 0x%llx)", ULL(f->hold_len));
		return f->hold;
	}
	p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		fsx_fail(f, -1, "mmap of 0x%llx: %s", ULL(want), strerror(errno));
	*fresh = true;
	*len = want;
	return p;
}

static void map_put(struct fsx *f, uint8_t *p, uint64_t len, bool fresh)
{
	if (fresh && munmap(p, len) != 0)
		fsx_fail(f, -1, "munmap: %s", strerror(errno));
}

static void do_map_read(struct fsx *f)
{
	uint64_t len, off, n;
	bool fresh;
	uint8_t *p;

	history_add(f, "%s (size 0x%llx)", ops[OP_MAP_READ].name, ULL(f->m.size));
	p = map_get(f, &len, &fresh);
	if (!p)
		return;
	off = rnd_below(f, 3) ? rnd_below(f, len) : PG_DOWN(len - 1) + rnd_below(f, FSX_PAGE);
	n = 1 + rnd_below(f, MIN(len - off, rnd_below(f, 4) ? 4 * FSX_PAGE : len));
	history_amend(" 0x%llx len 0x%llx", ULL(off), ULL(n));
	MAP_GUARD(f, "a read through a mapping");
	memcpy(f->buf, p + off, n);
	MAP_UNGUARD();
	check_bytes(f, "mmap read", f->buf, off, n);
	map_put(f, p, len, fresh);
}

static void do_map_write(struct fsx *f)
{
	uint64_t len, off, n;
	bool fresh;
	uint8_t *p;

	history_add(f, "%s (size 0x%llx)", ops[OP_MAP_WRITE].name, ULL(f->m.size));
	p = map_get(f, &len, &fresh);
	if (!p)
		return;
	len = MIN(len, f->m.size);
	off = rnd_below(f, len);
	n = 1 + rnd_below(f, MIN(len - off, rnd_below(f, 4) ? 4 * FSX_PAGE : len));
	rnd_fill(f, f->buf, n);
	history_amend(" 0x%llx len 0x%llx", ULL(off), ULL(n));
	MAP_GUARD(f, "a store through a mapping");
	memcpy(p + off, f->buf, n);
	MAP_UNGUARD();
	if (rnd_below(f, 2) && msync(p + PG_DOWN(off), off + n - PG_DOWN(off), MS_SYNC) != 0)
		fsx_fail(f, -1, "msync: %s", strerror(errno));
	map_put(f, p, len, fresh);
	touched(off, off + n);
	model_write(&f->m, off, f->buf, n);
}

/* Stores into the last page past EOF, then (mostly) an extension over
 * them: zeros, or on tmpfs the bytes stored, which Linux keeps there. */
static void do_map_tail(struct fsx *f)
{
	uint64_t size = f->m.size, len, off, n, ext;
	bool fresh;
	uint8_t *p;
	int r;

	history_add(f, "%s (size 0x%llx)", ops[OP_MAP_TAIL].name, ULL(size));
	if (size % FSX_PAGE == 0)
		return;
	p = map_get(f, &len, &fresh);
	if (len < PG_UP(size)) {
		map_put(f, p, len, fresh);
		return;
	}
	off = size + rnd_below(f, PG_UP(size) - size);
	n = 1 + rnd_below(f, PG_UP(size) - off);
	rnd_fill(f, f->buf, n);
	history_amend(" 0x%llx len 0x%llx", ULL(off), ULL(n));
	MAP_GUARD(f, "a store past EOF through a mapping");
	memcpy(p + off, f->buf, n);
	MAP_UNGUARD();
	model_store_past_eof(&f->m, off, f->buf, n);
	if (rnd_below(f, 2))
		msync(p + PG_DOWN(off), FSX_PAGE, MS_SYNC);
	map_put(f, p, len, fresh);
	touched(size, PG_UP(size));
	if (rnd_below(f, 4) == 0 || PG_UP(size) + FSX_PAGE > f->max)
		return;
	ext = PG_UP(size) + rnd_below(f, MIN(3 * FSX_PAGE, f->max - PG_UP(size)));
	switch (rnd_below(f, 4)) {
	case 0:
		truncate_to(f, ext + 1, false);
		break;
	case 1:
		history_amend(" pwrite 1 at 0x%llx", ULL(ext));
		r = (int)pwrite(f->fd, "x", 1, (off_t)ext);
		expect_ret(f, "pwrite", r, errno, 1, 0);
		model_write(&f->m, ext, (const uint8_t *)"x", 1);
		break;
	case 2:
		history_amend(" fallocate 0 to 0x%llx", ULL(ext + 1));
		r = falloc(f, 0, ext, 1);
		expect_ret(f, "fallocate", r, errno, 0, 0);
		model_extend(&f->m, ext + 1);
		break;
	default:
		history_amend(" ZERO_RANGE to 0x%llx", ULL(ext + 1));
		r = falloc(f, FALLOC_FL_ZERO_RANGE, ext, 1);
		if (f->refuse & REFUSE_ZERO) {
			expect_ret(f, "fallocate ZERO_RANGE", r, errno, -1, EOPNOTSUPP);
			r = falloc(f, 0, ext, 1);
		}
		expect_ret(f, "fallocate ZERO_RANGE", r, errno, 0, 0);
		model_zero(&f->m, ext, ext + 1, false);
		break;
	}
	touched(size, ext + 1);
}

static void do_map_hold(struct fsx *f)
{
	uint64_t len = PG_UP(f->m.size);

	if (f->hold) {
		history_add(f, "held mapping dropped");
		hold_drop(f);
		return;
	}
	history_add(f, "mapping of 0x%llx held", ULL(len));
	if (len == 0)
		return;
	f->hold = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->hold == MAP_FAILED)
		fsx_fail(f, -1, "mmap of 0x%llx: %s", ULL(len), strerror(errno));
	f->hold_len = len;
	f->hold_left = 1 + (unsigned)rnd_below(f, 60);
}

static void do_msync(struct fsx *f)
{
	uint64_t len;
	bool fresh;
	uint8_t *p;

	history_add(f, "msync (size 0x%llx)", ULL(f->m.size));
	p = map_get(f, &len, &fresh);
	if (!p)
		return;
	if (msync(p, len, rnd_below(f, 2) ? MS_SYNC : MS_ASYNC) != 0)
		fsx_fail(f, -1, "msync: %s", strerror(errno));
	map_put(f, p, len, fresh);
}

/* ------------------------------------------------------------------ */
/* Descriptors                                                          */
/* ------------------------------------------------------------------ */

int fsx_open(struct fsx *f)
{
	f->fd = open(f->path, O_RDWR);
	f->pos = 0;
	return f->fd < 0 ? -errno : 0;
}

static void do_reopen(struct fsx *f)
{
	int r;

	history_add(f, "close and reopen%s", f->hold ? " (a mapping held)" : "");
	if (close(f->fd) != 0)
		fsx_fail(f, -1, "close: %s", strerror(errno));
	r = fsx_open(f);
	if (r)
		fsx_fail(f, -1, "open %s: %s", f->path, strerror(-r));
}

static void do_fsync(struct fsx *f)
{
	bool data = rnd_below(f, 2);
	int r;

	history_add(f, "%s", data ? "fdatasync" : "fsync");
	r = data ? fdatasync(f->fd) : fsync(f->fd);
	expect_ret(f, data ? "fdatasync" : "fsync", r, errno, 0, 0);
}

static void do_lseek(struct fsx *f)
{
	uint64_t off = pick_off(f);
	off_t r;

	switch (rnd_below(f, 3)) {
	case 0:
		seek_to(f, off);
		history_add(f, "lseek SEEK_SET 0x%llx", ULL(off));
		return;
	case 1:
		history_add(f, "lseek SEEK_END (size 0x%llx)", ULL(f->m.size));
		r = lseek(f->fd, 0, SEEK_END);
		expect_ret(f, "lseek SEEK_END", (long)r, errno, (long)f->m.size, 0);
		f->pos = f->m.size;
		return;
	default:
		history_add(f, "lseek SEEK_CUR 0 (at 0x%llx)", ULL(f->pos));
		r = lseek(f->fd, 0, SEEK_CUR);
		expect_ret(f, "lseek SEEK_CUR", (long)r, errno, (long)f->pos, 0);
		return;
	}
}

/* Calls Linux refuses, with the errno it gives; the file must not change. */
static void do_bad_call(struct fsx *f)
{
	uint64_t off = rnd_below(f, MAX(f->m.size, 1));
	loff_t si, di;
	long r;

	switch (rnd_below(f, 5)) {
	case 0:
		history_add(f, "fallocate PUNCH_HOLE without KEEP_SIZE 0x%llx", ULL(off));
		r = falloc(f, FALLOC_FL_PUNCH_HOLE, off, FSX_PAGE);
		expect_ret(f, "fallocate PUNCH_HOLE", r, errno, -1, EOPNOTSUPP);
		break;
	case 1:
		history_add(f, "fallocate of length 0 at 0x%llx", ULL(off));
		r = falloc(f, 0, off, 0);
		expect_ret(f, "fallocate length 0", r, errno, -1, EINVAL);
		break;
	case 2:
		history_add(f, "pread at offset -1");
		r = pread(f->fd, f->buf, 16, -1);
		expect_ret(f, "pread at -1", r, errno, -1, EINVAL);
		break;
	case 3:
		history_add(f, "ftruncate to -1");
		r = ftruncate(f->fd, -1);
		expect_ret(f, "ftruncate -1", r, errno, -1, EINVAL);
		break;
	default:
		if (f->m.size < 2)
			return;
		/* overlapping copy within the file, overlap inside what exists */
		si = (loff_t)rnd_below(f, f->m.size - 1);
		di = si + 1 + (loff_t)rnd_below(f, f->m.size - (uint64_t)si - 1);
		history_add(f, "copy_file_range overlapping 0x%llx -> 0x%llx len 0x%llx", ULL(si),
			    ULL(di), ULL(f->m.size - (uint64_t)si));
		r = copy_file_range(f->fd, &si, f->fd, &di, f->m.size - (uint64_t)si, 0);
		expect_ret(f, "copy_file_range overlapping", r, errno, -1, EINVAL);
		break;
	}
}

/* ------------------------------------------------------------------ */

static enum op pick_op(struct fsx *f)
{
	unsigned total = 0, k, r;

	for (k = 0; k < OP_COUNT; k++)
		total += ops[k].mmap && !f->use_mmap ? 0 : ops[k].weight;
	r = (unsigned)rnd_below(f, total);
	for (k = 0; k < OP_COUNT; k++) {
		unsigned w = ops[k].mmap && !f->use_mmap ? 0 : ops[k].weight;

		if (r < w)
			break;
		r -= w;
	}
	return (enum op)k;
}

void op_run(struct fsx *f)
{
	enum op k = pick_op(f);
	uint64_t old = f->m.size;

	touch_a = UINT64_MAX;
	touch_b = 0;
	f->count[k]++;
	switch (k) {
	case OP_READ:
	case OP_PREAD:
	case OP_READV:
		do_read(f, k);
		break;
	case OP_WRITE:
	case OP_PWRITE:
	case OP_PWRITE_GAP:
	case OP_WRITEV:
		do_write(f, k);
		break;
	case OP_FTRUNCATE:
	case OP_TRUNC_DOWN_UP:
	case OP_TRUNCATE_PATH:
		do_truncate(f, k);
		break;
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
	case OP_PUNCH:
	case OP_ZERO:
	case OP_ZERO_KEEP:
		do_fallocate(f, k);
		break;
	case OP_COLLAPSE:
	case OP_INSERT:
		do_shift(f, k);
		break;
	case OP_COPY_SELF:
	case OP_COPY_SRC:
		do_copy(f, k);
		break;
	case OP_SRC_REWRITE:
		do_src_rewrite(f);
		break;
	case OP_MAP_READ:
		do_map_read(f);
		break;
	case OP_MAP_WRITE:
		do_map_write(f);
		break;
	case OP_MAP_TAIL:
		do_map_tail(f);
		break;
	case OP_MAP_HOLD:
		do_map_hold(f);
		break;
	case OP_MSYNC:
		do_msync(f);
		break;
	case OP_FSYNC:
		do_fsync(f);
		break;
	case OP_REOPEN:
		do_reopen(f);
		break;
	case OP_LSEEK:
		do_lseek(f);
		break;
	default:
		do_bad_call(f);
		break;
	}
	check_size(f);
	/* what changed, and the pages around the old and the new EOF */
	if (touch_a < touch_b)
		check_range(f, touch_a > FSX_PAGE ? PG_DOWN(touch_a) - FSX_PAGE : 0,
			    MIN(touch_b, touch_a + (4 << 20)) + FSX_PAGE);
	check_range(f, PG_DOWN(old), PG_DOWN(old) + 2 * FSX_PAGE);
	check_range(f, PG_DOWN(f->m.size) > FSX_PAGE ? PG_DOWN(f->m.size) - FSX_PAGE : 0,
		    f->m.size);
	if (f->hold && --f->hold_left == 0) {
		history_add(f, "held mapping dropped");
		hold_drop(f);
	}
}

const char *op_name(unsigned k)
{
	return k < OP_COUNT ? ops[k].name : NULL;
}
