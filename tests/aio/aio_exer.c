/* SPDX-License-Identifier: MIT */
/*
 * aio_exer - asynchronous I/O on one file against an in-memory model.
 *
 *   aio_exer FILE KFILE [--ops N] [--seed S] [--size MAX] [--engine E]
 *            [--noappend 0]
 *
 * Runs each engine (E: posix, libaio, raw, uring, or all): glibc's POSIX
 * AIO (aio_read/aio_write with aio_suspend, lio_listio LIO_WAIT and
 * LIO_NOWAIT, aio_fsync), libaio (io_submit, io_getevents: pread, pwrite,
 * preadv, pwritev, fsync), the same made with syscall(2) as programs
 * without libaio make them (raw), and io_uring through liburing (read, write, readv, writev,
 * fsync, linked chains). Batches of requests are submitted at once: reads
 * anywhere (past EOF too: short or empty), or writes to disjoint ranges
 * (past EOF too: the gap reads as zeros), some vectored, some with an
 * fsync. KFILE is a second file, meant to be the kernel's, whose requests
 * share some batches. Every result, every byte read and, at the end, the
 * whole file are checked against the model; then the cases each engine
 * has of its own: POSIX notifications (SIGEV_SIGNAL's si_code and value,
 * SIGEV_THREAD), aio_error/aio_return of a failed request, libaio's
 * submission errors, io_uring's chains broken by a short read; through
 * libaio and io_uring, a second description of FILE of access mode 3
 * (EBADF) and one with O_APPEND written with RWF_NOAPPEND (at the offset
 * given, unless --noappend 0 or the kernel lacks the flag). The same
 * run on tmpfs and on UMFS must pass. Exit 1 at the first mismatch.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <liburing.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAXB 8
#define MAXLEN (48 << 10)
#define KSIZE 8192

static unsigned char *model;
static size_t msize, maxsize = 256 << 10;
static uint64_t rng;
static int fd, kfd;
static const char *fpath, *kpath;
static bool noappend = true; /* --noappend 0: RWF_NOAPPEND is not checked */
static const char *engine_name;
static long opno;
static unsigned char kpattern[KSIZE];

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aio_exer: %s, operation %ld: ", engine_name, opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t rnd_to(size_t n)
{
	return (size_t)(rnd() % n);
}

enum kind { OP_READ, OP_WRITE, OP_FSYNC, OP_KREAD };

struct op {
	enum kind kind;
	int fd;
	off_t off;
	size_t len;
	int niov;
	struct iovec iov[3];
	unsigned char *buf;
	long res;      /* what the engine said: bytes or -errno */
	long want;     /* what the model says */
};

static void op_split(struct op *o)
{
	o->niov = 1;
	o->iov[0] = (struct iovec){ o->buf, o->len };
	if (o->len >= 3 && rnd_to(3) == 0) {
		size_t a = 1 + rnd_to(o->len - 2), b = a + 1 + rnd_to(o->len - a - 1);

		o->niov = 3;
		o->iov[0] = (struct iovec){ o->buf, a };
		o->iov[1] = (struct iovec){ o->buf + a, b - a };
		o->iov[2] = (struct iovec){ o->buf + b, o->len - b };
	}
}

static bool overlaps(const struct op *ops, int n, off_t off, size_t len)
{
	for (int i = 0; i < n; i++)
		if (ops[i].kind == OP_WRITE && off < ops[i].off + (off_t)ops[i].len &&
		    ops[i].off < off + (off_t)len)
			return true;
	return false;
}

/* A batch: reads (of the file and of KFILE), or writes to disjoint ranges
 * and maybe an fsync, so that any completion order gives one answer. */
