/* SPDX-License-Identifier: MIT */
/*
 * calls_fdpass.c - calls on a descriptor that the C library makes with
 * system calls of its own, out of the library's sight: terminals and
 * pseudo-terminals, socket options and transfers, vmsplice,
 * namespaces, timers, event counters, epoll and inotify instances,
 * message queues, and the checked variants that _FORTIFY_SOURCE builds
 * call.
 *
 * A UMFS descriptor is a token to the kernel, a directory: for these
 * calls its answer is a regular file's (ENOTTY, ENOTSOCK, EINVAL), so
 * they pass through. What each must see first is the number itself: a
 * parked number (ofd_slot.c) is closed for real (fd_pass_ok), so that
 * the kernel answers EBADF as for any closed number, and the library's
 * own numbers are not the program's. The few that read, write, list or
 * close the file are served through the library's own calls.
 */
#include <mqueue.h>
#include <pty.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>
#include <utmp.h>

#include "shim.h"

/* ------------------------------------------------------------------ */
/* Terminals and pseudo-terminals                                       */
/* ------------------------------------------------------------------ */

SHIM_API int tcgetattr(int fd, struct termios *t)
{
	return fd_pass_ok(fd) ? SYS(tcgetattr)(fd, t) : -1;
}

SHIM_API int tcsetattr(int fd, int when, const struct termios *t)
{
	return fd_pass_ok(fd) ? SYS(tcsetattr)(fd, when, t) : -1;
}

SHIM_API pid_t tcgetpgrp(int fd)
{
	return fd_pass_ok(fd) ? SYS(tcgetpgrp)(fd) : -1;
}

SHIM_API int tcsetpgrp(int fd, pid_t pgrp)
{
	return fd_pass_ok(fd) ? SYS(tcsetpgrp)(fd, pgrp) : -1;
}

SHIM_API pid_t tcgetsid(int fd)
{
	return fd_pass_ok(fd) ? SYS(tcgetsid)(fd) : -1;
}

SHIM_API int tcflush(int fd, int queue)
{
	return fd_pass_ok(fd) ? SYS(tcflush)(fd, queue) : -1;
}

SHIM_API int tcdrain(int fd)
{
	return fd_pass_ok(fd) ? SYS(tcdrain)(fd) : -1;
}

SHIM_API int tcflow(int fd, int action)
{
	return fd_pass_ok(fd) ? SYS(tcflow)(fd, action) : -1;
}

SHIM_API int tcsendbreak(int fd, int duration)
{
	return fd_pass_ok(fd) ? SYS(tcsendbreak)(fd, duration) : -1;
}

SHIM_API char *ttyname(int fd)
{
	return fd_pass_ok(fd) ? SYS(ttyname)(fd) : NULL;
}

/* ttyname_r and ptsname_r return the error number */
SHIM_API int ttyname_r(int fd, char *buf, size_t len)
{
	return fd_pass_ok(fd) ? SYS(ttyname_r)(fd, buf, len) : EBADF;
}

SHIM_API int __ttyname_r_chk(int fd, char *buf, size_t len, size_t room)
{
	return fd_pass_ok(fd) ? SYS(__ttyname_r_chk)(fd, buf, len, room) : EBADF;
}

SHIM_API char *ptsname(int fd)
{
	return fd_pass_ok(fd) ? SYS(ptsname)(fd) : NULL;
}

SHIM_API int ptsname_r(int fd, char *buf, size_t len)
{
	return fd_pass_ok(fd) ? SYS(ptsname_r)(fd, buf, len) : EBADF;
}

SHIM_API int __ptsname_r_chk(int fd, char *buf, size_t len, size_t room)
{
	return fd_pass_ok(fd) ? SYS(__ptsname_r_chk)(fd, buf, len, room) : EBADF;
}

SHIM_API int grantpt(int fd)
{
	return fd_pass_ok(fd) ? SYS(grantpt)(fd) : -1;
}

SHIM_API int unlockpt(int fd)
{
	return fd_pass_ok(fd) ? SYS(unlockpt)(fd) : -1;
}

/* login_tty(3)'s steps through the library's own calls: the C library's
 * would put the terminal on 0, 1 and 2 unseen, and U-info would go on
 * naming the UMFS files they were (a pty child's output written there). */
SHIM_API int login_tty(int fd)
{
	SYS(setsid)(); /* a group leader stays one: the ioctl then says */
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		return -1;
	for (int std = 0; std <= 2; std++)
		while (dup2(fd, std) < 0 && errno == EBUSY)
			;
	if (fd > 2)
		close(fd);
	return 0;
}

/* The terminal's two descriptors are the lowest free numbers. */
SHIM_API int openpty(int *master, int *slave, char *name, const struct termios *t,
		     const struct winsize *w)
{
	fd_unpark_all();
	return SYS(openpty)(master, slave, name, t, w);
}

SHIM_API int posix_openpt(int flags)
{
	fd_unpark_all();
	return SYS(posix_openpt)(flags);
}

SHIM_API int getpt(void)
{
	fd_unpark_all();
	return SYS(getpt)();
}

/* forkpty(3): the child logs in on the terminal through login_tty above. */
SHIM_API pid_t forkpty(int *master, char *name, const struct termios *t, const struct winsize *w)
{
	int m, s;
	pid_t pid;

	if (openpty(&m, &s, name, t, w) < 0)
		return -1;
	pid = SYS(fork)();
	if (pid == 0) {
		close(m);
		if (login_tty(s) < 0)
			_exit(1);
		return 0;
	}
	if (pid > 0)
		*master = m;
	else
		close(m);
	close(s);
	return pid;
}

/* ------------------------------------------------------------------ */
/* Sockets: the calls naming no address (those that do: calls_socket.c) */
/* ------------------------------------------------------------------ */

