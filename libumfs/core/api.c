/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public API of include/umfs.h over the core.
 *
 * Locking: fs->meta_lock serialises the namespace and every transaction;
 * a vnode's rwlock serialises the data of one file (readers share). The
 * order is vnode lock, then meta_lock. An open file holds a vnode reference
 * taken under meta_lock, so unlink sees it and orphans instead of freeing.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct umfs_file {
	struct umfs_fs *fs;
	struct umfs_vnode *vn;
	uint64_t ino;
	int flags;               /* open(2) flags */
	pthread_mutex_t pos_lock; /* read/write/lseek on a shared offset */
	uint64_t pos;
};

struct umfs_dir {
	struct umfs_fs *fs;
	struct umfs_vnode *vn;
	uint64_t ino;
	uint64_t cookie;
};

#define ACCMODE(f) ((f) & O_ACCMODE)
#define CAN_READ(f) (ACCMODE(f) == O_RDONLY || ACCMODE(f) == O_RDWR)
#define CAN_WRITE(f) (ACCMODE(f) == O_WRONLY || ACCMODE(f) == O_RDWR)

const char *umfs_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static void touch_times(struct umfs_inode *in, bool mtime)
{
	uint64_t now = (uint64_t)umfs_now_ns();

	if (mtime)
		in->mtime_ns = now;
	in->ctime_ns = now;
}

/* In tx: snapshot a directory inode and stamp mtime/ctime (entries changed). */
static int dir_touch(struct umfs_fs *fs, uint64_t dir)
{
	struct umfs_inode *in = umfs_inode(fs, dir);
	int err = umfs_tx_add(fs, in, sizeof(*in));

	if (!err)
		touch_times(in, true);
	return err;
}

static int tx_run_begin(struct umfs_fs *fs)
{
	int err;

	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (err)
		umfs_meta_unlock(fs);
	return err;
}

/* Commits when err is 0, aborts otherwise; unlocks meta. Returns err. */
static int tx_run_end(struct umfs_fs *fs, int err)
{
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
	umfs_meta_unlock(fs);
	return err;
}

/* Frees an inode whose last name went away, unless someone has it open
 * (then its last close does). Called without meta_lock. */
static void reclaim_if_unused(struct umfs_fs *fs, uint64_t ino)
{
	if (ino && umfs_vnode_opencount(fs, ino) == 0)
		umfs_inode_reclaim(fs, ino);
}

/* In a sticky directory only the owner of the entry or of the directory
 * (or root) may remove or rename it. */
static int sticky_check(struct umfs_fs *fs, uint64_t dir, uint64_t ino)
{
	if (!(umfs_inode(fs, dir)->mode & S_ISVTX))
		return 0;
	if (umfs_cred_is_owner_or_root(fs, ino) || umfs_cred_is_owner_or_root(fs, dir))
		return 0;
	return -EPERM;
}

static int may_change_dir(struct umfs_fs *fs, uint64_t dir)
{
	return umfs_permission(fs, dir, W_OK | X_OK);
}

static void cred_ids(uid_t *uid, gid_t *gid)
{
	struct umfs_cred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups, NGROUPS_MAX_SMALL);
	*uid = c.uid;
	*gid = c.gid;
}

static bool is_dot_or_dotdot(const struct umfs_walk *w)
{
	return (w->name_len == 1 && w->name[0] == '.') ||
	       (w->name_len == 2 && w->name[0] == '.' && w->name[1] == '.');
}

