/* SPDX-License-Identifier: MIT */
/*
 * calls_meta.c - attributes: the stat family (with statx and the __xstat
 * entry points older binaries link), access, statfs/statvfs, pathconf,
 * chmod, chown, the utime family, and extended attributes (which UMFS does
 * not store: an empty list, ENOTSUP for the rest, as on any file system
 * without them).
 */
#include <string.h>
#include <sys/ipc.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

/* ------------------------------------------------------------------ */
/* stat                                                                 */
/* ------------------------------------------------------------------ */

/* Whether a call on descriptor fd alone is the library's: a UMFS
 * descriptor, or one standing for a UMFS device node (devnode.c). */
static bool fd_served(int fd)
{
	return uinfo_peek(fd) != NULL || (devnode_any() && devnode_has(fd));
}

/* The UMFS device node kernel descriptor fd stands for: its stat
 * (-ENOENT: fd stands for none). */
static int devnode_stat(int fd, struct stat *st)
{
	struct umfs_file *uf;
	int r = devnode_file(fd, &uf);

	if (r)
		return r;
	r = umfs_fstat(uf, st);
	pool_lock();
	umfs_close(uf);
	pool_unlock();
	return r;
}

int shim_fd_stat(int fd, struct stat *st)
{
	struct ofd *o = fd_get_fast(fd);
	int r;

	if (!o) {
		r = devnode_stat(fd, st);
		if (r != -ENOENT)
			return r;
		return SYS(fstat)(fd, st) < 0 ? -errno : 0;
	}
	r = o->uf ? umfs_fstat(o->uf, st) : -EIO;
	ofd_put(o);
	return r;
}

struct stat_arg {
	struct stat *st;
	int flags;
};

static long stat_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct stat_arg *a = arg;

	return umfs_stat(fs, path, a->st, a->flags & AT_SYMLINK_NOFOLLOW);
}

static long stat_kernel(int dirfd, const char *path, void *arg)
{
	struct stat_arg *a = arg;

	return SYS(fstatat)(dirfd, path, a->st, a->flags) < 0 ? -errno : 0;
}

static long stat_byfd(int fd, void *arg)
{
	struct stat_arg *a = arg;

	if (a->flags & AT_SYMLINK_NOFOLLOW)
		return PATH_RUN_KERNEL; /* the /proc link itself */
	return shim_fd_stat(fd, a->st);
}

static const struct path_ops stat_ops = { stat_umfs, stat_kernel, stat_byfd, false, true };

/* The stat of the cwd, for AT_EMPTY_PATH with AT_FDCWD. */
static int cwd_stat(struct stat *st)
{
	if (atomic_load(&cwd_in_umfs)) {
		struct stat_arg a = { st, 0 };

		return (int)path_run(AT_FDCWD, ".", &stat_ops, &a);
	}
	return SYS(stat)(".", st) < 0 ? -errno : 0;
}

/* st is the caller's: filled once the answer is known, as the kernel's
 * copy-out (EFAULT after the lookup's own errors). */
int shim_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct stat res;
	struct stat_arg a = { &res, flags };
	int r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	if (path_names_dirfd(path_as_given(path), flags))
		r = dirfd == AT_FDCWD ? cwd_stat(&res) : shim_fd_stat(dirfd, &res);
	else
		r = (int)path_run(dirfd, path, &stat_ops, &a);
	return r ? r : user_copy_out(st, &res, sizeof(res));
}

