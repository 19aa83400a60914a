/* SPDX-License-Identifier: MIT */
/*
 * aio_posix.c - POSIX AIO (aio_read, aio_write, aio_fsync, lio_listio) on
 * UMFS descriptors. glibc's helper threads would call its internal pread on
 * the token (EISDIR): a request on a UMFS descriptor is performed here, at
 * submission (POSIX allows it), and its status is left where glibc keeps
 * it (the aiocb's __error_code and __return_value), so that glibc's own
 * aio_error, aio_return, aio_suspend and aio_cancel answer for it as for a
 * finished request of its own. Notifications go through glibc: lio_listio
 * with no request notifies at once, exactly as glibc notifies (SIGEV_SIGNAL
 * with SI_ASYNCIO, SIGEV_THREAD on a thread of its making). Requests on
 * kernel descriptors reach glibc untouched. See docs/shim.md.
 */
#include <aio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* The request's status, as glibc's worker leaves it. */
static void aio_status(struct aiocb *cb, ssize_t r)
{
	cb->__return_value = r < 0 ? -1 : r;
	cb->__error_code = r < 0 ? (int)-r : 0;
}

/* glibc's check when it queues a request: the status says EINVAL. */
static bool aio_prio_bad(struct aiocb *cb)
{
	if (cb->aio_reqprio >= 0 && cb->aio_reqprio <= AIO_PRIO_DELTA_MAX)
		return false;
	aio_status(cb, -EINVAL);
	return true;
}

/* Performs op (LIO_READ, LIO_WRITE, O_SYNC or O_DSYNC for fsync) on the
 * UMFS description o, as glibc's worker would (pread, pwrite, fsync,
 * fdatasync at aio_offset); -errno is the request's error. */
static ssize_t aio_perform(struct ofd *o, struct aiocb *cb, int op)
{
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	ssize_t r;

	SHIM_SERVE();
	switch (op) {
	case LIO_READ:
		r = cb->aio_offset < 0 ? -EINVAL : shim_ofd_preadv(o, &iov, 1, cb->aio_offset, 0);
		break;
	case LIO_WRITE:
		r = cb->aio_offset < 0 ? -EINVAL : shim_ofd_pwritev(o, &iov, 1, cb->aio_offset, 0);
		break;
	case O_SYNC:
	case O_DSYNC:
		r = shim_ofd_fsync(o, op == O_DSYNC);
		break;
	default:
		r = -EINVAL; /* glibc's worker: an unknown opcode */
	}
	return r;
}

/* Delivers the aiocb's own notification as glibc would. */
static void aio_notify(struct sigevent *sev)
{
	struct aiocb *none[1] = { NULL };
	int saved = errno;

	if (sev->sigev_notify != SIGEV_NONE)
		SYS(lio_listio)(LIO_NOWAIT, none, 1, sev);
	errno = saved;
}

/* One request on a UMFS description: the submission's result. */
static int aio_submit_umfs(struct ofd *o, struct aiocb *cb, int op)
{
	uint64_t t0 = stats_t0();
	ssize_t r;

	if (aio_prio_bad(cb)) {
		ofd_put(o);
		return (int)shim_ret(-EINVAL);
	}
	r = aio_perform(o, cb, op);
	aio_status(cb, r);
	ofd_put(o);
	TRACE_SERVED(aio, r, t0, "%d, op %d, %zu, %lld", cb->aio_fildes, op, cb->aio_nbytes,
		     (long long)cb->aio_offset);
	aio_notify(&cb->aio_sigevent);
	return 0;
}

SHIM_API int aio_read(struct aiocb *cb)
{
	struct ofd *o = fd_get_fast(cb->aio_fildes);

	if (likely(o == NULL))
		return SYS(aio_read)(cb);
	return aio_submit_umfs(o, cb, LIO_READ);
}

SHIM_API int aio_write(struct aiocb *cb)
{
	struct ofd *o = fd_get_fast(cb->aio_fildes);

	if (likely(o == NULL))
		return SYS(aio_write)(cb);
	return aio_submit_umfs(o, cb, LIO_WRITE);
}

SHIM_API int aio_fsync(int op, struct aiocb *cb)
{
	struct ofd *o;

	if (op != O_SYNC && op != O_DSYNC)
		return SYS(aio_fsync)(op, cb); /* glibc says EINVAL */
	o = fd_get_fast(cb->aio_fildes);
	if (likely(o == NULL))
		return SYS(aio_fsync)(op, cb);
	return aio_submit_umfs(o, cb, op);
}

/* lio_listio with some requests on UMFS descriptors: those are performed
 * here, in list order, each notified on its own as glibc does; glibc gets
 * the list with them taken out, and notifies sig when its own requests are
 * done (at once when there are none). LIO_WAIT fails with EIO when any
 * request failed, as glibc's. */
static int lio_listio_mixed(int mode, struct aiocb *const list[], int nent,
			    struct sigevent *sig)
{
	struct aiocb **klist = malloc((size_t)nent * sizeof(*klist));
	bool failed = false, refused = false, kernel = false;
	int r, saved;

	if (!klist)
		return (int)shim_ret(-EAGAIN);
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];
		struct ofd *o = cb && cb->aio_lio_opcode != LIO_NOP ? fd_get_fast(cb->aio_fildes)
								     : NULL;

		klist[i] = o ? NULL : cb;
		kernel |= o == NULL && cb != NULL && cb->aio_lio_opcode != LIO_NOP;
		if (!o)
			continue;
		if (aio_prio_bad(cb)) {
			refused = true;
			ofd_put(o);
			continue;
		}
		aio_status(cb, aio_perform(o, cb, cb->aio_lio_opcode));
		ofd_put(o);
		failed |= cb->__return_value == -1;
		TRACE_SERVED(aio, cb->__return_value, 0, "%d, lio op %d, %zu", cb->aio_fildes,
			     cb->aio_lio_opcode, cb->aio_nbytes);
		aio_notify(&cb->aio_sigevent);
	}
	saved = errno;
	r = kernel || mode == LIO_NOWAIT ? SYS(lio_listio)(mode, klist, nent, sig) : 0;
	free(klist);
	if (r < 0)
		return r;
	errno = saved;
	if (mode == LIO_WAIT && (failed || refused))
		return (int)shim_ret(-EIO);
	if (refused)
		return (int)shim_ret(-EINVAL);
	return 0;
}

/* glibc answers for every request (a UMFS one has finished); the number
 * is settled first, so that a closed one says EBADF. */
SHIM_API int aio_cancel(int fd, struct aiocb *cb)
{
	return fd_pass_ok(fd) ? SYS(aio_cancel)(fd, cb) : -1;
}

SHIM_API int lio_listio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	if (likely(!uinfo_tokens()) ||
	    (mode != LIO_WAIT && mode != LIO_NOWAIT) || nent <= 0 || list == NULL)
		return SYS(lio_listio)(mode, list, nent, sig);
	for (int i = 0; i < nent; i++)
		if (list[i] && list[i]->aio_lio_opcode != LIO_NOP &&
		    uinfo_peek(list[i]->aio_fildes) > UINFO_INTERNAL)
			return lio_listio_mixed(mode, list, nent, sig);
	return SYS(lio_listio)(mode, list, nent, sig);
}
