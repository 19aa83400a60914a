/* SPDX-License-Identifier: MIT */
/*
 * aio_libaio.c - Linux native AIO through libaio (io_submit, io_getevents,
 * io_pgetevents, io_destroy) on UMFS descriptors. The kernel would act on
 * the token: an iocb on a UMFS descriptor is checked as the kernel checks
 * it, then stands in the submitted batch as a proxy, an IOCB_CMD_POLL on
 * the library's always-readable eventfd, which the kernel completes at
 * once in the same context (so waiters wake, min_nr, timeouts and the
 * iocb's eventfd are the kernel's); once the batch is accepted the library
 * performs the request, and io_getevents gives the proxy's event back as
 * the request's: its iocb, its data, its result. libaio's io_getevents
 * looks at the ring in user space only for a zero timeout (head == tail:
 * no event), which the proxies' events fill as any other. See docs/shim.md.
 */
#include <linux/aio_abi.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct aio_proxy {
	struct iocb kcb; /* what the kernel completes; its address is the event's obj */
	struct iocb *orig;
	aio_context_t ctx;
	int64_t res;
	_Atomic int state; /* PROXY_FREE, _SUBMITTED (res not yet known), _DONE */
	struct aio_proxy *next_free;
};
enum { PROXY_FREE, PROXY_SUBMITTED, PROXY_DONE };

/* libaio's exports, with the kernel's types (io_context_t is the ring's
 * address, aio_context_t the same number) */
int io_submit(aio_context_t ctx, long nr, struct iocb **ios);
int io_getevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		 struct timespec *timeout);
int io_pgetevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
		  struct timespec *timeout, sigset_t *sigmask);
int io_destroy(aio_context_t ctx);

/* Requests on UMFS descriptors in flight at once, in all contexts; past
 * it a submission gets EAGAIN, the kernel's answer for a full context. */
#define PROXY_MAX 65536u

static struct aio_proxy *proxies; /* PROXY_MAX of them, reserved, never freed */
static struct aio_proxy *proxy_free_list;
static _Atomic unsigned proxy_used; /* slots ever handed out */
static int proxy_efd = -1;        /* counts 1 forever: a POLLIN poll completes at once */
static pthread_mutex_t proxy_mu = PTHREAD_MUTEX_INITIALIZER;

