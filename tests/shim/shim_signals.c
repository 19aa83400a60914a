/* SPDX-License-Identifier: MIT */
/*
 * shim_signals DIR ROUNDS - signals at random moments into processes busy
 * with file calls in DIR, whose handlers do file calls and end the process.
 *
 * Each round starts WORKERS children. A worker renames, unlinks, creates
 * and writes in a loop, in a directory of its own and in one all share,
 * and opens a kernel file after closing a UMFS one.
 * SIGUSR1 appends "u" to the worker's log and renames a file of its own;
 * SIGRTMIN (queued, with a value) appends "r" if its siginfo is intact;
 * SIGTERM appends "b", removes the worker's pid file and ends it with
 * exit() (even rounds) or _exit() (odd rounds). The parent sends SIGUSR1s
 * to random workers at random intervals, then SIGTERM to each, and waits
 * for them with a bound: a worker still alive after it is a hang.
 *
 * Then every log must be lines of "u" and "r" ending with one "b", the pid
 * files gone, the handlers' own file in one of its two names. Prints one line
 * of counts and "ok", or what went wrong; exits 1 on any failure.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define HANG_SECONDS 20

static const char *dir;
static char my_log[4096], my_pid[4096], my_h[2][4096];
static volatile sig_atomic_t handler_state, use_exit;

static void put_line(const char *s)
{
	int fd = open(my_log, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			_exit(3);
		close(fd);
	}
}

static void on_usr1(int sig)
{
	int e = errno;

	(void)sig;
	put_line("u\n");
	if (rename(my_h[handler_state], my_h[!handler_state]) == 0)
		handler_state = !handler_state;
	errno = e;
}

/* A queued signal: every one sent is delivered, with its value, which
 * must survive the library's deferral. */
static void on_rt(int sig, siginfo_t *si, void *ctx)
{
	int e = errno;

	(void)sig;
	(void)ctx;
	put_line(si->si_code == SI_QUEUE && si->si_value.sival_int == 1234 ? "r\n" : "x\n");
	errno = e;
}

static void on_term(int sig)
{
	(void)sig;
	put_line("b\n");
	unlink(my_pid);
	if (use_exit)
		exit(0);
	_exit(0);
}

static void worker(int id, int round)
{
	char a[4096], b[4096], t[4096], s[4096], buf[4096];
	struct sigaction sa;
	unsigned n = 0;
	int fd;

	snprintf(a, sizeof(a), "%s/w%d/a", dir, id);
	snprintf(b, sizeof(b), "%s/w%d/b", dir, id);
	snprintf(t, sizeof(t), "%s/w%d/t", dir, id);
	snprintf(my_log, sizeof(my_log), "%s/w%d/log-%d", dir, id, round);
	snprintf(my_pid, sizeof(my_pid), "%s/w%d/pid", dir, id);
	snprintf(my_h[0], sizeof(my_h[0]), "%s/w%d/h0", dir, id);
	snprintf(my_h[1], sizeof(my_h[1]), "%s/w%d/h1", dir, id);
	use_exit = round % 2 == 0;
	handler_state = access(my_h[0], F_OK) == 0 ? 0 : 1;
	fd = open(my_pid, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		_exit(4);
	close(fd);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIGRTMIN, &sa, NULL);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, SIGRTMIN);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* the parent's signals, blocked since the fork, come in now */
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	sigemptyset(&sa.sa_mask);
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	for (;;) {
		memset(buf, 'a' + n % 26, sizeof(buf));
		fd = open(a, O_RDWR | O_CREAT, 0644);
		if (fd >= 0) {
			if (pwrite(fd, buf, sizeof(buf), (n % 8) * 4096) < 0)
				_exit(6);
			close(fd);
		}
		/* a kernel descriptor right after a UMFS close: the library
		 * closes the number it kept (parked), under the lock the
		 * handler's own open takes */
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			close(fd);
		rename(a, b);
		rename(b, a);
		snprintf(s, sizeof(s), "%s/shared/s-%d-%u", dir, id, n % 4);
		fd = open(s, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			if (write(fd, buf, 100) < 0)
				_exit(6);
			close(fd);
		}
		unlink(s);
		fd = open(t, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			if (write(fd, buf, 64) < 0)
				_exit(6);
			close(fd);
		}
		if (n % 64 == 0)
			unlink(t);
		n++;
	}
}

/* Where a hung worker is: its kernel wait, and its threads' stacks when
 * SIGNALS_GDB is set and gdb is there. */
static void show_hang(pid_t pid)
{
	char cmd[256];

	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "cat /proc/%d/wchan; echo; cat /proc/%d/syscall", (int)pid,
		 (int)pid);
	if (system(cmd) != 0)
		printf("(no /proc entry)\n");
	if (getenv("SIGNALS_GDB")) {
		snprintf(cmd, sizeof(cmd), "gdb -q -batch -p %d -ex 'thread apply all bt' 2>&1 | tail -40",
			 (int)pid);
		if (system(cmd) != 0)
			printf("(gdb failed)\n");
	}
	fflush(stdout);
}

