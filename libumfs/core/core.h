/* SPDX-License-Identifier: MIT */
/*
 * core.h - interfaces between the modules of the UMFS core.
 *
 * Layering, bottom up (each file includes only what is below it):
 *   os.c        the table of kernel calls: the core calls the kernel only
 *               through OS(fn) (os.h)
 *   persist.c   the only code that flushes or fences (libpmem); pmap.c maps
 *               pools shared
 *   prefault.c  pool pages made present before the write path stores
 *   crc32c.c    checksums
 *   report.c    damage found while serving, logged once
 *   layout.c    superblock encode/validate, pool geometry, mkfs's format
 *   journal.c   undo-log transactions over byte ranges of the pool
 *   alloc.c     page and inode bitmaps
 *   inode.c     inode create/free/checksum/stat, orphan list
 *   ptable.c    per-file x86-64 page tables
 *   file.c      file data: read, write, truncate, fallocate, seek
 *   dir.c       hashed directories
 *   verify.c    the serving path's check of an inode or directory entry
 *   namei.c     path walk and permission checks
 *   fs.c        mount, unmount, recovery, vnode cache
 *   fault.c     a mapped page that cannot be reached fails the mount (EIO)
 *   backend*.c  how the core reaches the media: the software walk or the
 *               kernel module, one table of ops in fs->be (backend.h)
 *   api_*.c     include/umfs.h and include/umfs_frontend.h
 *
 * Conventions: functions return 0 (or a count) or -errno. "In tx" means the
 * caller holds fs->meta_lock and a transaction is open (umfs_tx_begin).
 * Every byte of pre-existing metadata is snapshotted with umfs_tx_add()
 * before it is changed; freshly allocated pages are declared with
 * umfs_tx_dirty() so that commit persists them.
 */
#ifndef UMFS_CORE_H
#define UMFS_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "os.h"
#include "umfs_frontend.h" /* the C API and what front ends add */
#include "umfs_format.h"
#include "umfs_ptwalk.h" /* the one walk of a file's tables */
#include "umfs_tools.h" /* the part of the core the tools call */

/* The page tables are the x86-64 hardware format and fields are stored
 * little-endian by plain access: UMFS is built for little-endian hosts. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "UMFS stores little-endian fields by direct access: little-endian hosts only"
#endif

/* ------------------------------------------------------------------ */
/* persist.c                                                            */
/* ------------------------------------------------------------------ */

/* Maps the pool through a duplicate of fd, which this process holds. */
int umfs_pmem_map_fd(int fd, bool rdonly, struct umfs_pmem *pm);
/* Reads the first len (<= UMFS_PAGE_SIZE) bytes of a pool file or device. */
int umfs_pmem_peek(const char *path, void *buf, size_t len);
/* pmap.c: maps the pool file or device DAX fd (st: its fstat) whole, shared
 * and writable, into pm->base and pm->len; *is_pmem tells whether it is
 * persistent memory. */
int umfs_pmem_map_shared(int fd, const struct stat *st, struct umfs_pmem *pm, int *is_pmem);

/* Pool bytes the kernel wrote through the pool's descriptor (coldio.c):
 * durable as flushed bytes are, so only a test build's hook hears of them. */
void umfs_persist_written(const void *addr, size_t len);
/* Copies with non-temporal stores where that pays; flushed, not drained. */
void umfs_memcpy_nodrain(void *dst, const void *src, size_t len);
void umfs_memset_nodrain(void *dst, int c, size_t len);
/* One aligned 8-byte store that readers see whole, then flushed. */
void umfs_store64_nodrain(uint64_t *dst, uint64_t val);

/* prefault.c: makes the pages of pool bytes [off, off + len) present in
 * this process before stores to them, many pages per system call, so that
 * they do not fault one by one. A hint: nothing depends on it. */
void umfs_pmem_prefault(struct umfs_pmem *pm, uint64_t off, uint64_t len);
/* Whether every page of [off, off + len) is known present in this process
 * (populated here or by coldio.c); and recording that it is. */
bool umfs_pmem_present(struct umfs_pmem *pm, uint64_t off, uint64_t len);
void umfs_pmem_present_mark(struct umfs_pmem *pm, uint64_t off, uint64_t len);
/* Forgets what was prefaulted (the map goes away). */
void umfs_pmem_prefault_end(struct umfs_pmem *pm);

/*
 * Test hooks exist only in the test variant of the core (umfs_core_test,
 * built with UMFS_TEST_HOOKS and core/testhooks.c): a hook that sees every
 * flush and fence (crash-state tests), and deliberately broken protocols
 * that prove the crash tests can fail. In the core every program, tool and
 * library links, UMFS_PERSIST_HOOK is NULL and UMFS_FAULT(f) false, so the
 * checks compile away.
 */
