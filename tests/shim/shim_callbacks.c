/* SPDX-License-Identifier: MIT */
/*
 * shim_callbacks DIR - signals in the program code a directory walk calls
 * back: scandir's filter and comparison, scandirat's filter, nftw's and
 * ftw's function, on DIR/cb (three files, so that the comparison runs).
 *
 * The C library's walks call back as between two of the program's own
 * calls, so in the first call of each callback:
 *   raise(SIGUSR1): the handler has run when raise returns (POSIX: an
 *     unblocked signal sent to the calling thread is delivered before);
 *   fcntl F_SETLKW on byte 0 of DIR/cb.lock, which a child process holds,
 *     with a 200 ms timer whose SIGALRM handler has no SA_RESTART: the
 *     wait ends with EINTR, the handler having run.
 * On UMFS the library serves the walks, and must not defer the program's
 * handlers across its callbacks. Prints one line per callback saying what
 * happened, in words, so that tests/shim/callbacks.sh can compare the
 * transcript with the same program on tmpfs. And a scandir whose filter
 * leaves errno set by a failed call of its own, which must not fail.
 *
 * A wait no signal ends must not hang the test: the child lets the lock go
 * RELEASE_MS after the parent says it starts waiting, so the wait returns
 * 0 (granted) and the transcript shows it. After each probe the parent
 * drops the lock if it got it, and the child takes it back. Exits 1 on a
 * failure of the set-up itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMER_MS 200
/* long enough that a wait still running then is one no signal ended;
 * five such waits stay well inside the script's time limit */
#define RELEASE_MS 2000
#define HANG_SECONDS 40 /* the child's own bound, should the parent vanish */

enum site { SCANDIR_FILTER, SCANDIR_COMPAR, SCANDIRAT_FILTER, NFTW_FN, FTW_FN, SITES };
static const char *const site_name[SITES] = {
	"scandir filter", "scandir compar", "scandirat filter", "nftw fn", "ftw fn",
};

struct outcome {
	bool done;
	bool raise_ran;
	int rc, err;
	bool alrm_ran;
};
static struct outcome out[SITES];

static const char *dir;
static char cbdir[4096], lockpath[4096];
static int lockfd, to_child, from_child;
static volatile sig_atomic_t usr1_ran, alrm_ran;
static int visits;

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_ran = 1;
}

static void on_alrm(int sig)
{
	(void)sig;
	alrm_ran = 1;
}

/* the pipes' calls retried, as a handler may run in them; false or 0 when
 * the other end is gone */
