/* SPDX-License-Identifier: MIT */
/*
 * kmod-create.c - tests of CREATE, RELEASE and ULOG, the module's inode and
 * U-Log allocation calls (include/umfs_kmod.h, ABI 5), in the guest.
 *
 *   kmod-create setup DEV     the parent directories and a file, through
 *                             the C API (before MOUNT); their numbers go
 *                             to KC_IDS
 *   kmod-create create DEV    every file type; setgid parents; uid 65534
 *                             (and a root whose fsuid is not 0) against
 *                             what the guest kernel answers on tmpfs;
 *                             EACCES, EBUSY
 *   kmod-create refuse DEV    refusals of the three calls, each leaving the
 *                             pool as it was
 *   kmod-create ulog DEV      chains grown, kept, dropped; uid 65534
 *   kmod-create release DEV   orphan list head and middle, U-Log chains,
 *                             RELEASE after FREE, generations on reuse
 *   kmod-create crash DEV     each call cut before each record and its
 *                             commit (tx_stop); MOUNT's rollback exact
 *   kmod-create enospc DEV    the inode bitmap filled; the last free inode
 *                             reused with its generation bumped
 *
 * Every call is checked against a model: a copy of the pool's metadata
 * (inode zone, inode and page bitmaps, state page) taken before the call,
 * changed as the header says the call changes it, must equal the pool
 * afterwards byte for byte (read through root's mapping of the pool).
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdbool.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kmod-util.h"
#include "core.h" /* umfs_inode_csum, umfs_crc32c */

#define KC_NOBODY 65534u
#define KC_GROUP 100u        /* a supplementary group of uid 65534 */
#define KC_OTHER_GROUP 300u  /* a group it is not in */
#define KC_IDS "/tmp/kmod-create.ids"
#define KC_REF_DIR "/tmp/kmod-create"

static const char *dev;
static int kfd;
static struct kt_pool pool;

/* ------------------------------------------------------------------ */
/* The named inodes (setup)                                             */
/* ------------------------------------------------------------------ */

enum { D_ROOT, D_PUB, D_RO, D_RW, D_WX, D_SG, D_SGM, F_FILE, KC_NNAMED };

static const struct kc_named {
	const char *path;
	unsigned mode; /* type and permission bits */
	unsigned gid;
} kc_named[KC_NNAMED] = {
	[D_ROOT] = { "/", S_IFDIR | 0755, 0 },
	[D_PUB] = { "/pub", S_IFDIR | 0777, 0 },
	[D_RO] = { "/ro", S_IFDIR | 0755, 0 },      /* no write for others */
	[D_RW] = { "/rw", S_IFDIR | 0766, 0 },      /* write, no search */
	[D_WX] = { "/wx", S_IFDIR | 0733, 0 },      /* write and search only */
	[D_SG] = { "/sg", S_IFDIR | 02777, KC_OTHER_GROUP },
	[D_SGM] = { "/sgm", S_IFDIR | 02777, KC_GROUP },
	[F_FILE] = { "/f", S_IFREG | 0644, 0 },
};

static struct kt_id kc_ids[KC_NNAMED];

static int kc_setup(void)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	struct stat st;
	FILE *out;

	KT_EXPECT(umfs_mount(dev, 0, &fs), 0);
	for (int i = 1; i < KC_NNAMED; i++) {
		const struct kc_named *n = &kc_named[i];

		if (S_ISDIR(n->mode)) {
			KT_EXPECT(umfs_mkdir(fs, n->path, 0755), 0);
		} else {
			KT_EXPECT(umfs_open(fs, n->path, O_CREAT | O_RDWR, 0644, &f), 0);
			KT_EXPECT(umfs_close(f), 0);
		}
		KT_EXPECT(umfs_chown(fs, n->path, 0, n->gid, 0), 0);
		KT_EXPECT(umfs_chmod(fs, n->path, n->mode & 07777, 0), 0);
	}
	out = fopen(KC_IDS, "w");
	KT_CHECK(out, "%s: %s", KC_IDS, strerror(errno));
	for (int i = 0; i < KC_NNAMED; i++) {
		KT_EXPECT(umfs_stat(fs, kc_named[i].path, &st, AT_SYMLINK_NOFOLLOW), 0);
		KT_CHECK(st.st_mode == kc_named[i].mode && st.st_gid == kc_named[i].gid,
			 "%s: mode %o gid %u, want %o %u", kc_named[i].path, st.st_mode, st.st_gid,
			 kc_named[i].mode, kc_named[i].gid);
		fprintf(out, "%" PRIu64 "\n", (uint64_t)st.st_ino);
	}
	KT_CHECK(fclose(out) == 0, "%s", KC_IDS);
	KT_EXPECT(umfs_unmount(fs), 0);
	printf("kmod-create: made /pub /ro /rw /wx /sg /sgm /f\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Snapshots of the pool's metadata and the model                       */
/* ------------------------------------------------------------------ */

struct kc_snap {
	unsigned char *inodes; /* the inode zone */
	uint64_t *ibm;         /* the inode bitmap */
	uint64_t *pbm;         /* the page bitmap */
	unsigned char state[UMFS_PAGE_SIZE];
};

static size_t kc_inodes_len(void)
{
	return pool.sb->inode_count * sizeof(struct umfs_inode);
}

static size_t kc_ibm_len(void)
{
	return kt_pool_ibitmap_len(&pool);
}

static struct kc_snap kc_snap(void)
{
	struct kc_snap s;

	s.inodes = malloc(kc_inodes_len());
	s.ibm = malloc(kc_ibm_len());
	s.pbm = malloc(kt_pool_bitmap_len(&pool));
	KT_CHECK(s.inodes && s.ibm && s.pbm, "malloc");
	memcpy(s.inodes, pool.m + pool.sb->inode_off, kc_inodes_len());
	memcpy(s.ibm, kt_pool_ibitmap(&pool), kc_ibm_len());
	memcpy(s.pbm, kt_pool_bitmap(&pool), kt_pool_bitmap_len(&pool));
	memcpy(s.state, pool.m + pool.sb->state_off, sizeof(s.state));
	return s;
}

static struct kc_snap kc_snap_copy(const struct kc_snap *o)
{
	struct kc_snap s = *o;

	s.inodes = malloc(kc_inodes_len());
	s.ibm = malloc(kc_ibm_len());
	s.pbm = malloc(kt_pool_bitmap_len(&pool));
	KT_CHECK(s.inodes && s.ibm && s.pbm, "malloc");
	memcpy(s.inodes, o->inodes, kc_inodes_len());
	memcpy(s.ibm, o->ibm, kc_ibm_len());
	memcpy(s.pbm, o->pbm, kt_pool_bitmap_len(&pool));
	return s;
}

static void kc_snap_free(struct kc_snap *s)
{
	free(s->inodes);
	free(s->ibm);
	free(s->pbm);
}

static struct umfs_inode *kc_in(const struct kc_snap *s, uint64_t ino)
{
	return (struct umfs_inode *)(s->inodes + ino * sizeof(struct umfs_inode));
}

static struct umfs_state *kc_st(const struct kc_snap *s)
{
	return (struct umfs_state *)s->state;
}

static bool kc_bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void kc_bit_set(uint64_t *bm, uint64_t i, bool on)
{
	if (on)
		bm[i / 64] |= 1ull << (i % 64);
	else
		bm[i / 64] &= ~(1ull << (i % 64));
}

static const char *kc_inode_field(size_t off)
{
	static const struct { size_t off; const char *name; } f[] = {
		{ offsetof(struct umfs_inode, mode), "mode" },
		{ offsetof(struct umfs_inode, nlink), "nlink" },
		{ offsetof(struct umfs_inode, uid), "uid" },
		{ offsetof(struct umfs_inode, gid), "gid" },
		{ offsetof(struct umfs_inode, size), "size" },
		{ offsetof(struct umfs_inode, blocks), "blocks" },
		{ offsetof(struct umfs_inode, atime_ns), "atime" },
		{ offsetof(struct umfs_inode, mtime_ns), "mtime" },
		{ offsetof(struct umfs_inode, ctime_ns), "ctime" },
		{ offsetof(struct umfs_inode, btime_ns), "btime" },
		{ offsetof(struct umfs_inode, pt_root), "pt_root" },
		{ offsetof(struct umfs_inode, pt_height), "pt_height" },
		{ offsetof(struct umfs_inode, reserved0), "reserved0" },
		{ offsetof(struct umfs_inode, generation), "generation" },
		{ offsetof(struct umfs_inode, ulog), "ulog" },
		{ offsetof(struct umfs_inode, flags), "flags" },
		{ offsetof(struct umfs_inode, reserved1), "reserved1" },
		{ offsetof(struct umfs_inode, rdev), "rdev" },
		{ offsetof(struct umfs_inode, next_orphan), "next_orphan" },
		{ offsetof(struct umfs_inode, reserved2), "reserved2" },
		{ offsetof(struct umfs_inode, csum), "csum" },
		{ offsetof(struct umfs_inode, reserved5), "reserved5" },
		{ offsetof(struct umfs_inode, dir), "dir" },
		{ offsetof(struct umfs_inode, reserved3), "reserved3" },
		{ offsetof(struct umfs_inode, reserved4), "reserved4" },
	};
	const char *name = "?";

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].off <= off)
			name = f[i].name;
	return name;
}

static uint64_t kc_word_at(const unsigned char *p, size_t off)
{
	uint64_t w;

	memcpy(&w, p + (off & ~(size_t)7), 8);
	return w;
}

