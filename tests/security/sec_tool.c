/* SPDX-License-Identifier: MIT */
/*
 * sec_tool.c - the corruption test's pool work (corruption.sh drives it).
 *
 *   sec_tool populate POOL        the populated tree, through the C API
 *   sec_tool corrupt POOL SEED    damages POOL's metadata at random
 *                                 (reproducibly from SEED), gives it a
 *                                 fresh UUID, and says what it changed
 *   sec_tool judge SOUND TRIAL FSCK-OUTPUT
 *                                 compares a listing (sec_walk) of a damaged
 *                                 pool with the sound pool's, and prints the
 *                                 verdict (see judge())
 *
 * What corrupt damages: the pool's metadata below the superblock (which
 * mount validates on its own) and outside the journal and state page
 * (which recovery owns): live inodes, anywhere in the inode zone, the
 * inode bitmap, directory entry blocks, hash buckets and bucket maps, the
 * page tables of directories. One to four changes per trial, each a bit
 * flipped, a byte or an aligned 8-byte word written at random, or a word
 * zeroed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "sec_tool: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

#define TRY(expr)                                  \
	do {                                       \
		int err_ = (int)(expr);            \
		if (err_ < 0)                      \
			die(#expr, err_);          \
	} while (0)

/* ------------------------------------------------------------------ */
/* populate                                                             */
/* ------------------------------------------------------------------ */

static struct umfs_fs *pfs;

static void dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	TRY(umfs_mkdir(pfs, path, mode));
	TRY(umfs_chmod(pfs, path, mode, 0)); /* the umask of mkdir aside */
	TRY(umfs_chown(pfs, path, uid, gid, 0));
}

/* chown drops setuid and setgid: the mode goes last. */
static void file(const char *path, mode_t mode, uid_t uid, gid_t gid, size_t size)
{
	static char buf[64 << 10];
	struct umfs_file *f;

	TRY(umfs_open(pfs, path, O_CREAT | O_EXCL | O_WRONLY, 0600, &f));
	for (size_t done = 0; done < size;) {
		size_t n = UMFS_MIN(sizeof(buf), size - done);

		memset(buf, 'a' + (int)(done / sizeof(buf)) % 26, n);
		TRY(umfs_write(f, buf, n));
		done += n;
	}
	TRY(umfs_close(f));
	TRY(umfs_chown(pfs, path, uid, gid, 0));
	TRY(umfs_chmod(pfs, path, mode, 0));
}

static void node(const char *path, mode_t mode, dev_t dev, uid_t uid, gid_t gid)
{
	TRY(umfs_mknod(pfs, path, mode, dev));
	TRY(umfs_chown(pfs, path, uid, gid, AT_SYMLINK_NOFOLLOW));
	TRY(umfs_chmod(pfs, path, mode & 07777, 0));
}

