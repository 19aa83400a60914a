/* SPDX-License-Identifier: MIT */
/*
 * elfinterp.h - whether an ELF image names an interpreter (PT_INTERP):
 * then ld.so runs it and can preload libumfs.so; a static image cannot.
 * The rule umfs-run (a program it starts) and the shim (an image it
 * executes) share; each reads the file its own way.
 */
#ifndef UMFS_ELFINTERP_H
#define UMFS_ELFINTERP_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* Program headers looked at: PT_INTERP comes before any loadable one. */
#define UMFS_ELF_PHDR_MAX 512

/* Reads len bytes of fd at off: the count read, or less on an error. */
typedef ssize_t (*umfs_elf_read_fn)(int fd, void *buf, size_t len, off_t off);

/*
 * For the file fd whose first len bytes are h: 1 when it is an ELF that
 * names an interpreter, or one whose headers cannot be read (as if it
 * did: nothing is changed for what cannot be told); 0 for an ELF without
 * one (static); -1 when it is no ELF at all.
 */
static inline int umfs_elf_has_interp(int fd, const unsigned char *h, size_t len,
				      umfs_elf_read_fn rd)
{
	int wide;
	size_t esize;
	uint64_t phoff;
	unsigned phnum, i;

	if (len < SELFMAG || memcmp(h, ELFMAG, SELFMAG) != 0)
		return -1;
	if (len < sizeof(Elf64_Ehdr))
		return 1;
	wide = h[EI_CLASS] == ELFCLASS64;
	esize = wide ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (wide) {
		const Elf64_Ehdr *e = (const Elf64_Ehdr *)h;

		phoff = e->e_phoff, phnum = e->e_phnum;
		if (e->e_phentsize != esize)
			return 1;
	} else {
		const Elf32_Ehdr *e = (const Elf32_Ehdr *)h;

		phoff = e->e_phoff, phnum = e->e_phnum;
		if (e->e_phentsize != esize)
			return 1;
	}
	for (i = 0; i < phnum && i < UMFS_ELF_PHDR_MAX; i++) {
		union {
			Elf64_Phdr p64;
			Elf32_Phdr p32;
		} ph;
		uint64_t at = phoff + (uint64_t)i * esize;

		if (at < phoff || at + esize < at) /* wrapped: no such header */
			return 1;
		if (at + esize <= len) /* in the bytes already read */
			memcpy(&ph, h + at, esize);
		else if (rd(fd, &ph, esize, (off_t)at) != (ssize_t)esize)
			return 1;
		if ((wide ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP)
			return 1;
	}
	return 0;
}

#endif
