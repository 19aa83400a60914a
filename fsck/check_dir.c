/* SPDX-License-Identifier: MIT */
/*
 * check_dir.c - step 6: the directory tree, breadth first from the root.
 *
 * For each directory: its pages must follow the layout of the format
 * (entry blocks contiguous from page 0, bucket pages below nbuckets, map
 * pages for 2^gdepth entries, nothing else); each entry block has a valid
 * header, and each entry its slots marked used, a valid name with a
 * matching hash, a live target of the type it claims, and a name not seen
 * before in that directory. A directory is named once: a second entry
 * for a directory (or one for the root) is a hard link or a loop and is
 * removed. When the directory is indexed, every entry must be referenced
 * exactly once by the bucket its hash maps to, and the map must be a valid
 * extendible-hash map.
 *
 * Bad entries are removed in place. Damage to the layout or the index is
 * repaired by rebuilding the index in place from the entry blocks, which
 * stay where they are (check_dirbuild.c). Queues and tables are sized by
 * the engine; nothing recurses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define SLOTS UMFS_DIR_SLOTS_PER_BLOCK
#define MAP_PER_PAGE (UMFS_PAGE_SIZE / sizeof(uint32_t))
#define DIR_PAGES_END (UMFS_DIR_MAP_PAGE0 + UMFS_DIR_MAP_PAGES)

struct dent {
	uint64_t ino;
	uint32_t pos; /* block * SLOTS + slot */
	uint32_t hash;
	bool seen;    /* referenced by the index */
};

struct dscan {
	uint64_t dir;
	struct umfs_inode *in;
	bool sane;        /* the index geometry in the inode is plausible */
	/* layout */
	uint64_t *blkoff; /* entry blocks [0, nblocks) */
	uint64_t nblocks, cap_blocks;
	uint64_t *bucket_present; /* bitmap over UMFS_DIR_MAX_BUCKETS */
	uint64_t nmap_pages, stray, first_stray;
	uint64_t spare; /* pages past what the dir info counts (umfs_format.h) */
	bool gap;
	/* entries */
	struct dent *ents;
	size_t nents, cap_ents;
	uint32_t *htab; /* open addressing by hash: index + 1 into ents */
	size_t hcap;
	const char *rebuild; /* why the index is rebuilt */
	int err;
};

static struct umfs_dentry *dentry_at(const struct fsck *c, const struct dscan *d, uint32_t pos)
{
	return (struct umfs_dentry *)((uint8_t *)fsck_ptr(c, d->blkoff[pos / SLOTS]) +
				      (size_t)(pos % SLOTS) * UMFS_DIR_SLOT_SIZE);
}

/* ------------------------------------------------------------------ */
/* Layout survey                                                        */
/* ------------------------------------------------------------------ */

static uint64_t map_pages(uint32_t gdepth)
{
	return UMFS_DIV_ROUND_UP(1ull << gdepth, MAP_PER_PAGE);
}

static int survey_page(struct fsck *c, void *arg, uint64_t pg, uint64_t off)
{
	struct dscan *d = arg;
	const struct umfs_dir_info *di = &d->in->dir;

	(void)c;
	if (pg < UMFS_DIR_BUCKET_PAGE0) {
		/* nblocks changes only in transactions: past it, a spare */
		if (d->sane && pg >= di->nblocks) {
			d->spare++;
			return 0;
		}
		if (pg != d->nblocks) {
			d->gap = true;
			return 0;
		}
		if (d->nblocks == d->cap_blocks) {
			uint64_t cap = d->cap_blocks ? d->cap_blocks * 2 : 16;
			uint64_t *n = realloc(d->blkoff, cap * sizeof(*n));

			if (n == NULL)
				return -ENOMEM;
			d->blkoff = n;
			d->cap_blocks = cap;
		}
		d->blkoff[d->nblocks++] = off;
	} else if (d->sane && pg < UMFS_DIR_MAP_PAGE0) {
		if (pg - UMFS_DIR_BUCKET_PAGE0 < di->nbuckets)
			fsck_bit_set(d->bucket_present, pg - UMFS_DIR_BUCKET_PAGE0);
		else
			d->spare++;
	} else if (d->sane && pg < DIR_PAGES_END) {
		if (di->nbuckets && pg - UMFS_DIR_MAP_PAGE0 < map_pages(di->gdepth))
			d->nmap_pages++;
		else
			d->spare++;
	} else {
		if (d->stray++ == 0)
			d->first_stray = pg;
	}
	return 0;
}

