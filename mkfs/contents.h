/* SPDX-License-Identifier: MIT */
#ifndef UMFS_MKFS_CONTENTS_H
#define UMFS_MKFS_CONTENTS_H

#include <stddef.h>
#include <stdint.h>

/* Whether the regular file open at fd (size bytes) holds data: 1, with
 * what it seems to be in what ("text", "a SQLite database"...); 0 when
 * every byte read is zero; -errno when it cannot be read. */
int mkfs_contents_check(int fd, uint64_t size, char *what, size_t len);

#endif
