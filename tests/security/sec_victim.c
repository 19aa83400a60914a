/* SPDX-License-Identifier: MIT */
/*
 * sec_victim.c - the crafted-pool test's workload: reads and writes a
 * pool populated as craft_pool.h says and checks every answer against a
 * model of what the sound pool holds and what was written.
 *
 *   sec_victim_api POOL MARKER         through the C API (mounts POOL)
 *   sec_victim ROOT MARKER POOL|-      through plain C library calls under
 *                                      ROOT: the LD_PRELOAD library under
 *                                      umfs-run, or a umfs-fuse mount
 *
 * The work: list / and /d, read every file; then overwrite in place
 * (across a page, across a 2 MiB leaf, a large copy-on-write overwrite),
 * append, write into a hole, truncate down and up, fallocate, create,
 * rename, unlink; then list and read everything again. Each answer is
 *   refused  EUCLEAN or EIO (the damage was seen)
 *   ok       what the model says
 *   wrong    other bytes, another size, another error, another listing
 * and a line says each refusal and wrong answer. A file refused at open
 * is left alone after that; a write refused changes nothing in the model.
 * A short read or write is asked again for the rest, as programs do: the
 * answer that ends it counts.
 *
 * Canaries: an 8 MiB private buffer and a 4 MiB shared anonymous mapping
 * placed right after the pool's last mapping (MAP_FIXED_NOREPLACE at its
 * end, found in /proc/self/maps by POOL's path; elsewhere if that is
 * taken),
 * both filled with MARKER. Last lines:
 *   result ok=N refused=N wrong=N
 *   canary unchanged | canary CHANGED (...)   and where the shared one is
 * Exit 3: the pool was not mounted (C API).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "craft_pool.h"

#ifdef VICTIM_API
#include "core.h"
#include "umfs.h"
#endif

#define MIB (1ull << 20)
#define UMFS_MIN_(a, b) ((a) < (b) ? (a) : (b))
#define CANARY_PRIV (8 * MIB)
#define CANARY_SHARED (4 * MIB)

static unsigned n_ok, n_refused, n_wrong;

static void refused(const char *op, const char *path, int err)
{
	printf("refused %s %s: %s\n", op, path, strerrorname_np(-err) ?: "?");
	n_refused++;
}

static void wrong(const char *op, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wrong(const char *op, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (n_wrong < 40) {
		printf("wrong %s %s: ", op, path);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	n_wrong++;
}

/* An error answer: refused or wrong. */
static void failed(const char *op, const char *path, long err)
{
	if (err == -EUCLEAN || err == -EIO)
		refused(op, path, (int)err);
	else
		wrong(op, path, "%s", strerrorname_np((int)-err) ?: "short");
}

/* ------------------------------------------------------------------ */
/* The two front ends                                                   */
/* ------------------------------------------------------------------ */

#ifdef VICTIM_API
static struct umfs_fs *vfs;
typedef struct umfs_file vfile;

static const char *vpath(const char *rel, char *buf)
{
	snprintf(buf, 4096, "/%s", rel);
	return buf;
}
static int v_open(const char *rel, int flags, vfile **f)
{
	char b[4096];

	return umfs_open(vfs, vpath(rel, b), flags, 0644, f);
}
static long v_pread(vfile *f, void *buf, size_t n, uint64_t off) { return umfs_pread(f, buf, n, (off_t)off); }
static long v_pwrite(vfile *f, const void *buf, size_t n, uint64_t off) { return umfs_pwrite(f, buf, n, (off_t)off); }
static int v_ftruncate(vfile *f, uint64_t size) { return umfs_ftruncate(f, (off_t)size); }
static int v_fallocate(vfile *f, uint64_t off, uint64_t len) { return umfs_fallocate(f, 0, (off_t)off, (off_t)len); }
static int v_close(vfile *f) { return umfs_close(f); }
static int v_fstat(vfile *f, struct stat *st) { return umfs_fstat(f, st); }
static int v_unlink(const char *rel)
{
	char b[4096];

	return umfs_unlink(vfs, vpath(rel, b));
}
static int v_rename(const char *from, const char *to)
{
	char a[4096], b[4096];

	return umfs_rename(vfs, vpath(from, a), vpath(to, b), 0);
}
/* Calls fn for each name but . and .. */
static int v_list(const char *rel, void (*fn)(const char *, void *), void *arg)
{
	struct umfs_dir *d;
	struct umfs_dirent de;
	char b[4096];
	int err = umfs_opendir(vfs, vpath(rel, b), &d);

	if (err)
		return err;
	while ((err = umfs_readdir(d, &de)) == 1)
		if (strcmp(de.name, ".") && strcmp(de.name, ".."))
			fn(de.name, arg);
	umfs_closedir(d);
	return err < 0 ? err : 0;
}
#else
static const char *vroot;
typedef struct { int fd; } vfile;

