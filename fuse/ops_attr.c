/* SPDX-License-Identifier: MIT */
/*
 * ops_attr.c - attributes: getattr, chmod, chown, truncate, utimens, statfs,
 * access.
 *
 * The kernel resolves symbolic links itself, so a path from FUSE always names
 * the object to act on: the core is told not to follow a final symlink
 * (lchown, touch -h and lstat reach the link itself). With a file handle the
 * operation goes to the open file. A path may name a file that was unlinked
 * while open (hidden.c), which only an open handle reaches.
 */
#include <errno.h>
#include <fcntl.h>

#include "umfs_fuse.h"

int uf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct uf_hidden_op op = { .kind = UF_HIDDEN_STAT, .st = st };
	int err;

	/* The kernel sends a handle for regular files only, and only when
	 * it refreshes the size around reads and writes; fstat(2) comes by
	 * path like stat(2). */
	if (fi) {
		err = umfs_fstat(uf_file(fi), st);
	} else {
		struct uf_long l;

		uf_cred_enter();
		err = uf_long_get(path, &l);
		if (!err) {
			err = uf_hidden_attr(l.rest, &op);
			if (err == 1)
				err = umfs_stat(uf_fs(), l.rest, st, AT_SYMLINK_NOFOLLOW);
			uf_long_put(&l);
		}
	}
	if (!err)
		uf_cache_note(st);
	return err;
}

static int do_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct uf_hidden_op op = { .kind = UF_HIDDEN_CHMOD, .mode = mode };
	struct uf_long l;
	int err;

	if (fi)
		return umfs_fchmod(uf_file(fi), mode);
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = uf_hidden_attr(l.rest, &op);
	if (err == 1)
		err = umfs_chmod(uf_fs(), l.rest, mode, AT_SYMLINK_NOFOLLOW);
	uf_long_put(&l);
	return err;
}

/* True when mode only takes setuid/setgid away from old. */
static bool only_drops_privs(mode_t old, mode_t mode)
{
	old &= 07777;
	mode &= 07777;
	return (mode & ~old) == 0 && (old & ~mode & ~(mode_t)(S_ISUID | S_ISGID)) == 0;
}

int uf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct stat st;
	int err;

	uf_cred_enter();
	err = do_chmod(path, mode, fi);
	if (err != -EPERM)
		return err;
	/* When someone other than the owner writes to or truncates a setuid
	 * or setgid file, the kernel clears the bits with a chmod in the
	 * writer's name (the daemon leaves HANDLE_KILLPRIV off). The core lets
	 * only the owner chmod, but the kernel checked this request itself:
	 * with default_permissions no other chmod by a non-owner gets here.
	 * So a chmod that only drops those bits is done as root. */
	if (uf_getattr(path, &st, fi) || !only_drops_privs(st.st_mode, mode))
		return err;
	uf_cred_root();
	return do_chmod(path, mode, fi);
}

int uf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct uf_hidden_op op = { .kind = UF_HIDDEN_CHOWN, .uid = uid, .gid = gid };
	struct uf_long l;
	int err;

	uf_cred_enter();
	if (fi)
		return umfs_fchown(uf_file(fi), uid, gid);
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = uf_hidden_attr(l.rest, &op);
	if (err == 1)
		err = umfs_chown(uf_fs(), l.rest, uid, gid, AT_SYMLINK_NOFOLLOW);
	uf_long_put(&l);
	return err;
}

int uf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	uf_cred_enter();
	/* ftruncate: the handle was opened for writing, no access check */
	struct uf_long l;
	int err;

	if (fi)
		return umfs_ftruncate(uf_file(fi), size);
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_truncate(uf_fs(), l.rest, size);
	uf_long_put(&l);
	return err;
}

int uf_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct uf_hidden_op op = { .kind = UF_HIDDEN_UTIMENS, .tv = tv };
	struct uf_long l;
	int err;

	uf_cred_enter();
	if (fi)
		return umfs_futimens(uf_file(fi), tv);
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = uf_hidden_attr(l.rest, &op);
	if (err == 1)
		err = umfs_utimens(uf_fs(), l.rest, tv, AT_SYMLINK_NOFOLLOW);
	uf_long_put(&l);
	return err;
}

int uf_statfs(const char *path, struct statvfs *sv)
{
	return umfs_statfs(uf_fs(), sv);
}

/* Reached only without default_permissions: the kernel checks otherwise. */
int uf_access(const char *path, int mask)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_access(uf_fs(), l.rest, mask);
	uf_long_put(&l);
	return err;
}
