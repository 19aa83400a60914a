/* SPDX-License-Identifier: MIT */
/*
 * rundir.h - the pool's runtime directory (rundir.c).
 */
#ifndef UMFS_CORE_RUNDIR_H
#define UMFS_CORE_RUNDIR_H

#include <stdbool.h>
#include <stdint.h>

struct umfs_fs;

/* rundir.c: the pool's runtime directory (see there). umfs_rundir_open
 * finds or makes it (fs->run_dfd, run_id, run_path); close lets go of it
 * (it stays for the next user). */
#define UMFS_RUNDIR_LOCK "lock" /* the lock region's name in it */
int umfs_rundir_open(struct umfs_fs *fs);
/* Takes a duplicate of dfd, inherited, as the runtime directory: it must
 * be the one the state page names, and pass the same checks. */
int umfs_rundir_adopt(struct umfs_fs *fs, int dfd);
void umfs_rundir_close(struct umfs_fs *fs);
/* Whether the directory of run id may outlive a boot (it is in /tmp). */
bool umfs_rundir_outlives_boot(uint64_t run_id);
/* rundir_sweep.c: removes directory name in base (a descriptor, or
 * AT_FDCWD) if it is this user's and no process uses it: 0, -EBUSY when
 * one does, -EPERM when it is not this user's, or another -errno. */
int umfs_rundir_remove_unused(int base, const char *name);

#endif /* UMFS_CORE_RUNDIR_H */
