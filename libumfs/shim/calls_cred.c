/* SPDX-License-Identifier: MIT */
/*
 * calls_cred.c - the set*id family, watched so that the core may cache
 * the process's credentials.
 *
 * Every permission check the core makes needs the effective uid, gid and
 * groups: three system calls per path walk, more than the rest of a stat.
 * The library sees every change a program makes through the C library
 * (glibc applies set*id to all threads), so it lets the core keep them
 * (umfs_cred_cache_enable) and tells it after each change. A thread that
 * changes its own ids with a raw system call is not seen: the core then
 * checks with the ids it had.
 *
 * These functions only pass through; their real definitions are looked up
 * here rather than in sys.c's table because nothing else calls them.
 */
#include <dlfcn.h>
#include <grp.h>
#include <unistd.h>

#include "shim.h"

__attribute__((constructor)) static void cred_init(void)
{
	umfs_cred_cache_enable();
}

#define REAL(name) ((__typeof__(&name))real_fn(&real_##name, #name))

static void *real_fn(void *_Atomic *slot, const char *name)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (unlikely(!fn)) {
		fn = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, fn, memory_order_release);
	}
	return fn;
}

/* The call went through (or not): either way, fetch the ids again. */
static int changed(int r)
{
	int saved = errno;

	umfs_cred_changed();
	errno = saved;
	return r;
}

static void *_Atomic real_setuid, *_Atomic real_seteuid, *_Atomic real_setreuid,
	*_Atomic real_setresuid, *_Atomic real_setgid, *_Atomic real_setegid,
	*_Atomic real_setregid, *_Atomic real_setresgid, *_Atomic real_setgroups,
	*_Atomic real_initgroups;

SHIM_API int setuid(uid_t uid)
{
	return changed(REAL(setuid)(uid));
}

SHIM_API int seteuid(uid_t uid)
{
	return changed(REAL(seteuid)(uid));
}

SHIM_API int setreuid(uid_t ruid, uid_t euid)
{
	return changed(REAL(setreuid)(ruid, euid));
}

SHIM_API int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	return changed(REAL(setresuid)(ruid, euid, suid));
}

SHIM_API int setgid(gid_t gid)
{
	return changed(REAL(setgid)(gid));
}

SHIM_API int setegid(gid_t gid)
{
	return changed(REAL(setegid)(gid));
}

SHIM_API int setregid(gid_t rgid, gid_t egid)
{
	return changed(REAL(setregid)(rgid, egid));
}

SHIM_API int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	return changed(REAL(setresgid)(rgid, egid, sgid));
}

SHIM_API int setgroups(size_t n, const gid_t *list)
{
	return changed(REAL(setgroups)(n, list));
}

/* calls setgroups inside the C library, where we cannot see it */
SHIM_API int initgroups(const char *user, gid_t group)
{
	return changed(REAL(initgroups)(user, group));
}