static const char *vpath(const char *rel, char *buf)
{
	snprintf(buf, 4096, "%s/%s", vroot, rel);
	return buf;
}
static int v_open(const char *rel, int flags, vfile **f)
{
	char b[4096];
	int fd = open(vpath(rel, b), flags, 0644);

	if (fd < 0)
		return -errno;
	*f = malloc(sizeof(**f));
	(*f)->fd = fd;
	return 0;
}
static long v_pread(vfile *f, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(f->fd, buf, n, (off_t)off);

	return r < 0 ? -errno : r;
}
static long v_pwrite(vfile *f, const void *buf, size_t n, uint64_t off)
{
	ssize_t r = pwrite(f->fd, buf, n, (off_t)off);

	return r < 0 ? -errno : r;
}
static int v_ftruncate(vfile *f, uint64_t size) { return ftruncate(f->fd, (off_t)size) ? -errno : 0; }
static int v_fallocate(vfile *f, uint64_t off, uint64_t len)
{
	return fallocate(f->fd, 0, (off_t)off, (off_t)len) ? -errno : 0;
}
static int v_close(vfile *f)
{
	int r = close(f->fd) ? -errno : 0;

	free(f);
	return r;
}
static int v_fstat(vfile *f, struct stat *st) { return fstat(f->fd, st) ? -errno : 0; }
static int v_unlink(const char *rel)
{
	char b[4096];

	return unlink(vpath(rel, b)) ? -errno : 0;
}
static int v_rename(const char *from, const char *to)
{
	char a[4096], b[4096];

	return rename(vpath(from, a), vpath(to, b)) ? -errno : 0;
}
static int v_list(const char *rel, void (*fn)(const char *, void *), void *arg)
{
	char b[4096];
	DIR *d = opendir(vpath(rel, b));
	struct dirent *de;

	if (!d)
		return -errno;
	errno = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fn(de->d_name, arg);
	b[0] = (char)errno;
	closedir(d);
	return b[0] ? -(int)(unsigned char)b[0] : 0;
}
#endif

/* ------------------------------------------------------------------ */
/* The model                                                            */
/* ------------------------------------------------------------------ */

struct mop {
	char kind; /* 'w' bytes of fid at [off, off + len), 't' truncated to off */
	unsigned fid;
	uint64_t off, len;
};

struct mfile {
	char path[32];
	unsigned fid;
	uint64_t size;
	struct cp_range w[2];
	struct mop ops[64];
	unsigned nops;
	bool exists, gone; /* gone: refused at open, left alone */
};

#define NMODEL (CP_NFILES + CP_DIR_FILES + 2)
static struct mfile model[NMODEL];
static unsigned nmodel;

static struct mfile *model_add(const char *path, unsigned fid, uint64_t size)
{
	struct mfile *m = &model[nmodel++];

	snprintf(m->path, sizeof(m->path), "%s", path);
	m->fid = fid;
	m->size = size;
	m->exists = true;
	return m;
}

static void model_init(void)
{
	char path[32];

	for (unsigned i = 0; i < CP_NFILES; i++) {
		struct mfile *m = model_add(cp_files[i].path, cp_files[i].fid, cp_files[i].size);

		memcpy(m->w, cp_files[i].w, sizeof(m->w));
	}
	for (unsigned i = 0; i < CP_DIR_FILES; i++) {
		snprintf(path, sizeof(path), "d/n%03u", i);
		model_add(path, cp_dir_fid(i), CP_DIR_FILE_SIZE)->w[0] =
			(struct cp_range){ 0, CP_DIR_FILE_SIZE };
	}
}

static struct mfile *model_find(const char *path)
{
	for (unsigned i = 0; i < nmodel; i++)
		if (model[i].exists && !strcmp(model[i].path, path))
			return &model[i];
	return NULL;
}

