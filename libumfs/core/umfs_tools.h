/* SPDX-License-Identifier: MIT */
/*
 * umfs_tools.h - the part of the core that the tools call: mkfs.umfs
 * formats a mapped pool, fsck.umfs maps one, binds the core's view to it,
 * recovers it and rebuilds directories in transactions, umfs-pool reads
 * and stamps it, bench/overwrite_bench formats a pool and picks strict
 * mode's ways. fs.h includes it; the tools include it alone (the layer
 * check of docs/architecture.md forbids them the core's module headers),
 * so a change to the core's other modules is none of theirs.
 *
 * Conventions as in fs.h: functions return 0 (or a count) or -errno;
 * "in tx" means a transaction is open (umfs_tx_begin).
 */
#ifndef UMFS_TOOLS_H
#define UMFS_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "umfs.h"
#include "umfs_format.h"

/* ------------------------------------------------------------------ */
/* small helpers                                                      */
/* ------------------------------------------------------------------ */

#define UMFS_LIKELY(x) __builtin_expect(!!(x), 1)
#define UMFS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define UMFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UMFS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UMFS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define UMFS_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define UMFS_ALIGN_UP(n, a) (((n) + (a) - 1) & ~((uint64_t)(a) - 1))
#define UMFS_ALIGN_DOWN(n, a) ((n) & ~((uint64_t)(a) - 1))

/* ------------------------------------------------------------------ */
/* persist.c, pmap.c: the mapped pool                                 */
/* ------------------------------------------------------------------ */

enum umfs_media {
	UMFS_MEDIA_PMEM,  /* real or forced persistent memory: flush + fence */
	UMFS_MEDIA_SHM,   /* tmpfs (/dev/shm): treated as emulated pmem */
	UMFS_MEDIA_FILE,  /* other files: flush + fence, and msync at fsync */
};
struct umfs_backend_ops;

struct umfs_pmem {
	uint8_t *base;
	size_t len;
	enum umfs_media media;
	bool rdonly;
	int fd;        /* kept open for the pool lock; -1 for private maps */
	/* the backend that mapped it (backend.h); NULL: software */
	const struct umfs_backend_ops *be;
	uint64_t kgen; /* module: umfs_kmod_fork_gen() when fd (/dev/umfs) was opened */
	struct stat st; /* the pool file or device: who may use the pool (rundir.c) */
	long fs_type;   /* a pool file's file system (statfs f_type); 0: not asked */
	struct umfs_prefault *prefault; /* windows present in this process (prefault.c) */
};

/* Maps a whole pool file or device through the first backend that takes
 * it (backend.c). create_size > 0 creates/extends it. */
int umfs_pmem_map(const char *path, size_t create_size, bool rdonly, struct umfs_pmem *pm);
/* The software backend's map: the pool file or device at path itself. */
int umfs_pmem_map_path(const char *path, size_t create_size, bool rdonly, struct umfs_pmem *pm);
/* Maps, read-write and as umfs_pmem_map_path maps what it opens, the pool
 * file or device the caller opened O_RDWR at fd (mkfs: no second open by
 * name); pm keeps a duplicate of fd. */
int umfs_pmem_map_opened(int fd, struct umfs_pmem *pm);
/* Copy-on-write map: changes stay in this process (fsck -n). */
int umfs_pmem_map_private(const char *path, struct umfs_pmem *pm);
void umfs_pmem_unmap(struct umfs_pmem *pm);
/* Bytes in a pool file, pmem block device or device DAX (st from stat). */
int umfs_pmem_dev_size(const struct stat *st, uint64_t *size);
/* Makes the whole mapping durable on media that need more than cache
 * flushes (UMFS_MEDIA_FILE); a fence otherwise. */
int umfs_pmem_sync(struct umfs_pmem *pm);
/* Announces use of the pool: shared by ordinary mounts, exclusive for
 * tools that must be alone (FUSE daemon until pools are shared, mkfs, fsck
 * repairs). -EBUSY when another process holds a conflicting lock. */
int umfs_pmem_lock(struct umfs_pmem *pm, bool exclusive);

/* What the media is, in words, for the tools. */
const char *umfs_media_name(enum umfs_media m);

void umfs_flush(const void *addr, size_t len); /* write back, no ordering */
void umfs_drain(void);                          /* fence: earlier flushes done */
void umfs_persist(const void *addr, size_t len); /* flush + drain */

