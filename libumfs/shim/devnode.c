/* SPDX-License-Identifier: MIT */
/*
 * devnode.c - opening a character or block device node stored in UMFS:
 * the kernel would open the driver the node's numbers name, after checking
 * the node's permissions. The library checks the UMFS node's, then opens
 * the host's node of that device (devtmpfs' name for it, from sysfs) and
 * gives the program that kernel descriptor: reads, writes and ioctls are
 * the driver's, as on tmpfs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

/* The host path of device rdev ("/dev/" and the DEVNAME sysfs gives it),
 * or -ENXIO: no driver has it, as the kernel answers for such a node. */
static int devnode_host_path(mode_t type, dev_t rdev, char *buf, size_t size)
{
	char uevent[96], text[1024];
	const char *name;
	ssize_t n;
	int fd, len;

	snprintf(uevent, sizeof(uevent), "/sys/dev/%s/%u:%u/uevent",
		 S_ISCHR(type) ? "char" : "block", major(rdev), minor(rdev));
	fd = sys_open_cloexec(uevent, O_RDONLY, 0);
	if (fd < 0)
		return -ENXIO;
	n = sys_read_full(fd, text, sizeof(text) - 1, 0);
	sys_close_quiet(fd);
	if (n <= 0)
		return -ENXIO;
	text[n] = '\0';
	name = strstr(text, "\nDEVNAME=");
	name = name ? name + 9 : !strncmp(text, "DEVNAME=", 8) ? text + 8 : NULL;
	if (!name)
		return -ENXIO;
	len = (int)strcspn(name, "\n");
	/* a name under /dev, never out of it */
	if (len == 0 || name[0] == '/' || memmem(name, (size_t)len, "..", 2))
		return -ENXIO;
	n = snprintf(buf, size, "/dev/%.*s", len, name);
	return n < 0 || (size_t)n >= size ? -ENXIO : 0;
}

int devnode_open(struct umfs_fs *fs, const char *path, int flags, const struct stat *st)
{
	char host[PATH_MAX];
	struct stat hst;
	int err, fd;

	err = shim_open_special_access(fs, path, flags);
	if (err)
		return err;
	err = devnode_host_path(st->st_mode & S_IFMT, st->st_rdev, host, sizeof(host));
	if (err)
		return err;
	/* the program's own descriptor: the lowest number, its close-on-exec */
	fd_unpark_all();
	fd = SYS(open)(host, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY), 0);
	if (fd < 0)
		return -errno;
	/* the host node must be that device: a node renamed under /dev is not */
	if (SYS(fstat)(fd, &hst) != 0 || (hst.st_mode & S_IFMT) != (st->st_mode & S_IFMT) ||
	    hst.st_rdev != st->st_rdev) {
		sys_close_quiet(fd);
		return -ENXIO;
	}
	return fd;
}