static int batch_make(struct op *ops, bool vectored, bool kernel_too)
{
	bool writes = rnd_to(2);
	int n = 1 + (int)rnd_to(MAXB - 1), made = 0;

	for (int i = 0; i < n; i++) {
		struct op *o = &ops[made];

		memset(o, 0, sizeof(*o));
		o->fd = fd;
		if (writes && i == n - 1 && rnd_to(3) == 0) {
			o->kind = OP_FSYNC;
			made++;
			continue;
		}
		if (!writes && kernel_too && rnd_to(4) == 0) {
			o->kind = OP_KREAD;
			o->fd = kfd;
			o->off = (off_t)rnd_to(KSIZE);
			o->len = 1 + rnd_to(KSIZE);
		} else {
			o->kind = writes ? OP_WRITE : OP_READ;
			o->off = (off_t)rnd_to(writes ? maxsize - 1 : maxsize + 4096);
			o->len = 1 + rnd_to(MAXLEN);
			if (writes && o->off + o->len > maxsize)
				o->len = maxsize - (size_t)o->off;
			if (writes && overlaps(ops, made, o->off, o->len))
				continue;
		}
		o->buf = malloc(o->len);
		if (o->kind == OP_WRITE)
			for (size_t j = 0; j < o->len; j++)
				o->buf[j] = (unsigned char)rnd();
		else
			memset(o->buf, 0xee, o->len);
		if (vectored)
			op_split(o);
		else
			o->iov[0] = (struct iovec){ o->buf, o->len }, o->niov = 1;
		made++;
	}
	return made;
}

static void batch_expect(struct op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];
		size_t size = o->kind == OP_KREAD ? KSIZE : msize;

		if (o->kind == OP_FSYNC)
			o->want = 0;
		else if (o->kind == OP_WRITE)
			o->want = (long)o->len;
		else
			o->want = (size_t)o->off >= size ? 0
				  : (long)(o->len < size - (size_t)o->off ? o->len
									: size - (size_t)o->off);
	}
}

static void batch_check(struct op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];
		const unsigned char *ref = o->kind == OP_KREAD ? kpattern : model;

		if (o->res != o->want)
			die("request %d (kind %d, off %lld, len %zu, %d iovecs): result %ld (%s), "
			    "expected %ld", i, o->kind, (long long)o->off, o->len, o->niov, o->res,
			    o->res < 0 ? strerror((int)-o->res) : "bytes", o->want);
		if ((o->kind == OP_READ || o->kind == OP_KREAD) && o->res > 0 &&
		    memcmp(o->buf, ref + o->off, (size_t)o->res) != 0)
			die("request %d: read %ld bytes at %lld that differ from the model", i, o->res,
			    (long long)o->off);
	}
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];

		if (o->kind == OP_WRITE) {
			memcpy(model + o->off, o->buf, o->len);
			if ((size_t)o->off + o->len > msize)
				msize = (size_t)o->off + o->len;
		}
		free(o->buf);
	}
}

/* ------------------------------------------------------------------ */
/* POSIX AIO                                                            */
/* ------------------------------------------------------------------ */

