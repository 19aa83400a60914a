/* SPDX-License-Identifier: MIT */
/*
 * calls_fd.c - descriptor calls: dup family, fcntl (flags, duplication,
 * record locks), flock, lockf, ioctl, isatty, and readiness (poll, select,
 * epoll_ctl).
 *
 * Locks are kept in user space, in the table every process using the pool
 * shares (reclock.c); closing any descriptor of a file releases the
 * process's POSIX locks on it, as POSIX requires.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <linux/capability.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <unistd.h>

#include "shim.h"

#ifndef F_CREATED_QUERY
#define F_CREATED_QUERY 1028 /* F_LINUX_SPECIFIC_BASE + 4, Linux 6.12 */
#endif
#ifndef F_DUPFD_QUERY
#define F_DUPFD_QUERY 1027 /* F_LINUX_SPECIFIC_BASE + 3, Linux 6.10 */
#endif

/* ------------------------------------------------------------------ */
/* dup, pipe                                                            */
/* ------------------------------------------------------------------ */

/* These make descriptors: the lowest free numbers, which a parked one
 * (ofd_slot.c) must not hold. */
SHIM_API int pipe(int fds[2])
{
	fd_unpark_all();
	return SYS(pipe)(fds);
}

SHIM_API int pipe2(int fds[2], int flags)
{
	fd_unpark_all();
	return SYS(pipe2)(fds, flags);
}

SHIM_API int epoll_create(int size)
{
	fd_unpark_all();
	return SYS(epoll_create)(size);
}

SHIM_API int epoll_create1(int flags)
{
	fd_unpark_all();
	return SYS(epoll_create1)(flags);
}

SHIM_API int eventfd(unsigned int count, int flags)
{
	fd_unpark_all();
	return SYS(eventfd)(count, flags);
}

SHIM_API int signalfd(int fd, const sigset_t *mask, int flags)
{
	fd_unpark_all();
	return SYS(signalfd)(fd, mask, flags);
}

SHIM_API int timerfd_create(int clock, int flags)
{
	fd_unpark_all();
	return SYS(timerfd_create)(clock, flags);
}

SHIM_API int inotify_init(void)
{
	fd_unpark_all();
	return SYS(inotify_init)();
}

SHIM_API int inotify_init1(int flags)
{
	fd_unpark_all();
	return SYS(inotify_init1)(flags);
}

SHIM_API int memfd_create(const char *name, unsigned int flags)
{
	fd_unpark_all();
	return SYS(memfd_create)(name, flags);
}

SHIM_API int dup(int fd)
{
	struct ofd *o = fd_get_fast(fd);
	int nfd;

	fd_unpark_all(); /* dup hands out the lowest free number */
	if (likely(o == NULL)) {
		TRACE_PASS(dup, "%d", fd);
		nfd = SYS(dup)(fd);
		devnode_dup(fd, nfd);
		return nfd;
	}
	SHIM_SERVE();
	nfd = SYS(dup)(fd);
	if (nfd < 0) {
		int e = errno;

		ofd_put(o);
		TRACE_SERVED(dup, -e, 0, "%d", fd);
		errno = e;
		return -1;
	}
	if (!uinfo_set(nfd, o)) { /* the call's reference becomes the slot's */
		OS(close)(nfd);
		TRACE_SERVED(dup, -EMFILE, 0, "%d", fd);
		errno = EMFILE;
		return -1;
	}
	if (nfd <= 2)
		stdio_fd_changed(nfd);
	TRACE_SERVED(dup, nfd, 0, "%d", fd);
	return nfd;
}

/* The errno of a dup2/dup3 onto one of the shim's own descriptors: the
 * kernel's, checked in its order, where it would refuse anyway (the shim's
 * numbers sit at the soft limit and above); else EBUSY, rather than lose
 * the shim's descriptor. */
static int dup_to_internal_errno(int old, int new, int flags, bool is_dup3)
{
	int saved_errno = errno, e = EBUSY;
	struct rlimit rl;

	if (is_dup3 && (flags & ~O_CLOEXEC))
		e = EINVAL;
	else if (SYS(getrlimit)(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)new >= rl.rlim_cur)
		e = EBADF;
	else if (SYS(fcntl)(old, F_GETFD) < 0)
		e = EBADF;
	errno = saved_errno;
	return e;
}

