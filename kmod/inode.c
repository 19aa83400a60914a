// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - trusted snapshots of pool inodes.
 *
 * The module never acts on the live inode: it copies it, then checks the
 * copy (allocation bit, checksum of the identity fields), so a concurrent
 * change can at worst make the check fail.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include "umfs_km.h"

static bool umfs_km_ibit(const struct umfs_km_pool *p, u64 ino)
{
	const u64 *words = umfs_km_ibitmap(p);

	return (READ_ONCE(words[ino / 64]) >> (ino % 64)) & 1;
}

/* 0 with *out a checked copy of inode ino; -ENOENT if it is free, -EUCLEAN
 * if its identity fields fail their checksum or its tree fields are off. */
int umfs_km_inode_get(const struct umfs_km_pool *p, u64 ino, struct umfs_inode *out)
{
	if (ino == 0 || ino >= p->inode_count)
		return -ENOENT;
	if (!umfs_km_ibit(p, ino))
		return -ENOENT;
	memcpy(out, umfs_km_off_ptr(p, p->inode_off + ino * sizeof(*out)), sizeof(*out));
	barrier();
	if (!out->mode)
		return -ENOENT;
	if (out->csum != umfs_inode_id_csum(out))
		return -EUCLEAN;
	/* the format's rule for an inode's tree fields (umfs_rules.h): an
	 * inline table only on a regular file of a pool with them, a height
	 * up to 3, or 4 with level-4 tables */
	if (!umfs_inode_tree_ok(&p->geom, out->mode, out->pt_height, out->pt_root))
		return -EUCLEAN;
	return 0;
}
