/* SPDX-License-Identifier: MIT */
/*
 * shim_mapsync.c - msync of a large shared mapping while other processes
 * write and read the same file.
 *
 *   shim_mapsync FILE MIB ROUNDS
 *
 * Maps FILE (MIB MiB) shared and, each round, stores the round's mark at
 * the start of every page, then msyncs it all. Meanwhile a writer child
 * pwrites increasing values 8 bytes into random pages, and a reader child
 * preads random pages: in each page the mark and the writer's value may
 * only grow, and a mark must be one this program stored there. Under
 * libumfs an msync writes the mapping's stores back chunk by chunk, and
 * lets other processes' calls in between chunks: no writer's value may be
 * lost to a chunk written back after it, and no reader may see a page go
 * back. A thread of the mapping process reads as the reader child does,
 * so that the msync's pauses meet its own process's calls too. After the unmap the file must hold the last round's marks and
 * each page's last written value. Prints "ROUNDS LONGEST_MSYNC_MS"; exits
 * 1 on a lost or backward byte, 2 on a failed call.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim_marks.h"


struct shared {
	_Atomic int stop;
	_Atomic uint32_t round; /* the round whose marks are being stored */
	_Atomic uint32_t last[]; /* per page: the writer's last value written */
};

static void writer(int fd, struct shared *sh, uint32_t pages)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (uint32_t v = 1; !atomic_load(&sh->stop); v++) {
		uint32_t p = (uint32_t)(next_rand(&seed) % pages);

		if (pwrite(fd, &v, sizeof(v), (off_t)p * PAGE + VALUE_AT) != sizeof(v))
			_exit(2);
		atomic_store(&sh->last[p], v);
	}
	_exit(0);
}

static void reader(int fd, struct shared *sh, uint32_t pages)
{
	_exit(marks_read(fd, &sh->stop, &sh->round, pages));
}

struct reading {
	int fd, rc;
	struct shared *sh;
	uint32_t pages;
};

static void *read_thread(void *arg)
{
	struct reading *r = arg;

	r->rc = marks_read(r->fd, &r->sh->stop, &r->sh->round, r->pages);
	return NULL;
}

int main(int argc, char **argv)
{
	uint32_t pages, rounds, bad = 0;
	struct reading own;
	struct shared *sh;
	pthread_t thread;
	double worst = 0;
	pid_t kid[2];
	size_t len;
	char *m;
	int fd, st, rc = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE MIB ROUNDS\n", argv[0]);
		return 2;
	}
	rounds = (uint32_t)atoi(argv[3]);
	fd = marks_setup(argv[1], argv[2], sizeof(*sh), &len, &pages, (void **)&sh);
	if (fd < 0)
		return 2;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	own = (struct reading){ .fd = fd, .sh = sh, .pages = pages };
	for (int k = 0; k < 2; k++) {
		kid[k] = fork();
		if (kid[k] == 0)
			(k ? reader : writer)(fd, sh, pages);
	}
	if (pthread_create(&thread, NULL, read_thread, &own)) {
		perror("pthread_create");
		return 2;
	}
	for (uint32_t r = 1; r <= rounds; r++) {
		double t;

		atomic_store(&sh->round, r);
		for (uint32_t p = 0; p < pages; p++)
			memcpy(m + (size_t)p * PAGE, &(uint32_t){ mark(r, p) }, sizeof(uint32_t));
		t = now_ms();
		if (msync(m, len, MS_SYNC) != 0) {
			perror("msync");
			return 2;
		}
		t = now_ms() - t;
		worst = t > worst ? t : worst;
	}
	atomic_store(&sh->stop, 1);
	pthread_join(thread, NULL);
	rc = own.rc;
	for (int k = 0; k < 2; k++)
		if (waitpid(kid[k], &st, 0) != kid[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
	munmap(m, len);
	for (uint32_t p = 0; p < pages; p++) {
		uint32_t word[3];

		if (pread(fd, word, sizeof(word), (off_t)p * PAGE) != sizeof(word))
			return 2;
		if (word[0] != mark(rounds, p) || word[2] != atomic_load(&sh->last[p])) {
			if (!bad++)
				fprintf(stderr, "page %u: mark %#x, value %u; want %#x, %u\n", p,
					word[0], word[2], mark(rounds, p), atomic_load(&sh->last[p]));
		}
	}
	close(fd);
	printf("%u %.0f\n", rounds, worst);
	if (bad)
		fprintf(stderr, "%u pages lost a store or a write\n", bad);
	return bad ? 1 : rc;
}
