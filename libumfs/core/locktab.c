/* SPDX-License-Identifier: MIT */
/*
 * locktab.c - fcntl record locks, OFD locks and flock of every front end,
 * in a table in the lock region (share.c) instead of the kernel.
 *
 * Every process using the pool sees the table: libumfs programs and the
 * umfs-fuse daemons that serve the kernel's lock requests. One
 * process-shared lock (plock.c, taken over from a dead holder) guards it,
 * so an uncontended lock or unlock is loads and stores and no system call.
 * A range belongs to an owner: a process for POSIX locks (its pid and start
 * time, so that a reused pid is not its owner), an open file description
 * for OFD locks and flock (an id kept in its libumfs slot), or the lock
 * owner umfs-fuse's kernel names, on behalf of that daemon. Owners are never
 * trusted to clean up: a conflict asks the kernel whether the owner still
 * lives (the process, the daemon, or the description's token through the
 * front end) and removes a dead one's ranges, so a holder killed with
 * SIGKILL releases its locks to the next one who meets them.
 *
 * Waiters sleep on their bucket's futex word, which every release bumps,
 * for at most LK_CHECK_NS before they look at the holder again. A POSIX
 * waiter records whom it waits for, so that a wait can follow the chain
 * and answer EDEADLK, as the kernel does. The table is shared memory other
 * users of the pool can write: every index is checked before it is
 * followed, every walk is bounded, and a table found damaged is rebuilt
 * from what is still consistent in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "locktab.h"
#include "fs.h"
#include "log.h"
#include "os.h"
#include "procfs.h"
#include "share.h"
#include "testhooks.h"

#define LK_EOF INT64_MAX
#define LK_CHECK_NS 20000000l /* a waiter looks at the holder this often */
#define LK_DEADLK_STEPS 10    /* the kernel's bound on the wait-for chain */

_Static_assert(sizeof(struct umfs_lk_rec) == 64, "a record's layout is shared by processes");

typedef struct umfs_lk_rec rec_t;
typedef struct umfs_lk_bucket bucket_t;
typedef struct umfs_locktab tab_t;
typedef struct umfs_lock_owner owner_t;

static uint64_t lk_self; /* this process as a POSIX owner; 0 until known */
/* Where this process's description ids start (random; 0 until drawn), and
 * how many it handed out. */
static _Atomic uint64_t lk_desc_base, lk_desc_count;

/* A forked child draws description ids of its own: its parent's next
 * ones are its parent's. */
static void lk_desc_ids_forget(void)
{
	atomic_store(&lk_desc_base, 0);
	atomic_store(&lk_desc_count, 0);
}

void umfs_lock_forked(void)
{
	lk_self = 0; /* the child is another owner: POSIX locks are not inherited */
	lk_desc_ids_forget();
}

/* For programs that fork without umfs_fork_child(), which, when it ran
 * first, made the child's id already: only a parent's is let go. A
 * process that never locked has none (no call in its children). */
static void lk_atfork_child(void)
{
	if (lk_self != 0 && (uint32_t)lk_self != (uint32_t)OS(getpid)())
		umfs_lock_forked();
	if (atomic_load(&lk_desc_base) != 0) /* the page stays shared when unused */
		lk_desc_ids_forget();
}

__attribute__((constructor)) static void lk_setup(void)
{
	pthread_atfork(NULL, NULL, lk_atfork_child);
}

uint64_t umfs_lock_process_id(void)
{
	if (UMFS_LIKELY(lk_self != 0))
		return lk_self;
	int saved = errno;
	uint32_t pid = (uint32_t)OS(getpid)();

	lk_self = (uint64_t)umfs_task_stamp((pid_t)pid) << 32 | pid;
	errno = saved;
	return lk_self;
}

/* Whether the process a POSIX owner id (stamp << 32 | pid) names is gone. */
static bool lk_owner_gone(uint64_t id)
{
	return umfs_task_gone((pid_t)(uint32_t)id, (uint32_t)(id >> 32));
}

/* Asked at each conflict, never remembered: a holder that just closed its
 * description or died must not be seen holding its locks a moment later. */
