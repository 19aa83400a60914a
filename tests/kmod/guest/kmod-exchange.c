/* SPDX-License-Identifier: MIT */
/*
 * kmod-exchange.c - tests of EXCHANGE, the module's copy-on-write call
 * (include/umfs_kmod.h, ABI 4), in the guest.
 *
 *   kmod-exchange create-direct DEV   (software mode, before MOUNT) files
 *                                     and their shadows of every shape,
 *                                     each with a U-Log swap record made
 *                                     by libumfs's core (umfs_ulog_save_swap)
 *   kmod-exchange direct DEV          EXCHANGE forward and back on each
 *                                     shape: contents page by page against
 *                                     a model, block counts, bitmap, exact
 *                                     pages and tables; refusals, a 2 MiB
 *                                     leaf cut by the range, bad entries,
 *                                     revoked attachments, permissions
 *   kmod-exchange create-crash DEV    one file of mixed shape and its shadow
 *   kmod-exchange crash DEV           EXCHANGE and BACK cut short before each
 *                                     of their records and their commit
 *                                     (tx_stop): MOUNT's rollback exact;
 *                                     ENODEV, EOPNOTSUPP
 *   kmod-exchange create-libumfs DEV  files of 2 MiB leaves and a sparse one
 *   kmod-exchange libumfs DEV         libumfs's large overwrites, punch and
 *                                     zero range in module mode against a
 *                                     tmpfs twin; an overwrite's EXCHANGE
 *                                     cut short, rolled back by recovery
 *   kmod-exchange tidy DEV            a module-mode mount of libumfs, whose
 *                                     recovery frees the shadows and U-Logs
 *                                     the phases leave (before fsck)
 *   kmod-exchange selfcheck FILE      (host, no module) after create-direct
 *                                     or create-crash on a pool file: the
 *                                     direct checks against the test's own
 *                                     exchange by the ABI's rule
 *
 * The state is read back through root's mapping of the pool (the media
 * itself). The program hooks the core's ioctl (os.h, kx_ioctl_hook): in the
 * libumfs phase, a writer process cuts libumfs's own EXCHANGE and dies on
 * the spot, as a power cut would leave it.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <ucontext.h>
#include <stdbool.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "kmod-util.h"
#include "core.h"

#define KX_REGION ((uint64_t)512)        /* file pages of a 2 MiB leaf */
#define KX_GIB_PAGES ((uint64_t)1 << 18) /* file pages of 1 GiB */
#define KX_IDS "/tmp/kmod-exchange.ids"  /* what create found, for the phase */
#define KX_REF_DIR "/tmp/kmod-exchange"  /* the libumfs phase's tmpfs twins */
#define KX_CUT_EXIT 3                    /* a writer died at its cut */
#define KX_NO_EXCHANGE_EXIT 4            /* a writer never called EXCHANGE */

static const char *dev;
static int kfd;             /* this process's /dev/umfs */
static struct kt_pool pool; /* root's mapping, while one is held */

static const char *kx_err(int err)
{
	return err ? strerror(-err) : "ok";
}

static uint64_t kx_ms_since(uint64_t t0)
{
	return (kt_now_ns() - t0) / 1000000;
}

/* ------------------------------------------------------------------ */
/* The shapes                                                           */
/* ------------------------------------------------------------------ */

/* Pages [first, first + n) of a tree: a 2 MiB leaf per region (huge), or
 * 4 KiB leaves with a hole at every page p where p % holes == 0 (holes >
 * 0), or only at the pages p where p % -holes == 0 (holes < 0). */
struct kx_seg {
	uint64_t first, n;
	bool huge;
	int holes;
};

#define KX_SEGS 3

struct kx_case {
	const char *what, *path;
	unsigned fmode, smode;        /* permissions of the file and the shadow */
	struct kx_seg f[KX_SEGS], s[KX_SEGS]; /* their trees (n == 0 ends) */
	uint64_t off, len;            /* the record's pages */
	uint64_t made_len;            /* a first record [off, off + made_len) that
	                               * cuts a 2 MiB leaf (EUCLEAN); 0: none */
	uint64_t tables;              /* table pages the exchange must create */
	unsigned fh, sh;              /* the heights after it */
	unsigned min_calls;           /* calls each direction must take at least */
	uint64_t pages;               /* `pages` each way, when not len: holes
	                               * facing holes are not exchanged */
	/* from create */
	uint64_t fino, sino, size;
	uint32_t fgen, sgen;
	/* the model: tags of file pages [wlo, whi), 0 for a hole */
	uint64_t wlo, whi;
	unsigned char *fm, *sm;
};

enum {
	C_RUNS, C_HT, C_TH, C_GROW, C_NOTAB, C_EMPTY, C_GIB, C_MID, C_H0, C_MANY, C_VOID, C_CUT,
	C_BAD, C_PERM,
	KX_NDIRECT,
	C_CRASH = KX_NDIRECT,
	KX_NCASES
};

#define G KX_GIB_PAGES
static struct kx_case kx_cases[KX_NCASES] = {
	[C_RUNS] = { "4 KiB runs, record from mid-table to mid-table", "/x_runs", 0644, 0600,
		     { { 0, 1100, false, 13 } }, { { 100, 900, false, 7 } },
		     100, 900, 0, 0, 2, 2 },
	[C_HT] = { "2 MiB leaves facing a 4 KiB table and a hole", "/x_ht", 0644, 0600,
		   { { 0, 1536, true, 0 } }, { { 512, 512, false, 5 } },
		   512, 1024, 0, 0, 2, 2 },
	[C_TH] = { "4 KiB tables facing a 2 MiB leaf", "/x_th", 0644, 0600,
		   { { 0, 1024, false, 9 } }, { { 400, 112, false, 0 }, { 512, 512, true, 0 } },
		   400, 624, 300, 0, 2, 2 },
	[C_GROW] = { "a hole facing a 2 MiB leaf, the file 1 level short", "/x_grow", 0644, 0600,
		     { { 0, 300, false, 0 } }, { { 100, 100, false, 0 }, { 512, 512, true, 0 } },
		     100, 924, 0, 1, 2, 2 },
	[C_NOTAB] = { "file regions without tables facing shadow pages", "/x_notab", 0644, 0600,
		      { { 0, 100, false, 0 }, { 1536, 100, false, 0 } },
		      { { 50, 1550, false, 11 } },
		      50, 1550, 0, 2, 2, 2 },
	[C_EMPTY] = { "an empty shadow facing file pages", "/x_empty", 0644, 0600,
		      { { 0, 1300, false, 17 } }, { { 0 } },
		      0, 1300, 0, 4, 2, 2 },
	[C_GIB] = { "a record across 1 GiB, the file 1 level short", "/x_gib", 0644, 0600,
		    { { 0, 100, false, 0 }, { G - 700, 700, false, 0 } },
		    { { G - 400, 700, false, 10 } },
		    G - 400, 700, 0, 3, 3, 3 },
	[C_MID] = { "inside one table, both trees of height 1", "/x_mid", 0644, 0600,
		    { { 0, 512, false, 0 } }, { { 200, 60, false, 0 } },
		    200, 60, 0, 0, 1, 1 },
	[C_H0] = { "a file of height 0 (one page) facing 40 pages", "/x_h0", 0644, 0600,
		   { { 0, 1, false, 0 } }, { { 0, 40, false, 0 } },
		   0, 40, 0, 1, 1, 1 },
	/* 60 steps with entries: more than one call's journal room */
	[C_MANY] = { "60 tables, a few pages in each: several calls", "/x_many", 0644, 0600,
		     { { 0, 60 * 512, false, -256 } }, { { 0, 60 * 512, false, -96 } },
		     0, 60 * 512, 0, 0, 2, 2, 2 },
	/* regions 1 and 2 empty on both sides: no step, no table */
	[C_VOID] = { "two regions without tables on either side", "/x_void", 0644, 0600,
		     { { 0, 100, false, 0 }, { 1536, 64, false, 0 } },
		     { { 0, 50, false, 0 }, { 1536, 64, false, 3 } },
		     0, 1600, 0, 0, 2, 2, .pages = 512 + 64 },
	[C_CUT] = { "4 KiB runs and a 2 MiB leaf facing a table", "/x_cut", 0644, 0600,
		    { { 300, 212, false, 0 }, { 512, 512, true, 0 } },
		    { { 300, 500, false, 3 } },
		    300, 724, 500, 0, 2, 2 },
	[C_BAD] = { "4 KiB runs over two tables", "/x_bad", 0644, 0600,
		    { { 0, 600, false, 0 } }, { { 0, 600, false, 4 } },
		    0, 600, 0, 0, 2, 2 },
	[C_PERM] = { "uid 65534's exchange", "/x_perm", 0666, 0666,
		     { { 0, 64, false, 0 } }, { { 0, 64, false, 2 } },
		     0, 64, 0, 0, 1, 1 },
	/* the crash phase: 4 KiB runs, a 2 MiB leaf facing a table, one
	 * facing a hole, a region without a file table (1 created), and
	 * runs again */
	[C_CRASH] = { "mixed", "/x_crash", 0644, 0600,
		      { { 0, 400, false, 3 }, { 512, 1024, true, 0 }, { 2048, 252, false, 0 } },
		      { { 100, 924, false, 4 }, { 1536, 664, false, 6 } },
		      100, 2100, 0, 1, 2, 2 },
};
#undef G

/* Inodes the refusals need, from create-direct. */
static struct kx_other {
	uint64_t ino;
	uint32_t gen;
} kx_dir, kx_fifo, kx_plain;

static unsigned kx_ftag(int i)
{
	return 0x20 + (unsigned)i;
}

static unsigned kx_stag(int i)
{
	return 0x60 + (unsigned)i;
}

static bool kx_seg_has(const struct kx_seg *s, uint64_t p)
{
	for (unsigned k = 0; k < KX_SEGS && s[k].n; k++)
		if (p >= s[k].first && p < s[k].first + s[k].n)
			return s[k].huge || !s[k].holes ||
			       (s[k].holes > 0 ? p % (unsigned)s[k].holes != 0
					       : p % (unsigned)-s[k].holes == 0);
	return false;
}

static uint64_t kx_case_end(const struct kx_case *c)
{
	uint64_t end = c->off + c->len;

	for (unsigned k = 0; k < KX_SEGS; k++) {
		end = UMFS_MAX(end, c->f[k].first + c->f[k].n);
		end = UMFS_MAX(end, c->s[k].first + c->s[k].n);
	}
	return end;
}

/* The model of case i as created: the tags of its pages. */
static void kx_model_init(int i)
{
	struct kx_case *c = &kx_cases[i];

	c->wlo = c->off;
	for (unsigned k = 0; k < KX_SEGS; k++) {
		if (c->f[k].n)
			c->wlo = UMFS_MIN(c->wlo, c->f[k].first);
		if (c->s[k].n)
			c->wlo = UMFS_MIN(c->wlo, c->s[k].first);
	}
	c->whi = kx_case_end(c);
	c->fm = calloc(c->whi - c->wlo, 1);
	c->sm = calloc(c->whi - c->wlo, 1);
	KT_CHECK(c->fm && c->sm, "calloc");
	for (uint64_t p = c->wlo; p < c->whi; p++) {
		c->fm[p - c->wlo] = kx_seg_has(c->f, p) ? kx_ftag(i) : 0;
		c->sm[p - c->wlo] = kx_seg_has(c->s, p) ? kx_stag(i) : 0;
	}
}

/* The model after an exchange of the record's pages (done again: back). */
static void kx_model_swap(struct kx_case *c)
{
	for (uint64_t p = c->off; p < c->off + c->len; p++) {
		unsigned char t = c->fm[p - c->wlo];

		c->fm[p - c->wlo] = c->sm[p - c->wlo];
		c->sm[p - c->wlo] = t;
	}
}

/* ------------------------------------------------------------------ */
/* create: the shapes, made by libumfs's core in software mode          */
/* ------------------------------------------------------------------ */

/* In tx: commits and begins again when the slot runs low. */
static void kx_tx_room(struct umfs_fs *fs)
{
	if (umfs_tx_room(fs) < UMFS_TX_SLACK + 64 * 1024) {
		KT_EXPECT(umfs_tx_commit(fs), 0);
		KT_EXPECT(umfs_tx_begin(fs), 0);
	}
}

/* Builds the tree of segs in inode ino, every data page holding tag's
 * pattern at its file offset. */