static int stat_entry(int dirfd, const char *path, struct stat *st, int flags)
{
	bool by_fd = path_names_dirfd(path_as_given(path), flags);
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path) &&
		   !(by_fd && dirfd != AT_FDCWD && fd_served(dirfd)) &&
		   !(by_fd && dirfd == AT_FDCWD && atomic_load(&cwd_in_umfs)))) {
		TRACE_PASS(stat, "\"%s\"", path ? path : "(null)");
		return SYS(fstatat)(dirfd, path, st, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = shim_fstatat(dirfd, path, st, flags);
	TRACE_SERVED(stat, r, t0, "\"%s\", %#x", path ? path : "(null)", flags);
	return (int)shim_ret(r);
}

SHIM_API int stat(const char *path, struct stat *st)
{
	return stat_entry(AT_FDCWD, path, st, 0);
}

SHIM_API int lstat(const char *path, struct stat *st)
{
	return stat_entry(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return stat_entry(dirfd, path, st, flags);
}

SHIM_API int fstat(int fd, struct stat *st)
{
	struct ofd *o = fd_get_fast(fd);
	struct stat res;
	uint64_t t0;
	int r;

	if (likely(o == NULL)) {
		r = devnode_stat(fd, &res);
		if (likely(r == -ENOENT)) {
			TRACE_PASS(fstat, "%d", fd);
			return SYS(fstat)(fd, st);
		}
		t0 = 0;
	} else {
		SHIM_SERVE();
		t0 = stats_t0();
		r = o->uf ? umfs_fstat(o->uf, &res) : -EIO;
		ofd_put(o);
	}
	if (r == 0)
		r = user_copy_out(st, &res, sizeof(res));
	TRACE_SERVED(fstat, r, t0, "%d", fd);
	return (int)shim_ret(r);
}

/* The entry points of binaries built against glibc before 2.33; on x86-64
 * every version of struct stat has the kernel's layout. */
static bool bad_stat_ver(int ver)
{
	if (ver == 0 || ver == 1) /* _STAT_VER_KERNEL, _STAT_VER_LINUX */
		return false;
	errno = EINVAL;
	return true;
}

SHIM_API int __xstat(int ver, const char *path, struct stat *st)
{
	if (bad_stat_ver(ver))
		return -1;
	return stat_entry(AT_FDCWD, path, st, 0);
}

SHIM_API int __lxstat(int ver, const char *path, struct stat *st)
{
	if (bad_stat_ver(ver))
		return -1;
	return stat_entry(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int __fxstat(int ver, int fd, struct stat *st)
{
	if (bad_stat_ver(ver))
		return -1;
	return fstat(fd, st);
}

SHIM_API int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	if (bad_stat_ver(ver))
		return -1;
	return stat_entry(dirfd, path, st, flags);
}

static void stat_to_statx(const struct stat *st, struct statx *sx)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st->st_blksize;
	sx->stx_nlink = (uint32_t)st->st_nlink;
	sx->stx_uid = st->st_uid;
	sx->stx_gid = st->st_gid;
	sx->stx_mode = (uint16_t)st->st_mode;
	sx->stx_ino = st->st_ino;
	sx->stx_size = (uint64_t)st->st_size;
	sx->stx_blocks = (uint64_t)st->st_blocks;
	sx->stx_atime.tv_sec = st->st_atim.tv_sec;
	sx->stx_atime.tv_nsec = (uint32_t)st->st_atim.tv_nsec;
	sx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	sx->stx_mtime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
	sx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	sx->stx_ctime.tv_nsec = (uint32_t)st->st_ctim.tv_nsec;
	sx->stx_rdev_major = major(st->st_rdev);
	sx->stx_rdev_minor = minor(st->st_rdev);
	sx->stx_dev_major = major(st->st_dev);
	sx->stx_dev_minor = minor(st->st_dev);
}

SHIM_API int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
	bool by_fd = path_names_dirfd(path_as_given(path), flags);
	struct stat st;
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path) &&
		   !(by_fd && dirfd != AT_FDCWD && fd_served(dirfd)) &&
		   !(by_fd && dirfd == AT_FDCWD && atomic_load(&cwd_in_umfs)))) {
		TRACE_PASS(statx, "\"%s\"", path ? path : "(null)");
		return SYS(statx)(dirfd, path, flags, mask, sx);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if ((mask & STATX__RESERVED) ||
	    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) ||
	    (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		r = -EINVAL;
	else
		r = shim_fstatat(dirfd, path, &st,
				 flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT));
	if (r == 0)
		r = user_writable(sx, sizeof(*sx));
	if (r == 0)
		stat_to_statx(&st, sx);
	TRACE_SERVED(statx, r, t0, "\"%s\", %#x", path ? path : "(null)", flags);
	return (int)shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* access                                                               */
/* ------------------------------------------------------------------ */

struct access_arg {
	int mode, flags;
};

/* access(2) checks as the real user, AT_EACCESS as the effective one. */
static int access_check(struct umfs_fs *fs, const char *path, const struct access_arg *a)
{
	return a->flags & AT_EACCESS ? umfs_access(fs, path, a->mode)
				     : umfs_access_real(fs, path, a->mode);
}

static long access_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct access_arg *a = arg;
	struct stat st;
	int err;

	if (a->flags & AT_SYMLINK_NOFOLLOW) {
		err = umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW);
		if (err || S_ISLNK(st.st_mode))
			return err; /* a symlink's own permissions are all granted */
	}
	return access_check(fs, path, a);
}

static long access_kernel(int dirfd, const char *path, void *arg)
{
	struct access_arg *a = arg;

	return SYS(faccessat)(dirfd, path, a->mode, a->flags) < 0 ? -errno : 0;
}

static long access_byfd(int fd, void *arg)
{
	struct access_arg *a = arg;
	struct ofd *o = fd_get_fast(fd);
	struct umfs_fs *fs;
	long r;

	if (!o)
		return PATH_RUN_KERNEL;
	fs = shim_fs(NULL);
	pool_lock();
	r = fs ? access_check(fs, o->sh->path, a) : -EIO;
	pool_unlock_ro();
	ofd_put(o);
	return r;
}

static const struct path_ops access_ops = { access_umfs, access_kernel, access_byfd, false, true };
/* the link itself, then what it names: two core calls, under the pool lock */
static const struct path_ops access_nofollow_ops = { access_umfs, access_kernel, access_byfd,
						     false, false };

