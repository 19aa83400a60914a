/* SPDX-License-Identifier: MIT */
/*
 * ops_attr.c - attributes: getattr, setattr, statfs.
 *
 * A node is the inode itself, so attributes are read and changed by
 * identity: a symbolic link's own (lchown, touch -h), a file unlinked
 * while open (its node lives while the kernel holds it), wherever it was
 * renamed. With a file handle (ftruncate, and fstat around reads and
 * writes) the operation goes to the open file.
 */
#include <errno.h>
#include <fcntl.h>

#include "umfs_fuse.h"

/* The attributes the kernel caches for a node. */
void uf_getattr(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct uf_id id = uf_id_of(node);
	struct stat st;
	int err;

	/* The kernel sends a handle for regular files only, and only when
	 * it refreshes the size around reads and writes. */
	if (fi)
		err = umfs_fstat(uf_file(fi), &st);
	else
		err = umfs_stat_ino(uf_fs(req), id.ino, id.gen, &st);
	if (err)
		uf_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, uf_ctx(req)->attr_timeout);
}

/* True when mode only takes setuid/setgid away from old. */
static bool only_drops_privs(mode_t old, mode_t mode)
{
	old &= 07777;
	mode &= 07777;
	return (mode & ~old) == 0 && (old & ~mode & ~(mode_t)(S_ISUID | S_ISGID)) == 0;
}

static int do_chmod(fuse_req_t req, struct umfs_file *f, mode_t mode)
{
	struct stat st;
	int err = umfs_fchmod(f, mode);

	if (err != -EPERM)
		return err;
	/* When someone other than the owner writes to or truncates a setuid
	 * or setgid file, the kernel clears the bits with a chmod in the
	 * writer's name (the daemon leaves HANDLE_KILLPRIV off). The core lets
	 * only the owner chmod, but the kernel checked this request itself:
	 * with default_permissions no other chmod by a non-owner gets here.
	 * So a chmod that only drops those bits is done as root. */
	if (umfs_fstat(f, &st) || !only_drops_privs(st.st_mode, mode))
		return err;
	uf_cred_root();
	err = umfs_fchmod(f, mode);
	uf_cred_enter(req);
	return err;
}

/* truncate(2) by node: a description for writing, checked as truncate
 * checks (write permission). */
static int do_truncate(fuse_req_t req, fuse_ino_t node, off_t size, struct fuse_file_info *fi)
{
	struct uf_id id = uf_id_of(node);
	struct umfs_file *f;
	int err;

	if (fi) /* ftruncate: the handle was opened for writing, no access check */
		return umfs_ftruncate(uf_file(fi), size);
	err = umfs_open_id(uf_fs(req), id.ino, id.gen, O_WRONLY, 0, &f);
	if (err == -ENXIO)
		return -EINVAL; /* as truncate(2): a FIFO, socket or device node */
	if (err)
		return err;
	err = umfs_ftruncate(f, size);
	umfs_close(f);
	return err;
}

static void times_of(const struct stat *attr, int to_set, struct timespec tv[2])
{
	tv[0].tv_sec = tv[1].tv_sec = 0;
	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
}

/* One request may change several attributes (open with O_TRUNC on an old
 * kernel: size and times; chown: owner and mode): in the order chmod,
 * chown, truncate, utimens, stopping at the first refusal. */
void uf_setattr(fuse_req_t req, fuse_ino_t node, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct uf_id id = uf_id_of(node);
	struct umfs_file *f;
	int err;

	uf_cred_enter(req);
	/* O_PATH: the core checks ownership and rights per change, by inode */
	err = umfs_open_id(uf_fs(req), id.ino, id.gen, O_PATH, UMFS_OPEN_ID_NOCHECK, &f);
	if (err) {
		uf_reply_err(req, err);
		return;
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		err = do_chmod(req, f, attr->st_mode);
	if (!err && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		err = umfs_fchown(f, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
				  (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1);
	if (!err && (to_set & FUSE_SET_ATTR_SIZE))
		err = do_truncate(req, node, attr->st_size, fi);
	if (!err && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
		struct timespec tv[2];

		times_of(attr, to_set, tv);
		err = umfs_futimens(f, tv);
	}
	umfs_close(f);
	if (err)
		uf_reply_err(req, err);
	else
		uf_getattr(req, node, fi);
}

/* UMFS stores no extended attributes: the list is empty, as a file system
 * without them answers (getxattr and the others are not served, and the
 * kernel answers EOPNOTSUPP). */
void uf_listxattr(fuse_req_t req, fuse_ino_t node, size_t size)
{
	(void)node;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

void uf_statfs(fuse_req_t req, fuse_ino_t node)
{
	struct statvfs sv;
	int err;

	(void)node;
	uf_releases_wait(true); /* the space of unlinked files closed before */
	err = umfs_statfs(uf_fs(req), &sv);
	if (err)
		uf_reply_err(req, err);
	else
		fuse_reply_statfs(req, &sv);
}
