/* SPDX-License-Identifier: MIT */
/*
 * elf_static.c - whether the program umfs-run starts can load libumfs.so
 * at all: an ELF without an interpreter is static (elfinterp.h), and
 * LD_PRELOAD means nothing to it.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinterp.h"
#include "fallback.h"

bool umfs_program_find(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return true;
	}
	for (p = path && *path ? path : "/bin:/usr/bin"; ; p = end + 1) {
		int len;

		end = strchr(p, ':');
		len = end ? (int)(end - p) : (int)strlen(p);
		if ((size_t)snprintf(out, size, "%.*s%s%s", len, p, len ? "/" : "", name) < size &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return true;
		if (!end)
			return false;
	}
}

bool umfs_elf_is_static(const char *path)
{
	unsigned char buf[sizeof(Elf64_Ehdr)];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	bool is_static;

	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	is_static = n > 0 && umfs_elf_has_interp(fd, buf, (size_t)n, pread) == 0;
	close(fd);
	return is_static;
}
