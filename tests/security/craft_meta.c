/* SPDX-License-Identifier: MIT */
/*
 * craft_meta.c - sec_craft's changes to metadata other than page tables:
 * directory entries, buckets, the bucket map and the directory's
 * bookkeeping; the orphan list; superblock fields (checksum and backup
 * resealed); page- and inode-bitmap words. The verdict rules:
 * craft_targets.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "craft.h"

/* ------------------------------------------------------------------ */
/* Directories                                                          */
/* ------------------------------------------------------------------ */

static struct umfs_dentry *dentry_pick(struct craft *c, uint64_t *at)
{
	const struct umfs_inode *d = cr_inode(c, c->f[CR_DIR].ino);

	for (;;) {
		uint64_t blk = cr_lookup(c, c->f[CR_DIR].ino, PICK(d->dir.nblocks));
		unsigned slot = 1 + PICK(UMFS_DIR_SLOTS_PER_BLOCK - 1);
		const struct umfs_dirblock_hdr *h = (const void *)(c->base + blk);

		if (blk && (h->used[slot / 64] >> (slot % 64) & 1)) {
			*at = blk + slot * UMFS_DIR_SLOT_SIZE;
			return (struct umfs_dentry *)(c->base + *at);
		}
	}
}

static void target_dentry(struct craft *c)
{
	uint64_t at, v;
	struct umfs_dentry *de = dentry_pick(c, &at);
	unsigned how = PICK(7);

	c->strict = true;
	cr_say(c, "d: entry @0x%" PRIx64 " (ino %" PRIu64 "): ", at, de->ino);
	switch (how) {
	case 0:
		v = c->dir_child[PICK(CP_DIR_FILES)];
		c->strict = false; /* names another live file: sound-looking */
		cr_say(c, "ino -> %" PRIu64 " (another file), check byte resealed", v);
		de->ino = v, de->check = umfs_dentry_check(v);
		break;
	case 1: {
		uint64_t bad[] = { 0, c->inode_count, c->inode_count + PICK(1000),
				   UINT64_MAX, c->inode_count - 1 };

		v = bad[PICK(5)];
		cr_say(c, "ino -> %" PRIu64 " (free or outside), check byte resealed", v);
		de->ino = v, de->check = umfs_dentry_check(v);
		break;
	}
	case 2:
		v = PICK(2) ? 0 : 255;
		cr_say(c, "name_len %u -> %" PRIu64, de->name_len, v);
		de->name_len = (uint8_t)v;
		break;
	case 3:
		v = PICK(3) ? 0 : 127 + PICK(129);
		cr_say(c, "nslots %u -> %" PRIu64, de->nslots, v);
		de->nslots = (uint8_t)v;
		break;
	case 4:
		c->strict = false; /* the name no longer hashes to it: lost, not misnamed */
		cr_say(c, "hash 0x%x -> random", de->hash);
		de->hash = (uint32_t)cr_rnd();
		break;
	case 5:
		cr_say(c, "type %u -> 4 (directory)", de->type);
		de->type = 4;
		break;
	default:
		c->strict = false;
		cr_say(c, "name byte changed");
		de->name[0] ^= 0x20;
		break;
	}
}

