/* SPDX-License-Identifier: MIT */
/*
 * check_link.c - step 7 (inodes the directory walk did not reach) and
 * step 8 (link counts and parent pointers).
 *
 * Connectivity comes before link counts, as in e2fsck: an inode that is
 * reconnected gains a name, so its count can only be judged afterwards.
 * An unreachable inode with no links that is an orphan (on the orphan
 * list, or flagged as one) lost its last name while open and is freed:
 * its last close never came. Any other unreachable inode is named in
 * /lost+found as "#<ino>"; for a directory, the topmost unreachable
 * directory above it (following ".." while that stays unreachable) is the
 * one reconnected, so a detached subtree comes back whole.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static const char LOST_FOUND[] = "lost+found";

/* Marks the inodes of the orphan list; the list itself is dropped at the
 * end of the step, once every orphan has been dealt with. The mount's
 * recovery stops at the first entry it cannot reclaim (not in use, not
 * flagged, its checksum failing): such a list is not crash state. */
static void orphan_list_mark(struct fsck *c)
{
	uint64_t ino = c->state->orphan_head;

	c->orphans_sound = true;
	for (uint64_t n = 0; ino && n < c->inode_count; n++) {
		struct fsck_ino *t;

		if (ino <= UMFS_ROOT_INO || ino >= c->inode_count || !(c->ino[ino].flags & FI_LIVE)) {
			fsck_problem(c, "cut", "orphan list: link to inode %" PRIu64
				     ", which is not in use", ino);
			c->orphans_sound = false;
			return;
		}
		t = &c->ino[ino];
		if (t->flags & FI_ORPHAN) {
			fsck_problem(c, "cut", "orphan list: loops back to inode %" PRIu64, ino);
			c->orphans_sound = false;
			return;
		}
		if ((t->flags & FI_UNSEALED) || !(c->inodes[ino].flags & UMFS_IF_ORPHAN))
			c->orphans_sound = false;
		t->flags |= FI_ORPHAN;
		ino = c->inodes[ino].next_orphan;
	}
}

static bool is_orphan(const struct fsck *c, uint64_t ino)
{
	return c->inodes[ino].nlink == 0 &&
	       ((c->ino[ino].flags & FI_ORPHAN) || (c->inodes[ino].flags & UMFS_IF_ORPHAN));
}

/* Frees an orphan; crash state when the mount's recovery reclaims it
 * (on a sound list), damage when only its flag says orphan. */
static void orphan_free(struct fsck *c, uint64_t ino)
{
	struct umfs_inode *in = &c->inodes[ino];
	bool listed = c->ino[ino].flags & FI_ORPHAN;

	fsck_crash(c, FSCK_CRASH_ORPHAN, listed && c->orphans_sound, 1, "freed",
		   "inode %" PRIu64 " (%s, %" PRIu64 " bytes): unlinked while open, never closed",
		   ino, fsck_type_name(in->mode), in->size);
	fsck_pt_release(c, in);
	fsck_inode_clear(c, ino);
}

/* A free inode number for /lost+found, or 0. */
static uint64_t free_inode(const struct fsck *c)
{
	for (uint64_t ino = UMFS_ROOT_INO + 1; ino < c->inode_count; ino++)
		if (!(c->ino[ino].flags & FI_LIVE) && c->inodes[ino].mode == 0)
			return ino;
	return 0;
}

/* Finds or creates /lost+found; 0 when it cannot be had. */
static uint64_t lost_found(struct fsck *c)
{
	uint64_t ino;
	int err;

	if (c->lost_found)
		return c->lost_found;
	if (c->lost_found_taken) {
		fsck_problem(c, NULL, "/lost+found is not a directory: unreachable inodes stay unnamed");
		return 0;
	}
	ino = free_inode(c);
	if (ino == 0) {
		fsck_problem(c, NULL, "/lost+found is missing and no inode is free to create it");
		return 0;
	}
	if (!fsck_problem(c, "created", "/lost+found is missing (needed for unreachable inodes)"))
		return 0;
	fsck_dir_make(c, ino, UMFS_ROOT_INO, 0700);
	c->ino[ino].flags |= FI_REACHED | FI_SCANNED;
	c->ino[UMFS_ROOT_INO].names++;
	err = fsck_add_entry(c, UMFS_ROOT_INO, LOST_FOUND, sizeof(LOST_FOUND) - 1, ino, DT_DIR);
	if (err)
		return 0;
	c->lost_found = ino;
	return ino;
}

static int reconnect(struct fsck *c, uint64_t lf, uint64_t ino)
{
	struct fsck_ino *t = &c->ino[ino];
	struct umfs_inode *in = &c->inodes[ino];
	char name[32];
	int len = snprintf(name, sizeof(name), "#%" PRIu64, ino);

	if (!fsck_problem(c, "reconnected to /lost+found",
			  "inode %" PRIu64 " (%s, %" PRIu64 " bytes, %u links) is not reachable from the root",
			  ino, fsck_type_name(in->mode), in->size, in->nlink))
		return 0;
	t->flags |= FI_REACHED;
	if (t->flags & FI_DIR) {
		t->parent = lf;
		c->ino[lf].names++;
	} else {
		t->names++;
	}
	return fsck_add_entry(c, lf, name, (size_t)len, ino, umfs_mode_to_dtype(in->mode));
}

