/* SPDX-License-Identifier: MIT */
/*
 * mkfs.umfs - make a UMFS pool.
 *
 *   mkfs.umfs [-s SIZE] [-G MAXSIZE] [-N INODES] [-L LABEL] [-f] [-q] POOL
 *
 * POOL is a regular file (created when missing, usually on /dev/shm), a
 * persistent-memory block device (/dev/pmemN) or a device DAX character
 * device (/dev/daxN.M). Before anything is written, the target is checked
 * for an existing UMFS pool, through libblkid for any other file system or
 * partition table, and, in a regular file, for any byte that is not zero
 * (contents.c); any of these makes mkfs refuse unless -f is given.
 *
 * POOL is opened once, and everything after goes through that descriptor:
 * the checks of what it is and whose, of what it holds, its sizing, the
 * map and the format. A name another user may have planted or may swap
 * (a symlink, or a file of theirs in /tmp or /dev/shm) is refused, so
 * that no race between a check and a later open can lead the format into
 * another file.
 *
 * Exit status: 0 on success, 1 on any error (message on stderr).
 */
#include <blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "umfs_tools.h"
#include "cli.h"
#include "contents.h"
#include "poolpages.h"
#include "pathtrust.h"

static const char *prog = "mkfs.umfs";

enum pool_kind {
	POOL_NEW,	/* does not exist yet: created as a regular file */
	POOL_FILE,	/* existing regular file */
	POOL_BLOCK,	/* block device, e.g. /dev/pmem0 */
	POOL_DAX,	/* device DAX character device, e.g. /dev/dax0.0 */
};

struct mkfs_opts {
	uint64_t size;		/* -s, 0 when not given */
	uint64_t max_size;	/* -G, 0 when not given */
	uint64_t inodes;	/* -N, 0 = default */
	const char *label;	/* -L */
	bool force;		/* -f */
	bool quiet;		/* -q */
	bool dry_run;		/* -n: plan and say, change nothing */
	uint32_t sbflags;	/* -O: UMFS_SBF_* */
	int inline_tables;	/* -O inline: 1, -O noinline: 0, default: -1 */
	int level4;		/* -O level4: 1, -O nolevel4: 0, default: -1 */
	const char *path;
};

struct pool_target {
	enum pool_kind kind;
	int dfd;		/* the directory that holds POOL's name (O_PATH) */
	const char *name;	/* POOL's last component, in that directory */
	int fd;			/* POOL itself, opened once */
	struct stat st;		/* its fstat */
	bool created;		/* made by this run: removed if the run fails */
	uint64_t cur_size;	/* bytes there now (0 for a new file) */
	uint64_t size;		/* bytes the pool will cover */
	uint64_t max_size;	/* the most it may grow to; 0: the default */
};

/*
 * How POOL is opened: read-write, never as a controlling terminal, and
 * with O_EXCL, which on a block device claims it (EBUSY while it is
 * mounted or claimed) and elsewhere, without O_CREAT, does nothing.
 */
#define POOL_OPEN_FLAGS (O_RDWR | O_EXCL | O_NOCTTY | O_CLOEXEC)

__attribute__((format(printf, 1, 2))) static void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... POOL\n"
		"Make a UMFS pool in POOL: a regular file (created if missing) or a\n"
		"persistent-memory device (/dev/pmemN, /dev/daxN.M).\n"
		"\n"
		"  -s, --size=SIZE      pool size in bytes; K, M, G, T suffixes are powers\n"
		"                       of 1024. Required when POOL does not exist; grows\n"
		"                       or shrinks a file.\n"
		"  -G, --max-size=SIZE  the largest size umfs-pool grow may take the pool\n"
		"                       to: the page bitmap is sized for it, 32 KiB per GiB\n"
		"                       (default: 8 times the size, less where that leaves\n"
		"                       no room for data; a device: its size)\n"
		"  -N, --inodes=COUNT   number of inodes (default: one per 16 KiB of pool)\n"
		"  -L, --label=LABEL    volume label, at most %d bytes\n"
		"  -O, --option=relaxed default consistency mode relaxed: overwrites in\n"
		"                       place, without undo (strict: the default, every\n"
		"                       write atomic)\n"
		"  -O, --option=inline  files of 2 to 17 pages keep their table in the\n"
		"                       inode (the default; noinline: a table page each,\n"
		"                       for UMFS before 1.7 and its kernel module)\n"
		"  -O, --option=level4  files may grow past 512 GiB to 256 TiB, with a\n"
		"                       fourth table level (the default; nolevel4: files\n"
		"                       stop at 512 GiB, for UMFS before 1.8 and its\n"
		"                       kernel module)\n"
		"  -f, --force          overwrite an existing UMFS pool, other file system,\n"
		"                       or a file that holds data\n"
		"  -n, --dry-run        say what would be made (size, inodes, pages, layout)\n"
		"                       and whether POOL would be refused; change nothing,\n"
		"                       not even create a missing POOL\n"
		"  -q, --quiet          print nothing on success\n"
		"  -V, --version        print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"Exit status: 0 the pool was made, 1 any error (usage errors included).\n",
		prog, UMFS_LABEL_MAX - 1);
}

