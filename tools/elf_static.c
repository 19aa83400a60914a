/* SPDX-License-Identifier: MIT */
/*
 * elf_static.c - whether the program umfs-run starts can load libumfs.so
 * at all: an ELF without an interpreter (PT_INTERP) is static, and
 * LD_PRELOAD means nothing to it.
 */
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Reads the program headers of one class of ELF. */
#define ELF_HAS_INTERP(Ehdr, Phdr)                                                        \
	do {                                                                               \
		Ehdr *eh = (Ehdr *)buf;                                                    \
		Phdr ph;                                                                   \
		if (eh->e_phentsize != sizeof(Phdr))                                       \
			goto out;                                                          \
		for (unsigned i = 0; i < eh->e_phnum; i++) {                               \
			if (pread(fd, &ph, sizeof(ph),                                     \
				  (off_t)(eh->e_phoff + (Elf64_Off)i * sizeof(ph))) !=      \
			    (ssize_t)sizeof(ph))                                           \
				goto out;                                                  \
			if (ph.p_type == PT_INTERP)                                        \
				goto out;                                                  \
		}                                                                          \
		is_static = true;                                                          \
	} while (0)

bool umfs_elf_is_static(const char *path)
{
	unsigned char buf[sizeof(Elf64_Ehdr)];
	bool is_static = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    memcmp(buf, ELFMAG, SELFMAG) != 0)
		goto out;
	if (buf[EI_CLASS] == ELFCLASS64)
		ELF_HAS_INTERP(Elf64_Ehdr, Elf64_Phdr);
	else if (buf[EI_CLASS] == ELFCLASS32)
		ELF_HAS_INTERP(Elf32_Ehdr, Elf32_Phdr);
out:
	close(fd);
	return is_static;
}
