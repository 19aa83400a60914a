/* SPDX-License-Identifier: MIT */
/*
 * kmod-meta.c - tests of SETATTR and FREE, the module's metadata calls
 * (include/umfs_kmod.h, ABI 3), in the guest.
 *
 *   kmod-meta create DEV    the files, through the C API (before MOUNT);
 *                           two of them made of 2 MiB leaves
 *   kmod-meta setattr DEV   chmod and chown, as root and as uid 65534,
 *                           against what the guest kernel itself answers
 *                           on tmpfs; ctime, checksum, refusals, EBUSY,
 *                           revocation of attachments
 *   kmod-meta free DEV      holes, exact page counts against the tree and
 *                           the bitmap, trees shrinking to height 0, 2 MiB
 *                           leaves split, a fragmented free over several
 *                           calls, refusals and permissions
 *   kmod-meta crash DEV     FREE and SETATTR cut short before each of their
 *                           records (tx_stop), MOUNT's rollback: inode,
 *                           tree and bitmap as before, every time
 *
 * What the module wrote is read back through root's mapping of the pool
 * (the media itself) and through attachments; fsck.umfs checks the whole
 * pool after each phase (kmod-meta.sh).
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "kmod-util.h"

/* libumfs's checksum of an inode's identity fields (libumfs/core/umfs_tools.h):
 * the one fsck and the module check, linked from libumfs_core.a. */
uint32_t umfs_inode_csum(const struct umfs_inode *in);

#define KM_OTHER_GROUP 300u /* a group it is not in */
#define KM_REF_DIR "/tmp/kmod-meta"

#define KM_TAG_RV 31
#define KM_TAG_H1 21
#define KM_TAG_CR 41
#define KM_TAG_F1 11
#define KM_TAG_F2 12
#define KM_TAG_F3 13
#define KM_TAG_FB 14

#define KM_REGION 512ull                        /* file pages of a 2 MiB leaf */
#define KM_FAR ((KT_GIB >> 12) + 5)             /* a page past 1 GiB: height 3 */
#define KM_FRAG_PAGES 8192u                     /* the fragmented file */
#define KM_CR_EXTRA_FIRST (4 * KM_REGION)       /* /cr's 4 KiB leaves, after its 2 MiB ones */
#define KM_CR_EXTRA_PAGES 1100u
#define KM_CR_FREE_FIRST 300u                   /* the crash FREE: splits /cr's first leaf */
#define KM_CR_FREE_COUNT (KM_CR_EXTRA_FIRST + KM_CR_EXTRA_PAGES - KM_CR_FREE_FIRST)

static const char *dev;
static int kfd;              /* this process's /dev/umfs */
static struct kt_pool pool;  /* root's mapping, while one is held */

/* ------------------------------------------------------------------ */
/* The files                                                            */
/* ------------------------------------------------------------------ */

struct km_file {
	const char *path;
	mode_t mode;   /* type and permissions */
	unsigned tag;  /* data pattern of the first size bytes */
	uint64_t size;
	struct kt_id id;
};

enum {
	F_S_ROOT, F_S_OWN, F_S_NM, F_S_NM2, F_SD, F_RV, F_CS,
	F_F1, F_F2, F_F3, F_H1, F_FA, F_FB, F_ANY, F_RO, F_D, F_SL, F_FIFO, F_CR,
	KM_NFILES
};

static struct km_file km_files[KM_NFILES] = {
	[F_S_ROOT] = { "/s_root", S_IFREG | 0644, 0, 0, { 0 } },
	[F_S_OWN] = { "/s_own", S_IFREG | 0644, 0, 0, { 0 } },
	[F_S_NM] = { "/s_nm", S_IFREG | 0644, 0, 0, { 0 } },
	[F_S_NM2] = { "/s_nm2", S_IFREG | 0644, 0, 0, { 0 } },
	[F_SD] = { "/sd", S_IFDIR | 0755, 0, 0, { 0 } },
	[F_RV] = { "/rv", S_IFREG | 0644, KM_TAG_RV, 8192, { 0 } },
	[F_CS] = { "/cs", S_IFREG | 0644, 0, 0, { 0 } },
	[F_F1] = { "/f1", S_IFREG | 0644, 0, 0, { 0 } },
	[F_F2] = { "/f2", S_IFREG | 0644, 0, 0, { 0 } },
	[F_F3] = { "/f3", S_IFREG | 0644, 0, 0, { 0 } },
	[F_H1] = { "/h1", S_IFREG | 0644, KM_TAG_H1, 8 * KT_MIB, { 0 } },
	[F_FA] = { "/fa", S_IFREG | 0644, 0, 0, { 0 } },
	[F_FB] = { "/fb", S_IFREG | 0644, 0, 0, { 0 } },
	[F_ANY] = { "/any", S_IFREG | 0666, 0, 0, { 0 } },
	[F_RO] = { "/ro", S_IFREG | 0644, 0, 0, { 0 } },
	[F_D] = { "/d", S_IFDIR | 0755, 0, 0, { 0 } },
	[F_SL] = { "/sl", S_IFLNK | 0777, 0, 0, { 0 } },
	[F_FIFO] = { "/fifo", S_IFIFO | 0644, 0, 0, { 0 } },
	[F_CR] = { "/cr", S_IFREG | 0644, KM_TAG_CR, 8 * KT_MIB, { 0 } },
};

#define ID(f) (&km_files[f].id)

/* Writes the pattern in 2 MiB pieces, each a whole aligned region of a
 * file already that large (or starting empty): libumfs then maps each
 * with a 2 MiB leaf (file.c, file_want_huge). */
static void km_write_pattern(struct umfs_file *f, unsigned tag, uint64_t size)
{
	static char buf[2 * KT_MIB];

	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		kt_fill(buf, n, tag, off);
		KT_EXPECT(umfs_pwrite(f, buf, n, (off_t)off), (long)n);
	}
}

static int km_create(void)
{
	struct umfs_fs *fs;
	struct umfs_file *f;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	for (int i = 0; i < KM_NFILES; i++) {
		const struct km_file *k = &km_files[i];

		switch (k->mode & S_IFMT) {
		case S_IFDIR:
			KT_EXPECT(umfs_mkdir(fs, k->path, k->mode & 07777), 0);
			break;
		case S_IFLNK:
			KT_EXPECT(umfs_symlink(fs, km_files[F_F1].path, k->path), 0);
			break;
		case S_IFIFO:
			KT_EXPECT(umfs_mknod(fs, k->path, k->mode, 0), 0);
			break;
		default:
			KT_EXPECT(umfs_open(fs, k->path, O_CREAT | O_TRUNC | O_RDWR, k->mode & 07777,
					    &f), 0);
			km_write_pattern(f, k->tag, k->size);
			KT_EXPECT(umfs_fchmod(f, k->mode & 07777), 0);
			KT_EXPECT(umfs_close(f), 0);
		}
	}
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-meta: created %d files (/h1 and /cr: 8 MiB in 2 MiB writes)\n", KM_NFILES);
	return 0;
}

/* Inode numbers by path (lstat: the symlink and the FIFO themselves), and
 * generations from the pool: what the module compares. Needs root. */
static void km_lookup(void)
{
	struct umfs_fs *fs;
	struct stat st;
	int err;

	err = umfs_mount(dev, UMFS_MOUNT_RDONLY, &fs);
	KT_CHECK(!err, "umfs_mount %s: %s (%s)", dev, strerror(-err), umfs_mount_error());
	for (int i = 0; i < KM_NFILES; i++) {
		KT_EXPECT(umfs_stat(fs, km_files[i].path, &st, AT_SYMLINK_NOFOLLOW), 0);
		KT_CHECK((st.st_mode & S_IFMT) == (km_files[i].mode & S_IFMT), "%s: type %o",
			 km_files[i].path, st.st_mode);
		km_files[i].id.ino = st.st_ino;
		km_files[i].id.size = (uint64_t)st.st_size;
	}
	KT_EXPECT(umfs_unmount(fs), 0);
	pool = kt_pool_map(kfd, PROT_READ);
	for (int i = 0; i < KM_NFILES; i++)
		km_files[i].id.gen = kt_pool_inode(&pool, km_files[i].id.ino)->generation;
	kt_pool_unmap(&pool);
}

/* Opens /dev/umfs, checks the ABI and the mount, finds the files. */
static void km_start(void)
{
	struct umfs_kmod_stats st;

	kt_probe_setup();
	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	st = kt_stats(kfd);
	KT_CHECK(st.abi_version == UMFS_KMOD_ABI_VERSION && st.mounted,
		 "ABI %u (want %u), mounted %u", st.abi_version, UMFS_KMOD_ABI_VERSION, st.mounted);
	km_lookup();
}

static const struct umfs_inode *km_inode(int f)
{
	return kt_pool_inode(&pool, ID(f)->ino);
}

/* Counters shared with the children, for the module's STATS. */
struct km_counts {
	uint64_t setattrs;    /* SETATTR calls that succeeded */
	uint64_t frees;       /* FREE calls that succeeded */
	uint64_t frees_freed; /* ... of them that freed pages */
	uint64_t freed;       /* pages they freed */
	uint64_t mismatches;  /* answers unlike the kernel's (printed) */
};
static struct km_counts *km_counts;

