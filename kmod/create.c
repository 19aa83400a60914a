// SPDX-License-Identifier: GPL-2.0
/*
 * create.c - CREATE and RELEASE: the module takes inodes from the inode
 * bitmap and gives them back, so that the first mode, uid and gid of every
 * inode are the module's writes, decided from the caller's credentials.
 *
 * A new inode is an unnamed orphan (nlink 0, on the state page's orphan
 * list): user space names it in its own journal transaction, which starts
 * from the orphan the module committed. A crash or an abort before the name
 * commits leaves the orphan, which the next mount frees, so the two journal
 * slots never hold undo records of the same bytes at once.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>

#include "umfs_km.h"

static struct umfs_state *umfs_km_state(const struct umfs_km_pool *p)
{
	return umfs_km_off_ptr(p, p->state_off);
}

/* Inode i, marked free, has a mode: it is in use and lost its bit (every
 * free zeroes an inode). It is never handed out; said once, recorded. */
static void umfs_km_ino_refuse(struct umfs_km_pool *p, u64 i)
{
	if (!p->ibit_warned)
		pr_err(UMFS_KM_NAME ": inode bitmap: inode %llu is marked free but in use: not "
		       "reused (run fsck.umfs)\n", i);
	p->ibit_warned = true;
	umfs_km_errors_mark(p, UMFS_ERRORS_IBITMAP);
}

/* A free inode number after the root, next-fit from the cursor. */
static int umfs_km_ino_find(struct umfs_km_pool *p, u64 *ino)
{
	const unsigned long *bm = (const unsigned long *)umfs_km_ibitmap(p);
	u64 span = p->inode_count - (UMFS_ROOT_INO + 1), k, i;
	const struct umfs_inode *in;

	for (k = 0; k < span; k++) {
		i = UMFS_ROOT_INO + 1 + (p->icursor - (UMFS_ROOT_INO + 1) + k) % span;
		if (test_bit(i, bm))
			continue;
		in = umfs_km_off_ptr(p, p->inode_off + i * sizeof(*in));
		if (!READ_ONCE(in->mode)) {
			*ino = i;
			return 0;
		}
		umfs_km_ino_refuse(p, i);
	}
	return -ENOSPC;
}

static int umfs_km_ibit_put(struct umfs_km_tx *tx, u64 ino, bool on)
{
	struct umfs_km_pool *p = tx->p;
	int err = umfs_km_tx_add(tx, p->ibitmap_off + ino / 64 * 8, 8);

	if (err)
		return err;
	if (on)
		__set_bit(ino, (unsigned long *)umfs_km_ibitmap(p));
	else
		__clear_bit(ino, (unsigned long *)umfs_km_ibitmap(p));
	return 0;
}

