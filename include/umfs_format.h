/* SPDX-License-Identifier: MIT */
/*
 * umfs_format.h - the UMFS on-media format.
 *
 * The single description of every structure stored in a pool. It is compiled
 * by the kernel module (kmod/), by the core library, mkfs.umfs and fsck.umfs,
 * so it uses only fixed-width types and no libc. docs/format.md documents every
 * structure as an offset table; keep the two in step.
 *
 * All integers are little-endian; every struct size is pinned by a
 * static assertion; reserved fields are written as zero and checked by fsck.
 *
 * Version history:
 *   1.0  first format: superblock + backup, state page, journal slots,
 *        inode zone, inode and page bitmaps, data zone, x86-64 file page
 *        tables of variable height, hashed directories, per-file U-Log page.
 *   1.1  U-Log protocol: chained U-Log pages for larger byte
 *        records, and the swap record (UMFS_ULOG_REC_SWAP) that guards a
 *        copy-on-write overwrite; fields rec_aux_ino, rec_done, rec_aux_gen
 *        taken from the reserved words of the record line.
 *   1.2  the state page's run_id, which names the runtime directory of the
 *        processes sharing the pool; older code zeroes it (fsck) or ignores it.
 *        Directory entries' check byte (feature RO_COMPAT_DENTRY_CHECK).
 *   1.3  page-bitmap checksums (feature RO_COMPAT_BITMAP_SUMS): one sum per
 *        4 KiB of the page bitmap, in a zone between the page bitmap and
 *        the data zone (superblock bsum_off, taken from reserved[0]); the
 *        state page's errors word (was reserved), which records damage the
 *        serving path refused until fsck repairs the pool.
 *   1.4  the U-Log's spare page (head page's spare, was reserved0) and the
 *        page record (UMFS_ULOG_REC_PAGE) that swaps it for one file page,
 *        behind feature RO_COMPAT_ULOG_SPARE.
 *   1.5  growing a pool in place: max_pool_size (was reserved[0]) behind
 *        feature COMPAT_GROWABLE, which sizes the page bitmap and its sums
 *        for that size; grow_from_pages (was reserved[1]) behind feature
 *        INCOMPAT_GROWING, set while a grow is unfinished (umfs_grow.h).
 *   1.6  the kept free counts (struct umfs_state_counts) after struct
 *        umfs_state in its page (was zero): what a clean unmount left,
 *        which the next mount of a clean pool reads instead of counting
 *        the bitmaps. Older code ignores them; its mounts and repairs make
 *        them stale, which their check word then says (umfs_rules.h).
 *   1.7  inline tables (feature INCOMPAT_INLINE_TABLE): a regular file of
 *        2 to UMFS_PT_INLINE_ENTRIES pages keeps its level-1 entries in the
 *        inode (pt_inline, was reserved5, dir and reserved3-4 of a
 *        non-directory) under pt_height UMFS_PT_INLINE, with no table page.
 *   1.8  level-4 tables (feature INCOMPAT_LEVEL4): pt_height 4, a top
 *        table of level-3 tables, lets a file reach 256 TiB
 *        (UMFS_MAX_FILE_SIZE); without the feature it stops at 512 GiB.
 */
