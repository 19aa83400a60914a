/* SPDX-License-Identifier: MIT */
/* fsck_testlib.c - see fsck_testlib.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fsck_testlib.h"

void ft_pool_path(char *buf, size_t len, const char *tag)
{
	const char *dir = getenv("UMFS_TEST_DIR");
	static unsigned counter;

	snprintf(buf, len, "%s/umfs-fsck-%s-%d-%u.pool", dir ? dir : "/dev/shm", tag, (int)getpid(),
		 counter++);
}

int ft_pool_format(const char *path, uint64_t size, uint64_t inodes)
{
	struct umfs_format_opts opts = { .inode_count = inodes, .label = "fsck-test" };
	struct umfs_pmem pm;
	int err;

	unlink(path);
	err = umfs_pmem_map(path, size, false, &pm);
	if (err)
		return err;
	err = umfs_format(&pm, &opts, NULL);
	umfs_pmem_unmap(&pm);
	return err;
}

/* ------------------------------------------------------------------ */
/* Population                                                           */
/* ------------------------------------------------------------------ */

static int write_file(struct umfs_fs *fs, const char *path, uint64_t off, size_t len, int seed)
{
	struct umfs_file *f;
	uint8_t *buf = malloc(len ? len : 1);
	ssize_t n = 0;
	int err;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (size_t)seed);
	err = umfs_open(fs, path, O_CREAT | O_WRONLY, 0644, &f);
	if (!err) {
		if (len)
			n = umfs_pwrite(f, buf, len, (off_t)off);
		err = n < 0 ? (int)n : 0;
		umfs_close(f);
	}
	free(buf);
	return err;
}

#define STEP(call, name)                     \
	do {                                 \
		err = (call);                \
		if (err) {                   \
			*what = (name);      \
			goto out;            \
		}                            \
	} while (0)

int ft_pool_populate(const char *path, const char **what)
{
	struct umfs_fs *fs;
	char name[64];
	int err;

	*what = "mount";
	err = umfs_mount(path, 0, &fs);
	if (err)
		return err;
	/* The big file first, while the data zone has free 2 MiB runs. */
	STEP(write_file(fs, "/big", 0, 2u << 20, 1), "write /big");
	STEP(write_file(fs, "/big", 2u << 20, 10000, 2), "append /big");
	STEP(umfs_mkdir(fs, "/dir1", 0755), "mkdir /dir1");
	STEP(umfs_mkdir(fs, "/dir1/sub", 0750), "mkdir /dir1/sub");
	STEP(umfs_mkdir(fs, "/dir1/sub/deep", 0700), "mkdir /dir1/sub/deep");
	STEP(write_file(fs, "/dir1/sub/deep/file", 0, 5000, 3), "write deep/file");
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "/dir1/f%d", i);
		STEP(write_file(fs, name, 0, (size_t)i * 1500, i), "write /dir1/f*");
	}
	STEP(write_file(fs, "/sparse", 0, 100, 4), "write /sparse");
	STEP(write_file(fs, "/sparse", 5u << 20, 100, 5), "write /sparse far");
	STEP(umfs_symlink(fs, "dir1/f1", "/link"), "symlink /link");
	STEP(umfs_symlink(fs, "/dir1/sub/deep", "/dir1/deeplink"), "symlink deeplink");
	STEP(umfs_link(fs, "/dir1/f2", "/dir1/hard"), "link /dir1/hard");
	STEP(umfs_link(fs, "/dir1/f2", "/hard2"), "link /hard2");
	STEP(umfs_mknod(fs, "/fifo", S_IFIFO | 0644, 0), "mknod fifo");
	STEP(umfs_mknod(fs, "/chr", S_IFCHR | 0600, makedev(1, 3)), "mknod chr");
	STEP(umfs_mkdir(fs, "/empty", 0755), "mkdir /empty");

	/* An indexed directory: files and hard links over several blocks. */
	STEP(umfs_mkdir(fs, "/idx", 0755), "mkdir /idx");
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "/idx/file-with-a-longer-name-%03d", i);
		STEP(write_file(fs, name, 0, (size_t)(i % 3) * 100, i), "write /idx/*");
	}
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "/idx/l%03d", i);
		STEP(umfs_link(fs, "/idx/file-with-a-longer-name-000", name), "link /idx/l*");
	}
	/* Enough names for a bucket to split. */
	STEP(umfs_mkdir(fs, "/split", 0755), "mkdir /split");
	STEP(write_file(fs, "/split/target", 0, 10, 9), "write /split/target");
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "/split/n%d", i);
		STEP(umfs_link(fs, "/split/target", name), "link /split/n*");
	}
	/* Some churn: removed names leave free slots and freed pages. */
	for (int i = 0; i < 200; i += 3) {
		snprintf(name, sizeof(name), "/idx/l%03d", i);
		STEP(umfs_unlink(fs, name), "unlink /idx/l*");
	}
	STEP(umfs_unlink(fs, "/dir1/f9"), "unlink /dir1/f9");
	*what = "unmount";
	return umfs_unmount(fs);
