/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_steps.c - targeted tests: one specific corruption per check
 * step, the message and exit code each mode gives, and the repaired result
 * (checked again by a full fsck -n and, where it matters, through the API).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsck_testlib.h"

struct fixture {
	char path[256];
	struct ft_map m;
	bool mapped;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *what = "format";
	int err;

	ft_pool_path(f->path, sizeof(f->path), "steps");
	err = ft_pool_format(f->path, FT_POOL_SIZE, 0);
	if (!err)
		err = ft_pool_populate(f->path, &what);
	if (err) {
		fprintf(stderr, "pool: %s: %s\n", what, strerror(-err));
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mapped)
		ft_map_close(&f->m);
	unlink(f->path);
	free(f);
	return 0;
}

/* Maps the pool for corruption; unmapped by fsck_expect(). */
static struct ft_map *map(struct fixture *f)
{
	if (!f->mapped)
		assert_int_equal(ft_map_open(f->path, &f->m), 0);
	f->mapped = true;
	return &f->m;
}

static void unmap(struct fixture *f)
{
	if (f->mapped)
		ft_map_close(&f->m);
	f->mapped = false;
}

/* Runs fsck and checks its exit code and that its output holds want. */
static char *fsck_expect(struct fixture *f, enum fsck_mode mode, bool force, int code,
			 const char *want)
{
	struct fsck_summary sum;
	char *text = NULL;
	int got;

	unmap(f);
	got = ft_fsck(f->path, mode, force, &text, &sum);
	if (got != code || (want && !strstr(text, want))) {
		fprintf(stderr, "fsck %s%s: exit %d (want %d), looking for \"%s\" in:\n%s",
			mode == FSCK_MODE_CHECK ? "-n" : "-y", force ? " -f" : "", got, code,
			want ? want : "", text);
		fail();
	}
	return text;
}

/* The standard sequence: -n reports (exiting n_code) and changes nothing,
 * -y repairs, a second full -n is clean. Returns the text of -n. */
static char *check_sequence(struct fixture *f, int n_code, const char *n_msg, const char *y_msg)
{
	struct ft_map m;
	uint8_t *before;
	char *text;
	size_t len;

	unmap(f);
	assert_int_equal(ft_map_open(f->path, &m), 0);
	len = m.pm.len;
	before = malloc(len);
	memcpy(before, m.base, len);
	ft_map_close(&m);

	text = fsck_expect(f, FSCK_MODE_CHECK, true, n_code, n_msg);
	assert_int_equal(ft_map_open(f->path, &m), 0);
	assert_memory_equal(m.base, before, len); /* -n wrote nothing */
	ft_map_close(&m);
	free(before);

	free(fsck_expect(f, FSCK_MODE_REPAIR, true, FSCK_EXIT_CORRECTED, y_msg));
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_OK, ": clean\n"));
	return text;
}

static bool has_line(const char *text, const char *label)
{
	size_t len = strlen(label);

	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, label, len))
			return true;
	return false;
}

/* Damage: -n exits 4 and reports it as damage. */
static void check_repair(struct fixture *f, const char *n_msg, const char *y_msg)
{
	char *text = check_sequence(f, FSCK_EXIT_UNCORRECTED, n_msg, y_msg);

	assert_true(has_line(text, "damage: "));
	free(text);
}

/* Crash state only: -n exits 0, with n_msg on a "recoverable" line and no
 * damage line; -y recovers it (exit 1). */
static void check_recover(struct fixture *f, const char *n_msg, const char *y_msg)
{
	char *text = check_sequence(f, FSCK_EXIT_OK, n_msg, y_msg), *line = strstr(text, n_msg);

	while (line > text && line[-1] != '\n')
		line--;
	if (strncmp(line, "recoverable: ", 13) || has_line(text, "damage: ") ||
	    !strstr(text, "no damage: crash state only")) {
		fprintf(stderr, "not crash state only:\n%s", text);
		fail();
	}
	free(text);
}

/* Writes the pool's bytes to a new file beside it; returns its path. */
static char *pool_copy(struct fixture *f)
{
	struct ft_map m;
	char *path = malloc(sizeof(f->path) + 8);
	FILE *out;

	unmap(f);
	snprintf(path, sizeof(f->path) + 8, "%s.copy", f->path);
	assert_int_equal(ft_map_open(f->path, &m), 0);
	out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(m.base, 1, m.pm.len, out), m.pm.len);
	fclose(out);
	ft_map_close(&m);
	return path;
}

/* What fsck -n calls crash state is what the mount recovers: a copy of the
 * pool mounted through the API recovers and comes out clean. */
static struct umfs_recover_stats mount_recovers(struct fixture *f)
{
	char *copy = pool_copy(f);
	struct umfs_recover_stats st;
	struct fsck_summary sum;
	struct umfs_fs *fs;

	assert_int_equal(umfs_mount(copy, 0, &fs), 0);
	st = fs->recovery;
	assert_int_equal(umfs_unmount(fs), 0);
	assert_int_equal(ft_fsck(copy, FSCK_MODE_CHECK, true, NULL, &sum), FSCK_EXIT_OK);
	assert_int_equal(sum.recoverable + sum.crash[FSCK_CRASH_DIRTY], 0);
	unlink(copy);
	free(copy);
	return st;
}

static uint64_t ino_of(struct fixture *f, const char *path)
{
	uint64_t ino;

	unmap(f);
	ino = ft_ino_of(f->path, path);
	assert_true(ino > 0);
	return ino;
}

static int api_stat(struct fixture *f, const char *path, struct stat *st)
{
	struct umfs_fs *fs;
	int err;

	unmap(f);
	assert_int_equal(umfs_mount(f->path, UMFS_MOUNT_RDONLY, &fs), 0);
	err = umfs_stat(fs, path, st, AT_SYMLINK_NOFOLLOW);
	umfs_unmount(fs);
	return err;
}

