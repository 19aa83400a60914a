/* SPDX-License-Identifier: MIT */
/* kstub_bridge.h - the user-space test's door into the module's code
 * compiled with kstub.h (kstub_pool.c): plain types only, as the two sides
 * see the kernel's types differently. */
#ifndef UMFS_KSTUB_BRIDGE_H
#define UMFS_KSTUB_BRIDGE_H

#include <stdint.h>

struct umfs_superblock;
struct umfs_inode;

/* umfs_km_tx_recover() on the module's slot (the last) of the pool image at
 * base, set up from sb as the module's MOUNT sets it up. */
int kstub_tx_recover(void *base, const struct umfs_superblock *sb, uint64_t *restored);
/* The module's inode checksum and CRC-32C, as the module computes them. */
uint32_t kstub_inode_csum(const struct umfs_inode *in);
uint32_t kstub_crc32c(uint32_t crc, const void *buf, uint64_t len);

#endif /* UMFS_KSTUB_BRIDGE_H */