static void kx_craft_tree(struct umfs_fs *fs, uint64_t ino, const struct kx_seg *segs,
			  unsigned tag)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t off;

	umfs_meta_lock(fs);
	KT_EXPECT(umfs_tx_begin(fs), 0);
	for (unsigned k = 0; k < KX_SEGS && segs[k].n; k++) {
		const struct kx_seg *s = &segs[k];

		for (uint64_t p = s->first; p < s->first + s->n; p += s->huge ? KX_REGION : 1) {
			uint64_t *slot;

			if (!kx_seg_has(segs, p))
				continue;
			KT_EXPECT(umfs_pt_map(fs, in, p, s->huge ? UMFS_PTMAP_HUGE : 0, &off), 1);
			if (s->huge) {
				KT_CHECK(p % KX_REGION == 0, "a 2 MiB segment not aligned");
				slot = umfs_pt_slot_find(fs, in, p, 2);
				KT_CHECK(slot && (*slot & UMFS_PTE_PSE), "inode %" PRIu64
					 ": no 2 MiB leaf at page %" PRIu64, ino, p);
				kt_fill(fs->base + off, 2 * KT_MIB, tag, p * 4096);
			} else {
				kt_fill(fs->base + off, 4096, tag, p * 4096);
			}
			kx_tx_room(fs);
		}
	}
	KT_EXPECT(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
}

/* Case i: the file (named), its shadow (an unnamed orphan, as cow.c makes
 * them), their trees, and the file's U-Log swap record naming the shadow. */
