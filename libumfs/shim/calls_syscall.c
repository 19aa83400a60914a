/* SPDX-License-Identifier: MIT */
/*
 * calls_syscall.c - syscall(2) itself. Programs (and gnulib's fallbacks,
 * e.g. GNU patch's renameat2) call some file system calls through
 * syscall(SYS_..., ...); those whose kernel interface is the C library's
 * function are routed to the shim's function, so that UMFS paths and
 * descriptors are served; those that change credentials are watched as
 * their functions are (calls_cred.c); fork, vfork and clone run the fork
 * handlers as fork() does; every other number goes to the real syscall().
 * Results follow syscall(): -1 with errno on failure. openat2 has its own
 * file (calls_openat2.c).
 */
#include <sched.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* A path that cannot be UMFS's costs the cheap test alone; an absolute
 * one may be UMFS's from a UMFS directory (RESOLVE_IN_ROOT). */
static bool openat2_maybe_umfs(int dirfd, const char *path)
{
	if (path_maybe_umfs(dirfd, path))
		return true;
	if (!path || path[0] != '/' || !cfg.enabled)
		return false;
	return dirfd_in_umfs(dirfd);
}

static long openat2_call(int dirfd, const char *path, const void *how, size_t size)
{
	uint64_t t0;
	long r;

	if (likely(!openat2_maybe_umfs(dirfd, path))) {
		TRACE_PASS(openat2, "\"%s\"", path ? path : "(null)");
		fd_unpark_all();
		return SYS(syscall)(SYS_openat2, dirfd, path, how, size);
	}
	t0 = stats_t0();
	r = shim_openat2(dirfd, path, how, size);
	TRACE_SERVED(openat2, r, t0, "\"%s\"", path);
	return shim_ret(r);
}

/* The kernel's struct clone_args of clone3, as its first version. */
struct clone3_head {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* A new process that returns here as from fork: the fork handlers run
 * around it, as fork runs them. */
static long syscall_fork(long number, const long *a)
{
	shim_fork_prepare();
	return shim_fork_done(SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]));
}

/* clone or clone3 with these flags and stack: a child returning here in a
 * copy of our memory is a fork; one in our memory (CLONE_VM without
 * CLONE_THREAD) may hold our descriptions, and leaves our state alone
 * (shim_state_ours); any other goes its own way. */
