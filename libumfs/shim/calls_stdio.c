/* SPDX-License-Identifier: MIT */
/*
 * calls_stdio.c - stdio on UMFS files.
 *
 * glibc's FILE reads and writes with internal calls the shim cannot see, so
 * a FILE on a UMFS file is a fopencookie() stream whose functions are the
 * shim's read, write, lseek and close; its _fileno is the UMFS descriptor,
 * so fileno() works. fopen, fopen64, fdopen and freopen make such streams.
 *
 * The standard streams: when descriptor 0, 1 or 2 becomes a UMFS file
 * (inherited across exec for `cmd > /umfs/f`, or a shell's dup2 for a
 * builtin's redirection), the stdin/stdout/stderr variables are pointed at
 * a cookie stream on that descriptor, with the buffering mode the original
 * had and any bytes it held; when the descriptor stops being a UMFS file,
 * they point back at glibc's own streams.
 */
#include <mntent.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#ifndef _IO_UNBUFFERED
#define _IO_UNBUFFERED 0x0002
#endif
#ifndef _IO_LINE_BUF
#define _IO_LINE_BUF 0x0200
#endif
#define IO_NO_READS 0x0004
#define IO_NO_WRITES 0x0008
#define IO_IS_APPENDING 0x1000

struct cookie {
	int fd;
	int std;          /* 0, 1, 2 for a standard stream; -1 */
	bool detached;    /* a standard stream no longer in use: close nothing */
	FILE *fp;
	struct cookie *next;
};

/* recursive, and made at compile time: four calls of the C library fewer,
 * each a lazy binding, in every process that starts with the library */
static pthread_mutex_t cookie_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct cookie *cookies;
static FILE *native_std[3];
static struct cookie *std_cookie[3]; /* installed, or spare (detached) */

/* ------------------------------------------------------------------ */
/* The cookie functions: the shim's own calls                           */
/* ------------------------------------------------------------------ */

static ssize_t ck_read(void *c, char *buf, size_t n)
{
	struct cookie *k = c;

	return read(k->fd, buf, n);
}

