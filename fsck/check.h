/* SPDX-License-Identifier: MIT */
/*
 * check.h - fsck.umfs's check engine, private to fsck/ and its tests.
 *
 * The engine runs an ordered table of check steps (check_steps.c) over a
 * pool that the caller has mapped: shared for repairs, copy-on-write for a
 * check-only run, or an in-memory image (the fuzzing harness). Every step
 * repairs what it finds in that mapping, so a check-only run on a private
 * map sees the same repaired image a repair run would and its report is
 * complete, while the pool itself is untouched.
 *
 * The pool is hostile input: a step bounds-checks every offset it reads
 * before dereferencing it, bounds every loop by a count the engine knows
 * (never by a count read from the pool alone) and recurses at most the
 * fixed depth of the page-table format.
 */
#ifndef UMFS_FSCK_CHECK_H
#define UMFS_FSCK_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "umfs_ptwalk.h"
#include "umfs_ulog.h"
#include "umfs_tools.h"

/* fsck(8) exit codes. A check-only run that finds crash state and no
 * damage exits FSCK_EXIT_OK: nothing is wrong that the pool's own mount
 * does not repair, and boot scripts read any other bit as failure. */
#define FSCK_EXIT_OK 0
#define FSCK_EXIT_CORRECTED 1
#define FSCK_EXIT_UNCORRECTED 4
#define FSCK_EXIT_OPERATIONAL 8
#define FSCK_EXIT_USAGE 16

enum fsck_mode {
	FSCK_MODE_CHECK,  /* -n: repairs happen in private memory only */
	FSCK_MODE_REPAIR, /* -y */
	FSCK_MODE_PREEN,  /* -p: the repairs of -y, terser output */
};

struct fsck_opts {
	enum fsck_mode mode;
	bool verbose; /* -v: one line per step */
	bool force;   /* -f: full check of a clean pool */
	FILE *out;    /* messages; NULL: silent (fuzzing) */
	const char *name; /* the pool's name in messages */
	int progress_fd;  /* -C: a line per step done to it; -1: none */
};

/*
 * Crash state: what a process's death leaves and the core's mount recovery
 * (umfs_recover) repairs by itself. Anything else fsck finds is damage.
 */
enum fsck_crash {
	FSCK_CRASH_DIRTY,   /* state page: not unmounted cleanly */
	FSCK_CRASH_JOURNAL, /* a journal slot with an interrupted transaction */
	FSCK_CRASH_WRITE,   /* a valid U-Log record of a write in flight */
	FSCK_CRASH_ULOG,    /* a U-Log chain of a file open at the crash */
	FSCK_CRASH_TRUNC,   /* an interrupted truncate */
	FSCK_CRASH_ORPHAN,  /* an orphan (unlinked while open, or a shadow) */
	FSCK_CRASH_GROW,    /* an interrupted grow (umfs_grow.h) */
	FSCK_CRASH_KINDS
};

struct fsck_summary {
	uint64_t inodes_used, inodes_total;
	uint64_t dirs, files, symlinks, others;
	uint64_t pages_used, pages_total;
	uint64_t dir_spares;    /* spare directory pages (umfs_format.h) */
	unsigned long problems; /* damage reported */
	unsigned long fixed;    /* of which repaired in the pool */
	unsigned long crash[FSCK_CRASH_KINDS]; /* crash state, by kind */
	unsigned long recoverable; /* crash state other than a dirty state page */
	bool full;              /* every step ran (not only the quick ones) */
	int exit_code;          /* FSCK_EXIT_* */
};

/*
 * Checks (and with FSCK_MODE_REPAIR/PREEN repairs) the pool mapped in *pm.
 * The mapping stays the caller's. Returns the fsck(8) exit code, also left
 * in sum->exit_code with the counts of the summary.
 */
int fsck_check(struct umfs_pmem *pm, const struct fsck_opts *opts, struct fsck_summary *sum);

/* Prints the closing summary of a run (nothing when opts->out is NULL). */
void fsck_summary_print(const struct fsck_opts *opts, const struct fsck_summary *sum);

/* ------------------------------------------------------------------ */
/* Engine internals shared by the steps                                */
/* ------------------------------------------------------------------ */