static void km_counts_init(void)
{
	km_counts = mmap(NULL, sizeof(*km_counts), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_CHECK(km_counts != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(km_counts, 0, sizeof(*km_counts));
}

static uint64_t km_ms_since(uint64_t t0)
{
	return (kt_now_ns() - t0) / 1000000;
}

/* ------------------------------------------------------------------ */
/* Trees, read through the pool mapping                                 */
/* ------------------------------------------------------------------ */

/* The inode's block count is its tree's, and its checksum holds. */
static struct kt_tree km_check_tree(const struct umfs_inode *in, const char *what)
{
	struct kt_tree t = kt_tree_walk(&pool, in, what);

	KT_CHECK(kt_tree_blocks(&t) == in->blocks, "%s: blocks %" PRIu64 ", the tree holds %" PRIu64,
		 what, (uint64_t)in->blocks, kt_tree_blocks(&t));
	KT_CHECK(in->csum == umfs_inode_csum(in), "%s: inode checksum %#x, want %#x", what, in->csum,
		 umfs_inode_csum(in));
	return t;
}

/* ------------------------------------------------------------------ */
/* Attachments                                                          */
/* ------------------------------------------------------------------ */

static volatile uint64_t *km_attach(int fd, const struct kt_id *id, int flags)
{
	void *addr;
	size_t len;
	int err = umfs_kmod_attach(fd, id->ino, id->gen, flags, KT_GIB, &addr, &len, NULL);

	KT_CHECK(!err, "ATTACH %" PRIu64 ": %s", id->ino, strerror(-err));
	return addr;
}

static void km_detach(int fd, volatile uint64_t *a)
{
	KT_EXPECT(umfs_kmod_detach(fd, (void *)a), 0);
}

static volatile uint64_t *km_page(volatile uint64_t *a, uint64_t pg)
{
	return a + pg * 512;
}

static void km_fill_pages(volatile uint64_t *a, uint64_t first, uint64_t n, unsigned tag)
{
	for (uint64_t pg = first; pg < first + n; pg++)
		kt_fill((void *)km_page(a, pg), 4096, tag, pg * 4096);
}

static void km_expect_data(volatile uint64_t *a, uint64_t first, uint64_t n, unsigned tag,
			   const char *what)
{
	uint64_t v;
	long bad;

	for (uint64_t pg = first; pg < first + n; pg++) {
		KT_CHECK(kt_probe(km_page(a, pg), 0, &v) == 0, "%s: page %" PRIu64 " is a hole", what,
			 pg);
		bad = kt_verify((const void *)km_page(a, pg), 4096, tag, pg * 4096);
		KT_CHECK(bad < 0, "%s: page %" PRIu64 " word %ld lost its data", what, pg, bad);
	}
}

static void km_expect_holes(volatile uint64_t *a, uint64_t first, uint64_t n, const char *what)
{
	uint64_t v;

	for (uint64_t pg = first; pg < first + n; pg++)
		KT_CHECK(kt_probe(km_page(a, pg) + pg % 511, 0, &v) == SIGBUS,
			 "%s: page %" PRIu64 " should be a hole", what, pg);
}

/* ------------------------------------------------------------------ */
/* SETATTR                                                              */
/* ------------------------------------------------------------------ */

static int km_setattr_call(int fd, struct umfs_kmod_setattr *a)
{
	int err = umfs_kmod_setattr(fd, a);

	if (!err)
		__atomic_add_fetch(&km_counts->setattrs, 1, __ATOMIC_RELAXED);
	return err;
}

static struct umfs_kmod_setattr km_setattr_req(const struct kt_id *id, unsigned valid,
					       unsigned mode, unsigned uid, unsigned gid)
{
	return (struct umfs_kmod_setattr){
		.ino = id->ino, .generation = id->gen, .valid = valid,
		.mode = (valid & UMFS_KMOD_SETATTR_MODE) ? mode : 0,
		.uid = (valid & UMFS_KMOD_SETATTR_UID) ? uid : 0,
		.gid = (valid & UMFS_KMOD_SETATTR_GID) ? gid : 0,
	};
}

/*
 * The reference: each UMFS file of the scripts has a twin in the guest's
 * tmpfs, given the same owner and mode; each step is done to both, as the
 * same user, by SETATTR and by chmod(2)/chown(2), and the answers and the
 * resulting mode, uid and gid must agree.
 */
enum { T_ROOT, T_DIR, T_OWN, T_NM, T_NM2, KM_NTARGETS };

static const struct km_target {
	int file;
	unsigned uid, gid, mode; /* where both start */
} km_targets[KM_NTARGETS] = {
	[T_ROOT] = { F_S_ROOT, 0, 0, 0644 },
	[T_DIR] = { F_SD, 0, 0, 0755 },
	[T_OWN] = { F_S_OWN, KT_NOBODY, KT_NOBODY, 0644 },
	[T_NM] = { F_S_NM, KT_NOBODY, KM_OTHER_GROUP, 0644 },
	[T_NM2] = { F_S_NM2, KT_NOBODY, KM_OTHER_GROUP, 02744 },
};

struct km_step {
	int target;
	unsigned valid; /* MODE alone, or UID and/or GID: one syscall */
	unsigned mode, uid, gid;
	int expect;     /* the kernel's answer, 0 or -EPERM: checks the script */
	const char *what;
};

#define MODE UMFS_KMOD_SETATTR_MODE
#define UID UMFS_KMOD_SETATTR_UID
#define GID UMFS_KMOD_SETATTR_GID

static const struct km_step km_root_script[] = {
	{ T_ROOT, MODE, 04755, 0, 0, 0, "chmod u+s" },
	{ T_ROOT, MODE, 06755, 0, 0, 0, "chmod g+s (CAP_FSETID)" },
	{ T_ROOT, UID, 0, KT_NOBODY, 0, 0, "chown: drops u+s, and g+s with g+x" },
	{ T_ROOT, MODE, 02745, 0, 0, 0, "chmod g+s without g+x" },
	{ T_ROOT, GID, 0, 0, KT_GROUP, 0, "chgrp: g+s without g+x stays (CAP_FSETID)" },
	{ T_ROOT, MODE, 07777, 0, 0, 0, "chmod 7777" },
	{ T_ROOT, UID | GID, 0, 0, 0, 0, "chown 0:0 drops u+s g+s, keeps +t" },
	{ T_ROOT, MODE, 0, 0, 0, 0, "chmod 0" },
	{ T_ROOT, MODE, 0644, 0, 0, 0, "chmod 644" },
	{ T_DIR, MODE, 02775, 0, 0, 0, "directory g+s" },
	{ T_DIR, GID, 0, 0, KT_GROUP, 0, "chgrp of a directory keeps g+s" },
	{ T_DIR, UID | GID, 0, KT_NOBODY, KT_NOBODY, 0, "chown of a directory keeps g+s" },
};

static const struct km_step km_user_script[] = {
	{ T_OWN, MODE, 0600, 0, 0, 0, "owner chmod" },
	{ T_OWN, MODE, 04700, 0, 0, 0, "owner chmod u+s" },
	{ T_OWN, MODE, 02770, 0, 0, 0, "g+s kept: in the file's group" },
	{ T_OWN, GID, 0, 0, KT_GROUP, 0, "chgrp to a member group drops g+s (g+x)" },
	{ T_OWN, MODE, 06750, 0, 0, 0, "u+s g+s in a member group" },
	{ T_OWN, GID, 0, 0, KM_OTHER_GROUP, -EPERM, "chgrp to a group it is not in" },
	{ T_OWN, UID, 0, 0, 0, -EPERM, "chown to another uid" },
	{ T_OWN, UID, 0, KT_NOBODY, 0, 0, "chown to itself: drops u+s, g+s (g+x)" },
	{ T_OWN, MODE, 02740, 0, 0, 0, "g+s without g+x, in the group" },
	{ T_OWN, GID, 0, 0, KT_NOBODY, 0, "chgrp between its groups keeps g+s (no g+x)" },
	{ T_NM, MODE, 02755, 0, 0, 0, "chmod g+s outside the file's group: dropped" },
	{ T_NM, MODE, 04755, 0, 0, 0, "chmod u+s outside the file's group" },
	{ T_NM, GID, 0, 0, KM_OTHER_GROUP, 0, "chgrp to the file's own group: allowed" },
	{ T_ROOT, MODE, 0666, 0, 0, -EPERM, "chmod by a non-owner" },
	{ T_ROOT, GID, 0, 0, KT_NOBODY, -EPERM, "chgrp by a non-owner" },
	{ T_ROOT, UID, 0, KT_NOBODY, 0, -EPERM, "chown to itself by a non-owner" },
	/* chown_ok, chgrp_ok: an unchanged uid or gid is the owner's to give */
	{ T_ROOT, UID, 0, 0, 0, -EPERM, "chown to the file's own uid by a non-owner" },
	{ T_ROOT, GID, 0, 0, 0, -EPERM, "chgrp to the file's own gid by a non-owner" },
	/* last, alone on its file: Debian's 6.1 drops g+s without g+x at a
	 * chown by a caller outside the file's group without CAP_FSETID
	 * (setattr_should_drop_sgid, fs/attr.c) */
	{ T_NM2, GID, 0, 0, KT_GROUP, 0, "chgrp of g+s without g+x from outside its group" },
};

static void km_ref_path(int target, char *buf, size_t len)
{
	snprintf(buf, len, KM_REF_DIR "%s", km_files[km_targets[target].file].path);
}

static const char *km_err(int err)
{
	return err ? strerror(-err) : "ok";
}

/* "ok, mode 100644 0:0" or the error. */
static const char *km_outcome(char *buf, size_t len, int err, unsigned mode, unsigned uid,
			      unsigned gid)
{
	if (err)
		return km_err(err);
	snprintf(buf, len, "ok, mode %o %u:%u", mode, uid, gid);
	return buf;
}

/* The step by the kernel on the twin: 0 or -errno. */
static int km_ref_apply(const char *ref, const struct km_step *s)
{
	int r;

	if (s->valid & MODE)
		r = chmod(ref, s->mode);
	else
		r = chown(ref, (s->valid & UID) ? s->uid : (uid_t)-1,
			  (s->valid & GID) ? s->gid : (gid_t)-1);
	return r ? -errno : 0;
}

/* Checks, through the pool, the inode a root SETATTR just wrote. */
static void km_check_setattr_inode(int file, const struct umfs_kmod_setattr *a,
				   uint64_t old_ctime, uint64_t t0, uint64_t t1, const char *what)
{
	const struct umfs_inode *in = km_inode(file);

	KT_CHECK(in->mode == a->mode && in->uid == a->uid && in->gid == a->gid,
		 "%s: the inode says %o %u:%u, SETATTR %o %u:%u", what, in->mode, in->uid, in->gid,
		 a->mode, a->uid, a->gid);
	KT_CHECK(in->csum == umfs_inode_csum(in), "%s: inode checksum %#x, want %#x", what,
		 in->csum, umfs_inode_csum(in));
	KT_CHECK(in->ctime_ns == a->ctime_ns, "%s: ctime %" PRIu64 ", SETATTR said %" PRIu64, what,
		 (uint64_t)in->ctime_ns, (uint64_t)a->ctime_ns);
	/* the kernel's coarse clock may lag a tick behind CLOCK_REALTIME */
	KT_CHECK(a->ctime_ns >= old_ctime && a->ctime_ns + 1000000000ull >= t0 && a->ctime_ns <= t1,
		 "%s: ctime %" PRIu64 " (was %" PRIu64 ", call in [%" PRIu64 ", %" PRIu64 "])", what,
		 (uint64_t)a->ctime_ns, old_ctime, t0, t1);
}

static uint64_t km_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs the steps; with the pool mapped (root), checks each inode written.
 * Every disagreement with the kernel is printed and counted, and the steps
 * go on: one run shows them all. */
static void km_run_script(int fd, const struct km_step *steps, size_t n, bool with_pool)
{
	for (size_t i = 0; i < n; i++) {
		const struct km_step *s = &steps[i];
		int file = km_targets[s->target].file;
		struct umfs_kmod_setattr a = km_setattr_req(ID(file), s->valid, s->mode, s->uid, s->gid);
		uint64_t old_ctime = with_pool ? km_inode(file)->ctime_ns : 0, t0, t1;
		char ref[128], ours[64], theirs[64];
		struct stat st;
		int want, got;

		km_ref_path(s->target, ref, sizeof(ref));
		want = km_ref_apply(ref, s);
		KT_CHECK(want == s->expect, "the script is wrong: the kernel answers %s to \"%s\"",
			 km_err(want), s->what);
		KT_EXPECT(stat(ref, &st), 0);
		t0 = km_realtime_ns();
		got = km_setattr_call(fd, &a);
		t1 = km_realtime_ns();
		if (got != want || (!got && (a.mode != st.st_mode || a.uid != st.st_uid ||
					      a.gid != st.st_gid))) {
			printf("kmod-meta: MISMATCH \"%s\" (%s, uid %u): SETATTR %s; the kernel %s\n",
			       s->what, km_files[file].path, (unsigned)getuid(),
			       km_outcome(ours, sizeof(ours), got, a.mode, a.uid, a.gid),
			       km_outcome(theirs, sizeof(theirs), want, st.st_mode, st.st_uid,
					  st.st_gid));
			__atomic_add_fetch(&km_counts->mismatches, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (got)
			continue;
		KT_CHECK(a.revoked == 0, "%s: revoked %" PRIu64 " with nothing attached", s->what,
			 (uint64_t)a.revoked);
		if (with_pool)
			km_check_setattr_inode(file, &a, old_ctime, t0, t1, s->what);
	}
}

/* Root gives every UMFS file of the scripts and its twin the same start
 * (the pool mapped). */
static void km_targets_setup(void)
{
	if (mkdir(KM_REF_DIR, 0755) && errno != EEXIST)
		KT_FAIL("mkdir %s: %s", KM_REF_DIR, strerror(errno));
	KT_EXPECT(chmod(KM_REF_DIR, 0755), 0);
	for (int t = 0; t < KM_NTARGETS; t++) {
		const struct km_target *k = &km_targets[t];
		const struct kt_id *id = ID(k->file);
		struct umfs_kmod_setattr own = km_setattr_req(id, UID | GID, 0, k->uid, k->gid);
		struct umfs_kmod_setattr mode = km_setattr_req(id, MODE, k->mode, 0, 0);
		uint64_t created = km_inode(k->file)->ctime_ns, t0;
		char ref[128];
		struct stat st;

		km_ref_path(t, ref, sizeof(ref));
		if (S_ISDIR(km_files[k->file].mode)) {
			if (mkdir(ref, 0755) && errno != EEXIST)
				KT_FAIL("mkdir %s: %s", ref, strerror(errno));
		} else {
			int f = open(ref, O_CREAT | O_WRONLY, 0644);

			KT_CHECK(f >= 0, "%s: %s", ref, strerror(errno));
			close(f);
		}
		KT_EXPECT(chown(ref, k->uid, k->gid), 0);
		KT_EXPECT(chmod(ref, k->mode), 0);
		t0 = km_realtime_ns();
		KT_EXPECT(km_setattr_call(kfd, &own), 0);
		KT_EXPECT(km_setattr_call(kfd, &mode), 0);
		/* the ctime moves on from the file's creation, in another process */
		km_check_setattr_inode(k->file, &mode, created + 1, t0, km_realtime_ns(),
				       km_files[k->file].path);
		KT_EXPECT(stat(ref, &st), 0);
		KT_CHECK(mode.mode == st.st_mode && mode.uid == st.st_uid && mode.gid == st.st_gid,
			 "%s: start %o %u:%u, the twin %o %u:%u", km_files[k->file].path, mode.mode,
			 mode.uid, mode.gid, st.st_mode, st.st_uid, st.st_gid);
	}
}

/* After a script: each inode as its twin (a difference is counted as a
 * mismatch), its checksum valid. */
static void km_targets_compare(const char *what)
{
	for (int t = 0; t < KM_NTARGETS; t++) {
		const struct umfs_inode *in = km_inode(km_targets[t].file);
		char ref[128];
		struct stat st;

		km_ref_path(t, ref, sizeof(ref));
		KT_EXPECT(stat(ref, &st), 0);
		if (in->mode != st.st_mode || in->uid != st.st_uid || in->gid != st.st_gid) {
			printf("kmod-meta: MISMATCH after %s: %s is %o %u:%u, its twin %o %u:%u\n", what,
			       km_files[km_targets[t].file].path, in->mode, in->uid, in->gid,
			       st.st_mode, st.st_uid, st.st_gid);
			km_counts->mismatches++;
		}
		KT_CHECK(in->csum == umfs_inode_csum(in), "%s: %s: inode checksum", what,
			 km_files[km_targets[t].file].path);
	}
}

static size_t km_script_refusals(const struct km_step *steps, size_t n)
{
	size_t refused = 0;

	for (size_t i = 0; i < n; i++)
		refused += steps[i].expect != 0;
	return refused;
}

static void km_user_run_script(int fd)
{
	km_run_script(fd, km_user_script, sizeof(km_user_script) / sizeof(km_user_script[0]), false);
}

/* Refused requests leave the inode as it was. */
static void km_setattr_refusals(void)
{
	const struct kt_id *id = ID(F_S_ROOT);
	struct umfs_inode before = *km_inode(F_S_ROOT);
	struct umfs_kmod_setattr a;
	uint64_t free_ino = 0;
	const uint64_t *ibm = (const uint64_t *)(pool.m + pool.sb->ibitmap_off);

	for (uint64_t i = UMFS_ROOT_INO + 1; i < pool.sb->inode_count && !free_ino; i++)
		if (!(ibm[i / 64] >> (i % 64) & 1))
			free_ino = i;
	KT_CHECK(free_ino, "no free inode");

#define KM_SETATTR_REFUSED(field, value, err)                                              \
	do {                                                                               \
		a = km_setattr_req(id, MODE, 0600, 0, 0);                                  \
		field = value;                                                             \
		KT_CHECK(umfs_kmod_setattr(kfd, &a) == (err), "SETATTR with " #field " = " #value \
			 " not refused with " #err);                                       \
	} while (0)
	KM_SETATTR_REFUSED(a.valid, 0, -EINVAL);
	KM_SETATTR_REFUSED(a.valid, 0x8, -EINVAL);
	KM_SETATTR_REFUSED(a.valid, MODE | 0x80000000u, -EINVAL);
	KM_SETATTR_REFUSED(a.mode, 010644, -EINVAL);
	KM_SETATTR_REFUSED(a.mode, S_IFREG | 0644, -EINVAL);
	KM_SETATTR_REFUSED(a.reserved0, 1, -EINVAL);
	KM_SETATTR_REFUSED(a.reserved[0], 1, -EINVAL);
	KM_SETATTR_REFUSED(a.reserved[1], 1, -EINVAL);
	KM_SETATTR_REFUSED(a.generation, id->gen + 1, -ESTALE);
	KM_SETATTR_REFUSED(a.ino, 0, -ESTALE);
	KM_SETATTR_REFUSED(a.ino, free_ino, -ESTALE);
#undef KM_SETATTR_REFUSED
	KT_CHECK(memcmp(km_inode(F_S_ROOT), &before, sizeof(before)) == 0,
		 "a refused SETATTR changed the inode");
	printf("kmod-meta: SETATTR refused: valid 0, unknown valid bits, mode bits outside 07777, "
	       "reserved fields (EINVAL); stale generation, inode 0, free inode %" PRIu64
	       " (ESTALE)\n", free_ino);
}

/* uid 65534, owner of /s_own, while root maps the pool: EBUSY. */
static void km_user_busy(int fd)
{
	struct umfs_kmod_setattr a = km_setattr_req(ID(F_S_OWN), MODE, 0640, 0, 0);

	KT_EXPECT(km_setattr_call(fd, &a), -EBUSY);
}

/* The owner takes its own read permission away: its next ATTACH fails. */
static void km_user_chmod_attach(int fd)
{
	const struct kt_id *id = ID(F_S_OWN);
	struct umfs_kmod_setattr a;
	void *addr;
	size_t len;

	a = km_setattr_req(id, MODE, 0, 0, 0);
	KT_EXPECT(km_setattr_call(fd, &a), 0);
	KT_EXPECT(umfs_kmod_attach(fd, id->ino, id->gen, O_RDONLY, 0, &addr, &len, NULL), -EACCES);
	a = km_setattr_req(id, MODE, 0400, 0, 0);
	KT_EXPECT(km_setattr_call(fd, &a), 0);
	KT_EXPECT(umfs_kmod_attach(fd, id->ino, id->gen, O_RDWR, 0, &addr, &len, NULL), -EACCES);
	KT_EXPECT(umfs_kmod_attach(fd, id->ino, id->gen, O_RDONLY, 0, &addr, &len, NULL), 0);
	KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
	a = km_setattr_req(id, MODE, 0600, 0, 0);
	KT_EXPECT(km_setattr_call(fd, &a), 0);
	KT_EXPECT(umfs_kmod_attach(fd, id->ino, id->gen, O_RDWR, 0, &addr, &len, NULL), 0);
	KT_EXPECT(umfs_kmod_detach(fd, addr), 0);
}

/* A process attached to /rv loses its mapping at a SETATTR; the next
 * ATTACH sees the new permissions. */
static void km_setattr_revocation(void)
{
	struct kt_holder h = kt_holder_start(ID(F_RV)->ino, ID(F_RV)->gen, O_RDONLY, 0, KM_TAG_RV);
	struct umfs_kmod_setattr a = km_setattr_req(ID(F_RV), MODE, 0640, 0, 0);
	struct umfs_kmod_stats s0 = kt_stats(kfd), s1;
	volatile uint64_t *m;

	KT_EXPECT(km_setattr_call(kfd, &a), 0);
	s1 = kt_stats(kfd);
	KT_CHECK(a.revoked == 1 && s1.revokes - s0.revokes == 1,
		 "SETATTR revoked %" PRIu64 " attachments (STATS +%" PRIu64 "), want the holder's 1",
		 (uint64_t)a.revoked, (uint64_t)(s1.revokes - s0.revokes));
	kt_holder_finish(&h);
	m = km_attach(kfd, ID(F_RV), O_RDONLY);
	km_expect_data(m, 0, 2, KM_TAG_RV, "/rv after SETATTR");
	km_detach(kfd, m);
}

static int km_setattr(void)
{
	size_t nroot = sizeof(km_root_script) / sizeof(km_root_script[0]);
	size_t nuser = sizeof(km_user_script) / sizeof(km_user_script[0]);
	struct umfs_kmod_stats s0, s1;
	uint64_t t0 = kt_now_ns();
	struct umfs_kmod_setattr a;

	km_start();
	km_counts_init();
	s0 = kt_stats(kfd);
	pool = kt_pool_map(kfd, PROT_READ);
	km_setattr_refusals();

	km_targets_setup();
	km_run_script(kfd, km_root_script, nroot, true);
	km_targets_compare("root's steps");
	printf("kmod-meta: root: %zu chmod/chown steps against the kernel's on tmpfs; ctime, "
	       "checksum exact\n", nroot);

	/* uid 65534, no pool mapping anywhere */
	kt_pool_unmap(&pool);
	KT_CHECK(kt_stats(kfd).poolmaps == 0, "a pool mapping is left");
	kt_as_nobody(km_user_run_script, "the steps of uid 65534");
	pool = kt_pool_map(kfd, PROT_READ);
	km_targets_compare("uid 65534's steps");
	printf("kmod-meta: uid 65534: %zu steps (%zu refused by the kernel) against the kernel's\n",
	       nuser, km_script_refusals(km_user_script, nuser));

	/* while root maps the pool: uid 65534 EBUSY, root allowed */
	kt_as_nobody(km_user_busy, "EBUSY");
	a = km_setattr_req(ID(F_S_OWN), MODE, 0644, 0, 0);
	KT_EXPECT(km_setattr_call(kfd, &a), 0);
	printf("kmod-meta: uid 65534 gets EBUSY while root maps the pool; root does not\n");

	km_setattr_revocation();
	kt_pool_unmap(&pool);
	kt_as_nobody(km_user_chmod_attach, "chmod 0 by the owner");
	printf("kmod-meta: SETATTR revoked a reader's attachment (SIGBUS); an owner's chmod 0 "
	       "makes its ATTACH fail with EACCES\n");

	s1 = kt_stats(kfd);
	KT_CHECK(s1.setattrs - s0.setattrs == km_counts->setattrs,
		 "STATS setattrs +%" PRIu64 ", %" PRIu64 " calls succeeded",
		 (uint64_t)(s1.setattrs - s0.setattrs), km_counts->setattrs);
	KT_CHECK(s1.live == 0, "attachments left: %" PRIu64, (uint64_t)s1.live);
	printf("kmod-meta: setattr: %" PRIu64 " SETATTR calls committed, in %" PRIu64 " ms\n",
	       km_counts->setattrs, km_ms_since(t0));
	KT_CHECK(km_counts->mismatches == 0, "%" PRIu64 " answers differ from the kernel's "
		 "(MISMATCH above)", km_counts->mismatches);
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* FREE                                                                 */
/* ------------------------------------------------------------------ */

static void km_extend(const struct kt_id *id, uint64_t first, uint64_t count, uint64_t want_alloc)
{
	struct umfs_kmod_extend r = { 0 };
	int err = umfs_kmod_extend(kfd, id->ino, id->gen, first, count, &r);

	KT_CHECK(!err && r.done == count && !r.stop_error && r.allocated == want_alloc,
		 "EXTEND [%" PRIu64 ", +%" PRIu64 ") of inode %" PRIu64 ": %s, done %" PRIu64
		 ", allocated %" PRIu64 " (want %" PRIu64 ")", first, count, id->ino, km_err(err),
		 (uint64_t)r.done, (uint64_t)r.allocated, want_alloc);
}

static struct umfs_kmod_free km_free_req(const struct kt_id *id, uint64_t first, uint64_t count)
{
	return (struct umfs_kmod_free){ .ino = id->ino, .generation = id->gen, .first = first,
					.count = count };
}

/* One FREE call, through the ioctl itself: umfs_kmod_free() would hide
 * how many calls it took. Counted for STATS. */
static int km_free_ioctl(int fd, struct umfs_kmod_free *r)
{
	int err = umfs_kmod_call(fd, UMFS_KMOD_IOC_FREE, r);

	if (!err) {
		__atomic_add_fetch(&km_counts->frees, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&km_counts->frees_freed, r->freed ? 1 : 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&km_counts->freed, r->freed, __ATOMIC_RELAXED);
	}
	return err;
}

/* The bitmap lost exactly the pool pages that left the tree (bm0 and t0:
 * before, t1: now), and gained none; a free never allocates. */
static void km_check_bitmap_diff(const uint64_t *bm0, const struct kt_tree *t0,
				 const struct kt_tree *t1, const char *what)
{
	const uint64_t *bm1 = kt_pool_bitmap(&pool);

	for (size_t w = 0; w < kt_pool_bitmap_len(&pool) / 8; w++) {
		uint64_t gone = t0->pages[w] & ~t1->pages[w];

		KT_CHECK(!(t1->pages[w] & ~t0->pages[w]), "%s: the tree took new pool pages "
			 "(bitmap word %zu)", what, w);
		KT_CHECK(!(bm1[w] & ~bm0[w]) && (bm0[w] & ~bm1[w]) == gone,
			 "%s: bitmap word %zu: %#" PRIx64 " -> %#" PRIx64 ", pages that left the tree "
			 "%#" PRIx64, what, w, bm0[w], bm1[w], gone);
	}
}

/*
 * FREE [first, first + count) of file f as root, call after call while the
 * module says more. Each call must take exactly its freed off blocks and
 * off the bitmap; in the end freed must be want, the bitmap must have lost
 * exactly the pages that left the tree, and size, checksum and every
 * entry's flags must hold. *ncalls (may be NULL): the calls it took.
 */
static struct umfs_kmod_free km_free_checked(int f, uint64_t first, uint64_t count, uint64_t want,
					     const char *what, unsigned *ncalls)
{
	const struct umfs_inode *in = km_inode(f);
	const uint64_t size = in->size;
	struct kt_tree t0 = km_check_tree(in, what), t1;
	uint64_t *bm0 = kt_pool_bitmap_copy(&pool);
	uint64_t freed = 0, revoked = 0;
	struct umfs_kmod_free r;
	unsigned calls = 0;

	do {
		uint64_t blocks = in->blocks, used = kt_pool_used_pages(&pool);
		int err;

		KT_CHECK(++calls < 10000, "%s: FREE never ends", what);
		r = km_free_req(ID(f), first, count);
		err = km_free_ioctl(kfd, &r);
		KT_CHECK(!err, "%s: FREE [%" PRIu64 ", +%" PRIu64 ") of %s: %s", what, first, count,
			 km_files[f].path, strerror(-err));
		KT_CHECK(in->blocks == blocks - r.freed && kt_pool_used_pages(&pool) == used - r.freed,
			 "%s: call %u freed %" PRIu64 ", blocks %" PRIu64 " -> %" PRIu64
			 ", pages in use %" PRIu64 " -> %" PRIu64, what, calls, (uint64_t)r.freed,
			 blocks, (uint64_t)in->blocks, used, kt_pool_used_pages(&pool));
		KT_CHECK(!r.more || r.freed, "%s: call %u freed nothing and asks for more", what,
			 calls);
		freed += r.freed;
		revoked += r.revoked;
	} while (r.more);
	r.freed = freed;
	r.revoked = revoked;
	KT_CHECK(freed == want, "%s: freed %" PRIu64 ", want %" PRIu64, what, freed, want);
	KT_CHECK(in->size == size, "%s: size %" PRIu64 " -> %" PRIu64, what, size,
		 (uint64_t)in->size);
	t1 = km_check_tree(in, what);
	km_check_bitmap_diff(bm0, &t0, &t1, what);
	free(bm0);
	free(t0.pages);
	free(t1.pages);
	if (ncalls)
		*ncalls = calls;
	return r;
}

/* Region r of f's level-2 root held a 2 MiB leaf at pool offset lead; its
 * pages [lo, hi] were freed: the leaf's page hi is now the level-1 table
 * of the others. */
static void km_check_split(int f, unsigned r, uint64_t lead, unsigned lo, unsigned hi,
			   const char *what)
{
	const struct umfs_inode *in = km_inode(f);
	const uint64_t base = pool.sb->phys_base, table = lead + (uint64_t)hi * 4096;
	uint64_t e;
	const uint64_t *t;

	KT_CHECK(in->pt_height == 2, "%s: height %u", what, in->pt_height);
	e = kt_pool_table(&pool, in->pt_root)[r];
	KT_CHECK(e == ((table + base) | UMFS_PTE_TABLE_FLAGS),
		 "%s: root entry %u is %#" PRIx64 ", want a table in the leaf's page %u (%#" PRIx64 ")",
		 what, r, e, hi, (uint64_t)((table + base) | UMFS_PTE_TABLE_FLAGS));
	t = kt_pool_table(&pool, table);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t want = (i < lo || i > hi) ?
			(lead + (uint64_t)i * 4096 + base) | UMFS_PTE_LEAF4K_FLAGS : 0;

		KT_CHECK(t[i] == want, "%s: entry %u of the new table is %#" PRIx64 ", want %#" PRIx64,
			 what, i, t[i], want);
	}
}

/* f is n 2 MiB leaves (libumfs's choice for whole-region writes), each
 * holding its pattern: lead[] gets their pool offsets. */
static void km_check_huge_leaves(int f, unsigned n, unsigned tag, uint64_t *lead)
{
	const struct umfs_inode *in = km_inode(f);
	const uint64_t *root;
	struct kt_tree t = km_check_tree(in, km_files[f].path);

	KT_CHECK(in->pt_height == 2 && t.huge == n && t.tables == 1 && t.leaves == 0,
		 "%s: height %u, %" PRIu64 " 2 MiB leaves, %" PRIu64 " tables, %" PRIu64
		 " 4 KiB leaves; want %u 2 MiB leaves under the root", km_files[f].path,
		 in->pt_height, t.huge, t.tables, t.leaves, n);
	free(t.pages);
	root = kt_pool_table(&pool, in->pt_root);
	for (unsigned r = 0; r < n; r++) {
		KT_CHECK((root[r] & UMFS_PTE_PSE) &&
			 (root[r] & ~UMFS_PTE_HUGE_ADDR_MASK) == UMFS_PTE_LEAF2M_FLAGS,
			 "%s: root entry %u is %#" PRIx64 ", not a 2 MiB leaf", km_files[f].path, r,
			 root[r]);
		lead[r] = kt_pool_entry_off(&pool, root[r], UMFS_PTE_HUGE_ADDR_MASK);
		KT_CHECK(kt_verify(pool.m + lead[r], 2 * KT_MIB, tag, r * 2 * KT_MIB) < 0,
			 "%s: the 2 MiB leaf %u does not hold the file's data", km_files[f].path, r);
	}
}

/* EXTEND's 4 KiB leaves, then FREE of a middle range, of a whole level-1
 * table's range, of holes and past the tree. */
static void km_free_middle(void)
{
	const struct umfs_inode *in = km_inode(F_F1);
	volatile uint64_t *a;

	km_extend(ID(F_F1), 0, 1100, 1104); /* root, 3 level-1 tables, 1100 pages */
	a = km_attach(kfd, ID(F_F1), O_RDWR);
	km_fill_pages(a, 0, 1100, KM_TAG_F1);
	km_detach(kfd, a);

	km_free_checked(F_F1, 100, 600, 600, "FREE [100, 700) of /f1", NULL);
	a = km_attach(kfd, ID(F_F1), O_RDONLY);
	km_expect_data(a, 0, 100, KM_TAG_F1, "/f1 before the range");
	km_expect_holes(a, 100, 600, "/f1's freed range");
	km_expect_data(a, 700, 400, KM_TAG_F1, "/f1 after the range");
	km_detach(kfd, a);

	/* the rest of region 1 (pages 700..1023) and its table */
	km_free_checked(F_F1, 512, 512, 325, "FREE [512, 1024) of /f1", NULL);
	KT_CHECK(kt_pool_table(&pool, in->pt_root)[1] == 0, "/f1: the emptied level-1 table is still linked");
	km_free_checked(F_F1, 100, 924, 0, "FREE of /f1's holes", NULL);
	km_free_checked(F_F1, KM_FAR, 100, 0, "FREE past /f1's tree", NULL);
	a = km_attach(kfd, ID(F_F1), O_RDONLY);
	km_expect_data(a, 0, 100, KM_TAG_F1, "/f1 [0, 100)");
	km_expect_holes(a, 100, 924, "/f1 [100, 1024)");
	km_expect_data(a, 1024, 76, KM_TAG_F1, "/f1 [1024, 1100)");
	km_detach(kfd, a);
	printf("kmod-meta: FREE [100, 700): 600 pages, holes there and the rest intact; a whole "
	       "region: 325 with its table; holes, past the tree: 0\n");
}

/* Everything, under a process attached to the file. */
static void km_free_all_revoked(void)
{
	const struct umfs_inode *in = km_inode(F_F2);
	struct umfs_kmod_stats s0, s1;
	struct umfs_kmod_free r;
	struct kt_holder h;
	volatile uint64_t *a;

	km_extend(ID(F_F2), 0, 1100, 1104);
	a = km_attach(kfd, ID(F_F2), O_RDWR);
	km_fill_pages(a, 0, 1100, KM_TAG_F2);
	km_detach(kfd, a);
	h = kt_holder_start(ID(F_F2)->ino, ID(F_F2)->gen, O_RDWR, 0, KM_TAG_F2);
	s0 = kt_stats(kfd);
	r = km_free_checked(F_F2, 0, UINT64_MAX, 1104, "FREE of all of /f2", NULL);
	s1 = kt_stats(kfd);
	KT_CHECK(r.revoked == 1 && s1.revokes - s0.revokes == 1,
		 "FREE revoked %" PRIu64 " (STATS +%" PRIu64 "), want the holder's 1",
		 (uint64_t)r.revoked, (uint64_t)(s1.revokes - s0.revokes));
	kt_holder_finish(&h);
	KT_CHECK(in->pt_root == 0 && in->pt_height == 0 && in->blocks == 0,
		 "/f2 emptied: root %#" PRIx64 ", height %u, blocks %" PRIu64, (uint64_t)in->pt_root,
		 in->pt_height, (uint64_t)in->blocks);
	a = km_attach(kfd, ID(F_F2), O_RDONLY);
	km_expect_holes(a, 0, 2, "/f2 emptied");
	km_detach(kfd, a);
	km_free_checked(F_F2, 0, UINT64_MAX, 0, "FREE of the empty /f2", NULL);
	printf("kmod-meta: FREE of everything: 1104 pages, root 0, height 0; the attached "
	       "process got SIGBUS\n");
}

/* Trees shrink: height 2 to 0 when page 0 is left; 0 -> 3 -> 0. */
static void km_free_shrink(void)
{
	const struct umfs_inode *in = km_inode(F_F3);
	volatile uint64_t *a;
	uint64_t page0;

	km_extend(ID(F_F3), 0, 1100, 1104);
	a = km_attach(kfd, ID(F_F3), O_RDWR);
	km_fill_pages(a, 0, 1, KM_TAG_F3);
	km_detach(kfd, a);
	page0 = kt_pool_page_off(&pool, in, 0);
	/* 1099 pages, the tables of regions 1 and 2, then the root and the
	 * table of region 0, which hold only entry 0 */
	km_free_checked(F_F3, 1, UINT64_MAX, 1103, "FREE of /f3 but page 0", NULL);
	KT_CHECK(in->pt_height == 0 && in->pt_root == page0 && in->blocks == 1,
		 "/f3 cut to page 0: height %u, root %#" PRIx64 " (page 0 at %#" PRIx64
		 "), blocks %" PRIu64, in->pt_height, (uint64_t)in->pt_root, page0,
		 (uint64_t)in->blocks);
	km_free_checked(F_F3, 1, 1000, 0, "FREE past a height-0 tree", NULL);

	km_extend(ID(F_F3), KM_FAR, 1, 6); /* three tables over page 0, two to the far page */
	KT_CHECK(in->pt_height == 3, "/f3: height %u after the far page", in->pt_height);
	km_free_checked(F_F3, KM_FAR, 1, 6, "FREE of /f3's far page", NULL);
	KT_CHECK(in->pt_height == 0 && in->pt_root == page0 && in->blocks == 1,
		 "/f3 back from height 3: height %u, root %#" PRIx64 ", blocks %" PRIu64,
		 in->pt_height, (uint64_t)in->pt_root, (uint64_t)in->blocks);
	a = km_attach(kfd, ID(F_F3), O_RDONLY);
	km_expect_data(a, 0, 1, KM_TAG_F3, "/f3's page 0");
	km_detach(kfd, a);
	km_free_checked(F_F3, 0, 1, 1, "FREE of /f3's last page", NULL);
	KT_CHECK(in->pt_root == 0 && in->blocks == 0, "/f3 not empty");
	printf("kmod-meta: height 2 -> 0 (1103 pages), 3 -> 0 (6), page 0 kept in place; "
	       "then empty\n");
}

/* /h1's 2 MiB leaves: split at the tail, the head and the middle, one
 * freed whole, then the rest. */
/*
 * A page of a 2 MiB leaf pinned by GUP (vmsplice of the attachment into a
 * pipe: GUP-fast takes a reference, as O_DIRECT would) must not be freed:
 * FREE answers EBUSY and changes nothing until the pipe lets it go. pg is
 * in the range FREE [first, first + count) of /h1 drops (or splits).
 */
static void km_free_pinned(uint64_t pg, uint64_t first, uint64_t count)
{
	const struct umfs_inode *in = km_inode(F_H1);
	const uint64_t blocks = in->blocks, root0 = kt_pool_table(&pool, in->pt_root)[0];
	static char got[4096], want[4096];
	struct umfs_kmod_free r = km_free_req(ID(F_H1), first, count);
	volatile uint64_t *a = km_attach(kfd, ID(F_H1), O_RDONLY);
	struct iovec iov = { .iov_base = (void *)km_page(a, pg), .iov_len = 4096 };
	int pfd[2], err;

	KT_EXPECT(pipe(pfd), 0);
	KT_CHECK(vmsplice(pfd[1], &iov, 1, 0) == 4096, "vmsplice of /h1 page %" PRIu64
		 " from its attachment: %s", pg, strerror(errno));
	km_detach(kfd, a); /* the pipe's reference outlives the mapping */
	err = km_free_ioctl(kfd, &r);
	KT_CHECK(err == -EBUSY, "FREE of a pinned page: %s, want EBUSY", strerror(-err));
	KT_CHECK(in->blocks == blocks && kt_pool_table(&pool, in->pt_root)[0] == root0,
		 "a refused FREE changed /h1 (blocks %" PRIu64 " -> %" PRIu64 ")", blocks,
		 (uint64_t)in->blocks);
	KT_EXPECT(read(pfd[0], got, sizeof(got)), (long)sizeof(got));
	kt_fill(want, sizeof(want), KM_TAG_H1, pg * 4096);
	KT_CHECK(!memcmp(got, want, sizeof(got)), "the pinned page's bytes are not /h1's");
	close(pfd[0]);
	close(pfd[1]);
	printf("kmod-meta: a page of a 2 MiB leaf pinned through the attachment (vmsplice): "
	       "FREE answers EBUSY and changes nothing until the pipe is read\n");
}

static void km_free_huge(void)
{
	const struct umfs_inode *in = km_inode(F_H1);
	uint64_t lead[4];
	volatile uint64_t *a;

	km_check_huge_leaves(F_H1, 4, KM_TAG_H1, lead);
	printf("kmod-meta: /h1 is four 2 MiB leaves (PS entries of its level-2 root) holding its "
	       "data\n");
	km_free_pinned(400, 300, 212); /* a page the split frees */
	km_free_pinned(511, 300, 212); /* the page the split makes a table */
	km_free_checked(F_H1, 300, 212, 211, "split: the tail of leaf 0", NULL);
	km_check_split(F_H1, 0, lead[0], 300, 511, "the tail of leaf 0");
	km_free_checked(F_H1, 2 * KM_REGION, 100, 99, "split: the head of leaf 2", NULL);
	km_check_split(F_H1, 2, lead[2], 0, 99, "the head of leaf 2");
	km_free_checked(F_H1, 3 * KM_REGION + 200, 100, 99, "split: the middle of leaf 3", NULL);
	km_check_split(F_H1, 3, lead[3], 200, 299, "the middle of leaf 3");
	km_free_checked(F_H1, KM_REGION, KM_REGION, KM_REGION, "FREE of leaf 1 whole", NULL);
	KT_CHECK(kt_pool_table(&pool, in->pt_root)[1] == 0, "/h1: leaf 1 still linked");
	KT_CHECK(in->size == 8 * KT_MIB, "/h1's size changed");

	a = km_attach(kfd, ID(F_H1), O_RDONLY);
	km_expect_data(a, 0, 300, KM_TAG_H1, "/h1 leaf 0 kept");
	km_expect_holes(a, 300, 212 + KM_REGION + 100, "/h1 freed");
	km_expect_data(a, 2 * KM_REGION + 100, 412, KM_TAG_H1, "/h1 leaf 2 kept");
	km_expect_data(a, 3 * KM_REGION, 200, KM_TAG_H1, "/h1 leaf 3 head");
	km_expect_holes(a, 3 * KM_REGION + 200, 100, "/h1 leaf 3 middle");
	km_expect_data(a, 3 * KM_REGION + 300, 212, KM_TAG_H1, "/h1 leaf 3 tail");
	km_detach(kfd, a);

	/* three level-1 tables with 300, 412, 412 pages, and the root */
	km_free_checked(F_H1, 0, 4 * KM_REGION, 1128, "FREE of the rest of /h1", NULL);
	KT_CHECK(in->pt_root == 0 && in->blocks == 0, "/h1 not empty");
	printf("kmod-meta: 2 MiB leaves split at the tail, head, middle (211, 99, 99 pages: one "
	       "becomes the table), one freed whole (512); the kept pages read their data\n");
}

/* Runs of pool-contiguous pages among f's pages [0, n). */
static uint64_t km_runs(int f, uint64_t n)
{
	const struct umfs_inode *in = km_inode(f);
	uint64_t runs = 0, prev = 0;

	for (uint64_t pg = 0; pg < n; pg++) {
		uint64_t off = kt_pool_page_off(&pool, in, pg);

		KT_CHECK(off, "%s: page %" PRIu64 " missing", km_files[f].path, pg);
		runs += pg == 0 || off != prev + 4096;
		prev = off;
	}
	return runs;
}

/*
 * /fa and /fb grown page by page in turn, so that /fa's pages alternate
 * with /fb's in the pool: freeing /fa takes a bitmap change and an entry
 * change per page, more than one call's journal room holds.
 */
static void km_free_fragmented(void)
{
	const unsigned n = KM_FRAG_PAGES;
	uint64_t alloc_a = 0, alloc_b = 0, runs, t0, ext_ms, free_ms;
	struct kt_tree fb0, fb1;
	struct umfs_kmod_extend r;
	volatile uint64_t *a;
	unsigned calls;

	t0 = kt_now_ns();
	for (unsigned pg = 0; pg < n; pg++) {
		KT_EXPECT(umfs_kmod_extend(kfd, ID(F_FA)->ino, ID(F_FA)->gen, pg, 1, &r), 0);
		alloc_a += r.allocated;
		KT_EXPECT(umfs_kmod_extend(kfd, ID(F_FB)->ino, ID(F_FB)->gen, pg, 1, &r), 0);
		alloc_b += r.allocated;
	}
	ext_ms = km_ms_since(t0);
	/* n pages, n / 512 level-1 tables, the root */
	KT_CHECK(alloc_a == n + n / 512 + 1 && alloc_b == alloc_a,
		 "interleaved EXTENDs allocated %" PRIu64 " and %" PRIu64 ", want %u", alloc_a,
		 alloc_b, n + n / 512 + 1);
	runs = km_runs(F_FA, n);
	KT_CHECK(runs >= n / 2, "/fa's %u pages lie in %" PRIu64 " runs: not fragmented", n, runs);
	a = km_attach(kfd, ID(F_FB), O_RDWR);
	for (uint64_t pg = 0; pg < n; pg++)
		km_page(a, pg)[pg % 511] = kt_word(KM_TAG_FB, pg);
	km_detach(kfd, a);
	fb0 = km_check_tree(km_inode(F_FB), "/fb");

	t0 = kt_now_ns();
	km_free_checked(F_FA, 0, n, n + n / 512 + 1, "FREE of the fragmented /fa", &calls);
	free_ms = km_ms_since(t0);
	KT_CHECK(calls >= 2, "FREE of %u pages in %" PRIu64 " runs ended in one call: a journal "
		 "slot of %u bytes cannot hold its records", n, runs, pool.sb->journal_slot_size);
	KT_CHECK(km_inode(F_FA)->pt_root == 0, "/fa not empty");

	fb1 = km_check_tree(km_inode(F_FB), "/fb");
	KT_CHECK(fb1.digest == fb0.digest && km_inode(F_FB)->blocks == n + n / 512 + 1,
		 "/fb's tree changed with /fa's free");
	a = km_attach(kfd, ID(F_FB), O_RDONLY);
	for (uint64_t pg = 0; pg < n; pg++)
		KT_CHECK(km_page(a, pg)[pg % 511] == kt_word(KM_TAG_FB, pg), "/fb page %" PRIu64
			 " changed", pg);
	km_detach(kfd, a);
	free(fb0.pages);
	free(fb1.pages);
	printf("kmod-meta: fragmented: %u pages in %" PRIu64 " runs (%u EXTEND calls: %" PRIu64
	       " ms) freed in %u calls (more=1 on %u), %" PRIu64 " ms; /fb untouched\n", n, runs,
	       2 * n, ext_ms, calls, calls - 1, free_ms);
}

static void km_free_refusals(void)
{
	const struct kt_id *f1 = ID(F_F1);
	struct umfs_inode before = *km_inode(F_F1);
	struct umfs_kmod_free out, r;

	/* a directory's pages hold its names: FREE only once it has none */
	KT_EXPECT(umfs_kmod_free(kfd, ID(F_D)->ino, ID(F_D)->gen, 0, 1, &out), -EBUSY);
	{ /* a symlink's target lives in its page 0 alone */
		struct umfs_kmod_extend e;
		struct umfs_inode sl = *km_inode(F_SL);

		KT_EXPECT(umfs_kmod_extend(kfd, ID(F_SL)->ino, ID(F_SL)->gen, 1, 1, &e), -EFBIG);
		KT_CHECK(memcmp(km_inode(F_SL), &sl, sizeof(sl)) == 0, "a refused EXTEND changed /sl");
	}
	KT_EXPECT(umfs_kmod_free(kfd, ID(F_FIFO)->ino, ID(F_FIFO)->gen, 0, 1, &out), -EINVAL);
	KT_EXPECT(umfs_kmod_free(kfd, f1->ino, f1->gen + 1, 0, 1, &out), -ESTALE);
	KT_EXPECT(umfs_kmod_free(kfd, 0, 0, 0, 1, &out), -ESTALE);
	r = km_free_req(f1, 0, 1);
	r.flags = 1;
	KT_EXPECT(km_free_ioctl(kfd, &r), -EINVAL);
	r = km_free_req(f1, 0, 1);
	r.reserved0 = 1;
	KT_EXPECT(km_free_ioctl(kfd, &r), -EINVAL);
	r = km_free_req(f1, 0, 1);
	r.reserved1 = 1;
	KT_EXPECT(km_free_ioctl(kfd, &r), -EINVAL);
	KT_CHECK(memcmp(km_inode(F_F1), &before, sizeof(before)) == 0,
		 "a refused FREE changed /f1");
	printf("kmod-meta: FREE refused: directory (EISDIR), FIFO, flags, reserved "
	       "(EINVAL), stale generation, inode 0 (ESTALE); EXTEND of a symlink's page 1 "
	       "(EFBIG)\n");
}

static void km_user_free_busy(int fd)
{
	struct umfs_kmod_free r = km_free_req(ID(F_ANY), 0, 10);

	KT_EXPECT(km_free_ioctl(fd, &r), -EBUSY);
}

static void km_user_free(int fd)
{
	struct umfs_kmod_free r = km_free_req(ID(F_RO), 0, 4);

	KT_EXPECT(km_free_ioctl(fd, &r), -EACCES);
	/* root's symlink: its 0777 bits give no one its target */
	r = km_free_req(ID(F_SL), 0, 1);
	KT_EXPECT(km_free_ioctl(fd, &r), -EPERM);
	r = km_free_req(ID(F_ANY), 0, 10);
	KT_EXPECT(km_free_ioctl(fd, &r), 0);
	KT_CHECK(r.freed == 10 && r.revoked == 0 && r.more == 0,
		 "uid 65534's FREE of /any: freed %" PRIu64 " (want 10), revoked %" PRIu64
		 ", more %u", (uint64_t)r.freed, (uint64_t)r.revoked, r.more);
}

/* uid 65534: EBUSY while root maps the pool; EACCES without write
 * permission; a 0666 file freed otherwise. */
static void km_free_unprivileged(void)
{
	struct umfs_inode ro;
	uint64_t used;

	/* below 17 pages: inline tables, no table page */
	km_extend(ID(F_RO), 0, 4, 4);
	km_extend(ID(F_ANY), 0, 10, 10);
	kt_as_nobody(km_user_free_busy, "FREE while root maps the pool");
	ro = *km_inode(F_RO);
	used = kt_pool_used_pages(&pool);
	kt_pool_unmap(&pool);
	KT_CHECK(kt_stats(kfd).poolmaps == 0, "a pool mapping is left");
	kt_as_nobody(km_user_free, "FREE by uid 65534");
	pool = kt_pool_map(kfd, PROT_READ);
	KT_CHECK(memcmp(km_inode(F_RO), &ro, sizeof(ro)) == 0, "the refused FREE changed /ro");
	KT_CHECK(km_inode(F_SL)->pt_root != 0, "uid 65534's refused FREE emptied /sl");
	KT_CHECK(km_inode(F_ANY)->pt_root == 0 && km_inode(F_ANY)->pt_height == 0 &&
		 km_inode(F_ANY)->blocks == 0, "/any not emptied");
	KT_CHECK(kt_pool_used_pages(&pool) == used - 10, "uid 65534's FREE gave back %" PRIu64
		 " pages, want 10", used - kt_pool_used_pages(&pool));
	km_free_checked(F_RO, 0, 4, 4, "root's FREE of /ro", NULL);
	printf("kmod-meta: uid 65534: EBUSY while root maps the pool, EACCES without write "
	       "permission, EPERM on root's symlink, a 0666 file freed (10 pages, inline)\n");
}

static int km_free(void)
{
	struct umfs_kmod_stats s0, s1;
	uint64_t t0 = kt_now_ns();

	km_start();
	km_counts_init();
	s0 = kt_stats(kfd);
	pool = kt_pool_map(kfd, PROT_READ);
	km_free_middle();
	km_free_all_revoked();
	km_free_shrink();
	km_free_huge();
	km_free_fragmented();
	km_free_refusals();
	km_free_unprivileged();
	kt_pool_unmap(&pool);

	s1 = kt_stats(kfd);
	KT_CHECK(s1.freed_pages - s0.freed_pages == km_counts->freed,
		 "STATS freed_pages +%" PRIu64 ", the calls freed %" PRIu64,
		 (uint64_t)(s1.freed_pages - s0.freed_pages), km_counts->freed);
	KT_CHECK(s1.frees - s0.frees >= km_counts->frees_freed && s1.frees - s0.frees <= km_counts->frees,
		 "STATS frees +%" PRIu64 ": %" PRIu64 " calls succeeded, %" PRIu64 " freed pages",
		 (uint64_t)(s1.frees - s0.frees), km_counts->frees, km_counts->frees_freed);
	KT_CHECK(s1.live == 0, "attachments left: %" PRIu64, (uint64_t)s1.live);
	printf("kmod-meta: free: %" PRIu64 " FREE calls (STATS frees +%" PRIu64 "), %" PRIu64
	       " pages freed, in %" PRIu64 " ms\n", km_counts->frees,
	       (uint64_t)(s1.frees - s0.frees), km_counts->freed, km_ms_since(t0));
	umfs_kmod_close(kfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Crash points                                                         */
/* ------------------------------------------------------------------ */

/* What MOUNT must give back after a call cut short. */
struct km_snapshot {
	unsigned char inode[128];
	uint64_t *bitmap;
	struct kt_tree tree;
};

static struct km_snapshot km_snap(int f)
{
	struct km_snapshot s;

	memcpy(s.inode, km_inode(f), sizeof(s.inode));
	s.bitmap = kt_pool_bitmap_copy(&pool);
	s.tree = km_check_tree(km_inode(f), km_files[f].path);
	return s;
}

static void km_snap_free(struct km_snapshot *s)
{
	free(s->bitmap);
	free(s->tree.pages);
}

/* /cr's first 300 pages, never in the crash FREE's range. */
static void km_check_cr_kept(const char *what)
{
	const struct umfs_inode *in = km_inode(F_CR);

	for (uint64_t pg = 0; pg < KM_CR_FREE_FIRST; pg++) {
		uint64_t off = kt_pool_page_off(&pool, in, pg);

		KT_CHECK(off && kt_verify(pool.m + off, 4096, KM_TAG_CR, pg * 4096) < 0,
			 "%s: /cr's page %" PRIu64 " lost its data", what, pg);
	}
}

static uint64_t km_cr_lead0;                  /* /cr's first 2 MiB leaf */
static struct umfs_kmod_free km_cr_reply;
static struct umfs_kmod_setattr km_cs_reply;

static int km_crash_free_call(void)
{
	km_cr_reply = km_free_req(ID(F_CR), KM_CR_FREE_FIRST, KM_CR_FREE_COUNT);
	return km_free_ioctl(kfd, &km_cr_reply);
}

/* The split of leaf 0 (211 pages), leaves 1-3 (1536), the 4 KiB region
 * (1100 pages, 3 tables), and the root, left with only entry 0. */
#define KM_CR_FREED (211u + 3 * 512u + 1103u + 1u)

static void km_crash_free_done(const struct km_snapshot *before)
{
	const struct umfs_inode *in = km_inode(F_CR);
	struct kt_tree t;

	KT_CHECK(km_cr_reply.freed == KM_CR_FREED && km_cr_reply.more == 0,
		 "the crash FREE: freed %" PRIu64 " (want %u), more %u", (uint64_t)km_cr_reply.freed,
		 KM_CR_FREED, km_cr_reply.more);
	KT_CHECK(in->pt_height == 1 && in->pt_root == km_cr_lead0 + 511 * 4096 && in->blocks == 301,
		 "/cr after FREE: height %u, root %#" PRIx64 " (want %#" PRIx64 "), blocks %" PRIu64,
		 in->pt_height, (uint64_t)in->pt_root, km_cr_lead0 + 511 * 4096,
		 (uint64_t)in->blocks);
	t = km_check_tree(in, "/cr after FREE");
	km_check_bitmap_diff(before->bitmap, &before->tree, &t, "the crash FREE");
	free(t.pages);
	km_check_cr_kept("/cr after FREE");
}

static int km_crash_setattr_call(void)
{
	km_cs_reply = km_setattr_req(ID(F_CS), MODE | UID | GID, 0600, KT_NOBODY, KT_GROUP);
	return km_setattr_call(kfd, &km_cs_reply);
}

static void km_crash_setattr_done(const struct km_snapshot *before)
{
	const struct umfs_inode *in = km_inode(F_CS);

	KT_CHECK(km_cs_reply.mode == (S_IFREG | 0600) && km_cs_reply.uid == KT_NOBODY &&
		 km_cs_reply.gid == KT_GROUP, "the crash SETATTR: %o %u:%u", km_cs_reply.mode,
		 km_cs_reply.uid, km_cs_reply.gid);
	KT_CHECK(in->mode == km_cs_reply.mode && in->uid == KT_NOBODY && in->gid == KT_GROUP &&
		 in->ctime_ns == km_cs_reply.ctime_ns && in->csum == umfs_inode_csum(in),
		 "/cs after SETATTR: %o %u:%u, checksum %#x", in->mode, in->uid, in->gid, in->csum);
	KT_CHECK(memcmp(kt_pool_bitmap(&pool), before->bitmap, kt_pool_bitmap_len(&pool)) == 0,
		 "SETATTR changed the bitmap");
}

struct km_crash_case {
	const char *what;
	int file;
	int (*call)(void);
	void (*done)(const struct km_snapshot *before);
};

/* After a cut (the slot left active) every metadata call is refused until
 * MOUNT rolls it back; with no pool mounted, too. The FREE asks for a page
 * that is there (/rv's), so that it must reach the journal. */
static void km_expect_refused(int err)
{
	struct umfs_kmod_free r = km_free_req(ID(F_RV), 0, 1);
	struct umfs_kmod_setattr a = km_setattr_req(ID(F_CS), MODE, 0644, 0, 0);

	KT_EXPECT(km_free_ioctl(kfd, &r), err);
	KT_EXPECT(km_setattr_call(kfd, &a), err);
}

/*
 * The call cut short before its nth record for n = 1, 2, ... (and, with
 * n - 1 records written, before its commit) as a power cut would leave it;
 * UNMOUNT, MOUNT must then bring back the inode's first 128 bytes, its
 * whole tree and the whole bitmap exactly. Ends when the call runs whole;
 * returns the number of points it was cut at (its records and its commit).
 */
static unsigned km_crash_loop(const struct km_crash_case *c)
{
	unsigned n;

	for (n = 1;; n++) {
		struct km_snapshot before;
		struct kt_tree t;
		int err;

		KT_CHECK(n < 200, "%s never completed", c->what);
		pool = kt_pool_map(kfd, PROT_READ);
		before = km_snap(c->file);
		kt_pool_unmap(&pool);
		kt_set_tx_stop(n);
		err = c->call();
		kt_set_tx_stop(0);
		if (err == 0) {
			pool = kt_pool_map(kfd, PROT_READ);
			c->done(&before);
			kt_pool_unmap(&pool);
			km_snap_free(&before);
			break;
		}
		KT_CHECK(err == -EINTR, "%s cut at record %u: %s", c->what, n, strerror(-err));
		/* before record 1 nothing was changed, nor the slot marked */
		if (n > 1)
			km_expect_refused(-EUCLEAN);
		KT_EXPECT(umfs_kmod_unmount(kfd), 0);
		km_expect_refused(-ENODEV);
		KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
		pool = kt_pool_map(kfd, PROT_READ);
		KT_CHECK(memcmp(km_inode(c->file), before.inode, sizeof(before.inode)) == 0,
			 "%s cut at record %u: the inode not rolled back", c->what, n);
		KT_CHECK(memcmp(kt_pool_bitmap(&pool), before.bitmap, kt_pool_bitmap_len(&pool)) == 0,
			 "%s cut at record %u: the bitmap not rolled back", c->what, n);
		t = km_check_tree(km_inode(c->file), c->what);
		KT_CHECK(t.digest == before.tree.digest, "%s cut at record %u: the tree not rolled "
			 "back", c->what, n);
		free(t.pages);
		km_check_cr_kept(c->what);
		kt_pool_unmap(&pool);
		km_snap_free(&before);
	}
	return n - 1;
}

static int km_crash(void)
{
	static const struct km_crash_case cases[] = {
		{ "FREE of /cr", F_CR, km_crash_free_call, km_crash_free_done },
		{ "SETATTR of /cs", F_CS, km_crash_setattr_call, km_crash_setattr_done },
	};
	struct umfs_kmod_stats s0, s1;
	unsigned cuts[2];
	uint64_t lead[4], t0 = kt_now_ns();

	km_start();
	km_counts_init();
	pool = kt_pool_map(kfd, PROT_READ);
	km_check_huge_leaves(F_CR, 4, KM_TAG_CR, lead);
	km_cr_lead0 = lead[0];
	km_extend(ID(F_CR), KM_CR_EXTRA_FIRST, KM_CR_EXTRA_PAGES, KM_CR_EXTRA_PAGES + 3);
	kt_pool_unmap(&pool);
	s0 = kt_stats(kfd);
	for (unsigned i = 0; i < 2; i++)
		cuts[i] = km_crash_loop(&cases[i]);
	s1 = kt_stats(kfd);
	KT_CHECK(s1.frees - s0.frees == 1 && s1.freed_pages - s0.freed_pages == KM_CR_FREED &&
		 s1.setattrs - s0.setattrs == 1,
		 "STATS: frees +%" PRIu64 ", freed_pages +%" PRIu64 ", setattrs +%" PRIu64
		 "; the calls cut short must not count", (uint64_t)(s1.frees - s0.frees),
		 (uint64_t)(s1.freed_pages - s0.freed_pages), (uint64_t)(s1.setattrs - s0.setattrs));
	printf("kmod-meta: FREE of %u pages (a split, 3 whole 2 MiB leaves, 1100 4 KiB leaves, "
	       "%u freed) cut before each of its %u records and its commit, SETATTR before each of "
	       "its %u and its commit; rolled back at MOUNT every time, then whole (%" PRIu64
	       " ms)\n", (unsigned)KM_CR_FREE_COUNT, KM_CR_FREED, cuts[0] - 1, cuts[1] - 1,
	       km_ms_since(t0));
	/* calls of so many pages take several records; a SETATTR at least one */
	KT_CHECK(cuts[0] > 4 && cuts[1] >= 2, "FREE cut at %u points, SETATTR at %u: the cuts "
		 "tested too little", cuts[0], cuts[1]);
	umfs_kmod_close(kfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*run)(void); } modes[] = {
		{ "create", km_create }, { "setattr", km_setattr },
		{ "free", km_free }, { "crash", km_crash },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-meta";
	if (argc == 3) {
		dev = argv[2];
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(argv[1], modes[i].name))
				return modes[i].run();
	}
	fprintf(stderr, "usage: kmod-meta create|setattr|free|crash DEV\n");
	return 2;
}
