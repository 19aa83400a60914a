/* SPDX-License-Identifier: MIT */
/*
 * kmod-extend.c - tests of EXTEND, the module's allocation of pages for a
 * file (docs/kmod.md), in the guest.
 *
 *   kmod-extend create DEV   the files, through the C API (before MOUNT)
 *   kmod-extend check DEV    growth from empty to height 3, zeroed pages,
 *                            exact page counts, refusals, permissions
 *   kmod-extend crash DEV    EXTEND cut short before each of its records
 *                            (tx_stop), MOUNT's rollback: the file and the
 *                            bitmap as before, every time
 *   kmod-extend enospc DEV   fills the pool: partial progress, then ENOSPC
 *   kmod-extend damage DEV   a bitmap word changed behind the module: EXTEND
 *                            passes its bitmap page over (checksum), says
 *                            so once and records it; a page a file holds
 *                            marked free makes the next MOUNT refuse
 *
 * What the module wrote is read back through attachments and through
 * root's mapping of the pool (the media itself); fsck.umfs checks the whole
 * pool afterwards (kmod-extend.sh).
 */
#define _GNU_SOURCE
#include <grp.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kmod-util.h"
#include "umfs_format.h"

static const char *dev;

static int ke_create(void)
{
	static const struct { const char *path; mode_t mode; unsigned tag; } files[] = {
		{ "/e1", 0644, 0 }, { "/e2", 0644, 0 }, { "/e3", 0644, 0 },
		{ "/any", 0666, 0 }, { "/ro", 0644, 9 },
	};
	char buf[4096];
	struct umfs_fs *fs;
	struct umfs_file *f;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		KT_EXPECT(umfs_open(fs, files[i].path, O_CREAT | O_TRUNC | O_RDWR, files[i].mode, &f),
			  0);
		if (files[i].tag) {
			kt_fill(buf, sizeof(buf), files[i].tag, 0);
			KT_EXPECT(umfs_pwrite(f, buf, sizeof(buf), 0), (long)sizeof(buf));
		}
		KT_EXPECT(umfs_fchmod(f, files[i].mode), 0);
		KT_EXPECT(umfs_close(f), 0);
	}
	KT_EXPECT(umfs_mkdir(fs, "/d", 0755), 0);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-extend: created /e1 /e2 /e3 /any /ro /d\n");
	return 0;
}

static struct umfs_kmod_extend ke_extend(int fd, const struct kt_id *id, uint64_t first,
					 uint64_t count)
{
	struct umfs_kmod_extend r;
	int err = umfs_kmod_extend(fd, id->ino, id->gen, first, count, &r);

	KT_CHECK(!err, "EXTEND [%" PRIu64 ", +%" PRIu64 "): %s", first, count, strerror(-err));
	return r;
}

/* Every page of [first, first + n) reads as zero through the attachment at
 * a, and takes a store; the page after it (if hole) is SIGBUS. */
static void ke_probe_pages(volatile uint64_t *a, uint64_t first, uint64_t n, unsigned tag)
{
	uint64_t v;

	for (uint64_t pg = first; pg < first + n; pg++) {
		volatile uint64_t *w = a + pg * 512 + (pg % 511);

		KT_CHECK(kt_probe(w, 0, &v) == 0, "page %" PRIu64 " not present", pg);
		KT_CHECK(v == 0 || v == kt_word(tag, pg * 4096), "page %" PRIu64 " not zeroed: %#" PRIx64,
			 pg, v);
		v = kt_word(tag, pg * 4096);
		KT_CHECK(kt_probe(w, 1, &v) == 0, "store to page %" PRIu64, pg);
	}
}

static void ke_expect_hole(volatile uint64_t *a, uint64_t pg)
{
	uint64_t v;

	KT_CHECK(kt_probe(a + pg * 512, 0, &v) == SIGBUS, "page %" PRIu64 " should be a hole", pg);
}

