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
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	uf_cred_enter();
	/* FUSE wants a NUL-terminated target, cut to fit if need be */
	n = umfs_readlink(uf_fs(), path, buf, size - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}

int uf_mknod(const char *path, mode_t mode, dev_t dev)
{
	uf_cred_enter();
	return umfs_mknod(uf_fs(), path, mode, dev);
}

int uf_mkdir(const char *path, mode_t mode)
{
	uf_cred_enter();
	return umfs_mkdir(uf_fs(), path, mode);
}

int uf_unlink(const char *path)
{
	int err;

	uf_cred_enter();
	err = uf_hidden_unlink(path); /* libfuse's last close of a hidden file */
	return err != 1 ? err : umfs_unlink(uf_fs(), path);
}

int uf_rmdir(const char *path)
{
	uf_cred_enter();
	return umfs_rmdir(uf_fs(), path);
}

int uf_symlink(const char *target, const char *linkpath)
{
	uf_cred_enter();
	return umfs_symlink(uf_fs(), target, linkpath);
}

/* flags: RENAME_NOREPLACE or RENAME_EXCHANGE, as renameat2(2); the core
 * refuses anything else (RENAME_WHITEOUT) with EINVAL. */
int uf_rename(const char *from, const char *to, unsigned int flags)
{
	int err;

	uf_cred_enter();
	err = uf_hidden_rename(from, to, flags); /* libfuse hiding an open file? */
	return err != 1 ? err : umfs_rename(uf_fs(), from, to, flags);
}

int uf_link(const char *from, const char *to)
{
	int err;

	uf_cred_enter();
	err = umfs_link(uf_fs(), from, to);
	if (!err)
		uf_cache_linked(from);
	return err;
}
