/* SPDX-License-Identifier: MIT */
/*
 * twins64.c - the rule that makes the 64-bit twins (twins64.list) aliases
 * of the plain functions: on this target every *64 type has its plain
 * type's layout and O_LARGEFILE is 0, so open64 is open, stat64 is stat.
 */
#include <glob.h>

#include "shim.h"

_Static_assert(sizeof(off_t) == sizeof(off64_t), "off_t is 64-bit");
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "one struct stat");
_Static_assert(sizeof(struct statfs) == sizeof(struct statfs64), "one struct statfs");
_Static_assert(sizeof(struct statvfs) == sizeof(struct statvfs64), "one struct statvfs");
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64) &&
		       offsetof(struct dirent, d_name) == offsetof(struct dirent64, d_name),
	       "one struct dirent");
_Static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64), "one struct rlimit");
_Static_assert(sizeof(glob_t) == sizeof(glob64_t), "one glob_t");
_Static_assert(sizeof(struct aiocb) == sizeof(struct aiocb64) &&
		       offsetof(struct aiocb, aio_offset) == offsetof(struct aiocb64, aio_offset),
	       "one struct aiocb");
_Static_assert(O_LARGEFILE == 0, "64-bit opens need no flag");
