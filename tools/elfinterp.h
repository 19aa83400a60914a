/* SPDX-License-Identifier: MIT */
/*
 * elfinterp.h - whether an ELF image can load libumfs.so: it names an
 * interpreter (PT_INTERP), so ld.so runs it and reads LD_PRELOAD, and it is
 * built for the library's own class and machine. A static image cannot,
 * and neither can a 32-bit one or one for another CPU: its ld.so refuses a
 * library of another class ("wrong ELF class: ignored"). The rule umfs-run
 * (a program it starts) and the shim (an image it executes) share; each
 * reads the file its own way.
 */
#ifndef UMFS_ELFINTERP_H
#define UMFS_ELFINTERP_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* The class and machine of the code that includes this: the library's. */
#if defined(__x86_64__) && defined(__ILP32__)
#define UMFS_ELF_OWN_CLASS ELFCLASS32
#define UMFS_ELF_OWN_MACHINE EM_X86_64
#elif defined(__x86_64__)
#define UMFS_ELF_OWN_CLASS ELFCLASS64
#define UMFS_ELF_OWN_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define UMFS_ELF_OWN_CLASS ELFCLASS64
#define UMFS_ELF_OWN_MACHINE EM_AARCH64
#endif

/* What an image is, as far as loading the library goes. */
enum umfs_elf_kind {
	UMFS_ELF_NOT_ELF = -1,
	UMFS_ELF_STATIC = 0,  /* no interpreter: nothing reads LD_PRELOAD */
	UMFS_ELF_LOADS = 1,   /* loads it, or cannot be told (nothing changes then) */
	UMFS_ELF_FOREIGN = 2, /* another class or machine (a 32-bit program) */
};

/* Program headers looked at: PT_INTERP comes before any loadable one. */
#define UMFS_ELF_PHDR_MAX 512

/* Reads len bytes of fd at off: the count read, or less on an error. */
typedef ssize_t (*umfs_elf_read_fn)(int fd, void *buf, size_t len, off_t off);

/*
 * For the file fd whose first len bytes are h: which of enum umfs_elf_kind
 * it is. Headers that cannot be read count as UMFS_ELF_LOADS.
 */
static inline enum umfs_elf_kind umfs_elf_kind_of(int fd, const unsigned char *h, size_t len,
						  umfs_elf_read_fn rd)
{
	int wide;
	size_t esize;
	uint64_t phoff;
	unsigned phnum, i;

	if (len < SELFMAG || memcmp(h, ELFMAG, SELFMAG) != 0)
		return UMFS_ELF_NOT_ELF;
	if (len < EI_NIDENT + 4)
		return UMFS_ELF_LOADS;
#ifdef UMFS_ELF_OWN_CLASS
	/* e_machine lies at byte 18 in both classes */
	if (h[EI_CLASS] != UMFS_ELF_OWN_CLASS || h[EI_DATA] != ELFDATA2LSB ||
	    (unsigned)(h[18] | h[19] << 8) != UMFS_ELF_OWN_MACHINE)
		return UMFS_ELF_FOREIGN;
#endif
	if (len < sizeof(Elf64_Ehdr))
		return UMFS_ELF_LOADS;
	wide = h[EI_CLASS] == ELFCLASS64;
	esize = wide ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (wide) {
		const Elf64_Ehdr *e = (const Elf64_Ehdr *)h;

		phoff = e->e_phoff, phnum = e->e_phnum;
		if (e->e_phentsize != esize)
			return UMFS_ELF_LOADS;
	} else {
		const Elf32_Ehdr *e = (const Elf32_Ehdr *)h;

		phoff = e->e_phoff, phnum = e->e_phnum;
		if (e->e_phentsize != esize)
			return UMFS_ELF_LOADS;
	}
	for (i = 0; i < phnum && i < UMFS_ELF_PHDR_MAX; i++) {
		union {
			Elf64_Phdr p64;
			Elf32_Phdr p32;
		} ph;
		uint64_t at = phoff + (uint64_t)i * esize;

		if (at < phoff || at + esize < at) /* wrapped: no such header */
			return UMFS_ELF_LOADS;
		if (at + esize <= len) /* in the bytes already read */
			memcpy(&ph, h + at, esize);
		else if (rd(fd, &ph, esize, (off_t)at) != (ssize_t)esize)
			return UMFS_ELF_LOADS;
		if ((wide ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP)
			return UMFS_ELF_LOADS;
	}
	return UMFS_ELF_STATIC;
}

#endif
