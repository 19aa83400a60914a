/* SPDX-License-Identifier: MIT */
/* api_names.c - the namespace: mkdir, mknod, symlink, unlink, rmdir, link, rename. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "alloc.h"
#include "cred.h"
#include "dir.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "namei.h"
#include "ptable.h"

/* Walks to the parent of path's last component for a namespace change. */
static int walk_for_change(struct umfs_fs *fs, const char *path, unsigned flags, struct umfs_walk *w)
{
	int err;

	if (fs->pm.rdonly)
		return -EROFS;
	err = umfs_walk(fs, path, flags | UMFS_WALK_NAME, w);
	if (err)
		return err;
	if (w->name_len == 0)
		return -EBUSY; /* the root itself */
	return 0;
}

/* Walks to a name about to be created: the root (or "/") already exists. */
static int walk_new_name(struct umfs_fs *fs, const char *path, unsigned flags,
			 struct umfs_walk *w)
{
	int err = walk_for_change(fs, path, flags | UMFS_WALK_PARENT, w);

	return err == -EBUSY ? -EEXIST : err;
}

/* In tx: the target is the symlink's data, one page at most, written in the
 * transaction that creates the link so a crash never leaves it empty. */
static int symlink_store(struct umfs_fs *fs, uint64_t ino, const char *target)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	size_t len = strlen(target);
	uint64_t off;
	int err;

	err = umfs_pt_map(fs, in, 0, UMFS_PTMAP_ZERO | UMFS_PTMAP_META, &off);
	if (err < 0)
		return err;
	memcpy(umfs_off_ptr(fs, off), target, len);
	err = umfs_tx_dirty(fs, umfs_off_ptr(fs, off), len);
	if (!err)
		in->size = len; /* the inode was snapshotted at creation */
	return err;
}

static int make_node(struct umfs_fs *fs, const char *path, mode_t mode, dev_t rdev,
		     const char *target)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	unsigned tries = 0;
	uint64_t ino;
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = walk_new_name(fs, path, 0, w);
	if (err)
		goto out;
	if (w->ino) {
		err = -EEXIST;
		goto out;
	}
	if (w->trailing_slash && !S_ISDIR(mode)) {
		err = -ENOENT;
		goto out;
	}
	err = api_may_change_dir(fs, w->parent);
	/* as vfs_mknod: a device node needs CAP_MKNOD, asked after the name
	 * and the directory's permissions */
	if (!err && (S_ISCHR(mode) || S_ISBLK(mode)) && !umfs_cred_capable(UMFS_CAP_MKNOD))
		err = -EPERM;
	if (err)
		goto out;
	do {
		err = umfs_tx_begin(fs);
		if (err)
			goto out;
		err = api_create_in(fs, w, mode, rdev, &ino);
		if (!err && target)
			err = symlink_store(fs, ino, target);
		err = api_tx_end(fs, err);
	} while (api_dir_pages_retry(fs, &err, &tries));
out:
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

int umfs_mkdir(struct umfs_fs *fs, const char *path, mode_t mode)
{
	/* as mkdir(2): set-user-ID and set-group-ID come only from the parent */
	return make_node(fs, path, S_IFDIR | (mode & 01777), 0, NULL);
}

int umfs_mknod(struct umfs_fs *fs, const char *path, mode_t mode, dev_t dev)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFDIR:
		return -EPERM; /* as mknod(2): directories are mkdir's */
	default:
		return -EINVAL;
	}
	return make_node(fs, path, mode & (S_IFMT | 07777), dev, NULL);
}

