/* SPDX-License-Identifier: MIT */
/* cpuflush_pmem.c - cpuflush.h through libpmem: the tools and the C API. */
#include <libpmem.h>

#include "cpuflush.h"

void umfs_cpu_flush(const void *addr, size_t len)
{
	pmem_flush(addr, len);
}

void umfs_cpu_drain(void)
{
	pmem_drain();
}

void umfs_cpu_memcpy_nodrain(void *dst, const void *src, size_t len)
{
	pmem_memcpy_nodrain(dst, src, len);
}

void umfs_cpu_memset_nodrain(void *dst, int c, size_t len)
{
	pmem_memset_nodrain(dst, c, len);
}

int umfs_cpu_is_pmem(const void *addr, size_t len)
{
	return pmem_is_pmem(addr, len);
}