static void model_op(struct mfile *m, char kind, unsigned fid, uint64_t off, uint64_t len)
{
	if (m->nops < sizeof(m->ops) / sizeof(m->ops[0]))
		m->ops[m->nops++] = (struct mop){ kind, fid, off, len };
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

static uint8_t iobuf[1 << 20], expect[1 << 20];

/* The pattern of fid over [from, to) of the window [off, off + n) of buf. */
static void fill_range(uint8_t *buf, uint64_t off, uint64_t n, uint64_t from, uint64_t to,
		       int fid)
{
	from = from > off ? from : off;
	to = to < off + n ? to : off + n;
	for (uint64_t x = from; x < to; x++)
		buf[x - off] = fid < 0 ? 0 : cp_byte((unsigned)fid, x);
}

/* What the model says [off, off + n) of m holds. */
static void model_fill(const struct mfile *m, uint8_t *buf, uint64_t off, uint64_t n)
{
	memset(buf, 0, n);
	for (unsigned r = 0; r < 2; r++)
		fill_range(buf, off, n, m->w[r].off, m->w[r].off + m->w[r].len, (int)m->fid);
	for (unsigned k = 0; k < m->nops; k++) {
		const struct mop *o = &m->ops[k];

		if (o->kind == 'w')
			fill_range(buf, off, n, o->off, o->off + o->len, (int)o->fid);
		else
			fill_range(buf, off, n, o->off, UINT64_MAX, -1);
	}
}

/* Reads [off, off + len) of f and compares with the model. */
static bool check_range(vfile *f, const struct mfile *m, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < sizeof(iobuf) ? (size_t)len : sizeof(iobuf);
		long r = v_pread(f, iobuf, n, off);

		/* a short read is an answer: the next one says why it stopped */
		if (r <= 0) {
			failed("read", m->path, r < 0 ? r : -ENODATA);
			return false;
		}
		n = (size_t)r;
		model_fill(m, expect, off, n);
		if (memcmp(iobuf, expect, n))
			for (size_t i = 0; i < n; i++)
				if (iobuf[i] != expect[i]) {
					wrong("read", m->path, "byte at %" PRIu64 " is 0x%02x, want 0x%02x",
					      off + i, iobuf[i], expect[i]);
					return false;
				}
		off += n;
		len -= n;
	}
	return true;
}

/* The windows read of a file: all of it, or around what a sparse file
 * holds and what was written there. */
static bool check_file(struct mfile *m)
{
	static const uint64_t win[][2] = {
		{ 0, 16384 }, { CP_GIB - 8192, 24576 }, { 512 * MIB - 4096, 12288 },
	};
	struct stat st;
	vfile *f;
	bool ok = true;
	int err;

	if (m->gone)
		return true;
	err = v_open(m->path, O_RDONLY, &f);
	if (err) {
		failed("open", m->path, err);
		m->gone = err == -EUCLEAN || err == -EIO;
		return false;
	}
	err = v_fstat(f, &st);
	if (err) {
		failed("fstat", m->path, err);
		ok = false;
	} else if ((uint64_t)st.st_size != m->size) {
		wrong("fstat", m->path, "size %lld, want %" PRIu64, (long long)st.st_size, m->size);
		ok = false;
	} else if (m->size <= 16 * MIB) {
		ok = check_range(f, m, 0, m->size);
	} else {
		for (unsigned i = 0; ok && i < 3; i++)
			if (win[i][0] < m->size)
				ok = check_range(f, m, win[i][0],
						 UMFS_MIN_(win[i][1], m->size - win[i][0]));
		if (ok)
			ok = check_range(f, m, m->size - 8192, 8192);
	}
	v_close(f);
	if (ok)
		n_ok++;
	return ok;
}

struct want_list {
	const char *dir;
	char seen[NMODEL];
	unsigned extra;
};

static void list_one(const char *name, void *arg)
{
	struct want_list *w = arg;
	char path[300];
	struct mfile *m;

	snprintf(path, sizeof(path), "%s%s%s", w->dir, *w->dir ? "/" : "", name);
	m = model_find(path);
	if (!strcmp(path, "d") && !*w->dir)
		return;
	if (!m || w->seen[m - model]++) {
		if (w->extra++ < 3)
			wrong("readdir", w->dir, "lists %s %s", name, m ? "twice" : "(not in the model)");
		else
			n_wrong++;
	}
}

static void check_list(const char *dir)
{
	static struct want_list w;
	size_t dl = strlen(dir);
	unsigned missing = 0;
	int err;

	memset(&w, 0, sizeof(w));
	w.dir = dir;
	err = v_list(*dir ? dir : ".", list_one, &w);
	if (err) {
		failed("readdir", *dir ? dir : "/", err);
		return;
	}
	for (unsigned i = 0; i < nmodel; i++) {
		const char *p = model[i].path;
		bool here = *dir ? !strncmp(p, dir, dl) && p[dl] == '/' && !strchr(p + dl + 1, '/') :
				   !strchr(p, '/');

		if (model[i].exists && here && !w.seen[i] && missing++ < 3)
			wrong("readdir", *dir ? dir : "/", "misses %s", p);
	}
	if (missing > 3)
		n_wrong += missing - 3;
	if (!missing && !w.extra)
		n_ok++;
}

