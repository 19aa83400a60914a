/* SPDX-License-Identifier: MIT */
/*
 * sec_walk.c - lists a whole tree as a user sees it: one line per path,
 * sorted, with what lstat says or why it failed.
 *
 *   sec_walk ROOT
 *
 * Plain C library calls, so that it lists through whatever serves ROOT:
 * the LD_PRELOAD library (under umfs-run) or the kernel (a umfs-fuse
 * mount). Symbolic links are not followed. Lines (PATH is "." for ROOT):
 *   PATH <TAB> ok <TAB> MODE(octal, with the type) UID GID SIZE INO
 *   PATH <TAB> err <TAB> ERRNO-NAME          lstat failed
 *   PATH <TAB> dir-err <TAB> ERRNO-NAME      opendir or readdir failed
 * Depth and line count are bounded, so that a damaged tree that loops
 * still ends.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 40
#define MAX_LINES 100000

static char **lines;
static size_t nlines, cap;
static const char *root;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (nlines == MAX_LINES)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("sec_walk");
		exit(2);
	}
	va_end(ap);
	if (nlines == cap) {
		cap = cap ? cap * 2 : 1024;
		lines = realloc(lines, cap * sizeof(*lines));
		if (!lines) {
			perror("sec_walk");
			exit(2);
		}
	}
	lines[nlines++] = s;
}

static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* rel: the path from root ("." for root itself); host: the same from "/". */
static void walk(const char *rel, const char *host, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(host, &st) < 0) {
		emit("%s\terr\t%s", rel, err_name(errno));
		return;
	}
	emit("%s\tok\t%o %u %u %lld %llu", rel, st.st_mode, st.st_uid, st.st_gid,
	     (long long)st.st_size, (unsigned long long)st.st_ino);
	if (!S_ISDIR(st.st_mode) || depth == MAX_DEPTH)
		return;
	d = opendir(host);
	if (!d) {
		emit("%s\tdir-err\t%s", rel, err_name(errno));
		return;
	}
	for (;;) {
		char crel[PATH_MAX], chost[PATH_MAX];

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				emit("%s\tdir-err\t%s", rel, err_name(errno));
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(rel, ".") == 0)
			snprintf(crel, sizeof(crel), "%s", e->d_name);
		else
			snprintf(crel, sizeof(crel), "%s/%s", rel, e->d_name);
		snprintf(chost, sizeof(chost), "%s/%s", host, e->d_name);
		walk(crel, chost, depth + 1);
	}
	closedir(d);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sec_walk ROOT\n");
		return 2;
	}
	root = argv[1];
	walk(".", root, 0);
	qsort(lines, nlines, sizeof(*lines), cmp);
	for (size_t i = 0; i < nlines; i++)
		printf("%s\n", lines[i]);
	return fflush(stdout) ? 2 : 0;
}
