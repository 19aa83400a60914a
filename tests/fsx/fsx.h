/* SPDX-License-Identifier: MIT */
/*
 * fsx.h - what the parts of umfs_fsx share. umfs_fsx applies a seeded
 * random sequence of data operations to one file with plain POSIX calls
 * and checks every result against an in-memory model of the file
 * (fsx_model.c), which knows nothing of the file system under test.
 *
 *   fsx_main.c   options, the seeded generator, the loop
 *   fsx_model.c  the model: bytes, size, and what bytes past EOF may hold
 *   fsx_ops.c    the operations: arguments, the call, the model's answer
 *   fsx_check.c  comparisons, whole-file checks, the history and the report
 */
#ifndef UMFS_FSX_H
#define UMFS_FSX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/types.h>

#define FSX_PAGE 4096ULL
#define FSX_HUGE (2ULL << 20)
#define FSX_HISTORY 30

/* functions, not macros: arguments are often random draws */
static inline uint64_t MIN(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t MAX(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * The model of one file. Past size, data is all zeros: what the file must
 * show when its end moves over those bytes. The one exception Linux keeps
 * on tmpfs: bytes stored through a shared mapping into the last page past
 * EOF survive an extension there; such a byte is "wild" and may read as
 * either zero or the value stored (alt).
 */
struct model {
	uint8_t *data;
	uint8_t *wild;
	uint8_t *alt;
	uint64_t size;
	uint64_t cap;		/* bytes allocated: the largest size plus a page */
};

/* Which fallocate modes the file system under test refuses (EOPNOTSUPP). */
enum {
	REFUSE_ZERO = 1,	/* FALLOC_FL_ZERO_RANGE (tmpfs); emulated then */
	REFUSE_COLLAPSE = 2,
	REFUSE_INSERT = 4,
};

struct fsx {
	const char *path;	/* the file under test */
	char *src_path;		/* the second file, source of copies */
	int fd, src_fd;
	uint64_t pos;		/* the model's file offset of fd */
	uint64_t max;		/* largest size an operation may make */
	uint64_t seed, rng;
	unsigned long op, ops;	/* current operation number, how many */
	unsigned full_every;	/* whole-file checks every this many operations */
	unsigned refuse;	/* REFUSE_* */
	bool use_mmap;
	bool verbose;
	struct model m, src;

	/* a shared mapping held across operations (0: none) */
	uint8_t *hold;
	uint64_t hold_len;
	unsigned hold_left;	/* operations before it is unmapped */

	uint8_t *buf, *buf2;	/* scratch, max + a page each */

	/* figures for the summary */
	unsigned long count[64];
	unsigned long wild_seen_stored;	/* reads that showed a wild byte's stored value */
	unsigned long full_checks;
};

/* fsx_main.c */
uint64_t rnd(struct fsx *f);
uint64_t rnd_below(struct fsx *f, uint64_t n);	/* [0, n), 0 when n is 0 */
void rnd_fill(struct fsx *f, uint8_t *p, size_t n);

/* fsx_model.c */
int model_init(struct model *m, uint64_t max);
void model_write(struct model *m, uint64_t off, const uint8_t *p, uint64_t n);
void model_copy(struct model *m, const struct model *from, uint64_t soff, uint64_t doff,
		uint64_t n);
void model_truncate(struct model *m, uint64_t size);
void model_zero(struct model *m, uint64_t off, uint64_t end, bool keep_size);
void model_punch(struct model *m, uint64_t off, uint64_t end);
void model_extend(struct model *m, uint64_t end);
void model_store_past_eof(struct model *m, uint64_t off, const uint8_t *p, uint64_t n);
uint64_t model_readable(const struct model *m, uint64_t off, uint64_t n);
bool model_byte_ok(const struct model *m, uint64_t off, uint8_t v, bool *was_wild);

/* fsx_ops.c */
void op_run(struct fsx *f);
int fsx_open(struct fsx *f);
void hold_drop(struct fsx *f);
const char *op_name(unsigned k);	/* NULL past the last */

/* fsx_check.c */
void history_add(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void history_amend(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fsx_fail(struct fsx *f, int64_t bad_off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void expect_ret(struct fsx *f, const char *call, long got, int err, long want, int want_err);
void check_bytes(struct fsx *f, const char *how, const uint8_t *got, uint64_t off, uint64_t n);
void check_size(struct fsx *f);
void check_range(struct fsx *f, uint64_t a, uint64_t b);
void check_whole(struct fsx *f);
void check_src(struct fsx *f);

/* Accesses through a mapping are made between MAP_GUARD and MAP_UNGUARD: a
 * SIGBUS there (a page the file system says is past EOF) is a failure
 * reported with the history, not a crash. */
extern sigjmp_buf fsx_bus_jmp;
extern volatile sig_atomic_t fsx_bus_armed;
void fsx_bus_install(void);
#define MAP_GUARD(f, what)                                                       \
	do {                                                                     \
		if (sigsetjmp(fsx_bus_jmp, 1))                                   \
			fsx_fail((f), -1, "SIGBUS during %s", (what));           \
		fsx_bus_armed = 1;                                               \
	} while (0)
#define MAP_UNGUARD() (fsx_bus_armed = 0)

#endif
