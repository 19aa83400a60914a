/* SPDX-License-Identifier: MIT */
/*
 * pathtrust.h - whether a symlink may have been planted, or may be
 * changed, by another user: the rule mkfs.umfs and the shim's paths from
 * the environment share.
 *
 * A symlink is followed only when the link and its directory are root's
 * or ours, and the directory is not writable by others or is sticky (then
 * only an entry's owner and the directory's may remove it): the kernel's
 * fs.protected_symlinks rule, kept whatever that is set to.
 */
#ifndef UMFS_PATHTRUST_H
#define UMFS_PATHTRUST_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

static inline int umfs_uid_trusted(uid_t uid, uid_t me)
{
	return uid == 0 || uid == me;
}

/* Why the symlink lst in directory dst may be another user's doing (a
 * printf format for *uid), or NULL when it cannot; me is the user the
 * caller acts as. */
static inline const char *umfs_link_distrust(const struct stat *dst, const struct stat *lst,
					     uid_t me, unsigned *uid)
{
	*uid = (unsigned)lst->st_uid;
	if (!umfs_uid_trusted(lst->st_uid, me))
		return "a symlink of uid %u, another user";
	*uid = (unsigned)dst->st_uid;
	if (!umfs_uid_trusted(dst->st_uid, me))
		return "a symlink in a directory of uid %u, another user";
	if ((dst->st_mode & (S_IWGRP | S_IWOTH)) && !(dst->st_mode & S_ISVTX))
		return "a symlink in a directory other users may write";
	return NULL;
}

#endif /* UMFS_PATHTRUST_H */
