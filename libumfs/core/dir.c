/* SPDX-License-Identifier: MIT */
/*
 * dir.c - hashed directories.
 *
 * A directory is a file laid out as umfs_format.h ("Directories") describes.
 * Entry blocks sit at file pages [0, nblocks): 128 slots of 32 bytes, slot 0
 * holding the used bitmap. An entry never moves once written, so a readdir
 * cookie is simply its slot position. A directory of one block is searched
 * by walking that block; from the second block on, an extendible hash index
 * finds any name in O(1): the map (2^gdepth le32 bucket numbers) sends the
 * low gdepth bits of the name hash to a bucket page of up to 510
 * (hash << 32 | position) entries. A full bucket splits on its next hash bit,
 * doubling the map first when its local depth has reached the global depth.
 *
 * Invariants kept for fsck: free slots and bucket entries past count are
 * zero, dir.nentries counts the entries, size == nblocks * 4 KiB. In
 * software mode an emptied directory of one block holds no pages at all.
 *
 * Every change happens inside the caller's transaction: bytes that existed
 * before are snapshotted (umfs_tx_add) just before they change; a page that
 * this call starts using is zeroed and only declared dirty, because no
 * reader looks past the ranges the inode counts (see "spare pages" below).
 *
 * Spare pages: a page mapped beyond what the inode counts (blocks at or
 * past nblocks, buckets at or past nbuckets, map pages past 2^gdepth
 * entries) is unused, whatever it holds. In module mode the pages of a
 * directory come from the module's EXTEND, which must not run inside our
 * transaction (a rollback of our journal slot would undo counts the
 * module's slot has committed). So a change that needs a missing page
 * stops with UMFS_EDIRPAGES, naming the pages in fs->tx.dir_need; the
 * caller aborts, EXTENDs them (zeroed spares) and runs the change again
 * (api_dir_pages_retry). An abort or a crash after that leaves the spares.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dir.h"
#include "backend.h"
#include "inode.h"
#include "journal.h"
#include "prefault.h"
#include "ptable.h"
#include "report.h"

#define SLOTS UMFS_DIR_SLOTS_PER_BLOCK

/* Entries written or cleared by this process (see umfs_dir_next). */
static _Atomic uint64_t dir_changes;

/* Counts a change. Changes are made under the metadata lock, so a plain
 * load and store suffice: a locked add would wait here for the cache-line
 * write-backs of the journal records in flight (about 0.2 us each time). */
