/* SPDX-License-Identifier: MIT */
/*
 * kmod-func.c - functional tests of umfs.ko in the guest.
 *
 *   kmod-func create DEV        files with known contents, through the C API
 *   kmod-func mount DEV         MOUNT the pool in the module
 *   kmod-func unmount DEV       UNMOUNT it
 *   kmod-func mount-interrupted DEV   MOUNT fails with EINTR (rebase_stop)
 *   kmod-func mount-refused DEV       MOUNT fails with EOPNOTSUPP (device DAX
 *                                     aligned above 4 KiB)
 *   kmod-func contents DEV      every file reads back through attachments
 *   kmod-func check DEV         every behaviour of docs/kmod.md, see main()
 *   kmod-func cycles DEV N      N attach/detach cycles: PageTables flat,
 *                               counters back to zero
 *   kmod-func stress DEV N SECS N workers attach, write, detach, fork and
 *                               die while REVOKE runs; SECS 0 = until killed
 *   kmod-func stress-verify DEV N   after a power cut during stress
 *   kmod-func exec-probe ADDR   (internal) after exec: ADDR is unmapped
 *
 * The data checks are exact: every file holds kt_word(tag, offset) words.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kmod-util.h"
#include "umfs_format.h"

struct kt_file {
	const char *path;
	unsigned tag;
	uint64_t size;
	mode_t mode;
};

/* Sparse file: 4 KiB of data at each of these offsets, size 5 GiB + 4 KiB. */
static const uint64_t kt_sparse_data[] = { 0, KT_GIB + 4096, 2 * KT_GIB + 2 * KT_MIB,
					   4 * KT_GIB, 5 * KT_GIB };
#define KT_SPARSE_SIZE (5 * KT_GIB + 4096)

static const struct kt_file kt_files[] = {
	{ "/small", 1, 4096, 0644 },          /* height 0: promoted by the module */
	{ "/s64k", 2, 64 * KT_KIB, 0644 },    /* inline (16 pages): promoted, its entries copied */
	{ "/s128k", 8, 128 * KT_KIB, 0644 },  /* height 1: promoted, its table shared */
	{ "/m3", 3, 3 * KT_MIB, 0644 },       /* height 2 */
	{ "/big", 4, 64 * KT_MIB, 0644 },     /* height 2, 2 MiB leaves */
	{ "/secret", 6, 4096, 0600 },
	{ "/ro", 7, 4096, 0644 },
	{ "/empty", 0, 0, 0644 },
};

static const char *dev;

static void kt_write_range(struct umfs_file *f, unsigned tag, uint64_t off, uint64_t len)
{
	static char buf[1 << 20];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

		kt_fill(buf, n, tag, off);
		KT_EXPECT(umfs_pwrite(f, buf, n, (off_t)off), (long)n);
		off += n;
		len -= n;
	}
}

/* Writes [off, off + len) of path with tag's pattern through the C API. */
static void kt_api_write(const char *path, unsigned tag, uint64_t off, uint64_t len)
{
	struct umfs_fs *fs;
	struct umfs_file *f;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	KT_EXPECT(umfs_open(fs, path, O_RDWR, 0, &f), 0);
	kt_write_range(f, tag, off, len);
	KT_EXPECT(umfs_close(f), 0);
	KT_EXPECT(umfs_unmount(fs), 0);
}

/* Checks [off, off + len) of path through the C API. */
static void kt_api_verify(const char *path, unsigned tag, uint64_t off, uint64_t len)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	char *buf = malloc(len);
	long bad;

	KT_CHECK(buf, "malloc");
	KT_EXPECT(umfs_mount(dev, UMFS_MOUNT_RDONLY, &fs), 0);
	KT_EXPECT(umfs_open(fs, path, O_RDONLY, 0, &f), 0);
	KT_EXPECT(umfs_pread(f, buf, len, (off_t)off), (long)len);
	bad = kt_verify(buf, len, tag, off);
	KT_CHECK(bad < 0, "%s: user-space read at %" PRIu64 " differs (word %ld)", path, off, bad);
	umfs_close(f);
	KT_EXPECT(umfs_unmount(fs), 0);
	free(buf);
}

static int kt_create(void)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	size_t i;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	for (i = 0; i < sizeof(kt_files) / sizeof(kt_files[0]); i++) {
		const struct kt_file *k = &kt_files[i];

		KT_EXPECT(umfs_open(fs, k->path, O_CREAT | O_TRUNC | O_RDWR, k->mode, &f), 0);
		kt_write_range(f, k->tag, 0, k->size);
		KT_EXPECT(umfs_fchmod(f, k->mode), 0);
		KT_EXPECT(umfs_close(f), 0);
	}
	KT_EXPECT(umfs_open(fs, "/sparse", O_CREAT | O_TRUNC | O_RDWR, 0644, &f), 0);
	for (i = 0; i < sizeof(kt_sparse_data) / sizeof(kt_sparse_data[0]); i++)
		kt_write_range(f, 5, kt_sparse_data[i], 4096);
	KT_EXPECT(umfs_ftruncate(f, (off_t)KT_SPARSE_SIZE), 0);
	KT_EXPECT(umfs_close(f), 0);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-func: created %zu files and /sparse\n", sizeof(kt_files) / sizeof(kt_files[0]));
	return 0;
}

