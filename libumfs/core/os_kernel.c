/* SPDX-License-Identifier: MIT */
/*
 * os_kernel.c - the K entries of the core's table (os.h): each one system
 * call, made through the C library's syscall(), which sets errno as the
 * C library's function of the same name would, and is no cancellation
 * point. Their C-library namesakes are cancellation points (open, close,
 * read, write, fcntl, msync, nanosleep, getrandom...): a pthread_cancel()
 * acted on there would unwind a thread out of the library in the middle
 * of a mount, a claimed slot or a held lock, and leave every other
 * thread of the process waiting on it. A cancellation meant for a call
 * the library serves is acted on where a front end takes the call,
 * before anything is held.
 *
 * Each function has the type the C library's headers give its namesake
 * (os.h declares them with __typeof__), so the compiler checks both.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "os.h"

/* The x86-64 kernel's stat and statfs are the C library's structures, and
 * its offsets are 64 bits wide: no call here converts anything. */
_Static_assert(sizeof(struct stat) == 144, "struct stat is the kernel's");
_Static_assert(sizeof(struct statfs) == 120, "struct statfs is the kernel's");
_Static_assert(sizeof(off_t) == 8, "off_t is the kernel's loff_t");

#define K(...) OS(syscall)(__VA_ARGS__)

/* The variadic argument after last, of type, as the C library reads it. */
#define K_VARG(type, last)                    \
	({                                    \
		va_list ap_;                  \
		type v_;                      \
		va_start(ap_, last);          \
		v_ = va_arg(ap_, type);       \
		va_end(ap_);                  \
		v_;                           \
	})
/* open's mode is read only with O_CREAT or O_TMPFILE. */
#define K_MODE(flags) \
	(((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE ? K_VARG(mode_t, flags) : 0)

struct umfs_os_hooks umfs_os_hooks;

void umfs_os_before_fd(void)
{
	if (umfs_os_hooks.before_fd)
		umfs_os_hooks.before_fd();
}

void umfs_os_before_wait(void)
{
	if (umfs_os_hooks.before_wait)
		umfs_os_hooks.before_wait();
}

int umfs_kernel_open(const char *path, int flags, ...)
{
	mode_t mode = K_MODE(flags);

	umfs_os_before_fd();
	return (int)K(SYS_openat, AT_FDCWD, path, flags, mode);
}

int umfs_kernel_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = K_MODE(flags);

	umfs_os_before_fd();
	return (int)K(SYS_openat, dfd, path, flags, mode);
}

int umfs_kernel_close(int fd)
{
	return (int)K(SYS_close, fd);
}

int umfs_kernel_dup3(int fd, int to, int flags)
{
	return (int)K(SYS_dup3, fd, to, flags);
}

/* The third argument is an int or a pointer: read as the wider, as the C
 * library reads it (so is ioctl's). */
int umfs_kernel_fcntl(int fd, int cmd, ...)
{
	return (int)K(SYS_fcntl, fd, cmd, K_VARG(unsigned long, cmd));
}

int umfs_kernel_flock(int fd, int op)
{
	return (int)K(SYS_flock, fd, op);
}

int umfs_kernel_ioctl(int fd, unsigned long req, ...)
{
	return (int)K(SYS_ioctl, fd, req, K_VARG(unsigned long, req));
}

ssize_t umfs_kernel_read(int fd, void *buf, size_t len)
{
	return K(SYS_read, fd, buf, len);
}

ssize_t umfs_kernel_write(int fd, const void *buf, size_t len)
{
	return K(SYS_write, fd, buf, len);
}

ssize_t umfs_kernel_pread(int fd, void *buf, size_t len, off_t off)
{
	return K(SYS_pread64, fd, buf, len, off);
}

ssize_t umfs_kernel_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return K(SYS_pwrite64, fd, buf, len, off);
}

int umfs_kernel_ftruncate(int fd, off_t len)
{
	return (int)K(SYS_ftruncate, fd, len);
}

int umfs_kernel_fsync(int fd)
{
	return (int)K(SYS_fsync, fd);
}

