// SPDX-License-Identifier: MIT
/*
 * fam_fdcalls.c - the "fdcalls" family: C library functions that take a
 * descriptor and make their system calls inside the C library, where a
 * library interposed on the program's calls never sees them: the terminal
 * and pty calls, the socket calls, tee and vmsplice, timerfd, eventfd_read
 * and eventfd_write (a read or write of 8 bytes on a regular file),
 * getdirentries, the inotify, fanotify and epoll calls given the file as
 * their own descriptor, poll with its _FORTIFY_SOURCE variants, select,
 * passing the descriptor (SCM_RIGHTS, /dev/fd/N), and mq_close, which
 * closes any descriptor; login_tty and setns in a child; isfdtype and
 * aio_cancel. Each runs on a regular file and on a directory of DIR and
 * must answer as the kernel does for that file. A child of forkpty, and
 * one of openpty and login_tty, whose 1 was a file of DIR, must write to
 * the terminal; execveat runs a script of DIR every way it names one,
 * posix_spawnp finds programs in a directory of DIR on PATH, and
 * setmntent reads a table stored in DIR and finds DIR's file system in
 * the kernel's.
 *
 * Then the calls that hand a path to the kernel's notification and root:
 * inotify_add_watch, fanotify_mark and chroot (in a child each) on DIR's
 * names, absolute, spelled with "//" or "/./", and relative to a cwd in
 * DIR, and on host names (/dev/null, /proc/self, "//tmp") that must stay
 * the kernel's while a file of DIR is open. fanotify needs CAP_SYS_ADMIN:
 * without it only fanotify_init's refusal is printed.
 */
#include <aio.h>
#include <mntent.h>
#include <mqueue.h>
#include <pty.h>
#include <spawn.h>
#include <stdbool.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <utmp.h>

#include "posix.h"

/* The _FORTIFY_SOURCE entries, called as a fortified poll() would. */
extern int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
extern int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		       const sigset_t *ss, size_t fdslen);

/* A watch descriptor's number depends on the watches added before it
 * (UMFS refuses some that tmpfs grants): printed as "wd". */