#ifndef UMFS_FORMAT_H
#define UMFS_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <asm/byteorder.h>
typedef __u8 umfs_u8;
typedef __u16 umfs_le16;
typedef __u32 umfs_le32;
typedef __u64 umfs_le64;
typedef __u32 umfs_u32;
typedef __u64 umfs_u64;
typedef size_t umfs_size;
#define UMFS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define umfs_le16_to_cpu(x) le16_to_cpu((__force __le16)(x))
#define umfs_le32_to_cpu(x) le32_to_cpu((__force __le32)(x))
#define umfs_le64_to_cpu(x) le64_to_cpu((__force __le64)(x))
#define umfs_cpu_to_le16(x) ((__force umfs_le16)cpu_to_le16(x))
#define umfs_cpu_to_le32(x) ((__force umfs_le32)cpu_to_le32(x))
#define umfs_cpu_to_le64(x) ((__force umfs_le64)cpu_to_le64(x))
#else
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t umfs_u8;
typedef uint16_t umfs_le16;
typedef uint32_t umfs_le32;
typedef uint64_t umfs_le64;
typedef uint32_t umfs_u32;
typedef uint64_t umfs_u64;
typedef size_t umfs_size;
#define UMFS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define umfs_le16_to_cpu(x) le16toh(x)
#define umfs_le32_to_cpu(x) le32toh(x)
#define umfs_le64_to_cpu(x) le64toh(x)
#define umfs_cpu_to_le16(x) htole16(x)
#define umfs_cpu_to_le32(x) htole32(x)
#define umfs_cpu_to_le64(x) htole64(x)
#endif

/* ------------------------------------------------------------------ */
/* Geometry                                                             */
/* ------------------------------------------------------------------ */

#define UMFS_PAGE_SHIFT 12
#define UMFS_PAGE_SIZE (1u << UMFS_PAGE_SHIFT)
#define UMFS_HUGE_SHIFT 21 /* 2 MiB leaves */
#define UMFS_HUGE_SIZE (1u << UMFS_HUGE_SHIFT)
#define UMFS_PAGES_PER_HUGE (UMFS_HUGE_SIZE / UMFS_PAGE_SIZE)
#define UMFS_GIANT_SHIFT 30 /* what one top-level entry covers */
#define UMFS_PT_ENTRIES 512
#define UMFS_PT_SHIFT 9
/* A full level-4 table (INCOMPAT_LEVEL4): 256 TiB. A pool without the
 * feature stops at a full level-3 table, 512 GiB (umfs_max_file_size). */
#define UMFS_PT_MAX_HEIGHT 4
#define UMFS_MAX_FILE_SIZE (1ull << 48)
#define UMFS_MAX_FILE_SIZE_L3 (1ull << 39)
#define UMFS_NAME_MAX 255
#define UMFS_SYMLINK_MAX 4095
#define UMFS_CACHELINE 64

/* ------------------------------------------------------------------ */
/* Superblock: page 0 of the pool, backup copy in the pool's last page.  */
/* ------------------------------------------------------------------ */

/* "UMFSPOOL" read as a little-endian u64: a big-endian reader sees it reversed. */
#define UMFS_SB_MAGIC 0x4C4F4F5053464D55ull
#define UMFS_VERSION_MAJOR 1
#define UMFS_VERSION_MINOR 8

/* Feature masks. An unknown incompat bit refuses mount; unknown ro_compat
 * allows read-only mount; unknown compat bits are ignored. */
#define UMFS_FEATURE_COMPAT_GROWABLE 0x1u /* max_pool_size: bitmap sized to grow */
#define UMFS_FEATURE_COMPAT_SUPP UMFS_FEATURE_COMPAT_GROWABLE
#define UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK 0x1u /* umfs_dentry.check is set */
#define UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS 0x2u /* bsum_off: page-bitmap checksums */
#define UMFS_FEATURE_RO_COMPAT_ULOG_SPARE 0x4u /* U-Log spare pages, PAGE records */
#define UMFS_FEATURE_RO_COMPAT_SUPP \
	(UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK | UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS | \
	 UMFS_FEATURE_RO_COMPAT_ULOG_SPARE)
/* A grow is unfinished: the page bitmap may still be at grow_from_pages.
 * Older code must not see it; mount and fsck finish it (umfs_grow.h). */
#define UMFS_FEATURE_INCOMPAT_GROWING 0x1u
/* Regular files may keep their level-1 entries in the inode (pt_height
 * UMFS_PT_INLINE): older code would read such a file as empty. */