static void kx_create_case(struct umfs_fs *fs, int i, FILE *ids)
{
	struct kx_case *c = &kx_cases[i];
	struct umfs_inode *sh;
	struct umfs_ulog *u;
	struct umfs_file *f;

	c->size = kx_case_end(c) * 4096;
	KT_EXPECT(umfs_open(fs, c->path, O_CREAT | O_EXCL | O_RDWR, 0600, &f), 0);
	umfs_file_id(f, &c->fino, &c->fgen);
	KT_EXPECT(umfs_ftruncate(f, (off_t)c->size), 0);
	KT_EXPECT(umfs_fchmod(f, c->fmode), 0);
	KT_EXPECT(umfs_close(f), 0);

	umfs_meta_lock(fs);
	KT_EXPECT(umfs_tx_begin(fs), 0);
	KT_EXPECT(umfs_inode_create(fs, S_IFREG | c->smode, 0, 0, 0, 0, &c->sino), 0);
	sh = umfs_inode(fs, c->sino);
	sh->nlink = 0;
	sh->size = c->size;
	KT_EXPECT(umfs_inode_orphan(fs, c->sino), 0);
	KT_EXPECT(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
	c->sgen = sh->generation;

	kx_craft_tree(fs, c->fino, c->f, kx_ftag(i));
	kx_craft_tree(fs, c->sino, c->s, kx_stag(i));
	KT_EXPECT(umfs_ulog_get(fs, c->fino, 0, &u), 0);
	umfs_ulog_save_swap(fs, u, c->off, c->made_len ? c->made_len : c->len,
			    umfs_inode(fs, c->fino)->size, c->sino);
	fprintf(ids, "case %d %" PRIu64 " %u %" PRIu64 " %u %" PRIu64 "\n", i, c->fino, c->fgen,
		c->sino, c->sgen, c->size);
}

static void kx_create_other(struct umfs_fs *fs, const char *name, const char *path, FILE *ids)
{
	struct stat st;

	KT_EXPECT(umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	fprintf(ids, "%s %" PRIu64 " %u\n", name, (uint64_t)st.st_ino,
		umfs_inode(fs, st.st_ino)->generation);
}

static int kx_create(int first, int last, bool others)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	FILE *ids = fopen(KX_IDS, "w");
	int err;

	KT_CHECK(ids, "%s: %s", KX_IDS, strerror(errno));
	err = umfs_mount(dev, 0, &fs);
	KT_CHECK(!err, "umfs_mount %s: %s (%s)", dev, strerror(-err), umfs_mount_error());
	KT_CHECK(!umfs_fs_kmod(fs), "create runs in software mode");
	for (int i = first; i < last; i++)
		kx_create_case(fs, i, ids);
	if (others) {
		KT_EXPECT(umfs_mkdir(fs, "/x_dir", 0755), 0);
		KT_EXPECT(umfs_mknod(fs, "/x_fifo", S_IFIFO | 0644, 0), 0);
		KT_EXPECT(umfs_open(fs, "/x_plain", O_CREAT | O_RDWR, 0644, &f), 0);
		KT_EXPECT(umfs_ftruncate(f, 8192), 0);
		KT_EXPECT(umfs_close(f), 0);
		kx_create_other(fs, "dir", "/x_dir", ids);
		kx_create_other(fs, "fifo", "/x_fifo", ids);
		kx_create_other(fs, "plain", "/x_plain", ids);
	}
	KT_EXPECT(umfs_unmount(fs), 0);
	KT_CHECK(fclose(ids) == 0, "%s", KX_IDS);
	printf("kmod-exchange: created %d files with their shadows and swap records\n",
	       last - first);
	return 0;
}

/* Reads what create wrote, and builds the models. */
static void kx_load_ids(void)
{
	FILE *ids = fopen(KX_IDS, "r");
	char line[256], name[16];
	unsigned long long a, c, e;
	unsigned b, d;
	int i;

	KT_CHECK(ids, "%s: %s (run create first)", KX_IDS, strerror(errno));
	while (fgets(line, sizeof(line), ids)) {
		if (sscanf(line, "case %d %llu %u %llu %u %llu", &i, &a, &b, &c, &d, &e) == 6) {
			KT_CHECK(i >= 0 && i < KX_NCASES, "%s: case %d", KX_IDS, i);
			kx_cases[i].fino = a;
			kx_cases[i].fgen = b;
			kx_cases[i].sino = c;
			kx_cases[i].sgen = d;
			kx_cases[i].size = e;
			kx_model_init(i);
		} else if (sscanf(line, "%15s %llu %u", name, &a, &b) == 3) {
			struct kx_other *o = !strcmp(name, "dir") ? &kx_dir :
					     !strcmp(name, "fifo") ? &kx_fifo : &kx_plain;

			o->ino = a;
			o->gen = b;
		}
	}
	fclose(ids);
}

/* ------------------------------------------------------------------ */
/* Trees, read through the pool mapping                                 */
/* ------------------------------------------------------------------ */

static struct umfs_inode *kx_inode(uint64_t ino)
{
	return (struct umfs_inode *)kt_pool_inode(&pool, ino);
}

/* The entry of file page pg in in's table of `level`, NULL when that table
 * is missing (or a 2 MiB leaf is on the way). */
static uint64_t *kx_slot(const struct umfs_inode *in, uint64_t pg, unsigned level)
{
	uint64_t off = in->pt_root;
	unsigned h = in->pt_height;

	if (!off || h < level || (pg >> (9 * h)))
		return NULL;
	for (; h > level; h--) {
		uint64_t e = kt_pool_table(&pool, off)[(pg >> (9 * (h - 1))) & 511];

		if (!e || (h == 2 && (e & UMFS_PTE_PSE)))
			return NULL;
		off = kt_pool_entry_off(&pool, e, UMFS_PTE_ADDR_MASK);
	}
	return kt_pool_table(&pool, off) + ((pg >> (9 * (level - 1))) & 511);
}

/* The tree of in (kt_tree_walk), whose block count must be the tree's
 * and whose checksum must hold. */
static struct kt_tree kx_walk(const struct umfs_inode *in, const char *what)
{
	struct kt_tree t = kt_tree_walk(&pool, in, what);

	KT_CHECK(kt_tree_blocks(&t) == in->blocks,
		 "%s: blocks %" PRIu64 ", the tree holds %" PRIu64 " (%" PRIu64 " tables, %" PRIu64
		 " leaves, %" PRIu64 " 2 MiB leaves)", what, (uint64_t)in->blocks,
		 kt_tree_blocks(&t), t.tables, t.leaves, t.huge);
	KT_CHECK(in->csum == umfs_inode_csum(in), "%s: inode checksum %#x, want %#x", what, in->csum,
		 umfs_inode_csum(in));
	return t;
}

/* ------------------------------------------------------------------ */
/* The record                                                           */
/* ------------------------------------------------------------------ */

static struct umfs_ulog *kx_ulog(const struct kx_case *c)
{
	uint64_t off = kx_inode(c->fino)->ulog;

	KT_CHECK(off, "%s: no U-Log", c->path);
	return (struct umfs_ulog *)(pool.m + off);
}

static uint32_t kx_rec_csum(const struct umfs_ulog *u)
{
	struct umfs_ulog_rec_id id = {
		.seq = u->rec_seq, .kind = u->rec_kind, .aux_gen = u->rec_aux_gen,
		.off = u->rec_off, .len = u->rec_len, .old_size = u->rec_old_size,
		.aux_ino = u->rec_aux_ino,
	};

	return umfs_crc32c(0, &id, sizeof(id));
}

static uint32_t kx_ulog_page_csum(const struct umfs_ulog *u)
{
	return umfs_crc32c(0, u, offsetof(struct umfs_ulog, csum));
}

/* A new record of the file's pages [off, off + len), as libumfs writes
 * one (a new sequence number, the checksum over the identity). */
static void kx_rec_set(struct kx_case *c, uint64_t off, uint64_t len)
{
	struct umfs_ulog *u = kx_ulog(c);
	uint64_t seq = u->rec_seq + 1;

	u->rec_seq = 0;
	u->rec_kind = UMFS_ULOG_REC_SWAP;
	u->rec_off = off;
	u->rec_len = len;
	u->rec_aux_ino = c->sino;
	u->rec_aux_gen = c->sgen;
	u->rec_done = 0;
	u->rec_seq = seq;
	u->rec_csum = kx_rec_csum(u);
}

/* ------------------------------------------------------------------ */
/* States: what must not change, and what an exchange may add           */
/* ------------------------------------------------------------------ */

struct kx_state {
	unsigned char fin[128], sin[128], rec[64];
	struct kt_tree ft, st;
	uint64_t *bm;
};

static struct kx_state kx_state_take(const struct kx_case *c, const char *what)
{
	struct kx_state s;
	char fw[96], sw[96];

	snprintf(fw, sizeof(fw), "%s: %s", what, c->path);
	snprintf(sw, sizeof(sw), "%s: %s's shadow", what, c->path);
	memcpy(s.fin, kx_inode(c->fino), sizeof(s.fin));
	memcpy(s.sin, kx_inode(c->sino), sizeof(s.sin));
	memcpy(s.rec, (char *)kx_ulog(c) + UMFS_CACHELINE, sizeof(s.rec));
	s.ft = kx_walk(kx_inode(c->fino), fw);
	s.st = kx_walk(kx_inode(c->sino), sw);
	s.bm = kt_pool_bitmap_copy(&pool);
	return s;
}

static void kx_state_free(struct kx_state *s)
{
	kt_tree_free(&s->ft);
	kt_tree_free(&s->st);
	free(s->bm);
}

/* Nothing of the file, the shadow, the record or the bitmap changed. */
static void kx_state_same(const struct kx_case *c, const struct kx_state *b, const char *what)
{
	struct kx_state a = kx_state_take(c, what);

	KT_CHECK(!memcmp(a.fin, b->fin, sizeof(a.fin)), "%s: %s's inode changed", what, c->path);
	KT_CHECK(!memcmp(a.sin, b->sin, sizeof(a.sin)), "%s: the shadow's inode changed", what);
	KT_CHECK(!memcmp(a.rec, b->rec, sizeof(a.rec)), "%s: the record changed (rec_done %" PRIu64
		 ")", what, (uint64_t)kx_ulog(c)->rec_done);
	KT_CHECK(a.ft.digest == b->ft.digest, "%s: %s's tree changed", what, c->path);
	KT_CHECK(a.st.digest == b->st.digest, "%s: the shadow's tree changed", what);
	KT_CHECK(!memcmp(a.bm, b->bm, kt_pool_bitmap_len(&pool)), "%s: the bitmap changed", what);
	kx_state_free(&a);
}

/* From state b to a: the two trees hold the same pages plus exactly
 * `tables` new table pages, taken from the bitmap and nothing else. */
static void kx_check_alloc(const struct kx_state *b, const struct kx_state *a, uint64_t tables,
			   const char *what)
{
	const struct umfs_inode *b_f = (const void *)b->fin, *b_s = (const void *)b->sin;
	const struct umfs_inode *a_f = (const void *)a->fin, *a_s = (const void *)a->sin;
	uint64_t added = 0;

	for (size_t w = 0; w < kt_pool_bitmap_len(&pool) / 8; w++) {
		uint64_t u0 = b->ft.pages[w] | b->st.pages[w], u1 = a->ft.pages[w] | a->st.pages[w];
		uint64_t fresh = u1 & ~u0;

		KT_CHECK(!(u0 & ~u1), "%s: pool pages left the two trees (bitmap word %zu: %#" PRIx64
			 ")", what, w, u0 & ~u1);
		KT_CHECK(!(b->bm[w] & ~a->bm[w]) && (a->bm[w] & ~b->bm[w]) == fresh,
			 "%s: bitmap word %zu: %#" PRIx64 " -> %#" PRIx64 ", new pages in the trees %#"
			 PRIx64, what, w, b->bm[w], a->bm[w], fresh);
		KT_CHECK(!(u1 & ~a->bm[w]), "%s: tree pages free in the bitmap (word %zu)", what, w);
		added += (uint64_t)__builtin_popcountll(fresh);
	}
	KT_CHECK(added == tables, "%s: %" PRIu64 " new pool pages in the trees, %" PRIu64
		 " tables created", what, added, tables);
	KT_CHECK(a->ft.tables + a->st.tables == b->ft.tables + b->st.tables + tables &&
		 a->ft.leaves + a->st.leaves == b->ft.leaves + b->st.leaves &&
		 a->ft.huge + a->st.huge == b->ft.huge + b->st.huge,
		 "%s: tables %" PRIu64 "+%" PRIu64 " -> %" PRIu64 "+%" PRIu64 ", leaves %" PRIu64
		 " -> %" PRIu64 ", 2 MiB leaves %" PRIu64 " -> %" PRIu64, what, b->ft.tables,
		 b->st.tables, a->ft.tables, a->st.tables, b->ft.leaves + b->st.leaves,
		 a->ft.leaves + a->st.leaves, b->ft.huge + b->st.huge, a->ft.huge + a->st.huge);
	KT_CHECK(a_f->blocks + a_s->blocks == b_f->blocks + b_s->blocks + tables,
		 "%s: blocks %" PRIu64 "+%" PRIu64 " -> %" PRIu64 "+%" PRIu64 " with %" PRIu64
		 " tables created", what, (uint64_t)b_f->blocks, (uint64_t)b_s->blocks,
		 (uint64_t)a_f->blocks, (uint64_t)a_s->blocks, tables);
}

/* One side's pages [wlo, whi) against the model (tag per page, 0: hole). */
static uint64_t kx_check_side(const struct umfs_inode *in, const struct kx_case *c,
			      const unsigned char *m, const char *what)
{
	uint64_t present = 0;

	for (uint64_t p = c->wlo; p < c->whi; p++) {
		uint64_t off = kt_pool_page_off(&pool, in, p);
		unsigned tag = m[p - c->wlo];

		if (!tag) {
			KT_CHECK(!off, "%s: page %" PRIu64 " should be a hole (it holds tag %#x: first "
				 "word %#" PRIx64 ")", what, p,
				 (unsigned)((*kt_pool_table(&pool, off) ^ kt_word(0, p * 4096)) >> 56),
				 *kt_pool_table(&pool, off));
			continue;
		}
		present++;
		KT_CHECK(off, "%s: page %" PRIu64 " is a hole, want tag %#x", what, p, tag);
		KT_CHECK(kt_verify(pool.m + off, 4096, tag, p * 4096) < 0,
			 "%s: page %" PRIu64 " holds tag %#x (first word %#" PRIx64 "), want %#x", what,
			 p, (unsigned)((*kt_pool_table(&pool, off) ^ kt_word(0, p * 4096)) >> 56), *kt_pool_table(&pool, off),
			 tag);
	}
	return present;
}

/* File and shadow against the model: every page, and nothing outside. */
static void kx_check_contents(const struct kx_case *c, const struct kx_state *s, const char *what)
{
	char fw[128], sw[128];
	uint64_t fp, sp;

	snprintf(fw, sizeof(fw), "%s: %s", what, c->path);
	snprintf(sw, sizeof(sw), "%s: %s's shadow", what, c->path);
	fp = kx_check_side(kx_inode(c->fino), c, c->fm, fw);
	sp = kx_check_side(kx_inode(c->sino), c, c->sm, sw);
	KT_CHECK(s->ft.leaves + KX_REGION * s->ft.huge == fp, "%s: the tree holds %" PRIu64
		 " data pages, the model %" PRIu64, fw, s->ft.leaves + KX_REGION * s->ft.huge, fp);
	KT_CHECK(s->st.leaves + KX_REGION * s->st.huge == sp, "%s: the tree holds %" PRIu64
		 " data pages, the model %" PRIu64, sw, s->st.leaves + KX_REGION * s->st.huge, sp);
}

/* ------------------------------------------------------------------ */
/* EXCHANGE calls                                                       */
/* ------------------------------------------------------------------ */

/* Counters shared with the children, for the module's STATS. */
struct kx_counts {
	uint64_t calls;    /* EXCHANGE calls that succeeded */
	uint64_t progress; /* ... of them that exchanged pages */
	uint64_t pages, tables;
};
static struct kx_counts *kx_counts;

static void kx_counts_init(void)
{
	kx_counts = mmap(NULL, sizeof(*kx_counts), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_CHECK(kx_counts != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(kx_counts, 0, sizeof(*kx_counts));
}

static struct umfs_kmod_exchange kx_req(const struct kx_case *c, uint32_t flags)
{
	return (struct umfs_kmod_exchange){ .ino = c->fino, .generation = c->fgen, .flags = flags };
}

/* One EXCHANGE call, through the ioctl itself (umfs_kmod_exchange() would
 * hide how many calls it took). Counted for STATS. */
static int kx_ioctl(int fd, struct umfs_kmod_exchange *r)
{
	int err = umfs_kmod_call(fd, UMFS_KMOD_IOC_EXCHANGE, r);

	if (!err && kx_counts) {
		__atomic_add_fetch(&kx_counts->calls, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&kx_counts->progress, r->pages ? 1 : 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&kx_counts->pages, r->pages, __ATOMIC_RELAXED);
		__atomic_add_fetch(&kx_counts->tables, r->tables, __ATOMIC_RELAXED);
	}
	return err;
}

struct kx_sum {
	uint64_t pages, tables, revoked;
	unsigned calls;
};

/*
 * EXCHANGE (flags 0) or BACK of case c, call after call while the module
 * says more. After each call: rec_done is the reply's `done` and moved by
 * its `pages` (the pages of the steps it took), `more` says whether the
 * record is finished, and both trees are valid with exact block counts.
 * With the pool mapped.
 */
static struct kx_sum kx_exchange(const struct kx_case *c, uint32_t flags, const char *what)
{
	const bool back = flags & UMFS_KMOD_EXCHANGE_BACK;
	const uint64_t target = back ? 0 : c->len;
	uint64_t prev = kx_ulog(c)->rec_done;
	struct umfs_kmod_exchange r;
	struct kx_sum s = { 0 };

	do {
		uint64_t done, moved;
		struct kt_tree t;
		int err;

		KT_CHECK(++s.calls < 1000, "%s: EXCHANGE never ends", what);
		r = kx_req(c, flags);
		err = kx_ioctl(kfd, &r);
		KT_CHECK(!err, "%s: EXCHANGE%s of %s (call %u): %s", what, back ? " BACK" : "", c->path,
			 s.calls, strerror(-err));
		done = kx_ulog(c)->rec_done;
		KT_CHECK(r.done == done, "%s: call %u says done %" PRIu64 ", the record %" PRIu64, what,
			 s.calls, (uint64_t)r.done, done);
		KT_CHECK(back ? done <= prev : done >= prev, "%s: call %u moved rec_done the wrong way "
			 "(%" PRIu64 " -> %" PRIu64 ")", what, s.calls, prev, done);
		moved = back ? prev - done : done - prev;
		KT_CHECK(r.pages <= moved, "%s: call %u: pages %" PRIu64 ", rec_done %" PRIu64
			 " -> %" PRIu64, what, s.calls, (uint64_t)r.pages, prev, done);
		KT_CHECK(r.more == (done != target), "%s: call %u: more %u with rec_done %" PRIu64
			 " of %" PRIu64, what, s.calls, r.more, done, c->len);
		KT_CHECK(!r.more || r.pages, "%s: call %u made no progress and asks for more", what,
			 s.calls);
		t = kx_walk(kx_inode(c->fino), what);
		kt_tree_free(&t);
		t = kx_walk(kx_inode(c->sino), what);
		kt_tree_free(&t);
		s.pages += r.pages;
		s.tables += r.tables;
		s.revoked += r.revoked;
		prev = done;
	} while (r.more);
	return s;
}

/* The record's identity is untouched; rec_done is `done`. */
static void kx_check_record(const struct kx_case *c, const struct kx_state *b, uint64_t done,
			    const char *what)
{
	const struct umfs_ulog *u = kx_ulog(c);
	struct umfs_ulog was;

	memcpy((char *)&was + UMFS_CACHELINE, b->rec, sizeof(b->rec));
	KT_CHECK(u->rec_seq == was.rec_seq && u->rec_kind == was.rec_kind &&
		 u->rec_csum == was.rec_csum && u->rec_off == was.rec_off &&
		 u->rec_len == was.rec_len && u->rec_old_size == was.rec_old_size &&
		 u->rec_aux_ino == was.rec_aux_ino && u->rec_aux_gen == was.rec_aux_gen,
		 "%s: the record's identity changed", what);
	KT_CHECK(u->rec_done == done, "%s: rec_done %" PRIu64 ", want %" PRIu64, what,
		 (uint64_t)u->rec_done, done);
	KT_CHECK(kx_inode(c->fino)->size == c->size && kx_inode(c->sino)->size == c->size,
		 "%s: a size changed", what);
}

/*
 * Case c forward, then back, every check of kx_exchange() on each call;
 * after each direction: both trees page by page against the model, the
 * bitmap against the trees, exact pages and tables, the heights.
 */
static void kx_forward_back(struct kx_case *c, struct kx_sum *fwd_out)
{
	struct kx_state s0, s1, s2;
	struct kx_sum fwd, back;
	char what[160];

	snprintf(what, sizeof(what), "%s (%s)", c->path, c->what);
	s0 = kx_state_take(c, what);
	kx_check_contents(c, &s0, what);
	KT_CHECK(kx_ulog(c)->rec_done == 0 && kx_ulog(c)->rec_off == c->off &&
		 kx_ulog(c)->rec_len == c->len, "%s: the record is not [%" PRIu64 ", +%" PRIu64
		 ") with rec_done 0", what, c->off, c->len);

	fwd = kx_exchange(c, 0, what);
	s1 = kx_state_take(c, what);
	kx_model_swap(c);
	kx_check_contents(c, &s1, what);
	kx_check_alloc(&s0, &s1, fwd.tables, what);
	kx_check_record(c, &s0, c->len, what);
	KT_CHECK(fwd.pages == (c->pages ? c->pages : c->len) && fwd.tables == c->tables,
		 "%s: EXCHANGE: pages %" PRIu64 ", tables %" PRIu64 "; want %" PRIu64 ", %" PRIu64,
		 what, fwd.pages, fwd.tables, c->pages ? c->pages : c->len, c->tables);
	KT_CHECK(kx_inode(c->fino)->pt_height == c->fh && kx_inode(c->sino)->pt_height == c->sh,
		 "%s: heights %u and %u after EXCHANGE, want %u and %u", what,
		 kx_inode(c->fino)->pt_height, kx_inode(c->sino)->pt_height, c->fh, c->sh);

	back = kx_exchange(c, UMFS_KMOD_EXCHANGE_BACK, what);
	s2 = kx_state_take(c, what);
	kx_model_swap(c);
	kx_check_contents(c, &s2, what);
	kx_check_alloc(&s1, &s2, 0, what);
	kx_check_record(c, &s0, 0, what);
	KT_CHECK(fwd.calls >= c->min_calls && back.calls >= c->min_calls,
		 "%s: %u and %u calls, want %u at least (more)", what, fwd.calls, back.calls,
		 c->min_calls);
	KT_CHECK(back.pages == fwd.pages && back.tables == 0,
		 "%s: BACK: pages %" PRIu64 ", tables %" PRIu64 "; want %" PRIu64 ", 0", what,
		 back.pages, back.tables, fwd.pages);
	printf("kmod-exchange: %-52s %5" PRIu64 " pages, %" PRIu64 " tables (%u+%u calls); "
	       "back: contents as before\n", c->what, fwd.pages, fwd.tables, fwd.calls, back.calls);
	kx_state_free(&s0);
	kx_state_free(&s1);
	kx_state_free(&s2);
	if (fwd_out)
		*fwd_out = fwd;
}

/* ------------------------------------------------------------------ */
/* direct                                                               */
/* ------------------------------------------------------------------ */

/* A fault outside a probe: where it was (offsets in the executable, for
 * addr2line on the build host), then the default action. */
static void kx_on_crash(int sig, siginfo_t *si, void *uc)
{
	extern char __executable_start;
	void *bt[32];
	char line[160];
	int n = backtrace(bt, 32), len;

	len = snprintf(line, sizeof(line), "kmod-exchange: signal %d at %p (+%#lx), ip +%#lx; "
		       "stack:", sig, si->si_addr,
		       (unsigned long)((char *)si->si_addr - &__executable_start),
		       (unsigned long)((char *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP] -
				       &__executable_start));
	KT_CHECK(write(2, line, (size_t)len) >= 0, "write");
	for (int i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), " %#lx",
			       (unsigned long)((char *)bt[i] - &__executable_start));
		KT_CHECK(write(2, line, (size_t)len) >= 0, "write");
	}
	KT_CHECK(write(2, "\n", 1) == 1, "write");
	signal(sig, SIG_DFL);
	raise(sig);
}

static void kx_crash_report(void)
{
	struct sigaction sa;

	void *bt[4];

	backtrace(bt, 4); /* loads what it needs now, not in the handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kx_on_crash;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* probes: the phases that touch attachments themselves; the others leave
 * SIGBUS to libumfs (module mode catches its own) and report any fault */
static void kx_start(bool probes)
{
	struct umfs_kmod_stats st;

	if (probes)
		kt_probe_setup();
	else
		kx_crash_report();
	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	st = kt_stats(kfd);
	KT_CHECK(st.abi_version == UMFS_KMOD_ABI_VERSION && st.mounted,
		 "ABI %u (want %u), mounted %u", st.abi_version, UMFS_KMOD_ABI_VERSION, st.mounted);
	kx_counts_init();
}

/* A refused call changes nothing: EXCHANGE answers err. */
static void kx_refused(const struct kx_case *c, struct umfs_kmod_exchange r, int err,
		       const char *what)
{
	struct kx_state b = kx_state_take(c, what);
	int got = kx_ioctl(kfd, &r);

	KT_CHECK(got == err, "EXCHANGE with %s: %s, want %s", what, kx_err(got), kx_err(err));
	kx_state_same(c, &b, what);
	kx_state_free(&b);
}

/* The record (the ulog page's first two lines) and the shadow's inode are
 * tampered with one at a time, and put back after each call. */
static void kx_refusals(struct kx_case *c)
{
	struct umfs_ulog *u = kx_ulog(c), ucopy;
	struct umfs_inode *sh = kx_inode(c->sino), scopy;
	struct umfs_kmod_exchange r;
	unsigned n = 0;

	memcpy(&ucopy, u, 2 * UMFS_CACHELINE);
	scopy = *sh;
#define KX_REQ_REFUSED(field, value, err)                                                  \
	do {                                                                               \
		r = kx_req(c, 0);                                                          \
		field = value;                                                             \
		kx_refused(c, r, err, #field " = " #value);                                \
		n++;                                                                       \
	} while (0)
	KX_REQ_REFUSED(r.flags, 2, -EINVAL);
	KX_REQ_REFUSED(r.flags, UMFS_KMOD_EXCHANGE_BACK | 0x100, -EINVAL);
	KX_REQ_REFUSED(r.reserved0, 1, -EINVAL);
	KX_REQ_REFUSED(r.reserved1, 1, -EINVAL);
	KX_REQ_REFUSED(r.generation, c->fgen + 1, -ESTALE);
	KX_REQ_REFUSED(r.ino, 0, -ESTALE);
#undef KX_REQ_REFUSED
	r = kx_req(c, 0);
	r.ino = kx_dir.ino;
	r.generation = kx_dir.gen;
	kx_refused(c, r, -EISDIR, "a directory");
	r.ino = kx_fifo.ino;
	r.generation = kx_fifo.gen;
	kx_refused(c, r, -EINVAL, "a FIFO");
	r.ino = kx_plain.ino;
	r.generation = kx_plain.gen;
	kx_refused(c, r, -EINVAL, "a file without a U-Log");
	n += 3;

#define KX_TAMPERED(stmt, what)                                                           \
	do {                                                                               \
		stmt;                                                                      \
		kx_refused(c, kx_req(c, 0), -EINVAL, what);                                \
		kx_refused(c, kx_req(c, UMFS_KMOD_EXCHANGE_BACK), -EINVAL, what " (BACK)"); \
		memcpy(u, &ucopy, 2 * UMFS_CACHELINE);                                     \
		*sh = scopy;                                                               \
		n += 2;                                                                    \
	} while (0)
	KX_TAMPERED(u->magic ^= 1, "a U-Log page of bad magic");
	KX_TAMPERED((u->ino = c->sino, u->csum = kx_ulog_page_csum(u)), "a U-Log page of another "
		    "inode");
	KX_TAMPERED((u->generation++, u->csum = kx_ulog_page_csum(u)), "a U-Log page of another "
		    "generation");
	KX_TAMPERED(u->csum ^= 1, "a U-Log page of bad checksum");
	KX_TAMPERED(u->rec_csum ^= 1, "a record of bad checksum");
	KX_TAMPERED(u->rec_seq = 0, "a retired record (rec_seq 0)");
	KX_TAMPERED((u->rec_kind = UMFS_ULOG_REC_BYTES, u->rec_csum = kx_rec_csum(u)),
		    "a BYTES record");
	KX_TAMPERED((u->rec_kind = 7, u->rec_csum = kx_rec_csum(u)), "a record of kind 7");
	KX_TAMPERED(u->rec_done = u->rec_len + 1, "rec_done > rec_len");
	/* its last page one past the format's largest file (256 TiB) */
	KX_TAMPERED((u->rec_off = UMFS_MAX_FILE_PAGES - u->rec_len + 1,
		     u->rec_csum = kx_rec_csum(u)),
		    "a record past the largest file");
	KX_TAMPERED((u->rec_aux_gen++, u->rec_csum = kx_rec_csum(u)), "a shadow of another "
		    "generation");
	KX_TAMPERED((u->rec_aux_ino = c->fino, u->rec_csum = kx_rec_csum(u)), "the file as its "
		    "own shadow");
	KX_TAMPERED(sh->nlink = 1, "a shadow with nlink 1");
	KX_TAMPERED(sh->flags &= ~UMFS_IF_ORPHAN, "a shadow not on the orphan list");
	KX_TAMPERED((sh->mode = S_IFDIR | 0700, sh->csum = umfs_inode_csum(sh)), "a directory as "
		    "the shadow");
	KX_TAMPERED((sh->mode = S_IFLNK | 0777, sh->csum = umfs_inode_csum(sh)), "a symlink as "
		    "the shadow");
#undef KX_TAMPERED
	printf("kmod-exchange: %u refusals changed nothing: flags, reserved fields (EINVAL); "
	       "stale generation, inode 0 (ESTALE); a directory (EISDIR), a FIFO, a file without a "
	       "U-Log; a U-Log page of bad magic, inode, generation or checksum; a record of bad "
	       "checksum, retired, of kind BYTES or 7, rec_done > rec_len, past the largest file, "
	       "a shadow of another generation, the file itself, nlink 1, not an orphan, not "
	       "regular (EINVAL), forward and BACK\n", n);
}

/* A first record that cuts a 2 MiB leaf's region, on either side: EUCLEAN,
 * nothing changed (the 4 KiB steps before it in the same call included);
 * then the record of the whole regions. */
static void kx_cut_leaf(struct kx_case *c, const char *side)
{
	char what[128];

	snprintf(what, sizeof(what), "%s: [%" PRIu64 ", %" PRIu64 ") cuts the %s's 2 MiB leaf",
		 c->path, c->off, c->off + c->made_len, side);
	KT_CHECK(kx_ulog(c)->rec_len == c->made_len, "%s: the first record", what);
	kx_refused(c, kx_req(c, 0), -EUCLEAN, what);
	kx_rec_set(c, c->off, c->len);
	printf("kmod-exchange: %s: EUCLEAN, nothing changed\n", what);
}

/* Entry *e made bad: EXCHANGE answers EUCLEAN and, once the entry is put
 * back, nothing has changed (the walks of kx_state_take refuse bad
 * entries, so the state is taken before). */
static void kx_bad_entry(const struct kx_case *c, uint64_t *e, uint64_t bad, const char *what)
{
	struct kx_state b = kx_state_take(c, what);
	struct umfs_kmod_exchange r = kx_req(c, 0);
	uint64_t saved = *e;
	int got;

	KT_CHECK(saved, "%s: no entry", what);
	*e = bad;
	got = kx_ioctl(kfd, &r);
	*e = saved;
	KT_CHECK(got == -EUCLEAN, "EXCHANGE with %s: %s, want EUCLEAN", what, kx_err(got));
	kx_state_same(c, &b, what);
	kx_state_free(&b);
}

/* Bad entries in either tree, the first step's or met mid-call (the
 * second table's): EUCLEAN, nothing changed. */
static void kx_bad_entries(struct kx_case *c)
{
	const struct umfs_inode *in = kx_inode(c->fino), *sh = kx_inode(c->sino);
	const uint64_t zone_end = pool.sb->phys_base + pool.sb->data_off +
				  (pool.sb->data_pages << 12);
	uint64_t *e;

	e = kx_slot(in, 550, 1);
	KT_CHECK(e, "%s: page 550", c->path);
	kx_bad_entry(c, e, *e & ~UMFS_PTE_SPECIAL, "a file leaf without _PAGE_SPECIAL (page 550)");
	e = kx_slot(sh, 9, 1);
	KT_CHECK(e, "%s's shadow: page 9", c->path);
	kx_bad_entry(c, e, (pool.sb->phys_base + pool.sb->inode_off) | UMFS_PTE_LEAF4K_FLAGS,
		     "a shadow leaf in the inode table (page 9)");
	e = kx_slot(sh, 550, 2);
	KT_CHECK(e, "%s's shadow: region 1", c->path);
	kx_bad_entry(c, e, *e & ~UMFS_PTE_USER, "a shadow table entry without _PAGE_USER "
		     "(region 1)");
	e = kx_slot(in, 560, 2);
	KT_CHECK(e, "%s: region 1", c->path);
	kx_bad_entry(c, e, (*e & ~UMFS_PTE_ADDR_MASK) | (zone_end & UMFS_PTE_ADDR_MASK),
		     "a file table entry past the data zone (region 1)");
	printf("kmod-exchange: bad entries (a leaf's flags, a leaf in the inode table, a table "
	       "entry's flags, a table past the data zone; file and shadow): EUCLEAN, nothing "
	       "changed\n");
}

/* Page pg of ino, read through a new attachment, holds tag. */
static void kx_attach_expect(uint64_t ino, uint32_t gen, uint64_t pg, unsigned tag,
			     const char *what)
{
	void *addr;
	size_t len;
	int err = umfs_kmod_attach(kfd, ino, gen, O_RDONLY, KT_GIB, &addr, &len, NULL);
	uint64_t v = 0;

	KT_CHECK(!err, "%s: ATTACH: %s", what, strerror(-err));
	KT_CHECK(kt_probe((volatile uint64_t *)addr + pg * 512, 0, &v) == 0 &&
		 kt_verify((char *)addr + pg * 4096, 4096, tag, pg * 4096) < 0,
		 "%s: page %" PRIu64 " reads %#" PRIx64 ", want tag %#x", what, pg, v, tag);
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
}

/* C_RUNS under two attached readers, one of the file, one of the shadow. */
static void kx_revocation(int i)
{
	struct kx_case *c = &kx_cases[i];
	const uint64_t pg = 101; /* in the record, a page both sides hold */
	struct kt_holder hf, hs;
	struct umfs_kmod_stats s0, s1;
	struct kx_sum fwd;

	KT_CHECK(kx_seg_has(c->f, pg) && kx_seg_has(c->s, pg), "page %" PRIu64, pg);
	hf = kt_holder_start(c->fino, c->fgen, O_RDONLY, pg, kx_ftag(i));
	hs = kt_holder_start(c->sino, c->sgen, O_RDONLY, pg, kx_stag(i));
	s0 = kt_stats(kfd);
	kx_forward_back(c, &fwd);
	s1 = kt_stats(kfd);
	KT_CHECK(fwd.revoked == 2 && s1.revokes - s0.revokes == 2,
		 "EXCHANGE revoked %" PRIu64 " (STATS +%" PRIu64 "), want the two holders'",
		 fwd.revoked, (uint64_t)(s1.revokes - s0.revokes));
	kt_holder_finish(&hf);
	kt_holder_finish(&hs);
	/* forward again, for fresh content through new attachments */
	kx_exchange(c, 0, "the revocation");
	kx_attach_expect(c->fino, c->fgen, pg, kx_stag(i), "the file re-attached");
	kx_attach_expect(c->sino, c->sgen, pg, kx_ftag(i), "the shadow re-attached");
	kx_exchange(c, UMFS_KMOD_EXCHANGE_BACK, "the revocation");
	kx_attach_expect(c->fino, c->fgen, pg, kx_ftag(i), "the file re-attached after BACK");
	printf("kmod-exchange: attached readers of the file and the shadow revoked (revoked 2, "
	       "SIGBUS); new attachments read the exchanged pages, and after BACK the old ones\n");
}

static int kx_nobody_want;

static void kx_nobody_call(int fd)
{
	struct umfs_kmod_exchange r = kx_req(&kx_cases[C_PERM], 0);

	KT_EXPECT(kx_ioctl(fd, &r), kx_nobody_want);
}

static void kx_nobody_both(int fd)
{
	const struct kx_case *c = &kx_cases[C_PERM];
	struct umfs_kmod_exchange r = kx_req(c, 0);

	KT_EXPECT(kx_ioctl(fd, &r), 0);
	KT_CHECK(r.done == c->len && r.pages == c->len && !r.more, "uid 65534's EXCHANGE: done %"
		 PRIu64 ", pages %" PRIu64 ", more %u", (uint64_t)r.done, (uint64_t)r.pages, r.more);
	r = kx_req(c, UMFS_KMOD_EXCHANGE_BACK);
	KT_EXPECT(kx_ioctl(fd, &r), 0);
	KT_CHECK(r.done == 0 && r.pages == c->len && !r.more, "uid 65534's BACK: done %" PRIu64
		 ", pages %" PRIu64 ", more %u", (uint64_t)r.done, (uint64_t)r.pages, r.more);
}

static void kx_chmod(uint64_t ino, uint32_t gen, unsigned mode)
{
	struct umfs_kmod_setattr a = { .ino = ino, .generation = gen,
				       .valid = UMFS_KMOD_SETATTR_MODE, .mode = mode };

	KT_EXPECT(umfs_kmod_setattr(kfd, &a), 0);
}

/* Read and write permission on both inodes, and no pool mapping. */
static void kx_permissions(void)
{
	static const struct { unsigned fmode, smode; const char *what; } refused[] = {
		{ 0666, 0600, "no permission on the shadow" },
		{ 0600, 0666, "no permission on the file" },
		{ 0222, 0666, "write permission only on the file" },
		{ 0666, 0222, "write permission only on the shadow" },
		{ 0444, 0666, "read permission only on the file" },
		{ 0666, 0444, "read permission only on the shadow" },
	};
	struct kx_case *c = &kx_cases[C_PERM];
	struct kx_state b = kx_state_take(c, "permissions"), a;

	kt_pool_unmap(&pool);
	KT_CHECK(kt_stats(kfd).poolmaps == 0, "a pool mapping is left");
	kx_nobody_want = -EACCES;
	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
		kx_chmod(c->fino, c->fgen, refused[k].fmode);
		kx_chmod(c->sino, c->sgen, refused[k].smode);
		kt_as_nobody(kx_nobody_call, refused[k].what);
	}
	kx_chmod(c->fino, c->fgen, 0666);
	kx_chmod(c->sino, c->sgen, 0666);
	pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	kx_nobody_want = -EBUSY;
	kt_as_nobody(kx_nobody_call, "EBUSY while root maps the pool");
	kt_pool_unmap(&pool);
	kt_as_nobody(kx_nobody_both, "uid 65534's EXCHANGE and BACK");
	pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	a = kx_state_take(c, "permissions");
	KT_CHECK(a.ft.digest == b.ft.digest && a.st.digest == b.st.digest &&
		 !memcmp(a.bm, b.bm, kt_pool_bitmap_len(&pool)) && kx_ulog(c)->rec_done == 0,
		 "uid 65534's EXCHANGE and BACK did not give back the trees");
	kx_check_contents(c, &a, "after uid 65534's EXCHANGE and BACK");
	kx_state_free(&a);
	kx_state_free(&b);
	printf("kmod-exchange: uid 65534: EACCES without read or write permission on either "
	       "inode (6 cases), EBUSY while root maps the pool; with both and no mapping, "
	       "EXCHANGE and BACK of %" PRIu64 " pages\n", c->len);
}

/* Retires every record the phase used: the U-Logs and shadows then go at
 * tidy's recovery like a finished overwrite's. */
static void kx_retire(int first, int last)
{
	for (int i = first; i < last; i++)
		kx_ulog(&kx_cases[i])->rec_seq = 0;
}

/* The checks of one case in a child process, with its own /dev/umfs and
 * pool mapping: a failure is printed and counted, and the next case runs
 * (each has its own files). The parent holds no pool mapping meanwhile. */
static unsigned kx_failures;

static void kx_try(void (*fn)(int), int arg, const char *what)
{
	pid_t pid = fork();
	int status;

	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		KT_EXPECT(umfs_kmod_open(&kfd), 0);
		pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
		fn(arg);
		kt_pool_unmap(&pool);
		exit(0);
	}
	status = kt_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("kmod-exchange: FAILED: %s (%s %d)\n", what,
		       WIFEXITED(status) ? "exit" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		kx_failures++;
	}
}

static void kx_try_refusals(int i)
{
	kx_refusals(&kx_cases[i]);
}

static void kx_try_cut_leaf(int i)
{
	kx_cut_leaf(&kx_cases[i], i == C_TH ? "shadow" : "file");
	kx_forward_back(&kx_cases[i], NULL);
}

static void kx_try_bad_entries(int i)
{
	kx_bad_entries(&kx_cases[i]);
	kx_forward_back(&kx_cases[i], NULL);
}

static void kx_try_case(int i)
{
	kx_forward_back(&kx_cases[i], NULL);
}

static void kx_try_permissions(int i)
{
	(void)i;
	kx_permissions();
}

static int kx_direct(void)
{
	struct umfs_kmod_stats s0, s1;
	uint64_t t0 = kt_now_ns();

	kx_start(true);
	kx_load_ids();
	s0 = kt_stats(kfd);

	kx_try(kx_try_refusals, C_MID, "refusals");
	kx_try(kx_try_case, C_MID, kx_cases[C_MID].what);
	kx_try(kx_try_cut_leaf, C_TH, kx_cases[C_TH].what);
	kx_try(kx_try_cut_leaf, C_CUT, kx_cases[C_CUT].what);
	kx_try(kx_try_bad_entries, C_BAD, kx_cases[C_BAD].what);
	for (int i = 0; i < KX_NDIRECT; i++)
		if (i != C_RUNS && i != C_PERM && i != C_MID && i != C_TH && i != C_CUT &&
		    i != C_BAD)
			kx_try(kx_try_case, i, kx_cases[i].what);
	kx_try(kx_revocation, C_RUNS, "revocation");
	kx_try(kx_try_permissions, C_PERM, "permissions");
	pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	kx_retire(0, KX_NDIRECT);
	kt_pool_unmap(&pool);

	s1 = kt_stats(kfd);
	KT_CHECK(s1.exchange_pages - s0.exchange_pages == kx_counts->pages &&
		 s1.exchange_tables - s0.exchange_tables == kx_counts->tables &&
		 s1.exchanges - s0.exchanges >= kx_counts->progress &&
		 s1.exchanges - s0.exchanges <= kx_counts->calls,
		 "STATS: exchanges +%" PRIu64 ", exchange_pages +%" PRIu64 ", exchange_tables +%"
		 PRIu64 "; the calls: %" PRIu64 " (%" PRIu64 " with pages), %" PRIu64 " pages, %"
		 PRIu64 " tables", (uint64_t)(s1.exchanges - s0.exchanges),
		 (uint64_t)(s1.exchange_pages - s0.exchange_pages),
		 (uint64_t)(s1.exchange_tables - s0.exchange_tables), kx_counts->calls,
		 kx_counts->progress, kx_counts->pages, kx_counts->tables);
	KT_CHECK(s1.live == 0, "attachments left: %" PRIu64, (uint64_t)s1.live);
	printf("kmod-exchange: direct: %" PRIu64 " EXCHANGE calls, %" PRIu64 " pages, %" PRIu64
	       " tables (STATS agree), in %" PRIu64 " ms\n", kx_counts->calls, kx_counts->pages,
	       kx_counts->tables, kx_ms_since(t0));
	KT_CHECK(!kx_failures, "%u of the direct checks failed (FAILED above)", kx_failures);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* crash                                                                */
/* ------------------------------------------------------------------ */

/*
 * Case c's EXCHANGE (or BACK) cut before its nth record for n = 1, 2, ...
 * and, with n - 1 records written, before its commit, as a power cut
 * leaves it. Each time: the call answers EINTR, every EXCHANGE is refused
 * (EUCLEAN) while the slot is active, ENODEV once unmounted; MOUNT must
 * bring back both inodes, both trees, the bitmap and the record (rec_done)
 * exactly. Ends when the call runs whole, and finishes it; returns the
 * points it was cut at.
 */
static unsigned kx_cut_loop(struct kx_case *c, uint32_t flags, const char *what)
{
	struct umfs_kmod_exchange r;
	unsigned n;
	int err;

	for (n = 1;; n++) {
		struct kx_state before;
		char at[160];

		KT_CHECK(n < 300, "%s never completed", what);
		snprintf(at, sizeof(at), "%s cut at record %u", what, n);
		pool = kt_pool_map(kfd, PROT_READ);
		before = kx_state_take(c, at);
		kt_pool_unmap(&pool);
		kt_set_tx_stop(n);
		r = kx_req(c, flags);
		err = kx_ioctl(kfd, &r);
		kt_set_tx_stop(0);
		if (err == 0) {
			kx_state_free(&before);
			break;
		}
		KT_CHECK(err == -EINTR, "%s: %s", at, strerror(-err));
		/* before record 1 nothing was changed, nor the slot marked */
		if (n > 1) {
			r = kx_req(c, flags);
			KT_EXPECT(kx_ioctl(kfd, &r), -EUCLEAN);
		}
		KT_EXPECT(umfs_kmod_unmount(kfd), 0);
		r = kx_req(c, flags);
		KT_EXPECT(kx_ioctl(kfd, &r), -ENODEV);
		KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
		pool = kt_pool_map(kfd, PROT_READ);
		kx_state_same(c, &before, at);
		kx_state_free(&before);
		kt_pool_unmap(&pool);
	}
	/* the rest, uncut */
	while (r.more) {
		r = kx_req(c, flags);
		KT_EXPECT(kx_ioctl(kfd, &r), 0);
	}
	return n - 1;
}

static void kx_crash_check(struct kx_case *c, const struct kx_state *b, bool back)
{
	const char *what = back ? "the crash BACK" : "the crash EXCHANGE";
	struct kx_state a = kx_state_take(c, what);

	kx_model_swap(c);
	kx_check_contents(c, &a, what);
	kx_check_alloc(b, &a, back ? 0 : c->tables, what);
	kx_check_record(c, b, back ? 0 : c->len, what);
	kx_state_free(&a);
}

/* EOPNOTSUPP: a damaged module journal slot (the pool's last) leaves the
 * module none at MOUNT; the slot header is written back after. */
static void kx_no_slot(const struct kx_case *c)
{
	struct umfs_superblock sb;
	struct umfs_jslot_hdr h, bad;
	struct umfs_kmod_exchange r;
	off_t at;
	int fd;

	pool = kt_pool_map(kfd, PROT_READ);
	sb = *pool.sb;
	kt_pool_unmap(&pool);
	at = (off_t)(sb.journal_off + (uint64_t)(sb.journal_slots - 1) * sb.journal_slot_size);
	KT_EXPECT(umfs_kmod_unmount(kfd), 0);
	fd = open(dev, O_RDWR);
	KT_CHECK(fd >= 0, "%s: %s", dev, strerror(errno));
	KT_EXPECT(pread(fd, &h, sizeof(h), at), (long)sizeof(h));
	KT_CHECK(h.magic == UMFS_JSLOT_MAGIC && h.slot == sb.journal_slots - 1 && !h.active_seq,
		 "the module's slot header");
	bad = h;
	bad.magic ^= 1;
	KT_EXPECT(pwrite(fd, &bad, sizeof(bad), at), (long)sizeof(bad));
	KT_EXPECT(fsync(fd), 0);
	close(fd);
	KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
	r = kx_req(c, UMFS_KMOD_EXCHANGE_BACK);
	KT_EXPECT(kx_ioctl(kfd, &r), -EOPNOTSUPP);
	r = kx_req(c, 0);
	KT_EXPECT(kx_ioctl(kfd, &r), -EOPNOTSUPP);
	KT_EXPECT(umfs_kmod_unmount(kfd), 0);
	fd = open(dev, O_RDWR);
	KT_CHECK(fd >= 0, "%s: %s", dev, strerror(errno));
	KT_EXPECT(pwrite(fd, &h, sizeof(h), at), (long)sizeof(h));
	KT_EXPECT(fsync(fd), 0);
	close(fd);
	KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
	printf("kmod-exchange: a damaged module journal slot: EXCHANGE and BACK refused with "
	       "EOPNOTSUPP\n");
}

static int kx_crash(void)
{
	struct kx_case *c = &kx_cases[C_CRASH];
	struct umfs_kmod_stats s0, s1;
	struct kx_state b;
	unsigned cuts[2];
	uint64_t t0 = kt_now_ns();

	kx_start(false);
	kx_load_ids();
	pool = kt_pool_map(kfd, PROT_READ);
	b = kx_state_take(c, "the crash case");
	kx_check_contents(c, &b, "the crash case");
	kt_pool_unmap(&pool);
	s0 = kt_stats(kfd);

	cuts[0] = kx_cut_loop(c, 0, "EXCHANGE");
	pool = kt_pool_map(kfd, PROT_READ);
	kx_crash_check(c, &b, false);
	kx_state_free(&b);
	b = kx_state_take(c, "the crash case");
	kt_pool_unmap(&pool);

	cuts[1] = kx_cut_loop(c, UMFS_KMOD_EXCHANGE_BACK, "BACK");
	pool = kt_pool_map(kfd, PROT_READ);
	kx_crash_check(c, &b, true);
	kx_state_free(&b);
	kt_pool_unmap(&pool);

	s1 = kt_stats(kfd);
	KT_CHECK(s1.exchange_pages - s0.exchange_pages == 2 * c->len &&
		 s1.exchange_tables - s0.exchange_tables == c->tables &&
		 s1.exchanges - s0.exchanges == kx_counts->calls,
		 "STATS: exchanges +%" PRIu64 " (want %" PRIu64 "), exchange_pages +%" PRIu64
		 ", exchange_tables +%" PRIu64 ": the calls cut short must not count",
		 (uint64_t)(s1.exchanges - s0.exchanges), kx_counts->calls,
		 (uint64_t)(s1.exchange_pages - s0.exchange_pages),
		 (uint64_t)(s1.exchange_tables - s0.exchange_tables));
	printf("kmod-exchange: EXCHANGE of %" PRIu64 " pages (4 KiB runs, 2 MiB leaves facing a "
	       "table and a hole, %" PRIu64 " table created) cut before each of its %u records and "
	       "its commit, BACK before each of its %u and its commit: %u cut points, rolled back "
	       "at MOUNT every time, then whole (%" PRIu64 " ms)\n", c->len, c->tables,
	       cuts[0] - 1, cuts[1] - 1, cuts[0] + cuts[1], kx_ms_since(t0));
	KT_CHECK(cuts[0] > 4 && cuts[1] > 4, "EXCHANGE cut at %u points, BACK at %u: the cuts "
		 "tested too little", cuts[0], cuts[1]);

	kx_no_slot(c);
	pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	kx_retire(C_CRASH, C_CRASH + 1);
	kt_pool_unmap(&pool);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* libumfs                                                              */
/* ------------------------------------------------------------------ */

/* In a writer process: cut its next forward EXCHANGE before record n and
 * die on the spot; KX_CUT_AFTER: die right after that call, the record
 * not yet retired. Every EXCHANGE of this process is counted. */
#define KX_CUT_AFTER ULONG_MAX
static unsigned long kx_cut_at;
static uint64_t kx_seen_exchanges;

/* The real ioctl, which the core's table held before kx_ioctl_hook took
 * its place. */
static __typeof__(ioctl) *kx_real_ioctl;

/* Every ioctl of libumfs and of the module's client goes through the core's
 * table of kernel calls (os.h): this test puts its hook there. */
static int kx_ioctl_hook(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == UMFS_KMOD_IOC_EXCHANGE) {
		const struct umfs_kmod_exchange *x = arg;

		kx_seen_exchanges++;
		if (kx_cut_at && !(x->flags & UMFS_KMOD_EXCHANGE_BACK)) {
			unsigned long n = kx_cut_at;
			int ret, e;

			kx_cut_at = 0;
			if (n != KX_CUT_AFTER)
				kt_set_tx_stop(n);
			ret = kx_real_ioctl(fd, req, arg);
			e = errno;
			if (n != KX_CUT_AFTER)
				kt_set_tx_stop(0);
			if ((ret < 0 && e == EINTR) || (n == KX_CUT_AFTER && ret == 0))
				_exit(KX_CUT_EXIT); /* the power goes */
			errno = e;
			return ret;
		}
	}
	return kx_real_ioctl(fd, req, arg);
}

__attribute__((constructor)) static void kx_ioctl_hook_install(void)
{
	umfs_os_init();
	kx_real_ioctl = umfs_os.ioctl;
	umfs_os.ioctl = kx_ioctl_hook;
}

struct kx_lfile {
	const char *path;
	unsigned tag;
};

static const struct kx_lfile kx_l4k = { "/l4k", 0x41 }, kx_l2m = { "/l2m", 0x42 },
			     kx_lh = { "/lh", 0x43 }, kx_lc = { "/lc", 0x44 };

#define KX_LSIZE (8 * KT_MIB)
#define KX_LH_SIZE (6 * KT_MIB)

/* buf gets tag's pattern for the bytes [off, off + len) of a file. */
static void kx_pattern(char *buf, uint64_t len, unsigned tag, uint64_t off)
{
	static char tmp[KX_LSIZE + 16];

	KT_CHECK(len + 16 <= sizeof(tmp), "pattern too long");
	kt_fill(tmp, (size_t)UMFS_ALIGN_UP(len + (off & 7), 8), tag, off & ~7ull);
	memcpy(buf, tmp + (off & 7), len);
}

/* [off, off + len) of tag's pattern into a UMFS file and its twin (fd),
 * in pieces of `piece` bytes (2 MiB pieces of whole regions: 2 MiB
 * leaves in software mode). */
static void kx_lwrite(struct umfs_file *f, int fd, unsigned tag, uint64_t off, uint64_t len,
		      uint64_t piece)
{
	static char buf[KX_LSIZE];

	for (uint64_t pos = off; pos < off + len; pos += piece) {
		uint64_t n = UMFS_MIN(piece, off + len - pos);

		kx_pattern(buf, n, tag, pos);
		if (f)
			KT_EXPECT(umfs_pwrite(f, buf, n, (off_t)pos), (long)n);
		if (fd >= 0)
			KT_EXPECT(pwrite(fd, buf, n, (off_t)pos), (long)n);
	}
}

static int kx_create_libumfs(void)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	int err;

	err = umfs_mount(dev, 0, &fs);
	KT_CHECK(!err, "umfs_mount %s: %s (%s)", dev, strerror(-err), umfs_mount_error());
	KT_CHECK(!umfs_fs_kmod(fs), "create runs in software mode");
	KT_EXPECT(umfs_open(fs, kx_l2m.path, O_CREAT | O_RDWR, 0644, &f), 0);
	kx_lwrite(f, -1, kx_l2m.tag, 0, KX_LSIZE, 2 * KT_MIB);
	KT_EXPECT(umfs_close(f), 0);
	KT_EXPECT(umfs_open(fs, kx_lc.path, O_CREAT | O_RDWR, 0644, &f), 0);
	kx_lwrite(f, -1, kx_lc.tag, 0, KX_LSIZE, 2 * KT_MIB);
	KT_EXPECT(umfs_close(f), 0);
	KT_EXPECT(umfs_open(fs, kx_lh.path, O_CREAT | O_RDWR, 0644, &f), 0);
	KT_EXPECT(umfs_ftruncate(f, KX_LH_SIZE), 0);
	kx_lwrite(f, -1, kx_lh.tag, 0, KT_MIB, 64 * KT_KIB);
	kx_lwrite(f, -1, kx_lh.tag, 3 * KT_MIB + 8192, KT_MIB - 8192, 64 * KT_KIB);
	KT_EXPECT(umfs_close(f), 0);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-exchange: created /l2m and /lc (8 MiB of 2 MiB leaves), /lh (6 MiB with "
	       "holes)\n");
	return 0;
}

/* The twin of a libumfs file on tmpfs, made as create-libumfs made it. */
static int kx_twin(const struct kx_lfile *l, bool huge)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), KX_REF_DIR "%s", l->path);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	KT_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	if (huge) {
		kx_lwrite(NULL, fd, l->tag, 0, KX_LSIZE, 2 * KT_MIB);
	} else if (l == &kx_lh) {
		KT_EXPECT(ftruncate(fd, KX_LH_SIZE), 0);
		kx_lwrite(NULL, fd, l->tag, 0, KT_MIB, 64 * KT_KIB);
		kx_lwrite(NULL, fd, l->tag, 3 * KT_MIB + 8192, KT_MIB - 8192, 64 * KT_KIB);
	}
	return fd;
}

