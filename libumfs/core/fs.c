/* SPDX-License-Identifier: MIT */
/*
 * fs.c - mounting a pool: validation, recovery, the vnode cache, unmount.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fs.h"
#include "alloc.h"
#include "backend.h"
#include "coldio.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "locktab.h"
#include "persist.h"
#include "prefault.h"
#include "procfs.h"
#include "ptable.h"
#include "share.h"
#include "testhooks.h"
#include "ulog.h"

static __thread char mount_error[256];

const char *umfs_mount_error(void)
{
	return mount_error;
}

static int mount_fail(int err, const char *what, const char *why)
{
	snprintf(mount_error, sizeof(mount_error), "%s: %s", what, why);
	return err;
}

static _Atomic uint64_t *meta_seq(struct umfs_fs *fs)
{
	return fs->share ? umfs_share_meta_seq(fs) : &fs->meta_seq;
}

void umfs_meta_lock(struct umfs_fs *fs)
{
	_Atomic uint64_t *seq;

	pthread_mutex_lock(&fs->meta_lock);
	if (fs->share)
		umfs_share_meta_enter(fs);
	/* Odd before the first change (the locked add orders the stores
	 * after it); a holder that died or was cut off left it odd, and so
	 * it stays until a holder leaves whole. */
	seq = meta_seq(fs);
	if (!(atomic_load_explicit(seq, memory_order_relaxed) & 1))
		atomic_fetch_add_explicit(seq, 1, memory_order_seq_cst);
}

void umfs_meta_unlock(struct umfs_fs *fs)
{
	if (!umfs_fs_failed(fs))
		atomic_fetch_add_explicit(meta_seq(fs), 1, memory_order_release);
	if (fs->share)
		umfs_share_meta_exit(fs);
	pthread_mutex_unlock(&fs->meta_lock);
}

void umfs_meta_unlock_step(struct umfs_fs *fs)
{
	bool waited = fs->share && umfs_share_meta_waited(fs);

	umfs_meta_unlock(fs);
	if (waited)
		umfs_share_meta_let_in(fs);
}

__thread unsigned umfs_meta_unlocked;

int umfs_meta_read(struct umfs_fs *fs, int (*look)(struct umfs_fs *fs, void *arg), void *arg)
{
	_Atomic uint64_t *word = meta_seq(fs);
	uint64_t seq = atomic_load_explicit(word, memory_order_acquire);
	int err;

	if (!(seq & 1) || UMFS_FAULT(UMFS_FAULT_META_READ_TRUST)) {
		umfs_meta_unlocked++;
		err = look(fs, arg);
		umfs_meta_unlocked--;
		/* the reads above before the count's second read */
		atomic_thread_fence(memory_order_acquire);
		if ((meta_seq(fs) == word && atomic_load_explicit(word, memory_order_relaxed) == seq &&
		     err != -EUCLEAN && !umfs_fs_failed(fs)) ||
		    UMFS_FAULT(UMFS_FAULT_META_READ_TRUST)) {
			UMFS_TEST_COUNT(UMFS_TEST_META_READ_KEPT);
			return err;
		}
	}
	UMFS_TEST_COUNT(UMFS_TEST_META_READ_AGAIN);
	umfs_meta_lock(fs);
	err = look(fs, arg);
	umfs_meta_unlock(fs);
	return err;
}

void umfs_vnode_wrlock(struct umfs_fs *fs, struct umfs_vnode *vn)
{
	if (fs->share)
		umfs_share_wrlock(fs, vn->ino);
	else
		pthread_rwlock_wrlock(&vn->lock);
}

void umfs_vnode_wrunlock(struct umfs_fs *fs, struct umfs_vnode *vn)
{
	if (fs->share)
		umfs_share_wrunlock(fs, vn->ino);
	else
		pthread_rwlock_unlock(&vn->lock);
}

uint64_t umfs_vnode_read_begin(struct umfs_fs *fs, struct umfs_vnode *vn)
{
	if (fs->share)
		return umfs_share_read_begin(fs, vn->ino);
	pthread_rwlock_rdlock(&vn->lock);
	return 0;
}

bool umfs_vnode_read_retry(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t seq)
{
	if (fs->share)
		return umfs_share_read_retry(fs, vn->ino, seq);
	pthread_rwlock_unlock(&vn->lock);
	return false;
}

