/* SPDX-License-Identifier: MIT */
/*
 * shim_lockstorm FILE SECONDS - signals at random moments into processes
 * that wait for locks on FILE, which other processes take and drop.
 *
 * Three domains of mutual exclusion on FILE, each between two processes:
 * byte 0 by POSIX locks (one with F_SETLKW, one with lockf(F_LOCK) and
 * F_SETLKW in turn), byte 1 by OFD locks (F_OFD_SETLKW), the whole file
 * by flock. Each party is a process of its own, holding one kind of lock:
 * a thread of the POSIX party's process that closed a descriptor of FILE
 * of its own would end that process's POSIX locks, as the kernel's close
 * does, and another process's lock would overlap them. Whoever holds a
 * domain's lock checks that the domain's word in the file is 0, writes
 * its own number there, sleeps a moment, checks the number is still its
 * own and writes 0 back: two holders at once show.
 *
 * Meanwhile the main process sends SIGUSR1 (a handler with SA_RESTART)
 * and SIGUSR2 (one without) to the parties at random moments. A lock call
 * may end with EINTR only if a handler without SA_RESTART ran in it; it
 * returns 0 otherwise (a wait with SA_RESTART is restarted). Every wait is
 * bounded (alarm). At the end, at least one call must have ended with
 * EINTR and one must have been restarted, or the run tested nothing.
 * Prints the counts and "ok", or what went wrong; exits 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HANG_SECONDS 120
enum how { BY_SETLKW, BY_LOCKF_SETLKW, BY_OFD, BY_FLOCK };

/* each domain's word in the file, and the byte its fcntl locks take */
#define WORD_OF(how) ((how) == BY_FLOCK ? 128 : (how) == BY_OFD ? 96 : 64)
#define BYTE_OF(how) ((how) == BY_OFD ? 1 : 0)

static const char *path;
/* shared by every process of the run */
struct storm {
	_Atomic bool stop;
	_Atomic unsigned long calls, eintrs, restarted;
};
static struct storm *storm;
static volatile sig_atomic_t restart_runs, interrupt_runs;

static void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	_exit(1);
}

static void on_usr1(int sig)
{
	(void)sig;
	restart_runs++;
}

static void on_usr2(int sig)
{
	(void)sig;
	interrupt_runs++;
}

static void pause_us(unsigned *seed, unsigned most)
{
	struct timespec t = { 0, (long)(rand_r(seed) % most) * 1000 };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* The holder's check of its domain's word. */
static void hold(int fd, off_t word, unsigned me, unsigned *seed)
{
	unsigned v = 0;

	if (pread(fd, &v, sizeof(v), word) != (ssize_t)sizeof(v))
		die("pread of the word");
	if (v != 0) {
		printf("FAIL %u took a lock %u held (word at %lld)\n", me, v, (long long)word);
		fflush(stdout);
		_exit(1);
	}
	if (pwrite(fd, &me, sizeof(me), word) != (ssize_t)sizeof(me))
		die("pwrite of the word");
	pause_us(seed, 300);
	if (pread(fd, &v, sizeof(v), word) != (ssize_t)sizeof(v) || v != me) {
		printf("FAIL %u's word became %u while it held the lock\n", me, v);
		fflush(stdout);
		_exit(1);
	}
	v = 0;
	if (pwrite(fd, &v, sizeof(v), word) != (ssize_t)sizeof(v))
		die("pwrite of the word");
}

static int lock_call(int fd, enum how how, bool take, unsigned turn)
{
	struct flock l = { .l_type = take ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET,
			   .l_start = BYTE_OF(how), .l_len = 1 };

	switch (how) {
	case BY_SETLKW: return fcntl(fd, take ? F_SETLKW : F_SETLK, &l);
	case BY_OFD: return fcntl(fd, take ? F_OFD_SETLKW : F_OFD_SETLK, &l);
	case BY_LOCKF_SETLKW:
		if (turn % 2)
			return fcntl(fd, take ? F_SETLKW : F_SETLK, &l);
		return lockf(fd, take ? F_LOCK : F_ULOCK, 1);
	default: return flock(fd, take ? LOCK_EX : LOCK_UN);
	}
}

/* One party of a domain, a process, until the run stops. */
static void party(enum how how, unsigned me)
{
	int fd = open(path, O_RDWR);
	unsigned seed = me * 7919u;

	if (fd < 0)
		die("open");
	for (unsigned turn = 0; !atomic_load(&storm->stop); turn++) {
		sig_atomic_t r0 = restart_runs, i0 = interrupt_runs;

		if (lock_call(fd, how, true, turn) != 0) {
			if (errno != EINTR)
				die("a lock wait");
			if (interrupt_runs == i0) {
				printf("FAIL %u: EINTR with no handler without SA_RESTART run\n", me);
				fflush(stdout);
				_exit(1);
			}
			atomic_fetch_add(&storm->eintrs, 1);
			continue;
		}
		atomic_fetch_add(&storm->calls, 1);
		if (restart_runs != r0 && interrupt_runs == i0)
			atomic_fetch_add(&storm->restarted, 1);
		hold(fd, WORD_OF(how), me, &seed);
		if (lock_call(fd, how, false, turn) != 0)
			die("an unlock");
		pause_us(&seed, 200);
	}
	close(fd);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const enum how party_how[] = { BY_SETLKW, BY_LOCKF_SETLKW, BY_OFD, BY_OFD,
					      BY_FLOCK, BY_FLOCK };
	enum { PARTIES = sizeof(party_how) / sizeof(party_how[0]) };
	pid_t kids[PARTIES];
	unsigned seed = (unsigned)getpid(), zero[64] = { 0 };
	struct timespec start, now;
	unsigned long sent = 0;
	int fd, failed = 0;
	/* the parties' handlers, from their fork on; the main process's own
	 * are never run (it sends, it is sent nothing) */
	struct sigaction a1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	struct sigaction a2 = { .sa_handler = on_usr2 };

	if (argc < 3) {
		fprintf(stderr, "usage: shim_lockstorm FILE SECONDS\n");
		return 2;
	}
	path = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(HANG_SECONDS);
	storm = mmap(NULL, sizeof(*storm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (storm == MAP_FAILED)
		die("mmap");
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero))
		die("the file");
	close(fd);
	if (sigaction(SIGUSR1, &a1, NULL) != 0 || sigaction(SIGUSR2, &a2, NULL) != 0)
		die("sigaction");
	for (unsigned i = 0; i < PARTIES; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0)
			party(party_how[i], 1 + i);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		pause_us(&seed, 2000);
		kill(kids[rand_r(&seed) % PARTIES], rand_r(&seed) % 2 ? SIGUSR1 : SIGUSR2);
		sent++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < atol(argv[2]));
	atomic_store(&storm->stop, true);
	for (unsigned i = 0; i < PARTIES; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	printf("%lu signals, %lu locks taken, %lu restarted, %lu EINTR\n", sent,
	       atomic_load(&storm->calls), atomic_load(&storm->restarted),
	       atomic_load(&storm->eintrs));
	if (failed) {
		printf("FAIL a party failed\n");
		return 1;
	}
	if (atomic_load(&storm->eintrs) == 0 || atomic_load(&storm->restarted) == 0) {
		printf("FAIL no wait was interrupted, or none restarted: nothing tested\n");
		return 1;
	}
	unlink(path);
	printf("ok\n");
	return 0;
}
