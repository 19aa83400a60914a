/* SPDX-License-Identifier: MIT */
/*
 * cred.c - who is asking: the credentials every permission check uses, and
 * the checks themselves (the kernel's generic_permission and ownership
 * rules).
 *
 * The kernel checks file access with the thread's file-system uid and gid
 * (which follow the effective ids unless setfsuid/setfsgid moved them), its
 * supplementary groups, and its effective capabilities: CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, CAP_FSETID, CAP_MKNOD and,
 * for leases, CAP_LEASE. The capabilities are read from the kernel
 * (capget), not guessed from the uid: root whose fsuid moved to another
 * user has lost them, a root process that dropped some has lost those, a
 * program given one has it.
 * access(2) (without AT_EACCESS) checks with the real ids instead, and
 * with root's permitted capabilities only when the real uid is 0.
 *
 * Reading all that costs six system calls. A front end that sees every
 * change (the shim intercepts the set*id, setfs*id and capset calls) lets
 * the core keep them per thread (umfs_cred_cache_enable) and says when they
 * may have changed (umfs_cred_changed): every thread reads its own again,
 * since setfsuid and raw system calls change one thread only. A front end
 * serving other users (FUSE) sets the caller's ids per request instead;
 * its uid 0 is granted every capability.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "cred.h"
#include "inode.h"
#include "os.h"

#define CAPS_ALL                                                                          \
	(UMFS_CAP_CHOWN | UMFS_CAP_DAC_OVERRIDE | UMFS_CAP_DAC_READ_SEARCH | UMFS_CAP_FOWNER | \
	 UMFS_CAP_FSETID | UMFS_CAP_MKNOD | UMFS_CAP_LEASE)

/* Credentials a front end set for this thread (copied: the caller's
 * struct may go out of scope). */
static __thread struct {
	bool set;
	struct umfs_ucred cred;
	gid_t groups[NGROUPS_MAX_SMALL];
} thread_cred;

/* Checks of this thread use the real ids (access(2)). */
static __thread bool use_real;

void umfs_cred_set_thread(const struct umfs_cred *cred)
{
	thread_cred.set = cred != NULL;
	if (!cred)
		return;
	thread_cred.cred.uid = cred->uid;
	thread_cred.cred.gid = cred->gid;
	thread_cred.cred.caps = cred->uid == 0 ? CAPS_ALL : 0;
	thread_cred.cred.ngroups = UMFS_MAX(0, UMFS_MIN(cred->ngroups, NGROUPS_MAX_SMALL));
	if (thread_cred.cred.ngroups)
		memcpy(thread_cred.groups, cred->groups,
		       (size_t)thread_cred.cred.ngroups * sizeof(gid_t));
	thread_cred.cred.groups = thread_cred.groups;
}

/* The thread's credentials as last read, valid while cred_gen (0: no
 * caching) has not moved. */
static _Atomic unsigned cred_gen;
static __thread struct {
	unsigned gen;
	struct umfs_ucred eff, real;
	gid_t groups[NGROUPS_MAX_SMALL];
} cred_cache;

void umfs_cred_cache_enable(void)
{
	unsigned off = 0;

	atomic_compare_exchange_strong(&cred_gen, &off, 1);
}

void umfs_cred_changed(void)
{
	if (atomic_load(&cred_gen) && atomic_fetch_add(&cred_gen, 1) + 1 == 0)
		atomic_fetch_add(&cred_gen, 1); /* 0 means off */
}

static unsigned caps_of(uint32_t set)
{
	unsigned caps = 0;

	caps |= set & (1u << CAP_CHOWN) ? UMFS_CAP_CHOWN : 0;
	caps |= set & (1u << CAP_DAC_OVERRIDE) ? UMFS_CAP_DAC_OVERRIDE : 0;
	caps |= set & (1u << CAP_DAC_READ_SEARCH) ? UMFS_CAP_DAC_READ_SEARCH : 0;
	caps |= set & (1u << CAP_FOWNER) ? UMFS_CAP_FOWNER : 0;
	caps |= set & (1u << CAP_FSETID) ? UMFS_CAP_FSETID : 0;
	caps |= set & (1u << CAP_MKNOD) ? UMFS_CAP_MKNOD : 0;
	caps |= set & (1u << CAP_LEASE) ? UMFS_CAP_LEASE : 0;
	return caps;
}

