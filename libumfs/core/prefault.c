/* SPDX-License-Identifier: MIT */
/*
 * prefault.c - pool pages made present in this process before the write
 * path stores to them.
 *
 * A process's first access to a pool page it has not mapped yet takes a
 * page fault (on a tmpfs pool the first since mkfs also clears the page):
 * 13-15 us of CPU in the VM of docs/performance.md, several times a whole
 * 4 KiB write. Populating costs under 1 us a page, and one system call
 * serves a run of pages. So the write path asks here before it reads or
 * stores pool pages: absent pages are populated with one
 * madvise(MADV_POPULATE_WRITE) per run, to the end of their 64 KiB window
 * when the use is sequential (the page before is present), and a bitmap in
 * this process's memory (a bit per pool page, 32 KiB per GiB of pool)
 * records which are present. It is a hint, never needed for correctness:
 * where it is wrong (a failed madvise, page tables the kernel reclaimed)
 * the pages fault as they would without it. A forked child starts without
 * page tables for shared mappings, so its bitmap starts empty. Pools on
 * disk files, read-only maps and module maps are left alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "prefault.h"
#include "os.h"
#include "umfs_tools.h"

#define PREFAULT_WINDOW 16ull /* pages populated ahead of sequential writes */
#define PREFAULT_OFF ((struct umfs_prefault *)1) /* never populate this map */

struct umfs_prefault {
	uint64_t forks; /* prefault_forks when the bits were last valid */
	size_t nwords;
	uint64_t bits[]; /* one per pool page */
};

static uint64_t prefault_forks;

