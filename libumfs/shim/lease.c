/* SPDX-License-Identifier: MIT */
/*
 * lease.c - F_SETLEASE/F_GETLEASE and F_NOTIFY on UMFS descriptors.
 *
 * A lease promises its holder a signal before any other open conflicts
 * with it; the opens of other processes on a UMFS file never reach the
 * kernel, and the library cannot make them wait, so no lease is granted:
 * every request the kernel would check and refuse is refused with its
 * errno, and one it would grant fails with EAGAIN, what the kernel says
 * when the file is open elsewhere. Directory notification (dnotify) needs
 * the kernel to see the directory change, which it does not: F_NOTIFY
 * answers EINVAL, as the kernel does with dnotify disabled.
 */
#include "shim.h"

static int lease_set(int fd, struct ofd *o, int arg)
{
	struct stat st;
	int err;

	if (arg != F_RDLCK && arg != F_WRLCK && arg != F_UNLCK)
		return -EINVAL;
	err = shim_fd_stat(fd, &st);
	if (err)
		return err;
	if (!umfs_cred_owns(st.st_uid, UMFS_CAP_LEASE))
		return -EACCES; /* removing one too */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* F_UNLCK: no lease is held to remove; others: see above */
	(void)o;
	return -EAGAIN;
}

long ofd_lease_fcntl(int fd, struct ofd *o, int cmd, int arg)
{
	int flags = atomic_load(&o->sh->flags);

	if (flags & O_PATH)
		return -EBADF;
	switch (cmd) {
	case F_GETLEASE:
		return F_UNLCK;
	case F_SETLEASE:
		return lease_set(fd, o, arg);
	case F_NOTIFY:
		if ((arg & ~DN_MULTISHOT) == 0)
			return 0; /* removing notifications: there are none */
		return o->type == S_IFDIR ? -EINVAL : -ENOTDIR;
	default:
		return -EINVAL;
	}
}
