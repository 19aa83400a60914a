/* SPDX-License-Identifier: MIT */
/*
 * sys.c - the shim's table of real functions. Every pass-through and every
 * kernel call the shim makes for itself goes through it (SYS(fn)), as the
 * core's go through its own (core/os.c, OS(fn)); each entry is resolved at
 * its first call with dlsym(RTLD_NEXT) by os.c, i.e. to the definition
 * libc (or whatever follows us in the lookup order) provides.
 */
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "umfs_frontend.h"
#include "shim.h"

struct shim_sys sys;

int sys_open_cloexec(const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = SYS(open)(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* Calls fn for each name in directory dfd but "." and "..", until fn
 * returns nonzero, which is returned. The names are read on a description
 * of its own (dfd's offset stays) into a buffer on the stack: the scans at
 * mount and exit allocate nothing and cost an open, the reads and a close.
 * fn may remove the name it is given. */
int sys_dir_each(int dfd, int (*fn)(int dfd, const char *name, void *arg), void *arg)
{
	char buf[2048] __attribute__((aligned(8)));
	int fd = SYS(openat)(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (!r && (n = SYS(getdents64)(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n && !r;) {
			const struct dirent64 *e = (const void *)(buf + off);

			off += e->d_reclen;
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				r = fn(dfd, e->d_name, arg);
		}
	}
	sys_close_quiet(fd);
	return r;
}

/* pread of exactly len bytes unless the file ends; off < 0 reads at the
 * current offset. */
ssize_t sys_read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? SYS(read)(fd, (char *)buf + done, len - done)
				    : SYS(pread)(fd, (char *)buf + done, len - done,
						 off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t sys_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = SYS(write)(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Where the shim keeps its own descriptors. Every number below the soft
 * RLIMIT_NOFILE is the program's (dup2 onto it works, open fails with
 * EMFILE exactly when they are all taken), so the shim's go at the soft
 * limit and above, raising the soft limit for the instant of the F_DUPFD
 * (descriptors above the limit stay valid). That needs room under the hard
 * limit; without it, or with a soft limit past HIGH_CAP (a descriptor
 * table that large costs the kernel memory and every fork a copy), they go
 * just under min(soft limit, HIGH_LOW_CAP), where programs reach last.
 */
#define HIGH_ROOM 64          /* numbers the shim may use from its base */
#define HIGH_CAP 65536
#define HIGH_LOW_CAP 4096

int shim_high_fd(void)
{
	static _Atomic int base;
	struct rlimit rl;
	int b = atomic_load_explicit(&base, memory_order_relaxed);

	if (!b) {
		if (SYS(getrlimit)(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = rl.rlim_max = 1024;
		if (rl.rlim_cur <= HIGH_CAP && rl.rlim_max >= rl.rlim_cur + HIGH_ROOM)
			b = (int)rl.rlim_cur;
		else
			b = (int)(rl.rlim_cur < HIGH_LOW_CAP ? rl.rlim_cur : HIGH_LOW_CAP) - HIGH_ROOM;
		if (b < 10)
			b = 10;
		atomic_store_explicit(&base, b, memory_order_relaxed);
	}
	return b;
}

/* Raises the soft RLIMIT_NOFILE so that the shim's range is usable (and a
 * descriptor can be had when the program's range is full); *saved gets the
 * limit to restore. False when nothing was changed. */
bool sys_nofile_raise(struct rlimit *saved)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)shim_high_fd() + HIGH_ROOM;

	if (SYS(getrlimit)(RLIMIT_NOFILE, saved) != 0 || saved->rlim_cur >= want)
		return false;
	rl = *saved;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	return rl.rlim_cur > saved->rlim_cur && SYS(setrlimit)(RLIMIT_NOFILE, &rl) == 0;
}

void sys_nofile_restore(const struct rlimit *saved)
{
	SYS(setrlimit)(RLIMIT_NOFILE, saved);
}

/* A close-on-exec duplicate of fd in the shim's range, or -errno. */
int shim_fd_dup_high(int fd)
{
	int saved_errno = errno, nfd, e;
	struct rlimit rl;

	nfd = SYS(fcntl)(fd, F_DUPFD_CLOEXEC, shim_high_fd());
	if (nfd < 0 && (errno == EINVAL || errno == EMFILE) && sys_nofile_raise(&rl)) {
		nfd = SYS(fcntl)(fd, F_DUPFD_CLOEXEC, shim_high_fd());
		e = errno;
		sys_nofile_restore(&rl);
		errno = e;
	}
	e = nfd < 0 ? -errno : nfd;
	errno = saved_errno;
	return e;
}

/* Moves fd (close-on-exec) to the shim's range; returns the new number
 * (fd itself when it cannot be moved). */
int shim_fd_move_high(int fd)
{
	int nfd;

	if (fd < 0 || fd >= shim_high_fd())
		return fd;
	nfd = shim_fd_dup_high(fd);
	if (nfd < 0)
		return fd;
	SYS(close)(fd);
	return nfd;
}

void sys_close_quiet(int fd)
{
	int saved = errno;

	if (fd >= 0)
		SYS(close)(fd);
	errno = saved;
}