/* The kernel's dup2 or dup3, never while the library holds a descriptor
 * of its own at a number the kernel chose (fdguard.c): new may be it. The
 * program's handlers wait for its end, so that none runs the library
 * while this thread's dup holds the library's new descriptors off. */
static int dup_to_kernel(int old, int new, int flags, bool is_dup3)
{
	SHIM_SERVE();
	int r = shim_fdguard_dup_begin();

	if (r < 0) {
		errno = -r;
		return -1;
	}
	r = is_dup3 ? SYS(dup3)(old, new, flags) : SYS(dup2)(old, new);
	shim_fdguard_dup_end();
	return r;
}

static int dup_to(int old, int new, int flags, bool is_dup3)
{
	struct ofd *o, *at_new;
	int r;

	o = fd_get_fast(old);
	at_new = uinfo_peek(new);
	if (likely(o == NULL && at_new == NULL)) {
		TRACE_PASS(dup, "%d, %d", old, new);
		r = dup_to_kernel(old, new, flags, is_dup3);
		if (r >= 0 && old != new)
			devnode_dup(old, r);
		return r;
	}
	SHIM_SERVE();
	if (at_new == UINFO_INTERNAL) {
		if (o)
			ofd_put(o);
		errno = dup_to_internal_errno(old, new, flags, is_dup3);
		return -1;
	}
	if (old == new) {
		if (o)
			ofd_put(o);
		if (is_dup3) {
			errno = EINVAL;
			return -1;
		}
		return new;
	}
	if (o && new >= 0 && !uinfo_covers(new)) { /* before the kernel closes what new holds */
		ofd_put(o);
		errno = EMFILE;
		return -1;
	}
	r = dup_to_kernel(old, new, flags, is_dup3);
	if (r < 0) {
		int e = errno;

		if (o)
			ofd_put(o);
		errno = e;
		return -1;
	}
	uinfo_set(new, o);
	devnode_dup(old, new);
	if (new <= 2)
		stdio_fd_changed(new);
	TRACE_SERVED(dup, new, 0, "%d, %d", old, new);
	return new;
}

SHIM_API int dup2(int old, int new)
{
	return dup_to(old, new, 0, false);
}

SHIM_API int dup3(int old, int new, int flags)
{
	return dup_to(old, new, flags, true);
}

/* ------------------------------------------------------------------ */
/* Locks: reclock.c                                                     */
/* ------------------------------------------------------------------ */

void fd_closed_hook(int fd, struct ofd *o)
{
	(void)fd;
	reclock_fd_closed(o); /* any descriptor of the file: POSIX locks go */
}

/* After a lock call served (its SHIM_SERVE left, the handlers deferred in
 * its wait run): whether it starts again. A wait a signal ended does, as
 * the kernel restarts F_SETLKW and flock, unless a handler without
 * SA_RESTART ran as it left (seen: the count as it was served): EINTR. */
static bool lock_restarts(long *r, unsigned seen)
{
	if (likely(*r != -SHIM_ERESTART))
		return false;
	if (sig_interrupts == seen)
		return true;
	*r = -EINTR;
	return false;
}

SHIM_API int flock(int fd, int op)
{
	unsigned seen;
	struct ofd *o;
	long r;

	do {
		o = fd_get_fast(fd);
		if (likely(o == NULL)) {
			TRACE_PASS(flock, "%d, %d", fd, op);
			return SYS(flock)(fd, op);
		}
		{
			SHIM_SERVE();
			seen = sig_interrupts;
			r = reclock_flock(o, op);
			ofd_put(o);
		}
	} while (unlikely(lock_restarts(&r, seen)));
	TRACE_SERVED(flock, r, 0, "%d, %d", fd, op);
	return (int)shim_ret(r);
}

static long lockf_served(struct ofd *o, int cmd, off_t len)
{
	struct flock fl = { .l_whence = SEEK_CUR, .l_start = 0, .l_len = len };
	long r;

	switch (cmd) {
	case F_TEST:
		fl.l_type = F_RDLCK;
		r = reclock_fcntl(o, F_GETLK, &fl);
		if (!r && fl.l_type != F_UNLCK && fl.l_pid != getpid())
			r = -EACCES;
		return r;
	case F_ULOCK:
		fl.l_type = F_UNLCK;
		return reclock_fcntl(o, F_SETLK, &fl);
	case F_LOCK:
		fl.l_type = F_WRLCK;
		return reclock_fcntl(o, F_SETLKW, &fl);
	case F_TLOCK:
		fl.l_type = F_WRLCK;
		return reclock_fcntl(o, F_SETLK, &fl);
	default:
		return -EINVAL;
	}
}

