/* SPDX-License-Identifier: MIT */
/*
 * check_dirbuild.c - rebuilding a directory's hash index in place.
 *
 * A damaged index is rebuilt from the directory's entry blocks, which are
 * never touched: the old bucket and map pages are unmapped and released,
 * fresh ones are taken from the pages no inode owns (the page-table step
 * has claimed every page in use) and mapped into the directory's tree.
 * A run cut short leaves entry blocks intact and an index the next run
 * finds damaged and builds again: no name is lost.
 *
 * The index built is the simplest valid extendible hash: 2^g buckets of
 * local depth g, map[i] = i, for the smallest g whose buckets all fit.
 * The core's splits and map doubling work from any valid index.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAP_PER_PAGE (UMFS_PAGE_SIZE / sizeof(uint32_t))

/* ------------------------------------------------------------------ */
/* Pages                                                                */
/* ------------------------------------------------------------------ */

/* A free data page, claimed and zeroed, or -ENOSPC. */
static int page_alloc(struct fsck *c, uint64_t *page)
{
	for (uint64_t n = 0; n < c->data_pages; n++) {
		uint64_t p = (c->alloc_cursor + n) % c->data_pages;

		if (!fsck_owned(c, p) && fsck_own_claim(c, p, 1)) {
			c->alloc_cursor = p + 1;
			fsck_bit_set(c->fresh, p);
			fsck_zero(c, fsck_ptr(c, fsck_page_off(c, p)), UMFS_PAGE_SIZE);
			*page = p;
			return 0;
		}
	}
	return -ENOSPC;
}

static uint64_t table_entry(const struct fsck *c, uint64_t page, uint64_t flags)
{
	return (fsck_page_off(c, page) + c->phys_base) | flags;
}

/* Offset of the table an entry points to, or 0 (a hole, a leaf, damage). */
static uint64_t table_of(const struct fsck *c, uint64_t e)
{
	uint64_t off = fsck_pte_off(c, e);

	if ((e & ~UMFS_PTE_ADDR_MASK) != UMFS_PTE_TABLE_FLAGS || off == UINT64_MAX ||
	    !fsck_page_ok(c, off))
		return 0;
	return off;
}

/* Smallest tree height that covers file page pg. */
static unsigned height_for(uint64_t pg)
{
	unsigned h = 0;

	while (h <= FSCK_PT_LEVELS && pg >= fsck_pt_span(h + 1))
		h++;
	return h;
}

/*
 * Maps a fresh zeroed page at file page pg of in (a hole), growing the tree
 * at the top as needed (the old root becomes entry 0 of the new one).
 * Counts the pages it takes in *added; the caller reseals the inode.
 */
static int pt_map(struct fsck *c, struct umfs_inode *in, uint64_t pg, uint64_t *added)
{
	unsigned need = height_for(pg), level;
	uint64_t page, t, *slot;
	int err;

	if (need > FSCK_PT_LEVELS)
		return -EFBIG;
	if (in->pt_root == 0) {
		err = page_alloc(c, &page);
		if (err)
			return err;
		(*added)++;
		fsck_set64(c, &in->pt_root, fsck_page_off(c, page));
		fsck_set8(c, &in->pt_height, (uint8_t)need);
		if (need == 0)
			return 0; /* the root is the data page itself */
	}
	while (in->pt_height < need) {
		uint64_t *nt;

		err = page_alloc(c, &page);
		if (err)
			return err;
		(*added)++;
		nt = fsck_ptr(c, fsck_page_off(c, page));
		fsck_set64(c, &nt[0], (in->pt_root + c->phys_base) |
				      (in->pt_height ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS));
		fsck_set64(c, &in->pt_root, fsck_page_off(c, page));
		fsck_set8(c, &in->pt_height, (uint8_t)(in->pt_height + 1));
	}
	if (in->pt_height == 0)
		return -EEXIST; /* pg 0 of a one-page tree exists */
	t = in->pt_root;
	for (level = in->pt_height; level > 1; level--) {
		slot = (uint64_t *)fsck_ptr(c, t) + (pg / fsck_pt_span(level)) % UMFS_PT_ENTRIES;
		if (*slot == 0) {
			err = page_alloc(c, &page);
			if (err)
				return err;
			(*added)++;
			fsck_set64(c, slot, table_entry(c, page, UMFS_PTE_TABLE_FLAGS));
		}
		t = table_of(c, *slot);
		if (t == 0)
			return -EEXIST; /* a 2 MiB leaf covers pg */
	}
	slot = (uint64_t *)fsck_ptr(c, t) + pg % UMFS_PT_ENTRIES;
	if (*slot)
		return -EEXIST;
	err = page_alloc(c, &page);
	if (err)
		return err;
	(*added)++;
	fsck_set64(c, slot, table_entry(c, page, UMFS_PTE_LEAF4K_FLAGS));
	return 0;
}

struct unmap {
	uint64_t first, end, freed;
};

