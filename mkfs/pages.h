/* SPDX-License-Identifier: MIT */
#ifndef UMFS_MKFS_PAGES_H
#define UMFS_MKFS_PAGES_H

enum mkfs_pages {
	MKFS_PAGES_SMALL, /* a tmpfs with 4 KiB pages */
	MKFS_PAGES_HUGE,  /* 2 MiB pages: tmpfs huge=always/within_size, hugetlbfs */
	MKFS_PAGES_OTHER, /* a device or another file system: not judged */
};

/* Which pages the kernel maps the pool file open at fd with. */
enum mkfs_pages mkfs_pages_of(int fd);

#endif