SHIM_API int lockf(int fd, int cmd, off_t len)
{
	unsigned seen;
	struct ofd *o;
	long r;

	do {
		/* F_LOCK waits: the C library's cancellation point */
		o = cmd == F_LOCK ? fd_get_cancel_point(fd) : fd_get_fast(fd);
		if (likely(o == NULL)) {
			TRACE_PASS(flock, "%d (lockf)", fd);
			return SYS(lockf)(fd, cmd, len);
		}
		{
			SHIM_SERVE();
			seen = sig_interrupts;
			r = lockf_served(o, cmd, len);
			ofd_put(o);
		}
	} while (unlikely(lock_restarts(&r, seen)));
	TRACE_SERVED(flock, r, 0, "%d, %d (lockf)", fd, cmd);
	return (int)shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* fcntl                                                                */
/* ------------------------------------------------------------------ */

#define SETFL_BITS (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

/* As Linux: only the file's owner (or CAP_FOWNER, root here) may turn
 * O_NOATIME on. */
static int noatime_allowed(struct ofd *o)
{
	struct stat st;
	uid_t euid = geteuid();
	int err;

	if (euid == 0)
		return 0;
	err = umfs_fstat(o->uf, &st);
	if (err)
		return err;
	return st.st_uid == euid ? 0 : -EPERM;
}

/* The commands the kernel takes on an O_PATH descriptor; any other gets
 * EBADF. */
static bool fcntl_path_cmd(int cmd)
{
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC || cmd == F_GETFD || cmd == F_SETFD ||
	       cmd == F_GETFL || cmd == F_DUPFD_QUERY || cmd == F_CREATED_QUERY;
}

static long ofd_fcntl(int fd, struct ofd *o, int cmd, void *arg)
{
	int flags = atomic_load(&o->sh->flags);
	int nfd;

	if ((flags & O_PATH) && !fcntl_path_cmd(cmd))
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		fd_unpark_all();
		nfd = SYS(fcntl)(fd, cmd, (int)(intptr_t)arg);
		if (nfd < 0)
			return -errno;
		ofd_get(o);
		if (!uinfo_set(nfd, o)) {
			OS(close)(nfd);
			return -EMFILE;
		}
		if (nfd <= 2)
			stdio_fd_changed(nfd);
		return nfd;
	case F_SETFD:
		ofd_cloexec_unknown(o, fd);
		/* fall through */
	case F_GETFD:
		nfd = SYS(fcntl)(fd, cmd, (int)(intptr_t)arg);
		return nfd < 0 ? -errno : nfd;
	case F_GETFL:
		/* as the kernel reports them: 64-bit opens are O_LARGEFILE (which
		 * glibc defines as 0 here), O_PATH ones not */
		flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
		if (o->sh->created & OFD_TMPFILE)
			flags |= O_TMPFILE;
		return (flags & O_PATH) ? flags : flags | KERNEL_O_LARGEFILE;
	case F_SETFL:
		if (((int)(intptr_t)arg & O_NOATIME) && !(flags & O_NOATIME)) {
			int err = noatime_allowed(o);

			if (err)
				return err;
		}
		atomic_store(&o->sh->flags, (flags & ~SETFL_BITS) | ((int)(intptr_t)arg & SETFL_BITS));
		return 0;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return reclock_fcntl(o, cmd, arg);
	case F_GETOWN:
	case F_SETOWN:
	case F_GETOWN_EX:
	case F_SETOWN_EX:
	case F_GETSIG:
	case F_SETSIG:
	case F_DUPFD_QUERY:
		/* kept by the token, the description's file in the kernel: a
		 * dup or a child's copy shares it as it shares the description */
		nfd = (int)SYS(fcntl)(fd, cmd, arg);
		return nfd < 0 ? -errno : nfd;
	case F_GETLEASE:
	case F_SETLEASE:
	case F_NOTIFY:
		return ofd_lease_fcntl(fd, o, cmd, (int)(intptr_t)arg);
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		return -EBADF;
	case F_CREATED_QUERY:
		/* the token tells whether the running kernel knows the command */
		if (SYS(fcntl)(fd, cmd, 0) < 0)
			return -errno;
		return (o->sh->created & OFD_CREATED) ? 1 : 0;
	default:
		return -EINVAL;
	}
}

