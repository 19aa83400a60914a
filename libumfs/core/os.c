/* SPDX-License-Identifier: MIT */
/*
 * os.c - the core's table of kernel calls (os.h), and the resolution the
 * shim's table (shim/sys.c) is built on: one dlsym(RTLD_NEXT) per entry,
 * once per process.
 */
#include <dlfcn.h>
#include <sched.h>
#include <stdatomic.h>

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

void umfs_os_init(void)
{
	static _Atomic int state;

	umfs_os_once(&state, os_resolve);
}
