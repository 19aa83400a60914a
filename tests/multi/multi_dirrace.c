/* SPDX-License-Identifier: MIT */
/*
 * multi_dirrace.c - readers beside changers of one directory, in separate
 * processes: every errno a reader meets is counted, by reader and call.
 *
 *   multi_dirrace [-w WDIR [-b]] DIR SECONDS
 *
 * Two changers create, rename and unlink names in DIR (the second in WDIR,
 * the same directory reached another way, when given: through the library
 * beside a FUSE mount of the same pool; with -b both work in WDIR). Three
 * readers, each a process, in DIR:
 *
 *   lister   readdir (errno cleared before each call: NULL with errno
 *            still 0 is the end), fstatat of each name it got,
 *            getdents64 on a descriptor of DIR, stat of a name that never
 *            changes;
 *   scanner  scandir, then stat and open of each name it listed;
 *   prober   stat, lstat, open and access of the changers' names, listed
 *            or not.
 *
 * ENOENT from a call on a changers' name is what the kernel gives when the
 * name went away: counted apart. Any other errno, and ENOENT on DIR or on
 * the name that never changes, is one the kernel never gives, whatever the
 * changers do; so is a listing without the name that never changes, or
 * with it twice. It prints "listings N", "calls N", "enoent N" and one
 * "errno READER CALL NAME COUNT" line per errno it should not have met,
 * and exits 1 if there was one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAMES 200
#define FIXED "fixed"

enum reader { LISTER, SCANNER, PROBER, READERS };
enum call { C_OPENDIR, C_READDIR, C_FSTATAT, C_GETDENTS, C_OPEN_DIR, C_STAT_FIXED, C_SCANDIR,
	    C_STAT, C_LSTAT, C_OPEN, C_ACCESS, C_FIXED_SEEN, CALLS };

static const char *const reader_names[READERS] = { "lister", "scanner", "prober" };
static const char *const call_names[CALLS] = {
	"opendir", "readdir", "fstatat", "getdents64", "open-dir", "stat-fixed", "scandir",
	"stat", "lstat", "open", "access", "fixed-once",
};

/* Shared by the readers and the parent: the counts survive the readers. */
struct tally {
	unsigned long listings, calls, enoent;
	unsigned long bad[READERS][CALLS][256];
};
static struct tally *tally;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void changer(const char *dir, int k, double end)
{
	char p[4096], q[4096];

	for (unsigned i = 0; now() < end; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/w%d-%u", dir, k, i % NAMES);
		snprintf(q, sizeof(q), "%s/r%d-%u", dir, k, i % NAMES);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (fd >= 0)
			close(fd);
		rename(p, q);
		if (i % 3 == 0)
			unlink(q);
	}
}

static void bad(enum reader r, enum call c, int e)
{
	if (tally->bad[r][c][e & 255]++ == 0)
		fprintf(stderr, "multi_dirrace: first %s from %s's %s\n",
			e ? strerrorname_np(e) ?: "?" : "anomaly", reader_names[r], call_names[c]);
}

/* The result of a call on a name the changers may remove: 0 or -1. */
static void on_name(enum reader r, enum call c, int ret)
{
	__atomic_fetch_add(&tally->calls, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		return;
	if (errno == ENOENT)
		__atomic_fetch_add(&tally->enoent, 1, __ATOMIC_RELAXED);
	else
		bad(r, c, errno);
}

/* The result of a call that must succeed: 0 or -1. */
static void on_fixed(enum reader r, enum call c, int ret)
{
	__atomic_fetch_add(&tally->calls, 1, __ATOMIC_RELAXED);
	if (ret < 0)
		bad(r, c, errno);
}

static void listed(enum reader r, unsigned fixed_seen)
{
	__atomic_fetch_add(&tally->listings, 1, __ATOMIC_RELAXED);
	if (fixed_seen != 1)
		bad(r, C_FIXED_SEEN, 0);
}

static void lister(const char *dir, double end)
{
	char buf[8192], fixed[4096];
	struct stat st;

	snprintf(fixed, sizeof(fixed), "%s/" FIXED, dir);
	while (now() < end) {
		struct dirent *e;
		unsigned seen = 0;
		DIR *d = opendir(dir);
		long n;
		int fd;

		on_fixed(LISTER, C_OPENDIR, d ? 0 : -1);
		if (!d)
			continue;
		for (;;) {
			errno = 0;
			e = readdir(d);
			if (!e) {
				on_fixed(LISTER, C_READDIR, errno ? -1 : 0);
				break;
			}
			seen += !strcmp(e->d_name, FIXED);
			on_name(LISTER, C_FSTATAT,
				fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW));
		}
		closedir(d);
		listed(LISTER, seen);
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		on_fixed(LISTER, C_OPEN_DIR, fd);
		if (fd < 0)
			continue;
		seen = 0;
		while ((n = getdents64(fd, buf, sizeof(buf))) > 0)
			for (long off = 0; off < n;) {
				struct dirent64 *g = (struct dirent64 *)(buf + off);

				seen += !strcmp(g->d_name, FIXED);
				off += g->d_reclen;
			}
		on_fixed(LISTER, C_GETDENTS, n < 0 ? -1 : 0);
		close(fd);
		listed(LISTER, seen);
		on_fixed(LISTER, C_STAT_FIXED, stat(fixed, &st));
	}
}

