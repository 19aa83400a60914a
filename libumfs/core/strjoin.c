/* SPDX-License-Identifier: MIT */
/*
 * strjoin.c - paths and names built without printf. Joining a pool builds
 * a few: the runtime directory's name, its files' paths, the names its
 * messages would use. printf's code is four pages of libc that a short
 * process touches for nothing else, a page fault each.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "umfs_frontend.h"

int umfs_str_join(char *buf, size_t size, ...)
{
	const char *s;
	size_t n = 0;
	va_list ap;
	int err = 0;

	if (size == 0)
		return -ENAMETOOLONG;
	va_start(ap, size);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t len = strlen(s);

		if (len >= size - n) {
			len = size - 1 - n;
			err = -ENAMETOOLONG;
		}
		memcpy(buf + n, s, len);
		n += len;
	}
	va_end(ap);
	buf[n] = '\0';
	return err;
}

void umfs_str_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[in[i] >> 4];
		out[2 * i + 1] = digit[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void umfs_str_hex64(char out[17], uint64_t v)
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	umfs_str_hex(out, be, sizeof(be));
}
