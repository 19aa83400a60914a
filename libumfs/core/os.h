/* SPDX-License-Identifier: MIT */
/*
 * os.h - the core's table of kernel and C-library calls (os.c).
 *
 * Rule: the core calls the kernel only through OS(fn). In libumfs.so the
 * core shares the library with the shim's interposers and is linked with
 * -Bsymbolic-functions, so a direct open() or close() would bind to the
 * shim's own open() and close(); the table holds the real functions,
 * resolved with dlsym(RTLD_NEXT) (what follows this object in the lookup
 * order: the C library). libumfs/check-os-calls.sh fails the build when a
 * core object names one of these functions, or anything libumfs.so
 * intercepts, directly.
 *
 * OS_CALLS lists each entry as X(name, symbol): name is the function as
 * the headers declare it (its type is the entry's type), symbol the one
 * those headers bind it to (with _FILE_OFFSET_BITS=64, open is open64).
 */
#ifndef UMFS_OS_H
#define UMFS_OS_H

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
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

#ifdef __USE_FILE_OFFSET64
#define OS_LFS(plain, lfs) #lfs
#else
#define OS_LFS(plain, lfs) #plain
#endif

#define OS_CALLS(X)                                          \
	/* descriptors and files */                          \
	X(open, OS_LFS(open, open64))                        \
	X(openat, OS_LFS(openat, openat64))                  \
	X(close, "close")                                    \
	X(dup3, "dup3")                                      \
	X(fcntl, OS_LFS(fcntl, fcntl64))                     \
	X(flock, "flock")                                    \
	X(ioctl, "ioctl")                                    \
	X(read, "read")                                      \
	X(write, "write")                                    \
	X(pread, OS_LFS(pread, pread64))                     \
	X(pwrite, OS_LFS(pwrite, pwrite64))                  \
	X(ftruncate, OS_LFS(ftruncate, ftruncate64))         \
	X(posix_fallocate, OS_LFS(posix_fallocate, posix_fallocate64)) \
	X(fsync, "fsync")                                    \
	X(stat, OS_LFS(stat, stat64))                        \
	X(fstat, OS_LFS(fstat, fstat64))                     \
	X(fstatat, OS_LFS(fstatat, fstatat64))               \
	X(fstatfs, OS_LFS(fstatfs, fstatfs64))               \
	X(statx, "statx")                                    \
	X(access, "access")                                  \
	X(fchmod, "fchmod")                                  \
	X(fchown, "fchown")                                  \
	X(readlink, "readlink")                              \
	/* names */                                          \
	X(mkdir, "mkdir")                                    \
	X(mkdirat, "mkdirat")                                \
	X(mkfifoat, "mkfifoat")                              \
	X(rmdir, "rmdir")                                    \
	X(unlinkat, "unlinkat")                              \
	/* directories */                                    \
	X(opendir, "opendir")                                \
	X(fdopendir, "fdopendir")                            \
	X(readdir, OS_LFS(readdir, readdir64))               \
	X(closedir, "closedir")                              \
	X(dirfd, "dirfd")                                    \
	/* memory */                                         \
	X(mmap, OS_LFS(mmap, mmap64))                        \
	X(munmap, "munmap")                                  \
	X(msync, "msync")                                    \
	X(madvise, "madvise")                                \
	/* credentials and processes */                      \
	X(getuid, "getuid")                                  \
	X(geteuid, "geteuid")                                \
	X(getgid, "getgid")                                  \
	X(getegid, "getegid")                                \
	X(getgroups, "getgroups")                            \
	X(setfsuid, "setfsuid")                              \
	X(setfsgid, "setfsgid")                              \
	X(capget, "capget")                                  \
	X(getpid, "getpid")                                  \
	X(gettid, "gettid")                                  \
	X(kill, "kill")                                      \
	X(raise, "raise")                                    \
	X(signal, "signal")                                  \
	X(sigaction, "sigaction")                            \
	X(syscall, "syscall")                                \
	/* time and randomness */                            \
	X(clock_gettime, "clock_gettime")                    \
	X(nanosleep, "nanosleep")                            \
	X(usleep, "usleep")                                  \
	X(getrandom, "getrandom")                            \
	X(getrlimit, "getrlimit")                            \
	X(setrlimit, "setrlimit")

struct umfs_os {
#define OS_FIELD(name, sym) __typeof__(name) *name;
	OS_CALLS(OS_FIELD)
#undef OS_FIELD
};

enum umfs_os_entry {
#define OS_ENTRY(name, sym) UMFS_OS_##name,
	OS_CALLS(OS_ENTRY)
#undef OS_ENTRY
};

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

/* Maps [0, len) of fd (flags: MAP_SHARED and the like, never MAP_FIXED)
 * at an address aligned to align, a power of two, inside a reservation of
 * len + align whose ends are given back: MAP_FAILED and errno on failure.
 * For a pool the kernel maps with large pages only on their boundary
 * (pmap.c): the reservation and the unmaps cost three system calls more
 * than a plain mmap, worth it for large pages, not for a page table page. */
void *umfs_os_mmap_aligned(size_t len, size_t align, int prot, int flags, int fd);

#endif
