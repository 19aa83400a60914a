/* SPDX-License-Identifier: MIT */
/*
 * log.c - UMFS_LOG=error|warn|info|debug|trace (default warn). debug logs
 * every call UMFS serves, with its result, and every path call passed
 * through to the kernel; trace adds every descriptor call passed through.
 * Lines go to stderr, or to UMFS_LOG_FILE (appended). errno is preserved.
 */
#include <string.h>
#include <unistd.h>

#include "shim.h"

static int log_fd = 2;
static int log_copy_of = 2; /* the descriptor log_fd copies, or -1 (a file) */

/* The core's messages (a damaged inode, a lock taken over), as the
 * library's own. */
static void log_core(int level, const char *msg)
{
	SHIM_LOG(level, "%s", msg);
}

/* UMFS_LOG_FILE, or -errno with ep->why. */
static int log_file_open(struct envpath *ep)
{
	int fd = envpath_output(cfg.log_file, ep);

	envpath_done(ep);
	if (fd < 0)
		return fd;
	fd = shim_fd_move_high(fd);
	log_fd = fd;
	log_copy_of = ep->copy_of;
	uinfo_mark_internal(fd);
	return 0;
}

/* Where logs and statistics go: UMFS_LOG_FILE, or a copy of stderr made
 * at start (programs such as coreutils close stderr before they exit). A
 * log file that cannot be used (another user's, a FIFO nobody reads...)
 * is said on stderr, and the log then holds what it holds by default:
 * warnings and errors, on stderr. */
void log_init(void)
{
	struct envpath ep;
	int err = 0, fd;

	if (cfg.log_to_file && cfg.log_level != LOG_NONE) {
		err = log_file_open(&ep);
		if (!err)
			goto out;
		if (cfg.log_level > LOG_WARN)
			cfg.log_level = LOG_WARN;
	}
	if (!cfg.stats && cfg.log_level < LOG_INFO)
		goto out;
	fd = shim_fd_dup_high(2);
	if (fd >= 0) {
		log_fd = fd;
		uinfo_mark_internal(fd);
	}
out:
	umfs_log_set(log_core, cfg.log_level);
	if (err)
		SHIM_LOG(LOG_WARN, "UMFS_LOG_FILE=%s: %s; logging only warnings and errors, to "
			 "stderr", cfg.log_file, ep.why[0] ? ep.why : strerror(-err));
}

int log_sink(void)
{
	return log_fd;
}

/* Once inherited descriptors are adopted: a stderr on a UMFS file makes
 * the copy a UMFS descriptor too. */
void log_adopted(void)
{
	struct ofd *o;

	if (log_copy_of < 0 || log_fd == log_copy_of || !uinfo_is_internal(log_fd))
		return;
	o = fd_get_fast(log_copy_of);
	if (o) {
		uinfo_unmark_internal(log_fd);
		if (!uinfo_set(log_fd, o))
			uinfo_mark_internal(log_fd);
	}
}

void log_write(const char *buf, size_t len)
{
	if (uinfo_is_internal(log_fd) || uinfo_peek(log_fd) == NULL)
		sys_write_full(log_fd, buf, len, -1);
	else
		shim_write(log_fd, buf, len);
}

static void log_vwrite(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	char buf[1024];
	size_t len;
	int n;

	n = snprintf(buf, sizeof(buf), "umfs[%d]: %s", (int)getpid(), prefix);
	len = n > 0 ? (size_t)n : 0;
	if (len < sizeof(buf)) {
		n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (len >= sizeof(buf) - 64)
		len = sizeof(buf) - 64;
	n = snprintf(buf + len, sizeof(buf) - len, "%s\n", suffix);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(buf))
		len = sizeof(buf);
	log_write(buf, len);
}

void shim_logf(int level, const char *fmt, ...)
{
	static const char *const names[] = { "", "error: ", "warning: ", "", "", "" };
	int saved = errno;
	va_list ap;

	shim_depth++;
	va_start(ap, fmt);
	log_vwrite(names[level], fmt, ap, "");
	va_end(ap);
	shim_depth--;
	errno = saved;
}

void shim_trace(enum shim_call c, bool served, long r, uint64_t t0, const char *fmt, ...)
{
	char suffix[96], prefix[64];
	int saved = errno;
	va_list ap;

	if (shim_depth > 0) {
		errno = saved;
		return;
	}
	if (served)
		stats_served(c, t0, r);
	else
		stats_pass(c);
	if (cfg.log_level < (served ? LOG_DEBUG : LOG_TRACE) &&
	    !(cfg.log_level >= LOG_DEBUG && !served && fmt[0] == '"'))
		goto out;
	shim_depth++;
	snprintf(prefix, sizeof(prefix), "%s(", shim_call_name(c));
	if (!served)
		snprintf(suffix, sizeof(suffix), ") -> kernel");
	else if (r < 0)
		snprintf(suffix, sizeof(suffix), ") = -1 %s", strerror((int)-r));
	else
		snprintf(suffix, sizeof(suffix), ") = %ld", r);
	va_start(ap, fmt);
	log_vwrite(prefix, fmt, ap, suffix);
	va_end(ap);
	shim_depth--;
out:
	errno = saved;
}