/* Entry `name` in the first block of a small (unindexed) directory. */
static struct umfs_dentry *find_dentry(struct ft_map *m, uint64_t dir, const char *name,
				       struct umfs_dirblock_hdr **hp, unsigned *slot)
{
	struct umfs_dirblock_hdr *h =
		(struct umfs_dirblock_hdr *)(m->base + ft_page_off(m, ft_inode(m, dir), 0));

	for (unsigned s = 1; s < UMFS_DIR_SLOTS_PER_BLOCK; s++) {
		struct umfs_dentry *e = (struct umfs_dentry *)((uint8_t *)h + s * UMFS_DIR_SLOT_SIZE);

		if (!((h->used[s / 64] >> (s % 64)) & 1))
			continue;
		if (e->name_len == strlen(name) && !memcmp(e->name, name, e->name_len)) {
			*hp = h;
			*slot = s;
			return e;
		}
	}
	fail_msg("no entry %s in directory %llu", name, (unsigned long long)dir);
	return NULL;
}

/* Removes an entry by hand, without touching its target. */
static void drop_dentry(struct ft_map *m, uint64_t dir, const char *name)
{
	struct umfs_dirblock_hdr *h;
	unsigned s, n;
	struct umfs_dentry *e = find_dentry(m, dir, name, &h, &s);

	n = e->nslots;
	for (unsigned i = s; i < s + n; i++)
		h->used[i / 64] &= ~(1ull << (i % 64));
	memset(e, 0, n * UMFS_DIR_SLOT_SIZE);
	h->nfree = (uint16_t)(h->nfree + n);
	ft_inode(m, dir)->dir.nentries--;
}

/* Adds an entry by hand in a free slot of the first block. */
static void add_dentry(struct ft_map *m, uint64_t dir, const char *name, uint64_t ino,
		       unsigned char type)
{
	struct umfs_dirblock_hdr *h =
		(struct umfs_dirblock_hdr *)(m->base + ft_page_off(m, ft_inode(m, dir), 0));
	size_t len = strlen(name);
	unsigned n = (unsigned)UMFS_DIRENT_SLOTS(len), s;

	for (s = 1; s + n <= UMFS_DIR_SLOTS_PER_BLOCK; s++) {
		unsigned i;

		for (i = s; i < s + n && !((h->used[i / 64] >> (i % 64)) & 1); i++)
			;
		if (i == s + n)
			break;
	}
	assert_true(s + n <= UMFS_DIR_SLOTS_PER_BLOCK);
	struct umfs_dentry *e = (struct umfs_dentry *)((uint8_t *)h + s * UMFS_DIR_SLOT_SIZE);
	e->ino = ino;
	e->hash = umfs_name_hash(name, len);
	e->name_len = (uint8_t)len;
	e->type = type;
	e->nslots = (uint8_t)n;
	e->check = umfs_dentry_check(ino);
	memcpy(e->name, name, len);
	for (unsigned i = s; i < s + n; i++)
		h->used[i / 64] |= 1ull << (i % 64);
	h->nfree = (uint16_t)(h->nfree - n);
	ft_inode(m, dir)->dir.nentries++;
}

/* ------------------------------------------------------------------ */
/* The pool as made                                                     */
/* ------------------------------------------------------------------ */

static void populated_pool_is_clean(void **state)
{
	struct fixture *f = *state;
	struct ft_map m;
	uint8_t *before;
	size_t len;

	free(fsck_expect(f, FSCK_MODE_CHECK, false, FSCK_EXIT_OK, "(quick check of a clean pool)"));
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_OK, ": clean\n"));
	assert_int_equal(ft_map_open(f->path, &m), 0);
	/* the populating mount's clean exit kept its free counts: fsck agrees */
	assert_true(umfs_state_counts_ok(&m.sb, ft_state(&m), umfs_state_counts_of(ft_state(&m))));
	len = m.pm.len;
	before = malloc(len);
	memcpy(before, m.base, len);
	ft_map_close(&m);
	/* A repair run over a clean pool changes nothing. */
	free(fsck_expect(f, FSCK_MODE_REPAIR, true, FSCK_EXIT_OK, ": clean"));
	assert_int_equal(ft_map_open(f->path, &m), 0);
	assert_memory_equal(m.base, before, len);
	ft_map_close(&m);
	free(before);
}

/* A clean pool gets the quick check: damage past the quick steps waits for -f. */
static void clean_pool_quick_unless_forced(void **state)
{
	struct fixture *f = *state;

	ft_inode(map(f), ino_of(f, "/dir1/f2"))->nlink = 9;
	free(fsck_expect(f, FSCK_MODE_CHECK, false, FSCK_EXIT_OK, NULL));
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_UNCORRECTED, "link count 9, should be 3"));
	/* A pool marked dirty is always checked fully. */
	ft_state(map(f))->state = UMFS_STATE_DIRTY;
	free(fsck_expect(f, FSCK_MODE_CHECK, false, FSCK_EXIT_UNCORRECTED, "link count 9"));
}

/* ------------------------------------------------------------------ */
/* Steps 1-3: superblock, state page, journal                           */
/* ------------------------------------------------------------------ */

static void primary_superblock_restored_from_backup(void **state)
{
	struct fixture *f = *state;
	struct ft_map *m = map(f);

	memset(m->base + 8, 0xab, 64);
	check_repair(f, "primary superblock: superblock checksum mismatch (and an unknown version): would be restored from the backup",
		     "restored from the backup");
	m = map(f);
	assert_memory_equal(m->base, m->base + m->sb.backup_sb_off, sizeof(struct umfs_superblock));
}

static void both_superblocks_bad(void **state)
{
	struct fixture *f = *state;
	struct ft_map *m = map(f);

	m->base[0] ^= 1;
	m->base[m->sb.backup_sb_off] ^= 1;
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_UNCORRECTED, "no valid superblock"));
	free(fsck_expect(f, FSCK_MODE_REPAIR, true, FSCK_EXIT_UNCORRECTED, "no valid superblock"));
}