static void check_all(void)
{
	check_list("");
	check_list("d");
	for (unsigned i = 0; i < nmodel; i++)
		if (model[i].exists)
			check_file(&model[i]);
}

/* ------------------------------------------------------------------ */
/* Writes                                                               */
/* ------------------------------------------------------------------ */

static uint8_t wbuf[1 << 20];

/* Writes len bytes of fid at off into the open file, in the model too. */
static void do_write(vfile *f, struct mfile *m, unsigned fid, uint64_t off, uint64_t len)
{
	long r;

	for (uint64_t i = 0; i < len; i++)
		wbuf[i] = cp_byte(fid, off + i);
	/* a short write is a success: the rest is written again, as a
	 * program would, and its answer counts */
	for (uint64_t done = 0; done < len; done += (uint64_t)r) {
		r = v_pwrite(f, wbuf + done, len - done, off + done);
		if (r <= 0) {
			failed("write", m->path, r < 0 ? r : -ENOSPC);
			return;
		}
		model_op(m, 'w', fid, off + done, (uint64_t)r);
		if (off + done + (uint64_t)r > m->size)
			m->size = off + done + (uint64_t)r;
	}
	n_ok++;
}

static void do_truncate(vfile *f, struct mfile *m, uint64_t size)
{
	int err = v_ftruncate(f, size);

	if (err) {
		failed("truncate", m->path, err);
		return;
	}
	if (size < m->size)
		model_op(m, 't', 0, size, 0);
	m->size = size;
	n_ok++;
}

static void do_fallocate(vfile *f, struct mfile *m, uint64_t off, uint64_t len)
{
	int err = v_fallocate(f, off, len);

	if (err) {
		failed("fallocate", m->path, err);
		return;
	}
	if (off + len > m->size)
		m->size = off + len;
	n_ok++;
}

/* One step of the write phase on file path: its writes run with it open. */
static void writes_on(const char *path, void (*fn)(vfile *, struct mfile *))
{
	struct mfile *m = model_find(path);
	vfile *f;
	int err;

	if (!m || m->gone)
		return;
	err = v_open(path, O_RDWR, &f);
	if (err) {
		failed("open", path, err);
		m->gone = err == -EUCLEAN || err == -EIO;
		return;
	}
	fn(f, m);
	err = v_close(f);
	if (err)
		failed("close", path, err);
}

static void w_one(vfile *f, struct mfile *m)
{
	do_write(f, m, 201, 1000, 300);
	do_write(f, m, 202, m->size, 5000);
}

static void w_few(vfile *f, struct mfile *m)
{
	do_write(f, m, 203, 4000, 300);
	do_truncate(f, m, 5000);
	do_truncate(f, m, 9000);
	do_fallocate(f, m, 9000, 11000);
}

static void w_big(vfile *f, struct mfile *m)
{
	do_write(f, m, 204, 2 * MIB - 100, 200);
	do_write(f, m, 205, MIB, 256 << 10);
	do_write(f, m, 206, m->size, 4096);
}

static void w_sparse(vfile *f, struct mfile *m)
{
	do_write(f, m, 207, 512 * MIB, 4096);
	do_write(f, m, 208, CP_GIB + 4096 + 10, 100);
	do_write(f, m, 209, 100, 100);
}

static void w_ulog(vfile *f, struct mfile *m)
{
	do_write(f, m, 210, 0, 500);
	do_write(f, m, 211, m->size, 100);
}

static void create(const char *path, unsigned fid, uint64_t len)
{
	struct mfile *m;
	vfile *f;
	int err = v_open(path, O_RDWR | O_CREAT | O_EXCL, &f);

	if (err) {
		failed("create", path, err);
		return;
	}
	m = model_add(path, fid, 0);
	do_write(f, m, fid, 0, len);
	err = v_close(f);
	if (err)
		failed("close", path, err);
}

static void names_change(void)
{
	struct mfile *m;
	int err;

	create("new", 212, 10000);
	if ((m = model_find("new"))) {
		err = v_rename("new", "d/renamed");
		if (err) {
			failed("rename", "new", err);
		} else {
			snprintf(m->path, sizeof(m->path), "d/renamed");
			n_ok++;
		}
	}
	err = v_unlink("d/n005");
	if (err) {
		failed("unlink", "d/n005", err);
	} else {
		if ((m = model_find("d/n005")))
			m->exists = false;
		n_ok++;
	}
	create("d/x", 213, 100);
}

