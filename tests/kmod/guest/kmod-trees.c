/* SPDX-License-Identifier: MIT */
/*
 * kmod-trees.c - the module on the trees of formats 1.7 and 1.8, in the
 * guest: files past 512 GiB (level-4 tables) and files whose level-1
 * entries lie in the inode (inline tables), docs/kmod.md.
 *
 *   kmod-trees create DEV   files through the C API, before the first MOUNT:
 *                           an inline table and a level-4 tree
 *   kmod-trees rebased DEV  after it: both read through attachments, their
 *                           entries rebased by MOUNT
 *   kmod-trees big DEV      module mode of the C API: a sparse file written
 *                           past 512 GiB, its tree grown from 3 levels to 4
 *                           inside one write and truncated back, read back
 *                           through libumfs and through an attachment, all
 *                           against a twin on tmpfs; a file past what an
 *                           address space holds (ATTACH EFBIG, read in
 *                           software) and one past the pool's limit (EFBIG)
 *   kmod-trees inline DEV   module mode: a file of 1 to 17 pages inline,
 *                           extended past 17 and truncated back; an
 *                           attachment sees the pages EXTEND adds to an
 *                           inline table; copy-on-write overwrites of one
 *   kmod-trees crash DEV    EXTEND and FREE cut before each of their
 *                           records (tx_stop): a growth from 3 levels to 4
 *                           and back, inline entries moved to a table and
 *                           back; MOUNT must restore the inode, the tree and
 *                           the bitmap exactly
 *   kmod-trees l3 DEV       a pool made without the features: 512 GiB the
 *                           limit (EFBIG), a table page for two pages
 *
 * Trees are read through root's mapping of the pool (kt_tree_walk: every
 * entry's flags, no page twice, blocks exact); kmod-trees.sh runs fsck.umfs
 * after each phase.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kmod-util.h"

#define KT_TIB (1024ull * KT_GIB)
#define KR_L3 (512ull * KT_GIB)          /* what a level-3 tree covers */
#define KR_L3PG (KR_L3 >> 12)
#define KR_TWIN "/tmp/kmod-trees"

static const char *dev;
static int kfd;              /* /dev/umfs */
static struct kt_pool pool;  /* root's mapping of the pool */

/* ------------------------------------------------------------------ */
/* Trees                                                                */
/* ------------------------------------------------------------------ */

static const struct umfs_inode *kr_inode(uint64_t ino)
{
	return kt_pool_inode(&pool, ino);
}

/* ino's tree, walked and checked (blocks exact); its height. */
static unsigned kr_tree(uint64_t ino, const char *what)
{
	const struct umfs_inode *in = kr_inode(ino);
	struct kt_tree t = kt_tree_walk(&pool, in, what);

	KT_CHECK(kt_tree_blocks(&t) == in->blocks, "%s: blocks %" PRIu64 ", the tree holds %" PRIu64,
		 what, (uint64_t)in->blocks, kt_tree_blocks(&t));
	kt_tree_free(&t);
	return in->pt_height;
}

static void kr_expect_tree(uint64_t ino, unsigned height, uint64_t blocks, const char *what)
{
	unsigned h = kr_tree(ino, what);

	KT_CHECK(h == height && kr_inode(ino)->blocks == blocks,
		 "%s: height %#x, blocks %" PRIu64 "; want %#x, %" PRIu64, what, h,
		 (uint64_t)kr_inode(ino)->blocks, height, blocks);
	KT_CHECK(height != UMFS_PT_INLINE || kr_inode(ino)->pt_root == 0,
		 "%s: a root beside the inline table", what);
}

/* ------------------------------------------------------------------ */
/* Files and their twins on tmpfs                                       */
/* ------------------------------------------------------------------ */

struct kr_file {
	const char *name;
	struct umfs_file *f;
	int twin;
	uint64_t ino;
	uint32_t gen;
};

/* Module mode of the C API over the pool the module holds. */
static struct umfs_fs *kr_mount(void)
{
	struct umfs_fs *fs;
	int err;

	setenv("UMFS_KMOD", "1", 1);
	err = umfs_mount(dev, 0, &fs);
	KT_CHECK(!err, "umfs_mount %s in module mode: %s (%s)", dev, strerror(-err),
		 umfs_mount_error());
	KT_CHECK(umfs_fs_kmod(fs) == 1, "the mount is not in module mode");
	mkdir(KR_TWIN, 0755);
	return fs;
}