static void backup_superblock_rewritten(void **state)
{
	struct fixture *f = *state;
	struct ft_map *m = map(f);

	m->base[m->sb.backup_sb_off + 100] ^= 0x40;
	check_repair(f, "backup superblock at 0x7ff000: superblock checksum mismatch: would be rewritten",
		     "rewritten from the primary");
}

static void state_page_reinitialised(void **state)
{
	struct fixture *f = *state;

	ft_state(map(f))->magic = 0x1234;
	check_repair(f, "state page: bad magic 0x0000000000001234: would be reinitialised",
		     "reinitialised");
	assert_int_equal(ft_state(map(f))->state, UMFS_STATE_CLEAN);
}

/* Kept free counts that claim to hold but are not the bitmaps' are
 * dropped: a mount would take them unchecked. */
static void kept_counts_that_lie_dropped(void **state)
{
	struct fixture *f = *state;
	struct umfs_state *st = ft_state(map(f));
	struct umfs_state_counts *k = umfs_state_counts_of(st);

	assert_true(umfs_state_counts_ok(&f->m.sb, st, k));
	k->free_pages += 3;
	k->check = umfs_state_counts_check(&f->m.sb, st, k);
	check_repair(f, "state page: kept free counts (", "dropped (the next mount counts)");
	st = ft_state(map(f));
	assert_false(umfs_state_counts_ok(&f->m.sb, st, umfs_state_counts_of(st)));
}

static void interrupted_transaction_rolled_back(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f3");
	struct umfs_fs *fs;
	struct umfs_inode *in;

	/* A transaction that changes an inode and never commits. */
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	in = umfs_inode(fs, ino);
	umfs_meta_lock(fs);
	assert_int_equal(umfs_tx_begin(fs), 0);
	assert_int_equal(umfs_tx_add(fs, in, sizeof(*in)), 0);
	in->nlink = 77;
	in->uid = 4242;
	umfs_persist(in, sizeof(*in));
	umfs_meta_unlock(fs);
	umfs_unmount(fs); /* the transaction is still active: no clean mark */

	assert_int_equal(mount_recovers(f).journal_rolled_back, 1);
	check_recover(f, "journal slot 0: transaction", "was interrupted: rolled back");
	assert_int_equal(ft_inode(map(f), ino)->nlink, 1);
	assert_int_equal(ft_inode(map(f), ino)->uid, (uint32_t)geteuid());
}

/* The chain of a file left open by a dead process: -n reports it, the
 * next mount releases it, and the inode has no U-Log after. */
static void assert_open_chain_released(struct fixture *f, uint64_t ino)
{
	assert_int_equal(mount_recovers(f).ulogs_freed, 1);
	check_recover(f, "U-Log: 1 chain(s) of files open at a crash: would be released by the next mount",
		      "chain(s) of files open at a crash: released");
	assert_int_equal(ft_inode(map(f), ino)->ulog, 0);
	unmap(f);
}

static void ulog_of_open_file_released(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f7");
	struct umfs_fs *fs;
	struct umfs_file *file;
	char buf[100];

	/* An overwrite gives the open file a U-Log; the process then dies
	 * with the file open (the mount is leaked, not unmounted). */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/dir1/f7", O_RDWR, 0, &file), 0);
	assert_int_equal(umfs_pwrite(file, buf, sizeof(buf), 10), (ssize_t)sizeof(buf));
	assert_true(umfs_inode(fs, ino)->ulog != 0);
	umfs_persist(fs->base, fs->pm.len);

	assert_open_chain_released(f, ino);
	(void)file; /* the dead process's mount is never unmounted */
}

/* A whole-page overwrite gives the chain a spare page and leaves its PAGE
 * record: released with the chain, which the spare goes with. */
static void spare_of_open_file_released(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/big");
	struct umfs_fs *fs;
	struct umfs_file *file;
	static char buf[4096];

	memset(buf, 'p', sizeof(buf));
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/big", O_RDWR, 0, &file), 0);
	assert_int_equal(umfs_pwrite(file, buf, sizeof(buf), 8192), (ssize_t)sizeof(buf));
	assert_true(umfs_inode(fs, ino)->ulog != 0);
	assert_true(((struct umfs_ulog *)umfs_off_ptr(fs, umfs_inode(fs, ino)->ulog))->spare != 0);
	umfs_persist(fs->base, fs->pm.len);

	assert_open_chain_released(f, ino);
	(void)file;
}

/* A spare that names a page of the file is damage. Releasing the chain
 * frees what the spare names (nothing but the leaves could tell the page
 * is the file's): fsck finds the page in use and marked free, and the real
 * spare used by nothing, and repairs both. */
static void spare_in_use_repaired(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/big");
	struct umfs_fs *fs;
	struct umfs_file *file;
	struct umfs_ulog *u;
	static char buf[4096];
	uint64_t page;

	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/big", O_RDWR, 0, &file), 0);
	assert_int_equal(umfs_pwrite(file, buf, sizeof(buf), 8192), (ssize_t)sizeof(buf));
	u = umfs_off_ptr(fs, umfs_inode(fs, ino)->ulog);
	assert_int_equal(umfs_pt_lookup(fs, umfs_inode(fs, ino), 0, &page, NULL), 0);
	u->spare = page;
	umfs_persist(fs->base, fs->pm.len);
	check_repair(f, "damage: page bitmap: page 0 in use, but marked free", "marked used");
	(void)file;
}

/* ------------------------------------------------------------------ */
/* Steps 4-5: inodes, page tables                                       */
/* ------------------------------------------------------------------ */

static void invalid_mode_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f5");
	struct umfs_inode *in = ft_inode(map(f), ino);
	struct stat st;

	in->mode = 0170644; /* no such file type */
	ft_inode_seal(in);
	check_repair(f, "invalid mode 0170644: would be cleared", "names a free or invalid inode: removed");
	assert_int_equal(api_stat(f, "/dir1/f5", &st), -ENOENT);
	assert_int_equal(ft_inode(map(f), ino)->mode, 0);
}

