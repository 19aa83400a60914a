/* SPDX-License-Identifier: MIT */
/*
 * fdguard.c - the library's descriptors at the kernel's numbers, against
 * the program's dup2 and dup3.
 *
 * The kernel gives a new descriptor the lowest free number, so a file the
 * library opens for itself sits among the program's numbers until it is
 * moved to the library's range (nofile.c) or closed. Another thread's
 * dup2 or dup3 onto that number in that moment (one the program does not
 * hold) would put the program's file in its place: the library would then
 * map, write or close the program's file. So the two exclude each other:
 *
 *   - a thread of the library holds a section from just before it makes a
 *     descriptor of its own (the core's open, openat and pidfd, through
 *     the hooks of core/os.h, and the shim's own memfds, eventfd and
 *     walks) to the end of the served call, or to its next wait on
 *     another thread or process (a lock's, a FIFO's open): by then each
 *     such descriptor is placed or closed. A mount holds one from start
 *     to end, its descriptors low until the end;
 *   - the program's dup2 and dup3 hold one around their system call;
 *   - each side waits while the other's count is above 0.
 *
 * One word holds both counts: taking a side is one compare-and-swap that
 * sees the other side's count at 0, so the two never both pass. A thread
 * passes its own other side (a handler that interrupted it). A program's
 * dup waits FDGUARD_WAIT_NS at most, then fails with EBUSY, the kernel's
 * errno for a dup2 that races an open; a library section waits as long,
 * then goes on: a dup still in the kernel after that is one waiting on the
 * close of the file it replaced, its number already taken.
 */
#include <time.h>

#include "shim.h"

#define FDGUARD_LIB 1ull
#define FDGUARD_DUP (1ull << 32)
#define FDGUARD_WAIT_NS 1000000000ull
#define FDGUARD_NAP_NS 20000l

/* Low half: threads in library sections. High half: program dups in
 * flight. */
static _Atomic uint64_t fdguard_word;
__thread bool shim_fdguard_call __attribute__((tls_model("initial-exec")));
static __thread unsigned fdguard_depth __attribute__((tls_model("initial-exec")));
static __thread unsigned fdguard_dups __attribute__((tls_model("initial-exec")));

static bool lib_held(void)
{
	return fdguard_depth || shim_fdguard_call;
}

/* Adds add to the word once the other side's count is 0: true, or false
 * when FDGUARD_WAIT_NS passed first. */
static bool fdguard_take(uint64_t add, int other_shift)
{
	uint64_t w = atomic_load(&fdguard_word);
	uint64_t deadline = 0;
	int saved = errno;
	bool took = true;

	for (;;) {
		if ((uint32_t)(w >> other_shift) == 0) {
			if (atomic_compare_exchange_weak(&fdguard_word, &w, w + add))
				break;
			continue;
		}
		if (!deadline) {
			deadline = umfs_os_monotonic_ns() + FDGUARD_WAIT_NS;
		} else if (umfs_os_monotonic_ns() > deadline) {
			took = false;
			break;
		}
		OS(nanosleep)(&(struct timespec){ 0, FDGUARD_NAP_NS }, NULL);
		w = atomic_load(&fdguard_word);
	}
	errno = saved;
	return took;
}

static void lib_take(void)
{
	if (fdguard_dups || !fdguard_take(FDGUARD_LIB, 32))
		atomic_fetch_add(&fdguard_word, FDGUARD_LIB);
}

static void lib_give(void)
{
	atomic_fetch_sub(&fdguard_word, FDGUARD_LIB);
}

void shim_fdguard_enter(void)
{
	if (!lib_held())
		lib_take();
	fdguard_depth++;
}

void shim_fdguard_leave(void)
{
	if (--fdguard_depth == 0 && !shim_fdguard_call)
		lib_give();
}

void shim_fdguard_own(void)
{
	/* outside a served call (the library's start and exit) there is no
	 * end to hold one to */
	if (lib_held() || shim_busy == 0)
		return;
	lib_take();
	shim_fdguard_call = true;
}

void shim_fdguard_call_end(void)
{
	if (!shim_fdguard_call)
		return;
	shim_fdguard_call = false;
	if (!fdguard_depth)
		lib_give();
}

int shim_fdguard_dup_begin(void)
{
	if (lib_held())
		atomic_fetch_add(&fdguard_word, FDGUARD_DUP);
	else if (!fdguard_take(FDGUARD_DUP, 0))
		return -EBUSY;
	fdguard_dups++;
	return 0;
}

void shim_fdguard_dup_end(void)
{
	fdguard_dups--;
	atomic_fetch_sub(&fdguard_word, FDGUARD_DUP);
}

/* As a vfork returns in the parent, which was in no section (a vfork
 * from inside the library is a fork): one a child left in the memory it
 * borrowed (ended by _exit or exec in a served call) is let go. */
void shim_fdguard_vfork_parent(void)
{
	if (!lib_held())
		return;
	fdguard_depth = 0;
	shim_fdguard_call = false;
	lib_give();
}

/* The child's only thread is the one that forked: the counts are its own. */
void shim_fdguard_fork_child(void)
{
	atomic_store(&fdguard_word, (lib_held() ? FDGUARD_LIB : 0) + fdguard_dups * FDGUARD_DUP);
}
