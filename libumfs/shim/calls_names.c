/* SPDX-License-Identifier: MIT */
/*
 * calls_names.c - the name space: mkdir, rmdir, unlink, remove, rename,
 * link, symlink, readlink, realpath, mknod, mkfifo, and the temporary-name
 * functions glibc implements with internal calls the shim cannot see
 * (mkstemp, mkostemp, mkstemps, mkostemps, mkdtemp, mktemp).
 *
 * Two-path calls (rename, link) are served only when both paths are UMFS
 * paths; one on each side of the mount boundary gives EXDEV, as between
 * two kernel file systems.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "shim.h"

/* ------------------------------------------------------------------ */
/* mkdir, mknod, mkfifo                                                 */
/* ------------------------------------------------------------------ */

struct mknod_arg {
	mode_t mode;
	dev_t dev;
};

static long mkdir_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct mknod_arg *a = arg;

	return umfs_mkdir(fs, path, a->mode & ~atomic_load(&shim_umask));
}

static long mkdir_kernel(int dirfd, const char *path, void *arg)
{
	struct mknod_arg *a = arg;

	return SYS(mkdirat)(dirfd, path, a->mode) < 0 ? -errno : 0;
}

static const struct path_ops mkdir_ops = { mkdir_umfs, mkdir_kernel, NULL, true, false };

SHIM_API int mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct mknod_arg a = { mode, 0 };
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(mkdir, "\"%s\"", path ? path : "(null)");
		return SYS(mkdirat)(dirfd, path, mode);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = (int)path_run(dirfd, path, &mkdir_ops, &a);
	TRACE_SERVED(mkdir, r, t0, "\"%s\", %#o", path, (unsigned)mode);
	return (int)shim_ret(r);
}

SHIM_API int mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

static long mknod_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct mknod_arg *a = arg;
	mode_t type = a->mode & S_IFMT;

	return umfs_mknod(fs, path, type | (a->mode & 07777 & ~atomic_load(&shim_umask)), a->dev);
}

static long mknod_kernel(int dirfd, const char *path, void *arg)
{
	struct mknod_arg *a = arg;

	return SYS(mknodat)(dirfd, path, a->mode, a->dev) < 0 ? -errno : 0;
}

static const struct path_ops mknod_ops = { mknod_umfs, mknod_kernel, NULL, true, false };

SHIM_API int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct mknod_arg a = { mode, dev };
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(mknod, "\"%s\"", path ? path : "(null)");
		return SYS(mknodat)(dirfd, path, mode, dev);
	}
	SHIM_SERVE();
	r = (int)path_run(dirfd, path, &mknod_ops, &a);
	TRACE_SERVED(mknod, r, 0, "\"%s\", %#o", path, (unsigned)mode);
	return (int)shim_ret(r);
}

SHIM_API int mknod(const char *path, mode_t mode, dev_t dev)
{
	return mknodat(AT_FDCWD, path, mode, dev);
}

SHIM_API int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	if (ver != 0) { /* _MKNOD_VER */
		errno = EINVAL;
		return -1;
	}
	return mknodat(AT_FDCWD, path, mode, dev ? *dev : 0);
}

SHIM_API int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	if (ver != 0) {
		errno = EINVAL;
		return -1;
	}
	return mknodat(dirfd, path, mode, dev ? *dev : 0);
}

SHIM_API int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	if (likely(!path_maybe_umfs(dirfd, path)))
		return SYS(mkfifoat)(dirfd, path, mode);
	SHIM_SERVE();
	return mknodat(dirfd, path, S_IFIFO | (mode & 07777), 0);
}

SHIM_API int mkfifo(const char *path, mode_t mode)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(mkfifo)(path, mode);
	SHIM_SERVE();
	return mknodat(AT_FDCWD, path, S_IFIFO | (mode & 07777), 0);
}

/* ------------------------------------------------------------------ */
/* unlink, rmdir, remove                                                */
/* ------------------------------------------------------------------ */

static long unlink_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	int r;

	if (!(*(int *)arg & AT_REMOVEDIR))
		return umfs_unlink(fs, path);
	r = umfs_rmdir(fs, path);
	if (r == 0)
		shim_dir_epoch_bump(); /* a held directory may be gone */
	return r;
}

static long unlink_kernel(int dirfd, const char *path, void *arg)
{
	return SYS(unlinkat)(dirfd, path, *(int *)arg) < 0 ? -errno : 0;
}