static bool put(int fd, char c)
{
	ssize_t n;

	while ((n = write(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1;
}

static char get(int fd)
{
	ssize_t n;
	char c;

	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : 0;
}

static int lock_byte0(int fd, int cmd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	return fcntl(fd, cmd, &fl);
}

/*
 * The holder: takes byte 0 and says 'L'. On 'w' (the parent starts to
 * wait) it lets the lock go if no other word comes within RELEASE_MS; on
 * 't' (the probe is over, the parent holds nothing) it takes the lock
 * again if it let it go, and says 'L'. Ends when the parent closes the pipe.
 */
static void holder(int cmd, int ack)
{
	int fd = open(lockpath, O_RDWR);
	bool held;

	alarm(HANG_SECONDS);
	if (fd < 0 || lock_byte0(fd, F_SETLK, F_WRLCK) != 0)
		_exit(2);
	held = true;
	if (!put(ack, 'L'))
		_exit(2);
	for (;;) {
		char c = get(cmd);

		if (c == 'w') {
			struct pollfd p = { .fd = cmd, .events = POLLIN };
			int n;

			while ((n = poll(&p, 1, RELEASE_MS)) < 0 && errno == EINTR)
				;
			if (n == 0) {
				if (lock_byte0(fd, F_SETLK, F_UNLCK) != 0)
					_exit(2);
				held = false;
			}
		} else if (c == 't') {
			if (!held && lock_byte0(fd, F_SETLKW, F_WRLCK) != 0)
				_exit(2);
			held = true;
			if (!put(ack, 'L'))
				_exit(2);
		} else {
			_exit(0);
		}
	}
}

static void probe(enum site s)
{
	struct itimerval t = { .it_value = { 0, TIMER_MS * 1000 } }, off = { 0 };
	struct outcome *o = &out[s];

	if (o->done)
		return;
	o->done = true;

	usr1_ran = 0;
	raise(SIGUSR1);
	o->raise_ran = usr1_ran;

	alrm_ran = 0;
	if (!put(to_child, 'w'))
		fail("tell the holder");
	if (setitimer(ITIMER_REAL, &t, NULL) != 0)
		fail("setitimer");
	errno = 0;
	o->rc = lock_byte0(lockfd, F_SETLKW, F_WRLCK);
	o->err = errno;
	o->alrm_ran = alrm_ran;
	setitimer(ITIMER_REAL, &off, NULL);

	if (o->rc == 0 && lock_byte0(lockfd, F_SETLK, F_UNLCK) != 0)
		fail("unlock after a granted wait");
	if (!put(to_child, 't') || get(from_child) != 'L')
		fail("the holder did not take the lock back");
}

static int keep_abc(const struct dirent *e)
{
	probe(SCANDIR_FILTER);
	return e->d_name[0] >= 'a' && e->d_name[0] <= 'c' && e->d_name[1] == '\0';
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	probe(SCANDIR_COMPAR);
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int keep_abc_at(const struct dirent *e)
{
	probe(SCANDIRAT_FILTER);
	return e->d_name[0] >= 'a' && e->d_name[0] <= 'c' && e->d_name[1] == '\0';
}

/* A filter whose own failed call leaves errno set, as it may: the C
 * library's scandir tells the end of the directory apart all the same. */
static int keep_b_errno(const struct dirent *e)
{
	struct stat st;

	(void)stat("/nonexistent/umfs-callbacks", &st);
	return strcmp(e->d_name, "b") == 0;
}

static int nftw_fn(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path, (void)st, (void)flag, (void)f;
	probe(NFTW_FN);
	visits++;
	return 0;
}

static int ftw_fn(const char *path, const struct stat *st, int flag)
{
	(void)path, (void)st, (void)flag;
	probe(FTW_FN);
	visits++;
	return 0;
}

static void print_site(enum site s)
{
	const struct outcome *o = &out[s];

	if (!o->done) {
		printf("%s: not called\n", site_name[s]);
		return;
	}
	printf("%s: raise: %s; F_SETLKW: ", site_name[s],
	       o->raise_ran ? "handler ran at once" : "handler not run yet");
	if (o->rc == 0)
		printf("0 (granted)");
	else
		printf("%d %s", o->rc, strerrorname_np(o->err) ?: "(an unknown errno)");
	printf(", handler %s\n", o->alrm_ran ? "ran" : "not run");
}

static void print_list(const char *what, struct dirent **list, int n)
{
	printf("%s: %d entries:", what, n);
	for (int i = 0; i < n; i++) {
		printf(" %s", list[i]->d_name);
		free(list[i]);
	}
	printf("\n");
	free(list);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "a", "b", "c" };
	struct sigaction sa = { 0 };
	struct dirent **list;
	int cmd[2], ack[2], dfd, n, r, status;
	char path[4200];
	pid_t child;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_callbacks DIR\n");
		return 2;
	}
	dir = argv[1];
	snprintf(cbdir, sizeof(cbdir), "%s/cb", dir);
	snprintf(lockpath, sizeof(lockpath), "%s/cb.lock", dir);

	if (mkdir(cbdir, 0755) != 0)
		fail("mkdir DIR/cb");
	for (int i = 0; i < 3; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", cbdir, names[i]);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd) != 0)
			fail("create a file in DIR/cb");
	}
	lockfd = open(lockpath, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (lockfd < 0)
		fail("create DIR/cb.lock");

	if (pipe(cmd) != 0 || pipe(ack) != 0)
		fail("pipe");
	fflush(stdout);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(cmd[1]);
		close(ack[0]);
		close(lockfd); /* its POSIX locks are the child's own */
		holder(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	to_child = cmd[1];
	from_child = ack[0];
	if (get(from_child) != 'L')
		fail("the holder did not take the lock");

	/* installed after the fork: the holder keeps the default actions */
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("sigaction SIGUSR1");
	sa.sa_handler = on_alrm;
	sa.sa_flags = 0; /* no SA_RESTART: the wait ends with EINTR */
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		fail("sigaction SIGALRM");

	n = scandir(cbdir, &list, keep_abc, by_name);
	if (n < 0)
		fail("scandir");
	print_site(SCANDIR_FILTER);
	print_site(SCANDIR_COMPAR);
	print_list("scandir", list, n);

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		fail("open DIR");
	n = scandirat(dfd, "cb", &list, keep_abc_at, alphasort);
	if (n < 0)
		fail("scandirat");
	close(dfd);
	print_site(SCANDIRAT_FILTER);
	print_list("scandirat", list, n);

	n = scandir(cbdir, &list, keep_b_errno, alphasort);
	if (n < 0)
		printf("scandir, a filter that leaves errno set: %s\n", strerror(errno));
	else
		print_list("scandir, a filter that leaves errno set", list, n);

	visits = 0;
	r = nftw(cbdir, nftw_fn, 4, FTW_PHYS);
	print_site(NFTW_FN);
	printf("nftw: returned %d, %d entries\n", r, visits);

	visits = 0;
	r = ftw(cbdir, ftw_fn, 4);
	print_site(FTW_FN);
	printf("ftw: returned %d, %d entries\n", r, visits);

	close(to_child);
	close(from_child);
	if (waitpid(child, &status, 0) != child)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("the holder ended with status %#x\n", status);
	close(lockfd);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", cbdir, names[i]);
		if (unlink(path) != 0)
			fail("unlink a file of DIR/cb");
	}
	if (rmdir(cbdir) != 0 || unlink(lockpath) != 0)
		fail("remove DIR/cb and DIR/cb.lock");
	printf("done\n");
	return 0;
}