static int fcntl_common(int fd, int cmd, void *arg)
{
	unsigned seen;
	struct ofd *o;
	long r;

restart:
	/* the waiting commands are the C library's cancellation points */
	o = cmd == F_SETLKW || cmd == F_OFD_SETLKW ? fd_get_cancel_point(fd) : fd_get_fast(fd);

	/* the other descriptor, not the program's when the library's own
	 * (a parked one is closed for real here, as the program closed it) */
	if (unlikely(cmd == F_DUPFD_QUERY) && uinfo_peek((int)(intptr_t)arg) == UINFO_INTERNAL) {
		if (o)
			ofd_put(o);
		errno = EBADF;
		return -1;
	}
	if (likely(o == NULL)) {
		TRACE_PASS(fcntl, "%d, %d", fd, cmd);
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
			int nfd;

			fd_unpark_all();
			nfd = SYS(fcntl)(fd, cmd, arg);
			devnode_dup(fd, nfd);
			return nfd;
		}
		return SYS(fcntl)(fd, cmd, arg);
	}
	{
		SHIM_SERVE();
		seen = sig_interrupts;
		r = ofd_fcntl(fd, o, cmd, arg);
		ofd_put(o);
	}
	if (unlikely(lock_restarts(&r, seen)))
		goto restart;
	TRACE_SERVED(fcntl, r, 0, "%d, %d", fd, cmd);
	return (int)shim_ret(r);
}

SHIM_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* ------------------------------------------------------------------ */
/* ioctl                                                                */
/* ------------------------------------------------------------------ */

/* The int an ioctl reads from the caller, as the kernel's get_user:
 * -EFAULT when it cannot be read. */
static int ioctl_int_get(const void *arg, int *v)
{
	if (user_readable(arg, sizeof(int)))
		return -EFAULT;
	*v = *(const int *)arg;
	return 0;
}

int fd_fdget_check(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	if (o && o != UINFO_INTERNAL) /* the kernel's fdget does not see O_PATH ones */
		return (atomic_load(&o->sh->flags) & O_PATH) ? -EBADF : 0;
	if (o == UINFO_INTERNAL || SYS(fcntl)(fd, F_GETFD) < 0)
		return -EBADF;
	return 0;
}

/* A clone into a UMFS file, as the kernel answers it: EBADF for a source
 * it cannot get, EXDEV for one of another mount, and EOPNOTSUPP from UMFS
 * itself, which shares no blocks between files. */
static int ioctl_clone_source(int src)
{
	int r = fd_fdget_check(src);

	return r ? r : uinfo_peek(src) ? -EOPNOTSUPP : -EXDEV;
}

static int ofd_ioctl(int fd, struct ofd *o, unsigned long req, void *arg)
{
	int flags = atomic_load(&o->sh->flags), v, r;

	if (flags & O_PATH)
		return -EBADF;
	switch (req) {
	case FIONREAD:
		if (o->type == S_IFDIR)
			return -ENOTTY;
		/* as the kernel: the size less the offset, cut to an int */
		v = (int)((int64_t)ofd_size(o) - (int64_t)o->sh->pos);
		return user_copy_out(arg, &v, sizeof(v));
	case FIOCLEX:
		ofd_cloexec_unknown(o, fd);
		return SYS(fcntl)(fd, F_SETFD, FD_CLOEXEC) < 0 ? -errno : 0;
	case FIONCLEX:
		ofd_cloexec_unknown(o, fd);
		return SYS(fcntl)(fd, F_SETFD, 0) < 0 ? -errno : 0;
	case FIONBIO:
		r = ioctl_int_get(arg, &v);
		if (r)
			return r;
		if (v)
			atomic_fetch_or(&o->sh->flags, O_NONBLOCK);
		else
			atomic_fetch_and(&o->sh->flags, ~O_NONBLOCK);
		return 0;
	case FIOASYNC:
		/* a file with no fasync: turning it on is ENOTTY, off nothing */
		r = ioctl_int_get(arg, &v);
		return r ? r : (v && !(flags & O_ASYNC)) ? -ENOTTY : 0;
	case FIGETBSZ:
		v = 4096;
		return user_copy_out(arg, &v, sizeof(v));
	case FIOQSIZE: {
		/* the VFS's: the bytes the file takes (directories and links too) */
		struct stat st;
		loff_t bytes;

		r = umfs_fstat(o->uf, &st);
		bytes = (loff_t)st.st_blocks * 512;
		return r ? r : user_copy_out(arg, &bytes, sizeof(bytes));
	}
	case FIFREEZE: /* the VFS's, for a file system that cannot freeze */
		return shim_capable(CAP_SYS_ADMIN) ? -EOPNOTSUPP : -EPERM;
	case FITHAW: /* nothing is frozen */
		return shim_capable(CAP_SYS_ADMIN) ? -EINVAL : -EPERM;
	case FS_IOC_FIEMAP: /* no fiemap: refused before the argument is read */
		return -EOPNOTSUPP;
	case FIBMAP:
		/* regular files only, a block number asked for, and no map of
		 * blocks: UMFS's pages are no device's */
		if (o->type != S_IFREG)
			return -ENOTTY;
		if (!shim_capable(CAP_SYS_RAWIO))
			return -EPERM;
		r = ioctl_int_get(arg, &v);
		return r ? r : -EINVAL;
	case FICLONE:
		return ioctl_clone_source((int)(intptr_t)arg);
	case FICLONERANGE:
		if (user_readable(arg, sizeof(struct file_clone_range)))
			return -EFAULT;
		return ioctl_clone_source((int)((const struct file_clone_range *)arg)->src_fd);
	case FIDEDUPERANGE:
		return -EOPNOTSUPP;
	default:
		return -ENOTTY;
	}
}

