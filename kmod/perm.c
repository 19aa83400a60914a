// SPDX-License-Identifier: GPL-2.0
/*
 * perm.c - the permission check of ATTACH, against the pool inode's mode,
 * uid and gid (fields covered by the inode checksum) and the caller's fsuid,
 * fsgid and supplementary groups, as the kernel's generic_permission() does
 * for a regular file: owner, then group, then other bits; CAP_DAC_OVERRIDE
 * passes read and write, CAP_DAC_READ_SEARCH passes read.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/errno.h>
#include <linux/uidgid.h>

#include "umfs_km.h"

bool umfs_km_is_owner(const struct umfs_inode *in)
{
	return uid_eq(current_fsuid(), make_kuid(&init_user_ns, in->uid));
}

/* The mode bits of the caller's class (owner, group or other) hold need. */
static bool umfs_km_class_has(const struct umfs_inode *in, unsigned int need)
{
	unsigned int bits = in->mode;

	if (umfs_km_is_owner(in))
		bits >>= 6;
	else if (in_group_p(make_kgid(&init_user_ns, in->gid)))
		bits >>= 3;
	return (bits & need) == need;
}

int umfs_km_perm_dir_write(const struct umfs_inode *dir)
{
	/* w and x; CAP_DAC_OVERRIDE passes both for a directory */
	return umfs_km_class_has(dir, 3) || capable(CAP_DAC_OVERRIDE) ? 0 : -EACCES;
}

int umfs_km_perm_write(const struct umfs_inode *in)
{
	return umfs_km_class_has(in, 2) || capable(CAP_DAC_OVERRIDE) ? 0 : -EACCES;
}

int umfs_km_perm_check(const struct umfs_inode *in, bool want_write)
{
	unsigned int need = 4 | (want_write ? 2 : 0); /* r, w bits of one class */

	if (umfs_km_class_has(in, need))
		return 0;
	if (capable(CAP_DAC_OVERRIDE))
		return 0;
	if (!want_write && capable(CAP_DAC_READ_SEARCH))
		return 0;
	return -EACCES;
}
