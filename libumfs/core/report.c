/* SPDX-License-Identifier: MIT */
/*
 * report.c - damage the serving path finds, said once.
 *
 * A damaged inode or directory entry fails every call that reaches it, and
 * a program may reach it thousands of times: the line that names it goes
 * to the log once per mount (while the damage stays the same). The mounted
 * fs remembers the last UMFS_DAMAGE_SEEN reports; a report is repeated
 * only after more distinct damage than that.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core.h"

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* True the first time (key, sig) is reported on fs. */
static bool damage_first(struct umfs_fs *fs, uint64_t key, uint32_t sig)
{
	bool first = true;

	pthread_mutex_lock(&seen_lock);
	for (unsigned i = 0; i < UMFS_DAMAGE_SEEN && first; i++)
		first = !(fs->damage_seen[i].key == key && fs->damage_seen[i].sig == sig);
	if (first) {
		fs->damage_seen[fs->damage_next % UMFS_DAMAGE_SEEN].key = key;
		fs->damage_seen[fs->damage_next % UMFS_DAMAGE_SEEN].sig = sig;
		fs->damage_next++;
	}
	pthread_mutex_unlock(&seen_lock);
	return first;
}

bool umfs_damage_known(struct umfs_fs *fs, uint64_t key, uint32_t sig)
{
	bool known = false;

	pthread_mutex_lock(&seen_lock);
	for (unsigned i = 0; i < UMFS_DAMAGE_SEEN && !known; i++)
		known = fs->damage_seen[i].key == key && fs->damage_seen[i].sig == sig;
	pthread_mutex_unlock(&seen_lock);
	return known;
}

void umfs_damage_report(struct umfs_fs *fs, uint64_t key, uint32_t sig, const char *fmt, ...)
{
	int saved = errno;
	char line[512];
	va_list ap;

	if (!damage_first(fs, key, sig))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	umfs_log(UMFS_LOG_WARN, "%s", line);
	errno = saved;
}
