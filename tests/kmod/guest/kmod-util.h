/* SPDX-License-Identifier: MIT */
/*
 * kmod-util.h - helpers shared by the guest programs of the module's tests
 * (kmod-func.c, kmod-bench.c, kmod-extend.c, kmod-meta.c, kmod-exchange.c,
 * kmod-create.c, kmod-trees.c): checks, data patterns, fault probes, a
 * process holding an attachment, a child as uid 65534, the module's
 * counters, root's mapping of the pool and the trees in it, file
 * identities through the C API.
 */
#ifndef KMOD_UTIL_H
#define KMOD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "umfs_frontend.h" /* umfs_file_id: an attachment names its inode by identity */
#include "umfs_format.h"
#include "umfs_kmod_client.h"

static const char *kt_name = "kmod";

#define KT_FAIL(...)                                                                       \
	do {                                                                               \
		fprintf(stderr, "%s: FAIL at %s:%d: ", kt_name, __FILE__, __LINE__);       \
		fprintf(stderr, __VA_ARGS__);                                              \
		fputc('\n', stderr);                                                       \
		exit(1);                                                                   \
	} while (0)
#define KT_CHECK(cond, ...)                                                                \
	do {                                                                               \
		if (!(cond))                                                               \
			KT_FAIL(__VA_ARGS__);                                              \
	} while (0)
/* a call returning 0 or -errno must return want */
#define KT_EXPECT(call, want)                                                              \
	do {                                                                               \
		long kt_r_ = (long)(call);                                                 \
		if (kt_r_ != (long)(want))                                                 \
			KT_FAIL("%s = %ld (%s), expected %ld", #call, kt_r_,               \
				kt_r_ < 0 ? strerror((int)-kt_r_) : "ok", (long)(want));   \
	} while (0)

#define KT_KIB 1024ull
#define KT_MIB (1024ull * 1024)
#define KT_GIB (1024ull * 1024 * 1024)

/* The 8-byte word at file offset off of a file tagged tag. */
static inline uint64_t kt_word(unsigned tag, uint64_t off)
{
	return ((uint64_t)tag << 56) ^ (off * 0x9E3779B97F4A7C15ull >> 8) ^ off;
}

static inline void kt_fill(void *buf, size_t len, unsigned tag, uint64_t off)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = kt_word(tag, off + i * 8);
}

/* Index of the first wrong word, or -1. */
static inline long kt_verify(const void *buf, size_t len, unsigned tag, uint64_t off)
{
	const volatile uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != kt_word(tag, off + i * 8))
			return (long)i;
	return -1;
}

static inline uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t kt_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds since t0 (kt_now_ns). */
static inline uint64_t kt_ms_since(uint64_t t0)
{
	return (kt_now_ns() - t0) / 1000000;
}

/* ------------------------------------------------------------------ */
/* Fault probes: 0, SIGSEGV or SIGBUS, in this process                  */
/* ------------------------------------------------------------------ */

static sigjmp_buf kt_jmp;
static volatile sig_atomic_t kt_sig;

static void kt_on_fault(int sig)
{
	kt_sig = sig;
	siglongjmp(kt_jmp, 1);
}

static inline void kt_probe_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static inline int kt_probe(volatile uint64_t *p, int write, uint64_t *val)
{
	kt_sig = 0;
	if (sigsetjmp(kt_jmp, 1) == 0) {
		if (write)
			*p = *val;
		else
			*val = *p;
	}
	return kt_sig;
}

static inline int kt_wait(pid_t pid)
{
	int status;

	KT_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	return status;
}

/* A process holding an attachment (flags) of inode ino, for a revocation
 * under it: it reads the first word of page pg (tag's pattern), says so,
 * waits for kt_holder_finish, and must then get SIGBUS from the same
 * address. */
struct kt_holder {
	pid_t pid;
	int go;
};

