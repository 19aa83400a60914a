/* SPDX-License-Identifier: MIT */
/*
 * umfs-demo - exercises a freshly made pool through the UMFS C API.
 *
 *   umfs-demo [-b MIB] POOL
 *
 * Mounts POOL, builds a small directory tree, writes files (small ones, a
 * sparse one and one large file of -b MiB, 64 by default), reads everything
 * back and compares checksums, renames, links, symlinks, lists the tree,
 * removes a few things, then unmounts, mounts again read-only and verifies
 * every file once more, so that what was checked is what the pool kept.
 * Prints a summary; exits 0 when every check passed, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "umfs.h"

#define CHUNK (1u << 20)
#define NOTES 200
#define MAX_FILES (NOTES + 32)
#define LIST_MAX 6 /* entries listed per directory */

/* What the demo wrote, to verify after the remount. */
struct expect {
	char path[128];
	uint64_t size;
	uint64_t sum;
};

static struct expect expected[MAX_FILES];
static unsigned nexpected;

static struct {
	unsigned dirs, files, links, symlinks, renames, removed, verified;
	uint64_t bytes_written, bytes_read;
	double big_write_s, big_read_s;
} stats;

static const char *prog = "umfs-demo";

__attribute__((format(printf, 2, 3))) static void die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a, 64 bit, byte by byte so that the sum does not depend on how the
 * data was split into reads and writes. */
static uint64_t sum_update(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (; len; len--, p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}
#define SUM_INIT 0xcbf29ce484222325ull

/* Deterministic pseudo-random bytes (xorshift64*), seeded per file. */
static void fill(void *buf, size_t len, uint64_t *state)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t x = *state;
		size_t n = len < 8 ? len : 8;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		x *= 0x2545f4914f6cdd1dull;
		memcpy(p, &x, n);
		p += n;
		len -= n;
	}
}

static void remember(const char *path, uint64_t size, uint64_t sum)
{
	struct expect *e;

	if (nexpected == MAX_FILES)
		die(0, "too many files to remember");
	e = &expected[nexpected++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->size = size;
	e->sum = sum;
}

static struct expect *find_expect(const char *path)
{
	for (unsigned i = 0; i < nexpected; i++)
		if (!strcmp(expected[i].path, path))
			return &expected[i];
	return NULL;
}

static void do_mkdir(struct umfs_fs *fs, const char *path)
{
	int err = umfs_mkdir(fs, path, 0755);

	if (err)
		die(err, "mkdir %s", path);
	stats.dirs++;
}

/* Writes len bytes of seeded data in CHUNK pieces; returns the checksum. */
static uint64_t write_file(struct umfs_fs *fs, const char *path, uint64_t len, uint64_t seed)
{
	static uint8_t buf[CHUNK];
	struct umfs_file *f;
	uint64_t sum = SUM_INIT, done = 0;
	uint64_t state = seed | 1;
	int err;

	err = umfs_open(fs, path, O_CREAT | O_EXCL | O_WRONLY, 0644, &f);
	if (err)
		die(err, "create %s", path);
	while (done < len) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t w;

		fill(buf, n, &state);
		w = umfs_write(f, buf, n);
		if (w < 0)
			die((int)w, "write %s at %" PRIu64, path, done);
		if ((size_t)w != n)
			die(0, "write %s at %" PRIu64 ": short write of %zd bytes", path, done, w);
		sum = sum_update(sum, buf, n);
		done += n;
	}
	err = umfs_fsync(f, 0);
	if (err)
		die(err, "fsync %s", path);
	err = umfs_close(f);
	if (err)
		die(err, "close %s", path);
	stats.files++;
	stats.bytes_written += len;
	remember(path, len, sum);
	return sum;
}

/*
 * The large file: its contents are generated in memory first, so that the
 * times measure only the UMFS calls (1 MiB writes, then 1 MiB reads).
 */
static void big_file(struct umfs_fs *fs, const char *path, uint64_t len)
{
	uint8_t *data = malloc(len), *back = malloc(len);
	uint64_t state = 42, sum;
	struct umfs_file *f;
	double t0;
	int err;

	if (!data || !back)
		die(-ENOMEM, "buffers for %s", path);
	fill(data, len, &state);
	sum = sum_update(SUM_INIT, data, len);

	err = umfs_open(fs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f);
	if (err)
		die(err, "create %s", path);
	t0 = now_s();
	for (uint64_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t w = umfs_write(f, data + done, n);

		if (w != (ssize_t)n)
			die(w < 0 ? (int)w : 0, "write %s at %" PRIu64, path, done);
	}
	err = umfs_fsync(f, 0);
	if (err)
		die(err, "fsync %s", path);
	stats.big_write_s = now_s() - t0;

	memset(back, 0, len);
	t0 = now_s();
	for (uint64_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t r = umfs_pread(f, back + done, n, (off_t)done);

		if (r != (ssize_t)n)
			die(r < 0 ? (int)r : 0, "read %s at %" PRIu64, path, done);
	}
	stats.big_read_s = now_s() - t0;
	if (memcmp(data, back, len))
		die(0, "%s: data read back differs from what was written", path);
	err = umfs_close(f);
	if (err)
		die(err, "close %s", path);
	free(data);
	free(back);
	stats.files++;
	stats.bytes_written += len;
	stats.bytes_read += len;
	stats.verified++;
	remember(path, len, sum);
}