SHIM_API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return fd_pass_ok(fd) ? SYS(getsockopt)(fd, level, name, val, len) : -1;
}

SHIM_API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return fd_pass_ok(fd) ? SYS(setsockopt)(fd, level, name, val, len) : -1;
}

SHIM_API ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return fd_pass_ok(fd) ? SYS(send)(fd, buf, len, flags) : -1;
}

SHIM_API ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return fd_pass_ok(fd) ? SYS(recv)(fd, buf, len, flags) : -1;
}

SHIM_API ssize_t __recv_chk(int fd, void *buf, size_t len, size_t room, int flags)
{
	return fd_pass_ok(fd) ? SYS(__recv_chk)(fd, buf, len, room, flags) : -1;
}

SHIM_API int shutdown(int fd, int how)
{
	return fd_pass_ok(fd) ? SYS(shutdown)(fd, how) : -1;
}

SHIM_API int listen(int fd, int backlog)
{
	return fd_pass_ok(fd) ? SYS(listen)(fd, backlog) : -1;
}

SHIM_API int sockatmark(int fd)
{
	return fd_pass_ok(fd) ? SYS(sockatmark)(fd) : -1;
}

/* ------------------------------------------------------------------ */
/* vmsplice, namespaces, timers, epoll and inotify instances            */
/* ------------------------------------------------------------------ */

SHIM_API ssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned int flags)
{
	return fd_pass_ok(fd) ? SYS(vmsplice)(fd, iov, n, flags) : -1;
}

SHIM_API int setns(int fd, int nstype)
{
	return fd_pass_ok(fd) ? SYS(setns)(fd, nstype) : -1;
}

SHIM_API int timerfd_settime(int fd, int flags, const struct itimerspec *value,
			     struct itimerspec *old)
{
	return fd_pass_ok(fd) ? SYS(timerfd_settime)(fd, flags, value, old) : -1;
}

SHIM_API int timerfd_gettime(int fd, struct itimerspec *value)
{
	return fd_pass_ok(fd) ? SYS(timerfd_gettime)(fd, value) : -1;
}

SHIM_API int epoll_wait(int fd, struct epoll_event *ev, int n, int timeout)
{
	return fd_pass_ok(fd) ? SYS(epoll_wait)(fd, ev, n, timeout) : -1;
}

SHIM_API int epoll_pwait(int fd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask)
{
	return fd_pass_ok(fd) ? SYS(epoll_pwait)(fd, ev, n, timeout, mask) : -1;
}

SHIM_API int epoll_pwait2(int fd, struct epoll_event *ev, int n, const struct timespec *timeout,
			  const sigset_t *mask)
{
	return fd_pass_ok(fd) ? SYS(epoll_pwait2)(fd, ev, n, timeout, mask) : -1;
}

SHIM_API int inotify_rm_watch(int fd, int wd)
{
	return fd_pass_ok(fd) ? SYS(inotify_rm_watch)(fd, wd) : -1;
}

/* ------------------------------------------------------------------ */
/* Served: the calls that read, write, list or close the file           */
/* ------------------------------------------------------------------ */

/* Eight bytes of a UMFS file, as the C library reads an event counter. */
SHIM_API int eventfd_read(int fd, eventfd_t *value)
{
	if (likely(uinfo_peek(fd) == NULL))
		return SYS(eventfd_read)(fd, value);
	return read(fd, value, sizeof(*value)) == (ssize_t)sizeof(*value) ? 0 : -1;
}

SHIM_API int eventfd_write(int fd, eventfd_t value)
{
	if (likely(uinfo_peek(fd) == NULL))
		return SYS(eventfd_write)(fd, value);
	return write(fd, &value, sizeof(value)) == (ssize_t)sizeof(value) ? 0 : -1;
}

/* The type as the library's fstat says (a UMFS file is no directory),
 * errno kept as the C library keeps it, even on a failure. */
SHIM_API int isfdtype(int fd, int type)
{
	struct stat st;
	int saved = errno, r;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(isfdtype)(fd, type);
	r = fstat(fd, &st);
	errno = saved;
	return r == 0 ? (st.st_mode & S_IFMT) == (mode_t)type : r;
}

/* The offset before, then the entries, as the C library makes them. */
SHIM_API ssize_t getdirentries(int fd, char *buf, size_t len, off_t *base)
{
	off_t at;
	ssize_t r;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(getdirentries)(fd, buf, len, base);
	at = lseek(fd, 0, SEEK_CUR);
	r = getdents64(fd, buf, len);
	if (r >= 0)
		*base = at;
	return r;
}

/* A message queue's descriptor is closed as any is: a UMFS one by the
 * library, a parked number answers EBADF. */
SHIM_API int mq_close(mqd_t fd)
{
	if (uinfo_peek(fd) != NULL)
		return close(fd);
	fd_note_free(fd);
	return SYS(mq_close)(fd);
}

/* ------------------------------------------------------------------ */
/* The checked polls of _FORTIFY_SOURCE                                 */
/* ------------------------------------------------------------------ */

/* The C library's check on the array's room (it aborts), then poll. */
static bool poll_room_ok(nfds_t n, size_t room)
{
	return room / sizeof(struct pollfd) >= n;
}

SHIM_API int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t room)
{
	if (unlikely(!poll_room_ok(n, room)))
		return SYS(__poll_chk)(fds, n, timeout, room);
	return poll(fds, n, timeout);
}

SHIM_API int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			 const sigset_t *mask, size_t room)
{
	if (unlikely(!poll_room_ok(n, room)))
		return SYS(__ppoll_chk)(fds, n, ts, mask, room);
	return ppoll(fds, n, ts, mask);
}