static inline struct kt_holder kt_holder_start(uint64_t ino, uint32_t gen, int flags,
					       uint64_t pg, unsigned tag)
{
	int up[2], down[2];
	struct kt_holder h;
	char c = 0;

	KT_EXPECT(pipe(up), 0);
	KT_EXPECT(pipe(down), 0);
	h.pid = fork();
	KT_CHECK(h.pid >= 0, "fork");
	if (h.pid == 0) {
		static char name[96];
		volatile uint64_t *a;
		uint64_t v;
		void *addr;
		size_t len;
		int fd, err;

		snprintf(name, sizeof(name), "%s (holder)", kt_name);
		kt_name = name;
		close(up[0]);
		close(down[1]);
		KT_EXPECT(umfs_kmod_open(&fd), 0); /* the parent's answers EBADFD here */
		err = umfs_kmod_attach(fd, ino, gen, flags, KT_GIB, &addr, &len, NULL);
		KT_CHECK(!err, "holder: ATTACH of inode %" PRIu64 ": %s", ino, strerror(-err));
		a = (volatile uint64_t *)addr + pg * 512;
		KT_CHECK(kt_probe(a, 0, &v) == 0 && v == kt_word(tag, pg * 4096),
			 "holder: inode %" PRIu64 " page %" PRIu64 ": %#" PRIx64, ino, pg, v);
		KT_CHECK(write(up[1], &c, 1) == 1 && read(down[0], &c, 1) == 1, "holder: pipe");
		KT_CHECK(kt_probe(a, 0, &v) == SIGBUS, "the holder of inode %" PRIu64 " still reads "
			 "its mapping after the revocation (%#" PRIx64 ")", ino, v);
		exit(0);
	}
	close(up[1]);
	close(down[0]);
	KT_CHECK(read(up[0], &c, 1) == 1, "the holder never attached");
	close(up[0]);
	h.go = down[1];
	return h;
}

static inline void kt_holder_finish(struct kt_holder *h)
{
	char c = 0;
	int status;

	KT_CHECK(write(h->go, &c, 1) == 1, "pipe");
	close(h->go);
	status = kt_wait(h->pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the holder failed");
}

#define KT_NOBODY 65534u /* the unprivileged user, and its own group */
#define KT_GROUP 100u    /* a supplementary group of it */

/* Runs fn(its own /dev/umfs descriptor) in a child as uid 65534, gid
 * 65534, groups 65534 and 100: the kernel's rules for a caller without
 * capabilities. */
static inline void kt_as_nobody(void (*fn)(int fd), const char *what)
{
	pid_t pid = fork();
	int status;

	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		static const gid_t groups[] = { KT_NOBODY, KT_GROUP };
		static char name[96];
		int fd;

		snprintf(name, sizeof(name), "%s (uid 65534)", kt_name);
		kt_name = name;
		KT_EXPECT(setgroups(2, groups), 0);
		KT_EXPECT(setgid(KT_NOBODY), 0);
		KT_EXPECT(setuid(KT_NOBODY), 0);
		KT_EXPECT(umfs_kmod_open(&fd), 0);
		fn(fd);
		exit(0);
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the uid 65534 child failed",
		 what);
}

/* ------------------------------------------------------------------ */
/* The module and the pool                                              */
/* ------------------------------------------------------------------ */

static inline struct umfs_kmod_stats kt_stats(int fd)
{
	struct umfs_kmod_stats st;

	KT_EXPECT(umfs_kmod_stats(fd, &st), 0);
	return st;
}

/* PageTables of /proc/meminfo, kB. meminfo shows the global counter, which
 * each CPU's pending deltas reach only past a threshold or once a second:
 * with 4 vCPUs it lagged by 52 kB. stat_refresh folds them in first. */
