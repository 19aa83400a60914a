/* SPDX-License-Identifier: MIT */
/*
 * aio_uring.c - io_uring through liburing on UMFS descriptors. liburing
 * makes its system calls inline, but the functions that hand the kernel
 * new submissions are exported: before each (io_uring_submit and the
 * other submitting calls) the library looks at the SQEs liburing has not
 * yet published, performs each read, write, vectored read or write, fsync
 * and close on a UMFS descriptor itself, in ring order, and replaces its
 * SQE with a NOP that completes with the same user_data and the request's
 * result (IORING_NOP_INJECT_RESULT): the kernel still posts every CQE, in
 * the order and with the wakeups it would. Link chains are followed: under
 * IOSQE_IO_LINK a request failed or short cancels the rest of its chain
 * with -ECANCELED, as the kernel does; IOSQE_IO_HARDLINK goes on. What cannot be served so is
 * refused, one log line naming the program and what would serve it, the
 * SQE a NOP failing with EOPNOTSUPP: a UMFS request linked after a kernel
 * one (it would have to wait for it), IOSQE_IO_DRAIN on a ring that
 * carried kernel requests, another operation on a UMFS descriptor, a
 * FILES_UPDATE letting the kernel pick UMFS files' slots later (below), and
 * everything on a kernel that cannot inject a NOP's result (then the SQE
 * is an unknown opcode: EINVAL). Fixed files: the descriptors registered
 * are kept per ring, with a reference on UMFS descriptions, and kernel
 * SQEs that change the table are followed in ring order, and the slots
 * the kernel picks (IORING_FILE_INDEX_ALLOC) once the submission returns
 * (a pick that may come later is refused).
 * See docs/shim.md, "Asynchronous I/O".
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define URING_MAX_FIXED (1u << 20) /* the kernel's limit of a fixed-file table */

#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1U << 0)
#endif

/* What the library knows of one ring that met UMFS descriptors. */
struct uring_state {
	struct io_uring *ring;
	unsigned served;     /* SQEs replaced by NOPs (liburing's sqe_head counts all) */
	unsigned nfixed;
	struct ofd **fixed;  /* registered files: the UMFS descriptions, else NULL */
	struct uring_alloc *allocs; /* published, the kernel's slots not read yet */
	struct uring_state *next;
};

static struct uring_state *uring_states;
static pthread_mutex_t uring_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned uring_fixed_umfs; /* UMFS descriptions in fixed-file tables */
static _Atomic int uring_inject = -1;     /* the kernel's NOP injects results: 1, 0, unknown */
static _Atomic unsigned uring_allocs_pending; /* struct uring_alloc, in all rings */

static struct uring_state *uring_state_find(struct io_uring *ring, bool make)
{
	struct uring_state *s;

	pthread_mutex_lock(&uring_mu);
	for (s = uring_states; s && s->ring != ring; s = s->next)
		;
	if (!s && make && (s = calloc(1, sizeof(*s))) != NULL) {
		s->ring = ring;
		s->next = uring_states;
		uring_states = s;
	}
	pthread_mutex_unlock(&uring_mu);
	return s;
}

/* Asks the kernel once, on a ring of the library's own, whether a NOP
 * completes with the result it is given (Linux 6.10 and later). */
static bool uring_inject_ok(void)
{
	int v = atomic_load(&uring_inject);
	struct io_uring r;
	int saved = errno;

	if (v >= 0)
		return v;
	v = 0;
	if (SYS(io_uring_queue_init)(2, &r, 0) == 0) {
		struct io_uring_sqe *sqe = &r.sq.sqes[r.sq.sqe_tail & r.sq.ring_mask];

		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_NOP;
		sqe->rw_flags = IORING_NOP_INJECT_RESULT;
		sqe->len = 0x5a5a;
		sqe->user_data = 7;
		r.sq.sqe_tail++;
		if (SYS(io_uring_submit)(&r) == 1) {
			unsigned head = *r.cq.khead;

			if (head != io_uring_smp_load_acquire(r.cq.ktail)) {
				struct io_uring_cqe *c = &r.cq.cqes[head & r.cq.ring_mask];

				v = c->user_data == 7 && c->res == 0x5a5a;
			}
		}
		SYS(io_uring_queue_exit)(&r);
	}
	atomic_store(&uring_inject, v);
	errno = saved;
	return v;
}