static struct umfs_vnode **vnode_slot(struct umfs_fs *fs, uint64_t ino)
{
	return &fs->vnodes[(ino * 0x9E3779B97F4A7C15ull) >> 56];
}

struct umfs_vnode *umfs_vnode_get(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_vnode **slot = vnode_slot(fs, ino), *vn;

	pthread_mutex_lock(&fs->vnode_lock);
	for (vn = *slot; vn; vn = vn->next)
		if (vn->ino == ino)
			break;
	if (!vn) {
		vn = calloc(1, sizeof(*vn));
		if (!vn)
			goto out;
		vn->ino = ino;
		pthread_rwlock_init(&vn->lock, NULL);
		vn->next = *slot;
		*slot = vn;
	}
	if (vn->opencount++ == 0 && fs->share && !fs->vnode_holds_gone)
		umfs_share_hold(fs, ino, 1); /* callers hold meta_lock */
out:
	pthread_mutex_unlock(&fs->vnode_lock);
	return vn;
}

int umfs_vnode_put(struct umfs_fs *fs, struct umfs_vnode *vn)
{
	struct umfs_vnode **p;
	int left;

	pthread_mutex_lock(&fs->vnode_lock);
	left = --vn->opencount;
	if (left == 0) {
		if (fs->share && !fs->vnode_holds_gone && !vn->handed)
			umfs_share_hold(fs, vn->ino, -1); /* callers hold meta_lock */
		for (p = vnode_slot(fs, vn->ino); *p != vn; p = &(*p)->next)
			;
		*p = vn->next;
		pthread_rwlock_destroy(&vn->lock);
		free(vn);
	}
	pthread_mutex_unlock(&fs->vnode_lock);
	return left;
}

void umfs_vnode_holds_drop(struct umfs_fs *fs)
{
	if (!fs->share || fs->vnode_holds_gone)
		return;
	umfs_meta_lock(fs);
	pthread_mutex_lock(&fs->vnode_lock);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->vnodes); i++)
		for (struct umfs_vnode *vn = fs->vnodes[i]; vn; vn = vn->next)
			if (!vn->handed) { /* else an exec under way hands it on */
				umfs_share_hold(fs, vn->ino, -1);
				if (!umfs_share_held(fs, vn->ino))
					umfs_share_settle_add(fs, vn->ino,
							      umfs_inode(fs, vn->ino)->generation);
			}
	fs->vnode_holds_gone = true;
	pthread_mutex_unlock(&fs->vnode_lock);
	umfs_meta_unlock(fs);
}

int umfs_vnode_holds_hand(struct umfs_fs *fs, struct umfs_held *out, size_t cap)
{
	size_t n = 0;
	int err = 0;

	if (!fs->share)
		return -EOPNOTSUPP;
	if (fs->vnode_holds_gone)
		return -ESRCH; /* it left the pool: nothing to hand on */
	umfs_meta_lock(fs);
	pthread_mutex_lock(&fs->vnode_lock);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->vnodes); i++)
		for (struct umfs_vnode *vn = fs->vnodes[i]; vn; vn = vn->next)
			n++;
	if (fs->vnode_holds_handed)
		err = -EBUSY;
	else if (n > cap)
		err = -E2BIG;
	for (size_t i = 0, k = 0; !err && i < UMFS_ARRAY_SIZE(fs->vnodes); i++)
		for (struct umfs_vnode *vn = fs->vnodes[i]; vn; vn = vn->next, k++) {
			vn->handed = true;
			out[k].ino = vn->ino;
			out[k].gen = umfs_inode(fs, vn->ino)->generation;
		}
	fs->vnode_holds_handed = !err && n;
	pthread_mutex_unlock(&fs->vnode_lock);
	umfs_meta_unlock(fs);
	return err ? err : (int)n;
}

bool umfs_vnode_holds_take_back(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_vnode *vn;
	bool kept = false;

	pthread_mutex_lock(&fs->vnode_lock);
	for (vn = *vnode_slot(fs, ino); vn; vn = vn->next)
		if (vn->ino == ino && vn->handed) {
			vn->handed = false;
			kept = true;
		}
	pthread_mutex_unlock(&fs->vnode_lock);
	return kept;
}

