/* SPDX-License-Identifier: MIT */
/*
 * share.c - the lock region: what processes mounting one pool at once
 * (UMFS_MOUNT_SHARED: the LD_PRELOAD library and umfs-fuse) share in DRAM.
 *
 * The file "lock" in the pool's runtime directory (rundir.c) holds
 *   - the metadata lock (plock.c): it serialises every journal transaction
 *     (there is one journal slot in use) and the namespace. A process that
 *     takes it from a dead holder rolls the holder's transaction back first;
 *   - an epoch, bumped by every holder that changed allocation state, so
 *     that the next holder recounts free space instead of trusting its own;
 *   - inode lock stripes: a lock for writers (data, size, page table,
 *     U-Log) and a sequence count for readers, who take no lock and retry a
 *     copy that overlapped a write. A process that takes a stripe from a
 *     dead writer rolls back that writer's U-Log record.
 * The first process (the gate of gate.c, taken for writing) initialises
 * the region, whatever a previous boot or a dead set of processes left in
 * it, and runs the full recovery; it then downgrades to reading, which
 * every other user holds. The last one to leave takes it for writing again,
 * may recover what dead processes left (orphans), and leaves the region to
 * the next first user: parked (kept whole, every lock and count in it
 * free) when every user left cleanly, else retired (the file cut to
 * nothing, to be rebuilt). A last user that leaves by exec, holding
 * nothing, leaves it noted instead (umfs_exec_last): taken up as parked.
 * The region also counts the holders of open inodes in every process, so
 * that an unlinked file lives until its last holder anywhere closes it.
 * Nothing in the region is trusted: a header that does not match is
 * rebuilt (by the first user) or refused, counts are range-checked, and
 * every lock word is either a live holder or taken over.
 * Nothing here is persistent: locks must not outlive a reboot.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "share.h"
#include "alloc.h"
#include "fault.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "locktab.h"
#include "log.h"
#include "os.h"
#include "prefault.h"
#include "rundir.h"
#include "ulog.h"

#define SHARE_MAGIC 0x4B434F4C53464D55ull /* "UMFSLOCK" */
/* the layout below and the lock table's, share_stripe()'s and held_home()'s
 * rules, the kind of task stamp, who counts unmirrored changes, its pages
 * reserved, who draws descriptions' lock ids */
#define SHARE_VERSION 18
#define SHARE_STRIPES 4096u
#define SHARE_SPINS 2000 /* reader spins on an odd count before checking the writer */
#define SHARE_HELD_CAP 65536u /* open inodes counted across processes */
#define SHARE_RESTARTS 200
#define SHARE_MEM_HOSTMAP 0x80000000u /* held.mem: libumfs's host file */

struct share_stripe {
	struct umfs_plock wlock; /* writers */
	_Atomic uint64_t seq;    /* odd while a writer changes the inode */
	_Atomic uint64_t ino;    /* the inode its holder writes: for recovery */
	_Atomic uint64_t unmirrored; /* changes by processes that mirror none */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct share_stripe) == 64, "a stripe is one cache line");

struct umfs_share {
	uint64_t magic;
	uint32_t version;
	uint32_t nstripes;
	uint64_t size;         /* sizeof(struct umfs_share) */
	uint64_t run_id;       /* the runtime directory it belongs to */
	uint64_t instance;     /* this making of the region: a first user's new one */
	uint8_t uuid[16];
	char boot_id[40];      /* the boot that initialised a region in /tmp */
	struct umfs_plock meta;
	_Atomic uint64_t meta_seq; /* odd while meta is held (umfs_meta_read) */
	_Atomic uint64_t epoch;
	_Atomic uint64_t takeovers; /* locks taken from dead holders */
	/* the allocator's counts and hints as the last holder left them
	 * (valid when counts_valid: a dead holder's are recounted) */
	struct share_counts {
		uint64_t free_pages, free_inodes, page_cursor, ino_cursor;
	} counts;
	uint64_t counts_valid;
	/* files whose last holder left without closing them (changed under
	 * meta): what their last close would do is the next joiner's */
	uint32_t nsettle;
	uint32_t settle_lost; /* the list overflowed: the last user recovers */
	/* processes that joined (a mount, a forked child) and that left
	 * cleanly (their holds dropped or handed on and taken over): equal
	 * at the last user's unmount when none died using the pool */
	_Atomic uint64_t joins, clean_leaves;
	/* nonzero: the last user left by exec (umfs_exec_last) and marked the
	 * pool clean, and nobody joined since; the next joiner marks the pool
	 * in use again before it clears this */
	_Atomic uint64_t exec_clean;
	struct share_settle {
		uint64_t ino;
		uint32_t gen, pad;
	} settle[UMFS_SHARE_SETTLE_CAP];
	/* fcntl and flock locks (locktab.c): their header, which every
	 * mount reads, on the first page with the rest of the header */
	struct umfs_locktab locks;
	struct share_stripe stripes[SHARE_STRIPES];
	/* holders of open inodes across processes (changed under meta): an
	 * unlinked inode is freed only when nobody holds it; and which front
	 * end's memory may hold stores to its bytes (umfs_share_mem_claim) */
	struct share_held {
		uint64_t ino;   /* 0: empty */
		uint32_t count; /* holders: processes, at most one hold each */
		uint32_t mem;   /* SHARE_MEM_HOSTMAP, or the count of cache claims */
		uint32_t cache; /* the process whose cache they are (a daemon's pid) */
		uint32_t pad;
	} held[SHARE_HELD_CAP];
};

