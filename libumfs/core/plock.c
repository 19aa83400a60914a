/* SPDX-License-Identifier: MIT */
/*
 * plock.c - a lock shared by processes that no process can wedge.
 *
 * The lock is one 64-bit word in shared memory: the holder's thread id in
 * the low 30 bits, a "waiters" bit, a "hand-off" bit, and the low 32 bits
 * of the holder thread's start time (clock ticks after boot) in the high
 * half; 0 is free. One compare-and-swap takes it, so the word always names
 * its holder, and the low half is the futex waiters sleep on.
 *
 * Taking a free lock passes its sleepers: a woken waiter finds it taken
 * again by a thread that never slept (the holder's own next call, on a
 * loaded machine, before the waiter gets a CPU), sleeps again, and may
 * lose for long. So a waiter that has waited PLOCK_HANDOFF_NS asks for the
 * lock with the hand-off bit; the holder's unlock then leaves the word
 * "handed" (that bit, no holder) instead of free, and only a thread that
 * has slept for the lock takes a handed one. A handed word waits for
 * nobody in particular: if the asker died, the next waiter to wake (its
 * tick at most) takes it.
 *
 * A waiter never sleeps without bound: it wakes every PLOCK_CHECK_NS and
 * asks whether the holder still lives (kill(tid, 0), and, when the word
 * carries one, the thread's start time against /proc, so that a reused
 * thread id or a forged word is not taken for the holder). A dead, invalid
 * or forged holder is replaced by one compare-and-swap, and the caller hears
 * -EOWNERDEAD: it holds the lock and must repair what the holder may have
 * left half done. A live holder that keeps the lock for long is named once
 * in the log. Nothing in the word can make a process abort: every value is
 * either a holder that lives or one that is taken over.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "os.h"
#include "procfs.h"
#include "umfs_frontend.h"
#include "umfs_tools.h"

#define PLOCK_TID_MASK 0x3FFFFFFFull
#define PLOCK_WAITERS 0x80000000ull
#define PLOCK_HANDOFF 0x40000000ull
/* A waiter asks for the lock to be handed to the waiters after this long. */
#define PLOCK_HANDOFF_NS 2000000ll
#define PLOCK_CHECK_NS 20000000ll     /* a waiter checks the holder this often */
#define PLOCK_REPORT_NS 5000000000ll  /* and names a live one after this long */
/* Looks at a held word this many times (a pause between) before sleeping:
 * a few microseconds, longer than the calls that take the lock for a walk
 * or a stat hold it, shorter than a futex sleep and wake-up. */
#define PLOCK_SPINS 200
/* How long a holder that let go for waiters gives them to take the lock
 * (umfs_plock_let_in): a woken waiter's wake-up, with room. */
#define PLOCK_LET_IN_NS 200000ll
/* Held by nobody (thread id 0): taken over at once (umfs_plock_abandon). */
#define PLOCK_ABANDONED (1ull << 32)

/* This thread's lock value: (stamp << 32) | tid; 0 until first needed. */
static __thread uint64_t plock_me;

static uint64_t plock_self(void)
{
	if (UMFS_LIKELY(plock_me != 0))
		return plock_me;
	int saved = errno;
	uint64_t tid = (uint64_t)OS(gettid)() & PLOCK_TID_MASK;
	uint64_t proc = umfs_lock_process_id(); /* stamp << 32 | pid, made once */
	uint32_t stamp = (uint32_t)(proc >> 32);

	/* the main thread is the process: its stamp is made already */
	if ((uint32_t)proc != (uint32_t)tid)
		stamp = umfs_task_stamp((pid_t)tid);
	plock_me = (uint64_t)stamp << 32 | tid;
	errno = saved;
	return plock_me;
}

void umfs_plock_forked(void)
{
	plock_me = 0; /* the child's only thread has a new id */
}

/* umfs_fork_child() may have run first and made the child's id already:
 * only a parent's is let go, so that the child makes its stamp (a pidfd)
 * once. A thread that never took a lock has no id to let go: the child
 * of a process that never mounted asks nothing (this handler runs in
 * every child of every process that loads the core). */
static void plock_atfork_child(void)
{
	if (plock_me != 0 &&
	    (plock_me & PLOCK_TID_MASK) != ((uint64_t)OS(gettid)() & PLOCK_TID_MASK))
		umfs_plock_forked();
}

/* A safety net for programs that fork without umfs_fork_child(). */
__attribute__((constructor)) static void plock_setup(void)
{
	pthread_atfork(NULL, NULL, plock_atfork_child);
}