/* Operations whose fd field names no file. */
static bool op_takes_file(unsigned op)
{
	switch (op) {
	case IORING_OP_NOP:
	case IORING_OP_TIMEOUT:
	case IORING_OP_TIMEOUT_REMOVE:
	case IORING_OP_ASYNC_CANCEL:
	case IORING_OP_LINK_TIMEOUT:
	case IORING_OP_FILES_UPDATE:
	case IORING_OP_MADVISE:
	case IORING_OP_PROVIDE_BUFFERS:
	case IORING_OP_REMOVE_BUFFERS:
	case IORING_OP_MSG_RING:
	case IORING_OP_SOCKET:
	case IORING_OP_POLL_ADD:    /* the token polls as a regular file: ready */
	case IORING_OP_POLL_REMOVE:
	case IORING_OP_EPOLL_CTL:   /* the fd is the epoll instance */
		return false;
	}
	return op < 64;
}

/* The UMFS description that descriptor fd (fixed: slot fd of the ring's
 * table) stands for, with a reference, or NULL. */
static struct ofd *fd_or_slot_ofd(struct uring_state *s, int fd, bool fixed)
{
	struct ofd *o;

	if (!fixed)
		return fd_get_fast(fd);
	if (!s || (unsigned)fd >= s->nfixed || !(o = s->fixed[fd]))
		return NULL;
	ofd_get(o);
	return o;
}

/* The UMFS description an SQE names, with a reference, or NULL. A splice
 * or tee names a second file, its source. */
static struct ofd *sqe_ofd(struct uring_state *s, const struct io_uring_sqe *sqe)
{
	struct ofd *o;

	if (!op_takes_file(sqe->opcode))
		return NULL;
	if (sqe->opcode == IORING_OP_CLOSE && sqe->file_index)
		return NULL; /* closes a slot of the table: the kernel's (uring_slots_change) */
	o = fd_or_slot_ofd(s, sqe->fd, sqe->flags & IOSQE_FIXED_FILE);
	if (!o && (sqe->opcode == IORING_OP_SPLICE || sqe->opcode == IORING_OP_TEE))
		o = fd_or_slot_ofd(s, sqe->splice_fd_in, sqe->splice_flags & SPLICE_F_FD_IN_FIXED);
	return o;
}

static void sqe_set_nop(struct io_uring_sqe *sqe, int res)
{
	uint64_t data = sqe->user_data;
	uint8_t flags = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_IO_DRAIN |
				      IOSQE_CQE_SKIP_SUCCESS | IOSQE_ASYNC);

	memset(sqe, 0, sizeof(*sqe));
	sqe->flags = flags;
	sqe->user_data = data;
	if (uring_inject_ok()) {
		sqe->opcode = IORING_OP_NOP;
		sqe->rw_flags = IORING_NOP_INJECT_RESULT;
		sqe->len = (uint32_t)res;
	} else {
		sqe->opcode = 0xff; /* the kernel's EINVAL: no way to give another result */
	}
}

static const char *const refuse_why[] = {
	"a UMFS request linked after a kernel request (it would have to wait for it)",
	"IOSQE_IO_DRAIN on a UMFS request of a ring that carried kernel requests",
	"an operation other than read, write, readv, writev, fsync, close on a UMFS descriptor",
	"IOSQE_BUFFER_SELECT on a UMFS request (the kernel would pick the buffer)",
	"this kernel cannot complete a request with the library's result (NOP results: Linux 6.10)",
	"a FILES_UPDATE letting the kernel pick slots for UMFS descriptors where the library "
	"cannot follow them (IOSQE_ASYNC, a link, a drain, IOSQE_CQE_SKIP_SUCCESS, SQPOLL)",
};