static void scanner(const char *dir, double end)
{
	char p[4096];
	struct stat st;

	while (now() < end) {
		struct dirent **v;
		unsigned seen = 0;
		int n = scandir(dir, &v, NULL, alphasort);

		on_fixed(SCANNER, C_SCANDIR, n < 0 ? -1 : 0);
		if (n < 0)
			continue;
		for (int i = 0; i < n; i++) {
			int fd;

			seen += !strcmp(v[i]->d_name, FIXED);
			snprintf(p, sizeof(p), "%s/%s", dir, v[i]->d_name);
			on_name(SCANNER, C_STAT, stat(p, &st));
			fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			on_name(SCANNER, C_OPEN, fd);
			if (fd >= 0)
				close(fd);
			free(v[i]);
		}
		free(v);
		listed(SCANNER, seen);
	}
}

static void prober(const char *dir, double end)
{
	char p[4096];
	struct stat st;

	for (unsigned i = 0; now() < end; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/%c%u-%u", dir, i & 1 ? 'r' : 'w', (i >> 1) & 1,
			 (i >> 2) % NAMES);
		on_name(PROBER, C_STAT, stat(p, &st));
		on_name(PROBER, C_LSTAT, lstat(p, &st));
		fd = open(p, O_RDONLY | O_CLOEXEC);
		on_name(PROBER, C_OPEN, fd);
		if (fd >= 0)
			close(fd);
		on_name(PROBER, C_ACCESS, access(p, R_OK));
	}
}

int main(int argc, char **argv)
{
	void (*const readers[READERS])(const char *, double) = { lister, scanner, prober };
	const char *wdir = NULL, *dir;
	bool both = false;
	char fixed[4096];
	pid_t kids[2 + READERS];
	double end;
	int fd, opt, failed = 0;

	while ((opt = getopt(argc, argv, "w:b")) != -1) {
		if (opt == 'w')
			wdir = optarg;
		else if (opt == 'b')
			both = true;
		else
			goto usage;
	}
	if (argc - optind != 2 || (both && !wdir))
		goto usage;
	dir = argv[optind];
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (tally == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	snprintf(fixed, sizeof(fixed), "%s/" FIXED, dir);
	if (mkdir(dir, 0755) || (fd = open(fixed, O_CREAT | O_WRONLY, 0644)) < 0) {
		perror(dir);
		return 2;
	}
	close(fd);
	end = now() + atof(argv[optind + 1]);
	for (int k = 0; k < 2 + READERS; k++) {
		kids[k] = fork();
		if (kids[k] < 0) {
			perror("fork");
			return 2;
		}
		if (kids[k] > 0)
			continue;
		if (k < 2)
			changer(wdir && (k == 1 || both) ? wdir : dir, k, end);
		else
			readers[k - 2](dir, end);
		_exit(0);
	}
	for (int k = 0; k < 2 + READERS; k++) {
		int status;

		if (waitpid(kids[k], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "multi_dirrace: process %d did not exit cleanly (%#x)\n", k,
				status);
			failed = 1;
		}
	}
	printf("listings %lu\ncalls %lu\nenoent %lu\n", tally->listings, tally->calls,
	       tally->enoent);
	for (int r = 0; r < READERS; r++)
		for (int c = 0; c < CALLS; c++)
			for (int e = 0; e < 256; e++)
				if (tally->bad[r][c][e]) {
					printf("errno %s %s %s %lu\n", reader_names[r], call_names[c],
					       e ? strerrorname_np(e) ?: "?" : "-",
					       tally->bad[r][c][e]);
					failed = 1;
				}
	return failed;
usage:
	fprintf(stderr, "usage: multi_dirrace [-w WDIR [-b]] DIR SECONDS\n");
	return 2;
}
