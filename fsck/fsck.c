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
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "claim.h"
#include "pool_users.h"
#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fsck.umfs [-n|-y|-p] [-v] [-f] [-C FD] POOL\n"
		"Check a UMFS pool and repair it.\n"
		"\n"
		"  -n, --no-write   check only: recovery and repairs run in private memory,\n"
		"                   the pool is not written\n"
		"  -y, --yes        repair every problem found\n"
		"  -p, --preen      repair automatically (the repairs of -y), print only\n"
		"                   problems\n"
		"  -a               same as -p\n"
		"  -f, --force      check fully even if the pool is marked clean\n"
		"  -v, --verbose    report each check step\n"
		"  -C, --progress=FD  write \"STEP/STEPS PERCENT%% NAME\" to descriptor FD as\n"
		"                   each step ends (0 or 1: standard output)\n"
		"  -V, --version    print the version and exit\n"
		"  -h, --help       print this help and exit\n"
		"With none of -n, -y, -p the pool is checked as with -n: fsck.umfs never prompts.\n"
		"Exit: 0 no damage (crash state the next mount repairs is reported as recoverable),\n"
		"1 errors corrected, 4 errors left uncorrected, 8 operational error (also: POOL is\n"
		"not a UMFS pool, and a pool in use, which is neither checked nor repaired),\n"
		"16 usage error.\n");
}

/* Before anything is mapped: a directory or an empty file is no pool, and
 * saying so beats the mapping's EINVAL or ENODEV. */
static int fsck_refuse_nonpool_file(const char *name)
{
	struct stat st;

	if (stat(name, &st))
		return 0; /* the mapping names the error */
	if (S_ISDIR(st.st_mode))
		fprintf(stderr, "fsck.umfs: %s: is a directory, not a UMFS pool\n", name);
	else if (S_ISREG(st.st_mode) && st.st_size == 0)
		fprintf(stderr, "fsck.umfs: %s: is an empty file, not a UMFS pool\n", name);
	else if (S_ISREG(st.st_mode) && st.st_size < 2 * UMFS_PAGE_SIZE)
		fprintf(stderr, "fsck.umfs: %s: is %lld bytes long, too short for a UMFS pool\n",
			name, (long long)st.st_size);
	else
		return 0;
	return -1;
}

/* A pool has the superblock magic in its first page or, if that page is
 * damaged, in its last (the backup); a pool that lost both still has its
 * state page right after the first. None of the three: it is something
 * else, which fsck must neither call damaged nor offer to repair. */
static bool fsck_looks_like_pool(const struct umfs_pmem *pm)
{
	const uint8_t *last = pm->base + (pm->len & ~((size_t)UMFS_PAGE_SIZE - 1)) -
			      UMFS_PAGE_SIZE;
	const struct umfs_superblock *a = (const void *)pm->base, *b = (const void *)last;
	const struct umfs_state *st = (const void *)(pm->base + UMFS_PAGE_SIZE);

	return le64toh(a->magic) == UMFS_SB_MAGIC || le64toh(b->magic) == UMFS_SB_MAGIC ||
	       le64toh(st->magic) == UMFS_STATE_MAGIC;
}

static int pmem_lock_try(void *pm)
{
	return umfs_pmem_lock(pm, true);
}

/* A pool in use is neither checked nor repaired: its users' open U-Logs,
 * orphans and pages in flux would read as damage, and repairs would pull
 * the pool from under them. */
static int refuse_in_use(const struct fsck_opts *opts)
{
	struct umfs_pool_users u = { 0 };
	struct stat st;

	if (stat(opts->name, &st) == 0)
		umfs_pool_users_find(opts->name, &st, &u);
	fprintf(stderr, "fsck.umfs: %s: the pool is in use by ", opts->name);
	umfs_pool_users_print(stderr, &u);
	fprintf(stderr, ": nothing %s; check it once every user has exited (fusermount3 -u for "
		"a umfs-fuse mount)\n", opts->mode == FSCK_MODE_CHECK ? "checked" : "repaired");
	return FSCK_EXIT_OPERATIONAL;
}