static char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	*len = 0;
	if (fd < 0)
		return NULL;
	while ((r = read(fd, buf + *len, sizeof(buf) - 1 - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	buf[*len] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 20, fails = 0;
	long sent_usr1 = 0, sent_rt = 0, sent_term = 0, handled = 0, handled_rt = 0;
	char path[4096];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	if (argc < 2) {
		fprintf(stderr, "usage: shim_signals DIR [ROUNDS]\n");
		return 2;
	}
	dir = argv[1];
	if (getenv("SIGNALS_SEED"))
		seed = (unsigned)atoi(getenv("SIGNALS_SEED"));
	printf("seed %u\n", seed);
	srand(seed);
	snprintf(path, sizeof(path), "%s/shared", dir);
	mkdir(path, 0755);
	{
		sigset_t both;

		sigemptyset(&both);
		sigaddset(&both, SIGUSR1);
		sigaddset(&both, SIGTERM);
		sigaddset(&both, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &both, NULL); /* workers unblock once ready */
	}
	for (int w = 0; w < WORKERS; w++) {
		snprintf(path, sizeof(path), "%s/w%d", dir, w);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/w%d/h0", dir, w);
		close(open(path, O_WRONLY | O_CREAT, 0644));
	}
	for (int r = 0; r < rounds; r++) {
		pid_t pids[WORKERS];
		struct timespec ts;

		fflush(stdout);
		for (int w = 0; w < WORKERS; w++) {
			pids[w] = fork();
			if (pids[w] == 0)
				worker(w, r);
		}
		ts.tv_sec = 0;
		for (int k = 0; k < 80; k++) {
			union sigval v = { .sival_int = 1234 };
			pid_t to = pids[rand() % WORKERS];

			ts.tv_nsec = (rand() % 500 + 20) * 1000;
			nanosleep(&ts, NULL);
			if (k % 2 == 0 && kill(to, SIGUSR1) == 0)
				sent_usr1++;
			else if (k % 2 == 1 && sigqueue(to, SIGRTMIN, v) == 0)
				sent_rt++;
		}
		for (int w = 0; w < WORKERS; w++) {
			ts.tv_nsec = (rand() % 300) * 1000;
			nanosleep(&ts, NULL);
			if (kill(pids[w], SIGTERM) == 0)
				sent_term++;
		}
		for (int w = 0; w < WORKERS; w++) {
			int st = 0, waited = 0;

			while (waitpid(pids[w], &st, WNOHANG) == 0) {
				if (waited++ >= HANG_SECONDS * 100) {
					printf("round %d worker %d: hang (no exit after %d s)\n", r, w,
					       HANG_SECONDS);
					show_hang(pids[w]);
					kill(pids[w], SIGKILL);
					waitpid(pids[w], &st, 0);
					fails++;
					break;
				}
				ts.tv_nsec = 10 * 1000 * 1000;
				nanosleep(&ts, NULL);
			}
			if (waited <= HANG_SECONDS * 100 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
				printf("round %d worker %d: ended with status %#x\n", r, w, st);
				fails++;
			}
		}
		for (int w = 0; w < WORKERS; w++) {
			size_t len, u = 0;
			char *log;

			snprintf(path, sizeof(path), "%s/w%d/log-%d", dir, w, r);
			log = slurp(path, &len);
			if (!log || len < 2 || strcmp(log + len - 2, "b\n") != 0) {
				printf("round %d worker %d: log does not end with the SIGTERM line\n", r, w);
				fails++;
				continue;
			}
			for (size_t i = 0; i + 2 < len; i += 2)
				if (log[i] == 'u' && log[i + 1] == '\n')
					u++;
				else if (log[i] == 'r' && log[i + 1] == '\n')
					handled_rt++;
				else {
					printf("round %d worker %d: log line %zu is not the handler's\n", r, w,
					       i / 2);
					fails++;
					break;
				}
			handled += (long)u;
			snprintf(path, sizeof(path), "%s/w%d/pid", dir, w);
			if (access(path, F_OK) == 0) {
				printf("round %d worker %d: pid file left\n", r, w);
				fails++;
			}
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		char h1[4096];
		int n0, n1;

		snprintf(path, sizeof(path), "%s/w%d/h0", dir, w);
		snprintf(h1, sizeof(h1), "%s/w%d/h1", dir, w);
		n0 = access(path, F_OK) == 0;
		n1 = access(h1, F_OK) == 0;
		if (n0 + n1 != 1) {
			printf("worker %d: the handlers' file has %d names\n", w, n0 + n1);
			fails++;
		}
	}
	/* queued signals are not merged, but those still queued when SIGTERM
	 * (a lower number, delivered first) ends the worker are never handled */
	if (handled_rt > sent_rt || handled_rt == 0) {
		printf("%ld SIGRTMIN sent, %ld handled\n", sent_rt, handled_rt);
		fails++;
	}
	printf("%d rounds, %ld SIGUSR1, %ld SIGRTMIN and %ld SIGTERM sent, %ld SIGUSR1 and %ld "
	       "SIGRTMIN handlers logged, %d failures\n",
	       rounds, sent_usr1, sent_rt, sent_term, handled, handled_rt, fails);
	printf("%s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}
