/* SPDX-License-Identifier: MIT */
/*
 * test_cpuflush.c - libumfs.so's CPU flush layer (core/cpuflush_isa.c)
 * against plain memcpy and memset.
 *
 * Its durable copy and fill split a range into a head up to a cache-line
 * boundary, whole lines of non-temporal stores and a tail: every length
 * from 0 to 700 at every alignment of source and destination, and large
 * runs, must give the bytes memcpy and memset give, and touch nothing
 * around the range. meson runs it once per choice the layer makes as it
 * loads (clwb, clflushopt, clflush; non-temporal stores from 256 bytes,
 * from 0, never), through libpmem's variables; an instruction the CPU
 * lacks would end the run with SIGILL. The is-pmem answer follows
 * PMEM_IS_PMEM_FORCE (CPUFLUSH_WANT_PMEM says what the run set).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpuflush.h"

#define AREA 8192
#define GUARD 0xa5

static uint8_t dst[AREA + 256] __attribute__((aligned(64)));
static uint8_t want[AREA + 256] __attribute__((aligned(64)));
static uint8_t src[AREA + 256] __attribute__((aligned(64)));

static void fill_src(unsigned seed)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

static void copy_every_length_and_alignment(void **state)
{
	(void)state;
	fill_src(1);
	for (size_t len = 0; len <= 700; len++)
		for (size_t da = 0; da < 64; da += (len < 140 ? 1 : 7))
			for (size_t sa = 0; sa < 64; sa += 13) {
				memset(dst, GUARD, sizeof(dst));
				memset(want, GUARD, sizeof(want));
				memcpy(want + 64 + da, src + sa, len);
				umfs_cpu_memcpy_nodrain(dst + 64 + da, src + sa, len);
				umfs_cpu_drain();
				assert_memory_equal(dst, want, sizeof(dst));
			}
}

static void fill_every_length_and_alignment(void **state)
{
	(void)state;
	for (size_t len = 0; len <= 700; len++)
		for (size_t da = 0; da < 64; da++) {
			int c = (int)((len + da) % 251);

			memset(dst, GUARD, sizeof(dst));
			memset(want, GUARD, sizeof(want));
			memset(want + 64 + da, c, len);
			umfs_cpu_memset_nodrain(dst + 64 + da, c, len);
			umfs_cpu_drain();
			assert_memory_equal(dst, want, sizeof(dst));
		}
}

/* Large runs: a page, a 2 MiB leaf, at odd offsets. */
static void large_runs(void **state)
{
	const size_t big = (2u << 20) + 4096;
	uint8_t *a = aligned_alloc(4096, big + 128), *b = aligned_alloc(4096, big + 128);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < big + 128; i++)
		a[i] = (uint8_t)(i * 2654435761u >> 13);
	for (size_t off = 0; off < 128; off += 37) {
		memset(b, 0, big + 128);
		umfs_cpu_memcpy_nodrain(b + off, a + 3, big);
		umfs_cpu_drain();
		assert_memory_equal(b + off, a + 3, big);
		umfs_cpu_memset_nodrain(b + off, 0x5c, big);
		umfs_cpu_drain();
		for (size_t i = 0; i < big; i += 4093)
			assert_int_equal(b[off + i], 0x5c);
		assert_int_equal(b[off + big - 1], 0x5c);
	}
	free(a);
	free(b);
}

/* A flush writes back and keeps the bytes: any range, any alignment. */
static void flush_keeps_bytes(void **state)
{
	(void)state;
	fill_src(2);
	memcpy(dst, src, sizeof(dst));
	for (size_t off = 0; off < 200; off += 3)
		for (size_t len = 0; len < 1000; len += 97)
			umfs_cpu_flush(dst + off, len);
	umfs_cpu_drain();
	assert_memory_equal(dst, src, sizeof(dst));
}

static void is_pmem_follows_force(void **state)
{
	const char *want_pmem = getenv("CPUFLUSH_WANT_PMEM");

	(void)state;
	assert_non_null(want_pmem);
	assert_int_equal(umfs_cpu_is_pmem(dst, sizeof(dst)), atoi(want_pmem));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_every_length_and_alignment),
		cmocka_unit_test(fill_every_length_and_alignment),
		cmocka_unit_test(large_runs),
		cmocka_unit_test(flush_keeps_bytes),
		cmocka_unit_test(is_pmem_follows_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