/* Reads a whole file back; checks its size and checksum against what was written. */
static void verify_file(struct umfs_fs *fs, const char *path, const struct expect *e)
{
	static uint8_t buf[CHUNK];
	struct umfs_file *f;
	struct stat st;
	uint64_t sum = SUM_INIT, done = 0;
	ssize_t r;
	int err;

	err = umfs_open(fs, path, O_RDONLY, 0, &f);
	if (err)
		die(err, "open %s", path);
	err = umfs_fstat(f, &st);
	if (err)
		die(err, "fstat %s", path);
	if ((uint64_t)st.st_size != e->size)
		die(0, "%s: size %jd, expected %" PRIu64, path, (intmax_t)st.st_size, e->size);
	while ((r = umfs_read(f, buf, CHUNK)) > 0) {
		sum = sum_update(sum, buf, (size_t)r);
		done += (uint64_t)r;
	}
	if (r < 0)
		die((int)r, "read %s at %" PRIu64, path, done);
	umfs_close(f);
	if (done != e->size)
		die(0, "%s: read %" PRIu64 " bytes, expected %" PRIu64, path, done, e->size);
	if (sum != e->sum)
		die(0, "%s: checksum %016" PRIx64 ", expected %016" PRIx64 ": data differs", path,
		    sum, e->sum);
	stats.verified++;
	stats.bytes_read += done;
}

static void verify_all(struct umfs_fs *fs)
{
	for (unsigned i = 0; i < nexpected; i++)
		verify_file(fs, expected[i].path, &expected[i]);
}

/* Renames an expected file and keeps the bookkeeping in step. */
static void do_rename(struct umfs_fs *fs, const char *from, const char *to)
{
	struct expect *e = find_expect(from);
	struct stat st;
	int err;

	err = umfs_rename(fs, from, to, 0);
	if (err)
		die(err, "rename %s -> %s", from, to);
	if (umfs_stat(fs, from, &st, 0) != -ENOENT)
		die(0, "rename %s -> %s: the old name still exists", from, to);
	if (e)
		snprintf(e->path, sizeof(e->path), "%s", to);
	stats.renames++;
}

/* A file with data at both ends and a hole in between that must read as zeros. */
static void sparse_file(struct umfs_fs *fs, const char *path)
{
	static const char head[] = "head of a sparse file\n", tail[] = "tail\n";
	const off_t tail_off = 10 << 20;
	uint8_t buf[4096];
	struct umfs_file *f;
	uint64_t sum;
	off_t data;
	int err;

	err = umfs_open(fs, path, O_CREAT | O_RDWR, 0644, &f);
	if (err)
		die(err, "create %s", path);
	if (umfs_pwrite(f, head, sizeof(head) - 1, 0) != (ssize_t)sizeof(head) - 1 ||
	    umfs_pwrite(f, tail, sizeof(tail) - 1, tail_off) != (ssize_t)sizeof(tail) - 1)
		die(0, "pwrite %s failed", path);
	if (umfs_pread(f, buf, sizeof(buf), 5 << 20) != (ssize_t)sizeof(buf))
		die(0, "pread %s in the hole failed", path);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i])
			die(0, "%s: byte %zu of the hole is %#x, not zero", path, i, buf[i]);
	data = umfs_lseek(f, 4096, SEEK_DATA);
	if (data < 0)
		die((int)data, "lseek SEEK_DATA %s", path);
	if (data > tail_off || data < 4096)
		die(0, "%s: SEEK_DATA from 4096 found %jd, expected the tail near %jd", path,
		    (intmax_t)data, (intmax_t)tail_off);
	umfs_close(f);

	/* checksum of the logical contents, hole included */
	sum = SUM_INIT;
	{
		static uint8_t zero[CHUNK];
		uint64_t left = (uint64_t)tail_off - (sizeof(head) - 1);

		sum = sum_update(sum, head, sizeof(head) - 1);
		while (left) {
			size_t n = left < CHUNK ? (size_t)left : CHUNK;

			sum = sum_update(sum, zero, n);
			left -= n;
		}
		sum = sum_update(sum, tail, sizeof(tail) - 1);
	}
	stats.files++;
	stats.bytes_written += sizeof(head) - 1 + sizeof(tail) - 1;
	remember(path, (uint64_t)tail_off + sizeof(tail) - 1, sum);
}

