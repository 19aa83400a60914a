/* SPDX-License-Identifier: MIT */
/*
 * ops_names.c - the namespace: readlink, mknod, mkdir, unlink, rmdir,
 * symlink, rename, link.
 *
 * Special files (devices, FIFOs, sockets) are only names and attributes in
 * the pool; the kernel serves their opens itself, never asking the daemon.
 */
#include <errno.h>

#include "umfs_fuse.h"

int uf_readlink(const char *path, char *buf, size_t size)
{
	struct uf_long l;
	ssize_t n;
	int err;

	if (size == 0)
		return -EINVAL;
	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	/* FUSE wants a NUL-terminated target, cut to fit if need be */
	n = umfs_readlink(uf_fs(), l.rest, buf, size - 1);
	uf_long_put(&l);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}

int uf_mknod(const char *path, mode_t mode, dev_t dev)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_mknod(uf_fs(), l.rest, mode, dev);
	uf_long_put(&l);
	return err;
}

int uf_mkdir(const char *path, mode_t mode)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_mkdir(uf_fs(), l.rest, mode);
	uf_long_put(&l);
	return err;
}

int uf_unlink(const char *path)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = uf_hidden_unlink(l.rest); /* libfuse's last close of a hidden file */
	if (err == 1)
		err = umfs_unlink(uf_fs(), l.rest);
	uf_long_put(&l);
	return err;
}

int uf_rmdir(const char *path)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_rmdir(uf_fs(), l.rest);
	uf_long_put(&l);
	return err;
}

int uf_symlink(const char *target, const char *linkpath)
{
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(linkpath, &l);
	if (err)
		return err;
	err = umfs_symlink(uf_fs(), target, l.rest);
	uf_long_put(&l);
	return err;
}

/* Both paths, each walked in parts if it is long; -errno or 0. */
static int long_pair(const char *from, const char *to, struct uf_long *a, struct uf_long *b)
{
	int err = uf_long_get(from, a);

	if (err)
		return err;
	err = uf_long_get(to, b);
	if (err) {
		uf_long_put(a);
		return err;
	}
	uf_long_use(a, b);
	return 0;
}

/* flags: RENAME_NOREPLACE or RENAME_EXCHANGE, as renameat2(2); the core
 * refuses anything else (RENAME_WHITEOUT) with EINVAL. */
int uf_rename(const char *from, const char *to, unsigned int flags)
{
	struct uf_long a, b;
	int err;

	uf_cred_enter();
	err = long_pair(from, to, &a, &b);
	if (err)
		return err;
	err = uf_hidden_rename(a.rest, b.rest, flags); /* libfuse hiding an open file? */
	if (err == 1) {
		uf_long_use(&a, &b);
		err = umfs_rename(uf_fs(), a.rest, b.rest, flags);
	}
	uf_long_put(&a);
	uf_long_put(&b);
	return err;
}

int uf_link(const char *from, const char *to)
{
	struct uf_long a, b;
	int err;

	uf_cred_enter();
	err = long_pair(from, to, &a, &b);
	if (err)
		return err;
	err = umfs_link(uf_fs(), a.rest, b.rest);
	uf_long_put(&a);
	uf_long_put(&b);
	if (!err)
		uf_cache_linked(from);
	return err;
}
