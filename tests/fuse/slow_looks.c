/* SPDX-License-Identifier: MIT */
/*
 * slow_looks.c - linked into umfs-fuse-slowlook, umfs-fuse on the core
 * with its test hooks: UF_TEST_LOCK_LOOK_MS sets how long a lock wait
 * sleeps between looks at its holder. A test sets it to a minute, so that
 * only a wake ends a client's wait in time, however loaded the machine.
 * UF_TEST_RECLAIM_DELAY_US sets how long the last close of a removed file
 * sleeps before freeing it: a statfs that does not wait for that close
 * then finds the space still used, however quick the machine.
 */
#include <stdlib.h>

#include "testhooks.h"

__attribute__((constructor)) static void slow_looks_set(void)
{
	const char *ms = getenv("UF_TEST_LOCK_LOOK_MS"), *us = getenv("UF_TEST_RECLAIM_DELAY_US");

	if (ms)
		umfs_test_lock_look_ms = (unsigned)strtoul(ms, NULL, 10);
	if (us)
		umfs_test_reclaim_delay_us = (unsigned)strtoul(us, NULL, 10);
}
