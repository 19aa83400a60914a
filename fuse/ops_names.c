/* SPDX-License-Identifier: MIT */
/*
 * ops_names.c - the namespace: lookup, forget, readlink, mknod, mkdir,
 * unlink, rmdir, symlink, rename, link.
 *
 * Every name is one component in a directory the kernel names by node, so
 * the core resolves it from that directory's inode, wherever the directory
 * is now; no path is ever built, whatever its depth. Special files
 * (devices, FIFOs, sockets) are only names and attributes in the pool; the
 * kernel serves their opens itself, never asking the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "umfs_fuse.h"

void uf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uf_cred_enter(req); /* search permission on parent */
	uf_reply_entry_name(req, parent, name);
}

void uf_forget(fuse_req_t req, fuse_ino_t node, uint64_t nlookup)
{
	uf_nodes_forget(node, nlookup);
	uf_release_served();
	fuse_reply_none(req);
}

void uf_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		uf_nodes_forget(forgets[i].ino, forgets[i].nlookup);
	uf_release_served();
	fuse_reply_none(req);
}

void uf_readlink(fuse_req_t req, fuse_ino_t node)
{
	struct uf_id id = uf_id_of(node);
	char buf[PATH_MAX];
	ssize_t n;

	uf_cred_enter(req);
	/* FUSE wants a NUL-terminated target */
	n = umfs_readlink_ino(uf_fs(req), id.ino, id.gen, buf, sizeof(buf) - 1);
	if (n < 0) {
		uf_reply_err(req, (int)n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* A node made in parent: its entry, or the error. */
static void reply_made(fuse_req_t req, fuse_ino_t parent, const char *name, int err)
{
	if (err)
		uf_reply_err(req, err);
	else
		uf_reply_entry_name(req, parent, name);
}

void uf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	int err;

	uf_cred_enter(req);
	uf_walk_in(req, parent, 0);
	err = umfs_mknod(uf_fs(req), name, mode, rdev);
	uf_walk_done();
	reply_made(req, parent, name, err);
}

void uf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	int err;

	uf_cred_enter(req);
	uf_walk_in(req, parent, 0);
	err = umfs_mkdir(uf_fs(req), name, mode);
	uf_walk_done();
	reply_made(req, parent, name, err);
}

void uf_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	int err;

	uf_cred_enter(req);
	uf_walk_in(req, parent, 0);
	err = umfs_symlink(uf_fs(req), target, name);
	uf_walk_done();
	reply_made(req, parent, name, err);
}

/* A name about to be removed (unlink, rmdir, a rename over it). The core
 * keeps a file unlinked while open alive until its last close (and frees
 * it at the next mount after a crash). The kernel may still hold the inode
 * (a current directory, an O_PATH descriptor: neither opens it here), so
 * it is opened first, from the directory the walk starts in (NULL when it
 * cannot be), and, if the removal took its last name, held until the
 * kernel forgets its node (nodetab.c). The hold comes before the answer:
 * the kernel may drop the inode and send the forget as soon as it has it,
 * and the space must be free once that forget is served (releases.c). */
static struct umfs_file *victim_open(fuse_req_t req, const char *name)
{
	struct umfs_file *f;

	if (umfs_open(uf_fs(req), name, O_PATH | O_NOFOLLOW, 0, &f))
		f = NULL; /* the removal gives the error, or there is no such name */
	return f;
}

static void victim_settle(struct umfs_file *f, int err)
{
	struct stat st;
	uint64_t ino;
	uint32_t gen;

	if (!f)
		return;
	if (!err && !umfs_fstat(f, &st) && st.st_nlink == 0) {
		umfs_file_id(f, &ino, &gen);
		uf_nodes_hold(uf_node_of(ino, gen), f);
	} else {
		umfs_close(f);
	}
}

/* unlink or rmdir of name in parent */
static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			int (*remove)(struct umfs_fs *, const char *))
{
	struct umfs_file *f;
	int err;

	uf_cred_enter(req);
	uf_walk_in(req, parent, 0);
	f = victim_open(req, name);
	err = remove(uf_fs(req), name);
	uf_walk_done();
	victim_settle(f, err); /* held before the kernel can forget it */
	uf_reply_err(req, err);
}

void uf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, umfs_unlink);
}

void uf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, umfs_rmdir);
}

/* flags: RENAME_NOREPLACE or RENAME_EXCHANGE, as renameat2(2); the core
 * refuses anything else (RENAME_WHITEOUT) with EINVAL. A plain rename may
 * remove what newname named: held as an unlink's. */
void uf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	struct umfs_file *f = NULL;
	int err;

	uf_cred_enter(req);
	if (flags == 0) { /* the others never remove newname */
		uf_walk_in(req, newparent, 0);
		f = victim_open(req, newname);
		uf_walk_done();
	}
	uf_walk_in(req, parent, newparent);
	err = umfs_rename(uf_fs(req), name, newname, flags);
	uf_walk_done();
	victim_settle(f, err); /* held before the kernel can forget it */
	uf_reply_err(req, err);
}

/* The node keeps its id: one kernel inode for all the names of a file. */
void uf_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname)
{
	struct uf_id id = uf_id_of(node);
	struct umfs_file *f;
	int err;

	uf_cred_enter(req);
	err = umfs_open_id(uf_fs(req), id.ino, id.gen, O_PATH, UMFS_OPEN_ID_NOCHECK, &f);
	if (!err) {
		uf_walk_in(req, newparent, 0);
		err = umfs_link_file(f, newname, 0);
		uf_walk_done();
		if (!err)
			err = uf_reply_entry_file(req, f, NULL);
		umfs_close(f);
	}
	if (err)
		uf_reply_err(req, err);
}
