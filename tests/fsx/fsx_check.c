/* SPDX-License-Identifier: MIT */
/*
 * fsx_check.c - comparing the file with the model, and the report of a
 * mismatch: the seed, the operation number, the last FSX_HISTORY
 * operations, the first offset that differs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsx.h"

#define HIST_LINE 200

static char hist[FSX_HISTORY][HIST_LINE];
static unsigned long hist_op[FSX_HISTORY];
static unsigned long hist_count;
static char detail[512];	/* the bytes around a difference, for the report */

sigjmp_buf fsx_bus_jmp;
volatile sig_atomic_t fsx_bus_armed;

static void on_sigbus(int sig)
{
	if (fsx_bus_armed) {
		fsx_bus_armed = 0;
		siglongjmp(fsx_bus_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void fsx_bus_install(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

void history_add(struct fsx *f, const char *fmt, ...)
{
	unsigned i = hist_count++ % FSX_HISTORY;
	va_list ap;

	hist_op[i] = f->op;
	va_start(ap, fmt);
	vsnprintf(hist[i], HIST_LINE, fmt, ap);
	va_end(ap);
	if (f->verbose)
		fprintf(stderr, "%lu %s\n", f->op, hist[i]);
}

/* Appends to the latest entry (a result, a step of a compound operation). */
void history_amend(const char *fmt, ...)
{
	unsigned i = (hist_count + FSX_HISTORY - 1) % FSX_HISTORY;
	size_t len = strlen(hist[i]);
	va_list ap;

	if (!hist_count || len >= HIST_LINE - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(hist[i] + len, HIST_LINE - len, fmt, ap);
	va_end(ap);
}

_Noreturn void fsx_fail(struct fsx *f, int64_t bad_off, const char *fmt, ...)
{
	unsigned long first = hist_count > FSX_HISTORY ? hist_count - FSX_HISTORY : 0, n;
	va_list ap;

	fsx_bus_armed = 0;
	fflush(stdout);
	fprintf(stderr, "umfs_fsx: FAIL %s: seed %llu, operation %lu of %lu: ", f->path,
		(unsigned long long)f->seed, f->op, f->ops);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (bad_off >= 0)
		fprintf(stderr, "umfs_fsx: first differing offset 0x%llx (model size 0x%llx)\n",
			(unsigned long long)bad_off, (unsigned long long)f->m.size);
	fputs(detail, stderr);
	fprintf(stderr, "umfs_fsx: the last %lu operations:\n", hist_count - first);
	for (n = first; n < hist_count; n++)
		fprintf(stderr, "  %6lu %s\n", hist_op[n % FSX_HISTORY], hist[n % FSX_HISTORY]);
	fprintf(stderr, "umfs_fsx: replay: umfs_fsx FILE --seed %llu --ops %lu --size %llu%s "
			"--refuse none%s%s%s --full-every %u -v\n",
		(unsigned long long)f->seed, f->op, (unsigned long long)f->max,
		f->use_mmap ? " --mmap" : "", f->refuse & REFUSE_ZERO ? ",zero" : "",
		f->refuse & REFUSE_COLLAPSE ? ",collapse" : "",
		f->refuse & REFUSE_INSERT ? ",insert" : "", f->full_every);
	exit(1);
}

void expect_ret(struct fsx *f, const char *call, long got, int err, long want, int want_err)
{
	if (want < 0 && got == -1 && err == want_err)
		return;
	if (want >= 0 && got == want)
		return;
	if (want < 0)
		fsx_fail(f, -1, "%s returned %ld (%s), expected -1 (%s)", call, got,
			 got < 0 ? strerror(err) : "no error", strerror(want_err));
	fsx_fail(f, -1, "%s returned %ld%s%s, expected %ld", call, got,
		 got < 0 ? ": " : "", got < 0 ? strerror(err) : "", want);
}

static void dump_around(const struct fsx *f, const uint8_t *got, uint64_t off, uint64_t i,
			uint64_t n)
{
	uint64_t a = i >= 8 ? i - 8 : 0, b = i + 8 < n ? i + 8 : n, k;
	size_t len = 0;
	bool wild = false;

#define ADD(...) (len += (size_t)snprintf(detail + len, sizeof(detail) - len, __VA_ARGS__))
	ADD("umfs_fsx: at 0x%llx: expected", (unsigned long long)(off + a));
	for (k = a; k < b; k++) {
		ADD(" %02x%s", f->m.data[off + k], f->m.wild[off + k] ? "*" : "");
		wild |= f->m.wild[off + k];
	}
	ADD("\numfs_fsx: at 0x%llx: got     ", (unsigned long long)(off + a));
	for (k = a; k < b; k++)
		ADD(" %02x%s", got[k], f->m.wild[off + k] ? " " : "");
	if (wild)
		ADD("\numfs_fsx: (*: stored through a mapping past EOF; may read as stored)");
	ADD("\n");
#undef ADD
}

void check_bytes(struct fsx *f, const char *how, const uint8_t *got, uint64_t off, uint64_t n)
{
	uint64_t i;
	bool wild;

	if (memcmp(got, f->m.data + off, n) == 0) {
		return;
	}
	for (i = 0; i < n; i++) {
		if (model_byte_ok(&f->m, off + i, got[i], &wild)) {
			if (wild && got[i] != f->m.data[off + i])
				f->wild_seen_stored++;
			continue;
		}
		dump_around(f, got, off, i, n);
		fsx_fail(f, (int64_t)(off + i), "%s [0x%llx, 0x%llx) differs from the model", how,
			 (unsigned long long)off, (unsigned long long)(off + n));
	}
}

void check_size(struct fsx *f)
{
	struct stat st;

	if (fstat(f->fd, &st) != 0)
		fsx_fail(f, -1, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != f->m.size)
		fsx_fail(f, (int64_t)f->m.size, "st_size is 0x%llx, the model says 0x%llx",
			 (unsigned long long)st.st_size, (unsigned long long)f->m.size);
}

/* pread of [a, b) (clipped to EOF), in pieces of at most 1 MiB */
static void read_check(struct fsx *f, uint64_t a, uint64_t b)
{
	while (a < b) {
		size_t n = b - a > (1u << 20) ? (1u << 20) : b - a;
		ssize_t r = pread(f->fd, f->buf2, n, (off_t)a);

		if (r != (ssize_t)n)
			fsx_fail(f, (int64_t)a, "pread of %zu at 0x%llx for a check returned %zd%s%s",
				 n, (unsigned long long)a, r, r < 0 ? ": " : "",
				 r < 0 ? strerror(errno) : "");
		check_bytes(f, "pread (check)", f->buf2, a, n);
		a += n;
	}
}

void check_range(struct fsx *f, uint64_t a, uint64_t b)
{
	if (b > f->m.size)
		b = f->m.size;
	if (a < b)
		read_check(f, a, b);
}

static void check_mapped(struct fsx *f)
{
	uint64_t len = (f->m.size + FSX_PAGE - 1) & ~(FSX_PAGE - 1);
	uint8_t *p;

	if (len == 0)
		return;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		fsx_fail(f, -1, "mmap of 0x%llx bytes for a check: %s", (unsigned long long)len,
			 strerror(errno));
	MAP_GUARD(f, "a whole-file check through a fresh mapping");
	memcpy(f->buf2, p, len);
	MAP_UNGUARD();
	munmap(p, len);
	/* the tail of the last page past EOF too: zeros, as Linux maps it */
	check_bytes(f, "a fresh mapping", f->buf2, 0, len);
}

void check_whole(struct fsx *f)
{
	ssize_t r;

	f->full_checks++;
	check_size(f);
	read_check(f, 0, f->m.size);
	r = pread(f->fd, f->buf2, 1, (off_t)f->m.size);
	if (r != 0)
		fsx_fail(f, (int64_t)f->m.size, "pread at EOF returned %zd, expected 0", r);
	if (f->use_mmap)
		check_mapped(f);
}

void check_src(struct fsx *f)
{
	struct stat st;
	ssize_t r;

	if (fstat(f->src_fd, &st) != 0 || (uint64_t)st.st_size != f->src.size)
		fsx_fail(f, -1, "the second file's size is %lld, its model says %llu",
			 (long long)st.st_size, (unsigned long long)f->src.size);
	r = pread(f->src_fd, f->buf2, f->src.size, 0);
	if (r != (ssize_t)f->src.size || memcmp(f->buf2, f->src.data, f->src.size) != 0)
		fsx_fail(f, -1, "the second file differs from its model");
}