/* The whole UMFS file reads as its twin. */
static void kx_lcompare(struct umfs_fs *fs, const struct kx_lfile *l, int fd, const char *what)
{
	static char a[KX_LSIZE + 4096], b[KX_LSIZE + 4096];
	struct umfs_file *f;
	struct stat st, ust;
	ssize_t n;

	KT_EXPECT(umfs_open(fs, l->path, O_RDONLY, 0, &f), 0);
	KT_EXPECT(umfs_fstat(f, &ust), 0);
	KT_EXPECT(fstat(fd, &st), 0);
	KT_CHECK(ust.st_size == st.st_size, "%s: %s is %lld bytes, its twin %lld", what, l->path,
		 (long long)ust.st_size, (long long)st.st_size);
	KT_CHECK((uint64_t)st.st_size <= KX_LSIZE, "twin too large");
	n = umfs_pread(f, a, sizeof(a), 0);
	KT_CHECK(n == st.st_size, "%s: %s read %zd bytes", what, l->path, n);
	KT_EXPECT(pread(fd, b, sizeof(b), 0), (long)st.st_size);
	if (memcmp(a, b, (size_t)n)) {
		size_t i = 0;

		while (a[i] == b[i])
			i++;
		KT_FAIL("%s: %s differs from its twin at byte %zu", what, l->path, i);
	}
	KT_EXPECT(umfs_close(f), 0);
}

