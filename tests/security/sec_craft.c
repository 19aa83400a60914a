/* SPDX-License-Identifier: MIT */
/*
 * sec_craft.c - the crafted-pool test's pool work (crafted.sh drives it).
 *
 *   sec_craft populate POOL     the files of craft_pool.h, /d of 300 files
 *                               (hashed), and "ulog" left open for writing
 *                               by a process that ends without closing it
 *   sec_craft craft POOL SEED [KIND]
 *                               one change to POOL, chosen from SEED, with
 *                               the checksums that cover it resealed (so the
 *                               change stands as written); prints
 *                               KIND <TAB> STRICT <TAB> FSCK_MUST <TAB> WHAT
 *   sec_craft scan FILE MARKER  how often MARKER occurs in FILE (exit 1 if
 *                               at all): process memory copied into a pool
 *   sec_craft info POOL         the inodes and table entries found
 *
 * What the kinds change and which values they aim at: craft_targets.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "craft.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "sec_craft: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

#define TRY(expr)                                  \
	do {                                       \
		long err_ = (long)(expr);          \
		if (err_ < 0)                      \
			die(#expr, (int)err_);     \
	} while (0)

/* ------------------------------------------------------------------ */
/* populate                                                             */
/* ------------------------------------------------------------------ */

static void fill(uint8_t *buf, unsigned fid, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = cp_byte(fid, off + i);
}

static void file_make(struct umfs_fs *fs, const char *path, unsigned fid, uint64_t size,
		      const struct cp_range *w, unsigned nw)
{
	static uint8_t buf[1 << 20];
	struct umfs_file *f;

	TRY(umfs_open(fs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f));
	for (unsigned r = 0; r < nw && w[r].len; r++)
		for (uint64_t done = 0; done < w[r].len;) {
			size_t n = UMFS_MIN(sizeof(buf), w[r].len - done);

			fill(buf, fid, w[r].off + done, n);
			TRY(umfs_pwrite(f, buf, n, (off_t)(w[r].off + done)));
			done += n;
		}
	TRY(umfs_ftruncate(f, (off_t)size));
	TRY(umfs_close(f));
}

/* A process that ends with "ulog" open for writing after a write: the
 * file keeps its U-Log page, the pool is left for recovery. */
static void ulog_leave_open(const char *pool)
{
	const struct cp_file *cf = &cp_files[CP_ULOG_FILE];
	struct umfs_fs *fs;
	struct umfs_file *f;
	uint8_t buf[64];
	char path[64];
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		snprintf(path, sizeof(path), "/%s", cf->path);
		if (umfs_mount(pool, 0, &fs) || umfs_open(fs, path, O_RDWR, 0, &f))
			_exit(3);
		fill(buf, cf->fid, 0, sizeof(buf));
		_exit(umfs_pwrite(f, buf, sizeof(buf), 0) == sizeof(buf) ? 0 : 4);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the process leaving ulog open", EIO);
}