void umfs_vnode_holds_handed_end(struct umfs_fs *fs)
{
	pthread_mutex_lock(&fs->vnode_lock);
	fs->vnode_holds_handed = false;
	pthread_mutex_unlock(&fs->vnode_lock);
}

int umfs_vnode_opencount(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_vnode *vn;
	int n = 0;

	pthread_mutex_lock(&fs->vnode_lock);
	for (vn = *vnode_slot(fs, ino); vn; vn = vn->next)
		if (vn->ino == ino)
			n = vn->opencount;
	pthread_mutex_unlock(&fs->vnode_lock);
	return n;
}

/* Frees every inode on the orphan list: their last opener died with a crash. */
static int reclaim_orphans(struct umfs_fs *fs)
{
	for (uint64_t n = 0; fs->state->orphan_head && n < fs->inode_count; n++) {
		uint64_t ino = fs->state->orphan_head;
		int err;

		if (!umfs_inode_live(fs, ino) || !(umfs_inode(fs, ino)->flags & UMFS_IF_ORPHAN))
			return -EUCLEAN; /* damaged list: fsck.umfs repairs it */
		err = umfs_inode_reclaim(fs, ino, umfs_inode(fs, ino)->generation);
		if (err)
			return err;
		fs->recovery.orphans_reclaimed++;
	}
	return 0;
}

/* Finishes the truncates a crash cut short: their pages past EOF go. */
static int finish_truncates(struct umfs_fs *fs)
{
	for (uint64_t w = 0; w < UMFS_DIV_ROUND_UP(fs->inode_count, 64); w++) {
		for (uint64_t bits = fs->ibitmap[w]; bits; bits &= bits - 1) {
			uint64_t ino = w * 64 + (uint64_t)__builtin_ctzll(bits);
			int err;

			if (ino >= fs->inode_count || !umfs_inode_live(fs, ino) ||
			    !(umfs_inode(fs, ino)->flags & UMFS_IF_TRUNC))
				continue;
			if (umfs_inode_csum(umfs_inode(fs, ino)) != umfs_inode(fs, ino)->csum)
				return -EUCLEAN; /* its tree cannot be trusted: fsck.umfs */
			err = umfs_file_trunc_finish(fs, ino);
			if (err)
				return err;
			fs->recovery.truncs_finished++;
		}
	}
	return 0;
}

int umfs_recover(struct umfs_fs *fs)
{
	struct umfs_recover_stats *st = &fs->recovery;
	int err;

	memset(st, 0, sizeof(*st));
	err = umfs_journal_recover(fs, &st->journal_rolled_back, &st->journal_bad);
	if (err)
		return err;
	umfs_alloc_init(fs); /* rollback may have changed the bitmaps */
	/* U-Logs before orphans: a swap record's shadow is an orphan that a
	 * rollback still needs. */
	err = umfs_ulog_recover(fs, st);
	if (!err)
		err = finish_truncates(fs);
	if (!err)
		err = reclaim_orphans(fs);
	return err;
}

unsigned umfs_consistency(const struct umfs_fs *fs)
{
	return fs->relaxed ? UMFS_MOUNT_RELAXED : UMFS_MOUNT_STRICT;
}

void umfs_fs_set_overwrite(struct umfs_fs *fs, uint64_t ulog_max, bool page_swap)
{
	fs->ulog_max = ulog_max;
	fs->page_swap = fs->page_swap && page_swap; /* only where the pool and backend allow */
}

/* Mount flag, then UMFS_CONSISTENCY, then the pool's default. */
static int fs_pick_mode(struct umfs_fs *fs, unsigned flags)
{
	const char *env = getenv("UMFS_CONSISTENCY");

	if ((flags & UMFS_MOUNT_STRICT) && (flags & UMFS_MOUNT_RELAXED))
		return mount_fail(-EINVAL, "mount flags", "both strict and relaxed");
	if (flags & (UMFS_MOUNT_STRICT | UMFS_MOUNT_RELAXED)) {
		fs->relaxed = flags & UMFS_MOUNT_RELAXED;
	} else if (env && *env) {
		if (strcmp(env, "strict") && strcmp(env, "relaxed"))
			return mount_fail(-EINVAL, "UMFS_CONSISTENCY", "must be strict or relaxed");
		fs->relaxed = !strcmp(env, "relaxed");
	} else {
		fs->relaxed = fs->sb.default_flags & UMFS_SBF_RELAXED;
	}
	return 0;
}

