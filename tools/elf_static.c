/* SPDX-License-Identifier: MIT */
/*
 * elf_static.c - whether the program umfs-run starts can load libumfs.so
 * at all: LD_PRELOAD means nothing to an ELF without an interpreter (a
 * static one), and a 32-bit program's ld.so ignores it (elfinterp.h).
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

int umfs_program_elf_kind(const char *path)
{
	unsigned char buf[sizeof(Elf64_Ehdr)];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int kind;

	if (fd < 0)
		return UMFS_ELF_LOADS;
	n = pread(fd, buf, sizeof(buf), 0);
	kind = n > 0 ? umfs_elf_kind_of(fd, buf, (size_t)n, pread) : UMFS_ELF_NOT_ELF;
	close(fd);
	return kind;
}