static void checksum_mismatch_resealed(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f6");
	struct umfs_inode *in = ft_inode(map(f), ino);

	in->gid = 31337; /* identity field changed outside a transaction */
	check_repair(f, "checksum", "resealed");
	assert_int_equal(ft_inode(map(f), ino)->csum, umfs_inode_csum(ft_inode(map(f), ino)));
}

static void pte_outside_data_zone_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/sparse");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);
	uint64_t *root;

	assert_int_equal(in->pt_height, 2);
	root = (uint64_t *)(m->base + in->pt_root);
	assert_true(root[0] != 0);
	root[7] = (m->sb.pool_size + (64ull << 20)) | UMFS_PTE_TABLE_FLAGS;
	check_repair(f, "page-table entry 7 at level 2 (file page 3584) points outside the data zone",
		     "outside the data zone (0x0000000004800067): cleared");
}

static void pte_bad_flags_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/sparse");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);
	uint64_t *root = (uint64_t *)(m->base + in->pt_root);
	uint64_t *l1 = (uint64_t *)(m->base + (root[0] & UMFS_PTE_ADDR_MASK));

	l1[0] |= 1ull << 8; /* global bit on a 4 KiB leaf */
	check_repair(f, "page-table entry 0 at level 1 (file page 0) has invalid flag bits", "cleared");
}

static void page_owned_twice(void **state)
{
	struct fixture *f = *state;
	uint64_t a = ino_of(f, "/dir1/f4"), b = ino_of(f, "/dir1/f7");
	struct ft_map *m = map(f);
	struct umfs_inode *ia = ft_inode(m, a), *ib = ft_inode(m, b);
	uint64_t *l1;

	/* f7 (three pages: an inline table) maps f4's first data page too. */
	assert_int_equal(ib->pt_height, UMFS_PT_INLINE);
	l1 = ib->pt_inline;
	l1[1] = (ft_page_off(m, ia, 0) + m->sb.phys_base) | UMFS_PTE_LEAF4K_FLAGS;
	check_repair(f, "already in use: would be cleared", "already in use: cleared");
}

/* An inline table's entries are checked as a table's: a bad one is
 * cleared and the blocks counter follows. */
static void inline_entry_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f7");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);

	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	in->pt_inline[2] |= 1ull << 8;
	in->pt_inline[16] = UMFS_PTE_LEAF4K_FLAGS | (m->sb.pool_size + m->sb.phys_base);
	check_repair(f, "page-table entry 16 at level 1 (file page 16) points outside the data zone",
		     "entry 2 at level 1 (file page 2) has invalid flag bits (0x");
	in = ft_inode(map(f), ino);
	assert_int_equal(in->pt_inline[2], 0);
	assert_int_equal(in->pt_inline[16], 0);
	assert_int_equal(in->blocks, 2);
}

/* An inline table has no root: one beside it is cleared (its page is
 * then a leak the bitmap step frees); on a directory it is no table. */
static void inline_root_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f7"), big = ino_of(f, "/big");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);

	in->pt_root = ft_inode(m, big)->pt_root;
	ft_inode_seal(in);
	check_repair(f, "beside an inline table", "beside an inline table: cleared");
	in = ft_inode(map(f), ino);
	assert_int_equal(in->pt_root, 0);
	assert_int_equal(in->pt_height, UMFS_PT_INLINE);
	assert_int_equal(in->blocks, 3);
}

/* A file of 4 levels: a page at 0 and pages at 600 GiB and 2 TiB (two
 * level-4 entries besides entry 0). Returns its inode. */
static uint64_t make_tall(struct fixture *f)
{
	static const uint64_t at[] = { 0, 600ull << 30, 2048ull << 30 };
	struct umfs_file *file;
	struct umfs_fs *fs;
	char buf[100];

	unmap(f);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/tall", O_CREAT | O_RDWR, 0644, &file), 0);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		assert_int_equal(umfs_pwrite(file, buf, sizeof(buf), (off_t)at[i]), sizeof(buf));
	assert_int_equal(umfs_close(file), 0);
	assert_int_equal(umfs_unmount(fs), 0);
	return ino_of(f, "/tall");
}

/* Level-4 entries are checked as any table's: one with bad flags, one
 * outside the data zone, are cleared and the blocks counter follows. */
static void level4_entry_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = make_tall(f), blocks;
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);
	uint64_t *root = (uint64_t *)(m->base + in->pt_root);

	assert_int_equal(in->pt_height, 4);
	assert_true(root[0] && root[1] && root[4] && !root[2]);
	blocks = in->blocks;
	root[1] |= UMFS_PTE_PSE; /* no 1 GiB or 512 GiB leaves */
	root[2] = (m->sb.pool_size + (64ull << 20)) | UMFS_PTE_TABLE_FLAGS;
	check_repair(f, "page-table entry 2 at level 4 (file page 268435456) points outside the data zone",
		     "entry 1 at level 4 (file page 134217728) has invalid flag bits (0x");
	in = ft_inode(map(f), ino);
	root = (uint64_t *)(f->m.base + in->pt_root);
	assert_int_equal(root[1], 0);
	assert_int_equal(root[2], 0);
	assert_true(root[4] != 0);
	assert_true(in->blocks < blocks); /* the tables and leaf under entry 1 went */
}

/* A height-4 tree on a pool without INCOMPAT_LEVEL4 is refused: the
 * tree is dropped and its pages are leaks the bitmap step frees. */
static void level4_without_feature_dropped(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = make_tall(f);
	struct ft_map *m = map(f);

	assert_int_equal(ft_inode(m, ino)->pt_height, 4);
	m->sb.feature_incompat &= ~UMFS_FEATURE_INCOMPAT_LEVEL4;
	m->sb.csum = umfs_sb_csum(&m->sb);
	memcpy(m->base, &m->sb, sizeof(m->sb));
	memcpy(m->base + m->sb.backup_sb_off, &m->sb, sizeof(m->sb));
	check_repair(f, "page-table height 4 is above 3: tree", "page-table height 4 is above 3: tree: dropped");
	m = map(f);
	assert_int_equal(ft_inode(m, ino)->pt_height, 0);
	assert_int_equal(ft_inode(m, ino)->pt_root, 0);
}

