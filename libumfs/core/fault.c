/* SPDX-License-Identifier: MIT */
/*
 * fault.c - a page of a pool that cannot be reached fails the mount, not
 * the process.
 *
 * The kernel answers a load or store to a mapped page it cannot provide
 * with SIGBUS, whose default action kills: a pool file or a lock region
 * that another member of the pool's group truncated, a full tmpfs under a
 * page never written, a poisoned line of persistent memory
 * (BUS_MCEERR_AR). Each mount registers its mappings here: the pool (and
 * coldio.c's read-only view of it) and the shared areas of the processes
 * using it (the lock region, a front end's own). A SIGBUS whose address
 * lies in one of them is absorbed (umfs_fault_absorb):
 *
 *   - the mount is marked failed (fs->failed): the call that faulted
 *     answers -EIO where it checks the mark, and so does every later call
 *     (umfs_fs_eio);
 *   - at the first failure of a mount every pool mapping of it is replaced
 *     by anonymous zero-filled memory of the same protection, and the
 *     pool's descriptor by /dev/null: from that instant this process
 *     changes nothing in the pool, as if it had crashed there. Calls in
 *     flight finish against zeros; the locks they hold in the lock region
 *     are left as a dead holder's (umfs_plock_abandon), so that the next
 *     process to take each rolls back what this one left half done, as
 *     after a crash;
 *   - in a shared area only the faulting page is replaced: the pages the
 *     file still has stay shared with the other processes, so that a lock
 *     word this process still holds or releases there is the one they
 *     see. A page that is gone from the file is gone for every process
 *     (each that touches it fails in turn); only a page that the file
 *     regains afterwards is zero here and the file's elsewhere, and locks
 *     taken in it then exclude nobody across that line: data may change,
 *     nobody waits for a lock that only one side sees held (docs/security.md).
 *
 * The faulting instruction then runs again against the new memory. The
 * handler takes no lock and allocates nothing: the registry is a fixed
 * array of slots, each read under its own sequence count.
 *
 * The C API installs, at the first mount, a SIGBUS handler that absorbs
 * these faults and hands every other SIGBUS to the disposition it found
 * (UMFS_MOUNT_NOSIGBUS: none; the program's handler calls
 * umfs_fault_absorb). A front end with a handler of its own (the shim's)
 * says so with umfs_fault_routed and calls umfs_fault_absorb in it.
 * Nothing of this runs on the data path: a read tests the failure mark
 * once at its end, a write at its start, its end and its unlock (a load
 * and a branch each).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"
#include "log.h"
#include "os.h"

#define FAULT_SLOTS 64 /* mappings watched in a process, all mounts together */

struct fault_slot {
	_Atomic bool used;     /* claimed by a registration */
	_Atomic unsigned seq;  /* odd while the fields below change */
	_Atomic uintptr_t start, end;
	struct umfs_fs *_Atomic fs;
	_Atomic int prot;
	_Atomic int area;      /* enum umfs_fault_area */
	const char *_Atomic name; /* for the log */
};

struct fault_range {
	uintptr_t start, end;
	struct umfs_fs *fs;
	int prot;
	int area;
	const char *name;
};

/* The first slots, which a mount of one pool fills, sit among the small
 * variables, on a page every preloaded process writes anyway; the others
 * are touched only by a process with more mappings. Scans (a fault's
 * lookup, an unwatch) stop at the highest slot ever claimed. */
#define FAULT_SLOTS_NEAR 8
static struct fault_slot fault_near[FAULT_SLOTS_NEAR];
UMFS_BSS_LARGE static struct fault_slot fault_far[FAULT_SLOTS - FAULT_SLOTS_NEAR];
static _Atomic unsigned fault_slots_claimed; /* one past the highest slot claimed */
static _Atomic bool fault_full_said;
static _Atomic bool fault_routed;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static struct sigaction fault_prev;

static struct fault_slot *fault_slot(unsigned i)
{
	return i < FAULT_SLOTS_NEAR ? &fault_near[i] : &fault_far[i - FAULT_SLOTS_NEAR];
}

static unsigned fault_slots_used(void)
{
	return atomic_load_explicit(&fault_slots_claimed, memory_order_acquire);
}

