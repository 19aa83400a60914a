/* SPDX-License-Identifier: MIT */
/*
 * check_inode.c - step 4: every inode on its own.
 *
 * An inode is in use when its mode is set (its bitmap bit is the
 * allocation step's business). Its fields must make sense alone: a known
 * file type, a checksum over the identity fields, a page-table root inside
 * the data zone with a height of at most 3, or 4 on a pool with level-4
 * tables (or, for a regular file on a pool with inline tables, an inline
 * table and no root), a U-Log page inside the data zone, a size the
 * pool's tallest tree can hold, known flags, zero reserved fields and
 * zero directory bookkeeping on anything but a directory. A free inode is
 * all zero but for its generation, which the core keeps across reuse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define KNOWN_FLAGS (UMFS_IF_ORPHAN | UMFS_IF_TRUNC)

static const uint8_t zeroes[sizeof(struct umfs_inode)];

static bool mem_is_zero(const void *p, size_t len)
{
	return len <= sizeof(zeroes) && !memcmp(p, zeroes, len);
}

static bool free_inode_clean(const struct umfs_inode *in)
{
	struct umfs_inode z;

	memcpy(&z, in, sizeof(z));
	z.generation = 0;
	return mem_is_zero(&z, sizeof(z));
}

static bool mode_valid(uint32_t mode)
{
	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return false;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

/* The reserved fields; those an inline table holds are its entries. */
static bool reserved_zero(const struct umfs_inode *in)
{
	return mem_is_zero(in->reserved0, sizeof(in->reserved0)) && in->reserved1 == 0 &&
	       in->reserved2 == 0 &&
	       (in->pt_height == UMFS_PT_INLINE ||
		(in->reserved5 == 0 && mem_is_zero(in->reserved3, sizeof(in->reserved3)) &&
		 mem_is_zero(in->reserved4, sizeof(in->reserved4))));
}

static void reserved_clear(struct fsck *c, struct umfs_inode *in)
{
	fsck_zero(c, in->reserved0, sizeof(in->reserved0));
	fsck_set32(c, &in->reserved1, 0);
	fsck_set32(c, &in->reserved2, 0);
	if (in->pt_height == UMFS_PT_INLINE)
		return;
	fsck_set64(c, &in->reserved5, 0);
	fsck_zero(c, in->reserved3, sizeof(in->reserved3));
	fsck_zero(c, in->reserved4, sizeof(in->reserved4));
}

/* An inline table (pt_height UMFS_PT_INLINE): only on a regular file of a
 * pool with the feature, and with no root. Returns true when it changed
 * the identity. A table that may not be is dropped (its pages are leaks
 * the bitmap step reclaims); a root beside it is cleared. */
static bool check_inline(struct fsck *c, uint64_t ino, struct umfs_inode *in)
{
	const char *why = NULL;

	if (!(c->sb.feature_incompat & UMFS_FEATURE_INCOMPAT_INLINE_TABLE))
		why = "on a pool without inline tables";
	else if (!S_ISREG(in->mode))
		why = S_ISDIR(in->mode) ? "on a directory" : "on a file that is not regular";
	if (why) {
		if (!fsck_problem(c, "dropped", "inode %" PRIu64 ": inline page table %s: tree", ino,
				  why))
			return false;
		fsck_zero(c, in->pt_inline, S_ISDIR(in->mode) ? sizeof(in->reserved5)
							      : sizeof(in->pt_inline));
		fsck_set64(c, &in->pt_root, 0);
		fsck_set8(c, &in->pt_height, 0);
		return true;
	}
	if (in->pt_root &&
	    fsck_problem(c, "cleared", "inode %" PRIu64 ": page-table root 0x%" PRIx64
			 " beside an inline table", ino, in->pt_root)) {
		fsck_set64(c, &in->pt_root, 0);
		return true;
	}
	return false;
}

