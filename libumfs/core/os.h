/* SPDX-License-Identifier: MIT */
/*
 * os.h - the core's table of kernel and C-library calls (os.c).
 *
 * Rule: the core calls the kernel only through OS(fn). In libumfs.so the
 * core shares the library with the shim's interposers and is linked with
 * -Bsymbolic-functions, so a direct open() or close() would bind to the
 * shim's own open() and close(). libumfs/check-os-calls.sh fails the
 * build when a core object names one of these functions, or anything
 * libumfs.so intercepts, directly.
 *
 * OS_CALLS lists each entry as one of two kinds. K(name): a system call
 * and nothing more, made by os_kernel.c as the kernel's own (through the
 * C library's syscall(), which is no cancellation point): a thread that
 * pthread_cancel() reaches inside the library does not unwind from the
 * middle of a mount or a lock, and no symbol is searched for it. X(name,
 * symbol): a C-library function that does more than one system call (the
 * vDSO's clock, directory streams, signal handlers with their restorer,
 * posix_fallocate's fallback), resolved with dlsym(RTLD_NEXT) at its first
 * call; symbol is the one the headers bind name to (with
 * _FILE_OFFSET_BITS=64, posix_fallocate is posix_fallocate64). In both,
 * name is the function as the headers declare it: its type is the entry's.
 *
 * The shim makes its calls on the library's own files through this table
 * too. It is built without _FILE_OFFSET_BITS, where each entry's type has
 * the layout it has here (LP64: shim/twins64.c asserts it).
 */
#ifndef UMFS_OS_H
#define UMFS_OS_H

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* In the C library, without a header of its own. */
extern int capget(cap_user_header_t header, cap_user_data_t data);

#define OS_IGNORE(...)
#ifdef __USE_FILE_OFFSET64
#define OS_LFS(plain, lfs) #lfs
#else
#define OS_LFS(plain, lfs) #plain
#endif

#define OS_CALLS(X, K)                                       \
	/* descriptors and files */                          \
	K(open)                                              \
	K(openat)                                            \
	K(close)                                             \
	K(dup3)                                              \
	K(fcntl)                                             \
	K(flock)                                             \
	K(ioctl)                                             \
	K(read)                                              \
	K(write)                                             \
	K(pread)                                             \
	K(pwrite)                                            \
	K(ftruncate)                                         \
	X(posix_fallocate, OS_LFS(posix_fallocate, posix_fallocate64)) \
	K(fsync)                                             \
	K(stat)                                              \
	K(fstat)                                             \
	K(fstatat)                                           \
	K(fstatfs)                                           \
	K(statx)                                             \
	K(access)                                            \
	K(fchmod)                                            \
	K(fchown)                                            \
	K(readlink)                                          \
	/* names */                                          \
	K(mkdir)                                             \
	K(mkdirat)                                           \
	K(mkfifoat)                                          \
	K(rmdir)                                             \
	K(unlinkat)                                          \
	/* directories */                                    \
	X(fdopendir, "fdopendir")                            \
	X(readdir, OS_LFS(readdir, readdir64))               \
	X(closedir, "closedir")                              \
	X(dirfd, "dirfd")                                    \
	/* memory */                                         \
	K(mmap)                                              \
	K(munmap)                                            \
	K(msync)                                             \
	K(madvise)                                           \
	/* credentials and processes */                      \
	K(getuid)                                            \
	K(geteuid)                                           \
	K(getgid)                                            \
	K(getegid)                                           \
	K(getgroups)                                         \
	K(setfsuid)                                          \
	K(setfsgid)                                          \
	K(capget)                                            \
	K(getpid)                                            \
	K(gettid)                                            \
	K(kill)                                              \
	K(umask)                                             \
	X(raise, "raise")                                    \
	X(signal, "signal")                                  \
	X(sigaction, "sigaction")                            \
	X(siglongjmp, "siglongjmp")                          \
	X(syscall, "syscall")                                \
	/* time and randomness */                            \
	X(clock_gettime, "clock_gettime")                    \
	K(nanosleep)                                         \
	K(usleep)                                            \
	K(getrandom)                                         \
	K(getrlimit)                                         \
	K(setrlimit)

