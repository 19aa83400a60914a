/* SPDX-License-Identifier: MIT */
/*
 * calls_dir.c - directories: DIR streams (opendir, fdopendir, readdir,
 * readdir_r, rewinddir, telldir, seekdir, closedir, dirfd), getdents64,
 * the cwd (chdir, fchdir, getcwd, get_current_dir_name), and the glibc
 * functions that walk directories with internal calls: scandir, glob,
 * nftw, ftw.
 *
 * A UMFS DIR is the shim's own structure; it starts with an int of -1
 * (where glibc's DIR has its descriptor) and a magic number, so every DIR
 * call can tell the two apart. Its descriptor (dirfd) is a UMFS descriptor
 * like any other, so fts-style code (openat, fstatat on dirfd) works.
 */
#include <ftw.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define SHIM_DIR_MAGIC 0x5249444D46534D55ull /* "UMFSMDIR" */

struct shim_dir {
	int not_fd;          /* -1: glibc's DIR has its (valid) fd here */
	uint32_t pad;
	uint64_t magic;
	int fd;
	pthread_mutex_t lock;
	struct umfs_dir *d;
	struct dirent ent;
};

static inline struct shim_dir *as_shim_dir(DIR *dir)
{
	struct shim_dir *sd = (struct shim_dir *)dir;

	if (dir && sd->not_fd == -1 && sd->magic == SHIM_DIR_MAGIC)
		return sd;
	return NULL;
}

static DIR *dir_from_fd(int fd, struct ofd *o, int *errp)
{
	struct shim_dir *sd;
	int err;

	if (!o->uf) {
		*errp = -EIO;
		return NULL;
	}
	if (o->type != S_IFDIR) {
		*errp = -ENOTDIR;
		return NULL;
	}
	sd = calloc(1, sizeof(*sd));
	if (!sd) {
		*errp = -ENOMEM;
		return NULL;
	}
	/* an O_PATH descriptor makes a stream whose reads fail, as glibc's */
	pool_lock();
	err = (atomic_load(&o->sh->flags) & O_PATH) ? 0 : umfs_fopendir(o->uf, &sd->d);
	pool_unlock_ro();
	if (err) {
		free(sd);
		*errp = err;
		return NULL;
	}
	sd->not_fd = -1;
	sd->magic = SHIM_DIR_MAGIC;
	sd->fd = fd;
	pthread_mutex_init(&sd->lock, NULL);
	return (DIR *)sd;
}

DIR *shim_opendir(const char *path)
{
	struct ofd *o;
	DIR *d;
	int fd, err;

	fd = shim_open(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	o = fd_get_fast(fd);
	if (!o) /* the path led out of the pool: a kernel directory */
		return SYS(fdopendir)(fd);
	d = dir_from_fd(fd, o, &err);
	ofd_put(o);
	if (!d) {
		shim_close(fd);
		errno = -err;
	}
	return d;
}

SHIM_API DIR *opendir(const char *path)
{
	DIR *d;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(opendir, "\"%s\"", path ? path : "(null)");
		fd_unpark_all();
		return SYS(opendir)(path);
	}
	SHIM_SERVE();
	d = shim_opendir(path);
	TRACE_SERVED(opendir, d ? 0 : -errno, 0, "\"%s\"", path);
	return d;
}

SHIM_API DIR *fdopendir(int fd)
{
	struct ofd *o = fd_get_fast(fd);
	DIR *d;
	int err = 0;

	if (likely(o == NULL)) {
		TRACE_PASS(opendir, "%d", fd);
		return SYS(fdopendir)(fd);
	}
	SHIM_SERVE();
	d = dir_from_fd(fd, o, &err);
	ofd_put(o);
	TRACE_SERVED(opendir, err, 0, "%d (fdopendir)", fd);
	if (!d)
		errno = -err;
	return d;
}

