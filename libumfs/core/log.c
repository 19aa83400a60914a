/* SPDX-License-Identifier: MIT */
/*
 * log.c - what the core has to say that no return value carries: a damaged
 * structure met while serving, a lock taken over from a dead process, a
 * wait on a live one. Front ends route it to their own log (umfs_log_set);
 * by default errors and warnings go to stderr. errno is preserved.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "os.h"
#include "umfs_frontend.h"
#include "umfs_tools.h"

static void log_stderr(int level, const char *msg)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "umfs[%d]: %s%s\n", (int)OS(getpid)(),
			 level == UMFS_LOG_ERROR ? "error: " :
			 level == UMFS_LOG_WARN ? "warning: " : "", msg);

	if (n > 0 && OS(write)(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		return; /* nowhere else to say it */
}

static umfs_log_fn *_Atomic log_fn = log_stderr;
static _Atomic int log_max = UMFS_LOG_WARN;

int umfs_log_level_parse(const char *s)
{
	static const char *const names[] = { "none", "error", "warn", "info", "debug", "trace" };

	if (!s || !*s)
		return UMFS_LOG_WARN;
	for (int i = 0; i < (int)UMFS_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return UMFS_LOG_WARN;
	if (strcmp(s, "0") == 0)
		return UMFS_LOG_NONE;
	if (strcmp(s, "1") == 0)
		return UMFS_LOG_DEBUG;
	return -EINVAL;
}

void umfs_log_set(umfs_log_fn *fn, int max_level)
{
	log_fn = fn ? fn : log_stderr;
	log_max = max_level;
}

void umfs_log(int level, const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg);
	errno = saved;
}
