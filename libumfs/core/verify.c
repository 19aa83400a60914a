/* SPDX-License-Identifier: MIT */
/*
 * verify.c - the serving path's check of an inode before the core hands it
 * out.
 *
 * fsck.umfs checks a pool at rest; the pool a process serves may have been
 * damaged since (a stray write through another mapping, a bad cell, a
 * pool edited by hand). Every inode the core hands to a caller (each
 * component of a path walk, the root included; an inode opened by number;
 * fstat) is first checked on its own: in use, a file type the format
 * knows, permission bits only, the identity checksum, and the ranges the
 * core relies on when it follows the inode: page-table root and height,
 * U-Log page, device number, a size the format can hold, a directory's
 * bookkeeping. One CRC-32C of the 48-byte identity block and a few
 * compares: reads and writes through an open file are not checked again.
 *
 * A damaged inode answers -EUCLEAN for itself alone, and is logged once
 * (report.c). So is a directory entry that names no inode in use, an inode
 * of another type than it says, or a directory that lives elsewhere.
 *
 * Changes in flight. The identity fields change only inside transactions,
 * under the metadata lock (every process's, on a shared mount), and are
 * resealed before it is released; the directory bookkeeping and a
 * directory's size likewise. A check made without the lock (fstat) may see
 * another process's transaction half done, so a failure there is checked
 * again under the lock before it counts; inside umfs_meta_read's first,
 * unlocked run it only sends the caller to run again under the lock. Two
 * writers do not take that lock: the kernel module (EXTEND grows a file's
 * tree, FREE and ULOG change it, each under the module's own lock) and,
 * for a pool this process mounted read-only (no locks), every other
 * process. There, damage is a failure that lasts: it must stay over
 * SETTLE_TRIES re-reads SETTLE_NS apart (about 10 ms), once per damage (a
 * damage already reported is known at once).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "verify.h"
#include "backend.h"
#include "dir.h"
#include "inode.h"
#include "os.h"
#include "ptable.h"
#include "report.h"

#define SETTLE_TRIES 100
#define SETTLE_NS 100000

enum damage {
	DMG_NONE,
	DMG_RANGE,   /* not a number of the inode zone */
	DMG_FREE,    /* its bitmap bit is clear or its mode is 0 */
	DMG_MODE,    /* an unknown file type, or bits beyond 07777 */
	DMG_CSUM,    /* the identity checksum does not match */
	DMG_TREE,    /* page-table root or height out of range */
	DMG_ULOG,    /* U-Log page outside the data zone */
	DMG_RDEV,    /* a device number on something not a device */
	DMG_SIZE,    /* a size the file's type cannot have */
	DMG_DIR,     /* directory bookkeeping out of range */
};

static const char *const damage_what[] = {
	[DMG_RANGE] = "not an inode of the pool",
	[DMG_FREE] = "not in use",
	[DMG_MODE] = "invalid mode",
	[DMG_CSUM] = "identity checksum mismatch",
	[DMG_TREE] = "page-table root or height out of range",
	[DMG_ULOG] = "U-Log page outside the data zone",
	[DMG_RDEV] = "device number on a file that is not a device",
	[DMG_SIZE] = "size out of range for its type",
	[DMG_DIR] = "directory size, index or parent out of range",
};

static bool mode_known(uint32_t mode)
{
	return !(mode & ~(uint32_t)(S_IFMT | 07777)) && umfs_dtype_known(mode >> 12);
}

/* The hot fields the serving path relies on, by type. */
static inline __attribute__((always_inline)) enum damage check_by_type(const struct umfs_fs *fs, const struct umfs_inode *in,
				 uint32_t mode)
{
	uint64_t size = in->size;

	if (S_ISDIR(mode))
		return umfs_dir_info_sane(in) &&
		       size == (uint64_t)in->dir.nblocks << UMFS_PAGE_SHIFT &&
		       in->dir.parent - UMFS_ROOT_INO < fs->inode_count - UMFS_ROOT_INO
			       ? DMG_NONE : DMG_DIR;
	/* an empty symlink is sound to fsck: it is refused when followed */
	return size > (S_ISLNK(mode) ? UMFS_SYMLINK_MAX : umfs_fs_max_size(fs)) ? DMG_SIZE : DMG_NONE;
}