struct umfs_persist_hook {
	void (*flush)(void *arg, const void *addr, size_t len);
	void (*drain)(void *arg);
	void *arg;
};
enum umfs_fault {
	UMFS_FAULT_NONE,
	UMFS_FAULT_ULOG_NO_FENCE,   /* no fence between the record and the write */
	UMFS_FAULT_SIZE_FIRST,      /* append: size published with the data */
	UMFS_FAULT_RETIRE_EARLY,    /* record retired before the new size */
	UMFS_FAULT_TX_NO_SEAL,      /* journal: a batch of records left unfenced */
	UMFS_FAULT_PAGE_NO_FENCE,   /* page swap: leaf stored with its record */
};
/* Events the test variant counts (umfs_test_count). */
enum umfs_test_event {
	UMFS_TEST_PAGE_SWAP,   /* an overwrite took the spare page */
	UMFS_TEST_UNDO_BYTES,  /* an overwrite saved its old bytes */
	UMFS_TEST_EVENTS
};
#ifdef UMFS_TEST_HOOKS
extern const struct umfs_persist_hook *umfs_persist_hook;
extern enum umfs_fault umfs_fault;
void umfs_persist_hook_set(const struct umfs_persist_hook *hook);
#define UMFS_PERSIST_HOOK umfs_persist_hook
#define UMFS_FAULT(f) UMFS_UNLIKELY(umfs_fault == (f))
extern uint64_t umfs_test_count[UMFS_TEST_EVENTS];
#define UMFS_TEST_COUNT(e) __atomic_add_fetch(&umfs_test_count[e], 1, __ATOMIC_RELAXED)
#else
#define UMFS_PERSIST_HOOK ((const struct umfs_persist_hook *)NULL)
#define UMFS_FAULT(f) 0
#define UMFS_TEST_COUNT(e) ((void)0)
#endif

/* ------------------------------------------------------------------ */
/* crc32c.c                                                             */
/* ------------------------------------------------------------------ */

/* umfs_crc32c() is declared by umfs_rules.h. Whether the CPU has the
 * crc32 instruction (SSE4.2), asked once, at the first checksum. */
bool umfs_crc32c_hw(void);

/* ------------------------------------------------------------------ */
/* report.c                                                             */
/* ------------------------------------------------------------------ */

struct umfs_fs;
/* Logs one line (printf-style) about damage, unless (key, sig) was
 * reported on fs already. key: an inode number, or a directory's with
 * UMFS_DAMAGE_ENTRY for one of its entries; sig tells damages apart. */
