/* SPDX-License-Identifier: MIT */
/*
 * shim_cancel DIR mount|busy ROUNDS - threads cancelled with
 * pthread_cancel() while they make file calls in DIR; the process must go
 * on working.
 *
 * mount: the process's first call in DIR is made by a thread cancelled as
 * it starts (on UMFS: the call that mounts the pool); the main thread then
 * creates, writes, reads back and removes a file there.
 *
 * busy: WORKERS threads loop over creates, writes, reads, syncs, record
 * locks (F_SETLKW), renames, stats and unlinks in DIR, nothing else; the
 * main thread cancels one at a random moment, joins it and starts another,
 * ROUNDS times. Each worker counts the calls it has finished; a round
 * whose worker finished none did not test anything, so at least half of
 * the rounds must cancel a worker that had. Then the main thread does the
 * same checks as in mount.
 *
 * Each cancellation is deferred, so it is acted on only at a cancellation
 * point: the calls open, read, write, pread, pwrite, fsync, fcntl F_SETLKW
 * and close are such points, as in the C library. Every wait is bounded
 * (alarm): a thread unwound inside the library with one of its locks held
 * shows as a hang. Prints "ok" or what went wrong; exits 1 on failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define HANG_SECONDS 60

static const char *dir;
static _Atomic unsigned long done[WORKERS];

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of DIR written, read back and removed: the library still works. */
static void check_works(void)
{
	char name[4096], buf[8192], back[8192];
	int fd;

	snprintf(name, sizeof(name), "%s/check.%d", dir, (int)getpid());
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open after the cancellations");
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		fail("write after the cancellations");
	if (pread(fd, back, sizeof(back), 0) != (ssize_t)sizeof(back) ||
	    memcmp(buf, back, sizeof(buf)) != 0)
		fail("read back after the cancellations");
	if (close(fd) != 0 || unlink(name) != 0)
		fail("close and unlink after the cancellations");
}

static void *first_call(void *arg)
{
	char name[4096];
	int fd;

	(void)arg;
	snprintf(name, sizeof(name), "%s/first.%d", dir, (int)getpid());
	fd = open(name, O_CREAT | O_RDWR, 0644);
	if (fd >= 0) {
		(void)write(fd, "x", 1);
		close(fd);
	}
	return NULL;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	char a[4096], b[4096], buf[4096];
	struct stat st;

	memset(buf, 'a' + id, sizeof(buf));
	for (unsigned long i = 0;; i++) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
		int fd;

		snprintf(a, sizeof(a), "%s/w%d.%lu", dir, id, i % 4);
		snprintf(b, sizeof(b), "%s/w%d.%lu.moved", dir, id, i % 4);
		fd = open(a, O_CREAT | O_RDWR | O_TRUNC, 0644);
		if (fd < 0)
			continue;
		(void)write(fd, buf, sizeof(buf));
		(void)pwrite(fd, buf, 100, 50);
		(void)pread(fd, buf, sizeof(buf), 0);
		(void)fsync(fd);
		(void)fcntl(fd, F_SETLKW, &l);
		l.l_type = F_UNLCK;
		(void)fcntl(fd, F_SETLK, &l);
		(void)close(fd);
		(void)rename(a, b);
		(void)stat(b, &st);
		(void)unlink(b);
		atomic_fetch_add(&done[id], 1);
	}
	return NULL;
}

static int run_busy(int rounds)
{
	pthread_t t[WORKERS];
	unsigned seed = (unsigned)getpid();
	int tested = 0;

	for (int k = 0; k < WORKERS; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k) != 0)
			fail("pthread_create");
	for (int r = 0; r < rounds; r++) {
		int k = (int)(rand_r(&seed) % WORKERS);
		struct timespec pause = { 0, (long)(rand_r(&seed) % 2000) * 1000 };
		void *res;

		nanosleep(&pause, NULL);
		if (atomic_load(&done[k]) > 0)
			tested++;
		pthread_cancel(t[k]);
		if (pthread_join(t[k], &res) != 0 || res != PTHREAD_CANCELED) {
			printf("FAIL round %d: worker %d was not cancelled\n", r, k);
			return 1;
		}
		atomic_store(&done[k], 0);
		if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k) != 0)
			fail("pthread_create");
	}
	for (int k = 0; k < WORKERS; k++) {
		pthread_cancel(t[k]);
		pthread_join(t[k], NULL);
	}
	if (tested * 2 < rounds) {
		printf("FAIL only %d of %d rounds cancelled a worker that had done its calls\n",
		       tested, rounds);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: shim_cancel DIR mount|busy [ROUNDS]\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(HANG_SECONDS);
	if (strcmp(argv[2], "mount") == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, first_call, NULL) != 0)
			fail("pthread_create");
		pthread_cancel(t);
		pthread_join(t, NULL);
	} else if (run_busy(argc > 3 ? atoi(argv[3]) : 100) != 0) {
		return 1;
	}
	check_works();
	printf("ok\n");
	return 0;
}
