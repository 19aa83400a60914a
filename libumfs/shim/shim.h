/* SPDX-License-Identifier: MIT */
/*
 * shim.h - internals of the LD_PRELOAD shim (libumfs.so). See docs/shim.md.
 *
 * Files by concern:
 *   sys.c          the one table of real libc functions (dlsym RTLD_NEXT)
 *   init.c         configuration, constructor and destructor, fork hooks
 *   mount.c        lazy mount, the shared area beside the pool (cross-process
 *                  lock, open-inode registry), host helper directory
 *   uinfo.c        U-info: descriptor number -> open file description
 *   ofd.c          open file descriptions, exec adoption
 *   ofd_slot.c     their shared slots (one arena file) and token descriptors
 *   path.c         is a path UMFS's; cwd; dirfd-relative and external paths
 *   sock.c         host sockets standing for Unix socket names in UMFS
 *   fifo.c         host FIFOs standing for FIFOs in UMFS
 *   fallback.c     UMFS descriptors leaving the library (exec or spawn of a
 *                  static program, SCM_RIGHTS) as umfs-run's fallback
 *                  mount's files
 *   calls_*.c      the intercepted calls, by family
 *   lease.c        F_SETLEASE/F_GETLEASE and F_NOTIFY
 *   fsize.c        RLIMIT_FSIZE on writes
 *   nofile.c       where the library's own descriptors live; the program's
 *                  view of RLIMIT_NOFILE
 *   text.c         ETXTBSY: running programs and files open for writing
 *   mounts.c       the mount table with the UMFS prefix in it (df, findmnt)
 *   stats.c, log.c UMFS_STATS and UMFS_LOG
 *   envpath.c      host paths from the environment, opened without untrusted symlinks
 *   sig.c          signal dispositions; handlers deferred inside the library
 *   probe.c        the caller's memory probed: EFAULT, not SIGSEGV
 *   twins64.c      why the 64-bit twins (twins64.list) are link-time aliases
 *
 * Conventions: internal functions return 0 (or a count) or -errno; the
 * exported wrappers convert once (shim_ret) and never touch errno on success
 * or on pass-through.
 */
#ifndef UMFS_SHIM_H
#define UMFS_SHIM_H

#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <utime.h>

#include "decls.h"
#include "os.h"
#include "umfs_frontend.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* What an access mode allows: O_RDWR both, O_ACCMODE (3) neither (an open
 * for ioctls, which checks both permissions). */
static inline bool acc_reads(int flags)
{
	int acc = flags & O_ACCMODE;

	return acc == O_RDONLY || acc == O_RDWR;
}
static inline bool acc_writes(int flags)
{
	int acc = flags & O_ACCMODE;

	return acc == O_WRONLY || acc == O_RDWR;
}
/* The kernel's O_LARGEFILE: glibc defines it as 0 on x86-64, where the
 * kernel sets it on every open but O_PATH's and F_GETFL reports it. */
#define KERNEL_O_LARGEFILE 0100000
#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x00000020 /* Linux 6.9: this write ignores O_APPEND */
#endif
/* The RWF_ flags served; others get EOPNOTSUPP, as from a file system
 * that has none of them. */
#define SHIM_RWF_KNOWN (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND)

/* Every exported (intercepted) function is marked so; the version script
 * (libumfs.map) is what actually limits the exports. */
#define SHIM_API __attribute__((visibility("default")))

/* f_type reported by statfs() for UMFS paths ("UMFS") */
#define UMFS_STATFS_MAGIC 0x554d4653

/* ------------------------------------------------------------------ */
/* sys.c: the real functions                                            */
/* ------------------------------------------------------------------ */

struct iocb;           /* the kernel's (linux/aio_abi.h), libaio's has its layout */
struct io_event;
struct io_uring;       /* liburing's */
struct io_uring_cqe;
struct __kernel_timespec;
struct termios;
struct winsize;
struct __user_cap_header_struct;
struct __user_cap_data_struct;
struct itimerspec;
struct __jmp_buf_tag;  /* <setjmp.h>'s */

