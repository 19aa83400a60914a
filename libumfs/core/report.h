/* SPDX-License-Identifier: MIT */
/*
 * report.h - damage found while serving, logged once (report.c).
 */
#ifndef UMFS_CORE_REPORT_H
#define UMFS_CORE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;

/* Logs one line (printf-style) about damage, unless (key, sig) was
 * reported on fs already. key: an inode number, or a directory's with
 * UMFS_DAMAGE_ENTRY for one of its entries; sig tells damages apart. */
#define UMFS_DAMAGE_ENTRY (1ull << 63)
#define UMFS_DAMAGE_DIRSIG 0xd1u /* sig of damage in a directory's blocks or index */
#define UMFS_DAMAGE_TREESIG 0x7eu /* sig of damage in a file's page table */
void umfs_damage_report(struct umfs_fs *fs, uint64_t key, uint32_t sig, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* True when (key, sig) was reported on fs. */
bool umfs_damage_known(struct umfs_fs *fs, uint64_t key, uint32_t sig);
/* Keys of damage in the allocation bitmaps (alloc.c). */
#define UMFS_DAMAGE_PBITMAP (1ull << 62) /* | a page of the page bitmap */
#define UMFS_DAMAGE_IBITMAP (1ull << 61) /* | an inode in use marked free */
/* The first report of a damage also records its kind in the state page's
 * errors word: report only damage that is settled (met under the lock its
 * writers take, or checked again under it). umfs_damage_mark adds the
 * UMFS_ERRORS_* bits `what` to that word, durably (one atomic 8-byte
 * store, persisted); nothing on a read-only mapping. */
void umfs_damage_mark(struct umfs_fs *fs, uint64_t what);

#endif /* UMFS_CORE_REPORT_H */
