/* SPDX-License-Identifier: MIT */
/*
 * shim_fdnum.c - descriptor numbers and closed descriptors, as the kernel
 * hands them out: every call that makes a descriptor gets the lowest free
 * number, and a closed number answers EBADF to every call.
 *
 *   shim_fdnum DIR          runs the steps below in DIR and prints one line
 *                           per result (a number, or the errno's name);
 *                           fdnum.sh compares the transcript of UMFS with
 *                           that of tmpfs
 *   shim_fdnum check FD     (run by exec) prints whether FD is open
 *   shim_fdnum parked DIR   (UMFS) the number of a closed file stays open
 *                           in the kernel, and the next opens take it back
 *   shim_fdnum drop DIR     (root) closes a file, becomes uid and gid
 *                           65534 as a server does, then uses the closed
 *                           number and opens and creates in DIR, which holds
 *                           root's 0644 "rootfile" and 0755 "rootdir"
 *
 * The library may keep the number of a closed UMFS descriptor open for the
 * next open (docs/shim.md, "Parked numbers"); these steps close a UMFS
 * descriptor and then make descriptors every way a program can, use the
 * closed number (also through C library functions that make their system
 * calls themselves: termios, sockets, poll, mq_close...), fork, exec and
 * lower RLIMIT_NOFILE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

/* The _FORTIFY_SOURCE entries, called as a fortified poll() would. */
extern int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
extern int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		       const sigset_t *ss, size_t fdslen);

static const char *dir;
static char self[4096];

static void say(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* A call that returns an error number (0 for success). */
static void say_errnum(const char *what, int e)
{
	printf("%s: %s\n", what, e ? strerrorname_np(e) : "0");
}

/* A call that returns a pointer, NULL with errno. */
static void say_ptr(const char *what, const void *p)
{
	if (p)
		printf("%s: a pointer\n", what);
	else
		printf("%s: %s\n", what, strerrorname_np(errno));
}

#define PATH_IN_MAX 4200

/* NAME in the directory of the steps. */
static const char *in_dir(const char *name, char p[PATH_IN_MAX])
{
	snprintf(p, PATH_IN_MAX, "%s/%s", dir, name);
	return p;
}

static int open_in(const char *name, int flags)
{
	char p[PATH_IN_MAX];

	return open(in_dir(name, p), flags, 0644);
}

/* First, before any file is open: a lookup that finds nothing (under the
 * library: the pool joined, no descriptor of the program's made yet), then
 * close_range over every number, which must leave the library's own: the
 * next create and read work. */
static void close_range_first(void)
{
	struct stat st;
	char b[8] = "";
	int fd;

	say("stat of a missing name", stat(in_dir("missing", (char[PATH_IN_MAX]){ 0 }), &st));
	say("close_range(3, ~0) before any open", close_range(3, ~0u, 0));
	say("then create", fd = open_in("first", O_CREAT | O_RDWR));
	say("write", write(fd, "first", 5));
	say("read back", pread(fd, b, sizeof(b), 0));
	printf("read back: %s\n", b);
	close(fd);
	unlink(in_dir("first", (char[PATH_IN_MAX]){ 0 }));
}

/* Opens and closes a UMFS file: its number is the one the steps expect free. */
static int closed_one(void)
{
	int fd = open_in("a", O_CREAT | O_RDWR);

	close(fd);
	return fd;
}

static void kernel_makers(void)
{
	int fd, p[2];

	closed_one();
	say("open /dev/null after a close", fd = open("/dev/null", O_RDONLY));
	close(fd);
	closed_one();
	say("dup after a close", fd = dup(1));
	close(fd);
	closed_one();
	say("F_DUPFD after a close", fd = fcntl(1, F_DUPFD, 0));
	close(fd);
	closed_one();
	if (pipe(p) == 0) {
		say("pipe after a close", p[0]);
		say("pipe second", p[1]);
		close(p[0]);
		close(p[1]);
	} else {
		say("pipe after a close", -1);
	}
	closed_one();
	say("socket after a close", fd = socket(AF_UNIX, SOCK_STREAM, 0));
	close(fd);
	closed_one();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0) {
		say("socketpair after a close", p[0]);
		close(p[0]);
		close(p[1]);
	}
	closed_one();
	say("openat2 syscall after a close",
	    fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY));
	close(fd);
	closed_one();
	{
		FILE *f = fopen("/dev/null", "r");

		say("fopen after a close", f ? fileno(f) : -1);
		if (f)
			fclose(f);
	}
	closed_one();
	{
		DIR *d = opendir("/");

		say("opendir after a close", d ? dirfd(d) : -1);
		if (d)
			closedir(d);
	}
	closed_one();
	{
		char t[] = "/tmp/shim_fdnum.XXXXXX";

		say("mkstemp after a close", fd = mkstemp(t));
		close(fd);
		unlink(t);
	}
}