struct shim_sys {
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*preadv)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	ssize_t (*preadv2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
	off_t (*lseek)(int, off_t, int);
	int (*ftruncate)(int, off_t);
	int (*truncate)(const char *, off_t);
	int (*fallocate)(int, int, off_t, off_t);
	int (*posix_fallocate)(int, off_t, off_t);
	int (*posix_fadvise)(int, off_t, off_t, int);
	ssize_t (*readahead)(int, off64_t, size_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*syncfs)(int);
	int (*sync_file_range)(int, off64_t, off64_t, unsigned int);
	ssize_t (*copy_file_range)(int, off64_t *, int, off64_t *, size_t, unsigned int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, off64_t *, int, off64_t *, size_t, unsigned int);

	int (*stat)(const char *, struct stat *);
	int (*lstat)(const char *, struct stat *);
	int (*fstat)(int, struct stat *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*statx)(int, const char *, int, unsigned int, struct statx *);
	int (*access)(const char *, int);
	int (*faccessat)(int, const char *, int, int);
	int (*euidaccess)(const char *, int);
	int (*statfs)(const char *, struct statfs *);
	int (*fstatfs)(int, struct statfs *);
	int (*statvfs)(const char *, struct statvfs *);
	int (*name_to_handle_at)(int, const char *, struct file_handle *, int *, int);
	int (*fstatvfs)(int, struct statvfs *);
	long (*pathconf)(const char *, int);
	long (*fpathconf)(int, int);
	int (*chmod)(const char *, mode_t);
	int (*fchmod)(int, mode_t);
	int (*fchmodat)(int, const char *, mode_t, int);
	int (*lchmod)(const char *, mode_t);
	int (*chown)(const char *, uid_t, gid_t);
	int (*fchown)(int, uid_t, gid_t);
	int (*lchown)(const char *, uid_t, gid_t);
	int (*fchownat)(int, const char *, uid_t, gid_t, int);
	int (*utime)(const char *, const struct utimbuf *);
	int (*utimes)(const char *, const struct timeval[2]);
	int (*lutimes)(const char *, const struct timeval[2]);
	int (*futimes)(int, const struct timeval[2]);
	int (*futimesat)(int, const char *, const struct timeval[2]);
	int (*utimensat)(int, const char *, const struct timespec[2], int);
	int (*futimens)(int, const struct timespec[2]);
	ssize_t (*getxattr)(const char *, const char *, void *, size_t);
	ssize_t (*lgetxattr)(const char *, const char *, void *, size_t);
	ssize_t (*fgetxattr)(int, const char *, void *, size_t);
	int (*setxattr)(const char *, const char *, const void *, size_t, int);
	int (*lsetxattr)(const char *, const char *, const void *, size_t, int);
	int (*fsetxattr)(int, const char *, const void *, size_t, int);
	ssize_t (*listxattr)(const char *, char *, size_t);
	ssize_t (*llistxattr)(const char *, char *, size_t);
	ssize_t (*flistxattr)(int, char *, size_t);
	int (*removexattr)(const char *, const char *);
	int (*lremovexattr)(const char *, const char *);
	int (*fremovexattr)(int, const char *);

	int (*mkdir)(const char *, mode_t);
	int (*mkdirat)(int, const char *, mode_t);
	int (*rmdir)(const char *);
	int (*unlink)(const char *);
	int (*unlinkat)(int, const char *, int);
	int (*rename)(const char *, const char *);
	int (*renameat)(int, const char *, int, const char *);
	int (*renameat2)(int, const char *, int, const char *, unsigned int);
	int (*link)(const char *, const char *);
	int (*linkat)(int, const char *, int, const char *, int);
	int (*symlink)(const char *, const char *);
	int (*symlinkat)(const char *, int, const char *);
	ssize_t (*readlink)(const char *, char *, size_t);
	ssize_t (*readlinkat)(int, const char *, char *, size_t);
	char *(*realpath)(const char *, char *);
	int (*mknod)(const char *, mode_t, dev_t);
	int (*mknodat)(int, const char *, mode_t, dev_t);
	int (*mkfifo)(const char *, mode_t);
	int (*mkfifoat)(int, const char *, mode_t);
	int (*remove)(const char *);
	int (*mkstemp)(char *);
	int (*mkostemp)(char *, int);
	int (*mkstemps)(char *, int);
	int (*mkostemps)(char *, int, int);
	char *(*mkdtemp)(char *);
	char *(*mktemp)(char *);

	DIR *(*opendir)(const char *);
	DIR *(*fdopendir)(int);
	struct dirent *(*readdir)(DIR *);
	int (*readdir_r)(DIR *, struct dirent *, struct dirent **);
	void (*rewinddir)(DIR *);
	long (*telldir)(DIR *);
	void (*seekdir)(DIR *, long);
	int (*closedir)(DIR *);
	int (*dirfd)(DIR *);
	int (*scandir)(const char *, struct dirent ***, int (*)(const struct dirent *),
		       int (*)(const struct dirent **, const struct dirent **));
	int (*scandirat)(int, const char *, struct dirent ***, int (*)(const struct dirent *),
			 int (*)(const struct dirent **, const struct dirent **));
	ssize_t (*getdents64)(int, void *, size_t);
	int (*chdir)(const char *);
	int (*fchdir)(int);
	char *(*getcwd)(char *, size_t);
	int (*glob)(const char *, int, int (*)(const char *, int), void *);
	int (*nftw)(const char *, int (*)(const char *, const struct stat *, int, void *), int,
		    int);
	int (*ftw)(const char *, int (*)(const char *, const struct stat *, int), int);

	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*flock)(int, int);
	int (*lockf)(int, int, off_t);
	int (*ioctl)(int, unsigned long, ...);
	int (*isatty)(int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*inotify_add_watch)(int, const char *, uint32_t);
	int (*chroot)(const char *);

	FILE *(*fopen)(const char *, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	int (*fclose)(FILE *);
	int (*pclose)(FILE *);
	FILE *(*fdopen)(int, const char *);
	int (*vdprintf)(int, const char *, va_list);

	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*msync)(void *, size_t, int);
	int (*mprotect)(void *, size_t, int);
	int (*pkey_mprotect)(void *, size_t, int, int);
	int (*madvise)(void *, size_t, int);
	void *(*mremap)(void *, size_t, size_t, int, ...);

	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int[2]);
	int (*pipe)(int[2]);
	int (*pipe2)(int[2], int);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	int (*eventfd)(unsigned int, int);
	int (*signalfd)(int, const sigset_t *, int);
	int (*timerfd_create)(int, int);
	int (*inotify_init)(void);
	int (*inotify_init1)(int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

	pid_t (*fork)(void);
	pid_t (*vfork)(void);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*_Fork)(void);
	int (*clone)(int (*)(void *), void *, int, void *, ...);
	int (*unshare)(int);
	void (*_exit)(int) __attribute__((noreturn));
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawn_file_actions_addopen)(posix_spawn_file_actions_t *, int, const char *,
						int, mode_t);
	int (*posix_spawn_file_actions_destroy)(posix_spawn_file_actions_t *);
	mode_t (*umask)(mode_t);
	long (*syscall)(long, ...);
	int (*memfd_create)(const char *, unsigned int);
	int (*getrlimit)(int, struct rlimit *);
	int (*getdtablesize)(void);
	long (*sysconf)(int);
	int (*setrlimit)(int, const struct rlimit *);
	int (*prlimit)(pid_t, int, const struct rlimit *, struct rlimit *);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
	/* the jumps (calls_jump.c): the C library's, each by its name */
	void (*longjmp)(struct __jmp_buf_tag *, int);
	void (*_longjmp)(struct __jmp_buf_tag *, int);
	void (*siglongjmp)(struct __jmp_buf_tag *, int);
	void (*__longjmp_chk)(struct __jmp_buf_tag *, int);
	int (*prctl)(int, ...);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);

	/* asynchronous I/O: glibc's POSIX AIO, then libaio's and liburing's
	 * exports (resolved only once a program calls them, so loaded) */
	int (*aio_read)(struct aiocb *);
	int (*aio_write)(struct aiocb *);
	int (*aio_fsync)(int, struct aiocb *);
	int (*lio_listio)(int, struct aiocb *const[], int, struct sigevent *);
	int (*io_submit)(unsigned long, long, struct iocb **);
	int (*io_getevents)(unsigned long, long, long, struct io_event *, struct timespec *);
	int (*io_pgetevents)(unsigned long, long, long, struct io_event *, struct timespec *,
			     sigset_t *);
	int (*io_destroy)(unsigned long);
	int (*io_uring_queue_init)(unsigned, struct io_uring *, unsigned);
	void (*io_uring_queue_exit)(struct io_uring *);
	int (*io_uring_submit)(struct io_uring *);
	int (*io_uring_submit_and_wait)(struct io_uring *, unsigned);
	int (*io_uring_submit_and_wait_timeout)(struct io_uring *, struct io_uring_cqe **,
						unsigned, struct __kernel_timespec *, sigset_t *);
	int (*io_uring_submit_and_get_events)(struct io_uring *);
	int (*io_uring_wait_cqes)(struct io_uring *, struct io_uring_cqe **, unsigned,
				  struct __kernel_timespec *, sigset_t *);
	int (*io_uring_wait_cqe_timeout)(struct io_uring *, struct io_uring_cqe **,
					 struct __kernel_timespec *);
	int (*io_uring_register_files)(struct io_uring *, const int *, unsigned);
	int (*io_uring_register_files_tags)(struct io_uring *, const int *,
					    const unsigned long long *, unsigned);
	int (*io_uring_register_files_update)(struct io_uring *, unsigned, const int *, unsigned);
	int (*io_uring_register_files_update_tag)(struct io_uring *, unsigned, const int *,
						  const unsigned long long *, unsigned);
	int (*io_uring_unregister_files)(struct io_uring *);

	/* calls_fdpass.c */
	int (*tcgetattr)(int, struct termios *);
	int (*tcsetattr)(int, int, const struct termios *);
	pid_t (*tcgetpgrp)(int);
	int (*tcsetpgrp)(int, pid_t);
	pid_t (*tcgetsid)(int);
	int (*tcflush)(int, int);
	int (*tcdrain)(int);
	int (*tcflow)(int, int);
	int (*tcsendbreak)(int, int);
	char *(*ttyname)(int);
	int (*ttyname_r)(int, char *, size_t);
	int (*__ttyname_r_chk)(int, char *, size_t, size_t);
	char *(*ptsname)(int);
	int (*ptsname_r)(int, char *, size_t);
	int (*__ptsname_r_chk)(int, char *, size_t, size_t);
	int (*grantpt)(int);
	int (*unlockpt)(int);
	int (*openpty)(int *, int *, char *, const struct termios *, const struct winsize *);
	int (*posix_openpt)(int);
	int (*getpt)(void);
	pid_t (*setsid)(void);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*__recv_chk)(int, void *, size_t, size_t, int);
	int (*shutdown)(int, int);
	int (*listen)(int, int);
	int (*sockatmark)(int);
	ssize_t (*tee)(int, int, size_t, unsigned int);
	ssize_t (*vmsplice)(int, const struct iovec *, size_t, unsigned int);
	int (*setns)(int, int);
	int (*timerfd_settime)(int, int, const struct itimerspec *, struct itimerspec *);
	int (*timerfd_gettime)(int, struct itimerspec *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			    const sigset_t *);
	int (*inotify_rm_watch)(int, int);
	int (*eventfd_read)(int, uint64_t *);
	int (*eventfd_write)(int, uint64_t);
	ssize_t (*getdirentries)(int, char *, size_t, off_t *);
	int (*mq_close)(int);
	int (*__poll_chk)(struct pollfd *, nfds_t, int, size_t);
	int (*__ppoll_chk)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,
			   size_t);
	int (*fanotify_mark)(int, unsigned int, uint64_t, int, const char *);
	FILE *(*setmntent)(const char *, const char *);
	int (*capget)(struct __user_cap_header_struct *, struct __user_cap_data_struct *);
	int (*isfdtype)(int, int);
	int (*aio_cancel)(int, struct aiocb *);
	int (*__vdprintf_chk)(int, int, const char *, va_list);
};

extern struct shim_sys sys;
/* Set by the library for a new image that may inherit UMFS descriptors:
 * only then does it look through /proc/self/fd for them as it starts. */
#define SHIM_ADOPT_ENV "UMFS_ADOPT"
/* The UMFS descriptors an exec passes on, by kind (inherit.c). */
#define SHIM_FDS_ENV "UMFS_FDS"
/* Real function fn (the C library's, of the same name), resolved at its
 * first call. */
