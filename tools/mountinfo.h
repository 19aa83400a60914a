/* SPDX-License-Identifier: MIT */
/*
 * mountinfo.h - reading /proc/self/mountinfo, for the tools that judge a
 * path by the mount it lies on (umfs-fuse refusing to stack on itself,
 * mkfs.umfs naming the pages a pool file gets, fsck.umfs telling whether a
 * umfs-fuse daemon still serves a pool).
 */
#ifndef UMFS_TOOLS_MOUNTINFO_H
#define UMFS_TOOLS_MOUNTINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct umfs_mountinfo {
	char mountpoint[PATH_MAX]; /* octal escapes undone */
	char type[256];
	char source[PATH_MAX]; /* octal escapes undone */
	char super_opts[1024];
};

/* Undoes the octal escapes (\040 for a space...) of a mountinfo field. */
static inline void umfs_mountinfo_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The next entry of f (fopen'd /proc/self/mountinfo): true, or false at
 * the end. Lines it cannot parse are skipped. line/cap as getline's. */
static inline bool umfs_mountinfo_next(FILE *f, char **line, size_t *cap,
				       struct umfs_mountinfo *m)
{
	const char *sep;

	while (getline(line, cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - TYPE SOURCE SUPER */
		sep = strstr(*line, " - ");
		if (!sep || sscanf(*line, "%*s %*s %*s %*s %4095s", m->mountpoint) != 1 ||
		    sscanf(sep + 3, "%255s %4095s %1023s", m->type, m->source, m->super_opts) != 3)
			continue;
		umfs_mountinfo_unescape(m->mountpoint);
		umfs_mountinfo_unescape(m->source);
		return true;
	}
	return false;
}

#endif