int umfs_symlink(struct umfs_fs *fs, const char *target, const char *linkpath)
{
	size_t len = strlen(target);

	if (len == 0)
		return -ENOENT;
	if (len > UMFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return make_node(fs, linkpath, S_IFLNK | 0777, 0, target);
}

/* With meta_lock held: the target of symlink ino, or -EINVAL. */
static ssize_t link_target(struct umfs_fs *fs, uint64_t ino, char *buf, size_t size)
{
	if (!S_ISLNK(umfs_inode(fs, ino)->mode))
		return -EINVAL;
	return umfs_file_read(fs, ino, buf, UMFS_MIN(size, umfs_inode(fs, ino)->size), 0);
}

ssize_t umfs_readlink(struct umfs_fs *fs, const char *path, char *buf, size_t size)
{
	struct umfs_walk *w = malloc(sizeof(*w));
	ssize_t n;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	n = umfs_walk(fs, path, UMFS_WALK_NOFOLLOW, w);
	if (!n)
		n = link_target(fs, w->ino, buf, size);
	umfs_meta_unlock(fs);
	free(w);
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : n;
}

ssize_t umfs_readlink_ino(struct umfs_fs *fs, uint64_t ino, uint32_t gen, char *buf, size_t size)
{
	ssize_t n;

	umfs_meta_lock(fs);
	n = api_inode_by_id(fs, ino, gen);
	if (!n)
		n = link_target(fs, ino, buf, size);
	umfs_meta_unlock(fs);
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : n;
}

/* In tx: drops one link of ino (its name is already gone). Returns 1 when
 * the inode has no names left and must be reclaimed after the tx; an empty
 * inode nobody holds is freed in this tx instead (0). */
static int drop_link(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err = umfs_tx_add(fs, in, sizeof(*in));

	if (err)
		return err;
	api_touch_times(in, false);
	if (S_ISDIR(in->mode))
		in->nlink = 0; /* its "." goes with its name */
	else if (in->nlink > 0)
		in->nlink--;
	if (in->nlink > 0)
		return 0;
	fs->be->file_revoke(fs, ino); /* no attachment outlives the last name */
	if (umfs_vnode_opencount(fs, ino) == 0 && !api_fe_held(fs, ino)) {
		err = umfs_inode_free_unused(fs, ino);
		if (err != -EAGAIN)
			return err;
	}
	err = umfs_inode_orphan(fs, ino);
	return err ? err : 1;
}

/* After the commit of a change that dropped a link of ino: a second REVOKE
 * catches an ATTACH that read the inode before the first (module mode). */
static void revoke_if_unlinked(struct umfs_fs *fs, uint64_t ino)
{
	if (ino && (!umfs_inode_live(fs, ino) || umfs_inode(fs, ino)->nlink == 0))
		fs->be->file_revoke(fs, ino);
}

static int remove_name(struct umfs_fs *fs, const char *path, bool dir)
{
	struct umfs_walk *w = umfs_walk_get();
	uint64_t ino = 0, victim = 0;
	uint32_t victim_gen = 0;
	struct umfs_inode *in;
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = walk_for_change(fs, path, 0, w);
	if (err)
		goto out;
	in = umfs_inode(fs, w->ino);
	/* the kernel's order: what the name alone says (rmdir of "." or "..",
	 * unlink through a trailing slash), then the directory's permission
	 * and stickiness (may_delete), then the victim's type and contents */
	if (dir && w->name_len == 1 && w->name[0] == '.')
		err = -EINVAL;
	else if (dir && w->name_len == 2 && w->name[0] == '.' && w->name[1] == '.')
		err = -ENOTEMPTY;
	else if (!dir && api_is_dot_or_dotdot(w))
		err = -EISDIR;
	else if (!dir && w->trailing_slash)
		err = S_ISDIR(in->mode) ? -EISDIR : -ENOTDIR;
	if (!err)
		err = api_may_change_dir(fs, w->parent);
	if (!err)
		err = api_sticky_check(fs, w->parent, w->ino);
	if (!err && dir && !S_ISDIR(in->mode))
		err = -ENOTDIR;
	else if (!err && !dir && S_ISDIR(in->mode))
		err = -EISDIR;
	else if (!err && dir && in->dir.nentries)
		err = -ENOTEMPTY;
	if (!err && umfs_vnode_opencount(fs, w->ino) && dir && w->ino == UMFS_ROOT_INO)
		err = -EBUSY;
	if (err)
		goto out;
	err = umfs_tx_begin(fs);
	if (err)
		goto out;
	/* drop_link changes the inode, and frees it when this was its last
	 * name and nobody has it open: those records share the entry's fence */
	err = umfs_tx_save(fs, in, sizeof(*in));
	if (!err && (dir || in->nlink == 1) && umfs_vnode_opencount(fs, w->ino) == 0 &&
	    !api_fe_held(fs, w->ino))
		err = umfs_ino_free_save(fs, w->ino);
	if (!err)
		err = umfs_dir_remove(fs, w->parent, w->name, w->name_len, &ino);
	if (!err && dir) {
		struct umfs_inode *parent = umfs_inode(fs, w->parent);
		err = umfs_tx_add(fs, parent, sizeof(*parent));
		if (!err)
			parent->nlink--;
	}
	if (!err)
		err = api_dir_touch(fs, w->parent);
	if (!err)
		err = drop_link(fs, ino);
	if (err == 1) {
		victim = ino;
		victim_gen = umfs_inode(fs, ino)->generation;
		err = 0;
	}
	if (err)
		umfs_tx_abort(fs);
	else
		err = umfs_tx_commit(fs);
out:
	umfs_meta_unlock(fs);
	umfs_walk_put(w);
	if (!err)
		revoke_if_unlinked(fs, ino);
	if (!err)
		api_reclaim_if_unused(fs, victim, victim_gen);
	return err;
}

int umfs_unlink(struct umfs_fs *fs, const char *path)
{
	return remove_name(fs, path, false);
}

int umfs_rmdir(struct umfs_fs *fs, const char *path)
{
	return remove_name(fs, path, true);
}

static int link_name(struct umfs_fs *fs, uint64_t ino, struct umfs_walk *w, bool src_slash,
		     unsigned how);

int umfs_link(struct umfs_fs *fs, const char *from, const char *to)
{
	struct umfs_walk *wf = malloc(sizeof(*wf)), *wt = malloc(sizeof(*wt));
	int err;

	if (!wf || !wt) {
		err = -ENOMEM;
		goto out_free;
	}
	umfs_meta_lock(fs);
	err = umfs_walk(fs, from, UMFS_WALK_NOFOLLOW, wf);
	if (!err)
		err = walk_new_name(fs, to, UMFS_WALK_SECOND, wt);
	if (err)
		goto out;
	err = link_name(fs, wf->ino, wt, wf->trailing_slash, 0);
out:
	umfs_meta_unlock(fs);
out_free:
	free(wf);
	free(wt);
	return err;
}

/* In tx: takes ino off the orphan list (it is getting a name back). The
 * walk is bounded so that a damaged list cannot loop. */
static int orphan_detach(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t *link = &fs->state->orphan_head;
	int err;

	for (uint64_t steps = 0; *link && steps < fs->inode_count; steps++) {
		if (*link == ino) {
			err = umfs_tx_set64(fs, link, in->next_orphan);
			if (!err)
				err = umfs_tx_add(fs, in, sizeof(*in));
			if (!err) {
				in->flags &= ~UMFS_IF_ORPHAN;
				in->next_orphan = 0;
			}
			return err;
		}
		if (*link >= fs->inode_count)
			return -EUCLEAN;
		link = &umfs_inode(fs, *link)->next_orphan;
	}
	return -EUCLEAN;
}

/* In tx: link_name()'s changes. */
static int link_name_tx(struct umfs_fs *fs, uint64_t ino, struct umfs_walk *w)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err = 0;

	if (in->nlink == 0 && (in->flags & UMFS_IF_ORPHAN))
		err = orphan_detach(fs, ino);
	if (!err)
		err = umfs_dir_add(fs, w->parent, w->name, w->name_len, ino,
				   umfs_mode_to_dtype(in->mode));
	if (!err)
		err = umfs_tx_add(fs, in, sizeof(*in));
	if (!err) {
		in->nlink++;
		api_touch_times(in, false);
		err = api_dir_touch(fs, w->parent);
	}
	return err;
}

