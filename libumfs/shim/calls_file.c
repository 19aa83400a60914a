/* SPDX-License-Identifier: MIT */
/*
 * calls_file.c - opening files and moving data: the open family, close,
 * read/write and their positional and vectored forms, lseek, truncate,
 * fallocate, fadvise, the fsync family, copy_file_range, sendfile, splice.
 *
 * Hot path: read(fd) on a descriptor that is not UMFS's costs one load of
 * U-info and a branch; on a UMFS file, a reference on the description, the
 * offset lock in the shared object, and the core's pread. Data reads take
 * no cross-process lock; writes take the pool lock (mount.c).
 */
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define OPEN_NEEDS_MODE(f) (((f) & O_CREAT) || ((f) & O_TMPFILE) == O_TMPFILE)

/* ------------------------------------------------------------------ */
/* open                                                                 */
/* ------------------------------------------------------------------ */

int shim_open_special_access(struct umfs_fs *fs, const char *path, int flags)
{
	int amode = 0, err;

	/* the kernel's may_open: the access mode, and O_TRUNC asks for write */
	if ((flags & O_ACCMODE) != O_WRONLY)
		amode |= R_OK;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		amode |= W_OK;
	pool_lock();
	err = umfs_access(fs, path, amode);
	pool_unlock_ro();
	return err;
}

/* A FIFO inside UMFS is backed by a host FIFO (fifo.c): the UMFS inode's
 * permissions first, then the host FIFO with the program's access mode. */
static int fifo_open(struct umfs_fs *fs, const char *path, int flags, const struct stat *st)
{
	struct sig_allowed allowed;
	int err, fd;

	err = shim_open_special_access(fs, path, flags);
	if (err)
		return err;
	/* the helper directory opened while the program's dup2 is held off
	 * (fdguard.c), which the wait below lets go of */
	fd = fifo_dir_get(fs);
	if (fd < 0)
		return fd;
	/* the program's own descriptor: the lowest number, its close-on-exec */
	fd_unpark_all();
	allowed = sig_allow_begin(); /* opening a FIFO waits for its other end */
	fd = fifo_host_open(fs, (uint64_t)st->st_ino,
			    flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY));
	sig_allow_end(allowed);
	if (fd >= 0 && !(flags & O_CLOEXEC))
		SYS(fcntl)(fd, F_SETFD, 0);
	return fd;
}

/* What the kernel says of an O_TMPFILE description: it created nothing
 * (F_CREATED_QUERY), its flags hold O_TMPFILE (F_GETFL), and its name is
 * "#INO" in the directory, which /proc/self/fd shows with " (deleted)" as
 * tmpfs does. */
static void tmpfile_unnamed(struct ofd *o)
{
	struct ofd_shared *sh = o->sh;
	char *slash = strrchr(sh->path, '/');
	size_t room = OFD_SLOT_SIZE - offsetof(struct ofd_shared, path);
	struct stat st;

	sh->created = OFD_TMPFILE;
	if (!slash || umfs_fstat(o->uf, &st))
		return;
	snprintf(slash + 1, room - (size_t)(slash + 1 - sh->path), "#%llu",
		 (unsigned long long)st.st_ino);
	sh->path_len = (uint32_t)strlen(sh->path);
}

/* O_TMPFILE: an unnamed file in the directory: created under a unique
 * name, which goes away at once. */
static int tmpfile_open(struct umfs_fs *fs, const char *dir, int flags, mode_t mode)
{
	static _Atomic unsigned counter;
	char path[PATH_MAX];
	struct stat st;
	int err, fd;

	pool_lock();
	err = umfs_stat(fs, dir, &st, 0);
	pool_unlock_ro();
	if (err)
		return err;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	for (int tries = 0; tries < 100; tries++) {
		int n = snprintf(path, sizeof(path), "%s/.umfs-tmpfile-%d-%u-%d",
				 strcmp(dir, "/") ? dir : "", (int)getpid(),
				 atomic_fetch_add(&counter, 1), tries);

		if (n < 0 || (size_t)n >= sizeof(path))
			return -ENAMETOOLONG;
		fd = shim_open_umfs(fs, path, (flags & ~(O_TMPFILE | O_DIRECTORY)) | O_CREAT | O_EXCL,
				    mode);
		if (fd == -EEXIST)
			continue;
		if (fd < 0)
			return fd;
		pool_lock();
		umfs_unlink(fs, path);
		pool_unlock();
		{
			struct ofd *o = fd_get_fast(fd);

			if (o) {
				tmpfile_unnamed(o);
				/* linkat(fd, "", ..., AT_EMPTY_PATH) may name it */
				o->tmpfile = !(flags & O_EXCL);
				ofd_put(o);
			}
		}
		return fd;
	}
	return -EEXIST;
}

/* O_TMPFILE in the directory rel names (from base under the resolve rules,
 * or a path from the root or the thread's start): found by the core, so
 * that its path from the root is known whatever the caller named it by. */
static int tmpfile_open_at(struct umfs_fs *fs, const char *base, const char *rel,
			   unsigned resolve, int flags, mode_t mode)
{
	char path[PATH_MAX];
	struct umfs_file *uf;
	uint64_t ino;
	uint32_t gen;
	int err;

	/* as the kernel, before the path: O_TMPFILE is for writing, and
	 * O_CREAT has no meaning with it */
	if ((flags & O_ACCMODE) == O_RDONLY || (flags & O_CREAT))
		return -EINVAL;
	pool_lock();
	err = umfs_open_resolve(fs, base, rel, resolve, O_PATH | O_DIRECTORY, 0, &uf);
	if (!err) {
		umfs_file_id(uf, &ino, &gen);
		err = umfs_dir_path(fs, ino, gen, path, sizeof(path));
		umfs_close(uf);
	}
	pool_unlock_ro();
	return err ? err : tmpfile_open(fs, path, flags, mode);
}

/* Whether an open with these flags must first ask whether the file is a
 * running program (text.c): writing or truncating it, once UMFS programs
 * were executed. */
static bool open_needs_text_check(int flags)
{
	return (acc_writes(flags) || (flags & O_TRUNC)) && !(flags & O_PATH) &&
	       unlikely(shim_texts() != 0);
}

/* Called with the pool lock held, after an open with O_TRUNC: mappings of
 * the file, in any process, take its new size at once, as after
 * ftruncate (writes bring their bytes along). */
static void open_truncated(struct umfs_file *uf, uint64_t ino, uint32_t gen, int flags)
{
	struct stat st;

	if ((flags & O_TRUNC) && unlikely(mmap_any()) && umfs_fstat(uf, &st) == 0 &&
	    S_ISREG(st.st_mode))
		mmap_size_hook(ino, gen, st.st_size);
}

/* Called with the pool lock held, on a file opened without O_TRUNC: 0 or
 * -ETXTBSY, then the truncation the open asked for. */
static int open_text_check(struct umfs_file *uf, uint64_t ino, uint32_t gen, int flags)
{
	struct stat st;
	int err = text_busy(ino, gen);

	if (!err && (flags & O_TRUNC) && umfs_fstat(uf, &st) == 0 && S_ISREG(st.st_mode) &&
	    (flags & O_ACCMODE) != O_RDONLY)
		err = umfs_ftruncate(uf, 0);
	return err;
}

/* The descriptor for a core file just opened (counted in the registry):
 * name is the pool path the description records. */
/* Undoes open_count for a file that gets no descriptor. */
static int open_uncount(struct umfs_file *uf, int err)
{
	pool_lock();
	umfs_close_held(uf);
	pool_unlock();
	return err;
}

/* After the core opened uf with the registry's count (umfs_open_held, pool
 * lock held): the ETXTBSY check for a write open; the file is closed on
 * error. */
static int open_count(struct umfs_file *uf, int flags, bool text, uint64_t *ino,
		      uint32_t *gen)
{
	int err = 0;

	umfs_file_id(uf, ino, gen);
	if (text) {
		err = open_text_check(uf, *ino, *gen, flags);
		if (err) {
			umfs_close_held(uf);
			return err;
		}
	}
	open_truncated(uf, *ino, *gen, flags);
	return 0;
}

/* An open that changes the file claims its descriptor before the core
 * opens it (ofd_claim): NULL for one that does not, which needs no claim
 * when it fails (the common failed open, ENOENT, stays as cheap). */
static struct ofd_claim *open_claim_first(int flags, struct ofd_claim *c, int *err)
{
	*err = 0;
	if (!(flags & (O_CREAT | O_TRUNC)))
		return NULL;
	*err = ofd_claim(flags, c);
	return *err ? NULL : c;
}

/* The open got no description: the claim (or NULL) is let go. */
static void open_unclaim(struct ofd_claim *c)
{
	if (c)
		ofd_claim_cancel(c);
}

static int open_describe(struct umfs_file *uf, const char *name, int flags,
			 struct ofd_claim *c)
{
	int fd = ofd_create(c, uf, name, flags);

	if (fd < 0)
		return open_uncount(uf, fd);
	if (fd <= 2)
		stdio_fd_changed(fd);
	return fd;
}

