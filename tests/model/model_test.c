/* SPDX-License-Identifier: MIT */
/*
 * model_test.c - model-based randomized test of the UMFS core.
 *
 * A seeded random sequence of file system operations is applied both to a
 * UMFS pool (through include/umfs.h) and to a reference directory on tmpfs
 * (through the kernel's system calls). After every step the two must agree:
 * return values and errno exactly, bytes read, the stat attributes POSIX
 * defines, directory listings, symlink targets, which names share an inode,
 * and the state of every open file. Every few thousand steps all files are
 * closed, the pool is unmounted and mounted again, and the whole tree is
 * compared including file contents. At the end everything is removed and
 * the pool must be back to its free page and inode counts (no leaks).
 *
 * The namespace is small on purpose (six names, four of one letter and two
 * of 100 and 255 bytes, parents at most two levels deep) so that operations collide and error paths are taken often. Errnos
 * must be equal, except where two error conditions hold at once and POSIX
 * does not rank them (see tolerated()): those are counted and listed.
 * Runs as root (exit 77, "skipped", otherwise).
 *
 * usage: model_test [--ops N] [--seed S] [--pool PATH] [--size MiB]
 *                   [--checkpoint N] [--fsck PATH] [--trace] [--trace-from N]
 *                   [--strict] [--keep] [--allow OP:EUMFS:EREF]...
 *                   [--skip mtime,empty-write,slash]
 *
 * Compared for every name and open file: st_mode (type and permission
 * bits), st_nlink, st_uid, st_gid, st_size (not for directories), st_mtime
 * (see below), readdir names and d_type, readlink, the file offset.
 * Not compared, and why:
 *  - st_ino, st_dev: numbering is each file system's own; instead the
 *    relation "these names and open files share an inode" must match.
 *  - st_blocks: allocation granularity differs (UMFS counts page-table
 *    pages and may use 2 MiB leaves).
 *  - st_size of directories: POSIX leaves it unspecified.
 *  - st_atime: depends on the atime policy (tmpfs: relatime).
 *  - st_ctime: always "now" on both sides, read from one clock at two
 *    different instants. st_mtime likewise, except that utimens sets it
 *    to values before 2001 here: such a "set" mtime must be equal on both
 *    sides, and an mtime that an operation moved to "now" must have moved
 *    on both sides. After an ftruncate to the same size or a fallocate the
 *    mtime of that inode is not compared until utimens sets it again
 *    (Linux updates it; POSIX does not require it).
 *  - st_blksize: a hint.
 *  - SEEK_DATA/SEEK_HOLE positions: POSIX lets a file system report any
 *    range as data. UMFS's answer must be right about the reference's
 *    contents (no data skipped, a reported hole reads as zeros), and the
 *    reference's file offset is then moved to UMFS's answer.
 * Operations left out, and why:
 *  - pwrite on O_APPEND files: Linux appends (a documented bug in
 *    pwrite(2)); POSIX says write at the offset.
 *  - O_TRUNC with O_RDONLY, O_CREAT with O_DIRECTORY: unspecified by POSIX.
 *  - lseek on directories: directory offsets are not defined by POSIX.
 *  - setuid/setgid mode bits: Linux clears them on write and chown and
 *    inherits setgid on directories, policies outside POSIX.
 *  - utimens with both times UTIME_OMIT: Linux returns early (see BUGS in
 *    utimensat(2)).
 *  - chmod with AT_SYMLINK_NOFOLLOW: Linux refuses it (EOPNOTSUPP).
 *  - offsets and sizes beyond 64 GiB: UMFS stops at 512 GiB, tmpfs does not
 *    (the unit tests cover EFBIG).
 *  - symlink targets with ".", ".." or a leading "/": they could resolve
 *    outside the reference directory.
 *  - mknod: FIFOs would block the reference's open().
 *  - a trailing slash after a symlink ("link/"): POSIX resolves the link,
 *    Linux acts on the link itself (rmdir("link/") is ENOTDIR on Linux,
 *    removes the target directory under POSIX).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define PLEN 4096            /* longest path the model builds */
#define TLEN 1024            /* longest symlink target it builds */
#define MAX_HANDLES 8        /* open files at once */
#define MAX_ENTRIES 2048     /* names in the tree */
#define MAX_IO (4 * MiB + 64 * KiB) /* the longest read or write, and some */
#define FAR_LIMIT (64 * GiB) /* no offset or size beyond (see above) */
#define SET_TIME_LIMIT 1000000000 /* utimens sets times before this (2001) */
#define MAX_DEPTH 32
#define REF_BUDGET (96 * MiB) /* reference data kept below this */

extern char **environ;

/* Short names collide; long ones take several directory slots each. */
static char name_100[101], name_255[256], name_256[257];
static const char *const names[] = { "a", "b", "c", "d", name_100, name_255 };

struct handle {
	bool used;
	bool is_dir;
	struct umfs_file *uf;
	int fd;     /* the reference's descriptor */
	int rfd;    /* a read-only reopen of it, for checks (-1: directory) */
	int flags;
	char path[PLEN]; /* where it was opened, for messages */
};

struct entry {
	char path[PLEN]; /* relative to the root, "" for the root */
	int depth;
	size_t first_child, nchild; /* directories: their names in entries[] */
	struct stat rst;            /* reference lstat */
	char target[TLEN];          /* symlinks: the reference's target */
	ssize_t target_len;
};

struct name_ent {
	char name[256];
	unsigned char type;
};

/* Options */
static uint64_t opt_ops = 10000, opt_seed, opt_size_mib = 512;
static unsigned long opt_checkpoint = 5000, opt_trace_from = ULONG_MAX;
static const char *opt_pool, *opt_fsck;
static bool opt_keep;
/* --skip: leave out a kind of check or operation, to look past a known bug
 * while it is being fixed (never in the registered test). */
static bool skip_mtime, skip_empty_write, skip_slash;

/* State */
static char cmdline[1024];    /* the options that shape the run, for "reproduce" */
static uint64_t rng;
static unsigned long step;   /* operations done */
static char desc[1024];      /* the operation in progress */
static int cur_op;
static const char *cur_args[2]; /* its path arguments (for tolerances) */
static int cur_flags;            /* its open or rename flags */
static bool ref_dirty = true;    /* the reference may have changed: walk it again */
static struct umfs_fs *fs;
static char pool_path[PATH_MAX], base_dir[PATH_MAX], ref_root[PATH_MAX];
static int ref_dir = -1;
static struct handle handles[MAX_HANDLES];
static struct entry *entries; /* the tree as of the last walk, sorted */
static size_t nentries;
static uint64_t ref_bytes;    /* reference data bytes as of the last walk */
static uint8_t *wbuf, *ubuf, *rbuf;

/* Reference inodes whose mtime is not compared (see the header). */
static ino_t amb_ino[256];
static size_t namb;

/* Which UMFS inode each reference inode is, rebuilt by every walk. */
static struct ino_pair {
	ino_t r, u;
} *imap;
static size_t nimap;

/* Per operation: how often it ran and how often it failed (on both sides). */
enum op {
	OP_OPEN, OP_CLOSE, OP_WRITE, OP_READ, OP_LSEEK, OP_FTRUNCATE, OP_FALLOCATE,
	OP_FSYNC, OP_FSTAT, OP_TRUNCATE, OP_MKDIR, OP_RMDIR, OP_UNLINK, OP_RENAME,
	OP_LINK, OP_SYMLINK, OP_READLINK, OP_CHMOD, OP_CHOWN, OP_UTIMENS, OP_STAT,
	OP_ACCESS, OP_OPENDIR, OP_SHRINK, OP_NR
};
static unsigned long op_runs[OP_NR], op_errs[OP_NR];

/* ------------------------------------------------------------------ */
/* Reporting                                                            */
/* ------------------------------------------------------------------ */

static const char *fmt_ret(long long v, char *buf, size_t len)
{
	if (v >= 0)
		snprintf(buf, len, "%lld", v);
	else
		snprintf(buf, len, "-%s", strerrorname_np((int)-v) ?: "?");
	return buf;
}

static void remove_scratch(void);

static void __attribute__((noreturn, format(printf, 1, 2))) mismatch(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "\nMISMATCH seed=%" PRIu64 " step=%lu\n  op: %s\n  ", opt_seed, step,
		desc);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  reproduce: %s --seed %" PRIu64 " --ops %lu --trace-from %lu\n",
		cmdline, opt_seed, step + 1, step > 30 ? step - 30 : 0);
	if (opt_keep) {
		fprintf(stderr, "  pool kept at %s, reference tree at %s\n", pool_path, ref_root);
	} else {
		fprintf(stderr, "  (--keep keeps the pool and the reference tree)\n");
		remove_scratch();
	}
	printf("model: %lu passed, 1 failed\n", step);
	exit(1);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "model: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (!opt_keep)
		remove_scratch();
	exit(2);
}

/* The path arguments of the operation in progress (for tolerances). */
static void set_args(const char *a, const char *b)
{
	cur_args[0] = a;
	cur_args[1] = b;
	cur_flags = 0;
}

static void __attribute__((format(printf, 1, 2))) set_desc(const char *fmt, ...)
{
	va_list ap;

	set_args(NULL, NULL);
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	if (step >= opt_trace_from)
		printf("[%lu] %s\n", step, desc);
}

/*
 * Where more than one error condition holds, POSIX does not say which one
 * is reported, and Linux's order is an accident of its code (for example,
 * rename resolves both parent directories before it looks up the source;
 * a trailing slash makes POSIX follow a symlink where Linux does not).
 * When both sides fail with different errnos, UMFS's errno is accepted if
 * its condition demonstrably holds in the reference tree (probed with
 * lstat/stat after the fact: both failed, so nothing changed). Each such
 * pair is counted and listed at the end; --strict stops on them instead.
 */
static bool opt_strict;

