/* SPDX-License-Identifier: MIT */
/*
 * namei.h - path walk (namei.c).
 */
#ifndef UMFS_CORE_NAMEI_H
#define UMFS_CORE_NAMEI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umfs_format.h" /* UMFS_SYMLINK_MAX */

struct umfs_fs;

#define UMFS_SYMLOOP_MAX 40

struct umfs_walk {
	uint64_t parent;            /* directory holding the last component */
	uint64_t ino;               /* 0 when the last component does not exist */
	const char *name;           /* last component (in path or buf); "" for the root */
	size_t name_len;
	bool trailing_slash;        /* the path ended in '/': must be a directory */
	char last[UMFS_NAME_MAX + 1]; /* name, when it came from a link's target */
};

/* A walk for one call (a per-thread spare: no malloc); give it back with
 * umfs_walk_put (NULL is fine). Links are expanded in a buffer of the
 * thread's, made at its first link: a walk stays small, and so does the
 * heap of a process that follows none. */
struct umfs_walk *umfs_walk_get(void);
void umfs_walk_put(struct umfs_walk *w);

#define UMFS_WALK_NOFOLLOW 0x1u  /* do not follow a symlink in the last component */
#define UMFS_WALK_PARENT 0x2u    /* the last component may be missing */
#define UMFS_WALK_NAME 0x4u      /* the call acts on the name itself (mkdir, unlink,
				  * rename...): never follow the last component,
				  * even with a trailing slash; callers judge the slash */
#define UMFS_WALK_SECOND 0x8u    /* the second path of a call: a relative one starts
				  * at the thread's second base (umfs_walk_from) */

/* Resolves path with meta_lock held. */
int umfs_walk(struct umfs_fs *fs, const char *path, unsigned flags, struct umfs_walk *w);
/* Resolves rel from the directory at base (a path from the pool root,
 * walked without restrictions) under openat2's rules (UMFS_RESOLVE_*). */
int umfs_walk_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned flags,
		      unsigned resolve, struct umfs_walk *w);

#endif /* UMFS_CORE_NAMEI_H */
