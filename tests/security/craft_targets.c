/* SPDX-License-Identifier: MIT */
/*
 * craft_targets.c - the one change sec_craft makes to a pool copy, by
 * kind (page tables here; craft_meta.c and craft_logs.c the rest), with the checksums that cover it resealed (the inode's identity
 * checksum, the superblock's and its backup, the U-Log page's and its
 * record's, the journal record's, an entry's check byte).
 *
 * Where a pointer or table entry is aimed (place_off): past the pool, far
 * past it, exactly at its end, the superblock, the state page, the journal,
 * the inode zone, the bitmaps, the backup superblock, the end of the data
 * zone, another file's data page, another file's table page, the file's
 * own table page, a free data page; inode pointers also at misaligned
 * offsets. Entries also get the wrong form for their level (a table at
 * level 1, a 4 KiB leaf above it, PSE at levels 1 and 3, a 2 MiB leaf not
 * 2 MiB aligned or running past the data zone, stray or missing bits).
 *
 * The verdict rules set here (crafted.sh's header says what they decide):
 * strict: the change breaks a rule a reader can check in O(1) (a pointer
 *   outside the data zone or misaligned, an entry of the wrong form, an
 *   index or count past its bound, a record that fails its rule), or it
 *   stands for a sound state that must be served as such (the control
 *   records, a superblock the mount accepts); served wrong fails.
 * lenient: the change makes a valid-looking pool that says something else
 *   (an entry aimed at another file's page, a size, an entry naming
 *   another inode under a resealed check byte); served wrong is counted.
 * fsck_must: a structural page-table change (an entry or tree root outside
 *   the data zone, misaligned, of the wrong form for its level, a height
 *   past 3): fsck.umfs -n -f must report it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "craft.h"

const char *const cr_kind_name[K_KINDS] = {
	"pte", "pte-form", "root", "inode", "dir", "orphan", "ulog", "journal", "super", "bitmap",
};


/* ------------------------------------------------------------------ */
/* Places                                                               */
/* ------------------------------------------------------------------ */

const char *const cr_place_name[P_PLACES] = {
	"past the pool", "far past the pool", "the pool's end", "the superblock",
	"the state page", "the journal", "the inode zone", "the inode bitmap", "the page bitmap",
	"the backup superblock", "the data zone's end", "another file's data page",
	"another file's table page", "its own table page", "a free data page",
};

static unsigned other_file(struct craft *c, unsigned self, bool tables)
{
	for (;;) {
		unsigned i = PICK(CR_NFILES);

		if (i != self && (tables ? c->f[i].ntables : c->f[i].ndata))
			return i;
	}
}

uint64_t cr_free_page(struct craft *c)
{
	uint64_t start = cr_rnd() % c->data_pages;

	for (uint64_t k = 0; k < c->data_pages; k++) {
		uint64_t off = c->data_off + ((start + k) % c->data_pages) * PG;

		if (!cr_page_used(c, off))
			return off;
	}
	return c->data_off;
}

/* A page-aligned pool offset at place p, for file self. */
uint64_t cr_place_off(struct craft *c, unsigned self, enum cr_place p)
{
	struct cr_file *o;

	switch (p) {
	case P_PAST: return c->pool + PG * (1 + PICK(512));
	case P_FAR: return (c->pool + (cr_rnd() % (1ull << 46))) & ~(PG - 1);
	case P_END: return c->pool;
	case P_SB: return 0;
	case P_STATE: return c->state_off;
	case P_JOURNAL: return c->journal_off + PG * PICK(2);
	case P_INODES: return c->inode_off + PG * PICK((unsigned)(c->inode_count / 16));
	case P_IBITMAP: return c->ibitmap_off;
	case P_PBITMAP: return c->pbitmap_off;
	case P_BACKUP: return c->pool - PG;
	case P_ZONE_END: return c->data_off + c->data_pages * PG;
	case P_OTHER_DATA:
		o = &c->f[other_file(c, self, false)];
		return o->data[PICK(o->ndata)];
	case P_OTHER_TABLE:
		o = &c->f[other_file(c, self, true)];
		return o->tables[PICK(o->ntables)];
	case P_OWN_TABLE:
		o = &c->f[c->f[self].ntables ? self : other_file(c, self, true)];
		return o->tables[PICK(o->ntables)];
	default: return cr_free_page(c);
	}
}

