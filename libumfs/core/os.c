/* SPDX-License-Identifier: MIT */
/*
 * os.c - the core's table of kernel calls (os.h): each entry set at its
 * first call, to os_kernel.c's system call or to the C library's function
 * (dlsym(RTLD_NEXT)), the resolution the shim's table (shim/sys.c) is
 * built on as well.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include "os.h"
#include "umfs_frontend.h"

struct umfs_os umfs_os;

void *umfs_os_resolve(void **slot, const char *symbol)
{
	int saved = errno;
	void *fn = dlsym(RTLD_NEXT, symbol);

	errno = saved;
	if (fn) /* racing resolvers store the same value */
		__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	return fn;
}

void *umfs_os_resolve_entry(enum umfs_os_entry entry)
{
	switch (entry) {
#define OS_CASE_LIBC(name, sym)                                            \
	case UMFS_OS_##name:                                               \
		return umfs_os_resolve((void **)&umfs_os.name, sym);
#define OS_CASE_KERNEL(name)                                               \
	case UMFS_OS_##name:                                               \
		__atomic_store_n(&umfs_os.name, umfs_kernel_##name, __ATOMIC_RELEASE); \
		return (void *)umfs_kernel_##name;
		OS_CALLS(OS_CASE_LIBC, OS_CASE_KERNEL)
#undef OS_CASE_KERNEL
#undef OS_CASE_LIBC
	}
	return NULL;
}

void *umfs_os_zalloc(size_t len)
{
	int saved = errno;
	void *p = OS(mmap)(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

void umfs_os_zfree(void *p, size_t len)
{
	int saved = errno;

	if (p)
		OS(munmap)(p, len);
	errno = saved;
}

#define OS_PAGE 4096u /* x86-64's base page: mmap's granule */

void *umfs_os_mmap_aligned(size_t len, size_t align, int prot, int flags, int fd)
{
	size_t span = (len + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
	uint8_t *res, *at, *addr;
	int saved;

	res = OS(mmap)(NULL, span + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	at = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	addr = OS(mmap)(at, len, prot, flags | MAP_FIXED, fd, 0);
	if (addr == MAP_FAILED) {
		saved = errno;
		OS(munmap)(res, span + align);
		errno = saved;
		return MAP_FAILED;
	}
	if (at > res)
		OS(munmap)(res, (size_t)(at - res));
	if (res + span + align > at + span)
		OS(munmap)(at + span, (size_t)(res + span + align - (at + span)));
	return addr;
}

int umfs_os_ftruncate_own(int fd, off_t len)
{
	struct rlimit rl, raised;
	struct stat st;
	int saved = errno, r;
	bool raise;

	raise = OS(getrlimit)(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		(uint64_t)len > rl.rlim_cur && OS(fstat)(fd, &st) == 0 && st.st_size < len;
	if (raise) {
		/* past the hard limit too: refuse, without the signal */
		if (rl.rlim_max != RLIM_INFINITY && (uint64_t)len > rl.rlim_max)
			return -EFBIG;
		raised = rl;
		raised.rlim_cur = rl.rlim_max;
		if (OS(setrlimit)(RLIMIT_FSIZE, &raised) != 0) {
			errno = saved;
			return -EFBIG;
		}
	}
	r = OS(ftruncate)(fd, len) < 0 ? -errno : 0;
	if (raise)
		OS(setrlimit)(RLIMIT_FSIZE, &rl);
	errno = saved;
	return r;
}

void umfs_os_fork_bind(void)
{
	(void)OS(dup3);
	(void)OS(getrlimit);
	(void)OS(setrlimit);
}

int umfs_os_dup_onto(int fd, int to)
{
	struct rlimit rl, raised;
	int saved = errno, r;

	r = OS(dup3)(fd, to, O_CLOEXEC);
	/* a front end may keep its descriptors past the soft limit, where
	 * the kernel places none: raised for the instant of the dup */
	if (r < 0 && errno == EBADF && to >= 0 && OS(getrlimit)(RLIMIT_NOFILE, &rl) == 0 &&
	    (rlim_t)to >= rl.rlim_cur && (rlim_t)to < rl.rlim_max) {
		raised = rl;
		raised.rlim_cur = (rlim_t)to + 1;
		if (OS(setrlimit)(RLIMIT_NOFILE, &raised) == 0) {
			r = OS(dup3)(fd, to, O_CLOEXEC);
			OS(setrlimit)(RLIMIT_NOFILE, &rl);
		}
	}
	r = r < 0 ? -errno : 0;
	errno = saved;
	return r;
}

DIR *umfs_os_opendir(const char *path)
{
	int fd = OS(open)(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC), saved;
	DIR *d;

	if (fd < 0)
		return NULL;
	d = OS(fdopendir)(fd);
	if (!d) {
		saved = errno;
		OS(close)(fd);
		errno = saved;
	}
	return d;
}

void umfs_os_init(void)
{
#define OS_RESOLVE(name, ...) OS(name);
	OS_CALLS(OS_RESOLVE, OS_RESOLVE)
#undef OS_RESOLVE
}

/*
 * A short process reads the clock a few times, and the C library's
 * clock_gettime costs it two page faults, sometimes three: the vDSO's two
 * data pages it reads, and its own page of code when no other call of the
 * process brought that in. A system call costs less than one fault, and
 * syscall() sits on a page of the C library every process touches (beside
 * mmap). So a process's first OS_CLOCK_SYSCALLS reads of the clock are
 * system calls, and the later ones go through the vDSO: a process that
 * writes much reads the clock once per write.
 */
#define OS_CLOCK_SYSCALLS 16

uint64_t umfs_os_monotonic_ns(void)
{
	struct timespec ts;

	umfs_os_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int umfs_os_clock_gettime(clockid_t clock, struct timespec *ts)
{
	static _Atomic unsigned reads; /* a race only moves the switch by a read */

	if (atomic_load_explicit(&reads, memory_order_relaxed) < OS_CLOCK_SYSCALLS) {
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
		return (int)OS(syscall)(SYS_clock_gettime, clock, ts);
	}
	return OS(clock_gettime)(clock, ts);
}
