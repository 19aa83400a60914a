/* SPDX-License-Identifier: MIT */
/*
 * locktab.h - the table of record locks and flocks (locktab.c).
 */
#ifndef UMFS_CORE_LOCKTAB_H
#define UMFS_CORE_LOCKTAB_H

#include <stdatomic.h>
#include <stdint.h>

#include "umfs_frontend.h" /* struct umfs_plock */

struct umfs_fs;

/* locktab.c: record locks and flock of every front end, in the lock
 * region (or, for a mount without one, in this process's memory). */
#define UMFS_LK_RECS 8192u    /* locked ranges at once, across processes */
#define UMFS_LK_BUCKETS 1024u /* files hash to these */
#define UMFS_LK_WAITERS 256u  /* POSIX owners blocked at once, for EDEADLK */

struct umfs_lk_rec {
	uint32_t next;  /* the bucket's (or the free list's) next, index + 1; 0 ends */
	uint8_t kind;   /* enum umfs_lock_kind; 0: free */
	uint8_t type;   /* F_RDLCK, F_WRLCK */
	uint8_t exec_drop; /* goes when this process's exec succeeds */
	uint8_t pad;
	int32_t pid;    /* what F_GETLK reports */
	uint32_t slot;
	uint64_t ino;
	uint32_t gen;
	uint32_t pad2;
	uint64_t owner, host;
	int64_t start, end; /* inclusive; end INT64_MAX: to any length */
};

struct umfs_lk_bucket {
	uint32_t head;            /* first record, index + 1 */
	_Atomic uint32_t wake;    /* bumped when a lock goes or weakens: the futex */
	_Atomic uint32_t waiters; /* threads asleep on wake */
	uint32_t pad;
};

/* A POSIX owner blocked, and the owner whose lock it waits for. */
struct umfs_lk_waiter {
	uint64_t owner, host; /* owner 0: free */
	uint64_t blocker, blocker_host;
};

/* All zeros is an empty table. */
struct umfs_locktab {
	struct umfs_plock lock;   /* every look and every change */
	uint32_t free_head;       /* freed records, index + 1 */
	uint32_t high;            /* records ever handed out */
	uint64_t unused;          /* 0 */
	uint32_t waiters_high;    /* waiter entries ever claimed: where scans end */
	uint32_t pad;
	struct umfs_lk_bucket buckets[UMFS_LK_BUCKETS];
	struct umfs_lk_waiter waiters[UMFS_LK_WAITERS];
	struct umfs_lk_rec recs[UMFS_LK_RECS];
};

void umfs_locktab_free(struct umfs_fs *fs);

#endif /* UMFS_CORE_LOCKTAB_H */