#define UMFS_FEATURE_INCOMPAT_INLINE_TABLE 0x2u
/* Trees may be 4 levels tall (pt_height 4, files past 512 GiB): older
 * code would refuse the height as damage and drop the file's pages. */
#define UMFS_FEATURE_INCOMPAT_LEVEL4 0x4u
#define UMFS_FEATURE_INCOMPAT_SUPP \
	(UMFS_FEATURE_INCOMPAT_GROWING | UMFS_FEATURE_INCOMPAT_INLINE_TABLE | \
	 UMFS_FEATURE_INCOMPAT_LEVEL4)

#define UMFS_LABEL_MAX 64

struct umfs_superblock {
	umfs_le64 magic;             /* UMFS_SB_MAGIC */
	umfs_le16 version_major;     /* incompatible format changes */
	umfs_le16 version_minor;     /* compatible additions */
	umfs_le32 sb_size;           /* sizeof(struct umfs_superblock) */
	umfs_le32 feature_compat;
	umfs_le32 feature_ro_compat;
	umfs_le32 feature_incompat;
	umfs_le32 page_size;         /* UMFS_PAGE_SIZE */
	umfs_u8 uuid[16];
	char label[UMFS_LABEL_MAX];  /* NUL-padded */
	umfs_le64 pool_size;         /* bytes covered by the format */
	umfs_le64 state_off;         /* state page (mutable, not checksummed) */
	umfs_le64 journal_off;       /* first journal slot */
	umfs_le32 journal_slots;     /* independent transaction slots */
	umfs_le32 journal_slot_size; /* bytes per slot, page multiple */
	umfs_le64 inode_off;         /* inode zone */
	umfs_le64 inode_count;       /* includes unused inode 0 */
	umfs_le32 inode_size;        /* sizeof(struct umfs_inode) */
	umfs_le32 reserved0;
	umfs_le64 ibitmap_off;       /* inode bitmap: 1 bit per inode */
	umfs_le64 pbitmap_off;       /* page bitmap: 1 bit per data page */
	umfs_le64 data_off;          /* data zone, 2 MiB aligned */
	umfs_le64 data_pages;        /* 4 KiB pages in the data zone */
	umfs_le64 backup_sb_off;     /* backup superblock (last page) */
	umfs_le64 phys_base;         /* added to pool offsets in table entries */
	umfs_le64 root_ino;          /* UMFS_ROOT_INO */
	umfs_le64 mkfs_time_ns;
	umfs_le32 default_flags;     /* UMFS_SBF_* */
	umfs_le32 reserved1;
	umfs_le64 bsum_off;          /* page-bitmap checksums (RO_COMPAT_BITMAP_SUMS), else 0 */
	umfs_le64 max_pool_size;     /* COMPAT_GROWABLE: the largest size a grow may reach, else 0 */
	umfs_le64 grow_from_pages;   /* INCOMPAT_GROWING: data_pages before the grow, else 0 */
	umfs_le64 reserved[14];
	umfs_le32 reserved2;
	umfs_le32 csum;              /* crc32c of all bytes before this field */
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_superblock) == 384, "superblock size");

#define UMFS_SBF_RELAXED 0x1u /* default consistency mode: relaxed */

/* The state page holds what changes at run time. Each field is one aligned
 * 8-byte store, so it needs no checksum: readers validate the values. */
#define UMFS_STATE_MAGIC 0x4554415453464D55ull /* "UMFSTATE" */
#define UMFS_STATE_CLEAN 1u
#define UMFS_STATE_DIRTY 2u

struct umfs_state {
	umfs_le64 magic;        /* UMFS_STATE_MAGIC */
	umfs_le64 state;        /* UMFS_STATE_CLEAN or _DIRTY */
	umfs_le64 mount_count;  /* mounts since mkfs */
	umfs_le64 orphan_head;  /* first inode of the orphan list, 0 = empty */
	umfs_le64 last_mount_ns;
	umfs_le64 last_check_ns;
	umfs_le64 run_id;       /* names the runtime directory of the processes
	                         * using the pool (outside it, in DRAM); 0 = none */
	umfs_le64 errors;       /* UMFS_ERRORS_*: damage refused since the last repair */
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_state) == 64, "state size");