static void ke_check_growth(int fd)
{
	struct kt_id id = kt_lookup(dev, "/e1");
	struct kt_pool p = kt_pool_map(fd, PROT_READ);
	const struct umfs_inode *in = kt_pool_inode(&p, id.ino);
	const uint64_t far = (KT_GIB >> 12) + 5; /* past the first GiB: height 3 */
	struct umfs_kmod_extend r;
	uint64_t used0 = kt_pool_used_pages(&p), v;
	void *addr;
	size_t len;

	KT_CHECK(in->pt_root == 0 && in->blocks == 0, "/e1 is not empty");
	/* one page: the data page is the root (height 0) */
	r = ke_extend(fd, &id, 0, 1);
	KT_CHECK(r.done == 1 && r.allocated == 1 && !r.stop_error, "EXTEND 0+1: done %llu alloc %llu",
		 (unsigned long long)r.done, (unsigned long long)r.allocated);
	KT_CHECK(in->pt_height == 0 && in->pt_root && in->blocks == 1, "height %u blocks %llu",
		 in->pt_height, (unsigned long long)in->blocks);
	/* 600 more: two levels grown, a second level-1 table for pages 512.. */
	r = ke_extend(fd, &id, 1, 600);
	KT_CHECK(r.done == 600 && r.allocated == 603, "EXTEND 1+600: done %llu alloc %llu (want 603)",
		 (unsigned long long)r.done, (unsigned long long)r.allocated);
	KT_CHECK(in->pt_height == 2 && in->blocks == 604, "height %u blocks %llu", in->pt_height,
		 (unsigned long long)in->blocks);
	/* what is present already costs nothing */
	r = ke_extend(fd, &id, 0, 601);
	KT_CHECK(r.done == 601 && r.allocated == 0, "EXTEND again: alloc %llu",
		 (unsigned long long)r.allocated);
	/* sparse, past 1 GiB: height 3 (a new top, a level-2 and a level-1 table) */
	r = ke_extend(fd, &id, far, 2);
	KT_CHECK(r.done == 2 && r.allocated == 5, "EXTEND far: done %llu alloc %llu (want 5)",
		 (unsigned long long)r.done, (unsigned long long)r.allocated);
	KT_CHECK(in->pt_height == 3 && in->blocks == 609, "height %u blocks %llu", in->pt_height,
		 (unsigned long long)in->blocks);
	KT_CHECK(kt_pool_used_pages(&p) == used0 + 609, "bitmap: %llu pages taken, want 609",
		 (unsigned long long)(kt_pool_used_pages(&p) - used0));

	/* the tree the module built is what an attachment maps: zeroed pages
	 * where it allocated, holes elsewhere */
	KT_EXPECT(umfs_kmod_attach(fd, id.ino, id.gen, O_RDWR, 2 * KT_GIB, &addr, &len, NULL), 0);
	ke_probe_pages(addr, 0, 601, 11);
	ke_expect_hole(addr, 601);
	ke_expect_hole(addr, far - 1);
	ke_probe_pages(addr, far, 2, 11);
	ke_expect_hole(addr, far + 2);
	/* and the stores are in the pages the pool's tables name */
	KT_CHECK(kt_probe((volatile uint64_t *)addr + 600 * 512 + 600 % 511, 0, &v) == 0 &&
		 v == kt_word(11, 600 * 4096), "page 600 lost its store");
	KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
	kt_pool_unmap(&p);
	printf("kmod-extend: empty -> height 0 -> 2 -> 3, 609 pages (tables counted exactly), "
	       "zeroed, holes kept\n");
}

static void ke_check_refusals(int fd)
{
	struct kt_id id = kt_lookup(dev, "/e1"), d = kt_lookup(dev, "/d");
	struct umfs_kmod_extend r = { .ino = id.ino, .generation = id.gen, .first = 0, .count = 1,
				      .flags = 1 };
	struct umfs_kmod_extend out;

	KT_EXPECT(umfs_kmod_extend(fd, id.ino, id.gen + 1, 0, 1, &out), -ESTALE);
	KT_EXPECT(umfs_kmod_extend(fd, d.ino, d.gen, UMFS_DIR_MAP_PAGE0 + UMFS_DIR_MAP_PAGES - 1, 2,
				   &out), -EFBIG);
	KT_EXPECT(umfs_kmod_extend(fd, id.ino, id.gen, (UMFS_MAX_FILE_SIZE >> 12) - 1, 2, &out),
		  -EFBIG);
	KT_EXPECT(umfs_kmod_extend(fd, 0, 0, 0, 1, &out), -ESTALE);
	KT_CHECK(umfs_kmod_call(fd, UMFS_KMOD_IOC_EXTEND, &r) == -EINVAL, "flags accepted");
	printf("kmod-extend: stale generation, directory past its layout, past 256 TiB, inode 0, "
	       "flags refused\n");
}