static bool dir_info_sane(const struct umfs_dir_info *di)
{
	if (di->nblocks > UMFS_DIR_MAX_BLOCKS || di->gdepth > UMFS_DIR_MAX_DEPTH ||
	    di->nbuckets > UMFS_DIR_MAX_BUCKETS)
		return false;
	if (di->nbuckets == 0)
		return di->gdepth == 0;
	return di->nbuckets <= (1ull << di->gdepth);
}

/* ------------------------------------------------------------------ */
/* Entries                                                              */
/* ------------------------------------------------------------------ */

static bool name_valid(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

static int htab_grow(struct dscan *d)
{
	size_t cap = d->hcap ? d->hcap * 2 : 256;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < d->hcap; i++) {
		uint32_t v = d->htab[i];
		size_t h;

		if (!v)
			continue;
		for (h = d->ents[v - 1].hash & (cap - 1); t[h]; h = (h + 1) & (cap - 1))
			;
		t[h] = v;
	}
	free(d->htab);
	d->htab = t;
	d->hcap = cap;
	return 0;
}

/* Index (in ents) of an accepted entry with the name of e, whose true
 * hash is hash, or -1. */
static long htab_find(const struct fsck *c, const struct dscan *d, const struct umfs_dentry *e,
		      uint32_t hash)
{
	if (d->hcap == 0)
		return -1;
	for (size_t h = hash & (d->hcap - 1); d->htab[h]; h = (h + 1) & (d->hcap - 1)) {
		const struct dent *x = &d->ents[d->htab[h] - 1];
		const struct umfs_dentry *xe;

		if (x->hash != hash)
			continue;
		xe = dentry_at(c, d, x->pos);
		if (xe->name_len == e->name_len && !memcmp(xe->name, e->name, e->name_len))
			return (long)(d->htab[h] - 1);
	}
	return -1;
}