/* 1 with sd->ent filled, 0 at the end, -errno. errno is the caller's
 * on 0 and 1: a program tells the end of a directory from an error by an
 * errno that readdir left alone. */
static int dir_next(struct shim_dir *sd)
{
	struct umfs_dirent e;
	int r, saved = errno;

	if (!sd->d)
		return -EBADF;
	pool_lock();
	r = umfs_readdir(sd->d, &e);
	pool_unlock_ro();
	errno = saved;
	if (r <= 0)
		return r;
	sd->ent.d_ino = e.ino;
	sd->ent.d_off = (off_t)e.next_cookie;
	sd->ent.d_reclen = sizeof(sd->ent);
	sd->ent.d_type = e.type;
	strncpy(sd->ent.d_name, e.name, sizeof(sd->ent.d_name) - 1);
	sd->ent.d_name[sizeof(sd->ent.d_name) - 1] = '\0';
	return 1;
}

struct dirent *shim_readdir(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);
	int r;

	if (!sd)
		return SYS(readdir)(dir);
	pthread_mutex_lock(&sd->lock);
	r = dir_next(sd);
	pthread_mutex_unlock(&sd->lock);
	if (r < 0)
		errno = -r;
	return r > 0 ? &sd->ent : NULL;
}

SHIM_API struct dirent *readdir(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);
	struct dirent *e;

	if (likely(!sd))
		return SYS(readdir)(dir);
	SHIM_SERVE();
	e = shim_readdir(dir);
	TRACE_SERVED(readdir, e ? 1 : 0, 0, "%d", sd->fd);
	return e;
}

SHIM_API int readdir_r(DIR *dir, struct dirent *entry, struct dirent **result)
{
	struct shim_dir *sd = as_shim_dir(dir);
	int r;

	if (likely(!sd)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		return SYS(readdir_r)(dir, entry, result);
#pragma GCC diagnostic pop
	}
	SHIM_SERVE();
	pthread_mutex_lock(&sd->lock);
	r = dir_next(sd);
	if (r > 0) {
		memcpy(entry, &sd->ent, sizeof(*entry));
		*result = entry;
	} else {
		*result = NULL;
	}
	pthread_mutex_unlock(&sd->lock);
	return r < 0 ? -r : 0;
}

SHIM_API void rewinddir(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);

	if (likely(!sd)) {
		SYS(rewinddir)(dir);
		return;
	}
	SHIM_SERVE();
	pthread_mutex_lock(&sd->lock);
	if (sd->d)
		umfs_seekdir(sd->d, 0);
	pthread_mutex_unlock(&sd->lock);
}

SHIM_API long telldir(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);
	long pos;

	if (likely(!sd))
		return SYS(telldir)(dir);
	SHIM_SERVE();
	pthread_mutex_lock(&sd->lock);
	pos = sd->d ? (long)umfs_telldir(sd->d) : 0;
	pthread_mutex_unlock(&sd->lock);
	return pos;
}

SHIM_API void seekdir(DIR *dir, long pos)
{
	struct shim_dir *sd = as_shim_dir(dir);

	if (likely(!sd)) {
		SYS(seekdir)(dir, pos);
		return;
	}
	SHIM_SERVE();
	pthread_mutex_lock(&sd->lock);
	if (sd->d)
		umfs_seekdir(sd->d, (uint64_t)pos);
	pthread_mutex_unlock(&sd->lock);
}

int shim_closedir(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);
	int fd;

	if (!sd)
		return SYS(closedir)(dir) < 0 ? -errno : 0;
	pool_lock();
	if (sd->d)
		umfs_closedir(sd->d);
	pool_unlock_ro();
	fd = sd->fd;
	sd->magic = 0;
	pthread_mutex_destroy(&sd->lock);
	free(sd);
	return shim_close(fd);
}