/* FIFOs are the helper directory's; sockets and devices are not served. */
static int open_special(struct umfs_fs *fs, const char *path, int flags)
{
	struct stat st;
	int err;

	pool_lock();
	err = umfs_stat(fs, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
	pool_unlock_ro();
	if (!err && S_ISFIFO(st.st_mode))
		return fifo_open(fs, path, flags, &st);
	if (!err && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
		return devnode_open(fs, path, flags, &st);
	return -ENXIO;
}

/* Opens path, giving the description name as its path from the root. */
static int open_umfs_named(struct umfs_fs *fs, const char *path, const char *name, int flags,
			   mode_t mode)
{
	struct ofd_claim claim, *c;
	struct umfs_file *uf;
	uint64_t ino;
	uint32_t gen;
	bool text = open_needs_text_check(flags);
	int err;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return tmpfile_open_at(fs, NULL, path, 0, flags, mode);
	if (flags & O_CREAT)
		mode &= ~atomic_load(&shim_umask);
	c = open_claim_first(flags, &claim, &err);
	if (err)
		return err;
	pool_lock();
	err = umfs_open_held(fs, NULL, path, 0, text ? flags & ~O_TRUNC : flags, mode, &uf);
	if (!err)
		err = open_count(uf, flags, text, &ino, &gen);
	pool_unlock();
	if (err)
		open_unclaim(c);
	if (err == -ENXIO)
		return open_special(fs, path, flags);
	if (err)
		return err;
	return open_describe(uf, name, flags, c);
}

/* base + "/" + rel, for the record of a resolved open */
static int path_join(char *buf, size_t size, const char *base, const char *rel)
{
	int n;

	while (*rel == '/')
		rel++;
	n = snprintf(buf, size, "%s/%s", strcmp(base, "/") ? base : "", rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int shim_open_umfs_resolve(struct umfs_fs *fs, const char *base, const char *rel,
			   unsigned resolve, int flags, mode_t mode)
{
	char path[PATH_MAX];
	struct ofd_claim claim, *c;
	struct umfs_file *uf;
	struct stat st;
	uint64_t ino;
	uint32_t gen;
	bool text = open_needs_text_check(flags);
	int err;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return tmpfile_open_at(fs, base, rel, resolve, flags, mode);
	if (flags & O_CREAT)
		mode &= ~atomic_load(&shim_umask);
	c = open_claim_first(flags, &claim, &err);
	if (err)
		return err;
	pool_lock();
	err = umfs_open_held(fs, base, rel, resolve, text ? flags & ~O_TRUNC : flags, mode, &uf);
	if (!err)
		err = open_count(uf, flags, text, &ino, &gen);
	pool_unlock();
	if (err)
		open_unclaim(c);
	if (err && err != -ENXIO)
		return err;
	if (err)
		return path_join(path, sizeof(path), base, rel) ?: open_special(fs, path, flags);
	/* a directory's path is where it is; a file's, as named */
	if (umfs_fstat(uf, &st) == 0 && S_ISDIR(st.st_mode)) {
		pool_lock();
		err = umfs_dir_path(fs, ino, gen, path, sizeof(path));
		pool_unlock_ro();
	} else {
		err = path_join(path, sizeof(path), base, rel);
	}
	if (err) {
		open_unclaim(c);
		return open_uncount(uf, err);
	}
	return open_describe(uf, path, flags, c);
}

int shim_open_umfs(struct umfs_fs *fs, const char *path, int flags, mode_t mode)
{
	return open_umfs_named(fs, path, path, flags, mode);
}

/* open("/proc/self/fd/N") on a UMFS descriptor: a new description of the
 * same file, with the new flags, as the kernel does. */
static int reopen_fd(int fd, int flags)
{
	struct umfs_file *uf = NULL;
	struct ofd_claim claim, *c;
	struct umfs_fs *fs;
	struct ofd *o;
	int err, nfd;

	o = fd_get_fast(fd);
	if (!o)
		return -EBADF;
	fs = shim_fs(&err);
	if (!fs || !o->uf) {
		ofd_put(o);
		return fs ? -EIO : err;
	}
	if ((flags & O_DIRECTORY) && o->type != S_IFDIR) {
		ofd_put(o);
		return -ENOTDIR;
	}
	if ((flags & O_CREAT) && (flags & O_EXCL)) {
		ofd_put(o);
		return -EEXIST;
	}
	c = open_claim_first(flags, &claim, &err);
	if (err) {
		ofd_put(o);
		return err;
	}
	pool_lock();
	err = umfs_open_id(fs, o->ino, o->gen, flags, 0, &uf);
	if (!err && open_needs_text_check(flags))
		err = text_busy(o->ino, o->gen);
	if (!err && (flags & O_TRUNC) && o->type == S_IFREG)
		err = umfs_ftruncate(uf, 0);
	if (!err) {
		open_truncated(uf, o->ino, o->gen, flags);
		registry_add(o->ino, 1);
	} else if (uf) {
		umfs_close(uf);
	}
	pool_unlock();
	if (err) {
		open_unclaim(c);
		ofd_put(o);
		return err == -ESTALE ? -ENOENT : err;
	}
	nfd = ofd_create(c, uf, o->sh->path, flags);
	if (nfd < 0) {
		pool_lock();
		registry_add(o->ino, -1);
		umfs_close(uf);
		pool_unlock();
		ofd_put(o);
		return nfd;
	}
	ofd_put(o);
	if (nfd <= 2)
		stdio_fd_changed(nfd);
	return nfd;
}

/* A relative path is opened from its base directory's inode; the
 * description keeps its path from the root when it fits in PATH_MAX. */
static int open_upath(struct umfs_fs *fs, const struct upath *up, int flags, mode_t mode)
{
	char *name;
	int fd;

	if (up->base == 0)
		return shim_open_umfs(fs, up->buf, flags, mode);
	name = malloc(PATH_MAX);
	if (!name)
		return -ENOMEM;
	if (path_absolute(fs, up, name, PATH_MAX) != 0)
		name[0] = '\0';
	path_use(up, NULL);
	fd = open_umfs_named(fs, up->buf, name, flags, mode);
	free(name);
	return fd;
}

int shim_open(int dirfd, const char *path, int flags, mode_t mode)
{
	struct umfs_fs *fs;
	struct upath up;
	int kind, fd, err;

	kind = path_resolve(dirfd, path, &up);
	for (;;) {
		if (kind < 0)
			return kind;
		if (kind == UP_KERNEL) {
			fd_unpark_all();
			do
				fd = SYS(openat)(up.kdirfd, up.kpath, flags, mode);
			while (fd < 0 && errno == EINTR);
			return fd < 0 ? -errno : fd;
		}
		if (kind == UP_FD) {
			if (flags & O_NOFOLLOW)
				return -ELOOP; /* the magic link itself */
			return reopen_fd(up.fd, flags);
		}
		fs = shim_fs(&err);
		if (!fs)
			return err;
		fd = open_upath(fs, &up, flags, mode);
		if (fd != -UMFS_EXTERNAL)
			return fd;
		kind = path_external(&up);
	}
}

static int open_common(enum shim_call c, int dirfd, const char *path, int flags, mode_t mode)
{
	uint64_t t0;
	int fd;

	/* a table of mounts is the kernel's path however /proc paths are
	 * classed (they may name a UMFS descriptor's link) */
	if (likely(!path_maybe_umfs(dirfd, path)) || unlikely(mounts_is_table(path))) {
		unsigned frees = atomic_load(&fd_frees);

		if (unlikely(shim_observe))
			shim_trace(c, false, 0, 0, "\"%s\", %#x", path ? path : "(null)", flags);
		fd_unpark_all();
		if (unlikely(mounts_is_table(path)))
			return mounts_open(path, flags);
		fd = SYS(openat)(dirfd, path, flags, mode);
		if (fd >= 0)
			fd_note_alloc(fd, frees);
		return fd;
	}
	SHIM_CANCEL_POINT();
	SHIM_SERVE();
	t0 = stats_t0();
	fd = shim_open(dirfd, path, flags, mode);
	if (unlikely(shim_observe))
		shim_trace(c, true, fd, t0, "\"%s\", %#x, %#o", path, flags, (unsigned)mode);
	return (int)shim_ret(fd);
}

SHIM_API int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (OPEN_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open_common(SC_open, AT_FDCWD, path, flags, mode);
}

SHIM_API int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (OPEN_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open_common(SC_openat, dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE entry points: open without a mode argument */
SHIM_API int __open_2(const char *path, int flags)
{
	return open_common(SC_open, AT_FDCWD, path, flags, 0);
}

SHIM_API int __openat_2(int dirfd, const char *path, int flags)
{
	return open_common(SC_openat, dirfd, path, flags, 0);
}

SHIM_API int creat(const char *path, mode_t mode)
{
	return open_common(SC_creat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* ------------------------------------------------------------------ */
/* close                                                                */
/* ------------------------------------------------------------------ */

/* may_park: the program's close(), whose number may stay open, parked. */
static int close_umfs(int fd, bool may_park)
{
	struct ofd *o = uinfo_take(fd);

	if (!o) {
		fd_note_free(fd);
		return SYS(close)(fd) < 0 ? -errno : 0;
	}
	fd_closed_hook(fd, o);
	if (!ofd_put_closing(o, may_park ? fd : -1)) {
		sys_close_quiet(fd); /* the token; Linux frees the number even on EINTR */
		fd_note_free(fd);
	}
	if (fd <= 2)
		stdio_fd_changed(fd);
	return 0;
}

int shim_close(int fd)
{
	return close_umfs(fd, false);
}

SHIM_API int close(int fd)
{
	struct ofd *p = uinfo_peek(fd);
	uint64_t t0;
	int r;

	if (likely(p == NULL)) {
		TRACE_PASS(close, "%d", fd);
		fd_note_free(fd);
		return SYS(close)(fd);
	}
	if (p == UINFO_INTERNAL) {
		/* the shim's own descriptor (pool, log, locks): not the program's */
		errno = EBADF;
		return -1;
	}
	SHIM_CANCEL_POINT();
	SHIM_SERVE();
	t0 = stats_t0();
	r = close_umfs(fd, true);
	TRACE_SERVED(close, r, t0, "%d", fd);
	return (int)shim_ret(r);
}

/* closes UMFS descriptors in [first, last] ourselves, keeps the shim's own */
static void close_range_umfs(unsigned first, unsigned last, bool cloexec)
{
	size_t high = atomic_load(&uinfo_high), end = last < high ? last : high - 1;
	SHIM_SERVE();

	if (high == 0)
		return;
	for (size_t fd = first; fd <= end; fd++) {
		struct ofd *p = uinfo_peek((int)fd);

		if (!p || p == UINFO_INTERNAL)
			continue;
		if (cloexec) {
			SYS(fcntl)((int)fd, F_SETFD, FD_CLOEXEC);
			ofd_cloexec_unknown(p, (int)fd);
		} else
			shim_close((int)fd);
	}
}

/* Runs the real close_range on [first, last] minus the shim's descriptors:
 * the table's internal marks, up to its highest entry, and the window's. */
static int close_range_kernel(unsigned first, unsigned last, int flags)
{
	size_t high = atomic_load(&uinfo_high);
	int w = atomic_load(&uinfo_window);
	size_t wend = w < 0 ? 0 : (size_t)w + UINFO_WINDOW, end = high > wend ? high : wend;
	unsigned lo = first;
	int r = 0;

	for (size_t fd = first; fd <= last && fd < end; fd++) {
		if (fd >= high && w >= 0 && fd < (size_t)w) {
			fd = (size_t)w; /* nothing is marked between the two */
			if (fd > last)
				break;
		}
		if (!uinfo_is_internal((int)fd))
			continue;
		if (fd > lo)
			r |= SYS(close_range)(lo, (unsigned)fd - 1, flags);
		lo = (unsigned)fd + 1;
	}
	if (lo <= last && (lo > first || r == 0))
		r |= SYS(close_range)(lo, last, flags);
	return r ? -1 : 0;
}

SHIM_API int close_range(unsigned first, unsigned last, int flags)
{
	if (first > last || (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))) {
		errno = EINVAL;
		return -1;
	}
	TRACE_PASS(close_range, "%u, %u", first, last);
	fd_note_free((int)(first > INT_MAX ? INT_MAX : first));
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		devnode_forget((int)(first > INT_MAX ? INT_MAX : first),
			       (int)(last > INT_MAX ? INT_MAX : last));
	fd_unpark_all(); /* the kernel's close_range must not meet it */
	close_range_umfs(first, last, flags & CLOSE_RANGE_CLOEXEC);
	if (last >= 3 && first <= 2)
		for (unsigned fd = first; fd <= 2; fd++)
			stdio_fd_changed((int)fd);
	return close_range_kernel(first, last, flags);
}

SHIM_API void closefrom(int lowfd)
{
	int saved = errno;

	if (lowfd < 0)
		lowfd = 0;
	close_range((unsigned)lowfd, ~0u, 0);
	errno = saved;
}

/* ------------------------------------------------------------------ */
/* read and write                                                       */
/* ------------------------------------------------------------------ */

static inline int ofd_check(struct ofd *o)
{
	if (unlikely(!o->uf))
		return -EIO; /* the pool was unmounted at exit */
	if (unlikely(o->type == S_IFDIR)) /* an O_PATH one neither reads nor writes */
		return (atomic_load_explicit(&o->sh->flags, memory_order_relaxed) & O_PATH) ? -EBADF
											 : -EISDIR;
	return 0;
}

/* The same for a write: directories are never open for writing. */
static inline int ofd_check_write(struct ofd *o)
{
	int err = ofd_check(o);

	return err == -EISDIR ? -EBADF : err;
}

/* A read into the caller's buffer, unprobed: the core stores only the
 * bytes it returns (a program's large buffer, cat's 128 KiB, is not
 * touched page by page for a small file), through shim_user_out, and
 * stops at the first byte it cannot store, as the kernel's copy-out. */
static ssize_t ofd_read_user(struct ofd *o, void *buf, size_t len, off_t off)
{
	if (likely(!mmap_any()))
		return umfs_pread_out(o->uf, buf, len, off, &shim_user_out);
	return mmap_read(o->ino, o->gen, o->uf, buf, len, off, &shim_user_out); /* mapped stores */
}

/* As the kernel's check of a transfer before it looks at the bytes: one
 * that would reach past the largest offset is EINVAL (off < 0: from the
 * file offset). A count past SSIZE_MAX is left to the buffer's check,
 * which refuses it first in the kernel (EFAULT). */
static int rw_span_check(const struct ofd *o, off_t off, size_t len)
{
	uint64_t pos = off >= 0 ? (uint64_t)off : o->sh->pos;

	return len <= SSIZE_MAX && pos + len > (uint64_t)INT64_MAX ? -EINVAL : 0;
}

/* off < 0: at the file offset (which moves). */
static ssize_t ofd_read(struct ofd *o, void *buf, size_t len, off_t off)
{
	ssize_t n;
	int err = ofd_check(o);

	if (!err)
		err = rw_span_check(o, off, len);
	if (err)
		return err;
	if (off >= 0)
		return ofd_read_user(o, buf, len, off);
	ofd_lock(o);
	n = ofd_read_user(o, buf, len, (off_t)o->sh->pos);
	if (n > 0)
		o->sh->pos += (uint64_t)n;
	ofd_unlock(o);
	return n;
}

/* Mappings of the file (in any process) see what was written: call with
 * the pool lock held, so that a first mapper's copy and this agree. */
static void ofd_written(struct ofd *o, const void *buf, ssize_t n, off_t end)
{
	if (unlikely(mmap_any()) && n > 0)
		mmap_write_hook(o->ino, o->gen, buf, (size_t)n, end - n, ofd_size(o));
}

/* O_DSYNC makes the data durable, O_SYNC (which includes it) the times
 * too (umfs_fsync). */
static void ofd_write_sync(struct ofd *o)
{
	int flags = atomic_load_explicit(&o->sh->flags, memory_order_relaxed);

	if (flags & O_DSYNC)
		umfs_fsync(o->uf, (flags & O_SYNC) != O_SYNC);
}

/* The bytes a vector of cnt buffers holds (iov_check bounds the sum). */
static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* Whether some process maps o's file now: its writes and fallocates then
 * take the pool lock, and bring the mappings along. */
static bool ofd_mapped(const struct ofd *o)
{
	return unlikely(mmap_any()) && map_slot_held(o->ino);
}

/* The gate the core asks, under the file's own lock, for a change made
 * without the pool lock: a mapping made after ofd_mapped looked sends the
 * change back (-EAGAIN), to be made under the pool lock. */
static umfs_write_gate map_gate(void)
{
	return shim_maps_active ? map_slot_held : NULL;
}

/* The core's write of iov at off. The file's own lock (in the core) orders
 * writers; the pool lock is only for mappings, whose copies must agree
 * with the file: taken while some process maps this file (or lets go of
 * its last mapping), or when a mapping made after the look sends the
 * write back (the gate), and then returned held (*mapped), for the caller
 * to bring the mappings along. Writes of other files take no part. */
static ssize_t ofd_core_write(struct ofd *o, const struct iovec *iov, int cnt, off_t off,
			      off_t *end, bool *mapped)
{
	ssize_t n = -EAGAIN;

	*mapped = ofd_mapped(o);
	if (!*mapped) {
		n = umfs_writev_at(o->uf, iov, cnt, off, end, map_gate());
		*mapped = unlikely(n == -EAGAIN);
	}
	if (*mapped) {
		pool_lock();
		n = mmap_write_reserve(o->ino, o->gen,
				       umfs_file_flags(o->uf) & O_APPEND ? ofd_size(o) : off,
				       iov_total(iov, cnt));
		if (!n)
			n = umfs_writev_at(o->uf, iov, cnt, off, end, NULL);
	}
	return n;
}

/* off < 0: at the file offset (or the end with O_APPEND), which moves. */
static ssize_t ofd_write(struct ofd *o, const void *buf, size_t len, off_t off)
{
	struct iovec iov;
	off_t end;
	ssize_t n;
	bool mapped;
	int err = ofd_check_write(o);

	if (err)
		return err;
	err = rw_span_check(o, off, len);
	if (err)
		return err;
	if (unlikely(user_readable(buf, len))) {
		/* the kernel writes what it could copy, up to the bad page */
		if ((uintptr_t)buf + len < (uintptr_t)buf)
			return -EFAULT;
		len = user_prefix(buf, len, false);
		if (len == 0)
			return -EFAULT;
	}
	ofd_sync_flags(o);
	if (off < 0)
		ofd_lock(o);
	if (unlikely(fsize_limit() != RLIM_INFINITY)) {
		err = fsize_clamp(o->cached_flags & O_APPEND ? ofd_size(o)
							     : off < 0 ? (off_t)o->sh->pos : off, &len);
		if (err) {
			if (off < 0)
				ofd_unlock(o);
			return err;
		}
	}
	iov = (struct iovec){ .iov_base = (void *)buf, .iov_len = len };
	n = ofd_core_write(o, &iov, 1, off < 0 ? (off_t)o->sh->pos : off, &end, &mapped);
	if (mapped) {
		ofd_written(o, buf, n, end);
		pool_unlock();
	}
	if (off < 0) {
		if (n > 0)
			o->sh->pos = (uint64_t)end;
		ofd_unlock(o);
	}
	if (n > 0)
		ofd_write_sync(o);
	return n;
}

ssize_t shim_write(int fd, const void *buf, size_t len)
{
	struct ofd *o = fd_get_fast(fd);
	ssize_t n;

	if (!o) {
		n = SYS(write)(fd, buf, len);
		return n < 0 ? -errno : n;
	}
	SHIM_SERVE();
	n = ofd_write(o, buf, len, -1);
	ofd_put(o);
	return n;
}

SHIM_API ssize_t read(int fd, void *buf, size_t len)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(read, "%d, %zu", fd, len);
		return SYS(read)(fd, buf, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = ofd_read(o, buf, len, -1);
	ofd_put(o);
	TRACE_SERVED(read, n, t0, "%d, %zu", fd, len);
	return shim_ret(n);
}

SHIM_API ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort(); /* as glibc's __chk_fail: a buffer overflow was detected */
	return read(fd, buf, len);
}

SHIM_API ssize_t write(int fd, const void *buf, size_t len)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(write, "%d, %zu", fd, len);
		return SYS(write)(fd, buf, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = ofd_write(o, buf, len, -1);
	ofd_put(o);
	TRACE_SERVED(write, n, t0, "%d, %zu", fd, len);
	return shim_ret(n);
}

SHIM_API ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(pread, "%d, %zu, %lld", fd, len, (long long)off);
		return SYS(pread)(fd, buf, len, off);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = off < 0 ? -EINVAL : ofd_read(o, buf, len, off);
	ofd_put(o);
	TRACE_SERVED(pread, n, t0, "%d, %zu, %lld", fd, len, (long long)off);
	return shim_ret(n);
}

SHIM_API ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if (len > buflen)
		abort();
	return pread(fd, buf, len, off);
}

SHIM_API ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(pwrite, "%d, %zu, %lld", fd, len, (long long)off);
		return SYS(pwrite)(fd, buf, len, off);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = off < 0 ? -EINVAL : ofd_write(o, buf, len, off);
	ofd_put(o);
	TRACE_SERVED(pwrite, n, t0, "%d, %zu, %lld", fd, len, (long long)off);
	return shim_ret(n);
}

/* ------------------------------------------------------------------ */
/* vectored                                                             */
/* ------------------------------------------------------------------ */

/* The array probed, the lengths checked, their sum in *sum; the buffers
 * are probed as they are used (ofd_read_user, iov_source). */
static int iov_check(const struct iovec *iov, int cnt, size_t *sum)
{
	size_t total = 0;
	int err;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	err = user_readable(iov, (size_t)cnt * sizeof(*iov));
	if (err)
		return err;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	*sum = total;
	return 0;
}

/* The vector a write may use: as given when every buffer can be read;
 * else, as the kernel writes what it could copy, a copy (*fixed, to be
 * freed) ending at the first bad page, or -EFAULT when that is nothing. */
static int iov_source(const struct iovec *iov, int cnt, struct iovec **fixed, int *fixed_cnt)
{
	size_t ok = 0;
	int i;

	*fixed = NULL;
	for (i = 0; i < cnt; i++) {
		if (likely(user_readable(iov[i].iov_base, iov[i].iov_len) == 0)) {
			ok += iov[i].iov_len;
			continue;
		}
		break;
	}
	if (i == cnt)
		return 0;
	{
		size_t part = (uintptr_t)iov[i].iov_base + iov[i].iov_len < (uintptr_t)iov[i].iov_base
				      ? 0
				      : user_prefix(iov[i].iov_base, iov[i].iov_len, false);

		if (ok + part == 0)
			return -EFAULT;
		*fixed = malloc((size_t)(i + 1) * sizeof(**fixed));
		if (!*fixed)
			return -ENOMEM;
		memcpy(*fixed, iov, (size_t)i * sizeof(**fixed));
		(*fixed)[i].iov_base = iov[i].iov_base;
		(*fixed)[i].iov_len = part;
		*fixed_cnt = part ? i + 1 : i;
	}
	return 0;
}

/* The description's access mode, which the kernel checks first (fdget
 * refuses O_PATH). */
static int ofd_mode_check(const struct ofd *o, bool writes)
{
	int fl = atomic_load_explicit(&o->sh->flags, memory_order_relaxed);

	return (fl & O_PATH) || !(writes ? acc_writes(fl) : acc_reads(fl)) ? -EBADF : 0;
}

/* A vectored read's or write's RWF_ flags, which the kernel looks at once
 * the description's mode, the vector and the span passed, and not for a
 * vector of no bytes. */
static int rwf_check(int rwf)
{
	if (rwf & ~SHIM_RWF_KNOWN)
		return -EOPNOTSUPP;
	if ((rwf & RWF_APPEND) && (rwf & RWF_NOAPPEND))
		return -EINVAL;
	return 0;
}

/* off < 0: at the file offset. rwf: preadv2's RWF_ flags. */
static ssize_t ofd_readv(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	bool at_pos = off < 0;
	ssize_t total = 0, n = 0;
	size_t sum;
	int err = ofd_check(o), dir_err = 0;

	if (err == -EISDIR) { /* a directory's read is refused by the read itself */
		dir_err = err;
		err = 0;
	}
	if (!err)
		err = ofd_mode_check(o, false);
	if (!err)
		err = iov_check(iov, cnt, &sum);
	if (!err && sum == 0)
		return 0;
	if (!err)
		err = rw_span_check(o, off, sum);
	if (!err)
		err = rwf_check(rwf);
	if (!err)
		err = dir_err;
	if (err)
		return err;
	if (at_pos) {
		ofd_lock(o);
		off = (off_t)o->sh->pos;
	}
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		n = ofd_read_user(o, iov[i].iov_base, iov[i].iov_len, off + total);
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	if (at_pos) {
		o->sh->pos += (uint64_t)total;
		ofd_unlock(o);
	}
	return total ? total : n;
}

/* RLIMIT_FSIZE on a vector written at off (-1: at the end): *iovp and
 * *cntp are replaced by a shortened copy (*cut, to free) when it crosses. */
static int fsize_clamp_iov(struct ofd *o, off_t off, const struct iovec **iovp, int *cntp,
			   struct iovec **cut)
{
	size_t total = iov_total(*iovp, *cntp), len = total;
	int i, err;

	if (off < 0)
		off = ofd_size(o);
	err = fsize_clamp(off, &len);
	if (err || len == total)
		return err;
	*cut = malloc((size_t)*cntp * sizeof(**cut));
	if (!*cut)
		return -ENOMEM;
	for (i = 0; i < *cntp && len; i++) {
		(*cut)[i] = (*iovp)[i];
		if ((*cut)[i].iov_len > len)
			(*cut)[i].iov_len = len;
		len -= (*cut)[i].iov_len;
	}
	*iovp = *cut;
	*cntp = i;
	return 0;
}

/* rwf: pwritev2's RWF_ flags; RWF_APPEND or RWF_NOAPPEND are the
 * description's O_APPEND for this write only. */
static ssize_t ofd_writev(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	struct iovec *cut = NULL;
	bool at_pos = off < 0, mapped, append;
	ssize_t total = 0, n = 0;
	off_t end = 0;
	struct iovec *fixed = NULL;
	size_t sum;
	int saved_flags = 0, err = ofd_check_write(o);

	if (!err)
		err = ofd_mode_check(o, true);
	if (!err)
		err = iov_check(iov, cnt, &sum);
	if (!err && sum == 0)
		return 0;
	if (!err)
		err = rw_span_check(o, off, sum);
	if (!err)
		err = rwf_check(rwf);
	if (!err)
		err = iov_source(iov, cnt, &fixed, &cnt);
	if (err)
		return err;
	rwf &= RWF_APPEND | RWF_NOAPPEND;
	if (unlikely(fixed != NULL))
		iov = fixed;
	ofd_sync_flags(o);
	append = (rwf & RWF_APPEND) || ((o->cached_flags & O_APPEND) && !(rwf & RWF_NOAPPEND));
	if (at_pos) {
		ofd_lock(o);
		off = (off_t)o->sh->pos;
	}
	if (unlikely(fsize_limit() != RLIM_INFINITY)) {
		err = fsize_clamp_iov(o, append ? -1 : off, &iov, &cnt, &cut);
		if (err) {
			if (at_pos)
				ofd_unlock(o);
			return err;
		}
	}
	/* the core writes the whole vector under the file's lock: no other
	 * writer between its parts */
	if (rwf) {
		saved_flags = o->cached_flags;
		umfs_file_set_flags(o->uf, append ? saved_flags | O_APPEND : saved_flags & ~O_APPEND);
	}
	n = ofd_core_write(o, iov, cnt, off, &end, &mapped);
	if (n > 0)
		total = n;
	for (int i = 0; mapped && i < cnt && n > 0; i++) {
		size_t part = iov[i].iov_len < (size_t)n ? iov[i].iov_len : (size_t)n;

		off = end - n;
		n -= (ssize_t)part;
		ofd_written(o, iov[i].iov_base, (ssize_t)part, off + (off_t)part);
	}
	if (rwf)
		umfs_file_set_flags(o->uf, saved_flags);
	if (mapped)
		pool_unlock();
	if (at_pos) {
		if (total)
			o->sh->pos = (uint64_t)end;
		ofd_unlock(o);
	}
	free(cut);
	if (total)
		ofd_write_sync(o);
	free(fixed);
	return total ? total : n;
}

SHIM_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(readv, "%d, %d", fd, cnt);
		return SYS(readv)(fd, iov, cnt);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = ofd_readv(o, iov, cnt, -1, 0);
	ofd_put(o);
	TRACE_SERVED(readv, n, t0, "%d, %d", fd, cnt);
	return shim_ret(n);
}

SHIM_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(writev, "%d, %d", fd, cnt);
		return SYS(writev)(fd, iov, cnt);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	n = ofd_writev(o, iov, cnt, -1, 0);
	ofd_put(o);
	TRACE_SERVED(writev, n, t0, "%d, %d", fd, cnt);
	return shim_ret(n);
}

ssize_t shim_ofd_preadv(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (off < -1)
		return -EINVAL;
	return ofd_readv(o, iov, cnt, off, flags);
}

ssize_t shim_ofd_pwritev(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int flags)
{
	ssize_t n;

	if (off < -1)
		return -EINVAL;
	n = ofd_writev(o, iov, cnt, off, flags);
	if (n > 0 && (flags & (RWF_SYNC | RWF_DSYNC)))
		umfs_fsync(o->uf, !(flags & RWF_SYNC));
	return n;
}

static ssize_t preadv_common(int fd, const struct iovec *iov, int cnt, off_t off, int flags,
			     bool v2)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(preadv, "%d, %d, %lld", fd, cnt, (long long)off);
		return v2 ? SYS(preadv2)(fd, iov, cnt, off, flags) : SYS(preadv)(fd, iov, cnt, off);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (off < 0 && !(v2 && off == -1)) /* before the descriptor, as the kernel */
		n = -EINVAL;
	else
		n = shim_ofd_preadv(o, iov, cnt, off, flags);
	ofd_put(o);
	TRACE_SERVED(preadv, n, t0, "%d, %d, %lld", fd, cnt, (long long)off);
	return shim_ret(n);
}