/* Opens refused after the library claimed their number (those with
 * O_CREAT or O_TRUNC): the number is free again, closed to the program,
 * and the next descriptor of any kind takes it. */
static void refused_claims(void)
{
	int fd, p[2], n = open("/dev/null", O_RDONLY);

	close(n);
	close(open_in("exists", O_CREAT | O_RDWR));
	say("O_CREAT|O_EXCL of an existing name", open_in("exists", O_CREAT | O_EXCL | O_RDWR));
	say("F_GETFD of the lowest free number then", fcntl(n, F_GETFD));
	say("open /dev/null then", fd = open("/dev/null", O_RDONLY));
	close(fd);
	say("O_TRUNC of a missing name", open_in("missing", O_WRONLY | O_TRUNC));
	say("dup then", fd = dup(1));
	close(fd);
	say("O_CREAT in a missing directory", open_in("nodir/x", O_CREAT | O_RDWR));
	say("a UMFS open then", fd = open_in("exists", O_RDONLY));
	close(fd);
	say("O_CREAT|O_EXCL|O_CLOEXEC of an existing name",
	    open_in("exists", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC));
	say("socket then", fd = socket(AF_UNIX, SOCK_STREAM, 0));
	close(fd);
	say("O_TRUNC of a directory", open_in(".", O_WRONLY | O_TRUNC));
	say("read of the lowest free number then", read(n, (char[1]){ 0 }, 1));
	say("pipe then", pipe(p) == 0 ? p[0] : -1);
	close(p[0]);
	close(p[1]);
	unlink(in_dir("exists", (char[PATH_IN_MAX]){ 0 }));
}

/* fcntl(F_GETFD) straight to the kernel, past the library. */
static long kernel_getfd(int fd)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"((long)SYS_fcntl), "D"((long)fd), "S"((long)F_GETFD)
			 : "rcx", "r11", "memory");
	return r;
}

/* The terminal and pty calls, which glibc makes with its own ioctl. */
static void stale_tty(void)
{
	struct termios tio;
	char buf[64];

	memset(&tio, 0, sizeof(tio));
	say("isatty of the closed number (1: a tty)", isatty(closed_one()) ? 1 : -1);
	say("tcgetattr of the closed number", tcgetattr(closed_one(), &tio));
	say("tcsetattr of the closed number", tcsetattr(closed_one(), TCSANOW, &tio));
	say("tcgetpgrp of the closed number", tcgetpgrp(closed_one()));
	say("tcsetpgrp of the closed number", tcsetpgrp(closed_one(), getpgrp()));
	say("tcgetsid of the closed number", tcgetsid(closed_one()));
	say("tcflush of the closed number", tcflush(closed_one(), TCIFLUSH));
	say("tcdrain of the closed number", tcdrain(closed_one()));
	say("tcflow of the closed number", tcflow(closed_one(), TCOON));
	say("tcsendbreak of the closed number", tcsendbreak(closed_one(), 0));
	say_ptr("ttyname of the closed number", ttyname(closed_one()));
	say_errnum("ttyname_r of the closed number", ttyname_r(closed_one(), buf, sizeof(buf)));
	say_ptr("ptsname of the closed number", ptsname(closed_one()));
	say_errnum("ptsname_r of the closed number", ptsname_r(closed_one(), buf, sizeof(buf)));
	say("grantpt of the closed number", grantpt(closed_one()));
	say("unlockpt of the closed number", unlockpt(closed_one()));
}

