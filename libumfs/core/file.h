/* SPDX-License-Identifier: MIT */
/*
 * file.h - file data: read, write, truncate, fallocate, seek (file.c).
 */
#ifndef UMFS_CORE_FILE_H
#define UMFS_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct umfs_fs;
struct umfs_out;

/* The caller holds vn->lock (read for read, write for the others). */
ssize_t umfs_file_read(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len, uint64_t off);
/* The same walk, with the present runs copied by copy(arg, dst, offset in
 * the pool, offset in the file, n) instead of from the pool mapping; holes
 * read as zeros. out: buf is a program's memory (umfs_pread_out). */
typedef void (*umfs_read_copy_fn)(void *arg, void *dst, uint64_t pool_off, uint64_t file_off,
				  size_t n);
ssize_t umfs_file_read_runs(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len,
			    uint64_t off, umfs_read_copy_fn copy, void *arg,
			    const struct umfs_out *out);
ssize_t umfs_file_write(struct umfs_fs *fs, uint64_t ino, const void *buf, size_t len,
			uint64_t off);
/* Writes leave the times in the cache; this makes them durable (fsync,
 * the close of a file written through). */
void umfs_file_times_persist(struct umfs_fs *fs, uint64_t ino);
int umfs_file_truncate(struct umfs_fs *fs, uint64_t ino, uint64_t size);
int umfs_file_fallocate(struct umfs_fs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len);
/* SEEK_DATA / SEEK_HOLE */
int64_t umfs_file_seek(struct umfs_fs *fs, uint64_t ino, int64_t off, int whence);

/* file.c: finishes a truncate a crash interrupted (UMFS_IF_TRUNC): frees
 * the pages past EOF and clears the flag. Takes meta_lock. */
int umfs_file_trunc_finish(struct umfs_fs *fs, uint64_t ino);
/* At the last close of ino in this process (meta_lock held, no tx open):
 * releases the U-Log. */
void umfs_file_release(struct umfs_fs *fs, uint64_t ino);

#endif /* UMFS_CORE_FILE_H */
