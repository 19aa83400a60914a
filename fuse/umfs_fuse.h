/* SPDX-License-Identifier: MIT */
/*
 * umfs_fuse.h - umfs-fuse: a UMFS pool served to the kernel through FUSE.
 *
 * The daemon uses libfuse's low-level API. The kernel's node id of a pool
 * inode is made of the inode's number and generation (the root is
 * FUSE_ROOT_ID), so a request names the inode the kernel means whatever
 * was renamed beside it, by this mount or by programs on libumfs, and one
 * whose inode was freed since answers ENOENT, as for a name that went
 * away. Names in a request are single components, resolved from their
 * directory's inode (umfs_walk_from). Open files and directories travel in
 * fuse_file_info.fh.
 */
#ifndef UMFS_FUSE_H
#define UMFS_FUSE_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "umfs_frontend.h"

/* Exit codes of umfs-fuse (documented in umfs-fuse(8)). */
enum {
	UF_EXIT_OK = 0,
	UF_EXIT_USAGE = 1,	/* bad command line or options */
	UF_EXIT_POOL = 2,	/* the pool cannot be mounted */
	UF_EXIT_MOUNT = 3,	/* the mountpoint or FUSE refused */
	UF_EXIT_SERVE = 4,	/* serving failed, or the pool did not unmount cleanly */
};

/* What the daemon serves; the session's user data. */
struct umfs_fuse {
	struct umfs_fs *fs;	/* NULL once unmounted */
	const char *pool;	/* as given, for messages */
	bool rdonly;
	bool debug;
	int unmount_err;	/* umfs_unmount()'s result, for the exit code */
	double entry_timeout;	/* what the kernel may cache, in seconds */
	double attr_timeout;
	double negative_timeout;
};

/* A directory opened by the kernel: its stream, and a description of it
 * for fsyncdir. */
struct uf_dir {
	struct umfs_dir *d;
	struct umfs_file *f;
};

/* Nanoseconds of clock c (a CLOCK_MONOTONIC one), for timeouts. */
static inline long long uf_clock_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline struct umfs_fuse *uf_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct umfs_fs *uf_fs(fuse_req_t req)
{
	return uf_ctx(req)->fs;
}

static inline struct umfs_file *uf_file(const struct fuse_file_info *fi)
{
	return (struct umfs_file *)(uintptr_t)fi->fh;
}

static inline struct uf_dir *uf_dirh(const struct fuse_file_info *fi)
{
	return (struct uf_dir *)(uintptr_t)fi->fh;
}

/* nodeid.c: node ids, and the replies that carry them */
struct uf_id {
	uint64_t ino; /* the pool's inode number */
	uint32_t gen;
};
struct uf_id uf_id_of(fuse_ino_t node);
fuse_ino_t uf_node_of(uint64_t ino, uint32_t gen);
int uf_node_check_pool(struct umfs_fs *fs);
void uf_walk_in(fuse_req_t req, fuse_ino_t dir, fuse_ino_t dir2);
void uf_walk_done(void);
void uf_reply_entry_name(fuse_req_t req, fuse_ino_t parent, const char *name);
int uf_reply_entry_file(fuse_req_t req, struct umfs_file *f, struct fuse_file_info *fi);
void uf_reply_err(fuse_req_t req, int err);
void uf_entry_fill(fuse_req_t req, struct fuse_entry_param *e, const struct stat *st,
		   uint32_t gen);
void uf_reply_entry_counted(fuse_req_t req, const struct fuse_entry_param *e,
			    const struct fuse_file_info *fi);

/* nodetab.c: the kernel's lookup counts, removed inodes held for them */
int uf_nodes_add(fuse_ino_t node, uint64_t n);
void uf_nodes_forget(fuse_ino_t node, uint64_t n);
void uf_nodes_hold(fuse_ino_t node, struct umfs_file *f);
void uf_nodes_open(fuse_ino_t node, int delta);
uint64_t uf_nodes_due_now(void);
bool uf_nodes_due_before(uint64_t seq);
void uf_nodes_release(bool report);

/* cred.c */
void uf_cred_enter(fuse_req_t req);
void uf_cred_root(void);

/* releases.c: requests that must come after the releases and forgets
 * read before them wait for those (and with forgets_due, for the forgets
 * due when they came) */
int uf_releases_install(struct fuse_session *se, bool one_thread);
void uf_release_served(void);
void uf_releases_wait(bool forgets_due);

/* umfs_fuse.c */
extern const struct fuse_lowlevel_ops umfs_fuse_ops;
void uf_unmount_pool(struct umfs_fuse *uf);

/* ops_attr.c */
void uf_getattr(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_setattr(fuse_req_t req, fuse_ino_t node, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
void uf_statfs(fuse_req_t req, fuse_ino_t node);
void uf_listxattr(fuse_req_t req, fuse_ino_t node, size_t size);

/* ops_names.c */
void uf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void uf_forget(fuse_req_t req, fuse_ino_t node, uint64_t nlookup);
void uf_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void uf_readlink(fuse_req_t req, fuse_ino_t node);
void uf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void uf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void uf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void uf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void uf_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name);
void uf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);
void uf_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname);

/* ops_file.c */
void uf_open(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void uf_read(fuse_req_t req, fuse_ino_t node, size_t size, off_t off, struct fuse_file_info *fi);
void uf_write(fuse_req_t req, fuse_ino_t node, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void uf_flush(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_release(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_fsync(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi);
void uf_fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi);
void uf_lseek(fuse_req_t req, fuse_ino_t node, off_t off, int whence, struct fuse_file_info *fi);

/* ops_lock.c */
void uf_flock(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, int op);
void uf_flock_release(fuse_req_t req, struct fuse_file_info *fi);
void uf_getlk(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, struct flock *lock);
void uf_setlk(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, struct flock *lock,
	      int sleep);
void uf_records_flush(fuse_req_t req, struct fuse_file_info *fi);
void uf_records_release(fuse_req_t req, struct fuse_file_info *fi);
/* The daemon is going: waits for locks end (EINTR) before the pool goes. */
void uf_locks_stop(void);

/* ops_dir.c */
void uf_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		struct fuse_file_info *fi);
void uf_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		    struct fuse_file_info *fi);
void uf_releasedir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void uf_fsyncdir(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi);

#endif /* UMFS_FUSE_H */