static void link_sym(const char *target, const char *path, uid_t uid, gid_t gid)
{
	TRY(umfs_symlink(pfs, target, path));
	TRY(umfs_chown(pfs, path, uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int populate(const char *pool)
{
	static const mode_t modes[] = { 0600, 0640, 0644, 0755, 04711, 02755, 0444, 0700 };
	static const uid_t owners[] = { 0, 1000, 1001, 65534, 33 };
	static const gid_t groups[] = { 0, 100, 1000, 65534, 5, 42 };
	struct umfs_file *f;
	char path[64];

	TRY(umfs_mount(pool, 0, &pfs));
	dir("/bin", 0755, 0, 0);
	file("/bin/su", 04755, 0, 0, 100);
	file("/bin/wall", 02755, 0, 5, 200);
	file("/bin/ls", 0755, 0, 0, 5000);
	link_sym("ls", "/bin/sh", 0, 0);
	dir("/etc", 0755, 0, 0);
	file("/etc/passwd", 0644, 0, 0, 900);
	file("/etc/shadow", 0640, 0, 42, 700);
	file("/etc/sudoers", 0440, 0, 0, 300);
	dir("/home", 0755, 0, 0);
	dir("/home/alice", 0700, 1000, 1000);
	file("/home/alice/notes", 0600, 1000, 1000, 12345);
	file("/home/alice/.profile", 0644, 1000, 1000, 80);
	file("/home/alice/big", 0640, 1000, 100, 6 << 20);
	link_sym("notes", "/home/alice/notes.link", 1000, 1000);
	TRY(umfs_link(pfs, "/home/alice/notes", "/home/alice/notes.hard"));
	file("/home/alice/sparse", 0644, 1000, 1000, 0);
	TRY(umfs_open(pfs, "/home/alice/sparse", O_WRONLY, 0, &f));
	TRY(umfs_ftruncate(f, 1ll << 30));
	TRY(umfs_close(f));
	dir("/home/bob", 0750, 1001, 1001);
	dir("/home/bob/a", 0755, 1001, 1001);
	dir("/home/bob/a/b", 0700, 1001, 100);
	dir("/home/bob/a/b/c", 0711, 1001, 1001);
	dir("/home/bob/a/b/c/d", 0555, 0, 1001);
	file("/home/bob/a/f", 0444, 1001, 1001, 10);
	file("/home/bob/a/b/f", 0664, 1001, 100, 20);
	file("/home/bob/a/b/c/f", 0700, 1001, 1001, 30);
	file("/home/bob/a/b/c/d/f", 0640, 0, 1001, 40);
	TRY(umfs_link(pfs, "/home/bob/a/b/c/d/f", "/home/bob/a/hard"));
	node("/home/bob/mail.fifo", S_IFIFO | 0620, 0, 1001, 8);
	dir("/tmp", 01777, 0, 0);
	file("/tmp/x", 0666, 65534, 65534, 1);
	file("/tmp/y", 02664, 1000, 100, 2);
	node("/tmp/sock", S_IFSOCK | 0755, 0, 1000, 1000);
	dir("/dev", 0755, 0, 0);
	node("/dev/null", S_IFCHR | 0666, makedev(1, 3), 0, 0);
	node("/dev/sda", S_IFBLK | 0660, makedev(8, 0), 0, 6);
	link_sym("/etc/passwd", "/abs", 0, 0);
	link_sym("nowhere/at/all", "/dangling", 1001, 1001);
	dir("/srv", 0755, 0, 0);
	dir("/srv/shared", 02775, 0, 100);
	file("/srv/shared/alpha", 0664, 1000, 100, 64);
	file("/srv/shared/beta", 0664, 1001, 100, 128);
	dir("/srv/shared/sub", 02775, 1000, 100);
	/* a directory of three entry blocks: hashed, with buckets and a map */
	dir("/srv/many", 0755, 0, 0);
	for (unsigned i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/srv/many/f%03u", i);
		file(path, modes[i % 8], owners[i % 5], groups[i % 6], i % 3 ? 10 : 5000);
	}
	TRY(umfs_unmount(pfs));
	return 0;
}

/* ------------------------------------------------------------------ */
/* corrupt                                                              */
/* ------------------------------------------------------------------ */

/* libc's 48-bit generator: the same sequence for a seed everywhere. */
static unsigned short rng[3];

static uint64_t rnd(void)
{
	return (uint64_t)jrand48(rng) << 32 ^ (uint32_t)jrand48(rng);
}

enum region_kind { R_INODE, R_IZONE, R_IBITMAP, R_DIRBLOCK, R_INDEX, R_DIRTABLE, R_KINDS };

static const char *const region_name[] = {
	"live inode", "inode zone", "inode bitmap", "directory block", "directory index",
	"directory page table",
};

/* Weights in percent: where damage is most likely to reach a listing. */
static const unsigned region_weight[R_KINDS] = { 40, 10, 5, 25, 12, 8 };

struct region {
	uint64_t off, len;
	uint64_t ino; /* its inode, 0 if none */
	enum region_kind kind;
};

static struct region *regions;
static size_t nregions, cap_regions;

static void region_add(enum region_kind kind, uint64_t ino, uint64_t off, uint64_t len)
{
	if (nregions == cap_regions) {
		cap_regions = cap_regions ? 2 * cap_regions : 256;
		regions = realloc(regions, cap_regions * sizeof(*regions));
		if (!regions)
			die("realloc", ENOMEM);
	}
	regions[nregions++] = (struct region){ off, len, ino, kind };
}

/* The table pages of a directory's tree, level by level. */
static void tables_add(struct umfs_fs *fs, uint64_t ino, uint64_t table, unsigned level)
{
	const uint64_t *e = umfs_off_ptr(fs, table);

	region_add(R_DIRTABLE, ino, table, UMFS_PAGE_SIZE);
	if (level < 2)
		return;
	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++)
		if ((e[i] & UMFS_PTE_PRESENT) && !(e[i] & UMFS_PTE_PSE))
			tables_add(fs, ino, umfs_pte_off(fs, e[i]), level - 1);
}

static void dir_regions(struct umfs_fs *fs, uint64_t ino)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t map_pages = in->dir.nbuckets ? UMFS_DIV_ROUND_UP(1ull << in->dir.gdepth, 1024) : 0;

	for (uint64_t pg = 0; pg < in->dir.nblocks; pg++)
		region_add(R_DIRBLOCK, ino, umfs_pt_offset(fs, in, pg, NULL), UMFS_PAGE_SIZE);
	for (uint64_t b = 0; b < in->dir.nbuckets; b++)
		region_add(R_INDEX, ino, umfs_pt_offset(fs, in, UMFS_DIR_BUCKET_PAGE0 + b, NULL),
			   UMFS_PAGE_SIZE);
	for (uint64_t m = 0; m < map_pages; m++)
		region_add(R_INDEX, ino, umfs_pt_offset(fs, in, UMFS_DIR_MAP_PAGE0 + m, NULL),
			   UMFS_PAGE_SIZE);
	if (in->pt_root && in->pt_height)
		tables_add(fs, ino, in->pt_root, in->pt_height);
}

static void regions_find(const char *pool)
{
	struct umfs_fs *fs;

	TRY(umfs_mount(pool, UMFS_MOUNT_RDONLY | UMFS_MOUNT_NORECOVER, &fs));
	region_add(R_IZONE, 0, fs->sb.inode_off, fs->inode_count * sizeof(struct umfs_inode));
	region_add(R_IBITMAP, 0, fs->sb.ibitmap_off, UMFS_DIV_ROUND_UP(fs->inode_count, 64) * 8);
	for (uint64_t ino = UMFS_ROOT_INO; ino < fs->inode_count; ino++) {
		if (!umfs_inode_live(fs, ino))
			continue;
		region_add(R_INODE, ino, fs->sb.inode_off + ino * sizeof(struct umfs_inode),
			   sizeof(struct umfs_inode));
		if (S_ISDIR(umfs_inode(fs, ino)->mode))
			dir_regions(fs, ino);
	}
	TRY(umfs_unmount(fs));
}

static const struct region *region_pick(void)
{
	unsigned w = (unsigned)(rnd() % 100), k = 0;
	size_t n = 0, pick;

	while (w >= region_weight[k]) /* the weights add up to 100 */
		w -= region_weight[k++];
	for (size_t i = 0; i < nregions; i++)
		n += regions[i].kind == k;
	pick = n ? rnd() % n : 0;
	for (size_t i = 0; i < nregions; i++)
		if (regions[i].kind == k && pick-- == 0)
			return &regions[i];
	return &regions[0]; /* no region of that kind: the inode zone */
}

static void superblock_reuuid(uint8_t *base, uint64_t backup_off)
{
	struct umfs_superblock *sb = (void *)base, *bk = (void *)(base + backup_off);

	for (int i = 0; i < 16; i++)
		sb->uuid[i] = (uint8_t)rnd();
	sb->uuid[6] = (sb->uuid[6] & 0x0f) | 0x40;
	sb->uuid[8] = (sb->uuid[8] & 0x3f) | 0x80;
	sb->csum = umfs_sb_csum(sb);
	memcpy(bk, sb, sizeof(*sb));
}

static int corrupt(const char *pool, uint64_t seed)
{
	struct umfs_superblock sb;
	unsigned changes;
	uint8_t *base;
	struct stat st;
	int fd;

	rng[0] = (unsigned short)seed;
	rng[1] = (unsigned short)(seed >> 16);
	rng[2] = (unsigned short)(seed >> 32);
	regions_find(pool);
	fd = open(pool, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(pool, errno);
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		die("mmap", errno);
	memcpy(&sb, base, sizeof(sb));
	superblock_reuuid(base, sb.backup_sb_off);
	changes = rnd() % 10 < 7 ? 1 : 2 + (unsigned)(rnd() % 3);
	for (unsigned c = 0; c < changes; c++) {
		const struct region *r = region_pick();
		uint64_t off = r->off + rnd() % r->len, word = off & ~7ull, val = rnd();
		unsigned how = (unsigned)(rnd() % 10);

		printf("%s", region_name[r->kind]);
		if (r->ino)
			printf(" (inode %" PRIu64 ")", r->ino);
		if (how < 4) {
			unsigned bit = (unsigned)(val % 8);

			printf(" +0x%" PRIx64 ": bit %u of 0x%02x flipped\n", off - r->off, bit,
			       base[off]);
			base[off] ^= (uint8_t)(1u << bit);
		} else if (how < 7) {
			printf(" +0x%" PRIx64 ": byte 0x%02x -> 0x%02x\n", off - r->off, base[off],
			       (uint8_t)val);
			base[off] = (uint8_t)val;
		} else {
			uint64_t old;

			if (how == 9)
				val = 0;
			memcpy(&old, base + word, 8);
			printf(" +0x%" PRIx64 ": word 0x%" PRIx64 " -> 0x%" PRIx64 "\n",
			       word - (r->off & ~(uint64_t)7), old, val);
			memcpy(base + word, &val, 8);
		}
	}
	if (msync(base, (size_t)st.st_size, MS_SYNC) < 0)
		die("msync", errno);
	munmap(base, (size_t)st.st_size);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* judge                                                                */
/* ------------------------------------------------------------------ */

struct entry {
	char *path;
	char kind[8];       /* "ok", "err", "dir-err" */
	char err[32];
	unsigned mode, uid, gid;
	long long size;
	unsigned long long ino;
};

struct listing {
	struct entry *e;
	size_t n;
};

static void listing_load(const char *file, struct listing *l)
{
	FILE *f = fopen(file, "r");
	char line[8192];
	size_t cap = 0;

	if (!f)
		die(file, errno);
	memset(l, 0, sizeof(*l));
	while (fgets(line, sizeof(line), f)) {
		char *tab1 = strchr(line, '\t'), *tab2;
		struct entry *e;

		if (!tab1 || !(tab2 = strchr(tab1 + 1, '\t')))
			continue;
		*tab1 = *tab2 = '\0';
		if (l->n == cap) {
			cap = cap ? 2 * cap : 512;
			l->e = realloc(l->e, cap * sizeof(*l->e));
			if (!l->e)
				die("realloc", ENOMEM);
		}
		e = &l->e[l->n++];
		memset(e, 0, sizeof(*e));
		e->path = strdup(line);
		snprintf(e->kind, sizeof(e->kind), "%s", tab1 + 1);
		if (!strcmp(e->kind, "ok"))
			sscanf(tab2 + 1, "%o %u %u %lld %llu", &e->mode, &e->uid, &e->gid, &e->size,
			       &e->ino);
		else
			sscanf(tab2 + 1, "%31s", e->err);
	}
	fclose(f);
}

static const struct entry *listing_find(const struct listing *l, const char *path,
					const char *kind)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].path, path) && (!kind || !strcmp(l->e[i].kind, kind)))
			return &l->e[i];
	return NULL;
}

