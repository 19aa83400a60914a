/* SPDX-License-Identifier: MIT */
/*
 * lock_eintr FILE - a signal ends a lock wait on FILE at once. Another
 * process holds a POSIX lock on byte 0 and a flock on FILE; this one waits
 * for each, by F_SETLKW and by flock(LOCK_EX), three times, ended each time
 * by a SIGALRM 110 ms in whose handler has no SA_RESTART: every wait must
 * end with EINTR, and the median wait within PROMPT_MS of its timer. With
 * the kernel's locks (tmpfs) a wait ends as the signal comes. On a mount
 * whose daemon's waits look at their holder once a minute
 * (test_lockwake.sh), a daemon that noticed the kernel's interrupt only
 * at such a look would end no wait within the test's time; a bound of a
 * second is far from both, and from a loaded machine's scheduling delays.
 * Prints each wait's lateness and "ok", or FAIL and what went wrong;
 * exits 1 then.
 *
 * lock_eintr FILE stop DAEMON [idle] - sends the umfs-fuse daemon DAEMON
 * SIGTERM while another process waits by F_SETLKW in FILE for the lock
 * a third holds (with idle: while nothing waits), and prints the ms from
 * the signal to the daemon's end. Its clients' waits must end before it
 * lets the pool go (test_lockwake.sh compares the two).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMER_MS 110
#define PROMPT_MS 1000.0
#define WAITS 6

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int lock_byte0(int fd, int cmd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	return fcntl(fd, cmd, &fl);
}

/* A process that holds a POSIX lock on byte 0 of file and a flock of it
 * until it is killed. */
static pid_t start_holder(const char *file)
{
	int p[2];
	pid_t holder;
	char c;

	if (pipe(p) != 0)
		fail("pipe");
	holder = fork();
	if (holder < 0)
		fail("fork");
	if (holder == 0) { /* a description of its own: its flock conflicts */
		int hfd = open(file, O_RDWR);

		alarm(60); /* should the parent vanish */
		if (hfd < 0 || lock_byte0(hfd, F_SETLK) != 0 || flock(hfd, LOCK_EX | LOCK_NB) != 0 ||
		    write(p[1], "x", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		fail("the holder's locks");
	close(p[0]);
	return holder;
}

static int run_stop(const char *file, pid_t daemon, bool wait)
{
	int pfd = (int)syscall(SYS_pidfd_open, daemon, 0), status;
	struct pollfd end = { .fd = pfd, .events = POLLIN };
	pid_t holder = -1, waiter = -1;
	double sent;

	if (pfd < 0)
		fail("pidfd_open of the daemon");
	if (wait) {
		holder = start_holder(file);
		waiter = fork();
		if (waiter < 0)
			fail("fork");
		if (waiter == 0) {
			int wfd = open(file, O_RDWR);

			alarm(60);
			_exit(wfd >= 0 && lock_byte0(wfd, F_SETLKW) == 0 ? 0 : 1);
		}
		usleep(TIMER_MS * 1000);
		if (waitpid(waiter, &status, WNOHANG) != 0)
			fail("the waiter was not waiting");
	}
	sent = now_ms();
	if (kill(daemon, SIGTERM) != 0)
		fail("kill the daemon");
	if (poll(&end, 1, 10000) != 1)
		fail("the daemon's end, within 10 s");
	printf("%.2f\n", now_ms() - sent);
	if (wait) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		waitpid(waiter, NULL, 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval timer = { .it_value = { 0, TIMER_MS * 1000 } };
	double late[WAITS];
	int fd, failed = 0;
	pid_t holder;

	if (argc >= 4 && strcmp(argv[2], "stop") == 0)
		return run_stop(argv[1], (pid_t)atoi(argv[3]), argc == 4);
	if (argc != 2) {
		fprintf(stderr, "usage: lock_eintr FILE [stop DAEMON [idle]]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		fail("open FILE");
	holder = start_holder(argv[1]);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		fail("sigaction");
	for (int i = 0; i < WAITS; i++) {
		const char *how = i % 2 ? "flock" : "F_SETLKW";
		double due;
		int r, e;

		due = now_ms() + TIMER_MS;
		if (setitimer(ITIMER_REAL, &timer, NULL) != 0)
			fail("setitimer");
		r = i % 2 ? flock(fd, LOCK_EX) : lock_byte0(fd, F_SETLKW);
		e = errno;
		late[i] = now_ms() - due;
		if (r != -1 || e != EINTR) {
			printf("FAIL wait %d (%s): %d, %s, not -1 EINTR\n", i, how, r, strerror(e));
			failed = 1;
			break;
		}
		printf("wait %d (%s): EINTR %.2f ms after its timer\n", i, how, late[i]);
	}
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	if (!failed) {
		qsort(late, WAITS, sizeof(late[0]), by_value);
		if (late[WAITS / 2] >= PROMPT_MS) {
			printf("FAIL the median wait ended %.1f ms after its timer, not at once\n",
			       late[WAITS / 2]);
			failed = 1;
		}
	}
	if (!failed)
		printf("ok\n");
	return failed;
}