static void fs_bind(struct umfs_fs *fs)
{
	const struct umfs_superblock *sb = &fs->sb;

	fs->base = fs->pm.base;
	fs->sbp = (struct umfs_superblock *)fs->base;
	fs->state = (struct umfs_state *)(fs->base + sb->state_off);
	fs->inodes = (struct umfs_inode *)(fs->base + sb->inode_off);
	fs->ibitmap = (uint64_t *)(fs->base + sb->ibitmap_off);
	fs->pbitmap = (uint64_t *)(fs->base + sb->pbitmap_off);
	fs->bsum = sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS
			   ? (uint64_t *)(fs->base + sb->bsum_off) : NULL;
	fs->page_swap = (sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_ULOG_SPARE) &&
			fs->be && fs->be->swaps_leaves;
	fs->pbitmap_words = umfs_pbitmap_words(sb->data_pages);
	fs->data_off = sb->data_off;
	fs->data_pages = sb->data_pages;
	fs->inode_count = sb->inode_count;
	fs->phys_base = sb->phys_base;
	fs->geom = umfs_ptgeom_of(sb);
	fs->dev = makedev(0x5546, umfs_crc32c(0, sb->uuid, sizeof(sb->uuid)) & 0xfffff);
}

/*
 * A physical base other than 0 is the kernel module's, for a device pool,
 * and every table entry holds it. A superblock that misstates it (resealed)
 * moves every entry onto other pages of the data zone, which no entry's own
 * check can see. So a mount of such a pool reads the first block of a few
 * directories through their tables: at least one must be a directory
 * block. Pools of plain files (phys_base 0) and fsck (which checks every
 * entry) skip it, and so do module mounts, whose module checks every tree.
 */
#define FS_PROBE_INODES 4096 /* inode numbers looked at for directories */
#define FS_PROBE_DIRS 3

static bool fs_phys_base_agrees(struct umfs_fs *fs)
{
	unsigned probed = 0;

	if (!fs->phys_base || fs->borrowed || fs->be != &umfs_backend_soft)
		return true; /* the module rebases and walks every tree at its mount */
	for (uint64_t ino = UMFS_ROOT_INO; ino < UMFS_MIN(fs->inode_count, FS_PROBE_INODES) &&
					   probed < FS_PROBE_DIRS; ino++) {
		const struct umfs_inode *in = umfs_inode(fs, ino);
		const struct umfs_dirblock_hdr *h;
		uint64_t off;

		/* a directory with a table and blocks has its block 0 */
		if (!umfs_inode_live(fs, ino) || !S_ISDIR(in->mode) || in->pt_height == 0 ||
		    in->dir.nblocks == 0 || umfs_inode_csum(in) != in->csum)
			continue;
		probed++;
		h = umfs_pt_lookup(fs, in, 0, &off, NULL) || !off ? NULL : umfs_off_ptr(fs, off);
		if (h && h->magic == UMFS_DIRBLOCK_MAGIC)
			return true;
	}
	return probed == 0; /* nothing to tell by: served as it says */
}

static void fs_free(struct umfs_fs *fs)
{
	umfs_fault_unwatch_fs(fs);
	umfs_locktab_free(fs);
	umfs_share_close(fs, UMFS_SHARE_STAY);
	umfs_journal_close(fs);
	umfs_coldio_close(fs);
	if (!fs->borrowed)
		umfs_pmem_unmap(&fs->pm);
	else
		umfs_pmem_prefault_end(&fs->pm);
	pthread_mutex_destroy(&fs->meta_lock);
	pthread_mutex_destroy(&fs->vnode_lock);
	free(fs);
}

