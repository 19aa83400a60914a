/* SPDX-License-Identifier: MIT */
/*
 * decls.h - prototypes of glibc entry points the shim defines but glibc's
 * headers declare only in some configurations (_FORTIFY_SOURCE) or no
 * longer (the __xstat family, removed from the headers in 2.33, still
 * linked by older binaries).
 */
#ifndef UMFS_SHIM_DECLS_H
#define UMFS_SHIM_DECLS_H

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t len, off_t off, size_t buflen);
ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t reslen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *lenp);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
int __ttyname_r_chk(int fd, char *buf, size_t len, size_t buflen);
int __ptsname_r_chk(int fd, char *buf, size_t len, size_t buflen);
struct pollfd;
int __poll_chk(struct pollfd *fds, unsigned long n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, unsigned long n, const struct timespec *ts,
		const sigset_t *mask, size_t fdslen);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap);
char *__getwd_chk(char *buf, size_t buflen);
void __chk_fail(void) __attribute__((noreturn));
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t bsd_signal(int sig, sighandler_t h);

#endif