/* What the engine knows of each inode, in DRAM. */
struct fsck_ino {
	uint64_t parent; /* directories: the directory whose entry names it */
	uint32_t names;  /* non-directories: names found; directories: subdirectories */
	uint32_t flags;  /* FI_* */
};

#define FI_LIVE 0x01u    /* in use after the inode step */
#define FI_DIR 0x02u     /* a directory */
#define FI_REACHED 0x04u /* named by a reachable directory, or the root */
#define FI_ORPHAN 0x08u  /* found on the orphan list */
#define FI_RESET 0x10u   /* directory emptied: laid out again by the core */
#define FI_SIZEFIX 0x20u /* size out of range: set from the page tree */
#define FI_SCANNED 0x40u /* directory entries checked */
#define FI_WALK 0x80u    /* scratch mark of the connectivity step */
#define FI_FREED 0x100u  /* cleared by a repair: its bitmap bit goes quietly */
#define FI_NEW 0x200u    /* made by a repair (lost+found): its bit comes quietly */
#define FI_PCONF 0x400u  /* directory named by the directory its ".." names */
#define FI_UNSEALED 0x800u /* checksum did not match: mount recovery refuses it */

/* A directory entry to create through the core once allocation is sound. */
struct fsck_add {
	uint64_t dir;
	uint64_t ino;
	unsigned char type;
	uint8_t name_len;
	char name[UMFS_NAME_MAX + 1];
};

struct fsck {
	const struct fsck_opts *opts;
	struct umfs_pmem *pm;
	uint8_t *base;
	uint64_t len;              /* bytes mapped */

	/* From the validated superblock (step 1). */
	struct umfs_superblock sb;
	uint64_t pool_size, data_off, data_pages, inode_count, phys_base;
	struct umfs_state *state;  /* NULL until the state page is checked */
	struct umfs_inode *inodes;
	uint64_t *ibitmap, *pbitmap;
	uint64_t *bsum;            /* page-bitmap checksums; NULL: the pool has none */
	struct umfs_fs *fs;        /* the core's view, bound in step 3 */

	/* DRAM state of the full check. */
	uint64_t *owned;           /* data pages owned by some inode */
	uint64_t *released;        /* pages a repair took from their owner */
	uint64_t *fresh;           /* pages a repair allocated */
	struct fsck_ino *ino;      /* inode_count entries */
	uint64_t alloc_cursor;     /* next page the engine's allocator tries */
	uint64_t lost_found;       /* inode of /lost+found, 0 = none yet */
	uint64_t dir_spares;       /* directory pages past their counts: fine */
	bool lost_found_taken;     /* the root has a non-directory of that name */
	struct fsck_add *adds;     /* entries to create in the namespace step */
	size_t nadds, cap_adds;

	bool was_clean;            /* state page said clean before we ran */
	uint64_t errors;           /* the state page's errors word before we ran */
	bool mount_recovers;       /* the next mount runs its recovery */
	bool orphans_sound;        /* mount recovery can walk the orphan list */
	bool full;                 /* run every step */
	bool wrote;                /* something was changed in the mapping */
	bool state_marked;         /* the state page says dirty since */
	bool stop;                 /* a step found the pool beyond checking */
	int err;                   /* operational error (-errno) */
	unsigned long problems, fixed;
	unsigned long crash[FSCK_CRASH_KINDS];
	unsigned journal_rolled;   /* transactions rolled back */
};

/* One check step of the ordered table. */
struct fsck_step {
	const char *name;
	int (*run)(struct fsck *c); /* 0, or -errno for an operational error */
	bool quick;                 /* also runs on a clean pool without -f */
};

extern const struct fsck_step fsck_steps[];
extern const size_t fsck_nsteps;

/* The steps, in table order (check_steps.c). */
int fsck_superblock(struct fsck *c);
int fsck_state(struct fsck *c);
int fsck_journal(struct fsck *c);
int fsck_bitmap_sums(struct fsck *c);
int fsck_inodes(struct fsck *c);
int fsck_page_tables(struct fsck *c);
int fsck_directories(struct fsck *c);
int fsck_connectivity(struct fsck *c);
int fsck_link_counts(struct fsck *c);
int fsck_bitmaps(struct fsck *c);
int fsck_namespace(struct fsck *c);
int fsck_mark_clean(struct fsck *c);

/* ---- messages (check.c) ---- */