static const char *type_name(unsigned char t)
{
	switch (t) {
	case DT_DIR: return "dir";
	case DT_REG: return "file";
	case DT_LNK: return "link";
	default: return "other";
	}
}

/* Prints the tree under path, depth first, at most LIST_MAX entries of each
 * directory; returns the number of entries in the whole tree. */
static unsigned list_tree(struct umfs_fs *fs, const char *path, int depth, bool print)
{
	struct umfs_dirent ent;
	struct umfs_dir *d;
	unsigned n = 0, total = 0;
	int err, rc;

	err = umfs_opendir(fs, path, &d);
	if (err)
		die(err, "opendir %s", path);
	while ((rc = umfs_readdir(d, &ent)) > 0) {
		char child[512];
		struct stat st;

		if (!strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", ent.name);
		err = umfs_stat(fs, child, &st, AT_SYMLINK_NOFOLLOW);
		if (err)
			die(err, "stat %s (listed in %s)", child, path);
		n++;
		if (print && n == LIST_MAX + 1)
			printf("  %*s...\n", depth * 2, "");
		if (print && n <= LIST_MAX) {
			printf("  %*s%-*s %-4s %10jd bytes  nlink %ju", depth * 2, "", 24 - depth * 2,
			       ent.name, type_name(ent.type), (intmax_t)st.st_size,
			       (uintmax_t)st.st_nlink);
			if (ent.type == DT_LNK) {
				char target[256];
				ssize_t len = umfs_readlink(fs, child, target, sizeof(target) - 1);

				if (len < 0)
					die((int)len, "readlink %s", child);
				target[len] = '\0';
				printf("  -> %s", target);
			}
			putchar('\n');
		}
		if (ent.type == DT_DIR)
			total += list_tree(fs, child, depth + 1, print && n <= LIST_MAX);
	}
	if (rc < 0)
		die(rc, "readdir %s", path);
	umfs_closedir(d);
	if (print && n > LIST_MAX)
		printf("  %*s(%u entries in %s)\n", depth * 2, "", n, path);
	return total + n;
}

static void print_statfs(struct umfs_fs *fs)
{
	struct statvfs sv;
	int err = umfs_statfs(fs, &sv);

	if (err)
		die(err, "statfs");
	printf("  pool: %ju of %ju pages free (%ju KiB pages), %ju of %ju inodes free\n",
	       (uintmax_t)sv.f_bfree, (uintmax_t)sv.f_blocks, (uintmax_t)sv.f_frsize / 1024,
	       (uintmax_t)sv.f_ffree, (uintmax_t)sv.f_files);
}

static void check_errno(int got, int want, const char *what)
{
	if (got != want)
		die(0, "%s: got %s, expected %s", what, got ? strerror(-got) : "success",
		    strerror(-want));
}

int main(int argc, char **argv)
{
	uint64_t big_mib = 64;
	struct umfs_fs *fs;
	struct stat st;
	char path[128], target[64];
	unsigned entries;
	ssize_t len;
	int c, err;

	while ((c = getopt(argc, argv, "b:h")) != -1) {
		switch (c) {
		case 'b':
			big_mib = strtoull(optarg, NULL, 10);
			if (big_mib == 0 || big_mib > 4096)
				die(0, "-b %s: expected 1 to 4096 (MiB)", optarg);
			break;
		default:
			fprintf(stderr, "Usage: %s [-b MIB] POOL\n", prog);
			return c == 'h' ? 0 : 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: %s [-b MIB] POOL\n", prog);
		return 1;
	}

	err = umfs_mount(argv[optind], 0, &fs);
	if (err)
		die(err, "mount %s", argv[optind]);
	printf("mounted %s\n", argv[optind]);

	/* a small tree */
	do_mkdir(fs, "/docs");
	do_mkdir(fs, "/docs/notes");
	do_mkdir(fs, "/data");
	do_mkdir(fs, "/tmp");
	do_mkdir(fs, "/tmp/empty");

	/* small files of assorted sizes, across a page boundary or two */
	write_file(fs, "/docs/readme.txt", 1234, 1);
	write_file(fs, "/docs/page.bin", 4096, 2);
	write_file(fs, "/docs/odd.bin", 4097 * 3, 3);
	write_file(fs, "/tmp/scratch", 100, 4);
	/* enough names to need several entry blocks and the hash index */
	for (int i = 0; i < NOTES; i++) {
		snprintf(path, sizeof(path), "/docs/notes/note-%03d.txt", i);
		write_file(fs, path, 64 + (uint64_t)i * 331 % 9000, 100 + (uint64_t)i);
	}
	sparse_file(fs, "/data/sparse.img");

	/* the large file, timed */
	big_file(fs, "/data/big.bin", big_mib << 20);

	verify_all(fs);
	printf("wrote and verified %u files\n", nexpected);

	/* renames: within a directory, across directories, over an existing name */
	do_rename(fs, "/docs/readme.txt", "/docs/README");
	do_rename(fs, "/docs/page.bin", "/data/page.bin");
	write_file(fs, "/docs/README.new", 777, 5);
	{
		struct expect *old = find_expect("/docs/README");

		/* rename over a name: the old file goes, its expectation too */
		*old = expected[--nexpected];
		do_rename(fs, "/docs/README.new", "/docs/README");
	}
	do_rename(fs, "/tmp/scratch", "/docs/notes/scratch");

	/* hard link and symlink */
	err = umfs_link(fs, "/data/big.bin", "/docs/big-link.bin");
	if (err)
		die(err, "link /data/big.bin -> /docs/big-link.bin");
	stats.links++;
	err = umfs_stat(fs, "/data/big.bin", &st, 0);
	if (err)
		die(err, "stat /data/big.bin");
	if (st.st_nlink != 2)
		die(0, "/data/big.bin: nlink %ju after link, expected 2", (uintmax_t)st.st_nlink);
	err = umfs_symlink(fs, "data/big.bin", "/latest");
	if (err)
		die(err, "symlink /latest");
	stats.symlinks++;
	len = umfs_readlink(fs, "/latest", target, sizeof(target) - 1);
	if (len < 0)
		die((int)len, "readlink /latest");
	target[len] = '\0';
	if (strcmp(target, "data/big.bin"))
		die(0, "readlink /latest gave '%s'", target);
	err = umfs_stat(fs, "/latest", &st, 0); /* follows the link */
	if (err)
		die(err, "stat through /latest");
	if ((uint64_t)st.st_size != big_mib << 20)
		die(0, "stat through /latest: size %jd", (intmax_t)st.st_size);

	/* removals, and the errors POSIX promises */
	check_errno(umfs_rmdir(fs, "/docs"), -ENOTEMPTY, "rmdir of a non-empty directory");
	check_errno(umfs_mkdir(fs, "/docs", 0755), -EEXIST, "mkdir of an existing name");
	check_errno(umfs_unlink(fs, "/nonexistent"), -ENOENT, "unlink of a missing name");
	err = umfs_rmdir(fs, "/tmp/empty");
	if (err)
		die(err, "rmdir /tmp/empty");
	stats.removed++;
	err = umfs_rmdir(fs, "/tmp");
	if (err)
		die(err, "rmdir /tmp");
	stats.removed++;
	err = umfs_unlink(fs, "/docs/notes/note-039.txt");
	if (err)
		die(err, "unlink /docs/notes/note-039.txt");
	*find_expect("/docs/notes/note-039.txt") = expected[--nexpected];
	stats.removed++;

	printf("tree:\n");
	entries = list_tree(fs, "/", 0, true);
	print_statfs(fs);

	err = umfs_unmount(fs);
	if (err)
		die(err, "unmount");

	/* What the pool kept: mount again, read-only, and check everything. */
	err = umfs_mount(argv[optind], UMFS_MOUNT_RDONLY, &fs);
	if (err)
		die(err, "remount %s read-only", argv[optind]);
	verify_all(fs);
	if (list_tree(fs, "/", 0, false) != entries)
		die(0, "the tree changed across the remount");
	err = umfs_stat(fs, "/docs/big-link.bin", &st, 0);
	if (err || st.st_nlink != 2)
		die(err, "hard link lost across the remount");
	err = umfs_unmount(fs);
	if (err)
		die(err, "unmount");

	printf("summary:\n");
	printf("  directories made   %u\n", stats.dirs);
	printf("  files written      %u, %" PRIu64 " bytes\n", stats.files, stats.bytes_written);
	printf("  renames %u, hard links %u, symlinks %u, removals %u\n", stats.renames,
	       stats.links, stats.symlinks, stats.removed);
	printf("  entries in tree    %u\n", entries);
	printf("  large file         %" PRIu64 " MiB: write %.0f MiB/s, read %.0f MiB/s\n",
	       big_mib, stats.big_write_s > 0 ? (double)big_mib / stats.big_write_s : 0.0,
	       stats.big_read_s > 0 ? (double)big_mib / stats.big_read_s : 0.0);
	printf("  verified           %u file reads, %" PRIu64 " bytes, all checksums match "
	       "(also after a read-only remount)\n", stats.verified, stats.bytes_read);
	printf("umfs-demo: OK\n");
	return 0;
}
