/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the command-line conventions every UMFS tool follows (GNU
 * style): --help on stdout with exit 0; --version with the program, the
 * package version and the pool format version it writes and reads; long
 * options beside the short ones; and every refusal as one line on stderr
 * that names what was wrong and points to --help, with the tool's own
 * documented usage exit code.
 */
#ifndef UMFS_TOOLS_CLI_H
#define UMFS_TOOLS_CLI_H

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "umfs_format.h"

#ifndef UMFS_PACKAGE_VERSION
#error "the build defines UMFS_PACKAGE_VERSION (meson.build)"
#endif

/* The two options every tool has, for its struct option table. */
#define UMFS_CLI_STD_OPTIONS \
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }

static inline void umfs_cli_version(const char *prog)
{
	printf("%s (UMFS) %s\npool format %d.%d\n", prog, UMFS_PACKAGE_VERSION,
	       UMFS_VERSION_MAJOR, UMFS_VERSION_MINOR);
}

/* A pool's UUID as its tools print it: 8-4-4-4-12 lower-case hex digits. */
static inline void umfs_cli_uuid(char buf[37], const uint8_t u[16])
{
	snprintf(buf, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

/* Human-readable size: exact binary units where possible ("64 MiB"). */
static inline const char *umfs_cli_size_fmt(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else if (bytes % (1ull << (10 * u)) == 0)
		snprintf(buf, len, "%" PRIu64 " %s", bytes >> (10 * u), units[u]);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}

/* The decimal number s starts with (no sign, no space), and its end. */
static inline int umfs_cli_number(const char *s, unsigned long long *v, char **end)
{
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno ? -errno : 0;
}

/* "123", "64K", "512M", "1G", "2T" (powers of 1024). */
static inline int umfs_cli_size_parse(const char *s, uint64_t *out)
{
	unsigned shift = 0;
	unsigned long long v;
	char *end;
	int err = umfs_cli_number(s, &v, &end);

	if (err)
		return err;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default:
		return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* One line naming the problem, then exit with the tool's usage code. */
static inline void __attribute__((noreturn, format(printf, 3, 4)))
umfs_cli_refuse(const char *prog, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	exit(code);
}

/* What getopt_long returned '?' or ':' for (the table needs opterr = 0 and
 * an optstring starting with ':' or "+:"). */
static inline void __attribute__((noreturn))
umfs_cli_bad_option(const char *prog, int code, int c, char **argv)
{
	const char *arg = argv[optind - 1]; /* as typed, for long options */

	if (c == ':')
		umfs_cli_refuse(prog, code, "option '%s' needs an argument", arg);
	if (optopt) /* a short option, perhaps inside a cluster such as -fZ */
		umfs_cli_refuse(prog, code, "unknown option '-%c'", optopt);
	umfs_cli_refuse(prog, code, "unknown option '%s'", arg);
}

#endif
