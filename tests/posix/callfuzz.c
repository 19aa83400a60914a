/* SPDX-License-Identifier: MIT */
/*
 * callfuzz - a seeded random sequence of file calls in one directory, each
 * call and its result printed, so that two runs (tmpfs and a UMFS front
 * end) can be compared line by line.
 *
 *   callfuzz DIR SEED COUNT [--trace] [--no-tmpfile] [--nobody]
 *
 * The calls go through the C library as a program makes them: open with
 * many flag sets, openat relative to a slot's descriptor, O_TMPFILE (named
 * or not by linkat), close, dup, read, write, pread, pwrite, readv,
 * writev, lseek, ftruncate, truncate, fallocate (allocate, keep size,
 * punch), fstat, stat, lstat, statx, access, unlink, unlinkat, mkdir,
 * rmdir, rename (plain, RENAME_NOREPLACE, RENAME_EXCHANGE), link, linkat
 * (AT_SYMLINK_FOLLOW, AT_EMPTY_PATH), symlink, readlink, chmod, fchmod,
 * utimensat and futimens with set times, F_SETFL/F_GETFL, POSIX and OFD
 * record locks, readdir, copy_file_range, sendfile, a forked child's write
 * through an inherited descriptor, a shared mapping's read and store,
 * chown, lchown, fchown, calls relative to a working directory in the tree,
 * mknod (a regular file, /dev/null's node), pwritev2 with RWF_ flags,
 * fsync, fdatasync, syncfs, posix_fadvise, flock, faccessat with its flags
 * and fchmodat not following, umask, dup3 and F_DUPFD_CLOEXEC with the
 * flags read back, on
 * a small name space (eleven names, two levels, links among them, each now
 * and then spelt with a trailing slash or dot, "./", a climb through a
 * directory or a doubled slash) and six
 * descriptor slots, so that calls meet every kind of file, missing names,
 * closed descriptors, directories and the wrong access modes. What a result
 * shows is what both file systems must agree on: the return value or
 * errno, the bytes read (a checksum), the mode, link count and size (not
 * of directories or links). At the end the size and checksum of every
 * regular file. --trace adds, after each call, every slot's offset and
 * every file's size and checksum, to find where two runs part.
 * --no-tmpfile leaves O_TMPFILE out, for a file system without it (FUSE,
 * umfs-fuse(8)); both runs compared must be given it. --nobody (as root)
 * makes DIR sticky and open to all, puts some of root's files in it, and
 * makes the calls as uid 65534, so that the permission checks decide
 * (nobody_setup says what is there).
 *
 * Left out, where file systems may differ: SEEK_DATA/SEEK_HOLE positions,
 * SEEK_END on a directory, FALLOC_FL_ZERO_RANGE (tmpfs has none), inode
 * numbers, block counts, and
 * sendfile between two descriptions of one inode (the kernel splices
 * pages it may be writing at that moment: its result follows its page
 * handling, not a rule).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#define SLOTS 6
#define BUF_SIZE 70000

static const char *const names[] = { "a", "b", "c", "d/a", "d/b", "d", "e", "d/e/f", "d/e", "l1", "l2" };
#define NNAMES (sizeof(names) / sizeof(names[0]))

#define NOBODY 65534

static uint64_t rng;
static bool as_nobody; /* --nobody: the calls made as uid and gid 65534 */
static bool no_tmpfile; /* --no-tmpfile: a file system without O_TMPFILE (FUSE) */
static char root[512];
static int slot[SLOTS];
static char src[BUF_SIZE], dst[BUF_SIZE];

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* name under the directory (four calls' worth of buffers) */
static const char *at(const char *name)
{
	static char buf[4][600];
	static unsigned k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", root, name);
	return buf[k];
}

static uint64_t fnv(const char *p, long n)
{
	uint64_t h = 1469598103934665603ull;

	for (long i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void result(const char *call, long r)
{
	if (r < 0)
		printf("%s = -1 %s\n", call, strerrorname_np(errno));
	else
		printf("%s = %ld\n", call, r);
}

static void data_result(const char *call, long r, const char *buf)
{
	if (r > 0)
		printf("%s = %ld sum %016llx\n", call, r, (unsigned long long)fnv(buf, r));
	else
		result(call, r);
}

static void stat_result(const char *call, int r, const struct stat *st)
{
	if (r < 0) {
		result(call, r);
		return;
	}
	printf("%s = 0 mode %o nlink %lu size %ld\n", call, (unsigned)st->st_mode,
	       (unsigned long)st->st_nlink,
	       S_ISREG(st->st_mode) ? (long)st->st_size : 0L); /* dirs, links: the file system's */
}

/* size and checksum of a regular file's bytes; -1 when not one */
static long file_sum(const char *path, uint64_t *sum)
{
	struct stat st;
	long total = 0, n;
	int fd;

	*sum = 0;
	if (lstat(path, &st) || !S_ISREG(st.st_mode) || (fd = open(path, O_RDONLY)) < 0)
		return -1;
	while ((n = read(fd, dst, sizeof(dst))) > 0) {
		*sum ^= fnv(dst, n) + (uint64_t)total;
		total += n;
	}
	close(fd);
	return total;
}

static void trace(void)
{
	uint64_t sum;

	printf("  offsets:");
	for (int i = 0; i < SLOTS; i++)
		printf(" %ld", slot[i] >= 0 ? (long)lseek(slot[i], 0, SEEK_CUR) : -9L);
	for (unsigned i = 0; i < NNAMES; i++) {
		long n = file_sum(at(names[i]), &sum);

		if (n >= 0)
			printf(" %s:%ld:%04llx", names[i], n, (unsigned long long)(sum & 0xffff));
	}
	printf("\n");
}

/* Under the library a device node's locks are its host node's (shim.md),
 * shared by every node of that device: not compared. */
static bool is_device(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
}

static bool same_inode(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static void readdir_call(const char *name)
{
	char call[700], *list[64], line[2048] = "";
	DIR *d = opendir(at(name));
	struct dirent *e;
	int n = 0;

	snprintf(call, sizeof(call), "readdir %s", name);
	if (!d) {
		result(call, -1);
		return;
	}
	while (n < 64 && (e = readdir(d)))
		list[n++] = strdup(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) /* the order is each file system's own */
		for (int j = i + 1; j < n; j++)
			if (strcmp(list[i], list[j]) > 0) {
				char *t = list[i];

				list[i] = list[j];
				list[j] = t;
			}
	for (int i = 0; i < n; i++) {
		strncat(line, list[i], sizeof(line) - strlen(line) - 2);
		strcat(line, " ");
		free(list[i]);
	}
	printf("%s = %s\n", call, line);
}

/* name, or now and then the same path spelt otherwise: a trailing slash
 * or dot, a leading "./", a climb through d, a doubled slash; what each
 * means for a file, a directory or a symlink is the path walk's to say */
static const char *spelt(const char *name)
{
	static char buf[2][80];
	static unsigned k;
	static const char *const forms[] = { "%s/", "%s/.", "./%s", "d/../%s", "d//../%s", "%s//" };
	int f = pick(24);

	if (f >= (int)(sizeof(forms) / sizeof(forms[0])))
		return name;
	k = (k + 1) % 2;
	snprintf(buf[k], sizeof(buf[k]), forms[f], name);
	return buf[k];
}

static void one_call(void)
{
	static const int open_flags[] = {
		O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_APPEND, O_WRONLY | O_APPEND, O_RDWR | O_TRUNC,
		O_RDONLY | O_DIRECTORY, O_PATH, O_RDWR | O_CREAT, O_WRONLY | O_CREAT | O_EXCL,
		O_RDWR | O_CREAT | O_TRUNC, O_RDONLY | O_NOFOLLOW, O_WRONLY | O_CREAT | O_APPEND,
		O_RDWR | O_NONBLOCK, O_RDONLY | O_CREAT,
	};
	static const char *const targets[] = { "a", "d", "nowhere", "d/e", "d/../a", "l1", "l2" };
	int k = pick(SLOTS), fd = slot[k], j;
	const char *name = spelt(names[pick(NNAMES)]), *name2 = spelt(names[pick(NNAMES)]);
	char call[1400];
	struct stat st;
	long r;
	off_t off;
	size_t len;

	errno = 0;
	switch (pick(45)) {
	case 0:
	case 1: {
		int flags = open_flags[pick(sizeof(open_flags) / sizeof(open_flags[0]))];

		if (fd >= 0)
			close(fd);
		slot[k] = open(at(name), flags, pick(2) ? 0644 : 0400);
		snprintf(call, sizeof(call), "open %s %#x", name, flags);
		result(call, slot[k] >= 0 ? 0 : -1);
		break;
	}
	case 2:
		if (fd >= 0)
			close(fd);
		slot[k] = -1;
		printf("close %d\n", k);
		break;
	case 3:
		len = pick(3) ? (size_t)pick(9000) : (size_t)pick(BUF_SIZE - 100);
		r = write(fd, src + pick(100), len);
		snprintf(call, sizeof(call), "write %d %zu", k, len);
		result(call, r);
		break;
	case 4:
		len = pick(3) ? (size_t)pick(9000) : (size_t)pick(BUF_SIZE);
		r = read(fd, dst, len);
		snprintf(call, sizeof(call), "read %d %zu", k, len);
		data_result(call, r, dst);
		break;
	case 5:
		off = pick(4) ? pick(20000) : pick(3000000);
		len = (size_t)pick(9000);
		r = pwrite(fd, src + pick(100), len, off);
		snprintf(call, sizeof(call), "pwrite %d %zu %ld", k, len, (long)off);
		result(call, r);
		break;
	case 6:
		off = pick(4) ? pick(20000) : pick(3000000);
		len = (size_t)pick(9000);
		r = pread(fd, dst, len, off);
		snprintf(call, sizeof(call), "pread %d %zu %ld", k, len, (long)off);
		data_result(call, r, dst);
		break;
	case 7: {
		int whence = pick(3);

		off = pick(3) ? pick(20000) : -pick(100);
		snprintf(call, sizeof(call), "lseek %d %ld %d", k, (long)off, whence);
		if (whence == SEEK_END && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* tmpfs refuses it, FUSE's kernel side answers from the size */
			printf("%s: a directory from its end, not compared\n", call);
			break;
		}
		r = lseek(fd, off, whence);
		result(call, r);
		break;
	}
	case 8:
		off = pick(3) ? pick(30000) : pick(4000000);
		r = ftruncate(fd, off);
		snprintf(call, sizeof(call), "ftruncate %d %ld", k, (long)off);
		result(call, r);
		break;
	case 9: {
		static const int modes[] = { 0, FALLOC_FL_KEEP_SIZE,
					     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE };
		int mode = modes[pick(3)];
		off_t n = pick(30000) + 1;

		off = pick(30000);
		r = fallocate(fd, mode, off, n);
		snprintf(call, sizeof(call), "fallocate %d %#x %ld %ld", k, mode, (long)off, (long)n);
		result(call, r);
		break;
	}
	case 10:
		r = fstat(fd, &st);
		snprintf(call, sizeof(call), "fstat %d", k);
		stat_result(call, (int)r, &st);
		break;
	case 11: {
		int flags = pick(2) ? AT_SYMLINK_NOFOLLOW : 0;

		r = fstatat(AT_FDCWD, at(name), &st, flags);
		snprintf(call, sizeof(call), "stat %s %#x", name, flags);
		stat_result(call, (int)r, &st);
		break;
	}
	case 12:
		r = unlink(at(name));
		snprintf(call, sizeof(call), "unlink %s", name);
		result(call, r);
		break;
	case 13:
		r = mkdir(at(name), 0755);
		snprintf(call, sizeof(call), "mkdir %s", name);
		result(call, r);
		break;
	case 14:
		r = rmdir(at(name));
		snprintf(call, sizeof(call), "rmdir %s", name);
		result(call, r);
		break;
	case 15: {
		unsigned flags = pick(3) == 0 ? RENAME_NOREPLACE : pick(4) == 0 ? RENAME_EXCHANGE : 0;

		r = renameat2(AT_FDCWD, at(name), AT_FDCWD, at(name2), flags);
		snprintf(call, sizeof(call), "rename %s %s %u", name, name2, flags);
		result(call, r);
		break;
	}
	case 16:
		r = link(at(name), at(name2));
		snprintf(call, sizeof(call), "link %s %s", name, name2);
		result(call, r);
		break;
	case 17: {
		const char *t = targets[pick(sizeof(targets) / sizeof(targets[0]))];

		r = symlink(t, at(name));
		snprintf(call, sizeof(call), "symlink %s %s", t, name);
		result(call, r);
		break;
	}
	case 18: {
		char target[300];

		r = readlink(at(name), target, sizeof(target));
		snprintf(call, sizeof(call), "readlink %s", name);
		if (r >= 0)
			printf("%s = %.*s\n", call, (int)r, target);
		else
			result(call, r);
		break;
	}
	case 19: {
		static const int fl[] = { O_APPEND, 0, O_NONBLOCK, O_APPEND | O_NONBLOCK };
		int f = fl[pick(4)];

		r = fcntl(fd, F_SETFL, f);
		snprintf(call, sizeof(call), "setfl %d %#x", k, f);
		result(call, r);
		r = fcntl(fd, F_GETFL);
		snprintf(call, sizeof(call), "getfl %d", k);
		result(call, r < 0 ? r : (r & ~0100000)); /* O_LARGEFILE: the ABI's */
		break;
	}
	case 20:
		j = pick(SLOTS);
		if (slot[j] >= 0)
			close(slot[j]);
		slot[j] = dup(fd);
		snprintf(call, sizeof(call), "dup %d to %d", k, j);
		result(call, slot[j] >= 0 ? 0 : -1);
		break;
	case 21: {
		struct iovec iov[3] = { { src, (size_t)pick(5000) },
					{ src + 7, (size_t)pick(100) },
					{ src + 99, (size_t)pick(6000) } };

		off = pick(20000);
		r = pick(2) ? writev(fd, iov, 3) : pwritev(fd, iov, 3, off);
		snprintf(call, sizeof(call), "writev %d", k);
		result(call, r);
		break;
	}
	case 22:
		readdir_call(name);
		break;
	case 23: {
		mode_t mode = pick(2) ? 0644 : pick(2) ? 0755 : 01777;

		r = chmod(at(name), mode);
		snprintf(call, sizeof(call), "chmod %s %o", name, (unsigned)mode);
		result(call, r);
		break;
	}
	case 24: {
		loff_t from = pick(10000);
		bool at_offset = pick(2);

		j = pick(SLOTS);
		len = (size_t)pick(20000);
		r = copy_file_range(fd, at_offset ? &from : NULL, slot[j], NULL, len, 0);
		snprintf(call, sizeof(call), "copy_file_range %d %d %zu", k, j, len);
		result(call, r);
		break;
	}
	case 25:
		off = pick(30000);
		r = truncate(at(name), off);
		snprintf(call, sizeof(call), "truncate %s %ld", name, (long)off);
		result(call, r);
		break;
	case 26:
		j = pick(SLOTS);
		len = (size_t)pick(20000);
		snprintf(call, sizeof(call), "sendfile %d %d %zu", j, k, len);
		if (fd >= 0 && slot[j] >= 0 && j != k && same_inode(fd, slot[j])) {
			printf("%s: one inode, not compared\n", call);
			break;
		}
		r = sendfile(slot[j], fd, NULL, len);
		result(call, r);
		break;
	case 27: {
		/* a name relative to a slot's descriptor (a directory, or not) */
		int flags = open_flags[pick(sizeof(open_flags) / sizeof(open_flags[0]))];
		const char *rel = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

		j = pick(SLOTS);
		if (slot[j] >= 0)
			close(slot[j]);
		slot[j] = openat(fd, rel, flags, 0644);
		snprintf(call, sizeof(call), "openat %d %s %#x to %d", k, rel, flags, j);
		result(call, slot[j] >= 0 ? 0 : -1);
		break;
	}
	case 28: {
		mode_t mode = pick(2) ? 0600 : 02755;

		r = fchmod(fd, mode);
		snprintf(call, sizeof(call), "fchmod %d %o", k, (unsigned)mode);
		result(call, r);
		break;
	}
	case 29: {
		/* times set outright compare; "now" only as set */
		struct timespec ts[2] = { { 1000000 + pick(1000), pick(1000) * 1000 },
					  { 2000000 + pick(1000), pick(2) ? UTIME_OMIT : 777 } };
		int flags = pick(2) ? AT_SYMLINK_NOFOLLOW : 0;

		bool by_name = pick(2);

		r = by_name ? utimensat(AT_FDCWD, at(name), ts, flags) : futimens(fd, ts);
		snprintf(call, sizeof(call), "utimens %s %#x", by_name ? name : "(slot)", flags);
		if (!by_name)
			snprintf(call, sizeof(call), "futimens %d", k);
		result(call, r);
		if (r == 0 && ts[1].tv_nsec != UTIME_OMIT && /* else a time of the run's */
		    (by_name ? fstatat(AT_FDCWD, at(name), &st, flags) : fstat(fd, &st)) == 0)
			printf("  mtime %ld.%09ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		break;
	}
	case 30: {
		int flags = pick(3) == 0 ? AT_EMPTY_PATH : pick(2) ? AT_SYMLINK_FOLLOW : 0;

		r = flags == AT_EMPTY_PATH ? linkat(fd, "", AT_FDCWD, at(name2), flags)
					   : linkat(AT_FDCWD, at(name), AT_FDCWD, at(name2), flags);
		snprintf(call, sizeof(call), "linkat %s %d %s %#x", name, k, name2, flags);
		result(call, r);
		break;
	}
	case 31: {
		int flags = pick(2) ? AT_REMOVEDIR : 0;

		r = unlinkat(AT_FDCWD, at(name), flags);
		snprintf(call, sizeof(call), "unlinkat %s %#x", name, flags);
		result(call, r);
		break;
	}
	case 32: {
		/* an unnamed file in a directory, then perhaps a name */
		int t;

		if (no_tmpfile) {
			printf("tmpfile: not compared\n");
			break;
		}
		t = open(at(pick(2) ? "d" : "."), O_TMPFILE | O_RDWR, 0600);

		snprintf(call, sizeof(call), "tmpfile to %d", k);
		result(call, t >= 0 ? 0 : -1);
		if (t < 0)
			break;
		if (write(t, src + pick(100), (size_t)pick(5000)) < 0)
			printf("  tmpfile write failed\n");
		if (pick(2)) {
			r = linkat(t, "", AT_FDCWD, at(name), AT_EMPTY_PATH);
			snprintf(call, sizeof(call), "  tmpfile named %s", name);
			result(call, r);
		}
		if (fd >= 0)
			close(fd);
		slot[k] = t;
		break;
	}
	case 33: {
		struct flock fl = { .l_type = pick(3) == 0 ? F_UNLCK : pick(2) ? F_WRLCK : F_RDLCK,
				    .l_whence = SEEK_SET, .l_start = pick(100), .l_len = pick(50) };
		int cmd = pick(2) ? F_SETLK : F_OFD_SETLK;

		if (is_device(fd)) {
			printf("lock %d: a device node, not compared\n", k);
			break;
		}
		r = fcntl(fd, cmd, &fl);
		snprintf(call, sizeof(call), "lock %d %d", k, fl.l_type);
		result(call, r);
		break;
	}
	case 34: {
		struct statx sx;

		r = statx(AT_FDCWD, at(name), pick(2) ? AT_SYMLINK_NOFOLLOW : 0, STATX_BASIC_STATS, &sx);
		snprintf(call, sizeof(call), "statx %s", name);
		if (r == 0)
			printf("%s = 0 mode %o nlink %u size %lld\n", call, (unsigned)sx.stx_mode, sx.stx_nlink,
			       S_ISREG(sx.stx_mode) ? (long long)sx.stx_size : 0LL);
		else
			result(call, r);
		break;
	}
	case 35: {
		/* a child writes through the inherited description: its offset is
		 * the parent's */
		pid_t pid;
		int status = 0;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(write(fd, src, (size_t)pick(3000)) < 0 ? 1 : 0);
		waitpid(pid, &status, 0);
		snprintf(call, sizeof(call), "child write %d", k);
		result(call, pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		break;
	}
	case 36: {
		/* a shared mapping of the file: a read of a page, a store */
		void *m;

		off = (off_t)pick(4) * 4096;
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
		snprintf(call, sizeof(call), "mmap %d %ld", k, (long)off);
		if (m == MAP_FAILED) {
			result(call, -1);
			break;
		}
		r = fstat(fd, &st);
		if (r == 0 && st.st_size >= off + 4096) {
			/* wholly inside the file: no SIGBUS to take */
			printf("%s = ok sum %016llx\n", call, (unsigned long long)fnv(m, 4096));
			memcpy((char *)m + pick(4000), src, 64);
		} else {
			printf("%s = ok\n", call);
		}
		munmap(m, 4096);
		break;
	}
	case 37: {
		/* owners: root may give any, a user only its own groups; a
		 * change takes set-user-ID (and set-group-ID) from a file */
		static const unsigned ids[] = { 0, NOBODY, (unsigned)-1, 1234 };
		uid_t u = (uid_t)ids[pick(4)];
		gid_t g = (gid_t)ids[pick(4)];
		int how = pick(3);

		r = how == 0 ? chown(at(name), u, g)
		  : how == 1 ? lchown(at(name), u, g)
			     : fchown(fd, u, g);
		snprintf(call, sizeof(call), "%s %s %d %d %d",
			 how == 0 ? "chown" : how == 1 ? "lchown" : "fchown",
			 how == 2 ? "(slot)" : name, k, (int)u, (int)g);
		result(call, r);
		if (r == 0 && (how == 2 ? fstat(fd, &st) : lstat(at(name), &st)) == 0)
			printf("  owner %u:%u mode %o\n", (unsigned)st.st_uid, (unsigned)st.st_gid,
			       (unsigned)st.st_mode);
		break;
	}
	case 38: {
		/* calls relative to a working directory in the tree */
		int here = open(".", O_RDONLY | O_DIRECTORY);
		const char *rel = strrchr(name2, '/') ? strrchr(name2, '/') + 1 : name2;

		r = chdir(at(name));
		snprintf(call, sizeof(call), "chdir %s", name);
		result(call, r);
		if (r == 0) {
			r = lstat(rel, &st);
			snprintf(call, sizeof(call), "  lstat %s", rel);
			stat_result(call, (int)r, &st);
			r = access(rel, W_OK);
			snprintf(call, sizeof(call), "  access %s W", rel);
			result(call, r);
			r = stat("..", &st);
			snprintf(call, sizeof(call), "  stat ..");
			stat_result(call, (int)r, &st);
		}
		if (here < 0 || fchdir(here))
			printf("  back: %s\n", strerrorname_np(errno));
		if (here >= 0)
			close(here);
		break;
	}
	case 39: {
		/* other kinds of file: a regular one by mknod, /dev/null's node
		 * (root only); no FIFO, whose blocking opens would hang a run */
		mode_t mode = pick(2) ? S_IFREG | 0644 : S_IFCHR | 0666;

		r = mknod(at(name), mode, S_ISCHR(mode) ? makedev(1, 3) : 0);
		snprintf(call, sizeof(call), "mknod %s %o", name, (unsigned)mode);
		result(call, r);
		break;
	}
	case 40: {
		/* vectored writes with RWF_ flags, at the offset or at -1 */
		static const int rwf[] = { 0, RWF_APPEND, RWF_DSYNC, RWF_SYNC, 0x80000 };
		int flags = rwf[pick(5)];
		struct iovec v[2] = { { src + pick(100), (size_t)pick(3000) },
				      { src + 7, (size_t)pick(3000) } };

		off = pick(2) ? -1 : (off_t)pick(40000);
		r = pwritev2(fd, v, 2, off, flags);
		snprintf(call, sizeof(call), "pwritev2 %d %ld %#x", k, (long)off, flags);
		result(call, r);
		break;
	}
	case 41: {
		/* the calls that only ask: sync, advice, flock */
		int how = pick(5);
		static const int fl[] = { LOCK_SH | LOCK_NB, LOCK_EX | LOCK_NB, LOCK_UN, 0 };

		if (how == 4 && is_device(fd)) {
			pick(4); /* as flock's operation below: the sequence stays */
			printf("flock %d: a device node, not compared\n", k);
			break;
		}
		r = how == 0 ? fsync(fd)
		  : how == 1 ? fdatasync(fd)
		  : how == 2 ? syncfs(fd)
		  : how == 3 ? (errno = posix_fadvise(fd, pick(5000), pick(5000), pick(7)),
				errno ? -1 : 0)
			     : flock(fd, fl[pick(4)]);
		snprintf(call, sizeof(call), "sync-or-advise %d %d", k, how);
		result(call, r);
		break;
	}
	case 42: {
		/* access with its flags; chmod not following a symlink */
		int mode = pick(8), flags = pick(2) ? AT_EACCESS : 0;

		if (pick(2)) {
			flags |= pick(2) ? AT_SYMLINK_NOFOLLOW : 0;
			r = faccessat(AT_FDCWD, at(name), mode, flags);
			snprintf(call, sizeof(call), "faccessat %s %d %#x", name, mode, flags);
		} else {
			r = fchmodat(AT_FDCWD, at(name), 0640, AT_SYMLINK_NOFOLLOW);
			snprintf(call, sizeof(call), "fchmodat-nofollow %s", name);
		}
		result(call, r);
		break;
	}
	case 43: {
		/* the process's umask, which every later create takes */
		static const mode_t masks[] = { 022, 077, 0, 027 };
		mode_t m = masks[pick(4)];

		printf("umask %03o was %03o\n", (unsigned)m, (unsigned)umask(m));
		break;
	}
	case 44: {
		/* a copy of a slot with close-on-exec asked for, and what the
		 * descriptor and the description say after */
		int to = pick(2) ? dup3(fd, 200 + k, O_CLOEXEC) : fcntl(fd, F_DUPFD_CLOEXEC, 200);

		snprintf(call, sizeof(call), "dup-cloexec %d", k);
		if (to < 0) {
			result(call, -1);
			break;
		}
		printf("%s = 0 fd-flags %d fl %#x\n", call, fcntl(to, F_GETFD),
		       fcntl(to, F_GETFL) & ~0100000); /* O_LARGEFILE: the ABI's */
		close(to);
		break;
	}
	}
}

/* As root, for --nobody: the directory sticky and open to all, as /tmp
 * is; root's files in it (c, 0644; e, 0666), and root's directory d
 * (0755) with root's d/b (0600), among which uid 65534 makes its own. */
static int nobody_setup(void)
{
	static const struct { const char *name; mode_t mode; } mine[] = {
		{ "c", 0644 }, { "e", 0666 }, { "d/b", 0600 },
	};

	if (chmod(root, 01777) || mkdir(at("d"), 0755))
		return -1;
	for (unsigned i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		int fd = open(at(mine[i].name), O_WRONLY | O_CREAT | O_EXCL, mine[i].mode);

		if (fd < 0 || write(fd, src, 1000) != 1000 || fchmod(fd, mine[i].mode) || close(fd))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool tracing = false;
	long count;
	uint64_t sum;

	if (argc < 4) {
		fprintf(stderr, "usage: callfuzz DIR SEED COUNT [--trace] [--no-tmpfile] [--nobody]\n");
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		tracing |= !strcmp(argv[i], "--trace");
		no_tmpfile |= !strcmp(argv[i], "--no-tmpfile");
		as_nobody |= !strcmp(argv[i], "--nobody");
	}
	snprintf(root, sizeof(root), "%s", argv[1]);
	rng = strtoull(argv[2], NULL, 0) * 2654435761ull + 1;
	count = atol(argv[3]);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (int i = 0; i < SLOTS; i++)
		slot[i] = -1;
	for (int i = 0; i < BUF_SIZE; i++)
		src[i] = (char)(i * 7 + 3);
	if (as_nobody && (nobody_setup() || setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))) {
		perror("callfuzz: becoming uid 65534");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		one_call();
		if (tracing)
			trace();
	}
	for (unsigned i = 0; i < NNAMES; i++) {
		long n = file_sum(at(names[i]), &sum);

		if (n >= 0)
			printf("end %s size %ld sum %016llx\n", names[i], n, (unsigned long long)sum);
	}
	return 0;
}