/* True when fsck.umfs's report calls the size of inode ino wrong. */
static bool fsck_blames_size(const char *fsck_out, unsigned long long ino)
{
	FILE *f = fopen(fsck_out, "r");
	char line[1024], a[48], b[48];
	bool blamed = false;

	if (!f)
		return false;
	snprintf(a, sizeof(a), "inode %llu", ino);
	snprintf(b, sizeof(b), "directory %llu", ino);
	while (!blamed && fgets(line, sizeof(line), f)) {
		const char *hit = strstr(line, a) ? strstr(line, a) + strlen(a) :
				  strstr(line, b) ? strstr(line, b) + strlen(b) : NULL;

		blamed = hit && (*hit < '0' || *hit > '9') && strstr(line, "size");
	}
	fclose(f);
	return blamed;
}

static const struct entry *listing_find_ino(const struct listing *l, unsigned long long ino)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].kind, "ok") && l->e[i].ino == ino)
			return &l->e[i];
	return NULL;
}

/* The sound pool's path of what the trial shows at path: path itself,
 * unless an entry on the way names another inode than in the sound pool
 * (a redirected entry): from there on, that inode's sound path. NULL when
 * a component leads nowhere in the sound pool. */
static bool sound_path_of(const struct listing *s, const struct listing *t, const char *path,
			  char *real, size_t size)
{
	char prefix[8192] = "";
	const char *p = path;

	*real = '\0';
	if (!strcmp(path, ".")) {
		snprintf(real, size, ".");
		return true;
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		const struct entry *te, *se;
		char cand[8192];

		snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "%s%.*s",
			 *prefix ? "/" : "", (int)n, p);
		snprintf(cand, sizeof(cand), "%s%s%.*s", real, *real ? "/" : "", (int)n, p);
		te = listing_find(t, prefix, "ok");
		se = listing_find(s, cand, "ok");
		if (te && (!se || se->ino != te->ino))
			se = listing_find_ino(s, te->ino);
		if (!se && te)
			return false;
		snprintf(real, size, "%s", se ? se->path : cand);
		p += n;
		if (*p == '/')
			p++;
	}
	return listing_find(s, real, NULL) != NULL;
}

