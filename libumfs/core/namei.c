/* SPDX-License-Identifier: MIT */
/*
 * namei.c - path resolution inside a pool (permission checks: cred.c).
 *
 * Paths are resolved from the pool root, or, without a leading '/', from
 * the directory a front end named for this thread (umfs_walk_from), as the
 * kernel resolves them from a directory descriptor; ".." at the root stays
 * at the root.
 * Symbolic links are expanded in place (an absolute target restarts at the
 * pool root), at most UMFS_SYMLOOP_MAX times per walk, as Linux does.
 * Every inode the walk reaches, the root first, is checked with the entry
 * that named it before anything of it is used (verify.c): a damaged one
 * ends the walk with -EUCLEAN.
 *
 * When a front end set a host mount prefix (umfs_set_mount_prefix), the pool
 * is a subtree of a larger name space: an absolute target under the prefix
 * restarts at the pool root, any other absolute target and ".." at the root
 * leave the pool, and the walk stops with -UMFS_EXTERNAL and the host path
 * of the rest in a per-thread buffer (umfs_external_path).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "namei.h"
#include "api.h"
#include "cred.h"
#include "dir.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "procfs.h"
#include "verify.h"

/* What a thread's walks need beyond struct umfs_walk, made at its first
 * walk out of the pool or first link (most do neither): not in every
 * thread's TLS block, which each thread's start zeroes, nor in every walk. */
struct walk_thread {
	char external[PATH_MAX]; /* the host path a walk out of the pool left for */
	char buf[2 * (UMFS_SYMLINK_MAX + 1) + 4096]; /* the path with links expanded */
	char tmp[2 * (UMFS_SYMLINK_MAX + 1) + 4096];
};
static __thread struct walk_thread *walk_thread;
static pthread_key_t walk_thread_key;
static pthread_once_t walk_thread_once = PTHREAD_ONCE_INIT;

static void walk_thread_key_init(void)
{
	pthread_key_create(&walk_thread_key, free);
}

static struct walk_thread *walk_thread_get(void)
{
	if (!walk_thread) {
		pthread_once(&walk_thread_once, walk_thread_key_init);
		walk_thread = malloc(sizeof(*walk_thread));
		if (!walk_thread)
			return NULL;
		walk_thread->external[0] = '\0';
		pthread_setspecific(walk_thread_key, walk_thread);
	}
	return walk_thread;
}

const char *umfs_external_path(void)
{
	return walk_thread ? walk_thread->external : "";
}

/* Leaves the pool: the host path is head + "/" + rest (rest may be empty;
 * a trailing slash of the original path is kept). */
static int walk_external(const char *head, const char *rest, bool trailing_slash)
{
	size_t hlen = strlen(head), rlen = strlen(rest);
	bool sep = hlen == 0 || head[hlen - 1] != '/';
	struct walk_thread *t;
	size_t need;

	if (rlen == 0 && !trailing_slash)
		sep = false;
	need = hlen + (sep ? 1 : 0) + rlen + 1;
	if (need > PATH_MAX)
		return -ENAMETOOLONG;
	t = walk_thread_get();
	if (!t)
		return -ENOMEM;
	memcpy(t->external, head, hlen);
	if (sep)
		t->external[hlen++] = '/';
	memcpy(t->external + hlen, rest, rlen + 1);
	return -UMFS_EXTERNAL;
}

/* The walk met ".." at the root, or an absolute symlink target. Returns 0 to
 * go on inside the pool (*p set to the rest, from the root), or
 * -UMFS_EXTERNAL. */
static int walk_leave(struct umfs_fs *fs, bool dotdot, const char *target, const char *rest,
		      bool trailing_slash, const char **p)
{
	char prefix[PATH_MAX], parent[PATH_MAX];
	size_t plen;

	if (!api_fe_prefix(fs, prefix, &plen, parent)) {
		*p = dotdot ? rest : target;
		return 0;
	}
	if (dotdot)
		return walk_external(parent, rest, trailing_slash);
	if (strncmp(target, prefix, plen) == 0 && (target[plen] == '/' || target[plen] == '\0')) {
		*p = target + plen;
		return 0;
	}
	return walk_external(target, "", false);
}