int umfs_kernel_stat(const char *restrict path, struct stat *restrict st)
{
	return (int)K(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

int umfs_kernel_fstat(int fd, struct stat *st)
{
	return (int)K(SYS_fstat, fd, st);
}

int umfs_kernel_fstatat(int dfd, const char *restrict path, struct stat *restrict st, int flags)
{
	return (int)K(SYS_newfstatat, dfd, path, st, flags);
}

int umfs_kernel_fstatfs(int fd, struct statfs *st)
{
	return (int)K(SYS_fstatfs, fd, st);
}

int umfs_kernel_statx(int dfd, const char *restrict path, int flags, unsigned mask,
		      struct statx *restrict stx)
{
	return (int)K(SYS_statx, dfd, path, flags, mask, stx);
}

int umfs_kernel_access(const char *path, int mode)
{
	return (int)K(SYS_faccessat, AT_FDCWD, path, mode);
}

int umfs_kernel_fchmod(int fd, mode_t mode)
{
	return (int)K(SYS_fchmod, fd, mode);
}

int umfs_kernel_fchown(int fd, uid_t uid, gid_t gid)
{
	return (int)K(SYS_fchown, fd, uid, gid);
}

ssize_t umfs_kernel_readlink(const char *restrict path, char *restrict buf, size_t len)
{
	return K(SYS_readlinkat, AT_FDCWD, path, buf, len);
}

int umfs_kernel_mkdir(const char *path, mode_t mode)
{
	return (int)K(SYS_mkdirat, AT_FDCWD, path, mode);
}

int umfs_kernel_mkdirat(int dfd, const char *path, mode_t mode)
{
	return (int)K(SYS_mkdirat, dfd, path, mode);
}

int umfs_kernel_mkfifoat(int dfd, const char *path, mode_t mode)
{
	return (int)K(SYS_mknodat, dfd, path, mode | S_IFIFO, 0);
}

int umfs_kernel_rmdir(const char *path)
{
	return (int)K(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR);
}

int umfs_kernel_unlinkat(int dfd, const char *path, int flags)
{
	return (int)K(SYS_unlinkat, dfd, path, flags);
}

void *umfs_kernel_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)K(SYS_mmap, addr, len, prot, flags, fd, off);
}

int umfs_kernel_munmap(void *addr, size_t len)
{
	return (int)K(SYS_munmap, addr, len);
}

int umfs_kernel_msync(void *addr, size_t len, int flags)
{
	return (int)K(SYS_msync, addr, len, flags);
}

int umfs_kernel_madvise(void *addr, size_t len, int advice)
{
	return (int)K(SYS_madvise, addr, len, advice);
}

uid_t umfs_kernel_getuid(void)
{
	return (uid_t)K(SYS_getuid);
}

uid_t umfs_kernel_geteuid(void)
{
	return (uid_t)K(SYS_geteuid);
}

gid_t umfs_kernel_getgid(void)
{
	return (gid_t)K(SYS_getgid);
}

gid_t umfs_kernel_getegid(void)
{
	return (gid_t)K(SYS_getegid);
}

int umfs_kernel_getgroups(int size, gid_t list[])
{
	return (int)K(SYS_getgroups, size, list);
}

int umfs_kernel_setfsuid(uid_t uid)
{
	return (int)K(SYS_setfsuid, uid);
}

int umfs_kernel_setfsgid(gid_t gid)
{
	return (int)K(SYS_setfsgid, gid);
}

int umfs_kernel_capget(cap_user_header_t header, cap_user_data_t data)
{
	return (int)K(SYS_capget, header, data);
}

pid_t umfs_kernel_getpid(void)
{
	return (pid_t)K(SYS_getpid);
}

pid_t umfs_kernel_gettid(void)
{
	return (pid_t)K(SYS_gettid);
}

int umfs_kernel_kill(pid_t pid, int sig)
{
	return (int)K(SYS_kill, pid, sig);
}

mode_t umfs_kernel_umask(mode_t mask)
{
	return (mode_t)K(SYS_umask, mask);
}

int umfs_kernel_nanosleep(const struct timespec *want, struct timespec *left)
{
	return (int)K(SYS_nanosleep, want, left);
}

int umfs_kernel_usleep(useconds_t us)
{
	struct timespec t = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	return (int)K(SYS_nanosleep, &t, NULL);
}

ssize_t umfs_kernel_getrandom(void *buf, size_t len, unsigned flags)
{
	return K(SYS_getrandom, buf, len, flags);
}

int umfs_kernel_getrlimit(__rlimit_resource_t res, struct rlimit *rl)
{
	return (int)K(SYS_prlimit64, 0, res, NULL, rl);
}

int umfs_kernel_setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	return (int)K(SYS_prlimit64, 0, res, rl, NULL);
}
