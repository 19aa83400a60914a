/* SPDX-License-Identifier: MIT */
/*
 * uinfo.c - U-info: an array indexed by descriptor number, NULL for
 * descriptors that are not UMFS files, so that deciding costs one load.
 *
 * The array covers every descriptor number the kernel can hand out: the
 * 2^20 numbers of the kernel's default fs.nr_open, the most any hard
 * RLIMIT_NOFILE may be unless an administrator raised it; more, read from
 * /proc/sys/fs/nr_open, only for a process whose hard limit is already
 * past that (reading it cost every joining process 9 us). It is reserved,
 * not committed (the default's in the library's BSS, a larger one mapped):
 * only the pages of numbers in use are ever touched. It is taken when the
 * first entry is set: until then every number reads as not UMFS's. Entries
 * point to open file descriptions (ofd.c), shared by dup() as the kernel
 * shares its own. A call takes a
 * reference for its duration (fd_get), so that a concurrent close() cannot
 * free the description under it; descriptions are type-stable (never given
 * back to malloc), which makes the take-then-check in fd_get safe.
 */
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

#define UINFO_NR_OPEN_DEFAULT (1u << 20)

struct ofd *_Atomic *uinfo;
size_t uinfo_size;
_Atomic size_t uinfo_high;
_Atomic int uinfo_count;
_Atomic int uinfo_window = -1;
_Atomic uint64_t uinfo_window_bits;

/* The table of up to the kernel's default nr_open lies in the library's
 * large BSS, reserved with its other data at load: its first page (the
 * numbers 0-511) then shares their page table page, where a mapping of its
 * own cost every process that opens a UMFS file a page table page and a
 * fault. Its untouched pages cost nothing, as the mapping's did. */
UMFS_BSS_LARGE static struct ofd *_Atomic uinfo_default[UINFO_NR_OPEN_DEFAULT];

/* Racing first setters each take a table; one is kept, and the others wait
 * until its size is published (a setter must not find the table absent). */
