/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h - checksums (crc32c.c).
 */
#ifndef UMFS_CORE_CRC32C_H
#define UMFS_CORE_CRC32C_H

#include <stdbool.h>

/* umfs_crc32c() is declared by umfs_rules.h. Whether the CPU has the
 * crc32 instruction (SSE4.2), asked once, at the first checksum. */
bool umfs_crc32c_hw(void);

#endif /* UMFS_CORE_CRC32C_H */