static void kr_open(struct umfs_fs *fs, struct kr_file *k, const char *name)
{
	char path[128];
	int err;

	k->name = name;
	snprintf(path, sizeof(path), "/%s", name);
	err = umfs_open(fs, path, O_CREAT | O_TRUNC | O_RDWR, 0644, &k->f);
	KT_CHECK(!err, "umfs_open %s: %s", path, strerror(-err));
	umfs_file_id(k->f, &k->ino, &k->gen);
	snprintf(path, sizeof(path), KR_TWIN "/%s", name);
	k->twin = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	KT_CHECK(k->twin >= 0, "%s: %s", path, strerror(errno));
}

static void kr_close(struct umfs_fs *fs, struct kr_file *k)
{
	char path[128];

	KT_EXPECT(umfs_close(k->f), 0);
	close(k->twin);
	snprintf(path, sizeof(path), "/%s", k->name);
	KT_EXPECT(umfs_unlink(fs, path), 0);
	snprintf(path, sizeof(path), KR_TWIN "/%s", k->name);
	unlink(path);
}

/* len bytes of tag's pattern at off, to the file and its twin. */
static void kr_write(struct kr_file *k, uint64_t off, size_t len, unsigned tag)
{
	char *buf = malloc(len);
	ssize_t n;

	KT_CHECK(buf, "malloc");
	kt_fill(buf, len, tag, off);
	n = umfs_pwrite(k->f, buf, len, off);
	KT_CHECK(n == (ssize_t)len, "%s: write of %zu at %#" PRIx64 ": %zd (%s)", k->name, len, off,
		 n, n < 0 ? strerror((int)-n) : "short");
	KT_CHECK(pwrite(k->twin, buf, len, (off_t)off) == (ssize_t)len, "twin write: %s",
		 strerror(errno));
	free(buf);
}

static void kr_truncate(struct kr_file *k, uint64_t size)
{
	KT_EXPECT(umfs_ftruncate(k->f, size), 0);
	KT_EXPECT(ftruncate(k->twin, (off_t)size), 0);
}

/* [off, off + len) reads the same in the file (libumfs) and its twin, and
 * so does the size. */
static void kr_compare(struct kr_file *k, uint64_t off, size_t len, const char *what)
{
	char *a = malloc(len), *b = malloc(len);
	struct stat st, tst;
	ssize_t n, m;

	KT_CHECK(a && b, "malloc");
	n = umfs_pread(k->f, a, len, off);
	m = pread(k->twin, b, len, (off_t)off);
	KT_CHECK(n == m, "%s: %s: read %zd bytes at %#" PRIx64 ", the twin %zd", what, k->name, n,
		 off, m);
	for (ssize_t i = 0; i < n; i++)
		KT_CHECK(a[i] == b[i], "%s: %s: byte %#" PRIx64 " is %#x, the twin's %#x", what,
			 k->name, off + (uint64_t)i, (unsigned char)a[i], (unsigned char)b[i]);
	KT_EXPECT(umfs_fstat(k->f, &st), 0);
	KT_EXPECT(fstat(k->twin, &tst), 0);
	KT_CHECK(st.st_size == tst.st_size, "%s: %s: size %lld, the twin's %lld", what, k->name,
		 (long long)st.st_size, (long long)tst.st_size);
	free(a);
	free(b);
}

/* [off, off + len) read through the attachment at base equals the twin's
 * bytes, word by word (off and len multiples of 8). */
static void kr_compare_att(struct kr_file *k, volatile uint64_t *base, uint64_t off, size_t len,
			   const char *what)
{
	uint64_t *b = malloc(len), v;

	KT_CHECK(b, "malloc");
	KT_CHECK(pread(k->twin, b, len, (off_t)off) == (ssize_t)len, "twin read");
	for (size_t i = 0; i < len / 8; i++) {
		KT_CHECK(kt_probe(base + off / 8 + i, 0, &v) == 0, "%s: %s: %#" PRIx64
			 " faults through the attachment", what, k->name, off + i * 8);
		KT_CHECK(v == b[i], "%s: %s: word %#" PRIx64 " through the attachment is %#" PRIx64
			 ", the twin's %#" PRIx64, what, k->name, off + i * 8, v, b[i]);
	}
	free(b);
}

static void kr_expect_hole_att(volatile uint64_t *base, uint64_t off, const char *what)
{
	uint64_t v;

	KT_CHECK(kt_probe(base + off / 8, 0, &v) == SIGBUS, "%s: %#" PRIx64 " should be a hole",
		 what, off);
}

/* ------------------------------------------------------------------ */
/* big: past 512 GiB                                                     */
/* ------------------------------------------------------------------ */

struct kr_range {
	uint64_t off;
	size_t len;
};

/* Written in order: page 0 (height 0), past 1 GiB (height 3), across
 * 512 GiB (the growth to 4 levels, in one write), then far out: a second
 * level-3 table, a third, a level-1 table boundary crossed. */
