/* SPDX-License-Identifier: MIT */
/*
 * journal.h - undo-log transactions over byte ranges of the pool (journal.c);
 * umfs_tools.h has the calls the tools make.
 */
#ifndef UMFS_CORE_JOURNAL_H
#define UMFS_CORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umfs_fs;

int umfs_journal_open(struct umfs_fs *fs);  /* binds slot 0 to fs->tx */
void umfs_journal_close(struct umfs_fs *fs);
/* No transaction is open on media: in slot 0 (the core's; a forked child
 * that died in one leaves it so), and with all, in every slot (the kernel
 * module's is the last). What a pool marked clean promises its mounts. */
bool umfs_journal_idle(const struct umfs_fs *fs, bool all);
/* Sequence numbers of this process's next transactions: above every
 * number another process may have reserved so far. */
void umfs_tx_seq_renew(struct umfs_fs *fs);

/* Snapshots [addr, addr+len) before the caller changes it. -ENOSPC when the
 * slot is full: the caller aborts, or commits and continues in a new tx. */
int umfs_tx_add(struct umfs_fs *fs, const void *addr, size_t len);
/* umfs_tx_add without the fence: the caller changes none of the ranges it
 * saved before umfs_tx_seal (or any umfs_tx_add) has returned, so that the
 * records of one call share one fence. */
int umfs_tx_save(struct umfs_fs *fs, const void *addr, size_t len);
void umfs_tx_seal(struct umfs_fs *fs);
/* Declares a range changed without a snapshot (fresh pages): persisted at commit. */
int umfs_tx_dirty(struct umfs_fs *fs, const void *addr, size_t len);
/* Journal bytes still free in the slot, less what commit will need to
 * apply the pending page frees. */
size_t umfs_tx_room(const struct umfs_fs *fs);

/* Runs step(fs, arg) in successive transactions, each under meta_lock,
 * while it returns 1 (stopped early for journal room); 0 when done. A
 * negative return aborts that transaction and is returned. Each step must
 * leave a valid state, since a crash may fall between transactions. */
int umfs_tx_loop(struct umfs_fs *fs, int (*step)(struct umfs_fs *fs, void *arg), void *arg);

/* Snapshot-then-store helper for a single field. */
int umfs_tx_set64(struct umfs_fs *fs, uint64_t *field, uint64_t val);

#endif /* UMFS_CORE_JOURNAL_H */
