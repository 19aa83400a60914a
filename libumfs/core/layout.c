/* SPDX-License-Identifier: MIT */
/*
 * layout.c - pool geometry, formatting, superblock checksum and validation.
 *
 * Pool layout, in order (all page aligned):
 *   page 0            primary superblock
 *   page 1            state page (clean/dirty, orphan list head)
 *   journal           journal_slots x journal_slot_size
 *   inode zone        inode_count x 256 bytes (inode 0 unused)
 *   inode bitmap      1 bit per inode; bits past inode_count set
 *   page bitmap       1 bit per data page of the largest size the pool may
 *                     grow to (max_pool_size); bits past data_pages set
 *   bitmap sums       one le64 checksum per 4 KiB of that page bitmap
 *   (padding)         up to the next 2 MiB boundary
 *   data zone         data_pages x 4 KiB, 2 MiB aligned for 2 MiB leaves
 *   last page         backup superblock
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "os.h"
#include "persist.h"
#include "umfs_tools.h"

#define BYTES_PER_INODE_DEFAULT (16u << 10)
#define INODES_MIN 16u

static uint64_t page_align(uint64_t n)
{
	return UMFS_ALIGN_UP(n, UMFS_PAGE_SIZE);
}

/* The default maximum: this many times the size. */
#define GROW_FACTOR 8u

static int geometry_lay(uint64_t pool_size, uint64_t inode_count, uint64_t max_size,
			struct umfs_geometry *g, const char **why)
{
	uint64_t off, max_pages, ibitmap_len, pbitmap_len, meta_end;
	uint64_t bsum_len;

	memset(g, 0, sizeof(*g));
	pool_size &= ~(uint64_t)(UMFS_PAGE_SIZE - 1);
	if (pool_size < UMFS_MIN_POOL_SIZE) {
		*why = "pool is smaller than the 8 MiB minimum";
		return -EINVAL;
	}
	if (inode_count == 0)
		inode_count = UMFS_MAX(pool_size / BYTES_PER_INODE_DEFAULT, INODES_MIN);
	if (inode_count > (1ull << 32)) {
		*why = "more than 2^32 inodes";
		return -EINVAL;
	}
	/* +1 for the unused inode 0; fill the last inode page */
	inode_count = UMFS_ALIGN_UP(inode_count + 1, UMFS_PAGE_SIZE / sizeof(struct umfs_inode));

	g->pool_size = pool_size;
	g->inode_count = inode_count;
	/* Small pools get a smaller journal; each slot holds one transaction. */
	g->journal_slots = pool_size < (64ull << 20) ? 2 : 4;
	g->journal_slot_size = pool_size < (64ull << 20) ? (128u << 10) : (256u << 10);

	off = UMFS_PAGE_SIZE; /* after the superblock */
	g->state_off = off;
	off += UMFS_PAGE_SIZE;
	g->journal_off = off;
	off += (uint64_t)g->journal_slots * g->journal_slot_size;
	g->inode_off = off;
	off += page_align(inode_count * sizeof(struct umfs_inode));
	g->ibitmap_off = off;
	ibitmap_len = page_align(UMFS_DIV_ROUND_UP(inode_count, 64) * 8);
	off += ibitmap_len;
	g->pbitmap_off = off;
	/* Size the page bitmap for every page of the largest pool it may grow
	 * to: a slight overestimate that avoids solving for the zone sizes. */
	g->max_pool_size = max_size;
	max_pages = max_size >> UMFS_PAGE_SHIFT;
	pbitmap_len = page_align(UMFS_DIV_ROUND_UP(max_pages, 64) * 8);
	off += pbitmap_len;
	g->bsum_off = off;
	bsum_len = page_align(umfs_bsum_count(max_pages) * 8); /* as many as the bitmap holds */
	off += bsum_len;
	meta_end = off;
	g->data_off = UMFS_ALIGN_UP(meta_end, UMFS_HUGE_SIZE);
	g->backup_sb_off = pool_size - UMFS_PAGE_SIZE;
	if (g->data_off + 64ull * UMFS_PAGE_SIZE > g->backup_sb_off) {
		*why = "too many inodes for the pool size: no room left for data";
		return -EINVAL;
	}
	g->data_pages = (g->backup_sb_off - g->data_off) >> UMFS_PAGE_SHIFT;
	return 0;
}