/* The allocator's free counts as the last clean unmount left them, right
 * after struct umfs_state. They hold only while umfs_state_counts_ok()
 * says so: the check word covers the counts and the state fields that any
 * mount or repair changes (mount_count, last_check_ns) and the geometry a
 * grow changes, so no writer needs to know of them to make them stale. */
#define UMFS_STATE_COUNTS_OFF 64
#define UMFS_STATE_COUNTS_MAGIC 0x544E43ull /* "CNT": the check's high half */

struct umfs_state_counts {
	umfs_le64 free_pages;  /* data pages clear in the page bitmap */
	umfs_le64 free_inodes; /* inodes clear in the inode bitmap */
	umfs_le64 check;       /* umfs_state_counts_check(); 0 = none kept */
	umfs_le64 reserved;
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_state_counts) == 32, "state counts size");

/* What the errors word records: the kinds of damage a program's call (or
 * the module) met and refused. Bits are only ever added, each with one
 * atomic 8-byte store; fsck.umfs then checks the pool fully even without
 * -f, and a repair that leaves no damage clears the word. */
#define UMFS_ERRORS_INODE 0x1ull   /* an inode, or the page tables it roots */
#define UMFS_ERRORS_DIR 0x2ull     /* a directory's entries, blocks or index */
#define UMFS_ERRORS_PBITMAP 0x4ull /* a page of the page bitmap failed its checksum */
#define UMFS_ERRORS_IBITMAP 0x8ull /* an inode in use was marked free */
#define UMFS_ERRORS_KNOWN 0xfull

/* ------------------------------------------------------------------ */
/* Metadata journal: undo log of byte ranges, one transaction per slot.  */
/* ------------------------------------------------------------------ */

#define UMFS_JSLOT_MAGIC 0x544F4C4A53464D55ull /* "UMFSJLOT" */

/* A slot is idle when active_seq is 0. A transaction snapshots each range
 * into a record before changing it in place; commit persists the ranges and
 * clears active_seq. Recovery restores the valid records of an active slot
 * in reverse order, then clears active_seq: idempotent. */
struct umfs_jslot_hdr {
	umfs_le64 magic;
	umfs_le64 active_seq; /* seq of the transaction in flight, 0 = idle */
	umfs_le64 next_seq;   /* hint: next sequence number to use */
	umfs_le32 slot;       /* index of this slot */
	umfs_le32 reserved0;
	umfs_le64 reserved[4];
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_jslot_hdr) == UMFS_CACHELINE, "jslot size");

/* Records follow the header back to back, each 8-byte aligned. Which
 * records count, and where slot i is: umfs_rules.h (umfs_jrec_check). */
struct umfs_jrec {
	umfs_le64 seq;
	umfs_le64 off;  /* pool offset of the saved range */
	umfs_le32 len;  /* bytes of saved data that follow */
	umfs_le32 csum; /* crc32c of seq, off, len and the data */
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_jrec) == 24, "jrec size");

/* ------------------------------------------------------------------ */
/* Inodes                                                               */
/* ------------------------------------------------------------------ */

#define UMFS_ROOT_INO 1ull /* inode 0 is never used */

/* Inode flags. */
#define UMFS_IF_ORPHAN 0x1u   /* nlink reached 0 while open: free at last close */
#define UMFS_IF_TRUNC 0x2u    /* pages beyond size are being freed */

/* Directory bookkeeping kept in the inode (see the directory section). */
struct umfs_dir_info {
	umfs_le64 parent;    /* inode of ".." */
	umfs_le64 nentries;  /* live entries, "." and ".." excluded */
	umfs_le32 gdepth;    /* global depth of the extendible hash */
	umfs_le32 nbuckets;  /* bucket pages in use; 0 = not indexed yet */
	umfs_le32 nblocks;   /* entry blocks in use */
	umfs_le32 hint_block; /* an entry block that had free slots */
};

