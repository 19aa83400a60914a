/* SPDX-License-Identifier: MIT */
/* api_file.c - open files: open, close, read, write, seek, truncate, fallocate. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sys/uio.h>

#include "api.h"
#include "cred.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "namei.h"
#include "persist.h"
#include "procfs.h"
#include "share.h"
#include "verify.h"

static int open_check(struct umfs_fs *fs, struct umfs_walk *w, int flags)
{
	const struct umfs_inode *in = umfs_inode(fs, w->ino);
	int mask = 0, err;

	if ((flags & O_DIRECTORY) && !S_ISDIR(in->mode))
		return -ENOTDIR; /* before ELOOP, as Linux: O_DIRECTORY | O_NOFOLLOW on a link */
	if (S_ISLNK(in->mode))
		/* O_NOFOLLOW on a symlink; O_PATH opens the link itself */
		return (flags & O_PATH) ? 0 : -ELOOP;
	if (S_ISDIR(in->mode) && OPEN_MAY_WRITE(flags))
		return -EISDIR;
	if (flags & O_PATH)
		return 0; /* a special file too: the descriptor names it, nothing more */
	if (S_ISCHR(in->mode) || S_ISBLK(in->mode) || S_ISSOCK(in->mode) || S_ISFIFO(in->mode))
		return -ENXIO; /* special files are served by front ends, not the core */
	if (OPEN_MAY_READ(flags))
		mask |= R_OK;
	if (OPEN_MAY_WRITE(flags))
		mask |= W_OK;
	err = umfs_permission(fs, w->ino, mask);
	if (!err && (flags & O_NOATIME) && !umfs_cred_owner_or_capable(fs, w->ino))
		err = -EPERM; /* as Linux: only the owner (or CAP_FOWNER) may */
	return err;
}

/* An O_CREAT open (not O_EXCL) that finds a node in a sticky directory,
 * owned neither by the caller nor by the directory's owner, as Linux's
 * may_create_in_sticky: another user may have planted the name for the
 * caller to write into or read from. Root too. A regular file or a FIFO
 * is refused at the host's fs.protected_regular or fs.protected_fifos
 * level: in a world-writable directory from level 1, in a group-writable
 * one from level 2. Any other node (a device, a socket) is refused in a
 * world-writable directory whatever the levels. */
static int open_sticky_check(struct umfs_fs *fs, const struct umfs_walk *w)
{
	const struct umfs_inode *dir = umfs_inode(fs, w->parent), *in = umfs_inode(fs, w->ino);
	gid_t groups[NGROUPS_MAX_SMALL];
	struct umfs_ucred c;
	int level;

	if (!(dir->mode & S_ISVTX) || !(dir->mode & (S_IWOTH | S_IWGRP)) || in->uid == dir->uid)
		return 0;
	umfs_cred_current(&c, groups);
	if (in->uid == c.uid)
		return 0;
	if (!S_ISREG(in->mode) && !S_ISFIFO(in->mode))
		return (dir->mode & S_IWOTH) ? -EACCES : 0;
	level = umfs_proc_protected(S_ISFIFO(in->mode) ? "fifos" : "regular");
	if ((dir->mode & S_IWOTH) ? level >= 1 : level >= 2)
		return -EACCES;
	return 0;
}

static void file_kill_privs(struct umfs_file *f);

/* Ends a change to f's bytes or size: counted for the front ends that
 * mirror bytes of files (umfs_unmirrored_writes) unless this process
 * mirrors its own changes; then the inode lock goes. */
static void file_changed_unlock(struct umfs_file *f)
{
	if (f->fs->share && !f->fs->mirrored)
		umfs_share_unmirrored_add(f->fs, f->ino);
	umfs_vnode_wrunlock(f->fs, f->vn);
}

