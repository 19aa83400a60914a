/* SPDX-License-Identifier: MIT */
/*
 * fs.h - the mounted pool (fs.c): struct umfs_fs, its transaction state
 * and vnodes, the metadata and data locks, and the pool's offsets.
 *
 * Conventions of every core header: functions return 0 (or a count) or
 * -errno. "In tx" means the caller holds fs->meta_lock and a transaction
 * is open (umfs_tx_begin). Every byte of pre-existing metadata is
 * snapshotted with umfs_tx_add() before it is changed; freshly allocated
 * pages are declared with umfs_tx_dirty() so that commit persists them.
 */
#ifndef UMFS_CORE_FS_H
#define UMFS_CORE_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "umfs_frontend.h" /* the C API and what front ends add */
#include "umfs_format.h"
#include "umfs_ptwalk.h" /* the one walk of a file's tables */
#include "umfs_tools.h" /* the part of the core the tools call */

struct umfs_share;
struct umfs_locktab;
struct umfs_coldio;

/* The page tables are the x86-64 hardware format and fields are stored
 * little-endian by plain access: UMFS is built for little-endian hosts. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "UMFS stores little-endian fields by direct access: little-endian hosts only"
#endif

struct umfs_vnode {
	uint64_t ino;
	int opencount;         /* umfs_file objects in this process */
	bool handed;           /* its hold goes to the next image (exec) */
	pthread_rwlock_t lock; /* file data: readers share, writers exclude */
	struct umfs_vnode *next;
};

struct umfs_tx_range {
	void *addr;
	size_t len;
	size_t rec_pos; /* record of its snapshot in the slot; 0: no snapshot */
};

struct umfs_tx {
	bool active;
	uint64_t seq;
	uint64_t seq_limit;    /* seqs below this are reserved on media */
	struct umfs_jslot_hdr *hdr;
	uint8_t *slot;         /* start of the slot (header first) */
	size_t slot_size;
	size_t used;           /* bytes of the slot used, header included */
	size_t flushed;        /* records before this offset are flushed */
	bool unsealed;         /* records saved since the last fence */
	struct umfs_tx_range *ranges; /* changed ranges, persisted at commit */
	size_t nranges, cap_ranges;
	uint64_t *frees;       /* (first page, count) pairs, applied at commit */
	size_t nfrees, cap_frees;
	size_t frees_cost;     /* journal bytes that applying the frees will take */
	int64_t pages_delta;   /* allocator counts to undo on abort */
	int64_t inodes_delta;
	/* run after the rollback of an abort: the backend gives back what it
	 * made outside this tx for it (an inode the module created) */
	void (*undo)(struct umfs_fs *fs, uint64_t arg);
	uint64_t undo_arg;
	/* the directory pages a change stopped for (dir.c, UMFS_EDIRPAGES) */
	uint64_t dir_need_ino, dir_need_first, dir_need_count;
};

#define UMFS_DAMAGE_SEEN 32
#define UMFS_BSUM_REFUSED 8 /* refused bitmap pages remembered (more are checked again) */

struct umfs_fs {
	struct umfs_pmem pm;
	const struct umfs_backend_ops *be; /* how the core reaches the media (backend.h) */
	uint8_t *base;
	struct umfs_superblock sb;  /* validated copy */
	struct umfs_superblock *sbp;
	struct umfs_state *state;
	struct umfs_inode *inodes;
	uint64_t *ibitmap;
	uint64_t *pbitmap;
	uint64_t data_off, data_pages, inode_count, phys_base;
	struct umfs_ptgeom geom;    /* where table entries may point (umfs_rules.h) */
	dev_t dev;                  /* st_dev reported for this pool (from its UUID) */
	unsigned flags;             /* UMFS_MOUNT_* */

	pthread_mutex_t meta_lock;  /* transactions and the namespace */
	_Atomic uint64_t meta_seq;  /* a private mount's umfs_meta_read count */
	struct umfs_tx tx;

	uint64_t free_pages, free_inodes;
	uint64_t page_cursor, ino_cursor; /* next-fit hints */
	uint64_t meta_cursor;       /* metadata pages are taken at or below it */
	/* alloc.c: the page bitmap's checksums (NULL: the pool has none), the
	 * words this process took bits from last with the values it left
	 * there, and bitmap pages refused for a checksum mismatch */
	uint64_t *bsum;
	uint64_t pbitmap_words;
	struct { uint64_t word, val; } bsum_seen[2];
	unsigned bsum_next_seen;
	uint64_t bsum_refused[UMFS_BSUM_REFUSED];
	unsigned bsum_nrefused;

