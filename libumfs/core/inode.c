/* SPDX-License-Identifier: MIT */
/*
 * inode.c - inode life cycle: create, checksum, orphan list, reclaim, stat.
 *
 * An inode whose last name goes away while a process has it open is put on
 * the orphan list (state page head, linked through next_orphan) in the same
 * transaction that drops nlink to 0. Its pages are freed by
 * umfs_inode_reclaim() at the last close, or by the next mount's recovery
 * after a crash, so no space is ever lost with the process.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "inode.h"
#include "alloc.h"
#include "backend.h"
#include "crc32c.h"
#include "dir.h"
#include "journal.h"
#include "os.h"
#include "ptable.h"
#include "ulog.h"

bool umfs_inode_live(const struct umfs_fs *fs, uint64_t ino)
{
	return ino >= UMFS_ROOT_INO && ino < fs->inode_count && umfs_ino_is_used(fs, ino) &&
	       fs->inodes[ino].mode != 0;
}

/*
 * The checksum of the identity block (umfs_rules.h). Every inode the
 * serving path hands out is checked with it (verify.c), so with SSE4.2 it
 * is built in registers: one crc32 instruction per word of the block.
 */
#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t inode_csum_hw(const struct umfs_inode *in)
{
	uint64_t c = 0xffffffffu;

	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 0));
	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 1));
	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 2));
	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 3));
	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 4));
	c = _mm_crc32_u64(c, umfs_inode_id_word(in, 5));
	return ~(uint32_t)c;
}
#endif

uint32_t umfs_inode_csum(const struct umfs_inode *in)
{
#if defined(__x86_64__)
	if (umfs_crc32c_hw())
		return inode_csum_hw(in);
#endif
	return umfs_inode_id_csum(in);
}

void umfs_inode_seal(struct umfs_inode *in)
{
	in->csum = umfs_inode_csum(in);
}

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	umfs_os_clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t umfs_now_ns(void)
{
	return now_ns(CLOCK_REALTIME);
}

int64_t umfs_now_coarse_ns(void)
{
	return now_ns(CLOCK_REALTIME_COARSE);
}

int umfs_inode_create(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		      uint64_t parent, uint64_t *inop)
{
	return fs->be->inode_create(fs, mode, uid, gid, rdev, parent, inop);
}

int umfs_inode_create_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			    uint64_t parent, const char *name, size_t len, uint64_t *inop)
{
	return fs->be->inode_create_named(fs, mode, uid, gid, rdev, parent, name, len, inop);
}

/* Fills in a new inode (reserved and taken, its record sealed). */
static int inode_init(struct umfs_fs *fs, uint64_t ino, mode_t mode, uid_t uid, gid_t gid,
		      dev_t rdev, uint64_t parent)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint32_t generation = in->generation + 1; /* kept across reuse: stale handles notice */
	int64_t now = umfs_now_ns();
	int err;

	memset(in, 0, sizeof(*in));
	in->mode = (uint32_t)mode;
	in->nlink = S_ISDIR(mode) ? 2 : 1;
	in->uid = (uint32_t)uid;
	in->gid = (uint32_t)gid;
	in->rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? (uint64_t)rdev : 0;
	in->atime_ns = in->mtime_ns = in->ctime_ns = in->btime_ns = (uint64_t)now;
	in->generation = generation ? generation : 1;
	if (S_ISDIR(mode)) {
		in->dir.parent = parent;
		err = umfs_dir_init(fs, ino);
		if (err)
			return err;
	}
	umfs_inode_seal(in);
	return 0;
}

/* The software backend's inode_create and inode_create_named, from the
 * core's bitmap. A name is written before the inode it names: both are in
 * this transaction, under the metadata lock, so that the undo records of
 * entry, inode and bitmap share one fence. */
static int inode_make(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		      uint64_t parent, const char *name, size_t len, uint64_t *inop)
{
	uint64_t ino;
	int err;

	err = umfs_ino_reserve(fs, &ino);
	if (!err && name)
		err = umfs_dir_add_new(fs, parent, name, len, ino, umfs_mode_to_dtype(mode));
	if (!err)
		err = umfs_ino_take(fs, ino);
	if (!err)
		err = inode_init(fs, ino, mode, uid, gid, rdev, parent);
	if (!err)
		*inop = ino;
	return err;
}

int umfs_inode_make(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		    uint64_t parent, uint64_t *inop)
{
	return inode_make(fs, mode, uid, gid, rdev, parent, NULL, 0, inop);
}

int umfs_inode_make_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			  uint64_t parent, const char *name, size_t len, uint64_t *inop)
{
	return inode_make(fs, mode, uid, gid, rdev, parent, name, len, inop);
}

int umfs_inode_orphan(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err;

	if (in->flags & UMFS_IF_ORPHAN)
		return 0;
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	in->flags |= UMFS_IF_ORPHAN;
	in->next_orphan = fs->state->orphan_head;
	return umfs_tx_set64(fs, &fs->state->orphan_head, ino);
}

/* Unlinks ino from the orphan list (in tx). The walk is bounded so that a
 * damaged list cannot loop. */
