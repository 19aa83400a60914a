/* SPDX-License-Identifier: MIT */
/*
 * shim_mapdrop.c - a large shared mapping let go of while other processes
 * map, read and write the same file.
 *
 *   shim_mapdrop FILE MIB ROUNDS [stop]
 *
 * Each round the program maps FILE (MIB MiB) shared, checks that every
 * page holds at least the previous round's mark, stores the round's mark
 * at the start of every page and unmaps: the last unmap writes the stores
 * back. Meanwhile, once each unmap has begun, a joiner child maps the
 * file (after a random pause, so as to meet the write-back anywhere),
 * checks that its pages hold at least the marks of the last round stored
 * before it mapped, stores increasing values 8 bytes into a few pages of
 * its own mapping (on most turns) and unmaps; a reader child preads random
 * pages,
 * whose mark and value may only grow. Under libumfs a last unmap writes
 * back chunk by chunk and lets other processes in between chunks: a
 * mapping made meanwhile must see the stores not yet back, and none may
 * be lost, whoever finishes the write-back. At the end the file must hold
 * the last round's marks and each page's last stored value. With stop,
 * most turns of the joiner stop the parent and a helper of its own
 * in turn amid their write-backs (join_stopped). Prints
 * "ROUNDS LONGEST_MUNMAP_MS JOINS"; exits 1 on a missing or backward
 * byte, 2 on a failed call.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim_marks.h"

#define JOIN_CHECKS 512u
#define JOIN_STORES 16u
#define HELPER_STORES 4096u

struct shared {
	_Atomic int stop;
	_Atomic uint32_t stored; /* the last round whose marks are all stored */
	_Atomic uint32_t dropping; /* the last round whose unmap has begun */
	_Atomic uint32_t dropped;  /* the last round whose unmap returned */
	_Atomic uint32_t go;       /* a joiner's helper may map */
	_Atomic int unmapping;     /* a joiner's helper is in its munmap */
	_Atomic uint32_t joins;
	_Atomic uint32_t last[]; /* per page: the joiner's last value stored */
};

/* Whether word (a page's mark) is page's mark of round at least least. */
static int mark_ok(uint32_t word, uint32_t page, uint32_t least)
{
	if (word == 0)
		return least == 0;
	return (word & 0xfffff) == page && word >> 20 >= least;
}

/* One mapping of the joiner: checks the marks, stores values (writable)
 * into stores pages and unmaps. */
static void join_once(int fd, struct shared *sh, uint32_t pages, size_t len, int prot,
		      uint32_t stores, uint64_t *seed, uint32_t *v)
{
	uint32_t least = atomic_load(&sh->stored);
	char *m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		_exit(2);
	for (uint32_t k = 0; k < JOIN_CHECKS; k++) {
		uint32_t p = k ? (uint32_t)(next_rand(seed) % pages) : pages - 1, word;

		memcpy(&word, m + (size_t)p * PAGE, sizeof(word));
		if (!mark_ok(word, p, least)) {
			fprintf(stderr, "joiner: page %u has mark %#x, round %u was stored\n", p,
				word, least);
			_exit(1);
		}
	}
	for (uint32_t k = 0; prot & PROT_WRITE && k < stores; k++) {
		uint32_t p = (uint32_t)(next_rand(seed) % pages);

		++*v;
		memcpy(m + (size_t)p * PAGE + VALUE_AT, v, sizeof(*v));
		atomic_store(&sh->last[p], *v);
	}
	atomic_store(&sh->unmapping, 1);
	if (munmap(m, len) != 0)
		_exit(2);
	atomic_fetch_add(&sh->joins, 1);
}

/* Waits up to ms milliseconds for *at to reach want. */
static void wait_for(_Atomic uint32_t *at, uint32_t want, int ms)
{
	for (int i = 0; i < 10 * ms && atomic_load(at) < want; i++)
		usleep(100);
}

/*
 * The parent's write-back stopped (SIGSTOP) wherever it is, a helper maps
 * the file, stores and unmaps, and is stopped in its own write-back; the
 * parent goes on and its unmap returns; then the helper goes on. A
 * write-back that went on after a mapping took its host file over, or
 * that freed the inode's slot while another's was under way, loses the
 * helper's stores. Every wait is bounded: stopped holding the lock, the
 * parent keeps the helper from mapping until it goes on. The helper is
 * forked first: a fork under libumfs may wait for the lock too.
 */