/* lstat (follow=false) or stat of a model path in the reference. */
static int ref_probe(const char *p, bool follow, struct stat *st)
{
	return fstatat(ref_dir, *p ? p : ".", st, follow ? 0 : AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool is_dot_name(const char *a)
{
	return !strcmp(a, ".") || !strcmp(a, "..") || ends_with(a, "/.") || ends_with(a, "/..") ||
	       ends_with(a, "/./") || ends_with(a, "/../");
}

/* Argument i names something the operation creates (may be missing). */
static bool creates(int i)
{
	switch (cur_op) {
	case OP_MKDIR:
	case OP_SYMLINK:
		return i == 0;
	case OP_OPEN:
		return i == 0 && (cur_flags & O_CREAT);
	case OP_LINK:
		return i == 1;
	case OP_RENAME:
		return i == 1 && !(cur_flags & RENAME_EXCHANGE);
	default:
		return false;
	}
}

/* Argument i must not exist (EEXIST) for the operation to succeed. */
static bool must_be_new(int i)
{
	switch (cur_op) {
	case OP_MKDIR:
	case OP_SYMLINK:
		return i == 0;
	case OP_OPEN:
		return i == 0 && (cur_flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	case OP_LINK:
		return i == 1;
	case OP_RENAME:
		return i == 1 && (cur_flags & RENAME_NOREPLACE);
	default:
		return false;
	}
}

static bool dir_nonempty(const char *a)
{
	int fd = openat(ref_dir, *a ? a : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/* A component longer than NAME_MAX in the path? */
static bool has_long_name(const char *a)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, "/");

		if (n > 255)
			return true;
		p += n;
		p += *p == '/';
	}
	return false;
}

/* Does the condition that err reports hold for some argument? */
static bool errno_applies(int err)
{
	for (int i = 0; i < 2; i++) {
		const char *a = cur_args[i];
		struct stat ls, fs_;
		int l, f;
		bool slash;

		if (!a)
			continue;
		l = ref_probe(a, false, &ls);
		f = ref_probe(a, true, &fs_);
		slash = ends_with(a, "/");
		switch (err) {
		case ENOENT:
			if (l == -ENOENT && !creates(i))
				return true;
			if (l == -ENOENT) { /* a missing directory on the way? */
				char parent[PLEN];
				size_t n = strlen(a);

				while (n > 0 && a[n - 1] == '/')
					n--;
				while (n > 0 && a[n - 1] != '/')
					n--;
				snprintf(parent, sizeof(parent), "%.*s", (int)n, a);
				if (ref_probe(parent, true, &fs_) == -ENOENT)
					return true;
			}
			if (f == -ENOENT && (slash || cur_op != OP_RENAME))
				return true; /* a dangling symlink, followed */
			break;
		case ENOTDIR:
			if (l == -ENOTDIR || f == -ENOTDIR)
				return true;
			if (slash && l == 0 && (f != 0 || !S_ISDIR(fs_.st_mode)))
				return true;
			if (l == 0 && f == 0 && !S_ISDIR(fs_.st_mode) &&
			    (cur_op == OP_RMDIR || cur_op == OP_OPENDIR || cur_op == OP_RENAME ||
			     (cur_op == OP_OPEN && (cur_flags & O_DIRECTORY))))
				return true;
			break;
		case EEXIST: {
			char bare[PLEN];
			size_t n = strlen(a);

			while (n > 1 && a[n - 1] == '/')
				n--;
			snprintf(bare, sizeof(bare), "%.*s", (int)n, a);
			if (must_be_new(i) && ref_probe(bare, false, &ls) == 0)
				return true;
			break;
		}
		case EISDIR:
			if ((l == 0 && S_ISDIR(ls.st_mode)) || (f == 0 && S_ISDIR(fs_.st_mode)))
				return true;
			if (slash && cur_op == OP_OPEN && (cur_flags & O_CREAT))
				return true;
			break;
		case ELOOP:
			if (l == -ELOOP || f == -ELOOP)
				return true;
			if (l == 0 && S_ISLNK(ls.st_mode) && cur_op == OP_OPEN &&
			    (cur_flags & O_NOFOLLOW))
				return true;
			break;
		case EBUSY:
		case EINVAL:
			if (is_dot_name(a) || (l == 0 && ls.st_ino == entries[0].rst.st_ino))
				return true;
			break;
		case EPERM:
			if (cur_op == OP_LINK && i == 0 && l == 0 && S_ISDIR(ls.st_mode))
				return true;
			break;
		case ENOTEMPTY:
			if (l == 0 && S_ISDIR(ls.st_mode) && dir_nonempty(a))
				return true;
			break;
		case ENAMETOOLONG:
			/* a name longer than NAME_MAX, or (POSIX) an expansion
			 * of symlinks longer than PATH_MAX: a loop of links with
			 * long names grows one before it is followed SYMLOOP_MAX
			 * times */
			if (has_long_name(a) || l == -ELOOP || f == -ELOOP)
				return true;
			break;
		}
	}
	return false;
}

static struct tolerated_pair {
	int op, umfs_err, ref_err;
	unsigned long seen;
} pairs[64];
static size_t npairs;

/* --allow OP:EUMFS:EREF: a known difference, to look past it while it is
 * being fixed (never in the registered test). */
static struct tolerated_pair allowed[16];
static size_t nallowed;

static bool tolerated(long long u, long long r)
{
	size_t i;

	if (u >= 0 || r >= 0)
		return false;
	for (i = 0; i < nallowed; i++) {
		if (allowed[i].op == cur_op && -allowed[i].umfs_err == u &&
		    -allowed[i].ref_err == r) {
			allowed[i].seen++;
			return true;
		}
	}
	if (opt_strict || !errno_applies((int)-u))
		return false;
	for (i = 0; i < npairs; i++)
		if (pairs[i].op == cur_op && -pairs[i].umfs_err == u && -pairs[i].ref_err == r)
			break;
	if (i == npairs && npairs < UMFS_ARRAY_SIZE(pairs))
		pairs[npairs++] = (struct tolerated_pair){ cur_op, (int)-u, (int)-r, 0 };
	if (i < npairs)
		pairs[i].seen++;
	return true;
}

static bool mutates(int op)
{
	switch (op) {
	case OP_READ:
	case OP_LSEEK:
	case OP_FSTAT:
	case OP_FSYNC:
	case OP_STAT:
	case OP_ACCESS:
	case OP_READLINK:
	case OP_OPENDIR:
		return false;
	default:
		return true;
	}
}

/* The main result of an operation: UMFS and the reference must agree. */
static void result(const char *what, long long u, long long r)
{
	char a[64], b[64];

	if (r < 0)
		op_errs[cur_op]++;
	else if (mutates(cur_op))
		ref_dirty = true;
	if (u != r && !tolerated(u, r))
		mismatch("%s: umfs %s, reference %s", what, fmt_ret(u, a, sizeof(a)),
			 fmt_ret(r, b, sizeof(b)));
	if (step >= opt_trace_from)
		printf("      -> %s\n", fmt_ret(r, a, sizeof(a)));
}

/* A reference system call's result in the API's convention. */
static long long sys(long long ret)
{
	return ret < 0 ? -errno : ret;
}

/* ------------------------------------------------------------------ */
/* Random choices                                                        */
/* ------------------------------------------------------------------ */

static uint64_t rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

static void fill(uint8_t *buf, size_t len)
{
	uint64_t s = rnd64() | 1;
	size_t i = 0;

	if (len > MAX_IO)
		fatal("write of %zu bytes: more than MAX_IO", len);
	switch (rnd(20)) {
	case 0: /* zeros are data too */
		memset(buf, 0, len);
		return;
	case 1:
		memset(buf, (int)(s & 0xff), len);
		return;
	}
	for (; i + 8 <= len; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(buf + i, &s, 8);
	}
	for (; i < len; i++)
		buf[i] = (uint8_t)(s >> (8 * (i & 7)));
}

static size_t gen_len(void)
{
	unsigned r = rnd(100);

	if (r < 3)
		return skip_empty_write ? 1 : 0;
	if (r < 50)
		return 1 + rnd(512);
	if (r < 75)
		return 1 + rnd(16 * KiB);
	if (r < 85)
		return 4096 * (1 + rnd(8));
	if (r < 90)
		return 2 * MiB * (1 + rnd(2)); /* whole 2 MiB leaves */
	return 1 + rnd(3 * MiB);
}

static int64_t clamp0(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* An offset near something interesting: the data, the end, a page or
 * 2 MiB boundary, or far out. */
static int64_t gen_offset(uint64_t size)
{
	static const uint64_t far[] = { 1 * GiB, 3 * GiB, 16 * GiB, 63 * GiB };
	unsigned r = rnd(100);

	if (size > FAR_LIMIT)
		size = FAR_LIMIT;
	if (r < 30)
		return (int64_t)rnd(size + 8192);
	if (r < 45)
		return (int64_t)size;
	if (r < 60)
		return clamp0((int64_t)(4096 * rnd(64)) + (int64_t)rnd(17) - 8);
	if (r < 68)
		return (int64_t)(2 * MiB * (1 + rnd(3))) + (int64_t)rnd(8192) - 4096;
	if (r < 78)
		return (int64_t)(2 * MiB * rnd(4)); /* a 2 MiB leaf boundary exactly */
	if (r < 93)
		return (int64_t)rnd(8 * MiB);
	return (int64_t)far[rnd(UMFS_ARRAY_SIZE(far))] + (int64_t)rnd(8192) - 4096;
}

static int64_t gen_size(uint64_t cur)
{
	unsigned r = rnd(100);

	if (r < 10)
		return 0;
	if (r < 35)
		return (int64_t)rnd(cur + 1);
	if (r < 50)
		return (int64_t)(cur + rnd(8192));
	if (r < 58)
		return (int64_t)cur;
	if (r < 72)
		return clamp0((int64_t)(4096 * rnd(600)) + (int64_t)rnd(3) - 1);
	if (r < 84)
		return (int64_t)(2 * MiB * (1 + rnd(3))) + (int64_t)rnd(8192) - 4096;
	if (r < 95)
		return (int64_t)rnd(16 * MiB);
	if (r < 98)
		return (int64_t)(GiB + rnd(40 * GiB));
	return -1 - (int64_t)rnd(5000);
}

/* ------------------------------------------------------------------ */
/* Paths                                                                 */
/* ------------------------------------------------------------------ */

/* The UMFS spelling of a model path ("" is the root, "/"); a leading '/'
 * is optional in the API, so both forms are used. */
static const char *up(const char *p)
{
	static char ring[4][PLEN + 2];
	static unsigned next;
	char *s = ring[next++ % 4];

	if (!*p)
		return "/";
	snprintf(s, PLEN + 2, "%s%s", chance(50) ? "/" : "", p);
	return s;
}

/* The reference spelling, relative to ref_dir. */
static const char *rp(const char *p)
{
	return *p ? p : ".";
}

/* snprintf into a path buffer of PLEN bytes; a path that does not fit is
 * a bug of the model itself. */
static void __attribute__((format(printf, 2, 3))) path_fmt(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PLEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PLEN)
		fatal("path longer than %d bytes", PLEN);
}

static void join(char *out, const char *dir, const char *name)
{
	if (*dir)
		path_fmt(out, "%s/%s", dir, name);
	else
		path_fmt(out, "%s", name);
}

static const struct entry *pick_entry(bool (*want)(const struct entry *))
{
	size_t idx[MAX_ENTRIES], n = 0;

	for (size_t i = 0; i < nentries; i++)
		if (want(&entries[i]))
			idx[n++] = i;
	return n ? &entries[idx[rnd(n)]] : NULL;
}

static bool is_parent_dir(const struct entry *e)
{
	return S_ISDIR(e->rst.st_mode) && e->depth <= 2;
}

static bool is_nondir(const struct entry *e)
{
	return !S_ISDIR(e->rst.st_mode);
}

static bool is_subdir(const struct entry *e)
{
	return S_ISDIR(e->rst.st_mode) && e->depth >= 1 && e->depth <= 2;
}

static bool is_any(const struct entry *e)
{
	return e->depth >= 1;
}

static bool is_regular(const struct entry *e)
{
	return S_ISREG(e->rst.st_mode);
}

/* A directory to create in: mostly a real one, sometimes a file or a
 * symlink (ENOTDIR, or a walk through the link), a missing name or a
 * path through "..". */
static void pick_parent(char *out)
{
	unsigned r = rnd(100);
	const struct entry *e;

	if (r < 80 || !(e = pick_entry(r < 88 ? is_nondir : is_subdir))) {
		e = pick_entry(is_parent_dir);
		path_fmt(out, "%s", e ? e->path : "");
	} else if (r < 88) {
		path_fmt(out, "%s", e->path);
	} else if (r < 94) {
		path_fmt(out, "%s/..", e->path);
	} else {
		path_fmt(out, "zz");
	}
}

/* "symlink/": POSIX follows the link, Linux does not (see the header). */
static bool is_symlink(const char *p)
{
	struct stat st;

	return ref_probe(p, false, &st) == 0 && S_ISLNK(st.st_mode);
}

static void pick_new(char *out)
{
	char parent[PLEN];

	pick_parent(parent);
	join(out, parent, chance(1) ? name_256 : names[rnd(UMFS_ARRAY_SIZE(names))]);
	if (chance(2) && !skip_slash && !is_symlink(out))
		strcat(out, "/"); /* trailing slashes have their own rules */
}

/* Mostly a name that exists, pct percent of the time. */
static void pick_path(char *out, unsigned pct)
{
	const struct entry *e;

	if (chance(pct) && (e = pick_entry(is_any))) {
		path_fmt(out, "%s%s", e->path,
			 chance(2) && !skip_slash && !S_ISLNK(e->rst.st_mode) ? "/" : "");
		return;
	}
	if (chance(3)) {
		path_fmt(out, ".");
		return;
	}
	pick_new(out);
}

static bool is_dir(const struct entry *e)
{
	return S_ISDIR(e->rst.st_mode) && e->depth >= 1;
}

static bool is_link(const struct entry *e)
{
	return S_ISLNK(e->rst.st_mode);
}

/* Like pick_path, but mostly a name of the kind the operation wants, so
 * that its success path is taken often enough too. */
static void pick_path_pref(char *out, unsigned pct, bool (*want)(const struct entry *))
{
	const struct entry *e;

	if (chance(60) && (e = pick_entry(want)))
		path_fmt(out, "%s", e->path);
	else
		pick_path(out, pct);
}

/* A relative symlink target: one to three names, no "." or ".." */
static void pick_target(char *out)
{
	int n = 1 + (int)rnd(3);

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(out, "/");
		strcat(out, chance(5) ? "zz" : names[rnd(UMFS_ARRAY_SIZE(names))]);
	}
}

/* ------------------------------------------------------------------ */
/* Comparisons                                                           */
/* ------------------------------------------------------------------ */

static bool amb_has(ino_t ino)
{
	for (size_t i = 0; i < namb; i++)
		if (amb_ino[i] == ino)
			return true;
	return false;
}

static void amb_add(ino_t ino)
{
	if (amb_has(ino))
		return;
	if (namb == UMFS_ARRAY_SIZE(amb_ino))
		namb = 0; /* forget the oldest: only fewer checks */
	amb_ino[namb++] = ino;
}

static void amb_del(ino_t ino)
{
	for (size_t i = 0; i < namb; i++)
		if (amb_ino[i] == ino)
			amb_ino[i] = amb_ino[--namb];
}

static bool time_was_set(const struct timespec *ts)
{
	return ts->tv_sec < SET_TIME_LIMIT;
}

static void compare_stat(const char *what, const struct stat *u, const struct stat *r)
{
	if (u->st_mode != r->st_mode)
		mismatch("%s: st_mode umfs 0%o, reference 0%o", what, u->st_mode, r->st_mode);
	if (u->st_nlink != r->st_nlink)
		mismatch("%s: st_nlink umfs %lu, reference %lu", what, (unsigned long)u->st_nlink,
			 (unsigned long)r->st_nlink);
	if (u->st_uid != r->st_uid || u->st_gid != r->st_gid)
		mismatch("%s: owner umfs %u:%u, reference %u:%u", what, u->st_uid, u->st_gid,
			 r->st_uid, r->st_gid);
	if (!S_ISDIR(r->st_mode) && u->st_size != r->st_size)
		mismatch("%s: st_size umfs %lld, reference %lld", what, (long long)u->st_size,
			 (long long)r->st_size);
	if (skip_mtime || amb_has(r->st_ino))
		return;
	if ((time_was_set(&u->st_mtim) || time_was_set(&r->st_mtim)) &&
	    (u->st_mtim.tv_sec != r->st_mtim.tv_sec || u->st_mtim.tv_nsec != r->st_mtim.tv_nsec))
		mismatch("%s: st_mtim umfs %lld.%09ld, reference %lld.%09ld (one side did not "
			 "update it)",
			 what, (long long)u->st_mtim.tv_sec, u->st_mtim.tv_nsec,
			 (long long)r->st_mtim.tv_sec, r->st_mtim.tv_nsec);
}

/* Names that share an inode on one side must share it on the other. */
static void imap_check(const char *what, ino_t r, ino_t u)
{
	for (size_t i = 0; i < nimap; i++) {
		if (imap[i].r != r && imap[i].u != u)
			continue;
		if (imap[i].r != r || imap[i].u != u)
			mismatch("%s: shares an inode with another name on one side only "
				 "(reference ino %lu, umfs ino %lu)",
				 what, (unsigned long)r, (unsigned long)u);
		return;
	}
	imap[nimap].r = r;
	imap[nimap].u = u;
	nimap++;
}

static bool imap_has_u(ino_t u)
{
	for (size_t i = 0; i < nimap; i++)
		if (imap[i].u == u)
			return true;
	return false;
}

static void compare_bytes(const char *what, const uint8_t *u, const uint8_t *r, size_t len,
			  uint64_t off)
{
	if (memcmp(u, r, len) == 0)
		return;
	for (size_t i = 0; i < len; i++)
		if (u[i] != r[i])
			mismatch("%s: byte at offset %llu differs: umfs 0x%02x, reference 0x%02x",
				 what, (unsigned long long)(off + i), u[i], r[i]);
}

/* Reads [off, off+len) from both and compares (len <= MAX_IO). */
static void compare_range(const char *what, struct umfs_file *uf, int fd, uint64_t off,
			  size_t len)
{
	long long u, r;
	char a[64], b[64];

	if (len > MAX_IO)
		fatal("read of %zu bytes: more than MAX_IO", len);
	u = umfs_pread(uf, ubuf, len, (off_t)off);
	r = sys(pread(fd, rbuf, len, (off_t)off));

	if (u != r)
		mismatch("%s: pread(%zu @ %llu) umfs %s, reference %s", what, len,
			 (unsigned long long)off, fmt_ret(u, a, sizeof(a)), fmt_ret(r, b, sizeof(b)));
	if (r > 0)
		compare_bytes(what, ubuf, rbuf, (size_t)r, off);
}

static int64_t ref_seek(int fd, int64_t off, int whence, int64_t size)
{
	off_t r = lseek(fd, off, whence);

	if (r < 0 && errno == ENXIO)
		return size;
	if (r < 0)
		fatal("reference lseek: %s", strerror(errno));
	return r;
}

/* Compares a whole file: every range that either side reports as data is
 * read from both; UMFS's holes are sampled for zeros. */
static void compare_content(const char *path, struct umfs_file *uf, int fd, uint64_t size)
{
	uint64_t off = 0;
	char what[PLEN + 32];

	snprintf(what, sizeof(what), "content of %s", path);
	while (off < size) {
		int64_t du = umfs_lseek(uf, (off_t)off, SEEK_DATA), dr, d, hu, hr, e;

		if (du == -ENXIO)
			du = (int64_t)size;
		if (du < (int64_t)off || du > (int64_t)size)
			mismatch("%s: SEEK_DATA from %llu = %lld", what, (unsigned long long)off,
				 (long long)du);
		dr = ref_seek(fd, (off_t)off, SEEK_DATA, (int64_t)size);
		d = UMFS_MIN(du, dr);
		if (du > (int64_t)off) { /* UMFS says hole: it must read as zeros */
			size_t n = (size_t)UMFS_MIN((uint64_t)(du - (int64_t)off), 4096);

			if (umfs_pread(uf, ubuf, n, (off_t)off) != (ssize_t)n)
				mismatch("%s: pread of a hole at %llu failed", what,
					 (unsigned long long)off);
			for (size_t i = 0; i < n; i++)
				if (ubuf[i])
					mismatch("%s: hole at %llu reads 0x%02x", what,
						 (unsigned long long)(off + i), ubuf[i]);
		}
		if (d >= (int64_t)size)
			break;
		hu = umfs_lseek(uf, d, SEEK_HOLE);
		if (hu < d || hu > (int64_t)size)
			mismatch("%s: SEEK_HOLE from %lld = %lld", what, (long long)d,
				 (long long)hu);
		hr = ref_seek(fd, d, SEEK_HOLE, (int64_t)size);
		e = UMFS_MAX(hu, hr);
		for (int64_t p = d; p < e; p += (int64_t)MiB)
			compare_range(what, uf, fd, (uint64_t)p,
				      (size_t)UMFS_MIN((int64_t)MiB, e - p));
		off = (uint64_t)e;
	}
}

/* ------------------------------------------------------------------ */
/* The walk: both trees, after every step                                 */
/* ------------------------------------------------------------------ */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name_ent *)a)->name, ((const struct name_ent *)b)->name);
}