static const struct path_ops unlink_ops = { unlink_umfs, unlink_kernel, NULL, true, false };

SHIM_API int unlinkat(int dirfd, const char *path, int flags)
{
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(unlink, "\"%s\"", path ? path : "(null)");
		return SYS(unlinkat)(dirfd, path, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = (flags & ~AT_REMOVEDIR) ? -EINVAL : (int)path_run(dirfd, path, &unlink_ops, &flags);
	if (flags & AT_REMOVEDIR)
		TRACE_SERVED(rmdir, r, t0, "\"%s\"", path);
	else
		TRACE_SERVED(unlink, r, t0, "\"%s\"", path);
	return (int)shim_ret(r);
}

SHIM_API int unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

SHIM_API int rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

SHIM_API int remove(const char *path)
{
	int flags = 0, r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(remove)(path);
	SHIM_SERVE();
	r = (int)path_run(AT_FDCWD, path, &unlink_ops, &flags);
	if (r == -EISDIR) {
		flags = AT_REMOVEDIR;
		r = (int)path_run(AT_FDCWD, path, &unlink_ops, &flags);
	}
	TRACE_SERVED(unlink, r, 0, "\"%s\" (remove)", path);
	return (int)shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* Two paths: rename, link                                              */
/* ------------------------------------------------------------------ */

struct two_ops {
	long (*umfs)(struct umfs_fs *fs, const char *a, const char *b, void *arg);
	long (*kernel)(int d1, const char *p1, int d2, const char *p2, void *arg);
	bool link; /* link looks up the old name whole and wants the new one free */
};

/* stat (flags: AT_SYMLINK_NOFOLLOW or 0) of u, or of its parent when
 * parent: in UMFS or in the kernel, whichever u is. 0 or -errno. */
static int cross_stat(struct umfs_fs *fs, const struct upath *u, bool parent, int flags,
		      struct stat *st)
{
	char dir[PATH_MAX];
	const char *path = u->kind == UP_UMFS ? u->buf : u->kpath;
	size_t n = strlen(path);
	int err;

	if (parent) {
		/* the name's directory: what is left without its last component */
		while (n > 1 && path[n - 1] == '/')
			n--;
		while (n > 0 && path[n - 1] != '/')
			n--;
		if (n == 0)
			memcpy(dir, ".", 2);
		else {
			memcpy(dir, path, n);
			dir[n] = '\0';
		}
		path = dir;
		flags = 0;
	}
	if (u->kind != UP_UMFS)
		return SYS(fstatat)(u->kdirfd, path, st, flags) < 0 ? -errno : 0;
	path_use(u, NULL);
	err = umfs_stat(fs, path, st, flags);
	return err == -UMFS_EXTERNAL ? 0 : err; /* left the pool: the kernel's to judge */
}

/* A link or rename from one side of the mount boundary to the other: the
 * kernel looks the names up before it compares their mounts, so what
 * those lookups find comes before EXDEV. rename looks up each name's
 * directory; link the old name itself, then the new one's directory and
 * whether the name is taken. */
static int cross_lookups(struct umfs_fs *fs, const struct upath u[2], bool link)
{
	struct stat st;
	int err;

	err = cross_stat(fs, &u[0], !link, AT_SYMLINK_NOFOLLOW, &st);
	if (!err && !link && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (!err)
		err = cross_stat(fs, &u[1], true, 0, &st);
	if (!err && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (!err && link) {
		const char *p = u[1].kind == UP_UMFS ? u[1].buf : u[1].kpath;

		err = cross_stat(fs, &u[1], false, AT_SYMLINK_NOFOLLOW, &st);
		if (err == 0)
			err = -EEXIST;
		else if (err == -ENOENT && p[0] && p[strlen(p) - 1] != '/')
			err = 0;
	}
	return err;
}

static void fd_kind_to_kernel(struct upath *u, int dirfd, const char *path)
{
	if (u->kind == UP_FD) {
		u->kind = UP_KERNEL;
		u->kdirfd = dirfd;
		u->kpath = path;
	}
}

static long two_path_run(int d1, const char *p1, int d2, const char *p2,
			 const struct two_ops *ops, void *arg)
{
	struct upath *u = malloc(2 * sizeof(*u));
	struct umfs_fs *fs;
	struct stat st;
	int k1, k2, err;
	long r;

	if (!u)
		return -ENOMEM;
	k1 = path_resolve(d1, p1, &u[0]);
	k2 = path_resolve(d2, p2, &u[1]);
	for (;;) {
		if (k1 < 0 || k2 < 0) {
			r = k1 < 0 ? k1 : k2;
			break;
		}
		if (k1 == UP_FD) {
			fd_kind_to_kernel(&u[0], d1, p1);
			k1 = UP_KERNEL;
		}
		if (k2 == UP_FD) {
			fd_kind_to_kernel(&u[1], d2, p2);
			k2 = UP_KERNEL;
		}
		if (k1 == UP_KERNEL && k2 == UP_KERNEL) {
			r = ops->kernel(u[0].kdirfd, u[0].kpath, u[1].kdirfd, u[1].kpath, arg);
			break;
		}
		if (k1 != k2) {
			/* across the mount boundary; a bad directory descriptor first */
			struct upath *k = k1 == UP_KERNEL ? &u[0] : &u[1];

			if (k->kpath[0] != '/' && k->kdirfd != AT_FDCWD &&
			    SYS(fcntl)(k->kdirfd, F_GETFD) < 0) {
				r = -EBADF;
				break;
			}
		}
		fs = shim_fs(&err);
		if (!fs) {
			r = err;
			break;
		}
		pool_lock();
		if (k1 != k2) {
			r = cross_lookups(fs, u, ops->link);
			pool_unlock_ro();
			if (!r)
				r = -EXDEV;
			break;
		}
		path_use(&u[0], &u[1]);
		r = ops->umfs(fs, u[0].buf, u[1].buf, arg);
		if (r == -UMFS_EXTERNAL) {
			/* which one left the pool? re-classify that one */
			bool e1, e2;

			path_use(&u[0], NULL);
			e1 = umfs_stat(fs, u[0].buf, &st, AT_SYMLINK_NOFOLLOW) == -UMFS_EXTERNAL;
			path_use(&u[1], NULL);
			e2 = umfs_stat(fs, u[1].buf, &st, AT_SYMLINK_NOFOLLOW) == -UMFS_EXTERNAL;
			if (e1) {
				path_use(&u[0], NULL);
				umfs_stat(fs, u[0].buf, &st, AT_SYMLINK_NOFOLLOW);
				k1 = path_external(&u[0]);
			}
			if (e2) {
				path_use(&u[1], NULL);
				umfs_stat(fs, u[1].buf, &st, AT_SYMLINK_NOFOLLOW);
				k2 = path_external(&u[1]);
			}
			pool_unlock_ro();
			if (!e1 && !e2) {
				r = -EXDEV;
				break;
			}
			continue;
		}
		pool_unlock();
		break;
	}
	free(u);
	return r;
}

static long rename_umfs(struct umfs_fs *fs, const char *a, const char *b, void *arg)
{
	int r = umfs_rename(fs, a, b, *(unsigned *)arg);

	if (r == 0)
		shim_dir_epoch_bump(); /* held directory paths may have moved */
	return r;
}

static long rename_kernel(int d1, const char *p1, int d2, const char *p2, void *arg)
{
	return SYS(renameat2)(d1, p1, d2, p2, *(unsigned *)arg) < 0 ? -errno : 0;
}

static const struct two_ops rename_ops = { rename_umfs, rename_kernel, false };

SHIM_API int renameat2(int d1, const char *p1, int d2, const char *p2, unsigned int flags)
{
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(d1, p1) && !path_maybe_umfs(d2, p2))) {
		TRACE_PASS(rename, "\"%s\", \"%s\"", p1 ? p1 : "", p2 ? p2 : "");
		return SYS(renameat2)(d1, p1, d2, p2, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		r = -EINVAL;
	else
		r = (int)two_path_run(d1, p1, d2, p2, &rename_ops, &flags);
	TRACE_SERVED(rename, r, t0, "\"%s\", \"%s\", %u", p1, p2, flags);
	return (int)shim_ret(r);
}

SHIM_API int renameat(int d1, const char *p1, int d2, const char *p2)
{
	if (likely(!path_maybe_umfs(d1, p1) && !path_maybe_umfs(d2, p2)))
		return SYS(renameat)(d1, p1, d2, p2);
	SHIM_SERVE();
	return renameat2(d1, p1, d2, p2, 0);
}

SHIM_API int rename(const char *p1, const char *p2)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, p1) && !path_maybe_umfs(AT_FDCWD, p2)))
		return SYS(rename)(p1, p2);
	SHIM_SERVE();
	return renameat2(AT_FDCWD, p1, AT_FDCWD, p2, 0);
}

