/* SPDX-License-Identifier: MIT */
/*
 * shim_jumps.c - a handler that leaves by a jump, with another signal
 * behind it.
 *
 *   shim_jumps DIR
 *
 * Two signals come while the thread writes a large file in DIR: SIGUSR1,
 * whose handler leaves by a jump, then SIGUSR2, whose handler counts.
 * After the jump the thread waits in the kernel alone (nanosleep, no file
 * call) up to a second for SIGUSR2's handler, as a program waiting in
 * sigsuspend or on a pipe would. Each of the C library's four jumps is
 * tried, called by its name (dlsym): siglongjmp and __longjmp_chk, which
 * put back the mask sigsetjmp saved, and longjmp and _longjmp from a
 * sigsetjmp that saved none, which keep the handler's mask. Prints, for
 * each, the rounds in which SIGUSR2's handler ran and the signals blocked
 * after the jump; the same lines on a kernel file system are the
 * reference. A kind stops at its first round without SIGUSR2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FORTIFY_SOURCE /* each jump by its own name */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20
#define WRITE_LEN (64u << 20)

typedef void (*jump_fn)(struct __jmp_buf_tag *, int);

static const struct kind {
	const char *name;
	int savemask;
} kinds[] = {
	{ "siglongjmp", 1 },
	{ "__longjmp_chk", 1 },
	{ "longjmp", 0 },
	{ "_longjmp", 0 },
};

static sigjmp_buf jump;
static jump_fn jump_now;
static volatile sig_atomic_t usr2_ran;
static pthread_t target;
static atomic_int go; /* 1: send the two signals, then 0 */

static void on_usr1(int sig)
{
	(void)sig;
	jump_now(jump, 1);
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_ran++;
}

/* Sends SIGUSR1, then SIGUSR2, a millisecond after each go. */
static void *sender(void *arg)
{
	struct timespec ms = { 0, 1000 * 1000 };

	(void)arg;
	for (;;) {
		int g = atomic_load(&go);

		if (g < 0)
			return NULL;
		if (g == 0) {
			nanosleep(&(struct timespec){ 0, 50 * 1000 }, NULL);
			continue;
		}
		nanosleep(&ms, NULL);
		pthread_kill(target, SIGUSR1);
		/* taken before the next comes: both pending, the kernel would
		 * give the thread SIGUSR2's handler first */
		nanosleep(&(struct timespec){ 0, 200 * 1000 }, NULL);
		pthread_kill(target, SIGUSR2);
		atomic_store(&go, 0);
	}
}

/* Until the sender has sent both signals of the last go and cleared it.
 * A go set before that clear would be lost, and the round would wait for
 * a SIGUSR1 that never comes; a jump changed before it would be taken by
 * the last round's late SIGUSR1. */
static void sender_wait_idle(void)
{
	while (atomic_load(&go))
		nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
}

/* Up to a second in the kernel alone for SIGUSR2's handler. */
static int usr2_wait(void)
{
	struct timespec ms = { 0, 1000 * 1000 };

	for (int i = 0; i < 1000 && !usr2_ran; i++)
		nanosleep(&ms, NULL);
	return usr2_ran != 0;
}

/* One kind's rounds: the rounds in which SIGUSR2's handler ran; *blocked
 * the signals (of the two) blocked after the last jump. */
static int kind_run(const struct kind *k, int fd, const char *buf, char *blocked, size_t size)
{
	sigset_t none, now;
	volatile int ran = 0; /* kept across the jumps */

	jump_now = (jump_fn)dlsym(RTLD_DEFAULT, k->name);
	if (!jump_now) {
		snprintf(blocked, size, "no %s", k->name);
		return 0;
	}
	sigemptyset(&none);
	blocked[0] = '\0';
	for (int r = 0; r < ROUNDS; r++) {
		sender_wait_idle();
		usr2_ran = 0;
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		if (sigsetjmp(jump, k->savemask) == 0) {
			atomic_store(&go, 1);
			if (pwrite(fd, buf, WRITE_LEN, 0) != (ssize_t)WRITE_LEN)
				perror("pwrite");
			for (;;) /* SIGUSR1's handler leaves this loop */
				pause();
		}
		pthread_sigmask(SIG_BLOCK, NULL, &now);
		snprintf(blocked, size, "%s%s", sigismember(&now, SIGUSR1) ? " SIGUSR1" : "",
			 sigismember(&now, SIGUSR2) ? " SIGUSR2" : "");
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		if (!usr2_wait())
			break;
		ran++;
	}
	sender_wait_idle();
	return ran;
}

int main(int argc, char **argv)
{
	struct sigaction s1 = { .sa_handler = on_usr1 }, s2 = { .sa_handler = on_usr2 };
	char name[4096], blocked[64];
	pthread_t t;
	char *buf;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_jumps DIR\n");
		return 2;
	}
	alarm(120);
	snprintf(name, sizeof(name), "%s/jumps.%d", argv[1], (int)getpid());
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	buf = malloc(WRITE_LEN);
	if (fd < 0 || !buf) {
		perror("open");
		return 1;
	}
	memset(buf, 'j', WRITE_LEN);
	sigemptyset(&s1.sa_mask);
	sigemptyset(&s2.sa_mask);
	target = pthread_self();
	if (sigaction(SIGUSR1, &s1, NULL) != 0 || sigaction(SIGUSR2, &s2, NULL) != 0 ||
	    pthread_create(&t, NULL, sender, NULL) != 0) {
		perror("setup");
		return 1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int ran = kind_run(&kinds[i], fd, buf, blocked, sizeof(blocked));

		printf("%s (mask %s): the signal behind the jump ran in %d of %d rounds; "
		       "blocked after the jump:%s\n",
		       kinds[i].name, kinds[i].savemask ? "saved" : "kept", ran, ROUNDS,
		       blocked[0] ? blocked : " none");
	}
	atomic_store(&go, -1);
	pthread_join(t, NULL);
	close(fd);
	unlink(name);
	return 0;
}