	pthread_mutex_t vnode_lock;
	struct umfs_vnode *vnodes[256];
	bool vnode_holds_gone;      /* left the pool: opens count in no region */
	bool vnode_holds_handed;    /* an exec under way hands them on */
	bool exec_left;             /* counted as left for an exec under way */
	bool exec_noted;            /* and noted the pool clean for it (umfs_exec_last) */
	_Atomic uint64_t stripe_pages; /* the lock region's stripe pages this process wrote */

	/* crash consistency */
	bool relaxed;               /* overwrites in place, without undo */
	bool borrowed;              /* the mapping stays the caller's (umfs_fs_bind) */
	bool exiting;               /* the process ends after unmount (umfs_fs_set_exiting) */
	uint64_t ulog_seq;          /* last U-Log record number handed out */
	uint64_t ulog_max;          /* overwrites up to this size use a byte record */
	bool page_swap;             /* whole-page overwrites swap in the U-Log's spare */
	struct umfs_recover_stats recovery; /* what the last recovery did */

	/* the runtime directory of a UMFS_MOUNT_SHARED mount (rundir.c) */
	int run_dfd;                /* -1: none */
	uint64_t run_id;            /* its id, as named in the state page */
	char run_path[128];

	/* the lock region of a UMFS_MOUNT_SHARED mount (share.c) */
	struct umfs_share *share;   /* NULL: this process's locks only */
	struct umfs_locktab *locktab_own; /* without a share: this process's table */
	int share_fd;               /* holds the gate (an OFD lock) */
	bool gate_shared;           /* share_fd's description may be another live process's */
	int fork_share_fd;          /* a gate description of its own for the next child */
	uint64_t share_epoch;       /* the region's epoch our counts match */
	bool share_changed;         /* a transaction ran under the current turn */
	bool mirrored;              /* this process mirrors its own changes (umfs_fs_mirror) */

	/* coldio.c: how this process reaches data pages it has not mapped;
	 * NULL: always through the mapping */
	struct umfs_coldio *cold;

	/* report.c: damage already reported (key, signature), so that a
	 * damaged inode is logged once, not at every call that meets it */
	struct { uint64_t key; uint32_t sig; } damage_seen[UMFS_DAMAGE_SEEN];
	unsigned damage_next;

	/* fault.c: a page of the pool or of a shared area could not be
	 * reached: 0, or UMFS_FAULT_FAILED + the area; every call answers
	 * -EIO from then on */
	_Atomic int failed;
	_Atomic uint64_t fail_off;  /* where in the area */
	const char *_Atomic fail_name; /* the area */
	_Atomic bool fail_said;     /* logged */
};

/* The metadata lock: this process's mutex, then, on a shared mount, the
 * lock region's (which rolls back a dead holder's transaction and recounts
 * free space after other processes' changes). */
void umfs_meta_lock(struct umfs_fs *fs);
void umfs_meta_unlock(struct umfs_fs *fs);
/* The unlock between two transactions of one long change (a fallocate of
 * gigabytes, a truncation): a process that waits for the lock meanwhile
 * takes it before this one takes it back. */
void umfs_meta_unlock_step(struct umfs_fs *fs);

/*
 * Reads of the namespace and of attributes without the metadata lock, so
 * that threads and processes that only look (stat, a path walk) do not
 * wait for each other. Every holder of the lock makes a count odd as it
 * takes it and even as it leaves (one in the lock region, on a shared
 * mount); look() runs first without the lock and its answer stands when
 * the count was even before and the same after: no holder came in between,
 * so nothing it read was half changed. Otherwise (a holder came, or look()
 * met what looks like damage, which only a check under the lock may
 * report) look() runs again under the lock. look() must write nothing but
 * its arg, and overwrite all of that at each run.
 */
int umfs_meta_read(struct umfs_fs *fs, int (*look)(struct umfs_fs *fs, void *arg), void *arg);
/* Nonzero while this thread reads without the lock: what looks like damage
 * is neither reported nor checked again there (report.c, verify.c). */
extern __thread unsigned umfs_meta_unlocked;

/* A file's data lock. Writers exclude each other (across processes on a
 * shared mount); readers share: the rwlock on a private mount, no lock at
 * all on a shared one, where a read that overlapped a write is retried
 * (umfs_vnode_read_begin/retry). */
