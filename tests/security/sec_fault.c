/* SPDX-License-Identifier: MIT */
/*
 * sec_fault.c - a program that writes and reads a UMFS file in a loop while
 * another process damages the pool under it (truncate.sh): it must see an
 * error (EIO), never a signal, and go on running.
 *
 *   sec_fault FILE LOCAL READY [SECONDS]        plain C library calls: under
 *                                               umfs-run, or on a umfs-fuse mount
 *   sec_fault_api POOL LOCAL READY [SECONDS [mce|own]]
 *                                               the C API (umfs_mount, SHARED),
 *                                               the file /fault1 in POOL
 *
 * Makes the file (8 MiB), creates READY, then loops: a 64 KiB pwrite, a
 * pread of it back (compared), fsync and fstat, over the file, until a call
 * fails or SECONDS (30) pass. On the first failure it prints
 *   errno=NAME
 * then calls on the same mount once more (open and fstat) and prints
 *   again=NAME
 * then writes, reads back and removes LOCAL (a file outside UMFS) and
 * prints local=ok, and exits 0 if both errors were EIO. Exit 1: another
 * error or a local failure; 2: no error in time; 3: bytes read back that
 * were not the ones written.
 *
 * mce: once READY is made, the program sends itself the SIGBUS the kernel
 * sends for a poisoned page of persistent memory (BUS_MCEERR_AR) at an
 * address of its mapping of POOL (from /proc/self/maps), as a machine
 * check on that page would, instead of waiting for another process.
 * own: the program sets a SIGBUS handler of its own before mounting, and
 * after mounting faults on a file of its own (mapped, then truncated): its
 * handler must see that fault (printed own=handled), as the library's
 * handler passes on every SIGBUS not on a pool's memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef SEC_FAULT_API
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "umfs.h"
#endif

#define CHUNK (64u << 10)
#define FILE_SIZE (8u << 20)

static unsigned char wbuf[CHUNK], rbuf[CHUNK];

#ifdef SEC_FAULT_API
static struct umfs_fs *fs;
static struct umfs_file *file;

static int f_open(const char *path)
{
	int r = umfs_mount(path, UMFS_MOUNT_SHARED, &fs);

	if (r == 0)
		r = umfs_open(fs, "/fault1", O_RDWR | O_CREAT, 0600, &file);
	return r < 0 ? -r : 0;
}

static int f_pwrite(const void *b, size_t n, off_t off)
{
	ssize_t r = umfs_pwrite(file, b, n, off);

	return r < 0 ? (int)-r : r == (ssize_t)n ? 0 : EIO;
}

static int f_pread(void *b, size_t n, off_t off)
{
	ssize_t r = umfs_pread(file, b, n, off);

	return r < 0 ? (int)-r : r == (ssize_t)n ? 0 : EIO;
}

static int f_sync_stat(void)
{
	struct stat st;
	int r = umfs_fsync(file, 0);

	if (r == 0)
		r = umfs_fstat(file, &st);
	return -r;
}

/* Another call on the mount after the failure. */
static int f_again(void)
{
	struct umfs_file *g;
	struct stat st;
	int r = umfs_open(fs, "/fault1", O_RDONLY, 0, &g);

	if (r == 0) {
		r = umfs_fstat(g, &st);
		umfs_close(g);
	}
	return -r;
}

static void f_end(void)
{
	umfs_close(file);
	umfs_unmount(fs);
}

/* An address 1 MiB into this process's mapping of pool, or 0. */
static uintptr_t pool_address(const char *pool)
{
	char line[4096], real[PATH_MAX];
	FILE *maps = fopen("/proc/self/maps", "r");
	uintptr_t start = 0, end, found = 0;

	if (!maps || !realpath(pool, real))
		return 0;
	while (!found && fgets(line, sizeof(line), maps)) {
		char *path = strchr(line, '/');

		if (path && strncmp(path, real, strlen(real)) == 0 &&
		    path[strlen(real)] == '\n' &&
		    sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &start, &end) == 2 &&
		    end - start > (2u << 20))
			found = start + (1u << 20);
	}
	fclose(maps);
	return found;
}

static volatile sig_atomic_t own_seen;
static char *own_page;