static size_t list_ref_at(const char *path, int oflags, struct name_ent *out, size_t max)
{
	int fd = openat(ref_dir, rp(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC | oflags);
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd)))
		fatal("reference opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == max)
			fatal("reference directory %s too large", path);
		snprintf(out[n].name, sizeof(out[n].name), "%s", de->d_name);
		out[n].type = de->d_type;
		n++;
	}
	closedir(d);
	qsort(out, n, sizeof(*out), cmp_name);
	return n;
}

static size_t list_ref(const char *path, struct name_ent *out, size_t max)
{
	return list_ref_at(path, O_NOFOLLOW, out, max);
}

static size_t list_ref_follow(const char *path, struct name_ent *out, size_t max)
{
	return list_ref_at(path, 0, out, max);
}

static size_t list_umfs(const char *what, const char *path, struct name_ent *out, size_t max)
{
	struct umfs_dirent ent;
	struct umfs_dir *d = NULL;
	int err, dots = 0, dotdots = 0;
	size_t n = 0;

	err = umfs_opendir(fs, up(path), &d);
	if (err)
		mismatch("%s: umfs_opendir = %d (%s), the reference lists it", what, err,
			 strerrorname_np(-err) ?: "?");
	while ((err = umfs_readdir(d, &ent)) == 1) {
		if (!strcmp(ent.name, ".")) {
			dots++;
			continue;
		}
		if (!strcmp(ent.name, "..")) {
			dotdots++;
			continue;
		}
		if (n == max)
			mismatch("%s: more than %zu entries", what, max);
		snprintf(out[n].name, sizeof(out[n].name), "%s", ent.name);
		out[n].type = ent.type;
		n++;
	}
	if (err < 0)
		mismatch("%s: umfs_readdir = %d (%s)", what, err, strerrorname_np(-err) ?: "?");
	umfs_closedir(d);
	if (dots != 1 || dotdots != 1)
		mismatch("%s: \".\" listed %d times, \"..\" %d times", what, dots, dotdots);
	qsort(out, n, sizeof(*out), cmp_name);
	return n;
}