static ssize_t ck_write(void *c, const char *buf, size_t n)
{
	struct cookie *k = c;
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(k->fd, buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done; /* short: glibc marks the stream in error */
}

static int ck_seek(void *c, off64_t *off, int whence)
{
	struct cookie *k = c;
	off_t r = lseek(k->fd, *off, whence);

	if (r < 0)
		return -1;
	*off = r;
	return 0;
}

static void cookie_forget(struct cookie *k)
{
	struct cookie **p;

	for (p = &cookies; *p; p = &(*p)->next) {
		if (*p == k) {
			*p = k->next;
			break;
		}
	}
}

static FILE **std_var(int fd)
{
	return fd == 0 ? &stdin : (fd == 1 ? &stdout : &stderr);
}

static int ck_close(void *c)
{
	struct cookie *k = c;
	bool detached;
	int r = 0;
	SHIM_SERVE();

	pthread_mutex_lock(&cookie_lock);
	cookie_forget(k);
	detached = k->detached;
	if (k->std >= 0 && std_cookie[k->std] == k) {
		/* fclose(stdout) on our stream: glibc's takes its place again */
		std_cookie[k->std] = NULL;
		if (*std_var(k->std) == k->fp)
			*std_var(k->std) = native_std[k->std];
	}
	pthread_mutex_unlock(&cookie_lock);
	if (!detached) {
		int cs;

		/* no cancellation point, as the C library's fclose closes */
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		r = close(k->fd);
		pthread_setcancelstate(cs, NULL);
	}
	free(k);
	return r;
}

static const cookie_io_functions_t ck_funcs = { ck_read, ck_write, ck_seek, ck_close };

/* ------------------------------------------------------------------ */
/* Making streams                                                       */
/* ------------------------------------------------------------------ */

/* fopen(3) mode -> open(2) flags; the mode fopencookie understands. */
static int parse_mode(const char *mode, int *flags, char ckmode[3])
{
	bool plus = false;
	int f;

	if (!mode)
		return -EINVAL;
	switch (mode[0]) {
	case 'r':
		f = 0;
		break;
	case 'w':
		f = O_CREAT | O_TRUNC;
		break;
	case 'a':
		f = O_CREAT | O_APPEND;
		break;
	default:
		return -EINVAL;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			plus = true;
		else if (*m == 'x')
			f |= O_EXCL;
		else if (*m == 'e')
			f |= O_CLOEXEC;
	}
	if (plus)
		f |= O_RDWR;
	else
		f |= mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	*flags = f;
	ckmode[0] = mode[0];
	ckmode[1] = plus ? '+' : '\0';
	ckmode[2] = '\0';
	return 0;
}

static FILE *cookie_file(int fd, const char *ckmode, int std)
{
	struct cookie *k = calloc(1, sizeof(*k));
	FILE *fp;

	if (!k)
		return NULL;
	k->fd = fd;
	k->std = std;
	fp = fopencookie(k, ckmode, ck_funcs);
	if (!fp) {
		free(k);
		return NULL;
	}
	fp->_fileno = fd; /* fileno() works; glibc marks cookie streams with -2 */
	k->fp = fp;
	pthread_mutex_lock(&cookie_lock);
	k->next = cookies;
	cookies = k;
	pthread_mutex_unlock(&cookie_lock);
	return fp;
}

static struct cookie *cookie_of(FILE *fp)
{
	struct cookie *k;

	if (!fp)
		return NULL;
	pthread_mutex_lock(&cookie_lock);
	for (k = cookies; k; k = k->next)
		if (k->fp == fp)
			break;
	pthread_mutex_unlock(&cookie_lock);
	return k;
}

static bool is_umfs_fd(int fd)
{
	struct ofd *o = uinfo_peek(fd);

	return o && o != UINFO_INTERNAL;
}

SHIM_API FILE *fopen(const char *path, const char *mode)
{
	char ckmode[3];
	FILE *fp;
	int flags, fd, err;

	/* a table of mounts: as in open_common */
	if (likely(!path_maybe_umfs(AT_FDCWD, path)) || unlikely(mounts_is_table(path))) {
		TRACE_PASS(fopen, "\"%s\"", path ? path : "(null)");
		if (unlikely(mounts_is_table(path)) && mode && mode[0] == 'r' &&
		    !strchr(mode, '+'))
			return mounts_fopen(path, mode);
		fd_unpark_all();
		return SYS(fopen)(path, mode);
	}
	SHIM_SERVE();
	err = parse_mode(mode, &flags, ckmode);
	if (err) {
		errno = -err;
		return NULL;
	}
	fd = shim_open(AT_FDCWD, path, flags, 0666);
	TRACE_SERVED(fopen, fd, 0, "\"%s\", \"%s\"", path, mode);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	if (!is_umfs_fd(fd)) /* the path left the pool */
		fp = SYS(fdopen)(fd, mode);
	else
		fp = cookie_file(fd, ckmode, -1);
	if (fp && ckmode[0] == 'a' && !ckmode[1])
		fseeko(fp, 0, SEEK_END); /* as glibc: ftell of an "a" stream is the end */
	if (!fp) {
		int e = errno;

		shim_close(fd);
		errno = e;
	}
	return fp;
}

SHIM_API FILE *fdopen(int fd, const char *mode)
{
	char ckmode[3];
	struct ofd *o = fd_get_fast(fd);
	int flags, have, err;
	FILE *fp;

	if (likely(o == NULL))
		return SYS(fdopen)(fd, mode);
	SHIM_SERVE();
	have = atomic_load(&o->sh->flags);
	ofd_put(o);
	err = parse_mode(mode, &flags, ckmode);
	if (!err && (have & O_PATH))
		err = -EBADF;
	if (!err && (((flags & O_ACCMODE) != O_WRONLY && (have & O_ACCMODE) == O_WRONLY) ||
		     ((flags & O_ACCMODE) != O_RDONLY && (have & O_ACCMODE) == O_RDONLY)))
		err = -EINVAL; /* the mode asks for access the descriptor lacks */
	if (err) {
		errno = -err;
		return NULL;
	}
	if ((flags & O_APPEND) && !(have & O_APPEND))
		fcntl(fd, F_SETFL, (have & ~O_ACCMODE) | O_APPEND);
	fp = cookie_file(fd, ckmode, -1);
	if (fp && ckmode[0] == 'a' && !ckmode[1])
		fseeko(fp, 0, SEEK_END);
	TRACE_SERVED(fopen, fp ? fd : -errno, 0, "%d, \"%s\" (fdopen)", fd, mode);
	return fp;
}

/* Points a cookie stream at another descriptor and resets its state. */
static void cookie_retarget(FILE *fp, struct cookie *k, int fd, const char *ckmode)
{
	k->fd = fd;
	fp->_fileno = fd;
	fp->_flags &= ~(IO_NO_READS | IO_NO_WRITES | IO_IS_APPENDING);
	if (ckmode[0] == 'r' && !ckmode[1])
		fp->_flags |= IO_NO_WRITES;
	else if (ckmode[0] != 'r' && !ckmode[1])
		fp->_flags |= IO_NO_READS;
	if (ckmode[0] == 'a')
		fp->_flags |= IO_IS_APPENDING;
	clearerr(fp);
	fseeko(fp, 0, ckmode[0] == 'a' ? SEEK_END : SEEK_SET);
}

SHIM_API FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	struct cookie *k = cookie_of(fp);
	char ckmode[3], self[64];
	int flags, fd, err, std = -1;

	if (likely(!k && !path_maybe_umfs(AT_FDCWD, path))) {
		fd_note_free(fileno(fp));
		fd_unpark_all();
		return SYS(freopen)(path, mode, fp);
	}
	SHIM_SERVE();
	err = parse_mode(mode, &flags, ckmode);
	if (err) {
		errno = -err;
		return NULL;
	}
	for (int i = 0; i < 3; i++)
		if (fp == native_std[i] || fp == *std_var(i) || (k && k->std == i))
			std = i;
	if (!path) { /* a new mode on the same file */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", k ? k->fd : fileno(fp));
		path = self;
	}
	fflush(fp);
	fd = shim_open(AT_FDCWD, path, flags & ~O_CLOEXEC, 0666);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	if (std >= 0) {
		/* keep the standard descriptor number: dup2 also switches the stream */
		if (fd != std) {
			dup2(fd, std);
			close(fd);
		}
		if (k && k->std == std && std_cookie[std] == k)
			cookie_retarget(fp, k, std, ckmode);
		return *std_var(std);
	}
	if (k) {
		int old = k->fd;

		cookie_retarget(fp, k, fd, ckmode);
		if (old != fd)
			close(old);
		return fp;
	}
	/* a glibc stream cannot be made to use UMFS underneath */
	close(fd);
	fclose(fp);
	errno = ENOTSUP;
	return NULL;
}

