// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c.c - CRC-32C (Castagnoli), as docs/format.md defines it: reflected
 * polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
 *
 * The module keeps its own table instead of the kernel's crc32c() so that it
 * loads without libcrc32c and the crypto modules behind it.
 */
#include "umfs_km.h"

static u32 umfs_km_crc_table[256];

void umfs_km_crc32c_init(void)
{
	u32 i, c;
	int k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		umfs_km_crc_table[i] = c;
	}
}

/* Pass 0 to start; pass a previous result to continue over more bytes. */
u32 umfs_crc32c(u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;

	crc = ~crc;
	while (len--)
		crc = umfs_km_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
