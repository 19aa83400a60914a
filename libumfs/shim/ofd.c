/* SPDX-License-Identifier: MIT */
/*
 * ofd.c - open file descriptions.
 *
 * What every holder of a description must share (the file offset, the
 * status flags, which inode, the path at open) is a slot of the arena
 * (ofd_slot.c); the descriptor the program gets is the slot's token, which
 * the kernel shares and counts across dup, fork, exec and SCM_RIGHTS. After
 * exec, the new image finds the tokens among its descriptors by their
 * /proc/self/fd link and re-opens each inode by number and generation.
 *
 * Per process, struct ofd holds the core's open file and a reference count
 * (descriptors in U-info plus calls in flight).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define OFD_VERSION 5

static pthread_mutex_t ofd_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ofd *ofd_live;  /* every live description */
static struct ofd *ofd_spare; /* released ones, kept for reuse (type-stable) */

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
	o->slot = UINT32_MAX;
	o->anchor = -1;
	o->born = UINT64_MAX; /* adopted: may be held elsewhere */
	o->uf = NULL;
	o->dir = NULL;
	o->cloexec_fd = -1;
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

void ofd_lock(struct ofd *o)
{
	/* from a dead holder: the offset is a plain number, nothing to repair */
	umfs_plock_lock(&o->sh->lock, "a file offset's lock");
}

