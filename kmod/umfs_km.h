/* SPDX-License-Identifier: GPL-2.0 */
/*
 * umfs_km.h - internal declarations of the UMFS kernel module.
 *
 * Lock order: mmap_lock -> umfs_km_pool_rwsem (the pool mapping's mmap
 * handler); mmap_lock -> umfs_km_att_lock -> mm->page_table_lock. Nothing
 * takes mmap_lock or touches user memory while holding the pool rwsem.
 */
#ifndef UMFS_KM_H
#define UMFS_KM_H

#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/stat.h>
#include <linux/types.h>

#include "../include/umfs_format.h"
#include "../include/umfs_kmod.h"
#include "../include/umfs_ptwalk.h"

#define UMFS_KM_NAME "umfs"

/* Table addresses at or above this are "parked" during a rebase (no real
 * physical address is that high); see pool_rebase.c. */
#define UMFS_KM_PARK (1ull << 50)

/* ------------------------------------------------------------------ */
/* The mounted pool                                                      */
/* ------------------------------------------------------------------ */

struct umfs_km_pool {
	struct dax_device *dax;       /* fsdax: the pmem block device's */
	struct file *devdax;          /* device DAX: the device, held open */
	struct dev_pagemap *pgmap;    /* device DAX: its pages, held */
	void *kaddr;          /* direct-map address of pool offset 0 */
	u64 phys;             /* physical address of pool offset 0 */
	unsigned long pfn;    /* its page frame number */
	u64 size;             /* bytes the device gives (>= pool_size) */
	/* geometry copied from the validated superblock */
	u64 pool_size, data_off, data_pages, inode_off, inode_count, ibitmap_off, pbitmap_off;
	/* the module's journal slot (the last; 0 = none) and its allocator,
	 * all under alloc_lock */
	struct mutex alloc_lock;
	u32 kslot, kslot_size;
	u64 kslot_off;
	u64 kseq, kseq_limit; /* sequence numbers reserved on the slot */
	u64 kcursor;          /* next-fit cursor over the data pages */
	u64 state_off;        /* the state page (orphan list head) */
	struct umfs_jgeom jgeom; /* what the module's journal records may name */
	u64 icursor;          /* next-fit cursor over the inode bitmap */
	u64 bsum_off;         /* page-bitmap checksums; 0: the pool has none */
	u64 pbitmap_words;
	struct umfs_ptgeom geom; /* where its tables point, how its trees may be (umfs_rules.h) */
	bool bsum_warned;     /* a bitmap page failed its checksum: said once */
	bool ibit_warned;     /* an inode in use was marked free: said once */
};

extern struct umfs_km_pool *umfs_km_pool; /* NULL when nothing is mounted */
extern struct rw_semaphore umfs_km_pool_rwsem;

static inline void *umfs_km_off_ptr(const struct umfs_km_pool *p, u64 off)
{
	return (u8 *)p->kaddr + off;
}

/* The format's walk over the pool's direct map. */
static inline struct umfs_ptwalk umfs_km_ptwalk(const struct umfs_km_pool *p)
{
	return (struct umfs_ptwalk){ .base = p->kaddr, .g = &p->geom };
}

/* File pages the pool lets a file have: 2^27 (512 GiB), or 2^36 (256 TiB)
 * with level-4 tables. */
static inline u64 umfs_km_max_pages(const struct umfs_km_pool *p)
{
	return umfs_max_file_size(&p->geom) >> UMFS_PAGE_SHIFT;
}

/* Whether inode in may keep its level-1 entries inline (a regular file of
 * a pool with INCOMPAT_INLINE_TABLE). */
static inline bool umfs_km_inline_ok(const struct umfs_km_pool *p, const struct umfs_inode *in)
{
	return umfs_inline_allowed(&p->geom, in->mode);
}

static inline bool umfs_km_is_inline(const struct umfs_inode *in)
{
	return in->pt_height == UMFS_PT_INLINE;
}

/* The tree holds no page: no root, and no inline entry. */
static inline bool umfs_km_tree_empty(const struct umfs_inode *in)
{
	unsigned int i;

	if (in->pt_root)
		return false;
	for (i = 0; umfs_km_is_inline(in) && i < UMFS_PT_INLINE_ENTRIES; i++)
		if (in->pt_inline[i])
			return false;
	return true;
}

