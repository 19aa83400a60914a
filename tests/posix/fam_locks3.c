// SPDX-License-Identifier: MIT
/*
 * fam_locks3.c - the "locks3" family: the ranges a process's record locks
 * cover after splits, merges and conversions, every way a range is given
 * (SEEK_CUR, SEEK_END, l_len 0 and negative, overflow), fork (POSIX locks
 * not inherited, OFD and flock locks shared), exec (kept, except through a
 * close-on-exec descriptor), EDEADLK on a two-process cycle, a waiting
 * F_SETLKW interrupted by a handler with and without SA_RESTART, and a
 * holder killed with SIGKILL.
 *
 * Another process's view is a forked child's F_GETLK probes; waits are
 * bounded by alarm() so that a lock never given fails the check instead of
 * hanging the family.
 */
#include <stdbool.h>

#include "posix.h"

#define F3 "locks3/f"
#define G3 "locks3/g"

static const char *ltype(short t)
{
	return t == F_RDLCK ? "R" : t == F_WRLCK ? "W" : t == F_UNLCK ? "-" : "?";
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* The locks another process sees on the file, as F_GETLK reports them
 * byte by byte over [0, 64) and at two far offsets, runs merged: "W[0,+10)
 * by parent -[10,+5) ..." */
static void map_fn(const char *name, pid_t parent)
{
	int fd = open(P(F3), O_RDWR);
	char out[1024] = "";
	size_t n = 0;
	static const off_t far[] = { 1000000, INT64_MAX - 1 };
	struct flock prev = { .l_type = -1 };

	if (fd < 0) {
		emit(name, "open = -1 %s", ename(errno));
		return;
	}
	for (off_t at = 0; at < 64 + (off_t)ARRAY_SIZE(far); at++) {
		off_t o = at < 64 ? at : far[at - 64];
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = o, .l_len = 1 };

		if (fcntl(fd, F_GETLK, &fl) < 0) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, " @%lld:%s", (long long)o,
					      ename(errno));
			continue;
		}
		if (fl.l_type == F_UNLCK)
			fl.l_start = -1, fl.l_len = 0, fl.l_pid = 0;
		if (fl.l_type == prev.l_type && fl.l_start == prev.l_start && fl.l_len == prev.l_len &&
		    fl.l_pid == prev.l_pid && at < 64)
			continue;
		prev = fl;
		if (fl.l_type == F_UNLCK)
			n += (size_t)snprintf(out + n, sizeof(out) - n, " @%lld:-", (long long)o);
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, " @%lld:%s[%lld,+%lld)%s",
					      (long long)o, ltype(fl.l_type), (long long)fl.l_start,
					      (long long)fl.l_len,
					      fl.l_pid == parent ? "" : fl.l_pid == -1 ? "ofd" : "other");
		if (n >= sizeof(out))
			break;
	}
	emit(name, "seen:%s", out);
	close(fd);
}

static void lk3_child(const char *name, void (*fn)(const char *, pid_t))
{
	pid_t parent = getpid(), pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		fn(name, parent);
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		emit(name, "child failed");
}

static void map(const char *name)
{
	lk3_child(name, map_fn);
}

static int fresh(void)
{
	int fd;

	unlink(P(F3));
	fd = openp(F3, O_RDWR | O_CREAT);
	if (fd >= 0 && ftruncate(fd, 100) < 0)
		emit("locks3/setup", "ftruncate = -1 %s", ename(errno));
	return fd;
}

/* ------------------------------------------------------------------ */

static void t_ranges(void)
{
	int fd = fresh();

	if (fd < 0)
		return;
	R("locks3/split-w", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 40));
	R("locks3/split-hole", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 10, 5));
	map("locks3/split-map");
	R("locks3/merge-fill", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 5));
	map("locks3/merge-map");
	R("locks3/convert-middle", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 4));
	map("locks3/convert-map");
	R("locks3/adjacent-read", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 24, 6));
	R("locks3/adjacent-read-before", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 16, 4));
	map("locks3/adjacent-map");
	R("locks3/overlap-two", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 18, 20));
	map("locks3/overlap-map");
	R("locks3/unlock-all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	map("locks3/unlock-all-map");

	R("locks3/seek-cur-pos", lseek(fd, 30, SEEK_SET));
	R("locks3/seek-cur", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -5, 3));
	R("locks3/seek-end", lk(fd, F_SETLK, F_RDLCK, SEEK_END, -50, 10));
	R("locks3/negative-len", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 12, -4));
	R("locks3/zero-len", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 60, 0));
	map("locks3/whence-map");
	R("locks3/seek-end-unlock-rest", lk(fd, F_SETLK, F_UNLCK, SEEK_END, -37, 0));
	map("locks3/seek-end-unlock-map");
	R("locks3/negative-before-0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 2, -3));
	R("locks3/start-negative", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -31, 1));
	R("locks3/len-overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, INT64_MAX - 5, 10));
	R("locks3/start-overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_END, INT64_MAX - 5, 1));
	R("locks3/last-byte", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, INT64_MAX - 1, 1));
	R("locks3/to-the-end", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, INT64_MAX - 5, 6));
	R("locks3/bad-type", lk(fd, F_SETLK, 7, SEEK_SET, 0, 1));
	{
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

		R("locks3/getlk-unlck", fcntl(fd, F_GETLK, &fl));
	}
	map("locks3/edge-map");
	R("locks3/unlock-end", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	close(fd);
}