/* In tx: creates an inode named w->name in w->parent. */
static int create_in(struct umfs_fs *fs, struct umfs_walk *w, mode_t mode, dev_t rdev,
		     uint64_t *inop)
{
	struct umfs_inode *parent = umfs_inode(fs, w->parent);
	uid_t uid;
	gid_t gid;
	uint64_t ino;
	int err;

	if (parent->nlink == 0)
		return -ENOENT; /* the directory was removed while we held it */
	cred_ids(&uid, &gid);
	if (parent->mode & S_ISGID) { /* BSD group semantics in setgid directories */
		gid = parent->gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	err = umfs_inode_create(fs, mode, uid, gid, rdev, w->parent, &ino);
	if (err)
		return err;
	err = umfs_dir_add(fs, w->parent, w->name, w->name_len, ino, umfs_mode_to_dtype(mode));
	if (err)
		return err;
	if (S_ISDIR(mode)) {
		err = umfs_tx_add(fs, parent, sizeof(*parent));
		if (err)
			return err;
		parent->nlink++;
	}
	err = dir_touch(fs, w->parent);
	if (!err && inop)
		*inop = ino;
	return err;
}

/* ------------------------------------------------------------------ */
/* files                                                                */
/* ------------------------------------------------------------------ */

static int open_check(struct umfs_fs *fs, struct umfs_walk *w, int flags)
{
	const struct umfs_inode *in = umfs_inode(fs, w->ino);
	int mask = 0;

	if (S_ISLNK(in->mode))
		return -ELOOP; /* O_NOFOLLOW on a symlink */
	if ((flags & O_DIRECTORY) && !S_ISDIR(in->mode))
		return -ENOTDIR;
	if (S_ISDIR(in->mode) && (CAN_WRITE(flags) || (flags & O_TRUNC)))
		return -EISDIR;
	if (S_ISCHR(in->mode) || S_ISBLK(in->mode) || S_ISSOCK(in->mode) || S_ISFIFO(in->mode))
		return -ENXIO; /* special files are served by front ends, not the core */
	if (flags & O_PATH)
		return 0;
	if (CAN_READ(flags))
		mask |= R_OK;
	if (CAN_WRITE(flags) || (flags & O_TRUNC))
		mask |= W_OK;
	return umfs_permission(fs, w->ino, mask);
}

int umfs_open(struct umfs_fs *fs, const char *path, int flags, mode_t mode,
	      struct umfs_file **filep)
{
	unsigned wflags = 0;
	struct umfs_walk *w;
	struct umfs_file *f;
	bool created = false;
	int err;

	if (ACCMODE(flags) == O_ACCMODE && !(flags & O_PATH))
		return -EINVAL;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if (!CAN_WRITE(flags) && (flags & O_TRUNC) && !(flags & O_CREAT) && 0)
		return -EINVAL;
	if (fs->pm.rdonly && (CAN_WRITE(flags) || (flags & (O_CREAT | O_TRUNC))))
		return -EROFS;
	w = malloc(sizeof(*w));
	f = calloc(1, sizeof(*f));
	if (!w || !f) {
		err = -ENOMEM;
		goto out_free;
	}
	if (flags & O_NOFOLLOW)
		wflags |= UMFS_WALK_NOFOLLOW;
	if (flags & O_CREAT)
		wflags |= UMFS_WALK_PARENT | ((flags & O_EXCL) ? UMFS_WALK_NOFOLLOW : 0);

	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, wflags, w);
	if (err)
		goto out_unlock;
	if (w->ino == 0) {
		if (w->trailing_slash) {
			err = -EISDIR;
			goto out_unlock;
		}
		err = may_change_dir(fs, w->parent);
		if (err)
			goto out_unlock;
		err = umfs_tx_begin(fs);
		if (err)
			goto out_unlock;
		err = create_in(fs, w, S_IFREG | (mode & 07777), 0, &w->ino);
		if (err) {
			umfs_tx_abort(fs);
			goto out_unlock;
		}
		err = umfs_tx_commit(fs);
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
		err = open_check(fs, w, flags);
		if (err)
			goto out_unlock;
	}
	f->vn = umfs_vnode_get(fs, w->ino);
	if (!f->vn) {
		err = -ENOMEM;
		goto out_unlock;
	}
	umfs_meta_unlock(fs);

	f->fs = fs;
	f->ino = w->ino;
	f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	pthread_mutex_init(&f->pos_lock, NULL);
	if ((flags & O_TRUNC) && !created && S_ISREG(umfs_inode(fs, f->ino)->mode) &&
	    !(flags & O_PATH)) {
		pthread_rwlock_wrlock(&f->vn->lock);
		err = umfs_file_truncate(fs, f->ino, 0);
		pthread_rwlock_unlock(&f->vn->lock);
		if (err) {
			umfs_close(f);
			f = NULL;
			goto out_free;
		}
	}
	free(w);
	*filep = f;
	return 0;

out_unlock:
	umfs_meta_unlock(fs);
out_free:
	free(w);
	free(f);
	return err;
}

/* Drops a vnode reference; frees the inode if it was the last opener of
 * an unlinked file. */
static int vnode_release(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino)
{
	bool orphan;
	int left;

	umfs_meta_lock(fs);
	left = umfs_vnode_put(fs, vn);
	orphan = left == 0 && umfs_inode(fs, ino)->nlink == 0;
	umfs_meta_unlock(fs);
	if (orphan && !fs->pm.rdonly)
		return umfs_inode_reclaim(fs, ino);
	return 0;
}