static const struct kr_range kr_big_ranges[] = {
	{ 0, 4096 },
	{ KT_GIB + 8 * 123, 8192 },
	{ KR_L3 - 3000, 8192 },
	{ 600 * KT_GIB + 8, 4096 },
	{ KT_TIB + 65536, 20000 },
	{ 3 * KT_TIB + 2 * KT_MIB - 104, 4096 },
};
#define KR_NBIG (sizeof(kr_big_ranges) / sizeof(kr_big_ranges[0]))

static void kr_big_compare(struct kr_file *k, size_t upto, const char *what)
{
	for (size_t i = 0; i < upto; i++) {
		const struct kr_range *r = &kr_big_ranges[i];

		/* the range and 4 KiB of holes or data either side */
		kr_compare(k, r->off >= 4096 ? r->off - 4096 : 0, r->len + 8192, what);
	}
}

/* The big file read through an attachment of its own: every range, and a
 * hole past 512 GiB between them. */
static void kr_big_attached(struct kr_file *k)
{
	void *addr;
	size_t len;
	uint64_t size;
	struct stat st;

	KT_EXPECT(umfs_kmod_attach(kfd, k->ino, k->gen, O_RDONLY, 0, &addr, &len, &size), 0);
	KT_EXPECT(umfs_fstat(k->f, &st), 0);
	KT_CHECK(size == (uint64_t)st.st_size && len >= size && len % KT_GIB == 0,
		 "ATTACH: size %" PRIu64 ", len %zu; the file has %lld", size, len,
		 (long long)st.st_size);
	for (size_t i = 0; i < KR_NBIG; i++)
		kr_compare_att(k, addr, kr_big_ranges[i].off & ~7ull,
			       (kr_big_ranges[i].len + 7 + (kr_big_ranges[i].off & 7)) & ~7ull,
			       "attached");
	kr_expect_hole_att(addr, 700 * KT_GIB, "attached");
	kr_expect_hole_att(addr, 2 * KT_TIB, "attached");
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	printf("kmod-trees: the %" PRIu64 " GiB file read through one attachment of %zu GiB, "
	       "PUD entries in %zu PUD pages\n", size >> 30, len >> 30,
	       (size_t)((((uint64_t)(uintptr_t)addr & (512 * KT_GIB - 1)) + len - 1) / (512 * KT_GIB) + 1));
}

/* A file at 200 TiB: EXTEND takes it (the pool's limit is 256 TiB), an
 * attachment cannot (more than a 4-level address space), libumfs reads it
 * in software; 256 TiB is past every limit. */
static void kr_huge(struct umfs_fs *fs)
{
	struct kr_file h;
	void *addr;
	size_t len;
	char c = 1;

	kr_open(fs, &h, "huge");
	kr_write(&h, 200 * KT_TIB, 4096, 31);
	kr_expect_tree(h.ino, 4, 5, "/huge");
	KT_EXPECT(umfs_kmod_attach(kfd, h.ino, h.gen, O_RDONLY, 0, &addr, &len, NULL), -EFBIG);
	kr_compare(&h, 200 * KT_TIB - 4096, 12288, "/huge");
	KT_EXPECT(umfs_pwrite(h.f, &c, 1, UMFS_MAX_FILE_SIZE), -EFBIG);
	KT_EXPECT(umfs_ftruncate(h.f, UMFS_MAX_FILE_SIZE + 1), -EFBIG);
	kr_close(fs, &h);
	printf("kmod-trees: a file at 200 TiB: written through EXTEND, ATTACH EFBIG, read in "
	       "software; 256 TiB refused (EFBIG)\n");
}