/* O_TRUNC at open, of a regular file opened for more than its path. */
static int open_truncate(struct umfs_file *f)
{
	struct umfs_fs *fs = f->fs;
	int err;

	if (!S_ISREG(umfs_inode(fs, f->ino)->mode) || (f->flags & O_PATH))
		return 0;
	umfs_vnode_wrlock(fs, f->vn);
	err = umfs_file_truncate(fs, f->ino, 0);
	if (!err)
		file_kill_privs(f);
	file_changed_unlock(f);
	return err;
}

/* umfs_open and umfs_open_resolve: path is walked from the root, or,
 * when base is set, from the directory at base under the resolve rules. */
static int open_at(struct umfs_fs *fs, const char *base, const char *path, unsigned resolve,
		   int flags, mode_t mode, bool hold, struct umfs_file **filep)
{
	unsigned wflags = 0;
	struct umfs_walk *w;
	struct umfs_file *f;
	bool created = false;
	unsigned tries = 0;
	int err;

	if (flags & O_PATH) /* as open(2): O_CREAT, O_TRUNC... mean nothing with it */
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL; /* as Linux 6.4 on: create a directory with mkdir */
	if (fs->pm.rdonly && (OPEN_MAY_WRITE(flags) || (flags & O_CREAT)))
		return -EROFS;
	w = umfs_walk_get();
	f = calloc(1, sizeof(*f));
	if (!w || !f) {
		err = -ENOMEM;
		goto out_free;
	}
	if (flags & O_NOFOLLOW)
		wflags |= UMFS_WALK_NOFOLLOW;
	if (flags & O_CREAT)
		wflags |= UMFS_WALK_PARENT | ((flags & O_EXCL) ? UMFS_WALK_NOFOLLOW : 0);
	if ((flags & O_CREAT) && *path && path[strlen(path) - 1] == '/')
		wflags |= UMFS_WALK_NAME; /* judged below, whatever the name is */

	umfs_meta_lock(fs);
	if (base)
		err = umfs_walk_resolve(fs, base, path, wflags, resolve, w);
	else
		err = umfs_walk(fs, path, wflags, w);
	if (err)
		goto out_unlock;
	if ((flags & O_CREAT) && w->trailing_slash) {
		err = -EISDIR; /* as Linux: O_CREAT never takes a trailing slash */
		goto out_unlock;
	}
	if (w->ino == 0) {
		err = api_may_change_dir(fs, w->parent);
		if (err)
			goto out_unlock;
		do {
			err = umfs_tx_begin(fs);
			if (err)
				goto out_unlock;
			err = api_tx_end(fs, api_create_in(fs, w, S_IFREG | (mode & 07777), 0,
							   &w->ino));
		} while (api_dir_pages_retry(fs, &err, &tries));
		if (err)
			goto out_unlock;
		created = true;
	} else {
		if ((flags & O_CREAT) && (flags & O_EXCL)) {
			err = -EEXIST;
			goto out_unlock;
		}
		if ((flags & O_CREAT) && S_ISDIR(umfs_inode(fs, w->ino)->mode)) {
			err = -EISDIR;
			goto out_unlock;
		}
		err = (flags & O_CREAT) ? open_sticky_check(fs, w) : 0;
		if (!err)
			err = open_check(fs, w, flags);
		if (err)
			goto out_unlock;
	}
	f->vn = umfs_vnode_get(fs, w->ino);
	if (!f->vn) {
		err = -ENOMEM;
		goto out_unlock;
	}
	if (hold && fs->share)
		umfs_share_hold(fs, w->ino, 1); /* as umfs_hold, without a second lock */
	umfs_meta_unlock(fs);

	f->fs = fs;
	f->ino = w->ino;
	f->relatime = api_fe_relatime(fs);
	f->created = created;
	f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	pthread_mutex_init(&f->pos_lock, NULL);
	umfs_katt_init(&f->katt, f->flags);
	if ((flags & O_TRUNC) && !created) {
		err = open_truncate(f);
		if (err) {
			if (hold)
				umfs_close_held(f);
			else
				umfs_close(f);
			f = NULL;
			goto out_free;
		}
	}
	umfs_walk_put(w);
	fs->be->file_attach(fs, f->vn, f->ino, &f->katt); /* attach at open */
	*filep = f;
	return 0;

out_unlock:
	umfs_meta_unlock(fs);
out_free:
	umfs_walk_put(w);
	free(f);
	return err;
}