static inline void dir_changed(void)
{
	atomic_store_explicit(&dir_changes,
			      atomic_load_explicit(&dir_changes, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}
#define MAP_PER_PAGE (UMFS_PAGE_SIZE / sizeof(umfs_le32))
#define COOKIE_DOT 0u
#define COOKIE_DOTDOT 1u
#define COOKIE_FIRST 2u /* cookie of slot position 0 */
#define BUCKET_HDR_LEN offsetof(struct umfs_bucket, reserved) /* magic, depth, count */

/* The used bitmap of a block as one 128-bit word: bit i is slot i. */
__extension__ typedef unsigned __int128 slotmask;

/* ------------------------------------------------------------------ */
/* Names                                                                */
/* ------------------------------------------------------------------ */

/*
 * CRC-32C (hardware accelerated) of the name, then MurmurHash3's fmix32
 * finaliser. CRC alone is linear: names differing in a regular way ("f1",
 * "f2", ...) give hashes whose low bits, which pick the bucket, are
 * correlated. fmix32 is a bijection that spreads every input bit over every
 * output bit, so it keeps CRC's property that names of equal length
 * differing in at most 4 consecutive bytes never collide.
 */
uint32_t umfs_name_hash(const char *name, size_t len)
{
	uint32_t h = umfs_crc32c(0, name, len);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static bool name_is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* A name that may be stored: 0, -ENAMETOOLONG or -EINVAL. */
static int name_check(const char *name, size_t len)
{
	if (len > UMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || name_is_dot(name, len) || memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Inode and pages                                                      */
/* ------------------------------------------------------------------ */

static struct umfs_inode *dir_inode(const struct umfs_fs *fs, uint64_t dir)
{
	struct umfs_inode *in;

	if (dir == 0 || dir >= fs->inode_count)
		return NULL;
	in = umfs_inode(fs, dir);
	return S_ISDIR(in->mode) ? in : NULL;
}

/* Pool address of file page pg, or NULL for a hole or a bad table entry. */
static void *dir_page(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg)
{
	uint64_t off;

	return !umfs_pt_lookup(fs, in, pg, &off, NULL) && off ? umfs_off_ptr(fs, off) : NULL;
}

/* For a backend that maps directory pages outside transactions: 0 when
 * file pages [first, first + count) of the directory are all mapped, else
 * UMFS_EDIRPAGES with them recorded for the caller. */
int umfs_dir_pages_ready(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			 uint64_t count)
{
	for (uint64_t pg = first; pg < first + count; pg++) {
		if (!dir_page(fs, in, pg)) {
			fs->tx.dir_need_ino = (uint64_t)(in - fs->inodes);
			fs->tx.dir_need_first = pg;
			fs->tx.dir_need_count = first + count - pg;
			return UMFS_EDIRPAGES;
		}
	}
	return 0;
}

/* Starts using file page pg, beyond what the inode counts: mapped now
 * (software) or a spare the backend mapped before the transaction.
 * Its old contents belong to no one, so it is zeroed without a snapshot. */
static int dir_page_new(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, void **page)
{
	uint64_t off;
	int ret;

	ret = fs->be->tx_dir_page(fs, in, pg, &off);
	if (ret < 0)
		return ret;
	*page = umfs_off_ptr(fs, off);
	if (ret != 1) { /* was mapped already: a spare */
		if (fs->be->prefaults) /* populated, not faulted: prefault.c */
			umfs_pmem_prefault(&fs->pm, off, UMFS_PAGE_SIZE);
		memset(*page, 0, UMFS_PAGE_SIZE);
		return umfs_tx_dirty(fs, *page, UMFS_PAGE_SIZE);
	}
	return 0;
}

/* Records a change to [p, p+len): a snapshot, unless the page is fresh. */
static int tx_mark(struct umfs_fs *fs, const void *p, size_t len, bool fresh)
{
	return fresh ? umfs_tx_dirty(fs, p, len) : umfs_tx_add(fs, p, len);
}

/* tx_mark without the fence: the caller seals before it changes the range. */
static int tx_mark_save(struct umfs_fs *fs, const void *p, size_t len, bool fresh)
{
	return fresh ? umfs_tx_dirty(fs, p, len) : umfs_tx_save(fs, p, len);
}

/* Saves (unsealed) what add/remove change in the inode (dir info and size)
 * with one record of the whole inode: the caller's api_dir_touch, which
 * snapshots the whole inode for the times, then finds it already saved. */
static int dir_info_save(struct umfs_fs *fs, struct umfs_inode *in)
{
	return umfs_tx_save(fs, in, sizeof(*in));
}

/* ------------------------------------------------------------------ */
/* Entry blocks                                                         */
/* ------------------------------------------------------------------ */

static unsigned mask_ctz(slotmask m)
{
	uint64_t lo = (uint64_t)m;

	return lo ? (unsigned)__builtin_ctzll(lo) : 64 + (unsigned)__builtin_ctzll((uint64_t)(m >> 64));
}

static slotmask blk_used(const struct umfs_dirblock_hdr *h)
{
	return (slotmask)h->used[1] << 64 | h->used[0];
}

static void blk_set_used(struct umfs_dirblock_hdr *h, slotmask m)
{
	h->used[0] = (uint64_t)m;
	h->used[1] = (uint64_t)(m >> 64);
}

/* Bits [s, s+n) */
static slotmask slot_range(unsigned s, unsigned n)
{
	return (((slotmask)1 << n) - 1) << s;
}

static struct umfs_dentry *blk_entry(struct umfs_dirblock_hdr *h, unsigned slot)
{
	return (struct umfs_dentry *)((uint8_t *)h + (size_t)slot * UMFS_DIR_SLOT_SIZE);
}

/* Entry block b with its header checked, or NULL. */
static struct umfs_dirblock_hdr *block_get(const struct umfs_fs *fs, const struct umfs_inode *in,
					   uint64_t b)
{
	struct umfs_dirblock_hdr *h;

	if (b >= in->dir.nblocks)
		return NULL;
	h = dir_page(fs, in, b);
	if (!h || h->magic != UMFS_DIRBLOCK_MAGIC || !(h->used[0] & 1))
		return NULL;
	return h;
}

/* Slots covered by the entry starting at slot s, or 0 when it is damaged:
 * a length that disagrees with its slots, or slots not marked used. */
static unsigned entry_slots(struct umfs_dirblock_hdr *h, unsigned s)
{
	const struct umfs_dentry *e = blk_entry(h, s);
	unsigned n = e->nslots;

	if (s == 0 || s >= SLOTS || e->name_len == 0 || n != UMFS_DIRENT_SLOTS(e->name_len) ||
	    s + n > SLOTS)
		return 0;
	if ((blk_used(h) & slot_range(s, n)) != slot_range(s, n))
		return 0;
	return n;
}

/* The first entry starting at or after slot s, which must be an entry
 * boundary (slot 1 or the end of an entry). Returns its slot, SLOTS when
 * there is none, or -EUCLEAN. */
static int block_entry_from(struct umfs_dirblock_hdr *h, unsigned s)
{
	unsigned n;

	if (s >= SLOTS)
		return SLOTS;
	/* Entries mostly follow each other: test one bit before searching. */
	if (!(h->used[s / 64] >> (s % 64) & 1)) {
		slotmask rest = blk_used(h) >> s;

		if (!rest)
			return SLOTS;
		s += mask_ctz(rest);
	}
	/* Enough to step over it safely; users of an entry check it whole. */
	n = blk_entry(h, s)->nslots;
	return n && s + n <= SLOTS ? (int)s : -EUCLEAN;
}

/*
 * The first entry starting at or after slot from, for any from. Entries are
 * runs of used slots, so a used slot is known to start an entry only when
 * the slot before it is free; between two used slots the boundaries are
 * found by walking from slot 1 (a cookie may point into an entry written
 * after it was handed out). Returns the slot, SLOTS when there is none, or
 * -EUCLEAN.
 */
static int block_next_entry(struct umfs_dirblock_hdr *h, unsigned from)
{
	int s;

	/* A free slot at from or just before it makes from a boundary. */
	if (from <= 1 || from >= SLOTS || (blk_used(h) >> (from - 1) & 3) != 3)
		return block_entry_from(h, UMFS_MAX(from, 1u));
	for (s = block_entry_from(h, 1); s >= 0 && s < (int)from;)
		s = block_entry_from(h, (unsigned)s + blk_entry(h, (unsigned)s)->nslots);
	return s;
}

/* Iterates over the entry slots of a block; s < 0 afterwards on damage. */
#define for_each_block_entry(h, s)                                           \
	for ((s) = block_entry_from(h, 1); (s) >= 0 && (s) < (int)SLOTS;      \
	     (s) = block_entry_from(h, (unsigned)(s) + blk_entry(h, (unsigned)(s))->nslots))

/* Lowest slot starting n free consecutive slots, or -1. */
static int block_find_room(const struct umfs_dirblock_hdr *h, unsigned n)
{
	slotmask free = ~blk_used(h), run = free;

	if (h->nfree < n)
		return -1;
	for (unsigned i = 1; i < n; i++)
		run &= free >> i;
	return run ? (int)mask_ctz(run) : -1;
}

/* The name is compared only within the entry's block, whatever its slot
 * says by the time it is read (a lookup without the lock races writers). */
static bool entry_matches(const struct umfs_dentry *e, const char *name, size_t len, uint32_t hash)
{
	return e->hash == hash && e->name_len == len &&
	       ((uintptr_t)e->name & (UMFS_PAGE_SIZE - 1)) + len <= UMFS_PAGE_SIZE &&
	       !memcmp(e->name, name, len);
}

/* The check byte an entry naming ino carries in this pool (format.h). */
static uint8_t entry_check(const struct umfs_fs *fs, uint64_t ino)
{
	return (fs->sb.feature_ro_compat & UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK) ?
		umfs_dentry_check(ino) : 0;
}

/* Saves what entry_write changes (unsealed). */
static int entry_write_save(struct umfs_fs *fs, struct umfs_dirblock_hdr *h, unsigned s,
			    bool fresh, size_t len)
{
	unsigned n = (unsigned)UMFS_DIRENT_SLOTS(len);
	int err = tx_mark_save(fs, blk_entry(h, s), (size_t)n * UMFS_DIR_SLOT_SIZE, fresh);

	return err ? err : tx_mark_save(fs, h, sizeof(*h), fresh);
}

/* After entry_write_save and the seal: writes an entry into free slots
 * [s, s+n) and marks them used. */
static void entry_write(struct umfs_fs *fs, struct umfs_dirblock_hdr *h, unsigned s,
			const char *name, size_t len, uint32_t hash, uint64_t ino,
			unsigned char type)
{
	unsigned n = (unsigned)UMFS_DIRENT_SLOTS(len);
	struct umfs_dentry *e = blk_entry(h, s);

	e->ino = ino;
	e->hash = hash;
	e->name_len = (uint8_t)len;
	e->type = type;
	e->nslots = (uint8_t)n;
	e->check = entry_check(fs, ino);
	memcpy(e->name, name, len);
	dir_changed();
	blk_set_used(h, blk_used(h) | slot_range(s, n));
	h->nfree = (uint16_t)(h->nfree - n);
}

/* Saves what entry_clear changes (unsealed). */
static int entry_clear_save(struct umfs_fs *fs, struct umfs_dirblock_hdr *h, unsigned s)
{
	struct umfs_dentry *e = blk_entry(h, s);
	int err = umfs_tx_save(fs, e, (size_t)e->nslots * UMFS_DIR_SLOT_SIZE);

	return err ? err : umfs_tx_save(fs, h, sizeof(*h));
}

/* After entry_clear_save and the seal: zeroes the entry at slot s and
 * frees its slots. */
static void entry_clear(struct umfs_dirblock_hdr *h, unsigned s)
{
	struct umfs_dentry *e = blk_entry(h, s);
	unsigned n = e->nslots; /* checked by the lookup that found it */

	memset(e, 0, (size_t)n * UMFS_DIR_SLOT_SIZE);
	dir_changed();
	blk_set_used(h, blk_used(h) & ~slot_range(s, n));
	h->nfree = (uint16_t)(h->nfree + n);
}

/* ------------------------------------------------------------------ */
/* Hash index                                                           */
/* ------------------------------------------------------------------ */

static uint64_t bucket_ent(uint32_t hash, uint32_t pos)
{
	return (uint64_t)hash << 32 | pos;
}

/* Map entry i, or NULL when its page is missing. */
static umfs_le32 *map_entry(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t i)
{
	umfs_le32 *page = dir_page(fs, in, UMFS_DIR_MAP_PAGE0 + i / MAP_PER_PAGE);

	return page ? &page[i % MAP_PER_PAGE] : NULL;
}

/* The bucket that hash maps to, header checked, or NULL. */
static struct umfs_bucket *bucket_of(const struct umfs_fs *fs, const struct umfs_inode *in,
				     uint32_t hash)
{
	uint32_t mask = (uint32_t)((1ull << in->dir.gdepth) - 1);
	umfs_le32 *m = map_entry(fs, in, hash & mask);
	struct umfs_bucket *b;
	uint32_t bucket;

	if (!m)
		return NULL;
	bucket = *(volatile umfs_le32 *)m; /* read once: checked as used */
	if (bucket >= in->dir.nbuckets)
		return NULL;
	b = dir_page(fs, in, UMFS_DIR_BUCKET_PAGE0 + bucket);
	if (!b || b->magic != UMFS_BUCKET_MAGIC || b->count > UMFS_BUCKET_ENTRIES ||
	    b->local_depth > in->dir.gdepth)
		return NULL;
	return b;
}

/* Saves what bucket_append changes (unsealed). */
static int bucket_append_save(struct umfs_fs *fs, struct umfs_bucket *b)
{
	int err = umfs_tx_save(fs, b, BUCKET_HDR_LEN);

	return err ? err : umfs_tx_save(fs, &b->ent[b->count], sizeof(b->ent[0]));
}

/* After bucket_append_save and the seal: appends (hash, pos) to a bucket
 * with room. */
static void bucket_append(struct umfs_bucket *b, uint32_t hash, uint32_t pos)
{
	b->ent[b->count] = bucket_ent(hash, pos);
	b->count++;
}

/* Saves what bucket_delete changes (unsealed). */
static int bucket_delete_save(struct umfs_fs *fs, struct umfs_bucket *b, unsigned i)
{
	unsigned last = b->count - 1u;
	int err = umfs_tx_save(fs, b, BUCKET_HDR_LEN);

	if (!err)
		err = umfs_tx_save(fs, &b->ent[i], sizeof(b->ent[0]));
	if (!err && i != last)
		err = umfs_tx_save(fs, &b->ent[last], sizeof(b->ent[0]));
	return err;
}

/* After bucket_delete_save and the seal: removes entry i; the last entry
 * moves into the hole (order is free). */
static void bucket_delete(struct umfs_bucket *b, unsigned i)
{
	unsigned last = b->count - 1u;

	b->ent[i] = b->ent[last];
	b->ent[last] = 0;
	b->count = (uint16_t)last;
}

/* Doubles the map: entries [n, 2n) copy [0, n). New map pages are fresh;
 * below 1024 entries the new half shares page 0 with the old one. */
static int map_double(struct umfs_fs *fs, struct umfs_inode *in)
{
	uint64_t n = 1ull << in->dir.gdepth, i = n;

	if (in->dir.gdepth >= UMFS_DIR_MAX_DEPTH)
		return -ENOSPC;
	if (n >= MAP_PER_PAGE) { /* all new map pages in one stop (module: one EXTEND) */
		int err = fs->be->tx_dir_pages(fs, in, UMFS_DIR_MAP_PAGE0 + n / MAP_PER_PAGE,
					       n / MAP_PER_PAGE);

		if (err)
			return err;
	}
	while (i < 2 * n) {
		uint64_t pg = i / MAP_PER_PAGE, end = UMFS_MIN((pg + 1) * MAP_PER_PAGE, 2 * n);
		umfs_le32 *dst, *src = map_entry(fs, in, i - n);
		bool fresh;
		int err;

		if (!src)
			return -EUCLEAN;
		if (i % MAP_PER_PAGE == 0) {
			void *page;

			err = dir_page_new(fs, in, UMFS_DIR_MAP_PAGE0 + pg, &page);
			dst = page;
			fresh = true;
		} else {
			fresh = false;
			dst = dir_page(fs, in, UMFS_DIR_MAP_PAGE0 + pg);
			err = dst ? 0 : -EUCLEAN;
		}
		if (!err)
			err = tx_mark(fs, &dst[i % MAP_PER_PAGE], (end - i) * sizeof(*dst), fresh);
		if (err)
			return err;
		/* [i - n, end - n) lies in one page: n is a page multiple or < one page */
		memcpy(&dst[i % MAP_PER_PAGE], src, (end - i) * sizeof(*dst));
		i = end;
	}
	in->dir.gdepth++;
	return 0;
}

/* Sets map entries first, first + stride, ... below 2^gdepth to val. Wide
 * strides snapshot each entry; narrow ones one range per map page. */
static int map_set_strided(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			   uint64_t stride, uint32_t val)
{
	uint64_t end = 1ull << in->dir.gdepth;
	bool each = stride >= 8;

	for (uint64_t i = first; i < end;) {
		uint64_t pg = i / MAP_PER_PAGE;
		uint64_t pend = UMFS_MIN((pg + 1) * MAP_PER_PAGE, end);
		uint64_t last = i + (pend - 1 - i) / stride * stride;
		umfs_le32 *page = dir_page(fs, in, UMFS_DIR_MAP_PAGE0 + pg);
		int err = 0;

		if (!page)
			return -EUCLEAN;
		if (!each)
			err = umfs_tx_add(fs, &page[i % MAP_PER_PAGE], (last - i + 1) * sizeof(*page));
		for (uint64_t j = i; j <= last && !err; j += stride) {
			if (each)
				err = umfs_tx_add(fs, &page[j % MAP_PER_PAGE], sizeof(*page));
			page[j % MAP_PER_PAGE] = val;
		}
		if (err)
			return err;
		i = last + stride;
	}
	return 0;
}

/*
 * Splits the bucket that hash maps to (full) on hash bit local_depth:
 * entries with that bit set move to a new bucket, and the map entries that
 * agree with hash on the low local_depth bits and have that bit set are
 * pointed at it.
 */
static int bucket_split(struct umfs_fs *fs, struct umfs_inode *in, uint32_t hash,
			struct umfs_bucket *old)
{
	unsigned depth = old->local_depth, keep = 0, moved = 0;
	uint32_t bit = 1u << depth, nb = in->dir.nbuckets;
	struct umfs_bucket *nw;
	void *page;
	int err;

	/* The format's limits: the map's depth and the bucket page region. */
	if (depth >= UMFS_DIR_MAX_DEPTH || nb >= UMFS_DIR_MAX_BUCKETS)
		return -ENOSPC;
	/* before map_double, which may need more */
	err = fs->be->tx_dir_pages(fs, in, UMFS_DIR_BUCKET_PAGE0 + nb, 1);
	if (err)
		return err;
	if (depth == in->dir.gdepth) {
		err = map_double(fs, in);
		if (err)
			return err;
	}
	err = dir_page_new(fs, in, UMFS_DIR_BUCKET_PAGE0 + nb, &page);
	if (!err)
		err = umfs_tx_add(fs, old, UMFS_PAGE_SIZE);
	if (err)
		return err;
	nw = page;
	for (unsigned i = 0; i < old->count; i++) {
		uint64_t e = old->ent[i];

		if ((e >> 32) & bit)
			nw->ent[moved++] = e;
		else
			old->ent[keep++] = e;
	}
	memset(&old->ent[keep], 0, (size_t)(old->count - keep) * sizeof(old->ent[0]));
	old->count = (uint16_t)keep;
	old->local_depth = (uint16_t)(depth + 1);
	nw->magic = UMFS_BUCKET_MAGIC;
	nw->local_depth = (uint16_t)(depth + 1);
	nw->count = (uint16_t)moved;
	err = umfs_tx_dirty(fs, nw, UMFS_PAGE_SIZE);
	if (err)
		return err;
	in->dir.nbuckets = nb + 1;
	return map_set_strided(fs, in, (hash & (bit - 1)) | bit, (uint64_t)bit << 1, nb);
}

/* True when no split can make room for hash in full bucket b: every entry
 * agrees with hash on bits [local_depth, UMFS_DIR_MAX_DEPTH). */
static bool bucket_split_futile(const struct umfs_bucket *b, uint32_t hash)
{
	uint32_t mask = (uint32_t)((1ull << UMFS_DIR_MAX_DEPTH) - 1) &
			~(uint32_t)((1ull << b->local_depth) - 1);
	uint32_t diff = 0;

	for (unsigned i = 0; i < b->count; i++)
		diff |= (uint32_t)(b->ent[i] >> 32) ^ hash;
	return (diff & mask) == 0;
}

/* Splits until the bucket for hash has room. Each split deepens that
 * bucket, so this ends by UMFS_DIR_MAX_DEPTH at the latest. */
static int bucket_make_room(struct umfs_fs *fs, struct umfs_inode *in, uint32_t hash)
{
	struct umfs_bucket *b = bucket_of(fs, in, hash);

	/* 510 names whose hashes agree with this one on the low 24 bits: a
	 * pathological (or crafted) set that no split can separate. Fail now
	 * rather than doubling the map up to 2^24 entries in vain. */
	if (b && b->count == UMFS_BUCKET_ENTRIES && bucket_split_futile(b, hash))
		return -ENOSPC;
	for (;;) {
		int err;

		if (!b)
			return -EUCLEAN;
		if (b->count < UMFS_BUCKET_ENTRIES)
			return 0;
		umfs_tx_seal(fs); /* the caller saved the inode, which a split changes */
		err = bucket_split(fs, in, hash, b);
		if (err)
			return err;
		b = bucket_of(fs, in, hash);
	}
}

/* Indexes the entries of block 0 (at most 127, so one bucket holds them):
 * called when a second block is about to be added. */
static int dir_build_index(struct umfs_fs *fs, struct umfs_inode *in)
{
	struct umfs_dirblock_hdr *h = block_get(fs, in, 0);
	struct umfs_bucket *b;
	umfs_le32 *map;
	void *page;
	int s, err;

	if (!h)
		return -EUCLEAN;
	err = dir_page_new(fs, in, UMFS_DIR_BUCKET_PAGE0, &page);
	if (err)
		return err;
	b = page;
	err = dir_page_new(fs, in, UMFS_DIR_MAP_PAGE0, &page);
	if (err)
		return err;
	map = page;
	for_each_block_entry(h, s) {
		struct umfs_dentry *e = blk_entry(h, (unsigned)s);

		if (!entry_slots(h, (unsigned)s) || e->hash != umfs_name_hash(e->name, e->name_len))
			return -EUCLEAN;
		b->ent[b->count++] = bucket_ent(e->hash, (uint32_t)s);
	}
	if (s < 0)
		return s;
	b->magic = UMFS_BUCKET_MAGIC;
	b->local_depth = 0;
	map[0] = 0;
	err = umfs_tx_dirty(fs, b, UMFS_PAGE_SIZE);
	if (!err)
		err = umfs_tx_dirty(fs, map, sizeof(*map));
	if (err)
		return err;
	in->dir.gdepth = 0;
	in->dir.nbuckets = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Finding names and room                                               */
/* ------------------------------------------------------------------ */

struct dir_hit {
	struct umfs_dirblock_hdr *blk;
	struct umfs_dentry *ent;
	uint32_t block;
	unsigned slot;
	struct umfs_bucket *bucket; /* NULL when the directory is not indexed */
	unsigned bidx;              /* index of the entry in bucket */
};

/*
 * Block 0 of a directory that is not indexed. Rather than walking the
 * entries (each step waits for the previous entry's length), the hash field
 * of every used slot is compared; a slot that matches is then confirmed to
 * start an entry, as name bytes of a longer entry could look like a hash.
 */
static int find_unindexed(const struct umfs_fs *fs, const struct umfs_inode *in,
			  const char *name, size_t len, uint32_t hash, struct dir_hit *hit)
{
	struct umfs_dirblock_hdr *h;
	slotmask used;

	if (in->dir.nblocks == 0)
		return -ENOENT;
	h = block_get(fs, in, 0);
	if (!h)
		return -EUCLEAN;
	used = blk_used(h);
	for (unsigned s = 1; s < SLOTS; s++) {
		struct umfs_dentry *e = blk_entry(h, s);
		int start;

		if (e->hash != hash || !(used >> s & 1))
			continue;
		start = block_next_entry(h, s);
		if (start < 0)
			return start;
		if (start != (int)s)
			continue;
		if (!entry_slots(h, s))
			return -EUCLEAN;
		if (entry_matches(e, name, len, hash)) {
			*hit = (struct dir_hit){ .blk = h, .ent = e, .block = 0, .slot = s };
			return 0;
		}
	}
	return -ENOENT;
}

/* The first entry at or after i whose hash is hash, or count. This scan
 * is most of a lookup's cost: with SSE2 it compares 8 entries per step (the
 * hash is the high 32-bit lane of each entry), and only a chunk with a
 * match is looked at one entry at a time. */
static unsigned bucket_scan(const struct umfs_bucket *b, unsigned i, unsigned count,
			    uint32_t hash)
{
#ifdef __SSE2__
	const __m128i h = _mm_set1_epi32((int)hash);

	for (; i + 8 <= count; i += 8) {
		const __m128i *p = (const __m128i *)&b->ent[i];
		__m128i m0 = _mm_cmpeq_epi32(_mm_loadu_si128(p), h);
		__m128i m1 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), h);
		__m128i m2 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 2), h);
		__m128i m3 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 3), h);
		__m128i m = _mm_or_si128(_mm_or_si128(m0, m1), _mm_or_si128(m2, m3));

		if (_mm_movemask_epi8(m) & 0xF0F0) /* bytes of the high lanes */
			break;
	}
#endif
	for (; i < count; i++)
		if ((uint32_t)(b->ent[i] >> 32) == hash)
			return i;
	return count;
}