#define UMFS_DAMAGE_ENTRY (1ull << 63)
#define UMFS_DAMAGE_DIRSIG 0xd1u /* sig of damage in a directory's blocks or index */
#define UMFS_DAMAGE_TREESIG 0x7eu /* sig of damage in a file's page table */
void umfs_damage_report(struct umfs_fs *fs, uint64_t key, uint32_t sig, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* True when (key, sig) was reported on fs. */
bool umfs_damage_known(struct umfs_fs *fs, uint64_t key, uint32_t sig);
/* Keys of damage in the allocation bitmaps (alloc.c). */
#define UMFS_DAMAGE_PBITMAP (1ull << 62) /* | a page of the page bitmap */
#define UMFS_DAMAGE_IBITMAP (1ull << 61) /* | an inode in use marked free */
/* The first report of a damage also records its kind in the state page's
 * errors word: report only damage that is settled (met under the lock its
 * writers take, or checked again under it). umfs_damage_mark adds the
 * UMFS_ERRORS_* bits `what` to that word, durably (one atomic 8-byte
 * store, persisted); nothing on a read-only mapping. */
void umfs_damage_mark(struct umfs_fs *fs, uint64_t what);
/* verify.c. Reports, once, that inode ino's page table is damaged, and
 * returns -EUCLEAN: for a caller whose -EUCLEAN from the table is final. */
int umfs_file_damaged(struct umfs_fs *fs, uint64_t ino);

/* ------------------------------------------------------------------ */
/* layout.c                                                             */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* fs.c: the mounted pool                                                */
/* ------------------------------------------------------------------ */

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

/* locktab.c: record locks and flock of every front end, in the lock
 * region (or, for a mount without one, in this process's memory). */
#define UMFS_LK_RECS 8192u    /* locked ranges at once, across processes */
#define UMFS_LK_BUCKETS 1024u /* files hash to these */
#define UMFS_LK_WAITERS 256u  /* POSIX owners blocked at once, for EDEADLK */

struct umfs_lk_rec {
	uint32_t next;  /* the bucket's (or the free list's) next, index + 1; 0 ends */
	uint8_t kind;   /* enum umfs_lock_kind; 0: free */
	uint8_t type;   /* F_RDLCK, F_WRLCK */
	uint8_t exec_drop; /* goes when this process's exec succeeds */
	uint8_t pad;
	int32_t pid;    /* what F_GETLK reports */
	uint32_t slot;
	uint64_t ino;
	uint32_t gen;
	uint32_t pad2;
	uint64_t owner, host;
	int64_t start, end; /* inclusive; end INT64_MAX: to any length */
};

struct umfs_lk_bucket {
	uint32_t head;            /* first record, index + 1 */
	_Atomic uint32_t wake;    /* bumped when a lock goes or weakens: the futex */
	_Atomic uint32_t waiters; /* threads asleep on wake */
	uint32_t pad;
};

/* A POSIX owner blocked, and the owner whose lock it waits for. */
struct umfs_lk_waiter {
	uint64_t owner, host; /* owner 0: free */
	uint64_t blocker, blocker_host;
};

/* All zeros is an empty table. */
struct umfs_locktab {
	struct umfs_plock lock;   /* every look and every change */
	uint32_t free_head;       /* freed records, index + 1 */
	uint32_t high;            /* records ever handed out */
	_Atomic uint64_t next_id; /* description ids handed out */
	struct umfs_lk_bucket buckets[UMFS_LK_BUCKETS];
	struct umfs_lk_waiter waiters[UMFS_LK_WAITERS];
	struct umfs_lk_rec recs[UMFS_LK_RECS];
};

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

	/* crash consistency */
	bool relaxed;               /* overwrites in place, without undo */
	bool borrowed;              /* the mapping stays the caller's (umfs_fs_bind) */
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

/* ------------------------------------------------------------------ */
/* fault.c: a page that cannot be reached fails the mount, not the process */
/* ------------------------------------------------------------------ */

enum umfs_fault_area {
	UMFS_FAULT_POOL,   /* the pool, or a view of it: replaced whole */
	UMFS_FAULT_SHARED, /* a shared area of the pool's users: page by page */
};
#define UMFS_FAULT_FAILED 1 /* fs->failed: UMFS_FAULT_FAILED + the area */
/* Watches [addr, addr + len), a mapping of fs with protection prot (name:
 * what it maps, for the log; for a shared area, its path in the runtime
 * directory): -ENOSPC when the process watches too many already. */
int umfs_fault_watch(struct umfs_fs *fs, void *addr, size_t len, int prot,
		     enum umfs_fault_area area, const char *name);
void umfs_fault_unwatch_fs(struct umfs_fs *fs);
/* At mount: the handler (unless UMFS_MOUNT_NOSIGBUS or a front end routes
 * SIGBUS itself), and the pool mapping watched. */
void umfs_fault_mount(struct umfs_fs *fs, unsigned flags);
/* -EIO, saying once in the log why the mount failed. */
int umfs_fs_eio(struct umfs_fs *fs);

static inline bool umfs_fs_failed(const struct umfs_fs *fs)
{
	return UMFS_UNLIKELY(atomic_load_explicit(&fs->failed, memory_order_relaxed) != 0);
}

/* A call's result err, or -EIO when fs failed before it ended. */
static inline int umfs_fs_result(struct umfs_fs *fs, int err)
{
	return umfs_fs_failed(fs) ? umfs_fs_eio(fs) : err;
}

/* The metadata lock: this process's mutex, then, on a shared mount, the
 * lock region's (which rolls back a dead holder's transaction and recounts
 * free space after other processes' changes). */
void umfs_meta_lock(struct umfs_fs *fs);
void umfs_meta_unlock(struct umfs_fs *fs);

/* A file's data lock. Writers exclude each other (across processes on a
 * shared mount); readers share: the rwlock on a private mount, no lock at
 * all on a shared one, where a read that overlapped a write is retried
 * (umfs_vnode_read_begin/retry). */
void umfs_vnode_wrlock(struct umfs_fs *fs, struct umfs_vnode *vn);
void umfs_vnode_wrunlock(struct umfs_fs *fs, struct umfs_vnode *vn);
uint64_t umfs_vnode_read_begin(struct umfs_fs *fs, struct umfs_vnode *vn);
bool umfs_vnode_read_retry(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t seq);

/* rundir.c: the pool's runtime directory (see there). umfs_rundir_open
 * finds or makes it (fs->run_dfd, run_id, run_path); close removes it with
 * remove, if only the lock region is left in it. */
#define UMFS_RUNDIR_LOCK "lock" /* the lock region's name in it */
int umfs_rundir_open(struct umfs_fs *fs);
/* Takes a duplicate of dfd, inherited, as the runtime directory: it must
 * be the one the state page names, and pass the same checks. */
int umfs_rundir_adopt(struct umfs_fs *fs, int dfd);
void umfs_rundir_close(struct umfs_fs *fs, bool remove);
/* procfs.c: reads the small file path (relative to dfd, or absolute) into
 * buf, NUL-terminated; returns the bytes read, or -errno. errno is kept. */
ssize_t umfs_proc_read(int dfd, const char *path, char *buf, size_t size);
/* From /proc/<pid>/stat, /proc/<tid>/stat or thread-self: the state letter
 * (field 3) and the low 32 bits of the start time (field 22). False when
 * /proc cannot tell: not mounted, hidden, or the task is gone. */
bool umfs_proc_stat(const char *stat_path, char *state, uint32_t *start);

/* log.c: messages to the front end's log (umfs_log_set). */
void umfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* share.c: the lock region in the runtime directory (see there). */
struct umfs_share;
/* Where the region lives, for messages. */
const char *umfs_share_where(const struct umfs_fs *fs);
/* Opens (first: creates or rebuilds) the region; *first when no other
 * process uses the pool, which then holds the gate for writing. */
int umfs_share_open(struct umfs_fs *fs, bool *first);
/* The same through inherited descriptors (umfs_mount_inherited). */
int umfs_share_open_inherited(struct umfs_fs *fs, const struct umfs_inherited *in, bool *first);
/* Lets the others in (after recovery). */
void umfs_share_ready(struct umfs_fs *fs);
/* At unmount: true when no other process uses the pool (the gate is then
 * held for writing until umfs_share_close). */
bool umfs_share_last(struct umfs_fs *fs);
void umfs_share_close(struct umfs_fs *fs, bool remove);
/* Around fork: the parent opens a gate description for the child, which
 * takes it as its own; when the parent cannot (it changed credentials
 * since it mounted), both share the parent's and say so (gate_shared). */
void umfs_share_fork_prepare(struct umfs_fs *fs);
void umfs_share_fork_parent(struct umfs_fs *fs);
void umfs_share_fork_child(struct umfs_fs *fs);
void umfs_share_meta_enter(struct umfs_fs *fs);
void umfs_share_meta_exit(struct umfs_fs *fs);
void umfs_share_wrlock(struct umfs_fs *fs, uint64_t ino);
void umfs_share_wrunlock(struct umfs_fs *fs, uint64_t ino);
uint64_t umfs_share_read_begin(struct umfs_fs *fs, uint64_t ino);
bool umfs_share_read_retry(struct umfs_fs *fs, uint64_t ino, uint64_t seq);
/* Counts holders of an open inode across processes (meta_lock held);
 * umfs_share_held: whether anybody holds it. */
void umfs_share_hold(struct umfs_fs *fs, uint64_t ino, int delta);
bool umfs_share_held(const struct umfs_fs *fs, uint64_t ino);
/* A process leaving without closing ino (gen) was its last holder: what
 * the last close would do (the U-Log goes, an unlinked file is freed) is
 * left to the next process that joins (umfs_settle_sweep), since another
 * thread of the leaver may still be in the file. Under meta; at most
 * UMFS_SHARE_SETTLE_CAP wait, more are the last user's recovery's. */
#define UMFS_SHARE_SETTLE_CAP 64
void umfs_share_settle_add(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
size_t umfs_share_settle_take(struct umfs_fs *fs, uint64_t *ino, uint32_t *gen, size_t cap);
/* The metadata lock in the region (tests forge its holder; everything
 * after it in the file is the region's body, the header before it). */
struct umfs_plock *umfs_share_meta_plock(struct umfs_fs *fs);
struct umfs_locktab *umfs_share_locktab(struct umfs_fs *fs);
void umfs_locktab_free(struct umfs_fs *fs);
/* Locks taken over from dead holders since the region was made. */
uint64_t umfs_share_takeovers(const struct umfs_fs *fs);

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
/* Does what the last close of each file umfs_share_settle_add names would
 * have done, for those nobody holds now (api_frontend.c). */
void umfs_settle_sweep(struct umfs_fs *fs);

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
static inline uint64_t umfs_pte_make(const struct umfs_fs *fs, uint64_t off, uint64_t flags)
{
	return (off + fs->phys_base) | flags;
}

/* ------------------------------------------------------------------ */
/* journal.c                                                            */
/* ------------------------------------------------------------------ */

int umfs_journal_open(struct umfs_fs *fs);  /* binds slot 0 to fs->tx */
void umfs_journal_close(struct umfs_fs *fs);
/* Sequence numbers of this process's next transactions: above every
 * number another process may have reserved so far. */
void umfs_tx_seq_renew(struct umfs_fs *fs);

/* Snapshots [addr, addr+len) before the caller changes it. -ENOSPC when the
 * slot is full: the caller aborts, or commits and continues in a new tx. */
int umfs_tx_add(struct umfs_fs *fs, const void *addr, size_t len);
/* umfs_tx_add without the fence: the caller changes none of the ranges it
 * saved before umfs_tx_seal (or any umfs_tx_add) has returned, so that the
 * records of one call share one fence. */
int umfs_tx_save(struct umfs_fs *fs, const void *addr, size_t len);
void umfs_tx_seal(struct umfs_fs *fs);
/* Declares a range changed without a snapshot (fresh pages): persisted at commit. */
int umfs_tx_dirty(struct umfs_fs *fs, const void *addr, size_t len);
/* Journal bytes still free in the slot, less what commit will need to
 * apply the pending page frees. */
size_t umfs_tx_room(const struct umfs_fs *fs);

/* Runs step(fs, arg) in successive transactions, each under meta_lock,
 * while it returns 1 (stopped early for journal room); 0 when done. A
 * negative return aborts that transaction and is returned. Each step must
 * leave a valid state, since a crash may fall between transactions. */
int umfs_tx_loop(struct umfs_fs *fs, int (*step)(struct umfs_fs *fs, void *arg), void *arg);

/* Snapshot-then-store helper for a single field. */
int umfs_tx_set64(struct umfs_fs *fs, uint64_t *field, uint64_t val);

/* ------------------------------------------------------------------ */
/* alloc.c: page bitmap and inode bitmap                                 */
/* ------------------------------------------------------------------ */

/* Journal bytes that freeing count pages from first takes at commit: a
 * record for each bitmap word and each checksum the run changes. */
size_t umfs_page_free_cost(uint64_t first, uint64_t count);
/* In tx. Allocates one page, preferring goal (a page number) and then the
 * pages after it, so that sequential data stays contiguous. */
int umfs_page_alloc(struct umfs_fs *fs, uint64_t goal, uint64_t *page);
/* In tx. Allocates up to want contiguous pages starting at or after goal;
 * *got is at least 1 on success. */
int umfs_page_alloc_run(struct umfs_fs *fs, uint64_t goal, uint64_t want, uint64_t *first,
			uint64_t *got);
/* In tx. Allocates one page the library is about to write through its
 * mapping (a page-table, directory, symlink or U-Log page), present in this
 * process (alloc.c says where such pages come from, and why). */
int umfs_page_alloc_meta(struct umfs_fs *fs, uint64_t *page);
/* In tx. Saves, without sealing, the bitmap words that allocating count
 * data pages from goal, and a metadata page if meta, would change. */
void umfs_page_alloc_presave(struct umfs_fs *fs, uint64_t goal, uint64_t count, bool meta);
/* In tx. Allocates 512 contiguous pages, 2 MiB aligned in the pool. -ENOSPC if none. */
int umfs_page_alloc_huge(struct umfs_fs *fs, uint64_t *first);
/* In tx. Frees count pages from first; takes effect at commit, so that a
 * page freed by a transaction is never reused by the same transaction. */
int umfs_page_free(struct umfs_fs *fs, uint64_t first, uint64_t count);
/* Applies pending frees (called by commit). */
int umfs_page_free_apply(struct umfs_fs *fs);
bool umfs_page_is_used(const struct umfs_fs *fs, uint64_t page);

int umfs_ino_alloc(struct umfs_fs *fs, uint64_t *ino); /* in tx */
/* In tx: picks a free inode and saves (unsealed) it and its bitmap word;
 * nothing changes until umfs_ino_take, which marks it used (and seals). */
int umfs_ino_reserve(struct umfs_fs *fs, uint64_t *ino);
int umfs_ino_take(struct umfs_fs *fs, uint64_t ino);
int umfs_ino_free(struct umfs_fs *fs, uint64_t ino);   /* in tx */
/* Saves (unsealed) the bitmap word umfs_ino_free would change (in tx): for
 * a caller that may free ino later in the tx, so that the record shares
 * an earlier fence. */
int umfs_ino_free_save(struct umfs_fs *fs, uint64_t ino);
bool umfs_ino_is_used(const struct umfs_fs *fs, uint64_t ino);

/* ------------------------------------------------------------------ */
/* inode.c                                                              */
/* ------------------------------------------------------------------ */

static inline struct umfs_inode *umfs_inode(const struct umfs_fs *fs, uint64_t ino)
{
	return &fs->inodes[ino];
}
/* True when ino is in range, allocated and has a mode. */
bool umfs_inode_live(const struct umfs_fs *fs, uint64_t ino);

/* In tx. Allocates and initialises an inode (directories get an empty
 * index with parent as ".."). */
/* umfs_inode_create of an inode named name in directory parent (in tx):
 * the records of the inode, its bitmap word and the directory's change
 * share one fence. */
int umfs_inode_create_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			    uint64_t parent, const char *name, size_t len, uint64_t *inop);
int umfs_inode_create(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		      uint64_t parent, uint64_t *ino);
/* Puts an inode with nlink 0 on the orphan list (in tx). */
int umfs_inode_orphan(struct umfs_fs *fs, uint64_t ino);
/* Frees an orphan's pages, U-Log and inode, in as many transactions as it
 * takes. Takes meta_lock itself; the caller must not hold it. gen is the
 * generation the caller saw when it chose to reclaim (under meta_lock):
 * nothing is done once the inode was freed or reused meanwhile. Safe to
 * repeat after a crash (the orphan list remembers). */
int umfs_inode_reclaim(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* Under meta_lock: whether ino is still live with generation gen. */
bool umfs_inode_reclaim_due(const struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* In tx: frees an unnamed, unheld inode that owns no pages; -EAGAIN when it
 * owns pages (orphan it and reclaim it after the transaction). */
int umfs_inode_free_unused(struct umfs_fs *fs, uint64_t ino);
void umfs_inode_stat(const struct umfs_fs *fs, uint64_t ino, struct stat *st);
/* A DT_* value (S_IFMT >> 12) of a file type the format knows: FIFO 1,
 * CHR 2, DIR 4, BLK 6, REG 8, LNK 10, SOCK 12. */
static inline bool umfs_dtype_known(unsigned type)
{
	return type < 16 && (0x1556u >> type & 1);
}

/* ------------------------------------------------------------------ */
/* ptable.c: per-file page tables                                        */
/* ------------------------------------------------------------------ */

/* File page index of a byte offset */
#define UMFS_PG(off) ((uint64_t)(off) >> UMFS_PAGE_SHIFT)
#define UMFS_MAX_FILE_PAGES (UMFS_MAX_FILE_SIZE >> UMFS_PAGE_SHIFT)

/* The pool offset of file page pg in *off, 0 for a hole. When run is
 * non-NULL it gets a number of pages from pg on that are contiguous in the
 * pool and inside the data zone (at least 1; may be less than the longest
 * run, which keeps small reads cheap; for a hole, the number of hole pages
 * that follow, at least 1). Every entry on the way is decoded by the
 * format's rule (umfs_pte_decode): a root, table or leaf that does not
 * name what its level allows inside the data zone gives -EUCLEAN, and no
 * offset. On a shared mount a reader may also see that while a writer
 * changes the tree: it retries before it believes it. */
int umfs_pt_lookup(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
		   uint64_t *off, uint64_t *run);
/* The same as one value, for tests and tools that treat damage as a hole:
 * the offset, or 0 for a hole or damage. */
static inline uint64_t umfs_pt_offset(const struct umfs_fs *fs, const struct umfs_inode *in,
				      uint64_t pg, uint64_t *run)
{
	uint64_t off;

	return umfs_pt_lookup(fs, in, pg, &off, run) ? 0 : off;
}

/* 0 when every entry on the way to pages [first, last] decodes, else
 * -EUCLEAN: for a change that must not stop half way on damage. */
int umfs_pt_check_range(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last);
/* As umfs_pt_check_range, and every table and leaf page on the way is
 * marked used in the page bitmap: for a change that frees them. */
int umfs_pt_check_owned(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last);

#define UMFS_PTMAP_HUGE 0x1u /* may map a whole 2 MiB leaf if the region is empty */
#define UMFS_PTMAP_ZERO 0x2u /* zero freshly allocated data pages */
#define UMFS_PTMAP_META 0x4u /* the page is metadata: umfs_page_alloc_meta */
/* In tx. Makes file page pg present, growing the tree as needed. Returns 1
 * when the page was freshly allocated, 0 when it existed, or -errno. With
 * UMFS_PTMAP_HUGE, a fresh 2 MiB leaf maps all 512 pages of its region. On
 * an error the tree is unchanged, except that it may have grown taller. */
int umfs_pt_map(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned flags,
		uint64_t *off);
/* In tx. Saves what mapping the holes of pages [first, last] most likely
 * changes (the inode, the table entries, the bitmap words its pages come
 * from) and seals it all with one fence, so that umfs_pt_map's own saves
 * of these ranges cost none. A change it did not foresee is saved and
 * sealed where it happens, as without it. */
void umfs_pt_map_presave(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			 uint64_t last);
/* In tx. Unmaps and frees every page with index >= first_pg, last pages
 * first, until the transaction has less than UMFS_TX_SLACK bytes left.
 * Returns 1 when it stopped early (commit, begin, call again), 0 when done. */
int umfs_pt_truncate(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first_pg);
/* In tx. Frees the pages in [first, last] (punch hole); same return rule. */
int umfs_pt_punch(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last);
/* First present page >= pg, or UINT64_MAX; UMFS_PT_DAMAGED when a
 * damaged entry comes first (both scans). */
#define UMFS_PT_DAMAGED (UINT64_MAX - 1)
uint64_t umfs_pt_next_data(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg);
/* First hole page >= pg (UMFS_MAX_FILE_PAGES if none). */
uint64_t umfs_pt_next_hole(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg);
#define UMFS_TX_SLACK 4096

/* ------------------------------------------------------------------ */
/* file.c: file data                                                     */
/* ------------------------------------------------------------------ */

/* The caller holds vn->lock (read for read, write for the others). */
ssize_t umfs_file_read(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len, uint64_t off);
/* The same walk, with the present runs copied by copy(arg, dst, offset in
 * the pool, offset in the file, n) instead of from the pool mapping; holes
 * read as zeros. */
typedef void (*umfs_read_copy_fn)(void *arg, void *dst, uint64_t pool_off, uint64_t file_off,
				  size_t n);
ssize_t umfs_file_read_runs(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len,
			    uint64_t off, umfs_read_copy_fn copy, void *arg);
ssize_t umfs_file_write(struct umfs_fs *fs, uint64_t ino, const void *buf, size_t len,
			uint64_t off);
int umfs_file_truncate(struct umfs_fs *fs, uint64_t ino, uint64_t size);
int umfs_file_fallocate(struct umfs_fs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len);
/* SEEK_DATA / SEEK_HOLE */
int64_t umfs_file_seek(struct umfs_fs *fs, uint64_t ino, int64_t off, int whence);

/* ------------------------------------------------------------------ */
/* dir.c: hashed directories (all calls with meta_lock held)              */
/* ------------------------------------------------------------------ */

/* Module mode, internal to libumfs: a directory change needs pages that
 * only the module may map, between transactions (dir.c). Never returned
 * past the api layer. */
#define UMFS_EDIRPAGES (-EXFULL)

/* The bounds of a directory's bookkeeping that every directory function
 * relies on; damage here is -EUCLEAN. */
static inline bool umfs_dir_info_sane(const struct umfs_inode *in)
{
	const struct umfs_dir_info *d = &in->dir;

	if (d->nblocks > UMFS_DIR_MAX_BLOCKS || d->gdepth > UMFS_DIR_MAX_DEPTH ||
	    d->nbuckets > UMFS_DIR_MAX_BUCKETS)
		return false;
	if (d->nbuckets == 0)
		return d->nblocks <= 1 && d->gdepth == 0;
	return d->nbuckets <= (1ull << d->gdepth);
}
/* 0 with *ino (and *type, may be NULL) set; "." and ".." resolve to dir and
 * dir.parent; -ENOENT, -ENAMETOOLONG, -ENOTDIR, or -EUCLEAN on damage. */
int umfs_dir_lookup(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino, unsigned char *type);
/* The same, for a name the caller's walk found missing under the lock it
 * still holds: no second lookup. */
int umfs_dir_add_new(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     uint64_t ino, unsigned char type);
/* In tx. Removes the name; *ino gets what it named. -ENOENT if absent. The
 * page of a one-block directory that becomes empty is freed (at commit;
 * software mode only: the module frees a directory's pages at rmdir). */
int umfs_dir_remove(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino);
/* In tx. Points an existing name at another inode (rename over a name). */
int umfs_dir_retarget(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      uint64_t ino, unsigned char type);
/* Next entry at or after *cookie ("." and ".." first); returns 1 and
 * advances *cookie, 0 at the end, -errno on a damaged directory. */
int umfs_dir_next(struct umfs_fs *fs, uint64_t dir, uint64_t *cookie, struct umfs_dirent *ent);

/* ------------------------------------------------------------------ */
/* verify.c: the serving path's checks                                   */
/* ------------------------------------------------------------------ */

/* 0 when inode ino may be handed to a caller: in use, a known file type,
 * its identity checksum, and the ranges the core relies on. -EUCLEAN
 * (logged once) when it is damaged. locked: the caller holds meta_lock
 * (without it, a failure is checked again under it: a transaction of
 * another process may have been half done). */
int umfs_inode_verify(struct umfs_fs *fs, uint64_t ino, bool locked);
/* meta_lock held. The same for the inode that entry name of directory dir
 * names (type: the entry's DT_* type; ".." for dir's parent): -EUCLEAN
 * also when the entry names no inode in use, says another type, or names
 * a directory whose ".." is not dir (a directory has one name). */
int umfs_dentry_verify(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		       uint64_t ino, unsigned char type);

/* ------------------------------------------------------------------ */
/* namei.c: path walk and permissions                                    */
/* ------------------------------------------------------------------ */

#define UMFS_SYMLOOP_MAX 40
#define NGROUPS_MAX_SMALL 256 /* supplementary groups consulted per check */

struct umfs_walk {
	uint64_t parent;            /* directory holding the last component */
	uint64_t ino;               /* 0 when the last component does not exist */
	const char *name;           /* last component (in path or buf); "" for the root */
	size_t name_len;
	bool trailing_slash;        /* the path ended in '/': must be a directory */
	char buf[2 * (UMFS_SYMLINK_MAX + 1) + 4096]; /* expanded symlinks */
	char tmp[2 * (UMFS_SYMLINK_MAX + 1) + 4096];
};

/* A walk for one call (a per-thread spare: no malloc); give it back with
 * umfs_walk_put (NULL is fine). */
struct umfs_walk *umfs_walk_get(void);
void umfs_walk_put(struct umfs_walk *w);

#define UMFS_WALK_NOFOLLOW 0x1u  /* do not follow a symlink in the last component */
#define UMFS_WALK_PARENT 0x2u    /* the last component may be missing */
#define UMFS_WALK_NAME 0x4u      /* the call acts on the name itself (mkdir, unlink,
				  * rename...): never follow the last component,
				  * even with a trailing slash; callers judge the slash */
#define UMFS_WALK_SECOND 0x8u    /* the second path of a call: a relative one starts
				  * at the thread's second base (umfs_walk_from) */

/* Resolves path with meta_lock held. */
int umfs_walk(struct umfs_fs *fs, const char *path, unsigned flags, struct umfs_walk *w);
/* Resolves rel from the directory at base (a path from the pool root,
 * walked without restrictions) under openat2's rules (UMFS_RESOLVE_*). */
int umfs_walk_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned flags,
		      unsigned resolve, struct umfs_walk *w);

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

/* ------------------------------------------------------------------ */
/* Crash consistency (ulog.c, cow.c, and additions to fs.c,            */
/* ptable.c, file.c)                                                     */
/* ------------------------------------------------------------------ */

/* ptable.c. The entry slot of file page pg in the table of `level` (1: the
 * 4 KiB leaves, 2: the 2 MiB entries), or NULL when that table does not
 * exist or the path leaves the data zone: safe on a damaged tree. */
uint64_t *umfs_pt_slot_find(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			    unsigned level);
/* ptable.c. In tx. The slot of pg at `level`, creating what is missing:
 * the tree grows, empty tables are added, and a 2 MiB leaf on the way to a
 * level-1 slot is split into a table of 4 KiB leaves. */
int umfs_pt_slot_make(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned level,
		      uint64_t **slot);

/* ulog.c: the per-file U-Log. The file's vnode lock is held for all but
 * umfs_file_release() and the recovery calls. */
/* Default size limit of a byte record; larger overwrites copy on write. */
#define UMFS_ULOG_BYTES_DEFAULT (16u * UMFS_ULOG_DATA_SIZE)

/* The U-Log chain of ino with room for a byte record of len bytes,
 * allocating or extending it. -ENOSPC when the pool has no page for it. */
int umfs_ulog_get(struct umfs_fs *fs, uint64_t ino, uint64_t len, struct umfs_ulog **ulog);
/* Saves the current bytes [off, off + len) of the file (all present) as the
 * valid undo record, with the file size old_size; durable on return.
 * -EUCLEAN, with nothing saved, when the chain or the file's tree over the
 * range is damaged. */
int umfs_ulog_save_bytes(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t ino, uint64_t off,
			 uint64_t len, uint64_t old_size);
/* Starts a swap record for pages [pg, pg + n), the new pages in orphan aux. */
void umfs_ulog_save_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t pg, uint64_t n,
			 uint64_t old_size, uint64_t aux);
