/* SPDX-License-Identifier: MIT */
/* crash_lib.c - recording, images, checks and dumps for the crash tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crash_lib.h"

#define LINE UMFS_CACHELINE

/* ------------------------------------------------------------------ */
/* Recording                                                            */
/* ------------------------------------------------------------------ */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 1024;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	p = realloc(p, c * elem);
	if (!p) {
		fprintf(stderr, "crash: out of memory\n");
		exit(2);
	}
	*cap = c;
	return p;
}

static void rec_push(struct recorder *r, uint32_t kind, uint64_t off, const void *bytes)
{
	struct rec_event *e;

	r->ev = grow(r->ev, &r->cap_ev, r->nev + 1, sizeof(*r->ev));
	e = &r->ev[r->nev++];
	e->kind = kind;
	e->off = off;
	e->line = 0;
	if (bytes) {
		r->lines = grow(r->lines, &r->cap_lines, (r->nlines + 1), LINE);
		memcpy(r->lines + r->nlines * LINE, bytes, LINE);
		e->line = (uint32_t)r->nlines++;
	}
}

static void rec_flush(void *arg, const void *addr, size_t len)
{
	struct recorder *r = arg;
	const uint8_t *p = addr;

	if (len == 0 || p < r->base || p >= r->base + r->len)
		return;
	for (uint64_t off = (uint64_t)(p - r->base) & ~(uint64_t)(LINE - 1);
	     off < (uint64_t)(p - r->base) + len && off < r->len; off += LINE)
		rec_push(r, REC_FLUSH, off, r->base + off);
}

static void rec_drain(void *arg)
{
	struct recorder *r = arg;

	rec_push(r, REC_FENCE, 0, NULL);
	r->nfences++;
}

void rec_init(struct recorder *r, const void *base, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->len = len;
	r->hook.flush = rec_flush;
	r->hook.drain = rec_drain;
	r->hook.arg = r;
}

void rec_start(struct recorder *r)
{
	umfs_persist_hook_set(&r->hook);
}

void rec_stop(void)
{
	umfs_persist_hook_set(NULL);
}

void rec_free(struct recorder *r)
{
	free(r->ev);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

void rec_apply(const struct recorder *r, size_t e, uint8_t *img)
{
	const struct rec_event *ev = &r->ev[e];

	if (ev->kind == REC_FLUSH)
		memcpy(img + ev->off, r->lines + (size_t)ev->line * LINE, LINE);
}

/* ------------------------------------------------------------------ */
/* Images                                                               */
/* ------------------------------------------------------------------ */

int image_init(struct image *im, const void *initial, size_t len)
{
	im->fd = memfd_create("umfs-crash-image", MFD_CLOEXEC);
	if (im->fd < 0)
		return -errno;
	if (ftruncate(im->fd, (off_t)len) < 0)
		return -errno;
	im->len = len;
	im->cur = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, im->fd, 0);
	if (im->cur == MAP_FAILED)
		return -errno;
	memcpy(im->cur, initial, len);
	return 0;
}

void image_free(struct image *im)
{
	munmap(im->cur, im->len);
	close(im->fd);
}

uint8_t *image_view(const struct image *im)
{
	void *p = mmap(NULL, im->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, im->fd, 0);

	if (p == MAP_FAILED) {
		perror("crash: mmap");
		exit(2);
	}
	return p;
}

void image_view_free(const struct image *im, uint8_t *view)
{
	munmap(view, im->len);
}

/* ------------------------------------------------------------------ */
/* Dumps                                                                */
/* ------------------------------------------------------------------ */

static void dump_add(struct dump *d, char *line)
{
	d->line = grow(d->line, &d->cap, d->n + 1, sizeof(*d->line));
	d->line[d->n++] = line;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fprintf(stderr, "crash: out of memory\n");
		exit(2);
	}
	return s;
}

#define CRC_CHUNK (1 << 16)

