/* SPDX-License-Identifier: MIT */
/*
 * umfs_rules.h - the on-media rules: what each checksum covers, where a
 * journal slot is and which of its records count, which pool offsets name
 * a data page. Included by umfs_format.h, so the core library, fsck.umfs
 * and the kernel module compile the same text (no libc on the kernel side).
 *
 * Every function here reads on-media fields (little-endian) through the
 * umfs_le*_to_cpu helpers of umfs_format.h. The CRC-32C itself is
 * umfs_crc32c(): reflected polynomial 0x82F63B78, initial value and final
 * xor 0xFFFFFFFF; pass 0 to start, a previous result to continue. Its
 * table and byte step are below, and each program links the umfs_crc32c()
 * its environment allows: libumfs/core/crc32c.c adds the SSE4.2 and
 * carry-less multiply paths user space may use freely; kmod/crc32c.c is
 * the table alone, since kernel code may use vector registers only
 * between kernel_fpu_begin and end, and the kernel's own crc32c() would
 * make the module load libcrc32c and the crypto modules behind it.
 */
#ifndef UMFS_RULES_H
#define UMFS_RULES_H

#ifndef UMFS_FORMAT_H
#error "include umfs_format.h, which includes this header"
#endif

umfs_u32 umfs_crc32c(umfs_u32 crc, const void *buf, umfs_size len);

#define UMFS_CRC32C_POLY 0x82F63B78u /* reflected */

/* Entry i of the CRC-32C's byte-at-a-time table. */
static inline umfs_u32 umfs_crc32c_table_entry(umfs_u32 i)
{
	int k;

	for (k = 0; k < 8; k++)
		i = (i & 1) ? (i >> 1) ^ UMFS_CRC32C_POLY : i >> 1;
	return i;
}

/* The CRC-32C state crc (the running value, inverted) after len more
 * bytes, one table lookup a byte. */
