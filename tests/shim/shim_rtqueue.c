/* SPDX-License-Identifier: MIT */
/*
 * shim_rtqueue DIR - a storm of real-time signals into a thread busy with
 * writes in DIR: every one must be delivered, with its value, in the
 * order sent, as the kernel queues them.
 *
 * Another thread queues COUNT SIGRTMIN signals to the main thread
 * (pthread_sigqueue), the values 1 to COUNT, in bursts, while the main
 * thread writes 1 MiB and 64 KiB in turn to a file of DIR. On UMFS many of them
 * come while a write is being served, where the library records one and
 * runs its handler as the write returns, the later ones waiting in the
 * kernel's queue meanwhile; a library that kept a fixed number per call
 * lost most of them, one that sent them again put some behind later
 * ones. The handler counts them and checks that each
 * value follows the last, and that it runs with the mask the kernel gives
 * a handler (its own signal and its sa_mask's SIGUSR2 blocked), on the
 * alternate stack its SA_ONSTACK asks for; after the
 * storm the thread's mask is what it was. Then the same storm while the
 * thread forks: no child starts with a signal blocked that its parent had
 * not (the library blocks a number while a signal of it waits in its
 * queue). Last the storm while writing again, with a SIGUSR1 every 50
 * whose handler leaves by siglongjmp: none lost, none out of order, and
 * none waiting for a file call after the storm. Prints the counts and
 * "ok", or what went wrong; exits 1 then.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COUNT 20000
#define BURST 200
#define CHUNK (1 << 20)

static pthread_t target;
static atomic_int sent;
static atomic_bool sending, jumpy;
static volatile sig_atomic_t got, last, out_of_order, bad_mask, off_stack, jumps;
static sigjmp_buf jump;
static int fd;
static char *buf;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
	sigset_t now;
	stack_t ss;

	(void)ctx;
	if (si->si_value.sival_int != last + 1)
		out_of_order++;
	last = si->si_value.sival_int;
	got++;
	if (pthread_sigmask(SIG_BLOCK, NULL, &now) != 0 || !sigismember(&now, sig) ||
	    !sigismember(&now, SIGUSR2))
		bad_mask++;
	if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
		off_stack++;
}

static void on_usr1(int sig)
{
	(void)sig;
	jumps++;
	siglongjmp(jump, 1);
}

/* Bursts of BURST, a pause between: many of them while writes are being
 * served, many while the signals of the last are being delivered. */
static void *sender(void *arg)
{
	struct timespec pause = { 0, 100 * 1000 };
	int from = *(int *)arg;

	for (int v = from; v < from + COUNT;) {
		union sigval val = { .sival_int = v };

		if (pthread_sigqueue(target, SIGRTMIN, val) == 0) {
			atomic_store(&sent, v);
			if (atomic_load(&jumpy) && v % 50 == 0)
				pthread_kill(target, SIGUSR1);
			if (v++ % BURST == 0)
				nanosleep(&pause, NULL);
		}
	}
	atomic_store(&sending, false);
	return NULL;
}

static bool storm_start(pthread_t *t, int from)
{
	static int first;

	first = from;
	atomic_store(&sending, true);
	return pthread_create(t, NULL, sender, &first) == 0;
}

/* The storm's end, and its signals': up to a second without a file call,
 * as the kernel delivers what it holds. */
static void storm_end(pthread_t t, int want)
{
	struct timespec nap = { 0, 1000 * 1000 };

	pthread_join(t, NULL);
	for (int i = 0; i < 1000 && got < want; i++)
		nanosleep(&nap, NULL);
}

/* Writes 1 MiB and 64 KiB in turn until the storm ends; -1 on error. */
static int write_storm(void)
{
	static volatile unsigned writes;

	while (atomic_load(&sending)) {
		size_t len = writes % 2 ? CHUNK : CHUNK / 16;

		if (pwrite(fd, buf, len, (off_t)(writes % 8) * CHUNK) != (ssize_t)len) {
			perror("pwrite");
			return -1;
		}
		writes++;
	}
	return (int)writes;
}

