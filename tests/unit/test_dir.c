/* SPDX-License-Identifier: MIT */
/* test_dir.c - hashed directories: names, index growth, readdir cookies,
 * transactions, persistence and damage. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "backend.h"
#include "testutil.h"

#define POOL_SIZE (128ull << 20)
#define BATCH 256 /* operations per transaction: keeps the journal bounded */

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Commits and reopens every BATCH operations (count is the running total). */
static void tx_batch(struct umfs_fs *fs, uint64_t count)
{
	if (count % BATCH == 0) {
		test_tx_close(fs);
		test_tx_open(fs);
	}
}

static struct umfs_dir_info *dinfo(struct umfs_fs *fs, uint64_t dir)
{
	return &umfs_inode(fs, dir)->dir;
}

static int add(struct umfs_fs *fs, uint64_t dir, const char *name, uint64_t ino)
{
	return umfs_dir_add(fs, dir, name, strlen(name), ino, DT_REG);
}

static int del(struct umfs_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	return umfs_dir_remove(fs, dir, name, strlen(name), ino);
}

static int look(struct umfs_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	unsigned char type;

	return umfs_dir_lookup(fs, dir, name, strlen(name), ino, &type);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A reference model: names with their inode, present or not. */
struct model {
	char (*name)[UMFS_NAME_MAX + 1];
	uint64_t *ino;
	bool *present;
	size_t n;
};

static void model_init(struct model *m, size_t n)
{
	m->name = calloc(n, sizeof(*m->name));
	m->ino = calloc(n, sizeof(*m->ino));
	m->present = calloc(n, sizeof(*m->present));
	m->n = n;
	assert_non_null(m->name);
	assert_non_null(m->ino);
	assert_non_null(m->present);
}

static void model_free(struct model *m)
{
	free(m->name);
	free(m->ino);
	free(m->present);
}

/* Distinct names of random length 1..255: an index prefix keeps them unique. */
static void model_random_names(struct model *m, uint64_t seed)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	uint64_t s = seed | 1;

	for (size_t i = 0; i < m->n; i++) {
		int len = snprintf(m->name[i], sizeof(m->name[i]), "%zx~", i);
		size_t want = 1 + test_rand_next(&s) % UMFS_NAME_MAX;

		while ((size_t)len < want)
			m->name[i][len++] = chars[test_rand_next(&s) % (sizeof(chars) - 1)];
		m->name[i][len] = '\0';
		m->ino[i] = 1000 + i;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole listing ("." and ".." first, then every present name exactly
 * once) must equal the model: sorted names are compared one by one. */
static void check_listing(struct umfs_fs *fs, uint64_t dir, const struct model *m)
{
	size_t cap = 16, n = 0, want = 0;
	char **got = malloc(cap * sizeof(*got)), **ref;
	struct umfs_dirent ent;
	uint64_t cookie = 0;
	int ret;

	assert_non_null(got);
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	assert_string_equal(ent.name, ".");
	assert_int_equal(ent.ino, dir);
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	assert_string_equal(ent.name, "..");
	assert_int_equal(ent.ino, dinfo(fs, dir)->parent);
	while ((ret = umfs_dir_next(fs, dir, &cookie, &ent)) == 1) {
		assert_int_equal(cookie, ent.next_cookie);
		assert_true(n <= m->n); /* a cookie that does not advance loops */
		if (n == cap) {
			cap *= 2;
			got = realloc(got, cap * sizeof(*got));
			assert_non_null(got);
		}
		got[n++] = strdup(ent.name);
	}
	assert_int_equal(ret, 0);
	ref = malloc((m->n + 1) * sizeof(*ref));
	assert_non_null(ref);
	for (size_t i = 0; i < m->n; i++)
		if (m->present[i])
			ref[want++] = m->name[i];
	assert_int_equal(n, want);
	assert_int_equal(dinfo(fs, dir)->nentries, want);
	qsort(got, n, sizeof(*got), cmp_str);
	qsort(ref, want, sizeof(*ref), cmp_str);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(got[i], ref[i]);
		free(got[i]);
	}
	free(got);
	free(ref);
}

/* Every model name looks up to its inode, or is absent. */
static void check_lookups(struct umfs_fs *fs, uint64_t dir, const struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		uint64_t ino = 0;
		int ret = look(fs, dir, m->name[i], &ino);

		if (m->present[i]) {
			assert_int_equal(ret, 0);
			assert_int_equal(ino, m->ino[i]);
		} else {
			assert_int_equal(ret, -ENOENT);
		}
	}
}

/* Pool address of file page pg of a directory (NULL for a hole). */
static void *dpage(struct umfs_fs *fs, uint64_t dir, uint64_t pg)
{
	uint64_t off = umfs_pt_offset(fs, umfs_inode(fs, dir), pg, NULL);

	return off ? umfs_off_ptr(fs, off) : NULL;
}

/* Entry blocks: headers agree with their slots, free slots and the bytes
 * after each name are zero, hashes are right. Marks entry starts in
 * is_entry and returns the number of entries. */
static uint64_t check_blocks(struct umfs_fs *fs, uint64_t dir, uint8_t *is_entry)
{
	struct umfs_dir_info *d = dinfo(fs, dir);
	uint64_t entries = 0;

	for (uint32_t b = 0; b < d->nblocks; b++) {
		struct umfs_dirblock_hdr *h = dpage(fs, dir, b);
		unsigned used;

		assert_non_null(h);
		assert_int_equal(h->magic, UMFS_DIRBLOCK_MAGIC);
		assert_true(h->used[0] & 1);
		used = (unsigned)(__builtin_popcountll(h->used[0]) + __builtin_popcountll(h->used[1]));
		assert_int_equal(h->nfree, UMFS_DIR_SLOTS_PER_BLOCK - used);
		for (unsigned s = 1; s < UMFS_DIR_SLOTS_PER_BLOCK;) {
			struct umfs_dentry *e = (void *)((uint8_t *)h + s * UMFS_DIR_SLOT_SIZE);

			if (!(h->used[s / 64] >> (s % 64) & 1)) {
				assert_true(test_all_zero(e, UMFS_DIR_SLOT_SIZE));
				s++;
				continue;
			}
			assert_true(e->name_len >= 1);
			assert_int_equal(e->nslots, UMFS_DIRENT_SLOTS(e->name_len));
			assert_true(s + e->nslots <= UMFS_DIR_SLOTS_PER_BLOCK);
			assert_int_equal(e->hash, umfs_name_hash(e->name, e->name_len));
			assert_true(test_all_zero(e->name + e->name_len,
					     e->nslots * UMFS_DIR_SLOT_SIZE - sizeof(*e) - e->name_len));
			is_entry[b * UMFS_DIR_SLOTS_PER_BLOCK + s] = 1;
			entries++;
			s += e->nslots;
		}
	}
	return entries;
}

/* The index: a valid extendible-hash map over the buckets, and every entry
 * referenced exactly once, by the bucket its hash maps to. */