static int ents_push(struct dscan *d, uint64_t ino, uint32_t pos, uint32_t hash)
{
	size_t h;
	int err;

	if (d->nents == d->cap_ents) {
		size_t cap = d->cap_ents ? d->cap_ents * 2 : 64;
		struct dent *n = realloc(d->ents, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		d->ents = n;
		d->cap_ents = cap;
	}
	if (2 * (d->nents + 1) > d->hcap) {
		err = htab_grow(d);
		if (err)
			return err;
	}
	d->ents[d->nents] = (struct dent){ .ino = ino, .pos = pos, .hash = hash };
	for (h = hash & (d->hcap - 1); d->htab[h]; h = (h + 1) & (d->hcap - 1))
		;
	d->htab[h] = (uint32_t)(++d->nents);
	return 0;
}

static bool slot_used(const struct umfs_dirblock_hdr *h, unsigned s)
{
	return (h->used[s / 64] >> (s % 64)) & 1;
}

/* Frees slots [s, s+n) of a block, zeroing them. */
static void slots_free(struct fsck *c, struct umfs_dirblock_hdr *h, unsigned s, unsigned n)
{
	uint64_t used[2] = { h->used[0], h->used[1] };

	for (unsigned i = s; i < s + n; i++)
		used[i / 64] &= ~(1ull << (i % 64));
	fsck_zero(c, (uint8_t *)h + (size_t)s * UMFS_DIR_SLOT_SIZE, (size_t)n * UMFS_DIR_SLOT_SIZE);
	fsck_write(c, h->used, used, sizeof(used));
}

static void block_reinit(struct fsck *c, struct umfs_dirblock_hdr *h)
{
	struct umfs_dirblock_hdr fresh = { .used = { 1, 0 }, .magic = UMFS_DIRBLOCK_MAGIC,
					   .nfree = SLOTS - 1 };

	fsck_zero(c, h, UMFS_PAGE_SIZE);
	fsck_write(c, h, &fresh, sizeof(fresh));
}

/* Checks the entry at slot s of block b; returns the slots to skip. */
static unsigned check_entry(struct fsck *c, struct dscan *d, uint64_t *queue, uint64_t *qlen,
			    struct umfs_dirblock_hdr *h, uint32_t b, unsigned s)
{
	struct umfs_dentry *e = (struct umfs_dentry *)((uint8_t *)h + (size_t)s * UMFS_DIR_SLOT_SIZE);
	unsigned n = e->nslots, i;
	uint32_t pos = b * SLOTS + s, hash;
	const char *why = NULL;
	struct fsck_ino *t;
	uint64_t ino = e->ino;
	size_t used, all, k;
	char nb[FSCK_NAME_BUF];
	bool checked;

	/* The extent of the entry first: without it nothing else is known. */
	for (i = 0; n && i < n && s + i < SLOTS; i++)
		if (!slot_used(h, s + i))
			break;
	if (e->name_len == 0 || n != UMFS_DIRENT_SLOTS(e->name_len) || s + n > SLOTS || i != n) {
		if (fsck_problem(c, "cleared",
				 "directory %" PRIu64 ": block %u slot %u: damaged entry (name length %u, %u slots)",
				 d->dir, b, s, e->name_len, e->nslots))
			slots_free(c, h, s, 1);
		return 1;
	}

	hash = umfs_name_hash(e->name, e->name_len);
	checked = c->sb.feature_ro_compat & UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK;
	if (!name_valid(e->name, e->name_len))
		why = "invalid name";
	else if (checked && e->check != umfs_dentry_check(ino))
		why = "its check byte does not match its inode number (the number changed)";
	else if (ino == 0 || ino >= c->inode_count || !(c->ino[ino].flags & FI_LIVE))
		why = "names a free or invalid inode";
	else if (htab_find(c, d, e, hash) >= 0)
		why = "duplicate name";
	else if ((c->ino[ino].flags & FI_DIR) &&
		 (ino == UMFS_ROOT_INO || ino == d->dir || (c->ino[ino].flags & FI_REACHED)))
		why = "second name of a directory (hard link or loop)";
	else if ((c->ino[ino].flags & FI_PCONF) && c->inodes[ino].dir.parent != d->dir)
		why = "second name of a directory (its \"..\" names its other parent)";
	if (why) {
		if (fsck_problem(c, "removed",
				 "directory %" PRIu64 ": entry \"%s\" (block %u slot %u, inode %" PRIu64 "): %s",
				 d->dir, fsck_name(nb, e->name, e->name_len), b, s, ino, why))
			slots_free(c, h, s, n);
		return n;
	}

	if (e->hash != hash &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": entry \"%s\": hash 0x%08x should be 0x%08x",
			 d->dir, fsck_name(nb, e->name, e->name_len), e->hash, hash))
		fsck_set32(c, &e->hash, hash);
	if (!checked && e->check &&
	    fsck_problem(c, "zeroed", "directory %" PRIu64 ": entry \"%s\": check byte set in a pool "
			 "without entry checks", d->dir, fsck_name(nb, e->name, e->name_len)))
		fsck_set8(c, &e->check, 0);
	if (e->type != umfs_mode_to_dtype(c->inodes[ino].mode) &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": entry \"%s\": type %u, but inode %" PRIu64
			 " is a %s",
			 d->dir, fsck_name(nb, e->name, e->name_len), e->type, ino,
			 fsck_type_name(c->inodes[ino].mode)))
		fsck_set8(c, &e->type, umfs_mode_to_dtype(c->inodes[ino].mode));
	/* The bytes after the name, up to the end of its last slot, are zero. */
	used = sizeof(*e) + e->name_len;
	all = (size_t)n * UMFS_DIR_SLOT_SIZE;
	for (k = used; k < all && !((const uint8_t *)e)[k]; k++)
		;
	if (k < all &&
	    fsck_problem(c, "zeroed", "directory %" PRIu64 ": entry \"%s\": bytes after the name",
			 d->dir, fsck_name(nb, e->name, e->name_len)))
		fsck_zero(c, (uint8_t *)e + used, all - used);

	d->err = ents_push(d, ino, pos, hash);
	if (d->err)
		return n;
	t = &c->ino[ino];
	if (d->dir == UMFS_ROOT_INO && e->name_len == 10 && !memcmp(e->name, "lost+found", 10)) {
		if (t->flags & FI_DIR)
			c->lost_found = ino;
		else
			c->lost_found_taken = true;
	}
	if (t->flags & FI_DIR) {
		t->flags |= FI_REACHED;
		t->parent = d->dir;
		c->ino[d->dir].names++;
		queue[(*qlen)++] = ino;
	} else {
		t->flags |= FI_REACHED;
		t->names++;
	}
	return n;
}