static int access_entry(int dirfd, const char *path, int mode, int flags)
{
	struct access_arg a = { mode, flags };
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(access, "\"%s\"", path ? path : "(null)");
		return SYS(faccessat)(dirfd, path, mode, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (mode & ~(R_OK | W_OK | X_OK))
		r = -EINVAL;
	else if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		r = -EINVAL;
	else
		r = (int)path_run(dirfd, path,
				  flags & AT_SYMLINK_NOFOLLOW ? &access_nofollow_ops : &access_ops, &a);
	TRACE_SERVED(access, r, t0, "\"%s\", %d", path, mode);
	return (int)shim_ret(r);
}

SHIM_API int access(const char *path, int mode)
{
	return access_entry(AT_FDCWD, path, mode, 0);
}

SHIM_API int faccessat(int dirfd, const char *path, int mode, int flags)
{
	return access_entry(dirfd, path, mode, flags);
}

SHIM_API int euidaccess(const char *path, int mode)
{
	return access_entry(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_API int eaccess(const char *path, int mode)
{
	return euidaccess(path, mode);
}

/* ------------------------------------------------------------------ */
/* statfs, statvfs, pathconf                                            */
/* ------------------------------------------------------------------ */

static void statvfs_to_statfs(const struct statvfs *sv, struct statfs *sf)
{
	memset(sf, 0, sizeof(*sf));
	sf->f_type = UMFS_STATFS_MAGIC;
	sf->f_bsize = (long)sv->f_bsize;
	sf->f_blocks = sv->f_blocks;
	sf->f_bfree = sv->f_bfree;
	sf->f_bavail = sv->f_bavail;
	sf->f_files = sv->f_files;
	sf->f_ffree = sv->f_ffree;
	memcpy(&sf->f_fsid, &sv->f_fsid, sizeof(sf->f_fsid) < sizeof(sv->f_fsid) ?
					  sizeof(sf->f_fsid) : sizeof(sv->f_fsid));
	sf->f_namelen = (long)sv->f_namemax;
	sf->f_frsize = (long)sv->f_frsize;
	sf->f_flags = (long)(sv->f_flag | 0x20 /* ST_VALID */);
}

struct statfs_arg {
	struct statvfs *sv;  /* the core's answer (the library's memory) */
	struct statfs *sf;   /* the kernel's statfs answer (the caller's) */
	struct statvfs *ksv; /* the kernel's statvfs answer (the caller's) */
};

static long statvfs_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct statfs_arg *a = arg;
	struct stat st;
	int err = umfs_stat(fs, path, &st, 0);

	return err ? err : umfs_statfs(fs, a->sv);
}

static long statvfs_kernel(int dirfd, const char *path, void *arg)
{
	struct statfs_arg *a = arg;
	int r;

	(void)dirfd;
	r = a->sf ? SYS(statfs)(path, a->sf) : SYS(statvfs)(path, a->ksv);
	return r < 0 ? -errno : 1; /* 1: the kernel answered */
}

static long statvfs_byfd(int fd, void *arg)
{
	struct statfs_arg *a = arg;
	struct umfs_fs *fs = shim_fs(NULL);
	long r;

	(void)fd;
	if (!fs)
		return -EIO;
	SHIM_SERVE();
	pool_lock();
	r = umfs_statfs(fs, a->sv);
	pool_unlock_ro();
	return r;
}

static const struct path_ops statvfs_ops = { statvfs_umfs, statvfs_kernel, statvfs_byfd, false,
					     false };

/* ftok: glibc's stats the path inside, where the kernel does not see
 * UMFS. The same key from the library's stat: the inode number's low 16
 * bits, the device's low 8, the id's low 8. */
SHIM_API key_t ftok(const char *path, int id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return (key_t)-1;
	return (key_t)((st.st_ino & 0xffff) | ((st.st_dev & 0xff) << 16) |
		       (((unsigned)id & 0xff) << 24));
}

/* ------------------------------------------------------------------ */
/* name_to_handle_at                                                    */
/* ------------------------------------------------------------------ */

/* The flags Linux 6.12 on takes (the last three newer than glibc's). */
#define HANDLE_AT_FID 0x200
#define HANDLE_AT_MNT_ID_UNIQUE 0x001
#define HANDLE_AT_CONNECTABLE 0x002
#define HANDLE_AT_FLAGS                                                                  \
	(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | HANDLE_AT_FID | HANDLE_AT_MNT_ID_UNIQUE | \
	 HANDLE_AT_CONNECTABLE)

struct handle_arg {
	struct file_handle *h;
	int *mount_id;
	int flags;
};

/* UMFS gives out no file handles (nothing could open one again): the
 * name is looked up as the kernel looks it up, then EOPNOTSUPP, the
 * kernel's answer for a file system without them. */
static long handle_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct handle_arg *a = arg;
	struct stat st;
	int err = umfs_stat(fs, path, &st, (a->flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW);

	return err ? err : -EOPNOTSUPP;
}

static long handle_kernel(int dirfd, const char *path, void *arg)
{
	struct handle_arg *a = arg;

	return SYS(name_to_handle_at)(dirfd, path, a->h, a->mount_id, a->flags) < 0 ? -errno : 0;
}

static long handle_byfd(int fd, void *arg)
{
	struct handle_arg *a = arg;

	(void)fd;
	/* without AT_SYMLINK_FOLLOW: the /proc link itself */
	return (a->flags & AT_SYMLINK_FOLLOW) ? -EOPNOTSUPP : PATH_RUN_KERNEL;
}

static const struct path_ops handle_ops = { handle_umfs, handle_kernel, handle_byfd, false, true };

SHIM_API int name_to_handle_at(int dirfd, const char *path, struct file_handle *h, int *mount_id,
			       int flags)
{
	bool by_fd = (flags & AT_EMPTY_PATH) && path_empty(path_as_given(path));
	struct handle_arg a = { h, mount_id, flags };
	bool umfs_fd = by_fd && dirfd_in_umfs(dirfd);
	int r;

	if (likely(!umfs_fd && (by_fd || !path_maybe_umfs(dirfd, path)))) {
		TRACE_PASS(stat, "\"%s\" (name_to_handle_at)", path ? path : "(null)");
		return SYS(name_to_handle_at)(dirfd, path, h, mount_id, flags);
	}
	SHIM_SERVE();
	if ((flags & ~HANDLE_AT_FLAGS) ||
	    ((flags & HANDLE_AT_FID) && (flags & HANDLE_AT_CONNECTABLE)))
		r = -EINVAL;
	else if (umfs_fd)
		r = uinfo_peek(dirfd) == UINFO_INTERNAL ? -EBADF : -EOPNOTSUPP;
	else
		r = (int)path_run(dirfd, path, &handle_ops, &a);
	TRACE_SERVED(stat, r, 0, "\"%s\" (name_to_handle_at)", path ? path : "(null)");
	return (int)shim_ret(r);
}

SHIM_API int statvfs(const char *path, struct statvfs *sv)
{
	struct statvfs res;
	struct statfs_arg a = { &res, NULL, sv };
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(statfs, "\"%s\"", path ? path : "(null)");
		return SYS(statvfs)(path, sv);
	}
	SHIM_SERVE();
	r = (int)path_run(AT_FDCWD, path, &statvfs_ops, &a);
	if (r == 0)
		r = user_copy_out(sv, &res, sizeof(res));
	TRACE_SERVED(statfs, r, 0, "\"%s\"", path);
	return (int)shim_ret(r > 0 ? 0 : r);
}

SHIM_API int fstatvfs(int fd, struct statvfs *sv)
{
	struct statvfs res;
	struct statfs_arg a = { &res, NULL, NULL };
	int r;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(fstatvfs)(fd, sv);
	r = (int)statvfs_byfd(fd, &a);
	if (r == 0)
		r = user_copy_out(sv, &res, sizeof(res));
	TRACE_SERVED(statfs, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

SHIM_API int statfs(const char *path, struct statfs *sf)
{
	struct statvfs sv;
	struct statfs_arg a = { &sv, sf, NULL };
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(statfs, "\"%s\"", path ? path : "(null)");
		return SYS(statfs)(path, sf);
	}
	SHIM_SERVE();
	r = (int)path_run(AT_FDCWD, path, &statvfs_ops, &a);
	if (r == 0)
		r = user_writable(sf, sizeof(*sf));
	if (r == 0)
		statvfs_to_statfs(&sv, sf);
	TRACE_SERVED(statfs, r, 0, "\"%s\"", path);
	return (int)shim_ret(r > 0 ? 0 : r);
}

SHIM_API int fstatfs(int fd, struct statfs *sf)
{
	struct statvfs sv;
	struct statfs_arg a = { &sv, NULL, NULL };
	int r;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(fstatfs)(fd, sf);
	r = (int)statvfs_byfd(fd, &a);
	if (r == 0)
		r = user_writable(sf, sizeof(*sf));
	if (r == 0)
		statvfs_to_statfs(&sv, sf);
	TRACE_SERVED(statfs, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

static long pathconf_value(int name)
{
	switch (name) {
	case _PC_LINK_MAX:
		return 65000;
	case _PC_MAX_CANON:
	case _PC_MAX_INPUT:
	case _PC_NAME_MAX:
		return 255;
	case _PC_PATH_MAX:
		return PATH_MAX;
	case _PC_PIPE_BUF:
		return 4096;
	case _PC_CHOWN_RESTRICTED:
	case _PC_NO_TRUNC:
	case _PC_2_SYMLINKS:
		return 1;
	case _PC_VDISABLE:
		return 0;
	case _PC_FILESIZEBITS:
		return 64;
	case _PC_SYMLINK_MAX:
		return 4095;
	case _PC_REC_XFER_ALIGN:
	case _PC_ALLOC_SIZE_MIN:
	case _PC_REC_MIN_XFER_SIZE:
		return 4096;
	case _PC_SYNC_IO:
	case _PC_ASYNC_IO:
	case _PC_PRIO_IO:
	case _PC_SOCK_MAXBUF:
	case _PC_REC_INCR_XFER_SIZE:
	case _PC_REC_MAX_XFER_SIZE:
		return -1;
	default:
		return -EINVAL - 0x10000; /* marker: invalid name */
	}
}

static long pathconf_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct stat st;

	(void)arg;
	return umfs_stat(fs, path, &st, 0);
}

static long pathconf_kernel(int dirfd, const char *path, void *arg)
{
	(void)dirfd;
	*(long *)arg = SYS(pathconf)(path, *(int *)((long *)arg + 1));
	return 1;
}

static const struct path_ops pathconf_ops = { pathconf_umfs, pathconf_kernel, NULL, false, false };

SHIM_API long pathconf(const char *path, int name)
{
	long a[2] = { 0, name }, v;
	long r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(pathconf)(path, name);
	SHIM_SERVE();
	r = path_run(AT_FDCWD, path, &pathconf_ops, a);
	if (r == 1)
		return a[0]; /* answered by the kernel */
	if (r < 0)
		return shim_ret(r);
	v = pathconf_value(name);
	if (v == -EINVAL - 0x10000) {
		errno = EINVAL;
		return -1;
	}
	return v;
}

SHIM_API long fpathconf(int fd, int name)
{
	long v;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(fpathconf)(fd, name);
	v = pathconf_value(name);
	if (v == -EINVAL - 0x10000) {
		errno = EINVAL;
		return -1;
	}
	return v;
}

/* ------------------------------------------------------------------ */
/* chmod, chown, times                                                  */
/* ------------------------------------------------------------------ */

/* An operation on an open UMFS file: fn under the pool lock. by_path: the
 * descriptor names the file as a path does ("" with AT_EMPTY_PATH), which
 * an O_PATH one may; fchmod and the like refuse O_PATH (EBADF). */
static int fd_attr(int fd, int (*fn)(struct umfs_file *, const void *), const void *arg,
		   bool by_path, bool *served)
{
	struct ofd *o = fd_get_fast(fd);
	struct umfs_file *dev;
	int r;

	*served = o != NULL;
	if (!o) {
		/* a device node's descriptor: the UMFS node, never the host's */
		r = devnode_file(fd, &dev);
		if (likely(r == -ENOENT))
			return 0;
		*served = true;
		if (r)
			return r;
		pool_lock();
		r = fn(dev, arg);
		umfs_close(dev);
		pool_unlock();
		return r;
	}
	SHIM_SERVE();
	if (!o->uf)
		r = -EIO;
	else if (!by_path && (atomic_load(&o->sh->flags) & O_PATH))
		r = -EBADF;
	else {
		pool_lock();
		r = fn(o->uf, arg);
		pool_unlock();
	}
	ofd_put(o);
	return r;
}

struct chmod_arg {
	mode_t mode;
	int flags;
};

static long chmod_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct chmod_arg *a = arg;
	struct stat st;
	int err;

	if (a->flags & AT_SYMLINK_NOFOLLOW) {
		err = umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW);
		if (err)
			return err;
		if (S_ISLNK(st.st_mode))
			return -EOPNOTSUPP; /* Linux cannot change a symlink's mode */
	}
	return umfs_chmod(fs, path, a->mode, a->flags);
}

static long chmod_kernel(int dirfd, const char *path, void *arg)
{
	struct chmod_arg *a = arg;

	return SYS(fchmodat)(dirfd, path, a->mode, a->flags) < 0 ? -errno : 0;
}

static const struct path_ops chmod_ops = { chmod_umfs, chmod_kernel, NULL, true, false };

static int do_fchmod(struct umfs_file *uf, const void *arg)
{
	return umfs_fchmod(uf, *(const mode_t *)arg);
}

int shim_fchmodat2(int dirfd, const char *path, mode_t mode, int flags)
{
	struct chmod_arg a = { mode, flags & ~AT_EMPTY_PATH };
	bool flags_ok = !(flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)), served = false;
	int r = 0;

	path = path_as_given(path);
	if (flags_ok && path_empty_on_fd(dirfd, path, flags))
		r = fd_attr(dirfd, do_fchmod, &mode, true, &served);
	if (!served && (!path || !path_maybe_umfs(dirfd, path)))
		return (int)SYS(syscall)(SYS_fchmodat2, dirfd, path, mode, flags);
	if (!served) {
		SHIM_SERVE();
		r = flags_ok ? (int)path_run(dirfd, path, &chmod_ops, &a) : -EINVAL;
	}
	TRACE_SERVED(chmod, r, 0, "\"%s\", %#o", path ? path : "(null)", (unsigned)mode);
	return (int)shim_ret(r);
}