static ssize_t pwritev_common(int fd, const struct iovec *iov, int cnt, off_t off, int flags,
			      bool v2)
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	ssize_t n;

	if (likely(o == NULL)) {
		TRACE_PASS(pwritev, "%d, %d, %lld", fd, cnt, (long long)off);
		return v2 ? SYS(pwritev2)(fd, iov, cnt, off, flags)
			  : SYS(pwritev)(fd, iov, cnt, off);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (off < 0 && !(v2 && off == -1)) /* before the descriptor, as the kernel */
		n = -EINVAL;
	else
		n = shim_ofd_pwritev(o, iov, cnt, off, flags);
	ofd_put(o);
	TRACE_SERVED(pwritev, n, t0, "%d, %d, %lld", fd, cnt, (long long)off);
	return shim_ret(n);
}

SHIM_API ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv_common(fd, iov, cnt, off, 0, false);
}

SHIM_API ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev_common(fd, iov, cnt, off, 0, false);
}

SHIM_API ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return preadv_common(fd, iov, cnt, off, flags, true);
}

SHIM_API ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return pwritev_common(fd, iov, cnt, off, flags, true);
}

/* ------------------------------------------------------------------ */
/* lseek                                                                */
/* ------------------------------------------------------------------ */

static off_t ofd_lseek(struct ofd *o, off_t off, int whence)
{
	int64_t base, res;

	if (!o->uf)
		return -EIO;
	if (atomic_load(&o->sh->flags) & O_PATH)
		return -EBADF;
	if (o->type == S_IFDIR) {
		/* a directory's offset is its readdir cookie, set or moved as
		 * the kernel's directories take it (any value not negative) */
		ofd_lock(o);
		base = whence == SEEK_CUR ? (int64_t)o->sh->pos : 0;
		if ((whence != SEEK_SET && whence != SEEK_CUR) ||
		    (off > 0 && base > INT64_MAX - off) || base + off < 0)
			res = -EINVAL;
		else
			res = base + off;
		if (res >= 0)
			o->sh->pos = (uint64_t)res;
		ofd_unlock(o);
		return res;
	}
	ofd_lock(o);
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		res = umfs_lseek(o->uf, off, whence);
		goto done;
	}
	if (ofd_whence_base(o, whence, &base)) {
		res = -EINVAL;
		goto done;
	}
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		res = -EINVAL; /* as the kernel: past the largest offset too */
	else
		res = base + off;