#define RWD(name, expr) do {						\
	int w_, e_;							\
	errno = 0;							\
	w_ = (expr);							\
	e_ = errno;							\
	if (w_ >= 0)							\
		emit(name, "%s = wd", #expr);				\
	else								\
		emit(name, "%s = %d %s", #expr, w_, ename(e_));		\
} while (0)

/* chroot changes the process's root: each in a child of its own. */
#define CHROOT_IN_CHILD(name, path) chroot_in_child(name, "chroot(" #path ")", path)

/* "fdcalls/WHAT-CALL", kept for the check-name registry. */
static const char *cn(const char *what, const char *call)
{
	char *s;

	if (asprintf(&s, "fdcalls/%s-%s", what, call) < 0)
		abort();
	return s;
}

/* P(rel) with lead before it: "/" spells "//DIR/rel", "/." "/./DIR/rel". */
static const char *P_spelled(const char *lead, const char *rel)
{
	char *s;

	if (asprintf(&s, "%s%s", lead, P(rel)) < 0)
		abort();
	return s;
}

static void tty_calls(const char *what, int fd)
{
	struct termios tio;
	char buf[64];

	memset(&tio, 0, sizeof(tio));
	R(cn(what, "isatty"), isatty(fd));
	R(cn(what, "tcgetattr"), tcgetattr(fd, &tio));
	R(cn(what, "tcsetattr"), tcsetattr(fd, TCSANOW, &tio));
	R(cn(what, "tcgetpgrp"), tcgetpgrp(fd));
	R(cn(what, "tcsetpgrp"), tcsetpgrp(fd, getpgrp()));
	R(cn(what, "tcgetsid"), tcgetsid(fd));
	R(cn(what, "tcflush"), tcflush(fd, TCIFLUSH));
	R(cn(what, "tcdrain"), tcdrain(fd));
	R(cn(what, "tcflow"), tcflow(fd, TCOON));
	R(cn(what, "tcsendbreak"), tcsendbreak(fd, 0));
	RP(cn(what, "ttyname"), ttyname(fd));
	RE(cn(what, "ttyname_r"), ttyname_r(fd, buf, sizeof(buf)));
}

static void pty_calls(const char *what, int fd)
{
	char buf[64];

	RP(cn(what, "ptsname"), ptsname(fd));
	RE(cn(what, "ptsname_r"), ptsname_r(fd, buf, sizeof(buf)));
	R(cn(what, "grantpt"), grantpt(fd));
	R(cn(what, "unlockpt"), unlockpt(fd));
}

static void socket_calls(const char *what, int fd)
{
	socklen_t len = sizeof(int);
	int v = 1;
	char b[4];

	R(cn(what, "getsockopt"), getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	R(cn(what, "setsockopt"), setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
	R(cn(what, "send"), send(fd, "x", 1, MSG_DONTWAIT));
	R(cn(what, "recv"), recv(fd, b, sizeof(b), MSG_DONTWAIT));
	R(cn(what, "shutdown"), shutdown(fd, SHUT_RDWR));
	R(cn(what, "listen"), listen(fd, 1));
	R(cn(what, "sockatmark"), sockatmark(fd));
}

/* tee and vmsplice want pipes; timerfd calls want a timer. */
static void pipe_timer_calls(const char *what, int fd)
{
	struct itimerspec its;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	int p[2];

	memset(&its, 0, sizeof(its));
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		setup_fail("pipe2", "", errno);
		return;
	}
	R(cn(what, "tee-in"), tee(fd, p[1], 1, SPLICE_F_NONBLOCK));
	R(cn(what, "tee-out"), tee(p[0], fd, 1, SPLICE_F_NONBLOCK));
	R(cn(what, "vmsplice"), vmsplice(fd, &iov, 1, SPLICE_F_NONBLOCK));
	close(p[0]);
	close(p[1]);
	R(cn(what, "timerfd_settime"), timerfd_settime(fd, 0, &its, NULL));
	R(cn(what, "timerfd_gettime"), timerfd_gettime(fd, &its));
}

/* eventfd_read and eventfd_write are an 8-byte read and write: on a
 * regular file they move its bytes and its offset. */
static void eventfd_calls(const char *what, int fd, const char *rel)
{
	eventfd_t v = 0;
	int r;

	lseek(fd, 0, SEEK_SET);
	errno = 0;
	r = eventfd_read(fd, &v);
	if (r)
		emit(cn(what, "eventfd_read"), "eventfd_read(fd, &v) = %d %s", r, ename(errno));
	else
		emit(cn(what, "eventfd_read"), "eventfd_read(fd, &v) = 0, v = %s",
		     esc(&v, sizeof(v)));
	memcpy(&v, "ABCDEFGH", sizeof(v));
	R(cn(what, "eventfd_write"), eventfd_write(fd, v));
	if (!rel)
		return;
	offset(cn(what, "eventfd-offset"), fd);
	content(cn(what, "eventfd-content"), rel);
}

/* getdirentries: every entry it gives, sorted, or its error. */
static void getdirentries_call(const char *what, int fd)
{
	struct strs names = { 0 };
	char buf[4096];
	off_t base = 0;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	errno = 0;
	while ((n = getdirentries(fd, buf, sizeof(buf), &base)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent *d = (struct dirent *)(buf + off);

			strs_add(&names, "%s:%s", d->d_name, dtype(d->d_type));
			off += d->d_reclen;
		}
	}
	if (n < 0)
		emit(cn(what, "getdirentries"), "getdirentries(fd, buf, 4096, &base) = -1 %s%s%s",
		     ename(errno), names.n ? " after " : "", strs_join(&names, 1));
	else
		emit(cn(what, "getdirentries"), "getdirentries(fd, buf, 4096, &base) = %s",
		     strs_join(&names, 1));
	strs_free(&names);
}

/* The file given where an inotify, fanotify or epoll descriptor goes. */
static void notify_calls(const char *what, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	RWD(cn(what, "inotify_add_watch"), inotify_add_watch(fd, "/tmp", IN_MODIFY));
	R(cn(what, "inotify_rm_watch"), inotify_rm_watch(fd, 1));
	R(cn(what, "fanotify_mark"),
	  fanotify_mark(fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, "/tmp"));
	R(cn(what, "epoll_wait"), epoll_wait(fd, &ev, 1, 0));
	R(cn(what, "epoll_pwait"), epoll_pwait(fd, &ev, 1, 0, NULL));
	R(cn(what, "epoll_ctl-as-epfd"), epoll_ctl(fd, EPOLL_CTL_ADD, ep, &ev));
	R(cn(what, "epoll_ctl-as-target"), epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	close(ep);
}

static const char *fmt_revents(short ev)
{
	static const struct {
		short bit;
		const char *name;
	} bits[] = {
		{ POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" }, { POLLERR, "ERR" },
		{ POLLHUP, "HUP" }, { POLLNVAL, "NVAL" }, { POLLRDNORM, "RDNORM" },
		{ POLLRDBAND, "RDBAND" }, { POLLWRNORM, "WRNORM" }, { POLLWRBAND, "WRBAND" },
	};
	static char b[128];
	size_t n = 0;

	b[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (ev & bits[i].bit)
			n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%s", n ? "|" : "",
					      bits[i].name);
	return n ? b : "0";
}

static void show_poll(const char *name, const char *call, int r, int e, short revents)
{
	if (r < 0)
		emit(name, "%s = %d %s", call, r, ename(e));
	else
		emit(name, "%s = %d, revents %s", call, r, fmt_revents(revents));
}

static void poll_calls(const char *what, int fd)
{
	const struct timespec zero = { 0, 0 };
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	int r;

	errno = 0;
	r = poll(&p, 1, 0);
	show_poll(cn(what, "poll"), "poll(&p, 1, 0)", r, errno, p.revents);
	p.revents = 0;
	r = ppoll(&p, 1, &zero, NULL);
	show_poll(cn(what, "ppoll"), "ppoll(&p, 1, &zero, NULL)", r, errno, p.revents);
	p.revents = 0;
	r = __poll_chk(&p, 1, 0, sizeof(p));
	show_poll(cn(what, "__poll_chk"), "__poll_chk(&p, 1, 0, sizeof(p))", r, errno, p.revents);
	p.revents = 0;
	r = __ppoll_chk(&p, 1, &zero, NULL, sizeof(p));
	show_poll(cn(what, "__ppoll_chk"), "__ppoll_chk(&p, 1, &zero, NULL, sizeof(p))", r, errno,
		  p.revents);
}

static void select_calls(const char *what, int fd)
{
	const struct timespec zero_ts = { 0, 0 };
	struct timeval zero = { 0, 0 };
	fd_set rs, ws;
	int r;

	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	errno = 0;
	r = select(fd + 1, &rs, &ws, NULL, &zero);
	emit(cn(what, "select"), "select(fd + 1, {fd}, {fd}, NULL, 0) = %d %s%s", r,
	     r < 0 ? ename(errno) : FD_ISSET(fd, &rs) ? "readable" : "-",
	     r > 0 && FD_ISSET(fd, &ws) ? " writable" : "");
	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	errno = 0;
	r = pselect(fd + 1, &rs, NULL, NULL, &zero_ts, NULL);
	emit(cn(what, "pselect"), "pselect(fd + 1, {fd}, NULL, NULL, 0, NULL) = %d %s", r,
	     r < 0 ? ename(errno) : FD_ISSET(fd, &rs) ? "readable" : "-");
}

/* Sends fd over a socket pair; says how many descriptors came out. */
static void send_rights(const char *what, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = "r", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	char b;
	int sp[2], passed, got = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		setup_fail("socketpair", "", errno);
		return;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	R(cn(what, "sendmsg-rights"), sendmsg(sp[0], &mh, MSG_DONTWAIT));
	iov.iov_base = &b;
	mh.msg_controllen = sizeof(u.buf);
	if (recvmsg(sp[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1) {
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				memcpy(&passed, CMSG_DATA(c), sizeof(int));
				close(passed);
				got++;
			}
		}
	}
	emit(cn(what, "sendmsg-rights-received"), "descriptors received: %d", got);
	close(sp[0]);
	close(sp[1]);
}

/* open("/dev/fd/N") opens the file again, with an offset of its own. */
static void reopen_devfd(const char *what, int fd)
{
	char devfd[32];
	int r;

	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", fd);
	r = RFD(cn(what, "open-devfd"), open(devfd, O_RDONLY | O_CLOEXEC));
	if (r < 0)
		return;
	ST(cn(what, "open-devfd-fstat"), fstat(r, &S));
	close(r);
}

/* isfdtype asks fstat; aio_cancel finds no request of the descriptor's */
static void type_calls(const char *what, int fd)
{
	R(cn(what, "isfdtype-reg"), isfdtype(fd, S_IFREG));
	R(cn(what, "isfdtype-dir"), isfdtype(fd, S_IFDIR));
	R(cn(what, "aio_cancel"), aio_cancel(fd, NULL));
}

static int child_fd;
static const char *child_what;

/* login_tty makes the child a session leader; setns would move it. */
static void side_effect_calls(void)
{
	R(cn(child_what, "setns"), setns(child_fd, 0));
	R(cn(child_what, "login_tty"), login_tty(child_fd));
}

/* mq_close is a close of any descriptor: the number is free after it,
 * the next open takes it, and the file opens and reads again. */
static void mq_close_call(const char *what, int fd, const char *rel)
{
	int k;

	R(cn(what, "mq_close"), mq_close(fd));
	R(cn(what, "mq_close-getfd"), fcntl(fd, F_GETFD));
	k = open("/dev/null", O_RDONLY | O_CLOEXEC);
	emit(cn(what, "mq_close-number-reused"), "open(\"/dev/null\") takes the number: %s",
	     k == fd ? "yes" : "no");
	ST(cn(what, "mq_close-number-reused-fstat"), fstat(k, &S));
	close(k);
	k = RFD(cn(what, "mq_close-reopen"), open(P(rel), O_RDONLY | O_CLOEXEC));
	if (k < 0)
		return;
	ST(cn(what, "mq_close-reopen-fstat"), fstat(k, &S));
	close(k);
}

/* Every call on one descriptor; rel is its name, regular says whether
 * its bytes and offset are worth printing. mq_close, last, closes it. */
static void fd_calls(const char *what, int fd, const char *rel, int regular)
{
	tty_calls(what, fd);
	pty_calls(what, fd);
	socket_calls(what, fd);
	pipe_timer_calls(what, fd);
	eventfd_calls(what, fd, regular ? rel : NULL);
	getdirentries_call(what, fd);
	type_calls(what, fd);
	notify_calls(what, fd);
	poll_calls(what, fd);
	select_calls(what, fd);
	send_rights(what, fd);
	reopen_devfd(what, fd);
	child_fd = fd;
	child_what = what;
	in_child(cn(what, "child"), "setns and login_tty in a child", side_effect_calls);
	mq_close_call(what, fd, rel);
}

static void watch_paths(void)
{
	int ifd = inotify_init1(IN_CLOEXEC);

	if (ifd < 0) {
		setup_fail("inotify_init1", "", errno);
		return;
	}
	RWD("fdcalls/watch-missing", inotify_add_watch(ifd, P("fdcalls/missing"), IN_MODIFY));
	RWD("fdcalls/watch-missing-parent",
	    inotify_add_watch(ifd, P("fdcalls/nodir/x"), IN_MODIFY));
	RWD("fdcalls/watch-notdir", inotify_add_watch(ifd, P("fdcalls/file/x"), IN_MODIFY));
	RWD("fdcalls/watch-dangling", inotify_add_watch(ifd, P("fdcalls/dangling"), IN_MODIFY));
	RWD("fdcalls/watch-onlydir-file",
	    inotify_add_watch(ifd, P("fdcalls/file"), IN_MODIFY | IN_ONLYDIR));
	RWD("fdcalls/watch-slashes-missing",
	    inotify_add_watch(ifd, P_spelled("/", "fdcalls/missing"), IN_MODIFY));
	RWD("fdcalls/watch-dot-missing",
	    inotify_add_watch(ifd, P_spelled("/.", "fdcalls/missing"), IN_MODIFY));
	/* granted by tmpfs, refused by UMFS (known-shim.txt) */
	RWD("fdcalls/watch-file", inotify_add_watch(ifd, P("fdcalls/file"), IN_MODIFY));
	RWD("fdcalls/watch-dir", inotify_add_watch(ifd, P("fdcalls/dir"), IN_MODIFY));
	/* host names, the kernel's whatever is open */
	RWD("fdcalls/watch-dev-null", inotify_add_watch(ifd, "/dev/null", IN_MODIFY));
	RWD("fdcalls/watch-dev-null-onlydir",
	    inotify_add_watch(ifd, "/dev/null", IN_MODIFY | IN_ONLYDIR));
	RWD("fdcalls/watch-proc-self", inotify_add_watch(ifd, "/proc/self", IN_MODIFY));
	RWD("fdcalls/watch-slashes-tmp", inotify_add_watch(ifd, "//tmp", IN_MODIFY));
	RWD("fdcalls/watch-dot-tmp", inotify_add_watch(ifd, "/./tmp", IN_MODIFY));
	RWD("fdcalls/watch-slashes-missing-host",
	    inotify_add_watch(ifd, "//nonexistent-umfs-test", IN_MODIFY));
	close(ifd);
}

static void fanotify_paths(void)
{
	int fan = RFD("fdcalls/fanotify-init",
		      fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY));

	if (fan < 0)
		return;
	R("fdcalls/fanotify-mark-missing",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, P("fdcalls/missing")));
	R("fdcalls/fanotify-mark-notdir",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, P("fdcalls/file/x")));
	R("fdcalls/fanotify-mark-onlydir-file",
	  fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_MODIFY, AT_FDCWD,
			P("fdcalls/file")));
	R("fdcalls/fanotify-mark-slashes-missing",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD,
			P_spelled("/", "fdcalls/missing")));
	/* granted by tmpfs, refused by UMFS (known-shim.txt) */
	R("fdcalls/fanotify-mark-file",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, P("fdcalls/file")));
	R("fdcalls/fanotify-mark-dir",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, P("fdcalls/dir")));
	R("fdcalls/fanotify-mark-dev-null",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, "/dev/null"));
	R("fdcalls/fanotify-mark-slashes-tmp",
	  fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, "//tmp"));
	close(fan);
}