struct umfs_inode {
	umfs_le32 mode;        /* S_IFMT | permission bits; 0 = free inode */
	umfs_le32 nlink;
	umfs_le32 uid;
	umfs_le32 gid;
	umfs_le64 size;        /* bytes; updated by single 8-byte stores */
	umfs_le64 blocks;      /* pages owned: data, tables */
	umfs_le64 atime_ns;    /* signed ns since the epoch */
	umfs_le64 mtime_ns;
	umfs_le64 ctime_ns;
	umfs_le64 btime_ns;
	/* cache line 1 */
	umfs_le64 pt_root;     /* pool offset of the root page, 0 = no pages */
	umfs_u8 pt_height;     /* 0: root is the data page at file offset 0;
	                        * 1: a 4 KiB-leaf table (2 MiB);
	                        * 2: a 2 MiB table (1 GiB); 3: a 1 GiB table
	                        * (512 GiB); 4: a 512 GiB table (256 TiB,
	                        * INCOMPAT_LEVEL4 only);
	                        * UMFS_PT_INLINE: pt_inline (pt_root 0) */
	umfs_u8 reserved0[3];
	umfs_le32 generation;  /* bumped each time the inode is reused */
	umfs_le64 ulog;        /* pool offset of the U-Log page, 0 = none */
	umfs_le32 flags;       /* UMFS_IF_* */
	umfs_le32 reserved1;
	umfs_le64 rdev;        /* device number of block/char nodes */
	umfs_le64 next_orphan; /* orphan list link */
	umfs_le32 reserved2;
	umfs_le32 csum;        /* crc32c of the identity fields, see below */
	union {
		struct {
			umfs_le64 reserved5;
			/* cache line 2 */
			struct umfs_dir_info dir; /* directories only, zero otherwise */
			umfs_le64 reserved3[4];
			/* cache line 3 */
			umfs_le64 reserved4[8];
		};
		/* pt_height UMFS_PT_INLINE (regular files only): the level-1
		 * entries of file pages 0..16, decoded like a table's */
		umfs_le64 pt_inline[17];
	};
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_dir_info) == 32, "dir info size");
UMFS_STATIC_ASSERT(sizeof(struct umfs_inode) == 256, "inode size");
UMFS_STATIC_ASSERT(__builtin_offsetof(struct umfs_inode, pt_root) == 64, "inode line 1");
UMFS_STATIC_ASSERT(__builtin_offsetof(struct umfs_inode, dir) == 128, "inode line 2");
UMFS_STATIC_ASSERT(__builtin_offsetof(struct umfs_inode, pt_inline) == 120, "inline table");

/* csum covers the identity block of umfs_rules.h (struct umfs_inode_id). */

/* ------------------------------------------------------------------ */
/* Per-file page tables (x86-64 format)                                  */
/* ------------------------------------------------------------------ */

#define UMFS_PTE_PRESENT (1ull << 0)
#define UMFS_PTE_RW (1ull << 1)
#define UMFS_PTE_USER (1ull << 2)
#define UMFS_PTE_ACCESSED (1ull << 5)
#define UMFS_PTE_DIRTY (1ull << 6)
#define UMFS_PTE_PSE (1ull << 7)      /* 2 MiB leaf in a level-2 table */
#define UMFS_PTE_SPECIAL (1ull << 9)  /* Linux _PAGE_SPECIAL: 4 KiB leaves */
#define UMFS_PTE_DEVMAP (1ull << 58)  /* Linux _PAGE_DEVMAP: 2 MiB leaves */
#define UMFS_PTE_NX (1ull << 63)
#define UMFS_PTE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define UMFS_PTE_HUGE_ADDR_MASK 0x000FFFFFFFE00000ull

