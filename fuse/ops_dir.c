/* SPDX-License-Identifier: MIT */
/*
 * ops_dir.c - directory streams: opendir, readdir, releasedir, fsyncdir.
 *
 * readdir hands the kernel the core's cookies as offsets: each entry carries
 * the cookie just after it, and the next call seeks there. Cookies stay valid
 * while entries come and go, so a directory read in several calls (or after
 * telldir/seekdir) neither repeats nor skips an entry that stayed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>

#include "umfs_fuse.h"

int uf_opendir(const char *path, struct fuse_file_info *fi)
{
	struct umfs_dir *d;
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_opendir(uf_fs(), l.rest, &d);
	uf_long_put(&l);
	if (!err)
		fi->fh = (uintptr_t)d;
	return err;
}

int uf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct umfs_dir *d = uf_dir(fi);
	struct umfs_dirent ent;
	bool filled = false;
	struct stat st;
	int ret;

	umfs_seekdir(d, (uint64_t)off);
	while ((ret = umfs_readdir(d, &ent)) > 0) {
		memset(&st, 0, sizeof(st));
		st.st_ino = ent.ino;
		st.st_mode = DTTOIF(ent.type);
		/* No FUSE_FILL_DIR_PLUS: libfuse would stat every entry by path
		 * to build it, more work than the lookups it saves. */
		if (fill(buf, ent.name, &st, (off_t)ent.next_cookie, 0))
			break; /* the reply is full: the next call resumes at off */
		filled = true;
	}
	/* An error drops the whole reply: the entries before a damaged one
	 * go first, and the next call, from the last one's offset, meets it. */
	return ret < 0 && !filled ? ret : 0;
}

int uf_releasedir(const char *path, struct fuse_file_info *fi)
{
	return umfs_closedir(uf_dir(fi));
}

/* Metadata is persistent when an operation returns; only a pool on a disk
 * file needs syncing, which the core does for the whole pool at fsync. */
int uf_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct umfs_file *f;
	int err;

	/* path is NULL when the directory was removed: "/" syncs the pool too
	 * (as for a path too long to walk at once). O_PATH: the caller's
	 * descriptor already passed the access checks. */
	uf_cred_enter();
	if (!path || strlen(path) >= PATH_MAX)
		path = "/";
	err = umfs_open(uf_fs(), path, O_PATH | O_DIRECTORY, 0, &f);
	if (err)
		return err;
	err = umfs_fsync(f, datasync);
	umfs_close(f);
	return err;
}