static void compare_listing(const char *path, struct name_ent *ul, size_t un,
			    struct name_ent *rl, size_t rn)
{
	char what[PLEN + 32];

	snprintf(what, sizeof(what), "listing of \"%s\"", path);
	for (size_t i = 0; i < un || i < rn; i++) {
		if (i >= un)
			mismatch("%s: \"%s\" missing from umfs", what, rl[i].name);
		if (i >= rn)
			mismatch("%s: umfs has extra \"%s\"", what, ul[i].name);
		if (strcmp(ul[i].name, rl[i].name))
			mismatch("%s: umfs has \"%s\" where the reference has \"%s\"", what,
				 ul[i].name, rl[i].name);
		if (i && !strcmp(ul[i].name, ul[i - 1].name))
			mismatch("%s: \"%s\" listed twice", what, ul[i].name);
		if (ul[i].type != rl[i].type)
			mismatch("%s: d_type of \"%s\" umfs %u, reference %u", what, ul[i].name,
				 ul[i].type, rl[i].type);
	}
}

static void compare_symlink(const char *what, const struct entry *e)
{
	char u[PLEN];
	long long un = umfs_readlink(fs, up(e->path), u, sizeof(u));
	char a[64], b[64];

	if (un != e->target_len || (un > 0 && memcmp(u, e->target, (size_t)un)))
		mismatch("%s: readlink umfs %s \"%.*s\", reference %s \"%.*s\"", what,
			 fmt_ret(un, a, sizeof(a)), un > 0 ? (int)un : 0, u,
			 fmt_ret(e->target_len, b, sizeof(b)),
			 e->target_len > 0 ? (int)e->target_len : 0, e->target);
}

