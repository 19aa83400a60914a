/* SPDX-License-Identifier: MIT */
/*
 * umfs_fsx FILE [--ops N] [--seed S] [--size MAX] [--mmap] [--refuse LIST]
 *              [--full-every N] [-v]
 *
 * A randomized exerciser of one file: a seeded sequence of reads, writes
 * (also past EOF, leaving gaps), truncates, every fallocate mode,
 * copy_file_range within the file and from a second file (FILE.src),
 * stores and reads through shared mappings (--mmap), msync, fsync, close
 * and reopen; after every operation the return value and errno, the bytes
 * read, st_size and the bytes around what changed and around EOF are
 * checked against an in-memory model, and every --full-every operations
 * the whole file, through read and through a fresh mapping. The seed alone
 * decides the sequence: a failure prints it, the operation number, the
 * last operations and the first differing offset, and exits 1.
 *
 * --refuse LIST: the fallocate modes the file system answers with
 * EOPNOTSUPP (zero, collapse, insert; default collapse,insert). A refused
 * ZERO_RANGE must be refused every time, and is then done as a punch and
 * an extension, so that the model's zero range is still checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsx.h"

/* splitmix64: every value from the seed alone */
uint64_t rnd(struct fsx *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rnd_below(struct fsx *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

void rnd_fill(struct fsx *f, uint8_t *p, size_t n)
{
	uint64_t v = rnd(f);
	size_t i;

	/* a counter seeded per call: cheap, and no two writes look alike */
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((v >> (8 * (i & 7))) + (i >> 3) * 0x9d);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || end == s) {
		fprintf(stderr, "umfs_fsx: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static unsigned parse_refuse(const char *s)
{
	unsigned r = 0;
	char *copy = strdup(s), *save = NULL, *w;

	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "zero"))
			r |= REFUSE_ZERO;
		else if (!strcmp(w, "collapse"))
			r |= REFUSE_COLLAPSE;
		else if (!strcmp(w, "insert"))
			r |= REFUSE_INSERT;
		else if (strcmp(w, "none")) {
			fprintf(stderr, "umfs_fsx: --refuse: zero, collapse, insert or none\n");
			exit(2);
		}
	}
	free(copy);
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: umfs_fsx FILE [--ops N] [--seed S] [--size MAX] [--mmap] "
			"[--refuse zero,collapse,insert] [--full-every N] [-v]\n");
	exit(2);
}

static void setup(struct fsx *f)
{
	size_t n = strlen(f->path) + 5;
	uint64_t size;

	f->src_path = malloc(n);
	f->buf = malloc(f->max + FSX_PAGE);
	f->buf2 = malloc(f->max + FSX_PAGE);
	if (!f->src_path || !f->buf || !f->buf2 || model_init(&f->m, f->max) ||
	    model_init(&f->src, f->max)) {
		fprintf(stderr, "umfs_fsx: out of memory\n");
		exit(2);
	}
	snprintf(f->src_path, n, "%s.src", f->path);
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	f->src_fd = open(f->src_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (f->fd < 0 || f->src_fd < 0) {
		fprintf(stderr, "umfs_fsx: %s: %s\n", f->fd < 0 ? f->path : f->src_path,
			strerror(errno));
		exit(2);
	}
	size = rnd_below(f, f->max / 2 + 1);
	rnd_fill(f, f->src.data, size);
	if (pwrite(f->src_fd, f->src.data, size, 0) != (ssize_t)size) {
		fprintf(stderr, "umfs_fsx: %s: %s\n", f->src_path, strerror(errno));
		exit(2);
	}
	f->src.size = size;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "mmap", no_argument, NULL, 'm' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "full-every", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsx fx = {
		.ops = 10000, .max = 256 << 10, .full_every = 256,
		.refuse = REFUSE_COLLAPSE | REFUSE_INSERT,
	}, *f = &fx;
	struct timespec t0, t1;
	int c, r;
	unsigned k;

	f->seed = (uint64_t)time(NULL);
	while ((c = getopt_long(argc, argv, "n:s:S:mr:F:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': f->ops = (unsigned long)parse_size(optarg); break;
		case 's': f->seed = strtoull(optarg, NULL, 0); break;
		case 'S': f->max = parse_size(optarg); break;
		case 'm': f->use_mmap = true; break;
		case 'r': f->refuse = parse_refuse(optarg); break;
		case 'F': f->full_every = (unsigned)parse_size(optarg); break;
		case 'v': f->verbose = true; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || f->max < 2 * FSX_PAGE || !f->full_every)
		usage();
	f->path = argv[optind];
	f->rng = f->seed;
	fsx_bus_install();
	setup(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (f->op = 1; f->op <= f->ops; f->op++) {
		op_run(f);
		if (f->op % f->full_every == 0)
			check_whole(f);
	}
	f->op = f->ops;
	history_add(f, "the end: whole-file checks, close, reopen, check again");
	check_whole(f);
	check_src(f);
	hold_drop(f);
	if (close(f->fd) != 0 || (r = fsx_open(f)) != 0)
		fsx_fail(f, -1, "close and reopen at the end: %s", strerror(errno));
	check_whole(f);
	close(f->fd);
	close(f->src_fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("umfs_fsx: %s: %lu operations, seed %llu, size up to %llu: ok in %.1f s "
	       "(%lu whole-file checks; bytes stored through a mapping past EOF "
	       "read back as stored, not zero: %lu)\n",
	       f->path, f->ops, (unsigned long long)f->seed, (unsigned long long)f->max,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       f->full_checks, f->wild_seen_stored);
	if (f->verbose)
		for (k = 0; op_name(k); k++)
			printf("  %8lu %s\n", f->count[k], op_name(k));
	return 0;
}