struct umfs_os {
#define OS_FIELD(name, ...) __typeof__(name) *name;
	OS_CALLS(OS_FIELD, OS_FIELD)
#undef OS_FIELD
};

enum umfs_os_entry {
#define OS_ENTRY(name, ...) UMFS_OS_##name,
	OS_CALLS(OS_ENTRY, OS_ENTRY)
#undef OS_ENTRY
};

/* The K entries, in os_kernel.c: each of the type the headers give name. */
#define OS_KERNEL_DECL(name) extern __typeof__(name) umfs_kernel_##name;
OS_CALLS(OS_IGNORE, OS_KERNEL_DECL)
#undef OS_KERNEL_DECL

extern struct umfs_os umfs_os;
/* Resolves every entry now (a test that swaps one keeps the others real). */
void umfs_os_init(void);
/* Resolves one entry (os.c: a switch, so that no table of names needs
 * relocating as the library loads). */
void *umfs_os_resolve_entry(enum umfs_os_entry entry);

/* The real function fn, resolved at its first call. */
#define OS(fn)                                                  \
	(__builtin_expect(umfs_os.fn != NULL, 1)                \
		 ? umfs_os.fn                                   \
		 : (__typeof__(umfs_os.fn))umfs_os_resolve_entry(UMFS_OS_##fn))

/* umfs_os_resolve, which the shim's table shares, is in umfs_frontend.h. */

/* Set once, before any use, by a front end whose descriptor table a
 * program shares (the shim keeps the program's dup2 off the numbers of the
 * core's new descriptors, shim/fdguard.c): before_fd runs before each
 * descriptor the core makes at a number the kernel chooses (the table's
 * open and openat call it; anything else, such as a pidfd, calls
 * umfs_os_before_fd first), before_wait before each sleep of the core on
 * another thread or process (umfs_os_before_wait). NULL: nothing. */
struct umfs_os_hooks {
	void (*before_fd)(void);
	void (*before_wait)(void);
};
extern struct umfs_os_hooks umfs_os_hooks;
void umfs_os_before_fd(void);
void umfs_os_before_wait(void);

/* A directory stream of path, opened through the table's open (not the C
 * library's opendir, which would open it unseen by the hook above): NULL
 * and errno on failure. */
DIR *umfs_os_opendir(const char *path);

/* len bytes of zeros that cost a page only where written (a fresh
 * anonymous map, not calloc's memset of heap pages), or NULL. */
void *umfs_os_zalloc(size_t len);
void umfs_os_zfree(void *p, size_t len);

/* Before a fork, in the parent: binds what a child calls (the gate
 * descriptions of its own, umfs_os_dup_onto), so that each child does not
 * search for the symbols and copy the table's page again. */
void umfs_os_fork_bind(void);

/* The clock without the pages the C library's clock_gettime touches in a
 * short process (os.c); use it, not OS(clock_gettime). */
int umfs_os_clock_gettime(clockid_t clock, struct timespec *ts);
/* CLOCK_MONOTONIC in nanoseconds, for the bounds of waits. */
uint64_t umfs_os_monotonic_ns(void);

/* Maps [0, len) of fd (flags: MAP_SHARED and the like, never MAP_FIXED)
 * at an address aligned to align, a power of two, inside a reservation of
 * len + align whose ends are given back: MAP_FAILED and errno on failure.
 * For a pool the kernel maps with large pages only on their boundary
 * (pmap.c): the reservation and the unmaps cost three system calls more
 * than a plain mmap, worth it for large pages, not for a page table page. */
void *umfs_os_mmap_aligned(size_t len, size_t align, int prot, int flags, int fd);

#endif