static void check_index(struct umfs_fs *fs, uint64_t dir, uint8_t *is_entry, uint64_t entries)
{
	struct umfs_dir_info *d = dinfo(fs, dir);
	uint64_t nslots = (uint64_t)d->nblocks * UMFS_DIR_SLOTS_PER_BLOCK, indexed = 0;
	uint32_t *refs = calloc(d->nbuckets, sizeof(*refs));
	uint64_t *prefix = calloc(d->nbuckets, sizeof(*prefix));

	assert_non_null(refs);
	assert_non_null(prefix);
	for (uint64_t i = 0; i < 1ull << d->gdepth; i++) {
		umfs_le32 *mp = dpage(fs, dir, UMFS_DIR_MAP_PAGE0 + i / 1024);
		struct umfs_bucket *bk;
		uint32_t k;

		assert_non_null(mp);
		k = mp[i % 1024];
		assert_true(k < d->nbuckets);
		bk = dpage(fs, dir, UMFS_DIR_BUCKET_PAGE0 + k);
		assert_non_null(bk);
		if (refs[k]++ == 0)
			prefix[k] = i & ((1ull << bk->local_depth) - 1);
		assert_int_equal(i & ((1ull << bk->local_depth) - 1), prefix[k]);
	}
	for (uint32_t k = 0; k < d->nbuckets; k++) {
		struct umfs_bucket *bk = dpage(fs, dir, UMFS_DIR_BUCKET_PAGE0 + k);

		assert_int_equal(bk->magic, UMFS_BUCKET_MAGIC);
		assert_true(bk->local_depth <= d->gdepth);
		assert_int_equal(refs[k], 1ull << (d->gdepth - bk->local_depth));
		assert_true(bk->count <= UMFS_BUCKET_ENTRIES);
		assert_true(test_all_zero(&bk->ent[bk->count],
				     (UMFS_BUCKET_ENTRIES - bk->count) * sizeof(bk->ent[0])));
		for (unsigned j = 0; j < bk->count; j++) {
			uint32_t pos = (uint32_t)bk->ent[j], hash = (uint32_t)(bk->ent[j] >> 32);
			struct umfs_dentry *e;

			assert_true(pos < nslots);
			assert_int_equal(is_entry[pos], 1); /* an entry, not indexed before */
			is_entry[pos] = 2;
			e = (void *)((uint8_t *)dpage(fs, dir, pos / UMFS_DIR_SLOTS_PER_BLOCK) +
				     (pos % UMFS_DIR_SLOTS_PER_BLOCK) * UMFS_DIR_SLOT_SIZE);
			assert_int_equal(e->hash, hash);
			assert_int_equal(hash & ((1ull << bk->local_depth) - 1), prefix[k]);
			indexed++;
		}
	}
	assert_int_equal(indexed, entries);
	free(refs);
	free(prefix);
}

/* The on-media invariants of one directory, checked from scratch. */
static void check_structure(struct umfs_fs *fs, uint64_t dir)
{
	struct umfs_dir_info *d = dinfo(fs, dir);
	uint8_t *is_entry = calloc((uint64_t)d->nblocks * UMFS_DIR_SLOTS_PER_BLOCK + 1, 1);
	uint64_t entries;

	assert_non_null(is_entry);
	assert_int_equal(umfs_inode(fs, dir)->size, (uint64_t)d->nblocks * UMFS_PAGE_SIZE);
	entries = check_blocks(fs, dir, is_entry);
	assert_int_equal(entries, d->nentries);
	if (d->nbuckets)
		check_index(fs, dir, is_entry, entries);
	else
		assert_true(d->nblocks <= 1 && d->gdepth == 0);
	free(is_entry);
}

/* Copies of every page a directory uses, to compare across an abort. */
struct dir_image {
	size_t n;
	uint64_t pg[4096];
	uint8_t *data;
};

static void image_take(struct umfs_fs *fs, uint64_t dir, struct dir_image *im)
{
	struct umfs_dir_info *d = dinfo(fs, dir);

	im->n = 0;
	for (uint64_t b = 0; b < d->nblocks; b++)
		im->pg[im->n++] = b;
	for (uint64_t k = 0; k < d->nbuckets; k++)
		im->pg[im->n++] = UMFS_DIR_BUCKET_PAGE0 + k;
	for (uint64_t i = 0; d->nbuckets && i < UMFS_DIV_ROUND_UP(1ull << d->gdepth, 1024); i++)
		im->pg[im->n++] = UMFS_DIR_MAP_PAGE0 + i;
	assert_true(im->n <= UMFS_ARRAY_SIZE(im->pg));
	im->data = malloc(im->n * UMFS_PAGE_SIZE);
	assert_non_null(im->data);
	for (size_t i = 0; i < im->n; i++)
		memcpy(im->data + i * UMFS_PAGE_SIZE, dpage(fs, dir, im->pg[i]), UMFS_PAGE_SIZE);
}

static void image_check(struct umfs_fs *fs, uint64_t dir, struct dir_image *im)
{
	for (size_t i = 0; i < im->n; i++)
		assert_memory_equal(dpage(fs, dir, im->pg[i]), im->data + i * UMFS_PAGE_SIZE,
				    UMFS_PAGE_SIZE);
	free(im->data);
}

static void model_add_all(struct umfs_fs *fs, uint64_t dir, struct model *m)
{
	test_tx_open(fs);
	for (size_t i = 0; i < m->n; i++) {
		assert_int_equal(add(fs, dir, m->name[i], m->ino[i]), 0);
		m->present[i] = true;
		tx_batch(fs, i + 1);
	}
	test_tx_close(fs);
}

static int pool_setup(void **state)
{
	struct test_pool *tp = calloc(1, sizeof(*tp));

	if (!tp || test_pool_make(tp, "dir", POOL_SIZE, 0))
		return -1;
	*state = tp;
	return 0;
}