static int find_indexed(const struct umfs_fs *fs, const struct umfs_inode *in, const char *name,
			size_t len, uint32_t hash, struct dir_hit *hit)
{
	struct umfs_bucket *b = bucket_of(fs, in, hash);
	unsigned count;

	if (!b)
		return -EUCLEAN;
	/* read once, as checked: a lookup without the lock races writers */
	count = UMFS_MIN(*(volatile umfs_le16 *)&b->count, (unsigned)UMFS_BUCKET_ENTRIES);
	for (unsigned i = bucket_scan(b, 0, count, hash); i < count;
	     i = bucket_scan(b, i + 1, count, hash)) {
		uint32_t pos = (uint32_t)b->ent[i];
		unsigned slot = pos % SLOTS;
		struct umfs_dirblock_hdr *h = block_get(fs, in, pos / SLOTS);
		struct umfs_dentry *e;

		if (!h || !entry_slots(h, slot))
			return -EUCLEAN;
		e = blk_entry(h, slot);
		if (e->hash != hash)
			return -EUCLEAN; /* the bucket sends hash to an entry of another */
		if (entry_matches(e, name, len, hash)) {
			*hit = (struct dir_hit){ .blk = h, .ent = e, .block = pos / SLOTS,
						 .slot = slot, .bucket = b, .bidx = i };
			return 0;
		}
	}
	return -ENOENT;
}