static void compare_file_by_path(const char *path, uint64_t size)
{
	struct umfs_file *uf = NULL;
	int err, fd;

	fd = openat(ref_dir, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fatal("reference open %s: %s", path, strerror(errno));
	err = umfs_open(fs, up(path), O_RDONLY | O_NOFOLLOW, 0, &uf);
	if (err)
		mismatch("open %s for the check: %d (%s)", path, err, strerrorname_np(-err) ?: "?");
	compare_content(path, uf, fd, size);
	umfs_close(uf);
	close(fd);
}

/* One name of the tree: UMFS's lstat, readlink and inode against the
 * reference's (as recorded in e). */
static void check_entry(const struct entry *e)
{
	char what[PLEN + 16];
	struct stat ust;
	int err;

	snprintf(what, sizeof(what), "\"%s\"", e->path);
	err = umfs_stat(fs, up(e->path), &ust, AT_SYMLINK_NOFOLLOW);
	if (err)
		mismatch("%s: lstat umfs %d (%s), the reference has it", what, err,
			 strerrorname_np(-err) ?: "?");
	compare_stat(what, &ust, &e->rst);
	imap_check(what, e->rst.st_ino, ust.st_ino);
	if (S_ISLNK(e->rst.st_mode))
		compare_symlink(what, e);
}

/* Walks the reference breadth first, recording every name in entries[]
 * (sorted, the children of a directory next to each other), and compares
 * UMFS's listing and attributes of each. With contents, whole files too. */
static void walk(bool contents)
{
	static struct name_ent ul[MAX_ENTRIES], rl[MAX_ENTRIES];
	size_t head = 0;

	nentries = 0;
	nimap = 0;
	ref_bytes = 0;
	entries[nentries++] = (struct entry){ .path = "", .depth = 0 };
	if (fstatat(ref_dir, ".", &entries[0].rst, AT_SYMLINK_NOFOLLOW))
		fatal("reference root: %s", strerror(errno));
	check_entry(&entries[0]);

	for (; head < nentries; head++) {
		struct entry *dir = &entries[head];
		size_t un, rn;

		if (!S_ISDIR(dir->rst.st_mode))
			continue;
		if (dir->depth >= MAX_DEPTH)
			fatal("tree deeper than %d", MAX_DEPTH);
		rn = list_ref(dir->path, rl, MAX_ENTRIES);
		un = list_umfs(dir->path, dir->path, ul, MAX_ENTRIES);
		compare_listing(dir->path, ul, un, rl, rn);
		if (nentries + rn > MAX_ENTRIES)
			fatal("more than %d names", MAX_ENTRIES);
		dir->first_child = nentries;
		dir->nchild = rn;
		for (size_t i = 0; i < rn; i++) {
			struct entry *e = &entries[nentries++];

			join(e->path, entries[head].path, rl[i].name);
			e->depth = entries[head].depth + 1;
			e->nchild = 0;
			if (fstatat(ref_dir, e->path, &e->rst, AT_SYMLINK_NOFOLLOW))
				fatal("reference lstat %s: %s", e->path, strerror(errno));
			if (S_ISLNK(e->rst.st_mode))
				e->target_len = sys(readlinkat(ref_dir, e->path, e->target,
							       sizeof(e->target)));
			check_entry(e);
			if (S_ISREG(e->rst.st_mode) && e->rst.st_nlink > 0) {
				/* count each inode once: at its first name */
				bool first = true;

				for (size_t j = 1; j + 1 < nentries; j++)
					if (entries[j].rst.st_ino == e->rst.st_ino)
						first = false;
				if (first) {
					ref_bytes += (uint64_t)e->rst.st_blocks * 512;
					if (contents)
						compare_file_by_path(e->path,
								     (uint64_t)e->rst.st_size);
				}
			}
		}
	}
}

/* The same comparisons against the reference as last walked: for steps
 * that cannot have changed the reference (they failed there, or only
 * read), UMFS must not have changed either. */
static void recheck(void)
{
	static struct name_ent ul[MAX_ENTRIES], rl[MAX_ENTRIES];

	nimap = 0;
	for (size_t i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		size_t un;

		check_entry(e);
		if (!S_ISDIR(e->rst.st_mode))
			continue;
		for (size_t c = 0; c < e->nchild; c++) {
			const struct entry *ch = &entries[e->first_child + c];
			const char *slash = strrchr(ch->path, '/');

			snprintf(rl[c].name, sizeof(rl[c].name), "%.255s",
				 slash ? slash + 1 : ch->path);
			rl[c].type = (unsigned char)IFTODT(ch->rst.st_mode);
		}
		un = list_umfs(e->path, e->path, ul, MAX_ENTRIES);
		compare_listing(e->path, ul, un, rl, e->nchild);
	}
}

/* Every open file: attributes, offset, and which inode it is. */
static void check_handles(void)
{
	for (int i = 0; i < MAX_HANDLES; i++) {
		struct handle *h = &handles[i];
		struct stat us, rs;
		char what[PLEN + 32];
		int err;

		if (!h->used)
			continue;
		snprintf(what, sizeof(what), "open file #%d (%s)", i, h->path);
		if (fstat(h->fd, &rs))
			fatal("reference fstat: %s", strerror(errno));
		err = umfs_fstat(h->uf, &us);
		if (err)
			mismatch("%s: umfs_fstat = %d", what, err);
		compare_stat(what, &us, &rs);
		if (rs.st_nlink > 0)
			imap_check(what, rs.st_ino, us.st_ino);
		else if (imap_has_u(us.st_ino))
			mismatch("%s: unlinked in the reference, still named in umfs", what);
		if (rs.st_nlink == 0 && S_ISREG(rs.st_mode))
			ref_bytes += (uint64_t)rs.st_blocks * 512;
		if (!h->is_dir) {
			long long uo = umfs_lseek(h->uf, 0, SEEK_CUR);
			long long ro = sys(lseek(h->fd, 0, SEEK_CUR));

			if (uo != ro)
				mismatch("%s: file offset umfs %lld, reference %lld", what, uo, ro);
		}
	}
}

/* A small read of a random file at a random place. */
static void spot_check(void)
{
	const struct entry *e = pick_entry(is_regular);
	uint64_t size, off;
	size_t len;
	struct umfs_file *uf = NULL;
	int fd;

	if (!e)
		return;
	size = (uint64_t)e->rst.st_size;
	switch (rnd(4)) {
	case 0:
		off = 0;
		break;
	case 1:
		off = size > 4096 ? size - rnd(4096) : 0;
		break;
	default:
		off = rnd(size + 1);
		break;
	}
	len = 1 + rnd(16 * KiB);
	fd = openat(ref_dir, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fatal("reference open %s: %s", e->path, strerror(errno));
	if (umfs_open(fs, up(e->path), O_RDONLY | O_NOFOLLOW, 0, &uf))
		mismatch("spot check: cannot open %s", e->path);
	compare_range(e->path, uf, fd, off, len);
	umfs_close(uf);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Open files                                                            */
/* ------------------------------------------------------------------ */

static struct handle *pick_handle(bool files_only)
{
	int idx[MAX_HANDLES], n = 0;

	for (int i = 0; i < MAX_HANDLES; i++)
		if (handles[i].used && (!files_only || !handles[i].is_dir))
			idx[n++] = i;
	return n ? &handles[idx[rnd((uint64_t)n)]] : NULL;
}

/* An open file for reading or writing: mostly one that allows it. */
static struct handle *pick_handle_for(int acc_unwanted)
{
	int idx[MAX_HANDLES], n = 0;

	if (chance(25))
		return pick_handle(false);
	for (int i = 0; i < MAX_HANDLES; i++)
		if (handles[i].used && !handles[i].is_dir &&
		    (handles[i].flags & O_ACCMODE) != acc_unwanted)
			idx[n++] = i;
	return n ? &handles[idx[rnd((uint64_t)n)]] : pick_handle(false);
}

static int handle_no(const struct handle *h)
{
	return (int)(h - handles);
}

static bool readable(const struct handle *h)
{
	return (h->flags & O_ACCMODE) != O_WRONLY && !h->is_dir;
}

static struct stat ref_fstat(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fatal("reference fstat: %s", strerror(errno));
	return st;
}

static void close_handle(struct handle *h)
{
	long long u = umfs_close(h->uf);
	long long r = sys(close(h->fd));

	if (h->rfd >= 0)
		close(h->rfd);
	h->used = false;
	result("close", u, r);
}

static const char *flag_str(int flags)
{
	static char s[160];

	snprintf(s, sizeof(s), "%s%s%s%s%s%s%s",
		 (flags & O_ACCMODE) == O_RDONLY ? "O_RDONLY" :
		 (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR",
		 flags & O_CREAT ? "|O_CREAT" : "", flags & O_EXCL ? "|O_EXCL" : "",
		 flags & O_TRUNC ? "|O_TRUNC" : "", flags & O_APPEND ? "|O_APPEND" : "",
		 flags & O_DIRECTORY ? "|O_DIRECTORY" : "", flags & O_NOFOLLOW ? "|O_NOFOLLOW" : "");
	return s;
}

static void op_open(void);
static void op_close(void);

/* Runs another operation instead (no open file to work on, or no slot). */
static void redirect(int op)
{
	op_runs[cur_op]--;
	cur_op = op;
	op_runs[op]++;
	if (op == OP_OPEN)
		op_open();
	else
		op_close();
}

static void op_open(void)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };
	int flags = acc[rnd(3)], slot = -1, fd;
	struct umfs_file *uf = NULL;
	char path[PLEN];
	mode_t mode;
	long long u, r;

	for (int i = 0; i < MAX_HANDLES && slot < 0; i++)
		if (!handles[i].used)
			slot = i;
	if (slot < 0) {
		redirect(OP_CLOSE);
		return;
	}
	if (chance(50)) {
		flags |= O_CREAT;
		if (chance(20))
			flags |= O_EXCL;
	}
	if ((flags & O_ACCMODE) != O_RDONLY && chance(15))
		flags |= O_TRUNC;
	if (chance(15))
		flags |= O_APPEND;
	if (!(flags & O_CREAT) && chance(8))
		flags |= O_DIRECTORY;
	if (chance(6))
		flags |= O_NOFOLLOW;
	mode = (mode_t)rnd(01000);
	pick_path(path, flags & O_CREAT ? 50 : 85);
	set_desc("open \"%s\" %s 0%o -> #%d", path, flag_str(flags), mode, slot);
	set_args(path, NULL);
	cur_flags = flags;

	u = umfs_open(fs, up(path), flags, mode, &uf);
	fd = openat(ref_dir, rp(path), flags | O_CLOEXEC, mode);
	r = fd < 0 ? -errno : 0;
	if (u == 0 && r != 0)
		umfs_close(uf);
	if (r == 0 && u != 0)
		close(fd);
	result("open", u, r);
	if (r)
		return;

	struct handle *h = &handles[slot];
	char proc[64];

	*h = (struct handle){ .used = true, .uf = uf, .fd = fd, .flags = flags, .rfd = -1 };
	snprintf(h->path, sizeof(h->path), "%s", path);
	h->is_dir = S_ISDIR(ref_fstat(fd).st_mode);
	if (!h->is_dir) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		h->rfd = open(proc, O_RDONLY | O_CLOEXEC);
		if (h->rfd < 0)
			fatal("reopen %s: %s", proc, strerror(errno));
	}
}

static void op_close(void)
{
	struct handle *h = pick_handle(false);

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	set_desc("close #%d (%s)", handle_no(h), h->path);
	close_handle(h);
}

/* Reads back what a write just wrote, a little around it too. */
static void read_back(struct handle *h, uint64_t pos, size_t len)
{
	uint64_t from = pos >= 16 ? pos - 16 : 0;

	if (!readable(h))
		return;
	compare_range("read back", h->uf, h->fd, from, (size_t)(pos - from) + len + 16);
}

static void op_write(void)
{
	struct handle *h = pick_handle_for(O_RDONLY);
	size_t len = gen_len();
	long long u, r;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	fill(wbuf, len);
	if (!(h->flags & O_APPEND) && chance(50)) {
		int64_t off = gen_offset((uint64_t)ref_fstat(h->fd).st_size);

		set_desc("pwrite #%d (%s) %zu bytes at %lld", handle_no(h), h->path, len,
			 (long long)off);
		u = umfs_pwrite(h->uf, wbuf, len, off);
		r = sys(pwrite(h->fd, wbuf, len, off));
		result("pwrite", u, r);
		if (r > 0)
			read_back(h, (uint64_t)off, (size_t)r);
		return;
	}
	if (chance(30) && !h->is_dir) {
		int64_t off = gen_offset((uint64_t)ref_fstat(h->fd).st_size);

		set_desc("lseek #%d (%s) to %lld", handle_no(h), h->path, (long long)off);
		result("lseek", umfs_lseek(h->uf, off, SEEK_SET), sys(lseek(h->fd, off, SEEK_SET)));
	}
	set_desc("write #%d (%s) %zu bytes", handle_no(h), h->path, len);
	u = umfs_write(h->uf, wbuf, len);
	r = sys(write(h->fd, wbuf, len));
	result("write", u, r);
	if (r > 0)
		read_back(h, (uint64_t)lseek(h->fd, 0, SEEK_CUR) - (uint64_t)r, (size_t)r);
}

static void op_read(void)
{
	struct handle *h = pick_handle_for(O_WRONLY);
	size_t len = gen_len();
	long long u, r;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	if (chance(50)) {
		int64_t off = chance(2) ? -1 : gen_offset((uint64_t)ref_fstat(h->fd).st_size);

		set_desc("pread #%d (%s) %zu bytes at %lld", handle_no(h), h->path, len,
			 (long long)off);
		u = umfs_pread(h->uf, ubuf, len, off);
		r = sys(pread(h->fd, rbuf, len, off));
	} else {
		set_desc("read #%d (%s) %zu bytes", handle_no(h), h->path, len);
		u = umfs_read(h->uf, ubuf, len);
		r = sys(read(h->fd, rbuf, len));
	}
	result("read", u, r);
	if (r > 0)
		compare_bytes("read", ubuf, rbuf, (size_t)r, 0);
}

/* True when the reference file holds only zeros in [from, to). fd has an
 * offset of its own: holes are skipped with SEEK_DATA. */
static bool ref_zero(int fd, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[4096];

	while (from < to) {
		off_t d = lseek(fd, (off_t)from, SEEK_DATA), h;
		uint64_t end;

		if (d < 0 || (uint64_t)d >= to)
			return true; /* only holes (or EOF) up to to */
		h = lseek(fd, d, SEEK_HOLE);
		if (h <= d)
			fatal("reference SEEK_HOLE: %s", strerror(errno));
		end = UMFS_MIN((uint64_t)h, to);
		for (from = (uint64_t)d; from < end;) {
			size_t n = (size_t)UMFS_MIN(end - from, MAX_IO);
			ssize_t got = pread(fd, rbuf, n, (off_t)from);

			if (got <= 0)
				return got == 0;
			for (ssize_t i = 0; i < got; i += (ssize_t)sizeof(zeros))
				if (memcmp(rbuf + i, zeros,
					   (size_t)UMFS_MIN(got - i, (ssize_t)sizeof(zeros))))
					return false;
			from += (uint64_t)got;
		}
	}
	return true;
}

static void op_lseek(void)
{
	struct handle *h = pick_handle(true);
	static const int whences[] = { SEEK_SET, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
				       SEEK_HOLE, 7 };
	int whence = whences[rnd(UMFS_ARRAY_SIZE(whences))];
	int64_t size, off, pos;
	long long u, r;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	size = ref_fstat(h->fd).st_size;
	switch (whence) {
	case SEEK_CUR:
		off = (int64_t)rnd(20000) - 10000;
		break;
	case SEEK_END:
		off = (int64_t)rnd(9000) - (int64_t)rnd((uint64_t)size + 10);
		break;
	default:
		off = chance(4) ? -1 - (int64_t)rnd(100) : gen_offset((uint64_t)size);
		break;
	}
	set_desc("lseek #%d (%s) %lld whence %d", handle_no(h), h->path, (long long)off, whence);
	pos = lseek(h->fd, 0, SEEK_CUR);
	u = umfs_lseek(h->uf, off, whence);
	r = sys(lseek(h->fd, off, whence));
	if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0 || off >= size) {
		result("lseek", u, r);
		return;
	}
	/*
	 * Inside the file, positions may differ (see the header): UMFS's answer
	 * must be true of the reference's bytes, and the reference's offset
	 * then follows UMFS's. ENXIO from SEEK_DATA means "only holes up to
	 * EOF" and is right when the reference holds only zeros there.
	 */
	if (r < 0)
		op_errs[cur_op]++;
	if (whence == SEEK_DATA && u == -ENXIO) {
		if (!ref_zero(h->rfd, (uint64_t)off, (uint64_t)size))
			mismatch("SEEK_DATA: umfs says ENXIO, the reference has data after %lld "
				 "(reference %lld, size %lld)", (long long)off, r, (long long)size);
		u = pos; /* a failed lseek leaves the offset alone */
	} else if (u < 0) {
		result("lseek", u, r);
	} else if (whence == SEEK_DATA) {
		if (u < off || u >= size || !ref_zero(h->rfd, (uint64_t)off, (uint64_t)u))
			mismatch("SEEK_DATA: umfs %lld skips data (reference %lld, size %lld)", u, r,
				 (long long)size);
	} else {
		/* a hole starts at a page boundary, at EOF, or at off inside one */
		if (u < off || u > size || (u != size && u != off && u % 4096) ||
		    !ref_zero(h->rfd, (uint64_t)u,
			      UMFS_MIN(UMFS_ALIGN_UP((uint64_t)u + 1, 4096), (uint64_t)size)))
			mismatch("SEEK_HOLE: umfs %lld is no hole (reference %lld, size %lld)", u, r,
				 (long long)size);
	}
	if (lseek(h->fd, u, SEEK_SET) != u)
		fatal("reference lseek: %s", strerror(errno));
}