static void prefault_atfork_child(void)
{
	__atomic_add_fetch(&prefault_forks, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void prefault_setup(void)
{
	pthread_atfork(NULL, NULL, prefault_atfork_child);
}

static size_t prefault_size(size_t nwords)
{
	return sizeof(struct umfs_prefault) + nwords * sizeof(uint64_t);
}

/* The map's bitmap, made at first use; PREFAULT_OFF where populating does
 * not apply or memory ran out. */
static struct umfs_prefault *prefault_of(struct umfs_pmem *pm)
{
	struct umfs_prefault *p = __atomic_load_n(&pm->prefault, __ATOMIC_ACQUIRE), *none = NULL;
	size_t nwords;

	if (UMFS_LIKELY(p != NULL))
		return p;
	nwords = UMFS_DIV_ROUND_UP(pm->len >> UMFS_PAGE_SHIFT, 64) + 1;
	if (pm->rdonly || pm->media == UMFS_MEDIA_FILE ||
	    !(p = umfs_os_zalloc(prefault_size(nwords))))
		p = PREFAULT_OFF;
	else {
		p->nwords = nwords;
		p->forks = __atomic_load_n(&prefault_forks, __ATOMIC_RELAXED);
	}
	if (!__atomic_compare_exchange_n(&pm->prefault, &none, p, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (p != PREFAULT_OFF)
			umfs_os_zfree(p, prefault_size(nwords)); /* another thread made it first */
		p = none;
	}
	return p;
}

static bool prefault_has(const struct umfs_prefault *p, uint64_t pg)
{
	return (__atomic_load_n(&p->bits[pg / 64], __ATOMIC_RELAXED) >> (pg % 64)) & 1;
}

/* The map's bitmap when it is valid in this process (cleared after a
 * fork), or NULL where populating does not apply. A query (make false)
 * makes none: before the bitmap exists no page is recorded present, and a
 * process that only reads never pays for it. */
static struct umfs_prefault *prefault_valid(struct umfs_pmem *pm, bool make)
{
	struct umfs_prefault *p = make ? prefault_of(pm)
				       : __atomic_load_n(&pm->prefault, __ATOMIC_ACQUIRE);
	uint64_t forks = __atomic_load_n(&prefault_forks, __ATOMIC_RELAXED);

	if (!p || p == PREFAULT_OFF)
		return NULL;
	if (UMFS_UNLIKELY(p->forks != forks)) { /* in a child: nothing is mapped yet */
		for (size_t i = 0; i < p->nwords; i++)
			__atomic_store_n(&p->bits[i], 0, __ATOMIC_RELAXED);
		p->forks = forks;
	}
	return p;
}

/* Populates pool pages [a, b) and records them. */
static void prefault_pages(struct umfs_pmem *pm, struct umfs_prefault *p, uint64_t a, uint64_t b)
{
	OS(madvise)(pm->base + (a << UMFS_PAGE_SHIFT), (b - a) << UMFS_PAGE_SHIFT,
		MADV_POPULATE_WRITE); /* a hint: where it fails, the pages fault */
	for (uint64_t i = a; i < b; i++)
		__atomic_fetch_or(&p->bits[i / 64], 1ull << (i % 64), __ATOMIC_RELAXED);
}

void umfs_pmem_prefault(struct umfs_pmem *pm, uint64_t off, uint64_t len)
{
	struct umfs_prefault *p;
	uint64_t pg, last, first = UINT64_MAX;

	if (len == 0 || off >= pm->len || !(p = prefault_valid(pm, true)))
		return;
	pg = off >> UMFS_PAGE_SHIFT;
	last = (UMFS_MIN(off + len, pm->len) - 1) >> UMFS_PAGE_SHIFT;
	if (UMFS_LIKELY(pg == last && prefault_has(p, pg)))
		return; /* the usual case: one page, present */
	/* Sequential use (the page before is present): the rest of the
	 * window too, ahead of the next writes. Random use: the pages asked
	 * for, no more (populating neighbours nobody writes costs more than
	 * the fault it saves). */
	if (pg > 0 && prefault_has(p, pg - 1))
		last = UMFS_MAX(last, (((pg + PREFAULT_WINDOW) & ~(PREFAULT_WINDOW - 1)) - 1));
	last = UMFS_MIN(last, (pm->len >> UMFS_PAGE_SHIFT) - 1);
	/* one madvise for each run of absent pages */
	for (; pg <= last + 1; pg++) {
		bool present = pg > last || prefault_has(p, pg);

		if (!present && first == UINT64_MAX)
			first = pg;
		if (present && first != UINT64_MAX) {
			prefault_pages(pm, p, first, pg);
			first = UINT64_MAX;
		}
	}
}

bool umfs_pmem_present(struct umfs_pmem *pm, uint64_t off, uint64_t len)
{
	struct umfs_prefault *p;

	if (len == 0 || off + len > pm->len || !(p = prefault_valid(pm, false)))
		return false;
	for (uint64_t pg = off >> UMFS_PAGE_SHIFT; pg <= (off + len - 1) >> UMFS_PAGE_SHIFT; pg++)
		if (!prefault_has(p, pg))
			return false;
	return true;
}

void umfs_pmem_present_mark(struct umfs_pmem *pm, uint64_t off, uint64_t len)
{
	struct umfs_prefault *p;

	if (len == 0 || off + len > pm->len || !(p = prefault_valid(pm, true)))
		return;
	for (uint64_t pg = off >> UMFS_PAGE_SHIFT; pg <= (off + len - 1) >> UMFS_PAGE_SHIFT; pg++)
		__atomic_fetch_or(&p->bits[pg / 64], 1ull << (pg % 64), __ATOMIC_RELAXED);
}

void umfs_pmem_prefault_end(struct umfs_pmem *pm)
{
	if (pm->prefault && pm->prefault != PREFAULT_OFF)
		umfs_os_zfree(pm->prefault, prefault_size(pm->prefault->nwords));
	pm->prefault = NULL;
}

void umfs_mem_populate(void *addr, size_t len)
{
	uintptr_t from = (uintptr_t)addr & ~(uintptr_t)(UMFS_PAGE_SIZE - 1);
	uintptr_t to = ((uintptr_t)addr + len + UMFS_PAGE_SIZE - 1) & ~(uintptr_t)(UMFS_PAGE_SIZE - 1);
	int saved = errno;

	/* where it fails, the pages fault */
	OS(madvise)((void *)from, to - from, MADV_POPULATE_WRITE);
	errno = saved;
}

void umfs_mem_wipe_on_fork(void *addr, size_t len)
{
	int saved = errno;

	OS(madvise)(addr, len, MADV_WIPEONFORK); /* where it fails, forks copy it */
	errno = saved;
}
