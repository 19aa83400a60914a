/* SPDX-License-Identifier: MIT */
/*
 * ops_file.c - open files: open, create, read, write, flush, release, fsync,
 * fallocate, lseek.
 *
 * fi->fh is the core's struct umfs_file. Data goes straight to the pool with
 * pread/pwrite at the offset the kernel chose; a call that returned is
 * already persistent, so flush has nothing to do and fsync only matters for
 * pools kept on a disk file (msync).
 */
#include <fcntl.h>

#include "umfs_fuse.h"

/* The kernel consumed these already (it resolved the name and made sure the
 * file exists); O_TRUNC stays, the core truncates atomically with the open. */
#define UF_OPEN_STRIP (O_CREAT | O_EXCL | O_NOCTTY)

int uf_open(const char *path, struct fuse_file_info *fi)
{
	struct umfs_file *f;
	struct uf_long l;
	int err;

	uf_cred_enter();
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_open(uf_fs(), l.rest, fi->flags & ~UF_OPEN_STRIP, 0, &f);
	uf_long_put(&l);
	if (err)
		return err;
	uf_open_count_get(f);
	fi->fh = (uintptr_t)f;
	return 0;
}

int uf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct umfs_file *f;
	struct uf_long l;
	int err;

	uf_cred_enter();
	/* the kernel applied the umask to mode already */
	err = uf_long_get(path, &l);
	if (err)
		return err;
	err = umfs_open(uf_fs(), l.rest, (fi->flags & ~O_NOCTTY) | O_CREAT, mode, &f);
	uf_long_put(&l);
	if (err)
		return err;
	uf_open_count_get(f);
	fi->fh = (uintptr_t)f;
	return 0;
}

int uf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	/* size is at most max_read (1 MiB), so the count fits an int */
	return (int)umfs_pread(uf_file(fi), buf, size, off);
}

int uf_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	/* With O_APPEND the core appends at its own end of file, whatever the
	 * kernel's idea of the size. */
	return (int)umfs_pwrite(uf_file(fi), buf, size, off);
}

int uf_flush(const char *path, struct fuse_file_info *fi)
{
	return 0; /* every write is in the pool when it returns */
}

int uf_release(const char *path, struct fuse_file_info *fi)
{
	struct umfs_file *f = uf_file(fi);
	uint64_t ino;
	uint32_t gen;

	umfs_file_id(f, &ino, &gen);
	uf_flock_release(fi); /* the file's flock lock goes with it */
	uf_open_count_put(ino);
	/* The last close of an unlinked file frees it in the core. */
	return umfs_close(f);
}

int uf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return umfs_fsync(uf_file(fi), datasync);
}

/* Modes as fallocate(2); the kernel lets through 0, KEEP_SIZE, PUNCH_HOLE
 * (with KEEP_SIZE) and ZERO_RANGE, and answers the rest with EOPNOTSUPP. */
int uf_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	return umfs_fallocate(uf_file(fi), mode, off, len);
}

/* The kernel handles SEEK_SET/CUR/END itself and asks only for SEEK_DATA and
 * SEEK_HOLE. The core also moves its own file position, which nothing here
 * uses: reads and writes carry their offsets. */
off_t uf_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	return umfs_lseek(uf_file(fi), off, whence);
}