static void stale_sockets(void)
{
	socklen_t len = sizeof(int);
	int v = 1;
	char b[4];

	say("getsockopt of the closed number",
	    getsockopt(closed_one(), SOL_SOCKET, SO_TYPE, &v, &len));
	say("setsockopt of the closed number",
	    setsockopt(closed_one(), SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
	say("send on the closed number", send(closed_one(), "x", 1, MSG_DONTWAIT));
	say("recv on the closed number", recv(closed_one(), b, sizeof(b), MSG_DONTWAIT));
	say("shutdown of the closed number", shutdown(closed_one(), SHUT_RDWR));
	say("listen on the closed number", listen(closed_one(), 1));
	say("sockatmark of the closed number", sockatmark(closed_one()));
}

/* The pipe is made first: a descriptor made after the close would take
 * the closed number. */
static void stale_pipes_and_timers(void)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct itimerspec its;
	int p[2];

	memset(&its, 0, sizeof(its));
	if (pipe(p)) {
		say("pipe", -1);
		return;
	}
	say("tee from the closed number", tee(closed_one(), p[1], 1, SPLICE_F_NONBLOCK));
	say("tee to the closed number", tee(p[0], closed_one(), 1, SPLICE_F_NONBLOCK));
	say("vmsplice to the closed number", vmsplice(closed_one(), &iov, 1, SPLICE_F_NONBLOCK));
	close(p[0]);
	close(p[1]);
	say("setns to the closed number", setns(closed_one(), 0));
	say("timerfd_settime of the closed number", timerfd_settime(closed_one(), 0, &its, NULL));
	say("timerfd_gettime of the closed number", timerfd_gettime(closed_one(), &its));
}

static void stale_events_and_dirents(void)
{
	eventfd_t v = 0;
	char buf[256];
	off_t base;

	say("eventfd_read of the closed number", eventfd_read(closed_one(), &v));
	say("eventfd_write of the closed number", eventfd_write(closed_one(), 1));
	say("getdirentries of the closed number",
	    getdirentries(closed_one(), buf, sizeof(buf), &base));
}

/* The closed number given as an inotify, fanotify or epoll descriptor. */
static void stale_notify(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[2];

	say("inotify_rm_watch of the closed number", inotify_rm_watch(closed_one(), 1));
	say("inotify_add_watch on the closed number",
	    inotify_add_watch(closed_one(), "/tmp", IN_MODIFY));
	say("fanotify_mark on the closed number",
	    fanotify_mark(closed_one(), FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, "/tmp"));
	say("epoll_wait on the closed number", epoll_wait(closed_one(), &ev, 1, 0));
	say("epoll_pwait on the closed number", epoll_pwait(closed_one(), &ev, 1, 0, NULL));
	if (pipe(p)) {
		say("pipe", -1);
		return;
	}
	say("epoll_ctl on the closed number", epoll_ctl(closed_one(), EPOLL_CTL_ADD, p[0], &ev));
	close(p[0]);
	close(p[1]);
}

/* poll answers a closed number with POLLNVAL in revents, not an error. */
static void say_poll(const char *what, int r, short revents)
{
	if (r < 0)
		say(what, r);
	else
		printf("%s: %d, revents %#x\n", what, r, (unsigned int)revents);
}

static void stale_poll(void)
{
	const struct timespec zero = { 0, 0 };
	struct pollfd p = { .events = POLLIN };
	int r;

	p.fd = closed_one();
	r = poll(&p, 1, 0);
	say_poll("poll of the closed number", r, p.revents);
	p.fd = closed_one();
	p.revents = 0;
	r = ppoll(&p, 1, &zero, NULL);
	say_poll("ppoll of the closed number", r, p.revents);
	p.fd = closed_one();
	p.revents = 0;
	r = __poll_chk(&p, 1, 0, sizeof(p));
	say_poll("__poll_chk of the closed number", r, p.revents);
	p.fd = closed_one();
	p.revents = 0;
	r = __ppoll_chk(&p, 1, &zero, NULL, sizeof(p));
	say_poll("__ppoll_chk of the closed number", r, p.revents);
}

/* No other UMFS file is open here: select must still see the number closed. */
static void stale_select(void)
{
	const struct timespec zero_ts = { 0, 0 };
	struct timeval zero = { 0, 0 };
	fd_set rs;
	int fd;

	FD_ZERO(&rs);
	fd = closed_one();
	FD_SET(fd, &rs);
	say("select of the closed number", select(fd + 1, &rs, NULL, NULL, &zero));
	FD_ZERO(&rs);
	fd = closed_one();
	FD_SET(fd, &rs);
	say("pselect of the closed number", pselect(fd + 1, &rs, NULL, NULL, &zero_ts, NULL));
}

/* Passing the closed number on: SCM_RIGHTS (over a pair made before the
 * close) and a reopen through /dev/fd. */
static void stale_passing(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = "r", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	char devfd[32];
	int sp[2], fd;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp)) {
		say("socketpair", -1);
		return;
	}
	fd = closed_one();
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	say("sendmsg of the closed number (SCM_RIGHTS)", sendmsg(sp[0], &mh, MSG_DONTWAIT));
	close(sp[0]);
	close(sp[1]);
	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", closed_one());
	say("open /dev/fd/N of the closed number", fd = open(devfd, O_RDONLY));
	if (fd >= 0)
		close(fd);
}