/* ------------------------------------------------------------------ */
/* layout.c: geometry and format                                      */
/* ------------------------------------------------------------------ */

struct umfs_geometry {
	uint64_t pool_size;
	uint64_t inode_count;
	uint32_t journal_slots;
	uint32_t journal_slot_size;
	uint64_t state_off, journal_off, inode_off, ibitmap_off, pbitmap_off;
	uint64_t bsum_off; /* page-bitmap checksums */
	uint64_t data_off, data_pages, backup_sb_off;
	uint64_t max_pool_size; /* what the page bitmap and sums are sized for */
};

/* Plans a pool of pool_size bytes with inode_count inodes (0: one per
 * 16 KiB). -EINVAL with a reason in *why when it does not fit. */
int umfs_geometry_plan(uint64_t pool_size, uint64_t inode_count, struct umfs_geometry *g,
		       const char **why);
/* The same, with the page bitmap sized for a pool of max_size bytes (0:
 * eight times pool_size, less where that leaves no room for data). */
int umfs_geometry_plan_max(uint64_t pool_size, uint64_t inode_count, uint64_t max_size,
			   struct umfs_geometry *g, const char **why);

struct umfs_format_opts {
	uint64_t inode_count; /* 0: default */
	const char *label;    /* NULL: empty */
	const uint8_t *uuid;  /* NULL: random */
	uint32_t default_flags;
	uint64_t max_size;    /* 0: the default of umfs_geometry_plan_max */
	bool no_inline;       /* leave INCOMPAT_INLINE_TABLE off */
	bool no_level4;       /* leave INCOMPAT_LEVEL4 off: files stop at 512 GiB */
};
/* Writes a fresh file system over pm (already mapped). */
int umfs_format(struct umfs_pmem *pm, const struct umfs_format_opts *opts,
		struct umfs_geometry *out);

/* ------------------------------------------------------------------ */
/* grow.c: growing a pool in place (include/umfs_grow.h)              */
/* ------------------------------------------------------------------ */

/* persist.c. Sets the regular pool file pm maps to size bytes, durably
 * (blocks allocated, size synced; the caller knows nothing lies past it),
 * and maps it again whole, keeping the descriptor and its lock: the
 * grow's backup superblock is then the file's last page, where a mount
 * and fsck look for it. -EOPNOTSUPP for a device or a read-only map. */
int umfs_pmem_extend(struct umfs_pmem *pm, uint64_t size);
/* Grows the clean pool pm maps (already extended to at least size bytes,
 * its exclusive lock held) to size bytes. 0, or -errno with *why. */
int umfs_grow(struct umfs_pmem *pm, uint64_t size, const char **why);
/* Steps (d) and (e) from the GROWING superblock *sb, which becomes the
 * finished one. Idempotent. */
int umfs_grow_finish(struct umfs_pmem *pm, struct umfs_superblock *sb);
/* Mount: err is umfs_sb_check's on *sb, the primary. A primary torn by a
 * grow is replaced by its GROWING backup; a GROWING pool is finished
 * (exclusive: the caller holds the pool's exclusive lock, else it is taken
 * for the while); a backup a grow left stale is rewritten. */
int umfs_grow_resume(struct umfs_pmem *pm, bool exclusive, int err,
		     struct umfs_superblock *sb, const char **why);

/* ------------------------------------------------------------------ */
/* fs.c: the core's view of a pool, and its recovery                  */
/* ------------------------------------------------------------------ */

/* What a recovery did (umfs_recover, umfs_ulog_recover). */
struct umfs_recover_stats {
	unsigned journal_rolled_back; /* interrupted transactions undone */
	unsigned journal_bad;         /* damaged journal headers or records */
	unsigned ulog_rolled_back;    /* valid U-Log records undone */
	unsigned ulog_bad;            /* U-Log records or chains dropped as damaged */
	unsigned ulogs_freed;         /* U-Log chains released */
	unsigned truncs_finished;     /* interrupted truncates completed */
	unsigned orphans_reclaimed;
};

/* Mount-time recovery, in this order: journal rollback, U-Log records
 * rolled back and U-Log pages freed, interrupted truncates finished, orphans
 * reclaimed. Idempotent; fills fs->recovery. */
int umfs_recover(struct umfs_fs *fs);
/* fs.c. Like umfs_fs_attach(), but the mapping stays the caller's: neither a
 * failed mount nor umfs_unmount() unmaps it (fsck, crash tests). */