/* Linux's fs.protected_hardlinks, always on: a new name for another
 * user's file only if it is a regular file, neither set-user-ID nor
 * set-group-ID and executable, that the caller may read and write; the
 * owner (or CAP_FOWNER) links anything. */
static int link_allowed(struct umfs_fs *fs, uint64_t ino)
{
	mode_t mode = umfs_inode(fs, ino)->mode;

	if (umfs_cred_owner_or_capable(fs, ino))
		return 0;
	if (S_ISREG(mode) && !(mode & S_ISUID) &&
	    (mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
	    umfs_permission(fs, ino, R_OK | W_OK) == 0)
		return 0;
	return -EPERM;
}

/* With meta_lock held: gives inode ino the new name w walked to (in its
 * own transaction). src_slash: the source path ended in '/'. */
static int link_name(struct umfs_fs *fs, uint64_t ino, struct umfs_walk *w, bool src_slash,
		     unsigned how)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	unsigned tries = 0;
	int err = 0;

	/* the kernel's order: the new name (do_linkat's filename_create: a
	 * trailing slash asks for a directory), fs.protected_hardlinks
	 * (may_linkat), the directory's permission (may_create), then what
	 * the inode is */
	if (w->ino)
		err = -EEXIST;
	else if (w->trailing_slash)
		err = -ENOENT;
	else if ((err = link_allowed(fs, ino)) != 0)
		;
	else if ((err = api_may_change_dir(fs, w->parent)) != 0)
		;
	else if (S_ISDIR(in->mode))
		err = -EPERM;
	else if (src_slash)
		err = -ENOENT;
	else if (in->nlink == 0 && !(how & UMFS_LINK_ORPHAN))
		err = -ENOENT; /* as Linux for an unlinked file that is not O_TMPFILE */
	else if (in->nlink >= 65000)
		err = -EMLINK;
	if (err)
		return err;
	do {
		err = umfs_tx_begin(fs);
		if (err)
			return err;
		err = api_tx_end(fs, link_name_tx(fs, ino, w));
	} while (api_dir_pages_retry(fs, &err, &tries));
	return err;
}