static bool refusal(const char *err)
{
	return !strcmp(err, "EUCLEAN") || !strcmp(err, "EIO");
}

/* The sound path (or a directory above it) was refused in the trial. */
static bool covered_by_refusal(const struct listing *t, const char *path)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		const struct entry *e = listing_find(t, p, "err");
		const struct entry *d = listing_find(t, p, "dir-err");
		char *slash;

		if ((e && refusal(e->err)) || (d && refusal(d->err)))
			return true;
		if (!strcmp(p, "."))
			return false;
		slash = strrchr(p, '/');
		if (slash)
			*slash = '\0';
		else
			strcpy(p, ".");
	}
}

/*
 * The verdict on a trial's listing, against the sound pool's:
 *   wrong      a listed path the sound pool does not have, or one whose
 *              type, mode, uid or gid differ, or whose size differs while
 *              fsck.umfs calls that inode's size wrong;
 *   redirected no wrong path, but an entry names another inode of the sound
 *              pool than the sound pool's entry does, and the path shows
 *              that inode's attributes (its type is the entry's: the
 *              serving path refuses other types), which the entry's check
 *              byte should have refused;
 *   refused    no wrong path, and some path or directory answered EUCLEAN
 *              or EIO (the damage was seen and said);
 *   incomplete no wrong path, no refusal, but sound paths are missing or
 *              failed with another error (lost from view, not misshown);
 *   correct    the same listing.
 * Sizes that differ where fsck.umfs finds nothing to say about them (a
 * regular file's size is not covered by the checksum, and any size up to
 * 512 GiB is valid) are counted apart.
 */
