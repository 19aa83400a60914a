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
 * subdirectory's descriptor, opened when the pool is mounted. The
 * directories above it are the pool's users' alone, so nobody else does.
 * The last user of the pool removes the subdirectory (fifo_shutdown).
 */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define FIFO_SUBDIR "fifo"
#define FIFO_SUBDIR_MODE 01733 /* as ofd/: anyone holding it may make one, nobody remove another's */
#define FIFO_MODE 0666         /* the UMFS inode's permissions are checked first */

static int fifo_dfd = -1; /* the subdirectory, while the pool is mounted */

int fifo_dir_open(struct umfs_fs *fs)
{
	int fd = shim_helper_subdir_open(fs, INH_FIFO, FIFO_SUBDIR, FIFO_SUBDIR_MODE);

	if (fd < 0)
		return fd;
	fifo_dfd = fd;
	return 0;
}

int fifo_dir_fd(void)
{
	return fifo_dfd;
}

void fifo_dir_close(void)
{
	if (fifo_dfd < 0)
		return;
	uinfo_unmark_internal(fifo_dfd);
	sys_close_quiet(fifo_dfd);
	fifo_dfd = -1;
}

int fifo_host_open(struct umfs_fs *fs, uint64_t ino, int flags)
{
	char host[64];
	int err;

	if (fifo_dfd < 0)
		return -EACCES; /* the subdirectory could not be had at mount */
	err = shim_helper_name(host, sizeof(host), "fifo", ino, 0);
	if (err)
		return err;
	return umfs_rundir_openat(fs, fifo_dfd, host, O_CREAT | flags, S_IFIFO, FIFO_MODE);
}

void fifo_shutdown(void)
{
	struct dirent *e;
	DIR *d;

	if (fifo_dfd < 0)
		return;
	d = sys_opendir_at(fifo_dfd);
	while (d && (e = SYS(readdir)(d)) != NULL) {
		if (strncmp(e->d_name, "fifo-", 5) == 0)
			SYS(unlinkat)(fifo_dfd, e->d_name, 0);
	}
	if (d)
		SYS(closedir)(d);
	SYS(unlinkat)(shim_helper_dfd(), FIFO_SUBDIR, AT_REMOVEDIR);
	fifo_dir_close();
}
