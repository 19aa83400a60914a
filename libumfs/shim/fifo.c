/* SPDX-License-Identifier: MIT */
/*
 * fifo.c - the host FIFOs standing for FIFOs inside UMFS.
 *
 * A UMFS FIFO is a name and an inode; the pipe between its readers and
 * writers is a host FIFO, "fifo-INO-0" in the "fifo" subdirectory of the
 * helper directory, which every opener of the UMFS FIFO opens with the
 * program's access mode (so the kernel does the waiting, O_NONBLOCK and
 * ENXIO). The UMFS inode's permissions are checked first, against the
 * process's credentials of the moment (umfs_access with AT_EACCESS), as
 * the kernel checks a FIFO's; the host FIFO is then 0666, and the
 * subdirectory 01733 as ofd/ and sock/: a process that dropped its
 * privileges after mounting, or a program started as another user that
 * inherited the pool (inherit.c), still reaches it through the
 * subdirectory's descriptor, opened at its first use or before the
 * process changes its credentials. The directories above it are the
 * pool's users' alone, so nobody else does.
 * The last user of the pool removes the subdirectory (fifo_shutdown).
 */
#include "shim.h"

#define FIFO_SUBDIR_MODE 01733 /* as ofd/: anyone holding it may make one, nobody remove another's */
#define FIFO_MODE 0666         /* the UMFS inode's permissions are checked first */

static _Atomic int fifo_dfd = -1; /* the subdirectory, from its first use */

/* The subdirectory, opened (made) at its first use: most processes never
 * meet a FIFO. */
int fifo_dir_get(struct umfs_fs *fs)
{
	return shim_helper_subdir_get(fs, &fifo_dfd, INH_FIFO, FIFO_SUBDIR, FIFO_SUBDIR_MODE);
}

int fifo_dir_fd(void)
{
	return atomic_load_explicit(&fifo_dfd, memory_order_acquire);
}

void fifo_dir_close(void)
{
	shim_helper_subdir_close(&fifo_dfd);
}

int fifo_host_open(struct umfs_fs *fs, uint64_t ino, int flags)
{
	int dfd = fifo_dir_get(fs), err;
	char host[64];

	if (dfd < 0)
		return dfd;
	err = shim_helper_name(host, sizeof(host), "fifo", ino, 0);
	if (err)
		return err;
	return umfs_rundir_openat(fs, dfd, host, O_CREAT | flags, S_IFIFO, FIFO_MODE);
}

void fifo_shutdown(bool named)
{
	shim_helper_subdir_remove(shim_fs_peek(), &fifo_dfd, named, FIFO_SUBDIR, FIFO_SUBDIR_MODE,
				  "fifo-");
}