#define SYS(fn)                  \
	(likely(sys.fn != NULL) ? sys.fn \
				: (__typeof__(sys.fn))umfs_os_resolve((void **)&sys.fn, #fn))

/* Kernel helpers over the table: EINTR retried, O_CLOEXEC always. */
int sys_open_cloexec(const char *path, int flags, mode_t mode);
int sys_dir_each(int dfd, int (*fn)(int dfd, const char *name, void *arg), void *arg);
ssize_t sys_read_full(int fd, void *buf, size_t len, off_t off);
ssize_t sys_write_full(int fd, const void *buf, size_t len, off_t off);
void sys_close_quiet(int fd);

/* nofile.c: the library's descriptors, the program's RLIMIT_NOFILE */
void nofile_init(void);
void nofile_view(struct rlimit *rl);
int nofile_set(const struct rlimit *want);
void nofile_exec_prepare(void);
/* The library's own descriptors: SHIM_HIGH_ROOM numbers from this base. */
#define SHIM_HIGH_ROOM 64
int shim_high_fd(void);
int shim_fd_move_high(int fd);
int shim_fd_dup_high(int fd);
/* A raise of the soft RLIMIT_NOFILE around placements in the library's
 * range: what restore puts back, if raise changed anything. */
struct nofile_raise {
	struct rlimit saved;
	bool raised;
};
bool sys_nofile_raise(struct nofile_raise *r);
/* The same, only where the library's range lies past the soft limit (not
 * in the "low" placement): before placing descriptors there. */
bool sys_nofile_raise_high(struct nofile_raise *r);
void sys_nofile_restore(const struct nofile_raise *r);

/* ------------------------------------------------------------------ */
/* sig.c: handlers deferred while the thread is inside the library      */
/* ------------------------------------------------------------------ */

/* Depth of served calls on this thread: above 0, the program's handlers
 * of asynchronous signals wait (sig.c). */
extern __thread int shim_busy __attribute__((tls_model("initial-exec")));
extern __thread int shim_sig_pending __attribute__((tls_model("initial-exec")));
void sig_init(void);
void sig_flush(void);
/* A jump at depth 0 with signals recorded; to: the mask it puts back, or
 * NULL when it keeps the thread's (calls_jump.c). */
void sig_jump(const sigset_t *to);
/* The C library's jumps resolved, outside any handler that may call one. */
void jump_resolve(void);
void sig_fork_child(void);
/* Around a wait in the kernel a signal must interrupt (a FIFO's open), or
 * program code a walk calls back: the depth at 0. A cancellation held off
 * stays so until the served call ends. */
struct sig_allowed {
	int depth, held; /* what sig_allow_end puts back */
};
struct sig_allowed sig_allow_begin(void);
void sig_allow_end(struct sig_allowed was);
/* Handlers without SA_RESTART run on this thread: a wait that saw it move
 * ends with EINTR, one that did not goes on, as the kernel restarts it. */
extern __thread unsigned sig_interrupts __attribute__((tls_model("initial-exec")));
/* Where the wrapper's frame is while it runs a program's handler in
 * asynchronous cancellation mode (0: none): served calls of that handler
 * hold the cancellation off (sig_cancel_hold), and sig_flush lets it go
 * (sig_cancel_held) as the depth drops to 0, as the kernel acts on one at
 * a system call's end, never inside it. */
extern __thread uintptr_t sig_async_frame __attribute__((tls_model("initial-exec")));
extern __thread int sig_cancel_held __attribute__((tls_model("initial-exec")));
void sig_cancel_hold(void);

/* fdguard.c: the library's descriptors at low numbers against the
 * program's dup2 and dup3. enter/leave bracket a stretch (nested); own
 * comes before each descriptor the library makes for itself in a served
 * call, and holds to the call's end (call_end); a dup holds dup_begin
 * (0 or -EBUSY) to dup_end around its system call. */
extern __thread bool shim_fdguard_call __attribute__((tls_model("initial-exec")));
void shim_fdguard_enter(void);
void shim_fdguard_leave(void);
void shim_fdguard_own(void);
void shim_fdguard_call_end(void);
int shim_fdguard_dup_begin(void);
void shim_fdguard_dup_end(void);
void shim_fdguard_fork_child(void);
void shim_fdguard_vfork_parent(void);

static inline void shim_busy_enter(void)
{
	if (unlikely(sig_async_frame) && shim_busy == 0)
		sig_cancel_hold();
	shim_busy++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void shim_busy_leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (--shim_busy == 0 && unlikely(shim_sig_pending | sig_cancel_held | shim_fdguard_call))
		sig_flush();
}

static inline void shim_serve_end(int *unused)
{
	(void)unused;
	shim_busy_leave();
}

/* In an interposer of a call the C library makes a cancellation point,
 * as it starts to serve a UMFS file: a pending pthread_cancel() is acted on
 * here, before the call has taken anything of the library (a call passed
 * on reaches the C library's function, a cancellation point itself; see
 * fd_get_cancel_point). Nothing inside the library is one
 * (core/os_kernel.c), so no thread is unwound from the middle of its
 * work; a record-lock wait acts on one at each look, where it can let go
 * of everything (reclock.c). */
#define SHIM_CANCEL_POINT() pthread_testcancel()

/* A wait that a signal ended, having let go of everything: the call
 * starts again once the handlers ran (reclock.c). Not an errno. */
#define SHIM_ERESTART 512

/* The rest of the enclosing block serves the call: signals wait until it
 * is left (by any return). */
#define SHIM_SERVE()                                                      \
	__attribute__((cleanup(shim_serve_end), unused)) int shim_serving_ = \
		(shim_busy_enter(), 0)

/* ------------------------------------------------------------------ */
/* probe.c: the caller's memory, checked before it is used              */
/* ------------------------------------------------------------------ */

long shim_probe_pages_rd(const char *p, const char *last);
long shim_probe_pages_wr(char *p, char *last);
/* the byte at p (0-255), or -EFAULT */
long shim_probe_byte(const char *p);
/* strnlen, or -EFAULT */
long shim_probe_strnlen(const char *s, size_t max);
/* In the fault handler: a fault inside a probe returns -EFAULT from it. */
bool shim_probe_fixup(void *ctx);
/* In the fault handler, after fault.c's: a fault on the destination of a
 * copy through shim_user_out ends the copy there. */
bool shim_copy_fixup(void *ctx, const siginfo_t *si);
/* Stores of the core into a program's buffer (umfs_pread_out). */
extern const struct umfs_out shim_user_out;
/* How many leading bytes of the caller's [p, p + len) can be written
 * (dest) or read: up to the first bad page. */
size_t user_prefix(const void *p, size_t len, bool dest);

/* 0 when [p, p+len) can be read (written), else -EFAULT. */
static inline int user_readable(const void *p, size_t len)
{
	const char *c = (const char *)p;

	if (len == 0)
		return 0;
	if ((uintptr_t)c + len < (uintptr_t)c)
		return -EFAULT;
	return (int)shim_probe_pages_rd(c, c + len - 1);
}

static inline int user_writable(void *p, size_t len)
{
	char *c = (char *)p;

	if (len == 0)
		return 0;
	if ((uintptr_t)c + len < (uintptr_t)c)
		return -EFAULT;
	return (int)shim_probe_pages_wr(c, c + len - 1);
}

/* "" (AT_EMPTY_PATH): false for NULL and for an unreadable pointer */
static inline bool path_empty(const char *p)
{
	return p != NULL && shim_probe_byte(p) == 0;
}

/* p as the caller passed it: glibc declares these path arguments nonnull,
 * but the kernel takes NULL for some (statx and fstatat with AT_EMPTY_PATH,
 * utimensat), so the compiler must not drop a test for it. */
static inline const char *path_as_given(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* "" with AT_EMPTY_PATH on a descriptor: fchownat, utimensat and
 * fchmodat2 act on dirfd's file itself (an O_PATH descriptor may). */
static inline bool path_empty_on_fd(int dirfd, const char *p, int flags)
{
	return (flags & AT_EMPTY_PATH) && path_empty(p) && dirfd != AT_FDCWD;
}

/* statx and fstatat on the descriptor itself: "" with AT_EMPTY_PATH, or
 * NULL with it (Linux 6.11 on). */
static inline bool path_names_dirfd(const char *p, int flags)
{
	return (flags & AT_EMPTY_PATH) && (p == NULL || path_empty(p));
}

/* Copies a result out to the caller: -EFAULT, as the kernel's copy, when
 * the destination cannot be written. */
static inline int user_copy_out(void *dst, const void *src, size_t len)
{
	int r = user_writable(dst, len);

	if (r == 0)
		__builtin_memcpy(dst, src, len);
	return r;
}


/* ------------------------------------------------------------------ */
/* init.c: configuration                                               */
/* ------------------------------------------------------------------ */

/* Small fields first, and the pool's path right after the prefix's in one
 * buffer: a process starting writes one page of it, not three. */
struct shim_config {
	_Atomic int state;          /* 0 not read, 1 being read, 2 ready */
	bool enabled;               /* UMFS_POOL set: some paths are UMFS's */
	bool stats;
	bool readonly;              /* UMFS_RDONLY=1 */
	bool bad_mount;             /* UMFS_MOUNT unusable: nothing is UMFS's */
	bool no_pool;               /* UMFS_MOUNT set, UMFS_POOL not: nothing is UMFS's */
	bool log_to_file;           /* log_file is set */
	int log_level;
	size_t prefix_len;
	const char *base;           /* the prefix's last component ("umfs") */
	size_t base_len;
	const char *pool;           /* UMFS_POOL, absolute (in paths; "" when unset) */
	char *prefix;               /* UMFS_MOUNT, normalised, no trailing '/';
				       after its NUL, the pool's path */
	size_t prefix_room;         /* the bytes prefix points to */
	char *log_file;             /* UMFS_LOG_FILE (PATH_MAX bytes) */
};
extern struct shim_config cfg;
void shim_config_init(void);
/* The variables the library reads as it starts, taken in one pass over the
 * environment as the configuration is first read (a getenv each would walk
 * it once a name): each as it was then, NULL when unset. */
enum shim_env_var {
	SHIM_ENV_LOG,
	SHIM_ENV_LOG_FILE,
	SHIM_ENV_STATS,
	SHIM_ENV_RDONLY,
	SHIM_ENV_POOL,
	SHIM_ENV_MOUNT,
	SHIM_ENV_ADOPT,
	SHIM_ENV_NO_POOL_SAID,
	SHIM_ENV_FDS,
	SHIM_ENV_HELD,
	SHIM_ENV_CWD,
	SHIM_ENV_COUNT
};
const char *shim_env(enum shim_env_var v);
static inline void shim_config_ready(void)
{
	if (unlikely(atomic_load_explicit(&cfg.state, memory_order_acquire) != 2))
		shim_config_init();
}

/* The process umask, kept current by the umask() wrapper. */
extern _Atomic mode_t shim_umask;

/* The library's fork handlers, also run around the children the C library
 * starts without them (_Fork, clone, syscall(SYS_clone), calls_proc.c). */
void shim_fork_prepare(void);
void shim_fork_parent(void);
void shim_fork_child(void);
/* After shim_fork_prepare and the call that started the child: r is what
 * it returned, 0 in the child; the handler each side needs runs (errno
 * kept). Returns r. */
long shim_fork_done(long r);
/* False in a child started by a clone the library did not see: its state
 * (a copy of the parent's, or shared with it) is the parent's. */
bool shim_state_ours(void);
/* No other thread runs in this process (errno kept). */
bool shim_one_thread(void);

/* vfork.c: a vfork kept real while the child needs nothing of UMFS.
 * Whether this is such a vfork's child, running in its parent's memory
 * (whose library state it must not change); a handler that runs in the
 * parent before the vfork returns is the parent's. */
extern __thread bool shim_vfork_on __attribute__((tls_model("initial-exec")));
static inline bool shim_vfork_child(void)
{
	return unlikely(shim_vfork_on) && !shim_state_ours();
}
/* Ends such a child, whose parent then forks instead (the child's code
 * runs again from the vfork in a child with memory of its own). For a
 * child that needs UMFS, or a change of the library's state. */
__attribute__((noreturn)) void shim_vfork_retry(void);
/* Either, in one: the retry when this is such a child. */
static inline void shim_vfork_own_memory(void)
{
	if (shim_vfork_child())
		shim_vfork_retry();
}

/* ------------------------------------------------------------------ */
/* mount.c: the pool, and what processes sharing it share               */
/* ------------------------------------------------------------------ */

/* The mounted pool, mounting it at the first use; NULL with *err set. */
struct umfs_fs *shim_fs(int *err);
/* The pool if already mounted (no side effect). */
struct umfs_fs *shim_fs_peek(void);
/* Whether a new image of this process would reach the pool it mounted by
 * its name: the name leads to the same file, which the process's
 * credentials may still open (true when nothing is mounted). */
bool shim_pool_by_name(void);
/* Mounts for adopting descriptors inherited across exec. */
int shim_mount_for_adoption(void);
/* Whether this image changed its credentials (shim_mount_before_cred_change
 * ran): an access check it makes now may not hold after its exec, which
 * drops capabilities a changed user keeps until then. */
bool shim_creds_changed(void);
/* Before the process's credentials change: mounts the pool, if it is not
 * yet mounted and this process may still open it. */
void shim_mount_before_cred_change(void);

/* The shared area's descriptor (it holds the library's gate). */
int shim_shared_fd(void);

/* inherit.c: the pool's descriptors passed across exec to a program that
 * keeps the library, for one that may not open the pool itself. */
enum inherit_kind { INH_POOL, INH_LOCK, INH_RUN, INH_HELPER, INH_SHARED, INH_OFD, INH_ARENA,
		    INH_FIFO, INH_SOCK, INH_COUNT };
void inherit_init(void);
bool inherit_has_pool(void);
/* Whether a child of this process takes nothing of UMFS along: no UMFS
 * descriptor, no shared mapping of a UMFS file (whose stores an exec
 * writes back), no pool descriptors inherited and not yet taken up, no
 * change of credentials, and a mounted pool that a new image reaches by
 * name (shim_pool_by_name). Such a child needs neither the pool's
 * descriptors nor gates of its own. */
bool inherit_nothing_to_pass(void);
int inherit_peek(enum inherit_kind k);
int inherit_take(enum inherit_kind k);
bool inherit_gates_shared(void);
/* Closes the predecessor's gate descriptions an image kept for its mount. */
void inherit_bridge_close(void);
/* What one exec or spawn passes: prepare (spawn: fresh gate descriptions
 * for a child started without fork handlers), the UMFS_FDS entry, open
 * (inheritable) just before, close after a failed exec or a spawn. */
struct inherit_pass {
	bool active, opened, gates_shared;
	int image; /* inherit_pass_image's verdict: IMAGE_*, or -errno */
	int fd[INH_COUNT];
	int fresh[2];
};
void inherit_pass_prepare(struct inherit_pass *p, bool spawn);
/* Whether the start must know its image: the pool's descriptors would
 * pass, or UMFS descriptors are open under the kernel fallback. */
bool inherit_pass_needs_image(const struct inherit_pass *p);
/* Tells, once per start, whether the image at path (fd when path is NULL)
 * started with env keeps the library; closes the pass when it does not. */
void inherit_pass_image(struct inherit_pass *p, const char *path, int fd, char *const env[]);
int inherit_pass_env(const struct inherit_pass *p, char *buf, size_t size);
void inherit_pass_open(struct inherit_pass *p);
void inherit_pass_close(struct inherit_pass *p);
void inherit_fork_prepare(void);
void inherit_fork_child(void);

/* image.c: whether the image at path (fd when path is NULL), started with
 * env, runs with the library: IMAGE_LIBRARY; IMAGE_NO_LIBRARY (static,
 * 32-bit or of another CPU, set-user-ID or set-group-ID, a script of such
 * an interpreter, an environment without the library); IMAGE_UNTOLD (it
 * may be executed, not read); or -errno when it cannot be opened for a
 * reason that fails the exec too; errno kept. */
enum { IMAGE_NO_LIBRARY = 0, IMAGE_LIBRARY = 1, IMAGE_UNTOLD = 2 };
int image_keeps_library(const char *path, int fd, char *const env[]);
/* calls_proc.c: the entries of an environment a program passed, or
 * -EFAULT when its array or the head of one of its strings (the longest
 * key the library compares, SHIM_ENV_KEY_MAX bytes) cannot be read; the
 * exec then leaves it as it is, for the kernel to answer EFAULT. */
#define SHIM_ENV_KEY_MAX 32
long shim_env_count(char *const envp[]);

/* calls_cred.c: after a change of credentials (also through syscall(2),
 * which calls shim_mount_before_cred_change first): r unchanged, errno kept. */
long shim_cred_after_change(long r);

/* Cross-process exclusion around core calls that change or walk the pool
 * (everything but data reads). */
void pool_lock(void);
void pool_unlock(void);
void pool_unlock_ro(void); /* nothing changed: others need not recount */
/* Between two steps of a long hold (a host file's copy, a write-back):
 * whether another user of the pool waits for the lock and this thread
 * may let it go (no caller further up holds it too); pool_lock_yield
 * lets that user in. */
bool pool_lock_wanted(void);
void pool_lock_yield(void);
/* mounts.c: the mount table with the UMFS prefix in it (for df, findmnt) */
bool mounts_is_table(const char *path);
int mounts_open(const char *path, int flags);
FILE *mounts_fopen(const char *path, const char *mode);

/* The open-inode registry (call with pool_lock held). */
void registry_add(uint64_t ino, int delta);
/* The helper directory ("shim" in the pool's runtime directory): its
 * descriptor and path (for messages and token links), the name of a host
 * file standing for inode ino ("KIND-INO-GEN"), and an open of one
 * (umfs_rundir_openat: no symlinks, checked; returns a high descriptor). */
int shim_helper_dfd(void);
const char *shim_helper_dir(void);
/* A read-only process's private helper directory, for its children; NULL
 * when the helper directory is the pool's runtime directory's. */
const char *shim_helper_private_dir(void);
int shim_helper_name(char *buf, size_t size, const char *kind, uint64_t ino, uint32_t gen);
/* A subdirectory of the helper directory that processes keep open (so
 * that one that dropped its privileges still reaches it): the inherited
 * descriptor of kind k, else name made or opened with mode; a high,
 * internal descriptor or -errno. */
int shim_helper_subdir_open(struct umfs_fs *fs, enum inherit_kind k, const char *name,
			    mode_t mode);
/* The same kept in *slot from its first use (one per process). */
int shim_helper_subdir_get(struct umfs_fs *fs, _Atomic int *slot, enum inherit_kind k,
			   const char *name, mode_t mode);
void shim_helper_subdir_close(_Atomic int *slot);
/* The last user's: the subdirectory (this process's, or one a process gone
 * before made, which the helper directory's scan saw: named) loses its
 * names starting with prefix, then goes. */
void shim_helper_subdir_remove(struct umfs_fs *fs, _Atomic int *slot, bool named, const char *name,
			       mode_t mode, const char *prefix);
int shim_helper_open(const char *name, int flags, mode_t type);
/* The same, left at the number open gave (moving it would close one). */
int shim_helper_open_low(const char *name, int flags, mode_t type);
void mount_fork_prepare(void);
void mount_fork_parent(void);
void mount_fork_child(void);
/* Inodes mapped MAP_SHARED by any process (calls_mmap.c). */
extern _Atomic uint32_t *shim_maps_active;
static inline bool mmap_any(void)
{
	_Atomic uint32_t *p = shim_maps_active;

	return p && atomic_load_explicit(p, memory_order_relaxed) != 0;
}
uint64_t map_slot_find(uint64_t ino, uint32_t gen);
bool map_slot_held(uint64_t ino);
uint64_t map_slot_add(uint64_t ino, uint32_t gen, int delta, uint32_t *users, bool *taken);
uint64_t map_slot_turn(uint64_t ino, uint32_t gen);
bool map_slot_idle(uint64_t ino, uint32_t gen, uint64_t turn);
void map_slot_gone(uint64_t ino, uint32_t gen);
#define MAP_FILLED UINT64_MAX
uint64_t map_slot_filled(uint64_t ino, uint32_t gen, uint64_t inst);
void map_slot_fill(uint64_t ino, uint32_t gen, uint64_t inst, uint64_t filled);
/* The mappings' sequence: bumped before and after a host file is made or a
 * mapping let go of (pool lock held); readers compare it (mmap_read). */
uint32_t map_seq_read(void);
void map_seq_bump(void);
/* Whether the arena of descriptions may hold slots hinted used, across
 * the processes of the pool and its idle spells (struct shim_shared). */
void shim_arena_mark_used(bool used);
bool shim_arena_maybe_used(void);
/* Renames and rmdirs anywhere bump this: paths held for directories
 * (dirfds, the cwd) are checked again when it moved. */
uint64_t shim_dir_epoch(void);
/* Executions of UMFS programs ever (text.c): 0 spares the ETXTBSY check. */
uint32_t shim_texts(void);
void shim_texts_bump(void);
void shim_dir_epoch_bump(void);
void mount_exit(void);
/* Idle probes, for leaving from _exit: false when a lock of the module is
 * held (maybe by this very thread, interrupted by a signal handler). */
bool mount_idle(void);
static inline bool shim_mutex_idle(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m) != 0)
		return false;
	pthread_mutex_unlock(m);
	return true;
}
extern uint8_t shim_pool_uuid[16];

/* ------------------------------------------------------------------ */
/* ofd.c: open file descriptions                                        */
/* ------------------------------------------------------------------ */

#define OFD_MAGIC 0x314446304F534D55ull /* "UMSO0FD1" */

/* The part every process sharing the description sees: a slot of the
 * arena file in the helper directory, mapped MAP_SHARED (ofd_slot.c). */
/* ofd_shared.created: the open created the file (F_CREATED_QUERY); it
 * was an O_TMPFILE open (F_GETFL shows O_TMPFILE, as the kernel's). */
#define OFD_CREATED 1u
#define OFD_TMPFILE 2u

struct ofd_shared {
	uint64_t magic;
	uint32_t version;
	uint32_t size;            /* bytes of the object (mapping length) */
	uint8_t pool_uuid[16];
	uint64_t ino;
	uint32_t gen;
	_Atomic int flags;        /* open flags; F_SETFL changes the status bits */
	uint32_t created;         /* OFD_CREATED, OFD_TMPFILE */
	struct umfs_plock lock;   /* the file offset, across processes */
	uint64_t pos;             /* file offset; a directory's readdir cookie */
	_Atomic uint64_t lock_id; /* its owner id in the lock table; 0 until it locks */
	uint32_t path_len;
	char path[];              /* pool path at open ("/a/b"), NUL-terminated */
};

struct ofd {
	_Atomic int refs;          /* descriptors pointing here + calls in flight */
	struct ofd_shared *sh;     /* its arena slot */
	uint32_t slot;             /* identifies the description across exec */
	int anchor;                /* the slot's anchor descriptor, or -1 */
	uint64_t born;             /* ofd_spawn_epoch() before it was made */
	struct umfs_file *uf;
	uint64_t ino;
	uint32_t gen;
	mode_t type;               /* S_IFREG, S_IFDIR; with O_PATH, any type */
	int cached_flags;          /* flags last given to uf */
	pthread_mutex_t dlock;     /* dir stream for getdents64 */
	struct umfs_dir *dir;
	bool registered;           /* counted in the open-inode registry */
	bool tmpfile;              /* O_TMPFILE: linkat may give it a name */
	char *lpath;               /* current pool path if it changed since open */
	uint64_t path_epoch;       /* shim_dir_epoch() when the path was last checked */
	bool live;
	struct ofd *next, *prev;   /* every live description of this process */
	int cloexec_fd;            /* the descriptor whose FD_CLOEXEC is known, or -1 */
	bool cloexec;              /* that flag */
};

/* An open that changes the file (O_CREAT, O_TRUNC) has its number and slot
 * first, so that one the process has no descriptor for (EMFILE, ENOMEM)
 * fails before the core creates or truncates anything, as in the kernel. */
struct ofd_claim {
	struct ofd *o;
	struct ofd_shared *sh;
	uint64_t born;
	uint32_t slot;
	int anchor, fd;
	bool cloexec;
};
/* 0, the claim held; or -errno, nothing held. */
int ofd_claim(int flags, struct ofd_claim *c);
/* Lets the claim go: the number is free again. The caller's errno is kept. */
void ofd_claim_cancel(struct ofd_claim *c);
/* Opens the user-visible descriptor for an open core file, on claim c (or
 * NULL: one claimed now): returns the fd (lowest free number, as open()
 * must) or -errno, the claim let go; on success the core file belongs to
 * the description. */
int ofd_create(struct ofd_claim *c, struct umfs_file *uf, const char *path, int flags);
void ofd_get(struct ofd *o);
void ofd_put(struct ofd *o);
/* ofd_put for the close of fd: true when fd stayed open, parked (never
 * for fd -1). */
bool ofd_put_closing(struct ofd *o, int fd);
/* Something changed fd's FD_CLOEXEC: o no longer knows it. */
static inline void ofd_cloexec_unknown(struct ofd *o, int fd)
{
	if (o->cloexec_fd == fd)
		o->cloexec_fd = -1;
}
/* Offset lock (robust: a dead holder's lock is taken over). */
void ofd_lock(struct ofd *o);
void ofd_unlock(struct ofd *o);
/* Syncs uf's status flags with the shared ones (F_SETFL in another process). */
static inline void ofd_sync_flags(struct ofd *o)
{
	int f = atomic_load_explicit(&o->sh->flags, memory_order_relaxed);

	if (unlikely(f != o->cached_flags)) {
		umfs_file_set_flags(o->uf, f);
		o->cached_flags = f;
	}
}
/* The description's pool path as the name space is now (directories are
 * followed across renames); -ENOENT when the directory was removed. */
int ofd_path(struct ofd *o, char *buf, size_t size);
/* Re-creates the descriptions inherited across exec. Returns how many. */
int ofd_adopt_inherited(void);

/* fallback.c: under umfs-run's kernel fallback (the pool's umfs-fuse at
 * the prefix, in this mount namespace), UMFS descriptors that leave the
 * library's reach become the mount's files. */
bool fallback_mounted(void);
/* The descriptors an exec or a spawn gave as the mount's files: number,
 * the token's copy and its close-on-exec flag, put back by
 * fallback_exec_restore. */
struct fallback_moved {
	int fd, saved;
	bool cloexec;
};
struct fallback_swap {
	size_t n;
	struct fallback_moved *moved;
	bool locked;
};
/* Before an exec or a spawn (spawn: a posix_spawn, whose file actions can
 * make any descriptor inheritable) whose image will not load the library
 * (pass->image IMAGE_NO_LIBRARY), or may not (IMAGE_UNTOLD,
 * inherit_pass_image): each inheritable UMFS descriptor
 * (spawn: each) becomes an open of its file through the mount.
 * fallback_exec_restore undoes it after a failed exec or a spawn. */
void fallback_exec_prepare(struct fallback_swap *sw, const struct inherit_pass *pass, bool spawn);
void fallback_exec_restore(struct fallback_swap *sw);
void fallback_fork_prepare(void);
void fallback_fork_parent(void);
void fallback_fork_child(void);
/* Whether msg's SCM_RIGHTS carry UMFS descriptors to give as the mount's
 * files (under the fallback); fallback_sendmsg sends it so. Each number is
 * looked at: a parked one is settled. */
bool fallback_rights_carry_umfs(const struct msghdr *msg);
ssize_t fallback_sendmsg(int fd, const struct msghdr *msg, int flags);
/* For one message of several (sendmmsg): msg made to point to a copy of
 * its control data carrying the mount's files (0, or -ENOMEM);
 * fallback_rights_drop closes them after the send. */
struct fallback_rights {
	void *control;
	int *opened;
	size_t n;
};
int fallback_rights_take(struct msghdr *msg, struct fallback_rights *fr);
void fallback_rights_drop(struct fallback_rights *fr);

/* held.c: the core's holds an exec hands to the next image. held_hand
 * returns the UMFS_HELD entry for its environment (NULL: none handed);
 * held_keep(that) takes them back when the exec failed; held_exec_start
 * is the last step before the exec itself; held_take_over,
 * in the new image after adoption, takes them, and held_release_pending
 * drops them once the pool is mounted (shim_fs). */
#define SHIM_HELD_ENV "UMFS_HELD"
const char *held_hand(void);
/* held_hand counted this process as left (it holds nothing of the pool):
 * the exec under way passes nothing on (inherit.c). */
bool held_leaving(void);
void held_keep(const char *env);
void held_exec_start(void);
void held_take_over(void);
void held_release_pending(void);
void held_fork_child(void);
/* Every live description, for fork/exec/exit bookkeeping. */
void ofd_foreach(void (*fn)(struct ofd *o, void *arg), void *arg);
void ofd_fork_prepare(void);
void ofd_fork_parent(void);
void ofd_fork_child(void);
/* Registry accounting around exec: the old image's share goes away, the
 * new image adds its own. */
void ofd_exec_prepare(void);
void ofd_exec_failed(void);
void ofd_exit(void);
bool ofd_idle(void);
void ofd_shutdown(void);
/* The description's current size (fstat through the core). */
off_t ofd_size(struct ofd *o);
/* The offset SEEK_SET, SEEK_CUR or SEEK_END counts from; -EINVAL for
 * another whence. */
int ofd_whence_base(struct ofd *o, int whence, int64_t *base);

/* --- fastopen: ofd_slot.c, the arena of descriptions and their tokens --- */
#define OFD_SLOTS 32768u      /* descriptions open at once, across processes */
#define OFD_SLOT_SIZE 8192u   /* struct ofd_shared and a PATH_MAX path */
/* Claims a free slot: returns the token descriptor (the lowest free number,
 * close-on-exec if flags say so) holding the slot, and the slot; or -errno. */
int ofd_slot_claim(int flags, uint32_t *slotp, struct ofd_shared **shp, int *anchorp);
/* This process let go of the slot (its descriptors are closed); the
 * anchor (or -1) that claim gave, and the spawn epoch before the claim. */
void ofd_slot_release(uint32_t slot, int anchor, uint64_t born);
/* The program closed fd, the description's last descriptor: its slot may
 * keep fd open, parked, for the next open (true; else the caller closes
 * it). cloexec: fd's close-on-exec flag. */
bool ofd_slot_park(uint32_t slot, int anchor, uint64_t born, int fd, bool cloexec);
/* The parked number, or -1 (read without a lock: a hint). */
extern _Atomic int ofd_parked_fd;
/* Closes the parked number if it is above fd: the kernel must hand out the
 * lowest free number, and a number at or below the parked one just became
 * free, or is about to be allocated by the kernel. */
void ofd_unpark_above(int fd);
static inline void fd_unpark_above(int fd)
{
	if (unlikely(atomic_load_explicit(&ofd_parked_fd, memory_order_relaxed) > fd))
		ofd_unpark_above(fd);
}
/* Before the kernel allocates a descriptor for the program. */
static inline void fd_unpark_all(void)
{
	fd_unpark_above(-1);
}
/* Every number below fd_open_below is known to be open: the kernel gave a
 * number at or above it as the lowest free one, and no close the library
 * saw freed one below since (fd_frees counts those closes, so that an
 * allocation racing with a close does not raise it). Only a number with
 * every lower one open may be parked: the next open must get the lowest. */
extern _Atomic int fd_open_below;
extern _Atomic unsigned fd_frees;
/* The kernel handed out fd as the lowest free number; frees: fd_frees read
 * before the call. */
static inline void fd_note_alloc(int fd, unsigned frees)
{
	int below = atomic_load_explicit(&fd_open_below, memory_order_relaxed);

	while (below <= fd && atomic_load(&fd_frees) == frees &&
	       !atomic_compare_exchange_weak(&fd_open_below, &below, fd + 1))
		;
}
/* Number fd was closed (or is about to be). */
static inline void fd_note_closed(int fd)
{
	int below = atomic_load_explicit(&fd_open_below, memory_order_relaxed);

	atomic_fetch_add(&fd_frees, 1);
	while (below > fd && !atomic_compare_exchange_weak(&fd_open_below, &below, fd))
		;
}
/* devnode.c: which kernel descriptors stand for UMFS device nodes, kept
 * through the program's closes, close_range, dup and F_DUPFD; one atomic
 * load while none is open. file: the UMFS node behind kernel descriptor
 * fd, opened O_PATH for the caller to close, or -ENOENT when fd stands for
 * none. */
extern _Atomic unsigned devfd_count;
void devnode_forget_slow(int first, int last);
/* The descriptors' holds on their nodes: one more each for a child about to
 * be forked (before the core's own fork handler, which holds the metadata
 * lock the count takes); all counted out (-1) at exit and before an exec,
 * back in (1) after an exec that failed. */
void devnode_fork_prepare(void);
void devnode_fork_child(void);
void devnode_registry_all(int delta);
void devnode_dup_slow(int old, int new);
/* Whether fd is in the table (not checked against its host node). */
bool devnode_has(int fd);
int devnode_file_slow(int fd, struct umfs_file **uf);
static inline bool devnode_any(void)
{
	return unlikely(atomic_load_explicit(&devfd_count, memory_order_relaxed) != 0);
}
static inline void devnode_forget(int first, int last)
{
	if (devnode_any())
		devnode_forget_slow(first, last);
}
static inline void devnode_dup(int old, int new)
{
	if (devnode_any() && new >= 0)
		devnode_dup_slow(old, new);
}
static inline int devnode_file(int fd, struct umfs_file **uf)
{
	return devnode_any() ? devnode_file_slow(fd, uf) : -ENOENT;
}

/* The program's descriptor fd was closed (or is about to be): a parked
 * number above it is no longer the lowest free one, nor does it stand for
 * a device node. */
static inline void fd_note_free(int fd)
{
	fd_note_closed(fd);
	fd_unpark_above(fd);
	devnode_forget(fd, fd);
}
/* Children: descriptions created before a spawn may be held by it. */
uint64_t ofd_spawn_epoch(void);
void ofd_spawn_mark(void);
void ofd_slot_hint_cached(void);
bool ofd_slot_idle(void);
/* Whether any process holds a description of the file open for writing
 * (a scan of the arena: for exec). */
bool ofd_slot_open_for_write(uint64_t ino, uint32_t gen);
/* Whether the description with this lock id still holds the slot (its
 * token is locked): a probe of system calls, for lock owners. */
bool ofd_slot_alive(uint32_t slot, uint64_t lock_id);
/* Maps the arena now (before a change of credentials may forbid it). */
void ofd_slot_open_now(void);
/* The ofd/ directory and the arena file, while mapped (-1 otherwise). */
int ofd_dir_fd(void);
int ofd_arena_fd(void);
void ofd_slot_fork_prepare(void);
void ofd_slot_fork_parent(void);
void ofd_slot_fork_child(void);
/* The slot a /proc/self/fd link names, NULL if it is no token of this pool
 * (maps the arena; call once mounted). */
struct ofd_shared *ofd_slot_of_link(const char *link, uint32_t *slotp);
/* Whether a link looks like some pool's token (before mounting). */
bool ofd_link_is_token(const char *link);
/* At the last exit: the arena and the tokens nobody else holds go. */
void ofd_slot_shutdown(void);
/* --- end fastopen --- */

/* ------------------------------------------------------------------ */
/* uinfo.c: descriptor table                                            */
/* ------------------------------------------------------------------ */

extern struct ofd *_Atomic *uinfo;
extern size_t uinfo_size;
/* One past the highest number the table ever held an entry for (a
 * description, an internal or a parked mark): every entry from it on is
 * NULL, so that a scan of the table ends there, not at its 2^20 numbers. */
extern _Atomic size_t uinfo_high;
extern _Atomic int uinfo_count;   /* descriptors that are UMFS files */
/* The library's own numbers lie in a window of UINFO_WINDOW from its base
 * (nofile.c): their marks are bits, not entries of the table, whose page
 * for them would be one more fault for every process that joins a pool. */
#define UINFO_WINDOW SHIM_HIGH_ROOM
_Static_assert(UINFO_WINDOW <= 64, "a bit per number of the window");
extern _Atomic int uinfo_window; /* its first number; -1 until the first mark */
extern _Atomic uint64_t uinfo_window_bits;

/* Marks a descriptor the shim itself uses (pool, logs, locks). */
#define UINFO_INTERNAL ((struct ofd *)1)
/* Marks a number the program closed that stays open, parked (ofd_slot.c). */
#define UINFO_PARKED ((struct ofd *)2)

/* The program named a parked number: it is closed now, for real (so the
 * kernel answers as for any closed descriptor); returns what fd holds. */
struct ofd *uinfo_parked_used(int fd);
/* One load: the description at fd, or NULL (or UINFO_INTERNAL). A parked
 * number is never returned: it is the program's closed descriptor. */
static inline struct ofd *uinfo_peek(int fd)
{
	unsigned w = (unsigned)fd - (unsigned)atomic_load_explicit(&uinfo_window,
								   memory_order_relaxed);
	struct ofd *o;

	if (unlikely(w < UINFO_WINDOW) &&
	    (atomic_load_explicit(&uinfo_window_bits, memory_order_acquire) >> w & 1))
		return UINFO_INTERNAL;
	/* the size is published after the table (uinfo.c) */
	if ((size_t)(unsigned)fd >= __atomic_load_n(&uinfo_size, __ATOMIC_ACQUIRE))
		return NULL;
	o = atomic_load_explicit(&uinfo[fd], memory_order_acquire);
	if (unlikely(o == UINFO_PARKED))
		o = uinfo_parked_used(fd);
	return o;
}
/* Parks fd (the caller keeps it open) / takes it back from parking: true
 * when it was parked, and is now neither parked nor a UMFS descriptor. */
void uinfo_park(int fd);
bool uinfo_unpark(int fd);
/* The description at fd with a reference for the call, or NULL. */
struct ofd *fd_get(int fd);
static inline struct ofd *fd_get_fast(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	if (likely(o == NULL) || o == UINFO_INTERNAL)
		return NULL;
	return fd_get(fd);
}
/* fd_get_fast in an interposer of a cancellation point: for a UMFS
 * descriptor, a pending cancellation is acted on before the reference is
 * taken (SHIM_CANCEL_POINT); a kernel descriptor's call is the C library's,
 * a cancellation point already. */
static inline struct ofd *fd_get_cancel_point(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	if (likely(o == NULL) || o == UINFO_INTERNAL)
		return NULL;
	SHIM_CANCEL_POINT();
	return fd_get(fd);
}
/* 0 when the kernel's fdget would find fd (an open descriptor; a UMFS one
 * not O_PATH, not the library's own), else -EBADF: what the calls that
 * take a file (copies, clones) check first. */
int fd_fdget_check(int fd);
/* Puts o (already referenced for the slot) at fd; drops what was there.
 * False, o's reference dropped and fd left as it was, for a number past
 * the table (uinfo_covers). */
bool uinfo_set(int fd, struct ofd *o);
/* Whether the table has fd's entry: every number the kernel can hand out
 * under the hard limit the process had as it reserved the table; a larger
 * one (the limit raised since, past 2^20) cannot be a UMFS descriptor (its
 * open or dup fails with EMFILE). */
bool uinfo_covers(int fd);
/* Takes the description out of fd (the caller drops the reference). */
struct ofd *uinfo_take(int fd);
void uinfo_mark_internal(int fd);
void uinfo_unmark_internal(int fd);
static inline bool uinfo_is_internal(int fd)
{
	return uinfo_peek(fd) == UINFO_INTERNAL;
}
/* Whether a number the program names may go to the kernel: a parked one
 * is closed for real first (uinfo_peek), so that the kernel answers as
 * for any closed number; the library's own are not the program's (EBADF). */
static inline bool fd_pass_ok(int fd)
{
	if (likely(uinfo_peek(fd) != UINFO_INTERNAL))
		return true;
	errno = EBADF;
	return false;
}
/* Whether some number of the program's is a token: a UMFS descriptor, or
 * a parked number. A call that hands the kernel numbers unseen when
 * neither is must look at each otherwise (uinfo_peek settles a parked one). */
static inline bool uinfo_tokens(void)
{
	return atomic_load_explicit(&uinfo_count, memory_order_relaxed) > 0 ||
	       atomic_load_explicit(&ofd_parked_fd, memory_order_relaxed) >= 0;
}

/* ------------------------------------------------------------------ */
/* path.c                                                               */
/* ------------------------------------------------------------------ */

enum {
	UP_KERNEL = 0, /* not UMFS: hand kpath/kdirfd to the kernel */
	UP_UMFS = 1,   /* pool path in buf */
	UP_FD = 2,     /* a /proc/self/fd/N (or /dev/fd/N, /dev/stdin...) link to UMFS fd N */
};

struct upath {
	int kind;
	int kdirfd;          /* UP_KERNEL: dirfd for the kernel */
	const char *kpath;   /* UP_KERNEL: path for the kernel */
	int fd;              /* UP_FD */
	int hops;            /* external round trips so far */
	uint64_t base;       /* UP_UMFS: the directory a relative buf starts at */
	uint32_t base_gen;   /* (the cwd's, a dirfd's); 0: buf is from the root */
	int base_fd;         /* the descriptor of base, or AT_FDCWD */
	char buf[PATH_MAX];  /* UP_UMFS: pool path, from the root ("/a/b") or
			      * relative to base ("a/b"); UP_KERNEL after an
			      * external hop: the host path (kpath points here) */
};

extern _Atomic bool cwd_in_umfs;

/* Whether dirfd (AT_FDCWD: the cwd) is one of UMFS's, or a number of
 * U-info's at all (a parked one is settled). */
static inline bool dirfd_in_umfs(int dirfd)
{
	if (dirfd == AT_FDCWD)
		return atomic_load_explicit(&cwd_in_umfs, memory_order_relaxed);
	return uinfo_peek(dirfd) != NULL;
}

/* The test below on a path whose first prefix_len + 1 bytes are readable. */
static inline bool path_maybe_umfs_at(int dirfd, const char *path)
{
	if (path[0] == '/') {
		if (path[1] == '/' || path[1] == '.')
			return true; /* needs normalising */
		if (__builtin_memcmp(path, cfg.prefix, cfg.prefix_len) == 0 &&
		    (path[cfg.prefix_len] == '/' || path[cfg.prefix_len] == '\0'))
			return true;
		/* /dev/fd/N, /proc/self/fd/N and /dev/std* naming UMFS descriptors */
		return uinfo_tokens() && (path[1] == 'd' || path[1] == 'p');
	}
	/* "umfs/..." relative to the prefix's parent directory (checked later) */
	if (unlikely(__builtin_memcmp(path, cfg.base, cfg.base_len) == 0 &&
		     (path[cfg.base_len] == '/' || path[cfg.base_len] == '\0')))
		return true;
	return dirfd_in_umfs(dirfd);
}

/* A path that starts within prefix_len + 1 bytes of its page's end: its
 * head is copied through a probe first (path.c). */
bool path_maybe_umfs_page_end(int dirfd, const char *path);

/* Cheap test: may this path (relative to dirfd) be UMFS's? False means
 * certainly not: pass it through. An unreadable path is the kernel's too
 * (it answers EFAULT): the first byte is probed (probe.c), and what the
 * test reads lies in that byte's page unless the path starts near its end. */
static inline bool path_maybe_umfs(int dirfd, const char *path)
{
	shim_config_ready();
	if (unlikely(!cfg.enabled) || path == NULL)
		return false;
	if (unlikely(((uintptr_t)path & 4095) > 4094 - cfg.prefix_len))
		return path_maybe_umfs_page_end(dirfd, path);
	if (unlikely(shim_probe_byte(path) < 0))
		return false;
	return path_maybe_umfs_at(dirfd, path);
}

/* Classifies path relative to dirfd: UP_KERNEL, UP_UMFS or UP_FD, or -errno.
 * A UP_UMFS path relative to the cwd or a UMFS dirfd stays relative: the
 * core walks it from that directory's inode, so it may be PATH_MAX - 1
 * bytes however deep the directory is; path_resolve tells the core so
 * (path_use(up, NULL)) for the calls that follow in this thread. */
int path_resolve(int dirfd, const char *path, struct upath *up);
/* The pool path of directory dirfd (AT_FDCWD: the cwd) in buf: 1; 0 when
 * it is the kernel's; or -errno (-ENOTDIR for a UMFS file). */
int path_dir_base(int dirfd, char *buf, size_t size);
/* Tells the core where this thread's relative paths start: from's base,
 * and to's for the second path of rename and link (NULL: the root). */
void path_use(const struct upath *from, const struct upath *to);
/* up's pool path from the root (a relative one joined to its base's
 * path): -ENAMETOOLONG when it does not fit, -ENOENT when the base was
 * removed. Call without the pool lock. */
int path_absolute(struct umfs_fs *fs, const struct upath *up, char *buf, size_t size);
/* After a core call gave -UMFS_EXTERNAL: takes the host path, classifies
 * it again (it may lead back into the pool). */
int path_external(struct upath *up);
/* One path operation: what to do with a UMFS path (called with the pool
 * lock held, unless the core call takes what it needs itself: lockless;
 * may return -UMFS_EXTERNAL), with a kernel path, and with a
 * /proc/self/fd/N link to a UMFS descriptor (NULL, or PATH_RUN_KERNEL
 * returned: the kernel gets the original path). */
#define PATH_RUN_KERNEL LONG_MIN
struct path_ops {
	long (*umfs)(struct umfs_fs *fs, const char *path, void *arg);
	long (*kernel)(int dirfd, const char *path, void *arg);
	long (*byfd)(int fd, void *arg);
	bool changes; /* the UMFS operation may change the pool */
	bool lockless; /* one core call that only reads (umfs_meta_read) */
};
/* Runs ops on path relative to dirfd; 0 (or a count) or -errno. */
long path_run(int dirfd, const char *path, const struct path_ops *ops, void *arg);
/* Host path of a pool path (prefix + path). */
int path_to_host(const char *pool_path, char *buf, size_t size);
/* cwd */
int cwd_set_umfs(const char *pool_path);
/* Makes the directory open as hold (O_PATH, counted in the registry) the
 * cwd; the cwd owns hold from then on. */
void cwd_set_file(struct umfs_fs *fs, struct umfs_file *hold);
/* The cwd directory's inode and generation, for walks that start there;
 * -EAGAIN when the cwd is not in UMFS (any more). */
int cwd_base(uint64_t *ino, uint32_t *gen);
void cwd_leave_umfs(void);
/* Before a vfork kept real: the cwd checked against the name space now,
 * so that the child, which must not write it, finds it checked. */
void cwd_vfork_prepare(void);
int cwd_get(char *buf, size_t size); /* host form; -ERANGE, -ENOENT (removed),
				      * -ENAMETOOLONG (longer than PATH_MAX) */
int cwd_pool_path(char *buf, size_t size); /* pool form, checked like ofd_path */
/* The host form however long (malloc'd into *out), for getcwd. */
int cwd_get_long(char **out);
/* What UMFS_CWD tells children: the host path, or "@INO.GEN" when the path
 * is longer than PATH_MAX (the directory is found by inode). */
int cwd_env(char *buf, size_t size);
void cwd_from_env(void);
void cwd_fork_prepare(void);
void cwd_exit(void);
bool cwd_idle(void);
void cwd_exec(int delta);
/* True when s is a host path inside the mount prefix; *rest gets the pool path. */
bool path_host_is_umfs(const char *s, char *rest, size_t size);

/* ------------------------------------------------------------------ */
/* sock.c: host sockets standing for Unix socket names in UMFS          */
/* ------------------------------------------------------------------ */

/* The sun_path of a Unix socket address naming a path (not abstract, not
 * unnamed), NUL-terminated into path (sizeof sun_path + 1 bytes). */
bool sock_path_of(const struct sockaddr *addr, socklen_t len, char *path);
/* Binds fd to the host socket of inode ino (generation gen), recording
 * the address the program gave (given). */
int sock_bind_host(int fd, uint64_t ino, uint32_t gen, const char *given);
/* The host address a connect to inode ino reaches; -ECONNREFUSED when no
 * socket of this inode was bound. */
int sock_connect_addr(uint64_t ino, uint32_t gen, struct sockaddr_un *sa, socklen_t *len);
/* Copies an address the kernel gave (klen bytes) to the program's addr
 * (*lenp bytes; *lenp gets the whole length), a host socket's address
 * replaced by the one given to bind. */
int sock_addr_out(const struct sockaddr *kaddr, socklen_t klen, struct sockaddr *addr,
		  socklen_t *lenp);
/* The host sockets' subdirectory of the helper directory. */
#define SOCK_SUBDIR "sock"
/* The last user leaving: the host sockets go (mount_exit); named: the
 * helper directory's scan saw the subdirectory. */
void sock_shutdown(bool named);
/* The subdirectory of the host sockets, opened as the pool is mounted (or
 * inherited): 0 or -errno. */
int sock_dir_get(struct umfs_fs *fs);
int sock_dir_fd(void);
void sock_dir_close(void);

/* ------------------------------------------------------------------ */
/* fifo.c: host FIFOs standing for FIFOs in UMFS                        */
/* ------------------------------------------------------------------ */

/* The subdirectory of the host FIFOs, opened as the pool is mounted (or
 * inherited): 0 or -errno. */
int fifo_dir_get(struct umfs_fs *fs);
int fifo_dir_fd(void);
void fifo_dir_close(void);
/* The host FIFO of UMFS FIFO ino, opened with flags (made when missing):
 * a descriptor or -errno. The UMFS inode's permissions are the caller's. */
int fifo_host_open(struct umfs_fs *fs, uint64_t ino, int flags);
/* The host FIFOs' subdirectory of the helper directory. */
#define FIFO_SUBDIR "fifo"
/* The last user leaving: the host FIFOs go (mount_exit); named: the
 * helper directory's scan saw the subdirectory. */
void fifo_shutdown(bool named);

/* ------------------------------------------------------------------ */
/* Cross-call helpers                                                   */
/* ------------------------------------------------------------------ */

/* The POSIX boundary: -errno -> -1 with errno set. */
static inline long shim_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* calls_file.c */
/* Whether the caller may open the special file path with flags (its
 * access mode; O_TRUNC asks for write, as the kernel's may_open): 0 or
 * -errno. */
int shim_open_special_access(struct umfs_fs *fs, const char *path, int flags);
int shim_open(int dirfd, const char *path, int flags, mode_t mode);
int shim_open_umfs(struct umfs_fs *fs, const char *pool_path, int flags, mode_t mode);
/* openat2 inside UMFS: rel resolved from the directory at pool path base
 * under the resolve rules (UMFS_RESOLVE_*). */
int shim_open_umfs_resolve(struct umfs_fs *fs, const char *base, const char *rel,
			   unsigned resolve, int flags, mode_t mode);
/* calls_openat2.c: openat2(2), as syscall(SYS_openat2, ...) reaches it */
long shim_openat2(int dirfd, const char *path, const void *how, size_t size);
/* aio_libaio.c: syscall(2) with io_submit, io_getevents, io_pgetevents or
 * io_destroy's number (a: its six arguments) */
long shim_aio_syscall(long number, const long *a);
int shim_close(int fd);
ssize_t shim_write(int fd, const void *buf, size_t len);
int shim_fd_stat(int fd, struct stat *st);
/* Whether this thread has capability cap (effective), errno kept. */
bool shim_capable(int cap);
/* devnode.c: a device node in UMFS opened as the kernel would: the node's
 * permissions checked, then the device's host node opened; a kernel
 * descriptor, or -errno (-ENXIO: no such device). */
int devnode_open(struct umfs_fs *fs, const char *path, int flags, const struct stat *st);
/* The asynchronous engines' operations (aio_*.c) on a description the
 * caller holds: off -1 is the file offset; flags are RWF_* bits. */
ssize_t shim_ofd_preadv(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int flags);
ssize_t shim_ofd_pwritev(struct ofd *o, const struct iovec *iov, int cnt, off_t off, int flags);
int shim_ofd_fsync(struct ofd *o, int datasync);
/* calls_fd.c */
void fd_closed_hook(int fd, struct ofd *o);

/* ------------------------------------------------------------------ */
/* reclock.c: fcntl record locks, OFD locks and flock, in user space    */
/* ------------------------------------------------------------------ */

/* fcntl F_GETLK, F_SETLK(W), F_OFD_*; flock(2). Called from an
 * interposer that holds a reference to o and serves the call (one
 * SHIM_SERVE): a thread cancelled in a wait lets go of both. A wait a
 * signal ended returns -SHIM_ERESTART (lock_restarts). */
int reclock_fcntl(struct ofd *o, int cmd, struct flock *user);
int reclock_flock(struct ofd *o, int op);
/* A descriptor of o's file closed: the process's POSIX locks on it go. */
void reclock_fd_closed(struct ofd *o);
/* This process let go of description o; only_ours: no other holds it. */
void reclock_ofd_closed(struct ofd *o, bool only_ours);
/* A slot was claimed: the locks its previous description left go. */
void reclock_slot_claimed(struct ofd_shared *sh, uint32_t slot);
void reclock_fork_child(void);
/* exec: POSIX locks on files with close-on-exec descriptors go with them */
void reclock_exec_prepare(void);
void reclock_exec_failed(void);
/* The pool is mounted: an exec's marked locks go (reclock_exec_prepare). */
void reclock_mounted(struct umfs_fs *fs);
/* lease.c: F_SETLEASE, F_GETLEASE, F_NOTIFY */
long ofd_lease_fcntl(int fd, struct ofd *o, int cmd, int arg);
/* fsize.c: RLIMIT_FSIZE (RLIM_INFINITY when unlimited) */
extern _Atomic uint64_t shim_fsize_max;
static inline uint64_t fsize_limit(void)
{
	return atomic_load_explicit(&shim_fsize_max, memory_order_relaxed);
}
void fsize_init(void);
void fsize_changed(int resource);
/* A write of *len bytes at offset at: 0 (*len cut at the limit) or -EFBIG
 * with SIGXFSZ raised. */
int fsize_clamp(off_t at, size_t *len);
/* A file of size growing to new_size: 0 or -EFBIG with SIGXFSZ raised. */
int fsize_check_grow(off_t size, off_t new_size);
/* text.c: ETXTBSY. A held text lock for executing the file (-errno), its
 * release when the exec failed; -ETXTBSY when a running program is the
 * file; an inherited text lock recognised by its link (the new image). */
int text_hold(uint64_t ino, uint32_t gen);
void text_release(int fd);
int text_busy(uint64_t ino, uint32_t gen);
bool text_adopt(int fd, const char *link);
/* calls_meta.c */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6 */
#endif
int shim_fstatat(int dirfd, const char *path, struct stat *st, int flags);
/* The system calls, as syscall(2) makes them (-1 and errno on failure):
 * utimensat with a NULL path (dirfd itself), and fchmodat2 (Linux 6.6:
 * AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH), which glibc's functions refuse. */
int shim_utimensat_fd(int dirfd, const struct timespec ts[2], int flags);
int shim_fchmodat2(int dirfd, const char *path, mode_t mode, int flags);
/* calls_names.c */
ssize_t shim_readlinkat(int dirfd, const char *path, char *buf, size_t size);
char *shim_realpath(const char *path, char *resolved);
/* calls_stdio.c */
void stdio_init(void);
void stdio_fd_changed(int fd);
/* calls_mmap.c: hooks that keep the host file of a mapped inode and the
 * UMFS file in step (call them when mmap_any()) */
extern _Atomic int mmap_shared_count; /* this process's shared mappings */
ssize_t mmap_read(uint64_t ino, uint32_t gen, struct umfs_file *uf, void *buf, size_t len,
		  off_t off, const struct umfs_out *out);
/* Before a write of len bytes at off (pool lock held): the pages the
 * mappings of the file show them in, reserved; -ENOSPC, refusing the
 * write, when their file system (the helper directory's) is full. */
int mmap_write_reserve(uint64_t ino, uint32_t gen, off_t off, size_t len);
void mmap_write_hook(uint64_t ino, uint32_t gen, const void *buf, size_t len, off_t off,
		     off_t size);
void mmap_size_hook(uint64_t ino, uint32_t gen, off_t size);
void mmap_punch_hook(uint64_t ino, uint32_t gen, off_t off, off_t len);
void mmap_sync_hook(uint64_t ino, uint32_t gen, struct umfs_file *uf);
void mmap_writeback_all(void);
void mmap_registry_all(int delta);
void mmap_shutdown(void);
bool mmap_idle(void);
/* baseless_stores: the host files were left by a library older than the
 * bases, whose host files without one may hold stores */
void mmap_recover_orphans(bool baseless_stores);
void mmap_recover_orphan(struct umfs_fs *fs, int dfd, const char *name, bool baseless_stores);
/* calls_dir.c */
DIR *shim_opendir(const char *path);
struct dirent *shim_readdir(DIR *d);
int shim_closedir(DIR *d);

/* ------------------------------------------------------------------ */
/* stats.c and log.c                                                    */
/* ------------------------------------------------------------------ */

enum shim_call {
#define SHIM_CALL(name) SC_##name,
#include "calls.def"
#undef SHIM_CALL
	SC__COUNT
};

extern bool shim_observe; /* stats or debug log: the slow bookkeeping path */
void stats_init(void);
void stats_pass(enum shim_call c);
void stats_served(enum shim_call c, uint64_t t0, long bytes);
void stats_report(void);
uint64_t stats_now(void);
static inline uint64_t stats_t0(void)
{
	return unlikely(shim_observe) ? stats_now() : 0;
}

enum {
	LOG_NONE = UMFS_LOG_NONE, LOG_ERROR = UMFS_LOG_ERROR, LOG_WARN = UMFS_LOG_WARN,
	LOG_INFO = UMFS_LOG_INFO, LOG_DEBUG = UMFS_LOG_DEBUG, LOG_TRACE = UMFS_LOG_TRACE
};
/* envpath.c: a host path from the environment, opened relative to the
 * directory that holds its last component (dfd, name), following no
 * symlink that another user may have planted or may change. On failure
 * why says, for the user, what was refused; dfd may still be open. */
struct envpath {
	int dfd;                 /* the last component's directory (O_PATH), or -1 */
	char name[NAME_MAX + 1]; /* the last component */
	int copy_of;             /* envpath_output: the descriptor duplicated, or -1 */
	char why[320];
};
/* openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode): the descriptor
 * or -errno. The caller then calls envpath_done. */
int envpath_open(const char *path, int flags, mode_t mode, struct envpath *ep);
void envpath_done(struct envpath *ep);
/* A log or statistics file (UMFS_LOG_FILE, UMFS_STATS_FILE) opened for
 * appending, made 0600: a regular file or FIFO of this user with one link,
 * or a character device; never waiting on a FIFO; /dev/stderr and the
 * like name the process's own descriptors (duplicated). */
int envpath_output(const char *path, struct envpath *ep);

void log_init(void);
void log_adopted(void);
void log_write(const char *buf, size_t len);
int log_sink(void);
void shim_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define SHIM_LOG(level, ...)                              \
	do {                                              \
		if (unlikely(cfg.log_level >= (level)))   \
			shim_logf(level, __VA_ARGS__);    \
	} while (0)
/* Bookkeeping of one call: served by UMFS (r is the result, -errno on
 * failure) or passed through. */
void shim_trace(enum shim_call c, bool served, long r, uint64_t t0, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define TRACE_SERVED(c, r, t0, ...)                                           \
	do {                                                                  \
		if (unlikely(shim_observe))                                   \
			shim_trace(SC_##c, true, (long)(r), t0, __VA_ARGS__); \
	} while (0)
#define TRACE_PASS(c, ...)                                               \
	do {                                                             \
		if (unlikely(shim_observe))                              \
			shim_trace(SC_##c, false, 0, 0, __VA_ARGS__);    \
	} while (0)
const char *shim_call_name(enum shim_call c);

/* Thread-local depth: calls made by the shim or the core themselves are
 * not counted or logged as the program's. */
extern __thread int shim_depth;

#endif /* UMFS_SHIM_H */
