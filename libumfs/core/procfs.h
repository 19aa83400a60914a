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
/* From /proc/<pid>/stat, /proc/<tid>/stat or thread-self: the state letter
 * (field 3) and the low 32 bits of the start time (field 22). False when
 * /proc cannot tell: not mounted, hidden, or the task is gone. */
bool umfs_proc_stat(const char *stat_path, char *state, uint32_t *start);

#endif /* UMFS_CORE_PROCFS_H */