/* present|rw|user|accessed|dirty: what Linux's pmd_bad() expects of tables */
#define UMFS_PTE_TABLE_FLAGS 0x67ull
#define UMFS_PTE_LEAF4K_FLAGS (0x67ull | UMFS_PTE_SPECIAL | UMFS_PTE_NX)
#define UMFS_PTE_LEAF2M_FLAGS (0x67ull | UMFS_PTE_PSE | UMFS_PTE_DEVMAP | UMFS_PTE_NX)

/*
 * An inline table: pt_height UMFS_PT_INLINE says the file's level-1
 * entries for file pages [0, UMFS_PT_INLINE_ENTRIES) are pt_inline, and
 * pt_root is 0. It saves the table page of a file of 2 to 17 pages (half
 * the files of a source tree); a file that needs page 17 or a 2 MiB leaf
 * moves them to a table page. Only with INCOMPAT_INLINE_TABLE, and only
 * for regular files: a directory's inode holds its dir info there.
 */
#define UMFS_PT_INLINE 0x81u
#define UMFS_PT_INLINE_ENTRIES 17u
UMFS_STATIC_ASSERT(sizeof(((struct umfs_inode *)0)->pt_inline) == UMFS_PT_INLINE_ENTRIES * 8,
		   "inline entries");

/* The level of the top table of a tree of height h (an inline table is a
 * level-1 table). */
static inline unsigned umfs_pt_top_level(unsigned h)
{
	return h == UMFS_PT_INLINE ? 1 : h;
}

/* Tree geometry, the same for libumfs and the module (struct umfs_inode:
 * pt_height). log2 of the file pages one entry of a level-`level` table
 * covers (level >= 1). */
static inline unsigned umfs_pt_level_shift(unsigned level)
{
	return (level - 1) * UMFS_PT_SHIFT;
}

/* File pages a tree of height h covers (its one data page at height 0). */
static inline umfs_u64 umfs_pt_cover(unsigned h)
{
	if (h == UMFS_PT_INLINE)
		return UMFS_PT_INLINE_ENTRIES;
	return (umfs_u64)1 << (h * UMFS_PT_SHIFT);
}

/* Smallest height whose tree covers file page pg. */
static inline unsigned umfs_pt_height_for(umfs_u64 pg)
{
	unsigned h = 0;

	while (pg >= umfs_pt_cover(h))
		h++;
	return h;
}

/* ------------------------------------------------------------------ */
/* Directories                                                          */
/* ------------------------------------------------------------------ */
/*
 * A directory is a file whose address space has three regions, all inside
 * the first GiB so that one level-2 table covers a whole directory:
 *   pages [0, DIR_BUCKET_PAGE0)                 entry blocks, never moved
 *   pages [DIR_BUCKET_PAGE0, DIR_MAP_PAGE0)     hash bucket pages
 *   pages [DIR_MAP_PAGE0, DIR_MAP_PAGE0 + 2^16) the bucket map: le32 bucket
 *                                               numbers, 2^gdepth of them
 * A directory of one entry block is scanned linearly (dir.nbuckets == 0);
 * when it needs a second block, the hash index is built: lookup is then
 * hash -> map[hash & (2^gdepth - 1)] -> bucket page -> entry slot
 * (extendible hashing: a full bucket splits, the map doubles).
 * Entries stay where they were written, so readdir cookies (slot positions)
 * are stable while other entries are created or removed. Cookie 0 is ".",
 * 1 is "..", and the entry at slot position p (block * 128 + slot) has
 * cookie p + 2.
 *
 * Only the pages the dir info counts are in use: blocks [0, nblocks),
 * buckets [0, nbuckets), and, once indexed, the map pages holding 2^gdepth
 * entries. Any other page mapped in these regions is a spare, whatever it
 * holds: the kernel module maps a directory's pages between libumfs's
 * transactions (docs/kmod.md), so an aborted or crashed change can leave
 * them. Whoever starts using a spare zeroes it first.
 */