out:
	umfs_unmount(fs);
	return err;
}

uint64_t ft_ino_of(const char *pool, const char *path)
{
	struct umfs_fs *fs;
	struct stat st;
	int err;

	if (umfs_mount(pool, UMFS_MOUNT_RDONLY, &fs))
		return 0;
	err = umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW);
	umfs_unmount(fs);
	return err ? 0 : (uint64_t)st.st_ino;
}

/* ------------------------------------------------------------------ */
/* Using a pool through the core                                        */
/* ------------------------------------------------------------------ */

/* Walks the whole tree through the core: readdir, stat and read. Returns
 * the number of errors the core reported. */
int ft_walk_tree(struct umfs_fs *fs, const char *dir, int depth, unsigned *visited,
		 unsigned per_dir)
{
	struct umfs_dir *d;
	struct umfs_dirent ent;
	int errors = 0, r;
	char path[4096];
	static char buf[65536];

	if (depth > 64 || ++*visited > 100000)
		return 1;
	r = umfs_opendir(fs, dir, &d);
	if (r)
		return 1;
	for (unsigned seen = 0; (r = umfs_readdir(d, &ent)) == 1;) {
		struct stat st;

		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		if (per_dir && ++seen > per_dir)
			continue; /* still read every entry, look only at the first */
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", ent.name);
		if (umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW)) {
			errors++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			errors += ft_walk_tree(fs, path, depth + 1, visited, per_dir);
		} else if (S_ISREG(st.st_mode)) {
			struct umfs_file *f;

			if (umfs_open(fs, path, O_RDONLY, 0, &f)) {
				errors++;
				continue;
			}
			for (off_t off = 0; off < st.st_size && off < (8 << 20);) {
				ssize_t n = umfs_pread(f, buf, sizeof(buf), off);

				if (n <= 0) {
					errors += n < 0;
					break;
				}
				off += n;
			}
			umfs_close(f);
		} else if (S_ISLNK(st.st_mode)) {
			errors += umfs_readlink(fs, path, buf, sizeof(buf)) < 0;
		}
	}
	errors += r < 0;
	umfs_closedir(d);
	return errors;
}

/* ------------------------------------------------------------------ */
/* Engine runs                                                          */
/* ------------------------------------------------------------------ */

int ft_fsck(const char *path, enum fsck_mode mode, bool force, char **text,
	    struct fsck_summary *sum)
{
	struct fsck_opts opts = { .mode = mode, .force = force, .name = path };
	struct fsck_summary local;
	struct umfs_pmem pm;
	size_t len = 0;
	char *buf = NULL;
	int err, code;

	if (!sum)
		sum = &local;
	if (mode == FSCK_MODE_CHECK)
		err = umfs_pmem_map_private(path, &pm);
	else
		err = umfs_pmem_map(path, 0, false, &pm);
	if (err)
		return FSCK_EXIT_OPERATIONAL;
	opts.out = open_memstream(&buf, &len);
	code = fsck_check(&pm, &opts, sum);
	fsck_summary_print(&opts, sum);
	fclose(opts.out);
	umfs_pmem_unmap(&pm);
	if (text)
		*text = buf;
	else
		free(buf);
	return code;
}