static int judge(const char *sound_file, const char *trial_file, const char *fsck_out)
{
	struct listing s, t;
	unsigned wrong = 0, refused = 0, missing = 0, sizes = 0, redirects = 0;

	listing_load(sound_file, &s);
	listing_load(trial_file, &t);
	for (size_t i = 0; i < t.n; i++) {
		const struct entry *e = &t.e[i], *ref;
		char real[8192];

		if (!sound_path_of(&s, &t, e->path, real, sizeof(real))) {
			printf("wrong: %s: listed, not in the sound pool (%s %s)\n", e->path, e->kind,
			       e->err);
			wrong++;
			continue;
		}
		if (strcmp(e->kind, "ok")) {
			if (refusal(e->err)) {
				refused++;
			} else {
				printf("missing: %s: %s %s\n", e->path, e->kind, e->err);
				missing++;
			}
			continue;
		}
		ref = listing_find(&s, real, "ok");
		if (e->mode != ref->mode || e->uid != ref->uid || e->gid != ref->gid) {
			printf("wrong: %s: mode %o uid %u gid %u, sound pool: mode %o uid %u gid %u\n",
			       e->path, e->mode, e->uid, e->gid, ref->mode, ref->uid, ref->gid);
			wrong++;
		} else if (e->size != ref->size && fsck_blames_size(fsck_out, e->ino)) {
			printf("wrong: %s: size %lld, sound pool %lld, and fsck.umfs calls it wrong\n",
			       e->path, e->size, ref->size);
			wrong++;
		} else if (strcmp(real, e->path)) {
			printf("redirected: %s: shows %s (inode %llu)\n", e->path, real, e->ino);
			redirects++;
		} else if (e->size != ref->size) {
			printf("size: %s: %lld, sound pool %lld (fsck.umfs: not wrong)\n", e->path,
			       e->size, ref->size);
			sizes++;
		}
	}
	for (size_t i = 0; i < s.n; i++) {
		if (listing_find(&t, s.e[i].path, NULL) || covered_by_refusal(&t, s.e[i].path))
			continue;
		printf("missing: %s: not listed\n", s.e[i].path);
		missing++;
	}
	printf("verdict: %s (wrong %u, redirected %u, refused %u, missing %u, sizes %u)\n",
	       wrong ? "wrong" : redirects ? "redirected" : refused ? "refused" :
	       missing ? "incomplete" : "correct",
	       wrong, redirects, refused, missing, sizes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "populate"))
		return populate(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "corrupt"))
		return corrupt(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "judge"))
		return judge(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: sec_tool populate POOL | corrupt POOL SEED | "
			"judge SOUND TRIAL FSCK-OUTPUT\n");
	return 2;
}