static void check_block(struct fsck *c, struct dscan *d, uint64_t *queue, uint64_t *qlen,
			uint32_t b)
{
	struct umfs_dirblock_hdr *h = fsck_ptr(c, d->blkoff[b]);
	unsigned s, nonzero_free = 0, nfree;

	if (h->magic != UMFS_DIRBLOCK_MAGIC || !(h->used[0] & 1)) {
		if (fsck_problem(c, "reinitialised (its entries are lost)",
				 "directory %" PRIu64 ": entry block %u: bad header (magic 0x%08x)", d->dir,
				 b, h->magic))
			block_reinit(c, h);
		return;
	}
	if ((h->reserved0 || h->reserved1) &&
	    fsck_problem(c, "zeroed", "directory %" PRIu64 ": entry block %u: reserved fields set",
			 d->dir, b)) {
		fsck_set16(c, &h->reserved0, 0);
		fsck_set64(c, &h->reserved1, 0);
	}
	for (s = 1; s < SLOTS && !d->err;) {
		if (!slot_used(h, s)) {
			const uint64_t *w = (const uint64_t *)((uint8_t *)h + (size_t)s * UMFS_DIR_SLOT_SIZE);

			if (w[0] | w[1] | w[2] | w[3]) {
				nonzero_free++;
				fsck_zero(c, (void *)w, UMFS_DIR_SLOT_SIZE);
			}
			s++;
			continue;
		}
		s += check_entry(c, d, queue, qlen, h, b, s);
	}
	if (nonzero_free)
		fsck_problem(c, "zeroed", "directory %" PRIu64 ": entry block %u: %u free slots not zero",
			     d->dir, b, nonzero_free);
	nfree = SLOTS - (unsigned)__builtin_popcountll(h->used[0]) -
		(unsigned)__builtin_popcountll(h->used[1]);
	if (h->nfree != nfree &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": entry block %u: free count %u, should be %u",
			 d->dir, b, h->nfree, nfree))
		fsck_set16(c, &h->nfree, (uint16_t)nfree);
}

/* ------------------------------------------------------------------ */
/* Hash index                                                           */
/* ------------------------------------------------------------------ */