/* Reads the thread's credentials from the kernel: eff for ordinary
 * checks, real (when not NULL) for access(2). groups has
 * NGROUPS_MAX_SMALL entries. */
static void cred_read(struct umfs_ucred *eff, struct umfs_ucred *real, gid_t *groups)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned permitted;
	int saved = errno;

	eff->ngroups = OS(getgroups)(NGROUPS_MAX_SMALL, groups);
	if (eff->ngroups < 0)
		eff->ngroups = 0;
	eff->groups = groups;
	/* an invalid id changes nothing and returns the current one */
	eff->uid = (uid_t)OS(setfsuid)((uid_t)-1);
	eff->gid = (gid_t)OS(setfsgid)((gid_t)-1);
	if (OS(capget)(&hdr, data) == 0) {
		eff->caps = caps_of(data[0].effective);
		permitted = caps_of(data[0].permitted);
	} else {
		eff->caps = eff->uid == 0 ? CAPS_ALL : 0;
		permitted = CAPS_ALL;
	}
	if (real) {
		*real = *eff;
		real->uid = OS(getuid)();
		real->gid = OS(getgid)();
		real->caps = real->uid == 0 ? permitted : 0;
	}
	errno = saved;
}

void umfs_cred_current(struct umfs_ucred *cred, gid_t *groups)
{
	unsigned gen;

	if (thread_cred.set) {
		*cred = thread_cred.cred;
		return;
	}
	gen = atomic_load_explicit(&cred_gen, memory_order_acquire);
	if (gen == 0) {
		struct umfs_ucred real;

		cred_read(cred, use_real ? &real : NULL, groups);
		if (use_real)
			*cred = real;
		return;
	}
	if (cred_cache.gen != gen) {
		cred_read(&cred_cache.eff, &cred_cache.real, cred_cache.groups);
		cred_cache.gen = gen;
	}
	*cred = use_real ? cred_cache.real : cred_cache.eff;
}

void umfs_cred_use_real(bool real)
{
	use_real = real;
}

bool umfs_cred_in_group(const struct umfs_ucred *c, gid_t gid)
{
	if (c->gid == gid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/* mask: R_OK 4, W_OK 2, X_OK 1: the mode bits of the class the caller is
 * in, then what CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH allow beyond
 * them (a file nobody may execute stays so). */
int umfs_cred_permission(const struct umfs_inode *in, const struct umfs_ucred *c, int mask)
{
	unsigned bits;

	if (c->uid == in->uid)
		bits = (in->mode >> 6) & 7;
	else if (umfs_cred_in_group(c, in->gid))
		bits = (in->mode >> 3) & 7;
	else
		bits = in->mode & 7;
	if (!((unsigned)mask & ~bits))
		return 0;
	if (S_ISDIR(in->mode)) {
		if (c->caps & UMFS_CAP_DAC_OVERRIDE)
			return 0;
		if (!(mask & W_OK) && (c->caps & UMFS_CAP_DAC_READ_SEARCH))
			return 0;
		return -EACCES;
	}
	if ((c->caps & UMFS_CAP_DAC_OVERRIDE) && (!(mask & X_OK) || (in->mode & 0111)))
		return 0;
	if (mask == R_OK && (c->caps & UMFS_CAP_DAC_READ_SEARCH))
		return 0;
	return -EACCES;
}

int umfs_permission(const struct umfs_fs *fs, uint64_t ino, int mask)
{
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	return umfs_cred_permission(umfs_inode(fs, ino), &c, mask);
}

bool umfs_cred_owns(uid_t owner, unsigned cap)
{
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	return c.uid == owner || (c.caps & cap) == cap;
}

bool umfs_cred_owner_or_capable(const struct umfs_fs *fs, uint64_t ino)
{
	return umfs_cred_owns(umfs_inode(fs, ino)->uid, UMFS_CAP_FOWNER);
}

bool umfs_cred_capable(unsigned cap)
{
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	return (c.caps & cap) == cap;
}
