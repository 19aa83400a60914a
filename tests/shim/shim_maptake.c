/* SPDX-License-Identifier: MIT */
/*
 * shim_maptake.c - the parts of a take-over test (maptake.sh): a mapper
 * whose last unmap is cut short, a second mapper that takes its host file
 * over, and a check of the file afterwards. Each page's first 8 bytes
 * hold a mark: a round number times 2^32 plus the page's index.
 *
 *   shim_maptake store FILE MIB ROUND   map, store ROUND's mark on every
 *                                       page, unmap
 *   shim_maptake join FILE MIB OLD ROUND NEW
 *                                       map; every page must hold OLD's
 *                                       mark, or every page ROUND's; store
 *                                       NEW's on every 7th page, unmap
 *   shim_maptake check FILE MIB OLD ROUND NEW
 *                                       read: the same, but every 7th page
 *                                       may hold NEW's mark instead
 *
 * join and check print the round every page holds and how many hold NEW's
 * mark. Exits 1 when a page holds anything else (it prints the first), 2
 * on a failed call.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

static uint64_t mark_of(uint64_t round, size_t page)
{
	return round << 32 | page;
}

static int fail(const char *what)
{
	perror(what);
	return 2;
}

/* Page i holds v: the round all pages hold so far in *all (0: none
 * seen yet), which must be old or round; every 7th may hold fresh's
 * (fresh_ok), counted in *held. */
static int page_check(size_t i, uint64_t v, uint64_t old, uint64_t round, uint64_t fresh,
		      bool fresh_ok, uint64_t *all, size_t *held)
{
	if (fresh_ok && i % 7 == 0 && v == mark_of(fresh, i)) {
		(*held)++;
		return 0;
	}
	if (!*all && (v == mark_of(old, i) || v == mark_of(round, i)))
		*all = v >> 32;
	if (*all && v == mark_of(*all, i))
		return 0;
	fprintf(stderr, "page %zu holds %#" PRIx64 ", not round %" PRIu64 "'s mark\n", i, v,
		*all ? *all : round);
	return 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 4 ? argv[1] : "";
	bool store = !strcmp(mode, "store"), check = !strcmp(mode, "check");
	size_t size = argc > 4 ? strtoull(argv[3], NULL, 0) << 20 : 0, pages = size / PAGE;
	uint64_t old = argc > 4 ? strtoull(argv[4], NULL, 0) : 0;
	uint64_t round = argc > 6 ? strtoull(argv[5], NULL, 0) : old;
	uint64_t fresh = argc > 6 ? strtoull(argv[6], NULL, 0) : 0, all = 0;
	size_t held = 0;
	char *p;
	int fd, err = 0;

	if (!size || (!store && argc < 7)) {
		fprintf(stderr, "usage: shim_maptake store FILE MIB ROUND\n"
				"       shim_maptake join|check FILE MIB OLD ROUND NEW\n");
		return 2;
	}
	fd = open(argv[2], check ? O_RDONLY : O_RDWR | O_CREAT, 0644);
	if (fd < 0 || (store && ftruncate(fd, (off_t)size) < 0))
		return fail(argv[2]);
	if (check) {
		for (size_t i = 0; i < pages && !err; i++) {
			uint64_t v;

			if (pread(fd, &v, sizeof(v), (off_t)(i * PAGE)) != sizeof(v))
				return fail("pread");
			err = page_check(i, v, old, round, fresh, true, &all, &held);
		}
		if (!err)
			printf("%" PRIu64 " %zu\n", all, held);
		return err;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	for (size_t i = 0; i < pages && !err; i++) {
		uint64_t *at = (uint64_t *)(p + i * PAGE);

		if (store)
			*at = mark_of(old, i);
		else
			err = page_check(i, *at, old, round, fresh, false, &all, &held);
	}
	if (err)
		return err;
	if (!store) {
		for (size_t i = 0; i < pages; i += 7)
			*(uint64_t *)(p + i * PAGE) = mark_of(fresh, i);
		printf("%" PRIu64 " 0\n", all);
	}
	if (munmap(p, size) < 0)
		return fail("munmap");
	return close(fd) < 0 ? fail("close") : 0;
}