static void op_ftruncate(void)
{
	struct handle *h = pick_handle_for(O_RDONLY);
	struct stat st;
	int64_t size;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	st = ref_fstat(h->fd);
	size = gen_size((uint64_t)st.st_size);
	set_desc("ftruncate #%d (%s) to %lld", handle_no(h), h->path, (long long)size);
	result("ftruncate", umfs_ftruncate(h->uf, size), sys(ftruncate(h->fd, size)));
	if (size == st.st_size)
		amb_add(st.st_ino);
}

/*
 * tmpfs has no FALLOC_FL_ZERO_RANGE: the reference punches the range
 * (zeros, same argument checks, never a size change) and, without
 * KEEP_SIZE, extends the file to its end.
 */
static int ref_zero_range(int fd, int mode, int64_t off, int64_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return -1;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > st.st_size)
		return ftruncate(fd, off + len);
	return 0;
}

static void op_fallocate(void)
{
	static const int modes[] = { 0, 0, FALLOC_FL_KEEP_SIZE,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
				     FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE,
				     FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE };
	struct handle *h = pick_handle_for(O_RDONLY);
	int mode = modes[rnd(UMFS_ARRAY_SIZE(modes))];
	struct stat st;
	int64_t off, len;
	long long r;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	st = ref_fstat(h->fd);
	if (chance(2))
		off = -4096;
	else if (chance(25)) /* just past EOF: the tail a truncate cut must read as zeros */
		off = st.st_size + (int64_t)rnd(3 * 4096);
	else
		off = gen_offset((uint64_t)st.st_size);
	len = chance(3) ? -(int64_t)rnd(2) : 1 + (int64_t)rnd(4 * MiB);
	set_desc("fallocate #%d (%s) mode %#x at %lld len %lld", handle_no(h), h->path, mode,
		 (long long)off, (long long)len);
	if (mode & FALLOC_FL_ZERO_RANGE)
		r = sys(ref_zero_range(h->fd, mode, off, len));
	else
		r = sys(fallocate(h->fd, mode, off, len));
	result("fallocate", umfs_fallocate(h->uf, mode, off, len), r);
	if (r == 0)
		amb_add(st.st_ino);
}

static void op_fsync(void)
{
	struct handle *h = pick_handle(false);
	int datasync = chance(50);

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	set_desc("fsync #%d (%s) datasync=%d", handle_no(h), h->path, datasync);
	result("fsync", umfs_fsync(h->uf, datasync), sys(datasync ? fdatasync(h->fd) : fsync(h->fd)));
}

static void op_fstat(void)
{
	struct handle *h = pick_handle(false);
	struct stat us, rs;
	long long r;

	if (!h) {
		redirect(OP_OPEN);
		return;
	}
	set_desc("fstat #%d (%s)", handle_no(h), h->path);
	r = sys(fstat(h->fd, &rs));
	result("fstat", umfs_fstat(h->uf, &us), r);
	if (r == 0)
		compare_stat("fstat", &us, &rs);
}

/* ------------------------------------------------------------------ */
/* Names                                                                  */
/* ------------------------------------------------------------------ */

static void op_truncate(void)
{
	char path[PLEN], abs[PATH_MAX + PLEN];
	struct stat st;
	bool had = false;
	int64_t size;

	pick_path_pref(path, 85, is_regular);
	if (fstatat(ref_dir, rp(path), &st, 0) == 0 && S_ISREG(st.st_mode))
		had = true;
	size = gen_size(had ? (uint64_t)st.st_size : 0);
	set_desc("truncate \"%s\" to %lld", path, (long long)size);
	set_args(path, NULL);
	snprintf(abs, sizeof(abs), "%s/%s", ref_root, path);
	result("truncate", umfs_truncate(fs, up(path), size), sys(truncate(abs, size)));
	if (had && size == st.st_size)
		amb_add(st.st_ino);
}

static void op_mkdir(void)
{
	char path[PLEN];
	mode_t mode = (mode_t)rnd(01000) | (chance(10) ? S_ISVTX : 0);

	pick_path(path, 25);
	set_desc("mkdir \"%s\" 0%o", path, mode);
	set_args(path, NULL);
	result("mkdir", umfs_mkdir(fs, up(path), mode), sys(mkdirat(ref_dir, rp(path), mode)));
}

static void op_rmdir(void)
{
	char path[PLEN];

	pick_path_pref(path, 85, is_dir);
	set_desc("rmdir \"%s\"", path);
	set_args(path, NULL);
	result("rmdir", umfs_rmdir(fs, up(path)), sys(unlinkat(ref_dir, rp(path), AT_REMOVEDIR)));
}

static void op_unlink(void)
{
	char path[PLEN];

	pick_path_pref(path, 85, is_nondir);
	set_desc("unlink \"%s\"", path);
	set_args(path, NULL);
	result("unlink", umfs_unlink(fs, up(path)), sys(unlinkat(ref_dir, rp(path), 0)));
}

static void op_rename(void)
{
	char from[PLEN], to[PLEN];
	unsigned flags = 0, r = (unsigned)rnd(100);

	if (r < 12)
		flags = RENAME_NOREPLACE;
	else if (r < 27)
		flags = RENAME_EXCHANGE;
	else if (r < 29)
		flags = chance(50) ? RENAME_NOREPLACE | RENAME_EXCHANGE : 0x80;
	pick_path(from, 85);
	pick_path(to, 45);
	set_desc("rename \"%s\" \"%s\" flags %#x", from, to, (unsigned)flags);
	set_args(from, to);
	cur_flags = (int)flags;
	result("rename", umfs_rename(fs, up(from), up(to), flags),
	       sys(renameat2(ref_dir, rp(from), ref_dir, rp(to), flags)));
}

static void op_link(void)
{
	char from[PLEN], to[PLEN];

	pick_path_pref(from, 85, is_nondir);
	pick_path(to, 25);
	set_desc("link \"%s\" \"%s\"", from, to);
	set_args(from, to);
	result("link", umfs_link(fs, up(from), up(to)),
	       sys(linkat(ref_dir, rp(from), ref_dir, rp(to), 0)));
}

static void op_symlink(void)
{
	char target[PLEN], path[PLEN];

	pick_target(target);
	pick_path(path, 20);
	set_desc("symlink \"%s\" -> \"%s\"", path, target);
	set_args(path, NULL);
	result("symlink", umfs_symlink(fs, target, up(path)),
	       sys(symlinkat(target, ref_dir, rp(path))));
}

static void op_readlink(void)
{
	char path[PLEN], u[PLEN], r[PLEN];
	size_t size = chance(30) ? 1 + rnd(4) : sizeof(u);
	long long ur, rr;

	pick_path_pref(path, 85, is_link);
	set_desc("readlink \"%s\" size %zu", path, size);
	set_args(path, NULL);
	ur = umfs_readlink(fs, up(path), u, size);
	rr = sys(readlinkat(ref_dir, rp(path), r, size));
	result("readlink", ur, rr);
	if (rr > 0)
		compare_bytes("readlink", (uint8_t *)u, (uint8_t *)r, (size_t)rr, 0);
}

static void op_chmod(void)
{
	char path[PLEN];
	mode_t mode = (mode_t)rnd(01000) | (chance(10) ? S_ISVTX : 0);

	pick_path(path, 90);
	set_desc("chmod \"%s\" 0%o", path, mode);
	set_args(path, NULL);
	result("chmod", umfs_chmod(fs, up(path), mode, 0), sys(fchmodat(ref_dir, rp(path), mode, 0)));
}

static void op_chown(void)
{
	static const unsigned ids[] = { 0, 1000, 1001, (unsigned)-1 };
	char path[PLEN];
	uid_t uid = ids[rnd(4)];
	gid_t gid = ids[rnd(4)];
	int flags = chance(30) ? AT_SYMLINK_NOFOLLOW : 0;

	pick_path(path, 90);
	set_desc("chown \"%s\" %d:%d flags %#x", path, (int)uid, (int)gid, flags);
	set_args(path, NULL);
	result("chown", umfs_chown(fs, up(path), uid, gid, flags),
	       sys(fchownat(ref_dir, rp(path), uid, gid, flags)));
}

static struct timespec gen_time(void)
{
	unsigned r = (unsigned)rnd(100);

	if (r < 15)
		return (struct timespec){ 0, UTIME_NOW };
	if (r < 30)
		return (struct timespec){ 0, UTIME_OMIT };
	if (r < 32)
		return (struct timespec){ 0, 1000000000 }; /* invalid */
	return (struct timespec){ 500000000 + (time_t)rnd(400000000), (long)rnd(1000000000) };
}