void umfs_file_id(const struct umfs_file *f, uint64_t *ino, uint32_t *gen)
{
	*ino = f->ino;
	*gen = umfs_inode(f->fs, f->ino)->generation;
}

bool umfs_file_created(const struct umfs_file *f)
{
	return f->created;
}

int umfs_open_id(struct umfs_fs *fs, uint64_t ino, uint32_t gen, int flags, unsigned how,
		 struct umfs_file **filep)
{
	struct umfs_walk *w;
	struct umfs_file *f;
	int err;

	if (fs->pm.rdonly && !(flags & O_PATH) &&
	    (ACCMODE(flags) != O_RDONLY || ((how & UMFS_OPEN_ID_TRUNC) && (flags & O_TRUNC))))
		return -EROFS;
	w = malloc(sizeof(*w));
	f = calloc(1, sizeof(*f));
	if (!w || !f) {
		err = -ENOMEM;
		goto out_free;
	}
	umfs_meta_lock(fs);
	if (!umfs_inode_live(fs, ino) || umfs_inode(fs, ino)->generation != gen) {
		err = -ESTALE;
		goto out_unlock;
	}
	err = umfs_fs_result(fs, umfs_inode_verify(fs, ino, true));
	if (err)
		goto out_unlock;
	w->ino = ino;
	if (!(how & UMFS_OPEN_ID_TRUNC))
		flags &= ~O_TRUNC;
	err = (how & UMFS_OPEN_ID_NOCHECK) ? 0 : open_check(fs, w, flags);
	if (err)
		goto out_unlock;
	f->vn = umfs_vnode_get(fs, ino);
	if (!f->vn) {
		err = -ENOMEM;
		goto out_unlock;
	}
	umfs_meta_unlock(fs);
	free(w);
	f->fs = fs;
	f->ino = ino;
	f->relatime = api_fe_relatime(fs);
	f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	pthread_mutex_init(&f->pos_lock, NULL);
	umfs_katt_init(&f->katt, f->flags); /* attached at first use */
	if (flags & O_TRUNC) {
		err = open_truncate(f);
		if (err) {
			umfs_close(f);
			return umfs_fs_result(fs, err);
		}
	}
	*filep = f;
	return 0;

out_unlock:
	umfs_meta_unlock(fs);
out_free:
	free(w);
	free(f);
	return err;
}

int umfs_open(struct umfs_fs *fs, const char *path, int flags, mode_t mode,
	      struct umfs_file **filep)
{
	return open_at(fs, NULL, path, 0, flags, mode, false, filep);
}

int umfs_open_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned resolve,
		      int flags, mode_t mode, struct umfs_file **filep)
{
	return open_at(fs, base, rel, resolve, flags, mode, false, filep);
}

int umfs_open_held(struct umfs_fs *fs, const char *base, const char *path, unsigned resolve,
		   int flags, mode_t mode, struct umfs_file **filep)
{
	return open_at(fs, base, path, resolve, flags, mode, true, filep);
}

static int file_close(struct umfs_file *f, bool unhold)
{
	int err;

	if (!f)
		return -EBADF;
	if (f->wrote)
		umfs_file_times_persist(f->fs, f->ino); /* before the inode may go */
	if (f->cache_claimed) { /* while the hold that keeps its entry stands */
		umfs_meta_lock(f->fs);
		umfs_share_mem_claim(f->fs, f->ino, UMFS_MEM_CACHE, -1);
		umfs_meta_unlock(f->fs);
	}
	f->fs->be->file_detach(f->fs, &f->katt); /* detach */
	err = api_vnode_release(f->fs, f->vn, f->ino, unhold);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
	return err;
}

