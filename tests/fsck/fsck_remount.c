/* SPDX-License-Identifier: MIT */
/*
 * fsck_remount.c - mounts a pool through the C API and unmounts it: the
 * mount's own recovery, which the crash-state tests compare fsck -n with.
 * Prints what the recovery did.
 *
 *   fsck_remount POOL
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

int main(int argc, char **argv)
{
	struct umfs_recover_stats st;
	struct umfs_fs *fs;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: fsck_remount POOL\n");
		return 2;
	}
	err = umfs_mount(argv[1], 0, &fs);
	if (err) {
		fprintf(stderr, "fsck_remount: mount: %s (%s)\n", strerror(-err),
			umfs_mount_error());
		return 1;
	}
	st = fs->recovery;
	printf("recovery: %u transaction(s) rolled back, %u write(s) rolled back, %u U-Log "
	       "chain(s) freed, %u truncate(s) finished, %u orphan(s) reclaimed\n",
	       st.journal_rolled_back, st.ulog_rolled_back, st.ulogs_freed, st.truncs_finished,
	       st.orphans_reclaimed);
	err = umfs_unmount(fs);
	if (err) {
		fprintf(stderr, "fsck_remount: unmount: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
