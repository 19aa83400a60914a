/* SPDX-License-Identifier: MIT */
/* api_dir.c - directory streams: opendir, readdir, telldir, seekdir. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

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
	err = api_vnode_release(d->fs, d->vn, d->ino);
	free(d);
	return err;
}