static void posix_batch(struct op *ops, int n)
{
	struct aiocb cbs[MAXB], *list[MAXB] = { NULL };
	int mode = (int)rnd_to(3); /* 0: aio_* and aio_suspend, 1: LIO_WAIT, 2: LIO_NOWAIT */

	for (int i = 0; i < n; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = ops[i].fd;
		cbs[i].aio_buf = ops[i].buf;
		cbs[i].aio_nbytes = ops[i].len;
		cbs[i].aio_offset = ops[i].off;
		cbs[i].aio_lio_opcode = ops[i].kind == OP_WRITE ? LIO_WRITE
					: ops[i].kind == OP_FSYNC ? LIO_NOP : LIO_READ;
		list[i] = &cbs[i];
	}
	if (mode == 0) {
		for (int i = 0; i < n; i++) {
			int r = ops[i].kind == OP_FSYNC ? aio_fsync(O_SYNC, &cbs[i])
				: ops[i].kind == OP_WRITE ? aio_write(&cbs[i]) : aio_read(&cbs[i]);

			if (r != 0)
				die("submitting request %d: %s", i, strerror(errno));
		}
	} else {
		if (lio_listio(mode == 1 ? LIO_WAIT : LIO_NOWAIT, list, n, NULL) != 0)
			die("lio_listio: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			if (ops[i].kind == OP_FSYNC && aio_fsync(O_DSYNC, &cbs[i]) != 0)
				die("aio_fsync: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		const struct aiocb *one[1] = { &cbs[i] };
		int e;

		while ((e = aio_error(&cbs[i])) == EINPROGRESS)
			if (aio_suspend(one, 1, NULL) != 0 && errno != EINTR)
				die("aio_suspend: %s", strerror(errno));
		ops[i].res = aio_return(&cbs[i]);
		if (ops[i].res < 0)
			ops[i].res = -e;
	}
}

static volatile sig_atomic_t thread_value;
static sem_t thread_sem;

static void notified(union sigval v)
{
	thread_value = v.sival_int;
	sem_post(&thread_sem);
}

static void posix_cases(void)
{
	struct timespec ts = { 5, 0 };
	struct aiocb cb;
	unsigned char byte = 'x', back = 0;
	sigset_t set;
	siginfo_t si;

	/* SIGEV_SIGNAL: SI_ASYNCIO and the value */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = &byte;
	cb.aio_nbytes = 1;
	cb.aio_offset = 0;
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGRTMIN;
	cb.aio_sigevent.sigev_value.sival_int = 42;
	if (aio_write(&cb) != 0)
		die("aio_write with SIGEV_SIGNAL: %s", strerror(errno));
	if (sigtimedwait(&set, &si, &ts) != SIGRTMIN)
		die("no SIGEV_SIGNAL notification: %s", strerror(errno));
	if (si.si_code != SI_ASYNCIO || si.si_value.sival_int != 42 || si.si_pid != getpid())
		die("SIGEV_SIGNAL: si_code %d, value %d, pid %d", si.si_code,
		    si.si_value.sival_int, (int)si.si_pid);
	if (aio_error(&cb) != 0 || aio_return(&cb) != 1)
		die("SIGEV_SIGNAL write: aio_error %d", aio_error(&cb));
	model[0] = byte;
	if (msize == 0)
		msize = 1;

	/* SIGEV_THREAD */
	sem_init(&thread_sem, 0, 0);
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = &back;
	cb.aio_nbytes = 1;
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = notified;
	cb.aio_sigevent.sigev_value.sival_int = 7;
	if (aio_read(&cb) != 0)
		die("aio_read with SIGEV_THREAD: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (sem_timedwait(&thread_sem, &ts) != 0 || thread_value != 7)
		die("no SIGEV_THREAD notification");
	if (aio_return(&cb) != 1 || back != 'x')
		die("SIGEV_THREAD read: %zd, byte %#x", aio_return(&cb), back);

	/* a failed request: negative offset (EINVAL), aio_return -1;
	 * LIO_WAIT with it fails with EIO */
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = &back;
	cb.aio_nbytes = 1;
	cb.aio_offset = -1;
	cb.aio_lio_opcode = LIO_READ;
	if (aio_read(&cb) != 0)
		die("aio_read at -1 refused at submission: %s", strerror(errno));
	{
		const struct aiocb *one[1] = { &cb };
		struct aiocb *list[1] = { &cb };

		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend(one, 1, NULL);
		if (aio_error(&cb) != EINVAL || aio_return(&cb) != -1)
			die("aio_read at -1: aio_error %d, aio_return %zd", aio_error(&cb),
			    aio_return(&cb));
		errno = 0;
		if (lio_listio(LIO_WAIT, list, 1, NULL) != -1 || errno != EIO)
			die("lio_listio LIO_WAIT with a failing request: errno %d", errno);
	}
	/* aio_cancel of a finished request */
	if (aio_cancel(fd, &cb) != AIO_ALLDONE)
		die("aio_cancel of a finished request did not say AIO_ALLDONE");
}

/* ------------------------------------------------------------------ */
/* libaio                                                               */
/* ------------------------------------------------------------------ */

static io_context_t actx;
/* --engine raw: libaio's calls made as system calls with syscall(2), as
 * programs without libaio make them (same results: libaio's -errno) */
static bool aio_raw;

static int raw_result(long r)
{
	return r < 0 ? -errno : (int)r;
}

static int x_io_submit(io_context_t ctx, long n, struct iocb **list)
{
	return aio_raw ? raw_result(syscall(SYS_io_submit, ctx, n, list)) : io_submit(ctx, n, list);
}

static int x_io_getevents(io_context_t ctx, long min, long n, struct io_event *ev,
			  struct timespec *ts)
{
	return aio_raw ? raw_result(syscall(SYS_io_getevents, ctx, min, n, ev, ts))
		       : io_getevents(ctx, min, n, ev, ts);
}

static void libaio_batch(struct op *ops, int n)
{
	struct iocb cbs[MAXB], *list[MAXB];
	struct io_event ev[MAXB];
	int got = 0, r;

	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];

		if (o->kind == OP_FSYNC)
			io_prep_fsync(&cbs[i], o->fd);
		else if (o->kind == OP_WRITE)
			o->niov > 1 ? io_prep_pwritev(&cbs[i], o->fd, o->iov, o->niov, o->off)
				    : io_prep_pwrite(&cbs[i], o->fd, o->buf, o->len, o->off);
		else
			o->niov > 1 ? io_prep_preadv(&cbs[i], o->fd, o->iov, o->niov, o->off)
				    : io_prep_pread(&cbs[i], o->fd, o->buf, o->len, o->off);
		cbs[i].data = o;
		list[i] = &cbs[i];
	}
	r = x_io_submit(actx, n, list);
	if (r != n)
		die("io_submit of %d: %d", n, r);
	while (got < n) {
		/* min_nr 1 now and then: events come in any grouping */
		long min = rnd_to(2) ? n - got : 1;

		r = x_io_getevents(actx, min, n - got, ev, NULL);
		if (r < min)
			die("io_getevents(%ld, %d): %d", min, n - got, r);
		for (int j = 0; j < r; j++) {
			struct op *o = ev[j].data;

			if (ev[j].obj != &cbs[o - ops])
				die("event %d: obj %p is not its iocb %p", j, (void *)ev[j].obj,
				    (void *)&cbs[o - ops]);
			o->res = (long)ev[j].res;
		}
		got += r;
	}
}

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x00000020 /* Linux 6.9 */
#endif

/* Whether the kernel knows RWF_NOAPPEND (Linux 6.9 on): asked on KFILE,
 * its byte 0 written again as it is. */
static bool kernel_noappend(void)
{
	int afd = open(kpath, O_WRONLY | O_APPEND);
	struct iovec iov = { .iov_base = kpattern, .iov_len = 1 };
	bool ok = afd >= 0 && pwritev2(afd, &iov, 1, 0, RWF_NOAPPEND) == 1;

	if (afd >= 0)
		close(afd);
	return ok;
}

/* The cases of a request through another description of FILE: one of
 * access mode 3 (neither reads nor writes) and one with O_APPEND, where
 * RWF_NOAPPEND writes at the request's offset. submit(fd, write, flags,
 * byte, off, &refused) returns the request's result, at submission
 * (refused) or in its event; refuses: the engine refuses a request on a
 * descriptor that cannot do it at submission (libaio), not in its event. */
static void other_descriptions(long (*submit)(int fd, bool write, int flags, char *b, off_t off,
					      bool *refused), bool refuses)
{
	int m3 = open(fpath, 3), afd = open(fpath, O_WRONLY | O_APPEND);
	bool refused;
	char b = 'N';
	long r;

	if (m3 < 0 || afd < 0)
		die("reopening FILE: %s", strerror(errno));
	for (int w = 0; w < 2; w++)
		if ((r = submit(m3, w, 0, &b, 0, &refused)) != -EBADF || refused != refuses)
			die("a %s on access mode 3: %ld%s, expected -EBADF%s", w ? "write" : "read",
			    r, refused ? " at submission" : "", refuses ? " at submission" : "");
	if (noappend && kernel_noappend()) {
		if ((r = submit(afd, true, RWF_NOAPPEND, &b, 0, &refused)) != 1)
			die("an RWF_NOAPPEND write on O_APPEND: %ld, expected 1", r);
		model[0] = (unsigned char)b; /* at 0, not at the end (check_whole) */
		if (msize < 1)
			msize = 1;
	}
	close(m3);
	close(afd);
}

static long libaio_submit(int rfd, bool write, int flags, char *b, off_t off, bool *refused)
{
	struct iocb cb, *list[1] = { &cb };
	struct io_event ev;
	int r;

	write ? io_prep_pwrite(&cb, rfd, b, 1, off) : io_prep_pread(&cb, rfd, b, 1, off);
	cb.aio_rw_flags = flags;
	*refused = (r = x_io_submit(actx, 1, list)) != 1;
	if (*refused)
		return r;
	if (x_io_getevents(actx, 1, 1, &ev, NULL) != 1 || ev.obj != &cb)
		die("the event of a request on another description");
	return (long)ev.res;
}

static void libaio_cases(void)
{
	struct iocb cb, *list[2] = { &cb, &cb };
	struct io_event ev;
	struct timespec zero = { 0, 0 };
	char b;
	int r;

	/* submission errors: a negative offset, then an unknown command */
	io_prep_pread(&cb, fd, &b, 1, -1);
	if ((r = x_io_submit(actx, 1, list)) != -EINVAL)
		die("io_submit at offset -1: %d, expected -EINVAL", r);
	cb.aio_lio_opcode = 6; /* IO_CMD_NOOP */
	cb.u.c.offset = 0;
	if ((r = x_io_submit(actx, 1, list)) != -EINVAL)
		die("io_submit of NOOP: %d, expected -EINVAL", r);
	/* the count accepted: a good iocb, then a bad one */
	{
		struct iocb good;

		io_prep_pread(&good, fd, &b, 1, 0);
		list[0] = &good;
		list[1] = &cb;
		if ((r = x_io_submit(actx, 2, list)) != 1)
			die("io_submit of a good and a bad iocb: %d, expected 1", r);
		if (x_io_getevents(actx, 1, 1, &ev, NULL) != 1 || ev.obj != &good || ev.res != 1)
			die("the good iocb's event");
	}
	other_descriptions(libaio_submit, true);
	/* nothing left: a zero timeout finds nothing */
	if ((r = x_io_getevents(actx, 0, 1, &ev, &zero)) != 0)
		die("io_getevents on an empty context: %d", r);
}

/* ------------------------------------------------------------------ */
/* io_uring                                                             */
/* ------------------------------------------------------------------ */

static struct io_uring uring;

static void uring_prep(struct io_uring_sqe *sqe, struct op *o)
{
	if (o->kind == OP_FSYNC)
		io_uring_prep_fsync(sqe, o->fd, 0);
	else if (o->kind == OP_WRITE)
		o->niov > 1 ? io_uring_prep_writev(sqe, o->fd, o->iov, o->niov, o->off)
			    : io_uring_prep_write(sqe, o->fd, o->buf, o->len, o->off);
	else
		o->niov > 1 ? io_uring_prep_readv(sqe, o->fd, o->iov, o->niov, o->off)
			    : io_uring_prep_read(sqe, o->fd, o->buf, o->len, o->off);
}

static void uring_reap(struct op *ops, int n)
{
	for (int got = 0; got < n; got++) {
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(&uring, &cqe);

		if (r < 0)
			die("io_uring_wait_cqe: %s", strerror(-r));
		if (cqe->user_data >= (uint64_t)n)
			die("a CQE with user_data %llu", (unsigned long long)cqe->user_data);
		ops[cqe->user_data].res = cqe->res;
		io_uring_cqe_seen(&uring, cqe);
	}
}

static void uring_batch(struct op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&uring);

		uring_prep(sqe, &ops[i]);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
	}
	if (io_uring_submit(&uring) != n)
		die("io_uring_submit of %d", n);
	uring_reap(ops, n);
}