static int kr_big(void)
{
	struct umfs_fs *fs = kr_mount();
	struct umfs_kmod_stats s0, s1;
	const uint64_t *l4;
	struct kr_file b;
	uint64_t root3, blocks3;

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	KT_CHECK(pool.sb->feature_incompat & UMFS_FEATURE_INCOMPAT_LEVEL4,
		 "mkfs.umfs left level-4 tables off on %s", dev);
	kr_open(fs, &b, "big");
	s0 = kt_stats(kfd);
	kr_write(&b, kr_big_ranges[0].off, kr_big_ranges[0].len, 1);
	kr_expect_tree(b.ino, 0, 1, "/big, page 0");
	kr_write(&b, kr_big_ranges[1].off, kr_big_ranges[1].len, 2);
	KT_CHECK(kr_tree(b.ino, "/big past 1 GiB") == 3, "/big is not of height 3");
	root3 = kr_inode(b.ino)->pt_root;
	blocks3 = kr_inode(b.ino)->blocks;
	/* across 512 GiB in one write: pages 2^27 - 1 (a level-2 and a
	 * level-1 table under the old root), 2^27 and 2^27 + 1 (a new level-4
	 * root over the old one, a level-3, a level-2 and a level-1 table) */
	kr_write(&b, kr_big_ranges[2].off, kr_big_ranges[2].len, 3);
	kr_expect_tree(b.ino, 4, blocks3 + 3 + 6, "/big across 512 GiB");
	l4 = kt_pool_table(&pool, kr_inode(b.ino)->pt_root);
	KT_CHECK(kt_pool_entry_off(&pool, l4[0], UMFS_PTE_ADDR_MASK) == root3,
		 "the level-4 root's entry 0 is not the old root");
	for (size_t i = 3; i < KR_NBIG; i++)
		kr_write(&b, kr_big_ranges[i].off, kr_big_ranges[i].len, (unsigned)i + 1);
	KT_CHECK(kr_tree(b.ino, "/big") == 4, "/big is not of height 4");
	s1 = kt_stats(kfd);
	KT_CHECK(s1.extends > s0.extends, "no EXTEND while writing /big");
	kr_big_compare(&b, KR_NBIG, "/big");
	KT_CHECK(kt_stats(kfd).attaches > s1.attaches, "libumfs read /big without attaching it");
	kr_big_attached(&b);
	printf("kmod-trees: /big written at %zu places up to %" PRIu64 " GiB (height 0, 3, 4), "
	       "reads equal its twin's\n", KR_NBIG,
	       (kr_big_ranges[KR_NBIG - 1].off + kr_big_ranges[KR_NBIG - 1].len) >> 30);

	/* back below 512 GiB: the level-4 root goes, the old root is the root */
	kr_truncate(&b, KR_L3 - 2000);
	kr_expect_tree(b.ino, 3, blocks3 + 3, "/big cut below 512 GiB");
	KT_CHECK(kr_inode(b.ino)->pt_root == root3, "the old level-3 root is not the root again");
	kr_big_compare(&b, 3, "/big cut below 512 GiB");
	kr_truncate(&b, 4096);
	kr_expect_tree(b.ino, 0, 1, "/big cut to a page");
	kr_compare(&b, 0, 8192, "/big cut to a page");
	kr_close(fs, &b);
	printf("kmod-trees: /big truncated below 512 GiB (height 4 -> 3, the old root back), "
	       "then to one page (height 0)\n");
	kr_huge(fs);
	KT_EXPECT(umfs_unmount(fs), 0);
	KT_CHECK(kt_stats(kfd).live == 0, "attachments left");
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* inline: files of up to 17 pages                                      */
/* ------------------------------------------------------------------ */

#define KR_PG 4096ull

/* /s1 through every shape: one page, inline, a table, inline, one page,
 * empty. An attachment made while inline reads on until the FREE. */
static void kr_inline_shapes(struct kr_file *k)
{
	void *addr;
	size_t len;
	uint64_t v;

	kr_write(k, 0, KR_PG, 11);
	kr_expect_tree(k->ino, 0, 1, "/s1, one page");
	kr_write(k, KR_PG, KR_PG, 12);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 2, "/s1, two pages");
	kr_write(k, 2 * KR_PG, 15 * KR_PG, 13);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 17, "/s1, 17 pages");
	kr_compare(k, 0, 18 * KR_PG, "/s1, 17 pages");
	KT_EXPECT(umfs_kmod_attach(kfd, k->ino, k->gen, O_RDONLY, 0, &addr, &len, NULL), 0);
	kr_compare_att(k, addr, 0, 17 * KR_PG, "/s1 attached inline");
	kr_expect_hole_att(addr, 17 * KR_PG, "/s1 attached inline");
	/* page 17: the entries move to a table page of their own */
	kr_write(k, 17 * KR_PG, KR_PG, 14);
	kr_expect_tree(k->ino, 1, 19, "/s1, 18 pages");
	for (unsigned i = 0; i < UMFS_PT_INLINE_ENTRIES; i++)
		KT_CHECK(kr_inode(k->ino)->pt_inline[i] == 0, "/s1: inline entry %u left", i);
	kr_compare(k, 0, 19 * KR_PG, "/s1, 18 pages");
	kr_compare_att(k, addr, 0, 17 * KR_PG, "/s1 attached before it grew");
	/* back to 17 pages: FREE revokes, the table goes, the entries are inline */
	kr_truncate(k, 17 * KR_PG);
	KT_CHECK(kt_probe(addr, 0, &v) == SIGBUS, "/s1: the attachment survived a FREE");
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 17, "/s1 cut to 17 pages");
	kr_compare(k, 0, 18 * KR_PG, "/s1 cut to 17 pages");
	kr_truncate(k, 5 * KR_PG + 7);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 6, "/s1 cut to 6 pages");
	kr_truncate(k, 100);
	kr_expect_tree(k->ino, 0, 1, "/s1 cut to a page");
	kr_compare(k, 0, 2 * KR_PG, "/s1 cut to a page");
	kr_truncate(k, 0);
	kr_expect_tree(k->ino, 0, 0, "/s1 emptied");
	KT_CHECK(kr_inode(k->ino)->pt_root == 0, "/s1: a root left");
	/* an empty file's first pages below 17: straight to an inline table */
	kr_write(k, 3 * KR_PG, 2 * KR_PG, 15);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 2, "/s1 sparse");
	kr_compare(k, 0, 6 * KR_PG, "/s1 sparse");
}