done:
	if (res >= 0)
		o->sh->pos = (uint64_t)res;
	ofd_unlock(o);
	return res;
}

SHIM_API off_t lseek(int fd, off_t off, int whence)
{
	struct ofd *o = fd_get_fast(fd);
	uint64_t t0;
	off_t r;

	if (likely(o == NULL)) {
		TRACE_PASS(lseek, "%d, %lld, %d", fd, (long long)off, whence);
		return SYS(lseek)(fd, off, whence);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = ofd_lseek(o, off, whence);
	ofd_put(o);
	TRACE_SERVED(lseek, r, t0, "%d, %lld, %d", fd, (long long)off, whence);
	return shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* Size and space                                                       */
/* ------------------------------------------------------------------ */

static int ofd_not_path(struct ofd *o)
{
	if (!o->uf)
		return -EIO;
	return (atomic_load(&o->sh->flags) & O_PATH) ? -EBADF : 0;
}

SHIM_API int ftruncate(int fd, off_t len)
{
	struct ofd *o = fd_get_fast(fd);
	uint64_t t0;
	int r;

	if (likely(o == NULL)) {
		TRACE_PASS(ftruncate, "%d, %lld", fd, (long long)len);
		return SYS(ftruncate)(fd, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = ofd_not_path(o);
	if (!r && o->type == S_IFDIR)
		r = -EINVAL;
	if (!r && unlikely(fsize_limit() != RLIM_INFINITY) && len >= 0)
		r = fsize_check_grow(ofd_size(o), len);
	if (!r) {
		pool_lock();
		r = umfs_ftruncate(o->uf, len);
		if (!r && unlikely(mmap_any()))
			mmap_size_hook(o->ino, o->gen, len);
		pool_unlock();
	}
	ofd_put(o);
	TRACE_SERVED(ftruncate, r, t0, "%d, %lld", fd, (long long)len);
	return (int)shim_ret(r);
}

/* truncate(2) through a descriptor of its own. O_NONBLOCK: a FIFO without
 * a reader must not block the call; like a socket or a device node, it
 * gives EINVAL, as truncate(2) on anything but a regular file. */
static int truncate_through_fd(const char *path, off_t len)
{
	int fd = shim_open(AT_FDCWD, path, O_WRONLY | O_NONBLOCK, 0), r;

	if (fd == -ENXIO)
		return -EINVAL;
	if (fd < 0)
		return fd;
	r = ftruncate(fd, len) < 0 ? -errno : 0;
	shim_close(fd);
	return r;
}

SHIM_API int truncate(const char *path, off_t len)
{
	struct umfs_fs *fs;
	struct upath up;
	uint64_t t0;
	int kind, r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(truncate, "\"%s\"", path ? path : "");
		return SYS(truncate)(path, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	kind = path_resolve(AT_FDCWD, path, &up);
	for (;;) {
		if (kind < 0) {
			r = kind;
			break;
		}
		if (kind == UP_KERNEL) {
			r = SYS(truncate)(up.kpath, len) < 0 ? -errno : 0;
			break;
		}
		if (kind == UP_FD) {
			r = truncate_through_fd(path, len);
			break;
		}
		fs = shim_fs(&r);
		if (!fs)
			break;
		if ((unlikely(fsize_limit() != RLIM_INFINITY) && len >= 0 &&
		     (uint64_t)len > fsize_limit()) || unlikely(shim_texts() != 0)) {
			/* through a descriptor, which knows the size it grows from
			 * and whether the file is a running program */
			r = truncate_through_fd(path, len);
			break;
		}
		pool_lock();
		if (unlikely(mmap_any())) {
			/* through a descriptor, so that mappings see the new size;
			 * asked under the lock, which a first mapper holds */
			pool_unlock();
			r = truncate_through_fd(path, len);
			break;
		}
		r = umfs_truncate(fs, up.buf, len);
		pool_unlock();
		if (r != -UMFS_EXTERNAL)
			break;
		kind = path_external(&up);
	}
	TRACE_SERVED(truncate, r, t0, "\"%s\", %lld", path, (long long)len);
	return (int)shim_ret(r);
}

/* One fallocate of a mapped file's range, and the host file brought along
 * (pool lock held). */
static int ofd_fallocate_hooked(struct ofd *o, int mode, off_t off, off_t len)
{
	int r = umfs_fallocate(o->uf, mode, off, len);

	if (!r && unlikely(mmap_any())) {
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			mmap_punch_hook(o->ino, o->gen, off, len);
		mmap_size_hook(o->ino, o->gen, ofd_size(o));
	}
	return r;
}

#define FALLOC_STEP ((off_t)16 << 20) /* one transaction of the core's */

/*
 * A fallocate of a mapped file (pool lock held, which keeps its host file
 * in step). Allocating a large range (mode 0, KEEP_SIZE) zeroes its pages
 * durably, seconds for gigabytes: it goes a step at a time from the
 * range's end down, and a process waiting for the lock gets it between
 * two. The first step checks what the whole call would (EFBIG) and makes
 * the new size, over holes that read as zeros: each state between steps
 * is the file after the call, as its bytes and size go. The steps below
 * keep the size, so that a truncate or write that comes between two
 * stands, as one after the call would. A later step that fails (ENOSPC)
 * takes back the size the first made, if it is still there. A punch or
 * zeroed range goes whole, failure-atomic in one call.
 */
static int ofd_fallocate_mapped(struct ofd *o, int mode, off_t off, off_t len)
{
	off_t old = ofd_size(o), end, at;
	int r;

	if ((mode & ~FALLOC_FL_KEEP_SIZE) || off < 0 || len <= FALLOC_STEP ||
	    off > INT64_MAX - len)
		return ofd_fallocate_hooked(o, mode, off, len);
	end = off + len;
	at = (end - 1) & ~(FALLOC_STEP - 1);
	at = at > off ? at : off;
	r = ofd_fallocate_hooked(o, mode, at, end - at);
	while (!r && at > off) {
		off_t top = at;

		pool_lock_yield();
		at = top - FALLOC_STEP > off ? top - FALLOC_STEP : off;
		r = ofd_fallocate_hooked(o, mode | FALLOC_FL_KEEP_SIZE, at, top - at);
		if (r && old < end && ofd_size(o) == end &&
		    umfs_ftruncate(o->uf, old) == 0)
			mmap_size_hook(o->ino, o->gen, old);
	}
	return r;
}

static int ofd_fallocate(struct ofd *o, int mode, off_t off, off_t len)
{
	int r = ofd_not_path(o);

	if (r)
		return r;
	if (unlikely(fsize_limit() != RLIM_INFINITY) && !(mode & FALLOC_FL_PUNCH_HOLE) &&
	    off >= 0 && len > 0 && off <= INT64_MAX - len) {
		r = fsize_check_grow(ofd_size(o), off + len);
		if (r)
			return r;
	}
	/* As a write (ofd_core_write): the pool lock only while the file is
	 * mapped, so that a fallocate's seconds of zeroing keep no other
	 * file's open or mapping waiting. */
	if (!ofd_mapped(o)) {
		r = umfs_fallocate_gated(o->uf, mode, off, len, map_gate());
		if (r != -EAGAIN)
			return r;
	}
	pool_lock();
	r = ofd_fallocate_mapped(o, mode, off, len);
	pool_unlock();
	return r;
}

SHIM_API int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct ofd *o = fd_get_fast(fd);
	uint64_t t0;
	int r;

	if (likely(o == NULL)) {
		TRACE_PASS(fallocate, "%d", fd);
		return SYS(fallocate)(fd, mode, off, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = ofd_fallocate(o, mode, off, len);
	ofd_put(o);
	TRACE_SERVED(fallocate, r, t0, "%d, %#x, %lld, %lld", fd, mode, (long long)off,
		     (long long)len);
	return (int)shim_ret(r);
}

/* posix_fallocate returns the error number instead of setting errno. */
SHIM_API int posix_fallocate(int fd, off_t off, off_t len)
{
	struct ofd *o = fd_get_fast(fd);
	uint64_t t0;
	int r;

	if (likely(o == NULL)) {
		TRACE_PASS(fallocate, "%d", fd);
		return SYS(posix_fallocate)(fd, off, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (off < 0 || len <= 0)
		r = -EINVAL;
	else if (!o->uf || o->type == S_IFDIR)
		r = o->uf ? -ENODEV : -EIO;
	else
		r = ofd_fallocate(o, 0, off, len);
	ofd_put(o);
	TRACE_SERVED(fallocate, r, t0, "%d, %lld, %lld", fd, (long long)off, (long long)len);
	return -r;
}

SHIM_API int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	struct ofd *o = fd_get_fast(fd);
	int r = 0;

	if (likely(o == NULL)) {
		TRACE_PASS(fadvise, "%d", fd);
		return SYS(posix_fadvise)(fd, off, len, advice);
	}
	SHIM_SERVE();
	/* nothing to advise: the data is in memory already; the kernel
	 * refuses an O_PATH descriptor before it reads the advice */
	if (atomic_load(&o->sh->flags) & O_PATH)
		r = EBADF;
	else if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE || len < 0)
		r = EINVAL;
	ofd_put(o);
	TRACE_SERVED(fadvise, -r, 0, "%d, %d", fd, advice);
	return r;
}

SHIM_API ssize_t readahead(int fd, off64_t off, size_t count)
{
	struct ofd *o = fd_get_fast(fd);
	int r;

	if (likely(o == NULL))
		return SYS(readahead)(fd, off, count);
	SHIM_SERVE();
	r = ofd_not_path(o);
	if (!r && !acc_reads(atomic_load(&o->sh->flags)))
		r = -EBADF; /* as the kernel: open for reading */
	else if (!r && o->type != S_IFREG)
		r = -EINVAL;
	ofd_put(o);
	TRACE_SERVED(fadvise, r, 0, "%d (readahead)", fd);
	return shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* Durability                                                           */
/* ------------------------------------------------------------------ */

int shim_ofd_fsync(struct ofd *o, int datasync)
{
	int r = ofd_not_path(o);

	if (!r && unlikely(mmap_any()))
		mmap_sync_hook(o->ino, o->gen, o->uf); /* mapped stores first, as Linux */
	if (!r)
		r = umfs_fsync(o->uf, datasync);
	return r;
}

static int fd_sync(int fd, int datasync, int (*real)(int))
{
	struct ofd *o = fd_get_cancel_point(fd);
	uint64_t t0;
	int r;

	if (likely(o == NULL)) {
		TRACE_PASS(fsync, "%d", fd);
		return real(fd);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = shim_ofd_fsync(o, datasync);
	ofd_put(o);
	TRACE_SERVED(fsync, r, t0, "%d", fd);
	return (int)shim_ret(r);
}

SHIM_API int fsync(int fd)
{
	return fd_sync(fd, 0, SYS(fsync));
}

SHIM_API int fdatasync(int fd)
{
	return fd_sync(fd, 1, SYS(fdatasync));
}

SHIM_API int syncfs(int fd)
{
	return fd_sync(fd, 0, SYS(syncfs));
}

SHIM_API int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	struct ofd *o = fd_get_fast(fd);
	int r;

	if (likely(o == NULL))
		return SYS(sync_file_range)(fd, off, len, flags);
	SHIM_SERVE();
	if (off < 0 || len < 0 || (flags & ~(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					     SYNC_FILE_RANGE_WAIT_AFTER)))
		r = -EINVAL;
	else
		r = ofd_not_path(o);
	if (!r)
		r = umfs_fsync(o->uf, 1);
	ofd_put(o);
	TRACE_SERVED(fsync, r, 0, "%d (sync_file_range)", fd);
	return (int)shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* Copies between descriptors, one side at least UMFS's                 */
/* ------------------------------------------------------------------ */

#define COPY_CHUNK (256u << 10)

/* A pipe or FIFO: a kernel descriptor (UMFS FIFOs are the host's). */
static bool fd_is_pipe(int fd)
{
	struct stat st;

	return uinfo_peek(fd) == NULL && SYS(fstat)(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* A kernel descriptor of a regular file or block device: what sendfile
 * reads. */
static bool fd_is_file(int fd)
{
	struct stat st;

	return SYS(fstat)(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

/* For splice's SPLICE_F_NONBLOCK: whether the pipe fd can take part in a
 * transfer now without waiting (ev: POLLIN to read it, POLLOUT to write
 * it; a pipe whose other end is gone answers at once too). */
static bool pipe_ready(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int saved = errno;
	bool ready = SYS(poll)(&p, 1, 0) == 1 && (p.revents & (ev | POLLHUP | POLLERR));

	errno = saved;
	return ready;
}

/* The side of a transfer that is a pipe (as splice's, or sendfile's
 * destination), and whether it may wait: SPLICE_F_NONBLOCK, or the pipe's
 * own O_NONBLOCK, as the kernel takes either. */
struct copy_pipe {
	int fd; /* -1: neither side is a pipe */
	bool nonblock;
};

static const struct copy_pipe no_pipe = { -1, false };

static struct copy_pipe copy_pipe_of(int fd, bool splice_nonblock)
{
	int fl = SYS(fcntl)(fd, F_GETFL);

	return (struct copy_pipe){ fd, splice_nonblock || (fl >= 0 && (fl & O_NONBLOCK)) };
}

/* Waits, unless nb, until the pipe fd can take part in a transfer (ev as
 * pipe_ready's): the kernel's wait before a splice moves anything, where
 * nothing of the library is held. So it waits as the kernel's does: with
 * the depth at 0, a signal's handler runs at once; after one without
 * SA_RESTART the call ends with EINTR, after others the wait goes on (the
 * kernel restarts the call; poll, which is never restarted, is called
 * again). A cancellation point for splice (cancel_point): the C library's
 * poll is one; sendfile's wait is none. 0; -EAGAIN when nb and it cannot;
 * -EINTR. */
static int pipe_wait(int fd, short ev, bool nb, bool cancel_point)
{
	struct pollfd p = { .fd = fd, .events = ev };
	struct sig_allowed allowed;
	unsigned seen = sig_interrupts;
	int saved = errno, cs, r;

	if (nb)
		return pipe_ready(fd, ev) ? 0 : -EAGAIN;
	allowed = sig_allow_begin();
	if (!cancel_point)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	do
		r = SYS(poll)(&p, 1, -1) < 0 ? -errno : 0;
	while (r == -EINTR && sig_interrupts == seen);
	if (!cancel_point)
		pthread_setcancelstate(cs, NULL);
	sig_allow_end(allowed);
	errno = saved;
	return r == -EINTR ? r : 0;
}

/* Reads from in (at *inoff, or its offset), writes to out (at *outoff, or
 * its offset); both through the shim, so either may be a kernel fd. A
 * file is read until len bytes or its end, as the kernel's splice loop
 * reads (a file that grows meanwhile gives more). A pipe side moves as in
 * a kernel splice: the call waits (unless non-blocking) only until the
 * pipe can move something, then moves what it can without waiting again:
 * a pipe read gives what the pipe holds, a pipe written takes one pipe
 * buffer (PIPE_BUF) at a time while it has room for one; -EAGAIN when
 * nothing could move without waiting. */
static ssize_t copy_loop_run(int in, off64_t *inoff, int out, off64_t *outoff, size_t len,
			     struct copy_pipe pipe)
{
	bool in_pipe = pipe.fd == in, out_pipe = pipe.fd == out;
	size_t chunk = len < COPY_CHUNK ? len : COPY_CHUNK;
	ssize_t total = 0;
	char *buf;

	if (out_pipe)
		chunk = chunk < PIPE_BUF ? chunk : PIPE_BUF; /* one buffer: a write that cannot wait */
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	while ((size_t)total < len) {
		size_t want = len - (size_t)total < chunk ? len - (size_t)total : chunk;
		ssize_t n, w, done = 0;

		if (total && pipe.fd >= 0 && !pipe_ready(pipe.fd, out_pipe ? POLLOUT : POLLIN))
			break;
		n = inoff ? pread(in, buf, want, *inoff) : read(in, buf, want);
		if (n < 0) {
			n = -errno;
			free(buf);
			return total ? total : n;
		}
		if (n == 0)
			break;
		while (done < n) {
			w = outoff ? pwrite(out, buf + done, (size_t)(n - done), *outoff + done)
				   : write(out, buf + done, (size_t)(n - done));
			if (w < 0) {
				w = -errno;
				if (inoff == NULL) /* give back what was read and not written */
					lseek(in, done - n, SEEK_CUR);
				free(buf);
				return total + done ? total + done : w;
			}
			done += w;
		}
		if (inoff)
			*inoff += n;
		if (outoff)
			*outoff += n;
		total += n;
		if (in_pipe && (size_t)n < want)
			break; /* the pipe gave what it held */
	}
	free(buf);
	return total;
}

/* The loop's reads, writes and waits go through the interposers, which are
 * cancellation points: none may end it with its buffer held and the
 * offsets half moved. A call that is one acts on a cancellation as it
 * starts, and in the wait for its pipe (cancel_point), before the loop. */
static ssize_t copy_loop(int in, off64_t *inoff, int out, off64_t *outoff, size_t len,
			 struct copy_pipe pipe, bool cancel_point)
{
	ssize_t r = 0;
	int cs;

	if (len == 0)
		return 0;
	if (pipe.fd >= 0)
		r = pipe_wait(pipe.fd, pipe.fd == out ? POLLOUT : POLLIN, pipe.nonblock, cancel_point);
	if (r)
		return r;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = copy_loop_run(in, inoff, out, outoff, len, pipe);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static bool fd_is_umfs(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	return o && o != UINFO_INTERNAL;
}

/*
 * copy_file_range between UMFS files, as Linux: the count is cut at the
 * source's EOF first (later growth of the file, by this very copy when
 * source and destination are one file, copies nothing more), then ranges
 * of one file that overlap are refused.
 */
static int copy_clamp(int in, off64_t *inoff, int out, off64_t *outoff, size_t *len)
{
	struct ofd *oi = fd_get_fast(in), *oo = fd_get_fast(out);
	struct stat st;
	int r = 0;

	if (oi && oo) {
		uint64_t a = inoff ? (uint64_t)*inoff : oi->sh->pos;
		uint64_t b = outoff ? (uint64_t)*outoff : oo->sh->pos;

		r = umfs_fstat(oi->uf, &st);
		if (!r && a >= (uint64_t)st.st_size)
			*len = 0;
		else if (!r && *len > (uint64_t)st.st_size - a)
			*len = (size_t)((uint64_t)st.st_size - a);
		if (!r && oi->ino == oo->ino && a < b + *len && b < a + *len)
			r = -EINVAL;
		if (!r && *len > (uint64_t)INT64_MAX - b)
			*len = (size_t)((uint64_t)INT64_MAX - b); /* as the kernel: to the largest offset */
	}
	if (oi)
		ofd_put(oi);
	if (oo)
		ofd_put(oo);
	return r;
}

/* Both descriptors exist: EBADF before anything else, in then out. */
static int copy_fds_exist(int in, int out)
{
	int r = fd_fdget_check(in);

	return r ? r : fd_fdget_check(out);
}

/* One side of a copy as its description allows it, once fd_fdget_check
 * found it (O_PATH ones are not), as the kernel checks it first: a
 * description that cannot read (reads) or write is bad (EBADF); dir,
 * append and other (neither a regular file nor a directory) say what it
 * is; for a kernel descriptor (a pipe, a socket, a device, another file
 * system's file) as for a UMFS one. */
struct copy_side {
	bool bad, dir, append, other;
};

static struct copy_side copy_side(int fd, bool reads)
{
	struct ofd *o = fd_get_fast(fd);
	struct copy_side c = { false, false, false, false };
	struct stat st;
	int fl;

	if (!o) {
		fl = SYS(fcntl)(fd, F_GETFL);
		if (fl < 0 || SYS(fstat)(fd, &st) < 0)
			return c; /* its fdget check said it is there: the copy tells */
		c.bad = (fl & O_PATH) || !(reads ? acc_reads(fl) : acc_writes(fl));
		c.dir = S_ISDIR(st.st_mode);
		c.append = fl & O_APPEND;
		c.other = !S_ISREG(st.st_mode) && !c.dir;
		return c;
	}
	fl = atomic_load(&o->sh->flags);
	/* access mode 3 neither reads nor writes */
	c.bad = !o->uf || !(reads ? acc_reads(fl) : acc_writes(fl));
	c.dir = o->type == S_IFDIR;
	c.append = fl & O_APPEND;
	ofd_put(o);
	return c;
}

/* copy_file_range's checks of the two descriptions, in the kernel's
 * order (generic_file_rw_checks): a directory on either side, anything
 * else that is not a regular file, then a side that cannot read or write,
 * or a destination in append mode. */
static int copy_range_check_modes(int in, int out)
{
	struct copy_side i = copy_side(in, true), o = copy_side(out, false);

	if (i.dir || o.dir)
		return -EISDIR;
	if (i.other || o.other)
		return -EINVAL;
	return i.bad || o.bad || o.append ? -EBADF : 0;
}

/* An offset argument read as the kernel's copy_from_user reads it: into
 * *pos (left alone for NULL), -EFAULT when it cannot be read. */
static int copy_off_get(const off64_t *user, off64_t *pos)
{
	if (!user)
		return 0;
	if (user_readable(user, sizeof(*user)))
		return -EFAULT;
	*pos = *user;
	return 0;
}

/* The offsets handed back after a transfer, each as the kernel's
 * copy_to_user: r, or -EFAULT when one cannot be stored (the bytes have
 * moved all the same). */
static ssize_t copy_offs_put(ssize_t r, off64_t *inoff, off64_t ipos, off64_t *outoff,
			     off64_t opos)
{
	if (inoff && user_copy_out(inoff, &ipos, sizeof(ipos)))
		r = -EFAULT;
	if (outoff && user_copy_out(outoff, &opos, sizeof(opos)))
		r = -EFAULT;
	return r;
}

/* copy_file_range's offsets, as the kernel checks them: one that wraps
 * with the count is EOVERFLOW, any other negative one EINVAL. */
static int copy_offsets_check(const off64_t *inoff, const off64_t *outoff, size_t len)
{
	uint64_t a = inoff ? (uint64_t)*inoff : 0, b = outoff ? (uint64_t)*outoff : 0;

	if (a + len < a || b + len < b)
		return -EOVERFLOW;
	return (inoff && *inoff < 0) || (outoff && *outoff < 0) ? -EINVAL : 0;
}

SHIM_API ssize_t copy_file_range(int in, off64_t *inoff, int out, off64_t *outoff, size_t len,
				 unsigned int flags)
{
	off64_t ipos = 0, opos = 0, *ip = inoff ? &ipos : NULL, *op = outoff ? &opos : NULL;
	uint64_t t0;
	ssize_t r;

	if (likely(uinfo_peek(in) == NULL && uinfo_peek(out) == NULL)) {
		TRACE_PASS(copy_file_range, "%d, %d", in, out);
		return SYS(copy_file_range)(in, inoff, out, outoff, len, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	/* the kernel's order: the descriptors, the offsets read, the flags */
	r = copy_fds_exist(in, out);
	if (!r)
		r = copy_off_get(inoff, &ipos);
	if (!r)
		r = copy_off_get(outoff, &opos);
	if (!r && flags)
		r = -EINVAL;
	if (!r)
		r = copy_range_check_modes(in, out);
	if (!r)
		r = copy_offsets_check(ip, op, len);
	/* as Linux (5.19 on) between file systems: the caller copies itself */
	if (!r && (fd_is_umfs(in) != fd_is_umfs(out)))
		r = -EXDEV;
	if (!r && fd_is_umfs(in) && fd_is_umfs(out))
		r = copy_clamp(in, ip, out, op, &len);
	if (!r) {
		shim_depth++;
		r = copy_loop(in, ip, out, op, len, no_pipe, false);
		shim_depth--;
	}
	if (r > 0)
		r = copy_offs_put(r, inoff, ipos, outoff, opos);
	TRACE_SERVED(copy_file_range, r, t0, "%d, %d, %zu", in, out, len);
	return shim_ret(r);
}

/* The span a transfer reads or writes on the file fd: from *pos (the
 * caller's offset, already read) or the file's own position, len bytes.
 * As the kernel's rw_verify_area: a count or a start that is negative, or
 * an end past the largest offset, is EINVAL. */
static int copy_span_check(int fd, const off64_t *pos, size_t len)
{
	off64_t at;

	if (pos) {
		at = *pos;
	} else {
		shim_depth++;
		at = lseek(fd, 0, SEEK_CUR); /* through the shim: fd may be UMFS's */
		shim_depth--;
	}
	if ((ssize_t)len < 0 || (pos && at < 0))
		return -EINVAL;
	return at >= 0 && (uint64_t)at + len > (uint64_t)INT64_MAX ? -EINVAL : 0;
}

SHIM_API ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	struct copy_side src = { false, false, false, false }, dst = src;
	off64_t pos = 0;
	uint64_t t0;
	ssize_t r;

	if (likely(uinfo_peek(in) == NULL && uinfo_peek(out) == NULL)) {
		TRACE_PASS(sendfile, "%d, %d", out, in);
		return SYS(sendfile)(out, in, off, count);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	/* the kernel reads the offset first, and stores it back whatever
	 * the transfer gave */
	r = copy_off_get(off, &pos);
	if (r) {
		TRACE_SERVED(sendfile, r, t0, "%d, %d, %zu", out, in, count);
		return shim_ret(r);
	}
	/* the kernel's order: the source, its span, the destination, then
	 * what can be read by splicing (a file; a directory has no splice read) */
	r = fd_fdget_check(in);
	if (!r)
		src = copy_side(in, true);
	if (!r && src.bad)
		r = -EBADF;
	if (!r && !off) { /* read from where the source's offset stands */
		int saved = errno;

		shim_depth++;
		pos = lseek(in, 0, SEEK_CUR);
		shim_depth--;
		if (pos < 0) /* not a file: refused below, as the kernel does */
			pos = 0;
		errno = saved;
	}
	if (!r)
		r = copy_span_check(in, &pos, count);
	if (!r)
		r = fd_fdget_check(out);
	if (!r)
		dst = copy_side(out, false);
	if (!r && dst.bad)
		r = -EBADF;
	if (!r && dst.append)
		r = -EINVAL; /* no splice into O_APPEND */
	if (!r && (fd_is_umfs(in) ? src.dir : !fd_is_file(in)))
		r = -EINVAL;
	if (!r) {
		/* as the kernel: the source read from where its offset stood at
		 * the call, which moves once, at the end (the destination may be
		 * the same description, written at that same offset) */
		shim_depth++;
		r = copy_loop(in, &pos, out, NULL, count,
			      fd_is_pipe(out) ? copy_pipe_of(out, false) : no_pipe, false);
		if (!off && r > 0)
			lseek(in, pos, SEEK_SET);
		shim_depth--;
	}
	if (off)
		r = copy_offs_put(r, off, pos, NULL, 0);
	TRACE_SERVED(sendfile, r, t0, "%d, %d, %zu", out, in, count);
	return shim_ret(r);
}

/* The flags splice and tee know. */
#define SPLICE_FLAGS (unsigned)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)

/* splice's checks in the kernel's order: the flags, that the descriptors
 * exist, no offset on a pipe's side (ESPIPE), the offsets read (EFAULT),
 * what each description allows (a directory has no splice read: EINVAL),
 * then one side must be a pipe (*pipe_fd: which), a file written must not
 * be O_APPEND, and the file's span must be valid. */
static int splice_check(int in, const off64_t *inoff, off64_t *ipos, int out,
			const off64_t *outoff, off64_t *opos, size_t len, unsigned flags,
			int *pipe_fd)
{
	struct copy_side src, dst;
	bool in_pipe, out_pipe;
	int r, room;

	if (flags & ~SPLICE_FLAGS)
		return -EINVAL;
	r = copy_fds_exist(in, out);
	if (r)
		return r;
	in_pipe = fd_is_pipe(in);
	out_pipe = fd_is_pipe(out);
	if ((in_pipe && inoff) || (out_pipe && outoff))
		return -ESPIPE;
	r = copy_off_get(outoff, opos);
	if (!r)
		r = copy_off_get(inoff, ipos);
	if (r)
		return r;
	src = copy_side(in, true);
	dst = copy_side(out, false);
	if (src.bad || dst.bad)
		return -EBADF;
	if ((!in_pipe && !out_pipe) || src.dir) /* a directory has no splice read */
		return -EINVAL;
	*pipe_fd = out_pipe ? out : in;
	if (in_pipe && dst.append)
		return -EINVAL;
	if (in_pipe)
		return copy_span_check(out, outoff ? opos : NULL, len);
	if ((ssize_t)len < 0)
		return -EINVAL;
	room = SYS(fcntl)(out, F_GETPIPE_SZ); /* a read takes no more than the pipe holds */
	return copy_span_check(in, inoff ? ipos : NULL,
				room > 0 && (size_t)room < len ? (size_t)room : len);
}

/* tee moves between two pipes only: a UMFS side is refused as a file is,
 * after the modes (EBADF), which are its description's, not its token's. */
SHIM_API ssize_t tee(int in, int out, size_t len, unsigned int flags)
{
	int r;

	if (!fd_pass_ok(in) || !fd_pass_ok(out))
		return -1;
	if (likely(uinfo_peek(in) == NULL && uinfo_peek(out) == NULL))
		return SYS(tee)(in, out, len, flags);
	if (flags & ~SPLICE_FLAGS)
		return shim_ret(-EINVAL);
	if (!len)
		return 0;
	r = copy_fds_exist(in, out);
	if (!r)
		r = copy_side(in, true).bad || copy_side(out, false).bad ? -EBADF : -EINVAL;
	return shim_ret(r);
}

SHIM_API ssize_t splice(int in, off64_t *inoff, int out, off64_t *outoff, size_t len,
			unsigned int flags)
{
	off64_t ipos = 0, opos = 0;
	uint64_t t0;
	ssize_t r = 0;
	int pipe_fd = -1;

	if (likely(uinfo_peek(in) == NULL && uinfo_peek(out) == NULL)) {
		TRACE_PASS(splice, "%d, %d", in, out);
		return SYS(splice)(in, inoff, out, outoff, len, flags);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	if (len) /* an empty splice checks nothing */
		r = splice_check(in, inoff, &ipos, out, outoff, &opos, len, flags, &pipe_fd);
	if (!r && len) {
		shim_depth++;
		r = copy_loop(in, inoff ? &ipos : NULL, out, outoff ? &opos : NULL, len,
			      copy_pipe_of(pipe_fd, flags & SPLICE_F_NONBLOCK), true);
		shim_depth--;
		if (r >= 0) /* the kernel stores the offset back after any transfer */
			r = copy_offs_put(r, inoff, ipos, outoff, opos);
	}
	TRACE_SERVED(splice, r, t0, "%d, %d, %zu", in, out, len);
	return shim_ret(r);
}