/* login_tty makes the caller a session leader: in a child, which parks a
 * number of its own (a fork closes the parent's). */
static void stale_login_tty(void)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		say("login_tty of the closed number, in a child", login_tty(closed_one()));
		_exit(0);
	}
	waitpid(pid, &status, 0);
}

/* mq_close is glibc's own close system call: EBADF on the closed number,
 * and the next open's number must be open in the kernel. Last: it would
 * close a parked number behind the library's back. */
static void stale_mq_close(void)
{
	int fd;

	say("mq_close of the closed number", mq_close(closed_one()));
	say("then an open", fd = open_in("a", O_RDWR));
	say("its number is open in the kernel", kernel_getfd(fd) >= 0);
	close(fd);
}

/* The closed number answers as closed to every call, each made right
 * after a close, also through C library functions that make their
 * system calls themselves. */
static void stale_uses(void)
{
	struct stat st;
	char b[8];
	int fd, r;

	say("fstat of the closed number", fstat(closed_one(), &st));
	say("read of the closed number", read(closed_one(), b, 1));
	say("write of the closed number", write(closed_one(), "x", 1));
	say("lseek of the closed number", lseek(closed_one(), 0, SEEK_SET));
	say("fcntl F_GETFD of the closed number", fcntl(closed_one(), F_GETFD));
	say("fsync of the closed number", fsync(closed_one()));
	say("fchmod of the closed number", fchmod(closed_one(), 0600));
	say("flock of the closed number", flock(closed_one(), LOCK_SH));
	say("openat from the closed number",
	    r = openat(closed_one(), "x", O_CREAT | O_RDWR, 0644));
	if (r >= 0)
		close(r);
	say("fchdir to the closed number", fchdir(closed_one()));
	say("close of the closed number", close(closed_one()));
	say("getdents of the closed number",
	    syscall(SYS_getdents64, closed_one(), b, sizeof(b)));
	fd = closed_one();
	say("dup2 onto the closed number", dup2(1, fd));
	r = fstat(1, &st) == 0 ? (int)st.st_ino : -1;
	say("it is stdout's", fstat(fd, &st) == 0 && (int)st.st_ino == r ? 1 : 0);
	close(fd);
	closed_one();
	say("epoll_create1 after a close", r = epoll_create1(0));
	close(r);
	closed_one();
	say("eventfd after a close", r = eventfd(0, 0));
	close(r);
	closed_one();
	say("timerfd_create after a close", r = timerfd_create(CLOCK_MONOTONIC, 0));
	close(r);
	closed_one();
	say("inotify_init1 after a close", r = inotify_init1(0));
	close(r);
	closed_one();
	say("memfd_create after a close", r = memfd_create("fdnum", 0));
	close(r);
	stale_tty();
	stale_sockets();
	stale_pipes_and_timers();
	stale_events_and_dirents();
	stale_notify();
	stale_poll();
	stale_select();
	stale_passing();
	stale_login_tty();
	stale_mq_close();
}

/* A kernel and a UMFS descriptor, the kernel's opened first or second and
 * closed second or first; then the next UMFS open, and after it a kernel
 * open (then_kernel) or another UMFS one. */
static void pair_step(const char *label, bool kernel_first, bool umfs_closed_first,
		      bool then_kernel)
{
	char what[128];
	int a, k, c, d;

	k = kernel_first ? open("/dev/null", O_RDONLY) : -1;
	a = open_in("a", O_RDWR);
	if (!kernel_first)
		k = open("/dev/null", O_RDONLY);
	if (!umfs_closed_first)
		close(k);
	close(a);
	if (umfs_closed_first)
		close(k);
	snprintf(what, sizeof(what), "%s: open", label);
	say(what, c = open_in("c", O_RDWR));
	say("then", d = then_kernel ? open("/dev/null", O_RDONLY) : open_in("b", O_RDWR));
	close(c);
	close(d);
}

