// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c.c - CRC-32C (Castagnoli), as docs/format.md defines it: reflected
 * polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
 *
 * The table and its byte step are umfs_rules.h's, as the core's; the
 * module keeps this table instead of the kernel's crc32c() so that it loads
 * without libcrc32c and the crypto modules behind it.
 */
#include "umfs_km.h"

static u32 umfs_km_crc_table[256];

void umfs_km_crc32c_init(void)
{
	u32 i;

	for (i = 0; i < 256; i++)
		umfs_km_crc_table[i] = umfs_crc32c_table_entry(i);
}

/* Pass 0 to start; pass a previous result to continue over more bytes. */
u32 umfs_crc32c(u32 crc, const void *buf, size_t len)
{
	return ~umfs_crc32c_bytes(umfs_km_crc_table, ~crc, buf, len);
}