static int kt_mount(void)
{
	struct umfs_kmod_mount info;
	int fd;

	KT_EXPECT(umfs_kmod_open(&fd), 0);
	KT_EXPECT(umfs_kmod_mount(fd, dev, &info), 0);
	KT_EXPECT(umfs_kmod_mount(fd, dev, NULL), -EBUSY);
	printf("kmod-func: mounted %s: phys %#" PRIx64 ", %" PRIu64 " bytes, %" PRIu64
	       " inodes, %" PRIu64 " tables, %" PRIu64 " entries rebased\n",
	       dev, (uint64_t)info.phys_base, (uint64_t)info.pool_size,
	       (uint64_t)info.inodes_checked, (uint64_t)info.tables_checked,
	       (uint64_t)info.rebased);
	umfs_kmod_close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* check                                                                */
/* ------------------------------------------------------------------ */

struct kt_att {
	volatile uint64_t *p;
	size_t len;
	uint64_t size;
};

static struct kt_att kt_attach(int fd, const char *path, int oflags)
{
	struct kt_id id = kt_lookup(dev, path);
	struct kt_att a;
	void *addr;
	int err;

	err = umfs_kmod_attach(fd, id.ino, id.gen, oflags, 0, &addr, &a.len, &a.size);
	KT_CHECK(!err, "attach %s: %s", path, strerror(-err));
	KT_CHECK(((uintptr_t)addr & (KT_GIB - 1)) == 0, "attach %s: %p not 1 GiB-aligned", path,
		 addr);
	KT_CHECK(a.size == id.size, "attach %s: size %" PRIu64 ", stat says %" PRIu64, path,
		 a.size, id.size);
	a.p = addr;
	return a;
}

static void kt_verify_att(const struct kt_att *a, const char *path, unsigned tag, uint64_t off,
			  uint64_t len)
{
	long bad = kt_verify((const void *)((const char *)a->p + off), len, tag, off);

	KT_CHECK(bad < 0, "%s: attachment read at %" PRIu64 " + word %ld differs", path, off, bad);
}

static uint64_t *kt_at(const struct kt_att *a, uint64_t off)
{
	return (uint64_t *)((char *)a->p + off);
}

/* Every file attached read-only reads back exactly; holes are SIGBUS. */
static void kt_check_contents(int fd)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(kt_files) / sizeof(kt_files[0]); i++) {
		const struct kt_file *k = &kt_files[i];
		struct kt_att a;

		if (k->mode == 0600)
			continue;
		a = kt_attach(fd, k->path, O_RDONLY);
		KT_CHECK(a.len == KT_GIB, "%s: len %zu", k->path, a.len);
		kt_verify_att(&a, k->path, k->tag, 0, k->size);
		if (k->size < 2 * KT_MIB || k->size == 0)
			KT_CHECK(kt_probe(kt_at(&a, 2 * KT_MIB), 0, &v) == SIGBUS,
				 "%s: a hole is not SIGBUS", k->path);
		KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
		KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), -EINVAL);
	}
	{
		struct kt_att a = kt_attach(fd, "/sparse", O_RDONLY);

		KT_CHECK(a.len == 6 * KT_GIB, "/sparse: len %zu, expected 6 GiB", a.len);
		for (i = 0; i < sizeof(kt_sparse_data) / sizeof(kt_sparse_data[0]); i++)
			kt_verify_att(&a, "/sparse", 5, kt_sparse_data[i], 4096);
		KT_CHECK(kt_probe(kt_at(&a, 3 * KT_GIB), 0, &v) == SIGBUS,
			 "/sparse: a 1 GiB hole is not SIGBUS");
		KT_CHECK(kt_probe(kt_at(&a, KT_GIB), 0, &v) == SIGBUS,
			 "/sparse: a 4 KiB hole is not SIGBUS");
		KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	}
	printf("kmod-func: contents of every file read back through attachments\n");
}

