/* SPDX-License-Identifier: MIT */
/*
 * ops_file.c - open files: open, create, read, write, flush, release, fsync,
 * fallocate, lseek.
 *
 * fi->fh is the core's struct umfs_file, a description of the inode itself:
 * a file unlinked or renamed while open keeps working through it. Data goes
 * straight to the pool with pread/pwrite at the offset the kernel chose; a
 * call that returned is already persistent, so flush only drops the closing
 * process's record locks (ops_lock.c), and fsync only matters for pools
 * kept on a disk file (msync).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "umfs_fuse.h"

/* An open for writing lets the client store through a shared mapping in
 * the kernel's page cache, which shares no memory with a libumfs
 * program's mapping of the file nor with another daemon's cache: it
 * claims the file's memory for this cache (umfs_file_cache_claim). While
 * another holds it, the open bypasses the cache instead (direct_io: the
 * kernel then refuses the client a shared mapping, ENODEV), and its reads
 * and writes come here; so does an open for writing with O_DIRECT, which
 * asks for no cache and so claims none. */
static void uf_cache_choose(struct umfs_file *f, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		return;
	if ((fi->flags & O_DIRECT) || umfs_file_cache_claim(f) != 0)
		fi->direct_io = 1;
}

void uf_open(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct uf_id id = uf_id_of(node);
	struct umfs_file *f;
	int err;

	uf_cred_enter(req);
	/* The kernel consumed O_CREAT, O_EXCL and O_NOCTTY already (it found
	 * the file); O_TRUNC stays, the core truncates atomically with the
	 * open. */
	err = umfs_open_id(uf_fs(req), id.ino, id.gen, fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY),
			   UMFS_OPEN_ID_TRUNC, &f);
	if (err) {
		uf_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)f;
	uf_cache_choose(f, fi);
	uf_nodes_open(node, 1);
	if (fuse_reply_open(req, fi)) {
		uf_nodes_open(node, -1);
		umfs_close(f); /* the opener was interrupted: no release will come */
	}
}

void uf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct umfs_file *f;
	int err;

	uf_cred_enter(req);
	/* the kernel applied the umask to mode already */
	uf_walk_in(req, parent, 0);
	err = umfs_open(uf_fs(req), name, (fi->flags & ~O_NOCTTY) | O_CREAT, mode, &f);
	uf_walk_done();
	if (err) {
		uf_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)f;
	uf_cache_choose(f, fi);
	err = uf_reply_entry_file(req, f, fi);
	if (err) {
		umfs_close(f);
		uf_reply_err(req, err);
	}
}

void uf_read(fuse_req_t req, fuse_ino_t node, size_t size, off_t off, struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	(void)node;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = umfs_pread(uf_file(fi), buf, size, off);
	if (n < 0)
		uf_reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void uf_write(fuse_req_t req, fuse_ino_t node, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct umfs_file *f = uf_file(fi);
	int now = umfs_file_flags(f);
	ssize_t n;

	(void)node;
	/* The kernel writing back a shared mapping's dirty pages: they go
	 * where they were mapped, whatever the handle's O_APPEND, and keep
	 * set-user-ID and set-group-ID, as stores do. */
	if (fi->writepage) {
		n = umfs_write_stores(f, buf, size, off);
		goto out;
	}
	uf_cred_enter(req); /* the set-id bits a write drops depend on the writer */
	/* With O_APPEND the core appends at its own end of file, whatever the
	 * kernel's idea of the size. The write carries the description's flags
	 * as they are now: F_SETFL, which the kernel keeps to itself, may have
	 * turned O_APPEND on or off since the open. */
	if ((now ^ fi->flags) & O_APPEND)
		umfs_file_set_flags(f, (now & ~O_APPEND) | (fi->flags & O_APPEND));
	n = umfs_pwrite(f, buf, size, off);
out:
	if (n < 0)
		uf_reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

void uf_flush(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	(void)node;
	uf_records_flush(req, fi); /* a close: the process's record locks go */
	fuse_reply_err(req, 0); /* every write is in the pool when it returns */
}

void uf_release(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	int err;

	uf_flock_release(req, fi); /* the file's flock lock goes with it */
	uf_records_release(req, fi); /* and its OFD locks */
	err = umfs_close(uf_file(fi)); /* the last close of an unlinked file frees it */
	/* The kernel queues the forget of a removed file as it takes this
	 * answer: the node is due before the answer (a forget served first
	 * would find it not due, and a statfs would not wait for its free),
	 * this release served only after it. */
	uf_nodes_open(node, -1);
	uf_reply_err(req, err);
	uf_release_served();
}

void uf_fsync(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi)
{
	(void)node;
	uf_reply_err(req, umfs_fsync(uf_file(fi), datasync));
}

/* Modes as fallocate(2); the kernel lets through 0, KEEP_SIZE, PUNCH_HOLE
 * (with KEEP_SIZE) and ZERO_RANGE, and answers the rest with EOPNOTSUPP. */
void uf_fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi)
{
	(void)node;
	uf_cred_enter(req); /* as a write: the set-id bits it drops */
	uf_reply_err(req, umfs_fallocate(uf_file(fi), mode, off, len));
}

/* The kernel handles SEEK_SET/CUR/END itself and asks only for SEEK_DATA and
 * SEEK_HOLE. The core also moves its own file position, which nothing here
 * uses: reads and writes carry their offsets. */
void uf_lseek(fuse_req_t req, fuse_ino_t node, off_t off, int whence, struct fuse_file_info *fi)
{
	off_t r = umfs_lseek(uf_file(fi), off, whence);

	(void)node;
	if (r < 0)
		uf_reply_err(req, (int)r);
	else
		fuse_reply_lseek(req, r);
}