/* A directory's pages come from EXTEND too: a zeroed spare that libumfs
 * ignores until it counts it, then uses (module mode maps the rest). */
static void ke_check_dir(int fd)
{
	struct kt_id d = kt_lookup(dev, "/d");
	struct umfs_kmod_free fr;
	struct umfs_fs *fs;
	struct umfs_dir *dh;
	struct umfs_dirent e;
	unsigned n = 0;
	int ret;

	struct umfs_kmod_extend r = ke_extend(fd, &d, UMFS_DIR_BUCKET_PAGE0 + 7, 1);
	KT_CHECK(r.done == 1 && r.allocated >= 2, "directory EXTEND: done %llu allocated %llu",
		 (unsigned long long)r.done, (unsigned long long)r.allocated);
	KT_EXPECT(umfs_kmod_free(fd, d.ino, d.gen, 0, 1, &fr), -EBUSY);

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	for (unsigned i = 0; i < 300; i++) {
		char name[64];
		struct umfs_file *f;

		snprintf(name, sizeof(name), "/d/entry-%u-with-a-longer-name", i);
		KT_EXPECT(umfs_open(fs, name, O_CREAT | O_EXCL | O_WRONLY, 0644, &f), 0);
		KT_EXPECT(umfs_close(f), 0);
	}
	KT_EXPECT(umfs_opendir(fs, "/d", &dh), 0);
	while ((ret = umfs_readdir(dh, &e)) == 1)
		n += strncmp(e.name, "entry-", 6) == 0;
	KT_EXPECT(ret, 0);
	KT_EXPECT(umfs_closedir(dh), 0);
	KT_CHECK(n == 300, "/d lists %u names, want 300", n);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-extend: directory: EXTEND maps a zeroed spare, FREE of a named one is EBUSY; "
	       "300 creates in it list back\n");
}

/* uid 65534: EACCES without write permission; with it, EBUSY while root
 * maps the pool (its libumfs allocates too), allowed when nobody does. */
static void ke_check_unprivileged(int fd)
{
	struct kt_id ro = kt_lookup(dev, "/ro"), any = kt_lookup(dev, "/any"), d = kt_lookup(dev, "/d");
	struct kt_pool p;

	for (int round = 0; round < 2; round++) {
		pid_t pid;
		int status;

		if (round == 0)
			p = kt_pool_map(fd, PROT_READ);
		pid = fork();
		KT_CHECK(pid >= 0, "fork");
		if (pid == 0) {
			struct umfs_kmod_extend out;
			int cfd;

			kt_name = "kmod-extend (uid 65534)";
			KT_EXPECT(setgroups(0, NULL), 0);
			KT_EXPECT(setgid(65534), 0);
			KT_EXPECT(setuid(65534), 0);
			KT_EXPECT(umfs_kmod_open(&cfd), 0);
			KT_EXPECT(umfs_kmod_extend(cfd, ro.ino, ro.gen, 1, 1, &out), -EACCES);
			KT_EXPECT(umfs_kmod_extend(cfd, d.ino, d.gen, 0, 1, &out), -EACCES);
			KT_EXPECT(umfs_kmod_extend(cfd, any.ino, any.gen, 0, 3, &out),
				  round == 0 ? -EBUSY : 0);
			/* 3 pages: an inline table, no table page */
			KT_CHECK(round == 0 || (out.done == 3 && out.allocated == 3),
				 "unprivileged EXTEND: done %llu allocated %llu",
				 (unsigned long long)out.done, (unsigned long long)out.allocated);
			exit(0);
		}
		status = kt_wait(pid);
		KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged child failed");
		if (round == 0)
			kt_pool_unmap(&p);
	}
	printf("kmod-extend: uid 65534 refused without write permission and while root maps "
	       "the pool; allowed otherwise\n");
}

