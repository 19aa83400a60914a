/* SPDX-License-Identifier: MIT */
/*
 * crc_ref.h - CRC-32C bit by bit (reflected polynomial 0x82F63B78): the
 * independent reference the unit tests check umfs_crc32c() and the
 * checksums built on it against. Header-only, so that tests built against
 * the kernel stand-ins can use it too.
 */
#ifndef UMFS_TEST_CRC_REF_H
#define UMFS_TEST_CRC_REF_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t crc_reference(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

#endif