/* An attachment of an inline file sees the pages EXTEND adds later, as a
 * height-1 file's shared table shows them: no SIGBUS, no new ATTACH. */
static void kr_inline_refresh(struct kr_file *k)
{
	struct umfs_kmod_stats s;
	void *addr;
	size_t len;

	kr_write(k, 0, 3 * KR_PG, 21);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 3, "/s2");
	KT_EXPECT(umfs_kmod_attach(kfd, k->ino, k->gen, O_RDONLY, 0, &addr, &len, NULL), 0);
	kr_compare_att(k, addr, 0, 3 * KR_PG, "/s2 attached");
	kr_expect_hole_att(addr, 5 * KR_PG, "/s2 attached");
	s = kt_stats(kfd);
	kr_write(k, 5 * KR_PG, 2 * KR_PG, 22);
	kr_write(k, 16 * KR_PG, KR_PG, 23);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 6, "/s2 grown");
	KT_CHECK(kt_stats(kfd).revokes == s.revokes, "EXTEND of an inline file revoked");
	kr_compare_att(k, addr, 5 * KR_PG, 2 * KR_PG, "/s2, the attachment made before");
	kr_compare_att(k, addr, 16 * KR_PG, KR_PG, "/s2, the attachment made before");
	kr_expect_hole_att(addr, 3 * KR_PG, "/s2 attached");
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	kr_compare(k, 0, 18 * KR_PG, "/s2 grown");
}

/* Strict copy-on-write overwrites of an inline file (more than a U-Log
 * byte record holds): EXCHANGE with a shadow, its steps cut at entry 17. */
static void kr_inline_cow(struct kr_file *k)
{
	struct umfs_kmod_stats s;

	kr_write(k, 0, 17 * KR_PG, 31);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 17, "/s3");
	s = kt_stats(kfd);
	kr_write(k, 0, 17 * KR_PG, 32);
	KT_CHECK(kt_stats(kfd).exchanges > s.exchanges, "the 68 KiB overwrite made no EXCHANGE");
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 17, "/s3 overwritten");
	kr_compare(k, 0, 18 * KR_PG, "/s3 overwritten");
	/* 4 pages and holes up to 30: an overwrite of pages 2 to 22 takes the
	 * shadow's pages past 16 into a table the exchange makes for /s3 */
	kr_truncate(k, 4 * KR_PG);
	kr_truncate(k, 30 * KR_PG);
	kr_expect_tree(k->ino, UMFS_PT_INLINE, 4, "/s3 of 4 pages and holes");
	s = kt_stats(kfd);
	kr_write(k, 2 * KR_PG + 40, 20 * KR_PG, 33);
	KT_CHECK(kt_stats(kfd).exchanges > s.exchanges, "the 80 KiB overwrite made no EXCHANGE");
	KT_CHECK(kr_tree(k->ino, "/s3 overwritten past page 16") == 1, "/s3 has no table");
	kr_compare(k, 0, 31 * KR_PG, "/s3 overwritten past page 16");
}

