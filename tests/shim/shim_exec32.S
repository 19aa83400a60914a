/* SPDX-License-Identifier: MIT */
/*
 * shim_exec32.S - a 32-bit dynamic program (it names /lib/ld-linux.so.2),
 * which a 64-bit libumfs.so can never be loaded into: it executes argv[1]
 * with argv[1..] and its own environment, so that shim_static, started
 * by it, reports what a 32-bit image was handed. No libc: the kernel's
 * execve through int $0x80.
 */
	.text
	.globl	_start
_start:
	mov	(%esp), %eax		/* argc */
	lea	8(%esp), %ecx		/* &argv[1] */
	lea	8(%esp,%eax,4), %edx	/* envp: past argv's NULL */
	mov	(%ecx), %ebx		/* argv[1] */
	mov	$11, %eax		/* execve */
	int	$0x80
	mov	$127, %ebx		/* as a shell says "cannot execute" */
	mov	$1, %eax		/* exit */
	int	$0x80
	.section .note.GNU-stack, "", @progbits