SHIM_API int closedir(DIR *dir)
{
	int r;

	if (likely(!as_shim_dir(dir))) {
		if (!dir) {
			errno = EINVAL;
			return -1;
		}
		fd_note_free(SYS(dirfd)(dir));
		return SYS(closedir)(dir);
	}
	SHIM_SERVE();
	r = shim_closedir(dir);
	TRACE_SERVED(closedir, r, 0, "%p", (void *)dir);
	return (int)shim_ret(r);
}

SHIM_API int dirfd(DIR *dir)
{
	struct shim_dir *sd = as_shim_dir(dir);

	return likely(!sd) ? SYS(dirfd)(dir) : sd->fd;
}

/* ------------------------------------------------------------------ */
/* getdents64                                                           */
/* ------------------------------------------------------------------ */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static ssize_t ofd_getdents(struct ofd *o, void *buf, size_t len)
{
	struct umfs_dirent e;
	size_t used = 0;
	ssize_t r = 0;

	if (!o->uf)
		return -EIO;
	if (o->type != S_IFDIR)
		return -ENOTDIR;
	if (user_writable(buf, len))
		return -EFAULT;
	pthread_mutex_lock(&o->dlock);
	if (!o->dir) {
		pool_lock();
		r = umfs_fopendir(o->uf, &o->dir);
		pool_unlock_ro();
		if (r) {
			pthread_mutex_unlock(&o->dlock);
			return r;
		}
	}
	ofd_lock(o);
	umfs_seekdir(o->dir, o->sh->pos);
	for (;;) {
		uint64_t before = umfs_telldir(o->dir);
		struct linux_dirent64 *d;
		size_t nl, reclen;

		pool_lock();
		r = umfs_readdir(o->dir, &e);
		pool_unlock_ro();
		if (r <= 0)
			break;
		nl = strlen(e.name);
		reclen = (offsetof(struct linux_dirent64, d_name) + nl + 1 + 7) & ~(size_t)7;
		if (used + reclen > len) {
			umfs_seekdir(o->dir, before);
			r = used ? 0 : -EINVAL;
			break;
		}
		d = (struct linux_dirent64 *)((char *)buf + used);
		d->d_ino = e.ino;
		d->d_off = (int64_t)e.next_cookie;
		d->d_reclen = (unsigned short)reclen;
		d->d_type = e.type;
		memcpy(d->d_name, e.name, nl + 1);
		used += reclen;
	}
	o->sh->pos = umfs_telldir(o->dir);
	ofd_unlock(o);
	pthread_mutex_unlock(&o->dlock);
	/* entries before a damaged one first: the next call meets the
	 * damage (the core left the position on it) */
	return r < 0 && used == 0 ? r : (ssize_t)used;
}