static int pool_teardown(void **state)
{
	struct test_pool *tp = *state;

	test_pool_destroy(tp);
	free(tp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

static void create_lookup_remove_retarget(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), ino;
	unsigned char type;

	assert_int_equal(dinfo(fs, dir)->parent, UMFS_ROOT_INO);
	assert_int_equal(dinfo(fs, dir)->nentries, 0);
	assert_int_equal(look(fs, dir, "a", &ino), -ENOENT);

	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "a", 42), 0);
	assert_int_equal(umfs_dir_add(fs, dir, "sub", 3, 43, DT_DIR), 0);
	assert_int_equal(add(fs, dir, "a", 44), -EEXIST);
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nentries, 2);
	assert_int_equal(dinfo(fs, dir)->nblocks, 1);
	assert_int_equal(dinfo(fs, dir)->nbuckets, 0);
	assert_int_equal(umfs_inode(fs, dir)->size, UMFS_PAGE_SIZE);

	assert_int_equal(umfs_dir_lookup(fs, dir, "a", 1, &ino, &type), 0);
	assert_int_equal(ino, 42);
	assert_int_equal(type, DT_REG);
	assert_int_equal(umfs_dir_lookup(fs, dir, "sub", 3, &ino, &type), 0);
	assert_int_equal(ino, 43);
	assert_int_equal(type, DT_DIR);
	/* a prefix or an extension of a name is another name */
	assert_int_equal(umfs_dir_lookup(fs, dir, "su", 2, &ino, &type), -ENOENT);
	assert_int_equal(umfs_dir_lookup(fs, dir, "subx", 4, &ino, &type), -ENOENT);
	/* "." and ".." resolve without entries */
	assert_int_equal(umfs_dir_lookup(fs, dir, ".", 1, &ino, &type), 0);
	assert_int_equal(ino, dir);
	assert_int_equal(umfs_dir_lookup(fs, dir, "..", 2, &ino, &type), 0);
	assert_int_equal(ino, UMFS_ROOT_INO);

	test_tx_open(fs);
	assert_int_equal(umfs_dir_retarget(fs, dir, "a", 1, 77, DT_LNK), 0);
	assert_int_equal(umfs_dir_retarget(fs, dir, "zz", 2, 77, DT_LNK), -ENOENT);
	test_tx_close(fs);
	assert_int_equal(umfs_dir_lookup(fs, dir, "a", 1, &ino, &type), 0);
	assert_int_equal(ino, 77);
	assert_int_equal(type, DT_LNK);

	test_tx_open(fs);
	ino = 0;
	assert_int_equal(del(fs, dir, "a", &ino), 0);
	assert_int_equal(ino, 77);
	assert_int_equal(del(fs, dir, "a", &ino), -ENOENT);
	test_tx_close(fs);
	assert_int_equal(look(fs, dir, "a", &ino), -ENOENT);
	assert_int_equal(look(fs, dir, "sub", &ino), 0);
	assert_int_equal(dinfo(fs, dir)->nentries, 1);

	/* not a directory */
	assert_int_equal(look(fs, 0, "a", &ino), -ENOTDIR);
}

static void bad_names(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), ino;
	char name[UMFS_NAME_MAX + 2];

	memset(name, 'x', sizeof(name));
	test_tx_open(fs);
	assert_int_equal(umfs_dir_add(fs, dir, name, 256, 5, DT_REG), -ENAMETOOLONG);
	assert_int_equal(umfs_dir_add(fs, dir, name, 0, 5, DT_REG), -EINVAL);
	assert_int_equal(umfs_dir_add(fs, dir, "a/b", 3, 5, DT_REG), -EINVAL);
	assert_int_equal(umfs_dir_add(fs, dir, "a\0b", 3, 5, DT_REG), -EINVAL);
	assert_int_equal(umfs_dir_add(fs, dir, ".", 1, 5, DT_REG), -EINVAL);
	assert_int_equal(umfs_dir_add(fs, dir, "..", 2, 5, DT_REG), -EINVAL);
	assert_int_equal(umfs_dir_remove(fs, dir, "..", 2, &ino), -EINVAL);
	assert_int_equal(umfs_dir_remove(fs, dir, name, 256, &ino), -ENAMETOOLONG);
	/* look-alikes of the dot names are ordinary */
	assert_int_equal(umfs_dir_add(fs, dir, "...", 3, 6, DT_REG), 0);
	assert_int_equal(umfs_dir_add(fs, dir, ".a", 2, 7, DT_REG), 0);
	/* the extreme lengths */
	assert_int_equal(umfs_dir_add(fs, dir, "q", 1, 8, DT_REG), 0);
	assert_int_equal(umfs_dir_add(fs, dir, name, 255, 9, DT_REG), 0);
	assert_int_equal(umfs_dir_add(fs, dir, name, 255, 9, DT_REG), -EEXIST);
	assert_int_equal(umfs_dir_add(fs, dir, name, 254, 10, DT_REG), 0);
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nentries, 5);
	assert_int_equal(umfs_dir_lookup(fs, dir, name, 256, &ino, NULL), -ENAMETOOLONG);
	assert_int_equal(umfs_dir_lookup(fs, dir, name, 0, &ino, NULL), -ENOENT);
	assert_int_equal(umfs_dir_lookup(fs, dir, "q", 1, &ino, NULL), 0);
	assert_int_equal(ino, 8);
	assert_int_equal(umfs_dir_lookup(fs, dir, name, 255, &ino, NULL), 0);
	assert_int_equal(ino, 9);
	assert_int_equal(umfs_dir_lookup(fs, dir, name, 254, &ino, NULL), 0);
	assert_int_equal(ino, 10);
	assert_int_equal(umfs_dir_lookup(fs, dir, name, 253, &ino, NULL), -ENOENT);

	/* readdir returns the 255-byte name whole and NUL-terminated */
	{
		struct umfs_dirent ent;
		uint64_t cookie = 0;
		bool seen = false;

		for (int i = 0; umfs_dir_next(fs, dir, &cookie, &ent) == 1; i++) {
			assert_true(i < 7); /* ".", "..", 5 names: the cookie advances */
			if (strlen(ent.name) == 255) {
				assert_memory_equal(ent.name, name, 255);
				seen = true;
			}
		}
		assert_true(seen);
	}
}

/* A second block builds the index; random lengths cover multi-slot entries. */
static void growth_builds_index(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755);
	struct model m;
	size_t i;

	model_init(&m, 3000);
	model_random_names(&m, 7);
	test_tx_open(fs);
	for (i = 0; dinfo(fs, dir)->nblocks < 2; i++) {
		assert_int_equal(dinfo(fs, dir)->nbuckets, 0);
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
		m.present[i] = true;
	}
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nbuckets, 1);
	assert_int_equal(dinfo(fs, dir)->gdepth, 0);
	assert_int_equal(umfs_inode(fs, dir)->size, 2 * UMFS_PAGE_SIZE);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);

	test_tx_open(fs);
	for (; i < m.n; i++) {
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
		m.present[i] = true;
		tx_batch(fs, i + 1);
	}
	test_tx_close(fs);
	/* 3000 entries need several buckets: splits and map doubling ran */
	assert_true(dinfo(fs, dir)->nbuckets >= 6);
	assert_true(dinfo(fs, dir)->gdepth >= 3);
	assert_int_equal(umfs_inode(fs, dir)->size,
			 (uint64_t)dinfo(fs, dir)->nblocks * UMFS_PAGE_SIZE);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);

	/* remove every third name, then re-add half of those */
	test_tx_open(fs);
	for (i = 0; i < m.n; i += 3) {
		uint64_t ino;

		assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
		assert_int_equal(ino, m.ino[i]);
		m.present[i] = false;
		tx_batch(fs, i / 3 + 1);
	}
	test_tx_close(fs);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);
	test_tx_open(fs);
	for (i = 0; i < m.n; i += 6) {
		m.ino[i] += 50000;
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
		m.present[i] = true;
		tx_batch(fs, i / 6 + 1);
	}
	test_tx_close(fs);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);
	check_structure(fs, dir);
	model_free(&m);
}

