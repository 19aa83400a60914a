/* SPDX-License-Identifier: MIT */
/*
 * test_verify.c - the serving path's checks (verify.c): every damage of an
 * inode that fsck.umfs's inode step reports makes the inode answer
 * EUCLEAN, for itself alone, through every call that reaches it (path
 * walk, open, stat, fstat, open by number); its siblings answer as before;
 * directory entries that name a free inode, an inode of another type, an
 * inode outside the zone, or that lost their name, are refused for that
 * name; each damage is logged once; and inodes changed legitimately by
 * another process, however often, are never taken for damaged.
 *
 * The reference is always the sound pool: what a call returned before the
 * damage, it returns again once the damage is undone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "testutil.h"

static struct test_pool tp;

static int teardown(void **state)
{
	(void)state;
	umfs_log_set(NULL, UMFS_LOG_WARN);
	test_pool_reset(&tp);
	return 0;
}

/* Lines the core logged (umfs_log_set). */
static char logged[16][512];
static unsigned nlogged;

static void log_capture(int level, const char *line)
{
	(void)level;
	if (nlogged < 16)
		snprintf(logged[nlogged], sizeof(logged[0]), "%s", line);
	nlogged++;
}

static void log_start(void)
{
	nlogged = 0;
	umfs_log_set(log_capture, UMFS_LOG_WARN);
}

