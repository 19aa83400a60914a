/* SPDX-License-Identifier: MIT */
/*
 * durable.c - linked into libumfs-durable.so only (tests/shim/meson.build):
 * libumfs.so's code over the test variant of the core, whose persistence
 * hook (core/testhooks.h) is set here to keep, in the file named by
 * UMFS_TEST_DURABLE, the pool as a power cut would leave it: the pool as it
 * was when the process started, with each cache line the core flushed (or
 * wrote through the pool's descriptor) copied in, as it was then, once a
 * fence follows. The file is a shared mapping, so it holds that image
 * whenever the process dies, SIGKILL included.
 *
 * The pool must be clean and unused when the process starts (what it holds
 * then is taken as durable); one process per image.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "shim.h"
#include "testhooks.h"

#define LINE 64u

struct pending_line {
	uint64_t off;
	uint8_t bytes[LINE];
};

static pthread_mutex_t durable_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *image;         /* the durable image, UMFS_TEST_DURABLE mapped */
static size_t image_len;
static dev_t pool_dev;
static ino_t pool_ino;
static const uint8_t *pool_base; /* the pool's writable mapping, once found */
static struct pending_line *pending; /* flushed since the last fence */
static size_t npending, cap_pending;

static void durable_die(const char *what)
{
	fprintf(stderr, "libumfs-durable: %s\n", what);
	abort();
}

/* The start of this process's writable shared mapping of the pool, from
 * /proc/self/maps ("START-END rw-s OFF MAJ:MIN INO PATH"). */
static const uint8_t *pool_mapping(void)
{
	static char buf[1 << 16];
	int fd = SYS(open)("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		durable_die("cannot read /proc/self/maps");
	while ((n = SYS(read)(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	SYS(close)(fd);
	buf[len] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		char perms[8];

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &off, &maj,
			   &min, &ino) == 7 &&
		    !strcmp(perms, "rw-s") && off == 0 && ino == pool_ino &&
		    makedev(maj, min) == pool_dev && end - start >= image_len)
			return (const uint8_t *)(uintptr_t)start;
	}
	return NULL;
}

/* The hook's flush: the lines of [addr, addr + len) inside the pool, with
 * their bytes now, wait for the next fence. */
static void durable_flush(void *arg, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, first = a & ~(uintptr_t)(LINE - 1);

	(void)arg;
	if (len == 0)
		return;
	pthread_mutex_lock(&durable_lock);
	if (!pool_base)
		pool_base = pool_mapping();
	for (uintptr_t l = first; pool_base && l < a + len; l += LINE) {
		struct pending_line *p;

		if (l < (uintptr_t)pool_base || l + LINE > (uintptr_t)pool_base + image_len)
			continue; /* not the pool: the core flushes nothing else */
		if (npending == cap_pending) {
			cap_pending = cap_pending ? 2 * cap_pending : 4096;
			pending = realloc(pending, cap_pending * sizeof(*pending));
			if (!pending)
				durable_die("out of memory");
		}
		p = &pending[npending++];
		p->off = l - (uintptr_t)pool_base;
		memcpy(p->bytes, (const void *)l, LINE);
	}
	pthread_mutex_unlock(&durable_lock);
}

/* The hook's fence: what was flushed before it is durable. */
static void durable_drain(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&durable_lock);
	for (size_t i = 0; i < npending; i++)
		memcpy(image + pending[i].off, pending[i].bytes, LINE);
	npending = 0;
	pthread_mutex_unlock(&durable_lock);
}

static const struct umfs_persist_hook durable_hook = {
	.flush = durable_flush,
	.drain = durable_drain,
};

__attribute__((constructor)) static void durable_init(void)
{
	const char *out = getenv("UMFS_TEST_DURABLE"), *pool = getenv("UMFS_POOL");
	struct stat st;
	void *src;
	int pfd, ofd;

	if (!out || !pool)
		return;
	pfd = SYS(open)(pool, O_RDONLY | O_CLOEXEC, 0);
	if (pfd < 0 || SYS(fstat)(pfd, &st) != 0)
		durable_die("cannot open UMFS_POOL");
	pool_dev = st.st_dev;
	pool_ino = st.st_ino;
	image_len = (size_t)st.st_size;
	ofd = SYS(open)(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd < 0 || SYS(ftruncate)(ofd, (off_t)image_len) != 0)
		durable_die("cannot make UMFS_TEST_DURABLE");
	image = SYS(mmap)(NULL, image_len, PROT_READ | PROT_WRITE, MAP_SHARED, ofd, 0);
	src = SYS(mmap)(NULL, image_len, PROT_READ, MAP_SHARED, pfd, 0);
	if (image == MAP_FAILED || src == MAP_FAILED)
		durable_die("cannot map the pool or the image");
	memcpy(image, src, image_len); /* a clean pool: all of it durable */
	SYS(munmap)(src, image_len);
	SYS(close)(pfd);
	SYS(close)(ofd);
	umfs_persist_hook_set(&durable_hook);
}