static void share_boot_id(char out[40])
{
	int fd = OS(open)("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? OS(read)(fd, out, 39) : -1;

	if (fd >= 0)
		OS(close)(fd);
	out[n > 0 ? n : 0] = '\0';
}

static void share_instance_new(struct umfs_share *s)
{
	if (OS(getrandom)(&s->instance, sizeof(s->instance), 0) != sizeof(s->instance) ||
	    s->instance == 0)
		s->instance = (uint64_t)umfs_now_ns() | 1; /* any value another making lacks */
}

static void share_init(struct umfs_share *s, const struct umfs_fs *fs)
{
	/* the file was just zeroed (share_open_once): every lock is free */
	memcpy(s->uuid, fs->sb.uuid, 16);
	if (umfs_rundir_outlives_boot(fs->run_id))
		share_boot_id(s->boot_id);
	s->nstripes = SHARE_STRIPES;
	s->version = SHARE_VERSION;
	s->size = sizeof(*s);
	s->run_id = fs->run_id;
	share_instance_new(s);
	atomic_thread_fence(memory_order_release);
	s->magic = SHARE_MAGIC;
}

/* What is wrong with a region someone else made, or NULL. Its boot is
 * asked only where the directory may outlive one: in /dev/shm a region is
 * of this boot (and reading /proc costs every joining process three
 * system calls). */
static const char *share_bad_made(const struct umfs_share *s, const struct umfs_fs *fs)
{
	char boot[40];

	if (s->version != SHARE_VERSION || s->size != sizeof(*s) || s->nstripes != SHARE_STRIPES)
		return "made by another version of the library";
	if (memcmp(s->uuid, fs->sb.uuid, 16) || s->run_id != fs->run_id)
		return "made for another pool or runtime directory";
	if (!umfs_rundir_outlives_boot(fs->run_id))
		return NULL;
	share_boot_id(boot);
	if (strncmp(s->boot_id, boot, sizeof(s->boot_id)))
		return "made before the last boot";
	return NULL;
}

static const char *share_bad(const struct umfs_share *s, const struct umfs_fs *fs)
{
	if (s->magic == UMFS_GATE_PARKED)
		return "parked"; /* left whole by its last user */
	if (s->magic != SHARE_MAGIC)
		return "not a lock region";
	return share_bad_made(s, fs);
}

/* A parked region of this pool, directory and boot, or one its last user
 * left by exec after marking the pool clean: its locks, stripes and holder
 * counts are as its users left them, all free (no one died), which is what
 * every joiner meets between uses; what counts the making starts afresh,
 * with a new instance (holds handed across an exec into the last making
 * are not counted in this one). */
static bool share_unpark(struct umfs_share *s, const struct umfs_fs *fs)
{
	bool parked = s->magic == UMFS_GATE_PARKED ||
		      (s->magic == SHARE_MAGIC && atomic_load(&s->exec_clean) != 0);

	if (!parked || share_bad_made(s, fs) != NULL)
		return false;
	atomic_store(&s->exec_clean, 0);
	atomic_store(&s->takeovers, 0);
	s->counts_valid = 0;
	s->nsettle = 0;
	s->settle_lost = 0;
	atomic_store(&s->joins, 0);
	atomic_store(&s->clean_leaves, 0);
	share_instance_new(s);
	atomic_thread_fence(memory_order_release);
	s->magic = SHARE_MAGIC;
	return true;
}

const char *umfs_share_where(const struct umfs_fs *fs)
{
	return fs->run_path;
}

#define SHARE_WHAT_SIZE 160 /* for messages: a longer path is cut */

/* The gate's file and what a process takes it for, for messages. */
static const char *share_gate_what(const struct umfs_fs *fs, char what[SHARE_WHAT_SIZE],
				   const char *why)
{
	umfs_str_join(what, SHARE_WHAT_SIZE, fs->run_path, "/" UMFS_RUNDIR_LOCK " (", why, ")",
		      NULL);
	return what;
}

/* Opens "lock" in the runtime directory (or takes a duplicate of
 * inherited, a description of it) and takes the gate: -ESTALE when the
 * last user removed it meanwhile (start over from the directory). */
static int share_gate_open(struct umfs_fs *fs, int inherited, bool *first, off_t *was)
{
	char what[SHARE_WHAT_SIZE];
	int fd;

	share_gate_what(fs, what, "first or last user");
	if (inherited >= 0) {
		fd = OS(fcntl)(inherited, F_DUPFD_CLOEXEC, 0);
		fd = fd < 0 ? -errno : umfs_gate_enter_fd(fd, fs->run_dfd, UMFS_RUNDIR_LOCK, what,
							  first, was);
	} else {
		fd = umfs_gate_enter(fs, fs->run_dfd, UMFS_RUNDIR_LOCK, what, first, was);
	}
	return fd == -ENOENT ? -ESTALE : fd;
}

/* The region in fd, of size was: mapped only when that is its size. */
static struct umfs_share *share_map(int fd, off_t was)
{
	if ((size_t)was != sizeof(struct umfs_share))
		return MAP_FAILED;
	return OS(mmap)(NULL, sizeof(struct umfs_share), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
}

/* The first user's region, the gate held for writing: one its last user
 * parked is taken as it is. Whatever else a previous boot or dead
 * processes left is stale: cutting the file to nothing and growing it
 * again zeroes it without touching its pages (clearing 1.4 MiB by stores
 * cost a new process 340 page faults). */
static int share_make(struct umfs_fs *fs, int fd, off_t was, struct umfs_share **sp)
{
	struct umfs_share *s = share_map(fd, was);
	char what[SHARE_WHAT_SIZE];
	int err;

	if (s != MAP_FAILED && share_unpark(s, fs)) {
		*sp = s;
		return 0;
	}
	err = umfs_gate_area_size(fd, true, sizeof(*s), was,
				  share_gate_what(fs, what, "made by its first user"));
	if (!err && s == MAP_FAILED) {
		s = share_map(fd, sizeof(*s));
		if (s == MAP_FAILED)
			err = -errno;
	}
	if (err) {
		if (s != MAP_FAILED)
			OS(munmap)(s, sizeof(*s));
		return err;
	}
	share_init(s, fs);
	*sp = s;
	return 0;
}

static int share_open_once(struct umfs_fs *fs, int inherited, bool *first, int *restarts)
{
	char what[SHARE_WHAT_SIZE];
	struct umfs_share *s;
	off_t was;
	int fd, err;

	fd = share_gate_open(fs, inherited, first, &was);
	while (fd >= 0 && !*first) {
		const char *bad;
		bool parked;

		s = share_map(fd, was);
		bad = was == 0 ? "retired" : s == MAP_FAILED ? "of the wrong size" : share_bad(s, fs);
		if (!bad)
			break;
		/* The last user retired or parked it while we waited, or the
		 * first user died before it finished the region (then we, or
		 * another waiter, may start over as first), or a live user
		 * made it otherwise: not ours to rebuild under it. */
		parked = s != MAP_FAILED && s->magic == UMFS_GATE_PARKED;
		if (s != MAP_FAILED)
			OS(munmap)(s, sizeof(*s));
		if (++*restarts > SHARE_RESTARTS) {
			OS(close)(fd);
			umfs_log(UMFS_LOG_ERROR, "%s/%s: %s, and in use; stop the programs "
				 "using the pool", fs->run_path, UMFS_RUNDIR_LOCK, bad);
			return -EPROTO;
		}
		if (!parked && was != 0) {
			OS(close)(fd);
			umfs_gate_area_backoff(was, *restarts);
			return -EAGAIN;
		}
		fd = umfs_gate_enter_again(fd, fs->run_dfd, UMFS_RUNDIR_LOCK,
					   share_gate_what(fs, what, "first or last user"), first,
					   &was);
	}
	if (fd < 0)
		return fd == -ENOENT ? -ESTALE : fd;
	if (*first) {
		err = share_make(fs, fd, was, &s);
		if (err) {
			OS(close)(fd);
			return err;
		}
	}
	fs->share = s;
	umfs_share_count_join(fs);
	umfs_fault_watch(fs, s, sizeof(*s), PROT_READ | PROT_WRITE, UMFS_FAULT_SHARED,
			 UMFS_RUNDIR_LOCK);
	fs->share_fd = fd;
	fs->share_epoch = atomic_load(&s->epoch);
	return 0;
}

int umfs_share_open(struct umfs_fs *fs, bool *first)
{
	int restarts = 0, err;

	for (;;) {
		err = umfs_rundir_open(fs);
		if (err)
			return err;
		do
			err = share_open_once(fs, -1, first, &restarts);
		while (err == -EAGAIN);
		if (err != -ESTALE || ++restarts > SHARE_RESTARTS)
			break;
		umfs_rundir_close(fs); /* removed under us: find the next one */
	}
	if (err)
		umfs_rundir_close(fs);
	return err == -ESTALE ? -EAGAIN : err;
}

int umfs_share_open_inherited(struct umfs_fs *fs, const struct umfs_inherited *in, bool *first)
{
	int restarts = 0, err;

	err = umfs_rundir_adopt(fs, in->run_dfd);
	if (err)
		return err;
	do
		err = share_open_once(fs, in->lock_fd, first, &restarts);
	while (err == -EAGAIN);
	if (err) {
		umfs_rundir_close(fs);
		/* gone with its last user: only one who may make another can go on */
		return err == -ESTALE ? -EACCES : err;
	}
	fs->gate_shared = in->gate_shared;
	return 0;
}

void umfs_share_ready(struct umfs_fs *fs)
{
	umfs_gate_ready(fs->share_fd, fs->run_path);
}

bool umfs_share_last(struct umfs_fs *fs)
{
	char what[SHARE_WHAT_SIZE];

	if (fs->gate_shared)
		return false; /* another process may count on this description */
	return umfs_gate_last(fs->share_fd, share_gate_what(fs, what, "leaving"), NULL);
}

void umfs_share_left_clean(struct umfs_fs *fs)
{
	bool left = fs->vnode_holds_gone; /* a process leaves, and counts, once */

	umfs_vnode_holds_drop(fs);
	if (fs->share && !left)
		atomic_fetch_add(&fs->share->clean_leaves, 1);
}

uint64_t umfs_share_instance(const struct umfs_fs *fs)
{
	return fs->share ? fs->share->instance : 0;
}

void umfs_share_count_clean(struct umfs_fs *fs)
{
	atomic_fetch_add(&fs->share->clean_leaves, 1);
}

/* The pool marked in use again, durably, before this process changes
 * anything in it and before another joiner finds the note gone. */
static void share_note_clear(struct umfs_fs *fs)
{
	fs->exec_noted = false;
	if (atomic_load(&fs->share->exec_clean)) {
		umfs_fs_mark_dirty(fs);
		atomic_store(&fs->share->exec_clean, 0);
	}
}

void umfs_share_count_join(struct umfs_fs *fs)
{
	atomic_fetch_add(&fs->share->joins, 1);
	share_note_clear(fs);
}

bool umfs_share_exec_alone(struct umfs_fs *fs)
{
	char what[SHARE_WHAT_SIZE];

	if (fs->gate_shared)
		return false; /* as umfs_share_last */
	return umfs_gate_alone(fs->share_fd, share_gate_what(fs, what, "exec"));
}

void umfs_share_exec_alone_end(struct umfs_fs *fs, bool clean)
{
	char what[SHARE_WHAT_SIZE];

	if (clean)
		atomic_store(&fs->share->exec_clean, 1);
	umfs_gate_alone_end(fs->share_fd, share_gate_what(fs, what, "exec"));
}

bool umfs_share_none_died(const struct umfs_fs *fs)
{
	const struct umfs_share *s = fs->share;

	return atomic_load(&s->joins) == atomic_load(&s->clean_leaves) && !s->settle_lost &&
	       s->nsettle == 0;
}

void umfs_fs_leave(struct umfs_fs *fs)
{
	umfs_share_left_clean(fs); /* before the gate: the last user sees it */
	if (fs->share && !fs->gate_shared)
		umfs_gate_leave(fs->share_fd);
}

bool umfs_fs_gate_shared(const struct umfs_fs *fs)
{
	return fs->gate_shared;
}

void umfs_fs_set_gate_shared(struct umfs_fs *fs)
{
	fs->gate_shared = true;
}

void umfs_fs_set_exiting(struct umfs_fs *fs)
{
	fs->exiting = true;
}

/* The gate lock belongs to an open file description, which a forked child
 * shares with its parent: the child takes its own, so that neither can
 * believe itself the last user while the other lives. The parent opens
 * it, so that it knows when it could not (no descriptor left, say): both
 * then keep the one they share, and neither will take itself for the last
 * user. */
void umfs_share_fork_prepare(struct umfs_fs *fs)
{
	fs->fork_share_fd = -1;
	if (!fs->share || fs->gate_shared)
		return;
	fs->fork_share_fd = umfs_gate_join(fs->run_dfd, UMFS_RUNDIR_LOCK, fs->share_fd,
					   fs->run_path);
	if (fs->fork_share_fd < 0)
		fs->gate_shared = true;
}

void umfs_share_fork_parent(struct umfs_fs *fs)
{
	if (fs->fork_share_fd >= 0)
		OS(close)(fs->fork_share_fd);
	fs->fork_share_fd = -1;
}

void umfs_share_fork_child(struct umfs_fs *fs)
{
	umfs_share_count_join(fs); /* a process of its own */
	if (fs->fork_share_fd >= 0)
		fs->share_fd = umfs_gate_fork_child(fs->fork_share_fd, fs->share_fd);
	fs->fork_share_fd = -1;
}

void umfs_share_close(struct umfs_fs *fs, enum umfs_share_leave how)
{
	if (!fs->share)
		return;
	/* The last user, still holding the gate, parks or retires the
	 * region: a process waiting at the gate finds it so and comes in
	 * again as the first. The directory stays for it. */
	if (how == UMFS_SHARE_PARK && share_bad(fs->share, fs) == NULL)
		umfs_gate_area_park(fs->share); /* a header someone spoilt goes */
	else if (how != UMFS_SHARE_STAY)
		umfs_gate_area_retire(fs->share_fd);
	if (fs->exiting) {
		fs->share = NULL; /* unmapped and closed by the exit */
		return;
	}
	umfs_fault_unwatch(fs->share);
	OS(munmap)(fs->share, sizeof(*fs->share));
	umfs_rundir_close(fs);
	OS(close)(fs->share_fd);
	fs->share = NULL;
	fs->share_fd = -1;
}

/* ------------------------------------------------------------------ */
/* The metadata lock                                                    */
/* ------------------------------------------------------------------ */

/* The counts a holder left are used only when they could be true: copied
 * once, checked, then taken (into fs) or not. */
static bool share_counts_get(const struct umfs_share *s, struct umfs_fs *fs)
{
	struct share_counts c = s->counts;

	if (s->counts_valid != 1 || c.free_pages > fs->data_pages ||
	    c.free_inodes > fs->inode_count || c.page_cursor >= fs->data_pages ||
	    c.ino_cursor >= fs->inode_count)
		return false;
	fs->free_pages = c.free_pages;
	fs->free_inodes = c.free_inodes;
	fs->page_cursor = c.page_cursor;
	fs->ino_cursor = c.ino_cursor;
	return true;
}

static void share_counts_put(struct umfs_share *s, const struct umfs_fs *fs)
{
	s->counts = (struct share_counts){ fs->free_pages, fs->free_inodes, fs->page_cursor,
					   fs->ino_cursor };
	s->counts_valid = true;
}

void umfs_share_counts_publish(struct umfs_fs *fs)
{
	share_counts_put(fs->share, fs);
}

/* Read without the metadata lock: a holder that changes them meanwhile
 * bumps the epoch after, past the one share_open_once read before them,
 * so this process's first turn under the lock takes them again. */
void umfs_share_counts_take(struct umfs_fs *fs)
{
	umfs_alloc_init_cursors(fs);
	if (!share_counts_get(fs->share, fs))
		umfs_alloc_init(fs);
}

void umfs_share_meta_enter(struct umfs_fs *fs)
{
	struct umfs_share *s = fs->share;
	uint64_t epoch;

	if (umfs_plock_lock(&s->meta, "the pool's metadata lock") == -EOWNERDEAD) {
		/* A process died in a transaction: undo it before anything
		 * else reads what it half changed, and count anew. */
		umfs_journal_recover(fs, NULL, NULL);
		s->counts_valid = false;
		atomic_fetch_add(&s->takeovers, 1);
		atomic_fetch_add(&s->epoch, 1);
	}
	/* a change between this process's note and its exec (a signal
	 * handler's): the pool is in use again first */
	if (fs->exec_noted)
		share_note_clear(fs);
	epoch = atomic_load_explicit(&s->epoch, memory_order_acquire);
	if (epoch != fs->share_epoch) {
		/* others allocated or freed since our last turn: take their
		 * counts (exact: every change happens under this lock) */
		if (!share_counts_get(s, fs))
			umfs_alloc_init(fs);
		umfs_tx_seq_renew(fs);
		fs->share_epoch = epoch;
	}
	fs->share_changed = false;
}

bool umfs_share_meta_waited(struct umfs_fs *fs)
{
	return umfs_plock_waited(&fs->share->meta);
}

void umfs_share_meta_let_in(struct umfs_fs *fs)
{
	umfs_plock_let_in(&fs->share->meta);
}

void umfs_share_meta_exit(struct umfs_fs *fs)
{
	struct umfs_share *s = fs->share;

	if (umfs_fs_failed(fs)) {
		/* cut off the pool (fault.c): the next holder rolls back */
		umfs_plock_abandon(&s->meta);
		return;
	}
	if (fs->share_changed) {
		share_counts_put(s, fs);
		fs->share_epoch = atomic_fetch_add(&s->epoch, 1) + 1;
	}
	umfs_plock_unlock(&s->meta);
}

/* ------------------------------------------------------------------ */
/* Inode locks                                                          */
/* ------------------------------------------------------------------ */

/* Inodes are handed out in order, so consecutive ones take consecutive
 * stripes (64 to a page): a process that writes or reads a directory's
 * files faults a page of stripes for every 64 of them, not one each. */
static struct share_stripe *share_stripe(const struct umfs_fs *fs, uint64_t ino)
{
	return &fs->share->stripes[ino % SHARE_STRIPES];
}

/* A process that writes stripes on many pages (a walk that opens and
 * closes thousands of files: every close takes its inode's stripe) would
 * fault on each page, as a write fault maps one page, not the 64 KiB a
 * read maps around it. Once it wrote on SHARE_STRIPE_SPREAD pages, the
 * rest are made present with one call; a short process writes on one or
 * two, and pays nothing for the others. */
#define SHARE_STRIPE_SPREAD 4
#define SHARE_STRIPES_PER_PAGE (UMFS_PAGE_SIZE / sizeof(struct share_stripe))
static_assert(SHARE_STRIPES / SHARE_STRIPES_PER_PAGE <= 64, "a bit per page of the stripes");

static void share_stripe_spread(struct umfs_fs *fs, const struct share_stripe *st)
{
	size_t i = (size_t)(st - fs->share->stripes);

	if (umfs_mem_spread(&fs->stripe_pages, 1ull << (i / SHARE_STRIPES_PER_PAGE),
			    SHARE_STRIPE_SPREAD))
		umfs_mem_populate(fs->share->stripes, sizeof(fs->share->stripes));
}

/* A writer died holding the stripe: put its inode back as it was. */
static void share_stripe_repair(struct umfs_fs *fs, struct share_stripe *st)
{
	uint64_t ino = atomic_load(&st->ino);

	if (ino && ino < fs->inode_count && umfs_inode_live(fs, ino) && !fs->pm.rdonly) {
		umfs_ulog_rollback(fs, ino);
		if (umfs_inode(fs, ino)->flags & UMFS_IF_TRUNC)
			umfs_file_trunc_finish(fs, ino);
	}
	atomic_fetch_add(&fs->share->takeovers, 1);
	if (atomic_load(&st->seq) & 1)
		atomic_fetch_add_explicit(&st->seq, 1, memory_order_release);
	atomic_store(&st->ino, 0);
}

void umfs_share_wrlock(struct umfs_fs *fs, uint64_t ino)
{
	struct share_stripe *st = share_stripe(fs, ino);

	share_stripe_spread(fs, st);
	if (umfs_plock_lock(&st->wlock, "an inode lock of the pool") == -EOWNERDEAD)
		share_stripe_repair(fs, st);
	if (fs->exec_noted)
		share_note_clear(fs); /* as in umfs_share_meta_enter */
	atomic_store_explicit(&st->ino, ino, memory_order_relaxed);
	/* The count goes odd before the first change to the inode: a release
	 * fence after the increment orders it before the writer's later stores
	 * (a compiler barrier on x86, where the locked add already orders the
	 * non-temporal stores that follow; no full fence is needed). */
	atomic_fetch_add_explicit(&st->seq, 1, memory_order_acq_rel);
	atomic_thread_fence(memory_order_release);
}

void umfs_share_wrunlock(struct umfs_fs *fs, uint64_t ino)
{
	struct share_stripe *st = share_stripe(fs, ino);

	if (umfs_fs_failed(fs)) {
		/* odd count and inode kept: the next writer or reader repairs */
		umfs_plock_abandon(&st->wlock);
		return;
	}
	atomic_fetch_add_explicit(&st->seq, 1, memory_order_release);
	atomic_store_explicit(&st->ino, 0, memory_order_relaxed);
	umfs_plock_unlock(&st->wlock);
}

void umfs_share_unmirrored_add(struct umfs_fs *fs, uint64_t ino)
{
	/* after the change, before the unlock: one who reads the count and
	 * then the file sees the change, or a count that moved since */
	atomic_fetch_add_explicit(&share_stripe(fs, ino)->unmirrored, 1, memory_order_release);
}

uint64_t umfs_share_unmirrored(struct umfs_fs *fs, uint64_t ino)
{
	return atomic_load_explicit(&share_stripe(fs, ino)->unmirrored, memory_order_acquire);
}

uint64_t umfs_share_read_begin(struct umfs_fs *fs, uint64_t ino)
{
	struct share_stripe *st = share_stripe(fs, ino);

	for (unsigned spins = 0;; spins++) {
		uint64_t seq = atomic_load_explicit(&st->seq, memory_order_acquire);
		int r;

		if (!(seq & 1))
			return seq;
		if (spins < SHARE_SPINS)
			continue;
		/* A long write, or a dead writer: see which. */
		r = umfs_plock_trylock(&st->wlock, "an inode lock of the pool");
		if (r == -EOWNERDEAD) {
			share_stripe_repair(fs, st);
		} else if (r == 0 && (atomic_load(&st->seq) & 1)) {
			/* free, yet a write in progress: no writer left it so */
			atomic_fetch_add(&st->seq, 1);
			atomic_store(&st->ino, 0);
		}
		if (r == 0 || r == -EOWNERDEAD)
			umfs_plock_unlock(&st->wlock);
		else
			sched_yield();
		spins = 0;
	}
}

bool umfs_share_read_retry(struct umfs_fs *fs, uint64_t ino, uint64_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&share_stripe(fs, ino)->seq, memory_order_relaxed) != seq;
}

_Atomic uint64_t *umfs_share_meta_seq(struct umfs_fs *fs)
{
	return &fs->share->meta_seq;
}

struct umfs_plock *umfs_share_meta_plock(struct umfs_fs *fs)
{
	return fs->share ? &fs->share->meta : NULL;
}

struct umfs_locktab *umfs_share_locktab(struct umfs_fs *fs)
{
	return fs->share ? &fs->share->locks : NULL;
}

uint64_t umfs_share_takeovers(const struct umfs_fs *fs)
{
	return fs->share ? atomic_load(&fs->share->takeovers) : 0;
}

/* ------------------------------------------------------------------ */
/* Holders of open inodes                                               */
/* ------------------------------------------------------------------ */

/* Inodes are handed out in order, so consecutive ones share a page of the
 * table (170 to a page) rather than each faulting a page of its own. */
static uint32_t held_home(uint64_t ino)
{
	return (uint32_t)(ino % SHARE_HELD_CAP);
}

/* Where ino's probe run ends: its entry, or the empty one after the run
 * (nobody holds it; h[i].ino is 0); -1 with the table full. */
static int64_t held_slot(const struct share_held *h, uint64_t ino)
{
	for (uint32_t n = 0, i = held_home(ino); n < SHARE_HELD_CAP;
	     n++, i = (i + 1) % SHARE_HELD_CAP)
		if (h[i].ino == ino || h[i].ino == 0)
			return i;
	return -1;
}

bool umfs_share_held(const struct umfs_fs *fs, uint64_t ino)
{
	int64_t i = held_slot(fs->share->held, ino);

	/* full and not found: never free under a holder */
	return i < 0 || fs->share->held[i].count > 0;
}

/* Removes entry i: later members of its probe run move back. */
static void held_remove(struct share_held *h, uint32_t i)
{
	h[i] = (struct share_held){ 0 };
	for (uint32_t j = (i + 1) % SHARE_HELD_CAP; h[j].ino; j = (j + 1) % SHARE_HELD_CAP) {
		uint32_t home = held_home(h[j].ino);
		bool move = j > i ? (home <= i || home > j) : (home <= i && home > j);

		if (move) {
			h[i] = h[j];
			h[j] = (struct share_held){ 0 };
			i = j;
		}
	}
}

void umfs_share_settle_add(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	struct umfs_share *s = fs->share;

	if (s->nsettle < UMFS_SHARE_SETTLE_CAP)
		s->settle[s->nsettle++] = (struct share_settle){ .ino = ino, .gen = gen };
	else
		s->settle_lost = 1; /* the last user's recovery does it */
}

bool umfs_share_settle_pending(const struct umfs_fs *fs)
{
	const struct umfs_share *s = fs->share;

	return __atomic_load_n(&s->nsettle, __ATOMIC_RELAXED) != 0; /* a scribbled count too */
}

size_t umfs_share_settle_take(struct umfs_fs *fs, uint64_t *ino, uint32_t *gen, size_t cap)
{
	struct umfs_share *s = fs->share;
	size_t n = 0;

	if (s->nsettle > UMFS_SHARE_SETTLE_CAP) {
		s->nsettle = 0; /* scribbled: what it named is the last user's recovery's */
		s->settle_lost = 1;
	}
	while (s->nsettle && n < cap) {
		s->nsettle--;
		ino[n] = s->settle[s->nsettle].ino;
		gen[n++] = s->settle[s->nsettle].gen;
	}
	return n;
}

void umfs_share_hold(struct umfs_fs *fs, uint64_t ino, int delta)
{
	struct share_held *h = fs->share->held;
	int64_t i = held_slot(h, ino);

	if (i < 0 || (h[i].ino == 0 && delta <= 0))
		return;
	h[i].ino = ino;
	if (delta < 0 && h[i].count <= (uint32_t)-delta)
		held_remove(h, (uint32_t)i);
	else
		h[i].count += (uint32_t)delta;
}

int umfs_share_mem_claim(struct umfs_fs *fs, uint64_t ino, enum umfs_mem kind, int delta)
{
	uint32_t me = kind == UMFS_MEM_CACHE ? (uint32_t)OS(getpid)() : 0;
	int64_t i = held_slot(fs->share->held, ino);
	struct share_held *e = i >= 0 && fs->share->held[i].ino ? &fs->share->held[i] : NULL;

	if (!e) /* a claim needs the entry its caller's hold made */
		return delta > 0 ? -ENOMEM : 0;
	if (kind == UMFS_MEM_HOSTMAP) {
		if (delta < 0)
			e->mem &= ~SHARE_MEM_HOSTMAP;
		else if (e->mem & ~SHARE_MEM_HOSTMAP)
			return -EBUSY;
		else
			e->mem |= SHARE_MEM_HOSTMAP;
		return 0;
	}
	if (delta < 0) {
		if (e->mem & ~SHARE_MEM_HOSTMAP)
			e->mem--;
		return 0;
	}
	/* another daemon's mount has a page cache of its own */
	if ((e->mem & SHARE_MEM_HOSTMAP) || (e->mem && e->cache != me))
		return -EBUSY;
	if ((e->mem + 1) & SHARE_MEM_HOSTMAP)
		return -ENOMEM; /* 2^31 opens of one file */
	e->mem++;
	e->cache = me;
	return 0;
}