SHIM_API ssize_t getdents64(int fd, void *buf, size_t len)
{
	struct ofd *o = fd_get_fast(fd);
	ssize_t r;

	if (likely(o == NULL))
		return SYS(getdents64)(fd, buf, len);
	SHIM_SERVE();
	r = ofd_getdents(o, buf, len);
	ofd_put(o);
	TRACE_SERVED(getdents64, r, 0, "%d", fd);
	return shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* cwd                                                                  */
/* ------------------------------------------------------------------ */

/* Makes directory uf (open O_PATH) the cwd if the caller may search it;
 * the cwd owns uf then, else it is closed (pool lock held). */
static int chdir_file(struct umfs_fs *fs, struct umfs_file *uf)
{
	uint64_t ino;
	uint32_t gen;
	int err;

	umfs_file_id(uf, &ino, &gen);
	/* "." from the directory: the walk checks search permission on it */
	umfs_walk_from(fs, ino, gen, 0, 0);
	err = umfs_access(fs, ".", X_OK);
	if (err) {
		umfs_close(uf);
		return err;
	}
	registry_add(ino, 1);
	return 0;
}

/* chdir to a UMFS path: the directory is found and held by the core (from
 * the cwd's inode for a relative path), never through a host path. */
static int chdir_umfs(struct upath *up)
{
	struct umfs_file *uf;
	struct umfs_fs *fs;
	int kind = UP_UMFS, err;

	for (;;) {
		if (kind < 0)
			return kind;
		if (kind == UP_KERNEL) {
			err = SYS(chdir)(up->kpath) < 0 ? -errno : 0;
			if (!err)
				cwd_leave_umfs();
			return err;
		}
		fs = shim_fs(&err);
		if (!fs)
			return err;
		pool_lock();
		err = umfs_open(fs, up->buf, O_PATH | O_DIRECTORY, 0, &uf);
		if (!err)
			err = chdir_file(fs, uf);
		pool_unlock();
		if (err != -UMFS_EXTERNAL)
			break;
		kind = path_external(up);
	}
	if (!err)
		cwd_set_file(fs, uf);
	return err;
}

SHIM_API int chdir(const char *path)
{
	struct upath up;
	uint64_t t0;
	int r, kind;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(chdir, "\"%s\"", path ? path : "(null)");
		r = SYS(chdir)(path);
		if (r == 0)
			cwd_leave_umfs();
		return r;
	}
	SHIM_SERVE();
	t0 = stats_t0();
	kind = path_resolve(AT_FDCWD, path, &up);
	if (kind == UP_KERNEL) {
		r = SYS(chdir)(up.kpath) < 0 ? -errno : 0;
		if (!r)
			cwd_leave_umfs();
	} else if (kind == UP_UMFS) {
		r = chdir_umfs(&up);
	} else if (kind == UP_FD) {
		r = fchdir(up.fd) < 0 ? -errno : 0;
	} else {
		r = kind;
	}
	TRACE_SERVED(chdir, r, t0, "\"%s\"", path);
	return (int)shim_ret(r);
}

