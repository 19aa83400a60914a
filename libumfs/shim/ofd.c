/* SPDX-License-Identifier: MIT */
/*
 * ofd.c - open file descriptions and the descriptors that stand for them.
 *
 * Each UMFS open file description keeps what every holder must share (the
 * file offset, the status flags, which inode) in a small memfd mapped
 * MAP_SHARED. The descriptor the program gets is an O_PATH descriptor on
 * that memfd, opened through /proc/self/fd: the kernel reserves its number,
 * shares and counts it across dup, fork, exec and SCM_RIGHTS, and a program
 * running without the shim gets EBADF from read or write on it, never
 * wrong data. After exec, the new image finds these descriptors by their
 * /proc/self/fd link ("/memfd:umfs-ofd (deleted)"), maps the memfd again
 * through /proc/self/fd/N and re-opens the inode by number and generation.
 *
 * Per process, struct ofd holds the core's open file and a reference count
 * (descriptors in U-info plus calls in flight).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define OFD_VERSION 1
#define OFD_MEMFD_NAME "umfs-ofd"
#define OFD_LINK "/memfd:" OFD_MEMFD_NAME " (deleted)"

static pthread_mutex_t ofd_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ofd *ofd_live;  /* every live description */
static struct ofd *ofd_spare; /* released ones, kept for reuse (type-stable) */

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) & ~(pg - 1);
}

static struct ofd *ofd_alloc(void)
{
	struct ofd *o;

	pthread_mutex_lock(&ofd_list_lock);
	o = ofd_spare;
	if (o)
		ofd_spare = o->next;
	pthread_mutex_unlock(&ofd_list_lock);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return NULL;
		pthread_mutex_init(&o->dlock, NULL);
	}
	o->sh = NULL;
	o->sh_len = 0;
	o->memfd_ino = 0;
	o->uf = NULL;
	o->dir = NULL;
	o->lockfd = -1;
	o->registered = false;
	o->tmpfile = false;
	o->lpath = NULL;
	o->path_epoch = shim_dir_epoch();
	o->next = o->prev = NULL;
	return o;
}

static void ofd_link(struct ofd *o)
{
	pthread_mutex_lock(&ofd_list_lock);
	o->live = true;
	o->prev = NULL;
	o->next = ofd_live;
	if (ofd_live)
		ofd_live->prev = o;
	ofd_live = o;
	atomic_store(&o->refs, 1);
	pthread_mutex_unlock(&ofd_list_lock);
}

static void ofd_unlink_and_spare(struct ofd *o)
{
	pthread_mutex_lock(&ofd_list_lock);
	if (o->live) {
		if (o->prev)
			o->prev->next = o->next;
		else
			ofd_live = o->next;
		if (o->next)
			o->next->prev = o->prev;
		o->live = false;
	}
	o->next = ofd_spare;
	ofd_spare = o;
	pthread_mutex_unlock(&ofd_list_lock);
}

static void ofd_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

