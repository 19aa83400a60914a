/* SPDX-License-Identifier: MIT */
/*
 * rundir_sweep.c - removes the runtime directories of a pool that no live
 * process uses: the one its users keep between uses (umfs-pool clean),
 * those a crash or a change of the pool's permissions left behind, and
 * those of copies of the pool (same UUID) nobody runs any more.
 *
 * Who uses a runtime directory is decided as its users decide it among
 * themselves: the gate, an OFD lock on byte 0 of its "lock" file
 * (gate.c, share.c). Every user holds it for reading while it uses the
 * pool, and the kernel drops it with the process. The sweep takes it for
 * writing without waiting, as a last user does, and removes the directory
 * while it holds it: a process that opened "lock" meanwhile waits at the
 * gate, then finds the file gone and starts over with a new directory.
 * A directory without "lock" (its maker had not made it yet) gets one made
 * by the sweep, and the same rule holds.
 * Files another process still holds for a description (ofd/<N> tokens,
 * flock'ed while the description lives) keep their directories.
 *
 * Only directories of the calling user are touched, each opened with
 * O_NOFOLLOW and checked on its descriptor, everything in them removed
 * relative to that descriptor: no name another user controls is followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"
#include "os.h"
#include "umfs_frontend.h"
#include "umfs_tools.h"

#define SWEEP_DEPTH 4 /* rundir/shim/ofd/<N>: nothing of the library lies deeper */

/* Whether dfd's entry name is a token of a description some process holds. */
static bool sweep_held(int dfd, const char *name)
{
	int fd = OS(openat)(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = OS(flock)(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	OS(close)(fd);
	return held;
}

/* Removes what is in directory dfd, and returns -EBUSY when something
 * held stays (a token, or a directory holding one). */
static int sweep_empty(int dfd, int depth)
{
	int fd = OS(openat)(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;
	DIR *d = fd >= 0 ? OS(fdopendir)(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			OS(close)(fd);
		return -errno;
	}
	while ((e = OS(readdir)(d)) != NULL) {
		const char *n = e->d_name;
		struct stat st;
		int sub;

		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, UMFS_RUNDIR_LOCK))
			continue;
		if (OS(fstatat)(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			OS(unlinkat)(dfd, n, 0);
			continue;
		}
		if (n[0] >= '0' && n[0] <= '9' && sweep_held(dfd, n)) {
			err = -EBUSY;
			continue;
		}
		sub = depth > 0 ? OS(openat)(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						     O_CLOEXEC) : -1;
		if (sub >= 0) {
			if (sweep_empty(sub, depth - 1) == -EBUSY)
				err = -EBUSY;
			OS(close)(sub);
		}
		OS(unlinkat)(dfd, n, AT_REMOVEDIR);
	}
	OS(closedir)(d);
	return err;
}

int umfs_rundir_remove_unused(int base, const char *name)
{
	int dfd = OS(openat)(base, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int lock, err;
	struct stat st;

	if (dfd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -EPERM : -errno;
	if (OS(fstat)(dfd, &st) < 0 || st.st_uid != OS(geteuid)()) {
		OS(close)(dfd);
		return -EPERM;
	}
	lock = OS(openat)(dfd, UMFS_RUNDIR_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0) {
		err = -errno;
		OS(close)(dfd);
		return err;
	}
	err = umfs_gate_lock(lock, 0, F_WRLCK, false, name); /* byte 0: every user's */
	if (!err)
		err = sweep_empty(dfd, SWEEP_DEPTH);
	if (!err) {
		/* the lock goes last: whoever waits at it starts over */
		OS(unlinkat)(dfd, UMFS_RUNDIR_LOCK, 0);
		if (OS(unlinkat)(base, name, AT_REMOVEDIR) < 0)
			err = errno == ENOTEMPTY ? -EBUSY : -errno; /* joined meanwhile */
	}
	OS(close)(lock);
	OS(close)(dfd);
	return err == -EAGAIN ? -EBUSY : err;
}

int umfs_rundir_sweep(const uint8_t uuid[16], uint64_t keep,
		      void (*seen)(void *arg, const char *path, int result), void *arg)
{
	static const char *const bases[] = { "/dev/shm", "/tmp" };
	char prefix[64], path[PATH_MAX];
	int removed = 0;

	if (umfs_rundir_name(uuid, 0, path, sizeof(path)))
		return -ENAMETOOLONG;
	/* "/dev/shm/umfs-UUID-0000000000000000": the part before the run id */
	snprintf(prefix, sizeof(prefix), "%s", strrchr(path, '/') + 1);
	prefix[strlen(prefix) - 16] = '\0';
	for (size_t b = 0; b < UMFS_ARRAY_SIZE(bases); b++) {
		DIR *d = umfs_os_opendir(bases[b]);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = OS(readdir)(d)) != NULL) {
			const char *id = e->d_name + strlen(prefix);
			int r;

			if (strncmp(e->d_name, prefix, strlen(prefix)) || strlen(id) != 16 ||
			    strspn(id, "0123456789abcdef") != 16 || (keep && strtoull(id, NULL, 16) == keep))
				continue;
			r = umfs_rundir_remove_unused(OS(dirfd)(d), e->d_name);
			removed += r == 0;
			snprintf(path, sizeof(path), "%s/%s", bases[b], e->d_name);
			if (seen)
				seen(arg, path, r);
		}
		OS(closedir)(d);
	}
	return removed;
}