static struct dent *dent_by_pos(struct dscan *d, uint32_t pos)
{
	size_t lo = 0, hi = d->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->ents[mid].pos == pos)
			return &d->ents[mid];
		if (d->ents[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A bucket or map page of the directory; the survey found it present. */
static const void *dir_page(const struct fsck *c, const struct dscan *d, uint64_t pg)
{
	uint64_t off = fsck_pt_lookup(c, d->in, pg);

	/* Never 0 after the survey; page 0 of the pool is mapped regardless. */
	return fsck_ptr(c, off);
}

/* Returns NULL when the index is sound, else why it is not. */
static const char *check_index(struct fsck *c, struct dscan *d)
{
	const struct umfs_dir_info *di = &d->in->dir;
	uint64_t nmap = 1ull << di->gdepth;
	const struct umfs_bucket **bks = NULL;
	uint32_t *rep = NULL, *refs = NULL;
	const uint32_t *mp = NULL;
	const char *why = NULL;

	if (di->nbuckets == 0)
		return d->nblocks > 1 ? "several entry blocks but no index" : NULL;
	if (d->nmap_pages != map_pages(di->gdepth))
		return "map pages missing";
	for (uint32_t b = 0; b < di->nbuckets; b++)
		if (!fsck_bit(d->bucket_present, b))
			return "bucket pages missing";
	bks = malloc(di->nbuckets * sizeof(*bks));
	rep = malloc(di->nbuckets * sizeof(*rep));
	refs = calloc(di->nbuckets, sizeof(*refs));
	if (bks == NULL || rep == NULL || refs == NULL) {
		d->err = -ENOMEM;
		goto out;
	}
	memset(rep, 0xff, di->nbuckets * sizeof(*rep));

	/* Buckets: headers, and zeroes past the count. */
	for (uint32_t b = 0; b < di->nbuckets && !why; b++) {
		const struct umfs_bucket *bk = dir_page(c, d, UMFS_DIR_BUCKET_PAGE0 + b);

		bks[b] = bk;
		if (bk->magic != UMFS_BUCKET_MAGIC || bk->local_depth > di->gdepth ||
		    bk->count > UMFS_BUCKET_ENTRIES || bk->reserved)
			why = "bad bucket header";
		for (unsigned k = bk->count; !why && k < UMFS_BUCKET_ENTRIES; k++)
			if (bk->ent[k])
				why = "bucket entries past the count";
	}
	/* Map: every entry names a bucket; the entries naming bucket b are
	 * exactly those agreeing on its low local_depth bits. */
	for (uint64_t i = 0; i < nmap && !why; i++) {
		uint32_t b, low;

		if (i % MAP_PER_PAGE == 0)
			mp = dir_page(c, d, UMFS_DIR_MAP_PAGE0 + i / MAP_PER_PAGE);
		b = mp[i % MAP_PER_PAGE];
		if (b >= di->nbuckets) {
			why = "map names a bucket that does not exist";
			break;
		}
		low = (uint32_t)(i & ((1ull << bks[b]->local_depth) - 1));
		if (rep[b] == UINT32_MAX)
			rep[b] = low;
		else if (rep[b] != low)
			why = "map disagrees with a bucket's local depth";
		refs[b]++;
	}
	/* Bucket entries: each valid entry referenced once, where lookup looks. */
	for (uint32_t b = 0; b < di->nbuckets && !why; b++) {
		const struct umfs_bucket *bk = bks[b];
		uint64_t mask = (1ull << bk->local_depth) - 1;

		if (refs[b] != nmap >> bk->local_depth) {
			why = "map does not reference a bucket as its depth says";
			break;
		}
		for (unsigned k = 0; k < bk->count && !why; k++) {
			uint32_t hash = (uint32_t)(bk->ent[k] >> 32), pos = (uint32_t)bk->ent[k];
			struct dent *x = dent_by_pos(d, pos);

			if ((hash & mask) != rep[b])
				why = "entry in the wrong bucket";
			else if (x == NULL)
				why = "reference to a slot that holds no entry";
			else if (x->hash != hash)
				why = "reference with a wrong hash";
			else if (x->seen)
				why = "entry referenced twice";
			else
				x->seen = true;
		}
	}
	for (size_t k = 0; k < d->nents && !why; k++)
		if (!d->ents[k].seen)
			why = "entry missing from the index";
out:
	free(bks);
	free(rep);
	free(refs);
	return why;
}

/* ------------------------------------------------------------------ */
/* One directory                                                        */
/* ------------------------------------------------------------------ */

/* Rebuilds the index from the valid entries; the entry blocks stay. */
static void dir_reindex(struct fsck *c, struct dscan *d)
{
	uint32_t *hashes = malloc((d->nents + 1) * sizeof(*hashes));
	uint32_t *positions = malloc((d->nents + 1) * sizeof(*positions));
	int err = -ENOMEM;

	if (hashes && positions) {
		for (size_t k = 0; k < d->nents; k++) {
			hashes[k] = d->ents[k].hash;
			positions[k] = d->ents[k].pos;
		}
		err = fsck_dir_reindex(c, d->dir, d->nblocks, hashes, positions, d->nents);
	}
	free(hashes);
	free(positions);
	if (err == -ENOMEM)
		d->err = err;
	else if (err)
		fsck_problem(c, NULL, "directory %" PRIu64 ": could not rebuild its index: %s", d->dir,
			     strerror(-err));
}

static void check_counters(struct fsck *c, struct dscan *d)
{
	struct umfs_dir_info *di = &d->in->dir;

	if (di->nentries != d->nents &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": entry count %" PRIu64 ", but it holds %zu",
			 d->dir, di->nentries, d->nents))
		fsck_set64(c, &di->nentries, d->nents);
	if (di->nblocks != d->nblocks &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": block count %u, but it has %" PRIu64,
			 d->dir, di->nblocks, d->nblocks))
		fsck_set32(c, &di->nblocks, (uint32_t)d->nblocks);
	if (d->in->size != d->nblocks << UMFS_PAGE_SHIFT &&
	    fsck_problem(c, "fixed", "directory %" PRIu64 ": size %" PRIu64 ", should be %" PRIu64,
			 d->dir, d->in->size, d->nblocks << UMFS_PAGE_SHIFT))
		fsck_set64(c, &d->in->size, d->nblocks << UMFS_PAGE_SHIFT);
	if (di->hint_block && di->hint_block >= d->nblocks &&
	    fsck_problem(c, "reset", "directory %" PRIu64 ": free-space hint %u beyond its blocks",
			 d->dir, di->hint_block))
		fsck_set32(c, &di->hint_block, 0);
}