/* The result a refused SQE completes with. */
static int uring_refuse(const struct io_uring_sqe *sqe, unsigned why)
{
	static _Atomic unsigned said;

	if (!(atomic_fetch_or(&said, 1u << why) & (1u << why)))
		SHIM_LOG(LOG_WARN, "io_uring: %s: opcode %u refused (EOPNOTSUPP): %s; programs "
				   "under umfs-run's kernel mount (umfs-fuse) are served",
			 program_invocation_short_name, (unsigned)sqe->opcode, refuse_why[why]);
	return -EOPNOTSUPP;
}

/* Performs an SQE on UMFS description o: its result (the bytes wanted in
 * *want, for the short-transfer rule of links). */
static int sqe_perform(struct ofd *o, const struct io_uring_sqe *sqe, int64_t *want)
{
	struct iovec one = { (void *)(uintptr_t)sqe->addr, sqe->len };
	const struct iovec *iov = &one;
	int acc = atomic_load_explicit(&o->sh->flags, memory_order_relaxed);
	int cnt = 1, flags = sqe->rw_flags & ~RWF_NOWAIT;
	off_t off = (off_t)sqe->off;
	bool rd;

	*want = -1;
	SHIM_SERVE();
	switch (sqe->opcode) {
	case IORING_OP_FSYNC:
		if (sqe->addr || sqe->buf_index || sqe->splice_fd_in ||
		    (sqe->fsync_flags & ~IORING_FSYNC_DATASYNC))
			return -EINVAL;
		return shim_ofd_fsync(o, sqe->fsync_flags & IORING_FSYNC_DATASYNC);
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
		iov = (const struct iovec *)(uintptr_t)sqe->addr;
		cnt = (int)sqe->len;
		if (sqe->len > IOV_MAX)
			return -EINVAL;
		if (user_readable(iov, (size_t)cnt * sizeof(*iov)))
			return -EFAULT;
		break;
	}
	rd = sqe->opcode == IORING_OP_READ || sqe->opcode == IORING_OP_READV ||
	     sqe->opcode == IORING_OP_READ_FIXED;
	if ((acc & O_PATH) || (rd ? !acc_reads(acc) : !acc_writes(acc)))
		return -EBADF;
	if (sqe->rw_flags & ~SHIM_RWF_KNOWN)
		return -EOPNOTSUPP;
	*want = 0;
	for (int i = 0; i < cnt; i++)
		*want += (int64_t)iov[i].iov_len;
	if (off < -1)
		return -EINVAL;
	return (int)(rd ? shim_ofd_preadv(o, iov, cnt, off, flags)
			: shim_ofd_pwritev(o, iov, cnt, off, flags));
}

static bool op_served(unsigned op)
{
	switch (op) {
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
	case IORING_OP_READ_FIXED:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_FSYNC:
		return true;
	}
	return false;
}

static bool uring_slots_changed_by(struct uring_state *s, const struct io_uring_sqe *sqe);
static void uring_slots_change(struct io_uring *ring, struct uring_state *s,
			       const struct io_uring_sqe *sqe);
static bool alloc_unfollowable(const struct io_uring *ring, const struct io_uring_sqe *sqe,
			       bool linked);

/* The unpublished SQEs, with at least one on a UMFS descriptor or one
 * that changes a fixed-file table the library keeps. */