int umfs_close(struct umfs_file *f)
{
	int err;

	if (!f)
		return -EBADF;
	err = vnode_release(f->fs, f->vn, f->ino);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
	return err;
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

static ssize_t file_pread(struct umfs_file *f, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (!CAN_READ(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (S_ISDIR(umfs_inode(f->fs, f->ino)->mode))
		return -EISDIR;
	pthread_rwlock_rdlock(&f->vn->lock);
	n = umfs_file_read(f->fs, f->ino, buf, len, off);
	pthread_rwlock_unlock(&f->vn->lock);
	return n;
}

/* off < 0: append (the offset is the size, read under the write lock). */
static ssize_t file_pwrite(struct umfs_file *f, const void *buf, size_t len, int64_t off,
			   uint64_t *end)
{
	ssize_t n;

	if (!CAN_WRITE(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (f->fs->pm.rdonly)
		return -EROFS;
	pthread_rwlock_wrlock(&f->vn->lock);
	if (off < 0)
		off = (int64_t)umfs_inode(f->fs, f->ino)->size;
	n = len ? umfs_file_write(f->fs, f->ino, buf, len, (uint64_t)off) : 0;
	pthread_rwlock_unlock(&f->vn->lock);
	if (n >= 0 && end)
		*end = (uint64_t)off + (uint64_t)n;
	return n;
}

ssize_t umfs_pread(struct umfs_file *f, void *buf, size_t len, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return file_pread(f, buf, len, (uint64_t)off);
}

ssize_t umfs_pwrite(struct umfs_file *f, const void *buf, size_t len, off_t off)
{
	/* Linux: pwrite on an O_APPEND file appends regardless of off */
	if (off < 0)
		return -EINVAL;
	return file_pwrite(f, buf, len, (f->flags & O_APPEND) ? -1 : off, NULL);
}

ssize_t umfs_read(struct umfs_file *f, void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&f->pos_lock);
	n = file_pread(f, buf, len, f->pos);
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
	if (n >= 0)
		f->pos = end;
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

off_t umfs_lseek(struct umfs_file *f, off_t off, int whence)
{
	int64_t base, res;

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
		pthread_rwlock_rdlock(&f->vn->lock);
		res = umfs_file_seek(f->fs, f->ino, off, whence);
		pthread_rwlock_unlock(&f->vn->lock);
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
	if ((uint64_t)size > UMFS_MAX_FILE_SIZE)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->vn->lock);
	err = umfs_file_truncate(f->fs, f->ino, (uint64_t)size);
	pthread_rwlock_unlock(&f->vn->lock);
	return err;
}

int umfs_fallocate(struct umfs_file *f, int mode, off_t off, off_t len)
{
	int err;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (!CAN_WRITE(f->flags) || (f->flags & O_PATH))
		return -EBADF;
	if (S_ISDIR(umfs_inode(f->fs, f->ino)->mode))
		return -EISDIR;
	if (!S_ISREG(umfs_inode(f->fs, f->ino)->mode))
		return -ENODEV;
	if ((uint64_t)off > UMFS_MAX_FILE_SIZE || (uint64_t)len > UMFS_MAX_FILE_SIZE - (uint64_t)off)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->vn->lock);
	err = umfs_file_fallocate(f->fs, f->ino, mode, (uint64_t)off, (uint64_t)len);
	pthread_rwlock_unlock(&f->vn->lock);
	return err;
}

int umfs_fsync(struct umfs_file *f, int datasync)
{
	/* Every call that returned is already persistent; only pools on disk
	 * files need msync for durability. */
	return umfs_pmem_sync(&f->fs->pm);
}

int umfs_fstat(struct umfs_file *f, struct stat *st)
{
	umfs_inode_stat(f->fs, f->ino, st);
	return 0;
}

/* ------------------------------------------------------------------ */
/* attributes                                                           */
/* ------------------------------------------------------------------ */

static int do_chmod(struct umfs_fs *fs, uint64_t ino, mode_t mode)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uid_t uid;
	gid_t gid;
	int err;

	if (!umfs_cred_is_owner_or_root(fs, ino))
		return -EPERM;
	cred_ids(&uid, &gid);
	/* a non-root owner outside the file's group cannot set setgid */
	if (uid != 0 && (mode & S_ISGID) && umfs_permission(fs, ino, 0) == 0 && gid != in->gid) {
		struct umfs_cred c;
		gid_t groups[NGROUPS_MAX_SMALL];
		bool member = false;

		umfs_cred_current(&c, groups, NGROUPS_MAX_SMALL);
		for (int i = 0; i < c.ngroups; i++)
			member |= c.groups[i] == in->gid;
		if (!member)
			mode &= ~(mode_t)S_ISGID;
	}
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	in->mode = (in->mode & S_IFMT) | (mode & 07777);
	touch_times(in, false);
	umfs_inode_seal(in);
	return 0;
}

static int do_chown(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_cred c;
	gid_t groups[NGROUPS_MAX_SMALL];
	int err;

	umfs_cred_current(&c, groups, NGROUPS_MAX_SMALL);
	if (c.uid != 0) {
		bool member = gid == (gid_t)-1 || gid == c.gid;

		for (int i = 0; i < c.ngroups && !member; i++)
			member = c.groups[i] == gid;
		if (c.uid != in->uid || (uid != (uid_t)-1 && uid != in->uid) || !member)
			return -EPERM;
	}
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	if (uid != (uid_t)-1)
		in->uid = (uint32_t)uid;
	if (gid != (gid_t)-1)
		in->gid = (uint32_t)gid;
	/* a change of owner drops setuid, and setgid when group-executable */
	if (!S_ISDIR(in->mode) && (uid != (uid_t)-1 || gid != (gid_t)-1)) {
		in->mode &= ~(uint32_t)S_ISUID;
		if (in->mode & S_IXGRP)
			in->mode &= ~(uint32_t)S_ISGID;
	}
	touch_times(in, false);
	umfs_inode_seal(in);
	return 0;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int do_utimens(struct umfs_fs *fs, uint64_t ino, const struct timespec times[2])
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int64_t now = umfs_now_ns();
	bool explicit_time = false;
	int err;

	if (times) {
		for (int i = 0; i < 2; i++) {
			if (times[i].tv_nsec == UTIME_NOW || times[i].tv_nsec == UTIME_OMIT)
				continue;
			if (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000)
				return -EINVAL;
			explicit_time = true;
		}
		if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT)
			return 0;
	}
	/* setting explicit times takes ownership; "now" takes write access */
	if (!umfs_cred_is_owner_or_root(fs, ino)) {
		if (explicit_time)
			return -EPERM;
		if (umfs_permission(fs, ino, W_OK))
			return -EACCES;
	}
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		uint64_t *field = i == 0 ? &in->atime_ns : &in->mtime_ns;

		if (!times || times[i].tv_nsec == UTIME_NOW)
			*field = (uint64_t)now;
		else if (times[i].tv_nsec != UTIME_OMIT)
			*field = (uint64_t)ts_to_ns(&times[i]);
	}
	in->ctime_ns = (uint64_t)now;
	return 0;
}

