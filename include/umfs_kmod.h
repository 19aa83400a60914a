/* SPDX-License-Identifier: MIT */
/*
 * umfs_kmod.h - the ioctl ABI of the UMFS kernel module (/dev/umfs).
 *
 * Compiled by the module (kmod/) and by user space (kmod/lib, libumfs).
 * Every structure has fixed-width fields and a pinned size; reserved fields
 * must be zero on input (the module refuses others, so that they can take a
 * meaning later). docs/kmod.md has the same ABI as a table.
 *
 * Version history:
 *   1  MOUNT, UNMOUNT, ATTACH, DETACH, REVOKE, STATS; the pool mapping
 *      (mmap at UMFS_KMOD_POOL_OFFSET).
 *   2  EXTEND; STATS counts extends and extend_pages.
 *   3  SETATTR (chmod, chown) and FREE (truncate, punch, reclaim): the
 *      module writes mode, uid and gid and frees pages, revoking first;
 *      STATS counts setattrs, frees and freed_pages.
 *   4  EXCHANGE (copy-on-write overwrites): the module moves the entries a
 *      U-Log swap record names between a file and its shadow; STATS grows
 *      to 192 bytes and counts exchanges, exchange_pages and
 *      exchange_tables.
 *   5  CREATE, RELEASE and ULOG: the module allocates and frees inodes
 *      (their first mode, uid and gid come from the caller's credentials)
 *      and U-Log pages; STATS counts creates, releases and ulog_pages in
 *      three of its reserved words.
 *   6  EXTEND and FREE of directories.
 *   7  pools with inline tables and level-4 tables: ATTACH maps files
 *      past 512 GiB (UMFS_KMOD_MAX_SLOTS 2^18) and files whose entries are
 *      inline; EXTEND, FREE and EXCHANGE grow and shrink trees as libumfs
 *      does (a fourth level, inline entries moved to a table and back).
 */
#ifndef UMFS_KMOD_H
#define UMFS_KMOD_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/build_bug.h>
#define UMFS_KMOD_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#include <assert.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#define UMFS_KMOD_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#endif

#define UMFS_KMOD_DEVICE "/dev/umfs"
#define UMFS_KMOD_ABI_VERSION 7u
#define UMFS_KMOD_PATH_MAX 256

/* mmap(2) of /dev/umfs at this offset (CAP_SYS_ADMIN, MAP_SHARED, length up
 * to pool_size) maps the mounted pool itself: the same memory attachments
 * use, so stores are seen both ways at once (unlike /dev/pmemN's page
 * cache). For the user-space core, which still writes metadata and tables
 * in this version. UNMOUNT waits until no such mapping is left. */
#define UMFS_KMOD_POOL_OFFSET (1ull << 48)

/* One attachment slot: a PUD entry, 1 GiB of file. */
#define UMFS_KMOD_SLOT_SHIFT 30
#define UMFS_KMOD_SLOT_SIZE (1ull << UMFS_KMOD_SLOT_SHIFT)
/* 256 TiB, UMFS_MAX_FILE_SIZE (a level-4 tree): the most an ATTACH maps.
 * A pool without INCOMPAT_LEVEL4 stops at 512 slots, and a process at what
 * its address space holds (128 TiB with 4-level paging): EFBIG past either. */
#define UMFS_KMOD_MAX_SLOTS 262144u

/* MOUNT (CAP_SYS_ADMIN): take the pool on a pmem block device in fsdax mode,
 * which must not be open elsewhere (user space maps it through the page
 * cache; the module writes the media directly), or on a device DAX with
 * 4 KiB alignment (ENOTBLK: neither; EOPNOTSUPP: aligned above 4 KiB). */
struct umfs_kmod_mount {
	char path[UMFS_KMOD_PATH_MAX]; /* in: "/dev/pmem0" or "/dev/dax0.0", NUL-terminated */
	__u32 flags;                   /* in: 0 */
	__u32 reserved0;
	__u64 phys_base;      /* out: physical address of the pool */
	__u64 pool_size;      /* out: bytes */
	__u64 inodes_checked; /* out: in-use inodes validated */
	__u64 tables_checked; /* out: table pages validated */
	__u64 rebased;        /* out: table entries rewritten for a new phys_base */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_mount) == 320, "mount size");