static int dir_find(const struct umfs_fs *fs, const struct umfs_inode *in, const char *name,
		    size_t len, uint32_t hash, struct dir_hit *hit)
{
	if (!umfs_dir_info_sane(in))
		return -EUCLEAN;
	if (in->dir.nbuckets == 0)
		return find_unindexed(fs, in, name, len, hash, hit);
	return find_indexed(fs, in, name, len, hash, hit);
}

/* Room for n slots: the hint block (which got space back from a removal),
 * then the last block, else a new block. Never a scan of the blocks. */
static int dir_find_room(struct umfs_fs *fs, struct umfs_inode *in, unsigned n,
			 struct umfs_dirblock_hdr **hp, uint32_t *pos, bool *fresh)
{
	uint32_t nblocks = in->dir.nblocks;
	uint32_t cand[2] = { in->dir.hint_block, nblocks - 1 };
	void *page;
	int s, err;

	for (unsigned i = 0; i < 2 && nblocks; i++) {
		struct umfs_dirblock_hdr *h;

		if (cand[i] >= nblocks || (i == 1 && cand[1] == cand[0]))
			continue;
		h = block_get(fs, in, cand[i]);
		if (!h)
			return -EUCLEAN;
		s = block_find_room(h, n);
		if (s > 0) {
			*hp = h;
			*pos = cand[i] * SLOTS + (uint32_t)s;
			*fresh = false;
			return 0;
		}
	}
	if (nblocks >= UMFS_DIR_MAX_BLOCKS)
		return -ENOSPC;
	umfs_tx_seal(fs); /* the caller saved the inode, changed below */
	if (nblocks == 1 && in->dir.nbuckets == 0) {
		err = dir_build_index(fs, in);
		if (err)
			return err;
	}
	err = dir_page_new(fs, in, nblocks, &page);
	if (err)
		return err;
	*fresh = true;
	*hp = page;
	(*hp)->magic = UMFS_DIRBLOCK_MAGIC;
	(*hp)->used[0] = 1; /* slot 0: this header */
	(*hp)->nfree = SLOTS - 1;
	err = tx_mark(fs, *hp, sizeof(**hp), *fresh);
	if (err)
		return err;
	in->dir.nblocks = nblocks + 1;
	in->size = (uint64_t)in->dir.nblocks << UMFS_PAGE_SHIFT;
	*pos = nblocks * SLOTS + 1;
	return 0;
}