static void umfs_order(void)
{
	int a, b, c, d;

	a = open_in("a", O_CREAT | O_RDWR);
	b = open_in("b", O_CREAT | O_RDWR);
	close(a);
	say("lower of two closed first, reopened", c = open_in("c", O_CREAT | O_RDWR));
	close(b);
	close(c);
	say("after both closed", a = open_in("a", O_RDWR));
	say("next", b = open_in("b", O_RDWR));
	close(a);
	close(b);

	pair_step("kernel lower freed", true, true, false);
	pair_step("kernel higher freed", false, true, true);
	pair_step("kernel lower freed first", true, false, false);
	{
		FILE *f = fopen("/dev/null", "r");

		a = open_in("a", O_RDWR);
		fclose(f);
		close(a);
		say("fclose lower, then close: open", c = open_in("c", O_RDWR));
		close(c);
		f = popen("true", "r");
		a = open_in("a", O_RDWR);
		pclose(f);
		close(a);
		say("pclose lower, then close: open", c = open_in("c", O_RDWR));
		close(c);
		a = open_in("a", O_RDWR);
		d = open_in("b", O_RDWR);
		f = fopen("/dev/null", "r");
		close(a);
		close(d);
		fclose(f);
		say("two closed, then fclose of a higher one: open", c = open_in("c", O_RDWR));
		close(c);
	}

	a = open_in("a", O_RDWR);
	close(a);
	close_range(3, ~0u, 0);
	say("after close_range", a = open_in("a", O_RDWR));
	close(a);
}

/* close_range over numbers far apart: UMFS and kernel descriptors moved
 * up (dup2), a part of the range, then all of it; what stays open reads,
 * and the library's own still serve the next open. */
static void close_range_spread(void)
{
	char b[8] = "";
	int a = open_in("a", O_RDWR), k = open("/dev/null", O_RDONLY);

	say("dup2 of a UMFS file to 500", dup2(a, 500));
	say("and to 700", dup2(a, 700));
	say("dup2 of /dev/null to 650", dup2(k, 650));
	say("and to 950", dup2(k, 950));
	close(a);
	close(k);
	say("close_range(600, 800)", close_range(600, 800, 0));
	say("then 650", fcntl(650, F_GETFD));
	say("then 700", fcntl(700, F_GETFD));
	say("500 reads", pread(500, b, 1, 0));
	say("950", fcntl(950, F_GETFD));
	say("close_range(3, ~0)", close_range(3, ~0u, 0));
	say("then 500", fcntl(500, F_GETFD));
	say("then 950", fcntl(950, F_GETFD));
	say("then an open", a = open_in("a", O_RDWR));
	say("that reads", pread(a, b, 1, 0));
	close(a);
}

static void cloexec_flags(void)
{
	int fd;

	fd = open_in("a", O_RDWR | O_CLOEXEC);
	close(fd);
	say("plain open after a cloexec one: FD_CLOEXEC", fcntl(fd = open_in("b", O_RDWR), F_GETFD));
	close(fd);
	say("cloexec open after a plain one: FD_CLOEXEC",
	    fcntl(fd = open_in("c", O_RDWR | O_CLOEXEC), F_GETFD));
	fcntl(fd, F_SETFD, 0);
	close(fd);
	say("cloexec open after F_SETFD 0: FD_CLOEXEC",
	    fcntl(fd = open_in("a", O_RDWR | O_CLOEXEC), F_GETFD));
	ioctl(fd, FIONCLEX);
	close(fd);
	say("plain open after FIONCLEX: FD_CLOEXEC", fcntl(fd = open_in("b", O_RDWR), F_GETFD));
	ioctl(fd, FIOCLEX);
	close(fd);
	say("plain open after FIOCLEX: FD_CLOEXEC", fcntl(fd = open_in("c", O_RDWR), F_GETFD));
	close(fd);
}