/* Forks until the storm ends; the children that started with SIGRTMIN
 * blocked, or -1 when a fork failed. */
static int fork_storm(void)
{
	int held = 0, status;

	while (atomic_load(&sending)) {
		pid_t pid = fork();
		sigset_t now;

		if (pid < 0)
			return -1;
		if (pid == 0) {
			pthread_sigmask(SIG_BLOCK, NULL, &now);
			_exit(sigismember(&now, SIGRTMIN) ? 3 : 0);
		}
		while (waitpid(pid, &status, 0) < 0)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			held++;
	}
	return held;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_rt,
				.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };
	struct sigaction sj = { .sa_handler = on_usr1 };
	stack_t alt = { .ss_size = 1 << 16 };
	sigset_t before, after;
	int held, writes;
	char name[4096];
	pthread_t t;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_rtqueue DIR\n");
		return 2;
	}
	alarm(60);
	snprintf(name, sizeof(name), "%s/rtqueue.%d", argv[1], (int)getpid());
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	buf = malloc(CHUNK);
	if (fd < 0 || !buf) {
		perror("open");
		return 1;
	}
	memset(buf, 'q', CHUNK);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGUSR1); /* its handler leaves by siglongjmp */
	sigemptyset(&sj.sa_mask);
	alt.ss_sp = malloc(alt.ss_size);
	if (!alt.ss_sp || sigaltstack(&alt, NULL) != 0) {
		perror("sigaltstack");
		return 1;
	}
	if (sigaction(SIGRTMIN, &sa, NULL) != 0 || sigaction(SIGUSR1, &sj, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	target = pthread_self();
	pthread_sigmask(SIG_BLOCK, NULL, &before);
	if (!storm_start(&t, 1)) {
		perror("pthread_create");
		return 1;
	}
	writes = write_storm();
	if (writes < 0)
		return 1;
	storm_end(t, COUNT);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	printf("%d sent, %d delivered, %d out of order, %d with a wrong mask, %d off the "
	       "alternate stack, during %d writes\n",
	       atomic_load(&sent), (int)got, (int)out_of_order, (int)bad_mask, (int)off_stack,
	       writes);
	if (got != COUNT || out_of_order) {
		printf("FAIL real-time signals lost or reordered\n");
		return 1;
	}
	if (bad_mask || off_stack || sigismember(&after, SIGRTMIN) != sigismember(&before, SIGRTMIN) ||
	    sigismember(&after, SIGUSR2) != sigismember(&before, SIGUSR2)) {
		printf("FAIL a handler's mask or stack, or the thread's mask after it, not "
		       "the kernel's\n");
		return 1;
	}
	if (!storm_start(&t, COUNT + 1)) {
		perror("pthread_create");
		return 1;
	}
	held = fork_storm();
	storm_end(t, 2 * COUNT);
	printf("%d delivered, %d out of order, %d children with SIGRTMIN blocked, while forking\n",
	       (int)got - COUNT, (int)out_of_order, held);
	if (held < 0) {
		perror("fork");
		return 1;
	}
	if (got != 2 * COUNT || out_of_order || held) {
		printf("FAIL signals lost or reordered, or held in a child, across fork\n");
		return 1;
	}
	atomic_store(&jumpy, true);
	if (sigsetjmp(jump, 1) == 0 && !storm_start(&t, 2 * COUNT + 1)) {
		perror("pthread_create");
		return 1;
	}
	if (write_storm() < 0)
		return 1;
	storm_end(t, 3 * COUNT);
	printf("%d delivered, %d out of order, while %d handlers left by siglongjmp\n",
	       (int)got - 2 * COUNT, (int)out_of_order, (int)jumps);
	close(fd);
	unlink(name);
	if (got != 3 * COUNT || out_of_order) {
		printf("FAIL signals lost or reordered after a handler left by siglongjmp\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