/* A small directory: entries and then the same names after a remount. */
/*
 * Module mode's protocol (dir.c, "spare pages"), with this test playing the
 * module: a change that needs a page the directory lacks stops with
 * UMFS_EDIRPAGES naming it; the caller aborts, the pages are mapped between
 * transactions (here in one of our own, filled with junk), and the change
 * runs again. One in three changes is then rolled back instead of
 * committed, so spares also hold what changes that never happened wrote.
 * The directory must match the model and keep its invariants throughout.
 */
struct kmod_sim {
	struct umfs_fs *fs;
	uint64_t dir, seed;
	unsigned stops, pages;
};

static void kmod_sim_map(struct kmod_sim *k)
{
	struct umfs_fs *fs = k->fs;
	uint64_t first = fs->tx.dir_need_first, count = fs->tx.dir_need_count;

	assert_int_equal(fs->tx.dir_need_ino, k->dir);
	assert_true(count >= 1 && count <= 1024);
	test_tx_open(fs);
	for (uint64_t pg = first; pg < first + count; pg++) {
		uint64_t off, *p;

		assert_int_equal(umfs_pt_map(fs, umfs_inode(fs, k->dir), pg, 0, &off), 1);
		p = umfs_off_ptr(fs, off);
		for (unsigned i = 0; i < UMFS_PAGE_SIZE / 8; i++)
			p[i] = test_rand_next(&k->seed);
		assert_int_equal(umfs_tx_dirty(fs, p, UMFS_PAGE_SIZE), 0);
	}
	test_tx_close(fs);
	k->stops++;
	k->pages += (unsigned)count;
}

/* Runs add (remove when del_ino) as module mode does; commits when keep. */
static int kmod_sim_change(struct kmod_sim *k, const char *name, uint64_t ino, uint64_t *del_ino,
			   bool keep)
{
	struct umfs_fs *fs = k->fs;

	for (unsigned tries = 0; tries < 60; tries++) {
		int err;

		test_tx_open(fs);
		fs->be = &umfs_backend_kmod; /* its directory ops need no module */
		err = del_ino ? del(fs, k->dir, name, del_ino) : add(fs, k->dir, name, ino);
		fs->be = &umfs_backend_soft;
		if (err == UMFS_EDIRPAGES) {
			umfs_tx_abort(fs);
			umfs_meta_unlock(fs);
			kmod_sim_map(k);
			continue;
		}
		if (err || !keep) {
			umfs_tx_abort(fs);
			umfs_meta_unlock(fs);
		} else {
			test_tx_close(fs);
		}
		return err;
	}
	fail_msg("a change kept asking for pages");
	return -1;
}

static void module_mode_uses_spares(void **state)
{
	struct test_pool *tp = *state;
	struct kmod_sim k = { .fs = tp->fs, .seed = 77 };
	struct model m;
	uint64_t blocks0;

	k.dir = test_inode_make(tp->fs, S_IFDIR | 0755);
	model_init(&m, 4000);
	model_random_names(&m, 31);
	for (size_t i = 0; i < m.n; i++) {
		bool keep = i % 3 != 1;

		assert_int_equal(kmod_sim_change(&k, m.name[i], m.ino[i], NULL, keep), 0);
		m.present[i] = keep;
		if (i % 500 == 0)
			check_structure(tp->fs, k.dir);
	}
	/* every page came through the stop: blocks, buckets, map pages */
	assert_true(dinfo(tp->fs, k.dir)->gdepth >= 3);
	assert_true(k.stops >= dinfo(tp->fs, k.dir)->nblocks + dinfo(tp->fs, k.dir)->nbuckets);
	check_structure(tp->fs, k.dir);
	check_lookups(tp->fs, k.dir, &m);
	check_listing(tp->fs, k.dir, &m);

	/* removals never free a page in module mode (the module would) */
	blocks0 = umfs_inode(tp->fs, k.dir)->blocks;
	for (size_t i = 0; i < m.n; i++) {
		uint64_t ino;

		if (!m.present[i])
			continue;
		assert_int_equal(kmod_sim_change(&k, m.name[i], 0, &ino, true), 0);
		assert_int_equal(ino, m.ino[i]);
		m.present[i] = false;
	}
	assert_int_equal(umfs_inode(tp->fs, k.dir)->blocks, blocks0);
	assert_int_equal(dinfo(tp->fs, k.dir)->nentries, 0);
	assert_int_equal(test_pool_remount(tp), 0);
	check_structure(tp->fs, k.dir);
	check_listing(tp->fs, k.dir, &m);
	print_message("module protocol: %u stops, %u pages mapped between transactions\n", k.stops,
		      k.pages);
	model_free(&m);
}

static void survives_remount(void **state)
{
	struct test_pool *tp = *state;
	uint64_t dir = test_inode_make(tp->fs, S_IFDIR | 0755), small = test_inode_make(tp->fs, S_IFDIR | 0755);
	struct model m, s, r;

	model_init(&m, 1500);
	model_random_names(&m, 99);
	model_add_all(tp->fs, dir, &m);
	model_init(&s, 10);
	model_random_names(&s, 5);
	model_add_all(tp->fs, small, &s);
	model_init(&r, 200); /* the root directory, laid out by mkfs */
	model_random_names(&r, 55);
	model_add_all(tp->fs, UMFS_ROOT_INO, &r);
	test_tx_open(tp->fs);
	for (size_t i = 0; i < m.n; i += 2) {
		uint64_t ino;

		assert_int_equal(del(tp->fs, dir, m.name[i], &ino), 0);
		m.present[i] = false;
		tx_batch(tp->fs, i / 2 + 1);
	}
	test_tx_close(tp->fs);

	assert_int_equal(test_pool_remount(tp), 0);
	check_lookups(tp->fs, dir, &m);
	check_listing(tp->fs, dir, &m);
	check_lookups(tp->fs, small, &s);
	check_listing(tp->fs, small, &s);
	check_structure(tp->fs, dir);
	check_structure(tp->fs, small);
	check_lookups(tp->fs, UMFS_ROOT_INO, &r);
	check_listing(tp->fs, UMFS_ROOT_INO, &r);
	check_structure(tp->fs, UMFS_ROOT_INO);
	model_free(&m);
	model_free(&s);
	model_free(&r);
}

