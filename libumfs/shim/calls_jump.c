/* SPDX-License-Identifier: MIT */
/*
 * calls_jump.c - longjmp and its kin, for the signals the library holds.
 *
 * A served call defers the signals that come during it (sig.c) and runs
 * their handlers as it ends, one after another. A handler that leaves by a
 * jump never comes back to that loop: the signals recorded behind it would
 * wait for the thread's next served call, and a program that jumped out
 * and then waits in the kernel for one of them (sigsuspend, a pipe its
 * handler writes) would wait for ever. The kernel gives a pending signal
 * to the thread as soon as the mask lets it through; for a jump that puts
 * back a mask, that is as it does. So a jump made at depth 0 while signals
 * wait in the library's queue first runs the handlers of those the mask it
 * leaves lets through (sig_jump), then jumps. Any other jump costs one
 * thread-local load.
 */
#undef _FORTIFY_SOURCE /* the plain names, not redirected to __longjmp_chk */
#include <setjmp.h>

#include "shim.h"

void __longjmp_chk(struct __jmp_buf_tag env[1], int val) __attribute__((noreturn));

static void jump_prepare(struct __jmp_buf_tag *env)
{
	if (unlikely(shim_sig_pending) && shim_busy == 0)
		sig_jump(env->__mask_was_saved ? &env->__saved_mask : NULL);
}

/* Resolved when the program sets a handler: dlsym is no call for the
 * handler that is the first to jump. */
void jump_resolve(void)
{
	(void)SYS(longjmp);
	(void)SYS(_longjmp);
	(void)SYS(siglongjmp);
	(void)SYS(__longjmp_chk);
}

SHIM_API void longjmp(struct __jmp_buf_tag env[1], int val)
{
	jump_prepare(env);
	SYS(longjmp)(env, val);
	__builtin_unreachable();
}

SHIM_API void _longjmp(struct __jmp_buf_tag env[1], int val)
{
	jump_prepare(env);
	SYS(_longjmp)(env, val);
	__builtin_unreachable();
}

SHIM_API void siglongjmp(struct __jmp_buf_tag env[1], int val)
{
	jump_prepare(env);
	SYS(siglongjmp)(env, val);
	__builtin_unreachable();
}

/* _FORTIFY_SOURCE's longjmp and siglongjmp */
SHIM_API void __longjmp_chk(struct __jmp_buf_tag env[1], int val)
{
	jump_prepare(env);
	SYS(__longjmp_chk)(env, val);
	__builtin_unreachable();
}