SHIM_API int fchdir(int fd)
{
	struct ofd *o = fd_get_fast(fd);
	struct umfs_file *uf = NULL;
	struct umfs_fs *fs = NULL;
	int r;

	if (likely(o == NULL)) {
		TRACE_PASS(chdir, "%d", fd);
		r = SYS(fchdir)(fd);
		if (r == 0)
			cwd_leave_umfs();
		return r;
	}
	SHIM_SERVE();
	if (o->type != S_IFDIR) {
		r = -ENOTDIR;
	} else if ((fs = shim_fs(&r)) != NULL) {
		pool_lock();
		r = umfs_open_id(fs, o->ino, o->gen, O_PATH | O_DIRECTORY, 0, &uf);
		if (!r)
			r = chdir_file(fs, uf);
		pool_unlock();
	}
	ofd_put(o);
	if (!r)
		cwd_set_file(fs, uf);
	TRACE_SERVED(chdir, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

SHIM_API char *getcwd(char *buf, size_t size)
{
	char tmp[PATH_MAX], *path = tmp, *path_long = NULL;
	size_t n;
	int r;

	if (likely(!atomic_load_explicit(&cwd_in_umfs, memory_order_relaxed)))
		return SYS(getcwd)(buf, size);
	SHIM_SERVE();
	r = cwd_get(tmp, sizeof(tmp));
	if (r == -ENAMETOOLONG) {
		/* as glibc, which walks ".." when the kernel's page is too small */
		r = cwd_get_long(&path_long);
		path = path_long;
	}
	if (r) {
		errno = -r;
		return NULL;
	}
	n = strlen(path) + 1;
	if (!buf) {
		/* glibc: allocate, at least size bytes when size is given */
		if (size && size < n) {
			r = -ERANGE;
		} else {
			buf = malloc(size > n ? size : n);
			if (!buf)
				r = -ENOMEM;
		}
	} else if (size == 0) {
		r = -EINVAL;
	} else if (size < n) {
		r = -ERANGE;
	} else if (user_writable(buf, n)) {
		r = -EFAULT;
	}
	if (!r)
		memcpy(buf, path, n);
	TRACE_SERVED(getcwd, r, 0, "\"%s\"", path);
	free(path_long);
	if (r) {
		errno = -r;
		return NULL;
	} else if (user_writable(buf, n)) {
		errno = EFAULT;
		return NULL;
	}
	return buf;
}

SHIM_API char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		abort();
	return getcwd(buf, size);
}

SHIM_API char *get_current_dir_name(void)
{
	const char *pwd = getenv("PWD");
	struct stat a, b;

	if (!atomic_load(&cwd_in_umfs) && pwd && stat(pwd, &a) == 0 && stat(".", &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return strdup(pwd);
	return getcwd(NULL, 0);
}

/* getwd: glibc's asks its own getcwd inside, which sees the kernel's
 * directory, not a UMFS one. The buffer's size is unknown: a directory
 * past PATH_MAX fails, the error's message in buf, as glibc's getwd. */
SHIM_API char *getwd(char *buf)
{
	char cwd[PATH_MAX];
	const char *msg;
	int e;

	if (!buf) {
		errno = EINVAL;
		return NULL;
	}
	if (getcwd(cwd, sizeof(cwd)))
		return strcpy(buf, cwd);
	e = errno;
	msg = strerror_r(e, buf, 1024); /* GNU: may not fill buf */
	if (msg != buf)
		snprintf(buf, 1024, "%s", msg);
	errno = e;
	return NULL;
}

/* A _FORTIFY_SOURCE build's getwd: the room is known, as getcwd's; a
 * directory past it is an overflow the C library stops at. */
SHIM_API char *__getwd_chk(char *buf, size_t buflen)
{
	char *r = getcwd(buf, buflen);

	if (!r && errno == ERANGE)
		__chk_fail();
	return r;
}

/* ------------------------------------------------------------------ */
/* scandir                                                              */
/* ------------------------------------------------------------------ */

typedef int (*scan_filter)(const struct dirent *);
typedef int (*scan_compar)(const struct dirent **, const struct dirent **);

/*
 * Program code that a walk calls back (scandir's filter and comparison,
 * nftw's and ftw's function) runs as between two of the program's own
 * calls: with the depth at 0, so that its signals' handlers run at once
 * and a lock wait in it ends at a signal, as in the C library's walks.
 * Nothing of the library is held across a callback, only the walk's own
 * memory and directory stream, which a handler that leaves by longjmp
 * strands as it would the C library's.
 */
static int scan_filter_call(scan_filter filter, const struct dirent *e)
{
	struct sig_allowed allowed = sig_allow_begin();
	int r = filter(e);

	sig_allow_end(allowed);
	return r;
}

static int scan_dir(DIR *d, struct dirent ***list, scan_filter filter, scan_compar compar)
{
	struct dirent **v = NULL, *e;
	size_t n = 0, cap = 0;
	int saved = errno;

	errno = 0;
	while ((e = shim_readdir(d)) != NULL) {
		struct dirent *copy;

		if (filter) {
			int keep = scan_filter_call(filter, e);

			errno = 0; /* what the filter left: the end shows as 0 */
			if (!keep)
				continue;
		}
		if (n == cap) {
			struct dirent **nv;

			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto fail;
			v = nv;
		}
		copy = malloc(sizeof(*copy));
		if (!copy)
			goto fail;
		memcpy(copy, e, sizeof(*copy));
		v[n++] = copy;
		errno = 0;
	}
	if (errno)
		goto fail;
	if (compar && n > 1) {
		/* qsort calls only compar back */
		struct sig_allowed allowed = sig_allow_begin();

		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))compar);
		sig_allow_end(allowed);
	}
	*list = v;
	errno = saved;
	return (int)n;
fail:
	saved = errno ? errno : ENOMEM;
	while (n)
		free(v[--n]);
	free(v);
	errno = saved;
	return -1;
}

