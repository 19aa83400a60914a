/* SPDX-License-Identifier: MIT */
/*
 * testhooks.h - the test variant's hooks and injected faults (testhooks.c).
 */
#ifndef UMFS_CORE_TESTHOOKS_H
#define UMFS_CORE_TESTHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umfs_tools.h" /* UMFS_UNLIKELY */

/*
 * Test hooks exist only in the test variant of the core (umfs_core_test,
 * built with UMFS_TEST_HOOKS and core/testhooks.c): a hook that sees every
 * flush and fence (crash-state tests), and deliberately broken protocols
 * that prove the crash tests can fail. In the core every program, tool and
 * library links, UMFS_PERSIST_HOOK is NULL and UMFS_FAULT(f) false, so the
 * checks compile away.
 */
struct umfs_persist_hook {
	void (*flush)(void *arg, const void *addr, size_t len);
	void (*drain)(void *arg);
	void *arg;
};
enum umfs_fault {
	UMFS_FAULT_NONE,
	UMFS_FAULT_ULOG_NO_FENCE,   /* no fence between the record and the write */
	UMFS_FAULT_SIZE_FIRST,      /* append: size published with the data */
	UMFS_FAULT_RETIRE_EARLY,    /* record retired before the new size */
	UMFS_FAULT_TX_NO_SEAL,      /* journal: a batch of records left unfenced */
	UMFS_FAULT_PAGE_NO_FENCE,   /* page swap: leaf stored with its record */
	UMFS_FAULT_META_READ_TRUST, /* reads without the metadata lock kept,
				     * whatever holders came or were in; a
				     * stat sleeps between walk and inode */
};
/* Events the test variant counts (umfs_test_count). */
enum umfs_test_event {
	UMFS_TEST_PAGE_SWAP,   /* an overwrite took the spare page */
	UMFS_TEST_UNDO_BYTES,  /* an overwrite saved its old bytes */
	UMFS_TEST_COW,         /* an overwrite was built in a shadow */
	UMFS_TEST_META_READ_KEPT,  /* a read without the metadata lock stood */
	UMFS_TEST_META_READ_AGAIN, /* and one ran again under the lock */
	UMFS_TEST_EVENTS
};
#ifdef UMFS_TEST_HOOKS
extern const struct umfs_persist_hook *umfs_persist_hook;
extern enum umfs_fault umfs_fault;
void umfs_persist_hook_set(const struct umfs_persist_hook *hook);
#define UMFS_PERSIST_HOOK umfs_persist_hook
#define UMFS_FAULT(f) UMFS_UNLIKELY(umfs_fault == (f))
extern uint64_t umfs_test_count[UMFS_TEST_EVENTS];
#define UMFS_TEST_COUNT(e) __atomic_add_fetch(&umfs_test_count[e], 1, __ATOMIC_RELAXED)
/* Task stamps from /proc's start times even where the kernel has pidfs
 * (procfs.c), so that both kinds are tested on one kernel. */
extern bool umfs_test_stamp_proc;
#define UMFS_TEST_STAMP_PROC umfs_test_stamp_proc
/* How long a gate waits for a holder (gate.c), in ms; 0: as built. A test
 * of a holder that never lets go then ends in a moment. */
extern unsigned umfs_test_gate_timeout_ms;
#define UMFS_GATE_TIMEOUT(ms) (umfs_test_gate_timeout_ms ? umfs_test_gate_timeout_ms : (ms))
/* How long a lock wait sleeps between looks at its holder (locktab.c), in
 * ms; 0: as built. A test lengthens it, so that only a wake, never a look,
 * can end a wait in time. */
extern unsigned umfs_test_lock_look_ms;
#define UMFS_LOCK_LOOK_NS(ns) (umfs_test_lock_look_ms ? umfs_test_lock_look_ms * 1000000ll : (ns))
/* How long the last close of a removed file sleeps before it frees the
 * file (api_common.c), in us; 0: not at all. A test widens the moment in
 * which the file is closed but its space not yet free. */
extern unsigned umfs_test_reclaim_delay_us;
void umfs_test_reclaim_delay(void);
#define UMFS_TEST_RECLAIM_DELAY() umfs_test_reclaim_delay()
#else
#define UMFS_PERSIST_HOOK ((const struct umfs_persist_hook *)NULL)
#define UMFS_FAULT(f) 0
#define UMFS_TEST_COUNT(e) ((void)0)
#define UMFS_TEST_STAMP_PROC 0
#define UMFS_GATE_TIMEOUT(ms) (ms)
#define UMFS_LOCK_LOOK_NS(ns) (ns)
#define UMFS_TEST_RECLAIM_DELAY() ((void)0)
#endif

#endif /* UMFS_CORE_TESTHOOKS_H */