static int orphan_unlink(struct umfs_fs *fs, uint64_t ino)
{
	uint64_t *link = &fs->state->orphan_head;

	for (uint64_t steps = 0; *link && steps < fs->inode_count; steps++) {
		if (*link == ino)
			return umfs_tx_set64(fs, link, umfs_inode(fs, ino)->next_orphan);
		if (*link >= fs->inode_count)
			return -EUCLEAN;
		link = &umfs_inode(fs, *link)->next_orphan;
	}
	return -ENOENT;
}

int umfs_orphan_unlink(struct umfs_fs *fs, uint64_t ino)
{
	return orphan_unlink(fs, ino);
}

/* Last step of reclaim: the inode goes back to the free pool. */
static int inode_free(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint32_t generation = in->generation;
	int err;

	if (in->flags & UMFS_IF_ORPHAN) {
		err = orphan_unlink(fs, ino);
		if (err && err != -ENOENT)
			return err;
	}
	err = umfs_ulog_free(fs, ino, true);
	if (err)
		return err;
	/* the inode's record shares the fence of the bitmap word's */
	err = umfs_tx_save(fs, in, sizeof(*in));
	if (!err)
		err = umfs_ino_free(fs, ino);
	if (err)
		return err;
	memset(in, 0, sizeof(*in));
	in->generation = generation;
	return 0;
}

/* In tx: frees at once an inode whose last name this transaction removed,
 * when it owns no pages and nobody holds it open (the caller checked): no
 * orphan list entry and no second transaction, which an unlink of an empty
 * file would otherwise cost. -EAGAIN: it has pages, reclaim it later. */
int umfs_inode_free_unused(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);

	if (in->pt_root || in->blocks || in->nlink || !umfs_inode_live(fs, ino) ||
	    umfs_inode_csum(in) != in->csum)
		return -EAGAIN;
	/* -EAGAIN too from a backend that frees inodes outside transactions */
	return fs->be->tx_inode_free(fs, ino);
}

/* The software backend's tx_inode_free. */
int umfs_inode_free_tx(struct umfs_fs *fs, uint64_t ino)
{
	return inode_free(fs, ino);
}

/*
 * Whether inode ino is still the one a caller chose to reclaim, generation
 * gen: the choice is made before the steps that free it, each under its own
 * turn of the metadata lock, and meanwhile another process (or thread) that
 * let go of the same orphan may have freed it, and a create may have given
 * its number to a new file, which must keep its pages and its name. A new
 * inode has a new generation. Under meta_lock.
 */
bool umfs_inode_reclaim_due(const struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	return umfs_inode_live(fs, ino) && umfs_inode(fs, ino)->generation == gen;
}

struct reclaim_arg {
	uint64_t ino;
	uint32_t gen;
};

/* One transaction of reclaim: free pages from the end, then the inode;
 * nothing once the inode is no longer the one to reclaim. */
static int reclaim_step(struct umfs_fs *fs, void *arg)
{
	const struct reclaim_arg *r = arg;
	int more;

	if (!umfs_inode_reclaim_due(fs, r->ino, r->gen))
		return 0;
	more = umfs_pt_truncate(fs, umfs_inode(fs, r->ino), 0);
	return more ? more : inode_free(fs, r->ino);
}

int umfs_inode_reclaim(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	bool due, sealed;

	umfs_meta_lock(fs);
	due = umfs_inode_reclaim_due(fs, ino, gen);
	/* the tree is walked and freed: its root must be the sealed one */
	sealed = due && umfs_inode_csum(in) == in->csum;
	umfs_meta_unlock(fs);
	if (!due)
		return 0; /* another user of the pool reclaimed it first */
	return sealed ? fs->be->inode_reclaim(fs, ino, gen) : -EUCLEAN;
}

/* The software backend's inode_reclaim. */
int umfs_inode_reclaim_pages(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	struct reclaim_arg r = { .ino = ino, .gen = gen };

	return umfs_tx_loop(fs, reclaim_step, &r);
}

static struct timespec ns_to_ts(uint64_t ns)
{
	int64_t v = (int64_t)ns;
	struct timespec ts = { .tv_sec = v / 1000000000, .tv_nsec = v % 1000000000 };

	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

void umfs_inode_stat(const struct umfs_fs *fs, uint64_t ino, struct stat *st)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);

	memset(st, 0, sizeof(*st));
	st->st_dev = fs->dev;
	st->st_ino = ino;
	st->st_mode = in->mode;
	st->st_nlink = in->nlink;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_rdev = in->rdev;
	st->st_size = (off_t)in->size;
	st->st_blksize = UMFS_PAGE_SIZE;
	st->st_blocks = (blkcnt_t)(in->blocks * (UMFS_PAGE_SIZE / 512));
	st->st_atim = ns_to_ts(in->atime_ns);
	st->st_mtim = ns_to_ts(in->mtime_ns);
	st->st_ctim = ns_to_ts(in->ctime_ns);
}

unsigned char umfs_mode_to_dtype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return DT_REG;
	case S_IFDIR: return DT_DIR;
	case S_IFLNK: return DT_LNK;
	case S_IFCHR: return DT_CHR;
	case S_IFBLK: return DT_BLK;
	case S_IFIFO: return DT_FIFO;
	case S_IFSOCK: return DT_SOCK;
	default: return DT_UNKNOWN;
	}
}
