/* SPDX-License-Identifier: MIT */
/*
 * os.c - the core's table of kernel calls (os.h), and the resolution the
 * shim's table (shim/sys.c) is built on: one dlsym(RTLD_NEXT) per entry,
 * once per process.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "os.h"
#include "umfs_frontend.h"

struct umfs_os umfs_os;

void *umfs_os_sym(const char *symbol)
{
	return dlsym(RTLD_NEXT, symbol);
}

void umfs_os_once(_Atomic int *state, void (*resolve)(void))
{
	int expected = 0; /* 0 unresolved, 1 resolving, 2 done */

	if (atomic_load_explicit(state, memory_order_acquire) == 2)
		return;
	if (!atomic_compare_exchange_strong(state, &expected, 1)) {
		while (atomic_load_explicit(state, memory_order_acquire) != 2)
			sched_yield();
		return;
	}
	resolve();
	atomic_store_explicit(state, 2, memory_order_release);
}

static void os_resolve(void)
{
#define OS_RESOLVE(name, sym) umfs_os.name = (__typeof__(umfs_os.name))umfs_os_sym(sym);
	OS_CALLS(OS_RESOLVE)
#undef OS_RESOLVE
}

int umfs_os_ftruncate_own(int fd, off_t len)
{
	struct rlimit rl, raised;
	struct stat st;
	int saved = errno, r;
	bool raise;

	umfs_os_init();
	raise = OS(getrlimit)(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		(uint64_t)len > rl.rlim_cur && OS(fstat)(fd, &st) == 0 && st.st_size < len;
	if (raise) {
		/* past the hard limit too: refuse, without the signal */
		if (rl.rlim_max != RLIM_INFINITY && (uint64_t)len > rl.rlim_max)
			return -EFBIG;
		raised = rl;
		raised.rlim_cur = rl.rlim_max;
		if (OS(setrlimit)(RLIMIT_FSIZE, &raised) != 0) {
			errno = saved;
			return -EFBIG;
		}
	}
	r = OS(ftruncate)(fd, len) < 0 ? -errno : 0;
	if (raise)
		OS(setrlimit)(RLIMIT_FSIZE, &rl);
	errno = saved;
	return r;
}

void umfs_os_init(void)
{
	static _Atomic int state;

	umfs_os_once(&state, os_resolve);
}