static void chroot_in_child(const char *name, const char *call, const char *path)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		setup_fail("fork", "", errno);
		return;
	}
	if (pid == 0) {
		int r;

		errno = 0;
		r = chroot(path);
		report(name, call, r, errno, AS_NUM);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		emit(name, "child ended with %s", how_ended(st));
}

/* Without CAP_SYS_CHROOT: EPERM once the name is found and searchable. */
static void chroot_unprivileged(void)
{
	R("fdcalls/chroot-dir-unprivileged", chroot(P("fdcalls/dir")));
	R("fdcalls/chroot-missing-unprivileged", chroot(P("fdcalls/missing")));
}

static void chroot_paths(void)
{
	CHROOT_IN_CHILD("fdcalls/chroot-missing", P("fdcalls/missing"));
	CHROOT_IN_CHILD("fdcalls/chroot-notdir", P("fdcalls/file/x"));
	CHROOT_IN_CHILD("fdcalls/chroot-file", P("fdcalls/file"));
	CHROOT_IN_CHILD("fdcalls/chroot-slashes-missing", P_spelled("/", "fdcalls/missing"));
	CHROOT_IN_CHILD("fdcalls/chroot-dot-file", P_spelled("/.", "fdcalls/file"));
	/* granted by tmpfs, refused by UMFS (known-shim.txt) */
	CHROOT_IN_CHILD("fdcalls/chroot-dir", P("fdcalls/dir"));
	if (geteuid() == 0)
		as_user(NOBODY, NOBODY, NULL, 0, chroot_unprivileged);
	else
		chroot_unprivileged();
	/* host names, the kernel's whatever is open */
	CHROOT_IN_CHILD("fdcalls/chroot-dev-null", "/dev/null");
	CHROOT_IN_CHILD("fdcalls/chroot-proc-self", "/proc/self");
	CHROOT_IN_CHILD("fdcalls/chroot-slashes", "//");
	CHROOT_IN_CHILD("fdcalls/chroot-dot-tmp", "/./tmp");
}

