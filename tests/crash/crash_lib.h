/* SPDX-License-Identifier: MIT */
/*
 * crash_lib.h - shared by the crash-consistency tests: recording every flush
 * and fence of the persistence layer, materialising the pool image a crash
 * would leave, checking an image (recovery, fsck, free-space recount), and
 * dumping the namespace through the public API for comparison.
 */
#ifndef UMFS_CRASH_LIB_H
#define UMFS_CRASH_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* ------------------------------------------------------------------ */
/* Recording                                                            */
/* ------------------------------------------------------------------ */

#define REC_FLUSH 1u
#define REC_FENCE 2u

/* One event. A flush is recorded per cache line, with the line's bytes at
 * the moment of the flush (what a write-back would carry). */
struct rec_event {
	uint32_t kind;
	uint32_t line;  /* REC_FLUSH: index of the bytes in rec->lines */
	uint64_t off;   /* REC_FLUSH: pool offset of the line */
};

struct recorder {
	const uint8_t *base; /* the mapping recorded */
	size_t len;
	struct rec_event *ev;
	size_t nev, cap_ev;
	uint8_t *lines;      /* 64 bytes per flushed line */
	size_t nlines, cap_lines;
	size_t nfences;
	struct umfs_persist_hook hook;
};

void rec_init(struct recorder *r, const void *base, size_t len);
void rec_start(struct recorder *r); /* installs the hook */
void rec_stop(void);                /* removes any hook */
void rec_free(struct recorder *r);
/* Applies the flush event e to image img. */
void rec_apply(const struct recorder *r, size_t e, uint8_t *img);

/* ------------------------------------------------------------------ */
/* Images                                                               */
/* ------------------------------------------------------------------ */

/* A pool image in a memfd: "cur" is the shared mapping that events are
 * applied to; checks run on private (copy-on-write) views of it. */
struct image {
	int fd;
	size_t len;
	uint8_t *cur;
};

int image_init(struct image *im, const void *initial, size_t len);
void image_free(struct image *im);
/* A private copy-on-write view of the current image. */
uint8_t *image_view(const struct image *im);
void image_view_free(const struct image *im, uint8_t *view);

/* ------------------------------------------------------------------ */
/* Namespace dumps                                                      */
/* ------------------------------------------------------------------ */

/* One line per name, sorted by path: "path<TAB>attrs<TAB>content". */
struct dump {
	char **line;
	size_t n, cap;
};

int dump_take(struct umfs_fs *fs, struct dump *d);
void dump_free(struct dump *d);
bool dump_equal(const struct dump *a, const struct dump *b);
/* Equal except for the line of path, which only has to exist in both. */
bool dump_equal_except(const struct dump *a, const struct dump *b, const char *path);
/* Describes the first difference (for messages). */
void dump_diff(const struct dump *a, const struct dump *b, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

/* Result of mounting a view: the fs is returned mounted (bound to the view)
 * for the caller's checks; check_finish() unmounts and runs fsck. */
int check_mount(uint8_t *view, size_t len, unsigned flags, struct umfs_fs **fs, char *why,
		size_t whylen);
/* statfs against a recount of the pages live inodes own. 0 or -1 with why. */
int check_space(struct umfs_fs *fs, char *why, size_t whylen);
/* Unmounts, then fsck -n -f on the view: 0 when clean, -1 with why. */
int check_finish(struct umfs_fs *fs, uint8_t *view, size_t len, char *why, size_t whylen);
/* fsck -n -f on a crash image (the view is left as fsck repaired it): 0
 * when it finds crash state only (exit 0, no damage), -1 with why. */
int check_crash_only(uint8_t *view, size_t len, char *why, size_t whylen);
/* fsck -y on the view: the fsck exit code. */
int check_repair(uint8_t *view, size_t len);

/* Scratch pools on /dev/shm (or UMFS_TEST_DIR). */
int pool_create(char *path, size_t pathlen, const char *tag, uint64_t size, uint32_t sbflags);

uint64_t xrand(uint64_t *s);
void fill_pattern(void *buf, size_t len, uint64_t seed);
double now_sec(void);

#endif