/* Identity fields: returns true when one was changed (reseal needed). */
static bool check_identity(struct fsck *c, uint64_t ino, struct umfs_inode *in)
{
	bool changed = false;

	if (in->pt_height == UMFS_PT_INLINE) {
		changed = check_inline(c, ino, in);
	} else if (in->pt_height > fsck_pt_levels(c)) {
		/* a pool without INCOMPAT_LEVEL4 allows 3 */
		if (fsck_problem(c, "dropped", "inode %" PRIu64 ": page-table height %u is above %u: tree",
				 ino, in->pt_height, fsck_pt_levels(c))) {
			fsck_set64(c, &in->pt_root, 0);
			fsck_set8(c, &in->pt_height, 0);
			changed = true;
		}
	} else if (in->pt_root && !fsck_page_ok(c, in->pt_root)) {
		if (fsck_problem(c, "dropped",
				 "inode %" PRIu64 ": page-table root 0x%" PRIx64
				 " is not a page of the data zone: tree",
				 ino, in->pt_root)) {
			fsck_set64(c, &in->pt_root, 0);
			fsck_set8(c, &in->pt_height, 0);
			changed = true;
		}
	} else if (in->pt_root == 0 && in->pt_height) {
		if (fsck_problem(c, "reset to 0", "inode %" PRIu64 ": page-table height %u without a root",
				 ino, in->pt_height)) {
			fsck_set8(c, &in->pt_height, 0);
			changed = true;
		}
	}
	if (in->ulog && !fsck_page_ok(c, in->ulog) &&
	    fsck_problem(c, "cleared",
			 "inode %" PRIu64 ": U-Log 0x%" PRIx64 " is not a page of the data zone", ino,
			 in->ulog)) {
		fsck_set64(c, &in->ulog, 0);
		changed = true;
	}
	if (in->rdev && !S_ISCHR(in->mode) && !S_ISBLK(in->mode) &&
	    fsck_problem(c, "cleared", "inode %" PRIu64 ": device number 0x%" PRIx64 " on a %s", ino,
			 in->rdev, fsck_type_name(in->mode))) {
		fsck_set64(c, &in->rdev, 0);
		changed = true;
	}
	return changed;
}

/* Hot fields, checked against the format alone. */
static void check_hot(struct fsck *c, uint64_t ino, struct umfs_inode *in)
{
	if (in->size > fsck_max_file_size(c)) {
		c->ino[ino].flags |= FI_SIZEFIX; /* the page-table step knows the extent */
	} else if (S_ISLNK(in->mode) && in->size > UMFS_SYMLINK_MAX) {
		c->ino[ino].flags |= FI_SIZEFIX;
	}
	if ((in->flags & ~KNOWN_FLAGS) &&
	    fsck_problem(c, "cleared", "inode %" PRIu64 ": unknown flags 0x%x", ino,
			 in->flags & ~KNOWN_FLAGS))
		fsck_set32(c, &in->flags, in->flags & KNOWN_FLAGS);
	if (in->next_orphan >= c->inode_count &&
	    fsck_problem(c, "cleared", "inode %" PRIu64 ": orphan link %" PRIu64 " is not an inode",
			 ino, in->next_orphan))
		fsck_set64(c, &in->next_orphan, 0);
	if (!reserved_zero(in) &&
	    fsck_problem(c, "zeroed", "inode %" PRIu64 ": reserved fields are not zero", ino))
		reserved_clear(c, in);
	if (!S_ISDIR(in->mode) && in->pt_height != UMFS_PT_INLINE &&
	    !mem_is_zero(&in->dir, sizeof(in->dir)) &&
	    fsck_problem(c, "zeroed", "inode %" PRIu64 ": directory fields set on a %s", ino,
			 fsck_type_name(in->mode)))
		fsck_zero(c, &in->dir, sizeof(in->dir));
}

static void check_inode(struct fsck *c, uint64_t ino)
{
	struct umfs_inode *in = &c->inodes[ino];
	uint32_t stored = in->csum, computed;
	bool reseal;

	if (in->mode == 0) {
		if (!free_inode_clean(in) &&
		    fsck_problem(c, "zeroed", "inode %" PRIu64 ": free (mode 0) but not zero", ino))
			fsck_inode_clear(c, ino);
		return;
	}
	if (!mode_valid(in->mode)) {
		if (fsck_problem(c, "cleared", "inode %" PRIu64 ": invalid mode 0%o", ino, in->mode))
			fsck_inode_clear(c, ino);
		return;
	}
	computed = umfs_inode_csum(in);
	reseal = check_identity(c, ino, in);
	if (stored != computed) {
		fsck_problem(c, "resealed",
			     "inode %" PRIu64 " (%s): checksum 0x%08x does not match 0x%08x", ino,
			     fsck_type_name(in->mode), stored, computed);
		reseal = true;
	}
	if (reseal) {
		fsck_inode_seal(c, in);
		c->ino[ino].flags |= FI_UNSEALED;
	}
	check_hot(c, ino, in);
	c->ino[ino].flags |= FI_LIVE | (S_ISDIR(in->mode) ? FI_DIR : 0);
}

int fsck_inodes(struct fsck *c)
{
	c->ino = calloc(c->inode_count, sizeof(*c->ino));
	if (c->ino == NULL)
		return -ENOMEM;
	if (!mem_is_zero(&c->inodes[0], sizeof(c->inodes[0])) &&
	    fsck_problem(c, "zeroed", "inode 0 (reserved) is not zero"))
		fsck_zero(c, &c->inodes[0], sizeof(c->inodes[0]));
	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count; ino++)
		check_inode(c, ino);
	return 0;
}