static void op_utimens(void)
{
	struct timespec ts[2];
	char path[PLEN];
	int flags = chance(30) ? AT_SYMLINK_NOFOLLOW : 0;
	bool null = chance(15);
	struct stat st;
	long long r;

	do {
		ts[0] = gen_time();
		ts[1] = gen_time();
	} while (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT);
	pick_path(path, 90);
	if (null)
		set_desc("utimens \"%s\" NULL flags %#x", path, flags);
	else
		set_desc("utimens \"%s\" %lld.%09ld %lld.%09ld flags %#x", path,
			 (long long)ts[0].tv_sec, ts[0].tv_nsec, (long long)ts[1].tv_sec,
			 ts[1].tv_nsec, flags);
	set_args(path, NULL);
	r = sys(utimensat(ref_dir, rp(path), null ? NULL : ts, flags));
	result("utimens", umfs_utimens(fs, up(path), null ? NULL : ts, flags), r);
	/* mtime was set on both sides: it is comparable again */
	if (r == 0 && (null || ts[1].tv_nsec != UTIME_OMIT) &&
	    fstatat(ref_dir, rp(path), &st, flags) == 0)
		amb_del(st.st_ino);
}

static void op_stat(void)
{
	char path[PLEN];
	int flags = chance(40) ? AT_SYMLINK_NOFOLLOW : 0;
	struct stat us, rs;
	long long r;

	pick_path(path, 80);
	set_desc("stat \"%s\" flags %#x", path, flags);
	set_args(path, NULL);
	r = sys(fstatat(ref_dir, rp(path), &rs, flags));
	result("stat", umfs_stat(fs, up(path), &us, flags), r);
	if (r == 0) {
		compare_stat("stat", &us, &rs);
		imap_check("stat", rs.st_ino, us.st_ino);
	}
}

static void op_access(void)
{
	static const int modes[] = { F_OK, R_OK, W_OK, X_OK, R_OK | W_OK, R_OK | X_OK,
				     R_OK | W_OK | X_OK };
	char path[PLEN];
	int mode = modes[rnd(UMFS_ARRAY_SIZE(modes))];

	pick_path(path, 85);
	set_desc("access \"%s\" %d", path, mode);
	set_args(path, NULL);
	result("access", umfs_access(fs, up(path), mode), sys(faccessat(ref_dir, rp(path), mode, 0)));
}