/*
 * Reports one problem (damage). fix is what the engine does about it as a
 * past participle ("cleared", "rebuilt"), or NULL when it is left as it is.
 * Printed as "damage: <message>: <fix>" in repair mode and "damage:
 * <message>: would be <fix>" in check mode. Returns true when the caller should apply the fix
 * (always, when fix is non-NULL: check mode applies it to private memory).
 */
bool fsck_problem(struct fsck *c, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Reports n findings of crash state of one kind, on a line of its own:
 * "recoverable: <message>: <fix>", or "...: would be <fix> by the next
 * mount" in check mode. The caller always applies the fix, as the mount
 * would. When the mount would not repair it after all, it is damage and
 * reported as a problem: sound is false (what the mount's recovery meets is
 * damaged, and the recovery refuses it), or the pool says clean and
 * nothing else makes a mount recover.
 */
void fsck_crash(struct fsck *c, enum fsck_crash kind, bool sound, unsigned long n,
		const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Verbose-only progress line. */
void fsck_info(struct fsck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Always printed (unless silent), e.g. notes on the run itself. */
void fsck_note(struct fsck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *fsck_type_name(uint32_t mode);
/* A directory entry name made printable (\xNN escapes), in buf. */
#define FSCK_NAME_BUF (4 * UMFS_NAME_MAX + 1)
const char *fsck_name(char *buf, const char *name, size_t len);
bool fsck_repairing(const struct fsck *c);

/* ---- bounds and pages (check.c) ---- */

/* True when [off, off + len) lies inside the pool. */
static inline bool fsck_range_ok(const struct fsck *c, uint64_t off, uint64_t len)
{
	return umfs_off_in_pool(c->pool_size, off, len);
}

/* True when off is a page-aligned offset of a page of the data zone. */
static inline bool fsck_page_ok(const struct fsck *c, uint64_t off)
{
	return umfs_off_is_data_page(c->data_off, c->data_pages, off);
}

static inline uint64_t fsck_page_of(const struct fsck *c, uint64_t off)
{
	return (off - c->data_off) >> UMFS_PAGE_SHIFT;
}

static inline uint64_t fsck_page_off(const struct fsck *c, uint64_t page)
{
	return c->data_off + (page << UMFS_PAGE_SHIFT);
}

static inline void *fsck_ptr(const struct fsck *c, uint64_t off)
{
	return c->base + off;
}

static inline bool fsck_bit(const uint64_t *map, uint64_t i)
{
	return (map[i >> 6] >> (i & 63)) & 1;
}
static inline void fsck_bit_set(uint64_t *map, uint64_t i)
{
	map[i >> 6] |= 1ull << (i & 63);
}
static inline void fsck_bit_clear(uint64_t *map, uint64_t i)
{
	map[i >> 6] &= ~(1ull << (i & 63));
}

/* Ownership of data pages, in DRAM. */
static inline bool fsck_owned(const struct fsck *c, uint64_t page)
{
	return fsck_bit(c->owned, page);
}
/* Claims count pages from page; false (claiming nothing) if one is taken. */
bool fsck_own_claim(struct fsck *c, uint64_t page, uint64_t count);
/* Gives pages up (a repair freed them: the bitmap step frees them quietly,
 * the repair having been reported already). */
void fsck_own_release(struct fsck *c, uint64_t page, uint64_t count);
/* Pages freed by a report already made that no tree claimed (a finished
 * truncate's): freed quietly unless another owner claims them. */
void fsck_own_drop(struct fsck *c, uint64_t page, uint64_t count);

/* ---- writes into the mapping (check.c): store, then persist ---- */

void fsck_write(struct fsck *c, void *dst, const void *src, size_t len);
void fsck_zero(struct fsck *c, void *dst, size_t len);
void fsck_set64(struct fsck *c, uint64_t *dst, uint64_t val);
void fsck_set32(struct fsck *c, uint32_t *dst, uint32_t val);
void fsck_set16(struct fsck *c, uint16_t *dst, uint16_t val);
void fsck_set8(struct fsck *c, uint8_t *dst, uint8_t val);
/* Recomputes an inode's checksum and persists it. */
void fsck_inode_seal(struct fsck *c, struct umfs_inode *in);
/* Zeroes an inode (keeping its generation, as the core does) and forgets it. */
void fsck_inode_clear(struct fsck *c, uint64_t ino);
int fsck_add_entry(struct fsck *c, uint64_t dir, const char *name, size_t len, uint64_t ino,
		   unsigned char type);

/* ---- page trees (tree_read.c), on trees the page-table step has checked ---- */

/* The tallest tree of any pool: bounds the walks' recursion. A pool's
 * own limit is fsck_pt_levels (3 without INCOMPAT_LEVEL4). */
#define FSCK_PT_LEVELS UMFS_PT_MAX_HEIGHT

/* Pages covered by one entry of a table at level (1: 4 KiB leaves). */
static inline uint64_t fsck_pt_span(unsigned level)
{
	return 1ull << umfs_pt_level_shift(level);
}

/* Pool offset of file page pg of in, or 0 for a hole or anything odd. */
uint64_t fsck_pt_lookup(const struct fsck *c, const struct umfs_inode *in, uint64_t pg);

/* Calls fn for each mapped file page in [first, end), in order; stops at
 * the first nonzero return and passes it back. */
typedef int (*fsck_pt_fn)(struct fsck *c, void *arg, uint64_t pg, uint64_t off);
int fsck_pt_foreach(struct fsck *c, const struct umfs_inode *in, uint64_t first, uint64_t end,
		    fsck_pt_fn fn, void *arg);

/* Forgets the ownership of every page in's tree and U-Log chain holds. */
void fsck_pt_release(struct fsck *c, const struct umfs_inode *in);

/* Reads a table entry at index i of the table at pool offset table_off. */
static inline uint64_t fsck_pte_get(const struct fsck *c, uint64_t table_off, unsigned i)
{
	return ((const uint64_t *)fsck_ptr(c, table_off))[i];
}

/* The format's reading of table entry e at level (umfs_pte_decode), with
 * this pool's data zone and physical base. */
static inline struct umfs_ptgeom fsck_ptgeom(const struct fsck *c)
{
	return umfs_ptgeom_make(c->data_off, c->data_pages, c->phys_base, c->sb.feature_incompat);
}

/* The tallest tree this pool allows (umfs_ptgeom's max_height). */
static inline unsigned fsck_pt_levels(const struct fsck *c)
{
	return (unsigned)fsck_ptgeom(c).max_height;
}

/* The largest file this pool allows (umfs_max_file_size). */
static inline uint64_t fsck_max_file_size(const struct fsck *c)
{
	const struct umfs_ptgeom g = fsck_ptgeom(c);

	return umfs_max_file_size(&g);
}

static inline enum umfs_pte_kind fsck_pte_decode(const struct fsck *c, unsigned level, uint64_t e,
						 uint64_t *off)
{
	const struct umfs_ptgeom g = fsck_ptgeom(c);

	return umfs_pte_decode(&g, level, e, off);
}

/* Pool offset an entry points to, or UINT64_MAX when below phys_base. */
static inline uint64_t fsck_pte_off(const struct fsck *c, uint64_t pte)
{
	uint64_t addr = pte & UMFS_PTE_ADDR_MASK;

	return addr < c->phys_base ? UINT64_MAX : addr - c->phys_base;
}

/* Pages one U-Log chain may span before the engine calls it a loop. */
#define FSCK_ULOG_CHAIN_MAX UMFS_ULOG_CHAIN_LIMIT

/* ---- directory scanning (check_dir.c), shared with connectivity ---- */

/* Checks directory dir and queues its subdirectories on queue (which holds
 * up to inode_count entries; *qlen is its length). */
int fsck_dir_scan(struct fsck *c, uint64_t dir, uint64_t *queue, uint64_t *qlen);
/* Rebuilds the hash index of dir (check_dirbuild.c) from its n valid
 * entries (hashes and slot positions), which live in entry blocks
 * [0, nblocks); everything the directory maps past them is released. */
int fsck_dir_reindex(struct fsck *c, uint64_t dir, uint64_t nblocks, const uint32_t *hashes,
		     const uint32_t *positions, size_t n);
/* Makes inode ino an empty directory named in parent (its entries, if any,
 * come from the namespace step). */
void fsck_dir_make(struct fsck *c, uint64_t ino, uint64_t parent, uint32_t perm);

#endif /* UMFS_FSCK_CHECK_H */