int umfs_link_file(struct umfs_file *file, const char *to, unsigned how)
{
	struct umfs_fs *fs = file->fs;
	struct umfs_walk *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	umfs_meta_lock(fs);
	err = walk_new_name(fs, to, 0, w);
	if (err)
		goto out;
	err = link_name(fs, file->ino, w, false, how);
out:
	umfs_meta_unlock(fs);
	free(w);
	return err;
}

/* True when dir lies inside the subtree of top (or is top). */
static bool dir_is_within(struct umfs_fs *fs, uint64_t dir, uint64_t top)
{
	for (uint64_t n = 0; n < fs->inode_count; n++) {
		if (dir == top)
			return true;
		if (dir == UMFS_ROOT_INO)
			return false;
		dir = umfs_inode(fs, dir)->dir.parent;
	}
	return true; /* a parent loop: refuse the move */
}

/* In tx: moves directory ino from parent `from` to parent `to`. */
static int reparent(struct umfs_fs *fs, uint64_t ino, uint64_t from, uint64_t to)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_inode *pf = umfs_inode(fs, from), *pt = umfs_inode(fs, to);
	int err;

	if (from == to)
		return 0;
	err = umfs_tx_save(fs, in, sizeof(*in));
	if (!err)
		err = umfs_tx_save(fs, pf, sizeof(*pf));
	if (!err)
		err = umfs_tx_save(fs, pt, sizeof(*pt));
	if (err)
		return err;
	umfs_tx_seal(fs);
	in->dir.parent = to;
	pf->nlink--;
	pt->nlink++;
	return 0;
}

struct rename_ctx {
	struct umfs_walk *wo, *wn;
	uint64_t src, dst; /* inodes: source, existing target (0 if none) */
	unsigned flags;
};

