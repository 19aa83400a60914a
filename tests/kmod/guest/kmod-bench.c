/* SPDX-License-Identifier: MIT */
/*
 * kmod-bench.c - measurements of umfs.ko in the guest.
 *
 *   kmod-bench create DEV DIR   files under /bench in the pool (C API) and the
 *                               same dense sizes in DIR (ext4 -o dax)
 *   kmod-bench run DEV DIR KIND attach time against file size: ATTACH,
 *                               umfs_open (user-space mode), and mmap with
 *                               MAP_POPULATE of DIR's file (KIND names DIR's
 *                               file system in the output); then 4 KiB
 *                               random reads and writes through an
 *                               attachment against umfs_pread/umfs_pwrite
 *
 * Prints "UMFS-MEASURE name value" lines (ns unless the name says).
 * TCG timings show shape, not speed: compare the ratios.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sys/mman.h>

#include "kmod-util.h"

struct kb_size {
	const char *label;
	uint64_t size;
	int dense; /* also on the comparison file system */
};

static const struct kb_size kb_sizes[] = {
	{ "4K", 4 * KT_KIB, 1 },    { "64K", 64 * KT_KIB, 1 },  { "2M", 2 * KT_MIB, 1 },
	{ "64M", 64 * KT_MIB, 1 },  { "256M", 256 * KT_MIB, 1 }, { "1G", KT_GIB, 0 },
	{ "4G", 4 * KT_GIB, 0 },
};
#define KB_NSIZES (sizeof(kb_sizes) / sizeof(kb_sizes[0]))

static char kb_buf[1 << 20];

static void kb_path(char *out, size_t n, const char *dir, const struct kb_size *s)
{
	snprintf(out, n, "%s/b%s", dir, s->label);
}

static void kb_create_umfs(const char *dev)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	char path[64];
	size_t i;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	KT_EXPECT(umfs_mkdir(fs, "/bench", 0755), 0);
	for (i = 0; i < KB_NSIZES; i++) {
		const struct kb_size *s = &kb_sizes[i];
		uint64_t off;

		kb_path(path, sizeof(path), "/bench", s);
		KT_EXPECT(umfs_open(fs, path, O_CREAT | O_RDWR, 0644, &f), 0);
		if (s->dense) {
			for (off = 0; off < s->size; off += sizeof(kb_buf)) {
				size_t n = s->size - off < sizeof(kb_buf) ? s->size - off : sizeof(kb_buf);

				kt_fill(kb_buf, n, 20 + (unsigned)i, off);
				KT_EXPECT(umfs_pwrite(f, kb_buf, n, (off_t)off), (long)n);
			}
		} else { /* sparse: first and last page */
			kt_fill(kb_buf, 4096, 20 + (unsigned)i, 0);
			KT_EXPECT(umfs_pwrite(f, kb_buf, 4096, 0), 4096);
			kt_fill(kb_buf, 4096, 20 + (unsigned)i, s->size - 4096);
			KT_EXPECT(umfs_pwrite(f, kb_buf, 4096, (off_t)(s->size - 4096)), 4096);
		}
		KT_EXPECT(umfs_close(f), 0);
	}
	KT_EXPECT(umfs_unmount(fs), 0);
}

static void kb_create_dir(const char *dir)
{
	char path[256];
	size_t i;

	for (i = 0; i < KB_NSIZES; i++) {
		const struct kb_size *s = &kb_sizes[i];
		uint64_t off;
		int fd;

		if (!s->dense)
			continue;
		kb_path(path, sizeof(path), dir, s);
		fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
		KT_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
		for (off = 0; off < s->size; off += sizeof(kb_buf)) {
			size_t n = s->size - off < sizeof(kb_buf) ? s->size - off : sizeof(kb_buf);

			kt_fill(kb_buf, n, 20 + (unsigned)i, off);
			KT_CHECK(pwrite(fd, kb_buf, n, (off_t)off) == (ssize_t)n, "write %s", path);
		}
		KT_CHECK(fsync(fd) == 0, "fsync %s", path);
		close(fd);
	}
}

static int kb_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t kb_median(uint64_t *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), kb_cmp);
	return t[n / 2];
}

#define KB_REPS 41

static uint64_t kb_time_attach(int kfd, const struct kt_id *id, const struct kb_size *s,
			       unsigned tag)
{
	uint64_t t[KB_REPS], t0, size;
	void *addr;
	size_t len;
	int r;

	for (r = 0; r < KB_REPS; r++) {
		t0 = kt_now_ns();
		KT_EXPECT(umfs_kmod_attach(kfd, id->ino, id->gen, O_RDONLY, 0, &addr, &len, &size), 0);
		t[r] = kt_now_ns() - t0;
		if (r == 0) { /* the mapping is the file, first and last page */
			KT_CHECK(size == s->size, "attach %s: size %" PRIu64, s->label, size);
			KT_CHECK(kt_verify(addr, 4096, tag, 0) < 0, "attach %s: first page", s->label);
			KT_CHECK(kt_verify((char *)addr + s->size - 4096, 4096, tag, s->size - 4096) < 0,
				 "attach %s: last page", s->label);
		}
		KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	}
	return kb_median(t, KB_REPS);
}

static uint64_t kb_time_open(struct umfs_fs *fs, const char *path)
{
	uint64_t t[KB_REPS], t0;
	struct umfs_file *f;
	int r;

	for (r = 0; r < KB_REPS; r++) {
		t0 = kt_now_ns();
		KT_EXPECT(umfs_open(fs, path, O_RDONLY, 0, &f), 0);
		t[r] = kt_now_ns() - t0;
		umfs_close(f);
	}
	return kb_median(t, KB_REPS);
}