SHIM_API int scandirat(int dirfd, const char *path, struct dirent ***list, scan_filter filter,
		       scan_compar compar)
{
	DIR *d;
	int fd, n;

	if (likely(!path_maybe_umfs(dirfd, path))) {
		TRACE_PASS(scandir, "\"%s\"", path ? path : "(null)");
		return SYS(scandirat)(dirfd, path, list, filter, compar);
	}
	SHIM_SERVE();
	fd = shim_open(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		shim_close(fd);
		errno = e;
		return -1;
	}
	n = scan_dir(d, list, filter, compar);
	if (n >= 0) {
		int e = errno;

		closedir(d);
		errno = e;
	} else {
		int e = errno;

		closedir(d);
		errno = e;
	}
	TRACE_SERVED(scandir, n, 0, "\"%s\"", path);
	return n;
}

SHIM_API int scandir(const char *path, struct dirent ***list, scan_filter filter,
		     scan_compar compar)
{
	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(scandir)(path, list, filter, compar);
	SHIM_SERVE();
	return scandirat(AT_FDCWD, path, list, filter, compar);
}

/* ------------------------------------------------------------------ */
/* glob: glibc's, with the shim's directory functions                   */
/* ------------------------------------------------------------------ */

static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static void *glob_readdir(void *d)
{
	return readdir(d);
}

static void glob_closedir(void *d)
{
	closedir(d);
}

static int glob_stat(const char *path, void *st)
{
	return stat(path, st);
}

static int glob_lstat(const char *path, void *st)
{
	return lstat(path, st);
}

static bool glob_maybe_umfs(const char *pattern)
{
	if (!pattern)
		return false;
	if (pattern[0] == '/')
		return path_maybe_umfs(AT_FDCWD, pattern);
	return atomic_load(&cwd_in_umfs);
}

SHIM_API int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
	int r;

	if (likely(!glob_maybe_umfs(pattern) || (flags & GLOB_ALTDIRFUNC))) {
		TRACE_PASS(glob, "\"%s\"", pattern ? pattern : "(null)");
		return SYS(glob)(pattern, flags, errfunc, g);
	}
	g->gl_opendir = glob_opendir;
	g->gl_readdir = (struct dirent * (*)(void *)) glob_readdir;
	g->gl_closedir = glob_closedir;
	g->gl_stat = (int (*)(const char *, struct stat *))glob_stat;
	g->gl_lstat = (int (*)(const char *, struct stat *))glob_lstat;
	r = SYS(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
	g->gl_flags &= ~GLOB_ALTDIRFUNC;
	TRACE_SERVED(glob, r == 0 ? (long)g->gl_pathc : -r, 0, "\"%s\"", pattern);
	return r;
}

/* ------------------------------------------------------------------ */
/* nftw and ftw on UMFS trees                                           */
/* ------------------------------------------------------------------ */

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*ftw_fn)(const char *, const struct stat *, int);

struct walk {
	nftw_fn fn;
	ftw_fn old_fn;
	int flags;
	dev_t dev;
	char path[PATH_MAX];
};

/* The program's function, at depth 0 (scan_filter_call). */
static int walk_call(struct walk *w, const struct stat *st, int type, int base, int level)
{
	struct FTW f = { .base = base, .level = level };
	struct sig_allowed allowed;
	int r;

	if (w->old_fn) {
		if (type == FTW_DP)
			type = FTW_D;
		if (type == FTW_SLN)
			type = FTW_NS;
	}
	allowed = sig_allow_begin();
	r = w->old_fn ? w->old_fn(w->path, st, type) : w->fn(w->path, st, type, &f);
	sig_allow_end(allowed);
	return r;
}

#define ACT(flags, r) (((flags) & FTW_ACTIONRETVAL) ? (r) : ((r) ? (r) : FTW_CONTINUE))