static long link_umfs(struct umfs_fs *fs, const char *a, const char *b, void *arg)
{
	(void)arg;
	return umfs_link(fs, a, b);
}

static long link_kernel(int d1, const char *p1, int d2, const char *p2, void *arg)
{
	return SYS(linkat)(d1, p1, d2, p2, *(int *)arg) < 0 ? -errno : 0;
}

static const struct two_ops link_ops = { link_umfs, link_kernel, true };

/* linkat of an open UMFS file (AT_EMPTY_PATH, or /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW): the core links the inode itself. */
static int link_fd(int fd, int d2, const char *p2)
{
	struct ofd *o = fd_get_fast(fd);
	struct umfs_file *dev = NULL;
	struct umfs_fs *fs;
	struct upath up;
	int kind, r;

	if (!o) {
		/* a device node's descriptor: its UMFS node (one removed since
		 * has no name to give another: ENOENT, as the kernel's); any
		 * other kernel descriptor is the kernel's to link, in its name
		 * space only */
		r = devnode_file(fd, &dev);
		if (r == -ENOENT) {
			if (SYS(fcntl)(fd, F_GETFD) < 0)
				return -EBADF;
			kind = path_resolve(d2, p2, &up);
			if (kind == UP_UMFS || kind == UP_FD)
				return -EXDEV;
			return SYS(linkat)(fd, "", d2, p2, AT_EMPTY_PATH) < 0 ? -errno : 0;
		}
		if (r)
			return r == -ESTALE ? -ENOENT : r;
	}
	kind = path_resolve(d2, p2, &up);
	for (;;) {
		if (kind < 0) {
			r = kind;
			break;
		}
		if (kind != UP_UMFS) {
			r = -EXDEV;
			break;
		}
		fs = shim_fs(&r);
		if (!fs || (o && !o->uf)) {
			r = fs ? -EIO : r;
			break;
		}
		pool_lock();
		r = o ? umfs_link_file(o->uf, up.buf, o->tmpfile ? UMFS_LINK_ORPHAN : 0)
		      : umfs_link_file(dev, up.buf, 0);
		pool_unlock();
		if (r != -UMFS_EXTERNAL)
			break;
		kind = path_external(&up);
	}
	if (o) {
		if (r == 0)
			o->tmpfile = false;
		ofd_put(o);
	} else {
		pool_lock();
		umfs_close(dev);
		pool_unlock();
	}
	return r;
}