static int kr_inline(void)
{
	static const char *const names[] = { "s1", "s2", "s3" };
	struct umfs_fs *fs = kr_mount();
	struct kr_file k[3];

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	KT_CHECK(pool.sb->feature_incompat & UMFS_FEATURE_INCOMPAT_INLINE_TABLE,
		 "mkfs.umfs left inline tables off on %s", dev);
	for (unsigned i = 0; i < 3; i++)
		kr_open(fs, &k[i], names[i]);
	kr_inline_shapes(&k[0]);
	printf("kmod-trees: /s1: 1 page (height 0), 2 and 17 inline, 18 (a table), 17 inline "
	       "again, 6, 1, empty, then pages 3-4 inline: trees and bytes as libumfs makes them\n");
	kr_inline_refresh(&k[1]);
	printf("kmod-trees: an attachment of an inline file read pages 5, 6 and 16 that EXTEND "
	       "added after it\n");
	kr_inline_cow(&k[2]);
	printf("kmod-trees: copy-on-write overwrites of an inline file through EXCHANGE: within "
	       "its 17 pages, and over holes past them (a table made in the exchange)\n");
	for (unsigned i = 0; i < 3; i++)
		kr_close(fs, &k[i]);
	KT_EXPECT(umfs_unmount(fs), 0);
	KT_CHECK(kt_stats(kfd).live == 0, "attachments left");
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* l3: a pool without the features, for older code                      */
/* ------------------------------------------------------------------ */

/* mkfs.umfs -O noinline -O nolevel4: the module keeps to 512 GiB and gives
 * every file of two pages or more a table page, as before. */
static int kr_l3(void)
{
	struct umfs_fs *fs = kr_mount();
	struct umfs_kmod_extend ex;
	struct kr_file k;
	void *addr;
	size_t len;
	char c = 1;

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	KT_CHECK(!(pool.sb->feature_incompat &
		   (UMFS_FEATURE_INCOMPAT_INLINE_TABLE | UMFS_FEATURE_INCOMPAT_LEVEL4)),
		 "the pool has the features");
	kr_open(fs, &k, "l3");
	kr_write(&k, 0, 2 * KR_PG, 51);
	kr_expect_tree(k.ino, 1, 3, "/l3, two pages");
	kr_write(&k, KR_L3 - KR_PG, KR_PG, 52);
	KT_CHECK(kr_tree(k.ino, "/l3") == 3, "/l3 is not of height 3");
	KT_EXPECT(umfs_pwrite(k.f, &c, 1, KR_L3), -EFBIG);
	KT_EXPECT(umfs_kmod_extend(kfd, k.ino, k.gen, KR_L3PG, 1, &ex), -EFBIG);
	KT_EXPECT(umfs_kmod_attach(kfd, k.ino, k.gen, O_RDONLY, KR_L3 + KT_GIB, &addr, &len, NULL),
		  -EFBIG);
	KT_EXPECT(umfs_kmod_attach(kfd, k.ino, k.gen, O_RDONLY, 0, &addr, &len, NULL), 0);
	KT_CHECK(len == KR_L3, "the attachment of a 512 GiB file is %zu GiB", len >> 30);
	kr_compare_att(&k, addr, KR_L3 - KR_PG, KR_PG, "/l3 attached");
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	kr_compare(&k, KR_L3 - 2 * KR_PG, 2 * KR_PG, "/l3");
	kr_close(fs, &k);
	KT_EXPECT(umfs_unmount(fs), 0);
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	printf("kmod-trees: a pool without the features: a table page for 2 pages, 512 GiB "
	       "the limit of writes, EXTEND and ATTACH (EFBIG)\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* crash: cuts inside the height growth and the inline conversions       */
/* ------------------------------------------------------------------ */

/* The pages of /ri (inline) and /r4 (height 4), each word its pattern. */
static const struct kr_range kr_rebase_pages[] = {
	{ 0, 5 * 4096 },           /* /ri: 5 pages */
	{ 0, 4096 },               /* /r4: page 0 */
	{ 600 * KT_GIB, 4096 },    /* /r4: past 512 GiB */
};

static void kr_create_file(struct umfs_fs *fs, const char *path, const struct kr_range *r,
			   size_t n)
{
	struct umfs_file *f;

	KT_EXPECT(umfs_open(fs, path, O_CREAT | O_TRUNC | O_RDWR, 0644, &f), 0);
	for (size_t i = 0; i < n; i++) {
		char *buf = malloc(r[i].len);

		KT_CHECK(buf, "malloc");
		kt_fill(buf, r[i].len, 40, r[i].off);
		KT_EXPECT(umfs_pwrite(f, buf, r[i].len, r[i].off), (long)r[i].len);
		free(buf);
	}
	KT_EXPECT(umfs_close(f), 0);
}

/* Software mode, before the first MOUNT (phys_base 0): the crash phase's
 * empty files, and an inline and a height-4 tree for the rebase. */
static int kr_create(void)
{
	struct umfs_fs *fs;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	kr_create_file(fs, "/c4", NULL, 0);
	kr_create_file(fs, "/ci", NULL, 0);
	kr_create_file(fs, "/ri", kr_rebase_pages, 1);
	kr_create_file(fs, "/r4", kr_rebase_pages + 1, 2);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-trees: created /c4 /ci (empty), /ri (5 pages), /r4 (2 pages, one past "
	       "512 GiB)\n");
	return 0;
}

/* After the first MOUNT, which rebased every entry from phys_base 0 to the
 * NVDIMM's address: the inline entries (in the inode) and the level-4
 * tree read their pages through attachments. */
static void kr_rebased_file(const char *path, unsigned height, const struct kr_range *r,
			    size_t n)
{
	struct kt_id id = kt_lookup(dev, path);
	void *addr;
	size_t len;
	uint64_t v;

	KT_CHECK(kr_tree(id.ino, path) == height, "%s: height %#x, want %#x", path,
		 kr_inode(id.ino)->pt_height, height);
	KT_EXPECT(umfs_kmod_attach(kfd, id.ino, id.gen, O_RDONLY, 0, &addr, &len, NULL), 0);
	for (size_t i = 0; i < n; i++)
		for (uint64_t o = r[i].off; o < r[i].off + r[i].len; o += 8) {
			KT_CHECK(kt_probe((volatile uint64_t *)addr + o / 8, 0, &v) == 0 &&
				 v == kt_word(40, o), "%s: word %#" PRIx64 " through the attachment: "
				 "%#" PRIx64, path, o, v);
		}
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
}

static int kr_rebased(void)
{
	uint64_t base;

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	base = pool.sb->phys_base;
	KT_CHECK(base, "the pool was not rebased");
	kr_rebased_file("/ri", UMFS_PT_INLINE, kr_rebase_pages, 1);
	kr_rebased_file("/r4", 4, kr_rebase_pages + 1, 2);
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	printf("kmod-trees: after the rebase to %#" PRIx64 ", /ri's inline entries and /r4's "
	       "level-4 tree map their pages\n", base);
	return 0;
}

/* What a cut call must leave after MOUNT's rollback. */
struct kr_state {
	struct umfs_inode in;
	uint64_t digest;
	uint64_t *bitmap;
};

static struct kr_state kr_state_of(uint64_t ino)
{
	struct kr_state s = { .in = *kr_inode(ino) };
	struct kt_tree t = kt_tree_walk(&pool, kr_inode(ino), "state");

	s.digest = t.digest;
	kt_tree_free(&t);
	s.bitmap = kt_pool_bitmap_copy(&pool);
	return s;
}

enum kr_call { KR_EXTEND, KR_FREE };

/* The call on ino cut before its 1st, 2nd, ... record and its commit,
 * each cut rolled back by MOUNT to exactly what was there; then whole.
 * Returns its answer (allocated or freed); *cuts the cut points. */
static uint64_t kr_cut(enum kr_call call, uint64_t ino, uint32_t gen, uint64_t first,
		       uint64_t count, const char *what, unsigned *cuts)
{
	for (unsigned n = 1;; n++) {
		struct kr_state before = kr_state_of(ino), after;
		struct umfs_kmod_extend ex;
		struct umfs_kmod_free fr;
		int err;

		KT_CHECK(n < 64, "%s never completed", what);
		kt_set_tx_stop(n);
		err = call == KR_EXTEND ? umfs_kmod_extend(kfd, ino, gen, first, count, &ex) :
					  umfs_kmod_free(kfd, ino, gen, first, count, &fr);
		kt_set_tx_stop(0);
		if (err == 0) {
			free(before.bitmap);
			*cuts = n - 1;
			KT_CHECK(call == KR_EXTEND ? ex.done == count : !fr.more, "%s: not whole", what);
			return call == KR_EXTEND ? ex.allocated : fr.freed;
		}
		KT_CHECK(err == -EINTR, "%s cut at record %u: %s", what, n, strerror(-err));
		if (n > 1) /* the slot is active: no call until MOUNT recovers */
			KT_EXPECT(umfs_kmod_extend(kfd, ino, gen, 0, 1, &ex), -EUCLEAN);
		kt_pool_unmap(&pool);
		KT_EXPECT(umfs_kmod_unmount(kfd), 0);
		KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
		pool = kt_pool_map(kfd, PROT_READ);
		after = kr_state_of(ino);
		KT_CHECK(memcmp(&after.in, &before.in, sizeof(before.in)) == 0,
			 "%s cut at record %u: the inode not rolled back", what, n);
		KT_CHECK(after.digest == before.digest, "%s cut at record %u: the tree not rolled back",
			 what, n);
		KT_CHECK(memcmp(after.bitmap, before.bitmap, kt_pool_bitmap_len(&pool)) == 0,
			 "%s cut at record %u: the bitmap not rolled back", what, n);
		free(before.bitmap);
		free(after.bitmap);
	}
}

static uint64_t kr_extend(uint64_t ino, uint32_t gen, uint64_t first, uint64_t count)
{
	struct umfs_kmod_extend ex;

	KT_EXPECT(umfs_kmod_extend(kfd, ino, gen, first, count, &ex), 0);
	KT_CHECK(ex.done == count, "EXTEND [%" PRIu64 ", +%" PRIu64 "): done %llu", first, count,
		 (unsigned long long)ex.done);
	return ex.allocated;
}

static int kr_crash(void)
{
	struct kt_id c4 = kt_lookup(dev, "/c4"), ci = kt_lookup(dev, "/ci");
	uint64_t root3, inl[UMFS_PT_INLINE_ENTRIES], got;
	unsigned cuts, total = 0;

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	/* 3 levels to 4: pages 0 and 2^27 - 1, then 2^27 */
	kr_extend(c4.ino, c4.gen, 0, 1);
	kr_extend(c4.ino, c4.gen, KR_L3PG - 1, 1);
	/* page 0, its level-1, the level-2 and the level-3 root; a level-2
	 * and a level-1 table for page 2^27 - 1 */
	kr_expect_tree(c4.ino, 3, 7, "/c4 of height 3");
	root3 = kr_inode(c4.ino)->pt_root;
	got = kr_cut(KR_EXTEND, c4.ino, c4.gen, KR_L3PG, 1, "EXTEND 3 -> 4 levels", &cuts);
	total += cuts;
	KT_CHECK(got == 5, "EXTEND 3 -> 4 levels took %" PRIu64 " pages, want 5 (4 tables, a page)",
		 got);
	kr_expect_tree(c4.ino, 4, 12, "/c4 of height 4");
	KT_CHECK(kt_pool_entry_off(&pool, kt_pool_table(&pool, kr_inode(c4.ino)->pt_root)[0],
				   UMFS_PTE_ADDR_MASK) == root3, "/c4: entry 0 is not the old root");
	printf("kmod-trees: EXTEND growing 3 levels to 4 cut at %u points, rolled back each time; "
	       "then whole\n", cuts);
	got = kr_cut(KR_FREE, c4.ino, c4.gen, KR_L3PG, ~0ull >> 1, "FREE 4 -> 3 levels", &cuts);
	total += cuts;
	KT_CHECK(got == 5, "FREE 4 -> 3 levels freed %" PRIu64 ", want 5", got);
	kr_expect_tree(c4.ino, 3, 7, "/c4 back to height 3");
	KT_CHECK(kr_inode(c4.ino)->pt_root == root3, "/c4: the old root is not the root again");
	printf("kmod-trees: FREE shrinking 4 levels to 3 cut at %u points; then whole\n", cuts);

	/* inline entries to a table page and back */
	KT_CHECK(kr_extend(ci.ino, ci.gen, 0, 10) == 10, "/ci: 10 pages took more than 10");
	kr_expect_tree(ci.ino, UMFS_PT_INLINE, 10, "/ci inline");
	memcpy(inl, kr_inode(ci.ino)->pt_inline, sizeof(inl));
	got = kr_cut(KR_EXTEND, ci.ino, ci.gen, 20, 1, "EXTEND inline -> table", &cuts);
	total += cuts;
	KT_CHECK(got == 2, "EXTEND inline -> table took %" PRIu64 " pages, want 2", got);
	kr_expect_tree(ci.ino, 1, 12, "/ci with a table");
	KT_CHECK(memcmp(kt_pool_table(&pool, kr_inode(ci.ino)->pt_root), inl, sizeof(inl)) == 0,
		 "/ci: the table does not start with the inline entries");
	printf("kmod-trees: EXTEND moving inline entries to a table cut at %u points; then whole\n",
	       cuts);
	got = kr_cut(KR_FREE, ci.ino, ci.gen, UMFS_PT_INLINE_ENTRIES, 1000, "FREE table -> inline",
		     &cuts);
	total += cuts;
	KT_CHECK(got == 2, "FREE table -> inline freed %" PRIu64 ", want 2", got);
	kr_expect_tree(ci.ino, UMFS_PT_INLINE, 10, "/ci inline again");
	KT_CHECK(memcmp(kr_inode(ci.ino)->pt_inline, inl, sizeof(inl)) == 0,
		 "/ci: the inline entries are not the ones it had");
	printf("kmod-trees: FREE moving a table's entries inline cut at %u points; then whole\n",
	       cuts);
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	return total >= 8 ? 0 : 1; /* each call takes two records at least */
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
	} phases[] = {
		{ "create", kr_create }, { "rebased", kr_rebased }, { "big", kr_big },
		{ "inline", kr_inline }, { "crash", kr_crash },     { "l3", kr_l3 },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-trees";
	dev = argc == 3 ? argv[2] : NULL;
	kt_probe_setup(); /* before libumfs's SIGBUS handler, which passes ours on */
	for (size_t i = 0; dev && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(argv[1], phases[i].name))
			return phases[i].run();
	fprintf(stderr, "usage: kmod-trees create|rebased|big|inline|crash|l3 DEV\n");
	return 2;
}