static int fs_attach(struct umfs_pmem *pm, unsigned flags, bool borrowed,
		     const struct umfs_inherited *inherited, struct umfs_fs **fsp)
{
	struct umfs_fs *fs;
	const char *why;
	bool needs_recovery, first = true;
	int err;

	mount_error[0] = '\0';
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		if (!borrowed)
			umfs_pmem_unmap(pm);
		return -ENOMEM;
	}
	fs->pm = *pm;
	fs->be = umfs_backend_of(pm); /* for the whole mount */
	fs->borrowed = borrowed;
	fs->flags = flags;
	fs->ulog_seq = (uint64_t)umfs_now_ns(); /* never reused across mounts */
	fs->ulog_max = UMFS_ULOG_BYTES_DEFAULT;
	pthread_mutex_init(&fs->meta_lock, NULL);
	pthread_mutex_init(&fs->vnode_lock, NULL);
	fs->share_fd = -1;
	fs->fork_share_fd = -1;
	fs->run_dfd = -1;
	umfs_fault_mount(fs, flags);
	if ((flags & UMFS_MOUNT_SHARED) && (flags & (UMFS_MOUNT_EXCLUSIVE | UMFS_MOUNT_RDONLY))) {
		err = mount_fail(-EINVAL, "flags", "SHARED goes with neither EXCLUSIVE nor RDONLY");
		goto err_free;
	}
	if (pm->len < UMFS_MIN_POOL_SIZE) {
		err = mount_fail(-EINVAL, "pool", "smaller than the smallest UMFS pool");
		goto err_free;
	}
	err = umfs_pmem_lock(pm, flags & UMFS_MOUNT_EXCLUSIVE);
	if (err) {
		err = mount_fail(err, "pool", err == -EBUSY ? "in use by another process" :
							       "cannot be locked");
		goto err_free;
	}
	memcpy(&fs->sb, pm->base, sizeof(fs->sb));
	err = umfs_sb_check(&fs->sb, pm->len, pm->rdonly, &why);
	err = umfs_grow_resume(pm, flags & UMFS_MOUNT_EXCLUSIVE, err, &fs->sb, &why);
	if (err) {
		err = mount_fail(err == -EINVAL ? -EINVAL : err, "superblock", why);
		goto err_free;
	}
	fs_bind(fs);
	umfs_coldio_open(fs);
	err = fs_pick_mode(fs, flags);
	if (err)
		goto err_free;
	if (fs->state->magic != UMFS_STATE_MAGIC) {
		err = mount_fail(-EUCLEAN, "state page", "bad magic (run fsck.umfs)");
		goto err_free;
	}

	err = umfs_journal_open(fs);
	if (err)
		goto err_free;
	if (flags & UMFS_MOUNT_SHARED) {
		err = inherited ? umfs_share_open_inherited(fs, inherited, &first)
				: umfs_share_open(fs, &first);
		if (err) {
			char what[160];

			snprintf(what, sizeof(what), "lock region in %s", umfs_share_where(fs));
			err = mount_fail(err, what, err == -EPROTO ? "made by another version of the "
					 "library, or damaged, while in use (the log says which)"
							       : strerror(-err));
			goto err_free;
		}
		if (!first)
			flags |= UMFS_MOUNT_NORECOVER; /* live processes: nothing to recover */
	}

	/* A clean state says every journal slot is idle too: only the last
	 * user's unmount, with no transaction open, writes it. */
	needs_recovery = fs->state->state != UMFS_STATE_CLEAN || fs->state->orphan_head != 0;
	if (fs->share && !first)
		umfs_share_counts_take(fs);
	else if (!needs_recovery)
		umfs_alloc_init_kept(fs);
	else
		umfs_alloc_init(fs);
	if (needs_recovery && !(flags & UMFS_MOUNT_NORECOVER)) {
		/* not left clean: its users may be changing it now */
		if (pm->rdonly && pm->fd >= 0 &&
		    umfs_proc_flock_others(pm->st.st_dev, pm->st.st_ino)) {
			err = mount_fail(-EBUSY, "pool", "in use by another process (mounted "
					 "read-only, it needs the pool left clean by its last user)");
			goto err_free;
		}
		if (pm->rdonly) {
			err = mount_fail(-EUCLEAN, "pool", "needs recovery but is mounted read-only");
			goto err_free;
		}
		err = umfs_recover(fs);
		if (err) {
			mount_fail(err, "recovery", "failed (run fsck.umfs)");
			goto err_free;
		}
		/* a crash may have left runtime directories (of this pool, or
		 * of copies of it) that no process uses any more */
		if (fs->share && first)
			(void)umfs_rundir_sweep(fs->sb.uuid, fs->run_id, NULL, NULL);
	} else if (needs_recovery && fs->share && first) {
		/* The first user, but one that holds orphans (descriptors
		 * inherited across exec): undo what dead processes left half
		 * done, keep the orphans and U-Log chains. */
		err = umfs_journal_recover(fs, NULL, NULL);
		umfs_alloc_init(fs);
		if (!err)
			err = umfs_ulog_undo_all(fs, NULL);
		if (err) {
			mount_fail(err, "recovery", "failed (run fsck.umfs)");
			goto err_free;
		}
	}
	if (!fs_phys_base_agrees(fs)) { /* after recovery: on tables a crash left whole */
		err = mount_fail(-EUCLEAN, "superblock", "its physical base does not match the "
				 "page tables (run fsck.umfs)");
		goto err_free;
	}
	if (!pm->rdonly && (!(flags & UMFS_MOUNT_NORECOVER) || (fs->share && first))) {
		umfs_store64_nodrain(&fs->state->state, UMFS_STATE_DIRTY);
		umfs_store64_nodrain(&fs->state->mount_count, fs->state->mount_count + 1);
		umfs_store64_nodrain(&fs->state->last_mount_ns, (uint64_t)umfs_now_ns());
		umfs_drain();
	}
	if (umfs_fs_failed(fs)) { /* a page went while mounting (fault.c) */
		err = mount_fail(umfs_fs_eio(fs), "pool", "a page could not be reached");
		goto err_free;
	}
	if (fs->share) {
		if (first)
			umfs_share_counts_publish(fs); /* after recovery: what others take */
		umfs_share_ready(fs);
		if (!first)
			umfs_settle_sweep(fs);
	}
	*fsp = fs;
	return 0;