static inline __attribute__((always_inline)) enum damage inode_check(const struct umfs_fs *fs,
								      uint64_t ino)
{
	const struct umfs_inode *in;
	uint32_t mode;

	if (ino - UMFS_ROOT_INO >= fs->inode_count - UMFS_ROOT_INO)
		return DMG_RANGE;
	in = umfs_inode(fs, ino);
	/* the checks read the first two cache lines (a directory's three):
	 * fetched together, their misses overlap rather than queue */
	__builtin_prefetch((const char *)in + 64);
	__builtin_prefetch((const char *)in + 128);
	mode = in->mode;
	if (mode == 0 || !(fs->ibitmap[ino / 64] >> (ino % 64) & 1))
		return DMG_FREE;
	if (!mode_known(mode))
		return DMG_MODE;
	if (umfs_inode_csum(in) != in->csum)
		return DMG_CSUM;
	if (!umfs_inode_tree_ok(&fs->geom, mode, in->pt_height, in->pt_root))
		return DMG_TREE;
	if (in->ulog && !umfs_off_is_page(fs, in->ulog))
		return DMG_ULOG;
	if (in->rdev && !S_ISCHR(mode) && !S_ISBLK(mode))
		return DMG_RDEV;
	return check_by_type(fs, in, mode);
}

/* Tells one damage of an inode from another: the fields the checks read. */
static uint32_t damage_sig(const struct umfs_fs *fs, uint64_t ino)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint32_t sig = umfs_inode_csum(in) ^ in->csum;

	sig = umfs_crc32c(sig, &in->size, sizeof(in->size));
	return umfs_crc32c(sig, &in->dir, sizeof(in->dir));
}

/* Writers that do not take the metadata lock may be changing the pool. */
static bool changes_unlocked(const struct umfs_fs *fs)
{
	return fs->be->unlocked_writers || fs->pm.rdonly;
}

/* meta_lock held: the failure of a first check, confirmed or not. */
static enum damage inode_settle(struct umfs_fs *fs, uint64_t ino)
{
	enum damage why = inode_check(fs, ino);
	const struct timespec pause = { 0, SETTLE_NS };

	if (why == DMG_NONE || why == DMG_RANGE || !changes_unlocked(fs) ||
	    umfs_damage_known(fs, ino, damage_sig(fs, ino)))
		return why;
	for (int i = 0; i < SETTLE_TRIES && why != DMG_NONE; i++) {
		OS(nanosleep)(&pause, NULL);
		why = inode_check(fs, ino);
	}
	return why;
}

static void inode_report(struct umfs_fs *fs, uint64_t ino, enum damage why)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);

	if (why == DMG_MODE)
		umfs_damage_report(fs, ino, damage_sig(fs, ino),
				   "inode %" PRIu64 ": invalid mode 0%o (run fsck.umfs)", ino, in->mode);
	else
		umfs_damage_report(fs, ino, damage_sig(fs, ino), "inode %" PRIu64 ": %s (run fsck.umfs)",
				   ino, damage_what[why]);
}

int umfs_file_damaged(struct umfs_fs *fs, uint64_t ino)
{
	/* a write refused for want of a sound bitmap page (reported there)
	 * blames the file only if its own tree is damaged too */
	if (fs->bsum_nrefused &&
	    !umfs_pt_check_owned(fs, umfs_inode(fs, ino), 0, umfs_fs_max_pages(fs) - 1))
		return -EUCLEAN;
	umfs_damage_report(fs, ino, UMFS_DAMAGE_TREESIG,
			   "inode %" PRIu64 ": page table damaged: an entry names no page its "
			   "level allows in the data zone, or one the page bitmap calls free "
			   "(run fsck.umfs -f)", ino);
	return -EUCLEAN;
}