static inline bool umfs_km_off_is_data_page(const struct umfs_km_pool *p, u64 off)
{
	return umfs_off_is_data_page(p->data_off, p->data_pages, off);
}

int umfs_km_pool_mount(struct umfs_kmod_mount *req);
int umfs_km_pool_unmount(void);
void umfs_km_pool_free(struct umfs_km_pool *p);

/* devdax.c: the pool on a device DAX; -ENOTBLK if path is not one */
int umfs_km_devdax_map(struct umfs_km_pool *p, const char *path);
void umfs_km_devdax_put(struct umfs_km_pool *p);

/* crc32c.c: umfs_crc32c() of umfs_rules.h; its table is built at load. */
void umfs_km_crc32c_init(void);

/* superblock.c */
int umfs_km_sb_check(const struct umfs_superblock *sb, u64 dev_size);
void umfs_km_persist(void *addr, size_t len);

/* inode.c: a snapshot of an in-use inode, checked. */
int umfs_km_inode_get(const struct umfs_km_pool *p, u64 ino, struct umfs_inode *out);

/* tree.c: walks of a file's page tree. */
enum umfs_km_walk_mode {
	UMFS_KM_WALK_CHECK,   /* validate only */
	UMFS_KM_WALK_PARK,    /* rewrite entries to UMFS_KM_PARK + offset */
	UMFS_KM_WALK_UNPARK,  /* rewrite entries to new_base + offset */
};

struct umfs_km_walk {
	const struct umfs_km_pool *pool;
	enum umfs_km_walk_mode mode;
	u64 lo_base;            /* base of entries below UMFS_KM_PARK */
	bool park_ok;           /* parked entries are accepted */
	u64 new_base;           /* UNPARK target */
	bool init_ptlocks;      /* initialise the ptlock of every table page */
	unsigned long *seen;    /* one bit per data page (duplicates), or NULL */
	u64 stop_after;         /* test hook: -EINTR after this many rewrites */
	u64 tables, leaves, rewritten;
};

/* Walks the tree of inode ino, whose checked snapshot is in; an inline
 * table is walked (and rewritten) in the live inode. */
int umfs_km_tree_walk(struct umfs_km_walk *w, u64 ino, const struct umfs_inode *in);
/* Pool offset an entry points at, under walk w's rules; -EUCLEAN if bad. */
int umfs_km_entry_off(const struct umfs_km_walk *w, u64 e, u64 *off);

/* The form an entry must have at `level` (tree.c); 0 if it matches none. */
u64 umfs_km_entry_form(unsigned int level, u64 e);
/* Initialises the ptlock of the table page at pool offset off. */
void umfs_km_ptlock_init(const struct umfs_km_pool *p, u64 off);
/* Checked pool offset of entry e of a live table at `level`, and whether it
 * is a 2 MiB leaf; -EUCLEAN if it is not a valid entry. */
int umfs_km_child(const struct umfs_km_pool *p, u64 e, unsigned int level, u64 *off, bool *huge);

static inline u64 *umfs_km_bitmap(const struct umfs_km_pool *p)
{
	return umfs_km_off_ptr(p, p->pbitmap_off);
}

static inline u64 *umfs_km_ibitmap(const struct umfs_km_pool *p)
{
	return umfs_km_off_ptr(p, p->ibitmap_off);
}

/* Data page number of pool offset off (a checked data page offset). */
static inline u64 umfs_km_off_page(const struct umfs_km_pool *p, u64 off)
{
	return (off - p->data_off) >> UMFS_PAGE_SHIFT;
}

static inline u64 umfs_km_page_entry(const struct umfs_km_pool *p, u64 page, u64 flags)
{
	return (p->phys + p->data_off + (page << UMFS_PAGE_SHIFT)) | flags;
}

