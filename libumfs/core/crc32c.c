/* SPDX-License-Identifier: MIT */
/* crc32c.c - CRC-32C (Castagnoli), the checksum of every on-media structure. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

#define CRC32C_POLY 0x82F63B78u /* reflected */

/* a * b modulo the polynomial, in the reflected bit order of the CRC
 * (bit 31 is x^0): combining CRCs of consecutive pieces needs it. */
static uint32_t crc32c_mulmod(uint32_t a, uint32_t b)
{
	uint32_t prod = 0;

	for (uint32_t bit = 1u << 31; bit; bit >>= 1) {
		if (a & bit)
			prod ^= b;
		b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
	}
	return prod;
}

/* x^(8 * n) modulo the polynomial: what n zero bytes do to a CRC state. */
static uint32_t crc32c_zeros_op(size_t n)
{
	uint32_t result = 1u << 31, sq = 1u << 30; /* x^0, then x^1 */

	/* x^(8n) by squaring: sq walks x^(2^k) */
	for (size_t e = n * 8; e; e >>= 1) {
		if (e & 1)
			result = crc32c_mulmod(result, sq);
		sq = crc32c_mulmod(sq, sq);
	}
	return result;
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
 * byte a strict overwrite replaces). */
#define CRC32C_LANE 1360u /* bytes per lane: a 4 KiB block in three */

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							     size_t len)
{
	static _Atomic uint32_t lane_op; /* crc32c_zeros_op(CRC32C_LANE), 0: not yet */
	uint32_t op = lane_op;

	if (len >= 3 * CRC32C_LANE && !op) {
		op = crc32c_zeros_op(CRC32C_LANE);
		lane_op = op;
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
		crc = crc32c_mulmod(op, (uint32_t)c0) ^ (uint32_t)c1;
		crc = crc32c_mulmod(op, crc) ^ (uint32_t)c2;
	}
	return crc32c_hw_lane(crc, p, len);
}

static int have_sse42(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_SSE4_2) != 0;
}

static int crc32c_hw_ok(void)
{
	static int hw = -1;

	if (hw < 0)
		hw = have_sse42();
	return hw;
}
#endif

static uint32_t crc32c_table[256];
bool umfs_crc32c_hw;

__attribute__((constructor)) static void crc32c_table_init(void)
{
#if defined(__x86_64__)
	umfs_crc32c_hw = crc32c_hw_ok();
#endif
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* Standard CRC-32C: pass 0 to start; chaining passes the previous result. */
uint32_t umfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (crc32c_hw_ok())
		return ~crc32c_hw(crc, buf, len);
#endif
	return ~crc32c_sw(crc, buf, len);
}