static inline long kt_pagetables_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	KT_CHECK(f, "/proc/sys/vm/stat_refresh: %s", strerror(errno));
	fputs("1\n", f);
	KT_CHECK(fclose(f) == 0, "stat_refresh write: %s", strerror(errno));
	f = fopen("/proc/meminfo", "r");
	KT_CHECK(f, "/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PageTables: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The test hook of ktx.c: the module's next transactions stop before their
 * nth record as a power cut would leave them; 0 turns it off. */
static inline void kt_set_tx_stop(unsigned long n)
{
	FILE *f = fopen("/sys/module/umfs/parameters/tx_stop", "w");

	KT_CHECK(f, "tx_stop: %s", strerror(errno));
	fprintf(f, "%lu\n", n);
	KT_CHECK(fclose(f) == 0, "tx_stop write");
}

/* Root's mapping of the pool (UMFS_KMOD_POOL_OFFSET): the media the module
 * writes and attachments map, seen at once. */
struct kt_pool {
	char *m;
	uint64_t size;
	const struct umfs_superblock *sb;
};

/* prot: PROT_READ, or with PROT_WRITE. The first page tells the size. */
static inline struct kt_pool kt_pool_map(int fd, int prot)
{
	struct kt_pool p;
	char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)UMFS_KMOD_POOL_OFFSET);

	KT_CHECK(m != MAP_FAILED, "pool map: %s", strerror(errno));
	KT_CHECK(((const struct umfs_superblock *)m)->magic == UMFS_SB_MAGIC,
		 "pool map: no superblock");
	p.size = ((const struct umfs_superblock *)m)->pool_size;
	munmap(m, 4096);
	p.m = mmap(NULL, p.size, prot, MAP_SHARED, fd, (off_t)UMFS_KMOD_POOL_OFFSET);
	KT_CHECK(p.m != MAP_FAILED, "pool map of %" PRIu64 " bytes: %s", p.size, strerror(errno));
	p.sb = (const struct umfs_superblock *)p.m;
	return p;
}

static inline void kt_pool_unmap(struct kt_pool *p)
{
	KT_EXPECT(munmap(p->m, p->size), 0);
	p->m = NULL;
}

static inline const struct umfs_inode *kt_pool_inode(const struct kt_pool *p, uint64_t ino)
{
	return (const struct umfs_inode *)(p->m + p->sb->inode_off +
					   ino * sizeof(struct umfs_inode));
}

static inline const uint64_t *kt_pool_bitmap(const struct kt_pool *p)
{
	return (const uint64_t *)(p->m + p->sb->pbitmap_off);
}

/* The inode bitmap: bit ino set while inode ino is in use. */
static inline const uint64_t *kt_pool_ibitmap(const struct kt_pool *p)
{
	return (const uint64_t *)(p->m + p->sb->ibitmap_off);
}

static inline int kt_pool_ino_used(const struct kt_pool *p, uint64_t ino)
{
	return kt_pool_ibitmap(p)[ino / 64] >> (ino % 64) & 1;
}

/* Bytes of the inode bitmap (whole words). */
static inline size_t kt_pool_ibitmap_len(const struct kt_pool *p)
{
	return (p->sb->inode_count + 63) / 64 * 8;
}

/* Bytes of the page bitmap (whole words). */
static inline size_t kt_pool_bitmap_len(const struct kt_pool *p)
{
	return (p->sb->data_pages + 63) / 64 * 8;
}

/* Pages in use according to the page bitmap. */
static inline uint64_t kt_pool_used_pages(const struct kt_pool *p)
{
	const uint64_t *bm = kt_pool_bitmap(p);
	uint64_t used = 0, n = p->sb->data_pages;

	for (uint64_t w = 0; w < n / 64; w++)
		used += (uint64_t)__builtin_popcountll(bm[w]);
	if (n % 64)
		used += (uint64_t)__builtin_popcountll(bm[n / 64] & ((1ull << (n % 64)) - 1));
	return used;
}

/* A copy of the bitmap, to compare before and after a call. */
static inline uint64_t *kt_pool_bitmap_copy(const struct kt_pool *p)
{
	uint64_t *c = malloc(kt_pool_bitmap_len(p));

	KT_CHECK(c, "malloc");
	memcpy(c, kt_pool_bitmap(p), kt_pool_bitmap_len(p));
	return c;
}

/* Trees, read through the pool mapping. Pool offset an entry points at
 * (mask: UMFS_PTE_ADDR_MASK, or UMFS_PTE_HUGE_ADDR_MASK for a 2 MiB leaf). */
