/* SPDX-License-Identifier: MIT */
/* crc32c.c - CRC-32C (Castagnoli), the checksum of every on-media structure. */
#include <stddef.h>
#include <stdint.h>

#include "crc32c.h"
#include "umfs_frontend.h" /* UMFS_BSS_LARGE */
#include "umfs_tools.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/platform/x86.h>

/*
 * Carry-less multiplication folds a CRC state forward without the bitwise
 * loop of crc32c_mulmod: for a 32-bit state c, crc32(0, c * x^(n - 33))
 * (the 64-bit product fed to the crc32 instruction) is c * x^n modulo the
 * polynomial. For data, 16 bytes fold into the 16 bytes d bits further
 * on: their first 8 (as a 64-bit word) times x^(d + 31), their second 8
 * times x^(d - 33), both products added in; the CRC of the whole is
 * unchanged.
 *
 * The constants are x^n modulo the polynomial in the reflected order,
 * written out rather than computed at the first checksum (a bitwise
 * square-and-multiply per constant cost every joining process tens of
 * microseconds); the unit test layout checks each path's CRCs against the
 * bitwise reference, with and without AVX-512.
 */
struct crc32c_consts {
	uint32_t lane_shift;       /* x^(8 * CRC32C_LANE - 33) */
	uint64_t fold[3][2];       /* [i]: fold by 128 * (i + 1) bits, {first, second} */
	uint64_t wide[4][2];       /* [i]: fold by 512 * (i + 1) bits */
};
static const struct crc32c_consts crc32c_k = {
	.lane_shift = 0x3f70cc6f, /* CRC32C_LANE 1360 */
	.fold = { { 0xf20c0dfe, 0x493c7d27 }, { 0x3da6d0cb, 0xba4fc28e }, { 0x1c291d04, 0xddc0152b } },
	.wide = { { 0x740eef02, 0x9e4addf8 },
		  { 0x6992cea2, 0x0d3b6092 },
		  { 0xa87ab8a8, 0xab7aff2a },
		  { 0xdcb17aa4, 0xb9e02b86 } },
};
static bool crc32c_wide; /* 512-bit carry-less multiplication (AVX-512) */

__attribute__((target("sse4.2,pclmul"))) static uint32_t crc32c_shift(uint32_t c, uint32_t k)
{
	__m128i p = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)c), _mm_cvtsi32_si128((int)k), 0);

	return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(p));
}

