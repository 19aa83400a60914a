/* SPDX-License-Identifier: MIT */
/*
 * nodeid.c - the kernel's node ids, and the replies that hand them out.
 *
 * A node id is a pool inode's number in its low 32 bits and its generation
 * in the high 32, the root's being FUSE_ROOT_ID (the pool's root is inode
 * 1, so no other inode's id can be 1). Every request carries what names
 * its inode, the core checks the generation (a freed or reused inode
 * answers ENOENT); the lookup counts kept in nodetab.c only keep removed
 * inodes alive while the kernel holds them.
 * The same inode is one node under all its names, so hard links share the
 * kernel's inode, its attribute cache, its pages and its locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "umfs_fuse.h"

#define UF_ROOT_INO 1u

static uint32_t root_gen;

/* Called once, before serving: the root's generation, and whether every
 * inode number fits in a node id's 32 bits. */
int uf_node_check_pool(struct umfs_fs *fs)
{
	struct statvfs sv;
	struct stat st;
	int err;

	err = umfs_statfs(fs, &sv);
	if (err)
		return err;
	if ((uint64_t)sv.f_files >= (1ull << 32))
		return -EOVERFLOW;
	return umfs_stat_id(fs, "/", &st, 0, &root_gen);
}

struct uf_id uf_id_of(fuse_ino_t node)
{
	if (node == FUSE_ROOT_ID)
		return (struct uf_id){ UF_ROOT_INO, root_gen };
	return (struct uf_id){ node & 0xffffffffu, (uint32_t)(node >> 32) };
}

fuse_ino_t uf_node_of(uint64_t ino, uint32_t gen)
{
	if (ino == UF_ROOT_INO)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(ino | (uint64_t)gen << 32);
}

/* Relative names in this thread's next core calls start at directory dir
 * (the first name) and dir2 (the second of a rename or a link; 0: none). */
void uf_walk_in(fuse_req_t req, fuse_ino_t dir, fuse_ino_t dir2)
{
	struct uf_id a = uf_id_of(dir), b = dir2 ? uf_id_of(dir2) : (struct uf_id){ 0, 0 };

	umfs_walk_from(uf_fs(req), a.ino, a.gen, b.ino, b.gen);
}

void uf_walk_done(void)
{
	umfs_walk_from(NULL, 0, 0, 0, 0);
}

/* A node whose inode was freed since the kernel looked it up: its name
 * went away (ESTALE would make the kernel look it up once more, and a
 * second change of the name in that moment would reach the program). */
void uf_reply_err(fuse_req_t req, int err)
{
	if (err == -ESTALE)
		err = -ENOENT;
	fuse_reply_err(req, err < 0 ? -err : err);
}

void uf_entry_fill(fuse_req_t req, struct fuse_entry_param *e, const struct stat *st,
		   uint32_t gen)
{
	const struct umfs_fuse *uf = uf_ctx(req);

	memset(e, 0, sizeof(*e));
	e->ino = uf_node_of(st->st_ino, gen);
	e->generation = gen;
	e->attr = *st;
	e->attr_timeout = uf->attr_timeout;
	e->entry_timeout = uf->entry_timeout;
}

/* Replies e (to create when fi is set), counting the lookup it hands out
 * first: the kernel may forget it before this thread runs on. A reply
 * that did not reach the kernel (the request was interrupted) counts
 * nothing. */
void uf_reply_entry_counted(fuse_req_t req, const struct fuse_entry_param *e,
			    const struct fuse_file_info *fi)
{
	uf_nodes_add(e->ino, 1);
	if (fi)
		uf_nodes_open(e->ino, 1);
	if (fi ? fuse_reply_create(req, e, fi) : fuse_reply_entry(req, e)) {
		if (fi)
			uf_nodes_open(e->ino, -1);
		uf_nodes_forget(e->ino, 1);
	}
}

/* The entry name has now in directory parent (a lookup, or the object a
 * mkdir, mknod or symlink just made). */
void uf_reply_entry_name(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct stat st;
	uint32_t gen;
	int err;

	uf_walk_in(req, parent, 0);
	err = umfs_stat_id(uf_fs(req), name, &st, AT_SYMLINK_NOFOLLOW, &gen);
	uf_walk_done();
	if (err == -ENOENT && uf_ctx(req)->negative_timeout > 0) {
		/* node id 0: the kernel keeps the name's absence that long */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = uf_ctx(req)->negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err) {
		uf_reply_err(req, err);
		return;
	}
	uf_entry_fill(req, &e, &st, gen);
	uf_reply_entry_counted(req, &e, NULL);
}

/* The entry of an open file: the reply to create (fi set) or to link.
 * On an error nothing is replied: the caller answers and closes f. */
int uf_reply_entry_file(fuse_req_t req, struct umfs_file *f, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct stat st;
	uint64_t ino;
	uint32_t gen;
	int err = umfs_fstat(f, &st);

	if (err)
		return err;
	umfs_file_id(f, &ino, &gen);
	uf_entry_fill(req, &e, &st, gen);
	uf_reply_entry_counted(req, &e, fi);
	return 0;
}
