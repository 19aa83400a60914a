/* SPDX-License-Identifier: MIT */
/*
 * backend_soft.c - the software backend: the core's own walk of the pool.
 *
 * The process maps the pool file or device itself and changes every byte
 * of it in its own transactions: pages and inodes come from alloc.c's
 * bitmaps, security fields are plain snapshotted stores. Most ops are the
 * core functions that walk the structures they change (file.c, cow.c,
 * inode.c, ulog.c, ptable.c); the few that are only glue live here.
 *
 * file_read and file_write are the data path for present runs: a hook on
 * how bytes move between the caller and the pool in software mode goes in
 * them (or below them, in umfs_file_read_runs and file.c's copies).
 */
#include <errno.h>

#include "backend.h"
#include "api.h"
#include "cred.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "ptable.h"
#include "ulog.h"

static int soft_pool_map(const char *path, size_t create_size, bool rdonly,
			 struct umfs_pmem *pm, bool *done)
{
	*done = true; /* any file or device */
	return umfs_pmem_map_path(path, create_size, rdonly, pm);
}

/* Files are reached through the pool mapping: nothing to attach. */
static void soft_file_attach(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino,
			     struct umfs_katt *a)
{
	(void)fs;
	(void)vn;
	(void)ino;
	(void)a;
}

static void soft_file_detach(struct umfs_fs *fs, struct umfs_katt *a)
{
	(void)fs;
	pthread_rwlock_destroy(&a->lock);
}

static ssize_t soft_file_read(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, void *buf,
			      size_t len, uint64_t off, bool *fresh, const struct umfs_out *out)
{
	(void)a;
	(void)fresh;
	return umfs_file_read_runs(fs, ino, buf, len, off, NULL, NULL, out);
}

static ssize_t soft_file_write(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a,
			       const void *buf, size_t len, uint64_t off)
{
	(void)a;
	return umfs_file_write(fs, ino, buf, len, off);
}

static void soft_file_revoke(struct umfs_fs *fs, uint64_t ino)
{
	(void)fs;
	(void)ino;
}

/* The core maps the write's pages in its own transaction. */
static int soft_write_alloc(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			    uint64_t *done, int (*in_tx)(void *arg, uint64_t *done), void *arg)
{
	(void)fs;
	(void)ino;
	(void)first;
	(void)last;
	return in_tx(arg, done);
}

static int soft_set_mode(struct umfs_fs *fs, uint64_t ino, mode_t mode)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err;

	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	in->mode = (in->mode & S_IFMT) | (mode & 07777);
	api_touch_times(in, false);
	umfs_inode_seal(in);
	return 0;
}

static int soft_set_owner(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid,
			  const struct umfs_ucred *c)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err;

	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	/* chown drops setuid, and setgid when group-executable or when the
	 * caller is outside the file's group without CAP_FSETID, even when
	 * neither id changes (Linux 6.1: ATTR_KILL_SUID,
	 * setattr_should_drop_sgid()) */
	if (!S_ISDIR(in->mode)) {
		bool in_group = (c->caps & UMFS_CAP_FSETID) || umfs_cred_in_group(c, in->gid);

		in->mode &= ~(uint32_t)S_ISUID;
		if ((in->mode & S_IXGRP) || !in_group)
			in->mode &= ~(uint32_t)S_ISGID;
	}
	if (uid != (uid_t)-1)
		in->uid = (uint32_t)uid;
	if (gid != (gid_t)-1)
		in->gid = (uint32_t)gid;
	api_touch_times(in, false);
	umfs_inode_seal(in);
	return 0;
}

static void soft_ulog_release(struct umfs_fs *fs, uint64_t ino)
{
	if (umfs_tx_begin(fs))
		return;
	if (umfs_ulog_free(fs, ino, false))
		umfs_tx_abort(fs); /* kept: recovery or the inode's reclaim frees it */
	else
		umfs_tx_commit(fs);
}

static int soft_ulog_drop(struct umfs_fs *fs, uint64_t ino, struct umfs_recover_stats *st)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err;

	err = umfs_tx_begin(fs);
	if (!err) {
		err = umfs_ulog_free(fs, ino, true);
		if (err) {
			umfs_tx_abort(fs);
			/* cannot free (a bit already clear?): just forget the chain */
			err = umfs_tx_begin(fs);
			if (!err)
				err = umfs_tx_add(fs, in, sizeof(*in));
			if (!err) {
				in->ulog = 0;
				umfs_inode_seal(in);
				st->ulog_bad++;
			}
		}
		if (err && fs->tx.active)
			umfs_tx_abort(fs);
		else if (!err)
			err = umfs_tx_commit(fs);
	}
	return err;
}

/* Mapped now, in the transaction. */
static int soft_tx_dir_page(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg,
			    uint64_t *off)
{
	return umfs_pt_map(fs, in, pg, UMFS_PTMAP_ZERO | UMFS_PTMAP_META, off);
}

/* tx_dir_page maps each page when it is needed. */
static int soft_tx_dir_pages(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			     uint64_t count)
{
	(void)fs;
	(void)in;
	(void)first;
	(void)count;
	return 0;
}

/* Never asked: a transaction never stops for pages here (tx_dir_page). */
static int soft_map_dir_pages(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			      uint64_t *done)
{
	(void)fs;
	(void)ino;
	(void)first;
	(void)last;
	(void)done;
	return -EOPNOTSUPP;
}

static int soft_tx_dir_truncate(struct umfs_fs *fs, struct umfs_inode *in)
{
	return umfs_pt_truncate(fs, in, 0);
}

const struct umfs_backend_ops umfs_backend_soft = {
	.name = "software",
	.core_allocates = true,
	.unlocked_writers = false,
	.checks_files = false,
	.prefaults = true,
	.swaps_leaves = true,
	.pool_map = soft_pool_map,
	.file_attach = soft_file_attach,
	.file_detach = soft_file_detach,
	.file_read = soft_file_read,
	.file_write = soft_file_write,
	.file_revoke = soft_file_revoke,
	.alloc_zeroed = umfs_file_alloc_zeroed,
	.write_alloc = soft_write_alloc,
	.free_pages = umfs_file_pages_free,
	.cow_prepare = umfs_cow_prepare,
	.swap_pages = umfs_ulog_swap_pages,
	.inode_create = umfs_inode_make,
	.inode_create_named = umfs_inode_make_named,
	.tx_inode_free = umfs_inode_free_tx,
	.inode_reclaim = umfs_inode_reclaim_pages,
	.set_mode = soft_set_mode,
	.set_owner = soft_set_owner,
	.ulog_grow = umfs_ulog_chain_grow,
	.ulog_release = soft_ulog_release,
	.ulog_drop = soft_ulog_drop,
	.tx_dir_page = soft_tx_dir_page,
	.tx_dir_pages = soft_tx_dir_pages,
	.map_dir_pages = soft_map_dir_pages,
	.tx_dir_truncate = soft_tx_dir_truncate,
};
