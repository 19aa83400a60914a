// SPDX-License-Identifier: MIT
/*
 * fam_locks.c - the "locks2" family: what F_GETLK reports, when a process's
 * POSIX record locks go away, flock conversions and their independence
 * from record locks, leases and directory notification.
 *
 * Other processes' views are taken by forked children that print their
 * own check lines (probes with F_SETLK/F_GETLK, never a wait).
 */
#include <linux/capability.h>

#include "posix.h"

#define LK "locks2/f"

static const char *ltype(short t)
{
	return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

static const char *lwhence(short w)
{
	return w == SEEK_SET ? "SEEK_SET" : w == SEEK_CUR ? "SEEK_CUR" : w == SEEK_END ? "SEEK_END" : "?";
}

/* l_pid as something that is the same on every run. */
static const char *lpid(pid_t p, pid_t parent)
{
	static char b[16];

	if (p == parent)
		return "the parent";
	if (p == getpid())
		return "me";
	snprintf(b, sizeof(b), "%d", (int)p);
	return p > 0 ? "another" : b;
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) as the caller fills it; every field it returns. */
static void getlk_all(const char *name, int fd, int cmd, short type, short whence, off_t start,
		      off_t len, pid_t parent)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len,
			    .l_pid = cmd == F_OFD_GETLK ? 0 : 4242 };
	int r = fcntl(fd, cmd, &fl);

	if (r < 0) {
		emit(name, "%s %s %s%+lld len %lld = -1 %s", cmd == F_OFD_GETLK ? "F_OFD_GETLK" : "F_GETLK",
		     ltype(type), lwhence(whence), (long long)start, (long long)len, ename(errno));
		return;
	}
	emit(name, "%s %s %s%+lld len %lld = %d: %s %s start %lld len %lld pid %s",
	     cmd == F_OFD_GETLK ? "F_OFD_GETLK" : "F_GETLK", ltype(type), lwhence(whence),
	     (long long)start, (long long)len, r, ltype(fl.l_type), lwhence(fl.l_whence),
	     (long long)fl.l_start, (long long)fl.l_len,
	     fl.l_pid == 4242 ? "unchanged" : lpid(fl.l_pid, parent));
}

/* Runs fn in a child that prints its own lines; nothing else is printed
 * unless it did not end well. */
static void child(const char *name, void (*fn)(pid_t parent))
{
	pid_t parent = getpid(), pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		setup_fail("fork", name, errno);
		return;
	}
	if (pid == 0) {
		fn(parent);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		emit(name, "child = %s", how_ended(st));
}

/* What another process sees of the whole file: a write lock probe. */
static const char *probe_name;
static void probe_fn(pid_t parent)
{
	int fd = open(P(LK), O_RDWR);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
		emit(probe_name, "probe = -1 %s", ename(errno));
	else if (fl.l_type == F_UNLCK)
		emit(probe_name, "another process sees: unlocked");
	else
		emit(probe_name, "another process sees: %s [%lld, +%lld) by %s", ltype(fl.l_type),
		     (long long)fl.l_start, (long long)fl.l_len, lpid(fl.l_pid, parent));
}

static void probe(const char *name)
{
	probe_name = name;
	child(name, probe_fn);
}

/* flock from another process, on a description of its own. */
static const char *fprobe_name;
static void fprobe_fn(pid_t parent)
{
	int fd = open(P(LK), O_RDONLY);

	(void)parent;
	R(fprobe_name, flock(fd, LOCK_EX | LOCK_NB));
}

static void fprobe(const char *name)
{
	fprobe_name = name;
	child(name, fprobe_fn);
}

/* ------------------------------------------------------------------ */