int umfs_close(struct umfs_file *f)
{
	return file_close(f, false);
}

int umfs_close_held(struct umfs_file *f)
{
	return file_close(f, true);
}

int umfs_file_flags(const struct umfs_file *f)
{
	return f->flags;
}

int umfs_file_set_flags(struct umfs_file *f, int flags)
{
	const int settable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC;

	f->flags = (f->flags & ~settable) | (flags & settable);
	return 0;
}

/* relatime, as Linux mounts by default: a read updates atime when it is
 * not newer than mtime or ctime, or more than a day old. The age is asked
 * of the coarse clock: every read asks it, and a few ms do not move a
 * day. One 8-byte store, like the other hot fields; durability comes with
 * the next persist. */
static void file_touch_atime(struct umfs_file *f)
{
	struct umfs_inode *in = umfs_inode(f->fs, f->ino);
	uint64_t atime = in->atime_ns, now;

	if (!f->relatime || (f->flags & O_NOATIME) || f->fs->pm.rdonly)
		return;
	if (atime > in->mtime_ns && atime > in->ctime_ns &&
	    atime + 24ull * 3600 * 1000000000 > (uint64_t)umfs_now_coarse_ns())
		return;
	now = (uint64_t)umfs_now_ns();
	umfs_store64_nodrain(&in->atime_ns, now);
}

/* A call's result; its -EUCLEAN, final once any retry is done, is damage
 * met in the file's tables: reported once per mount. */
static int64_t file_result(const struct umfs_file *f, int64_t r)
{
	return r == -EUCLEAN ? umfs_file_damaged(f->fs, f->ino) : r;
}

