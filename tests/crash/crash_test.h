/* SPDX-License-Identifier: MIT */
/*
 * crash_test.h - the crash-state harness: workloads (crash_workloads.c)
 * record steps and namespace dumps; crash_test.c checks the crash images.
 */
#ifndef UMFS_CRASH_TEST_H
#define UMFS_CRASH_TEST_H

#include "crash_lib.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define MAX_OPEN 8

struct workload;

struct step {
	char desc[120];
	size_t begin, end;     /* events recorded before and after it */
	size_t before, after;  /* dumps */
	/* relaxed overwrite: the file may hold any mix of old and new bytes */
	bool mix;
	char path[64];
	uint8_t *old, *new;
	size_t old_len, new_len;
};

struct run {
	const struct workload *wl;
	char pool[256];
	uint64_t size;
	unsigned flags;
	struct umfs_fs *fs;
	struct umfs_file *f[MAX_OPEN];
	struct recorder rec;
	uint8_t *initial;
	struct dump *dumps;
	size_t ndumps, cap_dumps;
	struct step *steps;
	size_t nsteps, cap_steps;
	struct step *cur;
	bool broken; /* an API call failed while recording */
	bool full;   /* --full: longer random workloads */
};

struct workload {
	const char *name;
	uint64_t pool_size;
	unsigned flags;
	void (*setup)(struct run *r);
	void (*body)(struct run *r);
	uint32_t jslot;  /* journal slot size to force (0: mkfs's) */
	uint64_t seed;   /* random workloads */
};

extern const struct workload crash_workloads[];
extern const size_t crash_nworkloads;

/* Appends a dump of the namespace to the run's list. */
void dump_push(struct run *r);

#endif