static inline uint64_t kt_pool_entry_off(const struct kt_pool *p, uint64_t e, uint64_t mask)
{
	return (e & mask) - p->sb->phys_base;
}

static inline uint64_t *kt_pool_table(const struct kt_pool *p, uint64_t off)
{
	return (uint64_t *)(p->m + off);
}

/* Index in the page bitmap of the data page at pool offset off. */
static inline uint64_t kt_pool_bit(const struct kt_pool *p, uint64_t off)
{
	const struct umfs_superblock *sb = p->sb;

	KT_CHECK(off >= sb->data_off && off < sb->data_off + (sb->data_pages << 12) && !(off & 4095),
		 "pool offset %#" PRIx64 " is not a data page", off);
	return (off - sb->data_off) >> 12;
}

/* Pool offset of file page pg of in, 0 for a hole. */
static inline uint64_t kt_pool_page_off(const struct kt_pool *p, const struct umfs_inode *in,
					uint64_t pg)
{
	uint64_t off = in->pt_root;

	if (in->pt_height == UMFS_PT_INLINE) /* the level-1 entries are in the inode */
		return pg < UMFS_PT_INLINE_ENTRIES && in->pt_inline[pg] ?
			       kt_pool_entry_off(p, in->pt_inline[pg], UMFS_PTE_ADDR_MASK) : 0;
	if (!off)
		return 0;
	if (in->pt_height == 0)
		return pg == 0 ? off : 0;
	if (pg >> (9 * in->pt_height))
		return 0;
	for (unsigned level = in->pt_height; level >= 1; level--) {
		uint64_t e = kt_pool_table(p, off)[(pg >> (9 * (level - 1))) & 511];

		if (!e)
			return 0;
		if (level == 2 && (e & UMFS_PTE_PSE))
			return kt_pool_entry_off(p, e, UMFS_PTE_HUGE_ADDR_MASK) + ((pg & 511) << 12);
		off = kt_pool_entry_off(p, e, UMFS_PTE_ADDR_MASK);
	}
	return off;
}

