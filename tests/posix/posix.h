/* SPDX-License-Identifier: MIT */
/*
 * posix.h - what the families of posix_test share: the output of a check
 * line, the R/ST macros that print a call as written, and the preparation
 * helpers (posix_lib.c). See posix_test.c for what the program is.
 */
#ifndef UMFS_POSIX_H
#define UMFS_POSIX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <dlfcn.h>
#include <linux/falloc.h>
#include <linux/fiemap.h> /* FS_IOC_FIEMAP */
#include <linux/fs.h> /* FIGETBSZ, FICLONE */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>


#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NOBODY 65534
#define BADFD 9999		/* a descriptor number that is never open */
#define FAMILY_TIMEOUT 60	/* seconds a family may take */

extern const char *top;		/* DIR as given */
extern int topfd;		/* DIR, opened O_DIRECTORY */
extern char toprp[PATH_MAX];	/* realpath(DIR) */
extern char self_exe[PATH_MAX];	/* this program, for exec */
extern struct stat S;		/* filled by the ST() checks */

enum how { AS_NUM, AS_FD, AS_ERRRET };

/*
 * The macros print the call as written (#expr, taken here before any
 * macro in it is expanded, so that O_CREAT stays O_CREAT).
 */
#define R_(name, expr, str, how) ({					\
	long r_; int e_;						\
	errno = 0;							\
	r_ = (long)(expr);						\
	e_ = errno;							\
	report(name, str, r_, e_, how);					\
})

/* R: a call returning a number or -1 with errno. */
#define R(name, expr) R_(name, expr, #expr, AS_NUM)

/* RFD: a call returning a descriptor (printed as "fd"). */
#define RFD(name, expr) ((int)R_(name, expr, #expr, AS_FD))

/* RFDC: the same, and the descriptor is closed. */
#define RFDC(name, expr) do {						\
	int fdc_ = (int)R_(name, expr, #expr, AS_FD);			\
	if (fdc_ >= 0)							\
		close(fdc_);						\
} while (0)

/* RE: a call returning 0 or an error number (posix_fallocate...). */
#define RE(name, expr) R_(name, expr, #expr, AS_ERRRET)

/* RP: a call returning a pointer, NULL with errno on failure. */
#define RP(name, expr) ({						\
	void *p_; int e_;						\
	errno = 0;							\
	p_ = (void *)(expr);						\
	e_ = errno;							\
	if (p_)								\
		emit(name, "%s = ok", #expr);				\
	else								\
		emit(name, "%s = NULL %s", #expr, ename(e_));		\
	p_;								\
})

/* RMAP: mmap; returns NULL on failure. */
#define RMAP(name, expr) ({						\
	void *m_; int e_;						\
	errno = 0;							\
	m_ = (expr);							\
	e_ = errno;							\
	if (m_ != MAP_FAILED)						\
		emit(name, "%s = ok", #expr);				\
	else								\
		emit(name, "%s = MAP_FAILED %s", #expr, ename(e_));	\
	m_ == MAP_FAILED ? NULL : m_;					\
})

/* ST: a stat-like call filling S. */
#define ST(name, expr) ({						\
	int rs_, es_;							\
	errno = 0;							\
	rs_ = (expr);							\
	es_ = errno;							\
	show_stat(name, #expr, rs_, es_);				\
	rs_;								\
})

/* A list of strings, sorted and joined with spaces. */
struct strs {
	char **v;
	size_t n, cap;
};

void claim(const char *name);
const char *ename(int e);
void emit(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void setup_fail(const char *what, const char *rel, int e);
long report(const char *name, const char *call, long r, int e, enum how how);
char *P(const char *rel);
const char *relpath(const char *abs);
uint64_t fnv(const void *buf, size_t n);
const char *esc(const void *buf, size_t n);
int all_zero(const char *p, size_t n);
const char *ftype(mode_t m);
const char *fmt_stat(const struct stat *st);
void show_stat(const char *name, const char *call, int r, int e);
const char *fmt_ts(const struct timespec *ts);
void show_times(const char *name, const char *rel, int nofollow);
int mk(const char *rel);
int putn(const char *rel, const void *buf, size_t n);
int put(const char *rel, const char *s);
int sl(const char *target, const char *rel);
int openp(const char *rel, int flags);
char *pattern(size_t n, unsigned int seed);
char *slurp(const char *rel, size_t *len, int *err);
void content(const char *name, const char *rel);
void content_is(const char *name, const char *rel, const char *exp, size_t explen);
void rd(const char *name, int fd, size_t n);
void prd(const char *name, int fd, size_t n, off_t off);
void offset(const char *name, int fd);
void cloexec(const char *name, int fd);
const char *dtype(unsigned char t);
int cmpstr(const void *a, const void *b);
void strs_add(struct strs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strs_sort(struct strs *s);
const char *strs_join(struct strs *s, int sort);
void strs_free(struct strs *s);
void list(const char *name, const char *rel);
void same_ino(const char *name, const char *a, const char *b);
void cwd_is(const char *name);
void as_user(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, void (*fn)(void));
void without_cap(int cap, void (*fn)(void));
const char *how_ended(int st);
void in_child(const char *name, const char *what, void (*fn)(void));

/* families in files of their own */
void t_locks2(void);
void t_locks3(void);
int locks3_exec_child(int w, int r);
void t_nofile(void);
void t_fdsem(void);
int nofile_exec_child(const char *dir, int fd);
void t_txtbsy(void);
void t_fsize(void);
void t_args(void);
void t_openat2(void);
void t_modes(void);
void t_longpath(void);
void t_signal(void);
void t_efault(void);
void t_socket(void);
void t_ident(void);
int ident_exec(const char *dir, const char *tag); /* posix_test --ident-exec DIR TAG */
void t_nodes(void);
int nodes_exec(const char *dir, const char *tag); /* posix_test --nodes-exec DIR TAG */
void t_fdcalls(void);
void t_fortify(void);

#endif
