/* SPDX-License-Identifier: MIT */
/*
 * calls_spawn.c - system and popen: the C library starts their children
 * without fork handlers (an internal posix_spawn we cannot see), so they
 * are watched here. A child may inherit UMFS descriptors: descriptions
 * made before it started must not be reused as if only we held them
 * (ofd_spawn_mark, ofd_slot.c). The children find the library and the
 * current directory through the environment, as before.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "shim.h"

static void *real(void *_Atomic *slot, const char *name)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (unlikely(!fn)) {
		fn = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, fn, memory_order_release);
	}
	return fn;
}

static void *_Atomic real_system, *_Atomic real_popen;

SHIM_API int system(const char *cmd)
{
	int (*fn)(const char *) = real(&real_system, "system");
	int r;

	ofd_spawn_mark();
	r = fn(cmd);
	ofd_spawn_mark();
	return r;
}

SHIM_API FILE *popen(const char *cmd, const char *mode)
{
	FILE *(*fn)(const char *, const char *) = real(&real_popen, "popen");
	FILE *f;

	ofd_spawn_mark();
	f = fn(cmd, mode);
	ofd_spawn_mark();
	return f;
}