SHIM_API int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct chmod_arg a = { mode, flags };
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(chmod, "\"%s\"", path ? path : "(null)");
		return SYS(fchmodat)(dirfd, path, mode, flags);
	}
	SHIM_SERVE();
	r = (flags & ~AT_SYMLINK_NOFOLLOW) ? -EINVAL : (int)path_run(dirfd, path, &chmod_ops, &a);
	TRACE_SERVED(chmod, r, 0, "\"%s\", %#o", path, (unsigned)mode);
	return (int)shim_ret(r);
}

SHIM_API int chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

SHIM_API int lchmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int fchmod(int fd, mode_t mode)
{
	bool served;
	int r = fd_attr(fd, do_fchmod, &mode, false, &served);

	if (likely(!served))
		return SYS(fchmod)(fd, mode);
	TRACE_SERVED(chmod, r, 0, "%d, %#o", fd, (unsigned)mode);
	return (int)shim_ret(r);
}

struct chown_arg {
	uid_t uid;
	gid_t gid;
	int flags;
};

static long chown_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct chown_arg *a = arg;

	return umfs_chown(fs, path, a->uid, a->gid, a->flags & AT_SYMLINK_NOFOLLOW);
}

static long chown_kernel(int dirfd, const char *path, void *arg)
{
	struct chown_arg *a = arg;

	return SYS(fchownat)(dirfd, path, a->uid, a->gid, a->flags) < 0 ? -errno : 0;
}