static void op_opendir(void)
{
	static struct name_ent ul[MAX_ENTRIES], rl[MAX_ENTRIES];
	struct umfs_dir *d = NULL;
	char path[PLEN];
	long long u, r;
	int fd;

	pick_path(path, 85);
	set_desc("opendir \"%s\"", path);
	set_args(path, NULL);
	u = umfs_opendir(fs, up(path), &d);
	fd = openat(ref_dir, rp(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	if (u == 0)
		umfs_closedir(d);
	if (fd >= 0)
		close(fd);
	result("opendir", u, r);
	if (r == 0) {
		/* the walk lists real directories; this lists through the
		 * path as given (symlinks, "..") */
		char what[PLEN + 16];
		size_t un, rn;

		snprintf(what, sizeof(what), "opendir \"%s\"", path);
		rn = list_ref_follow(path, rl, MAX_ENTRIES);
		un = list_umfs(what, path, ul, MAX_ENTRIES);
		compare_listing(path, ul, un, rl, rn);
	}
}

/* Keeps the reference's data under REF_BUDGET: cuts the biggest file. */
static void op_shrink(void)
{
	const struct entry *big = NULL;
	struct handle *bigh = NULL;
	blkcnt_t most = 0;

	for (size_t i = 0; i < nentries; i++)
		if (S_ISREG(entries[i].rst.st_mode) && entries[i].rst.st_blocks > most) {
			most = entries[i].rst.st_blocks;
			big = &entries[i];
		}
	for (int i = 0; i < MAX_HANDLES; i++) {
		struct stat st;

		if (!handles[i].used || handles[i].is_dir)
			continue;
		st = ref_fstat(handles[i].fd);
		if (st.st_nlink == 0 && st.st_blocks > most) {
			most = st.st_blocks;
			bigh = &handles[i];
		}
	}
	if (bigh) {
		set_desc("close #%d (%s) to free space", handle_no(bigh), bigh->path);
		close_handle(bigh);
	} else if (big) {
		char abs[PATH_MAX + PLEN];
		int64_t size = big->rst.st_size / 16;

		set_desc("truncate \"%s\" to %lld to free space", big->path, (long long)size);
		snprintf(abs, sizeof(abs), "%s/%s", ref_root, big->path);
		result("truncate", umfs_truncate(fs, up(big->path), size), sys(truncate(abs, size)));
	}
}

/* ------------------------------------------------------------------ */
/* Pool, checkpoints, the end                                            */
/* ------------------------------------------------------------------ */

static void make_pool(void)
{
	struct umfs_format_opts opts = { .label = "model" };
	struct umfs_pmem pm;
	int err;

	unlink(pool_path);
	err = umfs_pmem_map(pool_path, opt_size_mib * MiB, false, &pm);
	if (err)
		fatal("map %s: %s", pool_path, strerror(-err));
	err = umfs_format(&pm, &opts, NULL);
	umfs_pmem_unmap(&pm);
	if (err)
		fatal("format %s: %s", pool_path, strerror(-err));
	err = umfs_mount(pool_path, 0, &fs);
	if (err)
		fatal("mount %s: %s", pool_path, strerror(-err));
}

static void run_fsck(void)
{
	char *argv[] = { (char *)opt_fsck, "-n", "-f", pool_path, NULL };
	int status;
	pid_t pid;

	if (!opt_fsck)
		return;
	if (access(opt_fsck, X_OK)) {
		printf("model: %s not built, fsck skipped\n", opt_fsck);
		opt_fsck = NULL;
		return;
	}
	fflush(stdout);
	if (posix_spawn(&pid, opt_fsck, NULL, NULL, argv, environ))
		fatal("cannot run %s", opt_fsck);
	if (waitpid(pid, &status, 0) != pid)
		fatal("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		mismatch("fsck.umfs -n -f on the unmounted pool: exit status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void close_all(void)
{
	for (int i = 0; i < MAX_HANDLES; i++) {
		if (!handles[i].used)
			continue;
		set_desc("close #%d (%s) before remount", i, handles[i].path);
		close_handle(&handles[i]);
	}
}

/* Close everything, remount, compare the whole tree with contents. */
static void checkpoint(void)
{
	struct statvfs before, after;
	int err;

	close_all();
	set_desc("checkpoint: unmount and mount again");
	if (umfs_statfs(fs, &before))
		mismatch("statfs failed");
	err = umfs_unmount(fs);
	fs = NULL;
	if (err)
		mismatch("umfs_unmount = %d (%s)", err, strerrorname_np(-err) ?: "?");
	run_fsck();
	err = umfs_mount(pool_path, 0, &fs);
	if (err)
		mismatch("umfs_mount = %d (%s)", err, strerrorname_np(-err) ?: "?");
	if (umfs_statfs(fs, &after))
		mismatch("statfs failed");
	if (after.f_bfree != before.f_bfree || after.f_ffree != before.f_ffree ||
	    after.f_blocks != before.f_blocks || after.f_files != before.f_files)
		mismatch("statfs changed across the remount: free pages %llu -> %llu, free "
			 "inodes %llu -> %llu",
			 (unsigned long long)before.f_bfree, (unsigned long long)after.f_bfree,
			 (unsigned long long)before.f_ffree, (unsigned long long)after.f_ffree);
	set_desc("checkpoint: compare the whole tree with contents");
	walk(true);
}

/* Removes everything on both sides, deepest names first. */
static void remove_all(void)
{
	walk(false);
	for (size_t i = nentries; i-- > 1;) {
		const struct entry *e = &entries[i];

		if (S_ISDIR(e->rst.st_mode)) {
			set_desc("cleanup: rmdir \"%s\"", e->path);
			result("rmdir", umfs_rmdir(fs, up(e->path)),
			       sys(unlinkat(ref_dir, e->path, AT_REMOVEDIR)));
		} else {
			set_desc("cleanup: unlink \"%s\"", e->path);
			result("unlink", umfs_unlink(fs, up(e->path)),
			       sys(unlinkat(ref_dir, e->path, 0)));
		}
	}
	walk(false);
	if (nentries != 1)
		mismatch("cleanup left %zu names", nentries - 1);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* The pool (unless --pool named it) and the reference tree live on tmpfs,
 * that is in RAM: never leave them behind by accident. */
static void remove_scratch(void)
{
	if (!base_dir[0])
		return;
	if (!opt_pool)
		unlink(pool_path);
	nftw(ref_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(base_dir);
}

static void on_signal(int sig)
{
	remove_scratch();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const struct {
	const char *name;
	unsigned weight;
	void (*fn)(void);
} ops[OP_NR] = {
	[OP_OPEN] = { "open", 100, op_open },
	[OP_CLOSE] = { "close", 55, op_close },
	[OP_WRITE] = { "write", 120, op_write },
	[OP_READ] = { "read", 70, op_read },
	[OP_LSEEK] = { "lseek", 40, op_lseek },
	[OP_FTRUNCATE] = { "ftruncate", 35, op_ftruncate },
	[OP_FALLOCATE] = { "fallocate", 25, op_fallocate },
	[OP_FSYNC] = { "fsync", 5, op_fsync },
	[OP_FSTAT] = { "fstat", 10, op_fstat },
	[OP_TRUNCATE] = { "truncate", 15, op_truncate },
	[OP_MKDIR] = { "mkdir", 50, op_mkdir },
	[OP_RMDIR] = { "rmdir", 35, op_rmdir },
	[OP_UNLINK] = { "unlink", 50, op_unlink },
	[OP_RENAME] = { "rename", 80, op_rename },
	[OP_LINK] = { "link", 30, op_link },
	[OP_SYMLINK] = { "symlink", 35, op_symlink },
	[OP_READLINK] = { "readlink", 15, op_readlink },
	[OP_CHMOD] = { "chmod", 20, op_chmod },
	[OP_CHOWN] = { "chown", 10, op_chown },
	[OP_UTIMENS] = { "utimens", 25, op_utimens },
	[OP_STAT] = { "stat", 30, op_stat },
	[OP_ACCESS] = { "access", 10, op_access },
	[OP_OPENDIR] = { "opendir", 10, op_opendir },
	[OP_SHRINK] = { "shrink", 0, op_shrink },
};

static int parse_errno(const char *name)
{
	for (int e = 1; e < 256; e++)
		if (strerrorname_np(e) && !strcmp(strerrorname_np(e), name))
			return e;
	fatal("unknown errno name %s", name);
}

static void parse_allow(const char *arg)
{
	char op[32], ue[32], re[32];
	int i;

	if (nallowed == UMFS_ARRAY_SIZE(allowed) ||
	    sscanf(arg, "%31[a-z]:%31[A-Z0-9]:%31[A-Z0-9]", op, ue, re) != 3)
		fatal("bad --allow %s (want op:EUMFS:EREF)", arg);
	for (i = 0; i < OP_NR && strcmp(ops[i].name, op); i++)
		;
	if (i == OP_NR)
		fatal("unknown operation %s", op);
	allowed[nallowed++] = (struct tolerated_pair){ i, parse_errno(ue), parse_errno(re), 0 };
}

static void parse_skip(char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (!strcmp(tok, "mtime"))
			skip_mtime = true;
		else if (!strcmp(tok, "empty-write"))
			skip_empty_write = true;
		else if (!strcmp(tok, "slash"))
			skip_slash = true;
		else
			fatal("--skip takes mtime, empty-write, slash");
	}
}

static unsigned long parse_ulong(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		fatal("bad %s: %s", what, s);
	return (unsigned long)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: model_test [--ops N] [--seed S] [--pool PATH] [--size MiB]\n"
			"                  [--checkpoint N] [--fsck PATH] [--trace] "
			"[--trace-from N] [--strict] [--keep]\n"
			"                  [--allow OP:EUMFS:EREF]... [--skip mtime,empty-write,slash]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'S' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "fsck", required_argument, NULL, 'f' },
		{ "trace", no_argument, NULL, 't' },
		{ "trace-from", required_argument, NULL, 'T' },
		{ "strict", no_argument, NULL, 'x' },
		{ "keep", no_argument, NULL, 'k' },
		{ "allow", required_argument, NULL, 'a' },
		{ "skip", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt_ops = parse_ulong(optarg, "--ops");
			break;
		case 's':
			opt_seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'p':
			opt_pool = optarg;
			break;
		case 'S':
			opt_size_mib = parse_ulong(optarg, "--size");
			break;
		case 'c':
			opt_checkpoint = parse_ulong(optarg, "--checkpoint");
			break;
		case 'f':
			opt_fsck = optarg;
			break;
		case 't':
			opt_trace_from = 0;
			break;
		case 'T':
			opt_trace_from = parse_ulong(optarg, "--trace-from");
			break;
		case 'x':
			opt_strict = true;
			break;
		case 'k':
			opt_keep = true;
			break;
		case 'a':
			parse_allow(optarg);
			break;
		case 'K':
			parse_skip(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt_seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
	}
	/* what a rerun needs besides --seed and --ops (same order of events) */
	snprintf(cmdline, sizeof(cmdline), "model_test");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--ops") || !strcmp(a, "--seed") || !strcmp(a, "--trace-from") ||
		    !strcmp(a, "--pool") || !strcmp(a, "--fsck")) {
			i++;
			continue;
		}
		if (!strncmp(a, "--ops=", 6) || !strncmp(a, "--seed=", 7) ||
		    !strncmp(a, "--trace", 7) || !strncmp(a, "--pool=", 7) ||
		    !strncmp(a, "--fsck=", 7))
			continue;
		snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline), " %s", a);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Creation and removal are weighted so that the tree stays around 30-60
 * names: big enough for every kind of collision, small enough to walk
 * after every step. */
static unsigned op_weight(int op)
{
	unsigned w = ops[op].weight;

	if (nentries <= 60)
		return w;
	switch (op) {
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_LINK:
		return w / 4;
	case OP_UNLINK:
	case OP_RMDIR:
		return w * 3;
	default:
		return w;
	}
}

static int pick_op(void)
{
	unsigned total = 0, r;

	if (ref_bytes > REF_BUDGET)
		return OP_SHRINK;
	for (int i = 0; i < OP_NR; i++)
		total += op_weight(i);
	r = (unsigned)rnd(total);
	for (int i = 0; i < OP_NR; i++) {
		if (r < op_weight(i))
			return i;
		r -= op_weight(i);
	}
	return OP_OPEN;
}

int main(int argc, char **argv)
{
	struct statvfs fresh, end;
	struct stat root0, root1;
	double t0, t;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		/* the reference must be free to chown and to ignore modes, as UMFS
		 * is for root: without root the two would differ by design */
		printf("model: needs root, skipped\n");
		return 77;
	}
	umask(0); /* modes are compared exactly: no umask on either side */
	/* The model never changes its credentials: the core reads them once,
	 * as for the shim, not four system calls at every check (three
	 * quarters of the run's system calls otherwise). */
	umfs_cred_cache_enable();
	memset(name_100, 'e', sizeof(name_100) - 1);
	memset(name_255, 'f', sizeof(name_255) - 1);
	memset(name_256, 'g', sizeof(name_256) - 1);
	rng = opt_seed ^ 0x9E3779B97F4A7C15ull;
	if (!rng)
		rng = 1;

	strcpy(base_dir, "/dev/shm/umfs-model-XXXXXX");
	if (!mkdtemp(base_dir))
		fatal("mkdtemp: %s", strerror(errno));
	if (snprintf(ref_root, sizeof(ref_root), "%s/ref", base_dir) >= (int)sizeof(ref_root))
		fatal("path too long");
	if (mkdir(ref_root, 0755))
		fatal("mkdir %s: %s", ref_root, strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ref_dir = open(ref_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ref_dir < 0)
		fatal("open %s: %s", ref_root, strerror(errno));
	if (snprintf(pool_path, sizeof(pool_path), "%s%s", opt_pool ?: base_dir,
		     opt_pool ? "" : "/pool") >= (int)sizeof(pool_path))
		fatal("path too long");

	entries = calloc(MAX_ENTRIES, sizeof(*entries));
	imap = calloc(MAX_ENTRIES + MAX_HANDLES + 64, sizeof(*imap));
	wbuf = malloc(MAX_IO);
	ubuf = malloc(MAX_IO);
	rbuf = malloc(MAX_IO);
	if (!entries || !imap || !wbuf || !ubuf || !rbuf)
		fatal("out of memory");

	make_pool();
	/* the reference root must look like UMFS's fresh root */
	if (umfs_stat(fs, "/", &root0, 0))
		fatal("stat of the fresh root failed");
	if (fchmod(ref_dir, root0.st_mode & 07777) || fchown(ref_dir, root0.st_uid, root0.st_gid))
		fatal("reference root: %s", strerror(errno));
	if (umfs_statfs(fs, &fresh))
		fatal("statfs failed");
	printf("model: seed %" PRIu64 ", %" PRIu64 " operations, pool %s (%" PRIu64
	       " MiB), reference %s\n",
	       opt_seed, opt_ops, pool_path, opt_size_mib, ref_root);

	walk(false);
	t0 = now_s();
	for (step = 0; step < opt_ops; step++) {
		cur_op = pick_op();
		op_runs[cur_op]++;
		ops[cur_op].fn();
		if (ref_dirty)
			walk(false);
		else
			recheck();
		ref_dirty = false;
		check_handles();
		spot_check();
		if (opt_checkpoint && (step + 1) % opt_checkpoint == 0) {
			checkpoint();
			t = now_s() - t0;
			printf("model: %lu operations, %.0f ops/s, %zu names, %.1f MiB of data\n",
			       step + 1, (double)(step + 1) / t, nentries - 1,
			       (double)ref_bytes / (double)MiB);
		}
	}
	t = now_s() - t0;

	/* the end: compare once more, remove everything, check for leaks */
	if (!opt_checkpoint || step % opt_checkpoint)
		checkpoint();
	remove_all();
	set_desc("final: free counts back to those of the fresh pool");
	if (umfs_statfs(fs, &end) || umfs_stat(fs, "/", &root1, 0))
		mismatch("statfs failed");
	/* the root keeps the pages its entries needed; everything else comes back */
	if (end.f_ffree != fresh.f_ffree ||
	    end.f_bfree * 8 + (uint64_t)root1.st_blocks !=
		    fresh.f_bfree * 8 + (uint64_t)root0.st_blocks)
		mismatch("leak: free pages %llu (fresh %llu, root dir %lld -> %lld blocks), free "
			 "inodes %llu (fresh %llu)",
			 (unsigned long long)end.f_bfree, (unsigned long long)fresh.f_bfree,
			 (long long)root0.st_blocks, (long long)root1.st_blocks,
			 (unsigned long long)end.f_ffree, (unsigned long long)fresh.f_ffree);
	set_desc("final: unmount");
	if (umfs_unmount(fs))
		mismatch("umfs_unmount failed");
	fs = NULL;
	run_fsck();

	printf("model: per operation (runs, of which failed with an errno on both sides):\n");
	for (int i = 0; i < OP_NR; i++)
		if (op_runs[i])
			printf("  %-10s %8lu %8lu\n", ops[i].name, op_runs[i], op_errs[i]);
	for (size_t i = 0; i < npairs; i++)
		printf("model: tolerated %lu times: %s umfs %s, reference %s (both conditions hold)\n",
		       pairs[i].seen, ops[pairs[i].op].name, strerrorname_np(pairs[i].umfs_err),
		       strerrorname_np(pairs[i].ref_err));
	for (size_t i = 0; i < nallowed; i++)
		printf("model: --allow %s:%s:%s matched %lu times\n", ops[allowed[i].op].name,
		       strerrorname_np(allowed[i].umfs_err), strerrorname_np(allowed[i].ref_err),
		       allowed[i].seen);
	printf("model: %lu operations in %.1f s (%.0f ops/s), seed %" PRIu64 "%s\n", step, t,
	       t > 0 ? (double)step / t : 0.0, opt_seed, opt_fsck ? ", fsck clean" : "");
	close(ref_dir);
	if (!opt_keep)
		remove_scratch();
	printf("model: %lu passed, 0 failed\n", step);
	return 0;
}
