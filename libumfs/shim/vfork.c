/* SPDX-License-Identifier: MIT */
/*
 * vfork.c - a vfork kept real while the child needs nothing of UMFS.
 *
 * A shell starts each command with vfork (dash; gcc's driver starts cc1
 * and as so too): the child borrows the parent's memory until it execs,
 * and the parent sleeps meanwhile. Made a fork, each command costs the
 * copied page tables and a page fault for every page either side writes
 * after it (about 30 per command of dash). But a vfork child's writes to
 * the library's state land in the parent's: so the vfork stays real only
 * when the child has nothing of UMFS to take along (shim_vfork_allowed):
 * no UMFS descriptor or shared mapping, nothing passed on. A mounted pool
 * and a cwd in it are allowed: the child leaves both to its parent, and
 * the new image mounts the pool by name and finds the cwd in UMFS_CWD,
 * as a process started by a shell that never joined does. A child that
 * turns out to need UMFS (a program stored in UMFS or named relative to a
 * cwd there, a UMFS path opened before the exec, a chdir, a fork of its
 * own) asks its parent for a real fork instead and exits
 * (shim_vfork_retry): the parent reaps it and forks, and the program's
 * child code runs again from the vfork's return, in a child with memory
 * of its own. The calls a vfork child usually makes before its exec
 * (dup2, close, pipe, sigaction, sigprocmask, setpgid, execve of a kernel
 * path) change nothing of the library's, or pass straight to the kernel
 * in such a child.
 *
 * vfork itself is assembly: the child returns through the stack frame the
 * parent's return needs, so, as the C library's vfork does, the return
 * address waits in a register (rbx, which the C library's vfork keeps;
 * the program's rbx waits in this thread's memory, which the child does
 * not write).
 */
#include <sys/wait.h>

#include "shim.h"

/* Between the parent's vfork and its return: a child may be running in
 * this thread's memory. The child writes retry; the rest is the parent's:
 * what a child's calls change (a retry from within a served call, the
 * lowest numbers its own opens took), put back as the parent returns. */
static __thread struct {
	_Atomic bool retry;
	int busy, depth, open_below;
} vfork_now;

/* Between the parent's vfork and its return (shim.h's shim_vfork_child). */
__attribute__((tls_model("initial-exec"))) __thread bool shim_vfork_on;

/* Called from vfork's assembly below. */
__attribute__((visibility("hidden"))) void *shim_vfork_begin(void);
__attribute__((visibility("hidden"))) pid_t shim_vfork_fork(void);
__attribute__((visibility("hidden"))) pid_t shim_vfork_end(pid_t r);

/* The program's rbx while a vfork is under way (vfork's assembly). */
__attribute__((visibility("hidden"), tls_model("initial-exec"))) __thread unsigned long
	shim_vfork_rbx;

/* Whether this thread may let a child borrow the process's memory: one
 * thread (no other can run the library or reap the child meanwhile; asked
 * last, as it may cost a system call), no
 * library call under way (a vfork from a handler), the process's own
 * state, and a child that takes nothing of UMFS along (a forked child
 * passes the pool's descriptors on to an image that dropped the right to
 * open it by name). */
static bool shim_vfork_allowed(void)
{
	return !shim_vfork_on && shim_busy == 0 && shim_state_ours() && inherit_nothing_to_pass() &&
	       shim_one_thread();
}

void shim_vfork_retry(void)
{
	atomic_store(&vfork_now.retry, true);
	SYS(_exit)(127);
}

/* Before the vfork: the C library's vfork to call, or NULL for a fork. */
__attribute__((used)) void *shim_vfork_begin(void)
{
	int e = errno; /* the checks' calls must not leave the program's */
	void *fn = NULL;

	shim_config_ready();
	if (shim_vfork_allowed()) {
		fn = (void *)SYS(vfork);
		/* a parked number (ofd_slot.c) is let go here: a child's pipe
		 * or dup would let it go in the parent's state but its own
		 * table */
		fd_unpark_all();
		cwd_vfork_prepare();
		vfork_now.busy = shim_busy;
		vfork_now.depth = shim_depth;
		vfork_now.open_below = atomic_load(&fd_open_below);
		atomic_store(&vfork_now.retry, false);
		shim_vfork_on = true;
	}
	errno = e;
	return fn;
}

/* A vfork the library makes a fork (the handlers run around it). */
__attribute__((used)) pid_t shim_vfork_fork(void)
{
	return SYS(fork)();
}

/* The parent, back from the C library's vfork with its result r (the
 * child has exec'd or ended): a child that asked for a fork is reaped
 * and a fork made instead, whose result is returned (0 in its child). */
__attribute__((used)) pid_t shim_vfork_end(pid_t r)
{
	int e = errno;

	shim_vfork_on = false;
	shim_busy = vfork_now.busy;
	shim_depth = vfork_now.depth;
	atomic_store(&fd_open_below, vfork_now.open_below);
	shim_fdguard_vfork_parent();
	if (r > 0 && atomic_load(&vfork_now.retry)) {
		/* it has ended: the wait does not block (ECHILD when the
		 * program ignores SIGCHLD and the kernel reaped it) */
		while (SYS(waitpid)(r, NULL, __WALL) < 0 && errno == EINTR)
			;
		errno = e;
		return SYS(fork)();
	}
	errno = e; /* the child's, as after the C library's vfork */
	return r;
}

/* The C library's vfork with the return address in rbx, when
 * shim_vfork_begin allows it; else a fork (a tail call). */
SHIM_API pid_t vfork(void);
__asm__(".section .text.vfork,\"ax\",@progbits\n"
	".globl vfork\n"
	".type vfork,@function\n"
	"vfork:\n"
	"	.cfi_startproc\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call shim_vfork_begin\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	testq %rax, %rax\n"
	"	jz shim_vfork_fork\n"
	"	movq shim_vfork_rbx@gottpoff(%rip), %rcx\n"
	"	movq %rbx, %fs:(%rcx)\n"
	"	popq %rbx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	.cfi_register %rip, %rbx\n"
	"	call *%rax\n"
	"	pushq %rbx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_rel_offset %rip, 0\n"
	"	movq shim_vfork_rbx@gottpoff(%rip), %rcx\n"
	"	movq %fs:(%rcx), %rbx\n"
	"	testl %eax, %eax\n"
	"	jz 1f\n"
	"	movl %eax, %edi\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call shim_vfork_end\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"1:	ret\n"
	"	.cfi_endproc\n"
	".size vfork, .-vfork\n"
	".previous\n");
