/* SPDX-License-Identifier: MIT */
/*
 * report.c - damage the serving path finds, said once.
 *
 * A damaged inode or directory entry fails every call that reaches it, and
 * a program may reach it thousands of times: the line that names it goes
 * to the log once per mount (while the damage stays the same). The mounted
 * fs remembers the last UMFS_DAMAGE_SEEN reports; a report is repeated
 * only after more distinct damage than that.
 *
 * The pool remembers too: the first report of a damage adds its kind to
 * the state page's errors word (UMFS_ERRORS_*), so that fsck.umfs checks
 * fully, without -f, and says why, until a repair clears it. Callers
 * report settled damage only: what they met under the lock its writers
 * take, or checked again under it (verify.c), never a change in flight.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "report.h"
#include "fs.h"
#include "log.h"

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

/* The kind of damage a report's key and signature name. */
static uint64_t damage_kind(uint64_t key, uint32_t sig)
{
	if (key & UMFS_DAMAGE_PBITMAP)
		return UMFS_ERRORS_PBITMAP;
	if (key & UMFS_DAMAGE_IBITMAP)
		return UMFS_ERRORS_IBITMAP;
	if ((key & UMFS_DAMAGE_ENTRY) || sig == UMFS_DAMAGE_DIRSIG)
		return UMFS_ERRORS_DIR;
	return UMFS_ERRORS_INODE;
}

void umfs_damage_mark(struct umfs_fs *fs, uint64_t what)
{
	uint64_t *errors = &fs->state->errors;

	if (fs->pm.rdonly || (__atomic_load_n(errors, __ATOMIC_RELAXED) & what) == what)
		return;
	__atomic_fetch_or(errors, what, __ATOMIC_RELAXED); /* other processes add theirs */
	umfs_persist(errors, sizeof(*errors));
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

	/* without the lock a change in flight looks like damage: the caller
	 * answers -EUCLEAN and the lookup runs again under the lock */
	if (umfs_meta_unlocked || !damage_first(fs, key, sig))
		return;
	umfs_damage_mark(fs, damage_kind(key, sig));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	umfs_log(UMFS_LOG_WARN, "%s", line);
	errno = saved;
}
