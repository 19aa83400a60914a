/* SPDX-License-Identifier: MIT */
/*
 * dir.h - hashed directories, all calls with meta_lock held (dir.c);
 * umfs_tools.h has the calls the tools make.
 */
#ifndef UMFS_CORE_DIR_H
#define UMFS_CORE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umfs_format.h"

struct umfs_fs;
struct umfs_dirent;

/* Module mode, internal to libumfs: a directory change needs pages that
 * only the module may map, between transactions (dir.c). Never returned
 * past the api layer. */
#define UMFS_EDIRPAGES (-EXFULL)

/* The bounds of a directory's bookkeeping that every directory function
 * relies on; damage here is -EUCLEAN. */
static inline bool umfs_dir_info_sane(const struct umfs_inode *in)
{
	const struct umfs_dir_info *d = &in->dir;

	if (d->nblocks > UMFS_DIR_MAX_BLOCKS || d->gdepth > UMFS_DIR_MAX_DEPTH ||
	    d->nbuckets > UMFS_DIR_MAX_BUCKETS)
		return false;
	if (d->nbuckets == 0)
		return d->nblocks <= 1 && d->gdepth == 0;
	return d->nbuckets <= (1ull << d->gdepth);
}
/* 0 with *ino (and *type, may be NULL) set; "." and ".." resolve to dir and
 * dir.parent; -ENOENT, -ENAMETOOLONG, -ENOTDIR, or -EUCLEAN on damage. */
int umfs_dir_lookup(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino, unsigned char *type);
/* The same, for a name the caller's walk found missing under the lock it
 * still holds: no second lookup. */
int umfs_dir_add_new(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     uint64_t ino, unsigned char type);
/* In tx. Removes the name; *ino gets what it named. -ENOENT if absent. The
 * page of a one-block directory that becomes empty is freed (at commit;
 * software mode only: the module frees a directory's pages at rmdir). */
int umfs_dir_remove(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino);
/* In tx. Points an existing name at another inode (rename over a name). */
int umfs_dir_retarget(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      uint64_t ino, unsigned char type);
/* Next entry at or after *cookie ("." and ".." first); returns 1 and
 * advances *cookie, 0 at the end, -errno on a damaged directory. */
int umfs_dir_next(struct umfs_fs *fs, uint64_t dir, uint64_t *cookie, struct umfs_dirent *ent);

#endif /* UMFS_CORE_DIR_H */