/* An ioctl on a kernel descriptor whose argument names a UMFS descriptor:
 * the kernel would act on the token (a directory of the helper directory),
 * never on the UMFS file. Cloning from a UMFS file cannot work (EXDEV, as
 * between file systems); neither can a loop device backed by one, which
 * the kernel would read block by block without the library. */
static int ioctl_umfs_argument(unsigned long req, void *arg)
{
	int fd;

	switch (req) {
	case FICLONE:
		return uinfo_peek((int)(intptr_t)arg) ? -EXDEV : 0;
	case FICLONERANGE: /* an unreadable argument: the kernel's EFAULT */
		if (user_readable(arg, sizeof(struct file_clone_range)))
			return 0;
		return uinfo_peek((int)((struct file_clone_range *)arg)->src_fd) ? -EXDEV : 0;
	case LOOP_SET_FD:
	case LOOP_CHANGE_FD:
		fd = (int)(intptr_t)arg;
		break;
	case LOOP_CONFIGURE:
		if (user_readable(arg, sizeof(struct loop_config)))
			return 0;
		fd = (int)((struct loop_config *)arg)->fd;
		break;
	default:
		return 0;
	}
	if (likely(uinfo_peek(fd) == NULL))
		return 0;
	SHIM_LOG(LOG_WARN, "a loop device cannot be backed by a UMFS file (descriptor %d): the "
			   "kernel would read it without this library; use umfs-fuse",
		 fd);
	return -EOPNOTSUPP;
}

SHIM_API int ioctl(int fd, unsigned long req, ...)
{
	struct ofd *o = fd_get_fast(fd);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (likely(o == NULL)) {
		r = ioctl_umfs_argument(req, arg);
		if (unlikely(r)) {
			TRACE_SERVED(ioctl, r, 0, "%d, %#lx", fd, req);
			return (int)shim_ret(r);
		}
		TRACE_PASS(ioctl, "%d, %#lx", fd, req);
		return SYS(ioctl)(fd, req, arg);
	}
	SHIM_SERVE();
	r = ofd_ioctl(fd, o, req, arg);
	ofd_put(o);
	TRACE_SERVED(ioctl, r, 0, "%d, %#lx", fd, req);
	return (int)shim_ret(r);
}

