/* SPDX-License-Identifier: MIT */
/*
 * shim_threads.c - threads on UMFS files at once: each thread writes,
 * reads back and checks its own file, while all of them also pwrite and
 * pread disjoint blocks of one shared file, and stat, open and close in
 * between.
 *
 *   shim_threads DIR [THREADS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 4096
#define ROUNDS 300

static const char *dir;
static int shared_fd;
static _Atomic int failures;

static void fill(char *b, int thread, int round)
{
	for (int i = 0; i < BLOCK; i++)
		b[i] = (char)(thread * 31 + round * 7 + i);
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	char path[4096], w[BLOCK], r[BLOCK];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/thread-%d", dir, t);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) {
		failures++;
		return NULL;
	}
	for (int i = 0; i < ROUNDS; i++) {
		fill(w, t, i);
		if (write(fd, w, BLOCK) != BLOCK)
			failures++;
		if (pwrite(shared_fd, w, BLOCK, ((off_t)i * 64 + t) * BLOCK) != BLOCK)
			failures++;
		if (i % 16 == 0) {
			int f2 = open(path, O_RDONLY);

			if (f2 < 0 || fstat(f2, &st) < 0 || st.st_size != (off_t)(i + 1) * BLOCK)
				failures++;
			close(f2);
		}
	}
	for (int i = 0; i < ROUNDS; i++) {
		fill(w, t, i);
		if (pread(fd, r, BLOCK, (off_t)i * BLOCK) != BLOCK || memcmp(w, r, BLOCK))
			failures++;
	}
	close(fd);
	if (unlink(path) < 0)
		failures++;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 8;
	pthread_t th[64];
	char path[4096], w[BLOCK], r[BLOCK];

	if (argc < 2 || n < 1 || n > 64) {
		fprintf(stderr, "usage: shim_threads DIR [THREADS<=64]\n");
		return 2;
	}
	dir = argv[1];
	snprintf(path, sizeof(path), "%s/shared", dir);
	shared_fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (shared_fd < 0) {
		perror("open shared");
		return 1;
	}
	for (int t = 0; t < n; t++)
		pthread_create(&th[t], NULL, worker, (void *)(long)t);
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < n; t++) {
		for (int i = 0; i < ROUNDS; i++) {
			fill(w, t, i);
			if (pread(shared_fd, r, BLOCK, ((off_t)i * 64 + t) * BLOCK) != BLOCK ||
			    memcmp(w, r, BLOCK))
				failures++;
		}
	}
	close(shared_fd);
	unlink(path);
	printf("threads: %d threads, %d failures\n", n, (int)failures);
	return failures ? 1 : 0;
}