/* One operation on a UMFS file and on its twin, then compared; the module's
 * EXCHANGE calls it made (STATS) and this process's (the wrapper). */
struct kx_op {
	const char *what;
	const struct kx_lfile *file;
	int kind; /* 0: pwrite of tag's pattern; else a fallocate mode */
	uint64_t off, len;
	unsigned tag;
};

static void kx_check_pool(const char *what);

static uint64_t kx_lib_op(struct umfs_fs *fs, int fd, const struct kx_op *op)
{
	struct umfs_kmod_stats s0 = kt_stats(kfd), s1;
	uint64_t seen = kx_seen_exchanges;
	struct umfs_file *f;

	KT_EXPECT(umfs_open(fs, op->file->path, O_RDWR, 0, &f), 0);
	if (op->kind == 0) {
		kx_lwrite(f, fd, op->tag, op->off, op->len, op->len);
	} else {
		KT_EXPECT(umfs_fallocate(f, op->kind, (off_t)op->off, (off_t)op->len), 0);
		if (op->kind & FALLOC_FL_PUNCH_HOLE) {
			KT_EXPECT(fallocate(fd, op->kind, (off_t)op->off, (off_t)op->len), 0);
		} else { /* tmpfs has no ZERO_RANGE: zeros written, inside EOF */
			static char zeros[KX_LSIZE];

			KT_EXPECT(pwrite(fd, zeros, op->len, (off_t)op->off), (long)op->len);
		}
	}
	KT_EXPECT(umfs_close(f), 0);
	kx_check_pool(op->what);
	kx_lcompare(fs, op->file, fd, op->what);
	s1 = kt_stats(kfd);
	KT_CHECK(s1.exchanges > s0.exchanges && s1.exchange_pages > s0.exchange_pages,
		 "%s: STATS exchanges +%" PRIu64 ", exchange_pages +%" PRIu64 " (this process "
		 "called EXCHANGE %" PRIu64 " times): not a copy-on-write through the module",
		 op->what, (uint64_t)(s1.exchanges - s0.exchanges),
		 (uint64_t)(s1.exchange_pages - s0.exchange_pages), kx_seen_exchanges - seen);
	printf("kmod-exchange: %-58s same bytes as tmpfs; %" PRIu64 " EXCHANGE calls, %" PRIu64
	       " pages\n", op->what, (uint64_t)(s1.exchanges - s0.exchanges),
	       (uint64_t)(s1.exchange_pages - s0.exchange_pages));
	return s1.exchanges - s0.exchanges;
}