/*
 * The checks of a rename, in the kernel's order (do_renameat2, then
 * vfs_rename): the names, the source's existence, the flags and trailing
 * slashes; the two ancestries, which would cut a directory off from the
 * tree; two names of one inode (nothing to do: returns 1); then, as the
 * kernel's may_delete and may_create, the old directory's permission and
 * stickiness, the new one's, and the target's type; a directory that
 * changes parent needs write permission of its own (its ".." changes), so
 * does a directory it is exchanged with; last, a target directory must be
 * empty.
 */
static int rename_check(struct umfs_fs *fs, struct rename_ctx *r)
{
	struct umfs_walk *wo = r->wo, *wn = r->wn;
	const struct umfs_inode *src, *dst = r->dst ? umfs_inode(fs, r->dst) : NULL;
	bool exchange = r->flags & RENAME_EXCHANGE;
	int err;

	if (api_is_dot_or_dotdot(wo))
		return -EBUSY; /* as Linux: "." and ".." are not names to move */
	if (api_is_dot_or_dotdot(wn))
		return (r->flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
	if (!r->src)
		return -ENOENT; /* the source is looked up after the names are judged */
	src = umfs_inode(fs, r->src);
	if ((r->flags & RENAME_NOREPLACE) && dst)
		return -EEXIST;
	if (exchange && !dst)
		return -ENOENT;
	if (exchange && wn->trailing_slash && !S_ISDIR(dst->mode))
		return -ENOTDIR;
	/* unless the source is a directory, a trailing slash is ENOTDIR; with
	 * EXCHANGE the target's was judged above */
	if (!S_ISDIR(src->mode) && (wo->trailing_slash || (wn->trailing_slash && !exchange)))
		return -ENOTDIR;
	/* a directory moved under itself; a target that is an ancestor of
	 * the source (not empty, or with EXCHANGE a move under itself) */
	if (S_ISDIR(src->mode) && dir_is_within(fs, wn->parent, r->src))
		return -EINVAL;
	if (dst && S_ISDIR(dst->mode) && dir_is_within(fs, wo->parent, r->dst))
		return exchange ? -EINVAL : -ENOTEMPTY;
	if (r->dst == r->src)
		return 1; /* two names of one inode: POSIX says do nothing */
	err = api_may_change_dir(fs, wo->parent);
	if (!err)
		err = api_sticky_check(fs, wo->parent, r->src);
	if (!err)
		err = api_may_change_dir(fs, wn->parent);
	if (!err && dst)
		err = api_sticky_check(fs, wn->parent, r->dst);
	if (err)
		return err;
	if (dst && !exchange && S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
		return -ENOTDIR;
	if (dst && !exchange && !S_ISDIR(src->mode) && S_ISDIR(dst->mode))
		return -EISDIR;
	if (wn->parent != wo->parent) {
		if (S_ISDIR(src->mode))
			err = umfs_permission(fs, r->src, W_OK);
		if (!err && exchange && S_ISDIR(dst->mode))
			err = umfs_permission(fs, r->dst, W_OK);
		if (err)
			return err;
	}
	if (dst && !exchange && S_ISDIR(dst->mode) && dst->dir.nentries)
		return -ENOTEMPTY;
	return 0;
}

/* In tx: saves (unsealed) the inodes every rename changes, so that their
 * records share the fence of the first directory change. */
static int rename_save_inodes(struct umfs_fs *fs, const struct rename_ctx *r)
{
	uint64_t ino[4] = { r->src, r->dst, r->wo->parent, r->wn->parent };
	int err = 0;

	for (unsigned i = 0; i < 4 && !err; i++)
		if (ino[i])
			err = umfs_tx_save(fs, umfs_inode(fs, ino[i]), sizeof(struct umfs_inode));
	return err;
}

/* In tx. Returns 1 if the replaced target lost its last name. */
static int rename_apply(struct umfs_fs *fs, struct rename_ctx *r)
{
	struct umfs_walk *wo = r->wo, *wn = r->wn;
	unsigned char stype = umfs_mode_to_dtype(umfs_inode(fs, r->src)->mode);
	bool src_dir = S_ISDIR(umfs_inode(fs, r->src)->mode);
	uint64_t gone;
	int err = rename_save_inodes(fs, r);

	if (err)
		return err;
	if (r->flags & RENAME_EXCHANGE) {
		unsigned char dtype = umfs_mode_to_dtype(umfs_inode(fs, r->dst)->mode);
		bool dst_dir = S_ISDIR(umfs_inode(fs, r->dst)->mode);

		err = umfs_dir_retarget(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
		if (!err)
			err = umfs_dir_retarget(fs, wo->parent, wo->name, wo->name_len, r->dst, dtype);
		if (!err && src_dir)
			err = reparent(fs, r->src, wo->parent, wn->parent);
		if (!err && dst_dir)
			err = reparent(fs, r->dst, wn->parent, wo->parent);
		if (!err)
			err = umfs_tx_add(fs, umfs_inode(fs, r->dst), sizeof(struct umfs_inode));
		if (!err)
			api_touch_times(umfs_inode(fs, r->dst), false);
		goto touch;
	}
	if (r->dst) {
		err = umfs_dir_retarget(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
		if (!err && src_dir) {
			/* the replaced empty directory was a subdirectory of wn->parent */
			struct umfs_inode *np = umfs_inode(fs, wn->parent);
			err = umfs_tx_add(fs, np, sizeof(*np));
			if (!err)
				np->nlink--;
		}
	} else {
		err = umfs_dir_add(fs, wn->parent, wn->name, wn->name_len, r->src, stype);
	}
	if (!err)
		err = umfs_dir_remove(fs, wo->parent, wo->name, wo->name_len, &gone);
	if (!err && src_dir)
		err = reparent(fs, r->src, wo->parent, wn->parent);
touch:
	if (!err)
		err = umfs_tx_add(fs, umfs_inode(fs, r->src), sizeof(struct umfs_inode));
	if (!err) {
		api_touch_times(umfs_inode(fs, r->src), false);
		err = api_dir_touch(fs, wo->parent);
	}
	if (!err && wn->parent != wo->parent)
		err = api_dir_touch(fs, wn->parent);
	if (!err && r->dst && !(r->flags & RENAME_EXCHANGE))
		err = drop_link(fs, r->dst);
	return err;
}

int umfs_rename(struct umfs_fs *fs, const char *from, const char *to, unsigned flags)
{
	struct rename_ctx r = { .flags = flags };
	uint64_t victim = 0;
	uint32_t victim_gen = 0;
	unsigned tries = 0;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	r.wo = malloc(sizeof(*r.wo));
	r.wn = malloc(sizeof(*r.wn));
	if (!r.wo || !r.wn) {
		err = -ENOMEM;
		goto out_free;
	}
	umfs_meta_lock(fs);
	err = walk_for_change(fs, from, UMFS_WALK_PARENT, r.wo); /* a missing source: rename_check */
	if (!err)
		err = walk_for_change(fs, to, UMFS_WALK_PARENT | UMFS_WALK_SECOND, r.wn);
	if (err)
		goto out;
	r.src = r.wo->ino;
	r.dst = r.wn->ino;
	err = rename_check(fs, &r);
	if (err) {
		if (err == 1)
			err = 0;
		goto out;
	}
	do {
		err = umfs_tx_begin(fs);
		if (err)
			goto out;
		err = rename_apply(fs, &r);
		if (err == 1) {
			victim = r.dst;
			victim_gen = umfs_inode(fs, r.dst)->generation;
			err = 0;
		}
		err = api_tx_end(fs, err);
	} while (api_dir_pages_retry(fs, &err, &tries));
out:
	umfs_meta_unlock(fs);
out_free:
	free(r.wo);
	free(r.wn);
	if (!err && !(flags & RENAME_EXCHANGE))
		revoke_if_unlinked(fs, r.dst);
	if (!err)
		api_reclaim_if_unused(fs, victim, victim_gen);
	return err;
}