/* Both directions between the user-space path and the attachment. */
static void kt_check_coherence(int fd)
{
	struct kt_att a;
	uint64_t v = 0x5a5a;

	/* read-only attachment: a store is SIGSEGV and changes nothing */
	a = kt_attach(fd, "/big", O_RDONLY);
	KT_CHECK(kt_probe(kt_at(&a, 0), 1, &v) == SIGSEGV, "store to a read-only attachment");
	kt_verify_att(&a, "/big", 4, 0, 4096);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);

	/* stores through a read-write attachment, read by the user-space path */
	a = kt_attach(fd, "/big", O_RDWR);
	kt_fill((void *)kt_at(&a, KT_MIB), 64 * KT_KIB, 9, KT_MIB);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	kt_api_verify("/big", 9, KT_MIB, 64 * KT_KIB);
	kt_api_verify("/big", 4, 0, KT_MIB);

	/* user-space writes (durable at unmount), read through an attachment
	 * made before them and through a new one */
	a = kt_attach(fd, "/m3", O_RDONLY);
	kt_api_write("/m3", 10, 2 * KT_MIB, 128 * KT_KIB);
	kt_verify_att(&a, "/m3", 10, 2 * KT_MIB, 128 * KT_KIB);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	a = kt_attach(fd, "/m3", O_RDONLY);
	kt_verify_att(&a, "/m3", 10, 2 * KT_MIB, 128 * KT_KIB);
	kt_verify_att(&a, "/m3", 3, 0, 2 * KT_MIB);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	printf("kmod-func: attachment <-> user-space path agree both ways; read-only enforced\n");
}