SHIM_API int linkat(int d1, const char *p1, int d2, const char *p2, int flags)
{
	char host[PATH_MAX], *real = NULL;
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(d1, p1) && !path_maybe_umfs(d2, p2) &&
		   !((flags & AT_EMPTY_PATH) && path_empty(p1) &&
		     (uinfo_peek(d1) != NULL || (devnode_any() && devnode_has(d1)))))) {
		TRACE_PASS(link, "\"%s\", \"%s\"", p1 ? p1 : "", p2 ? p2 : "");
		return SYS(linkat)(d1, p1, d2, p2, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
		r = -EINVAL;
		goto out;
	}
	if ((flags & AT_EMPTY_PATH) && path_empty(p1)) {
		r = link_fd(d1, d2, p2);
		goto out;
	} else if ((flags & AT_SYMLINK_FOLLOW) && path_maybe_umfs(d1, p1)) {
		/* link to what the symlink names: resolve it to a host path first */
		struct upath up;
		struct stat st;
		int kind;

		/* the kernel looks the old name up first, following: its errors
		 * come before the new name's, a directory it may not search
		 * included, which realpath's lexical "d/." -> "d" would skip */
		r = shim_fstatat(d1, p1, &st, 0);
		if (r)
			goto out;
		kind = path_resolve(d1, p1, &up);

		if (kind == UP_FD) {
			r = link_fd(up.fd, d2, p2);
			goto out;
		}
		if (kind == UP_UMFS) {
			char pool[PATH_MAX];
			struct umfs_fs *fs = shim_fs(&r);

			if (fs)
				r = path_absolute(fs, &up, pool, sizeof(pool));
			if (!r)
				r = path_to_host(pool, host, sizeof(host));
			if (r)
				goto out;
			p1 = host;
		}
		real = shim_realpath(p1, NULL);
		if (!real) {
			r = -errno;
			goto out;
		}
		p1 = real;
		d1 = AT_FDCWD;
	}
	flags &= ~AT_EMPTY_PATH;
	r = (int)two_path_run(d1, p1, d2, p2, &link_ops, &flags);
out:
	free(real);
	TRACE_SERVED(link, r, t0, "\"%s\", \"%s\"", p1 ? p1 : "", p2 ? p2 : "");
	return (int)shim_ret(r);
}

