// SPDX-License-Identifier: GPL-2.0
/* counters.c - the module's counters, read by STATS: the proof of no leak. */
#include "umfs_km.h"

struct umfs_km_counters umfs_km_cnt;

void umfs_km_stats_fill(struct umfs_kmod_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->abi_version = UMFS_KMOD_ABI_VERSION;
	st->mounted = READ_ONCE(umfs_km_pool) != NULL;
	st->live = atomic64_read(&umfs_km_cnt.live);
	st->spliced = atomic64_read(&umfs_km_cnt.spliced);
	st->attaches = atomic64_read(&umfs_km_cnt.attaches);
	st->detaches = atomic64_read(&umfs_km_cnt.detaches);
	st->unsplices = atomic64_read(&umfs_km_cnt.unsplices);
	st->revokes = atomic64_read(&umfs_km_cnt.revokes);
	st->promoted = atomic64_read(&umfs_km_cnt.promoted);
	st->tlb_flushes = atomic64_read(&umfs_km_cnt.tlb_flushes);
	st->pud_pages = atomic64_read(&umfs_km_cnt.pud_pages);
	st->poolmaps = atomic64_read(&umfs_km_cnt.poolmaps);
	st->extends = atomic64_read(&umfs_km_cnt.extends);
	st->extend_pages = atomic64_read(&umfs_km_cnt.extend_pages);
	st->setattrs = atomic64_read(&umfs_km_cnt.setattrs);
	st->frees = atomic64_read(&umfs_km_cnt.frees);
	st->freed_pages = atomic64_read(&umfs_km_cnt.freed_pages);
	st->exchanges = atomic64_read(&umfs_km_cnt.exchanges);
	st->exchange_pages = atomic64_read(&umfs_km_cnt.exchange_pages);
	st->exchange_tables = atomic64_read(&umfs_km_cnt.exchange_tables);
	st->creates = atomic64_read(&umfs_km_cnt.creates);
	st->releases = atomic64_read(&umfs_km_cnt.releases);
	st->ulog_pages = atomic64_read(&umfs_km_cnt.ulog_pages);
}