static int ke_check(void)
{
	int fd;

	kt_probe_setup();
	KT_EXPECT(umfs_kmod_open(&fd), 0);
	KT_CHECK(kt_stats(fd).abi_version == UMFS_KMOD_ABI_VERSION, "ABI version");
	ke_check_growth(fd);
	ke_check_refusals(fd);
	ke_check_unprivileged(fd);
	ke_check_dir(fd);
	KT_CHECK(kt_stats(fd).live == 0, "attachments left");
	umfs_kmod_close(fd);
	return 0;
}

/*
 * An EXTEND of 1,100 pages of the empty /e2 (root, three level-1 tables,
 * runs of data pages), cut short before its Nth record for N = 1, 2, ...
 * as a crash would leave it: the slot active, the changes since the last
 * record in place. MOUNT must roll it back: /e2 empty again and the bitmap
 * exactly as before. Ends when a call runs to completion.
 */
static int ke_crash(void)
{
	struct kt_id id = kt_lookup(dev, "/e2");
	unsigned n;

	for (n = 1;; n++) {
		struct umfs_kmod_extend out;
		struct umfs_inode before;
		struct kt_pool p;
		uint64_t *bm;
		int fd, err;

		KT_CHECK(n < 64, "EXTEND never completed");
		KT_EXPECT(umfs_kmod_open(&fd), 0);
		p = kt_pool_map(fd, PROT_READ);
		before = *kt_pool_inode(&p, id.ino);
		bm = kt_pool_bitmap_copy(&p);
		kt_pool_unmap(&p);
		kt_set_tx_stop(n);
		err = umfs_kmod_extend(fd, id.ino, id.gen, 0, 1100, &out);
		kt_set_tx_stop(0);
		if (err == 0) {
			/* a level-2 root, three level-1 tables */
			KT_CHECK(out.done == 1100 && out.allocated == 1104, "done %llu allocated %llu",
				 (unsigned long long)out.done, (unsigned long long)out.allocated);
			umfs_kmod_close(fd);
			break;
		}
		KT_CHECK(err == -EINTR, "cut at record %u: %s", n, strerror(-err));
		/* the power cut (before record 1 nothing was changed, nor the
		 * slot marked): the module refuses to go on, MOUNT recovers */
		if (n > 1)
			KT_EXPECT(umfs_kmod_extend(fd, id.ino, id.gen, 0, 1, &out), -EUCLEAN);
		KT_EXPECT(umfs_kmod_unmount(fd), 0);
		KT_EXPECT(umfs_kmod_mount(fd, dev, NULL), 0);
		p = kt_pool_map(fd, PROT_READ);
		KT_CHECK(memcmp(kt_pool_inode(&p, id.ino), &before, 128) == 0,
			 "cut at record %u: /e2's inode not rolled back", n);
		KT_CHECK(memcmp(kt_pool_bitmap(&p), bm, kt_pool_bitmap_len(&p)) == 0,
			 "cut at record %u: bitmap not rolled back", n);
		kt_pool_unmap(&p);
		free(bm);
		umfs_kmod_close(fd);
	}
	printf("kmod-extend: cut at %u points (before each record and the commit), rolled back "
	       "at MOUNT every time; then whole\n", n - 1);
	return n > 3 ? 0 : 1; /* a call of so many pages takes several records */
}

/* Extends /e3 until the pool is full: every call commits what it did, the
 * last ones say ENOSPC, and the bitmap is full. */
static int ke_enospc(void)
{
	struct kt_id id = kt_lookup(dev, "/e3");
	uint64_t pg = 0, total = 0, calls = 0;
	struct umfs_kmod_extend out;
	struct kt_pool p;
	int fd, err;

	KT_EXPECT(umfs_kmod_open(&fd), 0);
	for (;;) {
		err = umfs_kmod_extend(fd, id.ino, id.gen, pg, (8 * KT_GIB) >> 12, &out);
		if (err)
			break;
		calls++;
		pg += out.done;
		total += out.allocated;
		if (out.stop_error)
			KT_CHECK(out.stop_error == -ENOSPC, "stop_error %d", out.stop_error);
	}
	KT_CHECK(err == -ENOSPC, "EXTEND ended with %s", strerror(-err));
	p = kt_pool_map(fd, PROT_READ);
	KT_CHECK(kt_pool_used_pages(&p) == p.sb->data_pages, "ENOSPC with %llu of %llu pages used",
		 (unsigned long long)kt_pool_used_pages(&p), (unsigned long long)p.sb->data_pages);
	KT_CHECK(kt_pool_inode(&p, id.ino)->blocks == total, "blocks %llu, allocated %llu",
		 (unsigned long long)kt_pool_inode(&p, id.ino)->blocks, (unsigned long long)total);
	kt_pool_unmap(&p);
	umfs_kmod_close(fd);
	printf("kmod-extend: pool filled in %llu calls (%llu pages), then ENOSPC\n",
	       (unsigned long long)calls, (unsigned long long)total);
	return 0;
}