/* Adds and removes inside a transaction that aborts leave no trace. */
static void abort_restores_directory(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), free0, ino;
	struct umfs_inode saved;
	struct model m;
	uint8_t *block0 = malloc(UMFS_PAGE_SIZE);

	assert_non_null(block0);
	model_init(&m, 760);
	for (size_t i = 0; i < m.n; i++) {
		snprintf(m.name[i], sizeof(m.name[i]), "%c%zu", i < 60 ? 's' : 't', i);
		m.ino[i] = 500 + i;
	}
	/* 60 names committed: one unindexed block */
	test_tx_open(fs);
	for (size_t i = 0; i < 60; i++) {
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
		m.present[i] = true;
	}
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nblocks, 1);
	saved = *umfs_inode(fs, dir);
	memcpy(block0, umfs_off_ptr(fs, umfs_pt_offset(fs, umfs_inode(fs, dir), 0, NULL)),
	       UMFS_PAGE_SIZE);
	free0 = fs->free_pages;

	/* one transaction: removals, then enough adds to index and split (700 > 510) */
	test_tx_open(fs);
	for (size_t i = 0; i < 60; i += 4)
		assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
	for (size_t i = 60; i < m.n; i++)
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
	assert_true(dinfo(fs, dir)->nbuckets >= 2);
	assert_int_equal(look(fs, dir, m.name[m.n - 1], &ino), 0);
	umfs_tx_abort(fs);
	umfs_meta_unlock(fs);

	assert_memory_equal(umfs_inode(fs, dir), &saved, sizeof(saved));
	assert_memory_equal(umfs_off_ptr(fs, umfs_pt_offset(fs, umfs_inode(fs, dir), 0, NULL)),
			    block0, UMFS_PAGE_SIZE);
	assert_int_equal(fs->free_pages, free0);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);

	/* and the directory still works afterwards */
	test_tx_open(fs);
	for (size_t i = 60; i < m.n; i++) {
		assert_int_equal(add(fs, dir, m.name[i], m.ino[i]), 0);
		m.present[i] = true;
		tx_batch(fs, i + 1);
	}
	test_tx_close(fs);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);
	check_structure(fs, dir);

	/* indexed now: adds land in existing blocks and buckets, and an abort
	 * must restore every byte of every page */
	{
		struct dir_image im;
		struct model extra;

		model_init(&extra, 300);
		model_random_names(&extra, 21);
		for (size_t i = 0; i < 20; i++)
			snprintf(extra.name[i], sizeof(extra.name[i]), "e%zu", i);
		/* committed removals leave free slots in old blocks (hint_block) */
		test_tx_open(fs);
		for (size_t i = 0; i < m.n; i += 7) {
			assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
			m.present[i] = false;
		}
		test_tx_close(fs);
		saved = *umfs_inode(fs, dir);
		image_take(fs, dir, &im);
		test_tx_open(fs);
		for (size_t i = 0; i < extra.n; i++)
			assert_int_equal(add(fs, dir, extra.name[i], extra.ino[i]), 0);
		for (size_t i = 1; i < m.n; i += 7)
			assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
		for (size_t i = 3; i < m.n; i += 35) /* i % 7 == 3: still present */
			assert_int_equal(umfs_dir_retarget(fs, dir, m.name[i], strlen(m.name[i]), 3,
							   DT_FIFO), 0);
		umfs_tx_abort(fs);
		umfs_meta_unlock(fs);
		assert_memory_equal(umfs_inode(fs, dir), &saved, sizeof(saved));
		image_check(fs, dir, &im);
		check_lookups(fs, dir, &m);
		check_lookups(fs, dir, &extra); /* none present */
		check_structure(fs, dir);
		model_free(&extra);
	}
	model_free(&m);
	free(block0);
}

/*
 * Cookies stay stable: a listing interrupted by creates and removals of
 * other names returns every name present throughout exactly once.
 */
static void cookies_survive_changes(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), cookie = 0, ino;
	struct model m;
	unsigned *seen;
	struct umfs_dirent ent;
	size_t listed = 0, base = 2000;
	int ret;

	model_init(&m, 4000);
	model_random_names(&m, 11);
	m.n = base;
	model_add_all(fs, dir, &m);
	m.n = 4000;
	seen = calloc(m.n, sizeof(*seen));
	assert_non_null(seen);

	while ((ret = umfs_dir_next(fs, dir, &cookie, &ent)) == 1) {
		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		assert_true(strtoul(ent.name, NULL, 16) < m.n);
		assert_int_equal(seen[strtoul(ent.name, NULL, 16)]++, 0);
		/* every 50 entries: remove 20 names (even indexes only), add 25 */
		if (++listed % 50 == 0) {
			test_tx_open(fs);
			for (int k = 0; k < 20; k++) {
				size_t i = (listed * 7 + (size_t)k * 97) % base & ~(size_t)1;

				if (m.present[i]) {
					assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
					m.present[i] = false;
				}
			}
			for (int k = 0; k < 25 && base < m.n; k++, base++) {
				assert_int_equal(add(fs, dir, m.name[base], m.ino[base]), 0);
				m.present[base] = true;
			}
			test_tx_close(fs);
		}
	}
	assert_int_equal(ret, 0);
	for (size_t i = 0; i < m.n; i++) {
		assert_true(seen[i] <= 1);
		if (i < 2000 && (i & 1))
			assert_int_equal(seen[i], 1); /* odd originals were never removed */
	}
	assert_true(listed >= 1000);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);
	check_structure(fs, dir);
	free(seen);
	model_free(&m);
}

/* A cookie can end up inside an entry written after it was handed out. */
static void cookie_inside_new_entry(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), cookie = 0, resume, ino;
	struct umfs_dirent ent;
	const char *names[] = { "a", "b", "c", "d", "e" };
	const char *longname = "a-name-long-enough-for-two-slots";

	test_tx_open(fs);
	for (int i = 0; i < 5; i++)
		assert_int_equal(add(fs, dir, names[i], 100 + (uint64_t)i), 0);
	test_tx_close(fs);
	for (int i = 0; i < 4; i++)
		assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	assert_string_equal(ent.name, "b");
	resume = cookie; /* slot 3 */
	test_tx_open(fs);
	assert_int_equal(del(fs, dir, "b", &ino), 0);
	assert_int_equal(del(fs, dir, "c", &ino), 0);
	assert_int_equal(add(fs, dir, longname, 200), 0); /* slots 2-3 */
	test_tx_close(fs);
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	assert_string_equal(ent.name, "d");
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	assert_string_equal(ent.name, "e");
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 0);
	/* seekdir back to the same cookie: same continuation */
	assert_int_equal(umfs_dir_next(fs, dir, &resume, &ent), 1);
	assert_string_equal(ent.name, "d");
	/* a cookie far past the end is simply the end */
	cookie = 1ull << 40;
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 0);
}

