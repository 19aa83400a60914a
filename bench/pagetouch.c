/* SPDX-License-Identifier: MIT */
/*
 * pagetouch - what a process pays for the first touch of a page it maps,
 * the cost under every pool page a short process reads.
 *
 * Makes a file of MIB MiB in DIR (a tmpfs: its pages in the page cache,
 * as a pool's are), then maps it shared afresh for each way of touching
 * it and times the pass:
 *   every 64 KiB  one load per 64 KiB: one fault, which maps the cached
 *                 pages around it (fault-around, 64 KiB by default);
 *   every page    one load per 4 KiB page;
 *   populated     MADV_POPULATE_READ of the whole mapping, then every page;
 *   again         every page a second time, in the same mapping;
 *   writable map  every page of a mapping that may also store (as the
 *                 pool's is), loads only;
 * and, for comparison, one store per page of fresh anonymous memory (a
 * fault and a zeroed page each). Prints microseconds per touch. On a VM
 * whose host shadows the guest's page tables, "every page" costs several
 * times "again" although the guest takes a fault only per 64 KiB.
 *
 *   pagetouch DIR [MIB]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

#define PAGE 4096ul
#define AROUND (64ul << 10)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Loads one byte every step bytes of [p, p + len): seconds taken. */
static double touch(const volatile char *p, size_t len, size_t step)
{
	double t0 = now();
	char sink = 0;

	for (size_t off = 0; off < len; off += step)
		sink ^= p[off];
	(void)sink;
	return now() - t0;
}

static char *map(int fd, size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		perror("pagetouch: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	size_t len = (argc > 2 ? strtoul(argv[2], NULL, 0) : 64) << 20;
	char path[4096], *buf = malloc(1 << 20), *p;
	double t, pages = (double)len / PAGE;
	int fd;

	if (argc < 2 || !buf || len == 0) {
		fprintf(stderr, "usage: pagetouch DIR [MIB]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/pagetouch.XXXXXX", argv[1]);
	fd = mkstemp(path);
	if (fd < 0) {
		perror("pagetouch: mkstemp");
		return 1;
	}
	unlink(path);
	memset(buf, 0x5a, 1 << 20);
	for (size_t off = 0; off < len; off += 1 << 20)
		if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20) {
			perror("pagetouch: pwrite");
			return 1;
		}

	p = map(fd, len, PROT_READ);
	t = touch(p, len, AROUND);
	printf("every 64 KiB   %6.2f us a touch (a fault mapping 64 KiB)\n", t * 1e6 / (double)(len / AROUND));
	munmap(p, len);

	p = map(fd, len, PROT_READ);
	t = touch(p, len, PAGE);
	printf("every page     %6.2f us a page\n", t * 1e6 / pages);
	t = touch(p, len, PAGE);
	printf("again          %6.2f us a page\n", t * 1e6 / pages);
	munmap(p, len);

	p = map(fd, len, PROT_READ | PROT_WRITE);
	t = touch(p, len, PAGE);
	printf("writable map   %6.2f us a page (every page, loads only)\n", t * 1e6 / pages);
	munmap(p, len);

	p = map(fd, len, PROT_READ);
	t = now();
	if (madvise(p, len, MADV_POPULATE_READ))
		perror("pagetouch: MADV_POPULATE_READ");
	t = now() - t + touch(p, len, PAGE);
	printf("populated      %6.2f us a page (the populate and the touch)\n", t * 1e6 / pages);
	munmap(p, len);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("pagetouch: mmap");
		return 1;
	}
	t = now();
	for (size_t off = 0; off < len; off += PAGE)
		((volatile char *)p)[off] = 1;
	printf("anonymous      %6.2f us a page (a store: a fault, a zeroed page)\n",
	       (now() - t) * 1e6 / pages);
	munmap(p, len);
	close(fd);
	free(buf);
	return 0;
}
