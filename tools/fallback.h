/* SPDX-License-Identifier: MIT */
/*
 * fallback.h - umfs-run's kernel fallback: the pool's umfs-fuse mounted at
 * the UMFS prefix in a private mount namespace, so that whatever does not
 * go through libumfs.so (ld.so, static programs, children without the
 * library) reaches the same files through the kernel.
 */
#ifndef UMFS_TOOLS_FALLBACK_H
#define UMFS_TOOLS_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>

enum umfs_fallback_when { UMFS_FALLBACK_OFF, UMFS_FALLBACK_AUTO, UMFS_FALLBACK_ON };

/* The environment variable a served prefix is recorded in
 * ("POOL:PREFIX:MOUNT-NAMESPACE"), so that a umfs-run started under it uses
 * that mount instead of making another. */
#define UMFS_FALLBACK_AT_ENV "UMFS_FALLBACK_AT"

struct umfs_fallback {
	const char *prefix; /* where umfs-fuse is mounted, absolute */
	int life_fd;        /* read end of a pipe the daemon holds: EOF once it ended */
	int old_mntns;      /* the mount namespace we came from (root), or -1 */
	bool mounted;       /* by us, in our namespace (not inherited) */
};

/* Parse auto|on|off; -EINVAL for anything else. */
int umfs_fallback_parse(const char *s, enum umfs_fallback_when *when);

/*
 * Mount pool's umfs-fuse (the program fuse_bin) at prefix in a new private
 * mount namespace (and, for a user other than root, a user namespace that
 * maps only that user), and wait, bounded, until it answers. 0 when the
 * prefix is served; -errno with why (a sentence) filled otherwise, having
 * undone what it could.
 */
int umfs_fallback_start(struct umfs_fallback *fb, const char *pool, const char *prefix,
			bool readonly, const char *fuse_bin, char *why, size_t whysize);

/*
 * Run argv under the fallback and return its wait status once it ended:
 * signals sent to this process are passed on; when the program left no
 * descendants, the mount is taken down and the daemon's end awaited
 * (bounded), so that the pool is free when this returns.
 */
int umfs_fallback_run(struct umfs_fallback *fb, char **argv);

/* What the ELF program at path is (elfinterp.h): UMFS_ELF_STATIC or
 * UMFS_ELF_FOREIGN when it cannot load the library; UMFS_ELF_LOADS when it
 * can or cannot be read, UMFS_ELF_NOT_ELF for no ELF. */
int umfs_program_elf_kind(const char *path);

/* The program execvp would run for name (PATH search), into out. */
bool umfs_program_find(const char *name, char *out, size_t size);

#endif /* UMFS_TOOLS_FALLBACK_H */