static void write_all(void)
{
	writes_on("one", w_one);
	writes_on("few", w_few);
	writes_on("big", w_big);
	writes_on("sparse", w_sparse);
	writes_on("ulog", w_ulog);
	names_change();
}

/* ------------------------------------------------------------------ */
/* Canaries                                                             */
/* ------------------------------------------------------------------ */

static uint8_t *canary_priv, *canary_shared;
static size_t canary_len;
static const char *marker;

static void canary_fill(uint8_t *p, size_t len)
{
	size_t ml = strlen(marker);

	for (size_t i = 0; i + ml <= len; i += ml)
		memcpy(p + i, marker, ml);
}

/* The end of the last mapping of pool in this process (0: not found). */
static uintptr_t pool_map_end(const char *pool)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], real[4096];
	uintptr_t end = 0;

	if (!f || !realpath(pool, real)) {
		if (f)
			fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char *path = strchr(line, '/');

		if (path && sscanf(line, "%lx-%lx", &a, &b) == 2) {
			path[strcspn(path, "\n")] = '\0';
			if (!strcmp(path, real) && b > end)
				end = b;
		}
	}
	fclose(f);
	return end;
}

/* The shared canary, CANARY_SHARED long, or as much of it as fits at. */
static void canary_place(uintptr_t at)
{
	void *p = MAP_FAILED;

	for (canary_len = CANARY_SHARED; at && canary_len >= 64 << 10; canary_len /= 2) {
		p = mmap((void *)at, canary_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED && (uintptr_t)p != at) {
			munmap(p, canary_len); /* an old kernel's hint */
			p = MAP_FAILED;
		}
		if (p != MAP_FAILED)
			break;
	}
	if (getenv("VICTIM_MAPS")) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "cat /proc/%d/maps >&2", (int)getpid());
		if (system(cmd)) {}
	}
	printf("canary %s\n", p != MAP_FAILED ? "at the pool's end" :
			      at ? "not at the pool's end (taken)" : "away from the pool");
	if (p == MAP_FAILED) {
		canary_len = CANARY_SHARED;
		p = mmap(NULL, CANARY_SHARED, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	}
	canary_shared = p == MAP_FAILED ? NULL : p;
	if (canary_shared)
		canary_fill(canary_shared, canary_len);
}

static void canary_check(void)
{
	uint8_t *want = calloc(1, CANARY_SHARED);
	const char *bad = NULL;

	canary_fill(want, CANARY_SHARED);
	for (size_t i = 0; i < CANARY_PRIV && !bad; i += CANARY_SHARED)
		if (memcmp(canary_priv + i, want, CANARY_SHARED))
			bad = "the private buffer";
	if (canary_shared && memcmp(canary_shared, want, canary_len))
		bad = "the mapping after the pool";
	printf(bad ? "canary CHANGED (%s)\n" : "canary unchanged\n", bad);
	free(want);
}

int main(int argc, char **argv)
{
#ifdef VICTIM_API
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: sec_victim_api POOL MARKER\n");
		return 2;
	}
	marker = argv[2];
	canary_priv = malloc(CANARY_PRIV);
	canary_fill(canary_priv, CANARY_PRIV);
	err = umfs_mount(argv[1], 0, &vfs);
	if (err) {
		printf("mount refused: %s: %s\n", strerrorname_np(-err), umfs_mount_error());
		return 3;
	}
	canary_place(pool_map_end(argv[1])); /* after the last view of the pool */
#else
	if (argc != 4) {
		fprintf(stderr, "usage: sec_victim ROOT MARKER POOL|-\n");
		return 2;
	}
	vroot = argv[1];
	marker = argv[2];
	canary_priv = malloc(CANARY_PRIV);
	canary_fill(canary_priv, CANARY_PRIV);
	{
		struct stat st; /* the library maps the pool at its first call */

		(void)!stat(vroot, &st);
		canary_place(strcmp(argv[3], "-") ? pool_map_end(argv[3]) : 0);
	}
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	model_init();
	check_all();
	write_all();
	check_all();
#ifdef VICTIM_API
	err = umfs_unmount(vfs);
	if (err)
		failed("unmount", "/", err);
#endif
	printf("result ok=%u refused=%u wrong=%u\n", n_ok, n_refused, n_wrong);
	canary_check();
	return 0;
}
