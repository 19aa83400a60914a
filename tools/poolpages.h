/* SPDX-License-Identifier: MIT */
#ifndef UMFS_UMFS_PAGES_H
#define UMFS_UMFS_PAGES_H

enum umfs_pages {
	UMFS_PAGES_SMALL, /* a tmpfs with 4 KiB pages */
	UMFS_PAGES_HUGE,  /* 2 MiB pages: tmpfs huge=always/within_size, hugetlbfs */
	UMFS_PAGES_OTHER, /* a device or another file system: not judged */
};

/* Which pages the kernel maps the pool file open at fd with. */
enum umfs_pages umfs_pages_of(int fd);

#endif