/* Folds 16 bytes x over 128 * (i + 1) bits. */
__attribute__((target("sse4.2,pclmul"))) static __m128i crc32c_fold128(__m128i x, unsigned i)
{
	__m128i k = _mm_set_epi64x((long long)crc32c_k.fold[i][1], (long long)crc32c_k.fold[i][0]);

	return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* Folds the 64 bytes x over 512 * (i + 1) bits. */
__attribute__((target("avx512f,vpclmulqdq"))) static __m512i crc32c_fold512(__m512i x, unsigned i,
									    __m512i next)
{
	const __m512i k = _mm512_broadcast_i32x4(
		_mm_set_epi64x((long long)crc32c_k.wide[i][1], (long long)crc32c_k.wide[i][0]));

	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
					 _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

/* State crc over p[0, len), len a multiple of 256 and at least 256: four
 * accumulators of four 128-bit lanes fold 256 bytes per step (independent
 * chains: a carry-less multiplication takes several cycles), then into one
 * accumulator, into one lane, which the crc32 instruction finishes. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) static uint32_t
crc32c_wide_fold(uint32_t crc, const uint8_t *p, size_t len)
{
	__m512i x[4];
	__m128i f;

	for (unsigned j = 0; j < 4; j++)
		x[j] = _mm512_loadu_si512(p + 64 * j);
	x[0] = _mm512_xor_si512(x[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
	for (p += 256, len -= 256; len; p += 256, len -= 256)
		for (unsigned j = 0; j < 4; j++)
			x[j] = crc32c_fold512(x[j], 3, _mm512_loadu_si512(p + 64 * j));
	x[3] = crc32c_fold512(x[2], 0, x[3]);
	x[3] = crc32c_fold512(x[1], 1, x[3]);
	x[3] = crc32c_fold512(x[0], 2, x[3]);
	f = _mm_xor_si128(_mm512_extracti32x4_epi32(x[3], 3),
			  crc32c_fold128(_mm512_extracti32x4_epi32(x[3], 2), 0));
	f = _mm_xor_si128(f, crc32c_fold128(_mm512_extracti32x4_epi32(x[3], 1), 1));
	f = _mm_xor_si128(f, crc32c_fold128(_mm512_extracti32x4_epi32(x[3], 0), 2));
	crc = (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(f));
	return (uint32_t)_mm_crc32_u64(crc, (uint64_t)_mm_extract_epi64(f, 1));
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw_lane(uint32_t crc, const uint8_t *p,
								  size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;
		__builtin_memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	crc = (uint32_t)c;
	for (; len; len--, p++)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}

/* The crc32 instruction has a latency of three cycles and a throughput of
 * one: three independent lanes over thirds of a block, then combined, go
 * about three times as fast as one chain (a U-Log record checksums every
 * byte a strict overwrite replaces). Where AVX-512 has carry-less
 * multiplication, folding 64 bytes per step is faster still. */
#define CRC32C_LANE 1360u /* bytes per lane: a 4 KiB block in three */
#define CRC32C_WIDE_MIN 256u

__attribute__((target("sse4.2,pclmul"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
								    size_t len)
{
	if (crc32c_wide && len >= CRC32C_WIDE_MIN) {
		crc = crc32c_wide_fold(crc, p, len & ~(size_t)255);
		p += len & ~(size_t)255;
		len &= 255;
	}
	for (; len >= 3 * CRC32C_LANE; len -= 3 * CRC32C_LANE, p += 3 * CRC32C_LANE) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;

		for (size_t i = 0; i < CRC32C_LANE; i += 8) {
			uint64_t v0, v1, v2;

			__builtin_memcpy(&v0, p + i, 8);
			__builtin_memcpy(&v1, p + CRC32C_LANE + i, 8);
			__builtin_memcpy(&v2, p + 2 * CRC32C_LANE + i, 8);
			c0 = _mm_crc32_u64(c0, v0);
			c1 = _mm_crc32_u64(c1, v1);
			c2 = _mm_crc32_u64(c2, v2);
		}
		/* state after A|B|C = shift(shift(A) ^ B) ^ C */
		crc = crc32c_shift((uint32_t)c0, crc32c_k.lane_shift) ^ (uint32_t)c1;
		crc = crc32c_shift(crc, crc32c_k.lane_shift) ^ (uint32_t)c2;
	}
	return crc32c_hw_lane(crc, p, len);
}

/* The CPU's features as the dynamic loader found them at start-up
 * (glibc's <sys/platform/x86.h>): "active" also means the OS saves the
 * registers they use, and glibc.cpu.hwcaps tunables can switch them off.
 * No cpuid here: it traps to the hypervisor in a VM. */
static int have_sse42(void)
{
	return CPU_FEATURE_ACTIVE(SSE4_2) && CPU_FEATURE_ACTIVE(PCLMULQDQ);
}

static int have_avx512_clmul(void)
{
	return CPU_FEATURE_ACTIVE(AVX512F) && CPU_FEATURE_ACTIVE(VPCLMULQDQ);
}
#endif

/* filled only where the CPU lacks the crc32 instruction: apart from the
 * small variables every process touches */
UMFS_BSS_LARGE static uint32_t crc32c_table[256];

/* 0 until the first checksum; then 1 (software, with crc32c_table filled)
 * or 2 (the crc32 instruction). Settled at first use, not as the library
 * loads: a preloaded process that never touches a pool must not pay. */
static int crc32c_state;

static __attribute__((noinline)) int crc32c_setup(void)
{
	int hw = 0;

#if defined(__x86_64__)
	hw = have_sse42();
	crc32c_wide = hw && have_avx512_clmul();
#endif
	if (!hw) /* only the software path reads the table */
		for (uint32_t i = 0; i < 256; i++)
			crc32c_table[i] = umfs_crc32c_table_entry(i); /* umfs_rules.h */
	/* threads racing here compute the same values; the release makes
	 * them visible before the state says they are there */
	__atomic_store_n(&crc32c_state, hw ? 2 : 1, __ATOMIC_RELEASE);
	return hw ? 2 : 1;
}

static inline int crc32c_ready(void)
{
	int s = __atomic_load_n(&crc32c_state, __ATOMIC_ACQUIRE);

	return UMFS_LIKELY(s) ? s : crc32c_setup();
}

bool umfs_crc32c_hw(void)
{
	return crc32c_ready() == 2;
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	return umfs_crc32c_bytes(crc32c_table, crc, p, len);
}

/* Standard CRC-32C: pass 0 to start; chaining passes the previous result. */
uint32_t umfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (crc32c_ready() == 2)
		return ~crc32c_hw(crc, buf, len);
#else
	crc32c_ready();
#endif
	return ~crc32c_sw(crc, buf, len);
}
