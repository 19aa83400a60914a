/* SPDX-License-Identifier: MIT */
/*
 * api_frontend.c - what a front end that shares a pool among processes needs
 * from the core (the LD_PRELOAD shim): a host mount prefix, so that symlinks
 * and ".." can leave the pool; a hook that says whether another process
 * still holds an inode; fork hooks; journal rollback and free-space recount
 * for pools other processes change.
 *
 * The settings live in a small table keyed by the mounted fs rather than in
 * struct umfs_fs, so that front ends that never set them cost nothing; the
 * table is read only when a walk follows an absolute symlink, climbs out of
 * the root, or an inode loses its last name or opener.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "coldio.h"
#include "fault.h"
#include "file.h"
#include "fs.h"
#include "inode.h"
#include "journal.h"
#include "os.h"
#include "share.h"
#include "ulog.h"

#define FE_SLOTS 8

/* The owners are scanned apart from the settings. A slot's two paths share
 * one buffer on the heap, at their length (the parent right after the
 * prefix): the table stays among the small variables, and a joining
 * process touches no page of the library's zeroed data for it. */
struct fe_settings {
	size_t prefix_len;
	bool relatime;
	char *paths; /* the prefix; the prefix's parent directory (where ".."
			at the root goes) after its NUL; NULL while unset */
};

static const struct umfs_fs *fe_owner[FE_SLOTS];
static struct fe_settings fe_table[FE_SLOTS];
static pthread_mutex_t fe_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *fe_parent(const struct fe_settings *s)
{
	return s->paths + s->prefix_len + 1;
}

/* Called with fe_lock held. */
static struct fe_settings *fe_slot(const struct umfs_fs *fs, bool create)
{
	int free_slot = -1;