SHIM_API int isatty(int fd)
{
	if (likely(uinfo_peek(fd) == NULL))
		return SYS(isatty)(fd);
	errno = ENOTTY;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Readiness: regular files are always ready                            */
/* ------------------------------------------------------------------ */

#define FILE_READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

static bool is_umfs_fd(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	return o && o != UINFO_INTERNAL;
}

static int poll_common(struct pollfd *fds, nfds_t n, int timeout_ms,
		       const struct timespec *ts, const sigset_t *mask, bool is_ppoll)
{
	struct pollfd stack[64], *tmp;
	struct timespec zero = { 0, 0 };
	int ready = 0, r;
	bool any = false;

	if (likely(!uinfo_tokens()))
		goto pass;
	if (user_writable(fds, n * sizeof(*fds)))
		goto pass; /* the kernel answers EFAULT */
	for (nfds_t i = 0; i < n && !any; i++)
		any = fds[i].fd >= 0 && is_umfs_fd(fds[i].fd);
	if (!any)
		goto pass;
	tmp = n <= ARRAY_SIZE(stack) ? stack : malloc(n * sizeof(*tmp));
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	for (nfds_t i = 0; i < n; i++) {
		tmp[i] = fds[i];
		if (fds[i].fd >= 0 && is_umfs_fd(fds[i].fd)) {
			tmp[i].fd = -1;
			if (fds[i].events & FILE_READY)
				ready++;
		}
	}
	if (is_ppoll)
		r = SYS(ppoll)(tmp, n, ready ? &zero : ts, mask);
	else
		r = SYS(poll)(tmp, n, ready ? 0 : timeout_ms);
	if (r >= 0) {
		for (nfds_t i = 0; i < n; i++) {
			if (fds[i].fd >= 0 && is_umfs_fd(fds[i].fd))
				fds[i].revents = (short)(fds[i].events & FILE_READY);
			else
				fds[i].revents = tmp[i].revents;
		}
		r += ready;
	}
	if (tmp != stack) {
		int e = errno;

		free(tmp);
		errno = e;
	}
	TRACE_SERVED(poll, r, 0, "%lu fds", (unsigned long)n);
	return r;
pass:
	TRACE_PASS(poll, "%lu fds", (unsigned long)n);
	return is_ppoll ? SYS(ppoll)(fds, n, ts, mask) : SYS(poll)(fds, n, timeout_ms);
}

SHIM_API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	return poll_common(fds, n, timeout, NULL, NULL, false);
}

SHIM_API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	return poll_common(fds, n, 0, ts, mask, true);
}

static int select_common(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv,
			 const struct timespec *ts, const sigset_t *mask, bool is_pselect)
{
	fd_set ur, uw;
	struct timeval tzero = { 0, 0 };
	struct timespec szero = { 0, 0 };
	int ready = 0, r;

	if (likely(!uinfo_tokens()) || nfds <= 0)
		goto pass;
	if ((rd && user_writable(rd, sizeof(*rd))) || (wr && user_writable(wr, sizeof(*wr))) ||
	    (ex && user_writable(ex, sizeof(*ex))))
		goto pass; /* the kernel answers EFAULT */
	FD_ZERO(&ur);
	FD_ZERO(&uw);
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		/* only the numbers asked about: a parked one is settled then */
		bool asked = (rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) ||
			     (ex && FD_ISSET(fd, ex));

		if (!asked || !is_umfs_fd(fd))
			continue;
		if (rd && FD_ISSET(fd, rd)) {
			FD_SET(fd, &ur);
			FD_CLR(fd, rd);
			ready++;
		}
		if (wr && FD_ISSET(fd, wr)) {
			FD_SET(fd, &uw);
			FD_CLR(fd, wr);
			ready++;
		}
		if (ex)
			FD_CLR(fd, ex);
	}
	if (!ready)
		goto pass;
	r = is_pselect ? SYS(pselect)(nfds, rd, wr, ex, &szero, mask)
		       : SYS(select)(nfds, rd, wr, ex, &tzero);
	if (r < 0)
		return r;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		if (FD_ISSET(fd, &ur))
			FD_SET(fd, rd);
		if (FD_ISSET(fd, &uw))
			FD_SET(fd, wr);
	}
	(void)ts;
	(void)tv;
	return r + ready;
pass:
	return is_pselect ? SYS(pselect)(nfds, rd, wr, ex, ts, mask)
			  : SYS(select)(nfds, rd, wr, ex, tv);
}

SHIM_API int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	return select_common(nfds, rd, wr, ex, tv, NULL, NULL, false);
}

SHIM_API int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
		     const sigset_t *mask)
{
	return select_common(nfds, rd, wr, ex, NULL, ts, mask, true);
}

SHIM_API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	if (!fd_pass_ok(epfd))
		return -1;
	if (likely(!is_umfs_fd(fd)))
		return SYS(epoll_ctl)(epfd, op, fd, event);
	errno = op == EPOLL_CTL_DEL ? ENOENT : EPERM; /* as for any regular file */
	return -1;
}
