/* SPDX-License-Identifier: MIT */
/*
 * nofile.c - where the library keeps its own descriptors (the pool, the
 * runtime directory, the helper files, the anchors), and the program's
 * view of RLIMIT_NOFILE that keeps them out of the program's numbers.
 *
 * The library's numbers are HIGH_ROOM numbers from a base:
 *   top    hard limit <= HIGH_CAP: the top HIGH_ROOM numbers under the
 *          hard limit. The program sees a hard limit HIGH_ROOM lower (its
 *          soft limit no higher), and what it sets is shifted up by as
 *          much, so that no limit it can set reaches the library's numbers.
 *          A soft limit above the base is lowered to it at start.
 *   above  a larger hard limit, soft limit <= HIGH_CAP with room above
 *          it: from the soft limit at start (a table up to the hard limit
 *          would cost the kernel memory and every fork a copy). A program
 *          that raises its soft limit past the base finds them below it.
 *   low    otherwise: just under min(soft limit, HIGH_LOW_CAP).
 * The kernel hands out no number at or past the soft limit, so a
 * descriptor is placed there with the soft limit raised for the instant of
 * the F_DUPFD or dup3 (descriptors past the limit stay valid), or of a
 * whole mount, which places a dozen.
 */
#include <unistd.h>

#include "shim.h"

#define HIGH_ROOM SHIM_HIGH_ROOM /* numbers the library may use from its base */
#define HIGH_CAP 65536
#define HIGH_LOW_CAP 4096

static _Atomic int base;
/* base lies under the soft limit it was chosen with (the "low" placement) */
static _Atomic bool base_low;
/* In top mode: the hard limit the program sees (RLIM_INFINITY: none hidden). */
static _Atomic rlim_t view_max = RLIM_INFINITY;

/* The base for limits rl; *top says whether it is the top of the hard
 * limit, which only a process that hides it (may_hide) uses. */
static int base_for(const struct rlimit *rl, bool may_hide, bool *top)
{
	int b;

	*top = may_hide && rl->rlim_max != RLIM_INFINITY && rl->rlim_max <= HIGH_CAP &&
	       rl->rlim_max >= 4 * HIGH_ROOM;
	if (*top)
		b = (int)(rl->rlim_max - HIGH_ROOM);
	else if (rl->rlim_cur <= HIGH_CAP && rl->rlim_max >= rl->rlim_cur + HIGH_ROOM)
		b = (int)rl->rlim_cur;
	else
		b = (int)(rl->rlim_cur < HIGH_LOW_CAP ? rl->rlim_cur : HIGH_LOW_CAP) - HIGH_ROOM;
	return b < 10 ? 10 : b;
}

/* base and whether it lies under the soft limit soft, set together. */
static int base_store(int b, rlim_t soft)
{
	atomic_store(&base_low, (rlim_t)b < soft);
	atomic_store(&base, b);
	return b;
}

/* At start, for a process that serves a pool: the program's view is set
 * before it can read it. */
void nofile_init(void)
{
	struct rlimit rl;
	bool top;
	int b;

	if (OS(getrlimit)(RLIMIT_NOFILE, &rl) != 0)
		return;
	b = base_for(&rl, true, &top);
	if (top && rl.rlim_cur > (rlim_t)b) {
		rl.rlim_cur = (rlim_t)b;
		if (OS(setrlimit)(RLIMIT_NOFILE, &rl) != 0)
			b = base_for(&rl, false, &top);
	}
	if (top)
		atomic_store(&view_max, (rlim_t)b);
	base_store(b, rl.rlim_cur);
}

int shim_high_fd(void)
{
	int b = atomic_load_explicit(&base, memory_order_relaxed);

	if (!b) { /* no pool at start: nothing hidden */
		struct rlimit rl = { 1024, 1024 };
		bool top;

		OS(getrlimit)(RLIMIT_NOFILE, &rl);
		b = base_store(base_for(&rl, false, &top), rl.rlim_cur);
	}
	return b;
}

/* RLIMIT_NOFILE as the program sees it. */
void nofile_view(struct rlimit *rl)
{
	rlim_t v = atomic_load(&view_max);

	if (v == RLIM_INFINITY)
		return;
	if (rl->rlim_cur > v)
		rl->rlim_cur = v;
	if (rl->rlim_max > v)
		rl->rlim_max = v;
}

/* setrlimit(RLIMIT_NOFILE, want) by the program, for itself: the kernel's
 * hard limit is the program's with the library's numbers on top, and never
 * below them (they must stay placeable: a forked child puts its own gate
 * description on its number). 0 or -errno. */