/* A consistent copy of slot i; false when it is free or changing. */
static bool fault_slot_read(unsigned i, struct fault_range *r)
{
	struct fault_slot *s = fault_slot(i);
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (seq & 1)
		return false;
	r->start = atomic_load_explicit(&s->start, memory_order_relaxed);
	r->end = atomic_load_explicit(&s->end, memory_order_relaxed);
	r->fs = atomic_load_explicit(&s->fs, memory_order_relaxed);
	r->prot = atomic_load_explicit(&s->prot, memory_order_relaxed);
	r->area = atomic_load_explicit(&s->area, memory_order_relaxed);
	r->name = atomic_load_explicit(&s->name, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&s->seq, memory_order_relaxed) == seq && r->start != 0;
}

static void fault_slot_set(struct fault_slot *s, const struct fault_range *r)
{
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->end, r->end, memory_order_relaxed);
	atomic_store_explicit(&s->fs, r->fs, memory_order_relaxed);
	atomic_store_explicit(&s->prot, r->prot, memory_order_relaxed);
	atomic_store_explicit(&s->area, r->area, memory_order_relaxed);
	atomic_store_explicit(&s->name, r->name, memory_order_relaxed);
	atomic_store_explicit(&s->start, r->start, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
}

int umfs_fault_watch(struct umfs_fs *fs, void *addr, size_t len, int prot,
		     enum umfs_fault_area area, const char *name)
{
	struct fault_range r = { (uintptr_t)addr, (uintptr_t)addr + len, fs, prot, (int)area, name };

	if (!addr || !len)
		return 0;
	for (unsigned i = 0; i < FAULT_SLOTS; i++) {
		bool free = false;

		if (atomic_compare_exchange_strong(&fault_slot(i)->used, &free, true)) {
			unsigned seen = fault_slots_used();

			while (seen < i + 1 &&
			       !atomic_compare_exchange_weak(&fault_slots_claimed, &seen, i + 1))
				;
			fault_slot_set(fault_slot(i), &r);
			return 0;
		}
	}
	if (!atomic_exchange(&fault_full_said, true))
		umfs_log(UMFS_LOG_WARN, "more than %d pool mappings in this process: a fault in the "
			 "next ones kills it", FAULT_SLOTS);
	return -ENOSPC;
}

int umfs_fault_watch_area(struct umfs_fs *fs, void *addr, size_t len, const char *name)
{
	return umfs_fault_watch(fs, addr, len, PROT_READ | PROT_WRITE, UMFS_FAULT_SHARED, name);
}

void umfs_fault_unwatch(void *addr)
{
	static const struct fault_range none;
	struct fault_range r;

	for (unsigned i = 0, n = fault_slots_used(); i < n && addr; i++) {
		if (!atomic_load(&fault_slot(i)->used) || !fault_slot_read(i, &r) ||
		    r.start != (uintptr_t)addr)
			continue;
		fault_slot_set(fault_slot(i), &none);
		atomic_store(&fault_slot(i)->used, false);
	}
}

void umfs_fault_unwatch_fs(struct umfs_fs *fs)
{
	struct fault_range r;

	for (unsigned i = 0, n = fault_slots_used(); i < n; i++)
		if (atomic_load(&fault_slot(i)->used) && fault_slot_read(i, &r) && r.fs == fs)
			umfs_fault_unwatch((void *)r.start);
}

/* The registered mapping holding a, or false. A slot that is changing
 * (another thread mounts or unmounts) is read again: its writer runs. */
static bool fault_find(uintptr_t a, struct fault_range *out)
{
	for (unsigned i = 0, n = fault_slots_used(); i < n; i++) {
		for (unsigned tries = 0; tries < 1000; tries++) {
			if (!atomic_load_explicit(&fault_slot(i)->used, memory_order_acquire))
				break;
			if (fault_slot_read(i, out)) {
				if (a >= out->start && a < out->end)
					return true;
				break;
			}
		}
	}
	return false;
}

/* Zero-filled private memory in place of [start, start + len). */
static bool fault_zero(uintptr_t start, size_t len, int prot)
{
	return OS(mmap)((void *)start, len, prot,
			MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			0) != MAP_FAILED;
}

/* The pool's descriptor becomes /dev/null: a copy in flight through it
 * (coldio.c) neither reads nor writes the pool any more, and the pool's
 * lock taken on it at mount goes with it. */