static void put(struct umfs_fs *fs, const char *path, mode_t mode, const char *data)
{
	struct umfs_file *f;

	assert_int_equal(umfs_open(fs, path, O_CREAT | O_WRONLY | O_EXCL, mode, &f), 0);
	assert_int_equal(umfs_write(f, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(umfs_close(f), 0);
}

static uint64_t ino_of(struct umfs_fs *fs, const char *path)
{
	struct stat st;

	assert_int_equal(umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_ino;
}

/* A pool with /d holding files a, b, c, a symlink, a FIFO and a device. */
static struct umfs_fs *pool_populated(void)
{
	struct umfs_fs *fs;

	assert_int_equal(test_pool_make(&tp, "verify", 16ull << 20, 0), 0);
	fs = tp.fs;
	assert_int_equal(umfs_mkdir(fs, "/d", 0755), 0);
	put(fs, "/d/a", 0644, "alpha");
	put(fs, "/d/b", 04755, "bravo");
	put(fs, "/d/c", 0600, "charlie");
	assert_int_equal(umfs_symlink(fs, "a", "/d/l"), 0);
	assert_int_equal(umfs_mknod(fs, "/d/p", S_IFIFO | 0644, 0), 0);
	assert_int_equal(umfs_mknod(fs, "/d/dev", S_IFCHR | 0600, makedev(1, 3)), 0);
	return fs;
}

static bool stat_equal(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size && a->st_nlink == b->st_nlink;
}

/* The entry of name in directory dir (block 0 of a small directory). */
static struct umfs_dentry *dentry_of(struct umfs_fs *fs, uint64_t dir, const char *name)
{
	uint64_t off = umfs_pt_offset(fs, umfs_inode(fs, dir), 0, NULL);
	uint8_t *blk = umfs_off_ptr(fs, off);
	size_t len = strlen(name);

	assert_true(off != 0);
	for (unsigned s = 1; s < UMFS_DIR_SLOTS_PER_BLOCK; s++) {
		struct umfs_dentry *e = (void *)(blk + (size_t)s * UMFS_DIR_SLOT_SIZE);

		if (e->name_len == len && e->hash == umfs_name_hash(name, len) &&
		    !memcmp(e->name, name, len))
			return e;
	}
	fail_msg("no entry %s in inode %llu", name, (unsigned long long)dir);
	return NULL;
}

/* The names a listing of path gives, in order, until its end or an error
 * (returned); types in types (may be NULL). */
static int list(struct umfs_fs *fs, const char *path, char names[][16], unsigned char *types,
		unsigned *n)
{
	struct umfs_dir *d;
	struct umfs_dirent e;
	int r;

	*n = 0;
	assert_int_equal(umfs_opendir(fs, path, &d), 0);
	while ((r = umfs_readdir(d, &e)) > 0) {
		snprintf(names[*n], 16, "%.15s", e.name);
		if (types)
			types[*n] = e.type;
		++*n;
	}
	umfs_closedir(d);
	return r;
}

/* The type a listing of path gives name. */
static unsigned char listed_type(struct umfs_fs *fs, const char *path, const char *name)
{
	char names[16][16];
	unsigned char types[16];
	unsigned n;

	assert_int_equal(list(fs, path, names, types, &n), 0);
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return types[i];
	fail_msg("%s not listed in %s", name, path);
	return DT_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* The verifier, field by field                                         */
/* ------------------------------------------------------------------ */

static void test_sound_inodes_pass(void **state)
{
	static const char *const paths[] = { "/", "/d", "/d/a", "/d/b", "/d/l", "/d/p", "/d/dev" };
	struct umfs_fs *fs = pool_populated();
	uint64_t ino[UMFS_ARRAY_SIZE(paths)];

	(void)state;
	log_start();
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(paths); i++)
		ino[i] = ino_of(fs, paths[i]);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(paths); i++) {
		unsigned char type = umfs_mode_to_dtype(umfs_inode(fs, ino[i])->mode);
		uint64_t dir = S_ISDIR(umfs_inode(fs, ino[i])->mode) ?
				       umfs_inode(fs, ino[i])->dir.parent : UMFS_ROOT_INO;
		int by_number, by_entry;

		umfs_meta_lock(fs);
		by_number = umfs_inode_verify(fs, ino[i], true);
		by_entry = umfs_dentry_verify(fs, dir, "x", 1, ino[i], type);
		umfs_meta_unlock(fs);
		assert_int_equal(by_number, 0);
		assert_int_equal(by_entry, 0);
	}
	assert_int_equal(nlogged, 0);
}

/* One way of damaging an inode: applied to a copy of a sound one. reseal:
 * the checksum is made to match, so that the range checks alone must
 * catch it (an inode sealed with bad values). */
struct damage_case {
	const char *what;
	const char *path;
	bool reseal;
	void (*apply)(struct umfs_fs *fs, struct umfs_inode *in);
};

static void flip_mode_bit(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->mode ^= S_ISUID;
}
static void flip_uid(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->uid ^= 1;
}
static void flip_gid(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->gid ^= 0x100;
}
static void flip_generation(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->generation++;
}
static void flip_type(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->mode = (in->mode & ~(uint32_t)S_IFMT) | S_IFDIR;
}
static void unknown_type(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->mode = (in->mode & 07777) | 0030000;
}
static void mode_high_bits(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->mode |= 0x10000;
}
static void tall_tree(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_height = UMFS_PT_MAX_HEIGHT + 1;
}
static void root_outside(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_root = fs->data_off - 4096;
}
static void root_unaligned(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_root += 8;
}
static void height_without_root(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_root = 0;
	in->pt_height = 1;
}
static void inline_with_root(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_height = UMFS_PT_INLINE; /* the root stays: an inline table has none */
}
static void inline_on_dir(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->pt_root = 0;
	in->pt_height = UMFS_PT_INLINE;
}
static void ulog_outside(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->ulog = fs->data_off + fs->data_pages * UMFS_PAGE_SIZE;
}
static void rdev_on_file(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->rdev = makedev(8, 1);
}
static void size_huge(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->size = UMFS_MAX_FILE_SIZE + 1;
}
static void link_size_long(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->size = UMFS_SYMLINK_MAX + 1;
}
static void dir_size(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->size += 4096;
}
static void dir_blocks(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->dir.nblocks = 2;
}
static void dir_depth(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->dir.gdepth = 30;
}
static void dir_parent(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->dir.parent = fs->inode_count;
}
static void freed(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	in->mode = 0;
}

static const struct damage_case damage_cases[] = {
	{ .what = "a flipped setuid bit", .path = "/d/a", .reseal = false, .apply = flip_mode_bit },
	{ .what = "a flipped uid bit", .path = "/d/a", .reseal = false, .apply = flip_uid },
	{ .what = "a flipped gid bit", .path = "/d", .reseal = false, .apply = flip_gid },
	{ .what = "a new generation", .path = "/d/b", .reseal = false, .apply = flip_generation },
	{ .what = "a file turned directory", .path = "/d/a", .reseal = false, .apply = flip_type },
	{ .what = "an unknown type, sealed", .path = "/d/a",
	  .reseal = true, .apply = unknown_type },
	{ .what = "mode bits beyond 07777, sealed", .path = "/d/a",
	  .reseal = true, .apply = mode_high_bits },
	{ .what = "a tree 5 levels high, sealed", .path = "/d/a",
	  .reseal = true, .apply = tall_tree },
	{ .what = "a tree root before the data zone, sealed", .path = "/d/a",
	  .reseal = true, .apply = root_outside },
	{ .what = "a tree root inside a page, sealed", .path = "/d/a",
	  .reseal = true, .apply = root_unaligned },
	{ .what = "a height without a root, sealed", .path = "/d/p",
	  .reseal = true, .apply = height_without_root },
	{ .what = "an inline table beside a root, sealed", .path = "/d/a",
	  .reseal = true, .apply = inline_with_root },
	{ .what = "an inline table on a directory, sealed", .path = "/d",
	  .reseal = true, .apply = inline_on_dir },
	{ .what = "an inline table on a symlink, sealed", .path = "/d/l",
	  .reseal = true, .apply = inline_on_dir },
	{ .what = "a U-Log page past the data zone, sealed", .path = "/d/a",
	  .reseal = true, .apply = ulog_outside },
	{ .what = "a device number on a file, sealed", .path = "/d/a",
	  .reseal = true, .apply = rdev_on_file },
	{ .what = "a size beyond 256 TiB", .path = "/d/a", .reseal = false, .apply = size_huge },
	{ .what = "a symlink longer than 4095", .path = "/d/l",
	  .reseal = false, .apply = link_size_long },
	{ .what = "a directory size off its blocks", .path = "/d",
	  .reseal = false, .apply = dir_size },
	{ .what = "a second block without an index", .path = "/d",
	  .reseal = false, .apply = dir_blocks },
	{ .what = "a hash depth beyond 24", .path = "/d", .reseal = false, .apply = dir_depth },
	{ .what = "a parent outside the zone", .path = "/d", .reseal = false, .apply = dir_parent },
	{ .what = "a mode of 0 (free)", .path = "/d/c", .reseal = false, .apply = freed },
};

static void test_each_damage_refused(void **state)
{
	struct umfs_fs *fs = pool_populated();

	(void)state;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(damage_cases); i++) {
		const struct damage_case *dc = &damage_cases[i];
		uint64_t ino = ino_of(fs, dc->path);
		struct umfs_inode *in = umfs_inode(fs, ino), saved = *in;

		int damaged, undone;

		dc->apply(fs, in);
		if (dc->reseal)
			umfs_inode_seal(in);
		umfs_meta_lock(fs);
		damaged = umfs_inode_verify(fs, ino, true);
		*in = saved;
		undone = umfs_inode_verify(fs, ino, true);
		umfs_meta_unlock(fs);
		if (damaged != -EUCLEAN)
			fail_msg("%s on %s: not refused", dc->what, dc->path);
		if (undone != 0)
			fail_msg("%s on %s: still refused once undone", dc->what, dc->path);
	}
}

/* A pool without INCOMPAT_LEVEL4 refuses what one with it allows: a tree
 * of height 4 and a size past 512 GiB. */
static void test_level4_needs_feature(void **state)
{
	struct umfs_fs *fs = pool_populated();
	uint64_t ino = ino_of(fs, "/d/a");
	struct umfs_inode *in = umfs_inode(fs, ino), saved = *in;
	int tall, big, tall3, big3;

	(void)state;
	assert_int_equal(fs->geom.max_height, 4);
	umfs_meta_lock(fs);
	in->size = UMFS_MAX_FILE_SIZE_L3 + 1;
	big = umfs_inode_verify(fs, ino, true);
	in->pt_height = 4;
	umfs_inode_seal(in);
	tall = umfs_inode_verify(fs, ino, true);
	fs->geom.max_height = 3;
	tall3 = umfs_inode_verify(fs, ino, true);
	*in = saved;
	in->size = UMFS_MAX_FILE_SIZE_L3 + 1;
	big3 = umfs_inode_verify(fs, ino, true);
	*in = saved;
	fs->geom.max_height = 4;
	umfs_meta_unlock(fs);
	assert_int_equal(big, 0);
	assert_int_equal(tall, 0);
	assert_int_equal(tall3, -EUCLEAN);
	assert_int_equal(big3, -EUCLEAN);
}

/* ------------------------------------------------------------------ */
/* Through the API: the damaged inode alone                            */
/* ------------------------------------------------------------------ */

static void test_damaged_file_alone(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct stat before[3], after;
	static const char *const sib[3] = { "/d/a", "/d/b", "/d/c" };
	char names[16][16];
	struct umfs_file *f;
	unsigned n;
	char buf[8];
	uint64_t b;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(umfs_stat(fs, sib[i], &before[i], 0), 0);
	b = before[1].st_ino;
	log_start();
	umfs_inode(fs, b)->mode &= ~(uint32_t)S_ISUID; /* as a stray write would: no reseal */

	assert_int_equal(umfs_stat(fs, "/d/b", &after, 0), -EUCLEAN);
	assert_int_equal(umfs_open(fs, "/d/b", O_RDONLY, 0, &f), -EUCLEAN);
	assert_int_equal(umfs_access(fs, "/d/b", R_OK), -EUCLEAN);
	assert_int_equal(umfs_chmod(fs, "/d/b", 0644, 0), -EUCLEAN);
	assert_int_equal(umfs_unlink(fs, "/d/b"), -EUCLEAN);
	assert_int_equal(umfs_rename(fs, "/d/b", "/d/z", 0), -EUCLEAN);
	assert_int_equal(umfs_link(fs, "/d/b", "/d/z"), -EUCLEAN);
	assert_int_equal(umfs_open_id(fs, b, (uint32_t)umfs_inode(fs, b)->generation, O_RDONLY, 0,
				      &f),
			 -EUCLEAN);
	/* its siblings, and its directory, as before */
	for (int i = 0; i < 3; i += 2) {
		assert_int_equal(umfs_stat(fs, sib[i], &after, 0), 0);
		assert_true(stat_equal(&before[i], &after));
	}
	assert_int_equal(umfs_open(fs, "/d/a", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_read(f, buf, sizeof(buf)), 5);
	assert_int_equal(umfs_close(f), 0);
	/* listed (the entry is sound), with the type the entry and the inode agree on */
	assert_int_equal(list(fs, "/d", names, NULL, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(listed_type(fs, "/d", "b"), DT_REG);
	/* logged once, naming it, however often it was met */
	assert_int_equal(nlogged, 1);
	assert_non_null(strstr(logged[0], "identity checksum mismatch"));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)b);
	assert_non_null(strstr(logged[0], buf));
	/* undone: served as before */
	umfs_inode(fs, b)->mode |= S_ISUID;
	assert_int_equal(umfs_stat(fs, "/d/b", &after, 0), 0);
	assert_true(stat_equal(&before[1], &after));
}

static void test_damaged_directory(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct stat st, root;
	struct umfs_dir *dir;
	uint64_t d = ino_of(fs, "/d");

	(void)state;
	assert_int_equal(umfs_mkdir(fs, "/e", 0755), 0);
	put(fs, "/e/x", 0644, "x");
	assert_int_equal(umfs_stat(fs, "/", &root, 0), 0);
	log_start();
	umfs_inode(fs, d)->uid = 1000; /* owner changed without a reseal */
	assert_int_equal(umfs_stat(fs, "/d", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), -EUCLEAN); /* through it */
	assert_int_equal(umfs_stat(fs, "/e/../d/a", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_opendir(fs, "/d", &dir), -EUCLEAN);
	assert_int_equal(umfs_mkdir(fs, "/d/new", 0755), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/e/x", &st, 0), 0);
	assert_int_equal(umfs_stat(fs, "/", &st, 0), 0);
	assert_true(stat_equal(&root, &st));
	assert_int_equal(nlogged, 1);
	umfs_inode(fs, d)->uid = 0;
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), 0);
}

static void test_damaged_root(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct umfs_inode *r = umfs_inode(fs, UMFS_ROOT_INO);
	struct stat st;

	(void)state;
	log_start();
	r->mode ^= 0002; /* world-writable root, unsealed */
	assert_int_equal(umfs_stat(fs, "/", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_mkdir(fs, "/x", 0755), -EUCLEAN);
	r->mode ^= 0002;
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), 0);
	/* a ".." naming no inode in use: the directory disagrees with the
	 * entry that names it too */
	assert_int_equal(umfs_mkdir(fs, "/e", 0755), 0);
	r = umfs_inode(fs, ino_of(fs, "/d"));
	r->dir.parent = ino_of(fs, "/d/a") + 100;
	assert_int_equal(umfs_stat(fs, "/d/..", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/e/..", &st, 0), 0);
	assert_int_equal(nlogged, 2);
	r->dir.parent = UMFS_ROOT_INO;
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), 0);
	/* an entry redirected to a directory that lives elsewhere, its check
	 * byte forged to match: the directory's ".." disagrees */
	assert_int_equal(umfs_mkdir(fs, "/d/sub", 0700), 0);
	dentry_of(fs, UMFS_ROOT_INO, "e")->ino = ino_of(fs, "/d/sub");
	dentry_of(fs, UMFS_ROOT_INO, "e")->check = umfs_dentry_check(ino_of(fs, "/d/sub"));
	assert_int_equal(umfs_stat(fs, "/e", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/sub", &st, 0), 0);
	assert_int_equal(nlogged, 3);
	assert_non_null(strstr(logged[2], "whose parent is"));
}

/* An entry whose inode number changed (a bit, a byte) names another live
 * inode of its type, which nothing else tells: its check byte does. */
static void test_redirected_entry(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct umfs_dentry *e;
	struct stat st;
	uint64_t a, b;

	(void)state;
	log_start();
	put(fs, "/d/one", 0644, "one");
	put(fs, "/d/two", 04755, "two");
	a = ino_of(fs, "/d/one");
	b = ino_of(fs, "/d/two");
	e = dentry_of(fs, ino_of(fs, "/d"), "one");
	assert_int_equal(e->check, umfs_dentry_check(a));
	e->ino = b; /* the setuid file under the other's name */
	assert_int_equal(umfs_stat(fs, "/d/one", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/two", &st, 0), 0);
	assert_int_equal(nlogged, 1);
	assert_non_null(strstr(logged[0], "check byte"));
	e->ino = a;
	assert_int_equal(umfs_stat(fs, "/d/one", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* every change confined to 8 consecutive bits of an inode number (a
	 * flipped bit, a rewritten byte) is caught */
	for (unsigned at = 0; at < 64; at++)
		for (uint64_t x = 1; x < 256; x++)
			assert_true(umfs_dentry_check(a ^ ((x << at) & ~0ull)) != umfs_dentry_check(a) ||
				    ((x << at) & ~0ull) == 0);
}

static void test_fstat_after_damage(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct stat st0, st;
	struct umfs_file *f, *g;
	uint64_t ino;
	uint32_t gen;

	(void)state;
	assert_int_equal(umfs_open(fs, "/d/c", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_fstat(f, &st0), 0);
	umfs_file_id(f, &ino, &gen);
	log_start();
	umfs_inode(fs, ino)->gid = 4242;
	assert_int_equal(umfs_fstat(f, &st), -EUCLEAN);
	assert_int_equal(umfs_open_id(fs, ino, gen, O_RDONLY, UMFS_OPEN_ID_NOCHECK, &g), -EUCLEAN);
	umfs_inode(fs, ino)->gid = (uint32_t)st0.st_gid;
	assert_int_equal(umfs_fstat(f, &st), 0);
	assert_true(stat_equal(&st0, &st));
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(nlogged, 1);
}

/* ------------------------------------------------------------------ */
/* Directory entries                                                    */
/* ------------------------------------------------------------------ */

static void test_entry_names_free_inode(void **state)
{
	struct umfs_fs *fs = pool_populated();
	uint64_t c = ino_of(fs, "/d/c");
	struct stat st;

	(void)state;
	log_start();
	/* c freed behind its entry's back, as a lost update would leave it */
	umfs_meta_lock(fs);
	assert_int_equal(umfs_tx_begin(fs), 0);
	assert_int_equal(umfs_ino_free(fs, c), 0);
	assert_int_equal(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
	assert_int_equal(umfs_stat(fs, "/d/c", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_unlink(fs, "/d/c"), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), 0);
	assert_int_equal(listed_type(fs, "/d", "c"), DT_UNKNOWN); /* ask the inode */
	assert_int_equal(listed_type(fs, "/d", "a"), DT_REG);
	assert_int_equal(nlogged, 1);
	assert_non_null(strstr(logged[0], "entry \"c\""));
	assert_non_null(strstr(logged[0], "not in use"));
}

static void test_entry_type_mismatch(void **state)
{
	struct umfs_fs *fs = pool_populated();
	struct umfs_dentry *e = dentry_of(fs, ino_of(fs, "/d"), "a");
	struct stat st;

	(void)state;
	log_start();
	e->type = DT_DIR;
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/b", &st, 0), 0);
	assert_int_equal(listed_type(fs, "/d", "a"), DT_UNKNOWN);
	assert_int_equal(nlogged, 1);
	assert_non_null(strstr(logged[0], "says a directory"));
	e->type = DT_REG;
	assert_int_equal(umfs_stat(fs, "/d/a", &st, 0), 0);
}

/* An entry whose inode number is outside the zone, and one whose name no
 * longer matches its hash: the listing gives what comes before them, then
 * EUCLEAN; the names around them are still found. */
static void test_entry_damaged_in_listing(void **state)
{
	struct umfs_fs *fs = pool_populated();
	uint64_t d = ino_of(fs, "/d");
	struct umfs_dentry *eb = dentry_of(fs, d, "b"), *ec = dentry_of(fs, d, "c");
	char sound[16][16], names[16][16];
	unsigned ns, n;
	struct stat st;
	uint64_t saved = eb->ino;

	(void)state;
	assert_int_equal(list(fs, "/d", sound, NULL, &ns), 0);
	log_start();
	eb->ino = fs->inode_count + 7;
	assert_int_equal(list(fs, "/d", names, NULL, &n), -EUCLEAN);
	assert_true(n >= 2 && n < ns);
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(names[i], sound[i]);
	assert_string_equal(sound[n], "b");
	assert_int_equal(umfs_stat(fs, "/d/b", &st, 0), -EUCLEAN);
	assert_int_equal(umfs_stat(fs, "/d/c", &st, 0), 0);
	eb->ino = saved;

	ec->name[0] ^= 0x20; /* "c" reads "C" */
	assert_int_equal(list(fs, "/d", names, NULL, &n), -EUCLEAN);
	for (unsigned i = 0; i < n; i++) {
		assert_string_equal(names[i], sound[i]);
		assert_string_not_equal(names[i], "C");
	}
	assert_int_equal(umfs_stat(fs, "/d/C", &st, 0), -ENOENT);
	assert_int_equal(umfs_stat(fs, "/d/b", &st, 0), 0);
	ec->name[0] ^= 0x20;
	assert_int_equal(list(fs, "/d", names, NULL, &n), 0);
	assert_int_equal(n, ns);
	assert_int_equal(nlogged, 3); /* b's number (listing, lookup), c's name */
}

/* ------------------------------------------------------------------ */
/* Changes by another process are not damage                           */
/* ------------------------------------------------------------------ */

/* A child changes mode and owner of a file as fast as it can (each change
 * a transaction that reseals the checksum), on its own shared mount, while
 * this process stats it by path and by descriptor: a check without the
 * lock sees changes half done, and must take them for what they are. */
static void test_changes_in_flight(void **state)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(test_pool_make(&tp, "verify-share", 16ull << 20, 0), 0);
	assert_int_equal(umfs_unmount(tp.fs), 0);
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_SHARED, &tp.fs), 0);
	fs = tp.fs;
	put(fs, "/f", 0644, "data");
	log_start();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct umfs_fs *cfs;

		if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &cfs))
			_exit(2);
		for (unsigned i = 0; i < 20000; i++)
			if (umfs_chmod(cfs, "/f", (i & 1) ? 04755 : 0640, 0) ||
			    umfs_chown(cfs, "/f", i % 7, i % 5, 0))
				_exit(3);
		umfs_unmount(cfs);
		_exit(0);
	}
	assert_int_equal(umfs_open(fs, "/f", O_RDONLY, 0, &f), 0);
	do {
		assert_int_equal(umfs_fstat(f, &st), 0);
		assert_int_equal(umfs_stat(fs, "/f", &st, 0), 0);
	} while (waitpid(pid, &status, WNOHANG) == 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(nlogged, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sound_inodes_pass, teardown),
		cmocka_unit_test_teardown(test_each_damage_refused, teardown),
		cmocka_unit_test_teardown(test_level4_needs_feature, teardown),
		cmocka_unit_test_teardown(test_damaged_file_alone, teardown),
		cmocka_unit_test_teardown(test_damaged_directory, teardown),
		cmocka_unit_test_teardown(test_damaged_root, teardown),
		cmocka_unit_test_teardown(test_fstat_after_damage, teardown),
		cmocka_unit_test_teardown(test_redirected_entry, teardown),
		cmocka_unit_test_teardown(test_entry_names_free_inode, teardown),
		cmocka_unit_test_teardown(test_entry_type_mismatch, teardown),
		cmocka_unit_test_teardown(test_entry_damaged_in_listing, teardown),
		cmocka_unit_test_teardown(test_changes_in_flight, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
