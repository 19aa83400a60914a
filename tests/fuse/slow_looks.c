/* SPDX-License-Identifier: MIT */
/*
 * slow_looks.c - linked into umfs-fuse-slowlook, umfs-fuse on the core
 * with its test hooks: UF_TEST_LOCK_LOOK_MS sets how long a lock wait
 * sleeps between looks at its holder. A test sets it to a minute, so that
 * only a wake ends a client's wait in time, however loaded the machine.
 */
#include <stdlib.h>

#include "testhooks.h"

__attribute__((constructor)) static void slow_looks_set(void)
{
	const char *ms = getenv("UF_TEST_LOCK_LOOK_MS");

	if (ms)
		umfs_test_lock_look_ms = (unsigned)strtoul(ms, NULL, 10);
}