static uint64_t kb_time_populate(const char *path, const struct kb_size *s, unsigned tag)
{
	int reps = s->size >= 64 * KT_MIB ? 7 : KB_REPS, r;
	uint64_t t[KB_REPS], t0;
	void *m;
	int fd = open(path, O_RDONLY);

	KT_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	for (r = 0; r < reps; r++) {
		t0 = kt_now_ns();
		m = mmap(NULL, s->size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		t[r] = kt_now_ns() - t0;
		KT_CHECK(m != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
		KT_CHECK(kt_verify((char *)m + s->size - 4096, 4096, tag, s->size - 4096) < 0,
			 "%s: last page", path);
		munmap(m, s->size);
	}
	close(fd);
	return kb_median(t, reps);
}

/* 4 KiB random reads and writes in the 64 MiB file: loads and stores
 * through an attachment against the user-space mode's pread/pwrite. */
static void kb_io(int kfd, struct umfs_fs *fs)
{
	const int n = 20000;
	const uint64_t size = 64 * KT_MIB;
	struct kt_id id = kt_lookup_fs(fs, "/bench/b64M");
	struct umfs_file *f;
	uint64_t t0, t_kr, t_kw, t_ur, t_uw, x = 88172645463325252ull;
	size_t len;
	char *addr;
	int i;

	KT_EXPECT(umfs_kmod_attach(kfd, id.ino, id.gen, O_RDWR, 0, (void **)&addr, &len, NULL), 0);
	KT_EXPECT(umfs_open(fs, "/bench/b64M", O_RDWR, 0, &f), 0);
#define KB_NEXT_OFF() ((x ^= x << 13, x ^= x >> 7, x ^= x << 17), (x % (size / 4096)) * 4096)
	t0 = kt_now_ns();
	for (i = 0; i < n; i++)
		memcpy(kb_buf, addr + KB_NEXT_OFF(), 4096);
	t_kr = kt_now_ns() - t0;
	t0 = kt_now_ns();
	for (i = 0; i < n; i++)
		KT_EXPECT(umfs_pread(f, kb_buf, 4096, (off_t)KB_NEXT_OFF()), 4096);
	t_ur = kt_now_ns() - t0;
	t0 = kt_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t off = KB_NEXT_OFF();

		kt_fill(kb_buf, 4096, 23, off);
		memcpy(addr + off, kb_buf, 4096);
	}
	t_kw = kt_now_ns() - t0;
	t0 = kt_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t off = KB_NEXT_OFF();

		kt_fill(kb_buf, 4096, 23, off);
		KT_EXPECT(umfs_pwrite(f, kb_buf, 4096, (off_t)off), 4096);
	}
	t_uw = kt_now_ns() - t0;
	umfs_close(f);
	KT_EXPECT(umfs_kmod_detach(kfd, addr), 0);
	printf("UMFS-MEASURE rand4k_read_kmod_ns %.0f\n", (double)t_kr / n);
	printf("UMFS-MEASURE rand4k_read_user_ns %.0f\n", (double)t_ur / n);
	printf("UMFS-MEASURE rand4k_write_kmod_ns %.0f\n", (double)t_kw / n);
	printf("UMFS-MEASURE rand4k_write_user_ns %.0f\n", (double)t_uw / n);
	printf("kmod-bench: 4 KiB random, user-space / kmod time: read %.2fx, write %.2fx "
	       "(kmod writes are plain stores, without the U-Log and flushes of umfs_pwrite)\n",
	       (double)t_ur / (double)t_kr, (double)t_uw / (double)t_kw);
}

static int kb_run(const char *dev, const char *dir, const char *kind)
{
	struct umfs_fs *fs;
	char path[256];
	int kfd;
	size_t i;

	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	printf("kmod-bench: %-5s %12s %12s %14s %10s\n", "size", "attach ns", "umfs_open ns",
	       "populate ns", "pop/attach");
	for (i = 0; i < KB_NSIZES; i++) {
		const struct kb_size *s = &kb_sizes[i];
		unsigned tag = 20 + (unsigned)i;
		uint64_t ta, to, tp = 0;
		struct kt_id id;

		kb_path(path, sizeof(path), "/bench", s);
		id = kt_lookup_fs(fs, path);
		ta = kb_time_attach(kfd, &id, s, tag);
		to = kb_time_open(fs, path);
		printf("UMFS-MEASURE attach_kmod_ns_%s %" PRIu64 "\n", s->label, ta);
		printf("UMFS-MEASURE open_user_ns_%s %" PRIu64 "\n", s->label, to);
		if (s->dense) {
			kb_path(path, sizeof(path), dir, s);
			tp = kb_time_populate(path, s, tag);
			printf("UMFS-MEASURE mmap_populate_%s_ns_%s %" PRIu64 "\n", kind, s->label, tp);
			printf("UMFS-MEASURE ratio_populate_%s_over_attach_%s %.2f\n", kind, s->label,
			       (double)tp / (double)ta);
		}
		printf("kmod-bench: %-5s %12" PRIu64 " %12" PRIu64 " %14s %10s\n", s->label, ta, to,
		       s->dense ? (snprintf(path, sizeof(path), "%" PRIu64, tp), path) : "n/a",
		       s->dense ? "" : "(sparse)");
		if (s->dense)
			printf("kmod-bench:       populate/attach = %.1f\n", (double)tp / (double)ta);
	}
	kb_io(kfd, fs);
	KT_EXPECT(umfs_unmount(fs), 0);
	umfs_kmod_close(kfd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-bench";
	if (argc == 4 && !strcmp(argv[1], "create")) {
		kb_create_umfs(argv[2]);
		kb_create_dir(argv[3]);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "run"))
		return kb_run(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: kmod-bench create DEV DIR | run DEV DIR KIND\n");
	return 2;
}