/* The pool now must equal the model want; the first difference fails. */
static void kc_expect(const struct kc_snap *want, const char *what)
{
	struct kc_snap got = kc_snap();
	size_t n;

	for (n = 0; n < kc_inodes_len(); n++)
		if (want->inodes[n] != got.inodes[n])
			KT_FAIL("%s: inode %zu, %s (byte %zu): pool %#" PRIx64 ", the model %#" PRIx64,
				what, n / 256, kc_inode_field(n % 256), n % 256,
				kc_word_at(got.inodes, n), kc_word_at(want->inodes, n));
	for (n = 0; n < kc_ibm_len() / 8; n++)
		if (want->ibm[n] != got.ibm[n])
			KT_FAIL("%s: inode bitmap word %zu (inodes %zu..): pool %#" PRIx64
				", the model %#" PRIx64, what, n, n * 64, got.ibm[n], want->ibm[n]);
	for (n = 0; n < kt_pool_bitmap_len(&pool) / 8; n++)
		if (want->pbm[n] != got.pbm[n])
			KT_FAIL("%s: page bitmap word %zu: pool %#" PRIx64 ", the model %#" PRIx64, what,
				n, got.pbm[n], want->pbm[n]);
	for (n = 0; n < sizeof(got.state); n++)
		if (want->state[n] != got.state[n])
			KT_FAIL("%s: state page byte %zu: pool %#" PRIx64 ", the model %#" PRIx64, what,
				n, kc_word_at(got.state, n), kc_word_at(want->state, n));
	kc_snap_free(&got);
}

/* The pool must be as it was: a refused call. */
static void kc_expect_unchanged(const struct kc_snap *before, const char *what)
{
	kc_expect(before, what);
}

static uint32_t kc_next_gen(uint32_t g)
{
	return g + 1 ? g + 1 : 1;
}

/* ------------------------------------------------------------------ */
/* U-Log chains                                                         */
/* ------------------------------------------------------------------ */

static const struct umfs_ulog *kc_ulog_page(uint64_t off)
{
	(void)kt_pool_bit(&pool, off); /* a data page */
	return (const struct umfs_ulog *)(pool.m + off);
}

static uint32_t kc_ulog_csum(const struct umfs_ulog *u)
{
	return umfs_crc32c(0, u, offsetof(struct umfs_ulog, csum));
}

/* The chain of in (as the pool holds it now): pool offsets, at most max. */
static unsigned kc_chain(const struct umfs_inode *in, uint64_t *offs, unsigned max)
{
	uint64_t off = in->ulog;
	unsigned n = 0;

	while (off) {
		KT_CHECK(n < max, "a U-Log chain longer than %u pages", max);
		offs[n++] = off;
		off = kc_ulog_page(off)->next;
	}
	return n;
}

/* Each page of ino's chain: stamped for ino/gen with a valid checksum and
 * linked in order (checked by kc_chain's walk); the pages from fresh on
 * are zero but for the stamp and the link. */
static void kc_check_chain(uint64_t ino, const uint64_t *offs, unsigned n, unsigned fresh,
			   const char *what)
{
	const struct umfs_inode *in = kt_pool_inode(&pool, ino);

	for (unsigned i = 0; i < n; i++) {
		const struct umfs_ulog *u = kc_ulog_page(offs[i]);

		KT_CHECK(u->magic == UMFS_ULOG_MAGIC && u->ino == ino &&
			 u->generation == in->generation && u->csum == kc_ulog_csum(u),
			 "%s: U-Log page %u (%#" PRIx64 "): magic %#" PRIx64 ", ino %" PRIu64
			 ", generation %u (inode %u), csum %#x (want %#x)", what, i, offs[i],
			 (uint64_t)u->magic, (uint64_t)u->ino, u->generation, in->generation, u->csum,
			 kc_ulog_csum(u));
		KT_CHECK(u->next == (i + 1 < n ? offs[i + 1] : 0), "%s: page %u links %#" PRIx64, what,
			 i, (uint64_t)u->next);
		for (unsigned j = i + 1; j < n; j++)
			KT_CHECK(offs[i] != offs[j], "%s: page %#" PRIx64 " twice in the chain", what,
				 offs[i]);
		if (i < fresh)
			continue;
		for (size_t b = offsetof(struct umfs_ulog, csum) + 4; b < UMFS_PAGE_SIZE; b++)
			if (b < offsetof(struct umfs_ulog, next) || b >= offsetof(struct umfs_ulog, next) + 8)
				KT_CHECK(((const unsigned char *)u)[b] == 0,
					 "%s: new U-Log page %u: byte %zu is %#x, not zeroed", what, i, b,
					 ((const unsigned char *)u)[b]);
	}
}

/* Headers (first 2 cache lines) of a chain's pages, to compare after a
 * rollback. */
struct kc_heads {
	unsigned n;
	uint64_t off[UMFS_ULOG_MAX_PAGES];
	unsigned char head[UMFS_ULOG_MAX_PAGES][2 * UMFS_CACHELINE];
};

static struct kc_heads kc_heads(uint64_t ino)
{
	struct kc_heads h;

	memset(&h, 0, sizeof(h));
	if (ino) {
		h.n = kc_chain(kt_pool_inode(&pool, ino), h.off, UMFS_ULOG_MAX_PAGES);
		for (unsigned i = 0; i < h.n; i++)
			memcpy(h.head[i], pool.m + h.off[i], sizeof(h.head[i]));
	}
	return h;
}

static void kc_heads_expect(const struct kc_heads *h, const char *what)
{
	for (unsigned i = 0; i < h->n; i++)
		KT_CHECK(memcmp(pool.m + h->off[i], h->head[i], sizeof(h->head[i])) == 0,
			 "%s: the header of U-Log page %u (%#" PRIx64 ") not as before", what, i,
			 h->off[i]);
}

/* ------------------------------------------------------------------ */
/* The calls and their models                                           */
/* ------------------------------------------------------------------ */

static int kc_ioctl(int fd, unsigned long cmd, void *arg)
{
	return umfs_kmod_call(fd, cmd, arg);
}

/* Counters of the successful calls (shared with children), for STATS. */
struct kc_counts {
	uint64_t creates, releases, ulog_pages;
	int release_write_only; /* uid 65534's RELEASE with mode 0200 */
};
static struct kc_counts *kc_counts;

static int kc_release_call(int fd, uint64_t ino, uint32_t gen, struct umfs_kmod_release *r);

/* Orphans a failed phase left (unchecked: pages freed, records retired,
 * released), so that the next phase starts from an empty orphan list. */
static void kc_leftovers(void)
{
	struct umfs_state *st = (struct umfs_state *)(pool.m + pool.sb->state_off);
	unsigned n = 0;

	while (st->orphan_head && n < 1000) {
		uint64_t ino = st->orphan_head;
		struct umfs_inode *in = (struct umfs_inode *)kt_pool_inode(&pool, ino);
		struct umfs_kmod_release rl;
		struct umfs_kmod_free fr;

		if (in->pt_root || in->blocks)
			KT_EXPECT(umfs_kmod_free(kfd, ino, in->generation, 0, 1ull << 27, &fr), 0);
		if (in->ulog)
			((struct umfs_ulog *)(pool.m + in->ulog))->rec_seq = 0;
		KT_EXPECT(kc_release_call(kfd, ino, in->generation, &rl), 0);
		n++;
	}
	if (n)
		printf("kmod-create: released %u orphans an earlier phase left\n", n);
}