	for (int i = 0; i < FE_SLOTS; i++) {
		if (fe_owner[i] == fs)
			return &fe_table[i];
		if (!fe_owner[i] && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return NULL;
	fe_owner[free_slot] = fs;
	fe_table[free_slot].prefix_len = 0;
	fe_table[free_slot].relatime = false;
	fe_table[free_slot].paths = NULL;
	return &fe_table[free_slot];
}

static void fe_slot_release_if_empty(struct fe_settings *s)
{
	if (s && s->prefix_len == 0 && !s->relatime)
		fe_owner[s - fe_table] = NULL;
}

int umfs_set_mount_prefix(struct umfs_fs *fs, const char *prefix)
{
	struct fe_settings *s;
	size_t len = prefix ? strlen(prefix) : 0;
	char *paths = NULL, *old = NULL, *parent, *slash;

	while (len > 1 && prefix[len - 1] == '/')
		len--;
	if (len && (prefix[0] != '/' || len >= PATH_MAX))
		return -EINVAL;
	if (len == 1)
		return -EINVAL; /* "/" would make every host path a pool path */
	if (len) {
		paths = malloc(2 * (len + 1));
		if (!paths)
			return -ENOMEM;
		memcpy(paths, prefix, len);
		paths[len] = '\0';
		parent = paths + len + 1;
		memcpy(parent, paths, len + 1);
		slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
	pthread_mutex_lock(&fe_lock);
	s = fe_slot(fs, len != 0);
	if (s) {
		old = s->paths;
		s->paths = paths;
		s->prefix_len = len;
		paths = NULL;
		fe_slot_release_if_empty(s);
	}
	pthread_mutex_unlock(&fe_lock);
	free(old);
	free(paths); /* not taken: no slot */
	return s || !len ? 0 : -ENOSPC;
}

int umfs_set_relatime(struct umfs_fs *fs, int on)
{
	struct fe_settings *s;

	pthread_mutex_lock(&fe_lock);
	s = fe_slot(fs, on != 0);
	if (s) {
		s->relatime = on != 0;
		fe_slot_release_if_empty(s);
	}
	pthread_mutex_unlock(&fe_lock);
	return s || !on ? 0 : -ENOSPC;
}

bool api_fe_relatime(const struct umfs_fs *fs)
{
	struct fe_settings *s;
	bool on;

	pthread_mutex_lock(&fe_lock);
	s = fe_slot(fs, false);
	on = s && s->relatime;
	pthread_mutex_unlock(&fe_lock);
	return on;
}

bool api_fe_prefix(const struct umfs_fs *fs, char *prefix, size_t *prefix_len, char *parent)
{
	struct fe_settings *s;
	bool set = false;

	pthread_mutex_lock(&fe_lock);
	s = fe_slot(fs, false);
	if (s && s->prefix_len) {
		memcpy(prefix, s->paths, s->prefix_len + 1);
		*prefix_len = s->prefix_len;
		strcpy(parent, fe_parent(s));
		set = true;
	}
	pthread_mutex_unlock(&fe_lock);
	return set;
}

bool api_fe_held(const struct umfs_fs *fs, uint64_t ino)
{
	return fs->share && umfs_share_held(fs, ino);
}

void umfs_fs_uuid(const struct umfs_fs *fs, uint8_t uuid[16])
{
	memcpy(uuid, fs->sb.uuid, sizeof(fs->sb.uuid));
}

int umfs_fs_fd(const struct umfs_fs *fs)
{
	return fs->pm.fd;
}

/* Locks belong to the open file description: a moved descriptor keeps them. */
static int fd_move_high(int *fdp, int minfd)
{
	int fd;

	if (*fdp < 0 || *fdp >= minfd)
		return 0;
	fd = OS(fcntl)(*fdp, F_DUPFD_CLOEXEC, minfd);
	if (fd < 0)
		return -errno;
	OS(close)(*fdp);
	*fdp = fd;
	return 0;
}

int umfs_fs_move_fd(struct umfs_fs *fs, int minfd)
{
	int err = fd_move_high(&fs->pm.fd, minfd);

	if (!err)
		err = fd_move_high(&fs->share_fd, minfd);
	return err ? err : fd_move_high(&fs->run_dfd, minfd);
}

int umfs_fs_share_fd(const struct umfs_fs *fs)
{
	return fs->share ? fs->share_fd : -1;
}

int umfs_fs_rundir_fd(const struct umfs_fs *fs)
{
	return fs->run_dfd;
}

const char *umfs_fs_rundir_path(const struct umfs_fs *fs)
{
	return fs->run_dfd >= 0 ? fs->run_path : "";
}

int umfs_fs_rollback(struct umfs_fs *fs)
{
	int err;

	/* a shared mount's locks roll back their dead holders themselves */
	if (fs->pm.rdonly || fs->share)
		return 0;
	umfs_meta_lock(fs);
	if (fs->tx.active) {
		umfs_meta_unlock(fs);
		return -EBUSY;
	}
	err = umfs_journal_recover(fs, NULL, NULL);
	umfs_alloc_init(fs);
	umfs_tx_seq_renew(fs);
	umfs_meta_unlock(fs);
	/* the dead writer's write in flight, if any: the caller holds the
	 * pool lock that every writer takes, so no live write is running */
	if (!err)
		err = umfs_ulog_undo_all(fs, NULL);
	return err;
}

void umfs_fs_refresh(struct umfs_fs *fs)
{
	if (fs->share)
		return; /* the lock region's epoch does it at the next turn */
	umfs_meta_lock(fs);
	umfs_alloc_init(fs);
	umfs_tx_seq_renew(fs);
	umfs_meta_unlock(fs);
}

/* No thread of this process is in a transaction while it forks: this
 * process's own metadata mutex suffices (the lock region's would belong to
 * the parent's thread in the child). */
void umfs_fork_prepare(struct umfs_fs *fs)
{
	umfs_os_fork_bind();
	umfs_share_fork_prepare(fs);
	pthread_mutex_lock(&fs->meta_lock);
	pthread_mutex_lock(&fs->vnode_lock);
}

void umfs_fork_parent(struct umfs_fs *fs)
{
	pthread_mutex_unlock(&fs->vnode_lock);
	pthread_mutex_unlock(&fs->meta_lock);
	umfs_share_fork_parent(fs);
}

void umfs_fork_child(struct umfs_fs *fs)
{
	umfs_lock_forked(); /* before the first lock below asks who this is */
	umfs_plock_forked();
	umfs_tx_seq_renew(fs);
	umfs_coldio_forked(fs);
	pthread_mutex_unlock(&fs->vnode_lock);
	pthread_mutex_unlock(&fs->meta_lock);
	if (!fs->share)
		return;
	umfs_share_fork_child(fs);
	/* the child holds what the parent held: count it */
	umfs_meta_lock(fs);
	pthread_mutex_lock(&fs->vnode_lock);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->vnodes); i++)
		for (struct umfs_vnode *vn = fs->vnodes[i]; vn; vn = vn->next) {
			umfs_share_hold(fs, vn->ino, 1);
			vn->handed = false; /* a parent's exec under way hands its own */
		}
	fs->vnode_holds_handed = false;
	pthread_mutex_unlock(&fs->vnode_lock);
	umfs_meta_unlock(fs);
}

int umfs_fs_idle(struct umfs_fs *fs)
{
	if (pthread_mutex_trylock(&fs->meta_lock) != 0)
		return 0;
	pthread_mutex_unlock(&fs->meta_lock);
	if (pthread_mutex_trylock(&fs->vnode_lock) != 0)
		return 0;
	pthread_mutex_unlock(&fs->vnode_lock);
	return 1;
}

int umfs_hold(struct umfs_fs *fs, uint64_t ino, int delta)
{
	if (!fs->share)
		return -EINVAL;
	umfs_meta_lock(fs);
	umfs_share_hold(fs, ino, delta);
	umfs_meta_unlock(fs);
	return 0;
}

/* The kernel tells umfs-fuse of a last close after close(2) returned: for
 * a moment a claim meets that of an open already closed, so a claim is
 * tried for MEM_CLAIM_TRIES ms before it is refused. */
#define MEM_CLAIM_TRIES 20
static int mem_claim(struct umfs_fs *fs, uint64_t ino, enum umfs_mem kind, int delta)
{
	int err, tries = 0;

	for (;;) {
		umfs_meta_lock(fs);
		err = umfs_share_mem_claim(fs, ino, kind, delta);
		umfs_meta_unlock(fs);
		if (err != -EBUSY || ++tries >= MEM_CLAIM_TRIES)
			return err;
		OS(usleep)(1000);
	}
}

int umfs_file_cache_claim(struct umfs_file *f)
{
	int err;

	if (!f->fs->share || f->cache_claimed)
		return 0;
	err = mem_claim(f->fs, f->ino, UMFS_MEM_CACHE, 1);
	f->cache_claimed = err == 0;
	return err;
}

int umfs_hostmap_claim(struct umfs_fs *fs, uint64_t ino, bool on)
{
	return fs->share ? mem_claim(fs, ino, UMFS_MEM_HOSTMAP, on ? 1 : -1) : 0;
}

int umfs_holds_hand(struct umfs_fs *fs, bool alone, uint64_t *region, struct umfs_held *out,
		    size_t cap)
{
	int n;

	*region = umfs_share_instance(fs);
	n = umfs_vnode_holds_hand(fs, out, cap);
	if (n == 0 && alone && !fs->exec_left) {
		/* nothing can be opened before the exec: a new image that
		 * never names a UMFS path leaves no join uncounted */
		umfs_share_count_clean(fs);
		fs->exec_left = true;
	}
	return n;
}

/* What a last close does once nobody holds ino (gen) any more: the U-Log
 * goes, an unlinked file is freed. delta is a hold to drop first (-1) or
 * none (0). Stripe, then meta, as api_vnode_release. */
static int holds_settle(struct umfs_fs *fs, uint64_t ino, uint32_t gen, int delta)
{
	bool orphan = false;

	umfs_share_wrlock(fs, ino);
	umfs_meta_lock(fs);
	if (!umfs_fs_failed(fs) && umfs_inode_live(fs, ino) &&
	    umfs_inode(fs, ino)->generation == gen) {
		if (delta)
			umfs_share_hold(fs, ino, delta);
		if (umfs_vnode_opencount(fs, ino) == 0 && !api_fe_held(fs, ino)) {
			umfs_file_release(fs, ino);
			orphan = umfs_inode(fs, ino)->nlink == 0;
		}
	}
	umfs_meta_unlock(fs);
	umfs_share_wrunlock(fs, ino);
	return orphan && !fs->pm.rdonly ? umfs_inode_reclaim(fs, ino, gen) : 0;
}

void umfs_settle_sweep(struct umfs_fs *fs)
{
	uint64_t ino[UMFS_SHARE_SETTLE_CAP];
	uint32_t gen[UMFS_SHARE_SETTLE_CAP];
	size_t n;

	if (!fs->share || fs->pm.rdonly || !umfs_share_settle_pending(fs))
		return;
	umfs_meta_lock(fs);
	n = umfs_share_settle_take(fs, ino, gen, UMFS_SHARE_SETTLE_CAP);
	umfs_meta_unlock(fs);
	for (size_t i = 0; i < n; i++)
		(void)holds_settle(fs, ino[i], gen[i], 0);
}

void umfs_holds_keep(struct umfs_fs *fs, const struct umfs_held *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!umfs_vnode_holds_take_back(fs, list[i].ino))
			(void)holds_settle(fs, list[i].ino, list[i].gen, -1);
	umfs_vnode_holds_handed_end(fs);
	if (fs->exec_left) {
		fs->exec_left = false;
		umfs_share_count_join(fs); /* a user again, to leave once more */
	}
}