/* Names relative to a cwd in DIR are DIR's too. */
static void relative_paths(void)
{
	int ifd = inotify_init1(IN_CLOEXEC);

	if (chdir(P("fdcalls"))) {
		setup_fail("chdir", "fdcalls", errno);
		close(ifd);
		return;
	}
	RWD("fdcalls/watch-relative-missing", inotify_add_watch(ifd, "missing", IN_MODIFY));
	RWD("fdcalls/watch-relative-onlydir-file",
	    inotify_add_watch(ifd, "file", IN_MODIFY | IN_ONLYDIR));
	CHROOT_IN_CHILD("fdcalls/chroot-relative-missing", "missing");
	CHROOT_IN_CHILD("fdcalls/chroot-relative-file", "file");
	close(ifd);
	if (fchdir(topfd))
		setup_fail("fchdir", ".", errno);
}

/* What the terminal's side said and what reached the file: a child of
 * forkpty (or of openpty and login_tty) whose 1 was a file of DIR before
 * it logged in writes whether 1 is a terminal now. */
static void pty_child_says(void)
{
	const char *s = isatty(1) ? "1 is a tty\n" : "1 is not a tty\n";

	if (write(1, s, strlen(s)) < 0)
		_exit(2);
	_exit(0);
}

static void pty_read_back(const char *name, int master, pid_t pid, const char *rel)
{
	char buf[128];
	size_t n = 0;
	ssize_t r;
	int st;

	while (n < sizeof(buf) - 1 && (r = read(master, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r; /* EIO once the child is gone */
	buf[n] = '\0';
	waitpid(pid, &st, 0);
	close(master);
	emit(cn(name, "terminal"), "the terminal read %s, the child %s", esc(buf, n),
	     how_ended(st));
	content(cn(name, "file"), rel);
}

static void pty_logins(void)
{
	int out = openp("fdcalls/ptyout", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC);
	int saved = dup(1), master, slave;
	pid_t pid;

	if (out < 0 || saved < 0)
		return;
	fflush(stdout);
	dup2(out, 1);
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid == 0)
		pty_child_says();
	dup2(saved, 1);
	if (pid < 0)
		emit(cn("forkpty", "terminal"), "forkpty = -1 %s", ename(errno));
	else
		pty_read_back("forkpty", master, pid, "fdcalls/ptyout");
	if (openpty(&master, &slave, NULL, NULL, NULL) == 0) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(master);
			dup2(out, 1);
			if (login_tty(slave) < 0)
				_exit(3);
			pty_child_says();
		}
		close(slave);
		if (pid > 0)
			pty_read_back("login_tty", master, pid, "fdcalls/ptyout");
	}
	close(saved);
	close(out);
}