#define KE_BSUM_PAGES (UMFS_BSUM_WORDS * 64ull) /* data pages one checksum covers */

static void ke_bit_flip(struct kt_pool *p, uint64_t page)
{
	uint64_t *bm = (uint64_t *)kt_pool_bitmap(p);

	bm[page / 64] ^= 1ull << (page % 64); /* its checksum is not told */
}

/* Runs with the pool mounted (fresh, from create) and leaves it unmounted. */
static int ke_damage(void)
{
	struct kt_id e1 = kt_lookup(dev, "/e1"), ro = kt_lookup(dev, "/ro");
	const struct umfs_state *st;
	struct umfs_kmod_extend out;
	uint64_t leak, page;
	struct kt_pool p;
	int fd;

	KT_EXPECT(umfs_kmod_open(&fd), 0);
	p = kt_pool_map(fd, PROT_READ | PROT_WRITE);
	st = (const struct umfs_state *)(p.m + p.sb->state_off);
	KT_CHECK(p.sb->data_pages > 2 * KE_BSUM_PAGES, "a pool of %llu pages is too small",
		 (unsigned long long)p.sb->data_pages);
	KT_CHECK(st->errors == 0, "errors word %#llx in a fresh pool", (unsigned long long)st->errors);
	/* a leak in the first bitmap page: its checksum fails */
	for (leak = KE_BSUM_PAGES - 1; kt_pool_bitmap(&p)[leak / 64] >> (leak % 64) & 1; leak--)
		;
	ke_bit_flip(&p, leak);
	for (uint64_t pg = 0; pg < 3; pg++) {
		KT_EXPECT(umfs_kmod_extend(fd, e1.ino, e1.gen, pg, 1, &out), 0);
		page = kt_pool_bit(&p, kt_pool_page_off(&p, kt_pool_inode(&p, e1.ino), pg));
		KT_CHECK(page >= KE_BSUM_PAGES, "EXTEND took page %llu, from the damaged bitmap page",
			 (unsigned long long)page);
	}
	KT_CHECK(st->errors & UMFS_ERRORS_PBITMAP, "errors word %#llx",
		 (unsigned long long)st->errors);
	ke_bit_flip(&p, leak); /* sound again */
	/* /ro's data page marked free: MOUNT must not trust that bitmap */
	ke_bit_flip(&p, kt_pool_bit(&p, kt_pool_page_off(&p, kt_pool_inode(&p, ro.ino), 0)));
	kt_pool_unmap(&p);
	KT_EXPECT(umfs_kmod_unmount(fd), 0);
	KT_EXPECT(umfs_kmod_mount(fd, dev, NULL), -EUCLEAN);
	umfs_kmod_close(fd);
	printf("kmod-extend: a damaged bitmap page passed over; a page in use marked free "
	       "refused at MOUNT\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-extend";
	if (argc != 3) {
		fprintf(stderr, "usage: kmod-extend create|check|crash|enospc|damage DEV\n");
		return 2;
	}
	dev = argv[2];
	if (!strcmp(argv[1], "create"))
		return ke_create();
	if (!strcmp(argv[1], "check"))
		return ke_check();
	if (!strcmp(argv[1], "crash"))
		return ke_crash();
	if (!strcmp(argv[1], "enospc"))
		return ke_enospc();
	if (!strcmp(argv[1], "damage"))
		return ke_damage();
	fprintf(stderr, "kmod-extend: unknown command %s\n", argv[1]);
	return 2;
}