static void kc_start(void)
{
	struct umfs_kmod_stats st;
	FILE *in;

	kt_probe_setup();
	KT_EXPECT(umfs_kmod_open(&kfd), 0);
	st = kt_stats(kfd);
	KT_CHECK(st.abi_version == UMFS_KMOD_ABI_VERSION && st.mounted,
		 "ABI %u (want %u), mounted %u", st.abi_version, UMFS_KMOD_ABI_VERSION, st.mounted);
	in = fopen(KC_IDS, "r");
	KT_CHECK(in, "%s: %s (run setup first)", KC_IDS, strerror(errno));
	for (int i = 0; i < KC_NNAMED; i++)
		KT_CHECK(fscanf(in, "%" SCNu64, &kc_ids[i].ino) == 1, "%s", KC_IDS);
	fclose(in);
	pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	for (int i = 0; i < KC_NNAMED; i++) {
		const struct umfs_inode *n = kt_pool_inode(&pool, kc_ids[i].ino);

		kc_ids[i].gen = n->generation;
		KT_CHECK(n->mode == kc_named[i].mode && n->gid == kc_named[i].gid,
			 "%s: mode %o gid %u", kc_named[i].path, n->mode, n->gid);
	}
	kc_counts = mmap(NULL, sizeof(*kc_counts), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KT_CHECK(kc_counts != MAP_FAILED, "mmap");
	kc_leftovers();
	memset(kc_counts, 0, sizeof(*kc_counts));
}

static struct umfs_kmod_create kc_create_req(int parent, unsigned mode, uint64_t rdev)
{
	return (struct umfs_kmod_create){
		.parent = parent < 0 ? 0 : kc_ids[parent].ino,
		.parent_generation = parent < 0 ? 0 : kc_ids[parent].gen,
		.mode = mode, .rdev = rdev,
	};
}

static int kc_create_call(int fd, struct umfs_kmod_create *r)
{
	int err = kc_ioctl(fd, UMFS_KMOD_IOC_CREATE, r);

	if (!err)
		__atomic_add_fetch(&kc_counts->creates, 1, __ATOMIC_RELAXED);
	return err;
}

static int kc_release_call(int fd, uint64_t ino, uint32_t gen, struct umfs_kmod_release *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->ino = ino;
	r->generation = gen;
	err = kc_ioctl(fd, UMFS_KMOD_IOC_RELEASE, r);
	if (!err)
		__atomic_add_fetch(&kc_counts->releases, 1, __ATOMIC_RELAXED);
	return err;
}

static int kc_ulog_call(int fd, uint64_t ino, uint32_t gen, uint32_t pages,
			struct umfs_kmod_ulog *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->ino = ino;
	r->generation = gen;
	r->pages = pages;
	err = kc_ioctl(fd, UMFS_KMOD_IOC_ULOG, r);
	if (!err)
		__atomic_add_fetch(&kc_counts->ulog_pages, r->allocated, __ATOMIC_RELAXED);
	return err;
}

static bool kc_dir_parent_noted;

/*
 * The model of a CREATE that answered r: a free inode taken, whole new but
 * for its generation (the old one + 1), its bit set, pushed on the orphan
 * list. want_*: what the caller expects of mode, uid and gid. got: the pool
 * after the call (a directory's dir.parent is not in the header: 0 or the
 * parent are both taken, and which is printed once).
 */
static void kc_model_create(struct kc_snap *m, const struct umfs_kmod_create *r, unsigned want_mode,
			    unsigned want_uid, unsigned want_gid, const struct kc_snap *got,
			    const char *what)
{
	struct umfs_inode *in;
	uint32_t gen;

	KT_CHECK(r->ino > UMFS_ROOT_INO && r->ino < pool.sb->inode_count,
		 "%s: ino %" PRIu64 " out of range", what, (uint64_t)r->ino);
	KT_CHECK(!kc_bit(m->ibm, r->ino), "%s: ino %" PRIu64 " was in use", what, (uint64_t)r->ino);
	in = kc_in(m, r->ino);
	gen = kc_next_gen(in->generation);
	KT_CHECK(r->generation == gen, "%s: generation %u, want %u (the free inode's %u + 1)", what,
		 r->generation, gen, in->generation);
	KT_CHECK(r->out_mode == want_mode && r->uid == want_uid && r->gid == want_gid,
		 "%s: mode %o %u:%u, want %o %u:%u", what, r->out_mode, r->uid, r->gid, want_mode,
		 want_uid, want_gid);
	memset(in, 0, sizeof(*in));
	in->mode = want_mode;
	in->uid = want_uid;
	in->gid = want_gid;
	in->generation = gen;
	in->rdev = (S_ISCHR(want_mode) || S_ISBLK(want_mode)) ? r->rdev : 0;
	in->nlink = 0;
	in->flags = UMFS_IF_ORPHAN;
	in->next_orphan = kc_st(m)->orphan_head;
	in->atime_ns = in->mtime_ns = in->ctime_ns = in->btime_ns = r->ctime_ns;
	if (S_ISDIR(want_mode) && r->parent && kc_in(got, r->ino)->dir.parent == r->parent) {
		in->dir.parent = r->parent;
		if (!kc_dir_parent_noted)
			printf("kmod-create: note: CREATE sets a directory's dir.parent to its parent\n");
		kc_dir_parent_noted = true;
	}
	in->csum = umfs_inode_csum(in);
	kc_st(m)->orphan_head = r->ino;
	kc_bit_set(m->ibm, r->ino, true);
}

/* A CREATE by root with the pool mapped, checked against the model;
 * returns its reply. */
static struct umfs_kmod_create kc_create(int parent, unsigned mode, uint64_t rdev,
					 unsigned want_mode, const char *what)
{
	struct umfs_kmod_create r = kc_create_req(parent, mode, rdev);
	struct kc_snap before = kc_snap(), m, got;
	uint64_t t0 = kt_realtime_ns(), t1;
	int err;

	err = kc_create_call(kfd, &r);
	t1 = kt_realtime_ns();
	KT_CHECK(!err, "%s: CREATE: %s", what, strerror(-err));
	/* the kernel's coarse clock may lag a tick */
	KT_CHECK(r.ctime_ns + 1000000000ull >= t0 && r.ctime_ns <= t1,
		 "%s: ctime %" PRIu64 " outside the call [%" PRIu64 ", %" PRIu64 "]", what,
		 (uint64_t)r.ctime_ns, t0, t1);
	got = kc_snap();
	m = kc_snap_copy(&before);
	kc_model_create(&m, &r, want_mode, 0, parent >= 0 && (kc_named[parent].mode & S_ISGID) ?
			kc_named[parent].gid : 0, &got, what);
	kc_expect(&m, what);
	kc_snap_free(&got);
	kc_snap_free(&m);
	kc_snap_free(&before);
	return r;
}

/* The model of a RELEASE of ino: its U-Log pages' bits cleared (their
 * number returned), off the orphan list (head or middle), its bytes zero
 * but for the generation, its bit cleared. */
static unsigned kc_model_release(struct kc_snap *m, uint64_t ino, const uint64_t *chain,
				 unsigned nchain, const char *what)
{
	struct umfs_inode *in = kc_in(m, ino);
	uint64_t *link = &kc_st(m)->orphan_head, offs[64];
	uint32_t gen = in->generation;
	unsigned n = 0, steps = 0;

	/* the chain before the call: given, or read from the pool now */
	if (chain) {
		memcpy(offs, chain, nchain * sizeof(*chain));
		n = nchain;
	} else {
		n = kc_chain(kt_pool_inode(&pool, ino), offs, 64);
	}
	for (unsigned i = 0; i < n; i++)
		kc_bit_set(m->pbm, kt_pool_bit(&pool, offs[i]), false);
	while (*link && *link != ino) {
		KT_CHECK(++steps < pool.sb->inode_count, "%s: the orphan list loops", what);
		link = &kc_in(m, *link)->next_orphan;
	}
	KT_CHECK(*link == ino, "%s: %" PRIu64 " is not on the orphan list", what, ino);
	*link = in->next_orphan;
	memset(in, 0, sizeof(*in));
	in->generation = gen;
	kc_bit_set(m->ibm, ino, false);
	return n;
}

static void kc_release(uint64_t ino, uint32_t gen, const char *what)
{
	struct kc_snap before = kc_snap(), m = kc_snap_copy(&before);
	struct umfs_kmod_release r;
	unsigned n = kc_model_release(&m, ino, NULL, 0, what);
	int err = kc_release_call(kfd, ino, gen, &r);

	KT_CHECK(!err, "%s: RELEASE of %" PRIu64 ": %s", what, ino, strerror(-err));
	KT_CHECK(r.ulog_freed == n && r.revoked == 0, "%s: ulog_freed %" PRIu64 " (want %u), "
		 "revoked %" PRIu64, what, (uint64_t)r.ulog_freed, n, (uint64_t)r.revoked);
	kc_expect(&m, what);
	kc_snap_free(&m);
	kc_snap_free(&before);
}

/* The model of a ULOG that answered r on ino, whose chain was old[0..c):
 * grown (new pages: free before, their bits set, stamped, zero, linked) or
 * dropped (every bit cleared, ulog 0). The chain is checked on the pool. */
static void kc_model_ulog(struct kc_snap *m, uint64_t ino, unsigned pages, const uint64_t *old,
			  unsigned c, const struct umfs_kmod_ulog *r, const char *what)
{
	struct umfs_inode *in = kc_in(m, ino);
	uint64_t offs[64];
	unsigned n;

	if (pages == 0) {
		KT_CHECK(r->head == 0 && r->count == 0 && r->allocated == 0 && r->freed == c,
			 "%s: head %#" PRIx64 ", count %u, allocated %" PRIu64 ", freed %" PRIu64
			 " (want 0, 0, 0, %u)", what, (uint64_t)r->head, r->count,
			 (uint64_t)r->allocated, (uint64_t)r->freed, c);
		for (unsigned i = 0; i < c; i++)
			kc_bit_set(m->pbm, kt_pool_bit(&pool, old[i]), false);
		if (in->ulog) {
			in->ulog = 0;
			in->csum = umfs_inode_csum(in);
		}
		return;
	}
	n = kc_chain(kt_pool_inode(&pool, ino), offs, 64);
	KT_CHECK(n == (pages > c ? pages : c), "%s: the chain has %u pages, want %u", what, n,
		 pages > c ? pages : c);
	KT_CHECK(r->count == n && r->head == offs[0] && r->allocated == n - c && r->freed == 0,
		 "%s: head %#" PRIx64 " (chain %#" PRIx64 "), count %u (%u), allocated %" PRIu64
		 " (%u), freed %" PRIu64, what, (uint64_t)r->head, offs[0], r->count, n,
		 (uint64_t)r->allocated, n - c, (uint64_t)r->freed);
	for (unsigned i = 0; i < c; i++)
		KT_CHECK(offs[i] == old[i], "%s: page %u of the chain moved", what, i);
	kc_check_chain(ino, offs, n, c, what);
	for (unsigned i = c; i < n; i++) {
		uint64_t b = kt_pool_bit(&pool, offs[i]);

		KT_CHECK(!kc_bit(m->pbm, b), "%s: new U-Log page %#" PRIx64 " was in use", what,
			 offs[i]);
		kc_bit_set(m->pbm, b, true);
	}
	if (c == 0) {
		in->ulog = offs[0];
		in->csum = umfs_inode_csum(in);
	}
}

static struct umfs_kmod_ulog kc_ulog(uint64_t ino, uint32_t gen, unsigned pages, const char *what)
{
	struct kc_snap before = kc_snap(), m = kc_snap_copy(&before);
	struct umfs_kmod_ulog r;
	uint64_t old[64];
	unsigned c = kc_chain(kt_pool_inode(&pool, ino), old, 64);
	int err = kc_ulog_call(kfd, ino, gen, pages, &r);

	KT_CHECK(!err, "%s: ULOG %u: %s", what, pages, strerror(-err));
	kc_model_ulog(&m, ino, pages, old, c, &r, what);
	kc_expect(&m, what);
	kc_snap_free(&m);
	kc_snap_free(&before);
	return r;
}

/* The orphan list now (bounded). */
static unsigned kc_orphans(uint64_t *out, unsigned max)
{
	uint64_t ino = ((const struct umfs_state *)(pool.m + pool.sb->state_off))->orphan_head;
	unsigned n = 0;

	while (ino) {
		KT_CHECK(n < max && ino < pool.sb->inode_count, "the orphan list is too long or bad");
		out[n++] = ino;
		ino = kt_pool_inode(&pool, ino)->next_orphan;
	}
	return n;
}

/* Runs fn in a child with no pool mapping (the parent unmaps first, maps
 * again after; keep_map: root's mapping stays): uid 65534, groups 65534 and 100, gid egid (fsgid) 65534,
 * or 100 when fsgid100. */
static void kc_as_nobody(void (*fn)(int fd), bool fsgid100, bool keep_map, const char *what)
{
	bool mapped = pool.m != NULL && !keep_map;
	pid_t pid;
	int status;

	if (mapped)
		kt_pool_unmap(&pool);
	if (!keep_map)
		KT_CHECK(kt_stats(kfd).poolmaps == 0, "%s: a pool mapping is left", what);
	else
		KT_CHECK(kt_stats(kfd).poolmaps > 0, "%s: no pool mapping", what);
	pid = fork();
	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		static const gid_t groups[] = { KC_NOBODY, KC_GROUP };
		int fd;

		kt_name = "kmod-create (uid 65534)";
		KT_EXPECT(setgroups(2, groups), 0);
		KT_EXPECT(setresgid(KC_NOBODY, fsgid100 ? KC_GROUP : KC_NOBODY, KC_NOBODY), 0);
		KT_EXPECT(setresuid(KC_NOBODY, KC_NOBODY, KC_NOBODY), 0);
		KT_CHECK(getegid() == (fsgid100 ? KC_GROUP : KC_NOBODY), "egid %u", getegid());
		umask(0);
		KT_EXPECT(umfs_kmod_open(&fd), 0);
		fn(fd);
		exit(0);
	}
	status = kt_wait(pid);
	if (mapped)
		pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the uid 65534 child failed",
		 what);
}