static void uring_serve(struct io_uring *ring, struct uring_state *s)
{
	struct io_uring_sq *sq = &ring->sq;
	int shift = ring->flags & IORING_SETUP_SQE128 ? 1 : 0;
	bool chain = false, chain_kernel = false, chain_broken = false;
	unsigned kernel_before = sq->sqe_head - s->served;

	for (unsigned i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[(i & sq->ring_mask) << shift];
		bool links = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK), linked = chain;
		struct ofd *o = sqe_ofd(s, sqe);
		uint64_t t0 = stats_t0();
		int64_t want = -1;
		int res;

		if (!chain)
			chain_kernel = chain_broken = false;
		chain = links;
		if (!o && !chain_broken && !alloc_unfollowable(ring, sqe, linked)) {
			uring_slots_change(ring, s, sqe);
			chain_kernel = true;
			kernel_before++;
			continue;
		}
		s->served++;
		if (chain_broken) {
			res = -ECANCELED; /* the kernel never starts the rest of a broken chain */
		} else if (!uring_inject_ok()) {
			res = uring_refuse(sqe, 4);
		} else if (!o) {
			res = uring_refuse(sqe, 5); /* alloc_unfollowable */
		} else if (chain_kernel) {
			res = uring_refuse(sqe, 0);
		} else if ((sqe->flags & IOSQE_IO_DRAIN) && kernel_before) {
			res = uring_refuse(sqe, 1);
		} else if (sqe->opcode == IORING_OP_CLOSE && !(sqe->flags & IOSQE_FIXED_FILE)) {
			res = sqe->off || sqe->addr || sqe->len || sqe->rw_flags || sqe->buf_index ||
					      sqe->file_index
				      ? -EINVAL
				      : shim_close(sqe->fd);
		} else if (!op_served(sqe->opcode)) {
			res = uring_refuse(sqe, 2);
		} else if (sqe->flags & IOSQE_BUFFER_SELECT) {
			res = uring_refuse(sqe, 3);
		} else {
			res = sqe_perform(o, sqe, &want);
			TRACE_SERVED(io_uring, res, t0, "%d, op %u, %u", sqe->fd,
				     (unsigned)sqe->opcode, sqe->len);
		}
		/* under IOSQE_IO_LINK (not HARDLINK) a failure breaks the chain,
		 * and so does a short transfer, which the NOP would not: the
		 * rest of the chain is cancelled here */
		if (links && !chain_broken && !(sqe->flags & IOSQE_IO_HARDLINK) &&
		    (res < 0 || (want >= 0 && res != want)))
			chain_broken = true;
		sqe_set_nop(sqe, res);
		if (o)
			ofd_put(o);
	}
}

/* Before liburing publishes the pending SQEs. */
static void uring_prepare(struct io_uring *ring)
{
	struct io_uring_sq *sq;
	struct uring_state *s = NULL;
	int shift;

	if (likely(!uinfo_tokens() &&
		   atomic_load_explicit(&uring_fixed_umfs, memory_order_relaxed) == 0) ||
	    ring == NULL)
		return;
	sq = &ring->sq;
	shift = ring->flags & IORING_SETUP_SQE128 ? 1 : 0;
	if (atomic_load_explicit(&uring_fixed_umfs, memory_order_relaxed))
		s = uring_state_find(ring, false);
	for (unsigned i = sq->sqe_head; i != sq->sqe_tail; i++) {
		const struct io_uring_sqe *sqe = &sq->sqes[(i & sq->ring_mask) << shift];
		struct ofd *o = sqe_ofd(s, sqe);

		if (o)
			ofd_put(o);
		if (o || uring_slots_changed_by(s, sqe)) {
			if (!s)
				s = uring_state_find(ring, true);
			if (s)
				uring_serve(ring, s);
			return;
		}
	}
}

static void uring_settle(struct io_uring *ring);

/* The submitting calls: what the library serves before, the slots the
 * kernel picked for UMFS files after (uring_settle). */
SHIM_API int io_uring_submit(struct io_uring *ring)
{
	int r;

	uring_prepare(ring);
	r = SYS(io_uring_submit)(ring);
	uring_settle(ring);
	return r;
}