/* The head of ino's chain with a spare page (ulog->spare), allocating
 * what is missing. -ENOSPC when the pool has no page for them. */
int umfs_ulog_spare_get(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog **ulog);
/* Gives the file page at byte pos, whose 4 KiB leaf entry is *slot, the
 * chain's spare page filled with buf's 4096 bytes, under a PAGE record
 * (fenced with the bytes); the old page becomes the spare. The leaf and
 * the spare are stored and flushed, not drained: the caller's fence makes
 * the write durable, then it retires the record. */
void umfs_ulog_page_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t *slot, uint64_t pos,
			 uint64_t size, const void *buf);
/* Retires the record: one 8-byte store, flushed, not drained. */
void umfs_ulog_retire(struct umfs_ulog *u);
/* Retires a PAGE record whose write is durable: the store alone (settling
 * it again would change nothing). */
void umfs_ulog_retire_lazy(struct umfs_ulog *u);
/* Exchanges the next pages of a swap record with the orphan's, in as many
 * transactions as it takes (forward), or exchanges the done ones back
 * (!forward). Takes meta_lock. */
int umfs_ulog_swap(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool forward);
/*
 * Copy-on-write replacement of bytes [a, b) of a file (strict mode, large
 * overwrites): the pages [PG(a), PG(b - 1)] are built anew in an orphan
 * inode, then exchanged with the file's under a U-Log swap record. On
 * success the record is still valid: the caller publishes the new size,
 * retires the record (umfs_ulog_retire + fence), then calls umfs_cow_end()
 * to free the old pages. On failure the file is as it was.
 */