/*
 * An unindexed directory that became empty gives its one page back, so it
 * is again what umfs_dir_init made, and a create + unlink leaves the pool
 * as it was. No entry survives, so no readdir cookie is disturbed. Larger
 * directories keep their pages until rmdir (as ext4's do): freeing them
 * could take more journal than a removal may use.
 */
static int dir_release_if_empty(struct umfs_fs *fs, struct umfs_inode *in)
{
	int ret;

	if (in->dir.nentries || in->dir.nbuckets || in->dir.nblocks != 1 || in->pt_height != 0)
		return 0;
	/* 1 also when the backend frees pages only outside transactions (the
	 * module): the block stays for the next entry */
	ret = fs->be->tx_dir_truncate(fs, in);
	if (ret < 0)
		return ret;
	if (ret == 1)
		return 0; /* no journal room: nothing was freed, keep the block */
	in->dir.nblocks = 0;
	in->dir.hint_block = 0;
	in->size = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

int umfs_dir_init(struct umfs_fs *fs, uint64_t dir)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	int err;

	if (!in)
		return -ENOTDIR;
	if (in->pt_root)
		return -EEXIST; /* already has pages: not a new directory */
	err = dir_info_save(fs, in);
	if (err)
		return err;
	umfs_tx_seal(fs);
	/* Pages come with the first entry; parent was set by the creator. */
	in->dir.nentries = 0;
	in->dir.gdepth = 0;
	in->dir.nbuckets = 0;
	in->dir.nblocks = 0;
	in->dir.hint_block = 0;
	in->size = 0;
	return 0;
}