static struct umfs_fs *kx_lmount(void)
{
	struct umfs_fs *fs;
	int err = umfs_mount(dev, 0, &fs);

	KT_CHECK(!err, "umfs_mount %s in module mode: %s (%s)", dev, strerror(-err),
		 umfs_mount_error());
	KT_CHECK(umfs_fs_kmod(fs), "libumfs is not in module mode");
	return fs;
}

/* In the pool: orphan list empty, no inode with a U-Log. */
static void kx_check_no_leftovers(const char *what)
{
	const struct umfs_state *st;
	const uint64_t *ibm;

	pool = kt_pool_map(kfd, PROT_READ);
	st = (const struct umfs_state *)(pool.m + pool.sb->state_off);
	ibm = (const uint64_t *)(pool.m + pool.sb->ibitmap_off);
	KT_CHECK(st->orphan_head == 0, "%s: orphans left (inode %" PRIu64 ")", what,
		 (uint64_t)st->orphan_head);
	for (uint64_t ino = 1; ino < pool.sb->inode_count; ino++)
		if (ibm[ino / 64] >> (ino % 64) & 1)
			KT_CHECK(kx_inode(ino)->ulog == 0, "%s: inode %" PRIu64 " keeps a U-Log", what,
				 ino);
	kt_pool_unmap(&pool);
}

