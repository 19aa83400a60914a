/* SPDX-License-Identifier: MIT */
/*
 * cpuflush_isa.c - cpuflush.h with the CPU's own instructions, chosen once
 * (at the first call) as libpmem chooses them: clwb where the CPU has it
 * (writes a line back and may keep it cached), else clflushopt, else
 * clflush; sfence drains. A copy or fill of at least PMEM_MOVNT_THRESHOLD
 * bytes (256) uses non-temporal stores for the whole cache lines it
 * covers: they bypass the cache, so nothing is left to write back and the
 * drain's sfence orders them; the partial lines at either end take plain
 * stores and a flush.
 *
 * This file makes libumfs.so independent of libpmem, whose device
 * libraries cost every preloaded process about 1.7 ms to load
 * (docs/performance.md); the tools keep libpmem (cpuflush_pmem.c).
 */
#if !defined(__x86_64__)
#error "the CPU flush layer is written for x86-64"
#endif
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/platform/x86.h>

#include "cpuflush.h"

#define LINE 64u
#define MOVNT_THRESHOLD_DEFAULT 256u

enum flush_insn { FLUSH_CLFLUSH, FLUSH_CLFLUSHOPT, FLUSH_CLWB, FLUSH_UNCHOSEN };

/* Initialized, so in .data beside what the loader writes as the library
 * loads: the first call's load of it is no page fault of its own. */
static enum flush_insn flush_insn = FLUSH_UNCHOSEN; /* until the first call */
static size_t movnt_threshold = MOVNT_THRESHOLD_DEFAULT; /* SIZE_MAX: never */
static int pmem_forced;

/* A libpmem switch: set when its value is "1". */
static int env_on(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] == '1' && v[1] == '\0';
}

/* The choice, made at the first call (a pool's mapping or its first
 * flush), not as the library loads: a preloaded process that never
 * touches a pool must not pay for it. The CPU's features are the ones
 * the dynamic loader found at start-up (glibc's <sys/platform/x86.h>),
 * not asked again with cpuid, which traps to the hypervisor in a VM.
 * Threads racing here make the same choice. */
static __attribute__((noinline)) enum flush_insn cpuflush_choose(void)
{
	enum flush_insn insn = FLUSH_CLFLUSH;
	const char *t = getenv("PMEM_MOVNT_THRESHOLD");
	char *end;

	if (CPU_FEATURE_ACTIVE(CLWB) && !env_on("PMEM_NO_CLWB"))
		insn = FLUSH_CLWB;
	else if (CPU_FEATURE_ACTIVE(CLFLUSHOPT) && !env_on("PMEM_NO_CLFLUSHOPT"))
		insn = FLUSH_CLFLUSHOPT;
	if (t && *t) {
		unsigned long long v = strtoull(t, &end, 10);

		if (!*end)
			__atomic_store_n(&movnt_threshold, (size_t)v, __ATOMIC_RELAXED);
	}
	if (env_on("PMEM_NO_MOVNT"))
		__atomic_store_n(&movnt_threshold, SIZE_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&pmem_forced, env_on("PMEM_IS_PMEM_FORCE"), __ATOMIC_RELAXED);
	__atomic_store_n(&flush_insn, insn, __ATOMIC_RELEASE);
	return insn;
}

static inline enum flush_insn chosen(void)
{
	enum flush_insn insn = __atomic_load_n(&flush_insn, __ATOMIC_ACQUIRE);

	return __builtin_expect(insn != FLUSH_UNCHOSEN, 1) ? insn : cpuflush_choose();
}

__attribute__((target("clwb"))) static void flush_clwb(uintptr_t p, uintptr_t end)
{
	for (; p < end; p += LINE)
		_mm_clwb((void *)p);
}

__attribute__((target("clflushopt"))) static void flush_clflushopt(uintptr_t p, uintptr_t end)
{
	for (; p < end; p += LINE)
		_mm_clflushopt((void *)p);
}

static void flush_clflush(uintptr_t p, uintptr_t end)
{
	for (; p < end; p += LINE)
		_mm_clflush((const void *)p);
}

void umfs_cpu_flush(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(LINE - 1), end = (uintptr_t)addr + len;

	switch (chosen()) {
	case FLUSH_CLWB:
		flush_clwb(p, end);
		break;
	case FLUSH_CLFLUSHOPT:
		flush_clflushopt(p, end);
		break;
	default:
		flush_clflush(p, end);
	}
}

void umfs_cpu_drain(void)
{
	_mm_sfence();
}

/* Bytes from p to the next cache-line boundary (0 when aligned). */
static size_t to_line(const void *p)
{
	return (LINE - ((uintptr_t)p & (LINE - 1))) & (LINE - 1);
}

/* Plain stores of n bytes at d, from s or (s NULL) of byte c, flushed. */
static void plain_store(uint8_t *d, const uint8_t *s, int c, size_t n)
{
	if (s)
		memcpy(d, s, n);
	else
		memset(d, c, n);
	umfs_cpu_flush(d, n);
}

/* The durable copy of len bytes from s to d, or (s NULL) fill with c:
 * non-temporal stores for the whole lines of a long run. */
static void durable_store(uint8_t *d, const uint8_t *s, int c, size_t len)
{
	__m128i x0, x1, x2, x3;
	size_t head;

	chosen(); /* the threshold is set with the choice */
	if (len < __atomic_load_n(&movnt_threshold, __ATOMIC_RELAXED) || len < LINE) {
		plain_store(d, s, c, len);
		return;
	}
	head = to_line(d);
	plain_store(d, s, c, head);
	d += head;
	s = s ? s + head : NULL;
	len -= head;
	x0 = x1 = x2 = x3 = _mm_set1_epi8((char)c);
	for (; len >= LINE; d += LINE, len -= LINE) {
		if (s) {
			x0 = _mm_loadu_si128((const __m128i *)s);
			x1 = _mm_loadu_si128((const __m128i *)(s + 16));
			x2 = _mm_loadu_si128((const __m128i *)(s + 32));
			x3 = _mm_loadu_si128((const __m128i *)(s + 48));
			s += LINE;
		}
		_mm_stream_si128((__m128i *)d, x0);
		_mm_stream_si128((__m128i *)(d + 16), x1);
		_mm_stream_si128((__m128i *)(d + 32), x2);
		_mm_stream_si128((__m128i *)(d + 48), x3);
	}
	plain_store(d, s, c, len);
}

void umfs_cpu_memcpy_nodrain(void *dst, const void *src, size_t len)
{
	durable_store(dst, src, 0, len);
}

void umfs_cpu_memset_nodrain(void *dst, int c, size_t len)
{
	durable_store(dst, NULL, c, len);
}

int umfs_cpu_is_pmem(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	chosen();
	return __atomic_load_n(&pmem_forced, __ATOMIC_RELAXED);
}