/* ktx.c: the module's transactions in its journal slot. */
struct umfs_km_tx {
	struct umfs_km_pool *p;
	struct umfs_jslot_hdr *hdr;
	u64 seq;
	u32 used, nrecs;
	u64 allocated; /* pages taken from the bitmap (alloc.c) */
};
/* Takes the module's slot (the last, if there are two or more) and the
 * rules of its records from a validated superblock. */
void umfs_km_tx_setup(struct umfs_km_pool *p, const struct umfs_superblock *sb);
int umfs_km_tx_recover(struct umfs_km_pool *p, u64 *restored);
int umfs_km_tx_begin(struct umfs_km_tx *tx, struct umfs_km_pool *p);
u32 umfs_km_tx_room(const struct umfs_km_tx *tx);
int umfs_km_tx_add(struct umfs_km_tx *tx, u64 off, u32 len);
int umfs_km_tx_commit(struct umfs_km_tx *tx);
void umfs_km_tx_abort(struct umfs_km_tx *tx);

/* A metadata call on one inode (EXTEND, SETATTR, FREE): the pool held
 * (rwsem read), its alloc_lock taken, a checked snapshot of the inode whose
 * generation matches, and the live inode the transaction changes. */
struct umfs_km_op {
	struct umfs_km_pool *p;
	struct umfs_km_tx tx;
	struct umfs_inode snap;  /* checked copy */
	struct umfs_inode *in;   /* the live inode */
	u64 ino, ino_off;
	bool inode_saved;
};
/* 0 with everything held, else nothing held. */
int umfs_km_op_begin(struct umfs_km_op *op, u64 ino, u32 generation);
/* The same without an inode (CREATE): the pool and its alloc_lock. */
int umfs_km_op_lock(struct umfs_km_op *op);
/* Points op at live inode ino (the caller checked it). */
void umfs_km_op_set_inode(struct umfs_km_op *op, u64 ino);
void umfs_km_op_end(struct umfs_km_op *op);
/* Saves the inode (every field the module writes) once. */
int umfs_km_op_save_inode(struct umfs_km_op *op);
/* Saves the live inode at pool offset off in tx: its first 128 bytes
 * (blocks, the tree root, the checksum), and for a regular file the rest
 * too, where its inline entries are. */
int umfs_km_inode_save(struct umfs_km_tx *tx, u64 off);
/* Points the live inode at a new root and reseals it. */
void umfs_km_op_set_root(struct umfs_km_op *op, u64 root, unsigned int height);
/* While root's libumfs maps the pool it writes inodes and allocation state
 * under a lock the module cannot see: only CAP_SYS_ADMIN may then call. */
int umfs_km_op_poolmap_check(void);
/* What besides a regular file a call may change the pages of. */
#define UMFS_KM_CHECK_SYMLINK 0x1u /* one the caller owns, or CAP_FOWNER */
#define UMFS_KM_CHECK_DIR 0x2u     /* one the caller may add names to */
/* EXTEND's and FREE's rule: a regular file the caller may write, or what
 * `also` (UMFS_KM_CHECK_*) admits, and the pool-mapping rule above. */
int umfs_km_op_check_write(const struct umfs_inode *in, unsigned int also);

/* alloc.c: pages and tables for the live inode `in` in transaction tx,
 * which has saved it (umfs_km_inode_save). */
/* Takes a run of up to `want` free pages, at `goal` if it is free, else at
 * the first free page from the cursor on; in->blocks grows by *got. */
int umfs_km_alloc_run(struct umfs_km_tx *tx, struct umfs_inode *in, u64 goal, u64 want,
		      u64 *first, u64 *got);
/* The same, for pages no tree counts (U-Log pages): only the bitmap. */
int umfs_km_bits_take(struct umfs_km_tx *tx, u64 goal, u64 want, u64 *first, u64 *got);
/* Gives data page `page` back to the bitmap; -EUCLEAN if it is free. */
int umfs_km_bits_give(struct umfs_km_tx *tx, u64 page);
/* The page bitmap's checksums (umfs_rules.h), kept by every change of a
 * bitmap word in the same transaction: umfs_km_bsum_save saves those of
 * words [w0, w1] in tx, umfs_km_bit_put then sets or clears bit i and
 * moves its checksum with it. */