/* Two requests, the first linked to the second with link. */
static void uring_pair(struct op *ops, unsigned link)
{
	for (int i = 0; i < 2; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&uring);

		uring_prep(sqe, &ops[i]);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
		if (i == 0)
			sqe->flags |= link;
	}
	if (io_uring_submit(&uring) != 2)
		die("io_uring_submit of a chain");
	uring_reap(ops, 2);
}

static long uring_submit(int rfd, bool write, int flags, char *b, off_t off, bool *refused)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&uring);
	struct io_uring_cqe *cqe;
	long res;

	*refused = false; /* io_uring answers every request in its CQE */
	write ? io_uring_prep_write(sqe, rfd, b, 1, (uint64_t)off)
	      : io_uring_prep_read(sqe, rfd, b, 1, (uint64_t)off);
	sqe->rw_flags = flags;
	if (io_uring_submit(&uring) != 1 || io_uring_wait_cqe(&uring, &cqe) < 0)
		die("io_uring_submit of a request on another description");
	res = cqe->res;
	io_uring_cqe_seen(&uring, cqe);
	return res;
}

static void uring_cases(void)
{
	struct op ops[3];
	unsigned char a[16], b[16];

	/* a chain: a write, then a read of it */
	memset(ops, 0, sizeof(ops));
	memset(a, 'w', sizeof(a));
	ops[0] = (struct op){ .kind = OP_WRITE, .fd = fd, .off = 100, .len = 16, .buf = a, .niov = 1 };
	ops[1] = (struct op){ .kind = OP_READ, .fd = fd, .off = 100, .len = 16, .buf = b, .niov = 1 };
	uring_pair(ops, IOSQE_IO_LINK);
	if (ops[0].res != 16 || ops[1].res != 16 || memcmp(a, b, 16) != 0)
		die("linked write and read: %ld, %ld", ops[0].res, ops[1].res);
	memcpy(model + 100, a, 16);
	if (msize < 116)
		msize = 116;

	/* a short read breaks its chain: the next is cancelled */
	ops[0] = (struct op){ .kind = OP_READ, .fd = fd, .off = (off_t)msize - 4, .len = 16,
			      .buf = a, .niov = 1 };
	ops[1] = (struct op){ .kind = OP_WRITE, .fd = fd, .off = 0, .len = 16, .buf = b, .niov = 1 };
	uring_pair(ops, IOSQE_IO_LINK);
	if (ops[0].res != 4 || ops[1].res != -ECANCELED)
		die("a short read linked to a write: %ld, %ld (expected 4, -ECANCELED)", ops[0].res,
		    ops[1].res);

	/* a failed read (bad offset) breaks a link, not a hard link */
	for (int hard = 0; hard < 2; hard++) {
		long second = hard ? 1 : -ECANCELED;

		ops[0] = (struct op){ .kind = OP_READ, .fd = fd, .off = -2, .len = 1, .buf = a,
				      .niov = 1 };
		ops[1] = (struct op){ .kind = OP_READ, .fd = fd, .off = 0, .len = 1, .buf = b,
				      .niov = 1 };
		uring_pair(ops, hard ? IOSQE_IO_HARDLINK : IOSQE_IO_LINK);
		if (ops[0].res != -EINVAL || ops[1].res != second || (hard && b[0] != model[0]))
			die("a failed read %slinked to a read: %ld, %ld (expected -EINVAL, %ld)",
			    hard ? "hard-" : "", ops[0].res, ops[1].res, second);
	}
	other_descriptions(uring_submit, false);
}

