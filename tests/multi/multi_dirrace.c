/* SPDX-License-Identifier: MIT */
/*
 * multi_dirrace.c - listers beside changers of one directory, in separate
 * processes: every errno a lister meets is counted.
 *
 *   multi_dirrace DIR SECONDS
 *
 * Two changers create, rename and unlink names in DIR. The lister reads
 * DIR with readdir (errno cleared before each call: NULL with errno still
 * 0 is the end), fstatat of each name it got (ENOENT allowed: the name may
 * have gone since), getdents64 on a descriptor of DIR, and stat of a name
 * that never changes. It prints "listings N" and one "errno NAME COUNT"
 * line per errno met; the kernel gives none, whatever the changers do.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAMES 200

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

static unsigned long errs[256];

static void count(int e, const char *what)
{
	if (errs[e & 255]++ == 0)
		fprintf(stderr, "multi_dirrace: first %s from %s\n", strerrorname_np(e) ?: "?", what);
}

static void list_once(const char *dir, const char *fixed)
{
	char buf[8192];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);
	long n;
	int fd;

	if (!d) {
		count(errno, "opendir");
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				count(errno, "readdir");
			break;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) && errno != ENOENT)
			count(errno, "fstatat");
	}
	closedir(d);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		count(errno, "open");
		return;
	}
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		count(errno, "getdents64");
	close(fd);
	if (stat(fixed, &st))
		count(errno, "stat");
}

int main(int argc, char **argv)
{
	char fixed[4096];
	unsigned long listings = 0;
	double end;
	pid_t kids[2];
	int fd, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: multi_dirrace DIR SECONDS\n");
		return 2;
	}
	end = now() + atof(argv[2]);
	snprintf(fixed, sizeof(fixed), "%s/fixed", argv[1]);
	if (mkdir(argv[1], 0755) || (fd = open(fixed, O_CREAT | O_WRONLY, 0644)) < 0) {
		perror(argv[1]);
		return 2;
	}
	close(fd);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			changer(argv[1], k, end);
			_exit(0);
		}
	}
	while (now() < end) {
		list_once(argv[1], fixed);
		listings++;
	}
	for (int k = 0; k < 2; k++)
		waitpid(kids[k], NULL, 0);
	printf("listings %lu\n", listings);
	for (int e = 0; e < 256; e++)
		if (errs[e]) {
			printf("errno %s %lu\n", strerrorname_np(e) ?: "?", errs[e]);
			bad = 1;
		}
	return bad;
}
