/* SPDX-License-Identifier: MIT */
/*
 * umfs_fuse.c - the operations table, and the connection's life: init sets
 * what the kernel does for the daemon, destroy unmounts the pool.
 */
#include <stdio.h>

#include "umfs_fuse.h"

void uf_unmount_pool(struct umfs_fuse *uf)
{
	if (!uf->fs)
		return;
	uf->unmount_err = umfs_unmount(uf->fs);
	uf->fs = NULL;
	if (uf->unmount_err)
		fprintf(stderr, "umfs-fuse: unmounting pool %s: %s\n", uf->pool,
			umfs_strerror(uf->unmount_err));
}

static void uf_init(void *userdata, struct fuse_conn_info *conn)
{
	const struct umfs_fuse *uf = userdata;

	/* The kernel clears setuid/setgid on write or truncate with a chmod
	 * in the writer's name, as for other file systems; the core clears
	 * them too, by the credentials each write hands it. A read
	 * revalidates the size and mtime first, which drops cached pages
	 * another process's write made stale (auto_inval_data, libfuse's
	 * default). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* readdirplus saves a LOOKUP per name only while the kernel may keep
	 * the entries it brings (ls -l of 2,000 names: 2,001 LOOKUPs without,
	 * 1 with, at entry_timeout=1); with no entry timeout (a writable
	 * mount's default) the kernel looks each name up again anyway. */
	if (uf->entry_timeout <= 0)
		conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

static void uf_destroy(void *userdata)
{
	struct umfs_fuse *uf = userdata;

	uf_locks_stop();
	uf_nodes_release(uf->debug);
	uf_unmount_pool(uf);
}

const struct fuse_lowlevel_ops umfs_fuse_ops = {
	.init = uf_init,
	.destroy = uf_destroy,
	.lookup = uf_lookup,
	.forget = uf_forget,
	.forget_multi = uf_forget_multi,
	.getattr = uf_getattr,
	.setattr = uf_setattr,
	.readlink = uf_readlink,
	.mknod = uf_mknod,
	.mkdir = uf_mkdir,
	.unlink = uf_unlink,
	.rmdir = uf_rmdir,
	.symlink = uf_symlink,
	.rename = uf_rename,
	.link = uf_link,
	.open = uf_open,
	.read = uf_read,
	.write = uf_write,
	.flush = uf_flush,
	.release = uf_release,
	.fsync = uf_fsync,
	.opendir = uf_opendir,
	.readdir = uf_readdir,
	.readdirplus = uf_readdirplus,
	.releasedir = uf_releasedir,
	.fsyncdir = uf_fsyncdir,
	.statfs = uf_statfs,
	.listxattr = uf_listxattr,
	.create = uf_create,
	.fallocate = uf_fallocate,
	.lseek = uf_lseek,
	.flock = uf_flock,
	.getlk = uf_getlk,
	.setlk = uf_setlk,
};