static void table_loop_cleared(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/sparse");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, ino);
	uint64_t *root = (uint64_t *)(m->base + in->pt_root);

	/* An entry of the root table pointing back at the root. */
	root[100] = (in->pt_root + m->sb.phys_base) | UMFS_PTE_TABLE_FLAGS;
	check_repair(f, "page-table entry 100 at level 2", "already in use: cleared");
}

static void blocks_counter_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/big");

	ft_inode(map(f), ino)->blocks += 5;
	check_repair(f, "blocks counter", "pages: fixed");
}

/* ------------------------------------------------------------------ */
/* Step 6: directories                                                  */
/* ------------------------------------------------------------------ */

static void dangling_entry_removed(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f3");
	struct ft_map *m = map(f);
	struct stat st;

	/* Free the inode behind the name's back. */
	memset(ft_inode(m, ino), 0, sizeof(struct umfs_inode));
	ft_ibitmap(m)[ino / 64] &= ~(1ull << (ino % 64));
	check_repair(f, "entry \"f3\"", "names a free or invalid inode: removed");
	assert_int_equal(api_stat(f, "/dir1/f3", &st), -ENOENT);
	assert_int_equal(api_stat(f, "/dir1/f4", &st), 0);
}

static void duplicate_name_removed(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1"), ino = ino_of(f, "/dir1/f1");

	add_dentry(map(f), dir, "f2", ino, DT_REG);
	check_repair(f, "entry \"f2\"", "duplicate name: removed");
}

static void directory_hard_link_removed(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1"), sub = ino_of(f, "/dir1/sub");

	add_dentry(map(f), dir, "again", sub, DT_DIR);
	check_repair(f, "entry \"again\"", "second name of a directory (hard link or loop): removed");
}

/* A directory named twice keeps the name its ".." agrees with, even when
 * the other name is met first (the root is scanned before /dir1). */
static void parent_pointer_decides_which_name_stays(void **state)
{
	struct fixture *f = *state;
	uint64_t sub = ino_of(f, "/dir1/sub");
	struct stat st;

	add_dentry(map(f), UMFS_ROOT_INO, "bogus", sub, DT_DIR);
	check_repair(f, "entry \"bogus\"", "its \"..\" names its other parent): removed");
	assert_int_equal(api_stat(f, "/dir1/sub/deep/file", &st), 0);
	assert_int_equal(api_stat(f, "/bogus", &st), -ENOENT);
}

static void wrong_entry_type_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1");
	struct umfs_dirblock_hdr *h;
	unsigned s;

	find_dentry(map(f), dir, "f8", &h, &s)->type = DT_DIR;
	check_repair(f, "entry \"f8\": type 4, but inode", "is a regular file: fixed");
}

static void bad_hash_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1");
	struct umfs_dirblock_hdr *h;
	unsigned s;

	find_dentry(map(f), dir, "f0", &h, &s)->hash ^= 0x100;
	check_repair(f, "entry \"f0\": hash", "fixed");
}

static void damaged_index_rebuilt(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/split");
	struct ft_map *m = map(f);
	struct umfs_inode *in = ft_inode(m, dir);
	struct umfs_bucket *b;
	struct stat st;
	char name[32];

	assert_true(in->dir.nbuckets >= 2);
	b = (struct umfs_bucket *)(m->base + ft_page_off(m, in, UMFS_DIR_BUCKET_PAGE0));
	b->ent[3] ^= 1; /* a reference to the wrong slot */
	check_repair(f, "directory", "rebuilt");
	/* Every name is still there, found through the rebuilt index. */
	for (int i = 0; i < 600; i += 37) {
		snprintf(name, sizeof(name), "/split/n%d", i);
		assert_int_equal(api_stat(f, name, &st), 0);
	}
	assert_int_equal(st.st_nlink, 601);
}

/* Maps file page pg of inode ino (software mode, as libumfs alone would)
 * and fills it with src, or with junk when src is NULL. */
static void spare_map(struct umfs_fs *fs, uint64_t ino, uint64_t pg, const void *src,
		      uint64_t *seed)
{
	uint64_t off, *p;

	assert_int_equal(umfs_pt_map(fs, umfs_inode(fs, ino), pg, 0, &off), 1);
	p = umfs_off_ptr(fs, off);
	if (src)
		memcpy(p, src, UMFS_PAGE_SIZE);
	else
		for (unsigned i = 0; i < UMFS_PAGE_SIZE / 8; i++)
			p[i] = (*seed = *seed * 6364136223846793005ull + 1442695040888963407ull);
	assert_int_equal(umfs_tx_dirty(fs, p, UMFS_PAGE_SIZE), 0);
}

/* Pages mapped past what a directory's info counts are spares
 * (umfs_format.h): module mode's aborted or crashed changes leave them,
 * holding whatever that change wrote. fsck counts them and changes
 * nothing, even when one looks like a good entry block; libumfs zeroes a
 * spare when it starts using it. A page past the layout is still damage. */
