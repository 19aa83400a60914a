/* SPDX-License-Identifier: MIT */
/*
 * calls_openat2.c - openat2(2), which glibc 2.36 reaches only through
 * syscall(SYS_openat2, ...) (calls_syscall.c routes it here). The struct
 * open_how is checked as the kernel checks it, in its order; on UMFS paths
 * the resolve rules are the core's walk's (umfs_open_resolve): symlinks
 * refused, never above the start directory, the start directory as root,
 * never out of the pool; RESOLVE_CACHED always holds (a pool is memory).
 * Magic links (/proc/self/fd/N of a UMFS descriptor) are the library's.
 */
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* The kernel's VALID_OPEN_FLAGS: O_LARGEFILE and __O_TMPFILE by value, as
 * the user-space headers hide the one and fold the other into O_TMPFILE. */
#define KERNEL_O_TMPFILE 020000000
#define VALID_OPEN_FLAGS                                                                   \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |       \
	 O_DSYNC | O_ASYNC | O_DIRECT | KERNEL_O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW |     \
	 O_NOATIME | O_CLOEXEC | O_PATH | KERNEL_O_TMPFILE | O_SYNC)
#define VALID_RESOLVE_FLAGS                                                                \
	(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |  \
	 RESOLVE_IN_ROOT | RESOLVE_CACHED)
#define SCOPED (RESOLVE_BENEATH | RESOLVE_IN_ROOT)

/* copy_struct_from_user: a shorter struct than version 0 is EINVAL, one
 * larger than a page E2BIG, and so is a larger one with bytes set past
 * what this kernel knows. */
static int how_copy(const void *uhow, size_t size, struct open_how *how)
{
	const unsigned char *tail = (const unsigned char *)uhow + sizeof(*how);

	if (size < 24) /* OPEN_HOW_SIZE_VER0 */
		return -EINVAL;
	if (size > 4096)
		return -E2BIG;
	if (!uhow || user_readable(uhow, size))
		return -EFAULT;
	memset(how, 0, sizeof(*how));
	memcpy(how, uhow, size < sizeof(*how) ? size : sizeof(*how));
	for (size_t i = sizeof(*how); i < size; i++)
		if (tail[i - sizeof(*how)])
			return -E2BIG;
	return 0;
}

/* build_open_flags: what openat2 refuses that openat lets pass. */
static int how_check(const struct open_how *how)
{
	uint64_t flags = how->flags;

	if (flags & ~(uint64_t)VALID_OPEN_FLAGS)
		return -EINVAL;
	if (how->resolve & ~(uint64_t)VALID_RESOLVE_FLAGS)
		return -EINVAL;
	if ((how->resolve & SCOPED) == SCOPED)
		return -EINVAL;
	if ((flags & O_CREAT) || (flags & KERNEL_O_TMPFILE)) {
		if (how->mode & ~(uint64_t)07777)
			return -EINVAL;
	} else if (how->mode) {
		return -EINVAL;
	}
	if (flags & KERNEL_O_TMPFILE) {
		if (!(flags & O_DIRECTORY) || (flags & O_ACCMODE) == O_RDONLY)
			return -EINVAL;
	} else if (flags & O_PATH) {
		if (flags & ~(uint64_t)(O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC))
			return -EINVAL;
	}
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if ((how->resolve & RESOLVE_CACHED) && (flags & (O_TRUNC | O_CREAT | KERNEL_O_TMPFILE)))
		return -EAGAIN;
	return 0;
}

static long kernel_openat2(int dirfd, const char *path, const struct open_how *how)
{
	long r;

	fd_unpark_all();
	r = SYS(syscall)(SYS_openat2, dirfd, path, how, sizeof(*how));
	return r < 0 ? -errno : r;
}

/* /proc/self/fd/N (and its kin) naming UMFS descriptor fd: a magic link. */
static long open_magic(const struct upath *up, const char *path, const struct open_how *how)
{
	char proc[32];
	int flags = (int)how->flags;

	if (how->resolve & RESOLVE_NO_XDEV)
		return -EXDEV; /* /proc and /dev are mounts of their own */
	if ((flags & O_PATH) && (flags & O_NOFOLLOW))
		return kernel_openat2(AT_FDCWD, path, how); /* the link itself */
	if (how->resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS))
		return -ELOOP;
	if (how->resolve & SCOPED)
		return -EXDEV;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", up->fd);
	return shim_open(AT_FDCWD, proc, flags, (mode_t)how->mode);
}

/* rel from the pool directory base, then wherever the walk leads. */
static long open_from(struct umfs_fs *fs, const char *base, const char *rel,
		      const struct open_how *how, struct upath *up)
{
	unsigned resolve = (unsigned)how->resolve & ~RESOLVE_NO_MAGICLINKS;
	int flags = (int)how->flags, kind;
	long r;

	for (;;) {
		r = shim_open_umfs_resolve(fs, base, rel, resolve, flags, (mode_t)how->mode);
		if (r != -UMFS_EXTERNAL)
			return r;
		kind = path_external(up); /* only unscoped walks leave the pool */
		if (kind < 0)
			return kind;
		if (kind == UP_KERNEL)
			return kernel_openat2(up->kdirfd, up->kpath, how);
		if (kind == UP_FD)
			return open_magic(up, up->buf, how);
		base = "/";
		rel = up->buf;
	}
}

long shim_openat2(int dirfd, const char *path, const void *uhow, size_t size)
{
	char base[PATH_MAX];
	struct open_how how;
	struct umfs_fs *fs;
	struct upath up = { .hops = 0, .fd = -1 };
	int err, kind;

	SHIM_SERVE();
	err = how_copy(uhow, size, &how);
	if (!err)
		err = how_check(&how);
	if (err)
		return err;
	if (!how.resolve || how.resolve == RESOLVE_CACHED)
		return shim_open(dirfd, path, (int)how.flags, (mode_t)how.mode);
	if (!path || shim_probe_strnlen(path, PATH_MAX) < 0)
		return -EFAULT;
	if (path[0] == '\0')
		return -ENOENT;
	kind = path_dir_base(dirfd, base, sizeof(base));
	if (kind < 0)
		return kind;
	if (kind == 0 && (how.resolve & SCOPED))
		return kernel_openat2(dirfd, path, &how); /* never leaves a kernel directory */
	if (kind == 0 || (path[0] == '/' && !(how.resolve & SCOPED))) {
		kind = path_resolve(dirfd, path, &up);
		if (kind < 0)
			return kind;
		if (kind == UP_KERNEL)
			return kernel_openat2(up.kdirfd, up.kpath, &how);
		if (kind == UP_FD)
			return open_magic(&up, path, &how);
		if (how.resolve & RESOLVE_NO_XDEV)
			return -EXDEV; /* the walk crossed into the mount */
		strcpy(base, "/");
		path = up.buf;
	}
	fs = shim_fs(&err);
	if (!fs)
		return err;
	return open_from(fs, base, path, &how, &up);
}