int fsck_dir_scan(struct fsck *c, uint64_t dir, uint64_t *queue, uint64_t *qlen)
{
	struct dscan d = { .dir = dir, .in = &c->inodes[dir] };
	struct umfs_dir_info *di = &d.in->dir;
	int err;

	c->ino[dir].flags |= FI_SCANNED;
	if (c->ino[dir].flags & FI_RESET)
		return 0;

	/* One bit per bucket; the survey only runs when nbuckets is sane. */
	d.bucket_present = calloc(UMFS_DIV_ROUND_UP(UMFS_MIN((uint64_t)di->nbuckets, UMFS_DIR_MAX_BUCKETS), 64) + 1,
				  sizeof(uint64_t));
	if (d.bucket_present == NULL)
		return -ENOMEM;

	d.sane = dir_info_sane(di);
	d.err = fsck_pt_foreach(c, d.in, 0, UINT64_MAX, survey_page, &d);
	if (!d.sane)
		d.rebuild = "implausible index geometry";
	if (!d.err && d.gap &&
	    fsck_problem(c, "released (their entries go to lost+found)",
			 "directory %" PRIu64 ": entry blocks past a hole at block %" PRIu64, dir,
			 d.nblocks))
		d.rebuild = d.rebuild ? d.rebuild : "entry blocks past a hole";
	if (!d.err && d.stray &&
	    fsck_problem(c, "released", "directory %" PRIu64 ": %" PRIu64
			 " page(s) outside its layout (first: file page %" PRIu64 ")",
			 dir, d.stray, d.first_stray))
		d.rebuild = d.rebuild ? d.rebuild : "pages outside its layout";
	c->dir_spares += d.spare;
	for (uint32_t b = 0; b < d.nblocks && !d.err; b++)
		check_block(c, &d, queue, qlen, b);
	if (!d.rebuild && !d.err)
		d.rebuild = check_index(c, &d);
	if (d.rebuild && !d.err &&
	    fsck_problem(c, "rebuilt", "directory %" PRIu64 ": index: %s", dir, d.rebuild))
		dir_reindex(c, &d);
	if (!d.err)
		check_counters(c, &d);
	err = d.err;
	free(d.blkoff);
	free(d.bucket_present);
	free(d.ents);
	free(d.htab);
	return err;
}

/* ------------------------------------------------------------------ */
/* The step                                                             */
/* ------------------------------------------------------------------ */

