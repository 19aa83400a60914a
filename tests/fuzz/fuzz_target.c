/* SPDX-License-Identifier: MIT */
/* fuzz_target.c - see fuzz_target.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsck_testlib.h"
#include "fuzz_target.h"

int fsck_fuzz_verbose;

static struct {
	bool ready;
	int memfd;         /* the populated pool */
	uint8_t *work;     /* where each run happens: a private map of memfd */
	size_t len;
	struct umfs_superblock sb;
	uint64_t *meta;    /* table pages, then directory pages */
	size_t nmeta, ntables;
	uint64_t *live;    /* inodes in use */
	size_t nlive;
	struct name {      /* the entries of the template's directories */
		uint64_t block; /* pool offset of the entry block */
		unsigned slot, nslots;
		uint64_t ino;
	} *names;
	size_t nnames;
	uint64_t *blocks;  /* entry blocks */
	size_t nblocks;
} T;

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz template: %s: %s\n", what, strerror(-err));
	abort();
}

/* Records the entry blocks and the entries of the template's directories. */
static void template_names(struct ft_map *m)
{
	T.blocks = malloc(T.nmeta * sizeof(*T.blocks));
	T.names = malloc(T.nmeta * UMFS_DIR_SLOTS_PER_BLOCK * sizeof(*T.names));
	if (!T.blocks || !T.names)
		die("memory", -ENOMEM);
	for (size_t i = T.ntables; i < T.nmeta; i++) {
		const struct umfs_dirblock_hdr *h = (const void *)(m->base + T.meta[i]);

		if (h->magic != UMFS_DIRBLOCK_MAGIC)
			continue; /* a bucket or map page */
		T.blocks[T.nblocks++] = T.meta[i];
		for (unsigned s = 1; s < UMFS_DIR_SLOTS_PER_BLOCK;) {
			const struct umfs_dentry *e = (const void *)((const uint8_t *)h + s * UMFS_DIR_SLOT_SIZE);

			if (!((h->used[s / 64] >> (s % 64)) & 1) || !e->nslots) {
				s++;
				continue;
			}
			T.names[T.nnames++] = (struct name){ .block = T.meta[i], .slot = s,
							     .nslots = e->nslots, .ino = e->ino };
			s += e->nslots;
		}
	}
}

static void template_make(void)
{
	struct ft_map m;
	const char *what;
	char path[256];
	int err;

	ft_pool_path(path, sizeof(path), "fuzz-template");
	err = ft_pool_format(path, FT_POOL_SIZE, 0);
	if (!err)
		err = ft_pool_populate(path, &what);
	else
		what = "format";
	if (err)
		die(what, err);
	err = ft_map_open(path, &m);
	if (err)
		die("map", err);
	T.len = m.pm.len;
	T.sb = m.sb;
	T.memfd = memfd_create("umfs-fuzz-template", MFD_CLOEXEC);
	if (T.memfd < 0)
		die("memfd", -errno);
	if (write(T.memfd, m.base, T.len) != (ssize_t)T.len)
		die("memfd", -EIO);
	T.meta = ft_meta_pages(&m, &T.nmeta, &T.ntables);
	T.live = malloc(m.sb.inode_count * sizeof(*T.live));
	for (uint64_t ino = 1; ino < m.sb.inode_count; ino++)
		if (ft_inode(&m, ino)->mode)
			T.live[T.nlive++] = ino;
	template_names(&m);
	ft_map_close(&m);
	unlink(path);
	T.ready = true;
}

/* ------------------------------------------------------------------ */
/* Patches                                                              */
/* ------------------------------------------------------------------ */

static uint64_t page_off(uint64_t idx)
{
	return T.sb.data_off + ((idx % T.sb.data_pages) << UMFS_PAGE_SHIFT);
}