#define UMFS_DIR_SLOT_SIZE 32
#define UMFS_DIR_SLOTS_PER_BLOCK (UMFS_PAGE_SIZE / UMFS_DIR_SLOT_SIZE) /* 128 */
#define UMFS_DIR_BUCKET_PAGE0 (1ull << 17)                  /* 512 MiB */
#define UMFS_DIR_MAP_PAGE0 (UMFS_DIR_BUCKET_PAGE0 + (1ull << 16)) /* 768 MiB */
#define UMFS_DIR_MAP_PAGES (1ull << 16) /* the map region's pages */
#define UMFS_DIR_MAX_BLOCKS UMFS_DIR_BUCKET_PAGE0
#define UMFS_DIR_MAX_BUCKETS (1ull << 16)
#define UMFS_DIR_MAX_DEPTH 24 /* 2^24 le32 map entries = 2^14 pages */

/* Slot 0 of every entry block: which slots are in use. */
struct umfs_dirblock_hdr {
	umfs_le64 used[2];   /* bit i set: slot i in use (bit 0: this header) */
	umfs_le32 magic;     /* UMFS_DIRBLOCK_MAGIC */
	umfs_le16 nfree;     /* free slots in this block */
	umfs_le16 reserved0;
	umfs_le64 reserved1;
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_dirblock_hdr) == UMFS_DIR_SLOT_SIZE, "dirblock hdr");
#define UMFS_DIRBLOCK_MAGIC 0x4B4C4244u /* "DBLK" */

/* An on-media directory entry: it starts at a slot and covers nslots
 * consecutive slots of one block. (The API's struct umfs_dirent in umfs.h is
 * the in-memory form returned by readdir.) */
struct umfs_dentry {
	umfs_le64 ino;
	umfs_le32 hash;    /* umfs_name_hash(name): also checks the name */
	umfs_u8 name_len;  /* 1..255 */
	umfs_u8 type;      /* DT_* value */
	umfs_u8 nslots;    /* slots covered */
	umfs_u8 check;     /* umfs_dentry_check(ino) with RO_COMPAT_DENTRY_CHECK, else 0 */
	char name[];       /* name_len bytes, no NUL */
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_dentry) == 16, "dentry size");

/* The check byte of an entry naming inode ino: 0xa5 XOR the 8 bytes of
 * ino. A change of ino confined to 8 consecutive bits (a flipped bit, a
 * rewritten byte) flips the same bits of the fold, so it is always caught;
 * any other change is caught 255 times in 256. Without it such a change
 * would make the entry name another live inode. (A free slot, all zero,
 * never checks.) */
static inline umfs_u8 umfs_dentry_check(umfs_u64 ino)
{
	ino ^= ino >> 32;
	ino ^= ino >> 16;
	ino ^= ino >> 8;
	return (umfs_u8)(0xa5 ^ ino);
}

#define UMFS_DIRENT_SLOTS(name_len) \
	((sizeof(struct umfs_dentry) + (name_len) + UMFS_DIR_SLOT_SIZE - 1) / UMFS_DIR_SLOT_SIZE)

/* A hash bucket page: entries are (hash << 32 | slot position). */
#define UMFS_BUCKET_MAGIC 0x544B4342u /* "BCKT" */
#define UMFS_BUCKET_ENTRIES 510
struct umfs_bucket {
	umfs_le32 magic;
	umfs_le16 local_depth;
	umfs_le16 count;
	umfs_le64 reserved;
	umfs_le64 ent[UMFS_BUCKET_ENTRIES];
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_bucket) == UMFS_PAGE_SIZE, "bucket size");

/* ------------------------------------------------------------------ */
/* U-Log: one page per file open for writing                              */
/* ------------------------------------------------------------------ */