/* A wait or wake on the lock word. Its failures (EAGAIN: the word
 * changed; ETIMEDOUT; EINTR) only send the caller to look at the word
 * again, so the caller's errno is kept: a readdir that reaches the end of
 * its directory must leave errno as it found it. */
static void plock_futex(uint64_t *word, int op, uint32_t val, const struct timespec *ts)
{
	int saved = errno;

	/* the low half of the little-endian word: holder and waiters bit */
	OS(syscall)(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
	errno = saved;
}

/* Whether the holder named by word w is gone (or never was): no such
 * thread, a zombie (killed, not yet reaped), or another task under its
 * id (a reused id, or a forged word): procfs.h, umfs_task_stamp. */
static bool plock_holder_dead(uint64_t w)
{
	uint64_t tid = w & PLOCK_TID_MASK;

	if (tid == 0 ||
	    (w & ~(PLOCK_TID_MASK | PLOCK_WAITERS | PLOCK_HANDOFF | 0xFFFFFFFF00000000ull)))
		return true; /* bits no holder writes */
	return umfs_task_gone((pid_t)tid, (uint32_t)(w >> 32));
}

/* Let go for the waiters (PLOCK_HANDOFF): only one that slept takes it. */
static bool plock_handed(uint64_t w)
{
	return (w & ~PLOCK_WAITERS) == PLOCK_HANDOFF;
}

/* The holder a word names (its thread id and stamp), without the bits
 * waiters set in it. */
static uint64_t plock_holder(uint64_t w)
{
	return w & ~(PLOCK_WAITERS | PLOCK_HANDOFF);
}

/* "process 1234 (name)" of a holder thread, for the log. */
static void plock_holder_name(uint64_t w, char *buf, size_t size)
{
	char path[48], status[1024], comm[32] = "?";
	unsigned tid = (unsigned)(w & PLOCK_TID_MASK), tgid = tid;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	if (umfs_proc_read(AT_FDCWD, path, status, sizeof(status)) > 0) {
		sscanf(status, "Name: %31s", comm);
		p = strstr(status, "\nTgid:");
		if (p)
			sscanf(p, "\nTgid: %u", &tgid);
	}
	snprintf(buf, size, "process %u (%s), thread %u", tgid, comm, tid);
}

void umfs_plock_init(struct umfs_plock *l)
{
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

/* Takes the lock from the holder seen in w, if it is dead. */
static int plock_take_dead(struct umfs_plock *l, uint64_t w, uint64_t me, const char *what)
{
	if (!plock_holder_dead(w))
		return -EBUSY;
	if (!__atomic_compare_exchange_n(&l->word, &w, me | (w & PLOCK_WAITERS), false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return -EAGAIN; /* it changed hands meanwhile: look again */
	umfs_log(UMFS_LOG_INFO, "%s: taken over from thread %llu, which is gone", what,
		 (unsigned long long)(w & PLOCK_TID_MASK));
	return -EOWNERDEAD;
}

int umfs_plock_trylock(struct umfs_plock *l, const char *what)
{
	uint64_t me = plock_self();
	uint64_t w = 0;
	int r;

	for (;;) {
		/* free, or handed: a try-lock (rare: a reader that checks a
		 * writer) takes a handed word too, which another process might
		 * otherwise leave for it to spin on */
		if (__atomic_compare_exchange_n(&l->word, &w, w ? me | (w & PLOCK_WAITERS) : me,
						false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return 0;
		if (w == 0 || plock_handed(w))
			continue;
		if ((w & PLOCK_TID_MASK) == (me & PLOCK_TID_MASK))
			return -EDEADLK;
		r = plock_take_dead(l, w, me, what);
		if (r != -EAGAIN)
			return r;
		w = 0;
	}
}

/* Takes the lock if its holder lets it go within PLOCK_SPINS looks, as
 * another CPU's short call does. Gives up at once when others sleep for
 * it (so as not to pass them), and when the word names no holder or this
 * thread: the slow path takes those over or refuses them without waiting. */
static bool plock_spin(struct umfs_plock *l, uint64_t me)
{
	for (int i = 0; i < PLOCK_SPINS; i++) {
		uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);

		if (w == 0) {
			if (__atomic_compare_exchange_n(&l->word, &w, me, false, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return true;
			continue;
		}
		if ((w & PLOCK_WAITERS) || !(w & PLOCK_TID_MASK) ||
		    (w & PLOCK_TID_MASK) == (me & PLOCK_TID_MASK))
			return false;
		__builtin_ia32_pause();
	}
	return false;
}

static int plock_lock_slow(struct umfs_plock *l, uint64_t me, const char *what)
{
	const struct timespec tick = { 0, PLOCK_CHECK_NS };
	uint64_t t0 = 0, w, want, holder = 0;
	int64_t first_sleep = 0; /* 0: this thread has not slept yet */
	bool named = false;
	int r;

	if (plock_spin(l, me))
		return 0;
	for (;;) {
		w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
		if (w == 0) {
			/* with the waiters bit: others may sleep behind us */
			if (__atomic_compare_exchange_n(&l->word, &w, me | PLOCK_WAITERS, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 0;
			continue;
		}
		if (plock_handed(w)) {
			if (first_sleep) {
				if (__atomic_compare_exchange_n(&l->word, &w, me | (w & PLOCK_WAITERS),
								false, __ATOMIC_ACQUIRE,
								__ATOMIC_RELAXED))
					return 0;
				continue;
			}
			/* a newcomer: after the waiters, a tick at most */
		} else if ((w & PLOCK_TID_MASK) == (me & PLOCK_TID_MASK)) {
			return -EDEADLK; /* this thread holds it: waiting would never end */
		} else if ((w & PLOCK_TID_MASK) == 0) {
			/* abandoned, or a word no holder writes: no need to wait */
			r = plock_take_dead(l, w, me, what);
			if (r != -EAGAIN)
				return r;
			continue;
		}
		/* a handed word is here only for a newcomer, which asks nothing */
		want = w | PLOCK_WAITERS;
		if (first_sleep && umfs_os_monotonic_ns() - first_sleep > PLOCK_HANDOFF_NS)
			want |= PLOCK_HANDOFF;
		if (want != w && !__atomic_compare_exchange_n(&l->word, &w, want, false,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		if (!first_sleep)
			first_sleep = umfs_os_monotonic_ns();
		umfs_os_before_wait();
		plock_futex(&l->word, FUTEX_WAIT, (uint32_t)want, &tick);
		if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) != want || plock_handed(want))
			continue; /* released, handed or changed hands: try again */
		r = plock_take_dead(l, want, me, what);
		if (r != -EBUSY && r != -EAGAIN)
			return r;
		if (holder != plock_holder(want)) {
			holder = plock_holder(want); /* a new holder: its own time */
			t0 = umfs_os_monotonic_ns();
		} else if (!named && umfs_os_monotonic_ns() - t0 > PLOCK_REPORT_NS) {
			char name[96];

			plock_holder_name(want, name, sizeof(name));
			umfs_log(UMFS_LOG_WARN, "%s: waiting for %s, which has held it for %llds",
				 what, name, PLOCK_REPORT_NS / 1000000000ll);
			named = true;
		}
	}
}

int umfs_plock_lock(struct umfs_plock *l, const char *what)
{
	uint64_t me = plock_self();
	uint64_t w = 0;

	if (UMFS_LIKELY(__atomic_compare_exchange_n(&l->word, &w, me, false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED)))
		return 0;
	return plock_lock_slow(l, me, what);
}

void umfs_plock_abandon(struct umfs_plock *l)
{
	uint64_t me = plock_self();
	uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);

	while (plock_holder(w) == me) {
		if (__atomic_compare_exchange_n(&l->word, &w, PLOCK_ABANDONED, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			if (w & PLOCK_WAITERS)
				plock_futex(&l->word, FUTEX_WAKE, 1, NULL);
			return;
		}
	}
}

bool umfs_plock_waited(const struct umfs_plock *l)
{
	return __atomic_load_n(&l->word, __ATOMIC_RELAXED) & PLOCK_WAITERS;
}

void umfs_plock_let_in(const struct umfs_plock *l)
{
	uint64_t until = umfs_os_monotonic_ns() + PLOCK_LET_IN_NS;

	while (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 && umfs_os_monotonic_ns() < until)
		sched_yield();
}

void umfs_plock_unlock(struct umfs_plock *l)
{
	uint64_t me = plock_self();
	uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);

	/* never release what another thread holds (a region rebuilt under
	 * us, or a takeover that thought us dead) */
	while (plock_holder(w) == me) {
		/* asked for by a waiter that sleeps: handed, not free */
		uint64_t next = (w & PLOCK_HANDOFF) && (w & PLOCK_WAITERS) ?
					PLOCK_HANDOFF | PLOCK_WAITERS : 0;

		if (__atomic_compare_exchange_n(&l->word, &w, next, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED)) {
			if (w & PLOCK_WAITERS)
				plock_futex(&l->word, FUTEX_WAKE, 1, NULL);
			return;
		}
	}
}