static void target_index(struct craft *c)
{
	uint64_t ino = c->f[CR_DIR].ino;
	struct umfs_inode *d = cr_inode(c, ino);
	uint64_t boff = cr_lookup(c, ino, UMFS_DIR_BUCKET_PAGE0 + PICK(d->dir.nbuckets));
	uint64_t moff = cr_lookup(c, ino, UMFS_DIR_MAP_PAGE0);
	struct umfs_bucket *b = (struct umfs_bucket *)(c->base + boff);
	uint32_t *map = (uint32_t *)(c->base + moff);
	unsigned how = PICK(9), i;

	c->strict = true;
	switch (how) {
	case 0:
		cr_say(c, "d: bucket @0x%" PRIx64 " count %u -> ", boff, b->count);
		b->count = PICK(2) ? UMFS_BUCKET_ENTRIES + 1 : 65535;
		cr_say(c, "%u", b->count);
		break;
	case 1:
		cr_say(c, "d: bucket local_depth %u -> 25..", b->local_depth);
		b->local_depth = (uint16_t)(25 + PICK(1000));
		break;
	case 2:
		i = b->count ? PICK(b->count) : 0;
		cr_say(c, "d: bucket entry %u: slot position 0x%" PRIx64 " -> past the blocks", i,
		       b->ent[i] & 0xffffffff);
		b->ent[i] = (b->ent[i] & ~0xffffffffull) | (0x10000000u + PICK(1u << 20));
		break;
	case 3:
		i = b->count ? PICK(b->count) : 0;
		c->strict = false;
		cr_say(c, "d: bucket entry %u -> another slot position", i);
		b->ent[i] = (b->ent[i] & ~0xffffffffull) | (1 + PICK(3 * 128 - 1));
		break;
	case 4:
		i = PICK(1u << d->dir.gdepth);
		cr_say(c, "d: map entry %u: bucket %u -> past nbuckets", i, map[i]);
		map[i] = d->dir.nbuckets + PICK(2) * cr_rnd() % 100000;
		break;
	case 5:
		i = PICK(1u << d->dir.gdepth);
		c->strict = false;
		cr_say(c, "d: map entry %u: bucket %u -> another bucket", i, map[i]);
		map[i] = PICK(d->dir.nbuckets);
		break;
	case 6: {
		uint32_t v[] = { 0, UMFS_DIR_MAX_BLOCKS + 1, 0xffffffffu, d->dir.nblocks + 5 };

		cr_say(c, "d: nblocks %u -> ", d->dir.nblocks);
		d->dir.nblocks = v[PICK(4)];
		c->strict = d->dir.nblocks > UMFS_DIR_MAX_BLOCKS;
		cr_say(c, "%u", d->dir.nblocks);
		break;
	}
	case 7: {
		uint32_t v[] = { 0, UMFS_DIR_MAX_DEPTH + 1, 31, 0xffffffffu };

		cr_say(c, "d: gdepth %u -> ", d->dir.gdepth);
		d->dir.gdepth = v[PICK(4)];
		c->strict = d->dir.gdepth > UMFS_DIR_MAX_DEPTH;
		cr_say(c, "%u", d->dir.gdepth);
		break;
	}
	default: {
		uint32_t v[] = { 0, (uint32_t)UMFS_DIR_MAX_BUCKETS + 1, 0xffffffffu,
				 d->dir.nbuckets + 3 };

		cr_say(c, "d: nbuckets %u -> ", d->dir.nbuckets);
		d->dir.nbuckets = v[PICK(4)];
		c->strict = d->dir.nbuckets > UMFS_DIR_MAX_BUCKETS;
		cr_say(c, "%u", d->dir.nbuckets);
		break;
	}
	}
}

void cr_target_dir(struct craft *c)
{
	if (PICK(2))
		target_dentry(c);
	else
		target_index(c);
}

/* ------------------------------------------------------------------ */
/* Orphan list                                                          */
/* ------------------------------------------------------------------ */

void cr_target_orphan(struct craft *c)
{
	struct umfs_state *st = (struct umfs_state *)(c->base + c->state_off);
	uint64_t v[] = { c->f[PICK(CR_NFILES)].ino, c->inode_count, UINT64_MAX, UMFS_ROOT_INO,
			 c->inode_count - 1, c->dir_child[PICK(CP_DIR_FILES)] };
	uint64_t head = v[PICK(6)];

	c->strict = c->fsck_must = false;
	cr_say(c, "state: orphan_head %" PRIu64 " -> %" PRIu64, st->orphan_head, head);
	st->orphan_head = head;
	if (PICK(2) && head < c->inode_count) { /* and a loop through it */
		struct umfs_inode *in = cr_inode(c, head);

		in->next_orphan = head;
		in->flags |= UMFS_IF_ORPHAN;
		cr_say(c, ", flagged orphan, next_orphan -> itself");
	}
}

/* ------------------------------------------------------------------ */
/* Superblock                                                           */
/* ------------------------------------------------------------------ */