void ofd_lock(struct ofd *o)
{
	if (pthread_mutex_lock(&o->sh->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&o->sh->lock); /* the offset is a plain number */
}

void ofd_unlock(struct ofd *o)
{
	pthread_mutex_unlock(&o->sh->lock);
}

static mode_t file_type(struct umfs_file *uf)
{
	struct stat st;

	if (umfs_fstat(uf, &st))
		return S_IFREG;
	return st.st_mode & S_IFMT;
}

off_t ofd_size(struct ofd *o)
{
	struct stat st;

	if (umfs_fstat(o->uf, &st))
		return 0;
	return st.st_size;
}

int ofd_create(struct umfs_file *uf, const char *path, int flags, int *fdp)
{
	size_t plen = strlen(path), size = page_round(sizeof(struct ofd_shared) + plen + 1);
	char proc[64];
	struct ofd_shared *sh;
	struct stat st;
	struct ofd *o;
	int mfd, pfd, err;

	o = ofd_alloc();
	if (!o)
		return -ENOMEM;
	mfd = memfd_create(OFD_MEMFD_NAME, MFD_CLOEXEC);
	if (mfd < 0) {
		err = -errno;
		goto err_spare;
	}
	if (SYS(ftruncate)(mfd, (off_t)size) < 0 || SYS(fstat)(mfd, &st) < 0) {
		err = -errno;
		goto err_close_memfd;
	}
	sh = SYS(mmap)(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (sh == MAP_FAILED) {
		err = -errno;
		goto err_close_memfd;
	}
	sh->magic = OFD_MAGIC;
	sh->version = OFD_VERSION;
	sh->size = (uint32_t)size;
	memcpy(sh->pool_uuid, shim_pool_uuid, sizeof(sh->pool_uuid));
	umfs_file_id(uf, &sh->ino, &sh->gen);
	atomic_store(&sh->flags, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
	ofd_mutex_init(&sh->lock);
	sh->pos = 0;
	sh->path_len = (uint32_t)plen;
	memcpy(sh->path, path, plen + 1);

	/* The user's descriptor: O_PATH on the memfd, moved onto the memfd's
	 * own number, which is the lowest free one, as open() must return. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	pfd = SYS(open)(proc, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		err = errno == ENOENT ? -ENOTSUP : -errno; /* no /proc */
		goto err_unmap;
	}
	if (SYS(dup3)(pfd, mfd, (flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		err = -errno;
		SYS(close)(pfd);
		goto err_unmap;
	}
	SYS(close)(pfd);

	o->sh = sh;
	o->sh_len = (uint32_t)size;
	o->memfd_ino = st.st_ino;
	o->uf = uf;
	o->ino = sh->ino;
	o->gen = sh->gen;
	o->type = file_type(uf);
	o->cached_flags = atomic_load(&sh->flags);
	umfs_file_set_flags(uf, o->cached_flags);
	o->registered = true; /* the caller counted the open */
	ofd_link(o);
	uinfo_set(mfd, o);
	*fdp = mfd;
	return 0;

err_unmap:
	SYS(munmap)(sh, size);
err_close_memfd:
	SYS(close)(mfd);
err_spare:
	ofd_unlink_and_spare(o);
	return err;
}

int ofd_path(struct ofd *o, char *buf, size_t size)
{
	uint64_t epoch = shim_dir_epoch();
	struct umfs_fs *fs = shim_fs_peek();
	const char *cur;
	int err = 0;

	pthread_mutex_lock(&o->dlock);
	cur = o->lpath ? o->lpath : o->sh->path;
	if (o->type == S_IFDIR && o->path_epoch != epoch && fs) {
		struct stat st;
		char *now = malloc(PATH_MAX);

		pool_lock();
		err = umfs_stat(fs, cur, &st, 0);
		if (err || st.st_ino != o->ino) {
			/* renamed (or removed) since: ask the core where it is now */
			err = now ? umfs_dir_path(fs, o->ino, o->gen, now, PATH_MAX) : -ENOMEM;
			if (!err) {
				free(o->lpath);
				o->lpath = now;
				now = NULL;
				cur = o->lpath;
			}
		}
		pool_unlock_ro();
		free(now);
		if (!err)
			o->path_epoch = epoch;
	}
	if (!err && strlen(cur) + 1 > size)
		err = -ENAMETOOLONG;
	if (!err)
		strcpy(buf, cur);
	pthread_mutex_unlock(&o->dlock);
	return err;
}

void ofd_get(struct ofd *o)
{
	atomic_fetch_add(&o->refs, 1);
}

static void ofd_release(struct ofd *o)
{
	pool_lock();
	if (o->registered)
		registry_add(o->ino, -1);
	o->registered = false;
	if (o->dir)
		umfs_closedir(o->dir);
	o->dir = NULL;
	if (o->uf)
		umfs_close(o->uf);
	o->uf = NULL;
	pool_unlock();
	sys_close_quiet(o->lockfd);
	o->lockfd = -1;
	free(o->lpath);
	o->lpath = NULL;
	if (o->sh)
		SYS(munmap)(o->sh, o->sh_len);
	o->sh = NULL;
	ofd_unlink_and_spare(o);
}

void ofd_put(struct ofd *o)
{
	if (atomic_fetch_sub(&o->refs, 1) == 1)
		ofd_release(o);
}

void ofd_foreach(void (*fn)(struct ofd *o, void *arg), void *arg)
{
	pthread_mutex_lock(&ofd_list_lock);
	for (struct ofd *o = ofd_live; o; o = o->next)
		fn(o, arg);
	pthread_mutex_unlock(&ofd_list_lock);
}

/* ------------------------------------------------------------------ */
/* Adoption after exec                                                  */
/* ------------------------------------------------------------------ */

struct adopted {
	uint64_t memfd_ino;
	struct ofd *o;
};

/* Maps the description behind placeholder fd; NULL if it is not ours. */
static struct ofd_shared *map_placeholder(int fd, uint64_t *memfd_ino, size_t *len)
{
	char proc[64];
	struct ofd_shared *sh;
	struct stat st;
	int rfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rfd = SYS(open)(proc, O_RDWR | O_CLOEXEC);
	if (rfd < 0)
		return NULL;
	if (SYS(fstat)(rfd, &st) < 0 || st.st_size < (off_t)sizeof(struct ofd_shared)) {
		SYS(close)(rfd);
		return NULL;
	}
	sh = SYS(mmap)(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	SYS(close)(rfd);
	if (sh == MAP_FAILED)
		return NULL;
	if (sh->magic != OFD_MAGIC || sh->version != OFD_VERSION ||
	    sh->size != (uint32_t)st.st_size || sh->path_len >= sh->size - sizeof(*sh)) {
		SYS(munmap)(sh, (size_t)st.st_size);
		return NULL;
	}
	*memfd_ino = st.st_ino;
	*len = (size_t)st.st_size;
	return sh;
}

static int adopt_one(int fd, struct adopted *seen, int *nseen, int max)
{
	struct umfs_file *uf;
	struct ofd_shared *sh;
	struct umfs_fs *fs;
	uint64_t mino;
	struct ofd *o;
	size_t len;
	int err;

	sh = map_placeholder(fd, &mino, &len);
	if (!sh)
		return 0;
	for (int i = 0; i < *nseen; i++) {
		if (seen[i].memfd_ino == mino) { /* dup of one already adopted */
			SYS(munmap)(sh, len);
			ofd_get(seen[i].o);
			uinfo_set(fd, seen[i].o);
			return 1;
		}
	}
	err = shim_mount_for_adoption();
	fs = shim_fs_peek();
	if (err || !fs || memcmp(sh->pool_uuid, shim_pool_uuid, sizeof(shim_pool_uuid)) != 0) {
		SHIM_LOG(LOG_WARN, "fd %d is a UMFS file of another pool (or the pool cannot be "
			 "mounted); it stays unusable", fd);
		SYS(munmap)(sh, len);
		return 0;
	}
	o = ofd_alloc();
	if (!o) {
		SYS(munmap)(sh, len);
		return 0;
	}
	pool_lock();
	err = umfs_open_id(fs, sh->ino, sh->gen, atomic_load(&sh->flags), UMFS_OPEN_ID_NOCHECK,
			   &uf);
	if (!err)
		registry_add(sh->ino, 1);
	pool_unlock();
	if (err) {
		SHIM_LOG(LOG_WARN, "fd %d: inherited UMFS file (inode %llu) is gone: %s", fd,
			 (unsigned long long)sh->ino, umfs_strerror(err));
		SYS(munmap)(sh, len);
		ofd_unlink_and_spare(o);
		return 0;
	}
	o->sh = sh;
	o->sh_len = (uint32_t)len;
	o->path_epoch = UINT64_MAX; /* check the path at first use */
	o->memfd_ino = mino;
	o->uf = uf;
	o->ino = sh->ino;
	o->gen = sh->gen;
	o->type = file_type(uf);
	o->cached_flags = atomic_load(&sh->flags);
	umfs_file_set_flags(uf, o->cached_flags);
	o->registered = true;
	ofd_link(o);
	uinfo_set(fd, o);
	if (*nseen < max) {
		seen[*nseen].memfd_ino = mino;
		seen[*nseen].o = o;
		(*nseen)++;
	}
	return 1;
}

int ofd_adopt_inherited(void)
{
	struct adopted seen[64];
	int nseen = 0, count = 0;
	struct dirent *de;
	DIR *d;

	if (!uinfo)
		return 0;
	d = SYS(opendir)("/proc/self/fd");
	if (!d)
		return 0;
	while ((de = SYS(readdir)(d)) != NULL) {
		char proc[64], link[sizeof(OFD_LINK) + 8];
		ssize_t n;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == SYS(dirfd)(d))
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%ld", fd);
		n = SYS(readlink)(proc, link, sizeof(link) - 1);
		if (n != (ssize_t)strlen(OFD_LINK) || memcmp(link, OFD_LINK, (size_t)n) != 0)
			continue;
		count += adopt_one((int)fd, seen, &nseen, (int)ARRAY_SIZE(seen));
	}
	SYS(closedir)(d);
	return count;
}

/* ------------------------------------------------------------------ */
/* fork, exec, exit: the open-inode registry follows the holders         */
/* ------------------------------------------------------------------ */

/* The child will hold every description too: count it now, before the
 * fork, so that the parent cannot close and free a file the child is about
 * to hold (a failed fork leaves the count one too high: a file that is
 * only freed by the next recovery, never one freed too early). */
void ofd_fork_prepare(void)
{
	pthread_mutex_lock(&ofd_list_lock);
	if (!shim_fs_peek())
		return;
	pool_lock();
	for (struct ofd *o = ofd_live; o; o = o->next)
		if (o->uf && o->registered)
			registry_add(o->ino, 1);
	pool_unlock();
}

void ofd_fork_parent(void)
{
	pthread_mutex_unlock(&ofd_list_lock);
}

void ofd_fork_child(void)
{
	pthread_mutex_unlock(&ofd_list_lock);
}

static void registry_all(int delta)
{
	if (!shim_fs_peek())
		return;
	pthread_mutex_lock(&ofd_list_lock);
	pool_lock();
	for (struct ofd *o = ofd_live; o; o = o->next) {
		if (!o->uf)
			continue;
		if (delta > 0 && !o->registered) {
			registry_add(o->ino, 1);
			o->registered = true;
		} else if (delta < 0 && o->registered) {
			registry_add(o->ino, -1);
			o->registered = false;
		}
	}
	pool_unlock();
	pthread_mutex_unlock(&ofd_list_lock);
}

void ofd_exec_prepare(void)
{
	registry_all(-1);
}

void ofd_exec_failed(void)
{
	registry_all(1);
}

void ofd_exit(void)
{
	registry_all(-1);
}

/* The last process is leaving: close every core file so that the pool can
 * be unmounted; descriptors still open fail with EIO from now on. */
static void shutdown_one(struct ofd *o, void *arg)
{
	(void)arg;
	if (o->dir)
		umfs_closedir(o->dir);
	o->dir = NULL;
	if (o->uf)
		umfs_close(o->uf);
	o->uf = NULL;
}

void ofd_shutdown(void)
{
	ofd_foreach(shutdown_one, NULL);
}