/* The formatted text written to a UMFS file by the library's write; flag:
 * _FORTIFY_SOURCE's checks of the format (__vasprintf_chk's), 0 for none. */
static int vdprintf_umfs(int fd, int flag, const char *fmt, va_list ap)
{
	char *s;
	int n;
	ssize_t w = 0;

	SHIM_SERVE();
	n = flag > 0 ? __vasprintf_chk(&s, flag, fmt, ap) : vasprintf(&s, fmt, ap);
	if (n < 0)
		return -1;
	for (size_t done = 0; done < (size_t)n; done += (size_t)w) {
		w = write(fd, s + done, (size_t)n - done);
		if (w <= 0) {
			free(s);
			return -1;
		}
	}
	free(s);
	return n;
}

SHIM_API int vdprintf(int fd, const char *fmt, va_list ap)
{
	if (likely(uinfo_peek(fd) == NULL))
		return SYS(vdprintf)(fd, fmt, ap);
	return vdprintf_umfs(fd, 0, fmt, ap);
}

/* What a _FORTIFY_SOURCE build's dprintf and vdprintf call. */
SHIM_API int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	if (likely(uinfo_peek(fd) == NULL))
		return SYS(__vdprintf_chk)(fd, flag, fmt, ap);
	return vdprintf_umfs(fd, flag, fmt, ap);
}

SHIM_API int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return n;
}

SHIM_API int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