/* A walk would cost a malloc and a free per path call: each thread keeps
 * one spare, in its own variable: a load, where the key's get and set
 * cost a stat 40 ns. The key only frees it as the thread ends: set once
 * per thread, to a mark, for its destructor to run. */
static __thread struct umfs_walk *walk_spare;
static __thread bool walk_spare_keyed;
static pthread_key_t walk_key;
static pthread_once_t walk_once = PTHREAD_ONCE_INIT;
static bool walk_key_made;

static void walk_spare_free(void *mark)
{
	free(walk_spare);
	walk_spare = NULL;
}

static void walk_key_init(void)
{
	walk_key_made = pthread_key_create(&walk_key, walk_spare_free) == 0;
}

struct umfs_walk *umfs_walk_get(void)
{
	struct umfs_walk *w = walk_spare;

	if (w) {
		walk_spare = NULL;
		return w;
	}
	return malloc(sizeof(*w));
}

void umfs_walk_put(struct umfs_walk *w)
{
	if (!w)
		return;
	if (!walk_spare_keyed) {
		pthread_once(&walk_once, walk_key_init);
		walk_spare_keyed = walk_key_made && pthread_setspecific(walk_key, &walk_spare) == 0;
	}
	if (walk_spare_keyed && !walk_spare) {
		walk_spare = w;
		return;
	}
	free(w);
}

/* Where this thread's relative paths start (umfs_walk_from): [0] for a
 * call's first path, [1] for the second of umfs_rename and umfs_link. */
static __thread struct {
	const struct umfs_fs *fs;
	uint64_t ino[2];
	uint32_t gen[2];
} walk_base;

void umfs_walk_from(const struct umfs_fs *fs, uint64_t from, uint32_t from_gen, uint64_t to,
		    uint32_t to_gen)
{
	walk_base.fs = fs;
	walk_base.ino[0] = from;
	walk_base.gen[0] = from_gen;
	walk_base.ino[1] = to;
	walk_base.gen[1] = to_gen;
}

/* The directory path starts at: the root, or the thread's base for a
 * relative path. A base that was freed or reused is gone (-ENOENT). */
static int walk_start(struct umfs_fs *fs, const char *path, unsigned flags, uint64_t *start)
{
	int i = (flags & UMFS_WALK_SECOND) ? 1 : 0;
	uint64_t ino = walk_base.ino[i];
	int err;

	*start = UMFS_ROOT_INO;
	if (path[0] == '/' || walk_base.fs != fs || ino == 0)
		return 0;
	if (!umfs_inode_live(fs, ino) || umfs_inode(fs, ino)->generation != walk_base.gen[i])
		return -ENOENT;
	err = umfs_inode_verify(fs, ino, true);
	if (err)
		return err;
	if (!S_ISDIR(umfs_inode(fs, ino)->mode))
		return -ENOTDIR;
	*start = ino;
	return 0;
}

/* Replaces the consumed part of the walk with the link target, in the
 * thread's buffer: new path = target + "/" + rest (no "/" when rest is
 * empty, unless the original path ended in one: keep_slash). */
static int splice_link(struct umfs_fs *fs, uint64_t link, const char *rest, bool keep_slash)
{
	const struct umfs_inode *in = umfs_inode(fs, link);
	size_t tlen = (size_t)in->size, rlen = strlen(rest);
	struct walk_thread *t;
	ssize_t got;

	if (tlen == 0 || tlen > UMFS_SYMLINK_MAX)
		return -EUCLEAN;
	t = walk_thread_get();
	if (!t)
		return -ENOMEM;
	if (tlen + 1 + rlen + 1 > sizeof(t->tmp))
		return -ENAMETOOLONG;
	got = umfs_file_read(fs, link, t->tmp, tlen, 0);
	if (got != (ssize_t)tlen)
		return got < 0 ? (int)got : -EIO;
	if (rlen == 0 && !keep_slash) {
		t->tmp[tlen] = '\0';
		memcpy(t->buf, t->tmp, tlen + 1);
		return 0;
	}
	t->tmp[tlen] = '/';
	memcpy(t->tmp + tlen + 1, rest, rlen + 1); /* rest may be in t->buf */
	memcpy(t->buf, t->tmp, tlen + 1 + rlen + 1);
	return 0;
}

