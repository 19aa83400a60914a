/* SPDX-License-Identifier: MIT */
/*
 * shim_mapwrite.c - a write that follows a store through a shared mapping
 * wins, even when it meets the mapping's last unmap. Under libumfs the
 * last unmap writes the mapping's stores back into the file (the bytes
 * where the host file differs from its base): a write of the same bytes
 * that comes meanwhile must still be seen after, as on the kernel, whose
 * page cache took the store first and the write after it.
 *
 *   shim_mapwrite FILE SECONDS
 *
 * Round after round, a mapper maps the file (16 MiB) shared, stores its
 * round's mark near the end (where the write-back comes last), says so,
 * and unmaps at once; a writer, told of the store, writes its own mark
 * over the same bytes, so that its write lands before, during or after
 * the write-back. Then the file must hold the writer's mark. Meanwhile a
 * scribbler writes blocks of the file's first half throughout, so that its
 * writes meet each mapping's copy of the file as it is made: paused once
 * the mapping is there, the mapping must hold exactly the file's bytes.
 * Beside them a fourth process writes a file of its own throughout, which
 * no mapping touches. Prints the rounds; exits 1 at the first round whose
 * write was lost or whose mapping differs from the file, 2 on a failed
 * call.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE (16u << 20)
#define MARK (SIZE - 4096 + 8) /* the 8 bytes both change */

struct turn {
	_Atomic uint64_t stored;  /* the round whose store is made */
	_Atomic uint64_t written; /* the round whose write is done */
	_Atomic int pause, paused; /* the scribbler asked to stop a while; stopped */
	_Atomic int stop;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Waits until *word reaches want (or stop): false on stop. */
static int wait_for(_Atomic uint64_t *word, uint64_t want, struct turn *t)
{
	while (atomic_load(word) < want) {
		if (atomic_load(&t->stop))
			return 0;
		sched_yield();
	}
	return 1;
}

static int writer(const char *path, struct turn *t)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		die(path);
	for (uint64_t r = 1; wait_for(&t->stored, r, t); r++) {
		uint64_t mark = 2 * r + 2;

		if (pwrite(fd, &mark, sizeof(mark), MARK) != sizeof(mark))
			die("pwrite");
		atomic_store(&t->written, r);
	}
	return 0;
}

/* Writes 4 KiB blocks of the file's first half, each its own count, until
 * told to pause (and says it has), or to stop. */
static int scribbler(const char *path, struct turn *t)
{
	char buf[4096];
	unsigned seed = 7;
	long n = 0;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		die(path);
	while (!atomic_load(&t->stop)) {
		if (atomic_load(&t->pause)) {
			atomic_store(&t->paused, 1);
			while (atomic_load(&t->pause) && !atomic_load(&t->stop))
				sched_yield();
			atomic_store(&t->paused, 0);
			continue;
		}
		memset(buf, 'A' + (int)(n % 26), sizeof(buf));
		memcpy(buf, &n, sizeof(n));
		if (pwrite(fd, buf, sizeof(buf), (off_t)(rand_r(&seed) % (SIZE / 2 / 4096)) * 4096) !=
		    sizeof(buf))
			die("scribbler");
		n++;
	}
	printf("scribbler: %ld writes\n", n);
	return 0;
}

/* Whether the mapping p holds the file's first half, the scribbler paused. */
static int mapping_check(int fd, const char *p, uint64_t r, struct turn *t)
{
	static char file[SIZE / 2];
	int bad = 0;

	atomic_store(&t->pause, 1);
	while (!atomic_load(&t->paused))
		sched_yield();
	if (pread(fd, file, sizeof(file), 0) != (ssize_t)sizeof(file))
		die("pread");
	for (size_t i = 0; i < sizeof(file); i++) {
		if (p[i] != file[i]) {
			fprintf(stderr, "shim_mapwrite: round %llu: the mapping has 0x%02x at %zu, "
				"the file 0x%02x\n", (unsigned long long)r, (unsigned char)p[i], i,
				(unsigned char)file[i]);
			bad = 1;
			break;
		}
	}
	atomic_store(&t->pause, 0);
	return bad;
}

/* Writes a file of its own throughout: its writes go on beside the
 * mapper's, and read back as written. */
static int bystander(const char *path, struct turn *t)
{
	char name[4096], buf[4096], got[4096];
	int fd;
	long n = 0;

	snprintf(name, sizeof(name), "%s.other", path);
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(name);
	while (!atomic_load(&t->stop)) {
		memset(buf, 'a' + (int)(n % 26), sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (n % 64) * 4096) != sizeof(buf) ||
		    pread(fd, got, sizeof(got), (n % 64) * 4096) != sizeof(got))
			die("bystander");
		if (memcmp(buf, got, sizeof(buf)) != 0) {
			fprintf(stderr, "shim_mapwrite: the other file lost a write\n");
			return 1;
		}
		n++;
	}
	printf("bystander: %ld writes\n", n);
	unlink(name);
	return 0;
}

int main(int argc, char **argv)
{
	struct turn *t;
	pid_t kids[3];
	double end;
	uint64_t r;
	int fd, st, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: shim_mapwrite FILE SECONDS\n");
		return 2;
	}
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		die("mmap");
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, SIZE) < 0)
		die(argv[1]);
	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			die("fork");
		if (kids[k] == 0) {
			int rc;

			alarm((unsigned)atof(argv[2]) + 60); /* a hang fails */
			rc = k == 0 ? writer(argv[1], t) : k == 1 ? bystander(argv[1], t)
							   : scribbler(argv[1], t);
			fflush(stdout);
			_exit(rc);
		}
	}
	end = now() + atof(argv[2]);
	for (r = 1; now() < end && !bad; r++) {
		uint64_t mark = 2 * r + 1, got = 0;
		char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			die("mmap shared");
		memcpy(p + MARK, &mark, sizeof(mark));
		bad = mapping_check(fd, p, r, t);
		atomic_store(&t->stored, r);
		if (munmap(p, SIZE) < 0)
			die("munmap");
		if (!wait_for(&t->written, r, t))
			break;
		if (pread(fd, &got, sizeof(got), MARK) != sizeof(got))
			die("pread");
		if (got != 2 * r + 2) {
			fprintf(stderr, "shim_mapwrite: round %llu: the file has %llu, the write "
				"after the store wrote %llu\n", (unsigned long long)r,
				(unsigned long long)got, (unsigned long long)(2 * r + 2));
			bad = 1;
		}
	}
	atomic_store(&t->stop, 1);
	for (int k = 0; k < 3; k++)
		if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	printf("mapper: %llu rounds\n", (unsigned long long)(r - 1));
	return bad;
}