static bool umfs_km_create_type_ok(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK:
	case S_IFIFO: case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

static int umfs_km_create_check(const struct umfs_kmod_create *req)
{
	bool dev = S_ISCHR(req->mode) || S_ISBLK(req->mode);

	if (req->reserved || !umfs_km_create_type_ok(req->mode) ||
	    (req->mode & ~(u32)(S_IFMT | 07777)) || (!dev && req->rdev) ||
	    (!req->parent && req->parent_generation))
		return -EINVAL;
	return 0;
}

/* The new inode's owner and mode, as the kernel's inode_init_owner(). */
static void umfs_km_create_owner(const struct umfs_inode *parent, struct umfs_inode *in)
{
	in->uid = from_kuid(&init_user_ns, current_fsuid());
	in->gid = from_kgid(&init_user_ns, current_fsgid());
	if (!parent || !(parent->mode & S_ISGID))
		return;
	in->gid = parent->gid;
	if (S_ISDIR(in->mode))
		in->mode |= S_ISGID;
	else if ((in->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		 !in_group_p(make_kgid(&init_user_ns, in->gid)) && !capable(CAP_FSETID))
		in->mode &= ~(u32)S_ISGID;
}

/* Checks the parent (op.snap) and fills the new inode's image. */
static int umfs_km_create_image(struct umfs_km_op *op, const struct umfs_kmod_create *req,
				struct umfs_inode *next)
{
	const struct umfs_inode *parent = req->parent ? &op->snap : NULL;
	u64 now = ktime_get_real_ns();

	if (parent) {
		if (!S_ISDIR(parent->mode))
			return -ENOTDIR;
		if (!parent->nlink)
			return -ENOENT; /* a removed directory takes no names */
		if (umfs_km_perm_dir_write(parent))
			return -EACCES;
	}
	memset(next, 0, sizeof(*next));
	next->mode = req->mode;
	umfs_km_create_owner(parent, next);
	next->rdev = req->rdev;
	next->atime_ns = next->mtime_ns = next->ctime_ns = next->btime_ns = now;
	next->flags = UMFS_IF_ORPHAN;
	if (S_ISDIR(next->mode))
		next->dir.parent = req->parent;
	return 0;
}

int umfs_km_create(struct umfs_kmod_create *req)
{
	struct umfs_inode next;
	struct umfs_state *st;
	struct umfs_km_op op;
	u64 ino;
	int err = umfs_km_create_check(req);

	if (err)
		return err;
	err = req->parent ? umfs_km_op_begin(&op, req->parent, req->parent_generation) :
			    umfs_km_op_lock(&op);
	if (err)
		return err == -ESTALE && req->parent ? -ENOENT : err;
	err = umfs_km_create_image(&op, req, &next);
	if (!err)
		err = umfs_km_op_poolmap_check();
	if (!err)
		err = umfs_km_ino_find(op.p, &ino);
	if (!err)
		err = umfs_km_tx_begin(&op.tx, op.p);
	if (err)
		goto out;
	umfs_km_op_set_inode(&op, ino);
	st = umfs_km_state(op.p);
	err = umfs_km_ibit_put(&op.tx, ino, true);
	if (!err)
		err = umfs_km_tx_add(&op.tx, op.ino_off, sizeof(next));
	if (!err)
		err = umfs_km_tx_add(&op.tx, op.p->state_off + offsetof(struct umfs_state, orphan_head),
				     sizeof(st->orphan_head));
	if (err) {
		if (err != -EINTR) /* the tx_stop hook: left as a power cut leaves it */
			umfs_km_tx_abort(&op.tx);
		goto out;
	}
	/* kept across reuse, so that stale handles notice; never 0 */
	next.generation = op.in->generation + 1 ? op.in->generation + 1 : 1;
	next.next_orphan = st->orphan_head;
	next.csum = umfs_inode_id_csum(&next);
	memcpy(op.in, &next, sizeof(next));
	st->orphan_head = ino;
	err = umfs_km_tx_commit(&op.tx);
	if (err)
		goto out; /* the tx_stop hook: left as a power cut leaves it */
	op.p->icursor = ino + 1;
	atomic64_inc(&umfs_km_cnt.creates);
	req->ino = ino;
	req->generation = next.generation;
	req->uid = next.uid;
	req->gid = next.gid;
	req->out_mode = next.mode;
	req->ctime_ns = next.ctime_ns;
out:
	umfs_km_op_end(&op);
	return err;
}

/* Takes ino off the orphan list (the link that names it is saved first).
 * The walk is bounded, so a damaged list cannot loop; an inode that is not
 * on it is left as it is. */
static int umfs_km_orphan_unlink(struct umfs_km_op *op)
{
	struct umfs_km_pool *p = op->p;
	u64 link_off = p->state_off + offsetof(struct umfs_state, orphan_head), n, steps;

	for (steps = 0; steps < p->inode_count; steps++) {
		u64 *link = umfs_km_off_ptr(p, link_off);
		int err;

		n = READ_ONCE(*link);
		if (!n || n >= p->inode_count)
			return 0;
		if (n == op->ino) {
			err = umfs_km_tx_add(&op->tx, link_off, sizeof(*link));
			if (!err)
				WRITE_ONCE(*link, op->in->next_orphan);
			return err;
		}
		link_off = p->inode_off + n * sizeof(struct umfs_inode) +
			   offsetof(struct umfs_inode, next_orphan);
	}
	return 0;
}

int umfs_km_inode_release(struct umfs_kmod_release *req)
{
	u64 offs[UMFS_ULOG_MAX_PAGES];
	struct umfs_km_op op;
	unsigned int n;
	u32 generation;
	bool cut;
	int err;

	if (req->flags || req->reserved[0] || req->reserved[1])
		return -EINVAL;
	req->ulog_freed = req->revoked = 0;
	err = umfs_km_op_begin(&op, req->ino, req->generation);
	if (err)
		return err;
	if (op.snap.nlink)
		err = -EBUSY; /* a name still points at it */
	else if (op.snap.pt_root || op.snap.blocks)
		err = -ENOTEMPTY; /* FREE its pages first */
	else
		err = umfs_km_perm_write(&op.snap);
	if (!err)
		err = umfs_km_op_poolmap_check();
	if (err)
		goto out;
	/* under alloc_lock: no ATTACH reads the inode between this and the end */
	umfs_km_revoke(req->ino, &req->revoked);
	n = umfs_km_ulog_chain(op.p, &op.snap, op.ino, offs, &cut);
	err = umfs_km_tx_begin(&op.tx, op.p);
	if (err)
		goto out;
	err = umfs_km_tx_add(&op.tx, op.ino_off, sizeof(struct umfs_inode));
	if (!err)
		err = umfs_km_ulog_drop(&op.tx, op.in, offs, n);
	if (!err && (op.in->flags & UMFS_IF_ORPHAN))
		err = umfs_km_orphan_unlink(&op);
	if (!err)
		err = umfs_km_ibit_put(&op.tx, op.ino, false);
	if (err) {
		if (err != -EINTR) /* the tx_stop hook: left as a power cut leaves it */
			umfs_km_tx_abort(&op.tx);
		goto out;
	}
	generation = op.in->generation;
	memset(op.in, 0, sizeof(struct umfs_inode));
	op.in->generation = generation;
	err = umfs_km_tx_commit(&op.tx);
	if (err)
		goto out; /* the tx_stop hook: left as a power cut leaves it */
	if (op.ino < op.p->icursor)
		op.p->icursor = op.ino;
	atomic64_inc(&umfs_km_cnt.releases);
	req->ulog_freed = n;
out:
	umfs_km_op_end(&op);
	return err;
}