err_free:
	fs_free(fs);
	return err;
}

int umfs_fs_attach(struct umfs_pmem *pm, unsigned flags, struct umfs_fs **fsp)
{
	return fs_attach(pm, flags, false, NULL, fsp);
}

int umfs_fs_bind(struct umfs_pmem *pm, unsigned flags, struct umfs_fs **fsp)
{
	return fs_attach(pm, flags, true, NULL, fsp);
}

int umfs_mount(const char *pool_path, unsigned flags, struct umfs_fs **fsp)
{
	struct umfs_pmem pm;
	int err;

	err = umfs_pmem_map(pool_path, 0, flags & UMFS_MOUNT_RDONLY, &pm);
	if (err && umfs_kmod_wanted() > 0) {
		/* every failure is then module mode's; when the module's MOUNT
		 * refuses a device, it logs the reason */
		char why[128];

		snprintf(why, sizeof(why), "module mode (UMFS_KMOD=1): %s%s", strerror(-err),
			 err == -EOPNOTSUPP ? "; the kernel log says why" : "");
		return mount_fail(err, pool_path, why);
	}
	if (err)
		return mount_fail(err, pool_path, strerror(-err));
	return umfs_fs_attach(&pm, flags, fsp);
}

int umfs_mount_inherited(const char *pool_path, const struct umfs_inherited *in, unsigned flags,
			 struct umfs_fs **fsp)
{
	struct umfs_pmem pm;
	int err;

	mount_error[0] = '\0';
	if ((flags & UMFS_MOUNT_SHARED) && (in->run_dfd < 0 || in->lock_fd < 0))
		return mount_fail(-EINVAL, pool_path, "no runtime directory was inherited");
	err = umfs_pmem_map_fd(in->pool_fd, flags & UMFS_MOUNT_RDONLY, &pm);
	if (err)
		return mount_fail(err, pool_path, strerror(-err));
	return fs_attach(&pm, flags, false, in, fsp);
}

int umfs_pool_uuid(const char *pool_path, uint8_t uuid[16])
{
	struct umfs_superblock sb;
	int err;

	err = umfs_pmem_peek(pool_path, &sb, sizeof(sb));
	if (err)
		return err;
	if (sb.magic != UMFS_SB_MAGIC)
		return -EINVAL;
	memcpy(uuid, sb.uuid, 16);
	return 0;
}

