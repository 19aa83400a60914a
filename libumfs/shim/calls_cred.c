/* SPDX-License-Identifier: MIT */
/*
 * calls_cred.c - the calls that change who the process is: set*id,
 * setgroups, initgroups, setfsuid, setfsgid, capset (and their numbers
 * through syscall(2), calls_syscall.c).
 *
 * Every permission check the core makes needs the file-system ids, the
 * groups and the capabilities: six system calls to read, more than the
 * rest of a stat. The library sees every change a program makes through
 * the C library (glibc applies set*id to all threads), so it lets the core
 * keep them per thread (umfs_cred_cache_enable) and tells it after each
 * change (umfs_cred_changed). A thread that changes its own ids with an
 * inline system call instruction is not seen: the core then checks with
 * the ids it had.
 *
 * Before a change, a process that has not mounted the pool yet mounts it
 * while it still may (shim_mount_before_cred_change): the kernel keeps a
 * process's open files across setuid, and the pool is one. A daemon that
 * drops privileges at start and then uses UMFS, or runs a program that
 * does, keeps the pool its user could open.
 *
 * These functions only pass through; their real definitions are looked up
 * here rather than in sys.c's table because nothing else calls them.
 */
#include <dlfcn.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "shim.h"

/* In the C library, without a header of its own. */
extern int capset(cap_user_header_t header, const cap_user_data_t data);

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

/* The call went through (or not): either way, read the ids again. */
long shim_cred_after_change(long r)
{
	int saved = errno;

	umfs_cred_changed();
	errno = saved;
	return r;
}

static void *_Atomic real_setuid, *_Atomic real_seteuid, *_Atomic real_setreuid,
	*_Atomic real_setresuid, *_Atomic real_setgid, *_Atomic real_setegid,
	*_Atomic real_setregid, *_Atomic real_setresgid, *_Atomic real_setgroups,
	*_Atomic real_initgroups, *_Atomic real_setfsuid, *_Atomic real_setfsgid,
	*_Atomic real_capset;

SHIM_API int setuid(uid_t uid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setuid)(uid));
}

SHIM_API int seteuid(uid_t uid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(seteuid)(uid));
}

SHIM_API int setreuid(uid_t ruid, uid_t euid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setreuid)(ruid, euid));
}

SHIM_API int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setresuid)(ruid, euid, suid));
}

SHIM_API int setgid(gid_t gid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setgid)(gid));
}

SHIM_API int setegid(gid_t gid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setegid)(gid));
}

SHIM_API int setregid(gid_t rgid, gid_t egid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setregid)(rgid, egid));
}

SHIM_API int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setresgid)(rgid, egid, sgid));
}

SHIM_API int setgroups(size_t n, const gid_t *list)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setgroups)(n, list));
}

/* calls setgroups inside the C library, where we cannot see it */
SHIM_API int initgroups(const char *user, gid_t group)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(initgroups)(user, group));
}

/* One thread's file-system ids. An invalid id (-1) changes nothing and
 * returns the current one: the core reads them so. */
SHIM_API int setfsuid(uid_t uid)
{
	if (uid == (uid_t)-1)
		return REAL(setfsuid)(uid);
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setfsuid)(uid));
}

SHIM_API int setfsgid(gid_t gid)
{
	if (gid == (gid_t)-1)
		return REAL(setfsgid)(gid);
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(setfsgid)(gid));
}

/* libcap's cap_set_proc, capsh, setpriv --inh-caps... */
SHIM_API int capset(cap_user_header_t header, const cap_user_data_t data)
{
	shim_mount_before_cred_change();
	return (int)shim_cred_after_change(REAL(capset)(header, data));
}
