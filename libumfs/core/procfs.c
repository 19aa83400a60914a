/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - what the core reads of /proc and /sys: a small file, whole;
 * a task's state and start time; the holders of a file's flock locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"
#include "proclocks.h"
#include "testhooks.h"
#include "os.h"

ssize_t umfs_proc_read(int dfd, const char *path, char *buf, size_t size)
{
	int saved = errno;
	int fd = OS(openat)(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? OS(read)(fd, buf, size - 1) : -1;

	if (n < 0)
		n = -errno;
	if (fd >= 0)
		OS(close)(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = saved;
	return n;
}

int umfs_proc_protected(const char *which)
{
	char path[64], buf[16];

	snprintf(path, sizeof(path), "/proc/sys/fs/protected_%s", which);
	if (umfs_proc_read(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return 0;
	return buf[0] >= '0' && buf[0] <= '9' ? buf[0] - '0' : 0;
}

bool umfs_proc_flock_others(dev_t dev, ino_t ino)
{
	char buf[4096];
	int saved = errno, fd = OS(open)("/proc/locks", O_RDONLY | O_CLOEXEC), pid;
	int self = (int)OS(getpid)();
	size_t have = 0;
	bool other = false;
	ssize_t n;

	if (fd < 0)
		return false;
	while (!other && (n = OS(read)(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *eol;

		have += (size_t)n;
		buf[have] = '\0';
		while (!other && (eol = strchr(line, '\n')) != NULL) {
			*eol = '\0';
			other = umfs_proclocks_flock(line, dev, ino, &pid) && pid != self;
			line = eol + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* no line is this long: drop it */
	}
	OS(close)(fd);
	errno = saved;
	return other;
}

bool umfs_proc_stat(const char *stat_path, char *state, uint32_t *start)
{
	char buf[512], *p;

	if (umfs_proc_read(AT_FDCWD, stat_path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')'); /* the command name may hold anything */
	if (!p || p[1] != ' ' || !p[2])
		return false;
	*state = p[2];
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	*start = p ? (uint32_t)strtoull(p + 1, NULL, 10) : 0;
	return true;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* a pidfd of one thread (Linux 6.9) */
#endif
#define PIDFS_MAGIC 0x50494446u
#define STAMP_PIDFS 0x80000000u

/* 1: pidfds live on pidfs; -1: they do not (an older kernel: every pidfd
 * shares one inode); 0: not known yet. Only a definite answer is kept: a
 * failure such as EMFILE says nothing of the kernel. */
static int stamp_pidfs;

/* The pidfs stamp of tid; 0 with *kernel_lacks set when this kernel has
 * no pidfs (or no pidfds of threads). */
static uint32_t stamp_from_pidfd(pid_t tid, bool *kernel_lacks)
{
	int saved = errno, fd;
	struct statfs sfs;
	struct stat st;
	uint32_t stamp = 0;

	*kernel_lacks = false;
	umfs_os_before_fd();
	fd = (int)OS(syscall)(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd < 0) {
		*kernel_lacks = errno == ENOSYS || errno == EINVAL;
	} else {
		if (OS(fstatfs)(fd, &sfs) == 0 && OS(fstat)(fd, &st) == 0) {
			if ((uint32_t)sfs.f_type == PIDFS_MAGIC)
				stamp = STAMP_PIDFS | ((uint32_t)st.st_ino & ~STAMP_PIDFS);
			else
				*kernel_lacks = true;
		}
		OS(close)(fd);
	}
	errno = saved;
	return stamp;
}

/* Whether stamps are start times from /proc here: known to be, or made
 * so for a test. */
static bool stamps_from_proc(void)
{
	return UMFS_TEST_STAMP_PROC || __atomic_load_n(&stamp_pidfs, __ATOMIC_RELAXED) < 0;
}

uint32_t umfs_task_stamp(pid_t tid)
{
	char path[48], state;
	uint32_t start = 0;

	if (tid <= 0)
		return 0;
	if (!stamps_from_proc()) {
		int kind = __atomic_load_n(&stamp_pidfs, __ATOMIC_RELAXED);
		bool lacks;
		uint32_t stamp = stamp_from_pidfd(tid, &lacks);

		if (stamp) {
			__atomic_store_n(&stamp_pidfs, 1, __ATOMIC_RELAXED);
			return stamp;
		}
		if (!lacks || kind == 1)
			return 0; /* no such task now, or cannot tell */
		__atomic_store_n(&stamp_pidfs, -1, __ATOMIC_RELAXED);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (!umfs_proc_stat(path, &state, &start))
		return 0;
	return start & ~STAMP_PIDFS;
}

bool umfs_task_gone(pid_t tid, uint32_t stamp)
{
	int saved = errno;
	char path[48], state = 'R';
	uint32_t start;
	bool gone, read = false;

	if (tid <= 0)
		return true;
	gone = OS(kill)(tid, 0) < 0 && errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (!gone && (read = umfs_proc_stat(path, &state, &start)))
		gone = state == 'Z' || state == 'X';
	/* where stamps are start times, the one just read is the stamp now */
	if (!gone)
		gone = umfs_task_stamp_differs(stamp, read && stamps_from_proc()
							      ? start & ~STAMP_PIDFS
							      : umfs_task_stamp(tid));
	errno = saved;
	return gone;
}