/* Files still open at an unmount: their U-Logs go as at a last close. */
static void fs_release_open_ulogs(struct umfs_fs *fs)
{
	umfs_meta_lock(fs);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->vnodes); i++)
		for (struct umfs_vnode *vn = fs->vnodes[i]; vn; vn = vn->next)
			umfs_file_release(fs, vn->ino);
	umfs_meta_unlock(fs);
}

/* The pool left whole: its free counts kept for the next mount, then the
 * state that makes them count. A mount of a clean pool reads no journal
 * slot, so none may be active: under the software backend only slot 0 is
 * ever used. */
static void fs_mark_clean(struct umfs_fs *fs)
{
	if (fs->state->orphan_head != 0 || fs->tx.active ||
	    !umfs_journal_idle(fs, fs->be != &umfs_backend_soft))
		return;
	umfs_alloc_keep(fs);
	umfs_store64_nodrain(&fs->state->state, UMFS_STATE_CLEAN);
	umfs_drain();
}

void umfs_fs_mark_dirty(struct umfs_fs *fs)
{
	umfs_store64_nodrain(&fs->state->state, UMFS_STATE_DIRTY);
	umfs_drain();
}

void umfs_exec_last(struct umfs_fs *fs)
{
	bool clean = false;

	if (!fs->exec_left || !fs->share || fs->pm.rdonly || umfs_fs_failed(fs) ||
	    !umfs_share_exec_alone(fs))
		return;
	/* what the last user's unmount does when nobody died; this process
	 * holds no file, so no U-Log of its own is left to release */
	umfs_settle_sweep(fs);
	if (umfs_share_none_died(fs) && fs->state->orphan_head == 0 &&
	    umfs_pmem_sync(&fs->pm) == 0) {
		fs_mark_clean(fs);
		clean = fs->state->state == UMFS_STATE_CLEAN;
	}
	fs->exec_noted = clean;
	umfs_share_exec_alone_end(fs, clean);
}

int umfs_unmount(struct umfs_fs *fs)
{
	int err = 0;

	if (!fs)
		return -EINVAL;
	if (umfs_fs_failed(fs)) {
		/* cut off the pool (fault.c): what it left is the next user's
		 * to recover, as after a crash */
		err = umfs_fs_eio(fs);
		umfs_share_close(fs, fs->share && umfs_share_last(fs) ? UMFS_SHARE_RETIRE
								 : UMFS_SHARE_STAY);
	} else if (fs->share) {
		/* The last process to leave recovers what dead ones left
		 * (orphans they held, U-Log chains) and marks the pool clean. */
		enum umfs_share_leave how = UMFS_SHARE_STAY;
		bool last, clean = false;

		umfs_share_left_clean(fs);
		last = umfs_share_last(fs);
		if (last && !fs->pm.rdonly) {
			/* what leavers left to settle, and this process's own
			 * files, as their last closes would; the recovery's
			 * scan of every inode is for when someone died */
			umfs_settle_sweep(fs);
			fs_release_open_ulogs(fs);
			clean = umfs_share_none_died(fs);
			if (!clean || fs->state->orphan_head != 0)
				err = umfs_recover(fs);
		}
		if (last && !err && !fs->pm.rdonly) {
			err = umfs_pmem_sync(&fs->pm);
			fs_mark_clean(fs);
		}
		/* a region every user left cleanly holds no lock or count of
		 * anyone's: kept whole, it spares the next first user the
		 * pages a cut region makes it fault in afresh */
		if (last)
			how = clean && !err && !umfs_fs_failed(fs) ? UMFS_SHARE_PARK
								   : UMFS_SHARE_RETIRE;
		umfs_share_close(fs, how);
	} else if (!fs->pm.rdonly && !(fs->flags & UMFS_MOUNT_NORECOVER)) {
		fs_release_open_ulogs(fs);
		err = umfs_pmem_sync(&fs->pm);
		fs_mark_clean(fs);
		if (!err)
			err = umfs_pmem_sync(&fs->pm);
	}
	if (fs->exiting)
		return err; /* the rest is the exit's (umfs_fs_set_exiting) */
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(fs->vnodes); i++) {
		while (fs->vnodes[i]) {
			struct umfs_vnode *vn = fs->vnodes[i];
			fs->vnodes[i] = vn->next;
			pthread_rwlock_destroy(&vn->lock);
			free(vn);
		}
	}
	fs_free(fs);
	return err;
}
