/* SPDX-License-Identifier: MIT */
/*
 * multi_common.h - small helpers shared by the multi-process test programs:
 * a hash and a random generator for self-describing records, a shared
 * memory area on /dev/shm (outside UMFS) that survives SIGKILL of the
 * processes using it, starting this same binary again under the
 * LD_PRELOAD library, and whether a descriptor is on a FUSE mount.
 */
#ifndef MULTI_COMMON_H
#define MULTI_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* FNV-1a, 64 bits: any torn or mixed record changes it. */
static inline uint64_t mhash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* splitmix64 */
static inline uint64_t mrand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Bytes that depend on seed only: the checker regenerates them. */
static inline void mfill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t s = seed, v = 0;

	for (size_t i = 0; i < n; i++) {
		if ((i & 7) == 0)
			v = mrand(&s);
		b[i] = (uint8_t)(v >> ((i & 7) * 8));
	}
}

/* Whether fd is a file of a FUSE mount, where the kernel sends a file's
 * release (and with it its OFD locks and flocks) after the last close has
 * returned. */
static inline bool on_fuse(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == FUSE_SUPER_MAGIC;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Creates (len > 0) or opens (len 0) a shared area at path; exits on error. */
static inline void *shm_map(const char *path, size_t len)
{
	int fd = open(path, O_RDWR | (len ? O_CREAT | O_TRUNC : 0), 0600);
	struct stat st;
	void *p;

	if (fd < 0 || (len && ftruncate(fd, (off_t)len) < 0) || fstat(fd, &st) < 0) {
		fprintf(stderr, "shared area %s: %s\n", path, strerror(errno));
		exit(2);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
	return p;
}

/* fork + exec of this binary under the library, argv[0] replaced; the
 * child's environment names the pool and the prefix /umfs. */
static inline pid_t spawn_shim(const char *lib, const char *pool, char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		setenv("LD_PRELOAD", lib, 1);
		setenv("UMFS_POOL", pool, 1);
		setenv("UMFS_MOUNT", "/umfs", 1);
		unsetenv("UMFS_CWD");
		execv("/proc/self/exe", argv);
		perror("exec /proc/self/exe");
		_exit(127);
	}
	return pid;
}

/* waitpid with a deadline (ns, CLOCK_MONOTONIC); -1 when it passed. */
static inline int wait_until(pid_t pid, int *status, uint64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ns() > deadline)
			return -1;
		sleep_ms(5);
	}
}

/* Runs argv (one role of the test program) under the shim and waits for it
 * at most secs: 0 when it exited 0, else 1 and a message naming role. */
static inline int run_shim_role(const char *lib, const char *pool, char *const argv[],
				const char *role, unsigned secs)
{
	pid_t pid = spawn_shim(lib, pool, argv);
	int st;

	if (wait_until(pid, &st, now_ns() + (uint64_t)secs * 1000000000ull) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fprintf(stderr, "FAIL %s did not finish within %u s (wedged?), killed\n", role, secs);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "FAIL %s: %s %d\n", role, WIFEXITED(st) ? "exit" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return 1;
	}
	return 0;
}

#endif