static bool lk_alive(const owner_t *w, const struct umfs_lock_ops *ops)
{
	int saved = errno;
	bool alive;

	if (w->host)
		alive = !lk_owner_gone(w->host); /* umfs-fuse's: the daemon's */
	else if (w->kind == UMFS_LOCK_POSIX)
		alive = !lk_owner_gone(w->id);
	else
		alive = !ops->desc_alive || ops->desc_alive(w->slot, w->id);
	errno = saved;
	return alive;
}

/* ------------------------------------------------------------------ */
/* The table: checked walks, allocation, repair                         */
/* ------------------------------------------------------------------ */

static tab_t *lk_tab(struct umfs_fs *fs)
{
	tab_t *t = umfs_share_locktab(fs);
	void *p;

	if (t)
		return t;
	if (fs->locktab_own)
		return fs->locktab_own;
	/* no lock region (a read-only mount): this process and its forked
	 * children only */
	p = OS(mmap)(NULL, sizeof(tab_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!__atomic_compare_exchange_n(&fs->locktab_own, &(tab_t *){ NULL }, p, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		OS(munmap)(p, sizeof(tab_t));
	return fs->locktab_own;
}

void umfs_locktab_free(struct umfs_fs *fs)
{
	if (fs->locktab_own)
		OS(munmap)(fs->locktab_own, sizeof(tab_t));
	fs->locktab_own = NULL;
}

static uint32_t lk_hash(uint64_t ino, uint32_t gen)
{
	uint64_t h = (ino ^ ((uint64_t)gen << 40)) * 0x9E3779B97F4A7C15ull;

	return (uint32_t)(h >> 40) % UMFS_LK_BUCKETS;
}

static rec_t *lk_at(tab_t *t, uint32_t idx)
{
	return idx >= 1 && idx <= UMFS_LK_RECS ? &t->recs[idx - 1] : NULL;
}

/* A record that could be a lock, of whichever bucket. */
static bool lk_whole(const rec_t *r)
{
	/* no owner's id is 0 (umfs_lock_process_id, umfs_lock_new_id) */
	return r->kind >= UMFS_LOCK_POSIX && r->kind <= UMFS_LOCK_FLOCK && r->owner != 0 &&
	       (r->type == F_RDLCK || r->type == F_WRLCK) && r->start >= 0 && r->end >= r->start;
}

static bool lk_sound(const rec_t *r, uint32_t bucket)
{
	return lk_whole(r) && lk_hash(r->ino, r->gen) == bucket;
}

static bool lk_seen(const uint8_t *seen, uint32_t idx)
{
	return seen[(idx - 1) / 8] & (1u << ((idx - 1) % 8));
}

/* Rebuilds the lists from the records still consistent (after a holder of
 * the table's lock died, or damage): a list is cut at an index out of
 * range or seen before, unsound records are dropped, and every record no
 * list holds is free. A list that leads into another bucket's records
 * (a damaged link, or a record handed out while still linked) is cut
 * there: they stay their own list's. The count of records handed out is
 * not believed below the last one a list holds, and records past it are
 * cleared: none is handed out twice. */
static void lk_repair(tab_t *t)
{
	/* under the table's lock; apart from the small variables every
	 * process touches, as a recovery's alone */
	UMFS_BSS_LARGE static uint8_t seen[UMFS_LK_RECS / 8];
	uint32_t last = 0;

	memset(seen, 0, sizeof(seen));
	for (uint32_t b = 0; b < UMFS_LK_BUCKETS; b++) {
		uint32_t *link = &t->buckets[b].head;

		while (*link) {
			uint32_t idx = *link;
			rec_t *r = lk_at(t, idx);

			if (!r || lk_seen(seen, idx) ||
			    (lk_whole(r) && lk_hash(r->ino, r->gen) != b)) {
				*link = 0;
				break;
			}
			seen[(idx - 1) / 8] |= (uint8_t)(1u << ((idx - 1) % 8));
			if (!lk_whole(r)) { /* a whole one here is this bucket's */
				r->kind = 0;
				*link = r->next;
				continue;
			}
			if (idx > last)
				last = idx;
			link = &r->next;
		}
		atomic_fetch_add(&t->buckets[b].wake, 1);
	}
	if (t->high > UMFS_LK_RECS)
		t->high = UMFS_LK_RECS;
	if (t->high < last)
		t->high = last;
	for (uint32_t idx = t->high + 1; idx <= UMFS_LK_RECS; idx++)
		t->recs[idx - 1].kind = 0;
	t->free_head = 0;
	for (uint32_t idx = t->high; idx >= 1; idx--) {
		rec_t *r = &t->recs[idx - 1];

		if (lk_seen(seen, idx) && r->kind)
			continue;
		r->kind = 0;
		r->next = t->free_head;
		t->free_head = idx;
	}
	umfs_log(UMFS_LOG_WARN, "the record lock table was rebuilt (a process died changing it, "
				"or it was damaged)");
}

static void lk_lock(tab_t *t)
{
	if (umfs_plock_lock(&t->lock, "the record lock table") == -EOWNERDEAD)
		lk_repair(t);
}

static void lk_unlock(tab_t *t)
{
	umfs_plock_unlock(&t->lock);
}

static void lk_free(tab_t *t, uint32_t idx)
{
	rec_t *r = lk_at(t, idx);

	if (!r)
		return;
	r->kind = 0;
	r->next = t->free_head;
	t->free_head = idx;
}

/* n (1 or 2) free records, each another, into idx[]: 0, or -ENOLCK when
 * the table is full. A record found in use, or one handed out twice (the
 * free list or the count of records handed out damaged), has the table
 * rebuilt, once, which frees what was taken here too: no list holds it. */
static int lk_alloc(tab_t *t, uint32_t idx[], int n)
{
	for (int pass = 0; pass < 2; pass++) {
		bool damaged = false;
		int got = 0;

		while (got < n) {
			uint32_t i = t->free_head;
			rec_t *r;

			if (!i) {
				if (t->high >= UMFS_LK_RECS)
					break;
				i = t->high + 1;
			}
			r = lk_at(t, i);
			damaged = !r || r->kind || (got && i == idx[0]);
			if (damaged)
				break;
			if (i == t->free_head)
				t->free_head = r->next;
			else
				t->high = i;
			idx[got++] = i;
		}
		if (got == n)
			return 0;
		if (!damaged || pass == 1) {
			while (got)
				lk_free(t, idx[--got]);
			return -ENOLCK;
		}
		lk_repair(t);
	}
	return -ENOLCK;
}

/* A bucket's records; every index checked, at most UMFS_LK_RECS steps. */
#define LK_FOREACH(t, b, link, r, steps) \
	for (link = &(b)->head, steps = 0; \
	     *link && steps < UMFS_LK_RECS && (r = lk_at(t, *link)) != NULL; steps++)

static bool lk_same_class(uint8_t a, uint8_t b)
{
	/* POSIX and OFD locks conflict with each other, flock only with flock */
	return (a == UMFS_LOCK_FLOCK) == (b == UMFS_LOCK_FLOCK);
}

static bool lk_mine(const rec_t *r, const owner_t *w)
{
	return r->kind == w->kind && r->owner == w->id && r->host == w->host;
}

static bool lk_overlap(const rec_t *r, int64_t s, int64_t e)
{
	return r->start <= e && r->end >= s;
}

static bool lk_file(const rec_t *r, uint64_t ino, uint32_t gen)
{
	return r->ino == ino && r->gen == gen;
}

/* The first lock of another owner of w's class that conflicts with type
 * over [s, e]: its index, 0 if none, -1 when the list is damaged even
 * after a rebuild. */
static long lk_conflict(tab_t *t, bucket_t *b, const struct umfs_lock_req *q, int64_t s, int64_t e)
{
	uint32_t *link, steps;
	rec_t *r;

	for (int pass = 0; pass < 2; pass++) {
		LK_FOREACH(t, b, link, r, steps) {
			if (!lk_sound(r, (uint32_t)(b - t->buckets)))
				break;
			if (lk_file(r, q->ino, q->gen) && lk_same_class(r->kind, q->owner.kind) &&
			    !lk_mine(r, &q->owner) && lk_overlap(r, s, e) &&
			    (q->type == F_WRLCK || r->type == F_WRLCK))
				return *link;
			link = &r->next;
		}
		if (!*link)
			return 0;
		lk_repair(t);
	}
	return -1;
}

/* The waiter entries in use lie below this mark, which only grows while the
 * table lives: most tables never have a waiter, and each unlock would
 * otherwise read all of them. */
static uint32_t lk_waiters_span(const tab_t *t)
{
	return t->waiters_high < UMFS_LK_WAITERS ? t->waiters_high : UMFS_LK_WAITERS;
}

/* Owner w's POSIX locks in bucket b shrank: a wait recorded as blocked by
 * w may be over, and must not stand in a chain until its waiter, woken,
 * looks again and records what still blocks it. The kernel takes a waiter
 * off its blocker at the release in the same way; kept, the old record
 * gave EDEADLK to w's next wait for its waiter's lock. Every entry is
 * looked at: a woken waiter has left its bucket's count of waiters before
 * it takes the table's lock again, its entry still standing. Another
 * bucket's waiter cleared with them records its blocker again at its next
 * look (LK_CHECK_NS). */
static void lk_unblock(tab_t *t, const owner_t *w)
{
	if (w->kind != UMFS_LOCK_POSIX)
		return;
	for (uint32_t i = 0; i < lk_waiters_span(t); i++)
		if (t->waiters[i].owner && t->waiters[i].blocker == w->id &&
		    t->waiters[i].blocker_host == w->host) {
			t->waiters[i].blocker = 0;
			t->waiters[i].blocker_host = 0;
		}
}

/* Removes owner w's records in bucket b: with ino, those of that file;
 * without, all (a dead owner), and its wait. */
static void lk_purge(tab_t *t, bucket_t *b, const owner_t *w, const uint64_t *ino,
		     const uint32_t *gen)
{
	uint32_t *link, steps;
	rec_t *r;
	bool any = false;

	LK_FOREACH(t, b, link, r, steps) {
		if (lk_mine(r, w) && (!ino || lk_file(r, *ino, *gen))) {
			uint32_t idx = *link;

			*link = r->next;
			lk_free(t, idx);
			any = true;
			continue;
		}
		link = &r->next;
	}
	if (w->kind == UMFS_LOCK_POSIX && !ino)
		for (uint32_t i = 0; i < lk_waiters_span(t); i++)
			if (t->waiters[i].owner == w->id && t->waiters[i].host == w->host)
				t->waiters[i].owner = 0;
	if (any) {
		atomic_fetch_add(&b->wake, 1);
		lk_unblock(t, w);
	}
}

static void lk_wake(bucket_t *b)
{
	if (atomic_load(&b->waiters)) {
		int saved = errno;

		OS(syscall)(SYS_futex, &b->wake, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
		errno = saved;
	}
}

static void lk_fill(rec_t *n, const struct umfs_lock_req *q, int64_t s, int64_t e)
{
	n->kind = q->owner.kind;
	n->type = (uint8_t)q->type;
	n->exec_drop = 0;
	n->pad = 0;
	n->pid = q->owner.pid;
	n->slot = q->owner.slot;
	n->ino = q->ino;
	n->gen = q->gen;
	n->pad2 = 0;
	n->owner = q->owner.id;
	n->host = q->owner.host;
	n->start = s;
	n->end = e;
}

/* A POSIX or OFD lock, as the kernel's posix_lock_inode: nothing changes
 * if another owner's lock conflicts (*conflict: its index); the owner's
 * own ranges of the same type that touch the new one merge with it, those
 * of the other type are cut around it; the new range takes the place of
 * the first one it replaces (F_GETLK reports the first conflict in that
 * order, as the kernel's list). */
static int lk_posix_set(tab_t *t, bucket_t *b, const struct umfs_lock_req *q, uint32_t *conflict)
{
	uint32_t *link, steps, spare[2] = { 0, 0 }, used = 0, reuse = 0;
	int64_t s = q->start, e = q->end, ns = s, ne = e;
	int type = q->type;
	rec_t *r;
	long c;

	if (type != F_UNLCK) {
		c = lk_conflict(t, b, q, s, e);
		if (c < 0)
			return -ENOLCK;
		if (c > 0) {
			*conflict = (uint32_t)c;
			return -EAGAIN;
		}
	}
	/* at most a new range and one cut in two: taken first, so that
	 * running out (ENOLCK) changes nothing */
	if (lk_alloc(t, spare, 2))
		return -ENOLCK;
	LK_FOREACH(t, b, link, r, steps) {
		uint32_t idx = *link;
		bool absorbed;

		if (!lk_file(r, q->ino, q->gen) || !lk_mine(r, &q->owner)) {
			link = &r->next;
			continue;
		}
		absorbed = type != F_UNLCK && r->type == type &&
			   (r->start <= e || (e < LK_EOF && r->start == e + 1)) &&
			   (r->end >= s || (s > 0 && r->end == s - 1));
		if (absorbed) {
			ns = r->start < ns ? r->start : ns;
			ne = r->end > ne ? r->end : ne;
		} else if (lk_overlap(r, s, e)) {
			atomic_fetch_add(&b->wake, 1); /* a range goes or changes type */
			lk_unblock(t, &q->owner);
			/* one range at most holds the new one inside it (a
			 * damaged table may have two: the second is cut short) */
			if (r->start < s && r->end > e && used == 0) {
				rec_t *right = lk_at(t, spare[used]);

				*right = *r;
				right->start = e + 1;
				r->end = s - 1;
				r->next = spare[used++];
				link = &right->next;
				continue;
			}
			if (r->start < s)
				r->end = s - 1;
			else if (r->end > e)
				r->start = e + 1;
			else
				absorbed = true;
		}
		if (absorbed) {
			if (type != F_UNLCK && !reuse) {
				reuse = idx;
				link = &r->next;
				continue;
			}
			*link = r->next;
			lk_free(t, idx);
			continue;
		}
		link = &r->next;
	}
	if (type != F_UNLCK) {
		uint32_t *ins = NULL, idx = reuse;
		bool past = false;

		if (!idx) {
			/* after the owner's ranges that start before it; else last */
			LK_FOREACH(t, b, link, r, steps) {
				if (!past && lk_file(r, q->ino, q->gen) && lk_mine(r, &q->owner)) {
					past = r->start > ne;
					ins = past ? link : &r->next;
				}
				link = &r->next;
			}
			if (!ins)
				ins = link;
			idx = spare[used++];
			lk_at(t, idx)->next = *ins;
			*ins = idx;
		}
		lk_fill(lk_at(t, idx), q, ns, ne);
	}
	while (used < 2)
		lk_free(t, spare[used++]);
	return 0;
}

/* flock: the description's lock is removed first (the kernel's conversion
 * is not atomic), then the new one is taken if nothing conflicts. */
static int lk_flock_set(tab_t *t, bucket_t *b, const struct umfs_lock_req *q, uint32_t *conflict)
{
	uint32_t *link, steps, idx;
	rec_t *r;
	long c;

	LK_FOREACH(t, b, link, r, steps) {
		if (lk_file(r, q->ino, q->gen) && lk_mine(r, &q->owner)) {
			if (r->type == q->type)
				return 0;
			idx = *link;
			*link = r->next;
			lk_free(t, idx);
			atomic_fetch_add(&b->wake, 1);
			break;
		}
		link = &r->next;
	}
	if (q->type == F_UNLCK)
		return 0;
	c = lk_conflict(t, b, q, 0, LK_EOF);
	if (c < 0)
		return -ENOLCK;
	if (c > 0) {
		*conflict = (uint32_t)c;
		return -EAGAIN;
	}
	if (lk_alloc(t, &idx, 1))
		return -ENOLCK;
	LK_FOREACH(t, b, link, r, steps)
		link = &r->next;
	lk_at(t, idx)->next = *link;
	*link = idx;
	lk_fill(lk_at(t, idx), q, 0, LK_EOF);
	return 0;
}

/* The wait-for chain from the owner of a conflicting POSIX lock: whether
 * it comes back to w within the kernel's bound; chain[] gets the owners
 * passed, for a liveness check before EDEADLK is given. */
static bool lk_cycle(tab_t *t, const owner_t *w, const owner_t *blocker, owner_t chain[], int *n)
{
	owner_t x = *blocker;

	*n = 0;
	for (int step = 0; step <= LK_DEADLK_STEPS; step++) {
		const struct umfs_lk_waiter *found = NULL;

		chain[(*n)++] = x;
		for (uint32_t i = 0; i < lk_waiters_span(t) && !found; i++)
			if (t->waiters[i].owner == x.id && t->waiters[i].host == x.host)
				found = &t->waiters[i];
		if (!found || !found->blocker)
			return false;
		if (found->blocker == w->id && found->blocker_host == w->host)
			return true;
		x.id = found->blocker;
		x.host = found->blocker_host;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */
/* ------------------------------------------------------------------ */

int umfs_lock_flock_type(int op)
{
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		return F_RDLCK;
	case LOCK_EX:
		return F_WRLCK;
	case LOCK_UN:
		return F_UNLCK;
	default:
		return -EINVAL;
	}
}

/* A random 64-bit start for this process's ids, never 0. */
static uint64_t lk_desc_base_draw(void)
{
	uint64_t base = 0;
	int saved = errno;

	if (OS(getrandom)(&base, sizeof(base), GRND_NONBLOCK) != (ssize_t)sizeof(base))
		base = umfs_lock_process_id() * 0x9E3779B97F4A7C15ull ^ (uint64_t)umfs_now_ns();
	errno = saved;
	return base ? base : 1;
}

/* Ids are drawn by each process, not counted in the table: they must
 * stay unique across the table's rebuilds, since a description's slot
 * keeps its id (a claim of the slot drops that id's locks), and whatever
 * a user of the pool writes into the table. Two processes' runs of ids
 * meet only if their random starts lie closer than the ids they use. */
uint64_t umfs_lock_new_id(void)
{
	uint64_t base = atomic_load(&lk_desc_base), id;

	if (!base) {
		uint64_t none = 0, drawn = lk_desc_base_draw();

		base = atomic_compare_exchange_strong(&lk_desc_base, &none, drawn) ? drawn : none;
	}
	do
		id = base + atomic_fetch_add(&lk_desc_count, 1);
	while (!id);
	return id;
}

/* Where this wait stands in the table: its waiter entry (-1: none). */
struct lk_wait {
	int wi;
};

static void lk_wait_clear(tab_t *t, struct lk_wait *wt)
{
	if (wt->wi >= 0)
		t->waiters[wt->wi].owner = 0;
	wt->wi = -1;
}

/* Records that w waits for blocker (a POSIX wait blocked by a POSIX lock:
 * the kernel's deadlock detection sees only those). */
static void lk_wait_note(tab_t *t, struct lk_wait *wt, const owner_t *w, const owner_t *blocker)
{
	/* the first free entry: past a count someone lowered, entries may
	 * still be in use */
	if (wt->wi < 0)
		for (uint32_t i = 0; i < UMFS_LK_WAITERS; i++)
			if (t->waiters[i].owner == 0) {
				wt->wi = (int)i;
				if (i >= lk_waiters_span(t))
					t->waiters_high = i + 1;
				break;
			}
	if (wt->wi < 0)
		return; /* full: this wait takes no part in detection */
	t->waiters[wt->wi].blocker = blocker->id;
	t->waiters[wt->wi].blocker_host = blocker->host;
	t->waiters[wt->wi].host = w->host;
	t->waiters[wt->wi].owner = w->id;
}

/* A wait may end in its look or its sleep, the thread cancelled there
 * (umfs_frontend.h). Its place among the bucket's waiters and its note go
 * with it, or a later request would find a chain through a thread that
 * waits for nothing and answer EDEADLK. */
struct lk_leaving {
	tab_t *t;
	bucket_t *b;
	struct lk_wait *wt;
	const struct umfs_lock_ops *ops;
};

static void lk_wait_abandon(void *arg)
{
	struct lk_leaving *l = arg;

	atomic_fetch_sub(&l->b->waiters, 1);
	lk_lock(l->t);
	lk_wait_clear(l->t, l->wt);
	lk_unlock(l->t);
	if (l->ops->wait_abandon)
		l->ops->wait_abandon(l->ops->arg);
}

/* Purges a dead owner from the bucket; the caller tries again. */
static void lk_bury(tab_t *t, bucket_t *b, const owner_t *dead)
{
	lk_lock(t);
	lk_purge(t, b, dead, NULL, NULL);
	lk_unlock(t);
	lk_wake(b);
}

/* One bounded sleep of a wait, until a release bumps the bucket's word or
 * the look interval passes. A cancellable wait sleeps in asynchronous
 * cancellation mode, as the C library's own cancellation points make their
 * system call: the C library signals a thread cancelled meanwhile only in
 * that mode, which ends the sleep at once and unwinds through the caller's
 * cleanup, which lets go of all that the wait holds here: its count, its
 * note and the front end's part (lk_wait_abandon). */
static void lk_sleep(bucket_t *b, uint32_t seq, bool cancellable)
{
	long long ns = UMFS_LOCK_LOOK_NS(LK_CHECK_NS);
	struct timespec tick = { (time_t)(ns / 1000000000ll), (long)(ns % 1000000000ll) };
	int saved = errno, type = PTHREAD_CANCEL_DEFERRED;

	umfs_os_before_wait();
	if (cancellable)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	OS(syscall)(SYS_futex, &b->wake, FUTEX_WAIT, seq, &tick, NULL, 0);
	if (cancellable)
		pthread_setcanceltype(type, NULL);
	errno = saved;
}

int umfs_lock_request(struct umfs_fs *fs, const struct umfs_lock_req *q,
		      const struct umfs_lock_ops *ops, struct umfs_lock_req *conflict)
{
	tab_t *t = lk_tab(fs);
	bucket_t *b;
	struct lk_wait wt = { .wi = -1 };
	int r;

	if (!t)
		return -ENOLCK;
	if (q->start < 0 || q->end < q->start)
		return -EINVAL;
	b = &t->buckets[lk_hash(q->ino, q->gen)];
	for (;;) {
		owner_t c = { 0 }, chain[LK_DEADLK_STEPS + 2];
		uint32_t idx = 0, seq;
		bool cycle = false, released;
		int n = 0;

		lk_lock(t);
		seq = atomic_load(&b->wake);
		if (q->test) {
			long i = lk_conflict(t, b, q, q->start, q->end);

			r = i < 0 ? -ENOLCK : i > 0 ? -EAGAIN : 0;
			idx = i > 0 ? (uint32_t)i : 0;
		} else if (q->owner.kind == UMFS_LOCK_FLOCK) {
			r = lk_flock_set(t, b, q, &idx);
		} else {
			r = lk_posix_set(t, b, q, &idx);
		}
		released = atomic_load(&b->wake) != seq;
		if (r != -EAGAIN) {
			lk_wait_clear(t, &wt);
			lk_unlock(t);
			if (released)
				lk_wake(b);
			return r;
		}
		{
			const rec_t *cr = lk_at(t, idx);

			c.kind = cr->kind;
			c.id = cr->owner;
			c.host = cr->host;
			c.slot = cr->slot;
			c.pid = cr->pid;
			if (conflict) {
				memset(conflict, 0, sizeof(*conflict));
				conflict->owner = c;
				conflict->ino = cr->ino;
				conflict->gen = cr->gen;
				conflict->type = cr->type;
				conflict->start = cr->start;
				conflict->end = cr->end;
			}
		}
		if (q->wait && q->owner.kind == UMFS_LOCK_POSIX && c.kind == UMFS_LOCK_POSIX) {
			/* A wait that would close a cycle is never shown: the
			 * other waiter's next look must not find it and hear
			 * EDEADLK too. */
			cycle = lk_cycle(t, &q->owner, &c, chain, &n);
			if (cycle)
				lk_wait_clear(t, &wt);
			else
				lk_wait_note(t, &wt, &q->owner, &c);
		} else {
			lk_wait_clear(t, &wt); /* blocked by no process: in no chain */
		}
		if (q->wait)
			atomic_fetch_add(&b->waiters, 1);
		seq = atomic_load(&b->wake);
		lk_unlock(t);
		if (released)
			lk_wake(b); /* a flock conversion let its old lock go */

		/* a dead holder's locks go, and the request is tried again */
		if (!lk_alive(&c, ops)) {
			if (q->wait)
				atomic_fetch_sub(&b->waiters, 1);
			lk_bury(t, b, &c);
			continue;
		}
		if (!q->wait)
			return -EAGAIN;
		if (cycle) {
			bool dead = false;

			for (int i = 0; i < n && !dead; i++) {
				chain[i].kind = UMFS_LOCK_POSIX;
				if (!lk_alive(&chain[i], ops)) {
					dead = true;
					lk_bury(t, b, &chain[i]);
				}
			}
			atomic_fetch_sub(&b->waiters, 1);
			if (dead)
				continue;
			return -EDEADLK;
		}
		{
			struct lk_leaving leaving = { t, b, &wt, ops };
			int end = 0;

			pthread_cleanup_push(lk_wait_abandon, &leaving);
			if (ops->wait_look)
				end = ops->wait_look(ops->arg);
			if (!end)
				lk_sleep(b, seq, ops->cancellable);
			pthread_cleanup_pop(0);
			atomic_fetch_sub(&b->waiters, 1);
			if (end) {
				lk_lock(t);
				lk_wait_clear(t, &wt);
				lk_unlock(t);
				return end;
			}
		}
	}
}

void umfs_lock_release(struct umfs_fs *fs, uint64_t ino, uint32_t gen, const owner_t *owner)
{
	tab_t *t = lk_tab(fs);
	bucket_t *b;
	uint32_t seq;

	if (!t)
		return;
	b = &t->buckets[lk_hash(ino, gen)];
	lk_lock(t);
	seq = atomic_load(&b->wake);
	lk_purge(t, b, owner, &ino, &gen);
	lk_unlock(t);
	if (seq != atomic_load(&b->wake))
		lk_wake(b);
}

void umfs_lock_wake(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	tab_t *t = lk_tab(fs);
	bucket_t *b;

	if (!t)
		return;
	b = &t->buckets[lk_hash(ino, gen)];
	/* a wait that took the word before its look sleeps on the old value,
	 * which the futex then refuses */
	atomic_fetch_add(&b->wake, 1);
	lk_wake(b);
}

/* ------------------------------------------------------------------ */
/* exec                                                                 */
/* ------------------------------------------------------------------ */

void umfs_lock_exec_mark(struct umfs_fs *fs, uint64_t ino, uint32_t gen, bool set)
{
	tab_t *t = lk_tab(fs);
	uint64_t me = umfs_lock_process_id();
	uint32_t *link, steps;
	bucket_t *b;
	rec_t *r;

	if (!t)
		return;
	b = &t->buckets[lk_hash(ino, gen)];
	lk_lock(t);
	LK_FOREACH(t, b, link, r, steps) {
		if (r->kind == UMFS_LOCK_POSIX && r->owner == me && !r->host && lk_file(r, ino, gen))
			r->exec_drop = set;
		link = &r->next;
	}
	lk_unlock(t);
}

bool umfs_lock_exec_done(struct umfs_fs *fs)
{
	tab_t *t = umfs_share_locktab(fs);
	uint64_t me;
	bool held = false;

	/* a table no lock was ever taken in holds none of this process's:
	 * the usual join skips the walk of every bucket (four pages) */
	if (!t || __atomic_load_n(&t->high, __ATOMIC_ACQUIRE) == 0)
		return false;
	me = umfs_lock_process_id();
	lk_lock(t);
	for (uint32_t bi = 0; bi < UMFS_LK_BUCKETS; bi++) {
		bucket_t *b = &t->buckets[bi];
		uint32_t *link, steps, seq = atomic_load(&b->wake);
		rec_t *r;

		LK_FOREACH(t, b, link, r, steps) {
			if (r->kind == UMFS_LOCK_POSIX && r->owner == me && !r->host) {
				if (r->exec_drop) {
					uint32_t idx = *link;

					*link = r->next;
					lk_free(t, idx);
					atomic_fetch_add(&b->wake, 1);
					lk_unblock(t, &(owner_t){ .kind = UMFS_LOCK_POSIX, .id = me });
					continue;
				}
				held = true;
			}
			link = &r->next;
		}
		if (seq != atomic_load(&b->wake))
			lk_wake(b);
	}
	lk_unlock(t);
	return held;
}