/* The whole pool after a libumfs operation: every inode in use has a
 * valid checksum, every tree valid entries and an exact block count, no
 * pool page in two trees, every page of a tree allocated. */
static void kx_check_pool(const char *what)
{
	const uint64_t *ibm, *bm;
	uint64_t *all, inodes = 0;
	size_t words;

	pool = kt_pool_map(kfd, PROT_READ);
	ibm = (const uint64_t *)(pool.m + pool.sb->ibitmap_off);
	bm = kt_pool_bitmap(&pool);
	words = kt_pool_bitmap_len(&pool) / 8;
	all = calloc(words, 8);
	KT_CHECK(all, "calloc");
	for (uint64_t ino = 1; ino < pool.sb->inode_count; ino++) {
		const struct umfs_inode *in = kx_inode(ino);
		struct kt_tree t;
		char w[128];

		if (!(ibm[ino / 64] >> (ino % 64) & 1))
			continue;
		inodes++;
		snprintf(w, sizeof(w), "%s: inode %" PRIu64 " (mode %o)", what, ino, in->mode);
		KT_CHECK(in->mode, "%s: in use, mode 0", w);
		t = kx_walk(in, w);
		for (size_t k = 0; k < words; k++) {
			KT_CHECK(!(all[k] & t.pages[k]), "%s: pool pages of another tree (bitmap word "
				 "%zu: %#" PRIx64 ")", w, k, all[k] & t.pages[k]);
			KT_CHECK(!(t.pages[k] & ~bm[k]), "%s: pages free in the bitmap (word %zu: %#"
				 PRIx64 ")", w, k, t.pages[k] & ~bm[k]);
			all[k] |= t.pages[k];
		}
		kt_tree_free(&t);
	}
	free(all);
	kt_pool_unmap(&pool);
	KT_CHECK(inodes >= 4, "%s: %" PRIu64 " inodes in use", what, inodes);
}

/* A writer overwrites /lc's bytes [off, off + len), its first forward
 * EXCHANGE cut before record n (0: not cut). Returns how it ended. */