/* Linux's fs.protected_symlinks, at the host's level: the last link of a
 * path is not followed out of a sticky world-writable directory unless
 * the follower or the directory's owner owns it (EACCES): another user
 * may have planted it there to send the caller's open somewhere else. */
static int walk_follow_allowed(const struct umfs_fs *fs, uint64_t dir, uint64_t link,
			       const struct umfs_ucred *cred)
{
	const struct umfs_inode *d = umfs_inode(fs, dir), *l = umfs_inode(fs, link);

	if (l->uid == cred->uid || (d->mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH) ||
	    d->uid == l->uid)
		return 0;
	return umfs_proc_protected("symlinks") ? -EACCES : 0;
}

/* The walk from directory start (verified), under openat2's rules when
 * resolve has any (UMFS_RESOLVE_*): scoped walks never go above start
 * (".." there fails with EXDEV, or stays for IN_ROOT, where absolute link
 * targets restart at start); NO_XDEV fails where the walk would leave the
 * pool; NO_SYMLINKS fails where it would follow a link. */
static int walk_steps(struct umfs_fs *fs, uint64_t start, const char *path, unsigned flags,
		      unsigned resolve, struct umfs_walk *w)
{
	struct umfs_ucred cred;
	gid_t groups[NGROUPS_MAX_SMALL];
	uint64_t cur = start;
	unsigned links = 0;
	const char *p = path;
	size_t plen = strlen(path);
	int err;

	if (plen == 0)
		return -ENOENT;
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	if ((resolve & UMFS_RESOLVE_BENEATH) && path[0] == '/')
		return -EXDEV;
	umfs_cred_current(&cred, groups);
	w->trailing_slash = plen > 1 && path[plen - 1] == '/';
	w->parent = start;
	w->ino = start;
	w->name = "";
	w->name_len = 0;

	for (;;) {
		const char *name, *end;
		unsigned char type;
		uint64_t next;
		bool last;
		size_t len;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			w->ino = cur; /* the path named cur itself ("/", a link to "/") */
			return 0;
		}
		name = p;
		end = strchrnul(p, '/');
		len = (size_t)(end - name);
		p = end;
		while (*p == '/')
			p++;
		last = *p == '\0';

		if (!S_ISDIR(umfs_inode(fs, cur)->mode))
			return -ENOTDIR;
		err = umfs_cred_permission(umfs_inode(fs, cur), &cred, X_OK);
		if (err)
			return err;
		if (len > UMFS_NAME_MAX)
			return -ENAMETOOLONG;

		w->parent = cur;
		w->name = name;
		w->name_len = len;
		if (len == 1 && name[0] == '.') {
			next = cur;
		} else if (len == 2 && name[0] == '.' && name[1] == '.') {
			if (cur == start && (resolve & UMFS_RESOLVE_BENEATH))
				return -EXDEV;
			if (cur == start && (resolve & UMFS_RESOLVE_IN_ROOT)) {
				next = cur;
				goto step;
			}
			if (cur == UMFS_ROOT_INO) {
				const char *rest = p;

				if (resolve & UMFS_RESOLVE_NO_XDEV)
					return -EXDEV;
				err = walk_leave(fs, true, NULL, rest, w->trailing_slash, &p);
				if (err)
					return err;
				p = rest;
			}
			next = umfs_inode(fs, cur)->dir.parent;
			err = umfs_dentry_verify(fs, cur, name, len, next, DT_DIR);
			if (err)
				return err;
		} else {
			err = umfs_dir_lookup(fs, cur, name, len, &next, &type);
			/* as Linux: nothing is created in a removed directory */
			if (err == -ENOENT && last && (flags & UMFS_WALK_PARENT) &&
			    umfs_inode(fs, cur)->nlink > 0) {
				w->ino = 0;
				return 0;
			}
			if (!err)
				err = umfs_dentry_verify(fs, cur, name, len, next, type);
			if (err)
				return err;
		}
		/* as Linux: a trailing slash makes lookups follow the last link,
		 * but not calls that act on the name itself */
		if (S_ISLNK(umfs_inode(fs, next)->mode) &&
		    (!last || (!(flags & (UMFS_WALK_NOFOLLOW | UMFS_WALK_NAME)) ||
			       (w->trailing_slash && !(flags & UMFS_WALK_NAME))))) {
			if (++links > UMFS_SYMLOOP_MAX)
				return -ELOOP;
			err = last ? walk_follow_allowed(fs, cur, next, &cred) : 0;
			if (err)
				return err;
			if (resolve & UMFS_RESOLVE_NO_SYMLINKS)
				return -ELOOP;
			err = splice_link(fs, next, p, last && w->trailing_slash);
			if (err)
				return err;
			p = walk_thread->buf;
			if (*p != '/')
				continue; /* relative target: resolve from the link's directory */
			if (resolve & (UMFS_RESOLVE_BENEATH | UMFS_RESOLVE_NO_XDEV))
				return -EXDEV; /* a jump to the host's root */
			if (resolve & UMFS_RESOLVE_IN_ROOT) {
				cur = start; /* the root is start */
				continue;
			}
			err = walk_leave(fs, false, walk_thread->buf, "", false, &p);
			if (err)
				return err;
			cur = UMFS_ROOT_INO;
			continue;
		}
step:
		cur = next;
		if (last) {
			w->ino = cur;
			if (w->trailing_slash && !(flags & UMFS_WALK_NAME) &&
			    !S_ISDIR(umfs_inode(fs, cur)->mode))
				return -ENOTDIR;
			return 0;
		}
	}
}