/* Damage is reported, never followed: no crash, no endless loop. */
static void damage_is_euclean(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), cookie, ino;
	struct umfs_dirent ent;
	struct umfs_dirblock_hdr *h;
	struct umfs_dentry *e;
	struct umfs_bucket *b;
	struct umfs_dir_info saved;
	uint8_t save[UMFS_PAGE_SIZE];
	char name[32];
	int ret = 0;

	test_tx_open(fs);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "entry-%d", i);
		assert_int_equal(add(fs, dir, name, 1000 + (uint64_t)i), 0);
	}
	test_tx_close(fs);
	h = umfs_off_ptr(fs, umfs_pt_offset(fs, umfs_inode(fs, dir), 1, NULL));
	e = (struct umfs_dentry *)((uint8_t *)h + UMFS_DIR_SLOT_SIZE);
	memcpy(save, h, sizeof(save));

	/* list until block 1 is reached (cookie 130: block 1, slot 0) */
	h->magic ^= 1;
	cookie = 0;
	for (int i = 0; i < 1000 && (ret = umfs_dir_next(fs, dir, &cookie, &ent)) == 1; i++)
		;
	assert_int_equal(ret, -EUCLEAN);
	memcpy(h, save, sizeof(save));

	e->nslots = 0; /* would loop forever if trusted */
	cookie = UMFS_DIR_SLOTS_PER_BLOCK + 2;
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), -EUCLEAN);
	e->nslots = 9; /* disagrees with the name length */
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), -EUCLEAN);
	memcpy(h, save, sizeof(save));

	/* block 2 holds 46 entries: mark its free slots used with nothing in them */
	h = umfs_off_ptr(fs, umfs_pt_offset(fs, umfs_inode(fs, dir), 2, NULL));
	memcpy(save, h, sizeof(save));
	h->used[1] = ~0ull;
	h->used[0] = ~0ull;
	cookie = 2 * UMFS_DIR_SLOTS_PER_BLOCK + 2;
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), 1);
	for (int i = 0; i < 1000 && (ret = umfs_dir_next(fs, dir, &cookie, &ent)) == 1; i++)
		;
	assert_int_equal(ret, -EUCLEAN);
	memcpy(h, save, sizeof(save));

	/* a bucket pointing outside the directory */
	b = umfs_off_ptr(fs, umfs_pt_offset(fs, umfs_inode(fs, dir), UMFS_DIR_BUCKET_PAGE0, NULL));
	memcpy(save, b, sizeof(save));
	for (unsigned i = 0; i < b->count; i++)
		b->ent[i] = (b->ent[i] & ~0xffffffffull) | 0xfffff;
	snprintf(name, sizeof(name), "entry-%d", 5);
	assert_int_equal(look(fs, dir, name, &ino), -EUCLEAN);
	memcpy(b, save, sizeof(save));
	assert_int_equal(look(fs, dir, name, &ino), 0);
	assert_int_equal(ino, 1005);

	/* nonsense dir info */
	saved = *dinfo(fs, dir);
	dinfo(fs, dir)->gdepth = 99;
	assert_int_equal(look(fs, dir, name, &ino), -EUCLEAN);
	cookie = 2;
	assert_int_equal(umfs_dir_next(fs, dir, &cookie, &ent), -EUCLEAN);
	*dinfo(fs, dir) = saved;
	dinfo(fs, dir)->nblocks = 1; /* indexed entries in block 1 and 2 now dangle */
	assert_int_equal(look(fs, dir, "entry-299", &ino), -EUCLEAN);
	*dinfo(fs, dir) = saved;
	assert_int_equal(look(fs, dir, "entry-299", &ino), 0);
}

/* An emptied directory gives every page back (index and map included)
 * through the path rmdir takes: the inode is reclaimed. */
static void reclaim_frees_emptied_directory(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t free0 = fs->free_pages, dir = test_inode_make(fs, S_IFDIR | 0755), dir_pages, ino;
	struct model m;

	model_init(&m, 2000);
	model_random_names(&m, 17);
	model_add_all(fs, dir, &m);
	dir_pages = free0 - fs->free_pages;
	assert_true(dir_pages > 2 + dinfo(fs, dir)->nblocks);

	test_tx_open(fs);
	for (size_t i = 0; i < m.n; i++) {
		assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
		m.present[i] = false;
		tx_batch(fs, i + 1);
	}
	test_tx_close(fs);
	check_listing(fs, dir, &m);

	assert_int_equal(umfs_inode_reclaim(fs, dir, umfs_inode(fs, dir)->generation), 0);
	assert_false(umfs_inode_live(fs, dir));
	assert_int_equal(fs->free_pages, free0);
	model_free(&m);
}

/* Low hash bits pick buckets: they must spread sequential names evenly. */
static void hash_spreads_low_bits(void **state)
{
	unsigned count[256] = { 0 }, max = 0;
	char name[32];

	/* every window of 8 bits, as extendible hashing uses ever more of them */
	for (unsigned shift = 0; shift <= 24; shift += 4) {
		memset(count, 0, sizeof(count));
		max = 0;
		for (int i = 0; i < 256 * 400; i++) {
			int len = snprintf(name, sizeof(name), "file%d", i);

			count[umfs_name_hash(name, (size_t)len) >> shift & 255]++;
		}
		for (int i = 0; i < 256; i++)
			max = count[i] > max ? count[i] : max;
		assert_true(max < 400 * 13 / 10);
	}
	assert_int_not_equal(umfs_name_hash("ab", 2), umfs_name_hash("ba", 2));
	assert_int_not_equal(umfs_name_hash("a", 1), umfs_name_hash("a\0", 2));
}

/* An emptied one-block directory holds no pages (create + unlink leaves the
 * pool as it was); an emptied indexed one keeps its pages until rmdir. */
static void emptied_directory_pages(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), free0 = fs->free_pages, ino;
	struct model m;
	int i;

	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "only", 5), 0);
	assert_int_equal(add(fs, dir, "other", 6), 0);
	test_tx_close(fs);
	assert_true(fs->free_pages < free0);
	test_tx_open(fs);
	assert_int_equal(del(fs, dir, "only", &ino), 0);
	assert_int_equal(dinfo(fs, dir)->nblocks, 1);
	assert_int_equal(del(fs, dir, "other", &ino), 0);
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nblocks, 0);
	assert_int_equal(umfs_inode(fs, dir)->size, 0);
	assert_int_equal(umfs_inode(fs, dir)->pt_root, 0);
	assert_int_equal(fs->free_pages, free0);
	check_structure(fs, dir);
	/* and it fills again */
	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "again", 7), 0);
	test_tx_close(fs);
	assert_int_equal(look(fs, dir, "again", &ino), 0);
	assert_int_equal(ino, 7);

	model_init(&m, 400);
	model_random_names(&m, 77);
	model_add_all(fs, dir, &m);
	test_tx_open(fs);
	assert_int_equal(del(fs, dir, "again", &ino), 0);
	for (i = 0; i < (int)m.n; i++) {
		assert_int_equal(del(fs, dir, m.name[i], &ino), 0);
		m.present[i] = false;
		tx_batch(fs, (uint64_t)i + 1);
	}
	test_tx_close(fs);
	assert_true(dinfo(fs, dir)->nblocks > 1);
	assert_true(dinfo(fs, dir)->nbuckets >= 1);
	check_listing(fs, dir, &m);
	check_structure(fs, dir);
	model_free(&m);
}

