/* SPDX-License-Identifier: MIT */
/* api_attr.c - attributes: chmod, chown, utimens, stat, access, statfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cred.h"
#include "fault.h"
#include "inode.h"
#include "journal.h"
#include "namei.h"
#include "os.h"
#include "share.h"
#include "testhooks.h"
#include "verify.h"

static int do_chmod(struct umfs_fs *fs, uint64_t ino, mode_t mode)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	if (c.uid != in->uid && !(c.caps & UMFS_CAP_FOWNER))
		return -EPERM;
	/* setgid takes the file's group, or CAP_FSETID */
	if ((mode & S_ISGID) && !umfs_cred_in_group(&c, in->gid) && !(c.caps & UMFS_CAP_FSETID))
		mode &= ~(mode_t)S_ISGID;
	return fs->be->set_mode(fs, ino, mode);
}

/* The kernel's chown_ok and chgrp_ok: the owner may "change" the owner to
 * itself and the group to one of its groups; CAP_CHOWN anything. */
static int chown_allowed(const struct umfs_inode *in, const struct umfs_ucred *c, uid_t uid,
			 gid_t gid)
{
	bool owner = c->uid == in->uid, chown_cap = c->caps & UMFS_CAP_CHOWN;

	if (uid != (uid_t)-1 && !(owner && uid == in->uid) && !chown_cap)
		return -EPERM;
	if (gid != (gid_t)-1 && !(owner && (gid == in->gid || umfs_cred_in_group(c, gid))) &&
	    !chown_cap)
		return -EPERM;
	/* changing neither still drops set-user-ID: a change of mode */
	if (uid == (uid_t)-1 && gid == (gid_t)-1 && !owner && !(c->caps & UMFS_CAP_FOWNER) &&
	    !S_ISDIR(in->mode) && (in->mode & (S_ISUID | S_ISGID)))
		return -EPERM;
	return 0;
}

static int do_chown(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];
	int err;

	umfs_cred_current(&c, groups);
	err = chown_allowed(in, &c, uid, gid);
	if (err)
		return err;
	return fs->be->set_owner(fs, ino, uid, gid, &c);
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int do_utimens(struct umfs_fs *fs, uint64_t ino, const struct timespec times[2])
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int64_t now = umfs_now_ns();
	bool touch = !times;
	int err;

	if (times) {
		for (int i = 0; i < 2; i++) {
			if (times[i].tv_nsec == UTIME_NOW || times[i].tv_nsec == UTIME_OMIT)
				continue;
			if (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000)
				return -EINVAL;
		}
		if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT)
			return 0;
		touch = times[0].tv_nsec == UTIME_NOW && times[1].tv_nsec == UTIME_NOW;
	}
	/* as Linux: both times "now" is a touch, which write access allows;
	 * any other change (a time given, or "now" beside "omit") takes
	 * ownership */
	if (!umfs_cred_owner_or_capable(fs, ino)) {
		if (!touch)
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
	struct umfs_walk *w;
	int err;

	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return -EINVAL;
	w = malloc(sizeof(*w));
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
	return umfs_fs_result(fs, err);
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
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	err = api_tx_run_begin(f->fs);
	if (err)
		return err;
	return api_tx_run_end(f->fs, op(f->fs, f->ino, arg));
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
	return umfs_stat_id(fs, path, st, flags, NULL);
}

struct stat_look {
	const char *path;
	unsigned walk_flags;
	struct umfs_walk *w;
	struct stat st;
	uint32_t gen;
};

static int stat_look(struct umfs_fs *fs, void *arg)
{
	struct stat_look *l = arg;
	int err = umfs_walk(fs, l->path, l->walk_flags, l->w);

	if (!err) {
		/* The broken protocol's test: with the count unchecked, the
		 * writer frees and reuses the inode while the walk holds its
		 * number, in every round, not by chance. */
		if (UMFS_FAULT(UMFS_FAULT_META_READ_TRUST))
			OS(usleep)(1000);
		umfs_inode_stat(fs, l->w->ino, &l->st);
		l->gen = umfs_inode(fs, l->w->ino)->generation;
	}
	return err;
}

int umfs_stat_id(struct umfs_fs *fs, const char *path, struct stat *st, int flags,
		 uint32_t *gen)
{
	struct stat_look l = { .path = path };
	int err;

	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return -EINVAL;
	l.walk_flags = (flags & AT_SYMLINK_NOFOLLOW) ? UMFS_WALK_NOFOLLOW : 0;
	l.w = umfs_walk_get();
	if (!l.w)
		return -ENOMEM;
	err = umfs_meta_read(fs, stat_look, &l);
	umfs_walk_put(l.w);
	if (!err) {
		*st = l.st;
		if (gen)
			*gen = l.gen;
	}
	return umfs_fs_result(fs, err);
}

/* The inode (ino, gen) names, checked as umfs_open_id does; meta_lock held. */
int api_inode_by_id(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	if (!umfs_inode_live(fs, ino) || umfs_inode(fs, ino)->generation != gen)
		return -ESTALE;
	return umfs_inode_verify(fs, ino, true);
}

struct ino_look {
	uint64_t ino;
	uint32_t gen;
	struct stat st;
};

static int ino_look(struct umfs_fs *fs, void *arg)
{
	struct ino_look *l = arg;
	int err = api_inode_by_id(fs, l->ino, l->gen);

	if (!err)
		umfs_inode_stat(fs, l->ino, &l->st);
	return err;
}

int umfs_stat_ino(struct umfs_fs *fs, uint64_t ino, uint32_t gen, struct stat *st)
{
	struct ino_look l = { .ino = ino, .gen = gen };
	int err = umfs_meta_read(fs, ino_look, &l);

	if (!err)
		*st = l.st;
	return umfs_fs_result(fs, err);
}

struct access_look {
	const char *path;
	int amode;
	struct umfs_walk *w;
};

static int access_look(struct umfs_fs *fs, void *arg)
{
	struct access_look *l = arg;
	int err = umfs_walk(fs, l->path, 0, l->w);

	if (!err && l->amode)
		err = umfs_permission(fs, l->w->ino, l->amode);
	if (!err && (l->amode & W_OK) && fs->pm.rdonly)
		err = -EROFS;
	return err;
}

int umfs_access(struct umfs_fs *fs, const char *path, int amode)
{
	struct access_look l = { .path = path, .amode = amode };
	int err;

	if (amode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	l.w = umfs_walk_get();
	if (!l.w)
		return -ENOMEM;
	err = umfs_meta_read(fs, access_look, &l);
	umfs_walk_put(l.w);
	return err;
}

int umfs_access_real(struct umfs_fs *fs, const char *path, int amode)
{
	int err;

	umfs_cred_use_real(true);
	err = umfs_access(fs, path, amode);
	umfs_cred_use_real(false);
	return err;
}

int umfs_truncate(struct umfs_fs *fs, const char *path, off_t size)
{
	struct umfs_file *f;
	int err;

	if (size < 0)
		return -EINVAL;
	err = umfs_open(fs, path, O_WRONLY, 0, &f);
	if (err == -ENXIO)
		return -EINVAL; /* as truncate(2): a FIFO, socket or device node */
	if (err)
		return err;
	err = umfs_ftruncate(f, size);
	umfs_close(f);
	return err;
}

int umfs_statfs(struct umfs_fs *fs, struct statvfs *sv)
{
	if (umfs_fs_failed(fs))
		return umfs_fs_eio(fs);
	memset(sv, 0, sizeof(*sv));
	umfs_settle_sweep(fs); /* what nobody holds is free, as the kernel counts it */
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