static void join_stopped(int fd, struct shared *sh, uint32_t pages, size_t len, uint32_t round,
			 uint64_t *seed, uint32_t *v)
{
	pid_t parent = getppid(), helper;
	int st;

	atomic_store(&sh->unmapping, 0);
	helper = fork();
	if (helper == 0) {
		wait_for(&sh->go, round, 10000);
		join_once(fd, sh, pages, len, PROT_READ | PROT_WRITE, HELPER_STORES, seed, v);
		_exit(0);
	}
	if (helper < 0)
		_exit(2);
	kill(parent, SIGSTOP);
	atomic_store(&sh->go, round);
	for (int i = 0; i < 3000 && !atomic_load(&sh->unmapping); i++)
		usleep(100);
	usleep((useconds_t)(next_rand(seed) % 30000));
	kill(helper, SIGSTOP);
	kill(parent, SIGCONT);
	wait_for(&sh->dropped, round, 500);
	kill(helper, SIGCONT);
	if (waitpid(helper, &st, 0) != helper || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
	*v += HELPER_STORES; /* the helper's values */
}

/* Once each unmap of the parent has begun, after a random pause, maps the
 * file one to four times in a row: each unmap but the last of them is
 * likely to find the parent's write-back still waiting for the lock. With
 * stopping, three rounds of four go as join_stopped says instead. */
static void joiner(int fd, struct shared *sh, uint32_t pages, size_t len, bool stopping)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint32_t v = 0, met = 0;

	for (uint32_t turn = 0;; turn++) {
		while (atomic_load(&sh->dropping) == met && !atomic_load(&sh->stop))
			usleep(100);
		if (atomic_load(&sh->stop))
			break;
		met = atomic_load(&sh->dropping);
		usleep((useconds_t)(next_rand(&seed) % (stopping ? 250000 : 300000)));
		if (stopping && turn % 4) {
			join_stopped(fd, sh, pages, len, met, &seed, &v);
			continue;
		}
		for (uint32_t k = 0; k <= turn % 4; k++)
			join_once(fd, sh, pages, len,
				  (turn + k) % 3 == 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				  JOIN_STORES, &seed, &v);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	uint32_t pages, rounds, bad = 0;
	struct shared *sh;
	double worst = 0;
	pid_t kid[2];
	size_t len;
	int fd, st, rc = 0;

	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "stop") == 0)) {
		fprintf(stderr, "usage: %s FILE MIB ROUNDS [stop]\n", argv[0]);
		return 2;
	}
	rounds = (uint32_t)atoi(argv[3]);
	fd = marks_setup(argv[1], argv[2], sizeof(*sh), &len, &pages, (void **)&sh);
	if (fd < 0)
		return 2;
	for (int k = 0; k < 2; k++) {
		kid[k] = fork();
		if (kid[k] == 0) {
			if (k)
				_exit(marks_read(fd, &sh->stop, NULL, pages));
			joiner(fd, sh, pages, len, argc == 5);
		}
	}
	for (uint32_t r = 1; r <= rounds && !rc; r++) {
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		double t;

		if (m == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		for (uint32_t p = 0; p < pages && !rc; p++) {
			uint32_t word;

			memcpy(&word, m + (size_t)p * PAGE, sizeof(word));
			if (!mark_ok(word, p, r - 1)) {
				fprintf(stderr, "round %u: page %u has mark %#x\n", r, p, word);
				rc = 1;
			}
		}
		for (uint32_t p = 0; p < pages; p++)
			memcpy(m + (size_t)p * PAGE, &(uint32_t){ mark(r, p) }, sizeof(uint32_t));
		atomic_store(&sh->stored, r);
		atomic_store(&sh->dropping, r);
		t = now_ms();
		if (munmap(m, len) != 0) {
			perror("munmap");
			return 2;
		}
		t = now_ms() - t;
		atomic_store(&sh->dropped, r);
		worst = t > worst ? t : worst;
		/* a joiner's unmap may be the last, and this mapping meet it */
		usleep(r * 7919 % 100000);
	}
	atomic_store(&sh->stop, 1);
	for (int k = 0; k < 2; k++)
		if (waitpid(kid[k], &st, 0) != kid[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = rc ? rc : WIFEXITED(st) ? WEXITSTATUS(st) : 2;
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
	printf("%u %.0f %u\n", rounds, worst, atomic_load(&sh->joins));
	if (bad)
		fprintf(stderr, "%u pages lost a store\n", bad);
	return bad ? 1 : rc;
}