/* walk_steps, its last name copied into the walk when it lies in the
 * thread's buffer, which the thread's next walk reuses. */
static int walk_from(struct umfs_fs *fs, uint64_t start, const char *path, unsigned flags,
		     unsigned resolve, struct umfs_walk *w)
{
	int err = walk_steps(fs, start, path, flags, resolve, w);
	const struct walk_thread *t = walk_thread;
	uintptr_t at = (uintptr_t)w->name;

	if (t && at >= (uintptr_t)t->buf && at < (uintptr_t)t->buf + sizeof(t->buf)) {
		memcpy(w->last, w->name, w->name_len);
		w->last[w->name_len] = '\0';
		w->name = w->last;
	}
	return err;
}

int umfs_walk(struct umfs_fs *fs, const char *path, unsigned flags, struct umfs_walk *w)
{
	uint64_t start;
	int err;

	if (path[0] == '\0')
		return -ENOENT;
	if (umfs_fs_failed(fs))
		return umfs_fs_eio(fs);
	err = walk_start(fs, path, flags, &start); /* verifies a base it returns */
	if (!err && start == UMFS_ROOT_INO)
		err = umfs_inode_verify(fs, UMFS_ROOT_INO, true);
	if (!err)
		err = walk_from(fs, start, path, flags, 0, w);
	/* what a walk over a pool cut off meanwhile found is not the pool's */
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : err;
}

int umfs_walk_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned flags,
		      unsigned resolve, struct umfs_walk *w)
{
	uint64_t start;
	int err;

	err = umfs_walk(fs, base, 0, w);
	if (err)
		return err;
	start = w->ino;
	if (!S_ISDIR(umfs_inode(fs, start)->mode))
		return -ENOTDIR;
	err = walk_from(fs, start, rel, flags, resolve, w);
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : err;
}