#define UMFS_ULOG_MAGIC 0x474F4C5553464D55ull /* "UMFSULOG" */
#define UMFS_ULOG_REC_NONE 0u
#define UMFS_ULOG_REC_BYTES 1u  /* data[] holds the old bytes at file_off */
#define UMFS_ULOG_REC_PTES 2u   /* reserved: never written (1.0 placeholder) */
/* 1.1: a copy-on-write overwrite of file pages [rec_off, rec_off + rec_len):
 * the new pages were built in the orphan inode rec_aux_ino (generation
 * rec_aux_gen) and the first rec_done pages have been exchanged with the
 * file's, each exchange in the journal transaction that advances rec_done.
 * Rolling back exchanges them back; the orphan then frees what it holds. */
#define UMFS_ULOG_REC_SWAP 3u
/* 1.4: the file page at byte rec_off was given the chain's spare page:
 * data[] holds the leaf entry before and after (struct umfs_ulog_page,
 * rec_len bytes, covered by rec_csum). The leaf's store is the commit
 * point: recovery rolls forward when the leaf holds the new entry (the old
 * page becomes the spare) and back when it holds the old one (the new page
 * is the spare again). */
#define UMFS_ULOG_REC_PAGE 4u
struct umfs_ulog_page {
	umfs_le64 old_pte, new_pte;
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_ulog_page) == 16, "ulog page record size");

struct umfs_ulog {
	/* cache line 0: identity and cached attributes */
	umfs_le64 magic;
	umfs_le64 ino;
	umfs_le32 generation;
	umfs_le32 csum;      /* crc32c of magic, ino, generation */
	umfs_le64 size;      /* cached size while open */
	umfs_le64 mtime_ns;  /* cached times while open */
	umfs_le64 ctime_ns;
	umfs_le64 next;      /* pool offset of a chained U-Log page, 0 = none */
	umfs_le64 spare;     /* 1.4, head page: a data page the chain owns, 0 = none */
	/* cache line 1: the undo record of the write in flight */
	umfs_le64 rec_seq;   /* nonzero while the record is valid */
	umfs_le32 rec_kind;  /* UMFS_ULOG_REC_* */
	umfs_le32 rec_csum;  /* crc32c of the record header fields and data */
	umfs_le64 rec_off;   /* file offset of the saved bytes */
	umfs_le64 rec_len;   /* bytes (or pairs) saved */
	umfs_le64 rec_old_size;
	umfs_le64 rec_aux_ino; /* SWAP: the orphan holding the other pages */
	umfs_le64 rec_done;    /* SWAP: pages exchanged so far (journaled) */
	umfs_le32 rec_aux_gen; /* SWAP: generation of rec_aux_ino */
	umfs_le32 reserved1;
	/* BYTES records continue in the data[] of the chained pages, in order */
	umfs_u8 data[UMFS_PAGE_SIZE - 2 * UMFS_CACHELINE];
};
#define UMFS_ULOG_DATA_SIZE (UMFS_PAGE_SIZE - 2 * UMFS_CACHELINE)
#define UMFS_ULOG_MAX_PAGES 16 /* pages libumfs and the module chain (fsck allows 64) */
UMFS_STATIC_ASSERT(sizeof(struct umfs_ulog) == UMFS_PAGE_SIZE, "ulog size");

/* rec_csum is the crc32c of this image of the record's identity (then, for
 * BYTES, of its data): rec_done is not in it, since it moves. The module
 * checks SWAP records with it too. */
struct umfs_ulog_rec_id {
	umfs_le64 seq;
	umfs_le32 kind, aux_gen;
	umfs_le64 off, len, old_size, aux_ino;
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_ulog_rec_id) == 48, "ulog record id size");
UMFS_STATIC_ASSERT(__builtin_offsetof(struct umfs_ulog, rec_seq) == UMFS_CACHELINE, "ulog line 1");

#include "umfs_rules.h"

#endif /* UMFS_FORMAT_H */