/* Runs op on the inode a path names, in one transaction. */
static int path_attr_op(struct umfs_fs *fs, const char *path, int flags,
			int (*op)(struct umfs_fs *, uint64_t, const void *), const void *arg)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	if (fs->pm.rdonly) {
		free(w);
		return -EROFS;
	}
	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, (flags & AT_SYMLINK_NOFOLLOW) ? UMFS_WALK_NOFOLLOW : 0, w);
	if (!err)
		err = umfs_tx_begin(fs);
	if (!err) {
		err = op(fs, w->ino, arg);
		if (err)
			umfs_tx_abort(fs);
		else
			err = umfs_tx_commit(fs);
	}
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

struct owner_arg {
	uid_t uid;
	gid_t gid;
};

static int chmod_op(struct umfs_fs *fs, uint64_t ino, const void *arg)
{
	return do_chmod(fs, ino, *(const mode_t *)arg);
}

static int chown_op(struct umfs_fs *fs, uint64_t ino, const void *arg)
{
	const struct owner_arg *o = arg;

	return do_chown(fs, ino, o->uid, o->gid);
}

static int utimens_op(struct umfs_fs *fs, uint64_t ino, const void *arg)
{
	return do_utimens(fs, ino, arg);
}

int umfs_chmod(struct umfs_fs *fs, const char *path, mode_t mode, int flags)
{
	return path_attr_op(fs, path, flags, chmod_op, &mode);
}

int umfs_chown(struct umfs_fs *fs, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct owner_arg o = { uid, gid };

	return path_attr_op(fs, path, flags, chown_op, &o);
}

int umfs_utimens(struct umfs_fs *fs, const char *path, const struct timespec times[2], int flags)
{
	return path_attr_op(fs, path, flags, utimens_op, times);
}

/* The same operations on an open file. */
static int file_attr_op(struct umfs_file *f, int (*op)(struct umfs_fs *, uint64_t, const void *),
			const void *arg)
{
	int err;

	if (f->fs->pm.rdonly)
		return -EROFS;
	err = tx_run_begin(f->fs);
	if (err)
		return err;
	return tx_run_end(f->fs, op(f->fs, f->ino, arg));
}