void cr_target_sb(struct craft *c)
{
	struct umfs_superblock *sb = c->sb;
	unsigned how = PICK(8);

	c->strict = true;
	switch (how) {
	case 0:
	case 1: {
		uint64_t v[] = { 2ull << 20, 1ull << 30, 1ull << 40,
				 (UMFS_PTE_ADDR_MASK - c->pool) & ~((2ull << 20) - 1), 4096,
				 UINT64_MAX - (2ull << 20) + 1 };

		sb->phys_base = v[PICK(6)];
		cr_say(c, "super: phys_base -> 0x%" PRIx64, sb->phys_base);
		break;
	}
	case 2: {
		int64_t d[] = { -(2 << 20), 2 << 20, -(int64_t)c->data_off, 4096 };

		sb->data_off += (uint64_t)d[PICK(4)];
		cr_say(c, "super: data_off 0x%" PRIx64 " -> 0x%" PRIx64, c->data_off, sb->data_off);
		break;
	}
	case 3: {
		uint64_t v[] = { c->data_pages + 1, c->data_pages - 1, c->data_pages / 2,
				 c->data_pages + 512, UINT64_MAX / 4096 };

		sb->data_pages = v[PICK(5)];
		cr_say(c, "super: data_pages %" PRIu64 " -> %" PRIu64, c->data_pages,
		       sb->data_pages);
		break;
	}
	case 4: {
		uint64_t v[] = { c->inode_count / 2, c->inode_count + 64, 2, 1ull << 33 };

		sb->inode_count = v[PICK(4)];
		cr_say(c, "super: inode_count %" PRIu64 " -> %" PRIu64, c->inode_count,
		       sb->inode_count);
		break;
	}
	case 5: {
		uint64_t *f[] = { &sb->state_off, &sb->journal_off, &sb->inode_off, &sb->ibitmap_off,
				  &sb->pbitmap_off };
		unsigned i = PICK(5);

		*f[i] += PICK(2) ? PG : -PG;
		cr_say(c, "super: zone %u offset moved a page", i);
		break;
	}
	case 6:
#ifdef UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS
		if (sb->bsum_off && PICK(2)) {
			uint64_t v[] = { 0, sb->bsum_off + PG, c->data_off, c->pool };

			cr_say(c, "super: bsum_off 0x%" PRIx64 " -> ", sb->bsum_off);
			sb->bsum_off = v[PICK(4)];
			cr_say(c, "0x%" PRIx64, sb->bsum_off);
			break;
		}
#endif
		sb->journal_slots = PICK(2) ? 0 : sb->journal_slots + 1;
		cr_say(c, "super: journal_slots -> %u", sb->journal_slots);
		break;
	default:
		sb->pool_size -= PG;
		sb->backup_sb_off -= PG;
		cr_say(c, "super: pool_size one page smaller");
		break;
	}
	sb->csum = umfs_sb_csum(sb);
	memcpy(c->base + c->pool - PG, sb, sizeof(*sb));
	if (sb->backup_sb_off < c->len && sb->backup_sb_off != c->pool - PG)
		memcpy(c->base + sb->backup_sb_off, sb, sizeof(*sb));
}

/* ------------------------------------------------------------------ */
/* Bitmaps                                                              */
/* ------------------------------------------------------------------ */

/* Reseals the checksum of the page-bitmap page holding word (pools with
 * page-bitmap checksums); false when the pool has none. */
static bool bsum_reseal(struct craft *c, uint64_t word)
{
#ifdef UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS
	uint64_t words = umfs_pbitmap_words(c->data_pages), i = word / UMFS_BSUM_WORDS;

	if (!(c->sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS) || !c->sb->bsum_off)
		return false;
	((uint64_t *)(c->base + c->sb->bsum_off))[i] =
		umfs_bsum_of((const umfs_le64 *)(c->base + c->pbitmap_off), words, i);
	return true;
#else
	(void)c, (void)word;
	return false;
#endif
}

/* A word of the page bitmap changed, its page's checksum resealed or not:
 * unsealed, the checksum is there to refuse the page (strict); resealed,
 * pages marked free look free to any check of one page (lenient), and a
 * page marked used is a leak. */
void cr_target_bitmap(struct craft *c)
{
	uint64_t *pbm = (uint64_t *)(c->base + c->pbitmap_off);
	uint64_t *ibm = (uint64_t *)(c->base + c->ibitmap_off);
	unsigned how = PICK(4), fi = PICK(CR_NFILES);
	bool reseal = PICK(2);
	const struct cr_file *f = &c->f[fi];
	uint64_t pg;

	c->strict = true;
	switch (how) {
	case 0: /* the word of a used page zeroed: new pages cross-link */
	case 1:
		pg = ((f->ndata ? f->data[PICK(f->ndata)] : f->tables[0]) - c->data_off) / PG;
		if (how == 0) {
			cr_say(c, "page bitmap word %" PRIu64 " (%s's page %" PRIu64 ") 0x%" PRIx64
			       " -> 0", pg / 64, cr_file_name(fi), pg, pbm[pg / 64]);
			pbm[pg / 64] = 0;
		} else {
			cr_say(c, "page bitmap: %s's page %" PRIu64 " marked free", cr_file_name(fi), pg);
			pbm[pg / 64] &= ~(1ull << (pg % 64));
		}
		if (reseal && bsum_reseal(c, pg / 64)) {
			c->strict = false;
			cr_say(c, ", checksum resealed");
		}
		break;
	case 2:
		pg = (cr_free_page(c) - c->data_off) / PG;
		c->strict = false; /* a leak: nothing served changes */
		cr_say(c, "page bitmap: free page %" PRIu64 " marked used", pg);
		pbm[pg / 64] |= 1ull << (pg % 64);
		if (reseal && bsum_reseal(c, pg / 64))
			cr_say(c, ", checksum resealed");
		break;
	default:
		cr_say(c, "inode bitmap word of inode %" PRIu64 " 0x%" PRIx64 " -> 0", f->ino,
		       ibm[f->ino / 64]);
		ibm[f->ino / 64] = 0;
		break;
	}
}

