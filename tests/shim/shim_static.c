/* SPDX-License-Identifier: MIT */
/*
 * shim_static.c - linked statically, so that it can never load libumfs.so:
 * what such an image was handed when a process under the library started
 * it. Prints one line: its first argument (how it was started; a #!
 * line's argument for a script), then the library's own descriptors it
 * holds (the pool UMFS_POOL names, a pool's runtime directory
 * /dev/shm/umfs-UUID-ID or /tmp/umfs-UUID-ID and the files in it; the
 * tokens of UMFS files and the text hold of a UMFS program are the
 * program's files, not the library's) and whether UMFS_FDS is set.
 * processes.sh compares the lines with those of the same starts on tmpfs.
 */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The length of a runtime directory's name at the start of link, or 0. */
static size_t rundir_len(const char *link)
{
	static const char *const bases[] = { "/dev/shm/umfs-", "/tmp/umfs-" };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		size_t n = strlen(bases[b]), i;

		if (strncmp(link, bases[b], n) != 0)
			continue;
		for (i = 0; i < 32 + 1 + 16; i++) {
			char c = link[n + i];

			if (i == 32 ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				break;
		}
		if (i == 32 + 1 + 16 && (link[n + i] == '\0' || link[n + i] == '/'))
			return n + i;
	}
	return 0;
}

/* Whether rest, what follows a runtime directory's name in a link, is a
 * file of the program's own: a UMFS file's token (shim/ofd/N) or the text
 * hold of a UMFS program. */
static bool programs_own(const char *rest)
{
	if (strncmp(rest, "/shim/ofd/", 10) == 0)
		return strspn(rest + 10, "0123456789") == strlen(rest + 10) && rest[10];
	return strncmp(rest, "/shim/tx-", 9) == 0;
}

int main(int argc, char **argv)
{
	const char *pool = getenv("UMFS_POOL");
	char line[4096] = "", link[PATH_MAX + 1], proc[64];
	struct stat ps, fs;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t used = 0;
	bool have_pool = pool && stat(pool, &ps) == 0;

	if (!d) {
		perror("/proc/self/fd");
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		ssize_t n;
		size_t r;

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		r = rundir_len(link);
		if ((r && !programs_own(link + r)) ||
		    (have_pool && fstat(fd, &fs) == 0 && fs.st_dev == ps.st_dev &&
		     fs.st_ino == ps.st_ino))
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %d=%s", fd,
						 r ? (link[r] ? link + r : "/") : "pool");
		if (used >= sizeof(line))
			break;
	}
	closedir(d);
	printf("%s: library descriptors:%s; UMFS_FDS %s\n", argc > 1 ? argv[1] : "?",
	       used ? line : " none", getenv("UMFS_FDS") ? "set" : "unset");
	return 0;
}
