/* SPDX-License-Identifier: MIT */
/*
 * umfs_fuse.h - umfs-fuse: a UMFS pool served to the kernel through FUSE.
 *
 * The daemon uses libfuse's high-level, path-based API. Every operation is a
 * thin call into include/umfs.h (and include/umfs_frontend.h): FUSE hands over absolute paths ("/a/b"),
 * which the core resolves from the pool root as they are. Open files and
 * directories travel in fuse_file_info.fh as struct umfs_file * and
 * struct umfs_dir * respectively.
 */
#ifndef UMFS_FUSE_H
#define UMFS_FUSE_H

#define FUSE_USE_VERSION 312

#include <fuse.h>
#include <stdbool.h>
#include <stdint.h>

#include "umfs_frontend.h"

/* Exit codes of umfs-fuse (documented in umfs-fuse(8)). */
enum {
	UF_EXIT_OK = 0,
	UF_EXIT_USAGE = 1,	/* bad command line or options */
	UF_EXIT_POOL = 2,	/* the pool cannot be mounted */
	UF_EXIT_MOUNT = 3,	/* the mountpoint or FUSE refused */
	UF_EXIT_SERVE = 4,	/* serving failed, or the pool did not unmount cleanly */
};

/* What the daemon serves; fuse_new()'s user data. */
struct umfs_fuse {
	struct umfs_fs *fs;	/* NULL once unmounted */
	const char *pool;	/* as given, for messages */
	bool rdonly;
	int unmount_err;	/* umfs_unmount()'s result, for the exit code */
};

static inline struct umfs_fuse *uf_ctx(void)
{
	return fuse_get_context()->private_data;
}

static inline struct umfs_fs *uf_fs(void)
{
	return uf_ctx()->fs;
}

static inline struct umfs_file *uf_file(const struct fuse_file_info *fi)
{
	return (struct umfs_file *)(uintptr_t)fi->fh;
}

static inline struct umfs_dir *uf_dir(const struct fuse_file_info *fi)
{
	return (struct umfs_dir *)(uintptr_t)fi->fh;
}

/* longpath.c: a path of PATH_MAX bytes or more is walked in parts. get
 * sets rest to what the core is given (path itself when it is shorter),
 * and tells the core where it starts (uf_long_use(l, NULL)); a two-path
 * call tells it again for both; put closes what get opened. */
struct uf_long {
	struct umfs_file *hold; /* the directory rest starts at, or NULL */
	uint64_t ino;           /* its inode (0: rest is from the root) */
	uint32_t gen;
	const char *rest;
};
int uf_long_get(const char *path, struct uf_long *l);
void uf_long_use(const struct uf_long *from, const struct uf_long *to);
void uf_long_put(struct uf_long *l);

/* cred.c */
void uf_cred_enter(void);
void uf_cred_root(void);

/* cache.c */
void uf_cache_init(struct fuse_config *cfg);
void uf_cache_note(const struct stat *st);
void uf_cache_linked(const char *from);

/* hidden.c */
enum uf_hidden_kind { UF_HIDDEN_STAT, UF_HIDDEN_CHMOD, UF_HIDDEN_CHOWN, UF_HIDDEN_UTIMENS };
struct uf_hidden_op {
	enum uf_hidden_kind kind;
	struct stat *st;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	const struct timespec *tv;
};
uint64_t uf_open_count_get(struct umfs_file *f);
void uf_open_count_put(uint64_t ino);
int uf_hidden_rename(const char *from, const char *to, unsigned int flags);
int uf_hidden_unlink(const char *path);
int uf_hidden_attr(const char *path, const struct uf_hidden_op *op);
void uf_hidden_release_all(void);

/* umfs_fuse.c */
extern const struct fuse_operations umfs_fuse_ops;
void uf_unmount_pool(struct umfs_fuse *uf);

/* ops_attr.c */
int uf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int uf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int uf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int uf_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int uf_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int uf_statfs(const char *path, struct statvfs *sv);
int uf_access(const char *path, int mask);

/* ops_names.c */
int uf_readlink(const char *path, char *buf, size_t size);
int uf_mknod(const char *path, mode_t mode, dev_t dev);
int uf_mkdir(const char *path, mode_t mode);
int uf_unlink(const char *path);
int uf_rmdir(const char *path);
int uf_symlink(const char *target, const char *linkpath);
int uf_rename(const char *from, const char *to, unsigned int flags);
int uf_link(const char *from, const char *to);

/* ops_file.c */
int uf_open(const char *path, struct fuse_file_info *fi);
int uf_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int uf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int uf_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi);
int uf_flush(const char *path, struct fuse_file_info *fi);
int uf_release(const char *path, struct fuse_file_info *fi);
int uf_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int uf_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi);
off_t uf_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi);
/* ops_lock.c */
int uf_flock(const char *path, struct fuse_file_info *fi, int op);
void uf_flock_release(struct fuse_file_info *fi);

/* ops_dir.c */
int uf_opendir(const char *path, struct fuse_file_info *fi);
int uf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int uf_releasedir(const char *path, struct fuse_file_info *fi);
int uf_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi);

#endif /* UMFS_FUSE_H */