int umfs_geometry_plan_max(uint64_t pool_size, uint64_t inode_count, uint64_t max_size,
			   struct umfs_geometry *g, const char **why)
{
	/* what a page-table entry addresses, with a physical base of 0 */
	const uint64_t cap = UMFS_PTE_ADDR_MASK;
	uint64_t max;
	int err;

	pool_size &= ~(uint64_t)(UMFS_PAGE_SIZE - 1);
	max_size &= ~(uint64_t)(UMFS_PAGE_SIZE - 1);
	if (max_size) {
		if (max_size < pool_size) {
			*why = "the maximum size is below the pool size";
			return -EINVAL;
		}
		if (max_size > cap) {
			*why = "the maximum size is past what page-table entries address";
			return -EINVAL;
		}
		return geometry_lay(pool_size, inode_count, max_size, g, why);
	}
	/* the default: GROW_FACTOR times the size, or less where the larger
	 * bitmap leaves no room for data */
	max = pool_size > cap / GROW_FACTOR ? cap : pool_size * GROW_FACTOR;
	for (;;) {
		err = geometry_lay(pool_size, inode_count, max, g, why);
		if (!err || max <= pool_size)
			return err;
		max = UMFS_MAX(pool_size, UMFS_ALIGN_DOWN(max / 2, UMFS_PAGE_SIZE));
	}
}

int umfs_geometry_plan(uint64_t pool_size, uint64_t inode_count, struct umfs_geometry *g,
		       const char **why)
{
	return umfs_geometry_plan_max(pool_size, inode_count, 0, g, why);
}

static void bitmap_set_range(uint64_t *bm, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		bm[i / 64] |= 1ull << (i % 64);
}

/* The checksum of every page of the page bitmap pbm (umfs_rules.h). */
static void bsums_write(uint64_t *sums, const uint64_t *pbm, uint64_t data_pages)
{
	uint64_t words = umfs_pbitmap_words(data_pages);

	for (uint64_t i = 0; i < umfs_bsum_count(data_pages); i++)
		sums[i] = umfs_bsum_of(pbm, words, i);
}

/* Fallback when the kernel's random pool cannot be read. */
static void uuid_from_clock(uint8_t uuid[16])
{
	uint64_t a = (uint64_t)umfs_now_ns(), b = ((uint64_t)OS(getpid)() << 32) ^ a;

	memcpy(uuid, &a, 8);
	memcpy(uuid + 8, &b, 8);
}