static __attribute__((noinline)) int inode_verify_slow(struct umfs_fs *fs, uint64_t ino,
							bool locked)
{
	enum damage why;

	if (umfs_meta_unlocked)
		return -EUCLEAN; /* checked again under the lock (umfs_meta_read) */
	if (!locked)
		umfs_meta_lock(fs);
	why = inode_settle(fs, ino);
	if (why != DMG_NONE && why != DMG_RANGE)
		inode_report(fs, ino, why);
	if (!locked)
		umfs_meta_unlock(fs);
	return why == DMG_NONE ? 0 : -EUCLEAN;
}

int umfs_inode_verify(struct umfs_fs *fs, uint64_t ino, bool locked)
{
	if (UMFS_LIKELY(inode_check(fs, ino) == DMG_NONE))
		return 0;
	return inode_verify_slow(fs, ino, locked);
}

static const char *dtype_name(unsigned char type)
{
	switch (type) {
	case DT_REG: return "a regular file";
	case DT_DIR: return "a directory";
	case DT_LNK: return "a symbolic link";
	case DT_CHR: return "a character device";
	case DT_BLK: return "a block device";
	case DT_FIFO: return "a FIFO";
	case DT_SOCK: return "a socket";
	default: return "an unknown type";
	}
}

/* A directory has one name, in the directory its ".." names: an entry
 * naming a directory elsewhere was redirected (it would also make a
 * loop or a second path to a subtree). */
static bool entry_parent_agrees(const struct umfs_fs *fs, uint64_t dir, const char *name,
				size_t len, uint64_t ino)
{
	return umfs_inode(fs, ino)->dir.parent == dir || (len == 2 && name[0] == '.' && name[1] == '.');
}

static __attribute__((noinline)) int dentry_verify_slow(struct umfs_fs *fs, uint64_t dir,
							 const char *name, size_t len, uint64_t ino,
							 unsigned char type)
{
	enum damage why;
	unsigned char actual = DT_UNKNOWN;
	uint32_t sig = umfs_name_hash(name, len) ^ (uint32_t)ino;

	if (umfs_meta_unlocked)
		return -EUCLEAN; /* as in inode_verify_slow */
	why = inode_settle(fs, ino);
	if (why == DMG_NONE) {
		actual = (unsigned char)IFTODT(umfs_inode(fs, ino)->mode);
		if (actual == type && (type != DT_DIR || entry_parent_agrees(fs, dir, name, len, ino)))
			return 0;
		if (actual == type)
			umfs_damage_report(fs, dir | UMFS_DAMAGE_ENTRY, sig,
					   "inode %" PRIu64 ": entry \"%.*s\" names directory %" PRIu64
					   ", whose parent is inode %" PRIu64 " (run fsck.umfs)",
					   dir, (int)len, name, ino, umfs_inode(fs, ino)->dir.parent);
		else
			umfs_damage_report(fs, dir | UMFS_DAMAGE_ENTRY, sig,
					   "inode %" PRIu64 ": entry \"%.*s\" says %s, but inode %" PRIu64
					   " is %s (run fsck.umfs)",
					   dir, (int)len, name, dtype_name(type), ino, dtype_name(actual));
	} else if (why == DMG_RANGE || why == DMG_FREE) {
		umfs_damage_report(fs, dir | UMFS_DAMAGE_ENTRY, sig,
				   "inode %" PRIu64 ": entry \"%.*s\" names inode %" PRIu64
				   ", which is %s (run fsck.umfs)",
				   dir, (int)len, name, ino, damage_what[why]);
	} else {
		inode_report(fs, ino, why); /* the inode's damage, not the entry's */
	}
	return -EUCLEAN;
}

int umfs_dentry_verify(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		       uint64_t ino, unsigned char type)
{
	if (UMFS_LIKELY(inode_check(fs, ino) == DMG_NONE &&
			IFTODT(umfs_inode(fs, ino)->mode) == type &&
			(type != DT_DIR || entry_parent_agrees(fs, dir, name, len, ino))))
		return 0;
	return dentry_verify_slow(fs, dir, name, len, ino, type);
}
