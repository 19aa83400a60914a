/* SPDX-License-Identifier: MIT */
/*
 * api.h - shared by the api_*.c files, which implement include/umfs.h and
 * include/umfs_frontend.h.
 *
 * Locking: fs->meta_lock serialises the namespace and every transaction;
 * a vnode's rwlock serialises the data of one file (readers share). The
 * order is vnode lock, then meta_lock. An open file holds a vnode reference
 * taken under meta_lock, so unlink sees it and orphans instead of freeing.
 */
#ifndef UMFS_API_H
#define UMFS_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend.h" /* struct umfs_katt */

struct umfs_fs;
struct umfs_inode;
struct umfs_vnode;
struct umfs_walk;

struct umfs_file {
	struct umfs_fs *fs;
	struct umfs_vnode *vn;
	uint64_t ino;
	int flags;                /* open(2) flags */
	pthread_mutex_t pos_lock; /* read/write/lseek on a shared offset */
	uint64_t pos;
	bool relatime;            /* reads update atime (umfs_set_relatime) */
	bool created;             /* the open made the file (F_CREATED_QUERY) */
	bool wrote;               /* a write went through it: its close persists the times */
	bool cache_claimed;       /* umfs_file_cache_claim: given back at close */
	struct umfs_katt katt;    /* the backend's mapping of the file (backend.h) */
};

struct umfs_dir {
	struct umfs_fs *fs;
	struct umfs_vnode *vn;
	uint64_t ino;
	uint64_t cookie;
};

#define ACCMODE(f) ((f) & O_ACCMODE)
#define CAN_READ(f) (ACCMODE(f) == O_RDONLY || ACCMODE(f) == O_RDWR)
#define CAN_WRITE(f) (ACCMODE(f) == O_WRONLY || ACCMODE(f) == O_RDWR)
/* What an open asks permission for. O_ACCMODE (3) asks both and gives
 * neither reading nor writing, as in Linux (an open for ioctls only). */
#define OPEN_MAY_READ(f) (ACCMODE(f) != O_WRONLY)
#define OPEN_MAY_WRITE(f) (ACCMODE(f) != O_RDONLY || ((f) & O_TRUNC))

void api_touch_times(struct umfs_inode *in, bool mtime);
int api_dir_touch(struct umfs_fs *fs, uint64_t dir);
int api_tx_run_begin(struct umfs_fs *fs);
int api_tx_end(struct umfs_fs *fs, int err);
int api_tx_run_end(struct umfs_fs *fs, int err);
bool api_dir_pages_retry(struct umfs_fs *fs, int *err, unsigned *tries);
/* gen: the inode's generation when its last name went, under meta_lock */
void api_reclaim_if_unused(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* With meta_lock held: 0 when inode ino is in use with generation gen,
 * -ESTALE when it was freed or reused, or its check's error. */
int api_inode_by_id(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
int api_sticky_check(struct umfs_fs *fs, uint64_t dir, uint64_t ino);
int api_may_change_dir(struct umfs_fs *fs, uint64_t dir);
void api_cred_ids(uid_t *uid, gid_t *gid);
bool api_cred_in_group(gid_t gid);
bool api_is_dot_or_dotdot(const struct umfs_walk *w);
int api_create_in(struct umfs_fs *fs, struct umfs_walk *w, mode_t mode, dev_t rdev,
		  uint64_t *inop);
int api_vnode_release(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino, bool unhold);

/* api_frontend.c: settings of front ends that share a pool among processes */
/* True with the mount prefix and its parent copied (each PATH_MAX bytes). */
bool api_fe_prefix(const struct umfs_fs *fs, char *prefix, size_t *prefix_len, char *parent);
/* True when the front end asked for relatime. */
bool api_fe_relatime(const struct umfs_fs *fs);
/* True when some process holds ino open (the lock region of a shared mount). */
bool api_fe_held(const struct umfs_fs *fs, uint64_t ino);

#endif