SHIM_API int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	int r;

	uring_prepare(ring);
	r = SYS(io_uring_submit_and_wait)(ring, wait_nr);
	uring_settle(ring);
	return r;
}

SHIM_API int io_uring_submit_and_wait_timeout(struct io_uring *ring,
					      struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
					      struct __kernel_timespec *ts, sigset_t *sigmask)
{
	int r;

	uring_prepare(ring);
	r = SYS(io_uring_submit_and_wait_timeout)(ring, cqe_ptr, wait_nr, ts, sigmask);
	uring_settle(ring);
	return r;
}

SHIM_API int io_uring_submit_and_get_events(struct io_uring *ring)
{
	int r;

	uring_prepare(ring);
	r = SYS(io_uring_submit_and_get_events)(ring);
	uring_settle(ring);
	return r;
}

/* Without IORING_FEAT_EXT_ARG, a wait with a timeout submits a timeout SQE
 * and, with it, every pending one. */
SHIM_API int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				unsigned wait_nr, struct __kernel_timespec *ts, sigset_t *sigmask)
{
	int r;

	if (!ts)
		return SYS(io_uring_wait_cqes)(ring, cqe_ptr, wait_nr, ts, sigmask);
	uring_prepare(ring);
	r = SYS(io_uring_wait_cqes)(ring, cqe_ptr, wait_nr, ts, sigmask);
	uring_settle(ring);
	return r;
}

SHIM_API int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				       struct __kernel_timespec *ts)
{
	int r;

	if (!ts)
		return SYS(io_uring_wait_cqe_timeout)(ring, cqe_ptr, ts);
	uring_prepare(ring);
	r = SYS(io_uring_wait_cqe_timeout)(ring, cqe_ptr, ts);
	uring_settle(ring);
	return r;
}

/* ------------------------------------------------------------------ */
/* Fixed files                                                          */
/* ------------------------------------------------------------------ */

static void fixed_drop(struct uring_state *s, unsigned from, unsigned n)
{
	for (unsigned i = from; i < from + n && i < s->nfixed; i++)
		if (s->fixed[i]) {
			ofd_put(s->fixed[i]);
			s->fixed[i] = NULL;
			atomic_fetch_sub(&uring_fixed_umfs, 1);
		}
}

/* The library's table grown to size slots, the new ones empty (as it was
 * when memory is short: the slots beyond are then not followed). */
static void fixed_grow(struct uring_state *s, unsigned size)
{
	struct ofd **t;

	if (size <= s->nfixed || size > URING_MAX_FIXED ||
	    !(t = realloc(s->fixed, size * sizeof(*t))))
		return;
	memset(t + s->nfixed, 0, (size - s->nfixed) * sizeof(*t));
	s->fixed = t;
	s->nfixed = size;
}

static bool fixed_any(const int *files, unsigned n)
{
	if (!uinfo_tokens() || !files)
		return false;
	for (unsigned i = 0; i < n; i++) {
		struct ofd *o = uinfo_peek(files[i]);

		if (o != NULL && o != UINFO_INTERNAL)
			return true;
	}
	return false;
}

/* The table's slots [off, off + n) now hold files (-1: empty; NULL files:
 * n empty slots); grows the table to size, or to off + n, when larger (a
 * sparse table the library did not see registered). */
static void fixed_note(struct io_uring *ring, unsigned size, unsigned off, const int *files,
		       unsigned n)
{
	struct uring_state *s = uring_state_find(ring, fixed_any(files, n));

	if (!s)
		return;
	if (off + n > size && off + n >= off)
		size = off + n;
	fixed_grow(s, size);
	for (unsigned i = 0; i < n && off + i < s->nfixed; i++) {
		if (files && files[i] == IORING_REGISTER_FILES_SKIP)
			continue;
		fixed_drop(s, off + i, 1);
		if (files && (s->fixed[off + i] = fd_get_fast(files[i])) != NULL)
			atomic_fetch_add(&uring_fixed_umfs, 1);
	}
}