static bool chunk_zero(const uint8_t *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/*
 * CRC of a file's content read through the API, or -errno: of each 64 KiB
 * chunk that holds a nonzero byte, its offset and bytes. Holes are skipped
 * with SEEK_DATA, so a sparse file of terabytes costs what it holds, and
 * a hole and zeros written there give the same CRC, as they read the same.
 */
static int64_t file_crc(struct umfs_fs *fs, const char *path, uint64_t size)
{
	static uint8_t buf[CRC_CHUNK];
	struct umfs_file *f;
	uint32_t c = 0;
	uint64_t next = 0; /* chunks below it are summed */
	int err;

	err = umfs_open(fs, path, O_RDONLY, 0, &f);
	if (err)
		return err;
	while (next < size) {
		off_t data = umfs_lseek(f, (off_t)next, SEEK_DATA), hole;
		uint64_t off;

		if (data == -ENXIO)
			break;
		hole = data < 0 ? data : umfs_lseek(f, data, SEEK_HOLE);
		if (hole < 0) {
			umfs_close(f);
			return hole;
		}
		for (off = (uint64_t)data & ~(uint64_t)(CRC_CHUNK - 1); off < (uint64_t)hole;
		     off += CRC_CHUNK) {
			size_t want = (size_t)UMFS_MIN((uint64_t)CRC_CHUNK, size - off);
			ssize_t n = umfs_pread(f, buf, want, (off_t)off);

			if (n != (ssize_t)want) {
				umfs_close(f);
				return n < 0 ? n : -EIO;
			}
			if (!chunk_zero(buf, want)) {
				c = umfs_crc32c(c, &off, sizeof(off));
				c = umfs_crc32c(c, buf, want);
			}
		}
		next = off;
	}
	umfs_close(f);
	return c;
}

static int dump_dir(struct umfs_fs *fs, const char *dir, struct dump *d, int depth)
{
	struct umfs_dirent ent;
	struct umfs_dir *dp;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int err, r;

	if (depth > 32)
		return -ELOOP;
	err = umfs_opendir(fs, dir, &dp);
	if (err)
		return err;
	while ((r = umfs_readdir(dp, &ent)) == 1) {
		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		names = grow(names, &cap, n + 1, sizeof(*names));
		names[n++] = xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", ent.name);
	}
	umfs_closedir(dp);
	err = r;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !err; i++) {
		struct stat st;
		char extra[UMFS_SYMLINK_MAX + 32];

		err = umfs_stat(fs, names[i], &st, AT_SYMLINK_NOFOLLOW);
		if (err)
			break;
		extra[0] = '\0';
		if (S_ISREG(st.st_mode)) {
			int64_t c = file_crc(fs, names[i], (uint64_t)st.st_size);

			if (c < 0) {
				err = (int)c;
				break;
			}
			snprintf(extra, sizeof(extra), "crc=%08" PRIx32, (uint32_t)c);
		} else if (S_ISLNK(st.st_mode)) {
			char t[UMFS_SYMLINK_MAX + 1];
			ssize_t len = umfs_readlink(fs, names[i], t, sizeof(t) - 1);

			if (len < 0) {
				err = (int)len;
				break;
			}
			t[len] = '\0';
			snprintf(extra, sizeof(extra), "->%s", t);
		}
		dump_add(d, xasprintf("%s\tmode=%o size=%lld nlink=%lu ino=%llu\t%s", names[i],
				      st.st_mode, S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size,
				      (unsigned long)st.st_nlink, (unsigned long long)st.st_ino,
				      extra));
		if (S_ISDIR(st.st_mode))
			err = dump_dir(fs, names[i], d, depth + 1);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int dump_take(struct umfs_fs *fs, struct dump *d)
{
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	err = umfs_stat(fs, "/", &st, 0);
	if (err)
		return err;
	dump_add(d, xasprintf("/\tmode=%o nlink=%lu ino=%llu\t", st.st_mode,
			      (unsigned long)st.st_nlink, (unsigned long long)st.st_ino));
	return dump_dir(fs, "/", d, 0);
}

void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->line[i]);
	free(d->line);
	memset(d, 0, sizeof(*d));
}

bool dump_equal(const struct dump *a, const struct dump *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->line[i], b->line[i]))
			return false;
	return true;
}

static bool line_is(const char *line, const char *path)
{
	size_t n = strlen(path);

	return !strncmp(line, path, n) && line[n] == '\t';
}

bool dump_equal_except(const struct dump *a, const struct dump *b, const char *path)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (line_is(a->line[i], path) && line_is(b->line[i], path))
			continue;
		if (strcmp(a->line[i], b->line[i]))
			return false;
	}
	return true;
}

void dump_diff(const struct dump *a, const struct dump *b, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < a->n && i < b->n; i++)
		if (strcmp(a->line[i], b->line[i]))
			break;
	snprintf(out, outlen, "first difference at line %zu: got '%s', expected '%s'", i,
		 i < a->n ? a->line[i] : "(end)", i < b->n ? b->line[i] : "(end)");
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

int check_mount(uint8_t *view, size_t len, unsigned flags, struct umfs_fs **fs, char *why,
		size_t whylen)
{
	struct umfs_pmem pm = {
		.base = view, .len = len, .media = UMFS_MEDIA_SHM, .rdonly = false, .fd = -1,
	};
	int err = umfs_fs_bind(&pm, flags, fs);

	if (err) {
		snprintf(why, whylen, "mount failed: %s (%s)", strerror(-err), umfs_mount_error());
		return -1;
	}
	return 0;
}