static const struct path_ops chown_ops = { chown_umfs, chown_kernel, NULL, true, false };

static int do_fchown(struct umfs_file *uf, const void *arg)
{
	const struct chown_arg *a = arg;

	return umfs_fchown(uf, a->uid, a->gid);
}

SHIM_API int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct chown_arg a = { uid, gid, flags };
	bool served;
	int r;

	if (path_empty_on_fd(dirfd, path, flags)) {
		r = fd_attr(dirfd, do_fchown, &a, true, &served);
		if (served) {
			TRACE_SERVED(chown, r, 0, "%d", dirfd);
			return (int)shim_ret(r);
		}
	}
	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(chown, "\"%s\"", path ? path : "(null)");
		return SYS(fchownat)(dirfd, path, uid, gid, flags);
	}
	SHIM_SERVE();
	r = (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) ? -EINVAL
							      : (int)path_run(dirfd, path, &chown_ops, &a);
	TRACE_SERVED(chown, r, 0, "\"%s\", %d, %d", path, (int)uid, (int)gid);
	return (int)shim_ret(r);
}

SHIM_API int chown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, 0);
}

SHIM_API int lchown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int fchown(int fd, uid_t uid, gid_t gid)
{
	struct chown_arg a = { uid, gid, 0 };
	bool served;
	int r = fd_attr(fd, do_fchown, &a, false, &served);

	if (likely(!served))
		return SYS(fchown)(fd, uid, gid);
	TRACE_SERVED(chown, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

struct utimens_arg {
	const struct timespec *ts;
	int flags;
};

static long utimens_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct utimens_arg *a = arg;

	return umfs_utimens(fs, path, a->ts, a->flags & AT_SYMLINK_NOFOLLOW);
}

static long utimens_kernel(int dirfd, const char *path, void *arg)
{
	struct utimens_arg *a = arg;

	return SYS(utimensat)(dirfd, path, a->ts, a->flags) < 0 ? -errno : 0;
}

static const struct path_ops utimens_ops = { utimens_umfs, utimens_kernel, NULL, true, false };

static int do_futimens(struct umfs_file *uf, const void *arg)
{
	return umfs_futimens(uf, arg);
}

/* The caller's times, copied in first, as the kernel does. */
static int times_copy_in(const struct timespec *ts, struct timespec copy[2])
{
	if (!ts)
		return 0;
	if (user_readable(ts, 2 * sizeof(*ts)))
		return -EFAULT;
	copy[0] = ts[0];
	copy[1] = ts[1];
	return 0;
}

/* futimens, or utimensat on the descriptor itself (by_path: "" with
 * AT_EMPTY_PATH, which an O_PATH descriptor may do). */
static int fd_utimens(int fd, const struct timespec ts[2], bool by_path)
{
	struct timespec copy[2];
	bool served;
	int r;

	if (likely(!fd_served(fd)))
		return SYS(futimens)(fd, ts);
	r = times_copy_in(ts, copy);
	if (r == 0)
		r = fd_attr(fd, do_futimens, ts ? copy : NULL, by_path, &served);
	else
		served = true;
	if (unlikely(!served))
		return SYS(futimens)(fd, ts);
	TRACE_SERVED(utimens, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

SHIM_API int futimens(int fd, const struct timespec ts[2])
{
	return fd_utimens(fd, ts, false);
}

int shim_utimensat_fd(int dirfd, const struct timespec ts[2], int flags)
{
	if (uinfo_peek(dirfd) == NULL || dirfd == AT_FDCWD)
		return (int)SYS(syscall)(SYS_utimensat, dirfd, NULL, ts, flags);
	if (flags) {
		errno = EINVAL;
		return -1;
	}
	return fd_utimens(dirfd, ts, false);
}

SHIM_API int utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	struct timespec copy[2];
	struct utimens_arg a = { ts ? copy : NULL, flags };
	int r;

	/* "" with AT_EMPTY_PATH: dirfd itself, O_PATH or not */
	if (path_empty_on_fd(dirfd, path, flags) && fd_served(dirfd) &&
	    !(flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return fd_utimens(dirfd, ts, true);
	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(utimens, "\"%s\"", path ? path : "(null)");
		return SYS(utimensat)(dirfd, path, ts, flags);
	}
	SHIM_SERVE();
	r = times_copy_in(ts, copy);
	if (r == 0)
		r = (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
			    ? -EINVAL
			    : (int)path_run(dirfd, path, &utimens_ops, &a);
	TRACE_SERVED(utimens, r, 0, "\"%s\"", path);
	return (int)shim_ret(r);
}

static int tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	if (user_readable(tv, 2 * sizeof(*tv)))
		return -EFAULT;
	for (int i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
			return -EINVAL;
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return 0;
}

static int utimes_common(int dirfd, const char *path, const struct timeval tv[2], int flags)
{
	struct timespec ts[2];
	int r = tv ? tv_to_ts(tv, ts) : 0;

	if (r)
		return (int)shim_ret(r);
	return utimensat(dirfd, path, tv ? ts : NULL, flags);
}

SHIM_API int utimes(const char *path, const struct timeval tv[2])
{
	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(utimes)(path, tv);
	SHIM_SERVE();
	return utimes_common(AT_FDCWD, path, tv, 0);
}

SHIM_API int lutimes(const char *path, const struct timeval tv[2])
{
	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(lutimes)(path, tv);
	SHIM_SERVE();
	return utimes_common(AT_FDCWD, path, tv, AT_SYMLINK_NOFOLLOW);
}

SHIM_API int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	if (likely(!path_maybe_umfs(dirfd, path) && (path || uinfo_peek(dirfd) == NULL)))
		return SYS(futimesat)(dirfd, path, tv);
	SHIM_SERVE();
	return utimes_common(dirfd, path, tv, 0);
}

SHIM_API int futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];

	int r;

	if (likely(uinfo_peek(fd) == NULL))
		return SYS(futimes)(fd, tv);
	r = tv ? tv_to_ts(tv, ts) : 0;
	if (r)
		return (int)shim_ret(r);
	return futimens(fd, tv ? ts : NULL);
}

SHIM_API int utime(const char *path, const struct utimbuf *ub)
{
	struct timespec ts[2];

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(utime)(path, ub);
	SHIM_SERVE();
	if (ub && user_readable(ub, sizeof(*ub)))
		return (int)shim_ret(-EFAULT);
	if (ub) {
		ts[0].tv_sec = ub->actime;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = ub->modtime;
		ts[1].tv_nsec = 0;
	}
	return utimensat(AT_FDCWD, path, ub ? ts : NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Extended attributes: not stored by UMFS                               */
/* ------------------------------------------------------------------ */

enum xattr_op { XA_GET, XA_SET, XA_LIST, XA_REMOVE };

struct xattr_arg {
	enum xattr_op op;
	bool nofollow;
	const char *name;
	void *value;
	size_t size;
	int flags;
};

/* What the kernel checks before it looks up the file: the flags, the name
 * (ERANGE when empty or past XATTR_NAME_MAX) and the value it copies in. */
static int xattr_args_check(const struct xattr_arg *a)
{
	long n;

	if (a->op == XA_SET && (a->flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		return -EINVAL;
	if (a->name) {
		n = shim_probe_strnlen(a->name, XATTR_NAME_MAX + 1);
		if (n < 0)
			return -EFAULT;
		if (n == 0 || n > XATTR_NAME_MAX)
			return -ERANGE;
	}
	if (a->op == XA_SET && a->size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (a->op == XA_SET && a->size && user_readable(a->value, a->size))
		return -EFAULT;
	return 0;
}

/* A UMFS file has none, and the answers are those of a file system
 * without extended attributes: an empty list, ENOTSUP for the rest. */
static long xattr_none(const struct xattr_arg *a)
{
	return a->op == XA_LIST ? 0 : -ENOTSUP;
}

static long xattr_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct xattr_arg *a = arg;
	struct stat st;
	int err = umfs_stat(fs, path, &st, a->nofollow ? AT_SYMLINK_NOFOLLOW : 0);

	return err ? err : xattr_none(a);
}

static long xattr_kernel(int dirfd, const char *path, void *arg)
{
	struct xattr_arg *a = arg;
	ssize_t r;

	(void)dirfd; /* only absolute host paths get here from UMFS ones */
	switch (a->op) {
	case XA_GET:
		r = a->nofollow ? SYS(lgetxattr)(path, a->name, a->value, a->size)
				: SYS(getxattr)(path, a->name, a->value, a->size);
		break;
	case XA_SET:
		r = a->nofollow ? SYS(lsetxattr)(path, a->name, a->value, a->size, a->flags)
				: SYS(setxattr)(path, a->name, a->value, a->size, a->flags);
		break;
	case XA_LIST:
		r = a->nofollow ? SYS(llistxattr)(path, a->value, a->size)
				: SYS(listxattr)(path, a->value, a->size);
		break;
	default:
		r = a->nofollow ? SYS(lremovexattr)(path, a->name) : SYS(removexattr)(path, a->name);
		break;
	}
	return r < 0 ? -errno : r;
}

static const struct path_ops xattr_ops = { xattr_umfs, xattr_kernel, NULL, false, false };

static ssize_t xattr_path(const char *path, struct xattr_arg *a)
{
	ssize_t r = xattr_args_check(a);

	if (!r)
		r = path_run(AT_FDCWD, path, &xattr_ops, a);

	TRACE_SERVED(xattr, r, 0, "\"%s\"", path);
	return shim_ret(r);
}

/* An f*xattr call on fd: false when fd is not UMFS's; else true with *r
 * the call's result (errno set), as the kernel answers: EBADF for an
 * O_PATH descriptor or the library's own, then the arguments' checks,
 * then xattr_none. */
static bool xattr_fd(int fd, const struct xattr_arg *a, ssize_t *r)
{
	struct ofd *o;
	long err = -EBADF;

	if (likely(uinfo_peek(fd) == NULL))
		return false;
	o = fd_get_fast(fd);
	if (o) {
		if (!(atomic_load(&o->sh->flags) & O_PATH))
			err = xattr_args_check(a) ?: xattr_none(a);
		ofd_put(o);
	}
	TRACE_SERVED(xattr, err, 0, "%d", fd);
	*r = shim_ret(err);
	return true;
}

SHIM_API ssize_t getxattr(const char *path, const char *name, void *v, size_t n)
{
	struct xattr_arg a = { XA_GET, false, name, v, n, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(getxattr)(path, name, v, n);
	SHIM_SERVE();
	return xattr_path(path, &a);
}

SHIM_API ssize_t lgetxattr(const char *path, const char *name, void *v, size_t n)
{
	struct xattr_arg a = { XA_GET, true, name, v, n, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(lgetxattr)(path, name, v, n);
	SHIM_SERVE();
	return xattr_path(path, &a);
}

SHIM_API int setxattr(const char *path, const char *name, const void *v, size_t n, int fl)
{
	struct xattr_arg a = { XA_SET, false, name, (void *)v, n, fl };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(setxattr)(path, name, v, n, fl);
	SHIM_SERVE();
	return (int)xattr_path(path, &a);
}

SHIM_API int lsetxattr(const char *path, const char *name, const void *v, size_t n, int fl)
{
	struct xattr_arg a = { XA_SET, true, name, (void *)v, n, fl };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(lsetxattr)(path, name, v, n, fl);
	SHIM_SERVE();
	return (int)xattr_path(path, &a);
}

SHIM_API ssize_t listxattr(const char *path, char *list, size_t n)
{
	struct xattr_arg a = { XA_LIST, false, NULL, list, n, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(listxattr)(path, list, n);
	SHIM_SERVE();
	return xattr_path(path, &a);
}

SHIM_API ssize_t llistxattr(const char *path, char *list, size_t n)
{
	struct xattr_arg a = { XA_LIST, true, NULL, list, n, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(llistxattr)(path, list, n);
	SHIM_SERVE();
	return xattr_path(path, &a);
}

SHIM_API int removexattr(const char *path, const char *name)
{
	struct xattr_arg a = { XA_REMOVE, false, name, NULL, 0, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(removexattr)(path, name);
	SHIM_SERVE();
	return (int)xattr_path(path, &a);
}

SHIM_API int lremovexattr(const char *path, const char *name)
{
	struct xattr_arg a = { XA_REMOVE, true, name, NULL, 0, 0 };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(lremovexattr)(path, name);
	SHIM_SERVE();
	return (int)xattr_path(path, &a);
}

SHIM_API ssize_t fgetxattr(int fd, const char *name, void *v, size_t n)
{
	struct xattr_arg a = { XA_GET, false, name, v, n, 0 };
	ssize_t r;

	return xattr_fd(fd, &a, &r) ? r : SYS(fgetxattr)(fd, name, v, n);
}

SHIM_API int fsetxattr(int fd, const char *name, const void *v, size_t n, int fl)
{
	struct xattr_arg a = { XA_SET, false, name, (void *)v, n, fl };
	ssize_t r;

	return xattr_fd(fd, &a, &r) ? (int)r : SYS(fsetxattr)(fd, name, v, n, fl);
}

SHIM_API ssize_t flistxattr(int fd, char *list, size_t n)
{
	struct xattr_arg a = { XA_LIST, false, NULL, list, n, 0 };
	ssize_t r;

	return xattr_fd(fd, &a, &r) ? r : SYS(flistxattr)(fd, list, n);
}

SHIM_API int fremovexattr(int fd, const char *name)
{
	struct xattr_arg a = { XA_REMOVE, false, name, NULL, 0, 0 };
	ssize_t r;

	return xattr_fd(fd, &a, &r) ? (int)r : SYS(fremovexattr)(fd, name);
}