int umfs_fchmod(struct umfs_file *f, mode_t mode)
{
	return file_attr_op(f, chmod_op, &mode);
}

int umfs_fchown(struct umfs_file *f, uid_t uid, gid_t gid)
{
	struct owner_arg o = { uid, gid };

	return file_attr_op(f, chown_op, &o);
}

int umfs_futimens(struct umfs_file *f, const struct timespec times[2])
{
	return file_attr_op(f, utimens_op, times);
}

int umfs_stat(struct umfs_fs *fs, const char *path, struct stat *st, int flags)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, (flags & AT_SYMLINK_NOFOLLOW) ? UMFS_WALK_NOFOLLOW : 0, w);
	if (!err)
		umfs_inode_stat(fs, w->ino, st);
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

int umfs_access(struct umfs_fs *fs, const char *path, int amode)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	if (amode & ~(R_OK | W_OK | X_OK)) {
		free(w);
		return -EINVAL;
	}
	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, 0, w);
	if (!err && amode)
		err = umfs_permission(fs, w->ino, amode);
	if (!err && (amode & W_OK) && fs->pm.rdonly)
		err = -EROFS;
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

int umfs_truncate(struct umfs_fs *fs, const char *path, off_t size)
{
	struct umfs_file *f;
	int err;

	if (size < 0)
		return -EINVAL;
	err = umfs_open(fs, path, O_WRONLY, 0, &f);
	if (err)
		return err;
	err = umfs_ftruncate(f, size);
	umfs_close(f);
	return err;
}

int umfs_statfs(struct umfs_fs *fs, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	umfs_meta_lock(fs);
	sv->f_bsize = UMFS_PAGE_SIZE;
	sv->f_frsize = UMFS_PAGE_SIZE;
	sv->f_blocks = fs->data_pages;
	sv->f_bfree = fs->free_pages;
	sv->f_bavail = fs->free_pages;
	sv->f_files = fs->inode_count - UMFS_ROOT_INO;
	sv->f_ffree = fs->free_inodes;
	sv->f_favail = fs->free_inodes;
	umfs_meta_unlock(fs);
	sv->f_fsid = (unsigned long)fs->dev;
	sv->f_namemax = UMFS_NAME_MAX;
	sv->f_flag = fs->pm.rdonly ? ST_RDONLY : 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* names                                                                */
/* ------------------------------------------------------------------ */

/* Walks to the parent of path's last component for a namespace change. */
static int walk_for_change(struct umfs_fs *fs, const char *path, unsigned flags, struct umfs_walk *w)
{
	int err;

	if (fs->pm.rdonly)
		return -EROFS;
	err = umfs_walk(fs, path, flags | UMFS_WALK_NOFOLLOW, w);
	if (err)
		return err;
	if (w->name_len == 0)
		return -EBUSY; /* the root itself */
	return 0;
}

static int make_node(struct umfs_fs *fs, const char *path, mode_t mode, dev_t rdev,
		     const char *target)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	uint64_t ino;
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = walk_for_change(fs, path, UMFS_WALK_PARENT, w);
	if (err == -EBUSY)
		err = -EEXIST;
	if (err)
		goto out;
	if (w->ino) {
		err = -EEXIST;
		goto out;
	}
	if (w->trailing_slash && !S_ISDIR(mode)) {
		err = -ENOENT;
		goto out;
	}
	err = may_change_dir(fs, w->parent);
	if (err)
		goto out;
	err = umfs_tx_begin(fs);
	if (err)
		goto out;
	err = create_in(fs, w, mode, rdev, &ino);
	if (!err && target) {
		/* the target is the symlink's data; a page of it is bounded */
		ssize_t n = umfs_file_write(fs, ino, target, strlen(target), 0);
		err = n < 0 ? (int)n : 0;
	}
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
out:
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

int umfs_mkdir(struct umfs_fs *fs, const char *path, mode_t mode)
{
	return make_node(fs, path, S_IFDIR | (mode & 07777), 0, NULL);
}

int umfs_mknod(struct umfs_fs *fs, const char *path, mode_t mode, dev_t dev)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return -EINVAL;
	}
	return make_node(fs, path, mode & (S_IFMT | 07777), dev, NULL);
}

