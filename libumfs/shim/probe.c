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
 * A read's bytes go to the caller's buffer unprobed, through shim_user_out
 * (umfs_pread_out): a rep movsb (or stosb, for zeros) whose fault on the
 * destination is turned (shim_copy_fixup) into a return of the count left,
 * which the string instruction keeps in rcx as it goes: the bytes before
 * the bad one are stored, as by the kernel's copy to user memory. No
 * probe pass over a large buffer (a 1 MiB read probed 256 pages, 5-8% of
 * the read), and between co-aligned cache lines the CPU's string copy is
 * as fast as the C library's copy, or faster.
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
	/* size_t copy_out_left(void *dst, const void *src, size_t n): the
	 * bytes not stored (0: all) */
	".p2align 4\n"
	".globl copy_out_left\n"
	".hidden copy_out_left\n"
	".type copy_out_left,@function\n"
	"copy_out_left:\n"
	"	movq %rdx, %rcx\n"
	"	rep movsb\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	/* size_t clear_out_left(void *dst, size_t n): the same for zeros */
	".globl clear_out_left\n"
	".hidden clear_out_left\n"
	".type clear_out_left,@function\n"
	"clear_out_left:\n"
	"	movq %rsi, %rcx\n"
	"	xorl %eax, %eax\n"
	"	rep stosb\n"
	"	ret\n"
	"copy_out_end:\n"
	"copy_out_landing:\n"
	"	movq %rcx, %rax\n"
	"	ret\n"
	".popsection\n");

extern const char shim_probe_text_begin[], shim_probe_text_end[], shim_probe_landing[];
extern const char copy_out_end[], copy_out_landing[];
size_t copy_out_left(void *dst, const void *src, size_t n) __attribute__((visibility("hidden")));
size_t clear_out_left(void *dst, size_t n) __attribute__((visibility("hidden")));

bool shim_probe_fixup(void *ctx)
{
	ucontext_t *uc = ctx;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

	if (ip < (uintptr_t)shim_probe_text_begin || ip >= (uintptr_t)shim_probe_text_end)
		return false;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)shim_probe_landing;
	return true;
}

bool shim_copy_fixup(void *ctx, const siginfo_t *si)
{
	ucontext_t *uc = ctx;
	greg_t *r = uc->uc_mcontext.gregs;
	uintptr_t ip = (uintptr_t)r[REG_RIP], at = (uintptr_t)si->si_addr;

	if (ip < (uintptr_t)copy_out_left || ip >= (uintptr_t)copy_out_end)
		return false;
	/* the destination's bytes left only (or a non-canonical address: a
	 * general protection fault, no address): a fault on the source (the
	 * pool) is not the caller's */
	if (si->si_code != SI_KERNEL && at - (uintptr_t)r[REG_RDI] >= (uintptr_t)r[REG_RCX])
		return false;
	r[REG_RIP] = (greg_t)(uintptr_t)copy_out_landing;
	return true;
}

/* Under this size the C library's vector copy beats the string one's
 * start, and the probe of a page or two costs little. */
#define USER_COPY_STRING_MIN 2048

/* The string copy runs at full speed here only between co-aligned cache
 * lines: a destination 1-31 bytes past the source's alignment copies at
 * 3-8 GB/s against 22-26 (the C library then has its vector loop). */
static bool user_copy_by_string(const void *dst, const void *src, size_t n)
{
	return n >= USER_COPY_STRING_MIN &&
	       (((uintptr_t)dst - (uintptr_t)src) & 63) == 0; /* zeros (NULL): dst aligned */
}

static size_t user_copy(void *dst, const void *src, size_t n)
{
	if (!user_copy_by_string(dst, src, n) && user_writable(dst, n) == 0) {
		if (src)
			memcpy(dst, src, n);
		else
			memset(dst, 0, n);
		return n;
	}
	return n - (src ? copy_out_left(dst, src, n) : clear_out_left(dst, n));
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

bool shim_copy_fixup(void *ctx, const siginfo_t *si)
{
	(void)ctx;
	(void)si;
	return false;
}

static size_t user_copy(void *dst, const void *src, size_t n)
{
	if (src)
		memcpy(dst, src, n);
	else
		memset(dst, 0, n);
	return n;
}
#endif

size_t user_prefix(const void *p, size_t len, bool dest)
{
	char *c = (char *)p;
	size_t ok = 0;

	while (ok < len) {
		size_t room = 4096 - ((uintptr_t)(c + ok) & 4095);

		if ((dest ? shim_probe_pages_wr(c + ok, c + ok) : shim_probe_pages_rd(c + ok, c + ok)) < 0)
			break;
		ok += room < len - ok ? room : len - ok;
	}
	return ok;
}

static size_t user_room(void *dst, size_t n)
{
	return user_writable(dst, n) == 0 ? n : user_prefix(dst, n, true);
}

const struct umfs_out shim_user_out = { user_copy, user_room };

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