static void getlk_child(pid_t parent)
{
	int fd = open(P(LK), O_RDWR);

	lseek(fd, 5, SEEK_SET);
	getlk_all("locks2/getlk-seek-set", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0, parent);
	getlk_all("locks2/getlk-seek-cur", fd, F_GETLK, F_WRLCK, SEEK_CUR, 10, 5, parent);
	getlk_all("locks2/getlk-seek-end", fd, F_GETLK, F_RDLCK, SEEK_END, -95, 10, parent);
	getlk_all("locks2/getlk-read-on-read", fd, F_GETLK, F_RDLCK, SEEK_CUR, 35, 5, parent);
	getlk_all("locks2/getlk-free-seek-cur", fd, F_GETLK, F_WRLCK, SEEK_CUR, 200, 5, parent);
	getlk_all("locks2/getlk-free-seek-end", fd, F_GETLK, F_WRLCK, SEEK_END, 100, 0, parent);
	getlk_all("locks2/getlk-negative-len", fd, F_GETLK, F_WRLCK, SEEK_SET, 20, -5, parent);
	getlk_all("locks2/getlk-bad-whence", fd, F_GETLK, F_WRLCK, 7, 0, 0, parent);
	getlk_all("locks2/getlk-before-start", fd, F_GETLK, F_WRLCK, SEEK_CUR, -10, 1, parent);
	getlk_all("locks2/getlk-sees-ofd", fd, F_GETLK, F_WRLCK, SEEK_SET, 60, 1, parent);
	getlk_all("locks2/ofd-getlk-sees-ofd", fd, F_OFD_GETLK, F_WRLCK, SEEK_CUR, 50, 1, parent);
	getlk_all("locks2/ofd-getlk-sees-posix", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 12, 1, parent);
	getlk_all("locks2/ofd-getlk-pid-set", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 12, 1, parent);
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1 };

		R("locks2/ofd-getlk-pid-nonzero", fcntl(fd, F_OFD_GETLK, &fl));
	}
	close(fd);
}

static void t_getlk(void)
{
	int fd, fd2;

	fd = openp(LK, O_RDWR);
	fd2 = openp(LK, O_RDWR);
	if (fd < 0 || fd2 < 0)
		return;
	R("locks2/setlk-write", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 20));
	R("locks2/setlk-read", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 40, 10));
	R("locks2/ofd-setlk", lk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 60, 10));
	child("locks2/getlk-child", getlk_child);
	/* the owner's own view: its own POSIX locks do not conflict */
	getlk_all("locks2/getlk-own", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0, getppid());
	getlk_all("locks2/getlk-own-sees-ofd", fd, F_GETLK, F_WRLCK, SEEK_SET, 65, 1, getppid());
	getlk_all("locks2/ofd-getlk-own-ofd", fd2, F_OFD_GETLK, F_WRLCK, SEEK_SET, 65, 1, getppid());
	getlk_all("locks2/ofd-getlk-other-ofd", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0, getppid());
	close(fd2);
	close(fd);
}

/* ------------------------------------------------------------------ */