SHIM_API int link(const char *p1, const char *p2)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, p1) && !path_maybe_umfs(AT_FDCWD, p2)))
		return SYS(link)(p1, p2);
	SHIM_SERVE();
	return linkat(AT_FDCWD, p1, AT_FDCWD, p2, 0);
}

/* ------------------------------------------------------------------ */
/* symlink, readlink                                                    */
/* ------------------------------------------------------------------ */

static long symlink_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	return umfs_symlink(fs, arg, path);
}

static long symlink_kernel(int dirfd, const char *path, void *arg)
{
	return SYS(symlinkat)(arg, dirfd, path) < 0 ? -errno : 0;
}

static const struct path_ops symlink_ops = { symlink_umfs, symlink_kernel, NULL, true, false };

SHIM_API int symlinkat(const char *target, int dirfd, const char *path)
{
	uint64_t t0;
	int r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(symlink, "\"%s\"", path ? path : "(null)");
		return SYS(symlinkat)(target, dirfd, path);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	/* the target is copied in first, as the kernel does */
	r = target && shim_probe_strnlen(target, PATH_MAX) >= 0
		    ? (int)path_run(dirfd, path, &symlink_ops, (void *)target)
		    : -EFAULT;
	TRACE_SERVED(symlink, r, t0, "\"%s\" -> \"%s\"", path, target ? target : "");
	return (int)shim_ret(r);
}

SHIM_API int symlink(const char *target, const char *path)
{
	return symlinkat(target, AT_FDCWD, path);
}

struct readlink_arg {
	char *buf;
	size_t size;
};

static long readlink_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct readlink_arg *a = arg;

	return umfs_readlink(fs, path, a->buf, a->size);
}

static long readlink_kernel(int dirfd, const char *path, void *arg)
{
	struct readlink_arg *a = arg;
	ssize_t n = SYS(readlinkat)(dirfd, path, a->buf, a->size);

	return n < 0 ? -errno : n;
}

/* Whether the kernel's d_path would mark the name o was opened by
 * " (deleted)": the file has no name left, or it is an O_TMPFILE's "#INO"
 * (never a name in the directory, even once linkat gave the file one). */
static bool byfd_deleted(struct ofd *o)
{
	const char *base = strrchr(o->sh->path, '/');
	char tmpname[32];
	struct stat st;

	if (umfs_fstat(o->uf, &st))
		return false;
	snprintf(tmpname, sizeof(tmpname), "/#%llu", (unsigned long long)st.st_ino);
	return st.st_nlink == 0 || (base && strcmp(base, tmpname) == 0);
}

/* /proc/self/fd/N of a UMFS descriptor links to the file's UMFS path. */
static long readlink_byfd(int fd, void *arg)
{
	static const char deleted[] = " (deleted)";
	struct readlink_arg *a = arg;
	struct ofd *o = fd_get_fast(fd);
	char host[PATH_MAX + sizeof(deleted)];
	size_t n;
	int err;

	if (!o)
		return PATH_RUN_KERNEL;
	/* no path kept (longer than PATH_MAX): as the kernel's d_path */
	err = o->sh->path[0] ? path_to_host(o->sh->path, host, PATH_MAX) : -ENAMETOOLONG;
	if (!err && byfd_deleted(o))
		strcat(host, deleted);
	ofd_put(o);
	if (err)
		return err;
	n = strlen(host);
	if (n > a->size)
		n = a->size;
	memcpy(a->buf, host, n);
	return (long)n;
}

static const struct path_ops readlink_ops = { readlink_umfs, readlink_kernel, readlink_byfd,
					      false, false };

/* readlinkat(fd, "") of an O_PATH descriptor on a UMFS symlink */
static ssize_t readlink_fd(int fd, char *buf, size_t size)
{
	struct ofd *o = fd_get_fast(fd);
	struct umfs_fs *fs;
	ssize_t r;
	int err;

	if (!o)
		return SYS(readlinkat)(fd, "", buf, size) < 0 ? -errno : 0;
	fs = shim_fs(&err);
	if (!fs) {
		r = err;
	} else if (o->type != S_IFLNK) {
		r = -ENOENT;
	} else {
		pool_lock();
		r = umfs_readlink(fs, o->sh->path, buf, size);
		pool_unlock_ro();
	}
	ofd_put(o);
	return r;
}

