/* SPDX-License-Identifier: MIT */
/*
 * probe.c - the caller's memory checked before it is used, so that a bad
 * pointer gives EFAULT, as the kernel's copy to or from user memory does,
 * instead of a SIGSEGV inside the library.
 *
 * The probes are three leaf functions in assembly between two labels; a
 * fault whose instruction lies between them is turned (sig.c's wrapper,
 * shim_probe_fixup) into a return of -EFAULT from the probe, by moving the
 * context's instruction pointer to a two-instruction landing. No setjmp,
 * no flag: a probe that does not fault costs its loads, one per page (a
 * destination: an or of 0 per page, which faults on read-only memory as a
 * write would). Not a locked or: that costs about 40 ns per page on the
 * development VM (a 4 KiB pread straddles two pages: +80 ns on 200); the
 * plain one can lose only a store another thread makes to that very byte
 * in the same few cycles, into a buffer it gave the call to fill.
 * Probes run before any lock is taken: nothing is ever unwound.
 *
 * Elsewhere than x86-64 the probes check nothing (a bad pointer faults as
 * before).
 */
#include <string.h>
#include <ucontext.h>

#include "shim.h"

#if defined(__x86_64__)
__asm__(".pushsection .text.shim_probe, \"ax\", @progbits\n"
	".p2align 4\n"
	".globl shim_probe_text_begin\n"
	".hidden shim_probe_text_begin\n"
	"shim_probe_text_begin:\n"
	/* long shim_probe_pages_rd(const char *p, const char *last) */
	".globl shim_probe_pages_rd\n"
	".hidden shim_probe_pages_rd\n"
	".type shim_probe_pages_rd,@function\n"
	"shim_probe_pages_rd:\n"
	"1:	movb (%rdi), %al\n"
	"	andq $-4096, %rdi\n"
	"	addq $4096, %rdi\n"
	"	cmpq %rsi, %rdi\n"
	"	jbe 1b\n"
	"	movb (%rsi), %al\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	/* long shim_probe_pages_wr(char *p, char *last) */
	".globl shim_probe_pages_wr\n"
	".hidden shim_probe_pages_wr\n"
	".type shim_probe_pages_wr,@function\n"
	"shim_probe_pages_wr:\n"
	"1:	orb $0, (%rdi)\n"
	"	andq $-4096, %rdi\n"
	"	addq $4096, %rdi\n"
	"	cmpq %rsi, %rdi\n"
	"	jbe 1b\n"
	"	orb $0, (%rsi)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	/* long shim_probe_byte(const char *p): the byte, or -EFAULT */
	".globl shim_probe_byte\n"
	".hidden shim_probe_byte\n"
	".type shim_probe_byte,@function\n"
	"shim_probe_byte:\n"
	"	movzbl (%rdi), %eax\n"
	"	ret\n"
	".globl shim_probe_text_end\n"
	".hidden shim_probe_text_end\n"
	"shim_probe_text_end:\n"
	"shim_probe_landing:\n"
	"	movq $-14, %rax\n" /* -EFAULT */
	"	ret\n"
	".popsection\n");

extern const char shim_probe_text_begin[], shim_probe_text_end[], shim_probe_landing[];

bool shim_probe_fixup(void *ctx)
{
	ucontext_t *uc = ctx;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

	if (ip < (uintptr_t)shim_probe_text_begin || ip >= (uintptr_t)shim_probe_text_end)
		return false;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)shim_probe_landing;
	return true;
}
#else
long shim_probe_pages_rd(const char *p, const char *last)
{
	(void)p;
	(void)last;
	return 0;
}

long shim_probe_pages_wr(char *p, char *last)
{
	(void)p;
	(void)last;
	return 0;
}

long shim_probe_byte(const char *p)
{
	return (unsigned char)*p;
}

bool shim_probe_fixup(void *ctx)
{
	(void)ctx;
	return false;
}
#endif

/* strnlen of the caller's string, or -EFAULT: the first byte of each page
 * it reaches is probed, and the C library's strnlen (whose aligned loads
 * never leave a page they start in) runs within that page. */
long shim_probe_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max) {
		const char *p = s + n;
		size_t room = 4096 - ((uintptr_t)p & 4095), k;

		if (room > max - n)
			room = max - n;
		if (shim_probe_byte(p) < 0)
			return -EFAULT;
		k = strnlen(p, room);
		n += k;
		if (k < room)
			break;
	}
	return (long)n;
}
