/* SPDX-License-Identifier: MIT */
/* crc32c.c - CRC-32C (Castagnoli), the checksum of every on-media structure. */
#include <stdint.h>
#include <stddef.h>

#include "core.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
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

static int have_sse42(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_SSE4_2) != 0;
}
#endif

static uint32_t crc32c_table[256];

__attribute__((constructor)) static void crc32c_table_init(void)
{
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
	static int hw = -1;

	crc = ~crc;
#if defined(__x86_64__)
	if (hw < 0)
		hw = have_sse42();
	if (hw)
		return ~crc32c_hw(crc, buf, len);
#endif
	return ~crc32c_sw(crc, buf, len);
}