int umfs_symlink(struct umfs_fs *fs, const char *target, const char *linkpath)
{
	size_t len = strlen(target);

	if (len == 0)
		return -ENOENT;
	if (len > UMFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return make_node(fs, linkpath, S_IFLNK | 0777, 0, target);
}

ssize_t umfs_readlink(struct umfs_fs *fs, const char *path, char *buf, size_t size)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	ssize_t n;
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, UMFS_WALK_NOFOLLOW, w);
	if (!err && !S_ISLNK(umfs_inode(fs, w->ino)->mode))
		err = -EINVAL;
	if (err) {
		n = err;
	} else {
		uint64_t size_on_media = umfs_inode(fs, w->ino)->size;
		n = umfs_file_read(fs, w->ino, buf, UMFS_MIN(size, size_on_media), 0);
	}
	umfs_meta_unlock(fs);
	free(w);
	return n;
}

/* In tx: drops one link of ino (its name is already gone). Returns 1 when
 * the inode has no names left (the caller reclaims it after the tx). */
static int drop_link(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err = umfs_tx_add(fs, in, sizeof(*in));

	if (err)
		return err;
	touch_times(in, false);
	if (S_ISDIR(in->mode))
		in->nlink = 0; /* its "." goes with its name */
	else if (in->nlink > 0)
		in->nlink--;
	if (in->nlink > 0)
		return 0;
	err = umfs_inode_orphan(fs, ino);
	return err ? err : 1;
}

static int remove_name(struct umfs_fs *fs, const char *path, bool dir)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	uint64_t ino = 0, victim = 0;
	struct umfs_inode *in;
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = walk_for_change(fs, path, 0, w);
	if (err)
		goto out;
	in = umfs_inode(fs, w->ino);
	if (dir) {
		if (w->name_len == 1 && w->name[0] == '.')
			err = -EINVAL;
		else if (w->name_len == 2 && w->name[0] == '.' && w->name[1] == '.')
			err = -ENOTEMPTY;
		else if (!S_ISDIR(in->mode))
			err = -ENOTDIR;
		else if (in->dir.nentries)
			err = -ENOTEMPTY;
	} else if (S_ISDIR(in->mode)) {
		err = -EISDIR;
	} else if (w->trailing_slash) {
		err = -ENOTDIR;
	}
	if (!err)
		err = may_change_dir(fs, w->parent);
	if (!err)
		err = sticky_check(fs, w->parent, w->ino);
	if (!err && umfs_vnode_opencount(fs, w->ino) && dir && w->ino == UMFS_ROOT_INO)
		err = -EBUSY;
	if (err)
		goto out;
	err = umfs_tx_begin(fs);
	if (err)
		goto out;
	err = umfs_dir_remove(fs, w->parent, w->name, w->name_len, &ino);
	if (!err && dir) {
		struct umfs_inode *parent = umfs_inode(fs, w->parent);
		err = umfs_tx_add(fs, parent, sizeof(*parent));
		if (!err)
			parent->nlink--;
	}
	if (!err)
		err = dir_touch(fs, w->parent);
	if (!err)
		err = drop_link(fs, ino);
	if (err == 1) {
		victim = ino;
		err = 0;
	}
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
out:
	umfs_meta_unlock(fs);
	free(w);
	if (!err)
		reclaim_if_unused(fs, victim);
	return err;
}

int umfs_unlink(struct umfs_fs *fs, const char *path)
{
	return remove_name(fs, path, false);
}

int umfs_rmdir(struct umfs_fs *fs, const char *path)
{
	return remove_name(fs, path, true);
}

int umfs_link(struct umfs_fs *fs, const char *from, const char *to)
{
	struct umfs_walk *wf = malloc(sizeof(*wf)), *wt = malloc(sizeof(*wt));
	struct umfs_inode *in;
	int err;

	if (!wf || !wt) {
		err = -ENOMEM;
		goto out_free;
	}
	umfs_meta_lock(fs);
	err = umfs_walk(fs, from, UMFS_WALK_NOFOLLOW, wf);
	if (!err)
		err = walk_for_change(fs, to, UMFS_WALK_PARENT, wt);
	if (err == -EBUSY)
		err = -EEXIST;
	if (err)
		goto out;
	in = umfs_inode(fs, wf->ino);
	if (S_ISDIR(in->mode))
		err = -EPERM;
	else if (wt->ino)
		err = -EEXIST;
	else if (wt->trailing_slash || wf->trailing_slash)
		err = -ENOENT;
	else if (in->nlink >= 65000)
		err = -EMLINK;
	else if (in->nlink == 0)
		err = -ENOENT;
	if (!err)
		err = may_change_dir(fs, wt->parent);
	if (!err)
		err = umfs_tx_begin(fs);
	if (err)
		goto out;
	err = umfs_dir_add(fs, wt->parent, wt->name, wt->name_len, wf->ino,
			   umfs_mode_to_dtype(in->mode));
	if (!err)
		err = umfs_tx_add(fs, in, sizeof(*in));
	if (!err) {
		in->nlink++;
		touch_times(in, false);
		err = dir_touch(fs, wt->parent);
	}
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
out:
	umfs_meta_unlock(fs);
out_free:
	free(wf);
	free(wt);
	return err;
}

