/* SPDX-License-Identifier: MIT */
/*
 * procfs.h - small reads of /proc (procfs.c).
 */
#ifndef UMFS_CORE_PROCFS_H
#define UMFS_CORE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* procfs.c: reads the small file path (relative to dfd, or absolute) into
 * buf, NUL-terminated; returns the bytes read, or -errno. errno is kept. */
ssize_t umfs_proc_read(int dfd, const char *path, char *buf, size_t size);
/* The level of the host's fs.protected_<which> sysctl ("regular",
 * "fifos", "symlinks"): 0 where /proc cannot tell. Read at each call, as
 * the kernel reads its own: only a case the rule may refuse asks. */
int umfs_proc_protected(const char *which);
/* Whether a process other than this one holds a flock(2) lock on the file
 * dev/ino, as /proc/locks lists them (false when it cannot tell): asked
 * without taking the lock, which would keep another process out. */
bool umfs_proc_flock_others(dev_t dev, ino_t ino);
/* From /proc/<pid>/stat, /proc/<tid>/stat or thread-self: the state letter
 * (field 3) and the low 32 bits of the start time (field 22). False when
 * /proc cannot tell: not mounted, hidden, or the task is gone. */
bool umfs_proc_stat(const char *stat_path, char *state, uint32_t *start);

/* A stamp of the task with id tid as it is now: equal for one task,
 * different for a later task that reuses the id, and 0 when it cannot be
 * told. Where the kernel has pidfs (Linux 6.9 on), the low bits of the
 * inode number of the task's pidfd, which the kernel never reuses, with
 * the top bit set; elsewhere the task's start time from /proc, top bit
 * clear. The kind is the kernel's: where pidfs is, a task whose pidfd
 * cannot be had (EMFILE) gets 0, never a start time, so that a stamp of
 * the other kind is one no holder on this kernel made (a forged word). */
uint32_t umfs_task_stamp(pid_t tid);
/* Whether the task a lock word names (id tid, stamp made by the holder)
 * is gone: no such task, a zombie (killed, not yet reaped), or another
 * task under its id (a reused id, or a forged word). A task /proc cannot
 * tell of counts as alive, as kill() said. errno is kept. */
bool umfs_task_gone(pid_t tid, uint32_t stamp);
/* Whether stamps a (kept in a lock word) and b (umfs_task_stamp now)
 * name two tasks: both known and unequal. */
static inline bool umfs_task_stamp_differs(uint32_t a, uint32_t b)
{
	return a != 0 && b != 0 && a != b;
}

#endif /* UMFS_CORE_PROCFS_H */