int umfs_holds_release(struct umfs_fs *fs, uint64_t region, const struct umfs_held *list,
		       size_t n)
{
	int err = 0;

	if (!fs->share || region != umfs_share_instance(fs))
		return 0; /* remade since: it counts none of those holds */
	for (size_t i = 0; i < n; i++) {
		int e = holds_settle(fs, list[i].ino, list[i].gen, -1);

		err = err ? err : e;
	}
	umfs_share_count_clean(fs); /* the image that handed them left cleanly */
	return err;
}

int umfs_fs_exposure(const struct umfs_fs *fs, const char *pool, char *buf, size_t size)
{
	const struct stat *st = &fs->pm.st;
	int n = 0;

	buf[0] = '\0';
	if (fs->be->checks_files || !st->st_mode)
		return 0; /* the kernel checks each file (module mode) */
	if (st->st_mode & 066)
		n = snprintf(buf, size, "%s is %s by %s: in software mode every user who can open "
			     "the pool can read and change all of it, whatever the permissions of "
			     "its files say (see security.md in UMFS's documents, umfs(8))", pool,
			     (st->st_mode & 022) ? "writable" : "readable",
			     (st->st_mode & 006) ? "every user" : "its group");
	else if (st->st_uid != OS(geteuid)() && st->st_uid != 0)
		n = snprintf(buf, size, "%s belongs to uid %u, who can read and change everything "
			     "put in it (see security.md in UMFS's documents, umfs(8))", pool, (unsigned)st->st_uid);
	return n > 0;
}
