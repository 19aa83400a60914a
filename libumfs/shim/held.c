/* SPDX-License-Identifier: MIT */
/*
 * held.c - the holds an exec hands to the image that follows.
 *
 * The core counts, in the pool's lock region, one hold for each file this
 * process has open; another process's last close frees an unlinked file
 * only when nobody holds it. An exec replaces the image without closing
 * anything in the core, so the old image's holds would stay counted until
 * the pool's last user recovers (an unlinked file's pages with them).
 * Dropping them before the exec would leave a moment in which a file the
 * new image keeps (a descriptor that survives) is held by nobody.
 *
 * So the old image hands them on in UMFS_HELD ("PID:REGION:INO.GEN,...")
 * and the core leaves them counted; the new image drops them once it has
 * mounted the pool, after adopting the descriptors it keeps (which counts
 * its own); a failed exec takes them back. An image that never mounts the
 * pool does not mount it for this (a carried process must cost nothing):
 * it hands them on at its own exec, and leaves them counted if it exits,
 * until the pool's last user leaves. Only an image of the same process
 * takes them (a program without the library in between leaves the
 * variable to the next image that has it; other processes ignore it), and
 * a forked child leaves them to its parent. A process with more than
 * HELD_CAP files open hands none on: they stay counted.
 *
 * A process that holds nothing and runs no other thread hands nothing on:
 * it counts itself as having left cleanly before the exec (a failed exec
 * counts it back in), so that a new image that never names a UMFS path
 * (each command a shell that used the pool forks and executes) does not
 * leave the pool as if it had died. With other threads, one of them may
 * open a file until the exec ends: the new image counts the leave. Where
 * glibc cannot say that no other thread runs (it never says so again once
 * one was started, nor in the fork child of such a process), the kernel's
 * count of the process's threads does (shim_one_thread); only the exec's
 * own thread could start another before the exec. When
 * such a process is the pool's last user (a shell executing its last
 * command in place of itself), it does the last user's work on the pool
 * right before the exec (held_exec_start, umfs_exec_last).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define HELD_ENV SHIM_HELD_ENV
#define HELD_CAP 256
/* "INO.GEN," at most 20 + 1 + 10 + 1 bytes each, and the head */
#define HELD_ENV_MAX (sizeof(HELD_ENV) + 64 + HELD_CAP * 32)

/* The handover under way: one at a time (the core refuses a second). */
UMFS_BSS_LARGE static struct umfs_held held_list[HELD_CAP];
static size_t held_n;
static bool held_left; /* counted as left for the exec under way */
UMFS_BSS_LARGE static char held_env[HELD_ENV_MAX];

/* What an earlier image handed this one, until the pool is mounted: an
 * empty list is a handover too (that image left cleanly). */
static bool pending_set;
UMFS_BSS_LARGE static struct umfs_held pending[HELD_CAP];
static size_t pending_n;
static uint64_t pending_region;

static const char *held_format(const struct umfs_held *list, size_t n, uint64_t region)
{
	int len = snprintf(held_env, sizeof(held_env), HELD_ENV "=%d:%" PRIx64 ":", (int)getpid(),
			   region);

	for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof(held_env); i++)
		len += snprintf(held_env + len, sizeof(held_env) - (size_t)len,
				"%s%" PRIu64 ".%" PRIu32, i ? "," : "", list[i].ino, list[i].gen);
	return len > 0 && (size_t)len < sizeof(held_env) ? held_env : NULL;
}

const char *held_hand(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	bool alone;
	const char *env;
	uint64_t region;
	int n;

	if (!fs) /* never mounted: what it was handed goes on (no exec to undo) */
		return pending_set ? held_format(pending, pending_n, pending_region) : NULL;
	alone = shim_one_thread(); /* so none can open a file until the exec ends */
	n = umfs_holds_hand(fs, alone, &region, held_list, HELD_CAP);
	if (n < 0)
		return NULL; /* too many (they stay counted), or another exec's */
	if (n == 0 && alone) {
		held_left = true; /* counted now: nothing to hand on */
		return NULL;
	}
	held_n = (size_t)n;
	env = held_format(held_list, held_n, region);
	if (!env)
		held_keep(held_env); /* cannot happen: sized for HELD_CAP */
	return env;
}

bool held_leaving(void)
{
	return held_left;
}

void held_keep(const char *env)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (!fs || !(held_left || (env && held_n)))
		return;
	pool_lock();
	umfs_holds_keep(fs, held_list, held_n);
	pool_unlock();
	held_n = 0;
	held_left = false;
}

void held_exec_start(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (!held_left || !fs)
		return;
	pool_lock();
	umfs_exec_last(fs);
	pool_unlock();
}

void held_release_pending(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	int err;

	if (!pending_set || !fs)
		return;
	pool_lock();
	err = umfs_holds_release(fs, pending_region, pending, pending_n);
	pool_unlock();
	pending_set = false;
	if (err)
		SHIM_LOG(LOG_WARN, "letting go of the files the previous image held: %s",
			 umfs_strerror(err));
}

void held_fork_child(void)
{
	pending_set = false; /* the parent's to let go of */
}

/* "PID:REGION:INO.GEN,..." into list; false when it is not that. */
static bool held_parse(const char *s, long *pid, uint64_t *region, struct umfs_held *list,
		       size_t *n)
{
	char *end;

	*n = 0;
	*pid = strtol(s, &end, 10);
	if (end == s || *end != ':')
		return false;
	s = end + 1;
	*region = strtoull(s, &end, 16);
	if (end == s || *end != ':')
		return false;
	for (s = end + 1; *s && *n < HELD_CAP; s = *end ? end + 1 : end) {
		unsigned long long ino = strtoull(s, &end, 10), gen;

		if (end == s || *end != '.')
			return false;
		s = end + 1;
		gen = strtoull(s, &end, 10);
		if (end == s || (*end && *end != ',') || gen > UINT32_MAX)
			return false;
		list[(*n)++] = (struct umfs_held){ .ino = ino, .gen = (uint32_t)gen };
	}
	return *s == '\0';
}

void held_take_over(void)
{
	const char *env = shim_env(SHIM_ENV_HELD);
	long pid;

	if (!env)
		return;
	/* another process's, or damaged: not this image's to take */
	pending_set = held_parse(env, &pid, &pending_region, pending, &pending_n) &&
		      pid == (long)getpid();
	unsetenv(HELD_ENV);
	held_release_pending(); /* now, if adopting mounted the pool */
}