int umfs_km_bsum_save(struct umfs_km_tx *tx, u64 w0, u64 w1);
void umfs_km_bit_put(struct umfs_km_pool *p, u64 i, bool on);
/* Adds the UMFS_ERRORS_* bits `what` to the state page's errors word,
 * durably: fsck.umfs then checks the pool fully. */
void umfs_km_errors_mark(struct umfs_km_pool *p, u64 what);
/* Zeroes and persists `n` pool pages from data page `first`. */
void umfs_km_zero_pages(struct umfs_km_pool *p, u64 first, u64 n);
/* Points the live inode at a new root and reseals it. */
void umfs_km_inode_set_root(struct umfs_inode *in, u64 root, unsigned int height);
/* Makes the tree cover file page last, with a top table of level
 * min_height at least, and not empty (a height-0 tree's root is a zeroed
 * data page; a regular file of pages below 17 gets an inline table as
 * libumfs's ptable.c makes one). -EFBIG past the pool's tallest tree. */
int umfs_km_tree_cover(struct umfs_km_tx *tx, struct umfs_inode *in, u64 last,
		       unsigned int min_height);
int umfs_km_slot_walk(struct umfs_km_tx *tx, struct umfs_inode *in, u64 pg, unsigned int level,
		      bool make, u64 **slot);

/* extend.c, setattr.c, free.c, exchange.c */
int umfs_km_extend(struct umfs_kmod_extend *req);
int umfs_km_setattr(struct umfs_kmod_setattr *req);
int umfs_km_free(struct umfs_kmod_free *req);
int umfs_km_exchange(struct umfs_kmod_exchange *req);
/* create.c, ulog.c */
int umfs_km_create(struct umfs_kmod_create *req);
int umfs_km_inode_release(struct umfs_kmod_release *req);
int umfs_km_ulog(struct umfs_kmod_ulog *req);
/* uoff is an allocated data page stamped as a U-Log page of ino and
 * generation (magic, ino, generation, csum). */
bool umfs_km_ulog_page_ok(const struct umfs_km_pool *p, u64 uoff, u64 ino, u32 generation);
/* The U-Log chain of the live inode: up to UMFS_ULOG_MAX_PAGES checked
 * page offsets (allocated, stamped for ino and generation); stops at a bad
 * link, setting *cut. Returns the count. */
unsigned int umfs_km_ulog_chain(const struct umfs_km_pool *p, const struct umfs_inode *in,
				u64 ino, u64 *offs, bool *cut);
/* Gives the chain's pages back (tx), and clears the inode's ulog field
 * (its first 128 bytes must be saved). */
int umfs_km_ulog_drop(struct umfs_km_tx *tx, struct umfs_inode *in, const u64 *offs,
		      unsigned int n);

/* perm.c */
int umfs_km_perm_check(const struct umfs_inode *in, bool want_write);
/* Write permission alone (RELEASE: nothing is mapped or read). */
int umfs_km_perm_write(const struct umfs_inode *in);
/* Write and search permission on a directory (creating a name in it). */
int umfs_km_perm_dir_write(const struct umfs_inode *dir);
bool umfs_km_is_owner(const struct umfs_inode *in);

/* ------------------------------------------------------------------ */
/* Attachments                                                          */
/* ------------------------------------------------------------------ */

/* One mmu_notifier per mm (shared by every open of /dev/umfs in it). */
struct umfs_km_mn {
	struct mmu_notifier mn;
	struct list_head atts; /* umfs_km_att.mm_link, under umfs_km_att_lock */
};

/* Per open of /dev/umfs. */
struct umfs_km_ctx {
	struct mm_struct *mm;      /* the opener's mm (grabbed) */
	struct umfs_km_mn *kmn;    /* its notifier (a reference) */
	struct mutex lock;         /* serialises ATTACH on this file */
	struct umfs_km_att *pending; /* the attachment vm_mmap is creating */
};