int nofile_set(const struct rlimit *want)
{
	rlim_t v = atomic_load(&view_max), top = (rlim_t)shim_high_fd() + HIGH_ROOM;
	struct rlimit real;

	if (!want)
		return 0; /* glibc's setrlimit asks the kernel for nothing then */
	shim_vfork_own_memory(); /* the view below is the process's */
	if (user_readable(want, sizeof(*want)))
		return -EFAULT; /* as the kernel reads it */
	real = *want;

	if (v == RLIM_INFINITY && (want->rlim_max == RLIM_INFINITY || want->rlim_max >= top))
		return OS(setrlimit)(RLIMIT_NOFILE, want) == 0 ? 0 : -errno;
	/* the program's limit is under the library's numbers: hidden from now on */
	if (want->rlim_cur > want->rlim_max)
		return -EINVAL;
	if (want->rlim_max != RLIM_INFINITY)
		real.rlim_max = want->rlim_max > RLIM_INFINITY - HIGH_ROOM
					? RLIM_INFINITY : want->rlim_max + HIGH_ROOM;
	if (real.rlim_max < top)
		real.rlim_max = top;
	if (OS(setrlimit)(RLIMIT_NOFILE, &real) != 0)
		return -errno;
	atomic_store(&view_max, want->rlim_max);
	return 0;
}

/* Before an exec: the kernel's hard limit comes down to the program's with
 * room for the next image's numbers on top, so that the new image (and one
 * without the library) gets the limit the program set. After a failed exec
 * the library's numbers start at the program's limit from then on. */
void nofile_exec_prepare(void)
{
	rlim_t v = atomic_load(&view_max);
	struct rlimit rl;

	if (v == RLIM_INFINITY || v > RLIM_INFINITY - HIGH_ROOM ||
	    OS(getrlimit)(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max <= v + HIGH_ROOM)
		return;
	rl.rlim_max = v + HIGH_ROOM;
	if (rl.rlim_cur > v)
		rl.rlim_cur = v;
	if (OS(setrlimit)(RLIMIT_NOFILE, &rl) == 0 && !shim_vfork_child() &&
	    (rlim_t)shim_high_fd() > v)
		base_store((int)v < 10 ? 10 : (int)v, rl.rlim_cur); /* at or over the soft limit */
}

/* This thread raised the limit and has not restored it: the calls within
 * (a mount places a dozen descriptors) find it raised without asking. */
static __thread bool raise_held;

/* Raises the soft RLIMIT_NOFILE so that the library's range is usable (and
 * a descriptor can be had when the program's range is full), until
 * sys_nofile_restore(r). False (r->raised) when nothing was changed. */
bool sys_nofile_raise(struct nofile_raise *r)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)shim_high_fd() + HIGH_ROOM;

	r->raised = false;
	if (raise_held || OS(getrlimit)(RLIMIT_NOFILE, &r->saved) != 0 ||
	    r->saved.rlim_cur >= want)
		return false;
	rl = r->saved;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	raise_held = rl.rlim_cur > r->saved.rlim_cur && OS(setrlimit)(RLIMIT_NOFILE, &rl) == 0;
	r->raised = raise_held;
	return r->raised;
}

/* Undoes r's raise, when it made one; the caller's errno is kept. */
void sys_nofile_restore(const struct nofile_raise *r)
{
	int saved_errno = errno;

	if (!r->raised)
		return;
	OS(setrlimit)(RLIMIT_NOFILE, &r->saved);
	raise_held = false;
	errno = saved_errno;
}

/* Whether F_DUPFD to the library's base can work without a raise: only
 * when the base lies under the soft limit (the "low" placement). */
static bool base_under_soft(void)
{
	return raise_held || atomic_load_explicit(&base_low, memory_order_relaxed);
}

bool sys_nofile_raise_high(struct nofile_raise *r)
{
	r->raised = false;
	/* at or past the soft limit, a placement would fail (EINVAL, EBADF) */
	return !base_under_soft() && sys_nofile_raise(r);
}

/* A close-on-exec duplicate of fd in the library's range, or -errno. */
int shim_fd_dup_high(int fd)
{
	int saved_errno = errno, nfd, e;
	struct nofile_raise r;

	sys_nofile_raise_high(&r);
	nfd = OS(fcntl)(fd, F_DUPFD_CLOEXEC, shim_high_fd());
	if (nfd < 0 && !r.raised && (errno == EINVAL || errno == EMFILE) && sys_nofile_raise(&r))
		nfd = OS(fcntl)(fd, F_DUPFD_CLOEXEC, shim_high_fd());
	e = nfd < 0 ? -errno : nfd;
	sys_nofile_restore(&r);
	errno = saved_errno;
	return e;
}

/* Moves fd (close-on-exec) to the library's range; returns the new number
 * (fd itself when it cannot be moved). */
int shim_fd_move_high(int fd)
{
	int nfd;

	if (fd < 0 || fd >= shim_high_fd())
		return fd;
	nfd = shim_fd_dup_high(fd);
	if (nfd < 0)
		return fd;
	OS(close)(fd);
	return nfd;
}