/* ATTACH flags */
#define UMFS_KMOD_ATTACH_VERIFY 0x1u /* validate the file's whole tree now */

/* ATTACH: map file ino at a 1 GiB-aligned address of the calling process.
 * Read-write when (open_flags & O_ACCMODE) != O_RDONLY; a mapping is always
 * readable, so read permission is needed in every case. The range covers
 * the file's tree, its size and reserve, in whole GiB; a file past 512 GiB
 * (level-4 tables) spans several of the process's PUD pages. EFBIG past
 * the pool's largest file or the process's address space. */
struct umfs_kmod_attach {
	__u64 ino;        /* in */
	__u32 generation; /* in: must match the inode's */
	__u32 open_flags; /* in: O_RDONLY, O_WRONLY or O_RDWR (other bits ignored) */
	__u32 flags;      /* in: UMFS_KMOD_ATTACH_* */
	__u32 reserved0;
	__u64 reserve;    /* in: bytes of address space wanted at least (growth) */
	__u64 addr;       /* out: start of the mapping */
	__u64 len;        /* out: length, a multiple of 1 GiB */
	__u64 size;       /* out: the file's size when attached */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_attach) == 72, "attach size");

/* DETACH: unmap an attachment of the calling process (munmap works too). */
struct umfs_kmod_detach {
	__u64 addr; /* in: the addr ATTACH returned */
	__u64 reserved;
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_detach) == 16, "detach size");

/* REVOKE (CAP_SYS_ADMIN or the file's owner): unsplice ino in every process
 * before pages user space frees go (FREE and SETATTR revoke by themselves).
 * The mappings stay; touching them gives SIGBUS. */
struct umfs_kmod_revoke {
	__u64 ino;     /* in */
	__u64 revoked; /* out: attachments unspliced */
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_revoke) == 16, "revoke size");

/* EXTEND: the module allocates zeroed pages for the holes of file pages
 * [first, first + count) and links them into the file's page tree, growing
 * it, in one transaction of its own journal slot (4 KiB leaves): inline
 * while a regular file's pages lie below 17 (INCOMPAT_INLINE_TABLE), a
 * fourth level past 512 GiB (INCOMPAT_LEVEL4; EFBIG past the pool's largest
 * file). New leaves of an inline table appear in the file's attachments
 * at once, as those of a level-1 table page do. Needs write
 * permission on a regular file, ownership (or CAP_FOWNER) of a symlink (page
 * 0 only), write and search permission on a directory (pages inside its
 * layout: the new pages are spares until libumfs counts them, see
 * umfs_format.h); while a pool mapping exists, CAP_SYS_ADMIN as well. A call may stop early (its
 * journal slot is full, or the pool): done says how far the holes are
 * filled, stop_error why it stopped, and the call returns 0 whenever it
 * made progress (done or allocated), so that allocated is never lost to
 * the caller; without progress it returns the error itself. */
struct umfs_kmod_extend {
	__u64 ino;         /* in */
	__u32 generation;  /* in: must match the inode's */
	__u32 flags;       /* in: 0 */
	__u64 first;       /* in: first file page */
	__u64 count;       /* in: pages */
	__u64 done;        /* out: pages from first that are now present */
	__u64 allocated;   /* out: pool pages taken (data and tables) */
	__s32 stop_error;  /* out: -errno that stopped the call early, or 0 */
	__u32 reserved0;
	__u64 reserved1;
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_extend) == 64, "extend size");

/* SETATTR `valid` bits */
#define UMFS_KMOD_SETATTR_MODE 0x1u
#define UMFS_KMOD_SETATTR_UID 0x2u
#define UMFS_KMOD_SETATTR_GID 0x4u

