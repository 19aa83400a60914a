/* SPDX-License-Identifier: MIT */
/*
 * mounts.c - the mount table as a program on the library sees it: the
 * kernel's, plus one line for the UMFS prefix, so that df, findmnt and
 * whatever else reads /proc/self/mountinfo or /proc/mounts find the prefix
 * as a file system of type "umfs" with the pool as its source, under the
 * st_dev that stat reports for UMFS paths.
 *
 * Read-only opens of the table files get a private memfd holding the
 * kernel's text and the added line; nothing is created anywhere else.
 * glibc's own getmntent/setmntent open the file inside libc, out of the
 * library's reach: programs that read the table through them see the
 * kernel's table only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

#define MOUNTS_MAX (4u << 20) /* a larger table is passed through as it is */

enum mounts_kind { MOUNTS_NONE, MOUNTS_INFO, MOUNTS_LIST };

static enum mounts_kind mounts_kind_of(const char *path)
{
	char self[32];
	const char *rest;

	if (strcmp(path, "/etc/mtab") == 0 || strcmp(path, "/proc/mounts") == 0)
		return MOUNTS_LIST;
	if (strncmp(path, "/proc/", 6) != 0)
		return MOUNTS_NONE;
	rest = path + 6;
	snprintf(self, sizeof(self), "%d/", (int)getpid());
	if (strncmp(rest, "self/", 5) == 0)
		rest += 5;
	else if (strncmp(rest, "thread-self/", 12) == 0)
		rest += 12;
	else if (strncmp(rest, self, strlen(self)) == 0)
		rest += strlen(self);
	else
		return MOUNTS_NONE;
	if (strcmp(rest, "mountinfo") == 0)
		return MOUNTS_INFO;
	return strcmp(rest, "mounts") == 0 ? MOUNTS_LIST : MOUNTS_NONE;
}

bool mounts_is_table(const char *path)
{
	/* every table path is shorter than 32 bytes; a bad pointer is the
	 * kernel's to refuse (EFAULT) */
	long n = cfg.enabled && path ? shim_probe_strnlen(path, 32) : -1;

	return n > 1 && n < 32 && path[0] == '/' && (path[1] == 'p' || path[1] == 'e') &&
	       mounts_kind_of(path) != MOUNTS_NONE;
}

/* Writes s with the octal escapes the kernel uses in both tables. */
static size_t mounts_escape(char *out, size_t room, const char *s)
{
	size_t n = 0;

	for (; *s && n + 4 < room; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			n += (size_t)snprintf(out + n, room - n, "\\%03o", (unsigned char)*s);
		else
			out[n++] = *s;
	}
	out[n] = '\0';
	return n;
}

/* The line for the prefix, in the kernel's format for kind. */
static int mounts_line(enum mounts_kind kind, char *out, size_t room)
{
	char pool[2 * PATH_MAX], prefix[2 * PATH_MAX];
	struct umfs_fs *fs;
	struct stat st;
	int err, n;
	bool ro;

	fs = shim_fs(&err);
	if (!fs)
		return err;
	err = umfs_stat(fs, "/", &st, 0);
	if (err)
		return err;
	ro = cfg.readonly;
	mounts_escape(pool, sizeof(pool), cfg.pool);
	mounts_escape(prefix, sizeof(prefix), cfg.prefix);
	if (kind == MOUNTS_LIST)
		n = snprintf(out, room, "%s %s umfs %s 0 0\n", pool, prefix, ro ? "ro" : "rw");
	else /* an id no kernel mount uses; the root mount is its parent */
		n = snprintf(out, room, "%u 1 %u:%u / %s %s - umfs %s %s\n", 0x7fff0000u,
			     major(st.st_dev), minor(st.st_dev), prefix, ro ? "ro" : "rw", pool,
			     ro ? "ro" : "rw");
	return n > 0 && (size_t)n < room ? n : -ENAMETOOLONG;
}

/* The open of a table file (mounts_is_table): the kernel's descriptor when
 * nothing is to be added or anything fails, else a memfd with the line
 * added. As the kernel's open: -1 and errno on failure, errno untouched
 * otherwise. */
int mounts_open(const char *path, int flags)
{
	enum mounts_kind kind = mounts_kind_of(path);
	char line[4 * PATH_MAX + 128], *buf;
	int src, fd, err, saved = errno;
	size_t len = 0;
	ssize_t n;

	SHIM_SERVE(); /* the first use may mount the pool */
	src = OS(open)(path, flags, 0);
	if (src < 0 || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_PATH | O_DIRECTORY)))
		return src;
	err = mounts_line(kind, line, sizeof(line));
	buf = err < 0 ? NULL : malloc(MOUNTS_MAX);
	if (!buf) { /* no pool, no line: the kernel's table as it is */
		errno = saved;
		return src;
	}
	while (len < MOUNTS_MAX && (n = OS(read)(src, buf + len, MOUNTS_MAX - len)) > 0)
		len += (size_t)n;
	if (len + strlen(line) > MOUNTS_MAX) {
		free(buf);
		SYS(lseek)(src, 0, SEEK_SET);
		errno = saved;
		return src;
	}
	memcpy(buf + len, line, strlen(line));
	len += strlen(line);
	fd = SYS(memfd_create)("umfs-mounts", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd >= 0 && (sys_write_full(fd, buf, len, -1) < 0 || SYS(lseek)(fd, 0, SEEK_SET) < 0)) {
		sys_close_quiet(fd);
		fd = -1;
	}
	free(buf);
	if (fd < 0) {
		SYS(lseek)(src, 0, SEEK_SET);
		fd = src;
	} else {
		sys_close_quiet(src);
	}
	errno = saved;
	return fd;
}

/* fopen(path, "r..."): the same, as a stream. */
FILE *mounts_fopen(const char *path, const char *mode)
{
	int fd = mounts_open(path, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0));
	FILE *fp;

	if (fd < 0)
		return NULL;
	fp = SYS(fdopen)(fd, mode);
	if (!fp)
		sys_close_quiet(fd);
	return fp;
}
