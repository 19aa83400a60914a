/* SPDX-License-Identifier: MIT */
/* api_common.c - helpers shared by the api_*.c files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cred.h"
#include "dir.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "namei.h"
#include "share.h"
#include "testhooks.h"

const char *umfs_strerror(int err)
{
	if (err == UMFS_EXTERNAL || err == -UMFS_EXTERNAL)
		return "Path leaves the UMFS pool";
	return strerror(err < 0 ? -err : err);
}

void api_touch_times(struct umfs_inode *in, bool mtime)
{
	uint64_t now = (uint64_t)umfs_now_ns();

	if (mtime)
		in->mtime_ns = now;
	in->ctime_ns = now;
}

/* In tx: snapshot a directory inode and stamp mtime/ctime (entries changed). */
int api_dir_touch(struct umfs_fs *fs, uint64_t dir)
{
	struct umfs_inode *in = umfs_inode(fs, dir);
	int err = umfs_tx_add(fs, in, sizeof(*in));

	if (!err)
		api_touch_times(in, true);
	return err;
}

int api_tx_run_begin(struct umfs_fs *fs)
{
	int err;

	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (err)
		umfs_meta_unlock(fs);
	return err;
}

/* Commits when err is 0, aborts otherwise. Returns err. */
int api_tx_end(struct umfs_fs *fs, int err)
{
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
	/* the pool was cut off during the change (fault.c): what it keeps of
	 * it the next user rolls back */
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : err;
}

/* api_tx_end(), then unlocks meta. */
int api_tx_run_end(struct umfs_fs *fs, int err)
{
	err = api_tx_end(fs, err);
	umfs_meta_unlock(fs);
	return err;
}

/* A change stops at most twice per bucket split (its bucket page, then its
 * map pages), up to UMFS_DIR_MAX_DEPTH splits, and three times to index a
 * directory: more means the pages do not stay. */
#define DIR_PAGES_TRIES (2 * UMFS_DIR_MAX_DEPTH + 8)

/*
 * After a transaction that ended (api_tx_end) with *err: true when it
 * stopped for directory pages (UMFS_EDIRPAGES, see dir.c), which the
 * backend has now mapped, so the caller runs it again under the same meta
 * lock. False otherwise, with *err what the caller returns: its own, or
 * why the pages could not be had (-ENOSPC for a full pool).
 */
bool api_dir_pages_retry(struct umfs_fs *fs, int *err, unsigned *tries)
{
	const struct umfs_tx *tx = &fs->tx;
	uint64_t first = tx->dir_need_first, end = first + tx->dir_need_count, done;

	if (*err != UMFS_EDIRPAGES)
		return false;
	if (++*tries > DIR_PAGES_TRIES) {
		*err = -EUCLEAN;
		return false;
	}
	while (first < end) {
		*err = fs->be->map_dir_pages(fs, tx->dir_need_ino, first, end - 1, &done);
		if (*err)
			return false;
		first += done;
	}
	return true;
}

/* Frees an inode whose last name went away, unless someone has it open
 * (then its last close does), here or in another process. Called without
 * meta_lock. */
void api_reclaim_if_unused(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	if (ino && umfs_vnode_opencount(fs, ino) == 0 && !api_fe_held(fs, ino))
		umfs_inode_reclaim(fs, ino, gen);
}

/* In a sticky directory only the owner of the entry or of the directory
 * (or root) may remove or rename it. */
int api_sticky_check(struct umfs_fs *fs, uint64_t dir, uint64_t ino)
{
	if (!(umfs_inode(fs, dir)->mode & S_ISVTX))
		return 0;
	if (umfs_cred_owner_or_capable(fs, ino) || umfs_cred_owner_or_capable(fs, dir))
		return 0;
	return -EPERM;
}

int api_may_change_dir(struct umfs_fs *fs, uint64_t dir)
{
	return umfs_permission(fs, dir, W_OK | X_OK);
}

void api_cred_ids(uid_t *uid, gid_t *gid)
{
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	*uid = c.uid;
	*gid = c.gid;
}

bool api_cred_in_group(gid_t gid)
{
	struct umfs_ucred c;
	gid_t groups[NGROUPS_MAX_SMALL];

	umfs_cred_current(&c, groups);
	return umfs_cred_in_group(&c, gid);
}

bool api_is_dot_or_dotdot(const struct umfs_walk *w)
{
	return (w->name_len == 1 && w->name[0] == '.') ||
	       (w->name_len == 2 && w->name[0] == '.' && w->name[1] == '.');
}

/* In tx: creates an inode named w->name in w->parent, which the walk w
 * found missing (w->ino 0) under the metadata lock the caller still holds. */
int api_create_in(struct umfs_fs *fs, struct umfs_walk *w, mode_t mode, dev_t rdev,
		     uint64_t *inop)
{
	struct umfs_inode *parent = umfs_inode(fs, w->parent);
	uid_t uid;
	gid_t gid;
	uint64_t ino;
	int err;

	if (parent->nlink == 0)
		return -ENOENT; /* the directory was removed while we held it */
	api_cred_ids(&uid, &gid);
	if (parent->mode & S_ISGID) { /* BSD group semantics in setgid directories */
		gid = parent->gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
		else if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
			 !api_cred_in_group(gid) && !umfs_cred_capable(UMFS_CAP_FSETID))
			mode &= ~(mode_t)S_ISGID; /* as the kernel's mode_strip_sgid */
	}
	err = umfs_inode_create_named(fs, mode, uid, gid, rdev, w->parent, w->name, w->name_len,
				      &ino);
	if (err)
		return err;
	if (S_ISDIR(mode)) {
		err = umfs_tx_add(fs, parent, sizeof(*parent));
		if (err)
			return err;
		parent->nlink++;
	}
	err = api_dir_touch(fs, w->parent);
	if (!err && inop)
		*inop = ino;
	return err;
}

/* Drops a vnode reference; frees the inode if it was the last opener of
 * an unlinked file. */
int api_vnode_release(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino, bool unhold)
{
	bool orphan, held;
	uint32_t gen;
	int left;

	/* on a shared mount another process may be writing the file: its
	 * U-Log may go only while no writer is inside (stripe, then meta) */
	if (fs->share)
		umfs_share_wrlock(fs, ino);
	umfs_meta_lock(fs);
	if (unhold && fs->share)
		umfs_share_hold(fs, ino, -1); /* as umfs_hold, without a second lock */
	left = umfs_vnode_put(fs, vn);
	if (umfs_fs_failed(fs)) {
		/* cut off the pool: this process's references go, nothing more */
		umfs_meta_unlock(fs);
		if (fs->share)
			umfs_share_wrunlock(fs, ino);
		return umfs_fs_eio(fs);
	}
	held = left == 0 && api_fe_held(fs, ino);
	if (left == 0 && !(fs->share && held))
		umfs_file_release(fs, ino); /* the U-Log goes at the last close */
	orphan = left == 0 && umfs_inode(fs, ino)->nlink == 0 && !held;
	gen = umfs_inode(fs, ino)->generation;
	umfs_meta_unlock(fs);
	if (fs->share)
		umfs_share_wrunlock(fs, ino);
	if (orphan && !fs->pm.rdonly) {
		UMFS_TEST_RECLAIM_DELAY();
		return umfs_inode_reclaim(fs, ino, gen);
	}
	return 0;
}

