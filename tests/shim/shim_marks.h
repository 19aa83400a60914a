/* SPDX-License-Identifier: MIT */
/*
 * shim_marks.h - what the large-mapping tests (shim_mapsync, shim_mapdrop)
 * share: a page's mark of a round at its start, a value 8 bytes in, a
 * clock and a random sequence.
 */
#ifndef SHIM_MARKS_H
#define SHIM_MARKS_H

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define VALUE_AT 8u

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Round round's mark of page page: both readable back from it. */
static inline uint32_t mark(uint32_t round, uint32_t page)
{
	return round << 20 | page;
}

static inline uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The test's start: FILE made MIB MiB long (*len, *pages), and an
 * anonymous area shared with its children, of head bytes and a 32-bit
 * counter per page, in *sh. The file's descriptor, or -1 (said). */
static inline int marks_setup(const char *file, const char *mib, size_t head, size_t *len,
			      uint32_t *pages, void **sh)
{
	int fd;

	*len = (size_t)atoi(mib) << 20;
	*pages = (uint32_t)(*len / PAGE);
	*sh = mmap(NULL, head + *pages * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (*sh == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t)*len) != 0) {
		perror(file);
		return -1;
	}
	return fd;
}

/* Reads random pages of fd until *stop: the mark and the value of each
 * may only grow, and the mark is one stored there (0: none yet), of a
 * round up to *top if top is given. 0, 1 on a page gone back, 2 on a
 * failed call. */
static inline int marks_read(int fd, _Atomic int *stop, _Atomic uint32_t *top, uint32_t pages)
{
	uint32_t *seen = calloc(pages, 2 * sizeof(uint32_t));
	uint64_t seed = 0x2545f4914f6cdd1dull;
	uint32_t word[3];

	if (!seen)
		return 2;
	while (!atomic_load(stop)) {
		uint32_t p = (uint32_t)(next_rand(&seed) % pages), most;

		if (pread(fd, word, sizeof(word), (off_t)p * PAGE) != sizeof(word))
			return 2;
		most = top ? atomic_load(top) : UINT32_MAX; /* after: it may move on */
		if ((word[0] && ((word[0] & 0xfffff) != p || word[0] >> 20 > most)) ||
		    word[0] < seen[2 * p] || word[2] < seen[2 * p + 1]) {
			fprintf(stderr, "page %u went back: mark %#x after %#x, value %u after %u\n",
				p, word[0], seen[2 * p], word[2], seen[2 * p + 1]);
			return 1;
		}
		seen[2 * p] = word[0];
		seen[2 * p + 1] = word[2];
	}
	free(seen);
	return 0;
}

#endif