/*
 * Where names were last found: a per-process hint of the entry's position,
 * keyed by directory and name hash, so that a lookup can skip the bucket
 * scan of a large directory (the block scan of a small one). Every use is
 * checked against the entry itself (a used entry of this directory with
 * this hash and name), so a stale, colliding or torn hint costs only the
 * full lookup; entries never move, so a hint stays right until the name is
 * removed. (The check trusts what is stored in the directory, as every
 * reader of the pool does without the kernel module.)
 * The table is 64 pages: lookups of thousands of names touch every page
 * of it, and each first touch is a page fault of over 10 us in the VM of
 * docs/performance.md, while a colliding hint costs only the full lookup.
 * A page is read only once a hint was stored on it (a load first would
 * fault in the zero page, and the store a copy), and once a process has
 * stored on LOOKUP_HINT_SPREAD pages (a walk of many directories, not a
 * short process's few lookups) the rest are populated with one call, and
 * kept from its children: a child starts with no hints, and the parent's
 * stores after a fork (find -exec, make) do not fault on copy-on-write.
 * A process stores no hint before its LOOKUP_HINT_AFTER-th full lookup:
 * one that looks up a few names (a cat, a compiler pass) would pay a page
 * fault for each hint and never use it.
 */
#define LOOKUP_HINTS (1u << 16)
#define LOOKUP_HINT_SPREAD 8
#define LOOKUP_HINT_AFTER 32
#define LOOKUP_HINTS_PER_PAGE (UMFS_PAGE_SIZE / sizeof(uint32_t))
UMFS_BSS_LARGE static _Atomic uint32_t lookup_hint[LOOKUP_HINTS]
	__attribute__((aligned(UMFS_PAGE_SIZE))); /* position + 1; 0: none */
static _Atomic uint64_t lookup_hint_pages; /* a bit per page stored on */
static _Atomic uint32_t lookup_full; /* full lookups, counted to LOOKUP_HINT_AFTER */