static ssize_t file_pread(struct umfs_file *f, void *buf, size_t len, uint64_t off,
			  const struct umfs_out *out)
{
	ssize_t n;

	if (!CAN_READ(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (S_ISDIR(umfs_inode(f->fs, f->ino)->mode))
		return -EISDIR;
	do {
		uint64_t seq = umfs_vnode_read_begin(f->fs, f->vn);
		bool fresh = false;

		n = f->fs->be->file_read(f->fs, f->ino, &f->katt, buf, len, off, &fresh, out);
		if (!umfs_vnode_read_retry(f->fs, f->vn, seq))
			break;
		if (fresh) /* made while a writer was in: may hold freed tables */
			f->katt.dead = true;
	} while (1);
	if (umfs_fs_failed(f->fs)) /* what was read met a page cut off (fault.c) */
		return umfs_fs_eio(f->fs);
	if (n >= 0)
		file_touch_atime(f);
	return file_result(f, n);
}

/* Writing to, truncating or fallocating a set-user-ID or set-group-ID
 * file drops those bits, unless root does it (CAP_FSETID), as Linux:
 * S_ISGID goes when the file is group-executable or the writer is not in
 * its group. */
static void file_kill_privs(struct umfs_file *f)
{
	struct umfs_fs *fs = f->fs;
	struct umfs_inode *in = umfs_inode(fs, f->ino);
	uint32_t kill = 0;

	if (!(in->mode & (S_ISUID | S_ISGID)))
		return;
	if (umfs_cred_capable(UMFS_CAP_FSETID))
		return;
	if (in->mode & S_ISUID)
		kill |= S_ISUID;
	if ((in->mode & S_ISGID) &&
	    ((in->mode & S_IXGRP) || !api_cred_in_group(in->gid)))
		kill |= S_ISGID;
	if (!kill || api_tx_run_begin(fs))
		return;
	if (umfs_tx_add(fs, in, sizeof(*in)) == 0) {
		in->mode &= ~kill;
		umfs_inode_seal(in);
	}
	api_tx_run_end(fs, 0);
}

/* A write that merges a front end's copy into the file (umfs_write_changed). */
struct write_merge {
	const unsigned char *base; /* what the copy was made from */
	unsigned char *into;       /* room for the merged bytes */
};

/* With the write lock held: into the merge's room, the file's bytes at
 * off with buf's over them where buf and base differ. Returns how many
 * (none past the end of the file), or -errno. */
static ssize_t file_merge_locked(struct umfs_file *f, const unsigned char *buf, size_t len,
				 uint64_t off, const struct write_merge *mg)
{
	uint64_t size = umfs_inode(f->fs, f->ino)->size;
	bool fresh = false;
	ssize_t n;

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	/* the lock holds writers off: no read retry (which would wait for it) */
	n = f->fs->be->file_read(f->fs, f->ino, &f->katt, mg->into, len,
				 off, &fresh, NULL);
	for (ssize_t i = 0; i < n;) {
		uint64_t a, b;

		if (i + 8 <= n) {
			memcpy(&a, buf + i, 8);
			memcpy(&b, mg->base + i, 8);
			if (a == b) { /* the copy did not change these */
				i += 8;
				continue;
			}
		}
		for (ssize_t e = i + 8 < n ? i + 8 : n; i < e; i++)
			if (buf[i] != mg->base[i])
				mg->into[i] = buf[i];
	}
	return n;
}

/* off < 0: append (the offset is the size, read under the write lock).
 * The parts of a vector go in under one lock hold: no other writer, in any
 * process, comes between them. With mg, the one part is merged into the
 * file's bytes first. stores: the bytes are a mapping's stores, which keep
 * set-user-ID and set-group-ID, as the kernel's page faults do. */
static ssize_t file_pwritev(struct umfs_file *f, const struct iovec *iov, int cnt, int64_t off,
			    uint64_t *end, umfs_write_gate gate,
			    const struct write_merge *mg, bool stores)
{
	struct iovec merged;
	ssize_t total = 0;
	uint32_t privs;

	if (!CAN_WRITE(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (f->fs->pm.rdonly)
		return -EROFS;
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	umfs_vnode_wrlock(f->fs, f->vn);
	if (gate && gate(f->ino)) {
		/* the lock orders its look after a drain's (umfs_file_writers_drain) */
		umfs_vnode_wrunlock(f->fs, f->vn);
		return -EAGAIN;
	}
	if (mg) {
		ssize_t n = file_merge_locked(f, iov->iov_base, iov->iov_len, (uint64_t)off, mg);

		if (n < 0) {
			total = n; /* nothing written */
			cnt = 0;
		} else {
			merged = (struct iovec){ .iov_base = mg->into, .iov_len = (size_t)n };
			iov = &merged;
		}
	}
	/* read before the write, whose flush of the inode's first line (a
	 * new size) may take it out of the cache (a load of it after cost a
	 * miss) */
	privs = umfs_inode(f->fs, f->ino)->mode & (S_ISUID | S_ISGID);
	if (off < 0)
		off = (int64_t)umfs_inode(f->fs, f->ino)->size;
	for (int i = 0; i < cnt; i++) {
		ssize_t n;

		if (iov[i].iov_len == 0)
			continue;
		n = f->fs->be->file_write(f->fs, f->ino, &f->katt, iov[i].iov_base, iov[i].iov_len,
					  (uint64_t)off + (uint64_t)total);
		if (n < 0 && total == 0)
			total = n;
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	if (total > 0 && privs && !stores)
		file_kill_privs(f);
	if (total > 0)
		f->wrote = true;
	file_changed_unlock(f);
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	if (total >= 0 && end)
		*end = (uint64_t)off + (uint64_t)total;
	return file_result(f, total);
}

static ssize_t file_pwrite(struct umfs_file *f, const void *buf, size_t len, int64_t off,
			   uint64_t *end)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return file_pwritev(f, &iov, 1, off, end, NULL, NULL, false);
}

ssize_t umfs_pread(struct umfs_file *f, void *buf, size_t len, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return file_pread(f, buf, len, (uint64_t)off, NULL);
}

ssize_t umfs_pread_out(struct umfs_file *f, void *buf, size_t len, off_t off,
		       const struct umfs_out *out)
{
	if (off < 0)
		return -EINVAL;
	return file_pread(f, buf, len, (uint64_t)off, out);
}

ssize_t umfs_pwrite(struct umfs_file *f, const void *buf, size_t len, off_t off)
{
	/* Linux: pwrite on an O_APPEND file appends regardless of off */
	if (off < 0)
		return -EINVAL;
	return file_pwrite(f, buf, len, (f->flags & O_APPEND) ? -1 : off, NULL);
}

ssize_t umfs_write_at(struct umfs_file *f, const void *buf, size_t len, off_t off, off_t *end,
		      umfs_write_gate gate)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return umfs_writev_at(f, &iov, 1, off, end, gate);
}

ssize_t umfs_writev_at(struct umfs_file *f, const struct iovec *iov, int cnt, off_t off,
		       off_t *end, umfs_write_gate gate)
{
	uint64_t e = 0;
	ssize_t n;

	if (off < 0 || cnt < 0)
		return -EINVAL;
	n = file_pwritev(f, iov, cnt, (f->flags & O_APPEND) ? -1 : off, &e, gate, NULL, false);
	if (n >= 0 && end)
		*end = n > 0 ? (off_t)e : off; /* as Linux: an empty write leaves the offset */
	return n;
}

ssize_t umfs_write_changed(struct umfs_file *f, const void *buf, const void *base, size_t len,
			   off_t off)
{
	struct write_merge mg = { .base = base };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ssize_t n;

	if (off < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	mg.into = malloc(len);
	if (!mg.into)
		return -ENOMEM;
	n = file_pwritev(f, &iov, 1, off, NULL, NULL, &mg, true);
	free(mg.into);
	return n;
}

ssize_t umfs_write_stores(struct umfs_file *f, const void *buf, size_t len, off_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (off < 0)
		return -EINVAL;
	return file_pwritev(f, &iov, 1, off, NULL, NULL, NULL, true);
}

void umfs_file_writers_drain(struct umfs_file *f)
{
	if (!f->vn)
		return;
	umfs_vnode_wrlock(f->fs, f->vn);
	umfs_vnode_wrunlock(f->fs, f->vn);
}

void umfs_fs_mirror(struct umfs_fs *fs)
{
	fs->mirrored = true;
}

void umfs_mirror_failed(struct umfs_fs *fs, uint64_t ino)
{
	if (fs->share)
		umfs_share_unmirrored_add(fs, ino);
}

uint64_t umfs_unmirrored_writes(struct umfs_fs *fs, uint64_t ino)
{
	return fs->share ? umfs_share_unmirrored(fs, ino) : 0;
}

ssize_t umfs_read(struct umfs_file *f, void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&f->pos_lock);
	n = file_pread(f, buf, len, f->pos, NULL);
	if (n > 0)
		f->pos += (uint64_t)n;
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

ssize_t umfs_write(struct umfs_file *f, const void *buf, size_t len)
{
	uint64_t end;
	ssize_t n;

	pthread_mutex_lock(&f->pos_lock);
	n = file_pwrite(f, buf, len, (f->flags & O_APPEND) ? -1 : (int64_t)f->pos, &end);
	if (n > 0) /* as Linux: an empty write leaves the offset, even with O_APPEND */
		f->pos = end;
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

off_t umfs_seek_data(struct umfs_file *f, off_t off, int whence)
{
	int64_t res;

	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	do {
		uint64_t seq = umfs_vnode_read_begin(f->fs, f->vn);

		res = umfs_file_seek(f->fs, f->ino, off, whence);
		if (!umfs_vnode_read_retry(f->fs, f->vn, seq))
			break;
	} while (1);
	return file_result(f, res);
}

off_t umfs_lseek(struct umfs_file *f, off_t off, int whence)
{
	int64_t base, res;

	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	pthread_mutex_lock(&f->pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)f->pos;
		break;
	case SEEK_END:
		base = (int64_t)umfs_inode(f->fs, f->ino)->size;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		res = umfs_seek_data(f, off, whence);
		goto done;
	default:
		res = -EINVAL;
		goto done;
	}
	if ((off > 0 && base > INT64_MAX - off))
		res = -EOVERFLOW;
	else if (base + off < 0)
		res = -EINVAL;
	else
		res = base + off;
done:
	if (res >= 0)
		f->pos = (uint64_t)res;
	pthread_mutex_unlock(&f->pos_lock);
	return res;
}

int umfs_ftruncate(struct umfs_file *f, off_t size)
{
	int err;

	if (size < 0)
		return -EINVAL;
	if (!CAN_WRITE(f->flags) || (f->flags & O_PATH))
		return -EINVAL; /* as ftruncate(2) on a descriptor not open for writing */
	if (!S_ISREG(umfs_inode(f->fs, f->ino)->mode))
		return -EINVAL;
	if ((uint64_t)size > umfs_fs_max_size(f->fs))
		return -EFBIG;
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	umfs_vnode_wrlock(f->fs, f->vn);
	err = umfs_file_truncate(f->fs, f->ino, (uint64_t)size); /* module mode: FREE revokes */
	if (!err)
		file_kill_privs(f);
	file_changed_unlock(f);
	return (int)file_result(f, umfs_fs_result(f->fs, err));
}

int umfs_fallocate(struct umfs_file *f, int mode, off_t off, off_t len)
{
	return umfs_fallocate_gated(f, mode, off, len, NULL);
}

int umfs_fallocate_gated(struct umfs_file *f, int mode, off_t off, off_t len,
			 umfs_write_gate gate)
{
	int err;

	const int punch_zero = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;

	/* the order of checks is vfs_fallocate()'s, so errors match Linux */
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((mode & ~(FALLOC_FL_KEEP_SIZE | punch_zero | FALLOC_FL_COLLAPSE_RANGE |
		      FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)) ||
	    (mode & punch_zero) == punch_zero ||
	    ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)))
		return -EOPNOTSUPP;
	if (!CAN_WRITE(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (S_ISDIR(umfs_inode(f->fs, f->ino)->mode))
		return -EISDIR;
	if (!S_ISREG(umfs_inode(f->fs, f->ino)->mode))
		return -ENODEV;
	if ((uint64_t)off > umfs_fs_max_size(f->fs) ||
	    (uint64_t)len > umfs_fs_max_size(f->fs) - (uint64_t)off)
		return -EFBIG;
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	umfs_vnode_wrlock(f->fs, f->vn);
	if (gate && gate(f->ino)) {
		umfs_vnode_wrunlock(f->fs, f->vn); /* as a write's gate */
		return -EAGAIN;
	}
	err = umfs_file_fallocate(f->fs, f->ino, mode, (uint64_t)off, (uint64_t)len);
	if (!err)
		file_kill_privs(f); /* as a write: Linux's file_modified() */
	file_changed_unlock(f);
	return (int)file_result(f, umfs_fs_result(f->fs, err));
}

int umfs_fsync(struct umfs_file *f, int datasync)
{
	/* Every call that returned is already persistent but for the times
	 * writes leave in the cache; only pools on disk files need msync. */
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	if (!datasync && !f->fs->pm.rdonly)
		umfs_file_times_persist(f->fs, f->ino);
	return umfs_pmem_sync(&f->fs->pm);
}

int umfs_fstat(struct umfs_file *f, struct stat *st)
{
	int err = umfs_fs_result(f->fs, 0);

	if (!err)
		err = umfs_inode_verify(f->fs, f->ino, false);
	if (!err)
		umfs_inode_stat(f->fs, f->ino, st);
	return umfs_fs_result(f->fs, err);
}