/* execveat of a script of DIR: relative to a directory descriptor, from
 * the file's own descriptor, through a symlink refused with
 * AT_SYMLINK_NOFOLLOW, from a closed number. */
static void execveat_in_child(const char *name, int dirfd, const char *path, int flags)
{
	char *argv[] = { "script", NULL }, *envp[] = { NULL };
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execveat(dirfd, path, argv, envp, flags);
		printf("%s: execveat = -1 %s\n", name, ename(errno));
		fflush(stdout);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	emit(name, "the child %s", how_ended(st));
}

static void execveat_calls(void)
{
	int dir, file;

	putn("fdcalls/dir/script", "#!/bin/sh\nexit 7\n", 18);
	chmod(P("fdcalls/dir/script"), 0755);
	sl("script", "fdcalls/dir/link");
	dir = openp("fdcalls/dir", O_RDONLY | O_DIRECTORY);
	file = openp("fdcalls/dir/script", O_RDONLY);
	execveat_in_child("fdcalls/execveat-dirfd", dir, "script", 0);
	/* a script named through a close-on-exec descriptor is unreachable */
	fcntl(dir, F_SETFD, FD_CLOEXEC);
	execveat_in_child("fdcalls/execveat-cloexec-dirfd", dir, "script", 0);
	fcntl(dir, F_SETFD, 0);
	execveat_in_child("fdcalls/execveat-dirfd-link", dir, "link", 0);
	execveat_in_child("fdcalls/execveat-nofollow-link", dir, "link", AT_SYMLINK_NOFOLLOW);
	execveat_in_child("fdcalls/execveat-empty-path", file, "", AT_EMPTY_PATH);
	execveat_in_child("fdcalls/execveat-absolute", dir, P("fdcalls/dir/script"), 0);
	execveat_in_child("fdcalls/execveat-file-as-dir", file, "script", 0);
	execveat_in_child("fdcalls/execveat-bad-flag", dir, "script", 0x8000);
	close(file);
	execveat_in_child("fdcalls/execveat-closed", file, "script", 0);
	close(dir);
}

