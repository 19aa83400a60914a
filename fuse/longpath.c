/* SPDX-License-Identifier: MIT */
/*
 * longpath.c - paths of PATH_MAX bytes or more.
 *
 * The kernel resolves a path one component at a time, so a relative path
 * from a deep cwd reaches nodes whose path from the root is longer than
 * PATH_MAX; libfuse's high-level API then hands the daemon that whole path.
 * The core walks at most PATH_MAX - 1 bytes at once: the path is cut at a
 * '/' before that, and the head is opened (O_PATH) as the directory the
 * rest starts at (umfs_walk_from), as many times as it takes. The names in
 * a path from libfuse are the nodes the kernel looked up (no symlink and
 * no ".." in them), so the walk is the same; search permission is checked
 * on every directory on the way, as a walk of the whole path would.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "umfs_fuse.h"

int uf_long_get(const char *path, struct uf_long *l)
{
	struct umfs_fs *fs = uf_fs();
	const char *rest = path;
	char *head = NULL;
	int err = 0;

	l->hold = NULL;
	l->ino = 0;
	l->gen = 0;
	l->rest = path;
	if (!path || strlen(path) < PATH_MAX)
		return 0;
	head = malloc(PATH_MAX);
	if (!head)
		return -ENOMEM;
	while (strlen(rest) >= PATH_MAX) {
		struct umfs_file *next;
		size_t cut = PATH_MAX - 1;

		while (cut > 0 && rest[cut] != '/')
			cut--;
		if (cut == 0) {
			err = -ENAMETOOLONG; /* no component is that long */
			break;
		}
		memcpy(head, rest, cut);
		head[cut] = '\0';
		umfs_walk_from(fs, l->ino, l->gen, 0, 0);
		err = umfs_open(fs, head, O_PATH | O_DIRECTORY, 0, &next);
		if (err)
			break;
		if (l->hold)
			umfs_close(l->hold);
		l->hold = next;
		umfs_file_id(next, &l->ino, &l->gen);
		rest += cut + 1;
	}
	free(head);
	if (err) {
		uf_long_put(l);
		return err;
	}
	l->rest = rest;
	uf_long_use(l, NULL);
	return 0;
}

void uf_long_use(const struct uf_long *from, const struct uf_long *to)
{
	umfs_walk_from(uf_fs(), from->ino, from->gen, to ? to->ino : 0, to ? to->gen : 0);
}

void uf_long_put(struct uf_long *l)
{
	if (l->hold) {
		umfs_close(l->hold);
		umfs_walk_from(NULL, 0, 0, 0, 0);
	}
	l->hold = NULL;
	l->ino = 0;
}