void umfs_vnode_wrlock(struct umfs_fs *fs, struct umfs_vnode *vn);
void umfs_vnode_wrunlock(struct umfs_fs *fs, struct umfs_vnode *vn);
uint64_t umfs_vnode_read_begin(struct umfs_fs *fs, struct umfs_vnode *vn);
bool umfs_vnode_read_retry(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t seq);

/* Finds or creates the vnode of ino and counts one more opener. */
struct umfs_vnode *umfs_vnode_get(struct umfs_fs *fs, uint64_t ino);
/* Drops one opener; returns the remaining count. */
int umfs_vnode_put(struct umfs_fs *fs, struct umfs_vnode *vn);
/* Number of openers of ino in this process (0 when none). */
int umfs_vnode_opencount(struct umfs_fs *fs, uint64_t ino);
/* The process leaves the pool with files still open (an exit that closes
 * nothing in the core): the lock region stops counting it as a holder of
 * each, so that another process's last close releases what it would. */
void umfs_vnode_holds_drop(struct umfs_fs *fs);
/* An exec hands this process's holds to the image that follows: lists them
 * (at most cap; -E2BIG hands none, -EBUSY when another thread's exec has
 * them) and marks them, so that a last close here leaves the hold for that
 * image to drop. umfs_vnode_holds_take_back ends it for one ino: true when
 * its vnode is still here (the hold is this image's again), false when the
 * caller must drop the hold; umfs_vnode_holds_handed_end after the last. */
int umfs_vnode_holds_hand(struct umfs_fs *fs, struct umfs_held *out, size_t cap);
bool umfs_vnode_holds_take_back(struct umfs_fs *fs, uint64_t ino);
void umfs_vnode_holds_handed_end(struct umfs_fs *fs);
/* The pool's state page says in use (dirty), durably: for a process that
 * joins a pool its last user left clean by exec (share.c). */
void umfs_fs_mark_dirty(struct umfs_fs *fs);

/* Mounts a pool already mapped in *pm (ownership passes to the fs, also on
 * failure). umfs_mount() is map + attach. Recovery runs unless
 * UMFS_MOUNT_NORECOVER is given. */
int umfs_fs_attach(struct umfs_pmem *pm, unsigned flags, struct umfs_fs **fsp);

/* Pool offsets, pages and pointers. Data pages are numbered from 0 at data_off. */
static inline void *umfs_off_ptr(const struct umfs_fs *fs, uint64_t off)
{
	return fs->base + off;
}
static inline uint64_t umfs_ptr_off(const struct umfs_fs *fs, const void *p)
{
	return (uint64_t)((const uint8_t *)p - fs->base);
}
static inline uint64_t umfs_page_off(const struct umfs_fs *fs, uint64_t page)
{
	return fs->data_off + (page << UMFS_PAGE_SHIFT);
}
static inline void *umfs_page_ptr(const struct umfs_fs *fs, uint64_t page)
{
	return fs->base + umfs_page_off(fs, page);
}
/* True when off is a page-aligned offset inside the data zone. */
static inline bool umfs_off_is_page(const struct umfs_fs *fs, uint64_t off)
{
	return umfs_off_is_data_page(fs->data_off, fs->data_pages, off);
}
static inline uint64_t umfs_off_page(const struct umfs_fs *fs, uint64_t off)
{
	return (off - fs->data_off) >> UMFS_PAGE_SHIFT;
}
/* Table entries hold phys_base + pool offset. */
static inline uint64_t umfs_pte_off(const struct umfs_fs *fs, uint64_t pte)
{
	return (pte & UMFS_PTE_ADDR_MASK) - fs->phys_base;
}

/* The largest file this pool allows (umfs_max_file_size): 256 TiB with
 * INCOMPAT_LEVEL4, 512 GiB without; past it writes give EFBIG. */
static inline uint64_t umfs_fs_max_size(const struct umfs_fs *fs)
{
	return umfs_max_file_size(&fs->geom);
}

static inline uint64_t umfs_fs_max_pages(const struct umfs_fs *fs)
{
	return umfs_fs_max_size(fs) >> UMFS_PAGE_SHIFT;
}

static inline uint64_t umfs_pte_make(const struct umfs_fs *fs, uint64_t off, uint64_t flags)
{
	return (off + fs->phys_base) | flags;
}

#endif /* UMFS_CORE_FS_H */