static void directory_spares_kept(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/split"), small = ino_of(f, "/dir1/sub/deep"), seed = 11;
	const struct umfs_inode *in;
	struct umfs_fs *fs;
	struct stat st;
	char name[32];
	char *text;

	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	in = umfs_inode(fs, dir);
	assert_true(in->dir.nbuckets >= 2 && in->dir.gdepth < 10);
	umfs_meta_lock(fs);
	assert_int_equal(umfs_tx_begin(fs), 0);
	/* the next block: a copy of block 0, entries and all */
	spare_map(fs, dir, in->dir.nblocks, umfs_off_ptr(fs, umfs_pt_offset(fs, in, 0, NULL)),
		  &seed);
	spare_map(fs, dir, in->dir.nblocks + 5, NULL, &seed);
	spare_map(fs, dir, UMFS_DIR_BUCKET_PAGE0 + in->dir.nbuckets, NULL, &seed);
	spare_map(fs, dir, UMFS_DIR_MAP_PAGE0 + 3, NULL, &seed); /* the map holds one page */
	spare_map(fs, small, UMFS_DIR_BUCKET_PAGE0, NULL, &seed); /* unindexed */
	assert_int_equal(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
	umfs_unmount(fs);

	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_OK, "5 spare directory page(s)"));
	text = fsck_expect(f, FSCK_MODE_REPAIR, true, FSCK_EXIT_OK, ": clean");
	assert_null(strstr(text, "lost+found"));
	free(text);

	/* 700 more names (links: the pool has few inodes) take the spares
	 * over, zeroed first */
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	for (int i = 600; i < 1300; i++) {
		snprintf(name, sizeof(name), "/split/n%d", i);
		assert_int_equal(umfs_link(fs, "/split/target", name), 0);
	}
	umfs_unmount(fs);
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_OK, ": clean"));
	for (int i = 0; i < 1300; i += 97) {
		snprintf(name, sizeof(name), "/split/n%d", i);
		assert_int_equal(api_stat(f, name, &st), 0);
	}

	/* past the map region is outside any layout */
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	umfs_meta_lock(fs);
	assert_int_equal(umfs_tx_begin(fs), 0);
	spare_map(fs, dir, UMFS_DIR_MAP_PAGE0 + UMFS_DIR_MAP_PAGES, NULL, &seed);
	assert_int_equal(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
	umfs_unmount(fs);
	check_repair(f, "outside its layout", "released");
}

static void bad_block_header_reinitialised(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1");
	struct ft_map *m = map(f);
	struct umfs_dirblock_hdr *h =
		(struct umfs_dirblock_hdr *)(m->base + ft_page_off(m, ft_inode(m, dir), 0));

	h->magic = 0xdeadbeef;
	/* Its entries are lost: their inodes go to lost+found. */
	check_repair(f, "entry block 0: bad header (magic 0xdeadbeef)", "reconnected to /lost+found");
}

/* ------------------------------------------------------------------ */
/* Steps 7-8: connectivity, link counts                                 */
/* ------------------------------------------------------------------ */

static void unreachable_file_in_lost_found(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1"), ino = ino_of(f, "/dir1/f4");
	struct stat st;
	char name[64];

	drop_dentry(map(f), dir, "f4");
	check_repair(f, "is not reachable from the root: would be reconnected", "/lost+found is missing");
	snprintf(name, sizeof(name), "/lost+found/#%llu", (unsigned long long)ino);
	assert_int_equal(api_stat(f, name, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_size, 4 * 1500);
	assert_int_equal(api_stat(f, "/lost+found", &st), 0);
	assert_int_equal(st.st_nlink, 2);
}

static void unreachable_subtree_reconnected(void **state)
{
	struct fixture *f = *state;
	uint64_t dir = ino_of(f, "/dir1"), sub = ino_of(f, "/dir1/sub");
	struct stat st;
	char name[64];

	drop_dentry(map(f), dir, "sub");
	check_repair(f, "(directory", "reconnected to /lost+found");
	snprintf(name, sizeof(name), "/lost+found/#%llu/deep/file", (unsigned long long)sub);
	assert_int_equal(api_stat(f, name, &st), 0);
	assert_int_equal(st.st_size, 5000);
	assert_int_equal(api_stat(f, "/dir1", &st), 0);
	assert_int_equal(st.st_nlink, 2); /* sub is gone from it */
	assert_int_equal(api_stat(f, "/lost+found", &st), 0);
	assert_int_equal(st.st_nlink, 3);
}

static void orphan_freed(void **state)
{
	struct fixture *f = *state;
	struct umfs_fs *fs;
	struct umfs_file *file;
	uint64_t ino = ino_of(f, "/dir1/f8");

	/* Unlinked while open, and the process never closes it. */
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/dir1/f8", O_RDONLY, 0, &file), 0);
	assert_int_equal(umfs_unlink(fs, "/dir1/f8"), 0);
	assert_int_equal(ft_state(&(struct ft_map){ .base = fs->base, .sb = fs->sb })->orphan_head, ino);
	umfs_unmount(fs);

	assert_int_equal(mount_recovers(f).orphans_reclaimed, 1);
	check_recover(f, "unlinked while open, never closed: would be freed by the next mount",
		      "never closed: freed");
	assert_int_equal(ft_inode(map(f), ino)->mode, 0);
	assert_int_equal(ft_state(map(f))->orphan_head, 0);
}

/* Leaves /dir1/f8 an orphan of a process that died with it open. */
static uint64_t make_orphan(struct fixture *f)
{
	uint64_t ino = ino_of(f, "/dir1/f8");
	struct umfs_file *file;
	struct umfs_fs *fs;

	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/dir1/f8", O_RDONLY, 0, &file), 0);
	assert_int_equal(umfs_unlink(fs, "/dir1/f8"), 0);
	umfs_unmount(fs); /* the file stays open: an orphan */
	return ino;
}

/* Crash state and damage together: exit 4, each on lines of its kind. */
static void crash_state_with_damage(void **state)
{
	struct fixture *f = *state;
	uint64_t linked = ino_of(f, "/dir1/f2"), orphan = make_orphan(f);
	char *text;

	ft_inode(map(f), linked)->nlink = 1;
	text = check_sequence(f, FSCK_EXIT_UNCORRECTED, "damage: inode", "fixed");
	assert_true(has_line(text, "recoverable: inode"));
	assert_non_null(strstr(text, "link count 1, should be 3: would be fixed"));
	assert_non_null(strstr(text, ": recoverable: 1 orphan inode(s)"));
	assert_non_null(strstr(text, "1 problem(s) of damage found"));
	assert_null(strstr(text, "no damage"));
	free(text);
	assert_int_equal(ft_inode(map(f), orphan)->mode, 0);
}

/* An inode flagged orphan but off the list: no mount ever reclaims it. */
static void orphan_off_the_list_is_damage(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = make_orphan(f);

	assert_int_equal(ft_state(map(f))->orphan_head, ino);
	ft_state(map(f))->orphan_head = 0;
	check_repair(f, "damage: inode", "never closed");
	assert_int_equal(ft_inode(map(f), ino)->mode, 0);
}

/* Crash state in a pool marked clean (and no orphan, no active journal
 * slot): the mount does not recover, so it is damage. */
static void ulog_in_clean_pool_is_damage(void **state)
{
	struct fixture *f = *state;
	struct umfs_file *file;
	struct umfs_fs *fs;
	char buf[100] = { 0 };

	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_open(fs, "/dir1/f7", O_RDWR, 0, &file), 0);
	assert_int_equal(umfs_pwrite(file, buf, sizeof(buf), 10), (ssize_t)sizeof(buf));
	umfs_persist(fs->base, fs->pm.len);
	ft_state(map(f))->state = UMFS_STATE_CLEAN;
	check_repair(f, "damage: U-Log: 1 chain(s) of files open at a crash (in a pool marked clean",
		     "released");
	(void)file;
}

