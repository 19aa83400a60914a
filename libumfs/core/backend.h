/* SPDX-License-Identifier: MIT */
/*
 * backend.h - how the core reaches the media: one table of operations,
 * chosen when the pool is mapped and kept in fs->be for the mount.
 *
 *   umfs_backend_soft  the core's own software walk: it maps the pool
 *                      itself and allocates, frees and writes every field in
 *                      its own transactions (backend_soft.c names the core
 *                      functions that do it)
 *   umfs_backend_kmod  the kernel module (/dev/umfs, docs/kmod.md): the
 *                      module owns both bitmaps, inode identities and the
 *                      security fields, and maps each open file
 *                      (backend_kmod.c)
 *
 * Rules: the core never asks which backend it runs on; it calls an op.
 * Each op says when it is called ("in tx": meta_lock held, a transaction
 * open). The tx_* ops are what a backend that changes the media only
 * outside transactions declines, as each says; the core then does without
 * (or stops for pages, see tx_dir_page). Every op returns 0 (or a count)
 * or -errno, like the rest of the core.
 * docs/design.md ("Backends") lists what a new backend implements.
 */
#ifndef UMFS_BACKEND_H
#define UMFS_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct umfs_cow;
struct umfs_fs;
struct umfs_inode;
struct umfs_out;
struct umfs_pmem;
struct umfs_recover_stats;
struct umfs_ucred;
struct umfs_ulog;
struct umfs_vnode;

/* One open file's attachment (docs/kmod.md "Using it from libumfs"): the
 * per-open-file state of a backend that maps files (unused in software).
 * The data paths use it only for pages the file's table shows present; a
 * fault (a REVOKE by any process) is caught and the bytes are copied
 * through the pool mapping instead. */
struct umfs_katt {
	pthread_rwlock_t lock; /* users share; (re)attach and detach exclude */
	uint8_t *base;         /* file offset o is at base + o; NULL: none */
	uint64_t len;
	uint64_t gen;          /* umfs_kmod_fork_gen() when attached */
	int flags;             /* the open flags (access mode) */
	uint8_t height;        /* pt_height when attached: taller needs a new one */
	bool dead;             /* faulted or raced a writer: attach again */
	unsigned fails;        /* refused attaches: stop asking after a few */
};
void umfs_katt_init(struct umfs_katt *a, int flags);

struct umfs_backend_ops {
	const char *name;

	/* --- properties --- */
	/* The core's page and inode allocator (alloc.c) may change the
	 * bitmaps; false: they are the backend's alone, and a core path that
	 * reaches the allocator is refused (-EPERM). */
	bool core_allocates;
	/* The media may change without this process's meta_lock (another
	 * writer below the library): the serving path's checks settle a
	 * failure before reporting damage. */
	bool unlocked_writers;
	/* Each file's permissions are enforced below the library, so the pool
	 * file's own mode exposes nothing (umfs_fs_exposure). */
	bool checks_files;
	/* Pool pages this process is about to read through the pool mapping
	 * may be made present ahead (prefault.c); false where the backend
	 * maps the media itself. */
	bool prefaults;
	/* A file page's leaf entry may be swapped by one store in the pool
	 * (U-Log PAGE records): false where the tables are also the hardware's
	 * (module attachments), whose entries change only with a TLB
	 * shootdown. */
	bool swaps_leaves;

	/* --- the pool --- */
	/* Maps the pool at path (create_size > 0 creates or extends a pool
	 * file). *done false: this backend does not apply to path (nothing
	 * mapped, 0 returned), the next one is asked. */
	int (*pool_map)(const char *path, size_t create_size, bool rdonly, struct umfs_pmem *pm,
			bool *done);

	/* --- an open file's data (vnode locks as api_file.c takes them) --- */
	/* At open: sets up a's mapping of the file (failures leave reads and
	 * writes to the pool mapping). */
	void (*file_attach)(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino,
			    struct umfs_katt *a);
	/* At close: drops it and destroys a. */
	void (*file_detach)(struct umfs_fs *fs, struct umfs_katt *a);
	/* umfs_file_read(), the fast read of present runs; out: buf is a
	 * program's memory, stored to through out (umfs_pread_out). *fresh: a
	 * mapping made during this call (the caller marks it dead if it
	 * retries). */
	ssize_t (*file_read)(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, void *buf,
			     size_t len, uint64_t off, bool *fresh, const struct umfs_out *out);
	/* Vnode write lock held: umfs_file_write(), with whatever fast path
	 * the backend has for present runs. */
	ssize_t (*file_write)(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a,
			      const void *buf, size_t len, uint64_t off);
	/* The last name of ino went: no mapping of it may outlive that. */
	void (*file_revoke)(struct umfs_fs *fs, uint64_t ino);

	/* --- file pages (vnode write lock held, meta_lock not) --- */
	/* Maps zeroed pages into every hole of file pages [first, last]. */
	int (*alloc_zeroed)(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			    uint64_t last);
	/* The pages of a write, from first towards last, as far as one step
	 * goes; *done: pages from first now present. The software backend
	 * runs in_tx(arg, done), where the core maps unzeroed pages in one
	 * transaction and fills them before it commits. */
	int (*write_alloc)(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			   uint64_t *done, int (*in_tx)(void *arg, uint64_t *done), void *arg);
	/* Frees file pages [first, last] (revoking mappings first). */
	int (*free_pages)(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last);
	/* Copy-on-write (cow.c): makes c->shadow and its fresh pages for
	 * [c->pa, c->pb], which it may widen to whole 2 MiB regions. */
	int (*cow_prepare)(struct umfs_fs *fs, struct umfs_cow *c);
	/* Carries out (fwd) or rolls back the swap record u of ino. Takes
	 * meta_lock. */
	int (*swap_pages)(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool fwd);