static inline umfs_u32 umfs_crc32c_bytes(const umfs_u32 *table, umfs_u32 crc, const umfs_u8 *p,
					 umfs_size len)
{
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* ------------------------------------------------------------------ */
/* Pool offsets                                                         */
/* ------------------------------------------------------------------ */

/* [off, off + len) lies inside a pool of pool_size bytes (no overflow). */
static inline int umfs_off_in_pool(umfs_u64 pool_size, umfs_u64 off, umfs_u64 len)
{
	return off <= pool_size && len <= pool_size - off;
}

/* off is page-aligned. */
static inline int umfs_off_is_aligned(umfs_u64 off)
{
	return (off & (UMFS_PAGE_SIZE - 1)) == 0;
}

/* A zone of the superblock: page-aligned and inside the pool. */
static inline int umfs_zone_ok(umfs_u64 off, umfs_u64 len, umfs_u64 pool_size)
{
	return umfs_off_is_aligned(off) && umfs_off_in_pool(pool_size, off, len);
}

/* off is the start of one of the data_pages pages of the data zone at
 * data_off: what every table entry, tree root and U-Log link must be. */
static inline int umfs_off_is_data_page(umfs_u64 data_off, umfs_u64 data_pages, umfs_u64 off)
{
	return off >= data_off && umfs_off_is_aligned(off) &&
	       (off - data_off) >> UMFS_PAGE_SHIFT < data_pages;
}

/* off is where a 2 MiB leaf may point: a data page whose number is a
 * multiple of 512, with all 512 pages inside the data zone. */
static inline int umfs_off_is_huge_leaf(umfs_u64 data_off, umfs_u64 data_pages, umfs_u64 off)
{
	umfs_u64 page = (off - data_off) >> UMFS_PAGE_SHIFT;

	return umfs_off_is_data_page(data_off, data_pages, off) &&
	       page % UMFS_PAGES_PER_HUGE == 0 && data_pages - page >= UMFS_PAGES_PER_HUGE;
}

/* The form of a file-table entry at level (1: the last table, whose
 * entries map 4 KiB pages; 2: entries of 2 MiB; above: tables only):
 * UMFS_PTE_LEAF4K_FLAGS, UMFS_PTE_LEAF2M_FLAGS (its address 2 MiB aligned)
 * or UMFS_PTE_TABLE_FLAGS; 0 for any other entry. Where the address
 * points is the caller's second check (umfs_off_is_data_page and
 * umfs_off_is_huge_leaf, after the pool's phys_base is taken off). */
static inline umfs_u64 umfs_pte_form(unsigned int level, umfs_u64 e)
{
	if (level == 1 && (e & ~UMFS_PTE_ADDR_MASK) == UMFS_PTE_LEAF4K_FLAGS)
		return UMFS_PTE_LEAF4K_FLAGS;
	if (level == 2 && (e & ~UMFS_PTE_HUGE_ADDR_MASK) == UMFS_PTE_LEAF2M_FLAGS)
		return UMFS_PTE_LEAF2M_FLAGS;
	if (level >= 2 && (e & ~UMFS_PTE_ADDR_MASK) == UMFS_PTE_TABLE_FLAGS)
		return UMFS_PTE_TABLE_FLAGS;
	return 0;
}

/* Where a file's table entries may point, from a validated superblock. */
struct umfs_ptgeom {
	umfs_u64 data_off, data_pages, phys_base;
	umfs_u64 inline_ok; /* INCOMPAT_INLINE_TABLE: trees of height UMFS_PT_INLINE */
	umfs_u64 max_height; /* tallest tree: 4 with INCOMPAT_LEVEL4, else 3 */
};

/* The geometry of a pool with these zone fields and incompat features
 * (CPU order): what its feature bits allow of a tree. */
static inline struct umfs_ptgeom umfs_ptgeom_make(umfs_u64 data_off, umfs_u64 data_pages,
						  umfs_u64 phys_base, umfs_u32 incompat)
{
	struct umfs_ptgeom g = {
		.data_off = data_off,
		.data_pages = data_pages,
		.phys_base = phys_base,
		.inline_ok = !!(incompat & UMFS_FEATURE_INCOMPAT_INLINE_TABLE),
		.max_height = incompat & UMFS_FEATURE_INCOMPAT_LEVEL4 ? 4 : 3,
	};

	return g;
}

static inline struct umfs_ptgeom umfs_ptgeom_of(const struct umfs_superblock *sb)
{
	return umfs_ptgeom_make(umfs_le64_to_cpu(sb->data_off), umfs_le64_to_cpu(sb->data_pages),
				umfs_le64_to_cpu(sb->phys_base),
				umfs_le32_to_cpu(sb->feature_incompat));
}

enum umfs_pte_kind {
	UMFS_PTE_HOLE,  /* 0: nothing mapped below it */
	UMFS_PTE_TABLE, /* a table of the level below, at *off */
	UMFS_PTE_LEAF,  /* data: one page at level 1, 512 pages at level 2 */
	UMFS_PTE_BAD,   /* damage: a form its level does not allow, or an
			 * address outside the data zone */
};

/*
 * The one reading of a table entry e at level (1 to the pool's
 * max_height): what it is and, for a table or a leaf, the pool offset it
 * names in *off (a 2 MiB leaf's first page). Every walk of a file's tables decodes each entry here
 * before it follows it, so no entry is used unchecked: a table or 4 KiB
 * leaf must name a page of the data zone, a 2 MiB leaf 512 of them.
 */
static inline enum umfs_pte_kind umfs_pte_decode(const struct umfs_ptgeom *g, unsigned int level,
						 umfs_u64 e, umfs_u64 *off)
{
	umfs_u64 form, page;

	if (!e)
		return UMFS_PTE_HOLE;
	form = umfs_pte_form(level, e);
	if (!form || level > g->max_height)
		return UMFS_PTE_BAD;
	/* the page number in the zone; an address below phys_base or the
	 * zone wraps to a number far past it */
	*off = (e & UMFS_PTE_ADDR_MASK) - g->phys_base;
	page = (*off - g->data_off) >> UMFS_PAGE_SHIFT;
	if (page >= g->data_pages)
		return UMFS_PTE_BAD;
	if (form == UMFS_PTE_LEAF2M_FLAGS) /* its form has bits 12-20 clear */
		return g->data_pages - page >= UMFS_PAGES_PER_HUGE && !(page % UMFS_PAGES_PER_HUGE) ?
			       UMFS_PTE_LEAF : UMFS_PTE_BAD;
	return form == UMFS_PTE_TABLE_FLAGS ? UMFS_PTE_TABLE : UMFS_PTE_LEAF;
}

/* A tree root: height at most the pool's max_height (3, or 4 with
 * INCOMPAT_LEVEL4), and root (a table, or at height 0 the file's one data
 * page) a page of the data zone. 0 is an empty tree. An
 * inline table (pool allowing it) is not rooted in the data zone: its
 * root is where its inode's pt_inline lies, which umfs_pt_root_of()
 * computes from the inode's place and never reads from the media. */
static inline int umfs_pt_root_ok(const struct umfs_ptgeom *g, unsigned int height, umfs_u64 root)
{
	if (height == UMFS_PT_INLINE)
		return g->inline_ok && root;
	return !root || (height <= g->max_height &&
			 umfs_off_is_data_page(g->data_off, g->data_pages, root));
}

/* Whether an inode of this mode may keep its level-1 entries inline: a
 * regular file of a pool with INCOMPAT_INLINE_TABLE. */
static inline int umfs_inline_allowed(const struct umfs_ptgeom *g, umfs_u32 mode)
{
	return g->inline_ok && (mode & 0170000) == 0100000; /* S_IFREG */
}

/* The tree fields of an inode of this mode: an inline table only where
 * umfs_inline_allowed, and with pt_root 0; otherwise the
 * empty tree (pt_root 0, height 0) or a root umfs_pt_root_ok takes. The
 * inline table's root is its inode's own place, which the caller knows. */
static inline int umfs_inode_tree_ok(const struct umfs_ptgeom *g, umfs_u32 mode,
				     unsigned int height, umfs_u64 pt_root)
{
	if (height == UMFS_PT_INLINE)
		return umfs_inline_allowed(g, mode) && !pt_root;
	return pt_root ? umfs_pt_root_ok(g, height, pt_root) : !height;
}

/* The largest file the pool allows: what its tallest tree covers. Past
 * it, writes, truncates and fallocate fail with EFBIG. */
static inline umfs_u64 umfs_max_file_size(const struct umfs_ptgeom *g)
{
	return g->max_height >= 4 ? UMFS_MAX_FILE_SIZE : UMFS_MAX_FILE_SIZE_L3;
}

/* Pages of the data zone from the one at off to the zone's end: how far a
 * run of contiguous leaves starting there may reach. */
static inline umfs_u64 umfs_pages_to_zone_end(const struct umfs_ptgeom *g, umfs_u64 off)
{
	return g->data_pages - ((off - g->data_off) >> UMFS_PAGE_SHIFT);
}

/* ------------------------------------------------------------------ */
/* Page-bitmap checksums (RO_COMPAT_BITMAP_SUMS)                          */
/* ------------------------------------------------------------------ */
/*
 * The page bitmap (one bit per data page, in le64 words) is cut into pages
 * of UMFS_BSUM_WORDS words, 4 KiB. Sum i, the i-th le64 of the zone at the
 * superblock's bsum_off, covers the words [512 i, 512 i + 512) of the
 * bitmap's umfs_pbitmap_words() (the last page may be short):
 *
 *   sum_i = (i + 1) * UMFS_BSUM_SEED + sum of w_j * (2 (j mod 512) + 1)   mod 2^64
 *
 * Every weight is odd, so invertible mod 2^64: any change of one word (a
 * bit flipped, the word zeroed or rewritten) changes the sum. The seed
 * makes a zeroed bitmap page under a zeroed sum fail, and a sum fit no
 * other page. A word changing from old to new adds umfs_bsum_delta() to
 * its page's sum: whoever changes a word changes the sum in the same
 * transaction, and checks the sum before it takes free bits from the page.
 */
#define UMFS_BSUM_WORDS 512u
#define UMFS_BSUM_SEED 0x9E3779B97F4A7C15ull /* odd */

/* Words of the page bitmap of data_pages pages. */
static inline umfs_u64 umfs_pbitmap_words(umfs_u64 data_pages)
{
	return (data_pages + 63) / 64;
}

/* Sums in the zone: one per page of the bitmap. */
static inline umfs_u64 umfs_bsum_count(umfs_u64 data_pages)
{
	return (umfs_pbitmap_words(data_pages) + UMFS_BSUM_WORDS - 1) / UMFS_BSUM_WORDS;
}

/* What the sum of word j's page gains when word j goes from old to nw. */
static inline umfs_u64 umfs_bsum_delta(umfs_u64 j, umfs_u64 old, umfs_u64 nw)
{
	return (nw - old) * (2 * (j % UMFS_BSUM_WORDS) + 1);
}

/* Sum i of the page bitmap bm, which has `words` words. */
static inline umfs_u64 umfs_bsum_of(const umfs_le64 *bm, umfs_u64 words, umfs_u64 i)
{
	umfs_u64 first = i * UMFS_BSUM_WORDS, n = words > first ? words - first : 0, j;
	umfs_u64 s0 = (i + 1) * UMFS_BSUM_SEED, s1 = 0, s2 = 0, s3 = 0;
	const umfs_le64 *w = bm + first;

	if (n > UMFS_BSUM_WORDS)
		n = UMFS_BSUM_WORDS;
	while (n % 4) { /* a short last page */
		n--;
		s0 += umfs_le64_to_cpu(w[n]) * (2 * n + 1);
	}
	/* four independent sums, so that loads and multiplies overlap */
	for (j = 0; j < n; j += 4) {
		s0 += umfs_le64_to_cpu(w[j]) * (2 * j + 1);
		s1 += umfs_le64_to_cpu(w[j + 1]) * (2 * j + 3);
		s2 += umfs_le64_to_cpu(w[j + 2]) * (2 * j + 5);
		s3 += umfs_le64_to_cpu(w[j + 3]) * (2 * j + 7);
	}
	return s0 + s1 + s2 + s3;
}

/* ------------------------------------------------------------------ */
/* How far a pool may grow (COMPAT_GROWABLE, INCOMPAT_GROWING)            */
/* ------------------------------------------------------------------ */
/*
 * The zones before the data zone never move, so a pool grows only by data
 * pages, as many as its page bitmap and sums have room for: the bitmap
 * ends where the sums begin (or the data zone, in a pool without sums),
 * and each sum covers UMFS_BSUM_WORDS words.
 */
static inline umfs_u64 umfs_sb_bitmap_room(const struct umfs_superblock *sb)
{
	umfs_u64 pb = umfs_le64_to_cpu(sb->pbitmap_off), data = umfs_le64_to_cpu(sb->data_off);
	umfs_u64 bsum = umfs_le64_to_cpu(sb->bsum_off), pages, nsums;
	int sums = umfs_le32_to_cpu(sb->feature_ro_compat) & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS;
	umfs_u64 end = sums ? bsum : data;

	if (end < pb || data < end)
		return 0;
	pages = (end - pb) / 8 * 64;
	nsums = (data - end) / 8;
	if (sums && nsums <= pages / (64 * UMFS_BSUM_WORDS)) /* no overflow */
		pages = nsums * 64 * UMFS_BSUM_WORDS;
	return pages;
}

/* Data pages of a pool of size bytes laid out as sb: the data zone runs
 * from data_off to the last page, which holds the backup superblock. */
static inline umfs_u64 umfs_sb_pages_at(const struct umfs_superblock *sb, umfs_u64 size)
{
	umfs_u64 data = umfs_le64_to_cpu(sb->data_off);

	return size >= data + UMFS_PAGE_SIZE ? (size - data - UMFS_PAGE_SIZE) >> UMFS_PAGE_SHIFT
					     : 0;
}

/* The largest size a pool laid out as sb can grow to: max_pool_size when
 * it is GROWABLE, else what its bitmap's slack allows; never past what a
 * page-table entry addresses. */
static inline umfs_u64 umfs_sb_grow_limit(const struct umfs_superblock *sb)
{
	umfs_u64 room = umfs_sb_bitmap_room(sb), phys = umfs_le64_to_cpu(sb->phys_base);
	umfs_u64 lim = umfs_le64_to_cpu(sb->data_off) + (room << UMFS_PAGE_SHIFT) + UMFS_PAGE_SIZE;

	if (umfs_le32_to_cpu(sb->feature_compat) & UMFS_FEATURE_COMPAT_GROWABLE &&
	    umfs_le64_to_cpu(sb->max_pool_size) < lim)
		lim = umfs_le64_to_cpu(sb->max_pool_size);
	if (phys > UMFS_PTE_ADDR_MASK)
		return 0;
	if (lim > UMFS_PTE_ADDR_MASK - phys)
		lim = (UMFS_PTE_ADDR_MASK - phys) & ~(umfs_u64)(UMFS_PAGE_SIZE - 1);
	return lim;
}

/* The grow fields' part of the superblock rule: 0, or why sb is damaged.
 * A GROWABLE maximum fits the bitmap and is not below the size; a GROWING
 * pool grew from fewer pages than it has. Without their feature bits the
 * fields are reserved (zero, which fsck checks). */
static inline const char *umfs_sb_grow_why(const struct umfs_superblock *sb)
{
	umfs_u64 max = umfs_le64_to_cpu(sb->max_pool_size), from;

	if (umfs_le32_to_cpu(sb->feature_compat) & UMFS_FEATURE_COMPAT_GROWABLE &&
	    (max < umfs_le64_to_cpu(sb->pool_size) || !umfs_off_is_aligned(max) ||
	     umfs_sb_pages_at(sb, max) > umfs_sb_bitmap_room(sb) ||
	     max > UMFS_PTE_ADDR_MASK - umfs_le64_to_cpu(sb->phys_base)))
		return "maximum pool size does not fit the page bitmap or is below the size";
	from = umfs_le64_to_cpu(sb->grow_from_pages);
	if (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_GROWING &&
	    (from == 0 || from >= umfs_le64_to_cpu(sb->data_pages)))
		return "an unfinished grow names implausible old page counts";
	return 0;
}

/* ------------------------------------------------------------------ */
/* Superblock checksum: crc32c of every byte before csum.                 */
/* ------------------------------------------------------------------ */

static inline umfs_u32 umfs_sb_csum(const struct umfs_superblock *sb)
{
	return umfs_crc32c(0, sb, __builtin_offsetof(struct umfs_superblock, csum));
}

/* The smallest pool a superblock may describe. */
#define UMFS_MIN_POOL_SIZE (8ull << 20)

/*
 * The superblock rule: whether sb describes a pool this code can use,
 * mapped map_len bytes long (writable unless rdonly). 0, or a negative
 * errno with *why naming the rule that failed:
 *   -EINVAL           not a UMFS pool (magic)
 *   -EPROTONOSUPPORT  a newer format, or incompatible features unknown here
 *   -EROFS            read-only-compatible features unknown here, writable use
 *   -EUCLEAN          damaged: checksum, sizes, counts or zones
 */
static inline int umfs_sb_check(const struct umfs_superblock *sb, umfs_u64 map_len, int rdonly,
				const char **why)
{
#define SB16(f) ((umfs_u64)umfs_le16_to_cpu(sb->f))
#define SB32(f) ((umfs_u64)umfs_le32_to_cpu(sb->f))
#define SB64(f) umfs_le64_to_cpu(sb->f)
	umfs_u64 pool = SB64(pool_size), icount = SB64(inode_count), pages = SB64(data_pages);
	umfs_u64 jlen = SB32(journal_slots) * SB32(journal_slot_size);
	umfs_u64 ilen = icount * sizeof(struct umfs_inode);
	umfs_u64 ibits = (icount + 63) / 64 * 8, pbits = (pages + 63) / 64 * 8;
	umfs_u64 sums = SB32(feature_ro_compat) & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS ?
				umfs_bsum_count(pages) * 8 : 0;

	*why = 0;
	if (SB64(magic) != UMFS_SB_MAGIC)
		*why = "bad magic: not a UMFS pool";
	if (*why)
		return -EINVAL;
	if (SB16(version_major) > UMFS_VERSION_MAJOR)
		*why = "pool format is newer than this UMFS";
	else if (SB32(feature_incompat) & ~(umfs_u64)UMFS_FEATURE_INCOMPAT_SUPP)
		*why = "pool uses incompatible features this UMFS does not know";
	if (*why)
		return -EPROTONOSUPPORT;
	if (SB16(version_major) != UMFS_VERSION_MAJOR || SB32(sb_size) != sizeof(*sb))
		*why = "unknown format version or superblock size";
	else if (SB32(csum) != umfs_sb_csum(sb))
		*why = "superblock checksum mismatch";
	if (*why)
		return -EUCLEAN;
	if (!rdonly && (SB32(feature_ro_compat) & ~(umfs_u64)UMFS_FEATURE_RO_COMPAT_SUPP)) {
		*why = "pool uses features that allow read-only use only";
		return -EROFS;
	}
	if (SB32(page_size) != UMFS_PAGE_SIZE || SB32(inode_size) != sizeof(struct umfs_inode))
		*why = "page or inode size differs from this UMFS";
	else if (pool > map_len || pool < UMFS_MIN_POOL_SIZE || !umfs_off_is_aligned(pool))
		*why = "pool size in the superblock exceeds the file or device";
	else if (SB64(backup_sb_off) != pool - UMFS_PAGE_SIZE)
		*why = "backup superblock is not in the last page";
	else if (icount < 2 || icount > (1ull << 33) || pages == 0 ||
		 pages > pool >> UMFS_PAGE_SHIFT || SB32(journal_slots) == 0 ||
		 SB32(journal_slots) > 64 || SB32(journal_slot_size) < 2 * UMFS_PAGE_SIZE ||
		 SB32(journal_slot_size) % UMFS_PAGE_SIZE || SB64(root_ino) != UMFS_ROOT_INO)
		*why = "implausible counts in the superblock";
	else if (SB64(state_off) < UMFS_PAGE_SIZE ||
		 !umfs_zone_ok(SB64(state_off), UMFS_PAGE_SIZE, pool) ||
		 !umfs_zone_ok(SB64(journal_off), jlen, pool) ||
		 !umfs_zone_ok(SB64(inode_off), ilen, pool) ||
		 !umfs_zone_ok(SB64(ibitmap_off), ibits, pool) ||
		 !umfs_zone_ok(SB64(pbitmap_off), pbits, pool) ||
		 SB64(journal_off) < SB64(state_off) + UMFS_PAGE_SIZE ||
		 SB64(inode_off) < SB64(journal_off) + jlen ||
		 SB64(ibitmap_off) < SB64(inode_off) + ilen ||
		 SB64(pbitmap_off) < SB64(ibitmap_off) + ibits ||
		 SB64(data_off) < SB64(pbitmap_off) + pbits ||
		 (sums && (!umfs_zone_ok(SB64(bsum_off), sums, pool) ||
			   SB64(bsum_off) < SB64(pbitmap_off) + pbits ||
			   SB64(data_off) < SB64(bsum_off) + sums)))
		*why = "metadata zones overlap or lie outside the pool";
	else if (SB64(data_off) % UMFS_HUGE_SIZE || SB64(phys_base) % UMFS_HUGE_SIZE ||
		 SB64(data_off) + (pages << UMFS_PAGE_SHIFT) > SB64(backup_sb_off))
		*why = "data zone misaligned or overlapping the backup superblock";
	else if (SB64(phys_base) > UMFS_PTE_ADDR_MASK - pool)
		*why = "physical base too large for page-table entries";
	else if (SB64(ibitmap_off) - SB64(inode_off) - ilen >= UMFS_PAGE_SIZE)
		/* mkfs lays the zones end to end: a count that leaves most of
		 * its zone unused is not the one it wrote */
		*why = "inode count does not fill the inode zone";
	else
		*why = umfs_sb_grow_why(sb);
	return *why ? -EUCLEAN : 0;
#undef SB16
#undef SB32
#undef SB64
}

/* ------------------------------------------------------------------ */
/* Kept free counts (the state page, after struct umfs_state)           */
/* ------------------------------------------------------------------ */

static inline struct umfs_state_counts *umfs_state_counts_of(struct umfs_state *st)
{
	return (struct umfs_state_counts *)((umfs_u8 *)st + UMFS_STATE_COUNTS_OFF);
}

/* The check word of counts k kept under state st of the pool sb: the CRC
 * of the counts with everything whose change makes them stale. */
static inline umfs_u64 umfs_state_counts_check(const struct umfs_superblock *sb,
					       const struct umfs_state *st,
					       const struct umfs_state_counts *k)
{
	const umfs_le64 w[6] = { k->free_pages, st->mount_count, st->last_check_ns,
				 sb->data_pages, sb->inode_count, k->free_inodes };

	return UMFS_STATE_COUNTS_MAGIC << 32 | umfs_crc32c(0, w, sizeof(w));
}

/* The counts kept in st are this pool's as they stand: cleanly unmounted,
 * no orphans, nothing mounted or repaired since they were kept. */
static inline int umfs_state_counts_ok(const struct umfs_superblock *sb,
				       const struct umfs_state *st,
				       const struct umfs_state_counts *k)
{
	return umfs_le64_to_cpu(st->state) == UMFS_STATE_CLEAN && st->orphan_head == 0 &&
	       umfs_le64_to_cpu(k->free_pages) <= umfs_le64_to_cpu(sb->data_pages) &&
	       umfs_le64_to_cpu(k->free_inodes) <= umfs_le64_to_cpu(sb->inode_count) &&
	       umfs_le64_to_cpu(k->check) == umfs_state_counts_check(sb, st, k);
}

/* A U-Log page's csum: crc32c of magic, ino, generation. */
static inline umfs_u32 umfs_ulog_csum(const struct umfs_ulog *u)
{
	return umfs_crc32c(0, u, __builtin_offsetof(struct umfs_ulog, csum));
}

/* The start of a U-Log record's rec_csum: crc32c of its identity image
 * (struct umfs_ulog_rec_id) made from the header of page u. A BYTES record
 * continues it over its data; a SWAP record's checksum is this alone. */
static inline umfs_u32 umfs_ulog_rec_id_csum(const struct umfs_ulog *u)
{
	struct umfs_ulog_rec_id id = {
		.seq = u->rec_seq, .kind = u->rec_kind, .aux_gen = u->rec_aux_gen,
		.off = u->rec_off, .len = u->rec_len, .old_size = u->rec_old_size,
		.aux_ino = u->rec_aux_ino,
	};

	return umfs_crc32c(0, &id, sizeof(id));
}

/* ------------------------------------------------------------------ */
/* Inode checksum: crc32c of the 48-byte identity block.                  */
/* ------------------------------------------------------------------ */

/* The fields that change only inside transactions and that the module must
 * be able to trust; the hot fields (size, times, nlink, blocks, flags, dir
 * info) are single stores that fsck checks against the tree instead. */
struct umfs_inode_id {
	umfs_le32 mode, uid, gid, generation;
	umfs_le64 pt_root, ulog, rdev;
	umfs_u8 pt_height;
	umfs_u8 zero[7];
};
UMFS_STATIC_ASSERT(sizeof(struct umfs_inode_id) == 48, "inode identity block size");

/* The identity block of in: its fields are copied as stored (both are
 * little-endian), so it is the same bytes on any host. */
static inline struct umfs_inode_id umfs_inode_id_of(const struct umfs_inode *in)
{
	struct umfs_inode_id id = {
		.mode = in->mode, .uid = in->uid, .gid = in->gid, .generation = in->generation,
		.pt_root = in->pt_root, .ulog = in->ulog, .rdev = in->rdev,
		.pt_height = in->pt_height,
	};

	return id;
}

/* Word i (0..5) of in's identity block as a number, for an 8-byte CRC
 * instruction (which consumes the number's little-endian bytes): the
 * block's bytes without building it. */
static inline umfs_u64 umfs_inode_id_word(const struct umfs_inode *in, unsigned i)
{
	switch (i) {
	case 0:
		return umfs_le32_to_cpu(in->mode) | (umfs_u64)umfs_le32_to_cpu(in->uid) << 32;
	case 1:
		return umfs_le32_to_cpu(in->gid) | (umfs_u64)umfs_le32_to_cpu(in->generation) << 32;
	case 2:
		return umfs_le64_to_cpu(in->pt_root);
	case 3:
		return umfs_le64_to_cpu(in->ulog);
	case 4:
		return umfs_le64_to_cpu(in->rdev);
	default:
		return in->pt_height;
	}
}

static inline umfs_u32 umfs_inode_id_csum(const struct umfs_inode *in)
{
	struct umfs_inode_id id = umfs_inode_id_of(in);

	return umfs_crc32c(0, &id, sizeof(id));
}

/* ------------------------------------------------------------------ */
/* Journal: slot addressing and record validity                           */
/* ------------------------------------------------------------------ */

/* Pool offset of journal slot i (i < journal_slots). */
static inline umfs_u64 umfs_jslot_off(const struct umfs_superblock *sb, umfs_u32 i)
{
	return umfs_le64_to_cpu(sb->journal_off) +
	       (umfs_u64)i * umfs_le32_to_cpu(sb->journal_slot_size);
}

/* The header of slot i is one the journal wrote: a damaged header names
 * no transaction, and whoever may write reinitialises it. */
static inline int umfs_jslot_hdr_ok(const struct umfs_jslot_hdr *h, umfs_u32 i)
{
	return umfs_le64_to_cpu(h->magic) == UMFS_JSLOT_MAGIC && umfs_le32_to_cpu(h->slot) == i;
}

/* What a record may name, taken from a validated superblock. */
struct umfs_jgeom {
	umfs_u64 slot_size;
	umfs_u64 orphan_head_off; /* the state page's orphan list head */
	umfs_u64 meta_off;        /* inode zone: everything from here on ... */
	umfs_u64 meta_end;        /* ... up to the backup superblock */
};

static inline struct umfs_jgeom umfs_jgeom_of(const struct umfs_superblock *sb)
{
	struct umfs_jgeom g = {
		.slot_size = umfs_le32_to_cpu(sb->journal_slot_size),
		.orphan_head_off = umfs_le64_to_cpu(sb->state_off) +
				   __builtin_offsetof(struct umfs_state, orphan_head),
		.meta_off = umfs_le64_to_cpu(sb->inode_off),
		.meta_end = umfs_le64_to_cpu(sb->backup_sb_off),
	};

	return g;
}

/* crc32c of seq, off, len, then the len bytes of saved data. */
static inline umfs_u32 umfs_jrec_csum(const struct umfs_jrec *r, const void *data)
{
	umfs_u32 c = umfs_crc32c(0, r, __builtin_offsetof(struct umfs_jrec, csum));

	return umfs_crc32c(c, data, umfs_le32_to_cpu(r->len));
}

/* Bytes a record of len saved bytes takes in a slot (8-byte aligned). */
static inline umfs_u64 umfs_jrec_span(umfs_u64 len)
{
	return (sizeof(struct umfs_jrec) + len + 7) & ~(umfs_u64)7;
}

/* A transaction changes only the orphan list head below the inode zone,
 * and nothing at or past the backup superblock. */
static inline int umfs_jrec_range_ok(const struct umfs_jgeom *g, umfs_u64 off, umfs_u64 len)
{
	if (off == g->orphan_head_off && len == sizeof(umfs_le64))
		return 1;
	return off >= g->meta_off && off <= g->meta_end && len <= g->meta_end - off;
}

enum umfs_jrec_verdict {
	UMFS_JREC_VALID, /* replay it */
	UMFS_JREC_END,   /* not a record of this transaction (torn, stale, past
			  * the slot): the log ends here, nothing is wrong */
	UMFS_JREC_BAD,   /* sealed by this transaction yet names a range no
			  * transaction changes: corruption, the log ends here */
};

/*
 * The record at byte `at` of a slot whose active_seq is seq. A record
 * counts only if all of it (header and data) lies inside the slot, its seq
 * is the transaction's, its checksum matches (a torn write, or a record of
 * an older transaction left behind, fails one of these), and its range is
 * one a transaction changes.
 */
static inline enum umfs_jrec_verdict umfs_jrec_check(const struct umfs_jgeom *g,
						     const umfs_u8 *slot, umfs_u64 at,
						     umfs_u64 seq)
{
	const struct umfs_jrec *r = (const struct umfs_jrec *)(slot + at);
	umfs_u64 len;

	if (at > g->slot_size || sizeof(*r) > g->slot_size - at)
		return UMFS_JREC_END;
	len = umfs_le32_to_cpu(r->len);
	if (umfs_le64_to_cpu(r->seq) != seq || len > g->slot_size - at - sizeof(*r))
		return UMFS_JREC_END;
	if (umfs_le32_to_cpu(r->csum) != umfs_jrec_csum(r, r + 1))
		return UMFS_JREC_END;
	if (!umfs_jrec_range_ok(g, umfs_le64_to_cpu(r->off), len))
		return UMFS_JREC_BAD;
	return UMFS_JREC_VALID;
}

/*
 * The records to replay of a slot whose active_seq is seq: their byte
 * positions in pos[0..n), oldest first, n returned (at most max). Replay
 * goes newest first, so the oldest snapshot of a range wins. *bad is set
 * when the scan stopped at a UMFS_JREC_BAD record.
 */
static inline umfs_u32 umfs_jslot_scan(const struct umfs_jgeom *g, const void *slot,
				       umfs_u64 seq, umfs_u32 *pos, umfs_u32 max, int *bad)
{
	const umfs_u8 *s = (const umfs_u8 *)slot;
	umfs_u64 at = sizeof(struct umfs_jslot_hdr);
	umfs_u32 n = 0;

	*bad = 0;
	while (n < max) {
		enum umfs_jrec_verdict v = umfs_jrec_check(g, s, at, seq);

		if (v != UMFS_JREC_VALID) {
			*bad = v == UMFS_JREC_BAD;
			break;
		}
		pos[n++] = (umfs_u32)at;
		at += umfs_jrec_span(umfs_le32_to_cpu(((const struct umfs_jrec *)(s + at))->len));
	}
	return n;
}

/* Upper bound of the records a slot holds: the size of pos[] for a scan. */
static inline umfs_u32 umfs_jslot_max_records(const struct umfs_jgeom *g)
{
	return (umfs_u32)(g->slot_size / sizeof(struct umfs_jrec));
}

#endif /* UMFS_RULES_H */