static int parse_count(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int err = umfs_cli_number(s, &v, &end);

	if (!err && *end != '\0')
		err = -EINVAL;
	if (!err)
		*out = v;
	return err;
}

/* -s and -G: a positive size, or a refusal that names which. */
static uint64_t parse_size_opt(const char *arg, const char *what)
{
	uint64_t v = 0;
	int err = umfs_cli_size_parse(arg, &v);

	if (err == -ERANGE)
		umfs_cli_refuse(prog, 1, "%s '%s' is too large", what, arg);
	if (err || v == 0)
		umfs_cli_refuse(prog, 1,
				"invalid %s '%s': expected a positive number of bytes with an "
				"optional K, M, G or T suffix", what, arg);
	return v;
}

static int parse_args(int argc, char **argv, struct mkfs_opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'G' },
		{ "inodes", required_argument, NULL, 'N' },
		{ "label", required_argument, NULL, 'L' },
		{ "option", required_argument, NULL, 'O' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "dry-run", no_argument, NULL, 'n' },
		UMFS_CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, err;

	memset(o, 0, sizeof(*o));
	o->inline_tables = -1;
	o->level4 = -1;
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":s:G:N:L:O:fqnVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->size = parse_size_opt(optarg, "size");
			break;
		case 'G':
			o->max_size = parse_size_opt(optarg, "maximum size");
			break;
		case 'N':
			err = parse_count(optarg, &o->inodes);
			if (err || o->inodes == 0)
				umfs_cli_refuse(prog, 1,
						"invalid inode count '%s': expected a positive integer",
						optarg);
			break;
		case 'L':
			if (strlen(optarg) > UMFS_LABEL_MAX - 1)
				umfs_cli_refuse(prog, 1, "label '%s' is %zu bytes long; the limit is %d bytes",
						optarg, strlen(optarg), UMFS_LABEL_MAX - 1);
			o->label = optarg;
			break;
		case 'O':
			if (!strcmp(optarg, "relaxed"))
				o->sbflags |= UMFS_SBF_RELAXED;
			else if (!strcmp(optarg, "strict"))
				o->sbflags &= ~UMFS_SBF_RELAXED;
			else if (!strcmp(optarg, "inline") || !strcmp(optarg, "noinline"))
				o->inline_tables = optarg[0] != 'n';
			else if (!strcmp(optarg, "level4") || !strcmp(optarg, "nolevel4"))
				o->level4 = optarg[0] != 'n';
			else
				umfs_cli_refuse(prog, 1,
						"unknown pool option '%s': expected relaxed, strict, "
						"inline, noinline, level4 or nolevel4", optarg);
			break;
		case 'f':
			o->force = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'V':
			umfs_cli_version(prog);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			umfs_cli_bad_option(prog, 1, c, argv);
		}
	}
	if (optind >= argc)
		umfs_cli_refuse(prog, 1, "no POOL given");
	if (optind + 1 < argc)
		umfs_cli_refuse(prog, 1, "unexpected argument '%s' after POOL", argv[optind + 1]);
	o->path = argv[optind];
	return 0;
}

/*
 * In a directory where anyone may create names but only their owners
 * remove them (sticky and world-writable: /tmp, /dev/shm), a file that is
 * another user's may have been planted there for us to format: refused,
 * as the kernel's protected_regular does. Names that are ours (or the
 * directory owner's) nobody else can replace.
 */
static bool file_planted(const struct stat *dst, const struct stat *st)
{
	return st->st_uid != geteuid() && (dst->st_mode & S_ISVTX) && (dst->st_mode & S_IWOTH) &&
	       st->st_uid != dst->st_uid;
}

/* Opens the directory that holds POOL's name, for the name's open and, if
 * the run fails, its removal. */
