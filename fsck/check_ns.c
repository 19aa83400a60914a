/* SPDX-License-Identifier: MIT */
/*
 * check_ns.c - step 10: namespace repairs through the core.
 *
 * A re-created root and a new /lost+found are empty directory inodes by
 * now; the entries to create (the names of reconnected inodes, the root's
 * "lost+found") wait in c->adds. The bitmaps match what is in use, so the
 * core's allocator and directory code can be trusted to create them, each
 * in its own transaction: the result has the layout the core itself would
 * have built, and a run cut short loses no name it had already created.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* Other names tried when a reconnected "#<ino>" is taken. */
#define RENAME_TRIES 16

static int core_dir_init(struct umfs_fs *fs, uint64_t dir)
{
	int err = umfs_tx_begin(fs);

	if (err)
		return err;
	err = umfs_dir_init(fs, dir);
	if (err) {
		umfs_tx_abort(fs);
		return err;
	}
	return umfs_tx_commit(fs);
}

static int core_dir_add(struct umfs_fs *fs, const struct fsck_add *a, const char *name,
			size_t len)
{
	int err = umfs_tx_begin(fs);

	if (err)
		return err;
	err = umfs_dir_add(fs, a->dir, name, len, a->ino, a->type);
	if (err) {
		umfs_tx_abort(fs);
		return err;
	}
	return umfs_tx_commit(fs);
}

static void add_entry(struct fsck *c, const struct fsck_add *a)
{
	char name[FSCK_NAME_BUF];
	size_t len = a->name_len;
	int err;

	err = core_dir_add(c->fs, a, a->name, len);
	/* A reconnected inode's name may already be taken in lost+found. */
	for (unsigned k = 1; err == -EEXIST && a->name[0] == '#' && k <= RENAME_TRIES; k++) {
		int n = snprintf(name, sizeof(name), "%s.%u", a->name, k);

		if (n < 0 || (size_t)n >= sizeof(name))
			break;
		len = (size_t)n;
		err = core_dir_add(c->fs, a, name, len);
	}
	if (err)
		fsck_problem(c, NULL, "directory %" PRIu64 ": could not create entry \"%s\" for inode %" PRIu64
			     ": %s",
			     a->dir, fsck_name(name, a->name, a->name_len), a->ino, strerror(-err));
}

int fsck_namespace(struct fsck *c)
{
	bool any = c->nadds > 0;
	int err;

	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count && !any; ino++)
		any = c->ino[ino].flags & FI_RESET;
	if (!any)
		return 0;

	/* The allocator's counts come from the bitmaps just rewritten. */
	umfs_alloc_init(c->fs);
	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count; ino++) {
		if (!(c->ino[ino].flags & FI_RESET))
			continue;
		err = core_dir_init(c->fs, ino);
		if (err)
			fsck_problem(c, NULL, "directory %" PRIu64 ": could not be laid out again: %s",
				     ino, strerror(-err));
	}
	for (size_t i = 0; i < c->nadds; i++)
		add_entry(c, &c->adds[i]);
	fsck_info(c, "namespace: %zu entries created", c->nadds);
	return 0;
}
