/* SPDX-License-Identifier: MIT */
/* api_dir.c - directory streams: opendir, readdir, telldir, seekdir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "alloc.h"
#include "cred.h"
#include "dir.h"
#include "fault.h"
#include "inode.h"
#include "namei.h"
#include "report.h"
#include "verify.h"

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
	if (umfs_fs_failed(f->fs))
		return umfs_fs_eio(f->fs);
	umfs_meta_lock(f->fs);
	err = dir_stream_open(f->fs, f->ino, dirp);
	umfs_meta_unlock(f->fs);
	return err;
}

/* What an entry says, checked before it is handed out: an inode number of
 * the zone and a type the format knows, else the entry is damaged. A type
 * that disagrees with the inode (or an inode not in use) becomes
 * DT_UNKNOWN, so that the caller asks the inode, where a lookup meets the
 * damage. One load per entry; the inode's full check is the lookup's. */
static int readdir_entry_check(struct umfs_dir *d, struct umfs_dirent *ent, uint64_t cookie)
{
	struct umfs_fs *fs = d->fs;
	uint32_t mode;

	if (ent->ino < UMFS_ROOT_INO || ent->ino >= fs->inode_count ||
	    !umfs_dtype_known(ent->type)) {
		umfs_damage_report(fs, d->ino | UMFS_DAMAGE_ENTRY, (uint32_t)cookie,
				   "inode %" PRIu64 ": entry \"%s\" names inode %" PRIu64
				   " as type %u (run fsck.umfs)",
				   d->ino, ent->name, ent->ino, ent->type);
		d->cookie = cookie; /* the next call meets it again */
		return -EUCLEAN;
	}
	mode = umfs_inode(fs, ent->ino)->mode;
	if (IFTODT(mode) != ent->type || !umfs_ino_is_used(fs, ent->ino))
		ent->type = DT_UNKNOWN;
	return 1;
}

int umfs_readdir(struct umfs_dir *d, struct umfs_dirent *ent)
{
	uint64_t cookie = d->cookie;
	int ret;

	if (umfs_fs_failed(d->fs))
		return umfs_fs_eio(d->fs);
	umfs_meta_lock(d->fs);
	if (umfs_inode(d->fs, d->ino)->nlink == 0)
		ret = 0; /* removed while open: nothing left to list */
	else
		ret = umfs_dir_next(d->fs, d->ino, &d->cookie, ent);
	if (ret > 0)
		ret = readdir_entry_check(d, ent, cookie);
	umfs_meta_unlock(d->fs);
	return umfs_fs_result(d->fs, ret);
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
	err = api_vnode_release(d->fs, d->vn, d->ino, false);
	free(d);
	return err;
}

/* Name of child (a directory) in dir: scans dir's entries. */
static int name_in_parent(struct umfs_fs *fs, uint64_t dir, uint64_t child, struct umfs_dirent *e)
{
	uint64_t cookie = 0;
	int r;

	while ((r = umfs_dir_next(fs, dir, &cookie, e)) > 0) {
		if (e->ino != child)
			continue;
		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		return 0;
	}
	return r < 0 ? r : -ENOENT;
}

int umfs_dir_path(struct umfs_fs *fs, uint64_t ino, uint32_t gen, char *buf, size_t size)
{
	size_t cap = UMFS_MAX(size, (size_t)PATH_MAX); /* a path may be longer than PATH_MAX */
	char *tmp = malloc(cap);
	struct umfs_dirent *e = malloc(sizeof(*e));
	size_t pos = cap - 1;
	uint64_t cur = ino;
	int err = 0;

	if (!tmp || !e) {
		free(tmp);
		free(e);
		return -ENOMEM;
	}
	tmp[pos] = '\0';
	umfs_meta_lock(fs);
	if (!umfs_inode_live(fs, ino) || (gen && umfs_inode(fs, ino)->generation != gen))
		err = -ENOENT;
	else
		err = umfs_inode_verify(fs, ino, true);
	if (!err && !S_ISDIR(umfs_inode(fs, ino)->mode))
		err = -ENOTDIR;
	for (uint64_t steps = 0; !err && cur != UMFS_ROOT_INO; steps++) {
		const struct umfs_inode *in = umfs_inode(fs, cur);
		uint64_t parent = in->dir.parent;
		size_t nl;

		if (steps >= fs->inode_count || in->nlink == 0) {
			err = -ENOENT;
			break;
		}
		err = umfs_dentry_verify(fs, cur, "..", 2, parent, DT_DIR);
		if (!err)
			err = name_in_parent(fs, parent, cur, e);
		if (err)
			break;
		nl = strlen(e->name);
		if (nl + 1 > pos) {
			err = -ENAMETOOLONG;
			break;
		}
		pos -= nl;
		memcpy(tmp + pos, e->name, nl);
		tmp[--pos] = '/';
		cur = parent;
	}
	umfs_meta_unlock(fs);
	if (!err) {
		const char *p = pos == cap - 1 ? "/" : tmp + pos;

		if (strlen(p) + 1 > size)
			err = -ENAMETOOLONG;
		else
			strcpy(buf, p);
	}
	free(tmp);
	free(e);
	return umfs_fs_result(fs, err);
}