static int walk_tree(struct walk *w, size_t len, int base, int level)
{
	bool phys = w->flags & FTW_PHYS;
	struct stat st;
	int type, r;

	if ((phys ? lstat : stat)(w->path, &st) < 0) {
		if (!phys && lstat(w->path, &st) == 0 && S_ISLNK(st.st_mode))
			type = FTW_SLN;
		else
			type = FTW_NS;
	} else if (S_ISLNK(st.st_mode)) {
		type = FTW_SL;
	} else if (S_ISDIR(st.st_mode)) {
		type = FTW_D;
	} else {
		type = FTW_F;
	}
	if (level == 0 && type == FTW_NS)
		return -1; /* the root itself: errno from stat */
	if (level == 0)
		w->dev = st.st_dev;
	if (type == FTW_D && (w->flags & FTW_MOUNT) && st.st_dev != w->dev)
		return 0;
	if (type != FTW_D) {
		r = walk_call(w, &st, type, base, level);
		return (w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE ? 0 : r;
	}
	if (!(w->flags & FTW_DEPTH)) {
		r = walk_call(w, &st, FTW_D, base, level);
		if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE)
			return 0;
		if (r)
			return r;
	}
	{
		DIR *d = opendir(w->path);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, cap = 0;

		if (!d) {
			r = walk_call(w, &st, FTW_DNR, base, level);
			return (w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE ? 0 : r;
		}
		/* read the whole directory first: the callback may change it */
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (n == cap) {
				char **nv = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

				if (!nv)
					break;
				names = nv;
			}
			names[n] = strdup(e->d_name);
			if (names[n])
				n++;
		}
		closedir(d);
		r = 0;
		for (size_t i = 0; i < n; i++) {
			size_t nl = strlen(names[i]);

			if (r == 0 && len + 1 + nl < sizeof(w->path)) {
				w->path[len] = '/';
				memcpy(w->path + len + 1, names[i], nl + 1);
				r = walk_tree(w, len + 1 + nl, (int)len + 1, level + 1);
				w->path[len] = '\0';
				if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SIBLINGS)
					r = 0, i = n;
			}
			free(names[i]);
		}
		free(names);
		if (r)
			return r;
	}
	if (w->flags & FTW_DEPTH) {
		r = walk_call(w, &st, FTW_DP, base, level);
		if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE)
			return 0;
		return r;
	}
	return 0;
}

static int walk_start(struct walk *w, const char *dir)
{
	size_t len = strlen(dir);
	const char *slash;
	int r;

	if (len >= sizeof(w->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(w->path, dir, len + 1);
	while (len > 1 && w->path[len - 1] == '/')
		w->path[--len] = '\0';
	slash = strrchr(w->path, '/');
	r = walk_tree(w, len, slash && slash[1] ? (int)(slash - w->path + 1) : 0, 0);
	if ((w->flags & FTW_ACTIONRETVAL) && (r == FTW_SKIP_SUBTREE || r == FTW_SKIP_SIBLINGS))
		r = 0;
	return r;
}

SHIM_API int nftw(const char *dir, nftw_fn fn, int nopenfd, int flags)
{
	struct walk *w;
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, dir))) {
		TRACE_PASS(nftw, "\"%s\"", dir ? dir : "(null)");
		return SYS(nftw)(dir, (int (*)(const char *, const struct stat *, int, void *))fn,
				 nopenfd, flags);
	}
	SHIM_SERVE();
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return -1;
	}
	w->fn = fn;
	w->flags = flags & ~FTW_CHDIR; /* callbacks get full paths either way */
	r = walk_start(w, dir);
	free(w);
	TRACE_SERVED(nftw, r, 0, "\"%s\"", dir);
	return r;
}

SHIM_API int ftw(const char *dir, ftw_fn fn, int nopenfd)
{
	struct walk *w;
	int r;

	if (likely(!path_maybe_umfs(AT_FDCWD, dir)))
		return SYS(ftw)(dir, fn, nopenfd);
	SHIM_SERVE();
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return -1;
	}
	w->old_fn = fn;
	r = walk_start(w, dir);
	free(w);
	TRACE_SERVED(nftw, r, 0, "\"%s\" (ftw)", dir);
	return r;
}

