// SPDX-License-Identifier: MIT
/*
 * fam_limits.c - process limits as the file system must honour them:
 * "nofile" (dup2/dup3/F_DUPFD against RLIMIT_NOFILE, EMFILE when the table
 * is full), "txtbsy" (ETXTBSY between writing and executing a file) and
 * "fsize" (RLIMIT_FSIZE: SIGXFSZ, EFBIG and short writes).
 */
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "posix.h"

/* ------------------------------------------------------------------ */
/* nofile                                                               */
/* ------------------------------------------------------------------ */

/* Closes every descriptor from 3 up but keep1 and keep2. */
static void close_others(int keep1, int keep2)
{
	int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
}

/* dup(fd) until it fails: how many below the limit it got, and why it
 * stopped; then an open of the file on a full table. */
static void fill(const char *name, const char *name_open, int fd, int keep, int lim)
{
	int n = 0, e, r;

	while ((r = dup(fd)) >= 0)
		n++;
	e = errno;
	/* 0, 1, 2, keep and fd were open */
	emit(name, "dup until it fails: limit - %d opened, then %s", lim - n, ename(e));
	R(name_open, open(P("nofile/f"), O_RDONLY));
	close_others(fd, keep);
}

/* rel's size, by a call that needs no descriptor. */
static void size_now(const char *name, const char *rel)
{
	struct stat st;

	if (stat(P(rel), &st))
		emit(name, "stat = -1 %s", ename(errno));
	else
		emit(name, "size %lld", (long long)st.st_size);
}

/* The limit this process reads, as getrlimit, getdtablesize and sysconf
 * give it: one number, or -1 when they disagree. */
static int nofile_now(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || (long)rl.rlim_cur != sysconf(_SC_OPEN_MAX) ||
	    (long)rl.rlim_cur != getdtablesize())
		return -1;
	return (int)rl.rlim_cur;
}

/* The checks of a new image (its limits set before the exec, so that a
 * preloaded library starts under them), named pre-*: every number below
 * the soft limit is the program's, and the kernel's errno past it. */
static void exec_checks(const char *pre, int fd)
{
	char name[64];
	int lim = nofile_now(), n = 0, e, bad = 0;

	/* check names are kept by pointer (claim) */
#define N(what) (snprintf(name, sizeof(name), "%s-%s", pre, what), strdup(name))
	emit(N("limits"), "getrlimit, getdtablesize and sysconf agree = %s",
	     lim < 0 ? "no" : "yes");
	close_others(fd, fd);
	while (dup(fd) >= 0)
		n++;
	e = errno;
	/* 0, 1, 2 and fd were open */
	emit(N("fill"), "dup until it fails: limit - %d opened, then %s", lim - n, ename(e));
	R(N("full-open"), open(P("nofile/f"), O_RDONLY));
	R(N("full-dupfd"), fcntl(fd, F_DUPFD, 0));
	R(N("full-dupfd-cloexec"), fcntl(fd, F_DUPFD_CLOEXEC, 0));
	close_others(fd, fd);
	R(N("dup2-below-limit"), dup2(fd, lim - 1) == lim - 1);
	R(N("dup2-at-limit"), dup2(fd, lim));
	R(N("dup3-at-limit"), dup3(fd, lim, 0));
	R(N("dupfd-at-limit"), fcntl(fd, F_DUPFD, lim));
	R(N("dupfd-below-limit"), fcntl(fd, F_DUPFD, lim - 2) == lim - 2);
	for (int k = 3; k < lim; k++)
		if (k != fd && dup2(fd, k) != k)
			bad++;
	emit(N("dup2-every-number"), "dup2 onto numbers below the limit: %d failed", bad);
	close_others(fd, fd);
#undef N
}

/* Limits changed after the library placed its descriptors: lowered, then
 * raised back to the hard limit; then every descriptor closed the ways
 * programs close them all, and the files still served. */