/* A truncate cut short after its size store: the pages past the size (and
 * the blocks counter that still counts them) are crash state. */
static uint64_t cut_truncate(struct fixture *f, uint64_t size)
{
	uint64_t ino = ino_of(f, "/big");
	struct umfs_inode *in = ft_inode(map(f), ino);

	in->flags |= UMFS_IF_TRUNC;
	in->size = size;
	ft_state(map(f))->state = UMFS_STATE_DIRTY;
	return ino;
}

static void interrupted_truncate_finished(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	cut_truncate(f, 4096);
	assert_int_equal(mount_recovers(f).truncs_finished, 1);
	check_recover(f, "truncate was interrupted", "truncate was interrupted");
	assert_int_equal(api_stat(f, "/big", &st), 0);
	assert_int_equal(st.st_size, 4096);
}

/* The same on an inode whose checksum fails: the mount refuses it. */
static void interrupted_truncate_of_damaged_inode(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = cut_truncate(f, 4096);

	ft_inode(map(f), ino)->csum ^= 1;
	check_repair(f, "damage: inode", "truncate was interrupted");
}

static void link_count_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f2"), dir = ino_of(f, "/dir1");
	struct stat st;

	ft_inode(map(f), ino)->nlink = 1;
	ft_inode(map(f), dir)->nlink = 7;
	check_repair(f, "link count 1, should be 3", "link count 7, should be 3: fixed");
	assert_int_equal(api_stat(f, "/hard2", &st), 0);
	assert_int_equal(st.st_nlink, 3);
}

static void parent_pointer_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t sub = ino_of(f, "/dir1/sub");

	ft_inode(map(f), sub)->dir.parent = UMFS_ROOT_INO;
	check_repair(f, "parent (\"..\") is 1, but it is named in", "fixed");
}

/* ------------------------------------------------------------------ */
/* Step 9: bitmaps                                                      */
/* ------------------------------------------------------------------ */

static void leaked_page_freed(void **state)
{
	struct fixture *f = *state;
	struct ft_map *m = map(f);
	uint64_t *pbm = ft_pbitmap(m), page = m->sb.data_pages - 1;
	char found[128], fixed[128];

	while ((pbm[page / 64] >> (page % 64)) & 1) /* the highest free page */
		assert_true(page-- > 0);
	pbm[page / 64] |= 1ull << (page % 64);
	snprintf(found, sizeof(found),
		 "page bitmap: page %" PRIu64 " marked in use, but nothing uses it: would be freed", page);
	snprintf(fixed, sizeof(fixed), "page %" PRIu64 " marked in use, but nothing uses it: freed", page);
	check_repair(f, found, fixed);
}

static void used_page_marked_free(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f1");
	struct ft_map *m = map(f);
	uint64_t page = (ft_page_off(m, ft_inode(m, ino), 0) - m->sb.data_off) >> UMFS_PAGE_SHIFT;
	char want[128];

	ft_pbitmap(m)[page / 64] &= ~(1ull << (page % 64));
	snprintf(want, sizeof(want), "page bitmap: page %llu in use, but marked free: marked used",
		 (unsigned long long)page);
	check_repair(f, "in use, but marked free: would be marked used", want);
}

static void inode_bitmap_fixed(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f1");
	struct ft_map *m = map(f);

	ft_ibitmap(m)[ino / 64] &= ~(1ull << (ino % 64));
	ft_ibitmap(m)[500 / 64] |= 1ull << (500 % 64);
	check_repair(f, "inode bitmap: inode 500 marked in use, but nothing uses it", "marked used");
}

/* ------------------------------------------------------------------ */
/* Quick steps: bitmap checksums, damage on record                      */
/* ------------------------------------------------------------------ */

/* Every checksum of the page bitmap matches its page. */
static void sums_match(struct fixture *f)
{
	struct ft_map *m = map(f);
	const uint64_t *sums = (const uint64_t *)(m->base + m->sb.bsum_off);
	uint64_t words = umfs_pbitmap_words(m->sb.data_pages);

	assert_true(m->sb.feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS);
	for (uint64_t i = 0; i < umfs_bsum_count(m->sb.data_pages); i++)
		assert_true(umfs_bsum_of(ft_pbitmap(m), words, i) == sums[i]);
}

/* A quick check of a clean pool, and its verdict. */
static void quick_expect(struct fixture *f, enum fsck_mode mode, int code, const char *want)
{
	char *text = fsck_expect(f, mode, false, code, want);

	if (code != FSCK_EXIT_OK && strstr(text, "(quick check of a clean pool)")) {
		fprintf(stderr, "a quick check only:\n%s", text);
		fail();
	}
	free(text);
}

/* A zeroed word of the page bitmap in a pool marked clean: the quick pass
 * finds it by its checksum, checks fully, and -y rebuilds word and sum. */