static void put(uint8_t *base, uint64_t off, const uint8_t *p, size_t n)
{
	if (off >= T.len)
		return;
	if (n > T.len - off)
		n = T.len - off;
	memcpy(base + off, p, n);
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

struct jcursor {
	size_t at;
	uint64_t seq;
};

/* A checksummed journal record in slot 0: [u32 target][payload]. */
static void journal_record(uint8_t *base, struct jcursor *jc, uint32_t off, const uint8_t *d,
			   size_t n)
{
	struct umfs_jslot_hdr *h = (struct umfs_jslot_hdr *)(base + T.sb.journal_off);
	uint64_t jend = T.sb.journal_off + (uint64_t)T.sb.journal_slots * T.sb.journal_slot_size;
	struct umfs_jrec r;
	uint32_t target;
	size_t plen;

	if (n < 4)
		return;
	memcpy(&target, d, 4);
	plen = n - 4;
	if (jc->seq == 0) {
		jc->seq = h->next_seq + 7;
		jc->at = sizeof(*h);
	}
	if (jc->at + sizeof(r) + plen > T.sb.journal_slot_size)
		return;
	r.seq = jc->seq;
	/* Mostly ranges the core accepts; with off's top bit, anything. */
	r.off = (off & 0x800000) ? target % T.len : jend + target % (T.len - jend - plen);
	r.len = (uint32_t)plen;
	r.csum = umfs_crc32c(umfs_crc32c(0, &r, offsetof(struct umfs_jrec, csum)), d + 4, plen);
	memcpy(base + T.sb.journal_off + jc->at, &r, sizeof(r));
	memcpy(base + T.sb.journal_off + jc->at + sizeof(r), d + 4, plen);
	jc->at += UMFS_ALIGN_UP(sizeof(r) + plen, 8);
	h->active_seq = jc->seq;
}

/* A page-table entry with a valid flag set pointing at a chosen page. */
static void pte_write(uint8_t *base, uint32_t off, const uint8_t *d, size_t n)
{
	uint64_t e, page, *slot;

	if (T.ntables == 0 || n < 4)
		return;
	page = le24(d + 1) % T.sb.data_pages;
	switch (d[0] % 4) {
	case 0:
		e = (T.sb.phys_base + page_off(page)) | UMFS_PTE_TABLE_FLAGS;
		break;
	case 1:
		e = (T.sb.phys_base + page_off(page)) | UMFS_PTE_LEAF4K_FLAGS;
		break;
	case 2:
		page &= ~(uint64_t)(UMFS_PAGES_PER_HUGE - 1);
		e = (T.sb.phys_base + page_off(page)) | UMFS_PTE_LEAF2M_FLAGS;
		break;
	default:
		e = 0;
		memcpy(&e, d + 1, n - 1 < 8 ? n - 1 : 8);
		break;
	}
	slot = (uint64_t *)(base + T.meta[(off >> 9) % T.ntables]) + (off & 511);
	*slot = e;
}

/* An inode's root or U-Log pointing at a chosen page, resealed. */
static void inode_root(uint8_t *base, uint32_t off, const uint8_t *d, size_t n)
{
	struct umfs_inode *in;

	if (T.nlive == 0 || n < 5)
		return;
	in = (struct umfs_inode *)(base + T.sb.inode_off) + T.live[off % T.nlive];
	if (d[0] & 1) {
		in->ulog = page_off(le24(d + 1));
	} else {
		in->pt_root = page_off(le24(d + 1));
		in->pt_height = d[4] % 4;
	}
	umfs_inode_seal(in);
}

/*
 * Maps a fresh copy-on-write view of the template as T.work: only the
 * pages a run touches are copied, which is much cheaper than copying the
 * whole pool for each of the runs of an input.
 */
static void work_map(void)
{
	if (T.work)
		munmap(T.work, T.len);
	T.work = mmap(NULL, T.len, PROT_READ | PROT_WRITE, MAP_PRIVATE, T.memfd, 0);
	if (T.work == MAP_FAILED)
		die("mmap", -ENOMEM);
}

/* A well-formed entry in an entry block, naming a chosen live inode:
 * data = [slot][inode pick][name...]. */
static void dentry_write(uint8_t *base, uint32_t off, const uint8_t *d, size_t n)
{
	struct umfs_dirblock_hdr *h;
	struct umfs_dentry *e;
	unsigned slot, len, slots;
	uint64_t ino;

	if (T.nblocks == 0 || T.nlive == 0 || n < 3)
		return;
	h = (struct umfs_dirblock_hdr *)(base + T.blocks[off % T.nblocks]);
	len = (unsigned)(n - 2);
	slots = (unsigned)UMFS_DIRENT_SLOTS(len);
	slot = 1 + d[0] % (UMFS_DIR_SLOTS_PER_BLOCK - slots);
	ino = T.live[d[1] % T.nlive];
	e = (struct umfs_dentry *)((uint8_t *)h + slot * UMFS_DIR_SLOT_SIZE);
	memset(e, 0, slots * UMFS_DIR_SLOT_SIZE);
	e->ino = ino;
	e->name_len = (uint8_t)len;
	e->nslots = (uint8_t)slots;
	e->type = umfs_mode_to_dtype(((struct umfs_inode *)(base + T.sb.inode_off))[ino].mode);
	if (T.sb.feature_ro_compat & UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK)
		e->check = umfs_dentry_check(ino);
	memcpy(e->name, d + 2, len);
	e->hash = umfs_name_hash(e->name, len);
	for (unsigned i = slot; i < slot + slots; i++)
		h->used[i / 64] |= 1ull << (i % 64);
}

/* Puts the inode of a template entry on the orphan list with no links;
 * with data[0] odd, its entry goes too (an orphan for real). */
static void orphan_make(uint8_t *base, uint32_t off, const uint8_t *d, size_t n)
{
	struct umfs_state *st = (struct umfs_state *)(base + T.sb.state_off);
	const struct name *nm;
	struct umfs_inode *in;

	if (T.nnames == 0 || n < 1)
		return;
	nm = &T.names[off % T.nnames];
	if (nm->ino == 0 || nm->ino >= T.sb.inode_count)
		return;
	in = (struct umfs_inode *)(base + T.sb.inode_off) + nm->ino;
	in->nlink = 0;
	in->flags |= UMFS_IF_ORPHAN;
	in->next_orphan = st->orphan_head;
	st->orphan_head = nm->ino;
	if (d[0] & 1) {
		struct umfs_dirblock_hdr *h = (struct umfs_dirblock_hdr *)(base + nm->block);

		memset((uint8_t *)h + nm->slot * UMFS_DIR_SLOT_SIZE, 0, nm->nslots * UMFS_DIR_SLOT_SIZE);
		for (unsigned i = nm->slot; i < nm->slot + nm->nslots; i++)
			h->used[i / 64] &= ~(1ull << (i % 64));
		h->nfree = (uint16_t)(h->nfree + nm->nslots);
	}
}

static void apply(uint8_t *base, const uint8_t *data, size_t size)
{
	uint64_t inode_zone = T.sb.inode_count * sizeof(struct umfs_inode);
	uint8_t flags = size ? data[0] : 0;
	struct jcursor jc = { 0 };
	uint64_t touched[64];
	size_t ntouched = 0, i = 1;

	while (i + 5 <= size) {
		unsigned kind = data[i] % FZK_COUNT;
		uint32_t off = le24(data + i + 1);
		size_t n = (size_t)data[i + 4] % 32 + 1;
		const uint8_t *d = data + i + 5;
		uint64_t at;

		if (n > size - i - 5)
			n = size - i - 5;
		i += 5 + n;
		switch (kind) {
		case FZK_SB:
			put(base, off % UMFS_PAGE_SIZE, d, n);
			break;
		case FZK_STATE_JOURNAL:
			put(base, T.sb.state_off + off % (T.sb.inode_off - T.sb.state_off), d, n);
			break;
		case FZK_INODES:
		case FZK_LIVE_INODE:
			if (kind == FZK_INODES || T.nlive == 0)
				at = off % inode_zone;
			else
				at = T.live[(off >> 8) % T.nlive] * sizeof(struct umfs_inode) + (off & 255);
			put(base, T.sb.inode_off + at, d, n);
			if (ntouched < UMFS_ARRAY_SIZE(touched))
				touched[ntouched++] = at / sizeof(struct umfs_inode);
			break;
		case FZK_BITMAPS:
			put(base, T.sb.ibitmap_off + off % (T.sb.data_off - T.sb.ibitmap_off), d, n);
			break;
		case FZK_TABLE_PAGE:
			if (T.ntables)
				put(base, T.meta[(off >> 12) % T.ntables] + off % UMFS_PAGE_SIZE, d, n);
			break;
		case FZK_DIR_PAGE:
			if (T.nmeta > T.ntables)
				put(base, T.meta[T.ntables + (off >> 12) % (T.nmeta - T.ntables)] +
						  off % UMFS_PAGE_SIZE,
				    d, n);
			break;
		case FZK_ANYWHERE:
			put(base, off % T.len, d, n);
			break;
		case FZK_BACKUP_SB:
			put(base, T.sb.backup_sb_off + off % UMFS_PAGE_SIZE, d, n);
			break;
		case FZK_JOURNAL_REC:
			journal_record(base, &jc, off, d, n);
			break;
		case FZK_PTE:
			pte_write(base, off, d, n);
			break;
		case FZK_INODE_ROOT:
			inode_root(base, off, d, n);
			break;
		case FZK_DENTRY:
			dentry_write(base, off, d, n);
			break;
		case FZK_ORPHAN:
			orphan_make(base, off, d, n);
			break;
		}
	}
	if (flags & FZ_RESEAL)
		for (size_t k = 0; k < ntouched; k++)
			umfs_inode_seal((struct umfs_inode *)(base + T.sb.inode_off) + touched[k]);
	if (flags & FZ_SB_RESUM) {
		struct umfs_superblock *sb = (struct umfs_superblock *)base;

		sb->csum = umfs_sb_csum(sb);
		if (flags & FZ_SB_BACKUP)
			memcpy(base + T.sb.backup_sb_off, sb, sizeof(*sb));
	}
	if (flags & FZ_DIRTY)
		((struct umfs_state *)(base + T.sb.state_off))->state = UMFS_STATE_DIRTY;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                 */
/* ------------------------------------------------------------------ */

static int run(enum fsck_mode mode, bool force, const char *label, struct fsck_summary *out)
{
	struct umfs_pmem pm = { .base = T.work, .len = T.len, .media = UMFS_MEDIA_SHM, .fd = -1 };
	struct fsck_opts opts = { .mode = mode, .force = force, .name = label,
				  .out = fsck_fuzz_verbose ? stderr : NULL };
	struct fsck_summary sum;
	int code;

	if (fsck_fuzz_verbose)
		fprintf(stderr, "=== fsck %s%s\n", label, force ? " -f" : "");
	code = fsck_check(&pm, &opts, &sum);
	fsck_summary_print(&opts, &sum);
	if (out)
		*out = sum;
	return code;
}

static void violated(const char *what, int code)
{
	fprintf(stderr, "fsck fuzz: property violated: %s (exit %d)\n", what, code);
	abort();
}

/* The core must be able to mount and walk a pool fsck calls clean. */
static void core_walk(void)
{
	struct umfs_pmem pm = { .len = T.len, .media = UMFS_MEDIA_SHM, .fd = -1 };
	struct umfs_fs *fs;
	unsigned visited = 0;
	int err, errors;

	pm.base = mmap(NULL, T.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pm.base == MAP_FAILED)
		return;
	memcpy(pm.base, T.work, T.len);
	err = umfs_fs_attach(&pm, 0, &fs); /* owns and unmaps the copy */
	if (err) {
		fprintf(stderr, "mount: %s (%s)\n", strerror(-err), umfs_mount_error());
		violated("the core cannot mount a pool fsck calls clean", err);
	}
	errors = ft_walk_tree(fs, "/", 0, &visited, 32);
	if (errors) {
		fprintf(stderr, "the core met %d errors walking the tree\n", errors);
		violated("the core cannot walk a pool fsck calls clean", errors);
	}
	err = umfs_mkdir(fs, "/fuzz-after", 0755);
	if (err && err != -ENOSPC && err != -EEXIST)
		violated("the core cannot create a directory in a pool fsck calls clean", err);
	umfs_unmount(fs);
}

/* The primary claims a newer format or unknown features, checksum intact. */
static bool sb_unsupported(const uint8_t *base, bool rdonly)
{
	struct umfs_superblock sb;
	const char *why;
	int err;

	memcpy(&sb, base, sizeof(sb));
	err = umfs_sb_check(&sb, T.len, rdonly, &why);
	return (err == -EPROTONOSUPPORT || err == -EROFS) && sb.csum == umfs_sb_csum(&sb);
}

int fsck_fuzz_one(const uint8_t *data, size_t size)
{
	uint8_t flags = size ? data[0] : 0;
	bool force = !(flags & FZ_NOFORCE);
	struct fsck_summary s1, s2, s3;
	int c1, c2, c3;

	if (!T.ready)
		template_make();

	work_map();
	apply(T.work, data, size);
	c1 = run(FSCK_MODE_CHECK, force, "-n", &s1);
	if (c1 == FSCK_EXIT_OPERATIONAL && sb_unsupported(T.work, false))
		return 0; /* a sound superblock of a newer format: left alone */
	if (c1 != FSCK_EXIT_OK && c1 != FSCK_EXIT_UNCORRECTED)
		violated("fsck -n must exit 0 or 4", c1);

	work_map();
	apply(T.work, data, size);
	c2 = run(FSCK_MODE_REPAIR, force, "-y", &s2);
	if (c2 == FSCK_EXIT_OPERATIONAL && sb_unsupported(T.work, false))
		return 0; /* features that allow read-only use only */
	if (c2 != FSCK_EXIT_OK && c2 != FSCK_EXIT_CORRECTED && c2 != FSCK_EXIT_UNCORRECTED)
		violated("fsck -y must exit 0, 1 or 4", c2);
	/* crash state alone: -n exits 0, -y recovers it and exits 1 */
	if (c1 == FSCK_EXIT_OK && c2 != FSCK_EXIT_OK && !s1.recoverable)
		violated("fsck -n found nothing, fsck -y did", c2);
	if (c1 == FSCK_EXIT_OK && s2.problems)
		violated("fsck -y found damage that fsck -n did not", c2);
	if (c2 == FSCK_EXIT_UNCORRECTED)
		return 0;

	/* A quick -y (clean pool, no -f) vouches for the quick steps only. */
	c3 = run(FSCK_MODE_CHECK, s2.full, "-n after -y", &s3);
	if (c3 != FSCK_EXIT_OK || s3.recoverable || s3.crash[FSCK_CRASH_DIRTY])
		violated("fsck -n after a successful fsck -y must find the pool clean", c3);
	if (s2.full && ((flags & FZ_CORE_WALK) || getenv("FSCK_FUZZ_CORE_WALK")))
		core_walk();
	return 0;
}