/* posix_spawnp's PATH search, which the C library makes in the child
 * with its own execs: a directory of DIR first on PATH, holding a script,
 * a symlink out of DIR to a host program, and a file that is not
 * executable (passed over for the host's program of that name). */
static void spawn_in(const char *name, const char *path, bool search)
{
	char *argv[] = { "x", NULL }, *envp[] = { NULL };
	pid_t pid;
	int r, st;

	fflush(stdout);
	r = search ? posix_spawnp(&pid, path, NULL, NULL, argv, envp)
		   : posix_spawn(&pid, path, NULL, NULL, argv, envp);
	if (r) {
		emit(name, "= %s", ename(r));
		return;
	}
	waitpid(pid, &st, 0);
	emit(name, "the child %s", how_ended(st));
}

static void spawn_calls(void)
{
	const char *old = getenv("PATH");
	char *saved = old ? strdup(old) : NULL, path[PATH_MAX + 32];

	mk("fdcalls/bin");
	putn("fdcalls/bin/five", "#!/bin/sh\nexit 5\n", 18);
	chmod(P("fdcalls/bin/five"), 0755);
	sl("/bin/true", "fdcalls/bin/true-link");
	put("fdcalls/bin/false", "not a program\n");
	snprintf(path, sizeof(path), "%s:/usr/bin:/bin", P("fdcalls/bin"));
	setenv("PATH", path, 1);
	spawn_in("fdcalls/spawnp-script", "five", true);
	spawn_in("fdcalls/spawnp-link-out", "true-link", true);
	spawn_in("fdcalls/spawnp-not-executable-first", "false", true);
	spawn_in("fdcalls/spawnp-host", "true", true);
	spawn_in("fdcalls/spawnp-missing", "no-such-program", true);
	spawn_in("fdcalls/spawn-link-out", P("fdcalls/bin/true-link"), false);
	spawn_in("fdcalls/spawnp-with-slash", P("fdcalls/bin/five"), true);
	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	free(saved);
}