/* SETATTR: chmod and chown, as the kernel decides them for the caller's
 * fsuid, groups and capabilities (chmod: the owner or CAP_FOWNER, and the
 * setgid bit goes unless the caller is in the file's group or has
 * CAP_FSETID; chown without CAP_CHOWN: only the owner, keeping its uid and
 * choosing one of its groups or the file's; any chown of a non-directory
 * drops setuid, and setgid when group-executable or when the caller is
 * outside the file's group without CAP_FSETID). mode, uid, gid and ctime change in one
 * transaction of the module's journal slot; then every attachment of the
 * inode is revoked, so the next ATTACH checks the new permissions. While a
 * pool mapping exists (root's libumfs writes inodes too), CAP_SYS_ADMIN as
 * well. On return mode, uid and gid hold the inode's new values. */
struct umfs_kmod_setattr {
	__u64 ino;        /* in */
	__u32 generation; /* in: must match the inode's */
	__u32 valid;      /* in: UMFS_KMOD_SETATTR_* (at least one) */
	__u32 mode;       /* in: permission bits (07777); out: the whole mode */
	__u32 uid;        /* in/out */
	__u32 gid;        /* in/out */
	__u32 reserved0;
	__u64 ctime_ns;   /* out: the inode's new ctime */
	__u64 revoked;    /* out: attachments revoked */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_setattr) == 64, "setattr size");

/* FREE: the module revokes every attachment of the file, then frees its
 * pages [first, first + count) in one transaction of its journal slot:
 * leaves and 2 MiB leaves wholly inside the range, tables left empty, and
 * root tables the tree no longer needs (a level-1 root with nothing past
 * entry 16 moves inline, as libumfs's truncate does); a 2 MiB leaf cut by the range is
 * split, its last dropped page becoming the new table (a free never
 * allocates). It does not touch size: truncate publishes the new size
 * first, punch zeroes first, so the pages are garbage when they go. Needs
 * what EXTEND needs; a directory must have no names left (EBUSY: its pages
 * hold entries), and CAP_SYS_ADMIN while a pool mapping
 * exists. A call may stop early (its journal slot is full): `more` is then
 * 1 and the caller calls again; what it freed is whole and committed. */
struct umfs_kmod_free {
	__u64 ino;         /* in */
	__u32 generation;  /* in: must match the inode's */
	__u32 flags;       /* in: 0 */
	__u64 first;       /* in: first file page */
	__u64 count;       /* in: pages (clipped to the largest file) */
	__u64 freed;       /* out: pool pages freed (data and tables) */
	__u64 revoked;     /* out: attachments revoked */
	__u32 more;        /* out: 1 when pages of the range may be left */
	__u32 reserved0;
	__u64 reserved1;
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_free) == 64, "free size");

/* EXCHANGE: carries out, or rolls back, the copy-on-write overwrite that
 * the swap record (UMFS_ULOG_REC_SWAP) of the file's U-Log describes. The
 * module reads the record itself from the page the inode's ulog field
 * names (magic, ino, generation and record checksum checked), revokes
 * every attachment of the file and of the shadow (rec_aux_ino: a regular,
 * unnamed orphan of generation rec_aux_gen), then exchanges the table
 * entries of file pages [rec_off + rec_done, rec_off + rec_len) with the
 * shadow's (or, with UMFS_KMOD_EXCHANGE_BACK, those of [rec_off, rec_off +
 * rec_done)), advancing (or counting down) rec_done in the same
 * transaction of its journal slot. A 2 MiB leaf on either side moves with
 * its whole region (which must lie inside the record); other steps are runs
 * of 4 KiB entries within one table. A side that lacks the table for a step
 * gets one (the only allocation: table pages). The caller needs read and
 * write permission on both inodes, and CAP_SYS_ADMIN while a pool mapping
 * exists. A call may stop early (its journal slot is full): `more` is then
 * 1 and the caller calls again; every committed step leaves both trees
 * valid, their block counts exact and rec_done true. The record stays:
 * retiring it is the caller's. */