static void format_superblock(struct umfs_superblock *sb, const struct umfs_geometry *g,
			      const struct umfs_format_opts *opts)
{
	memset(sb, 0, sizeof(*sb));
	sb->magic = UMFS_SB_MAGIC;
	sb->version_major = UMFS_VERSION_MAJOR;
	sb->version_minor = UMFS_VERSION_MINOR;
	sb->sb_size = sizeof(*sb);
	sb->page_size = UMFS_PAGE_SIZE;
	sb->feature_ro_compat =
		UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK | UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS |
		UMFS_FEATURE_RO_COMPAT_ULOG_SPARE;
	if (opts && opts->uuid)
		memcpy(sb->uuid, opts->uuid, sizeof(sb->uuid));
	else if (OS(getrandom)(sb->uuid, sizeof(sb->uuid), 0) != sizeof(sb->uuid))
		uuid_from_clock(sb->uuid);
	sb->uuid[6] = (uint8_t)((sb->uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	sb->uuid[8] = (uint8_t)((sb->uuid[8] & 0x3f) | 0x80);
	if (opts && opts->label)
		strncpy(sb->label, opts->label, sizeof(sb->label) - 1);
	sb->pool_size = g->pool_size;
	sb->state_off = g->state_off;
	sb->journal_off = g->journal_off;
	sb->journal_slots = g->journal_slots;
	sb->journal_slot_size = g->journal_slot_size;
	sb->inode_off = g->inode_off;
	sb->inode_count = g->inode_count;
	sb->inode_size = sizeof(struct umfs_inode);
	sb->ibitmap_off = g->ibitmap_off;
	sb->pbitmap_off = g->pbitmap_off;
	sb->bsum_off = g->bsum_off;
	sb->feature_compat = UMFS_FEATURE_COMPAT_GROWABLE;
	sb->feature_incompat = (opts && opts->no_inline ? 0 : UMFS_FEATURE_INCOMPAT_INLINE_TABLE) |
			       (opts && opts->no_level4 ? 0 : UMFS_FEATURE_INCOMPAT_LEVEL4);
	sb->max_pool_size = g->max_pool_size;
	sb->data_off = g->data_off;
	sb->data_pages = g->data_pages;
	sb->backup_sb_off = g->backup_sb_off;
	sb->phys_base = 0; /* plain files; the kernel module rebases device pools */
	sb->root_ino = UMFS_ROOT_INO;
	sb->mkfs_time_ns = (uint64_t)umfs_now_ns();
	sb->default_flags = opts ? opts->default_flags : 0;
	sb->csum = umfs_sb_csum(sb);
}

static void format_root(struct umfs_inode *root)
{
	int64_t now = umfs_now_ns();

	memset(root, 0, sizeof(*root));
	root->mode = S_IFDIR | 0755;
	root->nlink = 2;
	root->uid = (uint32_t)OS(geteuid)();
	root->gid = (uint32_t)OS(getegid)();
	root->atime_ns = root->mtime_ns = root->ctime_ns = root->btime_ns = (uint64_t)now;
	root->generation = 1;
	root->dir.parent = UMFS_ROOT_INO;
	umfs_inode_seal(root);
}

int umfs_format(struct umfs_pmem *pm, const struct umfs_format_opts *opts,
		struct umfs_geometry *out)
{
	struct umfs_geometry g;
	struct umfs_superblock sb;
	struct umfs_state *st;
	uint8_t *base = pm->base;
	const char *why;
	int err;

	if (pm->rdonly)
		return -EROFS;
	err = umfs_geometry_plan_max(pm->len, opts ? opts->inode_count : 0,
				     opts ? opts->max_size : 0, &g, &why);
	if (err)
		return err;

	/* Invalidate the old superblocks first: a crash mid-format then leaves
	 * something that is clearly not a pool rather than a mix of two. */
	memset(base, 0, UMFS_PAGE_SIZE);
	memset(base + g.backup_sb_off, 0, UMFS_PAGE_SIZE);
	umfs_persist(base, UMFS_PAGE_SIZE);
	umfs_persist(base + g.backup_sb_off, UMFS_PAGE_SIZE);

	umfs_memset_nodrain(base + UMFS_PAGE_SIZE, 0, g.data_off - UMFS_PAGE_SIZE);

	st = (struct umfs_state *)(base + g.state_off);
	st->magic = UMFS_STATE_MAGIC;
	st->state = UMFS_STATE_CLEAN;

	for (uint32_t i = 0; i < g.journal_slots; i++) {
		struct umfs_jslot_hdr *h =
			(struct umfs_jslot_hdr *)(base + g.journal_off + (uint64_t)i * g.journal_slot_size);
		h->magic = UMFS_JSLOT_MAGIC;
		h->next_seq = 1;
		h->slot = i;
	}

	/* Inode 0 is reserved, inode 1 is the root; bits past the end are set
	 * so that the allocators never look beyond the zones. */
	uint64_t *ibm = (uint64_t *)(base + g.ibitmap_off);
	uint64_t *pbm = (uint64_t *)(base + g.pbitmap_off);
	bitmap_set_range(ibm, 0, 2);
	bitmap_set_range(ibm, g.inode_count, UMFS_ALIGN_UP(g.inode_count, 64));
	bitmap_set_range(pbm, g.data_pages, UMFS_ALIGN_UP(g.data_pages, 64));
	bsums_write((uint64_t *)(base + g.bsum_off), pbm, g.data_pages);

	format_root((struct umfs_inode *)(base + g.inode_off) + UMFS_ROOT_INO);
	umfs_flush(base + UMFS_PAGE_SIZE, g.data_off - UMFS_PAGE_SIZE);
	umfs_drain();

	/* The superblocks go last: a pool is a pool only once all else is there. */
	format_superblock(&sb, &g, opts);
	memcpy(base + g.backup_sb_off, &sb, sizeof(sb));
	umfs_persist(base + g.backup_sb_off, sizeof(sb));
	memcpy(base, &sb, sizeof(sb));
	umfs_persist(base, sizeof(sb));
	err = umfs_pmem_sync(pm);
	if (err)
		return err;
	if (out)
		*out = g;
	return 0;
}
