/* SPDX-License-Identifier: MIT */
/*
 * shim_rtqueue DIR - a storm of real-time signals into a thread busy with
 * writes in DIR: every one must be delivered, with its value, in the
 * order sent, as the kernel queues them.
 *
 * Another thread queues COUNT SIGRTMIN signals to the main thread
 * (pthread_sigqueue), the values 1 to COUNT, in bursts, while the main thread writes
 * 1 MiB at a time to a file of DIR. On UMFS most of them come while a
 * write is being served, where the library defers them and sends them
 * again as the write returns; a library that kept a fixed number per
 * call lost most of them. The handler counts them and checks that each
 * value follows the last. Prints the counts and "ok", or what went wrong;
 * exits 1 then.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COUNT 20000
#define BURST 200
#define CHUNK (1 << 20)

static pthread_t target;
static atomic_int sent;
static atomic_bool sending = true;
static volatile sig_atomic_t got, last, out_of_order;

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (si->si_value.sival_int != last + 1)
		out_of_order++;
	last = si->si_value.sival_int;
	got++;
}

/* Bursts of BURST, a pause between: many of them while writes are being
 * served, many while the signals of the last are being delivered. */
static void *sender(void *arg)
{
	struct timespec pause = { 0, 100 * 1000 };

	(void)arg;
	for (int v = 1; v <= COUNT;) {
		union sigval val = { .sival_int = v };

		if (pthread_sigqueue(target, SIGRTMIN, val) == 0) {
			atomic_store(&sent, v);
			if (v++ % BURST == 0)
				nanosleep(&pause, NULL);
		}
	}
	atomic_store(&sending, false);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct timespec nap = { 0, 1000 * 1000 };
	char name[4096], *buf;
	unsigned writes = 0;
	pthread_t t;
	int fd;

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
	if (sigaction(SIGRTMIN, &sa, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	target = pthread_self();
	if (pthread_create(&t, NULL, sender, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	while (atomic_load(&sending)) {
		if (pwrite(fd, buf, CHUNK, (off_t)(writes % 8) * CHUNK) != CHUNK) {
			perror("pwrite");
			return 1;
		}
		writes++;
	}
	pthread_join(t, NULL);
	for (int i = 0; i < 1000 && got < COUNT; i++)
		nanosleep(&nap, NULL);
	printf("%d sent, %d delivered, %d out of order, during %u writes\n", atomic_load(&sent),
	       (int)got, (int)out_of_order, writes);
	close(fd);
	unlink(name);
	if (got != COUNT || out_of_order) {
		printf("FAIL real-time signals lost or reordered\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
