/* SPDX-License-Identifier: MIT */
/*
 * fsck_testlib.h - helpers shared by the fsck tests and the fuzzing
 * harness: scratch pools populated through the public API, runs of the
 * check engine with captured output, and the on-media places a test wants
 * to corrupt.
 */
#ifndef UMFS_FSCK_TESTLIB_H
#define UMFS_FSCK_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "core.h" /* the tests reach past fsck into the core */

#define FT_POOL_SIZE (8ull << 20)

/* A path for a scratch pool (UMFS_TEST_DIR or /dev/shm), unique per call. */
void ft_pool_path(char *buf, size_t len, const char *tag);

/* Formats path as a fresh pool of size bytes (the file is created). */
int ft_pool_format(const char *path, uint64_t size, uint64_t inodes);

/*
 * Populates a mounted pool with a bit of everything: nested directories,
 * small files, a sparse file, a file with a 2 MiB leaf, symlinks, hard
 * links, special files, an indexed directory and one whose bucket split.
 * Returns 0 or -errno naming the first failing call in *what.
 */
int ft_pool_populate(const char *path, const char **what);

/* The inode number of path in the pool (lstat through the API). */
uint64_t ft_ino_of(const char *pool, const char *path);

/* Walks the tree under dir through the core: readdir, stat, read, readlink
 * (of the first per_dir entries of each directory; 0: all). Returns the
 * number of errors the core reported. */
int ft_walk_tree(struct umfs_fs *fs, const char *dir, int depth, unsigned *visited,
		 unsigned per_dir);

/* Runs the engine on the pool file: shared map for repair modes, private
 * for check mode. The messages go to *text (malloc'd, may be NULL). */
int ft_fsck(const char *path, enum fsck_mode mode, bool force, char **text,
	    struct fsck_summary *sum);

/* A mapping of the pool for a test to corrupt directly. */
struct ft_map {
	struct umfs_pmem pm;
	struct umfs_superblock sb;
	uint8_t *base;
};
int ft_map_open(const char *path, struct ft_map *m);
void ft_map_close(struct ft_map *m);
struct umfs_inode *ft_inode(struct ft_map *m, uint64_t ino);
struct umfs_state *ft_state(struct ft_map *m);
uint64_t *ft_ibitmap(struct ft_map *m);
uint64_t *ft_pbitmap(struct ft_map *m);
/* Pool offset of file page pg of an inode (a plain walk of a sound tree). */
uint64_t ft_page_off(struct ft_map *m, const struct umfs_inode *in, uint64_t pg);
void ft_inode_seal(struct umfs_inode *in);

/*
 * Offsets of the metadata pages of the data zone of a sound pool: table
 * pages of every file, and every page of every directory. Returns a
 * malloc'd array; *ntables of the first entries are table pages.
 */
uint64_t *ft_meta_pages(struct ft_map *m, size_t *n, size_t *ntables);

#endif