/* munmap, mremap, mprotect on an attachment. */
static void kt_check_vma_ops(int fd)
{
	struct umfs_kmod_stats s0 = kt_stats(fd), s1;
	struct kt_att a;
	void *spare, *r;
	uint64_t v;

	a = kt_attach(fd, "/big", O_RDONLY);
	KT_EXPECT(munmap((void *)a.p, a.len), 0);
	s1 = kt_stats(fd);
	KT_CHECK(s1.live == s0.live && s1.detaches == s0.detaches + 1 &&
		 s1.unsplices == s0.unsplices + 1, "munmap: live %llu detaches +%llu unsplices +%llu",
		 (unsigned long long)s1.live, (unsigned long long)(s1.detaches - s0.detaches),
		 (unsigned long long)(s1.unsplices - s0.unsplices));
	KT_CHECK(kt_probe(a.p, 0, &v) == SIGSEGV, "read after munmap is not SIGSEGV");

	a = kt_attach(fd, "/big", O_RDONLY);
	KT_EXPECT(mprotect((void *)a.p, a.len, PROT_READ | PROT_WRITE) ? -errno : 0, -EACCES);
	KT_EXPECT(mprotect((void *)a.p, 4096, PROT_NONE) ? -errno : 0, -EACCES);
	kt_verify_att(&a, "/big", 4, 0, 4096);
	r = mremap((void *)a.p, a.len, a.len / 2, 0);
	KT_CHECK(r == MAP_FAILED && errno == EINVAL, "mremap shrink: %p %s", r, strerror(errno));
	kt_verify_att(&a, "/big", 4, 0, 4096);
	spare = mmap(NULL, a.len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KT_CHECK(spare != MAP_FAILED, "mmap spare");
	r = mremap((void *)a.p, a.len, a.len, MREMAP_MAYMOVE | MREMAP_FIXED, spare);
	KT_CHECK(r == MAP_FAILED && errno == EINVAL, "mremap move: %p %s", r, strerror(errno));
	/* the move was rolled back, but the notifier had unspliced: SIGBUS now */
	KT_CHECK(kt_probe(a.p, 0, &v) == SIGBUS, "read after a failed mremap is not SIGBUS");
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	munmap(spare, a.len);
	printf("kmod-func: munmap ok, mprotect EACCES, mremap EINVAL (and unspliced)\n");
}

/* fork: the child has no mapping and a useless inherited descriptor; it
 * attaches on its own. exec: the attachment goes with the old image. */
static void kt_check_fork_exec(int fd, const char *self)
{
	struct umfs_kmod_stats s0 = kt_stats(fd);
	struct kt_att a = kt_attach(fd, "/big", O_RDONLY);
	pid_t pid;
	int status;

	pid = fork();
	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		uint64_t v;
		void *addr;
		size_t len;
		int cfd;
		struct kt_id id = kt_lookup(dev, "/big");

		kt_name = "kmod-func (fork child)";
		KT_CHECK(kt_probe(a.p, 0, &v) == SIGSEGV, "the child sees the parent's attachment");
		KT_EXPECT(umfs_kmod_attach(fd, id.ino, id.gen, O_RDONLY, 0, &addr, &len, NULL),
			  -EBADFD);
		KT_EXPECT(umfs_kmod_open(&cfd), 0);
		KT_EXPECT(umfs_kmod_attach(cfd, id.ino, id.gen, O_RDONLY, 0, &addr, &len, NULL), 0);
		KT_CHECK(kt_verify(addr, KT_MIB, 4, 0) < 0, "child's own attachment differs");
		exit(0); /* with the attachment: exit tears it down */
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child failed (%#x)", status);
	kt_verify_att(&a, "/big", 4, 0, 4096);

	pid = fork();
	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct kt_att c;
		int cfd;
		char arg[32];

		KT_EXPECT(umfs_kmod_open(&cfd), 0);
		c = kt_attach(cfd, "/big", O_RDWR);
		snprintf(arg, sizeof(arg), "%p", (void *)c.p);
		execl(self, self, "exec-probe", arg, (char *)NULL);
		_exit(3);
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec child failed (%#x)", status);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	KT_CHECK(kt_stats(fd).live == s0.live, "fork/exec left attachments (%llu, was %llu)",
		 (unsigned long long)kt_stats(fd).live, (unsigned long long)s0.live);
	printf("kmod-func: fork child has no mapping and re-attaches; exec drops attachments\n");
}

static int kt_exec_probe(const char *arg)
{
	void *addr = (void *)(uintptr_t)strtoull(arg, NULL, 16);

	kt_name = "kmod-func (after exec)";
	KT_CHECK(msync(addr, 4096, MS_ASYNC) < 0 && errno == ENOMEM,
		 "%p is still mapped after exec", addr);
	return 0;
}

/* kill -9 of a process with a read-write attachment. */
static void kt_check_kill(int fd)
{
	struct umfs_kmod_stats s0 = kt_stats(fd), s1;
	int pfd[2];
	pid_t pid;
	char c;

	KT_EXPECT(pipe(pfd), 0);
	pid = fork();
	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct kt_att a;
		int cfd;

		KT_EXPECT(umfs_kmod_open(&cfd), 0);
		a = kt_attach(cfd, "/big", O_RDWR);
		kt_fill((void *)kt_at(&a, 2 * KT_MIB), 4096, 4, 2 * KT_MIB); /* same bytes */
		KT_EXPECT(write(pfd[1], "r", 1), 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	KT_EXPECT(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	s1 = kt_stats(fd);
	KT_CHECK(s1.live == s0.live + 1, "victim's attachment not counted");
	KT_EXPECT(kill(pid, SIGKILL), 0);
	kt_wait(pid);
	s1 = kt_stats(fd);
	KT_CHECK(s1.live == s0.live && s1.spliced == s0.spliced, "kill -9 left an attachment");
	kt_api_verify("/big", 4, 0, KT_MIB);
	printf("kmod-func: kill -9 of an attached process leaves nothing behind\n");
}

static void kt_check_revoke(int fd)
{
	struct umfs_kmod_stats s0 = kt_stats(fd), s1;
	struct kt_id id = kt_lookup(dev, "/big");
	struct kt_att a = kt_attach(fd, "/big", O_RDONLY), b = kt_attach(fd, "/big", O_RDONLY);
	uint64_t n = 0, v;

	KT_CHECK(a.p != b.p, "two attachments at one address");
	KT_EXPECT(umfs_kmod_revoke(fd, id.ino, &n), 0);
	KT_CHECK(n == 2, "revoke unspliced %" PRIu64 ", expected 2", n);
	KT_CHECK(kt_probe(a.p, 0, &v) == SIGBUS && kt_probe(b.p, 0, &v) == SIGBUS,
		 "a revoked attachment still reads");
	KT_EXPECT(umfs_kmod_revoke(fd, id.ino, &n), 0);
	KT_CHECK(n == 0, "second revoke found %" PRIu64, n);
	s1 = kt_stats(fd);
	KT_CHECK(s1.revokes == s0.revokes + 2 && s1.spliced == s0.spliced, "revoke counters");
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)b.p), 0);
	printf("kmod-func: revoke unsplices every attachment of the inode\n");
}

static void kt_check_refusals(int fd)
{
	struct kt_id id = kt_lookup(dev, "/big");
	struct umfs_kmod_attach req;
	void *addr, *m;
	size_t len;
	struct kt_att a;

	KT_EXPECT(umfs_kmod_attach(fd, id.ino, id.gen + 1, O_RDONLY, 0, &addr, &len, NULL), -ESTALE);
	KT_EXPECT(umfs_kmod_attach(fd, 0, 0, O_RDONLY, 0, &addr, &len, NULL), -ESTALE);
	KT_EXPECT(umfs_kmod_attach(fd, 1ull << 40, 0, O_RDONLY, 0, &addr, &len, NULL), -ESTALE);
	KT_EXPECT(umfs_kmod_attach(fd, 1, kt_lookup(dev, "/").gen, O_RDONLY, 0, &addr, &len, NULL),
		  -EISDIR);
	/* past the pool's largest file (256 TiB with level-4 tables) */
	KT_EXPECT(umfs_kmod_attach(fd, id.ino, id.gen, O_RDONLY, UMFS_MAX_FILE_SIZE + KT_GIB, &addr,
				   &len, NULL), -EFBIG);
	memset(&req, 0, sizeof(req));
	req.ino = id.ino;
	req.generation = id.gen;
	req.reserved[0] = 1;
	KT_EXPECT(umfs_kmod_call(fd, UMFS_KMOD_IOC_ATTACH, &req), -EINVAL);
	m = mmap(NULL, KT_GIB, PROT_READ, MAP_SHARED, fd, 0);
	KT_CHECK(m == MAP_FAILED && errno == EINVAL, "plain mmap of /dev/umfs: %p", m);
	/* a reserve gives room to grow */
	KT_EXPECT(umfs_kmod_attach(fd, id.ino, id.gen, O_RDONLY, 3 * KT_GIB, &addr, &len, NULL), 0);
	KT_CHECK(len == 3 * KT_GIB, "reserve: len %zu", len);
	KT_EXPECT(umfs_kmod_unmount(fd), -EBUSY);
	KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
	a = kt_attach(fd, "/secret", O_RDWR); /* root passes 0600 */
	kt_verify_att(&a, "/secret", 6, 0, 4096);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	printf("kmod-func: stale, directory, oversized, malformed and plain-mmap requests refused\n");
}

/* Pool offset of byte fo of the file whose inode is in, by walking its
 * tables in the pool mapping m (the user-space walk of ptable.c). */
static uint64_t kt_pool_off(const char *m, const struct umfs_superblock *sb,
			    const struct umfs_inode *in, uint64_t fo)
{
	const uint64_t *t = (const uint64_t *)(m + in->pt_root);
	uint64_t pg = fo >> 12, e;
	unsigned level;

	KT_CHECK(in->pt_height >= 2, "pool walk: height %u", in->pt_height);
	for (level = in->pt_height; level >= 2; level--) {
		e = t[(pg >> (9 * (level - 1))) & 511];
		KT_CHECK(e, "pool walk: hole at %" PRIu64, fo);
		if (level == 2 && (e & UMFS_PTE_PSE))
			return (e & UMFS_PTE_HUGE_ADDR_MASK) - sb->phys_base + (fo & (2 * KT_MIB - 1));
		t = (const uint64_t *)(m + ((e & UMFS_PTE_ADDR_MASK) - sb->phys_base));
	}
	e = t[pg & 511];
	KT_CHECK(e, "pool walk: hole at %" PRIu64, fo);
	return (e & UMFS_PTE_ADDR_MASK) - sb->phys_base + (fo & 4095);
}

/* Root's pool mapping is the media the attachments use: stores are seen
 * both ways at once. */
static void kt_check_poolmap(int fd)
{
	struct kt_id id = kt_lookup(dev, "/big");
	struct kt_pool p = kt_pool_map(fd, PROT_READ | PROT_WRITE);
	const struct umfs_inode *in = kt_pool_inode(&p, id.ino);
	volatile uint64_t *w;
	struct kt_att a;
	uint64_t fo = 3 * KT_MIB + 8;

	KT_CHECK(kt_stats(fd).poolmaps == 1, "poolmaps %llu", (unsigned long long)kt_stats(fd).poolmaps);
	KT_EXPECT(umfs_kmod_unmount(fd), -EBUSY);
	w = (volatile uint64_t *)(p.m + kt_pool_off(p.m, p.sb, in, fo));
	a = kt_attach(fd, "/big", O_RDWR);
	KT_CHECK(*w == kt_word(4, fo) && *kt_at(&a, fo) == *w, "pool map and attachment differ");
	*w = 0x1234;
	KT_CHECK(*kt_at(&a, fo) == 0x1234, "a store to the pool map is not in the attachment");
	*kt_at(&a, fo) = kt_word(4, fo);
	KT_CHECK(*w == kt_word(4, fo), "a store to the attachment is not in the pool map");
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	kt_pool_unmap(&p);
	KT_CHECK(kt_stats(fd).poolmaps == 0, "pool map not counted down");
	printf("kmod-func: root's pool map and attachments see each other's stores at once\n");
}

/* An unprivileged user: denied what the modes deny, and MOUNT. */
static void kt_check_unprivileged(void)
{
	struct kt_id secret = kt_lookup(dev, "/secret"), ro = kt_lookup(dev, "/ro");
	pid_t pid = fork();
	int status;

	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		void *addr;
		size_t len;
		uint64_t n;
		int fd;

		kt_name = "kmod-func (uid 65534)";
		KT_EXPECT(setgroups(0, NULL), 0);
		KT_EXPECT(setgid(65534), 0);
		KT_EXPECT(setuid(65534), 0);
		KT_EXPECT(umfs_kmod_open(&fd), 0);
		KT_EXPECT(umfs_kmod_attach(fd, secret.ino, secret.gen, O_RDONLY, 0, &addr, &len, NULL),
			  -EACCES);
		KT_EXPECT(umfs_kmod_attach(fd, ro.ino, ro.gen, O_RDWR, 0, &addr, &len, NULL), -EACCES);
		KT_EXPECT(umfs_kmod_attach(fd, ro.ino, ro.gen, O_RDONLY, 0, &addr, &len, NULL), 0);
		KT_CHECK(kt_verify(addr, 4096, 7, 0) < 0, "/ro differs for the unprivileged user");
		KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
		KT_EXPECT(umfs_kmod_mount(fd, dev, NULL), -EPERM);
		KT_EXPECT(umfs_kmod_unmount(fd), -EPERM);
		KT_EXPECT(umfs_kmod_revoke(fd, ro.ino, &n), -EPERM);
		addr = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)UMFS_KMOD_POOL_OFFSET);
		KT_CHECK(addr == MAP_FAILED && errno == EPERM, "unprivileged pool map: %p", addr);
		exit(0);
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged child failed");
	printf("kmod-func: uid 65534 denied a 0600 file, a write open of 0644, MOUNT, REVOKE, "
	       "the pool map\n");
}

