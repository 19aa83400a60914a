/* SPDX-License-Identifier: MIT */
/*
 * cred.h - credentials and permission checks (cred.c).
 */
#ifndef UMFS_CORE_CRED_H
#define UMFS_CORE_CRED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct umfs_fs;
struct umfs_inode;

#define NGROUPS_MAX_SMALL 256 /* supplementary groups consulted per check */

/* cred.c. The credentials a check uses: file-system ids, groups, and
 * the file capabilities (UMFS_CAP_*) the kernel would grant. */
struct umfs_ucred {
	uid_t uid;
	gid_t gid;
	int ngroups;
	const gid_t *groups;
	unsigned caps;
};
/* The calling thread's; groups (NGROUPS_MAX_SMALL entries) may hold them. */
void umfs_cred_current(struct umfs_ucred *cred, gid_t *groups);
/* Checks of this thread use the real uid and gid (access(2)) until undone. */
void umfs_cred_use_real(bool real);
bool umfs_cred_in_group(const struct umfs_ucred *c, gid_t gid);
/* MAY_READ 4, MAY_WRITE 2, MAY_EXEC 1, as access(2)'s R_OK/W_OK/X_OK. */
int umfs_cred_permission(const struct umfs_inode *in, const struct umfs_ucred *c, int mask);
int umfs_permission(const struct umfs_fs *fs, uint64_t ino, int mask);
/* The caller owns the inode or has CAP_FOWNER (chmod, utimes, sticky). */
bool umfs_cred_owner_or_capable(const struct umfs_fs *fs, uint64_t ino);

#endif /* UMFS_CORE_CRED_H */
