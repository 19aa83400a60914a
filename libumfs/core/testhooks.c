/* SPDX-License-Identifier: MIT */
/*
 * testhooks.c - the test variant of the core only (umfs_core_test): the
 * persistence hook and the injected faults of testhooks.h's UMFS_TEST_HOOKS.
 */
#include <time.h>

#include "os.h"
#include "testhooks.h"

#ifndef UMFS_TEST_HOOKS
#error "testhooks.c belongs to the test variant of the core (UMFS_TEST_HOOKS)"
#endif

const struct umfs_persist_hook *umfs_persist_hook;
enum umfs_fault umfs_fault;
uint64_t umfs_test_count[UMFS_TEST_EVENTS];
bool umfs_test_stamp_proc;
unsigned umfs_test_gate_timeout_ms;
unsigned umfs_test_lock_look_ms;
unsigned umfs_test_reclaim_delay_us;

void umfs_test_reclaim_delay(void)
{
	struct timespec t = { .tv_sec = umfs_test_reclaim_delay_us / 1000000,
			      .tv_nsec = (long)(umfs_test_reclaim_delay_us % 1000000) * 1000 };

	if (umfs_test_reclaim_delay_us)
		OS(nanosleep)(&t, NULL);
}

void umfs_persist_hook_set(const struct umfs_persist_hook *hook)
{
	umfs_persist_hook = hook;
}
