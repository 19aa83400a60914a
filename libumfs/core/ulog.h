/* SPDX-License-Identifier: MIT */
/*
 * ulog.h - the per-file U-Log (ulog.c); umfs_tools.h has the recovery the
 * tools run.
 */
#ifndef UMFS_CORE_ULOG_H
#define UMFS_CORE_ULOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;
struct umfs_ulog;
struct umfs_recover_stats;

/* ulog.c: the per-file U-Log. The file's vnode lock is held for all but
 * umfs_file_release() and the recovery calls. */
/* The U-Log chain of ino with room for a byte record of len bytes,
 * allocating or extending it. -ENOSPC when the pool has no page for it. */
int umfs_ulog_get(struct umfs_fs *fs, uint64_t ino, uint64_t len, struct umfs_ulog **ulog);
/* Saves the current bytes [off, off + len) of the file (all present) as the
 * valid undo record, with the file size old_size; durable on return.
 * -EUCLEAN, with nothing saved, when the chain or the file's tree over the
 * range is damaged. */
int umfs_ulog_save_bytes(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t ino, uint64_t off,
			 uint64_t len, uint64_t old_size);
/* Starts a swap record for pages [pg, pg + n), the new pages in orphan aux. */
void umfs_ulog_save_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t pg, uint64_t n,
			 uint64_t old_size, uint64_t aux);
/* The head of ino's chain with a spare page (ulog->spare), allocating
 * what is missing. -ENOSPC when the pool has no page for them. */
int umfs_ulog_spare_get(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog **ulog);
/* Gives the file page at byte pos, whose 4 KiB leaf entry is *slot, the
 * chain's spare page filled with buf's 4096 bytes, under a PAGE record
 * (fenced with the bytes); the old page becomes the spare. The leaf and
 * the spare are stored and flushed, not drained: the caller's fence makes
 * the write durable, then it retires the record. */
void umfs_ulog_page_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t *slot, uint64_t pos,
			 uint64_t size, const void *buf);
/* Retires the record: one 8-byte store, flushed, not drained. */
void umfs_ulog_retire(struct umfs_ulog *u);
/* Retires a PAGE record whose write is durable: the store alone (settling
 * it again would change nothing). */
void umfs_ulog_retire_lazy(struct umfs_ulog *u);
/* Exchanges the next pages of a swap record with the orphan's, in as many
 * transactions as it takes (forward), or exchanges the done ones back
 * (!forward). Takes meta_lock. */
int umfs_ulog_swap(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool forward);

/* Undoes a valid record of ino (restores bytes or swaps back, restores the
 * size) and retires it. Takes meta_lock. 0, or -EUCLEAN for a record that
 * fails validation (left alone). */
int umfs_ulog_rollback(struct umfs_fs *fs, uint64_t ino);
/* In tx: frees ino's U-Log chain and clears inode->ulog; unless force,
 * not while a record is in flight (-EBUSY). */
int umfs_ulog_free(struct umfs_fs *fs, uint64_t ino, bool force);

/*
 * For a process that finds another one died in the core (shared pools):
 * rolls back every valid U-Log record (the dead writer's write in flight)
 * and keeps the chains, which live processes may be using. Call it without
 * meta_lock, after umfs_journal_recover(), while no live process can be in
 * a write.
 */
int umfs_ulog_undo_all(struct umfs_fs *fs, struct umfs_recover_stats *st);

#endif /* UMFS_CORE_ULOG_H */