static int proxy_init_locked(void)
{
	int fd;

	if (!proxies) {
		void *p = SYS(mmap)(NULL, PROXY_MAX * sizeof(*proxies), PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			return -ENOMEM;
		proxies = p;
	}
	if (proxy_efd < 0) {
		shim_fdguard_own();
		fd = SYS(eventfd)(1, EFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		fd = shim_fd_move_high(fd);
		if (fd < 0)
			return fd;
		uinfo_mark_internal(fd);
		proxy_efd = fd;
	}
	return 0;
}

static struct aio_proxy *proxy_get(aio_context_t ctx, struct iocb *orig)
{
	struct aio_proxy *p = NULL;

	pthread_mutex_lock(&proxy_mu);
	if (proxy_init_locked() == 0) {
		if (proxy_free_list) {
			p = proxy_free_list;
			proxy_free_list = p->next_free;
		} else if (proxy_used < PROXY_MAX) {
			p = &proxies[proxy_used++];
		}
	}
	pthread_mutex_unlock(&proxy_mu);
	if (!p)
		return NULL;
	memset(&p->kcb, 0, sizeof(p->kcb));
	p->kcb.aio_data = orig->aio_data;
	p->kcb.aio_lio_opcode = IOCB_CMD_POLL;
	p->kcb.aio_fildes = (uint32_t)proxy_efd;
	p->kcb.aio_buf = POLLIN;
	p->kcb.aio_flags = orig->aio_flags & IOCB_FLAG_RESFD;
	p->kcb.aio_resfd = orig->aio_resfd;
	p->orig = orig;
	p->ctx = ctx;
	atomic_store(&p->state, PROXY_SUBMITTED);
	return p;
}

static void proxy_put(struct aio_proxy *p)
{
	atomic_store(&p->state, PROXY_FREE);
	pthread_mutex_lock(&proxy_mu);
	p->next_free = proxy_free_list;
	proxy_free_list = p;
	pthread_mutex_unlock(&proxy_mu);
}

static struct aio_proxy *proxy_of(uint64_t obj)
{
	uintptr_t base = (uintptr_t)proxies, off = (uintptr_t)obj - base;

	if (!proxies || obj < base || off >= (uintptr_t)proxy_used * sizeof(*proxies) ||
	    off % sizeof(*proxies) != 0)
		return NULL;
	return (struct aio_proxy *)(uintptr_t)obj;
}

/* The kernel's checks of io_submit on an iocb, in its order, for a UMFS
 * description: 0 when the request is accepted. */
static int iocb_check(struct ofd *o, const struct iocb *cb)
{
	int acc = atomic_load_explicit(&o->sh->flags, memory_order_relaxed);
	bool rd = false;

	if (cb->aio_reserved2 || (int64_t)cb->aio_nbytes < 0)
		return -EINVAL;
	if (acc & O_PATH)
		return -EBADF;
	switch (cb->aio_lio_opcode) {
	case IOCB_CMD_FSYNC:
	case IOCB_CMD_FDSYNC:
		return cb->aio_buf || cb->aio_offset || cb->aio_nbytes || cb->aio_rw_flags ? -EINVAL
											     : 0;
	case IOCB_CMD_PREAD:
	case IOCB_CMD_PREADV:
		rd = true;
		break;
	case IOCB_CMD_PWRITE:
	case IOCB_CMD_PWRITEV:
		break;
	default:
		return -EINVAL;
	}
	if (cb->aio_rw_flags & ~SHIM_RWF_KNOWN)
		return -EOPNOTSUPP;
	if (rd ? !acc_reads(acc) : !acc_writes(acc))
		return -EBADF;
	if (cb->aio_lio_opcode == IOCB_CMD_PREADV || cb->aio_lio_opcode == IOCB_CMD_PWRITEV) {
		/* the kernel takes the vectors in at submission */
		if (cb->aio_nbytes > IOV_MAX)
			return -EINVAL;
		if (user_readable((const void *)(uintptr_t)cb->aio_buf,
				  cb->aio_nbytes * sizeof(struct iovec)))
			return -EFAULT;
	}
	if (cb->aio_offset < 0)
		return -EINVAL;
	return 0;
}

/* Performs an accepted request: the event's result. */
static int64_t iocb_perform(struct ofd *o, const struct iocb *cb)
{
	struct iovec one = { (void *)(uintptr_t)cb->aio_buf, cb->aio_nbytes };
	const struct iovec *iov = &one;
	int cnt = 1, flags = cb->aio_rw_flags & ~RWF_NOWAIT;

	SHIM_SERVE();
	switch (cb->aio_lio_opcode) {
	case IOCB_CMD_FSYNC:
	case IOCB_CMD_FDSYNC:
		return shim_ofd_fsync(o, cb->aio_lio_opcode == IOCB_CMD_FDSYNC);
	case IOCB_CMD_PREADV:
	case IOCB_CMD_PWRITEV:
		iov = (const struct iovec *)(uintptr_t)cb->aio_buf;
		cnt = (int)cb->aio_nbytes;
		if (user_readable(iov, (size_t)cnt * sizeof(*iov)))
			return -EFAULT;
		break;
	}
	if (cb->aio_lio_opcode == IOCB_CMD_PREAD || cb->aio_lio_opcode == IOCB_CMD_PREADV)
		return shim_ofd_preadv(o, iov, cnt, cb->aio_offset, flags);
	return shim_ofd_pwritev(o, iov, cnt, cb->aio_offset, flags);
}

static bool iocb_is_umfs(const struct iocb *cb)
{
	struct ofd *o;

	if (cb->aio_lio_opcode == IOCB_CMD_POLL) /* the token polls as a file: ready */
		return false;
	o = uinfo_peek((int)cb->aio_fildes);
	return o != NULL && o != UINFO_INTERNAL;
}

/* A system call with libaio's convention (-errno, errno untouched): what
 * libaio's functions are to its entry points, this is to syscall(2)'s. */
static int aio_kernel(long number, const long *a)
{
	int saved = errno;
	long r = SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);

	if (r < 0) {
		r = -errno;
		errno = saved;
	}
	return (int)r;
}

static int kernel_io_submit(unsigned long ctx, long nr, struct iocb **ios)
{
	long a[6] = { (long)ctx, nr, (long)ios };

	return aio_kernel(SYS_io_submit, a);
}

/* io_submit with some iocbs on UMFS descriptors. */
static int io_submit_mixed(aio_context_t ctx, long nr, struct iocb **ios,
			   int (*real_submit)(unsigned long, long, struct iocb **))
{
	struct iocb **batch = malloc((size_t)nr * sizeof(*batch));
	struct ofd **held = calloc((size_t)nr, sizeof(*held));
	long n = nr, i;
	int r = 0, saved = errno;

	if (!batch || !held) {
		free(batch);
		free(held);
		return -EAGAIN;
	}
	for (i = 0; i < nr; i++) {
		struct iocb *cb = ios[i];
		struct aio_proxy *p;

		if (user_readable(&ios[i], sizeof(ios[i])) || user_readable(cb, sizeof(*cb))) {
			r = -EFAULT;
			break;
		}
		batch[i] = cb;
		if (!iocb_is_umfs(cb))
			continue;
		held[i] = fd_get_fast((int)cb->aio_fildes);
		r = held[i] ? iocb_check(held[i], cb) : -EBADF;
		if (r == 0) {
			p = proxy_get(ctx, cb);
			r = p ? 0 : -EAGAIN;
			batch[i] = p ? &p->kcb : cb;
		}
		if (r)
			break;
	}
	n = i; /* the kernel stops at the first iocb it refuses */
	if (n > 0) {
		long k = real_submit(ctx, n, batch);

		r = k < 0 ? (int)k : 0;
		for (i = 0; i < n; i++) {
			struct aio_proxy *p = held[i] ? (struct aio_proxy *)batch[i] : NULL;

			if (p && i < k) {
				p->res = iocb_perform(held[i], ios[i]);
				atomic_store_explicit(&p->state, PROXY_DONE, memory_order_release);
			} else if (p) {
				proxy_put(p);
			}
		}
		n = k < 0 ? 0 : k;
	}
	for (i = 0; i < nr; i++)
		if (held[i])
			ofd_put(held[i]);
	free(batch);
	free(held);
	errno = saved;
	TRACE_SERVED(libaio, n ? n : r, 0, "ctx %#lx, %ld", (unsigned long)ctx, nr);
	return n > 0 ? (int)n : r; /* libaio's convention: -errno, errno untouched */
}

static int io_submit_with(aio_context_t ctx, long nr, struct iocb **ios,
			  int (*real_submit)(unsigned long, long, struct iocb **))
{
	if (likely(!uinfo_tokens()) || nr <= 0 ||
	    ios == NULL)
		return real_submit(ctx, nr, ios);
	for (long i = 0; i < nr; i++)
		if (user_readable(&ios[i], sizeof(ios[i])) == 0 && ios[i] &&
		    user_readable(ios[i], sizeof(*ios[i])) == 0 && iocb_is_umfs(ios[i]))
			return io_submit_mixed(ctx, nr, ios, real_submit);
	return real_submit(ctx, nr, ios);
}

SHIM_API int io_submit(aio_context_t ctx, long nr, struct iocb **ios)
{
	return io_submit_with(ctx, nr, ios, SYS(io_submit));
}

/* Events of proxies become their requests' events. */
static void events_translate(struct io_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		struct aio_proxy *p = proxy_of(ev[i].obj);

		if (!p)
			continue;
		/* the submitter performs the request right after the kernel accepted it */
		while (atomic_load_explicit(&p->state, memory_order_acquire) == PROXY_SUBMITTED)
			sched_yield();
		ev[i].obj = (uint64_t)(uintptr_t)p->orig;
		ev[i].res = p->res;
		ev[i].res2 = 0;
		proxy_put(p);
	}
}