/* The slot a kernel SQE installs a file in or closes (0: none). The
 * kernel's choice of a free slot (IORING_FILE_INDEX_ALLOC) is made among
 * empty slots, which the library holds nothing for. */
static unsigned sqe_slot(const struct io_uring_sqe *sqe)
{
	switch (sqe->opcode) {
	case IORING_OP_CLOSE:
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2:
	case IORING_OP_ACCEPT:
	case IORING_OP_SOCKET:
		return sqe->file_index != IORING_FILE_INDEX_ALLOC ? sqe->file_index : 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Slots the kernel picks                                               */
/* ------------------------------------------------------------------ */

/* Whether a FILES_UPDATE lets the kernel pick the slots: it reads the
 * offset as 32 bits (liburing's prep widens an int). */
static bool update_allocs(const struct io_uring_sqe *sqe)
{
	return (uint32_t)sqe->off == IORING_FILE_INDEX_ALLOC;
}

/* A FILES_UPDATE's array of sqe->len descriptors, or NULL when it is too
 * long for a table or cannot be read (the kernel then fails the update). */
static const int *update_files(const struct io_uring_sqe *sqe)
{
	const int *files = (const int *)(uintptr_t)sqe->addr;

	if (sqe->len > URING_MAX_FIXED || user_readable(files, sqe->len * sizeof(int)))
		return NULL;
	return files;
}

/* Whether a FILES_UPDATE naming UMFS descriptors (linked: behind another
 * SQE of its chain) lets the kernel pick their slots where the library
 * cannot follow: run after the submitting call returns (IOSQE_ASYNC,
 * behind a link or a drain, an SQPOLL ring's thread), or with no CQE to
 * tell a slot equal to the descriptor's number (IOSQE_CQE_SKIP_SUCCESS).
 * Refused: requests on such a slot would reach the token. */
static bool alloc_unfollowable(const struct io_uring *ring, const struct io_uring_sqe *sqe,
			       bool linked)
{
	const int *files;

	return sqe->opcode == IORING_OP_FILES_UPDATE && update_allocs(sqe) &&
	       (linked || (ring->flags & IORING_SETUP_SQPOLL) ||
		(sqe->flags & (IOSQE_ASYNC | IOSQE_IO_DRAIN | IOSQE_CQE_SKIP_SUCCESS))) &&
	       (files = update_files(sqe)) && fixed_any(files, sqe->len);
}

/*
 * A FILES_UPDATE with IORING_FILE_INDEX_ALLOC naming UMFS descriptors:
 * the kernel installs each file in an empty slot of its choosing and
 * writes the slot over the descriptor in the program's array, in order,
 * stopping at the first failure; the CQE says how many. Kept from its
 * publication until the submitting call returns, when the kernel has run
 * it (unless something deferred it: then its slots are not followed).
 */
struct uring_alloc {
	int *files;        /* the program's array */
	unsigned n;
	uint64_t user_data;
	int *was;          /* the descriptors it named */
	struct ofd **ofd;  /* their UMFS descriptions, with a reference, or NULL */
	struct uring_alloc *next;
};

static void alloc_note(struct uring_state *s, const struct io_uring_sqe *sqe)
{
	unsigned n = sqe->len;
	struct uring_alloc *a = malloc(sizeof(*a) + n * (sizeof(int) + sizeof(struct ofd *)));

	if (!a)
		return; /* its slots are not followed: requests on them reach the token */
	a->files = (int *)(uintptr_t)sqe->addr;
	a->n = n;
	a->user_data = sqe->user_data;
	a->ofd = (struct ofd **)(a + 1);
	a->was = (int *)(a->ofd + n);
	for (unsigned i = 0; i < n; i++) {
		a->was[i] = a->files[i];
		a->ofd[i] = fd_get_fast(a->was[i]);
	}
	pthread_mutex_lock(&uring_mu);
	a->next = s->allocs;
	s->allocs = a;
	pthread_mutex_unlock(&uring_mu);
	atomic_fetch_add(&uring_allocs_pending, 1);
}

/* The result of the one CQE waiting for user_data: false when there is
 * none (not run yet, skipped on success, reaped already) or several. */
static bool cqe_waiting(struct io_uring *ring, uint64_t user_data, int *res)
{
	struct io_uring_cq *cq = &ring->cq;
	int shift = ring->flags & IORING_SETUP_CQE32 ? 1 : 0;
	unsigned tail = io_uring_smp_load_acquire(cq->ktail), found = 0;

	for (unsigned i = *cq->khead; i != tail; i++) {
		const struct io_uring_cqe *c = &cq->cqes[(i & cq->ring_mask) << shift];

		if (c->user_data == user_data) {
			*res = c->res;
			found++;
		}
	}
	return found == 1;
}

/* The slots the kernel gave a's files, into the library's table. What it
 * did is a prefix of the array: up to the last entry that changed (a slot
 * in place of a descriptor), or as many as the CQE says when one is
 * waiting (a slot may equal the descriptor's number). */
static void alloc_settle(struct io_uring *ring, struct uring_state *s, struct uring_alloc *a)
{
	unsigned done = 0;
	int res = 0;

	if (user_readable(a->files, a->n * sizeof(int)) == 0) {
		for (unsigned i = 0; i < a->n; i++)
			if (a->files[i] != a->was[i])
				done = i + 1;
		if (cqe_waiting(ring, a->user_data, &res) && res > 0 && (unsigned)res <= a->n)
			done = (unsigned)res;
	}
	for (unsigned i = 0; i < a->n; i++) {
		unsigned slot = (unsigned)a->files[i];

		if (a->ofd[i] && i < done && slot < URING_MAX_FIXED &&
		    (fixed_grow(s, slot + 1), slot < s->nfixed)) {
			fixed_drop(s, slot, 1); /* was empty: the kernel chose it */
			s->fixed[slot] = a->ofd[i];
			atomic_fetch_add(&uring_fixed_umfs, 1);
		} else if (a->ofd[i]) {
			ofd_put(a->ofd[i]);
		}
	}
	free(a);
}

/* What was kept for a ring that is gone. */
static void alloc_forget(struct uring_state *s)
{
	for (struct uring_alloc *a = s->allocs, *next; a; a = next) {
		next = a->next;
		for (unsigned i = 0; i < a->n; i++)
			if (a->ofd[i])
				ofd_put(a->ofd[i]);
		atomic_fetch_sub(&uring_allocs_pending, 1);
		free(a);
	}
	s->allocs = NULL;
}

static void uring_settle(struct io_uring *ring)
{
	struct uring_state *s;
	struct uring_alloc *a;
	int saved = errno;

	if (likely(atomic_load_explicit(&uring_allocs_pending, memory_order_relaxed) == 0) ||
	    !(s = uring_state_find(ring, false)))
		return;
	pthread_mutex_lock(&uring_mu);
	a = s->allocs;
	s->allocs = NULL;
	pthread_mutex_unlock(&uring_mu);
	while (a) {
		struct uring_alloc *next = a->next;

		atomic_fetch_sub(&uring_allocs_pending, 1);
		alloc_settle(ring, s, a);
		a = next;
	}
	errno = saved;
}

/* Whether a kernel SQE changes slots that the library must follow:
 * IORING_OP_FILES_UPDATE naming a UMFS descriptor, or a slot closed or
 * replaced in a table that holds UMFS files. */
static bool uring_slots_changed_by(struct uring_state *s, const struct io_uring_sqe *sqe)
{
	const int *files;

	if (sqe->opcode == IORING_OP_FILES_UPDATE)
		return (files = update_files(sqe)) &&
		       (fixed_any(files, sqe->len) ||
			/* the kernel allocates only empty slots: nothing to let go of */
			(!update_allocs(sqe) && s && atomic_load(&uring_fixed_umfs)));
	return s && atomic_load(&uring_fixed_umfs) && sqe_slot(sqe) != 0;
}

/* A kernel SQE about to be published: the slots it changes, as the kernel
 * will have them (a failed update or install leaves them as they were in
 * the kernel; here they are then forgotten, and requests on them go to the
 * kernel, which fails them as it would an empty slot's or the token's). */
static void uring_slots_change(struct io_uring *ring, struct uring_state *s,
			       const struct io_uring_sqe *sqe)
{
	unsigned slot;

	if (!uring_slots_changed_by(s, sqe))
		return;
	if (sqe->opcode == IORING_OP_FILES_UPDATE && update_allocs(sqe)) {
		alloc_note(s, sqe);
	} else if (sqe->opcode == IORING_OP_FILES_UPDATE) {
		fixed_note(ring, 0, (unsigned)sqe->off, (const int *)(uintptr_t)sqe->addr, sqe->len);
	} else if ((slot = sqe_slot(sqe)) != 0) {
		fixed_drop(s, slot - 1, 1);
	}
}

static void fixed_forget(struct io_uring *ring)
{
	struct uring_state *s = uring_state_find(ring, false);

	if (s) {
		fixed_drop(s, 0, s->nfixed);
		s->nfixed = 0;
	}
}

SHIM_API int io_uring_register_files(struct io_uring *ring, const int *files, unsigned nr)
{
	int r = SYS(io_uring_register_files)(ring, files, nr);

	if (r == 0 && (fixed_any(files, nr) || atomic_load(&uring_fixed_umfs)))
		fixed_note(ring, nr, 0, files, nr);
	return r;
}

SHIM_API int io_uring_register_files_tags(struct io_uring *ring, const int *files,
					  const __u64 *tags, unsigned nr)
{
	int r = SYS(io_uring_register_files_tags)(ring, files, tags, nr);

	if (r == 0 && (fixed_any(files, nr) || atomic_load(&uring_fixed_umfs)))
		fixed_note(ring, nr, 0, files, nr);
	return r;
}

SHIM_API int io_uring_register_files_update(struct io_uring *ring, unsigned off,
					    const int *files, unsigned nr)
{
	int r = SYS(io_uring_register_files_update)(ring, off, files, nr);

	if (r > 0 && (fixed_any(files, (unsigned)r) || atomic_load(&uring_fixed_umfs)))
		fixed_note(ring, 0, off, files, (unsigned)r);
	return r;
}

SHIM_API int io_uring_register_files_update_tag(struct io_uring *ring, unsigned off,
						const int *files, const __u64 *tags, unsigned nr)
{
	int r = SYS(io_uring_register_files_update_tag)(ring, off, files, tags, nr);

	if (r > 0 && (fixed_any(files, (unsigned)r) || atomic_load(&uring_fixed_umfs)))
		fixed_note(ring, 0, off, files, (unsigned)r);
	return r;
}

SHIM_API int io_uring_unregister_files(struct io_uring *ring)
{
	int r = SYS(io_uring_unregister_files)(ring);

	if (r == 0 && atomic_load(&uring_fixed_umfs))
		fixed_forget(ring);
	return r;
}

SHIM_API void io_uring_queue_exit(struct io_uring *ring)
{
	struct uring_state *s, **pp;

	SYS(io_uring_queue_exit)(ring);
	if (!uring_states)
		return;
	fixed_forget(ring);
	pthread_mutex_lock(&uring_mu);
	for (pp = &uring_states; (s = *pp) != NULL; pp = &s->next)
		if (s->ring == ring) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&uring_mu);
	if (s) {
		alloc_forget(s);
		free(s->fixed);
		free(s);
	}
}