	/* --- inodes --- */
	/* In tx: a new inode, as umfs_inode_create() says. */
	int (*inode_create)(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			    uint64_t parent, uint64_t *ino);
	/* In tx: a new inode named name in directory parent, as
	 * umfs_inode_create_named() says. */
	int (*inode_create_named)(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid,
				  dev_t rdev, uint64_t parent, const char *name, size_t len,
				  uint64_t *inop);
	/* In tx: frees now an inode with no names and no pages; -EAGAIN:
	 * this backend frees inodes outside transactions (reclaim does). */
	int (*tx_inode_free)(struct umfs_fs *fs, uint64_t ino);
	/* Meta lock not held: frees a sealed inode with no names, its pages
	 * and U-Log, in as many steps as it takes, each only while the inode
	 * is still generation gen (umfs_inode_reclaim_due). */
	int (*inode_reclaim)(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
	/* In tx, permissions checked: chmod's new mode bits. */
	int (*set_mode)(struct umfs_fs *fs, uint64_t ino, mode_t mode);
	/* In tx, permissions checked (c: the caller's): chown's owner and
	 * group ((uid_t)-1, (gid_t)-1: unchanged), and the privileges chown
	 * drops. */
	int (*set_owner)(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid,
			 const struct umfs_ucred *c);

	/* --- U-Log pages (meta_lock held, no transaction open) --- */
	/* Grows ino's chain of n pages (pages[0..n)) to need; on success
	 * pages[0] is its first page. */
	int (*ulog_grow)(struct umfs_fs *fs, uint64_t ino, unsigned need, struct umfs_ulog **pages,
			 unsigned n);
	/* At the last close: gives the chain back unless a record is live. */
	void (*ulog_release)(struct umfs_fs *fs, uint64_t ino);
	/* Recovery: gives the chain back, damaged or not (counted in st). */
	int (*ulog_drop)(struct umfs_fs *fs, uint64_t ino, struct umfs_recover_stats *st);

	/* --- directory pages --- */
	/* In tx: file page pg of directory in for a new block or map page:
	 * 1 when freshly mapped (zeroed), 0 when it was mapped already (a
	 * spare), or UMFS_EDIRPAGES when the transaction must stop for it
	 * (recorded in fs->tx.dir_need_*, see map_dir_pages). *off: its pool
	 * offset. */
	int (*tx_dir_page)(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, uint64_t *off);
	/* In tx: 0 when pages [first, first + count) can be had inside this
	 * transaction, else UMFS_EDIRPAGES as tx_dir_page. */
	int (*tx_dir_pages)(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			    uint64_t count);
	/* Meta lock held, no transaction: maps the pages a transaction stopped
	 * for (UMFS_EDIRPAGES); *done pages from first are then present. */
	int (*map_dir_pages)(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			     uint64_t *done);
	/* In tx: umfs_pt_truncate(in, 0) of an emptied directory; 1 when
	 * nothing is freed (the backend frees pages outside transactions). */
	int (*tx_dir_truncate)(struct umfs_fs *fs, struct umfs_inode *in);
};

extern const struct umfs_backend_ops umfs_backend_soft;
extern const struct umfs_backend_ops umfs_backend_kmod;

/* backend.c: the backend of a freshly mapped pm (software when pm was
 * mapped by other means: umfs_pmem_map_fd, umfs_pmem_map_private). */
const struct umfs_backend_ops *umfs_backend_of(const struct umfs_pmem *pm);

/* The software backend's ops that live with the data they walk. */
int umfs_file_alloc_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			   uint64_t last);
int umfs_file_pages_free(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last);
int umfs_cow_prepare(struct umfs_fs *fs, struct umfs_cow *c);
int umfs_ulog_swap_pages(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool fwd);
int umfs_inode_make(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		    uint64_t parent, uint64_t *ino);
int umfs_inode_make_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			  uint64_t parent, const char *name, size_t len, uint64_t *inop);
int umfs_inode_free_tx(struct umfs_fs *fs, uint64_t ino);
int umfs_inode_reclaim_pages(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
int umfs_ulog_chain_grow(struct umfs_fs *fs, uint64_t ino, unsigned need,
			 struct umfs_ulog **pages, unsigned n);

/* Core helpers the kernel-module backend builds on. */
/* cow.c: in tx, the copy-on-write shadow (an unnamed orphan). */
int umfs_cow_shadow_create(struct umfs_fs *fs, struct umfs_cow *c);
/* cow.c: whether the shadow gets a fresh page for file page p. */
bool umfs_cow_page_fresh(const struct umfs_fs *fs, const struct umfs_cow *c, uint64_t p);
/* inode.c: in tx, takes ino off the orphan list. */
int umfs_orphan_unlink(struct umfs_fs *fs, uint64_t ino);
/* dir.c: in tx, 0 when file pages [first, first + count) of directory in
 * are all mapped, else UMFS_EDIRPAGES with them recorded in fs->tx. */
int umfs_dir_pages_ready(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			 uint64_t count);

/* backend_kmod.c: the kernel module (/dev/umfs, docs/kmod.md). */
/* UMFS_KMOD: 1 (use the module or fail), 0 for "try" (use it if it
 * works, umfs-run's default), -1 when unset or 0 (software walk) */
int umfs_kmod_wanted(void);
/* Counts forks: an attachment or /dev/umfs descriptor made under another
 * value belongs to the parent (the module answers EBADFD in a child). */
uint64_t umfs_kmod_fork_gen(void);

#endif /* UMFS_BACKEND_H */