/* Files opened in a parent and a child after a close keep their bytes apart. */
static void fork_and_exec(void)
{
	int fd = closed_one(), status, c;
	char b[16] = "";
	ssize_t r;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		c = open_in("child", O_CREAT | O_RDWR | O_TRUNC);
		printf("child open: %d\n", c);
		_exit(write(c, "child", 5) == 5 ? 0 : 1);
	}
	c = open_in("parent", O_CREAT | O_RDWR | O_TRUNC);
	r = write(c, "parent", 6);
	waitpid(pid, &status, 0); /* the child's line first */
	say("parent open after fork", c);
	say("parent write", r);
	say("child status", WIFEXITED(status) ? WEXITSTATUS(status) : 99);
	close(c);
	c = open_in("child", O_RDONLY);
	say("child's file", read(c, b, sizeof(b) - 1));
	printf("child's bytes: %s\n", b);
	close(c);

	fd = closed_one();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char num[16];

		snprintf(num, sizeof(num), "%d", fd);
		execl(self, self, "check", num, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	fd = closed_one();
	fflush(stdout);
	{
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "%s check %d", self, fd);
		say("system status", system(cmd));
	}
}

static void nofile_limit(void)
{
	struct rlimit old, rl;
	int fd = closed_one(), k;

	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)fd + 1; /* room for exactly one more number */
	setrlimit(RLIMIT_NOFILE, &rl);
	say("open /dev/null at the limit", k = open("/dev/null", O_RDONLY));
	close(k);
	fd = closed_one();
	say("socket at the limit", k = socket(AF_UNIX, SOCK_DGRAM, 0));
	close(k);
	setrlimit(RLIMIT_NOFILE, &old);
}

/* Under UMFS: the number of a closed file stays open in the kernel
 * (parked) and the next open takes it, however many times. */
static int parked(void)
{
	int fd = closed_one(), again = 0;

	printf("closed number held by the kernel: %s\n", kernel_getfd(fd) >= 0 ? "yes" : "no");
	for (int i = 0; i < 1000; i++) {
		int n = open_in("p", O_CREAT | O_RDWR);

		again += n == fd && kernel_getfd(fd) >= 0;
		close(n);
	}
	printf("opens that took it back: %d\n", again);
	return 0;
}

/* A program that drops privileges after a UMFS close: the closed number
 * is still closed, and every open is judged by the new credentials. */
static int drop(void)
{
	int fd = closed_one(), k;
	struct stat st;
	char buf[16], p[PATH_IN_MAX];

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
		say("drop to uid 65534", -1);
		return 1;
	}
	say("fstat of the closed number after the drop", fstat(fd, &st));
	say("read of the closed number after the drop", read(fd, buf, 1));
	say("open /dev/null after the drop", k = open("/dev/null", O_RDONLY));
	close(k);
	say("root's 0644 file, read-write", k = open_in("rootfile", O_RDWR));
	close(k);
	say("root's 0644 file, read-only", k = open_in("rootfile", O_RDONLY));
	say("its bytes", read(k, buf, sizeof(buf)));
	close(k);
	say("write to root's 0644 file by O_APPEND", k = open_in("rootfile", O_WRONLY | O_APPEND));
	close(k);
	say("create in the 0777 directory", k = open_in("mine", O_CREAT | O_EXCL | O_RDWR));
	say("write to it", write(k, "abc", 3));
	close(k);
	say("its owner", stat(in_dir("mine", p), &st) < 0 ? -1 : (long)st.st_uid);
	say("its reopen", k = open_in("mine", O_RDONLY));
	close(k);
	say("create in root's 0755 directory", k = open_in("rootdir/x", O_CREAT | O_RDWR));
	close(k);
	say("chmod of root's file", chmod(in_dir("rootfile", p), 0666));
	say("unlink of root's file in the 0777 directory", unlink(in_dir("rootfile", p)));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "check") == 0) {
		int fd = atoi(argv[2]);

		printf("after exec, fd %d: %s\n", fd, fcntl(fd, F_GETFD) < 0 ? "closed" : "open");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "parked") == 0) {
		dir = argv[2];
		return parked();
	}
	if (argc == 3 && strcmp(argv[1], "drop") == 0) {
		dir = argv[2];
		return drop();
	}
	if (argc != 2) {
		fprintf(stderr, "usage: shim_fdnum DIR | check FD | parked DIR | drop DIR\n");
		return 2;
	}
	dir = argv[1];
	if (!realpath("/proc/self/exe", self))
		return 1;
	close_range_first();
	kernel_makers();
	refused_claims();
	stale_uses();
	umfs_order();
	close_range_spread();
	cloexec_flags();
	fork_and_exec();
	nofile_limit();
	return 0;
}