#define UMFS_KMOD_EXCHANGE_BACK 0x1u
struct umfs_kmod_exchange {
	__u64 ino;         /* in: the file whose U-Log holds the record */
	__u32 generation;  /* in: must match the inode's */
	__u32 flags;       /* in: 0 (forward) or UMFS_KMOD_EXCHANGE_BACK */
	__u64 done;        /* out: the record's rec_done after the call */
	__u64 pages;       /* out: file pages whose entries this call exchanged */
	__u64 tables;      /* out: table pages this call created */
	__u64 revoked;     /* out: attachments revoked (file and shadow) */
	__u32 more;        /* out: 1 when the record is not finished */
	__u32 reserved0;
	__u64 reserved1;
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_exchange) == 64, "exchange size");

/* CREATE: the module takes a free inode from the inode bitmap and makes it
 * an unnamed orphan (nlink 0, UMFS_IF_ORPHAN, pushed on the state page's
 * orphan list) in one transaction of its journal slot, so that a crash
 * before a name points at it frees it at the next mount. mode is the file
 * type and its permission bits (the caller applied its umask); uid is the
 * caller's fsuid and gid its fsgid, or the parent's gid when the parent
 * directory is setgid (a new directory then inherits S_ISGID). There, a
 * group-executable non-directory loses S_ISGID when the caller is outside
 * that group and lacks CAP_FSETID, as the kernel's inode_init_owner
 * decides. parent 0 makes an inode no directory will name (a copy-on-write
 * shadow); otherwise the caller needs write and search permission on that
 * live directory (ENOENT if it is free, of another generation or removed),
 * and a new directory's dir.parent names it. The
 * caller names the inode in its own transaction (nlink up, off the orphan
 * list), or gives it back with RELEASE. CAP_SYS_ADMIN while a pool mapping
 * exists. */
struct umfs_kmod_create {
	__u64 parent;            /* in: directory, or 0 */
	__u32 parent_generation; /* in: must match the parent's (0 if no parent) */
	__u32 mode;              /* in: S_IFMT type | 07777 */
	__u64 rdev;              /* in: S_IFCHR and S_IFBLK only, else 0 */
	__u64 ino;               /* out */
	__u32 generation;        /* out */
	__u32 uid;               /* out */
	__u32 gid;               /* out */
	__u32 out_mode;          /* out: the mode the inode got */
	__u64 ctime_ns;          /* out: its times */
	__u64 reserved;
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_create) == 64, "create size");

/* RELEASE: gives back an inode that no name points at (nlink 0) and that
 * holds no pages (pt_root 0 and blocks 0; FREE them first): its U-Log pages
 * go back to the bitmap, it leaves the orphan list, its bytes are zeroed
 * (the generation is kept, so stale handles notice reuse) and its bit in
 * the inode bitmap is cleared, in one transaction of the module's journal
 * slot, after every attachment of it was revoked. Needs write permission
 * on the inode, and CAP_SYS_ADMIN while a pool mapping exists. */
struct umfs_kmod_release {
	__u64 ino;          /* in */
	__u32 generation;   /* in: must match the inode's */
	__u32 flags;        /* in: 0 */
	__u64 ulog_freed;   /* out: U-Log pages given back */
	__u64 revoked;      /* out: attachments revoked */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_release) == 48, "release size");

/* ULOG: sets the length of the inode's U-Log chain. pages >= 1 grows the
 * chain to at least that many pages (UMFS_ULOG_MAX_PAGES at most): each
 * new page is zeroed, stamped (magic, ino, generation, csum) and linked
 * after the last, or named by the inode's ulog field. pages 0 gives the
 * whole chain back and clears ulog; the head must hold no live record
 * (rec_seq 0, else EBUSY). Dropping a chain with a bad link frees the
 * pages before it and clears ulog (the pages past it are left to fsck);
 * growing one is refused (EUCLEAN). One transaction of the module's journal slot.
 * Needs read permission on the inode (every opener keeps attributes in its
 * U-Log), and CAP_SYS_ADMIN while a pool mapping exists. */
struct umfs_kmod_ulog {
	__u64 ino;          /* in */
	__u32 generation;   /* in: must match the inode's */
	__u32 pages;        /* in: chain length wanted (0: none) */
	__u64 head;         /* out: pool offset of the first page, 0 if none */
	__u32 count;        /* out: pages in the chain now */
	__u32 reserved0;
	__u64 allocated;    /* out: pages this call took */
	__u64 freed;        /* out: pages this call gave back */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_ulog) == 64, "ulog size");