static void fault_fd_retire(struct umfs_fs *fs)
{
	int nul;

	if (fs->pm.fd < 0)
		return;
	nul = OS(open)("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return;
	umfs_os_dup_onto(nul, fs->pm.fd);
	OS(close)(nul);
}

/* Marks fs failed (at offset off of the mapping where); the first time,
 * cuts this process off the pool. */
static void fault_fail(const struct fault_range *where, uint64_t off)
{
	struct umfs_fs *fs = where->fs;
	struct fault_range r;
	int none = 0;

	if (!atomic_compare_exchange_strong(&fs->failed, &none, UMFS_FAULT_FAILED + where->area))
		return;
	atomic_store_explicit(&fs->fail_off, off, memory_order_relaxed);
	atomic_store_explicit(&fs->fail_name, where->name, memory_order_relaxed);
	for (unsigned i = 0, n = fault_slots_used(); i < n; i++)
		if (fault_slot_read(i, &r) && r.fs == fs && r.area == UMFS_FAULT_POOL)
			fault_zero(r.start, r.end - r.start, r.prot);
	fault_fd_retire(fs);
}

int umfs_fault_absorb(int sig, const siginfo_t *si)
{
	struct fault_range r;
	uintptr_t a, page;
	int saved = errno;
	bool done;

	if (sig != SIGBUS || !si || si->si_code <= 0)
		return 0; /* sent by a process, not a fault */
	a = (uintptr_t)si->si_addr;
	if (!fault_find(a, &r))
		return 0;
	fault_fail(&r, a - r.start);
	page = a & ~(uintptr_t)(UMFS_PAGE_SIZE - 1);
	/* the pool again: another thread may be replacing it as we speak */
	done = r.area == UMFS_FAULT_SHARED ? fault_zero(page, UMFS_PAGE_SIZE, r.prot)
					   : fault_zero(r.start, r.end - r.start, r.prot);
	errno = saved;
	return done;
}

void umfs_fault_routed(void)
{
	atomic_store(&fault_routed, true);
}

/* Every SIGBUS that is not a pool's goes where it went before. */
static void fault_sigbus(int sig, siginfo_t *si, void *ctx)
{
	const struct sigaction *prev = &fault_prev;

	if (umfs_fault_absorb(sig, si))
		return;
	if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
		prev->sa_sigaction(sig, si, ctx);
		return;
	}
	if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
	    prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	if (prev->sa_handler == SIG_IGN && si->si_code <= 0)
		return; /* sent, and ignored: a fault cannot be */
	OS(signal)(SIGBUS, SIG_DFL);
	if (si->si_code <= 0)
		OS(raise)(sig); /* sent: again, to the default; a fault repeats on return */
}

static void fault_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_sigbus;
	/* NODEFER: a handler chained to may leave by siglongjmp without
	 * restoring the mask (backend_kmod.c's does), and a thread that meets
	 * a fault with SIGBUS blocked is ended by the kernel */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	OS(sigaction)(SIGBUS, &sa, &fault_prev);
}

void umfs_fault_mount(struct umfs_fs *fs, unsigned flags)
{
	if (!(flags & UMFS_MOUNT_NOSIGBUS) && !atomic_load(&fault_routed))
		pthread_once(&fault_once, fault_setup);
	umfs_fault_watch(fs, fs->pm.base, fs->pm.len,
			 fs->pm.rdonly ? PROT_READ : PROT_READ | PROT_WRITE, UMFS_FAULT_POOL, "the pool");
}

int umfs_fs_eio(struct umfs_fs *fs)
{
	bool pool = atomic_load(&fs->failed) == UMFS_FAULT_FAILED + UMFS_FAULT_POOL;

	if (!atomic_exchange(&fs->fail_said, true))
		umfs_log(UMFS_LOG_ERROR, "%s%s%s: the page at offset %llu could not be reached (the "
			 "file was truncated by another process, its file system is full, or the "
			 "memory has an error): "
			 "this process no longer uses the pool, and every call on it fails with "
			 "EIO; %s", pool ? "" : fs->run_path, pool ? "" : "/",
			 atomic_load(&fs->fail_name),
			 (unsigned long long)atomic_load(&fs->fail_off),
			 pool ? "check the pool with fsck.umfs once no program uses it"
			      : "the next program to use the pool recovers it");
	return -EIO;
}