/* buf is the caller's: filled once the link is read, as the kernel's
 * copy-out (EFAULT after the lookup's own errors). */
ssize_t shim_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	char res[PATH_MAX];
	struct readlink_arg a = { res, size < sizeof(res) ? size : sizeof(res) };
	ssize_t r;

	if (size == 0)
		return -EINVAL;
	if (path_empty(path) && dirfd != AT_FDCWD && uinfo_peek(dirfd) != NULL)
		r = readlink_fd(dirfd, res, a.size);
	else
		r = path_run(dirfd, path, &readlink_ops, &a);
	if (r > 0) {
		int err = user_copy_out(buf, res, (size_t)r);

		if (err)
			return err;
	}
	return r;
}

SHIM_API ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	uint64_t t0;
	ssize_t r;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(readlink, "\"%s\"", path ? path : "(null)");
		return SYS(readlinkat)(dirfd, path, buf, size);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = shim_readlinkat(dirfd, path, buf, size);
	TRACE_SERVED(readlink, r, t0, "\"%s\"", path);
	return shim_ret(r);
}

SHIM_API ssize_t readlink(const char *path, char *buf, size_t size)
{
	return readlinkat(AT_FDCWD, path, buf, size);
}

SHIM_API ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		abort();
	return readlinkat(AT_FDCWD, path, buf, size);
}

SHIM_API ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size,
				  size_t buflen)
{
	if (size > buflen)
		abort();
	return readlinkat(dirfd, path, buf, size);
}

/* ------------------------------------------------------------------ */
/* realpath: component by component, through the shim's lstat/readlink   */
/* ------------------------------------------------------------------ */

char *shim_realpath(const char *path, char *resolved)
{
	char out[PATH_MAX], rest[2 * PATH_MAX], link[PATH_MAX];
	size_t olen = 0;
	unsigned links = 0;
	const char *p;
	char *res;
	int err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (!*path) {
		errno = ENOENT;
		return NULL;
	}
	if (strlen(path) >= sizeof(rest)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (path[0] != '/') {
		if (!getcwd(out, sizeof(out)))
			return NULL;
		olen = strlen(out);
		if (olen == 1)
			olen = 0;
	}
	strcpy(rest, path);
	p = rest;
	for (;;) {
		const char *c;
		size_t clen;
		struct stat st;
		ssize_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		clen = strcspn(p, "/");
		p += clen;
		if (clen == 1 && c[0] == '.')
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--;
			continue;
		}
		if (olen + 1 + clen + 1 > sizeof(out)) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		out[olen] = '/';
		memcpy(out + olen + 1, c, clen);
		out[olen + 1 + clen] = '\0';
		err = shim_fstatat(AT_FDCWD, out, &st, AT_SYMLINK_NOFOLLOW);
		if (err) {
			errno = -err;
			return NULL;
		}
		if (S_ISLNK(st.st_mode)) {
			size_t rl;

			if (++links > 40) {
				errno = ELOOP;
				return NULL;
			}
			n = shim_readlinkat(AT_FDCWD, out, link, sizeof(link) - 1);
			if (n < 0) {
				errno = (int)-n;
				return NULL;
			}
			link[n] = '\0';
			rl = strlen(p);
			if ((size_t)n + 1 + rl + 1 > sizeof(rest)) {
				errno = ENAMETOOLONG;
				return NULL;
			}
			if (rl) {
				memmove(rest + n + 1, p, rl + 1);
				rest[n] = '/';
			} else {
				rest[n] = '\0';
			}
			memcpy(rest, link, (size_t)n);
			p = rest;
			if (link[0] == '/')
				olen = 0;
			else
				out[olen] = '\0'; /* drop the link's own name */
			continue;
		}
		olen += 1 + clen;
		if (!S_ISDIR(st.st_mode) && *p == '/') {
			errno = ENOTDIR; /* more components, or a trailing slash, after a file */
			return NULL;
		}
	}
	if (olen == 0) {
		out[0] = '/';
		olen = 1;
	}
	out[olen] = '\0';
	if (resolved) {
		memcpy(resolved, out, olen + 1);
		return resolved;
	}
	res = strdup(out);
	if (!res)
		errno = ENOMEM;
	return res;
}