void ofd_unlock(struct ofd *o)
{
	umfs_plock_unlock(&o->sh->lock);
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

int ofd_whence_base(struct ofd *o, int whence, int64_t *base)
{
	switch (whence) {
	case SEEK_SET:
		*base = 0;
		return 0;
	case SEEK_CUR:
		*base = (int64_t)o->sh->pos;
		return 0;
	case SEEK_END:
		*base = ofd_size(o);
		return 0;
	}
	return -EINVAL;
}

int ofd_claim(int flags, struct ofd_claim *c)
{
	c->born = ofd_spawn_epoch(); /* before the token exists */
	c->cloexec = (flags & O_CLOEXEC) != 0;
	c->o = ofd_alloc();
	if (!c->o)
		return -ENOMEM;
	/* the token: the lowest free number, as open() must return */
	c->fd = ofd_slot_claim(flags, &c->slot, &c->sh, &c->anchor);
	if (c->fd >= 0) {
		/* The slot is this claim's now. The locks a closed description
		 * left in it go at once, whatever becomes of the claim: a claim
		 * cancelled or refused keeps the token (cached or parked), and
		 * a token held is a live owner to every front end. */
		reclock_slot_claimed(c->sh, c->slot);
		atomic_store(&c->sh->lock_id, 0);
	}
	if (c->fd >= 0 && !uinfo_covers(c->fd)) {
		/* a number U-info has no entry for (uinfo_covers): the process
		 * holds more descriptors than UMFS serves */
		OS(close)(c->fd);
		fd_note_closed(c->fd);
		ofd_slot_release(c->slot, c->anchor, c->born);
		c->fd = -EMFILE;
	}
	if (c->fd < 0) {
		ofd_unlink_and_spare(c->o);
		return c->fd;
	}
	return 0;
}

void ofd_claim_cancel(struct ofd_claim *c)
{
	int saved_errno = errno;

	/* as the close of a description: parked when it may be, so that the
	 * next claim (a retried O_EXCL open) takes it back with no call */
	if (!ofd_slot_park(c->slot, c->anchor, c->born, c->fd, c->cloexec)) {
		ofd_slot_release(c->slot, c->anchor, c->born);
		sys_close_quiet(c->fd);
		fd_note_free(c->fd);
	}
	ofd_unlink_and_spare(c->o);
	errno = saved_errno;
}

static int ofd_claim_fill(struct ofd_claim *c, struct umfs_file *uf, const char *path,
			  int flags)
{
	size_t plen = strlen(path);
	struct ofd_shared *sh = c->sh;
	struct ofd *o = c->o;

	if (path[0] != '/')
		plen = 0, path = ""; /* no path from the root known: none */
	if (offsetof(struct ofd_shared, path) + plen + 1 > OFD_SLOT_SIZE) {
		ofd_claim_cancel(c);
		return -ENAMETOOLONG;
	}
	sh->magic = OFD_MAGIC;
	sh->version = OFD_VERSION;
	sh->size = OFD_SLOT_SIZE;
	memcpy(sh->pool_uuid, shim_pool_uuid, sizeof(sh->pool_uuid));
	umfs_file_id(uf, &sh->ino, &sh->gen);
	atomic_store(&sh->flags, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
	sh->created = umfs_file_created(uf) ? OFD_CREATED : 0;
	umfs_plock_init(&sh->lock);
	sh->pos = 0;
	sh->path_len = (uint32_t)plen;
	memcpy(sh->path, path, plen + 1);

	o->sh = sh;
	o->slot = c->slot;
	o->anchor = c->anchor;
	o->born = c->born;
	o->uf = uf;
	o->ino = sh->ino;
	o->gen = sh->gen;
	o->type = file_type(uf);
	o->cached_flags = atomic_load(&sh->flags);
	umfs_file_set_flags(uf, o->cached_flags);
	o->cloexec_fd = c->fd;
	o->cloexec = c->cloexec;
	o->registered = true; /* the caller counted the open */
	ofd_link(o);
	uinfo_set(c->fd, o);
	return c->fd;
}

int ofd_create(struct ofd_claim *c, struct umfs_file *uf, const char *path, int flags)
{
	struct ofd_claim own;
	int err;

	if (!c) {
		err = ofd_claim(flags, &own);
		if (err)
			return err;
		c = &own;
	}
	return ofd_claim_fill(c, uf, path, flags);
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
	if (!err && (cur[0] == '\0' || strlen(cur) + 1 > size))
		err = -ENAMETOOLONG; /* "": longer than PATH_MAX when opened */
	if (!err)
		strcpy(buf, cur);
	pthread_mutex_unlock(&o->dlock);
	return err;
}

void ofd_get(struct ofd *o)
{
	atomic_fetch_add(&o->refs, 1);
}

/* park_fd: the program's descriptor that the last close leaves open, if
 * the slot may keep it (true then), or -1. */
static bool ofd_release(struct ofd *o, int park_fd)
{
	bool parked = false;

	/* the common case drops the registry's count with the file, under
	 * one lock of the core */
	bool with_file = o->registered && o->uf && !o->dir;

	pool_lock();
	if (o->registered && !with_file)
		registry_add(o->ino, -1);
	o->registered = false;
	if (o->dir)
		umfs_closedir(o->dir);
	o->dir = NULL;
	if (o->uf && with_file)
		umfs_close_held(o->uf);
	else if (o->uf)
		umfs_close(o->uf);
	o->uf = NULL;
	pool_unlock();
	/* no child was started since it was made: nobody else holds it */
	reclock_ofd_closed(o, o->born == ofd_spawn_epoch());
	free(o->lpath);
	o->lpath = NULL;
	if (o->sh && park_fd >= 0 && o->cloexec_fd == park_fd)
		parked = ofd_slot_park(o->slot, o->anchor, o->born, park_fd, o->cloexec);
	if (o->sh && !parked)
		ofd_slot_release(o->slot, o->anchor, o->born);
	o->sh = NULL;
	o->anchor = -1;
	ofd_unlink_and_spare(o);
	return parked;
}

void ofd_put(struct ofd *o)
{
	if (atomic_fetch_sub(&o->refs, 1) == 1)
		ofd_release(o, -1);
}

bool ofd_put_closing(struct ofd *o, int fd)
{
	return atomic_fetch_sub(&o->refs, 1) == 1 && ofd_release(o, fd);
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
	uint32_t slot;
	struct ofd *o;
};

/* The description behind token fd (its /proc/self/fd link given); 0 when
 * it is not one of this pool's, 1 when adopted. */
/* An inherited number past U-info's table (uinfo_covers) stays what the
 * kernel has at it, as a file of another pool does. */
static int adopt_refused(int fd)
{
	SHIM_LOG(LOG_WARN, "fd %d is a UMFS file past the descriptor numbers this process "
		 "serves; it stays unusable", fd);
	return 0;
}

static int adopt_one(int fd, const char *link, struct adopted *seen, int *nseen, int max)
{
	struct umfs_file *uf;
	struct ofd_shared *sh;
	struct umfs_fs *fs;
	uint32_t slot;
	struct ofd *o;
	int err;

	err = shim_mount_for_adoption();
	fs = shim_fs_peek();
	sh = err || !fs ? NULL : ofd_slot_of_link(link, &slot);
	if (!sh || sh->magic != OFD_MAGIC || sh->version != OFD_VERSION ||
	    sh->size != OFD_SLOT_SIZE || sh->path_len >= OFD_SLOT_SIZE - sizeof(*sh) ||
	    sh->path[sh->path_len] != '\0' || strlen(sh->path) != sh->path_len ||
	    memcmp(sh->pool_uuid, shim_pool_uuid, sizeof(shim_pool_uuid)) != 0) {
		SHIM_LOG(LOG_WARN, "fd %d is a UMFS file of another pool (or the pool cannot be "
			 "mounted); it stays unusable", fd);
		return 0;
	}
	for (int i = 0; i < *nseen; i++) {
		if (seen[i].slot == slot) { /* dup of one already adopted */
			ofd_get(seen[i].o);
			if (!uinfo_set(fd, seen[i].o))
				return adopt_refused(fd);
			return 1;
		}
	}
	o = ofd_alloc();
	if (!o)
		return 0;
	pool_lock();
	err = umfs_open_id(fs, sh->ino, sh->gen, atomic_load(&sh->flags), UMFS_OPEN_ID_NOCHECK,
			   &uf);
	if (!err)
		registry_add(sh->ino, 1);
	pool_unlock();
	if (err) {
		SHIM_LOG(LOG_WARN, "fd %d: inherited UMFS file (inode %llu) is gone: %s", fd,
			 (unsigned long long)sh->ino, umfs_strerror(err));
		ofd_unlink_and_spare(o);
		return 0;
	}
	o->sh = sh;
	o->slot = slot;
	o->path_epoch = UINT64_MAX; /* check the path at first use */
	o->uf = uf;
	o->ino = sh->ino;
	o->gen = sh->gen;
	o->type = file_type(uf);
	o->cached_flags = atomic_load(&sh->flags);
	umfs_file_set_flags(uf, o->cached_flags);
	o->registered = true;
	ofd_link(o);
	if (!uinfo_set(fd, o))
		return adopt_refused(fd);
	if (*nseen < max) {
		seen[*nseen].slot = slot;
		seen[*nseen].o = o;
		(*nseen)++;
	}
	return 1;
}

struct adopt_scan {
	struct adopted seen[64];
	int nseen, count, scan_fd;
};

static int adopt_entry(int dfd, const char *name, void *arg)
{
	struct adopt_scan *sc = arg;
	char link[PATH_MAX], *end;
	long fd = strtol(name, &end, 10);
	ssize_t n;

	if (*end || end == name || fd == sc->scan_fd || uinfo_peek((int)fd))
		return 0;
	n = SYS(readlinkat)(dfd, name, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if (text_adopt((int)fd, link) || !ofd_link_is_token(link))
		return 0;
	sc->count += adopt_one((int)fd, link, sc->seen, &sc->nseen, (int)ARRAY_SIZE(sc->seen));
	return 0;
}

int ofd_adopt_inherited(void)
{
	struct adopt_scan sc = { .nseen = 0 };

	sc.scan_fd = OS(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sc.scan_fd < 0)
		return 0;
	(void)sys_dir_each(sc.scan_fd, adopt_entry, &sc);
	sys_close_quiet(sc.scan_fd);
	return sc.count;
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
	ofd_slot_fork_prepare();
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
	ofd_slot_fork_parent();
}

void ofd_fork_child(void)
{
	pthread_mutex_unlock(&ofd_list_lock);
	ofd_slot_fork_child();
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

/* The slots this image holds are let go as hints: those whose descriptors
 * survive (exec) or are shared stay locked, and a claim finds that out. */
static void release_hints(void)
{
	pthread_mutex_lock(&ofd_list_lock);
	for (struct ofd *o = ofd_live; o; o = o->next)
		if (o->sh)
			ofd_slot_release(o->slot, -1, 0);
	pthread_mutex_unlock(&ofd_list_lock);
	ofd_slot_hint_cached();
}

void ofd_exec_prepare(void)
{
	registry_all(-1);
	release_hints();
}

void ofd_exec_failed(void)
{
	registry_all(1);
}

bool ofd_idle(void)
{
	return shim_mutex_idle(&ofd_list_lock) && ofd_slot_idle();
}

void ofd_exit(void)
{
	registry_all(-1);
	release_hints();
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
	ofd_slot_shutdown();
}