/* FNV-1a, continued from h. */
static inline uint64_t kt_fnv(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* What a file's tree holds, read through the pool mapping, every entry's
 * flags checked on the way: trees of up to 4 levels, inline tables. */
struct kt_tree {
	uint64_t *pages; /* bitmap (as the pool's) of the pool pages it holds */
	uint64_t tables, leaves, huge;
	uint64_t digest; /* FNV-1a of the root, the height, the inline entries
			  * and every table page */
};

static inline void kt_tree_mark(const struct kt_pool *p, struct kt_tree *t, uint64_t off,
				uint64_t n, const char *what)
{
	uint64_t b = kt_pool_bit(p, off);

	for (uint64_t i = b; i < b + n; i++) {
		KT_CHECK(!(t->pages[i / 64] >> (i % 64) & 1), "%s: pool page %" PRIu64
			 " twice in the tree", what, i);
		t->pages[i / 64] |= 1ull << (i % 64);
	}
}

static inline void kt_tree_table(const struct kt_pool *p, struct kt_tree *t, uint64_t off,
				 unsigned level, const char *what);

/* Entries e[0..n) of a table at level (an inline table: level 1, 17). */
static inline void kt_tree_entries(const struct kt_pool *p, struct kt_tree *t, const uint64_t *e,
				   unsigned n, unsigned level, const char *what)
{
	for (unsigned i = 0; i < n; i++) {
		if (!e[i])
			continue;
		if (level == 2 && (e[i] & UMFS_PTE_PSE)) {
			KT_CHECK((e[i] & ~UMFS_PTE_HUGE_ADDR_MASK) == UMFS_PTE_LEAF2M_FLAGS,
				 "%s: 2 MiB leaf %#" PRIx64, what, e[i]);
			t->huge++;
			kt_tree_mark(p, t, kt_pool_entry_off(p, e[i], UMFS_PTE_HUGE_ADDR_MASK),
				     UMFS_PAGES_PER_HUGE, what);
		} else if (level == 1) {
			KT_CHECK((e[i] & ~UMFS_PTE_ADDR_MASK) == UMFS_PTE_LEAF4K_FLAGS,
				 "%s: 4 KiB leaf %#" PRIx64, what, e[i]);
			t->leaves++;
			kt_tree_mark(p, t, kt_pool_entry_off(p, e[i], UMFS_PTE_ADDR_MASK), 1, what);
		} else {
			KT_CHECK((e[i] & ~UMFS_PTE_ADDR_MASK) == UMFS_PTE_TABLE_FLAGS,
				 "%s: table entry %#" PRIx64 " at level %u", what, e[i], level);
			kt_tree_table(p, t, kt_pool_entry_off(p, e[i], UMFS_PTE_ADDR_MASK), level - 1,
				      what);
		}
	}
}

static inline void kt_tree_table(const struct kt_pool *p, struct kt_tree *t, uint64_t off,
				 unsigned level, const char *what)
{
	const uint64_t *e = kt_pool_table(p, off);

	t->tables++;
	kt_tree_mark(p, t, off, 1, what);
	t->digest = kt_fnv(t->digest, e, 4096);
	kt_tree_entries(p, t, e, 512, level, what);
}

/* The tree of in (kt_tree_free it). */
static inline struct kt_tree kt_tree_walk(const struct kt_pool *p, const struct umfs_inode *in,
					  const char *what)
{
	struct kt_tree t = { .digest = 0xcbf29ce484222325ull };

	t.pages = calloc(1, kt_pool_bitmap_len(p));
	KT_CHECK(t.pages, "calloc");
	t.digest = kt_fnv(t.digest, &in->pt_root, sizeof(in->pt_root) + sizeof(in->pt_height));
	if (in->pt_height == UMFS_PT_INLINE) {
		KT_CHECK(!in->pt_root, "%s: a root beside an inline table", what);
		t.digest = kt_fnv(t.digest, in->pt_inline, sizeof(in->pt_inline));
		kt_tree_entries(p, &t, in->pt_inline, UMFS_PT_INLINE_ENTRIES, 1, what);
	} else if (in->pt_root) {
		KT_CHECK(in->pt_height <= 4, "%s: height %u", what, in->pt_height);
		if (in->pt_height == 0) {
			t.leaves = 1;
			kt_tree_mark(p, &t, in->pt_root, 1, what);
		} else {
			kt_tree_table(p, &t, in->pt_root, in->pt_height, what);
		}
	}
	return t;
}

/* Pool pages the tree holds: what the inode's blocks must say. */
static inline uint64_t kt_tree_blocks(const struct kt_tree *t)
{
	return t->tables + t->leaves + UMFS_PAGES_PER_HUGE * t->huge;
}

static inline void kt_tree_free(struct kt_tree *t)
{
	free(t->pages);
	t->pages = NULL;
}

struct kt_id {
	uint64_t ino;
	uint32_t gen;
	uint64_t size;
};

/* Identity of path in a mounted pool. */
static inline struct kt_id kt_lookup_fs(struct umfs_fs *fs, const char *path)
{
	struct umfs_file *f;
	struct stat st;
	struct kt_id id;
	int err;

	err = umfs_open(fs, path, O_RDONLY, 0, &f);
	KT_CHECK(!err, "umfs_open %s: %s", path, strerror(-err));
	umfs_file_id(f, &id.ino, &id.gen);
	KT_EXPECT(umfs_fstat(f, &st), 0);
	id.size = (uint64_t)st.st_size;
	umfs_close(f);
	return id;
}

/* Identity of path in the pool, through a read-only mount of the C API. */
static inline struct kt_id kt_lookup(const char *dev, const char *path)
{
	struct umfs_fs *fs;
	struct kt_id id;
	int err;

	err = umfs_mount(dev, UMFS_MOUNT_RDONLY, &fs);
	KT_CHECK(!err, "umfs_mount %s: %s (%s)", dev, strerror(-err), umfs_mount_error());
	id = kt_lookup_fs(fs, path);
	KT_EXPECT(umfs_unmount(fs), 0);
	return id;
}

#endif /* KMOD_UTIL_H */