static int kt_check(const char *self)
{
	struct umfs_kmod_stats st;
	int fd;

	kt_probe_setup();
	KT_EXPECT(umfs_kmod_open(&fd), 0);
	st = kt_stats(fd);
	KT_CHECK(st.abi_version == UMFS_KMOD_ABI_VERSION && st.mounted, "module not mounted");
	kt_check_contents(fd);
	kt_check_coherence(fd);
	kt_check_vma_ops(fd);
	kt_check_fork_exec(fd, self);
	kt_check_kill(fd);
	kt_check_revoke(fd);
	kt_check_refusals(fd);
	kt_check_poolmap(fd);
	kt_check_unprivileged();
	st = kt_stats(fd);
	KT_CHECK(st.live == 0 && st.spliced == 0 && st.promoted == 0,
		 "counters not back at zero: live %llu spliced %llu promoted %llu",
		 (unsigned long long)st.live, (unsigned long long)st.spliced,
		 (unsigned long long)st.promoted);
	printf("kmod-func: counters: attaches %llu detaches %llu unsplices %llu revokes %llu "
	       "tlb flushes %llu pud pages %llu\n",
	       (unsigned long long)st.attaches, (unsigned long long)st.detaches,
	       (unsigned long long)st.unsplices, (unsigned long long)st.revokes,
	       (unsigned long long)st.tlb_flushes, (unsigned long long)st.pud_pages);
	umfs_kmod_close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* cycles                                                               */
/* ------------------------------------------------------------------ */

static void kt_cycle(int fd, const struct kt_id *id)
{
	void *addr;
	size_t len;

	KT_EXPECT(umfs_kmod_attach(fd, id->ino, id->gen, O_RDWR, 0, &addr, &len, NULL), 0);
	(void)*(volatile uint64_t *)addr; /* every file's first page is data */
	KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
}

static int kt_cycles(long n)
{
	struct kt_id ids[3] = { kt_lookup(dev, "/small"), kt_lookup(dev, "/big"),
				kt_lookup(dev, "/sparse") };
	struct umfs_kmod_stats s0, s1;
	long pt0, pt1, i;
	uint64_t t0, t1;
	int fd;

	KT_EXPECT(umfs_kmod_open(&fd), 0);
	for (i = 0; i < 300; i++) /* warm up the allocator's caches */
		kt_cycle(fd, &ids[i % 3]);
	s0 = kt_stats(fd);
	pt0 = kt_pagetables_kb();
	t0 = kt_now_ns();
	for (i = 0; i < n; i++)
		kt_cycle(fd, &ids[i % 3]);
	t1 = kt_now_ns();
	pt1 = kt_pagetables_kb();
	s1 = kt_stats(fd);
	printf("kmod-func: %ld cycles in %.2f s (%.1f us each); PageTables %ld -> %ld kB\n", n,
	       (double)(t1 - t0) / 1e9, (double)(t1 - t0) / 1e3 / (double)n, pt0, pt1);
	printf("UMFS-MEASURE kmod_cycle_us %.2f\n", (double)(t1 - t0) / 1e3 / (double)n);
	printf("UMFS-MEASURE kmod_cycles_pagetables_delta_kb %ld\n", pt1 - pt0);
	KT_CHECK(pt1 - pt0 <= 64 && pt0 - pt1 <= 64, "PageTables moved by %ld kB", pt1 - pt0);
	KT_CHECK(s1.attaches - s0.attaches == (uint64_t)n && s1.detaches - s0.detaches == (uint64_t)n,
		 "attaches +%llu detaches +%llu for %ld cycles",
		 (unsigned long long)(s1.attaches - s0.attaches),
		 (unsigned long long)(s1.detaches - s0.detaches), n);
	KT_CHECK(s1.live == 0 && s1.spliced == 0 && s1.promoted == 0,
		 "counters not back at zero after cycles");
	umfs_kmod_close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* stress: processes attach, write, detach, fork and die while another   */
/* revokes; run until a deadline, or until qemu is killed (power cut)     */
/* ------------------------------------------------------------------ */

#define KT_STRESS_OFF(i) (8 * KT_MIB + (uint64_t)(i) * KT_MIB) /* in /big */
#define KT_STRESS_LEN (64 * KT_KIB)
#define KT_STRESS_TAG(i) (40u + (unsigned)(i))

/* The kernel's hash_64(ino, 8), which picks the inode's revoke sequence
 * (umfs_km_revoke_seq). */
static unsigned kt_revoke_slot(uint64_t ino)
{
	return (unsigned)((ino * 0x61C8864680B583EBull) >> 56);
}

/* One ATTACH call, without the client's retries: 0 or -errno. */
static int kt_attach_once(int fd, const struct kt_id *id, void **addr, size_t *len)
{
	struct umfs_kmod_attach req = { .ino = id->ino, .generation = id->gen,
					.open_flags = O_RDONLY };
	int err = umfs_kmod_call(fd, UMFS_KMOD_IOC_ATTACH, &req);

	*addr = (void *)(uintptr_t)req.addr;
	*len = (size_t)req.len;
	return err;
}

/* One worker: writes its region of /big through fresh attachments and
 * reads it back; a revoke in between is SIGBUS, and the round starts over.
 * Every other round attaches /sparse, which no one revokes, with one call:
 * a REVOKE of /big must never send it back (EAGAIN), unless the two share
 * a revoke sequence. */
static void kt_stress_worker(int i, uint64_t deadline, const struct kt_id *big,
			     const struct kt_id *sparse)
{
	volatile uint64_t x = 0x2545F4914F6CDD1Dull ^ (uint64_t)i, rounds = 0, bus = 0, lost = 0;
	volatile uint64_t sparse_sent_back = 0;
	bool shared = kt_revoke_slot(big->ino) == kt_revoke_slot(sparse->ino);
	int fd;

	kt_probe_setup();
	KT_EXPECT(umfs_kmod_open(&fd), 0);
	while (!deadline || kt_now_ns() < deadline) {
		void *addr;
		size_t len;
		int err;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 8 == 0) { /* a child that attaches and is killed */
			pid_t pid = fork();

			if (pid == 0) {
				int cfd;

				/* a revoke is SIGBUS: die of it, never jump into
				 * the worker's loop copied by fork */
				signal(SIGBUS, SIG_DFL);
				signal(SIGSEGV, SIG_DFL);
				if (umfs_kmod_open(&cfd) == 0 &&
				    umfs_kmod_attach(cfd, big->ino, big->gen, O_RDWR, 0, &addr, &len,
						     NULL) == 0)
					for (;;)
						(void)*(volatile uint64_t *)addr;
				_exit(0);
			}
			usleep(1000);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			continue;
		}
		if (x % 2)
			err = umfs_kmod_attach(fd, big->ino, big->gen, O_RDWR, 0, &addr, &len, NULL);
		else
			err = kt_attach_once(fd, sparse, &addr, &len);
		if (err == -EAGAIN) {
			/* /big: every try of the client raced a REVOKE (the
			 * revoker's come every 2 ms), the round is lost, as to a
			 * SIGBUS; /sparse: sent back by a REVOKE of another inode */
			if (x % 2)
				lost++;
			else
				sparse_sent_back++;
			continue;
		}
		KT_CHECK(!err, "stress attach: %s", strerror(-err));
		kt_sig = 0;
		if (sigsetjmp(kt_jmp, 1) == 0) {
			if (x % 2) {
				char *r = (char *)addr + KT_STRESS_OFF(i);

				kt_fill(r, KT_STRESS_LEN, KT_STRESS_TAG(i), KT_STRESS_OFF(i));
				KT_CHECK(kt_verify(r, KT_STRESS_LEN, KT_STRESS_TAG(i),
						   KT_STRESS_OFF(i)) < 0, "stress: region reads back wrong");
			} else {
				KT_CHECK(kt_verify(addr, 4096, 5, 0) < 0, "stress: /sparse reads wrong");
			}
		}
		if (kt_sig)
			KT_CHECK(kt_sig == SIGBUS, "stress: signal %d", (int)kt_sig);
		bus += kt_sig != 0;
		rounds++;
		if (x % 3 == 0)
			KT_EXPECT(munmap(addr, len), 0);
		else
			KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
	}
	printf("kmod-func: stress worker %d: %" PRIu64 " rounds, %" PRIu64 " revoked mid-way, %" PRIu64
	       " attaches lost to revokes, %" PRIu64 " of /sparse sent back%s\n", i, rounds, bus,
	       lost, sparse_sent_back, shared ? " (it shares /big's revoke sequence)" : "");
	KT_CHECK(rounds > lost, "stress worker %d: more attaches lost than made", i);
	KT_CHECK(shared || !sparse_sent_back,
		 "stress worker %d: %" PRIu64 " attaches of /sparse sent back by revokes of /big", i,
		 sparse_sent_back);
	exit(0);
}

static int kt_stress(int nproc, int seconds)
{
	struct kt_id big = kt_lookup(dev, "/big"), sparse = kt_lookup(dev, "/sparse");
	uint64_t deadline = seconds ? kt_now_ns() + (uint64_t)seconds * 1000000000ull : 0, rv = 0;
	struct umfs_kmod_stats st;
	pid_t pids[16];
	int i, fd, status;

	KT_CHECK(nproc > 0 && nproc <= 16, "1 to 16 workers");
	KT_EXPECT(umfs_kmod_open(&fd), 0);
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		KT_CHECK(pids[i] >= 0, "fork");
		if (pids[i] == 0)
			kt_stress_worker(i, deadline, &big, &sparse);
	}
	while (!deadline || kt_now_ns() < deadline) { /* the revoker */
		uint64_t n;

		KT_EXPECT(umfs_kmod_revoke(fd, big.ino, &n), 0);
		rv += n;
		usleep(2000);
	}
	for (i = 0; i < nproc; i++) {
		status = kt_wait(pids[i]);
		KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stress worker %d failed", i);
	}
	st = kt_stats(fd);
	KT_CHECK(st.live == 0 && st.spliced == 0 && st.promoted == 0,
		 "counters after stress: live %llu spliced %llu promoted %llu",
		 (unsigned long long)st.live, (unsigned long long)st.spliced,
		 (unsigned long long)st.promoted);
	umfs_kmod_close(fd);
	for (i = 0; i < nproc; i++)
		kt_api_verify("/big", KT_STRESS_TAG(i), KT_STRESS_OFF(i), KT_STRESS_LEN);
	printf("kmod-func: stress: %d workers for %d s, %" PRIu64 " attachments revoked, counters at 0\n",
	       nproc, seconds, rv);
	return 0;
}