struct umfs_cow {
	uint64_t ino;
	uint64_t a, b;          /* the bytes replaced */
	const uint8_t *buf;     /* their new content; NULL: zeros */
	bool holes;             /* pages replaced whole become holes (punch) */
	uint64_t old_size;      /* restored if the write is rolled back */
	/* set by umfs_cow_begin() */
	uint64_t pa, pb, shadow;
	struct umfs_ulog *u;
};
int umfs_cow_begin(struct umfs_fs *fs, struct umfs_cow *c);
void umfs_cow_end(struct umfs_fs *fs, struct umfs_cow *c);
/* Undoes a valid record of ino (restores bytes or swaps back, restores the
 * size) and retires it. Takes meta_lock. 0, or -EUCLEAN for a record that
 * fails validation (left alone). */
int umfs_ulog_rollback(struct umfs_fs *fs, uint64_t ino);
/* In tx: frees ino's U-Log chain and clears inode->ulog; unless force,
 * not while a record is in flight (-EBUSY). */
int umfs_ulog_free(struct umfs_fs *fs, uint64_t ino, bool force);
/* file.c: finishes a truncate a crash interrupted (UMFS_IF_TRUNC): frees
 * the pages past EOF and clears the flag. Takes meta_lock. */
int umfs_file_trunc_finish(struct umfs_fs *fs, uint64_t ino);
/* At the last close of ino in this process (meta_lock held, no tx open):
 * releases the U-Log. */
void umfs_file_release(struct umfs_fs *fs, uint64_t ino);
/*
 * For a process that finds another one died in the core (shared pools):
 * rolls back every valid U-Log record (the dead writer's write in flight)
 * and keeps the chains, which live processes may be using. Call it without
 * meta_lock, after umfs_journal_recover(), while no live process can be in
 * a write.
 */
int umfs_ulog_undo_all(struct umfs_fs *fs, struct umfs_recover_stats *st);

#endif /* UMFS_CORE_H */