SHIM_API char *realpath(const char *path, char *resolved)
{
	char *r;
	int saved = errno;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(realpath, "\"%s\"", path ? path : "(null)");
		return SYS(realpath)(path, resolved);
	}
	SHIM_SERVE();
	r = shim_realpath(path, resolved);
	TRACE_SERVED(realpath, r ? 0 : -errno, 0, "\"%s\"", path);
	if (r)
		errno = saved;
	return r;
}

SHIM_API char *__realpath_chk(const char *path, char *resolved, size_t reslen)
{
	if (resolved && reslen < PATH_MAX)
		abort();
	return realpath(path, resolved);
}

SHIM_API char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* ------------------------------------------------------------------ */
/* Temporary names                                                       */
/* ------------------------------------------------------------------ */

static void random_letters(char *x, size_t n)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)stats_now() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)x;
	for (size_t i = 0; i < n; i++) {
		x[i] = letters[v % 62];
		v /= 62;
		if (v < 62)
			v ^= (uint64_t)stats_now() * 0x9E3779B97F4A7C15ull;
	}
}

enum temp_kind { TEMP_FILE, TEMP_DIR, TEMP_NAME };

/* glibc's __gen_tempname, through the shim: returns fd (TEMP_FILE) or 0. */
static int gen_temp(char *tmpl, int suffixlen, int flags, enum temp_kind kind)
{
	size_t len = strlen(tmpl);
	char *x;

	if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
	    memcmp(tmpl + len - suffixlen - 6, "XXXXXX", 6) != 0)
		return -EINVAL;
	x = tmpl + len - suffixlen - 6;
	for (int tries = 0; tries < 62 * 62 * 62; tries++) {
		struct stat st;
		int r;

		random_letters(x, 6);
		switch (kind) {
		case TEMP_FILE:
			r = shim_open(AT_FDCWD, tmpl,
				      (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
			break;
		case TEMP_DIR:
			r = mkdir(tmpl, 0700) < 0 ? -errno : 0;
			break;
		default:
			r = shim_fstatat(AT_FDCWD, tmpl, &st, AT_SYMLINK_NOFOLLOW);
			if (r == -ENOENT)
				return 0;
			if (r == 0)
				r = -EEXIST;
			break;
		}
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

static int mkstemp_common(char *tmpl, int suffixlen, int flags)
{
	int r;

	r = gen_temp(tmpl, suffixlen, flags, TEMP_FILE);
	TRACE_SERVED(mkstemp, r, 0, "\"%s\"", tmpl);
	return (int)shim_ret(r);
}

SHIM_API int mkstemp(char *tmpl)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl))) {
		fd_unpark_all();
		return SYS(mkstemp)(tmpl);
	}
	SHIM_SERVE();
	return mkstemp_common(tmpl, 0, 0);
}

SHIM_API int mkostemp(char *tmpl, int flags)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl))) {
		fd_unpark_all();
		return SYS(mkostemp)(tmpl, flags);
	}
	SHIM_SERVE();
	return mkstemp_common(tmpl, 0, flags);
}

SHIM_API int mkstemps(char *tmpl, int suffixlen)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl))) {
		fd_unpark_all();
		return SYS(mkstemps)(tmpl, suffixlen);
	}
	SHIM_SERVE();
	return mkstemp_common(tmpl, suffixlen, 0);
}

SHIM_API int mkostemps(char *tmpl, int suffixlen, int flags)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl))) {
		fd_unpark_all();
		return SYS(mkostemps)(tmpl, suffixlen, flags);
	}
	SHIM_SERVE();
	return mkstemp_common(tmpl, suffixlen, flags);
}

SHIM_API char *mkdtemp(char *tmpl)
{
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl)))
		return SYS(mkdtemp)(tmpl);
	SHIM_SERVE();
	r = gen_temp(tmpl, 0, 0, TEMP_DIR);
	TRACE_SERVED(mkstemp, r, 0, "\"%s\" (mkdtemp)", tmpl);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return tmpl;
}

SHIM_API char *mktemp(char *tmpl)
{
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, tmpl)))
		return SYS(mktemp)(tmpl);
	SHIM_SERVE();
	r = gen_temp(tmpl, 0, 0, TEMP_NAME);
	if (r < 0) {
		errno = -r;
		tmpl[0] = '\0';
	}
	return tmpl;
}
