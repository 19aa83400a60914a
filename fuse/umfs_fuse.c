/* SPDX-License-Identifier: MIT */
/*
 * umfs_fuse.c - the operations table, and the connection's life: init sets
 * the cache and path behaviour the core needs, destroy unmounts the pool.
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

static void *uf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* st_ino and d_ino are the pool's inode numbers (hard links, find,
	 * du and tar rely on them) */
	cfg->use_ino = 1;
	/* Operations on a handle need no path: read and write on a file
	 * unlinked while open then skip libfuse's path lookup. (libfuse
	 * still "hides" such a file, see hidden.c: fstat needs a path.) */
	cfg->nullpath_ok = 1;
	/* Programs on libumfs change the pool behind the kernel's back: no
	 * cached names or attributes, so every lookup and stat comes here,
	 * and a read revalidates the size and mtime first, which drops
	 * cached pages another process's write made stale (auto_inval_data).
	 * A read-only mount keeps libfuse's timeouts (-o entry_timeout=,
	 * attr_timeout=; 1 s), turned off for hard links (cache.c). */
	if (!uf_ctx()->rdonly) {
		cfg->entry_timeout = 0;
		cfg->negative_timeout = 0;
		cfg->attr_timeout = 0;
	}
	uf_cache_init(cfg);

	/* The core does not clear setuid/setgid on write or truncate: let
	 * the kernel do it with a chmod, as for other file systems. */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	return uf_ctx();
}

static void uf_destroy(void *private_data)
{
	uf_hidden_release_all();
	uf_unmount_pool(private_data);
}

const struct fuse_operations umfs_fuse_ops = {
	.init = uf_init,
	.destroy = uf_destroy,
	.getattr = uf_getattr,
	.readlink = uf_readlink,
	.mknod = uf_mknod,
	.mkdir = uf_mkdir,
	.unlink = uf_unlink,
	.rmdir = uf_rmdir,
	.symlink = uf_symlink,
	.rename = uf_rename,
	.link = uf_link,
	.chmod = uf_chmod,
	.chown = uf_chown,
	.truncate = uf_truncate,
	.open = uf_open,
	.read = uf_read,
	.write = uf_write,
	.statfs = uf_statfs,
	.flush = uf_flush,
	.release = uf_release,
	.fsync = uf_fsync,
	.opendir = uf_opendir,
	.readdir = uf_readdir,
	.releasedir = uf_releasedir,
	.fsyncdir = uf_fsyncdir,
	.access = uf_access,
	.create = uf_create,
	.utimens = uf_utimens,
	.fallocate = uf_fallocate,
	.lseek = uf_lseek,
	.flock = uf_flock,
};
