// SPDX-License-Identifier: GPL-2.0
/*
 * setattr.c - SETATTR: chmod and chown, decided and written by the module.
 *
 * mode, uid and gid are what ATTACH checks permissions against, so only the
 * module may write them once it is in use: the rules are the kernel's own
 * (setattr_prepare, chown_common) for the caller's fsuid, groups and
 * capabilities, applied to the pool inode. The change is one transaction of
 * the module's journal slot (the inode's first 128 bytes saved); every
 * attachment made under the old permissions is revoked after the commit.
 * ATTACH reads the inode under the alloc_lock held here, and a REVOKE makes
 * any ATTACH of it that read it earlier fail its splice (umfs_km_revoke_seq).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/stat.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>

#include "umfs_km.h"

#define UMFS_KM_SETATTR_VALID \
	(UMFS_KMOD_SETATTR_MODE | UMFS_KMOD_SETATTR_UID | UMFS_KMOD_SETATTR_GID)

/* chown, as the kernel's chown_ok() and chgrp_ok(): the owner may give
 * the uid it has and a gid it is in (or the file's own); anything else
 * takes CAP_CHOWN. */
static int umfs_km_chown_allowed(const struct umfs_inode *in, const struct umfs_kmod_setattr *req)
{
	bool owner = umfs_km_is_owner(in);

	if (capable(CAP_CHOWN))
		return 0;
	if ((req->valid & UMFS_KMOD_SETATTR_UID) && (!owner || req->uid != in->uid))
		return -EPERM;
	if ((req->valid & UMFS_KMOD_SETATTR_GID) &&
	    (!owner || (req->gid != in->gid && !in_group_p(make_kgid(&init_user_ns, req->gid)))))
		return -EPERM;
	return 0;
}

/* The caller is in group gid, or may act as if (CAP_FSETID). */
static bool umfs_km_in_group_or_fsetid(u32 gid)
{
	return in_group_p(make_kgid(&init_user_ns, gid)) || capable(CAP_FSETID);
}

/* The inode's new mode, uid and gid, or -EPERM. */
static int umfs_km_setattr_decide(const struct umfs_inode *in, const struct umfs_kmod_setattr *req,
				  struct umfs_inode *next)
{
	bool chown = req->valid & (UMFS_KMOD_SETATTR_UID | UMFS_KMOD_SETATTR_GID);
	int err;

	*next = *in;
	if (chown) {
		err = umfs_km_chown_allowed(in, req);
		if (err)
			return err;
		if (req->valid & UMFS_KMOD_SETATTR_UID)
			next->uid = req->uid;
		if (req->valid & UMFS_KMOD_SETATTR_GID)
			next->gid = req->gid;
		/* as Linux 6.1 (chown_common, setattr_should_drop_sgid): every
		 * chown of a non-directory drops setuid, and setgid when the
		 * group may execute or the caller is outside the file's group */
		if (!S_ISDIR(in->mode)) {
			next->mode &= ~(u32)S_ISUID;
			if ((in->mode & S_IXGRP) || !umfs_km_in_group_or_fsetid(in->gid))
				next->mode &= ~(u32)S_ISGID;
		}
	}
	if (req->valid & UMFS_KMOD_SETATTR_MODE) {
		if (!umfs_km_is_owner(in) && !capable(CAP_FOWNER))
			return -EPERM;
		next->mode = (in->mode & S_IFMT) | (req->mode & 07777);
		if ((next->mode & S_ISGID) && !umfs_km_in_group_or_fsetid(next->gid))
			next->mode &= ~(u32)S_ISGID;
	}
	return 0;
}

int umfs_km_setattr(struct umfs_kmod_setattr *req)
{
	struct umfs_inode next;
	struct umfs_km_op op;
	int err;

	if (!(req->valid & UMFS_KM_SETATTR_VALID) || (req->valid & ~UMFS_KM_SETATTR_VALID) ||
	    req->reserved0 || req->reserved[0] || req->reserved[1] ||
	    ((req->valid & UMFS_KMOD_SETATTR_MODE) && (req->mode & ~07777u)))
		return -EINVAL;
	req->revoked = 0;
	err = umfs_km_op_begin(&op, req->ino, req->generation);
	if (err)
		return err;
	err = umfs_km_setattr_decide(&op.snap, req, &next);
	if (!err)
		err = umfs_km_op_poolmap_check();
	if (!err)
		err = umfs_km_tx_begin(&op.tx, op.p);
	if (!err)
		err = umfs_km_op_save_inode(&op);
	if (err)
		goto out;
	op.in->mode = next.mode;
	op.in->uid = next.uid;
	op.in->gid = next.gid;
	op.in->ctime_ns = ktime_get_real_ns();
	op.in->csum = umfs_inode_id_csum(op.in);
	err = umfs_km_tx_commit(&op.tx);
	if (err)
		goto out; /* the tx_stop hook: left as a power cut leaves it */
	atomic64_inc(&umfs_km_cnt.setattrs);
	/* under alloc_lock: no ATTACH reads the inode between commit and this */
	umfs_km_revoke(req->ino, &req->revoked);
	req->mode = op.in->mode;
	req->uid = op.in->uid;
	req->gid = op.in->gid;
	req->ctime_ns = op.in->ctime_ns;
out:
	umfs_km_op_end(&op);
	return err;
}