struct umfs_km_att {
	refcount_t refs;           /* the vma's and the ioctl's */
	struct list_head mm_link;  /* in kmn->atts */
	struct list_head all_link; /* in umfs_km_all_atts */
	struct mm_struct *mm;      /* grabbed */
	struct umfs_km_mn *kmn;    /* the mm's notifier (the ctx holds it) */
	struct task_struct *owner; /* the task inside ATTACH, until mapped */
	u64 ino;
	u32 generation;
	bool rw;
	bool spliced;              /* PUD entries in place */
	bool linked;               /* on the lists */
	unsigned long addr;        /* vma start */
	unsigned int nslots;       /* PUD entries covered */
	unsigned int npud;         /* PUD pages they lie in (512 GiB each) */
	pud_t **pudp;              /* entry 0 of each of those PUD pages */
	u64 *vals;                 /* PUD values to write, nslots of them */
	struct page *promo[2];     /* DRAM tables of a promoted small file */
};

extern spinlock_t umfs_km_att_lock;
extern struct list_head umfs_km_all_atts;
extern const struct vm_operations_struct umfs_km_vm_ops;

/* counters.c */
struct umfs_km_counters {
	atomic64_t live, spliced, attaches, detaches, unsplices, revokes, promoted, tlb_flushes,
		pud_pages, poolmaps, extends, extend_pages, setattrs, frees, freed_pages,
		exchanges, exchange_pages, exchange_tables, creates, releases, ulog_pages;
};
extern struct umfs_km_counters umfs_km_cnt;
void umfs_km_stats_fill(struct umfs_kmod_stats *st);

/* attach.c */
int umfs_km_attach(struct file *file, struct umfs_km_ctx *ctx, struct umfs_kmod_attach *req);
int umfs_km_detach(struct umfs_km_ctx *ctx, u64 addr);
int umfs_km_mmap(struct file *file, struct vm_area_struct *vma);
unsigned long umfs_km_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags);
void umfs_km_att_put(struct umfs_km_att *att);

/* poolmap.c: root's mapping of the whole pool */
bool umfs_km_is_poolmap(unsigned long pgoff);
int umfs_km_poolmap(struct vm_area_struct *vma);

/* promote.c: a height-2 view of a file of height 0 or 1 or of an inline
 * table, in DRAM pages. */
int umfs_km_promote(const struct umfs_km_pool *p, const struct umfs_inode *in,
		    struct umfs_km_att *att);
void umfs_km_promote_free(struct umfs_km_att *att);
/* The live inline table of inode ino gained leaves: its spliced
 * attachments' DRAM copies get them too (under umfs_km_att_lock). */
void umfs_km_promote_refresh(const struct umfs_km_pool *p, u64 ino,
			     const struct umfs_inode *in);

/* splice.c: edits of a process's page table (att_lock and the mm's
 * page_table_lock are taken inside, in that order, unless noted). */
/* Splices att (caller holds mmap_lock); -EAGAIN if a REVOKE of its inode
 * ran since the caller read umfs_km_revoke_seq(att->ino) as seq. */
int umfs_km_splice(struct umfs_km_att *att, u64 seq);
/* Caller holds umfs_km_att_lock and flushes TLBs (umfs_km_tlb_flush_all)
 * before dropping it when this returns true. */
bool umfs_km_unsplice_locked(struct umfs_km_att *att);
void umfs_km_tlb_flush_all(void);
/* REVOKE's sequence numbers, one per hash of the inode number, bumped
 * under umfs_km_att_lock: a REVOKE sends back the ATTACHes in flight of
 * its inode, and of the inodes that share its slot (1 in 256), not every
 * ATTACH of the pool. */
#define UMFS_KM_REVOKE_SEQ_BITS 8
extern u64 umfs_km_revoke_seqs[1u << UMFS_KM_REVOKE_SEQ_BITS];
static inline u64 *umfs_km_revoke_seq(u64 ino)
{
	return &umfs_km_revoke_seqs[hash_64(ino, UMFS_KM_REVOKE_SEQ_BITS)];
}

/* revoke.c */
int umfs_km_revoke(u64 ino, u64 *count);

/* notifier.c */
struct umfs_km_mn *umfs_km_mn_get(struct mm_struct *mm);
void umfs_km_mn_put(struct umfs_km_mn *kmn);
void umfs_km_mn_sync(void);

#endif /* UMFS_KM_H */