static void exec_change(int fd)
{
	struct rlimit rl, lo;
	char buf[8] = "";
	int g;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	lo = rl;
	lo.rlim_cur = 64;
	R("nofile/exec-lower", setrlimit(RLIMIT_NOFILE, &lo));
	exec_checks("nofile/exec-lowered", fd);
	lo.rlim_cur = lo.rlim_max;
	R("nofile/exec-raise", prlimit(0, RLIMIT_NOFILE, &lo, NULL));
	exec_checks("nofile/exec-raised", fd);
	close_range(3, ~0U, 0);
	R("nofile/exec-closed-fd", fcntl(fd, F_GETFD));
	for (int k = 3; k < getdtablesize(); k++)
		close(k);
	for (long k = 3; k < sysconf(_SC_OPEN_MAX); k++)
		close((int)k);
	g = open(P("nofile/g"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	R("nofile/exec-closed-all-open", g == 3);
	R("nofile/exec-closed-all-write", write(g, "abc", 3));
	R("nofile/exec-closed-all-read", pread(g, buf, sizeof(buf), 0));
	emit("nofile/exec-closed-all-data", "read back \"%s\"", buf);
	close(g);
}

/*
 * A new image started under limits set by its parent (soft = hard, as
 * containers often set them, or soft below hard): what it reads from
 * getrlimit is what it gets. Run in a new image (--nofile-exec) so that a
 * preloaded library starts under those limits.
 */
int nofile_exec_child(const char *dir, int fd)
{
	struct rlimit rl;

	top = dir;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	if (rl.rlim_cur == rl.rlim_max) {
		exec_checks("nofile/exec", fd);
		exec_change(fd);
	} else {
		exec_checks("nofile/exec-soft", fd);
	}
	return 0;
}

/* The child under limits cur:max. */
static void nofile_exec(rlim_t cur, rlim_t max)
{
	int fd = openp("nofile/f", O_RDWR), st;
	pid_t pid;

	if (fd < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = cur, .rlim_max = max };
		char a[16];

		snprintf(a, sizeof(a), "%d", fd);
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			execl(self_exe, self_exe, "--nofile-exec", top, a, (char *)NULL);
		_exit(3);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		emit("nofile/exec", "the child under limits %d:%d = %s", (int)cur, (int)max,
		     pid < 0 ? "no fork" : how_ended(st));
	close(fd);
}

void t_nofile(void)
{
	struct rlimit rl, lo;
	char tmpl[PATH_MAX], self_fd[32];
	int fd, lim, bad = 0, e = 0, first = -1;

	if (mkdir(P("nofile"), 0755) || put("nofile/f", "file"))
		return;
	fd = openp("nofile/f", O_RDWR);
	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl))
		return;
	lim = rl.rlim_max < 2048 ? (int)rl.rlim_max : 2048;
	lo = rl;
	lo.rlim_cur = (rlim_t)lim;
	if (setrlimit(RLIMIT_NOFILE, &lo)) {
		setup_fail("setrlimit", "", errno);
		return;
	}
	close_others(fd, topfd);

	R("nofile/dup2-negative", dup2(fd, -1));
	R("nofile/dup2-at-limit", dup2(fd, lim));
	R("nofile/dup2-past-limit", dup2(fd, lim + 100));
	R("nofile/dup2-badfd-at-limit", dup2(BADFD, lim));
	R("nofile/dup2-below-limit", dup2(fd, lim - 1) == lim - 1);
	R("nofile/dup3-negative", dup3(fd, -1, 0));
	R("nofile/dup3-at-limit", dup3(fd, lim, 0));
	R("nofile/dup3-same", dup3(fd, fd, 0));
	R("nofile/dup3-same-cloexec", dup3(fd, fd, O_CLOEXEC));
	R("nofile/dup3-bad-flags", dup3(fd, 50, 0x4));
	R("nofile/dup3-cloexec", dup3(fd, 50, O_CLOEXEC));
	R("nofile/dupfd-at-limit", fcntl(fd, F_DUPFD, lim));
	R("nofile/dupfd-cloexec-at-limit", fcntl(fd, F_DUPFD_CLOEXEC, lim));
	R("nofile/dupfd-below-limit", fcntl(fd, F_DUPFD, lim - 2) == lim - 2);
	R("nofile/dupfd-negative", fcntl(fd, F_DUPFD, -1));
	R("nofile/dup-after", dup(fd) >= 0);
	close_others(fd, topfd);

	/* every number below the limit is the program's */
	for (int n = 3; n < lim; n++) {
		if (n == fd || n == topfd)
			continue;
		if (dup2(fd, n) != n) {
			if (!bad++) {
				first = n;
				e = errno;
			}
		}
	}
	if (bad)
		emit("nofile/dup2-every-number", "dup2 onto %d numbers below the limit failed (%s)",
		     bad, ename(e));
	else
		emit("nofile/dup2-every-number", "dup2 onto every number below the limit = ok");
	(void)first;
	R("nofile/full-dup", dup(fd));
	R("nofile/full-dupfd", fcntl(fd, F_DUPFD, 0));
	R("nofile/full-open", open(P("nofile/f"), O_RDONLY));
	/* refused before the file is touched: nothing made, nothing cut */
	R("nofile/full-create", open(P("nofile/new"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	R("nofile/full-create-made", access(P("nofile/new"), F_OK));
	R("nofile/full-creat", creat(P("nofile/new2"), 0644));
	R("nofile/full-creat-made", access(P("nofile/new2"), F_OK));
	R("nofile/full-trunc", open(P("nofile/f"), O_WRONLY | O_TRUNC));
	size_now("nofile/full-trunc-size", "nofile/f");
	R("nofile/full-create-trunc", open(P("nofile/f"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	size_now("nofile/full-create-trunc-size", "nofile/f");
	R("nofile/full-mkstemp", mkstemp(strcpy(tmpl, P("nofile/tmp.XXXXXX"))));
	R("nofile/full-openat2-trunc",
	  syscall(SYS_openat2, AT_FDCWD, P("nofile/f"),
		  &(struct open_how){ .flags = O_WRONLY | O_TRUNC }, sizeof(struct open_how)));
	size_now("nofile/full-openat2-trunc-size", "nofile/f");
	snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", fd);
	R("nofile/full-reopen-trunc", open(self_fd, O_WRONLY | O_TRUNC));
	size_now("nofile/full-reopen-trunc-size", "nofile/f");
	R("nofile/full-flock", flock(fd, LOCK_SH));
	R("nofile/full-flock-un", flock(fd, LOCK_UN));
	close_others(fd, topfd);
	content("nofile/full-after", "nofile/f");
	list("nofile/full-names", "nofile");
	fill("nofile/fill", "nofile/fill-open", fd, topfd, lim);

	/* a lower limit, and locks taken under it (descriptors of their own) */
	lim = 64;
	lo.rlim_cur = (rlim_t)lim;
	if (setrlimit(RLIMIT_NOFILE, &lo)) {
		setup_fail("setrlimit", "", errno);
		return;
	}
	R("nofile/low-flock", flock(fd, LOCK_EX));
	R("nofile/low-setlk", fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK }));
	fill("nofile/low-fill", "nofile/low-fill-open", fd, topfd, lim);
	R("nofile/low-dup2-at-limit", dup2(fd, lim));
	R("nofile/low-dup2-below", dup2(fd, lim - 1) == lim - 1);
	close(lim - 1);
	close(fd);
	nofile_exec(512, 512);
	nofile_exec(256, 512);
}

/* ------------------------------------------------------------------ */
/* txtbsy                                                               */
/* ------------------------------------------------------------------ */

#define PROG "txtbsy/prog"

/* Copies a program that reads its standard input to its end: cat. */
static int copy_prog(void)
{
	const char *src = "/bin/cat";
	char buf[65536];
	int in = open(src, O_RDONLY), out;
	ssize_t n;

	if (in < 0) {
		setup_fail("open", src, errno);
		return -1;
	}
	out = open(P(PROG), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0) {
		setup_fail("open", PROG, errno);
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			setup_fail("write", PROG, errno);
			break;
		}
	close(in);
	close(out);
	return 0;
}

/* Starts PROG with its standard input from a pipe; returns once it was
 * executed (its close-on-exec report pipe closed) or failed (errno sent). */
static pid_t start_prog(int *feed, int *err, int close_in_child)
{
	int in[2], rep[2];
	pid_t pid;
	ssize_t n;

	*err = 0;
	if (pipe(in) || pipe2(rep, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int e;

		if (close_in_child >= 0)
			close(close_in_child);
		close(rep[0]);
		close(in[1]);
		dup2(in[0], 0);
		close(in[0]);
		dup2(open("/dev/null", O_WRONLY), 1);
		execl(P(PROG), "prog", (char *)NULL);
		e = errno;
		if (write(rep[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(in[0]);
	close(rep[1]);
	n = read(rep[0], err, sizeof(*err));
	close(rep[0]);
	if (n <= 0)
		*err = 0;
	*feed = in[1];
	return pid;
}

static const char *end_prog(pid_t pid, int feed)
{
	int st;

	close(feed);
	if (pid < 0)
		return "not started";
	waitpid(pid, &st, 0);
	return how_ended(st);
}

static void txt_other_process(void)
{
	RFDC("txtbsy/running-open-write-other-process", open(P(PROG), O_WRONLY));
}

void t_txtbsy(void)
{
	int feed, err, w, fd;
	pid_t pid;

	if (mkdir(P("txtbsy"), 0755) || copy_prog())
		return;
	pid = start_prog(&feed, &err, -1);
	emit("txtbsy/start", "execl = %s", err ? ename(err) : "ok");
	RFDC("txtbsy/running-open-write", open(P(PROG), O_WRONLY));
	RFDC("txtbsy/running-open-rdwr", open(P(PROG), O_RDWR));
	RFDC("txtbsy/running-open-trunc", open(P(PROG), O_WRONLY | O_TRUNC));
	RFDC("txtbsy/running-open-read", open(P(PROG), O_RDONLY));
	R("txtbsy/running-truncate", truncate(P(PROG), 0));
	in_child("txtbsy/running-child", "child", txt_other_process);
	fd = open(P(PROG), O_RDONLY);
	R("txtbsy/running-ftruncate-rdonly", ftruncate(fd, 0));
	close(fd);
	emit("txtbsy/end", "prog = %s", end_prog(pid, feed));
	RFDC("txtbsy/ended-open-write", open(P(PROG), O_WRONLY));

	/* executing a file open for writing */
	w = open(P(PROG), O_WRONLY);
	pid = start_prog(&feed, &err, -1);
	emit("txtbsy/exec-open-for-write", "execl = %s", err ? ename(err) : "ok");
	end_prog(pid, feed);
	pid = start_prog(&feed, &err, w);
	emit("txtbsy/exec-open-for-write-elsewhere", "execl = %s", err ? ename(err) : "ok");
	end_prog(pid, feed);
	close(w);
	w = open(P(PROG), O_RDONLY);
	pid = start_prog(&feed, &err, -1);
	emit("txtbsy/exec-open-for-read", "execl = %s", err ? ename(err) : "ok");
	emit("txtbsy/exec-open-for-read-end", "prog = %s", end_prog(pid, feed));
	close(w);
	pid = start_prog(&feed, &err, -1);
	emit("txtbsy/exec-after-close", "execl = %s", err ? ename(err) : "ok");
	emit("txtbsy/exec-after-close-end", "prog = %s", end_prog(pid, feed));
}

/* ------------------------------------------------------------------ */
/* fsize                                                                */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t xfsz;

static void on_xfsz(int sig)
{
	(void)sig;
	xfsz++;
}

static void sigs(const char *name)
{
	emit(name, "SIGXFSZ since the last count: %d", (int)xfsz);
	xfsz = 0;
}

static void fsize_default(void)
{
	int fd = open(P("fsize/default"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	signal(SIGXFSZ, SIG_DFL);
	R("fsize/default-write", pwrite(fd, "0123456789", 10, 1000));
}

static void fsize_checks(void)
{
	struct rlimit rl;
	char buf[1500];
	struct iovec iov[2] = { { buf, 6 }, { buf, 6 } };
	int fd, ap;
	FILE *f;

	memset(buf, 'x', sizeof(buf));
	if (mkdir(P("fsize"), 0755))
		return;
	signal(SIGXFSZ, on_xfsz);
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = 1000;
	if (setrlimit(RLIMIT_FSIZE, &rl)) {
		setup_fail("setrlimit", "", errno);
		return;
	}
	fd = openp("fsize/f", O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0)
		return;
	R("fsize/write-below", write(fd, buf, 600));
	R("fsize/write-crossing", write(fd, buf, 600));
	sigs("fsize/sigs-after-short");
	R("fsize/write-at-limit", write(fd, buf, 1));
	sigs("fsize/sigs-after-efbig");
	R("fsize/write-empty-at-limit", write(fd, buf, 0));
	sigs("fsize/sigs-after-empty");
	R("fsize/pwrite-inside", pwrite(fd, buf, 10, 100));
	R("fsize/pwrite-crossing", pwrite(fd, buf, 10, 995));
	R("fsize/pwrite-at-limit", pwrite(fd, buf, 10, 1000));
	R("fsize/pwrite-far", pwrite(fd, buf, 10, 5000));
	sigs("fsize/sigs-after-pwrite");
	lseek(fd, 990, SEEK_SET);
	R("fsize/writev-crossing", writev(fd, iov, 2));
	R("fsize/pwritev-at-limit", pwritev(fd, iov, 2, 1000));
	sigs("fsize/sigs-after-writev");
	ap = openp("fsize/f", O_WRONLY | O_APPEND);
	R("fsize/append-at-limit", write(ap, buf, 1));
	close(ap);
	R("fsize/ftruncate-to-limit", ftruncate(fd, 1000));
	R("fsize/ftruncate-past", ftruncate(fd, 1001));
	R("fsize/ftruncate-shrink", ftruncate(fd, 500));
	R("fsize/truncate-past", truncate(P("fsize/f"), 2000));
	sigs("fsize/sigs-after-truncate");
	R("fsize/fallocate-past", fallocate(fd, 0, 0, 2000));
	RE("fsize/posix-fallocate-past", posix_fallocate(fd, 900, 200));
	R("fsize/fallocate-inside", fallocate(fd, 0, 0, 800));
	sigs("fsize/sigs-after-fallocate");
	R("fsize/fallocate-keep-size-past", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2000));
	sigs("fsize/sigs-after-keep-size");
	ST("fsize/size", fstat(fd, &S));
	lseek(fd, 0, SEEK_SET);
	R("fsize/write-after-shrink", write(fd, buf, 1500));
	close(fd);

	f = fopen(P("fsize/stream"), "w");
	if (f) {
		size_t n = fwrite(buf, 1, sizeof(buf), f);
		int r = fflush(f), e = errno;

		emit("fsize/stdio", "fwrite 1500 = %zu, fflush = %d %s", n, r, r ? ename(e) : "");
		fclose(f);
	}
	ST("fsize/stdio-size", stat(P("fsize/stream"), &S));
	sigs("fsize/sigs-after-stdio");
	signal(SIGXFSZ, SIG_IGN);
	fd = openp("fsize/f", O_WRONLY);
	R("fsize/ignored-pwrite-past", pwrite(fd, buf, 1, 1000));
	close(fd);
	in_child("fsize/default", "child", fsize_default);
	sigs("fsize/sigs-at-end");
}

/* The checks run in a child whose standard output is a pipe: the limit
 * would apply to the output file too. */
void t_fsize(void)
{
	char buf[4096];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(p)) {
		setup_fail("pipe", "", errno);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		close(p[1]);
		fsize_checks();
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(p[0]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		emit("fsize/checks", "child = %s", how_ended(st));
}
