/* SPDX-License-Identifier: MIT */
/*
 * craft_pool.h - the populated pool of the crafted-pool test, as the
 * crafter (sec_craft populate) makes it and the workload (sec_victim)
 * expects it: every file's name, size, the ranges written and the bytes
 * they hold, so that both compute the same content without a copy.
 */
#ifndef CRAFT_POOL_H
#define CRAFT_POOL_H

#include <stdint.h>

#define CP_GIB (1ull << 30)
#define CP_DIR_FILES 300  /* /d/n000.. : three entry blocks, hashed */
#define CP_DIR_FILE_SIZE 48

/* A range the populated pool wrote; everything else below size reads 0. */
struct cp_range {
	uint64_t off, len;
};

struct cp_file {
	const char *path;
	unsigned fid;       /* seeds its bytes */
	uint64_t size;
	struct cp_range w[2];
};

/* one page (height 0), a few pages (a level-1 table), more than 4 MiB
 * (2 MiB leaves under a level-2 table, then a level-1 table), sparse past
 * 1 GiB (height 3), and the file left open for writing (its U-Log page). */
static const struct cp_file cp_files[] = {
	{ "one", 1, 4096, { { 0, 4096 } } },
	{ "few", 2, 3 * 4096 + 100, { { 0, 3 * 4096 + 100 } } },
	{ "big", 3, (4ull << 20) + 8192, { { 0, (4ull << 20) + 8192 } } },
	{ "sparse", 4, CP_GIB + 3 * 4096, { { 0, 4096 }, { CP_GIB + 4096, 4096 } } },
	{ "ulog", 5, 2 * 4096, { { 0, 2 * 4096 } } },
};
#define CP_NFILES (sizeof(cp_files) / sizeof(cp_files[0]))
#define CP_ULOG_FILE 4 /* index of "ulog" */

/* Byte at off of the content seeded by fid: never a long run of one value,
 * so that a page of another file, a table or zeros never passes for it. */
static inline uint8_t cp_byte(unsigned fid, uint64_t off)
{
	uint64_t x = (off >> 2) * 0x9E3779B97F4A7C15ull + fid * 0xD1B54A32D192ED03ull;

	return (uint8_t)((x >> 56) ^ (off & 3) ^ 0x5a);
}

/* fid of /d/n<i> */
static inline unsigned cp_dir_fid(unsigned i)
{
	return 100 + i;
}

#endif /* CRAFT_POOL_H */