static int open_parent(const char *path, struct pool_target *t)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t len;

	if (!path[0] || (slash && !slash[1])) {
		err_msg("%s: names a directory, not a pool file or device", path);
		return -1;
	}
	len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(dir)) {
		err_msg("%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(dir, slash ? path : ".", slash ? len : 1);
	dir[slash ? len : 1] = '\0';
	t->name = slash ? slash + 1 : path;
	t->dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->dfd < 0) {
		err_msg("%s: cannot open its directory %s: %s", path, dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void report_open_error(const char *path, int err, bool via_link)
{
	if (err == ENOENT && !via_link)
		err_msg("%s does not exist; give -s SIZE to create it", path);
	else if (err == EBUSY)
		err_msg("%s is in use (mounted or held by another program)", path);
	else if (err == EISDIR)
		err_msg("%s is not a regular file or a persistent-memory device", path);
	else if (err == EEXIST || err == ELOOP)
		err_msg("%s: cannot create: %s (something appeared at that name while "
			"mkfs.umfs ran; look at it, then run mkfs.umfs again)", path,
			strerror(err));
	else
		err_msg("%s: cannot open: %s", path, strerror(err));
}

/*
 * Opens POOL, once: the name itself (O_NOFOLLOW), or what a trusted
 * symlink there names, or a new file made with O_CREAT | O_EXCL when
 * nothing is there and -s was given.
 */
static int open_target(const struct mkfs_opts *o, struct pool_target *t)
{
	struct stat dst, lst;
	bool via_link = false;
	const char *why;
	char what[96];
	unsigned uid;

	if (open_parent(o->path, t) < 0)
		return -1;
	if (fstat(t->dfd, &dst) < 0) {
		err_msg("%s: %s", o->path, strerror(errno));
		return -1;
	}
	/* a dry run reads, and claims no device */
	int flags = o->dry_run ? O_RDONLY | O_NOCTTY | O_CLOEXEC : POOL_OPEN_FLAGS;

	t->fd = openat(t->dfd, t->name, flags | O_NOFOLLOW);
	if (t->fd < 0 && errno == ELOOP &&
	    fstatat(t->dfd, t->name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)) {
		why = umfs_link_distrust(&dst, &lst, geteuid(), &uid);
		if (why) {
			snprintf(what, sizeof(what), why, uid);
			err_msg("%s is %s: refusing to follow it (another user may have planted it "
				"or may change it; name the pool's real path)", o->path, what);
			return -1;
		}
		via_link = true;
		t->fd = openat(t->dfd, t->name, flags);
	}
	if (t->fd < 0 && errno == ENOENT && !via_link && o->size && o->dry_run) {
		t->kind = POOL_NEW; /* what the real run would create */
		return 0;
	}
	if (t->fd < 0 && errno == ENOENT && !via_link && o->size) {
		t->fd = openat(t->dfd, t->name, POOL_OPEN_FLAGS | O_CREAT | O_NOFOLLOW, 0600);
		t->created = t->fd >= 0;
	}
	if (t->fd < 0) {
		report_open_error(o->path, errno, via_link);
		return -1;
	}
	if (fstat(t->fd, &t->st) < 0) {
		err_msg("%s: %s", o->path, strerror(errno));
		return -1;
	}
	if (!via_link && !t->created && file_planted(&dst, &t->st)) {
		err_msg("%s: a file of uid %u in a directory where any user may create names: "
			"refusing to format it (another user may have planted it; remove it, or "
			"name the pool's real path)", o->path, (unsigned)t->st.st_uid);
		return -1;
	}
	return 0;
}

/* What POOL is, and how many bytes are there now. */
static int classify_target(const struct mkfs_opts *o, struct pool_target *t)
{
	const char *path = o->path;
	int err;

	if (t->fd < 0) { /* a dry run's missing file */
		t->cur_size = 0;
		t->size = o->size;
		return 0;
	}
	if (S_ISREG(t->st.st_mode)) {
		t->kind = t->created ? POOL_NEW : POOL_FILE;
		t->cur_size = (uint64_t)t->st.st_size;
		t->size = o->size ? o->size : t->cur_size;
		if (!t->size) {
			err_msg("%s is empty; give -s SIZE to size it", path);
			return -1;
		}
	} else if (S_ISBLK(t->st.st_mode)) {
		t->kind = POOL_BLOCK;
		if (ioctl(t->fd, BLKGETSIZE64, &t->cur_size) < 0) {
			err_msg("%s: cannot read the device size: %s", path, strerror(errno));
			return -1;
		}
		t->size = t->cur_size;
	} else if (S_ISCHR(t->st.st_mode)) {
		t->kind = POOL_DAX;
		err = umfs_pmem_dev_size(&t->st, &t->cur_size);
		if (err) {
			err_msg("%s: not a device DAX instance (no size in sysfs: %s)", path,
				strerror(-err));
			return -1;
		}
		t->size = t->cur_size;
	} else {
		err_msg("%s is not a regular file or a persistent-memory device", path);
		return -1;
	}
	return 0;
}

/* The size the page bitmap is made for: a device never grows. */
static int target_max(const struct mkfs_opts *o, struct pool_target *t)
{
	char b1[32], b2[32];

	t->max_size = o->max_size;
	if (t->kind == POOL_BLOCK || t->kind == POOL_DAX) {
		if (o->max_size && o->max_size != t->size) {
			err_msg("%s is a device: it cannot grow, so -G %s does not apply (leave "
				"out -G)", o->path, umfs_cli_size_fmt(o->max_size, b1, sizeof(b1)));
			return -1;
		}
		t->max_size = t->size;
	}
	if (o->max_size && o->max_size < t->size) {
		err_msg("%s: maximum size -G %s is below the pool size %s (a pool only grows)",
			o->path, umfs_cli_size_fmt(o->max_size, b1, sizeof(b1)),
			umfs_cli_size_fmt(t->size, b2, sizeof(b2)));
		return -1;
	}
	if (o->max_size % UMFS_PAGE_SIZE) {
		err_msg("%s: maximum size %" PRIu64 " is not a multiple of the %u-byte page size",
			o->path, o->max_size, UMFS_PAGE_SIZE);
		return -1;
	}
	return 0;
}

/* Works out what POOL is and how big the pool will be. */
static int inspect_target(const struct mkfs_opts *o, struct pool_target *t)
{
	const char *path = o->path;
	char b1[32], b2[32];

	if (open_target(o, t) < 0 || classify_target(o, t) < 0)
		return -1;
	/* A device is always formatted whole. */
	if ((t->kind == POOL_BLOCK || t->kind == POOL_DAX) && o->size && o->size != t->size) {
		err_msg("%s is a device of %s; -s %s does not match (a device is formatted "
			"whole: leave out -s)", path, umfs_cli_size_fmt(t->size, b1, sizeof(b1)),
			umfs_cli_size_fmt(o->size, b2, sizeof(b2)));
		return -1;
	}
	if (t->size % UMFS_PAGE_SIZE) {
		err_msg("%s: size %" PRIu64 " is not a multiple of the %u-byte page size", path,
			t->size, UMFS_PAGE_SIZE);
		return -1;
	}
	if (t->size < UMFS_MIN_POOL_SIZE) {
		err_msg("%s: size %s is below the minimum pool size of %s%s", path,
			umfs_cli_size_fmt(t->size, b1, sizeof(b1)),
			umfs_cli_size_fmt(UMFS_MIN_POOL_SIZE, b2, sizeof(b2)),
			t->kind == POOL_FILE && !o->size ? "; give -s SIZE to grow it" : "");
		return -1;
	}
	if (t->size > SIZE_MAX) {
		err_msg("%s: size %s cannot be mapped on this machine", path,
			umfs_cli_size_fmt(t->size, b1, sizeof(b1)));
		return -1;
	}
	return target_max(o, t);
}

/* Removes the file this run made, and only that: in a directory others
 * may write, the name may have changed hands since. */
static void remove_created(const struct pool_target *t)
{
	struct stat st;

	if (t->created && fstatat(t->dfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == t->st.st_dev && st.st_ino == t->st.st_ino)
		unlinkat(t->dfd, t->name, 0);
}

static void close_target(struct pool_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->dfd >= 0)
		close(t->dfd);
	t->fd = t->dfd = -1;
}

static const char *article(const char *word)
{
	return strchr("aeiouAEIOU", word[0]) ? "an" : "a";
}

enum umfs_found {
	UMFS_NONE,
	UMFS_PRIMARY,	/* a superblock magic at offset 0 */
	UMFS_BACKUP,	/* only the backup in the last page */
};

/*
 * Looks for an earlier UMFS pool: the primary superblock at offset 0 or the
 * backup in the last page. Only the magic is checked: a damaged pool is
 * still somebody's data, and fsck.umfs may be able to repair it.
 */
static enum umfs_found find_umfs(const uint8_t *page0, const uint8_t *last_page)
{
	const struct umfs_superblock *sb = (const void *)page0;

	if (sb->magic == UMFS_SB_MAGIC)
		return UMFS_PRIMARY;
	sb = (const void *)last_page;
	if (last_page && sb->magic == UMFS_SB_MAGIC)
		return UMFS_BACKUP;
	return UMFS_NONE;
}

static void report_umfs(const char *path, enum umfs_found found, const uint8_t *page0)
{
	const struct umfs_superblock *sb = (const void *)page0;
	char label[UMFS_LABEL_MAX];

	if (found == UMFS_BACKUP) {
		err_msg("%s contains a UMFS backup superblock (the primary is damaged: "
			"fsck.umfs may recover it); use -f to overwrite", path);
		return;
	}
	memcpy(label, sb->label, sizeof(label));
	label[sizeof(label) - 1] = '\0';
	if (label[0])
		err_msg("%s already contains a UMFS pool (label '%s'); use -f to overwrite", path,
			label);
	else
		err_msg("%s already contains a UMFS pool; use -f to overwrite", path);
}

/* Reads the first and last page of POOL; -1 on a read error (reported). */
static int read_ends(const char *path, int fd, uint64_t size, uint8_t *page0, uint8_t **last)
{
	uint64_t last_off;
	ssize_t n;

	n = pread(fd, page0, UMFS_PAGE_SIZE, 0);
	if (n < 0) {
		err_msg("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (n < UMFS_PAGE_SIZE)
		memset(page0 + n, 0, UMFS_PAGE_SIZE - (size_t)n);
	if (size < 2 * UMFS_PAGE_SIZE) {
		*last = NULL;
		return 0;
	}
	last_off = (size & ~(uint64_t)(UMFS_PAGE_SIZE - 1)) - UMFS_PAGE_SIZE;
	n = pread(fd, *last, UMFS_PAGE_SIZE, (off_t)last_off);
	if (n < 0) {
		err_msg("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (n < UMFS_PAGE_SIZE)
		*last = NULL;
	return 0;
}

/* Names what blkid found: "an ext4 file system (label 'x')". */
static void describe_signature(blkid_probe pr, char *buf, size_t len)
{
	const char *type = NULL, *usage = NULL, *label = NULL, *pttype = NULL;
	char what[128];

	blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
	blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
	blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
	blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);

	if (type) {
		if (!usage || !strcmp(usage, "filesystem"))
			snprintf(what, sizeof(what), "%s %s file system", article(type), type);
		else if (!strcmp(usage, "raid"))
			snprintf(what, sizeof(what), "%s %s RAID member", article(type), type);
		else if (!strcmp(usage, "crypto"))
			snprintf(what, sizeof(what), "%s %s encrypted volume", article(type),
				 type);
		else if (!strcmp(type, "swap"))
			snprintf(what, sizeof(what), "a swap area");
		else
			snprintf(what, sizeof(what), "%s %s signature", article(type), type);
	} else if (pttype) {
		snprintf(what, sizeof(what), "%s %s partition table", article(pttype), pttype);
	} else {
		snprintf(what, sizeof(what), "an unknown signature");
	}
	if (label && label[0])
		snprintf(buf, len, "%s (label '%s')", what, label);
	else
		snprintf(buf, len, "%s", what);
}

static blkid_probe new_probe(int fd)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
					      BLKID_SUBLKS_USAGE | BLKID_SUBLKS_MAGIC |
					      BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	return pr;
}

/*
 * Asks libblkid whether POOL holds a file system, RAID member, swap area or
 * partition table. Returns 1 when it does (message printed), 0 when not.
 */
static int find_other_fs(const char *path, int fd)
{
	blkid_probe pr;
	char what[256];
	int rc;

	pr = new_probe(fd);
	if (!pr) {
		err_msg("%s: cannot set up the libblkid probe", path);
		return -1;
	}
	rc = blkid_do_safeprobe(pr);
	if (rc == 0) {
		describe_signature(pr, what, sizeof(what));
		err_msg("%s contains %s; use -f to overwrite", path, what);
	} else if (rc == -2) {
		err_msg("%s contains several conflicting signatures (file systems or "
			"partition tables); use -f to overwrite", path);
	} else if (rc < 0) {
		err_msg("%s: libblkid could not probe it; use -f to format anyway", path);
	}
	blkid_free_probe(pr);
	return rc == 1 ? 0 : 1;
}

/* A file no signature names may still be somebody's text, database or
 * archive: returns 1 (message printed) when it holds any data. */
static int find_data(const char *path, const struct pool_target *t)
{
	char what[96], b[32];
	int rc = mkfs_contents_check(t->fd, t->cur_size, what, sizeof(what));

	if (rc < 0)
		err_msg("%s: cannot read it to see what it holds: %s; use -f to format anyway",
			path, strerror(-rc));
	else if (rc > 0)
		err_msg("%s is a file of %s that holds data (%s): formatting would destroy it; "
			"use -f to overwrite it, or name a new file", path,
			umfs_cli_size_fmt(t->cur_size, b, sizeof(b)), what);
	return rc ? 1 : 0;
}

/*
 * With -f: erases the magic of every signature libblkid recognises (like
 * wipefs -a), so that the old file system is not detected beside UMFS when
 * its magic lies outside the zones UMFS writes.
 */
static int wipe_signatures(const char *path, int fd, bool quiet)
{
	blkid_probe pr = new_probe(fd);
	char what[256];
	int n = 0;

	if (!pr) {
		err_msg("%s: cannot set up the libblkid probe", path);
		return -1;
	}
	while (blkid_do_probe(pr) == 0) {
		describe_signature(pr, what, sizeof(what));
		if (blkid_do_wipe(pr, 0) < 0) {
			err_msg("%s: cannot erase %s: %s", path, what, strerror(errno));
			blkid_free_probe(pr);
			return -1;
		}
		if (!quiet)
			printf("%s: erased the signature of %s\n", prog, what);
		if (++n > 64) /* a signature that will not go away */
			break;
	}
	blkid_free_probe(pr);
	return 0;
}

/* A pool formatted over: the runtime directories its users kept between
 * uses (idle, this user's) would stay in /dev/shm under a UUID no pool
 * has any more. The pool is locked, so nobody uses them. */
static void forget_runtime_dirs(int fd, uint64_t size)
{
	struct umfs_superblock sb;

	if (size >= sizeof(sb) && pread(fd, &sb, sizeof(sb), 0) == (ssize_t)sizeof(sb) &&
	    sb.magic == UMFS_SB_MAGIC)
		(void)umfs_rundir_sweep(sb.uuid, 0, NULL, NULL);
}

/*
 * Checks (and with -f wipes) an existing file or block device before it is
 * mapped. A UMFS primary superblock is reported first; then whatever libblkid
 * finds, since a file system made over an old pool may have left its backup
 * superblock behind; the backup alone is reported last.
 */
static int check_existing(const struct mkfs_opts *o, const struct pool_target *t)
{
	static uint8_t page0[UMFS_PAGE_SIZE], last_buf[UMFS_PAGE_SIZE];
	uint8_t *last = last_buf;
	enum umfs_found found;
	int fd = t->fd, rc = 0;

	if (o->force) {
		forget_runtime_dirs(fd, t->cur_size);
		rc = t->cur_size ? wipe_signatures(o->path, fd, o->quiet) : 0;
	} else if (t->cur_size) {
		rc = read_ends(o->path, fd, t->cur_size, page0, &last);
		found = rc ? UMFS_NONE : find_umfs(page0, last);
		if (found == UMFS_PRIMARY) {
			report_umfs(o->path, found, page0);
			rc = 1;
		}
		if (rc == 0)
			rc = find_other_fs(o->path, fd);
		if (rc == 0 && found == UMFS_BACKUP) {
			report_umfs(o->path, found, page0);
			rc = 1;
		}
		if (rc == 0 && t->kind == POOL_FILE)
			rc = find_data(o->path, t);
	}
	return rc ? -1 : 0;
}

/* Never format under a running program, -f or not: taken before anything
 * is read, wiped or resized. */
static int lock_target(const struct mkfs_opts *o, const struct pool_target *t)
{
	if (flock(t->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		err_msg("%s: pool is in use by a running process; stop it first", o->path);
	else
		err_msg("%s: cannot lock: %s", o->path, strerror(errno));
	return -1;
}

/* A pool file takes the size asked for: shrunk, or grown with its blocks
 * allocated now, so that a full /dev/shm fails here and not with SIGBUS
 * later. */
static int size_target(const struct mkfs_opts *o, const struct pool_target *t)
{
	bool shrink = t->size < t->cur_size;
	int err = 0;

	if (t->kind != POOL_FILE && t->kind != POOL_NEW)
		return 0;
	if (shrink)
		err = ftruncate(t->fd, (off_t)t->size) < 0 ? errno : 0;
	else if (t->size > t->cur_size)
		err = posix_fallocate(t->fd, 0, (off_t)t->size);
	if (err) {
		err_msg("%s: cannot %s to %" PRIu64 " bytes: %s", o->path,
			shrink ? "shrink" : "grow", t->size, strerror(err));
		return -1;
	}
	return 0;
}

/* The figures of the layout, as a dry run and a real run both print them. */
static void print_geometry(const struct mkfs_opts *o, const struct umfs_geometry *g)
{
	char b[32];
	uint64_t journal_bytes = (uint64_t)g->journal_slots * g->journal_slot_size;

	printf("  size        %s (%" PRIu64 " bytes)\n", umfs_cli_size_fmt(g->pool_size, b, sizeof(b)),
	       g->pool_size);
	printf("  max size    %s (%" PRIu64 " bytes): the most umfs-pool grow can take it to\n",
	       umfs_cli_size_fmt(g->max_pool_size, b, sizeof(b)), g->max_pool_size);
	printf("  inodes      %" PRIu64 " (%u bytes each, inode %" PRIu64 " is the root)\n",
	       g->inode_count - 1, (unsigned)sizeof(struct umfs_inode), (uint64_t)UMFS_ROOT_INO);
	printf("  data pages  %" PRIu64 " of 4 KiB (%s) from offset 0x%" PRIx64 "\n",
	       g->data_pages, umfs_cli_size_fmt(g->data_pages * UMFS_PAGE_SIZE, b, sizeof(b)), g->data_off);
	printf("  journal     %u slots of %u KiB (%s) at offset 0x%" PRIx64 "\n", g->journal_slots,
	       g->journal_slot_size / 1024, umfs_cli_size_fmt(journal_bytes, b, sizeof(b)), g->journal_off);
	printf("  layout      state 0x%" PRIx64 ", inodes 0x%" PRIx64 ", inode bitmap 0x%" PRIx64
	       ", page bitmap 0x%" PRIx64 ", bitmap sums 0x%" PRIx64 ", backup superblock 0x%"
	       PRIx64 "\n", g->state_off, g->inode_off, g->ibitmap_off, g->pbitmap_off,
	       g->bsum_off, g->backup_sb_off);
	printf("  label       %s%s%s\n", o->label && o->label[0] ? "'" : "",
	       o->label && o->label[0] ? o->label : "(none)", o->label && o->label[0] ? "'" : "");
}

static void print_summary(const struct mkfs_opts *o, const struct umfs_pmem *pm,
			  const struct umfs_geometry *g)
{
	const struct umfs_superblock *sb = (const void *)pm->base;
	char uuid[40];

	umfs_cli_uuid(uuid, sb->uuid);
	printf("%s: made a UMFS %d.%d pool in %s\n", prog, sb->version_major, sb->version_minor,
	       o->path);
	print_geometry(o, g);
	printf("  media       %s\n", umfs_media_name(pm->media));
	printf("  UUID        %s\n", uuid);
	switch (umfs_pages_of(pm->fd)) {
	case UMFS_PAGES_SMALL:
		printf("  pages       4 KiB: a new process takes a page fault for each 4 KiB of the\n"
		       "              pool it touches (about 262,000 per GiB); a tmpfs mounted\n"
		       "              with -o huge=always maps 2 MiB at a time (README: a DRAM\n"
		       "              stand-in on 2 MiB pages)\n");
		break;
	case UMFS_PAGES_HUGE:
		printf("  pages       2 MiB\n");
		break;
	case UMFS_PAGES_OTHER:
		break;
	}
}

/* Lays out, maps and formats the pool the target holds. */
static int make_pool(const struct mkfs_opts *o, const struct pool_target *t,
		     struct umfs_geometry *g)
{
	struct umfs_format_opts fo = { 0 };
	struct umfs_pmem pm;
	int err;

	err = umfs_pmem_map_opened(t->fd, &pm);
	if (err) {
		err_msg("%s: cannot map: %s", o->path, strerror(-err));
		return -1;
	}
	if (pm.len < t->size) {
		err_msg("%s: mapped only %zu of %" PRIu64 " bytes", o->path, pm.len, t->size);
		goto fail;
	}
	/* Device DAX cannot be read with pread: look for an old pool in the mapping. */
	if (t->kind == POOL_DAX && !o->force) {
		enum umfs_found found = find_umfs(pm.base, pm.base + (t->size - UMFS_PAGE_SIZE));

		if (found != UMFS_NONE) {
			report_umfs(o->path, found, pm.base);
			goto fail;
		}
	}
	fo.inode_count = o->inodes;
	fo.max_size = t->max_size;
	fo.label = o->label;
	fo.default_flags = o->sbflags;
	/* both on by default, on devices too: the kernel module serves them
	 * (ABI 7); off only for older code (-O noinline, -O nolevel4) */
	fo.no_inline = o->inline_tables == 0;
	fo.no_level4 = o->level4 == 0;
	err = umfs_format(&pm, &fo, g);
	if (err) {
		err_msg("%s: format failed: %s", o->path, strerror(-err));
		goto fail;
	}
	err = umfs_pmem_sync(&pm);
	if (err) {
		err_msg("%s: cannot make the format durable: %s", o->path, strerror(-err));
		goto fail;
	}
	if (!o->quiet)
		print_summary(o, &pm, g);
	umfs_pmem_unmap(&pm);
	return 0;

fail:
	umfs_pmem_unmap(&pm);
	return -1;
}

/* Plans the layout first: a pool that cannot work is refused before
 * anything is touched. */
static int plan_pool(const struct mkfs_opts *o, const struct pool_target *t,
		     struct umfs_geometry *g)
{
	const char *why = NULL;
	char b[32], b2[32];
	int err;

	err = umfs_geometry_plan_max(t->size, o->inodes, t->max_size, g, &why);
	if (!err)
		return 0;
	/* what to change: the maximum, if it alone is the trouble; then the
	 * inode count, the one knob besides the size */
	if (t->max_size && t->max_size != t->size &&
	    umfs_geometry_plan_max(t->size, o->inodes, t->size, g, &why) == 0)
		err_msg("%s: the page bitmap for a maximum size of %s leaves a pool of %s no room "
			"for data; give a smaller -G SIZE", o->path,
			umfs_cli_size_fmt(t->max_size, b, sizeof(b)),
			umfs_cli_size_fmt(t->size, b2, sizeof(b2)));
	else if (o->inodes)
		err_msg("%s: cannot lay out a pool of %s with %" PRIu64 " inodes: %s; give a "
			"smaller -N COUNT", o->path, umfs_cli_size_fmt(t->size, b, sizeof(b)), o->inodes,
			why ? why : strerror(-err));
	else if (why && strstr(why, "inodes"))
		err_msg("%s: cannot lay out a pool of %s with the default of one inode per "
			"16 KiB: %s; give -N COUNT (at most %" PRIu64 ")", o->path,
			umfs_cli_size_fmt(t->size, b, sizeof(b)), why, (uint64_t)UINT32_MAX);
	else
		err_msg("%s: cannot lay out a pool of %s: %s", o->path,
			umfs_cli_size_fmt(t->size, b, sizeof(b)), why ? why : strerror(-err));
	return -1;
}

/* -n: what the run would make, and whether it would refuse POOL; nothing
 * is created, locked, wiped, resized or written. */
static int dry_run(const struct mkfs_opts *o, const struct pool_target *t,
		   const struct umfs_geometry *g)
{
	static const char *const kinds[] = { "a new file", "a file", "a block device",
					     "a device DAX instance" };

	if ((t->kind == POOL_FILE || t->kind == POOL_BLOCK) && !o->force &&
	    check_existing(o, t) < 0) {
		err_msg("dry run: %s would be refused as above; nothing was changed", o->path);
		return 1;
	}
	printf("%s: dry run: would make a UMFS %d.%d pool in %s (%s)%s; nothing was changed\n",
	       prog, UMFS_VERSION_MAJOR, UMFS_VERSION_MINOR, o->path, kinds[t->kind],
	       o->force && t->kind != POOL_NEW ? ", erasing what it holds" : "");
	print_geometry(o, g);
	return 0;
}

int main(int argc, char **argv)
{
	struct pool_target t = { .fd = -1, .dfd = -1 };
	struct umfs_geometry g;
	struct mkfs_opts o;
	int rc = 1;

	if (parse_args(argc, argv, &o) < 0)
		return 1;
	if (inspect_target(&o, &t) < 0 || plan_pool(&o, &t, &g) < 0)
		goto out;
	if (o.dry_run) {
		rc = dry_run(&o, &t, &g);
		goto out;
	}
	if (lock_target(&o, &t) < 0)
		goto out;
	if ((t.kind == POOL_FILE || t.kind == POOL_BLOCK) && check_existing(&o, &t) < 0)
		goto out;
	if (size_target(&o, &t) < 0 || make_pool(&o, &t, &g) < 0)
		goto out;
	rc = 0;
out:
	if (rc)
		remove_created(&t);
	close_target(&t);
	return rc;
}