static int kx_lc_writer(unsigned long n, uint64_t off, uint64_t len, unsigned tag)
{
	pid_t pid = fork();
	int status;

	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct umfs_fs *fs;
		struct umfs_file *f;

		kt_name = "kmod-exchange (writer)";
		kx_seen_exchanges = 0;
		kx_cut_at = n;
		fs = kx_lmount();
		KT_EXPECT(umfs_open(fs, kx_lc.path, O_RDWR, 0, &f), 0);
		kx_lwrite(f, -1, tag, off, len, len);
		KT_EXPECT(umfs_close(f), 0);
		KT_EXPECT(umfs_unmount(fs), 0);
		_exit(kx_seen_exchanges ? 0 : KX_NO_EXCHANGE_EXIT);
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status), "the writer died of signal %d", WTERMSIG(status));
	KT_CHECK(WEXITSTATUS(status) != KX_NO_EXCHANGE_EXIT, "libumfs's overwrite of %" PRIu64
		 " bytes never called EXCHANGE", len);
	KT_CHECK(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == KX_CUT_EXIT,
		 "the writer failed (exit %d)", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

/* After a writer died at its cut: MOUNT again (the module rolls its slot
 * back), then a module-mode mount of libumfs, whose recovery rolls the
 * record back through EXCHANGE BACK and reclaims the shadow: /lc must read
 * as its twin. *back_pages gets the pages the module moved back. */
static void kx_lc_recover(int fd, const char *what, uint64_t *back_pages)
{
	struct umfs_kmod_stats s0, s1;
	struct umfs_fs *fs;

	KT_CHECK(kt_stats(kfd).live == 0, "%s: attachments left", what);
	KT_EXPECT(umfs_kmod_unmount(kfd), 0);
	KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
	s0 = kt_stats(kfd);
	fs = kx_lmount();
	s1 = kt_stats(kfd);
	KT_CHECK(fs->recovery.ulog_rolled_back == 1 && fs->recovery.orphans_reclaimed == 1 &&
		 fs->recovery.ulog_bad == 0,
		 "%s: libumfs's recovery rolled back %u records (%u bad), reclaimed %u orphans; "
		 "want the overwrite's record and its shadow", what, fs->recovery.ulog_rolled_back,
		 fs->recovery.ulog_bad, fs->recovery.orphans_reclaimed);
	KT_CHECK(s1.exchanges > s0.exchanges, "%s: the rollback made no EXCHANGE call", what);
	*back_pages = s1.exchange_pages - s0.exchange_pages;
	kx_lcompare(fs, &kx_lc, fd, what);
	KT_EXPECT(umfs_unmount(fs), 0);
	kx_check_no_leftovers(what);
	kx_check_pool(what);
}

/* /lc's overwrite cut at every record of its EXCHANGE and before its
 * commit, each time rolled back by MOUNT and libumfs's recovery to the old
 * bytes; then whole. Then another overwrite cut after its EXCHANGE, before
 * the record is retired: the recovery's EXCHANGE BACK moves every page
 * back. Returns the cut points. */
static unsigned kx_lib_crash(int fd)
{
	const uint64_t off = KT_MIB + 5, len = 4 * KT_MIB + 2;
	struct umfs_fs *fs;
	uint64_t back;
	unsigned n;

	for (n = 1;; n++) {
		char what[64];

		KT_CHECK(n < 100, "/lc's overwrite never completed");
		snprintf(what, sizeof(what), "/lc cut at record %u", n);
		if (kx_lc_writer(n, off, len, 0x54) == 0)
			break;
		kx_lc_recover(fd, what, &back);
		KT_CHECK(back == 0, "%s: the rollback moved %" PRIu64 " pages back, the MOUNT "
			 "should have left none exchanged", what, back);
	}
	kx_lwrite(NULL, fd, 0x54, off, len, len);
	fs = kx_lmount();
	kx_lcompare(fs, &kx_lc, fd, "/lc's overwrite, uncut");
	KT_EXPECT(umfs_unmount(fs), 0);

	KT_CHECK(kx_lc_writer(KX_CUT_AFTER, off + 3 * KT_MIB, 2 * KT_MIB, 0x57) == KX_CUT_EXIT,
		 "the writer cut after its EXCHANGE did not die there");
	kx_lc_recover(fd, "/lc cut after its EXCHANGE", &back);
	KT_CHECK(back >= 512, "/lc cut after its EXCHANGE: the rollback moved %" PRIu64
		 " pages back", back);
	printf("kmod-exchange: /lc cut after its EXCHANGE, the record valid: recovery moved %"
	       PRIu64 " pages back (EXCHANGE BACK), the old bytes again\n", back);
	return n;
}

static int kx_libumfs(void)
{
	const struct kx_op ops[] = {
		{ "/l4k: overwrite [100 KiB + 5, +1 MiB + 3) of 4 KiB leaves", &kx_l4k, 0,
		  100 * KT_KIB + 5, KT_MIB + 3, 0x51 },
		{ "/l2m: overwrite [1 MiB + 17, 5 MiB + 300): leaf 0 cut, 1 whole, 2 cut", &kx_l2m,
		  0, KT_MIB + 17, 4 * KT_MIB + 283, 0x52 },
		{ "/l2m: punch [6 MiB + 12 KiB, +700 KiB) inside leaf 3", &kx_l2m,
		  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 6 * KT_MIB + 12 * KT_KIB,
		  700 * KT_KIB, 0 },
		{ "/l2m: overwrite [6 MiB, 8 MiB): region 3 whole", &kx_l2m, 0, 6 * KT_MIB,
		  2 * KT_MIB, 0x53 },
		{ "/lh: overwrite [512 KiB, 4.5 MiB) over holes below EOF", &kx_lh, 0,
		  512 * KT_KIB, 4 * KT_MIB, 0x55 },
		{ "/lh: overwrite [5 MiB, 7 MiB) across EOF (6 MiB)", &kx_lh, 0, 5 * KT_MIB,
		  2 * KT_MIB, 0x56 },
		{ "/l2m: punch [2 MiB + 12 KiB, +700 KiB) of 4 KiB leaves", &kx_l2m,
		  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * KT_MIB + 12 * KT_KIB,
		  700 * KT_KIB, 0 },
		{ "/l4k: zero range [2 MiB + 1000, 3 MiB)", &kx_l4k, FALLOC_FL_ZERO_RANGE,
		  2 * KT_MIB + 1000, KT_MIB - 1000, 0 },
	};
	struct umfs_kmod_stats s0, s1;
	struct umfs_fs *fs;
	struct umfs_file *f;
	int fd4k, fd2m, fdh, fdc;
	uint64_t t0 = kt_now_ns(), t1, exchanges = 0;
	unsigned cuts;

	kx_start(false);
	setenv("UMFS_KMOD", "1", 1);
	if (mkdir(KX_REF_DIR, 0755) && errno != EEXIST)
		KT_FAIL("mkdir %s: %s", KX_REF_DIR, strerror(errno));
	s0 = kt_stats(kfd);

	/* /l2m and /lc are 2 MiB leaves, as software mode made them */
	pool = kt_pool_map(kfd, PROT_READ);
	for (const struct kx_lfile *l = &kx_l2m; l; l = l == &kx_l2m ? &kx_lc : NULL) {
		struct kt_id id;
		struct kt_tree t;
		struct umfs_fs *rfs;

		rfs = kx_lmount();
		id = kt_lookup_fs(rfs, l->path);
		KT_EXPECT(umfs_unmount(rfs), 0);
		t = kx_walk(kx_inode(id.ino), l->path);
		KT_CHECK(t.huge == 4 && t.leaves == 0, "%s: %" PRIu64 " 2 MiB leaves, %" PRIu64
			 " 4 KiB leaves; want 4 and 0", l->path, t.huge, t.leaves);
		kt_tree_free(&t);
	}
	kt_pool_unmap(&pool);

	fs = kx_lmount();
	fd4k = kx_twin(&kx_l4k, false);
	KT_EXPECT(umfs_open(fs, kx_l4k.path, O_CREAT | O_RDWR, 0644, &f), 0);
	kx_lwrite(f, fd4k, kx_l4k.tag, 0, 6 * KT_MIB, 128 * KT_KIB); /* EXTEND: 4 KiB leaves */
	KT_EXPECT(umfs_close(f), 0);
	fd2m = kx_twin(&kx_l2m, true);
	fdh = kx_twin(&kx_lh, false);
	fdc = kx_twin(&kx_lc, true);
	kx_lcompare(fs, &kx_l2m, fd2m, "/l2m as made");
	kx_lcompare(fs, &kx_lh, fdh, "/lh as made");
	kx_lcompare(fs, &kx_lc, fdc, "/lc as made");
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		int fd = ops[k].file == &kx_l4k ? fd4k : ops[k].file == &kx_l2m ? fd2m : fdh;

		exchanges += kx_lib_op(fs, fd, &ops[k]);
	}
	KT_EXPECT(umfs_unmount(fs), 0);
	kx_check_no_leftovers("after the overwrites");
	fs = kx_lmount(); /* everything again, from a new mount */
	kx_lcompare(fs, &kx_l4k, fd4k, "/l4k remounted");
	kx_lcompare(fs, &kx_l2m, fd2m, "/l2m remounted");
	kx_lcompare(fs, &kx_lh, fdh, "/lh remounted");
	KT_EXPECT(umfs_unmount(fs), 0);
	t1 = kt_now_ns();

	cuts = kx_lib_crash(fdc);
	KT_CHECK(cuts >= 4, "/lc's EXCHANGE was cut at %u points only", cuts);
	s1 = kt_stats(kfd);
	KT_CHECK(s1.live == 0, "attachments left: %" PRIu64, (uint64_t)s1.live);
	printf("kmod-exchange: libumfs: %zu operations, the same bytes as on tmpfs, %" PRIu64
	       " EXCHANGE calls (%" PRIu64 " ms); an overwrite's EXCHANGE cut at %u points (each "
	       "record, the commit, after the call), rolled back by recovery to the old bytes "
	       "every time, then whole (%" PRIu64 " ms); STATS exchanges +%" PRIu64 "\n",
	       sizeof(ops) / sizeof(ops[0]), exchanges, (t1 - t0) / 1000000, cuts,
	       kx_ms_since(t1), (uint64_t)(s1.exchanges - s0.exchanges));
	close(fd4k);
	close(fd2m);
	close(fdh);
	close(fdc);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* tidy                                                                 */
/* ------------------------------------------------------------------ */

static int kx_tidy(void)
{
	struct umfs_fs *fs;

	kx_start(false);
	setenv("UMFS_KMOD", "1", 1);
	fs = kx_lmount();
	printf("kmod-exchange: tidy: libumfs's recovery in module mode: %u records rolled back, "
	       "%u U-Logs freed, %u orphans reclaimed\n", fs->recovery.ulog_rolled_back,
	       fs->recovery.ulogs_freed, fs->recovery.orphans_reclaimed);
	KT_CHECK(fs->recovery.ulog_bad == 0, "tidy: %u bad U-Log records or chains",
		 fs->recovery.ulog_bad);
	KT_EXPECT(umfs_unmount(fs), 0);
	kx_check_no_leftovers("tidy");
	KT_CHECK(kt_stats(kfd).live == 0, "attachments left");
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* selfcheck: the test's own expectations, on the host                  */
/* ------------------------------------------------------------------ */

/* The tables the module is to create, made by the core (umfs_pt_slot_make)
 * as the rule of EXCHANGE says: a side without the level-2 slot of a
 * region where the other side has a 2 MiB leaf, or without the level-1
 * table of a run where the other side has pages. Returns how many. */
static uint64_t kx_emulate_tables(struct umfs_fs *fs, const struct kx_case *c)
{
	struct umfs_inode *in = umfs_inode(fs, c->fino), *sh = umfs_inode(fs, c->sino);
	uint64_t before = in->blocks + sh->blocks, *slot;

	umfs_meta_lock(fs);
	KT_EXPECT(umfs_tx_begin(fs), 0);
	for (uint64_t r = c->off & ~(KX_REGION - 1); r < c->off + c->len; r += KX_REGION) {
		uint64_t lo = UMFS_MAX(r, c->off), hi = UMFS_MIN(r + KX_REGION, c->off + c->len);
		uint64_t *f2 = umfs_pt_slot_find(fs, in, r, 2), *s2 = umfs_pt_slot_find(fs, sh, r, 2);
		bool fany = false, sany = false;

		if ((f2 && (*f2 & UMFS_PTE_PSE)) || (s2 && (*s2 & UMFS_PTE_PSE))) {
			if (!f2)
				KT_EXPECT(umfs_pt_slot_make(fs, in, r, 2, &slot), 0);
			if (!s2)
				KT_EXPECT(umfs_pt_slot_make(fs, sh, r, 2, &slot), 0);
			continue;
		}
		for (uint64_t p = lo; p < hi; p++) {
			fany |= umfs_pt_offset(fs, in, p, NULL) != 0;
			sany |= umfs_pt_offset(fs, sh, p, NULL) != 0;
		}
		if (fany && !umfs_pt_slot_find(fs, sh, lo, 1))
			KT_EXPECT(umfs_pt_slot_make(fs, sh, lo, 1, &slot), 0);
		if (sany && !umfs_pt_slot_find(fs, in, lo, 1))
			KT_EXPECT(umfs_pt_slot_make(fs, in, lo, 1, &slot), 0);
	}
	KT_EXPECT(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
	return in->blocks + sh->blocks - before;
}

/* Blocks an entry of a level-2 table carries: a 2 MiB leaf's 512 pages, a
 * table's page and its present leaves. */
static uint64_t kx_l2_weight(uint64_t e)
{
	uint64_t w = 1;

	if (!e)
		return 0;
	if (e & UMFS_PTE_PSE)
		return KX_REGION;
	for (unsigned i = 0; i < 512; i++)
		w += kt_pool_table(&pool, kt_pool_entry_off(&pool, e, UMFS_PTE_ADDR_MASK))[i] != 0;
	return w;
}

/* EXCHANGE as the ABI describes it, done by the test itself on a pool
 * file (the tables made first by kx_emulate_tables): a region where either
 * side has a 2 MiB leaf swaps its level-2 entries, the others their
 * level-1 entries over the record's pages. Its own inverse. */
static void kx_soft_exchange(struct umfs_fs *fs, const struct kx_case *c, bool fwd)
{
	struct umfs_inode *in = umfs_inode(fs, c->fino), *sh = umfs_inode(fs, c->sino);

	for (uint64_t r = c->off & ~(KX_REGION - 1); r < c->off + c->len; r += KX_REGION) {
		uint64_t lo = UMFS_MAX(r, c->off), hi = UMFS_MIN(r + KX_REGION, c->off + c->len);
		uint64_t *f2 = umfs_pt_slot_find(fs, in, r, 2), *s2 = umfs_pt_slot_find(fs, sh, r, 2);
		uint64_t *f1, *s1, t;

		if ((f2 && (*f2 & UMFS_PTE_PSE)) || (s2 && (*s2 & UMFS_PTE_PSE))) {
			uint64_t wf, ws;

			KT_CHECK(f2 && s2 && lo == r && hi == r + KX_REGION, "%s: region %" PRIu64
				 " of a 2 MiB leaf cut, or a slot missing", c->path, r / KX_REGION);
			wf = kx_l2_weight(*f2);
			ws = kx_l2_weight(*s2);
			t = *f2;
			*f2 = *s2;
			*s2 = t;
			in->blocks = in->blocks - wf + ws;
			sh->blocks = sh->blocks - ws + wf;
			continue;
		}
		f1 = umfs_pt_slot_find(fs, in, lo, 1);
		s1 = umfs_pt_slot_find(fs, sh, lo, 1);
		if (!f1 || !s1)
			continue; /* holes only on both sides (kx_emulate_tables) */
		for (uint64_t i = 0; i < hi - lo; i++) {
			in->blocks = in->blocks - (f1[i] != 0) + (s1[i] != 0);
			sh->blocks = sh->blocks - (s1[i] != 0) + (f1[i] != 0);
			t = f1[i];
			f1[i] = s1[i];
			s1[i] = t;
		}
	}
	kx_ulog(c)->rec_done = fwd ? c->len : 0;
}

/*
 * On a pool FILE after create-direct or create-crash, without the module: the checks of
 * the direct phase against the test's own exchange (kx_emulate_tables,
 * kx_soft_exchange): proves the shapes, the model and the expected counts
 * and heights before the module runs them. libumfs's own exchange
 * (cow.c), which never moves a 2 MiB leaf onto a table, must refuse the
 * records that cut a 2 MiB leaf.
 */
static int kx_selfcheck(void)
{
	struct umfs_fs *fs;
	int err;

	kx_load_ids();
	err = umfs_mount(dev, UMFS_MOUNT_NORECOVER, &fs);
	KT_CHECK(!err, "umfs_mount %s: %s (%s)", dev, strerror(-err), umfs_mount_error());
	pool.m = (char *)fs->base;
	pool.size = fs->pm.len;
	pool.sb = (const struct umfs_superblock *)fs->base;
	for (int i = 0; i < KX_NCASES; i++) {
		struct kx_case *c = &kx_cases[i];
		struct kx_state s0, s1, s2;
		uint64_t tables;

		if (!c->fino)
			continue; /* not made by this create */
		if (c->made_len) {
			s0 = kx_state_take(c, c->path);
			KT_EXPECT(umfs_ulog_swap(fs, c->fino, kx_ulog(c), true), -EUCLEAN);
			kx_state_same(c, &s0, "libumfs's exchange of a cut 2 MiB leaf");
			kx_state_free(&s0);
			kx_rec_set(c, c->off, c->len);
		}
		s0 = kx_state_take(c, c->path);
		kx_check_contents(c, &s0, c->path);
		tables = kx_emulate_tables(fs, c);
		kx_soft_exchange(fs, c, true);
		s1 = kx_state_take(c, c->path);
		kx_model_swap(c);
		kx_check_contents(c, &s1, c->path);
		kx_check_alloc(&s0, &s1, tables, c->path);
		kx_check_record(c, &s0, c->len, c->path);
		KT_CHECK(tables == c->tables, "%s: %" PRIu64 " tables made, the case says %" PRIu64,
			 c->path, tables, c->tables);
		KT_CHECK(kx_inode(c->fino)->pt_height == c->fh && kx_inode(c->sino)->pt_height == c->sh,
			 "%s: heights %u and %u, the case says %u and %u", c->path,
			 kx_inode(c->fino)->pt_height, kx_inode(c->sino)->pt_height, c->fh, c->sh);
		kx_soft_exchange(fs, c, false);
		s2 = kx_state_take(c, c->path);
		kx_model_swap(c);
		kx_check_contents(c, &s2, c->path);
		kx_check_alloc(&s1, &s2, 0, c->path);
		kx_check_record(c, &s0, 0, c->path);
		printf("kmod-exchange: selfcheck: %-52s %" PRIu64 " tables; back as before\n", c->what,
		       tables);
		kx_state_free(&s0);
		kx_state_free(&s1);
		kx_state_free(&s2);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-exchange";
	if (argc == 3) {
		dev = argv[2];
		if (!strcmp(argv[1], "create-direct"))
			return kx_create(0, KX_NDIRECT, true);
		if (!strcmp(argv[1], "create-crash"))
			return kx_create(C_CRASH, C_CRASH + 1, false);
		if (!strcmp(argv[1], "create-libumfs"))
			return kx_create_libumfs();
		if (!strcmp(argv[1], "direct"))
			return kx_direct();
		if (!strcmp(argv[1], "crash"))
			return kx_crash();
		if (!strcmp(argv[1], "libumfs"))
			return kx_libumfs();
		if (!strcmp(argv[1], "tidy"))
			return kx_tidy();
		if (!strcmp(argv[1], "selfcheck"))
			return kx_selfcheck();
	}
	fprintf(stderr, "usage: kmod-exchange create-direct|direct|create-crash|crash|"
		"create-libumfs|libumfs|tidy DEV | selfcheck POOLFILE\n");
	return 2;
}