SHIM_API int io_getevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
			  struct timespec *timeout)
{
	int n = SYS(io_getevents)(ctx, min_nr, nr, events, timeout);

	if (unlikely(proxy_used != 0) && n > 0)
		events_translate(events, n);
	return n;
}

SHIM_API int io_pgetevents(aio_context_t ctx, long min_nr, long nr, struct io_event *events,
			   struct timespec *timeout, sigset_t *sigmask)
{
	int n = SYS(io_pgetevents)(ctx, min_nr, nr, events, timeout, sigmask);

	if (unlikely(proxy_used != 0) && n > 0)
		events_translate(events, n);
	return n;
}

/* The context's proxies go with it: the kernel drops their events. */
static int io_destroy_done(aio_context_t ctx, int r)
{
	for (unsigned i = 0; r == 0 && i < proxy_used; i++)
		if (proxies[i].ctx == ctx && atomic_load(&proxies[i].state) != PROXY_FREE)
			proxy_put(&proxies[i]);
	return r;
}

SHIM_API int io_destroy(aio_context_t ctx)
{
	return io_destroy_done(ctx, SYS(io_destroy)(ctx));
}

/* syscall(2) with an AIO number: served as libaio's entry points are, over
 * the kernel's calls, with syscall()'s convention (-1 and errno). */
long shim_aio_syscall(long number, const long *a)
{
	int r;

	switch (number) {
	case SYS_io_submit:
		r = io_submit_with((aio_context_t)a[0], a[1], (struct iocb **)a[2], kernel_io_submit);
		break;
	case SYS_io_getevents:
	case SYS_io_pgetevents: /* a[5]: the kernel's { sigmask, size } */
		r = aio_kernel(number, a);
		if (unlikely(proxy_used != 0) && r > 0)
			events_translate((struct io_event *)a[3], r);
		break;
	case SYS_io_destroy:
		r = io_destroy_done((aio_context_t)a[0], aio_kernel(number, a));
		break;
	default:
		return SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}