static void zeroed_bitmap_word_found_by_quick_pass(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f1");
	struct ft_map *m = map(f);
	uint64_t page = (ft_page_off(m, ft_inode(m, ino), 0) - m->sb.data_off) >> UMFS_PAGE_SHIFT;
	uint64_t word = ft_pbitmap(m)[page / 64];

	assert_int_equal(ft_state(m)->state, UMFS_STATE_CLEAN);
	sums_match(f);
	ft_pbitmap(m)[page / 64] = 0;
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED,
		     "fails its checksum: would be rebuilt from the page tables");
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED,
		     "in use, but marked free: would be marked used");
	quick_expect(f, FSCK_MODE_REPAIR, FSCK_EXIT_CORRECTED, "fails its checksum: rebuilt");
	assert_int_equal(ft_pbitmap(map(f))[page / 64], word);
	sums_match(f);
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_OK, ": clean\n");
	free(fsck_expect(f, FSCK_MODE_CHECK, true, FSCK_EXIT_OK, ": clean\n"));
}

/* A checksum damaged alone: found the same way, rewritten. */
static void damaged_bitmap_sum_rewritten(void **state)
{
	struct fixture *f = *state;
	struct ft_map *m = map(f);

	((uint64_t *)(m->base + m->sb.bsum_off))[0] ^= 1ull << 40;
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED, "its page 0 (data pages 0-");
	quick_expect(f, FSCK_MODE_REPAIR, FSCK_EXIT_CORRECTED, "fails its checksum: rebuilt");
	sums_match(f);
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_OK, ": clean\n");
}

/* Damage on record in the state page makes the quick pass full, and says
 * why; a repair clears the record. */
static void errors_word_forces_full_check(void **state)
{
	struct fixture *f = *state;

	ft_state(map(f))->errors = UMFS_ERRORS_INODE | UMFS_ERRORS_PBITMAP;
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED,
		     "state page: damage was refused while serving since the last repair (an "
		     "inode or its page tables, the page bitmap): checking fully: would be cleared");
	assert_int_not_equal(ft_state(map(f))->errors, 0); /* -n wrote nothing */
	quick_expect(f, FSCK_MODE_PREEN, FSCK_EXIT_CORRECTED, "errors corrected");
	assert_int_equal(ft_state(map(f))->errors, 0);
	assert_int_equal(ft_state(map(f))->state, UMFS_STATE_CLEAN);
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_OK, ": clean\n");
}

/* End to end: a program meets a damaged inode, which the pool records;
 * after a clean unmount the quick pass checks fully, finds the inode, and
 * -y repairs it and clears the record. */
static void refused_damage_recorded_for_the_quick_pass(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/dir1/f1");
	struct umfs_fs *fs;
	struct stat st;

	ft_inode(map(f), ino)->uid ^= 0x40; /* the identity checksum fails */
	unmap(f);
	assert_int_equal(umfs_mount(f->path, 0, &fs), 0);
	assert_int_equal(umfs_stat(fs, "/dir1/f1", &st, 0), -EUCLEAN);
	assert_int_equal(fs->state->errors, UMFS_ERRORS_INODE);
	assert_int_equal(umfs_unmount(fs), 0);
	assert_int_equal(ft_state(map(f))->state, UMFS_STATE_CLEAN);
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED, "(an inode or its page tables)");
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_UNCORRECTED, "checksum");
	quick_expect(f, FSCK_MODE_REPAIR, FSCK_EXIT_CORRECTED, "cleared once the pool is repaired");
	assert_int_equal(ft_state(map(f))->errors, 0);
	quick_expect(f, FSCK_MODE_CHECK, FSCK_EXIT_OK, ": clean\n");
}

/* After a repair, the state page says clean again. */
static void repaired_pool_marked_clean(void **state)
{
	struct fixture *f = *state;
	uint64_t ino = ino_of(f, "/big");

	ft_inode(map(f), ino)->nlink = 5;
	ft_state(map(f))->state = UMFS_STATE_DIRTY;
	check_repair(f, "link count 5", "fixed");
	assert_int_equal(ft_state(map(f))->state, UMFS_STATE_CLEAN);
	assert_true(ft_state(map(f))->last_check_ns != 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(populated_pool_is_clean),
		T(clean_pool_quick_unless_forced),
		T(primary_superblock_restored_from_backup),
		T(both_superblocks_bad),
		T(backup_superblock_rewritten),
		T(state_page_reinitialised),
		T(kept_counts_that_lie_dropped),
		T(interrupted_transaction_rolled_back),
		T(ulog_of_open_file_released),
		T(spare_of_open_file_released),
		T(spare_in_use_repaired),
		T(invalid_mode_cleared),
		T(checksum_mismatch_resealed),
		T(pte_outside_data_zone_cleared),
		T(pte_bad_flags_cleared),
		T(page_owned_twice),
		T(table_loop_cleared),
		T(inline_entry_cleared),
		T(inline_root_cleared),
		T(level4_entry_cleared),
		T(level4_without_feature_dropped),
		T(blocks_counter_fixed),
		T(dangling_entry_removed),
		T(duplicate_name_removed),
		T(directory_hard_link_removed),
		T(parent_pointer_decides_which_name_stays),
		T(wrong_entry_type_fixed),
		T(bad_hash_fixed),
		T(damaged_index_rebuilt),
	T(directory_spares_kept),
		T(bad_block_header_reinitialised),
		T(unreachable_file_in_lost_found),
		T(unreachable_subtree_reconnected),
		T(orphan_freed),
		T(crash_state_with_damage),
		T(orphan_off_the_list_is_damage),
		T(ulog_in_clean_pool_is_damage),
		T(interrupted_truncate_finished),
		T(interrupted_truncate_of_damaged_inode),
		T(link_count_fixed),
		T(parent_pointer_fixed),
		T(leaked_page_freed),
		T(used_page_marked_free),
		T(inode_bitmap_fixed),
		T(repaired_pool_marked_clean),
		T(zeroed_bitmap_word_found_by_quick_pass),
		T(damaged_bitmap_sum_rewritten),
		T(errors_word_forces_full_check),
		T(refused_damage_recorded_for_the_quick_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
