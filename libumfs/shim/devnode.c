/* SPDX-License-Identifier: MIT */
/*
 * devnode.c - opening a character or block device node stored in UMFS:
 * the kernel would open the driver the node's numbers name, after checking
 * the node's permissions. The library checks the UMFS node's, then opens
 * the host's node of that device (devtmpfs' name for it, from sysfs) and
 * gives the program that kernel descriptor: reads, writes and ioctls are
 * the driver's, as on tmpfs.
 *
 * The node's own attributes stay the UMFS node's: the process keeps, per
 * descriptor (and its dups), which UMFS node it stands for, so that fstat,
 * fchmod, fchown and futimens reach that node, never the host's (a
 * program running as root would otherwise change /dev's node). Each
 * lookup checks that the descriptor is still that host node, so a number
 * closed and reused behind the library's back is not taken for it. Each
 * such descriptor holds its node as an open file does (the open-inode
 * registry): one removed meanwhile lives on until the last is closed, in
 * any process (a forked child holds them too), or its process executes
 * another program (which gets the host node's descriptor alone).
 */
#include <pthread.h>
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

#define DEVFD_MAX 64 /* device node descriptors open at once, per process */

struct devfd {
	int fd;          /* -1: free */
	uint64_t ino;    /* the UMFS node */
	uint32_t gen;
	dev_t hdev;      /* the host node the descriptor is */
	ino_t hino;
	bool held;       /* counted in the open-inode registry */
};

UMFS_BSS_LARGE static struct devfd devfds[DEVFD_MAX];
static pthread_mutex_t devfd_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic unsigned devfd_count;

/* With devfd_lock held: fd's entry, or NULL. */
static struct devfd *devfd_find(int fd)
{
	for (unsigned i = 0; i < DEVFD_MAX; i++)
		if (devfds[i].fd == fd && devfds[i].hino)
			return &devfds[i];
	return NULL;
}

/* With the pool lock and devfd_lock held (taken in that order). */
static void devfd_drop(struct devfd *d)
{
	if (d->held)
		registry_add(d->ino, -1);
	d->fd = -1;
	d->hino = 0;
	d->held = false;
	atomic_fetch_sub(&devfd_count, 1);
}

/* fd stands for UMFS node (ino, gen) and is host node (hdev, hino); it
 * holds the UMFS node. Past DEVFD_MAX descriptors the rest are the host's
 * alone (docs/shim.md). */
static void devfd_add(int fd, uint64_t ino, uint32_t gen, dev_t hdev, ino_t hino)
{
	SHIM_SERVE();
	struct devfd *d;

	pool_lock(); /* first: a closer may hold it already (recursive) */
	pthread_mutex_lock(&devfd_lock);
	d = devfd_find(fd);
	if (d)
		devfd_drop(d);
	for (unsigned i = 0; i < DEVFD_MAX; i++) {
		if (devfds[i].hino == 0) {
			devfds[i] = (struct devfd){ fd, ino, gen, hdev, hino, true };
			registry_add(ino, 1);
			atomic_fetch_add(&devfd_count, 1);
			break;
		}
	}
	pthread_mutex_unlock(&devfd_lock);
	pool_unlock();
}

void devnode_forget_slow(int first, int last)
{
	SHIM_SERVE();

	pool_lock();
	pthread_mutex_lock(&devfd_lock);
	for (unsigned i = 0; i < DEVFD_MAX; i++)
		if (devfds[i].hino && devfds[i].fd >= first && devfds[i].fd <= last)
			devfd_drop(&devfds[i]);
	pthread_mutex_unlock(&devfd_lock);
	pool_unlock();
}

/* Every descriptor's hold: for_child counts one more for a child about to
 * be forked, which inherits the descriptors (a failed fork leaves it one
 * too high: freed by the next recovery, never too early); else counted out
 * (delta < 0: at exit, before an exec) or back in (an exec that failed),
 * as the descriptions' own (ofd.c). */
static void devfd_registry(int delta, bool for_child)
{
	if (!atomic_load(&devfd_count) || !shim_fs_peek())
		return;
	pool_lock();
	pthread_mutex_lock(&devfd_lock);
	for (unsigned i = 0; i < DEVFD_MAX; i++) {
		struct devfd *d = &devfds[i];

		if (!d->hino)
			continue;
		if (for_child) {
			if (d->held)
				registry_add(d->ino, 1);
		} else if (d->held != (delta > 0)) {
			registry_add(d->ino, delta);
			d->held = delta > 0;
		}
	}
	pthread_mutex_unlock(&devfd_lock);
	pool_unlock();
}

void devnode_fork_prepare(void)
{
	devfd_registry(1, true);
}

void devnode_fork_child(void)
{
	/* another thread may have held it at the fork: the child has one */
	pthread_mutex_init(&devfd_lock, NULL);
}

void devnode_registry_all(int delta)
{
	devfd_registry(delta, false);
}

void devnode_dup_slow(int old, int new)
{
	struct devfd *d, copy = { .hino = 0 };

	pthread_mutex_lock(&devfd_lock);
	d = devfd_find(old);
	if (d)
		copy = *d;
	pthread_mutex_unlock(&devfd_lock);
	if (copy.hino)
		devfd_add(new, copy.ino, copy.gen, copy.hdev, copy.hino);
	else
		devnode_forget_slow(new, new);
}

bool devnode_has(int fd)
{
	bool has;

	pthread_mutex_lock(&devfd_lock);
	has = devfd_find(fd) != NULL;
	pthread_mutex_unlock(&devfd_lock);
	return has;
}

int devnode_file_slow(int fd, struct umfs_file **uf)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct devfd *d, copy = { .hino = 0 };
	struct stat hst;
	int err;

	pthread_mutex_lock(&devfd_lock);
	d = devfd_find(fd);
	if (d)
		copy = *d;
	pthread_mutex_unlock(&devfd_lock);
	if (!copy.hino || !fs)
		return -ENOENT;
	if (SYS(fstat)(fd, &hst) != 0 || hst.st_dev != copy.hdev || hst.st_ino != copy.hino) {
		devnode_forget_slow(fd, fd); /* closed, and the number reused */
		return -ENOENT;
	}
	SHIM_SERVE();
	pool_lock();
	err = umfs_open_id(fs, copy.ino, copy.gen, O_PATH, UMFS_OPEN_ID_NOCHECK, uf);
	pool_unlock();
	return err == -ENOENT ? -ESTALE : err;
}

int devnode_open(struct umfs_fs *fs, const char *path, int flags, const struct stat *st)
{
	char host[PATH_MAX];
	struct stat hst, ust;
	uint32_t gen;
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
	pool_lock();
	err = umfs_stat_id(fs, path, &ust, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0, &gen);
	pool_unlock_ro();
	if (!err && ust.st_ino == st->st_ino)
		devfd_add(fd, ust.st_ino, gen, hst.st_dev, hst.st_ino);
	return fd;
}