static void unmap_table(struct fsck *c, struct unmap *u, uint64_t toff, unsigned level, uint64_t base)
{
	uint64_t *t = fsck_ptr(c, toff), span = fsck_pt_span(level);

	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++) {
		uint64_t pg = base + i * span, e = t[i], off = fsck_pte_off(c, e), sub;

		if (e == 0 || pg + span <= u->first || pg >= u->end)
			continue;
		if (level == 2 && (e & ~UMFS_PTE_HUGE_ADDR_MASK) == UMFS_PTE_LEAF2M_FLAGS) {
			/* the whole leaf goes: it is not in a directory's layout */
			fsck_own_release(c, fsck_page_of(c, off), UMFS_PAGES_PER_HUGE);
			u->freed += UMFS_PAGES_PER_HUGE;
			fsck_set64(c, &t[i], 0);
		} else if (level == 1) {
			fsck_own_release(c, fsck_page_of(c, off), 1);
			u->freed++;
			fsck_set64(c, &t[i], 0);
		} else if ((sub = table_of(c, e)) != 0) {
			unmap_table(c, u, sub, level - 1, pg);
		}
	}
}

/* Unmaps and releases the pages of in in [first, end); returns their count.
 * Tables stay (empty ones are harmless and counted in blocks). */
static uint64_t pt_unmap(struct fsck *c, struct umfs_inode *in, uint64_t first, uint64_t end)
{
	struct unmap u = { .first = first, .end = end };

	if (in->pt_root == 0 || in->pt_height > FSCK_PT_LEVELS || !fsck_page_ok(c, in->pt_root))
		return 0;
	if (in->pt_height == 0) {
		if (first > 0)
			return 0;
		fsck_own_release(c, fsck_page_of(c, in->pt_root), 1);
		fsck_set64(c, &in->pt_root, 0);
		return 1;
	}
	unmap_table(c, &u, in->pt_root, in->pt_height, 0);
	return u.freed;
}

/* ------------------------------------------------------------------ */
/* The index                                                            */
/* ------------------------------------------------------------------ */

/* Smallest depth whose 2^g buckets each hold at most a bucket's worth. */
static int index_depth(const uint32_t *hashes, size_t n, unsigned *gp)
{
	uint32_t *count = calloc((size_t)UMFS_DIR_MAX_BUCKETS, sizeof(*count));

	if (count == NULL)
		return -ENOMEM;
	for (unsigned g = 0; (1ull << g) <= UMFS_DIR_MAX_BUCKETS; g++) {
		uint32_t mask = (uint32_t)((1ull << g) - 1), worst = 0;

		memset(count, 0, ((size_t)1 << g) * sizeof(*count));
		for (size_t k = 0; k < n; k++)
			worst = UMFS_MAX(worst, ++count[hashes[k] & mask]);
		if (worst <= UMFS_BUCKET_ENTRIES) {
			free(count);
			*gp = g;
			return 0;
		}
	}
	free(count);
	return -ENOSPC; /* names whose hashes agree on 16 bits, over 510 of them */
}

int fsck_dir_reindex(struct fsck *c, uint64_t dir, uint64_t nblocks, const uint32_t *hashes,
		     const uint32_t *positions, size_t n)
{
	struct umfs_inode *in = &c->inodes[dir];
	uint64_t freed, added = 0, nb, nmap, blocks;
	unsigned g = 0;
	int err = 0;

	/* Drop the old index and anything else past the entry blocks. */
	fsck_set32(c, &in->dir.nbuckets, 0);
	fsck_set32(c, &in->dir.gdepth, 0);
	freed = pt_unmap(c, in, nblocks, UINT64_MAX);
	blocks = in->blocks >= freed ? in->blocks - freed : 0;
	if (nblocks > 1) {
		err = index_depth(hashes, n, &g);
		nb = 1ull << g;
		nmap = UMFS_DIV_ROUND_UP(nb, MAP_PER_PAGE);
		for (uint64_t b = 0; b < nb && !err; b++)
			err = pt_map(c, in, UMFS_DIR_BUCKET_PAGE0 + b, &added);
		for (uint64_t m = 0; m < nmap && !err; m++)
			err = pt_map(c, in, UMFS_DIR_MAP_PAGE0 + m, &added);
		for (uint64_t b = 0; b < nb && !err; b++) {
			struct umfs_bucket *bk =
				fsck_ptr(c, fsck_pt_lookup(c, in, UMFS_DIR_BUCKET_PAGE0 + b));
			uint16_t cnt = 0;

			for (size_t k = 0; k < n; k++)
				if ((hashes[k] & (nb - 1)) == b)
					fsck_set64(c, &bk->ent[cnt++],
						   (uint64_t)hashes[k] << 32 | positions[k]);
			fsck_set16(c, &bk->count, cnt);
			fsck_set16(c, &bk->local_depth, (uint16_t)g);
			fsck_set32(c, &bk->magic, UMFS_BUCKET_MAGIC);
		}
		for (uint64_t i = 0; i < nb && !err; i++) {
			uint32_t *mp = fsck_ptr(c, fsck_pt_lookup(c, in, UMFS_DIR_MAP_PAGE0 + i / MAP_PER_PAGE));

			fsck_set32(c, &mp[i % MAP_PER_PAGE], (uint32_t)i);
		}
		if (!err) {
			fsck_set32(c, &in->dir.gdepth, g);
			fsck_set32(c, &in->dir.nbuckets, (uint32_t)nb);
		}
	}
	fsck_inode_seal(c, in);
	fsck_set64(c, &in->blocks, blocks + added);
	return err;
}