/* The topmost unreachable directory above dir, following "..". Directories
 * passed once are marked, so that the walks of the whole step are linear. */
static uint64_t detached_top(struct fsck *c, uint64_t dir)
{
	uint64_t top = dir;

	c->ino[top].flags |= FI_WALK;
	for (uint64_t n = 0; n < c->inode_count; n++) {
		uint64_t p = c->inodes[top].dir.parent;
		uint32_t f;

		if (p <= UMFS_ROOT_INO || p >= c->inode_count)
			break;
		f = c->ino[p].flags;
		if ((f & (FI_LIVE | FI_DIR)) != (FI_LIVE | FI_DIR) || (f & (FI_REACHED | FI_WALK)))
			break;
		c->ino[p].flags |= FI_WALK;
		top = p;
	}
	return top;
}

int fsck_connectivity(struct fsck *c)
{
	uint64_t lf = 0, *queue = NULL, qlen;
	bool need = false;
	int err = 0;

	orphan_list_mark(c);
	for (uint64_t ino = UMFS_ROOT_INO + 1; ino < c->inode_count; ino++) {
		uint32_t f = c->ino[ino].flags;

		if (!(f & FI_LIVE) || (f & FI_REACHED))
			continue;
		if (is_orphan(c, ino))
			orphan_free(c, ino);
		else
			need = true;
	}
	if (need)
		lf = lost_found(c);
	if (lf) {
		queue = malloc(c->inode_count * sizeof(*queue));
		if (queue == NULL)
			return -ENOMEM;
	}
	/* Detached directories first: each brings its subtree back. When the
	 * top found through ".." does not name this directory after all, the
	 * next round reconnects the directory itself (its parent is reached
	 * by then). */
	for (uint64_t ino = UMFS_ROOT_INO + 1; lf && ino < c->inode_count && !err; ino++) {
		for (unsigned round = 0; round < 2 && !err; round++) {
			uint32_t f = c->ino[ino].flags;
			uint64_t top;

			if ((f & (FI_LIVE | FI_DIR)) != (FI_LIVE | FI_DIR) || (f & FI_REACHED))
				break;
			top = round ? ino : detached_top(c, ino);
			err = reconnect(c, lf, top);
			qlen = 0;
			queue[qlen++] = top;
			for (uint64_t i = 0; i < qlen && !err; i++)
				err = fsck_dir_scan(c, queue[i], queue, &qlen);
		}
	}
	for (uint64_t ino = UMFS_ROOT_INO + 1; lf && ino < c->inode_count && !err; ino++) {
		uint32_t f = c->ino[ino].flags;

		if ((f & FI_LIVE) && !(f & (FI_REACHED | FI_DIR)))
			err = reconnect(c, lf, ino);
	}
	free(queue);
	if (err)
		return err;

	/* Every orphan is gone now: the list must be empty. */
	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count; ino++) {
		struct umfs_inode *in = &c->inodes[ino];

		if (!(c->ino[ino].flags & FI_LIVE))
			continue;
		if (((in->flags & UMFS_IF_ORPHAN) || (c->ino[ino].flags & FI_ORPHAN)) &&
		    fsck_problem(c, "taken off the orphan list",
				 "inode %" PRIu64 " is an orphan but still linked", ino))
			fsck_set32(c, &in->flags, in->flags & ~UMFS_IF_ORPHAN);
		if (in->next_orphan)
			fsck_set64(c, &in->next_orphan, 0);
	}
	if (c->state->orphan_head)
		fsck_set64(c, &c->state->orphan_head, 0);
	return 0;
}

int fsck_link_counts(struct fsck *c)
{
	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count; ino++) {
		struct fsck_ino *t = &c->ino[ino];
		struct umfs_inode *in = &c->inodes[ino];
		uint64_t want;

		if (!(t->flags & FI_LIVE) || !(t->flags & FI_REACHED))
			continue;
		if (t->flags & FI_DIR) {
			want = 2ull + t->names;
			if (in->dir.parent != t->parent &&
			    fsck_problem(c, "fixed",
					 "directory %" PRIu64 ": parent (\"..\") is %" PRIu64
					 ", but it is named in %" PRIu64,
					 ino, in->dir.parent, t->parent))
				fsck_set64(c, &in->dir.parent, t->parent);
		} else {
			want = t->names;
		}
		if (want > UINT32_MAX)
			want = UINT32_MAX;
		if (in->nlink != want &&
		    fsck_problem(c, "fixed", "inode %" PRIu64 " (%s): link count %u, should be %" PRIu64,
				 ino, fsck_type_name(in->mode), in->nlink, want))
			fsck_set32(c, &in->nlink, (uint32_t)want);
	}
	return 0;
}