static_assert(LOOKUP_HINTS / LOOKUP_HINTS_PER_PAGE <= 64, "a bit per page of the hints");

static size_t lookup_hint_index(uint64_t dir, uint32_t hash)
{
	uint64_t k = dir * 0x9E3779B97F4A7C15ull ^ hash;

	return (k ^ k >> 31) & (LOOKUP_HINTS - 1);
}

static uint64_t lookup_hint_page_bit(size_t i)
{
	return 1ull << (i / LOOKUP_HINTS_PER_PAGE);
}

/* The hint for (dir, hash): position + 1, or 0. */
static uint32_t lookup_hint_get(uint64_t dir, uint32_t hash)
{
	size_t i = lookup_hint_index(dir, hash);

	if (!(atomic_load_explicit(&lookup_hint_pages, memory_order_relaxed) &
	      lookup_hint_page_bit(i)))
		return 0;
	return atomic_load_explicit(&lookup_hint[i], memory_order_relaxed);
}

static void lookup_hint_put(uint64_t dir, uint32_t hash, uint32_t pos1)
{
	size_t i = lookup_hint_index(dir, hash);

	if (UMFS_UNLIKELY(atomic_load_explicit(&lookup_full, memory_order_relaxed) <
			  LOOKUP_HINT_AFTER)) {
		atomic_fetch_add_explicit(&lookup_full, 1, memory_order_relaxed);
		return;
	}
	if (UMFS_UNLIKELY(umfs_mem_spread(&lookup_hint_pages, lookup_hint_page_bit(i),
					  LOOKUP_HINT_SPREAD))) {
		umfs_mem_wipe_on_fork(lookup_hint, sizeof(lookup_hint));
		umfs_mem_populate(lookup_hint, sizeof(lookup_hint));
	}
	atomic_store_explicit(&lookup_hint[i], pos1, memory_order_relaxed);
}

static const struct umfs_dentry *lookup_hinted(const struct umfs_fs *fs,
					       const struct umfs_inode *in, uint64_t dir,
					       const char *name, size_t len, uint32_t hash)
{
	uint32_t pos = lookup_hint_get(dir, hash);
	struct umfs_dirblock_hdr *h;
	const struct umfs_dentry *e;

	if (pos-- == 0 || !umfs_dir_info_sane(in))
		return NULL;
	h = block_get(fs, in, pos / SLOTS);
	if (!h || !entry_slots(h, pos % SLOTS))
		return NULL;
	e = blk_entry(h, pos % SLOTS);
	return entry_matches(e, name, len, hash) ? e : NULL;
}

/* Damage met in the structure of directory dir: said once. */
static int dir_damaged(struct umfs_fs *fs, uint64_t dir)
{
	umfs_damage_report(fs, dir, UMFS_DAMAGE_DIRSIG,
			   "inode %" PRIu64 ": directory blocks or index damaged (run fsck.umfs)", dir);
	return -EUCLEAN;
}

int umfs_dir_lookup(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino, unsigned char *type)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	const struct umfs_dentry *e;
	struct dir_hit hit;
	uint32_t hash;
	int err;

	if (!in)
		return -ENOTDIR;
	if (len > UMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (name_is_dot(name, len)) {
		*ino = len == 1 ? dir : in->dir.parent;
		if (type)
			*type = DT_DIR;
		return 0;
	}
	if (len == 0)
		return -ENOENT; /* never stored (nor a name with '/' or NUL: no match) */
	hash = umfs_name_hash(name, len);
	e = lookup_hinted(fs, in, dir, name, len, hash);
	if (!e) {
		err = dir_find(fs, in, name, len, hash, &hit);
		if (err == -EUCLEAN)
			return dir_damaged(fs, dir);
		if (err)
			return err;
		e = hit.ent;
		lookup_hint_put(dir, hash, hit.block * SLOTS + hit.slot + 1);
	}
	if (UMFS_UNLIKELY(e->check != entry_check(fs, e->ino))) {
		/* its inode number changed since it was written: it would
		 * name another inode */
		umfs_damage_report(fs, dir | UMFS_DAMAGE_ENTRY, hash ^ (uint32_t)e->ino,
				   "inode %" PRIu64 ": entry \"%.*s\" names inode %" PRIu64
				   ", which its check byte does not (run fsck.umfs)",
				   dir, (int)len, name, (uint64_t)e->ino);
		return -EUCLEAN;
	}
	*ino = e->ino;
	if (type)
		*type = e->type;
	return 0;
}

static int dir_add(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
		   unsigned char type, bool known_absent)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	struct umfs_dirblock_hdr *h;
	struct umfs_bucket *b = NULL;
	struct dir_hit hit;
	uint32_t hash, pos;
	bool fresh;
	int err;

	if (!in)
		return -ENOTDIR;
	err = name_check(name, len);
	if (err)
		return err;
	hash = umfs_name_hash(name, len);
	err = known_absent ? -ENOENT : dir_find(fs, in, name, len, hash, &hit);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	/* The inode, entry and bucket are saved first and sealed with one
	 * fence; room-making that changes the inode seals before it does. */
	err = dir_info_save(fs, in);
	if (!err)
		err = dir_find_room(fs, in, (unsigned)UMFS_DIRENT_SLOTS(len), &h, &pos, &fresh);
	/* Split before writing, so that a full index fails with nothing done. */
	if (!err && in->dir.nbuckets)
		err = bucket_make_room(fs, in, hash);
	if (!err)
		err = entry_write_save(fs, h, pos % SLOTS, fresh, len);
	if (!err && in->dir.nbuckets) {
		b = bucket_of(fs, in, hash);
		err = b ? bucket_append_save(fs, b) : -EUCLEAN;
	}
	if (err)
		return err;
	umfs_tx_seal(fs);
	entry_write(fs, h, pos % SLOTS, name, len, hash, ino, type);
	if (b)
		bucket_append(b, hash, pos);
	in->dir.nentries++;
	return 0;
}

int umfs_dir_add(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
		 unsigned char type)
{
	return dir_add(fs, dir, name, len, ino, type, false);
}

/* The caller's walk found the name missing under the lock it still holds:
 * a miss in a large directory scans a whole bucket, once is enough. */