/* ------------------------------------------------------------------ */
/* Page-table entries                                                   */
/* ------------------------------------------------------------------ */

const char *cr_file_name(unsigned i)
{
	return i == CR_DIR ? "d" : cp_files[i].path;
}

/* A file with table entries, and one of its entries, its level chosen
 * first so that every level is tried as often. */
static struct cr_entry *entry_pick(struct craft *c, unsigned *fi)
{
	struct cr_file *f;
	unsigned levels = 0, want, n = 0, k;

	do
		*fi = PICK(CR_NFILES);
	while (!c->f[*fi].ne);
	f = &c->f[*fi];
	for (unsigned i = 0; i < f->ne; i++)
		levels |= 1u << f->e[i].level;
	do
		want = 1 + PICK(3);
	while (!(levels & (1u << want)));
	for (unsigned i = 0; i < f->ne; i++)
		n += f->e[i].level == want;
	k = PICK(n);
	for (unsigned i = 0; i < f->ne; i++)
		if (f->e[i].level == want && k-- == 0)
			return &f->e[i];
	return &f->e[0];
}

static void entry_set(struct craft *c, const struct cr_entry *e, uint64_t val)
{
	memcpy(c->base + e->at, &val, 8);
}

static uint64_t addr_of(const struct craft *c, uint64_t off)
{
	return (off + c->phys_base) & UMFS_PTE_ADDR_MASK;
}

static bool is_pse(const struct cr_entry *e)
{
	return e->level == 2 && (e->val & UMFS_PTE_PSE);
}

void cr_target_pte(struct craft *c)
{
	unsigned fi;
	struct cr_entry *e = entry_pick(c, &fi);
	enum cr_place p = (enum cr_place)PICK(P_PLACES);
	uint64_t off = cr_place_off(c, fi, p);
	uint64_t val = (e->val & ~UMFS_PTE_ADDR_MASK) | addr_of(c, off);
	bool fits = is_pse(e) ? umfs_off_is_huge_leaf(c->data_off, c->data_pages, off) :
				umfs_off_is_data_page(c->data_off, c->data_pages, off);

	c->strict = c->fsck_must = !fits;
	cr_say(c, "%s: L%u %s entry @0x%" PRIx64 " aimed at %s (0x%" PRIx64 "): 0x%" PRIx64
	       " -> 0x%" PRIx64, cr_file_name(fi), e->level, is_pse(e) ? "2M-leaf" :
	       e->level == 1 ? "leaf" : "table", e->at, cr_place_name[p], off, e->val, val);
	entry_set(c, e, val);
}

/* The first 2 MiB-aligned data page whose 2 MiB run past the data zone. */
static uint64_t huge_past_zone(const struct craft *c)
{
	uint64_t pg = c->data_pages % UMFS_PAGES_PER_HUGE ?
			      c->data_pages & ~(uint64_t)(UMFS_PAGES_PER_HUGE - 1) : c->data_pages;

	return c->data_off + pg * PG;
}