/* The program's own handler: its page gets memory again. */
static void own_bus(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (sig == SIGBUS && si->si_code == BUS_ADRERR && (char *)si->si_addr == own_page) {
		own_seen = 1;
		mmap(own_page, 4096, PROT_READ | PROT_WRITE,
		     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
}

static void own_handler_set(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = own_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
}

/* A page of a file of the program's own, truncated under its mapping and
 * touched: 0 when its own handler saw the fault. */
static int own_fault(const char *local)
{
	int fd = open(local, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return -1;
	own_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (own_page == MAP_FAILED || ftruncate(fd, 0) < 0)
		return -1;
	close(fd);
	own_page[0] = 1; /* SIGBUS: past the end of the file */
	unlink(local);
	return own_seen ? 0 : -1;
}

/* The SIGBUS of a machine check on the page at a, to this thread. */
static int poison(const char *pool)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_MCEERR_AR;
	si.si_addr = (void *)pool_address(pool);
	if (!si.si_addr)
		return -1;
	return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGBUS, &si);
}
#else
static int fd = -1;
static const char *fpath;

static int f_open(const char *path)
{
	fpath = path;
	fd = open(path, O_RDWR | O_CREAT, 0600);
	return fd < 0 ? errno : 0;
}

static int f_pwrite(const void *b, size_t n, off_t off)
{
	ssize_t r = pwrite(fd, b, n, off);

	return r < 0 ? errno : r == (ssize_t)n ? 0 : EIO;
}

static int f_pread(void *b, size_t n, off_t off)
{
	ssize_t r = pread(fd, b, n, off);

	return r < 0 ? errno : r == (ssize_t)n ? 0 : EIO;
}

static int f_sync_stat(void)
{
	struct stat st;

	if (fsync(fd) < 0 || fstat(fd, &st) < 0)
		return errno;
	return 0;
}

static int f_again(void)
{
	struct stat st;
	int g = open(fpath, O_RDONLY), err = 0;

	if (g < 0)
		return errno;
	if (fstat(g, &st) < 0)
		err = errno;
	close(g);
	return err;
}

static void f_end(void)
{
	close(fd);
}
#endif

static const char *err_name(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "?";
}

static int local_check(const char *path)
{
	static const char text[] = "outside UMFS\n";
	char back[sizeof(text)];
	int g = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int ok = g >= 0 && write(g, text, sizeof(text)) == (ssize_t)sizeof(text) &&
		 pread(g, back, sizeof(back), 0) == (ssize_t)sizeof(back) &&
		 memcmp(back, text, sizeof(text)) == 0;

	if (g >= 0)
		close(g);
	unlink(path);
	return ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loops until a call fails; the errno, or 0 when time ran out (-1: a
 * mismatch). */
static int run(double seconds)
{
	double end = now_s() + seconds;

	for (unsigned i = 0; now_s() < end; i++) {
		off_t off = (off_t)((i * 7u) % (FILE_SIZE / CHUNK)) * CHUNK;
		int e;

		memset(wbuf, (int)(i & 0xff) | 1, sizeof(wbuf));
		e = f_pwrite(wbuf, sizeof(wbuf), off);
		if (!e)
			e = f_pread(rbuf, sizeof(rbuf), off);
		if (!e && memcmp(rbuf, wbuf, sizeof(rbuf)) != 0)
			return -1;
		if (!e)
			e = f_sync_stat();
		if (e)
			return e;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 4 ? atof(argv[4]) : 30;
	int e, again, ready;

	if (argc < 4) {
		fprintf(stderr, "usage: %s FILE|POOL LOCAL READY [SECONDS]\n", argv[0]);
		return 1;
	}
#ifdef SEC_FAULT_API
	if (argc > 5 && strcmp(argv[5], "own") == 0)
		own_handler_set();
#endif
	e = f_open(argv[1]);
	for (off_t off = 0; !e && off < FILE_SIZE; off += CHUNK)
		e = f_pwrite(wbuf, sizeof(wbuf), off);
	if (e) {
		printf("setup: %s\n", err_name(e));
		return 1;
	}
	ready = open(argv[3], O_WRONLY | O_CREAT, 0600);
	if (ready >= 0)
		close(ready);
#ifdef SEC_FAULT_API
	if (argc > 5 && strcmp(argv[5], "mce") == 0 && poison(argv[1]) != 0) {
		printf("mce: no mapping of %s to poison\n", argv[1]);
		return 1;
	}
	if (argc > 5 && strcmp(argv[5], "own") == 0) {
		if (own_fault(argv[2]) != 0) {
			printf("own=missed\n");
			return 1;
		}
		printf("own=handled\n");
	}
#endif
	e = run(seconds);
	if (e == -1) {
		printf("mismatch\n");
		return 3;
	}
	if (e == 0) {
		printf("no error\n");
		return 2;
	}
	printf("errno=%s\n", err_name(e));
	again = f_again();
	printf("again=%s\n", again ? err_name(again) : "none");
	if (!local_check(argv[2])) {
		printf("local=failed\n");
		return 1;
	}
	printf("local=ok\n");
	fflush(stdout);
	f_end();
	return e == EIO && again == EIO ? 0 : 1;
}