/* True when dir lies inside the subtree of top (or is top). */
static bool dir_is_within(struct umfs_fs *fs, uint64_t dir, uint64_t top)
{
	for (uint64_t n = 0; n < fs->inode_count; n++) {
		if (dir == top)
			return true;
		if (dir == UMFS_ROOT_INO)
			return false;
		dir = umfs_inode(fs, dir)->dir.parent;
	}
	return true; /* a parent loop: refuse the move */
}

/* In tx: moves directory ino from parent `from` to parent `to`. */
static int reparent(struct umfs_fs *fs, uint64_t ino, uint64_t from, uint64_t to)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_inode *pf = umfs_inode(fs, from), *pt = umfs_inode(fs, to);
	int err;

	if (from == to)
		return 0;
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (!err)
		err = umfs_tx_add(fs, pf, sizeof(*pf));
	if (!err)
		err = umfs_tx_add(fs, pt, sizeof(*pt));
	if (err)
		return err;
	in->dir.parent = to;
	pf->nlink--;
	pt->nlink++;
	return 0;
}

struct rename_ctx {
	struct umfs_walk *wo, *wn;
	uint64_t src, dst; /* inodes: source, existing target (0 if none) */
	unsigned flags;
};

static int rename_check(struct umfs_fs *fs, struct rename_ctx *r)
{
	struct umfs_walk *wo = r->wo, *wn = r->wn;
	const struct umfs_inode *src = umfs_inode(fs, r->src);
	int err;

	if (is_dot_or_dotdot(wo) || is_dot_or_dotdot(wn))
		return -EINVAL;
	if ((r->flags & RENAME_NOREPLACE) && r->dst)
		return -EEXIST;
	if ((r->flags & RENAME_EXCHANGE) && !r->dst)
		return -ENOENT;
	if (!S_ISDIR(src->mode) && (wo->trailing_slash || (wn->trailing_slash && !r->dst)))
		return -ENOTDIR;
	err = may_change_dir(fs, wo->parent);
	if (!err)
		err = may_change_dir(fs, wn->parent);
	if (!err)
		err = sticky_check(fs, wo->parent, r->src);
	if (!err && r->dst)
		err = sticky_check(fs, wn->parent, r->dst);
	if (err)
		return err;
	if (r->dst == r->src)
		return 1; /* two names of one inode: POSIX says do nothing */
	/* moving a directory under itself would cut it off from the tree */
	if (S_ISDIR(src->mode) && dir_is_within(fs, wn->parent, r->src))
		return -EINVAL;
	if (r->dst) {
		const struct umfs_inode *dst = umfs_inode(fs, r->dst);

		if ((r->flags & RENAME_EXCHANGE)) {
			if (S_ISDIR(dst->mode) && dir_is_within(fs, wo->parent, r->dst))
				return -EINVAL;
			return 0;
		}
		if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
			return -ENOTDIR;
		if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
			return -EISDIR;
		if (S_ISDIR(dst->mode) && dst->dir.nentries)
			return -ENOTEMPTY;
	}
	return 0;
}