static int populate(const char *pool)
{
	struct umfs_fs *fs;
	char path[64];

	TRY(umfs_mount(pool, 0, &fs));
	for (unsigned i = 0; i < CP_NFILES; i++) {
		snprintf(path, sizeof(path), "/%s", cp_files[i].path);
		file_make(fs, path, cp_files[i].fid, cp_files[i].size, cp_files[i].w, 2);
	}
	TRY(umfs_mkdir(fs, "/d", 0755));
	for (unsigned i = 0; i < CP_DIR_FILES; i++) {
		struct cp_range w = { 0, CP_DIR_FILE_SIZE };

		snprintf(path, sizeof(path), "/d/n%03u", i);
		file_make(fs, path, cp_dir_fid(i), CP_DIR_FILE_SIZE, &w, 1);
	}
	TRY(umfs_unmount(fs));
	ulog_leave_open(pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The pool copy                                                        */
/* ------------------------------------------------------------------ */

static unsigned short rng[3];

uint64_t cr_rnd(void)
{
	return (uint64_t)jrand48(rng) << 32 ^ (uint32_t)jrand48(rng);
}

void cr_say(struct craft *c, const char *fmt, ...)
{
	size_t n = strlen(c->what);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->what + n, sizeof(c->what) - n, fmt, ap);
	va_end(ap);
}

struct umfs_inode *cr_inode(struct craft *c, uint64_t ino)
{
	return (struct umfs_inode *)(c->base + c->inode_off + ino * sizeof(struct umfs_inode));
}

void cr_inode_seal(struct umfs_inode *in)
{
	in->csum = umfs_inode_id_csum(in);
}

bool cr_page_used(struct craft *c, uint64_t off)
{
	uint64_t pg = (off - c->data_off) >> UMFS_PAGE_SHIFT;
	const uint64_t *bm = (const uint64_t *)(c->base + c->pbitmap_off);

	return off >= c->data_off && pg < c->data_pages && (bm[pg / 64] >> (pg % 64) & 1);
}

void cr_state_dirty(struct craft *c)
{
	((struct umfs_state *)(c->base + c->state_off))->state = UMFS_STATE_DIRTY;
}

static uint64_t pte_off(const struct craft *c, uint64_t e)
{
	return (e & UMFS_PTE_ADDR_MASK) - c->phys_base;
}

/* The pool offset of file page pg of a sound tree (0: a hole). */
uint64_t cr_lookup(struct craft *c, uint64_t ino, uint64_t pg)
{
	const struct umfs_inode *in = cr_inode(c, ino);
	uint64_t t = in->pt_root;

	if (in->pt_height == UMFS_PT_INLINE)
		return pg < UMFS_PT_INLINE_ENTRIES && in->pt_inline[pg] ?
			       pte_off(c, in->pt_inline[pg]) : 0;
	if (!t || pg >= umfs_pt_cover(in->pt_height))
		return 0;
	for (unsigned level = in->pt_height; level >= 1; level--) {
		unsigned shift = umfs_pt_level_shift(level);
		uint64_t e = ((const uint64_t *)(c->base + t))[(pg >> shift) & 511];

		if (!e)
			return 0;
		if (level == 2 && (e & UMFS_PTE_PSE))
			return pte_off(c, e) + ((pg & 511) << UMFS_PAGE_SHIFT);
		t = pte_off(c, e);
	}
	return t;
}

/* The entries of the table at pool offset table (n of them: an inline
 * table is no page of its own, and is not listed as a table). */
static void tree_walk(struct craft *c, struct cr_file *f, uint64_t table, unsigned level,
		      unsigned n)
{
	const uint64_t *t = (const uint64_t *)(c->base + table);

	if (n == UMFS_PT_ENTRIES && f->ntables < UMFS_ARRAY_SIZE(f->tables))
		f->tables[f->ntables++] = table;
	for (unsigned i = 0; i < n; i++) {
		if (!t[i])
			continue;
		if (f->ne < CR_MAX_ENTRIES)
			f->e[f->ne++] = (struct cr_entry){ table + i * 8, t[i], level };
		if (level == 1 || (level == 2 && (t[i] & UMFS_PTE_PSE))) {
			if (f->ndata < CR_MAX_ENTRIES)
				f->data[f->ndata++] = pte_off(c, t[i]);
		} else {
			tree_walk(c, f, pte_off(c, t[i]), level - 1, UMFS_PT_ENTRIES);
		}
	}
}

static void file_load(struct craft *c, struct cr_file *f, uint64_t ino)
{
	const struct umfs_inode *in = cr_inode(c, ino);

	f->ino = ino;
	if (in->pt_height == UMFS_PT_INLINE)
		tree_walk(c, f, (uint64_t)((const uint8_t *)in->pt_inline - c->base), 1,
			  UMFS_PT_INLINE_ENTRIES);
	else if (in->pt_root && in->pt_height)
		tree_walk(c, f, in->pt_root, in->pt_height, UMFS_PT_ENTRIES);
	else if (in->pt_root)
		f->data[f->ndata++] = in->pt_root;
}

static uint64_t ino_of(struct umfs_fs *fs, const char *path)
{
	struct stat st;

	TRY(umfs_stat(fs, path, &st, 0));
	return st.st_ino;
}

static void craft_load(struct craft *c, const char *pool)
{
	static uint64_t inos[CR_NFILES], kids[CP_DIR_FILES];
	struct umfs_fs *fs;
	struct stat st;
	char path[64];
	int fd;

	TRY(umfs_mount(pool, UMFS_MOUNT_RDONLY | UMFS_MOUNT_NORECOVER, &fs));
	for (unsigned i = 0; i < CP_NFILES; i++) {
		snprintf(path, sizeof(path), "/%s", cp_files[i].path);
		inos[i] = ino_of(fs, path);
	}
	inos[CR_DIR] = ino_of(fs, "/d");
	for (unsigned i = 0; i < CP_DIR_FILES; i++) {
		snprintf(path, sizeof(path), "/d/n%03u", i);
		kids[i] = ino_of(fs, path);
	}
	TRY(umfs_unmount(fs));

	fd = open(pool, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(pool, errno);
	c->len = (uint64_t)st.st_size;
	c->base = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c->base == MAP_FAILED)
		die("mmap", errno);
	close(fd);
	c->sb = (struct umfs_superblock *)c->base;
	c->pool = c->sb->pool_size;
	c->data_off = c->sb->data_off;
	c->data_pages = c->sb->data_pages;
	c->inode_off = c->sb->inode_off;
	c->inode_count = c->sb->inode_count;
	c->state_off = c->sb->state_off;
	c->journal_off = c->sb->journal_off;
	c->ibitmap_off = c->sb->ibitmap_off;
	c->pbitmap_off = c->sb->pbitmap_off;
	c->phys_base = c->sb->phys_base;
	c->slot_size = c->sb->journal_slot_size;
	for (unsigned i = 0; i < CR_NFILES; i++)
		file_load(c, &c->f[i], inos[i]);
	memcpy(c->dir_child, kids, sizeof(kids));
}

/* A fresh UUID, so that no trial meets the runtime directory of another. */
static void superblock_reuuid(struct craft *c)
{
	struct umfs_superblock *sb = c->sb;

	for (int i = 0; i < 16; i++)
		sb->uuid[i] = (uint8_t)cr_rnd();
	sb->uuid[6] = (sb->uuid[6] & 0x0f) | 0x40;
	sb->uuid[8] = (sb->uuid[8] & 0x3f) | 0x80;
	sb->csum = umfs_sb_csum(sb);
	memcpy(c->base + sb->backup_sb_off, sb, sizeof(*sb));
}

static int craft(const char *pool, uint64_t seed, const char *kind_name)
{
	static struct craft c;
	enum cr_kind kind = (enum cr_kind)(seed % K_KINDS);

	for (unsigned k = 0; kind_name && k < K_KINDS; k++)
		if (!strcmp(kind_name, cr_kind_name[k]))
			kind = (enum cr_kind)k;

	rng[0] = (unsigned short)seed;
	rng[1] = (unsigned short)(seed >> 16);
	rng[2] = (unsigned short)(seed >> 32);
	craft_load(&c, pool);
	superblock_reuuid(&c);
	cr_target(&c, kind);
	if (msync(c.base, c.len, MS_SYNC) < 0)
		die("msync", errno);
	printf("%s\t%d\t%d\t%s\n", cr_kind_name[kind], c.strict, c.fsck_must, c.what);
	return 0;
}

static int info(const char *pool)
{
	static struct craft c;

	craft_load(&c, pool);
	printf("pool %" PRIu64 " data_off 0x%" PRIx64 " pages %" PRIu64 " inodes %" PRIu64
	       " phys_base 0x%" PRIx64 "\n", c.pool, c.data_off, c.data_pages, c.inode_count,
	       c.phys_base);
	for (unsigned i = 0; i < CR_NFILES; i++) {
		const struct cr_file *f = &c.f[i];
		const struct umfs_inode *in = cr_inode(&c, f->ino);

		printf("%s ino %" PRIu64 " size %" PRIu64 " height %u root 0x%" PRIx64
		       " ulog 0x%" PRIx64 ": %u entries, %u tables, %u data\n",
		       i == CR_DIR ? "d" : cp_files[i].path, f->ino, in->size, in->pt_height,
		       in->pt_root, in->ulog, f->ne, f->ntables, f->ndata);
		for (unsigned k = 0; k < f->ne && k < 12; k++)
			printf("  L%u @0x%" PRIx64 " = 0x%" PRIx64 "\n", f->e[k].level, f->e[k].at,
			       f->e[k].val);
	}
	return 0;
}

/* Read in chunks that overlap by the marker's length: holes cost nothing. */
static int scan(const char *file, const char *marker)
{
	static uint8_t buf[(1 << 20) + 64];
	size_t mlen = strlen(marker), have = 0;
	unsigned hits = 0;
	ssize_t n;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || mlen == 0 || mlen > 64)
		die(file, fd < 0 ? errno : EINVAL);
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		const uint8_t *at, *from = buf;

		have += (size_t)n;
		while ((at = memmem(from, (size_t)(buf + have - from), marker, mlen))) {
			hits++;
			from = at + 1;
		}
		if (have >= mlen) { /* keep a tail that may start a marker */
			memmove(buf, buf + have - (mlen - 1), mlen - 1);
			have = mlen - 1;
		}
	}
	close(fd);
	printf("%u\n", hits);
	return hits ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "populate"))
		return populate(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "craft"))
		return craft(argv[2], strtoull(argv[3], NULL, 0), argc == 5 ? argv[4] : NULL);
	if (argc == 4 && !strcmp(argv[1], "scan"))
		return scan(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return info(argv[2]);
	fprintf(stderr, "usage: sec_craft populate POOL | craft POOL SEED [KIND] | scan FILE MARKER | "
			"info POOL\n");
	return 2;
}