/* Pages of a U-Log chain, counted as the core's recovery would accept them. */
static uint64_t ulog_pages(struct umfs_fs *fs, uint64_t ino)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t off = in->ulog, n = 0;

	while (off && n < 64 && umfs_off_is_page(fs, off)) {
		const struct umfs_ulog *u = umfs_off_ptr(fs, off);

		if (u->magic != UMFS_ULOG_MAGIC || u->ino != ino)
			break;
		if (n == 0 && u->spare)
			n++; /* the head's spare page belongs to the chain */
		n++;
		off = u->next;
	}
	return n;
}

int check_space(struct umfs_fs *fs, char *why, size_t whylen)
{
	struct statvfs sv;
	uint64_t pages = 0, inodes = 0;

	if (umfs_statfs(fs, &sv)) {
		snprintf(why, whylen, "statfs failed");
		return -1;
	}
	for (uint64_t ino = UMFS_ROOT_INO; ino < fs->inode_count; ino++) {
		if (!umfs_inode_live(fs, ino))
			continue;
		inodes++;
		pages += umfs_inode(fs, ino)->blocks + ulog_pages(fs, ino);
	}
	if (sv.f_blocks - sv.f_bfree != pages) {
		snprintf(why, whylen, "statfs says %llu pages used, the live inodes own %llu",
			 (unsigned long long)(sv.f_blocks - sv.f_bfree), (unsigned long long)pages);
		return -1;
	}
	if (sv.f_files - sv.f_ffree != inodes) {
		snprintf(why, whylen, "statfs says %llu inodes used, %llu are live",
			 (unsigned long long)(sv.f_files - sv.f_ffree), (unsigned long long)inodes);
		return -1;
	}
	return 0;
}

/* Runs the engine on view; on a nonzero exit (or any damage) why gets the
 * first damage line, or the first line. */
static int run_fsck(uint8_t *view, size_t len, enum fsck_mode mode, char *why, size_t whylen,
		    struct fsck_summary *sump)
{
	struct umfs_pmem pm = {
		.base = view, .len = len, .media = UMFS_MEDIA_SHM, .rdonly = false, .fd = -1,
	};
	struct fsck_summary sum;
	char *text = NULL;
	size_t tlen = 0;
	FILE *out = open_memstream(&text, &tlen);
	struct fsck_opts opts = { .mode = mode, .force = true, .out = out, .name = "image" };
	int code;

	code = fsck_check(&pm, &opts, &sum);
	fclose(out);
	if (why && (code != FSCK_EXIT_OK || sum.problems)) {
		char *line = text ? strstr(text, "damage: ") : NULL, *nl;

		if (line == NULL)
			line = text;
		nl = line ? strchr(line, '\n') : NULL;
		if (nl)
			*nl = '\0';
		snprintf(why, whylen, "fsck exit %d, %lu problem(s): %s", code, sum.problems,
			 line ? line : "");
	}
	free(text);
	if (sump)
		*sump = sum;
	return code;
}

int check_finish(struct umfs_fs *fs, uint8_t *view, size_t len, char *why, size_t whylen)
{
	struct fsck_summary sum;
	int err = umfs_unmount(fs);

	if (err) {
		snprintf(why, whylen, "unmount failed: %s", strerror(-err));
		return -1;
	}
	if (run_fsck(view, len, FSCK_MODE_CHECK, why, whylen, &sum) != FSCK_EXIT_OK)
		return -1;
	/* after a clean unmount not even crash state is left */
	if (sum.recoverable || sum.crash[FSCK_CRASH_DIRTY]) {
		snprintf(why, whylen, "fsck finds crash state after a clean unmount");
		return -1;
	}
	return 0;
}

int check_crash_only(uint8_t *view, size_t len, char *why, size_t whylen)
{
	struct fsck_summary sum;
	int code = run_fsck(view, len, FSCK_MODE_CHECK, why, whylen, &sum);

	return code == FSCK_EXIT_OK && sum.problems == 0 ? 0 : -1;
}

int check_repair(uint8_t *view, size_t len)
{
	return run_fsck(view, len, FSCK_MODE_REPAIR, NULL, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Pools and small helpers                                              */
/* ------------------------------------------------------------------ */

int pool_create(char *path, size_t pathlen, const char *tag, uint64_t size, uint32_t sbflags)
{
	const char *dir = getenv("UMFS_TEST_DIR");
	static unsigned counter;
	struct umfs_format_opts opts = { .label = "crash", .default_flags = sbflags };
	struct umfs_pmem pm;
	int err;

	snprintf(path, pathlen, "%s/umfs-crash-%s-%d-%u.pool", dir ? dir : "/dev/shm", tag,
		 (int)getpid(), counter++);
	unlink(path);
	err = umfs_pmem_map(path, size, false, &pm);
	if (err)
		return err;
	err = umfs_format(&pm, &opts, NULL);
	umfs_pmem_unmap(&pm);
	return err;
}

uint64_t xrand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

void fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull | 1;
	uint8_t *p = buf;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = xrand(&s);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)xrand(&s);
}

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