void cr_target_pte_form(struct craft *c)
{
	unsigned fi;
	struct cr_entry *e = entry_pick(c, &fi);
	uint64_t addr = e->val & UMFS_PTE_ADDR_MASK, val;
	unsigned how = PICK(7);
	const char *what;

	c->strict = c->fsck_must = true;
	switch (how) {
	case 0: /* the flags of another level's kind */
		if (e->level == 1) {
			val = addr | UMFS_PTE_TABLE_FLAGS, what = "table flags at level 1";
		} else if (is_pse(e)) {
			val = (addr & UMFS_PTE_ADDR_MASK) | UMFS_PTE_TABLE_FLAGS;
			what = "a 2 MiB leaf turned table (its data read as entries)";
			c->strict = c->fsck_must = false;
		} else {
			val = addr | UMFS_PTE_LEAF4K_FLAGS, what = "4 KiB leaf flags above level 1";
		}
		break;
	case 1: /* PSE where it has no meaning, or on a 4 KiB-aligned address */
		val = (addr & UMFS_PTE_HUGE_ADDR_MASK) | UMFS_PTE_LEAF2M_FLAGS;
		what = e->level == 2 ? "a 2 MiB leaf over a table page" : "PSE outside level 2";
		if (e->level == 2) {
			val = ((addr | PG) & UMFS_PTE_ADDR_MASK) | UMFS_PTE_LEAF2M_FLAGS;
			what = "a 2 MiB leaf not 2 MiB aligned";
		}
		break;
	case 2:
		val = addr_of(c, huge_past_zone(c)) | UMFS_PTE_LEAF2M_FLAGS;
		what = e->level == 2 ? "a 2 MiB leaf running past the data zone" :
				       "a 2 MiB leaf past the data zone, outside level 2";
		break;
	case 3:
		val = e->val & ~UMFS_PTE_PRESENT, what = "present bit cleared";
		break;
	case 4: {
		static const unsigned bits[] = { 3, 4, 8, 10, 11, 52, 55, 59, 62 };
		unsigned b = bits[PICK(UMFS_ARRAY_SIZE(bits))];

		val = e->val ^ (1ull << b), what = "a stray flag bit";
		break;
	}
	case 5:
		val = e->val & ~(UMFS_PTE_NX | UMFS_PTE_RW), what = "NX and RW cleared";
		break;
	default:
		val = cr_rnd() | UMFS_PTE_PRESENT, what = "a random word";
		break;
	}
	cr_say(c, "%s: L%u %s entry @0x%" PRIx64 ": %s: 0x%" PRIx64 " -> 0x%" PRIx64,
	       cr_file_name(fi), e->level, is_pse(e) ? "2M-leaf" : e->level == 1 ? "leaf" : "table",
	       e->at, what, e->val, val);
	entry_set(c, e, val);
}

/* ------------------------------------------------------------------ */
/* Inodes                                                               */
/* ------------------------------------------------------------------ */

void cr_target_root(struct craft *c)
{
	unsigned fi = PICK(CR_NFILES);
	struct umfs_inode *in = cr_inode(c, c->f[fi].ino);
	uint64_t old = in->pt_root;
	unsigned how = PICK(10);

	if (how < 6) {
		enum cr_place p = (enum cr_place)PICK(P_PLACES);
		uint64_t off = cr_place_off(c, fi, p);

		in->pt_root = off;
		/* 0 (the superblock's offset) says "no pages": a file of holes,
		 * which no rule tells from a file whose tree was dropped */
		c->strict = c->fsck_must =
			off && !umfs_off_is_data_page(c->data_off, c->data_pages, off);
		cr_say(c, "%s: pt_root aimed at %s: 0x%" PRIx64 " -> 0x%" PRIx64, cr_file_name(fi),
		       cr_place_name[p], old, off);
	} else if (how < 8) {
		static const uint64_t skew[] = { 8, 0x800, 1, 0xff8 };

		in->pt_root = (old ? old : c->data_off) + skew[PICK(4)];
		c->strict = c->fsck_must = true;
		cr_say(c, "%s: pt_root misaligned: 0x%" PRIx64 " -> 0x%" PRIx64, cr_file_name(fi), old,
		       in->pt_root);
	} else {
		static const uint8_t heights[] = { 0, 1, 2, 3, 4, 5, 7, 255, UMFS_PT_INLINE };
		const unsigned max_h = umfs_le32_to_cpu(c->sb->feature_incompat) &
				       UMFS_FEATURE_INCOMPAT_LEVEL4 ? 4 : 3;
		uint8_t h = in->pt_height, nh;

		do
			nh = heights[PICK(UMFS_ARRAY_SIZE(heights))];
		while (nh == h);
		in->pt_height = nh;
		/* height 0 shows the root table as the file's first page: no
		 * rule tells that from data */
		c->strict = nh != 0 && in->pt_root;
		c->fsck_must = nh > max_h && in->pt_root;
		/* an inline table has no root, and only a regular file has one */
		if (nh == UMFS_PT_INLINE)
			c->strict = c->fsck_must = in->pt_root || !S_ISREG(in->mode);
		cr_say(c, "%s: pt_height %u -> %u", cr_file_name(fi), h, nh);
	}
	cr_inode_seal(in);
}