static void uinfo_reserve(void)
{
	struct ofd *_Atomic *none = NULL;
	size_t n = UINFO_NR_OPEN_DEFAULT;
	struct rlimit rl;
	char buf[32];
	void *p;
	int fd = -1;

	if (OS(getrlimit)(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max > UINFO_NR_OPEN_DEFAULT)
		fd = sys_open_cloexec("/proc/sys/fs/nr_open", O_RDONLY, 0);
	if (fd >= 0) {
		/* one read: the kernel hands a sysctl's value whole */
		ssize_t len = OS(pread)(fd, buf, sizeof(buf) - 1, 0);

		if (len > 0) {
			/* by hand: strtoul's locale table is a page fault */
			n = 0;
			for (ssize_t i = 0; i < len && i < 10 && buf[i] >= '0' && buf[i] <= '9'; i++)
				n = n * 10 + (size_t)(buf[i] - '0');
		}
		sys_close_quiet(fd);
	}
	if (n < 1024)
		n = 1024;
	if (n <= UINFO_NR_OPEN_DEFAULT) {
		p = uinfo_default;
	} else {
		p = OS(mmap)(NULL, n * sizeof(*uinfo), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return; /* no UMFS descriptors then: every call passes through */
	}
	if (!__atomic_compare_exchange_n(&uinfo, &none, p, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (p != (void *)uinfo_default)
			OS(munmap)(p, n * sizeof(*uinfo));
		while (!__atomic_load_n(&uinfo_size, __ATOMIC_ACQUIRE))
			sched_yield();
		return;
	}
	__atomic_store_n(&uinfo_size, n, __ATOMIC_RELEASE);
}

static inline void uinfo_ready(void)
{
	if (unlikely(!__atomic_load_n(&uinfo_size, __ATOMIC_ACQUIRE)))
		uinfo_reserve();
}

/* Before fd's entry is set: the scans stop at the highest ever set. */
static void uinfo_high_raise(int fd)
{
	size_t want = (size_t)fd + 1, cur = atomic_load_explicit(&uinfo_high, memory_order_relaxed);

	while (cur < want && !atomic_compare_exchange_weak(&uinfo_high, &cur, want))
		;
}

struct ofd *fd_get(int fd)
{
	for (;;) {
		struct ofd *o = uinfo_peek(fd);
		int r;

		if (!o || o == UINFO_INTERNAL)
			return NULL;
		r = atomic_load_explicit(&o->refs, memory_order_relaxed);
		do {
			if (r == 0)
				break; /* being released: look again */
		} while (!atomic_compare_exchange_weak(&o->refs, &r, r + 1));
		if (r == 0)
			continue;
		if (uinfo_peek(fd) == o)
			return o;
		ofd_put(o);
	}
}

bool uinfo_covers(int fd)
{
	uinfo_ready();
	return (size_t)(unsigned)fd < uinfo_size;
}

bool uinfo_set(int fd, struct ofd *o)
{
	struct ofd *old;

	if (o)
		uinfo_ready();
	if ((size_t)(unsigned)fd >= uinfo_size) {
		if (o)
			ofd_put(o);
		return false;
	}
	if (o)
		uinfo_high_raise(fd);
	old = atomic_exchange(&uinfo[fd], o);
	if (o && o != UINFO_INTERNAL)
		atomic_fetch_add(&uinfo_count, 1);
	if (old && old != UINFO_INTERNAL) {
		atomic_fetch_sub(&uinfo_count, 1);
		fd_closed_hook(fd, old);
		ofd_put(old);
	}
	return true;
}

struct ofd *uinfo_take(int fd)
{
	struct ofd *old;

	if ((size_t)(unsigned)fd >= uinfo_size)
		return NULL;
	old = uinfo_peek(fd);
	if (!old || old == UINFO_INTERNAL)
		return NULL;
	old = atomic_exchange(&uinfo[fd], NULL);
	if (old == UINFO_INTERNAL) { /* raced with an internal mark: put it back */
		atomic_store(&uinfo[fd], old);
		return NULL;
	}
	if (old)
		atomic_fetch_sub(&uinfo_count, 1);
	return old;
}

void uinfo_park(int fd)
{
	uinfo_ready();
	if (fd >= 0 && (size_t)fd < uinfo_size) {
		uinfo_high_raise(fd);
		atomic_store(&uinfo[fd], UINFO_PARKED);
	}
}

bool uinfo_unpark(int fd)
{
	struct ofd *expected = UINFO_PARKED;

	return fd >= 0 && (size_t)fd < uinfo_size &&
	       atomic_compare_exchange_strong(&uinfo[fd], &expected, NULL);
}

/* fd's bit in the window, or 0 when fd lies outside it. The window is
 * placed at the first mark, where the library's numbers start then. */
static uint64_t window_bit(int fd)
{
	int w = atomic_load(&uinfo_window), none = -1;

	if (w < 0) {
		atomic_compare_exchange_strong(&uinfo_window, &none, shim_high_fd());
		w = atomic_load(&uinfo_window);
	}
	return fd >= w && fd - w < UINFO_WINDOW ? 1ull << (fd - w) : 0;
}

void uinfo_mark_internal(int fd)
{
	uint64_t bit = fd >= 0 ? window_bit(fd) : 0;

	uinfo_ready(); /* the table is reserved with the first mark too */
	if (bit) {
		atomic_fetch_or(&uinfo_window_bits, bit);
		return;
	}
	if (fd >= 0 && (size_t)fd < uinfo_size) {
		uinfo_high_raise(fd);
		atomic_store(&uinfo[fd], UINFO_INTERNAL);
	}
}

void uinfo_unmark_internal(int fd)
{
	struct ofd *expected = UINFO_INTERNAL;
	uint64_t bit = fd >= 0 ? window_bit(fd) : 0;

	if (bit) {
		atomic_fetch_and(&uinfo_window_bits, ~bit);
		return;
	}
	if (fd >= 0 && (size_t)fd < uinfo_size)
		atomic_compare_exchange_strong(&uinfo[fd], &expected, NULL);
}