static void t_release(void)
{
	int fd, d, other, fd3;
	FILE *f;

	fd = openp(LK, O_RDWR);
	put("locks2/other", "other file");
	if (fd < 0)
		return;
	R("locks2/rel-setlk", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	probe("locks2/rel-held");

	/* closing another file keeps them */
	other = openp("locks2/other", O_RDWR);
	R("locks2/rel-other-file-setlk", lk(other, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	R("locks2/rel-close-other-file", close(other));
	probe("locks2/rel-after-other-file");

	/* closing a dup */
	d = dup(fd);
	R("locks2/rel-close-dup", close(d));
	probe("locks2/rel-after-close-dup");

	/* closing another description of the same file */
	R("locks2/rel-setlk-2", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fd3 = openp(LK, O_RDONLY);
	R("locks2/rel-close-other-desc", close(fd3));
	probe("locks2/rel-after-other-desc");

	/* closing an O_PATH descriptor of it keeps them (the kernel's close
	 * drops none for one) */
	R("locks2/rel-setlk-path", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fd3 = openp(LK, O_PATH);
	R("locks2/rel-close-opath", close(fd3));
	probe("locks2/rel-after-opath");

	/* through a hard link's name: the same file */
	link(P(LK), P("locks2/hard"));
	R("locks2/rel-setlk-3", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	fd3 = openp("locks2/hard", O_RDONLY);
	R("locks2/rel-close-hard-link", close(fd3));
	probe("locks2/rel-after-hard-link");

	/* fclose of a stream on a dup */
	R("locks2/rel-setlk-4", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	f = fdopen(dup(fd), "r");
	R("locks2/rel-fclose", f ? fclose(f) : -1);
	probe("locks2/rel-after-fclose");

	/* fopen of the file by name, then fclose */
	R("locks2/rel-setlk-5", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	f = fopen(P(LK), "r");
	R("locks2/rel-fopen-fclose", f ? fclose(f) : -1);
	probe("locks2/rel-after-fopen-fclose");

	/* close_range over a dup */
	R("locks2/rel-setlk-6", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	d = dup(fd);
	R("locks2/rel-close-range", close_range((unsigned)d, (unsigned)d, 0));
	probe("locks2/rel-after-close-range");

	/* dup2 over a dup closes it */
	R("locks2/rel-setlk-7", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	d = dup(fd);
	other = openp("locks2/other", O_RDONLY);
	R("locks2/rel-dup2-over", dup2(other, d) == d);
	probe("locks2/rel-after-dup2-over");
	close(d);
	close(other);

	/* lockf locks are POSIX locks */
	lseek(fd, 0, SEEK_SET);
	R("locks2/rel-lockf", lockf(fd, F_TLOCK, 10));
	probe("locks2/rel-lockf-held");
	d = dup(fd);
	R("locks2/rel-lockf-close-dup", close(d));
	probe("locks2/rel-after-lockf-close-dup");

	/* OFD locks follow the description, not the process */
	R("locks2/rel-ofd-setlk", lk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	d = dup(fd);
	fd3 = openp(LK, O_RDONLY);
	R("locks2/rel-ofd-close-other-desc", close(fd3));
	R("locks2/rel-ofd-close-dup", close(d));
	probe("locks2/rel-ofd-after-close-dup");
	d = dup(fd);
	R("locks2/rel-ofd-close-orig", close(fd));
	probe("locks2/rel-ofd-after-close-orig");
	R("locks2/rel-ofd-close-last", close(d));
	probe("locks2/rel-ofd-after-close-last");

	/* A description a child shared (it may outlive this close elsewhere)
	 * is closed: its OFD lock goes with it, even when an open that fails
	 * takes its slot before anyone meets the lock. */
	fd = openp(LK, O_RDWR);
	other = openp(LK, O_RDWR);
	if (fd < 0 || other < 0)
		return;
	R("locks2/rel-ofd-shared-setlk", lk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 80, 20));
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	R("locks2/rel-ofd-shared-close", close(fd));
	R("locks2/rel-ofd-shared-excl-open", open(P("locks2/other"), O_CREAT | O_EXCL | O_WRONLY, 0644));
	R("locks2/rel-ofd-shared-gone", lk(other, F_SETLK, F_RDLCK, SEEK_SET, 70, 40));
	close(other);
}

/* ------------------------------------------------------------------ */

static void t_flock(void)
{
	int a, b, d, dir, p;

	a = openp(LK, O_RDONLY);
	b = openp(LK, O_RDONLY);
	if (a < 0 || b < 0)
		return;
	R("locks2/flock-sh", flock(a, LOCK_SH));
	R("locks2/flock-other-ex-nb", flock(b, LOCK_EX | LOCK_NB));
	R("locks2/flock-other-sh-nb", flock(b, LOCK_SH | LOCK_NB));
	R("locks2/flock-upgrade-blocked", flock(a, LOCK_EX | LOCK_NB));
	/* a failed conversion drops the lock held (the kernel unlocks first) */
	R("locks2/flock-other-un", flock(b, LOCK_UN));
	R("locks2/flock-after-failed-upgrade", flock(b, LOCK_EX | LOCK_NB));
	R("locks2/flock-other-un-2", flock(b, LOCK_UN));
	R("locks2/flock-sh-again", flock(a, LOCK_SH));
	R("locks2/flock-upgrade", flock(a, LOCK_EX | LOCK_NB));
	R("locks2/flock-other-sh-blocked", flock(b, LOCK_SH | LOCK_NB));
	fprobe("locks2/flock-child-ex-blocked");
	R("locks2/flock-downgrade", flock(a, LOCK_SH | LOCK_NB));
	R("locks2/flock-other-sh-after-downgrade", flock(b, LOCK_SH | LOCK_NB));
	R("locks2/flock-un-both-a", flock(a, LOCK_UN));
	R("locks2/flock-un-both-b", flock(b, LOCK_UN));
	R("locks2/flock-un-not-held", flock(a, LOCK_UN));
	R("locks2/flock-nb-alone", flock(a, LOCK_NB));
	R("locks2/flock-sh-ex", flock(a, LOCK_SH | LOCK_EX));
	R("locks2/flock-bad-op", flock(a, 64));
	fprobe("locks2/flock-child-free");

	/* a dup shares the lock; it goes with the last descriptor */
	R("locks2/flock-ex-for-dup", flock(a, LOCK_EX));
	d = dup(a);
	R("locks2/flock-close-orig", close(a));
	R("locks2/flock-held-by-dup", flock(b, LOCK_EX | LOCK_NB));
	R("locks2/flock-close-dup", close(d));
	R("locks2/flock-free-after-last-close", flock(b, LOCK_EX | LOCK_NB));
	R("locks2/flock-un-b", flock(b, LOCK_UN));

	/* flock and POSIX locks do not see each other */
	a = openp(LK, O_RDWR);
	R("locks2/mix-flock-ex", flock(a, LOCK_EX));
	R("locks2/mix-setlk-same-desc", lk(a, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
	R("locks2/mix-setlk-other-desc", lk(b, F_SETLK, F_RDLCK, SEEK_SET, 0, 0));
	R("locks2/mix-ofd-other-desc", lk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 0));
	probe("locks2/mix-child-sees-posix");
	fprobe("locks2/mix-child-flock");
	R("locks2/mix-posix-unlock", lk(a, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	R("locks2/mix-ofd-unlock", lk(b, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	fprobe("locks2/mix-child-flock-still");
	R("locks2/mix-flock-un", flock(a, LOCK_UN));
	fprobe("locks2/mix-child-flock-free");
	close(a);
	close(b);

	/* descriptors that are not files */
	mkdir(P("locks2/dir"), 0755);
	dir = open(P("locks2/dir"), O_RDONLY | O_DIRECTORY);
	R("locks2/flock-dir", flock(dir, LOCK_EX | LOCK_NB));
	R("locks2/setlk-dir-read", lk(dir, F_SETLK, F_RDLCK, SEEK_SET, 0, 0));
	R("locks2/setlk-dir-write", lk(dir, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
	close(dir);
	p = open(P(LK), O_PATH);
	R("locks2/flock-opath", flock(p, LOCK_SH));
	R("locks2/setlk-opath", lk(p, F_SETLK, F_RDLCK, SEEK_SET, 0, 0));
	close(p);
}

/* ------------------------------------------------------------------ */

static void lease_nobody(void)
{
	int fd = open(P("locks2/lease"), O_RDONLY);

	R("locks2/lease-not-owner", fcntl(fd, F_SETLEASE, F_RDLCK));
	R("locks2/lease-not-owner-get", fcntl(fd, F_GETLEASE));
	R("locks2/lease-not-owner-unlock", fcntl(fd, F_SETLEASE, F_UNLCK));
	close(fd);
}

/* Root without CAP_LEASE, on a file of another user's */
static void lease_uncapable(void)
{
	int fd = open(P("locks2/lease"), O_RDONLY);

	R("locks2/lease-no-cap", fcntl(fd, F_SETLEASE, F_RDLCK));
	R("locks2/lease-no-cap-unlock", fcntl(fd, F_SETLEASE, F_UNLCK));
	close(fd);
}

static void t_lease(void)
{
	int r, w, r2, dir;

	put("locks2/lease", "leased");
	chmod(P("locks2/lease"), 0644);
	r = openp("locks2/lease", O_RDONLY);
	if (r < 0)
		return;
	R("locks2/lease-get-none", fcntl(r, F_GETLEASE));
	R("locks2/lease-read", fcntl(r, F_SETLEASE, F_RDLCK));
	R("locks2/lease-read-get", fcntl(r, F_GETLEASE));
	r2 = openp("locks2/lease", O_RDONLY);
	R("locks2/lease-read-second", fcntl(r2, F_SETLEASE, F_RDLCK));
	R("locks2/lease-write-while-read", fcntl(r2, F_SETLEASE, F_WRLCK));
	R("locks2/lease-unlock-second", fcntl(r2, F_SETLEASE, F_UNLCK));
	close(r2);
	R("locks2/lease-unlock", fcntl(r, F_SETLEASE, F_UNLCK));
	R("locks2/lease-unlock-get", fcntl(r, F_GETLEASE));
	R("locks2/lease-unlock-none", fcntl(r, F_SETLEASE, F_UNLCK));
	R("locks2/lease-bad-arg", fcntl(r, F_SETLEASE, 99));
	R("locks2/lease-write-on-rdonly-alone", fcntl(r, F_SETLEASE, F_WRLCK));
	fcntl(r, F_SETLEASE, F_UNLCK);
	w = openp("locks2/lease", O_RDWR);
	R("locks2/lease-read-while-written", fcntl(r, F_SETLEASE, F_RDLCK));
	R("locks2/lease-read-on-rdwr", fcntl(w, F_SETLEASE, F_RDLCK));
	R("locks2/lease-write-others-open", fcntl(w, F_SETLEASE, F_WRLCK));
	close(r);
	R("locks2/lease-write-alone", fcntl(w, F_SETLEASE, F_WRLCK));
	R("locks2/lease-write-get", fcntl(w, F_GETLEASE));
	R("locks2/lease-write-unlock", fcntl(w, F_SETLEASE, F_UNLCK));
	close(w);
	dir = open(P("locks2"), O_RDONLY | O_DIRECTORY);
	R("locks2/lease-dir", fcntl(dir, F_SETLEASE, F_RDLCK));
	R("locks2/lease-dir-get", fcntl(dir, F_GETLEASE));
	close(dir);
	as_user(NOBODY, NOBODY, NULL, 0, lease_nobody);
	if (geteuid() == 0 && chown(P("locks2/lease"), NOBODY, NOBODY) == 0) {
		without_cap(CAP_LEASE, lease_uncapable);
		chown(P("locks2/lease"), 0, 0);
	}

	/* directory notification */
	dir = open(P("locks2"), O_RDONLY | O_DIRECTORY);
	r = openp("locks2/lease", O_RDONLY);
	R("locks2/notify-dir", fcntl(dir, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	R("locks2/notify-dir-clear", fcntl(dir, F_NOTIFY, 0));
	R("locks2/notify-file", fcntl(r, F_NOTIFY, DN_MODIFY));
	R("locks2/notify-file-clear", fcntl(r, F_NOTIFY, 0));
	close(r);
	close(dir);
}

void t_locks2(void)
{
	if (mkdir(P("locks2"), 0755))
		setup_fail("mkdir", "locks2", errno);
	chmod(P("locks2"), 0755);
	if (putn(LK, "0123456789012345678901234567890123456789012345678901234567890123456789"
		     "012345678901234567890123456789", 100))
		return;
	t_getlk();
	t_release();
	t_flock();
	t_lease();
}