/* setmntent and getmntent, whose fopen is the C library's own: a table
 * stored in DIR, and the kernel's table, which must name the file system
 * DIR is on (its mount point a prefix of DIR's real path). */
static void mntent_calls(void)
{
	struct mntent *m;
	size_t best = 0;
	FILE *f;

	put("fdcalls/fstab", "src /mnt/x ext4 rw,noatime 0 2\n");
	f = RP("fdcalls/setmntent-file", setmntent(P("fdcalls/fstab"), "r"));
	if (f) {
		m = getmntent(f);
		emit("fdcalls/getmntent-file", "%s %s %s %s %d %d", m ? m->mnt_fsname : "-",
		     m ? m->mnt_dir : "-", m ? m->mnt_type : "-", m ? m->mnt_opts : "-",
		     m ? m->mnt_freq : -1, m ? m->mnt_passno : -1);
		R("fdcalls/endmntent-file", endmntent(f));
	}
	f = RP("fdcalls/setmntent-proc", setmntent("/proc/self/mounts", "r"));
	if (!f)
		return;
	while ((m = getmntent(f)) != NULL) {
		size_t n = strlen(m->mnt_dir);

		if (n > best && strncmp(toprp, m->mnt_dir, n) == 0 &&
		    (toprp[n] == '/' || toprp[n] == '\0' || n == 1))
			best = n;
	}
	endmntent(f);
	emit("fdcalls/getmntent-proc", "a mount other than / holds DIR: %s", best > 1 ? "yes" : "no");
}

void t_fdcalls(void)
{
	int fd, held;

	mk("fdcalls");
	mk("fdcalls/dir");
	mk("fdcalls/dir/sub");
	put("fdcalls/dir/a", "a");
	put("fdcalls/file", "0123456789abcdef-tail");
	sl("nowhere", "fdcalls/dangling");

	fd = openp("fdcalls/file", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		fd_calls("file", fd, "fdcalls/file", 1);
	fd = openp("fdcalls/dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		fd_calls("dir", fd, "fdcalls/dir", 0);

	/* host names stay the kernel's while a file of DIR is open too */
	held = openp("fdcalls/file", O_RDONLY | O_CLOEXEC);
	watch_paths();
	fanotify_paths();
	chroot_paths();
	relative_paths();
	close(held);
	pty_logins();
	execveat_calls();
	spawn_calls();
	mntent_calls();
}
