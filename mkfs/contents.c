/* SPDX-License-Identifier: MIT */
/*
 * contents.c - whether an existing pool file holds data, and what it seems
 * to be.
 *
 * libblkid knows file systems and partition tables, not a text file, a
 * database or an archive; formatting one of those loses it as surely. So
 * a regular file is read: all of it, holes skipped, up to FULL_READ bytes;
 * beyond that its first and last MiB and SAMPLES blocks spread evenly in
 * between. Any byte that is not zero is data. A file of zeros (a fresh
 * truncate or fallocate) is no one's data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contents.h"

#define CHUNK (64u << 10)
#define FULL_READ (64ull << 20)
#define ENDS (1ull << 20)
#define SAMPLES 1024u
#define SAMPLE (4u << 10)

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Reads [off, off + len) in chunks; sets *found to the first non-zero
 * byte's offset. -errno on a read error. */
static int scan_range(int fd, uint8_t *buf, uint64_t off, uint64_t len, uint64_t *found)
{
	while (len) {
		size_t want = len < CHUNK ? (size_t)len : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (!all_zero(buf, (size_t)n)) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i]) {
					*found = off + (uint64_t)i;
					return 1;
				}
		}
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Every data extent of a file of at most FULL_READ bytes. */
static int scan_all(int fd, uint8_t *buf, uint64_t size, uint64_t *found)
{
	off_t data = 0, hole;
	int rc;

	for (;;) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			/* ENXIO: no data past here; EINVAL: no SEEK_DATA, read it all */
			return errno == ENXIO ? 0 : errno == EINVAL ? scan_range(fd, buf, 0, size, found)
								   : -errno;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = (off_t)size;
		rc = scan_range(fd, buf, (uint64_t)data, (uint64_t)(hole - data), found);
		if (rc || (uint64_t)hole >= size)
			return rc;
		data = hole;
	}
}

static int scan_sampled(int fd, uint8_t *buf, uint64_t size, uint64_t *found)
{
	uint64_t step = (size - 2 * ENDS) / SAMPLES;
	int rc;

	rc = scan_range(fd, buf, 0, ENDS, found);
	if (!rc)
		rc = scan_range(fd, buf, size - ENDS, ENDS, found);
	for (unsigned i = 0; !rc && i < SAMPLES; i++)
		rc = scan_range(fd, buf, (ENDS + i * step) & ~(uint64_t)(SAMPLE - 1), SAMPLE, found);
	return rc;
}

struct magic {
	unsigned off;
	const char *bytes;
	unsigned len;
	const char *what;
};

static const struct magic magics[] = {
	{ 0, "SQLite format 3", 16, "a SQLite database" },
	{ 257, "ustar", 5, "a tar archive" },
	{ 0, "\x7f" "ELF", 4, "an ELF program or library" },
	{ 0, "\x1f\x8b", 2, "gzip-compressed data" },
	{ 0, "\xfd" "7zXZ", 6, "xz-compressed data" },
	{ 0, "\x28\xb5\x2f\xfd", 4, "zstd-compressed data" },
	{ 0, "BZh", 3, "bzip2-compressed data" },
	{ 0, "PK\x03\x04", 4, "a zip archive" },
	{ 0, "%PDF-", 5, "a PDF document" },
};

/* Text: no NUL and no control character but tab, newline, carriage return
 * and form feed in the file's first block (bytes of 0x80 and up are let
 * through: UTF-8). */
static bool looks_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f')
			return false;
	return n > 0;
}

static void describe(int fd, uint64_t found, char *what, size_t len)
{
	uint8_t head[SAMPLE];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	if (n <= 0 || all_zero(head, (size_t)n)) {
		snprintf(what, len, "data of an unknown kind, from offset %" PRIu64, found);
		return;
	}
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const struct magic *m = &magics[i];

		if ((size_t)n >= m->off + m->len && memcmp(head + m->off, m->bytes, m->len) == 0) {
			snprintf(what, len, "%s", m->what);
			return;
		}
	}
	snprintf(what, len, "%s", looks_text(head, (size_t)n) ? "text" : "data of an unknown kind");
}

int mkfs_contents_check(int fd, uint64_t size, char *what, size_t len)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t found = 0;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = size <= FULL_READ ? scan_all(fd, buf, size, &found)
			       : scan_sampled(fd, buf, size, &found);
	free(buf);
	if (rc == 1)
		describe(fd, found, what, len);
	return rc;
}