/* ------------------------------------------------------------------ */

static int ofd_fd = -1, flock_fd = -1, posix_fd = -1;

static void fork_view(const char *name, pid_t parent)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };

	(void)name;
	R("locks3/fork-posix-not-inherited", lk(posix_fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 5));
	fcntl(posix_fd, F_GETLK, &fl);
	emit("locks3/fork-getlk", "F_GETLK = %s by %s", ltype(fl.l_type),
	     fl.l_pid == parent ? "the parent" : "another");
	R("locks3/fork-ofd-shared", lk(ofd_fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 10));
	R("locks3/fork-ofd-own-other-range", lk(ofd_fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 40, 2));
	R("locks3/fork-flock-shared", flock(flock_fd, LOCK_EX | LOCK_NB));
	R("locks3/fork-child-posix-free-range", lk(posix_fd, F_SETLK, F_WRLCK, SEEK_SET, 50, 1));
	/* the child's close of a descriptor drops its own POSIX locks only */
	close(posix_fd);
}

static void t_fork(void)
{
	int other;

	posix_fd = fresh();
	ofd_fd = openp(F3, O_RDWR);
	flock_fd = openp(F3, O_RDONLY);
	if (posix_fd < 0 || ofd_fd < 0 || flock_fd < 0)
		return;
	R("locks3/fork-setlk", lk(posix_fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	R("locks3/fork-ofd-setlk", lk(ofd_fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 10));
	R("locks3/fork-flock", flock(flock_fd, LOCK_EX));
	lk3_child("locks3/fork-child", fork_view);
	map("locks3/fork-after-child");
	/* the child's OFD lock on [40, 42) is the description's: still held */
	other = openp(F3, O_RDWR);
	R("locks3/fork-ofd-child-range-held", lk(other, F_OFD_SETLK, F_WRLCK, SEEK_SET, 40, 2));
	R("locks3/fork-flock-held", flock(other, LOCK_EX | LOCK_NB));
	close(other);
	close(ofd_fd);
	close(flock_fd);
	close(posix_fd);
}

/* ------------------------------------------------------------------ */

/* Until pid sleeps (state S in /proc), for at most 10 s: after its last
 * step before a wait, that is the wait, on a loaded machine too. */
static void sleeping(pid_t pid)
{
	char path[64], buf[256], *s;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		s = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
		if (s && s[1] == ' ' && s[2] == 'S')
			return;
		usleep(10000);
	}
}

static void t_deadlock(void)
{
	int fd = fresh(), p[2], q[2];
	pid_t pid;
	char c;
	int st;

	if (fd < 0 || pipe(p) < 0 || pipe(q) < 0)
		return;
	R("locks3/dl-parent-first", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int r;

		alarm(10);
		lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
		write(p[1], "x", 1);
		r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1); /* waits for the parent */
		_exit(r == 0 ? 0 : 3);
	}
	read(p[0], &c, 1);
	sleeping(pid); /* the child is waiting */
	usleep(50000);
	alarm(10);
	R("locks3/dl-cycle", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
	R("locks3/dl-nonblocking", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1));
	R("locks3/dl-ofd-no-detection-probe", lk(fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 1, 1) == 0);
	R("locks3/dl-release", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
	waitpid(pid, &st, 0);
	emit("locks3/dl-child", "child got its lock: %s",
	     WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
	alarm(0);
	close(fd);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

/* ------------------------------------------------------------------ */

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

/* A child holds the whole file for hold_ms, then exits. */
static pid_t holder(int fd, int hold_ms, bool use_flock)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int own = open(P(F3), O_RDWR);

		(void)fd;
		if (use_flock ? flock(own, LOCK_EX) : lk(own, F_SETLK, F_WRLCK, SEEK_SET, 0, 0))
			_exit(3);
		write(p[1], "x", 1);
		if (hold_ms < 0)
			for (;;)
				pause();
		usleep((useconds_t)hold_ms * 1000);
		_exit(0);
	}
	close(p[1]);
	read(p[0], &c, 1);
	close(p[0]);
	return pid;
}

static void interrupt_after(int ms, bool restart)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = ms * 1000 } };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	handled = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void t_eintr(void)
{
	int fd = fresh(), st;
	pid_t pid;

	if (fd < 0)
		return;
	pid = holder(fd, 1500, false);
	interrupt_after(200, false);
	R("locks3/eintr-setlkw", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
	emit("locks3/eintr-handled", "handler ran %d time(s)", (int)handled);
	interrupt_after(200, true);
	R("locks3/restart-setlkw", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
	emit("locks3/restart-handled", "handler ran %d time(s)", (int)handled);
	waitpid(pid, &st, 0);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

	pid = holder(fd, 1500, true);
	interrupt_after(200, false);
	R("locks3/eintr-flock", flock(fd, LOCK_EX));
	interrupt_after(200, true);
	R("locks3/restart-flock", flock(fd, LOCK_EX));
	waitpid(pid, &st, 0);
	flock(fd, LOCK_UN);
	signal(SIGALRM, SIG_DFL);
	close(fd);
}

/* ------------------------------------------------------------------ */

static void t_kill(void)
{
	int fd = fresh(), st;
	pid_t pid;

	if (fd < 0)
		return;
	alarm(20);
	pid = holder(fd, -1, false);
	R("locks3/kill-held", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	kill(pid, SIGKILL);
	/* a waiter before the holder is reaped */
	R("locks3/kill-setlkw", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
	waitpid(pid, &st, 0);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

	pid = holder(fd, -1, false);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	R("locks3/kill-reaped-setlk", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

	pid = holder(fd, -1, true);
	R("locks3/kill-flock-held", flock(fd, LOCK_EX | LOCK_NB));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	R("locks3/kill-flock-free", flock(fd, LOCK_EX | LOCK_NB));
	flock(fd, LOCK_UN);
	alarm(0);
	close(fd);
}

/* ------------------------------------------------------------------ */

/* The exec'd side: posix_test --locks3-exec PIPE_W PIPE_R. */
int locks3_exec_child(int w, int r)
{
	char c;

	if (write(w, "x", 1) != 1)
		return 2;
	return read(r, &c, 1) == 1 ? 0 : 3;
}

static void probe_fn(const char *name, pid_t parent)
{
	int a = open(P(F3), O_RDWR), b = open(P(G3), O_RDWR);
	struct flock fa = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct flock fb = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	(void)parent;
	fcntl(a, F_GETLK, &fa);
	fcntl(b, F_GETLK, &fb);
	emit(name, "kept through a plain descriptor: %s, through a close-on-exec one: %s",
	     ltype(fa.l_type), ltype(fb.l_type));
}

static void t_exec(void)
{
	int up[2], down[2], st;
	pid_t pid;
	char c;

	close(fresh());
	close(openp(G3, O_RDWR | O_CREAT));
	if (pipe(up) < 0 || pipe(down) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int a = open(P(F3), O_RDWR), b = open(P(G3), O_RDWR | O_CLOEXEC);
		char w[16], r[16];

		lk(a, F_SETLK, F_WRLCK, SEEK_SET, 0, 0);
		lk(b, F_SETLK, F_WRLCK, SEEK_SET, 0, 0);
		snprintf(w, sizeof(w), "%d", up[1]);
		snprintf(r, sizeof(r), "%d", down[0]);
		execl(self_exe, self_exe, "--locks3-exec", w, r, (char *)NULL);
		_exit(4);
	}
	close(up[1]);
	close(down[0]);
	alarm(10);
	if (read(up[0], &c, 1) == 1)
		lk3_child("locks3/exec-locks", probe_fn);
	else
		emit("locks3/exec-locks", "the exec'd child did not start");
	write(down[1], "x", 1);
	waitpid(pid, &st, 0);
	alarm(0);
	close(up[0]);
	close(down[1]);
}

void t_locks3(void)
{
	mkdir(P("locks3"), 0755);
	t_ranges();
	t_fork();
	t_deadlock();
	t_eintr();
	t_kill();
	t_exec();
}