/* After a power cut during stress: each word of a worker's region is the
 * original or the worker's pattern (stores are 8-byte atomic). */
static int kt_stress_verify(int nproc)
{
	struct kt_att a;
	uint64_t k, off;
	int i, fd;

	KT_EXPECT(umfs_kmod_open(&fd), 0);
	a = kt_attach(fd, "/big", O_RDONLY);
	for (i = 0; i < nproc; i++) {
		for (k = 0; k < KT_STRESS_LEN / 8; k++) {
			off = KT_STRESS_OFF(i) + k * 8;
			KT_CHECK(*kt_at(&a, off) == kt_word(4, off) ||
				 *kt_at(&a, off) == kt_word(KT_STRESS_TAG(i), off),
				 "/big word at %" PRIu64 " is neither old nor new", off);
		}
	}
	kt_verify_att(&a, "/big", 4, 0, KT_MIB);
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a.p), 0);
	umfs_kmod_close(fd);
	printf("kmod-func: after the power cut every stress region is old or new data\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-func";
	if (argc == 3 && !strcmp(argv[1], "exec-probe"))
		return kt_exec_probe(argv[2]);
	if (argc < 3) {
		fprintf(stderr, "usage: kmod-func create|mount|check DEV | cycles DEV N\n");
		return 2;
	}
	dev = argv[2];
	if (!strcmp(argv[1], "create"))
		return kt_create();
	if (!strcmp(argv[1], "mount"))
		return kt_mount();
	/* rebase_stop is set: EINTR; a device DAX aligned above 4 KiB: EOPNOTSUPP */
	if (!strcmp(argv[1], "mount-interrupted") || !strcmp(argv[1], "mount-refused")) {
		int fd;

		KT_EXPECT(umfs_kmod_open(&fd), 0);
		KT_EXPECT(umfs_kmod_mount(fd, dev, NULL),
			  strcmp(argv[1], "mount-refused") ? -EINTR : -EOPNOTSUPP);
		umfs_kmod_close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "contents")) {
		int fd;

		kt_probe_setup();
		KT_EXPECT(umfs_kmod_open(&fd), 0);
		kt_check_contents(fd);
		umfs_kmod_close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "unmount")) {
		int fd;

		KT_EXPECT(umfs_kmod_open(&fd), 0);
		KT_EXPECT(umfs_kmod_unmount(fd), 0);
		umfs_kmod_close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return kt_check("/proc/self/exe");
	if (!strcmp(argv[1], "stress") && argc == 5)
		return kt_stress(atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(argv[1], "stress-verify") && argc == 4)
		return kt_stress_verify(atoi(argv[3]));
	if (!strcmp(argv[1], "cycles") && argc == 4)
		return kt_cycles(atol(argv[3]));
	fprintf(stderr, "kmod-func: unknown command %s\n", argv[1]);
	return 2;
}