/* ------------------------------------------------------------------ */
/* The standard streams                                                 */
/* ------------------------------------------------------------------ */

/* Moves the bytes glibc's stream holds for writing into ours. */
static void take_pending(FILE *from, FILE *to)
{
	size_t n;

	if (!from->_IO_write_ptr || from->_IO_write_ptr <= from->_IO_write_base)
		return;
	n = (size_t)(from->_IO_write_ptr - from->_IO_write_base);
	fwrite(from->_IO_write_base, 1, n, to);
	from->_IO_write_ptr = from->_IO_write_base;
}

static void std_install(int fd)
{
	FILE **var = std_var(fd), *native = native_std[fd], *fp;
	struct cookie *k = std_cookie[fd];

	if (*var != native && (!k || *var != k->fp))
		return; /* the program put its own stream there: leave it */
	if (k) {
		/* a spare from an earlier redirection: use it again */
		k->detached = false;
		fp = k->fp;
		clearerr(fp);
	} else {
		fp = cookie_file(fd, fd == 0 ? "r" : "w", fd);
		if (!fp)
			return;
		k = cookie_of(fp);
		std_cookie[fd] = k;
		if (native->_flags & _IO_UNBUFFERED)
			setvbuf(fp, NULL, _IONBF, 0);
		else if (native->_flags & _IO_LINE_BUF)
			setvbuf(fp, NULL, _IOLBF, BUFSIZ);
	}
	if (fd != 0)
		take_pending(native, fp);
	*var = fp;
}

/* Returns the stream to flush once the lock is dropped. */
static FILE *std_uninstall(int fd)
{
	struct cookie *k = std_cookie[fd];
	FILE **var = std_var(fd);

	if (!k || k->detached)
		return NULL;
	k->detached = true;
	if (*var == k->fp)
		*var = native_std[fd];
	return k->fp;
}

void stdio_fd_changed(int fd)
{
	FILE *flush = NULL;

	if (fd < 0 || fd > 2 || !native_std[fd])
		return;
	pthread_mutex_lock(&cookie_lock);
	if (is_umfs_fd(fd))
		std_install(fd);
	else
		flush = std_uninstall(fd);
	pthread_mutex_unlock(&cookie_lock);
	if (flush && fd == 0)
		__fpurge(flush);
	else if (flush)
		fflush(flush); /* to whatever the descriptor is now, as glibc's would */
}

void stdio_init(void)
{
	native_std[0] = stdin;
	native_std[1] = stdout;
	native_std[2] = stderr;
	for (int fd = 0; fd <= 2; fd++)
		stdio_fd_changed(fd);
}

/* The C library closes a stream's descriptor where the library cannot see
 * it: the number is noted free (fd_open_below), as close() does. */
static int stream_close(int (*real_close)(FILE *), FILE *fp)
{
	int fd = fileno(fp), r;

	r = real_close(fp);
	if (fd >= 0)
		fd_note_free(fd);
	return r;
}

SHIM_API int fclose(FILE *fp)
{
	return stream_close(SYS(fclose), fp);
}

SHIM_API int pclose(FILE *fp)
{
	return stream_close(SYS(pclose), fp);
}

/* setmntent and endmntent open and close their stream inside the C
 * library, unseen: a table of mounts is the library's (with the prefix's
 * line), a UMFS file a cookie stream. As glibc's, the mode gets "ce" (no
 * cancellation in the stream's calls, close-on-exec) and the caller does
 * the stream's locking. */
SHIM_API FILE *setmntent(const char *file, const char *mode)
{
	char m[32];
	FILE *fp;

	if (likely(!path_maybe_umfs(AT_FDCWD, file) && !mounts_is_table(file))) {
		fd_unpark_all();
		return SYS(setmntent)(file, mode);
	}
	if (mode && snprintf(m, sizeof(m), "%sce", mode) < (int)sizeof(m))
		mode = m;
	fp = fopen(file, mode);
	if (fp)
		__fsetlocking(fp, FSETLOCKING_BYCALLER);
	return fp;
}

SHIM_API int endmntent(FILE *fp)
{
	if (fp)
		stream_close(SYS(fclose), fp);
	return 1; /* always, as the C library's */
}