/* ------------------------------------------------------------------ */
/* Direct access                                                        */
/* ------------------------------------------------------------------ */

int ft_map_open(const char *path, struct ft_map *m)
{
	int err = umfs_pmem_map(path, 0, false, &m->pm);

	if (err)
		return err;
	m->base = m->pm.base;
	memcpy(&m->sb, m->base, sizeof(m->sb));
	return 0;
}

void ft_map_close(struct ft_map *m)
{
	umfs_persist(m->base, m->pm.len);
	umfs_pmem_unmap(&m->pm);
}

struct umfs_inode *ft_inode(struct ft_map *m, uint64_t ino)
{
	return (struct umfs_inode *)(m->base + m->sb.inode_off) + ino;
}

struct umfs_state *ft_state(struct ft_map *m)
{
	return (struct umfs_state *)(m->base + m->sb.state_off);
}

uint64_t *ft_ibitmap(struct ft_map *m)
{
	return (uint64_t *)(m->base + m->sb.ibitmap_off);
}

uint64_t *ft_pbitmap(struct ft_map *m)
{
	return (uint64_t *)(m->base + m->sb.pbitmap_off);
}

void ft_inode_seal(struct umfs_inode *in)
{
	umfs_inode_seal(in);
}

static uint64_t pte_off(const struct ft_map *m, uint64_t e)
{
	return (e & UMFS_PTE_ADDR_MASK) - m->sb.phys_base;
}

uint64_t ft_page_off(struct ft_map *m, const struct umfs_inode *in, uint64_t pg)
{
	uint64_t off = in->pt_root;

	if (in->pt_height == UMFS_PT_INLINE) /* the test's own walk: entries in the inode */
		return pg < UMFS_PT_INLINE_ENTRIES && in->pt_inline[pg] ? pte_off(m, in->pt_inline[pg])
									: 0;
	if (!off)
		return 0;
	if (in->pt_height == 0)
		return pg == 0 ? off : 0;
	for (unsigned level = in->pt_height; level >= 1; level--) {
		unsigned shift = (level - 1) * UMFS_PT_SHIFT;
		uint64_t e = ((uint64_t *)(m->base + off))[(pg >> shift) & 511];

		if (!e)
			return 0;
		if (level == 2 && (e & UMFS_PTE_PSE))
			return pte_off(m, e) + ((pg & 511) << UMFS_PAGE_SHIFT);
		off = pte_off(m, e);
	}
	return off;
}

struct pages {
	uint64_t *v;
	size_t n, cap;
};

static void pages_push(struct pages *p, uint64_t off)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 256;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v)
			abort();
	}
	p->v[p->n++] = off;
}

/* Table pages of a tree, and with data set its 4 KiB data pages too. */
static void collect(struct ft_map *m, uint64_t off, unsigned level, bool data, struct pages *t,
		    struct pages *d)
{
	const uint64_t *tab = (const uint64_t *)(m->base + off);

	pages_push(t, off);
	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++) {
		uint64_t e = tab[i];

		if (!e)
			continue;
		if (level == 1) {
			if (data)
				pages_push(d, pte_off(m, e));
		} else if (!(level == 2 && (e & UMFS_PTE_PSE))) {
			collect(m, pte_off(m, e), level - 1, data, t, d);
		}
	}
}

uint64_t *ft_meta_pages(struct ft_map *m, size_t *n, size_t *ntables)
{
	struct pages t = { 0 }, d = { 0 };
	const uint64_t *ibm = ft_ibitmap(m);

	for (uint64_t ino = 1; ino < m->sb.inode_count; ino++) {
		const struct umfs_inode *in = ft_inode(m, ino);
		bool dir = S_ISDIR(in->mode);

		if (!((ibm[ino / 64] >> (ino % 64)) & 1) || !in->mode || !in->pt_root)
			continue;
		if (in->pt_height == 0) {
			if (dir)
				pages_push(&d, in->pt_root);
			continue;
		}
		collect(m, in->pt_root, in->pt_height, dir, &t, &d);
	}
	*ntables = t.n;
	for (size_t i = 0; i < d.n; i++)
		pages_push(&t, d.v[i]);
	free(d.v);
	*n = t.n;
	return t.v;
}
