/* SPDX-License-Identifier: MIT */
/*
 * share.h - the lock region of a shared mount (share.c).
 */
#ifndef UMFS_CORE_SHARE_H
#define UMFS_CORE_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umfs_frontend.h"

struct umfs_fs;
struct umfs_inherited;
struct umfs_plock;
struct umfs_locktab;

/* share.c: the lock region in the runtime directory (see there). */
struct umfs_share;
/* Where the region lives, for messages. */
const char *umfs_share_where(const struct umfs_fs *fs);
/* Opens (first: creates or rebuilds) the region; *first when no other
 * process uses the pool, which then holds the gate for writing. */
int umfs_share_open(struct umfs_fs *fs, bool *first);
/* The same through inherited descriptors (umfs_mount_inherited). */
int umfs_share_open_inherited(struct umfs_fs *fs, const struct umfs_inherited *in, bool *first);
/* Lets the others in (after recovery). */
void umfs_share_ready(struct umfs_fs *fs);
/* The first user's free counts and cursors, for the others to take as
 * they join (under the gate, which it holds alone). */
void umfs_share_counts_publish(struct umfs_fs *fs);
/* A joiner's counts: those the region holds, else counted from the bitmaps. */
void umfs_share_counts_take(struct umfs_fs *fs);
/* At unmount: true when no other process uses the pool (the gate is then
 * held for writing until umfs_share_close, which the last user tells how
 * to leave the region: UMFS_SHARE_RETIRE cuts it to nothing, for a region
 * in which someone may have died; UMFS_SHARE_PARK, when every user left
 * cleanly, keeps it whole for the next first user to reset in place). */
bool umfs_share_last(struct umfs_fs *fs);
enum umfs_share_leave { UMFS_SHARE_STAY, UMFS_SHARE_RETIRE, UMFS_SHARE_PARK };
void umfs_share_close(struct umfs_fs *fs, enum umfs_share_leave how);
/* Around fork: the parent opens a gate description for the child, which
 * takes it as its own; when the parent cannot (it changed credentials
 * since it mounted), both share the parent's and say so (gate_shared). */
void umfs_share_fork_prepare(struct umfs_fs *fs);
void umfs_share_fork_parent(struct umfs_fs *fs);
void umfs_share_fork_child(struct umfs_fs *fs);
void umfs_share_meta_enter(struct umfs_fs *fs);
void umfs_share_meta_exit(struct umfs_fs *fs);
/* Whether another process waits for the lock region's metadata lock, and,
 * once it is let go, a pause until that process has it (or briefly). */
bool umfs_share_meta_waited(struct umfs_fs *fs);
void umfs_share_meta_let_in(struct umfs_fs *fs);
void umfs_share_wrlock(struct umfs_fs *fs, uint64_t ino);
void umfs_share_wrunlock(struct umfs_fs *fs, uint64_t ino);
/* Changes to the bytes or size of ino by a process that does not mirror
 * them (umfs_fs_mirror), counted per stripe: add one with the stripe held,
 * after the change. */
void umfs_share_unmirrored_add(struct umfs_fs *fs, uint64_t ino);
uint64_t umfs_share_unmirrored(struct umfs_fs *fs, uint64_t ino);
uint64_t umfs_share_read_begin(struct umfs_fs *fs, uint64_t ino);
bool umfs_share_read_retry(struct umfs_fs *fs, uint64_t ino, uint64_t seq);
/* Counts holders of an open inode across processes (meta_lock held);
 * umfs_share_held: whether anybody holds it. */
void umfs_share_hold(struct umfs_fs *fs, uint64_t ino, int delta);
bool umfs_share_held(const struct umfs_fs *fs, uint64_t ino);
/* Claims (delta 1) or gives back (-1) the memory of inode ino, which the
 * caller holds, for kind (umfs_frontend.h), meta_lock held: -EBUSY while
 * the other kind holds it, or for the cache, another process's cache. */
int umfs_share_mem_claim(struct umfs_fs *fs, uint64_t ino, enum umfs_mem kind, int delta);
/* A process leaving without closing ino (gen) was its last holder: what
 * the last close would do (the U-Log goes, an unlinked file is freed) is
 * left to the next process that joins (umfs_settle_sweep), since another
 * thread of the leaver may still be in the file. Under meta; at most
 * UMFS_SHARE_SETTLE_CAP wait, more are the last user's recovery's. */
#define UMFS_SHARE_SETTLE_CAP 64
void umfs_share_settle_add(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
size_t umfs_share_settle_take(struct umfs_fs *fs, uint64_t *ino, uint32_t *gen, size_t cap);
/* Whether the list may hold entries, read without meta: a join or statfs
 * that finds it empty takes no lock (an entry added just after is the
 * next sweep's, as it would be had the lock been taken first). */
bool umfs_share_settle_pending(const struct umfs_fs *fs);
/* Does what the last close of each file umfs_share_settle_add names would
 * have done, for those nobody holds now (api_frontend.c). */
void umfs_settle_sweep(struct umfs_fs *fs);
/* This process leaves cleanly (its holds dropped, under the gate still):
 * counted, so that the last user can tell that nobody died. */
void umfs_share_left_clean(struct umfs_fs *fs);
/* Every process that joined the region has left cleanly, and no file waits
 * to be settled: nothing is left for the last user to recover. */
bool umfs_share_none_died(const struct umfs_fs *fs);
/* An earlier image of this process, which handed its holds on across exec,
 * counted as leaving cleanly once they are taken over; or this image,
 * holding nothing, as its exec starts (umfs_holds_hand), and as joining
 * again when that exec failed. */
void umfs_share_count_clean(struct umfs_fs *fs);
void umfs_share_count_join(struct umfs_fs *fs);
/* An exec that counted this process's leave, holding nothing: alone is
 * true when no other process uses the region (the gate then held for
 * writing, in turn with leavers); alone_end gives it back, noting in the
 * region that the pool was marked clean (clean) until the next join. */
bool umfs_share_exec_alone(struct umfs_fs *fs);
void umfs_share_exec_alone_end(struct umfs_fs *fs, bool clean);
/* Which making of the region this is: a first user makes a new one over
 * the same runtime directory, with every count starting from nothing. */
uint64_t umfs_share_instance(const struct umfs_fs *fs);
/* The metadata lock in the region (tests forge its holder; everything
 * after it in the file is the region's body, the header before it). */
struct umfs_plock *umfs_share_meta_plock(struct umfs_fs *fs);
/* The count every holder of the metadata lock makes odd as it takes the
 * lock and even as it leaves (fs.c, umfs_meta_read). */
_Atomic uint64_t *umfs_share_meta_seq(struct umfs_fs *fs);
struct umfs_locktab *umfs_share_locktab(struct umfs_fs *fs);

/* Locks taken over from dead holders since the region was made. */
uint64_t umfs_share_takeovers(const struct umfs_fs *fs);

#endif /* UMFS_CORE_SHARE_H */
