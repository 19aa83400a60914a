/* SPDX-License-Identifier: MIT */
/*
 * calls_spawn.c - system and popen: the C library starts their children
 * without fork handlers (an internal posix_spawn we cannot see), so they
 * are watched here. A child may inherit UMFS descriptors: descriptions
 * made before it started must not be reused as if only we held them
 * (ofd_spawn_mark, ofd_slot.c). The children find the library and the
 * current directory through the environment, as before, and the pool's
 * descriptors in UMFS_FDS (inherit.c) and whether it may hold UMFS
 * descriptors in UMFS_ADOPT (init.c), set in environ for the call.
 * Under umfs-run's kernel fallback a shell that will not load the library
 * gets the mount's files in place of UMFS descriptors (fallback.c).
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define SHELL_PATH "/bin/sh" /* what the C library's system and popen run */

extern char **environ;

/* The pool's descriptors for a child the C library starts with environ;
 * under umfs-run's fallback, a shell without the library gets the mount's
 * files instead (sw), as an exec would (its file actions name only the
 * pipe: what is inheritable is all it can get). */
static void pass_begin(struct inherit_pass *pass, struct fallback_swap *sw)
{
	char fds[256];

	if (atomic_load_explicit(&uinfo_count, memory_order_relaxed) > 0)
		setenv(SHIM_ADOPT_ENV, "1", 1);
	inherit_pass_prepare(pass, true);
	inherit_pass_image(pass, SHELL_PATH, -1, environ);
	fallback_exec_prepare(sw, pass, false);
	if (!pass->active)
		return;
	if (!cfg.enabled || inherit_pass_env(pass, fds, sizeof(fds)) < 0 ||
	    setenv("UMFS_FDS", strchr(fds, '=') + 1, 1) < 0) {
		inherit_pass_close(pass);
		return;
	}
	inherit_pass_open(pass);
}

static void pass_end(struct inherit_pass *pass, struct fallback_swap *sw)
{
	int saved = errno;

	unsetenv(SHIM_ADOPT_ENV);
	if (pass->active) {
		inherit_pass_close(pass);
		unsetenv("UMFS_FDS");
	}
	fallback_exec_restore(sw);
	errno = saved;
}

SHIM_API int system(const char *cmd)
{
	struct inherit_pass pass;
	struct fallback_swap sw;
	int r;

	shim_vfork_own_memory();
	fd_unpark_all(); /* not to be inherited */
	ofd_spawn_mark();
	pass_begin(&pass, &sw);
	r = SYS(system)(cmd);
	pass_end(&pass, &sw);
	ofd_spawn_mark();
	return r;
}

SHIM_API FILE *popen(const char *cmd, const char *mode)
{
	struct inherit_pass pass;
	struct fallback_swap sw;
	FILE *f;

	shim_vfork_own_memory();
	fd_unpark_all(); /* not to be inherited, nor to shift the pipe's number */
	ofd_spawn_mark();
	pass_begin(&pass, &sw);
	f = SYS(popen)(cmd, mode);
	pass_end(&pass, &sw);
	ofd_spawn_mark();
	return f;
}