/* Takes the pool for the run: 0, or the exit code of a refusal (said). */
static int claim_pool(const struct fsck_opts *opts, int (*try_lock)(void *), void *arg)
{
	int err = fsck_pool_claim(opts->name, try_lock, arg);

	if (err == -EBUSY)
		return refuse_in_use(opts);
	if (err) {
		fprintf(stderr, "fsck.umfs: %s: cannot lock the pool: %s\n", opts->name,
			strerror(-err));
		return FSCK_EXIT_OPERATIONAL;
	}
	return 0;
}

/* A check-only run maps the pool privately, which keeps no descriptor: the
 * lock is taken on one of its own, before the map (a device DAX pool is
 * copied as it is mapped). */
static int claim_for_check(const struct fsck_opts *opts, int *lockfd)
{
	*lockfd = open(opts->name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (*lockfd < 0)
		return 0; /* the mapping names the error */
	return claim_pool(opts, fsck_flock_try, lockfd);
}

/* -C FD: a descriptor open for writing (e2fsck's 0 means standard output). */
static int progress_fd(const char *arg)
{
	char *end;
	long fd;
	int fl;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno || end == arg || *end || fd < 0 || fd > INT_MAX)
		umfs_cli_refuse("fsck.umfs", FSCK_EXIT_USAGE,
				"-C '%s': expected a file descriptor number", arg);
	if (fd == 0)
		fd = STDOUT_FILENO;
	fl = fcntl((int)fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		umfs_cli_refuse("fsck.umfs", FSCK_EXIT_USAGE,
				"-C %ld: descriptor %ld is not open for writing", fd, fd);
	return (int)fd;
}

int main(int argc, char **argv)
{
	struct fsck_opts opts = { .mode = FSCK_MODE_CHECK, .out = stdout, .progress_fd = -1 };
	struct fsck_summary sum;
	struct umfs_pmem pm;
	static const struct option longopts[] = {
		{ "no-write", no_argument, NULL, 'n' },
		{ "yes", no_argument, NULL, 'y' },
		{ "preen", no_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "progress", required_argument, NULL, 'C' },
		UMFS_CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, modes = 0, err, code, lockfd = -1;
	bool chosen = false;

	opterr = 0; /* our own messages */
	while ((opt = getopt_long(argc, argv, ":nypafvC:hV", longopts, NULL)) != -1) {
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
		case 'C':
			opts.progress_fd = progress_fd(optarg);
			break;
		case 'V':
			umfs_cli_version("fsck.umfs");
			return FSCK_EXIT_OK;
		case 'h':
			usage(stdout);
			return FSCK_EXIT_OK;
		default:
			umfs_cli_bad_option("fsck.umfs", FSCK_EXIT_USAGE, opt, argv);
		}
	}
	if (modes & (modes - 1))
		umfs_cli_refuse("fsck.umfs", FSCK_EXIT_USAGE, "only one of -n, -y and -p may be given");
	chosen = modes != 0;
	if (optind >= argc)
		umfs_cli_refuse("fsck.umfs", FSCK_EXIT_USAGE, "no POOL given");
	if (optind + 1 < argc)
		umfs_cli_refuse("fsck.umfs", FSCK_EXIT_USAGE, "unexpected argument '%s' after POOL",
				argv[optind + 1]);
	opts.name = argv[optind];

	if (fsck_refuse_nonpool_file(opts.name))
		return FSCK_EXIT_OPERATIONAL;
	if (opts.mode == FSCK_MODE_CHECK && (code = claim_for_check(&opts, &lockfd)))
		return code;
	if (opts.mode == FSCK_MODE_CHECK)
		err = umfs_pmem_map_private(opts.name, &pm);
	else
		err = umfs_pmem_map(opts.name, 0, false, &pm);
	if (err) {
		fprintf(stderr, "fsck.umfs: %s: cannot map the pool: %s\n", opts.name, strerror(-err));
		return FSCK_EXIT_OPERATIONAL;
	}
	if (!fsck_looks_like_pool(&pm)) {
		fprintf(stderr, "fsck.umfs: %s: not a UMFS pool (no superblock in its first or last "
			"page, no state page); nothing checked or changed\n", opts.name);
		umfs_pmem_unmap(&pm);
		return FSCK_EXIT_OPERATIONAL;
	}
	if (opts.mode != FSCK_MODE_CHECK && (code = claim_pool(&opts, pmem_lock_try, &pm))) {
		umfs_pmem_unmap(&pm);
		return code;
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
	if (lockfd >= 0)
		close(lockfd);
	fsck_summary_print(&opts, &sum);
	return code;
}