int umfs_fs_bind(struct umfs_pmem *pm, unsigned flags, struct umfs_fs **fsp);
/* fs.c. How strict mode makes an overwrite atomic, for benchmarks that
 * compare the ways (call it after mount, before any write): overwrites of
 * up to ulog_max bytes save the old bytes in a U-Log byte record, larger
 * ones copy on write; page_swap false stops whole-page swaps through the
 * U-Log's spare page (true keeps them where the pool and backend allow). */
/* Default size limit of a byte record; larger overwrites copy on write. */
#define UMFS_ULOG_BYTES_DEFAULT (16u * UMFS_ULOG_DATA_SIZE)
void umfs_fs_set_overwrite(struct umfs_fs *fs, uint64_t ulog_max, bool page_swap);

/* ------------------------------------------------------------------ */
/* journal.c: transactions                                            */
/* ------------------------------------------------------------------ */

/* Rolls back every active slot. Idempotent; safe on any image (bad
 * records are skipped and reported through *bad_records when non-NULL). */
int umfs_journal_recover(struct umfs_fs *fs, unsigned *rolled_back, unsigned *bad_records);

int umfs_tx_begin(struct umfs_fs *fs);
int umfs_tx_commit(struct umfs_fs *fs);
/* Restores every snapshot of the open transaction and forgets it. */
void umfs_tx_abort(struct umfs_fs *fs);

/* ------------------------------------------------------------------ */
/* alloc.c: bitmaps                                                   */
/* ------------------------------------------------------------------ */

/* Counts free pages/inodes from the bitmaps (mount). */
void umfs_alloc_init(struct umfs_fs *fs);
/* The bits set among the first nbits of a bitmap: pages or inodes in use. */
uint64_t umfs_bitmap_count(const uint64_t *map, uint64_t nbits);

/* ------------------------------------------------------------------ */
/* inode.c                                                            */
/* ------------------------------------------------------------------ */

uint32_t umfs_inode_csum(const struct umfs_inode *in);
/* Recomputes the checksum after identity fields changed (in tx: the whole
 * inode must have been snapshotted). */
void umfs_inode_seal(struct umfs_inode *in);
int64_t umfs_now_ns(void);
unsigned char umfs_mode_to_dtype(uint32_t mode);

/* ------------------------------------------------------------------ */
/* dir.c                                                              */
/* ------------------------------------------------------------------ */

uint32_t umfs_name_hash(const char *name, size_t len);
/* In tx: makes an empty directory: dir info zeroed except parent, size 0,
 * no pages (they come with the first entry). -EEXIST if it has pages. */
int umfs_dir_init(struct umfs_fs *fs, uint64_t dir);
/* In tx. -EEXIST if the name exists, -ENOSPC if the pool or directory is
 * full, -EINVAL for "", ".", "..", or a name with '/' or NUL, -ENAMETOOLONG
 * over 255 bytes. Module mode: UMFS_EDIRPAGES when the directory lacks a
 * page; abort and see api_dir_pages_retry(). */
int umfs_dir_add(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
		 unsigned char type);

/* ------------------------------------------------------------------ */
/* ulog.c                                                             */
/* ------------------------------------------------------------------ */

/*
 * Recovery of every U-Log in the pool, for mount and for fsck.umfs (call it
 * after umfs_journal_recover() and before any orphan is freed): each valid
 * record is rolled back, each chain freed; anything that fails validation
 * is counted in st->ulog_bad and dropped. Never trusts the pool: every
 * offset is checked before use. Idempotent.
 */
int umfs_ulog_recover(struct umfs_fs *fs, struct umfs_recover_stats *st);

/* ------------------------------------------------------------------ */
/* rundir.c                                                           */
/* ------------------------------------------------------------------ */

/* The path of the runtime directory of the pool with this UUID and run id
 * (the state page's run_id, not 0). */
int umfs_rundir_name(const uint8_t uuid[16], uint64_t run_id, char *buf, size_t size);

/* rundir_sweep.c: removes the runtime directories of the pool with this
 * UUID that are this user's and that no process uses, but for run id keep
 * (0: none); seen (if given) is told of each one found: 0 removed, -EBUSY
 * in use, -EPERM another user's, or another -errno. Returns how many were
 * removed. A first user that recovers after a crash calls it too. */
int umfs_rundir_sweep(const uint8_t uuid[16], uint64_t keep,
		      void (*seen)(void *arg, const char *path, int result), void *arg);

#endif /* UMFS_TOOLS_H */
