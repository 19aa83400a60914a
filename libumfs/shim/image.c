/* SPDX-License-Identifier: MIT */
/*
 * image.c - whether the image an exec or a spawn starts will run with the
 * library, told once per start before anything is handed to it: only such
 * an image is passed the pool's descriptors and UMFS_FDS (inherit.c), and
 * under umfs-run's kernel fallback any other gets the mount's files in
 * place of UMFS descriptors (fallback.c).
 *
 * An image runs without the library when it is a static ELF (no
 * PT_INTERP: nothing reads LD_PRELOAD there), an ELF of another class or
 * machine (a 32-bit program: its ld.so ignores a 64-bit library), a
 * set-user-ID or set-group-ID file (ld.so drops LD_PRELOAD when the exec
 * changes credentials; any such bit counts), a #! script whose interpreter
 * is one of these, or when its environment names no libumfs in LD_PRELOAD
 * or no UMFS_POOL. An image the process may execute but not read (mode
 * 0111) cannot be told: it is passed what one with the library needs, and
 * under the fallback it gets the mount's files too, which serve either
 * kind.
 */
#include <string.h>
#include <sys/stat.h>

#include "elfinterp.h"
#include "shim.h"

#define INTERP_DEPTH 4 /* #! levels the kernel follows */

static bool env_loads_library(char *const env[])
{
	bool pool = false, lib = false;

	if (!env || shim_env_count(env) < 0)
		return false; /* the kernel answers EFAULT */
	for (size_t i = 0; env[i]; i++) {
		long n;

		pool |= strncmp(env[i], "UMFS_POOL=", 10) == 0 && env[i][10];
		/* searched no further than probed: a value with no end within
		 * reach is one the kernel refuses (E2BIG) or faults on */
		lib |= strncmp(env[i], "LD_PRELOAD=", 11) == 0 &&
		       (n = shim_probe_strnlen(env[i] + 11, (size_t)1 << 20)) >= 0 &&
		       memmem(env[i] + 11, (size_t)n, "libumfs", 7);
	}
	return pool && lib;
}

static bool set_id(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID));
}

/* The image alone: IMAGE_NO_LIBRARY when it cannot load the library,
 * IMAGE_UNTOLD when it may be executed but not read, IMAGE_LIBRARY
 * otherwise (also for what cannot be told); -errno when it cannot be
 * opened for a reason that fails the exec too (a PATH search's misses). */
static int image_loads(const char *path, int fd, int depth)
{
	unsigned char h[256];
	struct stat st;
	int loads = IMAGE_LIBRARY, elf;
	ssize_t n;
	int f = path ? sys_open_cloexec(path, O_RDONLY, 0) : fd;

	if (f == -ENOENT || f == -ENOTDIR || f == -ELOOP || f == -ENAMETOOLONG)
		return f;
	if (f < 0) /* one it may execute, not read: its mode still tells */
		return path && SYS(stat)(path, &st) == 0 && set_id(&st) ? IMAGE_NO_LIBRARY
									 : IMAGE_UNTOLD;
	if (SYS(fstat)(f, &st) == 0 && set_id(&st)) {
		loads = IMAGE_NO_LIBRARY;
	} else if ((n = sys_read_full(f, h, sizeof(h) - 1, 0)) >= 4 &&
		   (elf = umfs_elf_kind_of(f, h, (size_t)n, sys_read_full)) != UMFS_ELF_NOT_ELF) {
		loads = elf == UMFS_ELF_LOADS ? IMAGE_LIBRARY : IMAGE_NO_LIBRARY;
	} else if (n > 2 && h[0] == '#' && h[1] == '!' && depth < INTERP_DEPTH) {
		char *s = (char *)h + 2, *e;

		h[n] = '\0';
		s += strspn(s, " \t");
		e = s + strcspn(s, " \t\n");
		if (*e == '\n' || *e == ' ' || *e == '\t') { /* a whole name, not cut short */
			int in;

			*e = '\0';
			in = *s == '/' ? image_loads(s, -1, depth + 1) : IMAGE_LIBRARY;
			loads = in < 0 ? IMAGE_LIBRARY : in;
		}
	}
	if (path)
		OS(close)(f);
	return loads;
}

int image_keeps_library(const char *path, int fd, char *const env[])
{
	int saved = errno, loads = image_loads(path, fd, 0);

	errno = saved;
	return loads != IMAGE_NO_LIBRARY && loads >= 0 && !env_loads_library(env)
		       ? IMAGE_NO_LIBRARY
		       : loads;
}
