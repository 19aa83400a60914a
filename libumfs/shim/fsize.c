/* SPDX-License-Identifier: MIT */
/*
 * fsize.c - RLIMIT_FSIZE for UMFS files, as the kernel applies it: a write
 * that would start at or past the limit raises SIGXFSZ and fails with
 * EFBIG, one that crosses it is cut short there; growing a file past it
 * (truncate, fallocate) raises SIGXFSZ and fails with EFBIG.
 *
 * The limit is read at start and kept current by the setrlimit/prlimit
 * wrappers (calls_rlimit.c), so that a write costs one load while the
 * limit is infinite (what programs almost always run with).
 */
#include <signal.h>
#include <unistd.h>

#include "shim.h"

_Atomic uint64_t shim_fsize_max = RLIM_INFINITY;

void fsize_init(void)
{
	struct rlimit rl;

	if (OS(getrlimit)(RLIMIT_FSIZE, &rl) == 0)
		atomic_store_explicit(&shim_fsize_max, (uint64_t)rl.rlim_cur, memory_order_relaxed);
}

/* The kernel signals the thread that wrote. */
static int fsize_exceeded(void)
{
	int saved = errno;

	pthread_kill(pthread_self(), SIGXFSZ);
	errno = saved;
	return -EFBIG;
}

int fsize_clamp(off_t at, size_t *len)
{
	uint64_t max = fsize_limit();

	if (*len == 0 || max == RLIM_INFINITY)
		return 0;
	if (at < 0 || (uint64_t)at >= max)
		return fsize_exceeded();
	if (*len > max - (uint64_t)at)
		*len = (size_t)(max - (uint64_t)at);
	return 0;
}

int fsize_check_grow(off_t size, off_t new_size)
{
	uint64_t max = fsize_limit();

	if (max == RLIM_INFINITY || new_size <= size || (uint64_t)new_size <= max)
		return 0;
	return fsize_exceeded();
}

/* A limit of this process changed (the setrlimit/prlimit wrappers). */
void fsize_changed(int resource)
{
	/* a vfork child's limit is its own; the copies are its parent's */
	if (resource == RLIMIT_FSIZE && !shim_vfork_child()) {
		fsize_init();
		umfs_fsize_changed(); /* the core's copy, for its writes to the pool file */
	}
}