/* Runs fn in a child of root, the pool still mapped by the parent. */
static void kc_in_child(void (*fn)(int fd), const char *what)
{
	pid_t pid = fork();
	int status;

	KT_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int fd;

		KT_EXPECT(umfs_kmod_open(&fd), 0);
		fn(fd);
		exit(0);
	}
	status = kt_wait(pid);
	KT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the child failed", what);
}

/* ------------------------------------------------------------------ */
/* create                                                               */
/* ------------------------------------------------------------------ */

/* Creates made in a child, for the parent to check against the model and
 * against what the kernel did on tmpfs (ref_mode 0: no reference). */
#define KC_MAXC 16
struct kc_child_create {
	int parent;
	unsigned mode;
	int err;                  /* CREATE's answer */
	int want_err;             /* what the test expects */
	unsigned ref_mode, ref_uid, ref_gid;
	struct umfs_kmod_create r;
};
struct kc_child {
	unsigned n;
	struct kc_child_create c[KC_MAXC];
};
static struct kc_child *kc_child;

static void kc_child_reset(void)
{
	if (!kc_child) {
		kc_child = mmap(NULL, sizeof(*kc_child), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		KT_CHECK(kc_child != MAP_FAILED, "mmap");
	}
	memset(kc_child, 0, sizeof(*kc_child));
}

static void kc_child_add(int parent, unsigned mode, int want_err)
{
	KT_CHECK(kc_child->n < KC_MAXC, "too many");
	kc_child->c[kc_child->n++] = (struct kc_child_create){ .parent = parent, .mode = mode,
							       .want_err = want_err };
}

/* The tmpfs twin of named directory d. */
static void kc_ref_path(int d, char *buf, size_t len)
{
	snprintf(buf, len, KC_REF_DIR "%s", kc_named[d].path);
}

static void kc_ref_setup(void)
{
	char p[128];

	if (mkdir(KC_REF_DIR, 0755) && errno != EEXIST)
		KT_FAIL("mkdir %s: %s", KC_REF_DIR, strerror(errno));
	for (int d = D_PUB; d <= D_SGM; d++) {
		kc_ref_path(d, p, sizeof(p));
		if (mkdir(p, 0755) && errno != EEXIST)
			KT_FAIL("mkdir %s: %s", p, strerror(errno));
		KT_EXPECT(chown(p, 0, kc_named[d].gid), 0);
		KT_EXPECT(chmod(p, kc_named[d].mode & 07777), 0);
	}
}

/* The child's calls: each CREATE, and its twin on tmpfs (regular files and
 * directories in a named parent). */
static void kc_child_run(int fd)
{
	static unsigned seq;

	for (unsigned i = 0; i < kc_child->n; i++) {
		struct kc_child_create *c = &kc_child->c[i];
		char p[160];
		struct stat st;

		c->r = kc_create_req(c->parent, c->mode, 0);
		c->err = kc_create_call(fd, &c->r);
		if (c->parent < 0 || !(S_ISREG(c->mode) || S_ISDIR(c->mode)))
			continue;
		kc_ref_path(c->parent, p, sizeof(p));
		snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%d.%u", (int)getpid(), seq++);
		if (S_ISDIR(c->mode)) {
			if (mkdir(p, c->mode & 07777))
				continue;
		} else {
			int f = open(p, O_CREAT | O_EXCL | O_WRONLY, c->mode & 07777);

			if (f < 0)
				continue;
			close(f);
		}
		KT_EXPECT(lstat(p, &st), 0);
		c->ref_mode = st.st_mode;
		c->ref_uid = st.st_uid;
		c->ref_gid = st.st_gid;
	}
}

/* After the child: every CREATE answered as expected, matched the kernel's
 * twin, and the pool is the model of the successful ones in order. */
static void kc_child_check(const struct kc_snap *before, unsigned uid, unsigned gid,
			   const char *what)
{
	struct kc_snap got = kc_snap(), m = kc_snap_copy(before);
	unsigned ok = 0;

	for (unsigned i = 0; i < kc_child->n; i++) {
		struct kc_child_create *c = &kc_child->c[i];
		char w[160];

		snprintf(w, sizeof(w), "%s: CREATE %o in %s", what, c->mode,
			 c->parent < 0 ? "no parent" : kc_named[c->parent].path);
		KT_CHECK(c->err == c->want_err, "%s: %s, want %s", w, c->err ? strerror(-c->err) : "ok",
			 c->want_err ? strerror(-c->want_err) : "ok");
		if (c->err)
			continue;
		if (c->ref_mode)
			KT_CHECK(c->r.out_mode == c->ref_mode && c->r.uid == c->ref_uid &&
				 c->r.gid == c->ref_gid, "%s: the module gave %o %u:%u, the kernel on "
				 "tmpfs %o %u:%u", w, c->r.out_mode, c->r.uid, c->r.gid, c->ref_mode,
				 c->ref_uid, c->ref_gid);
		{
			unsigned wgid = gid, wmode = c->mode;

			if (c->parent >= 0 && (kc_named[c->parent].mode & S_ISGID)) {
				wgid = kc_named[c->parent].gid;
				if (S_ISDIR(c->mode))
					wmode |= S_ISGID;
			}
			/* the kernel's answer where there is one; else the header */
			if (c->ref_mode)
				wmode = c->ref_mode;
			kc_model_create(&m, &c->r, wmode, uid, wgid, &got, w);
		}
		ok++;
	}
	kc_expect(&m, what);
	kc_snap_free(&m);
	kc_snap_free(&got);
	(void)ok;
}

/* Releases every orphan on the list (as root, with the pool mapped). */
static unsigned kc_release_all(const char *what)
{
	uint64_t list[1024];
	unsigned n = kc_orphans(list, 1024);

	for (unsigned i = 0; i < n; i++) {
		const struct umfs_inode *in = kt_pool_inode(&pool, list[i]);

		kc_release(list[i], in->generation, what);
	}
	return n;
}

static void kc_fsuid_child(int fd)
{
	KT_CHECK(setfsgid(4321) >= 0 && setfsuid(1234) >= 0, "setfsuid");
	KT_CHECK((unsigned)setfsuid(-1) == 1234 && (unsigned)setfsgid(-1) == 4321, "fsuid");
	kc_child_run(fd);
}

static void kc_busy_child(int fd)
{
	struct umfs_kmod_create r = kc_create_req(D_PUB, S_IFREG | 0644, 0);

	KT_EXPECT(kc_create_call(fd, &r), -EBUSY);
}

static int kc_create_phase(void)
{
	static const struct { unsigned mode; uint64_t rdev; const char *what; } types[] = {
		{ S_IFREG | 0644, 0, "regular" },
		{ S_IFDIR | 0755, 0, "directory" },
		{ S_IFLNK | 0777, 0, "symlink" },
		{ S_IFCHR | 0620, 0, "character device" },
		{ S_IFBLK | 0660, 0, "block device" },
		{ S_IFIFO | 0600, 0, "FIFO" },
		{ S_IFSOCK | 0755, 0, "socket" },
		{ S_IFREG | 07777, 0, "regular 7777" },
		{ S_IFREG | 0, 0, "regular 0" },
	};
	struct umfs_kmod_stats s0, s1;
	struct kc_snap before;
	uint64_t t0 = kt_now_ns(), list[64];
	unsigned n, created = 0;

	kc_start();
	s0 = kt_stats(kfd);
	/* every type, in /pub and with no parent; rdev for the devices */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint64_t rdev = S_ISCHR(types[i].mode) ? makedev(4, 64) :
				S_ISBLK(types[i].mode) ? makedev(259, 3) : 0;
		char w[96];

		snprintf(w, sizeof(w), "CREATE of a %s in /pub", types[i].what);
		kc_create(D_PUB, types[i].mode, rdev, types[i].mode, w);
		snprintf(w, sizeof(w), "CREATE of a %s with no parent", types[i].what);
		kc_create(-1, types[i].mode, rdev, types[i].mode, w);
		created += 2;
	}
	/* root in setgid directories: the group inherited, a directory setgid */
	kc_create(D_SG, S_IFREG | 02755, 0, S_IFREG | 02755, "root's CREATE in /sg (CAP_FSETID)");
	kc_create(D_SG, S_IFDIR | 0755, 0, S_IFDIR | 02755, "root's directory in /sg");
	kc_create(D_SGM, S_IFREG | 0640, 0, S_IFREG | 0640, "root's CREATE in /sgm");
	created += 3;
	/* the orphan list: newest first, exactly the creates */
	n = kc_orphans(list, 64);
	KT_CHECK(n == created, "the orphan list holds %u, %u were created", n, created);
	printf("kmod-create: CREATE of 9 modes x {/pub, no parent}, 3 in setgid directories: "
	       "inode, bitmap bit, orphan list (%u long), generation, checksum, times exact\n", n);

	/* a root whose fsuid and fsgid are 1234 and 4321: the inode's owner,
	 * and no CAP_DAC_OVERRIDE left for /ro */
	before = kc_snap();
	kc_child_reset();
	kc_child_add(D_PUB, S_IFREG | 0600, 0);
	kc_child_add(D_RO, S_IFREG | 0600, -EACCES);
	kc_in_child(kc_fsuid_child, "fsuid 1234");
	kc_child->c[0].ref_mode = 0; /* no twin for these (root's tmpfs) */
	kc_child_check(&before, 1234, 4321, "fsuid 1234, fsgid 4321");
	kc_snap_free(&before);

	/* uid 65534 while root maps the pool: EBUSY */
	before = kc_snap();
	kc_as_nobody(kc_busy_child, false, true, "CREATE while root maps the pool");
	kc_expect_unchanged(&before, "CREATE refused with EBUSY");
	kc_snap_free(&before);
	before = kc_snap();

	/* uid 65534, no mapping anywhere: the kernel's twin on tmpfs decides
	 * mode and group */
	kc_ref_setup();
	kc_child_reset();
	kc_child_add(D_PUB, S_IFREG | 0644, 0);
	kc_child_add(D_PUB, S_IFDIR | 0755, 0);
	kc_child_add(D_PUB, S_IFREG | 02755, 0);      /* its own group: kept */
	kc_child_add(D_WX, S_IFREG | 0600, 0);        /* write and search suffice */
	kc_child_add(D_RO, S_IFREG | 0644, -EACCES);  /* no write */
	kc_child_add(D_RW, S_IFREG | 0644, -EACCES);  /* no search */
	kc_child_add(D_SG, S_IFREG | 02755, 0);       /* group 300: g+s dropped */
	kc_child_add(D_SG, S_IFREG | 02745, 0);       /* without g+x: the kernel's answer */
	kc_child_add(D_SG, S_IFDIR | 0755, 0);        /* group 300, g+s */
	kc_child_add(D_SGM, S_IFREG | 02755, 0);      /* group 100, a member: kept */
	kc_child_add(-1, S_IFREG | 02755, 0);         /* no parent: its own group */
	kc_child_add(-1, S_IFIFO | 0644, 0);
	kc_as_nobody(kc_child_run, false, false, "uid 65534's CREATEs");
	kc_child_check(&before, KC_NOBODY, KC_NOBODY, "uid 65534");
	for (unsigned i = 0; i < kc_child->n; i++)
		if (kc_child->c[i].ref_mode)
			printf("kmod-create: uid 65534: CREATE %o in %s: %o gid %u, as the kernel\n",
			       kc_child->c[i].mode, kc_named[kc_child->c[i].parent].path,
			       kc_child->c[i].r.out_mode, kc_child->c[i].r.gid);
	kc_snap_free(&before);

	/* egid (so fsgid) 100, real gid 65534: the group is the fsgid */
	before = kc_snap();
	kc_child_reset();
	kc_child_add(D_PUB, S_IFREG | 0644, 0);
	kc_child_add(D_SG, S_IFREG | 02755, 0);
	kc_as_nobody(kc_child_run, true, false, "uid 65534, fsgid 100");
	kc_child_check(&before, KC_NOBODY, KC_GROUP, "uid 65534, fsgid 100");
	kc_snap_free(&before);

	n = kc_release_all("releasing the phase's inodes");
	s1 = kt_stats(kfd);
	KT_CHECK(s1.creates - s0.creates == kc_counts->creates &&
		 s1.releases - s0.releases == kc_counts->releases,
		 "STATS creates +%" PRIu64 " releases +%" PRIu64 ", the calls: %" PRIu64 ", %" PRIu64,
		 (uint64_t)(s1.creates - s0.creates), (uint64_t)(s1.releases - s0.releases),
		 kc_counts->creates, kc_counts->releases);
	printf("kmod-create: create: %" PRIu64 " CREATEs (fsuid 1234; uid 65534 against tmpfs, "
	       "EACCES x3, EBUSY), %u released; STATS exact; %" PRIu64 " ms\n", kc_counts->creates,
	       n, kt_ms_since(t0));
	kt_pool_unmap(&pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* refuse                                                               */
/* ------------------------------------------------------------------ */

static unsigned kc_nrefused;

/* A refused call: the answer err, and the pool unchanged. */
#define KC_REFUSED(call, err, what)                                                        \
	do {                                                                               \
		struct kc_snap b_ = kc_snap();                                             \
		int e_ = (call);                                                           \
		kc_nrefused++;                                                             \
		KT_CHECK(e_ == (err), "%s: %s, want %s", what, e_ ? strerror(-e_) : "ok",  \
			 strerror(-(err)));                                                \
		kc_expect_unchanged(&b_, what);                                            \
		kc_snap_free(&b_);                                                         \
	} while (0)
/* A refusal the header gives no errno for, of two plausible ones. */
#define KC_REFUSED2(call, err1, err2, what)                                                \
	do {                                                                               \
		struct kc_snap b_ = kc_snap();                                             \
		int e_ = (call);                                                           \
		KT_CHECK(e_ == (err1) || e_ == (err2), "%s: %s, want %s or %s", what,      \
			 e_ ? strerror(-e_) : "ok", strerror(-(err1)), strerror(-(err2)));  \
		kc_expect_unchanged(&b_, what);                                            \
		kc_snap_free(&b_);                                                         \
		kc_nrefused++;                                                             \
		if (e_ != (err1))                                                          \
			printf("kmod-create: %s: %s\n", what, strerror(-e_));              \
	} while (0)
/* A refusal whose errno the header leaves open: any error, printed. */
#define KC_REFUSED_ANY(call, what)                                                         \
	do {                                                                               \
		struct kc_snap b_ = kc_snap();                                             \
		int e_ = (call);                                                           \
		KT_CHECK(e_ < 0, "%s: not refused", what);                                 \
		kc_expect_unchanged(&b_, what);                                            \
		kc_snap_free(&b_);                                                         \
		kc_nrefused++;                                                             \
		printf("kmod-create: %s: %s\n", what, strerror(-e_));                      \
	} while (0)

static int kc_create_with(struct umfs_kmod_create r)
{
	return kc_create_call(kfd, &r);
}

static int kc_release_with(struct umfs_kmod_release r)
{
	int err = kc_ioctl(kfd, UMFS_KMOD_IOC_RELEASE, &r);

	if (!err)
		kc_counts->releases++;
	return err;
}

static int kc_ulog_with(struct umfs_kmod_ulog r)
{
	int err = kc_ioctl(kfd, UMFS_KMOD_IOC_ULOG, &r);

	if (!err)
		kc_counts->ulog_pages += r.allocated;
	return err;
}

static uint64_t kc_free_ino(void)
{
	for (uint64_t i = UMFS_ROOT_INO + 1; i < pool.sb->inode_count; i++)
		if (!kt_pool_ino_used(&pool, i))
			return i;
	KT_FAIL("no free inode");
}

static int kc_refuse_phase(void)
{
	static const unsigned bad_modes[] = {
		0, 0644, 0030000 | 0644, 0050000 | 0644, 0070000 | 0644, 0110000 | 0644,
		0130000 | 0644, 0150000 | 0644, 0170000 | 0644,     /* S_IFMT garbage */
		S_IFREG | 010000 << 4, S_IFREG | 0x10000, S_IFREG | 0x80000000u, /* above 07777 */
	};
	struct umfs_kmod_create c;
	struct umfs_kmod_release rl;
	struct umfs_kmod_ulog u;
	struct umfs_kmod_extend e;
	struct umfs_kmod_free fr;
	uint64_t freeino, t0 = kt_now_ns();
	struct umfs_kmod_create a, b;
	volatile struct umfs_ulog *head;
	kc_start();
	freeino = kc_free_ino();

	/* CREATE */
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		char w[64];

		snprintf(w, sizeof(w), "CREATE with mode %#o", bad_modes[i]);
		c = kc_create_req(D_PUB, bad_modes[i], 0);
		KC_REFUSED(kc_create_with(c), -EINVAL, w);
	}
	c = kc_create_req(D_PUB, S_IFREG | 0644, 0);
	c.reserved = 1;
	KC_REFUSED(kc_create_with(c), -EINVAL, "CREATE with reserved 1");
	c = kc_create_req(D_PUB, S_IFREG | 0644, makedev(1, 3));
	KC_REFUSED(kc_create_with(c), -EINVAL, "CREATE of a regular file with rdev");
	c = kc_create_req(D_PUB, S_IFDIR | 0755, makedev(1, 3));
	KC_REFUSED(kc_create_with(c), -EINVAL, "CREATE of a directory with rdev");
	c = kc_create_req(D_PUB, S_IFIFO | 0644, makedev(1, 3));
	KC_REFUSED(kc_create_with(c), -EINVAL, "CREATE of a FIFO with rdev");
	c = kc_create_req(F_FILE, S_IFREG | 0644, 0);
	KC_REFUSED(kc_create_with(c), -ENOTDIR, "CREATE in a regular file");
	c = kc_create_req(D_PUB, S_IFREG | 0644, 0);
	c.parent_generation++;
	KC_REFUSED2(kc_create_with(c), -ESTALE, -ENOENT, "CREATE with a wrong parent generation");
	c = kc_create_req(-1, S_IFREG | 0644, 0);
	c.parent_generation = 1;
	KC_REFUSED(kc_create_with(c), -EINVAL, "CREATE with no parent and a parent generation");
	c = kc_create_req(D_PUB, S_IFREG | 0644, 0);
	c.parent = pool.sb->inode_count;
	c.parent_generation = 0;
	KC_REFUSED2(kc_create_with(c), -ESTALE, -ENOENT, "CREATE in inode_count (out of range)");
	c.parent = 1ull << 40;
	KC_REFUSED2(kc_create_with(c), -ESTALE, -ENOENT, "CREATE in inode 2^40");
	c.parent = freeino;
	c.parent_generation = kt_pool_inode(&pool, freeino)->generation;
	KC_REFUSED2(kc_create_with(c), -ESTALE, -ENOENT, "CREATE in a free inode");
	/* a directory no name points at (nlink 0) takes no names */
	a = kc_create(D_PUB, S_IFDIR | 0777, 0, S_IFDIR | 0777, "CREATE of an orphan directory");
	c = (struct umfs_kmod_create){ .parent = a.ino, .parent_generation = a.generation,
				       .mode = S_IFREG | 0644 };
	KC_REFUSED_ANY(kc_create_with(c), "CREATE in an orphan directory (nlink 0)");
	kc_release(a.ino, a.generation, "RELEASE of the orphan directory");

	/* RELEASE */
	KC_REFUSED_ANY(kc_release_call(kfd, kc_ids[F_FILE].ino, kc_ids[F_FILE].gen, &rl),
		       "RELEASE of /f (nlink 1)");
	KC_REFUSED_ANY(kc_release_call(kfd, kc_ids[D_PUB].ino, kc_ids[D_PUB].gen, &rl),
		       "RELEASE of /pub (a named directory)");
	a = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of an orphan A");
	KT_EXPECT(umfs_kmod_extend(kfd, a.ino, a.generation, 0, 1, &e), 0);
	KT_CHECK(e.allocated == 1, "EXTEND of A: %" PRIu64, (uint64_t)e.allocated);
	KC_REFUSED_ANY(kc_release_call(kfd, a.ino, a.generation, &rl), "RELEASE of A with a page");
	KC_REFUSED(kc_release_call(kfd, a.ino, a.generation + 1, &rl), -ESTALE,
		   "RELEASE with a wrong generation");
	freeino = kc_free_ino();
	KC_REFUSED(kc_release_call(kfd, freeino, kt_pool_inode(&pool, freeino)->generation, &rl),
		   -ESTALE, "RELEASE of a free inode");
	KC_REFUSED(kc_release_call(kfd, 0, 0, &rl), -ESTALE, "RELEASE of inode 0");
	KC_REFUSED(kc_release_call(kfd, pool.sb->inode_count, 0, &rl), -ESTALE,
		   "RELEASE of inode_count");
	memset(&rl, 0, sizeof(rl));
	rl.ino = a.ino;
	rl.generation = a.generation;
	rl.flags = 1;
	KC_REFUSED(kc_release_with(rl), -EINVAL, "RELEASE with flags 1");
	rl.flags = 0;
	rl.reserved[1] = 1;
	KC_REFUSED(kc_release_with(rl), -EINVAL, "RELEASE with reserved[1] 1");

	/* ULOG */
	b = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of an orphan B");
	KC_REFUSED_ANY(kc_ulog_call(kfd, b.ino, b.generation, UMFS_ULOG_MAX_PAGES + 1, &u),
		       "ULOG of UMFS_ULOG_MAX_PAGES + 1 pages");
	KC_REFUSED_ANY(kc_ulog_call(kfd, b.ino, b.generation, 1000, &u), "ULOG of 1000 pages");
	KC_REFUSED(kc_ulog_call(kfd, b.ino, b.generation + 1, 1, &u), -ESTALE,
		   "ULOG with a wrong generation");
	freeino = kc_free_ino();
	KC_REFUSED(kc_ulog_call(kfd, freeino, kt_pool_inode(&pool, freeino)->generation, 1, &u),
		   -ESTALE, "ULOG of a free inode");
	memset(&u, 0, sizeof(u));
	u.ino = b.ino;
	u.generation = b.generation;
	u.pages = 1;
	u.reserved0 = 1;
	KC_REFUSED(kc_ulog_with(u), -EINVAL, "ULOG with reserved0 1");
	u.reserved0 = 0;
	u.reserved[0] = 1;
	KC_REFUSED(kc_ulog_with(u), -EINVAL, "ULOG with reserved[0] 1");
	kc_ulog(b.ino, b.generation, UMFS_ULOG_MAX_PAGES, "ULOG of UMFS_ULOG_MAX_PAGES pages");
	kc_ulog(b.ino, b.generation, 0, "ULOG 0 of the longest chain");
	kc_ulog(b.ino, b.generation, 2, "ULOG 2");
	/* a live record in the head: ULOG 0 refused, RELEASE still frees */
	head = (volatile struct umfs_ulog *)(pool.m + kt_pool_inode(&pool, b.ino)->ulog);
	head->rec_seq = 0x1234;
	KC_REFUSED(kc_ulog_call(kfd, b.ino, b.generation, 0, &u), -EBUSY,
		   "ULOG 0 with a live record");
	kc_ulog(b.ino, b.generation, 2, "ULOG 2 with a live record (no change)");
	head->rec_seq = 0;

	/* RELEASE of A once FREE took its page */
	KT_EXPECT(umfs_kmod_free(kfd, a.ino, a.generation, 0, 1, &fr), 0);
	KT_CHECK(fr.freed == 1 && kt_pool_inode(&pool, a.ino)->pt_root == 0,
		 "FREE of A: freed %" PRIu64, (uint64_t)fr.freed);
	kc_release(a.ino, a.generation, "RELEASE of A after FREE");
	kc_release(b.ino, b.generation, "RELEASE of B (2 U-Log pages)");
	printf("kmod-create: refuse: %u refusals (CREATE: 12 modes, reserved, rdev x3, ENOTDIR, "
	       "parent ESTALE/ENOENT x4, no parent with a generation, an orphan directory; RELEASE: "
	       "named x2, a page, ESTALE x4, flags, reserved; ULOG: too long x2, ESTALE x2, reserved "
	       "x2, EBUSY), the pool unchanged each time; %" PRIu64 " ms\n", kc_nrefused,
	       kt_ms_since(t0));
	kt_pool_unmap(&pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* ulog                                                                 */
/* ------------------------------------------------------------------ */

static uint64_t kc_nb_ino;
static uint32_t kc_nb_gen;

static void kc_nobody_ulog(int fd)
{
	struct umfs_kmod_ulog u;
	struct umfs_kmod_release rl;
	struct umfs_kmod_create c = kc_create_req(-1, S_IFREG | 0600, 0);
	int err;

	/* root's 0600 orphan: no read (ULOG), no write (RELEASE) */
	KT_EXPECT(kc_ulog_call(fd, kc_nb_ino, kc_nb_gen, 1, &u), -EACCES);
	KT_EXPECT(kc_release_call(fd, kc_nb_ino, kc_nb_gen, &rl), -EACCES);
	/* its own */
	KT_EXPECT(kc_create_call(fd, &c), 0);
	KT_EXPECT(kc_ulog_call(fd, c.ino, c.generation, 2, &u), 0);
	KT_CHECK(u.count == 2 && u.allocated == 2, "uid 65534's ULOG: count %u", u.count);
	KT_EXPECT(kc_ulog_call(fd, c.ino, c.generation, 0, &u), 0);
	KT_CHECK(u.freed == 2, "uid 65534's ULOG 0: freed %" PRIu64, (uint64_t)u.freed);
	/* ULOG needs read permission only, RELEASE write permission only */
	{
		struct umfs_kmod_setattr sa = { .ino = c.ino, .generation = c.generation,
						.valid = UMFS_KMOD_SETATTR_MODE, .mode = 0400 };

		KT_EXPECT(umfs_kmod_setattr(fd, &sa), 0);
		KT_EXPECT(kc_ulog_call(fd, c.ino, c.generation, 1, &u), 0);
		sa.valid = UMFS_KMOD_SETATTR_MODE;
		sa.mode = 0200;
		sa.uid = sa.gid = 0;
		KT_EXPECT(umfs_kmod_setattr(fd, &sa), 0);
	}
	/* (a refusal is reported by the parent at the phase's end) */
	err = kc_release_call(fd, c.ino, c.generation, &rl);
	kc_counts->release_write_only = err;
	if (err) {
		struct umfs_kmod_setattr sa = { .ino = c.ino, .generation = c.generation,
						.valid = UMFS_KMOD_SETATTR_MODE, .mode = 0600 };

		KT_EXPECT(umfs_kmod_setattr(fd, &sa), 0);
		KT_EXPECT(kc_release_call(fd, c.ino, c.generation, &rl), 0);
	}
	KT_CHECK(rl.ulog_freed == 1, "uid 65534's RELEASE: ulog_freed %" PRIu64,
		 (uint64_t)rl.ulog_freed);
}

static void kc_chmod(uint64_t ino, uint32_t gen, unsigned mode)
{
	struct umfs_kmod_setattr sa = { .ino = ino, .generation = gen,
					.valid = UMFS_KMOD_SETATTR_MODE, .mode = mode };

	KT_EXPECT(umfs_kmod_setattr(kfd, &sa), 0);
}

static void kc_nobody_busy(int fd)
{
	struct umfs_kmod_ulog u;
	struct umfs_kmod_release rl;

	KT_EXPECT(kc_ulog_call(fd, kc_nb_ino, kc_nb_gen, 1, &u), -EBUSY);
	KT_EXPECT(kc_release_call(fd, kc_nb_ino, kc_nb_gen, &rl), -EBUSY);
}

/* fsck's part, by hand: bit i of the pool's page bitmap cleared, with its
 * page's sum (docs/format.md), as every change of a word must. */
static void kc_pool_bit_clear(uint64_t i)
{
	uint64_t *pbm = (uint64_t *)(pool.m + pool.sb->pbitmap_off), old = pbm[i / 64];
	uint64_t *sums = (uint64_t *)(pool.m + pool.sb->bsum_off);

	pbm[i / 64] = old & ~(1ull << (i % 64));
	if (pool.sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS)
		sums[i / 64 / UMFS_BSUM_WORDS] += umfs_bsum_delta(i / 64, old, pbm[i / 64]);
}

/* A chain with a bad link (the second page's magic spoilt through the
 * mapping): ULOG 0 gives back the pages before it and clears ulog, the
 * pages past it are left (to fsck: here the test clears their bits); a
 * grow past it is answered as printed. */
static void kc_ulog_bad_link(uint64_t ino, uint32_t gen)
{
	struct kc_snap before, m;
	struct umfs_kmod_ulog r;
	struct umfs_ulog *u1;
	uint64_t offs[3];
	int err;

	kc_ulog(ino, gen, 3, "ULOG 3 (to spoil)");
	KT_CHECK(kc_chain(kt_pool_inode(&pool, ino), offs, 3) == 3, "3 pages");
	u1 = (struct umfs_ulog *)(pool.m + offs[1]);
	u1->magic ^= 1;
	before = kc_snap();
	err = kc_ulog_call(kfd, ino, gen, 4, &r);
	if (err) {
		kc_expect_unchanged(&before, "ULOG 4 past a bad link");
		printf("kmod-create: ULOG 4 of a chain whose second page is bad: %s, the pool "
		       "unchanged\n", strerror(-err));
	} else {
		printf("kmod-create: ULOG 4 of a chain whose second page is bad: count %u, allocated %"
		       PRIu64 "\n", r.count, (uint64_t)r.allocated);
	}
	kc_snap_free(&before);
	before = kc_snap();
	m = kc_snap_copy(&before);
	KT_EXPECT(kc_ulog_call(kfd, ino, gen, 0, &r), 0);
	KT_CHECK(r.freed == 1 && r.count == 0 && r.head == 0, "ULOG 0 of a chain cut after its "
		 "first page: freed %" PRIu64 ", count %u", (uint64_t)r.freed, r.count);
	kc_bit_set(m.pbm, kt_pool_bit(&pool, offs[0]), false);
	kc_in(&m, ino)->ulog = 0;
	kc_in(&m, ino)->csum = umfs_inode_csum(kc_in(&m, ino));
	kc_expect(&m, "ULOG 0 of a chain with a bad link");
	kc_snap_free(&m);
	kc_snap_free(&before);
	/* fsck's part: the pages past the link */
	for (int i = 1; i < 3; i++)
		kc_pool_bit_clear(kt_pool_bit(&pool, offs[i]));
	u1->magic ^= 1;
	printf("kmod-create: ulog: a chain with a bad link: ULOG 0 freed the page before it (1), "
	       "ulog cleared, the 2 past it left\n");
}

static int kc_ulog_phase(void)
{
	struct umfs_kmod_stats s0, s1;
	struct umfs_kmod_create x, d;
	struct umfs_kmod_ulog r;
	struct kc_snap before;
	uint64_t t0 = kt_now_ns(), used0;

	kc_start();
	s0 = kt_stats(kfd);
	used0 = kt_pool_used_pages(&pool);
	x = kc_create(D_PUB, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of X");
	r = kc_ulog(x.ino, x.generation, 1, "ULOG 1");
	KT_CHECK(r.allocated == 1 && r.count == 1, "ULOG 1: allocated %" PRIu64, (uint64_t)r.allocated);
	r = kc_ulog(x.ino, x.generation, 3, "ULOG 3");
	KT_CHECK(r.allocated == 2 && r.count == 3, "ULOG 3: allocated %" PRIu64, (uint64_t)r.allocated);
	r = kc_ulog(x.ino, x.generation, 2, "ULOG 2 of 3");
	KT_CHECK(r.allocated == 0 && r.count == 3, "ULOG 2: allocated %" PRIu64, (uint64_t)r.allocated);
	r = kc_ulog(x.ino, x.generation, 3, "ULOG 3 of 3");
	KT_CHECK(r.allocated == 0, "ULOG 3 again");
	KT_CHECK(kt_pool_used_pages(&pool) == used0 + 3, "3 pages in use");
	r = kc_ulog(x.ino, x.generation, 0, "ULOG 0");
	KT_CHECK(r.freed == 3 && kt_pool_inode(&pool, x.ino)->ulog == 0, "ULOG 0: freed %" PRIu64,
		 (uint64_t)r.freed);
	r = kc_ulog(x.ino, x.generation, 0, "ULOG 0 of none");
	KT_CHECK(r.freed == 0, "ULOG 0 of none: freed %" PRIu64, (uint64_t)r.freed);
	KT_CHECK(kt_pool_used_pages(&pool) == used0, "pages left in use");
	/* a directory and a named file have U-Logs too (every opener) */
	d = kc_create(D_PUB, S_IFDIR | 0700, 0, S_IFDIR | 0700, "CREATE of a directory");
	kc_ulog(d.ino, d.generation, 2, "ULOG 2 of a directory");
	kc_ulog(kc_ids[F_FILE].ino, kc_ids[F_FILE].gen, 1, "ULOG 1 of /f");
	kc_ulog(kc_ids[F_FILE].ino, kc_ids[F_FILE].gen, 0, "ULOG 0 of /f");

	kc_ulog_bad_link(x.ino, x.generation);

	/* uid 65534: EBUSY while root maps the pool (X 0666: nothing else
	 * to refuse); then EACCES on X made 0600 */
	kc_nb_ino = x.ino;
	kc_nb_gen = x.generation;
	kc_chmod(x.ino, x.generation, 0666);
	before = kc_snap();
	kc_as_nobody(kc_nobody_busy, false, true, "ULOG and RELEASE while root maps the pool");
	kc_expect_unchanged(&before, "ULOG and RELEASE refused with EBUSY");
	kc_snap_free(&before);
	kc_chmod(x.ino, x.generation, 0600);
	before = kc_snap();
	kc_as_nobody(kc_nobody_ulog, false, false, "uid 65534's ULOG and RELEASE");
	/* what it did (CREATE, ULOG 2, 0, 1, RELEASE) leaves the pool as it was
	 * but for the inode's generation and the orphan list's head */
	{
		struct kc_snap m = kc_snap_copy(&before), got = kc_snap();
		uint64_t ino = 0;

		for (uint64_t i = 1; i < pool.sb->inode_count && !ino; i++)
			if (kc_in(&got, i)->generation != kc_in(&before, i)->generation)
				ino = i;
		KT_CHECK(ino && !kc_bit(before.ibm, ino), "uid 65534's inode not found");
		kc_in(&m, ino)->generation = kc_next_gen(kc_in(&before, ino)->generation);
		kc_expect(&m, "after uid 65534's CREATE, ULOG, RELEASE");
		kc_snap_free(&m);
		kc_snap_free(&got);
	}
	kc_snap_free(&before);
	printf("kmod-create: ulog: uid 65534: EBUSY while root maps the pool (ULOG, RELEASE), "
	       "EACCES on root's 0600 orphan (ULOG: read, RELEASE: write); its own orphan's "
	       "chain grown, dropped, released\n");
	kc_release_all("the phase's orphans");
	printf("kmod-create: ulog: chain 0 -> 1 -> 3 -> (2: no change) -> (3) -> 0 -> (0), each "
	       "page stamped, zeroed, linked, bits exact; directory, named file\n");
	s1 = kt_stats(kfd);
	KT_CHECK(s1.ulog_pages - s0.ulog_pages == kc_counts->ulog_pages,
		 "STATS ulog_pages +%" PRIu64 ", the calls allocated %" PRIu64,
		 (uint64_t)(s1.ulog_pages - s0.ulog_pages), kc_counts->ulog_pages);
	printf("kmod-create: ulog: STATS ulog_pages +%" PRIu64 " as allocated; %" PRIu64 " ms\n",
	       (uint64_t)(s1.ulog_pages - s0.ulog_pages), kt_ms_since(t0));
	KT_CHECK(kc_counts->release_write_only == 0, "uid 65534's RELEASE of its own orphan of "
		 "mode 0200: %s; the header needs write permission only",
		 strerror(-kc_counts->release_write_only));
	kt_pool_unmap(&pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* release                                                              */
/* ------------------------------------------------------------------ */

static int kc_release_phase(void)
{
	struct umfs_kmod_stats s0, s1;
	struct umfs_kmod_create o[4], re;
	uint64_t list[64], t0 = kt_now_ns();
	unsigned n;

	kc_start();
	s0 = kt_stats(kfd);
	for (int i = 0; i < 4; i++)
		o[i] = kc_create(i % 2 ? D_PUB : -1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE");
	n = kc_orphans(list, 64);
	KT_CHECK(n == 4 && list[0] == o[3].ino && list[1] == o[2].ino && list[2] == o[1].ino &&
		 list[3] == o[0].ino, "the orphan list: %u long", n);
	kc_ulog(o[2].ino, o[2].generation, 2, "ULOG 2 of the second orphan");
	kc_ulog(o[3].ino, o[3].generation, 1, "ULOG 1 of the head");
	/* the middle one (2 U-Log pages), then the head, the tail, the last */
	kc_release(o[2].ino, o[2].generation, "RELEASE in the middle of the list");
	n = kc_orphans(list, 64);
	KT_CHECK(n == 3 && list[0] == o[3].ino && list[1] == o[1].ino && list[2] == o[0].ino,
		 "the orphan list after the middle's RELEASE: %u long", n);
	kc_release(o[3].ino, o[3].generation, "RELEASE of the head");
	kc_release(o[0].ino, o[0].generation, "RELEASE of the tail");
	n = kc_orphans(list, 64);
	KT_CHECK(n == 1 && list[0] == o[1].ino, "the orphan list: %u long", n);
	kc_release(o[1].ino, o[1].generation, "RELEASE of the last");
	KT_CHECK(kc_orphans(list, 64) == 0, "the orphan list is not empty");
	/* the inode reused at once takes generation + 1 (the model checks it
	 * against the released inode's) */
	re = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE after the RELEASEs");
	printf("kmod-create: release: middle (2 U-Log pages), head (1), tail, last: list, bits, "
	       "zeroed inodes exact; the next CREATE took %" PRIu64 " generation %u\n", (uint64_t)re.ino,
	       re.generation);
	kc_release(re.ino, re.generation, "RELEASE");
	s1 = kt_stats(kfd);
	KT_CHECK(s1.creates - s0.creates == kc_counts->creates &&
		 s1.releases - s0.releases == kc_counts->releases &&
		 s1.ulog_pages - s0.ulog_pages == kc_counts->ulog_pages,
		 "STATS creates +%" PRIu64 " releases +%" PRIu64 " ulog_pages +%" PRIu64
		 ", the calls %" PRIu64 " %" PRIu64 " %" PRIu64, (uint64_t)(s1.creates - s0.creates),
		 (uint64_t)(s1.releases - s0.releases), (uint64_t)(s1.ulog_pages - s0.ulog_pages),
		 kc_counts->creates, kc_counts->releases, kc_counts->ulog_pages);
	printf("kmod-create: release: STATS creates +%" PRIu64 ", releases +%" PRIu64
	       "; %" PRIu64 " ms\n", kc_counts->creates, kc_counts->releases, kt_ms_since(t0));
	kt_pool_unmap(&pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* crash                                                                */
/* ------------------------------------------------------------------ */

/* The call being cut, and what it answered. */
static struct umfs_kmod_create kc_cut_create;
static struct umfs_kmod_release kc_cut_release;
static struct umfs_kmod_ulog kc_cut_ulog;
static uint64_t kc_cut_ino;
static uint32_t kc_cut_gen;
static unsigned kc_cut_pages;

static int kc_cut_create_call(void)
{
	kc_cut_create = kc_create_req(D_SG, S_IFDIR | 0750, 0);
	return kc_create_call(kfd, &kc_cut_create);
}

static void kc_cut_create_done(const struct kc_snap *before, const struct kc_heads *h)
{
	struct kc_snap m = kc_snap_copy(before), got = kc_snap();

	(void)h;
	kc_model_create(&m, &kc_cut_create, S_IFDIR | 02750, 0, KC_OTHER_GROUP, &got,
			"the cut CREATE");
	kc_expect(&m, "the cut CREATE, whole");
	kc_snap_free(&m);
	kc_snap_free(&got);
}

static int kc_cut_release_call(void)
{
	return kc_release_call(kfd, kc_cut_ino, kc_cut_gen, &kc_cut_release);
}

static void kc_cut_release_done(const struct kc_snap *before, const struct kc_heads *h)
{
	struct kc_snap m = kc_snap_copy(before);
	unsigned n = kc_model_release(&m, kc_cut_ino, h->off, h->n, "the cut RELEASE");

	KT_CHECK(kc_cut_release.ulog_freed == n && n == 2, "the cut RELEASE: ulog_freed %" PRIu64
		 ", the chain had %u", (uint64_t)kc_cut_release.ulog_freed, n);
	kc_expect(&m, "the cut RELEASE, whole");
	kc_snap_free(&m);
}

static int kc_cut_ulog_call(void)
{
	return kc_ulog_call(kfd, kc_cut_ino, kc_cut_gen, kc_cut_pages, &kc_cut_ulog);
}

static void kc_cut_ulog_done(const struct kc_snap *before, const struct kc_heads *h)
{
	struct kc_snap m = kc_snap_copy(before);

	kc_model_ulog(&m, kc_cut_ino, kc_cut_pages, h->off, h->n, &kc_cut_ulog, "the cut ULOG");
	kc_expect(&m, "the cut ULOG, whole");
	kc_snap_free(&m);
}

/*
 * The call cut before its nth record for n = 1, 2, ... and, with all its
 * records written, before its commit, as a power cut leaves it; UNMOUNT
 * and MOUNT must bring back the inode zone, both bitmaps, the state page
 * and the headers of the chain of heads_ino exactly. Ends when the call
 * runs whole (checked by done); returns the points it was cut at.
 */
static unsigned kc_cut_loop(const char *what, uint64_t heads_ino, int (*call)(void),
			    void (*done)(const struct kc_snap *, const struct kc_heads *))
{
	unsigned n;

	for (n = 1;; n++) {
		struct kc_snap before = kc_snap();
		struct kc_heads h = kc_heads(heads_ino);
		char w[128];
		int err;

		KT_CHECK(n < 100, "%s never completed", what);
		kt_set_tx_stop(n);
		err = call();
		kt_set_tx_stop(0);
		if (!err) {
			done(&before, &h);
			kc_snap_free(&before);
			break;
		}
		KT_CHECK(err == -EINTR, "%s cut at %u: %s", what, n, strerror(-err));
		if (n > 1) {
			/* the slot is left active: calls are refused until MOUNT */
			struct umfs_kmod_create c = kc_create_req(-1, S_IFREG | 0644, 0);

			KT_EXPECT(kc_create_call(kfd, &c), -EUCLEAN);
		}
		kt_pool_unmap(&pool);
		KT_EXPECT(umfs_kmod_unmount(kfd), 0);
		KT_EXPECT(umfs_kmod_mount(kfd, dev, NULL), 0);
		pool = kt_pool_map(kfd, PROT_READ | PROT_WRITE);
		snprintf(w, sizeof(w), "%s cut at %u, after MOUNT", what, n);
		kc_expect(&before, w);
		kc_heads_expect(&h, w);
		kc_snap_free(&before);
	}
	return n - 1;
}

static int kc_crash_phase(void)
{
	struct umfs_kmod_stats s0, s1;
	struct umfs_kmod_create p, q, r, x;
	unsigned cuts[4];
	uint64_t list[8], t0 = kt_now_ns();

	kc_start();
	s0 = kt_stats(kfd);
	cuts[0] = kc_cut_loop("CREATE", 0, kc_cut_create_call, kc_cut_create_done);

	x = kc_create(D_PUB, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of X");
	kc_ulog(x.ino, x.generation, 1, "ULOG 1 of X");
	kc_cut_ino = x.ino;
	kc_cut_gen = x.generation;
	kc_cut_pages = 3;
	cuts[1] = kc_cut_loop("ULOG 1 -> 3", x.ino, kc_cut_ulog_call, kc_cut_ulog_done);
	kc_cut_pages = 0;
	cuts[2] = kc_cut_loop("ULOG 3 -> 0", x.ino, kc_cut_ulog_call, kc_cut_ulog_done);

	p = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of P");
	q = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of Q");
	kc_ulog(q.ino, q.generation, 2, "ULOG 2 of Q");
	r = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of R");
	KT_CHECK(kc_orphans(list, 8) >= 3 && list[0] == r.ino && list[1] == q.ino &&
		 list[2] == p.ino, "the orphan list: R, Q, P");
	kc_cut_ino = q.ino;
	kc_cut_gen = q.generation;
	cuts[3] = kc_cut_loop("RELEASE of Q (the middle, 2 U-Log pages)", q.ino,
			      kc_cut_release_call, kc_cut_release_done);
	kc_release_all("the phase's orphans");
	s1 = kt_stats(kfd);
	KT_CHECK(s1.creates - s0.creates == kc_counts->creates &&
		 s1.releases - s0.releases == kc_counts->releases &&
		 s1.ulog_pages - s0.ulog_pages == kc_counts->ulog_pages,
		 "STATS creates +%" PRIu64 " releases +%" PRIu64 " ulog_pages +%" PRIu64
		 ", the calls that committed %" PRIu64 " %" PRIu64 " %" PRIu64 " (cut ones must "
		 "not count)", (uint64_t)(s1.creates - s0.creates),
		 (uint64_t)(s1.releases - s0.releases), (uint64_t)(s1.ulog_pages - s0.ulog_pages),
		 kc_counts->creates, kc_counts->releases, kc_counts->ulog_pages);
	printf("kmod-create: crash: CREATE cut at %u points, ULOG 1 -> 3 at %u, ULOG 3 -> 0 at %u, "
	       "RELEASE at %u (each: its records and its commit); MOUNT gave back inode zone, "
	       "bitmaps, state page, U-Log headers exactly; STATS count only the whole calls; "
	       "%" PRIu64 " ms\n", cuts[0], cuts[1], cuts[2], cuts[3], kt_ms_since(t0));
	KT_CHECK(cuts[0] >= 2 && cuts[1] >= 2 && cuts[2] >= 2 && cuts[3] >= 2,
		 "a call was cut at fewer than 2 points: it wrote no record");
	kt_pool_unmap(&pool);
	return 0;
}

/* ------------------------------------------------------------------ */
/* enospc                                                               */
/* ------------------------------------------------------------------ */

static int kc_enospc_phase(void)
{
	struct umfs_kmod_create c, again;
	uint64_t nfree = 0, mid = 0, t0 = kt_now_ns();
	uint32_t midgen = 0;
	unsigned released;

	kc_start();
	for (uint64_t i = UMFS_ROOT_INO; i < pool.sb->inode_count; i++)
		nfree += !kt_pool_ino_used(&pool, i);
	KT_CHECK(nfree <= 4096, "%" PRIu64 " free inodes: mkfs.umfs -N a few hundred for this",
		 nfree);
	for (uint64_t i = 0; i < nfree; i++) {
		c = kc_create(i % 2 ? D_PUB : -1, S_IFREG | 0600, 0, S_IFREG | 0600, "filling");
		if (i == nfree / 2) {
			mid = c.ino;
			midgen = c.generation;
		}
	}
	c = kc_create_req(D_PUB, S_IFREG | 0644, 0);
	KC_REFUSED(kc_create_with(c), -ENOSPC, "CREATE with the inode bitmap full");
	c = kc_create_req(-1, S_IFDIR | 0755, 0);
	KC_REFUSED(kc_create_with(c), -ENOSPC, "CREATE of a directory with the bitmap full");
	kc_release(mid, midgen, "RELEASE of one");
	again = kc_create(-1, S_IFREG | 0644, 0, S_IFREG | 0644, "CREATE of the only free inode");
	KT_CHECK(again.ino == mid && again.generation == kc_next_gen(midgen),
		 "the only free inode was %" PRIu64 " generation %u: CREATE gave %" PRIu64 " %u",
		 mid, midgen, (uint64_t)again.ino, again.generation);
	c = kc_create_req(-1, S_IFREG | 0644, 0);
	KC_REFUSED(kc_create_with(c), -ENOSPC, "CREATE with the inode bitmap full again");
	released = kc_release_all("emptying");
	KT_CHECK(released == nfree, "released %u of %" PRIu64, released, nfree);
	printf("kmod-create: enospc: %" PRIu64 " CREATEs filled the inode bitmap (inode_count %"
	       PRIu64 "), ENOSPC x3 with the pool unchanged; inode %" PRIu64 " reused at generation "
	       "%u; all released; %" PRIu64 " ms\n", nfree, (uint64_t)pool.sb->inode_count, mid,
	       again.generation, kt_ms_since(t0));
	kt_pool_unmap(&pool);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*run)(void); } modes[] = {
		{ "setup", kc_setup }, { "create", kc_create_phase }, { "refuse", kc_refuse_phase },
		{ "ulog", kc_ulog_phase }, { "release", kc_release_phase },
		{ "crash", kc_crash_phase }, { "enospc", kc_enospc_phase },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_name = "kmod-create";
	if (argc == 3) {
		dev = argv[2];
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(argv[1], modes[i].name))
				return modes[i].run();
	}
	fprintf(stderr, "usage: kmod-create setup|create|refuse|ulog|release|crash|enospc DEV\n");
	return 2;
}