/* In tx. Returns 1 if the replaced target lost its last name. */
static int rename_apply(struct umfs_fs *fs, struct rename_ctx *r)
{
	struct umfs_walk *wo = r->wo, *wn = r->wn;
	unsigned char stype = umfs_mode_to_dtype(umfs_inode(fs, r->src)->mode);
	bool src_dir = S_ISDIR(umfs_inode(fs, r->src)->mode);
	uint64_t gone;
	int err;

	if (r->flags & RENAME_EXCHANGE) {
		unsigned char dtype = umfs_mode_to_dtype(umfs_inode(fs, r->dst)->mode);
		bool dst_dir = S_ISDIR(umfs_inode(fs, r->dst)->mode);

		err = umfs_dir_retarget(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
		if (!err)
			err = umfs_dir_retarget(fs, wo->parent, wo->name, wo->name_len, r->dst, dtype);
		if (!err && src_dir)
			err = reparent(fs, r->src, wo->parent, wn->parent);
		if (!err && dst_dir)
			err = reparent(fs, r->dst, wn->parent, wo->parent);
		if (!err)
			err = umfs_tx_add(fs, umfs_inode(fs, r->dst), sizeof(struct umfs_inode));
		if (!err)
			touch_times(umfs_inode(fs, r->dst), false);
		goto touch;
	}
	if (r->dst) {
		err = umfs_dir_retarget(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
		if (!err && src_dir) {
			/* the replaced empty directory was a subdirectory of wn->parent */
			struct umfs_inode *np = umfs_inode(fs, wn->parent);
			err = umfs_tx_add(fs, np, sizeof(*np));
			if (!err)
				np->nlink--;
		}
	} else {
		err = umfs_dir_add(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
	}
	if (!err)
		err = umfs_dir_remove(fs, wo->parent, wo->name, wo->name_len, &gone);
	if (!err && src_dir)
		err = reparent(fs, r->src, wo->parent, wn->parent);
touch:
	if (!err)
		err = umfs_tx_add(fs, umfs_inode(fs, r->src), sizeof(struct umfs_inode));
	if (!err) {
		touch_times(umfs_inode(fs, r->src), false);
		err = dir_touch(fs, wo->parent);
	}
	if (!err && wn->parent != wo->parent)
		err = dir_touch(fs, wn->parent);
	if (!err && r->dst && !(r->flags & RENAME_EXCHANGE))
		err = drop_link(fs, r->dst);
	return err;
}

int umfs_rename(struct umfs_fs *fs, const char *from, const char *to, unsigned flags)
{
	struct rename_ctx r = { .flags = flags };
	uint64_t victim = 0;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	r.wo = malloc(sizeof(*r.wo));
	r.wn = malloc(sizeof(*r.wn));
	if (!r.wo || !r.wn) {
		err = -ENOMEM;
		goto out_free;
	}
	umfs_meta_lock(fs);
	err = walk_for_change(fs, from, 0, r.wo);
	if (!err)
		err = walk_for_change(fs, to, UMFS_WALK_PARENT, r.wn);
	if (err)
		goto out;
	r.src = r.wo->ino;
	r.dst = r.wn->ino;
	err = rename_check(fs, &r);
	if (err) {
		if (err == 1)
			err = 0;
		goto out;
	}
	err = umfs_tx_begin(fs);
	if (err)
		goto out;
	err = rename_apply(fs, &r);
	if (err == 1) {
		victim = r.dst;
		err = 0;
	}
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
out:
	umfs_meta_unlock(fs);
out_free:
	free(r.wo);
	free(r.wn);
	if (!err)
		reclaim_if_unused(fs, victim);
	return err;
}

/* ------------------------------------------------------------------ */
/* directories                                                          */
/* ------------------------------------------------------------------ */

static int dir_stream_open(struct umfs_fs *fs, uint64_t ino, struct umfs_dir **dirp)
{
	struct umfs_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->vn = umfs_vnode_get(fs, ino);
	if (!d->vn) {
		free(d);
		return -ENOMEM;
	}
	d->fs = fs;
	d->ino = ino;
	*dirp = d;
	return 0;
}

int umfs_opendir(struct umfs_fs *fs, const char *path, struct umfs_dir **dirp)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = umfs_walk(fs, path, 0, w);
	if (!err && !S_ISDIR(umfs_inode(fs, w->ino)->mode))
		err = -ENOTDIR;
	if (!err)
		err = umfs_permission(fs, w->ino, R_OK);
	if (!err)
		err = dir_stream_open(fs, w->ino, dirp);
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

int umfs_fopendir(struct umfs_file *f, struct umfs_dir **dirp)
{
	int err;

	if (!S_ISDIR(umfs_inode(f->fs, f->ino)->mode))
		return -ENOTDIR;
	if (f->flags & O_PATH)
		return -EBADF;
	umfs_meta_lock(f->fs);
	err = dir_stream_open(f->fs, f->ino, dirp);
	umfs_meta_unlock(f->fs);
	return err;
}

int umfs_readdir(struct umfs_dir *d, struct umfs_dirent *ent)
{
	int ret;

	umfs_meta_lock(d->fs);
	if (umfs_inode(d->fs, d->ino)->nlink == 0)
		ret = 0; /* removed while open: nothing left to list */
	else
		ret = umfs_dir_next(d->fs, d->ino, &d->cookie, ent);
	umfs_meta_unlock(d->fs);
	return ret;
}

uint64_t umfs_telldir(const struct umfs_dir *d)
{
	return d->cookie;
}

void umfs_seekdir(struct umfs_dir *d, uint64_t cookie)
{
	d->cookie = cookie;
}

int umfs_closedir(struct umfs_dir *d)
{
	int err;

	if (!d)
		return -EBADF;
	err = vnode_release(d->fs, d->vn, d->ino);
	free(d);
	return err;
}