/* STATS: counters of the module since it was loaded. */
struct umfs_kmod_stats {
	__u32 abi_version; /* UMFS_KMOD_ABI_VERSION */
	__u32 mounted;     /* 1 when a pool is mounted */
	__u64 live;        /* attachments that exist (mapped, spliced or not) */
	__u64 spliced;     /* attachments whose PUD entries are in place */
	__u64 attaches;    /* successful ATTACH calls */
	__u64 detaches;    /* attachments gone (DETACH, munmap, exit) */
	__u64 unsplices;   /* attachments unspliced (munmap, exit, revoke, mremap) */
	__u64 revokes;     /* attachments unspliced by REVOKE */
	__u64 promoted;    /* DRAM table pages live for files of height < 2 */
	__u64 tlb_flushes; /* all-CPU TLB flushes */
	__u64 pud_pages;   /* process PUD pages the module had to allocate */
	__u64 poolmaps;    /* live vmas mapping the pool (UMFS_KMOD_POOL_OFFSET) */
	__u64 extends;     /* EXTEND calls that committed */
	__u64 extend_pages; /* pool pages EXTEND allocated */
	__u64 setattrs;    /* SETATTR calls that committed */
	__u64 frees;       /* FREE calls that committed */
	__u64 freed_pages; /* pool pages FREE gave back (data and tables) */
	__u64 exchanges;   /* EXCHANGE calls that committed */
	__u64 exchange_pages;  /* file pages whose entries EXCHANGE moved */
	__u64 exchange_tables; /* table pages EXCHANGE created */
	__u64 creates;     /* CREATE calls that committed */
	__u64 releases;    /* RELEASE calls that committed */
	__u64 ulog_pages;  /* U-Log pages ULOG allocated */
	__u64 reserved[2];
};
UMFS_KMOD_STATIC_ASSERT(sizeof(struct umfs_kmod_stats) == 192, "stats size");

#define UMFS_KMOD_IOC_MAGIC 0xB7
#define UMFS_KMOD_IOC_MOUNT _IOWR(UMFS_KMOD_IOC_MAGIC, 1, struct umfs_kmod_mount)
#define UMFS_KMOD_IOC_UNMOUNT _IO(UMFS_KMOD_IOC_MAGIC, 2)
#define UMFS_KMOD_IOC_ATTACH _IOWR(UMFS_KMOD_IOC_MAGIC, 3, struct umfs_kmod_attach)
#define UMFS_KMOD_IOC_DETACH _IOW(UMFS_KMOD_IOC_MAGIC, 4, struct umfs_kmod_detach)
#define UMFS_KMOD_IOC_REVOKE _IOWR(UMFS_KMOD_IOC_MAGIC, 5, struct umfs_kmod_revoke)
#define UMFS_KMOD_IOC_STATS _IOR(UMFS_KMOD_IOC_MAGIC, 6, struct umfs_kmod_stats)
#define UMFS_KMOD_IOC_EXTEND _IOWR(UMFS_KMOD_IOC_MAGIC, 7, struct umfs_kmod_extend)
#define UMFS_KMOD_IOC_SETATTR _IOWR(UMFS_KMOD_IOC_MAGIC, 8, struct umfs_kmod_setattr)
#define UMFS_KMOD_IOC_FREE _IOWR(UMFS_KMOD_IOC_MAGIC, 9, struct umfs_kmod_free)
#define UMFS_KMOD_IOC_EXCHANGE _IOWR(UMFS_KMOD_IOC_MAGIC, 10, struct umfs_kmod_exchange)
#define UMFS_KMOD_IOC_CREATE _IOWR(UMFS_KMOD_IOC_MAGIC, 11, struct umfs_kmod_create)
#define UMFS_KMOD_IOC_RELEASE _IOWR(UMFS_KMOD_IOC_MAGIC, 12, struct umfs_kmod_release)
#define UMFS_KMOD_IOC_ULOG _IOWR(UMFS_KMOD_IOC_MAGIC, 13, struct umfs_kmod_ulog)

#endif /* UMFS_KMOD_H */