int umfs_dir_add_new(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     uint64_t ino, unsigned char type)
{
	return dir_add(fs, dir, name, len, ino, type, true);
}

int umfs_dir_remove(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		    uint64_t *ino)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	struct dir_hit hit;
	int err;

	if (!in)
		return -ENOTDIR;
	err = name_check(name, len);
	if (!err)
		err = dir_find(fs, in, name, len, umfs_name_hash(name, len), &hit);
	if (err)
		return err;
	*ino = hit.ent->ino;
	/* everything saved first, sealed with one fence, then changed */
	err = dir_info_save(fs, in);
	if (!err && hit.bucket)
		err = bucket_delete_save(fs, hit.bucket, hit.bidx);
	if (!err)
		err = entry_clear_save(fs, hit.blk, hit.slot);
	if (err)
		return err;
	umfs_tx_seal(fs);
	if (hit.bucket)
		bucket_delete(hit.bucket, hit.bidx);
	entry_clear(hit.blk, hit.slot);
	if (in->dir.nentries)
		in->dir.nentries--;
	in->dir.hint_block = hit.block; /* it has free slots now */
	return dir_release_if_empty(fs, in);
}

int umfs_dir_retarget(struct umfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      uint64_t ino, unsigned char type)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	struct dir_hit hit;
	int err;

	if (!in)
		return -ENOTDIR;
	err = name_check(name, len);
	if (!err)
		err = dir_find(fs, in, name, len, umfs_name_hash(name, len), &hit);
	if (!err)
		err = umfs_tx_add(fs, hit.ent, sizeof(*hit.ent));
	if (err)
		return err;
	hit.ent->ino = ino;
	hit.ent->type = type;
	hit.ent->check = entry_check(fs, ino);
	return 0;
}

static void fill_dot(struct umfs_dirent *out, uint64_t ino, const char *name, uint64_t next)
{
	out->ino = ino;
	out->type = DT_DIR;
	out->next_cookie = next;
	strcpy(out->name, name);
}

/*
 * The cookie umfs_dir_next last handed out in this thread, and the state of
 * its directory then. A cookie is the slot after an entry; that it is an
 * entry boundary (not inside a longer entry written since) is only known by
 * walking the block from its first slot, which makes a readdir quadratic in
 * the entries of a block. When the next call resumes from that cookie and
 * no entry was added or removed since (nothing in this process: the change
 * count; nothing anywhere: the directory's mtime and entry count, which
 * every add and remove changes), the walk is skipped.
 */
static __thread struct {
	const struct umfs_fs *fs;
	uint64_t dir, cookie, changes, mtime, nentries;
} next_memo;

static bool next_memo_valid(const struct umfs_fs *fs, uint64_t dir, const struct umfs_inode *in,
			    uint64_t cookie)
{
	return next_memo.fs == fs && next_memo.dir == dir && next_memo.cookie == cookie &&
	       next_memo.changes == atomic_load_explicit(&dir_changes, memory_order_relaxed) &&
	       next_memo.mtime == in->mtime_ns && next_memo.nentries == in->dir.nentries;
}

/* A listing hands out an entry's name with no lookup to confirm it: the
 * name must be the one its hash was made from (a flipped byte would list
 * a name that does not exist). Its inode is the caller's to check. */
/* Its hash matches its name, its check byte its inode number. */
static bool entry_sound(const struct umfs_fs *fs, const struct umfs_dentry *e)
{
	return e->hash == umfs_name_hash(e->name, e->name_len) && e->check == entry_check(fs, e->ino);
}

int umfs_dir_next(struct umfs_fs *fs, uint64_t dir, uint64_t *cookie, struct umfs_dirent *out)
{
	struct umfs_inode *in = dir_inode(fs, dir);
	uint64_t c = *cookie, pos, b;
	unsigned from;
	bool boundary;

	if (!in)
		return -ENOTDIR;
	if (c == COOKIE_DOT) {
		fill_dot(out, dir, ".", COOKIE_DOTDOT);
	} else if (c == COOKIE_DOTDOT) {
		fill_dot(out, in->dir.parent, "..", COOKIE_FIRST);
	} else {
		if (!umfs_dir_info_sane(in))
			return dir_damaged(fs, dir);
		pos = c - COOKIE_FIRST;
		boundary = next_memo_valid(fs, dir, in, c);
		for (b = pos / SLOTS, from = pos % SLOTS; b < in->dir.nblocks; b++, from = 1) {
			struct umfs_dirblock_hdr *h = block_get(fs, in, b);
			struct umfs_dentry *e;
			int s;

			if (!h)
				return dir_damaged(fs, dir);
			s = boundary ? block_entry_from(h, UMFS_MAX(from, 1u))
				     : block_next_entry(h, from);
			if (s == (int)SLOTS)
				continue;
			if (s < 0 || !entry_slots(h, (unsigned)s))
				return dir_damaged(fs, dir);
			e = blk_entry(h, (unsigned)s);
			if (!entry_sound(fs, e)) {
				umfs_damage_report(fs, dir | UMFS_DAMAGE_ENTRY,
						   (uint32_t)(b * SLOTS + (unsigned)s),
						   "inode %" PRIu64 ": directory entry at position %" PRIu64
						   " is damaged (run fsck.umfs)",
						   dir, b * SLOTS + (unsigned)s);
				return -EUCLEAN;
			}
			out->ino = e->ino;
			out->type = e->type;
			memcpy(out->name, e->name, e->name_len);
			out->name[e->name_len] = '\0';
			out->next_cookie = b * SLOTS + (unsigned)s + e->nslots + COOKIE_FIRST;
			*cookie = out->next_cookie;
			next_memo.fs = fs;
			next_memo.dir = dir;
			next_memo.cookie = out->next_cookie;
			next_memo.changes = atomic_load(&dir_changes);
			next_memo.mtime = in->mtime_ns;
			next_memo.nentries = in->dir.nentries;
			return 1;
		}
		return 0;
	}
	*cookie = out->next_cookie;
	return 1;
}