/* Space freed by a removal is reused (hint_block) before the directory grows. */
static void removal_space_is_reused(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), cookie = 0, ino, pos = 0;
	struct umfs_dirent ent;
	uint32_t nblocks;
	char name[32];

	test_tx_open(fs);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%04d", i); /* one slot each, in order */
		assert_int_equal(add(fs, dir, name, (uint64_t)i + 10), 0);
	}
	test_tx_close(fs);
	nblocks = dinfo(fs, dir)->nblocks;
	assert_int_equal(nblocks, UMFS_DIV_ROUND_UP(1000, 127));
	test_tx_open(fs);
	assert_int_equal(del(fs, dir, "n0300", &ino), 0); /* block 2, slot 47 */
	assert_int_equal(dinfo(fs, dir)->hint_block, 2);
	assert_int_equal(add(fs, dir, "again", 7), 0);
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nblocks, nblocks);
	for (int i = 0; umfs_dir_next(fs, dir, &cookie, &ent) == 1; i++) {
		assert_true(i < 1002);
		if (!strcmp(ent.name, "again"))
			pos = ent.next_cookie - 1 - 2; /* one slot; cookies start at 2 */
	}
	assert_int_equal(pos, 2 * UMFS_DIR_SLOTS_PER_BLOCK + 1 + 300 % 127);
	/* the last block (1000 - 7 * 127 = 111 names) fills before another is added */
	test_tx_open(fs);
	for (int i = 1000; i < 1016; i++) {
		snprintf(name, sizeof(name), "n%04d", i);
		assert_int_equal(add(fs, dir, name, (uint64_t)i + 10), 0);
	}
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nblocks, nblocks);
	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "one-more", 8), 0);
	test_tx_close(fs);
	assert_int_equal(dinfo(fs, dir)->nblocks, nblocks + 1);
	check_structure(fs, dir);
}

/*
 * The bytes of a long name can look like an entry for another name: slot
 * s + 1 of the entry below holds a forged header and name "n5". Lookups of
 * an unindexed block must see only real entries.
 */
static void forged_entry_inside_a_name(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), ino;
	char forged[48], victim[16];
	uint32_t hash;
	int v;

	/* a victim name whose hash has no NUL or '/' byte, so it fits a name */
	for (v = 0;; v++) {
		snprintf(victim, sizeof(victim), "n%d", v);
		hash = umfs_name_hash(victim, strlen(victim));
		if (!memchr(&hash, 0, 4) && !memchr(&hash, '/', 4))
			break;
	}
	memset(forged, 'F', sizeof(forged));
	/* name bytes [16, 32) are the 16-byte header of the next slot */
	memset(forged + 16, 'A', 8);                   /* ino 0x4141414141414141 */
	memcpy(forged + 24, &hash, 4);
	forged[28] = (char)strlen(victim);             /* name_len */
	forged[29] = DT_REG;                           /* type */
	forged[30] = 1;                                /* nslots */
	forged[31] = 'r';
	memcpy(forged + 32, victim, strlen(victim));
	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "x", 1), 0);
	assert_int_equal(umfs_dir_add(fs, dir, forged, 40, 2, DT_REG), 0);
	test_tx_close(fs);
	assert_int_equal(look(fs, dir, victim, &ino), -ENOENT);
	test_tx_open(fs);
	assert_int_equal(add(fs, dir, victim, 3), 0);
	test_tx_close(fs);
	assert_int_equal(look(fs, dir, victim, &ino), 0);
	assert_int_equal(ino, 3);
	assert_int_equal(umfs_dir_lookup(fs, dir, forged, 40, &ino, NULL), 0);
	assert_int_equal(ino, 2);
	check_structure(fs, dir);
}

/*
 * 600 names whose hashes share the low 12 bits drive one bucket to depth 13
 * and the map to 8192 entries (8 pages); the ordinary names added afterwards
 * split shallow buckets, each split updating map entries on every page.
 */
static void skewed_hashes_deepen_map(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755);
	struct model m;
	size_t n = 0;

	model_init(&m, 600 + 4000);
	for (uint64_t i = 0; n < 600; i++) {
		char name[32];
		int len = snprintf(name, sizeof(name), "skew%" PRIu64, i);

		if ((umfs_name_hash(name, (size_t)len) & 0xfff) != 0x5a5)
			continue;
		strcpy(m.name[n], name);
		m.ino[n] = 100 + n;
		n++;
	}
	for (; n < m.n; n++) {
		snprintf(m.name[n], sizeof(m.name[n]), "plain%zu", n);
		m.ino[n] = 100 + n;
	}
	model_add_all(fs, dir, &m);
	assert_true(dinfo(fs, dir)->gdepth >= 13);
	check_lookups(fs, dir, &m);
	check_listing(fs, dir, &m);
	check_structure(fs, dir);
	assert_int_equal(test_pool_remount(tp), 0);
	check_lookups(tp->fs, dir, &m);
	check_structure(tp->fs, dir);
	model_free(&m);
}

/* CRC-32C table (reflected 0x82F63B78): its entries' top bytes are all
 * distinct, which lets forge_crc run the CRC backwards. */
static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

/* Appends 4 bytes to name[0, len) so that its CRC-32C is crc. False when a
 * forged byte would be NUL or '/'. */
static bool forge_crc(char *name, size_t len, uint32_t crc)
{
	uint32_t st = ~umfs_crc32c(0, name, len), t = ~crc;
	uint8_t idx[4];

	for (int k = 3; k >= 0; k--) {
		unsigned i = 0;

		while (crc_table[i] >> 24 != t >> 24)
			i++;
		idx[k] = (uint8_t)i;
		t = (t ^ crc_table[i]) << 8;
	}
	for (int k = 0; k < 4; k++) {
		uint8_t b = (uint8_t)(st ^ idx[k]);

		if (b == 0 || b == '/')
			return false;
		name[len + (size_t)k] = (char)b;
		st = crc_table[idx[k]] ^ (st >> 8);
	}
	name[len + 4] = '\0';
	return true;
}

/*
 * 511 distinct names with one 32-bit hash: the bucket holding 510 of them
 * can never be split apart, so the 511th add fails with -ENOSPC, and the
 * aborted transaction leaves the directory as it was. Other names still fit.
 */
