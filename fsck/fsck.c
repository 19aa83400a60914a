/* SPDX-License-Identifier: MIT */
/*
 * fsck.c - fsck.umfs: check and repair a UMFS pool.
 *
 * A thin command over the check engine (check.c): it parses the options,
 * maps the pool (copy-on-write for a check-only run, so that recovery and
 * repairs happen in private memory and the pool is never written), runs
 * the ordered check steps and prints the summary. Exit codes are fsck(8)'s;
 * crash state alone is no error (check.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fsck.umfs [-n|-y|-p] [-v] [-f] POOL\n"
		"  -n  check only: recovery and repairs run in private memory, the pool is not written\n"
		"  -y  repair every problem found\n"
		"  -p  preen: repair automatically (the repairs of -y), print only problems\n"
		"  -a  same as -p\n"
		"  -f  check fully even if the pool is marked clean\n"
		"  -v  verbose: report each check step\n"
		"With none of -n, -y, -p the pool is checked as with -n: fsck.umfs never prompts.\n"
		"Exit: 0 no damage (crash state the next mount repairs is reported as recoverable),\n"
		"1 errors corrected, 4 errors left uncorrected, 8 operational error, 16 usage error.\n");
}

int main(int argc, char **argv)
{
	struct fsck_opts opts = { .mode = FSCK_MODE_CHECK, .out = stdout };
	struct fsck_summary sum;
	struct umfs_pmem pm;
	int opt, modes = 0, err, code;
	bool chosen = false;

	while ((opt = getopt(argc, argv, "nypafvh")) != -1) {
		switch (opt) {
		case 'n':
			opts.mode = FSCK_MODE_CHECK;
			modes |= 1;
			break;
		case 'y':
			opts.mode = FSCK_MODE_REPAIR;
			modes |= 2;
			break;
		case 'p':
		case 'a':
			opts.mode = FSCK_MODE_PREEN;
			modes |= 4;
			break;
		case 'f':
			opts.force = true;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return FSCK_EXIT_OK;
		default:
			usage(stderr);
			return FSCK_EXIT_USAGE;
		}
	}
	if (modes & (modes - 1)) {
		fprintf(stderr, "fsck.umfs: only one of -n, -y and -p may be given\n");
		usage(stderr);
		return FSCK_EXIT_USAGE;
	}
	chosen = modes != 0;
	if (optind != argc - 1) {
		usage(stderr);
		return FSCK_EXIT_USAGE;
	}
	opts.name = argv[optind];

	if (opts.mode == FSCK_MODE_CHECK)
		err = umfs_pmem_map_private(opts.name, &pm);
	else
		err = umfs_pmem_map(opts.name, 0, false, &pm);
	if (err) {
		fprintf(stderr, "fsck.umfs: %s: cannot map the pool: %s\n", opts.name, strerror(-err));
		return FSCK_EXIT_OPERATIONAL;
	}
	/* Repairs need the pool to themselves. */
	if (opts.mode != FSCK_MODE_CHECK) {
		err = umfs_pmem_lock(&pm, true);
		if (err) {
			fprintf(stderr, "fsck.umfs: %s: %s\n", opts.name,
				err == -EBUSY ? "the pool is in use: not repaired" : strerror(-err));
			umfs_pmem_unmap(&pm);
			return FSCK_EXIT_OPERATIONAL;
		}
	}
	if (!chosen)
		printf("fsck.umfs: no -n, -y or -p given: checking only, nothing is written\n");
	if (opts.verbose)
		printf("fsck.umfs: %s: %s\n", opts.name,
		       opts.mode == FSCK_MODE_CHECK ? "checking (changes stay in private memory)"
						    : "checking and repairing");

	code = fsck_check(&pm, &opts, &sum);
	if (opts.mode != FSCK_MODE_CHECK) {
		err = umfs_pmem_sync(&pm);
		if (err) {
			fprintf(stderr, "fsck.umfs: %s: cannot sync the pool: %s\n", opts.name,
				strerror(-err));
			code = FSCK_EXIT_OPERATIONAL;
			sum.exit_code = code;
		}
	}
	umfs_pmem_unmap(&pm);
	fsck_summary_print(&opts, &sum);
	return code;
}
