/* SPDX-License-Identifier: MIT */
/*
 * fault.h - a page that cannot be reached fails the mount, not the process
 * (fault.c).
 */
#ifndef UMFS_CORE_FAULT_H
#define UMFS_CORE_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

enum umfs_fault_area {
	UMFS_FAULT_POOL,   /* the pool, or a view of it: replaced whole */
	UMFS_FAULT_SHARED, /* a shared area of the pool's users: page by page */
};
#define UMFS_FAULT_FAILED 1 /* fs->failed: UMFS_FAULT_FAILED + the area */
/* Watches [addr, addr + len), a mapping of fs with protection prot (name:
 * what it maps, for the log; for a shared area, its path in the runtime
 * directory): -ENOSPC when the process watches too many already. */
int umfs_fault_watch(struct umfs_fs *fs, void *addr, size_t len, int prot,
		     enum umfs_fault_area area, const char *name);
void umfs_fault_unwatch_fs(struct umfs_fs *fs);
/* At mount: the handler (unless UMFS_MOUNT_NOSIGBUS or a front end routes
 * SIGBUS itself), and the pool mapping watched. */
void umfs_fault_mount(struct umfs_fs *fs, unsigned flags);
/* -EIO, saying once in the log why the mount failed. */
int umfs_fs_eio(struct umfs_fs *fs);

static inline bool umfs_fs_failed(const struct umfs_fs *fs)
{
	return UMFS_UNLIKELY(atomic_load_explicit(&fs->failed, memory_order_relaxed) != 0);
}

/* A call's result err, or -EIO when fs failed before it ended. */
static inline int umfs_fs_result(struct umfs_fs *fs, int err)
{
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : err;
}

#endif /* UMFS_CORE_FAULT_H */
