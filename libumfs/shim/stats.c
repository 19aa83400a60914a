/* SPDX-License-Identifier: MIT */
/*
 * stats.c - UMFS_STATS=1: per intercepted call, how many calls UMFS served
 * and how many passed through to the kernel, the bytes UMFS moved, and a
 * latency histogram of the served calls, printed when the process exits
 * (to the log, or UMFS_STATS_FILE, appended: envpath.c opens it).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define BUCKETS 8 /* <1us <4us <16us <64us <256us <1ms <4ms >=4ms */

struct call_stats {
	_Atomic uint64_t served, passed, failed, bytes;
	_Atomic uint64_t hist[BUCKETS];
};

UMFS_BSS_LARGE static struct call_stats stats[SC__COUNT];
bool shim_observe;
__thread int shim_depth;

static const char *const call_names[] = {
#define SHIM_CALL(name) #name,
#include "calls.def"
#undef SHIM_CALL
};

const char *shim_call_name(enum shim_call c)
{
	return (unsigned)c < SC__COUNT ? call_names[c] : "?";
}

uint64_t stats_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void stats_init(void)
{
	shim_observe = cfg.stats || cfg.log_level >= LOG_DEBUG;
}

void stats_pass(enum shim_call c)
{
	if (cfg.stats && shim_depth == 0)
		atomic_fetch_add_explicit(&stats[c].passed, 1, memory_order_relaxed);
}

void stats_served(enum shim_call c, uint64_t t0, long r)
{
	uint64_t ns;
	int b = 0;

	if (!cfg.stats)
		return;
	atomic_fetch_add_explicit(&stats[c].served, 1, memory_order_relaxed);
	if (r < 0)
		atomic_fetch_add_explicit(&stats[c].failed, 1, memory_order_relaxed);
	else if (c == SC_read || c == SC_write || c == SC_pread || c == SC_pwrite ||
		 c == SC_readv || c == SC_writev || c == SC_preadv || c == SC_pwritev ||
		 c == SC_copy_file_range || c == SC_sendfile || c == SC_splice)
		atomic_fetch_add_explicit(&stats[c].bytes, (uint64_t)r, memory_order_relaxed);
	if (t0) {
		ns = stats_now() - t0;
		for (uint64_t lim = 1000; b < BUCKETS - 1 && ns >= lim; lim *= 4)
			b++;
		atomic_fetch_add_explicit(&stats[c].hist[b], 1, memory_order_relaxed);
	}
}

/* Where the report goes: UMFS_STATS_FILE, or the log. A statistics file
 * that cannot be used is said in the log, and no report is written; -1. */
static int report_fd(bool *close_it)
{
	const char *f = getenv("UMFS_STATS_FILE");
	struct envpath ep;
	int fd;

	*close_it = false;
	if (!f || !*f)
		return log_sink();
	fd = envpath_output(f, &ep);
	envpath_done(&ep);
	if (fd < 0) {
		SHIM_LOG(LOG_WARN, "UMFS_STATS_FILE=%s: %s; no statistics written", f,
			 ep.why[0] ? ep.why : strerror(-fd));
		return -1;
	}
	*close_it = true;
	return fd;
}

static void put(int fd, char *buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(int fd, char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, 8192 - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < 8192 - *len ? (size_t)n : 8192 - *len - 1;
	if (*len > 6000) {
		if (fd == log_sink())
			log_write(buf, *len);
		else
			sys_write_full(fd, buf, *len, -1);
		*len = 0;
	}
}

/* Apart from stats_report, which every process runs at exit: this frame
 * of 8.5 KiB reaches a stack page the process may never have touched, a
 * page fault to set it up even when nothing is reported. */
static __attribute__((noinline)) void stats_write(void)
{
	char buf[8192], prog[256] = "?";
	uint64_t tot_s = 0, tot_p = 0, tot_b = 0, hist[BUCKETS] = { 0 };
	size_t len = 0;
	bool close_it;
	int saved = errno, fd;
	ssize_t n;

	n = SYS(readlink)("/proc/self/exe", prog, sizeof(prog) - 1);
	prog[n > 0 ? n : 1] = '\0';
	fd = report_fd(&close_it);
	if (fd < 0) {
		errno = saved;
		return;
	}
	shim_depth++;
	put(fd, buf, &len, "umfs stats: pid %d %s\n", (int)getpid(), prog);
	put(fd, buf, &len, "  %-16s %10s %10s %8s %14s   %s\n", "call", "served", "passed", "failed",
	    "bytes", "latency of timed calls: <1us <4us <16us <64us <256us <1ms <4ms >=4ms");
	for (int c = 0; c < SC__COUNT; c++) {
		struct call_stats *s = &stats[c];
		uint64_t sv = s->served, ps = s->passed;

		if (!sv && !ps)
			continue;
		tot_s += sv;
		tot_p += ps;
		tot_b += s->bytes;
		put(fd, buf, &len, "  %-16s %10llu %10llu %8llu %14llu  ", call_names[c],
		    (unsigned long long)sv, (unsigned long long)ps, (unsigned long long)s->failed,
		    (unsigned long long)s->bytes);
		for (int b = 0; b < BUCKETS; b++) {
			hist[b] += s->hist[b];
			put(fd, buf, &len, " %llu", (unsigned long long)s->hist[b]);
		}
		put(fd, buf, &len, "\n");
	}
	put(fd, buf, &len, "  %-16s %10llu %10llu %8s %14llu  ", "total", (unsigned long long)tot_s,
	    (unsigned long long)tot_p, "", (unsigned long long)tot_b);
	for (int b = 0; b < BUCKETS; b++)
		put(fd, buf, &len, " %llu", (unsigned long long)hist[b]);
	put(fd, buf, &len, "\n");
	if (fd == log_sink())
		log_write(buf, len);
	else
		sys_write_full(fd, buf, len, -1);
	if (close_it)
		sys_close_quiet(fd);
	shim_depth--;
	errno = saved;
}

void stats_report(void)
{
	if (cfg.stats && shim_depth == 0)
		stats_write();
}