static void identical_hashes_fail_cleanly(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), ino;
	struct umfs_inode saved;
	struct dir_image im;
	struct model m;
	uint32_t hash = 0;
	size_t n = 0;

	crc_table_init();
	model_init(&m, UMFS_BUCKET_ENTRIES + 1);
	for (unsigned k = 0; n < m.n; k++) {
		snprintf(m.name[n], sizeof(m.name[n]), "c%07u", k);
		if (!forge_crc(m.name[n], 8, 0x5eed1234u))
			continue;
		assert_int_equal(umfs_crc32c(0, m.name[n], 12), 0x5eed1234u);
		if (n == 0)
			hash = umfs_name_hash(m.name[0], 12);
		assert_int_equal(umfs_name_hash(m.name[n], 12), hash);
		m.ino[n] = 10 + n;
		n++;
	}
	m.n = UMFS_BUCKET_ENTRIES;
	model_add_all(fs, dir, &m);
	check_lookups(fs, dir, &m);
	check_structure(fs, dir);

	saved = *umfs_inode(fs, dir);
	image_take(fs, dir, &im);
	test_tx_open(fs);
	assert_int_equal(add(fs, dir, m.name[UMFS_BUCKET_ENTRIES], 1), -ENOSPC);
	umfs_tx_abort(fs);
	umfs_meta_unlock(fs);
	assert_memory_equal(umfs_inode(fs, dir), &saved, sizeof(saved));
	image_check(fs, dir, &im);

	test_tx_open(fs);
	assert_int_equal(add(fs, dir, "ordinary", 2), 0);
	test_tx_close(fs);
	assert_int_equal(look(fs, dir, "ordinary", &ino), 0);
	assert_int_equal(ino, 2);
	assert_int_equal(look(fs, dir, m.name[UMFS_BUCKET_ENTRIES], &ino), -ENOENT);
	check_lookups(fs, dir, &m);
	check_structure(fs, dir);
	model_free(&m);
}

/* ------------------------------------------------------------------ */
/* 200,000 entries                                                      */
/* ------------------------------------------------------------------ */

#define BIG 200000

/* Names of exactly 10 bytes. */
static void big_name(char *buf, size_t i)
{
	snprintf(buf, 16, "big-%06zu", i % 1000000);
}

static double time_adds(struct umfs_fs *fs, uint64_t dir, size_t from, size_t to)
{
	uint64_t t0 = now_ns();
	char name[32];

	test_tx_open(fs);
	for (size_t i = from; i < to; i++) {
		big_name(name, i);
		assert_int_equal(add(fs, dir, name, i + 1), 0);
		tx_batch(fs, i + 1);
	}
	test_tx_close(fs);
	return (double)(now_ns() - t0) / (double)(to - from);
}

/* Random lookups of present names; names are formatted before timing. */
static double time_lookups(struct umfs_fs *fs, uint64_t dir, size_t n, size_t count)
{
	char (*names)[16] = malloc(count * sizeof(*names));
	size_t *idx = malloc(count * sizeof(*idx));
	uint64_t s = 12345, ino, t0, t;

	assert_non_null(names);
	assert_non_null(idx);
	for (size_t k = 0; k < count; k++) {
		idx[k] = test_rand_next(&s) % n;
		big_name(names[k], idx[k]);
	}
	t0 = now_ns();
	for (size_t k = 0; k < count; k++) {
		if (umfs_dir_lookup(fs, dir, names[k], 10, &ino, NULL) || ino != idx[k] + 1)
			fail_msg("lookup of %s", names[k]);
	}
	t = now_ns() - t0;
	free(names);
	free(idx);
	return (double)t / (double)count;
}

static void big_directory(void **state)
{
	struct test_pool *tp = *state;
	struct umfs_fs *fs = tp->fs;
	uint64_t dir = test_inode_make(fs, S_IFDIR | 0755), small = test_inode_make(fs, S_IFDIR | 0755), cookie = 0, s = 42, ino;
	bool *present = calloc(BIG, sizeof(*present));
	uint8_t *seen = calloc(BIG, 1);
	double add1k, look1k, add200k, look200k;
	struct umfs_dirent ent;
	size_t removed = 0, live;
	char name[32];
	int ret;

	assert_non_null(present);
	assert_non_null(seen);
	add1k = time_adds(fs, small, 0, 1000);
	look1k = time_lookups(fs, small, 1000, 100000);

	time_adds(fs, dir, 0, BIG - 1000);
	add200k = time_adds(fs, dir, BIG - 1000, BIG);
	look200k = time_lookups(fs, dir, BIG, 100000);
	for (size_t i = 0; i < BIG; i++)
		present[i] = true;
	print_message("[ dir timing ] 1k entries: add %.0f ns, lookup %.0f ns; "
		      "200k entries: add %.0f ns, lookup %.0f ns "
		      "(adds include journaling, %d per transaction)\n",
		      add1k, look1k, add200k, look200k, BATCH);
	print_message("[ dir shape  ] 200k: %u blocks, %u buckets, depth %u\n",
		      dinfo(fs, dir)->nblocks, dinfo(fs, dir)->nbuckets, dinfo(fs, dir)->gdepth);

	/* 50,000 random removals, then re-add half of what was removed */
	test_tx_open(fs);
	while (removed < 50000) {
		size_t i = test_rand_next(&s) % BIG;

		if (!present[i])
			continue;
		big_name(name, i);
		assert_int_equal(del(fs, dir, name, &ino), 0);
		assert_int_equal(ino, i + 1);
		present[i] = false;
		tx_batch(fs, ++removed);
	}
	test_tx_close(fs);
	test_tx_open(fs);
	for (size_t i = 0, k = 0; i < BIG; i++) {
		if (present[i] || test_rand_next(&s) % 2)
			continue;
		big_name(name, i);
		assert_int_equal(add(fs, dir, name, i + 1), 0);
		present[i] = true;
		tx_batch(fs, ++k);
	}
	test_tx_close(fs);

	live = 0;
	for (size_t i = 0; i < BIG; i++) {
		big_name(name, i);
		ret = look(fs, dir, name, &ino);
		if (present[i]) {
			assert_int_equal(ret, 0);
			assert_int_equal(ino, i + 1);
			live++;
		} else {
			assert_int_equal(ret, -ENOENT);
		}
	}
	assert_int_equal(dinfo(fs, dir)->nentries, live);

	while ((ret = umfs_dir_next(fs, dir, &cookie, &ent)) == 1) {
		size_t i;

		if (ent.name[0] == '.')
			continue;
		i = strtoul(ent.name + 4, NULL, 10);
		assert_true(i < BIG);
		assert_true(present[i]);
		assert_int_equal(ent.ino, i + 1);
		assert_int_equal(seen[i]++, 0);
	}
	assert_int_equal(ret, 0);
	for (size_t i = 0; i < BIG; i++)
		assert_int_equal(seen[i], present[i]);
	check_structure(fs, dir);
	free(present);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_lookup_remove_retarget, pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(bad_names, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(growth_builds_index, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(survives_remount, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(module_mode_uses_spares, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(abort_restores_directory, pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(cookies_survive_changes, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(cookie_inside_new_entry, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(damage_is_euclean, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(reclaim_frees_emptied_directory, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(emptied_directory_pages, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(removal_space_is_reused, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(forged_entry_inside_a_name, pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(skewed_hashes_deepen_map, pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(identical_hashes_fail_cleanly, pool_setup,
						pool_teardown),
		cmocka_unit_test(hash_spreads_low_bits),
		cmocka_unit_test_setup_teardown(big_directory, pool_setup, pool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