void cr_target_inode(struct craft *c)
{
	unsigned fi = PICK(CR_NFILES);
	struct umfs_inode *in = cr_inode(c, c->f[fi].ino);
	unsigned how = PICK(9);
	enum cr_place p;

	c->strict = c->fsck_must = false;
	cr_say(c, "%s: ", cr_file_name(fi));
	switch (how) {
	case 0: {
		static const uint64_t sizes[] = { 0, 1, 4095, 1ull << 39, (1ull << 39) + 1,
						  1ull << 48, (1ull << 48) + 1, UINT64_MAX, 1ull << 63 };
		uint64_t s = sizes[PICK(UMFS_ARRAY_SIZE(sizes))];
		const struct umfs_ptgeom g = umfs_ptgeom_of(c->sb);

		/* past the pool's limit (256 TiB, or 512 GiB without
		 * INCOMPAT_LEVEL4) no file can be: a bound a reader checks */
		c->strict = s > umfs_max_file_size(&g);
		cr_say(c, "size %" PRIu64 " -> %" PRIu64, in->size, s);
		in->size = s;
		break;
	}
	case 1:
		cr_say(c, "size %" PRIu64 " -> +%u", in->size, 1 + PICK(9000));
		in->size += 1 + PICK(9000);
		break;
	case 2: {
		uint64_t b = PICK(2) ? 0 : cr_rnd();

		cr_say(c, "blocks %" PRIu64 " -> %" PRIu64, in->blocks, b);
		in->blocks = b;
		break;
	}
	case 3:
	case 4:
		p = (enum cr_place)PICK(P_PLACES);
		in->ulog = cr_place_off(c, fi, p) + (PICK(4) ? 0 : 8);
		c->strict = true; /* a U-Log page must carry this inode's stamp */
		cr_say(c, "ulog aimed at %s (+misaligned?): 0x%" PRIx64, cr_place_name[p], in->ulog);
		break;
	case 5: {
		static const uint32_t fl[] = { UMFS_IF_ORPHAN, UMFS_IF_TRUNC, 0xffffffffu, 0x80 };
		uint32_t v = fl[PICK(4)];

		cr_say(c, "flags 0x%x -> 0x%x", in->flags, v);
		in->flags = v;
		break;
	}
	case 6: {
		uint64_t v[] = { c->f[fi].ino, c->inode_count, UINT64_MAX, 1, c->f[PICK(CR_NFILES)].ino };
		uint64_t n = v[PICK(5)];

		cr_say(c, "next_orphan -> %" PRIu64 " with the orphan flag", n);
		in->next_orphan = n;
		in->flags |= UMFS_IF_ORPHAN;
		break;
	}
	case 7: {
		static const uint32_t modes[] = { S_IFDIR | 0755, S_IFLNK | 0777, S_IFREG | 0644,
						  S_IFCHR | 0600, 0 };
		uint32_t m = modes[PICK(5)];

		cr_say(c, "mode 0%o -> 0%o", in->mode, m);
		in->mode = m;
		break;
	}
	default:
		cr_say(c, "nlink %u -> 0", in->nlink);
		in->nlink = 0;
		break;
	}
	cr_inode_seal(in);
}

void cr_target(struct craft *c, enum cr_kind kind)
{
	static void (*const fn[K_KINDS])(struct craft *) = {
		cr_target_pte, cr_target_pte_form, cr_target_root, cr_target_inode, cr_target_dir,
		cr_target_orphan, cr_target_ulog, cr_target_journal, cr_target_sb, cr_target_bitmap,
	};

	fn[kind](c);
}