/* ------------------------------------------------------------------ */

static void check_whole(void)
{
	unsigned char *buf = malloc(maxsize + 1);
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0 || (size_t)st.st_size != msize)
		die("file size %lld, model %zu", (long long)st.st_size, msize);
	n = pread(fd, buf, maxsize + 1, 0);
	if (n != (ssize_t)msize || memcmp(buf, model, msize) != 0)
		die("the file's bytes differ from the model (read %zd)", n);
	free(buf);
}

static void run(const char *name, void (*batch)(struct op *, int), void (*cases)(void),
		long nops, bool vectored, bool kernel_too)
{
	struct op ops[MAXB];

	engine_name = name;
	if (ftruncate(fd, 0) != 0)
		die("ftruncate: %s", strerror(errno));
	memset(model, 0, maxsize + 4096 + MAXLEN);
	msize = 0;
	for (opno = 0; opno < nops;) {
		int n = batch_make(ops, vectored, kernel_too);

		batch_expect(ops, n);
		batch(ops, n);
		batch_check(ops, n);
		opno += n;
	}
	check_whole();
	cases();
	check_whole();
	printf("aio_exer: %s: %ld requests ok\n", name, opno);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long nops = 2000;
	const char *which = "all";
	uint64_t seed = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: aio_exer FILE KFILE [--ops N] [--seed S] [--size MAX] "
				"[--engine posix|libaio|raw|uring|all] [--noappend 0]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ops"))
			nops = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--size"))
			maxsize = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--engine"))
			which = argv[i + 1];
		else if (!strcmp(argv[i], "--noappend"))
			noappend = strcmp(argv[i + 1], "0") != 0;
	}
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	model = calloc(1, maxsize + 4096 + MAXLEN);
	fpath = argv[1];
	kpath = argv[2];
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	kfd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || kfd < 0) {
		perror("aio_exer: open");
		return 1;
	}
	for (int i = 0; i < KSIZE; i++)
		kpattern[i] = (unsigned char)(i * 7 + 3);
	if (pwrite(kfd, kpattern, KSIZE, 0) != KSIZE) {
		perror("aio_exer: KFILE");
		return 1;
	}
	if (!strcmp(which, "all") || !strcmp(which, "posix"))
		run("posix", posix_batch, posix_cases, nops, false, true);
	if (!strcmp(which, "all") || !strcmp(which, "libaio")) {
		int r = io_setup(64, &actx);

		if (r != 0) {
			fprintf(stderr, "aio_exer: io_setup: %s\n", strerror(-r));
			return 1;
		}
		run("libaio", libaio_batch, libaio_cases, nops, true, true);
		io_destroy(actx);
	}
	if (!strcmp(which, "all") || !strcmp(which, "raw")) {
		int r;

		actx = 0; /* io_setup wants a zero context */
		r = io_setup(64, &actx);

		if (r != 0) {
			fprintf(stderr, "aio_exer: io_setup: %s\n", strerror(-r));
			return 1;
		}
		aio_raw = true;
		run("libaio through syscall(2)", libaio_batch, libaio_cases, nops, true, true);
		aio_raw = false;
		if (syscall(SYS_io_destroy, actx) != 0)
			die("io_destroy through syscall(2): %s", strerror(errno));
	}
	if (!strcmp(which, "all") || !strcmp(which, "uring")) {
		int r = io_uring_queue_init(64, &uring, 0);

		if (r != 0) {
			fprintf(stderr, "aio_exer: io_uring_queue_init: %s\n", strerror(-r));
			return 1;
		}
		run("io_uring", uring_batch, uring_cases, nops, true, true);
		io_uring_queue_exit(&uring);
	}
	close(fd);
	close(kfd);
	return 0;
}