void fsck_dir_make(struct fsck *c, uint64_t ino, uint64_t parent, uint32_t perm)
{
	struct umfs_inode *in = &c->inodes[ino];
	uint64_t now = (uint64_t)umfs_now_ns();
	struct umfs_inode fresh = {
		.mode = S_IFDIR | perm,
		.nlink = 2,
		.atime_ns = now, .mtime_ns = now, .ctime_ns = now, .btime_ns = now,
		.generation = in->generation + 1 ? in->generation + 1 : 1,
	};

	uint32_t born = (c->ino[ino].flags & FI_LIVE) ? 0 : FI_NEW;

	if (!born)
		fsck_pt_release(c, in);
	fresh.dir.parent = parent;
	umfs_inode_seal(&fresh);
	fsck_write(c, in, &fresh, sizeof(fresh));
	c->ino[ino] = (struct fsck_ino){ .flags = FI_LIVE | FI_DIR | FI_RESET | born, .parent = parent };
}

/* ------------------------------------------------------------------ */
/* Whose name is right                                                  */
/* ------------------------------------------------------------------ */

/*
 * A directory named twice keeps the name held by the directory its ".."
 * names, when that one has an entry for it: a damaged inode number in some
 * other entry must not move a subtree. This read-only pass marks the
 * directories whose ".." directory holds a well-formed entry naming them.
 */
static int confirm_block(struct fsck *c, void *arg, uint64_t pg, uint64_t off)
{
	const uint64_t *dir = arg;
	const struct umfs_dirblock_hdr *h = fsck_ptr(c, off);

	if (pg >= UMFS_DIR_BUCKET_PAGE0 || pg >= c->inodes[*dir].dir.nblocks)
		return 1; /* past the entry blocks (spares hold nothing): done */
	if (h->magic != UMFS_DIRBLOCK_MAGIC)
		return 0;
	for (unsigned s = 1; s < SLOTS;) {
		const struct umfs_dentry *e =
			(const void *)((const uint8_t *)h + (size_t)s * UMFS_DIR_SLOT_SIZE);
		unsigned n = e->nslots, i;

		if (!slot_used(h, s)) {
			s++;
			continue;
		}
		for (i = 0; n && i < n && s + i < SLOTS && slot_used(h, s + i); i++)
			;
		if (e->name_len == 0 || n != UMFS_DIRENT_SLOTS(e->name_len) || i != n) {
			s++;
			continue;
		}
		if (name_valid(e->name, e->name_len) && e->ino > UMFS_ROOT_INO &&
		    e->ino < c->inode_count &&
		    (c->ino[e->ino].flags & (FI_LIVE | FI_DIR)) == (FI_LIVE | FI_DIR) &&
		    c->inodes[e->ino].dir.parent == *dir)
			c->ino[e->ino].flags |= FI_PCONF;
		s += n;
	}
	return 0;
}

static void confirm_parents(struct fsck *c)
{
	for (uint64_t dir = UMFS_ROOT_INO; dir < c->inode_count; dir++)
		if ((c->ino[dir].flags & (FI_LIVE | FI_DIR)) == (FI_LIVE | FI_DIR) &&
		    !(c->ino[dir].flags & FI_RESET))
			fsck_pt_foreach(c, &c->inodes[dir], 0, UMFS_DIR_BUCKET_PAGE0, confirm_block,
					&dir);
}

int fsck_directories(struct fsck *c)
{
	struct fsck_ino *root = &c->ino[UMFS_ROOT_INO];
	uint64_t *queue, qlen = 0;
	int err = 0;

	if ((root->flags & (FI_LIVE | FI_DIR)) != (FI_LIVE | FI_DIR)) {
		if (fsck_problem(c, "recreated empty", "root inode %llu is %s", UMFS_ROOT_INO,
				 root->flags & FI_LIVE ? "not a directory" : "free"))
			fsck_dir_make(c, UMFS_ROOT_INO, UMFS_ROOT_INO, 0755);
	}
	root->flags |= FI_REACHED;
	root->parent = UMFS_ROOT_INO;

	confirm_parents(c);
	queue = malloc(c->inode_count * sizeof(*queue));
	if (queue == NULL)
		return -ENOMEM;
	queue[qlen++] = UMFS_ROOT_INO;
	for (uint64_t i = 0; i < qlen && !err; i++)
		err = fsck_dir_scan(c, queue[i], queue, &qlen);
	free(queue);
	return err;
}