static long syscall_clone(long number, const long *a, uint64_t flags, uint64_t stack)
{
	if (!(flags & CLONE_VM) && stack == 0)
		return syscall_fork(number, a);
	if ((flags & (CLONE_VM | CLONE_THREAD)) == CLONE_VM)
		ofd_spawn_mark();
	return SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static long syscall_clone3(const long *a)
{
	const struct clone3_head *h = (const struct clone3_head *)a[0];

	if ((size_t)a[1] < sizeof(*h) || user_readable(h, sizeof(*h)))
		return SYS(syscall)(SYS_clone3, a[0], a[1]); /* the kernel's EINVAL or EFAULT */
	return syscall_clone(SYS_clone3, a, h->flags, h->stack);
}

static long syscall_route(long number, const long *a)
{
#define I(n) ((int)a[n])
#define P(n) ((void *)a[n])
#define S(n) ((const char *)a[n])
#define Z(n) ((size_t)a[n])
#define O(n) ((off_t)a[n])
	switch (number) {
	case SYS_open:
		return open(S(0), I(1), (mode_t)a[2]);
	case SYS_openat:
		return openat(I(0), S(1), I(2), (mode_t)a[3]);
	case SYS_openat2:
		return openat2_call(I(0), S(1), P(2), Z(3));
	case SYS_close:
		return close(I(0));
	case SYS_close_range:
		return close_range((unsigned)a[0], (unsigned)a[1], I(2));
	case SYS_read:
		return read(I(0), P(1), Z(2));
	case SYS_write:
		return write(I(0), P(1), Z(2));
	case SYS_pread64:
		return pread(I(0), P(1), Z(2), O(3));
	case SYS_pwrite64:
		return pwrite(I(0), P(1), Z(2), O(3));
	case SYS_lseek:
		return lseek(I(0), O(1), I(2));
	case SYS_fsync:
		return fsync(I(0));
	case SYS_fdatasync:
		return fdatasync(I(0));
	case SYS_ftruncate:
		return ftruncate(I(0), O(1));
	case SYS_fallocate:
		return fallocate(I(0), I(1), O(2), O(3));
	case SYS_getdents64:
		return getdents64(I(0), P(1), Z(2));
	case SYS_newfstatat:
		return fstatat(I(0), S(1), P(2), I(3));
	case SYS_fstat:
		return fstat(I(0), P(1));
	case SYS_statx:
		return statx(I(0), S(1), I(2), (unsigned)a[3], P(4));
	case SYS_faccessat2:
		return faccessat(I(0), S(1), I(2), I(3));
	case SYS_renameat:
		return renameat(I(0), S(1), I(2), S(3));
	case SYS_renameat2:
		return renameat2(I(0), S(1), I(2), S(3), (unsigned)a[4]);
	case SYS_unlinkat:
		return unlinkat(I(0), S(1), I(2));
	case SYS_mkdirat:
		return mkdirat(I(0), S(1), (mode_t)a[2]);
	case SYS_readlinkat:
		return readlinkat(I(0), S(1), P(2), Z(3));
	case SYS_symlinkat:
		return symlinkat(S(0), I(1), S(2));
	case SYS_linkat:
		return linkat(I(0), S(1), I(2), S(3), I(4));
	case SYS_fchownat:
		return fchownat(I(0), S(1), (uid_t)a[2], (gid_t)a[3], I(4));
	case SYS_utimensat:
		/* the system call takes NULL for dirfd itself; the function not */
		return a[1] ? utimensat(I(0), S(1), P(2), I(3)) : shim_utimensat_fd(I(0), P(2), I(3));
	case SYS_fchmodat2:
		return shim_fchmodat2(I(0), S(1), (mode_t)a[2], I(3));
	case SYS_copy_file_range:
		return copy_file_range(I(0), P(1), I(2), P(3), Z(4), (unsigned)a[5]);
	/* the older numbers and the rest of the descriptor and path calls:
	 * their functions have the system calls' interfaces */
	case SYS_readv:
		return readv(I(0), P(1), I(2));
	case SYS_writev:
		return writev(I(0), P(1), I(2));
	case SYS_preadv: /* 64-bit: the low word holds the whole offset */
		return preadv(I(0), P(1), I(2), O(3));
	case SYS_pwritev:
		return pwritev(I(0), P(1), I(2), O(3));
	case SYS_preadv2:
		return preadv2(I(0), P(1), I(2), O(3), I(5));
	case SYS_pwritev2:
		return pwritev2(I(0), P(1), I(2), O(3), I(5));
	case SYS_sendfile:
		return sendfile(I(0), I(1), P(2), Z(3));
	case SYS_splice:
		return splice(I(0), P(1), I(2), P(3), Z(4), (unsigned)a[5]);
	case SYS_fadvise64: {
		int e = posix_fadvise(I(0), O(1), O(2), I(3)); /* an error number */

		return e ? (errno = e, -1) : 0;
	}
	case SYS_sync_file_range:
		return sync_file_range(I(0), O(1), O(2), (unsigned)a[3]);
	case SYS_readahead:
		return readahead(I(0), O(1), Z(2));
	case SYS_syncfs:
		return syncfs(I(0));
	case SYS_dup2:
		return dup2(I(0), I(1));
	case SYS_fchmod:
		return fchmod(I(0), (mode_t)a[1]);
	case SYS_fchown:
		return fchown(I(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_fchdir:
		return fchdir(I(0));
	case SYS_fstatfs:
		return fstatfs(I(0), P(1));
	case SYS_stat:
		return stat(S(0), P(1));
	case SYS_lstat:
		return lstat(S(0), P(1));
	case SYS_statfs:
		return statfs(S(0), P(1));
	case SYS_access:
		return access(S(0), I(1));
	case SYS_faccessat: /* no flags argument */
		return faccessat(I(0), S(1), I(2), 0);
	case SYS_chdir:
		return chdir(S(0));
	case SYS_chmod:
		return chmod(S(0), (mode_t)a[1]);
	case SYS_fchmodat: /* no flags argument */
		return fchmodat(I(0), S(1), (mode_t)a[2], 0);
	case SYS_chown:
		return chown(S(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_lchown:
		return lchown(S(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_truncate:
		return truncate(S(0), O(1));
	case SYS_creat:
		return creat(S(0), (mode_t)a[1]);
	case SYS_mkdir:
		return mkdir(S(0), (mode_t)a[1]);
	case SYS_rmdir:
		return rmdir(S(0));
	case SYS_unlink:
		return unlink(S(0));
	case SYS_rename:
		return rename(S(0), S(1));
	case SYS_link:
		return link(S(0), S(1));
	case SYS_symlink:
		return symlink(S(0), S(1));
	case SYS_readlink:
		return readlink(S(0), P(1), Z(2));
	case SYS_mknod:
		return mknod(S(0), (mode_t)a[1], (dev_t)a[2]);
	case SYS_mknodat:
		return mknodat(I(0), S(1), (mode_t)a[2], (dev_t)a[3]);
	case SYS_utime:
		return utime(S(0), P(1));
	case SYS_utimes:
		return utimes(S(0), P(1));
	case SYS_futimesat:
		return futimesat(I(0), S(1), P(2));
	case SYS_getxattr:
		return getxattr(S(0), S(1), P(2), Z(3));
	case SYS_lgetxattr:
		return lgetxattr(S(0), S(1), P(2), Z(3));
	case SYS_fgetxattr:
		return fgetxattr(I(0), S(1), P(2), Z(3));
	case SYS_setxattr:
		return setxattr(S(0), S(1), P(2), Z(3), I(4));
	case SYS_lsetxattr:
		return lsetxattr(S(0), S(1), P(2), Z(3), I(4));
	case SYS_fsetxattr:
		return fsetxattr(I(0), S(1), P(2), Z(3), I(4));
	case SYS_listxattr:
		return listxattr(S(0), P(1), Z(2));
	case SYS_llistxattr:
		return llistxattr(S(0), P(1), Z(2));
	case SYS_flistxattr:
		return flistxattr(I(0), P(1), Z(2));
	case SYS_removexattr:
		return removexattr(S(0), S(1));
	case SYS_lremovexattr:
		return lremovexattr(S(0), S(1));
	case SYS_fremovexattr:
		return fremovexattr(I(0), S(1));
	case SYS_ioctl:
		return ioctl(I(0), (unsigned long)a[1], P(2));
	case SYS_io_submit:
	case SYS_io_getevents:
	case SYS_io_pgetevents:
	case SYS_io_destroy:
		return shim_aio_syscall(number, a);
	case SYS_mmap:
		return (long)mmap(P(0), Z(1), I(2), I(3), I(4), O(5));
	case SYS_munmap:
		return munmap(P(0), Z(1));
	case SYS_mremap:
		return (long)mremap(P(0), Z(1), Z(2), I(3), P(4));
	case SYS_msync:
		return msync(P(0), Z(1), I(2));
	case SYS_inotify_add_watch:
		return inotify_add_watch(I(0), S(1), (uint32_t)a[2]);
	case SYS_execve:
		return execve(S(0), P(1), P(2));
	case SYS_dup:
		return dup(I(0));
	case SYS_dup3:
		return dup3(I(0), I(1), I(2));
	case SYS_fcntl:
		return fcntl(I(0), I(1), P(2));
	case SYS_flock:
		return flock(I(0), I(1));
	case SYS_mprotect:
		return mprotect(P(0), Z(1), I(2));
	case SYS_pkey_mprotect:
		return pkey_mprotect(P(0), Z(1), I(2), I(3));
	case SYS_fork:
	case SYS_vfork: /* a real fork, as vfork() is made one */
		return syscall_fork(SYS_fork, a);
	case SYS_clone:
		return syscall_clone(number, a, (uint64_t)a[0], (uint64_t)a[1]);
	case SYS_clone3:
		return syscall_clone3(a);
	case SYS_setuid:
	case SYS_setgid:
	case SYS_setreuid:
	case SYS_setregid:
	case SYS_setresuid:
	case SYS_setresgid:
	case SYS_setgroups:
	case SYS_setfsuid:
	case SYS_setfsgid:
	case SYS_capset:
		/* one thread's credentials (calls_cred.c) */
		shim_mount_before_cred_change();
		return shim_cred_after_change(
			SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]));
	default:
		fd_unpark_all(); /* the call may make or free a descriptor */
		return SYS(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
#undef I
#undef P
#undef S
#undef Z
#undef O
}

/* The C library's syscall() is no cancellation point, whatever the number:
 * the interposers a call is routed to, some of which are, must not act on
 * one here. */
SHIM_API long syscall(long number, ...)
{
	long a[6], r;
	va_list ap;
	int cs;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = syscall_route(number, a);
	pthread_setcancelstate(cs, NULL);
	return r;
}
